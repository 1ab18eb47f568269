"""Connection lifetime and session resumption state shared across connections.

Formats `goAway` Durations and keeps opaque resumption handles, each pointing at a snapshot
of a session's conversation, valid for a while after the session's last connection ended.
"""

from __future__ import annotations

import secrets
import uuid
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
    """

    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started_at: float = 0.0
    video: bool = False
    expired: bool = False
    history: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    live: bool = False
    ended_at: float | None = None
    heard: list[bytes | str] | None = None


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
    resumed model does not take back from `pending` it has not heard.
    """

    session: SessionState
    history: list[dict[str, Any]]
    pending: PendingInput
    heard: list[bytes | str] | None


class ResumptionStore:
    """Issues handles and resolves them, enforcing the handle lifetime."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._handles: dict[str, Snapshot] = {}

    def issue(self, session: SessionState, pending: PendingInput | None = None) -> str:
        """A new opaque handle for the session's current state (and its `pending` input)."""
        handle = secrets.token_urlsafe(24)
        pending = pending or PendingInput()
        heard = session.heard
        if heard is not None:
            heard = heard[: len(heard) - len(pending.heard)]
        self._handles[handle] = Snapshot(
            session, [dict(turn) for turn in session.history], pending, heard
        )
        return handle

    def resolve(self, handle: str) -> Snapshot | None:
        """A copy of what a handle points at, or None if it is unknown or expired."""
        found = self._handles.get(handle)
        if found is None:
            return None
        ended = found.session.ended_at
        if not found.session.live and ended is not None and trio.current_time() - ended > self.ttl:
            del self._handles[handle]
            return None
        return Snapshot(
            found.session,
            [dict(turn) for turn in found.history],
            found.pending,
            None if found.heard is None else list(found.heard),
        )
