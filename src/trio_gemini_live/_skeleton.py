"""A frame's skeleton: the bytes around the one string value that changes from frame to frame.

Why: most frames of a session repeat one shape and differ in one string (the base64 of an
audio chunk, the text of a transcript chunk). The audio and text fast paths (`_audio_fastpath`,
`_text_fastpath`) remember the bytes before and after that string, taken from a frame
the ordinary msgspec path decoded; a later frame with the same bytes around a string that
cannot end or escape early is the same message but for that string.

`string_slot` finds that string. Why its split is exact: a frame without a backslash has no
escape, so every `"` delimits a string and a key named `k` is spelled `"k"`. When the frame
holds the token `"k"` once before the end of the string after it, that token is the key
(keys precede their values), and its value is the next string: only whitespace and `:`
come between a key and its value.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["MAX_SKELETON", "Remembered", "string_slot"]

_T = TypeVar("_T")

MAX_SKELETON = 1024
"""The most bytes a remembered skeleton's prefix and suffix may hold together.

Google's hold 100 to 200. Skeletons are kept for the life of the process, and the bytes
around a string are the server's to choose (JSON whitespace, an unknown field): without
this bound a few padded frames would pin as many megabytes after their session ended.
"""


class Remembered(Generic[_T]):
    """The skeletons a fast path remembers, most recent first, at most `limit` of them.

    One tuple, replaced whole: a reader holding the old one is never disturbed. An object
    rather than a module's global: compiled, `LiveProtocol.receive_frame` reads its
    attribute directly, where another module's global costs a dictionary look-up, every frame.
    """

    def __init__(self, limit: int) -> None:
        self.skeletons: tuple[_T, ...] = ()
        self.limit = limit

    def add(self, skeleton: _T, size: int) -> None:
        """Remember `skeleton` first, unless it is remembered already; forget the oldest.

        `size` is the bytes of its prefix and suffix: past `MAX_SKELETON` it is not
        remembered (its frames take the ordinary path).
        """
        if size <= MAX_SKELETON and skeleton not in self.skeletons:
            self.skeletons = (skeleton, *self.skeletons[: self.limit - 1])


def string_slot(frame: bytes, key: bytes) -> tuple[bytes, bytes] | None:
    """Split `frame` around the string value of its key `key` (spelled with its quotes).

    Returns the bytes up to and including the value's opening quote and those from its
    closing quote on, or None: the frame has a backslash, no such key, the key again after
    the value, or the key's value is not a string (then the split is not the value's).
    """
    find = frame.find
    at = find(key)
    if at < 0 or find(b"\\") >= 0:
        return None
    start = find(b'"', at + len(key))  # the opening quote of its value
    if start < 0 or frame[at + len(key) : start].strip(b" \t\r\n:"):
        return None  # something other than whitespace and `:` first: not a string value
    end = find(b'"', start + 1)  # its closing quote
    if end < 0 or find(key, end) >= 0:
        return None
    return frame[: start + 1], frame[end:]
