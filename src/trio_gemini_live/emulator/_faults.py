"""Fault descriptions for the emulator, from code (`Fault(...)`) or the CLI (`--fault SPEC`).

CLI syntax: `KIND[:ARG[:ARG]][@TRIGGER[,TRIGGER...]]`, e.g. `close:1011:Internal error
encountered.@frames=5`, `reset@after=2.5`, `blackhole@received=3,conn=1`, `pong-delay:15`.
The triggers follow the last `@`, so that a close reason may hold `@` (`_split_triggers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar, cast, get_args

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
_TRIGGERS = ("after_frames", "after_received", "after_seconds")
# How `parse` spells the fields set by a spec's triggers.
_CLI_TRIGGERS = {
    "after_frames": "frames=",
    "after_received": "received=",
    "after_seconds": "after=",
    "connection": "conn=",
}
_TRIGGER_NAMES = tuple(cli.removesuffix("=") for cli in _CLI_TRIGGERS.values())
_N = TypeVar("_N", int, float)


def _number(convert: Callable[[str], _N], text: str, what: str, spec: str) -> _N:
    """`text` as a number for a fault spec, or an error naming what it should have been."""
    try:
        return convert(text)
    except ValueError:
        kind = "a whole number" if convert is int else "a number"
        raise ValueError(f"{what} must be {kind}, not {text!r}, in {spec!r}") from None


def _kind_name(text: str) -> str:
    """The fault kind a spec spells `text`: any case, `_` for `-`, the old alias."""
    kind = text.strip().lower().replace("_", "-")
    return "duplicate-transcriptions" if kind == "duplicate-transcripts" else kind


def _ends_in_reason(body: str) -> bool:
    """Whether `body` (a spec up to an `@`) ends inside a `close` reason (`close:CODE:...`)."""
    kind, *args = body.split(":", 2)
    return _kind_name(kind) == "close" and len(args) == 2


def _reads_as_triggers(text: str) -> bool:
    """Whether `text` is written as triggers: each item `NAME=VALUE`, or a trigger's name."""
    items = filter(None, (item.strip() for item in text.split(",")))
    return all("=" in item or item in _TRIGGER_NAMES for item in items)


def _split_triggers(spec: str) -> tuple[str, str]:
    """`spec` as its body and its triggers: what follows its last `@` ("" if none).

    A close reason may hold `@` (`close:1011:mail ops@example.com`): splitting at the first
    `@` took `example.com` for a trigger. What follows an `@` inside a reason stays in the
    reason unless it reads as triggers (`_reads_as_triggers`); a spec ending with `@` (no
    trigger) keeps every earlier `@` in its reason.
    """
    body, at, triggers = spec.rpartition("@")
    if not at or (_ends_in_reason(body) and not _reads_as_triggers(triggers)):
        return spec, ""
    return body, triggers


