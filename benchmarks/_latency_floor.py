"""The latency floor: a bare socket read, no client: `python -m benchmarks._latency_floor JOB`.

The same stream as the latency scenario (stamped 40 ms frames from `_server.py`'s `/live/`),
read by a process that does nothing else: the WebSocket upgrade and one `setup` message
(framed by wsproto, as the server's are), then `recvmsg` in a loop, the time taken as soon as
each read returns. Arrival (the kernel's `SO_TIMESTAMPNS`) to that moment is what waking a
sleeping Python process on this machine costs, before any client code runs:

- `blocking`: a blocking `recvmsg` (the thread sleeps in the kernel; no event loop);
- `trio`: one trio task awaiting `recvmsg` (trio's run loop: epoll, then the task step).

Prints one JSON line: p50/p99/max in microseconds and the number of frames (with `raw`,
also every frame's latency in ns).
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, RejectConnection, Request

from . import _frames
from ._live import _AUDIO_STAMP, SO_TIMESTAMPNS, pct


def _kernel_stamp(ancdata: list[tuple[int, int, bytes]]) -> int:
    for level, kind, cdata in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", cdata[:16])
            return sec * 1_000_000_000 + nsec
    return 0


def _opened(job: dict[str, Any]) -> socket.socket:
    """A connected socket past the upgrade and the `setup` message: the server streams next."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.connect((job["host"], job["port"]))
    ws = WSConnection(ConnectionType.CLIENT)
    sock.sendall(ws.send(Request(host=f"{job['host']}:{job['port']}", target=job["path"])))
    while ws.state is not ConnectionState.OPEN:
        ws.receive_data(sock.recv(65536) or None)
        for event in ws.events():
            if isinstance(event, RejectConnection):
                raise RuntimeError(f"upgrade refused: {event.status_code}")
    setup = json.dumps({"setup": {"model": f"models/{_frames.MODEL}"}}).encode()
    sock.sendall(ws.send(BytesMessage(data=setup)))
    return sock


def _latencies(reads: list[tuple[int, int, bytes]], since: int) -> list[int]:
    """Per stamped audio frame: the kernel's arrival to the read's return (ns)."""
    out: list[int] = []
    for arrived, returned, data in reads:
        if arrived and arrived >= since:
            out.extend(returned - arrived for _ in _AUDIO_STAMP.finditer(data))
    return out


def run_blocking(job: dict[str, Any]) -> list[tuple[int, int, bytes]]:
    sock = _opened(job)
    reads: list[tuple[int, int, bytes]] = []
    end = time.monotonic() + job["warmup"] + job["seconds"]
    recvmsg = sock.recvmsg
    while time.monotonic() < end:
        data, ancdata, _flags, _addr = recvmsg(65536, 64)
        returned = time.time_ns()
        if not data:
            break
        reads.append((_kernel_stamp(ancdata), returned, data))
    sock.close()
    return reads


def run_trio(job: dict[str, Any]) -> list[tuple[int, int, bytes]]:
    reads: list[tuple[int, int, bytes]] = []

    async def main() -> None:
        sock = trio.socket.from_stdlib_socket(_opened(job))
        with trio.move_on_after(job["warmup"] + job["seconds"]):
            while True:
                data, ancdata, _flags, _addr = await sock.recvmsg(65536, 64)
                returned = time.time_ns()
                if not data:
                    break
                reads.append((_kernel_stamp(ancdata), returned, data))
        sock.close()

    trio.run(main)
    return reads


def main() -> None:
    job = json.loads(sys.argv[1])
    if job.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {job["cpu"]})
    started = time.time_ns()
    reads = (run_trio if job["mode"] == "trio" else run_blocking)(job)
    since = started + int(job["warmup"] * 1e9)
    latencies = _latencies(reads, since)
    result: dict[str, Any] = floor_percentiles(latencies)
    if job.get("raw"):
        result["latencies"] = latencies  # for a caller that pools several runs' samples
    print(json.dumps(result), flush=True)


def floor_percentiles(latencies: list[int]) -> dict[str, float]:
    """Frames, and p50/p99/max in us, of arrival->read latencies in ns."""
    return {
        "frames": len(latencies),
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "max": pct(latencies, 1.0),
    }


if __name__ == "__main__":
    main()
