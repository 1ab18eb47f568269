"""Latency: a frame's arrival at the client's socket to the event in the user's hands.

The server (its own process and core, loopback) streams stamped 40 ms audio frames every
40 ms and, one frame in 10, an `interrupted` frame. The client process (`_live.py`, pinned
to the other core) reads the kernel's receive timestamp of every read (`SO_TIMESTAMPNS`) and
pairs it with the event's arrival in the user's `async for` loop: p50/p99 for 1 and 50
concurrent sessions, and barge-in (`interrupted` arrival to the `Interrupted` event) p99.
Beside them, the floor (`_latency_floor.py`): the same stream read by a process running no
client at all, blocking and in a trio task, which is what waking a sleeping Python process
costs on this machine. Ours's one-session run (websockets, kernel timestamps) and the two
floors run interleaved (`with_floors`): in rounds, one run of each in turn, samples pooled.

The kernel timestamps need a socket of the benchmark's own (`TimestampStream`, handed to the
library as a `connector`), and with any stream that is not a plain `trio.SocketStream` the
transport takes its generic read path, not the direct socket reads users get. So those runs
give arrival->event and lateness (server send stamp -> event) through the generic path, and
one more run per session count uses the default connector (the library's own TCP stream,
the direct socket path users get) and gives lateness only: no kernel timestamp there.
Google-genai's and AG2's lateness, measured in the same rounds as ours, is in `e2e`
(`e2e-late` rows, one session) and here at a fixed load: FIXED_LOAD receive-only real-time
sessions in one process, for each client (`live:<client>` in `_clients.py`, ours with the
default connector), rounds interleaved: lateness (server stamp -> decoded PCM in hand) and
CPU per session, each as a ratio to google-genai's and ours to AG2's.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from ._latency_floor import floor_percentiles
from ._live import percentiles
from ._report import Report
from .e2e import PATH, TWO_CORES, run_client, server

FIXED_LOAD = 20  # sessions per client process in the peers' comparison
PEERS = {"live:ours": "ours (websockets sans-IO)", "live:genai": "google-genai", "live:ag2": "AG2"}


def live_client(job: dict[str, Any], module: str = "benchmarks._live") -> dict[str, Any]:
    job = {**job, "cpu": 0 if TWO_CORES else None}
    out = subprocess.run(
        [sys.executable, "-m", module, json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise RuntimeError(f"{module} failed: {out.stderr[-1500:]}")
    return json.loads(lines[-1])


def _seconds(sessions: int, quick: bool) -> float:
    """How long each run streams: a p99 needs a few hundred samples beyond its percentile.

    One session gets 25 frames and 2.5 interrupts a second: 60 s gives 1350 frames and 150
    interrupts, so a p99 is the 14th-worst frame, and not moved by one slow wake-up of the
    host. Fifty sessions give fifty times as many samples in a fifth of the time.
    """
    if quick:
        return 4.0
    return 60.0 if sessions == 1 else 12.0


ROUNDS = 3  # ours's one-session run and the floors', each split into as many, in turn
FLOOR_MODES = {"blocking": "a blocking read", "trio": "a trio task's read"}
FLOOR_MODULE = "benchmarks._latency_floor"


def with_floors(
    job: dict[str, Any],
    floor_job: dict[str, Any],
    rounds: int,
    run: Callable[..., dict[str, Any]] = live_client,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Ours (`job`) and each floor, interleaved: `rounds` rounds of one run of each in turn.

    Each run streams `1/rounds` of its `seconds`; the samples of every round are pooled, so
    each percentile is over as many frames as one run of the whole length would give, and
    the host's quiet and busy stretches fall on ours and the floors alike. Returns ours's
    figures (as `_live.run` gives them) and each floor's (as `_latency_floor` gives them).
    """
    ours: list[dict[str, Any]] = []
    floors: dict[str, list[dict[str, Any]]] = {mode: [] for mode in FLOOR_MODES}
    for _ in range(rounds):
        ours.append(run({**job, "seconds": job["seconds"] / rounds, "raw": True}))
        for mode, runs in floors.items():
            part = {**floor_job, "mode": mode, "seconds": floor_job["seconds"] / rounds}
            runs.append(run({**part, "raw": True}, FLOOR_MODULE))
    samples = {key: [x for one in ours for x in one.pop(key)] for key in ("audio", "barge", "late")}
    counts = {key: sum(one[key] for one in ours) for key in ("events", "dropped", "unmatched")}
    pooled = {**ours[-1], **counts, **percentiles(**samples)}  # other keys: the last round's
    return pooled, {
        mode: floor_percentiles([x for one in runs for x in one.pop("latencies")])
        for mode, runs in floors.items()
    }


