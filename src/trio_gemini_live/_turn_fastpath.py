r"""The turn-end fast path: a remembered skeleton around one `usageMetadata`, one small parse.

Why: every turn ends with `{"serverContent": {"turnComplete": true}, "usageMetadata": {...}}`
(as Google's recordings show), and msgspec's parse of the whole frame, then the walk of
every field of `ServerMessage` and `ServerContent` to find the two that are set, costs
twice the parse of the usage alone. So, as for audio and text (`_audio_fastpath`,
`_text_fastpath`), the bytes around the usage object of such a frame the ordinary path
decoded are remembered, and a later frame with those bytes around it is read by decoding
the usage object alone.

The result is exactly that of the ordinary path, or `None` (take the ordinary path), never
a different message or error. Why that holds (`learn` checks the first point on a frame
the ordinary path decoded, `decode_turn_end` the second on each frame, and so does its copy
written out in `LiveProtocol.receive_frame`: keep the two in step):

- The bytes before the usage object are, token by token, `{ "serverContent" : {
  "turnComplete" : true } , "usageMetadata" :` and those after it `}`, with JSON
  whitespace only between them (`_PREFIX`, and the strip of the suffix: no other key, no
  string, no escape can hide there). The decoded message is then `turn_end_message(usage)`
  (checked all the same).
- A later frame is the remembered prefix + some bytes + the remembered suffix, the bytes
  one whole JSON value that msgspec decodes as `UsageMetadata` (it refuses anything
  after the value, so the bytes cannot close the object early and add keys): the frame
  is the object `{"serverContent": {"turnComplete": true}, "usageMetadata": <value>}`,
  whose ordinary decode is `turn_end_message(<the value decoded>)`. Bytes that are not
  such a value are `None`; the ordinary path then words the error.

One difference cannot be helped, and no server frame meets it: msgspec refuses nesting
that would pass the interpreter's recursion limit from where it is called, and here it is
called two JSON levels and a few calls less deep than on the ordinary path. So a usage
object nested to within a few levels of that limit (about a thousand, by default) is
decoded here where the ordinary path, called from deeper, refuses it; `UsageMetadata`
itself nests three levels deep.

Text frames (`str`) always take the ordinary path: the server sends binary frames.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from ._skeleton import Remembered
from ._wire import ServerContent, ServerMessage, UsageMetadata

__all__ = ["decode_turn_end", "learn", "remembered", "turn_end_message", "usage_decoder"]

usage_decoder = msgspec.json.Decoder(UsageMetadata)
"""Decodes the usage object of a turn-end frame (`LiveProtocol.receive_frame` calls it too)."""

_WS = rb"[ \t\n\r]*"  # JSON's whitespace, and only it
_PREFIX = re.compile(
    _WS
    + rb"\{"
    + _WS
    + rb'"serverContent"'
    + _WS
    + rb":"
    + _WS
    + rb"\{"
    + _WS
    + rb'"turnComplete"'
    + _WS
    + rb":"
    + _WS
    + rb"true"
    + _WS
    + rb"\}"
    + _WS
    + rb","
    + _WS
    + rb'"usageMetadata"'
    + _WS
    + rb":"
    + _WS
)
_JSON_WS = b" \t\n\r"

_Skeleton = tuple[bytes, bytes, int, int]
"""The bytes before and after the usage object, where it starts, and where it ends (counted
from the end: negative), so that a frame computes nothing. `LiveProtocol.receive_frame` reads
these itself (one call less per frame): keep the two in step."""

remembered: Final[Remembered[_Skeleton]] = Remembered(4)
"""The remembered skeletons. A session has one; a process may run sessions of servers that
indent differently."""


def turn_end_message(usage: UsageMetadata) -> ServerMessage:
    """The message of a frame that holds only `turnComplete: true` and `usage`."""
    return ServerMessage(server_content=ServerContent(turn_complete=True), usage_metadata=usage)


def decode_turn_end(frame: bytes) -> UsageMetadata | None:
    """The usage of a turn-end frame with a remembered skeleton, or None.

    The frame is then exactly the message `turn_end_message(usage)`. None means "not this
    skeleton, or not a usage object": the caller decodes the frame the ordinary way, which
    also produces the error message for a bad frame.
    """
    for prefix, suffix, start, end in remembered.skeletons:
        if frame.startswith(prefix) and frame.endswith(suffix) and start - end < len(frame):
            try:
                return usage_decoder.decode(frame[start:end])
            except (msgspec.DecodeError, RecursionError, UnicodeError):
                return None
    return None


def learn(frame: bytes, message: ServerMessage) -> None:
    """Remember the skeleton of `frame`, if it is a turn-end frame the fast path can take.

    `message` is what the ordinary path decoded from `frame`.
    """
    usage = message.usage_metadata
    if usage is None or message != turn_end_message(usage):
        return
    head = _PREFIX.match(frame)
    # The suffix: whitespace, `}`, whitespace (stripped, not matched: a regex search for
    # it takes time quadratic in a run of whitespace elsewhere in the frame).
    close = frame.rstrip(_JSON_WS)
    if head is None or not close.endswith(b"}"):
        return
    end = len(close[:-1].rstrip(_JSON_WS))
    start = head.end()
    if start >= end:
        return
    skeleton = (frame[:start], frame[end:], start, end - len(frame))
    remembered.add(skeleton, start + len(frame) - end)
