"""msgspec Structs that mirror the Live API JSON (protocol.md sections 2 and 3).

Gemini tags a message by which key is present, so each envelope is one Struct whose fields
are all optional. Client Structs are encoded (canonical camelCase, defaults omitted); server
Structs are decoded leniently: unknown fields are ignored, absent booleans read as false, and
a `null` field reads as the field left out (the codec's slow path drops it, `_null_fields`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._setup_secrets import redacted_repr

__all__ = [
    "ActivityEnd",
    "ActivityStart",
    "AudioTranscriptionConfig",
    "AutomaticActivityDetection",
    "Blob",
    "ClientContent",
    "ClientMessage",
    "CodeExecutionResult",
    "Content",
    "ContextUpdate",
    "ContextWindowCompression",
    "ExecutableCode",
    "FileData",
    "FunctionCallPart",
    "FunctionDeclaration",
    "FunctionResponse",
    "FunctionResponseBlob",
    "FunctionResponseFileData",
    "FunctionResponsePart",
    "GenerationConfig",
    "GoAwayMessage",
    "HistoryConfig",
    "LanguageHints",
    "ModalityTokenCount",
    "MultiSpeakerVoiceConfig",
    "Part",
    "PartialArg",
    "PrebuiltVoiceConfig",
    "Proactivity",
    "RealtimeInput",
    "RealtimeInputConfig",
    "ReplicatedVoiceConfig",
    "SafetySetting",
    "ServerContent",
    "ServerMessage",
    "SessionResumptionConfig",
    "SessionResumptionUpdateMessage",
    "Setup",
    "SetupCompleteMessage",
    "SlidingWindow",
    "SpeakerVoiceConfig",
    "SpeechConfig",
    "ThinkingConfig",
    "Tool",
    "ToolCallCancellationMessage",
    "ToolCallMessage",
    "ToolCallPart",
    "ToolResponse",
    "ToolResponsePart",
    "ToolsUpdate",
    "Transcription",
    "TranslationConfig",
    "UsageMetadata",
    "VoiceActivityDetectionSignalMessage",
    "VoiceActivityMessage",
    "VoiceConfig",
    "VoiceConsentSignature",
    "WordInfo",
]


class WireStruct(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True, gc=False):
    """Base of every wire Struct: camelCase on the wire, proto3-style omission of defaults.

    `gc=False`: wire messages are trees of JSON values and never form reference cycles, so
    the garbage collector need not track the Structs decoded for every frame.
    """


# --- shared content types -------------------------------------------------------------------


class Blob(WireStruct):
    """Inline bytes with a MIME type (`inlineData`, `realtimeInput.audio`/`video`).

    `data` is base64 on the wire; msgspec decodes it straight into `bytes` and encodes any
    bytes-like object (bytes, bytearray, memoryview) without an intermediate copy.
    """

    data: bytes = b""
    mime_type: str = ""


class FileData(WireStruct):
    """A reference to a file by URI (`Part.fileData`); `displayName` is Vertex AI's only."""

    file_uri: str = ""
    mime_type: str | None = None
    display_name: str | None = None


class PartialArg(WireStruct):
    """One piece of a function call's streamed arguments (`FunctionCall.partialArgs[]`).

    `json_path` (RFC 9535, such as `"$.location"` or `"$.stops[0].city"`) names the
    argument; the value is one of `string_value`, `number_value`, `bool_value` or
    `null_value` (the protobuf `NullValue`: JSON `null` or `"NULL_VALUE"`, so its absence
    is `UNSET`). `will_continue` says a string goes on in the next piece for the same path.
    Vertex AI only (`FunctionCallingConfig.streamFunctionCallArguments`).
    """

    json_path: str = ""
    string_value: str | None = None
    number_value: int | float | None = None
    bool_value: bool | None = None
    null_value: str | msgspec.UnsetType | None = msgspec.UNSET
    will_continue: bool | None = None


