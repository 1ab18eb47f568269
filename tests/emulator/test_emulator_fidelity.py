"""The emulator matches what Google's service is recorded or documented to do.

One test (or a few) per discrepancy a review found between the emulator and protocol.md:
the Gemini API's unfinished input transcripts, Vertex-only setup fields, handles only after
a turn, empty transcriptions, Vertex's `generationComplete` after a `toolCall` and plain
`audio/pcm`, `inlineData` key order, wrong JSON types, the 1008 deadline reason and the
prompt's fixed overhead.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import msgspec
import pytest
import trio

from emulator.emulator_client import GEMINI_PATH, MODEL, NATIVE, connect, start, turn_complete
from trio_gemini_live import (
    FunctionCall,
    FunctionResponse,
    InputTranscription,
    OutputTranscription,
    RealtimeEvent,
    Reconnected,
    TextDelta,
    TurnComplete,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._codec import decode_server, encode_client
from trio_gemini_live._wire import Blob, ClientMessage, RealtimeInput
from trio_gemini_live.emulator import EmulatorConfig, Fault
from trio_gemini_live.emulator._validate import ClientFrameError, parse_client_frame
from turns import until_event

VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}
WEATHER = {
    "functionDeclarations": [
        {
            "name": "get_current_weather",
            "description": "Weather in a place",
            "parameters": {
                "type": "OBJECT",
                "properties": {"location": {"type": "STRING"}},
                "required": ["location"],
            },
        }
    ]
}


def tone(ms: int) -> bytes:
    """A loud 440 Hz tone at 16 kHz: speech to the emulator's VAD."""
    n = 16 * ms
    return struct.pack(
        f"<{n}h", *(int(6000 * math.sin(2 * math.pi * 440 * k / 16000)) for k in range(n))
    )


def audio_frame(pcm: bytes) -> dict[str, Any]:
    data = base64.b64encode(pcm).decode()
    return {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": data}}}


async def speak(client: Any, pcm: bytes) -> None:
    for i in range(0, len(pcm), 1280):  # 40 ms chunks
        await client.send(audio_frame(pcm[i : i + 1280]))


# --- 1. inputTranscription.finished: Vertex only -----------------------------------------------


@pytest.mark.parametrize("vertex", [False, True])
async def test_input_transcription_is_marked_finished_on_vertex_only(vertex: bool) -> None:
    """The Gemini API is reported never to send `finished` (js-genai #1429)."""
    async with start() as emu, connect(emu, VERTEX_PATH if vertex else GEMINI_PATH) as client:
        await client.setup(model=NATIVE, inputAudioTranscription={})
        await speak(client, tone(600) + bytes(32000))
        messages = await client.turn()
    heard = [
        m["serverContent"]["inputTranscription"]
        for m in messages
        if "inputTranscription" in m.get("serverContent", {})
    ]
    assert "".join(h["text"] for h in heard) == "Hello, can you hear me?"
    finished = [h.get("finished", False) for h in heard]
    assert finished == ([False] * (len(heard) - 1) + [True] if vertex else [False] * len(heard))


async def test_the_client_needs_no_finished_transcript(autojump_clock: trio.abc.Clock) -> None:
    """The client's input transcription events and the turn come without any `finished`."""
    setup = live_setup(NATIVE, input_transcription=True)
    seen: list[RealtimeEvent] = []
    async with start() as emu, emu.open_session(setup) as session:
        pcm = tone(600) + bytes(32000)
        for i in range(0, len(pcm), 1280):
            await session.send_audio(pcm[i : i + 1280])
        with trio.fail_after(30):
            await until_event(session, TurnComplete, seen)
    heard = [e for e in seen if isinstance(e, InputTranscription)]
    assert "".join(e.text for e in heard) == "Hello, can you hear me?"
    assert not any(e.finished for e in heard)


# --- 2. Vertex-only setup fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (
            {"sessionResumption": {"transparent": True}},
            "Unknown name \"transparent\" at 'setup.session_resumption': Cannot find field.",
        ),
        (
            {"session_resumption": {"transparent": False}},
            "Unknown name \"transparent\" at 'setup.session_resumption': Cannot find field.",
        ),
        (
            {"explicitVadSignal": True},
            "Unknown name \"explicitVadSignal\" at 'setup': Cannot find field.",
        ),
        (
            # google-genai's `_SafetySetting_to_mldev` refuses it for the Gemini API.
            {
                "safetySettings": [
                    {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
                    {
                        "category": "HARM_CATEGORY_HARASSMENT",
                        "threshold": "BLOCK_NONE",
                        "method": "SEVERITY",
                    },
                ]
            },
            "Unknown name \"method\" at 'setup.safety_settings[1]': Cannot find field.",
        ),
        *(
            (
                {"tools": [{"googleSearch": {}}, {kind: {}}]},
                f"Unknown name \"{kind}\" at 'setup.tools[1]': Cannot find field.",
            )
            # The tool kinds google-genai's `_Tool_to_mldev` refuses for the Gemini API.
            for kind in ("retrieval", "enterpriseWebSearch", "parallelAiSearch", "exaAiSearch")
        ),
    ],
)
async def test_vertex_only_setup_fields_are_unknown_to_the_gemini_api(
    setup: dict[str, Any], reason: str
) -> None:
    async with start() as emu:
        async with connect(emu) as client:
            await client.send({"setup": {"model": MODEL, **setup}})
            assert await client.closed() == (1007, f"Invalid JSON payload received. {reason}")
        async with connect(emu, VERTEX_PATH) as client:
            assert "setupComplete" in await client.setup(**setup)
    async with start(EmulatorConfig(vertex=True)) as emu, connect(emu) as client:
        assert "setupComplete" in await client.setup(**setup)


