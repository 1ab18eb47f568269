"""WAV files in and out, and a speech-like test signal, in pure standard-library Python.

The Live API takes 16 kHz mono s16le PCM and answers with 24 kHz mono s16le PCM; this module
turns any PCM or float WAV into the former and writes the latter. No numpy, no `audioop`.
"""

from __future__ import annotations

import array
import contextlib
import errno
import itertools
import math
import os
import random
import stat
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ._arguments import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from ._wav_riff import WavError, parse_riff

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
    "write_wav_to",
]

INPUT_RATE = 16_000
"""The sample rate the Live API expects for input audio (Hz)."""

OUTPUT_RATE = 24_000
"""The sample rate of the Live API's audio replies (Hz)."""

_FORMAT_PCM = 0x0001
_FORMAT_FLOAT = 0x0003
_BIG_ENDIAN_HOST = sys.byteorder == "big"
_BLOCK_FRAMES = 1 << 14  # frames (or output samples) handled per step of a per-sample loop
_UNSIGNED_TO_SIGNED = bytes(b ^ 0x80 for b in range(256))  # 8-bit WAV byte -> s16 high byte

StrPath = str | os.PathLike[str]


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

    Any rate from 1 to 384 kHz, any channel count (mixed down by averaging), 8/16/24/32-bit
    integer PCM and 32/64-bit float samples are accepted (float samples beyond full scale are
    clipped, NaN is silence), in RIFF or RF64/BW64 files, `WAVE_FORMAT_EXTENSIBLE` included;
    a data size a streaming writer left at 0 or 0xFFFFFFFF means "to the end of the file".

    Raises:
        WavError: the file is missing or unreadable, is not a WAV file, or uses an
            unsupported encoding (compressed formats such as ADPCM or mu-law) or rate.
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
    _check_rate(sample_rate, "sample_rate")
    info, payload = _parse_format(data, name)
    mono = _resample(_decode_mono(payload, info), info.sample_rate, sample_rate)
    return WavAudio(pcm=_to_s16_bytes(mono), sample_rate=sample_rate, source=info)


def _check_rate(rate: int, what: str) -> None:
    # The range send_audio and the emulator take. Outside it the rate is a broken header
    # (a 1 Hz "rate" made 16000 output samples of each input sample: minutes, gigabytes).
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise WavError(
            f"{what} is {rate} Hz; only {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz is supported"
        )


def _parse_format(data: bytes, name: str) -> tuple[WavInfo, memoryview]:
    """The checked format of a WAV file and its whole frames, each `width * channels` bytes."""
    fmt, payload = parse_riff(data, name)
    tag, channels, rate, bits = fmt.tag, fmt.channels, fmt.rate, fmt.bits
    if tag not in (_FORMAT_PCM, _FORMAT_FLOAT):
        raise WavError(
            f"{name} uses WAV encoding 0x{tag:04x}; only integer PCM and IEEE float "
            "are supported (convert it to 16-bit PCM first)"
        )
    if channels < 1 or rate < 1:
        raise WavError(f"{name} has an invalid format ({channels} channels at {rate} Hz)")
    _check_rate(rate, f"the sample rate of {name}")
    width = (bits + 7) // 8
    is_float = tag == _FORMAT_FLOAT
    supported = (4, 8) if is_float else (1, 2, 3, 4)
    if width not in supported:
        kind = "float" if is_float else "PCM"
        raise WavError(f"{name} has unsupported {bits}-bit {kind} samples")
    frame_size = max(fmt.block_align, width * channels)
    frames = len(payload) // frame_size
    container, rest = divmod(frame_size, channels)
    if rest == 0 and container > width:
        # Each sample in a wider container (24-bit samples in 4 bytes): keep the leading
        # `width` bytes of each sample, not of each frame (the second channel would have
        # been read from the first one's padding).
        raw = payload[: frames * frame_size]
        samples = bytearray(frames * channels * width)
        for byte in range(width):
            samples[byte::width] = raw[byte::container]
        payload = memoryview(samples)
    elif frame_size != width * channels:  # padding after each frame: keep its leading bytes
        used = width * channels
        payload = memoryview(
            b"".join(payload[i : i + used] for i in range(0, frames * frame_size, frame_size))
        )
    else:
        payload = payload[: frames * frame_size]
    return WavInfo(rate, channels, width, frames, is_float), payload


def _decode_mono(payload: memoryview, info: WavInfo) -> array.array[int]:
    """Mono 16-bit samples, decoded and mixed down a block of frames at a time.

    Blocks keep the Python objects of the per-sample steps few: memory stays a small
    multiple of the file's size whatever its length.
    """
    frame = info.sample_width * info.channels
    if info.channels == 1 and info.sample_width == 2 and not info.is_float:
        return _from_s16_bytes(payload)  # already what the API takes: one copy, no loop
    mono = array.array("h")
    step = _BLOCK_FRAMES * frame
    for start in range(0, len(payload), step):
        block = _decode_samples(payload[start : start + step], info)
        mono.extend(_mix_down(block, info.channels))
    return mono


