"""The tool calls of a connection that await a response, those without an id included.

Vertex AI may send function calls without an `id` (protocol.md section 2.4: it tolerates a
response without one too). Such calls cannot be told apart by id, so each is kept as its
own entry, in the order it came: a response without an id answers the oldest of them that
has its function name (as the emulator's Vertex flavour matches them). Sans-IO: the
protocol core owns one, the session reads it.
"""

from __future__ import annotations

__all__ = ["NO_ID", "PendingCalls"]

NO_ID = ""
"""The id under which a call that came without one is pending (and reported)."""


class PendingCalls:
    """Tool calls received and not yet answered nor cancelled, in the order they came.

    A call with an id is one entry under that id (the same id again replaces its name, as
    a server re-issuing a call means one call). Every call without an id is an entry of
    its own, under `NO_ID`: two of them in flight are two pending calls, and each needs
    its own response.
    """

    def __init__(self) -> None:
        # (id, name) pairs, oldest first. A handful at most: a list scan beats keeping a
        # dict and a queue in step.
        self._calls: list[tuple[str, str]] = []

    def add(self, call_id: str, name: str) -> None:
        """A call arrived (`call_id` is `NO_ID` for one that came without an id)."""
        if call_id:
            for index, (pending_id, _) in enumerate(self._calls):
                if pending_id == call_id:
                    self._calls[index] = (call_id, name)
                    return
        self._calls.append((call_id, name))

    def answer(self, call_id: str, name: str | None) -> bool:
        """A response for `call_id` went out: whether it answered a pending call.

        Without an id it answers the oldest call without an id named `name` (the oldest
        of them all when `name` is None or empty).
        """
        index = self._find(call_id, name)
        if index is None:
            return False
        del self._calls[index]
        return True

    def cancel(self, call_id: str) -> bool:
        """The server cancelled `call_id` (`NO_ID`: the oldest call without an id)."""
        return self.answer(call_id, None)

    def clear(self) -> None:
        """Forget every call (the connection that issued them is gone)."""
        self._calls.clear()

    def name_of(self, call_id: str) -> str | None:
        """The function name of a pending call (`NO_ID`: of the oldest without an id)."""
        index = self._find(call_id, None)
        return None if index is None else self._calls[index][1]

    def without_id(self) -> list[str]:
        """The names of the pending calls that came without an id, oldest first."""
        return [name for call_id, name in self._calls if not call_id]

    def ids(self) -> tuple[str, ...]:
        """Every pending call's id, oldest first: `NO_ID` once for each call without one."""
        return tuple(call_id for call_id, _ in self._calls)

    def as_dict(self) -> dict[str, str]:
        """Call id -> function name; the calls without an id show once, as the oldest.

        Under `NO_ID` is the call that a response without an id or name answers next.
        """
        out: dict[str, str] = {}
        for call_id, name in self._calls:
            out.setdefault(call_id, name)
        return out

    def __contains__(self, call_id: object) -> bool:
        return any(pending_id == call_id for pending_id, _ in self._calls)

    def __len__(self) -> int:
        return len(self._calls)

    def __bool__(self) -> bool:
        return bool(self._calls)

    def __repr__(self) -> str:
        return f"PendingCalls({self._calls!r})"

    def _find(self, call_id: str, name: str | None) -> int | None:
        for index, (pending_id, pending_name) in enumerate(self._calls):
            if pending_id != call_id:
                continue
            if call_id or not name or pending_name == name:
                return index
        return None
