"""Interleaved timing: candidates measured round-robin in the same process, median of rounds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved(
    candidates: dict[str, tuple[Callable[[int], None], int]], rounds: int
) -> dict[str, float]:
    """Seconds per call of each candidate `name: (fn, number)`; `fn(number)` makes the calls.

    Every round runs each candidate once, in turn (ratios compare the same conditions);
    the result is the median over rounds.
    """
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for fn, number in candidates.values():
        fn(max(1, number // 10))  # warm up
    for _ in range(rounds):
        for name, (fn, number) in candidates.items():
            t0 = time.perf_counter()
            fn(number)
            samples[name].append((time.perf_counter() - t0) / number)
    return {name: statistics.median(values) for name, values in samples.items()}
