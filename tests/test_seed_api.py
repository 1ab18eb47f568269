"""The seed API, item by item: `GeminiRealtimeClient` against the seed page's own text.

`data/seed/GeminiRealtimeClient-api.txt` is the seed page verbatim. It is parsed here (its
signatures, `Type:` and `Default:` lines, sections and attributes) and every item is
compared with the real class, so a renamed parameter, a changed kind or default, a changed
annotation or a missing member fails. The few deliberate differences are listed in
`DEVIATIONS` / `EXTENSIONS`, each with its reason (docs/migration.md documents them).
When AG2's original is installed, the same surface and the seed's event vocabulary are
also checked against it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import trio_gemini_live
from trio_gemini_live import GeminiRealtimeClient

SEED = Path(__file__).parent / "data" / "seed" / "GeminiRealtimeClient-api.txt"
CLASS = "GeminiRealtimeClient"

# Where the annotation differs from the seed's on purpose: (member, parameter or "return")
# -> our annotation (normalized). Each still accepts everything the seed's type did.
DEVIATIONS: dict[tuple[str, str], str] = {
    # The seed's base64 `str` is still the first choice; PCM bytes-likes are accepted too.
    ("send_audio", "audio"): "str|bytes|bytearray|memoryview",
}
# Public members beyond the seed page (documented extensions).
EXTENSIONS = {"truncations"}

Param = tuple[str, inspect._ParameterKind, str, str | None]  # name, kind, annotation, default


@dataclass
class SeedItem:
    name: str
    section: str  # "constructor", "static", "method"
    params: list[Param] = field(default_factory=list)
    returns: str | None = None  # None: the seed page gives no return type


def normalize(annotation: str) -> str:
    """One spelling for an annotation, from the seed page or from `repr` of a real type.

    The page dropped the commas inside brackets of its signature lines
    (`Literal['user''assistant''system']`, `AsyncGenerator[NoneNone]`) and uses typographic
    quotes in its `Type:` lines; module paths differ (`typing.Any`, `logging.Logger`).
    """
    text = annotation.replace("\u2018", "'").replace("\u2019", "'").replace("NoneType", "None")
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    text = re.sub(r"\b(?:\w+\.)+(\w+)", r"\1", text)  # drop module paths
    return re.sub(r"[\s,'\"]", "", text)


def split_params(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


SECTIONS = ("Static Methods", "Instance Methods", "Instance Attributes")


def parse_seed(text: str) -> tuple[list[SeedItem], list[str]]:
    """The seed's callables (in page order) and its instance attributes."""
    # The page separates words with no-break spaces (U+00A0) in places.
    lines = text.replace("\xa0", " ").splitlines()
    items: list[SeedItem] = []
    attributes: list[str] = []
    section = "constructor"
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if line in SECTIONS:
            section = {"Static Methods": "static", "Instance Methods": "method"}.get(
                line, "attribute"
            )
            index += 1
            continue
        start = re.fullmatch(r"(\w+)\((.*)", line)
        if start is None:
            if section == "attribute" and re.fullmatch(r"[a-z_]\w*", line):
                attributes.append(line)
            index += 1
            continue
        name, rest = start.groups()
        signature = rest
        while not re.search(r"\)\s*(->.*)?$", signature):
            index += 1
            signature += lines[index].strip()
        inner, _, after = signature.rpartition(")")
        returns = after.strip().removeprefix("->").strip() or None
        item = SeedItem(name, section, returns=returns)
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        for part in split_params(inner):
            if part == "*":
                kind = inspect.Parameter.KEYWORD_ONLY
                continue
            part_kind = kind
            if part.startswith("**"):
                part_kind, part = inspect.Parameter.VAR_KEYWORD, part[2:]
            head, _, default = part.partition("=")
            pname, _, annotation = head.partition(":")
            item.params.append(
                (pname.strip(), part_kind, annotation.strip(), default.strip() or None)
            )
        # The `Type:` and `Default:` lines below the signature, up to the next one.
        index += 1
        types_given: list[str] = []
        defaults_given: list[str] = []
        while index < len(lines) and not (
            re.fullmatch(r"\w+\(.*", lines[index].strip()) or lines[index].strip() in SECTIONS
        ):
            found = re.search(r"Type: (.*)$", lines[index])
            if found:
                types_given.append(found.group(1).strip())
            found = re.fullmatch(r"Default: (.*)", lines[index].strip())
            if found:
                defaults_given.append(found.group(1))
            index += 1
        documented = [p for p in item.params if p[0] != "self"]
        if types_given:
            assert len(types_given) == len(documented), f"{name}: Type lines vs parameters"
            for (pname, _, annotation, _), given in zip(documented, types_given, strict=True):
                assert normalize(annotation) == normalize(given), f"{name}.{pname}"
        assert defaults_given == [p[3] for p in documented if p[3] is not None], name
        items.append(item)
    return items, attributes


