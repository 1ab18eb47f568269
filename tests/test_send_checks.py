"""The send path: arguments checked at the call, and a cancelled send that changes nothing.

A wrong argument must raise `LocalProtocolError` naming it, before anything is queued,
instead of reaching the server, which closes the whole session with 1007 (or, for an audio
rate of 0, used to crash the emulator and have the client replay the message on every
reconnect). A send cancelled while it waits for room in the queue must leave no trace: the
tool call it answers stays pending, the setup a resume sends stays as it was.
"""

from __future__ import annotations

import array
import base64
import ctypes
import dataclasses
import json
import math
import mmap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import msgspec
import pytest
import trio
import trio.testing

from fake_server import WrappedStream
from trio_gemini_live import (
    Blob,
    CallCancelledError,
    Closed,
    ConfigurationError,
    Content,
    FileData,
    FunctionCall,
    FunctionCallPart,
    FunctionResponse,
    FunctionResponseBlob,
    FunctionResponseFileData,
    FunctionResponsePart,
    InvalidArgumentError,
    LiveSession,
    LocalProtocolError,
    Part,
    Reconnected,
    SessionClosedError,
    SessionOptions,
    TextDelta,
    Tool,
    ToolCallCancellation,
    _codec,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._protocol import LiveProtocol, check_setup
from trio_gemini_live._wire import (
    ClientContent,
    ClientMessage,
    ContextUpdate,
    RealtimeInput,
    Setup,
    ToolResponse,
    ToolsUpdate,
)
from trio_gemini_live.emulator import Emulator, EmulatorConfig, Fault, open_emulator
from trio_gemini_live.emulator._audio import rate_from_mime
from turns import until_event, until_turn_complete

E = TypeVar("E")

TEXT_MODEL = "gemini-live-2.5-flash-preview"
ENDPOINT = url_endpoint("ws://127.0.0.1:9/ws/x.BidiGenerateContent", api_key="k")
WEATHER = function_tool(
    "get_weather",
    "Current weather for a city",
    {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
)


# --- a stalled uplink -------------------------------------------------------------------------


class GatedStream(WrappedStream):
    """A client stream whose writes wait while the gate is closed (a stalled uplink)."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        super().__init__(inner)
        self._gate = trio.Event()
        self._gate.set()
        self.writer_waiting = trio.Event()

    def close_gate(self) -> None:
        self._gate = trio.Event()
        self.writer_waiting = trio.Event()

    def open_gate(self) -> None:
        self._gate.set()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if not self._gate.is_set():
            self.writer_waiting.set()
            await self._gate.wait()
        await self._inner.send_all(data)


@asynccontextmanager
async def gated_session(
    emulator: Emulator, setup: Setup, *, send_buffer: int = 1
) -> AsyncIterator[tuple[LiveSession, list[GatedStream]]]:
    """A session over the emulator whose connections are `GatedStream`s (newest last)."""
    streams: list[GatedStream] = []
    connect = emulator.memory_connector()

    async def connector() -> trio.abc.Stream:
        stream = GatedStream(await connect())
        streams.append(stream)
        return stream

    endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
    options = SessionOptions(send_buffer=send_buffer)
    async with open_session(setup, endpoint=endpoint, options=options, connector=connector) as s:
        yield s, streams


async def stall_and_fill(session: LiveSession, stream: GatedStream, send_buffer: int) -> None:
    """Stall the uplink with the sender holding a frame, then fill the queue behind it."""
    stream.close_gate()
    await session.send_audio(bytes(640))
    await stream.writer_waiting.wait()
    while session.statistics().sends_queued < send_buffer:
        await session.send_audio(bytes(640))


async def first_of(session: LiveSession, kind: type[E]) -> E:
    with trio.fail_after(60):
        async for event in session:
            if isinstance(event, kind):
                return event
    raise AssertionError(f"no {kind.__name__}")


def text_of(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def sent_to(emulator: Emulator, connection: int, key: str) -> list[dict[str, Any]]:
    return [f.data for f in emulator.connections[connection].received if f.data and key in f.data]


# --- item 1: a cancelled send changes nothing -------------------------------------------------


async def test_a_respond_cancelled_while_the_queue_is_full_leaves_the_call_pending(
    autojump_clock: trio.testing.MockClock,
) -> None:
    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER])
    async with open_emulator() as emulator:
        async with gated_session(emulator, setup) as (session, streams):
            await session.send_client_content("What is the weather in Paris?")
            call = await first_of(session, FunctionCall)
            await stall_and_fill(session, streams[-1], 1)
            with trio.move_on_after(1) as scope:
                await session.respond(call.call_id, {"temperature_c": 21})
            assert scope.cancelled_caught
            assert session.pending_tool_calls == {call.call_id: "get_weather"}
            assert session.statistics().pending_tool_calls == 1
            streams[-1].open_gate()
            await session.respond(call.call_id, {"temperature_c": 21})  # the retry is taken
            assert session.pending_tool_calls == {}
            assert "21" in text_of(await until_turn_complete(session))
        assert len(sent_to(emulator, 0, "toolResponse")) == 1


async def test_an_update_context_cancelled_while_the_queue_is_full_changes_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    setup = live_setup(TEXT_MODEL, modality="TEXT", system_instruction="Be brief.")
    brief = Content(parts=[Part(text="Be brief.")], role="user")
    pirate = Content(parts=[Part(text="Talk like a pirate.")], role="user")
    async with (
        open_emulator() as emulator,
        gated_session(emulator, setup) as (session, streams),
    ):
        await stall_and_fill(session, streams[-1], 1)
        with trio.move_on_after(1) as scope:
            await session.update_context(system_instruction="Talk like a pirate.")
        assert scope.cancelled_caught
        assert session.setup is not None
        assert session.setup.system_instruction == brief
        streams[-1].open_gate()
        # A resume sends the setup in force: still without the cancelled update.
        await emulator.connections[0].reset()
        await first_of(session, Reconnected)
        (resumed,) = sent_to(emulator, 1, "setup")
        assert resumed["setup"]["systemInstruction"]["parts"] == [{"text": "Be brief."}]
        await session.update_context(system_instruction="Talk like a pirate.")
        assert session.setup.system_instruction == pirate
        await trio.testing.wait_all_tasks_blocked()
        await emulator.connections[1].reset()
        await first_of(session, Reconnected)
        (resumed,) = sent_to(emulator, 2, "setup")
        assert resumed["setup"]["systemInstruction"]["parts"] == [{"text": "Talk like a pirate."}]
    assert sent_to(emulator, 0, "contextUpdate") == []


async def test_an_update_setup_cancelled_at_the_call_changes_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # It raised Cancelled, yet the session moved to the new setup: trio's rule is that a
    # call that raises Cancelled had no effect (a caller retries, or gives up, on that).
    async with (
        open_emulator() as emulator,
        emulator.open_session(live_setup(TEXT_MODEL, modality="TEXT"), api_key="k") as session,
    ):
        pirate = live_setup(TEXT_MODEL, modality="TEXT", system_instruction="Arr.")
        with trio.CancelScope() as scope:
            scope.cancel()
            await session.update_setup(pirate)
        assert scope.cancelled_caught
        await session.send_text("Are you there?")
        events = await until_turn_complete(session)
        assert not [e for e in events if isinstance(e, Reconnected)]
        await session.update_setup(pirate)  # not cancelled: applied
        await first_of(session, Reconnected)
    assert len(emulator.connections) == 2
    assert emulator.connections[1].setup.system_instruction is not None


class _IdleSender:
    """Stands in for an open connection whose sender is idle: each frame is written at once."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def write_now(self, frame: bytes, kind: str) -> bool:
        self.frames.append(frame)
        return True

    def frame_queued(self) -> None:
        pass

    def answer_written(self) -> None:
        pass


def _session_writing_at_once() -> tuple[LiveSession, _IdleSender]:
    session = LiveSession(ENDPOINT, SessionOptions())
    core = session._core  # pyright: ignore[reportPrivateUsage]
    core.protocol.setup = Setup(model="models/m")
    core.protocol.pending_calls.add("c1", "get_weather")
    connection = _IdleSender()
    core.current = connection  # type: ignore[assignment]
    return session, connection


async def test_state_changes_when_a_frame_is_written_at_once_and_not_when_cancelled() -> None:
    session, connection = _session_writing_at_once()
    with trio.CancelScope() as scope:
        scope.cancel()
        await session.respond("c1", {"ok": True})
    with trio.CancelScope() as scope:
        scope.cancel()
        await session.update_context(system_instruction="new")
    assert connection.frames == []
    assert session.pending_tool_calls == {"c1": "get_weather"}
    assert session.setup == Setup(model="models/m")
    await session.respond("c1", {"ok": True})
    await session.update_context(system_instruction="new")
    assert len(connection.frames) == 2
    assert session.pending_tool_calls == {}
    assert session.setup is not None
    assert session.setup.system_instruction == Content(parts=[Part(text="new")], role="user")


def test_frame_for_changes_nothing_and_commit_records_the_message() -> None:
    protocol = LiveProtocol()
    protocol.setup = Setup(model="models/m")
    protocol.pending_calls.add("c1", "f")
    protocol.pending_calls.add("c2", "g")
    response = FunctionResponse(id="c1", name="f", response={})
    answer = ClientMessage(tool_response=ToolResponse(function_responses=[response]))
    update = ClientMessage(context_update=ContextUpdate(tools=ToolsUpdate(tools=[])))
    frames = [protocol.frame_for(answer), protocol.frame_for(update)]
    assert protocol.pending_calls.as_dict() == {"c1": "f", "c2": "g"}
    assert protocol.setup == Setup(model="models/m")
    protocol.commit(answer)
    protocol.commit(update)
    assert protocol.pending_calls.as_dict() == {"c2": "g"}
    assert protocol.setup.tools == []
    # `send` (and `encode`) still do both, for a sans-IO user who writes at once.
    assert frames[0] == LiveProtocol().encode(answer)


def test_keys_json_writes_as_strings_are_still_sent() -> None:
    # The bytes-for-a-string check read them as they were given (an int key) and refused
    # what JSON sends as a string key, as it always had.
    response = FunctionResponse(id="c1", name="f", response={404: "missing"})
    content = ClientContent(turns=[Content(parts=[Part(function_response=response)])])
    frame = LiveProtocol().frame_for(ClientMessage(client_content=content))
    assert b'{"404":"missing"}' in frame
    setup = check_setup(Setup(model="models/m", avatar_config={1: "x"}, extra={"a": {2: 3}}))
    assert setup.avatar_config == {"1": "x"}


def test_a_part_may_carry_a_thought_and_its_signature_with_its_data() -> None:
    # `thought` and `thoughtSignature` lie outside the `data` oneof; a null member is unset.
    signed = Part(text="x", thought=True, thought_signature=bytearray(b"sig"))
    media = Part(inline_data=Blob(data=memoryview(b"\xff"), mime_type="image/png"), text=None)
    content = ClientContent(turns=[Content(parts=[signed, media], role="user")])
    frame = LiveProtocol().frame_for(ClientMessage(client_content=content))
    assert msgspec.json.decode(frame)["clientContent"]["turns"][0]["parts"] == [
        {"text": "x", "thought": True, "thoughtSignature": "c2ln"},
        {"inlineData": {"data": "/w==", "mimeType": "image/png"}},
    ]


def test_a_part_of_only_a_signature_carries_data_and_an_empty_one_none() -> None:
    # A bare `thoughtSignature` is a part of its own, as the server sends them; a setup's
    # instruction part without data is refused as a turn's is (the server closes with 1007).
    bare = Content(parts=[Part(thought_signature=b"sig")], role="model")
    frame = LiveProtocol().frame_for(ClientMessage(client_content=ClientContent(turns=[bare])))
    assert msgspec.json.decode(frame)["clientContent"]["turns"][0]["parts"] == [
        {"thoughtSignature": "c2ln"}
    ]
    empty = Setup(model="models/m", system_instruction=Content(parts=[Part(text="")]))
    with pytest.raises(ConfigurationError, match=r"^setup\.systemInstruction\.parts\[0\] carries"):
        check_setup(empty)


@pytest.mark.parametrize("mime_type", ["IMAGE/JPEG", "Image/Png", "image/webp"])
async def test_a_video_frame_takes_its_mime_type_in_any_case(mime_type: str) -> None:
    # MIME types ignore case (RFC 2045): `IMAGE/JPEG` was refused as no image type.
    session = _unopened_session()
    await session.send_video(b"\xff\xd8", mime_type=mime_type)
    frame = session._core.outgoing_receive.receive_nowait().frame  # pyright: ignore[reportPrivateUsage]
    assert msgspec.json.decode(frame)["realtimeInput"]["video"]["mimeType"] == mime_type


# --- item 2: wrong arguments are refused at the call ------------------------------------------


@dataclasses.dataclass
class Reading:
    temperature_c: float
    humidity: float


class ReadingStruct(msgspec.Struct):
    temperature_c: float
    humidity: float


def _unopened_session() -> LiveSession:
    """A session with a setup in force (automatic activity detection on), not connected."""
    session = LiveSession(ENDPOINT, SessionOptions())
    core = session._core  # pyright: ignore[reportPrivateUsage]
    core.protocol.setup = live_setup(TEXT_MODEL)
    core.protocol.pending_calls.add("c1", "get_weather")
    return session


Call = Callable[[LiveSession], Awaitable[Any]]


def A(value: object) -> Any:
    """A value of the wrong type, on purpose (for the type checkers)."""
    return value


def _released_view() -> memoryview:
    view = memoryview(bytes(640))
    view.release()
    return view


def _closed_mmap() -> mmap.mmap:
    # Its buffer export fails with a ValueError, which escaped bare.
    buffer = mmap.mmap(-1, 640)
    buffer.close()
    return buffer


class _Samples(bytes):
    """PCM that iterates as NumPy's int16 arrays do: over its samples, each a buffer too."""

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        return (self[i : i + 2] for i in range(0, len(self), 2))


BAD_CALLS: list[tuple[str, Call, str]] = [
    # send_audio: the buffer
    ("audio str", lambda s: s.send_audio(A("hello world!")), r"pcm must be bytes.*not str"),
    ("audio list", lambda s: s.send_audio(A([1, 2, 3, 4])), r"pcm must be .*\(list\)"),
    ("audio None", lambda s: s.send_audio(A(None)), r"pcm must be .*\(NoneType\)"),
    ("audio odd", lambda s: s.send_audio(b"abc"), r"even number of bytes, not 3"),
    (
        "audio float32 view",
        lambda s: s.send_audio(memoryview(array.array("f", [0.5, -0.5]))),
        r"floating-point samples \(memoryview format 'f'\)",
    ),
    (
        "audio float64 array",
        lambda s: s.send_audio(A(array.array("d", [0.5]))),
        r"floating-point samples",
    ),
    (
        "audio int32 view",
        lambda s: s.send_audio(memoryview(array.array("i", [1, 2]))),
        r"format 'i' \(4 bytes each\)",
    ),
    (
        "audio big-endian view",
        lambda s: s.send_audio(memoryview((ctypes.c_int16.__ctype_be__ * 2)())),
        r"format '>h' \(2 bytes each\)",
    ),
    ("audio strided view", lambda s: s.send_audio(memoryview(bytes(8))[::2]), r"non-contiguous"),
    # stereo frames (a NumPy array of shape (n, 2)): sent as they were, heard one channel
    # after the other, at half speed
    (
        "audio stereo frames",
        lambda s: s.send_audio(memoryview(bytes(16)).cast("h", [4, 2])),
        r"^pcm has shape \(4, 2\): samples of more than one channel, but the Live API takes mono",
    ),
    (
        "audio 3-D frames",
        lambda s: s.send_audio(memoryview(bytes(24)).cast("h", [2, 3, 2])),
        r"^pcm has shape \(2, 3, 2\): samples of more than one channel",
    ),
    (
        "audio odd view",
        lambda s: s.send_audio(memoryview(array.array("h", [1, 2, 3])).cast("B")[:5]),
        r"even number of bytes, not 5",
    ),
    ("audio released view", lambda s: s.send_audio(_released_view()), r"^pcm is a released"),
    (
        "audio closed mmap",
        lambda s: s.send_audio(A(_closed_mmap())),
        r"^pcm \(mmap\) has a buffer that cannot be read: mmap closed",
    ),
    # send_audio: the rate
    ("rate 0", lambda s: s.send_audio(bytes(640), sample_rate=0), r"sample_rate.* not 0"),
    ("rate -5", lambda s: s.send_audio(bytes(640), sample_rate=-5), r"sample_rate.* not -5"),
    ("rate str", lambda s: s.send_audio(bytes(640), sample_rate=A("16k")), r"sample_rate.*'16k'"),
    ("rate float", lambda s: s.send_audio(bytes(640), sample_rate=A(44100.5)), r"sample_rate"),
    ("rate bool", lambda s: s.send_audio(bytes(640), sample_rate=True), r"sample_rate.*bool"),
    (
        "rate huge",
        lambda s: s.send_audio(bytes(640), sample_rate=10**12),
        r"sample_rate must be 1000 to 384000 Hz .*, not 1000000000000$",
    ),
    ("rate 999", lambda s: s.send_audio(bytes(640), sample_rate=999), r"1000 to 384000 Hz"),
    ("rate 384001", lambda s: s.send_audio(bytes(640), sample_rate=384_001), r"not 384001"),
    ("empty audio rate", lambda s: s.send_audio(b"", sample_rate=10**12), r"1000 to 384000"),
    ("empty audio str", lambda s: s.send_audio(A("")), r"pcm must be bytes.*not str"),
    # stream_audio
    ("stream one buffer", lambda s: s.stream_audio(A(bytes(640))), r"not one bytes"),
    # iterated as characters, the first of which was refused as "pcm ... not str"
    ("stream one str", lambda s: s.stream_audio(A("AAAA")), r"^chunks must be .*not one str"),
    ("stream int", lambda s: s.stream_audio(A(42)), r"chunks must be an iterable"),
    ("stream rate", lambda s: s.stream_audio([bytes(640)], sample_rate=0), r"sample_rate"),
    ("stream rate huge", lambda s: s.stream_audio([b""], sample_rate=500_000), r"not 500000"),
    ("stream chunk", lambda s: s.stream_audio([A("x")], realtime=False), r"pcm must be bytes"),
    ("stream realtime", lambda s: s.stream_audio([bytes(640)], realtime=A("no")), r"realtime"),
    # the chunks refused as send_audio refuses them, not with a bare ValueError
    (
        "stream released view",
        lambda s: s.stream_audio([_released_view()]),
        r"^pcm is a released memoryview$",
    ),
    (
        "stream released view at once",
        lambda s: s.stream_audio([_released_view()], realtime=False),
        r"^pcm is a released memoryview$",
    ),
    ("stream closed mmap", lambda s: s.stream_audio([A(_closed_mmap())]), r"^pcm \(mmap\) has"),
    # one buffer of samples iterated: a sample a message (NumPy's int16 are buffers too)
    (
        "stream samples",
        lambda s: s.stream_audio(_Samples(bytes(8)), realtime=False),
        r"not one _Samples: pass",
    ),
    ("stream one array", lambda s: s.stream_audio(A(array.array("h", [1, 2]))), r"not one array"),
    (
        "stream one ctypes array",
        lambda s: s.stream_audio(A((ctypes.c_int16 * 320)())),
        r"^chunks must be .*, not one c_short_Array_320: pass \[pcm\]",
    ),
    ("stream one closed mmap", lambda s: s.stream_audio(A(_closed_mmap())), r"not one mmap"),
    # send_text, send_video
    ("text int", lambda s: s.send_text(A(123)), r"text must be a str, not 123 \(int\)"),
    ("text bytes", lambda s: s.send_text(A(b"hi")), r"text must be a str, not bytes"),
    ("text None", lambda s: s.send_text(A(None)), r"text must be a str"),
    ("video str", lambda s: s.send_video(A("jpeg")), r"frame must be bytes"),
    # a lone surrogate (half of a sliced emoji, a `surrogateescape` decode): UTF-8 has
    # none, and a bare UnicodeEncodeError escaped
    ("text surrogate", lambda s: s.send_text("a\ud83d"), r"^text cannot be sent: .*surrogates"),
    # an empty realtimeInput.text is the proto3 default: the server reads it as unset, and
    # nothing answers (it went out as such a frame)
    ("text empty", lambda s: s.send_text(""), r"^text is an empty str: .*read.* as unset"),
    (
        "video mime surrogate",
        lambda s: s.send_video(b"\xff\xd8", mime_type="image/\udc80"),
        r"^mime_type cannot be sent: .*surrogates",
    ),
    ("video mime", lambda s: s.send_video(b"\xff\xd8", mime_type="audio/pcm"), r"image/\*"),
    # an image type without its subtype names no format
    ("video mime bare", lambda s: s.send_video(b"\xff\xd8", mime_type="image/"), r"image/\*"),
    ("video closed mmap", lambda s: s.send_video(A(_closed_mmap())), r"^frame \(mmap\) has a"),
    ("video mime None", lambda s: s.send_video(b"\xff", mime_type=A(None)), r"mime_type must"),
    # send_client_content
    ("turns int", lambda s: s.send_client_content(A(42)), r"turns must be a str, a Content"),
    ("turns bytes", lambda s: s.send_client_content(A(b"hi")), r"turns must be"),
    ("turns empty str", lambda s: s.send_client_content(""), r"turns is an empty str: .*no turns"),
    ("turns of str", lambda s: s.send_client_content(A(["a", "b"])), r"turns\[0\] must be a Con"),
    (
        "turn_complete str",
        lambda s: s.send_client_content("hi", turn_complete=A("yes")),
        r"turn_complete must be a bool",
    ),
    (
        "role assistant",
        lambda s: s.send_client_content(
            [Content(parts=[Part(text="hi")], role="user"), Content(role="assistant")]
        ),
        r"turns\[1\]\.role must be 'user' or 'model', not 'assistant'",
    ),
    # a part with no data (an empty text is read as unset) the server refuses with 1007;
    # only `send_client_content("")` was refused, every other way to send one went out
    (
        "part empty text",
        lambda s: s.send_client_content(Content(parts=[Part(text="")], role="user")),
        r"^\$\.clientContent\.turns\[0\]\.parts\[0\] carries no data",
    ),
    (
        "part without data",
        lambda s: s.send_client_content(Content(parts=[Part(text="a"), Part(thought=True)])),
        r"^\$\.clientContent\.turns\[0\]\.parts\[1\] carries no data",
    ),
    (
        "part without data sent raw",
        lambda s: s.send(
            ClientMessage(client_content=ClientContent(turns=[Content(parts=[Part()])]))
        ),
        r"^\$\.clientContent\.turns\[0\]\.parts\[0\] carries no data",
    ),
    (
        "function response part without data",
        lambda s: s.respond("c1", {}, parts=[FunctionResponsePart()]),
        r"^\$\.toolResponse\.functionResponses\[0\]\.parts\[0\] carries no data",
    ),
    (
        "instruction empty",
        lambda s: s.update_context(system_instruction=""),
        r"^\$\.contextUpdate\.systemInstruction\.parts\[0\] carries no data",
    ),
    (
        "instruction part without data",
        lambda s: s.update_context(system_instruction=Content(parts=[Part(text="")])),
        r"^\$\.contextUpdate\.systemInstruction\.parts\[0\] carries no data",
    ),
    (
        "part str",
        lambda s: s.send_client_content(Content(parts=[A("x")])),
        r"\$\.clientContent\.turns\[0\]\.parts\[0\]",
    ),
    # JSON hid it: the bytes went out as base64 text, the turn "aGk=" instead of "hi"
    (
        "part text bytes",
        lambda s: s.send_client_content(Content(parts=[Part(text=A(b"hi"))])),
        r"got `bytes` - at `\$\.clientContent\.turns\[0\]\.parts\[0\]\.text`",
    ),
    (
        "response name bytes",
        lambda s: s.send_tool_response(FunctionResponse(id="c1", name=A(b"get_weather"))),
        r"name must be a str",
    ),
    # A str in a bytes field: refused in a realtimeInput, it went out as it was here and
    # the server read it as base64 (`"abcd"`: the bytes 69 b7 1d).
    (
        "part data str",
        lambda s: s.send_client_content(Content(parts=[Part(inline_data=Blob(data=A("abcd")))])),
        r"^a field has the wrong type: \$\.clientContent\.turns\[0\]\.parts\[0\]\.inlineData"
        r"\.data must be bytes, bytearray or memoryview, not str$",
    ),
    (
        "part data str not base64",
        lambda s: s.send_client_content(Content(parts=[Part(inline_data=Blob(data=A("hi!")))])),
        r"\.inlineData\.data must be bytes, bytearray or memoryview, not str$",
    ),
    (
        "part thought_signature str",
        lambda s: s.send_client_content(
            Content(parts=[Part(text="x", thought_signature=A("abcd"))])
        ),
        r"\$\.clientContent\.turns\[0\]\.parts\[0\]\.thoughtSignature must be bytes, bytearray",
    ),
    (
        "respond part data str",
        lambda s: s.respond(
            "c1", {}, parts=[FunctionResponsePart(inline_data=FunctionResponseBlob(data=A("abcd")))]
        ),
        r"\$\.toolResponse\.functionResponses\[0\]\.parts\[0\]\.inlineData\.data must be "
        r"bytes, bytearray or memoryview, not str",
    ),
    (
        "instruction part data str",
        lambda s: s.update_context(
            system_instruction=Content(parts=[Part(inline_data=Blob(data=A("abcd")))])
        ),
        r"\$\.contextUpdate\.systemInstruction\.parts\[0\]\.inlineData\.data must be bytes",
    ),
    # Two members of a part's `data` oneof: the server refuses the second with 1007.
    (
        "part text and inlineData",
        lambda s: s.send_client_content(
            Content(parts=[Part(text="look", inline_data=Blob(data=b"\xff\xd8"))])
        ),
        r"^\$\.clientContent\.turns\[0\]\.parts\[0\] sets both text and inlineData: a Part "
        r"holds one of text, inlineData, fileData, functionCall, functionResponse",
    ),
    (
        "part functionCall and text",
        lambda s: s.send_client_content(
            [
                Content(parts=[Part(text="hi")], role="user"),
                Content(
                    parts=[Part(text="x"), Part(function_call=FunctionCallPart(name="f"), text="")],
                    role="model",
                ),
            ]
        ),
        r"^\$\.clientContent\.turns\[1\]\.parts\[1\] sets both text and functionCall",
    ),
    (
        "part dict text and fileData",
        lambda s: s.send(
            ClientMessage(
                client_content=A(
                    {"turns": [{"parts": [{"fileData": {"fileUri": "gs://b/o"}, "text": "x"}]}]}
                )
            )
        ),
        r"^\$\.clientContent\.turns\[0\]\.parts\[0\] sets both text and fileData",
    ),
    (
        "instruction part two members",
        lambda s: s.update_context(
            system_instruction=Content(
                parts=[Part(file_data=FileData(file_uri="gs://b/o"), inline_data=Blob())]
            )
        ),
        r"^\$\.contextUpdate\.systemInstruction\.parts\[0\] sets both inlineData and fileData",
    ),
    (
        "respond part inline and file",
        lambda s: s.respond(
            "c1",
            {},
            parts=[
                FunctionResponsePart(
                    inline_data=FunctionResponseBlob(data=b"x", mime_type="image/png"),
                    file_data=FunctionResponseFileData(file_uri="gs://b/o"),
                )
            ],
        ),
        r"^\$\.toolResponse\.functionResponses\[0\]\.parts\[0\] sets both inlineData and "
        r"fileData: a FunctionResponsePart holds one of inlineData, fileData",
    ),
    # activity signals with automatic activity detection on
    ("activity_start", lambda s: s.activity_start(), r"automatic activity detection off"),
    ("activity_end", lambda s: s.activity_end(), r"automatic activity detection off"),
    # send_tool_response, respond
    ("response str", lambda s: s.send_tool_response(A("c1")), r"responses\[0\] must be a Func"),
    (
        "response list",
        lambda s: s.send_tool_response(FunctionResponse(id="c1", name="f", response=A([1]))),
        r"response must be a dict",
    ),
    (
        "response scheduling",
        lambda s: s.send_tool_response(FunctionResponse(id="c1", name="f", scheduling="LATER")),
        r"scheduling must be one of",
    ),
    (
        "response will_continue",
        lambda s: s.send_tool_response(FunctionResponse(id="c1", name="f", will_continue=A(1))),
        r"\$\.toolResponse\.functionResponses\[0\]\.willContinue",
    ),
    (
        "response none",
        lambda s: s.send_tool_response(),
        r"send_tool_response\(\) needs at least one FunctionResponse",
    ),
    (
        "response list given",
        lambda s: s.send_tool_response(A([FunctionResponse(id="c1", name="f")])),
        r"not one list: unpack it, send_tool_response\(\*responses\)",
    ),
    (
        "send toolResponse empty",
        lambda s: s.send(ClientMessage(tool_response=ToolResponse(function_responses=[]))),
        r"a toolResponse needs at least one function response",
    ),
    ("respond id int", lambda s: s.respond(A(123), {}), r"call_id must be a str"),
    (
        "respond id empty",
        lambda s: s.respond("", {}, name="f"),
        r"^call_id '': .* named 'f', and no call without an id is pending",
    ),
    (
        "send_tool_response id empty",
        lambda s: s.send_tool_response(FunctionResponse(name="f", response={})),
        r"^responses\[0\]: .* named 'f', and no call without an id is pending",
    ),
    ("respond name", lambda s: s.respond("c1", {}, name=A(5)), r"name must be a str"),
    ("respond object", lambda s: s.respond("c1", object()), r"'c1' cannot be sent as JSON"),
    ("respond scheduling", lambda s: s.respond("c1", {}, scheduling="soon"), r"scheduling"),
    # Nested past the recursion limit: a bare RecursionError escaped from msgspec
    ("respond deep", lambda s: s.respond("c1", _deep(DEEP)), r"'c1' is nested too deeply"),
    (
        "respond deep with parts",
        lambda s: s.respond("c1", _deep(DEEP), parts=[FunctionResponsePart()]),
        r"'c1' is nested too deeply",
    ),
    (
        "response deep",
        lambda s: s.send_tool_response(FunctionResponse(id="c1", name="f", response=_deep(DEEP))),
        r"response is nested too deeply",
    ),
    (
        "send content deep",
        lambda s: s.send(ClientMessage(client_content=A({"turns": [_deep(DEEP)]}))),
        r"cannot encode the message: maximum recursion depth exceeded",
    ),
    # which of several responses cannot be encoded: it named none
    (
        "responses, the second unencodable",
        lambda s: s.send_tool_response(
            FunctionResponse(id="c1", name="f", response={"a": 1}),
            FunctionResponse(id="c9", name="f", response={"a": {(1,): 2}}),
        ),
        r"^cannot encode the message \(function response 'c9', functionResponses\[1\]\): ",
    ),
    # NaN and infinities: JSON has neither, msgspec wrote them as null
    ("respond nan", lambda s: s.respond("c1", math.nan), r"NaN or an infinity at `\$\.result`"),
    (
        "respond inf inside",
        lambda s: s.respond("c1", {"r": [1.0, (2.0, -math.inf)]}),
        r"at `\$\.r\[1\]\[1\]`",
    ),
    (
        "response nan",
        lambda s: s.send_tool_response(
            FunctionResponse(id="c1", name="f", response={"t": math.nan})
        ),
        r"NaN or an infinity at `\$\.t`",
    ),
    # ... also inside what msgspec encodes as objects and arrays (it sent null there)
    (
        "respond nan dataclass",
        lambda s: s.respond("c1", Reading(math.nan, 0.5)),
        r"at `\$\.result\.temperature_c`",
    ),
    (
        "respond inf struct",
        lambda s: s.respond("c1", {"r": ReadingStruct(21.0, math.inf)}),
        r"at `\$\.r\.humidity`",
    ),
    ("respond nan set", lambda s: s.respond("c1", {"v": {math.nan}}), r"at `\$\.v\[0\]`"),
    ("respond inf key", lambda s: s.respond("c1", {1: [-math.inf]}), r"at `\$\.1\[0\]`"),
    (
        "response inf dataclass",
        lambda s: s.send_tool_response(
            FunctionResponse(id="c1", name="f", response={"r": Reading(21.0, math.inf)})
        ),
        r"function response 'c1': response holds NaN or an infinity at `\$\.r\.humidity`",
    ),
    (
        "respond will_continue",
        lambda s: s.respond("c1", {}, will_continue=A("yes")),
        r"will_continue must be a bool",
    ),
    (
        "respond one part",
        lambda s: s.respond("c1", {}, parts=A(FunctionResponsePart())),
        r"parts must be a sequence of FunctionResponsePart",
    ),
    (
        "respond part dict",
        lambda s: s.respond("c1", {}, parts=[A({"inlineData": {}})]),
        r"parts\[0\] must be a FunctionResponsePart",
    ),
    (
        "respond part data int",
        lambda s: s.respond(
            "c1",
            {},
            parts=[FunctionResponsePart(inline_data=FunctionResponseBlob(data=A(5)))],
        ),
        r"\$\.toolResponse\.functionResponses\[0\]\.parts\[0\]\.inlineData\.data",
    ),
    (
        "tool response part uri int",
        lambda s: s.send_tool_response(
            FunctionResponse(
                id="c1",
                name="get_weather",
                parts=[FunctionResponsePart(file_data=FunctionResponseFileData(file_uri=A(5)))],
            )
        ),
        r"\$\.toolResponse\.functionResponses\[0\]\.parts\[0\]\.fileData\.fileUri",
    ),
    # update_context
    (
        "tools of str",
        lambda s: s.update_context(tools=A(["x"])),
        r"tools\[0\] must be a Tool or a FunctionDeclaration, not 'x'",
    ),
    # a dict for a declaration met the snake_case schema conversion as an AttributeError
    (
        "tool declaration dict",
        lambda s: s.update_context(tools=[Tool(function_declarations=A([{"name": "f"}]))]),
        r"tools\[0\]\.function_declarations\[0\] must be a FunctionDeclaration .*, not \{",
    ),
    (
        "tool declaration str",
        lambda s: s.update_context(tools=[Tool(function_declarations=A(["x"]))]),
        r"tools\[0\]\.function_declarations\[0\] must be a FunctionDeclaration .*, not 'x'",
    ),
    ("tools one", lambda s: s.update_context(tools=A(Tool())), r"tools must be a sequence"),
    ("tools str", lambda s: s.update_context(tools=A("x")), r"tools must be a sequence"),
    (
        "tools one declaration",
        lambda s: s.update_context(tools=A(WEATHER)),
        r"tools must be a sequence of Tool and/or FunctionDeclaration",
    ),
    (
        "instruction int",
        lambda s: s.update_context(system_instruction=A(5)),
        r"system_instruction must be a str or a Content",
    ),
    # send
    ("send dict", lambda s: s.send(A({"realtimeInput": {}})), r"message must be a ClientMessage"),
    # the session reads a realtimeInput's fields to know its kind (an activity signal is
    # never replayed onto a connection with automatic activity detection on): a dict
    # raised a bare AttributeError there
    (
        "send realtimeInput dict",
        lambda s: s.send(ClientMessage(realtime_input=A({"text": "hi"}))),
        r"message\.realtime_input must be a RealtimeInput, not \{",
    ),
    (
        "send activity dict",
        lambda s: s.send(ClientMessage(realtime_input=A({"activityStart": {}}))),
        r"message\.realtime_input must be a RealtimeInput",
    ),
    (
        "send text int",
        lambda s: s.send(ClientMessage(realtime_input=RealtimeInput(text=A(5)))),
        r"\$\.realtimeInput\.text cannot be int",
    ),
    (
        "send audio str",
        lambda s: s.send(
            ClientMessage(realtime_input=RealtimeInput(audio=Blob(data=A("AAAA"), mime_type="x")))
        ),
        r"\$\.realtimeInput\.audio\.data must be bytes",
    ),
    # a dict where a struct belongs passed the encoding, then recording the message's
    # effect raised AttributeError after it was queued; NaN went out as null
    (
        "send toolResponse dict",
        lambda s: s.send(ClientMessage(tool_response=A({"functionResponses": []}))),
        r"message\.tool_response must be a ToolResponse, not \{",
    ),
    (
        "send response dict",
        lambda s: s.send(
            ClientMessage(
                tool_response=ToolResponse(function_responses=[A({"id": "c1", "name": "f"})])
            )
        ),
        r"function_responses\[0\] must be a FunctionResponse",
    ),
    (
        "send response nan",
        lambda s: s.send(
            ClientMessage(
                tool_response=ToolResponse(
                    function_responses=[
                        FunctionResponse(id="c1", name="f", response={"t": [math.nan]})
                    ]
                )
            )
        ),
        r"function response 'c1': response holds NaN or an infinity at `\$\.t\[0\]`",
    ),
    # Compiled (the default build), a typed read of these raised a bare TypeError first.
    (
        "send response id int",
        lambda s: s.send(
            ClientMessage(
                tool_response=ToolResponse(
                    function_responses=[FunctionResponse(id=A(5), name="f", response={})]
                )
            )
        ),
        r"function response \[0\]: id must be a str or None, not 5 \(int\)",
    ),
    (
        "send_tool_response id int",
        lambda s: s.send_tool_response(FunctionResponse(id=A(5), name="f", response={})),
        r"function response \[0\]: id must be a str or None, not 5 \(int\)",
    ),
    (
        "send responses None",
        lambda s: s.send(ClientMessage(tool_response=ToolResponse(function_responses=A(None)))),
        r"function_responses must be a list of FunctionResponse, not None",
    ),
    (
        "send mediaChunks tuple",
        lambda s: s.send(
            ClientMessage(
                realtime_input=RealtimeInput(media_chunks=A((Blob(data=b"\0\0", mime_type="x"),)))
            )
        ),
        r"\$\.realtimeInput\.mediaChunks must be a list, not tuple",
    ),
    (
        "send contextUpdate dict",
        lambda s: s.send(ClientMessage(context_update=A({"systemInstruction": None}))),
        r"message\.context_update must be a ContextUpdate",
    ),
    (
        "send tools str",
        lambda s: s.send(
            ClientMessage(context_update=ContextUpdate(tools=ToolsUpdate(tools=A(["x"]))))
        ),
        r"\$\.contextUpdate\.tools\.tools\[0\]",
    ),
]


DEEP = 100_000
"""Past Python's recursion limit (1000) and the C one msgspec meets on 3.12 and later."""


def _deep(depth: int) -> dict[str, object]:
    """A JSON object nested `depth` levels deep (`DEEP`: past the recursion limits)."""
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    ("call", "match"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
async def test_a_wrong_argument_is_refused_at_the_call_and_nothing_is_queued(
    call: Call, match: str
) -> None:
    session = _unopened_session()
    with pytest.raises(LocalProtocolError, match=match):
        await call(session)
    assert session.statistics().sends_queued == 0
    assert session.pending_tool_calls == {"c1": "get_weather"}


async def test_a_refused_call_leaves_the_session_working(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator:
        setup = live_setup(TEXT_MODEL, modality="TEXT")
        async with emulator.open_session(setup, api_key="k") as session:
            for call, _match in [c[1:] for c in BAD_CALLS]:
                with pytest.raises(LocalProtocolError):
                    await call(session)
            await session.send_text("Are you there?")
            assert "Are you there?" in text_of(await until_turn_complete(session))
    (connection,) = emulator.connections
    assert [next(iter(f.data)) for f in connection.received if f.data] == [
        "setup",
        "realtimeInput",
    ]
    assert connection.close_code == 1000


# --- empty audio sends nothing --------------------------------------------------------------


@pytest.mark.parametrize(
    "empty",
    [b"", bytearray(), memoryview(b""), array.array("h"), memoryview(bytes(4))[2:2]],
    ids=["bytes", "bytearray", "memoryview", "array", "slice"],
)
async def test_empty_audio_sends_nothing(empty: Any) -> None:
    # An empty read at the end of a microphone or file stream: before, a frame with no
    # audio in it went out (`data` omitted, as proto3 omits empty bytes).
    session = _unopened_session()
    await session.send_audio(empty)
    await session.send_audio(empty, sample_rate=48000)
    assert await session.stream_audio([empty, empty], realtime=False) == 0  # none went
    assert session.statistics().sends_queued == 0


@pytest.mark.parametrize(
    "empty", [b"", bytearray(), memoryview(b"")], ids=["bytes", "bytearray", "memoryview"]
)
async def test_an_empty_video_frame_sends_nothing_as_empty_audio_does(empty: Any) -> None:
    # It went out as a video message with no data (proto3 reads an empty `data` as unset).
    session = _unopened_session()
    await session.send_video(empty)
    await session.send_video(empty, mime_type="image/png")
    assert session.statistics().sends_queued == 0
    with pytest.raises(LocalProtocolError, match=r"image/\*"):
        await session.send_video(empty, mime_type="audio/pcm")  # checked all the same
    session._core.closing = True  # pyright: ignore[reportPrivateUsage]
    with pytest.raises(SessionClosedError):
        await session.send_video(empty)


async def test_empty_audio_on_a_closed_session_still_raises() -> None:
    session = _unopened_session()
    session._core.closing = True  # pyright: ignore[reportPrivateUsage]
    with pytest.raises(SessionClosedError):
        await session.send_audio(b"")
    for chunks in ([], [b""], _no_chunks()):
        # Nothing to send returned 0 where a chunk raised.
        with pytest.raises(SessionClosedError):
            await session.stream_audio(chunks)


async def _no_chunks() -> AsyncIterator[bytes]:
    for chunk in ():
        yield chunk


async def test_empty_audio_on_a_session_the_server_ended_still_raises(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A close the session does not resume from (1000, say) ends it without an error:
    # the empty chunk returned, where any other raised `SessionClosedError`.
    async with (
        open_emulator() as emulator,
        emulator.open_session(live_setup(TEXT_MODEL), api_key="k") as session,
    ):
        emulator.connections[0].inject(Fault(kind="close", code=1000, reason=""))
        async for _ in session:
            pass
        with pytest.raises(SessionClosedError):
            await session.send_audio(bytes(2))
        with pytest.raises(SessionClosedError):
            await session.send_audio(b"")
        with pytest.raises(SessionClosedError):
            await session.stream_audio([], realtime=False)


async def test_send_client_content_with_no_turns_asks_for_an_answer() -> None:
    # What the error for an empty str points to: it is sent, and means "respond now".
    session = _unopened_session()
    await session.send_client_content()
    receive = session._core.outgoing_receive  # pyright: ignore[reportPrivateUsage]
    assert json.loads(receive.receive_nowait().frame) == {"clientContent": {"turnComplete": True}}


# --- item 3: PCM in any buffer, counted in bytes, never copied --------------------------------


class _Rate:
    """An integer type other than `int` (as NumPy's are)."""

    def __index__(self) -> int:
        return 8000


async def test_pcm_is_encoded_from_the_callers_buffer_and_counted_in_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[ClientMessage] = []
    real = _codec._encoder  # pyright: ignore[reportPrivateUsage]

    class Recorder:
        def encode(self, message: ClientMessage) -> bytes:
            seen.append(message)
            return real.encode(message)

    monkeypatch.setattr(_codec, "_encoder", Recorder())
    samples = array.array("h", [1, -2, 3])
    little_endian = (ctypes.c_int16.__ctype_le__ * 3)(1, -2, 3)
    buffers: list[Any] = [
        bytes(samples),
        bytearray(samples),
        memoryview(samples),  # 3 items, 6 bytes
        memoryview(bytes(samples)).cast("h"),
        memoryview(bytearray(samples)),
        memoryview(little_endian),  # format '<h'
        memoryview(bytes(samples)).cast("h", [3, 1]),  # a column: mono
        memoryview(bytes(samples)).cast("h", [1, 3]),  # a row (channels first): mono
        memoryview(bytes(samples)).cast("B", [3, 2]),  # bytes in rows are raw bytes
        samples,  # any buffer: taken as a memoryview of it
    ]
    session = LiveSession(ENDPOINT, SessionOptions())
    for buffer in buffers:
        await session.send_audio(buffer, sample_rate=A(_Rate()))
    receive = session._core.outgoing_receive  # pyright: ignore[reportPrivateUsage]
    for buffer, message in zip(buffers, seen, strict=True):
        assert message.realtime_input is not None
        audio = message.realtime_input.audio
        assert audio is not None
        # The very buffer given (or a view of it), not a copy of the PCM.
        data: Any = audio.data
        assert data is buffer or (isinstance(data, memoryview) and data.obj is buffer)
        frame = json.loads(receive.receive_nowait().frame)
        assert frame["realtimeInput"]["audio"]["mimeType"] == "audio/pcm;rate=8000"
        assert base64.b64decode(frame["realtimeInput"]["audio"]["data"]) == bytes(samples)


# --- item 2, emulator: a bad audio rate is a 1007 close, not a crash --------------------------


def test_the_emulator_reads_only_a_positive_integer_rate() -> None:
    assert rate_from_mime("audio/pcm") == 16000
    assert rate_from_mime("audio/pcm;rate=24000") == 24000
    assert rate_from_mime("audio/pcm; Rate = 48000") == 48000
    for bad in ("rate=0", "rate=-5", "rate=16k", "rate=", "rate=²"):
        assert rate_from_mime(f"audio/pcm;{bad}") is None


async def test_the_emulator_closes_audio_at_rate_0_with_1007_and_nothing_is_replayed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        open_emulator() as emulator,
        emulator.open_session(live_setup(TEXT_MODEL, modality="TEXT"), api_key="k") as session,
    ):
        # `send` takes any MIME type; `send_audio` would refuse the rate itself.
        blob = Blob(data=bytes(640), mime_type="audio/pcm;rate=0")
        await session.send(ClientMessage(realtime_input=RealtimeInput(audio=blob)))
        closed = await first_of(session, Closed)
        with pytest.raises(InvalidArgumentError):
            await session.receive()
    assert (closed.code, closed.reason) == (1007, "Request contains an invalid argument.")
    assert len(emulator.connections) == 1


# --- item 4: answering a call cancelled by a reconnect ----------------------------------------


async def test_answering_a_call_cancelled_by_a_reconnect_says_so_with_or_without_name(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator(EmulatorConfig()) as emulator:
        setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER])
        async with emulator.open_session(setup, api_key="k") as session:
            await session.send_client_content("What is the weather in Paris?")
            call = await first_of(session, FunctionCall)
            emulator.connections[0].inject(Fault(kind="reset"))
            seen: list[Any] = []
            with trio.fail_after(60):
                await until_event(session, Reconnected, seen)
            (cancellation,) = [e for e in seen if isinstance(e, ToolCallCancellation)]
            assert (cancellation.ids, cancellation.reason) == ((call.call_id,), "reconnect")
            for name in (None, "get_weather"):
                # The class an async tool racing the move catches to drop its result.
                with pytest.raises(
                    CallCancelledError, match="was cancelled when the session"
                ) as info:
                    await session.respond(call.call_id, {"temperature_c": 21}, name=name)
                assert (info.value.call_id, info.value.reason) == (call.call_id, "reconnect")
            answer = FunctionResponse(id=call.call_id, name="get_weather", response={})
            with pytest.raises(CallCancelledError, match="was cancelled when the session"):
                await session.send_tool_response(answer)
    assert all(sent_to(emulator, n, "toolResponse") == [] for n in range(2))


async def test_answering_a_call_the_server_cancelled_or_one_answered_says_which(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Both used to say "unknown tool call id" with three possible causes; the facade
    # could not tell a cancelled call (whose result it drops) from an unknown one.
    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER])
    async with open_emulator() as emulator, gated_session(emulator, setup) as (session, _):
        await session.send_client_content("What is the weather in Paris?")
        call = await first_of(session, FunctionCall)
        await session.send_client_content("Never mind.")  # a barge-in: the call is cancelled
        cancellation = await first_of(session, ToolCallCancellation)
        assert cancellation.ids == (call.call_id,)
        # A tool racing the barge-in catches exactly this class (still a LocalProtocolError),
        # and none of the programming errors below.
        with pytest.raises(CallCancelledError, match="was cancelled by the server") as info:
            await session.respond(call.call_id, {"temperature_c": 21})
        assert isinstance(info.value, LocalProtocolError)
        assert (info.value.call_id, info.value.reason) == (call.call_id, None)
        await until_turn_complete(session)
        await session.send_client_content("What is the weather in Bern?")
        call = await first_of(session, FunctionCall)
        await session.respond(call.call_id, {"temperature_c": 3})
        with pytest.raises(LocalProtocolError, match="was answered already") as refused:
            await session.respond(call.call_id, {"temperature_c": 3})
        assert not isinstance(refused.value, CallCancelledError)
        with pytest.raises(LocalProtocolError, match="unknown tool call id 'nope'") as refused:
            await session.respond("nope", {})
        assert not isinstance(refused.value, CallCancelledError)
    assert len(sent_to(emulator, 0, "toolResponse")) == 1


async def test_a_client_content_dict_is_sent_as_given(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """`send` takes a `clientContent` given as its JSON object, on purpose.

    The session records nothing of it (unlike a `realtimeInput`'s kind, a `toolResponse`'s
    answered calls or a `contextUpdate`'s setup), and the frame is checked by reading it
    back as the server would.
    """
    setup = live_setup(TEXT_MODEL, modality="TEXT")
    turn = {
        "turns": [{"role": "user", "parts": [{"text": "Are you there?"}]}],
        "turnComplete": True,
    }
    async with open_emulator() as emulator, gated_session(emulator, setup) as (session, _):
        await session.send(ClientMessage(client_content=A(turn)))
        assert "Are you there?" in text_of(await until_turn_complete(session))
    assert sent_to(emulator, -1, "clientContent") == [{"clientContent": turn}]


@pytest.mark.parametrize("how", ["respond", "send_tool_response"])
async def test_a_multimodal_function_response_reaches_the_server(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    """`FunctionResponse.parts` (google-genai's multimodal function responses) is sent, and
    the emulator, strict as Google's parser, takes it."""
    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER])
    parts = [
        FunctionResponsePart(
            inline_data=FunctionResponseBlob(
                mime_type="image/png", data=b"\x89PNG", display_name="map.png"
            )
        ),
        FunctionResponsePart(
            file_data=FunctionResponseFileData(
                file_uri="gs://bucket/forecast.pdf", mime_type="application/pdf"
            )
        ),
    ]
    async with open_emulator() as emulator, gated_session(emulator, setup) as (session, _):
        await session.send_text("What is the weather in Bern?")
        call = await first_of(session, FunctionCall)
        if how == "respond":
            await session.respond(call.call_id, {"temperature_c": 3}, parts=parts)
        else:
            await session.send_tool_response(
                FunctionResponse(
                    id=call.call_id,
                    name=call.name,
                    response={"temperature_c": 3},
                    parts=parts,
                )
            )
        assert session.pending_tool_calls == {}
        await until_turn_complete(session)  # the emulator answered: it took the frame
        (response,) = sent_to(emulator, -1, "toolResponse")[0]["toolResponse"]["functionResponses"]
    assert response["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw==", "displayName": "map.png"}},
        {"fileData": {"fileUri": "gs://bucket/forecast.pdf", "mimeType": "application/pdf"}},
    ]


