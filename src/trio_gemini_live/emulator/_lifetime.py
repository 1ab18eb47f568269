"""Connection lifetime and session resumption state shared across connections.

Formats `goAway` Durations and keeps opaque resumption handles, each pointing at a snapshot
of a session's conversation, valid for a while after the session's last connection ended.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import trio

__all__ = ["PendingInput", "ResumptionStore", "SessionState", "Snapshot", "format_duration"]


def format_duration(seconds: float) -> str:
    """A `google.protobuf.Duration` JSON string: `"50s"`, `"9.5s"`."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


@dataclass
class SessionState:
    """A resumable conversation; several connections may carry it one after another.

    `started_at` (the first setup) and `video` (video was sent) drive the session limits;
    `expired` marks a session ended by one, which can no longer be resumed. `heard` (with
    `EmulatorConfig.record_heard`, else None) holds, in order, the first 4 bytes of each
    realtime audio message the model took in and the text (its first 64 characters) of
    each `realtimeInput.text` and `clientContent` turn: a handle snapshots it and a resume
    restores it like `history`, so on the last connection it is what the model heard.
    `scenario_used` holds the indexes of the scenario turns the session has used (a
    turn not `reusable` answers once a session): snapshotted and restored like `history`,
    so a resumed connection goes on with the script where the handle left it. `model_id`
    is the model it began on: a resume may change anything in the setup but that.
    `history` holds the turns, their text bounded (`_history.add_turn`). `released` is set
    once no connection carries it (`ResumptionStore.ended`), a new event each time one does.
    """

    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started_at: float = 0.0
    video: bool = False
    expired: bool = False
    history: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    live: bool = False
    ended_at: float | None = None
    heard: list[bytes | str] | None = None
    scenario_used: set[int] = field(default_factory=set[int])
    model_id: str | None = None
    released: trio.Event = field(default_factory=trio.Event, repr=False, compare=False)