@pytest.mark.parametrize(
    ("part", "where", "name"),
    [
        ({"fileData": {"fileUri": "gs://b/f.png", "displayName": "f"}}, "file_data", "displayName"),
        ({"functionCall": {"name": "f", "willContinue": True}}, "function_call", "willContinue"),
        (
            {"functionCall": {"name": "f", "partialArgs": [{"jsonPath": "$.a"}]}},
            "function_call",
            "partialArgs",
        ),
    ],
)
async def test_vertex_only_part_fields_are_unknown_to_the_gemini_api(
    part: dict[str, Any], where: str, name: str
) -> None:
    # (The wire Structs have them since the client reads them in the server's parts.)
    content = {"clientContent": {"turns": [{"role": "model", "parts": [part]}]}}
    async with start() as emu:
        async with connect(emu) as client:
            await client.setup()
            await client.send(content)
            code, reason = await client.closed()
            expected = (
                f'Invalid JSON payload received. Unknown name "{name}" at '
                f"'client_content.turns[0].parts[0].{where}': Cannot find field."
            )
            # (A close reason is cut to 123 bytes, as Google's are.)
            assert (code, reason) == (1007, expected[: len(reason)])
            assert f'"{name}"' in reason
        async with connect(emu, VERTEX_PATH) as client:
            await client.setup()
            await client.send(content)
            await client.send({"realtimeInput": {"text": "still open?"}})
            assert await client.turn()


async def test_the_newer_setup_fields_google_takes_are_taken_in_strict_mode() -> None:
    """Tool kinds, voices and transcription settings both backends' protos have.

    (Those the Gemini API's alone has: `test_gemini_only_setup_fields_are_unknown_to_vertex`.)
    """
    transcription = {
        "languageCodes": ["en-US"],
        "languageAuto": {},
        "languageHints": {"languageCodes": ["en-US"]},
        "adaptationPhrases": ["trio"],
        "wordTimestamp": True,
        "diarization": True,
        "sourceText": "Hello there",
    }
    setup = {
        "tools": [
            {"googleSearchRetrieval": {"dynamicRetrievalConfig": {"mode": "MODE_DYNAMIC"}}},
            {"mcpServers": [{}]},
        ],
        "generationConfig": {
            "speechConfig": {
                "voiceConfig": {
                    "replicatedVoiceConfig": {
                        "mimeType": "audio/wav",
                        "voiceSampleAudio": "UklGRg==",
                    }
                }
            }
        },
        "realtimeInputConfig": {"interimTranscriptTimestampEnabled": True},
        "inputAudioTranscription": transcription,
        "outputAudioTranscription": transcription,
    }
    for path in (GEMINI_PATH, VERTEX_PATH):
        async with start() as emu, connect(emu, path) as client:
            assert "setupComplete" in await client.setup(**setup)


