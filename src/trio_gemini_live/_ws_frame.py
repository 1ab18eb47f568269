"""Masked client text frames for the direct send path, with fresh keys drawn in bulk.

websockets' `Frame.serialize` draws each masking key with `secrets.token_bytes(4)`, one
`getrandom` system call per frame, and builds the frame through a `Frame` object, its checks
and a `BytesIO`. A voice session sends a frame every 20 ms, so here the keys come from the
same source, `os.urandom`, read `_KEY_POOL` bytes at a time (RFC 6455 section 5.3: a fresh,
unpredictable key per frame), and the frame is its header, its key and the payload masked by
websockets' own C `apply_mask`, joined. The payload is copied twice either way (masked, then
joined); what this saves is the system call and the Python-level work per frame.
Only whole (FIN) text frames with no extension negotiated are made here; control frames,
the close handshake and everything received stay with websockets' protocol object.
"""

from __future__ import annotations

import os
import struct
from typing import Final

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets installed without its C extension
    from websockets.utils import apply_mask

__all__ = ["TextFramer"]

_KEY_POOL: Final = 1024  # 256 frames (five seconds of 20 ms chunks) per system call
_FIN_TEXT: Final = 0x81
_MASKED: Final = 0x80
_short = struct.Struct("!BB").pack
_medium = struct.Struct("!BBH").pack
_long = struct.Struct("!BBQ").pack


class TextFramer:
    """Serialises masked client text frames; one per connection (keys are not shared)."""

    __slots__ = ("_at", "_pool")

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def frame(self, payload: bytes) -> bytes:
        """The whole masked text frame carrying `payload`, as the client sends it."""
        at = self._at
        pool = self._pool
        if at >= len(pool):
            pool = self._pool = os.urandom(_KEY_POOL)
            at = 0
        self._at = at + 4
        key = pool[at : at + 4]
        size = len(payload)
        if size < 126:
            head = _short(_FIN_TEXT, _MASKED | size)
        elif size < 65536:
            head = _medium(_FIN_TEXT, _MASKED | 126, size)
        else:
            head = _long(_FIN_TEXT, _MASKED | 127, size)
        return b"".join((head, key, apply_mask(payload, key)))