@pytest.mark.parametrize("how", ["respond", "send_tool_response"])
async def test_a_call_that_came_without_an_id_is_answered_without_one(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    """Vertex tolerates a call and its response without an id (protocol.md 2.4).

    Such a call reached the application as `FunctionCall(call_id="")`, and both ways of
    answering refused the empty id: the call could not be answered at all.
    """
    from trio_gemini_live import ServerMessage
    from trio_gemini_live._wire import FunctionCallPart, ToolCallMessage

    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER])
    async with open_emulator() as emulator, gated_session(emulator, setup) as (session, _):
        call = FunctionCallPart(name="get_weather", args={"city": "Bern"})
        await emulator.connections[-1].send(
            ServerMessage(tool_call=ToolCallMessage(function_calls=[call]))
        )
        event = await first_of(session, FunctionCall)
        assert (event.call_id, event.name) == ("", "get_weather")
        assert session.pending_tool_calls == {"": "get_weather"}
        if how == "respond":
            await session.respond(event.call_id, {"temperature_c": 3})
        else:
            await session.send_tool_response(
                FunctionResponse(name="get_weather", response={"temperature_c": 3})
            )
        assert session.pending_tool_calls == {}
        await trio.testing.wait_all_tasks_blocked()  # written, and read by the emulator
        (response,) = sent_to(emulator, -1, "toolResponse")[0]["toolResponse"]["functionResponses"]
        assert response == {"name": "get_weather", "response": {"temperature_c": 3}}
        # With no call pending under "", an empty id is still refused.
        with pytest.raises(LocalProtocolError, match="no call without an id is pending"):
            await session.respond("", {}, name="get_weather")


