"""The sans-IO protocol core: state machine, frames -> events, bookkeeping, close policy."""

from __future__ import annotations

import base64
import json
import logging
import pickle
from typing import Any, cast

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from protocols import opened_protocol
from trio_gemini_live import _events as ev
from trio_gemini_live._close_policy import CloseAction, classify_close
from trio_gemini_live._errors import (
    AbnormalClosureError,
    CallCancelledError,
    ConfigurationError,
    ConnectionClosedError,
    GeminiLiveError,
    InternalServerError,
    InvalidArgumentError,
    LocalProtocolError,
    PolicyViolationError,
    QuotaExceededError,
    RemoteProtocolError,
    close_error_for,
)
from trio_gemini_live._protocol import LiveProtocol, SessionState, parse_duration, sample_rate_of
from trio_gemini_live._wire import (
    ClientContent,
    ClientMessage,
    FunctionResponse,
    FunctionResponseBlob,
    FunctionResponsePart,
    ModalityTokenCount,
    RealtimeInput,
    ReplicatedVoiceConfig,
    Setup,
    ToolResponse,
    VoiceConsentSignature,
    WordInfo,
)

EXAMPLES = max(10, settings.default.max_examples)
SETUP = Setup(model="models/gemini-live-2.5-flash-preview")
TEXT = ClientMessage(realtime_input=RealtimeInput(text="hi"))


def frame(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, indent=2).encode() + b"\n"


def types(events: list[ev.RealtimeEvent]) -> list[type[ev.RealtimeEvent]]:
    return [type(event) for event in events]


def opened() -> LiveProtocol:
    protocol = LiveProtocol()
    protocol.start(SETUP)
    protocol.receive_frame(frame({"setupComplete": {}}))
    assert protocol.state is SessionState.OPEN
    return protocol


def content(**fields: Any) -> bytes:
    return frame({"serverContent": fields})


# --- state machine ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "idle"), [(None, True), ("IDLE", True), ("IN_PROGRESS", False)])
def test_a_turn_complete_while_the_server_is_still_at_work_leaves_the_model_busy(
    status: str | None, idle: bool
) -> None:
    # protocol.md 3.2 and 7.6: with `interactionStatus`, only `IDLE` means fully done; the
    # session moved (goAway, update_setup) at an `IN_PROGRESS` turnComplete, cutting off
    # the output still to come.
    protocol = opened()
    protocol.receive_frame(content(modelTurn={"parts": [{"text": "Checking"}]}))
    done = {"turnComplete": True} | ({"interactionStatus": status} if status else {})
    protocol.receive_frame(content(**done))
    assert protocol.idle is idle
    assert protocol.turn_id == 2
    protocol.receive_frame(content(interactionStatus="IDLE"))
    assert protocol.idle


@pytest.mark.parametrize("output_before_resume", [False, True])
def test_a_resume_after_an_in_progress_turn_complete_skips_no_turn_id(
    output_before_resume: bool,
) -> None:
    # The turn after an `IN_PROGRESS` turnComplete (id 2) had no output when the session
    # moved: the resumed server's answer is turn 2. Once it had output, that turn is cut
    # off and abandoned: the answer is turn 3.
    protocol = opened()
    protocol.receive_frame(content(modelTurn={"parts": [{"text": "Checking"}]}))
    protocol.receive_frame(content(turnComplete=True, interactionStatus="IN_PROGRESS"))
    if output_before_resume:
        protocol.receive_frame(content(modelTurn={"parts": [{"text": "Found"}]}))
    assert not protocol.idle
    protocol.reset_for_resume()
    protocol.start(SETUP)
    protocol.receive_frame(frame({"setupComplete": {}}))
    assert protocol.idle
    [event] = protocol.receive_frame(content(modelTurn={"parts": [{"text": "Done"}]}))
    assert event == ev.TextDelta(text="Done", turn_id=3 if output_before_resume else 2)


def test_start_returns_setup_frame_and_awaits_setup_complete() -> None:
    protocol = LiveProtocol()
    assert protocol.state is SessionState.IDLE
    assert protocol.start(SETUP) == b'{"setup":{"model":"models/gemini-live-2.5-flash-preview"}}'
    assert protocol.state is SessionState.AWAITING_SETUP_COMPLETE
    assert protocol.setup == SETUP


def test_start_only_once() -> None:
    protocol = LiveProtocol()
    protocol.start(SETUP)
    with pytest.raises(LocalProtocolError, match="only the first"):
        protocol.start(SETUP)
    protocol.receive_frame(frame({"setupComplete": {}}))
    with pytest.raises(LocalProtocolError, match="only the first"):
        protocol.start(SETUP)


def test_start_requires_a_model() -> None:
    protocol = LiveProtocol()
    with pytest.raises(LocalProtocolError, match="model"):
        protocol.start(Setup())
    assert protocol.state is SessionState.IDLE


def test_setup_cannot_go_through_send() -> None:
    protocol = opened()
    with pytest.raises(LocalProtocolError, match="only the first"):
        protocol.send(ClientMessage(setup=SETUP))


def test_send_before_start_is_allowed_for_queueing() -> None:
    # The lead changed this: non-setup messages may be encoded from IDLE on (the trio layer
    # holds them until OPEN). The original brief asked for LocalProtocolError here.
    protocol = LiveProtocol()
    assert protocol.send(TEXT) == b'{"realtimeInput":{"text":"hi"}}'
    assert protocol.state is SessionState.IDLE


def test_setup_complete_opens_the_session() -> None:
    protocol = LiveProtocol()
    protocol.start(SETUP)
    events = protocol.receive_frame(frame({"setupComplete": {}}))
    assert events == [
        ev.SessionCreated(session_id=None),
        ev.SessionUpdated(setup={"model": "models/gemini-live-2.5-flash-preview"}),
    ]
    assert protocol.state is SessionState.OPEN
    assert protocol.session_id is None


def test_vertex_setup_complete_carries_session_id() -> None:
    protocol = LiveProtocol()
    protocol.start(Setup(model="projects/p/locations/l/publishers/google/models/m"))
    events = protocol.receive_frame(
        frame({"setupComplete": {"sessionId": "f162d11d-434a-4212-8a31-f1a4843cad11"}})
    )
    assert events[0] == ev.SessionCreated(session_id="f162d11d-434a-4212-8a31-f1a4843cad11")
    assert protocol.session_id == "f162d11d-434a-4212-8a31-f1a4843cad11"


def test_vertex_candidates_usage_reads_as_response_usage() -> None:
    """google-genai renames Vertex's `candidates*` counts; events carry both names."""
    protocol = opened()
    details = [{"modality": "AUDIO", "tokenCount": 38}]
    usage = {"candidatesTokenCount": 38, "candidatesTokensDetails": details}
    events = protocol.receive_frame(
        frame({"serverContent": {"turnComplete": True}, "usageMetadata": usage})
    )
    events += protocol.receive_frame(frame({"usageMetadata": usage}))
    for event in events:
        assert isinstance(event, ev.TurnComplete | ev.Usage)
        assert event.usage is not None
        assert event.usage.response_token_count == 38
        assert event.usage.candidates_token_count == 38
        assert event.usage.response_tokens_details == [ModalityTokenCount("AUDIO", 38)]
    assert len(events) == 2
    # Gemini API names are left as they are
    gemini = {"responseTokenCount": 7, "candidatesTokenCount": 9}
    (event,) = protocol.receive_frame(frame({"usageMetadata": gemini}))
    assert isinstance(event, ev.Usage)
    assert event.usage.response_token_count == 7


def test_go_away_then_close_then_receive_raises() -> None:
    protocol = opened()
    assert protocol.receive_frame(frame({"goAway": {"timeLeft": "50s"}})) == [
        ev.GoAway(time_left=50.0)
    ]
    assert protocol.state is SessionState.GOING_AWAY
    assert protocol.go_away_seconds == 50.0
    protocol.send(TEXT)  # still allowed until the deadline
    action, error = protocol.close_received(1008, "")
    assert protocol.state is SessionState.CLOSED
    assert action is CloseAction.RESUME
    assert isinstance(error, PolicyViolationError)
    with pytest.raises(LocalProtocolError, match="after the connection closed"):
        protocol.receive_frame(frame({"setupComplete": {}}))
    with pytest.raises(LocalProtocolError, match="closed"):
        protocol.send(TEXT)
    with pytest.raises(LocalProtocolError):
        protocol.start(SETUP)


