"""Point 5: goAway and the connection deadline, resumption handles, transparent mode."""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket

from emulator.emulator_client import (
    GEMINI_PATH,
    MODEL,
    NATIVE,
    RawClient,
    connect,
    start,
    texts_of,
)
from trio_gemini_live._wire import ClientMessage
from trio_gemini_live.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorConnection,
    Fault,
    Scenario,
    ScenarioTurn,
)
from trio_gemini_live.emulator._lifetime import SessionState
from trio_gemini_live.emulator._model import Model

TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}


async def test_go_away_then_close_at_the_deadline(autojump_clock: trio.abc.Clock) -> None:
    async with start() as emu, connect(emu) as client:
        t0 = trio.current_time()
        await client.setup()
        go_away = await client.recv(limit=700)
        t_warn = trio.current_time() - t0
        code, reason = await client.closed(limit=700)
        t_close = trio.current_time() - t0
    assert go_away == {"goAway": {"timeLeft": "50s"}}
    assert 549 <= t_warn <= 551
    assert 599 <= t_close <= 601
    # Reported without a reason; only the 1011 close gives one (protocol.md 3.5).
    assert (code, reason) == (1008, "")


async def test_deadline_close_code_is_switchable(autojump_clock: trio.abc.Clock) -> None:
    config = EmulatorConfig(lifetime=30, go_away_warning=9.5, deadline_close_code=1011)
    async with start(config) as emu, connect(emu) as client:
        await client.setup()
        assert await client.recv(limit=40) == {"goAway": {"timeLeft": "9.5s"}}
        assert (await client.closed(limit=40))[0] == 1011


