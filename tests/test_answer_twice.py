"""A tool call is answered once: every way of sending a second answer is refused.

The server closes the session with 1007 on a second answer to a call. A raw `send` of a
`toolResponse` while a `respond` waited for room went out (only `respond` and
`send_tool_response` looked for an answer on its way); an answer to a call the session
knew was answered went out when it carried a name; an id twice in one message went out
twice. Calls without an id: a waiting response whose call the server cancelled answered,
on the server, the next call of its name, while the client left that call pending. And a
move waiting for an answer written from the caller's task (over TCP) was not woken.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import trio
import trio.testing

from test_send_checks import (
    TEXT_MODEL,
    WEATHER,
    first_of,
    gated_session,
    sent_to,
    stall_and_fill,
)
from trio_gemini_live import (
    ClientMessage,
    Content,
    FunctionCall,
    FunctionResponse,
    GoAway,
    LocalProtocolError,
    Part,
    Reconnected,
    ServerMessage,
    ToolCallCancellation,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._wire import (
    FunctionCallPart,
    GoAwayMessage,
    ServerContent,
    ToolCallCancellationMessage,
    ToolCallMessage,
    ToolResponse,
)
from trio_gemini_live.emulator import Emulator, EmulatorConfig, open_emulator

SETUP = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER])
NON_BLOCKING_SETUP = live_setup(
    TEXT_MODEL, modality="TEXT", functions=[function_tool("get_weather", non_blocking=True)]
)


def tool_call(call_id: str | None, n: int = 0) -> ServerMessage:
    call = FunctionCallPart(name="get_weather", args={"n": n}, id=call_id)
    return ServerMessage(tool_call=ToolCallMessage(function_calls=[call]))


def raw_answer(*ids: str | None) -> ClientMessage:
    responses = [FunctionResponse(id=i, name="get_weather", response={"raw": 1}) for i in ids]
    return ClientMessage(tool_response=ToolResponse(function_responses=responses))


def answers_sent(emulator: Emulator) -> list[dict[str, Any]]:
    frames = sent_to(emulator, -1, "toolResponse")
    return [answer for f in frames for answer in f["toolResponse"]["functionResponses"]]


@pytest.mark.parametrize("call_id", ["c1", ""])
async def test_a_raw_send_is_refused_while_an_answer_waits_for_room(
    autojump_clock: trio.testing.MockClock, call_id: str
) -> None:
    config = EmulatorConfig(vertex=not call_id, reject_unknown_tool_responses=False)
    async with open_emulator(config) as emulator, gated_session(emulator, SETUP) as (s, streams):
        await emulator.connections[-1].send(tool_call(call_id or None))
        await first_of(s, FunctionCall)
        await stall_and_fill(s, streams[-1], 1)
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(s.respond, call_id, {"n": 1})
                await trio.testing.wait_all_tasks_blocked()  # waiting for room, call taken
                with pytest.raises(LocalProtocolError, match="already on its way"):
                    await s.send(raw_answer(call_id or None))
                streams[-1].open_gate()
            await trio.testing.wait_all_tasks_blocked()
        assert [answer["response"] for answer in answers_sent(emulator)] == [{"n": 1}]


@pytest.mark.parametrize("how", ["respond with name", "send_tool_response", "send"])
async def test_a_call_known_answered_is_not_answered_again(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    config = EmulatorConfig(reject_unknown_tool_responses=False)  # for "elsewhere" below
    async with open_emulator(config) as emulator, emulator.open_session(SETUP) as s:
        await emulator.connections[-1].send(tool_call("c1"))
        await first_of(s, FunctionCall)
        await s.respond("c1", {"n": 1})
        assert s._core.protocol.settled_calls == {"c1": "answered"}  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(LocalProtocolError, match="'c1' was answered already"):
            if how == "respond with name":
                await s.respond("c1", {"n": 2}, name="get_weather")
            elif how == "send_tool_response":
                await s.send_tool_response(
                    FunctionResponse(id="c1", name="get_weather", response={"n": 2})
                )
            else:
                await s.send(raw_answer("c1"))
        # An id the session never saw still goes out with its name, as documented.
        await s.respond("elsewhere", {"n": 3}, name="get_weather")
        await trio.testing.wait_all_tasks_blocked()
        assert [answer["id"] for answer in answers_sent(emulator)] == ["c1", "elsewhere"]


async def test_a_cancellation_that_crosses_the_answer_leaves_the_call_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A barge-in: the server cancels the call our answer is on its way to. Taken as
    # cancelled, the call was answered again by any answer naming it.
    config = EmulatorConfig(reject_unknown_tool_responses=False)
    async with open_emulator(config) as emulator, emulator.open_session(SETUP) as s:
        connection = emulator.connections[-1]
        await connection.send(tool_call("c1"))
        await first_of(s, FunctionCall)
        await s.respond("c1", {"n": 1})
        cancellation = ToolCallCancellationMessage(ids=["c1"])
        await connection.send(ServerMessage(tool_call_cancellation=cancellation))
        assert (await first_of(s, ToolCallCancellation)).ids == ("c1",)
        for answer in (s.respond("c1", {"n": 2}), s.respond("c1", {"n": 3}, name="get_weather")):
            with pytest.raises(LocalProtocolError, match="'c1' was answered already"):
                await answer
        await trio.testing.wait_all_tasks_blocked()
        assert [answer["response"] for answer in answers_sent(emulator)] == [{"n": 1}]


@pytest.mark.parametrize(
    ("how", "call_id"),
    [("respond", "c1"), ("send_tool_response", "c1"), ("send", "c1"), ("send", "")],
)
async def test_a_response_that_will_continue_leaves_its_call_pending(
    autojump_clock: trio.testing.MockClock, how: str, call_id: str
) -> None:
    # protocol.md 2.4: a NON_BLOCKING call's results may come in several responses, each
    # but the last with `willContinue`. The first settled the call, and the next was
    # refused as a second answer.
    # A call without an id (Vertex) too: sent as given by `send`, since Vertex AI does not
    # support `willContinue` (`respond` refuses it there), and its parser leaves it out.
    config = EmulatorConfig(
        vertex=not call_id, strict=bool(call_id), reject_unknown_tool_responses=False
    )
    async with (
        open_emulator(config) as emulator,
        emulator.open_session(NON_BLOCKING_SETUP) as s,
    ):
        await emulator.connections[-1].send(tool_call(call_id or None))
        await first_of(s, FunctionCall)
        partial = FunctionResponse(
            id="c1", name="get_weather", response={"n": 1}, will_continue=True
        )
        if not call_id:
            partial = msgspec.structs.replace(partial, id=None)
        if how == "respond":
            await s.respond(call_id, {"n": 1}, will_continue=True)
        elif how == "send_tool_response":
            await s.send_tool_response(partial)
        else:
            await s.send(ClientMessage(tool_response=ToolResponse(function_responses=[partial])))
        assert call_id in s.pending_tool_calls
        await s.respond(call_id, {"n": 2})  # the last: it settles the call
        assert call_id not in s.pending_tool_calls
        with pytest.raises(LocalProtocolError, match=r"answered already|no call without an id"):
            await s.respond(call_id, {"n": 3})
        await trio.testing.wait_all_tasks_blocked()
        assert [answer["response"] for answer in answers_sent(emulator)] == [{"n": 1}, {"n": 2}]


async def test_will_continue_for_a_non_blocking_function_spelled_in_lower_case_goes_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The server reads an enum name in any case (as the emulator does): it was refused.
    declaration = msgspec.structs.replace(
        function_tool("get_weather", non_blocking=True), behavior="non_blocking"
    )
    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[declaration])
    config = EmulatorConfig(reject_unknown_tool_responses=False)  # the call is sent by hand
    async with open_emulator(config) as emulator, emulator.open_session(setup) as s:
        await emulator.connections[-1].send(tool_call("c1"))
        await first_of(s, FunctionCall)
        await s.respond("c1", {"n": 1}, will_continue=True)
        await s.respond("c1", {"n": 2})
        await trio.testing.wait_all_tasks_blocked()
        assert [answer["response"] for answer in answers_sent(emulator)] == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize("how", ["respond", "send_tool_response", "send"])
async def test_will_continue_for_a_blocking_function_is_refused(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    # protocol.md 2.4: `willContinue` is for NON_BLOCKING functions. The client kept the
    # BLOCKING call pending for a next response, which the server refused with 1007.
    config = EmulatorConfig(reject_unknown_tool_responses=False)
    async with open_emulator(config) as emulator, emulator.open_session(SETUP) as s:
        await emulator.connections[-1].send(tool_call("c1"))
        await first_of(s, FunctionCall)
        partial = FunctionResponse(
            id="c1", name="get_weather", response={"n": 1}, will_continue=True
        )
        refused = (
            r"^tool call 'c1': will_continue=True is for NON_BLOCKING functions, and the "
            r"setup in force declares 'get_weather' BLOCKING"
        )
        with pytest.raises(LocalProtocolError, match=refused):
            if how == "respond":
                await s.respond("c1", {"n": 1}, will_continue=True)
            elif how == "send_tool_response":
                await s.send_tool_response(partial)
            else:
                await s.send(
                    ClientMessage(tool_response=ToolResponse(function_responses=[partial]))
                )
        assert s.pending_tool_calls == {"c1": "get_weather"}
        await s.respond("c1", {"n": 2})
        await trio.testing.wait_all_tasks_blocked()
        assert [answer["response"] for answer in answers_sent(emulator)] == [{"n": 2}]


async def test_will_continue_for_a_function_the_client_sees_no_declaration_of_goes_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A function `Setup.extra` declares is the server's to judge, as before.
    extra = {"tools": [{"functionDeclarations": [{"name": "get_weather"}]}]}
    setup = live_setup(TEXT_MODEL, modality="TEXT", extra=extra)
    config = EmulatorConfig(reject_unknown_tool_responses=False)
    async with open_emulator(config) as emulator, emulator.open_session(setup) as s:
        await emulator.connections[-1].send(tool_call("c1"))
        await first_of(s, FunctionCall)
        await s.respond("c1", {"n": 1}, will_continue=True)
        await trio.testing.wait_all_tasks_blocked()
        assert s.pending_tool_calls == {"c1": "get_weather"}
    assert answers_sent(emulator) == [
        {"id": "c1", "name": "get_weather", "response": {"n": 1}, "willContinue": True}
    ]


@pytest.mark.parametrize("how", ["send_tool_response", "send"])
async def test_an_id_twice_in_one_message_is_refused(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    async with open_emulator() as emulator, emulator.open_session(SETUP) as s:
        await emulator.connections[-1].send(tool_call("c1"))
        await first_of(s, FunctionCall)
        with pytest.raises(LocalProtocolError, match="'c1' is answered twice in one message"):
            if how == "send":
                await s.send(raw_answer("c1", "c1"))
            else:
                answer = FunctionResponse(id="c1", name="get_weather", response={})
                await s.send_tool_response(answer, answer)
        assert s.pending_tool_calls == {"c1": "get_weather"}  # nothing went out
        await trio.testing.wait_all_tasks_blocked()
        assert answers_sent(emulator) == []


async def test_a_waiting_answer_whose_call_the_server_cancelled_answers_the_next_of_its_name(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Vertex, calls without an id: the server takes the response as the next call's answer.

    It matches a response without an id by name when it arrives; the client settled
    nothing, so the next call stayed pending and a second `respond("")` was sent for it.
    """
    config = EmulatorConfig(vertex=True, reject_unknown_tool_responses=False)
    async with open_emulator(config) as emulator, gated_session(emulator, SETUP) as (s, streams):
        server = emulator.connections[-1]
        await server.send(tool_call(None, 1))
        await first_of(s, FunctionCall)
        await stall_and_fill(s, streams[-1], 1)
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(s.respond, "", {"for": 1})
                await trio.testing.wait_all_tasks_blocked()  # waiting for room
                cancel = ToolCallCancellationMessage(ids=[""])
                await server.send(ServerMessage(tool_call_cancellation=cancel))
                assert (await first_of(s, ToolCallCancellation)).ids == ("",)
                await server.send(tool_call(None, 2))
                assert (await first_of(s, FunctionCall)).arguments == {"n": 2}
                # Its answer is the one waiting, as the server will read it.
                with pytest.raises(LocalProtocolError, match="already on its way"):
                    await s.respond("", {"for": 2})
                streams[-1].open_gate()
            assert s.pending_tool_calls == {}
            await trio.testing.wait_all_tasks_blocked()
        assert [answer["response"] for answer in answers_sent(emulator)] == [{"for": 1}]


