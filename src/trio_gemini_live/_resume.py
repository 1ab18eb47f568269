"""Sans-IO pieces of session resumption: the reconnect policy and the replay buffer.

The replay buffer keeps the client messages the server may not have consumed yet, bounded by
bytes; after a resume they are written again, so no user input is lost. What cannot be
replayed (overflow, tool responses to calls the resumed server no longer knows, activity
signals onto a setup with automatic activity detection on, `audioStreamEnd` onto one with it
off) is reported.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import msgspec

from ._errors import ConfigurationError
from ._update_ledger import CONTEXT_UPDATE

__all__ = [
    "ACTIVITY_END",
    "ACTIVITY_START",
    "AUDIO_STREAM_END",
    "DETECTION_SIGNALS",
    "MESSAGE_OVERHEAD",
    "BufferedMessage",
    "MessageTally",
    "ReconnectPolicy",
    "ReplayBuffer",
    "ReplayPlan",
    "kept_off",
    "check_options",
]


def check_options(
    owner: object,
    *,
    integers: tuple[str, ...] = (),
    numbers: tuple[str, ...] = (),
    others: Mapping[str, tuple[type, ...]] | None = None,
) -> None:
    """Refuse an option of the wrong type, naming it, before any comparison meets it.

    Otherwise `SessionOptions(connect_timeout="10")` raised a bare TypeError from a
    comparison in `__post_init__`, and a float buffer size or NaN timeout was taken and
    failed later, deep inside trio. `bool` is refused where a number belongs: it is an
    `int`, never meant. `others` maps option names to the types each may have.
    """
    cls = type(owner).__name__
    for name, kinds in (others or {}).items():
        value = getattr(owner, name)
        if not isinstance(value, kinds):
            expected = " or ".join("None" if k is type(None) else k.__name__ for k in kinds)
            raise ConfigurationError(f"{cls}.{name} must be {expected}, not {value!r}")
    for name in integers:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigurationError(f"{cls}.{name} must be an int, not {value!r}")
    for name in numbers:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"{cls}.{name} must be a number, not {value!r}")
        if math.isnan(value):
            raise ConfigurationError(f"{cls}.{name} must be a number, not NaN")


@dataclass(frozen=True, kw_only=True)
class ReconnectPolicy:
    """When and how a session reconnects after `goAway` or a retryable drop.

    Attributes:
        enabled: reconnect at all (if False, a drop ends the session with its error).
        max_attempts: connection attempts per outage before giving up. The default is
            high enough that `max_elapsed` ends an outage first (backoff delays of up to
            `max_delay`, less jitter, fill 60 s in 20 to 30 attempts).
        max_elapsed: seconds per outage before giving up: how long a network may be gone
            (a tunnel, a Wi-Fi hand-over) with the session resuming afterwards. No attempt
            starts after it; one under way runs to its end (see docs/concepts.md).
        initial_delay: the first backoff delay after a drop (none after `goAway`).
        max_delay: the longest backoff delay.
        multiplier: backoff growth per attempt (finite, above 0).
        jitter: random fraction (0..1) taken off each delay, so clients spread out.
        replay_limit_bytes: client frames kept for replay after a resume; older ones are
            dropped first and reported in the `Reconnected` event. It counts the frames'
            bytes and 160 more for each message, about what keeping one costs besides:
            the memory they take is up to about 1.5 times that, however small the
            messages (msgspec's encoder leaves room at the end of each frame, which is not
            copied away).
        go_away_margin: seconds before the `goAway` deadline by which the session moves to
            a new connection even if the model is still generating (unless the reader is
            behind: the rest of the answer is then read first, up to the server's close).
        stable_after: seconds a resumed connection must live before the outage counts as
            over, counted up to the server's last sign of life (a frame, a pong): one that
            drops sooner, or a server that falls silent sooner (the heartbeat ends the
            connection later), continues the same outage (and its budget). A
            deliberate move (after `goAway`, or for `update_setup`) is no failure: it ends
            the outage, and its first attempt is made at once and counts against nothing.
            Only a server that says `goAway` to more than `max_attempts` young connections
            in a row is followed after backoff delays (still without giving up).
        handle_window: without `lastConsumedClientMessageIndex` (the Gemini API's default
            resumption), a message whose write ended less than this many seconds before a
            handle was read may have crossed the handle on the wire, so the handle may not
            include it. Such messages are kept, replayed after a resume and counted in
            `Reconnected.possibly_duplicated`. It is a span of writing time, not of audio:
            a replay writes seconds of audio at once, so a handle read within the window
            after it may repeat all of it. It should exceed the round trip to the server
            (queueing included); 0 trusts a handle to include everything written before it
            was read.
    """

    enabled: bool = True
    max_attempts: int = 30
    max_elapsed: float = 60.0
    initial_delay: float = 0.1
    max_delay: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.5
    replay_limit_bytes: int = 8 * 1024 * 1024
    go_away_margin: float = 2.0
    stable_after: float = 10.0
    handle_window: float = 0.5

    def __post_init__(self) -> None:
        check_options(
            self,
            integers=("max_attempts", "replay_limit_bytes"),
            numbers=(
                "max_elapsed",
                "initial_delay",
                "max_delay",
                "multiplier",
                "jitter",
                "go_away_margin",
                "stable_after",
                "handle_window",
            ),
            others={"enabled": (bool,)},
        )
        if self.max_attempts < 1:
            raise ConfigurationError("ReconnectPolicy.max_attempts must be at least 1")
        if self.max_elapsed <= 0 or self.initial_delay < 0 or self.max_delay < 0:
            raise ConfigurationError("ReconnectPolicy times must be positive")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError("ReconnectPolicy.jitter must be between 0 and 1")
        if self.replay_limit_bytes < 0:
            raise ConfigurationError("ReconnectPolicy.replay_limit_bytes must be >= 0")
        if not self.handle_window >= 0:
            raise ConfigurationError("ReconnectPolicy.handle_window must be >= 0 seconds")
        for name in ("go_away_margin", "stable_after"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"ReconnectPolicy.{name} must be >= 0 seconds")
        if not 0 < self.multiplier < math.inf:
            # An infinite one made `0 * inf`, a NaN delay, of an `initial_delay` of 0.
            raise ConfigurationError("ReconnectPolicy.multiplier must be > 0 and finite")

    def delays(self, rng: random.Random, *, immediate_first: bool = False) -> Iterator[float]:
        """Backoff delays before each attempt: exponential, capped, with jitter."""
        for attempt in range(self.max_attempts):
            if attempt == 0 and immediate_first:
                yield 0.0
                continue
            step = attempt - 1 if immediate_first else attempt
            yield self.backoff_delay(step) * (1 - self.jitter * rng.random())

    def backoff_delay(self, step: int) -> float:
        """The backoff delay before jitter: `initial_delay * multiplier ** step`, capped.

        `step` counts from 0 (the first delay) and may be any size: a session followed a
        server saying `goAway` over a thousand times, and the power, which overflows a
        float, ended it with a bare OverflowError.
        """
        if self.initial_delay == 0 or self.initial_delay >= self.max_delay:
            return min(self.initial_delay, self.max_delay)
        try:
            grown = float(self.multiplier) ** step  # an int's power would grow without end
        except OverflowError:
            return self.max_delay
        return min(self.initial_delay * grown, self.max_delay)


class BufferedMessage(msgspec.Struct, frozen=True, gc=False):
    """A client frame kept for replay: its per-connection index, kind and write time.

    `uncertain`: written before the latest handle was read, so possibly already in the
    state that handle resumes (a replay may then repeat it). `cut_off`: its write was cut
    off once it had begun (dated never), so a handle read since may hold it, or not.
    """

    # One is made per send: a Struct takes 66 ns to make where a frozen dataclass took
    # 647 ns. `gc=False`: a session streaming audio with no handle coming keeps thousands
    # (up to `replay_limit_bytes`), which the cyclic collector need not walk.

    index: int
    frame: bytes
    kind: str
    written_at: float = 0.0
    uncertain: bool = False
    cut_off: bool = False

    def describe(self) -> str:
        """A short description for reports, such as `realtimeInput.audio (1320 bytes)`."""
        return f"{self.kind} ({len(self.frame)} bytes)"


# The kinds of `activityStart` / `activityEnd`, valid only where automatic activity detection
# is off (the server closes the session with 1007 otherwise), and of `audioStreamEnd`, valid
# only where it is on (protocol.md section 2.3): a connection whose setup has the other
# setting is given none of them, replayed or still queued (`ReplayPlan.onto`, `SignalLedger`).
ACTIVITY_START = "realtimeInput.activityStart"
ACTIVITY_END = "realtimeInput.activityEnd"
AUDIO_STREAM_END = "realtimeInput.audioStreamEnd"
_MANUAL_ONLY = frozenset({ACTIVITY_START, ACTIVITY_END})
_AUTOMATIC_ONLY = frozenset({AUDIO_STREAM_END})
DETECTION_SIGNALS = _MANUAL_ONLY | _AUTOMATIC_ONLY
"""The kinds valid under one setting of automatic activity detection only (`Outgoing.kind`)."""


def kept_off(*, automatic_vad: bool) -> tuple[frozenset[str], str]:
    """The kinds a connection whose setup has automatic VAD on (or off) must not be given.

    With the cause that reports them (`MessageTally.lines`): one a setting, as the kinds
    kept off under one setting share it.
    """
    if automatic_vad:
        return _MANUAL_ONLY, "activity signal under automatic activity detection"
    return _AUTOMATIC_ONLY, "audioStreamEnd without automatic activity detection"


@dataclass(frozen=True)
class ReplayPlan:
    """What to write again on the new connection, and what could not be.

    `not_replayed` summarises what is lost, one line per kind and cause (bounded however
    much overflowed); `not_replayed_messages` counts those messages. `possibly_duplicated`
    counts the replayed messages the resumed state may already hold.
    """

    replay: tuple[BufferedMessage, ...]
    not_replayed: tuple[str, ...]
    not_replayed_messages: int = 0
    possibly_duplicated: int = 0

    def onto(self, *, automatic_vad: bool, queued: MessageTally | None = None) -> ReplayPlan:
        """This plan for a connection whose setup has automatic activity detection on or off.

        The signals valid only under the other setting are left out and reported
        (`kept_off`): with it on, activity signals, on which the server would close the
        session with 1007 (an `update_setup` that turned it on, say, while signals sent
        under the old setup were still in the buffer); with it off, `audioStreamEnd`.
        Made for each attempt: one that falls back to the old setup replays them.
        `queued`: those still in the outgoing queue that the new connection leaves out
        too (`SignalLedger.onto`), reported on the same line.
        """
        kinds, cause = kept_off(automatic_vad=automatic_vad)
        if not (
            (queued is not None and queued.messages) or any(m.kind in kinds for m in self.replay)
        ):
            return self
        dropped = MessageTally()
        if queued is not None:
            dropped.merge(queued)
        for message in self.replay:
            if message.kind in kinds:
                dropped.add(message.kind, message.frame)
        replay = tuple(m for m in self.replay if m.kind not in kinds)
        return ReplayPlan(
            replay=replay,
            not_replayed=(*self.not_replayed, *dropped.lines(cause)),
            not_replayed_messages=self.not_replayed_messages + dropped.messages,
            possibly_duplicated=sum(m.uncertain for m in replay),
        )


# Tool responses answer calls of the old connection; a resumed server re-issues the calls
# it still wants (with new ids) and rejects unknown ids, so they are never replayed.
_NEVER_REPLAYED = frozenset({"toolResponse"})

# What a `contextUpdate` changes is in the setup in force from the moment it is queued, and
# every resumed connection carries that setup (or the one `update_setup` asked for, which
# documents that it replaces the updates queued before it and takes in those after). So
# one is never lost by not being replayed, and replayed it was harmful: written after an
# `update_setup`'s new setup, it put back the instruction or tools that setup replaced.
_CARRIED_BY_SETUP = frozenset({CONTEXT_UPDATE})


class MessageTally:
    """Messages lost, by kind: counts and bytes, so memory stays bounded however many."""

    def __init__(self) -> None:
        self.by_kind: dict[str, list[int]] = {}

    def add(self, kind: str, frame: bytes) -> None:
        """Count one message of `kind` (such as `realtimeInput.audio`) and its frame's bytes."""
        self.count(kind, 1, len(frame))

    def count(self, kind: str, messages: int, size: int) -> None:
        """Count `messages` messages of `kind` whose frames hold `size` bytes in all."""
        entry = self.by_kind.setdefault(kind, [0, 0])
        entry[0] += messages
        entry[1] += size

    def merge(self, other: MessageTally) -> None:
        """Count what `other` counted too."""
        for kind, (count, size) in other.by_kind.items():
            entry = self.by_kind.setdefault(kind, [0, 0])
            entry[0] += count
            entry[1] += size

    @property
    def messages(self) -> int:
        """How many messages were counted."""
        return sum(count for count, _ in self.by_kind.values())

    def lines(self, cause: str) -> list[str]:
        """One line a kind, for reports: `realtimeInput.audio: 3 message(s), 3960 bytes (cause)`."""
        return [
            f"{kind}: {count} message(s), {size} bytes ({cause})"
            for kind, (count, size) in self.by_kind.items()
        ]


class _Run:
    """Dropped frames of one kind, one after the other: how many, their bytes, the last index."""

    __slots__ = ("count", "kind", "last", "size")

    def __init__(self, kind: str, last: int, size: int) -> None:
        self.kind = kind
        self.last = last
        self.count = 1
        self.size = size


class Overflow:
    """The frames a `ReplayBuffer` dropped, by index, so that a handle can account for some.

    Frames drop oldest first, so in index order: they are kept as runs of one kind (a run
    of audio is one entry however long), and a handle's index forgets what it covers.
    Past `_RUNS_KEPT` runs (text and audio dropped in turn) the oldest are folded into one
    tally, forgotten only once a handle covers all of it: a count may then be too high,
    never too low.
    """

    _RUNS_KEPT = 256

    def __init__(self) -> None:
        self._runs: deque[_Run] = deque()
        self._folded = MessageTally()
        self._folded_last = -1
        self.newest = float("-inf")
        """The write time of the newest frame dropped."""

    def add(self, message: BufferedMessage) -> None:
        """`message` was dropped to keep the buffer within its limit."""
        self.newest = max(self.newest, message.written_at)
        runs = self._runs
        if runs and runs[-1].kind == message.kind:
            run = runs[-1]
            run.last = message.index
            run.count += 1
            run.size += len(message.frame)
            return
        runs.append(_Run(message.kind, message.index, len(message.frame)))
        if len(runs) > self._RUNS_KEPT:
            oldest = runs.popleft()
            self._folded.count(oldest.kind, oldest.count, oldest.size)
            self._folded_last = oldest.last

    def consumed_through(self, index: int) -> None:
        """The server's state includes every message up to `index`: forget those dropped.

        A run that `index` ends part-way through keeps its messages after `index`: as many
        as the indices after it (each message written has one, so at most that many), and
        their share of its bytes (frames of a kind are much of a size).
        """
        runs = self._runs
        while runs and runs[0].last <= index:
            runs.popleft()
        if runs and runs[0].last - index < runs[0].count:
            run = runs[0]
            kept = run.last - index
            run.size = run.size * kept // run.count
            run.count = kept
        if self._folded_last <= index:
            self._folded = MessageTally()
            self._folded_last = -1
        if not runs and self._folded_last < 0:
            self.newest = float("-inf")

    def tally(self) -> MessageTally:
        """What was dropped and not forgotten, by kind."""
        tally = MessageTally()
        tally.merge(self._folded)
        for run in self._runs:
            tally.count(run.kind, run.count, run.size)
        return tally


MESSAGE_OVERHEAD = 160
"""Bytes a `ReplayBuffer` charges each message on top of its frame's against its limit.

About what keeping a message costs besides the frame's bytes: its entry, index, write time
and deque slot, the frame's `bytes` header. Counting frame bytes alone, a buffer of small
messages (2-byte audio chunks, one-letter texts) took 3.5 to 6 times its limit in memory.
"""


class ReplayBuffer:
    """Client frames sent since the state the next resume will start from.

    Bounded by its limit in bytes, each message charged its frame's bytes and
    `MESSAGE_OVERHEAD`.
    """

    def __init__(self, limit_bytes: int) -> None:
        self._limit = limit_bytes
        self._entries: deque[BufferedMessage] = deque()
        self._bytes = 0
        self._overflowed = Overflow()
        # Frames are kept once their write is over, and a write can outlast the handle that
        # includes it (a slow uplink): the highest index a handle of this connection said
        # the server consumed (transparent resumption), which `add` keeps no frame up to.
        self._consumed = -1

    @property
    def size_bytes(self) -> int:
        """Bytes charged against the limit: the frames' and `MESSAGE_OVERHEAD` each."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def add(
        self,
        index: int,
        frame: bytes,
        kind: str,
        written_at: float,
        uncertain: bool = False,
        *,
        cut_off: bool = False,
    ) -> None:
        """Keep a frame written (index: its position on this connection).

        `written_at`: when its write ended (`inf`: never written in full, or not known to
        be: no handle can forget it), so that a handle read `handle_window` after that
        includes it. `uncertain`: a replayed frame that was uncertain when it was taken
        for replay. `cut_off`: dated `inf` because its write was cut off once begun: part
        or all of it may have reached the server, so a handle read later marks it uncertain.

        A frame that a handle read during its write says the server consumed (its index is
        at most that handle's `lastConsumedClientMessageIndex`) is not kept: a resume from
        that handle must not write it again.
        """
        if index <= self._consumed:
            return
        self._entries.append(BufferedMessage(index, frame, kind, written_at, uncertain, cut_off))
        self._bytes += len(frame) + MESSAGE_OVERHEAD
        while self._bytes > self._limit and self._entries:
            dropped = self._entries.popleft()
            self._bytes -= len(dropped.frame) + MESSAGE_OVERHEAD
            self._overflowed.add(dropped)

    def consumed_through(self, index: int) -> None:
        """The server's state includes every message up to `index`: forget those.

        Dropped frames too, but only those: a handle read late (the reader behind the
        server) may name an index below frames dropped since, which the resume can neither
        replay nor leave unreported.
        """
        self._consumed = max(self._consumed, index)
        while self._entries and self._entries[0].index <= index:
            self._bytes -= len(self._entries.popleft().frame) + MESSAGE_OVERHEAD
        self._overflowed.consumed_through(index)

    def covered_through(self, cutoff: float) -> None:
        """A handle was read that includes at least what was written by `cutoff`.

        Frames written later may have crossed the handle on the wire: they stay, marked
        uncertain (a replay may repeat them), except those never written (dated `inf`). Those
        whose write was cut off (dated `inf` too) stay, as part of the batch never left,
        but are marked: part of it may be in the handle. Overflow is forgotten only if every
        dropped frame was written by `cutoff`.
        """
        entries = self._entries
        while entries and entries[0].written_at <= cutoff:
            self._bytes -= len(entries.popleft().frame) + MESSAGE_OVERHEAD
        self._entries = deque(
            entry
            if entry.uncertain or (entry.written_at == math.inf and not entry.cut_off)
            else msgspec.structs.replace(entry, uncertain=True)
            for entry in entries
        )
        if self._overflowed.newest <= cutoff:
            self._overflowed = Overflow()

    def _missing(self, owed: Iterable[tuple[str, bytes]], overflowed: MessageTally) -> MessageTally:
        """The messages of `owed` the buffer lacks, beyond those its overflow may have dropped.

        A safety net: kept dated never, no handle forgets them, so one missing was lost
        by a path that failed to keep it; reported, not dropped in silence. The overflow
        drops the oldest first: the first of a kind's missing ones are taken to be in it.
        (Frames are told apart by identity: `owed` keeps them alive meanwhile.)
        """
        kept = {id(entry.frame) for entry in self._entries}
        lacking: dict[str, list[bytes]] = {}
        for kind, frame in owed:
            if id(frame) not in kept and kind not in _CARRIED_BY_SETUP:
                lacking.setdefault(kind, []).append(frame)
        missing = MessageTally()
        for kind, frames in lacking.items():
            dropped = overflowed.by_kind.get(kind, [0])[0]
            for frame in frames[dropped:]:
                missing.add(kind, frame)
        return missing

    def unconfirmed(self) -> MessageTally:
        """The frames written in full that no handle has confirmed yet, with those dropped.

        What the session reports when it ends with no close frame from the server answering
        the application's close: the server may never have read them. Frames never written
        in full (dated never) are left out: the session reports them as cut off, refused or
        not replayed already. Those the overflow dropped were written and not confirmed
        either (the overflow drops the oldest, written ones first).
        """
        tally = self._overflowed.tally()
        for entry in self._entries:
            if entry.written_at != math.inf:
                tally.add(entry.kind, entry.frame)
        return tally

    def clear(self) -> None:
        """Forget every frame: a new connection begins (`take` has planned its replay)."""
        self._consumed = -1
        self._entries.clear()
        self._bytes = 0
        self._overflowed = Overflow()

    def take(
        self, unsent_answers: MessageTally | None = None, owed: Iterable[tuple[str, bytes]] = ()
    ) -> ReplayPlan:
        """Empty the buffer into a replay plan for the next connection.

        `unsent_answers`: tool responses still queued, never written, which no connection
        will write either (`AnswerLedger.void`): reported with those of the buffer.
        `owed`: (kind, frame) of messages the last connection did not write in full, which
        the buffer must hold (see `_missing`).
        """
        replay = tuple(
            entry
            for entry in self._entries
            if entry.kind not in _NEVER_REPLAYED and entry.kind not in _CARRIED_BY_SETUP
        )
        skipped = MessageTally()
        for entry in self._entries:
            if entry.kind in _NEVER_REPLAYED:
                skipped.add(entry.kind, entry.frame)
        if unsent_answers is not None:
            skipped.merge(unsent_answers)
        overflowed = self._overflowed.tally()
        missing = self._missing(owed, overflowed)
        plan = ReplayPlan(
            replay=replay,
            not_replayed=(
                *overflowed.lines("replay buffer overflow"),
                *skipped.lines("answers a call of the old connection"),
                *missing.lines("not kept for replay"),
            ),
            not_replayed_messages=overflowed.messages + skipped.messages + missing.messages,
            possibly_duplicated=sum(entry.uncertain for entry in replay),
        )
        self.clear()
        return plan
