"""Scale: full-duplex real-time sessions one client process sustains on one core.

Each session sends a 20 ms 16 kHz chunk every 20 ms and receives a 40 ms audio frame every
40 ms (the server, in its own process on the other core, stamps each frame). A load passes
when the p99 lateness (server send stamp -> event in the user's loop) is under 20 ms and
every session got its frames. The search doubles, then bisects. Also reported: client CPU
per session (share of one core) and memory (RSS) per idle and per active session.
"""

from __future__ import annotations

from typing import Any

from ._report import Report
from .e2e import PATH, server
from .latency import live_client

LATENESS_US = 20_000.0


def _trial(port: int, sessions: int, seconds: float, gc_freeze: bool = False) -> dict[str, Any]:
    job = {
        "gc_freeze": gc_freeze,
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
        f"{' after gc.freeze()' if gc_freeze else ''} -> {'ok' if got['ok'] else 'over'}",
        flush=True,
    )
    return got


def run(report: Report, quick: bool) -> None:
    seconds = 4.0 if quick else 8.0
    with server() as port:
        results: dict[int, dict[str, Any]] = {}
        sessions = 25
        while True:  # double until a load fails
            results[sessions] = _trial(port, sessions, seconds)
            if not results[sessions]["ok"] or sessions >= 1600:
                break
            sessions *= 2
        good = max((n for n, r in results.items() if r["ok"]), default=0)
        bad = min((n for n, r in results.items() if not r["ok"]), default=0)
        step = max(5, good // 8) if quick else max(5, good // 16)
        while bad and bad - good > step:  # bisect to `step`
            mid = (good + bad) // 2
            results[mid] = _trial(port, mid, seconds)
            good, bad = (mid, bad) if results[mid]["ok"] else (good, mid)
        best = results.get(good)
        report.add(
            "scale",
            "full-duplex real-time sessions on one core (p99 late < 20 ms)",
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
                f"CPU per full-duplex session (at {good})",
                share,
                "% core",
                share / 2.0,
                "target < 2 %",
            )
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
            frozen = _trial(port, bad, seconds, gc_freeze=True)
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
        idle_n = 200
        job = {"url": f"ws://127.0.0.1:{port}/send/100000000{PATH}", "sessions": idle_n}
        idle = live_client({**job, "idle": True})
        report.add(
            "scale",
            f"memory per idle session ({idle['opened']} open)",
            idle["rss"] / max(1, idle["opened"]) / 1024,
            "KiB RSS",
        )
