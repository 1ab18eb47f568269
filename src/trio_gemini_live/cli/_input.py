"""Stream user audio into a session in small chunks, optionally at real-time speed.

Chunks of 40 ms match what voice clients send; real-time pacing follows a fixed schedule
from the first chunk (no drift), and a progress line reports long inputs as they go.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from .._session import LiveSession
from .._wav import INPUT_RATE
from ._metrics import Metrics
from ._report import Reporter

__all__ = ["Progress", "send_pcm"]

CHUNK_MS = 40


class Progress:
    """A progress line for long inputs, on the reporter's error stream.

    On a terminal the line is rewritten in place (at most every half second of audio), as
    the reporter's status line: any other output first ends it, so nothing is written onto
    its end. Otherwise a line is printed at every quarter.

    Args:
        label: what is being sent, e.g. the file name.
        total: seconds of audio in all.
        reporter: prints the line.
    """

    def __init__(self, label: str, total: float, reporter: Reporter) -> None:
        self._label = label
        self._total = total
        self._reporter = reporter
        self._tty = reporter.err_is_terminal
        self._shown = -1.0  # seconds last shown (terminal)
        self._quarter = 0.0  # last quarter printed (not a terminal)

    def update(self, sent: float) -> None:
        """Report that `sent` seconds have gone out."""
        if self._total <= 0:
            return
        fraction = min(1.0, sent / self._total)
        if self._tty:
            if sent - self._shown < 0.5 and fraction < 1.0:
                return
            self._reporter.status(
                f"sending {self._label}: {fraction:4.0%} ({sent:.1f}/{self._total:.1f} s)",
                done=fraction >= 1.0,
            )
        else:
            quarter = int(fraction * 4) / 4
            if quarter <= self._quarter:
                return
            self._quarter = quarter
            self._reporter.note(
                f"sending {self._label}: {quarter:.0%} ({sent:.1f}/{self._total:.1f} s)"
            )
        self._shown = sent


async def send_pcm(
    session: LiveSession,
    pcm: bytes,
    *,
    metrics: Metrics,
    realtime: bool = False,
    sample_rate: int = INPUT_RATE,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Send mono s16le PCM in 40 ms chunks; with `realtime`, no faster than it plays."""
    chunk = sample_rate * 2 * CHUNK_MS // 1000
    start = trio.current_time()
    sent = 0
    view = memoryview(pcm)
    while sent < len(pcm):
        if realtime:
            await trio.sleep_until(start + sent / (2 * sample_rate))
        piece = view[sent : sent + chunk]
        await session.send_audio(piece, sample_rate=sample_rate)
        sent += len(piece)
        metrics.audio_sent(len(piece))
        if progress is not None:
            progress(sent / (2 * sample_rate))