@dataclass(frozen=True)
class PendingInput:
    """User input the model has consumed but not yet made a turn of, kept with a handle.

    A handle covers every client message received (`lastConsumedClientMessageIndex`), so
    the audio of an utterance still in progress (the VAD's, or between `activityStart` and
    `activityEnd`) belongs to the state it resumes; the client does not send it again.
    `heard` is the tail of `SessionState.heard` from the first message that audio is (partly)
    in, with each entry's audio length at 16 kHz (so that, restored, it can be told apart
    again at the next handle).
    """

    vad_audio: bytes = b""
    manual_active: bool = False
    manual_audio: bytes = b""
    heard: tuple[tuple[bytes | str, int], ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """What a handle resumes: the session, its history, its record heard, its pending input.

    `heard` leaves out the entries of the pending audio (they travel in `pending`): what a
    resumed model does not take back from `pending` it has not heard. `scenario_used` is
    the scenario turns used by then (`SessionState.scenario_used`).
    """

    session: SessionState
    history: list[dict[str, Any]]
    pending: PendingInput
    heard: list[bytes | str] | None
    scenario_used: frozenset[int] = frozenset()


HANDLES_PER_SESSION = 8
"""How many of a session's newest handles stay resumable by default (older ones are
forgotten; `EmulatorConfig.handles_per_session`).

A session is issued a handle at nearly every turn; each kept a snapshot of the history
(and of the pending audio), and none was ever dropped, so a session of hours held
thousands of them. A client resumes with the newest handle it received; a few more cover
handles lost with a connection that broke right after sending them. Only handles whose
update was (at least partly) written count: one whose connection broke before it went out
is never made (`EmulatorConnection.resumption_update`), so it cannot push out the one the
client holds.
"""


class ResumptionStore:
    """Issues handles and resolves them, enforcing the handle lifetime.

    Memory stays bounded: a session keeps its `per_session` newest handles
    (`HANDLES_PER_SESSION` by default; `None`: every one), handles of sessions ended more
    than `ttl` ago are swept as new ones are issued, and past `keep_ended` ended sessions
    with handles, the handles of the one that ended first are forgotten (counted in
    `sessions_dropped`): many short sessions each kept theirs for the whole `ttl`. A
    connection marks its session with `opened` and `ended`.
    """

    def __init__(
        self,
        ttl: float,
        keep_ended: int | None = None,
        per_session: int | None = HANDLES_PER_SESSION,
    ) -> None:
        self.ttl = ttl
        self.keep_ended = keep_ended
        self.per_session = per_session
        self.sessions_dropped = 0
        self._handles: dict[str, Snapshot] = {}  # in order of issue, oldest first
        self._by_session: dict[str, deque[str]] = {}
        self._ended: dict[str, SessionState] = {}  # those with handles, in order of ending

    def opened(self, session: SessionState) -> None:
        """Note that a connection carries `session` (a new one, or one resumed)."""
        session.live = True
        session.released = trio.Event()
        self._ended.pop(session.session_id, None)

    def ended(self, session: SessionState) -> None:
        """Note that `session`'s connection ended; past `keep_ended`, forget the oldest."""
        session.live = False
        session.released.set()
        session.ended_at = trio.current_time()
        if session.session_id not in self._by_session:
            return  # no handle: nothing to resume it with
        self._ended[session.session_id] = session
        keep = self.keep_ended
        while keep is not None and len(self._ended) > keep:
            oldest = next(iter(self._ended.values()))
            for handle in list(self._by_session[oldest.session_id]):
                self._forget(handle, oldest)
            self.sessions_dropped += 1

    def issue(self, session: SessionState, pending: PendingInput | None = None) -> str:
        """A new opaque handle for the session's current state (and its `pending` input)."""
        return self.keep(self.snapshot(session, pending))

    @staticmethod
    def snapshot(session: SessionState, pending: PendingInput | None = None) -> Snapshot:
        """The session's current state (and its `pending` input), not yet a handle (`keep`)."""
        pending = pending or PendingInput()
        heard = session.heard
        if heard is not None:
            heard = heard[: len(heard) - len(pending.heard)]
        # The turns themselves are shared: the model only ever appends to the history, and
        # `resolve` copies them for the resumed session.
        return Snapshot(
            session, list(session.history), pending, heard, frozenset(session.scenario_used)
        )

    def keep(self, snapshot: Snapshot) -> str:
        """A new opaque handle for `snapshot`, counted among its session's newest."""
        handle = secrets.token_urlsafe(24)
        session = snapshot.session
        self._handles[handle] = snapshot
        issued = self._by_session.setdefault(session.session_id, deque())
        issued.append(handle)
        if self.per_session is not None and len(issued) > self.per_session:
            self._handles.pop(issued.popleft(), None)
        self._sweep()
        return handle

    def _expired(self, session: SessionState) -> bool:
        ended = session.ended_at
        return not session.live and ended is not None and trio.current_time() - ended > self.ttl

    def _sweep(self) -> None:
        """Forget the oldest handles while their session has expired (amortized O(1))."""
        while self._handles:
            handle, found = next(iter(self._handles.items()))
            if not self._expired(found.session):
                return
            self._forget(handle, found.session)

    def _forget(self, handle: str, session: SessionState) -> None:
        del self._handles[handle]
        issued = self._by_session.get(session.session_id)
        if issued is not None:
            with contextlib.suppress(ValueError):
                issued.remove(handle)
            if not issued:
                del self._by_session[session.session_id]
                self._ended.pop(session.session_id, None)

    def resolve(self, handle: str) -> Snapshot | None:
        """A copy of what a handle points at, or None if it is unknown or expired."""
        found = self._handles.get(handle)
        if found is None:
            return None
        if self._expired(found.session):
            self._forget(handle, found.session)
            return None
        return Snapshot(
            found.session,
            [dict(turn) for turn in found.history],
            found.pending,
            None if found.heard is None else list(found.heard),
            found.scenario_used,
        )
