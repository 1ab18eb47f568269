"""A stand-in microphone: `python -m benchmarks._mic N INTERVAL_S SIZE [--cpu K]`.

Waits for a line on stdin (the client's "start"), then writes N chunks of SIZE bytes of
seeded PCM to stdout, one every INTERVAL_S seconds (absolute schedule, no drift). A real
voice agent's input arrives like this: from a capture device or a telephony stream, as an
fd that becomes readable, not from a timer in the client. Pipe writes up to PIPE_BUF bytes
are atomic, so each chunk is read whole.
"""

from __future__ import annotations

import os
import sys
import time

from . import _frames


def main() -> None:
    n, interval, size = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    if "--cpu" in sys.argv and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(sys.argv[sys.argv.index("--cpu") + 1])})
    source = _frames.pcm(1000, _frames.IN_RATE)
    chunks = [source[(i * size) % (len(source) - size) :][:size] for i in range(16)]
    out = sys.stdout.fileno()
    sys.stdin.readline()
    start = time.monotonic()
    for i in range(n):
        delay = start + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        os.write(out, chunks[i % len(chunks)])
    os.close(out)


if __name__ == "__main__":
    main()
