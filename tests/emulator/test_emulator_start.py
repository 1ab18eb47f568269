"""Point 1: starting the emulator from code (plain and TLS) and from the command line."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import math
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket

from trio_gemini_live.emulator import (
    MAX_AUDIO_CHUNK_MS,
    EmulatorConfig,
    Fault,
    _cli as emulator_cli,
    emulator_main,
    open_emulator,
    server_ssl_context,
    write_self_signed_cert,
)

SETUP = '{"setup": {"model": "models/gemini-live-2.5-flash-preview"}}'


async def test_open_emulator_binds_loopback_and_gives_urls() -> None:
    async with open_emulator() as emu:
        assert emu.port > 0
        assert emu.url == f"ws://127.0.0.1:{emu.port}"
        assert emu.endpoint_url("v1alpha", "BidiGenerateContentConstrained") == (
            f"ws://127.0.0.1:{emu.port}/ws/google.ai.generativelanguage.v1alpha."
            "GenerativeService.BidiGenerateContentConstrained"
        )
        with trio.fail_after(10):
            async with trio_websocket.open_websocket_url(emu.endpoint_url() + "?key=k") as ws:
                await ws.send_message(SETUP)
                assert await ws.get_message() == b'{\n  "setupComplete": {}\n}\n'
        conn = await emu.wait_for_connection()
        await conn.wait_closed()
        assert conn.close_code == 1000


async def test_an_exception_from_the_block_comes_out_as_itself() -> None:
    # As from `open_session`: `except SomeError` around the block catches it, not a group.
    class MineError(Exception):
        pass

    with pytest.raises(MineError):
        async with open_emulator():
            raise MineError
    with pytest.raises(MineError):
        async with open_emulator() as emu, emu.open_session("gemini-live-2.5-flash-preview"):
            raise MineError


async def test_tls_with_a_self_signed_cert(tmp_path: Path) -> None:
    cert, key = write_self_signed_cert(tmp_path)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    async with open_emulator(EmulatorConfig(), ssl_context=server_ssl_context(cert, key)) as emu:
        assert emu.url.startswith("wss://127.0.0.1:")
        with trio.fail_after(10):
            url = emu.vertex_endpoint_url().replace("127.0.0.1", "localhost")
            async with trio_websocket.open_websocket_url(
                url, ssl_context=client_ctx, extra_headers=[(b"authorization", b"Bearer t")]
            ) as ws:
                await ws.send_message(SETUP)
                assert b"sessionId" in await ws.get_message()


def test_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        emulator_main(["--fault", "explode"])
    with pytest.raises(SystemExit):
        emulator_main(["--tls-key", "k.pem"])
    assert "unknown fault kind" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        emulator_main(["--lifetime", "60", "--go-away", "700"])
    assert "--go-away 700 is longer than --lifetime 60" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        emulator_main(["--model", " "])
    assert "--model must name a model" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        # Each was accepted, or refused only later naming a config field instead of the flag:
        # a huge chunk served frames of any size, a lifetime of 0 closed every connection
        # as it opened, NaN or inf seconds gave "go_away_warning must be between 0 and
        # lifetime" (or, inf - inf, a crash at the first connection).
        (["--chunk-ms", "0"], ("--chunk-ms", "1 to 1000 ms")),
        (["--chunk-ms", "-40"], ("--chunk-ms", "1 to 1000 ms")),
        (["--chunk-ms", "99999999999"], ("--chunk-ms", "1 to 1000 ms")),
        (["--chunk-ms", "1.5"], ("--chunk-ms", "whole number")),
        (["--lifetime", "0"], ("--lifetime", "seconds > 0, got 0", "some lifetime")),
        (["--lifetime", "-5"], ("--lifetime", "seconds > 0, got -5")),  # not ">= 0"
        (["--lifetime", "nan"], ("--lifetime", "finite")),
        (["--lifetime", "inf"], ("--lifetime", "finite")),
        (["--lifetime", "ten"], ("--lifetime", "not a number")),
        (["--go-away", "-1"], ("--go-away", ">= 0")),
        (["--go-away", "nan"], ("--go-away", "finite")),
        (["--session-limit-code", "1006"], ("--session-limit-code", "1005, 1006, 1015")),
        (["--session-limit-code", "99999"], ("--session-limit-code", "1000-4999")),
        (["--handle-refused-code", "1006"], ("--handle-refused-code", "1005, 1006, 1015")),
        # NaN passed the parser and was refused by EmulatorConfig: the field's name, no usage.
        (["--audio-session-limit", "nan"], ("--audio-session-limit", "number of seconds")),
        (["--video-session-limit", "nan"], ("--video-session-limit", "number of seconds")),
        # Refused by EmulatorConfig before, printed without the usage and the flag's name.
        (["--pacing", "-1"], ("--pacing", "finite number >= 0")),
        (["--pacing", "inf"], ("--pacing", "finite number >= 0")),
        (["--api-key", ""], ("--api-key", "is empty")),
        (["--api-key", " "], ("--api-key", "is empty")),
        # The emulator strips a header's value: this key could never match.
        (["--api-key", " k1 "], ("--api-key", "starts or ends with white space")),
        (["--keep-closed-connections", "-1"], ("--keep-closed-connections", ">= 0")),
        (["--keep-closed-connections", "many"], ("--keep-closed-connections", "or 'all'")),
        (["--keep-closed-connections", "2.5"], ("--keep-closed-connections", "whole number")),
        (["--keep-ended-sessions", "-1"], ("--keep-ended-sessions", ">= 0")),
        # EmulatorConfig.send_timeout had no flag; 0 could never be met, NaN never reached.
        (["--send-timeout", "0"], ("--send-timeout", "seconds > 0, got 0")),
        (["--send-timeout", "-1"], ("--send-timeout", "seconds > 0, got -1")),
        (["--send-timeout", "nan"], ("--send-timeout", "finite")),
        (["--send-timeout", "inf"], ("--send-timeout", "finite")),
        (["--send-timeout", "soon"], ("--send-timeout", "not a number")),
    ],
)
def test_cli_names_the_flag_of_a_value_out_of_range(
    args: list[str], words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        emulator_cli.build_parser().parse_args(args)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("gemini-live emulator: error: argument ")
    for word in words:
        assert word in error


@pytest.mark.parametrize(("args", "timeout"), [([], None), (["--send-timeout", "2.5"], 2.5)])
def test_the_send_timeout_flag_sets_the_config(args: list[str], timeout: float | None) -> None:
    parsed = emulator_cli.build_parser().parse_args(args)
    config = emulator_cli._config(parsed)  # pyright: ignore[reportPrivateUsage]
    assert config.send_timeout == timeout


@pytest.mark.parametrize(("args", "keep"), [([], 1_000), (["--keep-ended-sessions", "all"], None)])
def test_the_keep_ended_sessions_flag_sets_the_config(args: list[str], keep: int | None) -> None:
    parsed = emulator_cli.build_parser().parse_args(args)
    config = emulator_cli._config(parsed)  # pyright: ignore[reportPrivateUsage]
    assert config.keep_ended_sessions == keep


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.json", None, "No such file or directory"),
        ("notes.txt", "not json", "JSON is malformed"),
        ("typo.json", '{"turns": [{"reply": "hi", "bogus": 1}]}', "unknown field `bogus`"),
        # A misspelt key in a part was dropped, and the emulator started, to send `{}`.
        ("part.json", '{"turns": [{"parts": [{"txt": "hi"}]}]}', 'Unknown name "txt"'),
        ("none.py", "SCENARIO = 5", "defines no SCENARIO"),
        ("broken.py", "raise RuntimeError('no model today')", "RuntimeError: no model today"),
        ("syntax.py", "SCENARIO = {", "SyntaxError"),
    ],
)
def test_a_scenario_that_cannot_be_loaded_is_named(
    tmp_path: Path,
    name: str,
    content: str | None,
    words: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Messages came without the file ("JSON is malformed: invalid character (byte 4)"), and
    # a .py scenario that raised was "internal error: RuntimeError" with exit 1.
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert emulator_main(["--port", "0", "--scenario", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"gemini-live emulator: --scenario {path}")
    assert words in error
    assert "Traceback" not in error


@pytest.mark.parametrize(
    "field",
    [
        {"api_keys": "test-key"},
        {"models": ("my-model")},  # the comma of a one-item tuple forgotten: a str
        {"extra_paths": "/proxy/live"},
        {"faults": Fault(kind="reset")},
        {"models": ("my-model", 5)},
    ],
)
def test_a_single_value_where_a_collection_belongs_is_refused(field: dict[str, object]) -> None:
    # A str was taken as the collection: `key in "test-key"` accepted "t" and "-" as keys
    # (and as models); a lone Fault failed inside each connection's handler.
    with pytest.raises(ValueError, match=r"must (be a collection|hold)"):
        EmulatorConfig(**field)  # type: ignore[arg-type]


def test_the_api_keys_are_not_shown_when_refused() -> None:
    with pytest.raises(ValueError, match="api_keys must be a collection of str") as info:
        EmulatorConfig(api_keys="AIza-secret")  # type: ignore[arg-type]
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (("k1", " secret-k2 "), r"^api_keys\[1\] starts or ends with white space"),
        (("secret-k1\n",), r"^api_keys\[0\] starts or ends with white space"),
        (["k1", ""], r"^api_keys\[1\] is empty"),
        (["  "], r"^api_keys\[0\] is empty"),
    ],
)
def test_an_api_key_no_client_could_send_is_refused_unshown(
    keys: tuple[str, ...], message: str
) -> None:
    # A credential's header value is stripped, and an empty one is none: such a key was
    # taken, then refused every connection (1007 API key not valid).
    with pytest.raises(ValueError, match=message) as info:
        EmulatorConfig(api_keys=keys)  # type: ignore[arg-type]
    assert "secret" not in str(info.value)


async def test_collections_given_as_lists_are_taken() -> None:
    config = EmulatorConfig(api_keys=["good"], models=["my-model"])  # type: ignore[arg-type]
    assert config.api_keys == frozenset({"good"})
    assert config.models == ("my-model",)
    with trio.fail_after(10):
        async with open_emulator(config) as emu:
            for key, model, accepted in [
                ("good", "my-model", True),
                ("g", "my-model", False),
                ("good", "my", False),
            ]:
                url = emu.endpoint_url() + f"?key={key}"
                async with trio_websocket.open_websocket_url(url) as ws:
                    await ws.send_message(f'{{"setup": {{"model": "models/{model}"}}}}')
                    try:
                        await ws.get_message()
                    except trio_websocket.ConnectionClosed:
                        assert not accepted
                    else:
                        assert accepted


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"lifetime": "10"}, r"lifetime must be a number, not str '10'"),
        ({"lifetime": math.nan}, r"lifetime must be a number, not float nan"),
        ({"lifetime": 0}, r"lifetime must be > 0 seconds, got 0"),
        ({"go_away_warning": "5"}, r"go_away_warning must be a number \(or None for 50 s, or"),
        ({"audio_chunk_ms": "40"}, r"audio_chunk_ms must be a whole number, not str"),
        ({"audio_chunk_ms": 40.0}, r"audio_chunk_ms must be a whole number, not float"),
        ({"max_queued_turns": True}, r"max_queued_turns must be a whole number, not bool"),
        ({"vad_threshold": None}, r"vad_threshold must be a number, not NoneType"),
        ({"vad_threshold": -1}, r"vad_threshold must be >= 0, got -1"),
        ({"silence_duration_ms": -5}, r"silence_duration_ms must be >= 0"),
        ({"max_utterance_ms": 0}, r"max_utterance_ms must be at least 1, got 0"),
        ({"max_utterance_ms": 30.0}, r"max_utterance_ms must be a whole number, not float"),
        ({"max_utterance_ms": None}, r"max_utterance_ms must be a whole number, not NoneType"),
        ({"strict": "no"}, r"strict must be a bool, not str 'no'"),
        ({"require_auth": 0}, r"require_auth must be a bool, not int"),
        ({"combine_parts": "yes"}, r"combine_parts must be a bool \(or None for the model's"),
        ({"input_transcript": 5}, r"input_transcript must be a str, not int"),
        ({"output_transcript": b"x"}, r"output_transcript must be a str \(or None to repeat"),
        ({"audio_session_limit": "900"}, r"audio_session_limit must be a number \(or None for"),
        ({"deadline_close_code": "1008"}, r"deadline_close_code must be a whole number"),
        ({"handle_ttl": "1h"}, r"handle_ttl must be a number"),
        ({"close_timeout": -1.0}, r"close_timeout must be > 0 seconds, got -1.0"),
        # Before: 0 was taken, and no close frame ever went out: every close was a 1006.
        ({"close_timeout": 0}, r"close_timeout must be > 0 seconds, got 0"),
        ({"max_message_size": 0}, r"max_message_size must be at least 1"),
        ({"pacing": True}, r"pacing must be a number, not bool"),
        ({"scenario": "script.json"}, r"scenario must be a Scenario or None, not str"),
    ],
)
def test_a_config_field_of_the_wrong_type_is_named(field: dict[str, object], message: str) -> None:
    # Before: `lifetime="10"` failed with a bare TypeError ("'<=' not supported between
    # instances of 'float' and 'str'") from the checks, naming no field; others were taken
    # and failed (or misbehaved) inside each connection.
    with pytest.raises(ValueError, match=message):
        EmulatorConfig(**field)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "warning"),
    [
        pytest.param(lambda: EmulatorConfig(), 50.0, id="default"),
        pytest.param(lambda: EmulatorConfig(lifetime=5), 5.0, id="short-lifetime"),
        pytest.param(lambda: EmulatorConfig(lifetime=5, go_away_warning=2), 2.0, id="given"),
        pytest.param(lambda: EmulatorConfig(lifetime=5, go_away_warning=0), 0.0, id="given-0"),
        # A copy derives the default again from its own lifetime, whichever way it is made.
        pytest.param(lambda: EmulatorConfig().replace(lifetime=5), 5.0, id="replace"),
        pytest.param(
            lambda: dataclasses.replace(EmulatorConfig(), lifetime=30.5),
            30.5,
            id="dataclasses-replace",
        ),
        pytest.param(
            lambda: EmulatorConfig(lifetime=5).replace(lifetime=600), 50.0, id="replace-back"
        ),
        pytest.param(lambda: copy.deepcopy(EmulatorConfig(lifetime=5)), 5.0, id="deepcopy"),
        # An explicit warning is kept across copies.
        pytest.param(
            lambda: EmulatorConfig(lifetime=60, go_away_warning=3).replace(lifetime=600),
            3.0,
            id="given-kept",
        ),
    ],
)
def test_a_short_lifetime_alone_is_a_working_config(
    make: Callable[[], EmulatorConfig], warning: float
) -> None:
    # Before: `EmulatorConfig(lifetime=5)` raised "go_away_warning must be between 0 and
    # lifetime", a warning the caller never gave (its default, 50, was longer); only the
    # CLI shrank it to the lifetime.
    assert make().go_away_seconds() == warning


@pytest.mark.parametrize(("args", "warning"), [([], 50.0), (["--lifetime", "5"], 5.0)])
def test_the_cli_defaults_the_go_away_warning_as_the_config_does(
    args: list[str], warning: float
) -> None:
    parsed = emulator_cli.build_parser().parse_args(args)
    config = emulator_cli._config(parsed)  # pyright: ignore[reportPrivateUsage]
    assert config.go_away_seconds() == warning
    # The config's own default, not a copy of its rule in the CLI.
    assert config.go_away_warning is None


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(
            lambda: EmulatorConfig(lifetime=5, go_away_warning=6),
            "lifetime (5 s), got 6",
            id="above-lifetime",
        ),
        pytest.param(
            lambda: EmulatorConfig(go_away_warning=-1), "lifetime (600 s), got -1", id="negative"
        ),
        pytest.param(
            lambda: EmulatorConfig(go_away_warning=math.inf),
            "lifetime (600 s), got inf",
            id="infinite",
        ),
        # Given, it is not shrunk to a shorter lifetime later.
        pytest.param(
            lambda: EmulatorConfig(go_away_warning=50).replace(lifetime=5),
            "(5 s), got 50",
            id="given-then-shorter-lifetime",
        ),
    ],
)
def test_a_go_away_warning_given_out_of_range_is_refused(
    make: Callable[[], EmulatorConfig], words: str
) -> None:
    with pytest.raises(ValueError, match=r"go_away_warning must be between 0 and ") as error:
        make()
    assert words in str(error.value)
    assert "leave it None" in str(error.value)


def test_config_bounds_the_audio_chunk() -> None:
    EmulatorConfig(audio_chunk_ms=MAX_AUDIO_CHUNK_MS)
    with pytest.raises(ValueError, match="audio_chunk_ms must be 1 to 1000 ms"):
        EmulatorConfig(audio_chunk_ms=MAX_AUDIO_CHUNK_MS + 1)


@pytest.mark.parametrize(
    "field",
    [
        {"pacing": math.nan},
        {"pacing": math.inf},
        {"audio_session_limit": math.nan},
        {"video_session_limit": math.nan},
    ],
)
def test_a_pacing_or_limit_that_is_not_a_number_is_refused(field: dict[str, float]) -> None:
    # Accepted (`--pacing nan` too), they crashed every connection at its first reply or
    # right after setup (trio cannot sleep NaN seconds): clients saw a drop, no close frame.
    with pytest.raises(ValueError, match="number"):
        EmulatorConfig(**field)  # type: ignore[arg-type]


def test_cli_names_the_tls_files_it_cannot_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_pem = tmp_path / "scenario.json"
    not_pem.write_text("{}")
    missing = tmp_path / "missing.pem"
    for cert, reason in ((missing, "No such file"), (not_pem, "PEM")):
        # Exit 2, a bad argument (the README's exit statuses); it was 1, a failed run.
        assert emulator_main(["--port", "0", "--tls-cert", str(cert)]) == 2
        error = capsys.readouterr().err
        assert f"cannot load the TLS certificate {cert} with key {cert}" in error
        assert reason in error


def test_cli_without_cryptography_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As after `pip install .` (the `tls` extra brings cryptography): a bad argument, exit 2.
    monkeypatch.setitem(sys.modules, "cryptography", None)  # `import cryptography` fails
    assert emulator_main(["--port", "0", "--tls-self-signed", str(tmp_path)]) == 2
    assert "pip install 'trio-gemini-live[tls]'" in capsys.readouterr().err


def test_cli_prints_an_absolute_certificate_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = emulator_cli.build_parser().parse_args(["--tls-self-signed", "certs"])
    _, cert_file = emulator_cli._tls(args)  # pyright: ignore[reportPrivateUsage]
    assert cert_file == tmp_path / "certs" / "cert.pem"
    assert cert_file.is_absolute()


async def test_cli_serves_tls_and_prints_the_recipe(tmp_path: Path) -> None:
    args = [
        "--port",
        "0",
        "--tls-self-signed",
        str(tmp_path),
        "--api-key",
        "k1",
        "--fault",
        "close:1011:Internal error encountered.@frames=1",
    ]
    code = (
        "import sys; from trio_gemini_live.emulator import emulator_main; "
        f"sys.exit(emulator_main({args!r}))"
    )
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        out = b""
        with trio.fail_after(30):
            while b"python your_app.py" not in out:
                chunk = await proc.stdout.receive_some()
                assert chunk, out
                out += chunk
        text = out.decode()
        url = text.split("listening on ", 1)[1].split()[0]
        assert url.startswith("wss://127.0.0.1:")
        assert f"SSL_CERT_FILE={tmp_path / 'cert.pem'}" in text
        assert "GOOGLE_GEMINI_BASE_URL=https://127.0.0.1:" in text
        assert "k1" not in text
        ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        endpoint = (
            url
            + "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k1"
        )
        with trio.fail_after(10):
            async with trio_websocket.open_websocket_url(endpoint, ssl_context=ctx) as ws:
                await ws.send_message(SETUP)
                assert await ws.get_message() == b'{\n  "setupComplete": {}\n}\n'
                with pytest.raises(trio_websocket.ConnectionClosed) as info:
                    await ws.get_message()
        assert info.value.reason is not None
        assert info.value.reason.code == 1011
        proc.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_cli_takes_a_second_ctrl_c_while_the_emulator_shuts_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The signal receiver was left before the emulator's exit: a second Ctrl-C then raised
    # KeyboardInterrupt inside the shutdown, which left streams open under shielded writes to
    # clients that read nothing (the exit waited up to their deadline). Here the signal
    # handler around `_serve` sees what escaped it.
    real_open_emulator = emulator_cli.open_emulator

    @contextlib.asynccontextmanager
    async def ctrl_c_again_while_leaving(*args: Any, **kwargs: Any) -> AsyncGenerator[Any]:
        async with real_open_emulator(*args, **kwargs) as emu:
            yield emu
            signal.raise_signal(signal.SIGINT)
            await trio.testing.wait_all_tasks_blocked()

    monkeypatch.setattr(emulator_cli, "open_emulator", ctrl_c_again_while_leaving)
    args = emulator_cli.build_parser().parse_args(["--port", "0"])
    config = emulator_cli._config(args)  # pyright: ignore[reportPrivateUsage]
    escaped: list[int] = []

    def outside_handler(signum: int, frame: FrameType | None) -> None:
        escaped.append(signum)

    previous = signal.signal(signal.SIGINT, outside_handler)
    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                serve = emulator_cli._serve  # pyright: ignore[reportPrivateUsage]
                nursery.start_soon(serve, args, config, io.StringIO(), None, None)
                await trio.testing.wait_all_tasks_blocked()
                signal.raise_signal(signal.SIGINT)  # the first Ctrl-C
    finally:
        signal.signal(signal.SIGINT, previous)
    assert escaped == []


async def test_open_emulator_refuses_a_config_of_another_type() -> None:
    # Before: an AttributeError inside the emulator's nursery, wrapped in an exception group.
    with pytest.raises(TypeError, match="config must be an EmulatorConfig or None, not dict"):
        async with open_emulator({"vertex": True}):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize(("n", "error"), [(0, ValueError), (-1, ValueError), (1.0, TypeError)])
async def test_wait_for_connection_counts_from_one(
    n: object, error: type[Exception], autojump_clock: trio.testing.MockClock
) -> None:
    # Before: 0 returned the last connection, or raised IndexError when there was none;
    # 1.0 waited for ever.
    async with open_emulator() as emu:
        with pytest.raises(error, match="1-based"), trio.fail_after(5):
            await emu.wait_for_connection(n)  # type: ignore[arg-type]
