"""The seed facade `GeminiRealtimeClient` against the scripted in-memory server."""

from __future__ import annotations

import array
import base64
import contextlib
import gc
import hashlib
import inspect
import logging
import math
import re
import types
import typing
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, cast

import anyio
import pydantic
import pytest
import trio
import trio.testing
import trio_websocket

from fake_server import FakeServer, WrappedStream, accept_setup, audio_part, pretty
from trio_gemini_live import GeminiRealtimeClient, ReconnectPolicy, SessionOptions
from trio_gemini_live._client import Role
from trio_gemini_live._connection import Connection
from trio_gemini_live._errors import (
    ConfigurationError,
    ConnectionClosedError,
    InternalServerError,
    InvalidArgumentError,
    LocalProtocolError,
    ReconnectFailedError,
    SetupTimeoutError,
    TransportError,
)
from trio_gemini_live._events import (
    AudioDelta,
    Closed,
    FunctionCall,
    FunctionCallOutput,
    InputAudioBufferDelta,
    Interrupted,
    RealtimeEvent,
    Reconnected,
    SessionCreated,
    SessionUpdated,
    SpeechStarted,
    TextDelta,
    ToolCallCancellation,
    TurnComplete,
)
from trio_gemini_live._session import LiveSession
from trio_gemini_live._wire import (
    Content,
    FunctionCallPart,
    FunctionResponse,
    Part,
    ServerContent,
    ServerMessage,
    Setup,
)
from trio_gemini_live.emulator import (
    Emulator,
    EmulatorConfig,
    Fault,
    Scenario,
    ScenarioToolCall,
    ScenarioTurn,
    open_emulator,
)
from turns import until_event

MODEL = "gemini-live-2.5-flash-preview"
WS_URL = (
    "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
)
Script = Callable[[trio_websocket.WebSocketConnection], Awaitable[None]]
NATIVE_AUDIO = "gemini-2.5-flash-native-audio-preview-12-2025"


# Every async test takes `autojump_clock` (pytest-trio reads the clock from the test's own
# arguments): timeouts and close handshakes cost no real time.
Clock = trio.testing.MockClock


def make_client(
    nursery: trio.Nursery, script: Script, **entry: Any
) -> tuple[GeminiRealtimeClient, FakeServer]:
    server = FakeServer(nursery, script)
    config: dict[str, Any] = {
        "model": MODEL,
        "api_key": "secret-key-123",
        "api_type": "google",
        "base_url": WS_URL,
        "connector": server.connector,
    }
    config.update(entry)
    return GeminiRealtimeClient(llm_config={"config_list": [config]}), server


def make_closing_client(
    nursery: trio.Nursery, *, reads: int = 0, **entry: Any
) -> tuple[GeminiRealtimeClient, FakeServer]:
    """`make_client` with a server that accepts the setup, reads `reads` messages, and closes."""

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        for _ in range(reads):
            await server.receive_json(ws)
        await ws.aclose()

    client, server = make_client(nursery, script, **entry)
    return client, server


async def serve_until_closed(ws: trio_websocket.WebSocketConnection) -> None:
    """Keep the server side open until the client leaves (reads and drops frames)."""
    while True:
        await ws.get_message()


async def collect(client: GeminiRealtimeClient) -> list[RealtimeEvent]:
    return [event async for event in client.read_events()]


# --- the seed API surface --------------------------------------------------------------------

SEED_METHODS: dict[str, list[tuple[str, inspect._ParameterKind, Any]]] = {
    "add_event": [("event", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty)],
    "connect": [],
    "get_event": [],
    "queue_input_audio_buffer_delta": [
        ("audio", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty)
    ],
    "read_events": [],
    "send_audio": [("audio", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty)],
    "send_function_result": [
        ("call_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("result", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
    ],
    "send_text": [
        ("role", inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.empty),
        ("text", inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.empty),
        ("turn_complete", inspect.Parameter.KEYWORD_ONLY, True),
    ],
    "session_update": [
        ("session_options", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty)
    ],
    "truncate_audio": [
        ("audio_end_ms", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("content_index", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("item_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
    ],
}
COROUTINES = {
    "add_event",
    "get_event",
    "queue_input_audio_buffer_delta",
    "send_audio",
    "send_function_result",
    "send_text",
    "session_update",
    "truncate_audio",
}


def params(function: Any, skip_self: bool = True) -> list[tuple[str, Any, Any]]:
    found = list(inspect.signature(function).parameters.values())
    if skip_self:
        assert found[0].name == "self"
        found = found[1:]
    return [(p.name, p.kind, p.default) for p in found]


@pytest.mark.parametrize("name", sorted(SEED_METHODS))
def test_seed_method_signature_and_kind(name: str) -> None:
    member = getattr(GeminiRealtimeClient, name)
    assert params(member) == SEED_METHODS[name]
    if name in COROUTINES:
        assert inspect.iscoroutinefunction(member)
    elif name == "read_events":
        assert inspect.isasyncgenfunction(member)
    else:  # connect: an async context manager, as with the seed's @asynccontextmanager
        assert inspect.isasyncgenfunction(member.__wrapped__)


def test_seed_constructor_factory_properties_and_types() -> None:
    init = inspect.signature(GeminiRealtimeClient.__init__).parameters
    assert [(p.name, p.kind, p.default) for p in list(init.values())[1:]] == [
        ("llm_config", inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.empty),
        ("logger", inspect.Parameter.KEYWORD_ONLY, None),
    ]
    assert isinstance(inspect.getattr_static(GeminiRealtimeClient, "get_factory"), classmethod)
    assert params(GeminiRealtimeClient.get_factory, skip_self=False) == [
        ("llm_config", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("logger", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("kwargs", inspect.Parameter.VAR_KEYWORD, inspect.Parameter.empty),
    ]
    for name in ("connection", "logger"):
        assert isinstance(inspect.getattr_static(GeminiRealtimeClient, name), property)

    hints = typing.get_type_hints(GeminiRealtimeClient.__init__)
    assert dict[str, Any] in typing.get_args(hints["llm_config"])
    assert hints["logger"] == logging.Logger | None
    text_hints = typing.get_type_hints(GeminiRealtimeClient.send_text)
    assert text_hints["role"] == Role
    assert typing.get_args(Role) == ("user", "assistant", "system")
    assert text_hints["text"] is str
    assert text_hints["turn_complete"] is bool
    assert str in typing.get_args(typing.get_type_hints(GeminiRealtimeClient.send_audio)["audio"])
    result_hints = typing.get_type_hints(GeminiRealtimeClient.send_function_result)
    assert result_hints["call_id"] is str
    assert result_hints["result"] is str
    assert typing.get_type_hints(GeminiRealtimeClient.get_event)["return"] == RealtimeEvent | None
    assert typing.get_type_hints(GeminiRealtimeClient.truncate_audio) == {
        "audio_end_ms": int,
        "content_index": int,
        "item_id": str,
        "return": types.NoneType,
    }


def test_get_factory_only_for_google_and_no_kwargs() -> None:
    logger = logging.getLogger("test.factory")
    google = {"config_list": [{"model": MODEL, "api_key": "k", "api_type": "google"}]}
    factory = GeminiRealtimeClient.get_factory(google, logger)
    assert factory is not None
    client = factory()
    assert isinstance(client, GeminiRealtimeClient)
    assert client.logger is logger
    assert GeminiRealtimeClient.get_factory(google, logger, extra=1) is None
    openai = {"config_list": [{"model": "gpt-4o-realtime", "api_key": "k", "api_type": "openai"}]}
    assert GeminiRealtimeClient.get_factory(openai, logger) is None
    assert GeminiRealtimeClient.get_factory({"config_list": []}, logger) is None


def test_logger_connection_and_repr_never_show_the_key() -> None:
    client = GeminiRealtimeClient(
        llm_config={"config_list": [{"model": MODEL, "api_key": "secret-key-123"}]}
    )
    assert client.logger.name == "trio_gemini_live.client"
    with pytest.raises(RuntimeError, match=r"connect\(\) first"):
        _ = client.connection
    with_key_in_url = GeminiRealtimeClient(
        llm_config={"config_list": [{"model": MODEL, "base_url": WS_URL + "?key=secret-key-123"}]}
    )
    for shown in (repr(client), repr(with_key_in_url)):
        assert "secret-key-123" not in shown
        assert MODEL in shown


@pytest.mark.parametrize(
    "llm_config",
    [
        {"config_list": []},
        {"config_list": [{"api_key": "k"}]},
        {"config_list": [{"model": MODEL, "base_url": "ftp://example.com"}]},
        {"config_list": [{"model": MODEL, "text_input": "telepathy"}]},
        {"config_list": [{"model": MODEL, "input_sample_rate": 0}]},
    ],
)
def test_bad_config_is_a_configuration_error(llm_config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        GeminiRealtimeClient(llm_config=llm_config)


def test_a_base_url_key_other_than_api_key_is_refused_without_showing_either() -> None:
    entry = {"model": MODEL, "api_key": "key-one-0123", "base_url": WS_URL + "?key=key-two-4567"}
    with pytest.raises(ConfigurationError, match="two different API keys") as info:
        GeminiRealtimeClient(llm_config={"config_list": [entry]})
    assert "key-one-0123" not in str(info.value)
    assert "key-two-4567" not in str(info.value)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"base_url": "http://"}, r"base_url must be a http:// or https://"),
        ({"base_url": "https://h:99999/"}, r"base_url is not a valid URL \(the port"),
        ({"api_version": "v9"}, r"api_version must be one of .* got 'v9'"),
        ({"api_key": "AIza-secret-key\n"}, r"api_key contains a control .* not shown"),
    ],
)
def test_a_bad_gemini_api_setting_is_refused_at_construction(
    extra: dict[str, str], match: str
) -> None:
    # Taken before, and refused only at connect(), though the docstring said construction.
    entry = {"model": MODEL, "api_key": "AIza-other-key", **extra}
    with pytest.raises(ConfigurationError, match=match) as info:
        GeminiRealtimeClient(llm_config={"config_list": [entry]})
    assert "secret-key" not in str(info.value)
    assert "other-key" not in str(info.value)


@pytest.mark.parametrize("version", ["v1beta", None])
def test_an_api_version_agreeing_with_a_ws_base_url_or_none_is_taken(
    version: str | None,
) -> None:
    entry = {"model": MODEL, "api_key": "k", "base_url": WS_URL, "api_version": version}
    GeminiRealtimeClient(llm_config={"config_list": [entry]})


def test_an_api_version_contradicting_a_ws_base_url_is_refused() -> None:
    # Ignored in silence: the URL's v1beta was used, whatever api_version said.
    entry = {"model": MODEL, "api_key": "k", "base_url": WS_URL, "api_version": "v1alpha"}
    with pytest.raises(ConfigurationError, match=r"api_version 'v1alpha' contradicts .*'v1beta'"):
        GeminiRealtimeClient(llm_config={"config_list": [entry]})


@pytest.mark.parametrize("rate", [999, 10**12])
def test_an_absurd_input_sample_rate_is_refused_with_the_range(rate: int) -> None:
    # Before: accepted here, and every send_audio failed (or the server was asked to
    # resample from 10**12 Hz).
    with pytest.raises(ConfigurationError, match=rf"1000 to 384000 Hz, not {rate}"):
        GeminiRealtimeClient(
            llm_config={"config_list": [{"model": MODEL, "input_sample_rate": rate}]}
        )


# --- configuration and endpoints -------------------------------------------------------------


class SecretLike:
    """Stands in for pydantic's SecretStr (what AG2's config entries hold)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value


class EntryLike:
    """Stands in for an AG2 config entry: `.get` unwraps nothing, the value is a secret."""

    def __init__(self, **values: Any) -> None:
        self._values = values

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)


class ConfigObject:
    """An object with a `config_list` attribute, like AG2's LLMConfig."""

    def __init__(self, entry: Any) -> None:
        self.config_list = [entry]


@pytest.mark.parametrize(
    ("base_url", "expected_path"),
    [
        # a full ws URL is used as given; a key in it moves to the header
        (WS_URL + "?key=secret-key-123", "/ws/google.ai.generativelanguage.v1beta."),
        ("ws://127.0.0.1:9/custom/path", "/custom/path"),
        # an http(s) base gets the standard path appended (as google-genai does)
        ("http://127.0.0.1:9", "/ws/google.ai.generativelanguage.v1beta.GenerativeService."),
        (
            "https://127.0.0.1:9/",
            "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
        ),
    ],
)
@pytest.mark.parametrize("shape", ["dict", "object"])
async def test_config_shapes_and_base_url(
    nursery: trio.Nursery, base_url: str, expected_path: str, shape: str, autojump_clock: Clock
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        await ws.aclose()

    server = FakeServer(nursery, script)
    values = {
        "model": MODEL,
        "api_key": SecretLike("secret-key-123") if shape == "object" else "secret-key-123",
        "api_type": "google",
        # AG2's entries hold base_url as a pydantic URL, which adds a "/" to a bare host
        "base_url": pydantic.AnyUrl(base_url) if shape == "object" else base_url,
        "connector": server.connector,
    }
    llm_config: Any = (
        ConfigObject(EntryLike(**values)) if shape == "object" else {"config_list": [values]}
    )
    client = GeminiRealtimeClient(llm_config=llm_config)
    with trio.fail_after(5):
        async with client.connect():
            events = await collect(client)
    assert isinstance(events[0], SessionCreated)
    request = server.requests[0]
    assert request.path.startswith(expected_path)
    assert "secret-key-123" not in request.path
    assert (b"x-goog-api-key", b"secret-key-123") in request.headers
    assert server.received[0]["setup"]["model"] == f"models/{MODEL}"


# --- the seed's call order and setup merging -------------------------------------------------

WEATHER_TOOL = {  # AG2's Tool.realtime_tool_schema shape
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
WEATHER_DECLARATION = {  # as sent: JSON Schema type names as the proto's enum names
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}},
        "required": ["city"],
    },
}


async def test_original_call_order_sends_one_merged_setup(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        await ws.send_message(pretty({"serverContent": {"modelTurn": {"parts": [{"text": "Hi"}]}}}))
        await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
        await ws.aclose()

    client, server = make_client(nursery, script, voice="Kore", temperature=0.5)
    with trio.fail_after(5):
        async with client.connect():
            # RealtimeAgent.run(): instructions, then each observer's initialize_session()
            await client.session_update({"instructions": "You are terse."})
            await client.session_update({"tools": [WEATHER_TOOL], "tool_choice": "auto"})
            await client.session_update({"input_audio_format": "pcm16"})
            await client.session_update(
                {
                    "turn_detection": {"type": "server_vad", "silence_duration_ms": 300},
                    "input_audio_transcription": {"model": "whisper-1"},
                    "outputAudioTranscription": {},
                    "context_window_compression": {"sliding_window": {"target_tokens": 1000}},
                }
            )
            assert server.received == []  # nothing is sent before reading starts
            events = await collect(client)
    assert len(server.received) == 1
    assert server.received[0] == {
        "setup": {
            "model": f"models/{MODEL}",
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}},
                "temperature": 0.5,
            },
            "systemInstruction": {"parts": [{"text": "You are terse."}], "role": "user"},
            "tools": [{"functionDeclarations": [WEATHER_DECLARATION]}],
            "realtimeInputConfig": {"automaticActivityDetection": {"silenceDurationMs": 300}},
            "sessionResumption": {},
            "contextWindowCompression": {"slidingWindow": {"targetTokens": 1000}},
            "inputAudioTranscription": {},
            "outputAudioTranscription": {},
        }
    }
    kinds = [type(event) for event in events]
    assert kinds == [SessionCreated, SessionUpdated, TextDelta, TurnComplete, Closed]


