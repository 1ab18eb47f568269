"""One client run in its own process: `python -m benchmarks._clients CLIENT JOB_JSON`.

Receive jobs paced by the server (`interval` > 0) also record lateness: the server stamps
each audio frame's first PCM bytes with the monotonic ns of its send (`_server.py`), and each
client, once it holds the frame's decoded PCM, subtracts it from its own monotonic clock
(the same CLOCK_MONOTONIC across processes); the values come back as `late` (ns).

`live:<client>` (ours, genai, ag2): many sessions in one process at a fixed load, lateness
only (below).

Clients: `ours:<transport>`, `genai` (google-genai's `client.aio.live`, recipe B of
protocol.md §5.4), `ag2` (AG2 0.13.4's `GeminiRealtimeClient`), and `floor:trio` /
`floor:asyncio` (no connection: only the paced wake-ups, each runtime's own cost). Prints
one JSON line: client process CPU seconds and wall seconds over the measured part, and counts.
"""

from __future__ import annotations

import array
import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import _frames

MIME_IN = f"audio/pcm;rate={_frames.IN_RATE}"
CHUNK_BYTES = _frames.IN_RATE * 20 // 1000 * 2  # one 20 ms input chunk


def _cpu() -> float:
    return time.process_time()


now_ns = time.monotonic_ns
read_stamp = _frames.read_stamp


class Mic:
    """The stand-in microphone (`benchmarks._mic`): a process writing chunks into a pipe.

    Started before the measurement; `start()` (inside it) tells it to begin, so every chunk
    is paced by the pipe becoming readable, as real capture or telephony input is.
    """

    def __init__(self, job: dict[str, Any], size: int) -> None:
        args = [sys.executable, "-m", "benchmarks._mic", str(job["n"]), str(job["interval"])]
        args.append(str(size))
        if job.get("cpu") == 0:
            args += ["--cpu", "1"]  # beside the server, off the measured client's core
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.fd = os.dup(self.proc.stdout.fileno())

    def start(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        self.proc.wait(10)


async def _trio_read_exactly(stream: Any, size: int) -> bytes:
    data = await stream.receive_some(size)
    while len(data) < size:  # never for pipe writes up to PIPE_BUF; kept for correctness
        more = await stream.receive_some(size - len(data))
        if not more:
            raise EOFError("the microphone pipe closed early")
        data += more
    return data


async def _asyncio_pipe_reader(fd: int) -> Any:
    import asyncio

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    pipe = os.fdopen(fd, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    return reader


# --- ours (trio) -------------------------------------------------------------------------


def run_ours(transport: str, job: dict[str, Any]) -> dict[str, Any]:
    import trio

    from trio_gemini_live import SessionOptions, url_endpoint
    from trio_gemini_live._events import AudioDelta, TurnComplete
    from trio_gemini_live._session import open_session

    result: dict[str, Any] = {}

    async def main() -> None:
        endpoint = url_endpoint(job["url"], api_key="x")
        options = SessionOptions(transport=transport.split("+")[0])
        async with open_session(_frames.MODEL, endpoint=endpoint, options=options) as session:

            async def until_turn_complete() -> None:
                async for event in session:
                    if type(event) is TurnComplete:
                        break

            # The warm-up turn (see `_frames.WARMUP_CHUNKS`), as for every client.
            if job["kind"] == "recv":
                await session.send_text("warm")
            else:
                warm = _frames.pcm(20, _frames.IN_RATE)
                for _ in range(_frames.WARMUP_CHUNKS):
                    await session.send_audio(warm)
            await until_turn_complete()
            if job["kind"] == "recv":
                frames = 0
                audio = 0
                stamped = job["interval"] > 0
                late: list[int] = []
                c0, w0 = _cpu(), time.perf_counter()
                await session.send_text("go")
                async for event in session:
                    if type(event) is AudioDelta:
                        if stamped:
                            late.append(now_ns() - read_stamp(event.pcm))
                        audio += 1
                        frames += 1
                    elif type(event) is TurnComplete:
                        frames += 1
                        break
                    else:
                        frames += 1
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0, audio=audio)
                if stamped:
                    result["late"] = late
            elif job.get("source") == "mic":
                mic = Mic(job, CHUNK_BYTES)
                pipe = trio.lowlevel.FdStream(mic.fd)
                c0, w0 = _cpu(), time.perf_counter()
                mic.start()
                for _ in range(job["n"]):
                    await session.send_audio(await _trio_read_exactly(pipe, CHUNK_BYTES))
                async for event in session:
                    if type(event) is TurnComplete:
                        break
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0)
                mic.close()
            elif job.get("source") == "timer" and transport == "websockets+stream_audio":
                chunk = _frames.pcm(20, _frames.IN_RATE)
                c0, w0 = _cpu(), time.perf_counter()
                await session.stream_audio(itertools.repeat(chunk, job["n"]))
                async for event in session:
                    if type(event) is TurnComplete:
                        break
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0)
            else:
                chunk = _frames.pcm(20, _frames.IN_RATE)
                n, interval = job["n"], job["interval"]
                c0, w0 = _cpu(), time.perf_counter()
                start = trio.current_time()
                for i in range(n):
                    if interval:
                        await trio.sleep_until(start + i * interval)
                    await session.send_audio(chunk)
                async for event in session:
                    if type(event) is TurnComplete:
                        break
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0)

    trio.run(main)
    return result


