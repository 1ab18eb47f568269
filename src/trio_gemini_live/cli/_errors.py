"""Turning failures into one clear line for the terminal, and the CLI's exit codes.

Every exception the commands can raise ends here; nothing reaches the user as a traceback.
Messages come from our typed exceptions, which never contain secrets.
"""

from __future__ import annotations

import trio

from .._errors import (
    ConfigurationError,
    ConnectionClosedError,
    GeminiLiveError,
    HeartbeatTimeoutError,
    RemoteProtocolError,
    SetupTimeoutError,
    TransportError,
)
from .._groups import leaf_exceptions

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "describe_error",
    "unwrap_group",
]

EXIT_OK = 0
"""Success."""
EXIT_FAILURE = 1
"""The session failed: no connection, closed by the server, timeout."""
EXIT_USAGE = 2
"""Bad arguments or configuration: missing key, unreadable input file (argparse uses 2 too)."""
EXIT_INTERRUPTED = 130
"""Stopped with Ctrl-C."""

_CLOSE_MEANINGS = {
    1000: "normal close",
    1001: "going away",
    1006: "connection dropped without a close frame",
    1007: "request rejected",
    1008: "not found or not allowed",
    1011: "server error",
    1012: "service restart",
    1013: "try again later",
}


class CliError(Exception):
    """A failure the CLI itself detected, with the exit code to use.

    Attributes:
        message: one line for the user.
        exit_code: the process exit status.
    """

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def unwrap_group(exc: BaseException) -> BaseException:
    """The most meaningful exception inside (possibly nested) exception groups.

    Our own errors win over cancellations and secondary failures that a group may carry.
    """
    leaves = leaf_exceptions(exc)
    for preferred in (KeyboardInterrupt, CliError, GeminiLiveError, trio.TooSlowError):
        for leaf in leaves:
            if isinstance(leaf, preferred):
                return leaf
    return leaves[0] if leaves else exc


def describe_error(exc: BaseException) -> tuple[str, int]:
    """One line describing `exc` and the exit code it maps to."""
    if isinstance(exc, CliError):
        return exc.message, exc.exit_code
    if isinstance(exc, ConnectionClosedError):
        meaning = _CLOSE_MEANINGS.get(exc.code, "closed")
        reason = exc.reason.strip() or "no reason given"
        return (
            f"the server closed the connection: code {exc.code} ({meaning}): {reason}",
            EXIT_FAILURE,
        )
    if isinstance(exc, TransportError):
        return f"{exc} (check the network connection and the URL)", EXIT_FAILURE
    if isinstance(exc, SetupTimeoutError | HeartbeatTimeoutError):
        return f"{exc} (the server stopped answering)", EXIT_FAILURE
    if isinstance(exc, RemoteProtocolError):
        return f"the server sent something unexpected: {exc}", EXIT_FAILURE
    if isinstance(exc, ConfigurationError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, GeminiLiveError):
        return str(exc), EXIT_FAILURE
    if isinstance(exc, trio.TooSlowError):
        return "timed out waiting for the server", EXIT_FAILURE
    return f"internal error: {type(exc).__name__}: {exc} (run with -v for details)", EXIT_FAILURE
