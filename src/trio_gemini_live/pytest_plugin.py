"""pytest fixtures to test an app against the local emulator: in process, in memory, offline.

pytest loads this module by itself once the package is installed (the `pytest11` entry
point); `-p trio_gemini_live.pytest_plugin` or `pytest_plugins` load it otherwise. It
defines fixtures, none of them autouse, and imports the emulator when a test asks for one;
its one hook only explains a `gemini_emulator` no trio runner took (trio mode forgotten).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import AsyncIterator, Callable, Collection, Generator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, NoReturn, Protocol, cast

import pytest
import trio

if TYPE_CHECKING:
    from ._options import SessionOptions
    from ._session import LiveSession
    from ._wire import Setup
    from .emulator import Emulator, EmulatorConfig

__all__ = ["GeminiConnect", "gemini_connect", "gemini_emulator", "gemini_emulator_config"]


class GeminiConnect(Protocol):
    """The type of the `gemini_connect` fixture: `Emulator.open_session` of the test's emulator.

    `async with gemini_connect(setup) as session:` opens this package's client on the
    emulator over in-memory streams; the keyword arguments are those of
    `Emulator.open_session`.
    """

    def __call__(
        self,
        setup: Setup | str,
        *,
        api_key: str | None = None,
        options: SessionOptions | None = None,
        start: bool = True,
        latency: float = 0.0,
        buffer: int | None = None,
    ) -> AbstractAsyncContextManager[LiveSession]:
        """Open a session on the emulator (see `Emulator.open_session`)."""
        ...


@pytest.fixture
def gemini_emulator_config(request: pytest.FixtureRequest) -> EmulatorConfig:
    """The `EmulatorConfig` the `gemini_emulator` fixture runs with: `EmulatorConfig()`.

    Override it to script the model or inject faults: define a fixture of the same name in a
    `conftest.py` or in a test module, parametrize it directly
    (`@pytest.mark.parametrize("gemini_emulator_config", [EmulatorConfig(...)])`), or
    indirectly (`indirect=True`; the parameter must be an `EmulatorConfig`).
    """
    from .emulator import EmulatorConfig

    config = getattr(request, "param", None)
    if config is None:
        return EmulatorConfig()
    if not isinstance(config, EmulatorConfig):
        raise TypeError(
            "gemini_emulator_config parametrized indirectly needs EmulatorConfig values, "
            f"got {type(config).__name__}"
        )
    return config


@pytest.fixture
async def gemini_emulator(
    gemini_emulator_config: EmulatorConfig, request: pytest.FixtureRequest
) -> AsyncIterator[Emulator]:
    """A running in-process `Emulator`, started with `gemini_emulator_config`; one per test.

    It listens on a free 127.0.0.1 port (`emu.url`) and serves in-memory connections
    (`emu.memory_connector()`, `emu.open_session(setup)`); it is shut down, and every
    connection closed, when the test ends. It runs on trio: under pytest-trio (`trio_mode
    = true`, or `@pytest.mark.trio` on the test), or anyio's pytest plugin with
    `anyio_backend` set to `"trio"`; asyncio, or a test no trio runner runs (a plain
    `def` test, trio mode forgotten), fails with an error saying so; so does a test that
    asks for pytest-trio's `autojump_clock` and runs on a clock that does not jump: anyio's
    runner ignores that fixture, and pytest-trio's runs a test on it only when the test
    takes it as an argument (not through `usefixtures` or another fixture).
    """
    request.node.stash[_STARTED] = True  # a runner took it: its errors are its own
    _require_trio()
    _require_the_clock_asked_for(request)
    from .emulator import open_emulator

    async with open_emulator(gemini_emulator_config) as emulator:
        yield emulator


@pytest.fixture
def gemini_connect(gemini_emulator: Emulator) -> GeminiConnect:
    """A `GeminiConnect`: opens the client on the test's emulator, over in-memory streams.

    `async with gemini_connect(setup) as session:` is `gemini_emulator.open_session`: this
    package's `open_session` with the emulator's endpoint and an in-memory connector. Ask
    for `gemini_emulator` as well to inspect the connections
    (`await gemini_emulator.wait_for_connection(1)`).
    """
    return gemini_emulator.open_session


_STARTED = pytest.StashKey[bool]()
"""Set on a test's item once `gemini_emulator` runs: a runner took the fixture."""


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Say what to do when no trio runner takes `gemini_emulator` (trio mode forgotten).

    pytest then fails the test with "requested an async fixture 'gemini_emulator', with no
    plugin or hook that handled it" (older ones hand the test an async generator in its
    place; pytest-trio, for a plain `def` test in trio mode, says "Trio fixtures can only
    be used by Trio tests"): nothing names trio mode, the marker, nor the fix.
    """
    if fixturedef.argname != "gemini_emulator" or not _ours(fixturedef.func):
        return (yield)
    why: str | None = None
    try:
        value = yield
    except (pytest.fail.Exception, RuntimeError) as exc:
        if request.node.stash.get(_STARTED, False):
            raise  # the fixture ran: this error is its own (asyncio, say)
        # Failed below, outside the handler: the report shows no chained traceback.
        why = str(exc).strip().split(". ")[0] or type(exc).__name__
    else:
        if not (inspect.isasyncgen(value) or inspect.iscoroutine(value)):
            return value
        # Called as a plain function (older pytest): no runner took it.
        if inspect.iscoroutine(value):
            value.close()
    _fail_not_on_trio(fixturedef, request, why)


def _ours(func: object) -> bool:
    """Whether a fixture function is this module's (a user may define another of the name)."""
    return getattr(inspect.unwrap(cast("Callable[..., object]", func)), "__module__", "") == (
        __name__
    )