def test_close_without_go_away() -> None:
    protocol = opened()
    action, error = protocol.close_received(1008, "models/x is not found")
    assert (action, type(error), error.code, error.reason) == (
        CloseAction.FAIL,
        PolicyViolationError,
        1008,
        "models/x is not found",
    )


def test_remote_protocol_error_does_not_count_the_frame() -> None:
    protocol = opened()
    with pytest.raises(RemoteProtocolError):
        protocol.receive_frame(b"not json")
    assert protocol.frames_received == 1
    assert protocol.state is SessionState.OPEN


# --- serverContent ----------------------------------------------------------------------------

PCM = bytes(range(256)) * 3


def test_audio_delta_pcm_delta_and_rate() -> None:
    protocol = opened()
    data = base64.b64encode(PCM).decode()
    part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}
    (audio,) = protocol.receive_frame(content(modelTurn={"parts": [part]}))
    assert isinstance(audio, ev.AudioDelta)
    assert audio.pcm == PCM
    assert audio.delta == data
    assert audio.sample_rate == 24000
    assert audio.mime_type == "audio/pcm;rate=24000"
    assert audio.turn_id == 1
    assert audio.item_id == "turn-1"
    assert audio.duration == len(PCM) / 48000


@pytest.mark.parametrize(
    ("mime", "rate"),
    [
        ("audio/pcm;rate=24000", 24000),
        ("audio/pcm;rate=16000", 16000),
        ("audio/pcm; rate=48000", 48000),
        ("AUDIO/PCM;RATE=8000", 8000),
        ("audio/pcm;codec=s16le;rate=22050", 22050),
        ("audio/pcm", 24000),  # Vertex half-cascade sends the bare type
        ('audio/pcm;rate="16000"', 16000),  # a quoted-string (RFC 2045): was 24000
        ('audio/pcm; rate = "8000" ', 8000),
        ("audio/pcm;rate=384000000", 384000000),
        # A rate stated but unreadable is no rate (0), not the default: these were 24000.
        ("audio/pcm;rate=", 0),
        ("audio/pcm;rate=fast", 0),
        ("audio/pcm;rate=16k", 0),
        ("audio/pcm;rate=24000.0", 0),
        ("audio/pcm;rate=0", 0),
        ('audio/pcm;rate="16000', 0),
        ('audio/pcm;rate=""', 0),
        ('audio/pcm;rate="', 0),
        ("audio/pcm;rate=16000;rate=x", 0),
        ("audio/pcm;rate=\u00b2", 0),  # regression: "²".isdigit() but int("²") fails
        ("audio/pcm;rate=" + "9" * 5000, 0),  # int() refuses over 4300 digits
        ("audio/pcm;rate=1000000000", 0),  # ten digits: no rate
        ("", 24000),
    ],
)
def test_sample_rate_from_mime_type(mime: str, rate: int) -> None:
    assert sample_rate_of(mime) == rate


@settings(max_examples=EXAMPLES, deadline=None)
@given(mime=st.text(max_size=30))
def test_sample_rate_never_raises_and_is_a_rate_or_none(mime: str) -> None:
    assert sample_rate_of(mime) >= 0
    assert sample_rate_of("audio/pcm;" + mime) >= 0
    rate = sample_rate_of("audio/pcm;rate=" + mime)
    assert rate == 0 or str(rate) in mime  # a rate read is one the type states


def test_audio_and_text_in_one_model_turn_in_order() -> None:
    protocol = opened()
    parts = [
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAE="}},
        {"text": "hello"},
        {"text": "thinking...", "thought": True},
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AgM="}},
    ]
    events = protocol.receive_frame(
        content(modelTurn={"parts": parts}, outputTranscription={"text": "hel"})
    )
    assert types(events) == [
        ev.AudioDelta,
        ev.TextDelta,
        ev.TextDelta,
        ev.AudioDelta,
        ev.OutputTranscription,
    ]
    assert [getattr(e, "pcm", None) for e in events] == [b"\x00\x01", None, None, b"\x02\x03", None]
    assert events[1] == ev.TextDelta(text="hello", turn_id=1, thought=False)
    assert events[2] == ev.TextDelta(text="thinking...", turn_id=1, thought=True)


def test_code_parts() -> None:
    protocol = opened()
    parts = [
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}},
    ]
    assert protocol.receive_frame(content(modelTurn={"parts": parts})) == [
        ev.ExecutableCode(language="PYTHON", code="print(1)", turn_id=1),
        ev.CodeExecutionResult(outcome="OUTCOME_OK", output="1\n", turn_id=1),
    ]


def test_server_content_with_every_field() -> None:
    protocol = opened()
    events = protocol.receive_frame(
        frame(
            {
                "serverContent": {
                    "modelTurn": {"parts": [{"text": "a"}], "role": "model"},
                    "inputTranscription": {"text": "hi", "finished": True, "languageCode": "en"},
                    "interimInputTranscription": {"text": "h"},
                    "outputTranscription": {"text": "a", "finished": True},
                    "groundingMetadata": {"webSearchQueries": ["q"]},
                    "urlContextMetadata": {"urlMetadata": [{"retrievedUrl": "https://x"}]},
                    "waitingForInput": True,
                    "generationComplete": True,
                    "interrupted": True,
                    "turnComplete": True,
                    "turnCompleteReason": "NEED_MORE_INPUT",
                    "interactionStatus": "IDLE",
                },
                "usageMetadata": {"totalTokenCount": 7},
            }
        )
    )
    assert types(events) == [
        ev.TextDelta,
        ev.InputTranscription,
        ev.InterimInputTranscription,
        ev.OutputTranscription,
        ev.GroundingMetadata,
        ev.UrlContextMetadata,
        ev.WaitingForInput,
        ev.GenerationComplete,
        ev.Interrupted,
        ev.TurnComplete,
    ]
    assert events[1] == ev.InputTranscription(text="hi", finished=True, language_code="en")
    assert events[2] == ev.InterimInputTranscription(text="h")
    assert events[3] == ev.OutputTranscription(text="a", finished=True, turn_id=1)
    assert events[4] == ev.GroundingMetadata(metadata={"webSearchQueries": ["q"]})
    assert events[5] == ev.UrlContextMetadata(
        metadata={"urlMetadata": [{"retrievedUrl": "https://x"}]}
    )
    done = events[9]
    assert isinstance(done, ev.TurnComplete)
    assert (done.turn_id, done.reason, done.interaction_status, done.interrupted) == (
        1,
        "NEED_MORE_INPUT",
        "IDLE",
        True,
    )
    assert done.usage is not None
    assert done.usage.total_token_count == 7
    assert protocol.turn_id == 2


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"outputTranscription": {}},
        {"inputTranscription": {}},
        {"interimInputTranscription": {}},  # was an event with text ""
        {"modelTurn": {}},
    ],
)
def test_empty_server_content_gives_no_event(payload: dict[str, Any]) -> None:
    protocol = opened()
    assert protocol.receive_frame(content(**payload)) == []
    assert protocol.turn_id == 1


def test_an_empty_transcript_after_the_turn_leaves_the_model_idle() -> None:
    # It set `generating` and said nothing: a goAway move then waited for a turn that was
    # not coming, until the deadline.
    protocol = opened()
    protocol.receive_frame(content(outputTranscription={"text": "hi"}))
    protocol.receive_frame(content(turnComplete=True))
    assert protocol.receive_frame(content(outputTranscription={})) == []
    assert not protocol.generating


@pytest.mark.parametrize(
    "detail", [{"languageCode": "en-US"}, {"speakerLabel": "1"}, {"startOffset": "1.5s"}]
)
def test_a_transcription_chunk_with_a_detail_alone_is_reported(detail: dict[str, str]) -> None:
    # Dropped: only a text, `finished` or words made an event.
    protocol = opened()
    [event] = protocol.receive_frame(content(outputTranscription=detail))
    assert isinstance(event, ev.OutputTranscription)
    assert event.text == ""
    assert (
        msgspec.structs.asdict(event).items()
        >= {
            "language_code": detail.get("languageCode"),
            "speaker_label": detail.get("speakerLabel"),
            "start_offset": detail.get("startOffset"),
        }.items()
    )


