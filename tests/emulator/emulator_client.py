"""A small raw WebSocket client for the emulator tests, over in-memory streams."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Message, RejectConnection, Request

from trio_gemini_live.emulator import Emulator, EmulatorConfig, open_emulator

GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
MODEL = "models/gemini-live-2.5-flash-preview"
NATIVE = "models/gemini-2.5-flash-native-audio-preview-12-2025"
KEY = [("x-goog-api-key", "test-key")]


class RawClient:
    """Speaks JSON over a trio-websocket connection; every wait is bounded."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws
        self.binary_frames = 0

    async def send(self, obj: dict[str, Any]) -> None:
        await self.ws.send_message(json.dumps(obj))

    async def recv(self, limit: float = 30) -> dict[str, Any]:
        with trio.fail_after(limit):
            raw = await self.ws.get_message()
        if isinstance(raw, bytes):
            self.binary_frames += 1
        return json.loads(raw)

    async def recv_until(
        self, predicate: Callable[[dict[str, Any]], bool], limit: float = 30
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with trio.fail_after(limit):
            while True:
                msg = await self.recv(limit)
                out.append(msg)
                if predicate(msg):
                    return out

    async def turn(self, limit: float = 30) -> list[dict[str, Any]]:
        return await self.recv_until(turn_complete, limit)

    async def closed(self, limit: float = 30) -> tuple[int, str]:
        with trio.fail_after(limit):
            while True:
                try:
                    await self.ws.get_message()
                except trio_websocket.ConnectionClosed as exc:
                    reason = exc.reason
                    break
        assert reason is not None
        return reason.code, reason.reason or ""

    async def setup(self, **setup: Any) -> dict[str, Any]:
        setup.setdefault("model", MODEL)
        await self.send({"setup": setup})
        return await self.recv()


def turn_complete(msg: dict[str, Any]) -> bool:
    return bool(msg.get("serverContent", {}).get("turnComplete"))


def audio_of(messages: list[dict[str, Any]]) -> bytes:
    out = b""
    for m in messages:
        for part in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []):
            if "inlineData" in part:
                out += base64.b64decode(part["inlineData"]["data"])
    return out


def texts_of(messages: list[dict[str, Any]], key: str = "text") -> str:
    out = ""
    for m in messages:
        sc = m.get("serverContent", {})
        if key == "text":
            for part in sc.get("modelTurn", {}).get("parts", []):
                out += part.get("text", "")
        elif key in sc:
            out += sc[key].get("text", "")
    return out


@asynccontextmanager
async def connect(
    emulator: Emulator,
    path: str = GEMINI_PATH,
    headers: list[tuple[str, str]] | None = None,
) -> AsyncIterator[RawClient]:
    stream = await emulator.memory_connector()()
    async with trio.open_nursery() as nursery:
        ws = await trio_websocket.wrap_client_stream(
            nursery,
            stream,
            "127.0.0.1",
            path,
            extra_headers=[
                (k.encode(), v.encode()) for k, v in (KEY if headers is None else headers)
            ],
        )
        try:
            yield RawClient(ws)
        finally:
            with trio.move_on_after(5):
                await ws.aclose()
            nursery.cancel_scope.cancel()


class HandClient:
    """A WebSocket client driven by hand over a stream: it reads only when the test says.

    trio-websocket's client reads the socket in a task of its own; a client that stops
    reading (its socket buffers fill and the server's writes wait) needs one that does not.
    """

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)

    async def upgrade(self, path: str = GEMINI_PATH) -> AcceptConnection | RejectConnection:
        """Run the handshake; return the server's answer (a refusal's body is not read)."""
        headers = [(k.encode(), v.encode()) for k, v in KEY]
        await self.stream.send_all(
            self.ws.send(Request(host="127.0.0.1", target=path, extra_headers=headers))
        )
        with trio.fail_after(10):
            while True:
                self.ws.receive_data(await self.stream.receive_some())
                for event in self.ws.events():
                    if isinstance(event, AcceptConnection | RejectConnection):
                        return event

    async def send(self, obj: dict[str, Any]) -> None:
        await self.stream.send_all(self.ws.send(Message(data=json.dumps(obj))))

    async def read_after(self, delay: float) -> None:
        """Sleep `delay` s, then read (and drop) everything until the stream ends."""
        await trio.sleep(delay)
        try:
            while await self.stream.receive_some():
                pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


def start(config: EmulatorConfig | None = None) -> Any:
    return open_emulator(config or EmulatorConfig())