def _which_fixture(function: object) -> str:
    """How the test uses the emulator: `gemini_connect` named alone goes through it."""
    names: Collection[str]
    try:
        names = inspect.signature(cast("Callable[..., object]", function)).parameters.keys()
    except (TypeError, ValueError):  # not a function pytest collected: say the common case
        names = ()
    if "gemini_connect" in names and "gemini_emulator" not in names:
        return "gemini_connect (through gemini_emulator)"
    return "gemini_emulator"


def _fail_not_on_trio(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest, why: str | None
) -> NoReturn:
    """Fail the test's setup with what to do, the failure cached as the fixture's result.

    Cached as a failed setup caches it: failed where no result was cached (pytest's own
    "no plugin handled it" does so), the fixture's teardown skipped its finalizers, and
    the next test using it died of pytest's `assert not self._finalizers`.
    """
    test = request.node.name
    function = getattr(request.node, "function", None)
    if function is not None and not inspect.iscoroutinefunction(inspect.unwrap(function)):
        what = (
            f"{test} is a plain `def` test, and gemini_emulator (gemini_connect uses it) runs "
            "on trio: make the test `async def` and run it with pytest-trio"
        )
    else:
        what = (
            f"{test} uses {_which_fixture(function)}, which runs on trio, but no trio runner "
            "ran it: run it with pytest-trio"
        )
    message = (
        f"{what} (`pip install pytest-trio`): set `trio_mode = true` in the pytest "
        "configuration ([tool.pytest.ini_options] in pyproject.toml, or pytest.ini), or mark "
        "the test `@pytest.mark.trio`; or with anyio's plugin: `@pytest.mark.anyio` and an "
        "`anyio_backend` fixture returning 'trio'"
    )
    try:
        pytest.fail(f"{message} ({why})" if why else message, pytrace=False)
    except pytest.fail.Exception as failure:
        fixturedef.cached_result = (
            None,
            fixturedef.cache_key(request),  # type: ignore[arg-type]
            (failure, failure.__traceback__),
        )
        raise


def _require_trio() -> None:
    """Fail the test at once when an async plugin runs the fixture on another event loop.

    The client and the emulator are trio-native: on asyncio (anyio's default backend,
    pytest-asyncio) trio's calls fail deep inside with errors that name neither cause nor fix.
    """
    try:
        # Not `trio.lowlevel.in_trio_task()`: it came after trio 0.27, the oldest supported.
        trio.lowlevel.current_task()
    except RuntimeError:
        pass  # failed below, outside the handler: the report shows no chained traceback
    else:
        return
    pytest.fail(
        "gemini_emulator runs on trio, not on this event loop (asyncio?): use pytest-trio, "
        "or anyio's pytest plugin with the trio backend (an `anyio_backend` fixture "
        "returning 'trio'); trio-gemini-live does not support the asyncio backend",
        pytrace=False,
    )


