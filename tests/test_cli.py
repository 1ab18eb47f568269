"""The `gemini-live` command line: demo, talk, emulator dispatch, and its error messages.

Commands run in-process through `main([...])` (each runs its own `trio.run`, so these tests
are synchronous); a server with special behaviour runs in a thread. One subprocess test runs
`gemini-live demo` exactly as the README says. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import trio
import trio.testing

import trio_gemini_live
from trio_gemini_live import (
    AudioDelta,
    Content,
    Endpoint,
    FileData,
    FileReference,
    FunctionCallDelta,
    FunctionCallOutput,
    FunctionCallPart,
    FunctionResponse,
    InputTranscription,
    LiveSession,
    OutputTranscription,
    Part,
    Reconnected,
    ServerContent,
    ServerMessage,
    SessionState,
    TextDelta,
    ToolCallCancellation,
    TurnComplete,
    function_tool,
    gemini_endpoint,
    live_setup,
    open_session,
)
from trio_gemini_live._build_info import build_name
from trio_gemini_live._wav import (
    pcm_duration,
    pcm_rms,
    resample_pcm,
    speech_like_pcm,
    write_wav,
)
from trio_gemini_live.cli import build_parser, main
from trio_gemini_live.cli._conversation import Conversation
from trio_gemini_live.cli._errors import CliError
from trio_gemini_live.cli._metrics import Metrics
from trio_gemini_live.cli._report import Reporter
from trio_gemini_live.cli._talk import run_talk
from trio_gemini_live.emulator import (
    EmulatorConfig,
    Fault,
    Scenario,
    ScenarioToolCall,
    ScenarioTurn,
    open_emulator,
)
from trio_gemini_live.emulator._cli import _bad_host  # pyright: ignore[reportPrivateUsage]
from trio_gemini_live.emulator._server import _listen_error  # pyright: ignore[reportPrivateUsage]

SECRET = "sk-test-secret-0123456789"


# --- helpers -------------------------------------------------------------------------------


@contextmanager
def emulator_in_thread(config: EmulatorConfig | None = None) -> Iterator[str]:
    """Run an emulator in its own trio loop on a thread; yield its base ws:// URL."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        async with open_emulator(config) as emulator:
            with trio.CancelScope() as scope:
                state.update(
                    url=emulator.url, scope=scope, token=trio.lowlevel.current_trio_token()
                )
                ready.set()
                await trio.sleep_forever()

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    assert ready.wait(10), "the emulator did not start"
    try:
        yield state["url"]
    finally:
        trio.from_thread.run_sync(state["scope"].cancel, trio_token=state["token"])
        thread.join(10)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_wav_file(path: Path) -> tuple[int, int, int, bytes]:
    with wave.open(str(path), "rb") as wav:
        return (
            wav.getframerate(),
            wav.getnchannels(),
            wav.getsampwidth(),
            wav.readframes(wav.getnframes()),
        )


def stereo_44k_wav(path: Path, seconds: float = 1.6) -> Path:
    """A speech-like WAV in a format the API does not take (44.1 kHz stereo 16-bit)."""
    mono = speech_like_pcm(seconds, sample_rate=44100)
    stereo = b"".join(mono[i : i + 2] * 2 for i in range(0, len(mono), 2))
    write_wav(path, stereo, sample_rate=44100, channels=2)
    return path


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


