"""The trio layer: a session that lives across connections, and `open_session`.

Each connection runs a sender, a receiver and a heartbeat task (`_connection.py`), joined to
the user only by two bounded memory channels that outlive the connection. When a connection
ends with `goAway` or a retryable drop, the supervisor (`_supervisor.py`) resumes on a new
one with the latest handle and replays what the server may not have consumed; the user's
stream just continues.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import random
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Sequence,
)
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TypeVar, cast

import msgspec
import trio

from . import _events as ev  # pyright: ignore[reportPrivateUsage]
from ._answering import SessionAnswers, check_finite
from ._arguments import (
    AUDIO_MIMES,
    audio_mime,
    check_bool,
    check_instance,
    check_pcm,
    check_sample_rate,
    check_str,
    media_buffer,
)
from ._codec import decode_client, encode_client
from ._connection import FLUSH, ConnectionOutcome, Outgoing, SessionCore
from ._endpoints import Endpoint, gemini_endpoint
from ._enum_names import with_declared_names
from ._errors import (
    ConfigurationError,
    GeminiLiveError,
    LocalProtocolError,
    SessionClosedError,
)
from ._groups import BlockErrors
from ._options import SessionOptions
from ._pending_calls import CallReservation
from ._proto_fields import gemini_only_paths, vertex_only_paths
from ._protocol import LiveProtocol, SessionState
from ._require_trio import require_trio
from ._resume import ACTIVITY_END, ACTIVITY_START, AUDIO_STREAM_END, ReplayBuffer
from ._schedule_point import schedule_point_after_write
from ._session_setup import (
    checked_tool_schemas as _checked_tool_schemas,
    gemini_api as _gemini_api,
    prepare_setup as _prepare_setup,
    refuse_gemini_only as _refuse_gemini_only,
    refuse_vertex_only as _refuse_vertex_only,
    struct_list as _struct_list,
    system_instruction as _system_instruction,
    tool_list as _tool_list,
    vertex_ai as _vertex_ai,
)
from ._setup import automatic_activity_detection
from ._setup_checks import check_function_names
from ._signals import DETECTION_SIGNALS
from ._streaming import AudioBuffer, stream_audio
from ._supervisor import SessionSupervisor
from ._transport import Connector
from ._update_ledger import CONTEXT_UPDATE
from ._wire import (
    ActivityEnd,
    ActivityStart,
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    ContextUpdate,
    FunctionDeclaration,
    FunctionResponse,
    Part,
    RealtimeInput,
    Setup,
    Tool,
    ToolResponse,
    ToolsUpdate,
    VoiceConsentSignature,
)

__all__ = ["LiveSession", "SessionStatistics", "open_session", "resolve_api_key"]

log = logging.getLogger("trio_gemini_live.session")

_T = TypeVar("_T")

_CLOSE_MARGIN = 1.0
"""Seconds `aclose` allows beyond its `close_timeout`s: the stream's own close (a TLS goodbye)."""


@dataclass(frozen=True)
class SessionStatistics:
    """A snapshot of a session's counters (see `LiveSession.statistics`).

    The counters cover the whole session, every connection of it (a resumed session
    counts on). Frames are WebSocket data messages, counted once written or read in full;
    WebSocket pings, pongs and close frames are not counted, and bytes are those of the
    JSON payloads, without WebSocket framing or TLS.

    Attributes:
        state: the current connection's state, a `SessionState` value (`"open"`,
            `"closed"`, ...).
        frames_sent: client messages written to the socket. The `setup` that opens each
            connection is left out; a message written again after a reconnect (replayed)
            counts again. A message is counted once written, not when `send_*` queues it.
        bytes_sent: the bytes of the messages `frames_sent` counts (`setup` left out too).
        frames_received: server messages read, on every connection, each one's
            `setupComplete` included.
        bytes_received: the bytes of the messages `frames_received` counts.
        events_buffered: events read from the server but not yet taken by the
            application (`receive` / `async for`); see `SessionOptions.event_buffer`.
        sends_queued: messages `send_*` queued that the sender has not yet taken for
            writing; see `SessionOptions.send_buffer`.
        messages_sent: client messages written, `setup` left out, replays counted again:
            the same count as `frames_sent` (each message is one frame).
        resumption_handle: the latest handle the server marked resumable (None before
            the first, or without session resumption).
        pending_tool_calls: tool calls received and not yet answered (nor cancelled),
            each call that came without an id counted (`LiveSession.pending_tool_calls`
            shows only the oldest of those).
        reconnects: connections resumed after the first one (after `goAway`, a drop or
            `update_setup`).
        replay_buffer_bytes: the bytes of client messages kept to be written again if
            the connection drops (those the server may not have taken into the state the
            latest handle resumes), as counted against `ReconnectPolicy.replay_limit_bytes`:
            their frames' bytes and 160 more each, about what keeping one costs besides.
            0 once the session has ended: nothing is replayed then, and the buffer is
            released.
    """

    state: str
    frames_sent: int
    bytes_sent: int
    frames_received: int
    bytes_received: int
    events_buffered: int
    sends_queued: int
    messages_sent: int
    resumption_handle: str | None
    pending_tool_calls: int
    reconnects: int
    replay_buffer_bytes: int


def resolve_api_key(api_key: str | None) -> str:
    """Return the given key, or `GEMINI_API_KEY` / `GOOGLE_API_KEY` from the environment."""
    key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
    if not key:
        raise ConfigurationError(
            "no API key: pass api_key=..., set GEMINI_API_KEY, or point the client at the "
            "local emulator"
        )
    return key


# (field, kind): a message is named by the first field it holds. The activity signals and
# `audioStreamEnd` come first: a message carrying one must never be written onto a connection
# whose setup refuses it (automatic activity detection on, or off: `ReplayPlan.onto`).
_REALTIME_KINDS = (
    ("activity_start", ACTIVITY_START),
    ("activity_end", ACTIVITY_END),
    ("audio_stream_end", AUDIO_STREAM_END),
    ("audio", "realtimeInput.audio"),
    ("video", "realtimeInput.video"),
    ("text", "realtimeInput.text"),
)
_MESSAGE_KINDS = (
    ("client_content", "clientContent"),
    ("tool_response", "toolResponse"),
    ("context_update", "contextUpdate"),
)


def _kind_of(message: ClientMessage) -> str:
    """Name a client message by its top-level key (and realtimeInput field)."""
    realtime = message.realtime_input
    if realtime is not None:
        return _first_held(realtime, _REALTIME_KINDS, "realtimeInput")
    return _first_held(message, _MESSAGE_KINDS, "unknown")


def _first_held(struct: object, kinds: tuple[tuple[str, str], ...], default: str) -> str:
    """The kind of the first of `kinds`' fields that `struct` holds, else `default`."""
    for field, kind in kinds:
        value = getattr(struct, field)
        # `audioStreamEnd: false` says nothing: such a message is not an `audioStreamEnd`.
        if value is not None and value is not False:
            return kind
    return default


