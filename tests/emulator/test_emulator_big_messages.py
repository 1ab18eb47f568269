"""Client messages larger than the emulator's read-ahead, or than `max_message_size`.

The read-ahead bound (`READ_AHEAD`) counted the parts of a message still being read, and
the reader waited for room that only a complete message, handled, makes: one message over
the bound (under `max_message_size`) wedged the connection, its pings unanswered, and one
over `max_message_size` never got its 1009. And a close the emulator's WebSocket sends of
its own accord (1009) was recorded as the client's; a text message that is not UTF-8 was
closed before the messages ahead of it were answered, with Python's words.
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct

import pytest
import trio
import trio.testing
from wsproto.events import CloseConnection, Event, Message, Ping, Pong

from emulator.emulator_client import MODEL, NATIVE, HandClient, start
from trio_gemini_live import Closed, TurnComplete
from trio_gemini_live.emulator import Emulator, EmulatorConfig, EmulatorConnection
from trio_gemini_live.emulator._validate import NOT_UTF8

# Monkeypatched over `READ_AHEAD` (8 MiB): the same bound, on messages of kilobytes.
BOUND = 10_000


@pytest.fixture
def small_read_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    from trio_gemini_live.emulator import _websocket

    monkeypatch.setattr(_websocket, "READ_AHEAD", BOUND)


async def _set_up(emu: Emulator) -> tuple[HandClient, EmulatorConnection]:
    """A hand client past its setup on the emulator's first connection."""
    client = HandClient(await emu.memory_connector(buffer=4096)())
    await client.upgrade()
    await client.send({"setup": {"model": MODEL}})
    conn = await emu.wait_for_connection(1)
    await conn.wait_for_sent("setupComplete")
    return client, conn


async def _events_until(client: HandClient, kind: type[Event]) -> list[Event]:
    """The client's events up to the first `kind` (bounded by the caller)."""
    events: list[Event] = []
    while True:
        data = await client.stream.receive_some()
        assert data, f"the stream ended before a {kind.__name__}: {events}"
        client.ws.receive_data(data)
        for event in client.ws.events():
            events.append(event)
            if isinstance(event, kind):
                return events


def _text_frame(payload: bytes) -> bytes:
    """A final text frame of `payload` as it is (UTF-8 or not), masked with zeros.

    Made by hand: wsproto sends text it encodes itself, and nothing once a close is read.
    """
    size = len(payload)
    assert size < 1 << 16
    length = bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + size.to_bytes(2)
    return b"\x81" + length + bytes(4) + payload


async def _send_unread(client: HandClient, message: dict[str, object]) -> None:
    """Send `message`, whose end the emulator may never read: it closes at its 1009."""
    with contextlib.suppress(trio.BrokenResourceError):
        await client.send(message)


@pytest.mark.usefixtures("small_read_ahead")
async def test_a_message_larger_than_the_read_ahead_is_received(
    autojump_clock: trio.testing.MockClock,
) -> None:
    text = "x" * (2 * BOUND)
    async with start() as emu:
        client, conn = await _set_up(emu)
        with trio.fail_after(60):
            await client.send({"realtimeInput": {"text": text}})
            await client.stream.send_all(client.ws.send(Ping(b"p1")))
            events = await _events_until(client, Pong)
            assert events[-1] == Pong(b"p1")
            [frame] = await conn.wait_for_received("realtimeInput.text")
        assert frame.get("realtimeInput.text") == text
        assert not conn.closed


@pytest.mark.usefixtures("small_read_ahead")
async def test_messages_over_the_read_ahead_wait_for_room_and_are_all_received(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Each over the bound on its own: the reader waits after each until it is handled.
    texts = [str(i) * (2 * BOUND) for i in range(3)]
    async with start() as emu:
        client = HandClient(await emu.memory_connector(buffer=4096)())
        await client.upgrade()
        await client.send({"setup": {"model": MODEL}})
        conn = await emu.wait_for_connection(1)
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.read_after, 0)  # the answers' writes never wait
                for text in texts:
                    await client.send({"realtimeInput": {"text": text}})
                frames = await conn.wait_for_received("realtimeInput.text", 3)
                nursery.cancel_scope.cancel()
        assert [f.get("realtimeInput.text") for f in frames] == texts


