"""Client frame validation: what Google's proto3 JSON parser accepts, and its error text.

Accepts camelCase and snake_case at every depth, both base64 alphabets and enum values given
by number, and reads `null` as proto3 JSON does (the field's default, but for an item of a
list); rejects unknown fields (and Vertex-only ones on the Gemini API, Gemini API only ones
on Vertex), enum names the enum does not declare, values of the wrong JSON type and a
second member of a oneof (the envelope's, a part's `data`) with Google's exact message, then
converts to the `_wire` client Structs.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import msgspec
from msgspec import inspect as mi

from .._proto_fields import (
    DATA_ONEOF,
    GEMINI_ONLY_FIELDS,
    GEMINI_ONLY_KEYS,
    INT32_RANGE,
    INT64_FIELDS,
    INT64_RANGE,
    VERTEX_ONLY_FIELDS,
    keys_found,
)
from .._schema import SCHEMA_FIELDS, schema_value_problems, unsupported_schema_keys
from .._wire import (
    ClientMessage,
    FunctionDeclaration,
    GenerationConfig,
    PartialArg,
    Setup,
)
from .._wire_checks import empty_part
from ._enums import ProtoEnum, enum_fields
from ._json_errors import LONE_SURROGATE, google_wording, lone_surrogate

__all__ = [
    "LONE_SURROGATE",
    "NOT_UTF8",
    "ClientFrameError",
    "b64decode_any",
    "parse_client_frame",
    "read_struct_strictly",
]

INVALID_ARGUMENT = "Request contains an invalid argument."
TOO_DEEP = "Invalid JSON payload received. Too many levels of nesting."
"""Google's wording for a frame nested past its parser's depth limit is not documented."""
NOT_UTF8 = "Invalid JSON payload received. Encountered non UTF-8 code points."
"""A frame that is not UTF-8, binary or text: protobuf's JSON parser's own error, after the
prefix Google puts before its parser's errors (its close for one is not documented)."""


