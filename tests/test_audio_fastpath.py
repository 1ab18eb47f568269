"""The audio fast path of `decode_server` gives exactly what the ordinary path gives.

The ordinary path learns the skeleton of an audio frame (`learn`); `decode_audio_frame`
then decodes frames with that skeleton, or returns None ("take the ordinary path").
Whatever it does, `decode_server` must produce the same `ServerMessage`, or the same
`RemoteProtocolError`, as the ordinary msgspec path. The frames below are built as text so
that keys, colons and values can be spelled in every way JSON allows (and some it does
not): escaped keys, an escaped `/` in base64, URL-safe or unpadded base64, quotes breaking
out of the value, a `"data"` key in `functionCall.args` or an unknown field, `"data"` as a
value. Frames come in pairs that differ in one string only, as audio frames do: the first
may teach the fast path a skeleton, which must then decode the second exactly.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any
from unittest import mock

import msgspec
import pybase64
import pytest
from hypothesis import example, given, strategies as st

from protocols import forgotten, opened_protocol
from strategies import budget
from trio_gemini_live import _audio_fastpath as fastpath, _codec, _protocol, _text_fastpath
from trio_gemini_live._codec import _decoder as _codec_decoder, decode_server
from trio_gemini_live._errors import RemoteProtocolError
from trio_gemini_live._wire import Blob, Content, Part, ServerContent, ServerMessage

MIME = "audio/pcm;rate=24000"
PCM = random.Random(6).randbytes(1920)  # 40 ms of 24 kHz audio
B64 = base64.b64encode(PCM).decode()
OTHER_PCM = random.Random(7).randbytes(960)
OTHER_B64 = base64.b64encode(OTHER_PCM).decode()


def pretty(message: dict[str, Any]) -> bytes:
    """Serialise like Google's server: 2-space pretty JSON + newline."""
    return (json.dumps(message, indent=2) + "\n").encode()


def google_audio(data: str = B64, mime: str = MIME, role: str | None = None) -> bytes:
    """An audio frame as Google sends it (Vertex's with `"role": "model"`)."""
    part = {"inlineData": {"mimeType": mime, "data": data}}
    turn: dict[str, Any] = {"role": role} if role is not None else {}
    return pretty({"serverContent": {"modelTurn": {**turn, "parts": [part]}}})


def audio_message(pcm: bytes, mime: str = MIME, role: str | None = None) -> ServerMessage:
    part = Part(inline_data=Blob(data=pcm, mime_type=mime))
    turn = Content(parts=[part], role=role)
    return ServerMessage(server_content=ServerContent(model_turn=turn))


Outcome = tuple[str, Any]


def outcome_of(frame: bytes | str, *, fast: bool) -> Outcome:
    """The message (or error message) `decode_server` gives, with or without the fast path."""
    with mock.patch.object(_codec, "MIN_FRAME", 0 if fast else 1 << 62):
        try:
            message = decode_server(frame)
        except RemoteProtocolError as exc:
            return ("error", str(exc))
    return ("ok", message)


def events_of(frame: bytes, *, fast: bool) -> Outcome:
    """The events (or error) `LiveProtocol.receive_frame` gives, and the state it leaves.

    With `fast`, every frame is offered to the protocol's own copy of the audio fast path
    (whatever skeletons are learned); without, both fast paths are off.
    """
    protocol = opened_protocol()
    with (
        mock.patch.object(_protocol, "MIN_FRAME", 0 if fast else 1 << 62),
        forgotten(_text_fastpath.remembered),
    ):
        try:
            events = protocol.receive_frame(frame)
        except RemoteProtocolError as exc:
            return ("error", str(exc))
    return ("ok", (events, protocol.generating, protocol.turn_id, protocol.frames_received))


def assert_same(frame: bytes) -> bool:
    """The fast path agrees with the ordinary path on `frame`; say whether it decoded it.

    Both copies of it: `decode_server`'s and the protocol's, written out in `receive_frame`.
    """
    expected = outcome_of(frame, fast=False)
    direct = fastpath.decode_audio_frame(frame)
    if direct is not None:
        assert ("ok", direct) == expected
        assert msgspec.json.encode(direct) == msgspec.json.encode(expected[1])
    got = outcome_of(frame, fast=True)  # the ordinary path may learn the skeleton here
    assert got == expected
    if got[0] == "ok":
        assert msgspec.json.encode(got[1]) == msgspec.json.encode(expected[1])
    # Last: what is learned above is what the protocol's copy is offered.
    assert events_of(frame, fast=True) == events_of(frame, fast=False)
    return direct is not None


