"""The decode benchmark's floor for each control frame is on the path ours takes for it.

A floor is the one call ours cannot do without on that frame's path (benchmarks/decode.py).
A turn's end and a transcript take fast paths that never run msgspec's parse of the whole
frame, so that parse is no floor for them: theirs is the usage object's decode and the
text's UTF-8 decode. A tool call takes the whole parse.
"""

from __future__ import annotations

from unittest import mock

import pytest
from benchmarks import _frames
from benchmarks.decode import _control_floor, _our_protocol

from protocols import forgotten
from trio_gemini_live import _codec, _text_fastpath, _turn_fastpath

FLOORS = {
    "turn complete + usage": "msgspec decode of the usage alone (floor)",
    "transcription": "UTF-8 decode of the text alone (floor)",
    "tool call": "msgspec parse alone (floor)",
}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_each_control_frame_floor_is_the_call_of_the_path_ours_takes(name: str) -> None:
    frame = _frames.control_frames()[name]
    with forgotten(_text_fastpath.remembered), forgotten(_turn_fastpath.remembered):
        protocol = _our_protocol()
        protocol.receive_frame(frame)  # the ordinary path: the fast paths learn the frame
        label, _note, loop, fast = _control_floor(frame)
        with mock.patch.object(_codec, "_decoder", wraps=_codec._decoder) as decoder:
            protocol.receive_frame(frame)
        loop(3)  # and it runs
    assert label == FLOORS[name]
    # The whole frame's parse is the floor exactly when ours runs it.
    assert fast is not decoder.decode.called
