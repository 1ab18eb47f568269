"""A compiled module's pure-Python twin, for tests that read what its source declares.

The compiled build (hatch_build.py) replaces some modules with mypyc extensions, which keep
no docstrings and no annotations. Their `.py` files ship beside them: executed again under
the module's own name (relative imports resolve to the installed siblings) but not put in
`sys.modules`, they give back the classes as written.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

_twins: dict[str, ModuleType] = {}


def source_path(module: ModuleType) -> Path:
    """The `.py` file of `module`, compiled or not."""
    assert module.__file__ is not None
    name = module.__name__.rpartition(".")[2]
    return Path(module.__file__).with_name(f"{name}.py")


def is_compiled(module: ModuleType) -> bool:
    """Whether `module` was imported from an extension rather than its `.py` file."""
    return not (module.__file__ or "").endswith(".py")


def pure_twin(module: ModuleType) -> ModuleType:
    """`module` itself if it runs from source, else its source executed once more."""
    if not is_compiled(module):
        return module
    twin = _twins.get(module.__name__)
    if twin is None:
        spec = importlib.util.spec_from_file_location(module.__name__, source_path(module))
        assert spec is not None
        assert spec.loader is not None
        twin = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(twin)
        _twins[module.__name__] = twin
    return twin


def as_written(value: Any) -> Any:
    """A class or function as its source defines it (compiled, it has no docstring)."""
    module = sys.modules.get(getattr(value, "__module__", "") or "")
    if module is None or not is_compiled(module):
        return value
    found: Any = pure_twin(module)
    for part in value.__qualname__.split("."):
        found = getattr(found, part)
    return found
