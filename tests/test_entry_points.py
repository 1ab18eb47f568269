"""What the entry points do when used outside their bounds: another event loop, after exit."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio
import trio.testing

from trio_gemini_live import (
    ConfigurationError,
    GeminiRealtimeClient,
    SessionClosedError,
    SessionOptions,
    TurnComplete,
    open_pacer,
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

    async def pacer() -> None:
        with open_pacer():
            pass  # pragma: no cover

    async def client() -> None:
        config = {"model": MODEL, "api_key": "k", "base_url": "ws://127.0.0.1:9/ws"}
        async with GeminiRealtimeClient(llm_config={"config_list": [config]}).connect():
            pass  # pragma: no cover

    calls = {
        "open_session": session,
        "open_emulator": emulator,
        "open_pacer": pacer,
        # The call the application made, not `open_session` inside it.
        "GeminiRealtimeClient.connect": client,
    }
    for name, main in calls.items():
        with pytest.raises(ConfigurationError, match=r"backend='trio'") as info:
            anyio.run(main)  # anyio's default backend is asyncio
        assert str(info.value).startswith(f"{name} runs on trio")
        # A synchronous application's portal defaults to asyncio too.
        assert "start_blocking_portal(backend='trio')" in str(info.value)


def test_open_pacer_outside_trio_gets_the_same_clear_error() -> None:
    # It failed with trio's "must be called from async context", from inside trio.
    with pytest.raises(ConfigurationError, match=r"^open_pacer runs on trio"), open_pacer():
        pass  # pragma: no cover


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


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"endpoint": "ws://127.0.0.1:9/ws"}, "endpoint must be an Endpoint, not str"),
        ({"options": 5}, "options must be a SessionOptions, not int"),
    ],
)
async def test_an_endpoint_or_options_of_the_wrong_type_is_refused(
    arguments: dict[str, Any], message: str
) -> None:
    # They failed later, as a bare AttributeError.
    with pytest.raises(ConfigurationError, match=message):
        async with open_session(MODEL, **arguments):
            pass  # pragma: no cover


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


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_an_anyio_stream_from_the_connector_is_refused_by_name(transport: str) -> None:
    # The handshake failed with AttributeError: 'SocketStream' object has no attribute
    # 'send_all'. No autojump clock: the connection is real TCP, on the loopback.
    returned: list[anyio.abc.SocketStream] = []
    async with open_emulator() as emulator:

        async def connector() -> trio.abc.Stream:
            stream = await anyio.connect_tcp(emulator.host, emulator.port)
            returned.append(stream)
            return stream  # type: ignore[return-value]  # pyright: ignore[reportReturnType]

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        options = SessionOptions(transport=transport)
        with (
            trio.fail_after(10),
            pytest.raises(ConfigurationError, match="not a trio stream") as info,
        ):
            async with open_session(MODEL, endpoint=endpoint, connector=connector, options=options):
                pass  # pragma: no cover
    message = str(info.value)
    assert "anyio._backends._trio.SocketStream" in message
    assert "trio.open_tcp_stream" in message
    # Closed, since nobody else can: left open it warned when collected.
    with pytest.raises(anyio.ClosedResourceError):
        await returned[0].send(b"x")


class Socketish:
    """Part of a stream: what a connector might return by mistake."""

    closed = False

    def send_all(self, data: bytes) -> None:  # pragma: no cover
        pass

    async def aclose(self) -> None:
        self.closed = True


async def test_any_other_non_stream_from_the_connector_is_refused_by_name(
    autojump_clock: trio.testing.MockClock,
) -> None:
    returned = Socketish()

    async def connector() -> trio.abc.Stream:
        return returned  # type: ignore[return-value]  # pyright: ignore[reportReturnType]

    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")
    with trio.fail_after(10), pytest.raises(ConfigurationError) as info:
        async with open_session(MODEL, endpoint=endpoint, connector=connector):
            pass  # pragma: no cover
    assert str(info.value) == (
        f"the connector returned {__name__}.Socketish, not a trio stream "
        "(trio.abc.Stream): it has no receive_some, wait_send_all_might_not_block"
    )
    assert returned.closed
