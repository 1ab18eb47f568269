"""Sending a sequence of audio chunks at the pace it would play (`LiveSession.stream_audio`)."""

from __future__ import annotations

import math
import sys
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeAlias, cast

import trio

from ._arguments import check_sample_rate, describe
from ._errors import LocalProtocolError
from ._pacer import open_pacer

__all__ = ["AudioBuffer", "stream_audio"]

# The buffer protocol as a type, so that a type checker accepts what `send_audio` takes at
# run time (`array('h')`, a NumPy array), not only bytes, bytearray and memoryview.
# `collections.abc.Buffer` is new in 3.12; type checkers know typing_extensions' on 3.11,
# where at run time (annotations are strings here) only introspection sees the fallback.
if sys.version_info >= (3, 12):
    from collections.abc import Buffer as _Buffer
elif TYPE_CHECKING:
    from typing_extensions import Buffer as _Buffer
else:
    _Buffer = bytes | bytearray | memoryview

AudioBuffer: TypeAlias = _Buffer
"""PCM as the session takes it: any object with the buffer protocol, encoded straight from it.

bytes and bytearray as they are; any other buffer (a memoryview, `array('h')`, a NumPy
`int16` array) as a memoryview of it, which counts in bytes, not items.
"""


async def stream_audio(
    send: Callable[[AudioBuffer], Awaitable[None]],
    chunks: Iterable[AudioBuffer] | AsyncIterable[AudioBuffer],
    *,
    sample_rate: int,
    realtime: bool,
) -> int:
    """Send each chunk with `send`, paced to play time if `realtime`; return how many went.

    Chunk k goes out when chunks 0..k-1 would have finished playing, counted from the
    first send (when the first chunk came: a source slow to start, as speech synthesis
    is, does not send the first second at once); a chunk that comes late from an async
    source goes out at once, and the next ones catch up with the schedule. Each chunk is
    taken from `chunks` before the wait for its time, so that a slow source does not make
    it late: cancelled during that wait, the chunk taken is not sent.
    """
    seconds_per_byte = 1 / (2 * check_sample_rate(sample_rate))  # 16-bit mono
    sent = 0
    due = -math.inf  # set when the first chunk comes
    with open_pacer() as pacer:

        async def send_paced(chunk: AudioBuffer) -> None:
            nonlocal due, sent
            size = _nbytes(chunk)
            if realtime:
                if due == -math.inf and size:  # an empty chunk sends nothing: not the first
                    due = trio.current_time()
                await pacer.sleep_until(due)
                due += size * seconds_per_byte
            await send(chunk)
            sent += size > 0  # an empty chunk sends nothing (see `send_audio`)

        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                await send_paced(chunk)
        else:
            # Not wrapped in an async generator of ours: one left early (a refused chunk,
            # a cancellation) would be finalized by the garbage collector, with a warning.
            for chunk in _chunk_iterator(chunks):
                await send_paced(chunk)
    return sent


def _chunk_iterator(chunks: object) -> Iterator[AudioBuffer]:
    """An iterator over the chunks, or an error saying why `chunks` is not a source of them."""
    kind = type(chunks)
    if kind is bytes or kind is bytearray or kind is memoryview or _one_buffer(chunks):
        # Iterable, but over ints or samples (a NumPy int16 has the buffer protocol, and
        # each went out as a message of its own): the likely slip is one buffer where a
        # sequence belongs.
        raise LocalProtocolError(
            f"chunks must be an iterable of PCM buffers, not one {kind.__name__}: "
            "pass [pcm], or call send_audio"
        )
    if isinstance(chunks, str):
        # Iterable too, over characters: the first was refused as "pcm ... not str", which
        # hid that a single str (base64 text, likely) stood where the chunks belong.
        raise LocalProtocolError(
            "chunks must be an iterable of PCM buffers, not one str: PCM is bytes (base64 "
            "text must be decoded first, base64.b64decode)"
        )
    try:
        return iter(cast("Iterable[AudioBuffer]", chunks))
    except TypeError:
        raise LocalProtocolError(
            f"chunks must be an iterable or async iterable of PCM buffers, not {describe(chunks)}"
        ) from None


def _one_buffer(chunks: object) -> bool:
    """Whether `chunks` is a buffer of samples (`array('h')`, a NumPy array), not of chunks.

    One of more than one dimension (a NumPy array of frames) iterates over its rows: a
    source of chunks.
    """
    try:
        with memoryview(chunks) as view:  # type: ignore[arg-type]
            return view.ndim <= 1
    except TypeError:
        return False  # no buffer: an iterable of chunks, or refused as no iterable
    except (ValueError, BufferError):
        return True  # a buffer, though not one to read now (a closed mmap)


def _nbytes(chunk: object) -> int:
    """The size of a chunk in bytes (a view's `len()` counts items)."""
    kind = type(chunk)
    if kind is bytes or kind is bytearray:
        return len(chunk)  # type: ignore[arg-type]
    try:
        if kind is memoryview:
            return cast("memoryview", chunk).nbytes
        return memoryview(chunk).nbytes  # type: ignore[arg-type]
    except (TypeError, ValueError, BufferError):
        return 0  # not a buffer, or not one to read (released): `send` says why