ITEMS, ATTRIBUTES = parse_seed(SEED.read_text(encoding="utf-8"))
BY_NAME = {item.name: item for item in ITEMS}


def test_the_seed_page_parses_to_every_member() -> None:
    assert ATTRIBUTES == ["connection", "logger"]
    assert [(item.section, item.name) for item in ITEMS] == [
        ("constructor", CLASS),
        ("static", "get_factory"),
        *(
            ("method", name)
            for name in (
                "add_event",
                "connect",
                "get_event",
                "queue_input_audio_buffer_delta",
                "read_events",
                "send_audio",
                "send_function_result",
                "send_text",
                "session_update",
                "truncate_audio",
            )
        ),
    ]
    assert BY_NAME["send_text"].params[1:] == [
        ("role", inspect.Parameter.KEYWORD_ONLY, "Literal['user''assistant''system']", None),
        ("text", inspect.Parameter.KEYWORD_ONLY, "str", None),
        ("turn_complete", inspect.Parameter.KEYWORD_ONLY, "bool", "True"),
    ]


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        return "None" if annotation is types.NoneType else annotation.__name__
    return repr(annotation)


def _target(item: SeedItem) -> Any:
    if item.section == "constructor":
        return GeminiRealtimeClient.__init__
    return getattr(GeminiRealtimeClient, item.name)


def mismatches(item: SeedItem) -> list[str]:
    """How the real member differs from the seed's item (empty: it matches)."""
    if item.section != "constructor" and not hasattr(GeminiRealtimeClient, item.name):
        return [f"{item.name}: missing"]
    target = _target(item)
    found = list(inspect.signature(target).parameters.values())
    hints = typing.get_type_hints(target)
    problems: list[str] = []
    if item.section == "constructor":
        found = found[1:]  # the page shows the constructor without `self`
    if item.section == "static" and not isinstance(
        inspect.getattr_static(GeminiRealtimeClient, item.name), classmethod | staticmethod
    ):
        problems.append(f"{item.name}: not callable on the class")
    shape = [(p.name, p.kind) for p in found]
    if shape != [(p[0], p[1]) for p in item.params]:
        return [*problems, f"{item.name}: parameters {shape} vs seed {item.params}"]
    for parameter, (name, _, annotation, default) in zip(found, item.params, strict=True):
        if name == "self":
            continue
        expected_default = parameter.empty if default is None else ast.literal_eval(default)
        if parameter.default != expected_default:
            problems.append(f"{item.name}({name}={parameter.default!r}) vs seed {default}")
        ours = normalize(_annotation_text(hints[name]))
        if ours != DEVIATIONS.get((item.name, name), normalize(annotation)):
            problems.append(f"{item.name}({name}: {hints[name]!r}) vs seed {annotation!r}")
    if item.returns is not None:
        ours = normalize(_annotation_text(hints["return"]))
        if ours != DEVIATIONS.get((item.name, "return"), normalize(item.returns)):
            problems.append(f"{item.name} -> {hints['return']!r} vs seed {item.returns!r}")
    return problems


@pytest.mark.parametrize("item", ITEMS, ids=[item.name for item in ITEMS])
def test_member_matches_the_seed(item: SeedItem) -> None:
    assert mismatches(item) == []


def test_seed_attributes_are_read_only_properties() -> None:
    for name in ATTRIBUTES:
        member = inspect.getattr_static(GeminiRealtimeClient, name)
        assert isinstance(member, property), name
        assert member.fset is None, name


def test_public_surface_is_the_seed_plus_documented_extensions() -> None:
    public = {name for name in dir(GeminiRealtimeClient) if not name.startswith("_")}
    seed = {item.name for item in ITEMS if item.section != "constructor"} | set(ATTRIBUTES)
    assert public == seed | EXTENSIONS
    assert trio_gemini_live.GeminiRealtimeClient is GeminiRealtimeClient


def test_deviations_still_accept_the_seed_types() -> None:
    audio = typing.get_type_hints(GeminiRealtimeClient.send_audio)["audio"]
    assert str in typing.get_args(audio)


@pytest.mark.parametrize(
    "edits",
    [
        # a default
        (
            ("turn_complete: bool = True", "turn_complete: bool = False"),
            ("Default: True", "Default: False"),
        ),
        # a parameter name
        (
            ("    logger: Logger | None = None", "    log: Logger | None = None"),
            ("loggerType", "logType"),
        ),
        # an annotation
        (
            ("session_options: dict[str, Any]", "session_options: list[Any]"),
            ("Type: dict[str, typing.Any]", "Type: list[Any]"),
        ),
        # a kind (keyword-only -> positional)
        (("    *,\n    role", "    role"),),
        # a return type
        (("get_event(self) -> RealtimeEvent | None", "get_event(self) -> RealtimeEvent"),),
        # a member
        (("truncate_audio(\n", "truncate_audio_at(\n"),),
    ],
    ids=["default", "name", "annotation", "kind", "return", "member"],
)
def test_drift_from_the_seed_is_caught(edits: tuple[tuple[str, str], ...]) -> None:
    """Each edit of the page's text makes the comparison fail: the test can fail."""
    text = SEED.read_text(encoding="utf-8").replace("\xa0", " ")
    for before, after in edits:
        assert before in text, before
        text = text.replace(before, after)
    items, _ = parse_seed(text)
    assert any(mismatches(item) for item in items)


