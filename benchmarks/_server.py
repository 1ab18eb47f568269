"""The benchmark's own streaming server (a separate process; trio + wsproto).

It speaks the real framing (pretty JSON in binary frames, `setupComplete` after `setup`) and
streams pre-framed audio, so the server never limits the clients it measures. The scenario is
the URL path prefix, so every client (google-genai builds its own path) can select it:

    /recv/N/INTERVAL_US   after the client's first message, a warm-up turn (WARMUP_FRAMES
                          frames, back to back); after its second, N frames (audio, 1 control
                          in 10, last turnComplete); INTERVAL_US 0 = back to back (batched);
                          paced (INTERVAL_US > 0), each audio frame carries its send stamp
    /send/N               reply turnComplete once WARMUP_CHUNKS client messages arrived (the
                          warm-up), and again once N more did
    /live/INTERVAL_US/K   stamped 40 ms audio frames every INTERVAL_US until the client
                          leaves; every K-th frame is `interrupted` (K=0: never); input discarded

Run: `python -m benchmarks._server [--cpu N]`; it prints its port on stdout.
"""

from __future__ import annotations

import os
import sys
import time

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Request,
)

from . import _frames

_FRAMER = Connection(ConnectionType.SERVER)


def framed(payload: bytes) -> bytes:
    return _FRAMER.send(BytesMessage(data=payload))


SETUP_COMPLETE = framed(_frames.pretty({"setupComplete": {}}))
AUDIO40 = framed(_frames.audio_frame(40))
WARMUP = b"".join(framed(p) for p in _frames.stream_payloads(_frames.WARMUP_FRAMES))
_STAMP_AT = AUDIO40.index(b'"data": "') + len(b'"data": "')


def stamped_audio(stamp: int) -> bytes:
    return AUDIO40[:_STAMP_AT] + _frames.stamp_b64(stamp) + AUDIO40[_STAMP_AT + 12 :]


class Peer:
    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.path = ""
        self.messages = 0
        # Two tasks write to one peer (`drain` answers a close or ping while the scenario
        # streams); trio refuses a second send_all while one is running (BusyResourceError).
        self._send_lock = trio.Lock()

    async def send(self, data: bytes) -> None:
        async with self._send_lock:
            await self.stream.send_all(data)

    async def pump(self) -> bool:
        data = await self.stream.receive_some(65536)
        if not data:
            return False
        self.ws.receive_data(data)
        out = b""
        for event in self.ws.events():
            if isinstance(event, Request):
                self.path = event.target
                out += self.ws.send(AcceptConnection())
            elif isinstance(event, Message):
                if event.message_finished:
                    self.messages += 1
            elif isinstance(event, Ping):
                out += self.ws.send(event.response())
            elif isinstance(event, CloseConnection):
                out += self.ws.send(event.response())
                if out:
                    await self.send(out)
                return False
        if out:
            await self.send(out)
        return True

    async def until_messages(self, n: int) -> bool:
        while self.messages < n:
            if not await self.pump():
                return False
        return True


async def serve(stream: trio.abc.Stream) -> None:
    peer = Peer(stream)
    try:
        if not await peer.until_messages(1):  # the handshake, then `setup`
            return
        await peer.send(SETUP_COMPLETE)
        parts = [p for p in peer.path.split("/") if p]
        kind = parts[0] if parts else ""
        if kind == "recv":
            n, interval = int(parts[1]), int(parts[2]) / 1e6
            if not await peer.until_messages(2):  # "warm"
                return
            await peer.send(WARMUP)
            if not await peer.until_messages(3):  # "go"
                return
            payloads = _frames.stream_payloads(n)
            frames = [framed(p) for p in payloads]
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drain, peer)
                if interval == 0:
                    await peer.send(b"".join(frames))
                else:
                    # Paced: every audio frame's first PCM bytes carry the monotonic ns of its
                    # send, which every client gets back in its decoded audio (lateness).
                    audio = [p == _frames.AUDIO40 for p in payloads]
                    start = trio.current_time()
                    for i, frame in enumerate(frames):
                        await trio.sleep_until(start + i * interval)
                        if audio[i]:
                            frame = stamped_audio(time.monotonic_ns())
                        await peer.send(frame)
        elif kind == "send":
            n, warm = int(parts[1]), _frames.WARMUP_CHUNKS
            if not await peer.until_messages(1 + warm):
                return
            await peer.send(framed(_frames.TURN_COMPLETE))
            if await peer.until_messages(1 + warm + n):
                await peer.send(framed(_frames.TURN_COMPLETE))
                await drain(peer)
        elif kind == "live":
            interval, every = int(parts[1]) / 1e6, int(parts[2])
            async with trio.open_nursery() as nursery:

                async def discard() -> None:
                    while await stream.receive_some(65536):
                        pass
                    nursery.cancel_scope.cancel()

                nursery.start_soon(discard)
                start = trio.current_time()
                i = 0
                while True:
                    i += 1
                    await trio.sleep_until(start + i * interval)
                    stamp = time.monotonic_ns()
                    if every and i % every == 0:
                        frame = framed(_frames.interrupted_frame(stamp))
                    else:
                        frame = stamped_audio(stamp)
                    await peer.send(frame)
    except* (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass  # a client left (or reset): also from inside the nurseries above
    finally:
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def drain(peer: Peer) -> None:
    while await peer.pump():
        pass


async def main(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1", backlog=1024)
    port = listeners[0].socket.getsockname()[1]
    print(port, flush=True)
    await trio.serve_listeners(serve, listeners)  # type: ignore[arg-type]


if __name__ == "__main__":
    cpu_arg = None
    if "--cpu" in sys.argv:
        cpu_arg = int(sys.argv[sys.argv.index("--cpu") + 1])
    trio.run(main, cpu_arg)
