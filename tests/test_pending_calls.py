"""`PendingCalls`: tool calls awaiting a response, those without an id each on their own."""

from __future__ import annotations

import json

import pytest

from protocols import opened_protocol
from trio_gemini_live._errors import RemoteProtocolError
from trio_gemini_live._pending_calls import MAX_PENDING, NO_ID, PendingCalls


def test_a_call_id_is_one_call_and_each_call_without_an_id_another() -> None:
    calls = PendingCalls()
    calls.add("c1", "a")
    calls.add(NO_ID, "b")
    calls.add("c1", "a2")  # the same id again: the same call, renamed in place
    calls.add(NO_ID, "b")
    assert len(calls) == 3
    assert calls.ids() == ("c1", NO_ID, NO_ID)
    assert calls.as_dict() == {"c1": "a2", NO_ID: "b"}
    assert "c1" in calls
    assert NO_ID in calls
    assert "c2" not in calls
    assert calls.name_of("c1") == "a2"
    assert calls.name_of("c2") is None


def test_answers_and_cancellations_take_one_call_each() -> None:
    calls = PendingCalls()
    for name in ("a", "b", "a"):
        calls.add(NO_ID, name)
    calls.add("c1", "a")
    assert not calls.answer("c2", "a")  # an unknown id answers nothing
    assert not calls.answer(NO_ID, "zzz")  # nor a name no call without an id has
    assert calls.answer("c1", "other")  # an id is matched by id alone
    assert calls.answer(NO_ID, "b")
    assert calls.without_id() == ["a", "a"]
    assert calls.cancel(NO_ID)
    assert calls.name_of(NO_ID) == "a"
    assert calls.answer(NO_ID, None)  # no name: the oldest
    assert not calls
    assert not calls.cancel(NO_ID)
    calls.add("c3", "x")
    calls.clear()
    assert len(calls) == 0


def test_a_reserved_call_stays_pending_and_no_other_response_takes_it() -> None:
    calls = PendingCalls()
    calls.add("c1", "a")
    calls.add(NO_ID, "b")
    calls.add(NO_ID, "b")
    calls.add(NO_ID, "c")
    first = calls.reserve_all([("c1", "a"), (NO_ID, "b")])
    assert calls.reserved("c1")
    assert not calls.reserve_all([("c1", "a")]).keys  # taken: nothing left for a second
    # Still pending, but a response without an id answers the next of its name.
    assert calls.ids() == ("c1", NO_ID, NO_ID, NO_ID)
    assert calls.without_id() == ["b", "c"]
    assert calls.without_id(reserved=True) == ["b"]
    assert calls.as_dict() == {"c1": "a", NO_ID: "b"}
    second = calls.reserve_all([(NO_ID, "b"), (NO_ID, None)])  # no name: the oldest left
    assert calls.without_id() == []
    assert calls.name_of(NO_ID) == "b"  # none left free: the oldest of them all
    calls.release_all(second)  # not queued: free again
    assert calls.without_id() == ["b", "c"]
    assert calls.settle(first.keys[0], first)
    assert calls.settle(first.keys[1], first)
    assert not calls.reserved("c1")
    assert calls.without_id() == ["b", "c"]
    assert not calls.settle(first.keys[0], first)  # answered once


def test_a_reservation_does_not_outlive_its_call() -> None:
    calls = PendingCalls()
    calls.add("c1", "a")
    calls.add(NO_ID, "b")
    held = calls.reserve_all([("c1", "a"), (NO_ID, "b")])
    assert calls.cancel("c1")  # the server cancelled it meanwhile
    assert not calls.reserved("c1")
    calls.clear()  # a resume: the connection's calls are gone
    calls.add("c1", "a")  # the new connection's calls, under the same id and name
    calls.add(NO_ID, "b")
    again = calls.reserve_all([("c1", "a"), (NO_ID, "b")])
    assert len(again.keys) == 2
    calls.release_all(held)  # the old response's release frees none of them
    assert not any(calls.settle(key, held) for key in held.keys)
    assert calls.reserved("c1")
    assert calls.without_id() == []
    assert all(calls.settle(key, again) for key in again.keys)
    assert not calls


def test_a_reserved_call_without_an_id_cancelled_by_the_server_passes_to_the_next() -> None:
    """The server takes the waiting response as the oldest call of its name it has then."""
    calls = PendingCalls()
    calls.add(NO_ID, "a")
    calls.add(NO_ID, "b")
    calls.add(NO_ID, "a")
    held = calls.reserve_all([(NO_ID, "a")])
    assert calls.cancel(NO_ID)  # the oldest, the one held: the other "a" is held now
    assert calls.without_id() == ["b"]
    assert calls.without_id(reserved=True) == ["a"]
    assert calls.cancel(NO_ID)  # "b" (the oldest left), held by nobody
    assert calls.cancel(NO_ID)  # the second "a": none left, so it waits for the next
    calls.add(NO_ID, "b")  # another name: not its
    calls.add(NO_ID, "a")
    assert calls.without_id() == ["b"]
    assert calls.without_id(reserved=True) == ["a"]
    assert [calls.settle(key, held) for key in held.keys] == [True]
    calls.stop_seeking(held)
    assert calls.ids() == (NO_ID,)


def test_a_waiting_response_takes_no_call_once_queued_given_up_or_after_a_resume() -> None:
    calls = PendingCalls()
    for _ in range(3):
        calls.add(NO_ID, "a")
    queued, given_up, resumed = (calls.reserve_all([(NO_ID, "a")]) for _ in range(3))
    for _ in range(3):
        assert calls.cancel(NO_ID)  # none left to pass to: each seeks the next "a"
    calls.stop_seeking(queued)  # `LiveProtocol.commit`
    calls.release_all(given_up)  # cancelled before it was queued
    calls.add(NO_ID, "a")
    assert calls.without_id(reserved=True) == ["a"]  # taken by the one still waiting
    calls.clear()  # a resume: the new connection's calls are not its
    calls.add(NO_ID, "a")
    assert calls.without_id() == ["a"]
    assert not resumed.seeking


def test_past_max_pending_calls_a_call_is_a_protocol_error() -> None:
    # Unanswered calls from a server that never stops issuing them were held without bound
    # (147 bytes each: 15 MB after 100,000).
    calls = PendingCalls()
    for index in range(MAX_PENDING - 1):
        calls.add(f"c{index}", "f")
    calls.add(NO_ID, "f")
    calls.add("c0", "g")  # a call issued again is no new call
    with pytest.raises(RemoteProtocolError, match=f"more than {MAX_PENDING} tool calls"):
        calls.add("new", "f")
    with pytest.raises(RemoteProtocolError, match=f"more than {MAX_PENDING} tool calls"):
        calls.add(NO_ID, "f")
    assert len(calls) == MAX_PENDING
    assert calls.answer("c1", "f")
    calls.add("new", "f")  # room again


def test_a_server_flooding_unanswered_calls_fails_the_connection() -> None:
    protocol = opened_protocol()
    frames = (
        json.dumps({"toolCall": {"functionCalls": [{"id": f"c{i}", "name": "f"}]}}).encode()
        for i in range(MAX_PENDING + 1)
    )
    with pytest.raises(RemoteProtocolError, match="awaiting a response"):
        for frame in frames:
            protocol.receive_frame(frame)
    assert len(protocol.pending_calls) == MAX_PENDING
