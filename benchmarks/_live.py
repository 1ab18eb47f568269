"""Many live sessions in one client process: `python -m benchmarks._live JOB_JSON`.

Used by the latency and scale scenarios. Every session's socket has `SO_TIMESTAMPNS` on, so
each read carries the kernel's arrival time of its bytes; the server stamps each frame
(monotonic ns in the first PCM bytes, or `t<ns>` in the transcription sent with
`interrupted`). After the run, the raw reads are searched for those stamps (outside the
measured path) to pair every event with the arrival of its frame:

- arrival -> event: kernel receive timestamp to the event in the user's `async for` loop;
- lateness: the server's send stamp to the event (loopback, kernel and client backlog).

Full duplex (`send`): each session also sends a 20 ms 16 kHz chunk every 20 ms. The sends are
driven by one shared audio clock (`AudioClock`: a tick every millisecond wakes the sessions
whose 20 ms phase falls on it), as one media clock drives every stream of a voice server,
rather than by a timer per session. A chunk whose tick passes while the session's previous
send still runs is sent late right after, and its lateness recorded (`send_every_period`).
Prints one JSON line: percentiles, counts (`sends`: chunks sent in the window), client
process CPU over the measured window and RSS.
"""

from __future__ import annotations

import array
import base64
import gc
import json
import os
import re
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from . import _frames

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; SCM_TIMESTAMPNS is the same
_AUDIO_STAMP = re.compile(rb'"data": "([A-Za-z0-9+/]{12})')
_TEXT_STAMP = re.compile(rb'"text": "t(\d+)"')


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class TimestampStream(trio.abc.Stream):
    """A TCP stream whose reads keep (kernel arrival ns, the bytes read) for later."""

    def __init__(self, sock: trio.socket.SocketType, log: list[tuple[int, bytes]]) -> None:
        self._sock = sock
        self._inner = trio.SocketStream(sock)
        self._log = log

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        data, ancdata, _flags, _addr = await self._sock.recvmsg(max_bytes or 65536, 64)
        if data:
            stamp = 0
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", cdata[:16])
                    stamp = sec * 1_000_000_000 + nsec
            self._log.append((stamp, data))  # a reference, not a copy
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self._inner.aclose()


def arrivals(log: list[tuple[int, bytes]]) -> dict[int, int]:
    """Server stamp -> kernel arrival (realtime ns) of the read that carried it."""
    out: dict[int, int] = {}
    for arrived, data in log:
        for match in _AUDIO_STAMP.finditer(data):
            raw = base64.b64decode(match.group(1))
            out[int.from_bytes(raw[:8], "big")] = arrived
        for match in _TEXT_STAMP.finditer(data):
            out[int(match.group(1))] = arrived
    return out