# Fields of the proto's `GenerationConfig` that `_wire.GenerationConfig` does not model:
# Google's parser knows them, so none is an "Unknown name". Those the Live API does not
# support (protocol.md section 2.1's proto note) are refused, with the generic 1007 (its
# exact wording is undocumented); the others are taken and ignored. Both JSON spellings.
_NOT_LIVE_GENERATION_FIELDS = frozenset(
    {
        "responseLogprobs",
        "responseMimeType",
        "logprobs",
        "responseSchema",
        "responseJsonSchema",
        "stopSequences",
        "routingConfig",
        "audioTimestamp",
    }
)
# Taken, but their JSON type is checked as any field's: a bool and an object.
_UNMODELLED_GENERATION_FIELDS: Mapping[str, Any] = {
    "enableEnhancedCivicAnswers": mi.type_info(bool),
    "imageConfig": mi.type_info(dict[str, Any]),
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


class ClientFrameError(Exception):
    """A client frame Google would reject; carries the close code and reason to send.

    `data` is the frame's decoded JSON object when it was one (only its validation
    failed), for the record of the frame; None when the payload was not a JSON object.
    """

    def __init__(self, code: int, reason: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.data = data


@dataclass(frozen=True)
class _FieldInfo:
    camel: str
    snake: str
    type: mi.Type


def b64decode_any(text: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    return base64.b64decode(cleaned, validate=True)


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> dict[str, _FieldInfo]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    table: dict[str, _FieldInfo] = {}
    for f in info.fields:
        entry = _FieldInfo(f.encode_name, f.name, f.type)
        table[f.encode_name] = entry
        table[f.name] = entry
    return table


def _unwrap(t: mi.Type) -> mi.Type:
    if isinstance(t, mi.UnionType):
        rest = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(rest) == 1:
            return rest[0]
    return t


def _invalid(path: str, detail: str) -> ClientFrameError:
    where = f" at '{path}'" if path else ""
    return ClientFrameError(1007, f"Invalid JSON payload received. Invalid value{where}: {detail}")


_Enums = Mapping[tuple[type[msgspec.Struct], str], ProtoEnum]

_NOT_ON_THE_WIRE = frozenset({(Setup, "extra")})
"""Fields of the `_wire` Structs no frame has (`Setup.extra` is merged into the setup frame
by the client): Google's parser refuses them as unknown names, and so does this one."""
_NULL_VALUES = frozenset({(PartialArg, "null_value")})
"""Fields of type `google.protobuf.NullValue`, where JSON `null` is the value, not unset."""

_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _wrong_type(path: str, proto_type: str, value: Any) -> ClientFrameError:
    """Google's refusal of a JSON value of the wrong type for a scalar field.

    E.g. "Invalid value at 'client_content.turn_complete' (TYPE_BOOL), 1", the shape of its
    enum errors; a string is shown quoted, as JSON.
    """
    shown = msgspec.json.encode(value).decode()
    return ClientFrameError(
        1007, f"Invalid JSON payload received. Invalid value at '{path}' ({proto_type}), {shown}"
    )


def _scalar(value: Any, t: mi.Type, path: str, int64: bool) -> Any:
    """`value` checked against a scalar field's type as Google's proto3 JSON parser does.

    Why not msgspec's lax mode: it took `1` and `"true"` for a bool. Proto3 JSON takes only
    `true`/`false` for a bool and only a string for a string; an integer as a number or a
    decimal string (int64 is written as one), within its type's range (int32 or int64); a
    float as a number, a numeric string, or `"NaN"`, `"Infinity"`, `"-Infinity"`. Integers
    and floats come back as numbers.
    """
    if isinstance(t, mi.BoolType):
        if not isinstance(value, bool):
            raise _wrong_type(path, "TYPE_BOOL", value)
    elif isinstance(t, mi.StrType):
        if not isinstance(value, str):
            raise _wrong_type(path, "TYPE_STRING", value)
    elif isinstance(t, mi.IntType):
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and _INTEGER.fullmatch(value)
        ):
            number = int(value)
        low, high = INT64_RANGE if int64 else INT32_RANGE
        # A number the field's type cannot hold is refused as one of the wrong type is.
        if number is None or not low <= number <= high:
            raise _wrong_type(path, "TYPE_INT64" if int64 else "TYPE_INT32", value)
        return number
    elif isinstance(t, mi.FloatType):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            if value in _FLOAT_WORDS:
                return _FLOAT_WORDS[value]
            if _NUMBER.fullmatch(value):
                return float(value)
        raise _wrong_type(path, "TYPE_FLOAT", value)
    return value


def _enum_name(value: Any, enum: ProtoEnum, path: str) -> str:
    """The name an enum field's value stands for: a name as sent, a number as its name.

    Anything else is refused as Google's parser refuses it: a name the enum does not declare
    (proto3 JSON matches names exactly, so `"audio"` is not `AUDIO`), a number it does not
    number, a value of another JSON type. In Google's wording, e.g. "Invalid value at
    'setup.generation_config.response_modalities[0]'
    (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig.Modality), 7";
    a name is shown quoted, as JSON.
    """
    if isinstance(value, str):
        if value in enum.declared:
            return value
    elif isinstance(value, int) and not isinstance(value, bool):
        name = enum.names.get(value)
        if name is not None:
            return name
    raise _wrong_type(path, enum.type_url(), value)


@dataclass(frozen=True)
class _Dialect:
    """How a frame is read: unknown fields refused (`strict`), Vertex's or the Gemini API's."""

    strict: bool
    vertex: bool
    enums: _Enums


def _normalize(
    value: Any,
    t: mi.Type,
    path: str,
    dialect: _Dialect,
    enum: ProtoEnum | None = None,
    int64: bool = False,
) -> Any:
    t = _unwrap(t)
    if isinstance(t, mi.StructType):
        if not isinstance(value, dict):
            raise _invalid(path, "expected an object.")
        return _normalize_struct(cast("dict[str, Any]", value), t.cls, path, dialect)
    if isinstance(t, mi.ListType):
        if not isinstance(value, list):
            raise _invalid(path, "expected a list.")
        items = [*cast("Iterable[Any]", value)]
        if None in items:
            # Proto3 JSON reads a null field as its default, but a list has no default item.
            where = f"{path}[{items.index(None)}]"
            raise _invalid(where, "null is not allowed as an element of a repeated field.")
        return [
            _normalize(v, t.item_type, f"{path}[{i}]", dialect, enum, int64)
            for i, v in enumerate(items)
        ]
    if enum is not None:
        return _enum_name(value, enum, path)
    if isinstance(t, mi.DictType):
        return _normalize_dict(value, t, path, int64)
    if isinstance(t, mi.BytesType):
        if isinstance(value, str):
            try:
                return b64decode_any(value)
            except (binascii.Error, ValueError):
                raise _invalid(path, "invalid base64 data.") from None
        raise _invalid(path, "expected base64 data.")
    return _scalar(value, t, path, int64)


def _normalize_dict(value: Any, t: mi.DictType, path: str, int64: bool) -> dict[str, Any]:
    """A `google.protobuf.Struct` field (any JSON object) or a proto map (`labels`).

    A map is checked as any message field is: a non-object is "expected an object", and
    each value against the map's value type. Its entries are named as protobuf's repeated
    map entries (`setup.labels[0].value`); Google's exact path for one is not documented.
    """
    if isinstance(t.value_type, mi.AnyType):
        if not isinstance(value, dict):
            # google.protobuf.Struct fields (args, response, schemas) must be JSON objects.
            raise ClientFrameError(1007, INVALID_ARGUMENT)
        return cast("dict[str, Any]", value)
    if not isinstance(value, dict):
        raise _invalid(path, "expected an object.")
    entries = cast("dict[str, Any]", value).items()
    return {
        key: _scalar(item, t.value_type, f"{path}[{i}].value", int64)
        for i, (key, item) in enumerate(entries)
    }


def _normalize_struct(
    obj: dict[str, Any], cls: type[msgspec.Struct], path: str, dialect: _Dialect
) -> dict[str, Any]:
    table = _fields(cls)
    oneof = DATA_ONEOF.get(cls, ())
    oneof_set = False
    out: dict[str, Any] = {}
    for key, value in obj.items():
        entry = table.get(key)
        if entry is not None and (cls, entry.snake) in (
            GEMINI_ONLY_FIELDS if dialect.vertex else VERTEX_ONLY_FIELDS
        ):
            entry = None  # unknown to the other backend's parser
        if entry is not None and (cls, entry.snake) in _NOT_ON_THE_WIRE:
            entry = None
        if entry is None:
            if cls is GenerationConfig:
                name = _camel(key)
                if name in _NOT_LIVE_GENERATION_FIELDS:
                    if value is None:
                        continue  # unset: nothing the Live API lacks is asked for
                    raise ClientFrameError(1007, INVALID_ARGUMENT)
                kind = _UNMODELLED_GENERATION_FIELDS.get(name)
                if kind is not None:
                    if value is not None:
                        sub = f"{path}.{key}" if path else key
                        _normalize(value, kind, sub, dialect, None, False)
                    continue
            if dialect.strict:
                where = f" at '{path}'" if path else ""
                raise ClientFrameError(
                    1007,
                    f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                    "Cannot find field.",
                )
            continue
        if value is None and (cls, entry.snake) not in _NULL_VALUES:
            # Proto3 JSON: null is the field's default, as if it were not sent (so
            # `"model": null` is `""`, never a value of the wrong type).
            continue
        if entry.snake in oneof:
            # A part holds one of text, inlineData, ... (`DATA_ONEOF`); `null` sets none.
            if oneof_set:
                raise _oneof_already_set(path, "data", key)
            oneof_set = True
        if value is None:
            out[entry.camel] = None  # a `NullValue`'s only value
            continue
        sub = f"{path}.{entry.snake}" if path else entry.snake
        if dialect.vertex and (cls, entry.snake) in GEMINI_ONLY_KEYS:
            value = _without_keys(value, GEMINI_ONLY_KEYS[cls, entry.snake], sub, dialect)
        enum = dialect.enums.get((cls, entry.snake))
        int64 = (cls, entry.snake) in INT64_FIELDS
        out[entry.camel] = _normalize(value, entry.type, sub, dialect, enum, int64)
        if cls is FunctionDeclaration and entry.snake in SCHEMA_FIELDS:
            _check_schema(value, sub, dialect)
    return out


def _without_keys(value: Any, keys: frozenset[str], path: str, dialect: _Dialect) -> Any:
    """`value` (an object or a list of them) without `keys`, which the backend lacks.

    Strict, the first one is refused as Google's parser refuses an unknown name, at its
    object (`setup.tools[0].mcp_servers[0]`); lax, they are dropped.
    """
    found = keys_found(value, keys)
    if not found:
        return value
    if dialect.strict:
        index, key = found[0]
        where = path if index is None else f"{path}[{index}]"
        raise ClientFrameError(
            1007,
            f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
            "Cannot find field.",
        )
    dropped = {key for _, key in found}

    def kept(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        return {k: v for k, v in cast("dict[str, Any]", item).items() if k not in dropped}

    if isinstance(value, list):
        return [kept(item) for item in cast("Iterable[Any]", value)]
    return kept(value)


# `Schema.type`'s enum, by its full name in each backend's protos (Google's errors name it).
_SCHEMA_TYPE_ENUM = {
    False: "google.ai.generativelanguage.v1beta.Type",
    True: "google.cloud.aiplatform.v1beta1.Type",
}


def _check_schema(schema: Any, path: str, dialect: _Dialect) -> None:
    """`parameters` (or `response`) is a proto `Schema` message: unknown keys fail as anywhere.

    (protocol.md section 2.1.4: `readOnly`, `x-google-enum-descriptions`, `$schema`, ... from
    MCP or pydantic schemas close the session with 1007; in strict mode.) So do values of
    the wrong type, as in any message, strict or not: `"type": "STRIN"` (no such `Type`;
    names in any case), an `enum` of numbers, `"minLength": "x"`, a property or `items`
    that is not an object.
    """
    problems = unsupported_schema_keys(schema, path) if dialect.strict else []
    if problems:
        where, _, key = problems[0].rpartition(".")
        unknown = f"Unknown name \"{key}\" at '{where}': Cannot find field."
        raise ClientFrameError(1007, f"Invalid JSON payload received. {unknown}")
    bad = schema_value_problems(schema, path)
    if not bad:
        return
    first = bad[0]
    if first.expected.startswith("TYPE_"):
        raise _wrong_type(first.path, first.expected, first.value)
    if first.expected == "Type":
        shown = msgspec.json.encode(first.value).decode()
        raise ClientFrameError(
            1007,
            f"Invalid JSON payload received. Invalid value at '{first.path}' "
            f"(type.googleapis.com/{_SCHEMA_TYPE_ENUM[dialect.vertex]}), {shown}",
        )
    expected = {"list": "a list", "bool or Schema": "a bool or an object"}
    raise _invalid(first.path, f"expected {expected.get(first.expected, 'an object')}.")


def _oneof_already_set(path: str, oneof: str, key: str) -> ClientFrameError:
    """Google's refusal of `key`, a second member of the `oneof` of the message at `path`.

    E.g. "Invalid value at 'client_content.turns[0].parts[0]' (oneof), oneof field 'data'
    is already set. Cannot set 'inlineData'" (the key as sent); without a location at the
    top level, as for unknown names there.
    """
    where = f" at '{path}'" if path else ""
    return ClientFrameError(
        1007,
        f"Invalid JSON payload received. Invalid value{where} (oneof), oneof field "
        f"'{oneof}' is already set. Cannot set '{key}'",
    )


def _check_one_message_kind(frame: dict[str, Any]) -> None:
    """The client envelope is a proto `oneof message_type` (protocol.md section 2.0).

    Google's JSON parser refuses a second member instead of reading the frame as two
    messages; a `null` member is not set.
    """
    members = _fields(ClientMessage)
    seen = False
    for key, value in frame.items():
        if key not in members or value is None:
            continue
        if seen:
            raise _oneof_already_set("", "message_type", key)
        seen = True


_json = msgspec.json.Decoder()


def parse_client_frame(
    raw: str | bytes, *, strict: bool, vertex: bool = False
) -> tuple[dict[str, Any], ClientMessage]:
    """Decode one client frame into (the JSON as sent, the validated `ClientMessage`).

    Enum values sent as numbers become their names, numbered as in the Gemini API's protos,
    or Vertex AI's with `vertex` (the two number some enums differently).

    Raises:
        ClientFrameError: with the 1007 code and the reason Google would give, and the
            decoded object if the payload was a JSON object.
    """
    try:
        data: Any = _json.decode(raw)
    except msgspec.DecodeError as exc:
        if lone_surrogate(raw):
            raise ClientFrameError(1007, LONE_SURROGATE) from None
        raise ClientFrameError(1007, f"Invalid JSON payload received. {exc}") from None
    except UnicodeDecodeError:
        # msgspec raises this, not DecodeError, for bytes that are not UTF-8 inside a
        # string: it crashed the handler, and the client saw 1006 with no close frame.
        raise ClientFrameError(1007, NOT_UTF8) from None
    except RecursionError:
        # msgspec decodes `[[[[...` up to Python's recursion limit, then raises this, not
        # DecodeError: the client gets the 1007 any invalid frame gets, not a handler
        # crash and 1006.
        raise ClientFrameError(1007, TOO_DEEP) from None
    if not isinstance(data, dict):
        raise ClientFrameError(
            1007, "Invalid JSON payload received. Expected an object at the top level."
        )
    as_sent = cast("dict[str, Any]", data)
    try:
        return as_sent, _check_and_convert(as_sent, strict=strict, vertex=vertex)
    except RecursionError:
        # The normalizer recurses too, for a frame nested nearly as deep as msgspec took.
        raise ClientFrameError(1007, TOO_DEEP, as_sent) from None
    except ClientFrameError as err:
        # Only its validation failed: the frame is still recorded as the object it was.
        err.data = as_sent
        raise


def _check_and_convert(as_sent: dict[str, Any], *, strict: bool, vertex: bool) -> ClientMessage:
    """The `ClientMessage` a decoded frame holds, checked as Google's parser checks it."""
    _check_one_message_kind(as_sent)
    dialect = _Dialect(strict, vertex, enum_fields(vertex=vertex))
    normalized = _normalize_struct(as_sent, ClientMessage, "", dialect)
    try:
        # Strict: the normalizer has checked every scalar's JSON type as Google does (and
        # turned int64 strings into numbers); lax mode took `1` or `"true"` for a bool.
        message = msgspec.convert(normalized, ClientMessage, strict=True)
    except msgspec.ValidationError as exc:
        raise ClientFrameError(1007, google_wording(exc)) from None
    _check_contents(message)
    return message


_S = TypeVar("_S", bound=msgspec.Struct)


def read_struct_strictly(data: dict[str, Any], cls: type[_S], path: str) -> _S:
    """`data` read as a `cls` the way a strict Vertex AI route reads a frame's field.

    For JSON given outside a frame (a scenario's parts): both spellings, base64 bytes and
    enum numbers are taken, and a field of any backend; an unknown field, a value of the
    wrong type or a second member of a oneof is refused, where msgspec alone dropped an
    unknown field silently.

    Raises:
        ValueError: what is wrong, naming where (`path` is `data`'s).
    """
    dialect = _Dialect(strict=True, vertex=True, enums=enum_fields(vertex=True))
    try:
        return msgspec.convert(_normalize_struct(data, cls, path, dialect), cls, strict=True)
    except ClientFrameError as err:
        raise ValueError(err.reason.removeprefix("Invalid JSON payload received. ")) from None
    except msgspec.ValidationError as exc:  # not a ValueError before msgspec 0.20
        reason = google_wording(exc).removeprefix("Invalid JSON payload received. ")
        raise ValueError(f"{reason} (in {path})") from None


_TURN_ROLES = (None, "user", "model")


def _check_contents(message: ClientMessage) -> None:
    """Refuse what parses but the server refuses in a `Content`: a part with no data, a role.

    A part that carries nothing (`{}`, or only an empty `text`; `empty_part`), anywhere,
    and a `clientContent` turn whose role is not `user` or `model` (an OpenAI-style
    `system` or `assistant`) close the session with 1007. Google's words for either are
    not documented: the reason is the generic one, followed by what is wrong.
    """
    where = empty_part(message, "")
    if where is not None:
        raise ClientFrameError(1007, f"{INVALID_ARGUMENT} The part at '{where[1:]}' has no data.")
    content = message.client_content
    for index, turn in enumerate((content.turns if content is not None else None) or ()):
        if turn.role not in _TURN_ROLES:
            raise ClientFrameError(
                1007,
                f"{INVALID_ARGUMENT} clientContent.turns[{index}].role must be 'user' or "
                f"'model', not {turn.role!r}.",
            )
