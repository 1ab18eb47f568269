"""The API reference lists every exported name, each has a docstring, and every type a public
signature names is exported."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import trio_gemini_live
import trio_gemini_live.emulator
import trio_gemini_live.pytest_plugin
from pure_twin import as_written, source_path
from trio_gemini_live import (
    ClientMessage,
    OutputTranscription,
    RealtimeInput,
    TurnComplete,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live.emulator import open_emulator

API = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
EXPORTS = [
    (module, name)
    for module in (trio_gemini_live, trio_gemini_live.emulator, trio_gemini_live.pytest_plugin)
    for name in module.__all__
    if name != "__version__"
]


@pytest.mark.parametrize(("module", "name"), EXPORTS)
def test_every_export_is_in_the_api_reference_with_a_docstring(module: object, name: str) -> None:
    qualified = f"{module.__name__}.{name}"  # type: ignore[attr-defined]
    assert f"::: {qualified}\n" in API, f"docs/api.md does not list {qualified}"
    value = as_written(getattr(module, name))
    ours = getattr(value, "__module__", "").startswith("trio_gemini_live")
    # (A pytest fixture is a `FixtureFunctionDefinition`, which carries its function's
    # docstring.)
    fixture = module is trio_gemini_live.pytest_plugin
    if (inspect.isclass(value) or inspect.isfunction(value) or fixture) and ours:
        # (Type aliases carry their documentation as a string after the assignment; one
        # may name a class of the standard library: `AudioBuffer` is `Buffer` from 3.12.)
        assert (value.__doc__ or "").strip(), f"{qualified} has no docstring"


def _defined_names(module: ModuleType) -> set[str]:
    """Names a module defines at top level (classes, assignments, type aliases)."""
    tree = ast.parse(source_path(module).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _public_annotations(value: object) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, annotation, globals) for an export's signature, or its public fields and methods."""
    if inspect.isfunction(value):
        for annotation in value.__annotations__.values():
            yield value.__qualname__, annotation, value.__globals__
        return
    if not inspect.isclass(value):
        return
    namespace = vars(sys.modules[value.__module__])
    for name, annotation in inspect.get_annotations(value).items():
        if not name.startswith("_"):
            yield f"{value.__qualname__}.{name}", annotation, namespace
    for name, member in vars(value).items():
        if name.startswith("_") and name != "__init__":
            continue
        function = member.fget if isinstance(member, property) else member
        function = getattr(function, "__func__", function)
        if inspect.isfunction(function):
            for annotation in function.__annotations__.values():
                yield function.__qualname__, annotation, function.__globals__


# Named in public signatures but deliberately not exported: the wire twins of the events
# `ExecutableCode`/`CodeExecutionResult` (same names; `Part` fields the server fills in).
# (The seed API's `LLMConfig` and `Role` were here too, so a user could not import what
# `GeminiRealtimeClient(llm_config=...)` and `send_text(role=...)` take to type their code.)
NOT_EXPORTED = {"ExecutableCode", "CodeExecutionResult"}


def test_every_type_in_a_public_signature_is_exported() -> None:
    # A user must be able to import whatever they need to type their code: `ClientMessage`
    # (what `LiveSession.send` takes), `AudioBuffer`, the `Setup` parts, the emulator's
    # `FramePredicate` were all in signatures but only importable from private modules.
    ours = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("trio_gemini_live.") and "._" in name
    ]
    defined = {module: _defined_names(module) for module in ours}
    exported = {id(getattr(module, name)) for module, name in EXPORTS}
    missing: dict[str, set[str]] = {}
    for module, name in EXPORTS:
        for where, annotation, namespace in _public_annotations(as_written(getattr(module, name))):
            if not isinstance(annotation, str):
                continue
            for word in re.findall(r"[A-Za-z_]\w*", annotation):
                value = namespace.get(word)
                if word.startswith("_") or word in NOT_EXPORTED or id(value) in exported:
                    continue
                if any(word in defined[m] and getattr(m, word, None) is value for m in ours):
                    missing.setdefault(word, set()).add(where)
    assert not missing, f"named in public signatures but not exported: {missing}"


