"""A pytest plugin: run any test file with another default `SessionOptions.transport`.

    TGL_TRANSPORT=trio-websocket python -m pytest -p transport_override tests/test_session.py

Tests that build `SessionOptions(...)` without naming a transport then use the one named in
`TGL_TRANSPORT`; without the variable the plugin changes nothing.
"""

from __future__ import annotations

import os

import pytest

from trio_gemini_live._options import SessionOptions
from trio_gemini_live._transport import TRANSPORTS


def pytest_configure(config: pytest.Config) -> None:
    name = os.environ.get("TGL_TRANSPORT")
    if not name:
        return
    if name not in TRANSPORTS:
        raise pytest.UsageError(f"TGL_TRANSPORT={name!r}; expected one of {TRANSPORTS}")
    defaults = SessionOptions.__init__.__kwdefaults__
    assert defaults is not None
    assert "transport" in defaults
    defaults["transport"] = name
    config.stash[_KEY] = name


_KEY = pytest.StashKey[str]()


def pytest_report_header(config: pytest.Config) -> str | None:
    name = config.stash.get(_KEY, None)
    return f"SessionOptions.transport default: {name}" if name else None
