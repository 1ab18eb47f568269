"""What the emulator keeps for inspection, within bounds: recorded frames, closed connections.

Every frame each connection sends and receives is recorded for inspection (`Frame`). Kept
without a bound, a long session's recording grew by megabytes a minute (each reply audio
chunk is held raw and decoded), and every connection ever opened kept its own: an emulator
serving a voice agent for hours ran out of memory. So the emulator keeps a budget across all
of its connections, in frames (`record_frames`) and in payload bytes (`record_bytes`: a
count of frames said nothing of a client's 16 MiB ones), and forgets the oldest frames
first: those of the oldest connection, then of the next, each connection's in the order
they were recorded. A frame is kept whole or forgotten whole, and counted when forgotten
(`sent_dropped`/`received_dropped`): a test never sees part of a frame for the whole.

The connections themselves (`Emulator.connections`, ~15-110 kB each once closed: a closed
one lets go of its model and the audio its VAD held, `EmulatorConnection._release`, and its
session's history is bounded, `_history`) grew the same
way in an emulator serving resuming clients for days, so past `keep_closed_connections` the
oldest closed ones are forgotten too. Open ones always stay (a test may still drive them),
and each keeps its `number`, so `wait_for_connection(n)` still finds the n-th one, or says
it was forgotten.

A wait for the n-th matching frame (`wait_for_sent(match, count=n)`) counts every frame of
its connection, from the first. Once it has begun, each frame is offered to it as it is
recorded (`FrameWait`), before anything can be forgotten. Frames forgotten before it began
are counted for a dotted path (the common case): as each frame is forgotten, the paths it
holds are added to its connection's `PathCounts`, so a dotted-path wait adds the forgotten
matches to those it still sees. Built when frames are forgotten, not as they are recorded:
recording stays as cheap as it was, and most frames of a short test are never forgotten.
A predicate is only known once a test waits, so nothing is known of how many forgotten
frames it would have matched: a predicate wait that would need them says so
(`ForgottenFramesError`) rather than wait for a count it may already have reached.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from ._server import EmulatorConnection, Frame

__all__ = [
    "ForgottenConnectionError",
    "ForgottenFramesError",
    "FrameWait",
    "PathCounts",
    "WaitTimeoutError",
    "find_connection",
    "forget_closed",
    "present",
    "track",
    "trim_recordings",
    "untrack",
]


def present(value: object) -> bool:
    """Whether a dotted path's value matches: present and not false (nor 0, which == False)."""
    return value not in (None, False)


class PathCounts:
    """In how many forgotten frames each dotted path was present: a tree of keys.

    A node per key path (`children`), as the frames nested; `hits` is how many frames held
    a value at that path that `present` accepts. It mirrors `Frame.get` exactly: a path is
    split at dots and followed through objects only (not into lists), so a key holding a
    dot is a node of its own that no dotted path reaches, as `Frame.get` never reaches it.
    Nodes exist only for paths some forgotten frame held, so its size is bounded by the
    shapes of the frames (the protocol's), not by how many there were.
    """

    __slots__ = ("children", "hits")

    def __init__(self) -> None:
        self.hits = 0
        self.children: dict[str, PathCounts] = {}

    def add(self, data: dict[str, Any]) -> None:
        """Count the paths present in one frame's decoded JSON."""
        # A stack, not recursion: a frame may nest as deep as the JSON parser allowed.
        stack: list[tuple[PathCounts, dict[str, Any]]] = [(self, data)]
        while stack:
            node, obj = stack.pop()
            for key, value in obj.items():
                if not present(value):
                    continue  # no dotted path matches here, nor below (`Frame.get` stops)
                child = node.children.get(key)
                if child is None:
                    child = node.children[key] = PathCounts()
                child.hits += 1
                if isinstance(value, dict):
                    stack.append((child, cast("dict[str, Any]", value)))

    def count(self, path: str) -> int:
        """In how many of the frames added `Frame.get(path)` was present."""
        node = self
        for name in path.split("."):
            child = node.children.get(name)
            if child is None:
                return 0
            node = child
        return node.hits


class ForgottenConnectionError(LookupError):
    """The connection asked for was closed, then forgotten to bound the emulator's memory.

    `Emulator.wait_for_connection(n)` raises it when connection `n` is no longer in
    `Emulator.connections`: the emulator keeps only the newest
    `EmulatorConfig.keep_closed_connections` closed connections (`--keep-closed-connections`
    on the command line). Raise that bound, make it `None` to keep every connection, or keep
    the `EmulatorConnection` you need from when it was open.

    Attributes:
        number: The connection asked for (1-based, in the order connections were upgraded).
        kept: The bound in force: how many closed connections the emulator keeps.
    """

    def __init__(self, number: int, kept: int) -> None:
        super().__init__(number, kept)  # the args rebuild it: pickle-safe
        self.number = number
        self.kept = kept

    def __str__(self) -> str:
        return (
            f"connection {self.number} was closed and forgotten: the emulator keeps only the "
            f"newest {self.kept} closed connections; raise EmulatorConfig."
            "keep_closed_connections (--keep-closed-connections), or make it None ('all') "
            "to keep every one"
        )


