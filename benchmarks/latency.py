"""Latency: a frame's arrival at the client's socket to the event in the user's hands.

The server (its own process and core, loopback) streams stamped 40 ms audio frames every
40 ms and, one frame in 10, an `interrupted` frame. The client process (`_live.py`, pinned
to the other core) reads the kernel's receive timestamp of every read (`SO_TIMESTAMPNS`) and
pairs it with the event's arrival in the user's `async for` loop: p50/p99 for 1 and 50
concurrent sessions, and barge-in (`interrupted` arrival to the `Interrupted` event) p99.
Beside them, the floor (`_latency_floor.py`): the same stream read by a process running no
client at all, blocking and in a trio task, which is what waking a sleeping Python process
costs on this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from ._report import Report
from .e2e import PATH, TWO_CORES, server


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


def run(report: Report, quick: bool) -> None:
    with server() as port:
        url = f"ws://127.0.0.1:{port}/live/40000/10{PATH}"
        transports = ["websockets"] if quick else ["websockets", "trio-websocket"]
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
                    "target 1 ms" if target else "",
                    note=f"{frames}, max {got['audio_max']:.0f} us",
                )
                report.add(
                    "latency",
                    f"barge-in interrupted->event p99, {label}",
                    got["barge_p99"],
                    "us",
                    note=f"{got['barge_n']} interrupts",
                )
        # The floors: the same stream read by a process doing nothing else.
        for mode, what in (("blocking", "a blocking read"), ("trio", "a trio task's read")):
            floor = {"host": "127.0.0.1", "port": port, "path": f"/live/40000/10{PATH}"}
            floor |= {"mode": mode, "seconds": _seconds(1, quick), "warmup": 1.0}
            got = live_client(floor, "benchmarks._latency_floor")
            name = f"arrival->read returns, floor: {what}"
            report.add("latency", f"{name}, p50", got["p50"], "us")
            report.add(
                "latency",
                f"{name}, p99",
                got["p99"],
                "us",
                note=f"{got['frames']} frames, max {got['max']:.0f} us; no client code",
            )
