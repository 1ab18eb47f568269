"""One WebSocket connection of a session: its receiver, sender, heartbeat and goAway watch.

A connection runs until it ends and reports how (`ConnectionOutcome`); the session decides
whether to resume on a new one. State that outlives a connection (the protocol object, the
user's channels, the replay buffer, counters) lives in `SessionCore`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterable, Sized
from contextlib import suppress
from dataclasses import dataclass, field

import trio

from . import _events as ev  # pyright: ignore[reportPrivateUsage]
from ._answers import TOOL_RESPONSE, AnswerLedger
from ._close_policy import CloseAction
from ._endpoints import Endpoint
from ._errors import (
    GeminiLiveError,
    HeartbeatTimeoutError,
    RemoteProtocolError,
    SetupTimeoutError,
    is_quota_reason,
    local_failure_error,
)
from ._options import SessionOptions
from ._protocol import LiveProtocol
from ._resume import ReplayBuffer, ReplayPlan
from ._signals import DETECTION_SIGNALS, SignalLedger
from ._stream import LONG_WRITE
from ._transport import Transport, TransportClosedError, fit_close_reason
from ._update_ledger import CONTEXT_UPDATE, UpdateLedger
from ._wire import Setup

__all__ = [
    "CANCELLED_CALLS_KEPT",
    "FLUSH",
    "Connection",
    "ConnectionOutcome",
    "Outgoing",
    "SessionCore",
]

log = logging.getLogger("trio_gemini_live.session")

ASIDE_LIMIT = 4096
"""Events `SessionCore.deliver` may set aside while the reader's own task waits to send."""

_SEND_BATCH = 64
"""At most this many queued client frames are written with one socket write."""
CANCELLED_CALLS_KEPT = 256
"""How many call ids cancelled by reconnects a session remembers (see `cancel_calls`)."""


_LEND_CHECK = 1.0
"""Seconds between the receiver's checks that the user's task still reads what it lent."""
_SWITCH_SETTLE = 0.05
"""How long a move waits for the receiver's first read once it took the read back."""

_NOTED = frozenset({ev.SessionCreated, ev.SessionUpdated, ev.ResumptionUpdate, ev.GoAway})
"""Event types the connection acts on before handing them to the user."""


@dataclass(frozen=True)
class Outgoing:
    """A client frame queued for the sender, with its kind (e.g. `realtimeInput.audio`)."""

    frame: bytes
    kind: str


FLUSH = Outgoing(b"", "")
"""Queued after a `Connection.write_now` that wrote part of a frame: the sender writes the rest."""


@dataclass(frozen=True)
class ConnectionOutcome:
    """How a connection ended: what to do next, a description, and the error if any.

    `lived`: seconds from `setupComplete` to the server's last sign of life (a frame, a
    pong, bytes read either way). `deliberate`: the session left on purpose (after
    `goAway`, or for a setup change),
    nothing failed. `closed_by_server`: a close frame from the server ended it while the
    application was closing the session (its code and reason are the session's last word).
    `setup_refused`: the server closed with 1007 before `setupComplete`, refusing the setup
    this connection sent (not a quota close, a 1008, nor the client's own close).
    """

    action: CloseAction
    code: int
    reason: str
    error: GeminiLiveError | None = None
    opened: bool = False
    lived: float = 0.0
    deliberate: bool = False
    closed_by_server: bool = False
    setup_refused: bool = False


