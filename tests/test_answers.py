"""Tool responses at a resume: never written to a connection that did not issue their calls.

A response still queued (or waiting for room in the queue) when its connection ends was
written on the resumed connection, whose server knows no such call id and closed the
session with a fatal 1007 (as Google does, protocol.md 2.4). Now a resume voids it and
reports it in `Reconnected.not_replayed`, like the responses the replay buffer skips;
answering the call again says why, and a session that never resumes counts it in
`Closed.not_sent`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket

from fake_server import FakeServer, WrappedStream, accept_setup, pretty
from trio_gemini_live import (
    CallCancelledError,
    Closed,
    FunctionCall,
    FunctionResponse,
    GeminiRealtimeClient,
    GoAway,
    LiveSession,
    LocalProtocolError,
    RealtimeEvent,
    Reconnected,
    ReconnectPolicy,
    ServerMessage,
    SessionOptions,
    ToolCallCancellation,
    TurnComplete,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._answers import AnswerLedger
from trio_gemini_live._wire import FunctionCallPart, ToolCallMessage
from trio_gemini_live.emulator import Emulator, EmulatorConfig, open_emulator

MODEL = "gemini-live-2.5-flash-preview"
WEATHER = function_tool(
    "get_weather",
    "Current weather for a city",
    {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
)
SETUP = live_setup(MODEL, modality="TEXT", functions=[WEATHER])
NOT_REPLAYED = " (answers a call of the old connection)"
WEATHER_SEED = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


# --- the ledger, sans-IO ------------------------------------------------------------------------


def test_a_resume_voids_what_is_queued_and_the_sender_skips_it() -> None:
    ledger = AnswerLedger()
    written, voided, later = object(), object(), object()
    ledger.queue(written, b"x" * 10, ("c1",))
    ledger.queue(voided, b"y" * 20, ("c2", "c3"))
    assert ledger.take(written)  # the old connection's sender wrote it
    tally, ids = ledger.void()
    assert tally.lines("cause") == ["toolResponse: 1 message(s), 20 bytes (cause)"]
    assert ids == ("c2", "c3")
    ledger.queue(later, b"z", ("c4",))  # queued after the resume: the new connection's
    assert not ledger.take(voided)
    assert ledger.take(later)
    assert ledger.void()[0].messages == 0  # nothing left to void


def test_a_voided_response_is_reported_once() -> None:
    ledger = AnswerLedger()
    told, untold = object(), object()
    ledger.queue(told, b"x", ("c1",))
    ledger.void()
    ledger.told()  # its `Reconnected` is out
    ledger.queue(untold, b"y", ("c2",))
    ledger.void()  # a resume that never opens a connection: no `Reconnected`
    assert not ledger.left_unsent(told)
    assert ledger.left_unsent(untold)  # `Closed.not_sent` counts it
    assert ledger.left_unsent(object())  # any other message left queued


def test_a_send_that_gave_up_leaves_nothing_behind() -> None:
    ledger = AnswerLedger()
    item = object()
    ledger.queue(item, b"x", ("c1",))
    ledger.withdraw(item)
    assert ledger.void()[0].messages == 0


# --- sessions ------------------------------------------------------------------------------------


class GatedStream(WrappedStream):
    """A client stream whose writes wait while the gate is closed (a stalled uplink)."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        super().__init__(inner)
        self.gate = trio.Event()
        self.gate.set()
        self.writer_waiting = trio.Event()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if not self.gate.is_set():
            self.writer_waiting.set()
            await self.gate.wait()
        await self._inner.send_all(data)


@asynccontextmanager
async def gated_session(
    emulator: Emulator, *, send_buffer: int = 8, outage: bool = False, setup: Any = SETUP
) -> AsyncIterator[tuple[LiveSession, list[GatedStream]]]:
    """A session over the emulator whose connections are `GatedStream`s (newest last).

    It resumes at once after a drop; with `outage`, the first attempt comes 30 s later and
    every connect after the first fails (the network stays down).
    """
    streams: list[GatedStream] = []
    connect = emulator.memory_connector()

    async def connector() -> trio.abc.Stream:
        if streams and outage:
            raise OSError("the network is down")
        streams.append(GatedStream(await connect()))
        return streams[-1]

    endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
    if outage:
        policy = ReconnectPolicy(initial_delay=30, max_delay=30, jitter=0, max_elapsed=300)
    else:
        policy = ReconnectPolicy(initial_delay=0, jitter=0)
    options = SessionOptions(send_buffer=send_buffer, reconnect=policy)
    async with open_session(setup, endpoint=endpoint, options=options, connector=connector) as s:
        yield s, streams


