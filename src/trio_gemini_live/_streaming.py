"""Sending a sequence of audio chunks at the pace it would play (`LiveSession.stream_audio`)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable

import trio

from ._errors import LocalProtocolError
from ._pacer import open_pacer

__all__ = ["AudioBuffer", "stream_audio"]

AudioBuffer = bytes | bytearray | memoryview
"""PCM as the session takes it: any of these, encoded straight from the buffer."""


async def stream_audio(
    send: Callable[[AudioBuffer], Awaitable[None]],
    chunks: Iterable[AudioBuffer] | AsyncIterable[AudioBuffer],
    *,
    sample_rate: int,
    realtime: bool,
) -> int:
    """Send each chunk with `send`, paced to play time if `realtime`; return how many.

    Chunk k goes out when chunks 0..k-1 would have finished playing, counted from the
    first send; a chunk that comes late from an async source goes out at once, and the
    next ones catch up with the schedule.
    """
    if sample_rate <= 0:
        raise LocalProtocolError(f"sample_rate must be a positive number of Hz, not {sample_rate}")
    seconds_per_byte = 1 / (2 * sample_rate)  # 16-bit mono
    source = chunks if isinstance(chunks, AsyncIterable) else _as_async(chunks)
    sent = 0
    with open_pacer() as pacer:
        due = trio.current_time()
        async for chunk in source:
            if realtime:
                await pacer.sleep_until(due)
                due += _nbytes(chunk) * seconds_per_byte
            await send(chunk)
            sent += 1
    return sent


async def _as_async(chunks: Iterable[AudioBuffer]) -> AsyncIterator[AudioBuffer]:
    for chunk in chunks:
        yield chunk


def _nbytes(chunk: AudioBuffer) -> int:
    return chunk.nbytes if isinstance(chunk, memoryview) else len(chunk)