@dataclass(eq=False)
class SessionCore:
    """The state of a session that outlives each of its connections."""

    options: SessionOptions
    endpoint: Endpoint
    protocol: LiveProtocol
    events_send: trio.MemorySendChannel[ev.LiveEvent]
    outgoing_receive: trio.MemoryReceiveChannel[Outgoing]
    replay: ReplayBuffer
    closing: bool = False
    consumer_blocked: bool = False
    consumer_parked: bool = False  # the user's `async for` waits on the event channel
    # The task that last waited for an event (`LiveSession.receive`, `async for`), and one
    # a wrapper reads its own stream from (the seed facade's `get_event`, whose pump reads
    # the session). While one of them waits for room in the outgoing queue, it reads no
    # event: deliveries are set aside rather than wait for it (`reader_sending`).
    reader_task: object = None
    outer_reader_task: object = None
    reader_sending: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    frames_received: int = 0
    bytes_received: int = 0
    messages_sent_total: int = 0
    reconnects: int = 0
    # Ids of calls cancelled by a reconnect, newest last, so that answering one says so
    # rather than "unknown call" (or, answered by name, sends it to a server that closes
    # with 1007); only the newest `CANCELLED_CALLS_KEPT` (a set of all of them grew with
    # every reconnect during a call, for the whole session). True: the call was answered,
    # but the response was still queued at the resume, which voided it (`answers`).
    cancelled_calls: dict[str, bool] = field(default_factory=dict[str, bool])
    # Tool responses in the outgoing queue: a resume keeps them off the next connection.
    answers: AnswerLedger = field(default_factory=AnswerLedger)
    # Activity signals and `audioStreamEnd` in the outgoing queue: a resume keeps them off a
    # connection whose setup refuses them (automatic VAD on, or off).
    signals: SignalLedger = field(default_factory=SignalLedger)
    # Context updates in the outgoing queue: a resume keeps them off (its setup has them).
    updates: UpdateLedger = field(default_factory=UpdateLedger)
    current: Connection | None = None
    pending_setup: Setup | None = None
    # Messages no connection has written in full: their write was cut off by the end of a
    # connection (a batch at most, and a replay). A new connection replays them, or reports
    # them as not replayed; if the session ends first, they are reported as not sent
    # (`Closed.not_sent`).
    cut_off: list[Outgoing] = field(default_factory=list[Outgoing])
    # As `cut_off`, but refused by the closing connection before any byte of them left:
    # reported as never written.
    refused: list[Outgoing] = field(default_factory=list[Outgoing])
    # Messages written in full to an earlier connection that a resume took for replay and
    # its connection ended before writing again: the resumed state lacks them (or, marked
    # uncertain, may hold them). The next connection replays them; if the session ends
    # first, they are reported.
    unreplayed: list[Outgoing] = field(default_factory=list[Outgoing])
    # The latest stretch of waiting on the user (stalls less than `handle_window` apart
    # merge): frames that reached the socket then were read only after it.
    stalled_from: float = float("-inf")
    stalled_until: float = float("-inf")
    # When the latest wait for room in the user's channel ended (the heartbeat counts a
    # stalled write only from then: see `Connection._stalled_write`).
    blocked_until: float = float("-inf")
    # Once `closing`: where `deliver` puts an event the full channel has no room for,
    # after the channel's events (`LiveSession._set_aside`), rather than wait for the user.
    set_aside: Callable[[ev.LiveEvent], None] | None = None
    # The events set aside and not yet read (`LiveSession._pending`): `deliver` sets aside
    # at most `ASIDE_LIMIT` (or 8 channels' worth), while the reader's task sends or the
    # session closes.
    aside: Sized = ()
    # Events that came while the session closed, with the channel full and as many set
    # aside as allowed: dropped, counted by type name for `Closed.not_delivered`.
    dropped: dict[str, int] = field(default_factory=dict[str, int])
    # The `open_session` block was left: its unread events are discarded, so `deliver`
    # drops what finds the channel full (uncounted) rather than set it aside.
    discarding: bool = False
    # A deliberate move (goAway, a setup change) under way, from the old connection's close
    # until the new one is open or the move is over (it failed, the session ended): then
    # set. An application's close waits for it (within `close_timeout`), so that the new
    # connection writes what is queued, as `aclose` promises.
    move: trio.Event | None = None
    # Whether the latest connection ended with a close frame from the server. Answering the
    # application's close, it says the server read every byte written before that close (TCP
    # keeps order); with none (the wait ran out on a slow uplink, the connection dropped),
    # what the replay buffer holds may never have reached it (`ReplayBuffer.unconfirmed`).
    close_received: bool = False

    @property
    def closes_at_once(self) -> bool:
        """Whether the application closes the session with no move under way to wait for.

        During a deliberate move its close waits for the new connection to open (`move`);
        otherwise no connection is opened or resumed once the session is closing.
        """
        return self.closing and self.move is None

    def begin_move(self) -> None:
        """Note a deliberate move: the old connection closes, a new one will open."""
        if not self.closing:
            self.move = trio.Event()

    def end_move(self) -> None:
        """Note that the move under way, if any, is over (its connection open, or given up)."""
        move = self.move
        if move is not None:
            self.move = None
            move.set()

    def cancel_calls(self, call_ids: Iterable[str], *, answered: bool = False) -> None:
        """Remember calls cancelled by a reconnect, forgetting the oldest past the bound.

        `answered`: their responses were queued, and voided by the resume.
        """
        calls = self.cancelled_calls
        for call_id in call_ids:
            calls[call_id] = answered
        while len(calls) > CANCELLED_CALLS_KEPT:
            del calls[next(iter(calls))]

    async def deliver(self, event: ev.LiveEvent) -> bool:
        """Hand an event to the user, waiting (backpressure) when their channel is full.

        Not once the session is closing: the event is then set aside (`set_aside`), in
        order, for the reader, up to `_aside_limit`; past it, dropped and counted
        (`dropped`). Returns whether it had to wait.
        """
        try:
            self.events_send.send_nowait(event)
        except trio.WouldBlock:
            if self.set_aside is not None and (self.closing or self.reader_sending):
                if self.discarding:
                    return False  # nobody will read it: the block's exit discards them all
                if len(self.aside) < self._aside_limit():
                    # The application closes the session, maybe from the reader's own task,
                    # and waits for its end (`aclose`); or the reader's task waits for room
                    # in the outgoing queue (a `respond` in its `async for`), which only a
                    # sender that works (or the next connection's) makes, and the receiver
                    # must go on reading for the heartbeat to tell. The reader gets it
                    # after the rest.
                    self.set_aside(event)
                    return False
                if self.closing:
                    # A server that floods on and never answers the close frame grew the
                    # events set aside without bound until `close_timeout` (3341 audio
                    # events, 160 MB, in one second). Waiting would hold up the close
                    # instead (the reader may be the task in `aclose`): what comes after
                    # the application's own close is dropped, and reported in `Closed`.
                    name = type(event).__name__
                    self.dropped[name] = self.dropped.get(name, 0) + 1
                    return False
            self.consumer_blocked = True
            now = trio.current_time()
            if now - self.stalled_until > self.options.reconnect.handle_window:
                self.stalled_from = now
            try:
                await self.events_send.send(event)
            finally:
                self.consumer_blocked = False
                self.stalled_until = self.blocked_until = trio.current_time()
            return True
        return False

    def _aside_limit(self) -> int:
        """How many events a delivery may find set aside and still add one: a bound on memory.

        Enough for the heartbeat to tell a stalled or dropped connection (`silence_limit`
        of server output) in the deadlock it breaks; a task taken for the reader that no
        longer reads (another reads, slowly) cannot make it grow past this either, nor a
        server that floods on while the session closes.
        """
        return max(ASIDE_LIMIT, 8 * self.options.event_buffer)

    def note_unread(self, start: float, end: float) -> None:
        """The socket went unread from `start` to `end`: the read was lent to a busy user.

        The receiver, reading again, may be behind the server as after a wait on a full
        channel, and a wait of its own right after continues the same stall: a handle it
        reads then may have waited in the socket since `start`.
        """
        if start - self.stalled_until > self.options.reconnect.handle_window:
            self.stalled_from = start
        self.stalled_until = max(self.stalled_until, end)

    @property
    def transparent(self) -> bool:
        """Whether the setup in force asked for `lastConsumedClientMessageIndex`.

        Read from the setup each time, not fixed when the session opens: the setup may come
        later (`open_session(..., start=False)`, as the facade opens it) or change
        (`update_setup`), and a handle's index must decide the replay whenever it is sent.
        """
        setup = self.protocol.setup
        resumption = setup.session_resumption if setup is not None else None
        return resumption is not None and bool(resumption.transparent)

    def handle_cutoff(
        self, unread_from: float = -math.inf, unread_until: float = -math.inf
    ) -> float:
        """For a handle read now, a time by which every message written is in its state.

        The server issued the handle less than a round trip before it reached the socket,
        which is now, or, if the receiver was waiting on the user lately, possibly as
        early as the start of that wait, or if no task read the socket lately (from
        `unread_from` to `unread_until`: the read was lent to a user's task busy
        elsewhere), as early as the start of that; `handle_window` covers the round trip.
        """
        now = trio.current_time()
        window = self.options.reconnect.handle_window
        arrived = self.stalled_from if now - self.stalled_until <= window else now
        if now - unread_until <= window and unread_from < arrived:
            arrived = unread_from
        return arrived - window


