"""Every server frame google-genai's `LiveServerMessage` can express decodes to the same data.

Messages are generated from the SDK's own pydantic annotations, serialised the way Google's
server writes them (proto3 JSON: camelCase, standard base64, int64 as a string, 2-space
pretty-printed with a trailing newline, in a binary frame), and checked twice: the SDK's own
receive path (`_LiveServerMessage_from_mldev` + `LiveServerMessage._from_response`) must
read the frame back as the same message (so the serialisation is right), and our
`LiveProtocol` must turn it into events carrying the same data.

`SURFACED` and `NOT_SURFACED` split every field of `LiveServerMessage` between what our
events carry and what they drop today; a test keeps the split complete, so a new SDK field
(after a version bump) forces a decision.
"""

from __future__ import annotations

import enum
import json
import re
import typing
from pathlib import Path
from typing import Any

import msgspec
import pydantic
import pytest
from google.genai import _live_converters as lc, types as gt
from hypothesis import given, strategies as st

import strategies as s
from protocols import opened_protocol
from test_recordings import EXPECTED, RECORDINGS, load, parse_recording
from trio_gemini_live import _events as ev
from trio_gemini_live._codec import decode_server
from trio_gemini_live._protocol import LiveProtocol
from trio_gemini_live._wire import ClientMessage, UsageMetadata

pytestmark = pytest.mark.fuzz  # large budget under `nox -s fuzz`, CI profile otherwise

# Dotted SDK field paths our events carry (a prefix covers everything below it).
SURFACED = {
    "setup_complete.session_id",
    "setup_complete.voice_consent_signature",
    "server_content.model_turn.parts.inline_data.data",
    "server_content.model_turn.parts.inline_data.mime_type",
    "server_content.model_turn.parts.text",
    "server_content.model_turn.parts.thought",
    "server_content.model_turn.parts.executable_code.code",
    "server_content.model_turn.parts.executable_code.language",
    "server_content.model_turn.parts.executable_code.id",
    "server_content.model_turn.parts.code_execution_result.outcome",
    "server_content.model_turn.parts.code_execution_result.output",
    "server_content.model_turn.parts.code_execution_result.id",
    "server_content.model_turn.parts.function_call.id",
    "server_content.model_turn.parts.function_call.name",
    "server_content.model_turn.parts.function_call.args",
    "server_content.model_turn.parts.function_call.partial_args",
    "server_content.model_turn.parts.function_call.will_continue",
    "server_content.model_turn.parts.function_response",
    "server_content.model_turn.parts.file_data",
    "server_content.model_turn.parts.thought_signature",
    "server_content.model_turn.parts.tool_call",
    "server_content.model_turn.parts.tool_response",
    "server_content.model_turn.parts.audio_transcription",
    "server_content.turn_complete",
    "server_content.interrupted",
    "server_content.generation_complete",
    "server_content.waiting_for_input",
    "server_content.turn_complete_reason",
    "server_content.interaction_status",
    "server_content.grounding_metadata",
    "server_content.url_context_metadata",
    "server_content.input_transcription.text",
    "server_content.input_transcription.finished",
    "server_content.input_transcription.language_code",
    "server_content.output_transcription.text",
    "server_content.output_transcription.finished",
    "server_content.output_transcription.language_code",
    "server_content.input_transcription.speaker_label",
    "server_content.input_transcription.words",
    "server_content.input_transcription.start_offset",
    "server_content.input_transcription.end_offset",
    "server_content.output_transcription.speaker_label",
    "server_content.output_transcription.words",
    "server_content.output_transcription.start_offset",
    "server_content.output_transcription.end_offset",
    "server_content.interim_input_transcription",
    "tool_call.function_calls.id",
    "tool_call.function_calls.name",
    "tool_call.function_calls.args",
    "tool_call.function_calls.partial_args",
    "tool_call.function_calls.will_continue",
    "tool_call_cancellation.ids",
    "usage_metadata.prompt_token_count",
    "usage_metadata.cached_content_token_count",
    "usage_metadata.response_token_count",
    "usage_metadata.tool_use_prompt_token_count",
    "usage_metadata.thoughts_token_count",
    "usage_metadata.total_token_count",
    "usage_metadata.prompt_tokens_details",
    "usage_metadata.cache_tokens_details",
    "usage_metadata.response_tokens_details",
    "usage_metadata.tool_use_prompt_tokens_details",
    "usage_metadata.traffic_type",
    "usage_metadata.service_tier",
    "go_away.time_left",
    "session_resumption_update",
    "voice_activity_detection_signal.vad_signal_type",
    "voice_activity.voice_activity_type",
    "voice_activity.audio_offset",
}