_VOICE = "setup.generation_config.speech_config.voice_config.replicated_voice_config"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        # What google-genai's `_Tool_to_vertex`, `_McpServer_to_vertex` and
        # `_ReplicatedVoiceConfig_to_vertex` refuse ("only supported in Gemini Developer API").
        (
            {"tools": [{"googleSearch": {}}, {"fileSearch": {}}]},
            "Unknown name \"fileSearch\" at 'setup.tools[1]': Cannot find field.",
        ),
        (
            {"tools": [{"mcpServers": [{}, {"name": "m"}]}]},
            "Unknown name \"name\" at 'setup.tools[0].mcp_servers[1]': Cannot find field.",
        ),
        (
            {"tools": [{"mcpServers": [{"streamable_http_transport": {"url": "https://m"}}]}]},
            'Unknown name "streamable_http_transport" at '
            "'setup.tools[0].mcp_servers[0]': Cannot find field.",
        ),
        *(
            (
                {
                    "generationConfig": {
                        "speechConfig": {"voiceConfig": {"replicatedVoiceConfig": {name: value}}}
                    }
                },
                f"Unknown name \"{name}\" at '{_VOICE}': Cannot find field.",
            )
            for name, value in (
                ("consentAudio", "UklGRg=="),
                ("voiceConsentSignature", {"signature": "sig"}),
            )
        ),
    ],
)
async def test_gemini_only_setup_fields_are_unknown_to_vertex(
    setup: dict[str, Any], reason: str
) -> None:
    async with start() as emu:
        async with connect(emu, VERTEX_PATH) as client:
            await client.send({"setup": {"model": MODEL, **setup}})
            code, said = await client.closed()
            # (A close reason is cut to 123 bytes, as Google's are.)
            assert (code, said) == (1007, f"Invalid JSON payload received. {reason}"[:123])
        async with connect(emu) as client:
            assert "setupComplete" in await client.setup(**setup)
    async with start(EmulatorConfig(vertex=True)) as emu, connect(emu) as client:
        await client.send({"setup": {"model": MODEL, **setup}})
        assert (await client.closed())[0] == 1007


async def test_a_lax_emulator_drops_gemini_only_fields_on_vertex() -> None:
    setup = {"tools": [{"mcpServers": [{"name": "m"}]}, {"fileSearch": {}}]}
    config = EmulatorConfig(strict=False, vertex=True)
    async with start(config) as emu, connect(emu) as client:
        assert "setupComplete" in await client.setup(**setup)
        taken = (await emu.wait_for_connection(1)).setup
    assert taken is not None
    assert taken.tools is not None
    assert [tool.mcp_servers for tool in taken.tools] == [[{}], None]
    assert [tool.file_search for tool in taken.tools] == [None, None]


async def test_a_lax_emulator_drops_vertex_only_fields_on_the_gemini_api() -> None:
    """Like any unknown field when `strict` is off; the resumption itself still works."""
    async with start(EmulatorConfig(strict=False)) as emu, connect(emu) as client:
        assert await client.setup(sessionResumption={"transparent": True}) == {"setupComplete": {}}
        update = (await client.recv())["sessionResumptionUpdate"]
    assert "lastConsumedClientMessageIndex" not in update
    assert update["resumable"] is True


# --- 3. first_handle="turn" --------------------------------------------------------------------


async def test_first_handle_turn_sends_no_update_before_the_first_turn_ends() -> None:
    config = EmulatorConfig(first_handle="turn")
    async with start(config) as emu, connect(emu) as client:
        await client.setup(sessionResumption={}, **TEXT)
        await client.send({"realtimeInput": {"text": "hi"}})
        turn = await client.turn()
        after = await client.recv()
        await client.send({"realtimeInput": {"text": "again"}})
        second = await client.turn()
    assert not [m for m in turn if "sessionResumptionUpdate" in m]
    assert after["sessionResumptionUpdate"]["resumable"] is True
    # From then on as usual: "not resumable" while the next turn is generated.
    assert second[0] == {"sessionResumptionUpdate": {}}


def test_first_handle_is_checked_and_on_the_command_line() -> None:
    from trio_gemini_live.emulator._cli import _config, build_parser  # pyright: ignore[reportPrivateUsage]

    with pytest.raises(ValueError, match="first_handle must be 'setup' or 'turn'"):
        EmulatorConfig(first_handle="later")  # type: ignore[arg-type]
    assert EmulatorConfig().first_handle == "setup"
    parser = build_parser()
    assert _config(parser.parse_args([])).first_handle == "setup"
    assert _config(parser.parse_args(["--first-handle", "turn"])).first_handle == "turn"


