"""End to end: the server process streams over loopback; each client runs in its own process.

Receive: 40 ms audio frames with 1 control frame in 10, batched (back to back), every 2 ms,
every 20 ms and real time (40 ms). Send: 20 ms chunks, burst, paced by a timer in the client
(20 ms; ours twice: the application's own `trio.sleep_until` loop, and `stream_audio`, the
library's pacing) and paced by input arriving on a pipe every 20 ms (`benchmarks._mic`: how
capture or telephony audio reaches a voice agent). Client process CPU per frame and real-time factor
(CPU / audio duration). Before it is measured each client reads a warm-up turn (or, to
send, sends a few chunks and reads their turn's end: `_frames.WARMUP_CHUNKS`), so that
first-use costs (google-genai builds its pydantic models then, about 26 ms) are charged to
no frame. Clients run round-robin, rounds repeated; the median of rounds is reported, and
ratios come from the same run.

Paced receive modes also measure lateness, for every client in the same rounds: the server
stamps each audio frame with the monotonic ns of its send, and each client subtracts it
from its own clock once it holds the frame's decoded PCM (AG2's after the user's base64
decode: AG2 hands over base64 text). The first LATE_WARMUP frames of each round are left out
(the pace settling, after the warm-up turn took the first-use costs); the rest of every
round are pooled; p50 and p99.

Floors: the same wake-ups with no client at all, on each runtime: a timer (trio's
`sleep_until` goes through a cancellation, asyncio's through a callback, a real difference
between the runtimes) or a pipe becoming readable and one read of a frame's size.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import _frames
from ._report import Report

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
CLIENTS = ["ours:websockets", "ours:trio-websocket", "genai", "ag2"]
STREAM = "ours:websockets+stream_audio"
LABEL = {
    "ours:websockets": "ours (websockets sans-IO)",
    "ours:trio-websocket": "ours (trio-websocket)",
    "genai": "google-genai",
    "ag2": "AG2 GeminiRealtimeClient",
    # The timer-paced send once more, through the library's own pacing (a timerfd on
    # Linux) instead of a loop of `trio.sleep_until` in the application.
    STREAM: "ours (websockets sans-IO), `stream_audio`",
}
FLOORS = ["floor:trio", "floor:asyncio"]
LABEL.update(
    {
        "floor:trio": "floor: trio wake-ups only",
        "floor:asyncio": "floor: asyncio wake-ups only",
    }
)
TWO_CORES = (os.cpu_count() or 1) >= 2


@contextmanager
def server() -> Iterator[int]:
    args = [sys.executable, "-m", "benchmarks._server"]
    if TWO_CORES:
        args += ["--cpu", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)


def run_client(client: str, job: dict[str, object]) -> dict[str, Any]:
    job = {**job, "cpu": 0 if TWO_CORES else None}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._clients", client, json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{client} failed: {out.stderr[-2000:]}")
    return json.loads(lines[-1])


FRAME_BYTES = len(_frames.audio_frame(40))


def _floor_rows(
    report: Report, section: str, prefix: str, per: dict[str, float], unit: str
) -> None:
    for floor in FLOORS:
        report.add(
            section,
            f"{prefix}: {LABEL[floor]}",
            per[floor],
            unit,
            per[floor] / per["genai"],
            "google-genai",
        )
    report.add(
        section,
        f"{prefix}: ours (websockets sans-IO) above trio floor",
        per["ours:websockets"] - per["floor:trio"],
        unit,
        note=f"AG2 above asyncio floor: {per['ag2'] - per['floor:asyncio']:.1f} us",
    )


def _measure(
    clients: list[str], job: dict[str, object], rounds: int
) -> dict[str, list[dict[str, Any]]]:
    """Every client once per round, round-robin: ratios compare the same conditions."""
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    for _ in range(rounds):
        for client in clients:
            results[client].append(run_client(client, job))
    return results


def _ag2_rows(report: Report, section: str, prefix: str, per: dict[str, float]) -> None:
    for client in ("ours:websockets", "ours:trio-websocket", STREAM):
        if client not in per:
            continue
        report.add(
            section,
            f"{prefix}: {LABEL[client]} vs AG2",
            per[client] / per["ag2"],
            "x",
            note="ours ÷ AG2 (below 1: less CPU than AG2)",
        )


def _median(results: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in results))


LATE_WARMUP = 5


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _lateness_rows(report: Report, prefix: str, results: dict[str, list[dict[str, Any]]]) -> None:
    """Server stamp -> decoded PCM in the client's hands, pooled over rounds (us)."""
    late = {c: [v / 1e3 for r in results[c] for v in r["late"][LATE_WARMUP:]] for c in CLIENTS}
    p50 = {c: _pct(late[c], 0.5) for c in CLIENTS}
    p99 = {c: _pct(late[c], 0.99) for c in CLIENTS}
    for client in CLIENTS:
        report.add_lateness(
            "e2e-late",
            f"{prefix}: lateness p99, {LABEL[client]}",
            p99,
            client,
            "genai",
            note=f"p50 {p50[client]:.0f} us ({p50[client] / p50['genai']:.2f}x genai's); "
            f"{len(late[client])} frames (first {LATE_WARMUP} of each round left out)",
        )
    for client in ("ours:websockets", "ours:trio-websocket"):
        report.add_lateness_vs_ag2(
            "e2e-late", f"{prefix}: lateness p99, {LABEL[client]} vs AG2", p99, p50, client, "ag2"
        )


