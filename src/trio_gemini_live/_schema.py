"""Function parameter schemas: what the Live API's `Schema` accepts, and JSON Schema turned into it.

`FunctionDeclaration.parameters` is Google's OpenAPI-subset `Schema` message, parsed as
proto3 JSON: a key it does not know (`$schema`, `readOnly`, `x-google-enum-descriptions`,
`examples`, ...) makes the server close the session with 1007 and no useful reason
(protocol.md section 2.1.4). Tool schemas often come from elsewhere (OpenAI-style tools,
pydantic models, MCP servers) and carry such keys, so the client checks them before sending
and the seed facade converts them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from ._errors import ConfigurationError

__all__ = [
    "SCHEMA_KEYS",
    "camel_schema",
    "from_json_schema",
    "tool_schema_problems",
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

    What is sent, so that one spelling reaches the server (and the code that reads schemas
    back) whichever one the application used. Property names and values are left as they
    are; keys `Schema` does not have are kept, for `unsupported_schema_keys` to name.

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
        elif name == "items":
            value = camel_schema(value, f"{path}.items")
        elif name == "anyOf" and isinstance(value, list):
            value = [
                camel_schema(item, f"{path}.anyOf[{index}]")
                for index, item in enumerate(cast(Sequence[Any], value))
            ]
        out[name] = value
    return out


def tool_schema_problems(tools: Sequence[Any] | None, path: str) -> list[str]:
    """The unsupported keys in the `parameters` of every function declaration in `tools`.

    `tools` holds `Tool` Structs; only their `function_declarations` carry schemas.
    """
    problems: list[str] = []
    for index, tool in enumerate(tools or ()):
        for number, declaration in enumerate(getattr(tool, "function_declarations", None) or ()):
            if declaration.parameters is not None:
                where = f"{path}[{index}].functionDeclarations[{number}].parameters"
                problems += unsupported_schema_keys(declaration.parameters, where)
    return problems


def from_json_schema(
    schema: Mapping[str, Any], log: logging.Logger, name: str = "parameters"
) -> dict[str, Any]:
    """A JSON Schema (OpenAI tools, pydantic, MCP) as a Live API `Schema`.

    Keys `Schema` lacks are left out (and logged: the model no longer sees them), and a
    JSON Schema `"type": [T, "null"]` becomes `"type": T, "nullable": true`. A key spelled
    in snake_case (`max_items`, as google-genai writes them) comes out in camelCase, and a
    type name in upper case (`"object"` as `"OBJECT"`, the enum's name in the proto).
    Everything else is kept as it is.

    Raises:
        ConfigurationError: one key given under both spellings (`maxItems`, `max_items`).
    """
    dropped: list[str] = []
    converted = _convert(schema, name, dropped)
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
        if key not in SCHEMA_KEYS:
            dropped.append(f"{path}.{key}")
        elif key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {
                child: _schema_or_value(item, f"{path}.{key}.{child}", dropped)
                for child, item in cast(Mapping[str, Any], value).items()
            }
        elif key == "items":
            out[key] = _schema_or_value(value, f"{path}.items", dropped)
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
    return out


def _type_name(value: Any) -> Any:
    """A JSON Schema type (`"object"`) as the name of `Schema.type`'s enum (`"OBJECT"`).

    The names are upper-case in the proto; google-genai writes them so too.
    """
    return value.upper() if isinstance(value, str) else value


def _schema_or_value(value: Any, path: str, dropped: list[str]) -> Any:
    if isinstance(value, Mapping):
        return _convert(cast(Mapping[str, Any], value), path, dropped)
    return value
