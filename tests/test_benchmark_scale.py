"""The scale benchmark's verdict sees every chunk a session had to send (benchmarks/scale.py).

The sessions' sends are paced by the shared audio clock (`_live.send_every_period`); a send
that outlasts the 20 ms period misses its slot's next tick. These tests run the clock and
the sender on trio's mock clock with a fake send of a chosen duration, then judge the
measured window as `scale` does.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from benchmarks import scale
from benchmarks._live import AudioClock, SendTicks, send_every_period

SECONDS = 2.0
WARMUP = 0.5


async def _window(send_takes: list[float]) -> dict[str, Any]:
    """One session sending on the audio clock; each send takes the next of `send_takes` (s).

    Returns a trial's result as `_live.run` gives it, with the receive side on time, so that
    only the sends decide the verdict.
    """
    ticks = SendTicks(1000)
    state = {"measuring": False}
    durations = iter(send_takes)

    async def send(_chunk: bytes) -> None:
        await trio.sleep(next(durations, send_takes[-1]))

    async with trio.open_nursery() as nursery:
        clock = AudioClock()
        nursery.start_soon(clock.run)
        nursery.start_soon(send_every_period, send, b"chunk", clock, ticks, state)
        await trio.sleep(WARMUP)
        state["measuring"] = True
        started = trio.current_time()
        await trio.sleep(SECONDS)
        state["measuring"] = False
        wall = trio.current_time() - started
        nursery.cancel_scope.cancel()
    frames = SECONDS / scale.FRAME_PERIOD
    return {"opened": 1, "late_p99": 1000.0, "events": frames, "wall": wall, **ticks.summary()}


async def test_a_session_whose_sends_keep_up_passes(autojump_clock: trio.testing.MockClock) -> None:
    got = await _window([0.015])
    assert got["sends"] >= SECONDS / scale.SEND_PERIOD - 1
    assert got["send_late_p99"] < 1000.0  # us: each chunk sent on its tick
    assert scale.passes(got, 1, SECONDS)


async def test_a_session_whose_sends_outlast_the_period_fails(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Each send takes 25 ms: the sender missed every other tick, and the ticks it caught
    # were on time, so the old verdict (lateness of the ticks caught) passed it.
    got = await _window([0.025])
    assert got["sends"] < 0.85 * SECONDS / scale.SEND_PERIOD  # 80 of the 100 due
    assert got["send_late_p99"] > scale.LATENESS_US  # its backlog only grows
    assert not scale.passes(got, 1, SECONDS)
    # The count alone fails it too, whatever the lateness.
    assert not scale.passes({**got, "send_late_p99": 0.0}, 1, SECONDS)


async def test_the_chunks_of_ticks_missed_by_one_long_send_are_sent_late_and_recorded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # One send, in the measured window, takes 70 ms: three ticks pass meanwhile.
    on_time = int(WARMUP / scale.SEND_PERIOD) + 5
    got = await _window([0.001] * on_time + [0.07, 0.001])
    assert got["sends"] >= SECONDS / scale.SEND_PERIOD - 1  # none skipped
    # The three chunks served after it were 50, 30 and 10 ms late: the p99 is the worst.
    assert got["send_late_p99"] == pytest.approx(50_000.0, abs=1_500.0)
    assert not scale.passes(got, 1, SECONDS)
