"""`activity_start()` / `activity_end()`: refused wherever they could meet server VAD.

The server closes the whole session with 1007 on an activity signal when the setup of the
connection that gets it has automatic activity detection on. A queued signal goes out on
whichever connection is open when it is written, so the check covers every setup it could
meet: the one in force, one `update_setup` asked for (the move waits until the model is
idle, so the signal may still go out on the old connection) and, before `start()`, the
unknown one. These tests failed before: each signal was accepted and the session died.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from trio_gemini_live import (
    ActivityEnd,
    ActivityStart,
    ClientMessage,
    Closed,
    LiveSession,
    LocalProtocolError,
    RealtimeInput,
    Reconnected,
    SessionOptions,
    Setup,
    live_setup,
    url_endpoint,
)
from trio_gemini_live._setup import automatic_activity_detection
from trio_gemini_live.emulator import Emulator, EmulatorConfig, Fault, open_emulator
from turns import until_turn_complete

AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
VAD_ON = live_setup(AUDIO_MODEL)
VAD_OFF = live_setup(AUDIO_MODEL, automatic_vad=False)


async def until_setup_changed(session: LiveSession) -> None:
    with trio.fail_after(60):
        async for event in session:
            assert not isinstance(event, Closed), event
            if isinstance(event, Reconnected) and event.setup_changed:
                return
    raise AssertionError("no Reconnected(setup_changed=True)")


def signals_received(emulator: Emulator, connection: int) -> list[str]:
    frames = [f.data for f in emulator.connections[connection].received if f.data]
    return [
        key
        for frame in frames
        for key in frame.get("realtimeInput", {})
        if key in ("activityStart", "activityEnd")
    ]


async def test_refused_while_update_setup_turns_vad_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator, emulator.open_session(VAD_OFF) as session:
        await session.update_setup(live_setup(AUDIO_MODEL, voice="Kore"))
        for signal in (session.activity_start, session.activity_end):
            with pytest.raises(LocalProtocolError, match=r"update_setup\(\) changes automatic"):
                await signal()
        await until_setup_changed(session)
        with pytest.raises(LocalProtocolError, match="needs automatic activity detection off"):
            await session.activity_start()
    assert [c.close_code for c in emulator.connections] == [1000, 1000]
    assert signals_received(emulator, 0) == signals_received(emulator, 1) == []


async def test_send_refuses_a_raw_signal_under_server_vad_and_passes_it_without(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # `send()` took a raw activityStart on a setup with server VAD, and the server closed
    # the whole session with 1007.
    raw = [
        ClientMessage(realtime_input=RealtimeInput(activity_start=ActivityStart())),
        ClientMessage(realtime_input=RealtimeInput(activity_end=ActivityEnd())),
    ]
    async with open_emulator() as emulator:
        async with emulator.open_session(VAD_ON) as session:
            for message in raw:
                with pytest.raises(LocalProtocolError, match=r"of realtimeInput\.activity"):
                    await session.send(message)
        async with emulator.open_session(VAD_OFF) as session:
            for message in raw:
                await session.send(message)
            await until_turn_complete(session)
    assert [c.close_code for c in emulator.connections] == [1000, 1000]
    assert signals_received(emulator, 0) == []
    assert signals_received(emulator, 1) == ["activityStart", "activityEnd"]


async def test_refused_until_a_move_that_turns_vad_off_is_made(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The model is answering: the move waits for the end of the turn, and a signal
    # accepted now went out on the old connection, which has server VAD (1007).
    config = EmulatorConfig(pacing="realtime")
    async with open_emulator(config) as emulator, emulator.open_session(VAD_ON) as session:
        await session.send_text("Tell me a long story about the sea.")
        await emulator.connections[0].wait_for_sent("serverContent.modelTurn")
        await session.update_setup(VAD_OFF)
        with pytest.raises(LocalProtocolError, match=r"Reconnected\(setup_changed=True\)"):
            await session.activity_start()
        await until_setup_changed(session)
        await session.activity_start()  # the setup in force has VAD off now
        await session.send_audio(bytes(640))
        await session.activity_end()
        await until_turn_complete(session)
    assert emulator.connections[0].close_code == 1000
    assert signals_received(emulator, 0) == []
    assert signals_received(emulator, 1) == ["activityStart", "activityEnd"]


async def test_allowed_while_update_setup_keeps_vad_off(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Whichever connection writes them, its setup has VAD off.
    async with open_emulator() as emulator, emulator.open_session(VAD_OFF) as session:
        await session.update_setup(live_setup(AUDIO_MODEL, automatic_vad=False, voice="Kore"))
        await session.activity_start()
        await session.send_audio(bytes(640))
        await session.activity_end()
        await until_setup_changed(session)
        await until_turn_complete(session)
    assert [c.close_code for c in emulator.connections] == [1000, 1000]
    assert signals_received(emulator, 0) + signals_received(emulator, 1) == [
        "activityStart",
        "activityEnd",
    ]


async def test_refused_before_start_then_checked_against_the_started_setup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # With `start=False` no setup is known until `start()`; a signal queued before it went
    # out right after a setup that (by default) has server VAD on.
    async with open_emulator() as emulator:
        async with emulator.open_session(VAD_ON, start=False) as session:
            for signal in (session.activity_start, session.activity_end):
                with pytest.raises(LocalProtocolError, match=r"before start\(\)"):
                    await signal()
            await session.start(VAD_ON)
            with pytest.raises(LocalProtocolError, match="needs automatic activity detection"):
                await session.activity_start()
        async with emulator.open_session(VAD_OFF, start=False) as session:
            await session.start(VAD_OFF)
            await session.activity_start()
            await session.activity_end()
            await until_turn_complete(session)
    assert [c.close_code for c in emulator.connections] == [1000, 1000]
    assert signals_received(emulator, 1) == ["activityStart", "activityEnd"]


class _Connection:
    """Stands in for the connection a move is opening (`opened`: setupComplete came)."""

    def __init__(self, opened: bool) -> None:
        self.opened = opened


def test_the_setup_a_refused_move_falls_back_to_counts_until_the_new_one_opens() -> None:
    # A move from VAD on to VAD off is under way, a second update_setup (VAD off) behind
    # it: should the server refuse the first, the session goes back to VAD on.
    session = LiveSession(url_endpoint("ws://127.0.0.1:9/ws/x", api_key="k"), SessionOptions())
    session._core.protocol.setup = VAD_OFF  # pyright: ignore[reportPrivateUsage]
    session._next_setup = VAD_OFF  # pyright: ignore[reportPrivateUsage]
    session._fallback_setup = VAD_ON  # pyright: ignore[reportPrivateUsage]
    for current in (None, _Connection(opened=False)):
        session._core.current = current  # type: ignore[assignment]  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(LocalProtocolError, match=r"update_setup\(\) changes automatic"):
            session._check_manual_activity("activity_start")  # pyright: ignore[reportPrivateUsage]
    session._core.current = _Connection(opened=True)  # type: ignore[assignment]  # pyright: ignore[reportPrivateUsage]
    session._check_manual_activity("activity_start")  # pyright: ignore[reportPrivateUsage]


# --- replay after a move ------------------------------------------------------------------
#
# Signals written under a setup with VAD off stay in the replay buffer until a handle
# covers them; a move to a setup with VAD on replayed them there, and the server closed
# the session with 1007. They are left out of such a replay now, and reported.

ACTIVITY_CAUSE = "activity signal under automatic activity detection"


async def manual_turn(session: LiveSession) -> None:
    await session.activity_start()
    await session.send_audio(bytes(6400))
    await session.activity_end()
    await until_turn_complete(session)


async def until_reconnected(session: LiveSession) -> Reconnected:
    with trio.fail_after(60):
        async for event in session:
            assert not isinstance(event, Closed), event
            if isinstance(event, Reconnected):
                return event
    raise AssertionError("no Reconnected")


async def test_a_move_that_turns_vad_on_does_not_replay_activity_signals(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator, emulator.open_session(VAD_OFF) as session:
        await manual_turn(session)
        await session.update_setup(VAD_ON)
        event = await until_reconnected(session)
        assert event.setup_changed
        assert event.not_replayed_messages == 2
        assert event.not_replayed == (
            f"realtimeInput.activityStart: 1 message(s), 38 bytes ({ACTIVITY_CAUSE})",
            f"realtimeInput.activityEnd: 1 message(s), 36 bytes ({ACTIVITY_CAUSE})",
        )
        assert event.replayed >= 1  # the audio is still written again
        # The session lives on: a text turn on the new connection is answered.
        await session.send_text("still there?")
        await until_turn_complete(session)
    assert [c.close_code for c in emulator.connections] == [1000, 1000]
    assert signals_received(emulator, 0) == ["activityStart", "activityEnd"]
    assert signals_received(emulator, 1) == []


async def test_a_refused_move_to_vad_on_replays_the_signals_on_the_old_setup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The signals are left out per attempt: the setup the session falls back to has VAD
    # off, so there they are written again as any message is.
    async with open_emulator() as emulator, emulator.open_session(VAD_OFF) as session:
        await manual_turn(session)
        await session.update_setup(live_setup(AUDIO_MODEL, voice="NoSuchVoice"))
        event = await until_reconnected(session)
        assert event.setup_refused is not None
        assert not event.setup_changed
        assert event.not_replayed == ()
        assert event.not_replayed_messages == 0
    assert [c.close_code for c in emulator.connections] == [1000, 1007, 1000]
    assert signals_received(emulator, 1) == []
    assert signals_received(emulator, 2) == ["activityStart", "activityEnd"]


def test_replay_plan_onto_leaves_activity_signals_out_only_under_automatic_vad() -> None:
    from trio_gemini_live._resume import ACTIVITY_END, ACTIVITY_START, ReplayBuffer

    buffer = ReplayBuffer(1 << 20)
    for index, kind in enumerate(
        (ACTIVITY_START, "realtimeInput.audio", ACTIVITY_END, "realtimeInput"), start=1
    ):
        buffer.add(index, b"x" * index, kind, written_at=0.0, uncertain=index == 3)
    plan = buffer.take()
    assert plan.onto(automatic_vad=False) is plan
    onto_vad = plan.onto(automatic_vad=True)
    assert [m.kind for m in onto_vad.replay] == ["realtimeInput.audio", "realtimeInput"]
    assert onto_vad.not_replayed_messages == 2
    assert onto_vad.possibly_duplicated == 0  # the uncertain one was an activity signal
    assert onto_vad.not_replayed == (
        f"realtimeInput.activityStart: 1 message(s), 1 bytes ({ACTIVITY_CAUSE})",
        f"realtimeInput.activityEnd: 1 message(s), 3 bytes ({ACTIVITY_CAUSE})",
    )


@asynccontextmanager
async def a_signal_queued_behind_audio(
    setup: Setup = VAD_OFF,
) -> AsyncIterator[tuple[Emulator, LiveSession]]:
    """A session whose signal, accepted, waits in the queue behind audio.

    With VAD off (`setup`) an `activityStart`, with it on an `audioStreamEnd`. The first
    connection reads slowly (a `slow-read` fault), so a burst of audio fills the uplink and
    the signal sent after it stays queued.
    """
    slow = Fault(kind="slow-read", seconds=0.2, read_bytes=2048, connection=1)
    async with (
        open_emulator(EmulatorConfig(faults=(slow,))) as emulator,
        emulator.open_session(setup, buffer=4096) as session,
    ):
        automatic = automatic_activity_detection(setup)

        async def mic() -> None:
            for _ in range(10):
                await session.send_audio(bytes(3200))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(mic)
            await trio.sleep(0.05)
            if automatic:
                await session.audio_stream_end()  # the microphone paused: accepted, queued
            else:
                await session.activity_start()  # push-to-talk pressed: accepted, and queued
        assert session.statistics().sends_queued > 0
        yield emulator, session


async def test_a_signal_still_queued_is_not_written_on_a_connection_with_vad_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The `activityStart` was checked when it was sent (VAD off then, no move pending) and
    # queued behind audio on a slow uplink; `update_setup` then turned VAD on. The check
    # runs only at the call: the new connection's sender wrote the queued signal, and the
    # server closed the whole session with 1007. It is left out there now, and reported as
    # the replay reports the signals it leaves out.
    async with a_signal_queued_behind_audio() as (emulator, session):
        await session.update_setup(VAD_ON)
        event = await until_reconnected(session)
        assert event.setup_changed
        assert (
            f"realtimeInput.activityStart: 1 message(s), 38 bytes ({ACTIVITY_CAUSE})"
            in event.not_replayed
        )
        assert event.not_replayed_messages >= 1
        await session.send_text("still there?")
        await until_turn_complete(session)
        assert session.not_sent == ()
    later = range(1, len(emulator.connections))
    assert all(signals_received(emulator, number) == [] for number in later)
    # The old connection drains slowly (the fault), so a resume may meet it still open and
    # be refused, as Google does, with 1011 "in use": retried until it has closed.
    *refused, resumed = emulator.connections[1:]
    assert all(connection.close_code == 1011 for connection in refused)
    assert resumed.close_code == 1000
    assert session.not_sent == ()  # reported by `Reconnected`, not again at the end


async def test_a_queued_signal_goes_out_when_the_vad_on_setup_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Left out per connection: the server refuses the new setup, and the session goes
    # back to the old one (VAD off), where the queued signal is written as usual.
    async with a_signal_queued_behind_audio() as (emulator, session):
        await session.update_setup(live_setup(AUDIO_MODEL, voice="NoSuchVoice"))
        event = await until_reconnected(session)
        assert event.setup_refused is not None
        assert not any(ACTIVITY_CAUSE in line for line in event.not_replayed)
        await session.activity_end()
        await until_turn_complete(session)
    # A resume that meets the slowly draining old connection still open is refused with
    # 1011 "in use" (as Google does) and retried: those attempts carry nothing.
    codes = [c.close_code for c in emulator.connections]
    assert [code for code in codes if code != 1011] == [1000, 1007, 1000]
    assert signals_received(emulator, -1)[:1] == ["activityStart"]
    assert "activityStart" not in signals_received(emulator, 0)


# --- audio_stream_end: the mirror ---------------------------------------------------------
#
# `audioStreamEnd` is valid only with automatic activity detection on (protocol.md 2.3); with
# it off the turn ends with `activityEnd`. It was sent whatever the setup.


def stream_ends_received(emulator: Emulator, connection: int) -> int:
    frames = [f.data for f in emulator.connections[connection].received if f.data]
    return sum(1 for frame in frames if frame.get("realtimeInput", {}).get("audioStreamEnd"))


async def test_audio_stream_end_is_refused_under_manual_vad_and_sent_under_server_vad(
    autojump_clock: trio.testing.MockClock,
) -> None:
    raw = ClientMessage(realtime_input=RealtimeInput(audio_stream_end=True))
    async with open_emulator() as emulator:
        async with emulator.open_session(VAD_OFF) as session:
            with pytest.raises(LocalProtocolError, match=r"needs automatic activity detection on"):
                await session.audio_stream_end()
            with pytest.raises(LocalProtocolError, match=r"activity_end\(\)"):
                await session.audio_stream_end()
            with pytest.raises(LocalProtocolError, match=r"of realtimeInput\.audioStreamEnd"):
                await session.send(raw)
            # With an activity signal, which manual detection takes, in the same message.
            both = RealtimeInput(activity_start=ActivityStart(), audio_stream_end=True)
            with pytest.raises(LocalProtocolError, match=r"of realtimeInput\.audioStreamEnd"):
                await session.send(ClientMessage(realtime_input=both))
        async with emulator.open_session(VAD_ON) as session:
            await session.send_audio(bytes(640))
            await session.audio_stream_end()
            await session.send(raw)
    assert [c.close_code for c in emulator.connections] == [1000, 1000]
    assert stream_ends_received(emulator, 0) == 0
    assert stream_ends_received(emulator, 1) == 2


async def test_audio_stream_end_is_refused_while_update_setup_turns_vad_off(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator, emulator.open_session(VAD_ON) as session:
        await session.update_setup(VAD_OFF)
        with pytest.raises(LocalProtocolError, match=r"update_setup\(\) changes automatic"):
            await session.audio_stream_end()
        await until_setup_changed(session)
        with pytest.raises(LocalProtocolError, match="needs automatic activity detection on"):
            await session.audio_stream_end()
    assert [c.close_code for c in emulator.connections] == [1000, 1000]
    assert stream_ends_received(emulator, 0) == stream_ends_received(emulator, 1) == 0


async def test_audio_stream_end_is_allowed_while_update_setup_keeps_vad_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator, emulator.open_session(VAD_ON) as session:
        await session.update_setup(live_setup(AUDIO_MODEL, voice="Kore"))
        await session.audio_stream_end()
        await until_setup_changed(session)
    assert stream_ends_received(emulator, 0) + stream_ends_received(emulator, 1) == 1


async def test_audio_stream_end_is_refused_before_start(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator, emulator.open_session(VAD_OFF, start=False) as session:
        with pytest.raises(LocalProtocolError, match=r"before start\(\)"):
            await session.audio_stream_end()
        await session.start(VAD_OFF)
        with pytest.raises(LocalProtocolError, match="needs automatic activity detection on"):
            await session.audio_stream_end()
    assert stream_ends_received(emulator, 0) == 0


def test_audio_stream_end_counts_the_setup_a_refused_move_falls_back_to() -> None:
    # A move from VAD off to VAD on is under way: should the server refuse it, the session
    # goes back to VAD off, until the new connection has opened.
    session = LiveSession(url_endpoint("ws://127.0.0.1:9/ws/x", api_key="k"), SessionOptions())
    session._core.protocol.setup = VAD_ON  # pyright: ignore[reportPrivateUsage]
    session._next_setup = VAD_ON  # pyright: ignore[reportPrivateUsage]
    session._fallback_setup = VAD_OFF  # pyright: ignore[reportPrivateUsage]
    for current in (None, _Connection(opened=False)):
        session._core.current = current  # type: ignore[assignment]  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(LocalProtocolError, match=r"update_setup\(\) changes automatic"):
            session._check_automatic_activity("audio_stream_end")  # pyright: ignore[reportPrivateUsage]
    session._core.current = _Connection(opened=True)  # type: ignore[assignment]  # pyright: ignore[reportPrivateUsage]
    session._check_automatic_activity("audio_stream_end")  # pyright: ignore[reportPrivateUsage]


# --- audioStreamEnd across a move that turns detection off ---------------------------------
#
# One written, or accepted and queued, under a setup with VAD on, when an `update_setup` then
# turned it off, was written again (replayed) or for the first time on the new connection,
# where it is not valid. It is left out there now, and reported, as the signals are.

STREAM_END_CAUSE = "audioStreamEnd without automatic activity detection"
STREAM_END_SIZE = len(b'{"realtimeInput":{"audioStreamEnd":true}}')


def test_replay_plan_onto_leaves_audio_stream_end_out_only_without_automatic_vad() -> None:
    from trio_gemini_live._resume import AUDIO_STREAM_END, ReplayBuffer

    buffer = ReplayBuffer(1 << 20)
    for index, kind in enumerate(("realtimeInput.audio", AUDIO_STREAM_END), start=1):
        buffer.add(index, b"x" * index, kind, written_at=0.0, uncertain=index == 2)
    plan = buffer.take()
    assert plan.onto(automatic_vad=True) is plan
    onto_manual = plan.onto(automatic_vad=False)
    assert [m.kind for m in onto_manual.replay] == ["realtimeInput.audio"]
    assert onto_manual.not_replayed_messages == 1
    assert onto_manual.possibly_duplicated == 0  # the uncertain one was the stream's end
    assert onto_manual.not_replayed == (
        f"realtimeInput.audioStreamEnd: 1 message(s), 2 bytes ({STREAM_END_CAUSE})",
    )


async def test_a_move_that_turns_vad_off_does_not_replay_audio_stream_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator, emulator.open_session(VAD_ON) as session:
        await session.send_audio(bytes(6400))
        await session.audio_stream_end()
        # Written on the old connection (in the replay buffer), not still queued at the
        # move: the next test covers that case.
        await emulator.connections[0].wait_for_received("realtimeInput.audioStreamEnd")
        await session.update_setup(VAD_OFF)
        event = await until_reconnected(session)
        assert event.setup_changed
        assert event.not_replayed_messages == 1
        assert event.not_replayed == (
            f"realtimeInput.audioStreamEnd: 1 message(s), {STREAM_END_SIZE} bytes "
            f"({STREAM_END_CAUSE})",
        )
        assert event.replayed >= 1  # the audio is still written again
        await manual_turn(session)  # the session lives on, under manual detection
    assert [c.close_code for c in emulator.connections] == [1000, 1000]
    assert stream_ends_received(emulator, 0) == 1
    assert stream_ends_received(emulator, 1) == 0


async def test_a_queued_audio_stream_end_is_not_written_on_a_connection_with_vad_off(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with a_signal_queued_behind_audio(VAD_ON) as (emulator, session):
        await session.update_setup(VAD_OFF)
        event = await until_reconnected(session)
        assert event.setup_changed
        assert (
            f"realtimeInput.audioStreamEnd: 1 message(s), {STREAM_END_SIZE} bytes "
            f"({STREAM_END_CAUSE})" in event.not_replayed
        )
        await manual_turn(session)
        assert session.not_sent == ()
    assert all(stream_ends_received(emulator, n) == 0 for n in range(len(emulator.connections)))
    # As above: a resume meeting the slowly draining old connection is refused with 1011.
    *refused, resumed = emulator.connections[1:]
    assert all(connection.close_code == 1011 for connection in refused)
    assert resumed.close_code == 1000
    assert session.not_sent == ()  # reported by `Reconnected`, not again at the end


async def test_a_queued_audio_stream_end_goes_out_when_the_vad_off_setup_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with a_signal_queued_behind_audio(VAD_ON) as (emulator, session):
        await session.update_setup(live_setup(AUDIO_MODEL, automatic_vad=False, voice="Nope"))
        event = await until_reconnected(session)
        assert event.setup_refused is not None
        assert not any(STREAM_END_CAUSE in line for line in event.not_replayed)
        await session.send_text("still there?")
        await until_turn_complete(session)
    codes = [c.close_code for c in emulator.connections]
    assert [code for code in codes if code != 1011] == [1000, 1007, 1000]
    assert stream_ends_received(emulator, 0) == 0
    assert stream_ends_received(emulator, len(codes) - 1) == 1
