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
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from typing import Final, Protocol, cast

import trio
import trio_websocket
import wsproto.events
import wsproto.utilities
from wsproto import ConnectionType
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, RejectConnection

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
    cannot_be_http,
    close_forcefully,
    connect_errors,
    not_http_answer,
    open_stream,
    rejected_upgrade,
    stream_target,
)
from ._ws_limit import LimitedWSConnection, MessageLimit

__all__ = [
    "MAX_CLOSE_REASON",
    "TRANSPORTS",
    "Connector",
    "Transport",
    "TransportClosedError",
    "TrioWebsocketTransport",
    "fit_close_reason",
    "open_trio_websocket",
]

log = logging.getLogger("trio_gemini_live.transport")


MAX_CLOSE_REASON: Final = 123
"""Bytes of UTF-8 a close frame's reason can hold (a control frame's 125, less the code)."""

_STREAM_CLOSE_WAIT: Final = 1.0  # the stream's own `aclose` (a TLS close_notify)

_UNSENDABLE_CODES: Final = frozenset({1005, 1006, 1015})
"""Close codes that only report a close and no close frame may carry (RFC 6455 7.4.1)."""


def fit_close_reason(reason: str) -> str:
    """`reason` cut to what a close frame can carry: 123 bytes of UTF-8, whole characters.

    A reason quoting the server's text (a `RemoteProtocolError`'s message) can hold
    characters of up to 4 bytes each: cut to 120 characters it went over the limit, and
    websockets refused to send the close (its `ProtocolError` escaped the session). A lone
    surrogate, which UTF-8 cannot carry, becomes "?".
    """
    if reason.isascii() and len(reason) <= MAX_CLOSE_REASON:
        return reason  # the usual case
    data = reason.encode("utf-8", "replace")
    # Decoding drops a character cut in two at the end; the rest is valid UTF-8.
    return data[:MAX_CLOSE_REASON].decode("utf-8", "ignore")


class TransportClosedError(Exception):
    """The WebSocket closed; `code` is 1006 when no close frame was received.

    `unwritten`: raised by a send that wrote no byte of its frames (the connection was
    closing or closed already), so none of them reached the server. False when part of
    them may have, or when the transport cannot tell.

    `local_failure`: the client failed the connection itself (RFC 6455 7.1.7) because of
    what the server sent: a frame that breaks the protocol (1002: a masked frame, reserved
    bits, an unknown opcode, a bad close code...), text or a close reason that is not UTF-8
    (1007), a message over `max_message_size` (1009). `code` and `reason` are then those of
    the client's close frame, not the server's.

    `own_close`: no close frame came from the server after the client's own (the wait for
    it ran out, or ended): `code` and `reason` are those of the client's close frame. The
    server may not have read everything written before it (see `SessionCore.close_received`).
    """

    def __init__(
        self,
        code: int,
        reason: str,
        *,
        unwritten: bool = False,
        local_failure: bool = False,
        own_close: bool = False,
    ) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.unwritten = unwritten
        self.local_failure = local_failure
        self.own_close = own_close


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
    def writes_begun(self) -> int:
        """How many writes to the stream have begun, ours and the transport's own (pongs).

        A `send` or `send_many` that raised `trio.Cancelled` while this count stayed the
        same wrote no byte of its frames, and none of them goes out later: the session
        reports them as never written, and the stream is whole for a close frame.
        """
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


def _closed_from(
    exc: trio_websocket.ConnectionClosed, connection: _ClientWebSocket
) -> TransportClosedError:
    failed = connection.failed
    if failed is not None:
        # Our close, not the server's (see `_ClientWebSocket`).
        reason = fit_close_reason(failed.reason or "")
        return TransportClosedError(int(failed.code), reason, local_failure=True)
    closed = exc.reason
    # int(): trio-websocket gives wsproto's `CloseReason` enum for known codes; events carry
    # plain ints whichever transport made them.
    code = int(closed.code) if closed is not None else 1006
    # wsproto reports "no close frame" as 1006 with a synthetic reason; keep the server's text.
    return TransportClosedError(code, (closed.reason if closed is not None else None) or "")


