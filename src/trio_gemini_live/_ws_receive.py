"""Cutting the server's data frames out of received bytes, ahead of websockets' parser.

Why: websockets' sans-IO parser is a generator coroutine that reads each frame through a
stream reader, builds a `Frame` and checks it: about 3 us per 40 ms audio frame on the
project's machine, as much as decoding the frame into an event. Almost every frame the
Live API sends is the simplest kind: one unmasked, unfragmented text or binary frame with
no extension bits. Those are cut out here with a header read and one slice. Everything
else (control frames, fragments, masked or reserved bits, frames over the size limit) goes
to websockets as whole frames, so that its parser always starts at a frame boundary and
does the validation and the close handshake. Some things are decided here:

- A close frame between the fragments of a message ends that message first, so that
  websockets echoes the close (RFC 6455 5.4 allows it) rather than failing the connection
  with 1002.
- A frame whose header already breaks RFC 6455 (masked, an unknown opcode, reserved bits,
  a control frame over 125 bytes or fragmented, a continuation out of place) fails the
  connection (1002, websockets' own words) as soon as its header is here. Held back whole
  until its payload came, it waited for bytes a broken server may never send, and the
  heartbeat's pongs were swallowed as its payload.
- A payload length not in its shortest form, or of 64 bits with the top bit set, fails
  the connection (1002): RFC 6455 5.2 forbids both; websockets accepts the first and
  called the second a message over the size limit (1009).

The cutter owns the frame boundaries from the first byte after the HTTP response (the
handshake leaves it the bytes that came with the response). It stands aside for good when
a frame cannot be handed over whole (a frame over the size limit, which websockets fails
from its header alone; a frame failed here): from then on websockets gets every byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from websockets.exceptions import ProtocolError
from websockets.frames import CloseCode
from websockets.protocol import Protocol, State

__all__ = ["BINARY", "RAW", "TEXT", "FrameCutter"]

BINARY: Final = 0
"""An item of `FrameCutter.feed`: the payload of a complete binary message."""
TEXT: Final = 1
"""An item of `FrameCutter.feed`: the payload (UTF-8, not yet checked) of a text message."""
RAW: Final = 2
"""An item of `FrameCutter.feed`: wire bytes for websockets' `receive_data`."""

_CLOSE: Final = 0x8
_FIN_TEXT: Final = 0x81
_FIN_BINARY: Final = 0x82
_PLAIN: Final = (_FIN_BINARY, _FIN_TEXT)
_OPEN: Final = State.OPEN
_OPCODES: Final = frozenset((0x0, 0x1, 0x2, 0x8, 0x9, 0xA))
_NOT_SHORTEST: Final = "payload length not in its shortest form"