def pct(values: list[int] | array.array[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3  # us


class Seen:
    """Events seen in the measured window: int64 columns allocated (and written) up front.

    Recording then allocates nothing, so the RSS growth over the window (memory per active
    session) excludes the benchmark's own bookkeeping. Events beyond the capacity are
    counted (`dropped`), not kept.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        # (server stamp, event realtime ns, event monotonic ns, kind 0 audio / 1 barge-in)
        self.stamp, self.wall, self.mono, self.kind = (
            array.array("q", [0]) * capacity for _ in range(4)
        )
        self.n = 0

    def add(self, stamp: int, wall: int, mono: int, kind: int) -> None:
        i = self.n
        if i < self.capacity:
            self.stamp[i], self.wall[i], self.mono[i], self.kind[i] = stamp, wall, mono, kind
        self.n = i + 1

    def rows(self) -> zip[tuple[int, int, int, int]]:
        n = min(self.n, self.capacity)
        return zip(self.stamp[:n], self.wall[:n], self.mono[:n], self.kind[:n], strict=True)

    @property
    def dropped(self) -> int:
        return max(0, self.n - self.capacity)


class AudioClock:
    """One task ticking every `tick` seconds; a session waits for its phase slot each period.

    One shared clock wakes once per tick instead of once per session and chunk, through the
    library's pacer (a timerfd on Linux, no `Cancelled` raised per wake-up).
    """

    def __init__(self, period: float = 0.02, tick: float = 0.001) -> None:
        self.period, self.tick = period, tick
        self.slots = round(period / tick)
        self._events = [trio.Event() for _ in range(self.slots)]
        self._due = [0.0] * self.slots
        self.start = trio.current_time()

    async def run(self) -> None:
        from trio_gemini_live import open_pacer

        k = 0
        with open_pacer() as pacer:  # a timerfd: no `Cancelled` per tick
            while True:
                k += 1
                due = self.start + k * self.tick
                await pacer.sleep_until(due)
                slot = k % self.slots
                event, self._events[slot] = self._events[slot], trio.Event()
                self._due[slot] = due
                event.set()

    def slot_of(self, now: float) -> int:
        """The slot whose ticks come next after `now`."""
        return (int((now - self.start) / self.tick) + 1) % self.slots

    async def wait(self, slot: int) -> float:
        """Wait for the slot's next tick; return the time it was due."""
        await self._events[slot].wait()
        return self._due[slot]


class SendTicks:
    """Lateness of each chunk sent in the measured window: an int64 column allocated up front.

    As `Seen`: recording allocates nothing. Sends beyond the capacity are counted
    (`dropped`), not kept.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.late = array.array("q", [0]) * capacity
        self.n = 0

    def add(self, late_ns: int) -> None:
        i = self.n
        if i < self.capacity:
            self.late[i] = late_ns
        self.n = i + 1

    @property
    def dropped(self) -> int:
        return max(0, self.n - self.capacity)

    def summary(self) -> dict[str, float | int]:
        """`send_late_p99` (us) and `sends`: how many chunks were sent in the window."""
        kept = self.late[: min(self.n, self.capacity)]
        return {"send_late_p99": pct(kept, 0.99), "sends": self.n}


async def send_every_period(
    send: Callable[[bytes], Awaitable[object]],
    chunk: bytes,
    clock: AudioClock,
    ticks: SendTicks,
    state: dict[str, Any],
) -> None:
    """Send `chunk` once per period, on the clock's next slot, as a microphone produces it.

    A send that outlasts the period misses its slot's next tick. The chunk due then is not
    dropped: it is sent as soon as that send returns, late, as a capture buffer would hold
    it, and its lateness (sent minus due) is recorded like any other. So every chunk due is
    recorded once sent, and a session that cannot keep up shows as late sends and as fewer
    sends than the window's ticks, never as a gap the percentile cannot see.
    """
    slack = clock.tick / 2  # the clock's due times and ours differ in their last bits
    slot = clock.slot_of(trio.current_time())
    due = await clock.wait(slot)
    while True:
        while due <= trio.current_time() + slack:
            if state["measuring"]:
                ticks.add(int((trio.current_time() - due) * 1e9))
            await send(chunk)
            due += clock.period
        # A tick of this slot that the clock, running late, sets only now was served above.
        while await clock.wait(slot) < due - slack:
            pass


class _FullCollections:
    """Within the block, the duration of each full (generation 2) collection, in seconds."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2:
            self.pauses.append(time.perf_counter() - self._started)

    def __enter__(self) -> None:
        gc.callbacks.append(self._callback)

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def run(job: dict[str, Any]) -> dict[str, Any]:
    from trio_gemini_live import SessionOptions, url_endpoint
    from trio_gemini_live._events import AudioDelta, Interrupted, OutputTranscription
    from trio_gemini_live._session import open_session

    host, port = job["host"], job["port"]
    sessions, seconds, warmup = job["sessions"], job["seconds"], job.get("warmup", 1.0)
    duplex = job.get("send", False)
    stagger = job.get("stagger", 0.002)
    log: list[tuple[int, bytes]] = []
    # Preallocated (see `Seen`): frames come every 40 ms, sends every 20 ms; 50 % spare.
    seen = Seen(int(sessions * seconds / 0.04 * 1.5) + 1024)
    ticks = SendTicks(int(sessions * seconds / 0.02 * 1.5) + 1024 if duplex else 0)
    state: dict[str, Any] = {"measuring": False}
    chunk = _frames.pcm(20, _frames.IN_RATE)

    async def connector() -> trio.abc.Stream:
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await sock.connect((host, port))
        return TimestampStream(sock, log)

    async def one(opened: trio.Event, counter: list[int], clock: AudioClock) -> None:
        endpoint = url_endpoint(job["url"], api_key="x")
        options = SessionOptions(transport=job.get("transport", "websockets"))
        # Without kernel timestamps (scale), the library opens its own plain TCP stream.
        connect = connector if job.get("timestamps", True) else None
        async with open_session(
            _frames.MODEL, endpoint=endpoint, options=options, connector=connect
        ) as session:
            counter[0] += 1
            if counter[0] == sessions:
                opened.set()
            async with trio.open_nursery() as nursery:
                if duplex:
                    nursery.start_soon(
                        send_every_period, session.send_audio, chunk, clock, ticks, state
                    )
                stamp = 0
                add = seen.add
                async for event in session:
                    wall, mono = time.time_ns(), time.monotonic_ns()
                    kind = type(event)
                    if kind is AudioDelta:
                        if state["measuring"]:
                            add(_frames.read_stamp(event.pcm), wall, mono, 0)
                    elif kind is OutputTranscription:
                        stamp = int(event.text[1:])
                    elif kind is Interrupted and state["measuring"]:
                        add(stamp, wall, mono, 1)

    result: dict[str, Any] = {}
    gc_pauses = _FullCollections()

    async def main() -> None:
        rss0 = rss_bytes()
        opened = trio.Event()
        counter = [0]
        async with trio.open_nursery() as nursery:
            clock = AudioClock()
            if duplex:
                nursery.start_soon(clock.run)
            for _ in range(sessions):
                nursery.start_soon(one, opened, counter, clock)
                await trio.sleep(stagger)  # spread connects (and the server's frame phases)
            with trio.move_on_after(120):
                await opened.wait()
            result["opened"] = counter[0]
            if job.get("gc") == "freeze":
                # What a many-session server can do once warmed up: the objects alive now
                # (tasks, coroutines, frames) leave the collector's full walks.
                gc.freeze()
            rss_open = rss_bytes()
            await trio.sleep(warmup)
            log.clear()
            state["measuring"] = True
            c0, w0 = time.process_time(), time.perf_counter()
            with gc_pauses:
                await trio.sleep(seconds)
            state["measuring"] = False
            result["cpu"] = time.process_time() - c0
            result["wall"] = time.perf_counter() - w0
            result["rss_open"] = rss_open - rss0
            result["rss_active"] = rss_bytes() - rss0
            nursery.cancel_scope.cancel()

    trio.run(main)
    arrived = arrivals(log)
    audio, barge, late, late_barge = [], [], [], []
    missing = 0
    for stamp, wall, mono, kind in seen.rows():
        late.append(mono - stamp)
        t = arrived.get(stamp)
        if t is None or t == 0:
            missing += 1
            continue
        (barge if kind else audio).append(wall - t)
        if kind:
            late_barge.append(mono - stamp)
    result.update(
        events=min(seen.n, seen.capacity),
        dropped=seen.dropped + ticks.dropped,
        unmatched=missing,
        **percentiles(audio, barge, late),
        **ticks.summary(),
        gc_full=len(gc_pauses.pauses),
        gc_full_max_ms=max(gc_pauses.pauses, default=0.0) * 1e3,
    )
    if job.get("raw"):
        # For a caller that pools several runs' samples (`latency`'s interleaved rounds).
        result.update(audio=audio, barge=barge, late=late)
    return result


def percentiles(audio: list[int], barge: list[int], late: list[int]) -> dict[str, float]:
    """The run's figures (us) from its samples (ns): arrival->event of audio frames and of
    barge-ins, and lateness (server stamp -> event) of both."""
    return {
        "audio_p50": pct(audio, 0.5),
        "audio_p99": pct(audio, 0.99),
        "audio_max": pct(audio, 1.0),
        "barge_p50": pct(barge, 0.5),
        "barge_p99": pct(barge, 0.99),
        "barge_n": len(barge),
        "late_p50": pct(late, 0.5),
        "late_p99": pct(late, 0.99),
    }


# A many-session server's young-generation threshold (CPython's default is 700, 2000 from
# 3.13): per-wait objects then die before a collection instead of being promoted.
GC_THRESHOLD0 = 20_000


def main() -> None:
    job = json.loads(sys.argv[1])
    if job.get("gc") == "threshold":
        gc.set_threshold(GC_THRESHOLD0)
    if job.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {job["cpu"]})
    if job.get("idle"):
        print(json.dumps(run_idle(job)), flush=True)
    else:
        print(json.dumps(run(job)), flush=True)


def run_idle(job: dict[str, Any]) -> dict[str, Any]:
    """RSS growth per open, idle session (setup done, nothing flowing)."""
    from trio_gemini_live import SessionOptions, url_endpoint
    from trio_gemini_live._session import open_session

    sessions = job["sessions"]
    result: dict[str, Any] = {}

    async def one(counter: list[int], opened: trio.Event) -> None:
        endpoint = url_endpoint(job["url"], api_key="x")
        options = SessionOptions(transport=job.get("transport", "websockets"))
        async with open_session(_frames.MODEL, endpoint=endpoint, options=options):
            counter[0] += 1
            if counter[0] == sessions:
                opened.set()
            await trio.sleep_forever()

    async def main() -> None:
        # One session first, so that lazily created module state is not counted.
        counter = [0]
        async with trio.open_nursery() as nursery:
            first = trio.Event()
            nursery.start_soon(one, [0], first)
            await trio.sleep(0.3)
            rss0 = rss_bytes()
            opened = trio.Event()
            for _ in range(sessions):
                nursery.start_soon(one, counter, opened)
                await trio.sleep(0.001)
            with trio.move_on_after(60):
                await opened.wait()
            await trio.sleep(0.2)
            result.update(opened=counter[0], rss=rss_bytes() - rss0)
            nursery.cancel_scope.cancel()

    trio.run(main)
    return result


if __name__ == "__main__":
    main()
