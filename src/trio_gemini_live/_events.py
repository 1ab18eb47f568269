"""Events: one family of frozen msgspec Structs, matchable with `match`.

The seed API's names (`RealtimeEvent`, `SessionCreated`, `SessionUpdated`, `AudioDelta`,
`SpeechStarted`, `FunctionCall`, `InputAudioBufferDelta`) are kept; every other Live API
message has its own event. Each docstring names the wire field the event comes from.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar, TypeAlias

import msgspec

from ._wire import (
    FunctionResponsePart,
    PartialArg,
    UsageMetadata,
    VoiceConsentSignature,
    WordInfo,
)

__all__ = [
    "AudioDelta",
    "Closed",
    "CodeExecutionResult",
    "ExecutableCode",
    "FileReference",
    "FunctionCall",
    "FunctionCallDelta",
    "FunctionCallOutput",
    "GenerationComplete",
    "GoAway",
    "GroundingMetadata",
    "InlineData",
    "InputAudioBufferDelta",
    "InputTranscription",
    "InterimInputTranscription",
    "Interrupted",
    "LiveEvent",
    "OutputTranscription",
    "RealtimeEvent",
    "Reconnected",
    "ResumptionUpdate",
    "SessionCreated",
    "SessionUpdated",
    "SpeechStarted",
    "TextDelta",
    "ThoughtSignature",
    "ToolCallCancellation",
    "TurnComplete",
    "UnknownMessage",
    "UrlContextMetadata",
    "Usage",
    "VoiceActivity",
    "WaitingForInput",
]


class RealtimeEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base class of every event (the seed API's `RealtimeEvent`).

    Events are immutable trees of values (no reference cycles), hence `gc=False`: one less
    object for the garbage collector to track per frame. `type` names the event in the
    seed's OpenAI-style vocabulary; `raw_message` is a plain
    dict view of the event, built only when read (the seed kept the raw frame on every
    event; building it eagerly would cost a dict per audio frame).
    """

    type: ClassVar[str] = "realtime.event"

    @property
    def raw_message(self) -> dict[str, Any]:
        """A plain-dict view of this event (derived on access)."""
        built: dict[str, Any] = msgspec.to_builtins(self)
        built["type"] = self.type
        return built


class SessionCreated(RealtimeEvent, frozen=True, kw_only=True):
    """`setupComplete`: the session is open. `session_id` is set on Vertex.

    `voice_consent_signature` (from `setupComplete.voiceConsentSignature`) comes after a
    setup that gave a replicated voice with its consent audio: pass it back in a later
    setup's `ReplicatedVoiceConfig.voice_consent_signature` instead of the consent audio.
    """

    type: ClassVar[str] = "session.created"
    session_id: str | None = None
    voice_consent_signature: VoiceConsentSignature | None = None


class SessionUpdated(RealtimeEvent, frozen=True, kw_only=True):
    """The setup in force changed: sent after `setupComplete` and after each applied update.

    `setup` is the camelCase dict of the setup now in force, as sent (`Setup.extra` merged
    in). The endpoint's credentials are never part of it, and a credential the setup itself
    holds (a tool's `apiKey`, an MCP server's `headers`, such a key in `extra`) is shown as
    `"REDACTED"`.
    """

    type: ClassVar[str] = "session.updated"
    setup: dict[str, Any] = {}


