"""What the protos say of the client's fields beyond their JSON type: widths, backends, oneofs.

Google's proto3 JSON parser refuses an integer its field's type cannot hold, a field the
backend's proto lacks (a Vertex AI only one on the Gemini API), and a second member of a
part's `data` oneof, with 1007; the client checks them before sending, and the emulator
refuses them by the same tables.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import cast

import msgspec
from msgspec import inspect as mi

from ._errors import ConfigurationError
from ._wire import (
    ContextWindowCompression,
    FileData,
    FunctionCallPart,
    FunctionResponse,
    FunctionResponsePart,
    Part,
    ReplicatedVoiceConfig,
    SafetySetting,
    SessionResumptionConfig,
    Setup,
    SlidingWindow,
    Tool,
)

__all__ = [
    "DATA_ONEOF",
    "INT32_RANGE",
    "INT64_FIELDS",
    "INT64_RANGE",
    "GEMINI_ONLY_FIELDS",
    "GEMINI_ONLY_KEYS",
    "VERTEX_ONLY_FIELDS",
    "check_integer_ranges",
    "gemini_only_paths",
    "keys_found",
    "vertex_only_paths",
]


INT64_FIELDS = frozenset(
    {(ContextWindowCompression, "trigger_tokens"), (SlidingWindow, "target_tokens")}
)
"""The int64 fields of client messages, as (Struct, field name); every other integer field
is an int32 (the protos of both backends). The emulator reads them by the same table."""

INT32_RANGE = (-(2**31), 2**31 - 1)
"""The lowest and highest int32 (proto `int32`)."""
INT64_RANGE = (-(2**63), 2**63 - 1)
"""The lowest and highest int64 (proto `int64`)."""


def _range(cls: type[msgspec.Struct], name: str) -> tuple[int, int]:
    """The lowest and highest value of the integer field `name` of `cls` (int32 or int64)."""
    return INT64_RANGE if (cls, name) in INT64_FIELDS else INT32_RANGE


@functools.cache
def _integer_fields(cls: type[msgspec.Struct]) -> frozenset[str]:
    """The fields of `cls` typed as integers: `int` or `int | None`, nothing else.

    Not those typed `Any` (a schema's numbers), nor a union with another number type:
    `PartialArg.number_value` (`int | float`) is a proto double, which holds 1e10.
    """
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    found: set[str] = set()
    for field in info.fields:
        types = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
        rest = [member for member in types if not isinstance(member, mi.NoneType)]
        if len(rest) == 1 and isinstance(rest[0], mi.IntType):
            found.add(field.name)
    return frozenset(found)


def check_integer_ranges(struct: msgspec.Struct, path: str) -> None:
    """Refuse an integer field of `struct` (at any depth) outside its proto type's range.

    Python's integers have no bound and JSON carries any of them, but Google's proto3 JSON
    parser refuses a number its field's type cannot hold (`topK: 3000000000`, an int32)
    with 1007 'Invalid value at ... (TYPE_INT32)'. Only the fields typed as integers: a
    number in a JSON value (a schema, `extra`) is no proto integer. A value of another
    type is left to the type check.
    """
    fields = zip(struct.__struct_fields__, struct.__struct_encode_fields__, strict=True)
    for name, wire in fields:
        value = cast(object, getattr(struct, name))
        where = f"{path}.{wire}"
        if isinstance(value, msgspec.Struct):
            check_integer_ranges(value, where)
        elif isinstance(value, list):
            for index, item in enumerate(cast("list[object]", value)):
                if isinstance(item, msgspec.Struct):
                    check_integer_ranges(item, f"{where}[{index}]")
        elif name in _integer_fields(type(struct)) and isinstance(value, int):
            low, high = _range(type(struct), name)
            if not low <= value <= high:
                kind = "int64" if high == INT64_RANGE[1] else "int32"
                raise ConfigurationError(
                    f"{where} is {value}, outside the range of its proto type ({kind}: "
                    f"{low} to {high}); the server would refuse it (1007)"
                )


DATA_ONEOF: dict[type[msgspec.Struct], tuple[str, ...]] = {
    Part: (
        "text",
        "inline_data",
        "file_data",
        "function_call",
        "function_response",
        "executable_code",
        "code_execution_result",
        "tool_call",
        "tool_response",
    ),
    FunctionResponsePart: ("inline_data", "file_data"),
}
"""The members of the proto `oneof data` of each part Struct, by field name: one part holds
one of them (`thought`, `thoughtSignature` and `audioTranscription` lie outside it; a
server-side tool's `toolCall` or `toolResponse` is a part of its own, as google-genai
models it, so a part holding one alone is not empty). The Structs have a field for
each, but Google's parser refuses a second one set (`null` is not set) with 1007 "oneof
field 'data' is already set"."""


VERTEX_ONLY_FIELDS = frozenset(
    {
        (Setup, "explicit_vad_signal"),
        (SessionResumptionConfig, "transparent"),
        (Tool, "retrieval"),
        (Tool, "enterprise_web_search"),
        (Tool, "parallel_ai_search"),
        (Tool, "exa_ai_search"),
        (FileData, "display_name"),
        (FunctionCallPart, "partial_args"),
        (FunctionCallPart, "will_continue"),
        (SafetySetting, "method"),
    }
)
"""Fields only Vertex AI's proto has, as (Struct, field name) (protocol.md sections 2.1 and
3.6, the tool kinds google-genai's `_Tool_to_mldev` refuses, the part fields its
`_FileData_to_mldev` and `_FunctionCall_to_mldev` refuse, and the safety setting's
`method` its `_SafetySetting_to_mldev` refuses): the Gemini API's
parser refuses each by name, whatever its value (1007 'Unknown name'). The emulator reads
them by the same table."""

GEMINI_ONLY_FIELDS = frozenset(
    {
        (FunctionResponse, "will_continue"),
        (Tool, "file_search"),
        (ReplicatedVoiceConfig, "consent_audio"),
        (ReplicatedVoiceConfig, "voice_consent_signature"),
    }
)
"""Fields only the Gemini API's proto has, as (Struct, field name): google-genai's
`_FunctionResponse_to_vertex` refuses `will_continue`, its `_Tool_to_vertex` `file_search`
and its `_ReplicatedVoiceConfig_to_vertex` the consent fields ("only supported in Gemini
Developer API"; its `FunctionResponse` says of `will_continue` "This field is not supported
in Vertex AI", and its Live `send_tool_response` sends it unchecked). The emulator's Vertex
AI flavour reads them by the same table."""

GEMINI_ONLY_KEYS: Mapping[tuple[type[msgspec.Struct], str], frozenset[str]] = MappingProxyType(
    {(Tool, "mcp_servers"): frozenset({"name", "streamableHttpTransport"})}
)
"""Keys only the Gemini API's proto has in the JSON objects a field holds as given (each
object of its list), by (Struct, field name), in camelCase: `Tool.mcp_servers` holds
`McpServer`s, whose `name` and `streamableHttpTransport` google-genai's
`_McpServer_to_vertex` refuses. Either spelling is read (`streamable_http_transport`), as
the server reads keys. The emulator's Vertex AI flavour reads them by the same table."""


@functools.cache
def _struct_fields(
    cls: type[msgspec.Struct],
) -> dict[str, tuple[str, str, type[msgspec.Struct] | None]]:
    """Both spellings of each field of `cls` -> (field name, wire name, inner Struct class).

    The inner class is the Struct class of the field's value, or of each item of its list;
    None for any other type.
    """
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    table: dict[str, tuple[str, str, type[msgspec.Struct] | None]] = {}
    for field in info.fields:
        types = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
        inner: type[msgspec.Struct] | None = None
        for member in types:
            item = member.item_type if isinstance(member, mi.ListType) else member
            if isinstance(item, mi.StructType):
                inner = item.cls
        table[field.name] = table[field.encode_name] = (field.name, field.encode_name, inner)
    return table


def vertex_only_paths(
    value: object, path: str, cls: type[msgspec.Struct] | None = None
) -> list[str]:
    """The JSON paths of the fields in `value` (at any depth) that are set and Vertex only.

    Read by `VERTEX_ONLY_FIELDS`; see `_backend_only_paths`.
    """
    return _backend_only_paths(value, path, cls, VERTEX_ONLY_FIELDS)


def gemini_only_paths(
    value: object, path: str, cls: type[msgspec.Struct] | None = None
) -> list[str]:
    """The JSON paths of the fields in `value` (at any depth) that are set and Gemini API only.

    Read as `vertex_only_paths` reads them, by `GEMINI_ONLY_FIELDS`, and the keys of
    `GEMINI_ONLY_KEYS` in the objects of their fields.
    """
    return _backend_only_paths(value, path, cls, GEMINI_ONLY_FIELDS, GEMINI_ONLY_KEYS)


def keys_found(value: object, keys: frozenset[str]) -> list[tuple[int | None, str]]:
    """The `keys` (camelCase, read in either spelling) set in `value`'s objects, as given.

    `value` is an object or a list of them (`GEMINI_ONLY_KEYS`): each found key comes with
    the index of its object in the list (None for one object).
    """
    objects = cast("list[object]", value) if isinstance(value, list) else [value]
    found: list[tuple[int | None, str]] = []
    for index, item in enumerate(objects):
        if isinstance(item, dict):
            for key, field in cast("dict[object, object]", item).items():
                if isinstance(key, str) and field is not None and _camel(key) in keys:
                    found.append((index if isinstance(value, list) else None, key))
    return found


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _backend_only_paths(
    value: object,
    path: str,
    cls: type[msgspec.Struct] | None,
    only: frozenset[tuple[type, str]],
    only_keys: Mapping[tuple[type[msgspec.Struct], str], frozenset[str]] = MappingProxyType({}),
) -> list[str]:
    """The JSON paths of the fields in `value` (at any depth) that are set and in `only`.

    And of the keys `only_keys` names in the JSON objects of its fields.
    `value` is a Struct, or the JSON object of one (`cls`): a setup with its `extra`
    merged in (`merge_extra`), whose added tools and parts are dicts, is read as the
    server reads it, by either spelling of each field's name (`displayName`,
    `display_name`). Dicts inside Structs (what `extra` appends to a list of Structs)
    are read by the list's Struct class.
    """
    items: list[tuple[object, object]]
    if isinstance(value, msgspec.Struct):
        cls = type(value)
        items = [(name, cast(object, getattr(value, name))) for name in value.__struct_fields__]
    elif isinstance(value, dict) and cls is not None:
        items = list(cast("dict[object, object]", value).items())
    else:
        return []
    table = _struct_fields(cls)
    found: list[str] = []
    for key, item in items:
        entry = table.get(key) if isinstance(key, str) else None
        if entry is None or item is None:
            continue
        name, wire, inner = entry
        where = f"{path}.{wire}"
        if (cls, name) in only:
            found.append(where)
        elif (cls, name) in only_keys:
            for index, inner_key in keys_found(item, only_keys[cls, name]):
                found.append(f"{where}{'' if index is None else f'[{index}]'}.{inner_key}")
        elif inner is not None and isinstance(item, list):
            for index, element in enumerate(cast("list[object]", item)):
                found += _backend_only_paths(element, f"{where}[{index}]", inner, only, only_keys)
        elif inner is not None:
            found += _backend_only_paths(item, where, inner, only, only_keys)
    return found