def test_empty_transcription_with_finished_flag_is_reported() -> None:
    protocol = opened()
    assert protocol.receive_frame(content(outputTranscription={"finished": True})) == [
        ev.OutputTranscription(text="", finished=True, turn_id=1)
    ]


def test_a_transcription_s_language_is_kept() -> None:
    protocol = opened()
    heard = {"text": "hola", "languageCode": "es-ES"}
    said = {"text": " hello", "languageCode": "en-US"}
    assert protocol.receive_frame(content(inputTranscription=heard)) == [
        ev.InputTranscription(text="hola", language_code="es-ES")
    ]
    assert protocol.receive_frame(content(outputTranscription=said)) == [
        ev.OutputTranscription(text=" hello", turn_id=1, language_code="en-US")
    ]
    # Without one, as the fast path gives it too.
    assert protocol.receive_frame(content(outputTranscription={"text": " hi"})) == [
        ev.OutputTranscription(text=" hi", turn_id=1)
    ]


# The fields a transcription setup with `diarization` and `wordTimestamp` adds (the shape of
# google-genai's `Transcription`/`WordInfo`): offsets are Durations, kept as sent.
DETAILED = {
    "text": "hello there",
    "finished": True,
    "languageCode": "en-US",
    "speakerLabel": "spk_2",
    "words": [
        {"word": "hello", "startOffset": "1.200s", "endOffset": "1.500s"},
        {"word": "there", "startOffset": "1.5s"},
    ],
    "startOffset": "1.200s",
    "endOffset": "1.900s",
}
DETAILS = {
    "text": "hello there",
    "finished": True,
    "language_code": "en-US",
    "speaker_label": "spk_2",
    "words": (
        WordInfo(word="hello", start_offset="1.200s", end_offset="1.500s"),
        WordInfo(word="there", start_offset="1.5s"),
    ),
    "start_offset": "1.200s",
    "end_offset": "1.900s",
}


def test_a_transcription_s_speaker_words_and_offsets_are_kept() -> None:
    protocol = opened()
    events = protocol.receive_frame(
        content(
            inputTranscription=DETAILED,
            interimInputTranscription=DETAILED,
            outputTranscription=DETAILED,
        )
    )
    assert events == [
        ev.InputTranscription(**DETAILS),
        ev.InterimInputTranscription(**DETAILS),
        ev.OutputTranscription(**DETAILS, turn_id=1),
    ]
    # `raw_message` shows the words as the wire spells them, as it shows a `usage`.
    assert events[0].raw_message["words"][1] == {"word": "there", "startOffset": "1.5s"}


def test_an_interim_transcription_has_the_fields_of_the_others() -> None:
    protocol = opened()
    interim = {"text": "hel", "finished": True, "languageCode": "en-GB"}
    assert protocol.receive_frame(content(interimInputTranscription=interim)) == [
        ev.InterimInputTranscription(text="hel", finished=True, language_code="en-GB")
    ]


def test_a_transcription_chunk_of_words_alone_gives_an_event() -> None:
    protocol = opened()
    words = {"words": [{"word": "hi", "startOffset": "0s", "endOffset": "0.3s"}]}
    assert protocol.receive_frame(content(outputTranscription=words)) == [
        ev.OutputTranscription(
            text="", turn_id=1, words=(WordInfo(word="hi", start_offset="0s", end_offset="0.3s"),)
        )
    ]


def test_the_voice_consent_signature_of_setup_complete_is_surfaced() -> None:
    protocol = LiveProtocol()
    protocol.start(SETUP)
    created, _updated = protocol.receive_frame(
        frame({"setupComplete": {"voiceConsentSignature": {"signature": "c2ln"}}})
    )
    assert created == ev.SessionCreated(
        voice_consent_signature=VoiceConsentSignature(signature="c2ln")
    )
    assert protocol.voice_consent_signature == VoiceConsentSignature(signature="c2ln")
    # Passed back as it came, it is the setup's wire shape.
    voice = ReplicatedVoiceConfig(voice_consent_signature=created.voice_consent_signature)
    assert msgspec.to_builtins(voice) == {"voiceConsentSignature": {"signature": "c2ln"}}