# --- google-genai (asyncio) ----------------------------------------------------------------


def run_genai(job: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from google import genai
    from google.genai import types

    result: dict[str, Any] = {}
    base = job["url"].split("/ws/", 1)[0]

    async def main() -> None:
        client = genai.Client(api_key="x", http_options={"api_version": "v1beta"})
        api = client._api_client  # recipe B: two instance patches, nothing global
        api._websocket_base_url = lambda http_options=None: base  # type: ignore[method-assign]
        api._websocket_ssl_ctx = {}  # type: ignore[attr-defined]
        config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
        async with client.aio.live.connect(model=_frames.MODEL, config=config) as session:
            # The warm-up turn (see `_frames.WARMUP_CHUNKS`): google-genai builds its pydantic
            # models on first use, about 26 ms, which no frame of a session pays.
            if job["kind"] == "recv":
                await session.send_realtime_input(text="warm")
            else:
                warm = types.Blob(data=_frames.pcm(20, _frames.IN_RATE), mime_type=MIME_IN)
                for _ in range(_frames.WARMUP_CHUNKS):
                    await session.send_realtime_input(audio=warm)
            async for _message in session.receive():  # ends with the turn
                pass
            if job["kind"] == "recv":
                frames = audio = 0
                stamped = job["interval"] > 0
                late: list[int] = []
                c0, w0 = _cpu(), time.perf_counter()
                await session.send_realtime_input(text="go")
                async for message in session.receive():
                    frames += 1
                    content = message.server_content
                    if content is not None and content.model_turn is not None:
                        if stamped:
                            inline = content.model_turn.parts[0].inline_data  # type: ignore[index]
                            late.append(now_ns() - read_stamp(inline.data))  # type: ignore[union-attr,arg-type]
                        audio += 1
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0, audio=audio)
                if stamped:
                    result["late"] = late
            elif job.get("source") == "mic":
                mic = Mic(job, CHUNK_BYTES)
                reader = await _asyncio_pipe_reader(mic.fd)
                c0, w0 = _cpu(), time.perf_counter()
                mic.start()
                for _ in range(job["n"]):
                    chunk = await reader.readexactly(CHUNK_BYTES)
                    await session.send_realtime_input(
                        audio=types.Blob(data=chunk, mime_type=MIME_IN)
                    )
                async for _message in session.receive():
                    pass
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0)
                mic.close()
            else:
                chunk = _frames.pcm(20, _frames.IN_RATE)
                n, interval = job["n"], job["interval"]
                loop = asyncio.get_running_loop()
                c0, w0 = _cpu(), time.perf_counter()
                start = loop.time()
                for i in range(n):
                    if interval:
                        await asyncio.sleep(max(0.0, start + i * interval - loop.time()))
                    await session.send_realtime_input(
                        audio=types.Blob(data=chunk, mime_type=MIME_IN)
                    )
                async for _message in session.receive():
                    pass
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0)

    asyncio.run(main())
    return result


