"""A seeded fault schedule over a full-duplex audio session, and the checks on its outcome.

Each schedule runs in memory against the emulator under trio's MockClock: the client streams
tagged 20 ms audio chunks (speech and pauses, so turns, replies and barge-ins happen), with
a few typed questions (`realtimeInput.text`, which barge in too), while random faults hit
the connection. Half the schedules get their answers at playback speed, so that drops and
barge-ins land during them. Afterwards the emulator's recordings are the judge:

- every audio chunk and text the client sent was heard by the server's model exactly once
  in the session's final state, unless the client reported it as not replayed (or, for a
  repeat, as possibly duplicated). The emulator runs with `record_heard`: its model records
  each input as it takes it in (an audio chunk's first 4 bytes, which carry its sequence
  number; a text as its turn is made), a resumption handle snapshots that record with the
  conversation, and a resume restores it, the utterance in progress included only if the
  resumed model takes it back. So the final connection's record is what the model heard
  along the surviving lineage of handles, not what frames arrived or what the handles
  claim to cover;
- what each handle claims to cover (`handle_coverage`: in transparent mode the client
  replays by it) is what the model heard: the inputs received along the lineage of
  handles, each cut at its handle's coverage, are the record, in order;
- every server event reached the user at most once and in order: the user's stream, split
  at `Reconnected`, is a prefix of what each opened connection sent;
- the session continued (or ended with a typed error), and nothing hung.
"""

from __future__ import annotations

import base64
import math
import random
import struct
from dataclasses import dataclass, field
from typing import Any

import trio
import trio.testing

