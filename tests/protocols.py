"""A sans-IO protocol past its handshake, for tests that feed it server frames."""

from __future__ import annotations

from trio_gemini_live._protocol import LiveProtocol, SessionState
from trio_gemini_live._wire import Setup


def opened_protocol(setup: Setup | None = None) -> LiveProtocol:
    """A `LiveProtocol` that sent `setup` and received `setupComplete`: it takes any frame.

    Before `setupComplete` (the server's first message) any other frame is refused.
    """
    protocol = LiveProtocol()
    protocol.start(setup or Setup(model="models/m"))
    protocol.receive_frame(b'{"setupComplete": {}}')
    assert protocol.state is SessionState.OPEN
    return protocol