class FrameCutter:
    """Splits a client's incoming byte stream into plain data messages and the rest."""

    def __init__(self, protocol: Protocol, max_message_size: int | None) -> None:
        self._protocol = protocol
        self._max = max_message_size if max_message_size is not None else 1 << 63
        # An incomplete frame held back, and how many bytes it needs in all (0: its header
        # is not complete yet): a large message arriving in many reads is copied once.
        self._partial = bytearray()
        self._need = 0
        # websockets keeps the receive side's fragmentation state here (since 16.0); if a
        # release renames it, the cutter cannot know a frame's context and stands aside.
        self.active = hasattr(protocol, "current_size") and not protocol.extensions

    def feed(self, data: bytes | bytearray) -> Iterator[tuple[int, bytes]]:
        """Yield, in order, `(BINARY|TEXT, payload)` and `(RAW, bytes for websockets)`.

        Act on each item before taking the next: whether a frame may be cut out depends on
        the state websockets reached with the raw bytes before it.
        """
        partial = self._partial
        if partial:
            if len(partial) + len(data) < self._need:
                partial += data
                return  # still inside one frame
            data = bytes(partial) + data  # the read itself is copied once, as before
            partial.clear()
        elif type(data) is not bytes:
            data = bytes(data)  # messages are `bytes` (TLS and test streams give bytearray)
        if not self.active:
            yield RAW, data
            return
        protocol = self._protocol
        size = len(data)
        start = 0
        need = 0
        while start < size:
            if size - start < 2:
                break
            first, second = data[start], data[start + 1]
            length = second & 0x7F
            head = 2
            if length == 126:
                if size - start < 4:
                    break
                # Two indexings: cheaper than a slice and int.from_bytes, which pays for
                # the shortest-form check on the audio frames' usual length form.
                length = data[start + 2] << 8 | data[start + 3]
                head = 4
                if length < 126:
                    yield self._refuse(_NOT_SHORTEST, data[start:])
                    return
            elif length == 127:
                if size - start < 10:
                    break
                length = int.from_bytes(data[start + 2 : start + 10], "big")
                head = 10
                if not 0xFFFF < length < 1 << 63:
                    reason = _NOT_SHORTEST if length <= 0xFFFF else "payload length over 63 bits"
                    yield self._refuse(reason, data[start:])
                    return
            if second & 0x80:
                head += 4  # masked: not allowed from a server; websockets says so
            end = start + head + length
            if length > self._max or (
                protocol.current_size is not None  # a fragment: the message's size counts
                and first & 0x0F != _CLOSE  # (a close ends the message: see below)
                and length > self._max - protocol.current_size
            ):
                # websockets fails this frame from its header: it takes the rest. (Held
                # back whole, a fragment's header waited for a payload that may never come.)
                self.active = False
                yield RAW, data[start:]
                return
            if end > size:
                fragmented = protocol.current_size is not None
                if first not in _PLAIN or second & 0x80 or fragmented:
                    fault = _header_fault(first, second, length, fragmented)
                    if fault is not None:
                        yield self._refuse(fault, data[start:])
                        return
                need = end - start
                break
            if (
                first in _PLAIN
                and second < 0x80
                and protocol.state is _OPEN
                and protocol.current_size is None  # no fragmented message under way
            ):
                yield (BINARY if first == _FIN_BINARY else TEXT), data[start + head : end]
            else:
                if first & 0x0F == _CLOSE and protocol.current_size is not None:
                    # A close between a message's fragments is legal (RFC 6455 5.4: control
                    # frames may come in between); websockets fails the connection for it
                    # (1002, "incomplete fragmented message") instead of echoing the code.
                    # The message can never end now: it is dropped, and websockets told so.
                    protocol.current_size = None
                yield RAW, data[start:end]
            start = end
        if start < size:
            partial += memoryview(data)[start:]
            self._need = need

    def _refuse(self, reason: str, rest: bytes) -> tuple[int, bytes]:
        """Fail the connection (1002) as websockets' parser does; it discards `rest`.

        Only while open: after a close websockets decides alone, as before (it discards
        what follows the server's close; after ours the connection is ending anyway).
        """
        self.active = False
        protocol = self._protocol
        if protocol.state is _OPEN:
            protocol.fail(CloseCode.PROTOCOL_ERROR, reason)
            protocol.parser_exc = ProtocolError(reason)  # what the transport reports
        return RAW, rest

    def leftover(self) -> bytes:
        """Bytes of an incomplete frame held back; empties the cutter (at end of stream)."""
        held = bytes(self._partial)
        self._partial.clear()
        return held


def _header_fault(first: int, second: int, length: int, fragmented: bool) -> str | None:
    """What breaks RFC 6455 in a frame's header, in websockets' words and order, or None.

    `fragmented`: a message's fragments are under way.
    """
    opcode = first & 0x0F
    if opcode not in _OPCODES:
        return "invalid opcode"
    if second & 0x80:
        return "incorrect masking"
    if first & 0x70:
        return "reserved bits must be 0"  # no extension: the cutter is off with one
    if opcode & 0x08:
        if length > 125:
            return "control frame too long"
        return None if first & 0x80 else "fragmented control frame"
    if opcode == 0:
        return None if fragmented else "unexpected continuation frame"
    return "expected a continuation frame" if fragmented else None
