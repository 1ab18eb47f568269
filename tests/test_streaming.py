"""`LiveSession.stream_audio`: chunks sent at the pace they would play, and the pacer under it.

The session tests run on virtual time against the in-memory emulator: the emulator stamps
each frame it reads, so the spacing of the stamps is the pacing. The timerfd pacer works
on the kernel's clock only, so its own tests run a few milliseconds of real time and
check only that it never wakes early (lateness under load is allowed).
"""

from __future__ import annotations

import array
import ctypes
import itertools
import math
import sys
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from trio_gemini_live import LocalProtocolError, live_setup
from trio_gemini_live._pacer import open_pacer
from trio_gemini_live.emulator import Emulator, open_emulator

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
MS_20 = bytes(640)  # 20 ms at 16 kHz


def _audio_times(emulator: Emulator) -> list[float]:
    (connection,) = emulator.connections
    return [f.time for f in connection.received if f.get("realtimeInput.audio") is not None]


async def _stream(emulator: Emulator, chunks: object, **kwargs: object) -> int:
    async with emulator.open_session(live_setup(MODEL), api_key="k") as session:
        sent = await session.stream_audio(chunks, **kwargs)  # type: ignore[arg-type]
        await trio.sleep(0.1)  # the last frames reach the emulator
    return sent


def _gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


