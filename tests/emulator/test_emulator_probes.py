"""Streams that are not Live API sessions (HTTP probes), and how the log names connections."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from emulator.emulator_client import GEMINI_PATH, NATIVE, connect
from trio_gemini_live.emulator import Emulator, open_emulator

LOGGER = "trio_gemini_live.emulator"
PLAIN_GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
UPGRADE = (
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def hang_up_after(emulator: Emulator, request: bytes) -> None:
    """Send an HTTP request and close the stream before the reply can be read."""
    client = await emulator.memory_connector()()
    await client.send_all(request)
    await client.aclose()
    await trio.sleep(1)  # the emulator answers, finds the peer gone, ends the stream


@pytest.mark.parametrize(
    "request_bytes",
    [
        PLAIN_GET,  # answered 400: not a WebSocket upgrade
        b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n" + UPGRADE,  # answered 404
        f"GET {GEMINI_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + UPGRADE,  # 101
    ],
    ids=["400", "404", "101"],
)
async def test_a_probe_that_hangs_up_before_the_reply_is_routine(
    request_bytes: bytes,
    caplog: pytest.LogCaptureFixture,
    autojump_clock: trio.testing.MockClock,
) -> None:
    # It was logged as ERROR "emulator connection N failed" with a traceback.
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    async with open_emulator() as emulator:
        await hang_up_after(emulator, request_bytes)
    ours = [record for record in caplog.records if record.name == LOGGER]
    assert not [record for record in ours if record.levelno >= logging.WARNING]
    left = [record for record in ours if "the peer left" in record.getMessage()]
    assert len(left) == 1
    assert left[0].levelno == logging.DEBUG
    assert left[0].exc_info is None


async def test_logs_and_repr_name_a_connection_by_its_number(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    # A probe takes an accept slot but no number: the log said "connection 2" and the repr
    # "#2" for what `wait_for_connection(1)` and `Fault(connection=1)` call connection 1.
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with open_emulator() as emulator:
        await hang_up_after(emulator, PLAIN_GET)
        async with connect(emulator) as client:
            await client.send({"clientContent": {}})  # not a setup first: closed with 1007
            await client.closed()
        conn = await emulator.wait_for_connection(1)
        await conn.wait_closed()
    assert conn.number == 1
    assert repr(conn).startswith("<EmulatorConnection #1 ")
    messages = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    assert f"connection 1: {conn.path}" in messages
    assert [m for m in messages if m.startswith("connection 1: closing 1007")]
    assert not [m for m in messages if m.startswith("connection 2")]


async def read_to_eof(stream: trio.abc.Stream) -> bytes:
    """Everything the emulator sends until it closes the stream."""
    received = b""
    while chunk := await stream.receive_some():
        received += chunk
    return received


async def wait_released(emulator: Emulator) -> None:
    """Wait until the emulator serves no stream: each server task has ended, its stream closed."""
    while emulator._streams:
        await emulator._changed.wait()


# Streams that end without a WebSocket upgrade request. The emulator waited for a request
# for 10 s whatever happened: each held its task and its stream (a file descriptor) that
# long; at a health check's or a port scanner's rate, hundreds at once.
ENDS_WITHOUT_A_REQUEST = [
    pytest.param(PLAIN_GET, False, b"HTTP/1.1 400 ", id="plain-get-400"),
    pytest.param(b"\x16\x03\x01\x00\xa5garbage\r\n\r\n", False, b"HTTP/1.1 400 ", id="garbage"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: 127.", True, b"", id="incomplete-then-eof"),
    pytest.param(b"", True, b"", id="nothing-then-eof"),
]


@pytest.mark.parametrize(("request_bytes", "eof", "reply"), ENDS_WITHOUT_A_REQUEST)
async def test_a_stream_that_ends_without_a_request_is_released_at_once(
    request_bytes: bytes,
    eof: bool,
    reply: bytes,
    caplog: pytest.LogCaptureFixture,
    autojump_clock: trio.testing.MockClock,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    async with open_emulator() as emulator:
        client = await emulator.memory_connector()()
        start = trio.current_time()
        # Under the autojump clock a server still waiting for the request would jump the
        # clock to this deadline, well before the 10 s bound.
        with trio.fail_after(1):
            await client.send_all(request_bytes)
            if eof:
                await client.send_eof()
            assert (await read_to_eof(client)).startswith(reply)
            await wait_released(emulator)
        assert trio.current_time() - start < 0.1
        await client.aclose()
        # A probe is not a connection: none is listed, and the emulator still serves one.
        assert not emulator.connections
        async with connect(emulator) as ws:
            await ws.setup()
    ours = [record for record in caplog.records if record.name == LOGGER]
    assert not [record for record in ours if record.levelno >= logging.WARNING]


@pytest.mark.parametrize(("request_bytes", "eof", "reply"), ENDS_WITHOUT_A_REQUEST)
async def test_a_tcp_probe_is_released_at_once(
    request_bytes: bytes, eof: bool, reply: bytes
) -> None:
    # Over loopback TCP, in real time: the emulator closes its socket (the client reads
    # EOF) and ends the stream's task long before the 10 s handshake bound.
    async with open_emulator() as emulator:
        client = await trio.open_tcp_stream(emulator.host, emulator.port)
        async with client:
            with trio.fail_after(5):
                await client.send_all(request_bytes)
                if eof:
                    await client.send_eof()
                assert (await read_to_eof(client)).startswith(reply)
                await wait_released(emulator)


async def test_a_peer_that_never_finishes_its_request_is_closed_after_10_s(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The bound still holds for a peer that neither completes its request nor leaves.
    async with open_emulator() as emulator:
        client = await emulator.memory_connector()()
        start = trio.current_time()
        await client.send_all(b"GET / HTTP/1.1\r\nHost: 127.")
        with trio.fail_after(11):
            assert await read_to_eof(client) == b""
            await wait_released(emulator)
        assert trio.current_time() - start == pytest.approx(10)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


async def test_a_request_to_a_wrong_path_is_logged(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    # Its 404 went out with no line in the emulator's log at -v.
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with open_emulator() as emulator:
        client = await emulator.memory_connector()()
        await client.send_all(b"GET /nope?key=secret-key HTTP/1.1\r\nHost: 127.0.0.1\r\n" + UPGRADE)
        assert (await read_to_eof(client)).startswith(b"HTTP/1.1 404 ")
        await wait_released(emulator)
    found = [m for m in _messages(caplog) if "404" in m]
    assert found == ["stream 1: 404, no Live API endpoint at /nope?key=REDACTED"]


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        # A key as a `;` path parameter (a '?' mistyped as ';') was logged whole.
        (f"{GEMINI_PATH};key=secret-key", f"{GEMINI_PATH};key=REDACTED"),
        (
            f"ws://127.0.0.1{GEMINI_PATH};key=secret-key",
            f"ws://127.0.0.1{GEMINI_PATH};key=REDACTED",
        ),
    ],
)
async def test_a_wrong_path_is_logged_without_its_key(
    target: str,
    shown: str,
    caplog: pytest.LogCaptureFixture,
    autojump_clock: trio.testing.MockClock,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with open_emulator() as emulator:
        client = await emulator.memory_connector()()
        request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + UPGRADE
        await client.send_all(request)
        assert (await read_to_eof(client)).startswith(b"HTTP/1.1 404 ")
        await wait_released(emulator)
    found = [m for m in _messages(caplog) if "404" in m]
    assert found == [f"stream 1: 404, no Live API endpoint at {shown}"]


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        (
            {"model": NATIVE, "generationConfig": {"responseModalities": ["TEXT"]}},
            "answers in AUDIO only, not TEXT",
        ),
        (
            {
                "model": NATIVE,
                "generationConfig": {
                    "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Zz"}}}
                },
            },
            "unknown prebuilt voice 'Zz'",
        ),
    ],
)
async def test_a_refused_setup_logs_its_problem(
    setup: dict[str, object],
    problem: str,
    caplog: pytest.LogCaptureFixture,
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Only "closing 1007 Request contains an invalid argument." was logged for these.
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with open_emulator() as emulator, connect(emulator) as client:
        await client.send({"setup": setup})
        assert (await client.closed())[0] == 1007
    assert [m for m in _messages(caplog) if m.startswith("connection 1: setup refused: ")]
    assert [m for m in _messages(caplog) if problem in m]


async def test_a_close_by_the_client_is_logged(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with open_emulator() as emulator:
        async with connect(emulator) as client:
            await client.setup()
        conn = await emulator.wait_for_connection(1)
        await conn.wait_closed()
    assert conn.closed_by == "client"
    assert "connection 1: the client closed 1000 " in _messages(caplog)
