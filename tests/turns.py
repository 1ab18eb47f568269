"""Shared by the session tests: a loud tone to speak, and reading up to a turn's end or an event."""

from __future__ import annotations

import math
import struct
from collections.abc import AsyncIterable
from typing import TypeVar

import trio

from trio_gemini_live import AudioDelta, LiveSession, RealtimeEvent, TurnComplete

E = TypeVar("E", bound=RealtimeEvent)


def tone(samples: int) -> bytes:
    """A loud 200 Hz tone of `samples` 16 kHz samples: speech to the emulator's VAD."""
    return struct.pack(
        f"<{samples}h",
        *(int(8000 * math.sin(2 * math.pi * 200 * n / 16000)) for n in range(samples)),
    )


async def until_turn_complete(session: LiveSession) -> list[RealtimeEvent]:
    """The events up to and including the next `TurnComplete` (at most 60 s)."""
    events: list[RealtimeEvent] = []
    with trio.fail_after(60):
        async for event in session:
            events.append(event)
            if isinstance(event, TurnComplete):
                return events
    raise AssertionError("no turnComplete")


async def until_audio(session: LiveSession) -> None:
    """Read up to the first `AudioDelta` of the answer (at most 5 s)."""
    with trio.fail_after(5):
        async for event in session:
            if isinstance(event, AudioDelta):
                return
    raise AssertionError("no audio")


async def until_event(
    events: AsyncIterable[RealtimeEvent], kind: type[E], seen: list[RealtimeEvent] | None = None
) -> E:
    """Read `events` (a session) up to the next of `kind` and return it; `seen` gets each.

    The caller bounds the wait (`trio.fail_after`): how long depends on the test.
    """
    async for event in events:
        if seen is not None:
            seen.append(event)
        if isinstance(event, kind):
            return event
    raise AssertionError(f"the session ended before a {kind.__name__}")
