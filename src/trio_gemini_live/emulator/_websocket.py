"""The emulator's side of a WebSocket: trio-websocket's connection, reading ahead of the model.

trio-websocket's reader hands messages over through a channel of one: while the connection's
handler was busy (the model waiting for a write to finish, say) the reader read nothing, so
the client's close frame waited behind the messages before it. A client that closes then
(trio-websocket's, after its `close_timeout`) dropped the connection, and the messages still
in the socket were lost with the close: the emulator recorded 1006 and fewer frames than the
client had sent. Google's frontend reads a client's frames as they arrive, whatever the model
is doing. So does this reader, up to `READ_AHEAD` bytes of messages not yet handled; past
that it waits, and the client's writes with it (backpressure, as over TCP).

It also records the close it sends of its own accord (`sent_close`): the 1009 for a message
over `max_message_size`, the close wsproto asks for when the client's frames break the
protocol (1002). The connection's close reason alone does not say who closed, and the
client's close read behind ours overwrites it.

A message over `max_message_size` is refused from the header of the frame that passes it
(`MessageLimit`, as the client's transport does): trio-websocket counts the payload as it
arrives, so a header declaring 2**40 bytes and nothing behind it held the connection until
its deadline.

A close is never cut off by the stream's close: the reader, having read the client's close
behind ours, closes the stream only once ours is written (`_handle_close_connection_event`),
and the handler waits for the reply the reader is writing (`wait_for_writes`).

A text message that is not UTF-8 is not closed at once, as wsproto asks: `NotUtf8Text`
takes its place among the messages, so that the handler answers the ones before it first
(the setup's `setupComplete`), then closes with Google's 1007, as for any invalid frame.
"""

from __future__ import annotations

import contextlib
import sys

import trio
import wsproto
import wsproto.events
from trio_websocket import CloseReason, ConnectionClosed, WebSocketConnection, WebSocketRequest
from wsproto import ConnectionType
from wsproto.connection import ConnectionState

from .._ws_limit import LimitedWSConnection, MessageLimit

__all__ = ["READ_AHEAD", "NotUtf8Text", "ServerWebSocket"]

_CLOSE_REASON_FAILURE = "Error decoding CLOSE reason"
"""How wsproto's 1007 for a close frame's reason begins; its other 1007 is a text message's."""


class NotUtf8Text(bytes):
    """A client text message that was not UTF-8, in its place among the messages.

    `bytes`, the type trio-websocket's message channel carries; empty: wsproto has thrown
    the payload away, so there is nothing of it to record.
    """


READ_AHEAD = 8 * 1024 * 1024
"""Bytes (characters of text messages) of complete client messages read and not yet handled
past which the reader stops reading the socket: ~3 minutes of 16 kHz audio.

Only complete messages count: the one being read is read to its end (up to
`max_message_size`, past which it is refused with 1009) whatever the bound, since only a
complete message can be handled and make room. So the reader holds at most `READ_AHEAD`
plus one message and the part of the next."""


def _size_in_bytes(data: str | bytes | bytearray) -> int:
    """The size of a message part in bytes: a text part's in UTF-8, as it came."""
    # `isascii` costs nothing (CPython knows it of every str): the usual JSON text, base64
    # audio included, is not encoded again.
    if not isinstance(data, str) or data.isascii():
        return len(data)
    return len(data.encode())


