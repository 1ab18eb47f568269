"""`wait_for_sent`/`wait_for_received` with a count, when `record_frames` forgets frames.

A wait counts matching frames from the connection's first. It rescanned the frames still
recorded each time one arrived: once matches were forgotten its count could never be
reached, and it waited for ever. Then every wait that found too few matches raised
`ForgottenFramesError` once any frame was forgotten, even one begun before its frame was
sent: past ~2 minutes of a session with the default budget, "wait for the text, then send
it" raised. Dotted-path waits now count the matches forgotten too; only a predicate, which
cannot be asked of a forgotten frame, still raises, and only when it would have to guess.
"""

from __future__ import annotations

import base64
import itertools
import math
import pickle
import random
import re
from typing import Any

import msgspec
import pytest
import trio

from emulator.emulator_client import RawClient, connect, start
from trio_gemini_live.emulator import (
    EmulatorConfig,
    EmulatorConnection,
    ForgottenFramesError,
    Frame,
    WaitTimeoutError,
)
from trio_gemini_live.emulator._recording import PathCounts, present

TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}
DONE = "serverContent.turnComplete"
SAID = "realtimeInput.text"
SILENCE = {
    "realtimeInput": {
        "audio": {"data": base64.b64encode(bytes(640)).decode(), "mimeType": "audio/pcm;rate=16000"}
    }
}


def _is_text(frame: Frame) -> bool:
    return frame.get(SAID) is not None


def _is_done(frame: Frame) -> bool:
    return bool(frame.get(DONE))


async def _turns(client: RawClient, *texts: str) -> None:
    for text in texts:
        # A second apart: frames recorded at the same time are forgotten sent ones first.
        await trio.sleep(1)
        await client.send({"realtimeInput": {"text": text}})
        await client.turn()


async def test_a_wait_counts_the_matches_forgotten_while_it_waits(
    autojump_clock: trio.abc.Clock,
) -> None:
    found: dict[str, list[Frame]] = {}

    async def wait_sent(conn: EmulatorConnection) -> None:
        with trio.fail_after(60):
            found["sent"] = await conn.wait_for_sent(DONE, count=3)

    async def wait_received(conn: EmulatorConnection) -> None:
        with trio.fail_after(60):
            found["received"] = await conn.wait_for_received(_is_text, count=3)

    async with start(EmulatorConfig(record_frames=4)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_sent, conn)
            nursery.start_soon(wait_received, conn)
            await _turns(client, "one", "two", "three")
        # The matches were forgotten.
        assert conn.sent_dropped
        assert conn.received_dropped
        assert len([f for f in conn.sent if f.get(DONE)]) < 3
    assert [f.get(DONE) for f in found["sent"]] == [True, True, True]
    assert [f.get(SAID) for f in found["received"]] == ["one", "two", "three"]


