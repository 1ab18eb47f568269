"""The bound on recorded frames: the emulator keeps the newest `record_frames` of them.

Every frame each connection sends and receives is recorded for inspection (`Frame`). Kept
without a bound, a long session's recording grew by megabytes a minute (each reply audio
chunk is held raw and decoded), and every connection ever opened kept its own: an emulator
serving a voice agent for hours ran out of memory. So the emulator keeps a budget across all
of its connections and forgets the oldest frames first: those of the oldest connection,
then of the next, each connection's in the order they were recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._server import EmulatorConnection, Frame

__all__ = ["trim_recordings"]


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
