"""The tool calls of a connection that await a response, those without an id included.

Vertex AI may send function calls without an `id` (protocol.md section 2.4: it tolerates a
response without one too). Such calls cannot be told apart by id, so each is kept as its
own entry, in the order it came: a response without an id answers the oldest of them that
has its function name (as the emulator's Vertex flavour matches them). Sans-IO: the
protocol core owns one, the session reads it.

A session reserves a call while its response waits for room in the outgoing queue: the
call is still pending (the response may yet be cancelled, and the call answered again),
but no other response may take it meanwhile, or both would be sent. When the server cancels
a reserved call without an id, the waiting response is not void: the server, which
matches a response without an id by name when it arrives, takes it as the answer to the
oldest call without an id of that name then pending. So it moves to the oldest free such
call, or to the next one to arrive while it still waits (`PendingCalls.cancel`); once
queued it answers that one, as the server will. A resume (`clear`) voids it instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._errors import RemoteProtocolError

__all__ = ["MAX_PENDING", "NO_ID", "CallKey", "PendingCalls", "CallReservation"]

NO_ID = ""
"""The id under which a call that came without one is pending (and reported)."""

MAX_PENDING = 4096
"""The most tool calls that may await a response at once on a connection. A real server
has a few outstanding; calls a broken one never stops sending, unanswered by an application
that ignores them, would otherwise be held without bound."""


class _WithoutId:
    """The key of one call that came without an id: each such call is a key of its own."""

    __slots__ = ()


CallKey = str | _WithoutId
"""One pending call: its id, or the key of a call that came without one (`reserve`)."""


_NONE_RESERVED: dict[CallKey, object] = {}  # read only: `_without_id` counting reserved calls


class CallReservation:
    """The pending calls that one tool response holds while it waits to be queued.

    Made by `LiveProtocol.reserve_answers`; passed to `LiveProtocol.commit` once the
    response is queued, or to `LiveProtocol.release_answers` if it never is. `keys` holds
    one opaque key per call held (a call with an id: its id).
    """

    __slots__ = ("keys", "seeking")

    def __init__(self) -> None:
        self.keys: list[CallKey] = []
        # Names of reserved calls without an id that the server cancelled, whose response
        # takes the next such call of the name to arrive while it waits (`PendingCalls`).
        self.seeking: list[str] = []

    def __repr__(self) -> str:
        return f"CallReservation({len(self.keys)} call(s))"


class PendingCalls:
    """Tool calls received and not yet answered nor cancelled, in the order they came.

    A call with an id is one entry under that id (the same id again replaces its name, as
    a server re-issuing a call means one call). Every call without an id is an entry of
    its own, under `NO_ID`: two of them in flight are two pending calls, and each needs
    its own response.
    """

    def __init__(self) -> None:
        # Key -> function name, oldest first: the id, or a `_WithoutId` for a call that came
        # without one. A dict, so that a call with an id (nearly every call) is added and
        # answered by one look-up, as on the decode path of every tool call frame.
        self._calls: dict[CallKey, str] = {}
        # Reserved calls -> who holds each (`reserve`); empty nearly always, so the paths
        # every call takes test it for truth and look nothing up.
        self._reserved: dict[CallKey, object] = {}
        # Reservations whose call without an id the server cancelled, waiting for the next
        # such call of its name (`cancel`), oldest first; empty nearly always.
        self._seeking: list[CallReservation] = []

    def add(self, call_id: str, name: str) -> None:
        """A call arrived (`call_id` is `NO_ID` for one that came without an id).

        One without an id goes to a waiting response whose call of that name the server
        cancelled, if one seeks it (see `cancel`): the server takes that response as its
        answer.

        Raises:
            RemoteProtocolError: `MAX_PENDING` calls await a response already, and this one
                is no call among them issued again.
        """
        calls = self._calls
        if len(calls) >= MAX_PENDING and (not call_id or call_id not in calls):
            raise RemoteProtocolError(
                f"the server issued more than {MAX_PENDING} tool calls awaiting a response "
                "at once (a real server has a few outstanding)"
            )
        if call_id:
            calls[call_id] = name
            return
        key = _WithoutId()
        calls[key] = name
        if self._seeking:
            for reservation in self._seeking:
                if name in reservation.seeking:
                    reservation.seeking.remove(name)
                    if not reservation.seeking:
                        self._seeking.remove(reservation)
                    self._reserved[key] = reservation
                    reservation.keys.append(key)
                    return

    def answer(self, call_id: str, name: str | None) -> bool:
        """A response for `call_id` went out: whether it answered a pending call.

        Without an id it answers the oldest call without an id named `name` (the oldest
        of them all when `name` is None or empty) that is not reserved: a response queued
        earlier answers that one. With an id, it frees a reservation of the call.
        """
        if call_id:
            if self._reserved:
                self._reserved.pop(call_id, None)
            return self._calls.pop(call_id, None) is not None
        key = self._without_id(name, free=True)
        if key is None:
            return False
        del self._calls[key]
        return True

    def cancel(self, call_id: str) -> bool:
        """The server cancelled `call_id` (`NO_ID`: the oldest call without an id).

        A response reserved for a call without an id is not void then: the server takes
        it, once it arrives, as the answer to the oldest call without an id of that name
        it has pending. It moves to the oldest such call not reserved, or else seeks the
        next one to arrive (`add`) while it waits; if none comes before it is queued, it
        answers none.
        """
        key = call_id or self._without_id(None, free=False)
        if key is None:
            return False
        name = self._calls.pop(key, None)
        if name is None:
            return False
        if self._reserved:
            holder = self._reserved.pop(key, None)
            if type(key) is _WithoutId and isinstance(holder, CallReservation):
                holder.keys.remove(key)
                other = self._without_id(name, free=True)
                if other is not None:
                    self._reserved[other] = holder
                    holder.keys.append(other)
                else:
                    holder.seeking.append(name)
                    if holder not in self._seeking:
                        self._seeking.append(holder)
        return True

    def reserve(self, call_id: str, name: str | None, holder: object) -> CallKey | None:
        """Keep a pending call for `holder`'s response, which waits to be queued.

        Returns its key (for `settle` or `release`), or None if no call is free for it:
        `call_id` is not pending or reserved already; without an id, no call without one
        named `name` (any name: None or "") is left unreserved. A reserved call stays
        pending, but no later `reserve` or response without an id takes it.
        """
        key = call_id or self._without_id(name, free=True)
        if key is None or key not in self._calls or key in self._reserved:
            return None
        self._reserved[key] = holder
        return key

    def release(self, key: CallKey, holder: object) -> None:
        """`holder`'s response was not queued: its call is free to answer again."""
        if self._reserved.get(key) is holder:
            del self._reserved[key]

    def stop_seeking(self, reservation: CallReservation) -> None:
        """`reservation`'s response was queued or given up: it takes no later call (`cancel`)."""
        if reservation.seeking:
            reservation.seeking.clear()
            self._seeking.remove(reservation)

    def settle(self, key: CallKey, holder: object) -> bool:
        """`holder`'s response was queued: whether it answered the call it reserved.

        Not if the call left meanwhile (cancelled by the server, or forgotten at a resume,
        after which `key` may name another connection's call that someone else holds).
        """
        if self._reserved.get(key) is not holder:
            return False
        del self._reserved[key]
        del self._calls[key]
        return True

    def reserve_all(self, answers: Iterable[tuple[str, str | None]]) -> CallReservation:
        """`reserve` the call each (call id, name) answers, for one response.

        An answer with no call free for it reserves nothing (a duplicate in the message,
        or a call a response of its own may not take: the caller checked that).
        """
        reservation = CallReservation()
        for call_id, name in answers:
            key = self.reserve(call_id, name, reservation)
            if key is not None:
                reservation.keys.append(key)
        return reservation

    def release_all(self, reservation: CallReservation) -> None:
        """`release` every call of `reservation` (its response was not queued)."""
        self.stop_seeking(reservation)
        for key in reservation.keys:
            self.release(key, reservation)

    def reserved(self, call_id: str) -> bool:
        """Whether a response to the call `call_id` (not `NO_ID`) waits to be queued."""
        return call_id in self._reserved

    def clear(self) -> None:
        """Forget every call (the connection that issued them is gone)."""
        self._calls.clear()
        self._reserved.clear()
        for reservation in self._seeking:
            reservation.seeking.clear()  # the server that would take its response is gone
        self._seeking.clear()

    def name_of(self, call_id: str) -> str | None:
        """The function name of a pending call.

        `NO_ID`: of the oldest call without an id that no response waits for, else of the
        oldest of them all.
        """
        key = call_id or self._without_id(None, free=True) or self._without_id(None, free=False)
        return None if key is None else self._calls.get(key)

    def without_id(self, *, reserved: bool = False) -> list[str]:
        """The names of the pending calls without an id left to answer, oldest first.

        Those reserved (`reserve`: a response to each waits to be queued) are left out;
        with `reserved`, they are the ones listed.
        """
        held = self._reserved
        return [
            name
            for key, name in self._calls.items()
            if type(key) is _WithoutId and (key in held) is reserved
        ]

    def ids(self) -> tuple[str, ...]:
        """Every pending call's id, oldest first: `NO_ID` once for each call without one."""
        return tuple(key if type(key) is str else NO_ID for key in self._calls)

    def as_dict(self) -> dict[str, str]:
        """Call id -> function name; the calls without an id show once, as the oldest.

        Under `NO_ID` is the call that a response without an id or name answers next: the
        oldest that no response waits for, if any is left.
        """
        out: dict[str, str] = {}
        for key, name in self._calls.items():
            out.setdefault(key if type(key) is str else NO_ID, name)
        if self._reserved and NO_ID in out:
            free = self._without_id(None, free=True)
            if free is not None:
                out[NO_ID] = self._calls[free]
        return out

    def __contains__(self, call_id: object) -> bool:
        if call_id == NO_ID:
            return self._without_id(None, free=False) is not None
        return call_id in self._calls

    def __len__(self) -> int:
        return len(self._calls)

    def __bool__(self) -> bool:
        return bool(self._calls)

    def __repr__(self) -> str:
        return f"PendingCalls({list(zip(self.ids(), self._calls.values(), strict=True))!r})"

    def _without_id(self, name: str | None, *, free: bool) -> _WithoutId | None:
        """The key of the oldest call without an id named `name` (any name: None or "").

        `free`: of those that are not reserved.
        """
        reserved = self._reserved if free else _NONE_RESERVED
        for key, pending_name in self._calls.items():
            if (
                type(key) is _WithoutId
                and (not name or pending_name == name)
                and key not in reserved
            ):
                return key
        return None