class _ClientProtocol(LimitedWSConnection):
    """wsproto's client connection, which refuses what it would otherwise wait on.

    An answer that cannot be HTTP: h11 waits for the blank line that ends a response head,
    a server of another protocol (an SSH greeting on that port) never sends one, and the
    upgrade waited out `connect_timeout`, reported as a slow connect. Here the first bytes
    decide, and the failure (`not_http`) ends trio-websocket's reader, which ends the
    upgrade.

    A frame declaring more than `max_message_size` fails from its header (`MessageLimit`):
    trio-websocket's own count, on the payload, waited for a payload the server might never
    send, and took its hang-up for a dropped connection, resumed; the default transport
    fails it at once with 1009.
    """

    def __init__(self, max_message_size: int) -> None:
        super().__init__(ConnectionType.CLIENT, MessageLimit(max_message_size))
        self.not_http = False
        self._answer = b""  # the first bytes of the answer to the upgrade

    def receive_data(self, data: bytes | None) -> None:
        """Feed received bytes to wsproto, refusing an answer that is not HTTP."""
        if self.connection is None and data:
            self._answer = (self._answer + data)[:16]
            if cannot_be_http(self._answer):
                self.not_http = True
                # trio-websocket's reader closes the stream and ends on this error.
                raise wsproto.utilities.RemoteProtocolError("not an HTTP response", None)
        super().receive_data(data)


