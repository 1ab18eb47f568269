"""The sans-IO protocol core: session state, commands to frames, frames to events.

A plain object with no I/O and no trio import (in the style of h11 and wsproto). Every
protocol decision lives here; the trio layer only moves bytes and events around.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import re
from collections.abc import Sequence
from typing import Any, Final, cast

import msgspec
from pybase64 import b64decode as _b64decode

from . import (
    _audio_fastpath as _fast,
    _events as ev,  # pyright: ignore[reportPrivateUsage]
    _text_fastpath as _text,
    _turn_fastpath as _turn,
)
from ._arguments import TOO_DEEP, describe, non_finite_path
from ._audio_fastpath import MIN_FRAME, audio_message
from ._audio_rate import audio_rate, audio_rates, sample_rate_of
from ._call_stream import CallStreams
from ._close_policy import CloseAction, classify_close
from ._codec import decode_client, decode_ordinary, encode_client
from ._errors import (
    ConfigurationError,
    ConnectionClosedError,
    LocalProtocolError,
    RemoteProtocolError,
    close_error_for,
    excerpt,
)
from ._pending_calls import NO_ID, CallReservation, PendingCalls
from ._proto_fields import check_integer_ranges
from ._setup_checks import (
    check_activity_detection,
    check_function_names,
    check_generation_config,
)
from ._setup_extra import EXTRA_HINT, check_extra, dropped_paths, merge_extra, setup_frame
from ._setup_hint import setup_hint
from ._setup_secrets import redact_json
from ._text_fastpath import MODEL, OUTPUT
from ._wire import (
    ActivityEnd,
    ActivityStart,
    Blob,
    ClientMessage,
    Content,
    ContextUpdate,
    FunctionCallPart,
    FunctionResponse,
    Part,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    Setup,
    Tool,
    ToolResponse,
    Transcription,
    UsageMetadata,
    VoiceConsentSignature,
)
from ._wire_checks import BUFFER_TYPES, buffer_problem, empty_part_problem, oneof_problem

__all__ = [
    "LiveProtocol",
    "SessionState",
    "check_setup",
    "parse_duration",
    "sample_rate_of",
    "with_context_update",
]

_log = logging.getLogger("trio_gemini_live.session")


class SessionState(enum.Enum):
    """Where a connection is in its life (protocol.md section 1.5)."""

    IDLE = "idle"
    AWAITING_SETUP_COMPLETE = "awaiting_setup_complete"
    OPEN = "open"
    GOING_AWAY = "going_away"
    CLOSED = "closed"


# Which states may send what: `setup` only from IDLE; `send` takes other messages in every
# state but CLOSED (from IDLE on they are queued, and the trio layer holds them back until
# OPEN so that they follow `setupComplete`); `encode`, for a resuming session, in any state.
# Read once: an enum member looked up on its class costs a descriptor call, every frame
# (`Final`: compiled, read from a C static rather than the module's dict).
_CLOSED: Final = SessionState.CLOSED
_OPEN: Final = SessionState.OPEN
_GOING_AWAY: Final = SessionState.GOING_AWAY
_CLIENT_FIELDS = len(ClientMessage.__struct_fields__)


def check_setup(setup: object) -> Setup:
    """`setup` as the server reads it, if it is a `Setup` whose fields have the right types.

    Checked as `frame_for` checks other messages, by reading the encoded message back: a
    wrong type (`live_setup(temperature="hot")`, `function_tool(name=1)`) would otherwise
    be sent and the server would close the session with 1007, often only saying "Request
    contains an invalid argument." The setup read back is returned: where a dict stood
    for a Struct (a `FunctionDeclaration` given as its JSON object), the code that reads
    the setup in force then finds the Struct.

    A field the wire Structs lack (a `Setup` or `Tool` subclass's own field, a key of a
    dict given for a Struct) is refused rather than dropped: such fields go in
    `Setup.extra`, which is checked here too (see `merge_extra`).

    A `str` in a bytes field (`voiceSampleAudio`, a part's `inlineData.data`), which
    msgspec would send as base64 text, is refused as a wrong type.

    Values of the right type that the server refuses are checked too: a part of the
    system instruction that sets two members of its `data` oneof (`text` and
    `inlineData`) or none (`Part()`, or only an empty `text`), a function name that
    breaks the Live API's rule (see `function_tool`) or that two declarations share,
    a sampling setting outside its documented range (`temperature` 0.0 to 2.0,
    `topP` 0.0 to 1.0, `topK`, `maxOutputTokens` and `candidateCount` at least 1),
    settings of automatic activity detection where it is disabled (they cannot take
    effect), and an integer its proto field cannot hold (an int32 past 2**31 - 1, say).

    Raises:
        ConfigurationError: `setup` is not a `Setup`, a field has the wrong type (its
            JSON path is named), a field would be lost or `extra` would replace a
            modelled value (named likewise), or a value is one the server refuses.
    """
    if not isinstance(setup, Setup):
        raise ConfigurationError(
            f"setup must be a Setup (see live_setup) or a model name, not {describe(setup)}"
        )
    problem = buffer_problem(setup, "setup")
    if problem is not None:
        raise ConfigurationError(f"the setup holds a value of the wrong type: {problem}")
    try:
        encoded = encode_client(ClientMessage(setup=setup))
        read_back = decode_client(encoded).setup
    # msgspec.ValidationError derives from ValueError only from msgspec 0.20 on.
    except (TypeError, ValueError, msgspec.EncodeError, msgspec.ValidationError) as exc:
        raise ConfigurationError(
            f"the setup holds a value the server would refuse (it would close the session "
            f"with 1007): {exc}"
        ) from None
    except RecursionError:
        raise ConfigurationError(f"the setup {TOO_DEEP}") from None
    assert read_back is not None
    problem = _hidden_buffer(setup, Setup)
    if problem is not None:
        raise ConfigurationError(f"the setup holds a value of the wrong type: {problem}")
    where = non_finite_path(msgspec.to_builtins(setup), "$")
    if where is not None:
        raise ConfigurationError(
            f"the setup holds NaN or an infinity at `{where}`: JSON has neither (it would be "
            "sent as null, as if the field were not set)"
        )
    sent = cast("dict[str, Any]", msgspec.json.decode(encoded))["setup"]
    dropped = dropped_paths(sent, msgspec.to_builtins(read_back), "setup")
    if dropped:
        # A `Setup`/`Tool` subclass's own field, or a key of a dict given for a Struct:
        # sent as the wire Structs have it, the setup would have lost them without a word.
        raise ConfigurationError(
            f"the setup holds {', '.join(dropped)}, which the wire Structs do not have: it "
            f"would not be sent. {EXTRA_HINT[0].upper()}{EXTRA_HINT[1:]}"
        )
    problem = oneof_problem(read_back, "setup") or empty_part_problem(read_back, "setup")
    if problem is not None:
        raise ConfigurationError(problem)
    check_extra(read_back)
    check_generation_config(read_back.generation_config, "setup.generationConfig")
    check_activity_detection(read_back.realtime_input_config, "setup.realtimeInputConfig")
    check_integer_ranges(read_back, "setup")
    tools = read_back.tools
    if read_back.extra is not None:
        # The tools as sent: `extra`'s own after the modelled ones (a name declared in
        # both, or twice in `extra`, is refused by the server as any other is).
        # `extra`'s tools in a shape the Structs do not read: the server judges them.
        with contextlib.suppress(msgspec.ValidationError):
            tools = msgspec.convert(merge_extra(read_back).get("tools") or [], list[Tool])
    check_function_names(tools, "setup.tools")
    return read_back


def with_context_update(setup: Setup, update: ContextUpdate) -> Setup:
    """`setup` as a `contextUpdate` leaves it: its system instruction and/or tools replaced.

    What `Setup.extra` adds to what is replaced goes too (tools it lists, fields it adds to
    the instruction): the `contextUpdate` replaced those on the server, and a resumed
    connection must carry the setup the server had.
    """
    extra = setup.extra
    if extra is not None:
        replaced = set[str]()
        if update.system_instruction is not None:
            replaced |= {"systemInstruction", "system_instruction"}
        if update.tools is not None:
            replaced |= {"tools"}
        extra = {key: value for key, value in extra.items() if key not in replaced} or None
    return msgspec.structs.replace(
        setup,
        system_instruction=update.system_instruction or setup.system_instruction,
        tools=update.tools.tools if update.tools is not None else setup.tools,
        extra=extra,
    )


_SETTLED_CALLS_KEPT = 256
"""How many settled call ids (answered, cancelled, incomplete) a protocol remembers."""
_DURATION = re.compile(r"-?\d+(\.\d+)?s")


def parse_duration(text: str) -> float:
    """Parse a protobuf Duration string such as `"50s"`, `"9.5s"` or `"-1s"` into seconds.

    proto3's JSON allows a negative Duration; a caller for whom only time ahead makes sense
    (a `goAway`'s time left) clamps it to 0.
    """
    body = text.strip()
    if not _DURATION.fullmatch(body):
        raise RemoteProtocolError(
            f"invalid Duration {excerpt(text, 40)}: expected a number of seconds + 's'"
        )
    return float(body[:-1])


class LiveProtocol:
    """The state of one Live API connection, without I/O.

    Feed it server frames with `receive_frame` and get events; turn client messages into
    frames with `send`. It tracks the state machine, the latest resumable handle, the
    number of client messages sent, the pending tool calls (`pending_calls`, where each
    call that came without an id is pending on its own) and the current model turn;
    `session_id` is that of the latest `setupComplete`, `voice_consent_signature` the
    newest one a `setupComplete` carried.

    `settled_calls` maps the ids of calls that left `pending_calls` to how they did:
    `"answered"` or `"cancelled"` (by a `toolCallCancellation`), or of streamed calls
    whose turn ended before their last piece, `"incomplete"`; the newest
    `_SETTLED_CALLS_KEPT` only. A result for a call the server cancelled may come after
    the cancellation was read; this tells it from an unknown id, on any later connection
    of the session too (`reset_for_resume` keeps it).
    """

    def __init__(self) -> None:
        self.state = SessionState.IDLE
        self.setup: Setup | None = None
        self.session_id: str | None = None
        self.voice_consent_signature: VoiceConsentSignature | None = None
        self.resumption_handle: str | None = None
        self.last_consumed_index: int | None = None
        self.messages_sent = 0
        self.frames_received = 0
        self.turn_id = 1
        self.pending_calls = PendingCalls()
        self.settled_calls: dict[str, str] = {}
        self.go_away_seconds: float | None = None
        self.generating = False
        # The server said `IN_PROGRESS` at a turn's end: more output may follow, in the next
        # turn, which has none yet (apart from `generating`: a resume must not skip its id).
        self.in_progress = False
        self._turn_interrupted = False
        self._streams = CallStreams()
        # Context updates queued before `start`: the setup they change is not known yet.
        self._early_updates: list[ContextUpdate] = []

    # --- commands -> frames ------------------------------------------------------------------

    def start(self, setup: Setup) -> bytes:
        """Return the `setup` frame that opens the session (only once, only first)."""
        if self.state is not SessionState.IDLE:
            raise LocalProtocolError(
                f"setup must be the first message and only the first (state: {self.state.value})"
            )
        if not _untyped(setup, "model"):
            raise LocalProtocolError("setup.model is required")
        self.setup = setup
        for update in self._early_updates:
            # Sent after the setup (the session holds messages back until it is open): the
            # server applies them to it, and so does the setup in force.
            self.setup = with_context_update(self.setup, update)
        self._early_updates.clear()
        self.state = SessionState.AWAITING_SETUP_COMPLETE
        return setup_frame(setup)

    def send(self, message: ClientMessage) -> bytes:
        """Return the frame for a non-setup client message, and record its effects.

        Call `frame_sent` once the frame is actually written, so that `messages_sent`
        counts what reached the socket, in order.
        """
        if self.state is _CLOSED:  # identity: hashing an enum member runs Python code
            raise LocalProtocolError(f"cannot send in state {self.state.value}")
        return self.encode(message)

    def encode(self, message: ClientMessage) -> bytes:
        """`send` in any state: `frame_for` then `commit`.

        Between a connection's close and the next connection's `reset_for_resume` the state
        is `CLOSED`, yet a resuming session writes the message on the next connection.
        """
        frame = self.frame_for(message)
        self.commit(message)
        return frame

    def frame_for(self, message: ClientMessage) -> bytes:
        """Check and encode a non-setup client message, changing no state (see `commit`).

        A field of the wrong type anywhere in the message (a `str` where a `Content`
        belongs, or in a bytes field such as `Blob.data`, say) is refused here rather than
        by the server, which closes the session with 1007 (or reads the `str` as base64,
        other bytes): a `realtimeInput` is checked field by field (its media is not
        decoded again), any other message by decoding the frame back as the server would
        read it. So is a part that sets two members of its `data` oneof (`text` and
        `inlineData` in one `Part`), or a `Part` that carries no data (`Part()`, or only
        an empty `text`, without a `thought_signature`): the server refuses both with 1007.

        Raises:
            LocalProtocolError: a `setup`, not exactly one top-level field, a value msgspec
                cannot encode, a field of the wrong type (its JSON path is named), a part
                with two members of its `data` oneof or a `Part` with no data (named
                likewise), or a
                `toolResponse` without any function response.
        """
        if message.setup is not None:
            raise LocalProtocolError("setup must be the first message and only the first")
        present = _CLIENT_FIELDS - msgspec.structs.astuple(message).count(None)
        if present != 1:
            raise LocalProtocolError(
                f"a client message carries exactly one top-level field, this one has {present}"
            )
        tool = message.tool_response
        # (Of the wrong type, it is left to the check below, which names its path.)
        responses = _untyped(tool, "function_responses") if tool is not None else None
        if isinstance(responses, list) and not responses:
            raise LocalProtocolError(
                "a toolResponse needs at least one function response: with none it answers no call"
            )
        realtime = message.realtime_input
        checked = type(realtime) is RealtimeInput  # else a substitute: decoded back below
        if realtime is not None and checked:
            problem = _realtime_problem(realtime)
            if problem is not None:
                raise LocalProtocolError(f"a field has the wrong type: {problem}")
        else:
            # Before encoding: a `str` that is no base64 would be refused as "invalid
            # base64", one that is would be read back as other bytes.
            problem = buffer_problem(message, "$")
            if problem is not None:
                raise LocalProtocolError(f"a field has the wrong type: {problem}")
        try:
            frame = encode_client(message)
        except (TypeError, ValueError, BufferError, msgspec.EncodeError, RecursionError) as exc:
            # RecursionError: nested past the interpreter's limit ("maximum recursion depth
            # exceeded while serializing an object").
            raise LocalProtocolError(
                f"cannot encode the message{_unencodable_response(message)}: {exc}"
            ) from None
        if not checked:
            try:
                read_back = decode_client(frame)
            except msgspec.ValidationError as exc:
                raise LocalProtocolError(f"a field has the wrong type: {exc}") from None
            problem = _hidden_buffer(message, ClientMessage)
            if problem is not None:
                raise LocalProtocolError(f"a field has the wrong type: {problem}")
            problem = oneof_problem(read_back, "$") or empty_part_problem(read_back, "$")
            if problem is not None:
                raise LocalProtocolError(problem)
        return frame

    def reserve_answers(self, response: ToolResponse) -> CallReservation:
        """Hold the pending calls `response` answers while it waits to be queued.

        A session reserves them before it waits for room in its queue, and `commit`s with
        the reservation once the frame is queued, or releases it (`release_answers`) if it
        never is: meanwhile the calls stay pending, but no other response takes them (a
        response without an id answers the next call of its name), so a session can refuse
        a second answer to a call rather than send both.
        """
        # A response with `willContinue` (a NON_BLOCKING call's, protocol.md 2.4) is one of
        # several: it holds no call, which stays pending for the next; the last settles it.
        return self.pending_calls.reserve_all(
            (answer.id or NO_ID, answer.name)
            for answer in _responses(response)
            if not answer.will_continue
        )

    def release_answers(self, reservation: CallReservation) -> None:
        """The response of `reservation` was not queued: its calls can be answered again.

        Frees nothing once `commit` took them, nor a call the server cancelled or a resume
        forgot meanwhile (one under the same id on a later connection included).
        """
        self.pending_calls.release_all(reservation)

    def commit(self, message: ClientMessage, reservation: CallReservation | None = None) -> None:
        """Record what a message changes, once it is certain to be written.

        A tool response answers its calls (they leave `pending_calls`); a `contextUpdate`
        changes the setup in force, which a resumed connection carries (one committed
        before `start` changes the setup `start` is given, as it is sent after it). A
        session calls
        this when the frame is queued (the queue outlives connections, so a queued frame
        reaches the server on this connection or the next), never for a send that was
        cancelled or refused: that one changes nothing. With the `reservation` its tool
        response made (`reserve_answers`), it answers exactly the calls reserved, those
        still pending: not a call that came after a resume, under the same id or, without
        an id, with the same name.
        """
        update = message.context_update
        if update is not None and self.setup is not None:
            # Keep the setup in force current, so that a resumed connection carries it.
            self.setup = with_context_update(self.setup, update)
        elif update is not None:
            self._early_updates.append(update)  # applied to the setup `start` is given
        if reservation is not None:
            # Queued: it takes no call that arrives from now on (the server may read it first).
            self.pending_calls.stop_seeking(reservation)
            for key in reservation.keys:
                if self.pending_calls.settle(key, reservation):
                    self._settle(key if isinstance(key, str) else None, "answered")
        elif message.tool_response is not None:
            for response in _responses(message.tool_response):
                if response.will_continue:
                    continue  # one of several: its call stays pending (`reserve_answers`)
                # A response without an id (Vertex allows it) answers the oldest call
                # without one of its name: each such call is pending until answered.
                if self.pending_calls.answer(response.id or NO_ID, response.name):
                    self._settle(response.id, "answered")

    def frame_sent(self) -> None:
        """Count one client message (other than setup) as written to the socket."""
        self.messages_sent += 1

    # --- frames -> events --------------------------------------------------------------------

    def receive_frame(self, frame: bytes | bytearray | memoryview | str) -> list[ev.LiveEvent]:
        """Decode one server frame and return the events it carries, in wire order.

        A binary frame may come in any buffer; `bytes` takes the fast paths.
        """
        state = self.state
        if state is not _OPEN and state is not _GOING_AWAY:
            if state is _CLOSED:
                raise LocalProtocolError("received a frame after the connection closed")
            return self._receive_first(frame)
        if type(frame) is bytes:
            if len(frame) >= MIN_FRAME:
                # Most frames of a session are audio frames with the same skeleton: their one
                # event is made here, as `receive_message` would make it. This is
                # `_audio_fastpath.decode_audio_pcm` written out (the hottest path there is:
                # a call and a tuple less per frame); keep the two in step.
                for prefix, suffix, start, tail, mime, _, rate in _fast.remembered.skeletons:
                    if (
                        frame.startswith(prefix)
                        and frame.endswith(suffix)
                        and start + tail <= len(frame)
                    ):
                        try:
                            # (None, True): `validate=True` by position (see decode_audio_pcm);
                            # a memoryview: the base64 text is read in place, not copied.
                            pcm = _b64decode(_memoryview(frame)[start:-tail], None, True)
                        except ValueError:  # not strict base64: the ordinary path decides
                            break
                        self.frames_received += 1
                        if not rate:
                            return self.receive_message(audio_message(pcm, mime))
                        self.generating = True
                        turn = self.turn_id
                        return [
                            _AudioDelta(pcm=pcm, sample_rate=rate, turn_id=turn, mime_type=mime)
                        ]
            else:
                # Likewise transcript frames, the commonest of the others, and text answers:
                # `_text_fastpath.decode_text` written out, as for audio (a call and a tuple
                # less per frame pay for the detail fields the transcript events carry, whose
                # defaults each construction fills in); keep the two in step. Here, unlike
                # there, `startswith`/`endswith`: compiled (the default build) they cost 15%
                # less per frame than two slices; interpreted, 20% more.
                for prefix, suffix, start, end, kind, _ in _text.remembered.skeletons:
                    if frame.startswith(prefix) and frame.endswith(suffix):
                        try:
                            text = frame[start:end].decode()
                        except UnicodeDecodeError:
                            break
                        # Empty: the frame is shorter than prefix and suffix, or holds `""`.
                        if not text or '"' in text or "\\" in text or not text.isprintable():
                            break
                        self.frames_received += 1
                        if kind == OUTPUT:
                            self.generating = True
                            return [_OutputTranscription(text=text, turn_id=self.turn_id)]
                        if kind == MODEL:
                            self.generating = True
                            return [_TextDelta(text=text, turn_id=self.turn_id)]
                        return [_InputTranscription(text=text)]
            # A turn's end: `_turn_fastpath.decode_turn_end` written out, as above; keep
            # the two in step. With a streamed call open the turn's end also abandons it:
            # the ordinary path does that.
            skeletons: tuple[tuple[bytes, bytes, int, int], ...] = (
                () if self._streams.open else _turn.remembered.skeletons
            )
            for prefix, suffix, start, end in skeletons:
                if frame.startswith(prefix) and frame.endswith(suffix) and start - end < len(frame):
                    try:
                        usage = _usage_decoder.decode(frame[start:end])
                    except (msgspec.DecodeError, RecursionError, UnicodeError):
                        break
                    self.frames_received += 1
                    return [self._end_turn(usage, None, None)]
        message, unknown = decode_ordinary(frame)
        self.frames_received += 1
        events = self.receive_message(message)
        if unknown is not None:
            events += [ev.UnknownMessage(key=key, payload=value) for key, value in unknown.items()]
        return events

    def _receive_first(self, frame: bytes | bytearray | memoryview | str) -> list[ev.LiveEvent]:
        """`receive_frame` before `setupComplete`, which must be the server's first message.

        Anything else first would be delivered ahead of `SessionCreated` (a session's first
        event), under a setup the server has not accepted: it is refused instead.
        """
        message, unknown = decode_ordinary(frame)
        if message.setup_complete is None:
            sent = [
                name
                for name, value in zip(_SERVER_KEYS, msgspec.structs.astuple(message), strict=True)
                if value is not None
            ]
            # Unknown keys cut short (then quoted): the server may make them megabytes long.
            sent += (key if len(key) <= 60 else excerpt(key) for key in unknown or ())
            raise RemoteProtocolError(
                f"the server sent {', '.join(sent) or 'an empty message'} before "
                "setupComplete, which must be its first message"
            )
        self.frames_received += 1
        events = self.receive_message(message)
        if unknown is not None:
            events += [ev.UnknownMessage(key=key, payload=value) for key, value in unknown.items()]
        return events

    def receive_message(self, message: ServerMessage) -> list[ev.LiveEvent]:
        """Turn a decoded server message into events (every key present is processed).

        The top-level keys `ServerMessage` does not know are not in `message`: the
        `UnknownMessage` events for them come from `receive_frame`.
        """
        out: list[ev.LiveEvent] = []
        # Parsed first, so that a bad value rejects the frame before any state changes.
        go_away = (
            # A negative time left (proto3 allows it) is a deadline already past: move now.
            max(0.0, parse_duration(message.go_away.time_left or "0s"))
            if message.go_away is not None
            else None
        )
        update = message.session_resumption_update
        index = _int64(update.last_consumed_client_message_index) if update is not None else None
        if message.setup_complete is not None:
            if self.state is SessionState.IDLE:
                raise RemoteProtocolError("setupComplete arrived before setup was sent")
            if self.state is SessionState.AWAITING_SETUP_COMPLETE:
                self.state = SessionState.OPEN
            self.session_id = message.setup_complete.session_id
            signature = message.setup_complete.voice_consent_signature
            if signature is not None:
                self.voice_consent_signature = signature
            out.append(
                ev.SessionCreated(session_id=self.session_id, voice_consent_signature=signature)
            )
            # As sent (`extra` merged in), a tool's or `extra`'s credential shown REDACTED.
            setup_dict: dict[str, Any] = redact_json(merge_extra(self.setup)) if self.setup else {}
            out.append(ev.SessionUpdated(setup=setup_dict))
        content = message.server_content
        if content is not None:
            self._server_content(content, message, out)
        elif message.usage_metadata is not None:
            out.append(ev.Usage(usage=_usage(message.usage_metadata)))
        if message.tool_call is not None:
            calls: Sequence[FunctionCallPart] = message.tool_call.function_calls
            if len(calls) > 1:
                calls = _without_repeats(calls)
            for call in calls:
                self._function_call(call, None, out)
        if message.tool_call_cancellation is not None:
            self._cancellation(tuple(message.tool_call_cancellation.ids), out)
        if go_away is not None:
            seconds = go_away
            self.go_away_seconds = seconds
            if self.state is SessionState.OPEN:
                self.state = SessionState.GOING_AWAY
            out.append(ev.GoAway(time_left=seconds))
        if update is not None:
            if index is not None:
                self.last_consumed_index = index
            if update.resumable and update.new_handle:
                self.resumption_handle = update.new_handle
            out.append(
                ev.ResumptionUpdate(
                    handle=update.new_handle or None,
                    resumable=update.resumable,
                    last_consumed_client_message_index=index,
                )
            )
        if message.voice_activity is not None:
            activity = message.voice_activity
            out.append(
                ev.VoiceActivity(
                    activity=activity.voice_activity_type or "",
                    audio_offset=activity.audio_offset,
                )
            )
        if message.voice_activity_detection_signal is not None:
            signal = message.voice_activity_detection_signal.vad_signal_type or ""
            out.append(ev.VoiceActivity(activity=signal))
        return out

    def _server_content(
        self, content: ServerContent, message: ServerMessage, out: list[ev.LiveEvent]
    ) -> None:
        turn = self.turn_id
        model_turn = content.model_turn
        output_transcription = content.output_transcription
        if model_turn is not None:
            self.generating = True
            self._model_turn(model_turn, turn, out)
        elif output_transcription is not None and _said(output_transcription):
            # (Not an empty one: Google sends `outputTranscription: {}`, which says
            # nothing, and one after `turnComplete` would have the model generating until
            # the next turn ends: a `goAway` move would wait for it.)
            self.generating = True
        chunk = content.input_transcription
        if chunk is not None and _said(chunk):
            out.append(ev.InputTranscription(**_transcription_fields(chunk)))
        chunk = content.interim_input_transcription
        if chunk is not None and _said(chunk):
            out.append(ev.InterimInputTranscription(**_transcription_fields(chunk)))
        chunk = output_transcription
        if chunk is not None and _said(chunk):
            out.append(ev.OutputTranscription(turn_id=turn, **_transcription_fields(chunk)))
        if content.grounding_metadata is not None:
            out.append(ev.GroundingMetadata(metadata=content.grounding_metadata))
        if content.url_context_metadata is not None:
            out.append(ev.UrlContextMetadata(metadata=content.url_context_metadata))
        if content.waiting_for_input:
            out.append(ev.WaitingForInput())
        if content.generation_complete:
            out.append(ev.GenerationComplete(turn_id=turn))
        if (content.interrupted or content.turn_complete) and self._streams.open:
            # The model stopped before the last piece of these calls: they never complete.
            ids = self._streams.abandon()
            for call_id in ids:
                self._settle(call_id, "incomplete")
            out.append(ev.ToolCallCancellation(ids=ids, reason="incomplete"))
        if content.interrupted:
            self._turn_interrupted = True
            out.append(ev.Interrupted(turn_id=turn))
        if content.interaction_status == "IDLE" and not content.turn_complete:
            self.generating = False  # fully done, said apart from its `turnComplete`
            self.in_progress = False
        if content.turn_complete:
            out.append(
                self._end_turn(
                    message.usage_metadata,
                    content.turn_complete_reason,
                    content.interaction_status,
                )
            )
        elif message.usage_metadata is not None:
            out.append(ev.Usage(usage=_usage(message.usage_metadata)))

    def _end_turn(
        self, usage: UsageMetadata | None, reason: str | None, status: str | None
    ) -> ev.TurnComplete:
        """The `TurnComplete` of a `turnComplete` (with the frame's usage); the next turn begins."""
        event = _TurnComplete(
            turn_id=self.turn_id,
            usage=_usage(usage) if usage is not None else None,
            reason=reason,
            interaction_status=status,
            interrupted=self._turn_interrupted,
        )
        self.turn_id += 1
        # `IN_PROGRESS`: the server is still at work and more output may follow (the SDK's
        # receive() ends the turn only on `IDLE` then); a move must wait.
        self.generating = False
        self.in_progress = status == "IN_PROGRESS"
        self._turn_interrupted = False
        return event

    def _model_turn(self, model_turn: Content, turn: int, out: list[ev.LiveEvent]) -> None:
        for part in model_turn.parts:
            blob = part.inline_data
            if blob is not None:
                mime = blob.mime_type
                rate = audio_rates.get(mime)
                if rate is None:
                    rate = audio_rate(mime)
                if rate:
                    out.append(
                        _AudioDelta(pcm=blob.data, sample_rate=rate, turn_id=turn, mime_type=mime)
                    )
                else:
                    out.append(ev.InlineData(data=blob.data, mime_type=mime, turn_id=turn))
            if part.text is not None:
                out.append(
                    ev.TextDelta(
                        text=part.text,
                        turn_id=turn,
                        thought=bool(part.thought),
                        thought_signature=part.thought_signature,
                    )
                )
            if part.executable_code is not None:
                code = part.executable_code
                out.append(
                    ev.ExecutableCode(
                        language=code.language, code=code.code, turn_id=turn, id=code.id
                    )
                )
            if part.code_execution_result is not None:
                result = part.code_execution_result
                out.append(
                    ev.CodeExecutionResult(
                        outcome=result.outcome, output=result.output, turn_id=turn, id=result.id
                    )
                )
            if part.function_call is not None:
                self._function_call(part.function_call, part.thought_signature, out)
            if part.function_response is not None:
                self._function_output(part, turn, out)
            if part.file_data is not None:
                file = part.file_data
                out.append(
                    ev.FileReference(
                        file_uri=file.file_uri,
                        mime_type=file.mime_type,
                        display_name=file.display_name,
                        turn_id=turn,
                    )
                )
            signature = part.thought_signature
            if signature is not None and part.text is None and part.function_call is None:
                # A part of its own, or with an event that has no field for it: not lost.
                out.append(ev.ThoughtSignature(signature=signature, turn_id=turn))

    def _function_call(
        self, call: FunctionCallPart, signature: bytes | None, out: list[ev.LiveEvent]
    ) -> None:
        """The events of a function call or one piece of a streamed one (`CallStreams`).

        A call is pending once, when it is whole: a streamed call at its last piece.

        A call opens a turn when it is its first output (Vertex sends it before any
        modelTurn): the model answers after the response, then ends the turn. Not idle
        till then, or a move would cut that answer off and the resumed server asks for the
        tool again. A piece `feed` drops (it continues no call and has no name) opens none.
        """
        streams = self._streams
        if streams.open or call.will_continue or call.partial_args is not None or not call.name:
            delta, done = streams.feed(call, signature)
            if delta is not None:
                self.generating = True
                out.append(delta)
            if done is not None:
                self.generating = True
                self.pending_calls.add(done.call_id, done.name)
                out.append(done)
            return
        self.generating = True
        # A whole call, with no other call streaming (`feed` gives the same then), on its
        # own path: it comes in every tool call frame.
        call_id = call.id or NO_ID
        self.pending_calls.add(call_id, call.name)
        arguments = call.args or {}
        out.append(
            _FunctionCall(
                call_id=call_id, name=call.name, arguments=arguments, thought_signature=signature
            )
        )

    def _function_output(self, part: Part, turn: int, out: list[ev.LiveEvent]) -> None:
        """A `functionResponse` part: the server reports a call's result in its own turn.

        It answers the call it names by id: a pending call is settled, so that the session
        is idle again and a second answer is refused. One without an id settles nothing:
        which call without an id it reports cannot be told (the oldest pending one of its
        name may be a later call, the client having answered the one reported), and
        settling the wrong one would leave the client unable to answer the call the server
        still waits for.
        """
        response = part.function_response
        assert response is not None
        call_id = response.id
        if call_id and self.pending_calls.answer(call_id, response.name):
            self._settle(call_id, "answered")
        out.append(
            ev.FunctionCallOutput(
                call_id=response.id or NO_ID,
                name=response.name,
                response=response.response or {},
                turn_id=turn,
                will_continue=bool(response.will_continue),
                scheduling=response.scheduling,
                parts=tuple(response.parts or ()),
            )
        )

    def _cancellation(self, ids: tuple[str, ...], out: list[ev.LiveEvent]) -> None:
        """A `toolCallCancellation`: its calls leave `pending_calls` and the open streams.

        An id already reported `"incomplete"` (the turn ended, by a barge-in say, before
        the call's last piece) is not reported again.
        """
        streaming = self._streams.cancel(ids)
        settled = self.settled_calls
        fresh = tuple(call_id for call_id in ids if settled.get(call_id) != "incomplete")
        for call_id in fresh:
            if call_id in streaming:
                streaming.remove(call_id)  # not pending: no other call to cancel in its stead
            else:
                self.pending_calls.cancel(call_id)
            if settled.get(call_id) != "answered":
                # One that crossed our answer on the wire stays answered: a second answer
                # must still be refused as such, not taken as the first of a cancelled call.
                self._settle(call_id, "cancelled")
        if fresh or not ids:
            out.append(ev.ToolCallCancellation(ids=fresh))

    def unanswerable(self, call_id: str) -> str | None:
        """Why a response must not answer `call_id`, if it must not (else None).

        `"streaming"`: its arguments are still coming; `"incomplete"`: its turn ended
        before their last piece. None for a pending call, or one nothing is known against.
        """
        if not call_id or call_id in self.pending_calls:
            return None
        if self.settled_calls.get(call_id) == "incomplete":
            return "incomplete"
        return "streaming" if call_id in self._streams.open else None

    def _settle(self, call_id: str | None, how: str) -> None:
        """Record how a call ended (see `settled_calls`), forgetting the oldest past the bound."""
        if not call_id:
            return  # "" names whichever call comes next without an id: nothing to remember
        settled = self.settled_calls
        settled.pop(call_id, None)  # newest last
        settled[call_id] = how
        if len(settled) > _SETTLED_CALLS_KEPT:
            del settled[next(iter(settled))]

    @property
    def streaming_calls(self) -> tuple[str, ...]:
        """Ids of the calls whose arguments are still streaming (`FunctionCallDelta`).

        Not pending yet (nothing can answer them before their last piece); a resume
        cancels them with the pending calls.
        """
        return self._streams.open_ids

    @property
    def idle(self) -> bool:
        """No model turn in progress and no tool call awaiting its response."""
        return not self.generating and not self.in_progress and not self.pending_calls

    def reset_for_resume(self) -> None:
        """Prepare for the next connection of the same session (resumption).

        The handle, turn ids and setup are kept; the per-connection message count restarts
        and calls pending on the old connection are forgotten (the caller reports them).
        """
        self.state = SessionState.IDLE
        self.messages_sent = 0
        self.pending_calls.clear()
        self._streams.new_connection()
        if self.generating:
            self.turn_id += 1  # the cut-off turn is abandoned; the answer comes as a new turn
        self.generating = False
        self.in_progress = False
        self._turn_interrupted = False
        self.go_away_seconds = None

    # --- closing -----------------------------------------------------------------------------

    def close_received(self, code: int, reason: str) -> tuple[CloseAction, ConnectionClosedError]:
        """Record that the connection closed; say what to do and the typed error for it.

        A 1007 while the setup awaits `setupComplete` is the server refusing that setup
        (on the first connection, a resume or an `update_setup`): its reason seldom says
        why, so the error carries a `hint` naming what in the setup may be the cause.
        """
        state = self.state
        self.state = SessionState.CLOSED
        action = classify_close(code, reason, after_go_away=state is SessionState.GOING_AWAY)
        hint = ""
        if code == 1007 and state is SessionState.AWAITING_SETUP_COMPLETE:
            try:
                hint = setup_hint(self.setup)
            except Exception:  # advice only: it must never take the close error's place
                hint = ""
        return action, close_error_for(code, reason, hint=hint)


# `realtimeInput` fields and the types they take (the Blobs are checked apart).
_REALTIME_FIELDS: tuple[tuple[str, str, type | tuple[type, ...]], ...] = (
    ("text", "text", str),
    ("audio_stream_end", "audioStreamEnd", bool),
    ("activity_start", "activityStart", ActivityStart),
    ("activity_end", "activityEnd", ActivityEnd),
)
_BUFFERS = (bytes, bytearray, memoryview)


def _realtime_problem(realtime: RealtimeInput) -> str | None:
    """What in a `realtimeInput` has the wrong type, if anything (with its JSON path)."""
    for name, wire, types in _REALTIME_FIELDS:
        misfit = _misfit(_untyped(realtime, name), types)
        if misfit is not None:
            return f"$.realtimeInput.{wire} cannot be {misfit}"
    blobs = [(name, _untyped(realtime, name)) for name in ("audio", "video")]
    chunks = _untyped(realtime, "media_chunks")
    misfit = _misfit(chunks, list)
    if misfit is not None:
        return f"$.realtimeInput.mediaChunks must be a list, not {misfit}"
    if isinstance(chunks, list):  # (a cast of None or () to a list fails when compiled)
        listed = cast("list[object]", chunks)
        blobs += [(f"mediaChunks[{index}]", blob) for index, blob in enumerate(listed)]
    for name, blob in blobs:
        misfit = _misfit(blob, Blob)
        if misfit is not None:
            return f"$.realtimeInput.{name} must be a Blob, not {misfit}"
        if blob is None:
            continue
        # A Blob, whose fields may still hold anything.
        misfit = _misfit(_untyped(blob, "data"), _BUFFERS)
        if misfit is not None:
            return f"$.realtimeInput.{name}.data must be {BUFFER_TYPES}, not {misfit}"
        misfit = _misfit(_untyped(blob, "mime_type"), str)
        if misfit is not None:
            return f"$.realtimeInput.{name}.mimeType cannot be {misfit}"
    return None


def _untyped(struct: object, name: str) -> object:
    """A field of a caller's Struct as it is, whatever its annotation promises.

    For the checks that say what has the wrong type: compiled (the default build), a typed
    read checks the type itself and raises a bare `TypeError` before they could.
    """
    return getattr(struct, name)


def _responses(tool: ToolResponse) -> Sequence[FunctionResponse]:
    """`tool.function_responses`, which a caller may give as any sequence (a tuple...)."""
    return cast("Sequence[FunctionResponse]", _untyped(tool, "function_responses"))


def _hidden_buffer(value: msgspec.Struct, kind: type[msgspec.Struct]) -> str | None:
    """The words msgspec has for a bytes-like value where the wire has a string, or None.

    Decoding the frame back cannot see one: msgspec writes bytes as base64 text, which
    reads back as a string, so `Part(text=b"hello")` would go out as the text "aGVsbG8=".
    """
    try:
        # str_keys: JSON writes any key as a string, as the frame read back has it.
        plain = msgspec.to_builtins(value, builtin_types=_BUFFERS, str_keys=True)
        msgspec.convert(plain, kind)
    except msgspec.ValidationError as exc:
        return str(exc)
    return None


def _misfit(value: object, types: type | tuple[type, ...]) -> str | None:
    """The type name of `value` unless it is None or one of `types`."""
    if value is None or isinstance(value, types):
        return None
    return type(value).__name__


_SERVER_KEYS = ServerMessage.__struct_encode_fields__  # the wire names, in field order
# `Final`: compiled, each is then read from a C static, not looked up in the module's dict,
# every frame (`MIN_FRAME` and `_b64decode` stay plain globals: tests patch them).
_memoryview: Final = memoryview
_AudioDelta: Final = ev.AudioDelta  # one global look-up per audio part, not two
_FunctionCall: Final = ev.FunctionCall
_TurnComplete: Final = ev.TurnComplete
_usage_decoder: Final = _turn.usage_decoder
_OutputTranscription: Final = ev.OutputTranscription
_InputTranscription: Final = ev.InputTranscription
_TextDelta: Final = ev.TextDelta


def _usage(usage: UsageMetadata) -> UsageMetadata:
    """Usage with Vertex's `candidates*` counts also under the Gemini API's `response*` names.

    google-genai renames them the same way, so `response_token_count` means the answer's
    tokens on both backends; the `candidates*` fields keep what Vertex sent.
    """
    if not usage.candidates_token_count or usage.response_token_count:
        return usage
    return msgspec.structs.replace(
        usage,
        response_token_count=usage.candidates_token_count,
        response_tokens_details=usage.response_tokens_details or usage.candidates_tokens_details,
    )


def _said(chunk: Transcription) -> bool:
    """Whether a transcription chunk says anything (Google also sends `{}`).

    A detail alone (a language, a speaker, an offset) is something said too: the event
    carries it as sent.
    """
    return bool(
        chunk.text
        or chunk.finished
        or chunk.words
        or chunk.language_code
        or chunk.speaker_label
        or chunk.start_offset
        or chunk.end_offset
    )


def _transcription_fields(chunk: Transcription) -> dict[str, Any]:
    """The fields the three transcription events share, from one wire chunk."""
    words = chunk.words
    return {
        "text": chunk.text,
        "finished": chunk.finished,
        "language_code": chunk.language_code,
        "speaker_label": chunk.speaker_label,
        "words": tuple(words) if words else (),  # a tuple: events are frozen
        "start_offset": chunk.start_offset,
        "end_offset": chunk.end_offset,
    }


def _unencodable_response(message: ClientMessage) -> str:
    """Which function response of `message` cannot be encoded, for the error (or "").

    `respond` names its call itself; a `send_tool_response` or `send` of several
    responses named none, and the application could not tell which result to fix.
    """
    answer = message.tool_response
    if answer is None:
        return ""
    for index, response in enumerate(answer.function_responses):
        try:
            msgspec.json.encode(response)
        except (TypeError, ValueError, BufferError, msgspec.EncodeError, RecursionError):
            return f" (function response {response.id or ''!r}, functionResponses[{index}])"
    return ""


def _int64(value: int | str | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        raise RemoteProtocolError(f"invalid int64 value {excerpt(value, 40)}") from None


def _without_repeats(calls: Sequence[FunctionCallPart]) -> Sequence[FunctionCallPart]:
    """A toolCall's whole calls without a repeat of an id an earlier one of them has.

    One id is one call, which takes one response: a repeat made a second `FunctionCall`
    event that no answer could settle ("answered already"). It is dropped, and logged. The
    pieces of a streamed call share their id, and are left to `CallStreams`.
    """
    seen: set[str] = set()
    kept: list[FunctionCallPart] = []
    for call in calls:
        whole = call.name and not call.will_continue and call.partial_args is None
        if whole and call.id:
            if call.id in seen:
                _log.warning(
                    "dropped a repeat of function call %s (id %s) in one toolCall: one id "
                    "is one call, answered once",
                    excerpt(call.name),
                    excerpt(call.id),
                )
                continue
            seen.add(call.id)
        kept.append(call)
    return kept
