"""The fast transport: websockets' sans-IO protocol driven directly by the receiver task.

trio-websocket runs its own reader task and hands each message to the connection's receiver
through a channel (two task hand-offs per frame). Here the caller of `receive_batch` (the
connection's receiver) reads the socket itself: one large read, whose plain data frames are
cut out directly (`_ws_receive`) while everything else is fed, frame by frame, to websockets'
sans-IO `ClientProtocol` (C-accelerated masking), and every complete message of that read
returned as one batch. Pings from the server are answered from the same path; our own pings
are resolved when the receiver sees the pong. Sends go through the same protocol object and
one write lock; on a plain TCP socket `send_now` writes from the caller's task without
waiting when nobody else is writing (the session's fast path: no hand-off to the sender),
and the receiver reads the socket directly (`_read_socket`: fewer system calls per read).
The close handshake is bounded by the caller (`SessionOptions.close_timeout`) and, as a
backstop, by `CLOSE_WAIT`.

It takes the same connector hook, TLS setup, exception mapping and URL redaction as
`open_trio_websocket`, and the same close semantics: the server's code and reason, 1006 when
the stream ended without a close frame; when the server broke the protocol, the close the
client sent for it (`TransportClosedError.local_failure`: 1002, 1007 for text that is not
UTF-8, 1009 for a message over `max_message_size`).
"""

from __future__ import annotations

import logging
import math
import os
import re
import ssl
from collections.abc import Sequence
from contextlib import suppress
from typing import Final

import trio
from websockets.client import ClientProtocol
from websockets.exceptions import (
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
    ProtocolError,
)
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from ._endpoints import Endpoint
from ._errors import TransportError
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
from ._transport import TransportClosedError, fit_close_reason
from ._ws_frame import TextFramer
from ._ws_receive import BINARY, TEXT, FrameCutter

__all__ = ["CLOSE_WAIT", "WebsocketsTransport", "open_websockets"]

log = logging.getLogger("trio_gemini_live.transport")

CLOSE_WAIT: Final = 10.0
"""Backstop (seconds) for the close handshake when the caller sets no deadline."""

_CLOSE_REPLY_WAIT: Final = 1.0  # the reply to a server's close, before the close is reported
_STREAM_CLOSE_WAIT: Final = 1.0  # the stream's own `aclose` (a TLS close_notify)

_TEXT: Final = Opcode.TEXT
_BINARY: Final = Opcode.BINARY
_CONT: Final = Opcode.CONT
_PONG: Final = Opcode.PONG
_OPEN: Final = State.OPEN

# An upgrade answer's head (a 101 is a few hundred bytes; h11 stops at 16 KiB). websockets'
# own limits (128 headers of up to 8 KiB) let one run to 1 MiB, a slow failure.
_MAX_RESPONSE_HEAD: Final = 64 * 1024
_BARE_LF: Final = re.compile(rb"(?<!\r)\n")


