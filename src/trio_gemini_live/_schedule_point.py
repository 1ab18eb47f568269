"""The schedule point after a write made from the caller's task.

trio's convention is that an async call is both a cancel point and a schedule point. A send
that writes straight to the socket checks for cancellation before writing, and then should
let other tasks run. When the calling task has just come from the scheduler (it slept until
its next chunk was due, or awaited input), that second pass through the run loop gives
nobody a chance they did not just have, and it is the dearest part of a paced send: a
whole run-loop iteration per chunk, with its caches cold after the sleep.

So a write yields unless the calling task has passed a schedule point since its previous
write made here: a task that sends in a loop without awaiting anything else still yields at
least on every second send, and a paced task does not pay twice. Which task wrote last is
kept per thread (one trio run per thread), across sessions, so a task writing to many
sessions in a row yields as often as one writing to a single session.

Whether the task has been through the scheduler is read from the counter of schedule points
that trio keeps on every task (and that `trio.testing.assert_checkpoints` reads). Should a
trio release drop it, every write yields, as trio's own socket writes do.
"""

from __future__ import annotations

import threading

import trio

__all__ = ["schedule_point_after_write"]


class _LastWrite(threading.local):
    """The task that last skipped the schedule point, and its schedule-point count then.

    The task is kept by `id`, so that a finished task is not kept alive: should a new task
    reuse the id with the same count, its write merely yields once more than it had to.
    """

    task_id = 0
    points: object = None


_last = _LastWrite()


async def schedule_point_after_write() -> None:
    """Yield to the scheduler unless the caller has been through it since its last write."""
    task = trio.lowlevel.current_task()
    points: object = getattr(task, "_schedule_points", None)
    last = _last
    if type(points) is int and (last.task_id != id(task) or last.points != points):
        last.task_id = id(task)
        last.points = points
        return
    await trio.lowlevel.cancel_shielded_checkpoint()