def _lateness(report: Report, label: str, got: dict[str, Any]) -> None:
    """Server send stamp -> event in the user's loop (loopback, kernel and client backlog)."""
    report.add("latency", f"lateness p50, {label}", got["late_p50"], "us")
    report.add(
        "latency",
        f"lateness p99, {label}",
        got["late_p99"],
        "us",
        note=f"{got['events']} events (audio and barge-in)",
    )


def _fixed_load(report: Report, port: int, quick: bool) -> None:
    """Every client at the same load, rounds interleaved; medians of the rounds."""
    job = {
        "url": f"ws://127.0.0.1:{port}/live/40000/0{PATH}",
        "sessions": FIXED_LOAD,
        "seconds": 3.0 if quick else 8.0,
        "warmup": 1.0,
    }
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in PEERS}
    for _ in range(1 if quick else 3):
        for client in PEERS:
            runs[client].append(run_client(client, job))

    def median(client: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[client]))

    p50 = {c: median(c, "late_p50") for c in PEERS}
    p99 = {c: median(c, "late_p99") for c in PEERS}
    cpu = {
        c: statistics.median(r["cpu"] / r["wall"] * 100 / FIXED_LOAD for r in runs[c])
        for c in PEERS
    }
    prefix = f"{FIXED_LOAD} sessions, 40 ms frames in real time, receive only"
    for client, label in PEERS.items():
        got = runs[client]
        events = sum(r["events"] for r in got)
        opened = min(r["opened"] for r in got)
        report.add_lateness(
            "latency",
            f"{prefix}: lateness p99, {label}",
            p99,
            client,
            "live:genai",
            note=f"p50 {p50[client]:.0f} us; {events} frames; {opened} opened",
        )
        report.add(
            "latency",
            f"{prefix}: CPU per session, {label}",
            cpu[client],
            "% core",
            cpu[client] / cpu["live:genai"],
            "google-genai",
        )
    ours = "live:ours"
    report.add_lateness_vs_ag2(
        "latency", f"{prefix}: lateness p99, ours vs AG2", p99, p50, ours, "live:ag2"
    )
    report.add(
        "latency",
        f"{prefix}: CPU per session, ours vs AG2",
        cpu[ours] / cpu["live:ag2"],
        "x",
        note="ours ÷ AG2 (below 1: less CPU than AG2)",
    )


def run(report: Report, quick: bool) -> None:
    with server() as port:
        url = f"ws://127.0.0.1:{port}/live/40000/10{PATH}"
        transports = ["websockets"] if quick else ["websockets", "trio-websocket"]
        floor_job = {"host": "127.0.0.1", "port": port, "path": f"/live/40000/10{PATH}"}
        floor_job |= {"seconds": _seconds(1, quick), "warmup": 1.0}
        floors: dict[str, dict[str, Any]] = {}
        for sessions in (1, 50):
            for transport in transports:
                job = {
                    "url": url,
                    "host": "127.0.0.1",
                    "port": port,
                    "sessions": sessions,
                    "seconds": _seconds(sessions, quick),
                    "transport": transport,
                }
                if sessions == 1 and transport == "websockets":
                    # Ours against the floors: in the same rounds, in turn.
                    got, floors = with_floors(job, floor_job, ROUNDS)
                else:
                    got = live_client(job)
                label = f"{sessions} session{'s' if sessions > 1 else ''}, {transport}"
                frames = f"{got['events'] - got['barge_n']} frames"
                report.add("latency", f"arrival->event p50, {label}", got["audio_p50"], "us")
                target = 1000.0 if sessions == 1 and transport == "websockets" else None
                report.add(
                    "latency",
                    f"arrival->event p99, {label}",
                    got["audio_p99"],
                    "us",
                    got["audio_p99"] / target if target else None,
                    "target < 1 ms" if target else "",
                    note=f"{frames}, max {got['audio_max']:.0f} us",
                )
                report.add(
                    "latency",
                    f"barge-in interrupted->event p99, {label}",
                    got["barge_p99"],
                    "us",
                    note=f"{got['barge_n']} interrupts",
                )
                _lateness(report, f"{label}, TimestampStream connector (generic path)", got)
                if transport == "websockets":
                    # The path users get: the library opens its own TCP stream and reads
                    # the socket directly. No kernel timestamps: lateness only.
                    direct = live_client({**job, "timestamps": False})
                    _lateness(report, f"{label}, default connector (direct path)", direct)
        # The floors: the same stream read by a process doing nothing else (measured in
        # turn with ours's one-session run above).
        for mode, what in FLOOR_MODES.items():
            got = floors[mode]
            name = f"arrival->read returns, floor: {what}"
            report.add("latency", f"{name}, p50", got["p50"], "us")
            report.add(
                "latency",
                f"{name}, p99",
                got["p99"],
                "us",
                note=f"{got['frames']} frames, max {got['max']:.0f} us; no client code",
            )
        # Ours and the peers at one fixed load, in the same rounds.
        _fixed_load(report, port, quick)
