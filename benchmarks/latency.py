"""Latency: a stamped frame's send on the server (loopback) to the event in the user's hands.

The server stamps each 40 ms audio frame (monotonic ns in the first PCM bytes) and, one frame
in 10, sends `interrupted` with the stamp in the same frame. 1 and 50 concurrent sessions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from ._report import Report
from .e2e import PATH, TWO_CORES, server


def _client(url: str, sessions: int, seconds: float, transport: str) -> dict[str, Any]:
    code = f"""
import json, time, trio
from benchmarks import _frames
from trio_gemini_live import SessionOptions, url_endpoint
from trio_gemini_live._events import AudioDelta, Interrupted, OutputTranscription
from trio_gemini_live._session import open_session
audio, barge = [], []
async def one():
    opts = SessionOptions(transport={transport!r})
    async with open_session(_frames.MODEL, endpoint=url_endpoint({url!r}, api_key="x"),
                            options=opts) as s:
        stamp = 0
        with trio.move_on_after({seconds}):
            async for ev in s:
                now = time.monotonic_ns()
                t = type(ev)
                if t is AudioDelta:
                    audio.append(now - _frames.read_stamp(ev.pcm))
                elif t is OutputTranscription:
                    stamp = int(ev.text[1:])
                elif t is Interrupted:
                    barge.append(now - stamp)
async def main():
    async with trio.open_nursery() as n:
        for _ in range({sessions}):
            n.start_soon(one)
trio.run(main)
print(json.dumps({{"audio": audio, "barge": barge}}))
"""
    args = ["taskset", "-c", "0"] if TWO_CORES else []
    out = subprocess.run(
        [*args, sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.splitlines()[-1])


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3


def run(report: Report, quick: bool) -> None:
    seconds = 4.0 if quick else 15.0
    with server() as port:
        url = f"ws://127.0.0.1:{port}/live/40000/10{PATH}"
        for sessions in (1, 50):
            for transport in ("websockets", "trio-websocket"):
                try:
                    got = _client(url, sessions, seconds, transport)
                except subprocess.CalledProcessError as exc:
                    print(f"  latency client failed ({sessions}, {transport}): {exc.stderr[-800:]}")
                    continue
                audio = got["audio"][sessions * 5 :]  # skip the start-up
                label = f"{sessions} session(s), {transport}"
                report.add("latency", f"arrival->event p50, {label}", _pct(audio, 0.5), "us")
                report.add(
                    "latency",
                    f"arrival->event p99, {label}",
                    _pct(audio, 0.99),
                    "us",
                    note=f"{len(audio)} frames",
                )
                if got["barge"]:
                    report.add(
                        "latency",
                        f"barge-in interrupted->event p99, {label}",
                        _pct(got["barge"], 0.99),
                        "us",
                        note=f"{len(got['barge'])}",
                    )
