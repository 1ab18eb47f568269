"""The sample rate of server audio, read from its MIME type (`audio/pcm;rate=24000`).

Shared by the protocol's ordinary path and the audio fast path, which stores the rate in a
remembered skeleton so that an audio frame looks nothing up.
"""

from __future__ import annotations

__all__ = ["DEFAULT_OUTPUT_RATE", "audio_rate", "audio_rates", "sample_rate_of"]

DEFAULT_OUTPUT_RATE = 24000
_CACHE_LIMIT = 64  # bounded: MIME types come from the server
_CACHED_LENGTH = 128
"""The longest MIME type cached (real ones are like `audio/pcm;rate=24000`): the cache lives
as long as the process, and a server's MIME types may be of any length."""
_RATE_DIGITS = 9

audio_rates: dict[str, int] = {}
"""MIME type -> its sample rate if `inlineData` of that type is audio, else 0 (per part: one
dict look-up instead of a prefix test and a parse)."""


def sample_rate_of(mime_type: str, default: int = DEFAULT_OUTPUT_RATE) -> int:
    """Read `rate=N` from an audio MIME type such as `audio/pcm;rate=24000`."""
    rate = default
    for param in mime_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        value = value.strip()
        # isascii: str.isdigit() accepts "²", which int() rejects; a rate must be > 0. Nine
        # digits at most: int() refuses a string of over 4300 (a ValueError in the receiver).
        if (
            name.strip().lower() == "rate"
            and value.isascii()
            and value.isdigit()
            and len(value) <= _RATE_DIGITS
        ):
            rate = int(value) or default
    return rate


def audio_rate(mime_type: str) -> int:
    """The sample rate of `inlineData` of this MIME type if it is audio, else 0 (cached)."""
    rate = audio_rates.get(mime_type)
    if rate is not None:
        return rate
    # MIME types are case-insensitive (RFC 2045): `AUDIO/PCM` is audio too. Only PCM is:
    # other audio (`audio/mpeg`, `audio/wav`) is no 16-bit samples, and an `AudioDelta`
    # with MP3 bytes as `pcm` gave a `duration` and a rate that meant nothing.
    audio = not mime_type or mime_type.partition(";")[0].strip().lower() == "audio/pcm"
    rate = sample_rate_of(mime_type) if audio else 0
    if len(audio_rates) < _CACHE_LIMIT and len(mime_type) <= _CACHED_LENGTH:
        audio_rates[mime_type] = rate
    return rate