def test_code_execution_ids_are_kept() -> None:
    protocol = opened()
    parts = [
        {"executableCode": {"language": "PYTHON", "code": "print(1)", "id": "code-1"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n", "id": "code-1"}},
    ]
    assert protocol.receive_frame(content(modelTurn={"parts": parts})) == [
        ev.ExecutableCode(language="PYTHON", code="print(1)", turn_id=1, id="code-1"),
        ev.CodeExecutionResult(outcome="OUTCOME_OK", output="1\n", turn_id=1, id="code-1"),
    ]


def test_the_service_tier_of_usage_is_kept() -> None:
    protocol = opened()
    usage = {"totalTokenCount": 9, "serviceTier": "flex"}
    (alone,) = protocol.receive_frame(frame({"usageMetadata": usage}))
    assert isinstance(alone, ev.Usage)
    assert alone.usage.service_tier == "flex"
    (done,) = protocol.receive_frame(
        frame({"serverContent": {"turnComplete": True}, "usageMetadata": usage})
    )
    assert isinstance(done, ev.TurnComplete)
    assert done.usage is not None
    assert done.usage.service_tier == "flex"


def test_usage_with_turn_complete_is_attached() -> None:
    protocol = opened()
    usage = {"promptTokenCount": 515, "responseTokenCount": 38, "totalTokenCount": 553}
    (done,) = protocol.receive_frame(
        frame({"serverContent": {"turnComplete": True}, "usageMetadata": usage})
    )
    assert isinstance(done, ev.TurnComplete)
    assert done.usage is not None
    assert (done.usage.prompt_token_count, done.usage.response_token_count) == (515, 38)


def test_usage_without_turn_complete_is_a_usage_event() -> None:
    protocol = opened()
    (alone,) = protocol.receive_frame(frame({"usageMetadata": {"totalTokenCount": 9}}))
    assert isinstance(alone, ev.Usage)
    assert alone.usage.total_token_count == 9
    events = protocol.receive_frame(
        frame({"serverContent": {"generationComplete": True}, "usageMetadata": {}})
    )
    assert types(events) == [ev.GenerationComplete, ev.Usage]
    assert protocol.turn_id == 1


def test_several_top_level_keys_are_all_processed() -> None:
    protocol = opened()
    events = protocol.receive_frame(
        frame(
            {
                "serverContent": {"modelTurn": {"parts": [{"text": "x"}]}},
                "toolCall": {"functionCalls": [{"id": "c1", "name": "f"}]},
                "toolCallCancellation": {"ids": ["c0"]},
                "goAway": {"timeLeft": "1s"},
                "sessionResumptionUpdate": {"newHandle": "h", "resumable": True},
                "voiceActivity": {"type": "ACTIVITY_END"},
                "voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_EOS"},
                "usageMetadata": {"totalTokenCount": 1},
            }
        )
    )
    assert types(events) == [
        ev.TextDelta,
        ev.Usage,
        ev.FunctionCall,
        ev.ToolCallCancellation,
        ev.GoAway,
        ev.ResumptionUpdate,
        ev.VoiceActivity,
        ev.VoiceActivity,
    ]
    assert protocol.state is SessionState.GOING_AWAY
    assert protocol.resumption_handle == "h"


# --- turns and interruption -------------------------------------------------------------------


def test_turn_ids_advance_after_turn_complete() -> None:
    protocol = opened()
    first = protocol.receive_frame(content(modelTurn={"parts": [{"text": "a"}]}))
    done = protocol.receive_frame(content(turnComplete=True))
    second = protocol.receive_frame(content(modelTurn={"parts": [{"text": "b"}]}))
    gen = protocol.receive_frame(content(generationComplete=True))
    assert [e.turn_id for e in first + done + second + gen] == [1, 1, 2, 2]  # type: ignore[attr-defined]
    assert protocol.turn_id == 2


def test_interrupted_then_turn_complete() -> None:
    protocol = opened()
    (interrupted,) = protocol.receive_frame(content(interrupted=True))
    assert isinstance(interrupted, ev.Interrupted)
    assert isinstance(interrupted, ev.SpeechStarted)
    assert interrupted.type == ev.SpeechStarted.type
    assert interrupted.turn_id == 1
    (done,) = protocol.receive_frame(content(turnComplete=True))
    assert done == ev.TurnComplete(turn_id=1, interrupted=True)
    # The flag is per turn: the next turn ends normally.
    (done2,) = protocol.receive_frame(content(turnComplete=True))
    assert done2 == ev.TurnComplete(turn_id=2, interrupted=False)


def test_a_barge_in_after_generation_complete_ends_the_same_turn() -> None:
    # A server that waits for the audio to play before `turnComplete` (the emulator's
    # `wait_for_playback`) sends a barge-in's `interrupted` after `generationComplete`.
    protocol = opened()
    protocol.receive_frame(content(modelTurn={"parts": [{"text": "a"}]}))
    (generated,) = protocol.receive_frame(content(generationComplete=True))
    assert not protocol.idle  # the turn goes on until its `turnComplete`
    (interrupted,) = protocol.receive_frame(content(interrupted=True))
    assert not protocol.idle
    (done,) = protocol.receive_frame(content(turnComplete=True))
    assert generated == ev.GenerationComplete(turn_id=1)
    assert interrupted == ev.Interrupted(turn_id=1)
    assert done == ev.TurnComplete(turn_id=1, interrupted=True)
    assert protocol.idle
    (text,) = protocol.receive_frame(content(modelTurn={"parts": [{"text": "b"}]}))
    assert text == ev.TextDelta(text="b", turn_id=2)


# --- tool calls -------------------------------------------------------------------------------


def test_a_rate_of_thousands_of_digits_decodes_as_inline_data() -> None:
    # Regression: int() raised ValueError (over 4300 digits), out of the receiver untyped.
    # No rate can be read, so the audio is no `AudioDelta` of a guessed rate.
    mime = "audio/pcm;rate=" + "1" * 5000
    for protocol in (opened(), opened()):
        part = {"inlineData": {"mimeType": mime, "data": "AAE="}}
        events = protocol.receive_frame(frame({"serverContent": {"modelTurn": {"parts": [part]}}}))
        assert events == [ev.InlineData(data=b"\x00\x01", mime_type=mime, turn_id=1)]


@pytest.mark.parametrize(
    "call",
    [
        {"toolCall": {"functionCalls": [{"id": "c1", "name": "weather"}]}},
        {"serverContent": {"modelTurn": {"parts": [{"functionCall": {"id": "c1", "name": "w"}}]}}},
    ],
    ids=["toolCall", "functionCall part"],
)
def test_a_tool_call_that_opens_a_turn_keeps_it_open_after_the_response(
    call: dict[str, object],
) -> None:
    # Vertex sends the toolCall as the turn's first output: the model answers after the
    # response, then ends the turn. Idle in between, a goAway move cut that answer off
    # (and the resumed server asked for the tool again).
    protocol = opened()
    protocol.receive_frame(frame(call))
    assert not protocol.idle
    response = FunctionResponse(id="c1", name="weather", response={"result": "sunny"})
    protocol.send(ClientMessage(tool_response=ToolResponse(function_responses=[response])))
    assert protocol.pending_calls.as_dict() == {}
    assert not protocol.idle
    protocol.receive_frame(frame({"serverContent": {"turnComplete": True}}))
    assert protocol.idle


def test_parallel_tool_calls_are_pending_until_answered() -> None:
    protocol = opened()
    events = protocol.receive_frame(
        frame(
            {
                "toolCall": {
                    "functionCalls": [
                        {"id": "c1", "name": "weather", "args": {"city": "Zürich"}},
                        {"id": "c2", "name": "time"},
                        {"id": "c3", "name": "news", "args": {}},
                    ]
                }
            }
        )
    )
    assert events == [
        ev.FunctionCall(call_id="c1", name="weather", arguments={"city": "Zürich"}),
        ev.FunctionCall(call_id="c2", name="time", arguments={}),
        ev.FunctionCall(call_id="c3", name="news", arguments={}),
    ]
    assert protocol.pending_calls.as_dict() == {"c1": "weather", "c2": "time", "c3": "news"}
    protocol.send(
        ClientMessage(
            tool_response=ToolResponse(
                function_responses=[
                    FunctionResponse(id="c1", name="weather", response={"result": "sunny"}),
                    FunctionResponse(id="unknown", name="x", response={}),
                ]
            )
        )
    )
    assert protocol.pending_calls.as_dict() == {"c2": "time", "c3": "news"}
    (cancel,) = protocol.receive_frame(frame({"toolCallCancellation": {"ids": ["c2", "zz"]}}))
    assert cancel == ev.ToolCallCancellation(ids=("c2", "zz"))
    assert protocol.pending_calls.as_dict() == {"c3": "news"}
    # How each call ended, for the error of a late answer (an unknown id was not answered).
    assert protocol.settled_calls == {"c1": "answered", "c2": "cancelled", "zz": "cancelled"}


def test_a_repeated_id_in_one_tool_call_is_one_call(caplog: pytest.LogCaptureFixture) -> None:
    # It made two FunctionCall events for one pending call: an app answering every event
    # had LocalProtocolError "answered already" for the second.
    protocol = opened()
    calls = [
        {"id": "a", "name": "f", "args": {"n": 1}},
        {"id": "b", "name": "g"},
        {"id": "a", "name": "f", "args": {"n": 1}},
    ]
    with caplog.at_level(logging.WARNING, logger="trio_gemini_live.session"):
        events = protocol.receive_frame(frame({"toolCall": {"functionCalls": calls}}))
    assert events == [
        ev.FunctionCall(call_id="a", name="f", arguments={"n": 1}),
        ev.FunctionCall(call_id="b", name="g", arguments={}),
    ]
    assert "dropped a repeat of function call 'f' (id 'a')" in caplog.text
    responses = [FunctionResponse(id=call_id, name="f", response={}) for call_id in ("a", "b")]
    protocol.send(ClientMessage(tool_response=ToolResponse(function_responses=responses)))
    assert protocol.pending_calls.as_dict() == {}


def test_settled_calls_are_remembered_within_a_bound_across_connections() -> None:
    protocol = opened()
    for n in range(300):
        protocol.receive_frame(frame({"toolCallCancellation": {"ids": [f"c{n}"]}}))
    protocol.reset_for_resume()
    assert len(protocol.settled_calls) == 256
    assert "c299" in protocol.settled_calls
    assert "c0" not in protocol.settled_calls


def test_function_call_part_in_model_turn_is_tracked() -> None:
    protocol = opened()
    part = {"functionCall": {"id": "p1", "name": "f", "args": {"a": 1}}}
    assert protocol.receive_frame(content(modelTurn={"parts": [part]})) == [
        ev.FunctionCall(call_id="p1", name="f", arguments={"a": 1})
    ]
    assert protocol.pending_calls.as_dict() == {"p1": "f"}


# --- calls without an id (Vertex AI) -----------------------------------------------------------


def _answer(protocol: LiveProtocol, *responses: FunctionResponse) -> None:
    protocol.send(ClientMessage(tool_response=ToolResponse(function_responses=list(responses))))


def test_calls_without_an_id_are_each_pending_until_answered() -> None:
    # Two id-less calls in flight shared one entry under "": the second overwrote the
    # first, and one response settled both (the model turn seemed idle with a call open).
    protocol = opened()
    events = protocol.receive_frame(
        frame(
            {
                "toolCall": {
                    "functionCalls": [
                        {"name": "weather", "args": {"city": "Bern"}},
                        {"id": "c1", "name": "time"},
                    ]
                }
            }
        )
    )
    events += protocol.receive_frame(
        content(modelTurn={"parts": [{"functionCall": {"name": "news"}}]})
    )
    assert [(e.call_id, e.name) for e in events if isinstance(e, ev.FunctionCall)] == [
        ("", "weather"),
        ("c1", "time"),
        ("", "news"),
    ]
    pending = protocol.pending_calls
    assert len(pending) == 3
    assert pending.ids() == ("", "c1", "")
    assert pending.without_id() == ["weather", "news"]
    # One entry per id: under "" the oldest call without one (the next `respond("")`'s).
    assert pending.as_dict() == {"": "weather", "c1": "time"}
    _answer(protocol, FunctionResponse(id="c1", name="time", response={}))
    _answer(protocol, FunctionResponse(name="weather", response={}))
    assert pending.ids() == ("",)
    assert pending.as_dict() == {"": "news"}
    protocol.receive_frame(frame({"serverContent": {"turnComplete": True}}))
    assert not protocol.idle  # "news" still waits for its response
    _answer(protocol, FunctionResponse(name="news", response={}))
    assert not pending
    assert protocol.idle
    assert protocol.settled_calls == {"c1": "answered"}  # "" names no one call to remember


def test_a_response_without_an_id_answers_the_oldest_call_of_its_name() -> None:
    protocol = opened()
    calls = [{"name": "a"}, {"name": "b"}, {"name": "a", "args": {"n": 2}}, {"name": "b"}]
    protocol.receive_frame(frame({"toolCall": {"functionCalls": calls}}))
    _answer(
        protocol,
        FunctionResponse(name="b", response={}),
        FunctionResponse(name="a", response={}),
        FunctionResponse(name="b", response={}),
    )
    assert len(protocol.pending_calls) == 1
    assert protocol.pending_calls.without_id() == ["a"]
    # A name no call has answers none; a response without a name, the oldest.
    _answer(protocol, FunctionResponse(name="zzz", response={}))
    assert protocol.pending_calls.without_id() == ["a"]
    _answer(protocol, FunctionResponse(response={}))
    assert not protocol.pending_calls


def test_a_cancellation_and_a_resume_count_each_call_without_an_id() -> None:
    protocol = opened()
    calls = [{"name": "a"}, {"name": "b"}, {"name": "c"}]
    protocol.receive_frame(frame({"toolCall": {"functionCalls": calls}}))
    (cancel,) = protocol.receive_frame(frame({"toolCallCancellation": {"ids": [""]}}))
    assert cancel == ev.ToolCallCancellation(ids=("",))
    assert len(protocol.pending_calls) == 2
    assert protocol.pending_calls.without_id() == ["b", "c"]  # one call, the oldest
    protocol.reset_for_resume()
    assert not protocol.pending_calls
    assert protocol.idle


def test_a_thought_signature_goes_with_the_event_of_its_part_or_comes_on_its_own() -> None:
    # Bare `thoughtSignature` parts, and those of parts whose event has no field for it,
    # were dropped: a thinking model's conversation could not be replayed.
    protocol = opened()
    parts = [
        {"text": "Let me see", "thoughtSignature": "AAE="},
        {"thoughtSignature": "AAI="},
        {"functionCall": {"id": "c1", "name": "f"}, "thoughtSignature": "AAM="},
        {
            "inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAA="},
            "thoughtSignature": "AAQ=",
        },
    ]
    events = protocol.receive_frame(content(modelTurn={"parts": parts}))
    assert events == [
        ev.TextDelta(text="Let me see", turn_id=1, thought_signature=b"\x00\x01"),
        ev.ThoughtSignature(signature=b"\x00\x02", turn_id=1),
        ev.FunctionCall(call_id="c1", name="f", thought_signature=b"\x00\x03"),
        ev.AudioDelta(pcm=b"\x00\x00", turn_id=1),
        ev.ThoughtSignature(signature=b"\x00\x04", turn_id=1),
    ]


