"""Sessions survive goAway and retryable drops; fatal closes and spent budgets fail typed.

Everything runs in memory against the emulator under `autojump_clock`, so a 10-minute
connection lifetime or a 45 s heartbeat limit takes no real time.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gc
import logging
import random
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import msgspec
import pytest
import trio
import trio.testing
import trio_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage

from fake_server import (
    FakeServer,
    SlowUplinkStream,
    StickingConnector,
    StuckUplinkStream,
    accept_setup,
    pretty,
)
from trio_gemini_live import (
    AudioDelta,
    Closed,
    ConnectionClosedError,
    FunctionCall,
    FunctionCallDelta,
    FunctionCallPart,
    GoAway,
    InvalidArgumentError,
    LiveSession,
    QuotaExceededError,
    RealtimeEvent,
    Reconnected,
    ReconnectFailedError,
    ReconnectPolicy,
    ResumptionUpdate,
    ServerMessage,
    SessionClosedError,
    SessionOptions,
    SessionState,
    SessionUpdated,
    TextDelta,
    ToolCallCancellation,
    ToolCallMessage,
    TurnComplete,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._supervisor import UNCONFIRMED
from trio_gemini_live._wire import (
    AutomaticActivityDetection,
    Blob,
    ClientMessage,
    RealtimeInput,
    RealtimeInputConfig,
    Setup,
)
from trio_gemini_live.emulator import Emulator, EmulatorConfig, Fault, Frame, Pacing, open_emulator
from turns import tone, until_audio, until_event

PCM16 = "audio/pcm;rate=16000"
MODEL = "gemini-live-2.5-flash-preview"

WEATHER = function_tool(
    "get_weather",
    "Weather for a city",
    {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
)


@asynccontextmanager
async def session_on(
    emulator: Emulator, *, options: SessionOptions | None = None, **setup_options: object
) -> AsyncIterator[LiveSession]:
    setup = live_setup(MODEL, modality="TEXT", **setup_options)  # type: ignore[arg-type]
    async with emulator.open_session(setup, api_key="test-key", options=options) as session:
        yield session


@asynccontextmanager
async def heard_session(setup: Setup) -> AsyncIterator[tuple[Emulator, LiveSession]]:
    """A session on an emulator that records what its model heard (`record_heard`).

    Answers play in real time, and the session resumes at once after a drop.
    """
    options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))
    config = EmulatorConfig(pacing="realtime", record_heard=True)
    resumption = setup.session_resumption
    # Transparent resumption is Vertex AI's: the Gemini API refuses the field (1007).
    vertex = resumption is not None and bool(resumption.transparent)
    async with open_emulator(config) as emulator:
        url = emulator.vertex_endpoint_url() if vertex else emulator.endpoint_url()
        endpoint = url_endpoint(url, api_key="test-key")
        async with open_session(
            setup, endpoint=endpoint, connector=emulator.memory_connector(), options=options
        ) as session:
            yield emulator, session


async def next_turn(session: LiveSession, seen: list[RealtimeEvent]) -> str:
    """Collect events up to the next TurnComplete; return the turn's text."""
    text: list[str] = []
    async for event in session:
        seen.append(event)
        if isinstance(event, TextDelta):
            text.append(event.text)
        if isinstance(event, TurnComplete):
            return "".join(text)
    raise AssertionError("the session ended before the turn completed")


async def test_go_away_moves_to_a_new_connection_with_the_handle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = EmulatorConfig(lifetime=600, go_away_warning=50)
    # The emulator answers in no virtual time, so its handle is read within any real round
    # trip of "first"; with the default window "first" would be replayed as possibly not
    # covered (see the handle-window tests). This test is about the switch itself.
    options = SessionOptions(reconnect=ReconnectPolicy(handle_window=0))
    async with open_emulator(config) as emulator, session_on(emulator, options=options) as session:
        seen: list[RealtimeEvent] = []
        await session.send_client_content("first")
        assert "first" in await next_turn(session, seen)
        with trio.fail_after(700):
            await until_event(session, Reconnected, seen)
        go_away = next(e for e in seen if isinstance(e, GoAway))
        reconnected = seen[-1]
        assert isinstance(reconnected, Reconnected)
        assert reconnected.reason == "goAway"
        assert go_away.time_left == 50
        # The switch happened at goAway, well before the deadline, while idle.
        assert trio.current_time() < 560
        await session.send_client_content("second")
        assert "second" in await next_turn(session, seen)
        assert len(emulator.connections) == 2
        first_handle = emulator.connections[1].received[0].data["setup"]["sessionResumption"]
        assert first_handle["handle"]
        assert emulator.connections[0].closed
        assert session.statistics().reconnects == 1
    assert not any(isinstance(e, Closed) for e in seen)


@pytest.mark.parametrize("move", ["goAway", "reconfigure"])
async def test_a_move_waits_for_a_slow_reader_and_loses_no_event(
    autojump_clock: trio.testing.MockClock, move: str
) -> None:
    # The receiver waits for the user to take an event (a full channel) when the session
    # is ready to move: the move must not cancel that delivery (it lost the `GoAway`, or
    # the `TurnComplete` and what followed it in the same read).
    config = EmulatorConfig(lifetime=60, go_away_warning=50)  # goAway at 10 s
    options = SessionOptions(event_buffer=1)
    async with open_emulator(config) as emulator, session_on(emulator, options=options) as session:
        seen: list[RealtimeEvent] = []
        with trio.fail_after(60):
            if move == "goAway":
                seen += [await session.receive(), await session.receive()]
                await trio.sleep(15)  # busy elsewhere when goAway arrives
            else:
                await session.send_client_content("hello")
            async for event in session:
                seen.append(event)
                if isinstance(event, TextDelta) and move == "reconfigure":
                    await session.update_setup(
                        live_setup(MODEL, modality="TEXT", system_instruction="Be brief.")
                    )
                if isinstance(event, Reconnected):
                    break
                await trio.sleep(0.5)  # a slow reader
        kinds = [type(event) for event in seen]
        expected = GoAway if move == "goAway" else TurnComplete
        assert expected in kinds
        assert kinds.index(expected) < kinds.index(Reconnected)


def _answer_audio(frames: list[Frame]) -> int:
    """Bytes of answer audio in the frames a connection of the emulator sent."""
    return sum(
        len(base64.b64decode(part["inlineData"]["data"]))
        for frame in frames
        for part in frame.data.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    )


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_reader_busy_past_the_go_away_deadline_loses_no_audio(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # The user stops reading right after `goAway` (at 3 s, in the middle of a 6.6 s answer
    # paced in real time) until well past the deadline (53 s). Leaving the connection at
    # the deadline cancelled the delivery the receiver waited on and closed a socket that
    # still held the rest of the answer: 171 kB of its audio and its `TurnComplete` were
    # lost without a word. The server's own close comes after all of it.
    config = EmulatorConfig(lifetime=53, go_away_warning=50, pacing="realtime")
    options = SessionOptions(event_buffer=1, transport=transport)
    async with (
        open_emulator(config) as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="AUDIO"), api_key="test-key", options=options
        ) as session,
    ):
        seen: list[RealtimeEvent] = []
        await session.send_client_content("x" * 100)
        with trio.fail_after(600):
            async for event in session:
                seen.append(event)
                if isinstance(event, GoAway):
                    await trio.sleep(100)  # busy elsewhere, past the deadline
                if isinstance(event, Reconnected):
                    break
    audio_sent = _answer_audio(emulator.connections[0].sent)
    assert audio_sent > 300_000  # the whole answer went out on the first connection
    assert sum(len(e.pcm) for e in seen if isinstance(e, AudioDelta)) == audio_sent
    kinds = [type(event) for event in seen]
    assert kinds.index(GoAway) < kinds.index(TurnComplete) < kinds.index(Reconnected)