# Fields the SDK can express that no event carries today (found by this test; reported).
NOT_SURFACED = {
    "server_content.model_turn.role",
    "server_content.model_turn.parts.media_resolution",
    "server_content.model_turn.parts.inline_data.display_name",
    "server_content.model_turn.parts.video_metadata",
    "server_content.model_turn.parts.part_metadata",
    "server_content.model_turn.parts.media_processing",
    "server_content.model_turn.parts.speech_metadata",
    "server_content.model_turn.parts.document_metadata",
    "server_content.model_turn.parts.spreadsheet_metadata",
    "server_content.model_turn.parts.audio_metadata",
}


def _model_of(annotation: Any) -> type[pydantic.BaseModel] | None:
    for arg in typing.get_args(annotation) or (annotation,):
        for inner in typing.get_args(arg) or (arg,):
            if isinstance(inner, type) and issubclass(inner, pydantic.BaseModel):
                return inner
    return None


def _field_paths(cls: type[pydantic.BaseModel], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in cls.model_fields.items():
        path = prefix + name
        paths.add(path)
        inner = _model_of(field.annotation)
        if inner is not None and path.count(".") < 4:
            paths |= _field_paths(inner, path + ".")
    return paths


def _covered(path: str, table: set[str]) -> bool:
    return any(path == entry or path.startswith(entry + ".") for entry in table)


def test_every_sdk_field_is_either_surfaced_or_listed_as_dropped() -> None:
    paths = _field_paths(gt.LiveServerMessage)
    for path in paths:
        parents = [path.rsplit(".", n)[0] for n in range(path.count(".") + 1)]
        decided = [
            p for p in parents if p in SURFACED or p in NOT_SURFACED or _covered(p, SURFACED)
        ]
        has_children = any(other.startswith(path + ".") for other in paths)
        assert decided or has_children, f"undecided SDK field: {path}"
    for entry in SURFACED | NOT_SURFACED:
        assert entry in paths, f"stale entry (not an SDK field): {entry}"
    assert not SURFACED & NOT_SURFACED


# --- the SDK as the judge of the serialisation ----------------------------------------------


def sdk_read(frame: bytes) -> gt.LiveServerMessage:
    """What google-genai's own `AsyncSession._receive` makes of a frame (Gemini API)."""
    response = json.loads(frame)
    return gt.LiveServerMessage._from_response(
        response=lc._LiveServerMessage_from_mldev(response),
        kwargs=gt.LiveServerMessage().model_dump(),
    )


def _value(member: Any) -> Any:
    return member.value if isinstance(member, enum.Enum) else member


def _rate(mime: str) -> int:
    match = re.search(r";\s*rate=(\d+)", mime)
    return int(match.group(1)) if match and int(match.group(1)) else 24000


def _usage_matches(ours: UsageMetadata, sdk: gt.UsageMetadata) -> None:
    for name in (
        "prompt_token_count",
        "cached_content_token_count",
        "response_token_count",
        "tool_use_prompt_token_count",
        "thoughts_token_count",
        "total_token_count",
    ):
        assert getattr(ours, name) == (getattr(sdk, name) or 0), name
    for name in (
        "prompt_tokens_details",
        "cache_tokens_details",
        "response_tokens_details",
        "tool_use_prompt_tokens_details",
    ):
        sdk_details = getattr(sdk, name)
        our_details = getattr(ours, name)
        if sdk_details is None:
            assert our_details is None, name
            continue
        assert our_details is not None, name
        assert [(d.modality, d.token_count) for d in our_details] == [
            (_value(d.modality) or "", d.token_count or 0) for d in sdk_details
        ], name
    assert ours.traffic_type == _value(sdk.traffic_type)
    assert ours.service_tier == _value(sdk.service_tier)


def _sdk_transcription(chunk: gt.Transcription) -> tuple[Any, ...]:
    words = tuple((w.word or "", w.start_offset, w.end_offset) for w in chunk.words or ())
    return (
        chunk.text or "",
        bool(chunk.finished),
        chunk.language_code,
        chunk.speaker_label,
        words,
        chunk.start_offset,
        chunk.end_offset,
    )


def _our_transcription(
    event: ev.InputTranscription
    | ev.OutputTranscription
    | ev.InterimInputTranscription
    | ev.AudioPartTranscription,
) -> tuple[Any, ...]:
    words = tuple((w.word, w.start_offset, w.end_offset) for w in event.words)
    return (
        event.text,
        event.finished,
        event.language_code,
        event.speaker_label,
        words,
        event.start_offset,
        event.end_offset,
    )


class _CallPieces:
    """What the events of streamed calls must be: a model of protocol.md's pieces, on SDK types.

    A piece with an id continues the open call with that id; a whole call (a name, no
    willContinue, no partialArgs) continues none; one without id or name continues the
    call opened last; one with a name but no id the newest open call of that name, unless
    it has the shape of a first piece (no partialArgs, no args). A piece that continues
    nothing and has no name is dropped. Argument paths are `$.name` here (the strategy's),
    so a call's arguments are a flat dict.
    """

    def __init__(self) -> None:
        # Oldest first: [name, arguments, signature, keys whose string goes on, id]
        self.open: list[list[Any]] = []
        self.incomplete: set[str] = set()

    def _find(self, call: gt.FunctionCall, whole: bool) -> list[Any] | None:
        if call.id:
            return next((target for target in self.open if target[4] == call.id), None)
        if not call.name:
            return self.open[-1] if self.open else None
        if whole or (call.partial_args is None and not call.args):
            return None
        return next((t for t in reversed(self.open) if t[0] == call.name), None)

    def end_turn(self, out: list[Any]) -> None:
        if self.open:
            ids = tuple(target[4] for target in self.open)
            out.append((ev.ToolCallCancellation, ids, "incomplete"))
            self.incomplete.update(ids)
            self.open.clear()

    def feed(self, call: gt.FunctionCall, signature: bytes | None, out: list[Any]) -> None:
        pieces = call.partial_args
        whole = not call.will_continue and pieces is None
        target = self._find(call, whole)
        if target is None:
            if not call.name:
                return  # continues nothing, cannot be a call: dropped
            if whole:
                out.append((ev.FunctionCall, call.id or "", call.name, call.args or {}, signature))
                return
            target = [call.name, {}, signature, set[str](), call.id or ""]
            self.open.append(target)
            fresh = True
        else:
            fresh = False
            if target[2] is None:
                target[2] = signature
        _, arguments, _, continuing, call_id = target
        arguments.update(call.args or {})
        for piece in pieces or ():
            key = (piece.json_path or "")[2:]
            values = [
                (piece.string_value is not None, piece.string_value),
                (piece.number_value is not None, piece.number_value),
                (piece.bool_value is not None, piece.bool_value),
                (piece.null_value is not None, None),
            ]
            present = [value for has, value in values if has]
            if present:
                value = present[0]
                if (
                    isinstance(value, str)
                    and key in continuing
                    and isinstance(arguments.get(key), str)
                ):
                    value = arguments[key] + value
                arguments[key] = value
            if piece.will_continue:
                continuing.add(key)
            else:
                continuing.discard(key)
        if fresh or pieces or call.args:
            pieces_read = tuple(pieces or ())
            out.append((ev.FunctionCallDelta, call_id, target[0], pieces_read, call.args or {}))
        if not call.will_continue:
            self.open.remove(target)
            out.append((ev.FunctionCall, call_id, target[0], arguments, target[2]))


def expected_events(message: gt.LiveServerMessage, wire: dict[str, Any]) -> list[Any]:
    """The data each event must carry, derived from the SDK's reading of the frame.

    Written against the SDK model, not against our Structs: tuples of (event type, data).
    """
    out: list[Any] = []
    calls = _CallPieces()
    if message.setup_complete is not None:
        signature = message.setup_complete.voice_consent_signature
        out.append(
            (
                ev.SessionCreated,
                message.setup_complete.session_id,
                None if signature is None else (signature.signature,),
            )
        )
    content = message.server_content
    if content is not None:
        turn = content.model_turn
        for part in (turn.parts or []) if turn is not None else []:
            blob = part.inline_data
            if blob is not None:
                mime = blob.mime_type or ""
                if not mime or mime.startswith("audio/"):
                    out.append((ev.AudioDelta, blob.data or b"", _rate(mime), mime))
                else:
                    out.append((ev.InlineData, blob.data or b"", mime))
            heard = part.audio_transcription
            if heard is not None and any(getattr(heard, f) for f in type(heard).model_fields):
                out.append((ev.AudioPartTranscription, *_sdk_transcription(heard)))
            if part.text is not None:
                out.append((ev.TextDelta, part.text, bool(part.thought), part.thought_signature))
            if part.executable_code is not None:
                code = part.executable_code
                out.append(
                    (ev.ExecutableCode, _value(code.language) or "", code.code or "", code.id)
                )
            if part.code_execution_result is not None:
                result = part.code_execution_result
                out.append(
                    (
                        ev.CodeExecutionResult,
                        _value(result.outcome) or "",
                        result.output or "",
                        result.id,
                    )
                )
            if part.function_call is not None:
                calls.feed(part.function_call, part.thought_signature, out)
            if part.function_response is not None:
                response = part.function_response
                out.append(
                    (
                        ev.FunctionCallOutput,
                        response.id or "",
                        response.name or "",
                        response.response or {},
                        bool(response.will_continue),
                        _value(response.scheduling),
                        len(response.parts or ()),
                    )
                )
            if part.file_data is not None:
                file = part.file_data
                out.append(
                    (ev.FileReference, file.file_uri or "", file.mime_type, file.display_name)
                )
            if part.tool_call is not None:
                invoked = part.tool_call
                kind = _value(invoked.tool_type)
                out.append((ev.ServerToolCall, invoked.id or "", kind, invoked.args or {}))
            if part.tool_response is not None:
                output = part.tool_response
                kind = _value(output.tool_type)
                out.append((ev.ServerToolResponse, output.id or "", kind, output.response or {}))
            signature = part.thought_signature
            if signature is not None and part.text is None and part.function_call is None:
                out.append((ev.ThoughtSignature, signature))
        for name, kind in (
            ("input_transcription", ev.InputTranscription),
            ("interim_input_transcription", ev.InterimInputTranscription),
            ("output_transcription", ev.OutputTranscription),
        ):
            chunk = getattr(content, name)
            # An event for a chunk that says anything: a text, `finished`, words, or a
            # detail alone (a language, a speaker, an offset).
            if chunk is not None and any(getattr(chunk, f) for f in type(chunk).model_fields):
                out.append((kind, *_sdk_transcription(chunk)))
        for name, kind in (
            ("grounding_metadata", ev.GroundingMetadata),
            ("url_context_metadata", ev.UrlContextMetadata),
        ):
            if getattr(content, name) is not None:
                out.append((kind, wire["serverContent"][s.to_camel(name)]))
        if content.waiting_for_input:
            out.append((ev.WaitingForInput,))
        if content.generation_complete:
            out.append((ev.GenerationComplete,))
        if content.interrupted or content.turn_complete:
            calls.end_turn(out)
        if content.interrupted:
            out.append((ev.Interrupted,))
        if content.turn_complete:
            out.append(
                (
                    ev.TurnComplete,
                    message.usage_metadata,
                    _value(content.turn_complete_reason),
                    _value(content.interaction_status),
                    bool(content.interrupted),
                )
            )
    if message.usage_metadata is not None and not (content is not None and content.turn_complete):
        out.append((ev.Usage, message.usage_metadata))
    if message.tool_call is not None:
        for call in message.tool_call.function_calls or []:
            calls.feed(call, None, out)
    if message.tool_call_cancellation is not None:
        # An id reported incomplete already is not reported again.
        ids = tuple(message.tool_call_cancellation.ids or ())
        fresh = tuple(call_id for call_id in ids if call_id not in calls.incomplete)
        if fresh or not ids:
            out.append((ev.ToolCallCancellation, fresh, None))
    if message.go_away is not None:
        out.append((ev.GoAway, float((message.go_away.time_left or "0s")[:-1])))
    update = message.session_resumption_update
    if update is not None:
        out.append(
            (
                ev.ResumptionUpdate,
                update.new_handle or None,
                bool(update.resumable),
                update.last_consumed_client_message_index,
            )
        )
    if message.voice_activity is not None:
        activity = message.voice_activity
        out.append(
            (ev.VoiceActivity, _value(activity.voice_activity_type) or "", activity.audio_offset)
        )
    if message.voice_activity_detection_signal is not None:
        signal = message.voice_activity_detection_signal.vad_signal_type
        out.append((ev.VoiceActivity, _value(signal) or "", None))
    return out


def _sdk_piece(piece: Any) -> gt.PartialArg:
    """One of our `PartialArg`s as the SDK's, to compare with what the SDK read."""
    return gt.PartialArg(
        json_path=piece.json_path or None,
        string_value=piece.string_value,
        number_value=piece.number_value,
        bool_value=piece.bool_value,
        null_value=None if piece.null_value is msgspec.UNSET else "NULL_VALUE",
        will_continue=piece.will_continue,
    )


def actual_events(events: list[ev.RealtimeEvent]) -> list[Any]:
    """Our events, projected onto the same tuples (`SessionUpdated` is ours, not the wire's)."""
    out: list[Any] = []
    for event in events:
        match event:
            case ev.SessionCreated():
                signature = event.voice_consent_signature
                out.append(
                    (
                        ev.SessionCreated,
                        event.session_id,
                        None if signature is None else (signature.signature,),
                    )
                )
            case ev.SessionUpdated():
                pass
            case ev.AudioDelta():
                out.append((ev.AudioDelta, event.pcm, event.sample_rate, event.mime_type))
            case ev.InlineData():
                out.append((ev.InlineData, event.data, event.mime_type))
            case ev.TextDelta():
                out.append((ev.TextDelta, event.text, event.thought, event.thought_signature))
            case ev.ThoughtSignature():
                out.append((ev.ThoughtSignature, event.signature))
            case ev.FileReference():
                out.append((ev.FileReference, event.file_uri, event.mime_type, event.display_name))
            case ev.FunctionCallOutput():
                out.append(
                    (
                        ev.FunctionCallOutput,
                        event.call_id,
                        event.name,
                        event.response,
                        event.will_continue,
                        event.scheduling,
                        len(event.parts),
                    )
                )
            case ev.FunctionCallDelta():
                out.append(
                    (
                        ev.FunctionCallDelta,
                        event.call_id,
                        event.name,
                        tuple(_sdk_piece(piece) for piece in event.partial_args),
                        event.args,
                    )
                )
            case ev.ExecutableCode():
                out.append((ev.ExecutableCode, event.language, event.code, event.id))
            case ev.CodeExecutionResult():
                out.append((ev.CodeExecutionResult, event.outcome, event.output, event.id))
            case ev.FunctionCall():
                out.append(
                    (
                        ev.FunctionCall,
                        event.call_id,
                        event.name,
                        event.arguments,
                        event.thought_signature,
                    )
                )
            case ev.InputTranscription() | ev.OutputTranscription():
                out.append((type(event), *_our_transcription(event)))
            case ev.InterimInputTranscription() | ev.AudioPartTranscription():
                out.append((type(event), *_our_transcription(event)))
            case ev.ServerToolCall():
                out.append((ev.ServerToolCall, event.call_id, event.tool_type, event.arguments))
            case ev.ServerToolResponse():
                out.append((ev.ServerToolResponse, event.call_id, event.tool_type, event.response))
            case ev.GroundingMetadata() | ev.UrlContextMetadata():
                out.append((type(event), event.metadata))
            case ev.WaitingForInput() | ev.GenerationComplete() | ev.Interrupted():
                out.append((type(event),))
            case ev.TurnComplete():
                out.append(
                    (
                        ev.TurnComplete,
                        event.usage,
                        event.reason,
                        event.interaction_status,
                        event.interrupted,
                    )
                )
            case ev.Usage():
                out.append((ev.Usage, event.usage))
            case ev.ToolCallCancellation():
                out.append((ev.ToolCallCancellation, event.ids, event.reason))
            case ev.GoAway():
                out.append((ev.GoAway, event.time_left))
            case ev.ResumptionUpdate():
                out.append(
                    (
                        ev.ResumptionUpdate,
                        event.handle,
                        event.resumable,
                        event.last_consumed_client_message_index,
                    )
                )
            case ev.VoiceActivity():
                out.append((ev.VoiceActivity, event.activity, event.audio_offset))
            case _:
                raise AssertionError(f"unexpected event {event!r}")
    return out


def _same(expected: list[Any], actual: list[Any]) -> None:
    """Per event kind, in order: the same data (usage compared field by field)."""

    def by_kind(items: list[Any]) -> dict[Any, list[Any]]:
        grouped: dict[Any, list[Any]] = {}
        for item in items:
            grouped.setdefault(item[0], []).append(item[1:])
        return grouped

    want, got = by_kind(expected), by_kind(actual)
    assert set(want) == set(got), (expected, actual)
    for kind, rows in want.items():
        assert len(rows) == len(got[kind]), kind
        for wanted, have in zip(rows, got[kind], strict=True):
            if kind in (ev.Usage, ev.TurnComplete):
                sdk_usage, our_usage = wanted[0], have[0]
                if sdk_usage is None:
                    assert our_usage is None
                else:
                    _usage_matches(our_usage, sdk_usage)
                wanted, have = wanted[1:], have[1:]
            assert wanted == have, kind


def _fresh_protocol() -> LiveProtocol:
    return opened_protocol()


@s.budget(0.6)
@given(
    message=s.sdk_server_messages(),
    omit_defaults=st.booleans(),
    text_frame=st.booleans(),
)
def test_every_sdk_server_message_decodes_to_the_same_data(
    message: gt.LiveServerMessage, omit_defaults: bool, text_frame: bool
) -> None:
    wire = s.to_wire(message, omit_defaults=omit_defaults)
    frame = s.server_frame(wire)
    assert frame.endswith(b"}\n")
    # The SDK itself reads the frame back: the serialisation is the server's.
    read = sdk_read(frame)
    if not omit_defaults:
        assert read == message
    events = _fresh_protocol().receive_frame(frame.decode() if text_frame else frame)
    _same(expected_events(read, wire), actual_events(events))


SHARED_RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "recordings"


def _server_frames(path: Path) -> list[bytes]:
    frames, _ = parse_recording(path.read_bytes())
    return [frame for direction, frame in frames if direction == "<"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_recorded_server_frame_decodes_like_the_sdk_reads_it(name: str) -> None:
    protocol = LiveProtocol()
    count = 0
    for direction, frame in load(name):
        if direction == ">":
            setup = msgspec.json.decode(frame, type=ClientMessage).setup
            if setup is not None:
                protocol.start(setup)
            continue
        events = protocol.receive_frame(frame)
        _same(expected_events(sdk_read(frame), json.loads(frame)), actual_events(events))
        count += 1
    assert count >= 1


def test_every_frame_in_shared_recordings_decodes() -> None:
    # ../shared/recordings is the source of the vendored copies in tests/data/recordings:
    # every server frame there decodes, and the copies have not drifted.
    if not SHARED_RECORDINGS.is_dir():
        pytest.skip(f"{SHARED_RECORDINGS} is not present")
    logs = sorted(SHARED_RECORDINGS.glob("*.websocket.log"))
    assert logs
    for path in logs:
        for frame in _server_frames(path):
            sdk_read(frame)
            decode_server(frame)
        assert (RECORDINGS / path.name).read_bytes() == path.read_bytes()
