"""The errors that refuse a tool response, and the search for the call one without an id answers.

Split from `_session.py`: the session's answering checks (`LiveSession._check_answers`,
`respond`) raise these; each says which call and why.
"""

from __future__ import annotations

from ._errors import CallCancelledError, LocalProtocolError


def cancelled_call(call_id: str, *, answered: bool = False) -> LocalProtocolError:
    """The error for answering a call the move to a new connection cancelled (or answered).

    A `CallCancelledError` for a cancelled call; one answered already is no race the app
    may ignore, but a second answer to it.
    """
    tail = "the server re-issues calls it still needs with new ids"
    if answered:
        return LocalProtocolError(
            f"tool call {call_id!r} was answered, but the response was still queued when the "
            "session moved to a new connection, which does not know the call: it was not "
            f"sent (see Reconnected.not_replayed); {tail}"
        )
    return CallCancelledError(
        f"tool call {call_id!r} was cancelled when the session moved to a new connection "
        f"(see the ToolCallCancellation event); {tail}",
        call_id,
        "reconnect",
    )


def take_call_without_id(
    unanswered: list[str], name: str, what: str, on_its_way: list[str]
) -> None:
    """Count a response without an id against the calls without one, or say it answers none.

    `unanswered`: the names of the pending calls without an id that no response before
    this one answers; the one this response answers (the oldest of its name) leaves it.
    `on_its_way`: the names of those whose response waits to be queued (not counted).
    """
    try:
        unanswered.remove(name)
    except ValueError:
        listing = ", ".join(repr(pending) for pending in unanswered) or "none left"
        if name in on_its_way:
            raise LocalProtocolError(
                f"{what}: a response without an id answers the oldest pending call without "
                f"an id named {name!r}, and an answer is already on its way to each such "
                "call (another respond or send_tool_response waits for room in the queue; "
                f"calls without an id left to answer: {listing})"
            ) from None
        raise LocalProtocolError(
            f"{what}: a response without an id answers the oldest pending call without an "
            f"id named {name!r}, and no such call is pending (calls without an id that "
            f"are pending and not answered by this message: {listing})"
        ) from None


def no_call_without_id(what: str, name: str | None = None) -> LocalProtocolError:
    """The error for a response without an id when no call that came without one is pending.

    An empty id is how such a call (Vertex AI may send them) is answered, so the error says
    that none is pending, not that an id is needed.
    """
    named = f" named {name!r}" if name else ""
    return LocalProtocolError(
        f"{what}: a response without an id answers the oldest pending call without an "
        f"id{named}, and no call without an id is pending (a call that came with an id is "
        "answered with that id: FunctionCall.call_id)"
    )


def first_named(names: list[str], name: str | None) -> int | None:
    """The index of the first of `names` equal to `name` (any, for None or ""), if any."""
    for index, pending in enumerate(names):
        if not name or pending == name:
            return index
    return None


def answer_on_its_way(call_id: str) -> LocalProtocolError:
    """The error for answering a call whose response waits for room in the queue."""
    return LocalProtocolError(
        f"tool call {call_id!r} is answered already: an answer is already on its way "
        "(another respond or send_tool_response waits for room in the queue; if that send "
        "is cancelled, the call can be answered again)"
    )


def not_pending(call_id: str, settled: str | None) -> LocalProtocolError:
    """The error for answering a call that is not pending, saying why when it is known."""
    if settled == "cancelled":
        return CallCancelledError(
            f"tool call {call_id!r} was cancelled by the server (see the ToolCallCancellation "
            "event): nothing waits for its result",
            call_id,
        )
    if settled == "answered":
        return LocalProtocolError(f"tool call {call_id!r} was answered already")
    if settled == "incomplete":
        return CallCancelledError(
            f"tool call {call_id!r} is incomplete: its turn ended before the last piece of "
            'its arguments (see the ToolCallCancellation(reason="incomplete") event); '
            "nothing waits for its result",
            call_id,
            "incomplete",
        )
    if settled == "streaming":
        return LocalProtocolError(
            f"tool call {call_id!r} is still streaming its arguments (FunctionCallDelta): "
            "answer its FunctionCall, which comes with the last piece"
        )
    return LocalProtocolError(
        f"unknown tool call id {call_id!r}: no pending call has it, and no call answered or "
        "cancelled lately had it"
    )