class Connection:
    """One connection: handshake, replay, then the three tasks until it ends."""

    def __init__(self, core: SessionCore, transport: Transport) -> None:
        self._core = core
        self._transport = transport
        self._opened = trio.Event()
        self._ended = trio.Event()
        self._outcome: ConnectionOutcome | None = None
        self._switch = trio.Event()
        self._switch_deadline = 0.0
        self._switch_reason = ""
        self._state_changed = trio.Event()
        self._last_inbound = trio.current_time()
        # The run's clock, read directly: half the cost of `trio.current_time()` per send.
        self._now = trio.lowlevel.current_clock().current_time
        self._ping_in_flight = False
        # The sender's socket write in progress, and when it began. The heartbeat sees a
        # write that made no progress for `silence_limit` (a peer that sends but no longer
        # reads), which inbound silence alone never shows while the server keeps talking.
        # A long write progresses piece by piece too (`UplinkMeter.moved_at`). Dated when
        # it began, not when a check first saw it: the checks come every `ping_interval`,
        # and counting from one found the stall up to an interval late.
        self._writing = False
        self._write_began = 0.0
        self._resumed_event: ev.Reconnected | None = None
        self._opened_at = 0.0
        # When the write the heartbeat found stalled last moved: the server's last sign of
        # life, whatever it sent after (see `_settle`).
        self._stalled_from = math.inf
        # The sender waits on an empty channel, holding no frame, and none has been handed to
        # it since: only then may the caller's task write ahead of it (`write_now`). Set by
        # the sender, cleared by the sender and by whoever queues a frame (`frame_queued`).
        self._sender_parked = False
        # The read lent to the user's task (see `read_for_consumer`): while `_lent`, the
        # receiver waits for `_baton` instead of reading.
        self._lent = False
        self._baton = trio.Event()
        self._consumer_reading = False
        # Since when no task has read the socket (a lend began, or the user's read ended),
        # and the last such time that ended (see `SessionCore.handle_cutoff`).
        self._unread_since = -math.inf
        self._unread_from = self._unread_until = -math.inf
        # Set by the receiver after its next read, for a move waiting on it (`_take_back`).
        self._read_seen: trio.Event | None = None
        # When a move last found the receiver caught up with the socket (`_caught_up`).
        self._caught_up_at = trio.current_time()
        # A frame `write_now` wrote only in part (index, frame, kind): kept for replay once
        # the sender has written the rest (see `_write`).
        self._partial: tuple[int, bytes, str] | None = None
        # The sender runs once the connection is open; `finish_sending` waits for its end.
        self._sender_done = trio.Event()
        # Set once the receiver has read the socket to its end (or was never started): a
        # move's close waits for it (see `_abort`).
        self._receiver_done = trio.Event()

    @property
    def opened(self) -> bool:
        """Whether `setupComplete` arrived on this connection."""
        return self._opened.is_set()

    async def run(
        self,
        setup: Setup | None,
        *,
        plan: ReplayPlan | None = None,
        reconnected: ev.Reconnected | None = None,
        setup_ready: trio.Event | None = None,
        on_settled: Callable[[ConnectionOutcome | None], None] | None = None,
    ) -> ConnectionOutcome:
        """Run the connection until it ends.

        Args:
            setup: the setup to send (None: wait for `setup_ready`, then send
                `SessionCore.pending_setup`; the user decides when, as the seed API does).
            plan: frames to write again right after `setupComplete` (a resume).
            reconnected: the event to deliver in place of `SessionCreated` (a resume).
            setup_ready: set once `SessionCore.pending_setup` may be sent.
            on_settled: called once with None when the session opened, or with the outcome
                if the connection ended before that.
        """
        self._resumed_event = reconnected
        self._core.current = self
        self._core.close_received = False
        given_up = True  # till the end is reached: cancelled, or an error of our own
        try:
            if self._core.closes_at_once:
                # `aclose` came while this connection was being opened and found none to
                # close: close it now, before any setup, rather than resume a closed session.
                # (During a deliberate move the close waits for it to open: see `move`.)
                await self._abort(CloseAction.END, 1000, "", None)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._receiver)
                nursery.start_soon(self._heartbeat)
                if setup is None and setup_ready is not None:
                    await self._first_of(setup_ready, self._ended)
                    setup = self._core.pending_setup
                if setup is not None and not self._ended.is_set():
                    await self._handshake(setup)
                if on_settled is not None:
                    on_settled(None if self.opened else self._outcome)
                if self.opened:
                    self._core.end_move()  # a close waiting for it drains the queue here
                    if plan is not None:  # a resume: its setup carried the queued updates
                        self._core.updates.carried()
                    await self._replay(plan)
                    nursery.start_soon(self._sender)
                    nursery.start_soon(self._watch_switch)
                await self._ended.wait()
                nursery.cancel_scope.cancel()
            given_up = False
        finally:
            # A frame `write_now` wrote in part whose rest never went: the next connection
            # replays it, or the session's end reports it (also when this was cancelled).
            self._note_cut_off(())
            self._keep_partial(written=False)
            if self._core.current is self:
                self._core.current = None
            await self._release(given_up=given_up)
        assert self._outcome is not None
        return self._outcome

    async def _release(self, *, given_up: bool) -> None:
        """Close the socket, whatever ended the connection (nothing to do if it is closed).

        A connection that ends closes it on the way, but one whose tasks were cancelled (an
        outer deadline during setup, an exit cut short by Ctrl-C) left it open, with no
        close frame, until the garbage collector found it. One `given_up` so gets a close
        frame, not a wait for the reply: the server that made the caller give up (one that
        never answers the setup, say) would hold the exit for `close_timeout`. Then the
        stream is closed forcefully: the close handshake may have been cut short, and
        trio-websocket leaves the stream open after an EOF or a close the server began (it
        waits for the server to end TCP first).
        """
        if given_up:
            with (
                trio.CancelScope(shield=True),
                trio.move_on_after(self._core.options.close_timeout),
                suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError),
            ):
                await self._transport.send_close(1000, "")
        else:
            await self.close(1000, "")
        await self._transport.abort()

    async def _handshake(self, setup: Setup) -> None:
        frame = self._core.protocol.start(setup)
        # The write is bounded too: a server that stops reading after the upgrade (a full
        # uplink) would otherwise hold a large setup until the heartbeat gave up, at 45 s.
        with trio.move_on_after(self._core.options.setup_timeout):
            try:
                await self._transport.send(frame)
            except TransportClosedError as exc:
                self._closed(exc)
                return
            await self._first_of(self._opened, self._ended)
        if not self.opened and not self._ended.is_set():
            timeout = self._core.options.setup_timeout
            await self._abort(
                CloseAction.RESUME,
                1011,
                "setup timeout",
                SetupTimeoutError(
                    f"no setupComplete from {self._core.endpoint.display_url} within {timeout:g} s"
                ),
            )

    @staticmethod
    async def _first_of(*events: trio.Event) -> None:
        async with trio.open_nursery() as nursery:
            for event in events:

                async def wait(event: trio.Event = event) -> None:
                    await event.wait()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(wait)

    async def _replay(self, plan: ReplayPlan | None) -> None:
        # What the last connections cut off, refused or did not replay is in `plan` now,
        # or in its `not_replayed` (`ReplayBuffer.take` reports any that the buffer lacks);
        # this replay notes again what it does not write. (Ids: a
        # replayed message holds the very bytes object that was cut off, and `unwritten`
        # keeps them alive.)
        core = self._core
        unwritten = (core.cut_off, core.refused)
        cut_off = {id(item.frame) for item in unwritten[0]}
        refused = {id(item.frame) for item in unwritten[1]}
        never_written = cut_off | refused
        core.cut_off, core.refused, core.unreplayed = [], [], []
        if plan is None:
            return
        replay = plan.replay
        begun = written = 0
        try:
            for message in replay:
                begun += 1
                # Cut off now, a message written in full before is noted below, as one this
                # replay did not reach (`_write` notes only those never written in full).
                count_cut_off = id(message.frame) in never_written
                # Watched by the heartbeat as the sender's writes are: a resumed server that
                # talks but reads nothing is never silent, and the sender (so every later
                # `send_*`) waits for the replay to end.
                self._writing = True
                self._write_began = self._now()
                try:
                    await self._write(
                        message.frame, message.kind, message.uncertain, count_cut_off=count_cut_off
                    )
                finally:
                    self._writing = False
                written += 1
        except TransportClosedError:
            pass  # the receiver reports the close
        finally:
            # What this replay did not write, if this connection closed part way, waits
            # for the next connection, or is reported if the session ends first. The write
            # under way, if one was, noted itself if it had never been written in full.
            for position, message in enumerate(replay[written:]):
                item = Outgoing(message.frame, message.kind)
                key = id(message.frame)
                if key not in never_written:
                    core.unreplayed.append(item)
                elif position == 0 and begun > written:
                    continue  # under way: `_write` noted it
                elif key in cut_off:
                    core.cut_off.append(item)
                else:
                    core.refused.append(item)
            # Refused now, a message an earlier connection cut off mid-write is still one
            # that part of may have reached a server.
            again = [item for item in core.refused if id(item.frame) in cut_off]
            if again:
                core.refused = [item for item in core.refused if id(item.frame) not in cut_off]
                core.cut_off.extend(again)
            # Kept too (with the indices they would have had) for the next connection to
            # replay. Not written here, no handle of this connection can include them:
            # dated never.
            if self._replayable():
                first = core.protocol.messages_sent + 1
                for offset, message in enumerate(replay[begun:]):
                    core.replay.add(
                        first + offset, message.frame, message.kind, math.inf, message.uncertain
                    )

    async def _write(
        self, frame: bytes, kind: str, uncertain: bool = False, *, count_cut_off: bool = True
    ) -> None:
        core = self._core
        index = core.protocol.messages_sent + 1
        core.protocol.frame_sent()
        writes_begun = self._transport.writes_begun
        written: bool | None = True
        try:
            await self._transport.send(frame)
        except BaseException as exc:
            item = (Outgoing(frame, kind),) if count_cut_off else ()
            written = self._written(exc, writes_begun)
            if written is False:
                self._note_cut_off((), refused=item)
            else:
                self._note_cut_off(item)
            raise
        finally:
            # Kept once the write is over, and dated then: a frame is on the wire only once
            # written in full (a full uplink can hold a write back for seconds), and a handle
            # read after that date less `handle_window` includes it. Kept even if the write
            # was cut off or refused, dated never: the next connection replays it.
            if self._partial is not None:
                self._keep_partial(written)
            if self._replayable():
                self._keep(((index, frame, kind),), written, uncertain)
        core.messages_sent_total += 1
        core.frames_sent += 1
        core.bytes_sent += len(frame)

    def _written(self, exc: BaseException, writes_begun: int) -> bool | None:
        """For a send that raised `exc`: False if it wrote no byte of its frames, else None.

        False: refused by a closing transport, or cancelled before any write began since
        `writes_begun` was read (the transport then dropped the frames whole), so none of
        them will ever reach the server. None: cut off once a write began, so part of them
        (some whole frames of a batch, say) may have reached the server.
        """
        if isinstance(exc, TransportClosedError):
            unwritten = exc.unwritten
        else:
            unwritten = (
                isinstance(exc, trio.Cancelled) and self._transport.writes_begun == writes_begun
            )
        return False if unwritten else None

    def _keep(
        self, frames: Iterable[tuple[int, bytes, str]], written: bool | None, uncertain: bool
    ) -> None:
        """Keep frames (index, frame, kind) for replay, once their write is over.

        `written`: True, written in full, dated now; False, never written, or None, cut off
        part-way, dated never. A handle read later cannot hold what never left, and may or
        may not hold a frame of a write cut off (`BufferedMessage.cut_off`): dated now, a
        handle read `handle_window` later forgot them though the server never had them.
        """
        add = self._core.replay.add
        if written:
            now = self._now()
            for index, frame, kind in frames:
                add(index, frame, kind, now, uncertain)
        else:
            for index, frame, kind in frames:
                add(index, frame, kind, math.inf, uncertain, cut_off=written is None)

    def _note_cut_off(self, items: Iterable[Outgoing], refused: Iterable[Outgoing] = ()) -> None:
        """Note `items` as cut off mid-write, after the frame `write_now` began, if any.

        That frame's rest goes out first in every write of the sender (`transport.flush`,
        `send`, `send_many`), so a write cut off cuts it off too, and so does one the
        transport `refused` before any byte of it left (noted as never written).
        """
        core = self._core
        if self._partial is not None:
            _, frame, kind = self._partial
            core.cut_off.append(Outgoing(frame, kind))
        core.cut_off.extend(items)
        core.refused.extend(refused)

    def _keep_partial(self, written: bool | None) -> None:
        """Keep the frame `write_now` wrote in part, now that the rest is written (or never).

        `written`: how the write of its rest ended (see `_keep`). Before any frame written
        after it, so that the buffer stays in order.
        """
        partial = self._partial
        if partial is not None:
            self._partial = None
            if self._replayable():
                self._keep((partial,), written, False)

    def frame_queued(self) -> None:
        """Called before a frame (or `FLUSH`) is put in the outgoing channel.

        From then on the caller's task may not write ahead of the sender: the frame may
        already be in the sender's hands, not yet written.
        """
        self._sender_parked = False

    def write_now(self, frame: bytes, kind: str) -> bool | None:
        """Write a frame from the caller's task when the sender is idle: no task hand-off.

        Only when the sender is parked with nothing queued or in hand (so order is kept)
        and the transport can write without waiting. False: nothing done, queue it. None:
        part of it was written; queue `FLUSH` so that the sender writes the rest.
        """
        if not self._sender_parked or self._ended.is_set():
            return False  # a frame is queued, or handed to the sender but not yet written
        core = self._core
        written = self._transport.send_now(frame)
        if written is False:
            return False
        index = core.protocol.messages_sent + 1
        if written is None:
            # The rest waits for the sender's flush: kept for replay once that is over (see
            # `_write`), and reported if it is cut off, resumable session or not.
            self._partial = (index, frame, kind)
        elif self._replayable():
            # Written in full, with no checkpoint since: kept as `_write` keeps it.
            core.replay.add(index, frame, kind, self._now())
        core.protocol.frame_sent()
        core.messages_sent_total += 1
        core.frames_sent += 1
        core.bytes_sent += len(frame)
        return written

    async def _write_many(self, items: list[Outgoing]) -> None:
        core = self._core
        protocol = core.protocol
        first = protocol.messages_sent + 1
        size = 0
        for item in items:
            protocol.frame_sent()
            size += len(item.frame)
        writes_begun = self._transport.writes_begun
        written: bool | None = True
        try:
            await self._transport.send_many([item.frame for item in items])
        except BaseException as exc:
            written = self._written(exc, writes_begun)
            if written is False:
                self._note_cut_off((), refused=items)
            else:
                self._note_cut_off(items)
            raise
        finally:
            # Kept once written, cut off or refused, and dated as in `_write`.
            if self._partial is not None:
                self._keep_partial(written)
            if self._replayable():
                self._keep(
                    ((first + offset, item.frame, item.kind) for offset, item in enumerate(items)),
                    written,
                    False,
                )
        core.messages_sent_total += len(items)
        core.frames_sent += len(items)
        core.bytes_sent += size

    async def _flush(self) -> None:
        """Write what `write_now` left over (and queued pongs)."""
        writes_begun = self._transport.writes_begun
        written: bool | None = True
        try:
            await self._transport.flush()
        except BaseException as exc:
            written = self._written(exc, writes_begun)
            self._note_cut_off(())
            raise
        finally:
            if self._partial is not None:
                self._keep_partial(written)

    # --- ending ----------------------------------------------------------------------------

    def _end(self, outcome: ConnectionOutcome) -> None:
        if self._settle(outcome):
            self._ended.set()

    def _settle(self, outcome: ConnectionOutcome) -> bool:
        """Record how the connection ends, if nothing has yet; return whether this did."""
        if self._outcome is not None:
            return False
        if self.opened:
            # How long the server showed it was alive, not how long we waited: a server that
            # answers each resume with `setupComplete` and then silence (the heartbeat ends
            # the connection) must not pass for stable and renew the reconnect budget, or
            # the session would reconnect to it forever.
            transport = self._transport
            alive = max(self._last_inbound, transport.uplink.read_at, transport.received_at)
            # A server that keeps talking and reads nothing lives no longer than it read:
            # with its frames counted, each connection to it lasted `silence_limit` and
            # more, passed for stable, and renewed the budget: the session moved forever.
            alive = min(alive, self._stalled_from)
            lived = max(0.0, min(trio.current_time(), alive) - self._opened_at)
            outcome = dataclasses.replace(outcome, lived=lived)
        self._outcome = outcome
        return True

    def _closed(self, closed: TransportClosedError) -> None:
        # The one place a server's close reason enters: it becomes the close error (its
        # message, args, `.reason`), the `Closed` event and the log lines. A server may echo
        # the key in it ("API key AIza... not valid"), so the endpoint's secrets go first.
        code, reason = closed.code, self._core.endpoint.redact(closed.reason)
        if closed.local_failure:
            # Our close, for what the server sent (a frame breaking the protocol, a message
            # too large): no server's close to classify, and no drop to resume from.
            failure = local_failure_error(code, reason)
            log.warning("closed the connection: %s", failure)
            self._end(ConnectionOutcome(CloseAction.FAIL, code, reason, failure, self.opened))
            return
        # 1006: no close frame came (the transport's code for a dropped connection); nor
        # did one when the transport gives our own close's code (no reply in time).
        received = code != 1006 and not closed.own_close
        self._core.close_received = received
        action, close_error = self._core.protocol.close_received(code, reason)
        error: GeminiLiveError | None = close_error
        closing = self._core.closing
        if closing:
            action, error = CloseAction.END, None
        elif action is CloseAction.END:
            error = None
        by_server = closing and received
        # Only the server's own 1007 judges the setup: a quota close, a 1008 (a handle or
        # session gone) or our close for a broken frame says nothing about it.
        refused = (
            action is CloseAction.FAIL
            and code == 1007
            and not self.opened
            and not is_quota_reason(reason)
        )
        self._end(
            ConnectionOutcome(
                action,
                code,
                reason,
                error,
                self.opened,
                closed_by_server=by_server,
                setup_refused=refused,
            )
        )

    async def _abort(
        self,
        action: CloseAction,
        code: int,
        reason: str,
        error: GeminiLiveError | None,
        *,
        deliberate: bool = False,
    ) -> None:
        outcome = ConnectionOutcome(action, code, reason, error, self.opened, deliberate=deliberate)
        if not deliberate:
            self._end(outcome)
            await self.close(code, reason)
            return
        # A move (goAway, a setup change) closes first and ends after: ending first
        # cancelled the sender's write part-way through a frame, and the close frame then
        # went out behind half a frame (the server closed 1007, "invalid UTF-8"). The close
        # waits for that write (its frame goes out whole), and a write waiting behind the
        # close is refused: the next connection replays it. Bounded all the same: a write
        # that does not end within `close_timeout` is cut off then, and the transport drops
        # the stream rather than write anything behind it.
        if self._settle(outcome):
            self._core.begin_move()
        await self.close(code, reason)
        # The frames the server sent before it read our close are in the socket, or were
        # read by the close handshake and wait in the transport: the receiver hands them
        # to the user, in order, before the move's `Reconnected`. Ending the connection
        # at once cancelled it, and they were dropped without a word (the rest of an answer
        # a slow reader had not reached yet, the `turnComplete` and the handle after it).
        # Held by a reader that does not take them, as a move waiting for one is; a close
        # of the session sets them aside instead.
        await self._receiver_done.wait()
        self._ended.set()

    async def finish_sending(self) -> None:
        """Wait for the sender to write what is queued, once the outgoing channel is closed.

        Shielded, and bounded by `SessionOptions.close_timeout`. Called before a normal
        close: without it the close frame overtook the frames still queued, and a send
        that had returned never reached the server.
        """
        if not self.opened:
            return  # not open yet: nothing was written, nothing can be
        # Open, it may still be replaying after a resume: the sender starts once that is
        # done. The close used to come at once then, and cut the replay off.
        with trio.CancelScope(shield=True), trio.move_on_after(self._core.options.close_timeout):
            await self._first_of(self._sender_done, self._ended)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket: shielded, and bounded by `SessionOptions.close_timeout`."""
        with (
            trio.CancelScope(shield=True),
            trio.move_on_after(self._core.options.close_timeout),
            suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError),
        ):
            await self._transport.aclose(code, reason)

    def answer_written(self) -> None:
        """A tool response was written from the caller's task (`write_now`), settling calls.

        A move waiting for the session to be idle may go now: the sender, which wakes it
        for the responses it writes, never saw this one.
        """
        if self._switch.is_set():
            self._poke()

    def _poke(self) -> None:
        self._state_changed.set()
        self._state_changed = trio.Event()

    # --- the tasks -------------------------------------------------------------------------

    async def _receiver(self) -> None:
        core = self._core
        receive_frame = core.protocol.receive_frame
        send_nowait = core.events_send.send_nowait
        switch = self._switch
        try:
            while True:
                # No `_last_inbound` here: the transport notes every read (`received_at`).
                batch = await self._transport.receive_batch()
                woke = False  # whether this read's events woke the user's waiting `async for`
                for frame in batch:
                    core.frames_received += 1
                    core.bytes_received += len(frame)
                    for event in receive_frame(frame):
                        # Most events (audio, text, transcripts) go straight to the user's
                        # channel; the rest, a full channel or a pending switch take `_handle`.
                        if type(event) in _NOTED or switch.is_set():
                            woke = await self._handle(event) or woke
                            continue
                        woke = woke or core.consumer_parked
                        try:
                            send_nowait(event)
                        except trio.WouldBlock:
                            await self._handle(event)
                if self._read_seen is not None:
                    self._read_seen.set()
                if woke and self._may_lend():
                    await self._lend()
                    # Reading again: frames that came meanwhile may have waited since then.
                    core.note_unread(self._unread_since, self._now())
        except TransportClosedError as exc:
            self._closed(exc)
        except RemoteProtocolError as exc:
            log.warning("closing the connection: %s", exc)
            await self._abort(CloseAction.FAIL, 1007, fit_close_reason(str(exc)), exc)
        finally:
            self._receiver_done.set()

    # --- the read lent to the user's task ---------------------------------------------------
    #
    # A frame read by the receiver costs two task steps: the receiver's, then the user's
    # once the event is in their channel. When the user's `async for` was waiting for the
    # events just delivered, the receiver lends it the read: the user's task then waits on
    # the socket itself while it waits for events (one task step per frame) and the
    # receiver waits until the read comes back: when the user's read is cancelled or it
    # waits some other way (`receive()`), or, checked every `_LEND_CHECK` seconds, once the
    # user is busy elsewhere, so that pongs and the server's close are never left unread
    # for long.

    def _may_lend(self) -> bool:
        return (
            self._transport.consumer_readable
            and self._opened.is_set()
            and not self._switch.is_set()
            and not self._core.closing
            and not self._ended.is_set()
        )

    async def _lend(self) -> None:
        self._lent = True
        self._unread_since = trio.current_time()
        baton = self._baton = trio.Event()
        try:
            while True:
                with trio.move_on_after(_LEND_CHECK):
                    await baton.wait()
                    return
                if not self._consumer_reading:
                    return  # the user is busy elsewhere: read for them again
        finally:
            self._lent = False

    @property
    def lent(self) -> bool:
        """Whether the user's task may read the socket itself (`read_for_consumer`)."""
        return self._lent

    def reclaim(self) -> None:
        """Take the read back for the receiver, unless the user's task is reading right now."""
        if self._lent and not self._consumer_reading:
            self._lent = False
            self._baton.set()

    async def read_for_consumer(self) -> list[ev.LiveEvent]:
        """Read the socket from the user's task (while `lent`); return the events of the read.

        The events are the user's in order, before anything delivered to the channel after
        them. Cancellation loses nothing: it can only happen before the read.
        """
        core = self._core
        self._consumer_reading = True
        self._unread_from = self._unread_since
        self._unread_until = self._now()
        try:
            batch = await self._transport.receive_batch(defer_writes=True)
        except TransportClosedError as exc:
            self._consumer_reading = False
            self._closed(exc)
            self.reclaim()
            return []
        except BaseException:
            self._consumer_reading = False
            self.reclaim()  # cancelled, before anything was read
            raise
        self._consumer_reading = False
        self._last_inbound = self._unread_since = self._now()
        out: list[ev.LiveEvent] = []
        receive_frame = core.protocol.receive_frame
        switch = self._switch
        try:
            for frame in batch:
                core.frames_received += 1
                core.bytes_received += len(frame)
                for event in receive_frame(frame):
                    if type(event) in _NOTED or switch.is_set():
                        out.extend(self._note(event))
                    else:
                        out.append(event)
        except RemoteProtocolError as exc:
            log.warning("closing the connection: %s", exc)
            self.reclaim()
            await self._abort(CloseAction.FAIL, 1007, fit_close_reason(str(exc)), exc)
        if switch.is_set():
            self.reclaim()  # a move is pending: the receiver reads until it happens
        return out

    def writes_pending(self) -> bool:
        """Whether a read from the user's task left a reply (a pong) for the sender to write."""
        return self._transport.writes_pending()

    async def _handle(self, event: ev.LiveEvent) -> bool:
        """Act on an event and deliver what the user gets of it.

        Returns whether a delivery woke the user's waiting `async for`.
        """
        core = self._core
        woke = False
        for item in self._note(event):
            woke = woke or core.consumer_parked
            if await core.deliver(item):
                # Time spent waiting for the user is not silence from the server.
                self._last_inbound = trio.current_time()
                if self._switch.is_set():
                    self._poke()  # a switch held back by this delivery may go now
        return woke

    def _note(self, event: ev.LiveEvent) -> tuple[ev.LiveEvent, ...]:
        """Act on an event the connection cares about; return what the user gets of it."""
        core = self._core
        kind = type(event)
        out: tuple[ev.LiveEvent, ...] = (event,)
        if kind is ev.SessionCreated or kind is ev.SessionUpdated:
            resumed = self._resumed_event
            if kind is ev.SessionCreated:
                self._opened_at = trio.current_time()
                self._opened.set()
                if resumed is not None:
                    core.reconnects += 1
            if resumed is not None:
                # The user saw the session open once; a resume is `Reconnected` (and a
                # changed setup its `SessionUpdated`).
                if kind is ev.SessionCreated:
                    out = (resumed,)
                    # It reports the tool responses (and signals, `SignalLedger`) the resume
                    # voided: the session's end need not report them again.
                    core.answers.told()
                    core.signals.told()
                    if resumed.not_replayed:
                        # Said to the operator too, as a session's end says what it left.
                        log.warning(
                            "resumed with %d message(s) not replayed: %s",
                            resumed.not_replayed_messages,
                            "; ".join(resumed.not_replayed),
                        )
                elif not resumed.setup_changed:
                    out = ()
        elif kind is ev.ResumptionUpdate:
            assert isinstance(event, ev.ResumptionUpdate)
            if event.resumable and event.handle:
                index = event.last_consumed_client_message_index
                if core.transparent and index is not None:
                    core.replay.consumed_through(index)
                else:
                    core.replay.covered_through(
                        core.handle_cutoff(self._unread_from, self._unread_until)
                    )
        elif kind is ev.GoAway:
            assert isinstance(event, ev.GoAway)
            margin = core.options.reconnect.go_away_margin
            self.request_switch("goAway", trio.current_time() + event.time_left - margin)
        if self._switch.is_set():
            self._poke()  # only `_watch_switch` waits for it, once a switch is requested
        return out

    async def _sender(self) -> None:
        try:
            await self._send_queued()
        finally:
            self._sender_done.set()

    async def _send_queued(self) -> None:
        outgoing = self._core.outgoing_receive
        answers = self._core.answers
        signals = self._core.signals
        updates = self._core.updates
        try:
            while True:
                # `receive()`, unrolled as trio writes it (cancel point, take, schedule point
                # that cannot lose what was taken), so that the flag is set only while
                # parked on an empty channel: a frame can then only reach this task by being
                # handed over, and whoever hands it clears the flag first.
                await trio.lowlevel.checkpoint_if_cancelled()
                try:
                    item = outgoing.receive_nowait()
                except trio.WouldBlock:
                    item = None
                except trio.EndOfChannel:
                    break
                if item is None:
                    self._sender_parked = True
                    try:
                        item = await outgoing.receive()
                    except trio.EndOfChannel:
                        break
                    finally:
                        self._sender_parked = False
                else:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                kind = item.kind
                answered = kind == TOOL_RESPONSE
                if answered and not answers.take(item):
                    continue  # voided by a resume (see `AnswerLedger`): never written
                if kind in DETECTION_SIGNALS and not signals.take(item):
                    continue  # voided: this connection's setup refuses it (`SignalLedger`)
                if kind == CONTEXT_UPDATE and not updates.take(item):
                    continue  # voided: this connection's setup carries it (`UpdateLedger`)
                # Whatever else is queued already goes out in the same socket write, up to
                # `_SEND_BATCH` frames and a little over `LONG_WRITE` bytes: a ping waits
                # behind the write under way, which vouches for the server meanwhile (see
                # `_heartbeat`), so a write must not grow with a queue of large frames.
                batch: list[Outgoing] | None = None
                size = len(item.frame)
                while size <= LONG_WRITE:
                    try:
                        more = outgoing.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                    if more.kind == TOOL_RESPONSE:
                        if not answers.take(more):
                            continue
                        answered = True
                    elif (more.kind in DETECTION_SIGNALS and not signals.take(more)) or (
                        more.kind == CONTEXT_UPDATE and not updates.take(more)
                    ):
                        continue  # voided, as above
                    if batch is None:
                        batch = [] if item is FLUSH else [item]
                    if more is not FLUSH:
                        batch.append(more)
                        size += len(more.frame)
                    if len(batch) >= _SEND_BATCH:
                        break
                self._writing = True
                self._write_began = self._now()
                try:
                    if batch is None:
                        if item is FLUSH:
                            await self._flush()
                        else:
                            await self._write(item.frame, item.kind)
                    elif len(batch) == 1:
                        await self._write(batch[0].frame, batch[0].kind)
                    elif batch:
                        await self._write_many(batch)
                    else:
                        await self._flush()
                finally:
                    self._writing = False
                if answered and self._switch.is_set():
                    self._poke()  # a move waiting for the response to go out may go now
        except TransportClosedError:
            pass  # the receiver sees the same close and reports it
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def _heartbeat(self) -> None:
        options = self._core.options
        interval = options.ping_interval
        async with trio.open_nursery() as pings:
            while True:
                await trio.sleep(interval)
                now = trio.current_time()
                if self._core.consumer_blocked:
                    # The receiver waits for the user, not for the peer; and a peer that
                    # cannot send to a client that reads nothing may stop reading in turn
                    # (the emulator does, over TCP): the stalled uplink is ours too.
                    self._last_inbound = now
                    continue
                stalled = self._stalled_write(now)
                if stalled >= options.silence_limit:
                    self._stalled_from = now - stalled
                    await self._abort(
                        CloseAction.RESUME,
                        1011,
                        "uplink stalled",
                        HeartbeatTimeoutError(
                            f"the server read nothing for {stalled:.0f} s: a write made no "
                            f"progress (limit {options.silence_limit:g} s)"
                        ),
                    )
                    return
                # While our ping waits behind a long write, each piece of it the stream
                # takes is the server reading us (`UplinkMeter.read_at`): over a slow uplink
                # a large frame takes minutes, and the server can answer neither with a
                # frame nor with the pong before it has read the ping. That write is at most
                # one large frame (batches stop near `LONG_WRITE`) and ends because it
                # progresses; one that stops is a stall. Once written, the ping may wait in
                # the kernel's send buffer still: where it can be read, a queue that drains
                # is the same credit (`check_queue`, read only while the ping is unanswered).
                # That credit ends once the bytes that stood before the ping are gone, and
                # only a frame or the pong counts: a server that reads everything but never
                # answers is still declared dead `silence_limit` (plus one check) after
                # that, however much more we write.
                uplink = self._transport.uplink
                if self._ping_in_flight:
                    uplink.check_queue()
                # Bytes read count, not only whole frames: a large frame over a slow
                # downlink takes longer than the limit to arrive, the server sending all
                # along (and our pong waits behind it).
                silence = now - max(self._last_inbound, uplink.read_at, self._transport.received_at)
                if silence >= options.silence_limit:
                    await self._abort(
                        CloseAction.RESUME,
                        1011,
                        "keepalive timeout",
                        HeartbeatTimeoutError(
                            f"no frame or pong from the server for {silence:.0f} s "
                            f"(limit {options.silence_limit:g} s)"
                        ),
                    )
                    return
                if silence >= interval and not self._ping_in_flight:
                    pings.start_soon(self._ping_once)

    def _stalled_write(self, now: float) -> float:
        """How long the sender's current write has made no progress, as of `now` (0: none).

        Progress: the write's start, a piece of a long one taken by the stream, or the end
        of a wait on the user (`SessionCore.blocked_until`): a write held back while the
        receiver waited on a full event channel is not the server's stall (see `_heartbeat`).
        """
        if not self._writing:
            return 0.0
        moved = max(self._write_began, self._transport.uplink.moved_at, self._core.blocked_until)
        return max(0.0, now - moved)

    async def _ping_once(self) -> None:
        self._ping_in_flight = True
        try:
            await self._transport.ping()
            self._last_inbound = trio.current_time()
        except (TransportClosedError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the receiver reports the close
        finally:
            self._ping_in_flight = False

    def request_switch(self, reason: str, deadline: float) -> None:
        """Move the session to a new connection once idle, or at `deadline` at the latest.

        A second request while a move is pending keeps the earlier of the two deadlines
        (a `goAway` must not wait out an `update_setup`'s bound, nor the reverse). The
        server's `"goAway"` stays the connection's reason to end, whichever came first
        (`Reconnected.reason` says `"reconfigure"` if the move brings a new setup).
        """
        if not self._switch.is_set():
            self._switch_reason = reason
            self._switch_deadline = deadline
            self._switch.set()
            return
        if reason == "goAway":
            self._switch_reason = reason
        if deadline < self._switch_deadline:
            self._switch_deadline = deadline
            self._poke()  # `_watch_switch` waits until the deadline it read

    async def _watch_switch(self) -> None:
        """After `goAway` (or a setup change), resume on a new connection once idle."""
        await self._switch.wait()
        if not self._resumable():
            return  # no resumption configured: the server's close ends the session
        await self._take_back()
        core = self._core
        # Not while the receiver waits for the user to take an event: ending the connection
        # then would cancel that delivery and lose the event (a `TurnComplete`, the
        # `GoAway` itself) and the rest of its read. Nor, past the deadline, while the model
        # is still answering and the receiver has waited for the user since: it is behind
        # the server, and the socket still holds the rest of the answer. The server's own
        # close at its deadline loses none of that (it comes after them), and resumes the
        # session as a retryable drop. A tool response still queued counts as busy too:
        # written here it answers its call, while the move would void it (`AnswerLedger`).
        while True:
            while core.consumer_blocked or (
                not (core.protocol.idle and not core.answers.queued)
                and (
                    trio.current_time() < self._switch_deadline
                    or core.stalled_until >= self._switch_deadline
                )
            ):
                # Read at each wake: a later request may have brought the deadline forward.
                deadline = self._switch_deadline
                before_deadline = trio.current_time() < deadline
                with trio.move_on_at(deadline if before_deadline else math.inf):
                    await self._state_changed.wait()
            if await self._caught_up():
                break
        if core.closing:
            return  # the application's close writes the queue here, then ends the connection
        await self._abort(CloseAction.RESUME, 1000, self._switch_reason, None, deliberate=True)

    async def _caught_up(self) -> bool:
        """Whether the protocol's idle look can be trusted: the receiver is not behind.

        After a wait on the user the receiver may be behind the server: the protocol looks
        idle while the socket holds a whole answer it has not reached (the user stopped
        reading before its first frame), and the move would cut it off, though the server
        sent all of it. So once it looks idle after such a wait, the receiver reads on
        until a read brings nothing within `_SWITCH_SETTLE`; False: it read something
        (or waits on the user again), to be looked at first.
        """
        core = self._core
        if not core.protocol.idle or core.blocked_until <= self._caught_up_at:
            # Busy: the receiver has reached the answer, and the bound decides. Or no wait on
            # the user since the receiver was last found caught up.
            return True
        deadline = self._switch_deadline
        if trio.current_time() >= deadline and core.stalled_until < deadline:
            # The bound: frames that keep the model idle (the user's transcription, one
            # every few tens of ms while they talk) would hold the move for ever. Unless the
            # receiver has waited on the user since: then it may be behind an answer, which
            # it reads on to the turn's end (as `_watch_switch` does for a busy model).
            return True
        seen = self._read_seen = trio.Event()
        try:
            now = trio.current_time()
            # Not past the bound before it; past it (behind the user), the settle as usual.
            settled = now + _SWITCH_SETTLE
            with trio.move_on_at(min(settled, deadline) if now < deadline else settled):
                await seen.wait()
                return False
        finally:
            self._read_seen = None
        if core.consumer_blocked:
            return False
        self._caught_up_at = trio.current_time()
        return True

    async def _take_back(self) -> None:
        """Have the receiver read again before a move, if the read is lent to a busy user.

        Frames the server sent meanwhile wait unread in the socket, and the protocol looks
        idle without them: the move would close the connection, and the close handshake
        would read them and drop them. A user's task reading right now takes them itself.
        """
        if self._lent and not self._consumer_reading:
            seen = self._read_seen = trio.Event()
            self.reclaim()
            try:
                # Nothing read within this: the socket held nothing (the receiver waited on
                # it), and what comes later was in flight, as it may be for any move.
                with trio.move_on_after(_SWITCH_SETTLE):
                    await seen.wait()
            finally:
                self._read_seen = None

    def _replayable(self) -> bool:
        """Whether sent frames are kept for replay (only a resumable session replays).

        Without resumption no server acknowledgement would ever release them.
        """
        setup = self._core.protocol.setup
        return setup is not None and setup.session_resumption is not None

    def _resumable(self) -> bool:
        setup = self._core.protocol.setup
        return setup is not None and setup.session_resumption is not None
