"""Client text frames made by `TextFramer`: what websockets' server side reads, fresh keys.

The frames are parsed by websockets' own server-side protocol (which unmasks them and
rejects a bad header), over every length encoding (7-bit, 16-bit and 64-bit), and each
frame's key is the next four bytes of `os.urandom` output, refilled when used up.
"""

from __future__ import annotations

import os
from unittest import mock

from hypothesis import example, given, strategies as st
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from trio_gemini_live import _ws_frame
from trio_gemini_live._ws_frame import TextFramer


def parse(wire: bytes) -> list[Frame]:
    server = ServerProtocol(state=State.OPEN, max_size=None)
    server.receive_data(wire)
    frames = [event for event in server.events_received() if isinstance(event, Frame)]
    assert server.state is State.OPEN, "the server side refused the frame"
    return frames


@given(st.binary(max_size=300))
@example(b"x" * 125)
@example(b"x" * 126)
@example(b"x" * 65535)
@example(b"x" * 65536)
@example(b"")
def test_frames_read_back_as_the_payload_as_one_whole_text_frame(payload: bytes) -> None:
    framer = TextFramer()
    wire = framer.frame(payload) + framer.frame(payload[::-1])
    first, second = parse(wire)
    for frame, expected in ((first, payload), (second, payload[::-1])):
        assert frame.opcode is Opcode.TEXT
        assert frame.fin
        assert bytes(frame.data) == expected


def test_header_length_encodings() -> None:
    framer = TextFramer()
    for size, header in ((125, 2), (126, 4), (65535, 4), (65536, 10)):
        wire = framer.frame(bytes(size))
        assert len(wire) == header + 4 + size  # header, key, payload
        assert wire[1] & 0x80  # masked, as a client must


def test_each_frame_has_the_next_four_random_bytes_as_its_key() -> None:
    draws: list[bytes] = []
    real_urandom = os.urandom

    def urandom(size: int) -> bytes:
        draws.append(real_urandom(size))
        return draws[-1]

    with mock.patch.object(_ws_frame.os, "urandom", urandom):
        framer = TextFramer()
        keys = [framer.frame(b"{}")[2:6] for _ in range(_ws_frame._KEY_POOL // 4 + 3)]  # pyright: ignore[reportPrivateUsage]
    assert len(draws) == 2  # refilled once the pool was used up, not per frame
    pool = b"".join(draws)
    assert keys == [pool[i : i + 4] for i in range(0, 4 * len(keys), 4)]