def assert_clean_error(err: str, *needles: str) -> None:
    """One `gemini-live: error: ...` line naming the problem, and no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("gemini-live: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


# --- basics --------------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    version = trio_gemini_live.__version__
    assert capsys.readouterr().out.strip() == f"gemini-live {version}, {build_name()}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "usage: gemini-live" in err
    assert "the following arguments are required: COMMAND" in err


@pytest.mark.parametrize("args", [["--bogus"], ["--bogus", "demo"], ["demo", "--bogus"]])
def test_an_unknown_option_is_named_even_without_a_command(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # `gemini-live --bogus` said only that COMMAND was required.
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "usage: gemini-live" in err
    assert err.strip().endswith("error: unrecognized arguments: --bogus")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # an unknown spelling: its value was printed as an unrecognized argument
        (["talk", "--api_key", SECRET, "-t", "hi"], "unrecognized arguments: --api_key ("),
        (["talk", f"--api_key={SECRET}", "-t", "hi"], "unrecognized arguments: --api_key"),
        (["talk", "--token", SECRET], "unrecognized arguments: --token ("),
        # before the command: the key was taken for the command ("invalid choice: KEY")
        (["-v", "--api-key", SECRET, "talk"], "--api-key goes after the command"),
        ([f"--api-key={SECRET}", "talk", "-t", "hi"], "--api-key goes after the command"),
        (["--api-k", SECRET, "talk"], "--api-k goes after the command"),
        (["--token", SECRET, "talk"], "unrecognized arguments: --token"),
        # argparse's own errors quoting a value: ambiguous, invalid choice, invalid type
        (["talk", f"--api={SECRET}", "-t", "hi"], "ambiguous option: --api=<hidden>"),
        (["talk", "--api-key", SECRET, "--api-version", SECRET], "invalid choice: '<hidden>'"),
        (["talk", "--api-key", SECRET, "--timeout", SECRET], "invalid float value: '<hidden>'"),
        # before `emulator`: the global options were parsed before any value was hidden
        ([f"--api-key={SECRET}", "emulator"], "--api-key goes after the command: gemini-live em"),
        (["-v", f"--api-key={SECRET}", "emulator"], "--api-key goes after the command"),
        ([f"--bogus={SECRET}", "emulator"], "unrecognized arguments: --bogus"),
        # the emulator's own parser quoted them as they were
        (["emulator", "--api_key", SECRET], "unrecognized arguments: --api_key ("),
        (["emulator", f"--key={SECRET}"], "unrecognized arguments: --key"),
        (["emulator", f"--a={SECRET}"], "ambiguous option: --a=<hidden>"),
        (["emulator", "--api-key", SECRET, "--port", SECRET], "not a port number: '<hidden>'"),
        # any prefix of --api-key argparse could take: `--a`, `--ap` (`--api` was covered)
        (["talk", f"--ap={SECRET}", "-t", "hi"], "ambiguous option: --ap=<hidden>"),
        (["talk", f"--a={SECRET}", "-t", "hi"], "ambiguous option: --a=<hidden>"),
        (["--ap", SECRET, "talk"], "--ap goes after the command"),
        (["--a", SECRET, "talk"], "--a goes after the command"),
        # a URL's key, wherever argparse quotes the URL: before the command it was taken for
        # the command ("invalid choice: 'ws://...?key=KEY'")
        (
            ["--url", f"ws://127.0.0.1:8765/?key={SECRET}", "talk", "-t", "hi"],
            "invalid choice: 'ws://127.0.0.1:8765/?key=REDACTED'",
        ),
        (
            ["talk", "--timeout", f"ws://127.0.0.1/?access_token={SECRET}", "-t", "hi"],
            "invalid float value: 'ws://127.0.0.1/?access_token=REDACTED'",
        ),
        (["talk", "--api-version", f"ws://u:{SECRET}@h/"], "invalid choice: 'ws://u:REDACTED@h/'"),
        (["emulator", "--port", f"ws://h/?token={SECRET}"], "not a port number: 'ws://h/?token"),
        # ... and as an option's value after '=': argparse quotes the value alone
        (
            ["talk", f"--timeout=ws://127.0.0.1:1/?key={SECRET}", "-t", "hi"],
            "invalid float value: 'ws://127.0.0.1:1/?key=REDACTED'",
        ),
        (["talk", f"--api-version=ws://h/?key={SECRET}"], "invalid choice: 'ws://h/?key=REDACTED'"),
        (["emulator", f"--port=ws://h/?key={SECRET}"], "not a port number: 'ws://h/?key=REDACTED"),
    ],
)
def test_a_usage_error_never_shows_a_key(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert SECRET not in err
    assert expected in err, err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # a short key was replaced inside every word: "argum<hidden>nt --tim<hidden>out"
        (["talk", "--api-key", "e", "--timeout", "x"], "argument --timeout: invalid float value"),
        (["talk", "--api-key", "e", "--timeout", "e"], "invalid float value: '<hidden>'"),
        (["emulator", "--api-key", "o", "--port", "x"], "argument --port: not a port number"),
        # options that start like --api-key but cannot be it keep their values shown
        (["talk", "--api-version", "v9"], "argument --api-version: invalid choice: 'v9'"),
        (["emulator", "--au", "-1"], "argument --audio-session-limit: a limit cannot be"),
    ],
)
def test_a_usage_error_with_a_short_key_stays_readable(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err, err


def test_an_unrecognized_argument_that_is_no_option_is_counted_not_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["talk", SECRET, "-t", "hi"]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "unrecognized arguments: 1 argument (not shown)" in err


@pytest.mark.parametrize("bad", ["\n", "\r\n", "\u2603"])
def test_a_key_with_a_newline_is_refused_by_name(
    bad: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `export GEMINI_API_KEY=$(cat key.txt)` keeps no newline, but `--api-key "$(<f)"`
    # in other shells, or a key pasted with one, reached websockets: "internal error:
    # InvalidHeaderValue: ... KEY".
    monkeypatch.setenv("GEMINI_API_KEY", SECRET + bad)
    assert main(["talk", "-t", "hi"]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err
    # Named by where it came from: "api_key" alone sent the user looking for a parameter.
    assert_clean_error(err, "GEMINI_API_KEY: api_key contains a control or non-ASCII character")
    assert main(["talk", "--url", "ws://127.0.0.1:9", "--api-key", SECRET + bad, "-t", "x"]) != 0
    err = capsys.readouterr().err
    assert SECRET not in err
    assert_clean_error(err, "api_key contains a control or non-ASCII character")


def test_a_url_with_a_fragment_or_a_bad_port_is_refused_unseen(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for url in (
        f"http://x/#access_token={SECRET}",
        f"ws://127.0.0.1:9/ws#access_token={SECRET}",
        f"ws://127.0.0.1:8765&key={SECRET}",
    ):
        assert main(["talk", "--url", url, "-t", "hi"]) == 2
        err = capsys.readouterr().err
        assert SECRET not in err
        assert_clean_error(err)


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "talk", "emulator"):
        assert command in out


def test_emulator_arguments_are_passed_through(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_main(argv: list[str] | None = None) -> int:
        seen.append(list(argv or []))
        return 7

    monkeypatch.setattr("trio_gemini_live.emulator.emulator_main", fake_main)
    assert main(["-v", "emulator", "--port", "0", "--fault", "reset@frames=3"]) == 7
    assert main(["emulator"]) == 7
    assert seen == [["--port", "0", "--fault", "reset@frames=3"], []]


@pytest.mark.parametrize(
    ("argv", "verbosity"),
    [
        (["emulator", "--port", "0", "-v"], 1),
        (["-v", "emulator", "-vv", "--port", "0"], 3),
        (["emulator", "--verbose", "--port", "0"], 1),
        (["demo", "-v"], 1),
        (["-v", "demo", "-v"], 2),
        (["talk", "--emulator", "--text", "hi", "-vv"], 2),
        (["talk", "--emulator", "--text", "hi"], 0),
    ],
)
def test_verbose_is_counted_after_the_command_too(
    argv: list[str], verbosity: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `gemini-live talk ... -v` was "unrecognized arguments: -v": only `-v` before the
    # command was accepted, with no hint.
    levels: list[int] = []
    emulator_args: list[list[str]] = []

    def fake_emulator(args: list[str] | None = None) -> int:
        emulator_args.append(list(args or []))
        return 0

    async def fake_talk(options: object) -> int:
        return 0

    async def fake_demo(**options: object) -> None:
        return None

    monkeypatch.setattr("trio_gemini_live.cli._configure_logging", levels.append)
    monkeypatch.setattr("trio_gemini_live.emulator.emulator_main", fake_emulator)
    monkeypatch.setattr("trio_gemini_live.cli.run_talk", fake_talk)
    monkeypatch.setattr("trio_gemini_live.cli.run_demo", fake_demo)
    assert main(argv) == 0
    assert levels == [verbosity]
    assert all("-v" not in args and "-vv" not in args for args in emulator_args)


@pytest.mark.parametrize(("flags", "shown"), [([], False), (["-v"], True)])
def test_library_warnings_reach_stderr_only_with_verbose(
    flags: list[str],
    shown: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without -v, logging's last resort printed the library's warnings raw beside the
    # one-line error ("the session ended with 64 message(s) sent but not written: ...").
    monkeypatch.setattr(logging.root, "handlers", [])  # as outside pytest, which adds its own
    monkeypatch.setattr(logging.root, "level", logging.root.level)
    setup = live_setup

    def warning_setup(*args: Any, **kwargs: Any) -> Any:
        logging.getLogger("trio_gemini_live.session").warning("a library warning")
        return setup(*args, **kwargs)

    monkeypatch.setattr("trio_gemini_live.cli._talk.live_setup", warning_setup)
    assert main([*flags, "talk", "--emulator", "--text", "hi"]) == 0
    assert ("a library warning" in capsys.readouterr().err) == shown


@pytest.mark.parametrize(("flag", "traceback"), [("-v", False), ("-vv", True)])
def test_a_failure_logs_its_traceback_at_debug_only(
    flag: str, traceback: bool, tmp_path: Path
) -> None:
    # `-v` asks for the session's progress: a missing input file printed a traceback too,
    # where the README promises one line. `-vv` (debugging) still logs it.
    missing = str(tmp_path / "missing.wav")
    result = subprocess.run(
        [sys.executable, "-m", "trio_gemini_live.cli", flag, "talk", "--emulator", "-i", missing],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert ("Traceback" in result.stderr) is traceback
    assert "gemini-live: error: cannot read" in result.stderr


def test_emulator_help_comes_from_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--help"]) == 0
    assert "usage: gemini-live emulator" in capsys.readouterr().out


# --- demo ----------------------------------------------------------------------------------


def test_demo_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reply = tmp_path / "reply.wav"
    assert main(["demo", "--output", str(reply)]) == 0
    out = capsys.readouterr().out
    # The four scripted steps, with live transcripts and events.
    assert "you: Hello, can you hear me?" in out
    assert "model: Trio runs every task inside a nursery" in out
    assert '[tool call] get_weather({"city": "Paris"})' in out
    assert "[tool result] get_weather ->" in out
    assert "[barge-in] the model was interrupted" in out
    assert "turns:               4 completed, 1 interrupted, 1 tool call(s)" in out
    for label in ("time to first audio:", "audio sent:", "audio received:", "CPU per frame:"):
        assert label in out
    # The README shows the tool-call turn as the demo prints it (it showed token counts of
    # an older emulator); what follows the barge-in depends on timing.
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("```text\n", 1)[1].split("== 4/4", 1)[0]
    assert shown.startswith("== 3/4 tool call")
    for line in shown.splitlines():
        assert line in out.splitlines(), line
    rate, channels, width, frames = read_wav_file(reply)
    assert (rate, channels, width) == (24000, 1, 2)
    assert len(frames) / (2 * rate) > 5.0
    assert pcm_rms(frames) > 300


def test_demo_on_a_gemini_3_model_prints_each_transcript_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 3.1-style frames carry each spoken fragment as a text part beside the audio and as
    # the output transcript: both went into the line ("model: Hello, Hello, can you ...").
    reply = tmp_path / "reply.wav"
    model = "gemini-3.1-flash-live-preview"
    assert main(["demo", "--model", model, "--output", str(reply)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "model: Hello, can you hear me?" in lines
    assert "model: Trio runs every task inside a nursery, so nothing is ever left running." in lines


def test_a_text_part_beside_audio_is_not_shown_twice() -> None:
    out = io.StringIO()
    reporter = Reporter(out, err=out)
    for event in (
        AudioDelta(pcm=bytes(960), sample_rate=24000),
        TextDelta(text="Hi "),
        OutputTranscription(text="Hi "),
        TurnComplete(),
        TextDelta(text="Typed answer"),  # a text turn: no audio, shown
    ):
        reporter.event(event)
    assert out.getvalue().count("Hi") == 1
    assert "Typed answer" in out.getvalue()


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        (
            "trio_gemini_live.cli",
            ("pytest", "_pytest", "trio.testing", "trio_gemini_live.emulator"),
        ),
        ("trio_gemini_live.emulator", ("pytest", "_pytest", "trio.testing")),
    ],
)
def test_start_up_imports_no_test_tools(module: str, heavy: tuple[str, ...]) -> None:
    # The CLI imported the emulator, and the emulator trio.testing, which imports pytest: half
    # a second to a second of start-up, and a Ctrl-C in it printed a traceback.
    code = (
        f"import sys, {module}\n"
        f"heavy = {heavy!r}\n"
        "print(*(m for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_demo_as_a_command_in_a_fresh_directory(tmp_path: Path) -> None:
    """`gemini-live demo` exactly as the README's quickstart runs it."""
    command = shutil.which("gemini-live")
    prefix = [command] if command else [sys.executable, "-m", "trio_gemini_live.cli"]
    result = subprocess.run(
        [*prefix, "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "wrote reply.wav" in result.stdout
    rate, channels, width, frames = read_wav_file(tmp_path / "reply.wav")
    assert (rate, channels, width) == (24000, 1, 2)
    assert len(frames) > 24000 * 2  # more than a second of audio
    assert pcm_rms(frames) > 300


# --- talk ----------------------------------------------------------------------------------


def test_talk_to_the_embedded_emulator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = stereo_44k_wav(tmp_path / "in.wav")
    output = tmp_path / "out.wav"
    code = main(
        ["talk", "--emulator", "--input", str(source), "--text", "Hi there", "-o", str(output)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "input: " in captured.out
    assert "44.1 kHz stereo 16-bit PCM" in captured.out
    assert "silent" not in captured.out
    assert "you: Hello, can you hear me?" in captured.out  # the live input transcript
    assert "model: You said: Hi there" in captured.out
    assert f"wrote {output}" in captured.out
    rate, channels, width, frames = read_wav_file(output)
    assert (rate, channels, width) == (24000, 1, 2)
    assert pcm_rms(frames) > 300
    # The echo of 1.6 s of speech plus the spoken text answer.
    assert len(frames) / (2 * rate) > 2.0


def test_talk_to_a_running_emulator_by_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator_in_thread(EmulatorConfig(api_keys=frozenset({SECRET}))) as url:
        code = main(["talk", "--url", url, "--api-key", SECRET, "--text", "ping"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "model: You said: ping" in captured.out
    assert "received " in captured.out  # no --output: says how to keep the audio
    assert SECRET not in captured.out + captured.err


def test_talk_by_url_with_a_query_and_no_path(capsys: pytest.CaptureFixture[str]) -> None:
    # The standard path used to be appended after the query (`/?key=...` + `/ws/...`).
    with emulator_in_thread(EmulatorConfig(api_keys=frozenset({SECRET}))) as url:
        code = main(["talk", "--url", f"{url}/?key={SECRET}", "--api-key", SECRET, "--text", "hi"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "model: You said: hi" in captured.out
    assert SECRET not in captured.out + captured.err


def test_talk_by_url_uses_the_key_in_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    # Without --api-key, the placeholder key used to replace the URL's `?key=`.
    with emulator_in_thread(EmulatorConfig(api_keys=frozenset({SECRET}))) as url:
        code = main(["talk", "--url", f"{url}/?key={SECRET}", "--text", "hi"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "model: You said: hi" in captured.out
    assert SECRET not in captured.out + captured.err


def test_talk_by_url_refuses_a_key_other_than_the_urls(capsys: pytest.CaptureFixture[str]) -> None:
    # Before: --api-key silently took the place of the URL's key.
    url = f"ws://127.0.0.1:1/?key={SECRET}"
    assert main(["talk", "--url", url, "--api-key", "another-key-987", "--text", "hi"]) == 2
    captured = capsys.readouterr()
    assert_clean_error(captured.err, "two different API keys")
    assert SECRET not in captured.out + captured.err
    assert "another-key-987" not in captured.out + captured.err


def test_talk_api_version_applies_to_an_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    # It was ignored with --emulator and --url: the path always said v1beta.
    path = "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent"
    assert main(["talk", "--emulator", "--api-version", "v1alpha", "--text", "hi"]) == 0
    assert f"{path} (model " in capsys.readouterr().out
    with emulator_in_thread() as url:
        assert main(["talk", "--url", url, "--api-version", "v1alpha", "--text", "hi"]) == 0
    assert f"connecting to {url}{path} (model " in capsys.readouterr().out


def test_talk_shows_progress_on_long_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "long.wav"
    write_wav(source, speech_like_pcm(6.0), sample_rate=16000)
    assert main(["talk", "--emulator", "--input", str(source)]) == 0
    err = capsys.readouterr().err
    assert "sending long.wav: 25%" in err
    assert "sending long.wav: 100% (6.0/6.0 s)" in err


@pytest.mark.parametrize(
    ("pcm", "level"),
    [(bytes(32000), "all samples are 0"), (b"\x05\x00\xfb\xff" * 8000, "its peak is -76 dBFS")],
    ids=["zeros", "noise floor"],
)
def test_talk_with_silent_input_says_why_no_answer_came(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pcm: bytes, level: str
) -> None:
    # Before: only "no answer from the model within 60 s", after the whole wait. (The
    # wait here is a short real one: silence never starts a turn, so nothing else ends it.)
    source = tmp_path / "quiet.wav"
    write_wav(source, pcm, sample_rate=16000)
    assert main(["talk", "--emulator", "--input", str(source), "--timeout", "0.05"]) == 1
    captured = capsys.readouterr()
    assert f"warning: quiet.wav is silent ({level})" in captured.out
    assert_clean_error(
        captured.err,
        "no answer from the model within 0.05 s: quiet.wav is silent",
        "voice activity detection hears no speech",
    )


class Terminal(io.StringIO):
    """Standard output and standard error on one terminal (they share the screen)."""

    def isatty(self) -> bool:
        return True

    def screen_lines(self) -> list[str]:
        """The lines as shown: a line rewritten after `\\r` shows its last version."""
        return [line.rsplit("\r", 1)[-1] for line in self.getvalue().split("\n")]


@asynccontextmanager
async def in_memory_talk(
    monkeypatch: pytest.MonkeyPatch, config: EmulatorConfig, *, buffer: int | None = None
) -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """`gemini-live talk` run in this test's trio loop (its clock, e.g. the autojump one)
    against an emulator over in-memory streams; yields `talk(*args, out=...)`."""
    async with open_emulator(config) as emu:

        def session(setup: Any, endpoint: Any) -> Any:
            return emu.open_session(setup, buffer=buffer)

        monkeypatch.setattr("trio_gemini_live.cli._talk.open_session", session)

        async def talk(*args: str, out: io.StringIO) -> int:
            options = build_parser().parse_args(["talk", "--url", emu.url, *args])
            return await run_talk(options, out=out)

        yield talk


def utterances(path: Path, *pieces: float) -> Path:
    """A 16 kHz WAV of speech and pauses: seconds of speech, of silence, of speech..."""
    pcm = b"".join(
        speech_like_pcm(seconds, seed=n) if n % 2 == 0 else bytes(2 * int(seconds * 16000))
        for n, seconds in enumerate(pieces)
    )
    write_wav(path, pcm, sample_rate=16000)
    return path


async def test_talk_waits_for_the_answer_to_every_utterance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    # With two utterances in the input, talk waited for one turn only: it stopped in the
    # middle of the answer to the second one (a turn that completed before the end of the
    # input counted as the answer).
    source = utterances(tmp_path / "two.wav", 1.0, 2.0, 1.0)
    output = tmp_path / "out.wav"
    out = io.StringIO()
    config = EmulatorConfig(pacing="realtime", input_transcript="first or second")
    async with in_memory_talk(monkeypatch, config) as talk:
        assert await talk("-i", str(source), "--realtime", "-o", str(output), out=out) == 0
    assert out.getvalue().count("model: first or second\n[turn complete:") == 2
    rate, _, _, frames = read_wav_file(output)
    assert len(frames) / (2 * rate) > 1.8  # both answers, whole (each about 0.95 s)


async def test_talk_gives_up_sending_to_a_server_that_stopped_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    # Each send waited for room, the session reconnected and replayed, and waited again:
    # talk ran forever (--timeout covered only the wait for answers).
    source = utterances(tmp_path / "long.wav", 2.0, 1.0)
    stop_reading = Fault(kind="slow-read", seconds=1e9, read_bytes=4096)
    async with in_memory_talk(
        monkeypatch, EmulatorConfig(faults=(stop_reading,)), buffer=8192
    ) as talk:
        with trio.fail_after(3600), pytest.raises(CliError) as raised:
            await talk("-i", str(source), "--timeout", "5", out=io.StringIO())
    assert raised.value.message == (
        "could not send long.wav within 9.0 s: the server did not take it all in time (it may "
        "have stopped reading, or --timeout is too short)"
    )
    assert raised.value.exit_code == 1


async def test_talk_says_a_reconnection_was_under_way_when_the_sending_ran_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    # The server went away mid-input: the session was still trying to reconnect (connection
    # refused) when the sending ran out, and talk said the server "stopped reading".
    source = utterances(tmp_path / "long.wav", 20.0)
    async with open_emulator(
        EmulatorConfig(faults=(Fault(kind="reset", after_received=10),))
    ) as emu:
        served = emu.memory_connector()
        connections = 0

        async def connector() -> trio.abc.Stream:
            nonlocal connections
            connections += 1
            if connections > 1:
                raise OSError(errno.ECONNREFUSED, "Connection refused")
            return await served()

        def session(setup: Any, endpoint: Any) -> Any:
            return open_session(setup, endpoint=endpoint, connector=connector)

        monkeypatch.setattr("trio_gemini_live.cli._talk.open_session", session)
        args = ["talk", "--url", emu.url, "-i", str(source), "--timeout", "5"]
        with trio.fail_after(3600), pytest.raises(CliError) as raised:
            await run_talk(build_parser().parse_args(args), out=io.StringIO())
    assert connections > 1
    assert raised.value.message == (
        "could not send long.wav within 26.0 s: the connection was lost, and reconnecting had "
        "not succeeded by then"
    )


@pytest.mark.parametrize(
    ("state", "lost"),
    [
        (SessionState.OPEN, False),
        # After a goAway the connection stays open until the move: not "lost".
        (SessionState.GOING_AWAY, False),
        (SessionState.IDLE, True),
        (SessionState.AWAITING_SETUP_COMPLETE, True),
        (SessionState.CLOSED, True),
    ],
)
def test_talk_says_a_send_timeout_was_a_lost_connection_only_when_none_is_open(
    state: SessionState, lost: bool
) -> None:
    from trio_gemini_live.cli._talk import _not_sent  # pyright: ignore[reportPrivateUsage]

    message = _not_sent(cast(LiveSession, SimpleNamespace(state=state)), "the text", 2.0)
    assert ("the connection was lost" in message) is lost, message


async def test_talk_ends_its_progress_line_before_any_other_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    # On a terminal, `\rsending ...: 40% (2.4/6.0 s)` had no newline: the transcripts of an
    # answer arriving while sending were written onto its end.
    source = utterances(tmp_path / "in.wav", 1.0, 5.0)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    async with in_memory_talk(monkeypatch, EmulatorConfig(pacing="realtime")) as talk:
        assert await talk("-i", str(source), "--realtime", out=terminal) == 0
    lines = terminal.screen_lines()
    assert "  you: Hello, can you hear me?" in lines
    for line in lines:
        assert not ("sending in.wav" in line and not line.endswith(" s)")), line


async def test_talk_ends_its_progress_line_before_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    # ... and the error line was printed onto it too (`... (2.6/10.0 s)gemini-live: error:`).
    source = utterances(tmp_path / "in.wav", 1.0, 9.0)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    send_audio = LiveSession.send_audio
    sent = 0

    async def failing(self: LiveSession, *args: Any, **kwargs: Any) -> None:
        nonlocal sent
        sent += 1
        if sent == 60:  # 2.4 s into the input
            raise trio_gemini_live.TransportError("connection reset")
        await send_audio(self, *args, **kwargs)

    monkeypatch.setattr(LiveSession, "send_audio", failing)
    async with in_memory_talk(monkeypatch, EmulatorConfig()) as talk:
        with pytest.raises(trio_gemini_live.TransportError):
            await talk("-i", str(source), "--realtime", out=terminal)
    assert terminal.screen_lines()[-2:] == ["sending in.wav:  21% (2.1/10.0 s)", ""]


class ClosedPipe(io.StringIO):
    """Standard output whose reader went away (`gemini-live ... | head -2`) once it has
    been written to `lines` times."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.lines = lines

    def write(self, text: str) -> int:
        if self.lines <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.lines -= text.count("\n")
        return super().write(text)


def test_stdout_closed_mid_conversation_is_not_a_server_close(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reader task's BrokenPipeError ended the event loop, and the script waiting for the
    # turn reported "the server closed the connection: code 1000 (normal close): the
    # session ended before the model answered", which won over the BrokenPipeError.
    monkeypatch.setattr(sys, "stdout", ClosedPipe(lines=3))
    assert main(["talk", "--emulator", "--text", "hi", "--text", "again"]) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("goAway", "[reconnected after goAway in 90 ms; 2 message(s) replayed]"),
        # A drop without a close frame has no reason: this was "reconnected after  in 90 ms".
        ("", "[reconnected after a dropped connection in 90 ms; 2 message(s) replayed]"),
        (
            "Internal error encountered.",
            "[reconnected after a dropped connection (Internal error encountered.) in 90 ms; "
            "2 message(s) replayed]",
        ),
    ],
)
def test_a_reconnection_is_reported_with_its_cause(reason: str, shown: str) -> None:
    out = io.StringIO()
    Reporter(out).event(Reconnected(reason=reason, duration=0.09, replayed=2))
    assert out.getvalue() == shown + "\n"


def test_no_api_key(no_key: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["talk", "--text", "hello"]) == 2
    assert_clean_error(capsys.readouterr().err, "GEMINI_API_KEY", "--api-key", "--emulator")


@pytest.mark.parametrize("url", ["", " "])
def test_an_empty_url_is_refused_not_taken_for_the_real_api(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--url "$EMULATOR_URL"` with the variable unset went to the real API with
    # GEMINI_API_KEY. Nothing may leave the machine here: the key is one no endpoint takes
    # (white space at its end) and a session would fail the test.
    monkeypatch.setenv("GEMINI_API_KEY", SECRET + " ")

    def no_session(*args: object, **kwargs: object) -> None:
        raise AssertionError("connected")

    monkeypatch.setattr("trio_gemini_live.cli._talk.open_session", no_session)
    assert main(["talk", "--url", url, "--text", "hi"]) == 2
    assert_clean_error(capsys.readouterr().err, "--url must not be empty")


def test_nothing_to_say(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["talk", "--emulator"]) == 2
    assert_clean_error(capsys.readouterr().err, "--input", "--text")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["talk", "--emulator", "--text", " "], ("--text", "empty")),
        (["talk", "--emulator", "--text", "hi", "--timeout", "nan"], ("--timeout", "nan")),
        (["talk", "--emulator", "--text", "hi", "--timeout", "inf"], ("--timeout", "finite")),
        (["talk", "--emulator", "--text", "hi", "--timeout", "1e400"], ("--timeout", "finite")),
        (["emulator", "--host", ""], ("--host", "empty")),
        (["talk", "--url", "ws://[::1", "--text", "hi"], ("not a valid URL", "IPv6")),
        (["talk", "--url", "ws://127.0.0.1:99999", "--text", "hi"], ("the port is not a number",)),
        (["emulator", "--port", "99999"], ("--port", "65535")),
        (["emulator", "--port", "-1"], ("--port", "65535")),
        (["emulator", "--chunk-ms", "0"], ("--chunk-ms", "1 to 1000 ms")),
        (["emulator", "--lifetime", "nan"], ("--lifetime", "finite")),
    ],
)
def test_bad_arguments_are_usage_errors(
    args: list[str], words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "internal error" not in error
    for word in words:
        assert word in error


def test_demo_output_that_cannot_be_written_fails_before_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dangling = tmp_path / "link.wav"
    dangling.symlink_to(tmp_path / "missing" / "reply.wav")
    for output, words in (
        (tmp_path / "missing" / "reply.wav", "does not exist"),
        (tmp_path, "is a directory"),
        (dangling, "does not exist (it links to"),
    ):
        assert main(["demo", "--output", str(output)]) == 2
        captured = capsys.readouterr()
        assert words in captured.err
        assert "tool call" not in captured.out  # the conversation did not run


def test_talk_output_that_cannot_be_written_fails_before_the_conversation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The whole conversation (a minute of the real API, say) used to run first, and its
    # reply was then lost to "cannot write ...".
    # A link into a missing folder too: the link's folder was checked, the WAV is written in
    # its target's (exit 1 after the conversation).
    dangling = tmp_path / "link.wav"
    dangling.symlink_to(tmp_path / "missing" / "out.wav")
    for output, words in (
        (tmp_path / "missing" / "out.wav", "does not exist"),
        (tmp_path, "is a directory"),
        (dangling, f"the folder {tmp_path / 'missing'} does not exist (it links to"),
    ):
        assert main(["talk", "--emulator", "--text", "hi", "--output", str(output)]) == 2
        captured = capsys.readouterr()
        assert_clean_error(captured.err, "--output", words)
        assert "you: hi" not in captured.out  # the conversation did not run


@pytest.mark.usefixtures("as_owner")
def test_talk_output_to_a_read_only_file_fails_before_the_conversation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only a pipe or a device was checked for write access: a read-only reply.wav was
    # replaced by the new reply (the rename needs only the folder's permission).
    output = tmp_path / "reply.wav"
    output.write_bytes(b"precious")
    output.chmod(0o444)
    assert main(["talk", "--emulator", "--text", "hi", "--output", str(output)]) == 2
    captured = capsys.readouterr()
    assert_clean_error(captured.err, f"--output {output} is not writable")
    assert "you: hi" not in captured.out  # the conversation did not run
    assert output.read_bytes() == b"precious"


@pytest.mark.parametrize("name", ["the file", "/dev/fd/N"])
def test_output_to_stdout_redirected_to_a_file_is_the_wav_alone(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `talk -o /dev/stdout > out.bin`: the transcript went to out.bin, then the WAV was
    # renamed over it, and the transcript was lost (on a pipe, the two were mixed).
    if name == "/dev/fd/N" and not os.path.isdir("/dev/fd"):
        pytest.skip("no /dev/fd")
    redirected = tmp_path / "out.bin"
    with redirected.open("w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        output = str(redirected) if name == "the file" else f"/dev/fd/{stdout.fileno()}"
        assert main(["talk", "--emulator", "--text", "hi", "--output", output]) == 0
        monkeypatch.undo()
    rate, _, _, frames = read_wav_file(redirected)
    assert rate == 24000
    assert len(frames) > 0
    err = capsys.readouterr().err
    assert "model: You said: hi" in err
    assert f"wrote {output} (" in err
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="no /dev/stdout")
def test_output_to_dev_stdout_on_a_pipe_is_the_wav_alone() -> None:
    # README: `/dev/stdout` is written to directly. On a pipe the transcript came first,
    # and the WAV could not be read.
    talk = [sys.executable, "-m", "trio_gemini_live.cli", "talk", "--emulator", "--text", "hi"]
    result = subprocess.run(
        [*talk, "--output", "/dev/stdout"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with wave.open(io.BytesIO(result.stdout)) as reply:
        assert reply.getframerate() == 24000
        assert reply.getnframes() > 0
    assert b"model: You said: hi" in result.stderr


def test_talk_output_that_fails_to_write_keeps_the_old_file_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], wav_writes_fail: Callable[[], None]
) -> None:
    # `(ulimit -f 40; gemini-live talk ... -o big.wav)` left a truncated big.wav in place of
    # the previous one, and exited 2 as for a bad argument (WavError is a configuration
    # error).
    output = tmp_path / "out.wav"
    write_wav(output, bytes(480))
    before = output.read_bytes()
    wav_writes_fail()
    assert main(["talk", "--emulator", "--text", "hi", "--output", str(output)]) == 1
    captured = capsys.readouterr()
    assert "model: You said: hi" in captured.out
    assert_clean_error(captured.err, f"cannot write {output}: File too large")
    assert output.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


def test_a_port_the_emulator_cannot_bind_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--host", "127.0.0.1", "--port", str(port)]) == 1
    error = capsys.readouterr().err
    # Before: "[Errno 98] cannot listen on ...", the number before the words it belongs to.
    assert error.startswith(f"gemini-live emulator: cannot listen on 127.0.0.1:{port}: "), error
    assert "Errno" not in error
    assert "internal error" not in error


def test_a_host_the_emulator_cannot_bind_is_a_bad_argument(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: it exited 1, as a run that
    # failed, while bad arguments exit 2.
    assert main(["emulator", "--host", "192.0.2.1", "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("gemini-live emulator: cannot listen on 192.0.2.1:0: "), error
    # A host that does not resolve too (made up here: resolving one would ask a DNS server).
    unresolved = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert _bad_host(_listen_error(unresolved, "no-such-host.invalid", 8765))
    assert not _bad_host(_listen_error(OSError(errno.EADDRINUSE, "in use"), "127.0.0.1", 1))


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Path | None]:
    """`gemini-live emulator` sets everything up, then returns at once instead of serving;
    the certificate it would have served with is recorded (and checked to exist)."""
    certificates: list[Path | None] = []

    async def serve(
        args: Any, config: Any, out: Any, ssl_context: Any, cert_file: Path | None
    ) -> None:
        assert cert_file is None or await trio.Path(cert_file).is_file()
        certificates.append(cert_file)

    monkeypatch.setattr("trio_gemini_live.emulator._cli._serve", serve)
    return certificates


def test_emulator_takes_one_tls_certificate_or_the_other(
    tmp_path: Path, served: list[Path | None], capsys: pytest.CaptureFixture[str]
) -> None:
    # With both, --tls-cert was silently ignored for a self-signed certificate.
    cert = tmp_path / "cert.pem"
    args = ["emulator", "--port", "0", "--tls-cert", str(cert), "--tls-self-signed", str(tmp_path)]
    assert main(args) == 2
    assert "argument --tls-self-signed: not allowed with argument --tls-cert" in (
        capsys.readouterr().err
    )
    assert served == []


def test_emulator_removes_its_temporary_certificate_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[Path | None]
) -> None:
    # `--tls-self-signed` without DIR left a gemini-live-emulator-* folder after every run.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["emulator", "--port", "0", "--tls-self-signed"]) == 0
    (cert_file,) = served
    assert cert_file is not None
    assert cert_file.parent.parent == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_emulator_scenario_calling_sys_exit_is_named(
    tmp_path: Path, served: list[Path | None], capsys: pytest.CaptureFixture[str]
) -> None:
    # The emulator exited 3 without a word.
    scenario = tmp_path / "exits.py"
    scenario.write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    assert main(["emulator", "--port", "0", "--scenario", str(scenario)]) == 2
    error = capsys.readouterr().err
    assert (
        error
        == f"gemini-live emulator: --scenario {scenario} called sys.exit(3) while being loaded\n"
    )
    assert served == []


@pytest.mark.parametrize(
    ("host", "shown"), [("999.1.1.1", "999.1.1.1:8765"), ("::9", "[::9]:8765")]
)
def test_a_listen_error_is_one_clean_line_that_keeps_its_errno(host: str, shown: str) -> None:
    # (Made up here: resolving 999.1.1.1 for real would ask a DNS server.)
    failure = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    error = _listen_error(failure, host, 8765)
    assert str(error) == f"cannot listen on {shown}: Name or service not known"
    assert error.errno == socket.EAI_NONAME


def test_missing_input_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["talk", "--emulator", "--input", str(tmp_path / "missing.wav")]) == 2
    assert_clean_error(capsys.readouterr().err, "missing.wav", "No such file")


def test_input_that_is_not_a_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("these are notes, not audio\n")
    assert main(["talk", "--emulator", "--input", str(text)]) == 2
    assert_clean_error(capsys.readouterr().err, "notes.wav is not a WAV file")


def test_input_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["talk", "--emulator", "--input", str(tmp_path)]) == 2
    assert_clean_error(capsys.readouterr().err, "is a directory")


def test_unreadable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = stereo_44k_wav(tmp_path / "secret.wav")
    real_read_bytes = Path.read_bytes

    def denied(self: Path) -> bytes:
        # chmod 0 does not stop root (CI runs as root): refuse the read the way the OS would.
        if self == source:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert main(["talk", "--emulator", "--input", str(source)]) == 2
    assert_clean_error(capsys.readouterr().err, "cannot read", "Permission denied")


def test_input_path_that_cannot_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    assert main(["talk", "--emulator", "--input", str(blocker / "in.wav")]) == 2
    assert_clean_error(capsys.readouterr().err, "cannot read", "Not a directory")


def test_compressed_wav_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "mulaw.wav"
    fmt = (7).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    fmt += (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    body = b"WAVEfmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + (4).to_bytes(4, "little")
    source.write_bytes(b"RIFF" + (len(body) + 4).to_bytes(4, "little") + body + bytes(4))
    assert main(["talk", "--emulator", "--input", str(source)]) == 2
    assert_clean_error(capsys.readouterr().err, "encoding 0x0007", "16-bit PCM")


def test_server_refuses_the_setup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["talk", "--emulator", "--voice", "NoSuchVoice", "--text", "hi"]) == 1
    assert_clean_error(capsys.readouterr().err, "code 1007", "Request contains an invalid argument")


def test_unknown_model_is_a_close_with_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["talk", "--emulator", "--model", "no-such-model", "--text", "hi"]) == 1
    assert_clean_error(capsys.readouterr().err, "code 1008", "not found")


def test_wrong_key_is_reported_without_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    with emulator_in_thread(EmulatorConfig(api_keys=frozenset({"the-right-key"}))) as url:
        code = main(["talk", "--url", url, "--api-key", SECRET, "--text", "hi"])
    captured = capsys.readouterr()
    assert code == 1
    assert_clean_error(captured.err, "code 1007", "API key not valid")
    assert SECRET not in captured.out + captured.err


def test_server_closes_mid_session(capsys: pytest.CaptureFixture[str]) -> None:
    # 1008 is final (1011 and 1006 would be resumed by the session, transparently).
    fault = Fault(kind="close", code=1008, reason="Requested entity was not found.", after_frames=4)
    with emulator_in_thread(EmulatorConfig(faults=(fault,))) as url:
        code = main(["talk", "--url", url, "--text", "Tell me a story", "--timeout", "20"])
    assert code == 1
    assert_clean_error(
        capsys.readouterr().err, "code 1008", "not found or not allowed", "Requested entity"
    )


def test_no_network(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    assert main(["talk", "--url", f"ws://127.0.0.1:{port}", "--text", "hi"]) == 1
    assert_clean_error(capsys.readouterr().err, "cannot connect", f"127.0.0.1:{port}", "network")


def test_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["talk", "--url", "http://127.0.0.1:1", "--text", "hi"]) == 2
    assert_clean_error(capsys.readouterr().err, "ws://")


def test_real_api_key_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real-API path (key from GEMINI_API_KEY), sent to a dead local port instead."""
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    port = closed_port()
    used: list[str] = []

    def local_gemini(api_key: str, **kwargs: Any) -> Endpoint:
        used.append(api_key)
        return gemini_endpoint(api_key, base_url=f"http://127.0.0.1:{port}", **kwargs)

    monkeypatch.setattr("trio_gemini_live.cli._talk.gemini_endpoint", local_gemini)
    assert main(["-v", "talk", "--text", "hi"]) == 1
    captured = capsys.readouterr()
    assert used == [SECRET]
    assert f"ws://127.0.0.1:{port}/ws/google.ai.generativelanguage.v1beta" in captured.out
    assert_clean_error(captured.err, "cannot connect")
    assert SECRET not in captured.out + captured.err


async def converse_once(
    turn: ScenarioTurn | None,
    tools: dict[str, Any],
    frame: ServerMessage | None = None,
    *,
    vertex: bool = False,
) -> str:
    """One turn through `Conversation` on the emulator: scripted (`turn`), or `frame` sent
    by hand in answer to the user's text; returns what the conversation printed."""
    out = io.StringIO()
    setup = live_setup(
        "models/gemini-2.0-flash-live-001",
        modality="TEXT",
        functions=[function_tool(name, "a tool") for name in tools],
    )
    config = EmulatorConfig(scenario=Scenario(turns=(turn,) if turn else ()), vertex=vertex)
    async with open_emulator(config) as emu, emu.open_session(setup) as session:
        conversation = Conversation(session, Reporter(out, err=out), Metrics(), tools=tools)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(conversation.read_events)
            if frame is None:
                await session.send_client_content("go")
            else:
                await (await emu.wait_for_connection(1)).send(frame)
            with trio.fail_after(60):
                await conversation.wait_for_turns(1)
            nursery.cancel_scope.cancel()
    return out.getvalue()


async def test_conversation_does_not_answer_a_call_the_server_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A call the server answered itself (its functionResponse part, a FunctionCallOutput,
    # in the same frame) was answered again: respond refused it (LocalProtocolError) and
    # the conversation died.
    parts = [
        Part(function_call=FunctionCallPart(id="srv-1", name="lookup", args={"q": 1})),
        Part(function_response=FunctionResponse(id="srv-1", name="lookup", response={"r": 2})),
        Part(text="Done."),
    ]
    frame = ServerMessage(
        server_content=ServerContent(model_turn=Content(parts=parts), turn_complete=True)
    )
    calls: list[dict[str, Any]] = []
    shown = await converse_once(None, {"lookup": lambda **kw: calls.append(kw)}, frame)
    assert calls == []  # nothing runs for a call nobody waits for
    assert '[tool output] lookup -> {"r": 2}' in shown
    assert "[tool call not answered] lookup: the call is no longer pending" in shown
    assert "model: Done." in shown


async def test_conversation_answers_a_streamed_call_once_and_shows_a_file(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A streamed call is answered once (its deltas are not calls); a file the model
    # gives is shown; an incomplete call is shown as such, not as the server's cancel.
    turn = ScenarioTurn(
        when="go",
        parts=(Part(file_data=FileData(file_uri="gs://b/route.png", mime_type="image/png")),),
        tool_calls=(ScenarioToolCall("book", {"city": "Zürich"}, stream=True),),
        after_tool="Booked: {response}",
    )
    calls: list[dict[str, Any]] = []
    book = {"book": lambda **kw: calls.append(kw) or "ok"}
    shown = await converse_once(turn, book, vertex=True)  # only Vertex streams arguments
    assert calls == [{"city": "Zürich"}]
    assert "[file] gs://b/route.png (image/png)" in shown
    assert shown.count("[tool result] book") == 1


def test_an_incomplete_call_is_reported_as_such() -> None:
    out = io.StringIO()
    reporter = Reporter(out, err=out)
    reporter.event(ToolCallCancellation(ids=("c1", ""), reason="incomplete"))
    reporter.event(ToolCallCancellation(ids=("c2",)))
    assert out.getvalue().splitlines() == [
        "[tool calls incomplete: the turn ended mid-arguments] c1, ''",
        "[tool calls cancelled] c2",
    ]


async def test_audio_of_another_rate_is_converted_to_the_first_rate_with_a_warning() -> None:
    # Every chunk went into one reply labelled with the last chunk's rate: 24 kHz audio
    # followed by 16 kHz audio was written as 16 kHz, the first part at 2/3 speed.
    out = io.StringIO()
    session: Any = None  # not used: no call to answer
    conversation = Conversation(session, Reporter(out, err=out), Metrics())
    second = bytes(3200)  # 0.1 s at 16 kHz
    for pcm, rate in ((bytes(4800), 24000), (second, 16000), (second, 16000), (bytes(2), 500)):
        await conversation._handle(AudioDelta(pcm=pcm, sample_rate=rate))  # pyright: ignore[reportPrivateUsage]
    assert conversation.audio_rate == 24000
    assert len(conversation.audio) == 4800 + 2 * len(resample_pcm(second, 16000, 24000))
    assert pcm_duration(conversation.audio, 24000) == pytest.approx(0.3, abs=0.001)
    warnings = [line for line in out.getvalue().splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: audio at 16000 Hz converted to 24000 Hz, the rate of the reply's first audio",
        "warning: audio at 500 Hz left out of the reply: it cannot be converted to 24000 Hz",
    ]


async def test_output_without_text_counts_as_an_answer_under_way(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A file, a function's output or a streamed call's piece after heard speech left the
    # turn "heard": the wait ended with a warning instead of saying the answer did not end.
    for output in (
        FileReference(file_uri="gs://b/f.png"),
        FunctionCallDelta(call_id="c1", name="book"),
        FunctionCallOutput(call_id="c1", name="book"),
    ):
        out = io.StringIO()
        session: Any = None  # not used: no call to answer
        conversation = Conversation(session, Reporter(out, err=out), Metrics(), turn_timeout=1)
        await conversation._handle(InputTranscription(text="book it"))  # pyright: ignore[reportPrivateUsage]
        await conversation._handle(output)  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(CliError, match="the model's answer did not end within 1 s"):
            await conversation.wait_until_idle(0)
