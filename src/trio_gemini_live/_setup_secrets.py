"""Credentials a setup may carry, kept out of its `repr` and of `SessionUpdated.setup`.

Some tool kinds take a credential in the setup itself (Vertex's `parallelAiSearch.apiKey`,
an MCP server's `headers`), and `Setup.extra` can hold anything. The setup frame must send
them; a `repr` (which ends up in logs and tracebacks) and the event that shows the setup
in force must not. Values under these key names, at any depth of a tool's or `extra`'s
JSON, are shown as `REDACTED`.
"""

from __future__ import annotations

import re
from typing import Any, cast

import msgspec

__all__ = ["REDACTED", "redact_json", "redacted_repr"]

REDACTED = "REDACTED"

# Compared without case, `_` or `-`: `apiKey`, `api_key`, `Authorization`, `x-goog-api-key`,
# and a service's own name for one (`exaApiKey`, `githubToken`, `private_key`): any name
# that ends like a credential's. `key` alone only as a whole name (`sortKey` is no secret),
# and `token` only in the singular (`maxOutputTokens` is a count).
_SECRET_KEYS = re.compile(
    r"(?:x?goog)?key|.*(?:apikeys?|privatekey|accesskey|secretkey|authorization|headers|token"
    r"|password|passwd|secret|credentials?|cookies?)"
)


def _is_secret(key: object) -> bool:
    return isinstance(key, str) and bool(
        _SECRET_KEYS.fullmatch(key.replace("_", "").replace("-", "").lower())
    )


def redact_json(value: object) -> Any:
    """`value` (JSON-like: dicts, lists, scalars) with every secret key's value redacted."""
    if isinstance(value, dict):
        mapping = cast("dict[object, object]", value)
        return {k: REDACTED if _is_secret(k) else redact_json(v) for k, v in mapping.items()}
    if isinstance(value, list | tuple):
        redacted = [redact_json(item) for item in cast("list[object]", value)]
        return redacted if isinstance(value, list) else tuple(redacted)
    return value


def redacted_repr(struct: msgspec.Struct) -> str:
    """Msgspec's `Name(field=value, ...)` repr, with secrets in dict fields redacted."""
    fields = ", ".join(
        f"{name}={redact_json(getattr(struct, name))!r}" for name in struct.__struct_fields__
    )
    return f"{type(struct).__name__}({fields})"
