"""Streamed function calls: pieces (`partialArgs`, `willContinue`) assembled into one call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

import strategies as s
from trio_gemini_live import _events as ev
from trio_gemini_live._call_stream import CallStreams, parse_json_path
from trio_gemini_live._errors import RemoteProtocolError
from trio_gemini_live._wire import FunctionCallPart, PartialArg
from trio_gemini_live.emulator._call_pieces import call_pieces


def piece(path: str, **value: Any) -> FunctionCallPart:
    return FunctionCallPart(partial_args=[PartialArg(json_path=path, **value)], will_continue=True)


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("$.location", ("location",)),
        ("$.a.b_2[0]", ("a", "b_2", 0)),
        ('$[\'a b\'][12]["c\\"d"]', ("a b", 12, 'c"d')),
        ("$['it\\'s']", ("it's",)),
        ('$["\\u00e9t\\u00e9"]', ("été",)),
        ("$.été", ("été",)),
    ],
)
def test_json_paths_of_names_and_indexes_are_parsed(path: str, steps: tuple[Any, ...]) -> None:
    assert parse_json_path(path) == steps


@pytest.mark.parametrize(
    "path", ["", "location", "$", "$[0]", "$.a[-1]", "$.a[*]", "$..a", "$.a[1:2]", "$['a", "$.1a"]
)
def test_a_path_that_names_no_one_argument_is_a_remote_protocol_error(path: str) -> None:
    with pytest.raises(RemoteProtocolError, match=r"function call 'c1'.*jsonPath"):
        parse_json_path(path, "c1")


def test_a_plain_call_is_one_function_call_and_opens_nothing() -> None:
    streams = CallStreams()
    call = FunctionCallPart(name="f", id="c1", args={"a": 1})
    assert streams.feed(call, b"sig") == (
        None,
        ev.FunctionCall(call_id="c1", name="f", arguments={"a": 1}, thought_signature=b"sig"),
    )
    assert streams.open_ids == ()


def test_the_pieces_of_a_call_come_as_deltas_then_one_call_with_every_argument() -> None:
    # The shape Vertex streams (vercel/ai #13929): name + willContinue, pieces, then {}.
    streams = CallStreams()
    opened, _ = streams.feed(FunctionCallPart(name="weather", id="c1", will_continue=True))
    assert opened == ev.FunctionCallDelta(call_id="c1", name="weather")
    assert streams.open_ids == ("c1",)
    first, done = streams.feed(piece("$.location", string_value="Boston", will_continue=True))
    assert done is None
    assert first is not None
    assert first.arguments == {"location": "Boston"}
    second, _ = streams.feed(piece("$.location", string_value=", MA"))
    third, _ = streams.feed(piece("$.days[1].hot", bool_value=True))
    assert second is not None
    assert third is not None
    assert second.arguments == {"location": "Boston, MA"}  # a copy: later pieces leave it
    assert third.arguments == {"location": "Boston, MA", "days": [None, {"hot": True}]}
    last, call = streams.feed(FunctionCallPart())
    assert last is None  # `{}` carries nothing: only the call
    assert call == ev.FunctionCall(
        call_id="c1",
        name="weather",
        arguments={"location": "Boston, MA", "days": [None, {"hot": True}]},
    )
    assert streams.open_ids == ()


def test_a_string_replaces_unless_the_piece_before_it_goes_on() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", will_continue=True))
    streams.feed(piece("$.s", string_value="a"))
    streams.feed(piece("$.s", string_value="b"))  # the one before did not go on
    _, call = streams.feed(FunctionCallPart(partial_args=[PartialArg(json_path="$.n")]))
    assert call is not None
    assert call.arguments == {"s": "b"}  # `$.n` had no value: nothing set


def test_numbers_null_and_args_of_the_pieces_are_kept() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c", args={"fixed": []}, will_continue=True))
    streams.feed(piece("$.n", number_value=50))
    streams.feed(piece("$.x", number_value=0.5))
    streams.feed(piece("$.none", null_value=None))  # JSON null: the NullValue as proto3 writes it
    _, call = streams.feed(FunctionCallPart(id="c"))
    assert call is not None
    assert call.arguments == {"fixed": [], "n": 50, "x": 0.5, "none": None}
    assert type(call.arguments["n"]) is int


def test_pieces_go_to_their_call_by_id_else_to_the_call_opened_last() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="a", id="1", will_continue=True), b"s1")
    streams.feed(FunctionCallPart(name="b", id="2", will_continue=True))
    streams.feed(
        FunctionCallPart(
            id="1",
            will_continue=True,
            partial_args=[PartialArg(json_path="$.k", string_value="one")],
        ),
        b"later",
    )
    streams.feed(piece("$.k", string_value="two"))  # no id, no name: the call opened last
    _, two = streams.feed(FunctionCallPart(id="2"))
    _, one = streams.feed(FunctionCallPart(id="1"))
    assert two == ev.FunctionCall(call_id="2", name="b", arguments={"k": "two"})
    # The first signature of the call is its own.
    assert one == ev.FunctionCall(
        call_id="1", name="a", arguments={"k": "one"}, thought_signature=b"s1"
    )


def test_cancel_and_abandon_forget_open_calls() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="a", id="1", will_continue=True))
    streams.feed(FunctionCallPart(name="b", id="2", will_continue=True))
    streams.cancel(("1", "zz"))
    assert streams.open_ids == ("2",)
    assert streams.abandon() == ("2",)
    assert streams.open_ids == ()


def test_an_index_past_the_bound_is_refused_rather_than_allocated() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c", will_continue=True))
    with pytest.raises(RemoteProtocolError, match="index 1000000000"):
        streams.feed(piece("$.a[1000000000]", bool_value=True))


# Any JSON object, empty objects and arrays at any depth included.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    s.text,
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(s.text, inner, max_size=3),
    max_leaves=10,
)


@given(args=st.dictionaries(s.text, _values, max_size=4))
def test_any_arguments_streamed_in_pieces_are_assembled_back(args: dict[str, Any]) -> None:
    # The emulator's pieces (strings split in 8 characters, any key quoted as needed),
    # through the JSON of the wire, make the same arguments again.
    streams = CallStreams()
    events: list[Any] = []
    for part in call_pieces("c1", "f", args):
        wire = json.loads(json.dumps({"functionCall": _builtins(part)}))
        events += streams.feed(_decode(wire["functionCall"]))
    *deltas, call = [event for event in events if event is not None]
    assert call == ev.FunctionCall(call_id="c1", name="f", arguments=args)
    assert all(isinstance(delta, ev.FunctionCallDelta) for delta in deltas)
    assert streams.open_ids == ()


def _builtins(part: FunctionCallPart) -> Any:
    import msgspec

    return msgspec.to_builtins(part)


def _decode(obj: Any) -> FunctionCallPart:
    import msgspec

    return msgspec.json.decode(json.dumps(obj).encode(), type=FunctionCallPart)
