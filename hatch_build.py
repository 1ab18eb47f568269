"""Wheel build hook: the receive path's hottest modules compiled with mypyc.

Why: most of a session's CPU goes on frames, and on a 40 ms audio frame the interpreter's
own work (method calls, checks, the event) costs more than the base64 decode itself.
mypyc compiles these typed modules to C as they are: no second implementation to keep in
step, the `.py` files still ship beside the extensions (type checkers and tracebacks read
them) and import falls back to them wherever the extensions are missing.

`TRIO_GEMINI_LIVE_BUILD` chooses, at build time:
- `auto` (the default): compile when a C compiler is at hand, else build pure Python,
  with a warning;
- `compiled`: compile or fail (CI and the benchmarks, which must measure what they claim);
- `pure`: never compile.

Editable installs stay pure Python, so that an edit to a module takes effect at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "trio_gemini_live"
# The per-frame path, receive and send: the protocol core, its three fast paths and the
# skeletons they remember, the codec, the frame cutter and the client frame writer. Nothing
# with trio tasks in it.
MODULES = (
    "_protocol.py",
    "_audio_fastpath.py",
    "_text_fastpath.py",
    "_turn_fastpath.py",
    "_skeleton.py",
    "_codec.py",
    "_ws_receive.py",
    "_ws_frame.py",
)
# Pinned: the compiler decides the code; a new mypy release is taken on purpose.
MYPY = "mypy==2.4.1"
MODE_VARIABLE = "TRIO_GEMINI_LIVE_BUILD"
MODES = ("auto", "compiled", "pure")

_COMPILE = textwrap.dedent(
    """
    import sys
    from mypyc.build import mypycify
    from setuptools import setup

    target, config, *modules = sys.argv[1:]
    extensions = mypycify(
        ["--config-file", config, "--ignore-missing-imports", *modules],
        opt_level="3",
        target_dir=target + "/c",
        group_name="trio_gemini_live",
    )
    setup(
        name="trio_gemini_live_compiled",
        ext_modules=extensions,
        script_args=["build_ext", "--build-lib", target + "/lib", "--build-temp", target + "/tmp"],
    )
    """
)


def build_mode() -> str:
    """`TRIO_GEMINI_LIVE_BUILD`, checked."""
    mode = os.environ.get(MODE_VARIABLE, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"{MODE_VARIABLE}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


class MypycBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the compiled modules to a standard wheel (see the module docstring)."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        """The build needs mypy (for mypyc), setuptools and the runtime dependencies.

        mypyc type-checks what it compiles: without the packages the modules import, their
        classes would be `Any` and the checks fail or the compiled code checks less.
        """
        if build_mode() == "pure":
            return []
        return [MYPY, "setuptools>=70", *self.metadata.core.dependencies]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile, and add the extensions to the wheel; or leave it pure Python."""
        mode = build_mode()
        if self.target_name != "wheel" or version == "editable" or mode == "pure":
            return
        work = Path(tempfile.mkdtemp(prefix="tgl-mypyc-"))
        try:
            built = _compile(Path(self.root) / "src", work)
        except Exception as exc:  # no compiler, no headers, a mypyc error: all the same here
            shutil.rmtree(work, ignore_errors=True)
            if mode == "compiled":
                raise
            self.app.display_warning(
                f"trio-gemini-live: building pure Python, mypyc failed ({exc}); "
                f"{MODE_VARIABLE}=compiled makes this an error"
            )
            return
        self._work = work
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        for path in built:
            build_data["force_include"][str(path)] = path.relative_to(work / "lib").as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the compiler's work directory once the wheel holds its output."""
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _compile(source_root: Path, work: Path) -> list[Path]:
    """Run mypyc on `MODULES` under `source_root`; the shared libraries it built."""
    config = work / "mypy.ini"
    # Its own configuration: the project's strict one is for the checkers (nox -s typecheck),
    # and a package without types should not stop a build.
    config.write_text("[mypy]\n", encoding="utf-8")
    modules = [f"{PACKAGE}/{name}" for name in MODULES]
    result = subprocess.run(
        [sys.executable, "-c", _COMPILE, str(work), str(config), *modules],
        cwd=source_root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"mypyc exited with {result.returncode}:\n{tail}")
    built = sorted(p for p in (work / "lib").rglob("*") if p.suffix in (".so", ".pyd"))
    if len(built) < len(MODULES):
        raise RuntimeError(f"mypyc built {len(built)} libraries for {len(MODULES)} modules")
    return built