async def stall(session: LiveSession, stream: GatedStream, fill: int) -> None:
    """Stall the uplink with the sender holding a frame, and `fill` frames queued behind it."""
    stream.gate = trio.Event()
    await session.send_audio(bytes(640))
    await stream.writer_waiting.wait()
    for _ in range(fill):
        await session.send_audio(bytes(640))


async def until(session: LiveSession, kind: type[Any], seen: list[RealtimeEvent]) -> Any:
    with trio.fail_after(60):
        async for event in session:
            seen.append(event)
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__}: {seen[-3:]}")


def responses(emulator: Emulator, connection: int) -> list[str]:
    """The call ids of the tool responses a connection received."""
    return [
        response["id"]
        for frame in emulator.connections[connection].received
        if frame.data and "toolResponse" in frame.data
        for response in frame.data["toolResponse"]["functionResponses"]
    ]


async def answer_the_reissued_call(
    emulator: Emulator, session: LiveSession, seen: list[RealtimeEvent], old: str
) -> None:
    """The resumed server asks again, with a new id; that answer ends the turn, no 1007."""
    call = await until(session, FunctionCall, seen)
    assert call.call_id != old
    await session.respond(call.call_id, {"temperature_c": 21})
    await until(session, TurnComplete, seen)
    assert responses(emulator, 1) == [call.call_id]
    assert not emulator.connections[1].closed


@pytest.mark.parametrize("when", ["queued", "waiting for room", "after the drop was noticed"])
async def test_a_response_queued_at_a_drop_is_reported_not_sent_on_the_resumed_connection(
    autojump_clock: trio.testing.MockClock, when: str
) -> None:
    async with (
        open_emulator() as emulator,
        gated_session(emulator, send_buffer=1 if when == "waiting for room" else 8) as (
            session,
            streams,
        ),
    ):
        seen: list[RealtimeEvent] = []
        await session.send_client_content("What is the weather in Paris?")
        call = await until(session, FunctionCall, seen)
        async with trio.open_nursery() as nursery:
            if when == "queued":
                await stall(session, streams[0], fill=0)
                await session.respond(call.call_id, {"temperature_c": 20})  # queued behind
                await emulator.connections[0].reset()
            elif when == "waiting for room":
                await stall(session, streams[0], fill=1)
                nursery.start_soon(session.respond, call.call_id, {"temperature_c": 20})
                await trio.testing.wait_all_tasks_blocked()
                assert session.pending_tool_calls  # not queued yet: it waits for room
                await emulator.connections[0].reset()
            else:
                await stall(session, streams[0], fill=0)
                connection = session._core.current  # pyright: ignore[reportPrivateUsage]
                assert connection is not None
                # The heartbeat gives up on the stalled uplink; the connection's close then
                # waits out close_timeout on it, and the resume begins only after that.
                with trio.fail_after(60):
                    await connection._ended.wait()  # pyright: ignore[reportPrivateUsage]
                assert session.pending_tool_calls  # not cancelled yet
                await session.respond(call.call_id, {"temperature_c": 20})
            reconnected = await until(session, Reconnected, seen)
        assert "toolResponse: 1 message(s), " in reconnected.not_replayed[-1]
        assert reconnected.not_replayed[-1].endswith(NOT_REPLAYED)
        cancelled = [e.ids for e in seen if isinstance(e, ToolCallCancellation)]
        # A response not queued yet left its call pending: cancelled as well.
        assert cancelled == ([(call.call_id,)] if when == "waiting for room" else [])
        with pytest.raises(LocalProtocolError, match="was answered, but the response"):
            await session.respond(call.call_id, {"temperature_c": 20}, name="get_weather")
        with pytest.raises(LocalProtocolError, match="was answered, but the response"):
            await session.send_tool_response(
                FunctionResponse(id=call.call_id, name="get_weather", response={})
            )
        await answer_the_reissued_call(emulator, session, seen, call.call_id)
    assert responses(emulator, 0) == []