class FunctionCallPart(WireStruct):
    """A function call: in `toolCall.functionCalls[]` or as a `Part.functionCall`.

    A call whose arguments are streamed comes in pieces: the first names it (`name`,
    `id`) with `will_continue`, the next carry `partial_args` (and `will_continue` but
    the last); `LiveProtocol` assembles them into one `FunctionCall` event.
    """

    name: str = ""
    args: dict[str, Any] | None = None
    id: str | None = None
    partial_args: list[PartialArg] | None = None
    will_continue: bool | None = None


class FunctionResponseBlob(WireStruct):
    """Inline media of a function response (`functionResponses[].parts[].inlineData`).

    Its own Struct rather than `Blob`: it has a `displayName`, which `Blob` (the audio of
    every frame) does not need.
    """

    mime_type: str = ""
    data: bytes = b""
    display_name: str | None = None


class FunctionResponseFileData(WireStruct):
    """A file of a function response, by URI (`functionResponses[].parts[].fileData`)."""

    file_uri: str = ""
    mime_type: str | None = None
    display_name: str | None = None


class FunctionResponsePart(WireStruct):
    """One part of a multimodal function response (`functionResponses[].parts[]`).

    Media the function returns (an image it rendered, a document it fetched), which the
    JSON `response` cannot carry; set one of `inline_data` or `file_data` (the proto's
    `data` oneof: the server refuses a part with both, and the client refuses to send one).
    """

    inline_data: FunctionResponseBlob | None = None
    file_data: FunctionResponseFileData | None = None


class FunctionResponse(WireStruct):
    """One entry of `toolResponse.functionResponses[]` (protocol.md section 2.4).

    `parts` adds media to the JSON `response` (a multimodal function response).
    """

    id: str | None = None
    name: str = ""
    response: dict[str, Any] | None = None
    will_continue: bool | None = None
    scheduling: str | None = None
    parts: list[FunctionResponsePart] | None = None


class ExecutableCode(WireStruct):
    """Code the model wrote (`Part.executableCode`); `id` pairs it with its result."""

    language: str = ""
    code: str = ""
    id: str | None = None


class CodeExecutionResult(WireStruct):
    """The result of running `ExecutableCode` (`Part.codeExecutionResult`).

    `id` is that of the `ExecutableCode` it is the result of, when the server gives one.
    """

    outcome: str = ""
    output: str = ""
    id: str | None = None


class WordInfo(WireStruct):
    """One entry of `Transcription.words` (with `wordTimestamp` in the transcription setup).

    The offsets are Durations as sent (`"1.250s"`), from the start of the audio.
    """

    word: str = ""
    start_offset: str | None = None
    end_offset: str | None = None


class Transcription(WireStruct):
    """`inputTranscription` / `outputTranscription` / `interimInputTranscription`.

    A chunk of transcript text (an audio part's `audioTranscription` too). `speakerLabel`
    (with `diarization`), `words` (with `wordTimestamp`) and the chunk's
    `startOffset`/`endOffset` (Durations as sent, from the start of the audio) come when
    the transcription setup asks for them.
    """

    text: str = ""
    finished: bool = False
    language_code: str | None = None
    speaker_label: str | None = None
    words: list[WordInfo] | None = None
    start_offset: str | None = None
    end_offset: str | None = None


class ToolCallPart(WireStruct):
    """`Part.toolCall`: a server-side tool the model invoked (Google Search, say).

    The server runs it, not the client (`ToolConfig.includeServerSideToolInvocations`):
    nothing to answer. `tool_type` names the tool (`"GOOGLE_SEARCH_WEB"`), `args` are its
    arguments as sent; `id` pairs it with its `ToolResponsePart`. Gemini API only.
    """

    id: str | None = None
    tool_type: str | None = None
    args: dict[str, Any] | None = None


class ToolResponsePart(WireStruct):
    """`Part.toolResponse`: the result of a server-side tool's `ToolCallPart`, as sent.

    `id` and `tool_type` are those of the call; `response` is the tool's output as sent.
    """

    id: str | None = None
    tool_type: str | None = None
    response: dict[str, Any] | None = None


