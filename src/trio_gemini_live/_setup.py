"""A convenience builder for the `setup` message, for the common voice-agent settings.

The wire `Setup` Struct stays available for anything this builder does not cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ._arguments import describe
from ._errors import ConfigurationError
from ._setup_checks import check_function_name, check_function_names, check_temperature
from ._wire import (
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    Content,
    ContextWindowCompression,
    FunctionDeclaration,
    GenerationConfig,
    Part,
    PrebuiltVoiceConfig,
    RealtimeInputConfig,
    SessionResumptionConfig,
    Setup,
    SlidingWindow,
    SpeechConfig,
    ThinkingConfig,
    Tool,
    VoiceConfig,
)

__all__ = ["function_tool", "live_setup"]


def automatic_activity_detection(setup: Setup) -> bool:
    """Whether the server detects activity itself (the default), refusing activity signals."""
    config = setup.realtime_input_config
    detection = config.automatic_activity_detection if config is not None else None
    return not (detection is not None and detection.disabled)


def function_tool(
    name: str,
    description: str = "",
    parameters: dict[str, Any] | None = None,
    *,
    non_blocking: bool = False,
) -> FunctionDeclaration:
    """Declare a function the model may call (`parameters` is an OpenAPI-subset schema).

    Raises:
        ConfigurationError: `name` breaks the Live API's rule for function names: it must
            start with a letter or an underscore, hold only a-z, A-Z, 0-9, underscores,
            dots, colons and dashes, and be at most 64 characters long (`"get_weather"`
            and `"weather.get"` pass, `"my func!"` does not). The server would close the
            session with 1007.
    """
    return FunctionDeclaration(
        name=check_function_name(name),
        description=description or None,
        parameters=parameters,
        behavior="NON_BLOCKING" if non_blocking else None,
    )


def live_setup(
    model: str,
    *,
    modality: Literal["AUDIO", "TEXT"] | None = "AUDIO",
    voice: str | None = None,
    language: str | None = None,
    system_instruction: str | None = None,
    functions: Sequence[FunctionDeclaration] = (),
    tools: Sequence[Tool] = (),
    temperature: float | None = None,
    thinking_budget: int | None = None,
    input_transcription: bool = False,
    output_transcription: bool = False,
    automatic_vad: bool = True,
    silence_duration_ms: int | None = None,
    resumption: bool = True,
    resumption_handle: str | None = None,
    transparent_resumption: bool | None = None,
    compression_trigger_tokens: int | None = None,
) -> Setup:
    """Build a `Setup` for the usual voice-agent options.

    Session resumption is on by default (the server then sends resumption handles), and
    `responseModalities`/`speechConfig` go inside `generationConfig` where the API wants
    them, with transcription settings at setup level.

    Args:
        model: the model name, with or without `models/`.
        modality: the answer's modality, `"AUDIO"` (spoken) or `"TEXT"`; None leaves it to
            the server.
        voice: a prebuilt voice name (such as `"Kore"`); spoken answers only.
        language: the speech's BCP-47 language code (such as `"en-US"`).
        system_instruction: the system instruction, as one text part.
        functions: function declarations the model may call (see `function_tool`).
        tools: other tools (Google Search, code execution), as `Tool` Structs.
        temperature: sampling temperature, 0.0 to 2.0.
        thinking_budget: thinking tokens (0 turns thinking off, -1 lets the model decide).
        input_transcription: transcribe the user's speech (`InputTranscription` events).
        output_transcription: transcribe the model's speech (`OutputTranscription` events).
        automatic_vad: the server detects when the user speaks; False: the application
            sends `activity_start` / `activity_end`.
        silence_duration_ms: the silence, in milliseconds, that ends the user's turn.
        resumption: ask for session resumption handles (needed to survive a reconnect).
        resumption_handle: resume the session this handle names.
        transparent_resumption: ask for the index of the last message each handle covers
            (Vertex only).
        compression_trigger_tokens: turn on context window compression (a sliding window)
            once the context holds this many tokens; None: no compression. Audio and
            video sessions without compression are limited to 2 minutes, audio-only ones
            to 15.

    Raises:
        ConfigurationError: a value the server would refuse (an unknown modality, a voice
            for text answers, a temperature outside 0.0 to 2.0, a negative duration or
            token count, a single tool where a list belongs, two functions of the same
            name across `functions` and `tools`).
    """
    if modality not in (None, "AUDIO", "TEXT"):
        raise ConfigurationError(f"modality must be 'AUDIO' or 'TEXT', got {modality!r}")
    if silence_duration_ms is not None and not _count(silence_duration_ms, 0):
        raise ConfigurationError(
            f"silence_duration_ms must be an int >= 0, not {describe(silence_duration_ms)}"
        )
    if compression_trigger_tokens is not None and not _count(compression_trigger_tokens, 1):
        # Refused rather than dropped: 0 used to leave compression off without a word.
        raise ConfigurationError(
            "compression_trigger_tokens must be a positive int (None: no compression), "
            f"not {describe(compression_trigger_tokens)}"
        )
    check_temperature(temperature)
    if voice and modality == "TEXT":
        # Said here rather than by the server, which closes with 1007 "Cannot extract
        # voices from a non-audio request" once the connection is made.
        raise ConfigurationError(f"voice={voice!r} needs spoken answers; modality is 'TEXT'")
    speech = None
    if voice or language:
        speech = SpeechConfig(
            voice_config=VoiceConfig(prebuilt_voice_config=PrebuiltVoiceConfig(voice_name=voice))
            if voice
            else None,
            language_code=language,
        )
    generation = GenerationConfig(
        response_modalities=[modality] if modality else None,
        speech_config=speech,
        temperature=temperature,
        thinking_config=ThinkingConfig(thinking_budget=thinking_budget)
        if thinking_budget is not None
        else None,
    )
    all_tools = list(_sequence_of(tools, Tool, "tools"))
    functions = _sequence_of(functions, FunctionDeclaration, "functions")
    if functions:
        all_tools.append(Tool(function_declarations=list(functions)))
    check_function_names(all_tools, "setup.tools")
    vad = None
    if not automatic_vad or silence_duration_ms is not None:
        vad = RealtimeInputConfig(
            automatic_activity_detection=AutomaticActivityDetection(
                disabled=True if not automatic_vad else None,
                silence_duration_ms=silence_duration_ms,
            )
        )
    return Setup(
        model=model,
        generation_config=generation if generation != GenerationConfig() else None,
        system_instruction=Content(parts=[Part(text=system_instruction)], role="user")
        if system_instruction
        else None,
        tools=all_tools or None,
        realtime_input_config=vad,
        session_resumption=SessionResumptionConfig(
            # False is the default: left out, as the Gemini API has no such field and
            # refuses it by name, whatever its value (1007 "Unknown name").
            handle=resumption_handle,
            transparent=transparent_resumption or None,
        )
        if resumption
        else None,
        context_window_compression=ContextWindowCompression(
            trigger_tokens=compression_trigger_tokens, sliding_window=SlidingWindow()
        )
        if compression_trigger_tokens is not None
        else None,
        input_audio_transcription=AudioTranscriptionConfig() if input_transcription else None,
        output_audio_transcription=AudioTranscriptionConfig() if output_transcription else None,
    )


def _count(value: object, least: int) -> bool:
    """Whether `value` is an `int` (not a `bool`) of at least `least`."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _sequence_of(value: object, kind: type, name: str) -> list[Any]:
    """`value` as a list, if it is a sequence (of `kind`, or of its JSON objects).

    A single `kind` given where a sequence belongs (`functions=function_tool(...)`) would
    otherwise fail as "object is not iterable", and a string would become characters.
    """
    if isinstance(value, kind):
        raise ConfigurationError(
            f"{name} must be a list of {kind.__name__}; wrap the one given in [...]"
        )
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes, bytearray)):
        raise ConfigurationError(
            f"{name} must be a list of {kind.__name__}, not {type(value).__name__}"
        )
    return list(value)  # pyright: ignore[reportUnknownArgumentType]
