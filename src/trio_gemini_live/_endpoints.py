"""Where to connect and how to authenticate: Gemini API, ephemeral tokens, Vertex AI.

Pure functions, no I/O. The API key travels in a header, never in the URL, and every URL or
header that could be printed goes through `redact_url`/`Endpoint.__repr__` first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import (
    SplitResult,
    parse_qsl,
    unquote,
    urlencode,
    urlsplit,
    urlunsplit,
)

from ._arguments import check_switch
from ._errors import ConfigurationError
from ._secret_names import is_secret_name
from ._url_parameters import misplaced_secret, path_secret, redact_path_parameters, redact_query

__all__ = [
    "GEMINI_HOST",
    "Endpoint",
    "check_gemini_arguments",
    "check_url_version",
    "gemini_endpoint",
    "model_resource_name",
    "redact_url",
    "url_endpoint",
    "vertex_endpoint",
    "without_fragment",
]

GEMINI_HOST = "generativelanguage.googleapis.com"
_GEMINI_VERSIONS = frozenset({"v1beta", "v1alpha", "v1"})
_VERTEX_VERSIONS = frozenset({"v1beta1", "v1"})
_LOCATION_RE = re.compile(r"^[a-z0-9-]+$")
# The version in a full endpoint URL's path (`google.ai.generativelanguage.v1beta.Gen...`).
_URL_VERSION_RE = re.compile(r"\.(v\d+(?:alpha|beta)?\d*)\.")
_SHORT_SECRET = 8
_CUT_ESCAPE = re.compile(r"%[0-9A-Fa-f]?\Z")
# What a host (a port, an IPv6 literal) and a path are made of: anything else in what
# `redact_url` could not parse may be part of a secret (`[::1&key=...`).
_PLAIN_HOST_RE = re.compile(r"[A-Za-z0-9.\-_\[\]:/~%]*")


def _check_text(secret: bool = False, required: bool = False, **arguments: object) -> None:
    """Refuse an argument that is not a `str` (None passes unless `required`).

    Otherwise an int or bytes failed as an AttributeError or TypeError from deep inside
    (`'int' object has no attribute 'startswith'`). A secret's value is never shown.
    """
    for name, value in arguments.items():
        if (value is not None or required) and not isinstance(value, str):
            shown = type(value).__name__ if secret else f"{value!r} ({type(value).__name__})"
            raise ConfigurationError(f"{name} must be a str, not {shown}")
        if secret and isinstance(value, str):
            _check_secret_chars(name, value)


def _check_secret_chars(name: str, value: str) -> None:
    """Refuse a credential that no HTTP header can carry as given; never show its value.

    A control or non-ASCII character (a trailing newline read from a file, CR LF, U+2028)
    used to reach the transport's header check, whose exception quoted the header
    value: the key. Refused, not stripped: a secret is not silently altered, and the fix (strip
    the file's newline) is the caller's to make knowingly. White space at either end is
    refused too, for the same reason (HTTP would drop it on the way).
    """
    if any(not " " <= char <= "~" for char in value):
        raise ConfigurationError(
            f"{name} contains a control or non-ASCII character, e.g. a trailing newline "
            "read from a file: remove it (the value is not shown)"
        )
    if value != value.strip():
        raise ConfigurationError(
            f"{name} starts or ends with white space: remove it (the value is not shown)"
        )


@dataclass(frozen=True, repr=False)
class Endpoint:
    """A WebSocket URL plus the headers that authenticate on it.

    `headers` may hold secrets; the repr and `display_url` never show them.
    """

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    vertex: bool = False
    project: str | None = None
    location: str | None = None
    secrets: tuple[str, ...] = field(default=(), compare=False)

    @property
    def display_url(self) -> str:
        """The URL with any secret query values replaced by `REDACTED`."""
        return redact_url(self.url)

    @property
    def is_secure(self) -> bool:
        """Whether the URL uses TLS (`wss://`)."""
        return self.url.startswith("wss://")

    def redact(self, text: str) -> str:
        """`text` with each of `secrets` in it replaced by `REDACTED` (see `redact_secrets`).

        For what a server sends back (a close reason that echoes the key).
        """
        return redact_secrets(text, self.secrets)

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.headers)
        return f"Endpoint(url={self.display_url!r}, headers=[{names}], vertex={self.vertex})"


def redact_secrets(text: str, secrets: Iterable[str], replacement: str = "REDACTED") -> str:
    """`text` with each of `secrets` in it replaced by `replacement`.

    A secret of 8 characters or more is replaced as written or percent-encoded, any of its
    characters as `%XX` (a server may echo the URL's form of it), and so is its first 8
    characters or more at the very end of `text`: a close reason is cut at 123 bytes, and
    the cut may fall inside the key it echoes. A secret shorter than 8 characters (a
    placeholder key such as "k") is replaced only where it stands alone, not inside a word:
    "API key not valid" stays readable. Longer secrets are replaced first, so a key that
    contains another is replaced whole.
    """
    for secret in sorted(secrets, key=len, reverse=True):
        if not secret:
            continue
        if len(secret) >= _SHORT_SECRET:
            whole, head = _secret_patterns(secret)
            text = whole.sub(lambda _: replacement, text)
            text = _redact_cut(text, secret, head, replacement)
        else:
            alone = rf"(?<![A-Za-z0-9_\-]){re.escape(secret)}(?![A-Za-z0-9_\-])"
            text = re.sub(alone, lambda _: replacement, text)
    return text


@functools.lru_cache(maxsize=64)
def _secret_patterns(secret: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns for all of `secret` and for its first `_SHORT_SECRET` characters.

    Each character as written or `%XX`-encoded. Flat, one group per character: a token
    may be 2,048 characters long, and nesting a group per character (to match any cut of
    it at once) overflowed the regex compiler's recursion.
    """
    chars = [_char_pattern(char) for char in secret]
    return re.compile("".join(chars)), re.compile("".join(chars[:_SHORT_SECRET]))


def _redact_cut(text: str, secret: str, head: re.Pattern[str], replacement: str) -> str:
    """`text` with a cut-short `secret` at its very end replaced (see `redact_secrets`)."""
    for match in head.finditer(text):
        # The rest of the text from here is the secret's beginning, some of it `%XX`; the
        # cut may fall inside an escape (`%4`), which `unquote` would keep as written.
        rest = _CUT_ESCAPE.sub("", text[match.start() :])
        if secret.startswith(unquote(rest)):
            return text[: match.start()] + replacement
    return text


def _char_pattern(char: str) -> str:
    encoded = "".join(f"%(?:{byte:02X}|{byte:02x})" for byte in char.encode())
    return f"(?:{re.escape(char)}|{encoded})"


def redact_url(url: str) -> str:
    """Hide a URL's secrets: secret parameter values, a userinfo password and a fragment.

    A query parameter, or a `;name=value` parameter of a path segment, is secret when its
    name is a credential's (`is_secret_name`: `key`, `Key`, `access_token`, `apiKey`,
    `x-goog-api-key`, `sig`, ...; compared once percent-decoded, as a server reads it;
    query parameters split on `;` and a second `?` as well as `&`), and so is a name or
    value that holds such a parameter percent-encoded (`key%3D...`) or as written
    (`=key=...`), a path segment that holds one percent-encoded (`/ws%3Fkey%3D...`, all of
    it), the password in `user:password@host`, and a user name without a password
    (`KEY@host`). A non-empty `#fragment` becomes `#REDACTED`: OAuth's implicit flow
    puts an `access_token` there. A port that is not a number from 0 to 65535 becomes
    `<invalid port>` (a typo such as `:8765&key=...` puts the query in the port). Raises
    only for a `url` that is not a `str` (`ConfigurationError`): of a string that
    `urlsplit` cannot take apart, only the scheme and host are kept.
    """
    _check_text(required=True, url=url)
    try:
        parts = urlsplit(url)
    except ValueError:
        head, _, rest = url.partition("//")
        host = rest.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
        if not _PLAIN_HOST_RE.fullmatch(host):
            host = "<invalid host>"
        return f"{head}//{host}" + ("?REDACTED" if "?" in rest or "#" in rest else "")
    netloc = parts.netloc
    try:
        parts.port  # noqa: B018  (read for its check)
    except ValueError:
        # The "port" may be the rest of a mistyped URL, secrets and all: none of it is kept.
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:<invalid port>"
    if parts.username is not None and netloc == parts.netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if parts.password is not None:
            netloc = f"{userinfo.partition(':')[0]}:REDACTED@{hostport}"
        else:
            # A user name alone is where a key typed as `ws://KEY@host` ends up.
            netloc = f"REDACTED@{hostport}"
    path = redact_path_parameters(parts.path)
    query = redact_query(parts.query)
    fragment = "REDACTED" if parts.fragment else ""
    if (netloc, path, query, fragment) == (parts.netloc, parts.path, parts.query, parts.fragment):
        return url
    return urlunsplit(parts._replace(netloc=netloc, path=path, query=query, fragment=fragment))


def without_fragment(parts: SplitResult) -> str:
    """The URL of `parts`, redacted (`redact_url`), without its fragment.

    For messages about a fragment: it is never sent, and may hold a token (OAuth's implicit
    flow puts `access_token` there), which `redact_url` would show.
    """
    return redact_url(urlunsplit(parts._replace(fragment="")))


def _split_url(url: str, what: str, schemes: tuple[str, ...]) -> SplitResult:
    """`urlsplit`, with a `ConfigurationError` for anything a connection could not use."""
    # Raised after the `except` blocks, not in them: `from None` only hides `__context__`,
    # and urlsplit's errors quote the URL (the "port" of a typo such as `:8765&key=...` is
    # the rest of the URL, the key too; a netloc that fails NFKC normalization, a password).
    problem = None
    parts = SplitResult("", "", "", "", "")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        # Only a message known to quote nothing is passed on.
        ipv6 = str(exc) == "Invalid IPv6 URL"
        problem = "Invalid IPv6 URL" if ipv6 else "its host cannot be read"
    else:
        try:
            parts.port  # noqa: B018  (read for its check: a port out of range or not a number)
        except ValueError:
            problem = "the port is not a number from 0 to 65535"
    if problem is not None:
        raise ConfigurationError(f"{what} is not a valid URL ({problem}): {redact_url(url)!r}")
    if parts.scheme.lower() not in schemes or not parts.hostname:
        expected = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigurationError(f"{what} must be a {expected} URL, got {redact_url(url)!r}")
    if any(char.isspace() for char in parts.netloc):
        raise ConfigurationError(f"{what} has white space in its host: {redact_url(url)!r}")
    return parts


def _ws_base(base_url: str) -> str:
    """Map an http(s)/ws(s) base URL to a ws(s) one, without a trailing slash.

    A query is refused: the service path goes after the base, so it was dropped without a
    word (google-genai puts the path inside the query, which breaks the URL too).
    """
    parts = _split_url(base_url, "base_url", ("http", "https", "ws", "wss"))
    if parts.query or base_url.split("#", 1)[0].endswith("?"):
        raise ConfigurationError(
            "base_url has a query ('?...'), which the service path appended to it would "
            "not keep: give a key as api_key (or access_token), or the whole URL with its "
            f"query to url_endpoint (base_url {redact_url(base_url)!r})"
        )
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}[parts.scheme.lower()]
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def check_gemini_arguments(
    api_key: str | None, *, api_version: str | None, base_url: str | None
) -> None:
    """Refuse what `gemini_endpoint` would refuse of these arguments (`ConfigurationError`).

    For a caller that builds the endpoint later (the seed facade, at `connect`), or whose
    key may come from the environment then (`api_key` None: not checked).
    """
    _check_text(secret=True, api_key=api_key)
    _check_text(api_version=api_version, base_url=base_url)
    if api_version and api_version not in _GEMINI_VERSIONS:
        raise ConfigurationError(
            f"api_version must be one of {sorted(_GEMINI_VERSIONS)} for the Gemini API, "
            f"got {api_version!r}"
        )
    if base_url:
        _ws_base(base_url)


def check_url_version(url: str, api_version: str | None) -> None:
    """Refuse an `api_version` that the version in a full endpoint URL contradicts.

    Such a URL is used as given (`url_endpoint`), its version with it: a different
    `api_version` given beside it would be ignored in silence. One that agrees, or a URL
    whose path names no version (a proxy's own path), passes.

    Raises:
        ConfigurationError: `api_version` is not a `str`, or differs from the URL's.
    """
    _check_text(api_version=api_version)
    if not api_version:
        return
    found = _URL_VERSION_RE.search(urlsplit(url).path)
    if found is not None and found.group(1) != api_version:
        raise ConfigurationError(
            f"api_version {api_version!r} contradicts the version in the endpoint URL "
            f"({found.group(1)!r}), which is used as given: drop api_version, or give it "
            f"in the URL (URL {redact_url(url)!r})"
        )


def gemini_endpoint(
    api_key: str,
    *,
    api_version: str | None = None,
    base_url: str | None = None,
) -> Endpoint:
    """The Gemini Developer API endpoint for an API key or an ephemeral token.

    Keys starting with `auth_tokens/` are ephemeral tokens: they use the constrained method,
    `Authorization: Token ...` and default to `v1alpha` (protocol.md section 4.5).

    A key with a control or non-ASCII character (a trailing newline read from a file) or
    with white space at either end is refused (`ConfigurationError`, the key not shown),
    not stripped: strip it yourself if that is what you mean. So for `vertex_endpoint`'s
    `access_token`/`api_key` and `url_endpoint`'s key.
    """
    check_gemini_arguments(api_key, api_version=api_version, base_url=base_url)
    if not api_key:
        raise ConfigurationError(
            "no API key: pass api_key=... or set GEMINI_API_KEY (or use the local emulator)"
        )
    ephemeral = api_key.startswith("auth_tokens/")
    version = api_version or ("v1alpha" if ephemeral else "v1beta")
    method = "BidiGenerateContentConstrained" if ephemeral else "BidiGenerateContent"
    base = _ws_base(base_url) if base_url else f"wss://{GEMINI_HOST}"
    url = f"{base}/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"
    headers: list[tuple[str, str]] = [("x-goog-api-key", api_key)]
    if ephemeral:
        headers.append(("authorization", f"Token {api_key}"))
    return Endpoint(url=url, headers=tuple(headers), secrets=(api_key,))


def vertex_endpoint(
    *,
    location: str,
    access_token: str | None = None,
    project: str | None = None,
    api_key: str | None = None,
    api_version: str = "v1beta1",
    base_url: str | None = None,
    quota_project: str | None = None,
) -> Endpoint:
    """The Vertex AI endpoint: regional host, OAuth bearer token (or express-mode API key).

    Args:
        location: the region (`"us-central1"`), a multi-region (`"us"`, `"eu"`) or
            `"global"`; it picks the host.
        access_token: an OAuth 2.0 access token, sent as `Authorization: Bearer ...`.
        project: the Google Cloud project, for the model's resource name.
        api_key: an express-mode API key (`x-goog-api-key`); with no `access_token`, the
            global host is used.
        api_version: `"v1beta1"` (the default) or `"v1"`.
        base_url: another host (`https://...` or `wss://...`), the path appended to it.
        quota_project: the project billed for the session and whose quota it uses, sent
            as the `x-goog-user-project` header; needs `access_token` (Google checks the
            token's principal for permission on it; an API key always bills its own
            project).

    Raises:
        ConfigurationError: no credential, an argument that is not a `str`, a credential
            with a control or non-ASCII character or white space at either end (not
            shown), an unknown `api_version`, an invalid `location` or `base_url`, or a
            `quota_project` without `access_token` (it would not be sent).
    """
    _check_text(secret=True, access_token=access_token, api_key=api_key)
    _check_text(required=True, location=location)
    _check_text(
        project=project,
        api_version=api_version,
        base_url=base_url,
        quota_project=quota_project,
    )
    if api_version not in _VERTEX_VERSIONS:
        raise ConfigurationError(
            f"api_version must be one of {sorted(_VERTEX_VERSIONS)} for Vertex AI, "
            f"got {api_version!r}"
        )
    if not _LOCATION_RE.fullmatch(location):  # fullmatch: `$` also matches before "\n"
        raise ConfigurationError(f"invalid Vertex AI location {location!r}")
    if not access_token and not api_key:
        raise ConfigurationError(
            "Vertex AI needs access_token=... (OAuth) or api_key=... (express)"
        )
    if quota_project and not access_token:
        # Not sent before, without a word: an API key bills the project it belongs to.
        raise ConfigurationError(
            "quota_project needs access_token=... (OAuth): with an API key, the key's own "
            "project is billed"
        )
    if base_url:
        base = _ws_base(base_url)
    elif location == "global" or (api_key and not access_token):
        base = "wss://aiplatform.googleapis.com"
    elif location in ("us", "eu"):
        base = f"wss://aiplatform.{location}.rep.googleapis.com"
    else:
        base = f"wss://{location}-aiplatform.googleapis.com"
    url = f"{base}/ws/google.cloud.aiplatform.{api_version}.LlmBidiService/BidiGenerateContent"
    headers: list[tuple[str, str]] = []
    secrets: list[str] = []
    if access_token:
        headers.append(("authorization", f"Bearer {access_token}"))
        secrets.append(access_token)
        if quota_project:
            headers.append(("x-goog-user-project", quota_project))
    if api_key:
        headers.append(("x-goog-api-key", api_key))
        secrets.append(api_key)
    return Endpoint(
        url=url,
        headers=tuple(headers),
        vertex=True,
        project=project,
        location=location,
        secrets=tuple(secrets),
    )


def url_endpoint(url: str, *, api_key: str | None = None, vertex: bool = False) -> Endpoint:
    """A full `ws://`/`wss://` endpoint URL used as given (e.g. the local emulator).

    A `key=` already in the URL is moved to the `x-goog-api-key` header so that it never
    travels in, or is printed with, the URL. Only `key`, as written: Google reads its
    system parameters by their exact (case-sensitive) names, so a `Key=` is no API key to
    it and stays in the URL as given; like every parameter with a credential's name
    (`Key`, `apiKey`, `access_token`, ... see `redact_url`), its value is never shown.
    The key may be given either way, or both ways if it is the same key.

    Raises:
        ConfigurationError: the URL is not a `ws://`/`wss://` URL, has a `#fragment`, has
            a secret parameter after a `;` or a second `?` (parameters are separated by
            `&`; and a path has none), percent-encoded in a parameter's name or value
            (`key%3D...`) or in the path (`/ws%3Fkey%3D...`), as written in a parameter's
            value (`=key=...`), a `;` or `?` in its `key=`, a user name without a password, or two
            different keys are given (the URL's `key=` and `api_key`, or two `key=` in
            the URL): neither silently wins; or the key has a control or non-ASCII
            character or white space at either end (see `gemini_endpoint`), or `vertex`
            is not a `bool`. The keys are never shown.
    """
    _check_text(secret=True, api_key=api_key)
    _check_text(required=True, url=url)
    check_switch(vertex, "vertex")
    parts = _split_url(url, "endpoint URL", ("ws", "wss"))
    if parts.fragment:
        # A WebSocket URI has none (RFC 6455 section 3): websockets refuses one when
        # connecting, trio-websocket dropped it; refused here, for both, before connecting.
        raise ConfigurationError(
            "the endpoint URL has a #fragment, which a WebSocket URL cannot have "
            f"(RFC 6455 section 3): {without_fragment(parts)!r}"
        )
    if parts.username is not None and parts.password is None:
        # `ws://KEY@host`: the websockets transport would refuse it when connecting, with a
        # message quoting it; a key goes in `key=` or `api_key`.
        raise ConfigurationError(
            "the endpoint URL has a user name without a password (user@host): give an API "
            f"key as key=... or api_key=... (URL {redact_url(url)!r})"
        )
    in_path = path_secret(parts.path)
    if in_path is not None:
        where = (
            "percent-encoded in its path ('%3F' for '?', '%3D' for '=')"
            if in_path == "%"
            else "after a ';' in its path"
        )
        raise ConfigurationError(
            f"the endpoint URL has a secret parameter {where}: query parameters come after "
            f"a '?' (URL {redact_url(url)!r})"
        )
    # parse_qsl splits on `&` only: a secret elsewhere would travel, and show, as part of
    # another parameter's name or value, or another parameter as part of the key.
    misplaced = misplaced_secret(parts.query)
    if misplaced is not None:
        where = (
            "percent-encoded in a query parameter's name or value ('%3D' for '=', '%26' for '&')"
            if misplaced == "%"
            else "in a query parameter's value, after its '='"
            if misplaced == "="
            else f"after a {misplaced!r} in its query (a URL has one '?', before its query)"
        )
        raise ConfigurationError(
            f"the endpoint URL has a secret parameter {where}: it would not reach the server "
            f"as one; separate query parameters with '&' (URL {redact_url(url)!r})"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    for name, value in query:
        if name == "key" and (char := next((c for c in ";?" if c in value), None)):
            raise ConfigurationError(
                f"the endpoint URL has a {char!r} after a secret parameter in its query: the "
                "server would read what follows as part of the key; separate query "
                f"parameters with '&' (URL {redact_url(url)!r})"
            )
    keys_in_url = list(dict.fromkeys(value for name, value in query if name == "key" and value))
    if len(keys_in_url) > 1:
        raise ConfigurationError(
            f"the endpoint URL has {len(keys_in_url)} different key= values: give one key "
            f"(URL {redact_url(url)!r})"
        )
    key_in_url = keys_in_url[0] if keys_in_url else None
    if key_in_url is not None:
        # Percent-decoded, it goes to the header as the `api_key` argument does.
        _check_secret_chars("the endpoint URL's key=", key_in_url)
    if api_key and key_in_url and api_key != key_in_url:
        # The argument used to win without a word; the server then refused the other key,
        # or accepted a key the caller did not mean to use.
        raise ConfigurationError(
            "two different API keys were given, one in the URL (key=) and another as "
            "api_key: give the key one way, or the same key both ways "
            f"(URL {redact_url(url)!r})"
        )
    kept = [(name, value) for name, value in query if name != "key"]
    key = api_key or key_in_url
    clean = urlunsplit(parts._replace(query=urlencode(kept)))
    headers: tuple[tuple[str, str], ...] = ()
    # Every value the URL's redaction hides is one a close reason must not echo either: an
    # `access_token=` (or `token=`, `api_key=`) left in the URL, a userinfo password.
    secrets = [value for name, value in kept if is_secret_name(name) and value]
    if parts.password:
        secrets.append(parts.password)
    if key:
        headers = (("x-goog-api-key", key),)
        secrets.append(key)
        if key.startswith("auth_tokens/"):
            headers += (("authorization", f"Token {key}"),)
    return Endpoint(url=clean, headers=headers, vertex=vertex, secrets=tuple(secrets))


def model_resource_name(
    model: str, *, vertex: bool = False, project: str | None = None, location: str | None = None
) -> str:
    """Normalise a model id to the resource name the setup message needs.

    As google-genai's `t_model` does (and its Live `connect` after it, which places a
    Vertex AI publisher model in the project when the project and location are known):

    - Gemini API: `models/...` and `tunedModels/...` as given, any other name after
      `models/`.
    - Vertex AI: `projects/...` as given; `publishers/...` as given; `publisher/model`
      (`google/gemini-x`, `meta/llama-x`) as `publishers/publisher/models/model`; a bare
      id as `publishers/google/models/id`. Each but `projects/...` is then placed in the
      project (`projects/p/locations/l/...`) when both `project` and `location` are given.

    One difference: a Gemini API name `models/id` on Vertex AI is read as the Google
    model `id` (`publishers/google/models/id`), where google-genai sends `models/id`
    unchanged. Vertex AI's setup takes a publisher model's (or a tuned model endpoint's)
    full name, never `models/...`, so that name would be refused; read so, one name serves
    both backends.

    Raises:
        ConfigurationError: an empty name, or one holding `..`, `?` or `&` (google-genai
            refuses them too: such a name is a path or a query, no model's).
    """
    _check_text(required=True, model=model)
    _check_text(project=project, location=location)
    check_switch(vertex, "vertex")
    model = model.strip()
    if not model:
        raise ConfigurationError("model must be a non-empty model name")
    if any(part in model for part in ("..", "?", "&")):
        # Not quoted: a URL pasted by mistake may carry a key in its query.
        raise ConfigurationError("model is not a model name: it holds '..', '?' or '&'")
    if vertex:
        if model.startswith("projects/"):
            return model
        model = model.removeprefix("models/")
        if model.startswith("publishers/"):
            path = model
        elif "/" in model:
            publisher, model_id = model.split("/", 1)
            path = f"publishers/{publisher}/models/{model_id}"
        else:
            path = f"publishers/google/models/{model}"
        if project and location:
            return f"projects/{project}/locations/{location}/{path}"
        return path
    if model.startswith(("models/", "tunedModels/")):
        return model
    return f"models/{model}"
