"""The read lent to the user's `async for`: one task step per frame, and nothing lost.

Once the user's `async for` waits for the events the receiver just delivered, the receiver
lends it the read (`Connection.read_for_consumer`): the user's task then waits on the socket
itself. These tests check that the lend happens, that events keep their order and nothing
is lost across cancellation, that the receiver takes the read back when the user waits some
other way or is busy elsewhere, and that a server ping read by the user's task is answered.
"""

from __future__ import annotations

import base64
import contextlib
import math
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import trio
import trio.testing
import trio_websocket

from fake_server import FakeServer, accept_setup, pretty
from trio_gemini_live import (
    AudioDelta,
    InputTranscription,
    Reconnected,
    ResumptionUpdate,
    TurnComplete,
    live_setup,
    open_session,
)
from trio_gemini_live._connection import _LEND_CHECK, Connection
from trio_gemini_live._endpoints import url_endpoint
from trio_gemini_live._events import RealtimeEvent, TextDelta
from trio_gemini_live._options import SessionOptions
from trio_gemini_live._session import LiveSession
from trio_gemini_live.emulator import (
    Fault,
    open_emulator,
    server_ssl_context,
    write_self_signed_cert,
)

AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
ENDPOINT = url_endpoint(
    "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
    api_key="test-key",
)


def text(index: int) -> bytes:
    return pretty({"serverContent": {"modelTurn": {"parts": [{"text": str(index)}]}}})


class ReadCounter:
    """Counts reads made from the user's task (a spy on `read_for_consumer`)."""

    def __init__(self) -> None:
        self.reads = 0
        self._original = Connection.read_for_consumer

    def patch(self) -> mock._patch[Callable[..., object]]:  # pyright: ignore[reportPrivateUsage]
        counter = self

        async def counting(connection: Connection) -> list[RealtimeEvent]:
            counter.reads += 1
            return await counter._original(connection)

        return mock.patch.object(Connection, "read_for_consumer", counting)


def speech(seconds: float, rate: int = 16000) -> bytes:
    count = int(seconds * rate)
    return struct.pack(
        f"<{count}h", *(int(7000 * math.sin(2 * math.pi * 180 * n / rate)) for n in range(count))
    )


async def emulator_turn(
    lend: bool, tls: Path | None = None
) -> tuple[list[tuple[str, object]], int]:
    """One spoken turn through the emulator over TCP on 127.0.0.1: events and user reads.

    `tls`: a directory for a self-signed certificate; the session then uses `wss://`.
    """
    counter = ReadCounter()
    context, options = None, SessionOptions()
    if tls is not None:
        cert, key = write_self_signed_cert(tls)
        context, options = server_ssl_context(cert, key), SessionOptions(ca_file=str(cert))
    pcm = speech(0.6) + bytes(16000 * 2)  # speech, then a second of silence
    seen: list[tuple[str, object]] = []
    with contextlib.ExitStack() as patches:
        patches.enter_context(counter.patch())
        if not lend:
            patches.enter_context(mock.patch.object(Connection, "_may_lend", return_value=False))
        async with open_emulator(ssl_context=context) as emulator:
            endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
            setup = live_setup(AUDIO_MODEL, input_transcription=True, output_transcription=True)
            async with open_session(setup, endpoint=endpoint, options=options) as session:
                for start in range(0, len(pcm), 640):
                    await session.send_audio(pcm[start : start + 640])
                with trio.fail_after(30):
                    async for event in session:
                        if isinstance(event, AudioDelta):
                            seen.append(("audio", bytes(event.pcm)))
                        else:
                            seen.append((type(event).__name__, None))
                        if isinstance(event, TurnComplete):
                            break
    return seen, counter.reads


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
async def test_async_for_reads_the_socket_itself_and_gets_the_same_events(
    tls: bool, tmp_path: Path
) -> None:
    lent, reads = await emulator_turn(lend=True, tls=tmp_path / "lent" if tls else None)
    plain, no_reads = await emulator_turn(lend=False, tls=tmp_path / "plain" if tls else None)
    assert reads > 0, "the user's task never read the socket itself"
    assert no_reads == 0
    assert [kind for kind, _ in lent].count("audio") > 3
    assert lent == plain  # same events, same order, same PCM


async def script_with_gaps(
    ws: trio_websocket.WebSocketConnection, server: FakeServer, total: int
) -> None:
    await accept_setup(server, ws)
    for index in range(total):
        await ws.send_message(text(index))
        await trio.sleep(0.5)  # the client waits on the socket between frames
    await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
    await trio.sleep_forever()


@contextlib.asynccontextmanager
async def gapped_session(nursery: trio.Nursery, total: int) -> AsyncIterator[LiveSession]:
    """A session on a fake server sending `total` text frames 0.5 s apart."""
    server = FakeServer(nursery, lambda ws: script_with_gaps(ws, server, total))
    async with open_session("m", endpoint=ENDPOINT, connector=server.connector) as session:
        yield session