class Part(WireStruct):
    """One part of a `Content`: text, inline or file data, code, a function call/response.

    Set one of these (the proto's `data` oneof: the server refuses a part with two, and
    the client refuses to send one); `tool_call` and `tool_response` are a server-side
    tool's invocation and result (Gemini API only). A part may also carry `thought` and a
    `thought_signature` (alone, or with its content), and the server's audio parts an
    `audio_transcription` (the text of that audio).
    """

    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCallPart | None = None
    function_response: FunctionResponse | None = None
    executable_code: ExecutableCode | None = None
    code_execution_result: CodeExecutionResult | None = None
    tool_call: ToolCallPart | None = None
    tool_response: ToolResponsePart | None = None
    thought: bool | None = None
    thought_signature: bytes | None = None
    audio_transcription: Transcription | None = None


class Content(WireStruct):
    """A turn: `{parts: [...], role}`; role is `"user"` or `"model"` (omitted by the server)."""

    parts: list[Part] = []
    role: str | None = None


# --- setup (protocol.md section 2.1) ---------------------------------------------------------


class PrebuiltVoiceConfig(WireStruct):
    """`voiceConfig.prebuiltVoiceConfig`: a named prebuilt voice such as `Kore`."""

    voice_name: str = ""


class VoiceConsentSignature(WireStruct):
    """`{signature}`: the server's proof that a replicated voice's owner consented.

    Sent in `setupComplete.voiceConsentSignature` (`SessionCreated.voice_consent_signature`)
    after a setup that gave a replicated voice with its `consentAudio`; a later setup
    passes it back in `ReplicatedVoiceConfig.voice_consent_signature` instead of the
    consent audio.
    """

    signature: str | None = None


class ReplicatedVoiceConfig(WireStruct):
    """`voiceConfig.replicatedVoiceConfig`: a voice cloned from a sample of it.

    `voice_sample_audio` is the sample (`mime_type` says its format), `consent_audio` the
    recorded consent of the voice's owner, or `voice_consent_signature` the signature an
    earlier session returned for it. Google-genai sends the consent fields to the Gemini
    API only (it refuses them for Vertex AI).
    """

    mime_type: str | None = None
    voice_sample_audio: bytes | None = None
    consent_audio: bytes | None = None
    voice_consent_signature: VoiceConsentSignature | None = None


class VoiceConfig(WireStruct):
    """`speechConfig.voiceConfig`: a prebuilt voice, a replicated one, or `voice` by name."""

    replicated_voice_config: ReplicatedVoiceConfig | None = None
    prebuilt_voice_config: PrebuiltVoiceConfig | None = None
    voice: str | None = None


class SpeakerVoiceConfig(WireStruct):
    """One speaker of a multi-speaker voice configuration."""

    speaker: str = ""
    voice_config: VoiceConfig | None = None


class MultiSpeakerVoiceConfig(WireStruct):
    """`speechConfig.multiSpeakerVoiceConfig`."""

    speaker_voice_configs: list[SpeakerVoiceConfig] = []


class SpeechConfig(WireStruct):
    """`generationConfig.speechConfig`: voice and language of the model's speech."""

    voice_config: VoiceConfig | None = None
    language_code: str | None = None
    multi_speaker_voice_config: MultiSpeakerVoiceConfig | None = None


class ThinkingConfig(WireStruct):
    """`generationConfig.thinkingConfig` (`thinkingBudget` on 2.5, `thinkingLevel` on 3.1)."""

    thinking_budget: int | None = None
    include_thoughts: bool | None = None
    thinking_level: str | None = None


class TranslationConfig(WireStruct):
    """`generationConfig.translationConfig`, for translation models."""

    target_language_code: str = ""
    echo_target_language: bool | None = None


class GenerationConfig(WireStruct):
    """`setup.generationConfig` (protocol.md section 2.1.1)."""

    response_modalities: list[str] | None = None
    speech_config: SpeechConfig | None = None
    thinking_config: ThinkingConfig | None = None
    enable_affective_dialog: bool | None = None
    media_resolution: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_output_tokens: int | None = None
    seed: int | None = None
    candidate_count: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    translation_config: TranslationConfig | None = None


