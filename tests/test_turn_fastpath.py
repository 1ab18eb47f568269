"""The turn-end fast path gives exactly what the ordinary msgspec path gives.

The ordinary path learns the skeleton of a `turnComplete` + `usageMetadata` frame (`learn`);
`decode_turn_end` then reads frames with that skeleton by decoding their usage object alone,
or returns None ("take the ordinary path"). Whatever it does, `decode_server` and
`LiveProtocol.receive_frame` must produce the same message, events and state, or the same
`RemoteProtocolError`, as msgspec alone. Frames come in pairs that differ in their usage, as
the turn ends of a session do: the first may teach a skeleton, which must then read the
second exactly, or refuse it.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from unittest import mock

import msgspec
import pytest
from hypothesis import example, given, strategies as st

from protocols import Outcome, forgotten, opened_protocol, outcome
from strategies import budget
from trio_gemini_live import _codec, _turn_fastpath as turnpath
from trio_gemini_live._codec import decode_server
from trio_gemini_live._errors import RemoteProtocolError
from trio_gemini_live._events import ToolCallCancellation, TurnComplete
from trio_gemini_live._turn_fastpath import turn_end_message
from trio_gemini_live._wire import ModalityTokenCount, UsageMetadata

USAGE = {
    "promptTokenCount": 515,
    "responseTokenCount": 31,
    "totalTokenCount": 546,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 515}],
    "responseTokensDetails": [{"modality": "TEXT", "tokenCount": 31}],
}


def pretty(message: dict[str, Any]) -> bytes:
    """Serialise like Google's server: 2-space pretty JSON + newline."""
    return (json.dumps(message, indent=2) + "\n").encode()


def google(usage: dict[str, Any]) -> bytes:
    """A turn's end as Google sends it (live_ML_Dev_should_send_text_in_async_session)."""
    return pretty({"serverContent": {"turnComplete": True}, "usageMetadata": usage})


def with_middle(middle: bytes) -> bytes:
    """A Google turn-end frame with raw bytes in place of its usage object."""
    return google({"@": 0}).replace(b'{\n    "@": 0\n  }', middle)


def ordinary(frame: bytes) -> Outcome:
    """What msgspec alone gives: no skeleton known, none learned.

    (`forgotten` is what isolates it: whatever is learned inside is dropped when
    the patch ends. The `learn_turn_end` patch has no effect on the compiled build.)
    """
    with (
        forgotten(turnpath.remembered),
        mock.patch.object(_codec, "learn_turn_end", return_value=None),
    ):
        return outcome(frame)


def events_of(frame: bytes, *, fast: bool, before: tuple[bytes, ...] = ()) -> Outcome:
    """The events (or error) `LiveProtocol.receive_frame` gives, and the state it leaves.

    `before`: frames the protocol receives first (the ordinary way). With `fast`, the frame
    is offered to the protocol's own copy of the fast path with the skeletons learned so
    far; without, none is known and none is learned.
    """
    protocol = opened_protocol()
    with forgotten(turnpath.remembered):
        for earlier in before:
            protocol.receive_frame(earlier)
    with contextlib.ExitStack() as stack:
        if not fast:
            stack.enter_context(forgotten(turnpath.remembered))
            stack.enter_context(mock.patch.object(_codec, "learn_turn_end", return_value=None))
        try:
            events = protocol.receive_frame(frame)
        except RemoteProtocolError as exc:
            return ("error", str(exc))
    state = (
        protocol.generating,
        protocol.turn_id,
        protocol.frames_received,
        protocol._turn_interrupted,
        protocol.pending_calls.ids(),
    )
    return ("ok", (events, state, protocol.streaming_calls))


def assert_same(frame: bytes, before: tuple[bytes, ...] = ()) -> bool:
    """The fast path agrees with the ordinary path on `frame`; say whether it read it.

    Both copies of it: `decode_server`'s and the protocol's, written out in `receive_frame`.
    """
    expected = ordinary(frame)
    direct = turnpath.decode_turn_end(frame)
    if direct is not None:
        assert expected == ("ok", turn_end_message(direct))
    # First, with the skeletons known before this frame (the ordinary path may learn it).
    assert events_of(frame, fast=True, before=before) == events_of(frame, fast=False, before=before)
    got = outcome(frame)  # may learn the skeleton of this frame
    assert got == expected
    if got[0] == "ok":
        assert msgspec.json.encode(got[1]) == msgspec.json.encode(expected[1])
    # And with what was learned above.
    assert events_of(frame, fast=True, before=before) == events_of(frame, fast=False, before=before)
    return direct is not None


def assert_same_all(*frames: bytes) -> list[bool]:
    """`assert_same` on each frame in turn, starting with no skeleton learned."""
    with forgotten(turnpath.remembered):
        return [assert_same(frame) for frame in frames]


