"""The bound on closed connections kept for inspection (`keep_closed_connections`).

A standalone emulator serving resuming clients for days listed every connection it ever
had (~10 kB each once closed): it now forgets the oldest closed ones, never an open one,
and `wait_for_connection(n)` still means the n-th connection ever upgraded.
"""

from __future__ import annotations

import base64
import gc
import math
import pickle
import struct
import weakref
from typing import Any

import pytest
import trio

from emulator.emulator_client import NATIVE, connect, start
from trio_gemini_live.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorConnection,
    ForgottenConnectionError,
    _cli as emulator_cli,
    _recording,
)


async def _connect_and_close(emu: Emulator, number: int) -> EmulatorConnection:
    """Open connection `number` (waited for by number while older ones are forgotten),
    exchange the setup, close it, and wait until the emulator has seen it closed."""
    async with connect(emu) as client:
        await client.setup()
        conn = await emu.wait_for_connection(number)
        assert conn.number == number
    await conn.wait_closed()
    return conn


def _closed(emu: Emulator) -> list[EmulatorConnection]:
    return [conn for conn in emu.connections if conn.closed]


def _frames_held(emu: Emulator) -> int:
    return emu._frames_held  # pyright: ignore[reportPrivateUsage]


async def test_the_oldest_closed_connections_are_forgotten_past_the_bound(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with start(EmulatorConfig(keep_closed_connections=10)) as emu:
        for number in range(1, 51):
            await _connect_and_close(emu, number)
            assert len(_closed(emu)) <= 10
        assert [conn.number for conn in emu.connections] == list(range(41, 51))
        assert emu.connections_dropped == 40
        # The numbers still map: the 41st is the first kept, the 50th the last.
        assert await emu.wait_for_connection(41) is emu.connections[0]
        assert await emu.wait_for_connection(50) is emu.connections[-1]
        # The frames of forgotten connections no longer count against `record_frames`
        # (else the emulator would trim, and find nothing to trim, at every frame).
        assert _frames_held(emu) == sum(len(c.sent) + len(c.received) for c in emu.connections)
        # Nor are they left for a trim to visit.
        assert emu._trimmable == emu.connections  # pyright: ignore[reportPrivateUsage]


async def test_a_forgotten_connection_is_named_with_the_bound_to_raise(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with start(EmulatorConfig(keep_closed_connections=2)) as emu:
        for number in range(1, 6):
            await _connect_and_close(emu, number)
        with pytest.raises(ForgottenConnectionError) as info:
            await emu.wait_for_connection(3)
    error = info.value
    assert isinstance(error, LookupError)
    assert (error.number, error.kept) == (3, 2)
    assert "connection 3 was closed and forgotten" in str(error)
    assert "newest 2 closed connections" in str(error)
    assert "keep_closed_connections" in str(error)
    assert "--keep-closed-connections" in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.number, copy.kept, str(copy)) == (type(error), 3, 2, str(error))


async def test_open_connections_are_never_forgotten(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(keep_closed_connections=2)) as emu:
        async with connect(emu) as first_client:
            await first_client.setup()
            first = await emu.wait_for_connection(1)
            for number in range(2, 12):
                await _connect_and_close(emu, number)
            # The open one stays ahead of the closed ones, which are not a prefix any more.
            assert [conn.number for conn in emu.connections] == [1, 10, 11]
            assert emu.connections_dropped == 8
            assert not first.closed
            assert await emu.wait_for_connection(1) is first
            assert await emu.wait_for_connection(10) is emu.connections[1]
            with pytest.raises(ForgottenConnectionError):
                await emu.wait_for_connection(9)
        await first.wait_closed()
        # Closed now, and the oldest closed: the one forgotten.
        assert [conn.number for conn in emu.connections] == [10, 11]
        assert emu.connections_dropped == 9
        with pytest.raises(ForgottenConnectionError):
            await emu.wait_for_connection(1)
        # The next connection is numbered on from the last.
        assert (await _connect_and_close(emu, 12)).number == 12
        assert [conn.number for conn in emu.connections] == [11, 12]


async def test_zero_keeps_only_open_connections(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(keep_closed_connections=0)) as emu:
        conn = await _connect_and_close(emu, 1)
        assert emu.connections == []
        assert emu.connections_dropped == 1
        # Forgotten by the emulator, not by a test that kept it.
        assert conn.close_code == 1000
        assert conn.received[0].get("setup.model")


async def test_none_keeps_every_connection(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(keep_closed_connections=None)) as emu:
        for number in range(1, 31):
            await _connect_and_close(emu, number)
        assert [conn.number for conn in emu.connections] == list(range(1, 31))
        assert emu.connections_dropped == 0
        assert await emu.wait_for_connection(1) is emu.connections[0]


async def test_a_trim_visits_only_the_connections_with_something_to_trim(
    autojump_clock: trio.abc.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a tiny `record_frames` (0 turns recording off) a trim runs at every frame, and it
    # walked every kept connection from the oldest, most of them closed and empty: a frame
    # cost 0.2 ms with no closed connection kept, 1.7 ms with 1000.
    visits = 0
    oldest_first = _recording._oldest_first  # pyright: ignore[reportPrivateUsage]

    def counted(*args: Any) -> tuple[int, int, int]:
        nonlocal visits
        visits += 1
        return oldest_first(*args)

    monkeypatch.setattr(_recording, "_oldest_first", counted)
    async with start(EmulatorConfig(record_frames=0)) as emu:
        async with connect(emu) as client:
            await client.setup(sessionResumption={})
            await client.recv()  # its handle
        resumable = await emu.wait_for_connection(1)
        await resumable.wait_closed()
        # Its frames all forgotten as they came, it still tells what its handle covers
        # until the next trim, as before.
        assert (resumable.sent, resumable.received) == ([], [])
        assert resumable.handle_coverage
        for number in range(2, 22):
            await _connect_and_close(emu, number)
        assert not resumable.handle_coverage
        visits = 0
        async with connect(emu) as client:
            await client.setup()
            await client.send({"realtimeInput": {"text": "hello"}})
            await client.turn()
        conn = await emu.wait_for_connection(22)
        await conn.wait_closed()
        # One visit a frame, to the only connection holding one: not 22.
        assert visits == conn.frames_sent + conn.frames_received > 2


async def test_an_older_connection_s_frames_are_still_forgotten_first(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Oldest connection first, then the next (`trim_recordings`), even when the older one's
    # frames are newer: one trimmed empty comes back in its place when it records again.
    async with (
        start(EmulatorConfig(record_frames=2)) as emu,
        connect(emu) as first_client,
        connect(emu) as second_client,
    ):
        await first_client.setup()
        await second_client.setup()
        first, second = emu.connections
        assert (first.sent, first.received) == ([], [])
        await first_client.send({"realtimeInput": {"text": "hello"}})
        await first_client.turn()
        assert (first.sent, first.received) == ([], [])
        assert [frame.get("setup") is not None for frame in second.received] == [True]
        assert second.frames_sent == len(second.sent) == 1


_SAMPLES = (int(6000 * math.sin(2 * math.pi * 440 * k / 16000)) for k in range(1600))
_SPEECH = base64.b64encode(struct.pack("<1600h", *_SAMPLES)).decode()
"""100 ms of a loud 16 kHz tone: speech to the VAD."""


async def test_a_closed_connection_lets_go_of_its_model(autojump_clock: trio.abc.Clock) -> None:
    # Each closed connection kept its model, and with it the speech its VAD held (~34 kB a
    # second: 1000 connections hung up mid-sentence held tens of MB), its waiting turns and
    # pending calls. Only its record is for inspection.
    async with start() as emu:
        async with connect(emu) as client:
            await client.setup(model=NATIVE)
            conn = await emu.wait_for_connection(1)
            for _ in range(10):  # 1 s of speech and no pause: the VAD holds all of it
                await client.send({"realtimeInput": {"audio": {"data": _SPEECH}}})
            await conn.wait_for_received("realtimeInput", count=10)
            model = conn.model
            assert model is not None
            assert model.vad.in_speech
            model_gone, vad_gone = weakref.ref(model), weakref.ref(model.vad)
            del model
        await conn.wait_closed()
        gc.collect()
        assert model_gone() is None
        assert vad_gone() is None
        assert conn.model is None
        # The record is all there.
        assert (conn.close_code, conn.closed_by) == (1000, "client")
        assert conn.frames_received == 11
        assert conn.received[0].get("setup.model") == NATIVE
        assert conn.setup is not None
        assert conn.model_id == NATIVE.removeprefix("models/")
        assert conn.session is not None
        assert conn.opened


async def test_wait_for_connection_refuses_a_number_below_1(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Refused at once: a refusal that went missing must fail here (bounded, with virtual
    # time), not wait for a connection that never comes (`wait_timeout`, 900 s).
    async with start() as emu:
        with trio.fail_after(5):
            # `connections[n - 1]` made 0 the newest connection, and -1 the one before.
            for number in (0, -1):
                with pytest.raises(ValueError, match="numbered from 1"):
                    await emu.wait_for_connection(number)
            with pytest.raises(TypeError, match=r"an int, not 1\.5"):
                await emu.wait_for_connection(1.5)  # type: ignore[arg-type]


def test_the_default_bound_is_generous_but_finite() -> None:
    assert EmulatorConfig().keep_closed_connections == 1000


@pytest.mark.parametrize(
    "field",
    [
        {"keep_closed_connections": -1},
        {"keep_closed_connections": True},  # taken as 1 before
        {"keep_closed_connections": False},
        {"keep_closed_connections": 2.5},
        {"keep_closed_connections": "10"},
        {"record_frames": True},
        {"record_frames": 2.5},
        {"record_frames": -1},
    ],
)
def test_a_bound_that_is_not_a_whole_number_from_0_is_refused(field: dict[str, object]) -> None:
    (name,) = field
    with pytest.raises(ValueError, match=f"{name} must be .*>= 0 \\(or None to keep"):
        EmulatorConfig(**field)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "kept"), [("0", 0), ("250", 250), ("all", None)])
def test_the_cli_flag_sets_the_bound(value: str, kept: int | None) -> None:
    parser = emulator_cli.build_parser()
    args = parser.parse_args(["--keep-closed-connections", value])
    assert emulator_cli._config(args).keep_closed_connections == kept  # pyright: ignore[reportPrivateUsage]
    default = emulator_cli._config(parser.parse_args([]))  # pyright: ignore[reportPrivateUsage]
    assert default.keep_closed_connections == 1000