class _ClientWebSocket(trio_websocket.WebSocketConnection):
    """trio-websocket's client connection, which tells the closes it starts from the server's.

    When the server breaks the protocol (a masked frame, text or a close reason that is not
    UTF-8, a bad close code...), wsproto turns the error into a close event of its own, which
    trio-websocket reported as if the server had sent it ("connection closed by the server:
    1007", blaming the user's setup during the upgrade), and it dropped the stream without a
    close frame. Here that close is sent, as RFC 6455 (7.1.7) asks of an endpoint failing
    the connection, and kept in `failed`, as is the 1009 for a message over
    `max_message_size` (`MessageLimit`): every close frame this side sends before the
    server's close and not through `send_close_frame`.

    It also keeps the status of an upgrade the server refused (`rejected`): an answer
    without a length ends with the stream, and trio-websocket, which never tells wsproto of
    that end, then reports no rejection at all.
    """

    def __init__(
        self,
        stream: _MeteredStream,
        *,
        host: str,
        resource: str,
        extra_headers: list[tuple[bytes, bytes]],
        max_message_size: int,
        receive_buffer_size: int,
    ) -> None:
        """The arguments `trio_websocket.wrap_client_stream` takes."""
        super().__init__(
            cast("trio.SocketStream", stream),
            _ClientProtocol(max_message_size),
            host=host,
            path=resource,
            client_extra_headers=extra_headers,
            max_message_size=max_message_size,
            receive_buffer_size=receive_buffer_size,
        )
        self.failed: trio_websocket.CloseReason | None = None
        self.rejected = 0  # the HTTP status of a refused upgrade
        self._closing = False  # our close frame went (`send_close_frame`): no failure

    @property
    def not_http(self) -> bool:
        """Whether the answer to the upgrade was refused as not HTTP (see `_ClientProtocol`)."""
        return cast("_ClientProtocol", self._wsproto).not_http

    async def upgrade(self, nursery: _ReaderNursery) -> None:
        """Start the reader in `nursery` and wait until the upgrade succeeded.

        As `trio_websocket.wrap_client_stream` does with the connection it builds.
        """
        nursery.start_soon(self._reader_task)
        await self._open_handshake.wait()

    @property
    def is_open(self) -> bool:
        """Whether messages may still be sent: no close frame has gone either way."""
        return self._wsproto.state is ConnectionState.OPEN and self._close_reason is None

    def get_message_nowait(self) -> bytes | str:
        """The next message the reader has queued, without waiting.

        Raises:
            trio.WouldBlock: none is queued (also once the reader has ended).
        """
        try:
            return self._recv_channel.receive_nowait()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise trio.WouldBlock from None  # `get_message` reports the close

    async def send_close_frame(self, code: int, reason: str) -> None:
        """Write a close frame if the WebSocket is open, and not wait for the reply.

        A code no close frame may carry (1005, 1006, 1015) or one out of range sends 1000.
        Once not open, it waits for the write under way, if any: our close frame from
        another task (`send_close` as a cancelled connection is released) would be cut
        off by the stream's close that follows, and the server saw 1006.
        """
        if self._wsproto.state is not ConnectionState.OPEN:
            async with self._stream_lock:
                return
        self._closing = True
        if code in _UNSENDABLE_CODES or not 1000 <= code <= 4999:
            code = 1000
        data = self._wsproto.send(CloseConnection(code=code, reason=reason or None))
        # Not `_send`: a failed write made trio-websocket take the connection for aborted
        # (1006) and stop its reader, while the server's own close, written before it went
        # away (1007 and its reason, say), may be waiting to be read. The reader finds it,
        # or the end of the stream (1006).
        async with self._stream_lock:
            with suppress(*STREAM_ERRORS):
                await self._stream.send_all(data)

    async def _send(self, event: wsproto.events.Event) -> None:
        if isinstance(event, wsproto.events.Pong) and self._wsproto.state is not (
            ConnectionState.OPEN
        ):
            # A ping that came after our close frame: wsproto refuses to answer it, and
            # the error ended the reader, which then never read the server's messages
            # still on their way, nor its close reply.
            await trio.lowlevel.checkpoint()
            return
        if (
            isinstance(event, CloseConnection)
            and not self._closing
            and self._wsproto.state is ConnectionState.OPEN
        ):
            self.failed = trio_websocket.CloseReason(event.code, event.reason or None)
        await super()._send(event)

    async def _handle_close_connection_event(self, event: CloseConnection) -> None:
        if self._wsproto.state is ConnectionState.OPEN:
            # A close wsproto made for a frame that broke the protocol: the server's own
            # close leaves the state REMOTE_CLOSING (or CLOSED, after ours).
            with suppress(trio_websocket.ConnectionClosed):
                await self._send(event)
        await super()._handle_close_connection_event(event)

    async def _handle_reject_connection_event(self, event: RejectConnection) -> None:
        self.rejected = event.status_code
        await super()._handle_reject_connection_event(event)


def _handshake_error(exc: BaseException, where: str) -> TransportError:
    """The `TransportError` for an upgrade that failed with `exc` (no secret in it)."""
    if isinstance(exc, trio_websocket.ConnectionRejected):
        return rejected_upgrade(where, exc.status_code)
    return TransportError(f"WebSocket handshake with {where} failed: {type(exc).__name__}")


