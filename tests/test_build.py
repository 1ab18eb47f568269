"""The installed build is the one the session asked for, and the CLI names it.

`nox -s tests` installs the compiled build and `nox -s lowest` the pure-Python one; each
says so in `TRIO_GEMINI_LIVE_EXPECT_BUILD`, so a build that silently fell back to pure
Python (no compiler, a mypyc error) fails here instead of passing as tested.
"""

from __future__ import annotations

import ast
import importlib
import os
from pathlib import Path

import pytest

from pure_twin import is_compiled
from trio_gemini_live._build_info import COMPILED, build_name

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = os.environ.get("TRIO_GEMINI_LIVE_EXPECT_BUILD", "")


def compiled_modules() -> list[str]:
    """`MODULES` of hatch_build.py, read without importing it (hatchling is a build tool)."""
    tree = ast.parse((ROOT / "hatch_build.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MODULES" for t in node.targets
        ):
            names = ast.literal_eval(node.value)
            return [f"trio_gemini_live.{name.removesuffix('.py')}" for name in names]
    raise AssertionError("hatch_build.py defines no MODULES")


@pytest.mark.skipif(not EXPECTED, reason="no build expected (an editable checkout)")
def test_the_installed_build_is_the_expected_one() -> None:
    assert EXPECTED in ("compiled", "pure")
    assert COMPILED is (EXPECTED == "compiled")
    for name in compiled_modules():
        assert is_compiled(importlib.import_module(name)) is COMPILED, name


def test_every_compiled_module_exists() -> None:
    for name in compiled_modules():
        assert (ROOT / "src" / Path(*name.split("."))).with_suffix(".py").is_file(), name


def test_the_performance_page_names_every_compiled_module() -> None:
    # docs/performance.md lists what the compiled build compiles; a module added to
    # hatch_build.py and not to the page would make its account of the build untrue.
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    section = text[text.index("Compiled build:") :]
    for name in compiled_modules():
        assert f"`{name.rpartition('.')[2]}.py`" in section, name


def test_the_build_is_named_by_what_runs() -> None:
    assert build_name() == ("compiled (mypyc)" if COMPILED else "pure Python")
