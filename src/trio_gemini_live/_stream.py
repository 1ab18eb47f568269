"""The byte stream under a WebSocket: TCP, TLS (verified, handshake up front) or a connector.

Shared by every transport, so that where to connect, how TLS is checked and how OS and TLS
failures read to the user are decided once.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import trio

from ._endpoints import Endpoint
from ._errors import ConfigurationError, TransportError

__all__ = ["Connector", "StreamTarget", "connect_errors", "open_stream", "stream_target"]

log = logging.getLogger("trio_gemini_live.transport")

Connector = Callable[[], Awaitable[trio.abc.Stream]]
"""An async callable returning a connected byte stream (for tests: an in-memory stream)."""


@dataclass(frozen=True)
class StreamTarget:
    """Where an endpoint's WebSocket lives: host, port, TLS, and the request target."""

    host: str
    port: int
    secure: bool
    resource: str
    netloc: str


def stream_target(endpoint: Endpoint) -> StreamTarget:
    """Split an endpoint URL into what opening the stream and the upgrade need."""
    parts = urlsplit(endpoint.url)
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
        return await connector()
    if not target.secure:
        if ssl_context is not None:
            raise ConfigurationError(
                f"an SSL context was given but {endpoint.display_url} is a plain ws:// URL"
            )
        return await trio.open_tcp_stream(target.host, target.port)
    context = ssl_context or ssl.create_default_context()
    if context.verify_mode is ssl.CERT_NONE:
        log.warning("TLS certificate verification is disabled for %s", endpoint.display_url)
    stream = await trio.open_ssl_over_tcp_stream(
        target.host, target.port, ssl_context=context, https_compatible=True
    )
    # Handshake now, so that a certificate problem is reported here, clearly.
    await stream.do_handshake()
    return stream
