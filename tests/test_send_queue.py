"""The kernel's send queue as a sign that our ping is still on its way (`check_queue`).

The heartbeat's decisions run against the emulator in memory under `autojump_clock`, with
the queue a script of the time: memory streams have no kernel queue of their own. The
reader itself is tested once on a real socket.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from trio_gemini_live import (
    LiveSession,
    Reconnected,
    ReconnectPolicy,
    SessionOptions,
    _transport,
    _transport_websockets,
    live_setup,
)
from trio_gemini_live._send_queue import send_queue_reader
from trio_gemini_live._stream import PIECE, UplinkMeter
from trio_gemini_live.emulator import Emulator, EmulatorConfig, Fault, open_emulator

MODEL = "gemini-live-2.5-flash-preview"

OPTIONS = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))


class ScriptedQueue:
    """A send queue whose size is `script(seconds since the session opened, reading)`."""

    def __init__(self, script: Callable[[float, int], int]) -> None:
        self.script = script
        self.start = trio.current_time()
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.script(trio.current_time() - self.start, self.reads - 1)


@asynccontextmanager
async def silent_server_session(
    monkeypatch: pytest.MonkeyPatch,
    transport: str,
    queue: ScriptedQueue,
    *,
    answers: bool = False,
) -> AsyncIterator[tuple[Emulator, LiveSession]]:
    """A session whose first connection has `queue` for a send queue.

    Unless it `answers`, the server reads everything after `setupComplete` and answers
    nothing, not even pings.
    """
    queues = iter([queue])

    def reader(stream: trio.abc.Stream) -> Callable[[], int] | None:
        return next(queues, None)

    monkeypatch.setattr(_transport, "send_queue_reader", reader)
    monkeypatch.setattr(_transport_websockets, "send_queue_reader", reader)
    faults = () if answers else (Fault(kind="blackhole", after_frames=1, connection=1),)
    options = dataclasses.replace(OPTIONS, transport=transport)
    async with (
        open_emulator(EmulatorConfig(faults=faults)) as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="TEXT"), api_key="test-key", options=options
        ) as session,
    ):
        queue.start = trio.current_time()
        yield emulator, session


async def until_reconnected(session: LiveSession, seconds: float) -> float:
    """Wait for the session to move; return when the old connection was found dead."""
    with trio.fail_after(seconds):
        async for event in session:
            if isinstance(event, Reconnected):
                assert event.reason == "keepalive timeout"
                return trio.current_time() - event.duration
    raise AssertionError("the session ended")


TRANSPORTS = pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])


@TRANSPORTS
async def test_a_draining_send_queue_keeps_the_ping_alive_past_the_limit(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    # A megabyte in the kernel's buffer ahead of the ping, leaving at 2 kB/s: the server
    # cannot answer a ping that reaches it after 8 minutes. Counted as silence, the
    # connection was failed with 1011 "keepalive timeout" at 50 s, and the resume wrote
    # the same frames into the same buffer.
    queue = ScriptedQueue(lambda elapsed, _: max(0, 1_000_000 - int(2048 * elapsed)))
    async with silent_server_session(monkeypatch, transport, queue) as (emulator, session):
        with trio.move_on_after(300):
            async for event in session:
                assert not isinstance(event, Reconnected), event
        assert len(emulator.connections) == 1
        assert not emulator.connections[0].closed
        assert queue.reads >= 25  # read at each check while the ping was unanswered


@TRANSPORTS
async def test_a_send_queue_that_does_not_move_vouches_for_nothing(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    queue = ScriptedQueue(lambda elapsed, _: 100_000)
    async with silent_server_session(monkeypatch, transport, queue) as (_, session):
        ended = await until_reconnected(session, 120) - queue.start
    limit, interval = OPTIONS.silence_limit, OPTIONS.ping_interval
    assert limit <= ended <= limit + interval + OPTIONS.close_timeout


@TRANSPORTS
async def test_once_the_queue_is_empty_only_the_pong_counts(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """The ping has reached a server that reads it and never answers: dead one limit later."""
    queue = ScriptedQueue(lambda elapsed, _: max(0, 150_000 - int(2048 * elapsed)))
    async with silent_server_session(monkeypatch, transport, queue) as (_, session):
        ended = await until_reconnected(session, 300) - queue.start
    drained = 150_000 / 2048  # 73 s, past the limit already
    limit, interval = OPTIONS.silence_limit, OPTIONS.ping_interval
    # Seen empty at the first check after it drained; dead at the first check one limit on.
    assert drained + limit <= ended <= drained + interval + limit + interval + 1


@TRANSPORTS
async def test_frames_written_after_the_ping_do_not_vouch_for_the_server(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """A queue kept from emptying by later writes, as while audio streams, never empties.

    It shrinks at every other check (the peer takes 10 kB more than was written) and grows
    back. Counted whenever it shrank, it would keep a server that never answers for ever;
    only the 100 kB that stood before the ping are counted, 10 kB at a time.
    """
    queue = ScriptedQueue(lambda _, reading: 90_000 if reading % 2 else 100_000)
    async with silent_server_session(monkeypatch, transport, queue) as (_, session):
        ended = await until_reconnected(session, 400) - queue.start
    # Readings from 20 s on: shrinks at 30, 50, ..., 210 s count, 100 kB in all.
    limit, interval = OPTIONS.silence_limit, OPTIONS.ping_interval
    assert 210 + limit <= ended <= 210 + limit + interval + 1


async def test_the_queue_is_not_read_while_pings_are_answered(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = ScriptedQueue(lambda elapsed, _: 0)
    async with silent_server_session(monkeypatch, "websockets", queue, answers=True) as (
        _,
        session,
    ):
        for _ in range(100):
            await session.send_audio(bytes(640))
            await trio.sleep(1)
    assert queue.reads == 0


async def test_the_queue_counts_only_once_the_long_write_before_the_ping_is_over(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """While the ping waits behind a long write, its pieces vouch, not the queue."""
    sizes = iter([60_000, 50_000, 40_000, 30_000, 20_000, 20_000, 10_000])
    meter = UplinkMeter(lambda: next(sizes))
    sent = trio.Event()

    class Sink(trio.abc.SendStream):
        async def send_all(self, data: bytes | bytearray | memoryview) -> None:
            await sent.wait()

        async def wait_send_all_might_not_block(self) -> None:
            await trio.lowlevel.checkpoint()

        async def aclose(self) -> None:
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(meter.send_all, Sink(), bytes(2 * PIECE))
        await trio.testing.wait_all_tasks_blocked()
        meter.ping_sent()  # behind the long write
        for _ in range(2):  # 60 kB, then 50 kB: the write is still under way
            await trio.sleep(10)
            meter.check_queue()
        assert meter.read_at == -math.inf  # no piece taken: the write may have stalled
        sent.set()
    written = trio.current_time()  # the write is over: the ping followed it
    await trio.sleep(10)
    meter.check_queue()  # 40 kB: the ping is at most that deep, and moving
    assert meter.read_at == written + 10
    await trio.sleep(10)
    meter.check_queue()  # 30 kB
    assert meter.read_at == written + 20
    await trio.sleep(10)
    meter.check_queue()  # 20 kB: 20 kB were taken, and the ping is still queued
    assert meter.read_at == written + 30
    await trio.sleep(10)
    meter.check_queue()  # 20 kB: no progress
    assert meter.read_at == written + 30
    meter.ping_sent()  # a new ping, written at once: a new base, no credit at first
    await trio.sleep(10)
    meter.check_queue()
    assert meter.read_at == written + 30


# --- the reader, on a real socket -----------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="SIOCOUTQ is read on Linux only")
async def test_the_reader_sees_bytes_the_peer_has_not_taken() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        client = socket.create_connection(listener.getsockname())
        peer, _ = listener.accept()
    with peer:
        client.setblocking(False)
        peer.setblocking(False)
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(client))
        reader = send_queue_reader(stream)
        assert reader is not None
        assert reader() == 0
        sent = 0
        chunk = bytes(64 * 1024)
        try:
            while True:  # until both kernels' buffers are full: the peer reads nothing
                sent += client.send(chunk)
        except BlockingIOError:
            pass
        assert reader() > 0
        received = 0
        with trio.fail_after(5):
            while received < sent:  # woken by each arrival, not by a polling clock
                await trio.lowlevel.wait_readable(peer)
                with contextlib.suppress(BlockingIOError):
                    received += len(peer.recv(1 << 20))
            # Bytes are ACKed as they reach the peer's kernel, before it hands them over:
            # the queue is empty by now. Only a delayed ACK (40 ms at most) could lag, and
            # no event says when it comes: for it alone, a short bounded poll.
            for _ in range(200):
                if reader() == 0:
                    break
                await trio.sleep(0.001)
        assert received == sent
        assert reader() == 0
        await stream.aclose()
        assert reader() is None  # closed: unknown, never another socket's


@pytest.mark.skipif(sys.platform != "linux", reason="SIOCOUTQ is read on Linux only")
async def test_the_reader_looks_under_tls_and_only_at_tcp() -> None:
    left, right = trio.socket.socketpair()  # Unix sockets: the request means something else
    with left, right:
        assert send_queue_reader(trio.SocketStream(left)) is None
    tcp = trio.socket.socket()
    with tcp:
        tls = trio.SSLStream(
            trio.SocketStream(tcp), ssl.create_default_context(), server_hostname="example.com"
        )
        assert send_queue_reader(tls) is not None
    send, _ = trio.testing.memory_stream_pair()
    assert send_queue_reader(send) is None
