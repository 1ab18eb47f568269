"""Streams that are not Live API sessions (HTTP probes), and how the log names connections."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from emulator.emulator_client import GEMINI_PATH, connect
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
