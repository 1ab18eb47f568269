"""Defaults shared by the commands: model, voice, the demo's sample tool."""

from __future__ import annotations

from typing import Any

from .._setup import function_tool
from .._wire import FunctionDeclaration

__all__ = ["DEFAULT_MODEL", "DEFAULT_VOICE", "WEATHER_TOOL", "get_weather"]

DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
"""The Live API model used when `--model` is not given (native audio, server VAD)."""

DEFAULT_VOICE = "Puck"
"""The prebuilt voice used by the demo."""

WEATHER_TOOL: FunctionDeclaration = function_tool(
    "get_weather",
    "Get the current weather for a city.",
    {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING", "description": "The city name"}},
        "required": ["city"],
    },
)
"""The declaration of `get_weather`, as sent in the setup's tools."""


def get_weather(city: str) -> dict[str, Any]:
    """A sample tool: a canned, deterministic forecast (it needs no network)."""
    return {"city": city, "conditions": "sunny", "temperature_c": 21}