def _decode_samples(payload: memoryview, info: WavInfo) -> array.array[int]:
    """Interleaved samples as 16-bit signed integers (most significant bits kept)."""
    width = info.sample_width
    if info.is_float:
        floats = array.array("f" if width == 4 else "d")
        floats.frombytes(payload)
        if _BIG_ENDIAN_HOST:
            floats.byteswap()
        # Clipped before scaling: an infinity or 1e305 overflowed `round`. NaN (x != x) is
        # silence, kept in place: dropped, it shifted every later sample to another channel
        # (or another time).
        return array.array(
            "h",
            [
                0 if x != x else 32767 if x >= 1.0 else -32768 if x < -1.0 else round(x * 32767.0)
                for x in floats
            ],
        )
    raw = bytes(payload)
    if width == 1:  # 8-bit WAV is unsigned, centred on 128: flip the sign bit, make it the MSB
        wide = bytearray(2 * len(raw))
        wide[1::2] = raw.translate(_UNSIGNED_TO_SIGNED)
        raw = bytes(wide)
    elif width > 2:
        # Keep the top two bytes of each little-endian sample: 24 and 32 bits -> 16 bits.
        count = len(raw) // width
        top = bytearray(2 * count)
        top[0::2] = raw[width - 2 :: width]
        top[1::2] = raw[width - 1 :: width]
        raw = bytes(top)
    return _from_s16_bytes(raw)


