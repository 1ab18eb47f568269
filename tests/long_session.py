"""A voice agent's long session against the emulator under virtual time, with memory probes.

Used by test_long_session.py (the regression bound) and by `python tests/long_session.py`
(the figures: net allocations and per-file top growers after each probe). The agent streams
100 ms chunks of 16 kHz audio (3 s of speech, 2 s of silence: a turn every 5 s), asks a
question that makes a tool call every fourth turn, reads every event and keeps none of
them; the server says `goAway` and closes every `lifetime` seconds and the session resumes;
every `drop_every` seconds the connection is reset. Time is trio's MockClock (autojump), so
an hour takes seconds of wall time.
"""

from __future__ import annotations

import gc
import math
import struct
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import trio
import trio.testing

from trio_gemini_live import (
    FunctionCall,
    LiveSession,
    ReconnectPolicy,
    SessionOptions,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live.emulator import (
    EmulatorConfig,
    Fault,
    Scenario,
    ScenarioToolCall,
    ScenarioTurn,
    open_emulator,
)

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
CHUNK_S = 0.1
_SAMPLES = int(16000 * CHUNK_S)
SPEECH = struct.pack(
    f"<{_SAMPLES}h", *(int(8000 * math.sin(2 * math.pi * 200 * n / 16000)) for n in range(_SAMPLES))
)
SILENCE = bytes(2 * _SAMPLES)


@dataclass(frozen=True)
class Shape:
    """What the session looks like; the defaults are a voice agent's (a turn every 5 s).

    Attributes:
        spoken: 100 ms chunks of speech in each turn (then silence up to `cycle` chunks).
        cycle: chunks per turn.
        silence_ms: the server's end-of-speech silence (must be shorter than the pause).
        tool_every: every how many turns the user asks what makes a tool call.
        reply: the model's answer to speech; None echoes the speech back (the emulator's
            default, which costs a resampling in Python per turn).
        lifetime: seconds between the server's `goAway`s (each one a resume).
        drop_every: seconds between connection resets (None: no drops).
        compression_tokens: `contextWindowCompression.triggerTokens` (the server then keeps
            the history under it, and no session limit applies).
        record_frames: the emulator's `record_frames` (`"default"`: its default).
    """

    spoken: int = 30
    cycle: int = 50
    silence_ms: int = 500
    tool_every: int = 4
    reply: str | None = None
    lifetime: float = 600.0
    drop_every: float | None = 1500.0
    compression_tokens: int = 100_000
    record_frames: int | Literal["default"] | None = "default"


COMPACT = Shape(
    spoken=2,
    cycle=6,
    silence_ms=200,
    tool_every=4,
    reply="OK.",
    lifetime=60,
    drop_every=150,
    compression_tokens=2_000,
)
"""A turn every 0.6 s, a resume every minute: the same churn in a twentieth of the CPU."""


@dataclass
class Probe:
    """Memory after `at` seconds of session: traced bytes and the snapshot taken then."""

    at: float
    traced: int
    snapshot: tracemalloc.Snapshot
    chunks_sent: int
    events_read: int


@dataclass
class LongSession:
    """What `run` did: the probes, and counts that show the session really happened."""

    probes: list[Probe] = field(default_factory=list[Probe])
    chunks_sent: int = 0
    events_read: int = 0
    tool_calls: int = 0
    reconnects: int = 0
    connections: int = 0


def _config(shape: Shape) -> EmulatorConfig:
    turns = [
        ScenarioTurn(
            when="weather",
            tool_calls=(ScenarioToolCall("get_weather", {"city": "Paris"}),),
            after_tool="It is {response} in Paris.",
            reusable=True,
        )
    ]
    if shape.reply is not None:
        turns.append(ScenarioTurn(reply=shape.reply, reusable=True))
    extra = {} if shape.record_frames == "default" else {"record_frames": shape.record_frames}
    return EmulatorConfig(
        **extra,
        lifetime=shape.lifetime,
        go_away_warning=min(50.0, shape.lifetime / 4),
        silence_duration_ms=shape.silence_ms,
        audio_session_limit=None,
        scenario=Scenario(tuple(turns)),
    )


def probe_memory(at: float, result: LongSession) -> Probe:
    """Collect garbage and take a tracemalloc snapshot (only our process's heap)."""
    gc.collect()
    return Probe(
        at,
        tracemalloc.get_traced_memory()[0],
        tracemalloc.take_snapshot(),
        result.chunks_sent,
        result.events_read,
    )


async def _session(probe_at: list[float], result: LongSession, shape: Shape) -> None:
    drop_every = shape.drop_every
    config = _config(shape)
    async with open_emulator(config) as emulator:
        setup = live_setup(
            MODEL,
            input_transcription=True,
            output_transcription=True,
            functions=[function_tool("get_weather", "The weather in a city")],
            compression_trigger_tokens=shape.compression_tokens,
        )
        options = SessionOptions(
            reconnect=ReconnectPolicy(max_attempts=10, initial_delay=0.05, stable_after=1.0)
        )
        start = trio.current_time()

        async def listen(session: LiveSession) -> None:
            async for event in session:
                result.events_read += 1
                if isinstance(event, FunctionCall):
                    result.tool_calls += 1
                    await session.respond(event.call_id, {"sky": "clear"})
                del event  # what an app does: nothing of the event outlives its handling

        async def drops() -> None:
            assert drop_every is not None
            while True:
                await trio.sleep(drop_every)
                live = [c for c in emulator.connections if not c.closed and c.opened]
                if live:
                    live[-1].inject(Fault(kind="reset"))

        async with (
            open_session(
                setup,
                endpoint=url_endpoint(emulator.endpoint_url(), api_key="key"),
                connector=emulator.memory_connector(),
                options=options,
            ) as session,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(listen, session)
            if drop_every:
                nursery.start_soon(drops)
            n = 0
            for at in probe_at:
                while trio.current_time() - start < at:
                    turn, phase = divmod(n, shape.cycle)
                    if phase == shape.spoken and turn % shape.tool_every == shape.tool_every - 1:
                        await session.send_text("what's the weather like?")
                    await session.send_audio(SPEECH if phase < shape.spoken else SILENCE)
                    n += 1
                    result.chunks_sent = n
                    await trio.sleep(CHUNK_S)
                # Let the turn in flight settle so that probes compare like with like.
                await trio.sleep(1)
                result.probes.append(probe_memory(at, result))
            result.reconnects = session.statistics().reconnects
            nursery.cancel_scope.cancel()
        result.connections = emulator.connections_dropped + len(emulator.connections)


def run(probe_at: list[float], shape: Shape = Shape()) -> LongSession:
    """Run one session, probing memory after each `probe_at` seconds of virtual time."""
    result = LongSession()
    tracemalloc.start()
    try:
        clock = trio.testing.MockClock(autojump_threshold=0)
        trio.run(_session, probe_at, result, shape, clock=clock)
    finally:
        tracemalloc.stop()
    return result


def growth(result: LongSession, first: int, last: int) -> int:
    """Bytes traced at probe `last` minus at probe `first`."""
    return result.probes[last].traced - result.probes[first].traced


def report(
    result: LongSession, top: int = 12, *, where: Callable[[str], bool] | None = None
) -> str:
    """The figures: traced bytes after each probe, and the files that grew most between."""
    lines = [
        f"{result.chunks_sent} chunks sent, {result.events_read} events read, "
        f"{result.tool_calls} tool calls, {result.reconnects} reconnects, "
        f"{result.connections} connections"
    ]
    previous: Probe | None = None
    for probe in result.probes:
        lines.append(f"t={probe.at / 3600:.2f} h traced {probe.traced / 1e6:9.3f} MB")
        if previous is not None:
            frames = probe.chunks_sent - previous.chunks_sent
            delta = probe.traced - previous.traced
            lines.append(
                f"  +{delta / 1e3:.1f} kB since previous probe "
                f"({delta / max(frames, 1) * 1000 / 1e3:.2f} kB per 1000 chunks sent)"
            )
            stats = probe.snapshot.compare_to(previous.snapshot, "filename")
            shown = [s for s in stats if where is None or where(s.traceback[0].filename)]
            for stat in shown[:top]:
                lines.append(f"    {stat.size_diff / 1e3:+10.1f} kB {stat.traceback[0].filename}")
        previous = probe
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    import time

    # `python tests/long_session.py [--compact] HOURS...`: probes after each of HOURS.
    args = sys.argv[1:]
    compact = "--compact" in args
    hours = [float(h) for h in args if h != "--compact"] or [1.0, 2.0, 4.0]
    began = time.perf_counter()
    outcome = run([h * 3600 for h in hours], COMPACT if compact else Shape())
    print(report(outcome))
    print(f"wall time {time.perf_counter() - began:.1f} s")