async def test_a_wait_begun_before_its_frame_is_sent_returns_it_after_trimming(
    autojump_clock: trio.abc.Clock,
) -> None:
    # The reviewer's case: a long session (here 30 chunks against a budget of 10), then
    # "wait for the text, send it". It raised ForgottenFramesError at once.
    found: list[Frame] = []
    async with start(EmulatorConfig(record_frames=10)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        for _ in range(30):
            await client.send(SILENCE)
        await trio.sleep(1)
        assert conn.frames_received == 31  # the setup and every chunk
        assert conn.received_dropped > 0
        async with trio.open_nursery() as nursery:

            async def wait() -> None:
                with trio.fail_after(10):
                    found.extend(await conn.wait_for_received(SAID))

            nursery.start_soon(wait)
            await trio.sleep(1)
            assert not found  # no text was sent yet: it waits
            await client.send({"realtimeInput": {"text": "hello"}})
    assert [f.get(SAID) for f in found] == ["hello"]


async def test_a_dotted_path_count_includes_the_forgotten_matches_exactly(
    autojump_clock: trio.abc.Clock,
) -> None:
    done: dict[tuple[str, int], list[Frame]] = {}

    async def wait(conn: EmulatorConnection, direction: str, count: int) -> None:
        with trio.fail_after(60):
            if direction == "sent":
                done["sent", count] = await conn.wait_for_sent(DONE, count=count)
            else:
                done["received", count] = await conn.wait_for_received(SAID, count=count)

    async with start(EmulatorConfig(record_frames=4)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await _turns(client, "one", "two", "three")
        conn = await emu.wait_for_connection(1)
        # Some of the three of each were forgotten: only the forgotten make up the count.
        assert len([f for f in conn.sent if f.get(DONE)]) < 3
        assert len([f for f in conn.received if f.get(SAID)]) < 3
        with trio.fail_after(1):
            # Reached already: returned at once, with the matches still recorded.
            sent = await conn.wait_for_sent(DONE, count=3)
            received = await conn.wait_for_received(SAID, count=3)
        assert sent == [f for f in conn.sent if f.get(DONE)]
        assert [f.get(SAID) for f in received] == ["one", "two", "three"][3 - len(received) :]
        async with trio.open_nursery() as nursery:
            for direction in ("sent", "received"):
                for count in (4, 5):
                    nursery.start_soon(wait, conn, direction, count)
            await trio.sleep(5)
            assert not done  # not early: the 4th of each was not sent yet
            await _turns(client, "four")
            await trio.sleep(5)
            assert set(done) == {("sent", 4), ("received", 4)}  # 5 is not reached
            # Not late either: each returned on its 4th match, the newest.
            assert done["sent", 4][-1].get(DONE)
            assert done["received", 4][-1].get(SAID) == "four"
            await _turns(client, "five")
        assert done["received", 5][-1].get(SAID) == "five"
    # Closed: a count reached among forgotten frames still returns; one beyond does not.
    with trio.fail_after(1):
        await conn.wait_for_sent(DONE, count=5)
        with pytest.raises(ConnectionError):
            await conn.wait_for_sent(DONE, count=6)


async def test_a_predicate_wait_that_would_have_to_guess_says_so(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with start(EmulatorConfig(record_frames=4)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await _turns(client, "one", "two", "three")
        conn = await emu.wait_for_connection(1)
        assert conn.sent_dropped
        assert conn.received_dropped
        # What the frames still recorded answer is answered, predicate or not.
        with trio.fail_after(10):
            [done] = await conn.wait_for_sent(_is_done)
        assert done.get(DONE)
        # Fewer than `count` recorded matches, frames forgotten: a predicate cannot know.
        with trio.fail_after(10), pytest.raises(ForgottenFramesError) as info:
            await conn.wait_for_sent(_is_done, count=3)
        with trio.fail_after(10), pytest.raises(ForgottenFramesError) as received:
            await conn.wait_for_received(_is_text, count=4)
    error = info.value
    assert isinstance(error, LookupError)
    assert (error.number, error.direction, error.count, error.record_frames) == (1, "sent", 3, 4)
    assert error.matched == 1
    assert error.forgotten == conn.sent_dropped
    assert "wait_for_sent(count=3)" in str(error)
    assert "EmulatorConfig.record_frames=4" in str(error)
    assert "dotted path" in str(error)
    assert received.value.direction == "received"
    assert "wait_for_received(count=4)" in str(received.value)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)


def _frames_for_paths() -> list[dict[str, Any]]:
    return [
        {"a": {"b": 1, "c": [{"d": 1}], "e": {}}, "x": 0},
        {"a": {"b": 0, "c": [], "e": {"f": False}}, "x": ""},
        {"a": {"b": True, "c": None, "e": {"f": None}}, "x": 0.0},
        {"a": [{"b": 1}], "a.b": 2, "": {"": 3}},
        {"a": "text", "x": {"y": {"z": "deep"}}},
        {"a": {"b": {"c": {"d": False}}}, "x": [0], "y": -0.0},
        {"a": {"b": float("nan")}, "x": {"": 0}},
        {},
    ]


def _random_json(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(9 if depth < 4 else 7)
    if kind >= 7:
        return {rng.choice("ab."): _random_json(rng, depth + 1) for _ in range(rng.randrange(4))}
    choices: list[Any] = [None, False, True, 0, 1, "", [rng.choice("ab")]]
    return choices[kind]


def test_path_counts_match_exactly_what_frame_get_matches() -> None:
    rng = random.Random(6)
    datas = _frames_for_paths()
    datas += [
        {rng.choice("ab."): _random_json(rng, 1) for _ in range(rng.randrange(1, 4))}
        for _ in range(300)
    ]
    counts = PathCounts()
    for data in datas:
        counts.add(data)
    names = ["a", "b", "c", "d", "e", "f", "x", "y", "z", ".", ""]
    paths = {".".join(p) for n in (1, 2, 3) for p in itertools.product(names, repeat=n)}
    paths |= {"a.b", "a.c.d", "a.c.0", "x.y.z", "a..b", "a.", ".a", "", "."}
    frames = [Frame(b"", data, False, 0.0) for data in datas]
    for path in sorted(paths):
        expected = sum(present(frame.get(path)) for frame in frames)
        assert counts.count(path) == expected, path
    assert counts.count("a.b") > 0  # the tree did count something


async def test_recording_a_frame_counts_no_paths_until_it_is_forgotten(
    autojump_clock: trio.abc.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[dict[str, Any]] = []
    add = PathCounts.add

    def spy(self: PathCounts, data: dict[str, Any]) -> None:
        walked.append(data)
        add(self, data)

    monkeypatch.setattr(PathCounts, "add", spy)
    async with start(EmulatorConfig(record_frames=100)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        for _ in range(30):
            await client.send(SILENCE)
        conn = await emu.wait_for_connection(1)
        with trio.fail_after(10):
            await conn.wait_for_received("realtimeInput.audio", count=30)
        assert conn.frames_received + conn.frames_sent > 30
        assert not walked  # recorded, none forgotten: no path was counted
        for _ in range(300):
            await client.send(SILENCE)
        with trio.fail_after(10):
            await conn.wait_for_received("realtimeInput.audio", count=330)
        # Each forgotten frame was walked once, when it was forgotten; no other.
        assert len(walked) == conn.sent_dropped + conn.received_dropped > 0


async def test_nothing_is_forgotten_without_a_bound(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(record_frames=None)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await _turns(client, "one", "two", "three")
        conn = await emu.wait_for_connection(1)
        with trio.fail_after(10):
            assert len(await conn.wait_for_sent(DONE, count=3)) == 3


async def test_a_predicate_that_fails_fails_the_wait_not_the_emulator(
    autojump_clock: trio.abc.Clock,
) -> None:
    def broken(frame: Frame) -> bool:
        if frame.get("serverContent.generationComplete"):
            raise KeyError("the test's own bug")
        return False

    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        async with trio.open_nursery() as nursery:

            async def wait() -> None:
                with trio.fail_after(10), pytest.raises(KeyError, match="own bug"):
                    await conn.wait_for_sent(broken)

            nursery.start_soon(wait)
            await _turns(client, "one", "two")
        assert not conn.closed


@pytest.mark.parametrize(
    ("end", "ending"),
    [
        ("client", "closed by the client with 4000 'bye'"),
        ("client drop", "dropped by the client (1006: no close frame)"),
        ("server", "closed by the emulator with 4001 'gone'"),
        ("reset", "reset by the emulator (1006: no close frame)"),
    ],
)
async def test_a_wait_the_connection_ended_says_what_it_waited_for(
    autojump_clock: trio.abc.Clock, end: str, ending: str
) -> None:
    # It said only "connection closed before 2 matching frames": not which wait, which
    # connection, how many had matched, nor how the connection ended.
    errors: list[ConnectionError] = []

    async def wait(conn: EmulatorConnection, match: Any) -> None:
        with trio.fail_after(10), pytest.raises(ConnectionError) as info:
            await conn.wait_for_sent(match, count=2)
        errors.append(info.value)

    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await _turns(client, "one")
        conn = await emu.wait_for_connection(1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait, conn, DONE)
            nursery.start_soon(wait, conn, _is_done)
            await trio.sleep(1)
            if end == "client":
                await client.ws.aclose(4000, "bye")
            elif end == "client drop":
                await client.ws._stream.aclose()  # no close frame
            elif end == "server":
                await conn.close(4001, "gone")
            else:
                await conn.reset()
    by_path, by_predicate = sorted(errors, key=lambda e: "_is_done" in str(e))
    assert str(by_path) == (
        f"wait_for_sent('serverContent.turnComplete', count=2) on connection 1: the connection "
        f"ended ({ending}) with 1 of the 2 matching frames"
    )
    assert str(by_predicate).startswith("wait_for_sent(_is_done, count=2) on connection 1: ")
    # Begun once the connection has ended, the same.
    with pytest.raises(ConnectionError, match=re.escape(f"({ending}) with 0 of the 1")):
        await conn.wait_for_received("toolResponse")


@pytest.mark.parametrize(
    ("count", "error", "words"),
    [
        # 0 and -1 returned [] at once, 1.5 waited for 2 frames, "2" and None raised a
        # bare TypeError from a comparison.
        (0, ValueError, "count must be at least 1, got 0"),
        (-1, ValueError, "count must be at least 1, got -1"),
        (1.5, TypeError, "count is how many frames must match, an int, not 1.5"),
        ("2", TypeError, "an int, not '2'"),
        (None, TypeError, "an int, not None"),
        (True, TypeError, "an int, not True"),
    ],
)
async def test_a_wait_refuses_a_count_that_is_not_a_whole_number_from_1(
    autojump_clock: trio.abc.Clock, count: object, error: type[Exception], words: str
) -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        for wait in (conn.wait_for_sent, conn.wait_for_received):
            with trio.fail_after(1), pytest.raises(error, match=re.escape(words)):
                await wait("setupComplete", count=count)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("match", "error", "words"),
    [
        (42, TypeError, "match must be a dotted path (a str such as "),
        (None, TypeError, "or a callable taking a Frame, not NoneType None"),
        (b"toolCall", TypeError, "not bytes b'toolCall'"),
        ("", ValueError, "match is an empty dotted path"),
    ],
)
async def test_a_wait_refuses_a_match_that_is_neither_a_path_nor_a_test(
    autojump_clock: trio.abc.Clock, match: object, error: type[Exception], words: str
) -> None:
    # Anything else failed with "'int' object is not callable", naming nothing; "" waited
    # for a frame that could never match.
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        for wait in (conn.wait_for_sent, conn.wait_for_received):
            with trio.fail_after(1), pytest.raises(error, match=re.escape(words)):
                await wait(match)  # type: ignore[arg-type]


async def test_a_wait_for_what_never_comes_fails_saying_so(
    autojump_clock: trio.abc.Clock,
) -> None:
    # `wait_for_connection(2)` for a connection the app never made hung for ever, also
    # under an autojump clock (no timer left to jump to). Every wait of the emulator is
    # now bounded by `EmulatorConfig.wait_timeout` (900 s of trio time by default).
    config = EmulatorConfig(lifetime=5000, audio_session_limit=None)
    async with start(config) as emu:
        async with connect(emu) as client:
            await client.setup(**TEXT)
            await _turns(client, "one")
            conn = await emu.wait_for_connection(1)
            began = trio.current_time()
            with trio.fail_after(10_000), pytest.raises(WaitTimeoutError) as sent:
                await conn.wait_for_sent(DONE, count=2)
            assert trio.current_time() - began == pytest.approx(900)
            with trio.fail_after(10_000), pytest.raises(WaitTimeoutError) as closed:
                await conn.wait_closed()
        with trio.fail_after(10_000), pytest.raises(WaitTimeoutError) as connection:
            await emu.wait_for_connection(2)
    assert str(sent.value) == (
        "wait_for_sent('serverContent.turnComplete', count=2) on connection 1 timed out "
        "after 900 s (trio time): 1 of the 2 matching frames, and it is open; "
        "EmulatorConfig.wait_timeout bounds every wait of the emulator (None: no bound)"
    )
    assert str(closed.value).startswith(
        "wait_closed() on connection 1 timed out after 900 s (trio time): the connection is open;"
    )
    error = connection.value
    assert isinstance(error, TimeoutError)
    assert (error.wait, error.timeout) == ("wait_for_connection(2)", 900)
    assert error.state == (
        "1 connection upgraded; the newest, #1, closed by the client with 1000 ''"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy)) == (WaitTimeoutError, str(error))


async def test_wait_timeout_can_be_changed_or_lifted(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(wait_timeout=30)) as emu:
        with pytest.raises(WaitTimeoutError, match=r"^wait_for_connection\(1\) .* after 30 s"):
            await emu.wait_for_connection(1)
        assert trio.current_time() == pytest.approx(30)
        async with connect(emu) as client:
            await client.setup(**TEXT)
            # What comes in time is returned as ever.
            assert (await emu.wait_for_connection(1)).number == 1
    async with start(EmulatorConfig(wait_timeout=None)) as emu:
        with trio.move_on_after(100_000) as scope:
            await emu.wait_for_connection(1)
        assert scope.cancelled_caught  # still waiting: no bound but the test's own
    for bad in (0, -1, math.nan, True, "10"):
        with pytest.raises(ValueError, match="wait_timeout"):
            EmulatorConfig(wait_timeout=bad)  # type: ignore[arg-type]


async def test_frames_past_record_bytes_are_forgotten_whole_oldest_first(
    autojump_clock: trio.abc.Clock,
) -> None:
    # `record_frames` counted frames, not bytes: three closed connections of ten 4 MB
    # turns each kept 120 MiB of frames. Now a byte budget forgets the oldest, whole.
    budget = 20_000
    turns = [{"clientContent": {"turns": [{"parts": [{"text": f"{i}" * 3000}]}]}} for i in range(9)]
    async with start(EmulatorConfig(record_bytes=budget)) as emu, connect(emu) as client:
        await client.setup(**TEXT)
        conn = await emu.wait_for_connection(1)
        for turn in turns:
            await client.send(turn)
        await conn.wait_for_received("clientContent", count=len(turns))
        frames = [*conn.sent, *conn.received]
        assert sum(len(frame.raw) for frame in frames) <= budget + budget // 4
        assert conn.received_dropped > 0  # and said
        assert conn.frames_received == 1 + len(turns)
        kept = [frame.data for frame in conn.received]
        assert kept == turns[len(turns) - len(kept) :]  # the newest, each whole
        assert all(msgspec.json.decode(frame.raw) == frame.data for frame in frames)
    with pytest.raises(ValueError, match="record_bytes"):
        EmulatorConfig(record_bytes=-1)
