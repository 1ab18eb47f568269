"""What an exception raised in the block of an entry point that owns a nursery comes out as.

`open_session`, `open_emulator` and `GeminiRealtimeClient.connect` run the caller's block
inside a nursery of their own, which wraps whatever leaves it in a group: the caller gets
back what the block raised, as it raised it, and only the library's own groups are undone.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import pytest
import trio
import trio.testing

from trio_gemini_live import GeminiRealtimeClient, TransportError, open_session, url_endpoint
from trio_gemini_live.emulator import open_emulator

MODEL = "gemini-live-2.5-flash-preview"
ENTRIES = ["open_session", "open_emulator", "connect"]

Body = Callable[[], Awaitable[None]]


class AppError(Exception):
    """The application's own error."""


@asynccontextmanager
async def _emulator_block() -> AsyncGenerator[None]:
    async with open_emulator():
        yield


@asynccontextmanager
async def _session_block() -> AsyncGenerator[None]:
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        connector = emulator.memory_connector()
        cm = open_session(MODEL, endpoint=endpoint, connector=connector)
        async with _caught_here(cm):
            yield


@asynccontextmanager
async def _connect_block() -> AsyncGenerator[None]:
    async with open_emulator() as emulator:
        entry = {
            "model": MODEL,
            "api_key": "k",
            "base_url": emulator.endpoint_url(),
            "connector": emulator.memory_connector(),
        }
        client = GeminiRealtimeClient(llm_config={"config_list": [entry]})
        async with _caught_here(client.connect()):
            yield


class _Escaped(Exception):  # noqa: N818  (a carrier, not an error)
    """Carries what left the entry point's block past the emulator around it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


@asynccontextmanager
async def _caught_here(cm: AbstractAsyncContextManager[object]) -> AsyncGenerator[None]:
    # What leaves the entry point itself, before the emulator around it sees it.
    try:
        async with cm:
            yield
    except BaseException as exc:
        raise _Escaped(exc) from None


BLOCKS: dict[str, Callable[[], AbstractAsyncContextManager[None]]] = {
    "open_session": _session_block,
    "open_emulator": _emulator_block,
    "connect": _connect_block,
}


async def _through(entry: str, body: Body) -> BaseException:
    """What comes out of `entry`'s block when `body` runs in it."""
    with trio.fail_after(30):
        try:
            async with BLOCKS[entry]():
                await body()
        except _Escaped as escaped:
            return escaped.error
        except BaseException as exc:
            return exc
    raise AssertionError("the block raised nothing")  # pragma: no cover


def _names(error: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(error.__traceback__)]


@pytest.mark.parametrize("entry", ENTRIES)
async def test_an_explicit_cause_is_kept(
    entry: str, autojump_clock: trio.testing.MockClock
) -> None:
    raised: list[BaseException] = []

    async def tool_call() -> None:
        try:
            {}["missing"]
        except KeyError as exc:
            error = AppError("tool failed")
            raised.append(error)
            raise error from exc

    got = await _through(entry, tool_call)
    assert got is raised[0]
    assert isinstance(got.__cause__, KeyError)
    assert got.__context__ is got.__cause__
    assert got.__suppress_context__ is True
    assert _names(got)[-1] == "tool_call"  # raised there, the traceback says


@pytest.mark.parametrize("entry", ENTRIES)
async def test_an_implicit_context_is_kept(
    entry: str, autojump_clock: trio.testing.MockClock
) -> None:
    async def parse() -> None:
        try:
            int("not a number")
        except ValueError:
            raise AppError("config parse failed")  # noqa: B904  (the implicit context is tested)

    got = await _through(entry, parse)
    assert isinstance(got, AppError)
    assert isinstance(got.__context__, ValueError)
    assert got.__cause__ is None
    assert got.__suppress_context__ is False


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("failures", [1, 2])
async def test_the_applications_own_task_group_comes_out_as_it_was_raised(
    entry: str, failures: int, autojump_clock: trio.testing.MockClock
) -> None:
    # A group with a single exception is the application's too: only the library's
    # nursery's group is undone, not a group the block raised.
    raised: list[BaseException] = []

    async def boom(n: int) -> None:
        raise AppError(f"task {n}")

    async def task_group() -> None:
        try:
            async with anyio.create_task_group() as group:
                for n in range(failures):
                    group.start_soon(boom, n)
        except BaseExceptionGroup as exc:
            raised.append(exc)
            raise

    got = await _through(entry, task_group)
    assert got is raised[0]
    assert isinstance(got, BaseExceptionGroup)
    assert len(got.exceptions) == failures
    assert all(isinstance(leaf, AppError) for leaf in got.exceptions)


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_run_without_strict_groups_changes_nothing(entry: str) -> None:
    # The library's nursery is strict whatever the run's default: else a group the block
    # raised passed through it as is, and was taken for the library's own.
    raised: list[BaseException] = []

    async def main() -> BaseException:
        async def own_group() -> None:
            error = ExceptionGroup("mine", [AppError("one")])
            raised.append(error)
            raise error

        return await _through(entry, own_group)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", trio.TrioDeprecationWarning)
        got = trio.run(
            main,
            clock=trio.testing.MockClock(autojump_threshold=0),
            strict_exception_groups=False,
        )
    assert got is raised[0]


@pytest.mark.parametrize("entry", ["open_session", "connect"])
async def test_the_librarys_error_is_unwrapped_with_its_own_context(
    entry: str, autojump_clock: trio.testing.MockClock
) -> None:
    # The library's nursery's group is undone: its error comes out alone, and keeps the
    # context it was raised with (here the OSError it translates), not the group.
    async def refused() -> trio.abc.Stream:
        raise ConnectionRefusedError(111, "Connection refused")

    endpoint_url = "ws://127.0.0.1:9/ws"
    with trio.fail_after(30), pytest.raises(TransportError, match="cannot connect") as info:
        if entry == "open_session":
            endpoint = url_endpoint(endpoint_url, api_key="k")
            async with open_session(MODEL, endpoint=endpoint, connector=refused):
                pass  # pragma: no cover
        else:
            entry_config = {
                "model": MODEL,
                "api_key": "k",
                "base_url": endpoint_url,
                "connector": refused,
            }
            client = GeminiRealtimeClient(llm_config={"config_list": [entry_config]})
            async with client.connect():  # opens the connection, as open_session does
                pass  # pragma: no cover
    assert isinstance(info.value.__context__, ConnectionRefusedError)
