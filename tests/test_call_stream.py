"""Streamed function calls: pieces (`partialArgs`, `willContinue`) assembled into one call."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given, strategies as st

import strategies as s
from protocols import opened_protocol
from trio_gemini_live import _events as ev
from trio_gemini_live._call_stream import CallStreams, parse_json_path
from trio_gemini_live._errors import RemoteProtocolError
from trio_gemini_live._wire import FunctionCallPart, PartialArg, Setup
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


def test_a_delta_keeps_its_args_when_later_pieces_fill_them_in() -> None:
    # The arguments shared the nested objects of the first delta's `args` (the emulator's
    # skeleton of empty objects and arrays): later pieces wrote into the delivered event.
    streams = CallStreams()
    skeleton = {"stops": [None, {}], "meta": {"e": {}}}
    opened, _ = streams.feed(
        FunctionCallPart(name="f", id="c", args=copy.deepcopy(skeleton), will_continue=True)
    )
    streams.feed(of("c", "$.stops[0].city", string_value="Zurich", more=True))
    streams.feed(of("c", "$.stops[1].days", number_value=2, more=True))
    _, call = streams.feed(of("c", "$.meta.e.k", bool_value=True))
    assert opened is not None
    assert opened.args == skeleton
    assert call is not None
    assert call.arguments == {
        "stops": [{"city": "Zurich"}, {"days": 2}],
        "meta": {"e": {"k": True}},
    }


def _args(path: str, **value: Any) -> PartialArg:
    return PartialArg(json_path=path, **value)


@pytest.mark.parametrize(
    ("pieces", "problem"),
    [
        (
            [_args("$.a[0]", number_value=1), _args("$.a.b", number_value=2)],
            "'$.a.b': an earlier piece made '$.a' an array, not an object",
        ),
        (
            [_args("$.a.b", number_value=1), _args("$.a[0]", number_value=2)],
            "'$.a[0]': an earlier piece made '$.a' an object, not an array",
        ),
        (
            [_args("$['a b']", string_value="x"), _args('$["a b"].c', number_value=1)],
            """made '$["a b"]' a string, not an object""",
        ),
        (
            [_args("$.a.b", number_value=1), _args("$.a", number_value=2)],
            "'$.a': a number would replace an object an earlier piece made",
        ),
        (
            [_args("$.a", bool_value=True), _args("$.a[0]", bool_value=True)],
            "made '$.a' a boolean, not an array",
        ),
        (
            [_args("$.a", string_value="Zür", will_continue=True), _args("$.a", number_value=5)],
            "'$.a': a number comes for a string said to go on",
        ),
        (
            [_args("$.a", string_value="x", number_value=1, bool_value=True)],
            "'$.a': the piece sets stringValue, numberValue, boolValue: one value at most",
        ),
        (
            [_args("$.a", bool_value=False, null_value=None)],
            "sets boolValue, nullValue",
        ),
    ],
)
def test_pieces_that_conflict_are_a_remote_protocol_error(
    pieces: list[PartialArg], problem: str
) -> None:
    # The later piece used to replace what the earlier one made (or a oneof's other
    # values were dropped): a call with arguments no stream of pieces describes.
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c", will_continue=True))
    with pytest.raises(
        RemoteProtocolError, match=r"function call 'c' \('f'\).*" + re.escape(problem)
    ):
        for one in pieces:
            streams.feed(FunctionCallPart(id="c", partial_args=[one], will_continue=True))


def test_paths_through_null_and_strings_that_end_are_no_conflict() -> None:
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c", args={"a": None}, will_continue=True))
    streams.feed(of("c", "$.a.b", number_value=1, more=True))  # null holds no value to lose
    streams.feed(of("c", "$.s", string_value="a", will_continue=True, more=True))
    streams.feed(of("c", "$.s", string_value="b", more=True))
    streams.feed(of("c", "$.s", number_value=3, more=True))  # the string ended: replaced
    _, call = streams.feed(FunctionCallPart(id="c"))
    assert call is not None
    assert call.arguments == {"a": {"b": 1}, "s": 3}


class _Counted(str):
    """A string part that counts the characters copied by adding strings to it."""

    copied = 0

    def __add__(self, other: str) -> str:
        _Counted.copied += len(self) + len(other)
        return str.__add__(self, other)

    def __radd__(self, other: str) -> str:
        _Counted.copied += len(self) + len(other)
        return str.__add__(other, self)


@pytest.mark.parametrize("ended", [True, False])
def test_a_string_in_many_pieces_is_assembled_in_linear_time(ended: bool) -> None:
    # Each part was added to the string so far: 80000 parts of 8 characters took 7.6 s.
    _Counted.copied = 0
    streams = CallStreams()
    streams.feed(FunctionCallPart(name="f", id="c", will_continue=True))
    parts = 2000
    for n in range(parts):
        goes_on = n < parts - 1 or not ended
        delta, _ = streams.feed(
            of("c", "$.s", string_value=_Counted("abcdefgh"), will_continue=goes_on, more=True)
        )
        assert delta is not None
        assert [p.string_value for p in delta.partial_args] == ["abcdefgh"]  # its part only
    _, call = streams.feed(FunctionCallPart(id="c"))  # ends a string still going on too
    assert call is not None
    assert call.arguments == {"s": "abcdefgh" * parts}
    assert _Counted.copied <= 2 * 8 * parts  # was 16 million (n^2)


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


def test_the_array_items_no_piece_sets_are_bounded_across_the_calls_of_a_connection() -> None:
    # Per call only, 216 kB of frames (calls of 16 pieces each naming `$.aK[4095]`) took
    # 66 MB, held by the events not read yet.
    streams = CallStreams()
    pieces = [PartialArg(json_path=f"$.a{k}[4095]", number_value=1) for k in range(16)]
    _, call = streams.feed(FunctionCallPart(name="f", id="c0", partial_args=pieces))
    assert call is not None  # 16 * 4095 items no piece sets: taken
    with pytest.raises(
        RemoteProtocolError,
        match=r"function call 'c1' \('f'\).*'\$\.a0\[4095\]'.*more than 65536 array items "
        "that no piece sets",
    ):
        streams.feed(FunctionCallPart(name="f", id="c1", partial_args=pieces))
    # An array streamed in order pads nothing, however many calls stream one.
    streams = CallStreams()
    for n in range(20):
        in_order = [PartialArg(json_path=f"$.a[{i}]", number_value=i) for i in range(4000)]
        _, call = streams.feed(FunctionCallPart(name="f", id=f"c{n}", partial_args=in_order))
        assert call is not None
    assert streams.padding == 0


def test_an_array_streamed_out_of_order_uses_up_no_budget_once_every_item_is_set() -> None:
    # Each item set in the end, last first: every call counted 4095 padding items, and the
    # 17th failed the connection though no item was left unset.
    streams = CallStreams()
    backwards = [PartialArg(json_path=f"$.a[{i}]", number_value=i) for i in reversed(range(4096))]
    for n in range(20):
        _, call = streams.feed(FunctionCallPart(name="f", id=f"c{n}", partial_args=backwards))
        assert call is not None
        assert call.arguments == {"a": list(range(4096))}
    assert streams.padding == 0
    # An item no piece sets is null, one set to null too; only the first counts.
    pieces = [
        PartialArg(json_path="$.b[3]", bool_value=True),
        PartialArg(json_path="$.b[1]", null_value=None),
        PartialArg(json_path="$.b[1]", number_value=1),
        PartialArg(json_path="$.c[1].d", string_value="x"),
    ]
    _, call = streams.feed(FunctionCallPart(name="f", id="c", partial_args=pieces))
    assert call is not None
    assert call.arguments == {"b": [None, 1, None, True], "c": [None, {"d": "x"}]}
    assert streams.padding == 3


def test_the_budget_of_items_no_piece_sets_starts_again_on_the_next_connection() -> None:
    streams = CallStreams()
    far = [PartialArg(json_path=f"$.a{k}[4095]", number_value=1) for k in range(16)]
    streams.feed(FunctionCallPart(name="f", id="c0", partial_args=far))
    streams.feed(FunctionCallPart(name="f", id="c1", will_continue=True))
    assert streams.new_connection() == ("c1",)
    _, call = streams.feed(FunctionCallPart(name="f", id="c2", partial_args=far))
    assert call is not None


def test_a_resume_gives_the_new_connection_a_budget_of_its_own() -> None:
    protocol = opened_protocol()
    far = [{"jsonPath": f"$.a{k}[4095]", "numberValue": 1} for k in range(16)]

    def call(call_id: str) -> bytes:
        return json.dumps(
            {"toolCall": {"functionCalls": [{"id": call_id, "name": "f", "partialArgs": far}]}}
        ).encode()

    protocol.receive_frame(call("c0"))
    protocol.reset_for_resume()
    protocol.start(Setup(model="models/m"))
    protocol.receive_frame(b'{"setupComplete": {}}')
    events = protocol.receive_frame(call("c1"))
    assert [type(event) for event in events] == [ev.FunctionCallDelta, ev.FunctionCall]
    with pytest.raises(RemoteProtocolError, match="that no piece sets"):
        protocol.receive_frame(call("c2"))


HUGE = 1_000_000


@pytest.mark.parametrize(
    "feed",
    [
        # An id and a name of a megabyte, in a path's error and in the bound on open calls.
        lambda streams: streams.feed(
            FunctionCallPart(
                name="n" * HUGE,
                id="i" * HUGE,
                partial_args=[PartialArg(json_path="$.a[9999]", bool_value=True)],
            )
        ),
        lambda streams: [
            streams.feed(FunctionCallPart(name="n" * HUGE, id=f"{k}" * HUGE, will_continue=True))
            for k in range(200)
        ],
        # An id of a megabyte in the error of a path that cannot be read (the path was cut).
        lambda streams: streams.feed(
            FunctionCallPart(
                name="f",
                id="i" * HUGE,
                partial_args=[PartialArg(json_path="$.a[*]", bool_value=True)],
            )
        ),
    ],
)
def test_errors_quote_the_servers_strings_cut_short(feed: Any) -> None:
    # They were quoted whole: a megabyte id made a megabyte error, and log line.
    with pytest.raises(RemoteProtocolError) as error:
        feed(CallStreams())
    assert len(str(error.value)) < 1000
    assert f"({HUGE} characters)" in str(error.value)


def test_dropped_pieces_are_warned_of_once_per_connection_with_the_id_cut_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each piece was a warning of its own, quoting its id whole (a megabyte each).
    streams = CallStreams()
    caplog.set_level("DEBUG", logger="trio_gemini_live.session")
    for _ in range(3):
        assert streams.feed(of("i" * HUGE, "$.a", bool_value=True)) == (None, None)
    assert [record.levelname for record in caplog.records] == ["WARNING", "DEBUG", "DEBUG"]
    assert all(len(record.getMessage()) < 1000 for record in caplog.records)
    assert f"({HUGE} characters)" in caplog.records[0].getMessage()
    streams.new_connection()
    streams.feed(of("x", "$.a", bool_value=True))
    assert caplog.records[-1].levelname == "WARNING"
