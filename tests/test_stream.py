"""The byte stream under the transports: how long writes are metered for the heartbeat."""

from __future__ import annotations

import math

import trio
import trio.testing

from trio_gemini_live._stream import PIECE, UplinkMeter


class _SlowSink(trio.abc.SendStream):
    """Takes each write a second after it is handed over."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.sleep(1)
        self.lengths.append(len(data))

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def test_only_pieces_taken_while_our_ping_waits_vouch_for_the_server(
    autojump_clock: trio.testing.MockClock,
) -> None:
    meter = UplinkMeter()
    sink = _SlowSink()
    data = bytes(4 * PIECE + 1)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(meter.send_all, sink, data)
        await trio.sleep(2.5)
        # Progress (the heartbeat dates an uplink stall from it), but no ping is waiting
        # for it: it says nothing of the server.
        assert meter.moved_at == start + 2
        assert meter.read_at == -math.inf
        meter.ping_sent()  # queued behind the three pieces still to go
        await trio.sleep(1)
        assert meter.read_at == start + 3
    assert sink.lengths == [PIECE] * 4 + [1]
    assert meter.moved_at == start + 5
    assert meter.read_at == start + 5  # the ping was written next
    # The ping is on its way: later writes vouch for nothing, even with another ping sent
    # while no long write is under way (it is written at once).
    meter.ping_sent()
    await meter.send_all(sink, data)
    assert meter.moved_at == start + 10
    assert meter.read_at == start + 5