class ForgottenFramesError(LookupError):
    """A predicate frame wait needs frames that were forgotten to bound the emulator's memory.

    `EmulatorConnection.wait_for_sent(match, count)` (and `wait_for_received`) wait for
    `count` matching frames counted from the connection's first. The emulator keeps only
    the newest `EmulatorConfig.record_frames` frames, and `record_bytes` bytes of them, all
    connections together. For a
    dotted path it counts the frames it forgot too, but a predicate (a test of a `Frame`)
    can only be asked of frames still there: when fewer than `count` of those match and
    frames of the wait's direction were forgotten before it began, whether `count` has
    been reached is unknowable, so the wait raises this rather than guess (wait for ever,
    or return long after the count was met). Match by dotted path instead, start the wait
    before any frame is forgotten (a wait in progress counts every frame as it is
    recorded), or raise `record_frames` and `record_bytes`, or make them None to keep
    every frame.

    Attributes:
        number: The connection's `number`.
        direction: "sent" (`wait_for_sent`) or "received" (`wait_for_received`).
        count: The count waited for.
        matched: How many of the frames still recorded matched.
        forgotten: How many frames of that direction the connection had forgotten.
        record_frames: The bound in force (`EmulatorConfig.record_frames`).
        record_bytes: The bound in bytes in force (`EmulatorConfig.record_bytes`).
    """

    def __init__(
        self,
        number: int,
        direction: Literal["sent", "received"],
        count: int,
        matched: int,
        forgotten: int,
        record_frames: int | None,
        record_bytes: int | None = None,
    ) -> None:
        super().__init__(number, direction, count, matched, forgotten, record_frames, record_bytes)
        self.number = number
        self.direction: Literal["sent", "received"] = direction
        self.count = count
        self.matched = matched
        self.forgotten = forgotten
        self.record_frames = record_frames
        self.record_bytes = record_bytes

    def __str__(self) -> str:
        return (
            f"wait_for_{self.direction}(count={self.count}) with a predicate on connection "
            f"{self.number} found {self.matched} of the {self.count} matching frames, and "
            f"{self.forgotten} older {self.direction} frames were forgotten before it began "
            f"(EmulatorConfig.record_frames={self.record_frames}, record_bytes="
            f"{self.record_bytes}, all connections together), which a predicate cannot be "
            "asked of: match a dotted path instead (its count includes forgotten frames), "
            "start the wait before any frame is forgotten, raise record_frames and "
            "record_bytes, or make them None to keep every frame"
        )


class WaitTimeoutError(TimeoutError):
    """An emulator wait did not get what it waited for in time.

    `Emulator.wait_for_connection`, `EmulatorConnection.wait_for_sent`,
    `wait_for_received` and `wait_closed` wait at most `EmulatorConfig.wait_timeout`
    (900 s of trio time by default), so that a connection or frame that never comes
    fails the test, at once under `trio.testing.MockClock(autojump_threshold=0)`,
    rather than hang it. A `TimeoutError`. (A tighter bound is trio's: a cancel scope
    around the wait, `trio.fail_after`, which raises `trio.TooSlowError`.)

    Attributes:
        wait: The wait as called, e.g. `wait_for_connection(2)`.
        timeout: The seconds it waited.
        state: What there was when it gave up (the connections, the frames matched).
    """

    def __init__(self, wait: str, timeout: float, state: str) -> None:
        self.wait = wait
        self.timeout = timeout
        self.state = state
        super().__init__(str(self))

    def __reduce__(self) -> tuple[type[WaitTimeoutError], tuple[str, float, str]]:
        # Pickle-safe: made again from its parts (`args` holds the message alone, so that
        # `TimeoutError`, an `OSError`, takes none of them for an errno).
        return type(self), (self.wait, self.timeout, self.state)

    def __str__(self) -> str:
        return (
            f"{self.wait} timed out after {self.timeout:g} s (trio time): {self.state}; "
            "EmulatorConfig.wait_timeout bounds every wait of the emulator (None: no bound)"
        )


class FrameWait:
    """One `wait_for_sent`/`wait_for_received` in progress, offered each frame as it is recorded.

    Offered then, not when the waiting task next runs: by then `record_frames` may have
    forgotten it (frames come in bursts; the budget may be small), and a match forgotten
    unseen could never be counted. `forgotten` is how many matches were forgotten before
    the wait began (known for a dotted path only): they count, but cannot be returned.
    """

    def __init__(
        self,
        direction: Literal["sent", "received"],
        check: Callable[[Frame], bool],
        count: int,
        found: list[Frame],
        forgotten: int = 0,
    ) -> None:
        self.direction: Literal["sent", "received"] = direction
        self.check = check
        self.count = count
        self.found = found
        self.forgotten = forgotten
        self.error: Exception | None = None

    @property
    def matched(self) -> int:
        """How many frames matched so far, those forgotten before the wait began included."""
        return self.forgotten + len(self.found)

    @property
    def done(self) -> bool:
        return self.error is not None or self.matched >= self.count

    def offer(self, frame: Frame) -> None:
        if self.done:
            return
        try:
            matched = frame.data is not None and self.check(frame)
        except Exception as exc:
            # The test's predicate failed: that is the waiting task's to raise, not the
            # emulator's while it records a frame.
            self.error = exc
            return
        if matched:
            self.found.append(frame)

    def result(self) -> list[Frame]:
        """The matching frames, oldest first; or what the predicate raised."""
        if self.error is not None:
            raise self.error
        return self.found


