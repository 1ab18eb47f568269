"""A scriptable in-memory Live API peer for session tests that need exact control.

Each test writes the server side as a coroutine receiving a trio-websocket connection; the
client connects through `FakeServer.connector` over `trio.testing.memory_stream_pair`.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import trio
import trio.testing
import trio_websocket

ServerScript = Callable[[trio_websocket.WebSocketConnection], Awaitable[None]]


def audio_part(pcm: bytes) -> dict[str, Any]:
    """A `modelTurn` part holding `pcm` as the server's 24 kHz audio (base64, as sent)."""
    return {
        "inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(pcm).decode()}
    }


def pretty(message: dict[str, Any]) -> bytes:
    """Serialise like Google's server: pretty JSON with a trailing newline, as bytes."""
    return (json.dumps(message, indent=2, ensure_ascii=False) + "\n").encode()


class FakeServer:
    """Serves one scripted WebSocket connection per client connect, in memory."""

    def __init__(self, nursery: trio.Nursery, script: ServerScript) -> None:
        self._nursery = nursery
        self._script = script
        self.requests: list[trio_websocket.WebSocketRequest] = []
        self.received: list[dict[str, Any]] = []
        self.connections = 0

    async def connector(self) -> trio.abc.Stream:
        client, server = trio.testing.memory_stream_pair()
        self._nursery.start_soon(self._serve, server)
        return client

    async def _serve(self, stream: trio.abc.Stream) -> None:
        request = await trio_websocket.wrap_server_stream(self._nursery, stream)  # type: ignore[arg-type]
        self.requests.append(request)
        connection = await request.accept()
        self.connections += 1
        with contextlib.suppress(trio_websocket.ConnectionClosed):
            await self._script(connection)

    async def receive_json(self, ws: trio_websocket.WebSocketConnection) -> dict[str, Any]:
        message = json.loads(await ws.get_message())
        self.received.append(message)
        return message


async def accept_setup(
    server: FakeServer, ws: trio_websocket.WebSocketConnection
) -> dict[str, Any]:
    """Read the setup frame and answer setupComplete, as the real server does."""
    setup = await server.receive_json(ws)
    assert "setup" in setup
    await ws.send_message(pretty({"setupComplete": {}}))
    return setup


class WrappedStream(trio.abc.Stream):
    """A client stream that passes everything to `inner`: subclasses change what they need."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self._inner = inner

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self._inner.aclose()


class SwitchableStream(WrappedStream):
    """Wraps a client stream; once `blackhole()` is called, nothing goes in or out.

    This is a peer that keeps the TCP connection open but answers nothing (no frames, no
    pongs): what the heartbeat must detect.
    """

    def __init__(self, inner: trio.abc.Stream) -> None:
        super().__init__(inner)
        self.silent = False

    def blackhole(self) -> None:
        self.silent = True

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if not self.silent:
            await self._inner.send_all(data)

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self.silent:
            await trio.sleep_forever()
        data = await self._inner.receive_some(max_bytes)
        if self.silent:
            await trio.sleep_forever()
        return data


class SlowUplinkStream(WrappedStream):
    """Wraps a client stream: each write takes its length over `rate` seconds to go out.

    Once `stick()` is called, a write waits until the stream closes instead (a peer that
    stopped reading), and then fails with `trio.ClosedResourceError` as trio's sockets do.
    """

    def __init__(self, inner: trio.abc.Stream, rate: float) -> None:
        super().__init__(inner)
        self._rate = rate
        self._stuck = False
        self._closed = trio.Event()
        self.writes = 0

    def stick(self) -> None:
        self._stuck = True

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if not self._stuck:
            await trio.sleep(len(data) / self._rate)
        if self._stuck:
            await self._closed.wait()
            raise trio.ClosedResourceError("the stream was closed during the write")
        self.writes += 1
        await self._inner.send_all(data)

    async def aclose(self) -> None:
        self._closed.set()
        await self._inner.aclose()


class StuckUplinkStream(WrappedStream):
    """Wraps a client stream; after `stick_after` writes, a write waits until the stream closes.

    This is a peer that stops reading (a full TCP send buffer): the write then fails only
    when the socket is closed, with `trio.ClosedResourceError`, as trio's sockets do.
    """

    def __init__(self, inner: trio.abc.Stream, stick_after: int) -> None:
        super().__init__(inner)
        self._writes_left = stick_after
        self._closed = trio.Event()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._writes_left <= 0:
            await self._closed.wait()
            raise trio.ClosedResourceError("the stream was closed during the write")
        self._writes_left -= 1
        await self._inner.send_all(data)

    async def aclose(self) -> None:
        self._closed.set()
        await self._inner.aclose()


class StickingConnector:
    """Connects through `inner`; connection number `stuck` gets a `StuckUplinkStream`.

    `opened` counts the connections made, so a test can check how many resumes it took.
    """

    def __init__(
        self, inner: Callable[[], Awaitable[trio.abc.Stream]], *, stuck: int, stick_after: int
    ) -> None:
        self._inner = inner
        self._stuck = stuck
        self._stick_after = stick_after
        self.opened = 0

    async def __call__(self) -> trio.abc.Stream:
        self.opened += 1
        stream = await self._inner()
        if self.opened == self._stuck:
            return StuckUplinkStream(stream, stick_after=self._stick_after)
        return stream
