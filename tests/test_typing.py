"""What a user's type checker sees: the public types, checked at runtime and by mypy/pyright.

The runtime tests always run. The strict type checks run user code (`SNIPPETS`) through
`mypy --strict` and pyright in strict mode, once each for all snippets (a few seconds). They
are marked `typing`, which the default run deselects: `nox -s typecheck` installs both tools
and runs them (`pytest -m typing`).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import typing
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import trio_gemini_live
from pure_twin import as_written
from trio_gemini_live import LiveEvent, LiveProtocol, LiveSession, RealtimeEvent

# Event classes that exist for the seed API only; a `LiveSession` never yields them.
SEED_ONLY = {"SpeechStarted", "InputAudioBufferDelta"}


def event_classes() -> dict[str, type[RealtimeEvent]]:
    return {
        name: value
        for name in trio_gemini_live.__all__
        if inspect.isclass(value := getattr(trio_gemini_live, name))
        and issubclass(value, RealtimeEvent)
        and value is not RealtimeEvent
    }


def test_live_event_is_every_event_class_a_session_yields() -> None:
    members = set(typing.get_args(LiveEvent))
    expected = {cls for name, cls in event_classes().items() if name not in SEED_ONLY}
    assert members == expected


def test_a_session_and_its_protocol_are_typed_with_the_event_union() -> None:
    assert typing.get_type_hints(LiveSession.receive)["return"] == LiveEvent
    assert typing.get_type_hints(LiveSession.__aiter__)["return"] == AsyncIterator[LiveEvent]
    receive_frame = as_written(LiveProtocol).receive_frame
    assert typing.get_type_hints(receive_frame)["return"] == list[LiveEvent]


# --- strict type checks of user code ---------------------------------------------------------

EXHAUSTIVE_MATCH = """
from typing import assert_never

from trio_gemini_live import (
    AudioDelta, Closed, CodeExecutionResult, ExecutableCode, FileReference, FunctionCall,
    FunctionCallDelta, FunctionCallOutput, GenerationComplete, GoAway, GroundingMetadata,
    InlineData, InputTranscription, InterimInputTranscription, Interrupted, LiveEvent,
    LiveSession, OutputTranscription, Reconnected, ResumptionUpdate, SessionCreated,
    SessionUpdated, TextDelta, ThoughtSignature, ToolCallCancellation, TurnComplete,
    UnknownMessage, UrlContextMetadata, Usage, VoiceActivity, WaitingForInput,
    AudioPartTranscription, ServerToolCall, ServerToolResponse,
)


def kind(event: LiveEvent) -> str:
    match event:
        case AudioDelta(pcm=pcm):
            return f"audio {len(pcm)}"
        case Interrupted(turn_id=turn):
            return f"interrupted {turn}"
        case TextDelta(text=text):
            return text
        case FunctionCall(call_id=call_id, name=name):
            return f"{name} {call_id}"
        case TurnComplete(usage=usage):
            return str(usage.total_token_count if usage is not None else 0)
        case (
            SessionCreated() | SessionUpdated() | InlineData() | ExecutableCode()
            | CodeExecutionResult() | OutputTranscription() | GroundingMetadata()
            | UrlContextMetadata() | WaitingForInput() | GenerationComplete() | Usage()
            | InputTranscription() | InterimInputTranscription() | VoiceActivity()
            | ToolCallCancellation() | GoAway() | ResumptionUpdate() | Reconnected()
            | Closed() | UnknownMessage() | FileReference() | ThoughtSignature()
            | FunctionCallDelta() | FunctionCallOutput() | ServerToolCall()
            | ServerToolResponse() | AudioPartTranscription()
        ):
            return event.type
        case _:
            assert_never(event)


async def consume(session: LiveSession) -> list[str]:
    kinds = [kind(await session.receive())]
    async for event in session:
        kinds.append(kind(event))
    return kinds
"""

# `send_audio` takes any buffer of 16-bit PCM, as its docstring says: `array('h')` too.
BUFFERS = """
from array import array

from trio_gemini_live import LiveSession


async def speak(session: LiveSession) -> None:
    samples = array("h", [0] * 320)
    await session.send_audio(samples)
    await session.send_audio(memoryview(samples))
    await session.send_audio(bytes(640), sample_rate=24000)
    await session.stream_audio([samples, bytearray(640)], realtime=False)
    await session.send_video(array("B", b"jpeg"))
"""

# The types public signatures name can be imported to annotate user code (they were only
# in private modules: `ClientMessage`, `AudioBuffer`, the `Setup` parts, `FramePredicate`).
SIGNATURE_TYPES = """
from trio_gemini_live import (
    AudioBuffer, AutomaticActivityDetection, ClientMessage, GeminiRealtimeClient, LiveSession,
    LLMConfig, RealtimeInput, RealtimeInputConfig, Role, ServerContent, ServerMessage,
    SessionOptions, SessionResumptionConfig, Setup,
)
from trio_gemini_live.emulator import EmulatorConnection, Frame, FramePredicate, Route


