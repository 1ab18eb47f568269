"""A sans-IO protocol past its handshake, and a decode's outcome: for tests of server frames."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trio_gemini_live._codec import decode_server
from trio_gemini_live._errors import RemoteProtocolError
from trio_gemini_live._protocol import LiveProtocol, SessionState
from trio_gemini_live._skeleton import Remembered
from trio_gemini_live._wire import Setup

Outcome = tuple[str, Any]
"""("ok", the message) or ("error", the error's text): a decode's result, comparable."""


def opened_protocol(setup: Setup | None = None) -> LiveProtocol:
    """A `LiveProtocol` that sent `setup` and received `setupComplete`: it takes any frame.

    Before `setupComplete` (the server's first message) any other frame is refused.
    """
    protocol = LiveProtocol()
    protocol.start(setup or Setup(model="models/m"))
    protocol.receive_frame(b'{"setupComplete": {}}')
    assert protocol.state is SessionState.OPEN
    return protocol


def outcome(frame: bytes) -> Outcome:
    """What `decode_server` gives for `frame`: its message, or its error's text."""
    try:
        return ("ok", decode_server(frame))
    except RemoteProtocolError as exc:
        return ("error", str(exc))


@contextmanager
def forgotten(remembered: Remembered[Any]) -> Iterator[None]:
    """Start with no skeleton remembered; what is learned inside is dropped at the end.

    (Not `mock.patch.object`: compiled, the attribute cannot be deleted, which it does.)
    """
    saved = remembered.skeletons
    remembered.skeletons = ()
    try:
        yield
    finally:
        remembered.skeletons = saved
