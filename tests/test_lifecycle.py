"""Setup changes by resuming, cancellation at every stage, TLS defaults, and no secret leaks."""

from __future__ import annotations

import functools
import logging
import re
import socket
import ssl
import struct
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
import trio.testing
import trio_websocket

from fake_server import FakeServer, pretty
from trio_gemini_live import (
    Closed,
    ConfigurationError,
    Content,
    GeminiLiveError,
    GenerationConfig,
    InvalidArgumentError,
    LiveSession,
    LocalProtocolError,
    Part,
    PolicyViolationError,
    QuotaExceededError,
    RealtimeEvent,
    Reconnected,
    ReconnectFailedError,
    ReconnectPolicy,
    RemoteProtocolError,
    SessionClosedError,
    SessionOptions,
    SessionState,
    SessionUpdated,
    Setup,
    TextDelta,
    TransportError,
    TurnComplete,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._connection import Connection
from trio_gemini_live.emulator import (
    EmulatorConfig,
    Fault,
    open_emulator,
    server_ssl_context,
    write_self_signed_cert,
)
from turns import tone, until_event

MODEL = "gemini-live-2.5-flash-preview"
CANARY = "AIzaCANARY-never-print-me-0123456789"


async def wait_turn(session: LiveSession, seen: list[RealtimeEvent]) -> None:
    async for event in session:
        seen.append(event)
        if isinstance(event, TurnComplete):
            return


async def test_update_setup_resumes_with_the_new_setup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator:
        setup = live_setup(MODEL, modality="TEXT", system_instruction="Be terse.")
        async with emulator.open_session(setup, api_key="k") as session:
            seen: list[RealtimeEvent] = []
            await session.send_client_content("hello")
            with trio.fail_after(30):
                await wait_turn(session, seen)
            changed = live_setup(
                MODEL, modality="TEXT", system_instruction="Be verbose.", output_transcription=True
            )
            await session.update_setup(changed)
            with trio.fail_after(30):
                async for event in session:
                    seen.append(event)
                    if isinstance(event, SessionUpdated) and any(
                        isinstance(e, Reconnected) for e in seen
                    ):
                        break
            reconnected = next(e for e in seen if isinstance(e, Reconnected))
            assert reconnected.reason == "reconfigure"
            assert reconnected.setup_changed
            updated = seen[-1]
            assert isinstance(updated, SessionUpdated)
            assert updated.setup["systemInstruction"]["parts"][0]["text"] == "Be verbose."
            second = emulator.connections[1].received[0].data["setup"]
            assert second["systemInstruction"]["parts"][0]["text"] == "Be verbose."
            assert "outputAudioTranscription" in second
            issued = {
                frame.data["sessionResumptionUpdate"].get("newHandle")
                for frame in emulator.connections[0].sent
                if "sessionResumptionUpdate" in frame.data
            }
            assert second["sessionResumption"]["handle"] in issued - {None}
            # The conversation continues on the new connection.
            await session.send_client_content("again")
            with trio.fail_after(30):
                await wait_turn(session, seen)
            with pytest.raises(ConfigurationError, match="model"):
                await session.update_setup(live_setup("gemini-2.0-flash-live-001"))


async def test_a_setup_the_server_refuses_leaves_the_session_on_the_one_it_had(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A new setup refused with 1007 (a voice the server lacks) no longer ends the session.

    It ended with ReconnectFailedError; now the session resumes at once with the setup it
    had, and `Reconnected.setup_refused` says what the server said.
    """
    async with open_emulator() as emulator:
        setup = live_setup(MODEL, system_instruction="Be terse.")
        async with emulator.open_session(setup, api_key="k") as session:
            seen: list[RealtimeEvent] = []
            await session.send_client_content("hello")
            with trio.fail_after(30):
                await wait_turn(session, seen)
            await session.update_setup(live_setup(MODEL, voice="NoSuchVoice"))
            with trio.fail_after(30):
                event = await until_event(session, Reconnected)
            assert event.reason == "reconfigure"
            assert event.setup_refused is not None
            assert "1007" in event.setup_refused
            assert not event.setup_changed
            assert session.setup is not None
            assert session.setup.system_instruction == setup.system_instruction
            refused, resumed = (c.received[0].data["setup"] for c in emulator.connections[1:])
            assert refused["generationConfig"]["speechConfig"]["voiceConfig"]
            assert _instruction(resumed) == "Be terse."
            # The conversation continues, and a later good setup is still applied.
            await session.send_client_content("again")
            with trio.fail_after(30):
                await wait_turn(session, seen)
            await session.update_setup(live_setup(MODEL, system_instruction="Be verbose."))
            with trio.fail_after(30):
                event = await until_event(session, Reconnected)
            assert event.setup_changed
            assert event.setup_refused is None
            assert _instruction(emulator.connections[-1].received[0].data["setup"]) == (
                "Be verbose."
            )


@pytest.mark.parametrize(
    ("code", "reason", "error_type"),
    [
        (1011, "You exceeded your current quota, please check your plan.", QuotaExceededError),
        (1008, "Requested entity was not found.", PolicyViolationError),
    ],
    ids=["quota", "1008"],
)
async def test_a_failed_move_that_is_no_refusal_keeps_the_new_setup_and_ends_the_session(
    autojump_clock: trio.testing.MockClock,
    code: int,
    reason: str,
    error_type: type[GeminiLiveError],
) -> None:
    """Only the server's 1007 before `setupComplete` refuses a new setup.

    Every fatal close of the move's connection was taken for a refusal: the new setup was
    dropped, `Reconnected.setup_refused` blamed it for a quota close (or an expired
    handle), and the session resumed on the old setup. The close table says these end it.
    """
    fault = Fault(kind="close", code=code, reason=reason, connection=2, after_received=1)
    seen: list[RealtimeEvent] = []
    async with open_emulator(EmulatorConfig(faults=(fault,))) as emulator:
        setup = live_setup(MODEL, modality="TEXT", system_instruction="Be terse.")
        with pytest.raises(ReconnectFailedError) as info:
            async with emulator.open_session(setup, api_key="k") as session:
                await session.send_client_content("hello")
                with trio.fail_after(30):
                    await wait_turn(session, seen)
                changed = live_setup(MODEL, modality="TEXT", system_instruction="Be verbose.")
                await session.update_setup(changed)
                with trio.fail_after(30):
                    async for event in session:
                        seen.append(event)
        assert isinstance(info.value.last_error, error_type)
        assert not any(isinstance(event, Reconnected) for event in seen)
        # No third connection went back to the old setup.
        [_, moved] = emulator.connections
        assert _instruction(moved.received[0].data["setup"]) == "Be verbose."


async def test_the_clients_own_close_of_a_moves_connection_is_no_refusal(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    """A server that breaks the protocol on the move's connection ends the session.

    `goAway` before `setupComplete` makes the client close with 1007 itself: that was
    taken for the server refusing the new setup, which was dropped without a word of truth.
    """
    setups: list[dict[str, Any]] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        setups.append((await server.receive_json(ws))["setup"])
        if server.connections == 2:
            await ws.send_message(pretty({"goAway": {"timeLeft": "30s"}}))
            await trio.sleep_forever()
        await ws.send_message(pretty({"setupComplete": {}}))
        update = {"newHandle": f"h{server.connections}", "resumable": True}
        await ws.send_message(pretty({"sessionResumptionUpdate": update}))
        while True:
            await server.receive_json(ws)

    server = FakeServer(nursery, script)
    endpoint = url_endpoint("ws://127.0.0.1/ws", api_key="k")
    seen: list[RealtimeEvent] = []
    with pytest.raises(ReconnectFailedError) as info:
        async with open_session(
            live_setup(MODEL, modality="TEXT", system_instruction="A"),
            endpoint=endpoint,
            connector=server.connector,
        ) as session:
            await session.update_setup(live_setup(MODEL, modality="TEXT", system_instruction="B"))
            with trio.fail_after(30):
                async for event in session:
                    seen.append(event)
    assert isinstance(info.value.last_error, RemoteProtocolError)
    assert "goAway before setupComplete" in str(info.value)
    assert not any(isinstance(event, Reconnected) for event in seen)
    assert [_instruction(setup) for setup in setups] == ["A", "B"]


def _instruction(setup: dict[str, object]) -> str:
    return setup["systemInstruction"]["parts"][0]["text"]  # type: ignore[index,no-any-return]


async def test_setup_changes_in_a_row_are_all_applied_at_once_and_spend_no_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Each change comes on a connection a moment old, far younger than `stable_after`:
    # none may be dropped, none may wait a backoff, and there are more of them than the
    # reconnect budget has attempts.
    policy = ReconnectPolicy(max_attempts=2, initial_delay=1, jitter=0)
    async with (
        open_emulator() as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="TEXT", system_instruction="v0"),
            api_key="k",
            options=SessionOptions(reconnect=policy),
        ) as session,
    ):
        reconnected: list[Reconnected] = []
        applied: list[str] = []
        for version in range(1, 5):
            await session.update_setup(
                live_setup(MODEL, modality="TEXT", system_instruction=f"v{version}")
            )
            moved = False
            with trio.fail_after(30):
                async for event in session:
                    if isinstance(event, Reconnected):
                        assert event.setup_changed, event
                        reconnected.append(event)
                        moved = True
                    elif isinstance(event, SessionUpdated) and moved:
                        applied.append(_instruction(event.setup))
                        break
            await trio.sleep(0.5)
    assert applied == ["v1", "v2", "v3", "v4"]
    sent = [_instruction(c.received[0].data["setup"]) for c in emulator.connections]
    assert sent == ["v0", "v1", "v2", "v3", "v4"]
    assert all(e.reason == "reconfigure" for e in reconnected)
    assert [e.attempts for e in reconnected] == [1, 1, 1, 1]
    assert all(e.duration < policy.initial_delay for e in reconnected)


async def test_a_setup_change_while_between_connections_goes_with_the_next_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    policy = ReconnectPolicy(initial_delay=1, jitter=0)
    async with (
        open_emulator() as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="TEXT", system_instruction="before"),
            api_key="k",
            options=SessionOptions(reconnect=policy),
        ) as session,
    ):
        await emulator.connections[0].reset()
        await trio.sleep(policy.initial_delay / 2)  # the session waits out its backoff
        assert len(emulator.connections) == 1
        await session.update_setup(live_setup(MODEL, modality="TEXT", system_instruction="after"))
        seen: list[RealtimeEvent] = []
        with trio.fail_after(30):
            async for event in session:
                seen.append(event)
                if isinstance(event, SessionUpdated) and len(seen) > 2:
                    break  # not the first one, from the session's opening
    reconnected = seen[-2]
    assert isinstance(reconnected, Reconnected)
    assert reconnected.setup_changed
    assert _instruction(seen[-1].setup) == "after"  # type: ignore[union-attr]
    assert len(emulator.connections) == 2
    assert _instruction(emulator.connections[1].received[0].data["setup"]) == "after"


async def _after_move(session: LiveSession) -> tuple[Reconnected, SessionUpdated]:
    """The next `Reconnected` and the `SessionUpdated` of a changed setup after it."""
    reconnected = await _reconnected(session)
    with trio.fail_after(30):
        async for event in session:
            if isinstance(event, SessionUpdated):
                return reconnected, event
    raise AssertionError("the session ended before its SessionUpdated")


async def _reconnected(session: LiveSession) -> Reconnected:
    with trio.fail_after(30):
        async for event in session:
            if isinstance(event, Reconnected):
                return event
    raise AssertionError("the session ended before the move")


def _voice(setup: dict[str, Any]) -> str:
    return setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"][  # type: ignore[no-any-return]
        "voiceName"
    ]


async def test_a_context_update_made_while_a_setup_change_waits_goes_into_the_new_setup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """`update_context` right after `update_setup`, before the move, is not lost at the move.

    The move applied the requested setup as it was given: the new instruction was gone from
    `session.setup`, from the move's `SessionUpdated` and from the setup of every later
    resume, so the server went back to the old instruction at the next `goAway`.
    """
    async with (
        open_emulator() as emulator,
        emulator.open_session(live_setup(MODEL, voice="Kore", system_instruction="A")) as session,
    ):
        await session.update_setup(live_setup(MODEL, voice="Puck", system_instruction="A"))
        await session.update_context(system_instruction="B")
        reconnected, updated = await _after_move(session)
        assert reconnected.setup_changed
        assert _instruction(updated.setup) == "B"
        assert _voice(updated.setup) == "Puck"
        assert session.setup is not None
        assert session.setup.system_instruction == Content(parts=[Part(text="B")], role="user")
        moved = emulator.connections[1].received[0].data["setup"]
        assert (_instruction(moved), _voice(moved)) == ("B", "Puck")
        # A later resume carries it too.
        await (await emulator.wait_for_connection(2)).go_away(5)
        reconnected = await _reconnected(session)
        assert reconnected.reason == "goAway"
        assert session.setup.system_instruction == Content(parts=[Part(text="B")], role="user")
        assert _instruction(emulator.connections[2].received[0].data["setup"]) == "B"
        # Made before `update_setup`, a context update gives way to the setup asked for.
        await session.update_context(system_instruction="C")
        await session.update_setup(live_setup(MODEL, voice="Kore", system_instruction="D"))
        _, updated = await _after_move(session)
        assert (_instruction(updated.setup), _voice(updated.setup)) == ("D", "Kore")


async def test_a_context_update_made_before_a_setup_change_is_not_replayed_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The server ends with the setup asked for, as `session.setup` does.

    The replay wrote the `contextUpdate` made before `update_setup` (not yet covered by a
    handle) again after the new setup, which put back the instruction it replaced.
    """
    async with (
        open_emulator() as emulator,
        emulator.open_session(live_setup(MODEL, system_instruction="A")) as session,
    ):
        await session.update_context(system_instruction="B")
        await session.update_setup(live_setup(MODEL, system_instruction="C"))
        reconnected, _ = await _after_move(session)
        assert reconnected.setup_changed
        assert reconnected.replayed == 0
        assert reconnected.not_replayed == ()
        received = emulator.connections[1].received
        assert _instruction(received[0].data["setup"]) == "C"
        assert [frame.data for frame in received if "contextUpdate" in frame.data] == []


async def test_a_queued_context_update_made_before_a_setup_change_is_not_written_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """As for the replay, so for the outgoing queue: the server ends with the new setup.

    The update, still queued behind audio on a slow uplink at the move, was written by the
    new connection's sender after the new setup, and put back the instruction it replaced.
    """
    async with (
        open_emulator() as emulator,
        emulator.open_session(
            live_setup(MODEL, system_instruction="A"), latency=0.05, buffer=4096
        ) as session,
    ):
        await session.send_audio(b"\0\0" * 100_000)  # a long write on a slow uplink
        await session.send_audio(b"\0\0" * 100_000)  # queued behind it
        await session.update_context(system_instruction="B")  # queued behind that
        assert session.statistics().sends_queued >= 1
        await session.update_setup(live_setup(MODEL, system_instruction="C"))
        with trio.fail_after(60):
            reconnected, _ = await _after_move(session)
            await trio.sleep(30)  # the queue drains on the new connection
        assert reconnected.setup_changed
        assert session.setup is not None
        assert session.setup.system_instruction == Content(parts=[Part(text="C")], role="user")
        received = emulator.connections[1].received
        assert _instruction(received[0].data["setup"]) == "C"
        assert [frame.data for frame in received if "contextUpdate" in frame.data] == []
        assert [frame.get("realtimeInput.audio") is not None for frame in received[1:]] == [
            True,
            True,
        ]
    assert session.not_sent == ()


async def test_a_queued_context_update_no_connection_carried_is_reported_unsent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Still queued at a move whose connection never opens: no setup carried it to the
    # server, and it is reported as never written, as before the queue left it out.
    async with open_emulator() as emulator:
        first = emulator.memory_connector(0.05, buffer=4096)

        async def connector() -> trio.abc.Stream:
            if not emulator.connections:
                return await first()
            await trio.sleep_forever()  # the move's connect never returns

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="test-key")
        async with open_session(
            live_setup(MODEL, system_instruction="A"),
            endpoint=endpoint,
            connector=connector,
            options=SessionOptions(close_timeout=2),
        ) as session:
            await session.send_audio(b"\0\0" * 100_000)
            await session.send_audio(b"\0\0" * 100_000)
            await session.update_context(system_instruction="B")
            await session.update_setup(live_setup(MODEL, system_instruction="C"))
            await trio.sleep(5)
            await session.aclose()
    received = emulator.connections[0].received
    assert not any("contextUpdate" in frame.data for frame in received)
    assert any(line.startswith("contextUpdate: 1 message(s)") for line in session.not_sent)


async def test_a_context_update_made_while_a_refused_setup_is_sent_is_kept(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    """An instruction changed while the server weighs a new setup outlives its refusal.

    The session went back to the setup in force before the move, taken before the change:
    the instruction was gone from `session.setup` and from the setup of the resume.
    """
    setup_sent = trio.Event()
    refuse = trio.Event()
    setups: list[dict[str, Any]] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        setups.append((await server.receive_json(ws))["setup"])
        if server.connections == 2:
            setup_sent.set()
            await refuse.wait()
            await ws.aclose(1007, "Request contains an invalid argument.")
            return
        await ws.send_message(pretty({"setupComplete": {}}))
        if server.connections == 1:
            update = {"newHandle": "h1", "resumable": True}
            await ws.send_message(pretty({"sessionResumptionUpdate": update}))
        while True:
            await server.receive_json(ws)

    server = FakeServer(nursery, script)
    endpoint = url_endpoint("ws://127.0.0.1/ws", api_key="k")
    async with open_session(
        live_setup(MODEL, voice="Kore", system_instruction="A"),
        endpoint=endpoint,
        connector=server.connector,
    ) as session:
        await session.update_setup(live_setup(MODEL, voice="Bad", system_instruction="A"))
        with trio.fail_after(30):
            await setup_sent.wait()
        await session.update_context(system_instruction="B")
        refuse.set()
        reconnected = await _reconnected(session)
        assert reconnected.setup_refused is not None
        assert session.setup is not None
        assert session.setup.system_instruction == Content(parts=[Part(text="B")], role="user")
    assert [(_instruction(setup), _voice(setup)) for setup in setups] == [
        ("A", "Kore"),
        ("A", "Bad"),
        ("B", "Kore"),
    ]
    # The setup the session went back to carries B: the update still queued is not
    # written after it again.
    assert "setup" in server.received[-1]
    assert not any("contextUpdate" in message for message in server.received)


async def test_update_setup_needs_resumption(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator() as emulator:
        setup = live_setup(MODEL, modality="TEXT", resumption=False)
        async with emulator.open_session(setup, api_key="k") as session:
            with pytest.raises(ConfigurationError, match="resumption"):
                await session.update_setup(setup)


async def test_update_setup_before_start_says_so(autojump_clock: trio.testing.MockClock) -> None:
    # It raised SessionClosedError("the session is not open") on a session that was open.
    async with open_emulator() as emulator:
        setup = live_setup(MODEL, modality="TEXT")
        async with emulator.open_session(setup, api_key="k", start=False) as session:
            with pytest.raises(LocalProtocolError, match=r"give this setup to start\(\)"):
                await session.update_setup(setup)
            await session.start(setup)
            await session.send_text("hello")  # the session is unharmed
            await until_event(session, TurnComplete)


# --- cancellation: nothing left behind, socket closed within 1 s --------------------------------


async def test_cancel_during_connect(autojump_clock: trio.testing.MockClock) -> None:
    connecting = trio.Event()

    async def never_connects() -> trio.abc.Stream:
        connecting.set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    endpoint = url_endpoint("ws://127.0.0.1:9/x", api_key="k")
    with trio.move_on_after(5) as scope:
        async with open_session(MODEL, endpoint=endpoint, connector=never_connects):
            pytest.fail("must not connect")
    assert scope.cancelled_caught
    assert connecting.is_set()


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
@pytest.mark.parametrize("how", ["connect_timeout", "cancelled"])
async def test_an_unanswered_upgrade_closes_the_stream(
    autojump_clock: trio.testing.MockClock, transport: str, how: str
) -> None:
    # The server takes the connection but never answers the upgrade. trio-websocket left the
    # stream open when its handshake was cut short (a leaked socket).
    server_ends: list[trio.abc.Stream] = []

    async def connector() -> trio.abc.Stream:
        client, server = trio.testing.memory_stream_pair()
        server_ends.append(server)
        return client

    endpoint = url_endpoint("ws://127.0.0.1:9/x", api_key="k")
    options = SessionOptions(transport=transport, connect_timeout=5)
    with trio.move_on_after(2 if how == "cancelled" else 30) as scope:
        with pytest.raises(TransportError, match="longer than 5 s"):
            async with open_session(MODEL, endpoint=endpoint, connector=connector, options=options):
                pytest.fail("must not connect")
    assert scope.cancelled_caught == (how == "cancelled")
    (server,) = server_ends
    with trio.fail_after(1):
        while await server.receive_some():  # the upgrade request, then the end of the stream
            pass


async def test_a_name_lookup_that_never_answers_is_under_connect_timeout(
    mock_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # trio resolves a host name with the system's getaddrinfo in a worker thread, which a
    # cancel scope abandons: the lookup is part of connect_timeout, like TCP, TLS and the
    # upgrade. (A resolver stuck on an unreachable DNS server waits for minutes.) The clock
    # moves only once the lookup has begun in its thread.
    real = socket.getaddrinfo
    asked = threading.Event()
    release = threading.Event()

    def stuck(host: object, *args: object, **kwargs: object) -> object:
        flags = args[4] if len(args) > 4 else kwargs.get("flags", 0)
        if isinstance(flags, int) and flags & socket.AI_NUMERICHOST:
            return real(host, *args, **kwargs)  # type: ignore[arg-type]  # trio's quick try
        asked.set()
        release.wait(10)  # the lookup never answers (until the test is over)
        raise socket.gaierror(socket.EAI_AGAIN, "no answer")

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    endpoint = url_endpoint("wss://live.invalid/ws", api_key="k")
    options = SessionOptions(connect_timeout=5)
    failed: list[BaseException] = []

    async def connect() -> None:
        try:
            async with open_session(MODEL, endpoint=endpoint, options=options):
                pytest.fail("must not connect")
        except TransportError as exc:
            failed.append(exc)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(connect)
            assert await trio.to_thread.run_sync(asked.wait, 10)  # the lookup has begun
            mock_clock.jump(options.connect_timeout)
    finally:
        release.set()
    (error,) = failed
    assert "longer than 5 s" in str(error)


async def test_a_tls_handshake_that_never_answers_is_under_connect_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The server takes the TCP connection and the ClientHello, and answers nothing.
    closed = trio.Event()

    async def silent(stream: trio.SocketStream) -> None:
        while await stream.receive_some():
            pass
        closed.set()  # the client gave up and closed its socket

    options = SessionOptions(connect_timeout=5)
    async with trio.open_nursery() as nursery:
        serve = functools.partial(trio.serve_tcp, silent, 0, host="127.0.0.1")
        listeners = await nursery.start(serve)
        port = listeners[0].socket.getsockname()[1]
        endpoint = url_endpoint(f"wss://127.0.0.1:{port}/ws", api_key="k")
        started = trio.current_time()
        with trio.fail_after(30), pytest.raises(TransportError, match="longer than 5 s"):
            async with open_session(MODEL, endpoint=endpoint, options=options):
                pytest.fail("must not connect")
        assert trio.current_time() - started <= options.connect_timeout + 0.1
        with trio.fail_after(1):
            await closed.wait()
        nursery.cancel_scope.cancel()


def answering(nursery: trio.Nursery, answer: bytes) -> trio.abc.Stream:
    """A stream to a server that reads the upgrade request, sends `answer` and hangs up."""
    client, server = trio.testing.memory_stream_pair()

    async def hang_up() -> None:
        await server.receive_some()
        await server.send_all(answer)
        await server.aclose()

    nursery.start_soon(hang_up)
    return client


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy", "with HTTP 503"),
        (b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n", "with HTTP 403"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP response"),
        # A server that echoes the key: trio-websocket's and h11's errors quote its answer.
        (
            b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer key=%s\r\n"
            b"content-length: 12\r\n\r\nbad key ...." % CANARY.encode(),
            "with HTTP 401",
        ),
        (b"HTTP/1.1 abc %s\r\n\r\n" % CANARY.encode(), "handshake with .* failed"),
    ],
)
async def test_a_refused_upgrade_is_a_transport_error_on_both_transports(
    autojump_clock: trio.testing.MockClock, transport: str, answer: bytes, message: str
) -> None:
    # trio-websocket raises a refused upgrade from its reader task, where the mapping to
    # TransportError never saw it: the user got trio_websocket.ConnectionRejected (or an
    # h11 error for a reply that is not HTTP), and a resume that met it ended the session
    # instead of spending one attempt.
    async def connector() -> trio.abc.Stream:
        return answering(nursery, answer)

    endpoint = url_endpoint(f"ws://127.0.0.1:9/x?key={CANARY}")
    options = SessionOptions(transport=transport, connect_timeout=5)
    async with trio.open_nursery() as nursery:
        with trio.fail_after(1), pytest.raises(TransportError, match=message) as info:
            async with open_session(MODEL, endpoint=endpoint, connector=connector, options=options):
                pytest.fail("must not connect")
    assert CANARY not in str(info.value)
    # Not only suppressed (`from None`): trio-websocket's error was kept as `__context__`,
    # the server's answer (the key it echoed) with it.
    assert info.value.__context__ is None
    assert info.value.__cause__ is None


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"SSH-2.0-OpenSSH_8.9\r\n", id="ssh"),
        pytest.param(b"\x15\x03\x03\x00\x02\x02\x46", id="tls-alert"),
        pytest.param(b"H", id="http-at-first-then-not"),
    ],
)
async def test_an_answer_that_is_not_http_fails_at_once_on_both_transports(
    autojump_clock: trio.testing.MockClock, transport: str, answer: bytes
) -> None:
    # A server of another protocol on that port greets with a line and keeps the socket
    # open: both transports read on for the blank line that ends an HTTP head, and told the
    # user after connect_timeout that connecting "took longer than 10 s".
    started = trio.current_time()

    async def greet(server: trio.abc.Stream) -> None:
        await server.receive_some()  # the upgrade request
        for byte in answer:  # a byte a read: each transport decides from what it has
            await server.send_all(bytes([byte]))
            await trio.sleep(0.01)
        if answer == b"H":
            await server.send_all(f"TTP{CANARY}".encode())  # "HTTP" no more: "HTTPA..."
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:

        async def connector() -> trio.abc.Stream:
            client, server = trio.testing.memory_stream_pair()
            nursery.start_soon(greet, server)
            return client

        endpoint = url_endpoint(f"ws://127.0.0.1:9/x?key={CANARY}")
        options = SessionOptions(transport=transport, connect_timeout=10)
        with pytest.raises(TransportError, match="not an HTTP response") as info:
            async with open_session(MODEL, endpoint=endpoint, connector=connector, options=options):
                pytest.fail("must not connect")
        assert trio.current_time() - started < 1  # virtual time: 10 if it waited it out
        assert CANARY not in str(info.value)
        nursery.cancel_scope.cancel()


