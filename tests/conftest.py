"""Suite-wide settings only: Hypothesis profiles and the `fuzz` marker for test_fuzz* files.

Fixtures live in the conftest.py of the subfolder that uses them.
"""

from __future__ import annotations

import errno
import os
import wave
from collections.abc import Callable, Generator
from typing import Any

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


# Examples Hypothesis ran in this session (every phase), printed at the end: `nox -s fuzz`
# must show its budget was really spent.
_examples_run = [0]


@pytest.hookimpl(hookwrapper=True, trylast=True)  # inside Hypothesis's own wrapper
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    from hypothesis.statistics import collector

    outer = collector.value

    def note(stats: Any) -> None:
        phases = ("explicit-phase", "reuse-phase", "generate-phase", "shrink-phase")
        _examples_run[0] += sum(len(stats.get(phase, {}).get("test-cases", ())) for phase in phases)
        if outer is not None:
            outer(stats)

    with collector.with_value(note):
        yield


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _examples_run[0]:
        terminalreporter.write_line(f"hypothesis: {_examples_run[0]} examples run")


@pytest.fixture
def wav_writes_fail(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to make every later WAV frame write fail as on a full disk (EFBIG)."""

    def too_large(self: wave.Wave_write, data: bytes) -> None:
        raise OSError(errno.EFBIG, "File too large")

    def start_failing() -> None:
        monkeypatch.setattr(wave.Wave_write, "writeframes", too_large)

    return start_failing


@pytest.fixture
def as_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    """`os.access` answers write access by the owner's permission bits, as for a user who
    is not root: the suite may run as root, who may write any file, read-only or not."""
    real_access = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and not os.stat(path).st_mode & 0o200:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
