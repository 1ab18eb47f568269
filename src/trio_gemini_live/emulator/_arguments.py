"""Argument rules the server checks after parsing: values of the right type that it refuses.

The JSON parser (`_validate`) takes any name for a function and any number for
`temperature`; Google's backend does not. These checks say which values it refuses.
protocol.md section 4.4 lists `Request contains an invalid argument.` (1007) for a rejected
configuration or tool schema; the exact reasons Google gives for these particular values
over the Live API are not documented, so that generic reason is used for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._setup_checks import FUNCTION_NAME, GENERATION_RANGES, out_of_range
from .._wire import GenerationConfig, Setup, Tool

__all__ = ["bad_function_name", "bad_generation_config", "bad_setup_arguments"]


def bad_function_name(tools: Iterable[Tool] | None) -> str | None:
    """The first declared function name Google refuses (spaces, punctuation, taken), if any.

    The rule is the one the client checks before connecting (`FUNCTION_NAME_RULE`): the
    proto's for `FunctionDeclaration.name` ("Must be a-z, A-Z, 0-9, or contain underscores,
    colons, dots, and dashes, with a maximum length of 64"), with the refusal of a name
    that does not start with a letter or an underscore. The name is required: "" fails.
    A name declared twice is refused too (the client refuses it before connecting,
    `check_function_names`): a call would not say which of the two it means.
    """
    seen: set[str] = set()
    for tool in tools or ():
        for declaration in tool.function_declarations or ():
            name = declaration.name
            if not FUNCTION_NAME.fullmatch(name) or name in seen:
                return name
            seen.add(name)
    return None


def bad_generation_config(config: GenerationConfig | None) -> str | None:
    """The first `generationConfig` field whose value is out of range, if any.

    Ranges: `temperature` "can range from [0.0, 2.0]" (the proto's comment); `topP` is a
    cumulative probability, [0, 1]; the token counts (`topK`, `maxOutputTokens`,
    `candidateCount`) cannot be negative. The client refuses 0 for those too, before
    connecting (`GENERATION_RANGES`): a 0 asks for nothing, but what Google answers to it
    is not documented, so the emulator accepts it. Penalties and `thinkingBudget` have no
    documented range (a negative penalty is legal, `thinkingBudget: -1` means "dynamic"):
    not checked.
    """
    if config is None:
        return None
    for name, (low, high, _) in GENERATION_RANGES.items():
        if out_of_range(getattr(config, name), min(low, 0), high):
            return name
    return None


def bad_setup_arguments(setup: Setup) -> str | None:
    """What in a setup Google refuses with 1007 `Request contains an invalid argument.`."""
    name = bad_function_name(setup.tools)
    if name is not None:
        return f"function name {name!r}"
    field = bad_generation_config(setup.generation_config)
    if field is not None:
        return f"generation_config.{field}"
    return None
