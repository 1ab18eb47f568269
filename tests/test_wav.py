"""_wav: reading every PCM/float WAV flavour to 16 kHz mono, writing, the speech-like signal."""

from __future__ import annotations

import array
import io
import itertools
import math
import os
import stat
import struct
import threading
import tracemalloc
import wave
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from trio_gemini_live import ConfigurationError
from trio_gemini_live._wav import (
    INPUT_RATE,
    WavError,
    parse_wav,
    pcm_duration,
    pcm_rms,
    read_wav,
    resample_pcm,
    speech_like_pcm,
    write_wav,
    write_wav_to,
)

# --- helpers -------------------------------------------------------------------------------


def sine(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> list[float]:
    """A sine as floats in [-1, 1]."""
    return [amplitude * math.sin(2 * math.pi * freq * n / rate) for n in range(int(seconds * rate))]


def encode(samples: list[float], width: int, *, is_float: bool = False) -> bytes:
    """Little-endian sample bytes for one channel."""
    if is_float:
        return struct.pack(f"<{len(samples)}{'f' if width == 4 else 'd'}", *samples)
    if width == 1:
        return bytes(round(s * 127) + 128 for s in samples)
    scale = (1 << (8 * width - 1)) - 1
    return b"".join(round(s * scale).to_bytes(width, "little", signed=True) for s in samples)


def interleave(channels: list[bytes], width: int) -> bytes:
    frames = len(channels[0]) // width
    return b"".join(
        channel[i * width : (i + 1) * width] for i in range(frames) for channel in channels
    )


def riff(
    payload: bytes,
    *,
    rate: int,
    channels: int,
    width: int,
    tag: int = 1,
    extensible: bool = False,
    extra_chunks: bytes = b"",
) -> bytes:
    """A WAV file built by hand (the `wave` module cannot write float or extensible)."""
    block = channels * width
    fmt = struct.pack(
        "<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * block, block, 8 * width
    )
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, 8 * width, 0) + struct.pack("<H", tag) + guid_tail
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += (
        b"data" + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def zero_crossings(pcm: bytes) -> int:
    samples = array.array("h")
    samples.frombytes(pcm)
    return sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))


def samples_of(pcm: bytes) -> array.array[int]:
    out = array.array("h")
    out.frombytes(pcm)
    return out


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "channels", "width", "is_float"),
    [
        (16000, 1, 2, False),
        (8000, 1, 1, False),
        (22050, 1, 2, False),
        (44100, 2, 2, False),
        (48000, 2, 3, False),
        (96000, 1, 4, False),
        (48000, 1, 4, True),
        (32000, 2, 8, True),
        (24000, 6, 2, False),
    ],
)
def test_any_format_becomes_16k_mono_with_pitch_and_length_kept(
    rate: int, channels: int, width: int, is_float: bool
) -> None:
    tone = sine(440.0, 0.5, rate)
    lanes = [encode(tone, width, is_float=is_float) for _ in range(channels)]
    data = riff(
        interleave(lanes, width),
        rate=rate,
        channels=channels,
        width=width,
        tag=3 if is_float else 1,
    )

    audio = parse_wav(data)

    assert audio.sample_rate == INPUT_RATE
    assert audio.source.sample_rate == rate
    assert audio.source.channels == channels
    assert audio.source.sample_width == width
    assert audio.source.is_float is is_float
    assert audio.duration == pytest.approx(0.5, abs=0.002)
    # 440 Hz for 0.5 s crosses zero about 440 times.
    assert zero_crossings(audio.pcm) == pytest.approx(440, abs=6)
    # Amplitude 0.5 of full scale: RMS about 0.5 * 32767 / sqrt(2).
    assert pcm_rms(audio.pcm) == pytest.approx(0.5 * 32767 / math.sqrt(2), rel=0.08)


def test_extensible_format_and_extra_chunks_are_read(tmp_path: Path) -> None:
    tone = encode(sine(300.0, 0.25, 16000), 2)
    listing = b"LIST" + struct.pack("<I", 5) + b"INFOx\x00"  # odd size: padded to even
    data = riff(tone, rate=16000, channels=1, width=2, extensible=True, extra_chunks=listing)
    path = tmp_path / "ext.wav"
    path.write_bytes(data)

    audio = read_wav(path)

    assert audio.pcm == tone
    assert audio.source.describe() == "16 kHz mono 16-bit PCM, 0.2 s"