class FunctionDeclaration(WireStruct):
    """A callable tool the model may ask for (protocol.md section 2.1.4)."""

    name: str = ""
    description: str | None = None
    parameters: dict[str, Any] | None = None
    parameters_json_schema: Any = None
    response: dict[str, Any] | None = None
    response_json_schema: Any = None
    behavior: str | None = None


class Tool(WireStruct):
    """One entry of `setup.tools`; normally carries one kind of tool.

    Every kind but `function_declarations` is its JSON object as sent (camelCase keys),
    `{}` for one without settings. `retrieval`, `enterprise_web_search`,
    `parallel_ai_search` and `exa_ai_search` are Vertex AI's only (google-genai refuses
    them for the Gemini API), `file_search` the Gemini API's only. A key a tool carries
    (`parallelAiSearch.apiKey`, an MCP server's headers) is sent, but its `repr` and
    `SessionUpdated.setup` show it as `REDACTED`.
    """

    function_declarations: list[FunctionDeclaration] | None = None
    google_search: dict[str, Any] | None = None
    code_execution: dict[str, Any] | None = None
    url_context: dict[str, Any] | None = None
    google_maps: dict[str, Any] | None = None
    computer_use: dict[str, Any] | None = None
    file_search: dict[str, Any] | None = None
    retrieval: dict[str, Any] | None = None
    enterprise_web_search: dict[str, Any] | None = None
    google_search_retrieval: dict[str, Any] | None = None
    parallel_ai_search: dict[str, Any] | None = None
    mcp_servers: list[dict[str, Any]] | None = None
    exa_ai_search: dict[str, Any] | None = None

    def __repr__(self) -> str:
        # A tool's credential (`parallelAiSearch.apiKey`, MCP headers) stays out of logs.
        return redacted_repr(self)


class AutomaticActivityDetection(WireStruct):
    """`realtimeInputConfig.automaticActivityDetection`: the server's VAD settings."""

    disabled: bool | None = None
    start_of_speech_sensitivity: str | None = None
    end_of_speech_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


class RealtimeInputConfig(WireStruct):
    """`setup.realtimeInputConfig` (protocol.md section 2.1.3)."""

    automatic_activity_detection: AutomaticActivityDetection | None = None
    activity_handling: str | None = None
    turn_coverage: str | None = None
    interim_transcript_timestamp_enabled: bool | None = None


class SessionResumptionConfig(WireStruct):
    """`setup.sessionResumption`; present (even empty) asks for resumption updates."""

    handle: str | None = None
    transparent: bool | None = None


class SlidingWindow(WireStruct):
    """`contextWindowCompression.slidingWindow`."""

    target_tokens: int | None = None


class ContextWindowCompression(WireStruct):
    """`setup.contextWindowCompression`: lifts the 15 min / 2 min session limits."""

    trigger_tokens: int | None = None
    sliding_window: SlidingWindow | None = None


class LanguageHints(WireStruct):
    """`AudioTranscriptionConfig.languageHints`: languages the speech is likely in."""

    language_codes: list[str] | None = None


class AudioTranscriptionConfig(WireStruct):
    """`setup.inputAudioTranscription` / `outputAudioTranscription` (usually `{}`).

    `diarization` labels each chunk with its speaker (`Transcription.speakerLabel`),
    `word_timestamp` times each word (`Transcription.words`). `language_auto` (`{}`)
    detects the language; `source_text` is the text the speech is expected to read out.
    """

    language_codes: list[str] | None = None
    language_auto: dict[str, Any] | None = None
    language_hints: LanguageHints | None = None
    custom_vocabulary: list[str] | None = None
    adaptation_phrases: list[str] | None = None
    word_timestamp: bool | None = None
    diarization: bool | None = None
    mode: str | None = None
    source_text: str | None = None


class Proactivity(WireStruct):
    """`setup.proactivity` (native-audio models)."""

    proactive_audio: bool | None = None
    proactive_video: bool | None = None


