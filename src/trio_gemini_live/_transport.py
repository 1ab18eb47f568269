"""The WebSocket transport: the only module that imports a WebSocket library.

It opens the stream (TCP, TLS or any stream a connector returns), performs the upgrade with
the auth headers, and maps trio-websocket's exceptions to ours in exactly one place. The
receiver gets every message of a read as a batch (`receive_batch`), so a leaner transport
can later hand over several frames per wake-up behind the same interface.
"""

from __future__ import annotations

import logging
import math
import ssl
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextlib import contextmanager
from typing import Protocol, cast

import trio
import trio_websocket
import wsproto.utilities

from ._endpoints import Endpoint
from ._errors import TransportError
from ._groups import leaf_exceptions
from ._options import TRANSPORTS, SessionOptions
from ._send_queue import send_queue_reader
from ._stream import (
    LONG_WRITE,
    STREAM_ERRORS,
    Connector,
    UplinkMeter,
    close_forcefully,
    connect_errors,
    open_stream,
    rejected_upgrade,
    stream_target,
)

__all__ = [
    "TRANSPORTS",
    "Connector",
    "Transport",
    "TransportClosedError",
    "TrioWebsocketTransport",
    "open_trio_websocket",
]

log = logging.getLogger("trio_gemini_live.transport")


class TransportClosedError(Exception):
    """The WebSocket closed; `code` is 1006 when no close frame was received.

    `unwritten`: raised by a send that wrote no byte of its frames (the connection was
    closing or closed already), so none of them reached the server. False when part of
    them may have, or when the transport cannot tell.
    """

    def __init__(self, code: int, reason: str, *, unwritten: bool = False) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.unwritten = unwritten


class Transport(Protocol):
    """What the session needs from a WebSocket connection."""

    async def send(self, frame: bytes) -> None:
        """Send one JSON message as a text frame."""
        ...

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send several JSON messages as text frames, in order (one socket write if it can)."""
        ...

    def send_now(self, frame: bytes) -> bool | None:
        """Write a frame without waiting if the socket is free (None: partly; see `flush`).

        False: no byte of it was written (a full buffer, a failed write); send it with
        `send` instead.
        """
        ...

    async def flush(self) -> None:
        """Write what `send_now` left over."""
        ...

    @property
    def consumer_readable(self) -> bool:
        """Whether the user's task may read (`receive_batch`) directly while it waits.

        True only where a read is one wait on the socket and nothing else: no reader task
        of the transport's own in between.
        """
        ...

    async def receive_batch(self, *, defer_writes: bool = False) -> list[bytes | str]:
        """Wait for and return the next message(s); raise `TransportClosedError` at the end.

        `defer_writes`: replies the read makes necessary (pongs) are left queued for the
        next write (`writes_pending`, `flush`) rather than written from the caller's task,
        so that a caller that may be cancelled at any time never cuts a frame in half; a
        read that brought only such a reply's cause (a ping) returns an empty list.
        """
        ...

    def writes_pending(self) -> bool:
        """Whether replies are queued that no write has sent yet (see `receive_batch`)."""
        ...

    async def ping(self) -> None:
        """Send a ping and wait for its pong (telling `uplink` first)."""
        ...

    @property
    def uplink(self) -> UplinkMeter:
        """How far the long writes have got, and the server's reading while a ping waits."""
        ...

    @property
    def received_at(self) -> float:
        """When bytes last came from the server (-inf before any), part of a frame or not.

        For the heartbeat: a large frame over a slow downlink takes longer than the silence
        limit to arrive whole, and the server is sending all along.
        """
        ...

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket (idempotent)."""
        ...

    async def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Write a close frame if the WebSocket is open, without waiting for the reply.

        Best effort, before `abort`: for a connection given up (cancelled), whose server
        may never answer. A transport that cannot do it writes nothing.
        """
        ...

    async def abort(self) -> None:
        """Close the stream at once, without a close handshake (idempotent, shielded)."""
        ...


