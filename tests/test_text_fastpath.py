"""The text fast path gives exactly what the ordinary msgspec path gives.

The ordinary path learns the skeleton of a transcript or text frame (`learn`); `decode_text`
then reads frames with that skeleton by slicing out their string, or returns None ("take
the ordinary path"). Whatever it does, `decode_server` and `LiveProtocol.receive_frame` must
produce the same message, events and state, or the same `RemoteProtocolError`, as msgspec
alone. Frames come in pairs that differ in their text, as transcript frames do: the first
may teach a skeleton, which must then read the second exactly, or refuse it.
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
from trio_gemini_live import _codec, _text_fastpath as textpath
from trio_gemini_live._codec import decode_server
from trio_gemini_live._errors import RemoteProtocolError
from trio_gemini_live._events import InputTranscription, OutputTranscription, TextDelta
from trio_gemini_live._skeleton import string_slot
from trio_gemini_live._text_fastpath import INPUT, MODEL, OUTPUT, text_message
from trio_gemini_live._wire import WordInfo


def pretty(message: dict[str, Any]) -> bytes:
    """Serialise like Google's server: 2-space pretty JSON + newline, UTF-8 as is."""
    return (json.dumps(message, indent=2, ensure_ascii=False) + "\n").encode()


def google(text: str, kind: int = OUTPUT, role: str | None = None) -> bytes:
    """A frame as Google sends it, holding only `text` as the text of `kind`.

    `role`: Vertex's text frames say `"role": "model"`; the Gemini API's have no role.
    """
    if kind == MODEL:
        turn: dict[str, Any] = {"role": role} if role is not None else {}
        content: dict[str, Any] = {"modelTurn": {**turn, "parts": [{"text": text}]}}
    else:
        key = "outputTranscription" if kind == OUTPUT else "inputTranscription"
        content = {key: {"text": text}}
    return pretty({"serverContent": content})


def with_middle(template: bytes, middle: bytes) -> bytes:
    """`template` (holding the text `@M@`) with raw bytes in place of the text."""
    return template.replace(b"@M@", middle)


def ordinary(frame: bytes) -> Outcome:
    """What msgspec alone gives: no skeleton known, none learned.

    (`forgotten` is what isolates it: whatever is learned inside is dropped when
    the patch ends. The `learn_text` patch has no effect on the compiled build.)
    """
    with (
        forgotten(textpath.remembered),
        mock.patch.object(_codec, "learn_text", return_value=None),
    ):
        return outcome(frame)


def events_of(frame: bytes, *, fast: bool) -> Outcome:
    """The events (or error) `LiveProtocol.receive_frame` gives, and the state it leaves.

    With `fast`, the frame is offered to the protocol's own copy of the text fast path
    (`decode_text` written out in `receive_frame`) with the skeletons learned so far;
    without, none is known and none is learned.
    """
    protocol = opened_protocol()
    with contextlib.ExitStack() as stack:
        if not fast:
            stack.enter_context(forgotten(textpath.remembered))
            stack.enter_context(mock.patch.object(_codec, "learn_text", return_value=None))
        try:
            events = protocol.receive_frame(frame)
        except RemoteProtocolError as exc:
            return ("error", str(exc))
    return ("ok", (events, protocol.generating, protocol.turn_id, protocol.frames_received))


def assert_same(frame: bytes) -> bool:
    """The fast path agrees with the ordinary path on `frame`; say whether it read it.

    Both copies of it: `decode_server`'s and the protocol's, written out in `receive_frame`.
    """
    expected = ordinary(frame)
    direct = textpath.decode_text(frame)
    if direct is not None:
        assert expected == ("ok", text_message(*direct))
    # First, with the skeletons known before this frame (the ordinary path may learn it).
    assert events_of(frame, fast=True) == events_of(frame, fast=False)
    got = outcome(frame)  # may learn the skeleton of this frame
    assert got == expected
    if got[0] == "ok":
        assert msgspec.json.encode(got[1]) == msgspec.json.encode(expected[1])
    # And with what was learned above.
    assert events_of(frame, fast=True) == events_of(frame, fast=False)
    return direct is not None


def assert_same_all(*frames: bytes) -> list[bool]:
    """`assert_same` on each frame in turn, starting with no skeleton learned."""
    with forgotten(textpath.remembered):
        return [assert_same(frame) for frame in frames]


# --- the fast path is taken ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", [OUTPUT, INPUT, MODEL])
def test_google_text_frames_are_learned_then_read_without_json(kind: int) -> None:
    with forgotten(textpath.remembered):
        assert decode_server(google(" Hello", kind)) == text_message(" Hello", kind)
        with mock.patch.object(_codec, "_decoder") as decoder:
            second = decode_server(google(" can you hear me? Grüße, 東京 😀", kind))
        decoder.decode.assert_not_called()
    assert second == text_message(" can you hear me? Grüße, 東京 😀", kind)


