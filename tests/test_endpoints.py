"""Endpoints: URLs for every backend, auth headers, redaction, model resource names."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from trio_gemini_live._endpoints import (
    Endpoint,
    check_gemini_arguments,
    check_url_version,
    gemini_endpoint,
    model_resource_name,
    redact_url,
    url_endpoint,
    vertex_endpoint,
)
from trio_gemini_live._errors import ConfigurationError

KEY = "AIzaSyTEST-secret-key_123"
TOKEN = "auth_tokens/ephemeral-secret"
BEARER = "ya29.bearer-secret"

GEMINI = "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage"
VERTEX_PATH = "/ws/google.cloud.aiplatform.{v}.LlmBidiService/BidiGenerateContent"


def assert_no_secret(endpoint: Endpoint, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in endpoint.url
        assert secret not in endpoint.display_url
        assert secret not in repr(endpoint)
        assert secret not in str(endpoint)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (None, f"{GEMINI}.v1beta.GenerativeService.BidiGenerateContent"),
        ("v1beta", f"{GEMINI}.v1beta.GenerativeService.BidiGenerateContent"),
        ("v1alpha", f"{GEMINI}.v1alpha.GenerativeService.BidiGenerateContent"),
        ("v1", f"{GEMINI}.v1.GenerativeService.BidiGenerateContent"),
    ],
)
def test_gemini_api_key_endpoint(version: str | None, expected: str) -> None:
    endpoint = gemini_endpoint(KEY, api_version=version)
    assert endpoint.url == expected
    assert endpoint.headers == (("x-goog-api-key", KEY),)
    assert endpoint.vertex is False
    assert endpoint.is_secure
    assert endpoint.secrets == (KEY,)
    assert_no_secret(endpoint, KEY)


@pytest.mark.parametrize(
    ("version", "expected_version"),
    [(None, "v1alpha"), ("v1alpha", "v1alpha"), ("v1beta", "v1beta")],
)
def test_ephemeral_token_uses_constrained_method(
    version: str | None, expected_version: str
) -> None:
    endpoint = gemini_endpoint(TOKEN, api_version=version)
    assert endpoint.url == (
        f"{GEMINI}.{expected_version}.GenerativeService.BidiGenerateContentConstrained"
    )
    headers = dict(endpoint.headers)
    assert headers["authorization"] == f"Token {TOKEN}"
    assert headers["x-goog-api-key"] == TOKEN  # as the Python SDK also sends it
    assert_no_secret(endpoint, TOKEN, "ephemeral-secret")


@pytest.mark.parametrize(
    ("base_url", "prefix"),
    [
        ("http://127.0.0.1:8765", "ws://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "ws://127.0.0.1:8765"),
        ("https://localhost:8766", "wss://localhost:8766"),
        ("ws://127.0.0.1:1", "ws://127.0.0.1:1"),
        ("wss://proxy.example/prefix/", "wss://proxy.example/prefix"),
        ("https://host/#fragment", "wss://host"),  # (never sent by any client)
    ],
)
def test_gemini_base_url(base_url: str, prefix: str) -> None:
    endpoint = gemini_endpoint(KEY, base_url=base_url)
    assert endpoint.url == (
        f"{prefix}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    assert endpoint.is_secure is prefix.startswith("wss://")
    assert "SHOULD-NOT-LEAK" not in endpoint.url


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_key": ""}, "no API key"),
        ({"api_key": KEY, "api_version": "v2"}, "api_version must be one of"),
        ({"api_key": KEY, "api_version": "v1beta1"}, "for the Gemini API"),
        ({"api_key": KEY, "base_url": "ftp://host"}, "base_url must be"),
        ({"api_key": KEY, "base_url": "not a url"}, "base_url must be"),
        ({"api_key": KEY, "base_url": "https://?key=x"}, "base_url must be"),
    ],
)
def test_gemini_bad_inputs(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        gemini_endpoint(**kwargs)
    assert KEY not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://host/?key=SHOULD-NOT-LEAK",
        "https://host/p?alt=json",
        "https://host?",
        "wss://h/?a#f",
    ],
)
def test_a_base_url_query_is_refused_not_dropped(base_url: str) -> None:
    # It was dropped without a word (google-genai puts the service path inside the query).
    makers = (
        lambda: gemini_endpoint(KEY, base_url=base_url),
        lambda: vertex_endpoint(location="us-central1", access_token=BEARER, base_url=base_url),
        lambda: check_gemini_arguments(KEY, api_version=None, base_url=base_url),
    )
    for make in makers:
        with pytest.raises(ConfigurationError, match="base_url has a query") as info:
            make()
        assert "SHOULD-NOT-LEAK" not in str(info.value)


def test_bad_base_url_message_redacts_secrets() -> None:
    with pytest.raises(ConfigurationError) as info:
        gemini_endpoint(KEY, base_url="ftp://host/?key=LEAKY")
    assert "LEAKY" not in str(info.value)
    assert "REDACTED" in str(info.value)


# --- Vertex AI --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "version", "host"),
    [
        ("us-central1", "v1beta1", "wss://us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "v1", "wss://europe-west4-aiplatform.googleapis.com"),
        ("global", "v1beta1", "wss://aiplatform.googleapis.com"),
        ("us", "v1beta1", "wss://aiplatform.us.rep.googleapis.com"),
        ("eu", "v1", "wss://aiplatform.eu.rep.googleapis.com"),
    ],
)
def test_vertex_oauth_endpoint(location: str, version: str, host: str) -> None:
    endpoint = vertex_endpoint(
        location=location, access_token=BEARER, project="my-proj", api_version=version
    )
    assert endpoint.url == host + VERTEX_PATH.format(v=version)
    assert endpoint.headers == (("authorization", f"Bearer {BEARER}"),)
    assert endpoint.vertex is True
    assert (endpoint.project, endpoint.location) == ("my-proj", location)
    assert_no_secret(endpoint, BEARER)


def test_vertex_default_version_is_v1beta1() -> None:
    endpoint = vertex_endpoint(location="us-central1", access_token=BEARER)
    assert ".v1beta1.LlmBidiService/BidiGenerateContent" in endpoint.url


def test_vertex_bearer_with_quota_project() -> None:
    endpoint = vertex_endpoint(location="us-central1", access_token=BEARER, quota_project="billing")
    assert endpoint.headers == (
        ("authorization", f"Bearer {BEARER}"),
        ("x-goog-user-project", "billing"),
    )
    assert endpoint.secrets == (BEARER,)


def test_vertex_express_mode_api_key_uses_global_host() -> None:
    endpoint = vertex_endpoint(location="us-central1", api_key=KEY)
    assert endpoint.url == "wss://aiplatform.googleapis.com" + VERTEX_PATH.format(v="v1beta1")
    assert endpoint.headers == (("x-goog-api-key", KEY),)
    assert_no_secret(endpoint, KEY)


def test_vertex_quota_project_without_bearer_is_refused() -> None:
    # Dropped without a word before: an API key bills its own project, and Google checks a
    # quota project against the OAuth principal, which only a token has.
    with pytest.raises(ConfigurationError, match=r"quota_project needs access_token") as info:
        vertex_endpoint(location="global", api_key=KEY, quota_project="billing")
    assert KEY not in str(info.value)


def test_vertex_base_url() -> None:
    endpoint = vertex_endpoint(
        location="us-central1", access_token=BEARER, base_url="http://127.0.0.1:9000/"
    )
    assert endpoint.url == "ws://127.0.0.1:9000" + VERTEX_PATH.format(v="v1beta1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"location": "us-central1"}, "access_token=... \\(OAuth\\) or api_key"),
        ({"location": "us-central1", "access_token": BEARER, "api_version": "v1beta"}, "Vertex AI"),
        ({"location": "US", "access_token": BEARER}, "invalid Vertex AI location"),
        ({"location": "", "access_token": BEARER}, "invalid Vertex AI location"),
        ({"location": "a/b", "access_token": BEARER}, "invalid Vertex AI location"),
        ({"location": "evil.com#", "access_token": BEARER}, "invalid Vertex AI location"),
        # Regression: `re.match(r"^...$")` accepted a trailing newline.
        ({"location": "us-central1\n", "access_token": BEARER}, "invalid Vertex AI location"),
    ],
)
def test_vertex_bad_inputs(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        vertex_endpoint(**kwargs)
    assert BEARER not in str(info.value)


# --- url_endpoint and redaction ---------------------------------------------------------------


def test_url_endpoint_moves_key_into_header() -> None:
    endpoint = url_endpoint(f"ws://127.0.0.1:8765/ws/x?alt=json&key={KEY}")
    assert endpoint.url == "ws://127.0.0.1:8765/ws/x?alt=json"
    assert endpoint.headers == (("x-goog-api-key", KEY),)
    assert endpoint.is_secure is False
    assert_no_secret(endpoint, KEY)


@pytest.mark.parametrize(
    ("url", "api_key", "message"),
    [
        (
            "wss://h/ws?key=from-url-0123",
            KEY,
            r"^two different API keys were given, one in the URL",
        ),
        ("wss://h/ws?key=from-url-0123&key=other-4567", None, r"2 different key= values"),
        ("wss://h/ws?key=from-url-0123&key=other-4567", "from-url-0123", r"2 different key="),
    ],
    ids=["argument and URL", "twice in the URL", "twice in the URL and the argument"],
)
def test_url_endpoint_refuses_two_different_keys_without_showing_them(
    url: str, api_key: str | None, message: str
) -> None:
    # Before: the argument silently won over the URL's key (and the first key= over another).
    with pytest.raises(ConfigurationError, match=message) as info:
        url_endpoint(url, api_key=api_key)
    for secret in (KEY, "from-url-0123", "other-4567"):
        assert secret not in str(info.value)
    assert "key=REDACTED" in str(info.value)


def test_url_endpoint_takes_the_same_key_given_both_ways() -> None:
    endpoint = url_endpoint(f"wss://h/ws?key={KEY}&key={KEY}", api_key=KEY)
    assert endpoint.url == "wss://h/ws"
    assert endpoint.headers == (("x-goog-api-key", KEY),)
    # An empty key= is no key: the argument is the only one.
    blank = url_endpoint("wss://h/ws?key=", api_key=KEY)
    assert blank.headers == (("x-goog-api-key", KEY),)


def test_url_endpoint_ephemeral_token_and_no_key() -> None:
    endpoint = url_endpoint(f"wss://h/ws?key={TOKEN}", vertex=True)
    assert dict(endpoint.headers) == {"x-goog-api-key": TOKEN, "authorization": f"Token {TOKEN}"}
    assert endpoint.vertex is True
    bare = url_endpoint("ws://127.0.0.1:1/p")
    assert (bare.url, bare.headers, bare.secrets) == ("ws://127.0.0.1:1/p", (), ())


@pytest.mark.parametrize("url", ["http://h/ws?key=LEAKY", "h/ws", "wss://", "ftp://h?key=LEAKY"])
def test_url_endpoint_rejects_non_websocket_urls(url: str) -> None:
    with pytest.raises(ConfigurationError, match="ws:// or wss://") as info:
        url_endpoint(url)
    assert "LEAKY" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ws://[::1", "Invalid IPv6 URL"),
        ("ws://127.0.0.1:99999/x", "the port is not a number from 0 to 65535"),
        ("ws://127.0.0.1:abc/x", "the port is not a number from 0 to 65535"),
        ("ws://host name/x", "white space"),
        ("ws://u:LEAKY@[::1/x?key=LEAKY", "Invalid IPv6 URL"),
    ],
)
def test_malformed_urls_are_configuration_errors(url: str, message: str) -> None:
    for make in (url_endpoint, lambda u: gemini_endpoint("k", base_url=u)):
        with pytest.raises(ConfigurationError, match=message) as info:
            make(url)
        assert "LEAKY" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:9/ws?access_token=LEAKY#frag",
        "wss://h/ws?key=LEAKY#access_token=LEAKY",  # OAuth's implicit flow puts one there
        "ws://proxy:LEAKY@h/ws#x",
    ],
)
def test_url_endpoint_refuses_a_fragment_without_showing_secrets(url: str) -> None:
    # A WebSocket URL has no fragment (RFC 6455 section 3). Before, websockets refused it
    # when connecting with its own error, which showed the URL as given (the token and
    # all), and trio-websocket went on without it.
    with pytest.raises(ConfigurationError, match="#fragment") as info:
        url_endpoint(url)
    assert "LEAKY" not in str(info.value)
    # An empty fragment is no fragment: the URL has none once rebuilt.
    bare = url.partition("#")[0]
    assert url_endpoint(bare + "#").url == url_endpoint(bare).url


def test_a_userinfo_password_shows_nowhere() -> None:
    endpoint = url_endpoint("ws://proxy:LEAKY@127.0.0.1:9/ws?key=k")
    for text in (repr(endpoint), endpoint.display_url, str(endpoint.headers)):
        assert "LEAKY" not in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("wss://h/p", "wss://h/p"),
        ("wss://h/p?key=SECRET", "wss://h/p?key=REDACTED"),
        ("wss://h/p?alt=json&key=SECRET", "wss://h/p?alt=json&key=REDACTED"),
        (
            "wss://h/p?access_token=auth_tokens/SECRET",
            "wss://h/p?access_token=REDACTED",
        ),
        ("wss://h/p?API_KEY=SECRET&token=SECRET", "wss://h/p?API_KEY=REDACTED&token=REDACTED"),
        ("wss://h/p?key=", "wss://h/p?key=REDACTED"),
        ("wss://h/p?other=auth_tokens/x", "wss://h/p?other=auth_tokens/x"),
        # a proxy's password in the userinfo; the user name is not secret
        ("ws://proxy:SECRET@h:8/p?key=SECRET", "ws://proxy:REDACTED@h:8/p?key=REDACTED"),
        ("ws://:SECRET@h/p", "ws://:REDACTED@h/p"),
        # a user name alone is where `ws://KEY@host` puts a key
        ("ws://SECRET@h/p", "ws://REDACTED@h/p"),
        # a `;` parameter of a path segment (a `?` mistyped as `;`)
        ("ws://h/ws;key=SECRET", "ws://h/ws;key=REDACTED"),
        ("ws://h/a;v=1;Access_Token=SECRET/b;x=2", "ws://h/a;v=1;Access_Token=REDACTED/b;x=2"),
        ("ws://h/key=SECRET/p", "ws://h/key=SECRET/p"),  # a segment, not a parameter
        # not a URL urlsplit can take apart: the scheme and host only
        ("ws://u:SECRET@[::1/p?key=SECRET", "ws://[::1/p?REDACTED"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert "SECRET" not in redact_url(url) or "/key=SECRET/" in url


def test_repr_lists_header_names_only() -> None:
    endpoint = vertex_endpoint(
        location="us-central1", access_token=BEARER, api_key=KEY, quota_project="q"
    )
    text = repr(endpoint)
    assert "authorization" in text
    assert "x-goog-api-key" in text
    assert BEARER not in text
    assert KEY not in text
    assert text.startswith("Endpoint(url='wss://us-central1-aiplatform.googleapis.com/")


def test_endpoint_repr_redacts_a_secret_in_the_url() -> None:
    endpoint = Endpoint(url=f"wss://h/p?key={KEY}", headers=(("x-goog-api-key", KEY),))
    assert KEY not in repr(endpoint)
    assert endpoint.display_url == "wss://h/p?key=REDACTED"


# --- model names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "kwargs", "expected"),
    [
        ("gemini-live-2.5-flash-preview", {}, "models/gemini-live-2.5-flash-preview"),
        ("models/gemini-2.0-flash-live-001", {}, "models/gemini-2.0-flash-live-001"),
        ("tunedModels/my-model", {}, "tunedModels/my-model"),
        ("  gemini-x  ", {}, "models/gemini-x"),
        ("gemini-x", {"vertex": True}, "publishers/google/models/gemini-x"),
        ("models/gemini-x", {"vertex": True}, "publishers/google/models/gemini-x"),
        (
            "gemini-x",
            {"vertex": True, "project": "p", "location": "us-central1"},
            "projects/p/locations/us-central1/publishers/google/models/gemini-x",
        ),
        ("gemini-x", {"vertex": True, "project": "p"}, "publishers/google/models/gemini-x"),
        (
            "projects/p/locations/l/publishers/google/models/m",
            {"vertex": True, "project": "other", "location": "x"},
            "projects/p/locations/l/publishers/google/models/m",
        ),
        ("publishers/google/models/m", {"vertex": True}, "publishers/google/models/m"),
        (
            "publishers/google/models/m",
            {"vertex": True, "project": "p", "location": "l"},
            "projects/p/locations/l/publishers/google/models/m",
        ),
        (
            "publishers/acme/models/m",
            {"vertex": True, "project": "p", "location": "l"},
            "projects/p/locations/l/publishers/acme/models/m",
        ),
        # `publisher/model`, as google-genai's t_model reads it: it became
        # `publishers/google/models/google/gemini-x`, a model that does not exist.
        ("google/gemini-x", {"vertex": True}, "publishers/google/models/gemini-x"),
        (
            "meta/llama-x",
            {"vertex": True, "project": "p", "location": "l"},
            "projects/p/locations/l/publishers/meta/models/llama-x",
        ),
        ("a/b/c", {"vertex": True}, "publishers/a/models/b/c"),
    ],
)
def test_model_resource_name(model: str, kwargs: dict[str, object], expected: str) -> None:
    assert model_resource_name(model, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("model", ["", "   "])
def test_model_resource_name_rejects_empty(model: str) -> None:
    with pytest.raises(ConfigurationError, match="non-empty model name"):
        model_resource_name(model)


@pytest.mark.parametrize("model", ["../m", "m?key=SECRETVALUE", "m&x=1"])
@pytest.mark.parametrize("vertex", [False, True])
def test_model_resource_name_refuses_a_path_or_query(model: str, vertex: bool) -> None:
    # As google-genai's t_model does; they were sent inside the setup's model name.
    with pytest.raises(ConfigurationError, match="not a model name") as caught:
        model_resource_name(model, vertex=vertex)
    assert "SECRETVALUE" not in str(caught.value)


def test_model_resource_name_matches_google_genai_on_vertex() -> None:
    from google.genai import _transformers, client

    api = client.BaseApiClient(vertexai=True, project="p", location="l", api_key=None)
    for name in ("gemini-x", "google/gemini-x", "meta/llama-x", "publishers/acme/models/m"):
        # google-genai's Live connect places a `publishers/` name in the project.
        theirs = "projects/p/locations/l/" + _transformers.t_model(api, name)
        assert model_resource_name(name, vertex=True, project="p", location="l") == theirs


# A value that is not a str is refused with a ConfigurationError naming the argument; it
# raised AttributeError or TypeError from inside (`'int' object has no attribute ...`).
# A secret's value is never shown, only its type.
NOT_TEXT: dict[str, Callable[[], object]] = {
    "api_key": lambda: gemini_endpoint(b"secret-key"),  # type: ignore[arg-type]
    "base_url": lambda: gemini_endpoint("k", base_url=5),  # type: ignore[arg-type]
    "url": lambda: url_endpoint(5),  # type: ignore[arg-type]
    "api_key ": lambda: url_endpoint("ws://h/ws", api_key=b"secret-key"),  # type: ignore[arg-type]
    "location": lambda: vertex_endpoint(location=5, access_token="t"),  # type: ignore[arg-type]
    "access_token": lambda: vertex_endpoint(location="us", access_token=b"secret-key"),  # type: ignore[arg-type]
    "model": lambda: model_resource_name(5),  # type: ignore[arg-type]
    "model ": lambda: model_resource_name(None),  # type: ignore[arg-type]
    "url  ": lambda: url_endpoint(None),  # type: ignore[arg-type]
    "url ": lambda: redact_url(None),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", NOT_TEXT)
def test_an_argument_that_is_not_a_str_is_named(case: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{case.strip()} must be a str") as caught:
        NOT_TEXT[case]()
    assert "secret-key" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "host", "netloc"),
    [
        ("ws://[::1]:8765/ws/x", "::1", "[::1]:8765"),
        ("wss://[2001:db8::7]/ws/x", "2001:db8::7", "[2001:db8::7]"),
        ("ws://127.0.0.1:8765/ws/x", "127.0.0.1", "127.0.0.1:8765"),
        ("wss://example.test/ws/x", "example.test", "example.test"),
    ],
)
def test_the_host_header_of_an_ipv6_literal_keeps_its_brackets(
    url: str, host: str, netloc: str
) -> None:
    """trio-websocket sent `Host: ::1:8765`, which a server reads as no valid host."""
    from trio_gemini_live._stream import stream_target

    target = stream_target(url_endpoint(url))
    assert (target.host, target.netloc) == (host, netloc)


# --- secrets in error messages ---------------------------------------------------------------


def assert_not_shown(error: BaseException, secret: str) -> None:
    """Nowhere in `error`: its text, repr, args, pickled form, cause or context."""
    import pickle

    for each in (error, error.__cause__, error.__context__):
        if each is None:
            continue
        for text in (str(each), repr(each), repr(each.args), repr(pickle.dumps(each))):
            assert secret not in text, text


BAD_CHARS = {
    "newline": "\n",  # a key read from a file
    "crlf": "\r\n",
    "nul": "\x00",
    "line separator": "\u2028",
    "snowman": "\u2603",
    "e acute": "\u00e9",
    "tab": "\t",
    "inner newline": "\nx",
}


@pytest.mark.parametrize("bad", BAD_CHARS.values(), ids=list(BAD_CHARS))
@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("api_key", lambda key: gemini_endpoint(key)),
        ("api_key", lambda key: url_endpoint("ws://127.0.0.1:9/ws", api_key=key)),
        ("access_token", lambda key: vertex_endpoint(location="us", access_token=key)),
        ("api_key", lambda key: vertex_endpoint(location="us", api_key=key)),
    ],
)
def test_a_credential_with_a_control_or_non_ascii_char_is_refused_unseen(
    name: str, make: Callable[[str], Endpoint], bad: str
) -> None:
    # It reached websockets' header check, whose InvalidHeaderValue quoted the key.
    with pytest.raises(ConfigurationError, match=f"^{name} contains a control or non-ASCII") as e:
        make(KEY + bad)
    assert_not_shown(e.value, KEY)
    assert "trailing newline" in str(e.value)


@pytest.mark.parametrize("padded", [f" {KEY}", f"{KEY} "])
def test_a_credential_with_surrounding_white_space_is_refused_not_stripped(padded: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^api_key starts or ends with white space") as e:
        gemini_endpoint(padded)
    assert_not_shown(e.value, KEY)


def test_a_key_in_the_url_with_a_bad_char_is_refused_unseen() -> None:
    with pytest.raises(ConfigurationError, match="control or non-ASCII") as e:
        url_endpoint("ws://127.0.0.1:9/ws?key=" + KEY + "%0A")
    assert_not_shown(e.value, KEY)


@pytest.mark.parametrize(
    "url",
    [
        f"ws://127.0.0.1:8765&key={KEY}",  # `&` typed for `/?`: the rest is the "port"
        f"ws://127.0.0.1:8765&key={KEY}/ws?key={KEY}#x",
        f"ws://u:{KEY}@h:x/p",
        "ws://127.0.0.1:99999/x",
    ],
)
def test_a_port_that_is_not_a_number_is_named_without_quoting_it(url: str) -> None:
    for make in (url_endpoint, lambda u: gemini_endpoint("k", base_url=u)):
        with pytest.raises(
            ConfigurationError, match="the port is not a number from 0 to 65535"
        ) as e:
            make(url)
        assert_not_shown(e.value, KEY)
        assert e.value.__context__ is None  # not only suppressed: urlsplit's error quotes it
        assert ":<invalid port>" in str(e.value)


def test_a_host_urlsplit_refuses_is_named_without_quoting_it() -> None:
    # urlsplit's NFKC error quotes the netloc, a password in it too.
    with pytest.raises(ConfigurationError, match="its host cannot be read") as e:
        url_endpoint(f"ws://u:{KEY}@h\uff03x/p")
    assert_not_shown(e.value, KEY)
    assert e.value.__context__ is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("wss://h/p#access_token=SECRET", "wss://h/p#REDACTED"),  # OAuth's implicit flow
        ("wss://h/p?key=SECRET#SECRET", "wss://h/p?key=REDACTED#REDACTED"),
        ("wss://h/p#", "wss://h/p#"),
        ("ws://127.0.0.1:8765&key=SECRET", "ws://127.0.0.1:<invalid port>"),
        ("ws://u:SECRET@[::1]:x/p", "ws://[::1]:<invalid port>/p"),
        ("ws://[::1&key=SECRET", "ws://<invalid host>"),
        (
            "wss://h/p?%6Bey=SECRET&access%5Ftoken=SECRET",
            "wss://h/p?%6Bey=REDACTED&access%5Ftoken=REDACTED",
        ),
        # some servers split a query on ';' too
        ("wss://h/p?alt=json;key=SECRET", "wss://h/p?alt=json;key=REDACTED"),
        ("wss://h/p?a=1;ACCESS_TOKEN=SECRET&b=2", "wss://h/p?a=1;ACCESS_TOKEN=REDACTED&b=2"),
        ("wss://h/p?key=SECRET;SECRET&b=2", "wss://h/p?key=REDACTED&b=2"),  # the whole value
        # `url + "?key=..."` on a URL with a query: a second '?' showed the key
        ("wss://h/p?alt=json?key=SECRET", "wss://h/p?alt=json?key=REDACTED"),
        (
            "wss://h/p?a=1&b=2?access_token=SECRET&c=3",
            "wss://h/p?a=1&b=2?access_token=REDACTED&c=3",
        ),
        ("wss://h/p?key=SECRET?alt=json&b=2", "wss://h/p?key=REDACTED&b=2"),
        # a parameter percent-encoded in another's name or value showed whole
        ("wss://h/p?key%3DSECRET&b=2", "wss://h/p?REDACTED&b=2"),
        ("wss://h/p?alt=json%26key%3DSECRET", "wss://h/p?alt=REDACTED"),
        ("wss://h/p?alt=json%253Fkey%253DSECRET", "wss://h/p?alt=REDACTED"),
        ("wss://h/ws;alt=json%3Bkey%3DSECRET;v=1", "wss://h/ws;alt=REDACTED;v=1"),
        # in a path segment's name (`url + quote("?key=...")`) it showed whole
        ("wss://h/ws%3Fkey%3DSECRET", "wss://h/REDACTED"),
        ("wss://h/a/ws%253Fkey%253DSECRET;v=1/b", "wss://h/a/REDACTED;v=1/b"),
        # in a value as written: url_endpoint sends (and showed) it as `=key%3D...`
        ("wss://h/p?=key=SECRET&b=2", "wss://h/p?=REDACTED&b=2"),
        ("wss://h/p?a=access_token=SECRET", "wss://h/p?a=REDACTED"),
        # no secret: kept as written, a bare name too
        ("wss://h/p?q=a%3Db%26c%3Fd&key", "wss://h/p?q=a%3Db%26c%3Fd&key"),
    ],
)
def test_redact_url_hides_fragments_bad_ports_and_encoded_names(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize("query", [f"alt=json;key={KEY}", f"a=1;access_token={KEY}&b=2"])
def test_url_endpoint_refuses_a_secret_after_a_semicolon(query: str) -> None:
    # parse_qsl splits on '&' only: the key would go to the server inside another value.
    with pytest.raises(ConfigurationError, match="after a ';'") as e:
        url_endpoint(f"ws://127.0.0.1:9/ws?{query}")
    assert_not_shown(e.value, KEY)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"ws://127.0.0.1:9/ws;key={KEY}", "in its path"),
        (f"ws://127.0.0.1:9/ws;v=1;%6Bey={KEY}/x", "in its path"),
        # Accepted, and shown whole in display_url, repr(Endpoint) and "connecting to".
        (f"ws://127.0.0.1:9/ws%3Fkey%3D{KEY}", "percent-encoded in its path"),
        (f"ws://127.0.0.1:9/a/ws%3Baccess_token%3D{KEY};v=1", "percent-encoded in its path"),
        (f"ws://{KEY}@127.0.0.1:9/ws", "user name without a password"),
        # parse_qsl would send `KEY;x=1` as the key, which the server refuses
        (f"ws://127.0.0.1:9/ws?key={KEY};x=1", "a ';' after a secret parameter"),
    ],
)
def test_url_endpoint_refuses_a_key_in_the_wrong_place(url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as e:
        url_endpoint(url)
    assert_not_shown(e.value, KEY)


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        # Accepted: no key header was sent, and the URL re-encoded as `alt=json%3Fkey%3D...`
        # showed the key in repr(Endpoint), display_url and the "connecting to" line.
        (f"alt=json?key={KEY}", "after a '?' in its query"),
        (f"alt=json&x=1?access_token={KEY}", "after a '?' in its query"),
        (f"key%3D{KEY}", "percent-encoded in a query parameter's name or value"),
        (f"alt=json%26key%3D{KEY}", "percent-encoded in a query parameter's name or value"),
        (f"apiKey%3D{KEY}", "percent-encoded in a query parameter's name or value"),
        # Sent as `=key%3D...`: no key header.
        (f"=key={KEY}", "in a query parameter's value, after its '='"),
        (f"alt=json&a=apiKey={KEY}", "in a query parameter's value, after its '='"),
        # Sent `KEY?alt=json` as the key.
        (f"key={KEY}?alt=json", "a '?' after a secret parameter"),
    ],
)
def test_url_endpoint_refuses_a_key_hidden_in_another_parameter(query: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(problem)) as e:
        url_endpoint(f"ws://127.0.0.1:9/ws?{query}")
    assert_not_shown(e.value, KEY)


def test_a_wrong_scheme_error_hides_a_fragment() -> None:
    for make in (url_endpoint, lambda u: gemini_endpoint("k", base_url=u)):
        with pytest.raises(ConfigurationError, match="must be a") as e:
            make(f"ftp://h/p#access_token={KEY}")
        assert_not_shown(e.value, KEY)


def test_endpoint_redact_replaces_each_secret() -> None:
    endpoint = vertex_endpoint(location="us", access_token=BEARER, api_key=KEY)
    text = f"bad token {BEARER}, key={KEY}; {KEY}."
    assert endpoint.redact(text) == "bad token REDACTED, key=REDACTED; REDACTED."
    # A placeholder key only where it stands alone: "key" keeps its "k".
    short = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")
    assert short.redact("API key k not valid") == "API key REDACTED not valid"
    assert Endpoint(url="ws://h/").redact("as is") == "as is"


@pytest.mark.parametrize(
    "echo",
    [
        # a close reason is cut at 123 bytes: the cut may fall inside the key
        f"API key not valid. You sent: {KEY[:8]}",
        f"API key not valid. You sent: {KEY[:-1]}",
        # percent-encoded, as written in a URL, whole or cut
        "key=" + "".join(f"%{ord(c):02X}" for c in KEY),
        "key=" + KEY[:3] + "%2d".join(KEY[3:].split("-")),
        "key=" + "".join(f"%{ord(c):02x}" for c in KEY[:12]),
        # the cut inside an escape: the encoded beginning showed whole
        "key=" + "".join(f"%{ord(c):02X}" for c in KEY[:12]) + "%2",
        "key=" + "".join(f"%{ord(c):02X}" for c in KEY[:12]) + "%",
        "key=" + KEY[:12] + "%",
    ],
)
def test_redact_hides_a_cut_or_encoded_echo_of_a_key(echo: str) -> None:
    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key=KEY)
    redacted = endpoint.redact(echo)
    assert redacted.endswith("REDACTED")
    assert KEY[:6] not in redacted


def test_redact_keeps_a_short_piece_of_a_key_and_text_around_it() -> None:
    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key=KEY)
    # 7 characters say nothing of a key; inside a text, a prefix is no echo of it.
    assert endpoint.redact(f"ends with {KEY[:7]}") == f"ends with {KEY[:7]}"
    assert endpoint.redact(f"{KEY[:20]} and on") == f"{KEY[:20]} and on"
    assert endpoint.redact(f"{KEY}{KEY} and {KEY[:9]}") == "REDACTEDREDACTED and REDACTED"


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:9/ws/x?access_token=ya29.SECRETTOKEN",
        "ws://127.0.0.1:9/ws/x?token=ya29.SECRETTOKEN",
        "ws://127.0.0.1:9/ws/x?API_KEY=ya29.SECRETTOKEN",
        "ws://127.0.0.1:9/ws/x?%61ccess_token=ya29.SECRETTOKEN",
        "ws://user:ya29.SECRETTOKEN@127.0.0.1:9/ws/x",
    ],
)
def test_a_close_reason_echoing_a_secret_left_in_the_url_is_redacted(url: str) -> None:
    # Only the `key=` moved to the header was known to `redact`: a token the URL keeps (its
    # redaction hides it) went unredacted into the close error, `Closed` and the logs.
    endpoint = url_endpoint(url)
    assert endpoint.redact("token ya29.SECRETTOKEN is not valid") == "token REDACTED is not valid"
    assert "SECRETTOKEN" not in endpoint.display_url


@pytest.mark.parametrize("value", ["no", None, 1])
def test_vertex_that_is_not_a_bool_is_refused(value: object) -> None:
    # vertex="no" chose the Vertex dialect (its truth) and was stored as "no".
    with pytest.raises(ConfigurationError, match="vertex must be a bool"):
        url_endpoint("ws://127.0.0.1:9/ws", vertex=value)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="vertex must be a bool"):
        model_resource_name("m", vertex=value)  # type: ignore[arg-type]


def test_a_token_of_2048_characters_is_redacted_whole_or_cut() -> None:
    # Access tokens may be 2,048 bytes long: one nested regex group per character raised
    # RecursionError, out of every close (Connection._closed redacts each reason).
    token = "ya29." + "A1b2-C3d4_" * 204 + "xyz"
    endpoint = url_endpoint(f"ws://127.0.0.1:9/ws?access_token={token}")
    assert endpoint.redact(f"bad token {token} here") == "bad token REDACTED here"
    assert endpoint.redact(f"Internal error. token {token[:110]}") == (
        "Internal error. token REDACTED"
    )
    assert endpoint.redact("Internal error encountered.") == "Internal error encountered."


@pytest.mark.parametrize(
    ("url", "version"),
    [
        (f"{GEMINI}.v1beta.GenerativeService.BidiGenerateContent", "v1beta"),
        (f"{GEMINI}.v1beta.GenerativeService.BidiGenerateContent", None),
        ("wss://proxy.example/live", "v1alpha"),  # the URL names no version
        ("wss://h" + VERTEX_PATH.format(v="v1beta1"), "v1beta1"),
    ],
)
def test_an_api_version_the_url_does_not_contradict_passes(url: str, version: str | None) -> None:
    check_url_version(url, version)


def test_an_api_version_the_url_contradicts_is_refused_naming_both() -> None:
    url = f"{GEMINI}.v1beta.GenerativeService.BidiGenerateContent?key={KEY}"
    with pytest.raises(ConfigurationError, match=r"'v1alpha' contradicts .*\('v1beta'\)") as info:
        check_url_version(url, "v1alpha")
    assert KEY not in str(info.value)
    with pytest.raises(ConfigurationError, match="api_version must be a str"):
        check_url_version(url, 1)  # type: ignore[arg-type]
