"""Activity signals waiting in the outgoing queue, kept off a connection with automatic VAD.

The server closes the session with 1007 on an `activityStart`/`activityEnd` when the setup
has automatic activity detection on. `activity_start()` refuses a signal that could reach
such a connection, but one queued under a setup with it off (behind audio on a slow uplink,
say) may still wait in the queue when an `update_setup` turns it on and the session moves:
the new connection's sender would write it. A resume onto such a setup voids the signals
still queued, or waiting for room in the queue, and reports them in
`Reconnected.not_replayed`, as the replay leaves out those in the replay buffer
(`ReplayPlan.onto`); one onto a setup with it off (the old one again, after the server
refused the new) writes them as usual. Sans-IO: the session and its sender call it.
"""

from __future__ import annotations

from ._resume import ACTIVITY_END, ACTIVITY_START, MessageTally

__all__ = ["ACTIVITY_SIGNALS", "SignalLedger"]

ACTIVITY_SIGNALS = frozenset({ACTIVITY_START, ACTIVITY_END})
"""The kinds of the queued activity signals (`Outgoing.kind`)."""


class _Signal:
    __slots__ = ("frame", "item", "kind", "told", "void")

    def __init__(self, item: object, kind: str, frame: bytes) -> None:
        self.item = item  # kept alive, so that its id names no other object while noted here
        self.kind = kind
        self.frame = frame
        self.void = False  # not to be written on the current connection
        self.told = False  # voided, and reported in a `Reconnected` that is out


class SignalLedger:
    """The activity signals in the outgoing queue, by identity, and whether each is void.

    Entries are made before the queue takes the message (a send waiting for room is queued
    by then as far as a resume is concerned) and dropped when the sender takes it, the
    send gives up, or the session ends. Signals are rare (one per push-to-talk press): the
    audio path pays one set look-up per queued message, never a look-up here.
    """

    def __init__(self) -> None:
        self._queued: dict[int, _Signal] = {}

    def queue(self, item: object, kind: str, frame: bytes) -> None:
        """Note a signal about to be queued (`item`: the queued object itself)."""
        self._queued[id(item)] = _Signal(item, kind, frame)

    def withdraw(self, item: object) -> None:
        """The send did not queue `item` after all (cancelled, or the session closed)."""
        self._queued.pop(id(item), None)

    def take(self, item: object) -> bool:
        """The sender took `item` from the queue: whether to write it (False: voided)."""
        signal = self._queued.pop(id(item), None)
        return signal is None or not signal.void

    def onto(self, *, automatic_vad: bool) -> MessageTally:
        """At a resume: void every queued signal if the new setup has automatic VAD on.

        Returns them counted, for `Reconnected.not_replayed`. With it off (a setup the
        server refused, and the session goes back to the old one), they are written.
        """
        tally = MessageTally()
        for signal in self._queued.values():
            signal.void = automatic_vad
            signal.told = False
            if automatic_vad:
                tally.add(signal.kind, signal.frame)
        return tally

    def told(self) -> None:
        """A `Reconnected` reporting every signal voided so far is out."""
        for signal in self._queued.values():
            if signal.void:
                signal.told = True

    def left_unsent(self, item: object) -> bool:
        """`item` was still queued when the session ended: whether to report it as not sent.

        Not if a resume voided it and its `Reconnected` reported it already.
        """
        signal = self._queued.pop(id(item), None)
        return signal is None or not signal.told
