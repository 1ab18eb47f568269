"""Credentials a setup may carry, kept out of its `repr` and of `SessionUpdated.setup`.

Some tool kinds take a credential in the setup itself (Vertex's `parallelAiSearch.apiKey`,
an MCP server's `headers`), and `Setup.extra` can hold anything. The setup frame must send
them; a `repr` (which ends up in logs and tracebacks) and the event that shows the setup
in force must not. Values under a credential's name (`is_secret_name`), at any depth of a
tool's or `extra`'s JSON, and secrets in URLs in strings are shown as `REDACTED`.
"""

from __future__ import annotations

import re
from typing import Any, cast

import msgspec

from ._endpoints import redact_url
from ._secret_names import is_secret_name

__all__ = ["REDACTED", "redact_json", "redacted_repr"]

REDACTED = "REDACTED"

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")
# A function declaration's JSON Schemas: the names in their `properties` are the model's
# arguments, not credentials (a `key` argument for a musical key).
_SCHEMA_FIELDS = frozenset({"parameters", "response", "parametersjsonschema", "responsejsonschema"})
_SCHEMA_NAME_MAPS = frozenset(
    {"properties", "patternproperties", "defs", "definitions", "dependentschemas"}
)
_DECLARATIONS = "functiondeclarations"
_PLAIN, _DECLARATION_LIST, _DECLARATION, _SCHEMA, _SCHEMA_NAMES = range(5)


def _folded(key: object) -> str:
    return key.replace("_", "").replace("$", "").lower() if isinstance(key, str) else ""


def _is_secret(key: object) -> bool:
    return isinstance(key, str) and is_secret_name(key)


def _redact_text(text: str) -> str:
    """`text` with every URL in it redacted as an endpoint's is (`redact_url`)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda match: redact_url(match.group()), text)


def _child_context(context: int, key: object) -> int:
    """Where the value under `key` stands, in a dict standing in `context`."""
    folded = _folded(key)
    if context == _SCHEMA_NAMES:
        return _SCHEMA
    if context == _SCHEMA:
        return _SCHEMA_NAMES if folded in _SCHEMA_NAME_MAPS else _SCHEMA
    if context == _DECLARATION and folded in _SCHEMA_FIELDS:
        return _SCHEMA
    if folded == _DECLARATIONS:
        return _DECLARATION_LIST
    return _PLAIN


def redact_json(value: object) -> Any:
    """`value` (JSON-like: dicts, lists, scalars) with every credential in it redacted.

    A value under a secret name (`is_secret_name`: `apiKey`, `Authorization`,
    `apiKeyString`, `secrets`, ...) at any depth is `REDACTED`, and so is a secret in a
    URL in a string (`https://mcp.example/?key=...`, a `user:password@`; see
    `redact_url`). The names of a function declaration's schema properties (in its
    `parameters`, `response`, `parametersJsonSchema`, `responseJsonSchema`, at any depth)
    are argument names, not credentials: a `key` or `password` argument's schema is
    shown.
    """
    return _redact(value, _PLAIN)


def _redact(value: object, context: int) -> Any:
    if isinstance(value, dict):
        mapping = cast("dict[object, object]", value)
        names_only = context == _SCHEMA_NAMES
        return {
            key: REDACTED
            if not names_only and _is_secret(key)
            else _redact(item, _child_context(context, key))
            for key, item in mapping.items()
        }
    if isinstance(value, list | tuple):
        inner = _DECLARATION if context == _DECLARATION_LIST else context
        redacted = [_redact(item, inner) for item in cast("list[object]", value)]
        return redacted if isinstance(value, list) else tuple(redacted)
    if isinstance(value, str):
        return _redact_text(value)
    return value


def redacted_repr(struct: msgspec.Struct) -> str:
    """Msgspec's `Name(field=value, ...)` repr, with secrets in dict fields redacted."""
    fields = ", ".join(
        f"{name}={redact_json(getattr(struct, name))!r}" for name in struct.__struct_fields__
    )
    return f"{type(struct).__name__}({fields})"
