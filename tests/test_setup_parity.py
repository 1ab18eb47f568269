"""Setup parity with google-genai: nothing dropped, `extra`, snake_case schemas, more options.

- A setup field the wire Structs lack (a `Tool` subclass's own field) used to be dropped
  without a word; it is refused, and `Setup.extra` sends such fields instead.
- google-genai sends function schemas with snake_case keys (`max_items`); they used to be
  refused as unknown keys.
- `live_setup` takes the commonly used options of google-genai's `LiveConnectConfig`, and
  sends them under the names google-genai's converter uses.
- `transparent_resumption` is Vertex AI's: refused for a Gemini API endpoint.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest
import trio
import trio.testing
import trio_websocket
from google.genai import _live_converters as lc, client as genai_client, types as gt

from fake_server import FakeServer, accept_setup
from trio_gemini_live import (
    ConfigurationError,
    InvalidArgumentError,
    Reconnected,
    ReconnectPolicy,
    SessionOptions,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._protocol import LiveProtocol, check_setup, with_context_update
from trio_gemini_live._schema import camel_schema, from_json_schema, unsupported_schema_keys
from trio_gemini_live._session import _prepare_setup  # pyright: ignore[reportPrivateUsage]
from trio_gemini_live._setup_hint import setup_hint
from trio_gemini_live._wire import (
    Content,
    ContextUpdate,
    FunctionDeclaration,
    Part,
    Setup,
    Tool,
    ToolsUpdate,
)
from trio_gemini_live.emulator import EmulatorConfig, open_emulator
from turns import until_event

MODEL = "gemini-live-2.5-flash-preview"
GEMINI_URL = (
    "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
)
VERTEX_URL = "ws://127.0.0.1/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
GEMINI = url_endpoint(GEMINI_URL, api_key="k")
VERTEX = url_endpoint(VERTEX_URL, api_key="k")


def sent(setup: Setup) -> dict[str, Any]:
    """The `setup` object of the frame the session would send for `setup`."""
    frame = LiveProtocol().start(_prepare_setup(setup, GEMINI))
    return json.loads(frame)["setup"]  # type: ignore[no-any-return]


# --- item 1b: nothing is dropped ---------------------------------------------------------------


class FutureTool(Tool):
    future_search: dict[str, Any] | None = None


class NewSetup(Setup):
    brand_new: bool | None = None


@pytest.mark.parametrize(
    ("setup", "path"),
    [
        (
            Setup(model=MODEL, tools=[FutureTool(future_search={"x": 1})]),
            "setup.tools[0].futureSearch",
        ),
        (Setup(model=MODEL, tools=[FutureTool(future_search={})]), "setup.tools[0].futureSearch"),
        (NewSetup(model=MODEL, brand_new=True), "setup.brandNew"),
        (
            Setup(model=MODEL, tools=[{"function_declarations": [{"name": "f"}]}]),  # type: ignore[list-item]
            "setup.tools[0].function_declarations",
        ),
    ],
    ids=["tool-subclass", "empty-object", "setup-subclass", "dict-for-struct"],
)
def test_a_field_the_wire_structs_lack_is_refused_not_dropped(setup: Setup, path: str) -> None:
    """It was sent as the base Struct has it: `tools: [{}]`, without a word."""
    with pytest.raises(ConfigurationError, match=r"Setup\.extra") as caught:
        check_setup(setup)
    assert path in str(caught.value)


# --- item 1a: Setup.extra ------------------------------------------------------------------


def test_extra_is_merged_into_the_setup_frame() -> None:
    setup = live_setup(
        MODEL,
        temperature=0.5,
        functions=[function_tool("f", "d")],
        extra={
            "generationConfig": {"newKnob": 3},
            "tools": [{"newTool": {"x": 1}}],  # a Vertex AI only one is refused here
            "brandNewField": {"a": [1, 2]},
            "sessionResumption": {"newOption": True},
        },
    )
    assert sent(setup) == {
        "model": f"models/{MODEL}",
        "generationConfig": {"responseModalities": ["AUDIO"], "temperature": 0.5, "newKnob": 3},
        "tools": [
            {"functionDeclarations": [{"name": "f", "description": "d"}]},
            {"newTool": {"x": 1}},
        ],
        "sessionResumption": {"newOption": True},
        "brandNewField": {"a": [1, 2]},
    }


def test_extra_creates_a_modelled_object_the_setup_lacks() -> None:
    setup = live_setup(MODEL, modality=None, resumption=False, extra={"proactivity": {"x": 1}})
    assert sent(setup) == {"model": f"models/{MODEL}", "proactivity": {"x": 1}}


def test_extra_is_a_copy_of_the_mapping_given() -> None:
    given: dict[str, Any] = {"newField": [1]}
    setup = live_setup(MODEL, extra=given)
    given["newField"].append(2)
    given["other"] = 1
    assert setup.extra == {"newField": [1]}


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"model": "other"}, "setup.model is a field this library models"),
        (
            {"generationConfig": {"temperature": 1.0}},
            "setup.generationConfig.temperature is a field this library models",
        ),
        (
            {"generation_config": {"temperature": 1.0}},
            "setup.generationConfig.temperature is a field this library models",
        ),
        ({"sessionResumption": {"handle": "h"}}, "setup.sessionResumption.handle"),
        ({"sessionResumption": {"transparent": True}}, "setup.sessionResumption.transparent"),
        ({"generationConfig": 3}, "setup.generationConfig is an object"),
        ({"tools": {"retrieval": {}}}, "setup.tools is a list"),
        ({"labels": {"a": "b"}}, "setup.labels is a field this library models"),
        ({"extra": {}}, "setup.extra is a field"),
    ],
)
def test_extra_never_replaces_a_modelled_value(extra: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words.replace(".", r"\.")):
        live_setup(MODEL, extra=extra)
    # The same for a Setup built by hand, when the session opens.
    with pytest.raises(ConfigurationError, match=words.replace(".", r"\.")):
        check_setup(Setup(model=MODEL, extra=extra))


@pytest.mark.parametrize("extra", [[("a", 1)], "x", {"a": object()}])
def test_extra_must_be_a_mapping_of_json_values(extra: object) -> None:
    with pytest.raises(ConfigurationError, match="extra"):
        live_setup(MODEL, extra=extra)  # type: ignore[arg-type]


def test_a_context_update_replaces_the_tools_extra_adds() -> None:
    """The server's tools are the update's: a resume must not bring extra's back."""
    setup = live_setup(MODEL, extra={"tools": [{"retrieval": {}}], "other": 1})
    update = ContextUpdate(tools=ToolsUpdate(tools=[Tool(google_search={})]))
    assert with_context_update(setup, update).extra == {"other": 1}
    instruction = ContextUpdate(system_instruction=Content(parts=[Part(text="hi")]))
    assert with_context_update(setup, instruction).extra == setup.extra


