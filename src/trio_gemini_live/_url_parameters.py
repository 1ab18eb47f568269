"""Which parameters of a URL's query or path hold a credential, and hiding their values.

One rule for the client's `redact_url` and `url_endpoint` and the emulator's recorded paths:
two parsers, one splitting on `&` and `;` only, let a key after a second `?` show in one
and not the other.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from ._secret_names import is_secret_name

__all__ = ["misplaced_secret", "redact_path_parameters", "redact_query"]

# Besides `&`: some servers split a query on `;`, and `url + "?key=..."` on a URL that has
# a query already puts a second `?` in it.
_PIECE_SEPARATOR = re.compile(r"([;?])")
_ANY_SEPARATOR = re.compile(r"[&;?]")


def redact_query(query: str) -> str:
    """`query` with the value of each secret parameter replaced by `REDACTED`.

    A parameter is secret when its name, percent-decoded (as a server reads it), is a
    credential's (`is_secret_name`) and it has a value (`key=`; a bare `key` is kept as
    sent). Parameters are split on `;` and on a second `?` as well as on `&`; from a secret
    parameter to the next `&` everything is hidden (a server that splits on `&` only reads
    `key=a;b` as the key `a;b`). A name or value that holds a secret parameter once
    percent-decoded (`key%3D...`, `alt=json%26key%3D...`) is hidden too. Everything else is
    kept as written.
    """
    return "&".join(_redact_item(item) for item in query.split("&"))


def redact_path_parameters(path: str) -> str:
    """`path` with the value of each secret `;name=value` parameter of its segments hidden.

    RFC 3986 path segments may carry `;` parameters, where a `?` mistyped as `;` puts a
    query (`/ws;key=...`). The same rule as `redact_query`, each parameter on its own.
    """
    return "/".join(_redact_segment(segment) for segment in path.split("/"))


def misplaced_secret(query: str) -> str | None:
    """How a secret parameter of `query` is hidden from a server splitting on `&` only.

    `";"` or `"?"` for one after that character (`alt=json;key=...`, `alt=json?key=...`),
    `"%"` for one percent-encoded in a name or value (`key%3D...`); None if there is none.
    """
    for item in query.split("&"):
        found = _find_secret(_PIECE_SEPARATOR.split(item))
        if found is not None and found[1]:
            return found[1]
    return None


def _redact_item(item: str) -> str:
    pieces = _PIECE_SEPARATOR.split(item)
    found = _find_secret(pieces)
    if found is None:
        return item
    at = found[0]
    return "".join(pieces[:at]) + _redact_piece(pieces[at])


def _redact_segment(segment: str) -> str:
    name, *parameters = segment.split(";")
    for index, parameter in enumerate(parameters):
        if _find_secret([parameter]) is not None:
            parameters[index] = _redact_piece(parameter)
    return ";".join([name, *parameters])


def _redact_piece(piece: str) -> str:
    name, sep, _ = piece.partition("=")
    return f"{name}=REDACTED" if sep and not _encodes_secret(name) else "REDACTED"


def _find_secret(pieces: list[str]) -> tuple[int, str] | None:
    """The index in `pieces` (split with their separators kept) of the first secret one.

    With how it is placed: `""` where a server splitting on `&` reads it as a parameter,
    else the separator before it, or `"%"` when percent-encoded.
    """
    for at in range(0, len(pieces), 2):
        name, sep, value = pieces[at].partition("=")
        if sep and is_secret_name(unquote_plus(name)):
            return at, pieces[at - 1] if at else ""
        if _encodes_secret(name) or _encodes_secret(value):
            return at, "%"
    return None


def _encodes_secret(text: str) -> bool:
    """Whether `text`, percent-decoded as often as that changes it, holds a secret parameter."""
    while (decoded := unquote_plus(text)) != text:
        text = decoded
        for piece in _ANY_SEPARATOR.split(text):
            name, sep, _ = piece.partition("=")
            if sep and is_secret_name(name):
                return True
    return False
