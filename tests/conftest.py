"""Suite-wide settings only: Hypothesis profiles and the `fuzz` marker for test_fuzz* files.

Fixtures live in the conftest.py of the subfolder that uses them.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# `ci` keeps the normal run quick and deterministic in time; `nox -s fuzz` selects `fuzz`.
settings.register_profile("ci", max_examples=50, deadline=None)
settings.register_profile("fuzz", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.hookimpl(tryfirst=True)  # before pytest's own `-m` deselection sees the items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in a `test_fuzz*.py` file as `fuzz`, so `-m fuzz` selects it too."""
    for item in items:
        if item.path.name.startswith("test_fuzz"):
            item.add_marker(pytest.mark.fuzz)