def test_a_file_data_part_is_a_file_reference() -> None:
    protocol = opened()
    parts = [
        {"fileData": {"fileUri": "gs://bucket/chart.png", "mimeType": "image/png"}},
        {"fileData": {"fileUri": "https://x/y.pdf", "displayName": "Report"}},
    ]
    assert protocol.receive_frame(content(modelTurn={"parts": parts})) == [
        ev.FileReference(file_uri="gs://bucket/chart.png", mime_type="image/png", turn_id=1),
        ev.FileReference(file_uri="https://x/y.pdf", display_name="Report", turn_id=1),
    ]


def test_a_function_response_part_is_an_output_that_answers_its_pending_call() -> None:
    # A call the server reports the result of itself: nothing waits for the client's
    # answer any more, and the session is idle once the turn ends.
    protocol = opened()
    protocol.receive_frame(frame({"toolCall": {"functionCalls": [{"id": "c1", "name": "f"}]}}))
    output = {
        "id": "c1",
        "name": "f",
        "response": {"result": 4},
        "scheduling": "SILENT",
        "parts": [{"inlineData": {"mimeType": "image/png", "data": "AAE="}}],
    }
    (event,) = protocol.receive_frame(content(modelTurn={"parts": [{"functionResponse": output}]}))
    assert event == ev.FunctionCallOutput(
        call_id="c1",
        name="f",
        response={"result": 4},
        turn_id=1,
        scheduling="SILENT",
        parts=(
            FunctionResponsePart(
                inline_data=FunctionResponseBlob(mime_type="image/png", data=b"\x00\x01")
            ),
        ),
    )
    assert protocol.pending_calls.as_dict() == {}
    assert protocol.settled_calls == {"c1": "answered"}
    protocol.receive_frame(content(turnComplete=True))
    assert protocol.idle


def test_a_function_response_part_without_an_id_answers_no_call() -> None:
    # It settled the oldest pending call without an id of its name (of any name, with no
    # name): after the client answered the first of two `f` calls, the server's report of
    # that first one settled the second, which the client could then not answer.
    protocol = opened()
    calls = [{"name": "f", "args": {"n": 1}}, {"name": "f", "args": {"n": 2}}, {"name": "g"}]
    protocol.receive_frame(frame({"toolCall": {"functionCalls": calls}}))
    _answer(protocol, FunctionResponse(name="f", response={"n": 1}))
    assert protocol.pending_calls.without_id() == ["f", "g"]
    for output in ({"name": "f", "response": {"n": 1}}, {"response": {}}):
        (event,) = protocol.receive_frame(
            content(modelTurn={"parts": [{"functionResponse": output}]})
        )
        assert isinstance(event, ev.FunctionCallOutput)
        assert event.call_id == ""
        assert protocol.pending_calls.without_id() == ["f", "g"]
    assert protocol.settled_calls == {}


@pytest.mark.parametrize("where", ["toolCall", "modelTurn"])
def test_a_streamed_call_is_pending_once_when_its_last_piece_comes(where: str) -> None:
    protocol = opened()

    def send(call: dict[str, Any]) -> list[ev.LiveEvent]:
        if where == "toolCall":
            return protocol.receive_frame(frame({"toolCall": {"functionCalls": [call]}}))
        return protocol.receive_frame(content(modelTurn={"parts": [{"functionCall": call}]}))

    pieces = [{"jsonPath": "$.city", "stringValue": "Zür", "willContinue": True}]
    first = send({"id": "c1", "name": "weather", "willContinue": True})
    second = send({"partialArgs": pieces, "willContinue": True})
    assert first == [ev.FunctionCallDelta(call_id="c1", name="weather")]
    assert types(second) == [ev.FunctionCallDelta]
    assert protocol.pending_calls.as_dict() == {}  # nothing to answer yet
    assert protocol.streaming_calls == ("c1",)
    assert not protocol.idle
    last = send({"partialArgs": [{"jsonPath": "$.city", "stringValue": "ich"}]})
    assert last[-1] == ev.FunctionCall(call_id="c1", name="weather", arguments={"city": "Zürich"})
    assert types(last) == [ev.FunctionCallDelta, ev.FunctionCall]
    assert protocol.pending_calls.as_dict() == {"c1": "weather"}
    assert protocol.streaming_calls == ()


@pytest.mark.parametrize("end", [{"turnComplete": True}, {"interrupted": True}])
def test_a_call_still_streaming_when_the_turn_ends_is_cancelled_as_incomplete(
    end: dict[str, Any],
) -> None:
    protocol = opened()
    protocol.receive_frame(
        frame({"toolCall": {"functionCalls": [{"id": "c1", "name": "f", "willContinue": True}]}})
    )
    events = protocol.receive_frame(content(**end))
    assert events[0] == ev.ToolCallCancellation(ids=("c1",), reason="incomplete")
    assert protocol.streaming_calls == ()
    assert protocol.pending_calls.as_dict() == {}


def test_a_cancellation_or_a_resume_ends_a_call_still_streaming() -> None:
    protocol = opened()
    protocol.receive_frame(
        frame({"toolCall": {"functionCalls": [{"id": "c1", "name": "f", "willContinue": True}]}})
    )
    protocol.receive_frame(frame({"toolCallCancellation": {"ids": ["c1"]}}))
    assert protocol.streaming_calls == ()
    protocol.receive_frame(
        frame({"toolCall": {"functionCalls": [{"id": "c2", "name": "f", "willContinue": True}]}})
    )
    protocol.reset_for_resume()
    assert protocol.streaming_calls == ()


