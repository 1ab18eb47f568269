"""The send and read fast paths of the websockets transport (issue 6), over real loopback TCP.

`send_now` writes from the caller without waiting; what the socket does not take is kept
and written first by the next flush, so frames stay whole and in order. `send_many` writes
several frames with one write. The direct socket read returns every byte, in order.
"""

from __future__ import annotations

import trio
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from trio_gemini_live._transport_websockets import WebsocketsTransport


async def _pair() -> tuple[WebsocketsTransport, trio.SocketStream, ServerProtocol]:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    client = await trio.open_tcp_stream("127.0.0.1", port)
    server = await listeners[0].accept()
    await listeners[0].aclose()
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN)
    transport = WebsocketsTransport(client, protocol)
    return transport, server, ServerProtocol(state=State.OPEN, max_size=None)


async def _read_messages(stream: trio.SocketStream, peer: ServerProtocol, n: int) -> list[bytes]:
    got: list[bytes] = []
    while len(got) < n:
        peer.receive_data(await stream.receive_some(1 << 20))
        for event in peer.events_received():
            assert isinstance(event, Frame)
            assert event.opcode is Opcode.TEXT
            assert event.fin
            got.append(bytes(event.data))
    return got


async def test_send_now_keeps_frames_whole_and_in_order_across_a_partial_write() -> None:
    transport, server, peer = await _pair()
    frames = [b'"' + bytes([65 + i]) * 300_000 + b'"' for i in range(12)]
    results = [transport.send_now(frame) for frame in frames]
    # The socket buffer fills: one frame goes out in part, later ones are refused untouched.
    assert None in results
    cut = results.index(None)
    assert all(r is True for r in results[:cut])
    assert all(r is False for r in results[cut + 1 :])
    async with trio.open_nursery() as nursery:
        received: list[bytes] = []

        async def read() -> None:
            received.extend(await _read_messages(server, peer, len(frames)))

        nursery.start_soon(read)
        await transport.flush()  # the rest of the cut frame, first
        await transport.send_many(frames[cut + 1 :])
    assert received == frames
    await server.aclose()
    await transport.aclose()


async def test_send_now_is_refused_while_a_write_is_in_progress() -> None:
    transport, server, _peer = await _pair()
    await transport._write_lock.acquire()  # pyright: ignore[reportPrivateUsage]
    assert transport.send_now(b"{}") is False
    transport._write_lock.release()  # pyright: ignore[reportPrivateUsage]
    assert transport.send_now(b"{}") is True
    await server.aclose()
    await transport.aclose()


async def test_direct_socket_read_returns_every_message_in_order() -> None:
    transport, server, _peer = await _pair()
    outgoing = ServerProtocol(state=State.OPEN)
    messages = [f'{{"n": {i}, "pad": "{"x" * (i * 997 % 70_000)}"}}'.encode() for i in range(60)]
    for message in messages:
        outgoing.send_binary(message)
    data = b"".join(outgoing.data_to_send())
    got: list[bytes | str] = []
    async with trio.open_nursery() as nursery:

        async def write() -> None:
            for i in range(0, len(data), 5000):  # split across reads, frames cut anywhere
                await server.send_all(data[i : i + 5000])
                await trio.lowlevel.checkpoint()

        nursery.start_soon(write)
        while len(got) < len(messages):
            got.extend(await transport.receive_batch())
    assert got == messages
    await server.aclose()
    await transport.aclose()
