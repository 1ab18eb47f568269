"""The frame cutter gives exactly what websockets' parser alone gives, for any byte stream.

Differential: the same server bytes, cut into the same reads, go through the transport
with the cutter and with the cutter standing aside (websockets does everything). The
messages, the close outcome, the protocol's state and what the client writes back (pongs,
the close reply) must be the same, but for the one thing the cutter decides itself: a close
between a message's fragments is echoed, where websockets alone fails the connection. The
streams mix plain data frames (the cutter's) with
everything it hands over: control frames, fragments, masked frames, reserved bits, unknown
opcodes, control frames too long or fragmented, invalid UTF-8, frames over the size limit,
and frames after the close. (The cutter fails a frame whose header breaks RFC 6455 before
its payload comes, websockets after: with every frame complete in the end, both agree. A
length not in its shortest form, which websockets accepts, is not generated: see
`test_a_length_not_in_its_shortest_form_fails_the_connection`.)
"""

from __future__ import annotations

import itertools
import struct
from typing import Any

import pytest
from hypothesis import example, given, strategies as st
from websockets.client import ClientProtocol
from websockets.exceptions import ProtocolError
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import Protocol, Side, State
from websockets.uri import parse_uri

from trio_gemini_live._transport_websockets import WebsocketsTransport
from trio_gemini_live._ws_receive import BINARY, RAW, TEXT, FrameCutter

MAX = 300  # the message size limit under test: frames around it are generated


class _NoStream:
    """The transport is driven through `_feed` here: its stream is never touched."""


def _frame(opcode: Opcode, data: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    wire = Frame(opcode, data, fin=fin).serialize(mask=False)
    return bytes([wire[0] | 0x40]) + wire[1:] if rsv1 else wire


def _masked(data: bytes) -> bytes:
    return Frame(Opcode.BINARY, data).serialize(mask=True)


payloads = st.one_of(
    st.binary(max_size=40),
    st.binary(min_size=MAX - 2, max_size=MAX + 2),
    st.text(max_size=20).map(str.encode),
)
frames = st.one_of(
    payloads.map(lambda data: _frame(Opcode.BINARY, data)),
    payloads.map(lambda data: _frame(Opcode.TEXT, data)),
    st.binary(max_size=20).map(lambda data: _frame(Opcode.PING, data)),
    st.binary(max_size=20).map(lambda data: _frame(Opcode.PONG, data)),
    st.tuples(st.sampled_from([Opcode.TEXT, Opcode.BINARY]), st.lists(payloads, max_size=3)).map(
        lambda spec: b"".join(
            _frame(spec[0] if i == 0 else Opcode.CONT, part, fin=False)
            for i, part in enumerate(spec[1])
        )
    ),
    payloads.map(lambda data: _frame(Opcode.CONT, data)),
    st.tuples(st.sampled_from([1000, 1001, 1011]), st.text(max_size=10)).map(
        lambda spec: _frame(Opcode.CLOSE, Close(spec[0], spec[1]).serialize())
    ),
    st.binary(max_size=20).map(_masked),
    st.binary(max_size=20).map(lambda data: _frame(Opcode.BINARY, data, rsv1=True)),
    st.just(b"\x82\x7f" + struct.pack(">Q", 1 << 40)),  # a header announcing 1 TiB
    # Frames websockets' `Frame` refuses to make: an unknown opcode, a ping too long, a
    # fragmented ping.
    st.binary(max_size=20).map(lambda data: bytes([0x83, len(data)]) + data),
    st.integers(126, 200).map(lambda n: b"\x89\x7e" + struct.pack(">H", n) + b"p" * n),
    st.binary(max_size=20).map(lambda data: bytes([0x09, len(data)]) + data),
)


def _run(stream: bytes, cuts: list[int], *, cutter: bool) -> dict[str, Any]:
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=MAX)
    transport = WebsocketsTransport(_NoStream(), protocol, max_message_size=MAX)  # type: ignore[arg-type]
    transport._cutter.active = cutter  # pyright: ignore[reportPrivateUsage]
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        transport._feed(stream[start:end])  # pyright: ignore[reportPrivateUsage]
    rest = transport._cutter.leftover()  # pyright: ignore[reportPrivateUsage]
    if rest:
        protocol.receive_data(rest)
    protocol.receive_eof()
    transport._absorb()  # pyright: ignore[reportPrivateUsage]
    peer = Protocol(Side.SERVER, max_size=None)
    peer.receive_data(b"".join(protocol.data_to_send()))
    replies = [(f.opcode, f.data, f.fin) for f in peer.events_received() if isinstance(f, Frame)]
    closed = transport._closed  # pyright: ignore[reportPrivateUsage]
    return {
        "messages": transport._ready,  # pyright: ignore[reportPrivateUsage]
        "closed": None if closed is None else (closed.code, closed.reason),
        "state": protocol.state,
        "error": type(protocol.parser_exc).__name__,
        "replies": replies,
    }