async def test_session_options_vocabulary_maps_to_setup_fields(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    client, server = make_closing_client(nursery)
    await client.session_update(  # before connect() too: recorded, like the original
        {
            "modalities": ["text", "audio"],
            "turn_detection": None,
            "max_response_output_tokens": 256,
            "tools": [
                {"type": "function", "function": {"name": "ping", "parameters": {}}},
                {"google_search": {}},
            ],
            "realtimeInputConfig": {"activity_handling": "NO_INTERRUPTION"},
            "session_resumption": {"transparent": None},  # None removes the key it names
        }
    )
    with trio.fail_after(5):
        async with client.connect():
            await collect(client)
    setup = server.received[0]["setup"]
    assert setup["generationConfig"] == {"responseModalities": ["AUDIO"], "maxOutputTokens": 256}
    assert setup["outputAudioTranscription"] == {}  # OpenAI's text+audio = audio + transcript
    assert setup["realtimeInputConfig"] == {
        "automaticActivityDetection": {"disabled": True},
        "activityHandling": "NO_INTERRUPTION",
    }
    # a function without arguments has no `parameters` (Gemini rejects an empty OBJECT)
    assert setup["tools"] == [{"googleSearch": {}}, {"functionDeclarations": [{"name": "ping"}]}]
    assert setup["sessionResumption"] == {}  # on: the client needs it (it cannot be off)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"bogus_option": 1}, "bogus_option"),
        ({"realtime_input_config": {"no_such_field": 1}}, "no_such_field"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": 3}, r"temperature must be between 0\.0 and 2\.0, not 3\.0"),
        # These raised bare ValueError / TypeError / OverflowError, or were taken and
        # failed a later call
        ({"temperature": math.nan}, r"'temperature' must be finite, not nan"),
        ({"temperature": 10**400}, r"'temperature' must be finite, not an int too large"),
        (
            {"turn_detection": {"silence_duration_ms": "abc"}},
            r"silence_duration_ms must be a number of milliseconds, not 'abc'",
        ),
        ({"turn_detection": {"prefix_padding_ms": [1]}}, r"prefix_padding_ms must be a number"),
        ({"turn_detection": {"silence_duration_ms": math.nan}}, r"number of milliseconds.*nan"),
        ({"turn_detection": {"silence_duration_ms": math.inf}}, r"number of milliseconds.*inf"),
        ({"turn_detection": {"silence_duration_ms": 10**12}}, r"from 0 to 2147483647 ms"),
        ({"turn_detection": {"silence_duration_ms": 10**400}}, r"not a larger number"),
        ({"generation_config": {"top_p": 2}}, r"topP must be between 0\.0 and 1\.0"),
        (
            {"tools": [{"type": "function", "name": "my tool", "parameters": {}}]},
            r"function name 'my tool' is refused",
        ),
        (  # named by its keys: the whole dict was shown, credential and all
            {"tools": [{"type": "function", "headers": {"Authorization": "Bearer sk-SECRET"}}]},
            r"^a function tool needs a 'name' \(a str\); this one has 'type', 'headers'$",
        ),
        ({"modalities": ["video"]}, "modalities"),
        # Taken, then refused by the server (1007), or read wrongly ("no" by its truth).
        ({"voice": ""}, r"'voice' must be a voice name \(None for none\), not ''"),
        ({"turn_detection": {"interrupt_response": "no"}}, r"interrupt_response must be a bool"),
        ({"input_audio_transcription": {"language": 5}}, r"'language' must be a language code"),
        # The setup went out for another model than the one the client names (and opens).
        ({"model": "gemini-2.0-flash-live-001"}, r"the model cannot change"),
        ({"model": None}, r"the model cannot change"),
        # Tool schema values the server refuses (1007), named by their path.
        (
            {"tools": [{"name": "f", "parameters": {"properties": {"a": {"type": "strin"}}}}]},
            r"'f' parameters\.properties\.a\.type must be a Schema type",
        ),
        (
            {"tools": [{"name": "f", "parameters": {"properties": {"a": {"enum": [1, 2]}}}}]},
            r"properties\.a\.enum\[0\] must be a str, not 1",
        ),
        (
            {"tools": [{"name": "f", "parameters": {"properties": {"a": {"minLength": "x"}}}}]},
            r"properties\.a\.minLength must be an int64",
        ),
        (
            {"tools": [{"name": "f", "parameters": {"properties": {"a": 5}}}]},
            r"properties\.a must be a Schema \(a dict\), not 5",
        ),
        (
            {"tools": [{"name": "f", "parameters": {"properties": {"a": {"items": [{}]}}}}]},
            r"properties\.a\.items must be a Schema \(a dict\), not \[\{\}\]",
        ),
        (  # a Live declaration, sent as given: refused by session_update, not at the setup
            {
                "tools": [
                    {
                        "functionDeclarations": [
                            {"name": "f", "parameters": {"properties": {"a": {"type": "X"}}}}
                        ]
                    }
                ]
            },
            r"functionDeclarations\[0\]\.parameters\.properties\.a\.type must be",
        ),
        (  # sent under `disabled: true` before, where it could not take effect
            {
                "turn_detection": None,
                "realtime_input_config": {
                    "automatic_activity_detection": {"silence_duration_ms": 9}
                },
            },
            r"automaticActivityDetection is disabled, so silenceDurationMs cannot take effect",
        ),
    ],
)
async def test_bad_session_options_raise_configuration_error(
    options: dict[str, Any], match: str, autojump_clock: Clock
) -> None:
    client = GeminiRealtimeClient(llm_config={"config_list": [{"model": MODEL, "api_key": "k"}]})
    with pytest.raises(ConfigurationError, match=match):
        await client.session_update(options)


