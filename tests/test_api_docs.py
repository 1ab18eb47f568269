"""The API reference lists every exported name, and each has a docstring."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import trio_gemini_live
import trio_gemini_live.emulator

API = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
EXPORTS = [
    (module, name)
    for module in (trio_gemini_live, trio_gemini_live.emulator)
    for name in module.__all__
    if name != "__version__"
]


@pytest.mark.parametrize(("module", "name"), EXPORTS)
def test_every_export_is_in_the_api_reference_with_a_docstring(module: object, name: str) -> None:
    qualified = f"{module.__name__}.{name}"  # type: ignore[attr-defined]
    assert f"::: {qualified}\n" in API, f"docs/api.md does not list {qualified}"
    value = getattr(module, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        # (Type aliases carry their documentation as a string after the assignment.)
        assert (value.__doc__ or "").strip(), f"{qualified} has no docstring"