@pytest.mark.usefixtures("small_read_ahead")
async def test_a_message_over_max_message_size_and_the_read_ahead_gets_its_1009(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = EmulatorConfig(max_message_size=3 * BOUND)
    async with start(config) as emu:
        client, conn = await _set_up(emu)
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    _send_unread, client, {"realtimeInput": {"text": "x" * 4 * BOUND}}
                )
                events = await _events_until(client, CloseConnection)
            await conn.wait_closed()
    reason = f"Exceeded maximum message size: {3 * BOUND} bytes"
    assert events[-1] == CloseConnection(1009, reason)
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (1009, reason, "server")


@pytest.mark.parametrize("parts", [1, 3])
@pytest.mark.parametrize("over", [0, 1])
async def test_max_message_size_counts_the_utf8_bytes_of_a_text_message(
    parts: int, over: int, autojump_clock: trio.testing.MockClock
) -> None:
    # A text message was counted in characters: at 3 bytes a character (the euro sign),
    # a message of 3 times `max_message_size` passed.
    text = json.dumps({"realtimeInput": {"text": "\u20ac" * 1000}}, ensure_ascii=False)
    size = len(text.encode())
    async with start(EmulatorConfig(max_message_size=size - over)) as emu:
        client, conn = await _set_up(emu)
        with trio.fail_after(60):
            step = -(-len(text) // parts)
            for start_at in range(0, len(text), step):
                last = start_at + step >= len(text)
                part = Message(data=text[start_at : start_at + step], message_finished=last)
                with contextlib.suppress(trio.BrokenResourceError):
                    await client.stream.send_all(client.ws.send(part))
            if over:
                events = await _events_until(client, CloseConnection)
                reason = f"Exceeded maximum message size: {size - over} bytes"
                assert events[-1] == CloseConnection(1009, reason)
                await conn.wait_closed()
                assert (conn.close_code, conn.closed_by) == (1009, "server")
                assert conn.frames_received == 1  # the setup
            else:
                [frame] = await conn.wait_for_received("realtimeInput.text")
                assert len(frame.raw) == size


async def test_a_message_over_max_message_size_is_recorded_as_the_emulator_s_1009(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # trio-websocket gives its own 1009 as the connection's close reason, as it gives the
    # client's close: it was recorded as the client's.
    async with start(EmulatorConfig(max_message_size=1000)) as emu:
        client, conn = await _set_up(emu)
        with trio.fail_after(60):
            await client.send({"realtimeInput": {"text": "x" * 2000}})
            events = await _events_until(client, CloseConnection)
            await conn.wait_closed()
    reason = "Exceeded maximum message size: 1000 bytes"
    assert events[-1] == CloseConnection(1009, reason)
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (1009, reason, "server")
    assert conn.frames_received == 1  # the setup


async def test_text_that_is_not_utf8_is_closed_1007_by_the_emulator(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # wsproto refuses the frame; trio-websocket dropped the stream without a close frame
    # (the client saw 1006) and the emulator recorded the client's close. Then the reason
    # was Python's ("'utf-8' codec can't decode byte 0xff ..."), not Google's.
    async with start() as emu:
        client, conn = await _set_up(emu)
        with trio.fail_after(60):
            await client.stream.send_all(_text_frame(b'{"realtimeInput": {"text": "\xff"}}'))
            events = await _events_until(client, CloseConnection)
            await conn.wait_closed()
    assert events[-1] == CloseConnection(1007, NOT_UTF8)
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (1007, NOT_UTF8, "server")
    assert conn.frames_received == 1  # the setup


@pytest.mark.parametrize("first", [True, False], ids=["first-frame", "after-the-setup"])
async def test_text_that_is_not_utf8_is_answered_in_its_turn(
    first: bool, autojump_clock: trio.testing.MockClock
) -> None:
    # Sent right behind the setup, it was closed as it was read, before the setup was
    # answered: a valid setup got no setupComplete, unlike before an invalid binary frame.
    bad = _text_frame(b'{"clientContent": {"turns": [{"parts": [{"text": "\xff"}]}]}}')
    async with start() as emu:
        client = HandClient(await emu.memory_connector(buffer=4096)())
        await client.upgrade()
        if not first:
            await client.send({"setup": {"model": MODEL}})
        with trio.fail_after(60):
            await client.stream.send_all(bad + _text_frame(b'{"setup": {}}'))
            events = await _events_until(client, CloseConnection)
            conn = await emu.wait_for_connection(1)
            await conn.wait_closed()
    messages = [e for e in events if isinstance(e, Message)]
    assert len(messages) == (0 if first else 1)  # setupComplete, first
    assert events[-1] == CloseConnection(1007, NOT_UTF8)
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (1007, NOT_UTF8, "server")
    assert conn.frames_received == (0 if first else 1)


async def test_the_client_s_large_video_frame_is_answered(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `send_video` of a frame larger than the read-ahead (8 MiB): the emulator wedged, and
    # the session ended with Closed(1011, 'keepalive timeout').
    from trio_gemini_live.emulator import _websocket

    monkeypatch.setattr(_websocket, "READ_AHEAD", 64 * 1024)
    async with start() as emu, emu.open_session(NATIVE) as session:
        conn = await emu.wait_for_connection(1)
        with trio.fail_after(60):
            await session.send_video(b"\xff" * 100_000)
            await session.send_text("What is this?")
            async for event in session:
                assert not isinstance(event, Closed), event
                if isinstance(event, TurnComplete):
                    break
    video = conn.received[1].get("realtimeInput.video.data")
    assert base64.b64decode(video) == b"\xff" * 100_000
    assert conn.frames_received == 3


async def test_a_message_over_max_message_size_after_the_emulator_s_close_is_dropped() -> None:
    # No 1009 can follow the emulator's close frame: trio-websocket sent one all the same,
    # wsproto refused it (LocalProtocolError), and the reader failed the connection with a
    # logged traceback. Such a message is dropped, as any read after the close.
    from wsproto import ConnectionType, WSConnection
    from wsproto.connection import ConnectionState
    from wsproto.events import AcceptConnection, Request, TextMessage

    from trio_gemini_live.emulator._server import _FaultStream
    from trio_gemini_live.emulator._websocket import ServerWebSocket

    ours, _theirs = trio.testing.memory_stream_pair()
    ws = ServerWebSocket(_FaultStream(ours), max_message_size=1000)
    server = ws._wsproto  # pyright: ignore[reportPrivateUsage]
    server.receive_data(WSConnection(ConnectionType.CLIENT).send(Request(host="h", target="/")))
    assert [type(event) for event in server.events()] == [Request]
    server.send(AcceptConnection())
    server.send(CloseConnection(code=4000, reason="bye"))
    assert server.state is ConnectionState.LOCAL_CLOSING
    await ws._handle_message_event(TextMessage(data="x" * 600, message_finished=False))  # pyright: ignore[reportPrivateUsage]
    await ws._handle_message_event(TextMessage(data="x" * 600))  # pyright: ignore[reportPrivateUsage]
    assert ws.sent_close is None
    await ws._handle_message_event(TextMessage(data="x" * 600))  # pyright: ignore[reportPrivateUsage]
    assert server.state is ConnectionState.LOCAL_CLOSING  # no 1009 went out


async def test_the_emulator_s_1009_is_kept_when_the_client_s_close_is_read_behind_it() -> None:
    # trio-websocket goes on with the events of the same read after its 1009: the client's
    # close among them replaced the connection's close reason, which `sent_close` gave,
    # and the emulator recorded 1000 '' as its own close.
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage

    from trio_gemini_live.emulator._server import _FaultStream
    from trio_gemini_live.emulator._websocket import ServerWebSocket

    ours, _theirs = trio.testing.memory_stream_pair()
    ws = ServerWebSocket(_FaultStream(ours), max_message_size=1000)
    server = ws._wsproto  # pyright: ignore[reportPrivateUsage]
    client = WSConnection(ConnectionType.CLIENT)
    server.receive_data(client.send(Request(host="h", target="/")))
    assert [type(event) for event in server.events()] == [Request]
    client.receive_data(server.send(AcceptConnection()))
    assert [type(event) for event in client.events()] == [AcceptConnection]
    await ws._handle_message_event(TextMessage(data="x" * 600, message_finished=False))  # pyright: ignore[reportPrivateUsage]
    await ws._handle_message_event(TextMessage(data="x" * 401))  # pyright: ignore[reportPrivateUsage]
    server.receive_data(client.send(CloseConnection(1000)))
    [close] = server.events()
    assert isinstance(close, CloseConnection)
    await ws._handle_close_connection_event(close)  # pyright: ignore[reportPrivateUsage]
    assert ws.sent_close is not None
    sent = (ws.sent_close.code, ws.sent_close.reason)
    assert sent == (1009, "Exceeded maximum message size: 1000 bytes")


async def test_a_message_over_max_message_size_and_the_client_s_close_in_one_write() -> None:
    # Over TCP, as a client writes: the last fragment passes the limit, and the client's
    # close follows it in the same write. The emulator sent 1009 and recorded 1000 ''.
    async with start(EmulatorConfig(max_message_size=1000)) as emu:
        with trio.fail_after(30):
            client = HandClient(await trio.open_tcp_stream("127.0.0.1", emu.port))
            await client.upgrade()
            await client.send({"setup": {"model": MODEL}})
            conn = await emu.wait_for_connection(1)
            await conn.wait_for_sent("setupComplete")
            send = client.ws.send
            await client.stream.send_all(
                send(Message(data=" " * 600, message_finished=False))
                + send(Message(data=" " * 399 + "{}"))
                + send(CloseConnection(1000))
            )
            events = await _events_until(client, CloseConnection)
            await conn.wait_closed()
            await client.stream.aclose()
    reason = "Exceeded maximum message size: 1000 bytes"
    assert events[-1] == CloseConnection(1009, reason)
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (1009, reason, "server")


# A masked frame header (the mask: zeros) declaring more than 1000 bytes, and no payload.
_DECLARED = {
    "one frame": b"\x82\xff" + struct.pack("!Q", 1 << 40) + bytes(4),
    "a fragment": (
        b"\x02\xfe"
        + struct.pack("!H", 600)
        + bytes(4)
        + b" " * 600
        + b"\x80\xfe"
        + struct.pack("!H", 401)
        + bytes(4)
    ),
}


@pytest.mark.parametrize("how", list(_DECLARED))
async def test_a_frame_declaring_more_than_max_message_size_gets_1009_from_its_header(
    how: str, autojump_clock: trio.testing.MockClock
) -> None:
    # trio-websocket counts a message as its payload comes: a header declaring 2**40 bytes
    # and nothing behind it was a frame on its way, the connection held to its deadline.
    async with start(EmulatorConfig(max_message_size=1000)) as emu:
        client, conn = await _set_up(emu)
        with trio.fail_after(60):
            await client.stream.send_all(_DECLARED[how])
            events = await _events_until(client, CloseConnection)
            await conn.wait_closed()
    reason = "Exceeded maximum message size: 1000 bytes"
    assert events[-1] == CloseConnection(1009, reason)
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (1009, reason, "server")
    assert conn.frames_received == 1  # the setup
