"""The emulator's in-memory wire with latency, and its record of what each handle covers."""

from __future__ import annotations

import math
import re

import pytest
import trio
import trio.testing

from trio_gemini_live import live_setup
from trio_gemini_live.emulator import open_emulator
from trio_gemini_live.emulator._latency import delayed_stream_pair

SETUP = live_setup("gemini-2.5-flash-native-audio-preview-12-2025")


async def test_bytes_arrive_after_the_latency_in_order_and_split_to_max_bytes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server = delayed_stream_pair(0.05)
    start = trio.current_time()
    await client.send_all(b"hello ")
    await trio.sleep(0.01)
    await client.send_all(b"world")
    assert await server.receive_some(3) == b"hel"
    assert trio.current_time() - start == pytest.approx(0.05)
    assert await server.receive_some() == b"lo "
    assert await server.receive_some() == b"world"
    assert trio.current_time() - start == pytest.approx(0.06)
    await server.send_all(b"back")
    assert await client.receive_some() == b"back"
    assert trio.current_time() - start == pytest.approx(0.11)


async def test_close_is_end_of_stream_after_the_data_and_breaks_the_sender(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server = delayed_stream_pair(0.02)
    await client.send_all(b"last")
    await client.aclose()
    assert await server.receive_some() == b"last"
    assert await server.receive_some() == b""
    with pytest.raises(trio.BrokenResourceError):
        await server.send_all(b"nobody listens")
    with pytest.raises(trio.ClosedResourceError):
        await client.receive_some()


async def test_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency"):
        delayed_stream_pair(-0.1)
    async with open_emulator() as emulator:
        with pytest.raises(ValueError, match="latency"):
            emulator.memory_connector(latency=-1)


@pytest.mark.parametrize(
    ("latency", "buffer", "words"),
    [
        # NaN was taken and failed inside the stream's first read ("deadline must not be
        # NaN"), the upgrade half done; True was taken for 1 s; "0.05" raised a bare
        # TypeError from a comparison.
        (math.nan, None, "latency must be a finite number of seconds, not float nan"),
        (math.inf, None, "latency must be a finite number of seconds, not float inf"),
        (True, None, "latency must be a finite number of seconds, not bool True"),
        ("0.05", None, "latency must be a finite number of seconds, not str '0.05'"),
        (0.0, True, "buffer must be a whole number of bytes, not bool"),
        (0.0, 512.0, "buffer must be a whole number of bytes, not float"),
    ],
)
async def test_a_latency_or_buffer_that_is_no_number_is_refused_up_front(
    autojump_clock: trio.testing.MockClock, latency: object, buffer: object, words: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        delayed_stream_pair(latency, buffer)  # type: ignore[arg-type]
    async with open_emulator() as emulator:
        with pytest.raises(ValueError, match=re.escape(words)):
            emulator.memory_connector(latency, buffer=buffer)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=re.escape(words)):
            async with emulator.open_session(SETUP, latency=latency, buffer=buffer):  # type: ignore[arg-type]
                pass  # pragma: no cover
        assert not emulator.connections


async def test_with_a_buffer_a_write_waits_for_the_reader_to_make_room(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server = delayed_stream_pair(0.01, buffer=10)
    data = b"0123456789abcdefghijklmno"
    written = trio.Event()

    async def write() -> None:
        await client.send_all(data)
        written.set()

    received = b""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(write)
        while True:
            await trio.sleep(1)
            # Each read makes room for as much more: the write is over once the last 10
            # bytes fit, and not before.
            assert written.is_set() == (len(received) >= len(data) - 10)
            if written.is_set():
                break
            received += await server.receive_some(4)
    while len(received) < len(data):
        received += await server.receive_some()
    assert received == data


@pytest.mark.parametrize(
    ("closing", "error"),
    [("writer", trio.ClosedResourceError), ("reader", trio.BrokenResourceError)],
)
async def test_a_write_waiting_for_room_fails_when_either_end_closes(
    autojump_clock: trio.testing.MockClock, closing: str, error: type[Exception]
) -> None:
    client, server = delayed_stream_pair(0, buffer=4)

    async def write() -> None:
        with pytest.raises(error):
            await client.send_all(b"too long")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write)
        await trio.sleep(1)
        await (client if closing == "writer" else server).aclose()


async def test_a_buffer_must_hold_a_byte() -> None:
    with pytest.raises(ValueError, match="buffer"):
        delayed_stream_pair(0, buffer=0)
    async with open_emulator() as emulator:
        with pytest.raises(ValueError, match="buffer"):
            emulator.memory_connector(buffer=0)