# What the server does after reading the upgrade request, and what each transport says.
_HANG_UPS = {
    "eof": (b"", "the server closed the connection to {url} during the WebSocket upgrade"),
    "reset": (b"", "connection to {url} broke during the handshake: .*reset"),
    # No content-length: the body runs to the end of the stream, so only EOF ends the answer.
    "403-until-eof": (b"HTTP/1.1 403 Forbidden\r\n\r\nno", "upgrade to {url} with HTTP 403"),
    "half-a-101": (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
        "the server closed the connection to {url} during the WebSocket upgrade",
    ),
}


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
@pytest.mark.parametrize("how", list(_HANG_UPS))
async def test_a_server_that_hangs_up_during_the_upgrade_fails_at_once(
    autojump_clock: trio.testing.MockClock, transport: str, how: str
) -> None:
    # trio-websocket's reader ends quietly at EOF (or a reset) before a whole 101, and sets
    # nothing `wrap_client_stream` waits on: the client waited out connect_timeout, then
    # said it "took longer than 10 s", though the server had hung up at once. And a 403
    # without a length, which only EOF ends, was reported as that hang-up, status lost.
    answer, expected = _HANG_UPS[how]
    client_closed = trio.Event()

    async def hang_up(stream: trio.SocketStream) -> None:
        await stream.receive_some()  # the upgrade request
        await stream.send_all(answer)
        if how == "reset":
            linger = struct.pack("ii", 1, 0)  # close with RST instead of FIN
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            await stream.aclose()
            return
        await stream.send_eof()  # half-closed: the client's own close stays visible
        while await stream.receive_some():
            pass
        client_closed.set()

    options = SessionOptions(transport=transport, connect_timeout=10)
    async with trio.open_nursery() as nursery:
        serve = functools.partial(trio.serve_tcp, hang_up, 0, host="127.0.0.1")
        listeners = await nursery.start(serve)
        url = f"ws://127.0.0.1:{listeners[0].socket.getsockname()[1]}/x"
        if transport == "trio-websocket" and how == "reset":
            # trio-websocket's reader takes a reset for the end of the stream.
            message = re.escape(
                f"the server closed the connection to {url} during the WebSocket upgrade"
            )
        else:
            message = expected.format(url=re.escape(url))
        endpoint = url_endpoint(f"{url}?key={CANARY}")
        started = trio.current_time()
        with pytest.raises(TransportError, match=message) as info:
            async with open_session(MODEL, endpoint=endpoint, options=options):
                pytest.fail("must not connect")
        assert trio.current_time() - started < 1  # virtual time: 10 if it waited it out
        assert CANARY not in str(info.value)
        if how != "reset":
            with trio.fail_after(1):  # the client closed its socket too
                await client_closed.wait()
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/1.1 503 Unavailable\r\ncontent-length: 0\r\n\r\n", id="503"),
        pytest.param(b"", id="hang-up"),
    ],
)
async def test_a_resume_refused_or_hung_up_on_spends_one_attempt(
    autojump_clock: trio.testing.MockClock, transport: str, answer: bytes
) -> None:
    # On trio-websocket the 503 ended the session with trio_websocket.ConnectionRejected
    # inside an exception group; a server that hung up (b"": no answer) cost connect_timeout.
    async with open_emulator() as emulator, trio.open_nursery() as nursery:
        emulated = emulator.memory_connector()
        opened = 0

        async def connector() -> trio.abc.Stream:
            nonlocal opened
            opened += 1
            if opened != 2:
                return await emulated()
            return answering(nursery, answer)

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        options = SessionOptions(transport=transport, connect_timeout=10)
        setup = live_setup(MODEL, modality="TEXT")
        async with open_session(
            setup, endpoint=endpoint, connector=connector, options=options
        ) as session:
            await emulator.connections[0].reset()
            with trio.fail_after(30):
                event = await until_event(session, Reconnected)
        assert event.attempts == 2
        assert event.duration < 2  # backoff only; not the connect_timeout of 10 s
        nursery.cancel_scope.cancel()


