"""What a session did, measured for the closing summary: latency, audio each way, CPU.

Time to first audio runs from the moment the end of the user's input (the last chunk of
speech, or a text message) was sent to the first `AudioDelta` after it; the summary shows
the first turn's. CPU per frame is process CPU time over frames received.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .._session import SessionStatistics

__all__ = ["Metrics", "Summary"]


@dataclass
class Metrics:
    """Counters updated while a session runs (all times from `time.perf_counter`)."""

    audio_in_bytes: int = 0
    audio_in_rate: int = 16_000
    audio_out_bytes: int = 0
    audio_out_rate: int = 24_000
    turns: int = 0
    interruptions: int = 0
    tool_calls: int = 0
    first_audio_latencies: list[float] = field(default_factory=list[float])
    _awaiting_audio_since: float | None = None
    _cpu_start: float = 0.0
    _wall_start: float = 0.0

    def start(self) -> None:
        """Start the CPU and wall clocks."""
        self._cpu_start = time.process_time()
        self._wall_start = time.perf_counter()

    def audio_sent(self, nbytes: int) -> None:
        """Count user audio (16-bit mono at `audio_in_rate`) handed to the session."""
        self.audio_in_bytes += nbytes

    def user_input_ended(self) -> None:
        """The end of the user's input (speech or text) was sent: start the first-audio clock."""
        self._awaiting_audio_since = time.perf_counter()

    def audio_received(self, nbytes: int, sample_rate: int) -> None:
        """Count model audio; stop the time-to-first-audio clock if it runs."""
        self.audio_out_rate = sample_rate
        self.audio_out_bytes += nbytes
        if self._awaiting_audio_since is not None:
            self.first_audio_latencies.append(time.perf_counter() - self._awaiting_audio_since)
            self._awaiting_audio_since = None

    @property
    def audio_in_seconds(self) -> float:
        """Seconds of user audio sent."""
        return self.audio_in_bytes / (2 * self.audio_in_rate)

    @property
    def audio_out_seconds(self) -> float:
        """Seconds of model audio received."""
        return self.audio_out_bytes / (2 * self.audio_out_rate)

    def summary(self, stats: SessionStatistics) -> Summary:
        """Freeze the numbers (call once the session is over)."""
        cpu = time.process_time() - self._cpu_start
        return Summary(
            wall_seconds=time.perf_counter() - self._wall_start,
            cpu_seconds=cpu,
            first_audio_latency=self.first_audio_latencies[0]
            if self.first_audio_latencies
            else None,
            audio_in_seconds=self.audio_in_seconds,
            audio_out_seconds=self.audio_out_seconds,
            frames_sent=stats.frames_sent,
            frames_received=stats.frames_received,
            bytes_sent=stats.bytes_sent,
            bytes_received=stats.bytes_received,
            turns=self.turns,
            interruptions=self.interruptions,
            tool_calls=self.tool_calls,
        )


@dataclass(frozen=True)
class Summary:
    """The closing numbers of a session."""

    wall_seconds: float
    cpu_seconds: float
    first_audio_latency: float | None
    audio_in_seconds: float
    audio_out_seconds: float
    frames_sent: int
    frames_received: int
    bytes_sent: int
    bytes_received: int
    turns: int
    interruptions: int
    tool_calls: int

    @property
    def cpu_per_frame(self) -> float | None:
        """CPU seconds per frame received (None before any frame)."""
        return self.cpu_seconds / self.frames_received if self.frames_received else None

    def lines(self, *, cpu_note: str = "") -> list[str]:
        """The summary as short `name: value` lines."""
        latency = (
            f"{self.first_audio_latency * 1000:.1f} ms"
            if self.first_audio_latency is not None
            else "n/a (no audio answer)"
        )
        per_frame = (
            f"{self.cpu_per_frame * 1e6:.0f} us{cpu_note}"
            if self.cpu_per_frame is not None
            else "n/a"
        )
        return [
            f"time to first audio: {latency}",
            f"audio sent:          {self.audio_in_seconds:.2f} s (16 kHz mono)",
            f"audio received:      {self.audio_out_seconds:.2f} s (24 kHz mono)",
            f"frames:              {self.frames_sent} sent ({self.bytes_sent / 1024:.0f} KiB), "
            f"{self.frames_received} received ({self.bytes_received / 1024:.0f} KiB)",
            f"turns:               {self.turns} completed, {self.interruptions} interrupted, "
            f"{self.tool_calls} tool call(s)",
            f"CPU per frame:       {per_frame}",
            f"wall time:           {self.wall_seconds:.2f} s (CPU {self.cpu_seconds:.2f} s)",
        ]
