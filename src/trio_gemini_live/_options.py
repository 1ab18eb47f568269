"""Client-side behaviour knobs of a session (not sent to the server).

Every internal wait in the session is bounded by one of these numbers.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import Literal

from ._errors import ConfigurationError
from ._resume import ReconnectPolicy, check_options

TRANSPORTS: tuple[Literal["trio-websocket", "websockets"], ...] = ("trio-websocket", "websockets")
"""The values `SessionOptions.transport` takes (its annotation's `Literal`, checked at run time)."""

_MAX_READ = 16 * 1024 * 1024

__all__ = ["TRANSPORTS", "SessionOptions"]


@dataclass(frozen=True, kw_only=True)
class SessionOptions:
    """How the client runs a session: timeouts, heartbeat, buffer bounds, TLS.

    Attributes:
        connect_timeout: seconds for the name lookup, TCP, TLS and the WebSocket upgrade.
        setup_timeout: seconds from starting to write `setup` to `setupComplete`.
        ping_interval: seconds of inbound silence before the heartbeat sends a ping.
        silence_limit: seconds with nothing from the server (no frame, no pong, no bytes
            of a frame still arriving) before the peer is declared dead (while our ping
            waits behind a large frame the server is reading, each piece of it taken
            counts as a frame); also how long a socket write may make no progress
            (a peer that stopped reading). Google's pongs have been seen 8-30 s late, so the
            default is well above that.
        event_buffer: events buffered for a slow reader before the receiver waits
            (backpressure: nothing is dropped).
        send_buffer: client messages queued for the sender before `send_*` waits.
        close_timeout: seconds to wait, when leaving the session, for the messages still
            queued to be written, and as long again for the close handshake (and, during
            a move, as long again for the new connection to open first).
        max_message_size: the largest server message accepted, in bytes.
        receive_buffer_size: bytes read from the socket at a time (at most 16 MiB).
        ssl_context: TLS context for `wss://`; verification stays on unless you change it.
        ca_file: a CA bundle to trust instead of the system one (e.g. the emulator's).
        reconnect: when and how to resume after `goAway` or a retryable drop.
        transport: the WebSocket implementation: `"websockets"` (the default: websockets'
            sans-IO protocol driven by the receiver task) or `"trio-websocket"`. Typed as
            that `Literal`, so a type checker catches a typo; another value raises
            `ConfigurationError` at run time.
    """

    connect_timeout: float = 10.0
    setup_timeout: float = 10.0
    ping_interval: float = 10.0
    silence_limit: float = 45.0
    event_buffer: int = 256
    send_buffer: int = 64
    close_timeout: float = 1.0
    max_message_size: int = 16 * 1024 * 1024
    receive_buffer_size: int = 64 * 1024
    ssl_context: ssl.SSLContext | None = None
    ca_file: str | os.PathLike[str] | None = None
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    transport: Literal["websockets", "trio-websocket"] = "websockets"

    def __post_init__(self) -> None:
        check_options(
            self,
            integers=("event_buffer", "send_buffer", "max_message_size", "receive_buffer_size"),
            numbers=(
                "connect_timeout",
                "setup_timeout",
                "ping_interval",
                "silence_limit",
                "close_timeout",
            ),
            others={
                "reconnect": (ReconnectPolicy,),
                "ssl_context": (ssl.SSLContext, type(None)),
                "ca_file": (str, os.PathLike, type(None)),
                "transport": (str,),
            },
        )
        for name in ("connect_timeout", "setup_timeout", "ping_interval", "silence_limit"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"SessionOptions.{name} must be > 0")
        if self.close_timeout < 0:
            raise ConfigurationError("SessionOptions.close_timeout must be >= 0")
        if self.max_message_size < 1 or self.receive_buffer_size < 1:
            name = "max_message_size" if self.max_message_size < 1 else "receive_buffer_size"
            raise ConfigurationError(f"SessionOptions.{name} must be at least 1")
        if self.receive_buffer_size > _MAX_READ:
            # Each read allocates this much: a typo of a few digits would take the memory
            # of the machine (or overflow) at connect.
            raise ConfigurationError(
                f"SessionOptions.receive_buffer_size must be at most {_MAX_READ} (16 MiB), "
                f"got {self.receive_buffer_size}"
            )
        if self.silence_limit <= self.ping_interval:
            raise ConfigurationError(
                "SessionOptions.silence_limit must be longer than ping_interval"
            )
        if self.event_buffer < 1 or self.send_buffer < 1:
            raise ConfigurationError("SessionOptions buffers must hold at least one item")
        if self.ssl_context is not None and self.ca_file is not None:
            raise ConfigurationError("give either ssl_context or ca_file, not both")
        if self.transport not in TRANSPORTS:
            raise ConfigurationError(
                f"SessionOptions.transport: unknown transport {self.transport!r}; "
                f"expected one of {', '.join(TRANSPORTS)}"
            )

    def tls_context(self) -> ssl.SSLContext | None:
        """The SSL context to use for `wss://` (None: the system default, verified).

        Raises:
            ConfigurationError: `ca_file` cannot be read or holds no PEM certificate.
        """
        if self.ssl_context is not None:
            return self.ssl_context
        if self.ca_file is not None:
            try:
                return ssl.create_default_context(cafile=self.ca_file)
            # ssl.SSLError is an OSError; a path with a NUL or a lone surrogate (which no
            # file has) raises ValueError (UnicodeEncodeError is one).
            except (OSError, ValueError) as exc:
                # Said here, naming the option and the file: the bare error reached the
                # caller of `open_session` as "[Errno 2] No such file or directory".
                path = os.fspath(self.ca_file)
                reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
                raise ConfigurationError(
                    f"SessionOptions.ca_file: cannot load the CA bundle {path!r}: {reason}"
                ) from None
        return None