async def _emulated(stage: str, emulator_config: EmulatorConfig | None = None) -> tuple[float, int]:
    """Open a session, cancel it at `stage`; return the close delay and connection count."""
    options = SessionOptions(
        send_buffer=1, reconnect=ReconnectPolicy(initial_delay=30, max_delay=30)
    )
    async with open_emulator(emulator_config) as emulator:
        setup = live_setup(MODEL, modality="TEXT")
        with trio.CancelScope() as scope:
            async with emulator.open_session(
                setup, api_key="k", options=options, start=stage not in ("setup", "send")
            ) as session:
                if stage == "setup":
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(session.start, setup)
                        await trio.testing.wait_all_tasks_blocked()
                        scope.cancel()
                elif stage == "send":
                    # Before setupComplete nothing is written: the bounded send queue fills
                    # and the next send waits; cancel it there. (The server sends nothing;
                    # before `start()` a send finding the queue full is refused instead.)
                    emulator.connections[0].inject(Fault(kind="blackhole"))
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(session.start, setup)
                        await trio.testing.wait_all_tasks_blocked()

                        async def flood() -> None:
                            while True:
                                await session.send_audio(b"\x01\x00" * 320)

                        nursery.start_soon(flood)
                        await trio.testing.wait_all_tasks_blocked()
                        assert session.statistics().sends_queued == 1
                        scope.cancel()
                elif stage == "receive":
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(session.receive)
                        await trio.sleep(1)
                        scope.cancel()
                elif stage == "reconnect":
                    await emulator.connections[0].reset()
                    await trio.sleep(5)  # inside the 30 s backoff
                    scope.cancel()
                await trio.sleep_forever()
        cancelled_at = trio.current_time()
        for connection in emulator.connections:
            with trio.fail_after(1):
                await connection.wait_closed()
        return trio.current_time() - cancelled_at, len(emulator.connections)


