"""The benchmarks' streaming server (benchmarks/_server.py) survives its clients.

A lockstep stream pair stands in for the socket: a send_all lasts until the client has read
every byte, so the test decides exactly when two of the server's writes overlap.
"""

from __future__ import annotations

import trio
import trio.testing
from benchmarks import _frames, _server
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Request,
)


def _is_whole(event: Event, kind: type[Event]) -> bool:
    # A message split over two reads arrives as two events; only the last one finishes it.
    return isinstance(event, kind) and (not isinstance(event, Message) or event.message_finished)


class _Client:
    """A WebSocket client driven by hand over one end of the stream pair."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)

    async def send(self, event: Event) -> None:
        await self.stream.send_all(self.ws.send(event))

    async def receive(self, done: type[Event], count: int = 1) -> list[Event]:
        """Events until `count` of type `done` arrived (whole messages), or the server hung up."""
        got: list[Event] = []
        while sum(_is_whole(e, done) for e in got) < count:
            data = await self.stream.receive_some(65536)
            if not data:
                break
            self.ws.receive_data(data)
            got.extend(self.ws.events())
        return got


async def test_a_close_while_a_recv_stream_is_being_written_is_answered_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    frames = 30
    client_end, server_end = trio.testing.lockstep_stream_pair()
    client = _Client(client_end)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_server.serve, server_end)
            await client.send(Request(host="127.0.0.1", target=f"/recv/{frames}/0"))
            await client.receive(AcceptConnection)
            await client.send(BytesMessage(data=b"setup"))
            await client.receive(Message)
            await client.send(BytesMessage(data=b"warm"))
            await client.receive(Message, _frames.WARMUP_FRAMES)
            await client.send(BytesMessage(data=b"go"))
            # The server is now writing the stream, which the client has not read: its close
            # reaches `drain` in the middle of that write, and the reply has to wait for it.
            await client.send(CloseConnection(code=1000))
            events = await client.receive(CloseConnection)
    assert sum(_is_whole(e, Message) for e in events) == frames
    assert isinstance(events[-1], CloseConnection)