# --- AG2 (asyncio) -------------------------------------------------------------------------


def run_ag2(job: dict[str, Any]) -> dict[str, Any]:
    import asyncio
    import base64
    import logging

    from autogen.agentchat.realtime.experimental.clients import GeminiRealtimeClient
    from autogen.agentchat.realtime.experimental.realtime_events import (
        AudioDelta,
        InputAudioBufferDelta,
        SessionCreated,
    )

    logging.getLogger().setLevel(logging.WARNING)
    result: dict[str, Any] = {}
    config = {"config_list": [{"model": _frames.MODEL, "api_key": "x", "base_url": job["url"]}]}

    def turn_complete(event: Any) -> bool:
        content = (event.raw_message or {}).get("serverContent") or {}
        return bool(content.get("turnComplete"))

    async def main() -> None:
        client = GeminiRealtimeClient(llm_config=config)
        async with client.connect():
            events = client.read_events()
            async for event in events:
                if isinstance(event, SessionCreated):
                    break
            # The warm-up turn (see `_frames.WARMUP_CHUNKS`), as for every client.
            if job["kind"] == "recv":
                await client.send_text(role="user", text="warm")  # type: ignore[arg-type]
            else:
                warm = base64.b64encode(_frames.pcm(20, _frames.IN_RATE)).decode()
                for _ in range(_frames.WARMUP_CHUNKS):
                    await client.send_audio(warm)
            async for event in events:
                if turn_complete(event):
                    break
            if job["kind"] == "recv":
                frames = audio = 0
                stamped = job["interval"] > 0
                late: list[int] = []
                c0, w0 = _cpu(), time.perf_counter()
                await client.send_text(role="user", text="go")  # type: ignore[arg-type]
                async for event in events:
                    frames += 1
                    if isinstance(event, AudioDelta):
                        # AG2 hands audio over as base64 text (`delta`); ours and
                        # google-genai hand over decoded bytes. An AG2 user decodes it
                        # (stdlib base64, as here) before playing it: the same work for all,
                        # and lateness is taken, as for the others, with the PCM in hand.
                        pcm = base64.b64decode(event.delta)
                        if stamped:
                            late.append(now_ns() - read_stamp(pcm))
                        audio += 1
                    elif turn_complete(event):
                        break
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0, audio=audio)
                if stamped:
                    result["late"] = late
            else:
                chunk = _frames.pcm(20, _frames.IN_RATE)
                n, interval = job["n"], job["interval"]
                loop = asyncio.get_running_loop()
                mic = Mic(job, CHUNK_BYTES) if job.get("source") == "mic" else None
                reader = await _asyncio_pipe_reader(mic.fd) if mic is not None else None
                c0, w0 = _cpu(), time.perf_counter()
                start = loop.time()
                if mic is not None:
                    mic.start()
                for i in range(n):
                    if reader is not None:
                        chunk = await reader.readexactly(CHUNK_BYTES)
                    elif interval:
                        await asyncio.sleep(max(0.0, start + i * interval - loop.time()))
                    # AG2 takes base64 text: encoding the PCM is the caller's part of the path.
                    await client.send_audio(base64.b64encode(chunk).decode())
                async for event in events:
                    if isinstance(event, InputAudioBufferDelta):
                        continue
                    if turn_complete(event):
                        break
                result.update(cpu=_cpu() - c0, wall=time.perf_counter() - w0)
            # AG2's generator cannot be closed cleanly (anyio cancel scope across tasks):
            # report and leave without its teardown, which is not part of the measurement.
            print(json.dumps(result), flush=True)
            os._exit(0)

    asyncio.run(main())
    return result


# --- many sessions at a fixed load: lateness (`live` jobs) -----------------------------------
#
# `live:<client>` with {"url": .../live/40000/0..., "sessions", "seconds", "warmup"}: the
# client opens `sessions` sessions (connects staggered over one frame interval, so the
# server's frame phases spread), all receiving stamped 40 ms frames every 40 ms; after the
# warm-up, for `seconds`, every audio frame's lateness (server send stamp -> decoded PCM in
# the user's hands) is recorded into preallocated arrays, and the process's CPU is taken.