@pytest.mark.parametrize("stage", ["setup", "send", "receive", "reconnect"])
async def test_cancel_closes_the_socket_within_a_second(
    autojump_clock: trio.testing.MockClock, stage: str
) -> None:
    delay, connections = await _emulated(stage)
    assert delay <= 1
    assert connections == 1


async def test_leaving_while_a_resume_connects_gives_that_connect_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # `aclose` found no connection to close (the next one was still being opened): that
    # connection then resumed the closed session, and its socket was never closed. Then
    # it was closed before any setup, but only once connected: the exit waited for the
    # connect. Now `aclose` cuts the connect short, as it does a backoff.
    options = SessionOptions(reconnect=ReconnectPolicy(initial_delay=0.01, jitter=0))
    async with open_emulator() as emulator:
        connect = emulator.memory_connector()
        connecting = trio.Event()

        async def connector() -> trio.abc.Stream:
            if emulator.connections:  # a resume: slow to connect
                connecting.set()
                await trio.sleep(0.5)
            return await connect()

        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        with trio.fail_after(30):
            async with open_session(
                live_setup(MODEL, modality="TEXT"),
                endpoint=endpoint,
                connector=connector,
                options=options,
            ):
                await emulator.connections[0].reset()
                await connecting.wait()
                left_at = trio.current_time()
            assert trio.current_time() - left_at < 0.1
            await trio.sleep(5)
            assert len(emulator.connections) == 1  # the resume never connected


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_cancelled_while_waiting_for_setup_complete_closes_the_socket(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, transport: str
) -> None:
    # An outer deadline while `open_session` waits for setupComplete: the connection's
    # tasks were cancelled and nothing closed its socket, left open with no close frame
    # until the garbage collector found it (ResourceWarning: unclosed socket). Closed now,
    # at once: no wait for the reply of a server that never answered (a first fix waited
    # `close_timeout` for it). trio-websocket wrote a close frame only in a close that
    # waits for the reply: its socket ended with no close frame (1006, an EOF).
    ended: list[int] = []

    async def script(ws: trio_websocket.WebSocketConnection) -> None:
        await server.receive_json(ws)  # the setup, never answered
        try:
            await ws.get_message()
        except trio_websocket.ConnectionClosed as exc:
            ended.append(exc.reason.code)

    server = FakeServer(nursery, script)
    endpoint = url_endpoint("ws://127.0.0.1/ws", api_key="k")
    options = SessionOptions(transport=transport, close_timeout=3)
    with trio.move_on_after(2) as scope:  # inside setup_timeout's 10 s
        async with open_session(
            MODEL, endpoint=endpoint, connector=server.connector, options=options
        ):
            pytest.fail("must not open")
    assert scope.cancelled_caught
    assert trio.current_time() - 2 < 0.1  # no wait for a close reply
    await trio.sleep(0.1)
    assert ended == [1000]


