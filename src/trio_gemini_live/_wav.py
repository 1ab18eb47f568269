"""WAV files in and out, and a speech-like test signal, in pure standard-library Python.

The Live API takes 16 kHz mono s16le PCM and answers with 24 kHz mono s16le PCM; this module
turns any PCM or float WAV into the former and writes the latter. No numpy, no `audioop`.
"""

from __future__ import annotations

import array
import itertools
import math
import os
import random
import struct
import sys
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._errors import ConfigurationError

__all__ = [
    "INPUT_RATE",
    "OUTPUT_RATE",
    "WavAudio",
    "WavError",
    "WavInfo",
    "parse_wav",
    "pcm_duration",
    "pcm_peak_dbfs",
    "pcm_rms",
    "read_wav",
    "resample_pcm",
    "speech_like_pcm",
    "write_wav",
]

INPUT_RATE = 16_000
"""The sample rate the Live API expects for input audio (Hz)."""

OUTPUT_RATE = 24_000
"""The sample rate of the Live API's audio replies (Hz)."""

_FORMAT_PCM = 0x0001
_FORMAT_FLOAT = 0x0003
_FORMAT_EXTENSIBLE = 0xFFFE
_BIG_ENDIAN_HOST = sys.byteorder == "big"

StrPath = str | os.PathLike[str]


class WavError(ConfigurationError):
    """A WAV file could not be read or written: missing, unreadable, not a WAV, unsupported."""


@dataclass(frozen=True)
class WavInfo:
    """The format of a WAV file as stored.

    Attributes:
        sample_rate: frames per second.
        channels: interleaved channels per frame.
        sample_width: bytes per sample (1, 2, 3, 4 or 8).
        frames: number of frames (samples per channel).
        is_float: IEEE float samples (format 3) rather than integer PCM.
    """

    sample_rate: int
    channels: int
    sample_width: int
    frames: int
    is_float: bool = False

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def describe(self) -> str:
        """A short human description, e.g. `44.1 kHz stereo 24-bit PCM, 3.2 s`."""
        layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}-channel")
        kind = "float" if self.is_float else "PCM"
        return (
            f"{self.sample_rate / 1000:g} kHz {layout} {8 * self.sample_width}-bit {kind}, "
            f"{self.duration:.1f} s"
        )


@dataclass(frozen=True)
class WavAudio:
    """Mono signed 16-bit little-endian PCM decoded from a WAV file.

    Attributes:
        pcm: the samples, converted to `sample_rate`, mono, s16le.
        sample_rate: the rate of `pcm` (Hz).
        source: the format the file was stored in.
    """

    pcm: bytes
    sample_rate: int
    source: WavInfo

    @property
    def duration(self) -> float:
        """Length of `pcm` in seconds."""
        return pcm_duration(self.pcm, self.sample_rate)


# --- reading -------------------------------------------------------------------------------


def read_wav(path: StrPath, *, sample_rate: int = INPUT_RATE) -> WavAudio:
    """Read a WAV file and convert it to mono s16le PCM at `sample_rate` (16 kHz default).

    Any rate, any channel count (mixed down by averaging), 8/16/24/32-bit integer PCM and
    32/64-bit float samples are accepted, including `WAVE_FORMAT_EXTENSIBLE` files.

    Raises:
        WavError: the file is missing or unreadable, is not a WAV file, or uses an
            unsupported encoding (compressed formats such as ADPCM or mu-law).
    """
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except IsADirectoryError:
        raise WavError(f"cannot read {name}: it is a directory") from None
    except OSError as exc:
        raise WavError(f"cannot read {name}: {exc.strerror or exc}") from None
    return parse_wav(data, sample_rate=sample_rate, name=name)


def parse_wav(data: bytes, *, sample_rate: int = INPUT_RATE, name: str = "input") -> WavAudio:
    """Decode WAV file bytes to mono s16le PCM at `sample_rate` (see `read_wav`)."""
    if sample_rate <= 0:
        raise WavError(f"sample_rate must be positive, got {sample_rate}")
    info, payload = _parse_riff(data, name)
    samples = _decode_samples(payload, info)
    mono = _mix_down(samples, info.channels)
    pcm = _to_s16_bytes(mono)
    return WavAudio(
        pcm=resample_pcm(pcm, info.sample_rate, sample_rate),
        sample_rate=sample_rate,
        source=info,
    )


