"""Which build of the package is running: mypyc-compiled or pure Python (hatch_build.py)."""

from __future__ import annotations

import sys
from importlib.machinery import EXTENSION_SUFFIXES

from ._protocol import LiveProtocol

__all__ = ["COMPILED", "build_name"]

COMPILED: bool = (sys.modules[LiveProtocol.__module__].__file__ or "").endswith(
    tuple(EXTENSION_SUFFIXES)
)
"""True when the per-frame modules run as compiled extensions, not from their `.py` files."""


def build_name() -> str:
    """`"compiled (mypyc)"` or `"pure Python"`, for version strings and reports."""
    return "compiled (mypyc)" if COMPILED else "pure Python"
