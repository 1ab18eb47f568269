"""The container of a WAV file: its chunks, the `fmt ` fields and the sample bytes.

Plain RIFF, and RF64/BW64 (what broadcast tools write, and files over 4 GiB), whose sizes
that do not fit in 32 bits are kept in a `ds64` chunk. Writers that stream to a pipe cannot
seek back to fill in sizes: they leave the data size at 0 or 0xFFFFFFFF, and the samples
run to the end of the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ._errors import ConfigurationError

__all__ = ["RiffFormat", "WavError", "parse_riff"]

_UNKNOWN = 0xFFFFFFFF  # a 32-bit size that is "not known here": see ds64, or read to the end
_DS64 = struct.Struct("<QQQI")  # RIFF size, data size, sample count, table length
_DS64_ENTRY = struct.Struct("<4sQ")  # a chunk id and its 64-bit size


class WavError(ConfigurationError):
    """A WAV file could not be read or written: missing, unreadable, not a WAV, unsupported."""


@dataclass(frozen=True)
class RiffFormat:
    """The fields of a `fmt ` chunk that decoding needs (the SubFormat already resolved)."""

    tag: int
    channels: int
    rate: int
    block_align: int
    bits: int


def parse_riff(data: bytes, name: str) -> tuple[RiffFormat, memoryview]:
    """The format and the `data` chunk's bytes (a view into `data`, not a copy).

    Raises:
        WavError: not a RIFF/RF64 WAVE file, big-endian, or no `fmt `/`data` chunk.
    """
    kind = data[:4]
    if len(data) < 12 or kind not in (b"RIFF", b"RIFX", b"RF64", b"BW64") or data[8:12] != b"WAVE":
        raise WavError(f"{name} is not a WAV file (no RIFF/WAVE header)")
    if kind == b"RIFX":
        raise WavError(f"{name} is a big-endian (RIFX) WAV file, which is not supported")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    wide: dict[bytes, int] = {}
    if kind != b"RIFF":
        riff_size, wide = _ds64(data, name)
    # A placeholder RIFF size says nothing of where the chunks end (a streaming writer's).
    riff_end = None if riff_size in (0, _UNKNOWN) else 8 + riff_size
    view = memoryview(data)
    fmt: bytes | None = None
    payload: memoryview | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        if size == _UNKNOWN and wide.get(chunk_id):
            # (A 0 in `ds64` is a streaming writer's placeholder, as 0xFFFFFFFF is here:
            # the chunk then runs to the end of the file, as far as it goes.)
            size = wide[chunk_id]
        elif chunk_id == b"data" and size == 0 and _runs_to_the_end(data, offset + 8, riff_end):
            size = len(data) - offset - 8
        body = view[offset + 8 : offset + 8 + size]
        if chunk_id == b"fmt ":
            fmt = bytes(body)
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
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE
        (tag,) = struct.unpack_from("<H", fmt, 24)  # first two bytes of the SubFormat GUID
    return RiffFormat(tag, channels, rate, block_align, bits), payload


def _runs_to_the_end(data: bytes, start: int, riff_end: int | None) -> bool:
    """Whether a `data` chunk of size 0 whose bytes start at `start` is the last chunk.

    A streaming writer leaves the size at 0 and writes the samples after it, to the end of
    the file; a truly empty chunk is followed by nothing, or by another chunk. The RIFF
    size, when filled in, says whether anything should follow; else the next 8 bytes are
    looked at: a chunk header has a printable id and a size that fits in the file.
    """
    if start >= len(data):
        return False
    if riff_end is None or riff_end <= start:
        return True
    if start + 8 > len(data):
        return True
    (size,) = struct.unpack_from("<I", data, start + 4)
    looks_like_a_chunk = all(0x20 <= b <= 0x7E for b in data[start : start + 4])
    return not (looks_like_a_chunk and start + 8 + size <= len(data) + 1)


def _ds64(data: bytes, name: str) -> tuple[int, dict[bytes, int]]:
    """RF64/BW64: the 64-bit RIFF size and the 64-bit sizes of chunks, from `ds64`."""
    if data[12:16] != b"ds64" or len(data) < 20 + _DS64.size:
        raise WavError(f"{name} is not a valid RF64 WAV file (no 'ds64' chunk first)")
    riff_size, data_size, _samples, entries = _DS64.unpack_from(data, 20)
    (ds64_size,) = struct.unpack_from("<I", data, 16)
    table_end = min(20 + ds64_size, len(data))
    wide = {b"data": data_size}
    offset = 20 + _DS64.size
    for _ in range(entries):
        if offset + _DS64_ENTRY.size > table_end:
            break
        chunk_id, size = _DS64_ENTRY.unpack_from(data, offset)
        wide.setdefault(chunk_id, size)
        offset += _DS64_ENTRY.size
    return riff_size, wide
