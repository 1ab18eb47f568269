"""The audio fast path of `decode_server`: a remembered skeleton and SIMD base64.

Why: a Gemini audio frame is a small JSON skeleton (~200 bytes) around one long base64
string, `serverContent.modelTurn.parts[0].inlineData.data`, and every audio frame of a
session has the same skeleton. Decoded the ordinary way, msgspec scans that string byte by
byte as JSON, then decodes it with a scalar base64 loop: most of the cost of the frame.
So once the ordinary path has decoded such a frame, its skeleton is remembered: the bytes
before and after the string. A later frame that starts and ends with those bytes and holds
strict base64 between them is the same message but for the string, which pybase64 (SIMD)
decodes, and whose Structs are built directly: no JSON is scanned at all.

The result is exactly that of the ordinary path, or `None` (take the ordinary path), never
a different message or error. Why that holds (`learn` checks the first three points on a
frame the ordinary path decoded, the fast path the last one on each frame):

- The decoded message is exactly `audio_message(data, mime_type, role)`, `data` not empty:
  the `Blob` had a `data` key (`Blob.data` defaults to `b""`), whose value is a string.
- The frame has no backslash, so every `"` is a string delimiter and a key named `data`
  is spelled `"data"`: the frame has such a token.
- It has only one, so that token is the Blob's `data` key, and its value is the next
  string (only whitespace and `:` come between a key and its value).
- A later frame is the remembered prefix + a string + the remembered suffix (they do not
  overlap). pybase64's strict decoding (standard alphabet, padded) accepts no quote and
  no backslash, so the frame has the same JSON tokens as the learned one but for the
  content of that one string, and decodes to the same message with another `Blob.data`;
  and it accepts only strings that msgspec decodes to the same bytes. Anything else
  (URL-safe or unpadded base64, a frame of another shape) is `None`.

Text frames (`str`) always take the ordinary path: the server sends binary frames.
"""

from __future__ import annotations

from typing import Final

from pybase64 import b64decode

from ._audio_rate import audio_rate
from ._skeleton import Remembered, string_slot
from ._wire import Blob, Content, Part, ServerContent, ServerMessage

__all__ = [
    "MIN_FRAME",
    "audio_message",
    "decode_audio_frame",
    "decode_audio_pcm",
    "learn",
    "remembered",
]

# Below this the base64 string is short and msgspec alone is as fast.
MIN_FRAME = 1024

_KEY = b'"data"'

_Skeleton = tuple[bytes, bytes, int, int, str, str | None, int]
"""The bytes before and after the string, their lengths, the MIME type, the turn's role
(Vertex sends `"role": "model"`, the Gemini API no role) and the MIME type's sample rate
(0: not audio), so that a frame looks nothing up. `LiveProtocol.receive_frame` reads these
itself (one call less per frame): keep the two in step."""

remembered: Final[Remembered[_Skeleton]] = Remembered(4)
"""The remembered skeletons. A session has one; a process may run sessions of a few kinds
(output rates, Gemini's `audio/pcm;rate=24000` beside Vertex's `audio/pcm`)."""


def audio_message(pcm: bytes, mime_type: str, role: str | None = None) -> ServerMessage:
    """The message of an audio frame: one `inlineData` part of `mime_type` holding `pcm`."""
    part = Part(inline_data=Blob(data=pcm, mime_type=mime_type))
    turn = Content(parts=[part], role=role)
    return ServerMessage(server_content=ServerContent(model_turn=turn))


def decode_audio_pcm(frame: bytes) -> tuple[bytes, str, str | None] | None:
    """The PCM, MIME type and role of a frame with a remembered skeleton, or None.

    The frame is then exactly the message `audio_message(pcm, mime_type, role)`: one
    `inlineData` part and nothing else. None means "not this skeleton, or not strict
    base64": the caller decodes the frame the ordinary way, which also produces the error
    message for a bad frame.
    """
    for prefix, suffix, start, tail, mime_type, role, _ in remembered.skeletons:
        if frame.startswith(prefix) and frame.endswith(suffix) and start + tail <= len(frame):
            try:
                # (None, True): `validate=True` passed by position; pybase64 parses a keyword
                # argument more slowly than it decodes 2 KB. A memoryview: the base64 text
                # is read in place, not copied out of the frame first.
                pcm = b64decode(memoryview(frame)[start:-tail], None, True)
            except ValueError:  # binascii.Error: not strict base64
                return None
            return pcm, mime_type, role
    return None


def decode_audio_frame(frame: bytes) -> ServerMessage | None:
    """Decode a frame with the remembered skeleton into its message, or return None."""
    audio = decode_audio_pcm(frame)
    if audio is None:
        return None
    return audio_message(*audio)


def learn(frame: bytes, message: ServerMessage) -> None:
    """Remember the skeleton of `frame`, if it is an audio frame the fast path can take.

    `message` is what the ordinary path decoded from `frame`.
    """
    content = message.server_content
    if content is None or content.model_turn is None or len(content.model_turn.parts) != 1:
        return
    if message.usage_metadata is not None or content.output_transcription is not None:
        return  # (cheap tests first, for the likeliest companions of audio)
    blob = content.model_turn.parts[0].inline_data
    # Not empty: the Blob had a `data` key (it defaults to b""), the frame's only one.
    role = content.model_turn.role
    if blob is None or not blob.data or message != audio_message(blob.data, blob.mime_type, role):
        return
    slot = string_slot(frame, _KEY)
    if slot is None:
        return
    prefix, suffix = slot
    mime = blob.mime_type
    skeleton = (prefix, suffix, len(prefix), len(suffix), mime, role, audio_rate(mime))
    remembered.add(skeleton, len(prefix) + len(suffix))