# --- the fast path is taken ---------------------------------------------------------------------


def test_google_turn_ends_are_learned_then_read_without_parsing_the_frame() -> None:
    with forgotten(turnpath.remembered):
        first = decode_server(google(USAGE))
        with mock.patch.object(_codec, "_decoder") as decoder:
            second = decode_server(google({**USAGE, "responseTokenCount": 38}))
        decoder.decode.assert_not_called()
    assert first == turn_end_message(msgspec.convert(USAGE, UsageMetadata))
    assert second.usage_metadata is not None
    assert second.usage_metadata.response_token_count == 38
    assert second.usage_metadata.prompt_tokens_details == [ModalityTokenCount("TEXT", 515)]


def test_recorded_turn_ends_take_the_fast_path() -> None:
    """The two turn ends of live_ML_Dev_should_send_text_in_async_session, byte for byte."""
    recorded = [
        google(USAGE),
        google(
            {
                **USAGE,
                "responseTokenCount": 38,
                "totalTokenCount": 553,
                "responseTokensDetails": [{"modality": "TEXT", "tokenCount": 38}],
            }
        ),
    ]
    assert assert_same_all(*recorded) == [False, True]


def test_receive_frame_gives_the_ordinary_events_and_state() -> None:
    interrupted = pretty({"serverContent": {"interrupted": True}})
    answer = pretty({"serverContent": {"outputTranscription": {"text": "hi"}}})
    vertex = {"promptTokenCount": 5, "candidatesTokenCount": 7, "totalTokenCount": 12}
    frames = [
        google(USAGE),
        answer,
        google({**USAGE, "totalTokenCount": 1}),
        interrupted,
        google({"totalTokenCount": 2}),  # after barge-in: `interrupted=True`
        google(vertex),  # Vertex's names: `response_token_count` filled in
    ]
    fast, slow = opened_protocol(), opened_protocol()
    with forgotten(turnpath.remembered):
        got = [fast.receive_frame(frame) for frame in frames]
        assert turnpath.decode_turn_end(frames[-1]) is not None  # later ones took it
    with forgotten(turnpath.remembered):
        expected = []
        for frame in frames:
            slow.frames_received += 1
            expected.append(slow.receive_message(ordinary(frame)[1]))
    assert got == expected
    ends = [events[0] for events in got if isinstance(events[0], TurnComplete)]
    assert [end.turn_id for end in ends] == [1, 2, 3, 4]
    assert [end.interrupted for end in ends] == [False, False, True, False]
    assert ends[-1].usage is not None
    assert ends[-1].usage.response_token_count == 7
    state = (fast.generating, fast.turn_id, fast.frames_received, fast.last_consumed_index)
    assert state == (slow.generating, slow.turn_id, slow.frames_received, slow.last_consumed_index)


def test_a_turn_end_with_a_streamed_call_open_takes_the_ordinary_path() -> None:
    """The turn's end abandons the call (`reason="incomplete"`): the fast path leaves it be."""
    streaming = pretty(
        {"toolCall": {"functionCalls": [{"id": "c1", "name": "f", "willContinue": True}]}}
    )
    with forgotten(turnpath.remembered):
        decode_server(google(USAGE))  # the skeleton is known
        assert assert_same(google({"totalTokenCount": 9}), before=(streaming,))
        got = events_of(google({"totalTokenCount": 9}), fast=True, before=(streaming,))
    events = got[1][0]
    assert [type(event) for event in events] == [ToolCallCancellation, TurnComplete]
    assert events[0].ids == ("c1",)
    assert events[0].reason == "incomplete"


# --- the ordinary path wherever it cannot prove the frame -----------------------------------------

MIDDLES = {
    "a second key after the usage": b'{"totalTokenCount": 1}, "goAway": {"timeLeft": "1s"}',
    "an unknown key after the usage": b'{"totalTokenCount": 1}, "future": 1',
    "not an object": b'"usage"',
    "null": b"null",
    "a wrong type": b'{"totalTokenCount": "many"}',
    "broken JSON": b'{"totalTokenCount": 1',
    "nothing": b"",
    "bad UTF-8": b'{"trafficType": "\xff"}',
    # Past the recursion limits of every Python (the C one msgspec meets on 3.12 and later
    # is far above the 1000 of 3.11's).
    "nested too deeply": b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}


@pytest.mark.parametrize("name", MIDDLES)
def test_a_middle_it_cannot_prove_takes_the_ordinary_path(name: str) -> None:
    frame = with_middle(MIDDLES[name])
    assert assert_same_all(google(USAGE), frame) == [False, False]


