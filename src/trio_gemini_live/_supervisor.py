"""The session's supervisor: its connections, one after another, for as long as it lives.

The first connection opens with the setup; when one ends with `goAway`, a setup change or
a retryable drop, the next resumes with the latest handle and replays what the server may
not have consumed. Failures share a budget per outage (`_Outage`); deliberate moves cost
nothing. `LiveSession` inherits this; the user-facing sending and receiving live there.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import msgspec
import trio

from . import _events as ev  # pyright: ignore[reportPrivateUsage]
from ._answers import TOOL_RESPONSE
from ._close_policy import CloseAction
from ._connection import FLUSH, Connection, ConnectionOutcome, Outgoing, SessionCore
from ._endpoints import Endpoint
from ._errors import (
    GeminiLiveError,
    ReconnectFailedError,
    SessionClosedError,
    SetupTimeoutError,
    TransportError,
)
from ._groups import only_cancelled, sole_leaf
from ._options import SessionOptions
from ._protocol import SessionState, with_context_update
from ._resume import MessageTally, ReplayPlan
from ._setup import automatic_activity_detection
from ._signals import DETECTION_SIGNALS
from ._transport import Connector, open_transport
from ._update_ledger import CONTEXT_UPDATE
from ._wire import ContextUpdate, SessionResumptionConfig, Setup

__all__ = ["UNCONFIRMED", "UNREPLAYED", "SessionSupervisor"]

UNREPLAYED = "written before a resume, which ended before writing it again"
"""The cause in `Closed.not_sent` of messages a cut-short replay left (the server lacks them)."""

UNCONFIRMED = "written, but the server did not answer the close: it may not have received it"
"""The cause in `Closed.not_sent` of messages written and not yet confirmed by the server when
the application's close ended without the server's close frame (see `SessionCore.close_received`).
"""

log = logging.getLogger("trio_gemini_live.session")


def _ending(outcome: ConnectionOutcome) -> str:
    """How a connection ended, for a log line or an error: its reason, never an empty text.

    No close frame (1006, the transports' code for it) is a dropped connection; a close
    frame without a reason is named by its code, not taken for a drop.
    """
    if outcome.reason:
        return outcome.reason
    if outcome.code == 1006:
        return "a dropped connection"
    return f"a close ({outcome.code}) without a reason"


@dataclass(eq=False)
class _Outage:
    """Failures since the session last had a stable connection: they share one budget.

    A resumed connection that fails before `ReconnectPolicy.stable_after` seconds continues
    the outage, so that a server which accepts each resume and then drops at once cannot
    make the client loop forever. A connection that lives that long ends it, and so does
    one the session leaves on purpose (`goAway`, a setup change): it did not drop.
    """

    started: float
    delays: Iterator[float]
    attempts: int = 0
    last_error: GeminiLiveError | None = None


class SessionSupervisor:
    """Runs a `LiveSession`'s connections one after another (a base class of `LiveSession`).

    The state below is `LiveSession`'s, made in its `__init__`.
    """

    _core: SessionCore
    _options: SessionOptions
    _endpoint: Endpoint
    _connector: Connector | None
    _outgoing_send: trio.MemorySendChannel[Outgoing]
    _failure: GeminiLiveError | None
    _failure_told: bool
    # The `Closed` event, when the reader's channel was full as the session ended: the
    # reader gets it after the events before it (`LiveSession._closed_event_once`).
    _closed_event: ev.Closed | None
    # What was still queued when the session ended (`Closed.not_sent`), once it has.
    _not_sent: tuple[str, ...]
    _setup_ready: trio.Event
    _settled: trio.Event
    _first_outcome: ConnectionOutcome | None
    _finished: trio.Event
    # The latest `update_setup` not yet in force: the next connection carries it. It stays
    # set while that connection opens (one that fails carries it again on the next).
    _next_setup: Setup | None
    # `update_setup` calls so far: a move clears `_next_setup` only if no call came after
    # the one it carries (the setup itself changes with a `contextUpdate`: no identity).
    _setup_requests: int
    # During a move carrying `_next_setup`: the setup in force before it, which the session
    # goes on with if the server refuses the new one.
    _fallback_setup: Setup | None
    # Setups the server refused so far (`Reconnected.setup_refused`): the seed facade
    # rebuilds its draft of the setup after one.
    _setups_refused: int
    _outage: _Outage | None
    _young_moves: int  # goAway moves in a row from connections younger than stable_after
    _ended: bool  # `_finish` has begun: no connection will follow
    _rng: random.Random
    # Around a resume's backoff wait or connect, each of which `aclose` cuts short (see
    # `_cut_short_by_close`).
    _resume_wait: trio.CancelScope

    def _raise_if_not_open(self) -> None:
        outcome = self._first_outcome
        if outcome is not None:
            if outcome.error is not None:
                self._failure_told = True  # the application is given it: nothing to warn of
                raise outcome.error
            if self._core.closing:
                # The application's own close (`aclose`, the end of its block) ended it.
                raise SessionClosedError(
                    "the session was closed (aclose, or the end of its open_session block) "
                    "before its setup was accepted: open a new session"
                )
            raise SessionClosedError(
                f"the server closed the connection during setup: {outcome.code} {outcome.reason}"
            )
        if not self._settled.is_set():
            raise SetupTimeoutError(
                f"no setupComplete from {self._endpoint.display_url} within "
                f"{self._options.setup_timeout:g} s"
            )

    # --- the supervisor: connections one after another ------------------------------------

    def _on_first_settled(self, outcome: ConnectionOutcome | None) -> None:
        self._first_outcome = outcome
        self._settled.set()

    async def _connect(self, nursery: trio.Nursery) -> Connection:
        options = self._options
        with trio.move_on_after(options.connect_timeout):
            transport = await open_transport(
                nursery, self._endpoint, options, connector=self._connector
            )
            return Connection(self._core, transport)
        raise TransportError(
            f"connecting to {self._endpoint.display_url} took longer than "
            f"{options.connect_timeout:g} s"
        )

    async def _run_first(
        self,
        setup: Setup | None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> ConnectionOutcome:
        async with trio.open_nursery() as nursery:
            connection = await self._connect(nursery)
            if setup is None:
                task_status.started()  # the socket is open; `start()` sends the setup later
            else:
                self._core.pending_setup = setup
                self._setup_ready.set()

            def settled(outcome: ConnectionOutcome | None) -> None:
                self._on_first_settled(outcome)
                if setup is not None and outcome is None:
                    task_status.started()

            outcome = await connection.run(None, setup_ready=self._setup_ready, on_settled=settled)
            if setup is not None and not connection.opened:
                self._on_first_settled(outcome)
                self._raise_if_not_open()
            nursery.cancel_scope.cancel()
        return outcome

    async def _supervise(
        self,
        setup: Setup | None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        try:
            await self._supervise_connections(setup, task_status=task_status)
        except BaseException as exc:
            if only_cancelled(exc):
                # Cancelled by an outer cancellation (or by the exit, its wait run out):
                # the session ends now, not at `open_session`'s exit. An `aclose` from the
                # block (as `GeminiRealtimeClient.connect` makes) otherwise waited its
                # whole bound for an end that no task was left to bring.
                self._end_if_cut_short()
            raise

    async def _supervise_connections(
        self, setup: Setup | None, *, task_status: trio.TaskStatus[None]
    ) -> None:
        outcome = await self._run_first(setup, task_status=task_status)
        try:
            while outcome.opened and self._should_resume(outcome):
                outcome = await self._resume(outcome)
        except ReconnectFailedError as exc:
            await self._finish(exc, 1006, str(exc))
            return
        code, reason = outcome.code, outcome.reason
        if (
            self._core.closing
            and outcome.action is not CloseAction.FAIL
            and not outcome.closed_by_server
        ):
            # The application's close ended the session (`Closed` says 1000, as documented),
            # also when the last connection had dropped (an outage: a 1006 with no reason)
            # or dropped during the close. A server's own close frame keeps its code and
            # reason: a fatal 1007 read during the close still says what was refused.
            code, reason = 1000, ""
        error = None if outcome.action is CloseAction.END or self._core.closing else outcome.error
        await self._finish(error, code, reason)

    def _should_resume(self, outcome: ConnectionOutcome) -> bool:
        core = self._core
        setup = core.protocol.setup
        return (
            outcome.action is CloseAction.RESUME
            and not core.closes_at_once
            and self._options.reconnect.enabled
            and setup is not None
            and setup.session_resumption is not None
        )

    def _carry_context_update(self, update: ContextUpdate) -> None:
        """Apply a committed `contextUpdate` to the setups that may come into force.

        `LiveProtocol.commit` changes the setup in force; a pending `update_setup` would
        replace that at the move, and a refused one would restore the setup from before
        it: without this, either brought back the old instruction and tools (on the server
        too, in every later resume). Applied on top of them, as it was sent after.
        """
        if self._next_setup is not None:
            self._next_setup = with_context_update(self._next_setup, update)
        if self._fallback_setup is not None:
            self._fallback_setup = with_context_update(self._fallback_setup, update)

    async def _resume(self, outcome: ConnectionOutcome) -> ConnectionOutcome:
        """Move the session to a new connection; return how that connection ended.

        Returns a connection that opened, or as soon as the application closes the session
        (`aclose`; the caller then finishes; during a deliberate move, once `aclose` gives
        up waiting for its connection); raises `ReconnectFailedError` when the
        outage's budget is spent or a resume is refused. A deliberate move (`goAway`, a
        setup change) is no failure: it ends any outage, and makes its first attempt at
        once and free; only a failed attempt starts an outage (see `_Outage`).
        """
        core = self._core
        moved_at = trio.current_time()
        if outcome.deliberate:
            self._outage = None
            await self._pace_go_away_storm(outcome)
        else:
            self._count_failure(outcome.error, moved_at)
        waited_from = trio.current_time()
        plan = await self._prepare_resume()
        # Handing the cancelled calls to a busy reader waits for it: the application's time,
        # not the server's, so it spends nothing of the outage's `max_elapsed`.
        waited = trio.current_time() - waited_from
        moved_at += waited
        if self._outage is not None:
            self._outage.started += waited
        free = outcome.deliberate  # this attempt costs nothing: no delay, no budget
        # Taken once: an attempt that failed leaves `protocol.setup` as the setup it sent,
        # which the server never accepted.
        self._fallback_setup = core.protocol.setup
        try:
            return await self._attempts(outcome, plan, moved_at, free=free)
        finally:
            self._fallback_setup = None
            core.end_move()

    async def _attempts(
        self, outcome: ConnectionOutcome, plan: ReplayPlan, moved_at: float, *, free: bool
    ) -> ConnectionOutcome:
        """`_resume`'s attempts, until one opens (see `_resume`)."""
        core = self._core
        policy = self._options.reconnect
        attempts = 0
        refused: str | None = None  # why the server refused a setup `update_setup` asked for
        while True:
            if core.closes_at_once:
                # The application closed the session between attempts (a deliberate move's
                # first attempt goes on: the close waits for it to write what is queued).
                return outcome
            if not free:
                outage = self._outage
                assert outage is not None  # a failure was counted
                delay = next(outage.delays, None)
                if delay is None or trio.current_time() - outage.started + delay > (
                    policy.max_elapsed
                ):
                    raise self._gave_up(outcome)
                outage.attempts += 1
                await self._backoff_sleep(delay)
                if core.closes_at_once:
                    return outcome
            attempts += 1
            core.protocol.reset_for_resume()
            core.replay.clear()  # `plan` holds what to replay; a failed try must not double it
            log.info(
                "resuming the session (attempt %d, after %s)",
                # After a drop, those of the whole outage, as `Reconnected.attempts` counts.
                self._outage.attempts if self._outage is not None else attempts,
                _ending(outcome),
            )
            error: GeminiLiveError | None
            try:
                async with trio.open_nursery() as nursery:
                    connection = await self._resume_connect(nursery)
                    if connection is None:
                        return outcome  # the application closed the session meanwhile
                    # Read with no checkpoint before `run` makes the connection current:
                    # `update_setup` calls up to here are carried by this connection, later
                    # ones switch it (see `update_setup`).
                    requested = self._next_setup
                    requests = self._setup_requests
                    setup = self._resume_setup(requested)
                    # Context updates queued by now are in it: once it is accepted, the new
                    # connection does not write them (`UpdateLedger`).
                    core.updates.carry()
                    # Activity signals and `audioStreamEnd` are not written where the setup
                    # refuses them (`kept_off`): neither replayed nor, still queued, written
                    # by the new sender.
                    automatic_vad = automatic_activity_detection(setup)
                    queued = core.signals.onto(automatic_vad=automatic_vad)
                    sent = plan.onto(automatic_vad=automatic_vad, queued=queued)
                    outage = self._outage
                    # A deliberate move that brings a setup `update_setup` asked for is a
                    # reconfiguration, also when a `goAway` started it first.
                    reconfigured = outcome.deliberate and (
                        requested is not None or refused is not None
                    )
                    reconnected = ev.Reconnected(
                        reason="reconfigure" if reconfigured else outcome.reason,
                        # After a drop: the time and attempts of the whole outage.
                        duration=trio.current_time() - (outage.started if outage else moved_at),
                        attempts=outage.attempts if outage else attempts,
                        replayed=len(sent.replay),
                        not_replayed=sent.not_replayed,
                        not_replayed_messages=sent.not_replayed_messages,
                        possibly_duplicated=sent.possibly_duplicated,
                        setup_changed=requested is not None,
                        setup_refused=refused,
                    )
                    result = await connection.run(setup, plan=sent, reconnected=reconnected)
                    nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                # trio wraps what the nursery's body raised: a connection that could not
                # be opened (a network still down) spends this attempt, nothing more.
                failed = sole_leaf(group, TransportError)
                if failed is None:
                    raise
                error = failed
            else:
                if core.closing:
                    # The application closed the session meanwhile. A close that waited for
                    # this move's connection, which never opened (the server refused the
                    # setup `update_setup` asked for, say), ends as any close of the
                    # application's does, with what is queued reported as never written.
                    if not result.opened:
                        log.info(
                            "the move's connection closed before it opened: %d, %s",
                            result.code,
                            _ending(result),
                        )
                        return ConnectionOutcome(CloseAction.END, 1000, "")
                    return result
                if result.opened:
                    if self._setup_requests == requests:
                        self._next_setup = None  # applied: it is now `protocol.setup`
                    if result.lived >= policy.stable_after:
                        self._outage = None
                    return result
                error = result.error
                if result.setup_refused and requested is not None:
                    # The server refused the setup `update_setup` asked for (1007 for a
                    # voice it lacks, say): that setup is dropped, and the session goes on
                    # at once with the one it had, the refusal told in `Reconnected`. Any
                    # other failure (a quota close, a 1008, our close for a broken frame)
                    # is no verdict on it: it stays requested, and the close table decides.
                    log.warning("the server refused the new setup: %s", error)
                    refused = str(error)
                    self._setups_refused += 1
                    core.protocol.setup = self._fallback_setup
                    if self._setup_requests == requests:
                        self._next_setup = None
                    continue
                if result.action is CloseAction.FAIL:
                    self._count_failure(error, moved_at, attempt=free)
                    raise self._gave_up(outcome)
            self._count_failure(error, moved_at, attempt=free)
            free = False
            core.end_move()  # an outage now, which a close does not wait for

    async def _pace_go_away_storm(self, outcome: ConnectionOutcome) -> None:
        """Follow a server that says `goAway` soon after every resume, but not in a tight loop.

        Such moves are no failures (a draining fleet may hand the session on several
        times), so they never end the session; after `max_attempts` of them in a row, each
        from a connection younger than `stable_after`, the next waits a backoff delay.
        """
        policy = self._options.reconnect
        young = outcome.reason != "reconfigure" and outcome.lived < policy.stable_after
        self._young_moves = self._young_moves + 1 if young else 0
        beyond = self._young_moves - policy.max_attempts
        if beyond > 0:
            delay = policy.backoff_delay(beyond - 1)
            await self._backoff_sleep(delay * (1 - policy.jitter * self._rng.random()))

    async def _backoff_sleep(self, delay: float) -> None:
        """Wait `delay` seconds between attempts, or until the application closes the session.

        Leaving the `open_session` block during a backoff would otherwise wait for the whole
        delay (up to `max_delay`), bounded only by the exit's `2 * close_timeout`.
        """
        with self._cut_short_by_close():
            await trio.sleep(delay)

    async def _resume_connect(self, nursery: trio.Nursery) -> Connection | None:
        """`_connect` for a resume; None if the application closes the session meanwhile.

        A connect may take all of `connect_timeout` (a blackholed host, an upgrade nobody
        answers). Waited for, it outlived the exit's `2 * close_timeout`, which then
        cancelled the session before it had ended: what was still queued went unreported.
        """
        with self._cut_short_by_close():
            return await self._connect(nursery)
        return None

    @contextmanager
    def _cut_short_by_close(self) -> Generator[None]:
        """A cancel scope that `aclose` cancels (at once if the session is closing already).

        During a deliberate move `aclose` cancels it only once it gives the move up (see
        `SessionCore.move`): until then the move's connection may open and write the queue.
        """
        with trio.CancelScope() as self._resume_wait:
            if self._core.closes_at_once:
                self._resume_wait.cancel()
            yield

    def _count_failure(
        self, error: GeminiLiveError | None, moved_at: float, *, attempt: bool = False
    ) -> None:
        """Charge a failure to the current outage, starting one if there is none.

        `attempt`: the failure was the free first attempt of a deliberate move; it counts
        as the outage's first attempt (made with no delay).
        """
        outage = self._outage
        if outage is None:
            delays = self._options.reconnect.delays(self._rng, immediate_first=attempt)
            outage = self._outage = _Outage(started=moved_at, delays=delays)
        outage.last_error = error
        if attempt:
            outage.attempts += 1
            next(outage.delays, None)  # its delay: 0, as the outage starts with it

    def _gave_up(self, outcome: ConnectionOutcome) -> ReconnectFailedError:
        outage = self._outage
        assert outage is not None
        elapsed = trio.current_time() - outage.started
        return ReconnectFailedError(
            f"could not resume the session after {_ending(outcome)}: "
            f"{outage.attempts} attempt(s) in "
            f"{elapsed:.1f} s; last error: {outage.last_error}",
            outage.last_error,
        )

    async def _prepare_resume(self) -> ReplayPlan:
        await self._cancel_pending_calls()
        # After the cancellation's hand-over (it may wait for the reader): every tool
        # response queued until now answers a call of the old connection.
        core = self._core
        unsent, answered = core.answers.void()
        core.cancel_calls(answered, answered=True)
        # Those the last connection refused are owed by the buffer; under transparent
        # resumption, those it cut off (or cut short in a replay) are not: a handle's index
        # may have said the server consumed them.
        owed = (
            [*core.refused]
            if core.transparent
            else [*core.refused, *core.cut_off, *core.unreplayed]
        )
        core.protocol.reset_for_resume()
        return core.replay.take(unsent, owed=((item.kind, item.frame) for item in owed))

    def _resume_setup(self, requested: Setup | None) -> Setup:
        in_force = self._core.protocol.setup or self._core.pending_setup
        setup = requested or in_force
        assert setup is not None
        previous = setup.session_resumption or SessionResumptionConfig()
        # Before the server's first resumable handle, the handle the session was opened
        # with (if any) still names it: without one, the resume would start a new session
        # and the conversation so far would be gone.
        opened_with = in_force.session_resumption if in_force is not None else None
        handle = self._core.protocol.resumption_handle or (
            opened_with.handle if opened_with is not None else None
        )
        return msgspec.structs.replace(
            setup,
            session_resumption=SessionResumptionConfig(
                handle=handle, transparent=previous.transparent
            ),
        )

    async def _cancel_pending_calls(self) -> None:
        protocol = self._core.protocol
        # One id per call ("" for each call that came without one), with the calls still
        # streaming: the new connection will never finish them.
        pending = (*protocol.pending_calls.ids(), *protocol.streaming_calls)
        if pending:
            self._core.cancel_calls(pending)
            await self._core.deliver(ev.ToolCallCancellation(ids=pending, reason="reconnect"))

    def _unsent(self) -> tuple[tuple[str, ...], int]:
        """What the application sent that no connection will write: lines and a count.

        Called once the session has ended. Left in the outgoing channel: `aclose` leaves
        this way during an outage (it does not wait for a connection), and past
        `close_timeout` with a queue a stalled uplink did not drain; so does a session that
        ends with an error. Cut off: the last connection's end interrupted their write
        (`SessionCore.cut_off`), or refused it (`refused`: never written), and no connection
        replays them now. Not replayed: written before a resume, whose replay the end of
        its connection cut short (`unreplayed`): the resumed state lacks them (or may hold
        one the handle may have covered, marked uncertain). Unconfirmed: written in full
        on the last connection, not yet confirmed by a handle (the replay buffer's), when
        the application's close got no close frame back from the server (it waited past
        `close_timeout` behind a slow uplink, the connection dropped): the socket took
        them, but over TCP a reset discards what it had not sent yet. With the server's
        close frame, TCP's order says the server read them all: nothing to report.
        """
        core = self._core
        unconfirmed = (
            core.replay.unconfirmed()
            if core.closing and not core.close_received
            else MessageTally()
        )
        cut_off, queued, unreplayed = MessageTally(), MessageTally(), MessageTally()
        for item in self._core.cut_off:
            cut_off.add(item.kind, item.frame)
        for item in self._core.refused:
            queued.add(item.kind, item.frame)
        for item in self._core.unreplayed:
            unreplayed.add(item.kind, item.frame)
        outgoing = self._core.outgoing_receive
        while True:
            try:
                item = outgoing.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if item is FLUSH:
                continue
            if item.kind == TOOL_RESPONSE:
                if not self._core.answers.left_unsent(item):
                    continue  # reported by a `Reconnected` already
            elif item.kind in DETECTION_SIGNALS and not self._core.signals.left_unsent(item):
                continue
            elif item.kind == CONTEXT_UPDATE and not self._core.updates.left_unsent(item):
                continue  # carried by the setup of the connections since
            queued.add(item.kind, item.frame)
        lines = [
            *cut_off.lines("cut off mid-write"),
            *unreplayed.lines(UNREPLAYED),
            *unconfirmed.lines(UNCONFIRMED),
            *queued.lines("never written"),
        ]
        count = cut_off.messages + unreplayed.messages + unconfirmed.messages + queued.messages
        return tuple(lines), count

    def _not_delivered(self) -> tuple[tuple[str, ...], int]:
        """The events a close dropped (`SessionCore.deliver`), one line a type, and a count."""
        dropped = self._core.dropped
        lines = tuple(
            f"{name}: {count} event(s) (came while closing, past the events set aside)"
            for name, count in dropped.items()
        )
        return lines, sum(dropped.values())

    async def _finish(self, error: GeminiLiveError | None, code: int, reason: str) -> None:
        self._end_session(error, code, reason)
        await trio.lowlevel.checkpoint()

    def _end_if_cut_short(self) -> None:
        """End the session here if its supervisor was cancelled before `_finish`.

        `open_session`'s exit cancels it once its wait runs out, or at once under an outer
        cancellation; the queued messages must be reported all the same (and the state
        said "closed"), so this part of `_finish` takes no checkpoint.
        """
        if not self._ended:
            self._end_session(None, 1000, "")

    def _end_session(self, error: GeminiLiveError | None, code: int, reason: str) -> None:
        """Mark the session ended: its error, what was never written, the `Closed` event."""
        core = self._core
        self._ended = True
        core.end_move()  # a close waiting for the move waits no longer
        self._failure = error
        core.protocol.state = SessionState.CLOSED
        self._outgoing_send.close()
        self._not_sent, count = self._unsent()
        # Nothing is replayed or reported from these now: an application that keeps the
        # session (for `not_sent`, `statistics()`) must not keep them too, up to
        # `replay_limit_bytes` of frames.
        core.replay.clear()
        core.cut_off.clear()
        core.refused.clear()
        core.unreplayed.clear()
        if count:
            # Kinds and sizes only: a message's content may be the user's words.
            log.warning(
                "the session ended with %d message(s) sent but not written (or written, "
                "with no sign that the server received them): %s",
                count,
                "; ".join(self._not_sent),
            )
        not_delivered, dropped = self._not_delivered()
        if dropped:
            log.warning(
                "the session dropped %d event(s) that came while it closed, past the events "
                "set aside for the reader: %s",
                dropped,
                "; ".join(not_delivered),
            )
        closed = ev.Closed(
            code=code,
            reason=reason,
            not_sent=self._not_sent,
            not_sent_messages=count,
            not_delivered=not_delivered,
            not_delivered_events=dropped,
        )
        try:
            core.events_send.send_nowait(closed)
        except trio.WouldBlock:
            # A busy reader must not keep the session alive, nor lose its last event.
            self._closed_event = closed
        core.events_send.close()
        self._finished.set()
