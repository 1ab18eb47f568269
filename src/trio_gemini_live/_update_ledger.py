"""Context updates waiting in the outgoing queue, kept off the connections after a resume.

What a `contextUpdate` changes is in the setup in force from the moment it is queued, and
every resumed connection carries that setup, or the one `update_setup` asked for, which
replaces the updates queued before it and takes in those after it. So one still in the
queue (behind audio on a slow uplink, say) when the session moves is left unwritten: the
new connection's sender would write it after the new setup, and one made before an
`update_setup` put back the instruction or tools that setup replaced. Nothing is lost, so
nothing is reported, as the replay leaves out those in the replay buffer
(`_resume._CARRIED_BY_SETUP`). Sans-IO: the session and its sender call it.
"""

from __future__ import annotations

__all__ = ["CONTEXT_UPDATE", "UpdateLedger"]

CONTEXT_UPDATE = "contextUpdate"
"""The kind of a queued context update (`Outgoing.kind`)."""


class UpdateLedger:
    """The context updates in the outgoing queue, by identity, and whether each is void.

    Entries are made before the queue takes the message and dropped when the sender takes
    it, the send gives up, or the session ends. Only an update recorded in the setup in
    force (`committed`, just after it is queued) is voided: one a resume meets before that
    is not in the setup the resume sends, and is written after it. Items are kept alive
    here, so that an id names no other object while noted.
    """

    def __init__(self) -> None:
        # id -> [item, committed, void]
        self._queued: dict[int, list[object]] = {}
        self._carrying: list[list[object]] = []

    def queue(self, item: object) -> None:
        """Note an update about to be queued (`item`: the queued object itself)."""
        self._queued[id(item)] = [item, False, False]

    def committed(self, item: object) -> None:
        """`item`'s change is in the setup in force now: a resume's setup carries it."""
        entry = self._queued.get(id(item))
        if entry is not None:
            entry[1] = True

    def withdraw(self, item: object) -> None:
        """The send did not queue `item` after all (cancelled, or the session closed)."""
        self._queued.pop(id(item), None)

    def take(self, item: object) -> bool:
        """The sender took `item` from the queue: whether to write it (False: voided)."""
        entry = self._queued.pop(id(item), None)
        return entry is None or not entry[2]

    def carry(self) -> None:
        """A resume's setup is taken now: it carries every update committed so far.

        Not voided yet: should that connection never open, no setup carried them to the
        server, and the session's end reports them as never written.
        """
        self._carrying = [entry for entry in self._queued.values() if entry[1]]

    def carried(self) -> None:
        """The connection of the setup last taken (`carry`) opened: its sender skips them."""
        for entry in self._carrying:
            entry[2] = True
        self._carrying = []

    def left_unsent(self, item: object) -> bool:
        """`item` was still queued when the session ended: whether to report it as not sent.

        Not if a resume voided it: the setup of a connection that opened since carried it.
        """
        entry = self._queued.pop(id(item), None)
        return entry is None or not entry[2]
