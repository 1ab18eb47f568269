"""PCM helpers for the deterministic model: s16le mono only, as the Live API uses.

Energy VAD over 20 ms frames, linear resampling between rates, and a tone synthesiser
whose output length follows the text it stands for. The VAD and the resampler work in steps
and the synthesiser a slice at a time, so that no large input or long reply holds the
emulator's other connections, nor its memory.
"""

from __future__ import annotations

import array
import functools
import math
import sys
from dataclasses import dataclass

import trio

from .._arguments import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

__all__ = [
    "VAD_RATE",
    "EnergyVad",
    "Resampler",
    "SpokenText",
    "audio_tokens",
    "duration_s",
    "rate_from_mime",
    "resample",
    "resample_in_steps",
    "text_tokens",
    "text_tokens_of_length",
]

VAD_RATE = 16_000
_FRAME_MS = 20


_RESAMPLE_STEP = 16_000
"""Output samples `resample_in_steps` computes between two schedule points (a few ms)."""

_VAD_STEP_FRAMES = 50
"""Frames `EnergyVad.feed_in_steps` weighs between two schedule points (1 s of audio, ~1 ms)."""


def rate_from_mime(mime_type: str, default: int = VAD_RATE) -> int | None:
    """Sample rate stated in a mime type such as `audio/pcm;rate=48000`.

    `default` if it states none; None if its `rate` is not an integer from 1000 to 384000
    (`rate=0`, `rate=16k`, `rate=-5`, `rate=1`), which the server refuses rather than
    resample by. The range is the one this package's client accepts (`send_audio`): at
    `rate=1` a few kilobytes became minutes of 16 kHz audio to compute, during which the
    emulator served no connection at all.
    """
    for param in mime_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "rate":
            value = value.strip()
            # isascii: str.isdigit() accepts digits such as "²" that int() refuses.
            if not (value.isascii() and value.isdigit()):
                return None
            rate = int(value)
            return rate if MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE else None
    return default