@given(st.lists(frames, max_size=12), st.lists(st.integers(0, 10_000), max_size=8))
@example([_frame(Opcode.BINARY, b"x" * 70000)], [])  # a 64-bit length under the limit...
@example([_frame(Opcode.BINARY, b"a"), _frame(Opcode.PING, b"p"), _frame(Opcode.TEXT, b"b")], [3])
@example(
    [_frame(Opcode.TEXT, b"a", fin=False), _frame(Opcode.CLOSE, Close(1011, "").serialize())], []
)
@example(
    [
        _frame(Opcode.TEXT, b"x" * (MAX - 2), fin=False),
        _frame(Opcode.CLOSE, Close(1000, "after the fragment").serialize()),
    ],
    [],
)
def test_the_cutter_changes_nothing_websockets_would_decide(
    parts: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(parts)
    cut, whole = _run(stream, cuts, cutter=True), _run(stream, cuts, cutter=False)
    if _failed_on_utf8(cut) or _failed_on_utf8(whole):
        # Invalid UTF-8 in a text message fails the connection (1007) when the message is
        # taken. websockets alone has parsed the whole read by then, so it may already
        # have answered a ping or failed on a later frame; with the cutter, frames are
        # taken one at a time and nothing after the bad message is looked at. Both are
        # valid (RFC 6455 lets a failed endpoint ignore what follows); what the user gets
        # must still agree.
        cut = {key: cut[key] for key in ("messages", "closed")}
        whole = {key: whole[key] for key in ("messages", "closed")}
    elif cut != whole and _failed_between_fragments(whole):
        # The one thing the cutter decides itself: websockets alone fails a close that came
        # between a message's fragments, which RFC 6455 5.4 allows (1002; or 1009 when the
        # close ran over what the message had left of the limit); with the cutter the
        # close is echoed, and the server's close is what the user gets.
        assert cut["closed"] is not None
        code, reason = cut["closed"]
        echo = b"" if code == 1005 else Close(code, reason).serialize()
        assert [reply for reply in cut["replies"] if reply[0] is Opcode.CLOSE] == [
            (Opcode.CLOSE, echo, True)
        ]
        cut = {key: cut[key] for key in ("messages", "state")}
        whole = {key: whole[key] for key in ("messages", "state")}
    assert cut == whole


def _failed_between_fragments(outcome: dict[str, Any]) -> bool:
    for opcode, data, _ in outcome["replies"]:
        if opcode is Opcode.CLOSE:
            code = int.from_bytes(data[:2], "big")
            if code == 1002 and data[2:] == b"incomplete fragmented message":
                return True
            if code == 1009 and b" after reading " in data:
                return True
    return False


def _failed_on_utf8(outcome: dict[str, Any]) -> bool:
    return any(
        opcode is Opcode.CLOSE and data[:2] == (1007).to_bytes(2, "big")
        for opcode, data, _ in outcome["replies"]
    )


def test_plain_data_frames_are_cut_out_and_the_rest_handed_over_whole() -> None:
    protocol = Protocol(Side.CLIENT, max_size=MAX)
    cutter = FrameCutter(protocol, MAX)
    ping = _frame(Opcode.PING, b"p")
    stream = _frame(Opcode.BINARY, b"one") + ping + _frame(Opcode.TEXT, b"two")
    assert list(cutter.feed(stream[:-2])) == [(BINARY, b"one"), (RAW, ping)]
    assert list(cutter.feed(stream[-2:])) == [(TEXT, b"two")]
    assert cutter.leftover() == b""


def test_a_frame_over_the_limit_hands_everything_to_websockets_from_its_header() -> None:
    protocol = Protocol(Side.CLIENT, max_size=MAX)
    cutter = FrameCutter(protocol, MAX)
    big = _frame(Opcode.BINARY, b"x" * (MAX + 1))
    assert list(cutter.feed(big[:10])) == [(RAW, big[:10])]
    assert not cutter.active
    assert list(cutter.feed(b"more")) == [(RAW, b"more")]


def test_an_extension_turns_the_cutter_off() -> None:
    protocol = Protocol(Side.CLIENT)
    protocol.extensions = [object()]  # type: ignore[list-item]
    assert not FrameCutter(protocol, MAX).active


def _open_protocol() -> ClientProtocol:
    return ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=MAX)


