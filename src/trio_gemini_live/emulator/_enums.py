"""The integer values of the enum fields in client messages (protocol.md section 1.6, item 7).

Enums travel as strings, but Google's proto3 JSON parser also accepts their numbers, so
`"responseModalities": [1]` means `["TEXT"]`. `enum_fields` maps each enum-valued field of the
`_wire` client Structs to its numbering; the validator turns numbers into names before the rest
of the emulator sees them, and refuses a number the enum does not define like Google does.

Every table is copied from Google's published proto files, never guessed
(github.com/googleapis/googleapis at f8291d2b89f0017ab078a4c7378069bae5686f6f):

- Gemini API: google/ai/generativelanguage/v1beta/generative_service.proto (GenerationConfig,
  RealtimeInputConfig), content.proto (FunctionDeclaration, FunctionResponse, ExecutableCode,
  CodeExecutionResult) and safety.proto (HarmCategory, SafetySetting).
- Vertex AI: google/cloud/aiplatform/v1beta1/content.proto (GenerationConfig, HarmCategory,
  SafetySetting) and tool.proto (ExecutableCode, CodeExecutionResult);
  google/cloud/aiplatform/v1/content.proto for ThinkingConfig.ThinkingLevel, which v1beta1 lacks.

A field whose numbering is not published has no table, so a number there is still refused
(by the Struct conversion, 1007): `thinkingLevel` and `inputAudioTranscription.mode` on the
Gemini API; on Vertex every Live-only enum (`activityHandling`, `turnCoverage`, the speech
sensitivities, `behavior`, `scheduling`), since Vertex's `LlmBidiService` proto is not public.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import msgspec

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
    """One proto enum: its full name (as Google's errors print it) and its values by number."""

    full_name: str
    names: Mapping[int, str]

    def type_url(self) -> str:
        """`type.googleapis.com/<full name>`, the form Google's 'Invalid value' errors use."""
        return f"type.googleapis.com/{self.full_name}"


def _enum(full_name: str, *names: str) -> ProtoEnum:
    # Every enum used here numbers its values 0, 1, 2, ... in declaration order.
    return ProtoEnum(full_name, MappingProxyType(dict(enumerate(names))))


_GL = "google.ai.generativelanguage.v1beta"
_AP = "google.cloud.aiplatform.v1beta1"

_MODALITY = ("MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO")
_MEDIA_RESOLUTION = (
    "MEDIA_RESOLUTION_UNSPECIFIED",
    "MEDIA_RESOLUTION_LOW",
    "MEDIA_RESOLUTION_MEDIUM",
    "MEDIA_RESOLUTION_HIGH",
)
_THRESHOLD = (
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
)
_LANGUAGE = ("LANGUAGE_UNSPECIFIED", "PYTHON")
_OUTCOME = ("OUTCOME_UNSPECIFIED", "OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED")

_FieldKey = tuple[type[msgspec.Struct], str]

# generative_service.proto, content.proto and safety.proto of generativelanguage v1beta.
_GEMINI: dict[_FieldKey, ProtoEnum] = {
    (GenerationConfig, "response_modalities"): _enum(
        f"{_GL}.GenerationConfig.Modality", *_MODALITY
    ),
    (GenerationConfig, "media_resolution"): _enum(
        f"{_GL}.GenerationConfig.MediaResolution", *_MEDIA_RESOLUTION
    ),
    (AutomaticActivityDetection, "start_of_speech_sensitivity"): _enum(
        f"{_GL}.RealtimeInputConfig.AutomaticActivityDetection.StartSensitivity",
        "START_SENSITIVITY_UNSPECIFIED",
        "START_SENSITIVITY_HIGH",
        "START_SENSITIVITY_LOW",
    ),
    (AutomaticActivityDetection, "end_of_speech_sensitivity"): _enum(
        f"{_GL}.RealtimeInputConfig.AutomaticActivityDetection.EndSensitivity",
        "END_SENSITIVITY_UNSPECIFIED",
        "END_SENSITIVITY_HIGH",
        "END_SENSITIVITY_LOW",
    ),
    (RealtimeInputConfig, "activity_handling"): _enum(
        f"{_GL}.RealtimeInputConfig.ActivityHandling",
        "ACTIVITY_HANDLING_UNSPECIFIED",
        "START_OF_ACTIVITY_INTERRUPTS",
        "NO_INTERRUPTION",
    ),
    # TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO (protocol.md 2.1.3) is not in the published
    # proto yet, so its number is unknown and it is accepted by name only.
    (RealtimeInputConfig, "turn_coverage"): _enum(
        f"{_GL}.RealtimeInputConfig.TurnCoverage",
        "TURN_COVERAGE_UNSPECIFIED",
        "TURN_INCLUDES_ONLY_ACTIVITY",
        "TURN_INCLUDES_ALL_INPUT",
    ),
    (FunctionDeclaration, "behavior"): _enum(
        f"{_GL}.FunctionDeclaration.Behavior", "UNSPECIFIED", "BLOCKING", "NON_BLOCKING"
    ),
    (FunctionResponse, "scheduling"): _enum(
        f"{_GL}.FunctionResponse.Scheduling",
        "SCHEDULING_UNSPECIFIED",
        "SILENT",
        "WHEN_IDLE",
        "INTERRUPT",
    ),
    (SafetySetting, "category"): _enum(
        f"{_GL}.HarmCategory",
        "HARM_CATEGORY_UNSPECIFIED",
        "HARM_CATEGORY_DEROGATORY",
        "HARM_CATEGORY_TOXICITY",
        "HARM_CATEGORY_VIOLENCE",
        "HARM_CATEGORY_SEXUAL",
        "HARM_CATEGORY_MEDICAL",
        "HARM_CATEGORY_DANGEROUS",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
    ),
    (SafetySetting, "threshold"): _enum(f"{_GL}.SafetySetting.HarmBlockThreshold", *_THRESHOLD),
    (ExecutableCode, "language"): _enum(f"{_GL}.ExecutableCode.Language", *_LANGUAGE),
    (CodeExecutionResult, "outcome"): _enum(f"{_GL}.CodeExecutionResult.Outcome", *_OUTCOME),
}

# content.proto and tool.proto of aiplatform v1beta1 (ThinkingLevel: aiplatform v1). Vertex
# numbers HarmCategory differently from the Gemini API (HARASSMENT is 3 here, 7 there).
_VERTEX: dict[_FieldKey, ProtoEnum] = {
    (GenerationConfig, "response_modalities"): _enum(
        f"{_AP}.GenerationConfig.Modality", *_MODALITY
    ),
    (GenerationConfig, "media_resolution"): _enum(
        f"{_AP}.GenerationConfig.MediaResolution", *_MEDIA_RESOLUTION
    ),
    (ThinkingConfig, "thinking_level"): _enum(
        "google.cloud.aiplatform.v1.GenerationConfig.ThinkingConfig.ThinkingLevel",
        "THINKING_LEVEL_UNSPECIFIED",
        "LOW",
        "MEDIUM",
        "HIGH",
        "MINIMAL",
    ),
    (SafetySetting, "category"): _enum(
        f"{_AP}.HarmCategory",
        "HARM_CATEGORY_UNSPECIFIED",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
        "HARM_CATEGORY_JAILBREAK",
    ),
    (SafetySetting, "threshold"): _enum(f"{_AP}.SafetySetting.HarmBlockThreshold", *_THRESHOLD),
    (SafetySetting, "method"): _enum(
        f"{_AP}.SafetySetting.HarmBlockMethod",
        "HARM_BLOCK_METHOD_UNSPECIFIED",
        "SEVERITY",
        "PROBABILITY",
    ),
    (ExecutableCode, "language"): _enum(f"{_AP}.ExecutableCode.Language", *_LANGUAGE),
    (CodeExecutionResult, "outcome"): _enum(f"{_AP}.CodeExecutionResult.Outcome", *_OUTCOME),
}

_TABLES = {False: MappingProxyType(_GEMINI), True: MappingProxyType(_VERTEX)}


def enum_fields(*, vertex: bool) -> Mapping[_FieldKey, ProtoEnum]:
    """The enum fields with a published numbering: (Struct class, snake_case name) -> enum."""
    return _TABLES[vertex]
