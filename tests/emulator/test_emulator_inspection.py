"""Point 7: every frame is recorded per connection, with secrets redacted."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import trio
import trio.testing

from emulator.emulator_client import GEMINI_PATH, NATIVE, connect, start
from trio_gemini_live.emulator import EmulatorConfig, Pacing, Scenario, ScenarioTurn


async def test_frames_are_recorded_both_ways() -> None:
    async with start() as emu:
        async with connect(
            emu, GEMINI_PATH + "?key=secret-1&alt=x", [("Authorization", "Bearer secret-2")]
        ) as client:
            await client.setup(generationConfig={"responseModalities": ["TEXT"]})
            await client.send(
                {
                    "realtime_input": {
                        "audio": {
                            "data": base64.urlsafe_b64encode(b"\xff\xd8").decode(),
                            "mime_type": "audio/pcm",
                        }
                    }
                }
            )
            await client.send({"realtimeInput": {"text": "hi"}})
            conn = await emu.wait_for_connection(1)
            [done] = await conn.wait_for_sent("serverContent.turnComplete")
            assert done.get("usageMetadata.totalTokenCount")
        await conn.wait_closed()
    assert conn.closed
    assert conn.close_code == 1000
    assert conn.closed_by == "client"
    assert [f.data for f in conn.received][1:] == [
        {"realtime_input": {"audio": {"data": "_9g=", "mime_type": "audio/pcm"}}},
        {"realtimeInput": {"text": "hi"}},
    ]
    assert all(not f.binary for f in conn.received)
    assert conn.received[2].raw == b'{"realtimeInput": {"text": "hi"}}'
    assert conn.sent[0].raw == b'{\n  "setupComplete": {}\n}\n'
    assert conn.sent[0].data == {"setupComplete": {}}
    assert all(f.binary for f in conn.sent)
    assert conn.sent[-1].get("serverContent.turnComplete") is True
    text = repr(conn) + conn.path + repr(conn.headers)
    assert "secret" not in text
    assert conn.path.endswith("?key=REDACTED&alt=x")
    assert ("authorization", "Bearer REDACTED") in conn.headers
    assert conn.model_id == "gemini-live-2.5-flash-preview"


BOGUS = {"realtimeInput": {"text": "hi", "bogus": 1}}
WRONG_TYPE = {"toolResponse": {"functionResponses": 3}}


@pytest.mark.parametrize(
    ("frame", "data"),
    [
        (json.dumps(BOGUS).encode(), BOGUS),
        (json.dumps(WRONG_TYPE).encode(), WRONG_TYPE),
        (b'["realtimeInput"]', None),
        (b"{not json", None),
    ],
    ids=["unknown-field", "wrong-type", "not-an-object", "not-json"],
)
async def test_a_refused_frame_is_recorded_with_its_object(
    frame: bytes, data: dict[str, Any] | None, autojump_clock: trio.abc.Clock
) -> None:
    # A frame refused for its content was recorded with `data` None, though it was a JSON
    # object: `.get` and the waits could not see it.
    async with start() as emu, connect(emu) as client:
        await client.setup()
        await client.ws.send_message(frame)
        assert (await client.closed())[0] == 1007
        conn = emu.connections[0]
    refused = conn.received[-1]
    assert (refused.raw, refused.data) == (frame, data)
    for top, value in (data or {}).items():
        assert refused.get(top) == value
        assert await conn.wait_for_received(top) == [refused]


@pytest.mark.parametrize("pacing", ["burst", "realtime"])
async def test_a_close_while_the_emulator_writes_is_recorded(
    autojump_clock: trio.abc.Clock, pacing: Pacing
) -> None:
    # A client that closed while a reply was being written left close_code, close_reason
    # and closed_by None: the write saw the close first and ended the connection without
    # recording it, and the read that records it was cancelled.
    story = "Once upon a time, a packet left home and crossed the whole network. " * 4
    config = EmulatorConfig(scenario=Scenario((ScenarioTurn(reply=story),)), pacing=pacing)
    async with start(config) as emu:
        async with connect(emu) as client:
            await client.setup(model=NATIVE, outputAudioTranscription={})
            await client.send({"realtimeInput": {"text": "Tell me a story"}})
            conn = await emu.wait_for_connection(1)
            await conn.wait_for_sent("serverContent.modelTurn")  # it is speaking
            await client.ws.aclose(4000, "bye")
        await conn.wait_closed()
        assert not any(f.get("serverContent.turnComplete") for f in conn.sent)  # mid-answer
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (4000, "bye", "client")


async def test_a_ping_that_crosses_the_emulator_s_close_is_no_error() -> None:
    # The client's ping was read after the emulator sent its close frame (its deadline
    # close, say): wsproto refuses a pong then, and trio-websocket's reader failed the
    # connection with a logged traceback. The crossing is routine: no pong, no error.
    from wsproto import ConnectionType, WSConnection
    from wsproto.connection import ConnectionState
    from wsproto.events import AcceptConnection, CloseConnection, Ping, Request

    from trio_gemini_live.emulator._server import _FaultStream
    from trio_gemini_live.emulator._websocket import ServerWebSocket

    ours, _theirs = trio.testing.memory_stream_pair()
    ws = ServerWebSocket(_FaultStream(ours), max_message_size=1 << 20)
    server = ws._wsproto  # pyright: ignore[reportPrivateUsage]
    server.receive_data(WSConnection(ConnectionType.CLIENT).send(Request(host="h", target="/")))
    assert [type(event) for event in server.events()] == [Request]
    server.send(AcceptConnection())
    server.send(CloseConnection(code=1000))
    assert server.state is ConnectionState.LOCAL_CLOSING
    await ws._handle_ping_event(Ping(b"late"))  # pyright: ignore[reportPrivateUsage]
    ws.pong_delay = 1.0
    await ws._handle_ping_event(Ping(b"late"))  # pyright: ignore[reportPrivateUsage]