class _ReaderHost:
    """Hosts trio-websocket's reader task in a nursery of its own.

    Why: trio-websocket 0.12 may write from its reader task after our close frame (the close
    it makes for a frame of the server's that breaks the protocol), which wsproto refuses
    with `LocalProtocolError`. Our close is under way then and the peer's close reply is all
    that is left, so that error ends the reader quietly instead of failing the connection's
    nursery. (A pong after our close frame is not written at all: see `_ClientWebSocket`.)

    And: trio-websocket reports a failed upgrade (an HTTP 403 or 503 answer, a reply h11
    cannot parse) from that reader task, not from the wait for the upgrade
    (`_ClientWebSocket.upgrade`), so `_mapped` never sees it; until the upgrade succeeded,
    the reader's error is raised as `TransportError` here.

    And: when the server ends the connection before a whole 101 answer (EOF, a reset, or
    an error answer without a length, which only EOF ends), trio-websocket's reader takes
    it for the abnormal close of an open WebSocket and returns quietly, while the wait for
    the upgrade goes on waiting for an answer that cannot come: the user waited out
    `connect_timeout` and was told the connect was slow. So the reader runs as `read`, which
    cancels `upgrade`, the scope around that wait, when the reader returns (the status of
    an error answer is then `_ClientWebSocket.rejected`).
    """

    def __init__(self, where: str) -> None:
        self.closing = False
        self.opened = False  # the upgrade succeeded
        self._where = where
        # Set once trio-websocket has started its reader (or failed to): until then the
        # nursery must stay open to new tasks; afterwards it lives as long as the reader.
        self.attached = trio.Event()
        # Around the wait for the upgrade; cancelled when the reader ends (see `read`).
        self.upgrade = trio.CancelScope()

    async def run(self, *, task_status: trio.TaskStatus[_ReaderNursery]) -> None:
        try:
            await self._host(task_status)
        except BaseExceptionGroup as group:
            failed = [leaf for leaf in leaf_exceptions(group) if isinstance(leaf, Exception)]
            if self.opened or not failed:
                raise
            rejected = [e for e in failed if isinstance(e, trio_websocket.ConnectionRejected)]
            error = _handshake_error((rejected or failed)[0], self._where)
        else:
            return
        # Raised outside the `except`: `from None` only hides `__context__`, and
        # trio-websocket's and h11's errors hold the server's answer, which may echo the key.
        raise error

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
        # If the 101 came just before the end, the wait for it has been woken already and
        # returns (the connection's first read reports the close), uncancelled.
        self.upgrade.cancel()


