"""The schedule point of a send written straight to the socket (`_schedule_point`).

A send checks for cancellation before writing. It then yields to the scheduler unless the
calling task has been through the scheduler since its previous direct write: a task that
sends in a tight loop still lets others run at least on every second send, and a task
paced by its own waits (a timer, a microphone) does not pay for a second pass of the run
loop per chunk. Measured with a task that counts its own turns: trio runs each runnable
task once per batch, so its count is the number of batches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from unittest import mock

import pytest
import trio

from trio_gemini_live import live_setup, open_session
from trio_gemini_live._connection import Connection
from trio_gemini_live._endpoints import url_endpoint
from trio_gemini_live._session import LiveSession
from trio_gemini_live.emulator import open_emulator

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
CHUNK = bytes(640)  # 20 ms of 16 kHz silence
SENDS = 40


@asynccontextmanager
async def emulated_session() -> AsyncIterator[LiveSession]:
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(live_setup(MODEL), endpoint=endpoint) as session:
            yield session


@contextmanager
def direct_writes() -> Iterator[list[bool | None]]:
    """What each `Connection.write_now` returned while inside (False: the frame was queued)."""
    results: list[bool | None] = []
    original = Connection.write_now

    def record(connection: Connection, frame: bytes, kind: str) -> bool | None:
        results.append(original(connection, frame, kind))
        return results[-1]

    with mock.patch.object(Connection, "write_now", autospec=True, side_effect=record):
        yield results


def written(results: list[bool | None]) -> int:
    return sum(result is not False for result in results)


async def turns_while(body: Callable[[], object]) -> int:
    """Run `body` (an async callable) beside a task that counts its turns; return the count."""
    turns = 0

    async def spin() -> None:
        nonlocal turns
        while True:
            turns += 1
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(spin)
        await trio.lowlevel.checkpoint()  # the spinner is running
        turns = 0
        await body()  # type: ignore[misc]
        nursery.cancel_scope.cancel()
    return turns


async def test_a_tight_send_loop_yields_at_least_on_every_second_send() -> None:
    async with emulated_session() as session:
        with direct_writes() as results:

            async def tight() -> None:
                for _ in range(SENDS):
                    await session.send_audio(CHUNK)

            turns = await turns_while(tight)
    assert written(results) == SENDS  # every send took the direct path
    assert turns >= SENDS // 2 - 1  # others ran at least once per two sends (-1: the reset)
    assert turns <= SENDS // 2 + 2  # and not on every send: one schedule point per two


async def test_a_paced_sender_does_not_yield_twice_per_chunk() -> None:
    async with emulated_session() as session:
        with direct_writes() as results:

            async def paced() -> None:
                for _ in range(SENDS):
                    await trio.lowlevel.checkpoint()  # the task's own wait (timer, input)
                    await session.send_audio(CHUNK)

            turns = await turns_while(paced)
    assert written(results) == SENDS
    # One batch per chunk: the send adds no schedule point of its own (two per chunk if it did).
    assert SENDS - 1 <= turns <= SENDS + 2  # -1: the count is reset mid-batch


async def test_tasks_sending_in_turn_each_yield_as_often_as_one_alone() -> None:
    """Which task wrote last is kept across sessions: two sessions, one task, still fair."""
    async with emulated_session() as first, emulated_session() as second:
        with direct_writes() as results:

            async def alternate() -> None:
                for _ in range(SENDS // 2):
                    await first.send_audio(CHUNK)
                    await second.send_audio(CHUNK)

            turns = await turns_while(alternate)
    assert written(results) == SENDS
    assert turns >= SENDS // 2 - 1


async def test_a_direct_send_is_a_cancel_point_and_writes_nothing_once_cancelled() -> None:
    async with emulated_session() as session:
        await session.send_audio(CHUNK)
        await settle()
        before = session.statistics().frames_sent
        assert before == 1
        with trio.CancelScope() as scope:
            scope.cancel()
            await session.send_audio(CHUNK)
            pytest.fail("the send returned in a cancelled scope")
        assert scope.cancelled_caught
        await settle()
        assert session.statistics().frames_sent == before


async def settle() -> None:
    """Let the session's tasks write whatever is queued."""
    for _ in range(10):
        await trio.lowlevel.checkpoint()
