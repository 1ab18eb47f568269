"""Scale: full-duplex real-time sessions one client process sustains on one core.

Each session sends a 20 ms 16 kHz chunk every 20 ms and receives a 40 ms audio frame every
40 ms (the server, in its own process on the other core, stamps each frame). A load passes
when the p99 lateness (server send stamp -> event in the user's loop) is under 20 ms and
every session got its frames. The search doubles, then bisects. Also reported: client CPU
per session (share of one core) and memory (RSS) per idle and per active session.

Near the limit, CPython's full collections (which walk every live task and frame) decide
where the search stops, so two remedies a many-session server can apply are measured too:
`gc.freeze()` once the sessions are open (one trial at the load that failed), and a search
in a process that raised the young generation's threshold (`gc.set_threshold(20_000)`).
"""

from __future__ import annotations

from typing import Any

from ._live import GC_THRESHOLD0
from ._report import Report
from .e2e import PATH, server
from .latency import live_client

LATENESS_US = 20_000.0


GC_LABELS = {
    None: "",
    "freeze": " after gc.freeze()",
    "threshold": f" with gc.set_threshold({GC_THRESHOLD0:_})",
}


def _trial(port: int, sessions: int, seconds: float, gc: str | None = None) -> dict[str, Any]:
    job = {
        "gc": gc,
        "url": f"ws://127.0.0.1:{port}/live/40000/0{PATH}",
        "host": "127.0.0.1",
        "port": port,
        "sessions": sessions,
        "seconds": seconds,
        "warmup": 1.5,
        "send": True,
        "timestamps": False,  # lateness needs only the server's stamp
        "stagger": 0.04 / sessions,  # phases spread over one frame interval
    }
    got = live_client(job)
    expected = sessions * seconds / 0.04
    got["ok"] = (
        got["opened"] == sessions
        and got["late_p99"] < LATENESS_US
        and got["send_late_p99"] < LATENESS_US
        and got["events"] >= 0.95 * expected
    )
    print(
        f"    {sessions:4} sessions: lateness p99 {got['late_p99'] / 1e3:7.2f} ms, "
        f"send tick p99 {got['send_late_p99'] / 1e3:7.2f} ms, "
        f"{got['events']}/{expected:.0f} frames, CPU {got['cpu'] / got['wall']:.0%}, "
        f"{got['gc_full']} full GC (longest {got['gc_full_max_ms']:.0f} ms)"
        f"{GC_LABELS[gc]} -> {'ok' if got['ok'] else 'over'}",
        flush=True,
    )
    return got


def _search(
    port: int, seconds: float, quick: bool, start: int, gc: str | None = None
) -> tuple[int, int, dict[int, dict[str, Any]]]:
    """Double from `start` until a load fails, then bisect: (best passing, first failing)."""
    results: dict[int, dict[str, Any]] = {}
    sessions = start
    while True:
        results[sessions] = _trial(port, sessions, seconds, gc)
        if not results[sessions]["ok"] or sessions >= 1600:
            break
        sessions *= 2
    good = max((n for n, r in results.items() if r["ok"]), default=0)
    bad = min((n for n, r in results.items() if not r["ok"]), default=0)
    step = max(5, good // 8) if quick else max(5, good // 16)
    while bad and bad - good > step:
        mid = (good + bad) // 2
        results[mid] = _trial(port, mid, seconds, gc)
        good, bad = (mid, bad) if results[mid]["ok"] else (good, mid)
    return good, bad, results


def _add_load(report: Report, label: str, good: int, best: dict[str, Any] | None) -> None:
    report.add(
        "scale",
        f"full-duplex real-time sessions on one core (p99 late < 20 ms){label}",
        good,
        "sessions",
        good / 200,
        "target >= 200",
        note=(f"lateness p99 {best['late_p99'] / 1e3:.1f} ms" if best else "none passed"),
    )
    if best:
        share = best["cpu"] / best["wall"] / good * 100
        report.add(
            "scale",
            f"CPU per full-duplex session (at {good}){label}",
            share,
            "% core",
            share / 2.0,
            "target < 2 %",
        )


def run(report: Report, quick: bool) -> None:
    seconds = 4.0 if quick else 8.0
    with server() as port:
        good, bad, results = _search(port, seconds, quick, 25)
        best = results.get(good)
        _add_load(report, "", good, best)
        if best:
            report.add(
                "scale",
                f"memory per active session (at {good})",
                best["rss_active"] / good / 1024,
                "KiB RSS",
            )
        if bad:
            # Full collections walk every live task and frame. At the load that failed: how
            # long they paused it, and the same trial with `gc.freeze()` once the sessions
            # are open (docs/performance.md, "Many sessions in one process").
            frozen = _trial(port, bad, seconds, "freeze")
            report.add(
                "scale",
                f"longest full GC pause at {bad} sessions",
                results[bad]["gc_full_max_ms"],
                "ms",
                note=f"{results[bad]['gc_full']} full collections in {seconds:.0f} s",
            )
            report.add(
                "scale",
                f"longest full GC pause at {bad} sessions, gc.freeze() after open",
                frozen["gc_full_max_ms"],
                "ms",
                note=(
                    f"{frozen['gc_full']} full collections; the trial "
                    f"{'passes' if frozen['ok'] else 'fails'} "
                    f"(send tick p99 {frozen['send_late_p99'] / 1e3:.1f} ms)"
                ),
            )
        # The same search in a process that raised the young generation's threshold.
        tuned, _, tuned_results = _search(port, seconds, quick, max(25, good), "threshold")
        _add_load(report, GC_LABELS["threshold"], tuned, tuned_results.get(tuned))
        idle_n = 200
        job = {"url": f"ws://127.0.0.1:{port}/send/100000000{PATH}", "sessions": idle_n}
        idle = live_client({**job, "idle": True})
        report.add(
            "scale",
            f"memory per idle session ({idle['opened']} open)",
            idle["rss"] / max(1, idle["opened"]) / 1024,
            "KiB RSS",
        )
