"""Answering a streamed function call before its `FunctionCall`: refused, and why.

A call still streaming its arguments (`FunctionCallDelta`) or left incomplete by its turn
(`ToolCallCancellation(reason="incomplete")`) has nothing waiting for its result: a
response for it used to be sent whenever a `name` was given.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_gemini_live import (
    CallCancelledError,
    FunctionCallDelta,
    FunctionResponse,
    LiveSession,
    LocalProtocolError,
    ServerMessage,
    ToolCallCancellation,
    live_setup,
)
from trio_gemini_live._wire import FunctionCallPart, ServerContent, ToolCallMessage
from trio_gemini_live.emulator import EmulatorConfig, open_emulator

TEXT_MODEL = "gemini-live-2.5-flash-preview"


async def _next(session: LiveSession, kind: type[object]) -> object:
    with trio.fail_after(60):
        async for event in session:
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__}")


async def _refused(session: LiveSession, match: str, *, cancelled: bool) -> None:
    """Every way to answer "c1" is refused; as `CallCancelledError` only if `cancelled`."""
    attempts = (
        lambda: session.respond("c1", {"ok": True}, name="f"),
        lambda: session.respond("c1", {"ok": True}),
        lambda: session.send_tool_response(FunctionResponse(id="c1", name="f", response={})),
    )
    for attempt in attempts:
        with pytest.raises(LocalProtocolError, match=match) as info:
            await attempt()
        error = info.value
        assert isinstance(error, CallCancelledError) is cancelled
        if isinstance(error, CallCancelledError):
            assert (error.call_id, error.reason) == ("c1", "incomplete")


async def test_a_call_streaming_or_left_incomplete_cannot_be_answered_even_with_its_name(
    autojump_clock: trio.testing.MockClock,
) -> None:
    setup = live_setup(TEXT_MODEL, modality="TEXT")
    async with (
        open_emulator(EmulatorConfig(vertex=True)) as emulator,
        emulator.open_session(setup) as session,
    ):
        server = emulator.connections[-1]
        opening = FunctionCallPart(name="f", id="c1", will_continue=True)
        await server.send(ServerMessage(tool_call=ToolCallMessage(function_calls=[opening])))
        await _next(session, FunctionCallDelta)
        await _refused(session, "'c1' is still streaming its arguments", cancelled=False)
        assert not session._call_cancelled("c1")  # pyright: ignore[reportPrivateUsage]
        await server.send(ServerMessage(server_content=ServerContent(turn_complete=True)))
        cancellation = await _next(session, ToolCallCancellation)
        assert cancellation == ToolCallCancellation(ids=("c1",), reason="incomplete")
        await _refused(session, "'c1' is incomplete", cancelled=True)
        # The seed facade drops the result of such a call, as of a cancelled one.
        assert session._call_cancelled("c1")  # pyright: ignore[reportPrivateUsage]
        await trio.sleep(1)
    assert not [f for f in emulator.connections[0].received if f.data and "toolResponse" in f.data]