def _samples(pcm: bytes) -> array.array[int]:
    out = array.array("h")
    out.frombytes(pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":
        out.byteswap()
    return out


def _to_bytes(samples: array.array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array.array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def duration_s(pcm_len: int, rate: int) -> float:
    """Duration in seconds of `pcm_len` bytes of s16 mono at `rate`."""
    return pcm_len / 2 / rate


class Resampler:
    """Linear interpolation from `src_rate` to `dst_rate` of one stream of PCM, fed in pieces.

    The output samples between the last sample of a piece and the first of the next are
    computed when that next piece comes, so the pieces resampled one by one join into the
    stream resampled whole (`resample`): the same samples. Each piece resampled on its own
    lost the fraction of a sample its length rounded down to (0.14 % of 44.1 kHz audio in
    1024-sample pieces) and held its last sample where the join should have been.
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        common = math.gcd(src_rate, dst_rate)
        # Output sample k of the stream lies at source position k * `_up` / `_down`, kept
        # exact as a whole part and a remainder (a float drifts over a long stream).
        self._up = src_rate // common
        self._down = dst_rate // common
        self._start()

    def _start(self) -> None:
        """A new stream: nothing fed yet."""
        self._last: int | None = None  # the previous piece's last sample
        self._next = 0  # source index of the next output sample, from `_last`'s (0)
        self._remainder = 0  # ... and its fraction, in 1/`_down` of a sample
        self._taken = 0  # source samples fed
        self._given = 0  # output samples computed

    async def feed(self, pcm: bytes) -> bytes:
        """The output samples `pcm` completes, letting other tasks run every `_RESAMPLE_STEP`.

        The work is pure Python, under a microsecond a sample: up to `_RESAMPLE_STEP`
        samples out (a realtime chunk) it is done at once, with no schedule point; a long
        utterance or a large message does not hold every other connection of the emulator.
        """
        if self.src_rate == self.dst_rate:
            return pcm[: len(pcm) // 2 * 2]
        piece = self._piece(pcm)
        for begin in range(0, len(piece.out), _RESAMPLE_STEP):
            if begin:
                await trio.lowlevel.checkpoint()
            piece.compute(begin, begin + _RESAMPLE_STEP)
        return self._done(piece)

    def feed_now(self, pcm: bytes) -> bytes:
        """`feed`, all at once."""
        if self.src_rate == self.dst_rate:
            return pcm[: len(pcm) // 2 * 2]
        piece = self._piece(pcm)
        piece.compute(0, len(piece.out))
        return self._done(piece)

    def flush(self) -> bytes:
        """End the stream as `resample` ends a whole one: its last sample held to length.

        The stream's length times the ratio of the rates, rounded down, is the output's;
        the samples past the last source sample, which no next piece will complete, hold
        it (the output may already be a sample longer: see `resample`). The next piece fed
        starts a new stream.
        """
        if self._last is None:
            return b""
        length = self._taken * self._down // self._up
        held = array.array("h", [self._last]) * max(0, length - self._given)
        self._start()
        return _to_bytes(held)

    def _piece(self, pcm: bytes) -> _Piece:
        samples = _samples(pcm)
        if self._last is not None:
            samples.insert(0, self._last)
        self._taken += len(samples) - (self._last is not None)
        # Output samples whose source position is before the last sample: each has both
        # neighbours in hand.
        span = (len(samples) - 1 - self._next) * self._down - self._remainder
        count = max(0, -(-span // self._up))
        return _Piece(samples, count, self._next, self._remainder, self._up, self._down)

    def _done(self, piece: _Piece) -> bytes:
        if piece.src:
            position = self._next * self._down + self._remainder + len(piece.out) * self._up
            after, self._remainder = divmod(position, self._down)
            self._next = after - (len(piece.src) - 1)  # from the new last sample
            self._last = piece.src[-1]
            self._given += len(piece.out)
        return _to_bytes(piece.out)


class _Piece:
    """One piece of a `Resampler`'s stream, its output computed a range at a time."""

    def __init__(
        self, src: array.array[int], count: int, first: int, remainder: int, up: int, down: int
    ) -> None:
        self.src = src
        self.out = array.array("h", bytes(2 * count))
        self._start = first * down + remainder  # in 1/`down` of a source sample
        self._up = up
        self._down = down

    def compute(self, begin: int, end: int) -> None:
        src, out, up, down, start = self.src, self.out, self._up, self._down, self._start
        for i in range(begin, min(end, len(out))):
            j, fraction = divmod(start + i * up, down)
            before = src[j]
            out[i] = int(before + (src[j + 1] - before) * fraction / down)


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Linear-interpolation resampling; good enough for an echo, and deterministic."""
    resampler = Resampler(src_rate, dst_rate)
    return _whole(pcm, resampler.feed_now(pcm) + resampler.flush(), src_rate, dst_rate)


async def resample_in_steps(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """`resample`, letting other tasks run every `_RESAMPLE_STEP` output samples (`feed`)."""
    resampler = Resampler(src_rate, dst_rate)
    return _whole(pcm, await resampler.feed(pcm) + resampler.flush(), src_rate, dst_rate)


def _whole(pcm: bytes, out: bytes, src_rate: int, dst_rate: int) -> bytes:
    """`out` cut to the length of `pcm` at `dst_rate`, rounded down.

    A stream may compute a sample more: one that lies before its last sample but past
    that length (a next piece would have made the length reach it).
    """
    return out[: len(pcm) // 2 * dst_rate // src_rate * 2]


@functools.lru_cache(maxsize=64)
def _tone(freq: int, n: int, rate: int) -> bytes:
    if freq == 0:
        return bytes(2 * n)
    samples = array.array(
        "h", (int(6000 * math.sin(2 * math.pi * freq * k / rate)) for k in range(n))
    )
    return _to_bytes(samples)


class SpokenText:
    """A deterministic 'voice' for `text`: one short tone per character, silence for spaces.

    Made a slice at a time, as it is asked for (`audio[begin:end]`), from the cached tone
    of each character the slice covers: the whole is 2,880 bytes a character (60 ms at
    24 kHz), and made at once for a reply of 0.2 MB of text it took a gigabyte and held
    every connection of the emulator (a megabyte of text: `MemoryError`). A reply sent a
    chunk at a time now holds a chunk at a time, whatever its length.
    """

    def __init__(self, text: str, *, ms_per_char: int = 60, rate: int = 24_000) -> None:
        self._text = text
        self._rate = rate
        self._char_samples = max(0, rate * ms_per_char // 1000)

    def __len__(self) -> int:
        return len(self._text) * 2 * self._char_samples

    def __getitem__(self, index: slice) -> bytes:
        """The bytes `index` (a slice, of step 1) covers, as the whole audio's slice."""
        begin, end, step = index.indices(len(self))
        if step != 1:
            raise ValueError("SpokenText takes slices of step 1 only")
        char_bytes = 2 * self._char_samples
        if begin >= end:
            return b""
        first = begin // char_bytes
        audio = b"".join(map(self._tone_of, self._text[first : -(-end // char_bytes)]))
        return audio[begin - first * char_bytes : end - first * char_bytes]

    def _tone_of(self, char: str) -> bytes:
        freq = 0 if char.isspace() else 200 + (ord(char) % 24) * 25
        return _tone(freq, self._char_samples, self._rate)


def text_tokens(text: str) -> int:
    """Rough token count of text (about four characters a token)."""
    return text_tokens_of_length(len(text))


def text_tokens_of_length(chars: int) -> int:
    """`text_tokens` of a text `chars` characters long."""
    return max(1, (chars + 3) // 4) if chars else 0


def audio_tokens(seconds: float) -> int:
    """Token count of audio (Google bills about 25 tokens per second)."""
    return math.ceil(seconds * 25) if seconds > 0 else 0


class HeldAudio:
    """The newest `max_bytes` of 16 kHz PCM taken in: a manual activity's speech.

    Bounded, as the VAD is (`max_utterance_ms`): an `activityStart` never ended must not
    grow memory without end. The newest audio is kept so what is held stays a suffix of
    what was heard (`Model.pending_input` counts it from the end).
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes - max_bytes % 2  # whole 16-bit samples
        self._chunks: list[bytes] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, pcm: bytes) -> None:
        """Hold `pcm` after what is held, dropping the oldest audio past the bound."""
        self._chunks.append(pcm)
        self._size += len(pcm)
        excess = self._size - self._max_bytes
        while excess > 0:
            first = self._chunks[0]
            if len(first) <= excess:
                del self._chunks[0]
                self._size -= len(first)
                excess -= len(first)
            else:
                self._chunks[0] = first[excess:]
                self._size -= excess
                excess = 0

    def take(self) -> bytes:
        """Everything held, which is then let go."""
        held = self.peek()
        self.clear()
        return held

    def peek(self) -> bytes:
        """Everything held, which stays held."""
        return b"".join(self._chunks)

    def clear(self) -> None:
        """Let go of everything held."""
        self._chunks = []
        self._size = 0


@dataclass
class VadResult:
    """What one `EnergyVad.feed` call found."""

    started: bool = False
    speech: bytes | None = None
    offset_s: float = 0.0
    """Where in the input stream speech started (with `started`) or ended (with `speech`)."""


class EnergyVad:
    """Energy-based voice activity detection on 16 kHz s16le audio.

    Speech starts after `prefix_ms` of loud frames and ends after `silence_ms` of quiet ones;
    the captured speech (with the prefix, without the trailing silence) is handed back.
    Offsets count seconds of audio fed since the detector was made.

    An utterance is cut at `max_utterance_ms`: that much is handed back as if it had ended
    there. Without it, continuous loud audio (noise, music, a stuck microphone) was held for
    ever, growing by ~2 MB a minute, and never answered. Speech still loud across the cut
    is the same speech going on, not a new utterance: it is not held, and a new utterance
    can start only after a quiet frame (so a tone of an hour is answered once, not
    interrupted every `max_utterance_ms` by the rest of itself).
    """

    def __init__(
        self, *, threshold: float, silence_ms: int, prefix_ms: int, max_utterance_ms: int
    ) -> None:
        self.threshold = threshold
        self.silence_frames = max(1, math.ceil(silence_ms / _FRAME_MS))
        self.prefix_frames = max(1, math.ceil(prefix_ms / _FRAME_MS))
        self.max_frames = max(1, math.ceil(max_utterance_ms / _FRAME_MS))
        # An utterance was cut at `max_frames` on a loud frame: its speech goes on, unheard,
        # until a quiet frame.
        self._held_off = False
        self._frame_bytes = VAD_RATE * _FRAME_MS // 1000 * 2
        self._carry = b""
        self._pre: list[bytes] = []
        self._loud_run = 0
        self.in_speech = False
        self._speech: list[bytes] = []
        self._last_loud = 0
        self._frames_seen = 0
        self._last_loud_end = 0

    def _loud(self, frame: bytes) -> bool:
        samples = _samples(frame)
        energy = sum(s * s for s in samples) / max(1, len(samples))
        return math.sqrt(energy) >= self.threshold

    def feed(self, pcm16k: bytes) -> list[VadResult]:
        """Consume audio; return speech starts and completed utterances, in order."""
        results: list[VadResult] = []
        data = self._carry + pcm16k
        size = self._frame_bytes
        whole = len(data) // size * size
        self._carry = data[whole:]
        for offset in range(0, whole, size):
            frame = data[offset : offset + size]
            loud = self._loud(frame)
            self._frames_seen += 1
            if loud:
                self._last_loud_end = self._frames_seen
            if not self.in_speech:
                if self._held_off:
                    if loud:
                        continue
                    self._held_off = False
                self._pre.append(frame)
                self._loud_run = self._loud_run + 1 if loud else 0
                if self._loud_run >= self.prefix_frames:
                    self.in_speech = True
                    self._speech = self._pre[-(self.prefix_frames + 5) :]
                    self._last_loud = len(self._speech)
                    self._pre = []
                    start = (self._frames_seen - self.prefix_frames) * _FRAME_MS / 1000
                    results.append(VadResult(started=True, offset_s=start))
                else:
                    del self._pre[: -(self.prefix_frames + 5)]
                continue
            self._speech.append(frame)
            if loud:
                self._last_loud = len(self._speech)
            elif len(self._speech) - self._last_loud >= self.silence_frames:
                end = self.speech_end_s
                results.append(VadResult(speech=self.flush(), offset_s=end))
                continue
            if len(self._speech) >= self.max_frames:
                end = self.speech_end_s
                results.append(VadResult(speech=self.flush(), offset_s=end))
                self._held_off = loud
        return results

    async def feed_in_steps(self, pcm16k: bytes) -> list[VadResult]:
        """`feed`, letting other tasks run every `_VAD_STEP_FRAMES` frames: the same results.

        The energy of a frame is pure Python, about 20 us: a large message (half an hour of
        audio sent at 1 kHz, resampled in steps) was weighed in one step of seconds, during
        which the emulator served no connection at all. Up to a second of audio (a realtime
        chunk) it is done at once, with no schedule point, as `Resampler.feed` does.
        """
        step = _VAD_STEP_FRAMES * self._frame_bytes
        results: list[VadResult] = []
        for begin in range(0, len(pcm16k), step):
            if begin:
                await trio.lowlevel.checkpoint()
            results += self.feed(pcm16k[begin : begin + step])
        return results

    def pending_audio(self) -> bytes:
        """The audio held for an utterance not yet handed back (at most `max_utterance_ms`).

        Fed to a new detector, it brings that one to the same state (with the same settings),
        but for the speech going on past a cut (see the class): that one hears it as a new
        utterance.
        """
        return b"".join(self._speech if self.in_speech else self._pre) + self._carry

    @property
    def speech_end_s(self) -> float:
        """Offset of the end of the last loud frame: where the current utterance ended."""
        return self._last_loud_end * _FRAME_MS / 1000

    def flush(self) -> bytes:
        """End the current utterance now (`audioStreamEnd`); return its speech audio."""
        speech = b"".join(self._speech[: self._last_loud])
        self.in_speech = False
        self._held_off = False
        self._speech = []
        self._pre = []
        self._loud_run = 0
        self._last_loud = 0
        return speech
