"""The sample rate of server audio, read from its MIME type (`audio/pcm;rate=24000`).

Shared by the protocol's ordinary path and the audio fast path, which stores the rate in a
remembered skeleton so that an audio frame looks nothing up.
"""

from __future__ import annotations

import logging

__all__ = ["DEFAULT_OUTPUT_RATE", "audio_rate", "audio_rates", "sample_rate_of"]

DEFAULT_OUTPUT_RATE = 24000
_CACHE_LIMIT = 64  # bounded: MIME types come from the server
_CACHED_LENGTH = 128
"""The longest MIME type cached (real ones are like `audio/pcm;rate=24000`): the cache lives
as long as the process, and a server's MIME types may be of any length."""
_RATE_DIGITS = 9

log = logging.getLogger("trio_gemini_live.session")

audio_rates: dict[str, int] = {}
"""MIME type -> its sample rate if `inlineData` of that type is audio of a known rate, else 0
(per part: one dict look-up instead of a prefix test and a parse)."""


def sample_rate_of(mime_type: str, default: int = DEFAULT_OUTPUT_RATE) -> int:
    """Read `rate=N` from an audio MIME type such as `audio/pcm;rate=24000`.

    `default` if the type states no rate; 0 if it states one that is no rate (`rate=16k`,
    `rate=24000.0`, `rate=0`): a guess would label the audio with a wrong rate. The value
    may be quoted (`rate="16000"`, a quoted-string of RFC 2045).
    """
    rate = default
    for param in mime_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "rate":
            rate = _rate_value(value.strip())
            if not rate:
                return 0
    return rate


def _rate_value(value: str) -> int:
    """The rate a `rate` parameter's value states, or 0 if it states none."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    # isascii: str.isdigit() accepts "²", which int() rejects. Nine digits at most: int()
    # refuses a string of over 4300 (a ValueError in the receiver).
    if value.isascii() and value.isdigit() and len(value) <= _RATE_DIGITS:
        return int(value)
    return 0


def audio_rate(mime_type: str) -> int:
    """The sample rate of `inlineData` of this MIME type if it is PCM of a known rate, else 0.

    0: the part is an `InlineData` event, not an `AudioDelta`. Cached per MIME type.
    """
    rate = audio_rates.get(mime_type)
    if rate is not None:
        return rate
    # MIME types are case-insensitive (RFC 2045): `AUDIO/PCM` is audio too. Only PCM is:
    # other audio (`audio/mpeg`, `audio/wav`) is no 16-bit samples, and an `AudioDelta`
    # with MP3 bytes as `pcm` gave a `duration` and a rate that meant nothing.
    audio = not mime_type or mime_type.partition(";")[0].strip().lower() == "audio/pcm"
    rate = sample_rate_of(mime_type) if audio else 0
    cached = len(audio_rates) < _CACHE_LIMIT and len(mime_type) <= _CACHED_LENGTH
    if cached:
        audio_rates[mime_type] = rate
    if audio and not rate:
        # Such audio is an `InlineData` event (its bytes and MIME type): nothing is lost.
        # A warning once per MIME type (a cached one is read once); one too long to cache is
        # read on every frame, and nothing is logged per audio frame above DEBUG.
        log.log(
            logging.WARNING if cached else logging.DEBUG,
            "audio of MIME type %.80r states no readable sample rate: given as InlineData",
            mime_type,
        )
    return rate
