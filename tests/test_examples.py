"""Every example, and every Python block of the README, runs against the emulator.

Each is run as a user would run it (`python examples/NAME.py`, no flags: the built-in
emulator on 127.0.0.1), in a subprocess bounded by a timeout.
"""

from __future__ import annotations

import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"
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
