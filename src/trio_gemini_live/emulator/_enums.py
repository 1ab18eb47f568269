"""The enum fields in client messages: their names and numbers (protocol.md 1.6, item 7).

Enums travel as strings, but Google's proto3 JSON parser also accepts their numbers, so
`"responseModalities": [1]` means `["TEXT"]`. `enum_fields` maps each enum-valued field of the
`_wire` client Structs to its enum; the validator turns numbers into names before the rest of
the emulator sees them, and refuses a name or a number the enum does not declare, as Google's
parser does (names match exactly: `"audio"` is not `AUDIO`).

The names come from `trio_gemini_live._proto_enums`, copied from Google's published proto
files (never guessed), which the client shares to spell and explain its setups; this module
adds the enums' full names and which fields each backend numbers. Names those protos lack
but google-genai sends (`XHIGH`, `VIDEO`, `HARM_CATEGORY_IMAGE_HATE`, ...) are taken by name
only, their numbers being unknown.

A field whose numbering is not published takes names only, and any number there is refused:
`thinkingLevel` on the Gemini API; on Vertex every Live-only enum (`activityHandling`,
`turnCoverage`, the speech sensitivities, `behavior`, `scheduling`), since Vertex's
`LlmBidiService` proto is not public. Their full names, which only Google's error text shows,
are guessed from the published protos' layout. `inputAudioTranscription.mode` is in no
published proto at all: it is read as any string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import msgspec

from .. import _proto_enums as proto
from .._wire import (
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

__all__ = ["ProtoEnum", "enum_fields"]


@dataclass(frozen=True)
class ProtoEnum:
    """One proto enum: its full name (as Google's errors print it) and its values.

    `names` are its values by number; `declared` every name it takes, numbered or not.
    """

    full_name: str
    names: Mapping[int, str]
    declared: frozenset[str]

    def type_url(self) -> str:
        """`type.googleapis.com/<full name>`, the form Google's 'Invalid value' errors use."""
        return f"type.googleapis.com/{self.full_name}"


def _enum(full_name: str, *names: str, unnumbered: tuple[str, ...] = ()) -> ProtoEnum:
    # Every enum used here numbers its values 0, 1, 2, ... in declaration order.
    numbered = MappingProxyType(dict(enumerate(names)))
    return ProtoEnum(full_name, numbered, frozenset((*names, *unnumbered)))


def _names_only(full_name: str, *names: str) -> ProtoEnum:
    return ProtoEnum(full_name, MappingProxyType({}), frozenset(names))


_GL = "google.ai.generativelanguage.v1beta"
_AP = "google.cloud.aiplatform.v1beta1"

_FieldKey = tuple[type[msgspec.Struct], str]

# generative_service.proto, content.proto and safety.proto of generativelanguage v1beta.
_GEMINI: dict[_FieldKey, ProtoEnum] = {
    (GenerationConfig, "response_modalities"): _enum(
        f"{_GL}.GenerationConfig.Modality", *proto.MODALITY, unnumbered=proto.MODALITY_UNNUMBERED
    ),
    (GenerationConfig, "media_resolution"): _enum(
        f"{_GL}.GenerationConfig.MediaResolution", *proto.MEDIA_RESOLUTION
    ),
    (AutomaticActivityDetection, "start_of_speech_sensitivity"): _enum(
        f"{_GL}.RealtimeInputConfig.AutomaticActivityDetection.StartSensitivity",
        *proto.START_SENSITIVITY,
    ),
    (AutomaticActivityDetection, "end_of_speech_sensitivity"): _enum(
        f"{_GL}.RealtimeInputConfig.AutomaticActivityDetection.EndSensitivity",
        *proto.END_SENSITIVITY,
    ),
    (RealtimeInputConfig, "activity_handling"): _enum(
        f"{_GL}.RealtimeInputConfig.ActivityHandling", *proto.ACTIVITY_HANDLING
    ),
    # TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO (protocol.md 2.1.3) is not in the published
    # proto yet, so its number is unknown and it is accepted by name only.
    (RealtimeInputConfig, "turn_coverage"): _enum(
        f"{_GL}.RealtimeInputConfig.TurnCoverage",
        *proto.TURN_COVERAGE,
        unnumbered=proto.TURN_COVERAGE_UNNUMBERED,
    ),
    # Vertex AI publishes this enum, the Gemini API only its names (protocol.md 2.1.1).
    (ThinkingConfig, "thinking_level"): _names_only(
        f"{_GL}.ThinkingConfig.ThinkingLevel",
        *proto.THINKING_LEVEL,
        *proto.THINKING_LEVEL_UNNUMBERED,
    ),
    (FunctionDeclaration, "behavior"): _enum(
        f"{_GL}.FunctionDeclaration.Behavior", *proto.BEHAVIOR
    ),
    (FunctionResponse, "scheduling"): _enum(
        f"{_GL}.FunctionResponse.Scheduling", *proto.SCHEDULING
    ),
    (SafetySetting, "category"): _enum(
        f"{_GL}.HarmCategory",
        *proto.GEMINI_HARM_CATEGORY,
        unnumbered=proto.GEMINI_HARM_CATEGORY_UNNUMBERED,
    ),
    (SafetySetting, "threshold"): _enum(
        f"{_GL}.SafetySetting.HarmBlockThreshold", *proto.HARM_BLOCK_THRESHOLD
    ),
    (ExecutableCode, "language"): _enum(f"{_GL}.ExecutableCode.Language", *proto.LANGUAGE),
    (CodeExecutionResult, "outcome"): _enum(f"{_GL}.CodeExecutionResult.Outcome", *proto.OUTCOME),
}

# content.proto and tool.proto of aiplatform v1beta1 (ThinkingLevel: aiplatform v1). Vertex
# numbers HarmCategory differently from the Gemini API (HARASSMENT is 3 here, 7 there).
_VERTEX: dict[_FieldKey, ProtoEnum] = {
    (GenerationConfig, "response_modalities"): _enum(
        f"{_AP}.GenerationConfig.Modality", *proto.MODALITY, unnumbered=proto.MODALITY_UNNUMBERED
    ),
    (GenerationConfig, "media_resolution"): _enum(
        f"{_AP}.GenerationConfig.MediaResolution", *proto.MEDIA_RESOLUTION
    ),
    (ThinkingConfig, "thinking_level"): _enum(
        "google.cloud.aiplatform.v1.GenerationConfig.ThinkingConfig.ThinkingLevel",
        *proto.THINKING_LEVEL,
        unnumbered=proto.THINKING_LEVEL_UNNUMBERED,
    ),
    (SafetySetting, "category"): _enum(
        f"{_AP}.HarmCategory",
        *proto.VERTEX_HARM_CATEGORY,
        unnumbered=proto.VERTEX_HARM_CATEGORY_UNNUMBERED,
    ),
    (SafetySetting, "threshold"): _enum(
        f"{_AP}.SafetySetting.HarmBlockThreshold", *proto.HARM_BLOCK_THRESHOLD
    ),
    (SafetySetting, "method"): _enum(
        f"{_AP}.SafetySetting.HarmBlockMethod", *proto.HARM_BLOCK_METHOD
    ),
    (ExecutableCode, "language"): _enum(f"{_AP}.ExecutableCode.Language", *proto.LANGUAGE),
    (CodeExecutionResult, "outcome"): _enum(f"{_AP}.CodeExecutionResult.Outcome", *proto.OUTCOME),
    # The Live-only enums: Vertex's LlmBidiService proto is not public, so they take names
    # only (the Gemini API's), under full names guessed from the Gemini API's layout.
    (AutomaticActivityDetection, "start_of_speech_sensitivity"): _names_only(
        f"{_AP}.RealtimeInputConfig.AutomaticActivityDetection.StartSensitivity",
        *proto.START_SENSITIVITY,
    ),
    (AutomaticActivityDetection, "end_of_speech_sensitivity"): _names_only(
        f"{_AP}.RealtimeInputConfig.AutomaticActivityDetection.EndSensitivity",
        *proto.END_SENSITIVITY,
    ),
    (RealtimeInputConfig, "activity_handling"): _names_only(
        f"{_AP}.RealtimeInputConfig.ActivityHandling", *proto.ACTIVITY_HANDLING
    ),
    (RealtimeInputConfig, "turn_coverage"): _names_only(
        f"{_AP}.RealtimeInputConfig.TurnCoverage",
        *proto.TURN_COVERAGE,
        *proto.TURN_COVERAGE_UNNUMBERED,
    ),
    (FunctionDeclaration, "behavior"): _names_only(
        f"{_AP}.FunctionDeclaration.Behavior", *proto.BEHAVIOR
    ),
    (FunctionResponse, "scheduling"): _names_only(
        f"{_AP}.FunctionResponse.Scheduling", *proto.SCHEDULING
    ),
}

_TABLES = {False: MappingProxyType(_GEMINI), True: MappingProxyType(_VERTEX)}


def enum_fields(*, vertex: bool) -> Mapping[_FieldKey, ProtoEnum]:
    """Every enum field of the client Structs: (Struct class, snake_case name) -> enum."""
    return _TABLES[vertex]