def _parse_riff(data: bytes, name: str) -> tuple[WavInfo, bytes]:
    """Walk the RIFF chunks: the `fmt ` chunk's fields and the `data` chunk's bytes."""
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise WavError(f"{name} is not a WAV file (no RIFF/WAVE header)")
    if data[:4] == b"RIFX":
        raise WavError(f"{name} is a big-endian (RIFX) WAV file, which is not supported")
    fmt: bytes | None = None
    payload: bytes | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = data[offset + 8 : offset + 8 + size]
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            payload = body  # a truncated last chunk is read as far as it goes
            if fmt is not None:
                break
        offset += 8 + size + (size & 1)  # chunks are word-aligned
    if fmt is None or len(fmt) < 16:
        raise WavError(f"{name} is not a valid WAV file (missing or short 'fmt ' chunk)")
    if payload is None:
        raise WavError(f"{name} is not a valid WAV file (no 'data' chunk)")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _FORMAT_EXTENSIBLE and len(fmt) >= 26:
        (tag,) = struct.unpack_from("<H", fmt, 24)  # first two bytes of the SubFormat GUID
    if tag not in (_FORMAT_PCM, _FORMAT_FLOAT):
        raise WavError(
            f"{name} uses WAV encoding 0x{tag:04x}; only integer PCM and IEEE float "
            "are supported (convert it to 16-bit PCM first)"
        )
    if channels < 1 or rate < 1:
        raise WavError(f"{name} has an invalid format ({channels} channels at {rate} Hz)")
    width = (bits + 7) // 8
    is_float = tag == _FORMAT_FLOAT
    supported = (4, 8) if is_float else (1, 2, 3, 4)
    if width not in supported:
        kind = "float" if is_float else "PCM"
        raise WavError(f"{name} has unsupported {bits}-bit {kind} samples")
    frame_size = max(block_align, width * channels)
    frames = len(payload) // frame_size
    if frame_size != width * channels:  # padded containers: keep the leading bytes of each frame
        payload = b"".join(
            payload[i : i + width * channels] for i in range(0, frames * frame_size, frame_size)
        )
    else:
        payload = payload[: frames * frame_size]
    return WavInfo(rate, channels, width, frames, is_float), payload


def _decode_samples(payload: bytes, info: WavInfo) -> array.array[int]:
    """Interleaved samples as 16-bit signed integers (most significant bits kept)."""
    width = info.sample_width
    if info.is_float:
        floats = array.array("f" if width == 4 else "d")
        floats.frombytes(payload)
        if _BIG_ENDIAN_HOST:
            floats.byteswap()
        return array.array("h", (_clip(round(x * 32767.0)) for x in floats if x == x))
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        return array.array("h", ((b - 128) << 8 for b in payload))
    if width == 2:
        pcm = payload
    else:
        # Keep the top two bytes of each little-endian sample: 24 and 32 bits -> 16 bits.
        count = len(payload) // width
        top = bytearray(2 * count)
        top[0::2] = payload[width - 2 :: width]
        top[1::2] = payload[width - 1 :: width]
        pcm = bytes(top)
    samples = array.array("h")
    samples.frombytes(pcm)
    if _BIG_ENDIAN_HOST:
        samples.byteswap()
    return samples