async def test_extra_is_sent_again_on_every_connection(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    setups: list[dict[str, Any]] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        setups.append(await accept_setup(server, ws))
        if len(setups) == 1:
            await ws.aclose(1011, "Internal error encountered.")  # retryable
        await trio.sleep_forever()

    server = FakeServer(nursery, script)
    options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))
    setup = live_setup(MODEL, extra={"generationConfig": {"newKnob": 1}, "newField": "x"})
    with trio.fail_after(10):
        async with open_session(
            setup, endpoint=GEMINI, connector=server.connector, options=options
        ) as session:
            await until_event(session, Reconnected)
            assert session.setup is not None
            assert session.setup.extra == setup.extra
    assert len(setups) == 2
    for frame in setups:
        assert frame["setup"]["generationConfig"]["newKnob"] == 1
        assert frame["setup"]["newField"] == "x"
        assert "extra" not in frame["setup"]


async def test_the_strict_emulator_refuses_an_unknown_extra_field_as_google_does() -> None:
    """Strict (the default) refuses unknown names like Google; `strict=False` lets them in."""
    setup = live_setup(MODEL, extra={"generationConfig": {"newKnob": 1}})
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        with pytest.raises(InvalidArgumentError, match='Unknown name "newKnob"'):
            async with open_session(setup, endpoint=endpoint):
                pass
    async with open_emulator(EmulatorConfig(strict=False)) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(setup, endpoint=endpoint) as session:
            assert session.setup is not None