def _oldest_first(
    sent: Sequence[Frame], received: Sequence[Frame], count: int, size: int
) -> tuple[int, int, int]:
    """Frames to drop from the front of each list, oldest first, and the bytes they hold.

    As many as it takes to drop `count` frames and `size` payload bytes.
    """
    s = r = dropped = 0
    while (s + r < count or dropped < size) and (s < len(sent) or r < len(received)):
        if r >= len(received) or (s < len(sent) and sent[s].time <= received[r].time):
            dropped += len(sent[s].raw)
            s += 1
        else:
            dropped += len(received[r].raw)
            r += 1
    return s, r, dropped


def _count_paths(counts: PathCounts, frames: Sequence[Frame], forgotten: int) -> None:
    for i in range(forgotten):
        data = frames[i].data
        if data is not None:  # matched by nothing (`_matches`)
            counts.add(data)


def trim_recordings(
    connections: list[EmulatorConnection], excess: int, excess_bytes: int = 0
) -> tuple[int, int]:
    """Forget the oldest recorded frames; return how many frames and payload bytes went.

    Connection by connection, until `excess` frames and `excess_bytes` bytes are gone.
    The paths each forgotten frame held are counted first (the connection's `PathCounts`),
    so that dotted-path waits still count it. A closed connection left with no frames
    forgets its `handle_coverage` too (it only explains those frames), so that the
    connections themselves stay small.

    `connections` are those with something to trim, oldest first (`Emulator._trimmable`):
    each holding frames, or closed with a `handle_coverage` still to forget. Those left
    with nothing are removed from it, in place: with a tiny `record_frames` a trim runs at
    every frame, and walking every kept connection (up to `keep_closed_connections`, most
    of them empty) made each frame cost more the more connections were kept.
    """
    dropped = dropped_bytes = done = 0
    for conn in connections:
        if dropped >= excess and dropped_bytes >= excess_bytes:
            break
        s, r, size = _oldest_first(
            conn.sent, conn.received, excess - dropped, excess_bytes - dropped_bytes
        )
        paths = conn._forgotten_paths  # pyright: ignore[reportPrivateUsage]
        _count_paths(paths["sent"], conn.sent, s)
        _count_paths(paths["received"], conn.received, r)
        if s:
            del conn.sent[:s]
            conn.sent_dropped += s
        if r:
            del conn.received[:r]
            conn.received_dropped += r
        dropped += s + r
        dropped_bytes += size
        if conn.sent or conn.received:
            break  # `_oldest_first` leaves frames only once the excess is gone
        if conn.closed:
            conn.handle_coverage.clear()
        done += 1
    del connections[:done]
    return dropped, dropped_bytes


def track(trimmable: list[EmulatorConnection], conn: EmulatorConnection) -> None:
    """Add `conn` to the connections `trim_recordings` visits, in `number` order.

    In order, not at the end: an open connection trimmed empty comes back with its next
    frame, and its frames are still older than a newer connection's.
    """
    bisect.insort(trimmable, conn, key=_number)


def untrack(trimmable: list[EmulatorConnection], conn: EmulatorConnection) -> None:
    """Remove `conn` (forgotten) from the connections `trim_recordings` visits, if there."""
    at = bisect.bisect_left(trimmable, conn.number, key=_number)
    if at < len(trimmable) and trimmable[at] is conn:
        del trimmable[at]


def _number(conn: EmulatorConnection) -> int:
    return conn.number


def forget_closed(connections: list[EmulatorConnection], excess: int) -> list[EmulatorConnection]:
    """Remove the `excess` oldest closed connections from `connections`; return them.

    In place: a caller may hold `Emulator.connections` itself. Open ones are skipped, so
    those forgotten need not be the first of the list (a connection open for hours stays).
    """
    forgotten: list[EmulatorConnection] = []
    at = 0
    while len(forgotten) < excess and at < len(connections):
        if connections[at].closed:
            forgotten.append(connections.pop(at))
        else:
            at += 1
    return forgotten


def find_connection(
    connections: Sequence[EmulatorConnection], number: int
) -> EmulatorConnection | None:
    """The connection numbered `number` in `connections` (kept in number order), or None."""
    at = bisect.bisect_left(connections, number, key=_number)
    if at < len(connections) and connections[at].number == number:
        return connections[at]
    return None
