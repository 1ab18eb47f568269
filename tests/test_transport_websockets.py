"""The websockets sans-IO transport: framing, batching, control frames, close, TLS.

The peer is a raw byte stream driven by wsproto's server side, so each test decides exactly
which bytes arrive in which read.
"""

from __future__ import annotations

import functools
import math
import ssl
import struct
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import ParamSpec

import pytest
import trio
import trio.testing
import trustme
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection as FrameConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

from fake_server import WrappedStream
from trio_gemini_live import open_session
from trio_gemini_live._endpoints import Endpoint, url_endpoint
from trio_gemini_live._errors import TransportError
from trio_gemini_live._options import SessionOptions
from trio_gemini_live._stream import LONG_WRITE, PIECE
from trio_gemini_live._transport import (
    TRANSPORTS,
    Transport,
    TransportClosedError,
    _ClientProtocol,  # pyright: ignore[reportPrivateUsage]
    fit_close_reason,
    open_transport,
)
from trio_gemini_live._transport_websockets import (
    WebsocketsTransport,
    _head_end,  # pyright: ignore[reportPrivateUsage]
    open_websockets,
)
from trio_gemini_live.emulator import open_emulator

URL = "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
ENDPOINT = url_endpoint(URL, api_key="secret-key")
FRAMER = FrameConnection(ConnectionType.SERVER)
P = ParamSpec("P")


BOUND = 5.0
"""Seconds each test here may take: virtual ones for the tests on the autojump clock (over
memory streams nothing waits on real time), real ones for the few over loopback TCP."""