def test_the_emulator_refuses_a_setup_frame_carrying_extra_by_name() -> None:
    """`extra` is no wire field: a frame holding it is refused as Google would."""
    from trio_gemini_live.emulator._validate import (
        ClientFrameError,
        parse_client_frame,
    )

    with pytest.raises(ClientFrameError, match='Unknown name "extra"'):
        parse_client_frame(b'{"setup":{"model":"m","extra":{}}}', strict=True)


# --- item 2: snake_case schema keys ----------------------------------------------------------


SDK_SCHEMA = gt.Schema(
    type=gt.Type.OBJECT,
    properties={
        "tags": gt.Schema(type=gt.Type.ARRAY, items=gt.Schema(type=gt.Type.STRING), max_items=3),
        "when": gt.Schema(any_of=[gt.Schema(type=gt.Type.STRING), gt.Schema(type=gt.Type.NUMBER)]),
        "max_items": gt.Schema(type=gt.Type.INTEGER, min_length=None),
    },
    property_ordering=["tags", "when", "max_items"],
    required=["tags"],
).model_dump(mode="json", exclude_none=True)


def test_an_sdk_schema_with_snake_case_keys_is_accepted_and_sent_in_camel_case() -> None:
    setup = live_setup(MODEL, functions=[function_tool("f", "d", SDK_SCHEMA)])
    parameters = sent(setup)["tools"][0]["functionDeclarations"][0]["parameters"]
    assert parameters == {
        "type": "OBJECT",
        "properties": {
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "maxItems": 3},
            "when": {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]},
            # A property's name is the application's: never converted.
            "max_items": {"type": "INTEGER"},
        },
        "propertyOrdering": ["tags", "when", "max_items"],
        "required": ["tags"],
    }


def test_a_schema_type_is_sent_as_its_declared_name() -> None:
    # `"type": "object"` went out in lower case; from_json_schema and google-genai send
    # "OBJECT" (an enum value goes out as declared). An unknown one is refused as given.
    schema = {"type": "object", "properties": {"a": {"type": "Array", "items": {"type": "string"}}}}
    setup = live_setup(MODEL, functions=[function_tool("f", "d", schema)])
    parameters = sent(setup)["tools"][0]["functionDeclarations"][0]["parameters"]
    assert parameters == {
        "type": "OBJECT",
        "properties": {"a": {"type": "ARRAY", "items": {"type": "STRING"}}},
    }
    assert camel_schema({"type": "strin"}) == {"type": "strin"}
    assert camel_schema({"properties": {"type": {"type": "integer"}}}) == {
        "properties": {"type": {"type": "INTEGER"}}  # (a property named `type` is no type)
    }


def test_both_spellings_of_one_schema_key_are_refused() -> None:
    schema = {"type": "ARRAY", "maxItems": 2, "max_items": 3}
    with pytest.raises(ConfigurationError, match="'maxItems' and 'max_items'"):
        check_and_prepare(live_setup(MODEL, functions=[function_tool("f", "d", schema)]))
    with pytest.raises(ConfigurationError, match="maxItems"):
        camel_schema({"properties": {"a": schema}})


def check_and_prepare(setup: Setup) -> Setup:
    return _prepare_setup(setup, GEMINI)


def test_snake_case_keys_are_schema_keys_for_every_reader() -> None:
    assert unsupported_schema_keys(SDK_SCHEMA) == []
    assert unsupported_schema_keys({"any_of": [{"readOnly": True}]}) == [
        "parameters.any_of[0].readOnly"
    ]
    import logging

    converted = from_json_schema({"type": "array", "max_items": 2}, logging.getLogger("t"))
    assert converted == {"type": "ARRAY", "maxItems": 2}