async def test_an_exit_cut_short_by_keyboard_interrupt_still_closes_the_socket(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C while the exit's `aclose` waits for the last writes: the session's tasks
    # were cancelled, and nothing closed the socket. (The interrupt stands in here for
    # the signal, which trio delivers to the main task wherever it waits.)
    async def interrupted(self: Connection) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Connection, "finish_sending", interrupted)
    async with open_emulator() as emulator:
        with pytest.raises(KeyboardInterrupt):
            async with emulator.open_session(live_setup(MODEL, modality="TEXT"), api_key="k"):
                pass
        connection = emulator.connections[0]
        with trio.fail_after(1):
            await connection.wait_closed()
        assert (connection.closed_by, connection.close_code) == ("client", 1000)


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_an_aclose_under_an_outer_cancellation_returns_at_once(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # The outer deadline cancelled the session's tasks too, so its supervisor never
    # finished the session: the block's `aclose` (as `GeminiRealtimeClient.connect`'s exit
    # makes) waited its whole bound, 4 * close_timeout + 1 s, for that end. On
    # trio-websocket it then waited `close_timeout` for a close reply that trio-websocket's
    # reader task, cancelled too, would never read.
    options = SessionOptions(transport=transport)
    async with open_emulator() as emulator:
        with trio.move_on_after(1) as scope:
            async with emulator.open_session(
                live_setup(MODEL, modality="TEXT"), api_key="k", options=options
            ) as session:
                try:
                    await trio.sleep_forever()
                finally:
                    await session.aclose()
                    closed_at = trio.current_time()
                    assert session.state is SessionState.CLOSED
        assert scope.cancelled_caught
        assert closed_at - 1 < 0.1
        assert trio.current_time() - 1 < 0.1
        connection = emulator.connections[0]
        with trio.fail_after(1):
            await connection.wait_closed()
        assert (connection.closed_by, connection.close_code) == ("client", 1000)


async def test_leaving_with_a_full_event_channel_returns_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The reader stopped (it broke out of its loop) with the answer still coming: the
    # receiver waited for room in the full channel, so it never read the server's close
    # and the exit waited the whole 2 * close_timeout for the session to end.
    options = SessionOptions(event_buffer=1)
    async with open_emulator() as emulator:
        async with emulator.open_session(
            live_setup(MODEL, modality="TEXT"), api_key="k", options=options
        ) as session:
            await session.send_client_content("hello there, how are you today?")
            await trio.sleep(1)
            assert session.statistics().events_buffered == 1  # full, the receiver waits
            left_at = trio.current_time()
        assert trio.current_time() - left_at < 0.1
        connection = emulator.connections[0]
        with trio.fail_after(1):
            await connection.wait_closed()
        assert (connection.closed_by, connection.close_code) == ("client", 1000)


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_events_that_reached_the_client_stay_readable_after_aclose(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # "The events not yet read stay readable after it, Closed last" (concepts.md). On
    # trio-websocket, its own `aclose` closed its message channel before the handshake:
    # the rest of the answer, read or still in the socket, was dropped.
    options = SessionOptions(event_buffer=1, transport=transport)
    async with (
        open_emulator() as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="TEXT"), api_key="k", options=options
        ) as session,
    ):
        await session.send_client_content("Tell me a long story about the sea " * 5)
        await trio.sleep(5)  # the whole answer is sent; nothing is read
        answer = [
            frame.data["serverContent"]["modelTurn"]
            for frame in emulator.connections[0].sent
            if "modelTurn" in frame.data.get("serverContent", {})
        ]
        await session.aclose()
        with trio.fail_after(1):
            events = [event async for event in session]
    assert sum(isinstance(event, TextDelta) for event in events) == len(answer) > 1
    assert sum(isinstance(event, TurnComplete) for event in events) == 1
    assert isinstance(events[-1], Closed)
    assert events[-1].code == 1000