def bounded(test: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """Fail the test if it is still running after `BOUND` s, instead of letting it hang.

    (pytest-trio runs no autouse async fixture, so a fixture cannot set this bound.)
    """

    @functools.wraps(test)
    async def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with trio.fail_after(BOUND):
            await test(*args, **kwargs)

    return run


def frame(data: bytes | str) -> bytes:
    event = TextMessage(data=data) if isinstance(data, str) else BytesMessage(data=data)
    return FRAMER.send(event)


class Peer:
    """The server end: wsproto handshake, then raw bytes."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.request: Request | None = None

    async def events(self) -> list[object]:
        data = await self.stream.receive_some(65536)
        self.ws.receive_data(data or None)
        return list(self.ws.events())

    async def accept(
        self, extra: bytes = b"", *, rewrite: Callable[[bytes], bytes] | None = None
    ) -> None:
        """Answer the upgrade with a 101 (`rewrite` changes it), then `extra`."""
        while self.request is None:
            for event in await self.events():
                if isinstance(event, Request):
                    self.request = event
        answer = self.ws.send(AcceptConnection())
        await self.stream.send_all((answer if rewrite is None else rewrite(answer)) + extra)

    async def reject(self, status: int) -> None:
        while self.request is None:
            for event in await self.events():
                if isinstance(event, Request):
                    self.request = event
        await self.stream.send_all(
            self.ws.send(RejectConnection(status_code=status, has_body=False))
        )


async def connect(
    nursery: trio.Nursery, *, extra: bytes = b"", max_message_size: int = 1 << 20
) -> tuple[WebsocketsTransport, Peer]:
    client, server = trio.testing.memory_stream_pair()
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return client

    nursery.start_soon(peer.accept, extra)
    transport = await open_websockets(
        nursery, ENDPOINT, connector=connector, max_message_size=max_message_size
    )
    return transport, peer


def test_registered() -> None:
    assert "websockets" in TRANSPORTS


@bounded
async def test_handshake_sends_auth_header_and_frames_in_the_same_read(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport, peer = await connect(nursery, extra=frame(b'{"setupComplete": {}}'))
    assert peer.request is not None
    assert peer.request.target.endswith("BidiGenerateContent")
    headers = dict(peer.request.extra_headers)
    assert headers[b"x-goog-api-key"] == b"secret-key"
    assert await transport.receive_batch() == [b'{"setupComplete": {}}']


@bounded
async def test_several_frames_in_one_read_are_one_batch(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    transport, peer = await connect(nursery)
    await peer.stream.send_all(frame(b"one") + frame("two") + frame(b"three"))
    assert await transport.receive_batch() == [b"one", "two", b"three"]


@bounded
async def test_frame_split_across_reads(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    transport, peer = await connect(nursery)
    data = frame(b"x" * 70000) + frame(b"tail")
    got: list[bytes | str] = []

    async def receive() -> None:
        while len(got) < 2:
            got.extend(await transport.receive_batch())

    async with trio.open_nursery() as inner:
        inner.start_soon(receive)
        for i in range(0, len(data), 1000):
            await peer.stream.send_all(data[i : i + 1000])
            await trio.testing.wait_all_tasks_blocked()
    assert got == [b"x" * 70000, b"tail"]


@bounded
async def test_fragmented_messages_are_joined(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    transport, peer = await connect(nursery)
    ws = peer.ws
    data = ws.send(TextMessage(data="hel", message_finished=False))
    data += ws.send(Ping(payload=b"mid"))  # a control frame between fragments
    data += ws.send(TextMessage(data="lo", message_finished=True))
    data += ws.send(BytesMessage(data=b"ab", message_finished=False))
    data += ws.send(BytesMessage(data=b"cd", message_finished=True))
    await peer.stream.send_all(data)
    assert await transport.receive_batch() == ["hello", b"abcd"]
    # The ping was answered from the read path.
    events = await peer.events()
    assert any(isinstance(e, Pong) and e.payload == b"mid" for e in events)


@bounded
async def test_ping_waits_for_its_pong(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    transport, peer = await connect(nursery)
    done = trio.Event()

    async def ping() -> None:
        await transport.ping()
        done.set()

    async def receive() -> None:
        await transport.receive_batch()

    nursery.start_soon(ping)
    nursery.start_soon(receive)
    pings: list[Ping] = []
    while not pings:
        pings = [e for e in await peer.events() if isinstance(e, Ping)]
    await peer.stream.send_all(peer.ws.send(Pong(payload=b"unsolicited")))
    await trio.testing.wait_all_tasks_blocked()
    assert not done.is_set()
    await peer.stream.send_all(peer.ws.send(pings[0].response()) + frame(b"x"))
    await done.wait()


@bounded
async def test_send_is_a_masked_text_frame(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    transport, peer = await connect(nursery)
    await transport.send(b'{"realtimeInput": {"text": "hi"}}')
    events = await peer.events()
    assert [e.data for e in events if isinstance(e, TextMessage)] == [
        '{"realtimeInput": {"text": "hi"}}'
    ]


@bounded
async def test_server_close_code_and_reason_after_pending_messages(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport, peer = await connect(nursery)
    await peer.stream.send_all(
        frame(b"last") + peer.ws.send(CloseConnection(code=1011, reason="Internal error"))
    )
    assert await transport.receive_batch() == [b"last"]
    with pytest.raises(TransportClosedError) as info:
        await transport.receive_batch()
    assert (info.value.code, info.value.reason) == (1011, "Internal error")
    events = await peer.events()  # the close was echoed
    assert any(isinstance(e, CloseConnection) and e.code == 1011 for e in events)
    with pytest.raises(TransportClosedError):
        await transport.send(b"{}")
    await transport.aclose()  # idempotent after the close


@bounded
async def test_eof_without_close_frame_is_1006(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    transport, peer = await connect(nursery)
    await peer.stream.send_all(frame(b"xyz")[:3])
    await peer.stream.aclose()
    with pytest.raises(TransportClosedError) as info:
        await transport.receive_batch()
    assert info.value.code == 1006


@bounded
async def test_aclose_reads_the_reply_itself_when_nobody_receives(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport, peer = await connect(nursery)

    async def answer() -> None:
        while True:
            for event in await peer.events():
                if isinstance(event, CloseConnection):
                    await peer.stream.send_all(peer.ws.send(event.response()))
                    return

    nursery.start_soon(answer)
    with trio.fail_after(1):
        await transport.aclose(1000, "bye")
    with pytest.raises(TransportClosedError) as info:
        await transport.receive_batch()
    assert info.value.code == 1000


@bounded
async def test_rejected_upgrade_is_a_transport_error_without_the_key(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    client, server = trio.testing.memory_stream_pair()
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return client

    nursery.start_soon(peer.reject, 403)
    with pytest.raises(TransportError, match="HTTP 403") as info:
        await open_websockets(nursery, url_endpoint(URL + "?key=secret"), connector=connector)
    assert "secret" not in str(info.value)


@bounded
async def test_a_101_with_bare_lf_line_ends_fails_at_once(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # websockets' parser takes CRLF lines only, and the handshake waited for a CRLF CRLF
    # that never came: connect_timeout ran out, or at the server's hang-up "the server closed
    # the connection during the upgrade".
    client, server = trio.testing.memory_stream_pair()
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return client

    def bare_lf(answer: bytes) -> bytes:
        return answer.replace(b"\r\n", b"\n")

    nursery.start_soon(functools.partial(peer.accept, frame("hi"), rewrite=bare_lf))
    with pytest.raises(TransportError, match="ends a line with a bare LF, not CRLF"):
        await open_websockets(nursery, ENDPOINT, connector=connector)  # the server waits


@bounded
async def test_an_upgrade_answer_with_endless_headers_fails_at_64_kib(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # Many short header lines: the handshake read on to 1 MiB, rescanning the whole head at
    # every read (10 s and 3.5 s of CPU over loopback) before websockets refused it.
    client, server = trio.testing.memory_stream_pair()

    async def connector() -> trio.abc.Stream:
        return client

    async def answer() -> None:
        await server.receive_some()  # the upgrade request
        with suppress(trio.BrokenResourceError):  # the client hung up
            await server.send_all(b"HTTP/1.1 101 Switching Protocols\r\n")
            for line in range(1000):  # ~100 KiB, and no end
                await server.send_all(b"X-Pad-%d: %s\r\n" % (line, b"a" * 90))
            await trio.sleep_forever()

    nursery.start_soon(answer)
    with pytest.raises(TransportError, match="more than 64 KiB of headers"):
        await open_websockets(nursery, ENDPOINT, connector=connector)


def test_the_end_of_a_101_head_is_found_wherever_the_reads_cut_it() -> None:
    # Only a read's new bytes are searched (and 3 before them); frames behind the head may
    # hold bare LFs.
    head = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    )
    answer = head + frame("a\nb\n\n")
    for cut in range(1, len(answer)):
        buffer = bytearray(answer[:cut])
        end = _head_end(buffer, 0, "ws://h/")
        if end < 0:
            seen = len(buffer)
            buffer += answer[cut:]
            end = _head_end(buffer, seen, "ws://h/")
        assert end == len(head), cut


@bounded
async def test_connection_refused_is_a_transport_error(nursery: trio.Nursery) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    await listeners[0].aclose()
    with pytest.raises(TransportError, match="cannot connect"):
        await open_websockets(nursery, url_endpoint(f"ws://127.0.0.1:{port}/ws/x"))


@bounded
async def test_open_transport_dispatches(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    client, server = trio.testing.memory_stream_pair()
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return client

    nursery.start_soon(peer.accept, b"")
    transport = await open_transport(
        nursery, ENDPOINT, SessionOptions(transport="websockets"), connector=connector
    )
    assert isinstance(transport, WebsocketsTransport)


class _Writes(WrappedStream):
    """Records the length of each write."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        super().__init__(inner)
        self.lengths: list[int] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.lengths.append(len(data))
        await self._inner.send_all(data)


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@bounded
async def test_long_writes_go_in_pieces_and_the_rest_whole(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # The heartbeat tells a slow write from a stuck one by its pieces (`UplinkMeter`); a
    # short one (any audio frame, any batch of them) is one write, as before.
    client, server = trio.testing.memory_stream_pair()
    writes = _Writes(client)
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return writes

    nursery.start_soon(peer.accept, b"")
    opened = await open_transport(
        nursery, ENDPOINT, SessionOptions(transport=transport), connector=connector
    )
    short = '{"text": "' + "a" * 60_000 + '"}'
    long = '{"text": "' + "b" * 200_000 + '"}'
    writes.lengths.clear()
    await opened.send(short.encode())
    assert len(writes.lengths) == 1
    assert opened.uplink.moved_at == -math.inf  # not metered: no piece went
    await opened.send(long.encode())
    *pieces, last = writes.lengths[1:]
    assert pieces == [PIECE] * (200_000 // PIECE)
    assert 0 < last <= PIECE
    assert opened.uplink.moved_at > -math.inf  # the pieces were metered
    assert writes.lengths[0] <= LONG_WRITE < sum(writes.lengths[1:])
    received = [""]
    while len(received) < 3:
        for event in await peer.events():
            if isinstance(event, TextMessage):
                received[-1] += event.data
                if event.message_finished:
                    received.append("")
    assert received[:2] == [short, long]


@bounded
async def test_tls(nursery: trio.Nursery) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def handler(stream: trio.SSLStream[trio.SocketStream]) -> None:
        peer = Peer(stream)
        try:
            await peer.accept(frame(b"over tls"))
            await trio.sleep_forever()
        except trio.BrokenResourceError:
            pass  # the client that does not trust the certificate

    listeners = await nursery.start(trio.serve_ssl_over_tcp, handler, 0, server_context)
    port = listeners[0].transport_listener.socket.getsockname()[1]
    endpoint = url_endpoint(f"wss://127.0.0.1:{port}/ws/x", api_key="k")
    transport = await open_websockets(nursery, endpoint, ssl_context=client_context)
    assert await transport.receive_batch() == [b"over tls"]
    with pytest.raises(TransportError, match="TLS error"):
        await open_websockets(nursery, endpoint, ssl_context=ssl.create_default_context())
    with trio.move_on_after(0.2):  # this peer never answers the close
        await transport.aclose()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("path", "hint"), [("", True), ("/", True), ("/ws/wrong", False)])
@bounded
async def test_a_404_for_a_url_without_a_path_says_why(
    transport: str, path: str, hint: bool, autojump_clock: trio.testing.MockClock
) -> None:
    # The likely slip: the emulator's base `url` given to url_endpoint, which takes a URL
    # as it is. Before, only "rejected ... with HTTP 404".
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.url + path, api_key="k")
        options = SessionOptions(transport=transport)
        with pytest.raises(TransportError, match="HTTP 404") as info:
            async with open_session(
                "gemini-live-2.5-flash-preview",
                endpoint=endpoint,
                options=options,
                connector=emulator.memory_connector(),
            ):
                pass
    assert ("emulator.endpoint_url()" in str(info.value)) is hint


# --- frames that come with the 101 ---------------------------------------------------------


def close_frame(code: int, reason: str) -> bytes:
    # A framer of its own: once it has sent a close, a framer sends nothing more.
    return FrameConnection(ConnectionType.SERVER).send(CloseConnection(code, reason))


def ping_frame(payload: bytes) -> bytes:
    return FRAMER.send(Ping(payload=payload))


async def tcp_connect(
    nursery: trio.Nursery, *, extra: bytes = b""
) -> tuple[WebsocketsTransport, Peer]:
    """`connect` over loopback TCP: the transport reads the socket itself (`_read_socket`)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    client = await trio.open_tcp_stream("127.0.0.1", port)
    server = await listeners[0].accept()
    await listeners[0].aclose()
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return client

    nursery.start_soon(peer.accept, extra)
    transport = await open_websockets(nursery, ENDPOINT, connector=connector)
    return transport, peer


async def close_reply(peer: Peer) -> CloseConnection:
    """The client's close frame, or wsproto's 1006 for a stream that ended without one."""
    while True:
        for event in await peer.events():
            if isinstance(event, CloseConnection):
                return event


@pytest.mark.parametrize("over", ["memory", "tcp"])
@bounded
async def test_a_close_that_came_with_the_101_is_answered_by_the_first_receive(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, over: str
) -> None:
    # The emulator refuses a bad key this way: 101, then its close, in one write. The
    # reply the close called for stayed queued: the client raised the code and closed the
    # stream (or left it open) without ever answering (RFC 6455 5.5.1).
    opener = connect if over == "memory" else tcp_connect
    transport, peer = await opener(
        nursery, extra=frame(b"before") + close_frame(1007, "API key not valid")
    )
    assert await transport.receive_batch() == [b"before"]
    with pytest.raises(TransportClosedError) as info:
        await transport.receive_batch()
    assert (info.value.code, info.value.reason) == (1007, "API key not valid")
    with trio.fail_after(1):
        reply = await close_reply(peer)
    assert (reply.code, reply.reason) == (1007, "API key not valid")
    await transport.aclose()  # nothing left to do


@bounded
async def test_a_close_that_came_with_the_101_is_answered_by_aclose(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # Nobody received before closing (a session whose setup write failed, say): `aclose`
    # closed the stream without the reply.
    transport, peer = await connect(nursery, extra=close_frame(1008, "policy"))
    with trio.fail_after(1):
        await transport.aclose()
        reply = await close_reply(peer)
    assert (reply.code, reply.reason) == (1008, "policy")
    with pytest.raises(TransportClosedError) as info:
        await transport.receive_batch()
    assert (info.value.code, info.value.reason) == (1008, "policy")


@pytest.mark.parametrize("defer_writes", [False, True])
@bounded
async def test_a_ping_that_came_with_the_101_is_answered(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, defer_writes: bool
) -> None:
    # Its pong stayed queued while the receiver waited for a frame: a server whose
    # heartbeat pinged right after the upgrade found the client dead.
    transport, peer = await connect(nursery, extra=ping_frame(b"hb"))
    if defer_writes:
        # As after any read that brought only a ping: no message, the pong left for the
        # caller's writer (the session's sender).
        with trio.fail_after(1):
            assert await transport.receive_batch(defer_writes=True) == []
        assert transport.writes_pending()
        await transport.flush()
    else:
        nursery.start_soon(transport.receive_batch)  # the receiver, waiting for messages
    pongs: list[Pong] = []
    with trio.fail_after(1):
        while not pongs:
            pongs = [event for event in await peer.events() if isinstance(event, Pong)]
    assert pongs[0].payload == b"hb"
    assert not transport.writes_pending()


# --- URLs ------------------------------------------------------------------------------------


@bounded
async def test_a_url_websockets_refuses_is_a_transport_error_without_its_secrets(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    # websockets' InvalidURI escaped unmapped, its message showing the URL as given.
    client, _server = trio.testing.memory_stream_pair()

    async def connector() -> trio.abc.Stream:
        return client

    endpoint = Endpoint(url="ws://user@127.0.0.1/ws/x?access_token=LEAKY")  # no password
    with pytest.raises(TransportError, match="without password") as info:
        await open_websockets(nursery, endpoint, connector=connector)
    assert "LEAKY" not in str(info.value)
    assert "access_token=REDACTED" in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@bounded
async def test_both_transports_refuse_a_fragment_without_showing_secrets(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # An `Endpoint` built by hand (`url_endpoint` refuses a fragment). Before, websockets'
    # InvalidURI escaped with the access token in its message, while trio-websocket
    # connected without the fragment.
    client, server = trio.testing.memory_stream_pair()
    nursery.start_soon(Peer(server).accept, b"")

    async def connector() -> trio.abc.Stream:
        return client

    endpoint = Endpoint(url=URL + "?access_token=LEAKY#token=LEAKY", headers=ENDPOINT.headers)
    with pytest.raises(TransportError, match="#fragment") as info:
        await open_transport(
            nursery, endpoint, SessionOptions(transport=transport), connector=connector
        )
    assert "LEAKY" not in str(info.value)


@pytest.mark.parametrize("transport", ["websockets", "trio-websocket"])
@pytest.mark.parametrize("bad", ["\n", "\r\n", "\x00", "\u2028", "\u2603"])
@bounded
async def test_a_header_value_http_cannot_carry_is_a_transport_error_without_it(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, bad: str, transport: str
) -> None:
    # An `Endpoint` built by hand skips the builders' checks: websockets' InvalidHeaderValue
    # escaped unmapped, the key in its message and args (and an older websockets sent the
    # value as is, and waited for an answer).
    client, _server = trio.testing.memory_stream_pair()

    async def connector() -> trio.abc.Stream:
        return client

    endpoint = Endpoint(url=URL, headers=(("x-goog-api-key", "LEAKY" + bad),))
    options = SessionOptions(transport=transport)
    with (
        trio.fail_after(5),
        pytest.raises(TransportError, match="'x-goog-api-key' header") as info,
    ):
        await open_transport(nursery, endpoint, options, connector=connector)
    for text in (str(info.value), repr(info.value.args)):
        assert "LEAKY" not in text
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


class _WriteLog(WrappedStream):
    """Notes each write: its size, and whether it was cut off (cancelled) part-way."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        super().__init__(inner)
        self.writes: list[tuple[int, bool]] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        try:
            await super().send_all(data)
        except BaseException:
            self.writes.append((len(data), False))
            raise
        self.writes.append((len(data), True))


@pytest.mark.parametrize("transport_name", ["websockets", "trio-websocket"])
async def test_nothing_is_written_behind_a_write_cut_off_part_way(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport_name: str
) -> None:
    # A write cancelled part-way leaves part of a frame on the wire. The close frame
    # written behind it was read by the server as the rest of that frame: it closed with
    # 1007 ("invalid UTF-8"), not the 1000 the session sent (a move to a new connection
    # cut the sender's write so). Now nothing is written after it: the stream is dropped,
    # without a handshake, at once.
    from trio_gemini_live.emulator._latency import delayed_stream_pair

    client, server = delayed_stream_pair(0.0, 4096)  # a peer that reads nothing fills it
    log = _WriteLog(client)
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return log

    nursery.start_soon(peer.accept, b"")
    options = SessionOptions(transport=transport_name)
    transport = await open_transport(nursery, ENDPOINT, options, connector=connector)
    before = len(log.writes)
    with trio.move_on_after(1) as cut:
        await transport.send(b'{"text": "' + b"x" * 20_000 + b'"}')
    assert cut.cancelled_caught
    assert log.writes[before:] == [(log.writes[before][0], False)]  # cut off part-way
    assert transport.writes_begun > 0  # so the session reports it as cut off, not unwritten
    with trio.fail_after(1):  # no wait for a reply to a close frame the server never got
        await transport.aclose(1000, "")
    assert [done for _, done in log.writes[before:]] == [False]  # nothing written after it


@pytest.mark.parametrize("transport_name", sorted(TRANSPORTS))
@pytest.mark.parametrize("many", [False, True], ids=["send", "send_many"])
@bounded
async def test_a_send_cancelled_before_its_write_leaves_the_stream_whole_for_a_close_frame(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport_name: str, many: bool
) -> None:
    # A cancellation already pending when the send came (the block cancelled just after a
    # `send_text`) was raised by the stream's `send_all` before its first byte, and taken
    # for a write cut off part-way: no close frame went out, the server saw 1006, and the
    # session reported the message as "cut off mid-write". Nothing was written: the frame
    # is dropped whole, `writes_begun` says so, and the close frame follows.
    transport, peer = await open_either(nursery, transport_name)
    begun = transport.writes_begun
    with trio.CancelScope() as scope:
        scope.cancel()
        if many:
            await transport.send_many([b'{"a": 1}', b'{"b": 2}'])
        else:
            await transport.send(b'{"a": 1}')
    assert scope.cancelled_caught
    assert transport.writes_begun == begun
    replies: list[CloseConnection] = []

    async def answer() -> None:
        replies.append(await close_reply(peer))
        await peer.stream.send_all(peer.ws.send(replies[0].response()))

    nursery.start_soon(answer)
    await transport.aclose(1000, "bye")
    assert [(reply.code, reply.reason) for reply in replies] == [(1000, "bye")]
    assert transport.writes_begun > begun  # the close frame's


@bounded
async def test_trio_websocket_cancelled_between_its_lock_and_the_write_is_no_cut(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # trio-websocket takes its write lock with a yield that cannot be cancelled: a
    # cancellation arriving then reached the stream's `send_all` before its first byte, and
    # was taken for a write cut off part-way (no close frame after it, the server saw 1006).
    # The frame's bytes were trio-websocket's own and are dropped whole: the stream is whole.
    from trio_gemini_live._transport import TrioWebsocketTransport

    transport, peer = await open_either(nursery, "trio-websocket")
    assert isinstance(transport, TrioWebsocketTransport)
    metered = transport._stream  # pyright: ignore[reportPrivateUsage]
    begun = transport.writes_begun
    with trio.CancelScope() as scope:
        scope.cancel()
        await metered.send_all(frame('{"a": 1}'))  # as trio-websocket calls it, lock held
    assert scope.cancelled_caught
    assert (metered.cut, transport.writes_begun) == (False, begun)
    replies: list[CloseConnection] = []

    async def answer() -> None:
        replies.append(await close_reply(peer))
        await peer.stream.send_all(peer.ws.send(replies[0].response()))

    nursery.start_soon(answer)
    await transport.aclose(1000, "bye")
    assert [(reply.code, reply.reason) for reply in replies] == [(1000, "bye")]


@bounded
async def test_a_send_refused_behind_a_close_says_nothing_was_written(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """Once the close has begun, `send` and `send_many` write no byte and say so.

    The session reports such a message as never written, not as cut off mid-write (part of
    which may have reached the server).
    """
    transport, peer = await connect(nursery)
    await transport.send_close(1000, "bye")
    for send in (transport.send(b"{}"), transport.send_many([b"{}", b"[]"])):
        with pytest.raises(TransportClosedError) as info:
            await send
        assert info.value.unwritten
    events = await peer.events()
    assert [type(event) for event in events] == [CloseConnection]  # and nothing else


# --- a server that breaks the protocol, and the client's own close ------------------------


async def open_either(
    nursery: trio.Nursery, transport: str, *, max_message_size: int = 1 << 20
) -> tuple[Transport, Peer]:
    """`connect`, with the transport `SessionOptions.transport` names."""
    client, server = trio.testing.memory_stream_pair()
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return client

    nursery.start_soon(peer.accept, b"")
    options = SessionOptions(transport=transport, max_message_size=max_message_size)
    return await open_transport(nursery, ENDPOINT, options, connector=connector), peer


def raw_frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bool = False
) -> bytes:
    """A server frame exactly as given, however wrong (wsproto refuses to make most)."""
    masked = 0x80 if mask else 0
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    if len(payload) < 126:
        head += bytes([masked | len(payload)])
    else:
        head += bytes([masked | 126]) + struct.pack("!H", len(payload))
    if mask:
        key = b"abcd"
        return head + key + bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))
    return head + payload


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