async def test_the_client_survives_a_drop_before_the_first_handle(
    autojump_clock: trio.abc.Clock,
) -> None:
    """With no handle yet, the client reconnects without one, to a new session on the
    server, and replays what it had sent (no handle said the server had it): the question
    asked before the drop is answered on the new connection."""
    # The first connection takes the question in but never answers it (`stall`).
    config = EmulatorConfig(first_handle="turn", faults=(Fault(kind="stall", connection=1),))
    setup = live_setup(MODEL, modality="TEXT")
    seen: list[RealtimeEvent] = []
    async with start(config) as emu:
        endpoint = url_endpoint(emu.endpoint_url(), api_key="test-key")
        async with open_session(
            setup, endpoint=endpoint, connector=emu.memory_connector()
        ) as session:
            first = await emu.wait_for_connection(1)
            await session.send_text("are you there")
            await first.wait_for_received("realtimeInput.text")
            await first.reset()
            with trio.fail_after(60):
                await until_event(session, TurnComplete, seen)
            second = await emu.wait_for_connection(2)
    assert not [f for f in first.sent if f.get("sessionResumptionUpdate")]
    [reconnected] = [e for e in seen if isinstance(e, Reconnected)]
    assert reconnected.replayed == 1
    assert second.setup is not None
    resumption = second.setup.session_resumption
    assert resumption is not None
    assert resumption.handle is None
    assert [f.data for f in second.received[1:]] == [{"realtimeInput": {"text": "are you there"}}]
    text = "".join(e.text for e in seen if isinstance(e, TextDelta))
    assert text == "You said: are you there"


# --- 4. an output transcription without text ---------------------------------------------------


async def test_empty_frames_give_the_client_no_event_and_no_crash(
    autojump_clock: trio.abc.Clock,
) -> None:
    config = EmulatorConfig(faults=(Fault(kind="empty-frames"),))
    setup = live_setup(NATIVE, output_transcription=True)
    seen: list[RealtimeEvent] = []
    async with start(config) as emu, emu.open_session(setup) as session:
        await session.send_text("hello there")
        with trio.fail_after(30):
            await until_event(session, TurnComplete, seen)
        conn = emu.connections[0]
    assert [f.data for f in conn.sent if f.data == {"serverContent": {"outputTranscription": {}}}]
    said = [e for e in seen if isinstance(e, OutputTranscription)]
    assert said
    assert all(e.text for e in said)
    assert "".join(e.text for e in said) == "You said: hello there"


# --- 5 and 6. Vertex: generationComplete after a toolCall, plain audio/pcm ---------------------


@pytest.mark.parametrize("vertex", [False, True])
async def test_generation_complete_follows_a_tool_call_on_vertex(vertex: bool) -> None:
    async with start() as emu, connect(emu, VERTEX_PATH if vertex else GEMINI_PATH) as client:
        await client.setup(tools=[WEATHER], **TEXT)
        await client.send({"realtimeInput": {"text": "what is the weather in Redmond"}})
        before = await client.recv_until(lambda m: "toolCall" in m)
        [call] = before[-1]["toolCall"]["functionCalls"]
        if vertex:
            assert await client.recv() == {"serverContent": {"generationComplete": True}}
        response = {"id": call["id"], "name": call["name"], "response": {"result": "sunny"}}
        await client.send({"toolResponse": {"functionResponses": [response]}})
        after = await client.turn()
    completes = [m for m in after if m.get("serverContent", {}).get("generationComplete")]
    assert len(completes) == 1  # the answer's own, after its text
    assert after.index(completes[0]) == len(after) - 2