# --- the events the seed's `read_events` yields ----------------------------------------------

# AG2's event classes (`autogen.agentchat.realtime.experimental.realtime_events`): the `type`
# string and the fields a seed consumer reads, with an instance of ours to read them from.
SEED_EVENTS: dict[str, tuple[str | None, dict[str, type | None]]] = {
    "RealtimeEvent": (None, {"raw_message": dict}),
    "SessionCreated": ("session.created", {"raw_message": dict}),
    "SessionUpdated": ("session.updated", {"raw_message": dict}),
    "AudioDelta": ("response.audio.delta", {"raw_message": dict, "delta": str, "item_id": None}),
    "InputAudioBufferDelta": (
        "input_audio_buffer.delta",
        {"raw_message": dict, "delta": str, "item_id": None},
    ),
    "SpeechStarted": ("input_audio_buffer.speech_started", {"raw_message": dict}),
    "FunctionCall": (
        "response.function_call_arguments.done",
        {"raw_message": dict, "name": str, "arguments": dict, "call_id": str},
    ),
}
SAMPLES: dict[str, dict[str, Any]] = {
    "AudioDelta": {"pcm": b"\x01\x00\x02\x00"},
    "InputAudioBufferDelta": {"delta": "AQACAA==", "item_id": None},
    "FunctionCall": {"call_id": "function-call-1", "name": "f", "arguments": {"x": 1}},
}


@pytest.mark.parametrize("name", sorted(SEED_EVENTS))
def test_seed_event_names_types_and_fields(name: str) -> None:
    cls = getattr(trio_gemini_live, name)
    assert issubclass(cls, trio_gemini_live.RealtimeEvent)
    type_string, fields = SEED_EVENTS[name]
    event = cls(**SAMPLES.get(name, {}))
    if type_string is not None:
        assert event.type == type_string
    for field_name, field_type in fields.items():
        value = getattr(event, field_name)
        if field_type is not None:
            assert isinstance(value, field_type), (name, field_name)
    if name == "AudioDelta":
        assert event.delta == "AQACAA=="


# --- against AG2's original (the `test` extra installs it) ----------------------------------


def _ag2() -> tuple[type, Any]:
    # Imported when needed (it is slow to import), and never skipped: a missing AG2 must fail
    # these tests rather than let them pass without comparing anything.
    module = importlib.import_module(
        "autogen.agentchat.realtime.experimental.clients.gemini.client"
    )
    events = importlib.import_module("autogen.agentchat.realtime.experimental.realtime_events")
    return module.GeminiRealtimeClient, events


def _shape(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_same_members_parameters_and_kinds_as_ag2() -> None:
    original, _ = _ag2()
    theirs = {name for name in dir(original) if not name.startswith("_")}
    ours = {name for name in dir(GeminiRealtimeClient) if not name.startswith("_")}
    assert ours == theirs | EXTENSIONS
    assert _shape(GeminiRealtimeClient.__init__) == _shape(original.__init__)
    for name in sorted(theirs):
        their_member = inspect.getattr_static(original, name)
        our_member = inspect.getattr_static(GeminiRealtimeClient, name)
        assert type(our_member) is type(their_member), name
        if isinstance(their_member, property):
            continue
        theirs_fn = getattr(original, name)
        ours_fn = getattr(GeminiRealtimeClient, name)
        assert _shape(ours_fn) == _shape(theirs_fn), name
        for check in (inspect.iscoroutinefunction, inspect.isasyncgenfunction):
            assert check(ours_fn) == check(theirs_fn), (name, check.__name__)
        # `connect`: both are @asynccontextmanager around an async generator.
        wrapped = getattr(theirs_fn, "__wrapped__", None)
        if wrapped is not None and inspect.isasyncgenfunction(wrapped):
            assert inspect.isasyncgenfunction(ours_fn.__wrapped__), name


def test_same_event_vocabulary_as_ag2() -> None:
    _, events = _ag2()
    for name, (type_string, fields) in SEED_EVENTS.items():
        theirs = getattr(events, name)
        assert set(theirs.model_fields) - {"type"} == set(fields), name
        if type_string is not None:
            assert (
                theirs.model_fields["type"].default
                == type_string
                == getattr(trio_gemini_live, name).type
            )