from trio_gemini_live import (
    AudioDelta,
    Closed,
    GeminiLiveError,
    LiveSession,
    RealtimeEvent,
    Reconnected,
    ReconnectPolicy,
    SessionCreated,
    SessionOptions,
    SessionUpdated,
    ToolCallCancellation,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._protocol import LiveProtocol
from trio_gemini_live._wire import Setup
from trio_gemini_live.emulator import EmulatorConfig, Fault, Pacing, open_emulator

CHUNK_SAMPLES = 320  # 20 ms at 16 kHz
MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
FAULT_KINDS = (
    "close-1011",
    "close-1001",
    "close-1013",
    "reset",
    "blackhole",
    "go-away",
    "outage",  # the connection resets and no new one can be opened for 0.5-8 s
)


@dataclass
class ScheduleResult:
    """What one schedule did and what the checks found."""

    seed: int
    faults: list[str]
    transparent: bool = True
    latency: float = 0.0
    chunks_sent: int = 0
    texts_sent: list[str] = field(default_factory=list[str])
    lost: int = 0
    duplicated: int = 0
    reported: int = 0
    possibly_duplicated: int = 0
    coverage_mismatches: int = 0
    reordered_events: int = 0
    hung: bool = False
    ended_with: str | None = None
    recoveries: list[float] = field(default_factory=list[float])
    connections: int = 0

    @property
    def ok(self) -> bool:
        """Whether every check held."""
        failures = (self.lost, self.duplicated, self.coverage_mismatches, self.reordered_events)
        return not (any(failures) or self.hung) and self.ended_with is None


def chunk(seq: int, loud: bool) -> bytes:
    """A 20 ms chunk whose first two samples carry its sequence number."""
    amplitude = 6000 if loud else 0
    samples = [
        int(amplitude * math.sin(2 * math.pi * 220 * n / 16000)) for n in range(CHUNK_SAMPLES)
    ]
    samples[0], samples[1] = seq & 0x7FFF, (seq >> 15) & 0x7FFF
    return struct.pack(f"<{CHUNK_SAMPLES}h", *samples)


def seq_of(pcm: bytes) -> int:
    """The sequence number `chunk` put into a chunk."""
    low, high = struct.unpack_from("<2h", pcm)
    return low | (high << 15)


def _input_of(frame_data: dict[str, Any]) -> int | str | None:
    """A client frame's audio chunk (its sequence number) or typed text, as `heard` has it."""
    realtime = frame_data.get("realtimeInput", {})
    if "text" in realtime:
        return str(realtime["text"])
    audio = realtime.get("audio")
    if audio is None:
        return None
    data = audio["data"]
    return seq_of(base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_"))


def _signature(event: RealtimeEvent) -> tuple[Any, ...] | None:
    """What identifies a server event, without client-side numbering (turn ids)."""
    if isinstance(event, (SessionCreated, SessionUpdated, Reconnected, Closed)):
        return None
    if isinstance(event, ToolCallCancellation) and event.reason == "reconnect":
        return None
    if isinstance(event, AudioDelta):
        return ("audio", hash(event.pcm))
    data = {
        name: getattr(event, name)
        for name in event.__struct_fields__
        if name not in ("turn_id",) and not isinstance(getattr(event, name), (dict, list))
    }
    return (type(event).__name__, tuple(sorted(data.items(), key=lambda item: item[0])))


def _server_signatures(raw_frames: list[bytes]) -> list[tuple[Any, ...]]:
    protocol = LiveProtocol()
    protocol.start(Setup(model="models/m"))
    out: list[tuple[Any, ...]] = []
    for raw in raw_frames:
        for event in protocol.receive_frame(raw):
            signature = _signature(event)
            if signature is not None:
                out.append(signature)
    return out


def _plan_faults(rng: random.Random) -> list[tuple[float, str]]:
    count = rng.choice((0, 1, 1, 2, 2, 3))
    return sorted((rng.uniform(0.5, 14.0), rng.choice(FAULT_KINDS)) for _ in range(count))


async def _run(seed: int, result: ScheduleResult) -> None:
    rng = random.Random(seed)
    plan = _plan_faults(rng)
    # Even seeds: transparent resumption (an exact index per handle, Vertex only). Odd
    # seeds: the Gemini API's default, where the client must judge which of its messages a
    # handle covers; a wire latency makes messages cross the handle in flight.
    result.transparent = seed % 2 == 0
    result.latency = 0.0 if result.transparent else random.Random(-seed).choice((0.0, 0.01, 0.05))
    result.faults = [f"{kind}@{at:.2f}s" for at, kind in plan]
    speech = [rng.choice((True, True, False)) for _ in range(16)]  # 16 one-second segments
    # Typed questions (`realtimeInput.text`) before some chunks: one that barges in on an
    # answer has the emulator issue a handle while it is being handed to the model.
    questions = set(rng.sample(range(16 * 50), rng.choice((0, 1, 2, 3))))
    # Half the schedules get answers at playback speed rather than in a burst: answers then
    # last, so that drops land during them, and what barges in has one to interrupt.
    pacing: Pacing = "realtime" if seed // 2 % 2 else "burst"
    config = EmulatorConfig(
        silence_duration_ms=400,
        lifetime=600,
        go_away_warning=50,
        pacing=pacing,
        record_heard=True,
    )
    options = SessionOptions(
        ping_interval=2,
        silence_limit=6,
        event_buffer=64,
        reconnect=ReconnectPolicy(
            max_attempts=10, max_elapsed=60, initial_delay=0.05, stable_after=1.0
        ),
    )
    events: list[RealtimeEvent] = []
    async with open_emulator(config) as emulator:
        # Transparent resumption is Vertex AI's: the Gemini API refuses the field (1007).
        url = emulator.vertex_endpoint_url() if result.transparent else emulator.endpoint_url()
        endpoint = url_endpoint(url, api_key="soak-key")
        setup = live_setup(
            MODEL,
            input_transcription=True,
            output_transcription=True,
            transparent_resumption=result.transparent,
        )

        memory = emulator.memory_connector(result.latency)
        network_back = 0.0

        async def connector() -> trio.abc.Stream:
            if trio.current_time() < network_back:
                raise OSError("network is unreachable")
            return await memory()

        async def chaos() -> None:
            nonlocal network_back
            start = trio.current_time()
            for at, kind in plan:
                await trio.sleep_until(start + at)
                live = [c for c in emulator.connections if not c.closed]
                if kind == "go-away":  # a server says nothing before `setupComplete`
                    live = [c for c in live if c.opened]
                if not live:
                    continue
                connection = live[-1]
                if kind.startswith("close-"):
                    connection.inject(
                        Fault(
                            kind="close", code=int(kind[6:]), reason="Internal error encountered."
                        )
                    )
                elif kind == "go-away":
                    await connection.go_away(rng.uniform(3, 10))
                elif kind == "outage":
                    network_back = trio.current_time() + rng.uniform(0.5, 8.0)
                    connection.inject(Fault(kind="reset"))
                else:
                    connection.inject(Fault(kind=kind))  # type: ignore[arg-type]

        async def talk(session: LiveSession) -> None:
            seq = 0
            for loud in speech:
                for _ in range(50):  # one second of 20 ms chunks
                    if seq in questions:
                        result.texts_sent.append(f"question {seq}")
                        await session.send_text(result.texts_sent[-1])
                    await session.send_audio(chunk(seq, loud))
                    seq += 1
                    result.chunks_sent = seq
                    await trio.sleep(0.02)

        async def listen(session: LiveSession) -> None:
            async for event in session:
                events.append(event)
                if isinstance(event, Reconnected):
                    result.recoveries.append(event.duration)
                    result.reported += event.not_replayed_messages
                    result.possibly_duplicated += event.possibly_duplicated

        try:
            async with (
                open_session(
                    setup,
                    endpoint=endpoint,
                    connector=connector,
                    options=options,
                ) as session,
                trio.open_nursery() as nursery,
            ):
                nursery.start_soon(chaos)
                nursery.start_soon(listen, session)
                await talk(session)
                await trio.sleep(5)  # let the last turn and any recovery finish
                nursery.cancel_scope.cancel()
        except GeminiLiveError as exc:
            result.ended_with = f"{type(exc).__name__}: {exc}"
        _judge(emulator.connections, events, result)


def _judge(connections: list[Any], events: list[RealtimeEvent], result: ScheduleResult) -> None:
    result.connections = len(connections)
    opened = [c for c in connections if any("setupComplete" in f.data for f in c.sent)]
    if opened:
        # 1. Client -> server: what the final state's model heard (its record, carried
        # through the lineage of handles), not what reached the server.
        heard = [
            entry if isinstance(entry, str) else seq_of(entry) for entry in opened[-1].session.heard
        ]
        counts: dict[int | str, int] = {}
        for entry in heard:
            counts[entry] = counts.get(entry, 0) + 1
        # Replays the client reported as possibly already consumed may repeat; no others.
        repeats = sum(n - 1 for n in counts.values() if n > 1)
        result.duplicated = max(0, repeats - result.possibly_duplicated)
        sent = [*range(result.chunks_sent), *result.texts_sent]
        missing = sum(1 for entry in sent if entry not in counts)
        result.lost = max(0, missing - result.reported)
        # The handles' coverage, which the client's replay relies on, tells the truth.
        if _covered(connections, connections.index(opened[-1])) != heard:
            result.coverage_mismatches += 1
    # 2. Server -> client: each segment of the user's stream is a prefix of a connection's.
    segments: list[list[tuple[Any, ...]]] = [[]]
    for event in events:
        if isinstance(event, Reconnected):
            segments.append([])
        elif (signature := _signature(event)) is not None:
            segments[-1].append(signature)
    for segment, connection in zip(segments, opened, strict=False):
        sent = _server_signatures([f.raw for f in connection.sent])
        if segment != sent[: len(segment)]:
            result.reordered_events += 1
    if len(segments) > len(opened):
        result.reordered_events += len(segments) - len(opened)


def _covered(connections: list[Any], last: int) -> list[int | str]:
    """The audio chunks and texts received along connection `last`'s lineage of handles.

    Each ancestor contributes the frames its handle covers (`handle_coverage`, the
    emulator's record, not the client's guess); `last` contributes every frame.
    """
    issued: dict[str, tuple[int, int]] = {}  # handle -> (connection index, consumed index)
    for number, connection in enumerate(connections):
        for handle, consumed in connection.handle_coverage.items():
            issued[handle] = (number, consumed)

    def lineage(number: int, upto: int | None) -> list[int | str]:
        connection = connections[number]
        setup = connection.received[0].data.get("setup", {}) if connection.received else {}
        handle = setup.get("sessionResumption", {}).get("handle")
        base: list[int | str] = []
        if handle:
            parent, consumed = issued[handle]
            base = lineage(parent, consumed)
        frames = connection.received[1:] if upto is None else connection.received[1 : upto + 1]
        return base + [s for f in frames if (s := _input_of(f.data)) is not None]

    return lineage(last, None)


def run_schedule(seed: int) -> ScheduleResult:
    """Run one seeded schedule (in virtual time) and judge it."""
    result = ScheduleResult(seed=seed, faults=[])

    async def main() -> None:
        with trio.move_on_after(600) as scope:
            await _run(seed, result)
        result.hung = scope.cancelled_caught

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return result