async def test_chunks_go_out_at_the_pace_they_play(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sizes = [640, 320, 960, 640, 640]  # 20, 10, 30, 20, 20 ms
    async with open_emulator() as emulator:
        sent = await _stream(emulator, [bytes(size) for size in sizes])
    assert sent == 5
    assert _gaps(_audio_times(emulator)) == [0.02, 0.01, 0.03, 0.02]


async def test_the_sample_rate_sets_the_duration_of_a_chunk(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator:
        await _stream(emulator, [MS_20, MS_20, MS_20], sample_rate=32000)  # 10 ms each
    assert _gaps(_audio_times(emulator)) == [0.01, 0.01]


async def test_without_realtime_the_chunks_go_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator:
        await _stream(emulator, [MS_20] * 10, realtime=False)
    times = _audio_times(emulator)
    assert len(times) == 10
    assert times[-1] - times[0] < 0.001


async def test_a_late_chunk_from_an_async_source_goes_at_once_and_the_rest_catch_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def source() -> AsyncIterator[memoryview]:
        for index in range(6):
            if index == 3:
                await trio.sleep(0.1)  # 40 ms behind the schedule once it arrives
            yield memoryview(MS_20)

    async with open_emulator() as emulator:
        assert await _stream(emulator, source()) == 6
    assert _gaps(_audio_times(emulator)) == [0.02, 0.02, 0.1, 0.0, 0.0]


@pytest.mark.parametrize("lead", [None, b""], ids=["nothing", "an empty chunk"])
async def test_a_source_slow_to_start_is_paced_from_its_first_chunk(
    autojump_clock: trio.testing.MockClock, lead: bytes | None
) -> None:
    """The first chunk comes after 1 s (speech synthesis warming up), then 20 ms chunks.

    The schedule began at the call, so the first second of audio went out at once with
    the first chunk, 50 chunks ahead of play time; an empty chunk first (which sends
    nothing) must not start it either.
    """

    async def source() -> AsyncIterator[bytes]:
        if lead is not None:
            yield lead
        await trio.sleep(1)
        for _ in range(10):
            yield MS_20

    async with open_emulator() as emulator:
        assert await _stream(emulator, source()) == 10
    assert _gaps(_audio_times(emulator)) == [0.02] * 9


def test_a_stream_left_early_leaves_no_generator_to_the_garbage_collector() -> None:
    """A refused chunk of a list: the wrapper made of it was finalized by the collector.

    trio warned "Async generator ... was garbage collected before it had been exhausted".
    """
    import gc
    import warnings

    async def main() -> None:
        async with open_emulator() as emulator:
            with pytest.raises(LocalProtocolError, match="even number of bytes"):
                await _stream(emulator, [MS_20, bytes(3), MS_20])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_chunks_of_16_bit_samples_are_paced_by_their_size_in_bytes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    chunk = array.array("h", [0] * 320)  # 20 ms at 16 kHz: 640 bytes, though len() is 320
    async with open_emulator() as emulator:
        assert await _stream(emulator, [chunk, memoryview(chunk), chunk]) == 3
    assert _gaps(_audio_times(emulator)) == [0.02, 0.02]


async def test_a_two_dimensional_buffer_is_streamed_a_row_a_chunk(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # One buffer of samples is refused (pass [pcm]); one of frames, as a 2-D NumPy array
    # is, iterates over them.
    frames = ((ctypes.c_int16 * 320) * 3)()  # 3 rows of 20 ms at 16 kHz
    async with open_emulator() as emulator:
        assert await _stream(emulator, frames) == 3
    assert _gaps(_audio_times(emulator)) == [0.02, 0.02]


async def test_bad_input_is_refused_with_a_clear_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator:
        with pytest.raises(LocalProtocolError, match="sample_rate"):
            await _stream(emulator, [MS_20], sample_rate=0)
        with pytest.raises(LocalProtocolError, match="even number of bytes"):
            await _stream(emulator, [bytes(3)])


async def test_virtual_time_uses_trios_own_timer(autojump_clock: trio.testing.MockClock) -> None:
    with open_pacer() as pacer:
        assert type(pacer).__name__ == "_TrioPacer"
        start = trio.current_time()
        await pacer.sleep_until(start + 5)
        assert trio.current_time() == start + 5


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="timerfd is Linux's; elsewhere trio's timer"
)


@linux_only
def test_the_timerfd_pacer_never_wakes_early_and_survives_a_cancelled_wait() -> None:
    async def main() -> None:
        with open_pacer() as pacer:
            assert type(pacer).__name__ == "_TimerfdPacer"
            for _ in range(3):
                deadline = trio.current_time() + 0.004
                await pacer.sleep_until(deadline)
                assert trio.current_time() >= deadline
            with trio.move_on_after(0.002) as scope:
                await pacer.sleep_until(trio.current_time() + 60)
            assert scope.cancelled_caught
            deadline = trio.current_time() + 0.004
            await pacer.sleep_until(deadline)  # the cancelled arming left nothing behind
            assert trio.current_time() >= deadline
            with trio.testing.assert_checkpoints():
                await pacer.sleep_until(trio.current_time() - 1)  # passed: no wait

    trio.run(main)


@linux_only
def test_stream_audio_on_the_system_clock_paces_with_the_timerfd() -> None:
    async def main() -> list[float]:
        async with open_emulator() as emulator:
            start = trio.current_time()
            await _stream(emulator, [bytes(160)] * 8)  # 5 ms each
            return [t - start for t in _audio_times(emulator)]

    times = trio.run(main)
    assert len(times) == 8
    for index, at in enumerate(times):
        assert at >= index * 0.005  # read by the emulator no sooner than sent


@linux_only
@pytest.mark.parametrize("python", ["3.13+", "ctypes"])
def test_a_timerfd_that_cannot_be_created_falls_back_to_trios_timer(
    monkeypatch: pytest.MonkeyPatch, python: str
) -> None:
    import os

    from trio_gemini_live import _pacer

    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError(24, "Too many open files")

    if python == "3.13+":
        monkeypatch.setattr(os, "timerfd_create", refuse, raising=False)
        monkeypatch.setattr(os, "timerfd_settime", refuse, raising=False)
        for name in ("TFD_NONBLOCK", "TFD_CLOEXEC", "TFD_TIMER_ABSTIME"):
            monkeypatch.setattr(os, name, 1, raising=False)
    else:
        monkeypatch.delattr(os, "timerfd_create", raising=False)
        monkeypatch.setattr(_pacer._Libc, "create", lambda self: refuse())  # pyright: ignore[reportPrivateUsage]

    async def main() -> None:
        with open_pacer() as pacer:
            assert type(pacer).__name__ == "_TrioPacer"
            deadline = trio.current_time() + 0.002
            await pacer.sleep_until(deadline)
            assert trio.current_time() >= deadline

    trio.run(main)


@linux_only
@pytest.mark.parametrize("deadline", [math.inf, 1e300])
def test_the_timerfd_pacer_waits_forever_for_an_infinite_deadline(deadline: float) -> None:
    # Arming the timerfd at `inf` raised OverflowError, where trio's timer (the fallback
    # pacer) waits until cancelled.
    async def main() -> None:
        with open_pacer() as pacer:
            assert type(pacer).__name__ == "_TimerfdPacer"
            with trio.CancelScope() as scope:
                scope.cancel()  # the wait returns at its first checkpoint
                await pacer.sleep_until(deadline)
            assert scope.cancelled_caught
            with pytest.raises(ValueError, match="NaN"):
                await pacer.sleep_until(math.nan)

    trio.run(main)


@pytest.mark.parametrize("clock", ["system", "mock"])
def test_a_pacer_kept_past_its_block_is_refused(clock: str) -> None:
    # The timerfd pacer's fd is closed then: arming it raised a bare OSError (EBADF), or,
    # once the number was reused, armed whatever file had it. Both kinds refuse alike.
    async def main() -> None:
        with open_pacer() as pacer:
            await pacer.sleep_until(trio.current_time())
        with pytest.raises(trio.ClosedResourceError, match="open_pacer"):
            await pacer.sleep_until(trio.current_time() + 0.001)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0) if clock == "mock" else None)


async def test_the_count_returned_leaves_out_the_empty_chunks_that_send_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator:
        sent = await _stream(emulator, [MS_20, b"", bytearray(), MS_20, memoryview(b"")])
    assert sent == 2
    assert len(_audio_times(emulator)) == 2
