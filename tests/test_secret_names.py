"""Which names and values the setup's and endpoint's redaction hides (`_secret_names`).

One rule for JSON keys (a tool's config, `extra`) and URL query parameters: a name whose
words hold a credential's word, except names that only count or describe one.
"""

from __future__ import annotations

import json

import msgspec
import pytest

from trio_gemini_live import Tool, function_tool, live_setup, url_endpoint
from trio_gemini_live._secret_names import is_secret_name
from trio_gemini_live._setup_extra import merge_extra
from trio_gemini_live._setup_secrets import REDACTED, redact_json
from trio_gemini_live.emulator._routes import redact_path

MODEL = "gemini-live-2.5-flash"
SECRET = "sk-0123456789abcdef"
BASE = (
    "wss://h.example/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
)

SECRET_NAMES = [
    # Google's own: googleMaps.authConfig.apiKeyConfig, retrieval.externalApi.apiAuth.
    *("apiKeyString", "apiKey", "api_key", "x-goog-api-key", "X-Goog-Api-Key", "key", "Key"),
    *("auth", "Authorization", "Proxy-Authorization", "bearer", "bearerToken", "header"),
    *("headers", "httpHeaders", "secret", "secrets", "clientSecret", "clientSecrets"),
    *("accessToken", "accessTokens", "refresh_token", "idToken", "password", "passphrase"),
    *("pwd", "passwd", "noPassword", "Ocp-Apim-Subscription-Key", "subscriptionKey"),
    *("serviceAccountKey", "clientKey", "encryptionKey", "signingKey", "exaKey", "apiKeyValue"),
    *("keyId", "privateKeyId", "private_key", "xgoogkey", "apikey", "githubtoken", "cookie"),
    *("Set-Cookie", "credential", "credentials", "signature", "sig", "jwt"),
]

