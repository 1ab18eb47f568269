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


def of(call_id: str, path: str, *, more: bool = False, **value: Any) -> FunctionCallPart:
    """A piece of call `call_id`, by id: the last one unless `more`."""
    return FunctionCallPart(
        id=call_id, partial_args=[PartialArg(json_path=path, **value)], will_continue=more
    )


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
    boston = piece("$.location", string_value="Boston", will_continue=True)
    first, done = streams.feed(boston)
    assert done is None
    assert first == ev.FunctionCallDelta(
        call_id="c1", name="weather", partial_args=tuple(boston.partial_args or ())
    )
    second, _ = streams.feed(piece("$.location", string_value=", MA"))
    third, _ = streams.feed(piece("$.days[1].hot", bool_value=True, will_continue=False))
    assert second is not None
    assert third is not None
    # Each delta is its own piece only.
    assert [p.string_value for p in second.partial_args] == [", MA"]
    assert [p.json_path for p in third.partial_args] == ["$.days[1].hot"]
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
    assert streams.cancel(("1", "zz")) == ["1"]
    assert streams.open_ids == ("2",)
    assert streams.abandon() == ("2",)
    assert streams.open_ids == ()


def test_an_index_past_the_bound_is_refused_rather_than_allocated() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c", will_continue=True))
    with pytest.raises(RemoteProtocolError, match="index 1000000000"):
        streams.feed(piece("$.a[1000000000]", bool_value=True))


def test_a_path_deeper_than_64_steps_is_refused_before_anything_is_built() -> None:
    # 1000 steps (3 KB) used to end in a raw RecursionError out of the session.
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c", will_continue=True))
    _, call = streams.feed(of("c", "$.a" + "[0]" * 63, bool_value=True))
    assert call is not None  # 64 steps: taken
    streams.feed(FunctionCallPart(name="f", id="d", will_continue=True))
    for depth in (64, 1000):
        with pytest.raises(RemoteProtocolError, match=r"function call 'd'.*more than 64 steps"):
            streams.feed(of("d", "$.a" + "[0]" * depth, bool_value=True))


def test_the_array_items_one_call_may_create_are_bounded() -> None:
    # Each `[4096]` step pads a list of 4097: an 18 KB path used to take 115 MB.
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c", will_continue=True))
    with pytest.raises(
        RemoteProtocolError, match=r"function call 'c' \('f'\).*'\$\.a\[4096\].*65536 array items"
    ):
        streams.feed(piece("$.a" + "[4096]" * 20, null_value=None))
    # Spread over many pieces and arguments, the bound is the same.
    streams.feed(FunctionCallPart(name="f", id="e", will_continue=True))
    with pytest.raises(RemoteProtocolError, match="65536 array items"):
        for n in range(20):
            streams.feed(of("e", f"$.a{n}[4000]", bool_value=True, more=True))


class _NoCopy:
    """An argument value that fails any copy of it."""

    def __deepcopy__(self, memo: object) -> Any:
        raise AssertionError("a delta copied the arguments so far")

    def __copy__(self) -> Any:
        raise AssertionError("a delta copied the arguments so far")


def test_a_delta_carries_its_own_piece_and_copies_nothing_before_it() -> None:
    # Each delta used to deep-copy every argument so far: 3002 pieces took 4.9 s.
    streams = CallStreams()
    kept = _NoCopy()
    opened, _ = streams.feed(
        FunctionCallPart(name="f", id="c", args={"kept": kept}, will_continue=True)
    )
    assert opened == ev.FunctionCallDelta(call_id="c", name="f", args={"kept": kept})
    for n in range(3):
        step = piece(f"$.rows[{n}].id", number_value=n)
        delta, _ = streams.feed(step)
        assert delta == ev.FunctionCallDelta(
            call_id="c", name="f", partial_args=tuple(step.partial_args or ())
        )
    _, call = streams.feed(FunctionCallPart(id="c"))
    assert call is not None
    assert call.arguments == {"kept": kept, "rows": [{"id": 0}, {"id": 1}, {"id": 2}]}


def test_two_streams_without_ids_stay_apart_and_each_becomes_its_call() -> None:
    # The second used to replace the first, which then never completed nor was cancelled.
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", will_continue=True))
    streams.feed(piece("$.a", string_value="x"))
    streams.feed(FunctionCallPart(name="g", will_continue=True))
    assert streams.open_ids == ("", "")
    _, g = streams.feed(FunctionCallPart())  # no id, no name: the call opened last
    _, f = streams.feed(FunctionCallPart())
    assert g == ev.FunctionCall(call_id="", name="g")
    assert f == ev.FunctionCall(call_id="", name="f", arguments={"a": "x"})
    assert streams.open_ids == ()


def test_a_whole_call_without_an_id_is_never_merged_into_a_stream() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", will_continue=True))
    streams.feed(piece("$.city", string_value="Bern"))
    plain = streams.feed(FunctionCallPart(name="f", args={"city": "Oslo"}))
    assert plain == (None, ev.FunctionCall(call_id="", name="f", arguments={"city": "Oslo"}))
    assert streams.open_ids == ("",)
    _, streamed = streams.feed(FunctionCallPart())
    assert streamed == ev.FunctionCall(call_id="", name="f", arguments={"city": "Bern"})


def test_a_piece_repeating_the_name_without_the_id_continues_that_call() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c1", will_continue=True))
    delta, _ = streams.feed(
        FunctionCallPart(
            name="f", will_continue=True, partial_args=[PartialArg(json_path="$.a", number_value=1)]
        )
    )
    assert delta is not None
    assert delta.call_id == "c1"
    _, call = streams.feed(FunctionCallPart())
    assert call == ev.FunctionCall(call_id="c1", name="f", arguments={"a": 1})
    assert streams.open_ids == ()


@pytest.mark.parametrize(
    "stray",
    [
        FunctionCallPart(),  # a late last piece
        FunctionCallPart(id="c1"),
        FunctionCallPart(id="zz", partial_args=[PartialArg(json_path="$.a", number_value=1)]),
        FunctionCallPart(id="zz", args={"a": 1}),  # a whole call without a name
        FunctionCallPart(name="f", id="c1", will_continue=True),  # the rest of an ended call
    ],
)
def test_a_piece_that_continues_no_call_and_cannot_be_one_is_dropped(
    stray: FunctionCallPart, caplog: pytest.LogCaptureFixture
) -> None:
    # They used to become FunctionCall(name="") pending for ever.
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c1", will_continue=True))
    streams.cancel(("c1",))
    assert streams.feed(stray) == (None, None)
    assert streams.open_ids == ()
    assert "dropped a function call piece" in caplog.text


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
