"""Proto3 JSON's `null` for a singular field: the field's default, as if the key were absent.

The proto3 JSON mapping reads `null` as a field's default value (protocol.md section 1.6),
and google-genai accepts it anywhere. The server Structs give most fields a plain default
(`Transcription.finished = False`, `Content.parts = []`), which msgspec does not fill from
`null`: it refuses the frame. So the codec's slow path, which such a frame takes (msgspec's
refusal sends it there), drops those keys from the parsed JSON when its conversion is
refused too, and converts what is left.

Only at modelled positions, the fields of a Struct reached through Structs and lists of
Structs from `ServerMessage`: free-form JSON (`args`, `response`, `groundingMetadata`, a
field typed `Any`) is the server's data, whose nulls are kept as sent. And only keys whose
field refuses `null`: one typed `X | None` reads it already, as its default or, for
`PartialArg.null_value`, as the value it means. A `null` item of a list is no field's
default: it is left for msgspec to refuse with its JSON path, as google-genai refuses it.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import msgspec
from msgspec import inspect as mi

__all__ = ["drop_null_fields"]


class _Field(msgspec.Struct, frozen=True):
    """What the walk needs of one field: may its `null` go, and the Struct class inside."""

    drop_null: bool
    inner: type[msgspec.Struct] | None  # a Struct's, or each item's of a list of Structs
    repeated: bool


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> dict[str, _Field]:
    """The fields of `cls` by wire name."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    table: dict[str, _Field] = {}
    for field in info.fields:
        types = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
        # `Any` and `msgspec.Raw` take `null` as a value; so does `X | None`.
        nullable = any(isinstance(t, mi.NoneType | mi.AnyType | mi.RawType) for t in types)
        inner: type[msgspec.Struct] | None = None
        repeated = False
        for member in types:
            if isinstance(member, mi.StructType):
                inner = member.cls
            elif isinstance(member, mi.ListType) and isinstance(member.item_type, mi.StructType):
                inner, repeated = member.item_type.cls, True
        if not nullable or inner is not None:
            table[field.encode_name] = _Field(not nullable, inner, repeated)
    return table


def drop_null_fields(node: Any, cls: type[msgspec.Struct]) -> bool:
    """Remove, in place, the `null`-valued keys of the fields of `cls` that refuse `null`.

    `node` is the parsed JSON of a `cls` value, at any depth: the walk follows the fields
    typed as Structs or lists of Structs. What is not of the expected JSON type is left as
    it is, for msgspec's conversion to refuse with its path. Returns whether it removed any.
    """
    if not isinstance(node, dict):
        return False
    entries = cast("dict[str, Any]", node)
    table = _fields(cls)
    nulls: list[str] = []
    dropped = False
    for key, value in entries.items():
        field = table.get(key)
        if field is None:
            continue
        if value is None:
            if field.drop_null:
                nulls.append(key)
        elif field.inner is not None:
            if not field.repeated:
                dropped = drop_null_fields(value, field.inner) or dropped
            elif isinstance(value, list):
                items: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
                for item in items:
                    dropped = drop_null_fields(item, field.inner) or dropped
    for key in nulls:
        del entries[key]
    return dropped or bool(nulls)