async def test_a_move_waiting_for_an_answer_written_by_the_caller_goes_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Over TCP `respond` writes from the caller's task when the sender is idle.

    Only the sender and the receiver woke the move, which waited for the goAway deadline.
    """
    setup = live_setup(TEXT_MODEL, modality="TEXT", resumption=True)
    config = EmulatorConfig(reject_unknown_tool_responses=False)
    async with open_emulator(config) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")  # TCP, no connector
        async with open_session(setup, endpoint=endpoint) as s:
            server = emulator.connections[-1]
            await server.send(tool_call("c1"))
            await server.send(ServerMessage(server_content=ServerContent(turn_complete=True)))
            await server.send(ServerMessage(go_away=GoAwayMessage(time_left="60s")))
            await first_of(s, GoAway)
            await trio.testing.wait_all_tasks_blocked()  # the move waits for the answer
            answered_at = trio.current_time()
            await s.respond("c1", {"ok": 1})
            assert s.statistics().sends_queued == 0  # written by this task, not the sender
            await first_of(s, Reconnected)
            assert trio.current_time() - answered_at < 1  # not at the deadline, ~50 s on


@pytest.mark.parametrize("how", ["respond", "send_tool_response", "send_client_content"])
async def test_will_continue_is_refused_on_vertex_ai(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    # google-genai: "will_continue parameter is only supported in Gemini Developer API";
    # its FunctionResponse says "This field is not supported in Vertex AI". It was sent.
    config = EmulatorConfig(vertex=True, reject_unknown_tool_responses=False)
    async with (
        open_emulator(config) as emulator,
        emulator.open_session(NON_BLOCKING_SETUP) as s,
    ):
        await emulator.connections[-1].send(tool_call("c1"))
        await first_of(s, FunctionCall)
        partial = FunctionResponse(
            id="c1", name="get_weather", response={"n": 1}, will_continue=True
        )
        with pytest.raises(LocalProtocolError, match=r"willContinue is Gemini API only") as info:
            if how == "respond":
                await s.respond("c1", {"n": 1}, will_continue=True)
            elif how == "send_tool_response":
                await s.send_tool_response(partial)
            else:
                turn = Content(role="user", parts=[Part(function_response=partial)])
                await s.send_client_content(turns=[turn])
        where = (
            "clientContent.turns[0].parts[0].functionResponse"
            if how == "send_client_content"
            else "toolResponse.functionResponses[0]"
        )
        assert f"{where}.willContinue" in str(info.value)
        assert "c1" in s.pending_tool_calls
        await s.respond("c1", {"n": 2})
        await trio.testing.wait_all_tasks_blocked()
        assert [answer["response"] for answer in answers_sent(emulator)] == [{"n": 2}]
