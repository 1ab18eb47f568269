"""Scale: full-duplex real-time sessions one client process sustains on one core.

Each session sends a 20 ms 16 kHz chunk every 20 ms and receives a 40 ms audio frame every
40 ms (the server, in its own process on the other core, stamps each frame). A load passes
when the p99 lateness (server send stamp -> event in the user's loop) and the p99 lateness
of the sends (the audio clock's tick -> the chunk's send) are under 20 ms, every session got
its frames and every chunk due was sent (`passes`). A chunk whose tick passed while the
session's previous send still ran is sent late, right after, with its lateness recorded
(`_live.send_every_period`). The search doubles, then bisects. Also reported: client CPU
per session (share of one core) and memory (RSS) per idle and per active session.

Near the limit, CPython's full collections (which walk every live task and frame) decide
where the search stops, so two remedies a many-session server can apply are measured too:
`gc.freeze()` once the sessions are open (one trial at the load that failed), and a search
in a process that raised the young generation's threshold (`gc.set_threshold(20_000)`).

The two searches (default GC and raised threshold) start at the same load and double on the
same grid, and run interleaved, one trial of each in turn, so that neither gets more draws
near its limit or a quieter stretch of the machine. CPU per session is compared at one load:
the raised threshold's is also measured at the default's best load (one more trial).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ._live import GC_THRESHOLD0
from ._report import Report
from .e2e import PATH, server
from .latency import live_client

LATENESS_US = 20_000.0
SEND_PERIOD = 0.02  # each session sends a 20 ms chunk every 20 ms
FRAME_PERIOD = 0.04  # and receives a 40 ms frame every 40 ms


def sends_due(got: dict[str, Any], sessions: int) -> float:
    """The chunks the sessions had to send in the trial's measured window (`wall`)."""
    return sessions * got["wall"] / SEND_PERIOD


def passes(got: dict[str, Any], sessions: int, seconds: float) -> bool:
    """Whether a trial (`_live.run`'s result) held real time, both ways, for every session.

    Every session opened; the p99 lateness of received frames and of sent chunks under 20
    ms; at least 95 % of the frames arrived; and every chunk due was sent: a session that
    falls behind sends its late chunks after their ticks (`_live.send_every_period`), so its
    count comes short of the window's ticks. One chunk per session is allowed for the window's
    edges (a chunk due just before its end is sent just after).
    """
    return bool(
        got["opened"] == sessions
        and got["late_p99"] < LATENESS_US
        and got["send_late_p99"] < LATENESS_US
        and got["events"] >= 0.95 * sessions * seconds / FRAME_PERIOD
        and got["sends"] >= sends_due(got, sessions) - sessions
    )


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
    try:
        got = live_client(job)
    except RuntimeError as exc:
        if "took longer than" not in str(exc):
            raise
        # A session could not even connect within its `connect_timeout` (10 s): the process
        # is past what it sustains. Over, with nothing else measured.
        print(f"    {sessions:4} sessions{GC_LABELS[gc]}: could not open them all -> over")
        return {"ok": False, "unopened": True}
    expected = sessions * seconds / FRAME_PERIOD
    got["ok"] = passes(got, sessions, seconds)
    print(
        f"    {sessions:4} sessions: lateness p99 {got['late_p99'] / 1e3:7.2f} ms, "
        f"send tick p99 {got['send_late_p99'] / 1e3:7.2f} ms, "
        f"{got['sends']}/{sends_due(got, sessions):.0f} sends, "
        f"{got['events']}/{expected:.0f} frames, CPU {got['cpu'] / got['wall']:.0%}, "
        f"{got['gc_full']} full GC (longest {got['gc_full_max_ms']:.0f} ms)"
        f"{GC_LABELS[gc]} -> {'ok' if got['ok'] else 'over'}",
        flush=True,
    )
    return got


START = 50  # both searches' first load; they double from it on the same grid

Search = Generator[int, dict[str, Any], tuple[int, int]]