def test_a_header_breaking_the_protocol_fails_the_connection_before_the_payload() -> None:
    # Held back until its payload came, it waited for bytes a broken server never sent.
    protocol = _open_protocol()
    cutter = FrameCutter(protocol, MAX)
    fragment = _frame(Opcode.TEXT, b"a", fin=False)
    header = b"\x81\x7e" + struct.pack(">H", 200)  # a new message amid the fragments
    items = []
    for item in cutter.feed(fragment + header + b"xy"):
        items.append(item)
        protocol.receive_data(item[1])  # as the transport does: websockets sees it first
    assert items == [(RAW, fragment), (RAW, header + b"xy")]
    assert not cutter.active
    assert protocol.state is State.CLOSING
    assert protocol.close_sent == Close(1002, "expected a continuation frame")
    assert isinstance(protocol.parser_exc, ProtocolError)


@pytest.mark.parametrize(
    "header",
    [
        b"\x82\x7e" + struct.pack(">H", 125),
        b"\x82\x7f" + struct.pack(">Q", 0xFFFF),
        b"\x82\x7f" + struct.pack(">Q", 1 << 63),
    ],
    ids=["16 bits for 125", "64 bits for 65535", "64 bits, top bit set"],
)
def test_a_length_not_in_its_shortest_form_fails_the_connection(header: bytes) -> None:
    # RFC 6455 5.2; websockets takes the first two, and calls the last a message too big.
    protocol = _open_protocol()
    cutter = FrameCutter(protocol, MAX)
    items = list(cutter.feed(_frame(Opcode.BINARY, b"ok") + header + b"x" * 125))
    assert items[0] == (BINARY, b"ok")
    assert items[1:] == [(RAW, header + b"x" * 125)]
    assert protocol.close_sent is not None
    assert protocol.close_sent.code == 1002
    assert isinstance(protocol.parser_exc, ProtocolError)


def test_after_the_servers_close_websockets_alone_decides() -> None:
    # It discards whatever follows a close: no second failure, no close frame of ours.
    protocol = _open_protocol()
    cutter = FrameCutter(protocol, MAX)
    close = _frame(Opcode.CLOSE, Close(1000, "").serialize())
    for kind, chunk in cutter.feed(close + b"\x82\x7e" + struct.pack(">H", 3) + b"abc"):
        assert kind == RAW
        protocol.receive_data(chunk)
    assert protocol.close_rcvd == Close(1000, "")
    assert protocol.parser_exc is None
