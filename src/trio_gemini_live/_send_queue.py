"""The kernel's send queue of a TCP socket: bytes written that the peer has not acknowledged.

A write ends once the operating system has taken its bytes, not once the peer has: over a
slow uplink the socket's send buffer can hold a minute of data, and our ping behind it. What
is still queued can be read on Linux (`SIOCOUTQ`, the same request as `TIOCOUTQ`); the
heartbeat reads it only while its ping is unanswered (`UplinkMeter.check_queue`), never on
the paths that carry audio.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from typing import cast

import trio

__all__ = ["SendQueue", "send_queue_reader"]

SendQueue = Callable[[], int | None]
"""Returns the bytes in a socket's send queue not yet acknowledged by the peer (None: unknown)."""


def send_queue_reader(stream: trio.abc.Stream) -> SendQueue | None:
    """A reader of `stream`'s send queue, or None where there is none to read.

    Only a TCP `trio.SocketStream`, or TLS over one (whose own buffer, one record at most,
    is empty once a write has ended), and only on Linux.
    """
    if sys.platform != "linux":
        return None
    if isinstance(stream, trio.SSLStream):
        stream = cast("trio.SSLStream[trio.abc.Stream]", stream).transport_stream
    if not isinstance(stream, trio.SocketStream):
        return None
    sock = stream.socket
    # On a Unix socket the same request counts something else (bytes not yet read).
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return None

    import fcntl  # not on Windows
    import termios

    request = termios.TIOCOUTQ  # = SIOCOUTQ on Linux
    empty = bytes(4)

    def queued() -> int | None:
        # The descriptor is asked for each time: -1 once the socket is closed, never one
        # that a newer socket has reused.
        fd = sock.fileno()
        if fd < 0:
            return None
        try:
            answer = fcntl.ioctl(fd, request, empty)
        except OSError:
            return None
        return int.from_bytes(answer, sys.byteorder, signed=True)

    return queued
