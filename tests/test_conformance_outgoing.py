"""Every frame the client can send, judged by google-genai's own `LiveClientMessage` model.

The SDK's pydantic models forbid unknown fields and map camelCase aliases to field names, so
`model_validate_json` on our frame is the "camelCase-to-field mapping, no unknown field"
check. Then the SDK's reading of the frame, dumped back under its aliases, must equal ours
field for field (after normalising base64): nothing is lost or renamed on the way.

One documented gap in the SDK model: `LiveClientSetup` has no `realtime_input_config`,
although the SDK itself sends `setup.realtimeInputConfig` (built from `LiveConnectConfig`
by `_LiveConnectParameters_to_mldev`). That one key is validated against the SDK's
`RealtimeInputConfig` model instead, and a test below proves the SDK sends it there.
"""

from __future__ import annotations

import base64
import enum
import json
from typing import Any

import msgspec
import pytest
import trio
from google.genai import _live_converters as lc, client as genai_client, types as gt
from hypothesis import assume, given, strategies as st

import strategies as s
from trio_gemini_live import _wire as w
from trio_gemini_live._endpoints import url_endpoint
from trio_gemini_live._errors import LocalProtocolError
from trio_gemini_live._options import SessionOptions
from trio_gemini_live._protocol import LiveProtocol
from trio_gemini_live._session import LiveSession, _prepare_setup

pytestmark = pytest.mark.fuzz  # large budget under `nox -s fuzz`, CI profile otherwise

ENDPOINT = url_endpoint("ws://127.0.0.1/ws/x.BidiGenerateContent", api_key="k")
NOT_IN_LIVE_CLIENT_SETUP = {"realtimeInputConfig": gt.RealtimeInputConfig}


def _sdk_view(model: Any) -> Any:
    """The SDK's reading of a frame, as builtins under the wire names (bytes kept as bytes)."""
    return model.model_dump(mode="python", by_alias=True, exclude_unset=True)


def _bytes_where_sdk_has_bytes(sdk: Any, ours: Any) -> Any:
    """Our frame's JSON with base64 decoded wherever the SDK's type says `bytes`.

    Our frames carry standard padded base64; anything else there is a failure.
    """
    if isinstance(sdk, bytes) and isinstance(ours, str):
        return base64.b64decode(ours, validate=True)
    if isinstance(sdk, dict) and isinstance(ours, dict):
        return {key: _bytes_where_sdk_has_bytes(sdk.get(key), item) for key, item in ours.items()}
    if isinstance(sdk, list) and isinstance(ours, list) and len(sdk) == len(ours):
        return [_bytes_where_sdk_has_bytes(a, b) for a, b in zip(sdk, ours, strict=True)]
    return ours