def calls(*pieces: dict[str, Any]) -> bytes:
    return frame({"toolCall": {"functionCalls": list(pieces)}})


@pytest.mark.parametrize(
    "end",
    [
        {"toolCallCancellation": {"ids": ["c1"]}},
        {"serverContent": {"turnComplete": True}},
    ],
)
def test_the_rest_of_an_ended_streamed_call_makes_no_call_and_keeps_the_session_idle(
    end: dict[str, Any],
) -> None:
    # A late `{}` used to become FunctionCall(name="") pending for ever: never idle again.
    protocol = opened()
    protocol.receive_frame(calls({"id": "c1", "name": "f", "willContinue": True}))
    protocol.receive_frame(frame(end))
    protocol.receive_frame(content(turnComplete=True))
    assert protocol.idle
    rest = {"partialArgs": [{"jsonPath": "$.a", "numberValue": 1}], "willContinue": True}
    assert protocol.receive_frame(calls(rest)) == []
    assert protocol.receive_frame(calls({})) == []
    assert protocol.receive_frame(calls({"id": "zz", "args": {"a": 1}})) == []
    assert protocol.pending_calls.as_dict() == {}
    assert protocol.idle


def test_a_call_left_incomplete_is_settled_so_and_never_reported_twice() -> None:
    # A barge-in: `interrupted`, then the server's cancellation of the same id; the app
    # used to get two ToolCallCancellations for one call.
    protocol = opened()
    protocol.receive_frame(calls({"id": "c1", "name": "f", "willContinue": True}))
    assert protocol.unanswerable("c1") == "streaming"
    events = protocol.receive_frame(content(interrupted=True))
    assert events[0] == ev.ToolCallCancellation(ids=("c1",), reason="incomplete")
    assert protocol.settled_calls == {"c1": "incomplete"}
    assert protocol.unanswerable("c1") == "incomplete"
    assert protocol.receive_frame(frame({"toolCallCancellation": {"ids": ["c1"]}})) == []
    both = protocol.receive_frame(frame({"toolCallCancellation": {"ids": ["c1", "c2"]}}))
    assert both == [ev.ToolCallCancellation(ids=("c2",))]
    assert protocol.settled_calls == {"c1": "incomplete", "c2": "cancelled"}


def test_a_cancellation_without_an_id_ends_the_stream_without_one_not_a_pending_call() -> None:
    protocol = opened()
    protocol.receive_frame(calls({"name": "g", "args": {}}))  # pending, without an id
    protocol.receive_frame(calls({"name": "f", "willContinue": True}))
    events = protocol.receive_frame(frame({"toolCallCancellation": {"ids": [""]}}))
    assert events == [ev.ToolCallCancellation(ids=("",))]
    assert protocol.streaming_calls == ()
    assert protocol.pending_calls.without_id() == ["g"]


def test_a_whole_call_comes_on_its_own_beside_an_open_stream() -> None:
    protocol = opened()
    protocol.receive_frame(calls({"name": "f", "willContinue": True}))
    events = protocol.receive_frame(calls({"name": "f", "args": {"city": "Oslo"}}))
    assert events == [ev.FunctionCall(call_id="", name="f", arguments={"city": "Oslo"})]
    assert protocol.streaming_calls == ("",)
    assert protocol.pending_calls.without_id() == ["f"]


def test_a_piece_with_a_path_the_client_cannot_apply_fails_the_frame() -> None:
    protocol = opened()
    bad = {"name": "f", "id": "c1", "partialArgs": [{"jsonPath": "$..x", "boolValue": True}]}
    with pytest.raises(RemoteProtocolError, match=r"function call 'c1'.*'\$\.\.x'"):
        protocol.receive_frame(frame({"toolCall": {"functionCalls": [bad]}}))


def test_a_piece_that_conflicts_with_an_earlier_one_fails_the_frame() -> None:
    # It used to replace what the earlier piece made, without a word.
    protocol = opened()
    protocol.receive_frame(calls({"name": "f", "id": "c1", "willContinue": True}))
    string = {"jsonPath": "$.a", "stringValue": "x"}
    protocol.receive_frame(calls({"id": "c1", "willContinue": True, "partialArgs": [string]}))
    bad = {"id": "c1", "partialArgs": [{"jsonPath": "$.a.b", "numberValue": 1}]}
    with pytest.raises(RemoteProtocolError, match=r"function call 'c1' \('f'\).*'\$\.a\.b'"):
        protocol.receive_frame(calls(bad))


# --- goAway -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("50s", 50.0),
        ("9.5s", 9.5),
        ("0s", 0.0),
        ("1.000340012s", 1.000340012),
        (" 3s ", 3.0),
        ("-1s", -1.0),  # proto3's JSON allows a negative Duration
        ("-0.5s", -0.5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["50", "", "s", "abc s", "5m", "1.2.3s", "--1s", "+1s", "-s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(RemoteProtocolError, match="Duration"):
        parse_duration(text)


def test_a_go_away_with_a_negative_time_left_means_move_now() -> None:
    # It failed the session with 1007 ("invalid Duration '-1s'") instead of moving it.
    protocol = opened()
    [event] = protocol.receive_frame(b'{"goAway": {"timeLeft": "-1s"}}')
    assert event == ev.GoAway(time_left=0.0)


def test_go_away_duration_in_frame_and_missing_time_left() -> None:
    protocol = opened()
    assert protocol.receive_frame(frame({"goAway": {"timeLeft": "9.5s"}})) == [
        ev.GoAway(time_left=9.5)
    ]
    assert protocol.receive_frame(frame({"goAway": {}})) == [ev.GoAway(time_left=0.0)]
    with pytest.raises(RemoteProtocolError, match="Duration"):
        protocol.receive_frame(frame({"goAway": {"timeLeft": "soon"}}))


@pytest.mark.parametrize(
    ("first", "named"),
    [
        ({"goAway": {"timeLeft": "5s"}}, "goAway"),
        # The fast paths too: a process may have learned these skeletons from other sessions.
        ({"serverContent": {"outputTranscription": {"text": "hi"}}}, "serverContent"),
        (
            {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "AAAA" * 400}}]}}},
            "serverContent",
        ),
        ({"usageMetadata": {}, "novelKey": 1}, "usageMetadata, novelKey"),
        ({}, "an empty message"),
    ],
)
def test_only_setup_complete_may_come_first(first: dict[str, Any], named: str) -> None:
    # A model turn before setupComplete was delivered ahead of SessionCreated (found by
    # hypothesis: the fuzzed server spoke before reading the setup).
    warm = opened()
    for _ in range(2):  # the second time through a fast path, if one takes the frame
        warm.receive_frame(frame(first))
    protocol = LiveProtocol()
    protocol.start(SETUP)
    with pytest.raises(RemoteProtocolError, match=f"sent {named} before setupComplete"):
        protocol.receive_frame(frame(first))
    assert protocol.state is SessionState.AWAITING_SETUP_COMPLETE
    assert protocol.frames_received == 0


# --- session resumption -----------------------------------------------------------------------


def test_latest_resumable_handle_is_kept() -> None:
    protocol = opened()
    assert protocol.resumption_handle is None
    (first,) = protocol.receive_frame(
        frame({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    )
    assert first == ev.ResumptionUpdate(handle="h1", resumable=True)
    assert protocol.resumption_handle == "h1"
    # Non-resumable updates (as `{}`, or with a handle) never overwrite it.
    (empty,) = protocol.receive_frame(frame({"sessionResumptionUpdate": {}}))
    assert empty == ev.ResumptionUpdate(handle=None, resumable=False)
    protocol.receive_frame(frame({"sessionResumptionUpdate": {"newHandle": "h-bad"}}))
    protocol.receive_frame(frame({"sessionResumptionUpdate": {"newHandle": "", "resumable": True}}))
    assert protocol.resumption_handle == "h1"
    protocol.receive_frame(
        frame({"sessionResumptionUpdate": {"newHandle": "h2", "resumable": True}})
    )
    assert protocol.resumption_handle == "h2"


@pytest.mark.parametrize(
    ("raw", "index"), [("42", 42), (7, 7), ("9223372036854775807", 2**63 - 1), ("0", 0)]
)
def test_last_consumed_client_message_index(raw: int | str, index: int) -> None:
    protocol = opened()
    (update,) = protocol.receive_frame(
        frame({"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": raw}})
    )
    assert isinstance(update, ev.ResumptionUpdate)
    assert update.last_consumed_client_message_index == index
    assert protocol.last_consumed_index == index
    protocol.receive_frame(frame({"sessionResumptionUpdate": {}}))
    assert protocol.last_consumed_index == index  # absent index keeps the last one


def test_invalid_int64_is_a_remote_protocol_error() -> None:
    protocol = opened()
    with pytest.raises(RemoteProtocolError, match="int64"):
        protocol.receive_frame(
            frame({"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": "x"}})
        )