class HistoryConfig(WireStruct):
    """`setup.historyConfig`: seed history with `clientContent` before the first turn."""

    initial_history_in_client_content: bool | None = None


class SafetySetting(WireStruct):
    """One `setup.safetySettings` entry."""

    category: str = ""
    threshold: str = ""
    method: str | None = None


class Setup(WireStruct):
    """`setup`: the first and only-first client message (protocol.md section 2.1).

    `extra` is not a wire field: it holds setup fields this library does not model, by
    their camelCase wire names, merged into the `setup` object of every setup frame (see
    `merge_extra`); `live_setup(..., extra=...)` fills it.
    """

    model: str = ""
    generation_config: GenerationConfig | None = None
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    session_resumption: SessionResumptionConfig | None = None
    context_window_compression: ContextWindowCompression | None = None
    input_audio_transcription: AudioTranscriptionConfig | None = None
    output_audio_transcription: AudioTranscriptionConfig | None = None
    proactivity: Proactivity | None = None
    history_config: HistoryConfig | None = None
    safety_settings: list[SafetySetting] | None = None
    explicit_vad_signal: bool | None = None
    avatar_config: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    extra: dict[str, Any] | None = None

    def __repr__(self) -> str:
        # `extra` may hold a credential too; tools redact their own (`Tool.__repr__`).
        return redacted_repr(self)


# --- the other client messages ---------------------------------------------------------------


class ClientContent(WireStruct):
    """`clientContent`: ordered turns appended to the history (protocol.md section 2.2)."""

    turns: list[Content] | None = None
    turn_complete: bool | None = None


class ActivityStart(WireStruct):
    """`realtimeInput.activityStart` (`{}`), with automatic activity detection off."""


class ActivityEnd(WireStruct):
    """`realtimeInput.activityEnd` (`{}`), with automatic activity detection off."""


class RealtimeInput(WireStruct):
    """`realtimeInput`: streaming audio, video, text and activity signals (section 2.3).

    `activity_start` and `activity_end` are for setups with automatic activity detection
    off, `audio_stream_end` for those with it on (`LiveSession.send` refuses them
    otherwise, as `activity_start()` and `audio_stream_end()` do).
    """

    audio: Blob | None = None
    video: Blob | None = None
    text: str | None = None
    audio_stream_end: bool | None = None
    activity_start: ActivityStart | None = None
    activity_end: ActivityEnd | None = None
    media_chunks: list[Blob] | None = None


class ToolResponse(WireStruct):
    """`toolResponse`: results of function calls (section 2.4)."""

    function_responses: list[FunctionResponse] = []


class ToolsUpdate(WireStruct):
    """`contextUpdate.tools`: `{tools: [...]}`; an empty list clears the tools."""

    tools: list[Tool] = []


class ContextUpdate(WireStruct):
    """`contextUpdate`: replace the system instruction and/or tools mid-session (section 2.6)."""

    system_instruction: Content | None = None
    tools: ToolsUpdate | None = None


class ClientMessage(WireStruct):
    """The client envelope: exactly one field is set per frame."""

    setup: Setup | None = None
    client_content: ClientContent | None = None
    realtime_input: RealtimeInput | None = None
    tool_response: ToolResponse | None = None
    context_update: ContextUpdate | None = None


# --- server messages (protocol.md section 3) -------------------------------------------------


class SetupCompleteMessage(WireStruct):
    """`setupComplete`: `{}` on the Gemini API, `{sessionId}` on Vertex.

    `voiceConsentSignature` follows a setup with a replicated voice's consent audio.
    """

    session_id: str | None = None
    voice_consent_signature: VoiceConsentSignature | None = None


