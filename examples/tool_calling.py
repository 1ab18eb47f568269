"""Tool calling: declare Python functions, let the model call them, send back the results.

Each `FunctionCall` event carries the call id, the function name and its arguments; the
answer goes back with `session.respond(call_id, result)` (a dict is sent as the response
object). Blocking calls hold the model's turn until every call is answered.

    python examples/tool_calling.py              # against the built-in emulator
    GEMINI_API_KEY=... python examples/tool_calling.py --real
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import trio

from trio_gemini_live import (
    Endpoint,
    FunctionCall,
    FunctionCallOutput,
    LiveSession,
    OutputTranscription,
    ToolCallCancellation,
    TurnComplete,
    function_tool,
    gemini_endpoint,
    live_setup,
    open_session,
    url_endpoint,
)

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
CITY = {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}
UTC_OFFSETS = {"paris": 1, "tokyo": 9, "new york": -5}


def get_weather(city: str) -> dict[str, Any]:
    """A stand-in for a weather service."""
    return {"city": city, "conditions": "sunny", "temperature_c": 21}


def get_time(city: str) -> dict[str, Any]:
    """The local time in a few known cities."""
    offset = UTC_OFFSETS.get(city.lower())
    if offset is None:
        return {"error": f"unknown city {city!r}"}
    local = datetime.now(UTC) + timedelta(hours=offset)
    return {"city": city, "time": local.strftime("%H:%M")}


TOOLS: dict[str, Callable[..., dict[str, Any]]] = {"get_weather": get_weather, "get_time": get_time}
DECLARATIONS = [
    function_tool("get_weather", "Current weather in a city.", CITY),
    function_tool("get_time", "Current local time in a city.", CITY),
]


async def ask(session: LiveSession, question: str) -> list[str]:
    """Send one question, run the tools the model calls, return the names called."""
    print(f"  you: {question}")
    await session.send_text(question)
    called: list[str] = []
    spoken: list[str] = []
    async for event in session:
        match event:
            # Only a call still pending: the server may have answered it itself (a
            # `FunctionCallOutput` in the same frame), and a second answer is refused.
            case FunctionCall(call_id=call_id, name=name, arguments=arguments) if (
                call_id in session.pending_tool_calls
            ):
                function = TOOLS.get(name)
                result = function(**arguments) if function else {"error": f"no tool {name}"}
                print(f"[tool] {name}({arguments}) -> {result}")
                called.append(name)
                await session.respond(call_id, result)
            case FunctionCallOutput(name=name, response=response):
                print(f"[tool] {name} answered by the server: {response}")
            case ToolCallCancellation(ids=ids, reason=reason):
                # None: the user interrupted; "incomplete": the turn ended while the call's
                # arguments were streaming; "reconnect": the session moved to a new connection.
                print(f"[tool] cancelled ({reason or 'interrupted'}): {ids}")
            case OutputTranscription(text=text):
                spoken.append(text)
            case TurnComplete(interrupted=True):
                spoken.clear()  # the interrupted turn's words are no part of the answer
            case TurnComplete():
                print(f"model: {''.join(spoken).strip()}")
                return called
            case _:
                pass
    return called


async def run(endpoint: Endpoint) -> list[str]:
    """Ask two questions that need tools; return the tools that were called."""
    setup = live_setup(MODEL, functions=DECLARATIONS, output_transcription=True)
    async with open_session(setup, endpoint=endpoint) as session:
        called = await ask(session, "What's the weather in Paris?")
        called += await ask(session, "What time is it in Tokyo?")
    return called


@asynccontextmanager
async def live_endpoint(real: bool) -> AsyncGenerator[Endpoint]:
    """The real Gemini API with `--real`, else a local emulator on a free loopback port."""
    if real:
        key = os.environ.get("GEMINI_API_KEY")
        if not key:
            sys.exit("--real needs the GEMINI_API_KEY environment variable")
        yield gemini_endpoint(key)
        return
    from trio_gemini_live.emulator import open_emulator

    async with open_emulator() as emulator:
        yield url_endpoint(emulator.endpoint_url(), api_key="example-key")


async def main() -> None:
    parser = argparse.ArgumentParser(description="Gemini Live tool calling")
    parser.add_argument("--real", action="store_true", help="use the real API (GEMINI_API_KEY)")
    args = parser.parse_args()
    async with live_endpoint(args.real) as endpoint:
        with trio.fail_after(60):
            called = await run(endpoint)
    print(f"done: tools called: {', '.join(called) or 'none'}")


if __name__ == "__main__":
    trio.run(main)