def test_an_invalid_int64_refuses_the_frame_before_its_other_keys_change_the_state() -> None:
    # The turn's end in the same frame was taken (the next turn begun) before the index
    # was read and refused.
    protocol = opened()
    protocol.receive_frame(frame({"serverContent": {"outputTranscription": {"text": "hi"}}}))
    assert (protocol.turn_id, protocol.generating) == (1, True)
    bad = {
        "serverContent": {"turnComplete": True},
        "sessionResumptionUpdate": {"lastConsumedClientMessageIndex": "abc"},
    }
    with pytest.raises(RemoteProtocolError, match="int64 value 'abc'"):
        protocol.receive_frame(frame(bad))
    assert (protocol.turn_id, protocol.generating) == (1, True)


# --- voice activity and unknown messages ------------------------------------------------------


def test_voice_activity() -> None:
    protocol = opened()
    assert protocol.receive_frame(
        frame({"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "1.2s"}})
    ) == [ev.VoiceActivity(activity="ACTIVITY_START", audio_offset="1.2s")]
    assert protocol.receive_frame(
        frame({"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"}})
    ) == [ev.VoiceActivity(activity="VAD_SIGNAL_TYPE_SOS")]


def test_unknown_top_level_message_is_carried() -> None:
    protocol = opened()
    events = protocol.receive_frame(frame({"brandNewThing": {"a": [1, "ü"]}, "other": 3}))
    assert events == [
        ev.UnknownMessage(key="brandNewThing", payload={"a": [1, "ü"]}),
        ev.UnknownMessage(key="other", payload=3),
    ]
    assert protocol.receive_frame(b"{}") == []


def test_an_unknown_top_level_key_beside_a_known_one_is_carried() -> None:
    """A new top-level field outside the oneof (as `usageMetadata` is) shares frames.

    It was dropped whenever the frame also held a known key: in pretty JSON as the server
    sends it, compact JSON, text frames, and audio-sized frames alike.
    """
    protocol = opened()
    message = {"serverContent": {"turnComplete": True}, "futureSibling": {"n": 1}}
    for spelling in (frame(message), json.dumps(message).encode(), json.dumps(message)):
        events = protocol.receive_frame(spelling)
        assert types(events) == [ev.TurnComplete, ev.UnknownMessage]
        assert events[1] == ev.UnknownMessage(key="futureSibling", payload={"n": 1})
    audio = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAA" * 1000}}
    events = protocol.receive_frame(
        frame({"serverContent": {"modelTurn": {"parts": [audio]}}, "futureSibling": 2})
    )
    assert types(events) == [ev.AudioDelta, ev.UnknownMessage]
    assert events[1] == ev.UnknownMessage(key="futureSibling", payload=2)
    # A new field inside a known message is not a top-level key: ignored, as before.
    events = protocol.receive_frame(content(turnComplete=True, futureField={"x": [1]}))
    assert types(events) == [ev.TurnComplete]
    usage = {"totalTokenCount": 3}
    events = protocol.receive_frame(
        frame({"serverContent": {"turnComplete": True}, "usageMetadata": usage})
    )
    assert types(events) == [ev.TurnComplete]


def test_the_text_fast_path_does_not_learn_a_frame_with_an_unknown_top_level_key() -> None:
    protocol = opened()
    message = {
        "serverContent": {"modelTurn": {"parts": [{"text": "hello there"}]}},
        "fastPathSibling": 7,
    }
    for _ in range(3):  # the first frame would teach the fast path its skeleton
        events = protocol.receive_frame(frame(message))
        assert types(events) == [ev.TextDelta, ev.UnknownMessage]


def test_an_empty_message_has_no_events() -> None:
    from trio_gemini_live._wire import ServerMessage

    assert opened().receive_message(ServerMessage()) == []


# --- messages_sent ----------------------------------------------------------------------------


def test_messages_sent_counts_frames_written_not_setup() -> None:
    protocol = LiveProtocol()
    protocol.start(SETUP)
    assert protocol.messages_sent == 0
    protocol.receive_frame(frame({"setupComplete": {}}))
    frames = [protocol.send(TEXT) for _ in range(3)]
    assert protocol.messages_sent == 0  # encoded, not yet written
    for _ in frames:
        protocol.frame_sent()
    protocol.send(ClientMessage(client_content=ClientContent(turn_complete=True)))
    protocol.frame_sent()
    assert protocol.messages_sent == 4


def test_unencodable_message_is_a_local_protocol_error() -> None:
    protocol = opened()
    response = FunctionResponse(id="c1", name="f", response={"value": object()})
    bad = ClientMessage(tool_response=ToolResponse(function_responses=[response]))
    with pytest.raises(LocalProtocolError, match="encode"):
        protocol.send(bad)
    # A realtime field of the wrong type is named before encoding is tried.
    text = ClientMessage(realtime_input=RealtimeInput(text=object()))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match=r"\$\.realtimeInput\.text cannot be object"):
        protocol.send(text)


# --- close policy and typed errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason", "after_go_away", "action", "error"),
    [
        (1000, "", False, CloseAction.END, ConnectionClosedError),
        (1000, "", True, CloseAction.END, ConnectionClosedError),
        (1001, "going away", False, CloseAction.RESUME, ConnectionClosedError),
        (1006, "", False, CloseAction.RESUME, AbnormalClosureError),
        (1011, "Internal error encountered.", False, CloseAction.RESUME, InternalServerError),
        (
            1011,
            "Deadline expired before operation could complete.",
            True,
            CloseAction.RESUME,
            InternalServerError,
        ),
        (1012, "", False, CloseAction.RESUME, ConnectionClosedError),
        (1013, "", False, CloseAction.RESUME, ConnectionClosedError),
        (
            1007,
            "API key not valid. Please pass a valid API key.",
            False,
            CloseAction.FAIL,
            InvalidArgumentError,
        ),
        (
            1008,
            "models/x is not found for API version v1beta",
            False,
            CloseAction.FAIL,
            PolicyViolationError,
        ),
        (1008, "", True, CloseAction.RESUME, PolicyViolationError),
        (
            1011,
            "You exceeded your current quota, please check your plan and billing details. For mor",
            False,
            CloseAction.FAIL,
            QuotaExceededError,
        ),
        (1011, "RESOURCE_EXHAUSTED", True, CloseAction.FAIL, QuotaExceededError),
        (1011, "Token has been used too many times", False, CloseAction.FAIL, QuotaExceededError),
        (4000, "custom", False, CloseAction.FAIL, ConnectionClosedError),
        (1002, "protocol error", False, CloseAction.FAIL, ConnectionClosedError),
    ],
)
def test_close_policy_table(
    code: int,
    reason: str,
    after_go_away: bool,
    action: CloseAction,
    error: type[ConnectionClosedError],
) -> None:
    assert classify_close(code, reason, after_go_away=after_go_away) is action
    exc = close_error_for(code, reason)
    assert type(exc) is error
    assert (exc.code, exc.reason) == (code, reason)
    assert str(code) in str(exc)
    assert reason in str(exc)
    protocol = opened()
    if after_go_away:
        protocol.receive_frame(frame({"goAway": {"timeLeft": "1s"}}))
    got_action, got_error = protocol.close_received(code, reason)
    assert got_action is action
    assert type(got_error) is error
    assert (got_error.code, got_error.reason) == (code, reason)