def _closed_from(exc: trio_websocket.ConnectionClosed) -> TransportClosedError:
    reason = exc.reason
    # int(): trio-websocket gives wsproto's `CloseReason` enum for known codes; events carry
    # plain ints whichever transport made them.
    code = int(reason.code) if reason is not None else 1006
    # wsproto reports "no close frame" as 1006 with a synthetic reason; keep the server's text.
    return TransportClosedError(code, (reason.reason if reason is not None else None) or "")


def _handshake_error(exc: BaseException, where: str) -> TransportError:
    """The `TransportError` for an upgrade that failed with `exc` (no secret in it)."""
    if isinstance(exc, trio_websocket.ConnectionRejected):
        return rejected_upgrade(where, exc.status_code)
    return TransportError(f"WebSocket handshake with {where} failed: {type(exc).__name__}")


@contextmanager
def _mapped(endpoint: Endpoint) -> Generator[None]:
    """Translate trio-websocket, OS and TLS errors during connect into `TransportError`."""
    with connect_errors(endpoint):
        try:
            yield
        except trio_websocket.HandshakeError as exc:
            raise _handshake_error(exc, endpoint.display_url) from None


class _ReaderHost:
    """Hosts trio-websocket's reader task in a nursery of its own.

    Why: trio-websocket 0.12 answers a ping that arrives after our close frame, which wsproto
    refuses with `LocalProtocolError` in its reader task. Our close is under way then and the
    peer's close reply is all that is left, so that error ends the reader quietly instead of
    failing the connection's nursery.

    And: trio-websocket reports a failed upgrade (an HTTP 403 or 503 answer, a reply that is
    not HTTP) from that reader task, not from `wrap_client_stream`, so `_mapped` never sees
    it; until the upgrade succeeded, the reader's error is raised as `TransportError` here.

    And: when the server ends the connection before a whole 101 answer (EOF, a reset, or
    an error answer without a length, which only EOF ends), trio-websocket's reader takes
    it for the abnormal close of an open WebSocket and returns quietly, while
    `wrap_client_stream` goes on waiting for an answer that cannot come: the user waited
    out `connect_timeout` and was told the connect was slow. That wait is the only hook
    (the connection is ours once it returns), so the reader runs as `read`, which cancels
    `upgrade`, the scope around `wrap_client_stream`, when the reader returns.
    """

    def __init__(self, where: str) -> None:
        self.closing = False
        self.opened = False  # the upgrade succeeded
        self._where = where
        # Set once trio-websocket has started its reader (or failed to): until then the
        # nursery must stay open to new tasks; afterwards it lives as long as the reader.
        self.attached = trio.Event()
        # Around `wrap_client_stream`; cancelled when the reader ends (see `read`).
        self.upgrade = trio.CancelScope()

    async def run(self, *, task_status: trio.TaskStatus[_ReaderNursery]) -> None:
        try:
            await self._host(task_status)
        except BaseExceptionGroup as group:
            failed = [leaf for leaf in leaf_exceptions(group) if isinstance(leaf, Exception)]
            if self.opened or not failed:
                raise
            rejected = [e for e in failed if isinstance(e, trio_websocket.ConnectionRejected)]
            raise _handshake_error((rejected or failed)[0], self._where) from None

    async def _host(self, task_status: trio.TaskStatus[_ReaderNursery]) -> None:
        try:
            async with trio.open_nursery() as nursery:
                task_status.started(_ReaderNursery(nursery, self))
                await self.attached.wait()
        except* wsproto.utilities.LocalProtocolError as group:
            if not self.closing:
                raise
            log.debug("trio-websocket failed after our close frame: %r", group.exceptions)

    async def read(self, reader: Callable[..., Awaitable[object]], *args: object) -> None:
        await reader(*args)
        # The connection has ended. Before the upgrade succeeded, this stops the wait for
        # an answer; afterwards `upgrade` has been left, and cancelling it does nothing.
        # If the 101 came just before the end, `wrap_client_stream` has been woken already
        # and returns the connection (whose first read reports the close), uncancelled.
        self.upgrade.cancel()


