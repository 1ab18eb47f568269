"""The package's pure-Python build beside the installed one, in the same process.

The compiled build (hatch_build.py) replaces the per-frame modules with mypyc extensions.
To show what compiling them buys, in the same run and interleaved with the compiled code,
the package's `.py` files are copied under another name (`trio_gemini_live_pure`; it
imports itself only relatively) and imported from there: every module pure Python.
"""

from __future__ import annotations

import atexit
import importlib
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import trio_gemini_live

NAME = "trio_gemini_live_pure"


def pure_module(name: str) -> ModuleType:
    """`trio_gemini_live.<name>` imported from a copy of its sources (made once)."""
    if NAME not in sys.modules:
        root = Path(tempfile.mkdtemp(prefix="tgl-pure-"))
        atexit.register(shutil.rmtree, root, True)
        source = Path(trio_gemini_live.__file__).parent
        shutil.copytree(source, root / NAME, ignore=shutil.ignore_patterns("*.so", "*.pyd"))
        sys.path.insert(0, str(root))
    return importlib.import_module(f"{NAME}.{name}")