async def test_a_partial_result_queued_at_a_drop_leaves_its_call_cancelled_not_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A NON_BLOCKING call's `will_continue` result answers nothing: the resume cancels the
    # call as a pending one (`ToolCallCancellation(reason="reconnect")`), and answering it
    # says so. It said "was answered", which an app catching CallCancelledError did not
    # catch (and the seed facade did not drop).
    background = function_tool(
        "get_weather",
        "Current weather for a city",
        {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
        non_blocking=True,
    )
    setup = live_setup(MODEL, modality="TEXT", functions=[background])
    async with open_emulator() as emulator, gated_session(emulator, setup=setup) as (s, streams):
        seen: list[RealtimeEvent] = []
        await s.send_client_content("What is the weather in Paris?")
        call = await until(s, FunctionCall, seen)
        await stall(s, streams[0], fill=0)
        await s.respond(call.call_id, {"progress": 50}, will_continue=True)  # queued behind
        await emulator.connections[0].reset()
        cancellation = await until(s, ToolCallCancellation, seen)
        assert (cancellation.ids, cancellation.reason) == ((call.call_id,), "reconnect")
        with pytest.raises(CallCancelledError):
            await s.respond(call.call_id, {"done": True})


async def test_a_move_after_go_away_waits_for_a_queued_response_to_go_out(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    """The old connection can still take it: written there, it answers its call.

    A move waits for the model to be idle, which, for a model that ends its turn with the
    tool call, it looked as soon as the response was queued, behind a write the uplink
    held: the move went at once and voided the response, and the server had to ask again.
    """
    go_away = trio.Event()
    heard: list[tuple[int, dict[str, Any]]] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        number = server.connections
        if number == 1:
            update = {"newHandle": "h1", "resumable": True}
            await ws.send_message(pretty({"sessionResumptionUpdate": update}))
            call = {"id": "fc-1", "name": "get_weather", "args": {"city": "Bern"}}
            await ws.send_message(pretty({"toolCall": {"functionCalls": [call]}}))
            await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
            await go_away.wait()
            await ws.send_message(pretty({"goAway": {"timeLeft": "30s"}}))
        while True:
            heard.append((number, await server.receive_json(ws)))

    server = FakeServer(nursery, script)
    streams: list[GatedStream] = []

    async def connector() -> trio.abc.Stream:
        streams.append(GatedStream(await server.connector()))
        return streams[-1]

    endpoint = url_endpoint("ws://127.0.0.1/ws", api_key="k")
    async with open_session(SETUP, endpoint=endpoint, connector=connector) as session:
        seen: list[RealtimeEvent] = []
        await until(session, FunctionCall, seen)
        await until(session, TurnComplete, seen)  # the model is idle
        await stall(session, streams[0], fill=0)
        await session.respond("fc-1", {"temperature_c": 20})  # queued behind
        go_away.set()
        await until(session, GoAway, seen)
        await trio.sleep(5)  # the uplink is slow, not stalled for good
        assert server.connections == 1  # the move waits for the response
        streams[0].gate.set()
        reconnected = await until(session, Reconnected, seen)
        assert reconnected.reason == "goAway"
    answers = [(number, m) for number, m in heard if "toolResponse" in m]
    assert [(n, m["toolResponse"]["functionResponses"][0]["id"]) for n, m in answers] == [
        (1, "fc-1")
    ]


async def test_a_response_voided_by_a_resume_that_never_connects_is_reported_not_sent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        open_emulator() as emulator,
        gated_session(emulator, outage=True) as (session, streams),
    ):
        seen: list[RealtimeEvent] = []
        await session.send_client_content("What is the weather in Paris?")
        call = await until(session, FunctionCall, seen)
        await stall(session, streams[0], fill=0)
        await session.respond(call.call_id, {"temperature_c": 20})
        await emulator.connections[0].reset()
        await trio.sleep(5)  # in the backoff: the response was voided, and stays queued
        await session.aclose()
        with trio.fail_after(1):
            seen.extend([event async for event in session])
    closed = seen[-1]
    assert isinstance(closed, Closed)
    assert closed.code == 1000
    lines = [line for line in closed.not_sent if line.startswith("toolResponse: ")]
    assert len(lines) == 1
    assert lines[0].startswith("toolResponse: 1 message(s), ")
    assert lines[0].endswith(" bytes (never written)")
    assert not any(isinstance(event, Reconnected) for event in seen)


async def test_a_response_during_the_backoff_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Between the connections the calls pending at the drop are cancelled: said at once."""
    async with (
        open_emulator() as emulator,
        gated_session(emulator, outage=True) as (session, _),
    ):
        seen: list[RealtimeEvent] = []
        await session.send_client_content("What is the weather in Paris?")
        call = await until(session, FunctionCall, seen)
        await emulator.connections[0].reset()
        await until(session, ToolCallCancellation, seen)
        for name in (None, "get_weather"):
            with pytest.raises(LocalProtocolError, match="was cancelled when the session"):
                await session.respond(call.call_id, {"temperature_c": 20}, name=name)
    assert responses(emulator, 0) == []


async def test_the_seed_drops_a_result_the_session_knows_is_cancelled_before_its_reader(
    autojump_clock: trio.testing.MockClock,
    nursery: trio.Nursery,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The seed's reader behind: the `ToolCallCancellation` is not through the pump yet.

    The facade looked only at the cancellations its pump had passed on, so the session's
    `LocalProtocolError` reached the seed application, whose docs promise a drop.
    """
    caplog.set_level(logging.INFO)

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        if server.connections == 1:
            update = {"newHandle": "h1", "resumable": True}
            await ws.send_message(pretty({"sessionResumptionUpdate": update}))
            call = {"id": "fc-1", "name": "get_weather", "args": {"city": "Bern"}}
            await ws.send_message(pretty({"toolCall": {"functionCalls": [call]}}))
            for _ in range(2):  # one waits in the seed's channel, the pump holds the other
                await ws.send_message(pretty({"usageMetadata": {"totalTokenCount": 1}}))
            await ws.aclose(1011, "Internal error encountered.")
            return
        while True:
            await server.receive_json(ws)

    server = FakeServer(nursery, script)
    config = {
        "model": MODEL,
        "api_key": "k",
        "api_type": "google",
        "base_url": "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta."
        "GenerativeService.BidiGenerateContent",
        "connector": server.connector,
        # The seed's channel holds one event: the pump waits while the reader is busy.
        "session_options": SessionOptions(
            event_buffer=1, reconnect=ReconnectPolicy(initial_delay=0, jitter=0)
        ),
    }
    client = GeminiRealtimeClient(llm_config={"config_list": [config]})
    async with client.connect():
        with trio.fail_after(30):
            async for event in client.read_events():
                if isinstance(event, FunctionCall):
                    break
        await trio.sleep(5)  # the tool runs; the session resumes meanwhile
        assert server.connections == 2
        await client.send_function_result("fc-1", "sunny")  # dropped, not raised
        seen = []
        with trio.fail_after(5):
            async for event in client.read_events():
                seen.append(event)
                if isinstance(event, Reconnected):
                    break
    assert [e.ids for e in seen if isinstance(e, ToolCallCancellation)] == [("fc-1",)]
    assert not any("toolResponse" in message for message in server.received)
    assert "dropping the result of cancelled tool call fc-1" in caplog.text


async def test_the_seed_facade_refuses_a_second_result_for_a_call_whose_first_a_move_voided(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """`send_function_result` twice for one call raises, also when a move voided the first.

    The first result was still queued (a stalled uplink) when the connection dropped: the
    resume voided it (`Reconnected.not_replayed`). The second was then dropped with a log
    line, as the result of a cancelled call, where answering twice raises (and does
    without the move): the app's double answer went unnoticed.
    """
    caplog.set_level(logging.INFO)
    streams: list[GatedStream] = []

    async with open_emulator() as emulator:
        connect = emulator.memory_connector()

        async def connector() -> trio.abc.Stream:
            streams.append(GatedStream(await connect()))
            return streams[-1]

        config = {
            "model": MODEL,
            "api_key": "k",
            "base_url": emulator.endpoint_url(),
            "connector": connector,
            "session_options": SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0)),
        }
        client = GeminiRealtimeClient(llm_config={"config_list": [config]})
        async with client.connect():
            await client.session_update({"modalities": ["TEXT"], "tools": [WEATHER_SEED]})
            await client.send_text(role="user", text="What is the weather in Paris?")
            with trio.fail_after(30):
                async for event in client.read_events():
                    if isinstance(event, FunctionCall):
                        call_id = event.call_id
                        break
            await stall(client.connection, streams[0], fill=0)
            await client.send_function_result(call_id, "sunny")  # queued behind the stall
            await emulator.connections[0].reset()
            with trio.fail_after(30):
                async for event in client.read_events():
                    if isinstance(event, Reconnected):
                        assert event.not_replayed[-1].endswith(NOT_REPLAYED)
                        break
            with pytest.raises(LocalProtocolError, match="was answered, but the response"):
                await client.send_function_result(call_id, "sunny")
    assert "dropping the result" not in caplog.text