def _mix_down(samples: array.array[int], channels: int) -> array.array[int]:
    """Average interleaved channels into one (rounding down, as integer division does)."""
    if channels == 1:
        return samples
    if channels == 2:
        return array.array(
            "h", [(a + b) >> 1 for a, b in zip(samples[0::2], samples[1::2], strict=True)]
        )
    lanes = [samples[c::channels] for c in range(channels)]
    return array.array("h", [sum(frame) // channels for frame in zip(*lanes, strict=True)])


def _clip(value: int) -> int:
    return -32768 if value < -32768 else 32767 if value > 32767 else value


def _to_s16_bytes(samples: array.array[int]) -> bytes:
    if _BIG_ENDIAN_HOST:
        samples = array.array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _from_s16_bytes(pcm: bytes | bytearray | memoryview) -> array.array[int]:
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    if _BIG_ENDIAN_HOST:
        samples.byteswap()
    return samples


def resample_pcm(pcm: bytes | bytearray | memoryview, src_rate: int, dst_rate: int) -> bytes:
    """Resample mono s16le PCM by linear interpolation.

    When downsampling by 1.5x or more, a centred moving average first damps most of what
    the lower rate cannot hold (a cheap anti-aliasing filter, good enough for speech).

    Raises:
        WavError: a rate outside 1000 to 384000 Hz.
    """
    _check_rate(src_rate, "the source sample rate")
    _check_rate(dst_rate, "the target sample rate")
    if src_rate == dst_rate or not pcm:
        return bytes(pcm[: len(pcm) // 2 * 2])
    return _to_s16_bytes(_resample(_from_s16_bytes(pcm), src_rate, dst_rate))


def _resample(samples: array.array[int], src_rate: int, dst_rate: int) -> array.array[int]:
    if src_rate == dst_rate or not samples:
        return samples
    step = src_rate / dst_rate
    half = round(step) - 1 if step >= 1.5 else 0  # the moving average's half width
    n_out = max(1, len(samples) * dst_rate // src_rate)
    return _interpolate(samples, n_out, step, half)


def _interpolate(samples: array.array[int], n_out: int, step: float, half: int) -> array.array[int]:
    """`n_out` samples at `i * step`, interpolated between moving averages of `2*half+1`.

    Runs over blocks of output with prefix sums of just the input they need (8 bytes per
    input sample of the block, not a list of floats for the whole input). Near the ends,
    where a window would reach past the input, `_edge_sample` takes shorter windows.
    """
    n_in = len(samples)
    width = 2 * half + 1
    first, end = 0, n_out
    while first < n_out and int(first * step) < half:
        first += 1
    while end > first and int((end - 1) * step) + half + 2 > n_in:
        end -= 1
    out = array.array("h", [_edge_sample(samples, i, step, half) for i in range(first)])
    inv = 1.0 / width
    for lo in range(first, end, _BLOCK_FRAMES):
        hi = min(end, lo + _BLOCK_FRAMES)
        base = int(lo * step) - half
        part = samples[base : int((hi - 1) * step) + half + 2]
        sums = array.array("q", itertools.accumulate(part, initial=0))
        off = base + half
        # The window of input sample j is part[k : k + width], k = j - off; the next one
        # differs by part[k + width] - part[k]. A blend of averages of 16-bit samples is
        # always within the 16-bit range: no clipping.
        out.extend(
            [
                round((sums[k + width] - sums[k] + (part[k + width] - part[k]) * (pos - j)) * inv)
                for i in range(lo, hi)
                for pos in (i * step,)
                for j in (int(pos),)
                for k in (j - off,)
            ]
        )
    out.extend(_edge_sample(samples, i, step, half) for i in range(max(first, end), n_out))
    return out


def _edge_sample(samples: array.array[int], i: int, step: float, half: int) -> int:
    """Output sample `i` near an end of the input: windows cut short at the ends."""
    n_in = len(samples)
    last = n_in - 1

    def level(j: int) -> float:
        lo, hi = max(0, j - half), min(n_in, j + half + 1)
        return sum(samples[lo:hi]) / (hi - lo)

    pos = i * step
    j = int(pos)
    if j >= last:
        return round(level(last))
    a = level(j)
    return round(a + (level(j + 1) - a) * (pos - j))


# --- writing -------------------------------------------------------------------------------


def write_wav(
    path: StrPath,
    pcm: bytes | bytearray | memoryview,
    *,
    sample_rate: int = OUTPUT_RATE,
    channels: int = 1,
) -> None:
    """Write s16le PCM as a WAV file (24 kHz mono by default, the Live API's output).

    The file is written under a temporary name in the same folder and renamed over `path`
    once complete, so a failed write (a full disk, a file size limit) leaves no truncated
    WAV behind, and any previous file at `path` as it was. A previous file is replaced by
    a new one with its permission bits (hard links to it keep the old content); one that
    may not be written is refused, as `open(path, "wb")` would refuse it. A symbolic link
    at `path` stays one (the file it points to is replaced), and a `path` that is no
    regular file (a pipe, `/dev/stdout`) is written to directly: renaming over it would
    replace the pipe or the device itself.

    Raises:
        WavError: the file cannot be written.
    """
    name = os.fspath(path)
    _check_frames(name, pcm, channels)
    temp: str | None = None
    try:
        # Tested on `name`, not its real path: that of `/dev/stdout` on a pipe is
        # `/proc/PID/fd/pipe:[N]`, which names nothing, and a temporary file was made there.
        if os.path.exists(name) and not os.path.isfile(name):
            with open(name, "wb") as raw:
                _write_frames(raw, pcm, sample_rate, channels)
            return
        target = os.path.realpath(name)
        mode = _replaced_mode(target)
        fd, temp = _new_file_beside(target)
        if mode is not None:
            # The rename would give `path` the new file's mode: a private (0o600) file
            # became readable by all.
            os.chmod(temp, mode)
        with os.fdopen(fd, "wb") as raw:
            _write_frames(raw, pcm, sample_rate, channels)
            raw.flush()
            os.fsync(raw.fileno())  # on disk before the rename makes it the file at `path`
        os.replace(temp, target)
        temp = None
    except OSError as exc:
        raise WavError(f"cannot write {name}: {exc.strerror or exc}") from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def write_wav_to(
    raw: BinaryIO,
    pcm: bytes | bytearray | memoryview,
    *,
    sample_rate: int = OUTPUT_RATE,
    channels: int = 1,
    name: str = "the stream",
) -> None:
    """Write s16le PCM as a WAV file to an open binary stream, which stays open.

    For a stream that is no file of one's own (standard output, which may be a regular file
    opened by the shell): nothing is renamed, and the stream is never sought. `name` is
    what an error calls the stream.

    Raises:
        WavError: the PCM is not a whole number of frames, or the stream cannot be written.
    """
    _check_frames(name, pcm, channels)
    try:
        _write_frames(raw, pcm, sample_rate, channels)
        raw.flush()
    except OSError as exc:
        raise WavError(f"cannot write {name}: {exc.strerror or exc}") from None


def _check_frames(name: str, pcm: bytes | bytearray | memoryview, channels: int) -> None:
    if len(pcm) % (2 * channels):
        raise WavError(f"cannot write {name}: PCM length is not a whole number of frames")


def _write_frames(
    raw: BinaryIO, pcm: bytes | bytearray | memoryview, rate: int, channels: int
) -> None:
    # One `writeframes`: the header's sizes are right at once, so a stream that cannot
    # seek back (a pipe) gets a whole WAV too.
    with wave.open(raw, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm if not _BIG_ENDIAN_HOST else _to_s16_bytes(_from_s16_bytes(pcm)))


def _replaced_mode(target: str) -> int | None:
    """The permission bits of the file `target` that is to be replaced, None if none is.

    Raises:
        PermissionError: the file may not be written (a rename would replace it all the same).
    """
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return None
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), target)
    return mode


def _new_file_beside(name: str) -> tuple[int, str]:
    """A new, empty file next to `name` (same folder, hence same file system): fd and path."""
    folder, base = os.path.split(name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = os.path.join(folder, f".{base}.{os.urandom(4).hex()}.tmp")
        try:
            # 0o666 and the umask, as `open(name, "wb")` would (mkstemp's are 0o600).
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue


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