async def test_the_send_example_of_the_api_reference() -> None:
    # docs/api.md: `await session.send(ClientMessage(realtime_input=RealtimeInput(...)))`,
    # with both names imported from the package.
    setup = live_setup("gemini-2.5-flash-native-audio-preview-12-2025", output_transcription=True)
    heard = ""
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="any-key")
        async with open_session(setup, endpoint=endpoint) as session:
            await session.send(ClientMessage(realtime_input=RealtimeInput(text="Hello")))
            async for event in session:
                if isinstance(event, OutputTranscription):
                    heard += event.text
                elif isinstance(event, TurnComplete):
                    break
    assert heard.strip() == "You said: Hello"


DATACLASSES = [
    (module, name)
    for module, name in EXPORTS
    if inspect.isclass(getattr(module, name))
    and dataclasses.is_dataclass(getattr(module, name))
    and "Attributes:" in (getattr(module, name).__doc__ or "")
]


def test_the_statistics_document_their_fields() -> None:
    # SessionStatistics had no per-field documentation (what counts the setup frame?).
    assert (trio_gemini_live, "SessionStatistics") in DATACLASSES


@pytest.mark.parametrize(("module", "name"), DATACLASSES)
def test_a_documented_dataclass_documents_every_field(module: object, name: str) -> None:
    cls = getattr(module, name)
    doc = inspect.cleandoc(cls.__doc__)
    section = doc.split("Attributes:", 1)[1]
    for item in dataclasses.fields(cls):
        assert re.search(rf"^    {item.name}:", section, re.MULTILINE), (
            f"{name}.{item.name} is not in the Attributes section"
        )


def _raises_sections(value: object) -> Iterator[tuple[str, str]]:
    """(where, exception name) for each entry of the `Raises:` sections of an export."""
    members = [value]
    if inspect.isclass(value):  # with what it inherits (`LiveSession.respond`, say)
        for name in dir(value):
            if name.startswith("_") and name != "__init__":
                continue
            member = inspect.getattr_static(value, name)
            member = getattr(member, "fget", None) or getattr(member, "__func__", member)
            if getattr(member, "__module__", "").startswith("trio_gemini_live"):
                members.append(member)
    for member in members:
        doc = inspect.cleandoc(getattr(member, "__doc__", None) or "")
        section = re.search(r"^Raises:\n((?:(?:    .*)?\n?)*)", doc, re.MULTILINE)
        if section is None:
            continue
        where = getattr(member, "__qualname__", repr(member))
        for name in re.findall(r"^    ([\w.]+)(?:,|:)", section.group(1), re.MULTILINE):
            yield where, name


def test_the_errors_section_names_every_standard_exception_the_package_raises() -> None:
    # It said "every exception the library raises derives from GeminiLiveError", while
    # `LiveSession.receive()` raises `trio.EndOfChannel` after a normal end (on purpose:
    # a trio channel's end), and the seed facade `RuntimeError` and `ValueError`.
    errors = API.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    listed = errors.split("```", 2)[2].split(":::", 1)[0]  # the prose after the tree
    unnamed: dict[str, set[str]] = {}
    for name in trio_gemini_live.__all__:
        for where, raised in _raises_sections(as_written(getattr(trio_gemini_live, name))):
            ours = getattr(trio_gemini_live, raised.split(".")[-1], None)
            if isinstance(ours, type) and issubclass(ours, trio_gemini_live.GeminiLiveError):
                continue
            if f"`{raised}`" not in listed:
                unnamed.setdefault(raised, set()).add(where)
    assert not unnamed, f"docs/api.md's Errors section does not name: {unnamed}"
    assert "Every exception the library raises derives from" not in API