class WebsocketsTransport:
    """`Transport` over a byte stream, framed by websockets' sans-IO `ClientProtocol`.

    `receive_batch` is meant for one task (the connection's receiver); pongs to `ping()`
    and the server's close frame are seen by whoever reads, so `ping()` returns only while
    someone is receiving. `aclose()` reads the close reply itself when nobody else is.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: ClientProtocol,
        *,
        receive_buffer_size: int = 64 * 1024,
        max_message_size: int = 16 * 1024 * 1024,
        leftover: bytes = b"",
    ) -> None:
        """`leftover`: bytes that came after the HTTP response in the handshake's reads."""
        self._stream = stream
        self._protocol = protocol
        self._bufsize = receive_buffer_size
        self._write_lock = trio.StrictFIFOLock()
        self._ready: list[bytes | str] = []
        self._fragments: list[bytes] = []
        self._fragment_text = False
        self._closed: TransportClosedError | None = None
        self._stream_closed = False
        # A write failed: the peer is gone. How the connection ended is still the reader's
        # to find (the peer's close frame may be in the receive buffer): see `_flush`.
        self._write_failed = False
        # A write was cut off part-way (cancelled): the stream may hold part of a frame,
        # and anything written after it would be read as the rest of that frame (a close
        # frame behind it made the server close with 1007). Nothing is written any more
        # (`_write_failed` is set too), and `aclose` drops the stream without a handshake.
        self._write_cut = False
        # Our close frame went out (`aclose`, `send_close`): a close websockets sends after
        # that is no failure of its own.
        self._close_requested = False
        self._writes_begun = 0
        self._reading = False
        self._read_done: trio.Event | None = None
        self._pings: dict[bytes, trio.Event] = {}
        self._ping_count = 0
        self._uplink = UplinkMeter(send_queue_reader(stream))
        # When a read last brought bytes, part of a frame or not (see `Transport`).
        self.received_at = -math.inf
        # A plain TCP socket (not TLS, not a test stream) is read directly (`_read_socket`).
        plain = type(stream) is trio.SocketStream and os.name == "posix"
        self._fd = stream.socket.fileno() if isinstance(stream, trio.SocketStream) and plain else -1
        self._more = True  # the handshake's read may have left bytes behind
        self._unsent = b""  # the part of a `send_now` frame the socket did not take
        # `send_now` frames text itself; with an extension (compression, which we never
        # offer) it leaves the frame to `send`.
        self._framer = None if protocol.extensions else TextFramer()
        # Plain data frames are cut out before websockets' parser (see `_ws_receive`).
        self._cutter = FrameCutter(protocol, max_message_size)
        self._absorb()
        if leftover:
            self._feed(leftover)  # frames that arrived with the handshake response
        # What those frames call for (the reply to a close, a pong) cannot be written here:
        # the first `receive_batch` writes it, or `aclose` if that comes first. Until then
        # nobody reads, and a close that came with the 101 (the emulator's refusal of a bad
        # key) left the client raising its code without ever replying (RFC 6455 5.5.1).
        self._leftover_writes = bool(protocol.writes)

    # --- receiving -----------------------------------------------------------------------

    @property
    def consumer_readable(self) -> bool:
        """True while open: a read is the calling task's own wait on the stream.

        It can be cancelled before any byte is taken (for TLS, as trio documents, outside
        a renegotiation).
        """
        return not self._stream_closed

    def writes_pending(self) -> bool:
        """Whether the protocol has queued bytes (a pong) that no write has sent yet."""
        return bool(self._protocol.writes) or bool(self._unsent)

    async def receive_batch(self, *, defer_writes: bool = False) -> list[bytes | str]:
        """Read once and return every complete message of that read (at least one).

        `defer_writes`: a pong the read calls for stays queued for the next write (see
        `writes_pending`), and a read that brought only pings returns no message, so that
        the caller can have it written; the reply to the server's close is still written,
        shielded and bounded, as the connection ends.

        Raises:
            TransportClosedError: the WebSocket closed; messages that arrived before the
                close were returned first.
        """
        if self._leftover_writes:
            self._leftover_writes = False
            await self._write_replies(defer_writes)
            if self._closed is not None:
                await self._close_stream()
            elif defer_writes and self._protocol.writes and not self._ready:
                return []  # a ping came with the 101: the caller has its pong written first
        while True:
            ready = self._ready
            if ready:
                self._ready = []
                return ready
            if self._closed is not None:
                raise self._closed
            await self._read_once(defer_writes)
            if defer_writes and self._protocol.writes and not self._ready:
                return []  # only a ping came: the caller has its pong written first

    async def _read_once(self, defer_writes: bool = False) -> None:
        if self._reading:
            # One reader at a time (the receiver, or `aclose` waiting for the close reply):
            # the other waits for that read and then looks at what it brought.
            waiter = self._read_done
            if waiter is None:
                waiter = self._read_done = trio.Event()
            await waiter.wait()
            return
        self._reading = True
        try:
            data: bytes | bytearray
            if self._fd >= 0 and not self._stream_closed:
                data = await self._read_socket()
            else:
                data = await self._stream.receive_some(self._bufsize)
        except STREAM_ERRORS:
            data = b""
        finally:
            self._reading = False
            waiter = self._read_done
            if waiter is not None:
                self._read_done = None
                waiter.set()
        protocol = self._protocol
        if data:
            self.received_at = trio.current_time()
            self._feed(data)
        else:
            rest = self._cutter.leftover()
            if rest:
                protocol.receive_data(rest)  # an incomplete frame: websockets reports it
            protocol.receive_eof()
        self._absorb()
        if data:  # after EOF nobody reads what we would write
            await self._write_replies(defer_writes)
        if self._closed is not None:
            await self._close_stream()

    async def _write_replies(self, defer_writes: bool) -> None:
        """Write what the frames read call for: the reply to the server's close, or pongs."""
        if not self._protocol.writes:
            return
        if self._closed is not None:
            # The reply to the server's close, written by a caller that may be cancelled
            # at any time: shielded, so no frame is cut in half, and bounded: behind a
            # write that no longer moves (a server that stopped reading, then closed),
            # it held the close, code and reason, until the heartbeat gave up.
            with (
                trio.CancelScope(shield=True),
                trio.move_on_after(_CLOSE_REPLY_WAIT),
                suppress(TransportClosedError),
            ):
                await self._flush()
        elif not defer_writes:
            # A pong. If it cannot be written, the next read finds how the connection
            # ended.
            with suppress(TransportClosedError):
                await self._flush()

    async def _read_socket(self) -> bytes:
        """One read of a plain TCP socket, with fewer system calls and wake-ups per read.

        `SocketStream.receive_some` tries `recv` first and, when nothing is there (the usual
        case for real-time frames), registers, waits and tries again, then yields once more
        after a successful read. Here a short previous read means the socket is drained:
        wait for readiness first, then read (the wait was the checkpoint). After a full
        read, read at once and yield without a cancellation point, as trio does, so that
        bytes read are never lost to a cancellation.
        """
        fd, size = self._fd, self._bufsize
        if self._more:
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                data = os.read(fd, size)
            except BlockingIOError:
                pass
            else:
                self._more = len(data) == size
                await trio.lowlevel.cancel_shielded_checkpoint()
                return data
        while True:
            await trio.lowlevel.wait_readable(fd)
            try:
                data = os.read(fd, size)
            except BlockingIOError:
                continue  # a spurious wake-up
            self._more = len(data) == size
            return data

    def _feed(self, data: bytes | bytearray) -> None:
        """Take a read's bytes: plain data messages at once, the rest through websockets."""
        ready = self._ready
        for kind, chunk in self._cutter.feed(data):
            if kind == BINARY:
                ready.append(chunk)
            elif kind == TEXT:
                self._add_text(chunk)
            else:
                self._protocol.receive_data(chunk)
                self._absorb()  # in order: its messages before the next cut-out frame

    def _absorb(self) -> None:
        """Turn the protocol's new frames into messages; note pongs and the close."""
        ready = self._ready
        for frame in self._protocol.events_received():
            if self._closed is not None:
                break  # failed on a message (invalid UTF-8): nothing after it is delivered
            if not isinstance(frame, Frame):
                continue  # the handshake response
            opcode = frame.opcode
            if opcode is _BINARY or opcode is _TEXT:
                if not frame.fin:
                    self._fragment_text = opcode is _TEXT
                    self._fragments = [bytes(frame.data)]
                elif opcode is _TEXT:
                    self._add_text(bytes(frame.data))
                else:
                    ready.append(bytes(frame.data))
            elif opcode is _CONT:
                self._fragments.append(bytes(frame.data))
                if frame.fin:
                    message = b"".join(self._fragments)
                    self._fragments = []
                    if self._fragment_text:
                        self._add_text(message)
                    else:
                        ready.append(message)
            elif opcode is _PONG:
                self._pong(bytes(frame.data))
        if self._protocol.state is not _OPEN and self._closed is None:
            self._note_closed()

    def _add_text(self, data: bytes) -> None:
        """Queue a text message; invalid UTF-8 fails the connection (1007)."""
        try:
            self._ready.append(data.decode())
        except UnicodeDecodeError:
            if self._close_requested:
                # Behind our own close frame: no close can say so any more.
                self._set_closed(TransportClosedError(1006, ""))
                return
            reason = "invalid UTF-8 in a text message"
            if self._protocol.state is _OPEN:
                self._protocol.fail(1007, reason)
            # Else websockets failed the connection on a later frame of the same read (its
            # close names that one): the first fault is reported, as when the frame cutter
            # hands the frames over one at a time and nothing after this one is parsed.
            self._set_closed(TransportClosedError(1007, reason, local_failure=True))

    def _note_closed(self) -> None:
        protocol = self._protocol
        received = protocol.close_rcvd
        error = protocol.parser_exc
        sent = protocol.close_sent
        if received is not None:
            # The server's close, also when it came in the middle of a fragmented message
            # (echoed: see `_ws_receive`; websockets alone fails the connection for it).
            # int(): a close without a code is websockets' `CloseCode` enum (1005).
            self._set_closed(TransportClosedError(int(received.code), received.reason))
        elif error is not None and sent is not None and not self._close_requested:
            # The server broke the protocol, and websockets closed for it (1002, 1007 for a
            # close reason that is not UTF-8; 1009 for a message over `max_message_size`):
            # that close, code and reason, as sent ("frame with 2000 bytes exceeds limit of
            # 1000 bytes"; the transport said otherwise than its close frame did).
            closed = TransportClosedError(int(sent.code), sent.reason, local_failure=True)
            self._set_closed(closed)
        elif error is not None or protocol.state is State.CLOSED:
            # No close frame: the stream ended (or broke the framing after our close).
            self._set_closed(TransportClosedError(1006, ""))

    def _set_closed(self, error: TransportClosedError) -> None:
        if self._closed is None:
            self._closed = error
        for event in self._pings.values():
            event.set()
        self._pings.clear()

    def _pong(self, payload: bytes) -> None:
        # A pong acknowledges its ping and every ping sent before it; unsolicited ones
        # (RFC 6455 allows them as a heartbeat) acknowledge nothing.
        if payload not in self._pings:
            return
        for key in list(self._pings):
            self._pings.pop(key).set()
            if key == payload:
                break

    # --- sending -------------------------------------------------------------------------

    @property
    def uplink(self) -> UplinkMeter:
        """How far the long writes have got (see `UplinkMeter`)."""
        return self._uplink

    @property
    def writes_begun(self) -> int:
        """How many writes to the stream have begun (see `Transport.writes_begun`)."""
        return self._writes_begun

    async def send(self, frame: bytes) -> None:
        """Send one JSON message as a text frame."""
        await self.send_many((frame,))

    async def send_many(self, frames: Sequence[bytes]) -> None:
        """Send several JSON messages as text frames, in order, with one socket write.

        Cancelled before its write begins (`writes_begun`), it has queued nothing: no byte
        of the frames goes out, now or behind a later write.
        """
        self._protocol_to_send()  # refused at once while closing, not after the lock
        await self._flush(frames, data=True)

    def send_now(self, frame: bytes) -> bool | None:
        """Write one text frame from the caller, without waiting, if the socket is free.

        Returns False when no byte of the frame was written: another write is in progress,
        bytes are left over, the stream is not a plain socket, an extension frames the
        messages, the connection is closing, the socket's buffer is full, or the write
        failed (the peer is gone: the write that `send` then tries reports it, and the
        receiver how the connection ended). Send it with `send` instead; replies queued
        before it (pongs) are kept, and go out first. True: the whole frame went to the
        socket. None: only part of it fit; the rest is kept, written first by the next
        `flush`, which the caller must arrange.
        """
        framer = self._framer
        if (
            framer is None  # the protocol frames it, and cannot take it back if not written
            or self._fd < 0
            or self._unsent
            or self._write_failed
            or self._write_lock.locked()
            or self._closed is not None
            or self._stream_closed
            or self._protocol.state is not _OPEN
        ):
            return False
        writes = self._protocol.data_to_send()  # replies a read queued (pongs) go first
        replies = b"".join(writes) if writes else b""
        data = framer.frame(frame)
        if replies:
            data = replies + data
        self._writes_begun += 1
        try:
            sent = os.write(self._fd, data)
        except BlockingIOError:
            sent = 0
        except OSError:
            # Not written, and never will be: the caller queues it, and the write that
            # `send` tries then tells the session so (`_write_refused`), which reports it
            # as not sent rather than count it as sent. The receiver finds how the
            # connection ended (see `_flush`).
            self._write_failed = True
            return False
        if sent <= len(replies):
            # None of the frame went (a full buffer): the rest of the replies is kept, and
            # written before the frame by the `send` the caller makes of it.
            self._unsent = replies[sent:]
            return False
        if sent < len(data):
            self._unsent = data[sent:]
            return None
        return True

    async def flush(self) -> None:
        """Write whatever is left over or queued."""
        await self._flush(data=True)

    async def ping(self) -> None:
        """Send a ping and wait until the receiver sees its pong."""
        protocol = self._open_protocol()
        self._ping_count += 1
        payload = self._ping_count.to_bytes(4, "big")
        event = trio.Event()
        self._pings[payload] = event
        self._uplink.ping_sent()
        protocol.send_ping(payload)
        await self._flush()
        await event.wait()
        if self._closed is not None:
            raise self._closed

    def _open_protocol(self) -> ClientProtocol:
        """The protocol, while it may send; else raise how the connection ended or is ending."""
        if self._closed is not None:
            raise self._closed
        protocol = self._protocol
        if protocol.state is not _OPEN:
            raise self._closing_error()
        return protocol

    def _protocol_to_send(self) -> ClientProtocol:
        """`_open_protocol` for a send: refused, it says that no byte of the frames left."""
        try:
            return self._open_protocol()
        except TransportClosedError as exc:
            raise TransportClosedError(exc.code, exc.reason, unwritten=True) from None

    def _closing_error(self) -> TransportClosedError:
        sent = self._protocol.close_sent
        if sent is not None:
            return TransportClosedError(sent.code, sent.reason, own_close=True)
        return TransportClosedError(1006, "")

    async def _flush(self, frames: Sequence[bytes] = (), *, data: bool = False) -> None:
        """Queue `frames` as text frames, then write whatever the protocol has queued.

        In order, one writer at a time. `data`: the caller sends client messages (or the
        rest of one): if they cannot be written, it is told so even once the close
        handshake has begun, so that the session reports them rather than count them as
        sent.
        """
        lock = self._write_lock
        try:
            lock.acquire_nowait()  # the common case: no yield for an uncontended lock
        except trio.WouldBlock:
            await lock.acquire()
        try:
            # Cancelled here, or waiting for the lock, the call has written nothing and
            # taken nothing from the protocol: `frames` are never queued (the session
            # reports them as never written), and what was queued before (a pong, the rest
            # of a frame `send_now` began) is still whole for the next write, our close
            # frame's say. Cancelled once the write began, it may have been cut part-way.
            await trio.lowlevel.checkpoint_if_cancelled()
            if frames:
                # Text frames are what Google's SDKs send; the JSON is ASCII-safe UTF-8.
                send_text = self._protocol_to_send().send_text
                for frame in frames:
                    send_text(frame)
            writes = self._protocol.data_to_send()
            unsent = self._unsent
            if not writes and not unsent:
                return  # written by whoever held the lock before (a close's flush, say)
            if self._stream_closed:
                if data:
                    raise self._closed or self._closing_error()
                return
            if self._write_failed:
                refused = self._write_refused(data)
                if refused is not None:
                    raise refused
                return
            if unsent:  # what `send_now` could not write goes first
                self._unsent = b""
                writes = [unsent, *writes]
            joined = writes[0] if len(writes) == 1 else b"".join(writes)
            if not joined:
                return  # only the end-of-stream marker: `_close_stream` handles it
            # No yield since the check above: a cancellation now comes from inside the write.
            self._writes_begun += 1
            try:
                if len(joined) > LONG_WRITE:
                    await self._uplink.send_all(self._stream, joined)
                else:
                    await self._stream.send_all(joined)
            except STREAM_ERRORS:
                # The peer is gone, but a failed write does not say how the connection
                # ended: the peer's close frame (1008 and its reason, say) may be in the
                # receive buffer still, or a pong may have crossed our own close frame. The
                # reader finds the close frame, or EOF (1006).
                self._write_failed = True
                refused = self._write_refused(data)
                if refused is not None:
                    raise refused from None
            except BaseException:
                # Cancelled part-way, or waiting for room before the first byte (no telling
                # which): see `_write_cut`.
                self._write_failed = self._write_cut = True
                raise
        finally:
            lock.release()

    def _write_refused(self, data: bool) -> TransportClosedError | None:
        """What a writer is told once a write failed.

        An error while the connection is open (the reader reports the outcome as soon as it
        reads), and always to a writer of client messages: they did not go out. Nothing to
        a writer of a pong or of our close frame once the close handshake has begun: it is
        waiting for the peer's close frame anyway.
        """
        if data:
            return self._closed or self._closing_error()
        if self._protocol.state is _OPEN:
            return self._closed or TransportClosedError(1006, "")
        return None

    # --- closing -------------------------------------------------------------------------

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket with a close frame and wait (bounded) for the reply."""
        if self._stream_closed:
            return
        protocol = self._protocol
        self._leftover_writes = False  # written here, if nobody received before
        reason = fit_close_reason(reason)
        try:
            self._close_frame(code, reason)
            if protocol.writes and not self._write_cut:
                # Our close frame (behind any pong still queued); or, when the server's
                # close came with the 101 and nobody has received since, the reply to it.
                # Bounded as the wait for the server's close below. It waits for a write
                # under way, whose frame then goes out whole.
                with trio.move_on_after(CLOSE_WAIT), suppress(TransportClosedError):
                    await self._flush()
            # Best effort: a write failing while we wait (a pong after the peer went away)
            # only ends the wait. No close frame went behind a write cut off part-way: the
            # server cannot answer one, and the stream is dropped at once.
            with trio.move_on_after(CLOSE_WAIT), suppress(TransportClosedError):
                while self._closed is None and not self._write_cut:
                    await self._read_once()
        finally:
            if self._closed is None:
                self._set_closed(TransportClosedError(code, reason, own_close=True))
            if self._write_cut:
                await self.abort()
            await self._close_stream()

    async def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Write a close frame if the WebSocket is open, without waiting for the reply."""
        if self._stream_closed:
            return
        self._close_frame(code, fit_close_reason(reason))
        with suppress(TransportClosedError):
            await self._flush()

    def _close_frame(self, code: int, reason: str) -> None:
        """Queue our close frame if the WebSocket is open; `reason` must fit (123 bytes)."""
        protocol = self._protocol
        if protocol.state is not _OPEN:
            return
        self._close_requested = True
        try:
            protocol.send_close(code, reason)
        except ProtocolError:
            # A code no close frame may carry (1005, 1006, 1015: wsproto sends 1000 for
            # those), or one outside the ranges: a normal close rather than an escape.
            protocol.send_close(1000)

    async def abort(self) -> None:
        """Close the stream at once, without a close handshake; idempotent."""
        if self._closed is None:
            self._set_closed(TransportClosedError(1006, ""))
        if not self._stream_closed:
            self._stream_closed = True
            await close_forcefully(self._stream)

    async def _close_stream(self) -> None:
        if self._stream_closed:
            return
        self._stream_closed = True
        # Shielded, and bounded too: a stream's own goodbye can wait on a peer that reads
        # nothing (a connector's TLS stream sends close_notify), and cancelled, `aclose`
        # still closes the stream, forcefully.
        deadline = trio.current_time() + _STREAM_CLOSE_WAIT
        with trio.CancelScope(shield=True, deadline=deadline), suppress(*STREAM_ERRORS):
            await self._stream.aclose()