# Frames that break RFC 6455, and the code of the close the client fails the connection with.
_BROKEN = {
    "masked frame": (raw_frame(0x1, b"{}", mask=True), 1002),
    "reserved bit": (raw_frame(0x1, b"{}", rsv=0x40), 1002),
    "unknown opcode": (raw_frame(0x3, b"zz"), 1002),
    "stray continuation": (raw_frame(0x0, b"zz"), 1002),
    "ping over 125 bytes": (raw_frame(0x9, b"x" * 200), 1002),
    "fragmented ping": (raw_frame(0x9, b"x", fin=False), 1002),
    "close of 1 byte": (raw_frame(0x8, b"\x03"), 1002),
    **{
        f"close code {code}": (raw_frame(0x8, close_payload(code, b"x")), 1002)
        for code in (999, 1004, 1005, 1006, 1015, 1016, 2999, 5000)
    },
    "text not UTF-8": (raw_frame(0x1, b'{"x": "\xff"}'), 1007),
    "fragmented text not UTF-8": (
        raw_frame(0x1, b'{"x": "\xc3', fin=False) + raw_frame(0x0, b'("}'),
        1007,
    ),
    "close reason not UTF-8": (raw_frame(0x8, close_payload(1011, b"\xff bad")), 1007),
    # RFC 6455 5.2: the length in its shortest form, and 64 bits with the top one clear.
    # The default transport took the first as a message and the second as 1009.
    "16-bit length for 3 bytes": (b"\x81\x7e" + struct.pack("!H", 3) + b"abc", 1002),
    "64-bit length for 3 bytes": (b"\x81\x7f" + struct.pack("!Q", 3) + b"abc", 1002),
    "64-bit length for 300 bytes": (b"\x82\x7f" + struct.pack("!Q", 300) + b"x" * 300, 1002),
    "64-bit length with the top bit set": (
        b"\x82\x7f" + struct.pack("!Q", (1 << 63) | 3) + b"abc",
        1002,
    ),
}