def test_vertex_text_answers_with_their_role_are_read_without_json() -> None:
    with forgotten(textpath.remembered):
        assert decode_server(google("a", MODEL, "model")) == text_message("a", MODEL, "model")
        assert decode_server(google("b", MODEL)) == text_message("b", MODEL)  # Gemini API's
        with mock.patch.object(_codec, "_decoder") as decoder:
            vertex = decode_server(google(" Vertex", MODEL, "model"))
            gemini = decode_server(google(" Gemini", MODEL))
        decoder.decode.assert_not_called()
    assert vertex == text_message(" Vertex", MODEL, "model")
    assert vertex.server_content is not None
    assert vertex.server_content.model_turn is not None
    assert vertex.server_content.model_turn.role == "model"
    assert gemini == text_message(" Gemini", MODEL)


def test_every_kind_keeps_its_own_skeleton() -> None:
    kinds = [OUTPUT, INPUT, MODEL]
    with forgotten(textpath.remembered):
        for kind in kinds:
            decode_server(google("first", kind))
        for kind in kinds * 2:
            assert textpath.decode_text(google("again", kind)) == ("again", kind, None)


def test_recorded_transcripts_take_the_fast_path() -> None:
    """Two frames of a recorded session (live_ML_Dev_should_receive_transcription_...)."""
    head = b'{\n  "serverContent": {\n    "outputTranscription": {\n      "text": '
    recorded = [
        head + b'"We"\n    }\n  }\n}\n',
        head + b'" could talk about anything you like."\n    }\n  }\n}\n',
    ]
    assert assert_same_all(*recorded) == [False, True]


@pytest.mark.parametrize("kind", [OUTPUT, INPUT, MODEL])
def test_receive_frame_gives_the_ordinary_events_and_state(kind: int) -> None:
    frames = [google("one", kind), google(" two", kind), google(" three", kind)]
    fast, slow = opened_protocol(), opened_protocol()
    with forgotten(textpath.remembered):
        got = [fast.receive_frame(frame) for frame in frames]
        assert textpath.decode_text(frames[-1]) is not None  # the last two took the shortcut
    expected = []
    for frame in frames:
        slow.frames_received += 1
        expected.append(slow.receive_message(ordinary(frame)[1]))
    assert got == expected
    assert [type(e) for events in got for e in events] == [
        type(e) for events in expected for e in events
    ]
    wanted = {OUTPUT: OutputTranscription, INPUT: InputTranscription, MODEL: TextDelta}[kind]
    assert all(type(events[0]) is wanted for events in got)
    assert (fast.generating, fast.turn_id, fast.frames_received) == (
        slow.generating,
        slow.turn_id,
        slow.frames_received,
    )


# Diarization and word timing add fields around a transcript's text: such a frame never
# matches a learned skeleton (its bytes around the text differ, and the text between them
# may hold no `"`), so it takes the ordinary path, which keeps the details.
DETAILS = {
    "speaker": ({"speakerLabel": "spk_1"}, {"speaker_label": "spk_1"}),
    "words": (
        {"words": [{"word": "b", "startOffset": "0.1s", "endOffset": "0.2s"}]},
        {"words": (WordInfo(word="b", start_offset="0.1s", end_offset="0.2s"),)},
    ),
    "offsets": (
        {"startOffset": "0.1s", "endOffset": "0.2s"},
        {"start_offset": "0.1s", "end_offset": "0.2s"},
    ),
}


@pytest.mark.parametrize("before", [False, True], ids=["after the text", "before the text"])
@pytest.mark.parametrize("kind", [OUTPUT, INPUT])
@pytest.mark.parametrize("name", DETAILS)
def test_a_transcript_with_details_takes_the_ordinary_path_and_keeps_them(
    name: str, kind: int, before: bool
) -> None:
    wire, fields = DETAILS[name]
    key = "outputTranscription" if kind == OUTPUT else "inputTranscription"
    chunk = {**wire, "text": "b"} if before else {"text": "b", **wire}
    detailed = pretty({"serverContent": {key: chunk}})
    protocol = opened_protocol()
    with forgotten(textpath.remembered):
        protocol.receive_frame(google("a", kind))  # teaches the plain skeleton
        assert textpath.decode_text(google("c", kind)) == ("c", kind, None)
        assert textpath.decode_text(detailed) is None
        assert assert_same(detailed) is False
        events = protocol.receive_frame(detailed)
        # Not learned either: the plain skeleton is still the only one.
        assert textpath.decode_text(detailed) is None
    if kind == OUTPUT:
        assert events == [OutputTranscription(text="b", turn_id=1, **fields)]
    else:
        assert events == [InputTranscription(text="b", **fields)]