async def test_events_set_aside_while_closing_are_bounded_and_the_rest_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A server that floods on and never answers the close frame: every event that found
    # the channel full went aside while the session closed, without bound, until
    # `close_timeout` (3341 audio events, 160 MB, in a second).
    caplog.set_level(logging.WARNING, logger="trio_gemini_live")
    session = LiveSession(
        url_endpoint("ws://127.0.0.1/ws", api_key="k"), SessionOptions(event_buffer=1)
    )
    core = session._core  # pyright: ignore[reportPrivateUsage]
    core.closing = True
    limit = core._aside_limit()  # pyright: ignore[reportPrivateUsage]
    came = 3 * limit
    for _ in range(came):
        assert not await core.deliver(TextDelta(text="x"))  # never waits for the reader
    assert limit <= len(core.aside) <= limit + 1
    session._end_if_cut_short()  # pyright: ignore[reportPrivateUsage]
    with trio.fail_after(1):
        events = [event async for event in session]
    closed = events[-1]
    assert isinstance(closed, Closed)
    assert len(events) - 1 + closed.not_delivered_events == came
    assert closed.not_delivered == (
        f"TextDelta: {closed.not_delivered_events} event(s) "
        "(came while closing, past the events set aside)",
    )
    warned = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert warned == [
        f"the session dropped {closed.not_delivered_events} event(s) that came while it "
        f"closed, past the events set aside for the reader: {closed.not_delivered[0]}"
    ]


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
async def test_an_answer_past_the_aside_bound_at_aclose_is_read_or_reported(
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    transport: str,
) -> None:
    # The bound above, through a whole session: of an answer that came while the reader
    # closed the session, every part is read after `aclose` or counted in `Closed`.
    # The bound is then 8 * event_buffer: 8 events set aside.
    monkeypatch.setattr("trio_gemini_live._connection.ASIDE_LIMIT", 1)
    options = SessionOptions(event_buffer=1, transport=transport)
    async with (
        open_emulator() as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="TEXT"), api_key="k", options=options
        ) as session,
    ):
        await session.send_client_content("Tell me a long story about the sea " * 5)
        await trio.sleep(5)  # the whole answer is sent; nothing is read
        answer = [
            frame.data["serverContent"]["modelTurn"]
            for frame in emulator.connections[0].sent
            if "modelTurn" in frame.data.get("serverContent", {})
        ]
        await session.aclose()
        with trio.fail_after(1):
            events = [event async for event in session]
    closed = events[-1]
    assert isinstance(closed, Closed)
    read = sum(isinstance(event, TextDelta) for event in events)
    assert len(events) <= 8 + 3  # those set aside, the channel's, a delivery's, `Closed`
    assert closed.not_delivered_events > 0
    dropped = {
        line.split(":")[0]: int(line.split(": ")[1].split(" ")[0]) for line in closed.not_delivered
    }
    assert read + dropped.get("TextDelta", 0) == len(answer) > 1
    turn_ends = sum(isinstance(event, TurnComplete) for event in events)
    assert turn_ends + dropped.get("TurnComplete", 0) == 1
    assert any("dropped" in record.getMessage() for record in caplog.records)