class AudioDelta(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.modelTurn.parts[].inlineData` with an audio MIME type.

    `pcm` is the 16-bit little-endian mono PCM decoded once, by msgspec, straight from the
    frame; nothing copies it afterwards. `delta` (the seed's base64 `str`) is derived from
    it only when read.
    """

    type: ClassVar[str] = "response.audio.delta"
    pcm: bytes
    sample_rate: int = 24000
    turn_id: int = 0
    mime_type: str = "audio/pcm;rate=24000"

    @property
    def delta(self) -> str:
        """The audio as standard base64 (the seed API's field), computed on access."""
        return base64.b64encode(self.pcm).decode("ascii")

    @property
    def item_id(self) -> str:
        """The seed API's `item_id`: the model turn this audio belongs to."""
        return f"turn-{self.turn_id}"

    @property
    def duration(self) -> float:
        """Length of this chunk in seconds."""
        return len(self.pcm) / (2 * self.sample_rate)


class InlineData(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.modelTurn.parts[].inlineData` that is no `AudioDelta`.

    An image, audio that is not PCM (`audio/mpeg`), or PCM whose `rate=` cannot be read
    (`audio/pcm;rate=16k`): its bytes and MIME type, for the application to judge.
    """

    type: ClassVar[str] = "response.inline_data"
    data: bytes
    mime_type: str
    turn_id: int = 0


class InputAudioBufferDelta(RealtimeEvent, frozen=True, kw_only=True):
    """Seed API: audio the application queued with `queue_input_audio_buffer_delta`."""

    type: ClassVar[str] = "input_audio_buffer.delta"
    delta: str
    item_id: Any = None


class SpeechStarted(RealtimeEvent, frozen=True, kw_only=True):
    """The user started speaking: flush any queued playback (seed API barge-in signal)."""

    type: ClassVar[str] = "input_audio_buffer.speech_started"


class Interrupted(SpeechStarted, frozen=True, kw_only=True):
    """`serverContent.interrupted`: the model was cut off by user activity.

    A subclass of `SpeechStarted`, so seed-style consumers flush their playback buffer.
    """

    type: ClassVar[str] = "input_audio_buffer.speech_started"
    turn_id: int = 0


class FunctionCall(RealtimeEvent, frozen=True, kw_only=True):
    """One entry of `toolCall.functionCalls[]`: answer it with the same `call_id` and `name`.

    `call_id` is `""` for a call that came without an id (Vertex AI may send such calls):
    each is pending until answered, and `LiveSession.respond("", ...)` answers the oldest.

    Or a `functionCall` part of `modelTurn`. A call whose arguments the server streams
    (`partialArgs`, `willContinue`) comes once, when its last piece has come, with
    `arguments` assembled from all of them (the pieces come before as `FunctionCallDelta`).
    `thought_signature` is the part's `thoughtSignature` (the first of a streamed call's):
    pass it back with the call when you replay the conversation to a thinking model.
    """

    type: ClassVar[str] = "response.function_call_arguments.done"
    call_id: str
    name: str
    arguments: dict[str, Any] = {}
    thought_signature: bytes | None = None


class FunctionCallDelta(RealtimeEvent, frozen=True, kw_only=True):
    """A piece of a function call whose arguments are streamed (`willContinue`, `partialArgs`).

    One for the piece that opens the call and one for each later piece that carries
    arguments; the `FunctionCall` with the whole `arguments` follows the last piece (or a
    `ToolCallCancellation` with `reason="incomplete"` when the turn ends first). Nothing
    to answer yet: show progress, or start work that needs only part of the arguments.
    `partial_args` are this piece's `partialArgs` as sent (each a JSON path and one value;
    a string's `will_continue` says its next piece adds to it) and `args` this piece's
    `args`, if any: only this piece, so that a delta costs the same however many
    arguments came before it; the `FunctionCall` carries them all, assembled.
    """

    type: ClassVar[str] = "response.function_call_arguments.delta"
    call_id: str
    name: str
    partial_args: tuple[PartialArg, ...] = ()
    args: dict[str, Any] = {}


class FunctionCallOutput(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.modelTurn.parts[].functionResponse`: a call's result in the model's turn.

    The server reports a function response as part of its own output (a tool it ran
    itself): nothing to answer. A pending call with this `call_id` is answered by it
    (`LiveSession.respond` then refuses a second answer, with a `name` too). One without an
    id (`call_id` `""`) answers no call: which call without an id it reports cannot be
    told, so those stay pending until the client answers them. `response`,
    `will_continue`, `scheduling` and `parts` (media of a multimodal response) are as sent.
    """

    type: ClassVar[str] = "response.function_call_output"
    call_id: str
    name: str
    response: dict[str, Any] = {}
    turn_id: int = 0
    will_continue: bool = False
    scheduling: str | None = None
    parts: tuple[FunctionResponsePart, ...] = ()