async def test_a_call_without_an_id_after_a_resume_is_answered(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    """Vertex may send calls without an id: one cancelled at a resume is no later one.

    The cancelled "" stayed among the cancelled ids, and the resumed server's own call
    without an id could then not be answered.
    """
    answered = trio.Event()

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        update = {"newHandle": "h1", "resumable": True}
        await ws.send_message(pretty({"sessionResumptionUpdate": update}))
        call = {"name": "get_weather", "args": {"city": "Bern"}}
        await ws.send_message(pretty({"toolCall": {"functionCalls": [call]}}))
        if server.connections == 1:
            await ws.aclose(1011, "Internal error encountered.")
            return
        await server.receive_json(ws)
        answered.set()
        await trio.sleep_forever()

    server = FakeServer(nursery, script)
    endpoint = url_endpoint("ws://127.0.0.1/ws", api_key="k")
    options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))
    async with open_session(
        SETUP, endpoint=endpoint, connector=server.connector, options=options
    ) as session:
        seen: list[RealtimeEvent] = []
        assert (await until(session, FunctionCall, seen)).call_id == ""
        await until(session, Reconnected, seen)
        assert [e.ids for e in seen if isinstance(e, ToolCallCancellation)] == [("",)]
        assert (await until(session, FunctionCall, seen)).call_id == ""
        await session.respond("", {"temperature_c": 3})
        with trio.fail_after(5):
            await answered.wait()
    assert server.received[-1]["toolResponse"]["functionResponses"][0]["name"] == "get_weather"


