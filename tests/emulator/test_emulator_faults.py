"""Point 6: fault injection from code and from the CLI syntax."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import trio
import trio_websocket
from wsproto.events import RejectConnection

from emulator.emulator_client import NATIVE, HandClient, connect, start
from trio_gemini_live.emulator import EmulatorConfig, Fault

TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}


def test_cli_syntax() -> None:
    assert Fault.parse("close:1011:Internal error encountered.@frames=5") == Fault(
        kind="close", code=1011, reason="Internal error encountered.", after_frames=5
    )
    assert Fault.parse("reset@after=2.5s,conn=2") == Fault(
        kind="reset", after_seconds=2.5, connection=2
    )
    assert Fault.parse("blackhole@received=3") == Fault(kind="blackhole", after_received=3)
    assert Fault.parse("pong-delay:15").seconds == 15
    assert Fault.parse("slow-read:0.5:64") == Fault(kind="slow-read", seconds=0.5, read_bytes=64)
    assert Fault.parse("duplicate-transcripts").kind == "duplicate-transcriptions"
    assert Fault.parse("stall-after-interrupt") == Fault(kind="stall-after-interrupt")
    assert Fault.parse("stall_after_interrupt@conn=2") == Fault(
        kind="stall-after-interrupt", connection=2
    )
    bad_values = ("pong-delay:-1", "pong-delay:nan", "reset@after=-2", "reset@conn=0")
    for bad in ("explode", "close@bogus=1", "stall:3", "stall-after-interrupt:5", *bad_values):
        with pytest.raises(ValueError, match="fault"):
            Fault.parse(bad)


def test_slow_read_s_bytes_are_optional_as_documented() -> None:
    # docs/emulator.md showed `SECONDS:BYTES`, as if BYTES were required, while
    # `slow-read:1` was taken (reading 1024 bytes at a time), as `close` takes defaults.
    doc = (Path(__file__).parents[2] / "docs" / "emulator.md").read_text(encoding="utf-8")
    [row] = [line for line in doc.splitlines() if line.startswith("| `slow-read` |")]
    default = Fault.parse("slow-read:1").read_bytes
    assert f"`SECONDS[:BYTES]` (BYTES {default} by default)" in row
    assert Fault.parse("slow-read:1") == Fault(kind="slow-read", seconds=1.0)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        # Accepted, these closed every connection with a traceback from wsproto (99999) or
        # sent a code no close frame may carry (1005, 1006, 1015).
        ("close:99999", "got 99999"),
        ("close:1006", "1005, 1006, 1015"),
        ("close:999", "1000-4999"),
        # These said only "invalid literal for int() with base 10: 'abc'".
        ("close:abc", "the close code must be a whole number, not 'abc'"),
        ("pong-delay:soon", "the seconds must be a number, not 'soon'"),
        ("slow-read:0.1:lots", "the bytes per read must be a whole number, not 'lots'"),
        ("reset@frames=x", "frames= must be a whole number, not 'x'"),
        ("reset@after=later", "after= must be a number, not 'later'"),
        ("blackhole@conn=first", "conn= must be a whole number, not 'first'"),
        # The field's Python name, and the trigger that set it.
        ("reset@conn=0", "connection must be >= 1, got 0, in 'reset@conn=0' (conn= sets"),
        ("reset@received=0", "after_received must be >= 1, got 0, in 'reset@received=0' ("),
        ("stall@frames=2", "fault 'stall' takes no trigger (after_frames)"),
    ],
)
def test_a_bad_fault_value_is_named(spec: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        Fault.parse(spec)


@pytest.mark.parametrize(
    ("spec", "reason", "triggers"),
    [
        # Before: the first '@' began the triggers: 'b' was an "unknown fault trigger".
        ("close:1011:mail a@b", "mail a@b", {}),
        ("close:1011:write to ops@example.com, or a@b", "write to ops@example.com, or a@b", {}),
        ("close:1011:reach me @ home", "reach me @ home", {}),
        # The triggers follow the last '@'.
        ("close:1011:mail a@b@frames=5", "mail a@b", {"after_frames": 5}),
        ("close:1011:a@b@received=2,conn=1", "a@b", {"after_received": 2, "connection": 1}),
        # Text that reads as triggers stays in the reason when the spec ends with '@'.
        ("close:1011:key@a=b@", "key@a=b", {}),
        ("close:4000:x@frames=3", "x", {"after_frames": 3}),
    ],
)
def test_a_close_reason_may_hold_an_at_sign(
    spec: str, reason: str, triggers: dict[str, int]
) -> None:
    assert Fault.parse(spec) == Fault(
        kind="close", code=int(spec.split(":")[1]), reason=reason, **triggers
    )


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        # Read as triggers, so never silently taken into the reason; the way out is named.
        (
            "close:1011:oops@fram=5",
            "unknown fault trigger 'fram' in 'close:1011:oops@fram=5': the triggers, after the "
            "last '@', are frames=N, received=N, after=S and conn=N; to keep '@fram=5' in the "
            "close reason, end the spec with '@'",
        ),
        ("close:1011:x@frames=x", "frames= must be a whole number, not 'x', in"),
        ("close:1011:x@frames=x", "to keep '@frames=x' in the close reason, end the spec with '@'"),
        # No reason to hold it: the '@' begins the triggers, as before.
        ("reset@b", "unknown fault trigger 'b' in 'reset@b': the triggers, after the last '@'"),
        ("close:1011@b", "unknown fault trigger 'b'"),
        # Was "unknown fault kind 'reset@frames=5'".
        ("reset@frames=5@conn=1", "has an '@' before its triggers: they follow one '@'"),
        ("pong-delay:5@x@", "only a close reason may hold '@'"),
    ],
)
def test_a_bad_trigger_after_an_at_sign_is_named(spec: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        Fault.parse(spec)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        # Accepted, these never fired: no count of frames ever equals 0 or 2.5, nor is
        # any connection numbered 1.5. "3" raised a bare TypeError from a comparison.
        ({"after_received": 0}, "after_received must be >= 1, got 0"),
        ({"after_frames": 0}, "after_frames must be >= 1, got 0"),
        ({"after_received": 2.5}, "after_received must be a whole number (an int), not float"),
        ({"after_frames": 3.0}, "after_frames must be a whole number (an int), not float 3.0"),
        ({"after_frames": "3"}, "after_frames must be a whole number (an int), not str '3'"),
        ({"after_frames": True}, "after_frames must be a whole number (an int), not bool"),
        ({"connection": 1.5}, "connection must be a whole number (an int), not float 1.5"),
        ({"connection": 0}, "connection must be >= 1, got 0"),
        ({"after_seconds": "2"}, "after_seconds must be a number, not str '2'"),
        ({"after_seconds": True}, "after_seconds must be a number, not bool"),
        ({"code": 1011.0}, "code must be a whole number (an int), not float"),
        ({"reason": None}, "reason must be a str, not NoneType"),
        ({"kind": "stall", "after_frames": 3}, "fault 'stall' takes no trigger (after_frames)"),
        ({"kind": "slow-read", "read_bytes": 0.5}, "read_bytes must be a whole number"),
    ],
)
def test_a_fault_that_could_never_fire_is_refused(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        Fault(**{"kind": "close", **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize("trigger", ["after_frames", "after_received"])
async def test_an_injected_trigger_already_met_fires_at_once(
    autojump_clock: trio.abc.Clock, trigger: str
) -> None:
    # Compared with ==, a count already passed was never met again: the fault never
    # fired, while an `after_seconds` already passed fired at once.
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await client.send({"realtimeInput": {"text": "hello there you"}})
        await client.turn()
        conn = await emu.wait_for_connection(1)
        assert conn.frames_sent > 3
        assert conn.frames_received > 1
        conn.inject(Fault(kind="close", code=4001, reason="late", **{trigger: 1}))
        assert await client.closed(limit=1) == (4001, "late")


async def test_a_fault_for_another_connection_is_not_injected_on_this_one(
    autojump_clock: trio.abc.Clock,
) -> None:
    # `Fault.connection` was ignored: a reset meant for connection 2 dropped connection 1.
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        with pytest.raises(ValueError, match=r"connection=2\).* on connection 1"):
            conn.inject(Fault(kind="reset", connection=2))
        assert conn.faults == []
        conn.inject(Fault(kind="close", code=4001, reason="mine", connection=1))
        assert await client.closed(limit=1) == (4001, "mine")


async def test_close_after_n_frames() -> None:
    fault = Fault.parse("close:1011:Internal error encountered.@frames=3")
    async with start(EmulatorConfig(faults=(fault,))) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await client.send({"realtimeInput": {"text": "hello there you"}})
        assert len([await client.recv(), await client.recv()]) == 2
        assert await client.closed() == (1011, "Internal error encountered.")
        assert len(emu.connections[0].sent) == 3


async def test_close_after_seconds_and_only_on_one_connection(
    autojump_clock: trio.abc.Clock,
) -> None:
    fault = Fault(
        kind="close",
        code=1011,
        reason="The service is currently unavailable.",
        after_seconds=5,
        connection=1,
    )
    async with start(EmulatorConfig(faults=(fault,))) as emu:
        async with connect(emu) as client:
            t0 = trio.current_time()
            await client.setup()
            assert await client.closed() == (1011, "The service is currently unavailable.")
            assert trio.current_time() - t0 == pytest.approx(5, abs=0.1)
        async with connect(emu) as client:
            await client.setup()
            with trio.move_on_after(30):
                await client.recv(limit=60)
                raise AssertionError("second connection should be unaffected")


async def test_reset_gives_1006() -> None:
    async with (
        start(EmulatorConfig(faults=(Fault.parse("reset@received=2"),))) as emu,
        connect(emu) as client,
    ):
        await client.setup()
        await client.send({"realtimeInput": {"text": "hi"}})
        code, _ = await client.closed()
        conn = emu.connections[0]
    assert code == 1006
    assert conn.closed_by == "reset"


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="close", code=1011, connection=2),
        Fault.parse("close:1011:Internal error encountered.@conn=2"),
    ],
)
async def test_conn_n_is_the_n_th_connection_upgraded(
    fault: Fault, autojump_clock: trio.abc.Clock
) -> None:
    # It was the n-th stream accepted: a health probe (400) or a mistyped path (404),
    # never upgraded, never listed, moved every fault onto the wrong connection.
    async with start(EmulatorConfig(faults=(fault,))) as emu:
        probe = await emu.memory_connector()()
        await probe.send_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        with trio.fail_after(10):
            assert (await probe.receive_some()).startswith(b"HTTP/1.1 400 ")
        await probe.aclose()
        mistyped = HandClient(await emu.memory_connector()())
        refused = await mistyped.upgrade("/ws/not.the.endpoint")
        assert isinstance(refused, RejectConnection)
        assert refused.status_code == 404
        await mistyped.stream.aclose()
        for number in (1, 2):
            async with connect(emu) as client:
                await client.setup(**TEXT)
                conn = await emu.wait_for_connection(number)
                if number == 1:
                    await client.send({"realtimeInput": {"text": "hi"}})
                    await client.turn()
                else:
                    assert await client.closed() == (1011, "Internal error encountered.")
            assert conn.faults == ([fault] if number == 2 else [])
        assert [c.close_code for c in emu.connections] == [1000, 1011]


async def test_reset_over_tcp() -> None:
    async with start(EmulatorConfig(faults=(Fault(kind="reset"),))) as emu:
        url = emu.endpoint_url() + "?key=k"
        with trio.fail_after(10):
            async with trio_websocket.open_websocket_url(url) as ws:
                await ws.send_message(
                    '{"setup": {"model": "models/gemini-live-2.5-flash-preview"}}'
                )
                with pytest.raises(trio_websocket.ConnectionClosed) as info:
                    while True:
                        await ws.get_message()
    assert info.value.reason is not None
    assert info.value.reason.code == 1006


async def test_blackhole_sends_nothing_and_answers_no_pings(autojump_clock: trio.abc.Clock) -> None:
    async with (
        start(EmulatorConfig(faults=(Fault(kind="blackhole", after_frames=1),))) as emu,
        connect(emu) as client,
    ):
        assert await client.setup() == {"setupComplete": {}}
        await client.send({"realtimeInput": {"text": "anyone?"}})
        with trio.move_on_after(100) as scope:
            await client.ws.ping(b"p1")
        assert scope.cancelled_caught
        with trio.move_on_after(100) as scope:
            await client.recv(limit=200)
        assert scope.cancelled_caught
        assert not emu.connections[0].closed
        assert len(emu.connections[0].received) == 2


async def test_delayed_pongs(autojump_clock: trio.abc.Clock) -> None:
    async with (
        start(EmulatorConfig(faults=(Fault.parse("pong-delay:15"),))) as emu,
        connect(emu) as client,
    ):
        await client.setup()
        t0 = trio.current_time()
        with trio.fail_after(60):
            await client.ws.ping(b"p")
        assert trio.current_time() - t0 == pytest.approx(15, abs=0.5)


async def test_late_usage_duplicates_and_empty_frames(autojump_clock: trio.abc.Clock) -> None:
    faults = tuple(
        Fault.parse(s) for s in ("late-usage:2", "duplicate-transcriptions", "empty-frames")
    )
    async with start(EmulatorConfig(faults=faults)) as emu, connect(emu) as client:
        await client.setup(model=NATIVE, outputAudioTranscription={})
        await client.send({"realtimeInput": {"text": "hi"}})
        turn = await client.turn()
        t_done = trio.current_time()
        usage = await client.recv()
        assert trio.current_time() - t_done == pytest.approx(2, abs=0.1)
    assert turn[-1] == {"serverContent": {"turnComplete": True}}
    assert turn[-3:-1] == [{"serverContent": {}}, {"serverContent": {"outputTranscription": {}}}]
    assert list(usage) == ["usageMetadata"]
    transcripts = [
        m for m in turn if m.get("serverContent", {}).get("outputTranscription", {}).get("text")
    ]
    assert transcripts[0] == transcripts[1]
    assert len(transcripts) % 2 == 0


async def test_slow_reading_makes_backpressure(autojump_clock: trio.abc.Clock) -> None:
    async with (
        start(EmulatorConfig(faults=(Fault.parse("slow-read:0.5:256"),))) as emu,
        connect(emu) as client,
    ):
        await client.setup()
        t0 = trio.current_time()
        await client.send({"realtimeInput": {"text": "x" * 2000}})
        conn = emu.connections[0]
        await conn.wait_for_received("realtimeInput", count=1)
        # 2 KB read 256 bytes at a time, 0.5 s apart.
        assert trio.current_time() - t0 >= 3.5


async def test_stall_and_runtime_injection(autojump_clock: trio.abc.Clock) -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE, inputAudioTranscription={})
        conn = await emu.wait_for_connection()
        conn.inject(Fault(kind="stall"))
        await client.send({"realtimeInput": {"text": "hello?"}})
        with trio.move_on_after(100) as scope:
            await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}), limit=200)
        assert scope.cancelled_caught
        conn.inject(Fault(kind="close", code=1007, reason="Request contains an invalid argument."))
        assert await client.closed() == (1007, "Request contains an invalid argument.")


async def test_stall_after_interrupt(autojump_clock: trio.abc.Clock) -> None:
    config = EmulatorConfig(
        pacing="realtime",
        lifetime=300,
        faults=(Fault.parse("stall-after-interrupt"),),
    )
    async with start(config) as emu, connect(emu) as client:
        t0 = trio.current_time()
        await client.setup(model=NATIVE, sessionResumption={})
        await client.send({"realtimeInput": {"text": "talk to me for a while"}})
        # An uninterrupted turn is unaffected.
        assert (await client.turn())[-1]["serverContent"]["turnComplete"]
        await client.send({"realtimeInput": {"text": "and now a long story please"}})
        await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))
        await client.send({"realtimeInput": {"text": "stop"}})
        await client.recv_until(lambda m: m.get("serverContent", {}).get("interrupted", False))
        # Silence: no turnComplete, no resumption update, no reply to "stop"; pings still work.
        with trio.fail_after(5):
            await client.ws.ping(b"still there?")
        await client.send({"realtimeInput": {"text": "hello?"}})
        # The connection-level goAway and deadline close still come.
        assert await client.recv(limit=400) == {"goAway": {"timeLeft": "50s"}}
        assert 249 <= trio.current_time() - t0 <= 251
        assert (await client.closed(limit=100))[0] == 1008
        conn = emu.connections[0]
    interrupted_at = next(i for i, f in enumerate(conn.sent) if f.get("serverContent.interrupted"))
    assert [f.data for f in conn.sent[interrupted_at + 1 :]] == [{"goAway": {"timeLeft": "50s"}}]


@pytest.mark.parametrize(
    ("code", "reason", "error", "words"),
    [
        # wsproto sent 1006 as 1000, and 999 or 5000 reached the client as something else,
        # while close_code recorded the code asked for.
        (1006, "", ValueError, "close code 1006 is never sent: * conn.reset() *"),
        (999, "", ValueError, "close code 999 cannot be sent in a close frame: *1000-4999 *"),
        (5000, "", ValueError, "close code 5000 cannot be sent *"),
        (1015, "", ValueError, "close code 1015 cannot be sent *"),
        (True, "", TypeError, "the close code must be an int, not bool True"),
        ("1011", "", TypeError, "the close code must be an int, not str '1011'"),
        (1011, None, TypeError, "the close reason must be a str, not NoneType"),
    ],
)
async def test_conn_close_refuses_a_code_the_client_would_not_receive(
    autojump_clock: trio.abc.Clock, code: object, reason: object, error: type, words: str
) -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        with pytest.raises(error) as info:
            await conn.close(code, reason)  # type: ignore[arg-type]
        assert fnmatch.fnmatchcase(str(info.value), words), str(info.value)
        assert (conn.close_code, conn.closed_by) == (None, None)
        # The connection is still there, and closes with a code the client receives.
        await client.send({"realtimeInput": {"text": "hi"}})
        await client.turn()
        await conn.close(4000, "bye")
        assert await client.closed() == (4000, "bye")
    assert (conn.close_code, conn.close_reason, conn.closed_by) == (4000, "bye", "server")


async def test_a_fault_injected_while_the_connection_ends_is_no_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Between the client's close and `closed`, the connection's nursery takes no new task:
    # `inject` raised trio's bare "Nursery is closed to new arrivals" (RuntimeError). How
    # many polls fall in that window depends on trio's scheduling: ten sessions give it
    # room in nearly every run.
    from trio_gemini_live import live_setup
    from trio_gemini_live.emulator import open_emulator

    async with open_emulator() as emulator:
        for number in range(1, 11):
            async with emulator.open_session(live_setup(NATIVE)):
                connection = await emulator.wait_for_connection(number)
                await connection.wait_for_sent("setupComplete")
            with trio.fail_after(5):
                while not connection.closed:
                    connection.inject(Fault(kind="close", after_seconds=1000))
                    await trio.lowlevel.checkpoint()
