"""Every example, and every Python program in the README and the quickstart, runs against the
emulator; every file of the testing guide runs as it says; and no snippet imports what
`pip install .` does not bring without saying so.

Each is run as a user would run it (`python examples/NAME.py`, no flags: the built-in
emulator on 127.0.0.1; `pytest` for the test files), in a subprocess bounded by a timeout.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import tomllib
import types
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
import trio
import trio.testing

from trio_gemini_live import (
    Content,
    FunctionCallPart,
    FunctionResponse,
    OutputTranscription,
    Part,
    RealtimeEvent,
    ServerContent,
    ServerMessage,
    TurnComplete,
    live_setup,
)
from trio_gemini_live.emulator import EmulatorConfig, open_emulator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"
QUICKSTART = ROOT / "docs" / "quickstart.md"
TESTING = ROOT / "docs" / "testing.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT = 60


def run_python(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def test_every_example_is_tested() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == {
        "voice_loop.py",
        "anyio_app.py",
        "tool_calling.py",
        "test_weather_agent.py",
    }


def test_voice_loop_flushes_playback_on_barge_in(tmp_path: Path) -> None:
    out = run_python([str(EXAMPLES / "voice_loop.py")], tmp_path).stdout
    assert "mic: talking over the model" in out
    assert "[barge-in] playback flushed:" in out
    match = re.search(r"barge-in dropped ([\d.]+) s of unplayed audio", out)
    assert match is not None, out
    dropped = float(match.group(1))
    assert dropped > 0.1
    with wave.open(str(tmp_path / "heard.wav"), "rb") as heard:
        assert (heard.getframerate(), heard.getnchannels(), heard.getsampwidth()) == (24000, 1, 2)
        played = heard.getnframes() / heard.getframerate()
    # Two echoed 1.5 s answers were sent; the first was cut short, so less than 3 s was heard.
    assert 1.5 < played < 3.0 - dropped + 0.1


def test_anyio_app(tmp_path: Path) -> None:
    out = run_python([str(EXAMPLES / "anyio_app.py")], tmp_path).stdout
    answers = [line for line in out.splitlines() if line.startswith("model: ")]
    assert answers == [
        "model: You said: Hello, who are you?  (1.7 s audio)",
        "model: You said: Say something about anyio.  (2.2 s audio)",
    ]
    assert out.rstrip().endswith("done")


def load_example(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ScriptedSession:
    """Stands in for a `LiveSession`: sends go nowhere, the events are given."""

    def __init__(self, events: list[RealtimeEvent]) -> None:
        self.events = events

    async def send_text(self, text: str) -> None:
        pass

    async def __aiter__(self) -> AsyncIterator[RealtimeEvent]:
        for event in self.events:
            await trio.lowlevel.checkpoint()
            yield event


# A turn cut off by new input, then the answer to that input: the cut-off turn's words were
# carried into the next answer.
INTERRUPTED_THEN_ANSWERED: list[RealtimeEvent] = [
    OutputTranscription(text="Half an ans"),
    TurnComplete(interrupted=True),
    OutputTranscription(text="The answer."),
    TurnComplete(),
]


async def test_anyio_app_leaves_an_interrupted_turn_out_of_the_next_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    example = load_example("anyio_app")
    send, receive = anyio.create_memory_object_stream[str](max_buffer_size=8)
    with trio.fail_after(5):
        await example.collect_answers(ScriptedSession(INTERRUPTED_THEN_ANSWERED), send)
        async with receive:
            assert [answer async for answer in receive] == ["The answer.  (0.0 s audio)"]


async def test_tool_calling_leaves_an_interrupted_turn_out_of_the_answer(
    autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example("tool_calling")
    with trio.fail_after(5):
        await example.ask(ScriptedSession(INTERRUPTED_THEN_ANSWERED), "What's up?")
    assert capsys.readouterr().out.splitlines()[-1] == "model: The answer."


async def test_tool_calling_does_not_answer_a_call_the_server_answered(
    autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # A call the server answered itself in the same frame (a FunctionCallOutput) was
    # answered again: `respond` refused it (LocalProtocolError) and the example died.
    example = load_example("tool_calling")
    parts = [
        Part(function_call=FunctionCallPart(id="srv-1", name="get_weather", args={"city": "Oslo"})),
        Part(function_response=FunctionResponse(id="srv-1", name="get_weather", response={})),
    ]
    frame = ServerMessage(
        server_content=ServerContent(model_turn=Content(parts=parts), turn_complete=True)
    )
    setup = live_setup(example.MODEL, functions=example.DECLARATIONS)
    async with open_emulator(EmulatorConfig()) as emu, emu.open_session(setup) as session:
        await (await emu.wait_for_connection(1)).send(frame)
        with trio.fail_after(5):
            assert await example.ask(session, "Weather in Oslo?") == []
    assert "[tool] get_weather answered by the server: {}" in capsys.readouterr().out


def test_tool_calling(tmp_path: Path) -> None:
    out = run_python([str(EXAMPLES / "tool_calling.py")], tmp_path).stdout
    assert "[tool] get_weather({'city': 'Paris'})" in out
    assert "[tool] get_time({'city': 'Tokyo'})" in out
    assert 'model: get_weather returned {"city": "Paris"' in out
    assert "done: tools called: get_weather, get_time" in out


def readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert len(readme_python_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(readme_python_blocks())))
def test_readme_python_block_runs(index: int, tmp_path: Path) -> None:
    script = tmp_path / f"readme_{index}.py"
    script.write_text(readme_python_blocks()[index], encoding="utf-8")
    run_python([str(script)], tmp_path)


def test_readme_quickstart_is_exactly_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    assert quickstart.splitlines() == [
        "pip install . && gemini-live demo",
        "pip install nox && nox -s tests",
    ]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


def quickstart_programs() -> list[str]:
    """The quickstart's complete programs (the other blocks are fragments)."""
    return [block for block in python_blocks(QUICKSTART) if re.search(r"^\w+\.run\(", block, re.M)]