def _mix_down(samples: array.array[int], channels: int) -> Sequence[int]:
    """Average interleaved channels into one."""
    if channels == 1:
        return samples
    lanes = [samples[c::channels] for c in range(channels)]
    return [sum(frame) // channels for frame in zip(*lanes, strict=True)]


def _clip(value: int) -> int:
    return -32768 if value < -32768 else 32767 if value > 32767 else value


def _to_s16_bytes(samples: Sequence[int]) -> bytes:
    out = samples if isinstance(samples, array.array) else array.array("h", samples)
    if _BIG_ENDIAN_HOST:
        out = array.array("h", out)
        out.byteswap()
    return out.tobytes()


def _from_s16_bytes(pcm: bytes | bytearray | memoryview) -> array.array[int]:
    samples = array.array("h")
    samples.frombytes(bytes(pcm[: len(pcm) // 2 * 2]))
    if _BIG_ENDIAN_HOST:
        samples.byteswap()
    return samples


def resample_pcm(pcm: bytes | bytearray | memoryview, src_rate: int, dst_rate: int) -> bytes:
    """Resample mono s16le PCM by linear interpolation.

    When downsampling by 1.5x or more, a centred moving average first damps most of what
    the lower rate cannot hold (a cheap anti-aliasing filter, good enough for speech).
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise WavError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    if src_rate == dst_rate or not pcm:
        return bytes(pcm[: len(pcm) // 2 * 2])
    samples = _from_s16_bytes(pcm)
    ratio = src_rate / dst_rate
    source: Sequence[float] = samples
    if ratio >= 1.5:
        source = _moving_average(samples, 2 * round(ratio) - 1)
    n_in = len(source)
    if n_in == 0:
        return b""
    n_out = max(1, n_in * dst_rate // src_rate)
    step = src_rate / dst_rate
    last = n_in - 1
    out = array.array("h", bytes(2 * n_out))
    for i in range(n_out):
        pos = i * step
        j = int(pos)
        if j >= last:
            out[i] = _clip(round(source[last]))
        else:
            a = source[j]
            out[i] = _clip(round(a + (source[j + 1] - a) * (pos - j)))
    return _to_s16_bytes(out)


def _moving_average(samples: Sequence[int], width: int) -> list[float]:
    """Centred moving average of odd `width`, same length (shorter windows at the edges)."""
    n = len(samples)
    sums = [0, *itertools.accumulate(samples)]
    half = width // 2
    out: list[float] = []
    for i in range(n):
        lo = max(0, i - half)
        hi = min(n, i + half + 1)
        out.append((sums[hi] - sums[lo]) / (hi - lo))
    return out


# --- writing -------------------------------------------------------------------------------


def write_wav(
    path: StrPath,
    pcm: bytes | bytearray | memoryview,
    *,
    sample_rate: int = OUTPUT_RATE,
    channels: int = 1,
) -> None:
    """Write s16le PCM as a WAV file (24 kHz mono by default, the Live API's output).

    Raises:
        WavError: the file cannot be written.
    """
    name = os.fspath(path)
    if len(pcm) % (2 * channels):
        raise WavError(f"cannot write {name}: PCM length is not a whole number of frames")
    try:
        with open(name, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm if not _BIG_ENDIAN_HOST else _to_s16_bytes(_from_s16_bytes(pcm)))
    except OSError as exc:
        raise WavError(f"cannot write {name}: {exc.strerror or exc}") from None


# --- analysis ------------------------------------------------------------------------------


def pcm_duration(pcm: bytes | bytearray | memoryview, sample_rate: int) -> float:
    """Seconds of mono s16 PCM."""
    return len(pcm) / (2 * sample_rate)


def pcm_peak_dbfs(pcm: bytes | bytearray | memoryview) -> float:
    """The loudest sample of s16 PCM in dB below full scale (0 at most; -inf for silence)."""
    samples = _from_s16_bytes(pcm)
    peak = max((max(samples), -min(samples))) if samples else 0
    return 20 * math.log10(peak / 32768) if peak else -math.inf


def pcm_rms(pcm: bytes | bytearray | memoryview) -> float:
    """Root-mean-square level of s16 PCM (0 for silence, about 23170 for a full-scale sine)."""
    samples = _from_s16_bytes(pcm)
    if not samples:
        return 0.0
    return math.sqrt(math.fsum(s * s for s in samples) / len(samples))


# --- a deterministic speech-like signal ----------------------------------------------------

# (F1, F2) formant centres of a few vowels, in Hz.
_VOWELS = ((730, 1090), (270, 2290), (300, 870), (530, 1840), (570, 840), (660, 1720))


def speech_like_pcm(
    seconds: float = 1.6,
    *,
    sample_rate: int = INPUT_RATE,
    seed: int = 7,
    level: float = 0.3,
) -> bytes:
    """A deterministic speech-like test signal: voiced syllables separated by short pauses.

    Each syllable is a glottal-like tone (a 100-220 Hz fundamental with gliding pitch and
    harmonics up to 4 kHz) shaped by two vowel formants and a smooth attack/decay envelope;
    pauses of 40-180 ms separate syllables (short enough that an energy VAD hears one
    utterance). The same arguments always give the same bytes.

    Args:
        seconds: total length, including the pauses.
        sample_rate: output rate (Hz).
        seed: selects the syllable sequence.
        level: peak amplitude as a fraction of full scale.

    Returns:
        Mono s16le PCM at `sample_rate`.
    """
    if seconds <= 0 or sample_rate <= 0:
        raise WavError("speech_like_pcm needs a positive duration and sample rate")
    rng = random.Random(seed)
    total = int(seconds * sample_rate)
    out = array.array("h", bytes(2 * total))
    peak = 32767.0 * min(max(level, 0.0), 1.0)
    base_f0 = rng.uniform(110.0, 180.0)
    pos = int(0.05 * sample_rate)  # a short lead-in of silence
    tail = int(0.03 * sample_rate)
    while pos < total - tail:
        length = min(int(rng.uniform(0.12, 0.26) * sample_rate), total - tail - pos)
        if length < int(0.06 * sample_rate):
            break
        f0_start = base_f0 * rng.uniform(0.85, 1.25)
        f0_end = f0_start * rng.uniform(0.8, 1.15)
        f1, f2 = rng.choice(_VOWELS)
        harmonics = max(1, int(4000 / max(f0_start, f0_end)))
        gains = [
            (1.0 / k)
            * (_resonance(k * f0_start, f1, 90.0) + 0.6 * _resonance(k * f0_start, f2, 120.0))
            for k in range(1, harmonics + 1)
        ]
        norm = peak / max(sum(gains), 1e-9)
        phase = 0.0
        end = pos + length
        for n in range(pos, end):
            t = (n - pos) / max(1, length - 1)
            f0 = f0_start + (f0_end - f0_start) * t
            phase += 2.0 * math.pi * f0 / sample_rate
            envelope = math.sin(math.pi * min(1.0, t * 1.6)) if t < 0.3125 else 1.0
            envelope *= 0.5 * (1.0 + math.cos(math.pi * max(0.0, t - 0.6) / 0.4))
            value = sum(g * math.sin(k * phase) for k, g in enumerate(gains, start=1))
            out[n] = _clip(round(value * norm * envelope))
        pos = end + int(rng.uniform(0.04, 0.18) * sample_rate)
    return _to_s16_bytes(out)


def _resonance(freq: float, centre: float, bandwidth: float) -> float:
    """Gain of a simple resonance peak at `centre` (1.0) for a harmonic at `freq`."""
    return 1.0 / (1.0 + ((freq - centre) / bandwidth) ** 2) + 0.05
