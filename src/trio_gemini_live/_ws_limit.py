"""A message over `max_message_size` failed from the header of the frame that passes it.

trio-websocket counts a message's size as its payload arrives: a header declaring more
(2**62 bytes) and nothing behind it was read as a frame on its way, and the connection held
until the peer gave up. Both ends of this package's trio-websocket connections check the
header instead: the client's transport (`_transport`) and the emulator's server side.
"""

from __future__ import annotations

from contextlib import suppress

from wsproto import ConnectionType, WSConnection
from wsproto.events import Event
from wsproto.frame_protocol import CloseReason, Opcode, ParseFailed, RsvBits

__all__ = ["LimitedWSConnection", "MessageLimit"]


class MessageLimit:
    """Fails a message over `max_message_size` from the header of the frame that passes it.

    wsproto's frame decoder hands each frame header, once complete, to its
    `extension_processing`; `install` puts this check in front of it on the decoder itself,
    and a failure here is wsproto's own: a close event of this side's (1009), with
    websockets' words unless `reason` says otherwise. (Not as an `Extension` in the
    decoder's list: with any extension there, wsproto copies every payload through it, a
    quarter more CPU a frame.) Control frames are not counted: they are no part of the
    message (RFC 6455 5.4).
    """

    def __init__(self, limit: int, *, reason: str | None = None) -> None:
        self._limit = limit
        self._reason = reason  # the close's reason for every failure; None: websockets'
        self._size = 0  # what the frames of the message under way declared so far

    def install(self, decoder: object) -> None:
        """Check each frame header `decoder` (wsproto's `FrameDecoder`) parses from now on.

        A decoder without `extension_processing` (another wsproto) is left as it is: it
        keeps trio-websocket's own check (on the payload), which
        tests/test_transport_websockets.py would report.
        """
        headers = getattr(decoder, "extension_processing", None)
        if not callable(headers):
            return
        check = self.check

        def extension_processing(opcode: Opcode, rsv: RsvBits, payload_len: int) -> None:
            check(opcode, payload_len)
            headers(opcode, rsv, payload_len)

        with suppress(AttributeError):  # a decoder with __slots__: as without the method
            decoder.extension_processing = extension_processing  # type: ignore[attr-defined]

    def check(self, opcode: Opcode, payload_length: int) -> None:
        """Count a data frame's declared length into its message's; fail past the limit."""
        if opcode.iscontrol():
            return
        before = self._size if opcode is Opcode.CONTINUATION else 0
        if before + payload_length > self._limit:
            reason = self._reason
            if reason is None:
                after = f"after reading {before} bytes " if opcode is Opcode.CONTINUATION else ""
                reason = (
                    f"frame with {payload_length} bytes {after}exceeds limit of {self._limit} bytes"
                )
            raise ParseFailed(reason, CloseReason.MESSAGE_TOO_BIG)
        self._size = before + payload_length


class LimitedWSConnection(WSConnection):
    """wsproto's connection, its frame decoder checked by a `MessageLimit` from the start.

    The decoder exists once the upgrade is done: a client's when it reads the answer
    (`receive_data`), a server's when it sends its `AcceptConnection` (`send`). Frames are
    parsed only as `events` is read, so the check comes before the first one either way.
    """

    def __init__(self, connection_type: ConnectionType, limit: MessageLimit) -> None:
        super().__init__(connection_type)
        self._limit: MessageLimit | None = limit

    def receive_data(self, data: bytes | None) -> None:
        """Feed received bytes to wsproto (see `WSConnection.receive_data`)."""
        super().receive_data(data)
        self._install_limit()

    def send(self, event: Event) -> bytes:
        """The bytes that send `event` (see `WSConnection.send`)."""
        data = super().send(event)
        self._install_limit()
        return data

    def _install_limit(self) -> None:
        """Put the limit in front of the frame decoder, once there is one.

        wsproto has no public way to see a frame's header, so its decoder is reached by
        name; a wsproto without it keeps trio-websocket's own check (on the payload), which
        tests/test_transport_websockets.py would report.
        """
        if self._limit is None or self.connection is None:
            return
        limit, self._limit = self._limit, None
        limit.install(getattr(getattr(self.connection, "_proto", None), "_frame_decoder", None))
