"""Fault descriptions for the emulator, from code (`Fault(...)`) or the CLI (`--fault SPEC`).

CLI syntax: `KIND[:ARG[:ARG]][@TRIGGER[,TRIGGER...]]`, e.g. `close:1011:Internal error
encountered.@frames=5`, `reset@after=2.5`, `blackhole@received=3,conn=1`, `pong-delay:15`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar, get_args

from ._config import sendable_close_code

__all__ = ["Fault", "FaultKind"]

FaultKind = Literal[
    "close",
    "reset",
    "blackhole",
    "pong-delay",
    "late-usage",
    "duplicate-transcriptions",
    "empty-frames",
    "slow-read",
    "stall",
    "stall-after-interrupt",
]
"""The kinds of `Fault` (see `Fault` for what each one does)."""
_KINDS: tuple[str, ...] = get_args(FaultKind)
_TRIGGERED = ("close", "reset", "blackhole")
_N = TypeVar("_N", int, float)


def _number(convert: Callable[[str], _N], text: str, what: str, spec: str) -> _N:
    """`text` as a number for a fault spec, or an error naming what it should have been."""
    try:
        return convert(text)
    except ValueError:
        kind = "a whole number" if convert is int else "a number"
        raise ValueError(f"{what} must be {kind}, not {text!r}, in {spec!r}") from None


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One injected misbehaviour.

    Kinds:
        close: close with `code`/`reason` (default 1011 `Internal error encountered.`).
        reset: drop TCP abruptly (RST, no close frame; the client sees 1006).
        blackhole: stay connected but send nothing and answer no pings.
        pong-delay: answer each ping `seconds` late.
        late-usage: send `usageMetadata` alone, `seconds` after `turnComplete`.
        duplicate-transcriptions: send every transcription frame twice.
        empty-frames: send a bare `{"serverContent": {}}` before each `turnComplete`.
        slow-read: read the socket at most `read_bytes` at a time, `seconds` apart.
        stall: after the input transcription, never answer the turn (still pongs).
        stall-after-interrupt: after the first `interrupted`, send nothing more for the
            session (no `turnComplete`, no later turns; still pongs, and `goAway` and the
            deadline close still come, as they belong to the connection, not the model).

    `close`, `reset` and `blackhole` fire when a trigger is met: `after_frames` server
    frames sent, `after_received` client frames received, or `after_seconds` since the
    upgrade; with none given they fire right after `setupComplete`. `connection` limits the
    fault to one connection of the emulator, by its `EmulatorConnection.number` (1-based,
    in the order connections were upgraded, as `Emulator.wait_for_connection` takes it:
    a request refused before the upgrade, a 404 health probe say, has none); `None`
    applies it to all.
    """

    kind: FaultKind
    code: int = 1011
    reason: str = "Internal error encountered."
    seconds: float = 0.0
    read_bytes: int = 1024
    after_frames: int | None = None
    after_received: int | None = None
    after_seconds: float | None = None
    connection: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {_KINDS}")
        # `not x >= 0` also refuses NaN, which would make a sleep raise mid-session.
        for name in ("seconds", "after_seconds"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"fault {self.kind!r}: {name} must be >= 0, got {value}")
        for name in ("after_frames", "after_received"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"fault {self.kind!r}: {name} must be >= 0, got {value}")
        if self.connection is not None and self.connection < 1:  # numbered from 1
            raise ValueError(f"fault {self.kind!r}: conn must be >= 1, got {self.connection}")
        if self.kind == "close" and not sendable_close_code(self.code):
            # wsproto refused it at the moment of the close (a traceback per connection).
            raise ValueError(
                f"fault 'close': the code must be one a server may send (1000-4999 but 1005, "
                f"1006, 1015), got {self.code}"
            )
        if self.read_bytes < 1:
            raise ValueError(f"fault {self.kind!r}: read_bytes must be >= 1, got {self.read_bytes}")

    @property
    def triggered(self) -> bool:
        """Whether this fault fires once at a trigger (close/reset/blackhole)."""
        return self.kind in _TRIGGERED

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse the CLI form, e.g. `close:1011:Internal error encountered.@frames=5`."""
        body, _, trigger = spec.partition("@")
        kind, *args = body.split(":", 2)
        kind = kind.strip().lower().replace("_", "-")
        if kind == "duplicate-transcripts":
            kind = "duplicate-transcriptions"
        if kind not in _KINDS:
            raise ValueError(f"unknown fault kind {kind!r} in {spec!r}")
        fields: dict[str, object] = {}
        if kind == "close":
            if args:
                fields["code"] = _number(int, args[0], "the close code", spec)
            if len(args) > 1:
                fields["reason"] = args[1]
        elif kind in ("pong-delay", "late-usage", "slow-read") and args:
            fields["seconds"] = _number(float, args[0], "the seconds", spec)
            if kind == "slow-read" and len(args) > 1:
                fields["read_bytes"] = _number(int, args[1], "the bytes per read", spec)
        elif args:
            raise ValueError(f"fault {kind!r} takes no arguments: {spec!r}")
        for item in filter(None, (t.strip() for t in trigger.split(","))):
            name, _, value = item.partition("=")
            if name == "frames":
                fields["after_frames"] = _number(int, value, "frames=", spec)
            elif name == "received":
                fields["after_received"] = _number(int, value, "received=", spec)
            elif name == "after":
                fields["after_seconds"] = _number(float, value.removesuffix("s"), "after=", spec)
            elif name == "conn":
                fields["connection"] = _number(int, value, "conn=", spec)
            else:
                raise ValueError(f"unknown fault trigger {name!r} in {spec!r}")
        return cls(kind=kind, **fields)  # type: ignore[arg-type]