# --- opening -------------------------------------------------------------------------------


async def _handshake(
    stream: trio.abc.Stream, protocol: ClientProtocol, endpoint: Endpoint, bufsize: int
) -> bytes:
    """Send the upgrade request and read the response; return the bytes that followed it.

    websockets gets the response up to the end of its headers (a 101 has no body), so that
    frames sent right behind it reach the frame cutter, which must see every frame from
    the first. Any other response goes to websockets whole, as it comes.
    """
    request = protocol.connect()
    for name, value in endpoint.headers:
        refused = False
        try:
            request.headers[name] = value
        except Exception:
            refused = True
        if refused:
            # websockets' InvalidHeaderValue quotes the value, an API key or token (an
            # `Endpoint` built by hand skips the builders' checks): only the name is said,
            # and raised outside the `except`, so that the original is not its __context__.
            raise TransportError(
                f"the {name!r} header's value cannot be sent in an HTTP header (a control or "
                "non-ASCII character?); the value is not shown"
            )
    protocol.send_request(request)
    await stream.send_all(b"".join(protocol.data_to_send()))
    where = endpoint.display_url
    head = bytearray()  # the response so far, until the end of its headers is seen
    passthrough = False  # not a 101: websockets takes the rest as it comes
    leftover = b""
    hung_up = False  # the stream ended before the response did
    while protocol.state is State.CONNECTING and protocol.handshake_exc is None:
        data = await stream.receive_some(bufsize)
        if not data:
            if head:
                protocol.receive_data(bytes(head))
            protocol.receive_eof()
            hung_up = True
            break
        if passthrough:
            protocol.receive_data(data)  # a response that is not a 101: websockets decides
            continue
        seen = len(head)
        head += data
        if cannot_be_http(head):
            raise not_http_answer(where)
        end = _head_end(head, seen, where)
        if end < 0:
            continue
        if head.startswith(b"HTTP/1.1 101"):
            protocol.receive_data(bytes(head[:end]))
            leftover = bytes(head[end:])
        else:
            protocol.receive_data(bytes(head))  # an error response: websockets reads it all
            passthrough = True
        head.clear()  # fed: the end of the stream must not feed it again
    error = protocol.handshake_exc
    # websockets words a response cut short by the end of the stream as an invalid message
    # (caused by EOFError): the server hung up, and that is what is said.
    if hung_up and (
        error is None
        or (isinstance(error, InvalidMessage) and isinstance(error.__cause__, EOFError))
    ):
        raise TransportError(
            f"the server closed the connection to {where} during the WebSocket upgrade"
        )
    if isinstance(error, InvalidStatus):
        raise rejected_upgrade(where, error.response.status_code)
    if error is not None:
        name = type(error).__name__ if isinstance(error, InvalidHandshake) else "HandshakeError"
        raise TransportError(f"WebSocket handshake with {where} failed: {name}")
    return leftover


