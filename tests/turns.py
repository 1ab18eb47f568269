"""Reading a session's events up to a turn boundary, shared by the end-to-end tests."""

from __future__ import annotations

import trio

from trio_gemini_live import LiveSession, RealtimeEvent, TurnComplete


async def until_turn_complete(session: LiveSession) -> list[RealtimeEvent]:
    """The events up to and including the next `TurnComplete` (at most 60 s)."""
    events: list[RealtimeEvent] = []
    with trio.fail_after(60):
        async for event in session:
            events.append(event)
            if isinstance(event, TurnComplete):
                return events
    raise AssertionError("no turnComplete")
