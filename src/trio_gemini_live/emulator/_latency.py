"""An in-memory stream pair with network latency: bytes arrive a fixed time after they are sent.

Why: `trio.testing.memory_stream_pair()` delivers at once, so a test never sees messages
crossing on the wire, such as client audio written after the server issued a resumption
handle but before the handle reached the client. With a delay each way, those races
happen as they do over a real network, in virtual time under `MockClock` too.

It also takes without limit: a writer never waits for a slow reader, where over TCP a write
waits once the socket buffers of both ends are full. With a `buffer` a write waits, as there,
for the reader to make room.
"""

from __future__ import annotations

from collections import deque
from typing import cast

import trio

from ._config import check_seconds

__all__ = ["check_latency", "delayed_stream_pair"]


class _DelayedPipe:
    """One direction: chunks kept with the time they become readable."""

    def __init__(self, latency: float, buffer: int | None = None) -> None:
        self.latency = latency
        self.buffer = buffer
        self.queued = 0  # bytes sent and not yet read
        self.chunks: deque[tuple[float, bytes]] = deque()
        self.sender_closed = False
        self.receiver_closed = False
        self.changed = trio.Event()

    async def put(self, data: bytes) -> None:
        """Queue `data`; with a `buffer`, part by part as the reader makes room."""
        while True:
            if self.receiver_closed:
                raise trio.BrokenResourceError("the receiving end of the stream is closed")
            if self.sender_closed:
                raise trio.ClosedResourceError("the stream was closed during the write")
            room = len(data) if self.buffer is None else self.buffer - self.queued
            if room > 0:
                part, data = data[:room], data[room:]
                self.chunks.append((trio.current_time() + self.latency, part))
                self.queued += len(part)
                self._notify()
                if not data:
                    return
            await self.changed.wait()

    def close_sender(self) -> None:
        self.sender_closed = True
        self._notify()

    def _notify(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    async def take(self, max_bytes: int | None) -> bytes:
        while True:
            if self.receiver_closed:
                raise trio.ClosedResourceError("this stream was closed")
            if self.chunks:
                due, data = self.chunks[0]
                if due <= trio.current_time():
                    break
                with trio.move_on_at(due):
                    await self.changed.wait()
            elif self.sender_closed:
                await trio.lowlevel.checkpoint()
                return b""
            else:
                await self.changed.wait()
        self.chunks.popleft()
        if max_bytes is not None and len(data) > max_bytes:
            self.chunks.appendleft((due, data[max_bytes:]))
            data = data[:max_bytes]
        self.queued -= len(data)
        if self.buffer is not None:
            self._notify()  # room for a waiting writer
        await trio.lowlevel.checkpoint()
        return data


class _DelayedStream(trio.abc.Stream):
    """One end of a delayed pair."""

    def __init__(self, outgoing: _DelayedPipe, incoming: _DelayedPipe) -> None:
        self._outgoing = outgoing
        self._incoming = incoming
        self._closed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise trio.ClosedResourceError("this stream was closed")
        await trio.lowlevel.checkpoint()
        if data:
            await self._outgoing.put(bytes(data))

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        return await self._incoming.take(max_bytes)

    async def send_eof(self) -> None:
        """Half-close: the peer reads what was sent, then end of stream."""
        self._outgoing.close_sender()
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self._closed = True
        self._outgoing.close_sender()
        self._incoming.receiver_closed = True
        self._incoming.close_sender()
        await trio.lowlevel.checkpoint()


def check_latency(latency: float, buffer: int | None) -> None:
    """Refuse a `latency` that is not a finite number >= 0, a `buffer` not an int >= 1.

    Why: NaN passed `latency < 0` and failed in the stream's first read ("deadline must not
    be NaN"), after the upgrade had begun; `True` was taken for 1 s, `"0.05"` failed with
    a bare TypeError; infinity delivered nothing, ever.
    """
    check_seconds(latency, "latency")
    room = cast(object, buffer)
    if room is not None and (isinstance(room, bool) or not isinstance(room, int)):
        raise ValueError(f"buffer must be a whole number of bytes, not {type(room).__name__}")
    if buffer is not None and buffer < 1:
        raise ValueError(f"buffer must be >= 1 byte, got {buffer}")


def delayed_stream_pair(
    latency: float, buffer: int | None = None
) -> tuple[trio.abc.Stream, trio.abc.Stream]:
    """Two connected in-memory streams; each byte arrives `latency` seconds after it is sent.

    `buffer`: bytes each way that may be sent and not yet read; a write waits for the rest to
    fit (None: no limit).
    """
    check_latency(latency, buffer)
    one, two = _DelayedPipe(latency, buffer), _DelayedPipe(latency, buffer)
    return _DelayedStream(one, two), _DelayedStream(two, one)
