"""Sleeping until absolute times on trio's clock, as cheaply as the platform allows.

Why: real-time audio wakes a task every 20 ms. `trio.sleep_until` wakes it through a
cancel scope whose deadline expires, so every wake-up raises and catches `Cancelled`; on
this project's machines a trio timer wake-up costs about 85-130 us more CPU than asyncio's.
On Linux a timerfd armed at the absolute time wakes the task through trio's I/O wait
instead: no exception, and one `read`; measured alone, that closes about half of the gap
(docs/performance.md). It is used only with trio's own system clock
(a test's `MockClock` runs on virtual time, which the kernel does not know), and
elsewhere `trio.sleep_until` is the fallback. Python 3.13 has `os.timerfd_*`; before that
libc's functions are called through ctypes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time
from collections.abc import Generator
from contextlib import contextmanager
from typing import Protocol

import trio

from ._require_trio import require_trio

__all__ = ["Pacer", "open_pacer"]

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = 0o2000000
_TFD_TIMER_ABSTIME = 1
_FAR_AHEAD = 1e9  # seconds (about 31 years): a later deadline takes trio's own timer


class Pacer(Protocol):
    """Waits until an absolute time of `trio.current_time()`."""

    async def sleep_until(self, deadline: float) -> None:
        """Return at `deadline` or soon after (a checkpoint, even if it has passed).

        Raises:
            trio.ClosedResourceError: the `with open_pacer()` block has ended.
        """
        ...


def _closed_pacer() -> trio.ClosedResourceError:
    return trio.ClosedResourceError("this pacer was closed with its `with open_pacer()` block")


class _TrioPacer:
    def __init__(self) -> None:
        self.closed = False

    async def sleep_until(self, deadline: float) -> None:
        # Refused like the timerfd pacer's, so that a pacer kept past its block fails
        # the same way on every platform and clock.
        if self.closed:
            raise _closed_pacer()
        await trio.sleep_until(deadline)


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class _Libc:
    """libc's timerfd functions, for Pythons without `os.timerfd_create`."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._create = libc.timerfd_create
        self._create.argtypes = [ctypes.c_int, ctypes.c_int]
        self._settime = libc.timerfd_settime
        self._settime.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(_Itimerspec),
            ctypes.POINTER(_Itimerspec),
        ]
        self._spec = _Itimerspec()
        self._spec_ref = ctypes.byref(self._spec)

    def create(self) -> int:
        fd: int = self._create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        return fd

    def arm_at(self, fd: int, when: float) -> None:
        value = self._spec.it_value
        value.tv_sec = int(when)
        value.tv_nsec = int((when - int(when)) * 1e9)
        if self._settime(fd, _TFD_TIMER_ABSTIME, self._spec_ref, None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime failed")


class _TimerfdPacer:
    def __init__(self, fd: int, arm_at: _ArmAt) -> None:
        self._fd = fd
        self._arm_at = arm_at
        self.closed = False
        # trio's system clock and CLOCK_MONOTONIC differ by a constant offset. Read in this
        # order, any error in it makes a wake-up late, never early.
        now = trio.current_time()
        self._offset = time.monotonic() - now

    async def sleep_until(self, deadline: float) -> None:
        if self.closed:
            # The fd is closed: arming it failed with a bare EBADF, or, once the number
            # was reused, armed (or read) whatever file now has it.
            raise _closed_pacer()
        now = trio.current_time()
        if deadline <= now:
            await trio.lowlevel.checkpoint()
            return
        if not deadline - now < _FAR_AHEAD:
            # `inf` (wait until cancelled), NaN, or beyond what a timespec holds: arming
            # would raise OverflowError. trio's timer sleeps (or refuses NaN) as documented.
            await trio.sleep_until(deadline)
            return
        self._arm_at(self._fd, deadline + self._offset)  # re-arming clears old expiries
        while True:
            await trio.lowlevel.wait_readable(self._fd)
            try:
                os.read(self._fd, 8)  # the expiry count: reading it makes the fd quiet
            except BlockingIOError:
                continue  # a spurious wake-up: the timer has not expired yet
            return


class _ArmAt(Protocol):
    def __call__(self, fd: int, when: float, /) -> None: ...


def _timerfd() -> tuple[int, _ArmAt] | None:
    """A new timerfd and the function that arms it at a CLOCK_MONOTONIC time, if any."""
    if not sys.platform.startswith("linux"):
        return None
    create = getattr(os, "timerfd_create", None)
    if create is not None:  # Python 3.13+
        settime = os.timerfd_settime  # type: ignore[attr-defined,unused-ignore]
        flags = os.TFD_NONBLOCK | os.TFD_CLOEXEC  # type: ignore[attr-defined,unused-ignore]
        abstime = os.TFD_TIMER_ABSTIME  # type: ignore[attr-defined,unused-ignore]
        try:
            fd: int = create(time.CLOCK_MONOTONIC, flags=flags)
        except OSError:  # a sandbox without timerfd, or out of fds: as on the ctypes path
            return None

        def arm_at(fd: int, when: float) -> None:
            settime(fd, flags=abstime, initial=when)

        return fd, arm_at
    try:
        libc = _Libc()
        return libc.create(), libc.arm_at
    except (OSError, AttributeError):
        return None


def _on_system_clock() -> bool:
    clock = trio.lowlevel.current_clock()
    return type(clock).__name__ == "SystemClock" and type(clock).__module__.startswith("trio.")


@contextmanager
def open_pacer() -> Generator[Pacer]:
    """A pacer for the current trio run: a timerfd where possible, else `trio.sleep_until`.

    For an application's own real-time clock (audio playback, a capture simulator, a
    shared ticker): `with open_pacer() as pacer: await pacer.sleep_until(deadline)`, with
    deadlines on `trio.current_time()`. One pacer serves one task at a time, and only
    inside its block.

    Raises:
        ConfigurationError: not run by trio (e.g. anyio on its default asyncio backend, or
            outside any event loop).
    """
    require_trio("open_pacer")
    timer = _timerfd() if _on_system_clock() else None
    if timer is None:
        pacer = _TrioPacer()
        try:
            yield pacer
        finally:
            pacer.closed = True
        return
    fd, arm_at = timer
    timerfd = _TimerfdPacer(fd, arm_at)
    try:
        yield timerfd
    finally:
        timerfd.closed = True
        trio.lowlevel.notify_closing(fd)
        os.close(fd)