# --- what the fast path refuses: the ordinary path gives the same ------------------------------

TEMPLATE = google("@M@")
REFUSED = {
    "escaped quote": b'say \\"hi\\"',
    "escaped unicode": b"\\u0041BC",
    "escaped slash": b"a\\/b",
    "escaped newline": b"line\\nbreak",
    "raw quote": b'a"b',
    "raw tab": b"a\tb",
    "raw newline": b"a\nb",
    "raw control": b"a\x01b",
    "raw NUL": b"a\x00b",
    "DEL": b"a\x7fb",
    "line separator": "a\u2028b".encode(),
    "zero-width joiner": "a\u200db".encode(),
    "no-break space": "a\u00a0b".encode(),
    "surrogate": b"a\xed\xa0\x80b",
    "bad utf-8": b"a\xffb",
    "truncated utf-8": b"a\xe6\x9d",
    "empty": b"",
    "closes the string early": b'a", "finished": true, "x": "b',
    "another key": b'a", "languageCode": "en',
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_middle_it_cannot_prove_takes_the_ordinary_path(name: str) -> None:
    frame = with_middle(TEMPLATE, REFUSED[name])
    assert assert_same_all(google("learned"), frame) == [False, False]


NOT_LEARNED = {
    "finished too": pretty(
        {"serverContent": {"outputTranscription": {"text": "a", "finished": 1}}}
    ),
    "language code too": pretty(
        {"serverContent": {"inputTranscription": {"text": "a", "languageCode": "en"}}}
    ),
    "speaker label too": pretty(
        {"serverContent": {"inputTranscription": {"text": "a", "speakerLabel": "spk_1"}}}
    ),
    "words too": pretty(
        {"serverContent": {"outputTranscription": {"text": "a", "words": [{"word": "x"}]}}}
    ),
    "offsets too": pretty(
        {"serverContent": {"outputTranscription": {"text": "a", "startOffset": "1s"}}}
    ),
    "both transcripts": pretty(
        {"serverContent": {"inputTranscription": {"text": "a"}, "outputTranscription": {}}}
    ),
    "turn complete too": pretty(
        {"serverContent": {"outputTranscription": {"text": "a"}, "turnComplete": True}}
    ),
    "usage too": pretty(
        {"serverContent": {"outputTranscription": {"text": "a"}}, "usageMetadata": {}}
    ),
    "unknown key holding text": pretty(
        {"x": {"text": "b"}, "serverContent": {"outputTranscription": {"text": "a"}}}
    ),
    "text as a value before": pretty(
        {"serverContent": {"modelTurn": {"role": "text", "parts": [{"text": "a"}]}}}
    ),
    "thought": pretty(
        {"serverContent": {"modelTurn": {"parts": [{"text": "a", "thought": True}]}}}
    ),
    "two parts": pretty(
        {"serverContent": {"modelTurn": {"parts": [{"text": "a"}, {"text": "b"}]}}}
    ),
    "escaped key": b'{"serverContent": {"outputTranscription": {"t\\u0065xt": "a"}}}',
    "escape elsewhere": b'{"serverContent": {"outputTranscription": {"text": "a"}}, "x": "\\n"}',
    "empty text": google(""),
}


@pytest.mark.parametrize("name", NOT_LEARNED)
def test_only_skeletons_it_can_prove_are_learned(name: str) -> None:
    first = NOT_LEARNED[name]
    second = first.replace(b'"a"', b'"z"')
    assert assert_same_all(first, second, first) == [False, False, False]
    assert assert_same_all(google("learned"), first, second) == [False, False, False]


@pytest.mark.parametrize(
    "frame",
    [google("x")[:-1] + b"\r", b" " + google("x")[1:], google("y")[:-2] + b" }\n"],
    ids=["suffix", "prefix", "both"],
)
def test_the_learned_skeleton_must_start_and_end_the_frame(frame: bytes) -> None:
    assert assert_same_all(google("learned"), frame) == [False, False]


def test_skeletons_with_more_around_the_text_are_learned_too() -> None:
    """An unknown key (ignored) or the text `text` itself: the split is still exact.

    The unknown key is not a top-level one: a frame with one of those is never learned, its
    key must reach the user as `UnknownMessage` (see test_protocol).
    """
    unknown = pretty({"serverContent": {"outputTranscription": {"text": "@M@"}, "x": 1}})
    assert assert_same_all(with_middle(unknown, b"a"), with_middle(unknown, b"b")) == [False, True]
    top_level = pretty({"serverContent": {"outputTranscription": {"text": "@M@"}}, "x": 1})
    assert assert_same_all(with_middle(top_level, b"a"), with_middle(top_level, b"b")) == [
        False,
        False,
    ]
    assert assert_same_all(google("text"), google("more text")) == [False, True]


def test_string_slot_splits_at_the_value_of_the_key() -> None:
    frame = b'{"a": {"text" :\n "hi"}}'
    assert string_slot(frame, b'"text"') == (b'{"a": {"text" :\n "', b'"}}')
    assert string_slot(b'{"text": 5, "b": "x"}', b'"text"') is None  # not a string value
    assert string_slot(b'{"text": "a", "b": {"text": "c"}}', b'"text"') is None  # twice
    assert string_slot(b'{"text": "a\\n"}', b'"text"') is None  # an escape somewhere
    assert string_slot(b'{"b": "text", "text": "a"}', b'"text"') is None  # a value first
    assert string_slot(b'{"texts": "a"}', b'"text"') is None


# --- differential: generated frames ------------------------------------------------------------

_MIDDLES = st.one_of(
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.text(st.sampled_from('ab "\\\t\n:{}u0'), max_size=12).map(str.encode),
    st.binary(max_size=12),
)


@budget(4)
@given(middle=_MIDDLES, kind=st.sampled_from([OUTPUT, INPUT, MODEL]))
@example(middle=b'a"}}}\n', kind=OUTPUT)
@example(middle=b'\\"', kind=INPUT)
@example(middle="😀 Grüße".encode(), kind=MODEL)
def test_any_middle_gives_what_the_ordinary_path_gives(middle: bytes, kind: int) -> None:
    assert_same_all(google("learned", kind), with_middle(google("@M@", kind), middle))


_TEXTS = st.text(max_size=20) | st.sampled_from(["text", '"text": "a"', "a\\b", "", "Grüße"])


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """Two text-like frames that differ in their text, with random companions and spacing."""
    key = draw(st.sampled_from(["outputTranscription", "inputTranscription", "modelTurn"]))
    chunk: dict[str, Any] = {"text": "@T@"}
    if draw(st.integers(0, 4)) == 0:
        chunk[draw(st.sampled_from(["finished", "languageCode", "thought", "future"]))] = True
    if key == "modelTurn":
        parts: list[Any] = [chunk]
        if draw(st.integers(0, 4)) == 0:
            parts.append({"text": draw(_TEXTS)})
        body: dict[str, Any] = {"parts": parts}
        if draw(st.integers(0, 4)) == 0:
            body["role"] = "model"
    else:
        body = chunk
    content: dict[str, Any] = {key: body}
    if draw(st.integers(0, 4)) == 0:
        content[draw(st.sampled_from(["turnComplete", "interrupted", "generationComplete"]))] = 1
    message: dict[str, Any] = {"serverContent": content}
    if draw(st.integers(0, 5)) == 0:
        message["usageMetadata"] = {"totalTokenCount": 3}
    indent = draw(st.sampled_from([2, 2, None, 0, 4]))
    separators = draw(st.sampled_from([(",", ": "), (",", ":"), (", ", ": ")]))
    ascii_only = draw(st.booleans())
    text = json.dumps(message, indent=indent, separators=separators, ensure_ascii=ascii_only)

    def spelled(value: str) -> bytes:
        quoted = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        return text.replace("@T@", quoted).encode("utf-8", "surrogatepass")

    return spelled(draw(_TEXTS)), spelled(draw(_TEXTS))


@budget(6)
@given(pair=_pairs())
def test_generated_frames_give_what_the_ordinary_path_gives(pair: tuple[bytes, bytes]) -> None:
    assert_same_all(*pair, pair[0])


@budget(2)
@given(pairs=st.lists(_pairs(), min_size=1, max_size=4))
def test_learned_skeletons_never_change_another_frame(pairs: list[tuple[bytes, bytes]]) -> None:
    assert_same_all(google("a"), google("b", INPUT), *(frame for pair in pairs for frame in pair))


def test_past_the_limit_skeletons_are_forgotten_and_learned_again() -> None:
    indents = [None, 0, 1, 2, 3, 4]  # six skeletons of one kind: more than are kept
    frames = [
        (json.dumps({"serverContent": {"outputTranscription": {"text": t}}}, indent=i) + "\n")
        for i in indents
        for t in ("first", "second")
    ]
    with forgotten(textpath.remembered):
        taken = []
        for frame in frames:
            taken.append(assert_same(frame.encode()))
            assert len(textpath.remembered.skeletons) <= textpath.remembered.limit
    assert taken == [False, True] * len(indents)