def declared_header(first: int, length: int, *, mask: bool = False) -> bytes:
    """A server frame's header declaring `length` bytes of payload, however wrong."""
    masked = 0x80 if mask else 0
    if length < 126:
        head = bytes([first, masked | length])
    else:
        head = bytes([first, masked | 126]) + struct.pack("!H", length)
    return head + (b"abcd" if mask else b"")


# Frame headers that break RFC 6455 before any payload: what comes before them, the header.
_BROKEN_HEADER = {
    "masked frame": (b"", declared_header(0x81, 500, mask=True)),
    "reserved bit": (b"", declared_header(0xC1, 500)),
    "unknown opcode": (b"", declared_header(0x83, 500)),
    "stray continuation": (b"", declared_header(0x80, 500)),
    "ping over 125 bytes": (b"", declared_header(0x89, 200)),
    "fragmented ping": (b"", declared_header(0x09, 50)),
    "text inside a fragmented message": (
        raw_frame(0x1, b"{", fin=False),
        declared_header(0x81, 500),
    ),
}


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize("how", list(_BROKEN_HEADER))
@bounded
async def test_a_frame_header_breaking_the_protocol_fails_before_its_payload(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str, how: str
) -> None:
    # The default transport held such a frame back until its declared payload came: a
    # server that sent no more hung the receiver (in a session, the heartbeat's pongs were
    # taken as payload, and the silence ended as a dropped connection, resumed).
    before, header = _BROKEN_HEADER[how]
    connection, peer = await open_either(nursery, transport)
    await peer.stream.send_all(frame("before") + before + header + b"xy")  # then nothing
    received, closed = await receive_all(connection)
    assert received == ["before"]
    assert (closed.code, closed.local_failure) == (1002, True)
    assert closed.reason
    reply = await close_reply(peer)
    assert (reply.code, reply.reason) == (1002, closed.reason)
    await connection.aclose()


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize("how", list(_BROKEN))
@bounded
async def test_a_frame_breaking_the_protocol_ends_with_the_clients_own_close(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str, how: str
) -> None:
    # websockets' transport reported each as 1006, a dropped connection (which the session
    # resumed, the bad message lost without a word). trio-websocket reported wsproto's
    # code as the server's close (a 1007 was "InvalidArgumentError", the setup blamed), and
    # sent no close frame.
    data, code = _BROKEN[how]
    connection, peer = await open_either(nursery, transport)
    await peer.stream.send_all(frame("before") + data)
    received: list[bytes | str] = []
    with pytest.raises(TransportClosedError) as info:
        while True:
            received.extend(await connection.receive_batch())
    assert received == ["before"]
    assert (info.value.code, info.value.local_failure) == (code, True)
    assert info.value.reason  # what was wrong
    reply = await close_reply(peer)  # sent, as RFC 6455 (7.1.7) asks
    assert (reply.code, reply.reason) == (code, info.value.reason)
    await connection.aclose()


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@bounded
async def test_message_over_the_limit_is_the_clients_1009(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # websockets' transport reported a reason of its own ("Exceeded maximum message size:
    # 1000 bytes"), not the one its close frame carried.
    connection, peer = await open_either(nursery, transport, max_message_size=1000)
    await peer.stream.send_all(frame(b"y" * 1001))
    with pytest.raises(TransportClosedError) as info:
        await connection.receive_batch()
    assert (info.value.code, info.value.local_failure) == (1009, True)
    assert info.value.reason == "frame with 1001 bytes exceeds limit of 1000 bytes"
    reply = await close_reply(peer)
    assert (reply.code, reply.reason) == (1009, info.value.reason)


# A frame header that declares more than the limit allows, and the reason of the 1009.
_DECLARED = {
    "one frame": (
        b"\x81\x7f" + struct.pack("!Q", 1 << 62),
        "frame with 4611686018427387904 bytes exceeds limit of 1000 bytes",
    ),
    "a fragment": (
        raw_frame(0x1, b"x" * 600, fin=False) + b"\x80\x7e" + struct.pack("!H", 600),
        "frame with 600 bytes after reading 600 bytes exceeds limit of 1000 bytes",
    ),
}


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize("how", list(_DECLARED))
@bounded
async def test_a_frame_declaring_too_much_fails_from_its_header(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str, how: str
) -> None:
    # trio-websocket counted a message as its payload came: a header declaring 2**62 bytes
    # with nothing behind it waited for payload, and the server's hang-up that followed was
    # a dropped connection, resumed, where the default transport failed it at once (1009).
    header, reason = _DECLARED[how]
    connection, peer = await open_either(nursery, transport, max_message_size=1000)
    await peer.stream.send_all(frame("before") + header)  # and no payload: the server waits
    received, closed = await receive_all(connection)
    assert received == ["before"]
    assert (closed.code, closed.reason, closed.local_failure) == (1009, reason, True)
    reply = await close_reply(peer)
    assert (reply.code, reply.reason) == (1009, reason)


def test_the_message_limit_adds_no_extension_to_the_frame_decoder() -> None:
    # With any extension in its list, wsproto copies each payload through it: installed as
    # one, the limit cost trio-websocket a quarter more CPU for every frame received.
    client = _ClientProtocol(max_message_size=1000)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="h", target="/ws")))
    (request,) = server.events()
    assert isinstance(request, Request)
    client.receive_data(server.send(AcceptConnection()))
    assert [type(event) for event in client.events()] == [AcceptConnection]
    decoder = client.connection._proto._frame_decoder  # type: ignore[union-attr]  # pyright: ignore
    assert decoder.extensions == []
    # And it still fails a message from the header of the frame that passes the limit.
    client.receive_data(
        raw_frame(0x1, b"x" * 600, fin=False)
        + raw_frame(0x9, b"p")
        + b"\x80\x7e"
        + struct.pack("!H", 401)
    )
    events = list(client.events())
    assert [type(event) for event in events[:2]] == [TextMessage, Ping]
    closed = events[-1]
    assert isinstance(closed, CloseConnection)
    assert (closed.code, closed.reason) == (
        1009,
        "frame with 401 bytes after reading 600 bytes exceeds limit of 1000 bytes",
    )


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@bounded
async def test_a_close_in_the_middle_of_a_fragmented_message_keeps_its_code_and_reason(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # websockets takes the close, then fails the message it cut short: the transport saw
    # that failure and reported 1006, the server's code and reason lost.
    connection, peer = await open_either(nursery, transport)
    await peer.stream.send_all(
        raw_frame(0x1, b'{"serverContent"', fin=False) + close_frame(1000, "mid")
    )
    with pytest.raises(TransportClosedError) as info:
        await connection.receive_batch()
    assert (info.value.code, info.value.reason, info.value.local_failure) == (1000, "mid", False)


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize("reads", ["one read", "a read each"])
@bounded
async def test_a_close_between_fragments_is_echoed_and_the_message_dropped(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str, reads: str
) -> None:
    # RFC 6455 5.4 lets control frames, a close too, come between a message's fragments.
    # websockets' transport answered with a close of its own, 1002 "incomplete fragmented
    # message", as if the server had broken the protocol; trio-websocket echoed the code.
    connection, peer = await open_either(nursery, transport)
    fragment = raw_frame(0x1, b'{"serverContent":', fin=False)
    close = close_frame(1011, "mid-fragment")
    if reads == "one read":
        await peer.stream.send_all(frame("before") + fragment + close)
    else:
        await peer.stream.send_all(frame("before") + fragment)
        await trio.sleep(0.1)
        await peer.stream.send_all(close)
    received, closed = await receive_all(connection)
    assert received == ["before"]  # the cut-short message is not delivered
    assert (closed.code, closed.reason, closed.local_failure) == (1011, "mid-fragment", False)
    reply = await close_reply(peer)
    assert (reply.code, reply.reason) == (1011, "mid-fragment")
    await connection.aclose()


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@bounded
async def test_a_close_without_a_code_is_1005_as_a_plain_int(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # websockets gives its `CloseCode` enum: it reached `Closed.code` and the error's.
    connection, peer = await open_either(nursery, transport)
    await peer.stream.send_all(raw_frame(0x8, b""))
    with pytest.raises(TransportClosedError) as info:
        await connection.receive_batch()
    assert type(info.value.code) is int
    assert (info.value.code, info.value.reason, info.value.local_failure) == (1005, "", False)


@pytest.mark.parametrize(
    ("reason", "fitted"),
    [
        ("short", "short"),
        ("x" * 200, "x" * 123),
        ("\u00e9" * 100, "\u00e9" * 61),  # 2 bytes each: 122 (a 62nd would make 124)
        ("\U0001f600" * 40, "\U0001f600" * 30),  # 4 bytes each: 120
        ("ab\ud800", "ab?"),  # a lone surrogate, which UTF-8 cannot carry
    ],
    ids=["fits", "ascii", "2-byte", "4-byte", "surrogate"],
)
def test_a_close_reason_is_cut_to_123_bytes_of_whole_characters(reason: str, fitted: str) -> None:
    assert fit_close_reason(reason) == fitted


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize(
    ("code", "reason", "sent"),
    [
        # A `RemoteProtocolError` quoting the server's emoji: cut to 120 characters, the
        # reason was 480 bytes, and websockets' ProtocolError escaped `open_session`.
        (1007, "bad '" + "\U0001f600" * 40, (1007, "bad '" + "\U0001f600" * 29)),
        (1007, "\ud800", (1007, "?")),
        (1006, "", (1000, "")),  # a code no close frame carries: wsproto sends 1000
    ],
    ids=["emoji", "surrogate", "1006"],
)
@bounded
async def test_aclose_sends_a_close_for_any_code_and_reason(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    transport: str,
    code: int,
    reason: str,
    sent: tuple[int, str],
) -> None:
    connection, peer = await open_either(nursery, transport)
    replies: list[CloseConnection] = []

    async def answer() -> None:
        replies.append(await close_reply(peer))
        await peer.stream.send_all(peer.ws.send(replies[0].response()))

    nursery.start_soon(answer)
    await connection.aclose(code, reason)
    assert [(reply.code, reply.reason) for reply in replies] == [sent]


# --- the client's own close: what comes before the reply, and who reads it ----------------


async def receive_all(connection: Transport) -> tuple[list[bytes | str], TransportClosedError]:
    """Every message up to the close, and the close."""
    received: list[bytes | str] = []
    while True:
        try:
            received.extend(await connection.receive_batch())
        except TransportClosedError as closed:
            return received, closed


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize("receiving", [False, True], ids=["nobody receives", "receiving"])
@bounded
async def test_messages_that_come_before_the_close_reply_stay_readable_after_aclose(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str, receiving: bool
) -> None:
    # trio-websocket's own `aclose` closed its message channel before the close handshake:
    # the messages already read, and those still on their way before the server's reply,
    # were dropped, and a receive raised the close at once.
    connection, peer = await open_either(nursery, transport)
    await peer.stream.send_all(frame("one") + frame("two"))

    async def answer() -> None:
        reply = await close_reply(peer)
        await peer.stream.send_all(frame("three") + peer.ws.send(reply.response()))

    nursery.start_soon(answer)
    outcome: list[tuple[list[bytes | str], TransportClosedError]] = []

    async def receive() -> None:
        outcome.append(await receive_all(connection))

    if receiving:
        nursery.start_soon(receive)
        await trio.testing.wait_all_tasks_blocked()
    await connection.aclose(1000, "bye")
    if not receiving:
        await receive()
    await trio.testing.wait_all_tasks_blocked()
    [(received, closed)] = outcome
    assert received == ["one", "two", "three"]
    assert (closed.code, closed.reason) == (1000, "bye")  # the server's reply, echoing ours


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@bounded
async def test_a_server_close_that_crosses_aclose_keeps_its_code_and_reason(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # trio-websocket's `aclose` took every close for its own 1000: the receiver waiting
    # meanwhile was told 1000, not the 1007 and reason the server closed with.
    reason = "Request contains an invalid argument."
    connection, peer = await open_either(nursery, transport)
    outcome: list[tuple[list[bytes | str], TransportClosedError]] = []

    async def receive() -> None:
        outcome.append(await receive_all(connection))

    async def close_crossing() -> None:
        await close_reply(peer)  # ours arrives; the server's own was already on its way
        await peer.stream.send_all(close_frame(1007, reason))

    nursery.start_soon(receive)
    nursery.start_soon(close_crossing)
    await trio.testing.wait_all_tasks_blocked()
    await connection.aclose()
    await trio.testing.wait_all_tasks_blocked()
    [(received, closed)] = outcome
    assert (received, closed.code, closed.reason) == ([], 1007, reason)


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@bounded
async def test_a_server_close_read_after_our_close_frame_failed_to_write_is_reported(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # The server closed (1008) and went away before our close frame: its write failed, and
    # trio-websocket took the connection for aborted (1006), its reader stopped before the
    # server's close frame, which was waiting to be read.
    from trio_gemini_live.emulator._latency import delayed_stream_pair

    client, server = delayed_stream_pair(0.5, 1 << 16)  # the close frame is in transit
    peer = Peer(server)

    async def connector() -> trio.abc.Stream:
        return client

    nursery.start_soon(peer.accept, b"")
    options = SessionOptions(transport=transport)
    connection = await open_transport(nursery, ENDPOINT, options, connector=connector)
    await trio.sleep(1)  # the 101 has arrived
    await peer.stream.send_all(close_frame(1008, "policy") + frame("never"))
    await peer.stream.aclose()
    await connection.aclose()
    with pytest.raises(TransportClosedError) as info:
        await connection.receive_batch()
    assert (info.value.code, info.value.reason) == (1008, "policy")


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@bounded
async def test_aclose_returns_at_once_once_the_reader_is_cancelled(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    # An outer cancellation cancels trio-websocket's reader task too, and its `aclose`
    # waited for a close reply no task would read: the caller's whole `close_timeout`. It
    # writes the close frame and returns at once now.
    async with trio.open_nursery() as outer:
        async with trio.open_nursery() as inner:
            connection, peer = await open_either(inner, transport)
            inner.cancel_scope.cancel()  # the reader goes (trio-websocket's)
        replies: list[CloseConnection] = []

        async def answer() -> None:
            replies.append(await close_reply(peer))
            with suppress(trio.BrokenResourceError):  # the client did not wait for it
                await peer.stream.send_all(peer.ws.send(replies[0].response()))

        outer.start_soon(answer)
        start = trio.current_time()
        with trio.move_on_after(1):
            await connection.aclose(1000, "bye")
        assert trio.current_time() == start
        with pytest.raises(TransportClosedError) as info:
            await connection.receive_batch()
        assert (info.value.code, info.value.reason) == (1000, "bye")
        await trio.testing.wait_all_tasks_blocked()
        assert [(reply.code, reply.reason) for reply in replies] == [(1000, "bye")]