async def test_the_client_answers_a_vertex_tool_call(autojump_clock: trio.abc.Clock) -> None:
    """`generationComplete` before the response does not end the client's turn."""
    tool = function_tool(
        "get_current_weather",
        "Weather in a place",
        {"type": "OBJECT", "properties": {"location": {"type": "STRING"}}},
    )
    setup = live_setup(MODEL, modality="TEXT", functions=[tool])
    seen: list[RealtimeEvent] = []
    async with start() as emu:
        endpoint = url_endpoint(emu.vertex_endpoint_url(), api_key="test-key")
        async with open_session(
            setup, endpoint=endpoint, connector=emu.memory_connector()
        ) as session:
            await session.send_text("what is the weather in Redmond")
            with trio.fail_after(30):
                async for event in session:
                    seen.append(event)
                    if isinstance(event, FunctionCall):
                        answer = {"result": "sunny"}
                        await session.send_tool_response(
                            FunctionResponse(id=event.call_id, name=event.name, response=answer)
                        )
                    if isinstance(event, TurnComplete):
                        break
    text = "".join(e.text for e in seen if isinstance(e, TextDelta))
    assert text == 'get_current_weather returned {"result": "sunny"}.'


@pytest.mark.parametrize(
    ("path", "model", "mime"),
    [
        (VERTEX_PATH, MODEL, "audio/pcm"),
        (VERTEX_PATH, NATIVE, "audio/pcm;rate=24000"),
        (GEMINI_PATH, MODEL, "audio/pcm;rate=24000"),
    ],
)
async def test_vertex_half_cascade_audio_is_plain_audio_pcm(
    path: str, model: str, mime: str
) -> None:
    async with start() as emu, connect(emu, path) as client:
        await client.setup(model=model)
        await client.send({"realtimeInput": {"text": "hi"}})
        messages = await client.turn()
        raw = next(f.raw for f in emu.connections[0].sent if f.get("serverContent.modelTurn"))
    blobs = [
        part["inlineData"]
        for m in messages
        for part in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
        if "inlineData" in part
    ]
    assert blobs
    assert {b["mimeType"] for b in blobs} == {mime}
    # The client reads plain `audio/pcm` as the 24 kHz it is.
    audio = decode_server(raw).server_content
    assert audio is not None
    assert audio.model_turn is not None


# --- 7. inlineData key order ------------------------------------------------------------------


