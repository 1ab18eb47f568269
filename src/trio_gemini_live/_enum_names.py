"""Enum values spelled as Google declares them (`"no_interruption"` as `"NO_INTERRUPTION"`).

Proto3 JSON parsers match enum names case-sensitively, and google-genai sends the declared
(upper-case) name whatever case it was given (its `CaseInSensitiveEnum`). A value that
matches a declared name ignoring case (`_proto_enums`: the published protos' names and the
newer ones google-genai declares, such as `XHIGH`) is sent as that name; one that
matches none is sent as given: Google adds enum values, and one this release does not know
must reach the server, which may well take it (`_setup_hint` names it should the server
refuse the setup). Applied where setups, tools and tool responses are prepared for sending,
never on the audio path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar, cast

import msgspec

from . import _proto_enums as proto
from ._wire import (
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    CodeExecutionResult,
    ExecutableCode,
    FunctionDeclaration,
    FunctionResponse,
    GenerationConfig,
    RealtimeInputConfig,
    SafetySetting,
    ThinkingConfig,
)

__all__ = ["declared_name", "with_declared_names"]

_T = TypeVar("_T")

_Names = Mapping[str, str]  # upper-case spelling -> the declared name

_ARRAYS = (list, tuple, set, frozenset)
"""The containers the wire encodes as a JSON array (and so the checks let through): a tuple
of tools or of function responses is sent as a list is, and spelled as one is."""


def _names(*tables: tuple[str, ...]) -> _Names:
    return {name.upper(): name for table in tables for name in table}


# The enum-valued fields of the client's wire Structs, by Struct and field name. Safety
# settings take the names of either backend (they are spelled the same on both).
_ENUM_FIELDS: dict[type[msgspec.Struct], dict[str, _Names]] = {
    GenerationConfig: {
        "response_modalities": _names(proto.MODALITY, proto.MODALITY_UNNUMBERED),
        "media_resolution": _names(proto.MEDIA_RESOLUTION),
    },
    ThinkingConfig: {
        "thinking_level": _names(proto.THINKING_LEVEL, proto.THINKING_LEVEL_UNNUMBERED)
    },
    AutomaticActivityDetection: {
        "start_of_speech_sensitivity": _names(proto.START_SENSITIVITY),
        "end_of_speech_sensitivity": _names(proto.END_SENSITIVITY),
    },
    RealtimeInputConfig: {
        "activity_handling": _names(proto.ACTIVITY_HANDLING),
        "turn_coverage": _names(proto.TURN_COVERAGE, proto.TURN_COVERAGE_UNNUMBERED),
    },
    FunctionDeclaration: {"behavior": _names(proto.BEHAVIOR)},
    AudioTranscriptionConfig: {"mode": _names(proto.TRANSCRIPTION_MODE_UNNUMBERED)},
    ExecutableCode: {"language": _names(proto.LANGUAGE)},
    CodeExecutionResult: {"outcome": _names(proto.OUTCOME)},
    FunctionResponse: {"scheduling": _names(proto.SCHEDULING)},
    SafetySetting: {
        "category": _names(
            proto.GEMINI_HARM_CATEGORY,
            proto.GEMINI_HARM_CATEGORY_UNNUMBERED,
            proto.VERTEX_HARM_CATEGORY,
        ),
        "threshold": _names(proto.HARM_BLOCK_THRESHOLD),
        "method": _names(proto.HARM_BLOCK_METHOD),
    },
}


def declared_name(value: _T, table: tuple[str, ...]) -> _T:
    """`value` as the name `table` declares, if it is one ignoring case; else as given."""
    if not isinstance(value, str):
        return value
    upper = value.upper()
    return cast("_T", upper) if upper in table else value


def _spelled(value: object, names: _Names) -> object:
    """An enum field's value (a name, or an array of names) as the declared names."""
    if isinstance(value, str):
        declared = names.get(value.upper())
        return declared if declared is not None and declared != value else value
    if isinstance(value, _ARRAYS):
        return _each(cast("object", value), lambda item: _spelled(item, names))
    return value  # of the wrong type: the checks that read the message back name it


def _each(items: object, convert: Callable[[object], object]) -> object:
    """`items` (one of `_ARRAYS`) with `convert` applied to each item.

    A copy of the same type if any item changed, else `items` itself.
    """
    given = list(cast("list[object] | tuple[object, ...] | set[object]", items))
    converted = [convert(item) for item in given]
    if all(new is old for new, old in zip(converted, given, strict=True)):
        return items
    return type(cast("list[object]", items))(converted)


def with_declared_names(value: _T) -> _T:
    """`value` (a wire Struct, or an array of them) with its enum values as declared names.

    The same object when nothing changes (the usual case: a setup from `live_setup` with
    upper-case names); otherwise a copy, the Structs given left as they were. JSON objects
    (`Setup.extra`, a function's `parameters`, a tool's settings) are sent as given.
    """
    if isinstance(value, msgspec.Struct):
        fields = _ENUM_FIELDS.get(type(value), {})
        changes: dict[str, object] = {}
        for name in value.__struct_fields__:
            item = getattr(value, name)
            names = fields.get(name)
            spelled = _spelled(item, names) if names is not None else with_declared_names(item)
            if spelled is not item:
                changes[name] = spelled
        return msgspec.structs.replace(value, **changes) if changes else value
    if isinstance(value, _ARRAYS):
        return cast("_T", _each(cast("object", value), with_declared_names))
    return value
