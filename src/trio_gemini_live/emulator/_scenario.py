"""Scenarios: scripted replies for the deterministic model, from JSON or Python objects.

A scenario is an ordered list of turns; each user turn consumes the first unused scenario turn
whose `when` matches, and the turn says what was "heard", what to reply and which tools to call.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import msgspec

from .._wire import Part
from .._wire_checks import empty_part
from ._config import check_collection
from ._validate import read_struct_strictly

__all__ = ["Scenario", "ScenarioToolCall", "ScenarioTurn"]


@dataclass(frozen=True)
class ScenarioToolCall:
    """A function call the model makes; `args` defaults to an empty object.

    `stream` sends its arguments in pieces (`partialArgs`, `willContinue`), each a
    `toolCall` of its own, as Vertex AI streams them, on Vertex routes only: the Gemini
    API has no such fields, so there the call comes whole (see docs/emulator.md).

    Raises:
        ValueError: `name` is not a non-empty str, `args` not a dict, or `stream` not a
            bool (`"no"` would have streamed the call).
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict[str, Any])
    stream: bool = False

    def __post_init__(self) -> None:
        _check_field(self.name, "name", str, "a non-empty str")
        _check_field(self.args, "args", dict, "a dict")
        _check_field(self.stream, "stream", bool, "a bool")


def _check_field(value: object, name: str, kind: type, what: str) -> None:
    """Refuse a field of the wrong type, naming it (`stream="no"` used to stream the call)."""
    if not isinstance(value, kind) or value == "":
        raise ValueError(
            f"ScenarioToolCall {name} must be {what}, not {type(value).__name__} {value!r}"
        )


@dataclass(frozen=True)
class ScenarioTurn:
    """One scripted model turn.

    Attributes:
        when: Case-insensitive substring of the user's text (or speech transcript) that
            selects this turn; `None` matches any user turn. A spoken turn is heard as
            this turn's `input_transcript`, else `EmulatorConfig.input_transcript`: that
            is the transcript `when` must be in.
        input_transcript: What the user "said", for audio turns (`inputTranscription`).
        reply: The model's reply text (spoken for AUDIO sessions); `None` keeps the default.
            With tool calls it comes after them: once a BLOCKING call's responses are in,
            the model says `reply`, then the `after_tool` text, in one turn; with only
            NON_BLOCKING calls it says `reply` right after the `toolCall`.
        tool_calls: Functions to call before replying.
        parts: Model-turn parts sent as they are before the reply (and the calls), each
            in a `modelTurn` of its own: a `fileData`, a `functionResponse`, a bare
            `thoughtSignature`, text with a signature, ...; each must carry data
            (`ValueError`: `Part()` went out as `{}`).
        after_tool: Reply after the tool responses (after `reply`, if set);
            `{name}`/`{response}` placeholders refer to the first call; `None` gives a
            default sentence built from the responses; `""` says nothing more.
        reusable: Leave the turn available after it has been used.
    """

    when: str | None = None
    input_transcript: str | None = None
    reply: str | None = None
    tool_calls: tuple[ScenarioToolCall, ...] = ()
    after_tool: str | None = None
    reusable: bool = False
    parts: tuple[Part, ...] = ()

    def __post_init__(self) -> None:
        check_collection(self, "tool_calls", ScenarioToolCall, tuple)
        check_collection(self, "parts", Part, tuple)
        _check_parts_carry_data(self.parts, "ScenarioTurn parts")


def _check_parts_carry_data(parts: tuple[Part, ...], path: str) -> None:
    """Refuse a part with no data (`Part()`, an empty `text`): it went out as `{}`.

    The emulator itself closes a client that sends one with 1007 ("has no data"), as
    Google does; a model never sends one.
    """
    for index, part in enumerate(parts):
        where = empty_part(part, f"{path}[{index}]")
        if where is not None:
            raise ValueError(
                f"{where} carries no data (no text, inlineData, fileData, ..., or only an "
                "empty text): a model never sends such a part"
            )


