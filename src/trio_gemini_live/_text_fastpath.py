r"""The text fast path: a frame of a remembered skeleton around one text, no JSON scanned.

Why: a spoken answer with transcription on brings a transcript frame every few audio
frames, and a text answer a frame per chunk of text: each the same small skeleton around
one string, `serverContent.outputTranscription.text` (or `inputTranscription.text`, or
`modelTurn.parts[0].text`). Msgspec's parse of such a frame into Structs costs more than
the rest of its way to the user's event. So, as for audio (`_audio_fastpath`), the skeleton
of such a frame the ordinary path decoded is remembered (`_skeleton.string_slot`), and a
later frame with that skeleton is read by slicing out its string.

The result is exactly that of the ordinary path, or `None` (take the ordinary path), never
a different text or error. Why that holds (`learn` checks the first point on a frame the
ordinary path decoded, `decode_text` the others on each frame, and so does its copy
written out in `LiveProtocol.receive_frame`: keep the two in step):

- The decoded message is exactly `text_message(text, kind, role)`, `text` not empty, and
  `string_slot` split its frame around that `text` value. (So a transcript with any other
  field, such as a speaker label, word timings or offsets, is never learned.)
- A later frame is the remembered prefix + some bytes + the remembered suffix, the bytes
  not empty (so prefix and suffix do not overlap), holding no `"` and no backslash (tested
  once decoded, on the `str`): they are one whole JSON string with no escape, so the frame
  has the same tokens as the learned one but for that string's content, and decodes to the
  same message with another text.
- JSON forbids raw control characters in a string (msgspec rejects them), and the bytes
  must be UTF-8: the text is returned only if it decodes as UTF-8 (which refuses
  surrogates, as msgspec does) and `str.isprintable()` holds, which excludes every control
  character. A text with a tab, a newline, a line separator or a format character (all not
  printable) takes the ordinary path: slower, the same result.

Text frames (`str`) always take the ordinary path: the server sends binary frames.
"""

from __future__ import annotations

from typing import Final

from ._skeleton import Remembered, string_slot
from ._wire import Content, Part, ServerContent, ServerMessage, Transcription

__all__ = ["INPUT", "MODEL", "OUTPUT", "decode_text", "learn", "remembered", "text_message"]

OUTPUT: Final = 0
"""`serverContent.outputTranscription.text`: a chunk of the model's speech as text."""
INPUT: Final = 1
"""`serverContent.inputTranscription.text`: a chunk of the user's speech as text."""
MODEL: Final = 2
"""`serverContent.modelTurn.parts[0].text`: a chunk of the model's text answer."""

_KEY = b'"text"'

_Skeleton = tuple[bytes, bytes, int, int, int, str | None]
"""The bytes before and after the text, where the text starts, where it ends (counted from
the end: negative), which text it is (`OUTPUT`, `INPUT` or `MODEL`), and for `MODEL` the
turn's role (Vertex sends `"role": "model"`, the Gemini API no role)."""

remembered: Final[Remembered[_Skeleton]] = Remembered(4)
"""The remembered skeletons. A session has up to three (both transcripts, or text answers);
a process may run sessions of a few kinds (servers that indent differently)."""


def text_message(text: str, kind: int, role: str | None = None) -> ServerMessage:
    """The message of a frame that holds only `text`, as the text of `kind` (and `role`)."""
    if kind == MODEL:
        content = ServerContent(model_turn=Content(parts=[Part(text=text)], role=role))
    elif kind == OUTPUT:
        content = ServerContent(output_transcription=Transcription(text=text))
    else:
        content = ServerContent(input_transcription=Transcription(text=text))
    return ServerMessage(server_content=content)


def decode_text(frame: bytes) -> tuple[str, int, str | None] | None:
    """The text of a frame with a remembered skeleton, its kind and role, or None.

    The frame is then exactly the message `text_message(text, kind, role)`. None means "not this
    skeleton, or not a plain string": the caller decodes the frame the ordinary way, which
    also produces the error message for a bad frame.
    """
    # Slices, and `in` on the decoded str: bytes.startswith, bytes.find with bounds and
    # `in` on bytes each cost two to three times as much per call.
    for prefix, suffix, start, end, kind, role in remembered.skeletons:
        if frame[:start] == prefix and frame[end:] == suffix:
            try:
                text = frame[start:end].decode()
            except UnicodeDecodeError:
                return None
            # Empty: the frame is shorter than prefix and suffix, or holds `""`.
            if not text or '"' in text or "\\" in text or not text.isprintable():
                return None
            return text, kind, role
    return None


def _text_of(content: ServerContent) -> tuple[str | None, int, str | None]:
    if content.output_transcription is not None:
        return content.output_transcription.text, OUTPUT, None
    if content.input_transcription is not None:
        return content.input_transcription.text, INPUT, None
    turn = content.model_turn
    if turn is not None and len(turn.parts) == 1:
        return turn.parts[0].text, MODEL, turn.role
    return None, OUTPUT, None


def learn(frame: bytes, message: ServerMessage) -> None:
    """Remember the skeleton of `frame`, if it is a text frame the fast path can take.

    `message` is what the ordinary path decoded from `frame`.
    """
    if message.server_content is None:
        return
    text, kind, role = _text_of(message.server_content)
    # Not empty: the frame had a `text` key (`text` defaults to "" or None), its only one.
    if not text or message != text_message(text, kind, role):
        return
    slot = string_slot(frame, _KEY)
    if slot is None:
        return
    prefix, suffix = slot
    skeleton = (prefix, suffix, len(prefix), -len(suffix), kind, role)
    remembered.add(skeleton, len(prefix) + len(suffix))