def _parse_triggers(triggers: str, spec: str) -> dict[str, object]:
    """The `Fault` fields a spec's comma-separated `triggers` set."""
    fields: dict[str, object] = {}
    for item in filter(None, (t.strip() for t in triggers.split(","))):
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
            raise ValueError(
                f"unknown fault trigger {name!r} in {spec!r}: the triggers, after the last "
                f"'@', are frames=N, received=N, after=S and conn=N"
            )
    return fields


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
        empty-frames: send a bare `{"serverContent": {}}` and a transcription without
            text, `{"serverContent": {"outputTranscription": {}}}`, before each
            `turnComplete` (both are Google's, protocol.md section 1.6).
        slow-read: read the socket at most `read_bytes` (1024 by default; the CLI's
            `slow-read:SECONDS[:BYTES]`) at a time, `seconds` apart.
        stall: after the input transcription, never answer the turn (still pongs).
        stall-after-interrupt: after the first `interrupted`, send nothing more for the
            session (no `turnComplete`, no later turns; still pongs, and `goAway` and the
            deadline close still come, as they belong to the connection, not the model).

    `close`, `reset` and `blackhole` fire when a trigger is met: `after_frames` server
    frames sent, `after_received` client frames received (each a whole number from 1:
    `setupComplete` is server frame 1, `setup` client frame 1), or `after_seconds` since
    the upgrade; with none given they fire right after `setupComplete`. A trigger already
    met when the fault is injected (`EmulatorConnection.inject`) fires at once. Other kinds
    take no trigger. `connection` limits the fault to one connection of the emulator, by
    its `EmulatorConnection.number` (1-based, in the order connections were upgraded, as
    `Emulator.wait_for_connection` takes it: a request refused before the upgrade, a 404
    health probe say, has none); `None` applies it to all. `EmulatorConnection.inject`
    refuses a fault whose `connection` is another connection's.

    Every field is checked when the fault is made: a value of the wrong type (`2.5` or
    `"3"` where a count belongs, a `bool` for a number) or out of its range raises
    `ValueError` naming the field, as `EmulatorConfig` does.
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
        if not isinstance(cast(object, self.reason), str):
            raise ValueError(
                f"fault {self.kind!r}: reason must be a str, not {type(self.reason).__name__}"
            )
        # `not x >= 0` also refuses NaN, which would make a sleep raise mid-session.
        for name in ("seconds", "after_seconds"):
            value = self._number(name, whole=False)
            if value is not None and not value >= 0:
                raise ValueError(f"fault {self.kind!r}: {name} must be >= 0, got {value}")
        # Counts and numbers, compared with counts: 2.5 or 0 was never reached exactly, and
        # the fault never fired, silently. (`connection`: the CLI spells it `conn=`.)
        for name in ("after_frames", "after_received", "connection", "code", "read_bytes"):
            value = self._number(name, whole=True)
            if name != "code" and value is not None and value < 1:
                raise ValueError(f"fault {self.kind!r}: {name} must be >= 1, got {value}")
        if self.kind == "close" and not sendable_close_code(self.code):
            # wsproto refused it at the moment of the close (a traceback per connection).
            raise ValueError(
                f"fault 'close': the code must be one a server may send (1000-4999 but 1005, "
                f"1006, 1015), got {self.code}"
            )
        if not self.triggered:
            given = [n for n in _TRIGGERS if getattr(self, n) is not None]
            if given:
                # Applied from the start whatever the trigger said: only these fire at one.
                raise ValueError(
                    f"fault {self.kind!r} takes no trigger ({', '.join(given)}): only "
                    f"{', '.join(_TRIGGERED)} fire at one (connection= still applies)"
                )

    def _number(self, name: str, *, whole: bool) -> float | None:
        """The field `name`, refused unless a number (`whole`: an int); None if it may be."""
        value: object = getattr(self, name)
        if value is None and name not in ("code", "seconds", "read_bytes"):
            return None
        kinds = int if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            what = "a whole number (an int)" if whole else "a number"
            raise ValueError(
                f"fault {self.kind!r}: {name} must be {what}, not {type(value).__name__} {value!r}"
            )
        return value

    @property
    def triggered(self) -> bool:
        """Whether this fault fires once at a trigger (close/reset/blackhole)."""
        return self.kind in _TRIGGERED

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse the CLI form, e.g. `close:1011:Internal error encountered.@frames=5`.

        The triggers are what follows the last `@`. A close reason may hold `@` itself:
        `close:1011:mail ops@example.com` has no trigger, as what follows its `@` does not
        read as triggers (each `NAME=VALUE`, or a trigger's name); end the spec with `@`
        (`close:1011:key@a=b@`) or with its triggers to keep any such text in the reason.
        """
        body, trigger = _split_triggers(spec)
        kind, *args = body.split(":", 2)
        kind = _kind_name(kind)
        if "@" in kind or any("@" in arg for arg in (args[:1] if kind == "close" else args)):
            # Else named as an unknown kind (`reset@frames=5`) or a bad number.
            raise ValueError(
                f"fault spec {spec!r} has an '@' before its triggers: they follow one '@', "
                f"comma-separated (reset@frames=5,conn=1); only a close reason may hold '@'"
            )
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
        try:
            fields.update(_parse_triggers(trigger, spec))
        except ValueError as exc:
            if not _ends_in_reason(body):
                raise
            # Maybe meant for the reason: say how to keep it there.
            raise ValueError(
                f"{exc}; to keep '@{trigger}' in the close reason, end the spec with '@'"
            ) from None
        try:
            return cls(kind=kind, **fields)  # type: ignore[arg-type]
        except ValueError as exc:
            # The error names the Python field; say which trigger of the spec sets it.
            spelled = [f"{cli} sets {n}" for n, cli in _CLI_TRIGGERS.items() if n in fields]
            hint = f" ({'; '.join(spelled)})" if spelled else ""
            raise ValueError(f"{exc}, in {spec!r}{hint}") from None
