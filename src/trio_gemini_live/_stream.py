"""The byte stream under a WebSocket: TCP, TLS (verified, handshake up front) or a connector.

Shared by every transport, so that where to connect, how TLS is checked, how OS and TLS
failures read to the user and how long writes are metered (`UplinkMeter`) are decided once.
"""

from __future__ import annotations

import logging
import math
import re
import ssl
import weakref
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Final, cast
from urllib.parse import urlsplit

import trio

from ._endpoints import Endpoint, without_fragment
from ._errors import ConfigurationError, TransportError
from ._send_queue import SendQueue

__all__ = [
    "LONG_WRITE",
    "PIECE",
    "STREAM_ERRORS",
    "Connector",
    "StreamTarget",
    "UplinkMeter",
    "cannot_be_http",
    "close_forcefully",
    "connect_errors",
    "not_http_answer",
    "open_stream",
    "rejected_upgrade",
    "stream_target",
]

log = logging.getLogger("trio_gemini_live.transport")
_WARNED_UNVERIFIED: weakref.WeakSet[ssl.SSLContext] = weakref.WeakSet()
"""The SSL contexts without certificate verification warned of already."""

Connector = Callable[[], Awaitable[trio.abc.Stream]]
"""An async callable returning a connected trio byte stream (a `trio.abc.Stream`).

For example `trio.open_tcp_stream(host, port)`, or for tests an in-memory stream
(`Emulator.memory_connector()`). An anyio stream (`anyio.connect_tcp`) is not one: it is
refused with a `ConfigurationError`.
"""

_STREAM_METHODS: Final = ("send_all", "receive_some", "wait_send_all_might_not_block", "aclose")
"""What both transports call on a connector's stream: `trio.abc.Stream`'s methods."""

_CLOSE_REFUSED_WAIT: Final = 1.0
"""How long a refused connector result may take to close."""

LONG_WRITE: Final = 64 * 1024
"""A write longer than this goes to the stream in `PIECE`s, each one noted (`UplinkMeter`).

Above the largest batch of real-time audio the sender writes at once (64 frames of 20 ms,
about 58 kB), so that audio never pays for the metering.
"""

PIECE: Final = 16 * 1024
"""The piece of a long write: one TLS record. At 2 kB/s one is taken every 8 s, well within
`SessionOptions.silence_limit`."""

STREAM_ERRORS: Final = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)
"""What a stream raises once it, or the peer, is gone."""


async def close_forcefully(stream: trio.abc.AsyncResource) -> None:
    """Close `stream` at once, shielded from cancellation; a stream already gone is fine.

    Forcefully: a stream's own goodbye (a TLS close_notify) could wait on a peer that
    reads nothing.
    """
    with trio.CancelScope(shield=True), suppress(*STREAM_ERRORS):
        await trio.aclose_forcefully(stream)


