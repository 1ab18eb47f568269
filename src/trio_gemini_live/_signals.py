"""Signals waiting in the outgoing queue, kept off a connection whose setup refuses them.

The server closes the session with 1007 on an `activityStart`/`activityEnd` when the setup
has automatic activity detection on, and `audioStreamEnd` is valid only with it on
(protocol.md section 2.3). `activity_start()` and `audio_stream_end()` refuse one that could
reach a connection with the other setting, but one queued under the old setup (behind audio
on a slow uplink, say) may still wait in the queue when an `update_setup` changes it and the
session moves: the new connection's sender would write it. A resume voids the signals still
queued, or waiting for room in the queue, that the new setup refuses (`kept_off`) and
reports them in `Reconnected.not_replayed`, as the replay leaves out those in the replay
buffer (`ReplayPlan.onto`); one onto the old setup again (after the server refused the new)
writes them as usual. Sans-IO: the session and its sender call it.
"""

from __future__ import annotations

from ._resume import DETECTION_SIGNALS, MessageTally, kept_off

__all__ = ["DETECTION_SIGNALS", "SignalLedger"]


class _Signal:
    __slots__ = ("frame", "item", "kind", "told", "void")

    def __init__(self, item: object, kind: str, frame: bytes) -> None:
        self.item = item  # kept alive, so that its id names no other object while noted here
        self.kind = kind
        self.frame = frame
        self.void = False  # not to be written on the current connection
        self.told = False  # voided, and reported in a `Reconnected` that is out


class SignalLedger:
    """The signals (`DETECTION_SIGNALS`) in the outgoing queue, by identity, and whether void.

    Entries are made before the queue takes the message (a send waiting for room is queued
    by then as far as a resume is concerned) and dropped when the sender takes it, the
    send gives up, or the session ends. Signals are rare (one per push-to-talk press or
    pause of the microphone): the audio path pays one set look-up per queued message, never
    a look-up here.
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
        """At a resume: void every queued signal the new setup refuses (`kept_off`).

        Returns them counted, for `Reconnected.not_replayed`. The others (all of them on a
        setup the server refused, when the session goes back to the old one) are written.
        """
        kinds, _ = kept_off(automatic_vad=automatic_vad)
        tally = MessageTally()
        for signal in self._queued.values():
            signal.void = signal.kind in kinds
            signal.told = False
            if signal.void:
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