@pytest.mark.parametrize("call_id", ["c1", ""])
@pytest.mark.parametrize("second", ["respond", "send_tool_response"])
async def test_two_answers_to_one_call_waiting_for_room_together_send_one(
    autojump_clock: trio.testing.MockClock, call_id: str, second: str
) -> None:
    """A call answered while another answer to it waits for room in the queue is refused.

    Both passed the "is it pending" check (a call leaves the pending calls once its
    response is queued), and both responses were sent. The first answer holds the call
    from the start of its wait; cancelled before it is queued, it lets the call go.
    """
    from trio_gemini_live import ServerMessage
    from trio_gemini_live._wire import FunctionCallPart, ToolCallMessage

    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER])
    config = EmulatorConfig(vertex=True, reject_unknown_tool_responses=False)

    async def answer(n: int) -> None:
        if second == "respond":
            await session.respond(call_id, {"n": n})
        else:
            await session.send_tool_response(
                FunctionResponse(id=call_id or None, name="get_weather", response={"n": n})
            )

    async with (
        open_emulator(config) as emulator,
        gated_session(emulator, setup) as (session, streams),
    ):
        call = FunctionCallPart(name="get_weather", args={}, id=call_id or None)
        await emulator.connections[-1].send(
            ServerMessage(tool_call=ToolCallMessage(function_calls=[call]))
        )
        await first_of(session, FunctionCall)
        await stall_and_fill(session, streams[-1], 1)
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                first = trio.CancelScope()

                async def answer_first() -> None:
                    with first:
                        await session.respond(call_id, {"n": 1})

                nursery.start_soon(answer_first)
                await trio.testing.wait_all_tasks_blocked()
                # Still pending while its answer waits, but taken.
                assert session.pending_tool_calls == {call_id: "get_weather"}
                with pytest.raises(LocalProtocolError, match="already on its way"):
                    await answer(2)
                first.cancel()  # before it was queued: the call can be answered again
                await trio.testing.wait_all_tasks_blocked()
                assert session.pending_tool_calls == {call_id: "get_weather"}
                nursery.start_soon(answer, 3)
                await trio.testing.wait_all_tasks_blocked()
                streams[-1].open_gate()
            assert session.pending_tool_calls == {}
            await trio.testing.wait_all_tasks_blocked()
    (frame,) = sent_to(emulator, -1, "toolResponse")
    (response,) = frame["toolResponse"]["functionResponses"]
    assert response["response"] == {"n": 3}


