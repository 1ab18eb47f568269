"""What an outgoing message holds that reading its frame back cannot see.

`frame_for` and `check_setup` read the encoded message back as the server would; two
mistakes pass that reading and still go wrong:

- a `str` in a bytes field (`Blob.data`, `Part.thoughtSignature`, ...): msgspec writes it
  as it is, and the server reads it as base64, so `Blob(data="abcd")` is sent as the three
  bytes that text decodes to (and a text that is no base64 is refused with 1007);
- two members of a part's proto `data` oneof (`DATA_ONEOF`: `text` and `inlineData` in one
  `Part`, say), which the Structs have a field each for: the server refuses the second
  with 1007 "oneof field 'data' is already set";
- a `Part` with no member of that oneof set (`Part()`, sent as `{}`) or only an empty
  `text` (the proto3 default, read as unset), and no `thoughtSignature` either, or a
  function response's `FunctionResponsePart()`: the part carries nothing, and the server
  refuses it with 1007.

Only the wire Structs are walked (a field typed as one, or as a list of them); JSON the
caller gives as dicts (a `response`, `args`, `Setup.extra`) is sent as given.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Literal, cast

import msgspec
from msgspec import inspect as mi

from ._proto_fields import DATA_ONEOF
from ._wire import Part

__all__ = ["BUFFER_TYPES", "buffer_problem", "empty_part", "empty_part_problem", "oneof_problem"]

BUFFER_TYPES = "bytes, bytearray or memoryview"
"""What a bytes field takes, as the errors say it."""
_BUFFERS = (bytes, bytearray, memoryview)

_Kind = Literal["bytes", "struct", "list"]


@functools.cache
def _layout(cls: type[msgspec.Struct]) -> tuple[tuple[str, str, _Kind], ...]:
    """The fields of `cls` the walk reads: (field name, wire name, what it is typed as)."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    found: list[tuple[str, str, _Kind]] = []
    for field in info.fields:
        types = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
        for member in types:
            kind: _Kind | None = None
            if isinstance(member, mi.BytesType):
                kind = "bytes"
            elif isinstance(member, mi.StructType):
                kind = "struct"
            elif isinstance(member, mi.ListType) and isinstance(member.item_type, mi.StructType):
                kind = "list"
            if kind is not None:
                found.append((field.name, field.encode_name, kind))
                break
    return tuple(found)


def _structs(value: msgspec.Struct, path: str) -> Iterator[tuple[msgspec.Struct, str]]:
    """`value` and each Struct in it (at any depth), with its JSON path, in message order.

    A list may be given as any sequence (a tuple); what is not a Struct where one belongs
    is left to the type check, which names it.
    """
    yield value, path
    for name, wire, kind in _layout(type(value)):
        item = cast(object, getattr(value, name))
        where = f"{path}.{wire}"
        if kind == "struct" and isinstance(item, msgspec.Struct):
            yield from _structs(item, where)
        elif kind == "list" and isinstance(item, list | tuple):
            for index, element in enumerate(cast("list[object]", item)):
                if isinstance(element, msgspec.Struct):
                    yield from _structs(element, f"{where}[{index}]")


def buffer_problem(value: msgspec.Struct, path: str) -> str | None:
    """Where a bytes field in `value` (at any depth) holds something other than a buffer.

    The words name the field by its JSON path (`path` is `value`'s) and the type found, as
    the check of a `realtimeInput`'s media does; None when every bytes field holds bytes,
    a bytearray, a memoryview or None.
    """
    for struct, where in _structs(value, path):
        for name, wire, kind in _layout(type(struct)):
            if kind != "bytes":
                continue
            item = cast(object, getattr(struct, name))
            if item is not None and not isinstance(item, _BUFFERS):
                return f"{where}.{wire} must be {BUFFER_TYPES}, not {type(item).__name__}"
    return None


def oneof_problem(value: msgspec.Struct, path: str) -> str | None:
    """Where a part in `value` (at any depth) sets two members of its `data` oneof.

    `value` is a message as read back from its frame (`decode_client`), whose parts are the
    wire Structs whatever the caller gave (a `clientContent` as its JSON object, say). The
    words name the part by its JSON path and the two fields; None when no part has two.
    """
    for struct, where in _structs(value, path):
        members = DATA_ONEOF.get(type(struct))
        if members is None:
            continue
        wire = dict(zip(struct.__struct_fields__, struct.__struct_encode_fields__, strict=True))
        found = [wire[name] for name in members if getattr(struct, name) is not None]
        if len(found) > 1:
            kind = type(struct).__name__
            choices = ", ".join(wire[name] for name in members)
            return (
                f"{where} sets both {found[0]} and {found[1]}: a {kind} holds one of {choices} "
                "(the proto's `data` oneof; the server refuses a second with 1007), so put "
                "each in a part of its own"
            )
    return None


def empty_part(value: msgspec.Struct, path: str) -> str | None:
    """The JSON path of the first part in `value` (at any depth) that carries no data.

    A `Part` or a function response's `FunctionResponsePart`: no member of its `data`
    oneof is set, or only `text` and that is empty (the proto3 default, which the server
    reads as unset), and a `Part` has no `thoughtSignature` (a bare signature is a part of
    its own, as the server sends them). `value` is a message as read back from its frame
    (see `oneof_problem`). None when every part carries something.
    """
    for struct, where in _structs(value, path):
        members = DATA_ONEOF.get(type(struct))
        if members is None or (type(struct) is Part and struct.thought_signature):
            continue  # (an empty signature is the proto3 default: unset, as an empty text)
        if all(getattr(struct, name) in (None, "") for name in members):
            return where
    return None


def empty_part_problem(value: msgspec.Struct, path: str) -> str | None:
    """What `empty_part` finds, in words for the sender; None when every part has data."""
    where = empty_part(value, path)
    if where is None:
        return None
    return (
        f"{where} carries no data (no text, inlineData, fileData, ..., or only an empty "
        "text): the server refuses such a part with 1007, so leave it out"
    )
