"""The randomized resilience soak: seeded fault schedules over full-duplex audio sessions.

The default run does 50 schedules; `nox -s faults` does 500 (`SOAK_SCHEDULES`). Replay one
schedule with `SOAK_SEED=<seed> pytest tests/test_faults_soak.py -s`.
"""

from __future__ import annotations

import os
import statistics

import pytest

from soak import ScheduleResult, run_schedule

SCHEDULES = int(os.environ.get("SOAK_SCHEDULES", "50"))
ONLY_SEED = os.environ.get("SOAK_SEED")


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@pytest.mark.faults
def test_fault_schedules_lose_nothing_duplicate_nothing_and_never_hang() -> None:
    seeds = [int(ONLY_SEED)] if ONLY_SEED else list(range(SCHEDULES))
    results: list[ScheduleResult] = [run_schedule(seed) for seed in seeds]
    recoveries = [r for result in results for r in result.recoveries]
    failed = [result for result in results if not result.ok]
    faults = sum(len(result.faults) for result in results)
    print(
        f"\nsoak: {len(results)} schedules, {faults} faults, "
        f"{sum(r.connections for r in results)} connections, "
        f"{sum(r.chunks_sent for r in results)} audio chunks and "
        f"{sum(len(r.texts_sent) for r in results)} texts sent; "
        f"messages lost {sum(r.lost for r in results)}, "
        f"duplicated {sum(r.duplicated for r in results)}, "
        f"reported not replayed {sum(r.reported for r in results)}, "
        f"replayed and reported possibly duplicated {sum(r.possibly_duplicated for r in results)} "
        f"(judged by what the model heard; handle coverage untrue in "
        f"{sum(r.coverage_mismatches for r in results)}) "
        f"({sum(not r.transparent for r in results)} schedules in default resumption), "
        f"events out of order or repeated {sum(r.reordered_events for r in results)}, "
        f"hangs {sum(r.hung for r in results)}, "
        f"recovery time p50 {_percentile(recoveries, 0.5) * 1000:.0f} ms "
        f"p99 {_percentile(recoveries, 0.99) * 1000:.0f} ms "
        f"(mean {statistics.fmean(recoveries) * 1000 if recoveries else 0:.0f} ms, "
        f"{len(recoveries)} recoveries)"
    )
    for result in failed:
        print(f"FAILED seed {result.seed}: {result}")
    assert not failed, f"failing seeds: {[result.seed for result in failed]}"
    assert faults > 0
    assert recoveries
