"""Function schemas: what the Live API's `Schema` accepts, and JSON Schema turned into it.

`FunctionDeclaration.parameters` (and `.response`) is Google's OpenAPI-subset `Schema`
message, parsed as proto3 JSON: a key it does not know (`$schema`, `readOnly`,
`x-google-enum-descriptions`, `examples`, ...) makes the server close the session with 1007
and no useful reason (protocol.md section 2.1.4). Tool schemas often come from elsewhere
(OpenAI-style tools, pydantic models, MCP servers) and carry such keys, so the client checks
them before sending and the seed facade converts them. A value of the wrong kind (`"type":
"STRIN"`, an `enum` of numbers, `"minLength": "x"`, a property that is not a schema) is
refused by the parser too, and checked here as well.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from ._arguments import describe
from ._errors import ConfigurationError
from ._proto_fields import INT64_RANGE

__all__ = [
    "SCHEMA_FIELDS",
    "SCHEMA_KEYS",
    "SCHEMA_TYPES",
    "SchemaValueProblem",
    "camel_schema",
    "from_json_schema",
    "schema_value_problems",
    "tool_schema_problems",
    "tool_schema_value_problems",
    "unsupported_schema_keys",
]

# The fields of the `Schema` message, by their JSON names (google-genai 3.6.1's
# `types.Schema` mirrors them; `$ref`/`$defs` are also accepted under their proto names).
SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "default",
        "example",
        "items",
        "minItems",
        "maxItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "propertyOrdering",
        "additionalProperties",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "anyOf",
        "$ref",
        "ref",
        "$defs",
        "defs",
    }
)
_SCHEMA_MAPS = ("properties", "$defs", "defs")  # name -> Schema


def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda upper: "_" + upper.group().lower(), name)


# Proto3 JSON also takes a field's proto name, and google-genai sends schemas by those
# (`types.Schema(...).model_dump()` has `max_items`, `any_of`, `property_ordering`):
# snake_case spelling -> the JSON name, for the keys that have two spellings.
_CAMEL_OF = {_snake(key): key for key in SCHEMA_KEYS if _snake(key) != key}

SCHEMA_TYPES = (
    "TYPE_UNSPECIFIED",
    "STRING",
    "NUMBER",
    "INTEGER",
    "BOOLEAN",
    "ARRAY",
    "OBJECT",
    "NULL",
)
"""The names of `Schema.type`'s enum (`Type`), numbered 0 to 7 as in Google's content.proto."""

# What each `Schema` field holds, by the proto type Google's parser checks it against
# (google-genai's `types.Schema` has the same types). `default` and `example` are
# `google.protobuf.Value`s: any JSON.
_SCALAR_FIELDS = {
    **dict.fromkeys(("format", "title", "description", "pattern", "$ref", "ref"), "TYPE_STRING"),
    "nullable": "TYPE_BOOL",
    **dict.fromkeys(
        ("minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength"),
        "TYPE_INT64",
    ),
    **dict.fromkeys(("minimum", "maximum"), "TYPE_DOUBLE"),
}
_STRING_LISTS = frozenset({"enum", "required", "propertyOrdering"})
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_NUMBER_TEXT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_FLOAT_WORDS = frozenset({"NaN", "Infinity", "-Infinity"})

_EXPECTED = {
    "TYPE_STRING": "a str",
    "TYPE_BOOL": "a bool",
    "TYPE_INT64": "an int64 (an int, or one as a decimal str)",
    "TYPE_DOUBLE": "a number",
    "Type": f"a Schema type, one of {', '.join(SCHEMA_TYPES)} (in any case)",
    "Schema": "a Schema (a dict)",
    "Schemas": "a dict of Schemas by name",
    "list": "a list",
    "bool or Schema": "a bool or a Schema (a dict)",
}


@dataclass(frozen=True)
class SchemaValueProblem:
    """A value a `Schema` field does not take: the server would close with 1007.

    `expected` says what the field takes: a proto scalar type (`TYPE_STRING`, `TYPE_BOOL`,
    `TYPE_INT64`, `TYPE_DOUBLE`), `Type` (the enum of `Schema.type`), `Schema` (an
    object), `Schemas` (an object of them by name), `list`, or `bool or Schema`.
    """

    path: str
    expected: str
    value: Any

    def __str__(self) -> str:
        return f"{self.path} must be {_EXPECTED[self.expected]}, not {describe(self.value)}"


def _scalar_fits(value: Any, proto_type: str) -> bool:
    """Whether proto3 JSON takes `value` for a scalar field of `proto_type`."""
    if proto_type == "TYPE_STRING":
        return isinstance(value, str)
    if proto_type == "TYPE_BOOL":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if proto_type == "TYPE_INT64":
        number: int | None = None
        if isinstance(value, int):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and _INTEGER_TEXT.fullmatch(value)
        ):
            number = int(value)
        return number is not None and INT64_RANGE[0] <= number <= INT64_RANGE[1]
    # TYPE_DOUBLE: a number, a numeric string, or one of proto3 JSON's words for the rest.
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and (value in _FLOAT_WORDS or bool(_NUMBER_TEXT.fullmatch(value)))


def _type_fits(value: Any) -> bool:
    """Whether `value` names a `Type`: by name in any case, or by number (proto3 JSON)."""
    if isinstance(value, str):
        return value.upper() in SCHEMA_TYPES
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(SCHEMA_TYPES)


def schema_value_problems(schema: Any, path: str = "parameters") -> list[SchemaValueProblem]:
    """The values in `schema` (at any depth) that its `Schema` fields do not take, by path.

    Keys `Schema` does not have are `unsupported_schema_keys`' to name, and skipped here; a
    `null` value leaves a field unset (proto3 JSON), and is taken.
    """
    found: list[SchemaValueProblem] = []
    stack: list[tuple[Any, str]] = [(schema, path)]
    while stack:
        node, where = stack.pop()
        if not isinstance(node, Mapping):
            found.append(SchemaValueProblem(where, "Schema", node))
            continue
        for key, value in cast(Mapping[str, Any], node).items():
            name = _CAMEL_OF.get(key, key)
            at = f"{where}.{key}"
            if value is None or name not in SCHEMA_KEYS or name in ("default", "example"):
                continue
            if name in _SCALAR_FIELDS:
                if not _scalar_fits(value, _SCALAR_FIELDS[name]):
                    found.append(SchemaValueProblem(at, _SCALAR_FIELDS[name], value))
            elif name == "type":
                if not _type_fits(value):
                    found.append(SchemaValueProblem(at, "Type", value))
            elif name in _STRING_LISTS or name == "anyOf":
                if not isinstance(value, list):
                    found.append(SchemaValueProblem(at, "list", value))
                    continue
                for index, item in enumerate(cast(Sequence[Any], value)):
                    if name == "anyOf":
                        stack.append((item, f"{at}[{index}]"))
                    elif not isinstance(item, str):
                        found.append(SchemaValueProblem(f"{at}[{index}]", "TYPE_STRING", item))
            elif name in _SCHEMA_MAPS:
                if not isinstance(value, Mapping):
                    found.append(SchemaValueProblem(at, "Schemas", value))
                    continue
                named = cast(Mapping[str, Any], value)
                stack.extend((child, f"{at}.{child_name}") for child_name, child in named.items())
            elif name == "additionalProperties" and isinstance(value, bool):
                continue
            elif not isinstance(value, Mapping):  # `items`, `additionalProperties`
                expected = "Schema" if name == "items" else "bool or Schema"
                found.append(SchemaValueProblem(at, expected, value))
            else:
                stack.append((cast(Mapping[str, Any], value), at))
    return sorted(found, key=lambda problem: problem.path)


def _children(schema: Mapping[str, Any], path: str) -> Iterator[tuple[Any, str]]:
    """The sub-schemas of a schema, with their JSON paths."""
    for key in _SCHEMA_MAPS:
        named = schema.get(key)
        if isinstance(named, Mapping):
            for name, child in cast(Mapping[str, Any], named).items():
                yield child, f"{path}.{key}.{name}"
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield items, f"{path}.items"
    for key in ("additionalProperties", "additional_properties"):
        additional = schema.get(key)
        if isinstance(additional, Mapping):  # (a bool allows or forbids, and holds no keys)
            yield additional, f"{path}.{key}"
    for key in ("anyOf", "any_of"):
        any_of = schema.get(key)
        if isinstance(any_of, list):
            for index, child in enumerate(cast(Sequence[Any], any_of)):
                yield child, f"{path}.{key}[{index}]"


def unsupported_schema_keys(schema: Any, path: str = "parameters") -> list[str]:
    """The JSON paths of the keys in `schema` (at any depth) that `Schema` does not have.

    Either spelling of a key is accepted, the JSON name (`maxItems`) or the proto name
    (`max_items`), as Google's parser accepts both.
    """
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(schema, path)]
    while stack:
        node, where = stack.pop()
        if not isinstance(node, Mapping):
            continue
        fields = cast(Mapping[str, Any], node)
        found.extend(
            f"{where}.{key}" for key in fields if key not in SCHEMA_KEYS and key not in _CAMEL_OF
        )
        stack.extend(_children(fields, where))
    return sorted(found)


def camel_schema(schema: Any, path: str = "parameters") -> Any:
    """`schema` with every `Schema` key spelled by its JSON name (`max_items` -> `maxItems`).

    And each `type` name by its declared (upper-case) name (`"object"` -> `"OBJECT"`).

    What is sent, so that one spelling reaches the server (and the code that reads schemas
    back) whichever one the application used. Property names and other values are left as
    they are; keys `Schema` does not have are kept, for `unsupported_schema_keys` to name.

    Raises:
        ConfigurationError: a schema holds one key under both spellings (`maxItems` and
            `max_items`): which one the server would take is not said; give one.
    """
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in cast(Mapping[str, Any], schema).items():
        name = _CAMEL_OF.get(key, key)
        if name in spelled:
            raise ConfigurationError(
                f"{path} has both {spelled[name]!r} and {key!r}, two spellings of one Schema "
                "key: keep one"
            )
        spelled[name] = key
        if name in _SCHEMA_MAPS and isinstance(value, Mapping):
            value = {
                child: camel_schema(item, f"{path}.{name}.{child}")
                for child, item in cast(Mapping[str, Any], value).items()
            }
        elif name in ("items", "additionalProperties"):
            value = camel_schema(value, f"{path}.{name}")
        elif name == "anyOf" and isinstance(value, list):
            value = [
                camel_schema(item, f"{path}.anyOf[{index}]")
                for index, item in enumerate(cast(Sequence[Any], value))
            ]
        elif name == "type" and isinstance(value, str) and value.upper() in SCHEMA_TYPES:
            # As an enum value goes out (`_enum_names`): the declared name, as
            # `from_json_schema` and google-genai write it; an unknown one as given.
            value = value.upper()
        out[name] = value
    return out


SCHEMA_FIELDS = ("parameters", "response")
"""The fields of `FunctionDeclaration` that hold a `Schema` (their JSON Schema twins,
`parametersJsonSchema` and `responseJsonSchema`, take any JSON Schema)."""


def _tool_schemas(tools: Sequence[Any] | None, path: str) -> Iterator[tuple[Any, str]]:
    """The `Schema`s of every function declaration in `tools`, with their JSON paths.

    `tools` holds `Tool` Structs; only their `function_declarations` carry schemas.
    """
    for index, tool in enumerate(tools or ()):
        for number, declaration in enumerate(getattr(tool, "function_declarations", None) or ()):
            for field in SCHEMA_FIELDS:
                schema = getattr(declaration, field)
                if schema is not None:
                    yield schema, f"{path}[{index}].functionDeclarations[{number}].{field}"


def tool_schema_problems(tools: Sequence[Any] | None, path: str) -> list[str]:
    """The unsupported keys in the `Schema`s (`SCHEMA_FIELDS`) of the functions in `tools`."""
    problems: list[str] = []
    for schema, where in _tool_schemas(tools, path):
        problems += unsupported_schema_keys(schema, where)
    return problems


def tool_schema_value_problems(tools: Sequence[Any] | None, path: str) -> list[str]:
    """The values a `Schema` field does not take, in the `Schema`s of the functions in `tools`."""
    problems: list[str] = []
    for schema, where in _tool_schemas(tools, path):
        problems += map(str, schema_value_problems(schema, where))
    return problems


def from_json_schema(
    schema: Mapping[str, Any], log: logging.Logger, name: str = "parameters"
) -> dict[str, Any]:
    """A JSON Schema (OpenAI tools, pydantic, MCP) as a Live API `Schema`.

    Keys `Schema` lacks are left out (and logged: the model no longer sees them), a JSON
    Schema `"type": [T, "null"]` becomes `"type": T, "nullable": true`, and a string
    `const` of a string schema a one-value `enum` (as google-genai converts them). A key spelled
    in snake_case (`max_items`, as google-genai writes them) comes out in camelCase, and a
    type name in upper case (`"object"` as `"OBJECT"`, the enum's name in the proto).
    Everything else is kept as it is.

    Raises:
        ConfigurationError: one key given under both spellings (`maxItems`, `max_items`), or
            a value the `Schema` field does not take (`"type": "strin"`, an `enum` of
            numbers, `"items"` as a list: `schema_value_problems`), which no conversion
            mends: the server would close the session with 1007. Or a `const` that is not a
            string of a string schema (google-genai refuses it too).
    """
    dropped: list[str] = []
    converted = _convert(schema, name, dropped)
    problems = schema_value_problems(converted, name)
    if problems:
        raise ConfigurationError(
            "the Live API's Schema does not take these values (the server would close the "
            f"session with 1007): {'; '.join(map(str, problems))}"
        )
    if dropped:
        log.warning(
            "tool schema keys the Live API does not accept were left out: %s", ", ".join(dropped)
        )
    return converted


def _convert(schema: Mapping[str, Any], path: str, dropped: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seen: set[str] = set()
    for given, value in schema.items():
        key = _CAMEL_OF.get(given, given)  # google-genai's snake_case spelling too
        if key in seen:
            raise ConfigurationError(
                f"{path} has {key!r} under two spellings (camelCase and snake_case): keep one"
            )
        seen.add(key)
        if key == "const" and value is not None:
            continue  # once the type is known, below
        if key not in SCHEMA_KEYS:
            dropped.append(f"{path}.{key}")
        elif key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {
                child: _schema_or_value(item, f"{path}.{key}.{child}", dropped)
                for child, item in cast(Mapping[str, Any], value).items()
            }
        elif key in ("items", "additionalProperties"):
            # (An `additionalProperties` bool is kept: `_schema_or_value` converts dicts.)
            out[key] = _schema_or_value(value, f"{path}.{key}", dropped)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [
                _schema_or_value(item, f"{path}.anyOf[{index}]", dropped)
                for index, item in enumerate(cast(Sequence[Any], value))
            ]
        elif key == "type" and isinstance(value, list):
            types = [item for item in cast(Sequence[Any], value) if item != "null"]
            if len(types) == 1:
                out["type"] = _type_name(types[0])
            elif types:
                # Several non-null types have no single-`type` form: spell them as anyOf.
                out["anyOf"] = [{"type": _type_name(item)} for item in types]
            if len(types) < len(cast(Sequence[Any], value)):
                out["nullable"] = True
        elif key == "type":
            out[key] = _type_name(value)
        else:
            out[key] = value
    if schema.get("const") is not None:
        out["enum"] = _const_enum(schema["const"], out.get("type"), path)
    return out


def _const_enum(const: Any, schema_type: Any, path: str) -> list[str]:
    """A JSON Schema `const` as `Schema`'s one-value `enum`, as google-genai converts it.

    pydantic writes a one-value `Literal` so. `Schema` has no `const`, and its `enum` holds
    strings of a STRING schema only: any other `const` has no form the server takes, and
    leaving it out would let the model send values the function does not take.
    """
    if schema_type == "STRING" and isinstance(const, str):
        return [const]
    kind = "with no type" if schema_type is None else f"of type {schema_type}"
    raise ConfigurationError(
        f"{path}.const is {describe(const)} in a schema {kind}: the "
        "Live API's Schema has no const, and only a string const of a string schema has "
        "a form it takes (a one-value enum); use an enum of strings"
    )


def _type_name(value: Any) -> Any:
    """A JSON Schema type (`"object"`) as the name of `Schema.type`'s enum (`"OBJECT"`).

    The names are upper-case in the proto; google-genai writes them so too.
    """
    return value.upper() if isinstance(value, str) else value


def _schema_or_value(value: Any, path: str, dropped: list[str]) -> Any:
    if isinstance(value, Mapping):
        return _convert(cast(Mapping[str, Any], value), path, dropped)
    return value