# --- several calls without an id in flight (Vertex AI) ----------------------------------------

TIME = function_tool("get_time", "The time in a city", {"type": "OBJECT", "properties": {}})


@asynccontextmanager
async def vertex_calls_without_ids(
    *names: str, options: SessionOptions | None = None
) -> AsyncIterator[tuple[Emulator, LiveSession]]:
    """A session on the Vertex emulator that got one id-less call per name, in one toolCall.

    The emulator's Vertex flavour gives every call a UUID, so the calls are sent as frames;
    it does not know them, and must not close the session on their responses.
    """
    from trio_gemini_live import ServerMessage
    from trio_gemini_live._wire import FunctionCallPart, ToolCallMessage

    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER, TIME])
    config = EmulatorConfig(vertex=True, reject_unknown_tool_responses=False)
    async with (
        open_emulator(config) as emulator,
        emulator.open_session(setup, options=options) as s,
    ):
        calls = [FunctionCallPart(name=name, args={"n": n}) for n, name in enumerate(names)]
        await emulator.connections[-1].send(
            ServerMessage(tool_call=ToolCallMessage(function_calls=calls))
        )
        events = [await first_of(s, FunctionCall) for _ in names]
        assert [(event.call_id, event.name) for event in events] == [("", n) for n in names]
        yield emulator, s