class UplinkMeter:
    """How far a transport's long writes have got, for the heartbeat.

    A write is one `send_all`, and over a slow uplink a large frame (an image, a long setup)
    takes long in one piece: 150 kB over 2 kB/s is more than a minute, progressing all
    along. A transport hands a write longer than `LONG_WRITE` to `send_all` here, which
    gives it to the stream `PIECE` bytes at a time and notes when the stream last took one
    (`moved_at`): a slow write is then told from a stuck one. Shorter writes go straight to
    the stream; the transports test their length and nothing else.

    Both transports write one write at a time, in the order asked, so our ping waits behind
    the long write under way when it is sent (`ping_sent`), and the server cannot answer a
    ping it has not read. Each piece taken while it waits is the server reading what stands
    before the ping: `read_at` is the time of the latest.

    Once written, the ping may still wait in the kernel's send buffer, behind the tail of
    that write or a frame the buffer took whole: with the socket's `send_queue` (TCP, on
    Linux), the heartbeat's `check_queue` counts that wait too.
    """

    __slots__ = (
        "_ahead",
        "_ping_waits",
        "_queue",
        "_queued",
        "_writing",
        "moved_at",
        "read_at",
    )

    def __init__(self, send_queue: SendQueue | None = None) -> None:
        """`send_queue`: reads the socket's unacknowledged bytes (see `send_queue_reader`)."""
        self.moved_at = -math.inf  # when the stream last took a piece of a long write
        self.read_at = -math.inf
        self._writing = False
        self._ping_waits = False
        self._queue = send_queue
        self._queued: int | None = None  # the queue at the previous check since our ping
        self._ahead: int | None = None  # at most this much of it is our ping or before it

    def ping_sent(self) -> None:
        """Note that our ping is queued now: behind the long write under way, if any."""
        self._ping_waits = self._writing
        self._queued = None
        self._ahead = None

    def check_queue(self) -> None:
        """At a heartbeat check while our ping is unanswered: is the kernel still sending it?

        The send queue holds what the peer has not acknowledged, in order. One that shrank
        since the previous check is the peer taking our bytes; while our ping is among them
        it is the server reading what stands before the ping, as a piece is (`read_at`).
        How much of the queue that is: at most what it held at the first check after the
        ping left our writes (a short write it still waited behind then is not counted:
        the limit covers it, as it did the whole queue before), less every shrink since,
        and never more than the queue. Frames written after the ping refill the queue but
        never this count, so a server that reads everything and answers nothing gets no
        credit once the peer has taken that much, or the queue was seen empty: it is found
        dead `silence_limit` after that check, as before, however much more we write.
        """
        if self._queue is None:
            return
        queued = self._queue()
        if queued is None:
            return  # the socket is closed: the receiver reports it
        previous, self._queued = self._queued, queued
        if self._ping_waits:
            return  # behind a long write still: its pieces vouch for the server
        # None: no bound yet. At the previous check, if any, the ping waited behind a long
        # write, after all that was queued then.
        ahead = self._ahead
        if previous is not None and queued < previous and (ahead is None or ahead > 0):
            self.read_at = trio.current_time()
            if ahead is not None:
                ahead -= previous - queued
        self._ahead = queued if ahead is None else max(0, min(ahead, queued))

    async def send_all(
        self, stream: trio.abc.SendStream, data: bytes | bytearray | memoryview
    ) -> None:
        """Write `data` (longer than `LONG_WRITE`) to `stream`, a piece at a time."""
        self._writing = True
        try:
            view = memoryview(data)
            for start in range(0, len(view), PIECE):
                await stream.send_all(view[start : start + PIECE])
                self.moved_at = now = trio.current_time()
                if self._ping_waits:
                    self.read_at = now
        finally:
            # The ping, if it waited, is written next: from now on it is on its way.
            self._writing = False
            self._ping_waits = False


@dataclass(frozen=True)
class StreamTarget:
    """Where an endpoint's WebSocket lives: host, port, TLS, and the request target."""

    host: str
    port: int
    secure: bool
    resource: str
    netloc: str


_FIELD_VALUE = re.compile(r"[\x20-\x7e\t]*")
"""What an HTTP header value may hold here: visible ASCII, spaces and tabs (RFC 9110 5.5)."""


def stream_target(endpoint: Endpoint) -> StreamTarget:
    """Split an endpoint URL into what opening the stream and the upgrade need.

    Raises:
        TransportError: the URL has a `#fragment`, or a header value holds a control or
            non-ASCII character (an `Endpoint` built by hand: the builders refuse both).
    """
    parts = urlsplit(endpoint.url)
    if parts.fragment:
        # A WebSocket URI has none (RFC 6455 section 3). websockets refuses one, and
        # trio-websocket went on without it: both transports refuse it, here.
        raise TransportError(
            f"invalid WebSocket URL {without_fragment(parts)}: a WebSocket URL cannot have "
            "a #fragment (RFC 6455 section 3)"
        )
    for name, value in endpoint.headers:
        if _FIELD_VALUE.fullmatch(value) is None:
            # The transports' HTTP libraries differ (websockets refuses such a value, and
            # quotes it in its error, an API key or token; an older one sent it as is): an
            # `Endpoint` built by hand skips the builders' checks, so it is checked here.
            raise TransportError(
                f"the {name!r} header's value cannot be sent in an HTTP header (a control or "
                "non-ASCII character?); the value is not shown"
            )
    host = parts.hostname or ""
    secure = parts.scheme == "wss"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    shown = f"[{host}]" if ":" in host else host  # the Host header brackets IPv6 (RFC 3986)
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    return StreamTarget(host, parts.port or (443 if secure else 80), secure, resource, netloc)


@contextmanager
def connect_errors(endpoint: Endpoint) -> Generator[None]:
    """Translate OS and TLS errors while connecting into `TransportError` (URL redacted)."""
    where = endpoint.display_url
    try:
        yield
    except ssl.SSLError as exc:
        raise TransportError(f"TLS error connecting to {where}: {_tls_detail(exc)}") from None
    except OSError as exc:
        raise TransportError(f"cannot connect to {where}: {exc.strerror or exc}") from None
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLError):  # trio wraps TLS failures
            raise TransportError(f"TLS error connecting to {where}: {_tls_detail(cause)}") from None
        raise TransportError(f"connection to {where} broke during the handshake: {exc}") from None


