"""A client that stops reading: the emulator drops it in time, and shuts down at once.

Each frame is written under a cancel shield (a frame cut short corrupts the stream), so a
client whose socket buffers are full held the write, its connection (past its deadline: the
goAway before the deadline close waited too) and `open_emulator`'s exit (the CLI's Ctrl-C
too) for ever. Each test that could hang on such an emulator has a safety valve: the stuck
client starts reading long after the test's bound, so that an emulator that waits for it
fails the test instead of hanging it.
"""

from __future__ import annotations

import socket

import pytest
import trio

from emulator.emulator_client import NATIVE, HandClient, connect, start, texts_of
from trio_gemini_live.emulator import EmulatorConfig
from trio_gemini_live.emulator._server import _FaultStream  # pyright: ignore[reportPrivateUsage]

TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}
VALVE = 1000.0  # seconds: when a stuck client starts reading, far past every bound here


async def _stuck_client(stream: trio.abc.Stream, words: str = "hello there") -> HandClient:
    """A client that asked for a spoken answer, and reads none of it."""
    client = HandClient(stream)
    await client.upgrade()
    await client.send({"setup": {"model": NATIVE}})
    # ~2.7 kB a 40 ms chunk of the spoken answer: a few fill the buffers.
    await client.send({"realtimeInput": {"text": words}})
    return client


