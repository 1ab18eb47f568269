"""The reader's own task sends: a `respond` in the `async for` never deadlocks the session.

An agent answers a tool call from its event loop while a microphone task streams audio.
When the uplink stalled, `respond` waited for room in the outgoing queue, which only the
sender makes; the event channel filled meanwhile, and the receiver waited for the reader,
which was the task inside `respond`. The heartbeat took the receiver's wait for a user busy
elsewhere and watched nothing, so a stalled or dropped connection held both for ever. Now
deliveries are set aside while the reader's task waits for room: the connection is watched
as usual, and the session resumes (or ends) within its bounds; nothing is lost.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from trio_gemini_live import (
    FunctionCall,
    GeminiRealtimeClient,
    LiveSession,
    Reconnected,
    ReconnectPolicy,
    SessionOptions,
    WaitingForInput,
    function_tool,
    live_setup,
    url_endpoint,
)
from trio_gemini_live._connection import ASIDE_LIMIT
from trio_gemini_live.emulator import (
    Emulator,
    EmulatorConfig,
    Fault,
    Scenario,
    ScenarioToolCall,
    ScenarioTurn,
    open_emulator,
)

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
# NON_BLOCKING: the model talks on while the call runs, and its audio fills the channel.
TOOL = function_tool(
    "alpha",
    "a tool",
    {"type": "OBJECT", "properties": {"x": {"type": "STRING"}}},
    non_blocking=True,
)
SCENARIO = Scenario(
    (
        ScenarioTurn(
            when="go",
            reply="Sure, let me look that up while we talk about many things at length " * 3,
            tool_calls=(ScenarioToolCall("alpha", {"x": "1"}),),
        ),
    )
)
OPTIONS = SessionOptions(event_buffer=8, send_buffer=4, reconnect=ReconnectPolicy(jitter=0))


async def microphone(session: LiveSession) -> None:
    while True:
        await session.send_audio(bytes(640))  # 20 ms of silence
        await trio.sleep(0.02)


async def stall_then(emulator: Emulator, reset: bool) -> None:
    """The server stops reading (the uplink stalls); with `reset`, the connection drops.

    Without, the client gives the connection up (the heartbeat); the emulator, which never
    reads its close, refuses to resume the session elsewhere, as in use, until the old
    connection drops 40 s later.
    """
    connection = emulator.connections[0]
    connection.inject(Fault(kind="slow-read", seconds=1000, read_bytes=1))
    await trio.sleep(3)
    if not reset:
        await trio.sleep(40)
    await connection.reset()


@pytest.mark.parametrize("reset", [True, False], ids=["stall then drop", "stall"])
async def test_respond_in_the_event_loop_over_a_stalled_uplink_ends_within_bounds(
    autojump_clock: trio.testing.MockClock, reset: bool
) -> None:
    seen: list[str] = []
    async with (
        open_emulator(EmulatorConfig(scenario=SCENARIO)) as emulator,
        emulator.open_session(
            live_setup(MODEL, functions=[TOOL]), options=OPTIONS, buffer=8192
        ) as s,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(microphone, s)
        await s.send_client_content("go now")
        with trio.fail_after(600):  # a hang was for ever
            async for event in s:
                seen.append(type(event).__name__)
                if isinstance(event, FunctionCall):
                    nursery.start_soon(stall_then, emulator, reset)
                    await trio.sleep(1)  # the tool runs
                    await s.respond(event.call_id, {"ok": 1})
                    seen.append("answered")
                elif isinstance(event, Reconnected):
                    break
        nursery.cancel_scope.cancel()
    # The session resumed, and the answer, queued on a connection that ended, was either
    # written there or reported (`not_replayed`), its call cancelled if still pending.
    assert seen[-1] == Reconnected.__name__
    assert "answered" in seen


async def test_the_seed_facade_answering_in_its_read_loop_over_a_dropped_uplink_resumes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Its pump task reads the session, the application reads the pump's channel: the
    # reader whose task sends is the application's.
    async with open_emulator(EmulatorConfig(scenario=SCENARIO)) as emulator:
        config: dict[str, Any] = {
            "model": MODEL,
            "api_key": "k",
            "base_url": emulator.endpoint_url(),
            "connector": emulator.memory_connector(buffer=8192),  # the uplink can stall
            "session_options": OPTIONS,
            # The echo would wait for the reader: the microphone would fill nothing.
            "echo_input_audio": False,
        }
        client = GeminiRealtimeClient(llm_config={"config_list": [config]})
        seen: list[str] = []
        async with client.connect(), trio.open_nursery() as nursery:
            await client.session_update({"tools": [TOOL_SCHEMA]})

            async def microphone() -> None:
                while True:
                    await client.send_audio(bytes(640))
                    await trio.sleep(0.02)

            nursery.start_soon(microphone)
            await client.send_text(role="user", text="go now")
            with trio.fail_after(600):
                async for event in client.read_events():
                    seen.append(type(event).__name__)
                    if isinstance(event, FunctionCall):
                        nursery.start_soon(stall_then, emulator, True)
                        await trio.sleep(1)
                        await client.send_function_result(event.call_id, "ok")
                        seen.append("answered")
                    elif isinstance(event, Reconnected):
                        break
            nursery.cancel_scope.cancel()
    assert "answered" in seen
    assert seen[-1] == Reconnected.__name__


TOOL_SCHEMA = {
    "type": "function",
    "name": "alpha",
    "description": "a tool",
    "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
    "behavior": "NON_BLOCKING",
}


async def test_what_is_set_aside_while_the_reader_sends_is_bounded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A task taken for the reader that no longer reads (another task reads, slowly) made
    # every delivery go aside while it waited to send, without bound.
    session = LiveSession(
        url_endpoint("ws://127.0.0.1/ws", api_key="k"), SessionOptions(event_buffer=1)
    )
    core = session._core  # pyright: ignore[reportPrivateUsage]
    core.reader_sending = 1
    limit = core._aside_limit()  # pyright: ignore[reportPrivateUsage]
    assert limit == ASIDE_LIMIT
    for _ in range(1 + limit):  # the channel's one, then those set aside
        assert not await core.deliver(WaitingForInput())
    assert len(core.aside) == limit
    with trio.move_on_after(1) as waited:
        await core.deliver(WaitingForInput())  # waits for the reader, as without a send
    assert waited.cancelled_caught
    assert len(core.aside) == limit