def _plain(value: Any) -> Any:
    """Enum members to their values, recursively (SDK enums are `str` subclasses)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def judge(frame: bytes) -> None:
    """Assert that the SDK accepts `frame` exactly: known fields only, same data back."""
    assert b"\n" not in frame
    raw = json.loads(frame)
    assert isinstance(raw, dict)
    assert len(raw) == 1, "exactly one top-level key"
    carved: dict[str, Any] = {}
    if "setup" in raw:
        for key, model in NOT_IN_LIVE_CLIENT_SETUP.items():
            if key in raw["setup"]:
                value = raw["setup"].pop(key)
                checked = model.model_validate_json(json.dumps(value))
                carved[key] = _sdk_view(checked)
    sdk = gt.LiveClientMessage.model_validate_json(json.dumps(raw))
    sdk_view = _plain(_sdk_view(sdk))
    if carved:
        sdk_view["setup"].update(_plain(carved))
    ours = _bytes_where_sdk_has_bytes(sdk_view, json.loads(frame))
    assert sdk_view == ours
    # And our own Struct reads the frame back (the SDK and we agree on the schema).
    msgspec.json.decode(frame, type=w.ClientMessage)


def _setup_frame(setup: w.Setup) -> bytes:
    return LiveProtocol().start(_prepare_setup(setup, ENDPOINT))


# --- setup --------------------------------------------------------------------------------


@s.budget(0.3)
@given(setup=s.setups())
def test_every_setup_validates_against_the_sdk(setup: w.Setup) -> None:
    judge(_setup_frame(setup))


def test_a_setup_with_every_field_set_validates() -> None:
    setup = w.Setup(
        model="gemini-live-2.5-flash-preview",
        generation_config=w.GenerationConfig(
            response_modalities=["AUDIO"],
            speech_config=w.SpeechConfig(
                voice_config=w.VoiceConfig(
                    prebuilt_voice_config=w.PrebuiltVoiceConfig(voice_name="Kore")
                ),
                language_code="en-US",
                multi_speaker_voice_config=w.MultiSpeakerVoiceConfig(
                    speaker_voice_configs=[w.SpeakerVoiceConfig(speaker="a")]
                ),
            ),
            thinking_config=w.ThinkingConfig(
                thinking_budget=0, include_thoughts=True, thinking_level="LOW"
            ),
            enable_affective_dialog=True,
            media_resolution="MEDIA_RESOLUTION_LOW",
            temperature=0.5,
            top_p=0.9,
            top_k=40,
            max_output_tokens=100,
            seed=1,
            candidate_count=1,
            presence_penalty=0.1,
            frequency_penalty=0.2,
            translation_config=w.TranslationConfig(
                target_language_code="fr", echo_target_language=True
            ),
        ),
        system_instruction=w.Content(parts=[w.Part(text="terse")], role="user"),
        tools=[
            w.Tool(
                function_declarations=[
                    w.FunctionDeclaration(
                        name="f",
                        description="d",
                        parameters={"type": "OBJECT", "properties": {"a": {"type": "STRING"}}},
                        response={"type": "STRING"},
                        behavior="NON_BLOCKING",
                    ),
                    # Each form of a schema in a declaration of its own: they exclude each
                    # other.
                    w.FunctionDeclaration(
                        name="g",
                        parameters_json_schema={"type": "object"},
                        response_json_schema={"type": "string"},
                    ),
                ],
                google_search={},
                code_execution={},
                url_context={},
                google_maps={},
                computer_use={"environment": "ENVIRONMENT_BROWSER"},
                file_search={"fileSearchStoreNames": ["s"]},
            )
        ],
        realtime_input_config=w.RealtimeInputConfig(
            automatic_activity_detection=w.AutomaticActivityDetection(
                disabled=False,  # tuning with True is refused: it could not take effect
                start_of_speech_sensitivity="START_SENSITIVITY_LOW",
                end_of_speech_sensitivity="END_SENSITIVITY_HIGH",
                prefix_padding_ms=20,
                silence_duration_ms=100,
            ),
            activity_handling="NO_INTERRUPTION",
            turn_coverage="TURN_INCLUDES_ALL_INPUT",
        ),
        session_resumption=w.SessionResumptionConfig(handle="h", transparent=True),
        context_window_compression=w.ContextWindowCompression(
            trigger_tokens=2**40, sliding_window=w.SlidingWindow(target_tokens=2**39)
        ),
        input_audio_transcription=w.AudioTranscriptionConfig(
            language_codes=["en-US"],
            custom_vocabulary=["trio"],
            word_timestamp=True,
            diarization=True,
            mode="SMART",
        ),
        output_audio_transcription=w.AudioTranscriptionConfig(),
        proactivity=w.Proactivity(proactive_audio=True, proactive_video=True),
        history_config=w.HistoryConfig(initial_history_in_client_content=True),
        safety_settings=[
            w.SafetySetting(
                category="HARM_CATEGORY_HARASSMENT", threshold="BLOCK_NONE", method="SEVERITY"
            )
        ],
        explicit_vad_signal=True,
        avatar_config={"avatarName": "a"},
        labels={"team": "x"},
    )
    frame = _setup_frame(setup)
    unset = [name for name in w.Setup.__struct_fields__ if getattr(setup, name) in (None, "", [])]
    assert unset == ["extra"]  # not a wire field: what the library does not model
    judge(frame)


def test_the_sdk_itself_sends_realtime_input_config_at_setup_level() -> None:
    # Justifies the one key judged outside `LiveClientSetup`: google-genai's own connect
    # path (`_LiveConnectParameters_to_mldev`) puts it at `setup.realtimeInputConfig`.
    api_client = genai_client.BaseApiClient(api_key="k")
    config = gt.LiveConnectConfig(
        realtime_input_config=gt.RealtimeInputConfig(activity_handling="NO_INTERRUPTION")
    )
    params = gt.LiveConnectParameters(model="m", config=config)
    sent = lc._LiveConnectParameters_to_mldev(api_client, params)
    assert "realtimeInputConfig" in sent["setup"]
    assert "realtime_input_config" not in gt.LiveClientSetup.model_fields
    assert set(NOT_IN_LIVE_CLIENT_SETUP) == {"realtimeInputConfig"}


# --- every other client message -------------------------------------------------------------


@s.budget(0.4)
@given(message=s.client_messages)
def test_every_client_message_validates_against_the_sdk(message: w.ClientMessage) -> None:
    judge(LiveProtocol().send(message))


def _ends_audio_stream(name: str, args: tuple[Any, ...]) -> bool:
    """Whether the command sends an `audioStreamEnd` (`audio_stream_end`, or a raw `send`)."""
    if name == "audio_stream_end":
        return True
    if name != "send" or not args or not isinstance(args[0], w.ClientMessage):
        return False
    realtime = args[0].realtime_input
    return realtime is not None and bool(realtime.audio_stream_end)


async def _run_commands(calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> list[bytes]:
    session = LiveSession(ENDPOINT, SessionOptions(send_buffer=len(calls) + 1))
    manual_vad = w.Setup(
        model="models/m",
        realtime_input_config=w.RealtimeInputConfig(
            automatic_activity_detection=w.AutomaticActivityDetection(disabled=True)
        ),
    )
    server_vad = w.Setup(model="models/m")
    for name, args, kwargs in calls:
        # A setup in force that allows the command: activity signals need server VAD off,
        # audio_stream_end needs it on.
        setup = server_vad if _ends_audio_stream(name, args) else manual_vad
        session._core.protocol.setup = setup  # pyright: ignore[reportPrivateUsage]
        try:
            await getattr(session, name)(*args, **kwargs)
        except LocalProtocolError as exc:
            # A tool update declared the function BLOCKING (a name drawn twice): refused, as
            # the server would refuse the response (tested in test_answers.py).
            assume("is for NON_BLOCKING functions" not in str(exc))
            # Two responses to one call drawn into one message: refused, as the server
            # would close the session (tested in test_answers.py).
            assume("is answered twice in one message" not in str(exc))
            # A raw realtimeInput drawn with an activity signal and audioStreamEnd: no
            # setup takes both (tested in test_activity_signals.py).
            assume(not (_ends_audio_stream(name, args) and "activity" in str(exc)))
            raise
    receive = session._core.outgoing_receive
    return [receive.receive_nowait().frame for _ in calls]


@s.budget(0.15)
@given(calls=st.lists(s.commands, min_size=1, max_size=6))
def test_every_session_command_sends_sdk_valid_frames(
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]],
) -> None:
    frames = trio.run(_run_commands, calls)
    assert len(frames) == len(calls)
    for frame in frames:
        judge(frame)


@pytest.mark.parametrize(
    ("call", "sent"),
    [
        (
            ("send_client_content", ("hi",), {"turn_complete": False}),
            {"clientContent": {"turns": [{"parts": [{"text": "hi"}], "role": "user"}]}},
        ),
        (("send_client_content", ([],), {}), {"clientContent": {"turnComplete": True}}),
        (("send_client_content", ([],), {"turn_complete": False}), {"clientContent": {}}),
        (
            ("respond", ("c1", 1), {"name": "f", "will_continue": False}),
            {
                "toolResponse": {
                    "functionResponses": [{"id": "c1", "name": "f", "response": {"result": 1}}]
                }
            },
        ),
    ],
)
def test_session_commands_leave_default_values_out(
    call: tuple[str, tuple[Any, ...], dict[str, Any]], sent: dict[str, Any]
) -> None:
    # protocol.md 1.6.3: proto3 JSON leaves out false and empty lists. They were written
    # out (`"turnComplete":false`, `"turns":[]`, `"willContinue":false`).
    (frame,) = trio.run(_run_commands, [call])
    assert json.loads(frame) == sent
    judge(frame)


def test_judge_rejects_unknown_and_misplaced_fields() -> None:
    # The judge is strict: an unknown key, or `responseModalities` at setup level (the
    # classic mistake, protocol.md section 1.6), fails.
    with pytest.raises(ValueError, match="Extra inputs"):
        judge(b'{"setup":{"model":"m","responseModalities":["AUDIO"]}}')
    with pytest.raises(ValueError, match="Extra inputs"):
        judge(b'{"realtimeInput":{"audioData":"AA=="}}')
    with pytest.raises(AssertionError):
        judge(b'{"clientContent":{"turnComplete":true},"realtimeInput":{}}')


def _every_field_set(struct: Any) -> None:
    unset = [name for name in type(struct).__struct_fields__ if getattr(struct, name) is None]
    assert unset == [], type(struct).__name__


def test_every_tool_kind_voice_and_transcription_field_validates_by_its_wire_name() -> None:
    """The tool kinds, voices and transcription settings google-genai has, each set.

    The SDK's models forbid unknown fields: a wrong wire name (`mcpServer`, `sourceTexts`)
    fails here, as the server would refuse it.
    """
    tool = w.Tool(
        function_declarations=[w.FunctionDeclaration(name="f")],
        google_search={},
        code_execution={},
        url_context={},
        google_maps={"enableWidget": True},
        computer_use={"environment": "ENVIRONMENT_BROWSER"},
        file_search={"fileSearchStoreNames": ["s"]},
        retrieval={"vertexAiSearch": {"datastore": "projects/p/datastores/d"}},
        enterprise_web_search={"excludeDomains": ["example.com"]},
        google_search_retrieval={"dynamicRetrievalConfig": {"mode": "MODE_DYNAMIC"}},
        parallel_ai_search={"apiKey": "k"},
        mcp_servers=[{"name": "m", "streamableHttpTransport": {"url": "https://m.example"}}],
        exa_ai_search={"apiKey": "k"},
    )
    replicated = w.ReplicatedVoiceConfig(
        mime_type="audio/wav",
        voice_sample_audio=b"RIFF",
        consent_audio=b"RIFF",
        voice_consent_signature=w.VoiceConsentSignature(signature="sig"),
    )
    voice = w.VoiceConfig(
        replicated_voice_config=replicated,
        prebuilt_voice_config=w.PrebuiltVoiceConfig(voice_name="Kore"),
        voice="my-voice",
    )
    transcription = w.AudioTranscriptionConfig(
        language_codes=["en-US"],
        language_auto={},
        language_hints=w.LanguageHints(language_codes=["en-US", "fr-FR"]),
        custom_vocabulary=["Gemini"],
        adaptation_phrases=["trio"],
        word_timestamp=True,
        diarization=True,
        mode="VERBATIM",
        source_text="Hello there",
    )
    realtime = w.RealtimeInputConfig(
        automatic_activity_detection=w.AutomaticActivityDetection(disabled=False),
        activity_handling="NO_INTERRUPTION",
        turn_coverage="TURN_INCLUDES_ALL_INPUT",
        interim_transcript_timestamp_enabled=True,
    )
    for struct in (tool, replicated, voice, transcription, realtime):
        _every_field_set(struct)
    setup = w.Setup(
        model="gemini-live-2.5-flash-preview",
        generation_config=w.GenerationConfig(speech_config=w.SpeechConfig(voice_config=voice)),
        tools=[tool],
        realtime_input_config=realtime,
        input_audio_transcription=transcription,
        output_audio_transcription=transcription,
    )
    judge(_setup_frame(setup))


def test_a_multimodal_function_response_validates_by_its_wire_names() -> None:
    # One member of a part's `data` oneof each (the server refuses two in one part).
    inline = w.FunctionResponsePart(
        inline_data=w.FunctionResponseBlob(mime_type="image/png", data=b"\x89PNG", display_name="a")
    )
    file = w.FunctionResponsePart(
        file_data=w.FunctionResponseFileData(file_uri="gs://b/f", mime_type="a/b", display_name="f")
    )
    response = w.FunctionResponse(
        id="c1",
        name="f",
        response={"ok": True},
        will_continue=False,
        scheduling="SILENT",
        parts=[inline, file],
    )
    for struct in (inline.inline_data, file.file_data, response):
        _every_field_set(struct)
    judge(
        LiveProtocol().send(
            w.ClientMessage(tool_response=w.ToolResponse(function_responses=[response]))
        )
    )
