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
from trio_gemini_live._groups import BlockErrors
from trio_gemini_live._options import SessionOptions
from trio_gemini_live._transport import TRANSPORTS
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
async def _session_block(*, catch: bool = True) -> AsyncGenerator[None]:
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        connector = emulator.memory_connector()
        cm = open_session(MODEL, endpoint=endpoint, connector=connector)
        async with _caught_here(cm) if catch else cm:
            yield


@asynccontextmanager
async def _connect_block(*, catch: bool = True) -> AsyncGenerator[None]:
    async with open_emulator() as emulator:
        entry = {
            "model": MODEL,
            "api_key": "k",
            "base_url": emulator.endpoint_url(),
            "connector": emulator.memory_connector(),
        }
        client = GeminiRealtimeClient(llm_config={"config_list": [entry]})
        cm = client.connect()
        async with _caught_here(cm) if catch else cm:
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
# What leaves the entry point goes on through the emulator around it, and through what
# is around that: an outer cancel scope then takes `Cancelled` out as it would without them.
UNCAUGHT: dict[str, Callable[[], AbstractAsyncContextManager[None]]] = {
    "open_session": lambda: _session_block(catch=False),
    "open_emulator": _emulator_block,
    "connect": lambda: _connect_block(catch=False),
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


# --- Under an outer cancellation ----------------------------------------------------------
#
# A deadline around the entry point (or another task cancelling it) hits the block, the
# entry point's tasks and its close at once. The block's exception must come out all the
# same, as it would from the block's code run without the entry point: the outer scope
# takes out the `Cancelled`s, and nothing else may.

OuterBody = Callable[[trio.CancelScope], Awaitable[None]]
DEADLINE = 1.0


def _outer_bodies() -> dict[str, Callable[[list[BaseException]], OuterBody]]:
    """Bodies that raise while an outer scope is cancelled; each notes what it raised."""

    def cleanup_fails(raised: list[BaseException]) -> OuterBody:
        async def body(scope: trio.CancelScope) -> None:
            error = AppError("flush failed")
            raised.append(error)
            try:
                await trio.sleep(DEADLINE * 5)  # the outer deadline cancels this
            finally:
                raise error

        return body

    def raises_once_cancelled(raised: list[BaseException]) -> OuterBody:
        async def body(scope: trio.CancelScope) -> None:
            error = AppError("mine")
            raised.append(error)
            scope.cancel()  # another task's cancellation, say: the block raises first
            raise error

        return body

    def own_task_group(raised: list[BaseException]) -> OuterBody:
        async def body(scope: trio.CancelScope) -> None:
            error = AppError("child")
            raised.append(error)

            async def child() -> None:
                try:
                    await trio.sleep(DEADLINE * 5)
                finally:
                    raise error  # the child's cleanup fails as the deadline cancels it

            # The group holds the child's error and the body's own `Cancelled`.
            async with trio.open_nursery(strict_exception_groups=True) as nursery:
                nursery.start_soon(child)
                await trio.sleep(DEADLINE * 5)

        return body

    return {
        "cleanup_fails": cleanup_fails,
        "raises_once_cancelled": raises_once_cancelled,
        "own_task_group": own_task_group,
    }


async def _under_outer_scope(
    outer: str, entry: str | None, body: OuterBody
) -> tuple[BaseException | None, float]:
    """What leaves an outer `move_on_after`/`fail_after` around `entry`'s block running
    `body` (around `body` alone for `entry=None`), and how long after the start."""
    started = trio.current_time()
    deadline = started + DEADLINE
    with trio.fail_after(30):
        try:
            if outer == "fail_after":
                with trio.fail_at(deadline) as scope:
                    await _run_in(entry, body, scope)
            else:
                with trio.move_on_at(deadline) as scope:
                    await _run_in(entry, body, scope)
        except BaseException as exc:
            return exc, trio.current_time() - started
    return None, trio.current_time() - started


async def _run_in(entry: str | None, body: OuterBody, scope: trio.CancelScope) -> None:
    if entry is None:
        await body(scope)
        return
    async with UNCAUGHT[entry]():
        await body(scope)


def _members(group: BaseExceptionGroup[BaseException]) -> tuple[BaseException, ...]:
    return group.exceptions


def _shape(error: BaseException) -> object:
    """A group's structure: its type and its members', nested as they are."""
    if isinstance(error, BaseExceptionGroup):
        return (type(error).__name__, [_shape(member) for member in _members(error)])
    return type(error).__name__


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for member in _members(error) for leaf in _leaves(member)]
    return [error]


@pytest.fixture(params=sorted(TRANSPORTS))
def default_transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each transport in turn as `SessionOptions.transport`'s default, for entry points
    that build their own options (as the `transport_override` plugin sets it)."""
    defaults = SessionOptions.__init__.__kwdefaults__
    assert defaults is not None
    assert "transport" in defaults
    transport: str = request.param
    monkeypatch.setitem(defaults, "transport", transport)
    return transport


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("outer", ["move_on_after", "fail_after"])
@pytest.mark.parametrize("body_name", list(_outer_bodies()))
async def test_the_blocks_error_survives_an_outer_cancellation(
    entry: str,
    outer: str,
    body_name: str,
    default_transport: str,
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The block's error was lost (the close's wait raised `Cancelled` in its place, and
    # the outer scope swallowed that: nothing, or TooSlowError, came out), or came out in
    # one group more: a `Cancelled` next to it was taken for the library's error. On
    # trio-websocket the close waited `close_timeout` for a reply that the reader task,
    # cancelled too, would never read: the block ended late.
    make = _outer_bodies()[body_name]
    expected, _ = await _under_outer_scope(outer, None, make([]))
    raised: list[BaseException] = []
    got, elapsed = await _under_outer_scope(outer, entry, make(raised))

    assert got is not None, "the block's error was lost"
    assert expected is not None
    # As the block's code alone gives it: the same object, or for a group the one the
    # outer scope leaves once it took `Cancelled` out, at the same single level.
    assert _shape(got) == _shape(expected)
    assert [id(leaf) for leaf in _leaves(got)] == [id(error) for error in raised]
    if not isinstance(got, BaseExceptionGroup):
        assert got is raised[0]
        assert _names(got)[-1] == "body"  # its own traceback, not the entry point's
    assert elapsed <= DEADLINE  # the cancellation still ends the block at once


@pytest.mark.parametrize("block_waits", [True, False])
async def test_a_library_error_next_to_cancelled_comes_out_alone(
    block_waits: bool, autojump_clock: trio.testing.MockClock
) -> None:
    # Under an outer cancellation the library's other tasks, and the block if it was
    # waiting, end with `Cancelled`: the library's one error still comes out alone, not
    # in the nursery's group (`gemini-live talk` undoes its own group this way too).
    error = RuntimeError("the library's")

    async def failing_task() -> None:
        try:
            await trio.sleep_forever()
        finally:
            raise error

    errors = BlockErrors()
    got: BaseException | None = None
    with trio.fail_after(30):
        try:
            with trio.move_on_after(DEADLINE), errors.nursery():
                async with trio.open_nursery(strict_exception_groups=True) as nursery:
                    nursery.start_soon(failing_task)
                    nursery.start_soon(trio.sleep_forever)
                    if block_waits:
                        with errors.block():
                            await trio.sleep_forever()
        except BaseException as exc:
            got = exc
    assert got is error