class _ReaderNursery:
    """The nursery the connection gets: it starts the reader as `_ReaderHost.read`.

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
        self.writes_begun = 0  # see `Transport.writes_begun`
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
        # Cancelled before the write begins, it wrote nothing, and trio-websocket drops the
        # frame (its bytes are the caller's): the stream is whole, a close frame can follow.
        await trio.lowlevel.checkpoint_if_cancelled()
        self.writes_begun += 1
        try:
            if len(data) > LONG_WRITE:
                await self.uplink.send_all(self.inner, data)
            else:
                await self.inner.send_all(data)
        except STREAM_ERRORS:
            raise
        except BaseException:
            # Cancelled part-way, or waiting for room before the first byte: no telling.
            self.cut = True
            raise


class TrioWebsocketTransport:
    """`Transport` over a trio-websocket `WebSocketConnection`.

    trio-websocket's reader task hands each message over through a channel of one; the
    caller of `receive_batch` (the connection's receiver) takes them from there, and
    `aclose` does while nobody else does, as `WebsocketsTransport` reads the socket: the
    messages that arrive before the server's close reply stay readable after the close.
    """

    def __init__(
        self,
        connection: _ClientWebSocket,
        host: _ReaderHost,
        stream: _MeteredStream,
    ) -> None:
        """`stream`: the stream under `connection`, with its meters."""
        self._ws = connection
        self._host = host
        self._stream = stream
        self._uplink = stream.uplink
        self._ready: list[bytes | str] = []
        self._closed: TransportClosedError | None = None
        # Our close frame's code and reason, once `aclose` has begun: how the connection
        # ended if no close comes back.
        self._own_close: TransportClosedError | None = None
        self._stream_closed = False
        # One taker at a time (the receiver, or `aclose` waiting for the close reply): two
        # waiting on the channel would each get every other message, out of order.
        self._taking = False
        self._taken: trio.Event | None = None

    @property
    def uplink(self) -> UplinkMeter:
        """How far the long writes have got (see `UplinkMeter`)."""
        return self._uplink

    @property
    def received_at(self) -> float:
        """When trio-websocket's reader last read bytes (see `_MeteredStream`)."""
        return self._stream.received_at

    def _refused(self) -> TransportClosedError | None:
        """How the connection ended or is ending, for a write refused before any byte."""
        if self._ws.is_open:
            return None
        error = self._closed or self._own_close
        if error is None:
            closed = self._ws.closed  # the server's close, read but not yet taken
            error = self._closed_by(trio_websocket.ConnectionClosed(closed))
        return TransportClosedError(error.code, error.reason, unwritten=True)

    async def send(self, frame: bytes) -> None:
        """Send one JSON message as a text frame."""
        refused = self._refused()
        if refused is not None:
            # After our close frame, trio-websocket handed the message to wsproto, whose
            # `LocalProtocolError` escaped.
            raise refused
        try:
            # Text frames are what Google's SDKs send; the JSON is ASCII-safe UTF-8.
            await self._ws.send_message(frame.decode("utf-8"))
        except trio_websocket.ConnectionClosed as exc:
            raise self._closed_by(exc) from None

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send several JSON messages as text frames, in order."""
        for frame in frames:
            await self.send(frame)

    @property
    def writes_begun(self) -> int:
        """How many writes to the stream have begun (see `Transport.writes_begun`)."""
        return self._stream.writes_begun

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
        """Wait for the next messages; raise `TransportClosedError` when the socket closes.

        Messages that arrived before the close are returned first, also those `aclose`
        took while it waited for the server's close reply.
        """
        while True:
            ready = self._ready
            if ready:
                self._ready = []
                return ready
            if self._closed is not None:
                raise self._closed
            await self._take()

    async def _take(self) -> None:
        """Wait for the reader's next message, then take every one queued behind it."""
        if self._taking:
            waiter = self._taken
            if waiter is None:
                waiter = self._taken = trio.Event()
            await waiter.wait()
            return
        self._taking = True
        try:
            message = await self._ws.get_message()
        except trio_websocket.ConnectionClosed as exc:
            if self._closed is None:
                self._closed = self._closed_by(exc)
            return
        finally:
            self._taking = False
            waiter = self._taken
            if waiter is not None:
                self._taken = None
                waiter.set()
        ready = self._ready
        ready.append(message)
        with suppress(trio.WouldBlock):
            while True:
                ready.append(self._ws.get_message_nowait())

    def _closed_by(self, exc: trio_websocket.ConnectionClosed) -> TransportClosedError:
        if exc.reason is None and self._ws.failed is None and self._own_close is not None:
            # The reader ended with no close either way (cancelled, by an outer deadline
            # say) after our close frame: that close is the last word, as no reply came.
            return self._own_close
        return _closed_from(exc, self._ws)

    async def ping(self) -> None:
        """Send a ping and wait for the pong."""
        refused = self._refused()
        if refused is not None:
            raise TransportClosedError(refused.code, refused.reason)
        self._uplink.ping_sent()
        try:
            await self._ws.ping()
        except trio_websocket.ConnectionClosed as exc:
            raise self._closed_by(exc) from None

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket with a close frame and wait for the reply; idempotent.

        Not trio-websocket's `aclose`: that one dropped every message already read (its
        channel closed first) and reported any close as its own 1000, the server's 1007
        that crossed ours too. Here the messages that come before the server's close stay
        readable (`receive_batch`), and its code and reason are the connection's end. The
        wait is the caller's to bound (`SessionOptions.close_timeout`); it ends at once
        when trio-websocket's reader has ended (an outer cancellation takes it too), as
        nobody is left to read the reply.
        """
        if self._stream_closed:
            await trio.lowlevel.checkpoint()
            return
        self._host.closing = True
        reason = fit_close_reason(reason)
        if self._own_close is None:
            self._own_close = TransportClosedError(code, reason, own_close=True)
        try:
            # No close frame behind a write cut off part-way: it would be read as the rest
            # of that frame, and the server could not answer it. The stream is dropped.
            if not self._stream.cut:
                # Waits for a write under way (trio-websocket's lock): its frame goes whole.
                await self._ws.send_close_frame(code, reason)
                while self._closed is None and not self._stream.cut:
                    await self._take()
        finally:
            if self._closed is None:
                self._closed = self._own_close
            await self._close_stream(graceful=not self._stream.cut)

    async def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Write a close frame if the WebSocket is open, without waiting for the reply.

        trio-websocket's own `aclose` waits for it: a connection given up (cancelled) then
        ended with no close frame, and the server saw an abnormal closure (1006).
        """
        self._host.closing = True
        if self._stream.cut:  # a frame cut off part-way: a close frame would continue it
            await trio.lowlevel.checkpoint()
            return
        await self._ws.send_close_frame(code, fit_close_reason(reason))

    async def abort(self) -> None:
        """Close the stream at once; idempotent.

        trio-websocket closes it only once its own close handshake is done or cancelled:
        after an EOF, or a close the server began, it waits for the server to end TCP
        first, and a connection that ends meanwhile left the stream open.
        """
        self._host.closing = True
        await self._close_stream(graceful=False)

    async def _close_stream(self, *, graceful: bool) -> None:
        self._stream_closed = True
        if not graceful:
            await close_forcefully(self._stream.inner)
            return
        # Shielded and bounded: a stream's own goodbye (a TLS close_notify) can wait on a
        # peer that reads nothing; cut short, the stream is closed forcefully all the same.
        deadline = trio.current_time() + _STREAM_CLOSE_WAIT
        with trio.CancelScope(shield=True, deadline=deadline), suppress(*STREAM_ERRORS):
            await self._stream.inner.aclose()


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
    log.debug("connecting to %s", endpoint.display_url)
    with connect_errors(endpoint):
        try:
            return await _open_upgraded(
                nursery,
                endpoint,
                ssl_context=ssl_context,
                connector=connector,
                max_message_size=max_message_size,
                receive_buffer_size=receive_buffer_size,
            )
        except trio_websocket.HandshakeError as exc:
            error = _handshake_error(exc, endpoint.display_url)
    # Raised outside the `except` and the `with` (whose exit runs while the original is
    # being handled): `from None` only hides `__context__`, and trio-websocket's error
    # holds the server's answer, which may echo the key.
    raise error