def manual_vad_setup(model: str) -> Setup:
    vad = AutomaticActivityDetection(disabled=True)
    return Setup(
        model=model,
        realtime_input_config=RealtimeInputConfig(automatic_activity_detection=vad),
        session_resumption=SessionResumptionConfig(),
    )


async def say(session: LiveSession, text: str, pcm: AudioBuffer) -> None:
    message: ClientMessage = ClientMessage(realtime_input=RealtimeInput(text=text))
    await session.send(message)
    await session.send_audio(pcm)


def seed_client(config: LLMConfig) -> GeminiRealtimeClient:
    return GeminiRealtimeClient(llm_config=config)


async def seed_say(client: GeminiRealtimeClient, role: Role, text: str) -> None:
    await client.send_text(role=role, text=text)


def other_transport() -> SessionOptions:
    return SessionOptions(transport="trio-websocket")


async def end_turn(connection: EmulatorConnection) -> tuple[Route | None, list[Frame]]:
    done: FramePredicate = "serverContent.turnComplete"
    await connection.send(ServerMessage(server_content=ServerContent(turn_complete=True)))
    return connection.route, await connection.wait_for_sent(done)
"""

ROOT = Path(__file__).resolve().parents[1]


def documented_programs() -> dict[str, str]:
    """The examples, and the README's and quickstart's Python blocks (each a whole program).

    They run as they are (test_examples.py); here they must also pass strict checks, as
    a user who copies one into a type-checked project expects.
    """
    programs = {path.stem: path.read_text(encoding="utf-8") for path in ROOT.glob("examples/*.py")}
    for page in (ROOT / "README.md", ROOT / "docs" / "quickstart.md"):
        blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
        for index, block in enumerate(blocks):
            programs[f"{page.stem.lower()}_{index}"] = block
    # The testing guide's files import each other (`from my_agent import ...`): each is
    # checked under the file name its first line gives (`# my_agent.py`).
    guide = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", guide, re.DOTALL):
        name = re.match(r"# (\w+)\.py\n", block)
        assert name is not None, block
        assert name.group(1) not in programs, f"two snippets named {name.group(1)}.py"
        programs[name.group(1)] = block
    return programs


SNIPPETS: dict[str, str] = {
    "exhaustive_match": EXHAUSTIVE_MATCH,
    "buffers": BUFFERS,
    "signature_types": SIGNATURE_TYPES,
    **documented_programs(),
}


def _package_root() -> Path:
    """The directory that holds the `trio_gemini_live` being tested (src/ or site-packages)."""
    return Path(trio_gemini_live.__file__).resolve().parents[1]


def _write_snippets(directory: Path) -> list[str]:
    names = []
    for name, code in SNIPPETS.items():
        (directory / f"{name}.py").write_text(code, encoding="utf-8")
        names.append(f"{name}.py")
    return names


def _check(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.mark.typing
def test_user_code_passes_mypy_strict(tmp_path: Path) -> None:
    files = _write_snippets(tmp_path)
    env = dict(os.environ)
    root = _package_root()
    if "site-packages" not in root.parts:  # a source checkout, not the installed package
        env["MYPYPATH"] = str(root)
    command = [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.11"]
    command += ["--cache-dir", str(tmp_path / ".mypy_cache"), *files]
    _check(subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True))


@pytest.mark.typing
def test_user_code_passes_pyright_strict(tmp_path: Path) -> None:
    files = _write_snippets(tmp_path)
    config = {
        "typeCheckingMode": "strict",
        "pythonVersion": "3.11",
        "extraPaths": [str(_package_root())],
    }
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    command = [sys.executable, "-m", "pyright", "--pythonpath", sys.executable, *files]
    _check(subprocess.run(command, cwd=tmp_path, capture_output=True, text=True))


# A typo of a `SessionOptions.transport` value is a type error (it was a `str`: only the
# run-time check said so).
TRANSPORT_TYPO = """
from trio_gemini_live import SessionOptions

OPTIONS = SessionOptions(transport="websocket")
"""


@pytest.mark.typing
def test_a_transport_typo_fails_both_type_checkers(tmp_path: Path) -> None:
    (tmp_path / "typo.py").write_text(TRANSPORT_TYPO, encoding="utf-8")
    env = dict(os.environ)
    root = _package_root()
    if "site-packages" not in root.parts:
        env["MYPYPATH"] = str(root)
    mypy = [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.11"]
    mypy += ["--cache-dir", str(tmp_path / ".mypy_cache"), "typo.py"]
    result = subprocess.run(mypy, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "typo.py:4: error:" in result.stdout, result.stdout
    config = {"typeCheckingMode": "strict", "pythonVersion": "3.11", "extraPaths": [str(root)]}
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    pyright = [sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "typo.py"]
    result = subprocess.run(pyright, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "typo.py:4:" in result.stdout, result.stdout