async def test_leaving_open_emulator_drops_a_client_that_reads_nothing(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with trio.open_nursery() as valves:
        async with start() as emu:
            client = await _stuck_client(await emu.memory_connector(buffer=4096)())
            conn = await emu.wait_for_connection(1)
            await trio.sleep(5)  # the answer fills the buffer; its next write waits
            assert not conn.closed
            assert conn.frames_sent < 5
            valves.start_soon(client.read_after, VALVE)
            leaving = trio.current_time()
        # At once: not at the connection's deadline, nor when the client reads again.
        assert trio.current_time() - leaving < 1
        assert conn.closed
        valves.cancel_scope.cancel()


async def test_leaving_open_emulator_drops_a_tcp_client_that_reads_nothing(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with trio.open_nursery() as valves:
        async with start() as emu:
            sock = trio.socket.socket()
            # Small before the connection: the window it offers stays small.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await sock.connect(("127.0.0.1", emu.port))
            stream = trio.SocketStream(sock)
            # Minutes of answer (60 ms a character): megabytes, past any socket buffers.
            client = await _stuck_client(stream, "x" * 4000)
            conn = await emu.wait_for_connection(1)
            await trio.sleep(5)  # virtual: the clock jumps once every task waits
            assert not conn.closed
            valves.start_soon(client.read_after, VALVE)
            leaving = trio.current_time()
        assert trio.current_time() - leaving < 1
        assert conn.closed
        valves.cancel_scope.cancel()
        await stream.aclose()


async def test_an_interrupt_while_leaving_still_drops_every_client_that_reads_nothing(
    autojump_clock: trio.abc.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C pressed again while `open_emulator` closes the streams raised KeyboardInterrupt
    # there: the streams not closed yet held the exit until their clients read again.
    close = _FaultStream.aclose
    interrupted: list[_FaultStream] = []

    async def interrupted_close(stream: _FaultStream) -> None:
        try:
            await close(stream)  # cancelled at its checkpoint: `aclose_forcefully`
        finally:
            if not interrupted:
                interrupted.append(stream)
                raise KeyboardInterrupt  # as delivered at that checkpoint

    async with trio.open_nursery() as valves:
        with pytest.RaisesGroup(KeyboardInterrupt, allow_unwrapped=True, flatten_subgroups=True):
            async with start() as emu:
                for _ in range(3):
                    client = await _stuck_client(await emu.memory_connector(buffer=4096)())
                    valves.start_soon(client.read_after, VALVE)
                conns = [await emu.wait_for_connection(n) for n in (1, 2, 3)]
                await trio.sleep(5)  # each answer fills its buffer; the next write waits
                assert not any(conn.closed for conn in conns)
                monkeypatch.setattr(_FaultStream, "aclose", interrupted_close)
                leaving = trio.current_time()
        assert trio.current_time() - leaving < 1
        assert interrupted
        assert all(conn.closed for conn in conns)
        valves.cancel_scope.cancel()


async def test_a_client_that_reads_nothing_is_dropped_after_its_deadline(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Its deadline close never came: the goAway before it waited behind the stuck frame.
    async with trio.open_nursery() as valves:
        async with start() as emu:
            stuck_client = await _stuck_client(await emu.memory_connector(buffer=4096)())
            valves.start_soon(stuck_client.read_after, VALVE)
            stuck = await emu.wait_for_connection(1)
            began = trio.current_time()
            async with connect(emu) as client:  # served meanwhile
                await client.setup(**TEXT)
                await client.send({"realtimeInput": {"text": "hello"}})
                assert texts_of(await client.turn()) == "You said: hello"
            with trio.fail_after(700):
                await stuck.wait_closed()
            dropped_after = trio.current_time() - began
            async with connect(emu) as client:  # and after
                await client.setup(**TEXT)
                await client.send({"realtimeInput": {"text": "again"}})
                assert texts_of(await client.turn()) == "You said: again"
        valves.cancel_scope.cancel()
    # `close_timeout` (5 s) after the deadline (600 s), without a close frame.
    assert 604 < dropped_after < 606
    assert (stuck.close_code, stuck.close_reason, stuck.closed_by) == (1006, "", "server")
    assert [c.close_code for c in emu.connections[1:]] == [1000, 1000]


async def test_a_go_away_behind_a_stuck_write_gives_the_time_left_when_written(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Its `timeLeft` was reckoned when `go_away` was called: written 20 s later, behind the
    # stuck frame, it still said 30 s, and the close came 20 s before the client expected.
    async with trio.open_nursery() as valves:
        async with start() as emu:
            client = await _stuck_client(await emu.memory_connector(buffer=4096)())
            conn = await emu.wait_for_connection(1)
            await trio.sleep(5)  # the answer fills the buffer; its next write waits
            valves.start_soon(client.read_after, 20)
            called = trio.current_time()
            await conn.go_away(30)
            [go_away] = await conn.wait_for_sent("goAway")
            await conn.wait_closed()
        valves.cancel_scope.cancel()
    written = go_away.time - called
    assert 19 < written < 21
    time_left = go_away.get("goAway.timeLeft")
    assert time_left.endswith("s")
    assert float(time_left[:-1]) == pytest.approx(30 - written, abs=0.01)
    assert (conn.close_code, conn.closed_by) == (1008, "server")


async def test_with_a_send_timeout_it_is_dropped_sooner(autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as valves:
        async with start(EmulatorConfig(send_timeout=5)) as emu:
            stuck_client = await _stuck_client(await emu.memory_connector(buffer=4096)())
            valves.start_soon(stuck_client.read_after, VALVE)
            stuck = await emu.wait_for_connection(1)
            began = trio.current_time()
            async with connect(emu) as client:
                await client.setup(**TEXT)
                with trio.fail_after(60):
                    await stuck.wait_closed()
                dropped_after = trio.current_time() - began
                await client.send({"realtimeInput": {"text": "hello"}})
                assert texts_of(await client.turn()) == "You said: hello"
        valves.cancel_scope.cancel()
    assert 4 < dropped_after < 6
    assert (stuck.close_code, stuck.closed_by) == (1006, "server")


async def test_a_reader_that_stalls_a_minute_keeps_its_connection(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Writes are not bounded by default short of the deadline: a voice app's reader may
    # stall (this project's client is tested for it) without losing its session.
    async with start() as emu:
        client = await _stuck_client(await emu.memory_connector(buffer=4096)())
        conn = await emu.wait_for_connection(1)
        await trio.sleep(60)
        assert not conn.closed
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.read_after, 0)
                await conn.wait_for_sent("serverContent.turnComplete")
                nursery.cancel_scope.cancel()
        assert not conn.closed


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), "30", True])
def test_a_send_timeout_that_is_not_a_positive_number_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="send_timeout"):
        EmulatorConfig(send_timeout=value)  # type: ignore[arg-type]


def test_no_send_timeout_is_allowed() -> None:
    assert EmulatorConfig(send_timeout=None).send_timeout is None