async def test_leaving_the_block_drops_what_nobody_will_read_without_a_word(
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Leaving the block discards the unread events, as documented: those that come while
    # it closes are not set aside (memory nobody reads), nor reported as dropped.
    caplog.set_level(logging.WARNING, logger="trio_gemini_live")
    monkeypatch.setattr("trio_gemini_live._connection.ASIDE_LIMIT", 1)
    options = SessionOptions(event_buffer=1)
    async with (
        open_emulator() as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="TEXT"), api_key="k", options=options
        ) as session,
    ):
        await session.send_client_content("Tell me a long story about the sea " * 5)
        await trio.sleep(5)  # the whole answer is sent; nothing is read
    assert not any("dropped" in record.getMessage() for record in caplog.records)


# --- TLS --------------------------------------------------------------------------------------


async def test_tls_is_verified_unless_a_ca_is_given(tmp_path: Path) -> None:
    cert, key = write_self_signed_cert(tmp_path)
    context = server_ssl_context(cert, key)
    async with open_emulator(ssl_context=context) as emulator:
        url = emulator.endpoint_url()
        assert url.startswith("wss://")
        endpoint = url_endpoint(url, api_key="k")
        setup = live_setup(MODEL, modality="TEXT")
        with trio.fail_after(20), pytest.raises(TransportError, match=r"TLS|certificate"):
            async with open_session(setup, endpoint=endpoint):
                pytest.fail("a self-signed certificate must not be trusted by default")
        with trio.fail_after(20):
            async with open_session(
                setup, endpoint=endpoint, options=SessionOptions(ca_file=str(cert))
            ) as session:
                await session.send_client_content("over TLS")
                await wait_turn(session, [])


async def test_unverified_tls_is_warned_of_once_a_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The warning came again at every connection: each move opens one.
    cert, key = write_self_signed_cert(tmp_path)
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    caplog.set_level(logging.WARNING, logger="trio_gemini_live")
    async with open_emulator(ssl_context=server_ssl_context(cert, key)) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        options = SessionOptions(ssl_context=unverified)
        with trio.fail_after(20):
            async with open_session(
                live_setup(MODEL, modality="TEXT"), endpoint=endpoint, options=options
            ) as session:
                for _ in range(2):
                    await emulator.connections[-1].go_away(1)
                    await _reconnected(session)
    warned = [r for r in caplog.records if "verification is disabled" in r.getMessage()]
    assert len(warned) == 1


# --- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        None,
        Fault(kind="close", code=1011, after_received=2),
        Fault(kind="close", code=1007, reason="API key not valid.", after_received=2),
        Fault(kind="reset", after_received=2),
        Fault(kind="blackhole", after_received=2),
    ],
    ids=["clean", "1011", "1007", "reset", "blackhole"],
)
async def test_the_api_key_never_leaks(
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    fault: Fault | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    config = EmulatorConfig(faults=(fault,) if fault else ())
    options = SessionOptions(
        ping_interval=5, silence_limit=20, reconnect=ReconnectPolicy(max_attempts=2)
    )
    async with open_emulator(config) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url() + f"?key={CANARY}")
        seen += [repr(endpoint), endpoint.url, endpoint.display_url]
        try:
            async with open_session(
                live_setup(MODEL, modality="TEXT"),
                endpoint=endpoint,
                connector=emulator.memory_connector(),
                options=options,
            ) as session:
                seen += [repr(session), repr(session.statistics())]
                await session.send_client_content("hi")
                with trio.fail_after(120):
                    async for event in session:
                        seen += [repr(event), str(msgspec.to_builtins(event.raw_message))]
                        if isinstance(event, TurnComplete):
                            break
        except Exception as exc:  # every error the session can raise
            seen += [str(exc), repr(exc), repr(exc.args)]
        for connection in emulator.connections:
            seen += [repr(connection), connection.path, str(connection.headers)]
            assert connection.credential_kind is not None
    seen += [record.getMessage() for record in caplog.records]
    seen += [caplog.text]
    leaks = [text for text in seen if CANARY in text]
    assert not leaks


# --- backpressure -------------------------------------------------------------------------------


async def test_a_stalled_reader_keeps_memory_bounded_and_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from trio_gemini_live import AudioDelta

    options = SessionOptions(event_buffer=16, ping_interval=5, silence_limit=20)
    loud = tone(1600)
    async with open_emulator() as emulator:
        setup = live_setup("gemini-2.5-flash-native-audio-preview-12-2025")
        async with emulator.open_session(setup, api_key="k", options=options) as session:
            for _ in range(100):  # 10 s of speech, then a second of silence
                await session.send_audio(loud)
                await trio.sleep(0.1)
            for _ in range(10):
                await session.send_audio(bytes(3200))
                await trio.sleep(0.1)
            await trio.sleep(60)  # the reader stops reading for a minute
            stats = session.statistics()
            assert stats.events_buffered == 16
            largest = max(len(frame.raw) for frame in emulator.connections[0].sent)
            # What the client holds: the full event channel, one frame in the receiver's
            # hands, and what one socket read brought in.
            assert stats.bytes_received <= 18 * largest + options.receive_buffer_size
            sent_so_far = len(emulator.connections[0].sent)
            assert sent_so_far > stats.frames_received + 100  # the rest waits upstream
            audio = 0
            with trio.fail_after(60):
                async for event in session:
                    if isinstance(event, AudioDelta):
                        audio += 1
                    if isinstance(event, TurnComplete):
                        break
            assert session.statistics().reconnects == 0
    sent_audio = sum(
        1
        for frame in emulator.connections[0].sent
        if "modelTurn" in frame.data.get("serverContent", {})
    )
    assert audio == sent_audio > 200
    assert len(emulator.connections) == 1


