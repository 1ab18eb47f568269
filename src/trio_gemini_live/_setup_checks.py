"""Values of a setup the server refuses or cannot use: function names, sampling ranges, ...

Checked before connecting: the server closes the session with 1007 for them, often saying
only "Request contains an invalid argument.", and only once the connection is made.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, cast

from ._errors import ConfigurationError
from ._wire import FunctionDeclaration, GenerationConfig, RealtimeInputConfig

__all__ = [
    "DETECTION_TUNING",
    "FUNCTION_NAME",
    "FUNCTION_NAME_RULE",
    "GENERATION_RANGES",
    "check_activity_detection",
    "check_function_name",
    "check_function_names",
    "check_generation_config",
    "check_temperature",
    "out_of_range",
]

FUNCTION_NAME_RULE = (
    "a function name must start with a letter or an underscore, hold only a-z, A-Z, 0-9, "
    "underscores, dots, colons and dashes, and be at most 64 characters long"
)
"""`FunctionDeclaration.name`'s rule, as Google documents it (Vertex AI's start rule, the
Gemini API's character set; both allow 64 characters)."""

FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")
"""`FUNCTION_NAME_RULE` as a pattern for `fullmatch` (the emulator refuses what it refuses)."""
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.:-]")


def _name_problem(name: str) -> str:
    """What breaks the rule in `name` (which does break it)."""
    if not name:
        return "it is empty"
    if len(name) > 64:
        return f"it is {len(name)} characters long"
    bad = sorted(set(_NAME_CHARS.findall(name)))
    if bad:
        return "it holds " + ", ".join(repr(char) for char in bad)
    return f"it starts with {name[0]!r}"


def check_function_name(name: object, where: str = "function_tool") -> str:
    """`name` if it is a function name the server accepts, else a `ConfigurationError`."""
    if not isinstance(name, str):
        raise ConfigurationError(
            f"{where}: a function name must be a str, not {type(name).__name__}"
        )
    if FUNCTION_NAME.fullmatch(name) is None:
        shown = repr(name) if len(name) <= 80 else f"{name[:60]!r}..."
        raise ConfigurationError(
            f"{where}: function name {shown} is refused by the Live API ({_name_problem(name)}): "
            f"{FUNCTION_NAME_RULE}"
        )
    return name


def check_function_names(tools: Sequence[Any] | None, path: str) -> None:
    """Refuse a function declared in `tools` under a bad name, or under a name taken already.

    `tools` holds `Tool` Structs; each name is named with its JSON path. A tool or a
    declaration given as its JSON object, or a name of the wrong type, is skipped:
    `check_setup` reads the setup back as the server would (saying what has the wrong
    type), then checks its names here.
    """
    seen: dict[str, str] = {}
    for index, tool in enumerate(tools or ()):
        declarations = cast("Sequence[object]", getattr(tool, "function_declarations", None))
        for number, declaration in enumerate(declarations or ()):
            if not isinstance(declaration, FunctionDeclaration):
                continue
            given = cast(object, declaration.name)  # the annotation promises what is checked
            if not isinstance(given, str):
                continue
            where = f"{path}[{index}].functionDeclarations[{number}]"
            name = check_function_name(given, where)
            first = seen.setdefault(name, where)
            if first != where:
                raise ConfigurationError(
                    f"function name {name!r} is declared twice ({first} and {where}): the "
                    "Live API refuses a setup whose functions share a name; give each its own"
                )


GENERATION_RANGES: dict[str, tuple[float, float, str]] = {
    "temperature": (0.0, 2.0, "between 0.0 and 2.0"),
    "top_p": (0.0, 1.0, "between 0.0 and 1.0"),
    "top_k": (1, math.inf, "at least 1"),
    "max_output_tokens": (1, math.inf, "at least 1"),
    "candidate_count": (1, math.inf, "at least 1"),
}
"""The ranges Google documents for `GenerationConfig` fields (as for generateContent):
field -> (lowest, highest, the range in words). The emulator refuses the same."""

_JSON_NAMES = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "max_output_tokens": "maxOutputTokens",
    "candidate_count": "candidateCount",
}


def check_temperature(temperature: object) -> None:
    """Refuse a number outside 0.0 to 2.0 (a wrong type is left to `check_setup`)."""
    low, high, says = GENERATION_RANGES["temperature"]
    if out_of_range(temperature, low, high):
        raise ConfigurationError(f"temperature must be {says}, not {temperature!r}")


def check_generation_config(config: GenerationConfig | None, path: str) -> None:
    """Refuse a sampling setting outside the range Google documents for it.

    Only the settings whose range is documented: `temperature` 0.0 to 2.0, `topP` 0.0 to
    1.0, and `topK`, `maxOutputTokens`, `candidateCount` at least 1. (A model may allow
    less, a smaller `maxOutputTokens` say; the server says so.)
    """
    if config is None:
        return
    for name, (low, high, says) in GENERATION_RANGES.items():
        value = getattr(config, name)
        if out_of_range(value, low, high):
            raise ConfigurationError(f"{path}.{_JSON_NAMES[name]} must be {says}, not {value!r}")


def out_of_range(value: object, low: float, high: float) -> bool:
    """Whether `value` is a number outside `low`..`high`.

    NaN is left to the NaN check, a wrong type to the type check (each says it better).
    """
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not math.isnan(value)
        and not low <= value <= high
    )


DETECTION_TUNING = (
    ("silence_duration_ms", "silenceDurationMs"),
    ("prefix_padding_ms", "prefixPaddingMs"),
    ("start_of_speech_sensitivity", "startOfSpeechSensitivity"),
    ("end_of_speech_sensitivity", "endOfSpeechSensitivity"),
)
"""The settings of automatic activity detection: (`live_setup` option, JSON name)."""


def check_activity_detection(config: RealtimeInputConfig | None, path: str) -> None:
    """Refuse tuning of automatic activity detection that the setup turns off.

    Sent under `disabled: true`, the settings cannot take effect: the server marks no
    turns, the application does (`activityStart` / `activityEnd`).
    """
    detection = config.automatic_activity_detection if config is not None else None
    if detection is None or not detection.disabled:
        return
    tuned = [name for field, name in DETECTION_TUNING if getattr(detection, field) is not None]
    if tuned:
        where = f"{path}.automaticActivityDetection"
        raise ConfigurationError(
            f"{where} is disabled, so {', '.join(tuned)} cannot take effect: leave "
            f"{'them' if len(tuned) > 1 else 'it'} out, or turn automatic activity detection on"
        )