@pytest.mark.parametrize("pacing", ["burst", "realtime"])
@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_setup_change_while_the_reader_is_away_hands_over_the_whole_answer(
    autojump_clock: trio.testing.MockClock, transport: str, pacing: Pacing
) -> None:
    # The user stops reading (a full one-event channel) as the answer begins, until past
    # the move's bound (10 s); another task calls `update_setup`. The receiver, behind on
    # the user since before the answer's first frame, made the protocol look idle: once
    # the user read again the move went at once, mid-answer. Over "websockets" it then
    # ended the connection at once too, which cancelled the receiver, and the rest of the
    # answer the server had sent (waiting in the socket and in the transport) was dropped
    # without a word: with the whole answer sent (burst), the user saw 250 kB of its 1.3
    # MB, then `Reconnected`. Paced in real time (27 s), the answer was cut off at 20 s,
    # although a reader behind at the bound has the session read on to the turn's end.
    options = SessionOptions(event_buffer=1, transport=transport)
    story = "Tell me a very long story about the sea, the sky, the wind and the boats " * 6
    async with (
        open_emulator(EmulatorConfig(pacing=pacing)) as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="AUDIO"), api_key="test-key", options=options
        ) as session,
    ):
        await session.send_client_content(story)
        seen = [await session.receive()]

        async def change_setup() -> None:
            await trio.sleep(1)
            await session.update_setup(live_setup(MODEL, modality="AUDIO", voice="Kore"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(change_setup)
            await trio.sleep(20)  # busy elsewhere
        with trio.fail_after(60):
            await until_event(session, Reconnected, seen)
    first = emulator.connections[0]
    assert any(frame.get("serverContent.turnComplete") for frame in first.sent)
    heard = sum(len(event.pcm) for event in seen if isinstance(event, AudioDelta))
    assert heard == _answer_audio(first.sent) > 1_000_000
    kinds = [type(event) for event in seen]
    assert kinds.index(TurnComplete) < kinds.index(Reconnected)


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_setup_change_at_its_bound_cuts_the_answer_and_hands_over_what_came(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # A reader that keeps up, an answer (27 s, paced in real time) longer than
    # `setup_timeout` (10 s): the move goes at the bound, mid-answer. What the user gets,
    # as concepts.md says: every event of the part the old connection sent, no
    # `TurnComplete`, then `Reconnected` and `SessionUpdated`, then the new connection's
    # answer under the next `turn_id`.
    options = SessionOptions(event_buffer=1, transport=transport)
    story = "Tell me a very long story about the sea, the sky, the wind and the boats " * 6
    async with (
        open_emulator(EmulatorConfig(pacing="realtime")) as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="AUDIO"), api_key="test-key", options=options
        ) as session,
    ):
        await session.send_client_content(story)
        seen: list[RealtimeEvent] = []
        with trio.fail_after(120):
            first_audio = await until_event(session, AudioDelta, seen)
            asked = trio.current_time()
            await session.update_setup(live_setup(MODEL, modality="AUDIO", voice="Kore"))
            await until_event(session, Reconnected, seen)
            moved_after = trio.current_time() - asked
            await until_event(session, TurnComplete, seen)
    assert 10.0 <= moved_after < 10.5
    cut = seen.index(next(e for e in seen if isinstance(e, Reconnected)))
    before, after = seen[:cut], seen[cut + 1 :]
    assert not any(isinstance(event, TurnComplete) for event in before)
    heard = sum(len(event.pcm) for event in before if isinstance(event, AudioDelta))
    assert heard == _answer_audio(emulator.connections[0].sent) > 0
    assert isinstance(after[0], SessionUpdated)
    resumed = [event for event in after if isinstance(event, AudioDelta)]
    assert resumed
    assert {event.turn_id for event in resumed} == {first_audio.turn_id + 1}


@pytest.mark.parametrize(
    ("first", "expected_s"),
    [("update_setup", 3.0 - 2.0), ("goAway", 10.0)],
    ids=["update_setup then goAway", "goAway then update_setup"],
)
async def test_a_second_move_request_brings_the_move_forward_and_a_setup_change_names_it(
    autojump_clock: trio.testing.MockClock, first: str, expected_s: float
) -> None:
    # Both in the middle of a long answer, so the move waits for the earlier bound: the
    # goAway's deadline less `go_away_margin` (2 s), or `setup_timeout` (10 s). A move
    # already pending ignored the second request: after an `update_setup`, a goAway(3 s)
    # was never followed (the server closed with 1008 at its deadline, a drop with reason
    # ""); after a goAway(50 s), the `update_setup` waited for the answer's end (27 s),
    # named "goAway".
    model = "gemini-2.5-flash-native-audio-preview-12-2025"
    story = "Tell me a very long story about the sea, the sky, the wind and the boats " * 6
    async with (
        open_emulator(EmulatorConfig(pacing="realtime")) as emulator,
        emulator.open_session(live_setup(model), api_key="test-key") as session,
    ):
        await session.send_client_content(story)
        connection = emulator.connections[0]
        seen: list[RealtimeEvent] = []
        with trio.fail_after(120):
            await connection.wait_for_sent("serverContent.modelTurn")
            began = trio.current_time()
            changed = live_setup(model, system_instruction="Be brief.")
            if first == "update_setup":
                await session.update_setup(changed)
                await connection.go_away(3.0)
            else:
                await connection.go_away(50.0)
                await until_event(session, GoAway, seen)
                await session.update_setup(changed)
            reconnected = await until_event(session, Reconnected, seen)
        moved_after = trio.current_time() - began
        assert not any(isinstance(e, TurnComplete) for e in seen)  # still answering
        assert expected_s <= moved_after < expected_s + 0.5
        assert (reconnected.reason, reconnected.setup_changed) == ("reconfigure", True)
        assert (connection.closed_by, connection.close_code) == ("client", 1000)
        assert connection.close_reason == "goAway"  # the server's reason to leave it
        resumed_setup = emulator.connections[1].received[0].data["setup"]
        assert resumed_setup["systemInstruction"]["parts"][0]["text"] == "Be brief."


async def test_a_setup_change_a_go_away_move_carries_is_named_reconfigure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Idle, the goAway move is under way by the time its `GoAway` is read; the setup
    # change made then rides on the move's connection. It was reported as
    # `Reconnected(reason="goAway", setup_changed=True)`.
    async with open_emulator() as emulator, session_on(emulator) as session:
        await emulator.connections[0].go_away(10.0)
        with trio.fail_after(30):
            await until_event(session, GoAway)
            await session.update_setup(
                live_setup(MODEL, modality="TEXT", system_instruction="Be brief.")
            )
            reconnected = await until_event(session, Reconnected)
    assert (reconnected.reason, reconnected.setup_changed) == ("reconfigure", True)
    assert len(emulator.connections) == 2  # one move carried both


async def test_an_utterance_cut_by_a_drop_is_heard_whole_after_the_resume(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The second utterance barges in on the first answer: the emulator issues a handle at
    # the interruption, covering every message received, the start of that utterance
    # included (held by its VAD). The client rightly replays only what came after; the
    # resumed emulator had dropped the VAD's audio and heard 0.84 s of the 1.1 s.
    loud = tone(320)
    quiet = bytes(640)
    script = [loud] * 50 + [quiet] * 75 + [loud] * 50 + [quiet] * 100  # 20 ms chunks
    setup = msgspec.structs.replace(
        live_setup("gemini-2.5-flash-native-audio-preview-12-2025", transparent_resumption=True),
        realtime_input_config=RealtimeInputConfig(
            automatic_activity_detection=AutomaticActivityDetection(prefix_padding_ms=300)
        ),
    )
    async with heard_session(setup) as (emulator, session):
        reconnected: list[Reconnected] = []

        async def listen() -> None:
            async for event in session:
                if isinstance(event, Reconnected):
                    reconnected.append(event)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(listen)
            for index, chunk in enumerate(script):
                if index == 155:  # 0.6 s into the second utterance
                    await emulator.connections[0].reset()
                await session.send_audio(chunk)
                await trio.sleep(0.02)
            await trio.sleep(5)
            nursery.cancel_scope.cancel()
    assert len(reconnected) == 1
    assert len(emulator.connections) == 2
    history = emulator.connections[1].session.history
    heard = [turn["audio_s"] for turn in history if turn["role"] == "user"]
    # 1 s of speech and the 0.1 s before it the VAD keeps, as without the drop.
    assert heard == [1.0, 1.1]
    # The record of what the model took in says the same: every chunk, once. Without the
    # VAD's audio in the handle the resumed record lacked what the VAD held at the drop.
    assert emulator.connections[1].session.heard == [chunk[:4] for chunk in script]


async def test_a_manual_turn_cut_by_a_drop_is_heard_whole_after_the_resume(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # With manual activity, the second `activityStart` barges in: the handle issued at the
    # interruption covers it, so the client rightly does not replay it; the resumed
    # emulator had forgotten the open activity, ignored the audio and the `activityEnd`,
    # and the whole turn went unanswered.
    loud = tone(320)
    setup = live_setup(
        "gemini-2.5-flash-native-audio-preview-12-2025",
        automatic_vad=False,
        transparent_resumption=True,
    )
    async with heard_session(setup) as (emulator, session):

        async def listen() -> None:
            async for _ in session:
                pass

        async def speak(chunks: int, drop_at: int | None = None) -> None:
            await session.activity_start()
            for index in range(chunks):
                if index == drop_at:
                    await emulator.connections[0].reset()
                await session.send_audio(loud)
                await trio.sleep(0.02)
            await session.activity_end()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(listen)
            await speak(50)
            await trio.sleep(0.5)  # the answer is playing
            await speak(50, drop_at=15)
            await trio.sleep(5)
            nursery.cancel_scope.cancel()
    assert len(emulator.connections) == 2
    history = emulator.connections[1].session.history
    assert [turn["audio_s"] for turn in history if turn["role"] == "user"] == [1.0, 1.0]
    assert emulator.connections[1].session.heard == [loud[:4]] * 100


@pytest.mark.parametrize("how", ["clientContent", "realtimeInput.text"])
async def test_a_question_that_barges_in_survives_a_drop(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    # The second question interrupts the first answer. The emulator issued a handle at the
    # interruption, before the question was in its state, yet covering it (its index): the
    # client rightly did not replay it, and the resumed session never heard it.
    setup = live_setup(MODEL, modality="AUDIO", transparent_resumption=True)
    async with heard_session(setup) as (emulator, session):

        async def listen() -> None:
            async for _ in session:
                pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(listen)
            await session.send_client_content("tell me a long story " * 5)
            await trio.sleep(1)  # the answer is playing
            if how == "clientContent":
                await session.send_client_content("second question")
            else:
                await session.send_text("second question")
            await trio.sleep(0.5)  # its answer is playing
            await emulator.connections[0].reset()
            await trio.sleep(30)
            nursery.cancel_scope.cancel()
    assert len(emulator.connections) == 2
    history = emulator.connections[1].session.history
    assert "second question" in [turn["text"] for turn in history if turn["role"] == "user"]
    heard = emulator.connections[1].session.heard
    # What the model took in (texts cut to 64 characters): each question once.
    assert heard == [("tell me a long story " * 5)[:64], "second question"]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(
            kind="close",
            code=1011,
            reason="Internal error encountered.",
            connection=1,
            after_received=2,
        ),
        Fault(kind="close", code=1001, reason="going away", connection=1, after_received=2),
        Fault(kind="reset", connection=1, after_received=2),
    ],
    ids=["1011", "1001", "tcp-reset"],
)
async def test_retryable_drop_resumes_and_the_conversation_continues(
    autojump_clock: trio.testing.MockClock, fault: Fault
) -> None:
    config = EmulatorConfig(faults=(fault,))
    async with open_emulator(config) as emulator, session_on(emulator) as session:
        seen: list[RealtimeEvent] = []
        await session.send_client_content("one")
        with trio.fail_after(60):
            await until_event(session, Reconnected, seen)
        # "one" reached the first connection but was never answered: it is replayed.
        with trio.fail_after(60):
            assert "one" in await next_turn(session, seen)
        await session.send_client_content("two")
        with trio.fail_after(60):
            assert "two" in await next_turn(session, seen)
        reconnected = next(e for e in seen if isinstance(e, Reconnected))
        assert reconnected.attempts >= 1
        assert reconnected.replayed == 1
        assert len(emulator.connections) >= 2


async def test_fatal_close_is_not_retried(autojump_clock: trio.testing.MockClock) -> None:
    fault = Fault(
        kind="close", code=1007, reason="Request contains an invalid argument.", after_received=2
    )
    async with open_emulator(EmulatorConfig(faults=(fault,))) as emulator:
        with pytest.raises(InvalidArgumentError) as info:
            async with session_on(emulator) as session:
                await session.send_client_content("one")
                with trio.fail_after(60):
                    async for _ in session:
                        pass
        assert info.value.code == 1007
        assert len(emulator.connections) == 1


async def test_quota_close_is_not_retried(autojump_clock: trio.testing.MockClock) -> None:
    fault = Fault(
        kind="close",
        code=1011,
        after_received=2,
        reason="You exceeded your current quota, please check your plan",
    )
    async with open_emulator(EmulatorConfig(faults=(fault,))) as emulator:
        with pytest.raises(QuotaExceededError):
            async with session_on(emulator) as session:
                await session.send_client_content("one")
                with trio.fail_after(60):
                    async for _ in session:
                        pass
        assert len(emulator.connections) == 1


async def test_spent_budget_raises_a_typed_error(autojump_clock: trio.testing.MockClock) -> None:
    # The first connection drops after the first message; every later one drops at once.
    faults = (
        Fault(kind="reset", after_received=2, connection=1),
        *tuple(Fault(kind="reset", connection=n) for n in range(2, 12)),
    )
    policy = ReconnectPolicy(max_attempts=3, initial_delay=1, max_delay=2)
    options = SessionOptions(reconnect=policy)
    start = trio.current_time()
    async with open_emulator(EmulatorConfig(faults=faults)) as emulator:
        with pytest.raises(ReconnectFailedError, match="3 attempt"):
            async with session_on(emulator, options=options) as session:
                await session.send_client_content("one")
                with trio.fail_after(120):
                    async for _ in session:
                        pass
        assert len(emulator.connections) == 4
    assert trio.current_time() - start < 60


async def test_a_server_that_falls_silent_after_each_resume_spends_the_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """`setupComplete`, then silence, on every connection: the heartbeat ends each one.

    Each such connection lived past `stable_after` (the heartbeat waits `silence_limit`)
    and renewed the budget, so the session reconnected to it forever, once a minute.
    """
    faults = (Fault(kind="blackhole", after_received=2, connection=1), Fault(kind="blackhole"))
    policy = ReconnectPolicy(max_attempts=3, initial_delay=1, max_delay=2, max_elapsed=600)
    options = SessionOptions(reconnect=policy, ping_interval=5, silence_limit=15)
    async with open_emulator(EmulatorConfig(faults=faults)) as emulator:
        with pytest.raises(ReconnectFailedError, match="3 attempt"):
            async with session_on(emulator, options=options) as session:
                await session.send_client_content("one")
                with trio.fail_after(600):
                    async for _ in session:
                        pass
        assert len(emulator.connections) == 4


async def test_a_send_waiting_for_room_while_resuming_ends_with_the_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A send that waits for room during an outage waits at most for the reconnect budget.

    The queue outlives connections, so while the network is gone `send_*` fills it and then
    waits; when the budget runs out, the waiting send raises the session's error rather
    than wait for a connection that will never come.
    """
    policy = ReconnectPolicy(initial_delay=1, max_delay=2, jitter=0, max_elapsed=20)
    options = SessionOptions(send_buffer=2, reconnect=policy)
    async with open_emulator() as emulator:
        memory = emulator.memory_connector()

        async def connector() -> trio.abc.Stream:
            if emulator.connections:
                raise OSError("network is unreachable")  # every resume fails to connect
            return await memory()

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        with trio.fail_after(120), pytest.raises(ReconnectFailedError) as info:
            async with open_session(
                live_setup(MODEL, modality="TEXT"),
                endpoint=endpoint,
                connector=connector,
                options=options,
            ) as session:
                await emulator.connections[0].reset()
                dropped = trio.current_time()
                while True:  # the third waits for room
                    await session.send_text("are you there?")
    assert trio.current_time() - dropped <= policy.max_elapsed + options.connect_timeout
    assert "network is unreachable" in str(info.value)
    # The two that filled the queue were never written: said so, not dropped in silence.
    [line] = session.not_sent
    assert line.startswith("realtimeInput.text: 2 message(s), ")
    assert line.endswith(" bytes (never written)")


async def test_go_away_on_young_connections_moves_at_once_and_spends_no_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The first connection drops. Every connection then gets `goAway` a second after it
    # opens, long before `stable_after`: each move is deliberate, so none waits a backoff or
    # uses up the two attempts, and the moves end the outage: a drop after more than
    # `max_elapsed` of them is a new outage, with its own budget.
    config = EmulatorConfig(
        lifetime=4, go_away_warning=3, faults=(Fault(kind="reset", after_received=2, connection=1),)
    )
    policy = ReconnectPolicy(max_attempts=2, max_elapsed=5, initial_delay=1, jitter=0)
    options = SessionOptions(reconnect=policy)
    async with open_emulator(config) as emulator, session_on(emulator, options=options) as session:
        await session.send_client_content("one")
        reconnected: list[Reconnected] = []
        with trio.fail_after(30):
            async for event in session:
                if isinstance(event, Reconnected):
                    reconnected.append(event)
                    if len(reconnected) == 8:
                        break
        assert trio.current_time() > policy.max_elapsed
        await emulator.connections[-1].reset()
        with trio.fail_after(30):
            async for event in session:
                if isinstance(event, Reconnected) and event.reason != "goAway":
                    reconnected.append(event)
                    break
        await session.send_client_content("still here")
        with trio.fail_after(30):
            while "still here" not in await next_turn(session, []):
                pass  # an answer still in progress, interrupted by "still here"
    drop, *moves, second_drop = reconnected
    assert drop.reason == second_drop.reason == ""
    assert drop.attempts == second_drop.attempts == 1
    assert all(e.reason == "goAway" for e in moves)
    assert [e.attempts for e in moves] == [1] * 7
    # Past `max_attempts` young moves in a row, each waits a backoff delay (1, 2, 4, 5, 5 s):
    # a server saying goAway after every resume is followed, not in a tight loop.
    assert all(e.duration < policy.initial_delay for e in moves[:2])
    waits = [1, 2, 4, 5, 5]
    for wait, move in zip(waits, moves[2:], strict=True):
        assert wait <= move.duration < wait + policy.initial_delay


async def test_a_server_that_drops_after_a_deliberate_move_still_runs_out_of_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The first connection drops; the second, resumed, gets `goAway` and the session moves;
    # every later connection drops at once. The move was free and ended the first outage;
    # the drops after it make a new one, with a budget of three attempts: no endless loop.
    faults = (
        Fault(kind="reset", after_received=2, connection=1),
        *tuple(Fault(kind="reset", connection=n) for n in range(3, 12)),
    )
    policy = ReconnectPolicy(max_attempts=3, initial_delay=1, max_delay=2)
    options = SessionOptions(reconnect=policy)
    async with open_emulator(EmulatorConfig(faults=faults)) as emulator:
        with pytest.raises(ReconnectFailedError, match="3 attempt"):
            async with session_on(emulator, options=options) as session:
                await session.send_client_content("one")
                with trio.fail_after(120):
                    second = await emulator.wait_for_connection(2)
                    await second.wait_for_sent("setupComplete")
                    await second.go_away(30)
                    async for _ in session:
                        pass
        # 1 dropped; 2 resumed and left; 3 (the move) dropped; 4, 5 and 6 dropped.
        assert len(emulator.connections) == 6


async def test_silent_peer_is_detected_and_resumed(autojump_clock: trio.testing.MockClock) -> None:
    fault = Fault(kind="blackhole", after_received=2, connection=1)
    options = SessionOptions(ping_interval=5, silence_limit=20)
    async with (
        open_emulator(EmulatorConfig(faults=(fault,))) as emulator,
        session_on(emulator, options=options) as session,
    ):
        await session.send_client_content("one")
        seen: list[RealtimeEvent] = []
        with trio.fail_after(120):
            await until_event(session, Reconnected, seen)
        reconnected = seen[-1]
        assert isinstance(reconnected, Reconnected)
        assert "keepalive" in reconnected.reason
        # Detected within the bound: silence limit + one ping interval + close timeout.
        assert reconnected.duration < 20 + 5 + options.close_timeout + 5


async def test_slow_pongs_with_frames_flowing_do_not_kill_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fault = Fault(kind="pong-delay", seconds=30)
    async with (
        open_emulator(EmulatorConfig(faults=(fault,))) as emulator,
        session_on(emulator) as session,
    ):
        seen: list[RealtimeEvent] = []
        for index in range(12):  # two minutes of conversation, a turn every 10 s
            await session.send_client_content(f"turn {index}")
            with trio.fail_after(30):
                assert f"turn {index}" in await next_turn(session, seen)
            await trio.sleep(10)
        assert session.statistics().reconnects == 0
        assert len(emulator.connections) == 1


async def test_heartbeat_off_when_idle_still_detects_no_false_positive_with_slow_pongs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Idle (no frames) but pongs arrive within the limit: the session stays up."""
    fault = Fault(kind="pong-delay", seconds=25)
    async with (
        open_emulator(EmulatorConfig(faults=(fault,))) as emulator,
        session_on(emulator) as session,
    ):
        await trio.sleep(300)
        assert session.statistics().reconnects == 0
        await session.send_client_content("still there")
        with trio.fail_after(30):
            assert "still there" in await next_turn(session, [])


async def test_pending_tool_call_is_cancelled_on_resume(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        open_emulator(EmulatorConfig()) as emulator,
        session_on(emulator, functions=[WEATHER]) as session,
    ):
        await session.send_client_content("What is the weather? call get_weather")
        seen: list[RealtimeEvent] = []
        with trio.fail_after(30):
            await until_event(session, FunctionCall, seen)
        call_id = session.pending_tool_calls
        assert call_id, "the emulator should have called the tool"
        emulator.connections[0].inject(Fault(kind="reset"))
        with trio.fail_after(60):
            await until_event(session, Reconnected, seen)
        cancellations = [e for e in seen if isinstance(e, ToolCallCancellation)]
        assert cancellations
        assert cancellations[-1].reason == "reconnect"
        assert set(cancellations[-1].ids) == set(call_id)
        with pytest.raises(Exception, match="cancelled"):
            await session.respond(next(iter(call_id)), {"temp": 21}, name="get_weather")


async def test_a_call_still_streaming_its_arguments_is_cancelled_on_resume(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Not pending yet (its last piece never came), but no less lost with the connection:
    # the move's cancellation names it, and no FunctionCall follows its delta.
    async with open_emulator(EmulatorConfig()) as emulator, session_on(emulator) as session:
        opening = FunctionCallPart(name="book", id="c9", will_continue=True)
        await emulator.connections[0].send(
            ServerMessage(tool_call=ToolCallMessage(function_calls=[opening]))
        )
        seen: list[RealtimeEvent] = []
        with trio.fail_after(30):
            async for event in session:
                seen.append(event)
                if isinstance(event, FunctionCallDelta):
                    break
        assert session.pending_tool_calls == {}
        emulator.connections[0].inject(Fault(kind="reset"))
        with trio.fail_after(60):
            async for event in session:
                seen.append(event)
                if isinstance(event, Reconnected):
                    break
    cancellations = [e for e in seen if isinstance(e, ToolCallCancellation)]
    assert [(c.ids, c.reason) for c in cancellations] == [(("c9",), "reconnect")]
    assert not [e for e in seen if isinstance(e, FunctionCall)]


async def test_a_busy_reader_does_not_spend_the_reconnect_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A drop with a tool call pending and the event channel full: the session hands the
    # call's cancellation to the reader before resuming, and waits for it. A reader busy for
    # longer than max_elapsed (a slow tool) made the session fail with 0 attempts made.
    options = SessionOptions(event_buffer=1)
    async with (
        open_emulator(EmulatorConfig()) as emulator,
        session_on(emulator, functions=[WEATHER], options=options) as session,
    ):
        await session.send_client_content("What is the weather? call get_weather")
        seen: list[RealtimeEvent] = []
        with trio.fail_after(30):
            await until_event(session, FunctionCall)
            await trio.sleep(2)  # the receiver reads on: a resumption update fills the channel
        assert session.pending_tool_calls
        assert session.statistics().events_buffered == 1  # the channel is full
        emulator.connections[0].inject(Fault(kind="reset"))
        await trio.sleep(options.reconnect.max_elapsed + 10)  # running the tool
        with trio.fail_after(60):
            await until_event(session, Reconnected, seen)
        assert any(isinstance(event, ToolCallCancellation) for event in seen)
        assert len(emulator.connections) == 2


async def test_replay_overflow_is_reported_not_silent(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="trio_gemini_live")
    policy = ReconnectPolicy(replay_limit_bytes=4000)
    options = SessionOptions(reconnect=policy)
    async with open_emulator() as emulator:
        setup = live_setup("gemini-2.5-flash-native-audio-preview-12-2025")
        async with emulator.open_session(setup, api_key="k", options=options) as session:
            for _ in range(10):  # quiet audio: no turn, so no new handle covers it
                await session.send_audio(bytes(640))
            await trio.testing.wait_all_tasks_blocked()
            await emulator.connections[0].reset()
            with trio.fail_after(30):
                event = await until_event(session, Reconnected)
    assert isinstance(event, Reconnected)
    assert event.replayed >= 1
    assert event.not_replayed
    (summary,) = event.not_replayed
    assert summary.startswith("realtimeInput.audio: ")
    assert "replay buffer overflow" in summary
    assert event.replayed + event.not_replayed_messages == 10
    # In the log too, for an operator who does not read the event's fields.
    warned = [r.getMessage() for r in caplog.records if "not replayed" in r.getMessage()]
    assert warned == [
        f"resumed with {event.not_replayed_messages} message(s) not replayed: {summary}"
    ]


def test_reconnect_failed_error_keeps_the_last_error_and_pickles() -> None:
    import pickle

    from trio_gemini_live import PolicyViolationError

    last = PolicyViolationError(1008, "Requested entity was not found.")
    error = ReconnectFailedError("could not resume", last)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == "could not resume"
    assert isinstance(copy.last_error, PolicyViolationError)
    assert copy.last_error.code == 1008


def test_replay_overflow_bookkeeping_stays_bounded() -> None:
    from trio_gemini_live._resume import MESSAGE_OVERHEAD, ReplayBuffer

    buffer = ReplayBuffer(limit_bytes=10 * (10 + MESSAGE_OVERHEAD))
    for index in range(100_000):
        buffer.add(index, b"x" * 10, "realtimeInput.audio", 0.0)
    buffer.add(100_000, b"y" * 10, "toolResponse", 0.0)
    plan = buffer.take()
    assert len(plan.replay) == 9
    assert plan.not_replayed == (
        "realtimeInput.audio: 99991 message(s), 999910 bytes (replay buffer overflow)",
        "toolResponse: 1 message(s), 10 bytes (answers a call of the old connection)",
    )
    assert plan.not_replayed_messages == 99_992


@pytest.mark.parametrize(
    "message",
    [
        ClientMessage(realtime_input=RealtimeInput(text="a")),
        ClientMessage(realtime_input=RealtimeInput(audio=Blob(data=b"\0\0", mime_type=PCM16))),
        ClientMessage(realtime_input=RealtimeInput(audio=Blob(data=bytes(640), mime_type=PCM16))),
    ],
    ids=["one-letter text", "2-byte audio", "640-byte audio"],
)
def test_a_full_replay_buffer_takes_at_most_about_1_5_times_its_limit(
    message: ClientMessage,
) -> None:
    # concepts.md: "up to about 1.5 times its limit in memory however small the messages".
    # The limit counted frame bytes alone: small messages took 1.6 (640-byte audio), 3.5
    # (2-byte audio) and 6.2 (one-letter texts) times it, their bookkeeping uncounted.
    from trio_gemini_live._codec import encode_client
    from trio_gemini_live._resume import ReplayBuffer

    limit = 1 << 20
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        buffer = ReplayBuffer(limit_bytes=limit)
        for index in range(1, 3 * limit // len(encode_client(message))):
            # Fresh frames, indices and times, as each send makes them.
            buffer.add(index, encode_client(message), "realtimeInput", index / 1000)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert limit - 1000 < buffer.size_bytes <= limit  # full
    assert held <= 1.5 * limit


async def test_leaving_during_a_backoff_returns_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The block's exit used to wait for the backoff (bounded by 2 * close_timeout)."""
    policy = ReconnectPolicy(initial_delay=30, max_delay=30, jitter=0, max_elapsed=300)
    options = SessionOptions(reconnect=policy)
    async with open_emulator(EmulatorConfig()) as emulator:
        async with session_on(emulator, options=options) as session:
            emulator.connections[0].inject(Fault(kind="reset"))  # a drop: 30 s to the next try
            await trio.sleep(5)
            assert session.statistics().reconnects == 0
            left_at = trio.current_time()
        assert trio.current_time() - left_at < 0.1
        await trio.sleep(60)
        assert len(emulator.connections) == 1  # no attempt after the exit


async def test_what_a_close_during_an_outage_leaves_unwritten_is_reported(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """`aclose` during an outage returns at once, and says what it leaves unwritten.

    The messages queued meanwhile were dropped without a word: the session closed with a
    plain `Closed`, and `aclose` promised they would be written first.
    """
    policy = ReconnectPolicy(initial_delay=30, max_delay=30, jitter=0, max_elapsed=300)
    options = SessionOptions(reconnect=policy)
    async with (
        open_emulator(EmulatorConfig()) as emulator,
        session_on(emulator, options=options) as session,
    ):
        emulator.connections[0].inject(Fault(kind="reset"))  # a drop: 30 s to the next try
        await trio.sleep(5)
        await session.send_text("still there?")
        await session.send_text("hello?")
        assert session.not_sent == ()  # the session runs: they wait for a connection
        await session.aclose()
        events = [event async for event in session]
    closed = events[-1]
    assert isinstance(closed, Closed)
    [line] = closed.not_sent
    assert line.startswith("realtimeInput.text: 2 message(s), ")
    assert line.endswith(" bytes (never written)")
    assert closed.not_sent_messages == 2
    assert session.not_sent == closed.not_sent
    assert "2 message(s) sent but not written" in caplog.text
    assert "still there?" not in caplog.text  # kinds and sizes, never the content
    heard = [frame for conn in emulator.connections for frame in conn.received]
    assert not any("realtimeInput" in (frame.data or {}) for frame in heard)


def _hanging_resume(
    emulator: Emulator, how: str, connecting: trio.Event, held: list[trio.abc.Stream]
) -> Callable[[], Awaitable[trio.abc.Stream]]:
    """A connector: the first connection is the emulator's; a resume's connect hangs.

    `blackhole`: the connect never returns (a TCP connect to a dead route). `unanswered`:
    the server takes the connection and never answers the upgrade (kept in `held`).
    """
    memory = emulator.memory_connector()

    async def connector() -> trio.abc.Stream:
        if not emulator.connections:
            return await memory()
        connecting.set()
        if how == "blackhole":
            await trio.sleep_forever()
        client, server = trio.testing.memory_stream_pair()
        held.append(server)
        return client

    return connector


@pytest.mark.parametrize("how", ["blackhole", "unanswered"])
@pytest.mark.parametrize("leave", ["normally", "raising"])
async def test_leaving_while_a_resume_connects_reports_what_it_leaves_unwritten(
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    how: str,
    leave: str,
) -> None:
    """Leaving the block while a resume is still connecting ends the session at once.

    `aclose` cut a backoff short but not a connect under way (up to `connect_timeout`):
    the exit waited its `2 * close_timeout` for the session to finish, then cancelled it
    before it had. The messages queued during the outage were dropped without a word
    (`not_sent` empty, no warning), and `state` stayed "idle".
    """
    options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))
    connecting = trio.Event()
    held: list[trio.abc.Stream] = []
    expected = (
        pytest.raises(ValueError, match="application")
        if leave == "raising"
        else contextlib.nullcontext()
    )
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        with expected:
            async with open_session(
                live_setup(MODEL, modality="TEXT"),
                endpoint=endpoint,
                connector=_hanging_resume(emulator, how, connecting, held),
                options=options,
            ) as session:
                emulator.connections[0].inject(Fault(kind="reset"))
                await connecting.wait()
                await trio.sleep(1)  # well inside the connect's 10 s
                await session.send_text("still there?")
                await session.send_text("hello?")
                left_at = trio.current_time()
                if leave == "raising":
                    raise ValueError("the application failed")
        assert trio.current_time() - left_at < 0.1
    [line] = session.not_sent
    assert line.startswith("realtimeInput.text: 2 message(s), ")
    assert line.endswith(" bytes (never written)")
    assert "2 message(s) sent but not written" in caplog.text
    assert session.statistics().state == "closed"
    for stream in held:  # the upgrade request, then the end of the stream
        with trio.fail_after(1):
            while await stream.receive_some():
                pass


async def test_aclose_while_a_resume_connects_ends_the_session_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """`aclose` during an outage closes at once, also while a resume is connecting.

    It returned at once, but the session went on until the connect gave up: the `Closed`
    event came `connect_timeout` (10 s) later, as a 1006 drop.
    """
    options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))
    connecting = trio.Event()
    held: list[trio.abc.Stream] = []
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        async with open_session(
            live_setup(MODEL, modality="TEXT"),
            endpoint=endpoint,
            connector=_hanging_resume(emulator, "unanswered", connecting, held),
            options=options,
        ) as session:
            emulator.connections[0].inject(Fault(kind="reset"))
            await connecting.wait()
            await session.send_text("still there?")
            closed_at = trio.current_time()
            await session.aclose()
            events = [event async for event in session]
            assert trio.current_time() - closed_at < 0.1
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert closed.not_sent_messages == 1
    assert len(emulator.connections) == 1  # the resume never got past its upgrade


@pytest.mark.parametrize("during", ["backoff", "connect"])
async def test_a_close_during_an_outage_ends_the_session_with_1000(
    autojump_clock: trio.testing.MockClock, during: str
) -> None:
    """`Closed` after `aclose` during an outage says the application closed the session.

    It carried the dropped connection's 1006 and empty reason (events.md: "1000 when you
    closed the session"), while the iteration then ended quietly as after a normal close.
    """
    policy = ReconnectPolicy(initial_delay=30, max_delay=30, jitter=0, max_elapsed=300)
    connecting = trio.Event()
    held: list[trio.abc.Stream] = []
    async with open_emulator() as emulator:
        if during == "backoff":  # a drop: 30 s to the next try
            connector = emulator.memory_connector()
            options = SessionOptions(reconnect=policy)
        else:  # the next try connects at once, and hangs in its upgrade
            connector = _hanging_resume(emulator, "unanswered", connecting, held)
            options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        async with open_session(
            live_setup(MODEL, modality="TEXT"),
            endpoint=endpoint,
            connector=connector,
            options=options,
        ) as session:
            emulator.connections[0].inject(Fault(kind="reset"))
            if during == "backoff":
                await trio.sleep(5)
            else:
                await connecting.wait()
            await session.send_text("still there?")
            await session.aclose()
            with trio.fail_after(1):
                events = [event async for event in session]  # ends quietly: no error
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert (closed.code, closed.reason) == (1000, "")
    assert closed.not_sent_messages == 1  # what was left unwritten is still reported
    assert session.not_sent == closed.not_sent


async def test_a_block_left_under_cancellation_still_reports_what_it_leaves_unwritten(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """An outer deadline that ends the block keeps the report of what was never written.

    The exit's wait for the session to finish was cancelled at once, and the session's
    tasks with it, before the session had ended: the messages held back by a stalled
    uplink went unreported (`not_sent` empty, no warning) and `state` never said "closed".
    """
    async with open_emulator() as emulator:
        memory = emulator.memory_connector()

        async def connector() -> trio.abc.Stream:
            # The upgrade and the setup go out; then the server reads nothing.
            return StuckUplinkStream(await memory(), stick_after=2)

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        with trio.move_on_after(5) as outer:
            async with open_session(
                live_setup(MODEL, modality="TEXT"),
                endpoint=endpoint,
                connector=connector,
            ) as session:
                for index in range(5):
                    await session.send_text(f"message {index}")
                await trio.sleep_forever()  # the application's deadline ends the block
        assert outer.cancelled_caught
    assert sum(int(line.split()[1]) for line in session.not_sent) == 5
    assert "5 message(s) sent but not written" in caplog.text
    assert session.statistics().state == "closed"


async def test_an_uplink_that_stops_moving_is_left_for_a_new_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A server that keeps talking but no longer reads: inbound silence never shows it.

    The heartbeat also watches the sender's write; one that makes no progress for
    `silence_limit` ends the connection, and the session resumes on a new one with what
    was cut off replayed. Before, it waited for the answer to end and the server to fall
    silent (here a 30 s answer), however long that took.
    """
    options = SessionOptions(ping_interval=1, silence_limit=3)
    config = EmulatorConfig(pacing="realtime")  # a 500-character answer: 30 s of speech
    async with open_emulator(config) as emulator:
        memory = emulator.memory_connector()
        # The upgrade, the setup and the text go out; then the peer stops reading.
        connector = StickingConnector(memory, stuck=1, stick_after=3)

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        async with open_session(
            live_setup(MODEL), endpoint=endpoint, connector=connector, options=options
        ) as session:
            await session.send_client_content("word " * 100)
            await until_audio(session)  # the answer has begun: the text went out on its own
            await session.send_audio(bytes(640))  # held back by the full uplink
            with trio.fail_after(10):
                event = await until_event(session, Reconnected)
        assert event.reason == "uplink stalled"
        assert event.replayed >= 1  # the audio chunk cut off on the old connection
        assert connector.opened == 2
        assert session.not_sent == ()  # what was cut off went out again: nothing is lost


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_replay_that_stops_moving_is_left_for_a_new_connection(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, transport: str
) -> None:
    """The replay after a resume is watched like the sender's writes.

    The resumed server keeps talking but reads nothing after the setup: the replay's write
    made no progress, and as the server was not silent the heartbeat never ended the
    connection. The sender starts only after the replay, so every later `send_*` queued
    behind it and, the queue full, waited forever.
    """
    options = SessionOptions(
        ping_interval=1,
        silence_limit=3,
        transport=transport,
        reconnect=ReconnectPolicy(initial_delay=0, jitter=0),
    )
    replayed: list[dict[str, object]] = []
    heard = trio.Event()

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await server.receive_json(ws)
        await ws.send_message(pretty({"setupComplete": {}}))
        if server.connections == 1:
            update = {"newHandle": "h1", "resumable": True}
            await ws.send_message(pretty({"sessionResumptionUpdate": update}))
            await server.receive_json(ws)  # the text, written after the handle: replayed
            await ws.aclose(1011, "Internal error encountered.")
        elif server.connections == 2:
            usage = pretty({"usageMetadata": {"totalTokenCount": 1}})
            while True:  # talking, while the client's writes go nowhere
                await ws.send_message(usage)
                await trio.sleep(0.5)
        else:
            replayed.append(await server.receive_json(ws))
            heard.set()
            await trio.sleep_forever()

    server = FakeServer(nursery, script)
    # The upgrade request and the setup go out; the replay's write sticks.
    connector = StickingConnector(server.connector, stuck=2, stick_after=2)

    endpoint = url_endpoint(
        "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
        api_key="test-key",
    )
    reasons: list[str] = []
    async with open_session(
        live_setup(MODEL, modality="TEXT"),
        endpoint=endpoint,
        connector=connector,
        options=options,
    ) as session:
        with trio.fail_after(5):
            await until_event(session, ResumptionUpdate)
        await session.send_text("hello")
        with trio.fail_after(30):
            async for event in session:
                if isinstance(event, Reconnected):
                    reasons.append(event.reason)
                    if len(reasons) == 2:
                        break
            await heard.wait()
    assert reasons == ["Internal error encountered.", "uplink stalled"]
    assert replayed == [{"realtimeInput": {"text": "hello"}}]
    assert connector.opened == 3


@pytest.mark.parametrize(
    ("silence_limit", "offset"),
    [(45, 1), (45, 9), (25, 1)],
    ids=["default-just-after-a-check", "default-just-before-a-check", "limit-25"],
)
async def test_an_uplink_stall_is_found_within_an_interval_of_the_limit(
    autojump_clock: trio.testing.MockClock,
    nursery: trio.Nursery,
    silence_limit: float,
    offset: float,
) -> None:
    """A write that stops moving is found `silence_limit` to `+ ping_interval` after it began.

    concepts.md promises 45 to 55 s with the defaults. The stall was dated from the first
    heartbeat check that saw the write, up to an interval after it stuck: a write begun
    just after a check was found 59 s after it began (39 s with a limit of 25 s).
    """
    interval = 10.0
    options = SessionOptions(
        ping_interval=interval,
        silence_limit=silence_limit,
        close_timeout=0,  # `Reconnected.duration` then runs from the detection itself
        reconnect=ReconnectPolicy(initial_delay=0, jitter=0),
    )

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        usage = pretty({"usageMetadata": {"totalTokenCount": 1}})
        while server.connections == 1:  # talking, never silent, while reading nothing
            await ws.send_message(usage)
            await trio.sleep(1)
        await trio.sleep_forever()

    server = FakeServer(nursery, script)
    # The upgrade request and the setup go out; then the first peer stops reading.
    connector = StickingConnector(server.connector, stuck=1, stick_after=2)

    endpoint = url_endpoint("ws://127.0.0.1/ws", api_key="test-key")
    async with open_session(
        live_setup(MODEL, modality="TEXT"), endpoint=endpoint, connector=connector, options=options
    ) as session:
        await trio.sleep(offset)  # the heartbeat checks every interval from the connect, at 0
        began = trio.current_time()
        await session.send_text("hello")  # its write sticks
        with trio.fail_after(silence_limit + 2 * interval):
            event = await until_event(session, Reconnected)
        found = trio.current_time() - event.duration
    assert event.reason == "uplink stalled"
    assert silence_limit <= found - began < silence_limit + interval


async def test_a_server_that_talks_but_never_reads_spends_the_reconnect_budget(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    # Each connection answers the setup, then keeps sending and reads nothing. Its frames
    # counted as signs of life, so each connection "lived" until the heartbeat found the
    # write stalled, passed for stable (`stable_after`), and renewed the budget: the
    # session moved every `silence_limit` forever, and the application never got an error.
    # (A stall is found after `silence_limit`, longer than `stable_after`'s 10 s.)
    options = SessionOptions(
        ping_interval=5,
        silence_limit=15,
        reconnect=ReconnectPolicy(initial_delay=0.5, jitter=0, max_elapsed=60),
    )

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        usage = pretty({"usageMetadata": {"totalTokenCount": 1}})
        while True:
            await ws.send_message(usage)
            await trio.sleep(1)

    server = FakeServer(nursery, script)

    async def connector() -> trio.abc.Stream:
        # The upgrade request and the setup go out; then the peer reads nothing.
        return StuckUplinkStream(await server.connector(), stick_after=2)

    endpoint = url_endpoint("ws://127.0.0.1/ws", api_key="test-key")
    moves: list[Reconnected] = []
    with trio.fail_after(1000):
        async with open_session(
            live_setup(MODEL, modality="TEXT"),
            endpoint=endpoint,
            connector=connector,
            options=options,
        ) as session:
            await session.send_text("hello")  # its write sticks, and its replay's after
            with pytest.raises(ReconnectFailedError, match="uplink stalled"):
                async for event in session:
                    if isinstance(event, Reconnected):
                        moves.append(event)
    assert trio.current_time() < 120  # the outage's 60 s, and the stall found in each
    assert moves
    assert {move.reason for move in moves} == {"uplink stalled"}


@pytest.mark.parametrize("start_later", [False, True])
async def test_transparent_resumption_replays_what_the_server_did_not_consume(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, start_later: bool
) -> None:
    """The server's `lastConsumedClientMessageIndex` decides the replay, however the setup came.

    With `open_session(..., start=False)` (the facade's way) the setup given to `start()`
    asked for transparent resumption, yet the index was ignored: the handle was taken to
    cover everything written `handle_window` before it, so messages the server had not
    consumed were forgotten and never replayed.
    """
    replayed: list[dict[str, object]] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        setup = await server.receive_json(ws)
        await ws.send_message(pretty({"setupComplete": {}}))
        if server.connections == 1:
            for _ in range(3):
                await server.receive_json(ws)
            await trio.sleep(5)  # long after the writes: the handle window does not matter
            update = {"newHandle": "h1", "resumable": True, "lastConsumedClientMessageIndex": "1"}
            await ws.send_message(pretty({"sessionResumptionUpdate": update}))
            await trio.sleep(1)
            await ws.aclose(1011, "Internal error encountered.")
            return
        assert setup["setup"]["sessionResumption"] == {"handle": "h1", "transparent": True}
        with trio.move_on_after(5):
            while True:
                replayed.append(await server.receive_json(ws))
        await ws.aclose(1000)

    server = FakeServer(nursery, script)
    setup = live_setup(MODEL, modality="TEXT", transparent_resumption=True)
    # Transparent resumption is Vertex AI's (the Gemini API refuses the field).
    endpoint = url_endpoint(
        "ws://127.0.0.1/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
        api_key="test-key",
    )
    async with open_session(
        MODEL if start_later else setup,
        endpoint=endpoint,
        connector=server.connector,
        start=not start_later,
    ) as session:
        if start_later:
            await session.start(setup)
        for text in ("a", "b", "c"):
            await session.send_text(text)
        events = [event async for event in session]
    reconnected = next(e for e in events if isinstance(e, Reconnected))
    assert replayed == [{"realtimeInput": {"text": "b"}}, {"realtimeInput": {"text": "c"}}]
    assert reconnected.replayed == 2


SOCKET_BUFFERS = 64 * 1024
"""Bytes in flight each way over `memory_connector(buffer=...)`: the socket buffers of both
ends. A write waits for the rest, as over TCP: a slow reader slows the writer down."""

IMAGE = b"\xff\xd8" + bytes(110_000)
"""A 110 kB image: a 147 kB frame once in base64, over 70 s at 2 kB/s."""


@asynccontextmanager
async def slow_uplink_session(
    emulator: Emulator, transport: str, options: SessionOptions | None = None
) -> AsyncIterator[LiveSession]:
    """A session whose writes the emulator's `slow-read` fault holds back, as over TCP."""
    options = options or SessionOptions()
    options = dataclasses.replace(options, transport=transport)
    endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
    async with open_session(
        live_setup(MODEL, modality="TEXT"),
        endpoint=endpoint,
        connector=emulator.memory_connector(buffer=SOCKET_BUFFERS),
        options=options,
    ) as session:
        yield session


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_large_frame_on_a_slow_uplink_is_not_taken_for_a_dead_server(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # A 110 kB image over a 2 kB/s uplink takes over 70 s, progressing all along. The ping
    # waits behind it and the server, reading the frame, says nothing: the heartbeat failed
    # the connection (1011 keepalive timeout) at 50 s. The resumes then met 1011 "session
    # in use" while the server still drained the old connection's backlog, and the budget
    # was spent in about 11 s: the session ended with ReconnectFailedError.
    config = EmulatorConfig(faults=(Fault(kind="slow-read", read_bytes=2048, seconds=1.0),))
    async with (
        open_emulator(config) as emulator,
        slow_uplink_session(emulator, transport) as session,
    ):
        start = trio.current_time()
        await session.send_video(IMAGE)
        # Not much longer: past 2 minutes with video the server ends the session.
        with trio.move_on_after(100):
            async for event in session:
                assert not isinstance(event, Reconnected), event
        (video,) = [f for f in emulator.connections[0].received if f.get("realtimeInput.video")]
        # It was read whole, long after the silence limit, and its ping was answered.
        assert video.time - start > 70
        assert len(emulator.connections) == 1
        assert not emulator.connections[0].closed


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_large_frame_on_a_slow_downlink_is_not_taken_for_a_dead_server(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    """Bytes arriving are the server alive, even before they make a whole frame.

    A 60 kB answer trickles in over 6 s, twice the silence limit. Only a complete message
    (or a pong, which waits behind the frame) reset the silence clock: the connection was
    closed with 1011 keepalive timeout while the frame was still arriving.
    """
    client, server = trio.testing.memory_stream_pair()
    ws = WSConnection(ConnectionType.SERVER)

    async def events() -> list[object]:
        ws.receive_data(await server.receive_some(65536) or None)
        return list(ws.events())

    async def serve() -> None:
        while not any(isinstance(event, Request) for event in await events()):
            pass
        await server.send_all(ws.send(AcceptConnection()))
        while not any(isinstance(event, TextMessage) for event in await events()):
            pass  # the setup
        await server.send_all(ws.send(BytesMessage(data=pretty({"setupComplete": {}}))))
        answer = {"serverContent": {"modelTurn": {"parts": [{"text": "x" * 60_000}]}}}
        frame = ws.send(BytesMessage(data=pretty(answer)))
        piece = len(frame) // 60
        for start in range(0, len(frame), piece):  # 6 s in all, bytes all along
            await server.send_all(frame[start : start + piece])
            await trio.sleep(0.1)
        await server.send_all(ws.send(CloseConnection(code=1000)))
        while await server.receive_some():  # the close reply, then the end of the stream
            pass

    async def connector() -> trio.abc.Stream:
        return client

    options = SessionOptions(
        ping_interval=1,
        silence_limit=3,
        transport=transport,
        reconnect=ReconnectPolicy(enabled=False),
    )
    endpoint = url_endpoint("ws://127.0.0.1/ws", api_key="test-key")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        async with open_session(
            live_setup(MODEL, modality="TEXT"),
            endpoint=endpoint,
            connector=connector,
            options=options,
        ) as session:
            with trio.fail_after(30):
                events_seen = [event async for event in session]
    texts = [event.text for event in events_seen if isinstance(event, TextDelta)]
    assert texts == ["x" * 60_000]
    closed = events_seen[-1]
    assert isinstance(closed, Closed)
    assert closed.code == 1000


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_large_frame_is_an_uplink_stall_only_once_it_stops_moving(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    """The pieces of a long write are progress while the stream takes them, and only then.

    The image takes 9 s to go out, far longer than the 3 s limit: counted per whole write,
    it was taken for a stall at once. It stops moving half way, while the server keeps
    talking: that is a stall, found one limit later.
    """
    options = SessionOptions(ping_interval=1, silence_limit=3, transport=transport)
    config = EmulatorConfig(pacing="realtime")  # a 500-character answer: 30 s of speech
    async with open_emulator(config) as emulator:
        memory = emulator.memory_connector()
        uplinks: list[SlowUplinkStream] = []

        async def connector() -> trio.abc.Stream:
            uplinks.append(SlowUplinkStream(await memory(), rate=16384))
            return uplinks[-1]

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        async with open_session(
            live_setup(MODEL), endpoint=endpoint, connector=connector, options=options
        ) as session:
            await session.send_client_content("word " * 100)
            await until_audio(session)  # the answer has begun: the text went out on its own
            sent = trio.current_time()
            writes = uplinks[0].writes
            await session.send_video(IMAGE)
            with trio.fail_after(20):
                await trio.sleep(5)
                uplinks[0].stick()
                event = await until_event(session, Reconnected)
            ended = trio.current_time() - event.duration
        # The last piece went out at most one piece's time (1 s at this rate) before the
        # stick, and the stall is found one limit after it. (The bound held without that
        # second only because the resume waited `close_timeout` for a close frame written
        # behind the stuck write; now nothing is written behind a write cut off part-way,
        # and the stream is dropped at once.)
        assert sent + 5 - 1 + options.silence_limit <= ended
        assert ended <= sent + 6 + options.silence_limit + options.ping_interval
        assert event.reason == "uplink stalled"
        assert uplinks[0].writes - writes >= 4  # pieces of the image went out before
        assert event.replayed >= 1  # the image cut off on the old connection
        assert len(uplinks) == 2


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_server_that_reads_but_never_answers_is_still_found_dead(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    """Our long writes vouch for the server only until the ping behind them is written.

    The server reads everything, slowly, and answers nothing, not even pings. Image after
    image keeps the uplink moving for minutes; the connection is still declared dead
    `silence_limit` (plus a check) after the write the ping waited behind.
    """
    faults = (
        Fault(kind="slow-read", read_bytes=2048, seconds=1.0),
        Fault(kind="blackhole", after_frames=1, connection=1),  # after `setupComplete`
    )
    options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))
    async with (
        open_emulator(EmulatorConfig(faults=faults)) as emulator,
        slow_uplink_session(emulator, transport, options) as session,
    ):
        start = trio.current_time()

        async def send_images() -> None:
            for _ in range(5):  # over 6 minutes of writing at 2 kB/s
                await session.send_video(IMAGE)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_images)
            with trio.fail_after(300):
                event = await until_event(session, Reconnected)
            nursery.cancel_scope.cancel()
        ended = trio.current_time() - event.duration
        assert event.reason == "keepalive timeout"
        # The ping went at 10 s, behind the first image, whose last piece the stream took
        # once all of it but the socket buffers had been read: the limit runs from there.
        image = len(base64.b64encode(IMAGE))  # in a frame a few bytes longer
        written = start + (image - SOCKET_BUFFERS) / 2048
        bound = options.silence_limit + options.ping_interval + options.close_timeout
        assert ended <= written + bound
        # Long before the images were written: counted as a sign of life, the uplink's
        # progress would have kept the connection until then.
        assert ended < start + 3 * image / 2048


@pytest.mark.parametrize("outage", [2, 30, 50])
async def test_the_default_policy_outlasts_a_network_outage(
    autojump_clock: trio.testing.MockClock, outage: float
) -> None:
    """A network that is gone for a while (a train tunnel, a Wi-Fi hand-over) loses nothing.

    A resume attempt that could not connect at all ended the session at once: the
    `TransportError` came wrapped in the connection nursery's exception group, which the
    supervisor did not look into. And the default budget was spent in about 10 s:
    `max_attempts` (8) ran out long before `max_elapsed` (60 s).
    """
    async with open_emulator() as emulator:
        memory = emulator.memory_connector()
        outage_ends: float | None = None
        refused = 0

        async def connector() -> trio.abc.Stream:
            nonlocal refused
            if outage_ends is not None and trio.current_time() < outage_ends:
                refused += 1
                raise OSError("network is unreachable")
            return await memory()

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        setup = live_setup(MODEL, modality="TEXT")
        async with open_session(setup, endpoint=endpoint, connector=connector) as session:
            await session.send_client_content("before")
            with trio.fail_after(10):
                assert "before" in await next_turn(session, [])
            outage_ends = trio.current_time() + outage
            await emulator.connections[-1].reset()
            with trio.fail_after(60):
                event = await until_event(session, Reconnected)
            assert trio.current_time() >= outage_ends
            assert event.attempts == refused + 1
            await session.send_client_content("after")
            with trio.fail_after(10):
                while "after" not in await next_turn(session, []):
                    pass  # "before" again (replayed: the handle may not have covered it)


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_fatal_close_read_during_aclose_keeps_its_code_and_reason(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    """A server's 1007 that crosses the application's close is the session's last word.

    Regression: the rule that makes `Closed` say 1000 after `aclose` during an outage also
    took the server's own close frame's code and reason, which say what it refused. On
    trio-websocket, its own `aclose` took any close for its 1000.
    """
    reason = "Request contains an invalid argument."
    options = SessionOptions(transport=transport)
    async with (
        open_emulator() as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="TEXT"), latency=0.25, options=options
        ) as session,
    ):
        conn = await emulator.wait_for_connection(1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(conn.close, 1007, reason)
            await trio.sleep(0.05)  # the close frame is on its way
            await session.aclose()
        with trio.fail_after(5):
            events = [event async for event in session]
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert (closed.code, closed.reason) == (1007, reason)


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
@pytest.mark.parametrize("move", ["goAway", "update_setup"])
async def test_a_move_lets_the_write_under_way_finish_before_its_close_frame(
    autojump_clock: trio.testing.MockClock, move: str, transport: str
) -> None:
    # A microphone streams over an uplink that takes 0.2 s per frame; the session moves
    # while the sender is writing one. The move ended the connection first, which cancelled
    # that write part-way through the frame, and then wrote its 1000 close frame behind the
    # half frame: the server read the close as the rest of the frame and closed with 1007
    # ("invalid UTF-8"). Now the close waits for the write (within `close_timeout`): the
    # frame goes out whole, then a clean 1000, and nothing sent is lost.
    from trio_gemini_live import GoAwayMessage, ServerMessage

    audio_setup = live_setup("gemini-2.5-flash-native-audio-preview-12-2025", voice="Puck")
    slow = Fault(kind="slow-read", seconds=0.02, read_bytes=2048, connection=1)
    chunk = bytes(16000)  # 0.5 s of 16 kHz audio: about 21 kB once in JSON
    async with (
        open_emulator(EmulatorConfig(faults=(slow,))) as emulator,
        emulator.open_session(
            audio_setup, buffer=4096, options=SessionOptions(transport=transport)
        ) as session,
    ):

        async def mic() -> None:
            for _ in range(12):
                await session.send_audio(chunk)
                await trio.sleep(0.5)

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(mic)
                await trio.sleep(2.1)  # the frame sent at 2.0 s is being written
                if move == "goAway":
                    message = ServerMessage(go_away=GoAwayMessage(time_left="10s"))
                    await emulator.connections[0].send(message)
                else:
                    await session.update_setup(live_setup(audio_setup.model, voice="Kore"))
                async for event in session:
                    assert not isinstance(event, Closed), event
                    if isinstance(event, Reconnected):
                        assert event.attempts == 1
                        assert event.not_replayed == ()
                        break
        assert session.not_sent == ()
    first = emulator.connections[0]
    assert (first.close_code, first.closed_by) == (1000, "client")
    written = sum(
        1 for c in emulator.connections for f in c.received if f.get("realtimeInput.audio")
    )
    assert written >= 12  # every chunk reached the server (a replayed one may count twice)


async def _start_a_move(emulator: Emulator, session: LiveSession, move: str) -> None:
    """Make `session` begin a deliberate move (a `goAway`, or a setup change) while idle."""
    from trio_gemini_live import GoAwayMessage, ServerMessage

    if move == "goAway":
        await emulator.connections[0].send(ServerMessage(go_away=GoAwayMessage(time_left="10s")))
        with trio.fail_after(5):
            await until_event(session, GoAway)
    else:
        await session.update_setup(live_setup(MODEL, modality="TEXT", temperature=0.5))


@pytest.mark.parametrize("end", ["aclose", "leaving the block"])
@pytest.mark.parametrize("move", ["goAway", "update_setup"])
async def test_a_close_during_a_move_writes_the_queue_on_the_new_connection(
    autojump_clock: trio.testing.MockClock, move: str, end: str
) -> None:
    """A close that comes while the session moves writes what is queued, then closes.

    It found no connection to drain and close, the move gave up, and the text sent right
    before was reported as never written, although `aclose` (and leaving the block)
    promise to write what is queued first. Now the close waits for the new connection.
    """
    async with open_emulator(EmulatorConfig()) as emulator, session_on(emulator) as session:
        await _start_a_move(emulator, session, move)
        await session.send_text("hello")
        if end == "aclose":
            await session.aclose()
    assert session.not_sent == ()
    last = emulator.connections[-1]
    assert [frame.get("realtimeInput.text") for frame in last.received][1:] == ["hello"]
    assert (last.close_code, last.closed_by) == (1000, "client")
    assert len(emulator.connections) == 2


@pytest.mark.parametrize("move", ["goAway", "update_setup"])
async def test_a_close_waits_for_a_move_no_longer_than_close_timeout(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture, move: str
) -> None:
    """A move whose connection does not open holds a close for `close_timeout` at most.

    What it leaves unwritten is then reported, as after a close during an outage.
    """
    connecting = trio.Event()
    held: list[trio.abc.Stream] = []
    options = SessionOptions(close_timeout=2)
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        async with open_session(
            live_setup(MODEL, modality="TEXT"),
            endpoint=endpoint,
            connector=_hanging_resume(emulator, "unanswered", connecting, held),
            options=options,
        ) as session:
            await _start_a_move(emulator, session, move)
            await connecting.wait()
            await session.send_text("hello")
            closed_at = trio.current_time()
            await session.aclose()
            assert trio.current_time() - closed_at <= 2.1  # close_timeout, then it gives up
            events = [event async for event in session]
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert (closed.code, closed.reason) == (1000, "")
    [line] = session.not_sent
    assert line.startswith("realtimeInput.text: 1 message(s), ")
    assert line.endswith(" bytes (never written)")
    assert "1 message(s) sent but not written" in caplog.text
    assert len(emulator.connections) == 1  # the resume never got past its upgrade


async def test_a_close_during_a_move_whose_setup_is_refused_ends_as_any_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The close waited for the move's connection, the server refused its setup (1007), and
    # the session ended with that 1007 as its `Closed`: not the 1000 of the application's
    # own close, which the docs promise when a close gives up on a move.
    async with (
        open_emulator() as emulator,
        emulator.open_session(live_setup(MODEL), api_key="k") as session,
    ):
        await session.update_setup(live_setup(MODEL, voice="Nobody"))
        await session.send_text("hello")
        await session.aclose()
        events = [event async for event in session]
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert (closed.code, closed.reason) == (1000, "")
    [line] = session.not_sent
    assert line.startswith("realtimeInput.text: 1 message(s), ")
    assert emulator.connections[1].close_code == 1007  # the refusal itself


# --- `aclose` returns once the session has ended ---------------------------------------------


async def test_aclose_during_an_outage_returns_with_not_sent_filled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # `aclose` only started the close and returned: right after it `state` still read
    # "idle" and `not_sent` was `()`, although the messages were lost (the log said so a
    # moment later).
    policy = ReconnectPolicy(initial_delay=30, max_delay=30, jitter=0, max_elapsed=300)
    async with (
        open_emulator(EmulatorConfig()) as emulator,
        session_on(emulator, options=SessionOptions(reconnect=policy)) as session,
    ):
        emulator.connections[0].inject(Fault(kind="reset"))
        await trio.sleep(5)
        for _ in range(3):
            await session.send_text("queued during the outage")
        start = trio.current_time()
        await session.aclose()
        assert trio.current_time() - start < 1  # an outage closes at once
        assert session.state is SessionState.CLOSED
        [line] = session.not_sent
        assert line.startswith("realtimeInput.text: 3 message(s), ")
        events = [event async for event in session]
        assert isinstance(events[-1], Closed)
        assert events[-1].not_sent == session.not_sent


async def test_aclose_and_a_second_aclose_return_once_the_session_has_ended(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A stalled uplink: the queue cannot drain within `close_timeout`. The first `aclose`
    # returned with `state` "open" and `not_sent` empty; a second one (a watchdog's) returned
    # at once, with the messages still queued.
    stall = Fault(kind="slow-read", seconds=0.5, read_bytes=512)
    options = SessionOptions(send_buffer=16)
    async with (
        open_emulator(EmulatorConfig(faults=(stall,))) as emulator,
        emulator.open_session(live_setup(MODEL), buffer=2048, options=options) as session,
    ):
        seen: list[tuple[str, tuple[str, ...]]] = []
        closed: list[Closed] = []

        async def reader() -> None:
            async for event in session:
                if isinstance(event, Closed):
                    closed.append(event)

        async def mic() -> None:
            with contextlib.suppress(SessionClosedError):
                while True:
                    await session.send_audio(bytes(3200))

        async def watchdog() -> None:
            await trio.sleep(3.2)  # while the first `aclose` waits for the queue
            await session.aclose()
            seen.append(("watchdog", session.not_sent))
            assert session.state is SessionState.CLOSED

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                nursery.start_soon(mic)
                nursery.start_soon(watchdog)
                await trio.sleep(3)
                await session.aclose()
                seen.append(("first", session.not_sent))
                assert session.state is SessionState.CLOSED
                # The documented bound: the two steps, then twice `close_timeout`.
                assert trio.current_time() - 3 <= 4 * options.close_timeout + 1
    assert [who for who, _ in sorted(seen)] == ["first", "watchdog"]
    not_sent = seen[0][1]
    assert not_sent
    assert all(line.startswith("realtimeInput.audio: ") for line in not_sent)
    assert seen[1][1] == not_sent
    assert [event.not_sent for event in closed] == [not_sent]


async def test_aclose_from_the_reading_loop_with_a_full_event_buffer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The reader itself closes, with events still on their way and the event buffer full:
    # the receiver waited for room that only this task could make. `aclose` now ends the
    # session (what arrives meanwhile is kept aside, in order) and returns; the loop then
    # reads everything, `Closed` last.
    options = SessionOptions(event_buffer=2)
    async with (
        open_emulator(EmulatorConfig()) as emulator,
        emulator.open_session(
            live_setup("gemini-2.5-flash-native-audio-preview-12-2025"), options=options
        ) as session,
    ):
        await session.send_client_content("tell me a long story")
        after: list[RealtimeEvent] = []
        closing: list[RealtimeEvent] = []
        with trio.fail_after(30):
            async for event in session:
                if isinstance(event, AudioDelta) and not closing:
                    closing.append(event)
                    await trio.sleep(3)  # the answer fills the buffer meanwhile
                    assert session.statistics().events_buffered >= options.event_buffer
                    start = trio.current_time()
                    await session.aclose()
                    assert trio.current_time() - start < 2 * options.close_timeout
                    assert session.state is SessionState.CLOSED
                after.append(event)
        assert isinstance(after[-1], Closed)
        assert after[-1].code == 1000
        assert sum(isinstance(event, AudioDelta) for event in after) > options.event_buffer


def test_backoff_delays_take_a_random_fraction_up_to_jitter_off_each_delay() -> None:
    # `ReconnectPolicy.jitter`: "random fraction (0..1) taken off each delay, so clients
    # spread out": each delay lies in (d * (1 - jitter), d] around the capped exponential d.
    policy = ReconnectPolicy(
        max_attempts=40, initial_delay=0.1, max_delay=5, multiplier=2, jitter=0.5
    )
    delays = list(policy.delays(random.Random(1234)))
    nominal = [min(0.1 * 2**attempt, 5.0) for attempt in range(40)]
    assert len(delays) == len(nominal)
    for delay, d in zip(delays, nominal, strict=True):
        assert d * (1 - policy.jitter) < delay <= d
    assert sum(delay < d for delay, d in zip(delays, nominal, strict=True)) > 30  # spread
    # None without jitter; the first is 0 after a deliberate move (`immediate_first`).
    exact = dataclasses.replace(policy, jitter=0)
    assert list(exact.delays(random.Random(1234))) == nominal
    assert next(policy.delays(random.Random(1), immediate_first=True)) == 0.0


@pytest.mark.parametrize("multiplier", [2, 2.0, 1e10])
def test_a_backoff_delay_far_along_is_max_delay_not_an_overflow(multiplier: float) -> None:
    # A session that followed a server saying goAway to young connections over a thousand
    # times computed `initial_delay * multiplier ** 1024` and died of an OverflowError.
    policy = ReconnectPolicy(
        max_attempts=2000, initial_delay=0.1, max_delay=5, multiplier=multiplier
    )
    assert policy.backoff_delay(0) == 0.1
    for step in (1024, 10**6, 10**18):
        assert policy.backoff_delay(step) == policy.max_delay
    assert all(0 < delay <= 5 for delay in policy.delays(random.Random(1)))
    shrinking = dataclasses.replace(policy, multiplier=0.5)
    assert shrinking.backoff_delay(10**6) == 0.0
    assert dataclasses.replace(policy, initial_delay=0).backoff_delay(10**6) == 0.0


async def test_a_long_go_away_storm_is_paced_without_ending_the_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Every connection gets goAway a second after it opens; past `max_attempts` such moves
    # each waits a backoff delay, which, grown by a large multiplier, overflowed a float
    # after 32 of them and ended the session with a bare OverflowError.
    config = EmulatorConfig(lifetime=2.0, go_away_warning=1.0, audio_session_limit=None)
    policy = ReconnectPolicy(max_attempts=1, multiplier=1e10, max_delay=5, jitter=0)
    options = SessionOptions(reconnect=policy)
    moves: list[Reconnected] = []
    async with open_emulator(config) as emulator, session_on(emulator, options=options) as session:
        with trio.fail_after(1000):
            async for event in session:
                if isinstance(event, Reconnected):
                    moves.append(event)
                    if len(moves) == 40:
                        break
    assert all(move.reason == "goAway" for move in moves)
    assert all(move.duration >= policy.max_delay for move in moves[2:])


@pytest.mark.parametrize("end", ["fatal close", "aclose"])
async def test_messages_a_cut_short_replay_left_are_reported_as_not_sent(
    autojump_clock: trio.testing.MockClock, end: str
) -> None:
    """The resumed connection ends before its replay has written everything again.

    No handle covers the 40 texts (the server issues its first after a turn), so the
    resumed session starts afresh and the replay is their only way to the model. Those the
    replay did not reach were reported nowhere: `Closed.not_sent` was empty although about
    35 texts never reached any model.
    """
    if end == "fatal close":
        fault = Fault(kind="close", code=4000, reason="gone", after_received=4, connection=2)
    else:  # a slow uplink on the resumed connection: `aclose` comes while the replay writes
        fault = Fault(kind="slow-read", seconds=0.5, read_bytes=1024, connection=2)
    config = EmulatorConfig(first_handle="turn", record_heard=True, faults=(fault,))
    options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0, jitter=0))
    texts = [f"text message number {i} " + "x" * 200 for i in range(40)]
    events: list[RealtimeEvent] = []
    setup = live_setup(MODEL, modality="TEXT")
    async with open_emulator(config) as emulator:
        with contextlib.suppress(ConnectionClosedError):
            async with emulator.open_session(
                setup, api_key="test-key", options=options, buffer=4096
            ) as session:
                for text in texts:
                    await session.send_text(text)
                first = await emulator.wait_for_connection(1)
                await first.wait_for_received(
                    lambda frame: "realtimeInput" in (frame.data or {}), count=40
                )
                await first.reset()
                with trio.fail_after(60):
                    async for event in session:
                        events.append(event)
                        if end == "aclose" and isinstance(event, Reconnected):
                            await trio.sleep(0.5)  # the replay is under way, held back
                            await session.aclose()
        second = emulator.connections[1]
        heard = len(second.session.heard)
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert session.not_sent == closed.not_sent
    line, *unconfirmed = closed.not_sent
    assert line.startswith("realtimeInput.text: ")
    assert line.endswith("(written before a resume, which ended before writing it again)")
    unreplayed = int(line.split(": ")[1].split(" ")[0])
    # Reported unreplayed or heard, never both; the rest went to the resumed connection's
    # socket whole: after a fatal close, as any message written in full to a connection
    # that then dropped; after an `aclose` whose close the slow server never answered,
    # those no handle confirmed are reported as such (the server may have heard them). The
    # handles read during the replay, each more than `handle_window` after writes the slow
    # server had not read yet, were taken to cover those (concepts.md, *Replay*).
    assert unreplayed > 0
    assert heard + unreplayed <= len(texts)
    assert all(other.endswith(f"({UNCONFIRMED})") for other in unconfirmed)
    if end != "aclose":
        assert not unconfirmed


async def test_an_update_context_before_start_is_carried_by_a_resume(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """`open_session(..., start=False)`, then `update_context`, then `start`.

    The server had the instruction (the update follows the setup), but `session.setup` and
    the setup a resumed connection sent did not: after any resume it was gone.
    """
    setup = live_setup(MODEL, modality="TEXT")
    async with (
        open_emulator() as emulator,
        emulator.open_session(setup, start=False) as session,
    ):
        await session.update_context(system_instruction="Be terse.")
        await session.start(setup)
        first = await emulator.wait_for_connection(1)
        await first.wait_for_received("contextUpdate")
        assert session.setup is not None
        assert session.setup.system_instruction is not None
        first.inject(Fault(kind="reset"))
        await until_event(session, Reconnected)
        second = await emulator.wait_for_connection(2)
        [sent] = [frame.data["setup"] for frame in second.received if frame.get("setup")]
    assert sent["systemInstruction"]["parts"] == [{"text": "Be terse."}]


async def test_changing_what_update_context_was_given_changes_no_later_setup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The caller changes its `Content` and `Tool` after `update_context` returned.

    The session kept them by reference, so `session.setup` and the setup a resumed
    connection sent carried what was never sent as a `contextUpdate`.
    """
    from trio_gemini_live import Content, Part

    instruction = Content(parts=[Part(text="instruction A")], role="user")
    tool = function_tool("get_weather", "Weather for a city", {"type": "OBJECT"})
    async with (
        open_emulator() as emulator,
        session_on(emulator, system_instruction="original") as session,
    ):
        await session.update_context(system_instruction=instruction, tools=[tool])
        instruction.parts[0].text = "changed after the call"
        tool.description = "changed after the call"
        first = await emulator.wait_for_connection(1)
        await first.wait_for_received("contextUpdate")
        first.inject(Fault(kind="reset"))
        await until_event(session, Reconnected)
        second = await emulator.wait_for_connection(2)
        [setup] = [frame.data["setup"] for frame in second.received if frame.get("setup")]
        assert session.setup is not None
        in_force = session.setup
    assert setup["systemInstruction"]["parts"] == [{"text": "instruction A"}]
    assert setup["tools"][0]["functionDeclarations"][0]["description"] == "Weather for a city"
    assert in_force.system_instruction is not None
    assert in_force.system_instruction.parts[0].text == "instruction A"


async def test_the_resume_log_counts_the_attempts_of_the_outage(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Each resumed connection opens, then closes 1011: the outage goes on. Every line
    # said "attempt 1", where `Reconnected.attempts` counts them all.
    caplog.set_level(logging.INFO, logger="trio_gemini_live.session")
    faults = tuple(Fault(kind="close", connection=n, after_frames=2) for n in range(2, 6))
    options = SessionOptions(reconnect=ReconnectPolicy(jitter=0))
    async with open_emulator(EmulatorConfig(faults=faults)) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(
            live_setup(MODEL, modality="TEXT"), endpoint=endpoint, options=options
        ) as session:
            await emulator.connections[-1].close(1011, "Internal error encountered.")
            seen: list[int] = []
            with trio.fail_after(120):
                # Read until the sixth connection's (the last: no fault ends it). Not "when
                # the emulator has six": the events read then may be older ones.
                async for event in session:
                    if isinstance(event, Reconnected):
                        seen.append(event.attempts)
                        if len(seen) == 5:
                            break
            assert seen == [1, 2, 3, 4, 5]
            assert len(emulator.connections) == 6
    attempts = [
        int(record.getMessage().split("attempt ")[1].split(",")[0])
        for record in caplog.records
        if record.getMessage().startswith("resuming the session")
    ]
    assert attempts == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("code", "reason", "said"),
    [
        (1011, "Internal error encountered.", "Internal error encountered."),
        (1011, "", "a close (1011) without a reason"),
        (None, "", "a dropped connection"),
    ],
    ids=["reason", "no reason", "no close frame"],
)
async def test_the_resume_log_says_how_the_connection_ended_never_an_empty_reason(
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    code: int | None,
    reason: str,
    said: str,
) -> None:
    # A close frame without a reason was logged as "after " and nothing, or taken for a
    # dropped connection: the line names its code now.
    caplog.set_level(logging.INFO, logger="trio_gemini_live.session")
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(live_setup(MODEL, modality="TEXT"), endpoint=endpoint) as session:
            if code is None:
                await emulator.connections[-1].reset()
            else:
                await emulator.connections[-1].close(code, reason)
            with trio.fail_after(30):
                await until_event(session, Reconnected)
    lines = [r.getMessage() for r in caplog.records if "resuming the session" in r.getMessage()]
    assert lines == [f"resuming the session (attempt 1, after {said})"]


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_a_setup_change_after_a_wait_on_the_reader_moves_by_its_bound_while_frames_flow(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, transport: str
) -> None:
    # The receiver waited on a slow reader; then the user talked on, an input transcription
    # every 30 ms with the model idle. Each read within the settle time put the move off
    # again, past `setup_timeout`, for as long as the user talked.
    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await accept_setup(server, ws)
        if server.connections > 1:
            await ws.send_message(
                pretty({"sessionResumptionUpdate": {"newHandle": "h2", "resumable": True}})
            )
            await trio.sleep_forever()
        await ws.send_message(
            pretty({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
        )
        for i in range(5):
            await ws.send_message(
                pretty({"serverContent": {"modelTurn": {"parts": [{"text": f"t{i}"}]}}})
            )
        await ws.send_message(pretty({"serverContent": {"turnComplete": True}}))
        for n in range(10_000):
            await ws.send_message(
                pretty({"serverContent": {"inputTranscription": {"text": f"w{n}"}}})
            )
            await trio.sleep(0.03)

    server = FakeServer(nursery, script)
    endpoint = url_endpoint(
        "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
        api_key="test-key",
    )
    options = SessionOptions(event_buffer=1, transport=transport)
    async with open_session(
        live_setup(MODEL, modality="TEXT"),
        endpoint=endpoint,
        connector=server.connector,
        options=options,
    ) as session:
        for _ in range(4):  # a slow reader at first: the receiver waits on it
            await session.receive()
            await trio.sleep(0.2)
        asked = trio.current_time()
        await session.update_setup(live_setup(MODEL, modality="TEXT", system_instruction="new"))
        with trio.fail_after(60):
            await until_event(session, Reconnected)
        assert trio.current_time() - asked <= options.setup_timeout + 0.1


@pytest.mark.parametrize("end", ["close unanswered", "drop while closing", "close answered"])
@pytest.mark.parametrize("transparent", [False, True], ids=["default", "transparent"])
@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_what_a_close_without_the_servers_reply_leaves_unconfirmed_is_reported(
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    transport: str,
    transparent: bool,
    end: str,
) -> None:
    """Written in full into the socket, never confirmed, and the close got no reply: reported.

    The server stops reading (a slow uplink); `aclose` writes the texts into the socket
    buffers, sends its close frame and waits `close_timeout` for the reply, which never
    comes (or the connection drops meanwhile), then drops the connection: over TCP a reset
    discards what the kernel had not sent yet. `Closed.not_sent` said nothing of them, as
    if they had reached the server. What the server confirmed (the index of a transparent
    handle) is not reported, nor anything once the server answers the close: TCP keeps
    order, so it read every byte written before the close frame.
    """
    options = SessionOptions(transport=transport)
    setup = live_setup(MODEL, modality="TEXT", transparent_resumption=transparent or None)
    texts = [f"message {i} " + "x" * 100 for i in range(5)]
    async with (
        open_emulator(EmulatorConfig(vertex=transparent)) as emulator,
        emulator.open_session(
            setup, api_key="test-key", options=options, buffer=SOCKET_BUFFERS
        ) as session,
    ):
        connection = await emulator.wait_for_connection(1)
        if end != "close answered":
            # The read under way takes the next write ("first") whole; the later ones wait.
            connection.inject(Fault(kind="slow-read", seconds=1000, read_bytes=1))
        with trio.fail_after(60):
            await session.send_text("first")  # read and answered, then its handle read
            await until_event(session, TurnComplete)
            await until_event(session, ResumptionUpdate)
        for text in texts:
            await session.send_text(text)
        if not transparent:  # "first" at least: its handle came too soon to forget it
            assert session.statistics().replay_buffer_bytes > 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(session.aclose)
            if end == "drop while closing":
                await trio.sleep(options.close_timeout / 2)
                await connection.reset()
        assert session.statistics().replay_buffer_bytes == 0  # released at the end
        events = [event async for event in session]
    heard = [frame.get("realtimeInput.text") for frame in connection.received]
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert session.not_sent == closed.not_sent
    if end == "close answered":
        assert closed.not_sent == ()
        assert heard[-len(texts) :] == texts
        assert "not written" not in caplog.text
        return
    assert not set(texts) & set(heard)  # the server read none of them
    # Transparent: the handle's index confirmed "first". Without it, that handle came too
    # soon after the write to be trusted with it (`handle_window`): it may not hold it.
    unconfirmed = len(texts) if transparent else len(texts) + 1
    [line] = closed.not_sent
    assert line.startswith(f"realtimeInput.text: {unconfirmed} message(s), ")
    assert line.endswith(f" bytes ({UNCONFIRMED})")
    assert closed.not_sent_messages == unconfirmed
    assert f"{unconfirmed} message(s) sent but not written" in caplog.text
    assert "message 0" not in caplog.text  # kinds and sizes, never the content