def test_the_quickstart_has_programs() -> None:
    assert len(quickstart_programs()) >= 4


@pytest.mark.parametrize("index", range(len(quickstart_programs())))
def test_quickstart_program_runs(index: int, tmp_path: Path) -> None:
    script = tmp_path / f"quickstart_{index}.py"
    script.write_text(quickstart_programs()[index], encoding="utf-8")
    run_python([str(script)], tmp_path)


def run_pytest(test_file: str, cwd: Path) -> str:
    """Run one test file with pytest as a user would, with this package's plugin; its output.

    `-p trio_gemini_live.pytest_plugin` loads the plugin from a source checkout, where no
    entry point is installed; where one is (nox), it must not register the plugin twice.
    """
    args = ["-m", "pytest", test_file, "-p", "trio_gemini_live.pytest_plugin"]
    return run_python([*args, "-p", "no:cacheprovider", "-q"], cwd).stdout


def test_the_example_tests_pass_as_a_user_runs_them(tmp_path: Path) -> None:
    # Copied alone into an empty directory: no pytest configuration of this project (its
    # `trio_mode`, `pythonpath`) may be what makes it pass. Not collected by the project's own
    # run (`testpaths = ["tests"]`), so run here once.
    (tmp_path / "test_weather_agent.py").write_bytes(
        (EXAMPLES / "test_weather_agent.py").read_bytes()
    )
    out = run_pytest("test_weather_agent.py", tmp_path)
    assert re.search(r"^4 passed", out, re.M), out


def guide_files() -> list[tuple[str, str]]:
    """(file name, code) of each Python block of the testing guide; each names its file."""
    files = []
    for block in python_blocks(TESTING):
        header = re.fullmatch(r"# (\w+\.py)", block.split("\n", 1)[0])
        assert header, f"docs/testing.md: a Python block does not start with `# FILE.py`:\n{block}"
        files.append((header.group(1), block))
    return files