class _ReaderNursery:
    """The nursery `wrap_client_stream` gets: it starts the reader as `_ReaderHost.read`.

    Only `start_soon` is needed: trio-websocket starts its one reader task with it.
    """

    def __init__(self, nursery: trio.Nursery, host: _ReaderHost) -> None:
        self._nursery = nursery
        self._host = host

    def start_soon(
        self, async_fn: Callable[..., Awaitable[object]], *args: object, name: object = None
    ) -> None:
        # `name`: the task keeps the reader's name in trio's task tree, not `read`'s.
        self._nursery.start_soon(self._host.read, async_fn, *args, name=name or async_fn)


class _MeteredStream:
    """The stream under trio-websocket, whose long writes go through an `UplinkMeter`.

    trio-websocket writes each frame with one `send_all` of its own: metering it takes a
    stream in between. Its reads come through here too, to note when bytes last arrived
    (`received_at`): trio-websocket hands over nothing before a whole message, and a large
    one over a slow downlink takes longer than the heartbeat's silence limit.
    """

    def __init__(self, inner: trio.abc.Stream, uplink: UplinkMeter) -> None:
        self.inner = inner
        self.uplink = uplink
        self.received_at = -math.inf
        # A write was cut off part-way (cancelled): the stream may hold part of a frame,
        # and anything written after it (trio-websocket's close frame) would be read as the
        # rest of that frame: the server closed with 1007. Every later write is refused as
        # a broken stream, which trio-websocket takes for an abnormal close (no handshake).
        self.cut = False
        self.wait_send_all_might_not_block = inner.wait_send_all_might_not_block
        self.aclose = inner.aclose

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        if data:  # the end of the stream is no sign of life
            self.received_at = trio.current_time()
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.cut:
            raise trio.BrokenResourceError("a write was cut off part-way: the stream is broken")
        try:
            if len(data) > LONG_WRITE:
                await self.uplink.send_all(self.inner, data)
            else:
                await self.inner.send_all(data)
        except STREAM_ERRORS:
            raise
        except BaseException:
            self.cut = True  # cancelled part-way (or before the first byte: no telling)
            raise