def assert_same_all(*frames: bytes) -> list[bool]:
    """`assert_same` on each frame in turn, starting with no skeleton learned."""
    with forgotten(fastpath.remembered):
        return [assert_same(frame) for frame in frames]


# --- the fast path is taken ---------------------------------------------------------------------


def test_google_audio_is_learned_then_decoded_without_json() -> None:
    with forgotten(fastpath.remembered):
        assert decode_server(google_audio()) == audio_message(PCM)  # the ordinary path ...
        assert fastpath.remembered.skeletons  # ... learned the skeleton
        with mock.patch.object(_codec, "_decoder") as decoder:
            second = decode_server(google_audio(OTHER_B64))
        decoder.decode.assert_not_called()
    assert second == audio_message(OTHER_PCM)


def test_sessions_of_different_kinds_each_keep_their_skeleton() -> None:
    """Gemini's and Vertex's audio frames alternating in one process: both stay fast."""
    kinds = [MIME, "audio/pcm"]
    with forgotten(fastpath.remembered):
        for mime in kinds:
            assert decode_server(google_audio(mime=mime)) == audio_message(PCM, mime)
        with mock.patch.object(_codec, "_decoder") as decoder:
            for _ in range(3):
                for mime in kinds:
                    got = decode_server(google_audio(OTHER_B64, mime=mime))
                    assert got == audio_message(OTHER_PCM, mime)
        decoder.decode.assert_not_called()


def test_vertex_audio_with_its_role_is_decoded_without_json() -> None:
    """Vertex's audio frames say `"role": "model"`: their skeleton is learned too."""
    with forgotten(fastpath.remembered):
        assert decode_server(google_audio(mime="audio/pcm", role="model")) == audio_message(
            PCM, "audio/pcm", "model"
        )
        with mock.patch.object(_codec, "_decoder") as decoder:
            second = decode_server(google_audio(OTHER_B64, mime="audio/pcm", role="model"))
        decoder.decode.assert_not_called()
    assert second == audio_message(OTHER_PCM, "audio/pcm", "model")
    assert assert_same_all(
        google_audio(role="model"), google_audio(OTHER_B64, role="model"), google_audio()
    ) == [False, True, False]


def test_decode_server_tries_the_fast_path_for_large_binary_frames_only() -> None:
    frame = google_audio()
    assert len(frame) >= fastpath.MIN_FRAME
    # (The spy is on pybase64's function, a global the fast path looks up at each call: a
    # patch of the fast path's own functions would not reach the compiled build's calls.)
    with forgotten(fastpath.remembered):
        decode_server(frame)  # learns the skeleton, which a small frame shares
        with mock.patch.object(fastpath, "b64decode", wraps=pybase64.b64decode) as spy:
            decode_server(frame)
            decode_server(frame.decode())  # text frames: the ordinary path
            decode_server(google_audio("AAAA"))  # small frames too
    assert spy.call_count == 1


class RecordingDecoder:
    """Stands in for the codec's msgspec decoder: counts the frames the ordinary path reads
    and keeps each audio part's PCM (a global the codec looks up at each call, so this
    reaches the compiled build too)."""

    def __init__(self) -> None:
        self.frames = 0
        self.pcm: list[bytes] = []

    def decode(self, frame: bytes | str) -> ServerMessage:
        self.frames += 1
        message: ServerMessage = _codec_decoder.decode(frame)
        content = message.server_content
        if content is not None and content.model_turn is not None:
            blob = content.model_turn.parts[0].inline_data
            if blob is not None:
                self.pcm.append(blob.data)
        return message