async def test_a_model_option_naming_the_config_model_changes_nothing(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    client, server = make_closing_client(nursery)
    await client.session_update({"model": f"models/{MODEL}"})
    with trio.fail_after(5):
        async with client.connect():
            await collect(client)
            with pytest.raises(ConfigurationError, match="the model cannot change"):
                await client.session_update({"model": "gemini-2.0-flash-live-001"})
    assert server.received[0]["setup"]["model"] == f"models/{MODEL}"
    assert f"model={MODEL!r}" in repr(client)


async def test_send_before_reading_sends_setup_first_and_drops_nothing(
    nursery: trio.Nursery,
    autojump_clock: Clock,
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        for _ in range(3):
            await server.receive_json(ws)
        await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
        await ws.aclose()

    client, server = make_client(nursery, script, echo_input_audio=False)
    with trio.fail_after(5):
        async with client.connect():
            await client.session_update({"instructions": "Be brief."})
            await client.send_text(role="user", text="one")
            await client.send_audio(b"\x01\x00\x02\x00")
            await client.send_text(role="user", text="two", turn_complete=False)
            events = await collect(client)
    assert [next(iter(message)) for message in server.received] == [
        "setup",
        "clientContent",
        "realtimeInput",
        "clientContent",
    ]
    assert server.received[0]["setup"]["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert server.received[1]["clientContent"] == {
        "turns": [{"parts": [{"text": "one"}], "role": "user"}],
        "turnComplete": True,
    }
    # False is the default: left out, as proto3 JSON writes it (protocol.md 1.6.3)
    assert "turnComplete" not in server.received[3]["clientContent"]
    assert isinstance(events[-1], Closed)


async def test_session_update_after_setup_is_a_context_update(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    got_update = trio.Event()

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        await server.receive_json(ws)
        got_update.set()
        await serve_until_closed(ws)

    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            await client.session_update({"instructions": "v1"})
            assert isinstance(await client.get_event(), SessionCreated)  # setup sent
            assert isinstance(await client.get_event(), SessionUpdated)
            await client.session_update({"instructions": "v2", "tools": [WEATHER_TOOL]})
            await got_update.wait()
            updated = await client.get_event()
            # unchanged options are fine and send nothing
            await client.session_update({"instructions": "v2", "input_audio_format": "pcm16"})
    assert server.received[1] == {
        "contextUpdate": {
            "systemInstruction": {"parts": [{"text": "v2"}], "role": "user"},
            "tools": {"tools": [{"functionDeclarations": [WEATHER_DECLARATION]}]},
        }
    }
    assert len(server.received) == 2
    assert isinstance(updated, SessionUpdated)
    assert updated.setup["systemInstruction"]["parts"] == [{"text": "v2"}]


async def until_reconfigured(client: GeminiRealtimeClient) -> list[RealtimeEvent]:
    """The events up to the `SessionUpdated` that follows a `Reconnected`."""
    seen: list[RealtimeEvent] = []
    async for event in client.read_events():
        seen.append(event)
        if isinstance(event, SessionUpdated) and any(isinstance(e, Reconnected) for e in seen):
            return seen
    raise AssertionError(f"the session ended before a reconfigure: {seen[-3:]}")


async def test_changing_fixed_setup_after_start_resumes_with_it(
    autojump_clock: Clock,
) -> None:
    async with connected_on_emulator(model=NATIVE_AUDIO) as (emulator, client):
        await client.send_text(role="user", text="hi")
        await client.session_update({"voice": "Puck", "temperature": 0.1})
        seen = await until_reconfigured(client)
        with pytest.raises(ConfigurationError, match="model"):
            await client.session_update({"model": "models/other"})
    reconnected = next(e for e in seen if isinstance(e, Reconnected))
    assert reconnected.reason == "reconfigure"
    second = emulator.connections[1].received[0].data["setup"]
    voice = second["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice["voiceName"] == "Puck"
    assert second["generationConfig"]["temperature"] == 0.1
    assert second["sessionResumption"]["handle"]


async def test_a_change_the_setup_sent_leaves_out_moves_nothing(autojump_clock: Clock) -> None:
    """A voice while responses are text: the setup sent is the same, without a voice.

    The session moved to a new connection all the same, and the move replayed the turn
    just answered, which the model answered twice.
    """
    async with connected_on_emulator() as (emulator, client):
        await client.session_update({"modalities": ["text"]})  # merged into the setup
        await client.send_text(role="user", text="hello")
        async for event in client.read_events():
            if isinstance(event, TurnComplete):
                break
        await client.session_update({"voice": "Puck"})
        # With a change a `contextUpdate` carries, only that is sent: no move either.
        await client.session_update({"voice": "Kore", "instructions": "Be brief."})
        await client.send_text(role="user", text="again")
        seen: list[RealtimeEvent] = []
        async for event in client.read_events():
            seen.append(event)
            if isinstance(event, TurnComplete):
                break
        await client.session_update({"modalities": ["audio"]})  # now the voice goes
        await until_reconfigured(client)
    assert not any(isinstance(event, Reconnected) for event in seen)
    assert len(emulator.connections) == 2
    first = [frame.data for frame in emulator.connections[0].received if frame.data]
    assert [next(iter(data)) for data in first].count("contextUpdate") == 1
    second = emulator.connections[1].received[0].data["setup"]
    voice = second["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice["voiceName"] == "Kore"
    assert second["systemInstruction"]["parts"] == [{"text": "Be brief."}]


async def test_clearing_the_instructions_resumes_without_one(autojump_clock: Clock) -> None:
    """No `contextUpdate` clears the instruction: the setup is applied on a new connection.

    It went out as an instruction whose one part is an empty text, a part with no data,
    which the server refuses with 1007.
    """
    async with connected_on_emulator() as (emulator, client):
        await client.session_update({"instructions": "Be brief."})  # merged into the setup
        await client.send_text(role="user", text="hello")
        async for event in client.read_events():
            if isinstance(event, TurnComplete):
                break
        await client.session_update({"instructions": ""})
        await until_reconfigured(client)
    assert emulator.connections[0].received[0].data["setup"]["systemInstruction"]
    first = [frame.data for frame in emulator.connections[0].received if frame.data]
    assert [next(iter(data)) for data in first].count("contextUpdate") == 0
    second = emulator.connections[1].received[0].data["setup"]
    assert "systemInstruction" not in second
    assert second["sessionResumption"]["handle"]


async def test_a_session_update_that_turns_resumption_off_is_refused(autojump_clock: Clock) -> None:
    """Session resumption cannot be turned off mid-session: said, not ignored.

    The new setup was taken and its `sessionResumption` put back in silence (the move, and
    every later one, resumes the session). The draft keeps it, so other updates still move.
    """
    async with connected_on_emulator() as (emulator, client):
        await client.send_text(role="user", text="hello")  # the setup goes
        async for event in client.read_events():
            if isinstance(event, TurnComplete):
                break
        with pytest.raises(ConfigurationError, match="cannot turn session resumption off"):
            await client.session_update({"session_resumption": None, "voice": "Puck"})
        await client.session_update({"voice": "Puck"})
        await until_reconfigured(client)
    second = emulator.connections[1].received[0].data["setup"]
    assert second["sessionResumption"]["handle"]


@pytest.mark.parametrize("key", ["session_resumption", "sessionResumption"])
async def test_resumption_cannot_be_turned_off_before_the_setup_either(
    key: str, autojump_clock: Clock
) -> None:
    """Taken before the setup went: the setup went without resumption, and every later
    setup change raised "changing the setup needs session resumption"."""
    async with connected_on_emulator() as (emulator, client):
        with pytest.raises(ConfigurationError, match="cannot turn session resumption off"):
            await client.session_update({key: None, "instructions": "Be brief."})
        await client.send_text(role="user", text="hello")  # the setup goes
        await client.session_update({"voice": "Puck"})
        await until_reconfigured(client)
    first, second = (c.received[0].data["setup"] for c in emulator.connections)
    assert "sessionResumption" in first
    assert "systemInstruction" not in first  # nothing of the refused update was applied
    assert second["sessionResumption"]["handle"]


async def test_leaving_connect_with_the_event_channel_full_takes_no_wait(
    autojump_clock: Clock,
) -> None:
    """256 unread events: the pump waited for room nobody would make, the whole bound."""
    async with open_emulator() as emulator:
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator, model=NATIVE_AUDIO))
        async with client.connect():
            await client.send_text(role="user", text="tell me something long " * 20)
            await emulator.connections[0].wait_for_sent("serverContent.turnComplete")
            await trio.testing.wait_all_tasks_blocked()
            assert len(client._events) >= 256  # pyright: ignore[reportPrivateUsage]
            left = trio.current_time()
        assert trio.current_time() - left < 0.5


async def test_concurrent_session_updates_are_all_kept(autojump_clock: Clock) -> None:
    """An update made while another waits (a resume) neither loses it nor is lost.

    Both used to start from the same draft: whichever stored its draft last erased the
    other's change, and the next resume sent the setup without it.
    """
    async with connected_on_emulator(model=NATIVE_AUDIO) as (emulator, client):
        await client.send_text(role="user", text="hi")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.session_update, {"voice": "Puck"})
            nursery.start_soon(client.session_update, {"instructions": "Be brief."})
            await until_reconfigured(client)
        await client.session_update({"temperature": 0.5})  # resumes with the draft
        await until_reconfigured(client)
    last = emulator.connections[-1].received[0].data["setup"]
    assert last["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    voice = last["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice["voiceName"] == "Puck"
    assert last["generationConfig"]["temperature"] == 0.5


async def test_a_session_update_cancelled_once_its_context_update_is_queued_stands(
    nursery: trio.Nursery, autojump_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel after the `contextUpdate` was queued hit the checkpoint of putting the
    `SessionUpdated` event: the caller saw Cancelled, though the draft and the server had
    the change, and the event was lost."""
    scope = trio.CancelScope()
    update_context = LiveSession.update_context

    async def update_then_cancel(self: LiveSession, **changes: Any) -> None:
        await update_context(self, **changes)
        scope.cancel()

    monkeypatch.setattr(LiveSession, "update_context", update_then_cancel)

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        await serve_until_closed(ws)

    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            await client.send_text(role="user", text="hi")  # the setup goes
            with scope:
                await client.session_update({"instructions": "Be brief."})
            await client.add_event(None)
            events = await collect(client)
    assert not scope.cancelled_caught
    updated = events[-1]
    assert isinstance(updated, SessionUpdated)
    assert updated.setup["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert client._draft["systemInstruction"]["parts"] == [{"text": "Be brief."}]  # pyright: ignore[reportPrivateUsage]


def _setup_fields(setup: dict[str, Any]) -> tuple[str, str, float | None]:
    """A setup's instruction, voice and temperature."""
    generation = setup["generationConfig"]
    voice = generation["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"]
    return setup["systemInstruction"]["parts"][0]["text"], voice, generation.get("temperature")


async def until_reconnected(client: GeminiRealtimeClient) -> Reconnected:
    async for event in client.read_events():
        if isinstance(event, Reconnected):
            return event
    raise AssertionError("the session ended before a move")


async def test_instructions_changed_after_a_voice_change_survive_its_move(
    autojump_clock: Clock,
) -> None:
    """`session_update` of the voice, then of the instructions: the move keeps both.

    The instructions went out as a `contextUpdate`, but the move then applied the setup
    asked for with the voice, with the old instructions: the move's `SessionUpdated`
    showed them, and so did the setup of every later resume (the server forgot the
    new instructions at the next `goAway`).
    """
    async with connected_on_emulator(model=NATIVE_AUDIO) as (emulator, client):
        await client.session_update({"instructions": "Be brief.", "voice": "Kore"})
        await client.send_text(role="user", text="hi")
        await client.session_update({"voice": "Puck"})
        await client.session_update({"instructions": "Speak French."})
        seen = await until_reconfigured(client)
        moved = seen[-1]
        assert isinstance(moved, SessionUpdated)
        assert _setup_fields(moved.setup)[:2] == ("Speak French.", "Puck")
        await (await emulator.wait_for_connection(2)).go_away(5)
        assert (await until_reconnected(client)).reason == "goAway"
    setups = [_setup_fields(c.received[0].data["setup"]) for c in emulator.connections]
    assert [fields[:2] for fields in setups] == [
        ("Be brief.", "Kore"),
        ("Speak French.", "Puck"),
        ("Speak French.", "Puck"),
    ]


async def _have_a_voice_refused(client: GeminiRealtimeClient, **more: str) -> None:
    """Set an instruction, take a turn, then ask for a voice (and `more`) the server refuses."""
    await client.session_update({"instructions": "Be brief."})
    await client.send_text(role="user", text="hi")
    await client.session_update({"voice": "NoSuchVoice", **more})
    refused = await until_reconnected(client)
    assert refused.setup_refused is not None


async def test_system_text_after_a_refused_change_builds_on_the_instruction_in_force(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """`send_text(role="system")` read the instruction from the draft before the draft
    dropped a refused change: the refused instruction went out in its `contextUpdate`."""
    async with connected_on_emulator(model=NATIVE_AUDIO, voice="Kore") as (emulator, client):
        await _have_a_voice_refused(client, instructions="Refused words.")
        await client.send_text(role="system", text="Extra.")
        connection = await emulator.wait_for_connection(len(emulator.connections))
        [frame] = await connection.wait_for_received("contextUpdate")
    sent = frame.data["contextUpdate"]["systemInstruction"]["parts"][0]["text"]
    assert sent == "Be brief.\n\nExtra."


async def test_a_refused_setup_change_is_not_sent_again_with_the_next_update(
    autojump_clock: Clock,
) -> None:
    """After the server refused a voice, a later update goes with the setup in force.

    The refused voice stayed in the facade's draft: every later `session_update` (a
    temperature, here) sent it again, and was refused again with it.
    """
    async with connected_on_emulator(model=NATIVE_AUDIO, voice="Kore") as (emulator, client):
        await _have_a_voice_refused(client)
        await client.session_update({"temperature": 0.5})
        applied = await until_reconnected(client)
        in_force = client.connection.setup
    assert applied.setup_changed
    assert applied.setup_refused is None
    assert in_force is not None
    assert in_force.generation_config is not None
    assert in_force.generation_config.temperature == 0.5
    last = emulator.connections[-1].received[0].data["setup"]
    assert _setup_fields(last) == ("Be brief.", "Kore", 0.5)
    assert [c.close_code for c in emulator.connections].count(1007) == 1


async def test_a_refused_setup_change_is_not_the_next_connect_s_setup(
    autojump_clock: Clock,
) -> None:
    """A change the server refused, and no update after it in the block: still dropped.

    The draft dropped it only when another update came in the same `connect()`: the next
    `connect()` sent the refused voice as its setup, which the server refused outright.
    """
    async with open_emulator() as emulator:
        client = GeminiRealtimeClient(
            llm_config=emulator_config(emulator, model=NATIVE_AUDIO, voice="Kore")
        )
        with trio.fail_after(30):
            async with client.connect():
                await _have_a_voice_refused(client)
            async with client.connect():
                await client.send_text(role="user", text="hello again")
                await until_event(client.read_events(), TurnComplete)
    last = emulator.connections[-1].received[0].data["setup"]
    assert _setup_fields(last) == ("Be brief.", "Kore", None)


async def test_a_session_update_while_the_setup_is_on_its_way_is_applied(
    nursery: trio.Nursery, autojump_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AG2's layout: one task reads (and so sends the setup), another updates the session.

    An update that changes the setup itself (a voice), made once reading had begun the
    setup but before the session had it in force, raised SessionClosedError ("the session
    is not open"). It waits for the session to open now, then moves it to the new setup.
    """
    handshake = Connection._handshake  # pyright: ignore[reportPrivateUsage]

    async def late_handshake(self: Connection, setup: Setup) -> None:
        # The connection's task writes the setup a few scheduling rounds after the reader
        # asked for it, which let the update in often, not always: made a second here.
        await trio.sleep(1)
        if self._core.closing:  # pyright: ignore[reportPrivateUsage]
            await trio.sleep_forever()  # left before the setup went: the session's end ends it
        await handshake(self, setup)

    monkeypatch.setattr(Connection, "_handshake", late_handshake)
    setups: list[dict[str, Any]] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        setups.append(await accept_setup(server, ws))
        await serve_until_closed(ws)

    client, server = make_client(nursery, script, voice="Kore")
    seen: list[RealtimeEvent] = []
    with trio.fail_after(30):
        async with client.connect():
            async with trio.open_nursery() as tasks:

                async def reader() -> None:
                    seen.extend(await until_reconfigured(client))

                tasks.start_soon(reader)
                await trio.sleep(0.5)
                assert client.connection.setup is None  # on its way
                await client.session_update({"voice": "Puck"})
                await client.session_update({"instructions": "Be brief."})
            in_force = client.connection.setup
    assert in_force is not None
    assert in_force.system_instruction is not None
    assert in_force.system_instruction.parts[0].text == "Be brief."
    voices = [s["setup"]["generationConfig"]["speechConfig"]["voiceConfig"] for s in setups]
    assert [v["prebuiltVoiceConfig"]["voiceName"] for v in voices] == ["Kore", "Puck"]
    assert any(isinstance(event, Reconnected) and event.setup_changed for event in seen)


async def test_concurrent_system_texts_are_both_in_the_instruction(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    setups: list[dict[str, Any]] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        setups.append(await accept_setup(server, ws))
        await serve_until_closed(ws)

    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            async with trio.open_nursery() as senders:
                senders.start_soon(partial(client.send_text, role="system", text="Be brief."))
                senders.start_soon(partial(client.send_text, role="system", text="Be kind."))
            assert isinstance(await client.get_event(), SessionCreated)
    parts = setups[0]["setup"]["systemInstruction"]["parts"]
    assert sorted(parts[0]["text"].split("\n\n")) == ["Be brief.", "Be kind."]


INLINE_PART = {"inlineData": {"mimeType": "text/plain", "data": "aGVsbG8="}}


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            [{"text": "Rule one."}, INLINE_PART, {"text": "Rule two."}],
            [{"text": "Rule one."}, INLINE_PART, {"text": "Rule two.\n\nRule three."}],
        ),
        (
            [{"text": "Rule one."}, INLINE_PART],
            [{"text": "Rule one."}, INLINE_PART, {"text": "Rule three."}],
        ),
    ],
)
async def test_system_text_keeps_the_instruction_s_other_parts(
    parts: list[dict[str, Any]],
    expected: list[dict[str, Any]],
    nursery: trio.Nursery,
    autojump_clock: Clock,
) -> None:
    """The instruction was rebuilt from its text alone: its inline data was dropped in
    silence, and its text parts were run together ("Rule one.Rule two.")."""
    setups: list[dict[str, Any]] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        setups.append(await accept_setup(server, ws))
        await serve_until_closed(ws)

    client, server = make_client(nursery, script)
    await client.session_update({"system_instruction": {"parts": parts, "role": "user"}})
    with trio.fail_after(5):
        async with client.connect():
            await client.send_text(role="system", text="Rule three.")
            assert isinstance(await client.get_event(), SessionCreated)
    assert setups[0]["setup"]["systemInstruction"] == {"parts": expected, "role": "user"}


async def test_the_voice_left_out_of_a_text_setup_is_said_once(
    autojump_clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # Said at every session_update, and again when the setup was sent: five times here.
    caplog.set_level(logging.INFO, logger="trio_gemini_live")
    async with open_emulator() as emulator:
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator, voice="Kore"))
        with trio.fail_after(30):
            await client.session_update({"modalities": ["text"]})
            async with client.connect():
                await client.session_update({"instructions": "Be brief."})
                async for _ in client.read_events():
                    break
                await client.session_update({"instructions": "Be terse."})
                await client.session_update({"temperature": 0.5})
    said = [r for r in caplog.records if "text responses have no voice" in r.getMessage()]
    assert len(said) == 1


async def test_text_modality_sends_no_voice_and_audio_gets_it_back(
    autojump_clock: Clock,
) -> None:
    async with open_emulator() as emulator:
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator, voice="Kore"))
        await client.session_update(
            {
                "modalities": ["text"],
                "generation_config": {"speech_config": {"language_code": "fr-FR"}},
            }
        )
        with trio.fail_after(30):
            async with client.connect():
                await client.send_text(role="user", text="hi")
                async for event in client.read_events():
                    if isinstance(event, TurnComplete):
                        break
                await client.session_update({"modalities": ["audio"]})
                await until_reconfigured(client)
    first, second = (c.received[0].data["setup"] for c in emulator.connections[:2])
    # the server refuses a voice with text answers (1007); the language is not a voice
    assert first["generationConfig"] == {
        "responseModalities": ["TEXT"],
        "speechConfig": {"languageCode": "fr-FR"},
    }
    assert second["generationConfig"] == {
        "responseModalities": ["AUDIO"],
        "speechConfig": {
            "languageCode": "fr-FR",
            "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}},
        },
    }


async def accept_setup_and_wait(ws: trio_websocket.WebSocketConnection) -> None:
    await ws.get_message()
    await ws.send_message(pretty({"setupComplete": {}}))
    await serve_until_closed(ws)


# --- sending ---------------------------------------------------------------------------------


async def test_send_text_roles(nursery: trio.Nursery, autojump_clock: Clock) -> None:
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        for _ in range(3):
            await server.receive_json(ws)
        done.set()
        await serve_until_closed(ws)

    done = trio.Event()
    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            await client.send_text(role="system", text="Speak French.")  # merged into setup
            await client.send_text(role="user", text="Hello")
            await client.send_text(role="assistant", text="Bonjour", turn_complete=False)
            await client.send_text(role="system", text="Be polite.")  # after setup
            await done.wait()
    assert server.received[0]["setup"]["systemInstruction"] == {
        "parts": [{"text": "Speak French."}],
        "role": "user",
    }
    assert server.received[1]["clientContent"]["turns"][0]["role"] == "user"
    assert server.received[2]["clientContent"] == {  # turn_complete=False: left out
        "turns": [{"parts": [{"text": "Bonjour"}], "role": "model"}],
    }
    assert server.received[3] == {
        "contextUpdate": {
            "systemInstruction": {
                "parts": [{"text": "Speak French.\n\nBe polite."}],
                "role": "user",
            }
        }
    }


@pytest.mark.parametrize("role", [["user"], {"role": "user"}, None, 1])
async def test_send_text_refuses_a_role_that_is_not_one_of_the_three(
    nursery: trio.Nursery, autojump_clock: Clock, role: Any
) -> None:
    # A list or a dict raised a bare TypeError ("unhashable type") from the role lookup.
    client, server = make_client(nursery, accept_setup_and_wait)
    with trio.fail_after(5):
        async with client.connect():
            with pytest.raises(ValueError, match=r"role must be 'user', 'assistant' or 'system'"):
                await client.send_text(role=role, text="hi")
    assert server.received == []  # nothing sent, not even the setup


async def test_send_text_as_realtime_input_when_configured(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    client, server = make_closing_client(nursery, reads=1, text_input="realtime_input")
    with trio.fail_after(5):
        async with client.connect():
            await client.send_text(role="user", text="Grüezi ☀")
            await collect(client)
    assert server.received[1] == {"realtimeInput": {"text": "Grüezi ☀"}}


async def test_realtime_text_cannot_hold_a_turn_open(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    # `turn_complete` was dropped without a check: the server answers realtimeInput.text
    # as a whole turn, so False (and "no") went out as a complete turn.
    client, server = make_closing_client(nursery, reads=1, text_input="realtime_input")
    with trio.fail_after(5):
        async with client.connect():
            with pytest.raises(LocalProtocolError, match=r"^turn_complete must be a bool"):
                await client.send_text(role="user", text="x", turn_complete=cast(Any, "no"))
            with pytest.raises(LocalProtocolError, match=r"^turn_complete=False cannot be hon"):
                await client.send_text(role="user", text="more to come", turn_complete=False)
            await client.send_text(role="user", text="whole", turn_complete=True)
            await collect(client)
    assert server.received[1:] == [{"realtimeInput": {"text": "whole"}}]


async def test_send_audio_accepts_base64_bytes_and_memoryview(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    pcm = bytes(range(200))

    client, server = make_closing_client(nursery, reads=3)
    with trio.fail_after(5):
        async with client.connect():
            await client.send_audio(base64.b64encode(pcm).decode())
            await client.send_audio(pcm)
            await client.send_audio(memoryview(bytearray(pcm)))
            with pytest.raises(LocalProtocolError, match="base64"):
                await client.send_audio("not base64!")
            events = await collect(client)
    audio = [message["realtimeInput"]["audio"] for message in server.received[1:]]
    assert len(audio) == 3
    for blob in audio:
        assert blob["mimeType"] == "audio/pcm;rate=16000"
        assert base64.b64decode(blob["data"]) == pcm
    # the seed echoed sent audio as InputAudioBufferDelta on the event channel
    echoes = [event for event in events if isinstance(event, InputAudioBufferDelta)]
    assert [base64.b64decode(event.delta) for event in echoes] == [pcm, pcm, pcm]


async def test_the_echo_of_sent_audio_is_what_went_out(
    nursery: trio.Nursery, autojump_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The echo was encoded from the caller's buffer after the send: a task that changed
    the bytearray meanwhile made the `InputAudioBufferDelta` differ from what was sent."""
    pcm = bytes(range(200))
    buffer = bytearray(pcm)
    overwritten = trio.Event()
    send_frame = LiveSession._send_frame  # pyright: ignore[reportPrivateUsage]

    async def held_send_frame(self: LiveSession, frame: bytes, kind: str, *rest: Any) -> None:
        if kind == "realtimeInput.audio":  # the frame is encoded: the send waits (for room)
            await overwritten.wait()
        await send_frame(self, frame, kind, *rest)

    async def overwrite() -> None:
        await trio.testing.wait_all_tasks_blocked()
        buffer[:] = bytes(len(buffer))
        overwritten.set()

    monkeypatch.setattr(LiveSession, "_send_frame", held_send_frame)
    client, server = make_closing_client(nursery, reads=2)
    with trio.fail_after(5):
        async with client.connect():
            await client.send_text(role="user", text="hi")  # the setup goes
            async with trio.open_nursery() as writers:
                writers.start_soon(overwrite)
                await client.send_audio(buffer)
            events = await collect(client)
    assert buffer != pcm  # overwritten within the call
    sent = server.received[-1]["realtimeInput"]["audio"]["data"]
    assert base64.b64decode(sent) == pcm
    echoes = [event.delta for event in events if isinstance(event, InputAudioBufferDelta)]
    assert echoes == [sent]


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (123, r"audio must be base64 text \(a str\) or 16-bit PCM .* not 123 \(int\)"),
        (None, r"audio must be base64 text \(a str\) or 16-bit PCM .* not None"),
        ([1, 2], r"audio must be base64 text \(a str\) or 16-bit PCM"),
        (array.array("f", [0.5, -0.5]), r"audio holds floating-point samples"),
        (b"\x00\x01\x02", r"an even number of bytes, not 3"),
    ],
)
async def test_send_audio_names_its_own_argument_and_what_it_takes(
    audio: object, match: str, nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    # "pcm must be bytes, bytearray or memoryview": the session's parameter, not this one,
    # and no word of the base64 str this one takes.
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        while True:
            await server.receive_json(ws)

    client, server = make_client(nursery, script, echo_input_audio=False)
    with trio.fail_after(5):
        async with client.connect():
            with pytest.raises(LocalProtocolError, match=match) as info:
                await client.send_audio(audio)  # type: ignore[arg-type]
            assert "pcm" not in str(info.value)
    assert server.received == []  # refused before anything, the setup included


@pytest.mark.parametrize(
    "audio", ["AB$C", "AAAA\u00e9", "AAAA\u2014", "data:audio/pcm;base64,AAAA"]
)
async def test_send_audio_refuses_a_str_that_is_not_base64(
    nursery: trio.Nursery, autojump_clock: Clock, audio: str
) -> None:
    # A non-ASCII character made base64's decoder raise a bare ValueError.
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        while True:
            await server.receive_json(ws)

    client, server = make_client(nursery, script, echo_input_audio=False)
    with trio.fail_after(5):
        async with client.connect():
            with pytest.raises(LocalProtocolError, match="not valid base64"):
                await client.send_audio(audio)
    assert server.received == []  # refused before anything, the setup included


async def test_send_audio_rate_is_configurable(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    client, server = make_closing_client(
        nursery, reads=1, input_sample_rate=24000, echo_input_audio=False
    )
    with trio.fail_after(5):
        async with client.connect():
            await client.send_audio(b"\x00\x00")
            events = await collect(client)
    assert server.received[1]["realtimeInput"]["audio"]["mimeType"] == "audio/pcm;rate=24000"
    assert not any(isinstance(event, InputAudioBufferDelta) for event in events)


async def test_function_result_has_id_name_and_object_response(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        calls = [
            {"id": "function-call-1", "name": "get_weather", "args": {"city": "Bern"}},
            {"id": "function-call-2", "name": "get_time", "args": {}},
        ]
        await ws.send_message(pretty({"toolCall": {"functionCalls": calls}}))
        await server.receive_json(ws)
        await server.receive_json(ws)
        await ws.aclose()

    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            async for event in client.read_events():
                if isinstance(event, FunctionCall) and event.name == "get_weather":
                    assert event.arguments == {"city": "Bern"}
                    await client.send_function_result(event.call_id, '{"temp": 21, "sky": "clear"}')
                elif isinstance(event, FunctionCall):
                    await client.send_function_result(event.call_id, "noon")
            with pytest.raises(LocalProtocolError, match="unknown tool call"):
                await client.send_function_result("function-call-9", "x")
    assert server.received[1] == {
        "toolResponse": {
            "functionResponses": [
                {
                    "id": "function-call-1",
                    "name": "get_weather",
                    "response": {"result": {"temp": 21, "sky": "clear"}},
                }
            ]
        }
    }
    response = server.received[2]["toolResponse"]["functionResponses"][0]
    assert response == {"id": "function-call-2", "name": "get_time", "response": {"result": "noon"}}


async def test_result_of_a_cancelled_call_is_dropped(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        call = {"id": "c1", "name": "slow", "args": {}}
        await ws.send_message(pretty({"toolCall": {"functionCalls": [call]}}))
        await ws.send_message(pretty({"toolCallCancellation": {"ids": ["c1"]}}))
        await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
        await ws.aclose()

    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            async for event in client.read_events():
                if isinstance(event, TurnComplete):
                    await client.send_function_result("c1", "late")
    assert [next(iter(message)) for message in server.received] == ["setup"]


async def test_result_of_a_call_cancelled_behind_unread_events_is_dropped(
    nursery: trio.Nursery, autojump_clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The facade heard of a cancellation only once its pump passed the event on.

    With the app's channel full (it sends audio, whose echoes fill it, while the tool
    runs) the pump waited on an earlier event; the session had dropped the call already,
    and the result raised "unknown tool call id" instead of being dropped.
    """
    go = trio.Event()

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        call = {"id": "c1", "name": "slow", "args": {}}
        await ws.send_message(pretty({"toolCall": {"functionCalls": [call]}}))
        await go.wait()
        text = {"modelTurn": {"parts": [{"text": "Never mind."}]}}
        await ws.send_message(pretty({"serverContent": text}))
        await ws.send_message(pretty({"toolCallCancellation": {"ids": ["c1"]}}))
        while True:
            await server.receive_json(ws)

    options = SessionOptions(event_buffer=2)
    client, server = make_client(nursery, script, session_options=options)
    with trio.fail_after(5):
        async with client.connect():
            while not isinstance(await client.get_event(), FunctionCall):
                pass
            for _ in range(2):  # the echoes fill the channel: the pump waits
                await client.send_audio(bytes(640))
            go.set()
            # Virtual time: the read lent to the busy pump comes back to the receiver
            # (within a second), which reads the cancellation; the pump still waits.
            await trio.sleep(2)
            assert client.connection.pending_tool_calls == {}
            with caplog.at_level(logging.INFO, logger="trio_gemini_live.client"):
                await client.send_function_result("c1", "late")
            # The app reads on: the cancellation comes after the events it left unread.
            while not isinstance(await client.get_event(), ToolCallCancellation):
                pass
    assert "dropping the result of cancelled tool call c1" in caplog.text
    assert not [message for message in server.received if "toolResponse" in message]


async def test_truncate_audio_sends_nothing_and_is_recorded(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    client, server = make_closing_client(nursery, reads=1)
    with trio.fail_after(5):
        async with client.connect():
            await client.send_text(role="user", text="go")
            await client.truncate_audio(1200, 0, "turn-1")
            await collect(client)
    assert [next(iter(message)) for message in server.received] == ["setup", "clientContent"]
    assert client.truncations == ((1200, 0, "turn-1"),)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (("1200", 0, "turn-1"), "audio_end_ms must be an int >= 0, not '1200' (str)"),
        ((-1, 0, "turn-1"), "audio_end_ms must be an int >= 0, not -1 (int)"),
        ((1200, True, "turn-1"), "content_index must be an int >= 0, not True (bool)"),
        ((1200, 0, 3), "item_id must be a str, not 3 (int)"),
    ],
)
async def test_truncate_audio_refuses_arguments_of_the_wrong_type(
    arguments: tuple[Any, Any, Any], named: str
) -> None:
    # They were recorded as given: `truncations` held what its type says it cannot.
    client = GeminiRealtimeClient(llm_config={"config_list": [{"model": MODEL, "api_key": "k"}]})
    with pytest.raises(LocalProtocolError, match=re.escape(named)):
        await client.truncate_audio(*arguments)
    assert client.truncations == ()


async def test_add_event_and_queue_input_audio_buffer_delta_refuse_the_wrong_type() -> None:
    # They were queued as given: `get_event` then returned a str, or an event whose base64
    # `delta` was an int.
    client = GeminiRealtimeClient(llm_config={"config_list": [{"model": MODEL, "api_key": "k"}]})
    with pytest.raises(LocalProtocolError, match=r"event must be a RealtimeEvent or None, not"):
        await client.add_event(cast(RealtimeEvent, "hello"))
    with pytest.raises(LocalProtocolError, match=r"audio must be a str, not 5 \(int\)"):
        await client.queue_input_audio_buffer_delta(cast(str, 5))
    await client.add_event(None)  # the seed's end of the stream
    assert await client.get_event() is None
    with pytest.raises(RuntimeError, match="the event channel is empty"):
        await client.get_event()  # nothing of the refused ones was queued


# --- receiving -------------------------------------------------------------------------------


async def test_barge_in_reaches_seed_consumers_as_speech_started(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    pcm = b"\x01\x02" * 100

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        part = audio_part(pcm)
        await ws.send_message(pretty({"serverContent": {"modelTurn": {"parts": [part]}}}))
        await ws.send_message(pretty({"serverContent": {"interrupted": True}}))
        await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
        await ws.aclose()

    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            events = await collect(client)
    audio = next(event for event in events if isinstance(event, AudioDelta))
    assert base64.b64decode(audio.delta) == pcm
    barge_in = [event for event in events if isinstance(event, SpeechStarted)]
    assert len(barge_in) == 1
    assert isinstance(barge_in[0], Interrupted)
    assert barge_in[0].type == "input_audio_buffer.speech_started"


async def test_add_event_get_event_and_none_ends_the_stream(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    client, _ = make_client(nursery, accept_setup_and_wait)
    # without a connection the channel still works (the original's queue did)
    await client.add_event(TextDelta(text="local"))
    got = await client.get_event()
    assert isinstance(got, TextDelta)
    assert got.text == "local"
    with trio.fail_after(5):
        async with client.connect():
            seen: list[RealtimeEvent] = []
            async for event in client.read_events():
                seen.append(event)
                if isinstance(event, SessionUpdated):
                    await client.queue_input_audio_buffer_delta("AAA=")
                    await client.add_event(None)
    assert [type(event) for event in seen] == [
        SessionCreated,
        SessionUpdated,
        InputAudioBufferDelta,
    ]


async def test_session_end_is_sticky_and_errors_are_raised(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        await ws.aclose(1007, "Request contains an invalid argument.")

    client, server = make_client(nursery, script)
    seen: list[RealtimeEvent] = []
    with trio.fail_after(5):
        async with client.connect():
            with pytest.raises(InvalidArgumentError, match="invalid argument"):
                async for event in client.read_events():
                    seen.append(event)
            with pytest.raises(InvalidArgumentError):  # the end stays: no wait, same error
                await client.get_event()
    assert isinstance(seen[-1], Closed)
    assert seen[-1].code == 1007


async def test_normal_end_returns_none_and_connection_is_the_session(
    nursery: trio.Nursery,
    autojump_clock: Clock,
) -> None:
    client, _ = make_closing_client(nursery)
    with trio.fail_after(5):
        async with client.connect():
            assert client.connection.state.value == "idle"
            while (event := await client.get_event()) is not None:
                assert not isinstance(event, InputAudioBufferDelta)
            assert await client.get_event() is None
        with pytest.raises(RuntimeError, match="connect"):
            _ = client.connection


async def test_a_second_connect_is_refused_while_the_first_is_still_opening(
    autojump_clock: Clock,
) -> None:
    """Both got in (the first had no session yet), and shared one session slot and channel."""
    async with open_emulator() as emulator:
        connector = emulator.memory_connector(latency=0.05)
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator, connector=connector))
        entered: list[str] = []
        refused: list[str] = []

        async def user(name: str) -> None:
            try:
                async with client.connect():
                    entered.append(name)
                    await trio.sleep(1)
            except RuntimeError as error:
                refused.append(str(error))

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(user, "A")
                nursery.start_soon(user, "B")
    assert len(entered) == 1
    assert len(refused) == 1
    assert refused[0].startswith("already connected (or connecting, in another task)")
    assert len(emulator.connections) == 1


async def test_exceptions_in_the_connect_block_propagate_unwrapped(
    nursery: trio.Nursery,
    autojump_clock: Clock,
) -> None:
    client, _ = make_client(nursery, accept_setup_and_wait)
    with trio.fail_after(5), pytest.raises(KeyError):
        async with client.connect():
            await client.send_text(role="user", text="x")
            raise KeyError("app bug")


# --- host applications -----------------------------------------------------------------------


async def run_seed_app(client: GeminiRealtimeClient, spawn: Callable[..., Any]) -> list[str]:
    """A RealtimeAgent-shaped app: a reader loop plus a sender task, tools answered."""
    texts: list[str] = []
    async with client.connect():
        await client.session_update({"instructions": "Use tools."})
        await client.session_update({"tools": [WEATHER_TOOL]})

        async def sender() -> None:
            await client.send_text(role="user", text="Weather in Bern?")

        spawn(sender)
        async for event in client.read_events():
            if isinstance(event, FunctionCall):
                await client.send_function_result(event.call_id, '"sunny"')
            elif isinstance(event, TextDelta):
                texts.append(event.text)
    return texts


def tool_turn_script(server_ref: list[FakeServer]) -> Script:
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        server = server_ref[0]
        setup = await accept_setup(server, ws)
        assert setup["setup"]["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
        await server.receive_json(ws)  # the user's text
        call = {"id": "fc-1", "name": "get_weather", "args": {"city": "Bern"}}
        await ws.send_message(pretty({"toolCall": {"functionCalls": [call]}}))
        answer = await server.receive_json(ws)
        result = answer["toolResponse"]["functionResponses"][0]["response"]["result"]
        text = {"serverContent": {"modelTurn": {"parts": [{"text": f"It is {result}."}]}}}
        await ws.send_message(pretty(text))
        await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
        await ws.aclose()

    return script


async def test_from_a_trio_app(nursery: trio.Nursery, autojump_clock: Clock) -> None:
    server_ref: list[FakeServer] = []
    client, server = make_client(nursery, tool_turn_script(server_ref))
    server_ref.append(server)
    with trio.fail_after(5):
        async with trio.open_nursery() as app:
            texts = await run_seed_app(client, app.start_soon)
    assert texts == ["It is sunny."]


def test_from_an_anyio_app_on_the_trio_backend() -> None:
    async def main() -> list[str]:
        async with anyio.create_task_group() as infrastructure:
            # FakeServer wants a trio nursery; on the trio backend that is what runs here.
            async with trio.open_nursery() as nursery:
                server_ref: list[FakeServer] = []
                client, server = make_client(nursery, tool_turn_script(server_ref))
                server_ref.append(server)
                with anyio.fail_after(5):
                    async with anyio.create_task_group() as app:
                        texts = await run_seed_app(client, app.start_soon)
                nursery.cancel_scope.cancel()
            infrastructure.cancel_scope.cancel()
        return texts

    texts = anyio.run(
        main,
        backend="trio",
        backend_options={"clock": trio.testing.MockClock(autojump_threshold=0)},
    )
    assert texts == ["It is sunny."]


# --- end to end against the local emulator ---------------------------------------------------


@asynccontextmanager
async def connected_on_emulator(
    **entry: Any,
) -> AsyncIterator[tuple[Emulator, GeminiRealtimeClient]]:
    """A client on a fresh emulator (`entry`: the config entry's overrides), inside `connect()`.

    `connect()`, its close included, must be done within 30 s (of virtual time).
    """
    async with open_emulator() as emulator:
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator, **entry))
        with trio.fail_after(30):
            async with client.connect():
                yield emulator, client


def emulator_config(emulator: Any, **entry: Any) -> dict[str, Any]:
    config = {
        "model": MODEL,
        "api_key": "test-key",
        "api_type": "google",
        "base_url": emulator.endpoint_url(),
        "connector": emulator.memory_connector(),
    }
    config.update(entry)
    return {"config_list": [config]}


async def test_emulator_text_turn(autojump_clock: Clock) -> None:
    scenario = Scenario(turns=(ScenarioTurn(when="hello", reply="Hi from the emulator."),))
    with trio.fail_after(60):
        async with open_emulator(EmulatorConfig(scenario=scenario)) as emulator:
            # A seed app's config often names a voice; text answers must go without it.
            client = GeminiRealtimeClient(llm_config=emulator_config(emulator, voice="Kore"))
            texts: list[str] = []
            async with client.connect():
                await client.session_update({"modalities": ["text"], "instructions": "Be brief."})
                await client.send_text(role="user", text="Hello there")
                async for event in client.read_events():
                    if isinstance(event, TextDelta):
                        texts.append(event.text)
                    elif isinstance(event, TurnComplete):
                        break
            received = [frame.data for frame in emulator.connections[0].received]
    assert "".join(texts) == "Hi from the emulator."
    assert received[0] is not None
    setup = received[0]["setup"]
    assert setup["generationConfig"] == {"responseModalities": ["TEXT"]}
    assert setup["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert received[1] == {
        "clientContent": {
            "turns": [{"parts": [{"text": "Hello there"}], "role": "user"}],
            "turnComplete": True,
        }
    }


async def test_emulator_tool_call_round_trip(autojump_clock: Clock) -> None:
    turn = ScenarioTurn(
        when="weather",
        tool_calls=(ScenarioToolCall("get_weather", {"city": "Bern"}),),
        after_tool="The weather: {response}",
    )
    scenario = Scenario(turns=(turn,))
    with trio.fail_after(60):
        async with open_emulator(EmulatorConfig(scenario=scenario)) as emulator:
            # A seed app's config often names a voice; text answers must go without it.
            client = GeminiRealtimeClient(llm_config=emulator_config(emulator, voice="Kore"))
            texts: list[str] = []
            calls: list[FunctionCall] = []
            async with client.connect():
                await client.session_update({"modalities": ["text"], "tools": [WEATHER_TOOL]})
                await client.send_text(role="user", text="What is the weather in Bern?")
                async for event in client.read_events():
                    if isinstance(event, FunctionCall):
                        calls.append(event)
                        await client.send_function_result(event.call_id, '{"sky": "sunny"}')
                    elif isinstance(event, TextDelta):
                        texts.append(event.text)
                    elif isinstance(event, TurnComplete) and calls:
                        break
            received = [frame.data for frame in emulator.connections[0].received]
    assert [(call.name, call.arguments) for call in calls] == [("get_weather", {"city": "Bern"})]
    assert "sunny" in "".join(texts)
    answers = [message for message in received if message and "toolResponse" in message]
    assert answers == [
        {
            "toolResponse": {
                "functionResponses": [
                    {
                        "id": calls[0].call_id,
                        "name": "get_weather",
                        "response": {"result": {"sky": "sunny"}},
                    }
                ]
            }
        }
    ]


async def test_leaving_connect_ends_the_stream_with_closed(autojump_clock: Clock) -> None:
    """The seed's stream ends after `Closed`, also for a reader outside the block."""
    got: list[RealtimeEvent] = []
    answered = trio.Event()
    ended = trio.Event()
    async with open_emulator() as emulator:
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator))

        async def reader() -> None:
            async for event in client.read_events():
                got.append(event)
                if isinstance(event, TurnComplete):
                    answered.set()
            ended.set()

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                async with client.connect():
                    nursery.start_soon(reader)
                    await client.send_text(role="user", text="hi")
                    await answered.wait()
                await ended.wait()
    assert isinstance(got[-1], Closed)
    assert got[-1].code == 1000


async def test_a_setup_never_answered_fails_the_first_send_and_ends_the_stream(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    """The facade sends `setup` at the first send: that send waits at most `setup_timeout`.

    The server reads the setup and answers nothing (it does answer pings, so the heartbeat
    sees no silence): the send raises `SetupTimeoutError`, and reading the stream ends
    with the same error instead of waiting for a session that never opened.
    """

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await server.receive_json(ws)  # the setup
        await trio.sleep_forever()

    options = {"setup_timeout": 5.0, "close_timeout": 1.0}
    client, server = make_client(nursery, script, session_options=options)
    with trio.fail_after(60):
        async with client.connect():
            started = trio.current_time()
            with pytest.raises(SetupTimeoutError):
                await client.send_text(role="user", text="hello")
            assert trio.current_time() - started <= 5.0 + 1.0 + 0.1
            with pytest.raises(SetupTimeoutError):
                await collect(client)


@pytest.mark.parametrize("modalities", [["AUDIO"], ["TEXT"]])
async def test_a_session_update_after_a_setup_timeout_raises_it(
    nursery: trio.Nursery, autojump_clock: Clock, modalities: list[str]
) -> None:
    """A setup change made once the setup timed out raises `SetupTimeoutError`.

    It returned as if applied: the session never opened, so the change was lost with it
    (with text responses the voice was even kept in the draft without a word). So does
    one made while the setup is on its way, waiting for that start.
    """

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await server.receive_json(ws)  # the setup
        await trio.sleep_forever()

    options = {"setup_timeout": 5.0, "close_timeout": 1.0}
    client, server = make_client(nursery, script, session_options=options)
    await client.session_update({"modalities": modalities})

    async def send() -> None:
        with pytest.raises(SetupTimeoutError):
            await client.send_text(role="user", text="hello")

    async def update_meanwhile() -> None:
        with pytest.raises(SetupTimeoutError):
            await client.session_update({"voice": "Puck"})

    with trio.fail_after(60):
        async with client.connect():
            async with trio.open_nursery() as inner:
                inner.start_soon(send)
                await trio.testing.wait_all_tasks_blocked()  # the setup is on its way
                inner.start_soon(update_meanwhile)
            with pytest.raises(SetupTimeoutError):
                await client.session_update({"voice": "Kore"})


async def test_a_server_that_keeps_closing_with_1011_ends_in_reconnect_failed(
    autojump_clock: Clock,
) -> None:
    """A retried close (1011) that keeps coming ends the stream with `ReconnectFailedError`.

    As the docs now say (they promised a `ConnectionClosedError` with `code`): the close's
    code and reason are on its `last_error`.
    """
    fault = Fault(kind="close", code=1011, reason="Internal error encountered.", after_frames=2)
    options = {"reconnect": ReconnectPolicy(max_attempts=2, max_elapsed=30.0)}
    async with open_emulator(EmulatorConfig(faults=(fault,))) as emulator:
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator, session_options=options))
        with trio.fail_after(60):
            async with client.connect():
                await client.send_text(role="user", text="hello")
                with pytest.raises(ReconnectFailedError) as failed:
                    await collect(client)
    assert not isinstance(failed.value, ConnectionClosedError)
    last = failed.value.last_error
    assert isinstance(last, InternalServerError)
    assert (last.code, last.reason) == (1011, "Internal error encountered.")


async def test_leaving_connect_while_nobody_reads_is_bounded(autojump_clock: Clock) -> None:
    """With the event channel full and nobody reading, leaving `connect()` still ends.

    The pump no longer waits for room once the block is left: the session's last events,
    its `Closed` too, join the unread ones (it waited the whole bound, three
    `close_timeout`s, then was cancelled, and the stream ended without them).
    """
    options = {"event_buffer": 2, "close_timeout": 1.0}
    async with open_emulator() as emulator:
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator, session_options=options))
        with trio.fail_after(60):
            async with client.connect():
                await client.send_text(role="user", text="hello there, how are you today?")
                await trio.sleep(1)  # the answer fills both channels; nobody reads
                left_at = trio.current_time()
            assert trio.current_time() - left_at <= 1.0
            got: list[RealtimeEvent] = []
            while (event := await client.get_event()) is not None:
                got.append(event)
    assert len(got) > 2  # more than the channel held when the block was left
    assert isinstance(got[-1], Closed)


def flooding_connector(nursery: trio.Nursery) -> Callable[[], Awaitable[trio.abc.Stream]]:
    """A connector to a raw server that floods text frames and never answers a close.

    Once the setup has come, it answers `setupComplete`, then sends a text part every
    10 ms for as long as the stream lasts, reading nothing more (trio-websocket's server
    side would answer the close frame).
    """

    async def serve(stream: trio.abc.Stream) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += await stream.receive_some()
        key = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", request)
        assert key is not None
        guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        accept = base64.b64encode(hashlib.sha1(key[1] + guid).digest())
        await stream.send_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        await stream.receive_some()  # the setup (not parsed)

        def frame(message: dict[str, Any]) -> bytes:
            payload = pretty(message)
            assert len(payload) < 126
            return bytes([0x81, len(payload)]) + payload

        await stream.send_all(frame({"setupComplete": {}}))
        part = frame({"serverContent": {"modelTurn": {"parts": [{"text": "x"}]}}})
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            while True:
                await stream.send_all(part)
                await trio.sleep(0.01)

    async def connector() -> trio.abc.Stream:
        client, server = trio.testing.memory_stream_pair()
        nursery.start_soon(serve, server)
        return client

    return connector


async def test_leaving_connect_while_a_server_floods_keeps_the_session_s_bound(
    nursery: trio.Nursery,
    autojump_clock: Clock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What comes while the block's session closes is bounded as on a plain session.

    The pump passed on everything a server flooding on sent in the close (the channel
    unbound from the start of it, the session's own bound never applied: 763 MB in five
    seconds, and nothing reported). Past the events the session sets aside (here 8), the
    rest is dropped, and counted in the `Closed` passed on, with a warning.
    """
    monkeypatch.setattr("trio_gemini_live._connection.ASIDE_LIMIT", 1)
    options = {"event_buffer": 1, "close_timeout": 1.0}
    entry = {"model": MODEL, "api_key": "k", "base_url": WS_URL, "session_options": options}
    connector = flooding_connector(nursery)
    client = GeminiRealtimeClient(llm_config={"config_list": [{**entry, "connector": connector}]})
    with trio.fail_after(60):
        async with client.connect():
            await client.send_text(role="user", text="hi")
            await trio.sleep(0.5)  # both channels are full; nobody reads
        got: list[RealtimeEvent] = []
        while (event := await client.get_event()) is not None:
            got.append(event)
    closed = got[-1]
    assert isinstance(closed, Closed)
    # This channel's one, those set aside, the session's channel's, a delivery's, `Closed`.
    assert len(got) <= 1 + 8 + 3
    assert closed.not_delivered_events > 0
    assert closed.not_delivered == (
        f"TextDelta: {closed.not_delivered_events} event(s) "
        "(came while closing, past the events set aside)",
    )
    assert any("dropped" in record.getMessage() for record in caplog.records)


class SlowGoodbyeStream(WrappedStream):
    """A stream whose own close takes half a second (a TLS peer slow to say goodbye)."""

    async def aclose(self) -> None:
        await trio.sleep(0.5)
        await self._inner.aclose()


async def test_leaving_connect_waits_for_closed_as_long_as_aclose_may_take(
    autojump_clock: Clock,
) -> None:
    """The block's exit lets the session's close take what `aclose` allows, `Closed` too.

    It allowed three `close_timeout`s of its own, less than `aclose` may take (a
    `close_timeout` for each step, two for the end, and a margin for the stream's own
    close): past that, the pump was cancelled, and the stream ended without `Closed`.
    """
    async with open_emulator() as emulator:
        memory_connector = emulator.memory_connector()

        async def connector() -> trio.abc.Stream:
            return SlowGoodbyeStream(await memory_connector())

        options = {"close_timeout": 0.1}
        config = emulator_config(emulator, session_options=options, connector=connector)
        client = GeminiRealtimeClient(llm_config=config)
        with trio.fail_after(60):
            async with client.connect():
                await client.send_text(role="user", text="hi")
            got: list[RealtimeEvent] = []
            while (event := await client.get_event()) is not None:
                got.append(event)
    assert isinstance(got[-1], Closed)
    assert got[-1].code == 1000


@pytest.mark.parametrize(
    ("entry", "logger", "match"),
    [
        # Was a bare TypeError from SessionOptions.__init__.
        ({"session_options": {"bogus": 1}}, None, "bogus"),
        ({"session_options": {"event_buffer": "8"}}, None, "event_buffer"),
        # Was taken, then an AttributeError ('str' object has no attribute ...) at first use.
        ({}, "my-logger", "logger"),
        # Was bool("false"): true, so the echo stayed on.
        ({"echo_input_audio": "false"}, None, "echo_input_audio"),
    ],
)
def test_a_wrong_client_option_raises_configuration_error(
    entry: dict[str, Any], logger: Any, match: str
) -> None:
    config = {"config_list": [{"model": MODEL, "api_key": "k", **entry}]}
    with pytest.raises(ConfigurationError, match=match):
        GeminiRealtimeClient(llm_config=config, logger=logger)


async def test_a_setup_refused_before_sending_can_be_fixed_and_sent(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    """A deferred setup that the client refuses (nothing sent) leaves the client unstarted.

    It was marked as sent before it was checked: after the ConfigurationError, later
    `session_update`s raised SessionClosedError and `read_events` waited forever, since
    the setup never went out.
    """

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        await server.receive_json(ws)
        await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
        await ws.aclose()

    # A Vertex-only field on a Gemini API endpoint: only the session, knowing the
    # endpoint, refuses it (a tool schema's bad key is now refused by session_update).
    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            await client.session_update({"session_resumption": {"transparent": True}})
            with pytest.raises(ConfigurationError, match="transparent"):
                await client.send_text(role="user", text="hi")
            await client.session_update({"session_resumption": {"transparent": None}})
            await client.send_text(role="user", text="hi")
            events = await collect(client)
    assert [next(iter(message)) for message in server.received] == ["setup", "clientContent"]
    assert "transparent" not in server.received[0]["setup"]["sessionResumption"]
    assert isinstance(events[-1], Closed)


@pytest.mark.parametrize(
    "result",
    ["NaN", "Infinity", "-Infinity", '{"t": NaN}', "1e999", "[" * 100_000 + "]" * 100_000],
    ids=["NaN", "Infinity", "-Infinity", "NaN inside", "past a float", "nested too deeply"],
)
async def test_a_result_that_is_not_json_is_sent_as_the_string(
    nursery: trio.Nursery, autojump_clock: Clock, result: str
) -> None:
    """Python's json module reads `NaN`/`Infinity`, which JSON lacks; they went as `null`.

    "1e999" it reads as infinity, which `respond` refused (the call raised), and a result
    nested past the recursion limit raised a bare RecursionError.
    """

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        call = {"id": "c1", "name": "measure", "args": {}}
        await ws.send_message(pretty({"toolCall": {"functionCalls": [call]}}))
        await server.receive_json(ws)
        await ws.aclose()

    client, server = make_client(nursery, script)
    with trio.fail_after(5):
        async with client.connect():
            async for event in client.read_events():
                if isinstance(event, FunctionCall):
                    await client.send_function_result(event.call_id, result)
    response = server.received[1]["toolResponse"]["functionResponses"][0]["response"]
    assert response == {"result": result}


async def test_a_new_connection_starts_a_new_stream(autojump_clock: Clock) -> None:
    """What the previous session left unread is not read as the new session's events.

    The second `connect()` yielded the first session's unread `ResumptionUpdate` and
    `Closed(1000)` before its own `SessionCreated`: a reader that stops at `Closed`
    stopped at once. Events added after the first session ended are kept.
    """
    firsts: list[RealtimeEvent] = []
    async with open_emulator() as emulator:
        client = GeminiRealtimeClient(llm_config=emulator_config(emulator))
        with trio.fail_after(30):
            for _ in range(2):
                async with client.connect():
                    await client.session_update({"modalities": ["text"]})
                    await client.send_text(role="user", text="hello")
                    async for event in client.read_events():
                        if not firsts or isinstance(firsts[-1], TurnComplete):
                            firsts.append(event)
                        if isinstance(event, TurnComplete):
                            firsts.append(event)
                            break
                await client.add_event(TextDelta(text="added after the end"))
    assert [type(event) for event in firsts] == [
        SessionCreated,
        TurnComplete,
        TextDelta,
        TurnComplete,
    ]
    assert isinstance(firsts[2], TextDelta)
    assert firsts[2].text == "added after the end"


async def test_the_end_stays_when_events_are_added_after_it(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    """An event added behind the session's end marker is read, and then the end again.

    The end was remembered only when nothing followed its marker: once the added event
    was read, the next `get_event` waited forever.
    """
    client, _ = make_closing_client(nursery)
    with trio.fail_after(5):
        async with client.connect():
            async for event in client.read_events():
                if isinstance(event, Closed):
                    break
            await trio.sleep(1)  # virtual time: the session's end marker follows `Closed`
            await client.add_event(TextDelta(text="late"))
            assert await client.get_event() is None  # the session's end
            late = await client.get_event()
            assert isinstance(late, TextDelta)
            assert await client.get_event() is None
            assert await client.get_event() is None


async def test_get_event_outside_connect_returns_what_is_held_but_does_not_wait(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    """Before `connect()` an empty channel waited forever (read_events raised at once)."""
    client, _ = make_closing_client(nursery)
    with trio.fail_after(5), pytest.raises(RuntimeError, match=r"call connect\(\) first"):
        await client.get_event()
    await client.add_event(TextDelta(text="local"))
    await client.add_event(None)
    assert await client.get_event() == TextDelta(text="local")
    assert await client.get_event() is None
    with trio.fail_after(5), pytest.raises(RuntimeError, match="the event channel is empty"):
        await client.get_event()  # the stream `None` ended is over: nothing else comes


async def test_add_event_outside_connect_never_waits(autojump_clock: Clock) -> None:
    """Before the first `connect()`, and after one that failed to open, nothing reads.

    `add_event` waited at `2 * event_buffer` unread items there, for a reader that could
    not come (`get_event` does not wait outside `connect()`): the one task waited forever.
    After a `connect()` block it never waited; now it does not before one either.
    """

    async def refuse() -> trio.abc.Stream:
        raise OSError("connection refused")

    options = {"event_buffer": 2}
    config = {"model": MODEL, "api_key": "k", "base_url": WS_URL, "connector": refuse}
    client = GeminiRealtimeClient(
        llm_config={"config_list": [{**config, "session_options": options}]}
    )
    with trio.fail_after(5):
        for number in range(6):
            await client.queue_input_audio_buffer_delta(f"AAA{number}")
        with pytest.raises(TransportError):
            async with client.connect():
                pass  # never reached
        await client.add_event(TextDelta(text="after a failed connect"))
    deltas = [await client.get_event() for _ in range(6)]
    assert [event.delta for event in deltas if isinstance(event, InputAudioBufferDelta)] == [
        f"AAA{number}" for number in range(6)
    ]
    assert await client.get_event() == TextDelta(text="after a failed connect")


async def test_get_event_waits_from_the_start_of_connect_for_any_feeder(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    # A reader started before `connect()` (it runs once the connection is being opened)
    # waits, as on the seed's queue, for the session's events and another task's add_event.
    client, _ = make_closing_client(nursery, reads=1)
    seen: list[RealtimeEvent] = []

    async def reader() -> None:
        while (event := await client.get_event()) is not None:
            seen.append(event)

    with trio.fail_after(5):
        async with trio.open_nursery() as readers:
            readers.start_soon(reader)
            async with client.connect():
                await client.add_event(TextDelta(text="local"))
                await client.send_text(role="user", text="hi")  # sends the setup first
    assert seen[0] == TextDelta(text="local")
    assert [type(event) for event in seen[1:3]] == [SessionCreated, SessionUpdated]
    assert isinstance(seen[-1], Closed)


async def test_a_reader_that_began_while_connect_opened_sends_the_setup(
    autojump_clock: Clock,
) -> None:
    """`get_event` begun while the connection opened: it waited, and once the connection
    was open never sent the setup, so with nobody else reading or sending nothing came
    until the block ended."""
    async with open_emulator() as emulator:
        config = emulator_config(emulator, connector=emulator.memory_connector(latency=0.2))
        client = GeminiRealtimeClient(llm_config=config)
        seen: list[RealtimeEvent | None] = []
        got = trio.Event()

        async def reader() -> None:
            seen.append(await client.get_event())
            got.set()

        async def user() -> None:
            async with client.connect():
                with trio.move_on_after(10):
                    await got.wait()

        with trio.fail_after(30):
            async with trio.open_nursery() as tasks:
                tasks.start_soon(user)
                await trio.sleep(0.1)  # the connection is opening (0.2 s each way)
                assert client._connecting  # pyright: ignore[reportPrivateUsage]
                assert client._session is None  # pyright: ignore[reportPrivateUsage]
                tasks.start_soon(reader)
    assert [type(event) for event in seen] == [SessionCreated]


async def test_a_reader_waiting_on_a_connect_that_fails_is_told_not_connected(
    nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    async def refuse() -> trio.abc.Stream:
        raise OSError("connection refused")

    config = {"model": MODEL, "api_key": "k", "base_url": WS_URL, "connector": refuse}
    client = GeminiRealtimeClient(llm_config={"config_list": [config]})
    failures: list[BaseException] = []

    async def reader() -> None:
        try:
            await client.get_event()
        except RuntimeError as exc:
            failures.append(exc)

    with trio.fail_after(5):
        async with trio.open_nursery() as readers:
            readers.start_soon(reader)
            with pytest.raises(TransportError):
                async with client.connect():
                    pass  # never reached
    assert len(failures) == 1
    assert "call connect() first" in str(failures[0])


@pytest.mark.parametrize("options", ["voice=Kore", None, [("voice", "Kore")]])
async def test_session_update_needs_a_dict(options: Any, autojump_clock: Clock) -> None:
    # Before: AttributeError "'str' object has no attribute 'items'" from deep inside.
    client = GeminiRealtimeClient(llm_config={"config_list": [{"model": MODEL, "api_key": "k"}]})
    with pytest.raises(ConfigurationError, match="session_update takes a dict"):
        await client.session_update(options)


@pytest.mark.parametrize("role", ["user", "assistant", "system"])
@pytest.mark.parametrize("text", [None, 5, b"hi"])
async def test_send_text_refuses_text_that_is_not_a_str(
    role: Role, text: Any, nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    # Before: None went out as a turn with an empty part; as `system` text it replaced the
    # instruction, or was appended to it as the word "None".
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        await server.receive_json(ws)
        done.set()
        await serve_until_closed(ws)

    done = trio.Event()
    client, server = make_client(nursery, script)
    await client.send_text(role="system", text="Be brief.")
    with trio.fail_after(5):
        async with client.connect():
            with pytest.raises(LocalProtocolError, match="text must be a str"):
                await client.send_text(role=role, text=text)
            await client.send_text(role="user", text="Hello")
            await done.wait()
    assert server.received[0]["setup"]["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert server.received[1:] == [
        {
            "clientContent": {
                "turns": [{"parts": [{"text": "Hello"}], "role": "user"}],
                "turnComplete": True,
            }
        }
    ]


@pytest.mark.parametrize("role", ["user", "assistant", "system"])
@pytest.mark.parametrize("text_input", ["client_content", "realtime_input"])
async def test_send_text_refuses_empty_text(
    role: Role, text_input: str, nursery: trio.Nursery, autojump_clock: Clock
) -> None:
    # Before: user text as realtime input went out as `{"realtimeInput": {"text": ""}}`,
    # which the server reads as unset (nothing answers); as a turn, a part without text,
    # which it refuses with 1007; system text added blank lines to the instruction.
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        await server.receive_json(ws)
        done.set()
        await serve_until_closed(ws)

    done = trio.Event()
    client, server = make_client(nursery, script, text_input=text_input)
    await client.send_text(role="system", text="Be brief.")
    with trio.fail_after(5):
        async with client.connect():
            with pytest.raises(LocalProtocolError, match=r"^text is an empty str: .*needs text"):
                await client.send_text(role=role, text="")
            await client.send_text(role="assistant", text="Hello")
            await done.wait()
    assert server.received[0]["setup"]["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert server.received[1:] == [
        {
            "clientContent": {
                "turns": [{"parts": [{"text": "Hello"}], "role": "model"}],
                "turnComplete": True,
            }
        }
    ]


async def test_read_events_left_early_within_aclosing_leaves_nothing_to_finalize(
    autojump_clock: Clock,
) -> None:
    # `read_events` is an async generator, as the seed's is (the seed API fixes it): a
    # loop left early leaves it to the garbage collector, and trio warns. Within
    # `contextlib.aclosing` (what its docstring says to use) it is closed on the way out.
    from contextlib import aclosing

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with connected_on_emulator() as (_, client):
            await client.send_text(role="user", text="hi")
            for _ in range(2):
                async with aclosing(client.read_events()) as events:
                    await until_event(events, TurnComplete)
                await client.send_text(role="user", text="again")
        gc.collect()
        await trio.lowlevel.checkpoint()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_result_of_a_call_the_server_answered_is_dropped(
    autojump_clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # A seed app answers every FunctionCall; one the server answered itself in the same
    # frame (a FunctionCallOutput) made send_function_result raise LocalProtocolError
    # ("answered already"), ending the app's loop.
    parts = [
        Part(function_call=FunctionCallPart(id="srv-1", name="lookup", args={})),
        Part(function_response=FunctionResponse(id="srv-1", name="lookup", response={"r": 2})),
    ]
    frame = ServerMessage(
        server_content=ServerContent(model_turn=Content(parts=parts), turn_complete=True)
    )
    seen: list[RealtimeEvent] = []
    with trio.fail_after(60):
        async with open_emulator(EmulatorConfig()) as emulator:
            client = GeminiRealtimeClient(llm_config=emulator_config(emulator))
            async with client.connect():
                await client.send_text(role="user", text="look it up")
                await (await emulator.wait_for_connection(1)).send(frame)
                with caplog.at_level(logging.INFO, logger="trio_gemini_live.client"):
                    async for event in client.read_events():
                        seen.append(event)
                        if isinstance(event, FunctionCall):
                            await client.send_function_result(event.call_id, "mine")
                        elif isinstance(event, TurnComplete):
                            break
            received = [frame.data for frame in emulator.connections[0].received]
    assert [
        type(event) for event in seen if isinstance(event, FunctionCall | FunctionCallOutput)
    ] == [
        FunctionCall,
        FunctionCallOutput,
    ]
    assert "dropping the result of tool call srv-1: the server answered it" in caplog.text
    assert not [message for message in received if message and "toolResponse" in message]