def _search(quick: bool, start: int, results: dict[int, dict[str, Any]]) -> Search:
    """Double from `start` until a load fails, then bisect: (best passing, first failing).

    A generator: it yields each load to try and is sent that trial's result, so that two
    searches can be run interleaved (`_searches`).
    """
    sessions = start
    while True:
        results[sessions] = yield sessions
        if not results[sessions]["ok"] or sessions >= 1600:
            break
        sessions *= 2
    good = max((n for n, r in results.items() if r["ok"]), default=0)
    bad = min((n for n, r in results.items() if not r["ok"]), default=0)
    step = max(5, good // 8) if quick else max(5, good // 16)
    while bad and bad - good > step:
        mid = (good + bad) // 2
        results[mid] = yield mid
        good, bad = (mid, bad) if results[mid]["ok"] else (good, mid)
    return good, bad


def _searches(
    port: int, seconds: float, quick: bool, settings: list[str | None]
) -> dict[str | None, tuple[int, int, dict[int, dict[str, Any]]]]:
    """One search per GC setting, from the same start, one trial of each in turn."""
    results: dict[str | None, dict[int, dict[str, Any]]] = {gc: {} for gc in settings}
    searches = {gc: _search(quick, START, results[gc]) for gc in settings}
    pending = {gc: next(search) for gc, search in searches.items()}
    found: dict[str | None, tuple[int, int]] = {}
    while pending:
        for gc in list(pending):
            got = _trial(port, pending[gc], seconds, gc)
            try:
                pending[gc] = searches[gc].send(got)
            except StopIteration as done:
                found[gc] = done.value
                del pending[gc]
    return {gc: (*found[gc], results[gc]) for gc in settings}


def _cpu_share(trial: dict[str, Any], sessions: int) -> float:
    """The client process's CPU per session, in % of one core."""
    return float(trial["cpu"] / trial["wall"] / sessions * 100)


def _add_load(report: Report, label: str, good: int, best: dict[str, Any] | None) -> None:
    report.add(
        "scale",
        f"full-duplex real-time sessions on one core (p99 late < 20 ms){label}",
        good,
        "sessions",
        good / 200,
        "target >= 200",
        note=(
            f"lateness p99 {best['late_p99'] / 1e3:.1f} ms, send tick p99 "
            f"{best['send_late_p99'] / 1e3:.1f} ms, "
            f"{best['sends']}/{sends_due(best, good):.0f} chunks sent"
            if best
            else "none passed"
        ),
    )
    if best:
        share = _cpu_share(best, good)
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
        # Both searches interleaved, from the same start on the same grid.
        found = _searches(port, seconds, quick, [None, "threshold"])
        good, bad, results = found[None]
        tuned, _, tuned_results = found["threshold"]
        best = results.get(good)
        _add_load(report, "", good, best)
        if best:
            report.add(
                "scale",
                f"memory per active session (at {good})",
                best["rss_active"] / good / 1024,
                "KiB RSS",
            )
        if bad and not results[bad].get("unopened"):
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
            if not frozen.get("unopened"):
                report.add(
                    "scale",
                    f"longest full GC pause at {bad} sessions, gc.freeze() after open",
                    frozen["gc_full_max_ms"],
                    "ms",
                    note=(
                        f"{frozen['gc_full']} full collections; the trial "
                        f"{'passes' if frozen['ok'] else 'fails'} "
                        f"(send tick p99 {frozen['send_late_p99'] / 1e3:.1f} ms, "
                        f"{frozen['sends']}/{sends_due(frozen, bad):.0f} chunks sent)"
                    ),
                )
        # The search in processes that raised the young generation's threshold.
        _add_load(report, GC_LABELS["threshold"], tuned, tuned_results.get(tuned))
        if best:
            # CPU per session like for like: the raised threshold at the default's best load
            # (a trial of the search if it tried that load, else one more trial now).
            same = tuned_results.get(good) or _trial(port, good, seconds, "threshold")
            if same.get("unopened"):
                same = _trial(port, good, seconds, "threshold")  # once more, as it opened before
            default_share = _cpu_share(best, good)
            share = _cpu_share(same, good)
            report.add(
                "scale",
                f"CPU per full-duplex session at {good} (the default's best)"
                f"{GC_LABELS['threshold']}",
                share,
                "% core",
                share / default_share,
                f"default GC at {good} ({default_share:.3f} %)",
                note=(
                    "raised ÷ default threshold, same load (below 1: less CPU); "
                    f"that trial {'passed' if same['ok'] else 'failed'}"
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
