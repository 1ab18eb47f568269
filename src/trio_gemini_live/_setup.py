"""A convenience builder for the `setup` message, for the common voice-agent settings.

The wire `Setup` Struct stays available for anything this builder does not cover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import msgspec

from ._arguments import TOO_DEEP, check_switch, describe, is_count
from ._enum_names import declared_name, with_declared_names
from ._errors import ConfigurationError
from ._proto_enums import MODALITY
from ._proto_fields import check_integer_ranges
from ._setup_checks import (
    DETECTION_TUNING,
    GENERATION_RANGES,
    check_function_name,
    check_function_names,
    check_temperature,
    out_of_range,
)
from ._setup_extra import check_extra
from ._wire import (
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    Content,
    ContextWindowCompression,
    FunctionDeclaration,
    GenerationConfig,
    Part,
    PrebuiltVoiceConfig,
    Proactivity,
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
            session with 1007. Or `non_blocking` is not a `bool`.
    """
    check_switch(non_blocking, "non_blocking")
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
    system_instruction: str | Content | None = None,
    functions: Sequence[FunctionDeclaration] = (),
    tools: Sequence[Tool] = (),
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    max_output_tokens: int | None = None,
    seed: int | None = None,
    media_resolution: str | None = None,
    thinking_budget: int | None = None,
    thinking_level: str | None = None,
    include_thoughts: bool | None = None,
    enable_affective_dialog: bool | None = None,
    proactive_audio: bool | None = None,
    input_transcription: bool = False,
    output_transcription: bool = False,
    automatic_vad: bool = True,
    silence_duration_ms: int | None = None,
    prefix_padding_ms: int | None = None,
    start_of_speech_sensitivity: str | None = None,
    end_of_speech_sensitivity: str | None = None,
    activity_handling: str | None = None,
    turn_coverage: str | None = None,
    resumption: bool = True,
    resumption_handle: str | None = None,
    transparent_resumption: bool | None = None,
    compression_trigger_tokens: int | None = None,
    compression_target_tokens: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Setup:
    """Build a `Setup` for the usual voice-agent options.

    Session resumption is on by default (the server then sends resumption handles), and
    `responseModalities`/`speechConfig` go inside `generationConfig` where the API wants
    them, with transcription settings at setup level. An option left at None is not sent
    (the server's default applies).

    Enum-valued options take the wire's enum names (listed with each), in any case: a
    name given in another (`"no_interruption"`) is sent as declared (`"NO_INTERRUPTION"`),
    as google-genai sends it. A name this release does not know is sent as given: Google
    adds values, and the server judges; if it refuses the setup (1007), the error names
    the unknown value.

    Args:
        model: the model name, with or without `models/`.
        modality: the answer's modality, `"AUDIO"` (spoken) or `"TEXT"`; None leaves it to
            the server on the Gemini API (on Vertex AI the session asks for `"AUDIO"`, as
            google-genai does).
        voice: a prebuilt voice name (such as `"Kore"`); spoken answers only.
        language: the speech's BCP-47 language code (such as `"en-US"`).
        system_instruction: the system instruction: a `str` (one text part of a user
            turn) or a `Content` (sent as given).
        functions: function declarations the model may call (see `function_tool`).
        tools: other tools (Google Search, code execution), as `Tool` Structs.
        temperature: sampling temperature, 0.0 to 2.0 (`generationConfig.temperature`).
        top_p: nucleus sampling's probability mass, 0.0 to 1.0 (`topP`).
        top_k: sample among this many most likely tokens, at least 1 (`topK`).
        max_output_tokens: the most tokens an answer may have, at least 1
            (`maxOutputTokens`).
        seed: the sampling seed (`generationConfig.seed`).
        media_resolution: the resolution video and images are read at
            (`generationConfig.mediaResolution`): `"MEDIA_RESOLUTION_LOW"`,
            `"MEDIA_RESOLUTION_MEDIUM"` or `"MEDIA_RESOLUTION_HIGH"`.
        thinking_budget: thinking tokens (0 turns thinking off, -1 lets the model decide;
            Gemini 2.5 models); below -1 is refused.
        thinking_level: how much the model thinks (Gemini 3 models): `"MINIMAL"`, `"LOW"`,
            `"MEDIUM"`, `"HIGH"` or `"XHIGH"` (`thinkingConfig.thinkingLevel`).
        include_thoughts: send the model's thought summaries (`Part.thought` parts;
            `thinkingConfig.includeThoughts`).
        enable_affective_dialog: let the model adapt its answers to the user's tone
            (native-audio models; `generationConfig.enableAffectiveDialog`).
        proactive_audio: let the model decide not to answer what is not meant for it
            (native-audio models; `proactivity.proactiveAudio`).
        input_transcription: transcribe the user's speech (`InputTranscription` events).
        output_transcription: transcribe the model's speech (`OutputTranscription` events).
        automatic_vad: the server detects when the user speaks; False: the application
            sends `activity_start` / `activity_end`. The four options below tune the
            server's detection, so each needs it on (with False they are refused).
        silence_duration_ms: the silence, in milliseconds, that ends the user's turn.
        prefix_padding_ms: the speech, in milliseconds, needed before the start of speech
            is taken as such (`automaticActivityDetection.prefixPaddingMs`).
        start_of_speech_sensitivity: how readily speech is taken to start:
            `"START_SENSITIVITY_HIGH"` or `"START_SENSITIVITY_LOW"`.
        end_of_speech_sensitivity: how readily speech is taken to end:
            `"END_SENSITIVITY_HIGH"` or `"END_SENSITIVITY_LOW"`.
        activity_handling: what the user's speech does to the model's answer:
            `"START_OF_ACTIVITY_INTERRUPTS"` (the default) or `"NO_INTERRUPTION"`
            (`realtimeInputConfig.activityHandling`).
        turn_coverage: which input a user turn holds: `"TURN_INCLUDES_ONLY_ACTIVITY"` or
            `"TURN_INCLUDES_ALL_INPUT"` (`realtimeInputConfig.turnCoverage`).
        resumption: ask for session resumption handles (needed to survive a reconnect).
        resumption_handle: resume the session this handle names (not empty; needs
            `resumption=True`).
        transparent_resumption: ask for the index of the last message each handle covers
            (Vertex AI only: `open_session` refuses it for a Gemini API endpoint; True
            needs `resumption=True`).
        compression_trigger_tokens: turn on context window compression (a sliding window)
            once the context holds this many tokens. Audio and video sessions without
            compression are limited to 2 minutes, audio-only ones to 15.
        compression_target_tokens: the tokens a compression keeps (`slidingWindow.
            targetTokens`), below `compression_trigger_tokens` if both are given (the
            server's default is half of it); turns compression on too. With neither
            compression option: no compression.
        extra: setup fields this library does not model, by their camelCase wire names,
            merged into the setup each connection sends (`Setup.extra`): an object merges
            into the modelled object of the same name, a list's items follow the modelled
            ones (`{"tools": [{"retrieval": {...}}]}`), and a modelled field of another
            kind is refused (set it with its option). Sent unchecked: the server judges.

    Raises:
        ConfigurationError: a value the server would refuse (an unknown modality, a voice
            for text answers, a temperature outside 0.0 to 2.0, a `top_p` outside 0.0 to
            1.0, a `top_k` or `max_output_tokens` below 1, a negative duration, a token
            count below 1, a compression target not below its trigger, a
            `thinking_budget` below -1, a single tool where a list belongs, two functions
            of the same name across `functions` and `tools`), options that would be
            dropped or have no effect (a `resumption_handle` or
            `transparent_resumption=True` with `resumption=False`, an empty
            `resumption_handle`, detection tuning with `automatic_vad=False`), a switch
            that is not a `bool`, or an `extra` that is not a mapping of JSON values or
            would replace a modelled value (its path is named). Another value of the
            wrong type is refused when the session opens, its JSON path named.
    """
    modality = declared_name(modality, MODALITY)  # `"audio"` is sent as `"AUDIO"`
    if modality not in (None, "AUDIO", "TEXT"):
        raise ConfigurationError(f"modality must be 'AUDIO' or 'TEXT', got {modality!r}")
    check_switch(input_transcription, "input_transcription")
    check_switch(output_transcription, "output_transcription")
    check_switch(automatic_vad, "automatic_vad")
    check_switch(resumption, "resumption")
    _check_resumption(resumption, resumption_handle, transparent_resumption)
    for name, value, least in (
        ("silence_duration_ms", silence_duration_ms, 0),
        ("prefix_padding_ms", prefix_padding_ms, 0),
    ):
        if value is not None and not is_count(value, least):
            raise ConfigurationError(f"{name} must be an int >= 0, not {describe(value)}")
    for name, value in (
        ("compression_trigger_tokens", compression_trigger_tokens),
        ("compression_target_tokens", compression_target_tokens),
    ):
        if value is not None and not is_count(value, 1):
            # Refused rather than dropped: 0 used to leave compression off without a word.
            raise ConfigurationError(
                f"{name} must be a positive int (None: no compression), not {describe(value)}"
            )
    if (
        compression_trigger_tokens is not None
        and compression_target_tokens is not None
        and compression_target_tokens >= compression_trigger_tokens
    ):
        # Google: the target "should be < trigger_tokens"; a window cut to it would be
        # due for another cut at once.
        raise ConfigurationError(
            f"compression_target_tokens ({compression_target_tokens}) must be below "
            f"compression_trigger_tokens ({compression_trigger_tokens})"
        )
    budget = thinking_budget  # a wrong type is named by `check_setup`, as for the others
    if isinstance(budget, int) and not isinstance(budget, bool) and budget < -1:
        raise ConfigurationError(
            f"thinking_budget must be -1 (the model decides), 0 (off) or a positive token "
            f"count, not {budget}"
        )
    check_temperature(temperature)
    sampling: tuple[tuple[str, float | None], ...] = (
        ("top_p", top_p),
        ("top_k", top_k),
        ("max_output_tokens", max_output_tokens),
    )
    for setting, number in sampling:
        low, high, says = GENERATION_RANGES[setting]
        if out_of_range(number, low, high):
            raise ConfigurationError(f"{setting} must be {says}, not {number!r}")
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
    thinking = ThinkingConfig(
        thinking_budget=thinking_budget,
        thinking_level=thinking_level,
        include_thoughts=include_thoughts,
    )
    generation = GenerationConfig(
        response_modalities=[modality] if modality else None,
        speech_config=speech,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_output_tokens=max_output_tokens,
        seed=seed,
        media_resolution=media_resolution,
        thinking_config=thinking if thinking != ThinkingConfig() else None,
        enable_affective_dialog=enable_affective_dialog,
    )
    all_tools = list(_sequence_of(tools, Tool, "tools"))
    functions = _sequence_of(functions, FunctionDeclaration, "functions")
    if functions:
        all_tools.append(Tool(function_declarations=list(functions)))
    check_function_names(all_tools, "setup.tools")
    detection = AutomaticActivityDetection(
        disabled=True if not automatic_vad else None,
        silence_duration_ms=silence_duration_ms,
        prefix_padding_ms=prefix_padding_ms,
        start_of_speech_sensitivity=start_of_speech_sensitivity,
        end_of_speech_sensitivity=end_of_speech_sensitivity,
    )
    if not automatic_vad:
        tuned = [name for name, _ in DETECTION_TUNING if getattr(detection, name) is not None]
        if tuned:
            # Sent under `disabled: true`, they would be taken without a word and do nothing.
            need, they = ("need", "they tune") if len(tuned) > 1 else ("needs", "it tunes")
            raise ConfigurationError(
                f"{', '.join(tuned)} {need} automatic_vad=True: {they} the server's activity "
                "detection, and with it off the application marks the turns "
                "(activity_start / activity_end)"
            )
    realtime = RealtimeInputConfig(
        automatic_activity_detection=detection
        if detection != AutomaticActivityDetection()
        else None,
        activity_handling=activity_handling,
        turn_coverage=turn_coverage,
    )
    compression = None
    if compression_trigger_tokens is not None or compression_target_tokens is not None:
        compression = ContextWindowCompression(
            trigger_tokens=compression_trigger_tokens,
            sliding_window=SlidingWindow(target_tokens=compression_target_tokens),
        )
    setup = Setup(
        model=model,
        generation_config=generation if generation != GenerationConfig() else None,
        system_instruction=_instruction(system_instruction),
        tools=all_tools or None,
        realtime_input_config=realtime if realtime != RealtimeInputConfig() else None,
        session_resumption=SessionResumptionConfig(
            # False is the default: left out, as the Gemini API has no such field and
            # refuses it by name, whatever its value (1007 "Unknown name").
            handle=resumption_handle,
            transparent=transparent_resumption or None,
        )
        if resumption
        else None,
        context_window_compression=compression,
        input_audio_transcription=AudioTranscriptionConfig() if input_transcription else None,
        output_audio_transcription=AudioTranscriptionConfig() if output_transcription else None,
        proactivity=Proactivity(proactive_audio=proactive_audio)
        if proactive_audio is not None
        else None,
        extra=_extra(extra),
    )
    check_extra(setup)  # now rather than when the session opens: `extra` is live_setup's
    check_integer_ranges(setup, "setup")  # the counts are live_setup's too
    return with_declared_names(setup)  # the Setup shows the enum names as they are sent


