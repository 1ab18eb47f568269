"""The layers of design.md, checked on the source: what each client module may import.

Read from each module's own import statements (not `sys.modules`: importing any module
runs the package's `__init__`, which imports everything).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "trio_gemini_live"
WEBSOCKET_LIBRARIES = {"trio_websocket", "websockets", "wsproto"}
# The transport: the only client modules that speak WebSocket through a library.
TRANSPORT = {
    "_transport",
    "_transport_websockets",
    "_ws_receive",
    "_ws_frame",
    "_ws_limit",
    "_stream",
}


def imports_of(module: str) -> tuple[set[str], set[str]]:
    """The top-level packages a client module imports, and its sibling modules it imports."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    external: set[str] = set()
    siblings: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            external.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module is not None:
                external.add(node.module.partition(".")[0])
            elif node.level == 1 and node.module is not None:
                siblings.add(node.module.partition(".")[0])
            elif node.level == 1:
                siblings.update(alias.name for alias in node.names)
    return external, siblings


def closure(module: str) -> set[str]:
    """`module` and every sibling module it imports, directly or not."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(imports_of(name)[1])
    return seen


def test_the_closure_helper_sees_indirect_imports() -> None:
    # _protocol imports _codec, which imports _audio_fastpath: a check of the closure that
    # missed these would pass whatever they import.
    assert {"_codec", "_audio_fastpath", "_skeleton", "_wire"} <= closure("_protocol")


@pytest.mark.parametrize("core", ["_protocol", "_codec", "_wire", "_events", "_resume"])
def test_the_sans_io_core_imports_no_trio_and_no_websocket_library(core: str) -> None:
    for module in sorted(closure(core)):
        external = imports_of(module)[0]
        assert "trio" not in external, f"{module} (imported by {core}) imports trio"
        assert not external & WEBSOCKET_LIBRARIES, f"{module} imports a WebSocket library"


def test_only_the_transport_imports_a_websocket_library() -> None:
    modules = [path.stem for path in PACKAGE.glob("*.py")]
    assert "_transport" in modules
    users = {name for name in modules if imports_of(name)[0] & WEBSOCKET_LIBRARIES}
    assert users, "no module imports a WebSocket library: the check reads nothing"
    assert users <= TRANSPORT, f"outside the transport: {sorted(users - TRANSPORT)}"


def test_the_enum_names_have_one_source_that_the_client_reads_without_the_emulator() -> None:
    # The client names unknown enum values of a refused setup from `_proto_enums`; the
    # emulator numbers the same names. The client must not reach them through the emulator.
    core = closure("_protocol")
    assert {"_setup_hint", "_proto_enums"} <= core
    assert not any("emulator" in imports_of(module)[1] for module in core)
    tree = ast.parse((PACKAGE / "emulator" / "_enums.py").read_text(encoding="utf-8"))
    sources = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 2
        for alias in node.names
    }
    assert "_proto_enums" in sources