class ServerWebSocket(WebSocketConnection):
    """trio-websocket's server connection, as the emulator serves it.

    Its reader reads ahead of the handler (`READ_AHEAD`), so that the client's close is
    answered at once and the messages before it are still there to be read. Its pong can be
    delayed (`pong_delay`). Its `get_request` also ends when the stream ends without an
    upgrade request. A close it sends of its own accord is kept in `sent_close`.
    """

    def __init__(self, stream: trio.abc.Stream, *, max_message_size: int) -> None:
        # trio-websocket's words for its own 1009, which the header's check keeps.
        too_big = f"Exceeded maximum message size: {max_message_size} bytes"
        super().__init__(
            stream,
            LimitedWSConnection(
                ConnectionType.SERVER, MessageLimit(max_message_size, reason=too_big)
            ),
            max_message_size=max_message_size,
            # Bounded in bytes instead (`_handle_message_event`): a count of messages says
            # nothing of the memory they hold.
            message_queue_size=sys.maxsize,
        )
        self.pong_delay = 0.0
        self.nursery: trio.Nursery | None = None
        # Set once the client's upgrade request has been read, or once the reader task has
        # ended without one: trio-websocket's own `_get_request` waits for a request only,
        # so a plain HTTP request (answered 400), garbage or a peer gone mid-request held
        # the stream, its task and its file descriptor until the handshake timeout.
        self._handshake_read = trio.Event()
        self._request_read = False
        self._unread = 0  # size of the messages read and not yet taken by `get_message`
        self._partial = 0  # size of the parts read of the message being read
        self._partial_bytes = 0  # the same in bytes (a text message's in UTF-8)
        self._room = trio.Event()  # set when `_unread` shrinks, or the connection closes
        self._closing = False  # `aclose` called: the close it sends is not `sent_close`
        self._sent_close: CloseReason | None = None
        self.close_written = False  # a close frame of ours (any) has been written whole
        self.client_close: CloseReason | None = None  # the client's close frame, once read
        # A text message was not UTF-8: what follows it is dropped, and so are the closes
        # wsproto asks for while its message decoder is left in the middle of that message.
        self._not_utf8 = False

    @property
    def sent_close(self) -> CloseReason | None:
        """The close this side sent of its own accord, not through `aclose`; else `None`.

        1009 for a message over `max_message_size`, or the code wsproto gave a frame that
        broke the protocol (1002; a text message that is not UTF-8 is the handler's to
        close: `NotUtf8Text`). Known before the handler can see the connection closed: the
        close is sent, and `get_message` woken, while the reader is still in the middle of
        it. Kept apart from the connection's close reason, which the client's close frame
        read in the same batch as the message replaced (1000 recorded for our 1009).
        """
        return self._sent_close

    def start_reader(self, nursery: trio.Nursery) -> None:
        """Start the reader task in `nursery` (the connection's)."""
        self.nursery = nursery
        nursery.start_soon(self._reader_task)

    async def _reader_task(self) -> None:
        try:
            await super()._reader_task()
        finally:
            # No request comes once the reader has ended: it is the one that reads them.
            self._handshake_read.set()

    async def _handle_request_event(self, event: wsproto.events.Request) -> None:
        await super()._handle_request_event(event)
        self._request_read = True
        self._handshake_read.set()

    async def get_request(self) -> WebSocketRequest | None:
        """The client's upgrade request; `None` if the stream ended without one.

        `None` comes as soon as the reader task ends: the request was not an upgrade
        (trio-websocket has answered it 400 and closed the stream), or the peer closed or
        reset the stream before its request was complete.
        """
        await self._handshake_read.wait()
        if not self._request_read:
            return None
        return await self._get_request()  # at once: the request is there

    async def _handle_message_event(
        self, event: wsproto.events.BytesMessage | wsproto.events.TextMessage
    ) -> None:
        if self._not_utf8:
            return  # after the handler's 1007, as every message after an invalid one
        # Counted part by part, `get_message` returning their join: in characters against
        # `READ_AHEAD`, as `get_message` counts what it hands out; in bytes against
        # `max_message_size`, as documented (trio-websocket counts a text message's
        # characters: one of up to 4 times the limit passed).
        self._partial += len(event.data)
        self._partial_bytes += _size_in_bytes(event.data)
        if self._partial_bytes > self._max_message_size:
            self._partial = self._partial_bytes = 0  # as trio-websocket drops the parts it has
            if self._wsproto.state is not ConnectionState.OPEN:
                # Our close went out first: no 1009 can follow it (wsproto refuses to send
                # it, which killed the reader). Dropped, as every message read after it.
                self._message_parts, self._message_size = [], 0
                return
            # trio-websocket sends 1009 (`_send` keeps it). Its own count is in characters,
            # which may still be under the limit: full, so that this part (not empty: it
            # passed the limit) takes it over. (Only without the header's check: another
            # wsproto, or a compressed message.)
            self._message_size = self._max_message_size
            await super()._handle_message_event(event)
            return
        await super()._handle_message_event(event)
        if not event.message_finished:
            # A message in progress never waits for room: only a complete one, taken by
            # `get_message`, makes some. Waiting here (on a message over `READ_AHEAD`)
            # waited for ever, pings unanswered, and its 1009 never came.
            return
        self._unread += self._partial
        self._partial = self._partial_bytes = 0
        while self._unread > READ_AHEAD and not self._closing and self._close_reason is None:
            await self._room.wait()

    async def _handle_close_connection_event(self, event: wsproto.events.CloseConnection) -> None:
        if self._wsproto.state is ConnectionState.OPEN and self._not_utf8:
            return  # wsproto's decoder is lost in the bad message: the handler closes
        if self._wsproto.state is not ConnectionState.OPEN:  # else one wsproto made
            self.client_close = CloseReason(event.code, event.reason or None)
        reason = event.reason or ""
        if (
            self._wsproto.state is ConnectionState.OPEN
            and event.code == 1007
            and not reason.startswith(_CLOSE_REASON_FAILURE)
        ):
            # wsproto's close for a text message that is not UTF-8, with Python's words
            # ("'utf-8' codec can't decode byte 0xff ..."), sent before the messages read
            # ahead of it were handled: a valid setup then got no `setupComplete`.
            self._not_utf8 = True
            self._message_parts, self._message_size = [], 0
            self._partial = self._partial_bytes = 0
            await self._send_channel.send(NotUtf8Text())
            return
        if self._wsproto.state is ConnectionState.OPEN:
            # A close wsproto made, not one the client sent (that one leaves the state
            # REMOTE_CLOSING): the client's frames broke the protocol. trio-websocket would
            # drop the stream without a close frame (the client sees 1006, the emulator
            # took it for the client's close); send it, as RFC 6455 asks when failing the
            # connection, and keep it as ours.
            self._close_reason = CloseReason(event.code, event.reason or None)
            with contextlib.suppress(ConnectionClosed):
                await self._send(event)  # kept as ours (`_send`)
        elif self._wsproto.state is ConnectionState.CLOSED:
            # The client's close, behind ours: trio-websocket closes the stream next, and
            # cut off our close frame still being written (the handler's 1007 behind a
            # slow write), the client saw no close frame at all. The write is bounded by
            # the handler's `close_timeout`, past which it closes the stream itself.
            await self.wait_for_writes()
        await super()._handle_close_connection_event(event)

    async def _send(self, event: wsproto.events.Event) -> None:
        if (
            isinstance(event, wsproto.events.CloseConnection)
            and not self._closing
            and self._wsproto.state is ConnectionState.OPEN
        ):
            # A close of our own accord, not `aclose`'s nor the reply to the client's:
            # kept before the write, which lets the handler run.
            self._sent_close = CloseReason(event.code, event.reason or None)
        await super()._send(event)
        if isinstance(event, wsproto.events.CloseConnection):
            self.close_written = True

    async def wait_for_writes(self) -> None:
        """Wait until the frames being written are written (or their write has failed).

        The reader answers the client's close with a close frame while the handler may
        already see the connection closed: closing the stream then cut the reply off.
        """
        async with self._stream_lock:
            pass

    async def get_message(self) -> str | bytes:
        """The next client message, read ahead or waited for (see `READ_AHEAD`).

        Raises:
            ConnectionClosed: the connection has closed and every message read before
                the close has been taken.
        """
        message = await super().get_message()  # a `NotUtf8Text` too, in its place
        self._unread -= len(message)
        self._make_room()
        return message

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        """Close with a close frame, and wait for the client's (see trio-websocket's).

        A reader waiting for room is let go first: it reads the client's close frame.
        """
        self._closing = True
        self._make_room()
        await super().aclose(code, reason)

    def _make_room(self) -> None:
        self._room.set()
        self._room = trio.Event()

    async def _handle_ping_event(self, event: wsproto.events.Ping) -> None:
        if self._wsproto.state is not ConnectionState.OPEN:
            # A ping that crossed our close frame: wsproto sends nothing more once it has
            # sent a close (trio-websocket would raise, and fail the connection), and the
            # client is about to read our close anyway.
            return
        if self.pong_delay and self.nursery is not None:
            self.nursery.start_soon(self._late_pong, event.response(), self.pong_delay)
            return
        await super()._handle_ping_event(event)

    async def _late_pong(self, pong: wsproto.events.Pong, delay: float) -> None:
        await trio.sleep(delay)
        if self._wsproto.state is ConnectionState.OPEN:  # not once a close has gone out
            with contextlib.suppress(ConnectionClosed):
                await self._send(pong)