async def test_an_sdk_schema_opens_a_session_on_the_strict_emulator() -> None:
    setup = live_setup(MODEL, modality="TEXT", functions=[function_tool("f", "d", SDK_SCHEMA)])
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(setup, endpoint=endpoint) as session:
            await session.update_context(tools=[function_tool("g", "d", SDK_SCHEMA)])
            assert session.setup is not None


# --- item 3: live_setup's options, as google-genai sends them ---------------------------------


def _sdk_setup(config: gt.LiveConnectConfig) -> dict[str, Any]:
    api_client = genai_client.BaseApiClient(api_key="k")
    params = gt.LiveConnectParameters(model=f"models/{MODEL}", config=config)
    return lc._LiveConnectParameters_to_mldev(api_client, params)["setup"]  # type: ignore[no-any-return]


def test_live_setup_options_are_sent_as_google_genai_sends_them() -> None:
    instruction = Content(parts=[Part(text="be brief")], role="user")
    ours = live_setup(
        MODEL,
        modality="AUDIO",
        system_instruction=instruction,
        temperature=0.4,
        top_p=0.9,
        top_k=20,
        max_output_tokens=256,
        seed=7,
        media_resolution="MEDIA_RESOLUTION_LOW",
        thinking_level="LOW",
        include_thoughts=True,
        enable_affective_dialog=True,
        proactive_audio=True,
        prefix_padding_ms=100,
        silence_duration_ms=500,
        start_of_speech_sensitivity="START_SENSITIVITY_LOW",
        end_of_speech_sensitivity="END_SENSITIVITY_HIGH",
        activity_handling="NO_INTERRUPTION",
        turn_coverage="TURN_INCLUDES_ALL_INPUT",
        compression_trigger_tokens=10000,
        compression_target_tokens=5000,
    )
    theirs = _sdk_setup(
        gt.LiveConnectConfig(
            response_modalities=[gt.Modality.AUDIO],
            system_instruction=gt.Content(parts=[gt.Part(text="be brief")], role="user"),
            temperature=0.4,
            top_p=0.9,
            top_k=20,
            max_output_tokens=256,
            seed=7,
            media_resolution=gt.MediaResolution.MEDIA_RESOLUTION_LOW,
            thinking_config=gt.ThinkingConfig(
                thinking_level=gt.ThinkingLevel.LOW, include_thoughts=True
            ),
            enable_affective_dialog=True,
            proactivity=gt.ProactivityConfig(proactive_audio=True),
            realtime_input_config=gt.RealtimeInputConfig(
                automatic_activity_detection=gt.AutomaticActivityDetection(
                    prefix_padding_ms=100,
                    silence_duration_ms=500,
                    start_of_speech_sensitivity=gt.StartSensitivity.START_SENSITIVITY_LOW,
                    end_of_speech_sensitivity=gt.EndSensitivity.END_SENSITIVITY_HIGH,
                ),
                activity_handling=gt.ActivityHandling.NO_INTERRUPTION,
                turn_coverage=gt.TurnCoverage.TURN_INCLUDES_ALL_INPUT,
            ),
            context_window_compression=gt.ContextWindowCompressionConfig(
                trigger_tokens=10000, sliding_window=gt.SlidingWindow(target_tokens=5000)
            ),
            session_resumption=gt.SessionResumptionConfig(),
        )
    )
    # google-genai leaves nested configs as pydantic objects, which it sends dumped with
    # their snake_case names (the server takes both spellings): compared in camelCase.
    theirs_json = _camel_keys(json.loads(msgspec.json.encode(theirs, enc_hook=_dump)))
    assert sent(ours) == theirs_json


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_none=True)


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key): _camel_keys(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value


def test_a_str_system_instruction_is_still_one_user_turn() -> None:
    assert sent(live_setup(MODEL, system_instruction="hi"))["systemInstruction"] == {
        "parts": [{"text": "hi"}],
        "role": "user",
    }


def test_compression_target_alone_turns_compression_on() -> None:
    assert sent(live_setup(MODEL, compression_target_tokens=500))["contextWindowCompression"] == {
        "slidingWindow": {"targetTokens": 500}
    }


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"top_p": 1.5}, "top_p must be between 0.0 and 1.0"),
        ({"top_k": 0}, "top_k must be at least 1"),
        ({"max_output_tokens": 0}, "max_output_tokens must be at least 1"),
        ({"prefix_padding_ms": -1}, "prefix_padding_ms must be an int >= 0"),
        ({"compression_target_tokens": 0}, "compression_target_tokens must be a positive int"),
    ],
)
def test_live_setup_refuses_values_out_of_their_range(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        live_setup(MODEL, **kwargs)


def test_an_unknown_enum_name_is_sent_and_named_only_if_refused() -> None:
    """The server judges enums (Google adds values); a 1007's hint names the unknown one."""
    setup = live_setup(MODEL, thinking_level="ULTRA", activity_handling="NEVER")
    frame = sent(setup)
    assert frame["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "ULTRA"}
    hint = setup_hint(check_and_prepare(setup))
    assert "thinkingConfig.thinkingLevel is 'ULTRA'" in hint
    assert "activityHandling is 'NEVER'" in hint


# --- item 4: backend-specific fields -----------------------------------------------------------


def test_transparent_resumption_is_refused_for_a_gemini_api_endpoint() -> None:
    setup = live_setup(MODEL, transparent_resumption=True)
    with pytest.raises(ConfigurationError, match="Vertex AI only"):
        _prepare_setup(setup, GEMINI)
    prepared = _prepare_setup(setup, VERTEX)  # Vertex AI's path, or vertex=True
    assert prepared.session_resumption is not None
    assert prepared.session_resumption.transparent
    _prepare_setup(setup, url_endpoint(GEMINI_URL, api_key="k", vertex=True))
    _prepare_setup(setup, url_endpoint("ws://127.0.0.1/anywhere", api_key="k"))


async def test_transparent_resumption_never_reaches_the_gemini_api_emulator() -> None:
    """It used to be sent, and the server closed 1007 'Unknown name "transparent"'."""
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        with pytest.raises(ConfigurationError, match="Vertex AI only"):
            async with open_session(
                live_setup(MODEL, transparent_resumption=True), endpoint=endpoint
            ):
                pass
        assert emulator.connections == []


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (
            Setup(model=f"models/{MODEL}", explicit_vad_signal=True),
            "explicitVadSignal is for Vertex AI only: the Gemini API refuses it",
        ),
        (
            Setup(model=f"models/{MODEL}", extra={"tools": [{"retrieval": {}}]}),
            "tools[0].retrieval is a tool for Vertex AI only: the Gemini API refuses it",
        ),
        (
            Setup(
                model=f"projects/p/locations/l/publishers/google/models/{MODEL}",
                labels={"team": "x"},
            ),
            "labels is for the Gemini API only: Vertex AI refuses it",
        ),
        (
            Setup(
                model=f"projects/p/locations/l/publishers/google/models/{MODEL}",
                tools=[Tool(file_search={})],
            ),
            "tools[0].fileSearch is a tool for the Gemini API only: Vertex AI refuses it",
        ),
        (
            Setup(
                model=MODEL,
                extra={
                    "generationConfig": {"speechConfig": {"multiSpeakerVoiceConfig": {}}},
                },
            ),
            "generationConfig.speechConfig.multiSpeakerVoiceConfig is not supported in the "
            "Live API",
        ),
    ],
    ids=["explicit-vad", "retrieval", "labels", "file-search", "multi-speaker"],
)
def test_a_refused_setup_names_a_field_of_the_other_backend(setup: Setup, words: str) -> None:
    assert words in setup_hint(setup)