async def _open_upgraded(
    nursery: trio.Nursery,
    endpoint: Endpoint,
    *,
    ssl_context: ssl.SSLContext | None,
    connector: Connector | None,
    max_message_size: int,
    receive_buffer_size: int,
) -> TrioWebsocketTransport:
    """Open the stream and upgrade it (`open_trio_websocket` maps trio-websocket's errors)."""
    target = stream_target(endpoint)
    headers = [(name.encode("ascii"), value.encode("utf-8")) for name, value in endpoint.headers]
    host = _ReaderHost(endpoint.display_url)
    stream = await open_stream(endpoint, target, ssl_context=ssl_context, connector=connector)
    metered = _MeteredStream(stream, UplinkMeter(send_queue_reader(stream)))
    try:
        reader_nursery: _ReaderNursery = await nursery.start(host.run)
        connection = _ClientWebSocket(
            metered,
            host=target.netloc,
            resource=target.resource,
            extra_headers=headers,
            max_message_size=max_message_size,
            receive_buffer_size=receive_buffer_size,
        )
        try:
            with host.upgrade:
                await connection.upgrade(reader_nursery)
                host.opened = True
        finally:
            host.attached.set()
        if not host.opened:  # `upgrade` was cancelled: the reader ended first
            if connection.not_http:
                raise not_http_answer(endpoint.display_url)
            if connection.rejected:
                # An answer without a length, which only the end of the stream ends.
                raise rejected_upgrade(endpoint.display_url, connection.rejected)
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
