"""The send and read fast paths of the websockets transport (issue 6), over real sockets.

`send_now` writes from the caller without waiting; what the socket does not take is kept
and written first by the next flush, so frames stay whole and in order; a frame of which
the socket took nothing is the caller's to send. `send_many` writes several frames with one
write. The direct socket read returns every byte, in order. Loopback TCP, or a socketpair
where a test needs to know exactly what the kernel takes.
"""

from __future__ import annotations

import os

import pytest
import trio
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from trio_gemini_live._transport import TransportClosedError
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


async def _socketpair() -> tuple[WebsocketsTransport, trio.SocketStream, ServerProtocol]:
    client, server = trio.socket.socketpair()
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN)
    transport = WebsocketsTransport(trio.SocketStream(client), protocol)
    return transport, trio.SocketStream(server), ServerProtocol(state=State.OPEN, max_size=None)


@pytest.mark.skipif(os.name != "posix", reason="`send_now` writes to plain sockets on POSIX")
async def test_send_now_into_a_socket_whose_peer_is_gone_writes_nothing() -> None:
    # The write failed (EPIPE) and `send_now` said True: the session counted the frame as
    # sent, and never reported it. The caller now sends it, and that write reports it.
    transport, server, _peer = await _socketpair()
    server.socket.shutdown(trio.socket.SHUT_RDWR)
    assert transport.send_now(b'{"n": 1}') is False
    assert transport.send_now(b'{"n": 2}') is False  # nor any frame after it
    with pytest.raises(TransportClosedError):
        await transport.send(b'{"n": 1}')
    await server.aclose()
    await transport.aclose()


@pytest.mark.skipif(os.name != "posix", reason="`send_now` writes to plain sockets on POSIX")
async def test_send_now_into_a_full_socket_writes_nothing_and_the_frame_goes_out_whole() -> None:
    # The socket took none of it: `send_now` kept the frame as if cut off mid-write (None),
    # which the session reports as such if the connection ends. Now the caller sends it;
    # the pong a read queued before it still goes first.
    transport, server, peer = await _socketpair()
    pinger = ServerProtocol(state=State.OPEN)
    pinger.send_ping(b"hb")
    await server.send_all(b"".join(pinger.data_to_send()))
    assert await transport.receive_batch(defer_writes=True) == []  # the pong waits
    # Fill the client's socket behind the transport's back, until it takes nothing more: a
    # socketpair frees no room until its peer reads, so the transport's write finds none.
    client_fd = transport._fd  # pyright: ignore[reportPrivateUsage]
    filler = 0
    while True:
        try:
            filler += os.write(client_fd, b"\0" * 65536)
        except BlockingIOError:
            break
    frame = b'{"realtimeInput": {"text": "whole"}}'
    assert transport.send_now(frame) is False
    assert transport.writes_pending()  # the pong, for the caller's write
    received = bytearray()
    async with trio.open_nursery() as nursery:

        async def read() -> None:
            while len(received) < filler:
                received.extend(await server.receive_some(1 << 20))

        nursery.start_soon(read)
        await transport.send(frame)  # what the session does with a frame refused
    assert received[:filler] == bytes(filler)
    peer.receive_data(bytes(received[filler:]))
    frames = list(peer.events_received())
    while len(frames) < 2:
        peer.receive_data(await server.receive_some(1 << 20))
        frames.extend(peer.events_received())
    assert [(f.opcode, f.data) for f in frames if isinstance(f, Frame)] == [
        (Opcode.PONG, b"hb"),
        (Opcode.TEXT, frame),
    ]
    await server.aclose()
    await transport.aclose()