def guide_runs() -> dict[str, dict[str, str]]:
    """The guide's runnable files (tests, programs), each with the files it runs next to.

    Modules (the app under test) go next to every one; a `conftest.py` goes with the test
    file that follows it, the test that shows it at work.
    """
    support: dict[str, str] = {}
    runs: dict[str, dict[str, str]] = {}
    conftest = None
    for name, code in guide_files():
        if name == "conftest.py":
            conftest = code
        elif name.startswith("test_") or "trio.run(" in code:
            runs[name] = {name: code} | ({"conftest.py": conftest} if conftest else {})
            conftest = None
        else:
            support[name] = code
    assert conftest is None, "docs/testing.md: a conftest.py with no test file after it"
    return {name: support | files for name, files in runs.items()}


def test_the_testing_guide_has_tests_and_a_program() -> None:
    runs = guide_runs()
    assert len([name for name in runs if name.startswith("test_")]) >= 6
    assert any("pytest.mark.anyio" in files[name] for name, files in runs.items())
    assert any(name == "conftest.py" for files in runs.values() for name in files)
    assert len(runs) - len([name for name in runs if name.startswith("test_")]) == 1


@pytest.mark.parametrize("name", list(guide_runs()))
def test_testing_guide_file_runs(name: str, tmp_path: Path) -> None:
    files = guide_runs()[name]
    for file_name, code in files.items():
        (tmp_path / file_name).write_text(code, encoding="utf-8")
    if not name.startswith("test_"):
        run_python([name], tmp_path)
        return
    # The guide's pytest configuration (trio mode), except where it says not to: the two
    # plugins must not both claim the anyio tests.
    if "pytest.mark.anyio" not in files[name]:
        [toml] = re.findall(r"```toml\n(.*?)```", TESTING.read_text(encoding="utf-8"), re.DOTALL)
        (tmp_path / "pyproject.toml").write_text(toml, encoding="utf-8")
    out = run_pytest(name, tmp_path)
    tests = len(re.findall(r"^(?:async )?def test_", files[name], re.M))
    assert re.search(rf"^{tests} passed", out, re.M), out


def installed_by_the_package() -> set[str]:
    """Import names of the package and its runtime dependencies (what `pip install .` brings)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {"trio_gemini_live"}
    for requirement in project["dependencies"]:
        distribution = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert distribution is not None
        names.add(distribution.group(0).lower().replace("-", "_"))
    return names


def imported_modules(block: str) -> set[str]:
    """Top-level names of the modules a snippet imports (a fragment that does not parse: none)."""
    try:
        tree = ast.parse(block)
    except SyntaxError:
        return set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_snippets_import_only_what_is_installed_or_said(document: Path) -> None:
    # The README's anyio example failed with ModuleNotFoundError after the Quickstart's
    # `pip install .`: anyio is not a dependency, and nothing said to install it.
    text = document.read_text(encoding="utf-8")
    available = installed_by_the_package() | set(sys.stdlib_module_names)
    # A page may show a module of the reader's own first (docs/testing.md: `# my_agent.py`).
    blocks = python_blocks(document)
    available |= {m.group(1) for b in blocks if (m := re.match(r"# (\w+)\.py\n", b))}
    for block in blocks:
        for module in imported_modules(block) - available:
            assert f"pip install {module}" in text, (
                f"{document.name}: a snippet imports {module}, which `pip install .` does not "
                f"install, and the page does not say `pip install {module}`"
            )


def test_the_quickstart_names_every_runtime_dependency() -> None:
    # It listed five of the six (not wsproto, which the emulator's server drives).
    sentence = QUICKSTART.read_text(encoding="utf-8").split("The library depends on ", 1)[1]
    named = set(re.findall(r"`([\w.-]+)`", sentence.split(".\n", 1)[0]))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    required = {re.split(r"[<>=!~ \[;]", entry, maxsplit=1)[0] for entry in project["dependencies"]}
    assert named == required
