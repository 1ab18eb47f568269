"""Tool responses waiting in the outgoing queue, which a resume keeps off the next connection.

A tool response answers calls of the connection that issued them. The resumed server no
longer knows those ids (it re-issues, with new ones, the calls it still needs) and closes
the session with a fatal 1007 on a response to one. The replay buffer already skips the
responses written before the drop; this ledger covers those still queued, or waiting for
room in the queue, when the connection ends. Sans-IO: the session and its sender call it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._resume import MessageTally

__all__ = ["TOOL_RESPONSE", "AnswerLedger"]

TOOL_RESPONSE = "toolResponse"
"""The kind of a queued tool response (`Outgoing.kind`)."""


@dataclass(eq=False)
class _Answer:
    item: object  # kept alive, so that its id names no other object while noted here
    frame: bytes
    call_ids: tuple[str, ...]
    told: bool = False  # voided, and reported in a `Reconnected` that is out


class AnswerLedger:
    """The tool responses in the outgoing queue, by identity, live or voided by a resume.

    Entries are made before the queue takes the message (a send waiting for room is
    queued by then as far as a resume is concerned) and dropped when the sender takes it,
    the send gives up, or the session ends. Tool responses are rare: the audio path pays
    one string comparison per message, never a look-up here.
    """

    def __init__(self) -> None:
        self._live: dict[int, _Answer] = {}
        self._void: dict[int, _Answer] = {}

    @property
    def queued(self) -> bool:
        """Whether a tool response waits to be written (a move waits for it, if it can)."""
        return bool(self._live)

    def queue(self, item: object, frame: bytes, call_ids: tuple[str, ...]) -> None:
        """Note a tool response about to be queued (`item`: the queued object itself)."""
        self._live[id(item)] = _Answer(item, frame, call_ids)

    def withdraw(self, item: object) -> None:
        """The send did not queue `item` after all (cancelled, or the session closed)."""
        self._live.pop(id(item), None)
        self._void.pop(id(item), None)

    def take(self, item: object) -> bool:
        """The sender took `item` from the queue: whether to write it (False: voided)."""
        self._live.pop(id(item), None)
        return self._void.pop(id(item), None) is None

    def void(self) -> tuple[MessageTally, tuple[str, ...]]:
        """At a resume: every response still queued answers a call of the old connection.

        They will never be written. Returns them counted (for `Reconnected.not_replayed`)
        and the ids of the calls they answered, which no later connection knows either.
        """
        tally = MessageTally()
        ids: list[str] = []
        for key, answer in self._live.items():
            tally.add(TOOL_RESPONSE, answer.frame)
            ids.extend(answer.call_ids)
            self._void[key] = answer
        self._live.clear()
        return tally, tuple(ids)

    def told(self) -> None:
        """A `Reconnected` reporting every response voided so far is out."""
        for answer in self._void.values():
            answer.told = True

    def left_unsent(self, item: object) -> bool:
        """`item` was still queued when the session ended: whether to report it as not sent.

        Not if a resume voided it and its `Reconnected` reported it already; a resume that
        never opened a connection reported nothing, and `Closed.not_sent` counts it.
        """
        self._live.pop(id(item), None)
        answer = self._void.pop(id(item), None)
        return answer is None or not answer.told