class LiveSession(SessionAnswers, SessionSupervisor):
    """An open Live API session: send messages, iterate over events.

    Create it with `open_session`. Every `send_*` method queues one client message (it waits
    only when `SessionOptions.send_buffer` messages are already queued); messages sent
    before `setupComplete`, or while the session moves to a new connection, are held and
    written afterwards, in order. Iterate with `async for event in session` or call
    `receive()`. The stream continues across `goAway` and retryable drops (a `Reconnected`
    event marks the move) and ends with a `Closed` event.

    Every sending method (`send_*`, `stream_audio`, `respond`, `send_tool_response`,
    `update_context`, `update_setup`, the activity signals, `audio_stream_end`) raises
    `SessionClosedError` once the session is closed, and the session's own error (a
    `GeminiLiveError`: `ReconnectFailedError`, a `ConnectionClosedError` subclass, ...)
    once it has failed; their Raises sections list what else each checks.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        connector: Connector | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._options = options
        self._connector = connector
        # Bounded: when full, `send_*` waits for the sender (backpressure on the caller).
        self._outgoing_send, outgoing_receive = trio.open_memory_channel[Outgoing](
            options.send_buffer
        )
        # Bounded: when full, the receiver waits for the user (nothing is dropped).
        events_send, self._events_receive = trio.open_memory_channel[ev.LiveEvent](
            options.event_buffer
        )
        self._core = SessionCore(
            options=options,
            endpoint=endpoint,
            protocol=LiveProtocol(),
            events_send=events_send,
            outgoing_receive=outgoing_receive,
            replay=ReplayBuffer(options.reconnect.replay_limit_bytes),
        )
        # Events of a read made from the user's own task (see `Connection.read_for_consumer`)
        # not yet taken: they come before anything in the channel.
        self._pending: deque[ev.LiveEvent] = deque()
        self._core.set_aside = self._set_aside
        self._core.aside = self._pending
        self._failure: GeminiLiveError | None = None
        # Whether the application was given the session's error (raised by a call), or its
        # `Closed` event was discarded unread: `open_session`'s exit warns of an error the
        # application can have learnt nothing of.
        self._failure_told = False
        self._closed_unread = False
        self._closed_event = None
        self._not_sent = ()
        self._setup_ready = trio.Event()
        self._settled = trio.Event()
        self._first_outcome: ConnectionOutcome | None = None
        # `start` has stopped waiting for the first connection to open (it opened, failed,
        # or took too long): its outcome is the session's from then on.
        self._start_waited = False
        self._finished = trio.Event()
        self._close_deadline = math.inf  # when `aclose` stops waiting for the end
        # The supervisor's state (see `SessionSupervisor`).
        self._next_setup = None
        self._setup_requests = 0
        self._fallback_setup = None
        self._setups_refused = 0
        self._outage = None
        self._young_moves = 0
        self._ended = False
        self._rng = random.Random()
        self._resume_wait = trio.CancelScope()

    # --- public state ------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The state of the current connection (see `SessionState`)."""
        return self._core.protocol.state

    @property
    def setup(self) -> Setup | None:
        """The setup in force."""
        return self._core.protocol.setup

    @property
    def session_id(self) -> str | None:
        """The server's session id (Vertex AI only)."""
        return self._core.protocol.session_id

    @property
    def voice_consent_signature(self) -> VoiceConsentSignature | None:
        """The newest `setupComplete.voiceConsentSignature` of the session, or None.

        The server sends one after a setup that gave a replicated voice with its consent
        audio (the first, or one `update_setup` applied: then it is in `SessionCreated`
        or `Reconnected` too). Pass it back in a later setup's
        `ReplicatedVoiceConfig.voice_consent_signature` instead of the consent audio.
        """
        return self._core.protocol.voice_consent_signature

    @property
    def resumption_handle(self) -> str | None:
        """The latest handle the server marked resumable."""
        return self._core.protocol.resumption_handle

    @property
    def pending_tool_calls(self) -> dict[str, str]:
        """Tool calls awaiting a response: call id -> function name.

        Calls that came without an id (Vertex AI may send them; their `FunctionCall` has
        `call_id=""`) are each pending until answered, yet a dict holds one of them: under
        `""` is the oldest, the one `respond("", ...)` answers next.
        `statistics().pending_tool_calls` counts them all.
        """
        return self._core.protocol.pending_calls.as_dict()

    @property
    def not_sent(self) -> tuple[str, ...]:
        """What the application sent that was never written, once the session has ended.

        One line per kind and cause, as in `Closed.not_sent`: messages whose `send_*` had
        returned but that no connection wrote in full, still queued or cut off mid-write when the
        session ended (`aclose` during an outage, a queue a stalled uplink did not drain
        within `close_timeout`, a session ended by an error), and those written but not yet
        confirmed by the server when the application's close got no close frame back.
        Empty while the session runs, and when everything sent was written (and confirmed).
        """
        return self._not_sent

    @property
    def endpoint(self) -> Endpoint:
        """Where this session connects (its repr never shows secrets)."""
        return self._endpoint

    def statistics(self) -> SessionStatistics:
        """Counters and queue depths of this session."""
        core = self._core
        return SessionStatistics(
            state=core.protocol.state.value,
            frames_sent=core.frames_sent,
            bytes_sent=core.bytes_sent,
            frames_received=core.frames_received,
            bytes_received=core.bytes_received,
            events_buffered=(
                core.events_send.statistics().current_buffer_used
                + len(self._pending)
                + (self._closed_event is not None)
            ),
            sends_queued=self._outgoing_send.statistics().current_buffer_used,
            messages_sent=core.messages_sent_total,
            resumption_handle=core.protocol.resumption_handle,
            pending_tool_calls=len(core.protocol.pending_calls),
            reconnects=core.reconnects,
            replay_buffer_bytes=core.replay.size_bytes,
        )

    def __repr__(self) -> str:
        return f"<LiveSession {self._endpoint.display_url} state={self.state.value}>"

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self) -> ev.LiveEvent:
        """Return the next event (`async for event in session` yields the same).

        Typed `LiveEvent`, the union of the event classes a session yields, so that a type
        checker can check a `match` over it for exhaustiveness.

        Raises:
            trio.EndOfChannel: the session ended normally (close 1000) and every event
                was read.
            ConnectionClosedError: the server closed the connection with an error code (a
                subclass names the kind); raised after the `Closed` event was delivered.
            HeartbeatTimeoutError, RemoteProtocolError: the connection failed.
            ReconnectFailedError: resuming the session kept failing past the reconnect
                budget (`ReconnectPolicy`); raised after the `Closed` event was delivered.
            SetupTimeoutError: the first connection's setup was never accepted.
            SessionClosedError: called after the `open_session` block ended (the events
                nobody read were discarded then).
        """
        if self._pending:
            await trio.lowlevel.checkpoint()
            return self._pending.popleft()
        self._core.reader_task = trio.lowlevel.current_task()
        connection = self._core.current
        if connection is not None:
            connection.reclaim()  # this way of waiting reads nothing itself
        try:
            return await self._events_receive.receive()
        except trio.EndOfChannel:
            closed = self._closed_event_once()
            if closed is not None:
                return closed
            if self._failure is not None:
                raise self._told_failure() from None
            raise
        except trio.ClosedResourceError:
            raise _block_ended() from None

    def __aiter__(self) -> AsyncIterator[ev.LiveEvent]:
        # A class, not an async generator: a loop left early (`break`, a cancel scope) left
        # an unfinished generator for the garbage collector, and trio warned
        # (`ResourceWarning: Async generator ... was garbage collected`).
        return _EventIterator(self)

    def _closed_event_once(self) -> ev.Closed | None:
        """The `Closed` event the channel had no room for, once, after every other event."""
        closed = self._closed_event
        self._closed_event = None
        return closed

    def _settled_refusals(self) -> int | None:
        """Setups the server refused so far, or None while an `update_setup` is undecided.

        For the seed facade, which rebuilds its draft from the setup in force after a
        refusal, but not while a later setup (built from the draft that included the
        refused change) may still come into force.
        """
        return None if self._next_setup is not None else self._setups_refused

    def _frame_queued(self) -> None:
        current = self._core.current
        if current is not None:
            current.frame_queued()

    def _request_flush(self) -> None:
        """Have the sender write a reply (a pong) that a read from the user's task queued."""
        self._frame_queued()
        try:
            self._outgoing_send.send_nowait(FLUSH)
        except trio.WouldBlock:
            pass  # frames are queued: the sender's next write sends the reply with them
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass  # the session is ending

    # --- sending -----------------------------------------------------------------------------
    #
    # Every send method checks its arguments first and raises `LocalProtocolError` naming
    # the problem: a wrong value would otherwise be encoded as it is and the server would
    # close the whole session with 1007. State that a message changes (the pending tool
    # calls, the setup in force) changes only once the frame is queued (`_send_frame`).

    async def send(self, message: ClientMessage) -> None:
        """Queue any client message except `setup` (checked and encoded here).

        Raises:
            LocalProtocolError: `message` is not a `ClientMessage`, is a `setup`, has not
                exactly one top-level field, or holds a value of the wrong type (named by its
                JSON path, a `str` in a bytes field too; a `realtimeInput`, `toolResponse`
                or `contextUpdate` must be made of the structs, not dicts) or a part that
                sets two of its data fields (`text` and `inlineData`, say: the proto's
                `data` oneof; named likewise) or a `Part` with none (only an empty
                `text`, say); a function response holds NaN or an
                infinity or has `will_continue=True` for a function the setup in force
                declares BLOCKING; or it answers a tool call cancelled by a reconnect, a call the
                session knows was answered already, one whose answer is already on its
                way (a `respond` or `send_tool_response` waits for room in the queue;
                without an id: to each pending call without an id of its name), or one
                id twice; or it carries an activity signal that could reach a connection
                with automatic activity detection on (as for `activity_start`), or an
                `audioStreamEnd` that could reach one with it off (as for
                `audio_stream_end`).
            SessionClosedError: the session is closed.
        """
        message = check_instance(message, ClientMessage, "message")
        _check_stateful(message)
        kind = _kind_of(message)
        if kind in (ACTIVITY_START, ACTIVITY_END):
            # The same 1007 waits for a raw signal as for `activity_start()`.
            self._check_manual_activity(f"send() of {kind}")
        # Not `elif`: a message with a signal and `audioStreamEnd` must pass both checks.
        if message.realtime_input is not None and message.realtime_input.audio_stream_end is True:
            self._check_automatic_activity("send() of realtimeInput.audioStreamEnd")
        await self._send(message, kind)

    async def _send(self, message: ClientMessage, kind: str) -> None:
        """`send`, with the message's kind (for replay reports) known to the caller."""
        if message.tool_response is not None or message.context_update is not None:
            # Their enum values (`scheduling`, `behavior`) as the server reads them.
            message = with_declared_names(message)
        if message.tool_response is not None:
            self._check_answers(message.tool_response.function_responses)
            frame = self._core.protocol.frame_for(message)
            await self._send_answer(frame, message)
            return
        frame = self._core.protocol.frame_for(message)
        update = message.context_update
        await self._send_frame(frame, kind, message if update is not None else None)

    async def _send_built(self, message: ClientMessage, kind: str, field: str = "") -> None:
        """Send a message built here from checked arguments.

        `frame_for` would find nothing wrong with it: its checks (and, for video, the
        decoding of the frame) are skipped. Only the encoding can still fail, on `field`,
        the one `str` argument the message carries (named in the error).
        """
        try:
            frame = encode_client(message)
        except (TypeError, ValueError, BufferError, msgspec.EncodeError) as exc:
            # A str may hold a lone surrogate (half of a sliced emoji, or left by a
            # `surrogateescape` decode), which UTF-8 cannot carry: a bare
            # UnicodeEncodeError escaped here, where `frame_for` names the problem.
            raise LocalProtocolError(f"{field or kind} cannot be sent: {exc}") from None
        await self._send_frame(frame, kind, None)

    async def _send_frame(
        self,
        frame: bytes,
        kind: str,
        effects: ClientMessage | None,
        reservation: CallReservation | None = None,
    ) -> None:
        """Write or queue an encoded frame; then record `effects` (see `LiveProtocol.commit`).

        Recorded only once the frame is written or queued, never before: a send cancelled
        while it waits for room in the queue leaves nothing behind, so a cancelled `respond`
        leaves its call pending and a cancelled `update_context` leaves the setup as it was.
        Once queued the frame reaches the server, on this connection or, as the queue
        outlives connections, on the next; the setup a resume sends already includes a
        queued `contextUpdate`, which the server then receives again, to the same effect.
        A tool response is the exception: it answers calls of this connection only, so a
        resume voids it (`AnswerLedger`) and reports it instead (sent by `_send_answer`,
        with the `reservation` of its calls).
        """
        if self._failure is not None:
            raise self._told_failure()
        core = self._core
        if core.closing:
            raise SessionClosedError("the session is closed")
        # Not `protocol.send`: between connections of a resuming session the protocol is
        # closed, and the message waits for the next one (`closing`/`_failure` end it).
        current = core.current
        if current is not None:
            # Written at once when the sender is idle (saves a task hand-off per message);
            # cancellation is checked before writing, never after, as a channel send does.
            await trio.lowlevel.checkpoint_if_cancelled()
            written = current.write_now(frame, kind)
            if written is not False:
                if effects is not None:
                    self._commit(effects, reservation, frame)
                    if reservation is not None:
                        # A tool response only (never audio): a move may wait for it.
                        current.answer_written()
                if written is None:
                    current.frame_queued()
                    self._outgoing_send.send_nowait(FLUSH)  # the channel is empty
                await schedule_point_after_write()
                return
        self._frame_queued()
        item = Outgoing(frame, kind)
        answer = effects.tool_response if effects is not None else None
        if answer is not None:
            # Noted before the wait for room: a resume meanwhile must void it too. A
            # response that will continue answers no call: the resume cancels its call as
            # a pending one (`CallCancelledError`), not as one answered.
            ids = tuple(
                response.id or ""
                for response in answer.function_responses
                if not response.will_continue
            )
            core.answers.queue(item, frame, ids)
        signal = kind in DETECTION_SIGNALS
        if signal:
            # Likewise: a resume onto a setup that refuses it keeps it off the new connection.
            core.signals.queue(item, kind, frame)
        update = kind == CONTEXT_UPDATE
        if update:
            # Likewise: a resume's setup carries it, and the new connection does not write it.
            core.updates.queue(item)
        queued = False
        try:
            if core.protocol.setup is None and core.pending_setup is None:
                await self._await_start_if_full()
            # Returns once the frame is in the channel; if cancelled, it is not. (As
            # `send` does it, with the wait for room on its own path.)
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                self._outgoing_send.send_nowait(item)
            except trio.WouldBlock:
                await self._wait_for_room(item)
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()
            queued = True
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            if self._failure is not None:
                raise self._told_failure() from None
            raise SessionClosedError("the session is closed") from None
        finally:
            if answer is not None and not queued:
                core.answers.withdraw(item)
            if signal and not queued:
                core.signals.withdraw(item)
            if update and not queued:
                core.updates.withdraw(item)
        if effects is not None:
            # A resume while a tool response waited voided it and forgot the calls it
            # reserved: it answers none then.
            self._commit(effects, reservation, frame)
            if update:
                core.updates.committed(item)

    def _commit(
        self, message: ClientMessage, reservation: CallReservation | None, frame: bytes
    ) -> None:
        """`LiveProtocol.commit`, and a `contextUpdate` also into a setup still to come.

        A `contextUpdate` is recorded as `frame` (the message encoded) says: its `Content`
        and `Tool`s are the caller's, who may change them after the call, or while it
        waits for room (a resumed connection then carried what was never sent).
        """
        update = message.context_update
        if update is not None:
            update = decode_client(frame).context_update
            message = msgspec.structs.replace(message, context_update=update)
        self._core.protocol.commit(message, reservation)
        if update is not None:
            self._carry_context_update(update)

    async def send_audio(self, pcm: AudioBuffer, *, sample_rate: int = 16000) -> None:
        """Send 16-bit little-endian mono PCM (`realtimeInput.audio`).

        `pcm` may be bytes, bytearray or memoryview, or another object with the buffer
        protocol (`array('h')`, a NumPy `int16` array); it is base64-encoded straight from
        the buffer, without an intermediate copy. A view must be C-contiguous and hold raw
        bytes or 16-bit integers (format `B`, `b`, `c`, `h` or `H`, little-endian); its
        size in bytes (`nbytes`, not `len()`) must be even. `sample_rate` is in Hz, from
        1000 to 384000 (16000, the Live API's native rate, by default; the server
        resamples any other).

        Empty audio (zero bytes, as a microphone or file read returns at the end of its
        stream) sends nothing: the frame would carry no audio (an empty `data` is the
        proto3 default, read as unset), so it is checked like any other chunk, then
        dropped. A closed session still raises.

        Raises:
            LocalProtocolError: `pcm` is not such a buffer (a `str`, a list, float samples,
                stereo frames, an odd number of bytes...), or `sample_rate` is not an `int`
                from 1000 to 384000.
            SessionClosedError: the session is closed.
        """
        kind = type(pcm)
        # Every 20 ms per session: the usual case (even-sized bytes or bytearray, an int
        # rate seen before) costs three identity tests, a length test and a dict look-up.
        # Any other buffer, an odd size, a wrong type or a new rate takes the checks that
        # explain. The message is built from checked parts, so `frame_for` is skipped.
        # (`len` is reached only for bytes and bytearray, which the checkers cannot tell
        # from `kind`; a `cast` would cost a call here.)
        if (kind is not bytes and kind is not bytearray) or len(pcm) % 2 or not pcm:  # type: ignore[arg-type]
            pcm = check_pcm(pcm)
            if not (pcm.nbytes if type(pcm) is memoryview else len(pcm)):
                check_sample_rate(sample_rate)
                await self._send_nothing()
                return
        mime = AUDIO_MIMES.get(sample_rate) if type(sample_rate) is int else None
        if mime is None:
            mime = audio_mime(sample_rate)
        blob = Blob(data=pcm, mime_type=mime)  # type: ignore[arg-type]
        frame = encode_client(ClientMessage(realtime_input=RealtimeInput(audio=blob)))
        await self._send_frame(frame, "realtimeInput.audio", None)

    def _reads_for(self) -> None:
        """The current task reads a wrapper's stream of this session's events.

        For the seed facade, whose pump task reads the session: its reader's task waiting
        in a send is the deadlock `_wait_for_room` breaks.
        """
        self._core.outer_reader_task = trio.lowlevel.current_task()

    async def _wait_for_room(self, item: Outgoing) -> None:
        """Queue `item` once the outgoing queue has room, from the reader's task too.

        The reader's own task (a `respond` in its `async for`) waiting here reads no event
        meanwhile: with its event channel full, the receiver waited for it, read nothing
        more, and the heartbeat, which takes a receiver waiting on the user for a user
        busy elsewhere, watched nothing; a stalled or dropped connection then held both
        for ever. So deliveries are set aside meanwhile (`SessionCore.deliver`), one
        waiting already goes through now, and the connection is watched as usual.
        """
        core = self._core
        task = trio.lowlevel.current_task()
        if task is not core.reader_task and task is not core.outer_reader_task:
            await self._outgoing_send.send(item)
            return
        core.reader_sending += 1
        try:
            if core.consumer_blocked:
                self._set_aside()
            await self._outgoing_send.send(item)
        finally:
            core.reader_sending -= 1

    async def _await_start_if_full(self) -> None:
        """Before `start()`, with the queue full: wait for `start()`, `setup_timeout` at most.

        `open_session(..., start=False)`: only the sender empties the queue, and it starts
        once the setup is accepted. Another task may be about to call `start()` (a
        microphone task sending from the open); but when the waiting task is the one that
        was to call it, the wait for room was endless.
        """
        if self._outgoing_send.statistics().current_buffer_used < self._core.options.send_buffer:
            return
        timeout = self._core.options.setup_timeout
        with trio.move_on_after(timeout):
            async with trio.open_nursery() as nursery:

                async def until(event: trio.Event) -> None:
                    await event.wait()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(until, self._setup_ready)
                nursery.start_soon(until, self._finished)
        if not (self._setup_ready.is_set() or self._finished.is_set()):
            raise LocalProtocolError(
                f"the outgoing queue is full ({self._core.options.send_buffer} messages, "
                f"SessionOptions.send_buffer) and start() has not sent the setup within "
                f"setup_timeout ({timeout:g} s): nothing is written before it, so the queue "
                "cannot empty; call start(setup) first, or queue fewer messages before it"
            )

    async def _send_nothing(self) -> None:
        """What a send that has nothing to send does: a cancel point, or the session's end."""
        if self._failure is not None:
            raise self._told_failure()
        if self._core.closing or self._ended:  # closed by us, or by the server (1000, say)
            raise SessionClosedError("the session is closed")
        await trio.lowlevel.checkpoint()

    async def stream_audio(
        self,
        chunks: Iterable[AudioBuffer] | AsyncIterable[AudioBuffer],
        *,
        sample_rate: int = 16000,
        realtime: bool = True,
    ) -> int:
        """Send PCM chunks in order, each when the audio before it would have played out.

        For audio that is not already arriving in real time: a file, a synthesizer, a
        recording. Chunk k is sent once chunks 0..k-1 would have finished playing, counted
        from when the first chunk came; one that an async source yields late is sent at
        once and the rest catch up. Each chunk is taken from `chunks` before its wait, so
        that a slow source is not late: cancelled, the call may have taken one chunk it did
        not send. With `realtime=False` they go as fast as the session takes them. Audio
        that arrives in real time anyway (a microphone) needs no pacing: `send_audio`
        each chunk as it comes. Each chunk is checked as `send_audio` checks it (an empty
        one sends nothing).

        On Linux the waits use a timerfd, which wakes the task with less CPU than
        `trio.sleep_until`. Returns the number of chunks sent (empty ones are not).

        Raises:
            LocalProtocolError: `chunks` is not an iterable of chunks (a `str` or a single
                buffer of samples, such as bytes or `array('h')`, is not; a 2-D NumPy array
                is, of its rows), a chunk is refused by `send_audio`, `sample_rate` is not an
                `int` from 1000 to 384000, or `realtime` is not a `bool`.
            SessionClosedError: the session is closed (with no chunk to send too, as
                `send_audio` of empty audio).
        """
        rate = check_sample_rate(sample_rate)
        check_bool(realtime, "realtime")
        send = functools.partial(self.send_audio, sample_rate=rate)
        sent = await stream_audio(send, chunks, sample_rate=rate, realtime=realtime)
        if not sent:
            # No chunk, or only empty ones: a closed session raises all the same, as
            # `send_audio(b"")` does (`stream_audio([])` returned 0).
            await self._send_nothing()
        return sent

    async def send_video(self, frame: AudioBuffer, *, mime_type: str = "image/jpeg") -> None:
        """Send one image frame (`realtimeInput.video`), normally JPEG at about 1 fps.

        An empty frame sends nothing, as empty audio does (an empty `data` is the proto3
        default, read as unset: the message would carry no image); it is checked all the
        same, and a closed session still raises.

        Raises:
            LocalProtocolError: `frame` is not bytes, bytearray or a contiguous memoryview,
                or `mime_type` is not an `image/*` string (any case, with a subtype; one
                holding a lone surrogate is refused too).
            SessionClosedError: the session is closed.
        """
        data = media_buffer(frame, "frame")
        mime = check_str(mime_type, "mime_type")
        # MIME types ignore case (RFC 2045), and an `image/` without its subtype names none.
        kind, slash, subtype = mime.partition("/")
        if kind.lower() != "image" or not slash or not subtype.strip():
            raise LocalProtocolError(f"video frames need an image/* MIME type, got {mime!r}")
        if not (data.nbytes if isinstance(data, memoryview) else len(data)):
            await self._send_nothing()
            return
        blob = Blob(data=data, mime_type=mime)  # type: ignore[arg-type]
        await self._send_built(
            ClientMessage(realtime_input=RealtimeInput(video=blob)),
            "realtimeInput.video",
            "mime_type",
        )

    async def send_text(self, text: str) -> None:
        """Send realtime text (`realtimeInput.text`): counts as user input under VAD.

        Raises:
            LocalProtocolError: `text` is not a `str`, is empty (an empty `text` is the
                proto3 default, which the server reads as unset: the message would carry
                no input and nothing would answer it), or holds a lone surrogate (which
                UTF-8 cannot encode).
        """
        text = check_str(text, "text")
        if not text:
            # Not dropped as empty audio is: an empty chunk is how a stream ends, while
            # empty text is a slip whose sender would wait for an answer that never comes.
            raise LocalProtocolError(
                "text is an empty str: an empty realtimeInput.text is the proto3 default, "
                "which the server reads as unset, so the message would carry no input and "
                "get no answer"
            )
        message = ClientMessage(realtime_input=RealtimeInput(text=text))
        await self._send_built(message, "realtimeInput.text", "text")

    async def send_client_content(
        self,
        turns: str | Content | Sequence[Content] | None = None,
        *,
        turn_complete: bool = True,
    ) -> None:
        """Append turns to the history (`clientContent`); a `str` is one user text turn.

        With no `turns` (and `turn_complete=True`) the model answers what the history
        holds already.

        Raises:
            LocalProtocolError: `turns` is not a `str`, a `Content`, a sequence of `Content`
                or None, or is an empty `str` (a turn without text, which the server
                refuses; pass no turns to ask for an answer), a `Content` holds a value of
                the wrong type (a `str` in `Blob.data` or `thought_signature` too), a `Part`
                that sets two of its data fields (`text` and `inline_data`, say: the
                proto's `data` oneof) or none (`Part()`, or only an empty `text`: the
                server refuses it with 1007), or a Vertex AI only field while the endpoint is the
                Gemini API's (`fileData.displayName`, a function call's `partialArgs` or
                `willContinue`: the server
                would close the session with 1007; the path is named), or a Gemini API only
                field while the endpoint is Vertex AI's (a function response's
                `willContinue`), or `turn_complete`
                is not a `bool`.
        """
        if isinstance(turns, str):
            if not turns:
                # The server reads an empty text as a part with no data and refuses it (1007).
                raise LocalProtocolError(
                    "turns is an empty str: a turn needs text; to ask for an answer to what "
                    "was sent before, call send_client_content() with no turns"
                )
            turn_list: list[Content] | None = [
                Content(parts=[Part(text=str.__str__(turns))], role="user")
            ]
        elif isinstance(turns, Content):
            turn_list = [turns]
        elif turns is None:
            turn_list = None
        else:
            turn_list = _struct_list(
                turns, Content, "turns", "a str, a Content or a sequence of Content"
            )
        check_bool(turn_complete, "turn_complete")
        for index, turn in enumerate(turn_list or ()):
            if turn.role not in _TURN_ROLES:
                # Said here: Google's `Content.role` is "user" or "model", and the server
                # refuses any other (an OpenAI-style "assistant", say) rather than the call.
                raise LocalProtocolError(
                    f"turns[{index}].role must be 'user' or 'model', not {turn.role!r}"
                )
        # No turns and False are the defaults, left out as proto3 JSON writes them.
        content = ClientContent(turns=turn_list or None, turn_complete=turn_complete or None)
        if _gemini_api(self._endpoint):
            _refuse_vertex_only(vertex_only_paths(content, "clientContent"), LocalProtocolError)
        elif self._endpoint.vertex:
            _refuse_gemini_only(gemini_only_paths(content, "clientContent"), LocalProtocolError)
        await self._send(ClientMessage(client_content=content), "clientContent")

    async def activity_start(self) -> None:
        """Mark the start of user activity (automatic activity detection must be off).

        Raises:
            LocalProtocolError: the signal could reach a connection whose setup has
                automatic activity detection on, where the server closes the session with
                1007: the setup in force has it on; an `update_setup` that changes it is
                not in force yet (until `Reconnected(setup_changed=True)`, the signal may
                go out on either connection); or `start()` has not been called yet (no
                setup is known).
        """
        self._check_manual_activity("activity_start()")
        await self._send_built(
            ClientMessage(realtime_input=RealtimeInput(activity_start=ActivityStart())),
            ACTIVITY_START,
        )

    async def activity_end(self) -> None:
        """Mark the end of user activity: the model answers.

        Raises:
            LocalProtocolError: as for `activity_start`, the signal could reach a
                connection with automatic activity detection on (the server would close
                the session with 1007).
        """
        self._check_manual_activity("activity_end()")
        await self._send_built(
            ClientMessage(realtime_input=RealtimeInput(activity_end=ActivityEnd())),
            ACTIVITY_END,
        )

    def _check_manual_activity(self, method: str) -> None:
        """Refuse an activity signal that could meet a setup with automatic VAD on.

        A queued signal is written on whichever connection is open when the sender takes
        it. While an `update_setup` is pending that is the old connection (the move waits
        until the model is idle) or the new one, and, should the server refuse the new
        setup, one with the old setup again: every one of them must have VAD off. One
        accepted before an `update_setup` that turns VAD on, and still queued at the move,
        is kept off the new connection instead (`SignalLedger`) and reported.
        """
        server_vad = self._reachable_detection(method)
        if not any(server_vad):
            return
        if all(server_vad):
            raise LocalProtocolError(
                f"{method} needs automatic activity detection off (live_setup(..., "
                "automatic_vad=False)); with it on, the server closes the session with 1007"
            )
        raise LocalProtocolError(
            f"{method} while update_setup() changes automatic activity detection: until "
            "the session has moved (the Reconnected(setup_changed=True) event) the signal "
            "may be written on a connection with it on, where the server closes the "
            "session with 1007"
        )

    def _check_automatic_activity(self, method: str) -> None:
        """Refuse an `audioStreamEnd` that could meet a setup with automatic VAD off.

        The mirror of `_check_manual_activity`: `audioStreamEnd` is valid only with the
        server's activity detection on (protocol.md section 2.3), and may be written on
        any connection an activity signal may. One accepted before an `update_setup` that
        turns it off, and still queued at the move, is kept off the new connection instead
        (`SignalLedger`) and reported.
        """
        server_vad = self._reachable_detection(method)
        if all(server_vad):
            return
        if not any(server_vad):
            raise LocalProtocolError(
                f"{method} needs automatic activity detection on: audioStreamEnd is valid "
                "only with it; with it off (live_setup(..., automatic_vad=False)) the "
                "application ends the user's turn with activity_end()"
            )
        raise LocalProtocolError(
            f"{method} while update_setup() changes automatic activity detection: until "
            "the session has moved (the Reconnected(setup_changed=True) event) it may be "
            "written on a connection with it off, where audioStreamEnd is not valid (the "
            "turn ends with activity_end() there)"
        )

    def _reachable_detection(self, method: str) -> list[bool]:
        """Whether each setup a message queued now may be written under has automatic VAD.

        The setup in force, and while an `update_setup` is pending the new one and the old
        one again (should the server refuse the new).
        """
        core = self._core
        in_force = core.protocol.setup or core.pending_setup
        if in_force is None:
            # `open_session(..., start=False)`: the message would go out right after
            # whatever setup `start` sends, unchecked. Refused now rather than found out
            # at `start()`, when it is queued and cannot be taken back.
            raise LocalProtocolError(
                f"{method} before start(): no setup is known yet to tell whether "
                "automatic activity detection is on or off; call start(setup) first"
            )
        # The setup before a move, which the session goes back to should the server refuse
        # the new one: reachable until the connection carrying the new one has opened.
        # (`_next_setup` stays set during that connection: it is then the setup in force.)
        current = core.current
        fallback = None if current is not None and current.opened else self._fallback_setup
        others = [setup for setup in (self._next_setup, fallback) if setup is not None]
        return [automatic_activity_detection(setup) for setup in (in_force, *others)]

    async def audio_stream_end(self) -> None:
        """Tell the server the microphone paused (flushes its cached audio).

        Valid only with automatic activity detection on (protocol.md section 2.3); with it
        off, `activity_end()` ends the user's turn.

        Raises:
            LocalProtocolError: the message could reach a connection whose setup has
                automatic activity detection off (`live_setup(..., automatic_vad=False)`):
                the setup in force has it off; an `update_setup` that changes it is not in
                force yet (until `Reconnected(setup_changed=True)`, the message may go out
                on either connection); or `start()` has not been called yet (no setup is
                known).
            SessionClosedError: the session is closed (its error, once it has failed).
        """
        self._check_automatic_activity("audio_stream_end()")
        await self._send_built(
            ClientMessage(realtime_input=RealtimeInput(audio_stream_end=True)), AUDIO_STREAM_END
        )

    async def update_context(
        self,
        *,
        system_instruction: str | Content | None = None,
        tools: Sequence[Tool | FunctionDeclaration] | None = None,
    ) -> None:
        """Replace the system instruction and/or tools mid-session (`contextUpdate`).

        Only some newer models support it (protocol.md section 2.6). The setup in force
        (`setup`, which a resumed connection carries) changes once the message is queued;
        a call cancelled before that changes nothing. So does a setup `update_setup` asked
        for that is not in force yet: the change, made after it, is carried into it (and,
        should the server refuse that setup, into the one the session goes on with).

        `tools` replaces the whole list of tools. It takes `Tool`s and the
        `FunctionDeclaration`s `function_tool` makes, as `live_setup` takes them: the
        declarations go together in one `Tool`, after the `Tool`s given.

        Raises:
            LocalProtocolError: neither argument is given, `system_instruction` is not a
                `str` or a `Content`, `tools` is not a sequence of `Tool` and/or
                `FunctionDeclaration`, or a value has the wrong type (a `str` in a bytes
                field too), or a part of `system_instruction` sets two of its data fields
                or none (an empty `str` is such a part: the server refuses it with 1007).
            ConfigurationError: a function's `parameters` use keys the Live API's `Schema`
                lacks, a function name breaks the Live API's rule (see `function_tool`), two
                functions share a name, or the endpoint is the Gemini API's and a Vertex AI
                only field is given (a `retrieval` tool, `fileData.displayName`, a function
                call's `partialArgs`; the path is named), or the endpoint is Vertex AI's
                and a Gemini API only one is (a `fileSearch` tool, an MCP server's `name`
                or `streamableHttpTransport`): the server would close the session
                with 1007.
        """
        if system_instruction is None and tools is None:
            raise LocalProtocolError("update_context needs system_instruction and/or tools")
        instruction = _system_instruction(system_instruction)
        tool_list = None if tools is None else _tool_list(tools)
        tool_list = _checked_tool_schemas(tool_list, "contextUpdate.tools.tools")
        check_function_names(tool_list, "contextUpdate.tools.tools")
        update = ContextUpdate(
            system_instruction=instruction,
            tools=ToolsUpdate(tools=tool_list) if tool_list is not None else None,
        )
        if _gemini_api(self._endpoint):
            paths = vertex_only_paths(update, "contextUpdate")
            _refuse_vertex_only(paths, ConfigurationError)
        elif _vertex_ai(self._endpoint):
            paths = gemini_only_paths(update, "contextUpdate")
            _refuse_gemini_only(paths, ConfigurationError)
        await self._send(ClientMessage(context_update=update), "contextUpdate")

    async def update_setup(self, setup: Setup) -> None:
        """Apply a new setup (any field but the model; resumption stays on) on a new connection.

        The Live API cannot change the setup of an open connection, but a resumed session
        may bring a new one (protocol.md section 1.5). The move happens once the model is
        idle (waiting at most `setup_timeout` seconds for the current turn, or less if a
        `goAway`'s move is due sooner: the one move carries both), and is marked by a
        `Reconnected(reason="reconfigure", setup_changed=True)` event then `SessionUpdated`.

        Every call is applied. Calls made before the move are applied together (the
        latest setup wins); one made while the session is between connections (after a
        drop, say) goes with the next connection; one made once the next connection is
        under way moves the session again when that connection is open. A move for a setup
        change, like one after `goAway`, is made at once and spends nothing of the
        reconnect budget. A setup the server refuses (it closes the new connection with
        1007 before `setupComplete`, for a voice it lacks, say) is dropped: the session goes
        on with the setup it had, and `Reconnected.setup_refused` says why. Any other
        failure of that connection (a quota close, a 1008, a server breaking the protocol)
        refuses nothing: the setup stays requested, and the close is handled as any other
        (see the close table in docs/concepts.md): a retry carries it again, a fatal close
        ends the session with `ReconnectFailedError`.

        A call that raises `trio.Cancelled` changes nothing: no move is requested.

        An `update_context` queued after this call, before the new setup is in force,
        changes that setup too (the latest wins); one queued before it is replaced by
        this setup's own instruction and tools.

        The new setup must keep session resumption on (a `Setup` whose
        `session_resumption` is None, as `live_setup(..., resumption=False)` makes, is
        refused): the move to it is a resume. Its `transparent` setting applies; the
        handle is the session's latest, whatever the setup says.

        Raises:
            ConfigurationError: the model differs, session resumption is not enabled, the
                new setup turns it off, a field has the wrong type, a function's
                `parameters` use keys the Live API's `Schema` lacks, or a value the server
                refuses (a function name, a sampling setting out of range: see
                `open_session`).
            LocalProtocolError: `open_session(..., start=False)` and `start` has not
                returned yet (the session's setup is not sent, or not answered).
            SessionClosedError: the session is closed.
            SetupTimeoutError, ConnectionClosedError: `start` failed (raised this error):
                the session never opened, and is ending.
        """
        if self._failure is not None:
            raise self._told_failure()
        core = self._core
        current_setup = core.protocol.setup
        if core.closing or self._ended:
            raise SessionClosedError("the session is not open")
        if current_setup is None:
            # `open_session(..., start=False)`, and `start` has not sent its setup yet.
            raise LocalProtocolError(
                "update_setup before the session's setup was sent: give this setup to "
                "start() instead, or call update_setup once start() has returned"
            )
        if not (self._settled.is_set() or self._start_waited):
            # Sent, but no `setupComplete` yet: accepted, the change waited on a connection
            # that may never open, and was lost with it.
            raise LocalProtocolError(
                "update_setup before the session opened (no setupComplete yet): call "
                "update_setup once start() has returned"
            )
        # The first connection never opened (a setup timeout, a refused setup): the session
        # is ending, and a change accepted now would never come into force.
        self._raise_if_not_open()
        prepared = _prepare_setup(setup, self._endpoint)
        if prepared.model != current_setup.model:
            raise ConfigurationError(
                f"the model of a session cannot change ({current_setup.model} -> "
                f"{prepared.model}): open a new session instead"
            )
        if current_setup.session_resumption is None:
            raise ConfigurationError(
                "changing the setup needs session resumption: open the session with "
                "live_setup(..., resumption=True) or Setup(session_resumption=...)"
            )
        if prepared.session_resumption is None:
            # Taken in silently, it was kept all the same (the move resumes the session, and
            # so does every later move): the setup in force said resumption was on.
            raise ConfigurationError(
                "update_setup cannot turn session resumption off: the new setup comes into "
                "force by resuming the session, as later moves and reconnects do; give a "
                "setup with it on (live_setup's default resumption=True, or "
                "Setup(session_resumption=SessionResumptionConfig()))"
            )
        # Cancelled here or nowhere: a call that raises `Cancelled` must have changed
        # nothing (it used to raise after the move was requested, and the move was made).
        await trio.lowlevel.checkpoint_if_cancelled()
        self._next_setup = prepared
        self._setup_requests += 1
        current = core.current
        if current is not None:
            current.request_switch("reconfigure", trio.current_time() + self._options.setup_timeout)
        # else the session is between connections: the next one is opened with it.
        await trio.lowlevel.cancel_shielded_checkpoint()  # still a schedule point

    async def aclose(self) -> None:
        """Close the session (code 1000) once what was sent is written; return once it ended.

        Messages already queued are written first, then the close handshake is made; each
        step is bounded by `SessionOptions.close_timeout`. During a move (after `goAway`,
        or for `update_setup`) they are written on the new connection: waiting for it to
        open is one more such step, past which the move is given up. During an outage it
        closes at once, without waiting for a connection: a resume waiting out its backoff,
        or still connecting, gives up. Whatever that leaves unwritten is reported, never
        dropped silently: `not_sent`, the `Closed` event's `not_sent`, and a warning in the
        log; so is what was written but not yet confirmed by the server, when its close
        frame does not come back (the server may not have received it).

        It returns once the session has ended (`state` is `closed`, `not_sent` final), or
        at the latest twice `close_timeout` after those steps; so does a second call made
        while the first is under way. Shielded: a cancelled caller waits all the same, unless
        the cancellation reached the session's own tasks too (a deadline around
        `open_session`, say): then the session has ended with them, and it returns at once.
        The events not read yet stay readable, `Closed` last: while the session closes, events
        that find the event buffer full are kept aside for the reader rather than wait
        for it (the reader may be the task that called this), up to 4096 (or 8 times
        `SessionOptions.event_buffer`); past that they are dropped, and reported in
        `Closed.not_delivered` and a warning in the log.
        """
        core = self._core
        if not core.closing:
            await self._start_close()
        # The steps above are bounded, and so is this wait: past its deadline the session
        # has failed to end (it should not), and the caller is not held any longer.
        with trio.CancelScope(shield=True, deadline=self._close_deadline):
            await self._finished.wait()

    async def _start_close(self) -> None:
        """`aclose` without its wait for the end (the `open_session` exit waits its own way)."""
        core = self._core
        core.closing = True
        options = self._options
        move = core.move
        # The steps (the move's connection if one is under way, the queue, the close
        # handshake: a `close_timeout` each, and the stream's own close), then twice
        # `close_timeout` for the session to finish.
        steps = 2 if move is None else 3
        self._close_deadline = (
            trio.current_time() + (steps + 2) * options.close_timeout + _CLOSE_MARGIN
        )
        self._outgoing_send.close()
        if core.consumer_blocked:
            self._set_aside()  # a delivery waiting for room goes through
        if move is not None:
            # A deliberate move (goAway, a setup change) is under way: its new connection,
            # once open, writes what is queued. Not waited for past `close_timeout`: the
            # session then closes as during an outage, and reports what it leaves.
            with trio.CancelScope(shield=True), trio.move_on_after(options.close_timeout):
                await move.wait()
            core.end_move()
        self._resume_wait.cancel()  # a resume's backoff or connect gives up at once
        current = core.current
        if current is not None:
            current.reclaim()  # a read lent to a reader busy elsewhere: the receiver reads
            await current.finish_sending()  # the channel is closed: the sender drains it
            await current.close(1000, "")

    def _set_aside(self, event: ev.LiveEvent | None = None) -> None:
        """Move the buffered events (and `event` after them) to `_pending`, in order.

        While the session closes, a delivery does not wait for room in the event channel
        (`SessionCore.deliver`): the reader may be the task waiting in `aclose` for the
        session to end. `_pending` comes before the channel, so the order is kept.
        """
        pending = self._pending
        receive_nowait = self._events_receive.receive_nowait
        while True:
            try:
                pending.append(receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
        if event is not None:
            pending.append(event)

    async def start(self, setup: Setup | str) -> None:
        """Send `setup` (if `open_session(..., start=False)`) and wait for `setupComplete`.

        Raises:
            SetupTimeoutError: no `setupComplete` within `setup_timeout`.
            ConnectionClosedError: the server refused the setup.
            SessionClosedError: the session was closed (`aclose`, the end of its block)
                before the setup was accepted, or the server closed normally during it.
            LocalProtocolError: the setup was given already (`start()` twice, or to a
                session opened with one).
            ConfigurationError: `setup` is not a valid setup.
        """
        if self._setup_ready.is_set():
            raise LocalProtocolError("setup must be the first message and only the first")
        self._core.pending_setup = _prepare_setup(setup, self._endpoint)
        self._setup_ready.set()
        with trio.move_on_after(self._options.setup_timeout + self._options.close_timeout):
            await self._settled.wait()
        self._start_waited = True
        self._raise_if_not_open()

    def _told_failure(self) -> GeminiLiveError:
        """The session's error, about to be raised to the application."""
        failure = self._failure
        assert failure is not None
        self._failure_told = True
        return failure

    def _discard_unread(self) -> None:
        """Drop the events nobody read; reading from now on raises `SessionClosedError`."""
        if self._closed_event is not None:
            self._closed_unread = True
        self._pending.clear()
        self._closed_event = None
        receive = self._events_receive
        with suppress(trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            while True:
                if type(receive.receive_nowait()) is ev.Closed:
                    self._closed_unread = True
        receive.close()

    def _warn_if_failure_unseen(self) -> None:
        """Log the session's error if the application was told nothing of it.

        It is raised by the next call (`receive`, a send) after the `Closed` event: an
        application that left the block without either, having stopped reading events
        while the session failed (a fatal close, a spent reconnect budget), would
        otherwise never learn that what it sent last may not have been taken.
        """
        failure = self._failure
        if failure is not None and self._closed_unread and not self._failure_told:
            log.warning(
                "the session failed, and its Closed event and error went unread: %s", failure
            )

    async def _drain_until_closed(self) -> None:
        """Wait for the supervisor to finish, discarding the events nobody will read now.

        They are discarded on exit anyway; taken meanwhile, they free a receiver waiting
        for room in a full event channel, which then reads the server's close. Otherwise
        leaving the block with the channel full took the whole `2 * close_timeout`.
        """
        async with trio.open_nursery() as nursery:

            async def discard() -> None:
                async for event in self._events_receive:
                    if type(event) is ev.Closed:
                        self._closed_unread = True

            nursery.start_soon(discard)
            await self._finished.wait()
            nursery.cancel_scope.cancel()


class _EventIterator:
    """`async for event in session`: the events of `LiveSession.receive`, taken faster.

    Events already buffered (one socket read often brings many) are taken without a trip
    through the scheduler each; it is still a cancellation point, and it waits (a
    checkpoint) once the buffer is empty, so at most `event_buffer` events pass between two
    schedule points. Cancellation loses nothing: it comes before an event is taken. Once it
    has ended (after `Closed`, or by raising the session's error) it stays ended, as an
    exhausted generator does; a new `async for` over the session starts a new one.
    """

    __slots__ = ("_channel", "_core", "_done", "_pending", "_receive_nowait", "_session")

    def __init__(self, session: LiveSession) -> None:
        self._session = session
        self._channel = session._events_receive  # pyright: ignore[reportPrivateUsage]
        self._receive_nowait = self._channel.receive_nowait
        self._pending = session._pending  # pyright: ignore[reportPrivateUsage]
        self._core = session._core  # pyright: ignore[reportPrivateUsage]
        self._done = False

    def __aiter__(self) -> _EventIterator:
        return self

    async def __anext__(self) -> ev.LiveEvent:
        await trio.lowlevel.checkpoint_if_cancelled()  # before taking: none is lost
        pending = self._pending
        if pending:
            return pending.popleft()
        try:
            return self._receive_nowait()
        except trio.WouldBlock:
            return await self._wait()
        except trio.EndOfChannel:
            return self._end()
        except trio.ClosedResourceError:
            return self._block_ended()

    async def _wait(self) -> ev.LiveEvent:
        """The next event once nothing is buffered: read for it, or wait for the receiver."""
        pending = self._pending
        core = self._core
        core.reader_task = trio.lowlevel.current_task()
        channel = self._channel
        try:
            while True:
                connection = core.current
                if connection is not None and connection.lent:
                    # Nothing buffered and the read is ours: wait on the socket directly.
                    pending.extend(await connection.read_for_consumer())
                    if connection.writes_pending():
                        self._session._request_flush()  # pyright: ignore[reportPrivateUsage]
                    if pending:
                        return pending.popleft()
                    await trio.lowlevel.checkpoint_if_cancelled()
                    try:
                        return self._receive_nowait()
                    except trio.WouldBlock:
                        continue
                core.consumer_parked = True
                try:
                    return await channel.receive()
                finally:
                    core.consumer_parked = False
        except trio.EndOfChannel:
            return self._end()
        except trio.ClosedResourceError:
            return self._block_ended()

    def _block_ended(self) -> ev.LiveEvent:
        """The block has ended (the unread events were discarded): say so, once."""
        if self._done:
            raise StopAsyncIteration
        self._done = True
        raise _block_ended() from None

    def _end(self) -> ev.LiveEvent:
        """After the channel: the `Closed` it had no room for, then the end or the error."""
        session = self._session
        if self._done:
            raise StopAsyncIteration
        closed = session._closed_event_once()  # pyright: ignore[reportPrivateUsage]
        if closed is not None:
            return closed
        self._done = True
        if session._failure is not None:  # pyright: ignore[reportPrivateUsage]
            raise session._told_failure() from None  # pyright: ignore[reportPrivateUsage]
        raise StopAsyncIteration


def _check_stateful(message: ClientMessage) -> None:
    """Refuse in a message given to `send` what the session could not record, and NaN.

    A dict with the right keys encodes as a `ToolResponse` or a `ContextUpdate` would, so
    `frame_for` takes it; but recording its effect (`LiveProtocol.commit`) then raised
    AttributeError, with the frame already queued. NaN went out as null, as it did in
    `send_tool_response`. A `realtimeInput` dict likewise: the session reads its fields
    to know its kind (`_kind_of`: an activity signal must never be replayed onto a
    connection with automatic activity detection on), which raised AttributeError.
    (A `clientContent` dict is taken: nothing is recorded of it.)
    """
    realtime = cast(object, message.realtime_input)
    if realtime is not None:
        check_instance(realtime, RealtimeInput, "message.realtime_input")
    tool = cast(object, message.tool_response)
    if tool is not None:
        tool = check_instance(tool, ToolResponse, "message.tool_response")
        where = "message.tool_response.function_responses"
        responses = _struct_list(
            tool.function_responses, FunctionResponse, where, "a list of FunctionResponse"
        )
        for response in responses:
            check_finite(response.response, f"function response {response.id!r}: response")
    update = cast(object, message.context_update)
    if update is not None:
        # Recorded into the setup a resume sends (`with_context_update`): a dict in place
        # of either Struct encodes as one would, then broke the recording.
        update = check_instance(update, ContextUpdate, "message.context_update")
        for name, cls in (("system_instruction", Content), ("tools", ToolsUpdate)):
            part: object = getattr(update, name)
            if part is not None:
                check_instance(part, cls, f"message.context_update.{name}")


def _block_ended() -> SessionClosedError:
    return SessionClosedError(
        "the session ended with its `async with open_session(...)` block; "
        "the events nobody read there were discarded"
    )


_TURN_ROLES = (None, "user", "model")  # the roles of Google's `Content` (None: unsaid)


@asynccontextmanager
async def open_session(
    setup: Setup | str,
    *,
    api_key: str | None = None,
    endpoint: Endpoint | None = None,
    options: SessionOptions | None = None,
    connector: Connector | None = None,
    start: bool = True,
) -> AsyncGenerator[LiveSession]:
    """Open a Live API session: connect, send `setup`, wait for `setupComplete`.

    Args:
        setup: the session's `Setup` (see `live_setup`), or just a model name. On
            Vertex AI, one that names no response modality asks for `["AUDIO"]`
            (`generationConfig.responseModalities`), as google-genai does.
        api_key: the Gemini API key (default: `GEMINI_API_KEY`, then `GOOGLE_API_KEY`);
            sent in the `x-goog-api-key` header, never in the URL. Only for the default
            endpoint: an `endpoint` carries its own credentials.
        endpoint: where to connect (default: the Gemini API, `v1beta`); see
            `gemini_endpoint`, `vertex_endpoint` and `url_endpoint`.
        options: timeouts, heartbeat, buffer bounds and reconnection (`SessionOptions`).
        connector: an async callable returning a connected stream, instead of TCP/TLS
            (the emulator's in-memory connector for tests).
        start: send `setup` now (default). With False the socket is opened and
            `await session.start(setup)` sends it later.

    Raises:
        TransportError: the connection could not be opened within `connect_timeout`.
        SetupTimeoutError: no `setupComplete` within `setup_timeout`.
        ConnectionClosedError: the server refused the setup (a subclass says why).
        ConfigurationError: before connecting, for a setup the server is known to refuse
            (a bad model name, a field of the wrong type, function `parameters` with keys
            the `Schema` lacks, a function name the API refuses or two functions of the
            same name, a sampling setting out of its range such as a temperature outside
            0.0 to 2.0, an integer its proto field cannot hold, a Vertex AI only field on
            a Gemini API endpoint: transparent resumption, `explicitVadSignal`, the
            `retrieval`, `enterpriseWebSearch`, `parallelAiSearch` and `exaAiSearch`
            tools, a safety setting's `method`, a part's `fileData.displayName` and
            `functionCall.partialArgs` or `willContinue`, in the modelled fields or in
            `extra`; or a Gemini API only field on a Vertex AI endpoint: the `fileSearch`
            tool, an MCP server's `name` and `streamableHttpTransport`, a replicated
            voice's `consentAudio` and `voiceConsentSignature`), for a
            setup that would lose data (a field the wire Structs lack, such as a `Tool`
            subclass's: such fields go in `Setup.extra`) or whose `extra`
            would replace a modelled value, for both `api_key` and `endpoint`, for an
            `endpoint` that is no `Endpoint` (a URL string) or `options` that are no
            `SessionOptions`, or when not
            run by trio (e.g. anyio on its default asyncio backend), or for a `connector` that
            returns no trio stream (an anyio one, say).

    An exception raised in the block comes out of it as raised: the same object, with its
    `__cause__`, `__context__` and traceback; a group the block raised (its own nursery's
    or anyio task group's) is neither unwrapped nor put in another. The session's own
    error comes out alone, not in the group of the session's nursery; only the block's
    exception together with the session's comes out as a group, that nursery's. So under
    an outer cancellation too: the block's exception is not lost to it, and the `Cancelled`
    of the session's tasks is left for the cancelled scope to take out.
    """
    require_trio("open_session")
    # Checked here: a URL string or a dict failed later as a bare AttributeError.
    given_endpoint = cast("object", endpoint)
    if given_endpoint is not None and not isinstance(given_endpoint, Endpoint):
        raise ConfigurationError(
            f"open_session's endpoint must be an Endpoint, not {type(given_endpoint).__name__}:"
            " make one with url_endpoint(url, ...), gemini_endpoint(...) or vertex_endpoint(...)"
        )
    given_options = cast("object", options)
    if given_options is not None and not isinstance(given_options, SessionOptions):
        raise ConfigurationError(
            f"open_session's options must be a SessionOptions, not {type(given_options).__name__}"
        )
    options = options or SessionOptions()
    if api_key is not None and endpoint is not None:
        # The key was dropped without a word, and the server's close (1008 "unregistered
        # callers", or 1007 for the endpoint's own key) did not point at the cause.
        raise ConfigurationError(
            "open_session got both api_key and endpoint: its api_key is only for the default "
            "endpoint; give the key to the endpoint instead (url_endpoint(url, api_key=...), "
            "gemini_endpoint(api_key, ...))"
        )
    if endpoint is None:
        endpoint = gemini_endpoint(resolve_api_key(api_key))
    prepared = _prepare_setup(setup, endpoint)  # fail fast on a bad model name
    session = LiveSession(endpoint, options, connector)
    errors = BlockErrors()
    try:
        with errors.nursery():
            async with trio.open_nursery(strict_exception_groups=True) as nursery:
                await nursery.start(
                    session._supervise,  # pyright: ignore[reportPrivateUsage]
                    prepared if start else None,
                )
                try:
                    with errors.block():
                        yield session
                finally:
                    session._core.discarding = True  # pyright: ignore[reportPrivateUsage]
                    if not session._core.closing:  # pyright: ignore[reportPrivateUsage]
                        await session._start_close()  # pyright: ignore[reportPrivateUsage]
                    # Under an outer cancellation the drain raises `Cancelled` at once, and
                    # must not take the place of the block's exception (`cleanup`).
                    with trio.move_on_after(options.close_timeout * 2), errors.cleanup():
                        await session._drain_until_closed()  # pyright: ignore[reportPrivateUsage]
                    nursery.cancel_scope.cancel()
    finally:
        session._end_if_cut_short()  # pyright: ignore[reportPrivateUsage]
        session._discard_unread()  # pyright: ignore[reportPrivateUsage]
        session._warn_if_failure_unseen()  # pyright: ignore[reportPrivateUsage]