async def test_inline_data_lists_mime_type_before_data() -> None:
    """Proto `Blob` numbers `mime_type` 1 and `data` 2 (protocol.md 3.2)."""
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE)
        await client.send({"realtimeInput": {"text": "hi"}})
        messages = await client.turn()
        raws = [f.raw for f in emu.connections[0].sent if f.get("serverContent.modelTurn")]
    blobs = [
        part["inlineData"]
        for m in messages
        for part in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
        if "inlineData" in part
    ]
    assert blobs
    assert all(list(b) == ["mimeType", "data"] for b in blobs)
    assert all(raw.index(b'"mimeType"') < raw.index(b'"data"') for raw in raws)
    # The client reads them, the audio fast path's learned skeleton included, to the byte.
    for raw, message in zip(raws, messages, strict=False):
        decoded = decode_server(raw)
        assert decoded == decode_server(raw)
        assert decoded.server_content is not None
        assert decoded.server_content.model_turn is not None
        blob = decoded.server_content.model_turn.parts[0].inline_data
        assert blob is not None
        wire = message["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
        assert blob.data == base64.b64decode(wire["data"])


def test_the_client_still_sends_data_before_mime_type() -> None:
    """As the recorded client frames have it (js-genai, google-genai)."""
    frame = encode_client(
        ClientMessage(realtime_input=RealtimeInput(audio=Blob(data=b"\0\0", mime_type="audio/pcm")))
    )
    assert frame == b'{"realtimeInput":{"audio":{"data":"AAA=","mimeType":"audio/pcm"}}}'


# --- 8. wrong JSON types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ({"clientContent": {"turnComplete": 1}}, "'client_content.turn_complete' (TYPE_BOOL), 1"),
        (
            {"clientContent": {"turnComplete": "true"}},
            "'client_content.turn_complete' (TYPE_BOOL), \"true\"",
        ),
        ({"realtimeInput": {"text": 3}}, "'realtime_input.text' (TYPE_STRING), 3"),
        (
            {
                "setup": {
                    "model": MODEL,
                    "realtimeInputConfig": {
                        "automaticActivityDetection": {"silenceDurationMs": 1.5}
                    },
                }
            },
            "'setup.realtime_input_config.automatic_activity_detection."
            "silence_duration_ms' (TYPE_INT32), 1.5",
        ),
        (
            {"setup": {"model": MODEL, "contextWindowCompression": {"triggerTokens": "many"}}},
            "'setup.context_window_compression.trigger_tokens' (TYPE_INT64), \"many\"",
        ),
        (
            {"setup": {"model": MODEL, "generationConfig": {"temperature": "hot"}}},
            "'setup.generation_config.temperature' (TYPE_FLOAT), \"hot\"",
        ),
        ({"setup": {"model": MODEL, "generationConfig": {"topK": True}}}, "(TYPE_INT32), true"),
        (
            {"setup": {"model": MODEL, "labels": {"env": "dev", "team": 1}}},
            "'setup.labels[1].value' (TYPE_STRING), 1",
        ),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_like_google(
    frame: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(json.dumps(frame), strict=True)
    assert caught.value.code == 1007
    assert caught.value.reason.startswith("Invalid JSON payload received. Invalid value at ")
    assert caught.value.reason.endswith(reason)


def test_a_map_that_is_not_an_object_is_refused_as_any_message_field_is() -> None:
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(json.dumps({"setup": {"model": MODEL, "labels": ["a"]}}), strict=True)
    assert caught.value.code == 1007
    assert caught.value.reason == (
        "Invalid JSON payload received. Invalid value at 'setup.labels': expected an object."
    )


def test_a_map_of_strings_is_still_taken() -> None:
    frame = {"setup": {"model": MODEL, "labels": {"env": "dev", "team": "a"}}}
    _, message = parse_client_frame(json.dumps(frame), strict=True)
    assert message.setup is not None
    assert message.setup.labels == {"env": "dev", "team": "a"}


def test_proto3_json_spellings_of_numbers_are_still_accepted() -> None:
    setup = {
        "model": MODEL,
        "generationConfig": {
            "responseModalities": [1],
            "topK": "40",
            "topP": "0.5",
            "presencePenalty": "-Infinity",
            "frequencyPenalty": "NaN",
            "maxOutputTokens": 100.0,
        },
        "contextWindowCompression": {
            "triggerTokens": "25600",
            "slidingWindow": {"targetTokens": 9},
        },
    }
    _, message = parse_client_frame(json.dumps({"setup": setup}), strict=True)
    assert message.setup is not None
    gen = message.setup.generation_config
    assert gen is not None
    assert (gen.response_modalities, gen.top_k, gen.top_p) == (["TEXT"], 40, 0.5)
    assert gen.presence_penalty == -math.inf
    assert gen.frequency_penalty is not None
    assert math.isnan(gen.frequency_penalty)
    assert gen.max_output_tokens == 100
    compression = message.setup.context_window_compression
    assert compression is not None
    assert compression.trigger_tokens == 25600


async def test_a_wrong_type_closes_the_session_with_1007() -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await client.send({"clientContent": {"turnComplete": "true"}})
        assert await client.closed() == (
            1007,
            "Invalid JSON payload received. Invalid value at 'client_content.turn_complete' "
            '(TYPE_BOOL), "true"',
        )


# --- 9. the deadline close's reason ------------------------------------------------------------


def test_the_deadline_reason_is_the_one_observed_with_its_code() -> None:
    expired = "Deadline expired before operation could complete."
    assert EmulatorConfig().deadline_reason() == ""
    assert EmulatorConfig(deadline_close_code=1011).deadline_reason() == expired
    given = EmulatorConfig(deadline_close_reason="bye")
    assert given.deadline_reason() == "bye"
    with pytest.raises(ValueError, match="deadline_close_reason must be"):
        EmulatorConfig(deadline_close_reason=5)  # type: ignore[arg-type]


# --- 10. the prompt's fixed overhead -----------------------------------------------------------


async def test_prompt_tokens_match_the_recording() -> None:
    """live_ML_Dev_should_send_text_in_async_session: 515 prompt tokens for this turn."""
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        turn = {"parts": [{"text": "Hello what should we talk about?"}], "role": "user"}
        await client.send({"clientContent": {"turns": [turn], "turnComplete": True}})
        messages = await client.turn()
    usage = messages[-1]["usageMetadata"]
    assert turn_complete(messages[-1])
    assert usage["promptTokenCount"] == 515
    assert usage["promptTokensDetails"] == [{"modality": "TEXT", "tokenCount": 515}]
    response = usage["responseTokenCount"]
    assert usage["responseTokensDetails"] == [{"modality": "TEXT", "tokenCount": response}]
    assert usage["totalTokenCount"] == 515 + response
    assert msgspec.json.decode(json.dumps(usage)) == usage
