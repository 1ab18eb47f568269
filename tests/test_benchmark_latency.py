"""The latency benchmark measures ours and the floors in the same rounds (benchmarks/latency.py).

Ours's one-session run is compared with the floors (the same stream read by no client), so
they run interleaved, one run of each in turn, and each percentile pools every round's
samples. A fake `run` stands in for the client processes.
"""

from __future__ import annotations

from typing import Any

from benchmarks import latency
from benchmarks._live import pct

JOB = {"seconds": 60.0, "sessions": 1}
FLOOR_JOB = {"seconds": 60.0, "warmup": 1.0}


def test_ours_and_the_floors_run_in_turn_and_their_samples_are_pooled() -> None:
    calls: list[tuple[str, float]] = []

    def run(job: dict[str, Any], module: str = "benchmarks._live") -> dict[str, Any]:
        n = len(calls)
        what = job.get("mode", "ours")
        calls.append((what, job["seconds"]))
        assert job["raw"]
        if module == latency.FLOOR_MODULE:
            return {"latencies": [1000 * n, 1000 * n + 1]}
        audio = [1000 * n + k for k in range(50)]
        late = [2 * x for x in audio]
        counts = {"events": 51, "dropped": 0, "unmatched": 1, "cpu": 0.1}
        return {"audio": audio, "barge": [7000 * n], "late": late, **counts}

    ours, floors = latency.with_floors(JOB, FLOOR_JOB, 3, run)
    assert calls == [("ours", 20.0), ("blocking", 20.0), ("trio", 20.0)] * 3
    audio = [1000 * n + k for n in (0, 3, 6) for k in range(50)]
    assert ours["audio_p99"] == pct(audio, 0.99)
    assert ours["late_p50"] == pct([2 * x for x in audio], 0.5)
    assert (ours["barge_n"], ours["events"], ours["unmatched"]) == (3, 153, 3)
    assert floors["blocking"]["frames"] == 6
    assert floors["trio"]["p99"] == pct([2000, 2001, 5000, 5001, 8000, 8001], 0.99)