class TrioWebsocketTransport:
    """`Transport` over a trio-websocket `WebSocketConnection`."""

    def __init__(
        self,
        connection: trio_websocket.WebSocketConnection,
        host: _ReaderHost,
        stream: _MeteredStream,
    ) -> None:
        """`stream`: the stream under `connection`, with its meters."""
        self._ws = connection
        self._host = host
        self._stream = stream
        self._uplink = stream.uplink

    @property
    def uplink(self) -> UplinkMeter:
        """How far the long writes have got (see `UplinkMeter`)."""
        return self._uplink

    @property
    def received_at(self) -> float:
        """When trio-websocket's reader last read bytes (see `_MeteredStream`)."""
        return self._stream.received_at

    async def send(self, frame: bytes) -> None:
        """Send one JSON message as a text frame."""
        try:
            # Text frames are what Google's SDKs send; the JSON is ASCII-safe UTF-8.
            await self._ws.send_message(frame.decode("utf-8"))
        except trio_websocket.ConnectionClosed as exc:
            raise _closed_from(exc) from None

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send several JSON messages as text frames, in order."""
        for frame in frames:
            await self.send(frame)

    def send_now(self, frame: bytes) -> bool | None:
        """Never: trio-websocket writes only from a task (see `send`)."""
        return False

    async def flush(self) -> None:
        """Nothing is ever left over (`send_now` does nothing)."""
        await trio.lowlevel.checkpoint()

    @property
    def consumer_readable(self) -> bool:
        """False: trio-websocket reads in a task of its own; its messages come by channel."""
        return False

    def writes_pending(self) -> bool:
        """Always False: trio-websocket writes its replies itself."""
        return False

    async def receive_batch(self, *, defer_writes: bool = False) -> list[bytes | str]:
        """Wait for the next message; raise `TransportClosedError` when the socket closes."""
        try:
            return [await self._ws.get_message()]
        except trio_websocket.ConnectionClosed as exc:
            raise _closed_from(exc) from None

    async def ping(self) -> None:
        """Send a ping and wait for the pong."""
        self._uplink.ping_sent()
        try:
            await self._ws.ping()
        except trio_websocket.ConnectionClosed as exc:
            raise _closed_from(exc) from None

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket with a close frame; idempotent."""
        self._host.closing = True
        await self._ws.aclose(code, reason or None)

    async def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Nothing (trio-websocket writes a close frame only in an `aclose` that waits).

        Its `aclose` waits for the reply: `abort` then ends the stream with no close frame
        (the server sees EOF).
        """
        await trio.lowlevel.checkpoint()

    async def abort(self) -> None:
        """Close the stream at once; idempotent.

        trio-websocket closes it only once its own close handshake is done or cancelled:
        after an EOF, or a close the server began, it waits for the server to end TCP
        first, and a connection that ends meanwhile left the stream open.
        """
        self._host.closing = True
        await close_forcefully(self._stream.inner)


async def open_trio_websocket(
    nursery: trio.Nursery,
    endpoint: Endpoint,
    *,
    ssl_context: ssl.SSLContext | None = None,
    connector: Connector | None = None,
    max_message_size: int = 16 * 1024 * 1024,
    receive_buffer_size: int = 64 * 1024,
) -> TrioWebsocketTransport:
    """Open the stream and perform the WebSocket upgrade; the reader task runs in `nursery`."""
    target = stream_target(endpoint)
    headers = [(name.encode("ascii"), value.encode("utf-8")) for name, value in endpoint.headers]
    log.debug("connecting to %s", endpoint.display_url)
    host = _ReaderHost(endpoint.display_url)
    with _mapped(endpoint):
        stream = await open_stream(endpoint, target, ssl_context=ssl_context, connector=connector)
        metered = _MeteredStream(stream, UplinkMeter(send_queue_reader(stream)))
        try:
            reader_nursery: _ReaderNursery = await nursery.start(host.run)
            connection: trio_websocket.WebSocketConnection | None = None
            try:
                with host.upgrade:
                    connection = await trio_websocket.wrap_client_stream(
                        cast("trio.Nursery", reader_nursery),
                        cast("trio.SocketStream", metered),
                        target.netloc,
                        target.resource,
                        extra_headers=headers,
                        max_message_size=max_message_size,
                        receive_buffer_size=receive_buffer_size,
                    )
                    host.opened = True
            finally:
                host.attached.set()
            if connection is None:  # `upgrade` was cancelled: the reader ended first
                raise TransportError(
                    f"the server closed the connection to {endpoint.display_url} "
                    "during the WebSocket upgrade"
                )
        except BaseException:
            # trio-websocket leaves the stream open when its handshake fails or is cancelled
            # (a server that never answers the upgrade, `connect_timeout`): close it here,
            # forcefully (a connector's TLS stream would wait to write its close_notify).
            await close_forcefully(stream)
            raise
    return TrioWebsocketTransport(connection, host, metered)


async def open_transport(
    nursery: trio.Nursery,
    endpoint: Endpoint,
    options: SessionOptions,
    *,
    connector: Connector | None = None,
) -> Transport:
    """Open the transport `options.transport` names; its background work runs in `nursery`."""
    opener: Callable[..., Awaitable[Transport]]
    if options.transport == "trio-websocket":
        opener = open_trio_websocket
    else:  # "websockets": `SessionOptions` accepts no other name
        # Imported here: that module imports this one (Connector, TransportClosedError).
        from ._transport_websockets import open_websockets

        opener = open_websockets
    return await opener(
        nursery,
        endpoint,
        ssl_context=options.tls_context(),
        connector=connector,
        max_message_size=options.max_message_size,
        receive_buffer_size=options.receive_buffer_size,
    )
