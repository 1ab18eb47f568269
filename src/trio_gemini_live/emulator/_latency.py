"""An in-memory stream pair with network latency: bytes arrive a fixed time after they are sent.

Why: `trio.testing.memory_stream_pair()` delivers at once, so a test never sees messages
crossing on the wire, such as client audio written after the server issued a resumption
handle but before the handle reached the client. With a delay each way, those races
happen as they do over a real network, in virtual time under `MockClock` too.
"""

from __future__ import annotations

from collections import deque

import trio

__all__ = ["delayed_stream_pair"]


class _DelayedPipe:
    """One direction: chunks kept with the time they become readable."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.chunks: deque[tuple[float, bytes]] = deque()
        self.sender_closed = False
        self.receiver_closed = False
        self.changed = trio.Event()

    def put(self, data: bytes) -> None:
        if self.receiver_closed:
            raise trio.BrokenResourceError("the receiving end of the stream is closed")
        self.chunks.append((trio.current_time() + self.latency, data))
        self._notify()

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
            self._outgoing.put(bytes(data))

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


def delayed_stream_pair(latency: float) -> tuple[trio.abc.Stream, trio.abc.Stream]:
    """Two connected in-memory streams; each byte arrives `latency` seconds after it is sent."""
    if latency < 0:
        raise ValueError(f"latency must be >= 0 seconds, got {latency}")
    one, two = _DelayedPipe(latency), _DelayedPipe(latency)
    return _DelayedStream(one, two), _DelayedStream(two, one)