async def test_a_stalled_reader_with_the_microphone_on_keeps_its_connection_over_tcp(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Over TCP the emulator, unable to send to a client that reads nothing, stops reading
    # in turn; the uplink then stalls because of the user's own reader. The heartbeat took
    # that for a dead server ("uplink stalled") and moved the session twice or more in the
    # minute, each move dropping the answers read or still in the socket.
    from trio_gemini_live import AudioDelta

    options = SessionOptions(event_buffer=16, ping_interval=5, silence_limit=20)
    loud = tone(320)
    async with open_emulator(EmulatorConfig(audio_chunk_ms=20)) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")  # 127.0.0.1
        setup = live_setup("gemini-2.5-flash-native-audio-preview-12-2025")
        async with open_session(setup, endpoint=endpoint, options=options) as session:
            done = trio.Event()

            async def microphone() -> None:
                for n in range(23 * 200):  # 92 s of audio: 3 s of speech, 1 s of silence, ...
                    await session.send_audio(loud if n % 200 < 150 else bytes(640))
                    await trio.sleep(0.02)
                done.set()
                while True:  # then silence: the clock never jumps more than 20 ms
                    await session.send_audio(bytes(640))
                    await trio.sleep(0.02)

            def audio_sent() -> int:
                return sum(
                    "modelTurn" in frame.data.get("serverContent", {})
                    for frame in emulator.connections[0].sent
                )

            audio = 0
            target: int | None = None  # the answers' audio frames, once all are sent
            caught_up = trio.Event()

            async def listen() -> None:
                nonlocal audio
                async for event in session:
                    if isinstance(event, AudioDelta):
                        audio += 1
                    if target is not None and audio >= target:
                        caught_up.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(microphone)
                await trio.sleep(60)  # nobody reads for a minute
                nursery.start_soon(listen)
                await done.wait()  # the last answer has been sent (a burst)
                target = audio_sent()
                if audio >= target:
                    caught_up.set()
                with trio.fail_after(60):  # and every answer arrives: nothing lost
                    await caught_up.wait()
                nursery.cancel_scope.cancel()
            assert session.statistics().reconnects == 0
    assert len(emulator.connections) == 1
    assert audio > 1000


@pytest.mark.parametrize("told", ["nothing", "closed event", "send"])
async def test_a_failure_the_application_never_heard_of_is_logged_at_the_exit(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture, told: str
) -> None:
    # An application that stopped reading events while the server closed the session with
    # 1007 left the block with no exception and nothing logged: it could not know that
    # what it sent last may not have been taken. Told by the `Closed` event or by a call
    # that raised the error, it is not told again. The warning gives the code and the
    # reason, with the key redacted as in every close reason (a server may echo it).
    caplog.set_level(logging.WARNING, logger="trio_gemini_live.session")
    key = "AIzaSyTESTKEY0123456789"
    fault = Fault(kind="close", code=1007, reason=f"API key {key} bad", after_seconds=1.0)
    setup = live_setup(MODEL, modality="TEXT", resumption=False)
    async with (
        open_emulator(EmulatorConfig(faults=[fault])) as emulator,
        emulator.open_session(setup, api_key=key) as session,
    ):
        await session.send_text("hello")
        await trio.sleep(3)
        assert session.state is SessionState.CLOSED
        if told == "closed event":
            with trio.fail_after(5):
                await until_event(session, Closed)
        elif told == "send":
            with pytest.raises(InvalidArgumentError):
                await session.send_text("again")
    warnings = [r.getMessage() for r in caplog.records if "went unread" in r.getMessage()]
    if told == "nothing":
        assert warnings == [
            "the session failed, and its Closed event and error went unread: "
            "connection closed by the server: 1007 API key REDACTED bad"
        ]
    else:
        assert warnings == []


async def test_a_failure_start_raised_is_not_logged_again_at_the_exit(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    # `start()` raised the server's refusal of the setup, and the exit still warned that
    # the failure went unread.
    caplog.set_level(logging.WARNING, logger="trio_gemini_live.session")
    setup = live_setup(MODEL, voice="Nobody")
    async with (
        open_emulator() as emulator,
        emulator.open_session(setup, start=False) as session,
    ):
        with pytest.raises(InvalidArgumentError):
            await session.start(setup)
        await trio.sleep(1)  # the session has ended: its `Closed` waits unread
    assert [r for r in caplog.records if "went unread" in r.getMessage()] == []


@pytest.mark.parametrize("given", ["live_setup(resumption=False)", "Setup without it"])
async def test_update_setup_refuses_to_turn_resumption_off(
    autojump_clock: trio.testing.MockClock, given: str
) -> None:
    # It returned normally and the setup in force kept `sessionResumption`: the move, and
    # each one after it, resumes the session, so it cannot be turned off.
    setup = (
        live_setup(MODEL, modality="TEXT", temperature=0.5, resumption=False)
        if given == "live_setup(resumption=False)"
        else Setup(model=MODEL, generation_config=GenerationConfig(temperature=0.5))
    )
    async with (
        open_emulator() as emulator,
        emulator.open_session(live_setup(MODEL, modality="TEXT"), api_key="k") as session,
    ):
        before = session.setup
        with pytest.raises(ConfigurationError, match="cannot turn session resumption off"):
            await session.update_setup(setup)
        await trio.testing.wait_all_tasks_blocked()
        assert session.setup == before
        assert len(emulator.connections) == 1  # no move was made


@pytest.mark.parametrize("when", ["after aclose", "after the block", "during aclose"])
async def test_start_after_the_applications_own_close_says_so(
    autojump_clock: trio.testing.MockClock, when: str
) -> None:
    # It said "the server closed the connection during setup: 1000".
    setup = live_setup(MODEL, modality="TEXT")
    expected = r"^the session was closed \(aclose, or the end of its open_session block\)"
    async with open_emulator() as emulator:
        if when == "after the block":
            async with emulator.open_session(setup, api_key="k", start=False) as session:
                pass
            with pytest.raises(SessionClosedError, match=expected), trio.fail_after(30):
                await session.start(setup)
            return
        latency = 1.0 if when == "during aclose" else 0.0
        async with emulator.open_session(
            setup, api_key="k", start=False, latency=latency
        ) as session:
            if when == "after aclose":
                await session.aclose()
                with pytest.raises(SessionClosedError, match=expected), trio.fail_after(30):
                    await session.start(setup)
                return

            async def start() -> None:
                with pytest.raises(SessionClosedError, match=expected):
                    await session.start(setup)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(start)
                await trio.sleep(0.1)  # start() waits for setupComplete
                await session.aclose()
