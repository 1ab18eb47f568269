"""Testing a voice agent offline: the emulator's pytest fixtures (docs/testing.md).

The app under test is `ask()`: it sends the user's question, answers the model's
`get_weather` calls with a local function and returns what the model said. The tests run it
against an in-process emulator over in-memory streams: no network, no API key. With
pytest-trio's `autojump_clock` the emulator's timers cost no real time, so even the test
whose model speaks for ten (simulated) seconds takes a few milliseconds.

Copy this file next to your own tests:

    pip install pytest pytest-trio
    pytest test_weather_agent.py

The fixtures (`gemini_connect`, `gemini_emulator`, `gemini_emulator_config`) come with the
installed package; from a source checkout that is not installed, add
`-p trio_gemini_live.pytest_plugin`.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from trio_gemini_live import (
    FunctionCall,
    LiveSession,
    OutputTranscription,
    TurnComplete,
    function_tool,
    live_setup,
)
from trio_gemini_live.emulator import (
    Emulator,
    EmulatorConfig,
    Fault,
    Scenario,
    ScenarioToolCall,
    ScenarioTurn,
)
from trio_gemini_live.pytest_plugin import GeminiConnect

# pytest-trio runs these tests (also without `trio_mode = true` in the pytest configuration).
pytestmark = pytest.mark.trio

# --- the app under test ----------------------------------------------------------------------

CITY = {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}
SETUP = live_setup(
    "gemini-2.5-flash-native-audio-preview-12-2025",
    functions=[function_tool("get_weather", "Current weather in a city.", CITY)],
    output_transcription=True,
)


def get_weather(city: str) -> dict[str, Any]:
    """A stand-in for a weather service."""
    return {"city": city, "conditions": "sunny", "temperature_c": 21}


async def ask(session: LiveSession, question: str) -> str:
    """Ask one question, run the tools the model calls, return the model's words."""
    await session.send_text(question)
    spoken: list[str] = []
    async for event in session:
        match event:
            case FunctionCall(call_id=call_id, name="get_weather", arguments=arguments):
                await session.respond(call_id, get_weather(**arguments))
            case OutputTranscription(text=text):
                spoken.append(text)
            case TurnComplete():
                break
            case _:
                pass  # audio for the speaker, resumption updates, `Reconnected`, ...
    return "".join(spoken).strip()


# --- the tests -------------------------------------------------------------------------------


async def test_the_agent_answers_with_the_weather_tool(
    gemini_connect: GeminiConnect,
    gemini_emulator: Emulator,
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The emulator's model calls a declared function whose name the question contains
    # ("weather"), with the words after "in" as its argument, then reads the result out.
    async with gemini_connect(SETUP) as session:
        answer = await ask(session, "What's the weather in Paris?")
    assert answer == (
        'get_weather returned {"city": "Paris", "conditions": "sunny", "temperature_c": 21}.'
    )
    # What the app sent, as the server received it.
    conn = await gemini_emulator.wait_for_connection(1)
    [response] = [frame for frame in conn.received if frame.get("toolResponse")]
    [result] = response.get("toolResponse.functionResponses")
    assert result["name"] == "get_weather"
    assert result["response"]["city"] == "Paris"


SCRIPTED = Scenario(
    (
        ScenarioTurn(
            when="umbrella",
            tool_calls=(ScenarioToolCall("get_weather", {"city": "Oslo"}),),
            after_tool="No umbrella needed in Oslo: {response}",
        ),
    )
)


@pytest.mark.parametrize("gemini_emulator_config", [EmulatorConfig(scenario=SCRIPTED)])
async def test_a_scripted_tool_call(
    gemini_connect: GeminiConnect, autojump_clock: trio.testing.MockClock
) -> None:
    async with gemini_connect(SETUP) as session:
        answer = await ask(session, "Do I need an umbrella?")
    assert answer.startswith("No umbrella needed in Oslo:")
    assert '"conditions": "sunny"' in answer


# Drop the first connection without a close frame once the question has arrived (client
# frame 2, after the setup): the client resumes the session on a new connection and sends
# the question again; the app only sees a `Reconnected` event it may ignore.
DROP = EmulatorConfig(faults=(Fault(kind="reset", after_received=2, connection=1),))


@pytest.mark.parametrize("gemini_emulator_config", [DROP])
async def test_the_agent_survives_a_dropped_connection(
    gemini_connect: GeminiConnect,
    gemini_emulator: Emulator,
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with gemini_connect(SETUP) as session:
        answer = await ask(session, "What's the weather in Paris?")
    assert answer.startswith('get_weather returned {"city": "Paris"')
    first, second = gemini_emulator.connections
    assert first.close_code == 1006  # dropped
    assert second.received[1].get("realtimeInput.text") == "What's the weather in Paris?"


# Answers are spoken at the pace they play (about 5 s each), as Google's are; the mock clock
# skips the waiting. Real-time pacing matters here: the client replays what it wrote less than
# `ReconnectPolicy.handle_window` (0.5 s) before its last resumption handle, and when no time
# passes at all that is every message of the session.
@pytest.mark.parametrize("gemini_emulator_config", [EmulatorConfig(pacing="realtime")])
async def test_the_agent_follows_a_go_away(
    gemini_connect: GeminiConnect,
    gemini_emulator: Emulator,
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with gemini_connect(SETUP) as session:
        assert "Paris" in await ask(session, "What's the weather in Paris?")
        conn = await gemini_emulator.wait_for_connection(1)
        await conn.go_away(10.0)  # the server will close this connection in 10 s
        assert "Rome" in await ask(session, "What's the weather in Rome?")
    assert len(gemini_emulator.connections) == 2  # the session moved before the deadline
    assert trio.current_time() > 9.0  # simulated seconds, spent in milliseconds
