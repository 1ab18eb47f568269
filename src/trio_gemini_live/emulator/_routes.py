"""Request routing and authentication for the emulator's WebSocket upgrade.

Parses the request path (every API version, the `//ws/` double slash, Vertex's
`LlmBidiService`), extracts the credential from headers or query, and redacts secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote_plus

from .._endpoints import redact_url
from .._secret_names import is_secret_name
from .._url_parameters import redact_path_parameters, redact_query

__all__ = [
    "Credential",
    "Route",
    "extract_credential",
    "parse_route",
    "redact_headers",
    "redact_path",
]

_GEMINI = re.compile(
    r"^/+ws/google\.ai\.generativelanguage\.(?P<version>v\d+(?:alpha|beta)?\d*)"
    r"\.GenerativeService\.(?P<method>BidiGenerateContent(?:Constrained)?)/*$"
)
_VERTEX = re.compile(
    r"^/+ws/google\.cloud\.aiplatform\.(?P<version>v\d+(?:alpha|beta)?\d*)"
    r"\.LlmBidiService/(?P<method>BidiGenerateContent)/*$"
)
# The headers whose value starts with an auth scheme (`Bearer`, `Basic`), kept when redacted.
# Only a scheme registered with IANA (or Google's `Token`) is kept: a first word merely
# shaped like one (an API key, `ya29.` OAuth token, `key=SECRET`) is the credential itself.
_SCHEMED_HEADERS = frozenset({"authorization", "proxy-authorization"})
_SCHEMES = frozenset(
    {
        "basic",
        "bearer",
        "concealed",
        "digest",
        "dpop",
        "gnap",
        "hoba",
        "mutual",
        "negotiate",
        "oauth",
        "privatetoken",
        "scram-sha-1",
        "scram-sha-256",
        "token",
        "vapid",
    }
)


@dataclass(frozen=True)
class Route:
    """Where a request was sent: API version, method and whether it is a Vertex path."""

    api_version: str
    method: str
    vertex: bool


@dataclass(frozen=True)
class Credential:
    """The credential a client presented; `repr` never shows the secret."""

    kind: str
    secret: str

    def __repr__(self) -> str:
        return f"Credential(kind={self.kind!r}, secret=<redacted>)"


def parse_route(path: str, extra_paths: Iterable[str] = ()) -> Route | None:
    """Return the route of a request path (query ignored), or None if nothing serves it."""
    # Not urlsplit: it would read the `//ws` of the SDK's double slash as a host name.
    bare = path.partition("?")[0]
    if match := _GEMINI.match(bare):
        return Route(match["version"], match["method"], vertex=False)
    if match := _VERTEX.match(bare):
        return Route(match["version"], match["method"], vertex=True)
    if bare in set(extra_paths):
        return Route("v1beta1", "BidiGenerateContent", vertex=True)
    return None


def extract_credential(path: str, headers: Iterable[tuple[bytes, bytes]]) -> Credential | None:
    """Find the key or token in `x-goog-api-key`, `Authorization`, `?key=` or `?access_token=`."""
    by_name: dict[str, str] = {}
    for raw_name, raw_value in headers:
        by_name.setdefault(raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
    if api_key := by_name.get("x-goog-api-key", "").strip():
        return Credential("api-key-header", api_key)
    auth = by_name.get("authorization", "").strip()
    scheme, _, token = auth.partition(" ")
    if scheme.lower() in ("bearer", "token") and token.strip():
        return Credential(scheme.lower(), token.strip())
    # Last one wins, as `dict(parse_qsl(...))` did; a name without a value is no credential.
    query = {name: value for name, value in _query_items(path) if value}
    if query.get("key"):
        return Credential("api-key-query", query["key"])
    if query.get("access_token"):
        return Credential("access-token-query", query["access_token"])
    return None


def _query_items(path: str) -> Iterator[tuple[str, str | None]]:
    """Each item of a path's query: its name decoded, its value decoded (or None).

    Decoded as `parse_qsl` does (`+` is a space), the names as `redact_path` compares them:
    the redaction compared the names as sent while the credential was read from decoded
    ones, so `?%6Bey=KEY` authenticated and was shown whole.
    """
    query = path.partition("?")[2]
    if not query:
        return
    for item in query.split("&"):
        name, sep, value = item.partition("=")
        yield unquote_plus(name), unquote_plus(value) if sep else None


def redact_path(path: str) -> str:
    """Replace the values of credentials in a request target with `REDACTED`.

    The client's rule (`redact_url`): a query parameter is a credential when its name,
    percent-decoded, is a credential's (`is_secret_name`: `key=`, `access_token=`,
    `apiKey=`, ..., `%6Bey=`), parameters split on `&`, `;` and a second `?`
    (`?alt=json?key=...`, what `url + "?key=..."` makes of a URL with a query, was logged
    whole), from a secret name to the next `&`; so is a parameter percent-encoded in
    another's name or value (`?key%3D...`) and a `;name=value` parameter of a path segment
    (`/ws;key=...`, logged whole in the 404 line). A target in absolute form
    (`ws://host/...`) is redacted as a URL. A name sent without `=` is kept as sent.
    """
    if not path.startswith("/"):
        return redact_url(path)
    bare, question, query = path.partition("?")
    return redact_path_parameters(bare) + question + redact_query(query)


def redact_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Decode headers, replacing the value of each whose name is a credential's.

    A name is a credential's by the client's rule (`is_secret_name`: `x-goog-api-key`,
    `Authorization`, `Proxy-Authorization`, `Cookie`, `X-API-Key`, ...); only
    `x-goog-api-key` and `Authorization` were hidden, so the others were kept whole.
    An `Authorization` or `Proxy-Authorization` value keeps its scheme (`Bearer REDACTED`).
    """
    out: list[tuple[str, str]] = []
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if is_secret_name(name):
            scheme, space, _ = value.strip().partition(" ")
            keep = name in _SCHEMED_HEADERS and space and scheme.lower() in _SCHEMES
            value = f"{scheme} REDACTED" if keep else "REDACTED"
        out.append((name, value))
    return out
