"""Replay the recorded real-server sessions through the codec and the protocol core.

Recording format (js-genai `test/system/recordings/*.websocket.log`): `>N ` starts a client
frame, `<N ` a server frame, followed by N bytes. N counts the frame *plus* the newline that
ends its log line: the 26-byte `setupComplete` frame of protocol.md section 1.4 is logged as
`<27 `. A recording may end mid-frame; such a trailing fragment is not a frame.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec
import pytest

from trio_gemini_live import _events as ev
from trio_gemini_live._codec import decode_server
from trio_gemini_live._protocol import LiveProtocol, SessionState
from trio_gemini_live._wire import ClientMessage

# Copies of ../shared/recordings (real frames from Google), kept with the tests.
RECORDINGS = Path(
    os.environ.get("TRIO_GEMINI_LIVE_RECORDINGS", Path(__file__).parent / "data" / "recordings")
)

_HEADER = re.compile(rb"([<>])(\d+) ")


def parse_recording(data: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    """Split a recording into (direction, frame) pairs plus any truncated trailing fragment."""
    frames: list[tuple[str, bytes]] = []
    pos = 0
    while pos < len(data):
        match = _HEADER.match(data, pos)
        if match is None:
            if re.fullmatch(rb"[<>]\d*", data[pos:]):  # cut inside the header itself
                return frames, data[pos:]
            raise AssertionError(f"no frame header at byte {pos}: {data[pos : pos + 20]!r}")
        start = match.end()
        end = start + int(match.group(2))
        if end > len(data):
            return frames, data[pos:]
        logged = data[start:end]
        assert logged.endswith(b"\n"), f"frame at byte {pos} does not end its log line"
        frames.append((match.group(1).decode(), logged[:-1]))
        pos = end
    return frames, b""


def load(name: str) -> list[tuple[str, bytes]]:
    path = RECORDINGS / name
    assert path.is_file(), f"recording {path} is missing (set TRIO_GEMINI_LIVE_RECORDINGS)"
    frames, _ = parse_recording(path.read_bytes())
    return frames


S = [ev.SessionCreated, ev.SessionUpdated]

# file -> (expected event types per server frame, in order; concatenated text/transcript)
EXPECTED: dict[str, tuple[list[list[type[ev.RealtimeEvent]]], str]] = {
    "live_ML_Dev_handle_activity_start_and_end.websocket.log": (
        [S, [ev.TextDelta], [ev.TextDelta]],
        "Yeah, I can hear you. What's up?",
    ),
    "live_ML_Dev_should_receive_transcription_in_async_session_with_transcription_enabled"
    ".websocket.log": (
        [S, [ev.OutputTranscription], [ev.OutputTranscription], [ev.OutputTranscription]],
        "We could talk about anything you like. Perhaps you have a hobby or an interest you"
        "'d like to discuss, or maybe there's a topic you've been curious about lately.",
    ),
    "live_ML_Dev_should_reply_to_realtime_audio_input.websocket.log": (
        [S, [ev.TextDelta], [ev.TextDelta]],
        "Yes, I can hear you clearly. How may I assist you?",
    ),
    "live_ML_Dev_should_reply_to_realtime_text_input.websocket.log": (
        [S, [ev.TextDelta], [ev.TextDelta]],
        "Yes, I'm here! How can I help you today?",
    ),
    "live_ML_Dev_should_respond_to_realtime_media-audio_input.websocket.log": (
        [S, [ev.TextDelta], [ev.TextDelta]],
        "Yes, I can hear you clearly. How may I help you?",
    ),
    "live_ML_Dev_should_return_error_for_invalid_input_in_async_session.websocket.log": (
        [S],
        "",
    ),
    "live_ML_Dev_should_send_content_dict_in_async_session.websocket.log": (
        [S, [ev.GenerationComplete], [ev.TurnComplete]],
        "",
    ),
    "live_ML_Dev_should_send_text_in_async_session.websocket.log": (
        [S, [ev.GenerationComplete], [ev.TurnComplete]],
        "",
    ),
    "live_ML_Dev_should_send_tool_response.websocket.log": (
        [S, [ev.ExecutableCode], [ev.FunctionCall]],
        "",
    ),
    "live_ML_Dev_should_send_tool_response_with_function_responses.websocket.log": (
        [S],
        "",
    ),
}


def test_every_recording_is_in_the_table() -> None:
    on_disk = {path.name for path in RECORDINGS.glob("*.websocket.log")}
    assert on_disk == set(EXPECTED)


def replay(name: str) -> tuple[LiveProtocol, list[list[ev.RealtimeEvent]]]:
    """Drive a LiveProtocol with the recording: client frames via start/send, server frames in."""
    protocol = LiveProtocol()
    per_frame: list[list[ev.RealtimeEvent]] = []
    for direction, frame in load(name):
        if direction == ">":
            message = msgspec.json.decode(frame, type=ClientMessage)
            if message.setup is not None:
                assert protocol.start(message.setup) == frame
            else:
                assert protocol.send(message) == frame
                protocol.frame_sent()
        else:
            per_frame.append(protocol.receive_frame(frame))
    return protocol, per_frame


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recording_server_frames_give_expected_events(name: str) -> None:
    expected_types, expected_text = EXPECTED[name]
    protocol, per_frame = replay(name)
    assert [[type(event) for event in events] for events in per_frame] == expected_types
    text = "".join(
        event.text
        for events in per_frame
        for event in events
        if isinstance(event, ev.TextDelta | ev.OutputTranscription)
    )
    assert text == expected_text
    assert protocol.state is SessionState.OPEN
    assert protocol.frames_received == len(expected_types)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recording_setup_is_reported_in_session_updated(name: str) -> None:
    frames = load(name)
    direction, setup_frame = frames[0]
    assert direction == ">"
    _, per_frame = replay(name)
    updated = per_frame[0][1]
    assert isinstance(updated, ev.SessionUpdated)
    assert updated.setup == msgspec.json.decode(setup_frame)["setup"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recording_frames_are_well_formed(name: str) -> None:
    frames = load(name)
    assert frames[0][0] == ">"
    assert frames[1] == ("<", b'{\n  "setupComplete": {}\n}\n')
    for direction, frame in frames:
        if direction == "<":
            # Pretty-printed, 2-space indent, trailing newline (protocol.md section 1.4).
            assert frame.startswith(b"{\n  ")
            assert frame.endswith(b"}\n")
            decode_server(frame)
        else:
            assert b"\n" not in frame


def test_recorded_turn_with_usage() -> None:
    protocol, per_frame = replay("live_ML_Dev_should_send_text_in_async_session.websocket.log")
    done = per_frame[-1][0]
    assert isinstance(done, ev.TurnComplete)
    assert done.turn_id == 1
    assert done.interrupted is False
    assert done.usage is not None
    assert (done.usage.prompt_token_count, done.usage.response_token_count) == (515, 38)
    assert done.usage.total_token_count == 553
    assert done.usage.prompt_tokens_details is not None
    assert done.usage.prompt_tokens_details[0].modality == "TEXT"
    assert protocol.turn_id == 2
    assert protocol.messages_sent == 1


def test_recorded_tool_call() -> None:
    protocol, per_frame = replay("live_ML_Dev_should_send_tool_response.websocket.log")
    code = per_frame[1][0]
    assert isinstance(code, ev.ExecutableCode)
    assert code.language == "PYTHON"
    assert code.code == "print(default_api.get_current_weather(location='Redmond, WA'))"
    call = per_frame[2][0]
    assert call == ev.FunctionCall(
        call_id="function-call-5831923424298605773",
        name="get_current_weather",
        arguments={"location": "Redmond, WA"},
    )
    assert protocol.pending_calls.as_dict() == {
        "function-call-5831923424298605773": "get_current_weather"
    }


def test_recorded_realtime_audio_frame_counts() -> None:
    protocol, _ = replay("live_ML_Dev_handle_activity_start_and_end.websocket.log")
    assert protocol.messages_sent == 3  # activityStart, audio, activityEnd (setup not counted)


def test_parser_handles_recording_cut_mid_frame() -> None:
    whole = (
        RECORDINGS / "live_ML_Dev_should_send_text_in_async_session.websocket.log"
    ).read_bytes()
    complete, rest = parse_recording(whole)
    assert rest == b""
    assert [direction for direction, _ in complete] == [">", "<", ">", "<", "<"]
    for cut in (len(whole) - 1, len(whole) - 200, 2, 1):
        frames, fragment = parse_recording(whole[:cut])
        assert frames == complete[: len(frames)]
        assert fragment
        assert len(frames) < len(complete)
    frames, fragment = parse_recording(whole[:0])
    assert (frames, fragment) == ([], b"")


def test_parser_rejects_garbage() -> None:
    with pytest.raises(AssertionError, match="no frame header"):
        parse_recording(b"hello world")