def test_audio_event_carries_the_decoded_pcm_itself() -> None:
    protocol = opened_protocol()
    decoder = RecordingDecoder()
    fast: list[bytes] = []

    def recording_b64decode(text: memoryview, altchars: None, validate: bool) -> bytes:
        pcm = pybase64.b64decode(text, altchars, validate)
        fast.append(pcm)
        return pcm

    frames = [google_audio(), google_audio(OTHER_B64)]  # the ordinary path, then the fast one
    with (
        forgotten(fastpath.remembered),
        mock.patch.object(_codec, "_decoder", decoder),
        mock.patch("trio_gemini_live._protocol._b64decode", recording_b64decode),
    ):
        events = [event for frame in frames for event in protocol.receive_frame(frame)]
    assert [getattr(event, "pcm", None) for event in events] == [PCM, OTHER_PCM]
    decoded = decoder.pcm + fast
    assert decoder.frames == 1
    assert len(decoded) == 2
    for event, pcm in zip(events, decoded, strict=True):
        assert getattr(event, "pcm", None) is pcm  # decoded once, never copied


@pytest.mark.parametrize(
    "mime",
    [MIME, "audio/pcm", "", "image/png", "audio/pcm;rate=16000", "audio/pcm;rate=16k"],
)
def test_protocol_fast_path_gives_what_receive_message_gives(mime: str) -> None:
    """Events and state from the protocol's shortcut equal those of the ordinary path."""
    first, second = google_audio(mime=mime), google_audio(OTHER_B64, mime=mime)
    ordinary, fast = opened_protocol(), opened_protocol()
    with forgotten(fastpath.remembered):
        assert fast.receive_frame(first) == ordinary.receive_message(decode_server(first))
        assert fastpath.decode_audio_pcm(second) is not None  # the shortcut is taken
        decoder = RecordingDecoder()
        with mock.patch.object(_codec, "_decoder", decoder):
            got = fast.receive_frame(second)
        assert decoder.frames == 0
    ordinary.frames_received += 2
    expected = ordinary.receive_message(decode_server(second))
    assert got == expected
    assert [type(event) for event in got] == [type(event) for event in expected]
    assert (fast.generating, fast.turn_id, fast.frames_received) == (
        ordinary.generating,
        ordinary.turn_id,
        ordinary.frames_received,
    )


# --- regressions: each tricky spelling ----------------------------------------------------------


def turn(parts: str, content: str = "", top: str = "") -> str:
    """`{"serverContent": {"modelTurn": {"parts": [parts]}content}top}` as text."""
    return '{"serverContent": {"modelTurn": {"parts": [' + parts + "]}" + content + "}" + top + "}"


