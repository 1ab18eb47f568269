"""Which parameters of a URL's query or path hold a credential, and hiding their values.

One rule for the client's `redact_url` and `url_endpoint` and the emulator's recorded paths:
two parsers, one splitting on `&` and `;` only, let a key after a second `?` show in one
and not the other.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from ._secret_names import is_secret_name

__all__ = ["misplaced_secret", "path_secret", "redact_path_parameters", "redact_query"]

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
    kept as written, but for a value that holds a secret parameter as written (`=key=...`:
    the server reads `key=...` as a value, and `url_endpoint` sends it `key%3D...`).
    """
    return "&".join(_redact_item(item) for item in query.split("&"))


def redact_path_parameters(path: str) -> str:
    """`path` with each secret parameter of its segments hidden.

    RFC 3986 path segments may carry `;` parameters, where a `?` mistyped as `;` puts a
    query (`/ws;key=...`); a `?` percent-encoded with the URL's path puts one in a
    segment's name (`/ws%3Fkey%3D...`). The same rule as `redact_query`, each parameter and
    each segment's name on its own.
    """
    return "/".join(_redact_segment(segment) for segment in path.split("/"))


def path_secret(path: str) -> str | None:
    """How a secret parameter is in `path`, if one is (`redact_path_parameters` hides it).

    `"%"` percent-encoded (`/ws%3Fkey%3D...`, `/ws;a=b%3Bkey%3D...`), `";"` as a `;`
    parameter (`/ws;key=...`); None if there is none.
    """
    hows = {
        found[1] for segment in path.split("/") if (found := _segment_secret(segment)) is not None
    }
    return "%" if "%" in hows else ";" if hows else None


def misplaced_secret(query: str) -> str | None:
    """How a secret parameter of `query` is hidden from a server splitting on `&` only.

    `";"` or `"?"` for one after that character (`alt=json;key=...`, `alt=json?key=...`),
    `"%"` for one percent-encoded in a name or value (`key%3D...`), `"="` for one in a value
    as written (`=key=...`, `alt=key=...`); None if there is none.
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
    if _segment_secret(segment) is None:
        return segment
    name, *parameters = segment.split(";")
    # A segment's name as written is a name (`/key=x/` is no parameter), but one that holds a
    # parameter percent-encoded (`/ws%3Fkey%3D...`, a caller's `url + quote("?key=...")`)
    # is a key in the URL all the same, whole.
    hidden = "REDACTED" if _encodes_secret(name) else name
    return ";".join([hidden, *(_redact_piece(p) if _find_secret([p]) else p for p in parameters)])


def _segment_secret(segment: str) -> tuple[int, str] | None:
    """As `_find_secret`, for a path segment: its `;` parameters, and its name encoded."""
    name, *parameters = segment.split(";")
    if _encodes_secret(name):
        return 0, "%"
    for parameter in parameters:
        if (found := _find_secret([parameter])) is not None:
            return 0, found[1] or ";"
    return None


def _redact_piece(piece: str) -> str:
    name, sep, _ = piece.partition("=")
    return f"{name}=REDACTED" if sep and not _encodes_secret(name) else "REDACTED"


def _find_secret(pieces: list[str]) -> tuple[int, str] | None:
    """The index in `pieces` (split with their separators kept) of the first secret one.

    With how it is placed: `""` where a server splitting on `&` reads it as a parameter,
    else the separator before it, `"%"` when percent-encoded, or `"="` when in a value as
    written (`=key=...`).
    """
    for at in range(0, len(pieces), 2):
        name, sep, value = pieces[at].partition("=")
        if sep and is_secret_name(unquote_plus(name)):
            return at, pieces[at - 1] if at else ""
        if _encodes_secret(name) or _encodes_secret(value):
            return at, "%"
        if _holds_secret(value):
            return at, "="
    return None


def _encodes_secret(text: str) -> bool:
    """Whether `text`, percent-decoded as often as that changes it, holds a secret parameter."""
    while (decoded := unquote_plus(text)) != text:
        text = decoded
        if _holds_secret(text):
            return True
    return False


def _holds_secret(text: str) -> bool:
    """Whether `text`, as it is, holds a secret parameter (`name=value`)."""
    for piece in _ANY_SEPARATOR.split(text):
        name, sep, _ = piece.partition("=")
        if sep and is_secret_name(name):
            return True
    return False