def _check_resumption(resumption: bool, handle: object, transparent: object) -> None:
    """Refuse resumption settings that would be dropped: the session would start afresh."""
    if transparent is not None:
        check_switch(transparent, "transparent_resumption")
    if handle == "":
        # Every empty handle counts as none (the server's too): it would resume nothing.
        raise ConfigurationError(
            "resumption_handle is empty: give a handle the server sent "
            "(LiveSession.resumption_handle), or None for a new session"
        )
    if resumption:
        return
    if handle is not None:
        raise ConfigurationError(
            "resumption_handle needs resumption=True: with resumption off it is not sent, "
            "and the session would start afresh, its conversation lost"
        )
    if transparent:
        raise ConfigurationError(
            "transparent_resumption=True needs resumption=True: with resumption off it is not sent"
        )


def _instruction(value: str | Content | None) -> Content | None:
    """`live_setup`'s `system_instruction` as a `Content` (a `str` is one user turn).

    Anything else is taken as text too: a wrong type is named, with its JSON path, when
    the session opens (`check_setup`), as for every other option.
    """
    if isinstance(value, Content):
        return value
    return Content(parts=[Part(text=value)], role="user") if value else None


def _extra(value: object) -> dict[str, Any] | None:
    """`live_setup`'s `extra` as a JSON object of its own.

    A copy: later changes to the mapping given do not reach the setup.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            # Its type only: a list of pairs, say, may hold a credential under any name.
            f"extra must be a mapping of camelCase setup fields, not a {type(value).__name__}"
        )
    try:
        copied = msgspec.to_builtins(dict(cast("Mapping[str, Any]", value)))
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        raise ConfigurationError(f"extra holds a value JSON cannot carry: {exc}") from None
    except RecursionError:
        raise ConfigurationError(f"extra {TOO_DEEP}") from None
    return cast("dict[str, Any]", copied) or None


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