@pytest.mark.parametrize(
    "exc",
    [
        InvalidArgumentError(1007, "Request contains an invalid argument."),
        PolicyViolationError(1008, "not found"),
        InternalServerError(1011, "Internal error encountered."),
        QuotaExceededError(1011, "quota"),
        AbnormalClosureError(1006),
        ConnectionClosedError(1000, ""),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_close_errors_pickle_round_trip(exc: ConnectionClosedError) -> None:
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert (copy.code, copy.reason) == (exc.code, exc.reason)
    assert str(copy) == str(exc)
    assert isinstance(copy, GeminiLiveError)


@pytest.mark.parametrize(
    "exc",
    [LocalProtocolError("x"), RemoteProtocolError("y"), ConfigurationError("z")],
    ids=lambda exc: type(exc).__name__,
)
def test_other_errors_pickle_round_trip(exc: GeminiLiveError) -> None:
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert str(copy) == str(exc)


def test_call_cancelled_error_pickles_with_its_call() -> None:
    exc = CallCancelledError("tool call 'c1' was cancelled", "c1", "reconnect")
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is CallCancelledError
    assert (str(copy), copy.call_id, copy.reason) == (str(exc), "c1", "reconnect")
    assert isinstance(copy, LocalProtocolError)


def test_abnormal_closure_str_has_no_trailing_space() -> None:
    assert str(AbnormalClosureError(1006)) == "connection closed by the server: 1006"


# --- regressions for the review of the first version ------------------------------------------


def test_1007_after_go_away_still_fails() -> None:
    assert classify_close(1007, "API key expired", after_go_away=True) is CloseAction.FAIL
    assert classify_close(1008, "", after_go_away=True) is CloseAction.RESUME


def test_non_audio_inline_data_is_not_audio() -> None:
    protocol = opened()
    frame = (
        b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":'
        b'{"mimeType":"image/png","data":"iVBORw=="}}]}}}'
    )
    (event,) = protocol.receive_frame(frame)
    assert isinstance(event, ev.InlineData)
    assert event.mime_type == "image/png"
    assert event.data == b"\x89PNG"


@pytest.mark.parametrize(
    ("mime", "kind", "rate"),
    [
        ("audio/pcm;rate=16000", ev.AudioDelta, 16000),
        ("audio/pcm", ev.AudioDelta, 24000),
        ("", ev.AudioDelta, 24000),  # no MIME type: audio at the default output rate
        ("image/png", ev.InlineData, None),
        ("AUDIO/PCM;RATE=8000", ev.AudioDelta, 8000),  # MIME types ignore case (RFC 2045)
        ("audio/pcm ; rate=16000", ev.AudioDelta, 16000),
        # Not PCM: these were `AudioDelta`s whose `pcm` held MP3 or a WAV file.
        ("audio/mpeg", ev.InlineData, None),
        ("audio/wav", ev.InlineData, None),
        ("audio/pcmx", ev.InlineData, None),
        ('audio/pcm;rate="16000"', ev.AudioDelta, 16000),
        # A rate that cannot be read: no `AudioDelta` of a guessed rate (it was 24000),
        # but the bytes and the MIME type, for the application to judge.
        ("audio/pcm;rate=16k", ev.InlineData, None),
        ("audio/pcm;rate=24000.0", ev.InlineData, None),
    ],
)
def test_inline_data_kind_and_rate_are_the_same_every_time(
    mime: str, kind: type[ev.RealtimeEvent], rate: int | None
) -> None:
    protocol = opened()
    part = {"inlineData": {"mimeType": mime, "data": "AAE="}}
    for _ in range(3):  # the first look-up fills a cache, the next ones read it
        (event,) = protocol.receive_frame(content(modelTurn={"parts": [part]}))
        assert type(event) is kind
        assert getattr(event, "sample_rate", None) == rate
        assert getattr(event, "pcm", getattr(event, "data", None)) == b"\x00\x01"


def test_sample_rate_of_caches_per_default_rate() -> None:
    # Regression: the cache ignored `default`, so a MIME type without a rate read first
    # with the default output rate kept it for any other default.
    mime = "audio/x-test-no-rate"
    assert sample_rate_of(mime) == 24000
    assert sample_rate_of(mime, default=16000) == 16000
    assert sample_rate_of(mime) == 24000


def test_setup_complete_before_setup_is_a_remote_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError, match="before setup"):
        LiveProtocol().receive_frame(b'{"setupComplete":{}}')


def test_a_client_message_must_carry_exactly_one_field() -> None:
    protocol = LiveProtocol()
    protocol.start(Setup(model="models/m"))
    with pytest.raises(LocalProtocolError, match="exactly one"):
        protocol.send(ClientMessage())
    with pytest.raises(LocalProtocolError, match="exactly one"):
        protocol.send(
            ClientMessage(realtime_input=RealtimeInput(text="a"), client_content=ClientContent())
        )


@pytest.mark.parametrize("text", ["nans", "infs", "- 5s", "1e3s", "5"])
def test_invalid_durations_are_rejected_before_state_changes(text: str) -> None:
    protocol = LiveProtocol()
    protocol.start(Setup(model="models/m"))
    frame = b'{"setupComplete":{},"goAway":{"timeLeft":"' + text.encode() + b'"}}'
    with pytest.raises(RemoteProtocolError, match="Duration"):
        protocol.receive_frame(frame)
    assert protocol.state is SessionState.AWAITING_SETUP_COMPLETE


def test_an_empty_tool_response_object_is_still_sent() -> None:
    protocol = LiveProtocol()
    protocol.start(Setup(model="models/m"))
    frame = protocol.send(
        ClientMessage(
            tool_response=ToolResponse(
                function_responses=[FunctionResponse(id="a", name="f", response={})]
            )
        )
    )
    assert b'"response":{}' in frame


def test_context_update_changes_the_setup_a_resume_will_carry() -> None:
    from trio_gemini_live._wire import Content, ContextUpdate, Part, Tool, ToolsUpdate

    protocol = LiveProtocol()
    protocol.start(Setup(model="models/m", tools=[Tool(google_search={})]))
    protocol.receive_frame(b'{"setupComplete":{}}')
    instruction = Content(parts=[Part(text="New rules")], role="user")
    protocol.send(ClientMessage(context_update=ContextUpdate(system_instruction=instruction)))
    assert protocol.setup is not None
    assert protocol.setup.system_instruction == instruction
    assert protocol.setup.tools == [Tool(google_search={})]
    protocol.send(ClientMessage(context_update=ContextUpdate(tools=ToolsUpdate(tools=[]))))
    assert protocol.setup.tools == []
    assert protocol.setup.system_instruction == instruction


def test_a_context_update_committed_before_start_changes_the_setup_start_is_given() -> None:
    # Dropped before: the setup in force (what a resume carries) lacked it, though the
    # server had it (the session sends it after the setup).
    from trio_gemini_live._wire import Content, ContextUpdate, Part

    protocol = LiveProtocol()
    instruction = Content(parts=[Part(text="Be terse.")], role="user")
    protocol.commit(ClientMessage(context_update=ContextUpdate(system_instruction=instruction)))
    setup = Setup(model="models/m")
    frame = protocol.start(setup)
    assert protocol.setup is not None
    assert protocol.setup.system_instruction == instruction
    assert b"Be terse" not in frame  # the setup as given: the update follows it
    protocol.receive_frame(b'{"setupComplete":{}}')
    protocol.commit(ClientMessage(context_update=ContextUpdate(system_instruction=None)))
    assert protocol.setup.system_instruction == instruction  # applied once, not again


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_a_frame_in_any_buffer_gives_the_events_bytes_give(wrap: Any) -> None:
    # The sans-IO core is for other I/O layers too, whose frames may come in a buffer.
    # (Compiled, the default build, the annotation is checked: it says which are taken.)
    frames = [
        b'{"serverContent": {"outputTranscription": {"text": "hi"}}}',
        b'{"serverContent": {"turnComplete": true}, "usageMetadata": {"totalTokenCount": 3}}',
    ]
    expected, got = opened_protocol(), LiveProtocol()
    got.start(Setup(model="models/m"))
    assert got.receive_frame(wrap(b'{"setupComplete": {}}'))[0] == ev.SessionCreated()
    for frame in frames:
        assert got.receive_frame(wrap(frame)) == expected.receive_frame(frame)


def test_a_setup_without_a_model_is_refused_by_name() -> None:
    with pytest.raises(LocalProtocolError, match=r"setup\.model is required"):
        LiveProtocol().start(Setup(model=cast(Any, None)))


def test_an_unknown_key_before_setup_complete_is_named_cut_short() -> None:
    protocol = LiveProtocol()
    protocol.start(SETUP)
    with pytest.raises(RemoteProtocolError, match="before setupComplete") as error:
        protocol.receive_frame(frame({"k" * 1_000_000: 1}))
    assert len(str(error.value)) < 1000