def test_the_gemini_api_hint_for_transparent_resumption() -> None:
    setup = Setup(model=f"models/{MODEL}", extra=None)
    setup = msgspec.structs.replace(
        setup, session_resumption=live_setup(MODEL, transparent_resumption=True).session_resumption
    )
    assert "sessionResumption.transparent is for Vertex AI only" in setup_hint(setup)
    vertex = msgspec.structs.replace(
        setup, model="projects/p/locations/l/publishers/google/models/m"
    )
    assert setup_hint(vertex) == ""


def test_function_declarations_of_an_sdk_schema_keep_their_other_fields() -> None:
    declaration = FunctionDeclaration(name="f", parameters={"type": "OBJECT"}, behavior="BLOCKING")
    assert sent(Setup(model=MODEL, tools=[Tool(function_declarations=[declaration])]))["tools"] == [
        {
            "functionDeclarations": [
                {"name": "f", "parameters": {"type": "OBJECT"}, "behavior": "BLOCKING"}
            ]
        }
    ]


# --- the session diff review's findings --------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "sessionResumption",
        "session_resumption",
        "contextWindowCompression",
        "inputAudioTranscription",
        "outputAudioTranscription",
    ],
)
def test_extra_cannot_turn_on_a_setting_whose_presence_is_the_setting(key: str) -> None:
    # `extra={"sessionResumption": {}}` was sent: the server issued handles while the
    # session, reading the Struct, kept no replay buffer and never resumed.
    with pytest.raises(ConfigurationError, match=r"extra: setup\.\w+ is off in this setup"):
        sent(live_setup(MODEL, resumption=False, extra={key: {}}))