AUDIO = '{"inlineData": {"data": "@B64@"}}'
PAD = ', "pad": "@B64@"'
TRICKY = {
    "compact": '{"serverContent":{"modelTurn":{"parts":[{"inlineData":'
    '{"data":"@B64@","mimeType":"audio/pcm"}}]}}}',
    "no mime type": turn(AUDIO),
    "colon spacing": turn('{"inlineData": {"data"\n\t :\r\n "@B64@"}}'),
    "double colon": turn('{"inlineData": {"data" :: "@B64@"}}'),
    "vertical tab": turn('{"inlineData": {"data"\x0b: "@B64@"}}'),
    "two audio parts": turn(AUDIO + ', {"inlineData": {"data": "AAAA"}}'),
    "audio and text": turn('{"text": "hi"}, ' + AUDIO, ', "turnComplete": true'),
    "audio and transcript": turn(
        AUDIO, ', "outputTranscription": {"text": "x"}', ', "usageMetadata": {"totalTokenCount": 3}'
    ),
    "data in function args": turn('{"functionCall": {"name": "f", "args": {"data": "@B64@"}}}'),
    "data in tool call": '{"toolCall": {"functionCalls": '
    '[{"name": "f", "args": {"data": "@B64@"}}]}}',
    "unknown data before the audio": '{"x": {"data": "@B64@"}, "serverContent": {"modelTurn": '
    '{"parts": [{"inlineData": {"data": "AAAA"}}]}}}',
    "escaped audio key after unknown data": '{"x": {"data": "@B64@"}, "serverContent": '
    '{"modelTurn": {"parts": [{"inlineData": {"d\\u0061ta": "AAAA"}}]}}}',
    "data in unknown field": turn(
        '{"inlineData": {"mimeType": "audio/pcm"}}', ', "futureThing": {"data": "@B64@"}'
    ),
    "data in unknown part field": turn(
        '{"inlineData": {"mimeType": "audio/pcm"}, "future": {"data": "@B64@"}}'
    ),
    "data as a value": turn('{"text": "data"}, ' + AUDIO),
    "data as a value before a colon": turn('{"text": "data"}, {"text": ": \\"@B64@\\""}'),
    "escaped key elsewhere": turn(
        '{"inlineData": {"d\\u0061ta": "AAAA"}}, '
        '{"functionCall": {"name": "f", "args": {"data": "@B64@"}}}'
    ),
    "escaped key holds the sentinel": turn(
        '{"inlineData": {"d\\u0061ta": "AA=="}}, '
        '{"functionCall": {"name": "f", "args": {"data": "@B64@"}}}'
    ),
    "escaped key is the audio": turn('{"inlineData": {"d\\u0061ta": "@B64@"}}, {"text": "data"}'),
    "escaped slash in base64": turn('{"inlineData": {"data": "@B64@\\/\\/\\/\\/"}}'),
    "escaped quote in text": turn('{"text": "say \\"hi\\""}, ' + AUDIO),
    "url-safe": turn('{"inlineData": {"data": "@B64@-_-_"}}'),
    "unpadded": turn('{"inlineData": {"data": "@B64@QQ"}}'),
    "invalid base64": turn('{"inlineData": {"data": "@B64@!!!!"}}'),
    "over-padded": turn('{"inlineData": {"data": "AAAA===="}}', top=PAD),
    "padding inside": turn('{"inlineData": {"data": "AA==@B64@"}}'),
    "space in base64": turn('{"inlineData": {"data": "@B64@ AAAA"}}'),
    "empty data": turn('{"inlineData": {"data": ""}}', top=PAD),
    "data literally": turn('{"inlineData": {"data": "data"}}', top=PAD),
    "data is a number": turn('{"inlineData": {"data": 5, "mimeType": "@B64@"}}'),
    "data is null": turn('{"inlineData": {"data": null, "mimeType": "@B64@"}}'),
    "url-safe thought signature": turn(
        '{"inlineData": {"data": "@B64@"}, "thoughtSignature": "-_8"}'
    ),
    "bad type elsewhere": turn(AUDIO, ', "turnComplete": "yes"'),
    "trailing garbage": turn(AUDIO) + " x",
    "not an object": '["data", "@B64@"]',
    "unterminated value": turn(AUDIO)[:-7],
    "nested too deeply": '{"data": "@B64@", "x": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "bad utf-8 elsewhere": turn('{"text": "\udcff", "inlineData": {"data": "@B64@"}}'),
    "duplicate inline data": turn(
        '{"inlineData": {"data": "@B64@"}, "inlineData": {"mimeType": "x"}}'
    ),
}


def tricky(name: str, data: str = B64) -> bytes:
    return TRICKY[name].replace("@B64@", data).encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_frames_give_what_the_ordinary_path_gives(name: str) -> None:
    first, second = tricky(name), tricky(name, OTHER_B64)
    assert_same_all(first, second, first)
    assert_same_all(google_audio(), first)  # Google's skeleton must not capture this frame


LEARNED = ("compact", "no mime type", "colon spacing")
NOT_LEARNED = (
    *("two audio parts", "audio and text", "audio and transcript", "data in function args"),
    *("data in unknown field", "data as a value", "escaped key is the audio", "url-safe"),
    *("url-safe thought signature", "empty data", "unknown data before the audio"),
    "escaped audio key after unknown data",
)


@pytest.mark.parametrize("name", LEARNED + NOT_LEARNED)
def test_only_skeletons_it_can_prove_are_learned(name: str) -> None:
    first, second = tricky(name), tricky(name, OTHER_B64)
    assert assert_same_all(first, second) == [False, name in LEARNED]


def test_a_data_key_outside_the_blob_is_not_learned() -> None:
    # A Blob without `data` (b"") and an empty `data` string elsewhere: b"" == decode("").
    frame = turn('{"inlineData": {"mimeType": "audio/pcm"}}', top=', "x": {"data": "@V@"}')
    frames = [frame.replace("@V@", data).encode() for data in ("", "AAAA", "", B64)]
    assert assert_same_all(*frames) == [False] * 4


# --- a frame that starts and ends like the learned skeleton -----------------------------------

_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