class ServerContent(WireStruct):
    """`serverContent`: incremental model output and turn signals (section 3.2).

    Fields in proto field-number order (`turnComplete` 2 ... `generationComplete` 5), the
    order Google's JSON lists them in (the emulator encodes with these Structs); the newer
    fields, whose numbers are unpublished, last.
    """

    model_turn: Content | None = None
    turn_complete: bool = False
    interrupted: bool = False
    grounding_metadata: dict[str, Any] | None = None
    generation_complete: bool = False
    input_transcription: Transcription | None = None
    output_transcription: Transcription | None = None
    url_context_metadata: dict[str, Any] | None = None
    waiting_for_input: bool = False
    interim_input_transcription: Transcription | None = None
    turn_complete_reason: str | None = None
    interaction_status: str | None = None


class ToolCallMessage(WireStruct):
    """`toolCall`: one or more function calls the client must answer (section 3.3)."""

    function_calls: list[FunctionCallPart] = []


class ToolCallCancellationMessage(WireStruct):
    """`toolCallCancellation`: ids of calls that should not have been run (section 3.4)."""

    ids: list[str] = []


class GoAwayMessage(WireStruct):
    """`goAway`: the server will close soon; `timeLeft` is a Duration such as `"50s"`."""

    time_left: str | None = None


class SessionResumptionUpdateMessage(WireStruct):
    """`sessionResumptionUpdate` (section 3.6); int64 index arrives as a string."""

    new_handle: str | None = None
    resumable: bool = False
    last_consumed_client_message_index: int | str | None = None


class ModalityTokenCount(WireStruct):
    """One `*TokensDetails` entry: a token count for a modality."""

    modality: str = ""
    token_count: int = 0


class UsageMetadata(WireStruct):
    """`usageMetadata`; Vertex's `candidates*` names are accepted too (section 3.7).

    Fields in the proto field-number order of both dialects, the order Google's JSON lists
    them in (`promptTokenCount`, `responseTokenCount`/`candidatesTokenCount`,
    `totalTokenCount`, ...). The one disagreement: Vertex numbers the tool-use details
    before the tool-use count, the Gemini API after; the Gemini API's order is kept.
    `serviceTier` (the pricing tier that served the request), whose number is unpublished,
    comes last.
    """

    prompt_token_count: int = 0
    response_token_count: int = 0
    candidates_token_count: int = 0
    total_token_count: int = 0
    cached_content_token_count: int = 0
    traffic_type: str | None = None
    prompt_tokens_details: list[ModalityTokenCount] | None = None
    cache_tokens_details: list[ModalityTokenCount] | None = None
    response_tokens_details: list[ModalityTokenCount] | None = None
    candidates_tokens_details: list[ModalityTokenCount] | None = None
    tool_use_prompt_token_count: int = 0
    tool_use_prompt_tokens_details: list[ModalityTokenCount] | None = None
    thoughts_token_count: int = 0
    service_tier: str | None = None


class VoiceActivityMessage(WireStruct):
    """`voiceActivity`: server VAD start/end; the wire key of the kind is `type`."""

    voice_activity_type: str | None = msgspec.field(default=None, name="type")
    audio_offset: str | None = None


class VoiceActivityDetectionSignalMessage(WireStruct):
    """`voiceActivityDetectionSignal` (allowlisted only)."""

    vad_signal_type: str | None = None


class ServerMessage(WireStruct, forbid_unknown_fields=True):
    """The server envelope. Every key present is processed, `usageMetadata` included.

    `forbid_unknown_fields` only at this level, and never to refuse a frame: a top-level key
    this library does not know makes msgspec's decode fail, which sends the frame down the
    codec's slower path that hands the key on as `UnknownMessage` (`decode_ordinary`).
    Frames without one pay nothing for the check; nested Structs ignore unknown fields.
    """

    setup_complete: SetupCompleteMessage | None = None
    server_content: ServerContent | None = None
    tool_call: ToolCallMessage | None = None
    tool_call_cancellation: ToolCallCancellationMessage | None = None
    go_away: GoAwayMessage | None = None
    session_resumption_update: SessionResumptionUpdateMessage | None = None
    usage_metadata: UsageMetadata | None = None
    voice_activity: VoiceActivityMessage | None = None
    voice_activity_detection_signal: VoiceActivityDetectionSignalMessage | None = None
