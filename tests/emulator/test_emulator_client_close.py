"""A client's close: every message it sent before its close frame is recorded first.

The emulator used to end the connection as soon as a write saw the client's close, and the
messages still waiting to be handled were lost; and its reader read nothing while the
model was busy, so the close frame waited behind them until a client gave up (1006).
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from wsproto.events import CloseConnection, Event, Message

from emulator.emulator_client import NATIVE, HandClient, start
from trio_gemini_live import SessionOptions, live_setup, open_session, url_endpoint
from trio_gemini_live._transport import TRANSPORTS
from trio_gemini_live.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorConnection,
    Scenario,
    ScenarioTurn,
)

STORY = "Once upon a time, a packet left home and crossed the whole network. " * 8


class _Valve(trio.abc.Stream):
    """The client's end of a stream, whose reads the test can stop."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.reading = True

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if not self.reading:
            await trio.sleep_forever()  # until the client closes the stream under it
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _answer_stuck(emu: Emulator) -> tuple[HandClient, EmulatorConnection]:
    """A hand client whose answer has begun, reading nothing: the answer's next write waits."""
    client = HandClient(await emu.memory_connector(buffer=4096)())
    await client.upgrade()
    await client.send({"setup": {"model": NATIVE}})
    await client.send({"realtimeInput": {"text": "hello there"}})
    conn = await emu.wait_for_connection(1)
    await conn.wait_for_sent("serverContent.modelTurn")
    await trio.sleep(1)
    return client, conn


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_messages_sent_before_a_close_are_recorded_while_the_emulator_writes(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # The client stops reading while the model speaks: the emulator's write waits, and the
    # texts that interrupt the answer wait behind it. Then the client leaves: its close
    # frame comes after the texts, and it drops the stream when no close answers in time.
    # The emulator recorded 1006 and lost all the texts but the first.
    valves: list[_Valve] = []
    config = EmulatorConfig(scenario=Scenario((ScenarioTurn(reply=STORY),)))
    async with start(config) as emu:
        connect = emu.memory_connector(buffer=4096)

        async def connector() -> trio.abc.Stream:
            valves.append(_Valve(await connect()))
            return valves[-1]

        endpoint = url_endpoint(emu.endpoint_url(), api_key="k")
        options = SessionOptions(transport=transport)
        texts = [f"t{i}" for i in range(10)]
        async with open_session(
            live_setup(NATIVE), endpoint=endpoint, options=options, connector=connector
        ) as session:
            conn = await emu.wait_for_connection(1)
            valves[0].reading = False
            await session.send_text("Tell me a story")
            await conn.wait_for_sent("serverContent.modelTurn")
            await trio.sleep(1)
            assert not any(f.get("serverContent.turnComplete") for f in conn.sent)  # stuck
            for text in texts:
                await session.send_text(text)
        await conn.wait_closed()
    assert len(valves) == 1  # no reconnection
    received = [f.get("realtimeInput.text") for f in conn.received[1:]]
    assert received == ["Tell me a story", *texts]
    assert (conn.close_code, conn.closed_by) == (1000, "client")


async def test_the_reader_reads_ahead_of_a_busy_model_up_to_a_bound(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bounded: a client that writes faster than the model takes its messages in is held
    # back (its writes wait) once READ_AHEAD bytes are read and not yet handled.
    from trio_gemini_live.emulator import _websocket

    monkeypatch.setattr(_websocket, "READ_AHEAD", 10_000)
    async with start() as emu:
        client, conn = await _answer_stuck(emu)
        sent = 0

        async def flood() -> None:
            nonlocal sent
            for _ in range(100):  # each interrupts the answer stuck in its write
                await client.send({"realtimeInput": {"text": "x" * 1000}})
                sent += 1

        async with trio.open_nursery() as nursery:
            nursery.start_soon(flood)
            await trio.sleep(5)
            # 10 messages read ahead, the next one over the bound, ~4 more in the buffer.
            assert 11 <= sent <= 16
            assert len(conn.received) == 3  # setup, "hello there", the interrupting one
            nursery.cancel_scope.cancel()


async def test_a_bad_frame_before_the_client_s_close_leaves_the_client_s_close_recorded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The bad frame is handled after the client's close was read: the emulator's 1007
    # can no longer go out, and the connection ended with the client's close.
    async with start() as emu:
        client, conn = await _answer_stuck(emu)
        await client.send({"realtimeInput": {"text": "stop"}})  # waits for that write
        await client.stream.send_all(client.ws.send(Message(data="{not json")))
        await client.stream.send_all(client.ws.send(CloseConnection(4000, "bye")))
        await trio.sleep(1)
        assert not conn.closed
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.read_after, 0)
            await conn.wait_closed()
            nursery.cancel_scope.cancel()
    assert [f.raw for f in conn.received[2:]] == [
        b'{"realtimeInput": {"text": "stop"}}',
        b"{not json",
    ]
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (4000, "bye", "client")


async def _events_to_the_end(client: HandClient) -> list[Event]:
    """Every event the client reads until the stream ends (bounded by the caller)."""
    events: list[Event] = []
    while True:
        try:
            data = await client.stream.receive_some()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return events
        if not data:
            return events
        client.ws.receive_data(data)
        events.extend(client.ws.events())


async def test_the_client_s_close_is_answered_when_the_emulator_closes_while_the_reply_waits(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The reader's reply to the client's close waited behind the answer's write; the
    # emulator's own close (a fault, a bad frame handled late) saw the connection closed
    # and dropped the stream at once: the client got no close frame (RFC 6455 5.5.1).
    async with start() as emu:
        client, conn = await _answer_stuck(emu)
        await client.stream.send_all(client.ws.send(CloseConnection(4000, "bye")))
        await trio.testing.wait_all_tasks_blocked()  # the reply waits behind the answer
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(conn.close, 1011, "going")
                await trio.testing.wait_all_tasks_blocked()
                events = await _events_to_the_end(client)
            await conn.wait_closed()
    closes = [e for e in events if isinstance(e, CloseConnection)]
    assert [(e.code, e.reason) for e in closes] == [(4000, "bye")]
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (4000, "bye", "client")


@pytest.mark.parametrize("client_reads", [True, False], ids=["reads", "goes-away"])
async def test_the_emulator_s_close_behind_a_slow_write_is_not_cut_off_by_the_client_s(
    client_reads: bool, autojump_clock: trio.testing.MockClock
) -> None:
    # The emulator's 1007 for a bad frame waited behind the answer's write; the client's
    # close, read meanwhile, made trio-websocket close the stream at once, cutting the
    # 1007 off: the client got no close frame, and the emulator recorded a 1007 it never
    # sent. A client that goes away before it is written ends the connection with its own.
    async with start() as emu:
        client, conn = await _answer_stuck(emu)
        await client.send({"bogus": 1})
        with trio.fail_after(60):
            await conn.wait_for_received("bogus")
        assert conn.closed_by == "server"  # its 1007 is on its way, behind the answer
        await client.stream.send_all(client.ws.send(CloseConnection(4000, "bye")))
        await trio.testing.wait_all_tasks_blocked()  # the reader has read the close
        with trio.fail_after(60):
            if client_reads:
                events = await _events_to_the_end(client)
            else:
                await client.stream.aclose()
            await conn.wait_closed()
    if client_reads:
        closes = [e for e in events if isinstance(e, CloseConnection)]
        assert [e.code for e in closes] == [1007]
        assert (conn.close_code, conn.close_reason) == (1007, closes[0].reason)
        assert conn.closed_by == "server"
    else:
        assert (conn.close_code, conn.close_reason, conn.closed_by) == (4000, "bye", "client")