@budget(4)
@given(
    middle=st.text(st.sampled_from(_B64_CHARS + '-_ "\\,:{}[]\n') | st.characters(), max_size=80)
    | st.binary(max_size=60).map(lambda raw: base64.b64encode(raw).decode())
)
@example(middle='AAAA", "mimeType": "video/mp4", "x": "AAAA')
@example(middle='AAAA"}}, {"inlineData": {"mimeType": "x", "data": "AAAA')
@example(middle="AAAA\\u0041AAA")
@example(middle="AAAA\\/AAA")
@example(middle="")
def test_the_learned_skeleton_is_not_fooled_by_the_middle(middle: str) -> None:
    frame = google_audio("@M@").replace(b"@M@", middle.encode("utf-8", "surrogatepass"))
    assert_same_all(google_audio(), frame)


@pytest.mark.parametrize(
    "frame",
    [google_audio()[:-1] + b"x", b" " + google_audio()[1:], google_audio(OTHER_B64)[:-1] + b"x"],
    ids=["suffix", "prefix", "both"],
)
def test_the_learned_skeleton_must_start_and_end_the_frame(frame: bytes) -> None:
    assert assert_same_all(google_audio(), frame) == [False, False]


def test_the_learned_skeleton_needs_room_for_the_string() -> None:
    overlapping = google_audio("@M@").replace(b'"@M@"', b'"')  # prefix and suffix share a quote
    assert assert_same_all(google_audio(), overlapping) == [False, False]


# --- differential: generated frames ------------------------------------------------------------

_STANDARD = st.binary(max_size=1200).map(lambda raw: base64.b64encode(raw).decode())
_VALUES = st.one_of(
    _STANDARD,  # (one_of picks a strategy uniformly: mostly valid standard base64)
    _STANDARD,
    _STANDARD,
    _STANDARD,
    _STANDARD,
    st.binary(max_size=60).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    st.binary(max_size=60).map(lambda raw: base64.b64encode(raw).decode().rstrip("=")),
    st.text(st.sampled_from(_B64_CHARS + '-_ "\\'), max_size=24),
    st.sampled_from(["", "AA==", "data", "AAAA====", "AA==AA==", "QQ", "AAAA\\/AA", '"', "\\"]),
)
_KEYS = st.sampled_from(['"data"'] * 12 + ['"d\\u0061ta"', '"dat"', '"Data"'])
_COLONS = st.sampled_from([": "] * 4 + [":", " : ", "\n:\n  ", ":\t", "\x0b:", "::", " "])
_TEXTS = st.sampled_from(["hi", "hi", "hi", "data", '"data": "AAAA"', "a\\b", "", "Grüße"])


Pair = tuple[bytes, bytes]


@st.composite
def _frames(draw: st.DrawFn) -> Pair:
    """Two frames that differ in one value; `@Kn@`/`@Vn@` become raw keys and values."""
    slots: list[tuple[str, str, str, bool]] = []

    def slot() -> str:
        raw = draw(st.integers(0, 3)) == 0  # else JSON-escaped
        slots.append((draw(_KEYS), draw(_COLONS), draw(_VALUES), raw))
        return f"@K{len(slots) - 1}@"

    def part() -> dict[str, Any]:
        kind = draw(st.sampled_from(["audio"] * 6 + ["text", "call", "unknown"]))
        if kind == "audio":
            blob: dict[str, Any] = {slot(): f"@V{len(slots) - 1}@"}
            if draw(st.booleans()):
                blob["mimeType"] = draw(
                    st.sampled_from([MIME, "audio/pcm", "image/png", "", "audio/pcm;rate=1k"])
                )
                if draw(st.booleans()):
                    blob = dict(reversed(blob.items()))
            result: dict[str, Any] = {"inlineData": blob}
            if draw(st.booleans()):
                result["thoughtSignature"] = draw(st.sampled_from(["AAE=", "AAE=", "_-8", "!"]))
            return result
        if kind == "text":
            return {"text": draw(_TEXTS)}
        if kind == "call":
            return {"functionCall": {"name": "f", "args": {slot(): f"@V{len(slots) - 1}@"}}}
        return {"futurePart": {slot(): f"@V{len(slots) - 1}@"}}

    parts = [part() for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2, 3])))]
    content: dict[str, Any] = {"modelTurn": {"parts": parts}}
    if draw(st.booleans()):
        content["outputTranscription"] = {"text": draw(_TEXTS)}
    if draw(st.booleans()):
        content["turnComplete"] = draw(st.sampled_from([True, True, True, "yes"]))
    message: dict[str, Any] = {"serverContent": content}
    if draw(st.booleans()):
        message["usageMetadata"] = {"totalTokenCount": 3}
    if draw(st.integers(0, 4)) == 0:
        message["future"] = {slot(): f"@V{len(slots) - 1}@"}
    indent = draw(st.sampled_from([None, 2, 0]))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    template = json.dumps(message, indent=indent, separators=separators)

    def render(values: list[str]) -> bytes:
        text = template
        for index, ((key, colon, _, raw), value) in enumerate(zip(slots, values, strict=True)):
            spelled = value if raw else json.dumps(value)[1:-1]
            text = text.replace(
                f'"@K{index}@"{separators[1]}"@V{index}@"', f'{key}{colon}"{spelled}"'
            )
        return text.encode("utf-8", "surrogatepass")

    values = [value for _, _, value, _ in slots]
    changed = list(values)
    if slots:
        changed[draw(st.integers(0, len(slots) - 1))] = draw(_VALUES)
    return render(values), render(changed)


