"""Replay every recorded real session against the client, through the whole trio stack.

The replay server (tests/replay_server.py) plays the recorded server frames and checks
that the client, driven through its public send API, writes the recorded client frames:
same messages, field for field, after normalising casing and base64.
"""

from __future__ import annotations

import base64
import json

import msgspec
import pytest
import trio

from fake_server import FakeServer
from replay_server import ReplayServer, normalise
from test_recordings import EXPECTED, load
from trio_gemini_live import _events as ev
from trio_gemini_live._endpoints import url_endpoint
from trio_gemini_live._errors import InvalidArgumentError
from trio_gemini_live._protocol import sample_rate_of
from trio_gemini_live._session import LiveSession, open_session
from trio_gemini_live._wire import ClientMessage, RealtimeInput

ENDPOINT = url_endpoint(
    "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
    api_key="test-key",
)


async def issue(session: LiveSession, message: ClientMessage) -> None:
    """Send a recorded client message through the public API a user would call."""
    realtime = message.realtime_input
    if realtime is not None:
        if realtime.text is not None:
            await session.send_text(realtime.text)
        elif realtime.audio is not None:
            rate = sample_rate_of(realtime.audio.mime_type, default=16000)
            await session.send_audio(realtime.audio.data, sample_rate=rate)
        elif realtime.activity_start is not None:
            await session.activity_start()
        elif realtime.activity_end is not None:
            await session.activity_end()
        elif realtime.audio_stream_end:
            await session.audio_stream_end()
        else:  # mediaChunks (deprecated) has no dedicated method
            await session.send(ClientMessage(realtime_input=RealtimeInput(**_set(realtime))))
    elif message.client_content is not None:
        content = message.client_content
        await session.send_client_content(content.turns, turn_complete=bool(content.turn_complete))
    elif message.tool_response is not None:
        await session.send_tool_response(*message.tool_response.function_responses)
    else:
        raise AssertionError(f"no API call for {message!r}")


def _set(struct: RealtimeInput) -> dict[str, object]:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_replay_recorded_session(nursery: trio.Nursery, name: str) -> None:
    frames = load(name)
    replay = ReplayServer(frames)
    server = FakeServer(nursery, replay.script)
    client_messages = [
        msgspec.json.decode(frame, type=ClientMessage) for d, frame in frames if d == ">"
    ]
    setup = client_messages[0].setup
    assert setup is not None
    with trio.fail_after(10):
        async with open_session(setup, endpoint=ENDPOINT, connector=server.connector) as session:
            for message in client_messages[1:]:
                await issue(session, message)
            events = [event async for event in session]
    assert replay.mismatches == []
    assert replay.checked == len(client_messages)
    expected_types, expected_text = EXPECTED[name]
    got = [type(event) for event in events]
    assert got == [kind for kinds in expected_types for kind in kinds] + [ev.Closed]
    assert events[-1] == ev.Closed(code=1000, reason="")
    text = "".join(
        event.text for event in events if isinstance(event, ev.TextDelta | ev.OutputTranscription)
    )
    assert text == expected_text


async def test_replay_server_catches_a_wrong_client_frame(nursery: trio.Nursery) -> None:
    # The checker is not vacuous: a client that sends other text is caught, and the
    # server closes 1007 as the real one would; the session ends with the typed error.
    frames = load("live_ML_Dev_should_reply_to_realtime_text_input.websocket.log")
    replay = ReplayServer(frames)
    server = FakeServer(nursery, replay.script)
    setup = msgspec.json.decode(frames[0][1], type=ClientMessage).setup
    assert setup is not None
    events: list[ev.RealtimeEvent] = []
    with trio.fail_after(10), pytest.raises(InvalidArgumentError):
        async with open_session(setup, endpoint=ENDPOINT, connector=server.connector) as session:
            await session.send_text("something else")
            async for event in session:
                events.append(event)
    assert len(replay.mismatches) == 1
    assert "client frame #2" in replay.mismatches[0]
    assert events[-1] == ev.Closed(code=1007, reason="Request contains an invalid argument.")


def test_normalise_equates_casing_and_base64_alphabets() -> None:
    data = bytes([0xFF, 0xD8, 0x00, 0x3E])
    camel_std = {
        "realtimeInput": {
            "audio": {"mimeType": "image/jpeg", "data": base64.b64encode(data).decode()}
        }
    }
    snake_url = {
        "realtime_input": {
            "audio": {
                "mime_type": "image/jpeg",
                "data": base64.urlsafe_b64encode(data).decode().rstrip("="),
            }
        }
    }
    assert normalise(camel_std) == normalise(snake_url)
    assert normalise(json.loads('{"a_b": 1}')) != normalise(json.loads('{"aB": 2}'))