def answers_sent(emulator: Emulator) -> list[dict[str, Any]]:
    frames = sent_to(emulator, -1, "toolResponse")
    return [answer for f in frames for answer in f["toolResponse"]["functionResponses"]]


@pytest.mark.parametrize("how", ["respond", "respond by name", "send_tool_response"])
async def test_calls_without_an_id_in_flight_together_are_each_answered(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    """Two id-less calls at once shared one pending entry under "".

    The second overwrote the first: `pending_tool_calls` and its count showed one call,
    the first response settled both, and a second `respond("")` was refused.
    """
    async with vertex_calls_without_ids("get_weather", "get_time") as (emulator, session):
        assert session.statistics().pending_tool_calls == 2
        assert session.pending_tool_calls == {"": "get_weather"}  # the oldest: answered next
        if how == "respond":
            await session.respond("", {"temperature_c": 3})
            assert session.statistics().pending_tool_calls == 1
            assert session.pending_tool_calls == {"": "get_time"}
            await session.respond("", {"time": "noon"})
        elif how == "respond by name":
            await session.respond("", {"time": "noon"}, name="get_time")
            assert session.pending_tool_calls == {"": "get_weather"}
            await session.respond("", {"temperature_c": 3})
        else:
            # In one message, the later call first: each answers the call of its name.
            await session.send_tool_response(
                FunctionResponse(name="get_time", response={"time": "noon"}),
                FunctionResponse(name="get_weather", response={"temperature_c": 3}),
            )
        assert session.pending_tool_calls == {}
        assert session.statistics().pending_tool_calls == 0
        await trio.testing.wait_all_tasks_blocked()  # written, and read by the emulator
        answers = {answer["name"]: answer["response"] for answer in answers_sent(emulator)}
        assert answers == {"get_weather": {"temperature_c": 3}, "get_time": {"time": "noon"}}
        assert all("id" not in answer for answer in answers_sent(emulator))
        with pytest.raises(LocalProtocolError, match="no call without an id is pending"):
            await session.respond("", {})
        assert emulator.connections[-1].close_code is None  # the session is still open


async def test_a_response_without_an_id_must_match_a_pending_call_without_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Such responses went out and answered nothing (or, before, settled the one entry "").
    async with vertex_calls_without_ids("get_weather") as (emulator, session):
        with pytest.raises(LocalProtocolError, match=r"^name: .* named 'get_time', and no such"):
            await session.respond("", {}, name="get_time")
        with pytest.raises(LocalProtocolError, match=r"^responses\[0\]: .*named 'get_time'"):
            await session.send_tool_response(FunctionResponse(name="get_time", response={}))
        # Two responses for the one call: the second is left without a call.
        with pytest.raises(LocalProtocolError, match=r"^responses\[1\]: .*: none left\)"):
            await session.send_tool_response(
                FunctionResponse(name="get_weather", response={}),
                FunctionResponse(name="get_weather", response={}),
            )
        assert session.pending_tool_calls == {"": "get_weather"}
        await trio.testing.wait_all_tasks_blocked()
        assert answers_sent(emulator) == []


async def test_a_resume_cancels_each_pending_call_without_an_id(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with vertex_calls_without_ids("get_weather", "get_time") as (emulator, session):
        emulator.connections[-1].inject(Fault(kind="reset"))
        seen: list[Any] = []
        with trio.fail_after(60):
            async for event in session:
                seen.append(event)
                if isinstance(event, Reconnected):
                    break
        (cancellation,) = [e for e in seen if isinstance(e, ToolCallCancellation)]
        assert cancellation == ToolCallCancellation(ids=("", ""), reason="reconnect")
        assert session.pending_tool_calls == {}
        # Said as for a call with an id, not "no call without an id is pending".
        with pytest.raises(LocalProtocolError, match=r"^tool call '' was cancelled when"):
            await session.respond("", {})
        with pytest.raises(LocalProtocolError, match=r"^tool call '' was cancelled when"):
            await session.send_tool_response(FunctionResponse(name="get_time", response={}))


async def test_a_tuple_of_function_responses_answers_the_call(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Any sequence encodes as the JSON array; compiled, a typed read of the field raised
    # a bare TypeError for a tuple.
    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[WEATHER])
    async with (
        open_emulator() as emulator,
        emulator.open_session(setup, api_key="k") as session,
    ):
        await session.send_client_content("What is the weather in Paris?")
        call = await first_of(session, FunctionCall)
        answer = FunctionResponse(id=call.call_id, name=call.name, response={"temp_c": 21})
        responses: Any = (answer,)
        await session.send(ClientMessage(tool_response=ToolResponse(function_responses=responses)))
        assert session.pending_tool_calls == {}
        assert "21" in text_of(await until_turn_complete(session))