class StallsAfter(GatedStream):
    """A `GatedStream` that closes its gate once `free` writes went through (-1: never)."""

    def __init__(self, inner: trio.abc.Stream, free: int) -> None:
        super().__init__(inner)
        self.free = free

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.free -= 1
        if self.free == -1:
            self.gate = trio.Event()
        await super().send_all(data)


def call_without_id(n: int) -> ServerMessage:
    call = FunctionCallPart(name="get_weather", args={"n": n})
    return ServerMessage(tool_call=ToolCallMessage(function_calls=[call]))


async def test_a_response_a_resume_voided_answers_no_call_of_the_new_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A `respond("")` waiting for room across a resume, then queued, answers nothing.

    The resume voided it (never written), but once it got into the queue it still
    answered the oldest pending call without an id of its name: the resumed server's
    re-issued call, which then left `pending_tool_calls` with nothing sent for it, and
    whose own `respond("")` was refused, while the server waited for ever.
    """
    streams: list[StallsAfter] = []
    config = EmulatorConfig(vertex=True, reject_unknown_tool_responses=False)
    async with open_emulator(config) as emulator:
        connect = emulator.memory_connector()

        async def connector() -> trio.abc.Stream:
            # The resumed connection stalls once its handshake and setup are written, with
            # the old response still waiting for room in the queue.
            streams.append(StallsAfter(await connect(), free=2 if streams else -1))
            return streams[-1]

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        policy = ReconnectPolicy(initial_delay=0, jitter=0)
        options = SessionOptions(send_buffer=1, reconnect=policy)
        async with open_session(
            SETUP, endpoint=endpoint, options=options, connector=connector
        ) as session:
            seen: list[RealtimeEvent] = []
            await emulator.connections[0].send(call_without_id(0))
            await until(session, FunctionCall, seen)
            await stall(session, streams[0], fill=1)
            returned = trio.Event()

            async def answer_the_old_call() -> None:
                await session.respond("", {"answer_for": 0})
                returned.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(answer_the_old_call)
                await trio.testing.wait_all_tasks_blocked()
                assert not returned.is_set()  # waiting for room
                await emulator.connections[0].reset()
                reconnected = await until(session, Reconnected, seen)
                assert reconnected.not_replayed[-1].endswith(NOT_REPLAYED)
                assert [e.ids for e in seen if isinstance(e, ToolCallCancellation)] == [("",)]
                await emulator.connections[1].send(call_without_id(1))
                assert (await until(session, FunctionCall, seen)).arguments == {"n": 1}
                assert not returned.is_set()  # still waiting for room
                streams[1].gate.set()
                with trio.fail_after(60):
                    await returned.wait()
            # The new connection's call is still pending, and its answer goes out.
            assert session.pending_tool_calls == {"": "get_weather"}
            await session.respond("", {"answer_for": 1})
            assert session.pending_tool_calls == {}
            await trio.testing.wait_all_tasks_blocked()
        answers = [
            answer
            for frame in emulator.connections[1].received
            if frame.data and "toolResponse" in frame.data
            for answer in frame.data["toolResponse"]["functionResponses"]
        ]
        assert answers == [{"name": "get_weather", "response": {"answer_for": 1}}]
