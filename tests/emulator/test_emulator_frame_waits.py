"""`wait_for_sent`/`wait_for_received` with a count, when `record_frames` forgets frames.

A wait counts matching frames from the connection's first. It rescanned the frames still
recorded each time one arrived: once matches were forgotten its count could never be
reached, and it waited for ever.
"""

from __future__ import annotations

import pickle

import pytest
import trio

from emulator.emulator_client import RawClient, connect, start
from trio_gemini_live.emulator import (
    EmulatorConfig,
    EmulatorConnection,
    ForgottenFramesError,
    Frame,
)

TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}
DONE = "serverContent.turnComplete"


def _is_text(frame: Frame) -> bool:
    return frame.get("realtimeInput.text") is not None


async def _turns(client: RawClient, *texts: str) -> None:
    for text in texts:
        # A second apart: frames recorded at the same time are forgotten sent ones first.
        await trio.sleep(1)
        await client.send({"realtimeInput": {"text": text}})
        await client.turn()


async def test_a_wait_counts_the_matches_forgotten_while_it_waits(
    autojump_clock: trio.abc.Clock,
) -> None:
    found: dict[str, list[Frame]] = {}

    async def wait_sent(conn: EmulatorConnection) -> None:
        with trio.fail_after(60):
            found["sent"] = await conn.wait_for_sent(DONE, count=3)

    async def wait_received(conn: EmulatorConnection) -> None:
        with trio.fail_after(60):
            found["received"] = await conn.wait_for_received(_is_text, count=3)

    async with start(EmulatorConfig(record_frames=4)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_sent, conn)
            nursery.start_soon(wait_received, conn)
            await _turns(client, "one", "two", "three")
        # The matches were forgotten.
        assert conn.sent_dropped
        assert conn.received_dropped
        assert len([f for f in conn.sent if f.get(DONE)]) < 3
    assert [f.get(DONE) for f in found["sent"]] == [True, True, True]
    assert [f.get("realtimeInput.text") for f in found["received"]] == ["one", "two", "three"]


async def test_a_wait_that_needs_forgotten_frames_says_so(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with start(EmulatorConfig(record_frames=4)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await _turns(client, "one", "two", "three")
        conn = await emu.wait_for_connection(1)
        # What the frames still recorded answer is answered.
        with trio.fail_after(10):
            [done] = await conn.wait_for_sent(DONE)
        assert done.get(DONE)
        with trio.fail_after(10), pytest.raises(ForgottenFramesError) as info:
            await conn.wait_for_sent(DONE, count=3)
        with trio.fail_after(10), pytest.raises(ForgottenFramesError) as received:
            await conn.wait_for_received(_is_text, count=2)
    error = info.value
    assert isinstance(error, LookupError)
    assert (error.number, error.direction, error.count, error.record_frames) == (1, "sent", 3, 4)
    assert error.matched == 1
    assert error.forgotten == conn.sent_dropped
    assert "wait_for_sent(count=3)" in str(error)
    assert "EmulatorConfig.record_frames=4" in str(error)
    assert received.value.direction == "received"
    assert "wait_for_received(count=2)" in str(received.value)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)


async def test_nothing_is_forgotten_without_a_bound(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(record_frames=None)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await _turns(client, "one", "two", "three")
        conn = await emu.wait_for_connection(1)
        with trio.fail_after(10):
            assert len(await conn.wait_for_sent(DONE, count=3)) == 3


async def test_a_predicate_that_fails_fails_the_wait_not_the_emulator(
    autojump_clock: trio.abc.Clock,
) -> None:
    def broken(frame: Frame) -> bool:
        if frame.get("serverContent.generationComplete"):
            raise KeyError("the test's own bug")
        return False

    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        async with trio.open_nursery() as nursery:

            async def wait() -> None:
                with trio.fail_after(10), pytest.raises(KeyError, match="own bug"):
                    await conn.wait_for_sent(broken)

            nursery.start_soon(wait)
            await _turns(client, "one", "two")
        assert not conn.closed