@st.composite
def _audio_frames(draw: st.DrawFn) -> Pair:
    """Two frames close to Google's audio frames: most of them take the fast path."""
    blob: dict[str, Any] = {"data": "@V@"}
    if draw(st.integers(0, 3)):
        blob["mimeType"] = draw(st.sampled_from([MIME, "audio/pcm;rate=16000", "image/png", ""]))
        if draw(st.booleans()):
            blob = dict(reversed(blob.items()))
    part: dict[str, Any] = {"inlineData": blob}
    if draw(st.integers(0, 3)) == 0:
        part["thoughtSignature"] = "AAE="
    parts = [part]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        parts.insert(draw(st.integers(0, len(parts))), {"text": draw(_TEXTS)})
    content: dict[str, Any] = {"modelTurn": {"parts": parts}}
    for flag in ("turnComplete", "generationComplete", "interrupted"):
        if draw(st.integers(0, 5)) == 0:
            content[flag] = True
    if draw(st.integers(0, 3)) == 0:
        content["outputTranscription"] = {"text": draw(_TEXTS)}
    message: dict[str, Any] = {"serverContent": content}
    if draw(st.integers(0, 3)) == 0:
        message["usageMetadata"] = {"totalTokenCount": 3}
    indent = draw(st.sampled_from([2, 2, None, 0, 4]))
    separators = draw(st.sampled_from([(",", ": "), (",", ":"), (", ", ": ")]))
    text = json.dumps(message, indent=indent, separators=separators, ensure_ascii=False)
    colon = draw(st.sampled_from([separators[1]] * 3 + [" : ", "\n:\t"]))
    text = text.replace(f'"data"{separators[1]}"@V@"', f'"data"{colon}"@V@"')
    first, second = draw(_STANDARD), draw(_STANDARD | _VALUES)
    return text.replace("@V@", first).encode(), text.replace("@V@", second).encode()


@budget(6)
@given(pair=_frames())
def test_generated_frames_give_what_the_ordinary_path_gives(pair: Pair) -> None:
    assert_same_all(*pair, pair[0])


@budget(6)
@given(pair=_audio_frames())
def test_google_like_frames_give_what_the_ordinary_path_gives(pair: Pair) -> None:
    assert_same_all(*pair, pair[0])


@budget(2)
@given(pairs=st.lists(_frames() | _audio_frames(), min_size=1, max_size=3))
def test_a_learned_skeleton_never_changes_another_frame(pairs: list[Pair]) -> None:
    assert_same_all(google_audio(), *(frame for pair in pairs for frame in pair))


def test_google_frames_of_every_length_agree() -> None:
    rnd = random.Random(8)
    sizes = (0, 1, 2, 3, 4, 480, 960, 1920, 4800, 24000)
    frames = [google_audio(base64.b64encode(rnd.randbytes(size)).decode()) for size in sizes]
    taken = assert_same_all(*frames)
    assert taken == [False, False, *[True] * (len(sizes) - 2)]  # learned from the 2nd (1 B)