def test_extra_adds_to_a_presence_setting_the_struct_has_on() -> None:
    setup = live_setup(MODEL, extra={"sessionResumption": {"newKnob": 1}})
    assert sent(setup)["sessionResumption"] == {"newKnob": 1}


SECRET = "s3cret-value-123"


def secret_setup() -> Setup:
    tool = Tool(
        parallel_ai_search={"apiKey": SECRET, "maxResults": 3},
        mcp_servers=[{"headers": {"Authorization": f"Bearer {SECRET}"}}],  # (`name`: Gemini)
    )
    return live_setup(
        MODEL, modality="TEXT", tools=[tool], extra={"newTool": {"api_key": SECRET, "n": 1}}
    )


def test_a_credential_in_the_setup_is_sent_but_kept_out_of_reprs() -> None:
    # The new tool kinds and `extra` put credentials in the Setup; msgspec's repr printed
    # them in full (and a repr ends up in logs and tracebacks).
    setup = secret_setup()
    frame = LiveProtocol().start(_prepare_setup(setup, VERTEX)).decode()  # Vertex's tool
    assert frame.count(SECRET) == 3  # the server gets them all
    for shown in (repr(setup), str(setup), repr(setup.tools), repr([setup])):
        assert SECRET not in shown
        assert "REDACTED" in shown
    assert "maxResults': 3" in repr(setup)  # the rest is shown as before


async def test_session_updated_shows_the_setup_as_sent_without_its_credentials(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # It showed `extra` as a raw key (its tools not under `tools`) and the credentials as
    # given.
    from trio_gemini_live import SessionUpdated

    # `newTool` is unknown to any server; `parallelAiSearch` is a Vertex AI tool.
    config = EmulatorConfig(strict=False, vertex=True)
    async with open_emulator(config) as emulator, emulator.open_session(secret_setup()) as s:
        with trio.fail_after(10):
            event = await until_event(s, SessionUpdated)
    shown = event.setup
    assert "extra" not in shown
    assert shown["newTool"] == {"api_key": "REDACTED", "n": 1}
    assert shown["tools"][0]["parallelAiSearch"] == {"apiKey": "REDACTED", "maxResults": 3}
    assert shown["tools"][0]["mcpServers"] == [{"headers": "REDACTED"}]
    assert SECRET not in json.dumps(shown)
