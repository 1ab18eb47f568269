"""What the emulator keeps for inspection, within bounds: recorded frames, closed connections.

Every frame each connection sends and receives is recorded for inspection (`Frame`). Kept
without a bound, a long session's recording grew by megabytes a minute (each reply audio
chunk is held raw and decoded), and every connection ever opened kept its own: an emulator
serving a voice agent for hours ran out of memory. So the emulator keeps a budget across all
of its connections and forgets the oldest frames first: those of the oldest connection,
then of the next, each connection's in the order they were recorded.

The connections themselves (`Emulator.connections`, ~8.5 kB each once closed) grew the same
way in an emulator serving resuming clients for days, so past `keep_closed_connections` the
oldest closed ones are forgotten too. Open ones always stay (a test may still drive them),
and each keeps its `number`, so `wait_for_connection(n)` still finds the n-th one, or says
it was forgotten.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._server import EmulatorConnection, Frame

__all__ = ["ForgottenConnectionError", "find_connection", "forget_closed", "trim_recordings"]


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


def _oldest_first(sent: Sequence[Frame], received: Sequence[Frame], count: int) -> tuple[int, int]:
    """How many frames to drop from the front of each list to drop `count`, oldest first."""
    s = r = 0
    while s + r < count and (s < len(sent) or r < len(received)):
        if r >= len(received) or (s < len(sent) and sent[s].time <= received[r].time):
            s += 1
        else:
            r += 1
    return s, r


def trim_recordings(connections: Sequence[EmulatorConnection], excess: int) -> int:
    """Forget the `excess` oldest recorded frames, connection by connection; return how many.

    A closed connection left with no frames forgets its `handle_coverage` too (it only
    explains those frames), so that the connections themselves stay small.
    """
    dropped = 0
    for conn in connections:
        if dropped >= excess:
            break
        s, r = _oldest_first(conn.sent, conn.received, excess - dropped)
        if s:
            del conn.sent[:s]
            conn.sent_dropped += s
        if r:
            del conn.received[:r]
            conn.received_dropped += r
        dropped += s + r
        if conn.closed and not conn.sent and not conn.received:
            conn.handle_coverage.clear()
    return dropped


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
    at = bisect.bisect_left(connections, number, key=lambda conn: conn.number)
    if at < len(connections) and connections[at].number == number:
        return connections[at]
    return None
