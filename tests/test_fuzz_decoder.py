"""Fuzzing the decoder: any input decodes to events or raises `RemoteProtocolError`.

Arbitrary bytes, arbitrary JSON and mutated real frames (field deletions, type swaps, huge
strings, deep nesting, invalid UTF-8, invalid base64, numbers out of range) go through
`LiveProtocol.receive_frame`, the path every server frame takes. Nothing else may come out,
the error message must say something useful (and stay short), and decoding time grows
linearly with the frame size. A frame with proto3 JSON `null`s for some of its fields
gives the events of the same frame without those keys.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import example, given, strategies as st

import strategies as s
from protocols import opened_protocol
from test_recordings import EXPECTED, load
from trio_gemini_live import _events as ev, _wire as w
from trio_gemini_live._codec import decode_ordinary, decode_server, known_server_keys
from trio_gemini_live._errors import RemoteProtocolError

# Every recorded server frame, plus a few shapes the recordings lack.
REAL_FRAMES: list[bytes] = [
    frame for name in sorted(EXPECTED) for d, frame in load(name) if d == "<"
] + [
    s.server_frame(message)
    for message in (
        {
            "serverContent": {
                "modelTurn": {
                    "parts": [
                        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAECAwQF"}}
                    ]
                }
            }
        },
        {"serverContent": {"inputTranscription": {"text": "hi", "finished": True}}},
        {
            "serverContent": {"turnComplete": True, "interrupted": True},
            "usageMetadata": {
                "totalTokenCount": 3,
                "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 3}],
            },
        },
        {"goAway": {"timeLeft": "9.5s"}},
        {
            "sessionResumptionUpdate": {
                "newHandle": "h",
                "resumable": True,
                "lastConsumedClientMessageIndex": "7",
            }
        },
        {"toolCallCancellation": {"ids": ["a", "b"]}},
        {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "1s"}},
        {"someFutureMessage": {"x": [1, 2]}},
    )
]

MAX_MESSAGE = 600  # an error message names the problem; it does not echo a huge frame


def outcome(frame: bytes | str) -> list[ev.RealtimeEvent] | RemoteProtocolError:
    """Feed one frame to a fresh, open protocol: events, or the protocol error."""
    protocol = opened_protocol()
    try:
        events = protocol.receive_frame(frame)
    except RemoteProtocolError as exc:
        message = str(exc)
        assert message, "an empty error message"
        assert len(message) <= MAX_MESSAGE, f"error message of {len(message)} chars"
        return exc
    assert all(isinstance(event, ev.RealtimeEvent) for event in events)
    return events


# --- arbitrary input ------------------------------------------------------------------------


@s.budget(10)
@given(frame=st.binary(max_size=512))
@example(b"")
@example(b"\xff\xfe")
@example(b'{"serverContent":{"modelTurn":{"parts":[{"text":"\xff"}]}}}')
def test_arbitrary_bytes(frame: bytes) -> None:
    outcome(frame)


@s.budget(6)
@given(frame=st.text(max_size=256))  # lone surrogates included: `str` frames are accepted
@example("\ud800")
@example('{"serverContent":{"modelTurn":{"parts":[{"text":"\ud800"}]}}}')
def test_arbitrary_text(frame: str) -> None:
    outcome(frame)


_known = st.sampled_from(sorted(known_server_keys()))


@s.budget(1)
@given(value=s.json_values, pretty=st.booleans())
def test_arbitrary_json(value: Any, pretty: bool) -> None:
    outcome(json.dumps(value, indent=2 if pretty else None).encode())


@s.budget(0.6)
@given(message=st.dictionaries(_known | s.text, s.json_values, max_size=4))
def test_arbitrary_json_under_known_keys(message: dict[str, Any]) -> None:
    outcome(s.server_frame(message))


@s.budget(0.3)
@given(message=st.dictionaries(_known, st.dictionaries(s.text, s.json_values, max_size=4)))
def test_arbitrary_json_objects_under_known_keys(message: dict[str, Any]) -> None:
    outcome(s.server_frame(message))


# --- mutated real frames --------------------------------------------------------------------

Path = tuple[str | int, ...]


def _paths(node: Any, prefix: Path = ()) -> list[Path]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _get(node: Any, path: Path) -> Any:
    for step in path:
        node = node[step]
    return node


def _set(node: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    _get(node, path[:-1])[path[-1]] = value
    return node


def _delete(node: Any, path: Path) -> Any:
    if not path:
        return {}
    del _get(node, path[:-1])[path[-1]]
    return node


HUGE = 300_000
DEEP = 50_000
REPLACEMENTS = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        1.5,
        2**31,
        2**63,
        2**64,
        -(2**63) - 1,
        10**30,
        "",
        "x",
        "AAEC",
        "not base64!",
        "-_-_",
        "50s",
        "-5s",
        "1e309s",
        [],
        [1, "a"],
        {},
        {"unexpected": [None]},
    ]
)
TEXT_MUTATIONS = {
    # Replaced after serialisation, to produce what `json.dumps` cannot.
    "invalid_utf8": b'"\xff\xfe\xc3("',
    "float_overflow": b"1e400",
    "big_negative": b"-99999999999999999999999999",
    "bad_escape": b'"\\ud800"',
    "nan": b"NaN",
    "truncated": b'"unterminated',
}
MARK = "\x00MUTATION\x00"


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    base = draw(st.sampled_from(REAL_FRAMES))
    tree = json.loads(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        path = draw(st.sampled_from(paths))
        kind = draw(
            st.sampled_from(["delete", "swap", "huge", "deep", "deep_object", "raw", "add"])
        )
        if kind == "delete":
            tree = _delete(tree, path)
        elif kind == "swap":
            tree = _set(tree, path, copy.deepcopy(draw(REPLACEMENTS)))
        elif kind == "huge":
            tree = _set(tree, path, draw(st.sampled_from(["A", "é", "-"])) * HUGE)
        elif kind == "deep":
            tree = _set(tree, path, MARK + "deep")
        elif kind == "deep_object":
            tree = _set(tree, path, MARK + "deep_object")
        elif kind == "raw":
            tree = _set(tree, path, MARK + draw(st.sampled_from(sorted(TEXT_MUTATIONS))))
        else:
            node = _get(tree, path)
            if isinstance(node, dict):
                node[draw(s.text)] = draw(s.json_values)
        if not isinstance(tree, dict | list):
            break
    frame = s.server_frame(tree) if isinstance(tree, dict) else json.dumps(tree).encode()
    frame = frame.replace(json.dumps(MARK + "deep").encode(), b"[" * DEEP + b"]" * DEEP)
    frame = frame.replace(
        json.dumps(MARK + "deep_object").encode(), b'{"a":' * DEEP + b"1" + b"}" * DEEP
    )
    for name, raw in TEXT_MUTATIONS.items():
        frame = frame.replace(json.dumps(MARK + name).encode(), raw)
    return frame


@s.budget(1)
@given(frame=mutated_frames(), text_frame=st.booleans())
def test_mutated_real_frames(frame: bytes, text_frame: bool) -> None:
    if text_frame:
        try:
            outcome(frame.decode("utf-8"))
        except UnicodeDecodeError:
            outcome(frame.decode("utf-8", "surrogateescape"))  # lone surrogates in a str
    else:
        outcome(frame)


@s.budget(0.3)
@given(message=s.sdk_server_messages(), data=st.data())
def test_mutated_sdk_generated_frames(message: Any, data: st.DataObject) -> None:
    # Valid frames of every shape the SDK knows, each with one value swapped.
    tree = s.to_wire(message)
    paths = _paths(tree)[1:]
    if paths:
        tree = _set(tree, data.draw(st.sampled_from(paths)), copy.deepcopy(data.draw(REPLACEMENTS)))
    outcome(s.server_frame(tree))


# --- proto3 JSON nulls ------------------------------------------------------------------------


def _same_outcome(
    left: list[ev.RealtimeEvent] | RemoteProtocolError,
    right: list[ev.RealtimeEvent] | RemoteProtocolError,
) -> None:
    if isinstance(right, RemoteProtocolError):
        assert isinstance(left, RemoteProtocolError), left
    else:
        assert left == right


_server_trees = st.one_of(
    s.sdk_server_messages().map(s.to_wire),
    s.struct_strategy(w.ServerMessage).map(msgspec.to_builtins),
    st.sampled_from(REAL_FRAMES).map(json.loads).filter(lambda tree: isinstance(tree, dict)),
)


@s.budget(0.5)
@given(tree=_server_trees, data=st.data())
def test_a_null_field_reads_as_the_same_frame_without_it(tree: Any, data: st.DataObject) -> None:
    # proto3 JSON reads `null` as the field's default (google-genai accepts it anywhere): the
    # frame decodes to the events of the frame without the null keys. Twice: a skeleton the
    # first decode taught the fast paths must give the same events the second time.
    nulled, stripped = data.draw(s.with_nulls(tree))
    expected = outcome(s.server_frame(stripped))
    for _ in range(2):
        _same_outcome(outcome(s.server_frame(nulled)), expected)
        _same_outcome(outcome(json.dumps(nulled, separators=(",", ":")).encode()), expected)


# --- regressions (found by the properties above) --------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        # msgspec raises RecursionError (not one of its own errors) past its depth limit.
        b'{"toolCall":{"functionCalls":[{"args":{"a":' + b"[" * DEEP + b"]" * DEEP + b"}}]}}",
        b'{"futureKey":' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}",
        b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"data":"_-8"}}]}},"x":'
        + b"[" * DEEP
        + b"]" * DEEP
        + b"}",
        # ... and UnicodeDecodeError / UnicodeEncodeError for bad UTF-8 / lone surrogates.
        b'{"serverContent":{"modelTurn":{"parts":[{"text":"\xff\xfe"}]}}}',
        '{"serverContent":{"modelTurn":{"parts":[{"text":"\ud800"}]}}}',
        "\ud800",
    ],
    ids=["deep-args", "deep-unknown", "deep-after-b64-fallback", "bad-utf8", "surrogate", "lone"],
)
def test_regression_non_msgspec_errors_become_remote_protocol_errors(frame: bytes | str) -> None:
    with pytest.raises(RemoteProtocolError, match=r"nested too deeply|not valid UTF-8"):
        decode_server(frame)
    assert isinstance(outcome(frame), RemoteProtocolError)


@pytest.mark.parametrize(
    "frame",
    [
        # The error messages echoed the whole offending value: a 300 KB `timeLeft` or
        # `lastConsumedClientMessageIndex` made a 300 KB exception (and log line).
        s.server_frame({"goAway": {"timeLeft": "é" * HUGE}}),
        s.server_frame({"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": "-" * HUGE}}),
    ],
    ids=["duration", "int64"],
)
def test_regression_error_messages_stay_short(frame: bytes) -> None:
    error = outcome(frame)  # asserts the length bound
    assert isinstance(error, RemoteProtocolError)
    assert f"({HUGE} characters)" in str(error)


def test_errors_name_the_json_path() -> None:
    error = outcome(b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"data":"@@"}}]}}}')
    assert isinstance(error, RemoteProtocolError)
    assert "$.serverContent.modelTurn.parts[0].inlineData.data" in str(error)
    error = outcome(b'{"usageMetadata":{"totalTokenCount":"many"}}')
    assert isinstance(error, RemoteProtocolError)
    assert "$.usageMetadata.totalTokenCount" in str(error)


# --- round trip of every wire Struct, the way the server formats it -------------------------

STRUCTS: list[type[Any]] = [getattr(w, name) for name in w.__all__]


@pytest.mark.parametrize("cls", STRUCTS, ids=lambda cls: cls.__name__)
@s.budget(0.03)
@given(data=st.data(), unknown=st.dictionaries(s.text.map(lambda t: "zz" + t), s.json_values))
def test_round_trip_every_wire_struct_pretty_with_unknown_fields(
    cls: type[Any], data: st.DataObject, unknown: dict[str, Any]
) -> None:
    # Extends test_wire's compact round trip: pretty-printed like the server, as bytes and
    # as str, with unknown (future) fields that every Struct must ignore.
    value = data.draw(s.struct_strategy(cls))
    fields = msgspec.json.decode(msgspec.json.encode(value))
    extra = {key: item for key, item in unknown.items() if key not in fields}
    fields.update(extra)
    frame = s.server_frame(fields)
    if cls is w.ServerMessage:  # the envelope sets unknown keys aside for the user (test_wire)
        assert decode_ordinary(frame) == (value, extra or None)
        assert decode_ordinary(frame.decode()) == (value, extra or None)
        return
    assert msgspec.json.decode(frame, type=cls) == value
    assert msgspec.json.decode(frame.decode(), type=cls) == value


# --- linear time ----------------------------------------------------------------------------


def _shapes() -> dict[str, Callable[[int], bytes]]:
    part = b'{"text":"abcdefghij"}'

    def parts(size: int) -> bytes:
        count = max(1, size // (len(part) + 1))
        body = b",".join([part] * count)
        return b'{"serverContent":{"modelTurn":{"parts":[' + body + b"]}}}"

    def audio(size: int, alphabet: bytes = b"AAEC") -> bytes:
        data = alphabet * (size // 4)
        return (
            b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":'
            b'"audio/pcm;rate=24000","data":"' + data + b'"}}]}}}'
        )

    return {
        "text": lambda n: b'{"serverContent":{"outputTranscription":{"text":"' + b"a" * n + b'"}}}',
        "audio": audio,
        "audio-urlsafe-fallback": lambda n: audio(n, b"-_-_"),
        "many-parts": parts,
        "unknown-top-level": lambda n: b'{"futureKey":[' + b",".join([b"1"] * (n // 2)) + b"]}",
        "tool-args": lambda n: (
            b'{"toolCall":{"functionCalls":[{"name":"f","args":{'
            + b",".join(b'"k%d":%d' % (i, i) for i in range(n // 12))
            + b"}}]}}"
        ),
        "bad-base64-at-end": lambda n: audio(n)[:-8] + b'!"}}]}}}',
    }


def _best_time(frame: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        outcome(frame)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("shape", sorted(_shapes()))
def test_decode_time_grows_linearly(shape: str) -> None:
    # A complexity check, not a speed check: 100x the size may cost at most ~10x more than
    # linear (a quadratic decoder would be 10,000x). Best-of-N timings tame the noise.
    make = _shapes()[shape]
    frames = [make(size) for size in (10_000, 100_000, 1_000_000)]
    repeats = (30, 10, 4)
    times = [max(_best_time(f, n), 5e-6) for f, n in zip(frames, repeats, strict=True)]
    report = ", ".join(f"{len(f)} B: {t * 1e3:.3f} ms" for f, t in zip(frames, times, strict=True))
    for step in range(len(frames) - 1):
        time_ratio = times[step + 1] / times[step]
        size_ratio = len(frames[step + 1]) / len(frames[step])
        assert time_ratio < 10 * size_ratio, f"{shape} is not linear: {report}"
