"""Argument rules the server checks after parsing: values of the right type that it refuses.

The JSON parser (`_validate`) takes any name for a function and any number for
`temperature`; Google's backend does not. These checks say which values it refuses.
protocol.md section 4.4 lists `Request contains an invalid argument.` (1007) for a rejected
configuration or tool schema; the exact reasons Google gives for these particular values
over the Live API are not documented, so that generic reason is used for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .._wire import GenerationConfig, Setup, Tool

__all__ = ["bad_function_name", "bad_generation_config", "bad_setup_arguments"]

# The proto's rule for `FunctionDeclaration.name` ("Must be a-z, A-Z, 0-9, or contain
# underscores, colons, dots, and dashes, with a maximum length of 64", googleapis
# google/ai/generativelanguage/v1beta/content.proto), with generateContent's refusal of a
# name that does not start with a letter or an underscore. The name is REQUIRED: "" fails.
_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,63}")


def bad_function_name(tools: Iterable[Tool] | None) -> str | None:
    """The first declared function name Google refuses (spaces, punctuation...), if any."""
    for tool in tools or ():
        for declaration in tool.function_declarations or ():
            if not _FUNCTION_NAME.fullmatch(declaration.name):
                return declaration.name
    return None


def bad_generation_config(config: GenerationConfig | None) -> str | None:
    """The first `generationConfig` field whose value is out of range, if any.

    Ranges: `temperature` "can range from [0.0, 2.0]" (the proto's comment); `topP` is a
    cumulative probability, [0, 1]; the token counts (`topK`, `maxOutputTokens`,
    `candidateCount`) cannot be negative. Penalties and `thinkingBudget` have no documented
    range (a negative penalty is legal, `thinkingBudget: -1` means "dynamic"): not checked.
    """
    if config is None:
        return None
    if config.temperature is not None and not 0.0 <= config.temperature <= 2.0:
        return "temperature"
    if config.top_p is not None and not 0.0 <= config.top_p <= 1.0:
        return "top_p"
    counts = {
        "top_k": config.top_k,
        "max_output_tokens": config.max_output_tokens,
        "candidate_count": config.candidate_count,
    }
    return next((name for name, value in counts.items() if value is not None and value < 0), None)


def bad_setup_arguments(setup: Setup) -> str | None:
    """What in a setup Google refuses with 1007 `Request contains an invalid argument.`."""
    name = bad_function_name(setup.tools)
    if name is not None:
        return f"function name {name!r}"
    field = bad_generation_config(setup.generation_config)
    if field is not None:
        return f"generation_config.{field}"
    return None
