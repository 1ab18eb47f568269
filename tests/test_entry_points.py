"""What the entry points do when used outside their bounds: another event loop, after exit."""

from __future__ import annotations

import anyio
import pytest
import trio
import trio.testing

from trio_gemini_live import (
    ConfigurationError,
    GeminiRealtimeClient,
    SessionClosedError,
    TurnComplete,
    open_session,
    url_endpoint,
)
from trio_gemini_live.emulator import open_emulator
from turns import until_event

MODEL = "gemini-live-2.5-flash-preview"


def test_asyncio_gets_a_clear_error_naming_the_fix() -> None:
    async def session() -> None:
        endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")
        async with open_session(MODEL, endpoint=endpoint):
            pass  # pragma: no cover

    async def emulator() -> None:
        async with open_emulator():
            pass  # pragma: no cover

    for main in (session, emulator):
        with pytest.raises(ConfigurationError, match=r"backend='trio'"):
            anyio.run(main)  # anyio's default backend is asyncio


@pytest.mark.parametrize("call", ["session_update", "add_event", "get_event", "truncate_audio"])
def test_the_seed_client_on_asyncio_gets_the_same_clear_error(call: str) -> None:
    # Code migrating from AG2's asyncio client may call these before `connect()`; they
    # failed with "Task got bad yield: CancelShieldedCheckpoint".
    config = {"model": MODEL, "api_key": "k", "base_url": "ws://127.0.0.1:9/ws"}
    client = GeminiRealtimeClient(llm_config={"config_list": [config]})
    calls = {
        "session_update": lambda: client.session_update({"voice": "Kore"}),
        "add_event": lambda: client.add_event(None),
        "get_event": client.get_event,
        "truncate_audio": lambda: client.truncate_audio(100, 0, "turn-1"),
    }

    async def main() -> None:
        await calls[call]()

    with pytest.raises(ConfigurationError, match=rf"GeminiRealtimeClient\.{call} .*backend='trio'"):
        anyio.run(main)


async def test_an_api_key_next_to_an_endpoint_is_refused_not_dropped() -> None:
    # The key was dropped without a word: the session connected without a credential and
    # the server closed it with 1008 "unregistered callers", which names no cause.
    endpoint = url_endpoint("ws://127.0.0.1:9/ws")
    with pytest.raises(ConfigurationError, match="both api_key and endpoint") as info:
        async with open_session(MODEL, api_key="AIza-secret", endpoint=endpoint):
            pass  # pragma: no cover
    assert "secret" not in str(info.value)


def test_anyio_on_trio_is_accepted() -> None:
    async def main() -> None:
        async with open_emulator() as emulator:
            endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
            connector = emulator.memory_connector()
            async with open_session(MODEL, endpoint=endpoint, connector=connector) as session:
                assert session.session_id is None

    anyio.run(main, backend="trio")


async def test_events_left_unread_are_gone_after_the_block(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        connector = emulator.memory_connector()
        async with open_session(MODEL, endpoint=endpoint, connector=connector) as session:
            await session.send_text("hello")
            await until_event(session, TurnComplete)
            await session.send_text("hello again")
            await trio.sleep(5)  # the answer arrives and is left unread
        with trio.fail_after(5):
            with pytest.raises(SessionClosedError, match="discarded"):
                await session.receive()
            with pytest.raises(SessionClosedError, match="discarded"):
                async for _ in session:
                    pass  # pragma: no cover
