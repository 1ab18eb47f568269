"""`Emulator.open_session`: this package's client on the emulator, over in-memory streams."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_gemini_live import (
    AbnormalClosureError,
    InvalidArgumentError,
    LiveSession,
    OutputTranscription,
    ReconnectPolicy,
    SessionOptions,
    TurnComplete,
    live_setup,
)
from trio_gemini_live.emulator import EmulatorConfig, Fault, open_emulator

SETUP = live_setup("gemini-2.5-flash-native-audio-preview-12-2025", output_transcription=True)


async def turn(session: LiveSession, text: str) -> str:
    await session.send_text(text)
    heard = ""
    async for event in session:
        if isinstance(event, OutputTranscription):
            heard += event.text
        elif isinstance(event, TurnComplete):
            break
    return heard


async def test_a_session_over_memory_streams(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator() as emu:
        async with emu.open_session(SETUP) as session:
            assert await turn(session, "Hello") == "You said: Hello"
        conn = await emu.wait_for_connection(1)
        await conn.wait_closed()
    assert conn.close_code == 1000
    assert conn.route is not None
    assert not conn.route.vertex
    assert dict(conn.headers)["x-goog-api-key"] == "REDACTED"  # a key was sent


@pytest.mark.parametrize("keys", [frozenset({"only-key"}), frozenset({"b-key", "a-key"})])
async def test_the_default_key_is_one_the_emulator_accepts(
    keys: frozenset[str], autojump_clock: trio.testing.MockClock
) -> None:
    config = EmulatorConfig(api_keys=keys)
    async with open_emulator(config) as emu, emu.open_session(SETUP) as session:
        assert await turn(session, "Hi") == "You said: Hi"


async def test_an_explicit_key_is_sent_as_given(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator(EmulatorConfig(api_keys=frozenset({"right"}))) as emu:
        async with emu.open_session(SETUP, api_key="right"):
            pass
        with pytest.raises(InvalidArgumentError, match="API key not valid"):
            async with emu.open_session(SETUP, api_key="wrong"):
                pass  # pragma: no cover


async def test_a_vertex_emulator_gets_a_vertex_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator(EmulatorConfig(vertex=True)) as emu:
        async with emu.open_session(SETUP) as session:
            assert session.session_id is not None  # Vertex's setupComplete.sessionId
            assert await turn(session, "Hello") == "You said: Hello"
        conn = await emu.wait_for_connection(1)
    assert conn.route is not None
    assert conn.route.vertex


async def test_latency_delays_every_message(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator() as emu:
        started = trio.current_time()
        async with emu.open_session(SETUP, latency=0.25):
            # Upgrade request and response, setup and setupComplete: four crossings.
            assert trio.current_time() - started >= 4 * 0.25


async def test_the_connector_arguments_are_checked(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emu:
        with pytest.raises(ValueError, match="buffer must be >= 1 byte"):
            async with emu.open_session(SETUP, buffer=0):
                pass  # pragma: no cover
        with pytest.raises(ValueError, match="latency must be >= 0"):
            async with emu.open_session(SETUP, latency=-1):
                pass  # pragma: no cover


async def test_start_false_sends_the_setup_later(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator() as emu, emu.open_session(SETUP, start=False) as session:
        conn = await emu.wait_for_connection(1)
        assert conn.received == []
        await session.start(SETUP)
        assert conn.received[0].get("setup.model") == f"models/{SETUP.model.split('/')[-1]}"


async def test_the_options_are_the_session_s(autojump_clock: trio.testing.MockClock) -> None:
    # Without reconnection a dropped connection ends the session instead of resuming it.
    drop = EmulatorConfig(faults=(Fault(kind="reset", after_received=2),))
    options = SessionOptions(reconnect=ReconnectPolicy(enabled=False))
    async with open_emulator(drop) as emu:
        with pytest.raises(AbnormalClosureError):
            async with emu.open_session(SETUP, options=options) as session:
                await turn(session, "Hello")
        assert len(emu.connections) == 1