def _tls_detail(error: ssl.SSLError) -> str:
    return getattr(error, "verify_message", None) or error.reason or str(error)


async def open_stream(
    endpoint: Endpoint,
    target: StreamTarget,
    *,
    ssl_context: ssl.SSLContext | None,
    connector: Connector | None,
) -> trio.abc.Stream:
    """Open the stream (call inside `connect_errors`); TLS is verified unless told otherwise."""
    if connector is not None:
        return await _connected(connector)
    if not target.secure:
        if ssl_context is not None:
            raise ConfigurationError(
                f"an SSL context was given but {endpoint.display_url} is a plain ws:// URL"
            )
        return await trio.open_tcp_stream(target.host, target.port)
    context = ssl_context or ssl.create_default_context()
    if context.verify_mode is ssl.CERT_NONE and context not in _WARNED_UNVERIFIED:
        # Once per context, not at every connection of a session (each resume opens one).
        _WARNED_UNVERIFIED.add(context)
        log.warning("TLS certificate verification is disabled for %s", endpoint.display_url)
    stream = await trio.open_ssl_over_tcp_stream(
        target.host, target.port, ssl_context=context, https_compatible=True
    )
    # Handshake now, so that a certificate problem is reported here, clearly.
    try:
        await stream.do_handshake()
    except BaseException:
        # A refused certificate, or a handshake cut short by `connect_timeout`: the caller
        # never gets the stream, so its socket is closed here (it was left to the GC).
        await trio.aclose_forcefully(stream)
        raise
    return stream


async def _connected(connector: Connector) -> trio.abc.Stream:
    """The connector's stream, refused with a `ConfigurationError` if it is not a trio one.

    Else the first write failed deep in the handshake with an `AttributeError` (an anyio
    stream has `send`, not `send_all`).
    """
    stream = await connector()
    missing = [name for name in _STREAM_METHODS if not callable(getattr(stream, name, None))]
    if not missing:
        return stream
    kind = type(stream)
    # Closed here: the caller never gets it (an anyio socket left open warns at collection).
    aclose = getattr(stream, "aclose", None)
    if callable(aclose):
        deadline = trio.current_time() + _CLOSE_REFUSED_WAIT
        with trio.CancelScope(deadline=deadline, shield=True), suppress(Exception):
            await cast("Callable[[], Awaitable[object]]", aclose)()
    hint = (
        "; an anyio stream cannot be used: open the connection with trio "
        "(trio.open_tcp_stream, trio.open_ssl_over_tcp_stream), which runs on anyio's trio "
        "backend too"
        if kind.__module__.partition(".")[0] == "anyio"
        else ""
    )
    raise ConfigurationError(
        f"the connector returned {kind.__module__}.{kind.__qualname__}, not a trio stream "
        f"(trio.abc.Stream): it has no {', '.join(missing)}{hint}"
    )


_HTTP_VERSION: Final = b"HTTP/"  # how every HTTP/1.x status line begins


def cannot_be_http(head: bytes | bytearray) -> bool:
    """Whether an answer to the upgrade that begins with `head` cannot be an HTTP response.

    Told from the first bytes: a server of another protocol on that port (SSH, SMTP, a
    database) greets with a line and no blank one, and waiting for the end of a response
    head that never comes let `connect_timeout` run out, reported as a slow connect.
    """
    return not _HTTP_VERSION.startswith(head[: len(_HTTP_VERSION)])


def not_http_answer(where: str) -> TransportError:
    """The error for an upgrade answered with bytes that are no HTTP (`where` is redacted).

    The bytes themselves are not quoted: a server can echo the request, URL and key.
    """
    return TransportError(
        f"the server at {where} answered the WebSocket upgrade with something that is not "
        "an HTTP response: is that a WebSocket server's address and port?"
    )


def rejected_upgrade(where: str, status: int) -> TransportError:
    """The error for an upgrade the server answered with HTTP `status` (`where` is redacted).

    A 404 for a URL without a path gets a hint: `url_endpoint` takes the URL as given, and
    the likely slip is a base URL (the emulator's `url` rather than its `endpoint_url()`).
    """
    message = f"the server rejected the WebSocket upgrade to {where} with HTTP {status}"
    if status == 404 and urlsplit(where).path in ("", "/"):
        message += (
            ": the URL has no path; url_endpoint uses it as given (an emulator's is "
            "emulator.endpoint_url(); gemini_endpoint(key, base_url=...) adds the Live API's)"
        )
    return TransportError(message)