def test_stereo_channels_are_averaged() -> None:
    left = encode([0.5] * 100, 2)
    right = encode([-0.25] * 100, 2)
    audio = parse_wav(riff(interleave([left, right], 2), rate=16000, channels=2, width=2))
    (a,), (b,) = samples_of(left[:2]), samples_of(right[:2])
    assert set(samples_of(audio.pcm)) == {(a + b) // 2}


def test_eight_bit_is_unsigned_around_128() -> None:
    audio = parse_wav(riff(bytes([128, 255, 0, 128]), rate=16000, channels=1, width=1))
    assert list(samples_of(audio.pcm)) == [0, 127 << 8, -128 << 8, 0]


def test_float_samples_are_clipped_and_nan_is_silence_in_place() -> None:
    # NaN used to be dropped: every later sample moved one place earlier in time.
    payload = struct.pack("<5f", 2.0, -2.0, 0.5, float("nan"), 0.25)
    audio = parse_wav(riff(payload, rate=16000, channels=1, width=4, tag=3))
    assert list(samples_of(audio.pcm)) == [32767, -32768, 16384, 0, 8192]


@pytest.mark.parametrize("width", [4, 8])
def test_infinite_and_huge_float_samples_are_clipped(width: int) -> None:
    # `round(x * 32767.0)` raised OverflowError on an infinity (and on 1e305 in float64):
    # "internal error" from `gemini-live talk`.
    values = [math.inf, -math.inf, 0.5] + ([1e305, -1e305] if width == 8 else [3e38, -3e38])
    audio = parse_wav(
        riff(encode(values, width, is_float=True), rate=16000, channels=1, width=width, tag=3)
    )
    assert list(samples_of(audio.pcm)) == [32767, -32768, 16384, 32767, -32768]


def test_nan_in_a_stereo_float_file_keeps_the_channels_aligned() -> None:
    # A dropped NaN moved every later sample to the other channel (or, with an odd count,
    # made the mix-down's zip(strict=True) raise).
    left = encode([0.5, float("nan"), 0.5, 0.5], 4, is_float=True)
    right = encode([0.25, 0.25, float("nan"), 0.25], 4, is_float=True)
    data = riff(interleave([left, right], 4), rate=16000, channels=2, width=4, tag=3)
    a, b = 16384, 8192  # 0.5 and 0.25 of full scale
    assert list(samples_of(parse_wav(data).pcm)) == [(a + b) // 2, b // 2, a // 2, (a + b) // 2]
    one_nan = riff(interleave([left[:8], right[:8]], 4), rate=16000, channels=2, width=4, tag=3)
    assert list(samples_of(parse_wav(one_nan).pcm)) == [(a + b) // 2, b // 2]


def test_a_truncated_data_chunk_is_read_as_far_as_it_goes() -> None:
    data = riff(encode([0.1] * 100, 2), rate=16000, channels=1, width=2)
    audio = parse_wav(data[:-51])  # cut mid-sample: the half sample is dropped
    assert len(audio.pcm) == 2 * 74


def streamed(payload: bytes, *, riff_size: int, data_size: int, after: bytes = b"") -> bytes:
    """A 16 kHz mono 16-bit WAV as a streaming writer leaves it: sizes not filled in."""
    good = riff(payload, rate=16000, channels=1, width=2)
    fmt_end = good.index(b"data")
    head = b"RIFF" + struct.pack("<I", riff_size) + good[8:fmt_end]
    return head + b"data" + struct.pack("<I", data_size) + payload + after


@pytest.mark.parametrize(
    "riff_size", [0, 0xFFFFFFFF, None], ids=["riff-0", "riff-ffffffff", "riff-set"]
)
@pytest.mark.parametrize("data_size", [0, 0xFFFFFFFF], ids=["data-0", "data-ffffffff"])
def test_a_data_size_left_unset_by_a_streaming_writer_reads_to_the_end(
    riff_size: int | None, data_size: int
) -> None:
    # A data size of 0 (what ffmpeg and others leave when writing to a pipe) read as empty.
    pcm = encode(sine(300.0, 0.25, 16000), 2)
    size = 36 + len(pcm) if riff_size is None else riff_size
    audio = parse_wav(streamed(pcm, riff_size=size, data_size=data_size))
    assert audio.pcm == pcm


def test_an_empty_data_chunk_followed_by_another_chunk_stays_empty() -> None:
    listing = b"LIST" + struct.pack("<I", 4) + b"INFO"
    data = streamed(b"", riff_size=36 + len(listing), data_size=0, after=listing)
    assert parse_wav(data).pcm == b""


def rf64(pcm: bytes, *, kind: bytes = b"RF64", table: bytes = b"", after: bytes = b"") -> bytes:
    """An RF64/BW64 file: the RIFF and data sizes are 0xFFFFFFFF, the real ones in ds64."""
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    sizes = struct.pack("<QQQI", 0, len(pcm), len(pcm) // 2, len(table) // 12)
    ds64 = b"ds64" + struct.pack("<I", len(sizes + table)) + sizes + table
    body = b"WAVE" + ds64 + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", 0xFFFFFFFF) + pcm
    riff_size = struct.pack("<Q", len(body))
    return kind + struct.pack("<I", 0xFFFFFFFF) + body[:12] + riff_size + body[20:] + after


@pytest.mark.parametrize("kind", [b"RF64", b"BW64"])
def test_rf64_and_bw64_files_are_read(kind: bytes) -> None:
    # "not a WAV file (no RIFF/WAVE header)" for a valid broadcast WAV.
    pcm = encode(sine(300.0, 0.25, 16000), 2)
    junk = b"JUNK" + struct.pack("<Q", 0)  # a table entry for another chunk
    data = rf64(pcm, kind=kind, table=junk, after=b"LIST\x04\x00\x00\x00INFO")
    assert parse_wav(data).pcm == pcm


def test_rf64_from_a_streaming_writer_reads_to_the_end() -> None:
    # ffmpeg `-rf64 always` to a pipe leaves ds64's sizes at 0: read as no audio at all.
    pcm = encode(sine(300.0, 0.25, 16000), 2)
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    ds64 = b"ds64" + struct.pack("<I", 28) + bytes(28)
    data = (
        b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + ds64
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", 0xFFFFFFFF) + pcm
    )  # fmt: skip
    assert parse_wav(data).pcm == pcm


def test_samples_in_wider_containers_are_read_per_sample() -> None:
    # 24-bit samples in 4-byte containers (block align 4 per channel): the padding was
    # stripped per frame, so the right channel was read from the left one's padding.
    left, right = encode([0.5] * 50, 3), encode([-0.25] * 50, 3)
    padded = [b"".join(c[i : i + 3] + b"\x00" for i in range(0, len(c), 3)) for c in (left, right)]
    data = bytearray(riff(interleave(padded, 4), rate=16000, channels=2, width=4))
    fmt = data.index(b"fmt ") + 8
    data[fmt + 14 : fmt + 16] = struct.pack("<H", 24)  # bits per sample: 24 (block align 8)
    audio = parse_wav(bytes(data))
    (a,), (b,) = samples_of(left[1:3]), samples_of(right[1:3])
    assert set(samples_of(audio.pcm)) == {(a + b) // 2}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_writing_to_a_pipe_writes_through_it(tmp_path: Path) -> None:
    # The write went to a temporary file renamed over the path: the pipe was replaced by a
    # regular file (as root, `-o /dev/stdout` would have replaced the device), its reader
    # got nothing.
    fifo = tmp_path / "out.wav"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    pcm = encode(sine(300.0, 0.1, 24000), 2)
    write_wav(fifo, pcm)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert parse_wav(got[0], sample_rate=24000).pcm == pcm


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_writing_to_an_anonymous_pipe_by_its_fd_path_writes_through_it() -> None:
    # `-o /dev/stdout` on a pipe: the path's real path, `/proc/PID/fd/pipe:[N]`, names
    # nothing, and "cannot write /dev/stdout: No such file or directory".
    read_end, write_end = os.pipe()
    with open(read_end, "rb") as reading, open(write_end, "wb"):
        pcm = encode(sine(300.0, 0.01, 24000), 2)  # 480 bytes: within the pipe's buffer
        write_wav(f"/proc/self/fd/{write_end}", pcm)
        assert parse_wav(reading.read(44 + len(pcm)), sample_rate=24000).pcm == pcm


def test_write_wav_to_writes_a_whole_wav_and_leaves_the_stream_open() -> None:
    stream = io.BytesIO()
    pcm = encode(sine(300.0, 0.01, 24000), 2)
    write_wav_to(stream, pcm, sample_rate=24000)
    assert not stream.closed
    assert parse_wav(stream.getvalue(), sample_rate=24000).pcm == pcm
    with pytest.raises(WavError, match="cannot write out: PCM length is not a whole number"):
        write_wav_to(stream, b"\x00", name="out")


def test_writing_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.wav"
    real.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    pcm = encode(sine(300.0, 0.1, 24000), 2)
    write_wav(link, pcm)
    assert link.is_symlink()
    assert parse_wav(real.read_bytes(), sample_rate=24000).pcm == pcm


def test_rf64_without_ds64_is_named() -> None:
    data = rf64(b"\x00\x00").replace(b"ds64", b"xx64")
    with pytest.raises(WavError, match="not a valid RF64 WAV file"):
        parse_wav(data, name="x.wav")


@pytest.mark.parametrize("rate", [1, 999, 384_001, 100_000_000])
def test_sample_rates_outside_what_send_audio_takes_are_refused(rate: int) -> None:
    # A header saying 1 Hz made 16000 output samples of each input sample: a 20 KB file ran
    # for more than a minute and took 667 MB.
    data = riff(bytes(20000), rate=rate, channels=1, width=2)
    with pytest.raises(WavError, match=f"x.wav is {rate} Hz; only 1000 to 384000 Hz"):
        parse_wav(data, name="x.wav")


@pytest.mark.parametrize("rate", [1000, 384_000])
def test_the_extreme_sample_rates_are_read(rate: int) -> None:
    audio = parse_wav(riff(encode(sine(100.0, 0.1, rate), 2), rate=rate, channels=1, width=2))
    assert audio.duration == pytest.approx(0.1, abs=0.001)


@pytest.mark.parametrize(("width", "is_float"), [(2, False), (3, False), (4, True)])
def test_memory_stays_proportional_to_the_file(width: int, is_float: bool) -> None:
    # The mix-down and the moving average built lists of Python ints and floats for the
    # whole file: 18 to 31 times its size (a 52.9 MB WAV took 1.8 GB).
    lane = encode(sine(300.0, 1.0, 44100), width, is_float=is_float) * 3  # whole periods
    data = riff(
        interleave([lane, lane], width),
        rate=44100,
        channels=2,
        width=width,
        tag=3 if is_float else 1,
    )
    tracemalloc.start()
    try:
        audio = parse_wav(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert audio.duration == pytest.approx(3.0, abs=0.001)
    assert peak < 4 * len(data)


def test_target_rate_can_be_chosen() -> None:
    data = riff(encode(sine(200.0, 1.0, 16000), 2), rate=16000, channels=1, width=2)
    assert parse_wav(data, sample_rate=24000).duration == pytest.approx(1.0, abs=0.001)


# --- errors --------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WavError, match=r"cannot read .*nope\.wav: No such file"):
        read_wav(tmp_path / "nope.wav")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(WavError, match="is a directory"):
        read_wav(tmp_path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a WAV file"),
        (b"hello, this is text and not audio at all", "not a WAV file"),
        (b"ID3\x03\x00\x00\x00" + bytes(100), "not a WAV file"),
        (b"RIFF\x00\x00\x00\x00WAVE", "missing or short 'fmt ' chunk"),
        (b"RIFX\x00\x00\x00\x00WAVE", "big-endian"),
    ],
)
def test_not_a_wav(data: bytes, message: str) -> None:
    with pytest.raises(WavError, match=message):
        parse_wav(data, name="x.bin")


def test_errors_are_configuration_errors() -> None:
    assert issubclass(WavError, ConfigurationError)


def test_no_data_chunk() -> None:
    data = riff(b"", rate=16000, channels=1, width=2)
    data = data[: data.index(b"data")]
    with pytest.raises(WavError, match="no 'data' chunk"):
        parse_wav(data)


@pytest.mark.parametrize(("tag", "width"), [(7, 1), (2, 2), (0x55, 2)])
def test_compressed_formats_are_refused(tag: int, width: int) -> None:
    with pytest.raises(WavError, match=f"encoding 0x{tag:04x}"):
        parse_wav(riff(bytes(8), rate=8000, channels=1, width=width, tag=tag))


def test_odd_sample_widths_are_refused() -> None:
    with pytest.raises(WavError, match="unsupported 16-bit float"):
        parse_wav(riff(bytes(8), rate=8000, channels=1, width=2, tag=3))


def test_zero_channels_are_refused() -> None:
    with pytest.raises(WavError, match="invalid format"):
        parse_wav(riff(bytes(8), rate=8000, channels=0, width=2))


def test_write_to_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(WavError, match="cannot write"):
        write_wav(tmp_path / "no" / "such" / "dir.wav", bytes(4))


def test_write_refuses_partial_frames(tmp_path: Path) -> None:
    with pytest.raises(WavError, match="whole number of frames"):
        write_wav(tmp_path / "x.wav", bytes(3))


# --- writing -------------------------------------------------------------------------------


def test_write_then_read_with_the_wave_module(tmp_path: Path) -> None:
    pcm = encode(sine(500.0, 0.3, 24000), 2)
    path = tmp_path / "reply.wav"
    write_wav(path, pcm)
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.readframes(wav.getnframes()) == pcm
    assert read_wav(path, sample_rate=24000).pcm == pcm


@given(st.binary(max_size=2000).map(lambda b: b[: len(b) // 2 * 2]))
def test_round_trip_is_exact_at_the_same_rate(pcm: bytes) -> None:
    data = riff(pcm, rate=16000, channels=1, width=2)
    assert parse_wav(data).pcm == pcm


def test_a_failed_write_leaves_the_previous_file_as_it_was(
    tmp_path: Path, wav_writes_fail: Callable[[], None]
) -> None:
    # The file was opened "wb" (truncated) and written in place: a full disk or a file size
    # limit left a corrupt WAV, and the previous one was gone.
    path = tmp_path / "reply.wav"
    write_wav(path, bytes(480))
    before = path.read_bytes()
    wav_writes_fail()
    with pytest.raises(WavError, match=r"cannot write .*reply\.wav: File too large"):
        write_wav(path, bytes(48000))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["reply.wav"]  # no temporary file left


def test_a_written_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    # As `open(path, "wb")` makes them (a temporary file from mkstemp would be 0o600).
    umask = os.umask(0o022)
    try:
        write_wav(tmp_path / "new.wav", bytes(4))
    finally:
        os.umask(umask)
    assert (tmp_path / "new.wav").stat().st_mode & 0o777 == 0o644


def test_a_replaced_file_keeps_its_permission_bits(tmp_path: Path) -> None:
    # The new file renamed over it had 0o666 & umask: a private reply became readable by all.
    umask = os.umask(0o022)
    try:
        for mode in (0o600, 0o640, 0o604):
            path = tmp_path / f"{mode:o}.wav"
            path.write_bytes(b"old")
            path.chmod(mode)
            write_wav(path, bytes(4))
            assert path.stat().st_mode & 0o777 == mode
            assert parse_wav(path.read_bytes(), sample_rate=24000).pcm == bytes(4)
    finally:
        os.umask(umask)


@pytest.mark.usefixtures("as_owner")
def test_a_file_that_may_not_be_written_is_refused(tmp_path: Path) -> None:
    # It was replaced: the rename needs only the folder's write permission.
    path = tmp_path / "kept.wav"
    path.write_bytes(b"precious")
    path.chmod(0o444)
    link = tmp_path / "link.wav"
    link.symlink_to(path)
    for name in (path, link):
        with pytest.raises(WavError, match=rf"cannot write .*{name.name}: Permission denied"):
            write_wav(name, bytes(4))
    assert path.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.wav", "link.wav"]


# --- resampling ----------------------------------------------------------------------------


@given(
    n=st.integers(min_value=1, max_value=3000),
    src=st.sampled_from([8000, 11025, 16000, 22050, 24000, 44100, 48000]),
    dst=st.sampled_from([16000, 24000]),
)
def test_resampled_length(n: int, src: int, dst: int) -> None:
    out = resample_pcm(bytes(2 * n), src, dst)
    expected = n if src == dst else max(1, n * dst // src)
    assert len(out) == 2 * expected


def test_resampling_keeps_a_constant_level() -> None:
    pcm = array.array("h", [1000] * 4800).tobytes()
    for src, dst in ((48000, 16000), (8000, 16000), (44100, 16000), (16000, 24000)):
        out = samples_of(resample_pcm(pcm, src, dst))
        assert set(out[5:-5]) == {1000}


def test_downsampling_attenuates_what_the_lower_rate_cannot_hold() -> None:
    # Near 16 kHz's 8 kHz Nyquist limit the moving average damps a tone to a quarter or less;
    # a speech-band tone passes almost untouched.
    for src in (48000, 44100, 32000):
        high = pcm_rms(resample_pcm(encode(sine(7900.0, 0.2, src, 0.8), 2), src, 16000))
        low = pcm_rms(resample_pcm(encode(sine(300.0, 0.2, src, 0.8), 2), src, 16000))
        assert high < 0.36 * low
        assert low == pytest.approx(0.8 * 32767 / math.sqrt(2), rel=0.03)


def test_bad_rates() -> None:
    with pytest.raises(WavError):
        resample_pcm(bytes(4), 0, 16000)
    with pytest.raises(WavError):
        parse_wav(riff(bytes(4), rate=16000, channels=1, width=2), sample_rate=0)


# --- the speech-like signal ----------------------------------------------------------------


def frame_levels(pcm: bytes, rate: int = 16000, frame_ms: int = 20) -> list[float]:
    size = rate * frame_ms // 1000 * 2
    return [pcm_rms(pcm[i : i + size]) for i in range(0, len(pcm) - size + 1, size)]


def test_speech_like_is_deterministic_and_sized() -> None:
    first = speech_like_pcm(1.6)
    assert first == speech_like_pcm(1.6)
    assert first != speech_like_pcm(1.6, seed=8)
    assert pcm_duration(first, 16000) == pytest.approx(1.6)
    assert len(speech_like_pcm(0.5, sample_rate=24000)) == 2 * 12000


def test_speech_like_triggers_an_energy_vad_as_one_utterance() -> None:
    pcm = speech_like_pcm(2.0)
    levels = frame_levels(pcm)
    loud = [level >= 300 for level in levels]  # the emulator's default VAD threshold
    assert sum(loud) / len(loud) > 0.5  # clearly non-silent
    assert not loud[0]  # starts with a short lead-in
    # Pauses between syllables exist but are far shorter than a 500 ms end-of-speech window.
    runs: list[int] = []
    current = 0
    first, last = loud.index(True), len(loud) - 1 - loud[::-1].index(True)
    for is_loud in loud[first : last + 1]:
        if is_loud:
            if current:
                runs.append(current)
            current = 0
        else:
            current += 1
    assert runs  # there are pauses (syllables)
    assert max(runs) * 20 < 300


def test_speech_like_is_voiced_and_not_clipped() -> None:
    pcm = speech_like_pcm(1.0, level=0.3)
    peak = max(abs(s) for s in samples_of(pcm))
    assert 0.15 * 32767 < peak <= 0.3 * 32767 + 1
    # Voiced speech has a low fundamental: far fewer zero crossings than noise would have.
    assert zero_crossings(pcm) < 1.0 * 16000 * 0.1


def test_speech_like_rejects_nonsense() -> None:
    with pytest.raises(WavError):
        speech_like_pcm(0)
