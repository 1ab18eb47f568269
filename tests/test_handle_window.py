"""Default (non-transparent) resumption: messages crossing a handle on the wire are not lost.

Without `lastConsumedClientMessageIndex` the client cannot know which of its messages a
handle includes: audio written after the server issued the handle, but before the handle
reached the client, is not in it. Messages written within `ReconnectPolicy.handle_window`
of reading a handle are therefore kept, replayed after a resume and reported as possibly
duplicated. The emulator's `handle_coverage` is the truth these tests judge against, over
an in-memory wire with latency so that messages really do cross.
"""

from __future__ import annotations

import base64
import contextlib
import math
import struct
from collections.abc import Sequence

import pytest
import trio
import trio.testing
from hypothesis import given, strategies as st

from trio_gemini_live import (
    LiveSession,
    RealtimeEvent,
    Reconnected,
    ReconnectPolicy,
    ResumptionUpdate,
    SessionOptions,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._connection import FLUSH, Connection, Outgoing, SessionCore
from trio_gemini_live._protocol import LiveProtocol
from trio_gemini_live._resume import MESSAGE_OVERHEAD, Overflow, ReplayBuffer
from trio_gemini_live._transport import TransportClosedError
from trio_gemini_live.emulator import EmulatorConfig, EmulatorConnection, Fault, open_emulator

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
TEXT_MODEL = "gemini-live-2.5-flash-preview"
TEN = 10 + MESSAGE_OVERHEAD
"""What a 10-byte frame counts against a replay buffer's limit."""


def _chunk(seq: int) -> bytes:
    """20 ms of quiet 16 kHz audio whose first sample is its sequence number."""
    return struct.pack("<h", seq) + bytes(638)


def _seqs(frames: list[dict[str, object]]) -> list[int]:
    out: list[int] = []
    for data in frames:
        audio = data.get("realtimeInput", {}).get("audio")  # type: ignore[union-attr]
        if audio is not None:
            pcm = base64.b64decode(audio["data"])
            out.append(struct.unpack_from("<h", pcm)[0])
    return out


def _state(connections: list[EmulatorConnection]) -> list[int]:
    """The chunks in the last connection's state: its handle's lineage, then what it read."""

    def lineage(number: int, upto: int | None) -> list[int]:
        connection = connections[number]
        setup = connection.received[0].data["setup"]
        handle = setup.get("sessionResumption", {}).get("handle")
        base: list[int] = []
        if handle:
            parent = next(i for i, c in enumerate(connections) if handle in c.handle_coverage)
            base = lineage(parent, connections[parent].handle_coverage[handle])
        frames = connection.received[1:] if upto is None else connection.received[1 : upto + 1]
        return base + _seqs([f.data for f in frames])

    return lineage(len(connections) - 1, None)


def test_a_handle_forgets_what_was_written_by_the_cutoff_and_marks_the_rest() -> None:
    buffer = ReplayBuffer(limit_bytes=1000)
    for index, at in enumerate((1.0, 2.0, 3.0, 4.0), start=1):
        buffer.add(index, b"x" * 10, "realtimeInput.audio", at)
    buffer.covered_through(2.5)
    buffer.add(5, b"y" * 10, "realtimeInput.audio", 5.0)
    plan = buffer.take()
    assert [m.index for m in plan.replay] == [3, 4, 5]
    assert [m.uncertain for m in plan.replay] == [True, True, False]
    assert plan.possibly_duplicated == 2
    assert plan.not_replayed == ()


def test_a_frame_whose_write_outlasts_the_handle_that_consumed_it_is_not_kept() -> None:
    # Transparent resumption. Frames are kept once their write is over; a handle read
    # while the writes waited (a slow uplink) said the server consumed them, and they were
    # kept all the same: the resume from that handle wrote them again (a text answered
    # twice), and `possibly_duplicated` said 0.
    buffer = ReplayBuffer(limit_bytes=1000)
    buffer.add(1, b"a", "realtimeInput.text", 1.0)
    buffer.consumed_through(3)  # read while the writes of 2 and 3 waited
    buffer.add(2, b"b", "realtimeInput.text", 2.0)
    buffer.add(3, b"c", "realtimeInput.text", 2.0)
    buffer.add(4, b"d", "realtimeInput.text", 3.0)
    assert [m.index for m in buffer.take().replay] == [4]
    # A new connection counts its own indices from 1 again.
    buffer.add(1, b"e", "realtimeInput.text", 4.0)
    assert [m.index for m in buffer.take().replay] == [1]


def test_unconfirmed_counts_what_was_written_and_not_confirmed_with_its_overflow() -> None:
    # What a close the server never answered reports (`Closed.not_sent`): frames written in
    # full since the last confirmation, and those the overflow dropped; not the frames
    # never written in full (dated never), which the session reports as cut off or refused.
    buffer = ReplayBuffer(limit_bytes=3 * TEN)
    for index in range(1, 5):
        buffer.add(index, b"x" * 10, "realtimeInput.audio", float(index))
    buffer.add(5, b"t" * 10, "realtimeInput.text", math.inf, cut_off=True)  # 1 and 2 overflow
    assert buffer.unconfirmed().lines("c") == ["realtimeInput.audio: 4 message(s), 40 bytes (c)"]
    buffer.covered_through(2.5)  # a handle: 1 and 2 (the overflow) reached the server
    assert buffer.unconfirmed().lines("c") == ["realtimeInput.audio: 2 message(s), 20 bytes (c)"]
    buffer.consumed_through(4)
    assert buffer.unconfirmed().messages == 0


def test_an_uncertain_message_stays_uncertain_when_replayed_again() -> None:
    buffer = ReplayBuffer(limit_bytes=1000)
    buffer.add(1, b"x", "realtimeInput.audio", 1.0, uncertain=True)
    assert buffer.take().possibly_duplicated == 1


def test_overflow_newer_than_the_cutoff_is_still_reported() -> None:
    buffer = ReplayBuffer(limit_bytes=2 * TEN)
    for index, at in enumerate((1.0, 2.0, 3.0), start=1):
        buffer.add(index, b"x" * 10, "realtimeInput.audio", at)  # the first one overflows
    buffer.covered_through(0.5)  # a stale handle: the dropped frame is not in it
    assert buffer.take().not_replayed_messages == 1
    for index, at in enumerate((1.0, 2.0, 3.0), start=1):
        buffer.add(index, b"x" * 10, "realtimeInput.audio", at)
    buffer.covered_through(1.5)  # covers the dropped frame
    assert buffer.take().not_replayed_messages == 0


def test_overflow_past_a_late_handles_index_is_still_reported() -> None:
    # Transparent resumption: the reader fell behind, the buffer dropped frames 3-7, then
    # read a handle that says the server consumed through 2. Frames 3-7 were in no state
    # and in no replay, and nothing said so.
    buffer = ReplayBuffer(limit_bytes=3 * TEN)
    for index in range(1, 11):
        buffer.add(index, b"x" * 10, "realtimeInput.audio", float(index))
    buffer.consumed_through(2)
    plan = buffer.take()
    assert [m.index for m in plan.replay] == [8, 9, 10]
    assert plan.not_replayed == (
        "realtimeInput.audio: 5 message(s), 50 bytes (replay buffer overflow)",
    )
    for index in range(1, 11):
        buffer.add(index, b"x" * 10, "realtimeInput.audio", float(index))
    buffer.consumed_through(7)  # covers every dropped frame
    assert buffer.take().not_replayed_messages == 0


def test_overflow_is_kept_by_runs_of_a_kind_and_bounded() -> None:
    # Text and audio dropped in turn: one run each, past the bound folded into one tally
    # that only a handle covering all of it forgets.
    buffer = ReplayBuffer(limit_bytes=TEN)
    kinds = ("realtimeInput.audio", "realtimeInput.text")
    for index in range(1, 1001):
        buffer.add(index, b"x" * 10, kinds[index % 2], float(index))
    overflow = buffer._overflowed  # pyright: ignore[reportPrivateUsage]
    assert len(overflow._runs) == Overflow._RUNS_KEPT  # pyright: ignore[reportPrivateUsage]
    buffer.consumed_through(500)  # within the folded runs: those are all kept
    assert buffer.take().not_replayed_messages == 999
    for index in range(1, 1001):
        buffer.add(index, b"x" * 10, kinds[index % 2], float(index))
    buffer.consumed_through(990)  # past the folded runs: only the last nine are left
    plan = buffer.take()
    assert plan.not_replayed_messages == 9
    assert [m.index for m in plan.replay] == [1000]


def test_handle_window_must_not_be_negative() -> None:
    from trio_gemini_live import ConfigurationError

    with pytest.raises(ConfigurationError, match="handle_window"):
        ReconnectPolicy(handle_window=-1)


@pytest.mark.parametrize("window", [0.5, 0.0])
async def test_audio_in_flight_when_the_handle_was_issued_reaches_the_resumed_session(
    autojump_clock: trio.testing.MockClock, window: float
) -> None:
    options = SessionOptions(reconnect=ReconnectPolicy(handle_window=window))
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        connector = emulator.memory_connector(latency=0.05)  # a 100 ms round trip
        async with open_session(
            live_setup(MODEL), endpoint=endpoint, connector=connector, options=options
        ) as session:
            first = await emulator.wait_for_connection(1)
            handles: list[ResumptionUpdate] = []
            reconnected: list[Reconnected] = []
            resumed = trio.Event()

            async def listen() -> None:
                async for event in session:
                    if isinstance(event, ResumptionUpdate) and event.handle:
                        handles.append(event)
                    if isinstance(event, Reconnected):
                        reconnected.append(event)
                        resumed.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(listen)
                for seq in range(60):
                    await session.send_audio(_chunk(seq))
                    if seq == 20:
                        await first.resumption_update(True)  # issued while audio streams
                    if seq == 50:
                        first.inject(Fault(kind="close", code=1011, reason="Internal error"))
                    await trio.sleep(0.02)
                with trio.fail_after(10):
                    await resumed.wait()
                await trio.sleep(1)
                nursery.cancel_scope.cancel()
    second = emulator.connections[1]
    handle = second.received[0].data["setup"]["sessionResumption"]["handle"]
    covered = first.handle_coverage[handle]
    state = _seqs([f.data for f in first.received[1 : covered + 1]])
    state += _seqs([f.data for f in second.received[1:]])
    sent_on_first = _seqs([f.data for f in first.received[1:]])
    in_flight = [seq for seq in sent_on_first[covered:] if seq <= 21]
    assert in_flight, "no message crossed the handle: the test shows nothing"
    (event,) = reconnected
    if window:
        assert sorted(set(state)) == list(range(len(set(state))))
        assert set(sent_on_first) <= set(state)
        repeats = len(state) - len(set(state))
        assert repeats <= event.possibly_duplicated
        assert event.possibly_duplicated >= len(in_flight)
    else:
        # Trusting the handle loses exactly what crossed it: why the window exists.
        assert not set(in_flight) & set(state)
        assert event.possibly_duplicated == 0


async def test_a_handle_read_late_behind_a_slow_consumer_does_not_drop_later_audio(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The user stops reading; the handle waits in the socket behind earlier events while
    # audio keeps flowing out, long past the window. Read at last, it must not be taken as
    # covering the audio written while it waited.
    options = SessionOptions(event_buffer=2)
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        connector = emulator.memory_connector(latency=0.01)
        async with open_session(
            live_setup(MODEL), endpoint=endpoint, connector=connector, options=options
        ) as session:
            first = await emulator.wait_for_connection(1)
            for _ in range(6):  # more events than the buffer holds: the receiver waits
                await first.resumption_update(False)
            await first.resumption_update(True)
            for seq in range(100):  # 2 s of audio while nobody reads
                await session.send_audio(_chunk(seq))
                await trio.sleep(0.02)
            reconnected: list[Reconnected] = []
            handles = 0
            with trio.fail_after(10):
                async for event in session:
                    if isinstance(event, ResumptionUpdate) and event.handle:
                        handles += 1
                        if handles == 2:  # ours, after the one that follows setupComplete
                            first.inject(Fault(kind="close", code=1011, reason="Internal error"))
                    if isinstance(event, Reconnected):
                        reconnected.append(event)
                        break
            await trio.sleep(1)  # the replay reaches the emulator
    second = emulator.connections[1]
    handle = second.received[0].data["setup"]["sessionResumption"]["handle"]
    covered = first.handle_coverage[handle]
    state = _seqs([f.data for f in first.received[1 : covered + 1]])
    state += _seqs([f.data for f in second.received[1:]])
    assert set(state) == set(range(100))
    assert len(state) - 100 <= reconnected[0].possibly_duplicated


async def test_audio_sent_while_resuming_and_replays_cut_off_by_a_close_all_arrive(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Connection 1 drops; connection 2 closes right after `setupComplete`, before the
    # replay reaches it; connection 3 closes on reading `setup`. The session backs off
    # between attempts while the user keeps sending. Every chunk must reach the server: none
    # refused (the session is between connections), none dropped (the cut-off replay).
    config = EmulatorConfig(
        faults=(
            Fault(kind="close", after_seconds=1.0, connection=1),
            Fault(kind="close", connection=2),  # after `setupComplete`
            Fault(kind="close", connection=3, after_received=1),  # before it
        )
    )
    policy = ReconnectPolicy(initial_delay=0.1, jitter=0.0)
    async with open_emulator(config) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(
            live_setup(MODEL),
            endpoint=endpoint,
            connector=emulator.memory_connector(latency=0.02),
            options=SessionOptions(reconnect=policy),
        ) as session:
            reconnected: list[Reconnected] = []

            async def listen() -> None:
                async for event in session:
                    if isinstance(event, Reconnected):
                        reconnected.append(event)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(listen)
                for seq in range(600):  # 12 s
                    await session.send_audio(_chunk(seq))
                    await trio.sleep(0.02)
                await trio.sleep(1)
                nursery.cancel_scope.cancel()
    assert len(emulator.connections) == 4
    assert [event.attempts for event in reconnected] == [1, 3]
    state = _state(emulator.connections)
    assert set(state) == set(range(600))
    assert len(state) - 600 <= sum(event.possibly_duplicated for event in reconnected)


async def test_sending_while_a_dead_connection_closes_waits_for_the_next_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A silent server: the heartbeat gives up, and the close handshake waits for a reply
    # that never comes. Sends in that gap, before the resume starts, go to the next
    # connection; they are not refused.
    config = EmulatorConfig(faults=(Fault(kind="blackhole", after_seconds=1.0, connection=1),))
    options = SessionOptions(ping_interval=0.5, silence_limit=1.0, close_timeout=1.0)
    async with open_emulator(config) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with (
            open_session(
                live_setup(MODEL),
                endpoint=endpoint,
                connector=emulator.memory_connector(latency=0.02),
                options=options,
            ) as session,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(_drain, session)
            for seq in range(200):
                await session.send_audio(_chunk(seq))
                await trio.sleep(0.02)
            await trio.sleep(1)
            nursery.cancel_scope.cancel()
    assert len(emulator.connections) == 2
    assert set(_state(emulator.connections)) == set(range(200))


async def test_a_handle_read_after_a_replay_was_written_but_before_it_arrived_covers_none_of_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Back-to-back drops. Connection 2 issues a handle after its `setupComplete` but before
    # the replay reaches it; the client reads the handle just after writing the replay, and
    # connection 3 resumes from it. The replay must be written again, all of it: its audio
    # was first written long before (on connection 1), but on connection 2 it was written
    # less than `handle_window` before the handle was read, and it crossed the handle.
    latency = 0.05
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with (
            open_session(
                live_setup(MODEL),
                endpoint=endpoint,
                connector=emulator.memory_connector(latency=latency),
            ) as session,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(_drain, session)
            with trio.fail_after(60):
                first = await emulator.wait_for_connection(1)
                for seq in range(30):
                    await session.send_audio(_chunk(seq))
                    if seq == 5:
                        await first.resumption_update(True)
                    await trio.sleep(0.02)
                await first.reset()
                second = await emulator.wait_for_connection(2)
                await second.wait_for_sent("setupComplete")
                await trio.sleep(latency)  # the client reads `setupComplete` and writes the replay
                await second.resumption_update(True)  # the replay is still on the wire
                await trio.sleep(3 * latency)  # the handle reaches the client
                await second.reset()
                await emulator.wait_for_connection(3)
                await trio.sleep(1)  # the replay reaches connection 3
            nursery.cancel_scope.cancel()
    connections = emulator.connections
    assert len(connections) == 3
    handle = connections[2].received[0].data["setup"]["sessionResumption"]["handle"]
    assert connections[1].handle_coverage[handle] == 0  # the replay crossed it
    state = _state(connections)
    assert set(state) == set(range(30))


class _Uplink(trio.abc.Stream):
    """A client stream whose writes can be held back, as by a full uplink.

    Once `writes_before_full` writes went through, later ones wait and their bytes never
    leave; `reset()` fails them as a TCP reset fails a real socket's blocked write.
    """

    def __init__(self, inner: trio.abc.Stream, writes_before_full: int | None) -> None:
        self.inner = inner
        self.writes = 0
        self.writes_before_full = writes_before_full
        self._reset = trio.Event()

    def fill(self) -> None:
        self.writes_before_full = self.writes

    def reset(self) -> None:
        self._reset.set()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.writes_before_full is not None and self.writes >= self.writes_before_full:
            await self._reset.wait()
            raise trio.BrokenResourceError("connection reset")
        self.writes += 1
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return await self.inner.receive_some(max_bytes)

    async def send_eof(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self._reset.set()
        await self.inner.aclose()


async def test_a_write_held_back_past_the_window_is_not_covered_by_a_handle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The uplink fills: the write of three chunks starts but their bytes do not leave. A
    # handle read a second later cannot include them, however long ago the write began;
    # nor can a handle read on connection 2 include their replay, held back the same way.
    # Both connections drop; every chunk must still reach connection 3.
    async with open_emulator() as emulator:
        memory = emulator.memory_connector()
        uplinks: list[_Uplink] = []

        async def connect() -> trio.abc.Stream:
            # Connection 2 lets the upgrade and `setup` through, then is full.
            uplink = _Uplink(await memory(), 2 if len(uplinks) == 1 else None)
            uplinks.append(uplink)
            return uplink

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        reconnected: list[Reconnected] = []
        async with (
            open_session(live_setup(MODEL), endpoint=endpoint, connector=connect) as session,
            trio.open_nursery() as nursery,
        ):

            async def listen() -> None:
                async for event in session:
                    if isinstance(event, Reconnected):
                        reconnected.append(event)

            nursery.start_soon(listen)
            with trio.fail_after(60):
                first = await emulator.wait_for_connection(1)
                await session.send_audio(_chunk(0))
                await trio.sleep(1)
                uplinks[0].fill()
                for seq in range(1, 4):
                    await session.send_audio(_chunk(seq))
                await trio.sleep(1)
                await first.resumption_update(True)
                await trio.sleep(1)
                await first.reset()
                uplinks[0].reset()
                second = await emulator.wait_for_connection(2)
                await second.wait_for_sent("setupComplete")
                await trio.sleep(1)
                await second.resumption_update(True)
                await trio.sleep(1)
                await second.reset()
                uplinks[1].reset()
                await emulator.wait_for_connection(3)
                await trio.sleep(1)  # the replay reaches connection 3
            nursery.cancel_scope.cancel()
    assert [len(c.received) for c in emulator.connections[:2]] == [2, 1]  # setup, chunk 0
    assert sorted(_state(emulator.connections)) == [0, 1, 2, 3]
    # Connection 1 replays the chunks whose write the drop cut off (the rest were still
    # queued, and went out after the replay); connection 2 held back all three.
    assert 1 <= reconnected[0].replayed <= 3
    assert reconnected[1].replayed == 3
    assert reconnected[-1].possibly_duplicated == 0  # no handle was read after they left


def _resumable_core(outgoing_receive: trio.MemoryReceiveChannel[Outgoing]) -> SessionCore:
    """A session's shared state with a resumable setup in force: written frames are kept."""
    events_send, _ = trio.open_memory_channel[RealtimeEvent](4)
    core = SessionCore(
        options=SessionOptions(),
        endpoint=url_endpoint("ws://127.0.0.1:9/x", api_key="k"),
        protocol=LiveProtocol(),
        events_send=events_send,
        outgoing_receive=outgoing_receive,
        replay=ReplayBuffer(1 << 20),
    )
    core.protocol.start(live_setup(MODEL))
    return core


class _FullSocket:
    """A transport whose socket buffer takes part of a frame, then nothing more."""

    consumer_readable = False
    writes_begun = 0

    def send_now(self, frame: bytes) -> bool | None:
        return None  # part of it went out; the rest waits for `flush`

    async def flush(self) -> None:
        await trio.sleep_forever()


async def test_a_frame_written_in_part_is_not_covered_until_its_rest_is_written(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The user's task wrote part of a frame straight to the socket (`write_now`); the sender
    # is left to write the rest, and the socket takes nothing more. A handle read a second
    # later cannot include the frame, and when the connection ends it must be replayed.
    outgoing_send, outgoing_receive = trio.open_memory_channel[Outgoing](4)
    core = _resumable_core(outgoing_receive)
    connection = Connection(core, _FullSocket())  # type: ignore[arg-type]
    connection._sender_parked = True  # pyright: ignore[reportPrivateUsage]
    frame = b'{"realtimeInput": {"audio": {"data": "AAA=", "mimeType": "audio/pcm"}}}'
    assert connection.write_now(frame, "realtimeInput.audio") is None
    outgoing_send.send_nowait(FLUSH)  # as `LiveSession` queues it after a partial write
    async with trio.open_nursery() as nursery:
        nursery.start_soon(connection._sender)  # pyright: ignore[reportPrivateUsage]
        await trio.sleep(1)
        core.replay.covered_through(core.handle_cutoff())  # a handle is read
        nursery.cancel_scope.cancel()  # the connection ends
    plan = core.replay.take()
    assert [message.frame for message in plan.replay] == [frame]
    assert plan.possibly_duplicated == 0


class _EndingSocket:
    """A closing transport: it refuses every write, or cuts it off once it has begun."""

    consumer_readable = False

    def __init__(self, *, cut: bool) -> None:
        self.cut = cut
        self.writes_begun = 0

    async def send(self, frame: bytes) -> None:
        await self.send_many((frame,))

    async def send_many(self, frames: Sequence[bytes]) -> None:
        if not self.cut:
            await trio.lowlevel.checkpoint()
            raise TransportClosedError(1000, "", unwritten=True)
        self.writes_begun += 1  # part of the frames may leave, or all, or none
        await trio.sleep_forever()


@pytest.mark.parametrize("cut", [False, True], ids=["refused", "cut-off"])
@pytest.mark.parametrize("count", [1, 3])
async def test_frames_a_closing_connection_did_not_write_outlive_a_later_handle(
    autojump_clock: trio.testing.MockClock, cut: bool, count: int
) -> None:
    # The sender's write of one frame (`_write`) or a batch (`_write_many`) ends unwritten:
    # refused by the closing connection before any byte left, or cut off part-way. Its
    # receiver reads on during the close handshake, and reads a handle a second later. The
    # frames were kept dated as written when their write ended, so that handle forgot them:
    # the next connection neither replayed nor reported them. Refused, the server never had
    # them; cut off, it may have some (the handle then may hold them: uncertain).
    _, outgoing_receive = trio.open_memory_channel[Outgoing](4)
    core = _resumable_core(outgoing_receive)
    connection = Connection(core, _EndingSocket(cut=cut))  # type: ignore[arg-type]
    items = [
        Outgoing(b'{"realtimeInput": {"text": "%d"}}' % n, "realtimeInput.text")
        for n in range(count)
    ]
    with trio.move_on_after(0.1), contextlib.suppress(TransportClosedError):
        if count == 1:
            await connection._write(items[0].frame, items[0].kind)  # pyright: ignore[reportPrivateUsage]
        else:
            await connection._write_many(items)  # pyright: ignore[reportPrivateUsage]
    await trio.sleep(1)
    core.replay.covered_through(core.handle_cutoff())  # a handle is read
    assert [item.frame for item in (core.cut_off if cut else core.refused)] == [
        item.frame for item in items
    ]
    plan = core.replay.take(owed=[(item.kind, item.frame) for item in items])
    assert [message.frame for message in plan.replay] == [item.frame for item in items]
    assert plan.possibly_duplicated == (count if cut else 0)
    assert plan.not_replayed == ()


def test_a_cut_off_frame_is_kept_by_a_handle_and_marked_a_never_written_one_is_not() -> None:
    buffer = ReplayBuffer(limit_bytes=1000)
    buffer.add(1, b"a", "realtimeInput.text", 1.0)
    buffer.add(2, b"b", "realtimeInput.text", math.inf, cut_off=True)
    buffer.add(3, b"c", "realtimeInput.text", math.inf)
    buffer.covered_through(50.0)
    plan = buffer.take()
    assert [(m.index, m.uncertain) for m in plan.replay] == [(2, True), (3, False)]


def test_a_message_owed_that_the_buffer_lacks_is_reported_not_dropped() -> None:
    # The safety net: whatever path lost a message the last connection never wrote in
    # full, the resume reports it. One its overflow dropped is reported once, as overflow.
    buffer = ReplayBuffer(limit_bytes=TEN)
    kept, dropped, lost = b"k" * 10, b"d" * 10, b"l" * 7
    buffer.add(1, dropped, "realtimeInput.text", math.inf)
    buffer.add(2, kept, "realtimeInput.text", math.inf)
    owed = [("realtimeInput.text", frame) for frame in (dropped, kept, lost)]
    owed.append(("contextUpdate", b"u"))  # carried by the next setup: owed nothing
    plan = buffer.take(owed=owed)
    assert [message.frame for message in plan.replay] == [kept]
    assert plan.not_replayed == (
        "realtimeInput.text: 1 message(s), 10 bytes (replay buffer overflow)",
        "realtimeInput.text: 1 message(s), 7 bytes (not kept for replay)",
    )
    assert plan.not_replayed_messages == 2


async def _drain(session: LiveSession) -> None:
    async for _ in session:
        pass


@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.floats(0, 0.1), st.integers(1, 40)),
            st.tuples(st.just("handle"), st.floats(0, 0.3), st.just(0)),
        ),
        max_size=60,
    ),
    limit=st.integers(0, 20 * MESSAGE_OVERHEAD),
)
def test_the_replay_is_exactly_what_no_handle_covered_less_what_overflowed(
    ops: list[tuple[str, float, int]], limit: int
) -> None:
    buffer = ReplayBuffer(limit_bytes=limit)
    now = 0.0
    written: list[tuple[int, float, int]] = []  # index, time, size
    covered: set[int] = set()
    handled_after: set[int] = set()  # written before some handle was read
    for op, value, size in ops:
        if op == "add":
            now += value
            index = len(written) + 1
            written.append((index, now, size))
            buffer.add(index, b"x" * size, "realtimeInput.audio", now)
        else:
            cutoff = now - value
            covered |= {index for index, at, _ in written if at <= cutoff}
            handled_after |= {index for index, _, _ in written}
            buffer.covered_through(cutoff)
    plan = buffer.take()
    replayed = [message.index for message in plan.replay]
    uncovered = [index for index, _, _ in written if index not in covered]
    # What is replayed is the newest uncovered messages, in order; the rest is reported.
    assert replayed == uncovered[len(uncovered) - len(replayed) :]
    assert plan.not_replayed_messages >= len(uncovered) - len(replayed)
    assert sum(len(message.frame) + MESSAGE_OVERHEAD for message in plan.replay) <= limit
    assert plan.possibly_duplicated == sum(index in handled_after for index in replayed)


async def test_a_text_answered_within_the_window_waits_for_a_later_handle_to_be_forgotten(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The case concepts.md describes: a quick answer leaves its text uncertain until later.

    Its handles come within `handle_window` of the text, so a move seconds later still
    replays it; the handle after the next turn, read long after the first text was written,
    forgets that one (and keeps the newer text, uncertain in its turn).
    """
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        connector = emulator.memory_connector()
        async with open_session(
            live_setup(MODEL), endpoint=endpoint, connector=connector
        ) as session:

            async def turn(text: str) -> None:
                await session.send_text(text)
                with trio.fail_after(10):
                    async for event in session:
                        if isinstance(event, ResumptionUpdate) and event.handle:
                            break  # the handle after the answer's turnComplete

            async def move() -> Reconnected:
                await trio.sleep(3)  # far past the window
                await (await emulator.wait_for_connection(len(emulator.connections))).go_away(5)
                with trio.fail_after(10):
                    async for event in session:
                        if isinstance(event, Reconnected):
                            return event
                raise AssertionError("no move")

            await turn("first")
            assert (await move()).possibly_duplicated == 1
            await trio.sleep(3)  # the replayed text, like any write, waits for a later handle
            await turn("second")
            assert (await move()).possibly_duplicated == 1
    replayed = [
        [f.data["realtimeInput"]["text"] for f in c.received[1:2] if "realtimeInput" in f.data]
        for c in emulator.connections[1:]
    ]
    assert replayed == [["first"], ["second"]]


class _Gate(trio.abc.Stream):
    """A client stream whose writes can be held (they wait, and go once let through)."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.passes: int | None = None  # writes still let through; None: all
        self._moved = trio.Event()

    def hold(self, passes: int = 0) -> None:
        self.passes = passes
        self._moved.set()
        self._moved = trio.Event()

    def release(self) -> None:
        self.passes = None
        self._moved.set()
        self._moved = trio.Event()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        while self.passes == 0:
            await self._moved.wait()
        if self.passes is not None:
            self.passes -= 1
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def send_eof(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self.release()
        await self.inner.aclose()


def _texts(connection: EmulatorConnection) -> list[str]:
    return [text for frame in connection.received if (text := frame.get("realtimeInput.text"))]


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_texts_the_closing_connection_refused_survive_a_handle_read_during_the_close(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # An `update_setup` move: the old connection's close frame waits behind a write held
    # on a slow uplink, and the texts sent meanwhile are refused by the closing connection
    # (no byte of them left). The close handshake is slow; the receiver reads a handle more
    # than `handle_window` after the refusal. That handle cannot hold texts the server never
    # had: the next connection must replay them. They were dated as written at the refusal,
    # so the handle forgot them, and they were lost without a word.
    async with open_emulator() as emulator:
        memory = emulator.memory_connector()
        gates: list[_Gate] = []

        async def connect() -> trio.abc.Stream:
            gates.append(_Gate(await memory()))
            return gates[-1]

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        setup = live_setup(TEXT_MODEL, modality="TEXT")
        options = SessionOptions(close_timeout=5.0, transport=transport)
        reconnected: list[Reconnected] = []
        async with (
            open_session(setup, endpoint=endpoint, connector=connect, options=options) as session,
            trio.open_nursery() as nursery,
        ):

            async def listen() -> None:
                async for event in session:
                    if isinstance(event, Reconnected):
                        reconnected.append(event)

            nursery.start_soon(listen)
            with trio.fail_after(60):
                first = await emulator.wait_for_connection(1)
                await session.send_text("a")
                await first.wait_for_received(lambda f: f.get("realtimeInput.text") == "a")
                gates[0].hold()
                await session.send_text("b")  # its write waits on the uplink
                await trio.sleep(0.1)
                new_setup = live_setup(TEXT_MODEL, modality="TEXT", system_instruction="v2")
                nursery.start_soon(session.update_setup, new_setup)
                await trio.sleep(0.1)  # the move's close frame waits behind "b"
                await session.send_text("c")
                await session.send_text("d")
                gates[0].hold(passes=1)  # "b" goes; the close frame waits
                await trio.sleep(0.1)  # "c" and "d" are refused: the connection is closing
                await trio.sleep(1)
                await first.resumption_update(True)
                await trio.sleep(0.1)  # the receiver reads the handle
                gates[0].release()
                second = await emulator.wait_for_connection(2)
                await second.wait_for_sent("setupComplete")
                await trio.sleep(1)  # the replay reaches the emulator
            nursery.cancel_scope.cancel()
    assert _texts(first) == ["a", "b"]
    assert reconnected
    assert reconnected[0].not_replayed == ()
    assert _texts(second) == ["c", "d"]