def _require_the_clock_asked_for(request: pytest.FixtureRequest) -> None:
    """Fail the test at once when it asks for `autojump_clock` and its clock does not jump.

    A runner may leave that fixture aside: anyio's ignores it, and pytest-trio runs a test on
    a clock fixture only when the test takes it as an argument (not through
    `usefixtures` or another fixture). The test then ran silently on the real clock (a wait
    that never came held it for `wait_timeout`, 900 s by default, of real time), and the
    clock it was handed, the one it jumped or asserted on, ran nothing. A test that runs on
    an autojumping `MockClock`, whichever, runs as meant: never refused.
    """
    if "autojump_clock" not in request.fixturenames:
        return
    asked = request.getfixturevalue("autojump_clock")
    current = trio.lowlevel.current_clock()
    if not isinstance(asked, trio.abc.Clock) or current is asked or _autojumps(current):
        return  # not pytest-trio's (a user fixture of the name), or time is free anyway
    pytest.fail(_clock_advice(request, current), pytrace=False)


def _autojumps(clock: trio.abc.Clock) -> bool:
    """Whether `clock` is a `MockClock` that jumps ahead when every task waits."""
    from trio.testing import MockClock

    return isinstance(clock, MockClock) and clock.autojump_threshold != math.inf


def _clock_advice(request: pytest.FixtureRequest, current: trio.abc.Clock) -> str:
    """Why `autojump_clock` is not the test's clock, and what makes it so, for its runner."""
    from trio.testing import MockClock

    test = request.node.name
    if isinstance(current, MockClock):
        runs_on = "a MockClock that does not autojump"
    elif type(current).__name__ == "SystemClock":
        runs_on = "the real clock (SystemClock)"
    else:
        runs_on = f"a {type(current).__name__}"
    if "anyio_backend" in request.fixturenames:
        return (
            f"{test} asks for pytest-trio's autojump_clock, but anyio's runner "
            "(`@pytest.mark.anyio`) ignores it: the test runs on the clock its "
            f"`anyio_backend` fixture gives, {runs_on}. Have `anyio_backend` return "
            '("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), or '
            '("trio", {"clock": autojump_clock}) with autojump_clock as its argument; or run '
            "the test with pytest-trio (`trio_mode = true` in the pytest configuration, or "
            "`@pytest.mark.trio`) instead"
        )
    if "autojump_clock" not in _arguments(request.node):
        used = any(
            "autojump_clock" in mark.args for mark in request.node.iter_markers("usefixtures")
        )
        how = (
            "through `@pytest.mark.usefixtures`"
            if used
            else "through another fixture (or the `usefixtures` option), not as an argument"
        )
        return (
            f"{test} asks for pytest-trio's autojump_clock {how}, but pytest-trio runs a "
            "test on a clock fixture only when the test takes it as an argument: it runs on "
            f"{runs_on}. Take autojump_clock as an argument of the test (`async def "
            f"{getattr(request.node, 'originalname', test)}(..., autojump_clock)`), and no "
            "other clock"
        )
    return (
        f"{test} takes pytest-trio's autojump_clock, but its trio run uses {runs_on}: only "
        "pytest-trio's runner runs a test on it. Run the test with pytest-trio "
        "(`trio_mode = true` in the pytest configuration, or `@pytest.mark.trio`)"
    )


def _arguments(item: pytest.Item) -> Collection[str]:
    """The fixtures a test takes as arguments: those pytest-trio looks for a clock in.

    pytest's own list, not the function's signature: under pytest-trio the test's function
    is its runner's wrapper, which takes `**kwargs`. Unknown (an item of another kind),
    the clock is taken to be among them: nothing is said of them.
    """
    info = getattr(item, "_fixtureinfo", None)
    names = getattr(info, "argnames", None)
    if not isinstance(names, tuple):
        return ("autojump_clock",)
    return cast("tuple[str, ...]", names)