async def texts_until_turn_complete(events: AsyncIterator[RealtimeEvent]) -> list[str]:
    texts: list[str] = []
    async for event in events:
        if isinstance(event, TextDelta):
            texts.append(event.text)
        if isinstance(event, TurnComplete):
            break
    return texts


async def test_cancelling_a_lent_read_loses_nothing_and_returns_the_read(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    total = 20
    counter = ReadCounter()
    texts: list[str] = []
    cancelled = 0
    with counter.patch():
        async with gapped_session(nursery, total) as session:
            while not texts or texts[-1] != str(total - 1):
                # Cancelled mid-wait most of the time: frames come every 0.5 s.
                with trio.move_on_after(0.3) as scope:
                    async for event in session:
                        if isinstance(event, TextDelta):
                            texts.append(event.text)
                            break
                if scope.cancelled_caught:
                    cancelled += 1
                    connection = session._core.current  # pyright: ignore[reportPrivateUsage]
                    assert connection is not None
                    assert not connection.lent  # the receiver has the read back
            rest = await texts_until_turn_complete(session)
    assert texts + rest == [str(index) for index in range(total)]
    assert cancelled >= total // 2
    assert counter.reads > 0


async def test_receive_takes_the_read_back(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    total = 6
    async with gapped_session(nursery, total) as session:
        texts, connection = await until_lent(session)
        start = trio.current_time()
        event = await session.receive()
        # Taken back by `receive()` itself, before the receiver's own check of the lend.
        assert not connection.lent
        assert trio.current_time() - start < _LEND_CHECK
        assert isinstance(event, TextDelta)
        texts.append(event.text)
        with trio.fail_after(total):
            while len(texts) < total:
                event = await session.receive()
                if isinstance(event, TextDelta):
                    texts.append(event.text)
    assert texts == [str(index) for index in range(total)]


async def test_a_user_busy_elsewhere_gets_the_receiver_back(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    total = 6
    async with gapped_session(nursery, total) as session:
        first, connection = await until_lent(session)
        await trio.sleep(_LEND_CHECK + total * 0.5 + 0.1)  # busy, not iterating
        assert not connection.lent
        # The receiver read meanwhile: the frames are already waiting as events.
        assert session.statistics().events_buffered >= total - 2
        rest = await texts_until_turn_complete(session)
    assert first + rest == [str(index) for index in range(total)]


async def until_lent(session: LiveSession) -> tuple[list[str], Connection]:
    """Iterate until the second text: that one was waited for, so the read is now lent."""
    texts: list[str] = []
    async for event in session:
        if isinstance(event, TextDelta):
            texts.append(event.text)
            if len(texts) == 2:
                break
    connection = session._core.current  # pyright: ignore[reportPrivateUsage]
    assert connection is not None
    assert connection.lent
    return texts, connection


@pytest.mark.parametrize("pings", [1, 3])
async def test_a_server_ping_read_by_the_user_task_is_answered(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, pings: int
) -> None:
    answered = 0

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        nonlocal answered
        await accept_setup(server, ws)
        await ws.send_message(text(0))
        await trio.sleep(0.1)
        await ws.send_message(text(1))  # waited for: the client's `async for` gets the read
        await trio.sleep(0.1)
        for _ in range(pings):
            with trio.fail_after(5):
                await ws.ping()  # returns once our pong arrives
            answered += 1
        await ws.send_message(text(2))
        await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
        await trio.sleep_forever()

    server = FakeServer(nursery, script)
    counter = ReadCounter()
    options = SessionOptions(ping_interval=30, silence_limit=60)  # no pings of our own
    with counter.patch():
        async with open_session(
            "m", endpoint=ENDPOINT, connector=server.connector, options=options
        ) as session:
            texts = await texts_until_turn_complete(session)
    assert texts == ["0", "1", "2"]
    assert answered == pings
    assert counter.reads > 0


def _chunk(seq: int) -> bytes:
    return struct.pack("<h", seq) + bytes(638)  # 20 ms at 16 kHz, numbered


def _audio_seqs(frames: list[dict[str, Any]]) -> list[int]:
    out: list[int] = []
    for data in frames:
        audio = data.get("realtimeInput", {}).get("audio")
        if audio is not None:
            out.append(struct.unpack_from("<h", base64.b64decode(audio["data"]))[0])
    return out


async def test_a_handle_left_in_the_socket_by_a_busy_user_covers_only_what_it_can(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The read is lent to the user's `async for`; the user breaks out and sends audio.

    The server's handle waits in the socket, unread, until the user reads again. Dated
    when it was read, it was taken to include the audio written meanwhile: that audio
    was dropped from the replay buffer, and after a drop it was neither replayed nor
    reported in `not_replayed`.
    """
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        connector = emulator.memory_connector(latency=0.01)
        async with open_session(
            live_setup(AUDIO_MODEL), endpoint=endpoint, connector=connector
        ) as session:
            first = await emulator.wait_for_connection(1)
            while True:  # the opening events, by `receive()`: it never borrows the read
                event = await session.receive()
                if isinstance(event, ResumptionUpdate) and event.handle:
                    break
            async with trio.open_nursery() as nursery:

                async def wake() -> None:
                    await trio.sleep(0.5)
                    await first.resumption_update(False)

                nursery.start_soon(wake)
                async for _ in session:  # delivered to a waiting `async for`: lent
                    break
            await first.resumption_update(True)  # into the socket nobody reads
            for seq in range(40):
                await session.send_audio(_chunk(seq))
                await trio.sleep(0.02)
            with trio.fail_after(10):
                async for event in session:
                    if isinstance(event, ResumptionUpdate) and event.handle:
                        first.inject(Fault(kind="close", code=1011, reason="Internal error"))
                    if isinstance(event, Reconnected):
                        reconnected = event
                        break
            second = await emulator.wait_for_connection(2)
            await trio.sleep(1)  # the replay reaches the emulator
    handle = second.received[0].data["setup"]["sessionResumption"]["handle"]
    covered = first.handle_coverage[handle]
    held = _audio_seqs([f.data for f in first.received[1 : covered + 1]])
    held += _audio_seqs([f.data for f in second.received[1:]])
    assert reconnected.not_replayed == ()
    assert set(range(40)) <= set(held)  # each chunk in the resumed state, or replayed


@pytest.mark.parametrize("lend", [True, False])
async def test_a_move_while_a_busy_user_holds_the_read_loses_no_event(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, lend: bool
) -> None:
    """`update_setup` while the read is lent to a user busy with the last turn.

    A transcript the server sent after the turn waited unread in the socket, the
    protocol looked idle, and the move closed the connection: the close handshake read
    the transcript and dropped it. (`receive()` never lends: the control.)
    """

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        if server.connections == 1:
            await trio.sleep(0.1)
            await ws.send_message(text(1))
            await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
            await trio.sleep(0.05)
            transcript = {"serverContent": {"inputTranscription": {"text": "hello"}}}
            await ws.send_message(pretty(transcript))
        await trio.sleep_forever()

    server = FakeServer(nursery, script)
    setup = live_setup("m", modality="TEXT")
    seen: list[RealtimeEvent] = []

    async def received(session: LiveSession) -> AsyncIterator[RealtimeEvent]:
        while True:
            yield await session.receive()

    async with open_session(setup, endpoint=ENDPOINT, connector=server.connector) as session:
        with trio.fail_after(10):
            async for event in session if lend else received(session):
                seen.append(event)
                if isinstance(event, TurnComplete):
                    await trio.sleep(0.2)  # busy with the turn
                    await session.update_setup(
                        live_setup("m", modality="TEXT", system_instruction="be brief")
                    )
                    await trio.sleep(0.1)  # and a little longer
                if isinstance(event, Reconnected):
                    break
    assert [type(e) for e in seen[-3:]] == [TurnComplete, InputTranscription, Reconnected]


@pytest.mark.parametrize("event_buffer", [256, 2], ids=["no-stall", "stall"])
async def test_a_handle_behind_an_unread_stretch_and_a_full_channel_covers_only_what_it_can(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, event_buffer: int
) -> None:
    """The socket goes unread (the user left its loop), then the receiver, reading again,
    waits on a full channel before it reaches the handle that waited there all along.

    Dated from the receiver's wait only, the handle was taken to include the audio the
    user sent after the server issued it: that audio was neither replayed nor reported.
    """

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        if server.connections == 1:
            await trio.sleep(0.1)
            await ws.send_message(text(0))  # wakes the waiting `async for`: the read is lent
            await trio.sleep(0.1)  # t=0.2: the user is busy; nobody reads the socket
            for index in range(1, 6):
                await ws.send_message(text(index))
            update = {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}}
            await ws.send_message(pretty(update))
            await trio.sleep(5)
            await ws.aclose(1011, "Internal error encountered.")
            return
        while True:
            await server.receive_json(ws)

    server = FakeServer(nursery, script)
    options = SessionOptions(event_buffer=event_buffer)
    setup = live_setup("m", modality="TEXT")
    async with open_session(
        setup, endpoint=ENDPOINT, connector=server.connector, options=options
    ) as session:
        async for event in session:
            if isinstance(event, TextDelta):
                break  # busy elsewhere from t=0.1
        await trio.sleep(0.2)
        await session.send_audio(b"\x01\x00" * 320)  # t=0.3: after h1 was issued
        await trio.sleep(0.1)
        await session.send_audio(b"\x02\x00" * 320)  # t=0.4
        await trio.sleep(3.6)  # the receiver took the read back at 1.1 (and stalled)
        with trio.fail_after(30):
            while not isinstance(event := await session.receive(), Reconnected):
                pass
    assert event.replayed == 2
    assert [list(message) for message in server.received[-2:]] == [["realtimeInput"]] * 2
