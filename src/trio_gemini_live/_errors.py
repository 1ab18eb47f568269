"""The exception hierarchy: one base class, one meaning per class, pickle-safe.

A close from the server always carries its WebSocket code and reason. Messages never contain
secrets: URLs are redacted before they reach an exception (see `_endpoints.redact_url`).
"""

from __future__ import annotations

__all__ = [
    "AbnormalClosureError",
    "CallCancelledError",
    "ConfigurationError",
    "ConnectionClosedError",
    "GeminiLiveError",
    "HeartbeatTimeoutError",
    "InternalServerError",
    "InvalidArgumentError",
    "LocalProtocolError",
    "PolicyViolationError",
    "QuotaExceededError",
    "ReconnectFailedError",
    "RemoteProtocolError",
    "SessionClosedError",
    "SetupTimeoutError",
    "TransportError",
    "close_error_for",
    "excerpt",
    "local_failure_error",
]


class GeminiLiveError(Exception):
    """Base class of this library's own errors.

    The few standard exceptions it raises on purpose are listed in the API reference
    (docs/api.md, Errors), such as `trio.EndOfChannel` from `LiveSession.receive()`
    after a normal end (as from any trio channel) and the seed facade's `RuntimeError`.
    """


class ConfigurationError(GeminiLiveError, ValueError):
    """The client was configured wrongly (missing key, bad model name, bad URL, bad option)."""


class LocalProtocolError(GeminiLiveError):
    """Our side tried something the protocol forbids (e.g. a second `setup`, send after close)."""


class RemoteProtocolError(GeminiLiveError):
    """The server sent something that cannot be understood; the session ends (not resumed).

    Bad JSON or wrong types (the client closes the connection with 1007), or a server that
    breaks the WebSocket protocol: the client closes with the code RFC 6455 gives the fault
    (1002; 1007 for text or a close reason that is not UTF-8; 1009 for a message over
    `SessionOptions.max_message_size`), which `Closed` carries, and the message names it.
    """


class TransportError(GeminiLiveError):
    """The connection could not be opened or failed below the WebSocket layer."""


class SetupTimeoutError(GeminiLiveError, TimeoutError):
    """No `setupComplete` arrived within the configured bound."""


class HeartbeatTimeoutError(GeminiLiveError, TimeoutError):
    """The peer sent nothing (no frame, no pong) for longer than the configured silence limit."""


class SessionClosedError(LocalProtocolError):
    """The session was already closed (by this side) when an operation was attempted."""


class CallCancelledError(LocalProtocolError):
    """The tool call being answered was cancelled: nothing waits for its result.

    A `ToolCallCancellation` event reports the cancellation (maybe not read yet): the
    server's (the user barged in while the tool ran), a move to a new connection's, or the
    turn's that ended before the call's arguments were whole. A tool that finishes after
    that races no programming error: catch this class to drop its result, and let the
    other `LocalProtocolError`s (a call answered twice, an unknown id) surface.

    Attributes:
        call_id: the id of the cancelled call (`""` for a call that came without one).
        reason: as `ToolCallCancellation.reason`: None for the server's cancellation,
            `"reconnect"` or `"incomplete"`.
    """

    def __init__(self, message: str, call_id: str, reason: str | None = None) -> None:
        super().__init__(message, call_id, reason)
        self.message = message
        self.call_id = call_id
        self.reason = reason

    def __str__(self) -> str:
        return self.message


class ConnectionClosedError(GeminiLiveError):
    """The server closed the WebSocket with a code and reason other than a normal close.

    Attributes:
        code: the WebSocket close code (1006 when no close frame was received).
        reason: the close reason as sent by the server (at most 123 bytes).
        hint: what this library suspects caused the close, or "". Set when the server
            refuses a setup with 1007, whose reason rarely names the culprit: it names what
            in the setup the server may have refused, e.g. `the setup may be why:
            generationConfig.responseModalities[0] is 'AUIDO', not one of AUDIO, IMAGE,
            TEXT`. The message ends with it in parentheses; `code` and `reason` stay exactly
            what the server sent. Pass it by keyword.
    """

    def __init__(self, code: int, reason: str = "", hint: str = "") -> None:
        # The hint joins `args` only when there is one: pickling rebuilds the error from
        # `args`, and errors without a hint keep the `args` (and repr) they always had.
        if hint:
            super().__init__(code, reason, hint)
        else:
            super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        text = f"connection closed by the server: {self.code} {self.reason}".rstrip()
        return f"{text} ({self.hint})" if self.hint else text


class InvalidArgumentError(ConnectionClosedError):
    """Close 1007: the request or configuration was rejected (bad key, field, modality...)."""


class PolicyViolationError(ConnectionClosedError):
    """Close 1008: not found / not allowed (unknown model), or the routine close after goAway."""


class InternalServerError(ConnectionClosedError):
    """Close 1011 (other than quota): a server-side failure; usually worth resuming."""


class QuotaExceededError(ConnectionClosedError):
    """Close 1011 whose reason says the quota is exhausted: retrying will not help."""


class AbnormalClosureError(ConnectionClosedError):
    """Close 1006: the connection dropped without a close frame."""


class ReconnectFailedError(GeminiLiveError):
    """Resuming the session failed within the configured attempts and time budget.

    Attributes:
        last_error: the error of the last attempt (e.g. the typed close error of a server
            that refused the resume), or None.
    """

    def __init__(self, message: str, last_error: GeminiLiveError | None = None) -> None:
        super().__init__(message, last_error)
        self.message = message
        self.last_error = last_error

    def __str__(self) -> str:
        return self.message


_QUOTA_MARKERS = ("quota", "exhausted", "resource_exhausted", "too many times")


def is_quota_reason(reason: str) -> bool:
    """Whether a close reason says a quota or an ephemeral token's uses ran out.

    Google sends those with 1011, the code of its transient failures too: only the reason
    tells that a retry cannot succeed.
    """
    lowered = reason.lower()
    return any(marker in lowered for marker in _QUOTA_MARKERS)


def close_error_for(code: int, reason: str, *, hint: str = "") -> ConnectionClosedError:
    """Return the typed exception for a server close code and reason (and our `hint`)."""
    if code == 1007:
        return InvalidArgumentError(code, reason, hint=hint)
    if code == 1008:
        return PolicyViolationError(code, reason, hint=hint)
    if code == 1011:
        if is_quota_reason(reason):
            return QuotaExceededError(code, reason, hint=hint)
        return InternalServerError(code, reason, hint=hint)
    if code == 1006:
        return AbnormalClosureError(code, reason, hint=hint)
    return ConnectionClosedError(code, reason, hint=hint)


def excerpt(text: str, limit: int = 60) -> str:
    """The repr of a string for a message or a log line, cut short past `limit` characters.

    For strings the server (or a setup) chose: a broken server's id or path may be megabytes,
    which a message quoting it whole would copy into every log line and error.
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def local_failure_error(code: int, reason: str) -> RemoteProtocolError:
    """Return the error for a connection the client failed because of what the server sent.

    `code` and `reason` are those of the client's own close frame: 1009 for a message over
    `SessionOptions.max_message_size`; otherwise the server broke the WebSocket protocol
    (1002, 1007 for text or a close reason that is not UTF-8) and `reason` says how.
    """
    if code == 1009:
        problem = "a server message is larger than SessionOptions.max_message_size"
    else:
        problem = "the server broke the WebSocket protocol"
    said = f" ({reason})" if reason else ""
    return RemoteProtocolError(f"{problem}{said}; the client closed the connection with {code}")