OTHER_TURN_ENDS = {
    "usage first": pretty({"usageMetadata": USAGE, "serverContent": {"turnComplete": True}}),
    "an unknown key in serverContent": pretty(
        {"serverContent": {"turnComplete": True, "future": "x"}, "usageMetadata": USAGE}
    ),
    "an unknown key first in serverContent": json.dumps(
        {"serverContent": {"future": "x", "turnComplete": True}, "usageMetadata": USAGE}
    ).encode(),
    "a reason": pretty(
        {
            "serverContent": {"turnComplete": True, "turnCompleteReason": "NEED_MORE_INPUT"},
            "usageMetadata": USAGE,
        }
    ),
    "interrupted too": pretty(
        {"serverContent": {"turnComplete": True, "interrupted": True}, "usageMetadata": USAGE}
    ),
    "no usage": pretty({"serverContent": {"turnComplete": True}}),
    "turnComplete false": pretty(
        {"serverContent": {"turnComplete": False}, "usageMetadata": USAGE}
    ),
    "a third key": pretty(
        {
            "serverContent": {"turnComplete": True},
            "usageMetadata": USAGE,
            "goAway": {"timeLeft": "5s"},
        }
    ),
}


@pytest.mark.parametrize("name", OTHER_TURN_ENDS)
def test_only_skeletons_it_can_prove_are_learned(name: str) -> None:
    with forgotten(turnpath.remembered):
        assert_same(OTHER_TURN_ENDS[name])
        assert turnpath.remembered.skeletons == ()


def test_a_learned_skeleton_reads_no_other_kind_of_frame() -> None:
    assert assert_same_all(google(USAGE), *OTHER_TURN_ENDS.values()) == [False] * 9


_USAGES = st.fixed_dictionaries(
    {},
    optional={
        "promptTokenCount": st.integers(0, 2**31),
        "responseTokenCount": st.integers(0, 2**31),
        "candidatesTokenCount": st.integers(0, 2**31),
        "totalTokenCount": st.integers(-1, 2**31) | st.just("1"),
        "trafficType": st.text(max_size=5),
        "promptTokensDetails": st.lists(
            st.fixed_dictionaries(
                {"modality": st.sampled_from(["AUDIO", "TEXT"]), "tokenCount": st.integers(0, 9)}
            ),
            max_size=2,
        ),
        "future": st.booleans(),
    },
)


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """Two turn-end-like frames that differ in their usage, with random companions and spacing."""
    content: dict[str, Any] = {"turnComplete": True}
    if draw(st.integers(0, 4)) == 0:
        content[draw(st.sampled_from(["interrupted", "generationComplete", "future"]))] = True
    message: dict[str, Any] = {"serverContent": content, "usageMetadata": "@U@"}
    if draw(st.integers(0, 5)) == 0:
        message = {"usageMetadata": "@U@", "serverContent": content}
    if draw(st.integers(0, 5)) == 0:
        message["goAway"] = {"timeLeft": "1s"}
    indent = draw(st.sampled_from([2, 2, None, 0, 4]))
    separators = draw(st.sampled_from([(",", ": "), (",", ":"), (", ", ": ")]))
    text = json.dumps(message, indent=indent, separators=separators)

    def spelled(usage: dict[str, Any]) -> bytes:
        value = json.dumps(usage, indent=indent, separators=separators)
        return text.replace('"@U@"', value).encode()

    return spelled(draw(_USAGES)), spelled(draw(_USAGES))


@budget(6)
@given(pair=_pairs())
@example(pair=(google(USAGE), with_middle(b'{"totalTokenCount": 1}}, "x": {"y": 1')))
def test_generated_frames_give_what_the_ordinary_path_gives(pair: tuple[bytes, bytes]) -> None:
    assert_same_all(*pair, pair[0])


@budget(2)
@given(pairs=st.lists(_pairs(), min_size=1, max_size=4))
def test_learned_skeletons_never_change_another_frame(pairs: list[tuple[bytes, bytes]]) -> None:
    assert_same_all(google(USAGE), *(frame for pair in pairs for frame in pair))


def test_past_the_limit_skeletons_are_forgotten_and_learned_again() -> None:
    indents = [None, 0, 1, 2, 3, 4]  # six skeletons: more than are kept
    frames = [
        json.dumps(
            {"serverContent": {"turnComplete": True}, "usageMetadata": {"totalTokenCount": n}},
            indent=indent,
        ).encode()
        for indent in indents
        for n in (1, 2)
    ]
    with forgotten(turnpath.remembered):
        taken = []
        for frame in frames:
            taken.append(assert_same(frame))
            assert len(turnpath.remembered.skeletons) <= turnpath.remembered.limit
    assert taken == [False, True] * len(indents)