SHOWN_NAMES = [
    # Counts of tokens.
    *("maxOutputTokens", "tokenCount", "promptTokenCount", "totalTokenCount"),
    *("triggerTokens", "targetTokens", "max_output_tokens", "trigger_tokens"),
    # Keys that lock nothing, and words that only contain `key` or `token`.
    *("sortKey", "publicKey", "public_key", "primaryKey", "keyword", "keywords", "monkey"),
    *("turkey", "hockey", "Whiskey", "tokenizer"),
    # Names that say the value describes a credential, not that it is one.
    *("authorizationUrl", "tokenType", "token_type", "secretName", "credentialsFile"),
    *("cookiesEnabled", "headerText"),
    # Plain names.
    *("x-goog-user-project", "name", "url", "model", "description"),
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_a_credentials_name_is_secret(name: str) -> None:
    # `apiKeyString`, `auth`, `secrets`, `passphrase`, `Ocp-Apim-Subscription-Key`, ...
    # were shown: the old pattern knew only some names ending like a credential's.
    assert is_secret_name(name)
    assert redact_json({"config": {name: SECRET}}) == {"config": {name: REDACTED}}


@pytest.mark.parametrize("name", SHOWN_NAMES)
def test_a_name_that_only_mentions_a_credential_is_shown(name: str) -> None:
    assert not is_secret_name(name)
    assert redact_json({name: 5}) == {name: 5}


def test_googles_api_key_config_is_redacted_in_repr_and_session_updated() -> None:
    maps = Tool(google_maps={"authConfig": {"apiKeyConfig": {"apiKeyString": SECRET}}})
    api_auth = {"apiAuth": {"apiKeyConfig": {"apiKeyString": SECRET}}}
    rag = Tool(retrieval={"externalApi": {"apiSpec": "SIMPLE_SEARCH", **api_auth}})
    setup = live_setup(MODEL, tools=[maps, rag])
    assert SECRET not in repr(setup)
    assert SECRET not in json.dumps(redact_json(merge_extra(setup)))


@pytest.mark.parametrize(
    "text",
    [
        f"https://mcp.example/?key={SECRET}",
        f"https://mcp.example/sse?alt=json&access_token={SECRET}",
        f"wss://user:{SECRET}@mcp.example/",
        f"see https://mcp.example/?apiKey={SECRET} for the server",
    ],
)
def test_a_credential_in_a_url_in_a_string_is_redacted(text: str) -> None:
    # redact_json looked at names only: an MCP server URL with its key was shown whole.
    transport = {"url": text}
    tool = Tool(mcp_servers=[{"name": "m", "streamableHttpTransport": transport}])
    setup = live_setup(MODEL, tools=[tool], extra={"vendor": {"endpoint": text}})
    assert SECRET not in repr(setup)
    shown = json.dumps(redact_json(merge_extra(setup)))
    assert SECRET not in shown
    assert "mcp.example" in shown


def test_a_url_without_a_secret_is_shown_as_given() -> None:
    url = "https://mcp.example/sse?alt=json"
    assert redact_json({"url": url, "text": "plain"}) == {"url": url, "text": "plain"}


_ARGUMENT_SCHEMA = {
    "type": "OBJECT",
    "properties": {
        "key": {"type": "STRING", "description": "musical key"},
        "token": {"type": "STRING"},
        "password": {"type": "BOOLEAN"},
        "headers": {"type": "ARRAY", "items": {"type": "STRING"}},
        "nested": {"type": "OBJECT", "properties": {"secret": {"type": "STRING"}}},
    },
    "required": ["key"],
}


@pytest.mark.parametrize("field", ["parameters", "response"])
def test_a_functions_argument_named_like_a_credential_is_shown(field: str) -> None:
    # Their schemas became "REDACTED" in SessionUpdated.setup (the repr showed them).
    declaration = function_tool("lookup", "d", parameters=_ARGUMENT_SCHEMA)
    declaration = msgspec.structs.replace(declaration, **{field: _ARGUMENT_SCHEMA})
    setup = live_setup(MODEL, functions=[declaration])
    shown = redact_json(merge_extra(setup))["tools"][0]["functionDeclarations"][0]
    assert shown[field] == _ARGUMENT_SCHEMA


@pytest.mark.parametrize("field", ["parametersJsonSchema", "responseJsonSchema"])
def test_a_json_schemas_property_named_like_a_credential_is_shown(field: str) -> None:
    declaration = {"name": "f", field: {"type": "object", **_ARGUMENT_SCHEMA}}
    shown = redact_json({"tools": [{"functionDeclarations": [declaration]}]})
    assert shown["tools"][0]["functionDeclarations"][0] == declaration


def test_a_credential_elsewhere_in_a_function_declaration_stays_redacted() -> None:
    declaration = {"name": "f", "apiKey": SECRET, "parameters": {"default": {"token": SECRET}}}
    shown = json.dumps(redact_json({"tools": [{"functionDeclarations": [declaration]}]}))
    assert SECRET not in shown


def test_properties_outside_a_schema_are_names_like_any_other() -> None:
    value = {"vendor": {"properties": {"password": SECRET}}}
    assert redact_json(value) == {"vendor": {"properties": {"password": REDACTED}}}


@pytest.mark.parametrize(
    "query", ["apiKey", "x-goog-api-key", "Key", "KEY", "api_key", "access_token", "sig"]
)
def test_a_url_parameter_with_a_credentials_name_is_never_shown(query: str) -> None:
    # `?apiKey=` and `?x-goog-api-key=` were shown in display_url and repr(Endpoint).
    endpoint = url_endpoint(f"{BASE}?{query}={SECRET}")
    assert SECRET not in endpoint.display_url
    assert SECRET not in repr(endpoint)
    assert SECRET not in redact_path(f"/ws/x?{query}={SECRET}")
    assert SECRET in endpoint.secrets


@pytest.mark.parametrize("query", ["Key", "KEY", "apiKey"])
def test_only_key_as_written_moves_to_the_api_key_header(query: str) -> None:
    # Google reads `key` case-sensitively: another spelling stays in the URL as given.
    endpoint = url_endpoint(f"{BASE}?{query}={SECRET}")
    assert endpoint.headers == ()
    assert endpoint.url == f"{BASE}?{query}={SECRET}"


def test_a_secret_parameter_after_a_semicolon_is_refused_whatever_its_name() -> None:
    from trio_gemini_live import ConfigurationError

    with pytest.raises(ConfigurationError, match="after a ';'") as caught:
        url_endpoint(f"{BASE}?alt=json;apiKey={SECRET}")
    assert SECRET not in str(caught.value)
