"""pytest fixtures to test an app against the local emulator: in process, in memory, offline.

pytest loads this module by itself once the package is installed (the `pytest11` entry
point); `-p trio_gemini_live.pytest_plugin` or `pytest_plugins` load it otherwise. It only
defines fixtures, none of them autouse, and imports the emulator when a test asks for one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

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
async def gemini_emulator(gemini_emulator_config: EmulatorConfig) -> AsyncIterator[Emulator]:
    """A running in-process `Emulator`, started with `gemini_emulator_config`; one per test.

    It listens on a free 127.0.0.1 port (`emu.url`) and serves in-memory connections
    (`emu.memory_connector()`, `emu.open_session(setup)`); it is shut down, and every
    connection closed, when the test ends. It runs on trio: under pytest-trio, or anyio's
    pytest plugin with `anyio_backend` set to `"trio"`; asyncio fails with an error saying so.
    """
    _require_trio()
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