def _head_end(head: bytearray, seen: int, where: str) -> int:
    """Where the response head ends in `head` (-1: not yet), of which `seen` bytes were seen.

    Only the new bytes are searched: rescanning the whole head on every read was quadratic.

    Raises:
        TransportError: a line ends with a bare LF (websockets' parser takes none, and it
            waited for a CRLF that never came), or the head runs past `_MAX_RESPONSE_HEAD`.
    """
    end = head.find(b"\r\n\r\n", max(0, seen - 3))
    end = -1 if end < 0 else end + 4
    # Up to the head's end: the frames behind a 101 may hold any byte.
    if _BARE_LF.search(head, seen, len(head) if end < 0 else end):
        raise TransportError(
            f"the server's answer to the WebSocket upgrade at {where} ends a line with a bare "
            'LF, not CRLF; the "websockets" transport cannot read it ("trio-websocket" can)'
        )
    if end < 0 and len(head) >= _MAX_RESPONSE_HEAD:
        raise TransportError(
            f"the server's answer to the WebSocket upgrade at {where} has more than "
            f"{_MAX_RESPONSE_HEAD // 1024} KiB of headers"
        )
    return end


async def open_websockets(
    nursery: trio.Nursery,
    endpoint: Endpoint,
    *,
    ssl_context: ssl.SSLContext | None = None,
    connector: Connector | None = None,
    max_message_size: int = 16 * 1024 * 1024,
    receive_buffer_size: int = 64 * 1024,
) -> WebsocketsTransport:
    """Open the stream and perform the WebSocket upgrade (no background task is started).

    `nursery` is accepted for the `open_transport` signature; this transport needs none.
    """
    del nursery
    log.debug("connecting to %s", endpoint.display_url)
    stream: trio.abc.Stream | None = None
    try:
        with connect_errors(endpoint):
            stream = await open_stream(
                endpoint, stream_target(endpoint), ssl_context=ssl_context, connector=connector
            )
            try:
                uri = parse_uri(endpoint.url)
            except InvalidURI as exc:
                # Its message shows the URL as given, secret query values and all: only
                # websockets' reason is kept (a user name without a password, say).
                raise TransportError(
                    f"invalid WebSocket URL {endpoint.display_url}: {exc.msg}"
                ) from None
            except ValueError:
                raise TransportError(f"invalid WebSocket URL {endpoint.display_url}") from None
            protocol = ClientProtocol(uri, max_size=max_message_size, logger=log)
            # websockets' debug log prints every header (the API key) and every frame.
            protocol.debug = False
            leftover = await _handshake(stream, protocol, endpoint, receive_buffer_size)
    except BaseException:
        if stream is not None:
            await close_forcefully(stream)  # this connection never opened
        raise
    transport = WebsocketsTransport(
        stream,
        protocol,
        receive_buffer_size=receive_buffer_size,
        max_message_size=max_message_size,
        leftover=leftover,
    )
    return transport