class _ToolCallSpec(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    args: dict[str, Any] | None = None  # null: no arguments, as an absent `args`
    stream: bool = False


class _TurnSpec(msgspec.Struct, forbid_unknown_fields=True):
    when: str | None = None
    input_transcript: str | None = None
    reply: str | None = None
    tool_calls: list[_ToolCallSpec] = msgspec.field(default_factory=list[_ToolCallSpec])
    after_tool: str | None = None
    reusable: bool = False
    # Read by `read_struct_strictly`: converted here, a part dropped unknown fields.
    parts: list[dict[str, Any]] = msgspec.field(default_factory=list[dict[str, Any]])


class _ScenarioSpec(msgspec.Struct, forbid_unknown_fields=True):
    turns: list[_TurnSpec] = msgspec.field(default_factory=list[_TurnSpec])


@dataclass(frozen=True)
class Scenario:
    """An ordered script of model turns (see `ScenarioTurn`)."""

    turns: tuple[ScenarioTurn, ...] = ()

    def __post_init__(self) -> None:
        check_collection(self, "turns", ScenarioTurn, tuple)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Build a scenario from its JSON form: `{"turns": [{...}, ...]}`.

        A turn's `parts` are wire parts, camelCase as Google sends them (bytes in base64;
        snake_case is taken too, as Google's parser takes it).

        Raises:
            ValueError: a field of the wrong type or unknown (in a part too), a tool call
                without a `name` or a part with no data, naming where
                (`$.turns[0].tool_calls[0]`); a tool call's `name` is empty.
        """
        try:
            spec = msgspec.convert(data, _ScenarioSpec)
        except msgspec.ValidationError as exc:
            # Said as a ValueError on every msgspec this package takes: before 0.20 its
            # errors were not ValueErrors.
            raise ValueError(f"invalid scenario: {exc}") from None
        turns: list[ScenarioTurn] = []
        for i, t in enumerate(spec.turns):
            calls = tuple(
                ScenarioToolCall(c.name, c.args or {}, stream=c.stream) for c in t.tool_calls
            )
            where = f"$.turns[{i}].parts"
            try:
                parts = tuple(
                    read_struct_strictly(part, Part, f"{where}[{j}]")
                    for j, part in enumerate(t.parts)
                )
                _check_parts_carry_data(parts, where)
            except ValueError as exc:
                raise ValueError(f"invalid scenario: {exc}") from None
            turns.append(
                ScenarioTurn(
                    t.when,
                    t.input_transcript,
                    t.reply,
                    calls,
                    t.after_tool,
                    t.reusable,
                    parts,
                )
            )
        return cls(tuple(turns))

    @classmethod
    def from_json(cls, path: str | Path) -> Scenario:
        """Load a JSON scenario file (`ValueError`: not JSON, or not a scenario)."""
        try:
            data = msgspec.json.decode(Path(path).read_bytes())
        except msgspec.DecodeError as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_python(cls, path: str | Path) -> Scenario:
        """Run a Python file and take its module-level `SCENARIO` (a `Scenario` or a dict)."""
        found = runpy.run_path(str(path)).get("SCENARIO")
        if isinstance(found, Scenario):
            return found
        if isinstance(found, dict):
            return cls.from_dict(cast("dict[str, Any]", found))
        raise ValueError(f"{path} defines no SCENARIO (a Scenario or a dict)")

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Load a `.json` or `.py` scenario file."""
        return cls.from_python(path) if str(path).endswith(".py") else cls.from_json(path)


class ScenarioCursor:
    """A session's position in a scenario (used turns are not reused).

    `used` (the indexes of the turns used) is the session's own set, updated in place:
    it outlives this connection's model, and a resumption handle snapshots it
    (`SessionState.scenario_used`), so a turn used before a reconnection is not used
    again after it.
    """

    def __init__(self, scenario: Scenario | None, used: set[int] | None = None) -> None:
        self._turns = scenario.turns if scenario else ()
        self._used: set[int] = set() if used is None else used

    def next_turn(self, user_text: str) -> ScenarioTurn | None:
        """The first unused turn whose `when` is in `user_text` (the user's text turn)."""
        return self._take(lambda turn: user_text)

    def next_spoken_turn(self, default_transcript: str) -> ScenarioTurn | None:
        """The first unused turn whose `when` is in the transcript of a spoken turn.

        What the emulator "hears" depends on the turn that answers: its `input_transcript`,
        else `default_transcript` (`EmulatorConfig.input_transcript`). So each turn is
        matched against the transcript it would make, the one the client is sent.
        """
        return self._take(lambda turn: turn.input_transcript or default_transcript)

    def _take(self, heard: Callable[[ScenarioTurn], str]) -> ScenarioTurn | None:
        for i, turn in enumerate(self._turns):
            if i in self._used:
                continue
            if turn.when is not None and turn.when.lower() not in heard(turn).lower():
                continue
            if not turn.reusable:
                self._used.add(i)
            return turn
        return None
