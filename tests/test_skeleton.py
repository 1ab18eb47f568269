"""The skeletons the fast paths remember stay small, whatever the server pads its frames with.

They live as long as the process (`_skeleton.Remembered`), so a skeleton learned from a
frame padded with JSON whitespace would pin that padding after its session ended. Real
frames (Google's, pretty-printed) still teach their skeletons.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from protocols import forgotten
from trio_gemini_live import _audio_fastpath, _text_fastpath, _turn_fastpath
from trio_gemini_live._codec import decode_ordinary
from trio_gemini_live._skeleton import MAX_SKELETON, Remembered

AUDIO = base64.b64encode(bytes(1920)).decode()


def pretty(message: dict[str, Any]) -> bytes:
    """Serialise like Google's server: 2-space pretty JSON + newline."""
    return (json.dumps(message, indent=2) + "\n").encode()


FRAMES = {
    "audio": (
        _audio_fastpath,
        {
            "serverContent": {
                "modelTurn": {
                    "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": AUDIO}}]
                }
            }
        },
    ),
    "text": (_text_fastpath, {"serverContent": {"outputTranscription": {"text": "Hello"}}}),
    "turn end": (
        _turn_fastpath,
        {"serverContent": {"turnComplete": True}, "usageMetadata": {"totalTokenCount": 5}},
    ),
}


@pytest.mark.parametrize("kind", FRAMES)
def test_a_real_frame_teaches_its_skeleton(kind: str) -> None:
    module, message = FRAMES[kind]
    remembered: Remembered[Any] = module.remembered
    with forgotten(remembered):
        decode_ordinary(pretty(message))
        (skeleton,) = remembered.skeletons
        assert len(skeleton[0]) + len(skeleton[1]) < MAX_SKELETON // 4


# (Not text: a text frame is learned only below `_audio_fastpath.MIN_FRAME` bytes, which is
# no more than `MAX_SKELETON`.)
@pytest.mark.parametrize("kind", ["audio", "turn end"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_padded_frame_teaches_no_skeleton(kind: str, where: str) -> None:
    module, message = FRAMES[kind]
    remembered: Remembered[Any] = module.remembered
    frame = pretty(message)
    pad = b" " * MAX_SKELETON
    # JSON whitespace before the first key, or before the last `}`: the same message.
    padded = b"{" + pad + frame[1:] if where == "before" else frame.rstrip()[:-1] + pad + b"}"
    with forgotten(remembered):
        decoded = decode_ordinary(padded)
        assert remembered.skeletons == ()
        assert decoded == decode_ordinary(frame)  # the same message, that teaches one
        assert len(remembered.skeletons) == 1
