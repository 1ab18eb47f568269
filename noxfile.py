"""Every check the project runs, locally and in CI (`bash .ci/run` calls `nox`).

Tools come from the extras in pyproject.toml (declared once there); each session builds its
own venv with the stdlib `venv` module, so nothing beyond `pip install nox` is needed.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import nox
from nox.command import CommandFailed

nox.needs_version = ">=2024.3.2"
nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
LINT_PATHS = [
    p
    for p in ("src", "tests", "benchmarks", "examples", "noxfile.py", "hatch_build.py")
    if (ROOT / p).exists()
]
# pytest's exit code when it collected (or selected) no test at all.
PYTEST_NO_TESTS = 5
# The Pythons the package supports (pyproject's classifiers); `nox -s pythons` tests each.
SUPPORTED_PYTHONS = ["3.11", "3.12", "3.13"]
# Which build of the package a session installs (hatch_build.py), and tells its tests to
# expect: the default run tests the compiled build that the benchmarks measure, the run at
# the lower bounds the pure-Python one, so that CI covers both.
COMPILED = {"TRIO_GEMINI_LIVE_BUILD": "compiled", "TRIO_GEMINI_LIVE_EXPECT_BUILD": "compiled"}
PURE = {"TRIO_GEMINI_LIVE_BUILD": "pure", "TRIO_GEMINI_LIVE_EXPECT_BUILD": "pure"}


def _extra(name: str) -> list[str]:
    """The requirements of one optional-dependency group, read from pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        extras: dict[str, list[str]] = tomllib.load(f)["project"]["optional-dependencies"]
    return extras[name]


def _pytest(
    session: nox.Session,
    *args: str,
    env: dict[str, str] | None = None,
    none_selected: str | None = None,
) -> None:
    """Run pytest; the one place every session goes through to run tests.

    "No tests ran" (exit code 5) is a failure, never a pass: an import error hidden by a
    wrong path, or a marker nobody uses, must not turn CI green. Sessions whose selection
    may legitimately be empty pass `none_selected`, a message: the session is then skipped
    (loudly) instead of failed.
    """
    try:
        session.run("python", "-m", "pytest", *args, *session.posargs, env=env)
    except CommandFailed as exc:
        if getattr(exc, "return_code", None) == PYTEST_NO_TESTS:
            if none_selected is not None:
                session.skip(none_selected)
            session.error(
                "pytest collected no tests (exit code 5): treated as a failure. "
                "Check the test paths, markers and `-k` expressions."
            )
        raise


@nox.session
def tests(session: nox.Session) -> None:
    """The default test run: the compiled package with its test extra, then the whole suite."""
    session.install(".[test]", env=COMPILED)
    _pytest(session, env=COMPILED)


@nox.session(python=SUPPORTED_PYTHONS)
def pythons(session: nox.Session) -> None:
    """The default test run on each supported Python (a missing interpreter is an error)."""
    session.install(".[test]", env=COMPILED)
    _pytest(session, env=COMPILED)


def _lowest_pins(session: nox.Session) -> list[str]:
    """`name==X` for each runtime dependency, declared in pyproject.toml as `name>=X`."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        dependencies: list[str] = tomllib.load(f)["project"]["dependencies"]
    pins = []
    for dependency in dependencies:
        name, bound, version = dependency.partition(">=")
        if not bound or not version.strip():
            session.error(f"a runtime dependency without a `>=` lower bound: {dependency!r}")
        pins.append(f"{name.strip()}=={version.strip()}")
    return pins


@nox.session
def lowest(session: nox.Session) -> None:
    """The default test run with every runtime dependency at its declared lower bound.

    Pure Python: the default run tests the compiled build (see `COMPILED`).
    """
    session.install(".[test]", *_lowest_pins(session), env=PURE)
    session.run("python", "-m", "pip", "freeze")
    _pytest(session, env=PURE)


def _run_all(session: nox.Session, *commands: tuple[str, ...]) -> None:
    """Run every command even after one fails, so one run reports every problem."""
    failed = []
    for command in commands:
        try:
            session.run(*command)
        except CommandFailed:
            failed.append(" ".join(command))
    if failed:
        session.error("failed: " + "; ".join(failed))


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check (no package install needed)."""
    session.install(*_extra("lint"))
    _run_all(
        session,
        ("ruff", "check", *LINT_PATHS),
        ("ruff", "format", "--check", *LINT_PATHS),
    )


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy strict and pyright strict on src/ and on user code (pyright brings its own node)."""
    session.install(".[typecheck,test]", env=PURE)  # the checkers read the sources
    # Paths and strictness come from [tool.mypy] and [tool.pyright]; pyright finds the
    # session's interpreter on PATH, so it sees the installed dependencies. Then what a
    # user's checker sees: the documented programs under both, in strict mode (`typing`).
    _run_all(
        session,
        ("mypy",),
        ("pyright",),
        ("python", "-m", "pytest", "tests", "-m", "typing"),
    )


@nox.session
def fuzz(session: nox.Session) -> None:
    """Long property runs: tests marked `fuzz` and every tests/**/test_fuzz*.py file."""
    session.install(".[test]")
    _pytest(
        session,
        "tests",
        "-m",
        "fuzz",
        "--timeout=0",
        env={"HYPOTHESIS_PROFILE": "fuzz"},
        none_selected="no fuzz tests yet: nothing is marked `fuzz`, no tests/**/test_fuzz*.py",
    )


@nox.session
def bench(session: nox.Session) -> None:
    """The fixed, seeded benchmark scenarios in benchmarks/ (`python -m benchmarks`)."""
    if not (ROOT / "benchmarks" / "__main__.py").exists():
        session.skip("benchmarks/__main__.py does not exist yet: nothing to run")
    # The peers' own dependencies (websockets, pydantic, anyio) pinned too (constraints.txt).
    # The compiled build: the one the figures are for (pure Python is a row of its own).
    session.install(".[bench]", "-c", "benchmarks/constraints.txt", env=COMPILED)
    session.run("python", "-m", "pip", "freeze")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; any warning (broken link, missing page) fails."""
    session.install(".[docs]")
    # The env var only silences mkdocs-material's end-of-life banner.
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def demo(session: nox.Session) -> None:
    """The end-to-end demo: `gemini-live demo` (against the local emulator)."""
    session.install(".")
    session.run("gemini-live", "demo", *session.posargs)


@nox.session
def faults(session: nox.Session) -> None:
    """Resilience soak: 500 seeded fault schedules (the tests marked `faults`)."""
    session.install(".[test]")
    _pytest(
        session,
        "tests",
        "-m",
        "faults",
        "-s",
        "--timeout=0",
        env={"SOAK_SCHEDULES": os.environ.get("SOAK_SCHEDULES", "500")},
        none_selected="no tests are marked `faults`: nothing to soak",
    )
