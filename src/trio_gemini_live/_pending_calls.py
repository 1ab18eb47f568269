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


class _WithoutId:
    """The key of one call that came without an id: each such call is a key of its own."""

    __slots__ = ()


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
        self._calls: dict[str | _WithoutId, str] = {}

    def add(self, call_id: str, name: str) -> None:
        """A call arrived (`call_id` is `NO_ID` for one that came without an id)."""
        self._calls[call_id or _WithoutId()] = name

    def answer(self, call_id: str, name: str | None) -> bool:
        """A response for `call_id` went out: whether it answered a pending call.

        Without an id it answers the oldest call without an id named `name` (the oldest
        of them all when `name` is None or empty).
        """
        if call_id:
            return self._calls.pop(call_id, None) is not None
        key = self._without_id(name)
        if key is None:
            return False
        del self._calls[key]
        return True

    def cancel(self, call_id: str) -> bool:
        """The server cancelled `call_id` (`NO_ID`: the oldest call without an id)."""
        return self.answer(call_id, None)

    def clear(self) -> None:
        """Forget every call (the connection that issued them is gone)."""
        self._calls.clear()

    def name_of(self, call_id: str) -> str | None:
        """The function name of a pending call (`NO_ID`: of the oldest without an id)."""
        key = call_id or self._without_id(None)
        return None if key is None else self._calls.get(key)

    def without_id(self) -> list[str]:
        """The names of the pending calls that came without an id, oldest first."""
        return [name for key, name in self._calls.items() if type(key) is _WithoutId]

    def ids(self) -> tuple[str, ...]:
        """Every pending call's id, oldest first: `NO_ID` once for each call without one."""
        return tuple(key if type(key) is str else NO_ID for key in self._calls)

    def as_dict(self) -> dict[str, str]:
        """Call id -> function name; the calls without an id show once, as the oldest.

        Under `NO_ID` is the call that a response without an id or name answers next.
        """
        out: dict[str, str] = {}
        for key, name in self._calls.items():
            out.setdefault(key if type(key) is str else NO_ID, name)
        return out

    def __contains__(self, call_id: object) -> bool:
        if call_id == NO_ID:
            return self._without_id(None) is not None
        return call_id in self._calls

    def __len__(self) -> int:
        return len(self._calls)

    def __bool__(self) -> bool:
        return bool(self._calls)

    def __repr__(self) -> str:
        return f"PendingCalls({list(zip(self.ids(), self._calls.values(), strict=True))!r})"

    def _without_id(self, name: str | None) -> _WithoutId | None:
        """The key of the oldest call without an id named `name` (any name: None or "")."""
        for key, pending_name in self._calls.items():
            if type(key) is _WithoutId and (not name or pending_name == name):
                return key
        return None
