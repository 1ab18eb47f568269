"""The wire Structs: canonical compact camelCase JSON, defaults omitted, lossless round trips."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import given, settings, strategies as st

from strategies import struct_strategy
from test_recordings import load
from trio_gemini_live import _wire as w
from trio_gemini_live._codec import decode_ordinary, decode_server, encode_client

# Scales with the active Hypothesis profile (tests/conftest.py): small in the default run,
# large under the fuzz profile. Many Structs are parametrized, so each gets a fraction.
EXAMPLES = max(10, settings.default.max_examples // 5)

STRUCTS: list[type[w.WireStruct]] = [getattr(w, name) for name in w.__all__]
SERVER_STRUCTS = {
    w.ServerMessage,
    w.SetupCompleteMessage,
    w.ServerContent,
    w.Transcription,
    w.ToolCallMessage,
    w.ToolCallCancellationMessage,
    w.GoAwayMessage,
    w.SessionResumptionUpdateMessage,
    w.UsageMetadata,
    w.ModalityTokenCount,
    w.VoiceActivityMessage,
    w.VoiceActivityDetectionSignalMessage,
}

MODEL = "models/gemini-live-2.5-flash-preview"
TEXT_MODALITY = w.GenerationConfig(response_modalities=["TEXT"])


def enc(message: w.ClientMessage) -> bytes:
    return encode_client(message)


# --- byte-for-byte against the recorded camelCase client (js-genai) ------------------------


def recorded_audio(name: str, index: int) -> bytes:
    frame = load(name)[index][1]
    message = json.loads(frame)["realtimeInput"]
    blob = message["audio"] if "audio" in message else message["mediaChunks"][0]
    return base64.b64decode(blob["data"], validate=True)


WEATHER_TOOL = w.Tool(
    function_declarations=[
        w.FunctionDeclaration(
            name="get_current_weather",
            description="Get the current weather in a given location",
            parameters={
                "type": "OBJECT",
                "properties": {
                    "location": {
                        "type": "STRING",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        )
    ]
)

HELLO = w.ClientContent(
    turns=[w.Content(parts=[w.Part(text="Hello what should we talk about?")], role="user")],
    turn_complete=True,
)

RECORDED_CLIENT_FRAMES: list[tuple[str, int, Any]] = [
    (
        "live_ML_Dev_handle_activity_start_and_end.websocket.log",
        0,
        lambda: w.ClientMessage(
            setup=w.Setup(
                model=MODEL,
                generation_config=TEXT_MODALITY,
                realtime_input_config=w.RealtimeInputConfig(
                    automatic_activity_detection=w.AutomaticActivityDetection(disabled=True)
                ),
            )
        ),
    ),
    (
        "live_ML_Dev_handle_activity_start_and_end.websocket.log",
        2,
        lambda: w.ClientMessage(realtime_input=w.RealtimeInput(activity_start=w.ActivityStart())),
    ),
    (
        "live_ML_Dev_handle_activity_start_and_end.websocket.log",
        3,
        lambda: w.ClientMessage(
            realtime_input=w.RealtimeInput(
                audio=w.Blob(
                    data=recorded_audio(
                        "live_ML_Dev_handle_activity_start_and_end.websocket.log", 3
                    ),
                    mime_type="audio/pcm;rate=16000",
                )
            )
        ),
    ),
    (
        "live_ML_Dev_handle_activity_start_and_end.websocket.log",
        4,
        lambda: w.ClientMessage(realtime_input=w.RealtimeInput(activity_end=w.ActivityEnd())),
    ),
    (
        "live_ML_Dev_should_receive_transcription_in_async_session_with_transcription_enabled"
        ".websocket.log",
        0,
        lambda: w.ClientMessage(
            setup=w.Setup(model=MODEL, output_audio_transcription=w.AudioTranscriptionConfig())
        ),
    ),
    (
        "live_ML_Dev_should_receive_transcription_in_async_session_with_transcription_enabled"
        ".websocket.log",
        2,
        lambda: w.ClientMessage(client_content=HELLO),
    ),
    (
        "live_ML_Dev_should_reply_to_realtime_text_input.websocket.log",
        0,
        lambda: w.ClientMessage(setup=w.Setup(model=MODEL, generation_config=TEXT_MODALITY)),
    ),
    (
        "live_ML_Dev_should_reply_to_realtime_text_input.websocket.log",
        2,
        lambda: w.ClientMessage(realtime_input=w.RealtimeInput(text="Are you there Gemini?")),
    ),
    (
        "live_ML_Dev_should_respond_to_realtime_media-audio_input.websocket.log",
        2,
        lambda: w.ClientMessage(
            realtime_input=w.RealtimeInput(
                media_chunks=[
                    w.Blob(
                        data=recorded_audio(
                            "live_ML_Dev_should_respond_to_realtime_media-audio_input"
                            ".websocket.log",
                            2,
                        ),
                        mime_type="audio/pcm;rate=16000",
                    )
                ]
            )
        ),
    ),
    (
        "live_ML_Dev_should_send_text_in_async_session.websocket.log",
        0,
        lambda: w.ClientMessage(setup=w.Setup(model=MODEL)),
    ),
    (
        "live_ML_Dev_should_send_tool_response.websocket.log",
        0,
        lambda: w.ClientMessage(setup=w.Setup(model=MODEL, tools=[WEATHER_TOOL])),
    ),
    (
        "live_ML_Dev_should_send_tool_response.websocket.log",
        2,
        lambda: w.ClientMessage(
            client_content=w.ClientContent(
                turns=[
                    w.Content(
                        parts=[w.Part(text="what is the weather in Redmond Washington")],
                        role="user",
                    )
                ],
                turn_complete=True,
            )
        ),
    ),
    (
        "live_ML_Dev_should_send_tool_response_with_function_responses.websocket.log",
        2,
        lambda: w.ClientMessage(
            tool_response=w.ToolResponse(
                function_responses=[
                    w.FunctionResponse(
                        id="function-call-1", name="getStatus", response={"mood": "happy"}
                    )
                ]
            )
        ),
    ),
]


@pytest.mark.parametrize(
    ("name", "index", "build"),
    RECORDED_CLIENT_FRAMES,
    ids=[f"{name.removeprefix('live_ML_Dev_')[:40]}#{i}" for name, i, _ in RECORDED_CLIENT_FRAMES],
)
def test_struct_encoding_matches_recorded_frame(name: str, index: int, build: Any) -> None:
    direction, frame = load(name)[index]
    assert direction == ">"
    assert enc(build()) == frame


def test_every_recorded_client_frame_re_encodes_identically() -> None:
    from test_recordings import EXPECTED

    count = 0
    for name in EXPECTED:
        for direction, frame in load(name):
            if direction == ">":
                assert enc(msgspec.json.decode(frame, type=w.ClientMessage)) == frame
                count += 1
    assert count == 21


def test_protocol_md_example_setup_is_canonical() -> None:
    # protocol.md section 2.1.2, written as a well-formed camelCase client sends it.
    example = {
        "setup": {
            "model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": {
                    "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}},
                    "languageCode": "en-US",
                },
                "thinkingConfig": {"thinkingBudget": 0},
                "enableAffectiveDialog": True,
            },
            "systemInstruction": {"parts": [{"text": "You are terse."}]},
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "get_weather",
                            "description": "Weather for a city",
                            "parameters": {
                                "type": "OBJECT",
                                "properties": {"city": {"type": "STRING"}},
                                "required": ["city"],
                            },
                        }
                    ]
                },
                {"googleSearch": {}},
            ],
            "realtimeInputConfig": {
                "automaticActivityDetection": {
                    "disabled": False,
                    "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
                    "endOfSpeechSensitivity": "END_SENSITIVITY_HIGH",
                    "prefixPaddingMs": 20,
                    "silenceDurationMs": 100,
                },
                "activityHandling": "START_OF_ACTIVITY_INTERRUPTS",
                "turnCoverage": "TURN_INCLUDES_ONLY_ACTIVITY",
            },
            "sessionResumption": {},
            "contextWindowCompression": {
                "triggerTokens": 25600,
                "slidingWindow": {"targetTokens": 12800},
            },
            "inputAudioTranscription": {},
            "outputAudioTranscription": {},
            "proactivity": {"proactiveAudio": True},
        }
    }
    setup = w.Setup(
        model="models/gemini-2.5-flash-native-audio-preview-12-2025",
        generation_config=w.GenerationConfig(
            response_modalities=["AUDIO"],
            speech_config=w.SpeechConfig(
                voice_config=w.VoiceConfig(
                    prebuilt_voice_config=w.PrebuiltVoiceConfig(voice_name="Kore")
                ),
                language_code="en-US",
            ),
            thinking_config=w.ThinkingConfig(thinking_budget=0),
            enable_affective_dialog=True,
        ),
        system_instruction=w.Content(parts=[w.Part(text="You are terse.")]),
        tools=[
            w.Tool(
                function_declarations=[
                    w.FunctionDeclaration(
                        name="get_weather",
                        description="Weather for a city",
                        parameters={
                            "type": "OBJECT",
                            "properties": {"city": {"type": "STRING"}},
                            "required": ["city"],
                        },
                    )
                ]
            ),
            w.Tool(google_search={}),
        ],
        realtime_input_config=w.RealtimeInputConfig(
            automatic_activity_detection=w.AutomaticActivityDetection(
                disabled=False,
                start_of_speech_sensitivity="START_SENSITIVITY_LOW",
                end_of_speech_sensitivity="END_SENSITIVITY_HIGH",
                prefix_padding_ms=20,
                silence_duration_ms=100,
            ),
            activity_handling="START_OF_ACTIVITY_INTERRUPTS",
            turn_coverage="TURN_INCLUDES_ONLY_ACTIVITY",
        ),
        session_resumption=w.SessionResumptionConfig(),
        context_window_compression=w.ContextWindowCompression(
            trigger_tokens=25600, sliding_window=w.SlidingWindow(target_tokens=12800)
        ),
        input_audio_transcription=w.AudioTranscriptionConfig(),
        output_audio_transcription=w.AudioTranscriptionConfig(),
        proactivity=w.Proactivity(proactive_audio=True),
    )
    expected = json.dumps(example, separators=(",", ":"), ensure_ascii=False).encode()
    assert enc(w.ClientMessage(setup=setup)) == expected


# --- canonical form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (w.ClientMessage(), b"{}"),
        (w.ClientMessage(setup=w.Setup()), b'{"setup":{}}'),
        (
            w.ClientMessage(setup=w.Setup(model="m", tools=[w.Tool(google_search={})])),
            b'{"setup":{"model":"m","tools":[{"googleSearch":{}}]}}',
        ),
        (
            w.ClientMessage(setup=w.Setup(model="m", tools=[w.Tool(code_execution={})])),
            b'{"setup":{"model":"m","tools":[{"codeExecution":{}}]}}',
        ),
        (
            w.ClientMessage(
                setup=w.Setup(model="m", session_resumption=w.SessionResumptionConfig())
            ),
            b'{"setup":{"model":"m","sessionResumption":{}}}',
        ),
        (
            w.ClientMessage(
                setup=w.Setup(model="m", session_resumption=w.SessionResumptionConfig(handle="h-1"))
            ),
            b'{"setup":{"model":"m","sessionResumption":{"handle":"h-1"}}}',
        ),
        (
            w.ClientMessage(client_content=w.ClientContent(turn_complete=True)),
            b'{"clientContent":{"turnComplete":true}}',
        ),
        (w.ClientMessage(client_content=w.ClientContent()), b'{"clientContent":{}}'),
        (
            w.ClientMessage(realtime_input=w.RealtimeInput(audio_stream_end=True)),
            b'{"realtimeInput":{"audioStreamEnd":true}}',
        ),
        (
            w.ClientMessage(realtime_input=w.RealtimeInput(activity_end=w.ActivityEnd())),
            b'{"realtimeInput":{"activityEnd":{}}}',
        ),
        (
            w.ClientMessage(
                context_update=w.ContextUpdate(
                    system_instruction=w.Content(parts=[w.Part(text="x")], role="user")
                )
            ),
            b'{"contextUpdate":{"systemInstruction":{"parts":[{"text":"x"}],"role":"user"}}}',
        ),
        (
            w.ClientMessage(
                tool_response=w.ToolResponse(
                    function_responses=[
                        w.FunctionResponse(
                            id="c1",
                            name="f",
                            response={"result": 1},
                            will_continue=True,
                            scheduling="WHEN_IDLE",
                        )
                    ]
                )
            ),
            b'{"toolResponse":{"functionResponses":[{"id":"c1","name":"f","response":'
            b'{"result":1},"willContinue":true,"scheduling":"WHEN_IDLE"}]}}',
        ),
        (
            w.ClientMessage(
                setup=w.Setup(
                    model="m",
                    context_window_compression=w.ContextWindowCompression(trigger_tokens=0),
                )
            ),
            b'{"setup":{"model":"m","contextWindowCompression":{"triggerTokens":0}}}',
        ),
    ],
)
def test_canonical_compact_encoding(message: w.ClientMessage, expected: bytes) -> None:
    assert enc(message) == expected


@pytest.mark.parametrize("cls", STRUCTS, ids=lambda cls: cls.__name__)
def test_default_struct_encodes_as_empty_object(cls: type[w.WireStruct]) -> None:
    assert msgspec.json.encode(cls()) == b"{}"


def test_setting_none_equals_omitting() -> None:
    explicit = w.Setup(model="m", generation_config=None, tools=None, labels=None)
    assert enc(w.ClientMessage(setup=explicit)) == b'{"setup":{"model":"m"}}'


@pytest.mark.parametrize(
    "data",
    [b"\xff\xd8\xff\xe0", bytearray(b"\xff\xd8\xff\xe0"), memoryview(b"\xff\xd8\xff\xe0")],
    ids=["bytes", "bytearray", "memoryview"],
)
def test_bytes_like_audio_encodes_as_standard_padded_base64(data: Any) -> None:
    message = w.ClientMessage(
        realtime_input=w.RealtimeInput(audio=w.Blob(data=data, mime_type="audio/pcm;rate=16000"))
    )
    # Standard alphabet ("/" not "_") with padding, unlike the Python SDK's urlsafe form.
    assert (
        enc(message)
        == b'{"realtimeInput":{"audio":{"data":"/9j/4A==","mimeType":"audio/pcm;rate=16000"}}}'
    )


def test_memoryview_slice_encodes_only_its_bytes() -> None:
    pcm = memoryview(bytes(range(256)))[10:13]
    blob = msgspec.json.decode(msgspec.json.encode(w.Blob(data=pcm)))
    assert base64.b64decode(blob["data"]) == bytes([10, 11, 12])


def test_non_ascii_text_is_raw_utf8() -> None:
    message = w.ClientMessage(
        tool_response=w.ToolResponse(
            function_responses=[
                w.FunctionResponse(id="1", name="w", response={"city": "Zürich 😀"})
            ]
        )
    )
    frame = enc(message)
    assert "Zürich 😀".encode() in frame
    assert b"\\u" not in frame
    assert frame.decode("utf-8")


def test_voice_activity_kind_is_named_type_on_the_wire() -> None:
    message = w.VoiceActivityMessage(voice_activity_type="ACTIVITY_START", audio_offset="1.2s")
    assert msgspec.json.encode(message) == b'{"type":"ACTIVITY_START","audioOffset":"1.2s"}'


# --- round trips, with the strategies built from the Structs (tests/strategies.py) --------


@pytest.mark.parametrize("cls", STRUCTS, ids=lambda cls: cls.__name__)
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_round_trip_every_wire_struct(cls: type[w.WireStruct], data: st.DataObject) -> None:
    value = data.draw(struct_strategy(cls))
    encoded = msgspec.json.encode(value)
    assert msgspec.json.decode(encoded, type=cls) == value
    # Canonical: encoding the decoded value gives the same bytes.
    assert msgspec.json.encode(msgspec.json.decode(encoded, type=cls)) == encoded


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(message=struct_strategy(w.ClientMessage))
def test_round_trip_client_envelope_through_codec(message: w.ClientMessage) -> None:
    frame = encode_client(message)
    assert b"\n" not in frame  # compact: one line (newlines inside strings are escaped)
    assert msgspec.json.decode(frame, type=w.ClientMessage) == message


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(message=struct_strategy(w.ServerMessage))
def test_round_trip_server_envelope_through_codec(message: w.ServerMessage) -> None:
    compact = msgspec.json.encode(message)
    assert decode_server(compact) == message
    # The real server pretty-prints with a trailing newline; text frames work as well.
    pretty = msgspec.json.format(compact, indent=2) + b"\n"
    assert decode_server(pretty) == message
    assert decode_server(pretty.decode("utf-8")) == message


# --- every field is camelCase on the wire -----------------------------------------------------


def _sample(info: mi.Type) -> Any:
    """A non-default value for a field type (so that the field is never omitted)."""
    if isinstance(info, mi.UnionType):
        return _sample(next(t for t in info.types if not isinstance(t, mi.NoneType)))
    if isinstance(info, mi.StructType):
        return info.cls()
    if isinstance(info, mi.ListType):
        return [_sample(info.item_type)]
    if isinstance(info, mi.DictType):
        return {"k": _sample(info.value_type)}
    samples: dict[type[mi.Type], Any] = {
        mi.StrType: "x",
        mi.BytesType: b"x",
        mi.BoolType: True,
        mi.IntType: 7,
        mi.FloatType: 0.5,
        mi.AnyType: {"k": 1},
    }
    for kind, sample in samples.items():
        if isinstance(info, kind):
            return sample
    raise NotImplementedError(repr(info))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


@pytest.mark.parametrize("cls", STRUCTS, ids=lambda cls: cls.__name__)
def test_every_field_is_camel_case_on_the_wire(cls: type[w.WireStruct]) -> None:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    full = cls(**{field.name: _sample(field.type) for field in info.fields})
    keys = list(msgspec.json.decode(msgspec.json.encode(full)))
    expected = [
        "type" if field.name == "voice_activity_type" else _camel(field.name)
        for field in info.fields
    ]
    assert keys == expected
    assert all("_" not in key for key in keys)


def test_server_structs_ignore_unknown_fields() -> None:
    for cls in SERVER_STRUCTS:
        if cls is w.ServerMessage:
            continue  # the envelope forbids them, to hand them on (test_top_level_unknown...)
        assert msgspec.json.decode(b'{"someFutureField": [1, {"x": 2}]}', type=cls) == cls()


def test_top_level_unknown_fields_are_set_aside_not_refused() -> None:
    frame = b'{"someFutureField": [1, {"x": 2}], "serverContent": {"futureField": 1}}'
    with pytest.raises(msgspec.ValidationError, match="someFutureField"):
        msgspec.json.decode(frame, type=w.ServerMessage)
    assert decode_ordinary(frame) == (
        w.ServerMessage(server_content=w.ServerContent()),
        {"someFutureField": [1, {"x": 2}]},
    )