def run(report: Report, quick: bool) -> None:
    rounds = 3 if quick else 7  # paced figures move 10-20 % between rounds on a VM
    with server() as port:
        base = f"ws://127.0.0.1:{port}"
        modes = [
            ("batched", 0, 1000 if quick else 3000),
            ("every 2 ms", 2000, 500),
            ("every 20 ms", 20000, 100 if quick else 150),
        ]
        if not quick:
            modes.append(("real time (40 ms)", 40000, 75))
        for label, interval_us, n in modes:
            job = {
                "kind": "recv",
                "url": f"{base}/recv/{n}/{interval_us}{PATH}",
                "n": n,
                "interval": interval_us / 1e6,
                "size": FRAME_BYTES,  # the floors read as much per wake-up from a pipe
            }
            clients = CLIENTS + (FLOORS if interval_us else [])
            results = _measure(clients, job, rounds)
            per = {c: _median(results[c], "cpu") / n * 1e6 for c in clients}
            audio_s = results[CLIENTS[0]][0]["audio"] * 0.04
            if interval_us:
                _lateness_rows(report, f"40 ms frames, {label}", results)
            for client in CLIENTS:
                report.add(
                    "e2e-recv",
                    f"40 ms frames, {label}: {LABEL[client]}",
                    per[client],
                    "us CPU/frame",
                    per[client] / per["genai"],
                    "google-genai",
                    note=f"RTF {_median(results[client], 'cpu') / audio_s:.5f}",
                )
            if interval_us:
                _floor_rows(report, "e2e-recv", f"40 ms frames, {label}", per, "us CPU/frame")
            _ag2_rows(report, "e2e-recv", f"40 ms frames, {label}", per)
        for label, interval, n, source in [
            ("burst", 0.0, 1000 if quick else 3000, "burst"),
            ("paced 20 ms", 0.02, 100 if quick else 150, "timer"),
            ("paced by input every 20 ms", 0.02, 100 if quick else 150, "mic"),
        ]:
            job = {
                "kind": "send",
                "n": n,
                "interval": interval,
                "source": source,
                "url": f"{base}/send/{n}{PATH}",
            }
            if source == "mic":
                job["size"] = _frames.IN_RATE * 20 // 1000 * 2  # the floor reads the same
            clients = (
                CLIENTS + (FLOORS if interval else []) + ([STREAM] if source == "timer" else [])
            )
            results = _measure(clients, job, rounds)
            per = {c: _median(results[c], "cpu") / n * 1e6 for c in clients}
            for client in CLIENTS + ([STREAM] if source == "timer" else []):
                report.add(
                    "e2e-send",
                    f"20 ms chunks, {label}: {LABEL[client]}",
                    per[client],
                    "us CPU/chunk",
                    per[client] / per["genai"],
                    "google-genai",
                )
            if interval:
                _floor_rows(report, "e2e-send", f"20 ms chunks, {label}", per, "us CPU/chunk")
            _ag2_rows(report, "e2e-send", f"20 ms chunks, {label}", per)