class FileReference(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.modelTurn.parts[].fileData`: the model's output as a file, by URI.

    `mime_type` and `display_name` (Vertex AI only) when the server gives them.
    """

    type: ClassVar[str] = "response.file_data"
    file_uri: str
    mime_type: str | None = None
    display_name: str | None = None
    turn_id: int = 0


class ThoughtSignature(RealtimeEvent, frozen=True, kw_only=True):
    """A `thoughtSignature` of `modelTurn.parts[]` that no other event of its part carries.

    A part of its own (`{"thoughtSignature": ...}`), or one of a part whose event has no
    field for it (`TextDelta` and `FunctionCall` carry theirs): it comes right after
    that part's events. `signature` is opaque bytes (base64 on the wire); pass it back
    with the part when you replay the conversation to a thinking model.
    """

    type: ClassVar[str] = "response.thought_signature"
    signature: bytes
    turn_id: int = 0


class TextDelta(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.modelTurn.parts[].text`; `thought` marks thinking text.

    `thought_signature` is the part's `thoughtSignature`, when it has one.
    """

    type: ClassVar[str] = "response.text.delta"
    text: str
    turn_id: int = 0
    thought: bool = False
    thought_signature: bytes | None = None


class _Transcription(RealtimeEvent, frozen=True, kw_only=True):
    """The fields the three transcription events share (`_protocol._transcription_fields`)."""

    text: str
    finished: bool = False
    language_code: str | None = None
    speaker_label: str | None = None
    words: tuple[WordInfo, ...] = ()
    start_offset: str | None = None
    end_offset: str | None = None


class InputTranscription(_Transcription, frozen=True, kw_only=True):
    """`serverContent.inputTranscription`: a chunk of the user's speech as text.

    `language_code` is the language the server heard (a BCP-47 code such as `"en-US"`),
    when it says. `speaker_label` (`"spk_1"`; with `diarization` in the transcription
    setup) names who spoke, `words` times each word (with `word_timestamp`), and
    `start_offset`/`end_offset` place the chunk: Durations as sent (`"1.250s"`), from the
    start of the audio, as `VoiceActivity.audio_offset`.
    """

    type: ClassVar[str] = "input_audio_transcription.delta"


class InterimInputTranscription(_Transcription, frozen=True, kw_only=True):
    """`serverContent.interimInputTranscription`: a provisional transcript of the user.

    The fields are those of `InputTranscription` (the offsets come with
    `RealtimeInputConfig.interim_transcript_timestamp_enabled`).
    """

    type: ClassVar[str] = "input_audio_transcription.interim"


class OutputTranscription(_Transcription, frozen=True, kw_only=True):
    """`serverContent.outputTranscription`: a chunk of the model's speech as text.

    `language_code` is the language of that speech (a BCP-47 code), when the server says;
    `speaker_label`, `words`, `start_offset` and `end_offset` as for `InputTranscription`.
    """

    type: ClassVar[str] = "response.audio_transcript.delta"
    turn_id: int = 0


class ExecutableCode(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.modelTurn.parts[].executableCode`: code the model wrote.

    `id`, when the server gives one, is that of the `CodeExecutionResult` it leads to.
    """

    type: ClassVar[str] = "response.executable_code"
    language: str
    code: str
    turn_id: int = 0
    id: str | None = None


class CodeExecutionResult(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.modelTurn.parts[].codeExecutionResult`.

    `id`, when the server gives one, is that of the `ExecutableCode` it is the result of.
    """

    type: ClassVar[str] = "response.code_execution_result"
    outcome: str
    output: str
    turn_id: int = 0
    id: str | None = None


class GroundingMetadata(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.groundingMetadata` (Google Search grounding), as sent."""

    type: ClassVar[str] = "response.grounding_metadata"
    metadata: dict[str, Any]


class UrlContextMetadata(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.urlContextMetadata` (URL context tool), as sent."""

    type: ClassVar[str] = "response.url_context_metadata"
    metadata: dict[str, Any]


class WaitingForInput(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.waitingForInput`: the model expects the user to continue."""

    type: ClassVar[str] = "response.waiting_for_input"


class GenerationComplete(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.generationComplete`: the model finished generating this turn."""

    type: ClassVar[str] = "response.generation_complete"
    turn_id: int = 0


class Usage(RealtimeEvent, frozen=True, kw_only=True):
    """`usageMetadata` arriving without `turnComplete` (it can come late).

    `usage` holds every field sent, `service_tier` included.
    """

    type: ClassVar[str] = "response.usage"
    usage: UsageMetadata


class TurnComplete(RealtimeEvent, frozen=True, kw_only=True):
    """`serverContent.turnComplete` (with the frame's `usageMetadata`, if any).

    `interrupted` is true when the turn ended by barge-in: normally without
    `generationComplete`, but a barge-in while the server waits for the audio to play
    (between `generationComplete` and `turnComplete`) comes after it.
    """

    type: ClassVar[str] = "response.done"
    turn_id: int = 0
    usage: UsageMetadata | None = None
    reason: str | None = None
    interaction_status: str | None = None
    interrupted: bool = False


class ToolCallCancellation(RealtimeEvent, frozen=True, kw_only=True):
    """`toolCallCancellation.ids`: abandon these calls.

    `reason` is None when the server sent it (the user barged in), `"reconnect"` when
    the session moved to a new connection while the calls were pending: the resumed server
    re-issues, with new ids, the calls it still needs; or `"incomplete"` for calls whose
    arguments were still streaming (`FunctionCallDelta`) when the turn ended. A call that
    came without an id is `""` in `ids`, once for each such call. An id is reported
    once: the server's cancellation of a call reported `"incomplete"` leaves it out.
    """

    type: ClassVar[str] = "response.function_call.cancelled"
    ids: tuple[str, ...]
    reason: str | None = None


class GoAway(RealtimeEvent, frozen=True, kw_only=True):
    """`goAway.timeLeft`: the server will close the connection in `time_left` seconds."""

    type: ClassVar[str] = "session.go_away"
    time_left: float


class ResumptionUpdate(RealtimeEvent, frozen=True, kw_only=True):
    """`sessionResumptionUpdate`: a new resumption handle (usable only if `resumable`)."""

    type: ClassVar[str] = "session.resumption_update"
    handle: str | None
    resumable: bool
    last_consumed_client_message_index: int | None = None


class VoiceActivity(RealtimeEvent, frozen=True, kw_only=True):
    """`voiceActivity` (`ACTIVITY_START`/`ACTIVITY_END`) or `voiceActivityDetectionSignal`."""

    type: ClassVar[str] = "input_audio_buffer.voice_activity"
    activity: str
    audio_offset: str | None = None


class Reconnected(RealtimeEvent, frozen=True, kw_only=True):
    """The session moved to a new connection (after `goAway` or a drop) and continues.

    `replayed` client messages were taken for replay: the new connection writes them again
    before anything sent since (if it ends first, the next connection replays the rest, or
    `Closed.not_sent` reports them). `not_replayed`
    summarises, one line per kind and cause, the `not_replayed_messages` that could not be
    (replay buffer overflow; tool responses to calls of the old connection, written or
    still queued when it ended: the new one knows no such call; activity signals, when the
    new connection's setup has automatic activity detection on, and `audioStreamEnd`, when
    it has it off; these two also when still queued), so that nothing is lost
    silently. `possibly_duplicated` of the replayed messages were written
    just before the resumed state's handle was read, so that state may already hold them
    (see `ReconnectPolicy.handle_window`). `setup_changed` is true when
    the move applied a new setup (`LiveSession.update_setup`); a `SessionUpdated` follows.
    `attempts` counts the connections tried for this move: 1 when the first one opened;
    after a drop, all those of the outage it belongs to (see `ReconnectPolicy.stable_after`).
    `setup_refused` says why the server refused the setup given to `update_setup` (the
    error of its 1007 before `setupComplete`, for a voice it lacks, say; no other close
    refuses a setup): the session went on at once with the setup it had, and
    `setup_changed` is false unless a later setup was applied.
    """

    type: ClassVar[str] = "session.reconnected"
    reason: str
    duration: float
    attempts: int = 1
    replayed: int = 0
    not_replayed: tuple[str, ...] = ()
    not_replayed_messages: int = 0
    possibly_duplicated: int = 0
    setup_changed: bool = False
    setup_refused: str | None = None


class Closed(RealtimeEvent, frozen=True, kw_only=True):
    """The WebSocket closed: the last event of a session's stream.

    `code` and `reason` are the server's close (1006 for a drop without a close frame), or
    1000 and "" when the application closed the session (`aclose`, leaving the block),
    also during an outage, whatever the dropped connection said.

    `not_sent` summarises, one line per kind and cause, the `not_sent_messages` the application had
    sent (its `send_*` had returned) that no connection wrote in full: still queued when
    the session ended, or refused by a closing connection before any byte left ("never
    written"; the default websockets transport tells these apart, trio-websocket reports
    them as cut off); cut off mid-write by the end of the last connection with no resume after it
    ("cut off mid-write"; part may have reached the server); or written before a resume
    whose connection ended before its replay wrote them again ("written before a resume,
    which ended before writing it again": the resumed session lacks them). That happens
    when the session is closed during an outage, past `close_timeout` on a stalled uplink,
    or ended by an error. And when the application's close ends without the server's close
    frame (it waited past `close_timeout` behind a slow uplink, or the connection dropped
    meanwhile), the messages written in full that the server had not yet confirmed (those a
    resume would replay) are reported too ("written, but the server did not answer the
    close: it may not have received it"): over TCP the end of the connection can discard
    what the socket took and had not sent yet. With the server's close frame, everything
    written before the close reached it. Empty when everything sent was written (and, where
    the close got no answer, confirmed).

    `not_delivered` summarises, one line per event type, the `not_delivered_events` that
    came from the server while the application closed the session (`aclose`) and were
    dropped: while it closes, events that find the event buffer full are set aside for the
    reader, up to 4096 (or 8 times `SessionOptions.event_buffer`); what a server sends past
    that before the close handshake ends is dropped, never held without bound. Empty when
    every event reached the reader (or was set aside for it).
    """

    type: ClassVar[str] = "session.closed"
    code: int
    reason: str = ""
    not_sent: tuple[str, ...] = ()
    not_sent_messages: int = 0
    not_delivered: tuple[str, ...] = ()
    not_delivered_events: int = 0


class UnknownMessage(RealtimeEvent, frozen=True, kw_only=True):
    """A top-level server message this library does not know (carried as sent)."""

    type: ClassVar[str] = "unknown"
    key: str
    payload: Any = None


LiveEvent: TypeAlias = (
    SessionCreated
    | SessionUpdated
    | AudioDelta
    | TextDelta
    | InlineData
    | FileReference
    | ThoughtSignature
    | ExecutableCode
    | CodeExecutionResult
    | OutputTranscription
    | GroundingMetadata
    | UrlContextMetadata
    | WaitingForInput
    | GenerationComplete
    | TurnComplete
    | Usage
    | Interrupted
    | InputTranscription
    | InterimInputTranscription
    | VoiceActivity
    | FunctionCall
    | FunctionCallDelta
    | FunctionCallOutput
    | ToolCallCancellation
    | GoAway
    | ResumptionUpdate
    | Reconnected
    | Closed
    | UnknownMessage
)
"""Every event a `LiveSession` yields: the type of `receive()` and of `async for`.

A union rather than the base class, so a type checker can tell that a `match` handles every
kind (`case _: assert_never(event)`). It leaves out the two seed-only classes a session
never yields: `SpeechStarted` (the barge-in signal arrives as its subclass `Interrupted`)
and `InputAudioBufferDelta` (made by `GeminiRealtimeClient` only, whose `read_events` yields
any `RealtimeEvent`, since `add_event` takes any).
"""