async def test_a_short_lifetime_alone_warns_at_once_and_closes_at_it(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Before: `EmulatorConfig(lifetime=5)` was refused (the 50 s default warning was
    # longer); the warning is now the whole lifetime: goAway right after setupComplete.
    async with start(EmulatorConfig(lifetime=5)) as emu, connect(emu) as client:
        t0 = trio.current_time()
        await client.setup()
        assert await client.recv(limit=10) == {"goAway": {"timeLeft": "5s"}}
        code, _ = await client.closed(limit=10)
        t_close = trio.current_time() - t0
    assert code == 1008
    assert 4.9 <= t_close <= 5.1


async def test_a_connection_that_never_sends_its_setup_is_closed_at_the_deadline(
    autojump_clock: trio.abc.Clock,
) -> None:
    # The lifetime timer started with setupComplete: without a setup, a client that
    # upgrades and sends nothing held its connection for ever.
    config = EmulatorConfig(lifetime=60, go_away_warning=10, deadline_close_code=1011)
    async with start(config) as emu, connect(emu) as client:
        conn = await emu.wait_for_connection(1)
        t0 = trio.current_time()
        # No goAway: the server's first message is always setupComplete.
        code, reason = await client.closed(limit=120)
        t_close = trio.current_time() - t0
    assert (code, reason) == (1011, "Deadline expired before operation could complete.")
    assert 59 <= t_close <= 61
    assert conn.closed
    assert (conn.close_code, conn.closed_by) == (1011, "server")
    assert conn.frames_sent == conn.frames_received == 0


async def test_handles_are_not_resumable_while_generating_or_calling_tools() -> None:
    tools = [{"functionDeclarations": [{"name": "get_status"}]}]
    async with start() as emu, connect(emu) as client:
        await client.setup(sessionResumption={}, tools=tools, **TEXT)
        first = (await client.recv())["sessionResumptionUpdate"]
        assert first["resumable"] is True
        assert first["newHandle"]
        await client.send({"realtimeInput": {"text": "get status"}})
        pending = await client.recv_until(lambda m: "toolCall" in m)
        assert pending[0] == {"sessionResumptionUpdate": {}}
        call = pending[-1]["toolCall"]["functionCalls"][0]
        await client.send(
            {
                "toolResponse": {
                    "functionResponses": [
                        {"id": call["id"], "name": "get_status", "response": {"ok": 1}}
                    ]
                }
            }
        )
        await client.turn()
        after = (await client.recv())["sessionResumptionUpdate"]
    assert after["resumable"] is True
    assert after["newHandle"] != first["newHandle"]


async def test_resume_restores_the_conversation() -> None:
    async with start() as emu:
        async with connect(emu) as client:
            await client.setup(sessionResumption={}, **TEXT)
            await client.recv()
            await client.send({"realtimeInput": {"text": "remember the number forty two"}})
            first_turn = await client.turn()
            handle = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
        async with connect(emu) as client:
            await client.setup(sessionResumption={"handle": handle}, **TEXT)
            await client.recv()
            await client.send({"realtimeInput": {"text": "hi"}})
            resumed_turn = await client.turn()
        async with connect(emu) as client:
            await client.setup(**TEXT)
            await client.send({"realtimeInput": {"text": "hi"}})
            fresh_turn = await client.turn()
        old, new = emu.connections[0], emu.connections[1]
    assert old.session is new.session
    assert new.session is not None
    assert [t["text"] for t in new.session.history][:2] == [
        "remember the number forty two",
        "You said: remember the number forty two",
    ]
    prompt = lambda turn: turn[-1]["usageMetadata"]["promptTokenCount"]  # noqa: E731
    assert prompt(resumed_turn) > prompt(fresh_turn)
    assert prompt(first_turn) > 0


async def test_a_resumed_session_goes_on_with_its_scenario(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Each connection's model made its own scenario cursor: a turn used before a drop
    # (not `reusable`, so "once a session") answered again on the resumed connection.
    script = Scenario(
        (ScenarioTurn(when="hello", reply="First hello."), ScenarioTurn(reply="Else."))
    )

    async def ask(handle: str | None, text: str) -> tuple[str, str]:
        """Open a connection (resuming `handle`), ask; return the reply and the new handle."""
        async with connect(emu) as client:
            resumption = {"handle": handle} if handle else {}
            await client.setup(sessionResumption=resumption, **TEXT)
            before = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
            await client.send({"realtimeInput": {"text": text}})
            reply = texts_of(await client.turn())
            after = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
        handles[text] = before
        return reply, after

    handles: dict[str, str] = {}
    async with start(EmulatorConfig(scenario=script)) as emu:
        first, handle = await ask(None, "hello")
        resumed, _ = await ask(handle, "hello again")
        # A handle from before the turn was used resumes a state that never used it,
        # as it resumes the history of that moment.
        older, _ = await ask(handles["hello"], "hello once more")
        fresh, _ = await ask(None, "hello, new session")
    assert first == "First hello."
    assert resumed == "Else."
    assert older == "First hello."
    assert fresh == "First hello."


async def test_resume_while_old_socket_open_is_refused() -> None:
    async with start() as emu, connect(emu) as old:
        await old.setup(sessionResumption={})
        handle = (await old.recv())["sessionResumptionUpdate"]["newHandle"]
        async with connect(emu) as new:
            await new.send(
                {
                    "setup": {
                        "model": "models/gemini-live-2.5-flash-preview",
                        "sessionResumption": {"handle": handle},
                    }
                }
            )
            code, _reason = await new.closed()
    assert code == 1011


def _hold_the_text(monkeypatch: pytest.MonkeyPatch, text: str) -> trio.Event:
    """Make each connection wait for the returned event before it hands `text` to its model."""
    release = trio.Event()
    process = EmulatorConnection._process  # pyright: ignore[reportPrivateUsage]

    async def held(
        conn: EmulatorConnection, model: Model, session: SessionState, message: ClientMessage
    ) -> None:
        if message.realtime_input is not None and message.realtime_input.text == text:
            await release.wait()
        await process(conn, model, session, message)

    monkeypatch.setattr(EmulatorConnection, "_process", held)
    return release


async def _close_with_a_message_unhandled(emu: Emulator, release: trio.Event) -> str:
    """A resumable session closed by its client (handshake done) with "last" still unhandled.

    Returns its handle.
    """
    async with connect(emu) as old:
        await old.setup(sessionResumption={})
        handle = (await old.recv())["sessionResumptionUpdate"]["newHandle"]
        await old.send({"realtimeInput": {"text": "last"}})
        await emu.connections[0].wait_for_received("realtimeInput.text")
        await old.ws.aclose()  # returns once the emulator has answered the close
    assert not release.is_set()
    assert not emu.connections[0].closed  # still handling "last"
    return handle


async def test_a_resume_right_after_a_completed_close_waits_for_the_old_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # protocol.md 7.10: close the old socket, then resume. The emulator answers the close at
    # once, but the session stayed live until every message read before it was handled: a
    # resume meanwhile was refused 1011 "already in use", though the old socket was closed.
    release = _hold_the_text(monkeypatch, "last")
    async with start() as emu:
        handle = await _close_with_a_message_unhandled(emu, release)
        async with connect(emu) as new, trio.open_nursery() as nursery:
            answers: list[dict[str, object]] = []

            async def resume() -> None:
                answers.append(await new.setup(sessionResumption={"handle": handle}))

            nursery.start_soon(resume)
            resumed = await emu.wait_for_connection(2)
            await resumed.wait_for_received("setup")
            await trio.testing.wait_all_tasks_blocked()
            assert resumed.closed_by is None  # waiting for the old connection to end
            release.set()
        old = emu.connections[0]
    assert answers == [{"setupComplete": {}}]
    assert old.session is resumed.session
    assert (old.close_code, old.closed_by) == (1000, "client")


async def test_the_old_connections_tasks_are_cancelled_before_its_session_is_let_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A resume waiting on `released` takes the session at once: the old connection's model
    # tasks still running then could add a turn they went on with to the resumed session's
    # history (or issue a handle). They were cancelled only after the stream's close.
    release = _hold_the_text(monkeypatch, "last")
    cancelled_at_release: list[bool] = []
    async with start() as emu:
        ended = emu.resumption.ended

        def noting_ended(session: Any) -> None:
            old = emu.connections[0]
            nursery = old._nursery  # pyright: ignore[reportPrivateUsage]
            cancelled_at_release.append(nursery is not None and nursery.cancel_scope.cancel_called)
            ended(session)

        monkeypatch.setattr(emu.resumption, "ended", noting_ended)
        await _close_with_a_message_unhandled(emu, release)
        release.set()
        await emu.connections[0].wait_closed()
    assert cancelled_at_release == [True]


async def test_a_resume_waits_for_a_closing_connection_no_longer_than_close_timeout(
    autojump_clock: trio.abc.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = _hold_the_text(monkeypatch, "last")
    async with start(EmulatorConfig(close_timeout=3)) as emu:
        handle = await _close_with_a_message_unhandled(emu, release)
        async with connect(emu) as new:
            await new.send({"setup": {"model": MODEL, "sessionResumption": {"handle": handle}}})
            start_time = trio.current_time()
            assert await new.closed() == (
                1011,
                "The session is already in use by another connection.",
            )
            assert trio.current_time() - start_time == pytest.approx(3)
        release.set()


async def test_unknown_handle_is_refused() -> None:
    async with start() as emu, connect(emu) as client:
        await client.send(
            {
                "setup": {
                    "model": "models/gemini-live-2.5-flash-preview",
                    "sessionResumption": {"handle": "nope"},
                }
            }
        )
        assert await client.closed() == (1008, "Requested entity was not found.")


async def test_the_close_for_a_refused_handle_is_configurable() -> None:
    # Google's code for an unknown or expired handle is not documented (protocol.md 8.14:
    # leave it configurable); the emulator hard-coded 1008.
    config = EmulatorConfig(
        handle_refused_close_code=1007, handle_refused_close_reason="Invalid handle."
    )
    async with start(config) as emu, connect(emu) as client:
        await client.send(
            {
                "setup": {
                    "model": "models/gemini-live-2.5-flash-preview",
                    "sessionResumption": {"handle": "nope"},
                }
            }
        )
        assert await client.closed() == (1007, "Invalid handle.")
    with pytest.raises(ValueError, match="handle_refused_close_code"):
        EmulatorConfig(handle_refused_close_code=1006)


async def test_handles_expire(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(handle_ttl=60)) as emu:
        async with connect(emu) as client:
            await client.setup(sessionResumption={})
            handle = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
        await emu.connections[0].wait_closed()
        await trio.sleep(61)
        async with connect(emu) as client:
            await client.send(
                {
                    "setup": {
                        "model": "models/gemini-live-2.5-flash-preview",
                        "sessionResumption": {"handle": handle},
                    }
                }
            )
            assert (await client.closed())[0] == 1008


async def test_go_away_waits_for_the_session_to_open() -> None:
    """The server's first message is `setupComplete`: a test hook must not send goAway first.

    The soak's chaos did, on a connection still in its handshake; the client then saw that
    connection's `GoAway` before the `Reconnected` that opens it, and the soak counted events
    out of order.
    """
    async with start() as emulator, connect(emulator) as client:
        await trio.testing.wait_all_tasks_blocked()
        (connection,) = emulator.connections
        assert not connection.opened
        with pytest.raises(RuntimeError, match="before setupComplete"):
            await connection.go_away(5)
        await client.send({"setup": {"model": "models/gemini-live-2.5-flash-preview"}})
        assert "setupComplete" in await client.recv()
        assert connection.opened
        await connection.go_away(5)
        while "goAway" not in (message := await client.recv()):
            assert "sessionResumptionUpdate" in message


@pytest.mark.parametrize(
    ("time_left", "error"),
    [
        (math.nan, "time_left must be a finite number of seconds, not float nan"),
        (math.inf, "time_left must be a finite number of seconds, not float inf"),
        (-5.0, "time_left must be >= 0 seconds, got -5.0"),
        (True, "time_left must be a finite number of seconds, not bool True"),
        ("10", "time_left must be a finite number of seconds, not str '10'"),
    ],
)
async def test_go_away_refuses_a_time_left_that_is_no_duration(
    time_left: object, error: str, autojump_clock: trio.abc.Clock
) -> None:
    # NaN and infinity went out as "nans"/"infs" (the client refused the goAway), NaN then
    # crashed the close timer; -5 went out as "-5s", True as "1s", "10" was a bare TypeError.
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        with pytest.raises(ValueError, match=re.escape(error)):
            await conn.go_away(time_left)  # type: ignore[arg-type]
        await conn.go_away(0)  # the bound itself is a duration
        assert await client.recv() == {"goAway": {"timeLeft": "0s"}}
        assert (await client.closed())[0] == 1008
    assert [f.get("goAway.timeLeft") for f in conn.sent if f.get("goAway")] == ["0s"]


async def test_the_connection_s_timers_start_at_the_upgrade(
    autojump_clock: trio.abc.Clock,
) -> None:
    # They started when the stream was accepted: with a slow handshake (here 1 s each way)
    # an `after_seconds` fault, the goAway and the deadline came early, though documented
    # to count from the upgrade.
    config = EmulatorConfig(
        lifetime=60, go_away_warning=10, faults=(Fault(kind="reset", after_seconds=55),)
    )
    times: dict[str, float] = {}

    async def watch() -> None:
        conn = await emu.wait_for_connection(1)
        times["upgraded"] = trio.current_time()
        await conn.wait_closed()
        times["closed"] = trio.current_time()

    async with start(config) as emu:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            stream = await emu.memory_connector(latency=1.0)()
            headers = [(b"x-goog-api-key", b"k")]
            ws = await trio_websocket.wrap_client_stream(
                nursery, stream, "127.0.0.1", GEMINI_PATH, extra_headers=headers
            )
            await RawClient(ws).setup(**TEXT)
            await (await emu.wait_for_connection(1)).wait_closed()
            nursery.cancel_scope.cancel()
        conn = await emu.wait_for_connection(1)
    upgraded = times["upgraded"]
    assert upgraded == pytest.approx(1.0)  # the request took 1 s to arrive
    [go_away] = [f for f in conn.sent if f.get("goAway")]
    assert go_away.time - upgraded == pytest.approx(50)
    assert times["closed"] - upgraded == pytest.approx(55)
    assert (conn.close_code, conn.closed_by) == (1006, "reset")


async def test_a_resume_on_another_model_is_refused() -> None:
    """protocol.md 1.5: a resumed session may change its setup "except the model".

    The emulator resumed it on the new model, history and all.
    """
    async with start() as emu:
        async with connect(emu) as client:
            await client.setup(sessionResumption={})
            handle = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
        async with connect(emu) as client:
            await client.send({"setup": {"model": NATIVE, "sessionResumption": {"handle": handle}}})
            close = await client.closed()
        async with connect(emu) as client:  # on its own model, it resumes
            assert "setupComplete" in await client.setup(sessionResumption={"handle": handle})
    assert close == (1007, "Request contains an invalid argument.")


async def _session_with_handle(emu: Emulator, handle: str | None = None) -> str:
    """Open a resumable session (or resume `handle`), end it; the handle it was given."""
    resumption = {} if handle is None else {"handle": handle}
    async with connect(emu) as client:
        await client.setup(sessionResumption=resumption, **TEXT)
        new_handle = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
    await emu.connections[-1].wait_closed()
    return new_handle


async def _resumes(emu: Emulator, handle: str) -> bool:
    """Whether `handle` resumes its session (else the connection is closed 1008)."""
    async with connect(emu) as client:
        with contextlib.suppress(trio_websocket.ConnectionClosed):
            await client.setup(sessionResumption={"handle": handle}, **TEXT)
    conn = emu.connections[-1]
    await conn.wait_closed()
    return conn.close_code != 1008


async def test_past_keep_ended_sessions_the_first_ended_session_is_forgotten() -> None:
    # Ended sessions were only swept `handle_ttl` (2 h) after they ended: a server with many
    # short resumable sessions grew ~6.5 kB a session.
    async with start(EmulatorConfig(keep_ended_sessions=2)) as emu:
        first = await _session_with_handle(emu)
        second = await _session_with_handle(emu)
        # Resumed, the first is live again; ended again, it is the newest ended.
        first = await _session_with_handle(emu, first)
        assert emu.resumption.sessions_dropped == 0
        third = await _session_with_handle(emu)
        assert emu.resumption.sessions_dropped == 1
        assert not await _resumes(emu, second)
        assert await _resumes(emu, third)
        assert await _resumes(emu, first)
        assert emu.resumption.sessions_dropped == 1
    assert EmulatorConfig().keep_ended_sessions == 1_000
    with pytest.raises(ValueError, match="keep_ended_sessions must be >= 0"):
        EmulatorConfig(keep_ended_sessions=-1)


async def test_a_late_setup_gets_the_time_left_and_its_close_at_the_deadline(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Set up after `lifetime - go_away_warning`, a connection was promised the whole
    # warning (50 s) with 30 s left, and closed 50 s later: past its deadline, so it was
    # dropped `close_timeout` after it without a close frame, though its client read all.
    async with start() as emu, connect(emu) as client:
        upgraded = trio.current_time()
        await trio.sleep(570)
        assert "setupComplete" in await client.setup(**TEXT)
        assert await client.recv(limit=100) == {"goAway": {"timeLeft": "30s"}}
        assert await client.closed(limit=100) == (1008, "")
        assert trio.current_time() - upgraded == pytest.approx(600)
        conn = await emu.wait_for_connection(1)
    assert (conn.close_code, conn.closed_by) == (1008, "server")


async def _handles_of_one_session(emu: Emulator, count: int) -> list[str]:
    """The handles of a session given one after each of `count` turns, oldest first."""
    handles: list[str] = []
    async with connect(emu) as client:
        await client.setup(sessionResumption={}, **TEXT)
        await client.recv()  # the handle after setup
        for i in range(count):
            await client.send({"realtimeInput": {"text": f"turn {i}"}})
            *_, update = await client.recv_until(
                lambda m: bool(m.get("sessionResumptionUpdate", {}).get("resumable"))
            )
            handles.append(update["sessionResumptionUpdate"]["newHandle"])
    await emu.connections[-1].wait_closed()
    return handles


async def test_only_a_session_s_newest_handles_resume_it(
    autojump_clock: trio.abc.Clock,
) -> None:
    # The bound (8) was a constant, undocumented: a handle a few turns old was refused at
    # once, as unknown, by an emulator documented to keep handles 2 h.
    async with start(EmulatorConfig(handles_per_session=3)) as emu:
        handles = await _handles_of_one_session(emu, 4)
        assert not await _resumes(emu, handles[0])
        assert await _resumes(emu, handles[1])
    async with start(EmulatorConfig(handles_per_session=None)) as emu:
        handles = await _handles_of_one_session(emu, 12)
        assert await _resumes(emu, handles[0])


async def test_a_handle_never_written_does_not_push_out_the_one_the_client_holds(
    autojump_clock: trio.abc.Clock,
) -> None:
    # A resumed connection made its handle after `setupComplete`, counted among the session's
    # newest, before writing it: reset in between, the update never went out, yet past
    # `handles_per_session` such connections the only handle the client ever got was refused
    # (1008), and a flapping network ended the session before its reconnect budget did.
    resets = tuple(Fault(kind="reset", connection=n, after_frames=1) for n in range(2, 6))
    async with start(EmulatorConfig(handles_per_session=2, faults=resets)) as emu:
        handle = await _session_with_handle(emu)
        for _ in resets:
            assert await _resumes(emu, handle)
            conn = emu.connections[-1]
            assert (conn.closed_by, conn.frames_sent) == ("reset", 1)  # only `setupComplete`
            assert not conn.handle_coverage
        assert await _session_with_handle(emu, handle)


async def test_an_open_connection_keeps_the_coverage_of_its_resumable_handles_only(
    autojump_clock: trio.abc.Clock,
) -> None:
    # `handle_coverage` gained an entry per handle issued for as long as the connection
    # stayed open (~140 B a turn, for hours), though only the session's newest
    # `handles_per_session` handles resume it: the others' coverage explains nothing.
    async with start(EmulatorConfig(handles_per_session=3, lifetime=86_400)) as emu:
        handles = await _handles_of_one_session(emu, 40)
        coverage = emu.connections[-1].handle_coverage
        resumable = [h for h in handles if emu.resumption.resolve(h) is not None]
        assert resumable == handles[-3:]
        # Still the truth for every handle that resumes: the n-th turn's covers n messages.
        assert list(coverage.items()) == [(h, n) for n, h in enumerate(handles, 1)][-3:]
        assert await _resumes(emu, handles[-3])
    async with start(EmulatorConfig(handles_per_session=None)) as emu:
        handles = await _handles_of_one_session(emu, 12)
        assert list(emu.connections[-1].handle_coverage)[1:] == handles  # and the setup's


def test_handles_per_session_is_checked() -> None:
    assert EmulatorConfig().handles_per_session == 8
    with pytest.raises(ValueError, match=r"handles_per_session must be >= 1 \(or None to keep"):
        EmulatorConfig(handles_per_session=0)
    with pytest.raises(ValueError, match="handles_per_session must be a whole number >= 1"):
        EmulatorConfig(handles_per_session=2.5)  # type: ignore[arg-type]
