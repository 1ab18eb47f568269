"""The names of the enum values in client messages, as Google declares them.

One source of truth for two readers: the client, which names an enum value it does not know
when the server refuses a setup (`_setup_hint`), and the emulator, which numbers these names
to read enum values sent as numbers (`emulator/_enums.py`). Each tuple but the
`*_UNNUMBERED` ones lists its names in declaration order, so a name's index is its proto
number.

Those tuples are copied from github.com/googleapis/googleapis at
f8291d2b89f0017ab078a4c7378069bae5686f6f:
google/ai/generativelanguage/v1beta/{generative_service,content,safety}.proto (Gemini API),
google/cloud/aiplatform/v1beta1/{content,tool}.proto (Vertex AI) and, for
`ThinkingConfig.ThinkingLevel`, which v1beta1 lacks, google/cloud/aiplatform/v1/content.proto.

The `*_UNNUMBERED` tuples hold names those protos lack but Google's servers take: the names
google-genai 3.6.1 declares in `google.genai.types` (`ThinkingLevel.XHIGH`, `Modality.VIDEO`,
the `HARM_CATEGORY_IMAGE_*` categories, `HARM_CATEGORY_JAILBREAK` on the Gemini API) and sends
as they are, and names protocol.md reports. Their numbers are unknown: such a name is known
by name only, and a number is never read as one.
"""

from __future__ import annotations

__all__ = [
    "ACTIVITY_HANDLING",
    "BEHAVIOR",
    "END_SENSITIVITY",
    "GEMINI_HARM_CATEGORY",
    "GEMINI_HARM_CATEGORY_UNNUMBERED",
    "HARM_BLOCK_METHOD",
    "HARM_BLOCK_THRESHOLD",
    "LANGUAGE",
    "MEDIA_RESOLUTION",
    "MODALITY",
    "MODALITY_UNNUMBERED",
    "OUTCOME",
    "SCHEDULING",
    "START_SENSITIVITY",
    "THINKING_LEVEL",
    "THINKING_LEVEL_UNNUMBERED",
    "TRANSCRIPTION_MODE_UNNUMBERED",
    "TURN_COVERAGE",
    "TURN_COVERAGE_UNNUMBERED",
    "VERTEX_HARM_CATEGORY",
    "VERTEX_HARM_CATEGORY_UNNUMBERED",
]

MODALITY = ("MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO")
"""`GenerationConfig.Modality` (`generationConfig.responseModalities`)."""

MODALITY_UNNUMBERED = ("VIDEO",)
"""Modalities known by name only (google-genai 3.6.1's `Modality`); the Live API answers in
AUDIO or TEXT all the same."""

MEDIA_RESOLUTION = (
    "MEDIA_RESOLUTION_UNSPECIFIED",
    "MEDIA_RESOLUTION_LOW",
    "MEDIA_RESOLUTION_MEDIUM",
    "MEDIA_RESOLUTION_HIGH",
)
"""`GenerationConfig.MediaResolution` (`generationConfig.mediaResolution`)."""

THINKING_LEVEL = ("THINKING_LEVEL_UNSPECIFIED", "LOW", "MEDIUM", "HIGH", "MINIMAL")
"""`ThinkingConfig.ThinkingLevel` (`generationConfig.thinkingConfig.thinkingLevel`).

Published by Vertex AI only; the Gemini API takes the same names (protocol.md section 2.1.1).
"""

THINKING_LEVEL_UNNUMBERED = ("XHIGH",)
"""Thinking levels known by name only (google-genai 3.6.1's `ThinkingLevel`)."""

START_SENSITIVITY = (
    "START_SENSITIVITY_UNSPECIFIED",
    "START_SENSITIVITY_HIGH",
    "START_SENSITIVITY_LOW",
)
"""`AutomaticActivityDetection.StartSensitivity` (`startOfSpeechSensitivity`)."""

END_SENSITIVITY = ("END_SENSITIVITY_UNSPECIFIED", "END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW")
"""`AutomaticActivityDetection.EndSensitivity` (`endOfSpeechSensitivity`)."""

ACTIVITY_HANDLING = (
    "ACTIVITY_HANDLING_UNSPECIFIED",
    "START_OF_ACTIVITY_INTERRUPTS",
    "NO_INTERRUPTION",
)
"""`RealtimeInputConfig.ActivityHandling` (`realtimeInputConfig.activityHandling`)."""

TURN_COVERAGE = (
    "TURN_COVERAGE_UNSPECIFIED",
    "TURN_INCLUDES_ONLY_ACTIVITY",
    "TURN_INCLUDES_ALL_INPUT",
)
"""`RealtimeInputConfig.TurnCoverage` (`realtimeInputConfig.turnCoverage`), as numbered."""

TURN_COVERAGE_UNNUMBERED = ("TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",)
"""Turn coverages known by name only (protocol.md section 2.1.3).

Not in the published proto yet, so their numbers are unknown: a number is never read as one.
"""

BEHAVIOR = ("UNSPECIFIED", "BLOCKING", "NON_BLOCKING")
"""`FunctionDeclaration.Behavior` (`tools[].functionDeclarations[].behavior`)."""

SCHEDULING = ("SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT")
"""`FunctionResponse.Scheduling` (`toolResponse.functionResponses[].scheduling`)."""

GEMINI_HARM_CATEGORY = (
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
)
"""`HarmCategory` of the Gemini API (`safetySettings[].category`)."""

VERTEX_HARM_CATEGORY = (
    "HARM_CATEGORY_UNSPECIFIED",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
    "HARM_CATEGORY_JAILBREAK",
)
"""`HarmCategory` of Vertex AI, numbered differently (HARASSMENT is 3 here, 7 on the Gemini API)."""

VERTEX_HARM_CATEGORY_UNNUMBERED = (
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
)
"""Vertex AI harm categories known by name only (google-genai 3.6.1's `HarmCategory`)."""

GEMINI_HARM_CATEGORY_UNNUMBERED = ("HARM_CATEGORY_JAILBREAK", *VERTEX_HARM_CATEGORY_UNNUMBERED)
"""Gemini API harm categories known by name only (google-genai 3.6.1's `HarmCategory`).

google-genai sends these to either backend unchecked. It documents the image ones as not
supported by the Gemini API; that its parser refuses them is nowhere published, so they are
taken as google-genai sends them.
"""

HARM_BLOCK_THRESHOLD = (
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
)
"""`SafetySetting.HarmBlockThreshold` (`safetySettings[].threshold`), the same on both."""

HARM_BLOCK_METHOD = ("HARM_BLOCK_METHOD_UNSPECIFIED", "SEVERITY", "PROBABILITY")
"""`SafetySetting.HarmBlockMethod` (`safetySettings[].method`, Vertex AI only)."""

TRANSCRIPTION_MODE_UNNUMBERED = ("MODE_UNSPECIFIED", "VERBATIM", "SMART")
"""`AudioTranscriptionConfig.mode` (`inputAudioTranscription.mode`), whose proto is not
published: the names of google-genai 3.6.1's `AudioTranscriptionConfigMode`."""

LANGUAGE = ("LANGUAGE_UNSPECIFIED", "PYTHON")
"""`ExecutableCode.Language`."""

OUTCOME = ("OUTCOME_UNSPECIFIED", "OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED")
"""`CodeExecutionResult.Outcome`."""