class Late:
    """Lateness samples (ns) in an array allocated up front; only while `measuring`."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.capacity = int(job["sessions"] * job["seconds"] / 0.04 * 1.5) + 1024
        self.values = array.array("q", [0]) * self.capacity
        self.n = 0
        self.measuring = False
        self.opened = 0

    def add(self, pcm: bytes) -> None:
        if self.measuring:
            now = now_ns()
            i = self.n
            if i < self.capacity:
                self.values[i] = now - read_stamp(pcm)
            self.n = i + 1

    def result(self, cpu: float, wall: float) -> dict[str, Any]:
        kept = sorted(self.values[: min(self.n, self.capacity)])

        def pct(q: float) -> float:
            return kept[min(len(kept) - 1, int(q * len(kept)))] / 1e3 if kept else float("nan")

        return {
            "cpu": cpu,
            "wall": wall,
            "opened": self.opened,
            "events": len(kept),
            "late_p50": pct(0.5),
            "late_p99": pct(0.99),
            "late_max": pct(1.0),
        }


def _report_and_exit(result: dict[str, Any]) -> None:
    # Leave without the sessions' teardown (AG2's cannot be closed cleanly, see run_ag2):
    # it is not part of the measurement, and every client is treated the same.
    print(json.dumps(result), flush=True)
    os._exit(0)


async def _measure_and_exit(
    job: dict[str, Any], late: Late, sleep: Callable[[float], Awaitable[object]]
) -> None:
    """Wait out the warm-up, measure for `job["seconds"]`, report and leave (any event loop)."""
    await sleep(job["warmup"])
    late.measuring = True
    c0, w0 = _cpu(), time.perf_counter()
    await sleep(job["seconds"])
    late.measuring = False
    _report_and_exit(late.result(_cpu() - c0, time.perf_counter() - w0))


def live_ours(job: dict[str, Any]) -> None:
    import trio

    from trio_gemini_live import SessionOptions, url_endpoint
    from trio_gemini_live._events import AudioDelta
    from trio_gemini_live._session import open_session

    late = Late(job)
    sessions = job["sessions"]

    async def one(opened: trio.Event) -> None:
        endpoint = url_endpoint(job["url"], api_key="x")
        options = SessionOptions(transport="websockets")  # the default connector
        async with open_session(_frames.MODEL, endpoint=endpoint, options=options) as session:
            late.opened += 1
            if late.opened == sessions:
                opened.set()
            add = late.add
            async for event in session:
                if type(event) is AudioDelta:
                    add(event.pcm)

    async def main() -> None:
        opened = trio.Event()
        async with trio.open_nursery() as nursery:
            for _ in range(sessions):
                nursery.start_soon(one, opened)
                await trio.sleep(0.04 / sessions)
            with trio.move_on_after(120):
                await opened.wait()
            await _measure_and_exit(job, late, trio.sleep)

    trio.run(main)


async def _asyncio_live(job: dict[str, Any], late: Late, one: Any) -> None:
    import asyncio

    sessions = job["sessions"]
    opened = asyncio.Event()
    tasks = []
    for _ in range(sessions):
        tasks.append(asyncio.create_task(one(opened)))
        await asyncio.sleep(0.04 / sessions)
    with contextlib.suppress(TimeoutError):  # too few opened: `opened` says so
        await asyncio.wait_for(opened.wait(), 120)
    await _measure_and_exit(job, late, asyncio.sleep)


def live_genai(job: dict[str, Any]) -> None:
    import asyncio

    from google import genai
    from google.genai import types

    late = Late(job)
    base = job["url"].split("/ws/", 1)[0]
    client = genai.Client(api_key="x", http_options={"api_version": "v1beta"})
    api = client._api_client  # recipe B, as in run_genai
    api._websocket_base_url = lambda http_options=None: base  # type: ignore[method-assign]
    api._websocket_ssl_ctx = {}  # type: ignore[attr-defined]
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])

    async def one(opened: asyncio.Event) -> None:
        async with client.aio.live.connect(model=_frames.MODEL, config=config) as session:
            late.opened += 1
            if late.opened == job["sessions"]:
                opened.set()
            add = late.add
            while True:  # receive() ends at each turnComplete (never sent here)
                async for message in session.receive():
                    content = message.server_content
                    if content is not None and content.model_turn is not None:
                        inline = content.model_turn.parts[0].inline_data  # type: ignore[index]
                        add(inline.data)  # type: ignore[union-attr,arg-type]

    asyncio.run(_asyncio_live(job, late, one))


def live_ag2(job: dict[str, Any]) -> None:
    import asyncio
    import base64
    import logging

    from autogen.agentchat.realtime.experimental.clients import GeminiRealtimeClient
    from autogen.agentchat.realtime.experimental.realtime_events import AudioDelta

    logging.getLogger().setLevel(logging.WARNING)
    late = Late(job)
    config = {"config_list": [{"model": _frames.MODEL, "api_key": "x", "base_url": job["url"]}]}

    async def one(opened: asyncio.Event) -> None:
        client = GeminiRealtimeClient(llm_config=config)
        async with client.connect():
            late.opened += 1
            if late.opened == job["sessions"]:
                opened.set()
            add = late.add
            async for event in client.read_events():
                if isinstance(event, AudioDelta):
                    # Base64 text from AG2: decoded as an AG2 user would (see run_ag2).
                    add(base64.b64decode(event.delta))

    asyncio.run(_asyncio_live(job, late, one))


# --- the runtimes' own floor: a task that only wakes up on the same schedule -----------------


def run_floor(runtime: str, job: dict[str, Any]) -> dict[str, Any]:
    """CPU of waking every `interval` with no I/O: what any client on that runtime pays.

    With a pipe source (`"size"` in the job: bytes per wake-up), each wake-up is the pipe
    becoming readable and one read, as for input from a microphone or frames from a socket.
    """
    n, interval = job["n"], job["interval"]
    if "size" in job:
        return _pipe_floor(runtime, job)
    if runtime == "trio":
        import trio

        async def trio_main() -> float:
            c0 = _cpu()
            start = trio.current_time()
            for i in range(n):
                await trio.sleep_until(start + i * interval)
            return _cpu() - c0

        cpu = trio.run(trio_main)
    else:
        import asyncio

        async def asyncio_main() -> float:
            loop = asyncio.get_running_loop()
            c0 = _cpu()
            start = loop.time()
            for i in range(n):
                await asyncio.sleep(max(0.0, start + i * interval - loop.time()))
            return _cpu() - c0

        cpu = asyncio.run(asyncio_main())
    return {"cpu": cpu, "wall": n * interval}


def _pipe_floor(runtime: str, job: dict[str, Any]) -> dict[str, Any]:
    n, size = job["n"], job["size"]
    mic = Mic(job, size)
    if runtime == "trio":
        import trio

        async def trio_main() -> float:
            pipe = trio.lowlevel.FdStream(mic.fd)
            c0 = _cpu()
            mic.start()
            for _ in range(n):
                await _trio_read_exactly(pipe, size)
            return _cpu() - c0

        cpu = trio.run(trio_main)
    else:
        import asyncio

        async def asyncio_main() -> float:
            reader = await _asyncio_pipe_reader(mic.fd)
            c0 = _cpu()
            mic.start()
            for _ in range(n):
                await reader.readexactly(size)
            return _cpu() - c0

        cpu = asyncio.run(asyncio_main())
    mic.close()
    return {"cpu": cpu, "wall": n * job["interval"]}


def main() -> None:
    client, job = sys.argv[1], json.loads(sys.argv[2])
    if job.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {job["cpu"]})
    if client.startswith("live:"):
        {"ours": live_ours, "genai": live_genai, "ag2": live_ag2}[client[5:]](job)
        raise SystemExit("the live run ended without a result")
    if client.startswith("ours:"):
        out = run_ours(client.split(":", 1)[1], job)
    elif client == "genai":
        out = run_genai(job)
    elif client == "ag2":
        out = run_ag2(job)
    elif client.startswith("floor:"):
        out = run_floor(client.split(":", 1)[1], job)
    else:
        raise SystemExit(f"unknown client {client!r}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
