"""`gemini-live emulator ...`: run the emulator from the command line until Ctrl-C.

Parses flags into an `EmulatorConfig`, sets up TLS (given or self-signed files), prints the
URL and the environment recipe for the unmodified google-genai SDK, then serves.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import signal
import socket
import ssl
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TextIO

import trio

from .._cli_args import SanitisingParser, unknown_names
from .._groups import BlockErrors
from ._config import (
    DEFAULT_MODELS,
    GO_AWAY_WARNING,
    MAX_AUDIO_CHUNK_MS,
    EmulatorConfig,
    Pacing,
    api_key_problem,
    sendable_close_code,
)
from ._faults import Fault
from ._scenario import Scenario
from ._server import Emulator, open_emulator
from ._tls import server_ssl_context, write_self_signed_cert

__all__ = ["build_parser", "emulator_main"]


def _pacing(value: str) -> Pacing:
    if value in ("burst", "realtime"):
        return value  # type: ignore[return-value]
    try:
        factor = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("pacing must be burst, realtime or a factor") from None
    if not (math.isfinite(factor) and factor >= 0):  # here, to name the flag with the usage
        raise argparse.ArgumentTypeError("a pacing factor is a finite number >= 0")
    return factor


def _api_key(value: str) -> str:
    if problem := api_key_problem(value):  # the key itself is never echoed
        raise argparse.ArgumentTypeError(f"the key {problem}")
    return value


def _limit(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a limit is a number of seconds (0: none)") from None
    if math.isnan(seconds):  # here, to name the flag with the usage (inf: no limit either)
        raise argparse.ArgumentTypeError(f"a limit is a number of seconds (0: none), got {value}")
    if seconds < 0:
        raise argparse.ArgumentTypeError("a limit cannot be negative")
    return seconds or None


def _seconds(value: str) -> float:
    """A finite number of seconds, 0 or more, for argparse (NaN and inf are refused)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not (math.isfinite(seconds) and seconds >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {value}")
    return seconds


def _positive_seconds(value: str, why: str) -> float:
    """A finite number of seconds above 0; `why` says what 0 would mean."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    # One message for -1, nan and 0 alike: `_seconds`'s ">= 0" would name a range that
    # holds the 0 refused next.
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(
            f"must be a finite number of seconds > 0, got {value} ({why})"
        )
    return seconds


def _lifetime(value: str) -> float:
    """A connection lifetime for argparse: a finite number of seconds above 0."""
    # At 0, every connection would get goAway and be closed as soon as it opens.
    return _positive_seconds(value, "a connection needs some lifetime")


def _send_timeout(value: str) -> float:
    """A bound on writing one frame for argparse: a finite number of seconds above 0."""
    # EmulatorConfig refuses 0 too: no write could ever finish in it.
    return _positive_seconds(value, "leave the flag out for no limit but the deadline")


def _host(value: str) -> str:
    """An interface to bind, for argparse: a host name or address, not empty."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty (127.0.0.1 is the default)")
    return value


def _chunk_ms(value: str) -> int:
    """A reply audio chunk duration for argparse: 1 to MAX_AUDIO_CHUNK_MS milliseconds."""
    try:
        ms = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of ms: {value!r}") from None
    if not 0 < ms <= MAX_AUDIO_CHUNK_MS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_AUDIO_CHUNK_MS} ms, got {ms}")
    return ms


def _close_code(value: str) -> int:
    """A WebSocket close code a server may send, for argparse."""
    try:
        code = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a close code: {value!r}") from None
    if not sendable_close_code(code):
        raise argparse.ArgumentTypeError(
            f"must be a close code a server may send (1000-4999 but 1005, 1006, 1015), got {code}"
        )
    return code


def _keep_closed(value: str) -> int | None:
    """How many closed connections to keep, for argparse: a whole number >= 0, or `all`."""
    if value == "all":
        return None
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number or 'all': {value!r}") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (or 'all' to keep every one), got {count}")
    return count


def _fault(value: str) -> Fault:
    try:
        return Fault.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    """A TCP port number for argparse: 0 to 65535 (the OS would wrap a larger one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {port}")
    return port


def build_parser() -> SanitisingParser:
    """The argument parser of `gemini-live emulator`."""
    p = SanitisingParser(
        prog="gemini-live emulator",
        description="Run a local Gemini Live API emulator (binds loopback by default).",
    )
    p.add_argument(
        "--host", type=_host, default="127.0.0.1", help="interface to bind (default 127.0.0.1)"
    )
    p.add_argument("--port", type=_port, default=8765, help="TCP port; 0 picks a free one")
    # One certificate or the other: --tls-cert was silently ignored beside --tls-self-signed.
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--tls-cert", type=Path, help="PEM certificate: serve wss://")
    p.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    tls.add_argument(
        "--tls-self-signed",
        nargs="?",
        const="",
        metavar="DIR",
        help="write a cert for 127.0.0.1/localhost into DIR (default: a temporary folder, "
        "removed on exit) and serve wss://",
    )
    p.add_argument(
        "--api-key",
        action="append",
        type=_api_key,
        dest="api_keys",
        metavar="KEY",
        help="accepted key or token (repeatable); default: any non-empty key",
    )
    p.add_argument("--no-auth", action="store_true", help="accept connections without a key")
    p.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reject unknown JSON fields with 1007 (default on)",
    )
    p.add_argument("--model", action="append", dest="models", help="extra known model id")
    p.add_argument("--scenario", type=Path, help="scenario file (.json or .py with SCENARIO)")
    p.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        help="inject a fault, e.g. 'close:1011:Internal error encountered.@frames=5' "
        "(see docs/emulator.md)",
    )
    p.add_argument(
        "--lifetime", type=_lifetime, default=600.0, help="connection lifetime, s (default 600)"
    )
    p.add_argument(
        "--go-away",
        type=_seconds,
        default=None,
        help=f"goAway warning before the end, s (default {GO_AWAY_WARNING:g}, or the lifetime "
        "if shorter)",
    )
    p.add_argument(
        "--deadline-code",
        type=int,
        choices=(1008, 1011),
        default=1008,
        help="close code at the deadline",
    )
    p.add_argument(
        "--audio-session-limit",
        type=_limit,
        default=900.0,
        metavar="S",
        help="audio-only session limit without compression, s (default 900; 0: none)",
    )
    p.add_argument(
        "--video-session-limit",
        type=_limit,
        default=120.0,
        metavar="S",
        help="audio+video session limit without compression, s (default 120; 0: none)",
    )
    p.add_argument(
        "--session-limit-code",
        type=_close_code,
        default=1011,
        metavar="CODE",
        help="close code when a session limit is reached (default 1011; Google's is unknown)",
    )
    p.add_argument(
        "--handle-refused-code",
        type=_close_code,
        default=1008,
        metavar="CODE",
        help="close code for an unknown or expired resumption handle (default 1008; "
        "Google's is unknown)",
    )
    p.add_argument(
        "--first-handle",
        choices=("setup", "turn"),
        default="setup",
        help="when the first resumption handle comes: right after setupComplete (default) "
        "or once the first turn completes, as Google's does",
    )
    p.add_argument(
        "--combine-parts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="3.1-style frames with several parts (default: only for gemini-3* models)",
    )
    p.add_argument(
        "--voice-activity",
        action="store_true",
        help="send voiceActivity ACTIVITY_START/ACTIVITY_END at server VAD start/end",
    )
    p.add_argument(
        "--send-timeout",
        type=_send_timeout,
        default=None,
        metavar="SECONDS",
        help="drop a client that reads nothing once one frame takes this long to write "
        "(default: no limit but the connection's deadline)",
    )
    p.add_argument("--pacing", type=_pacing, default="burst", help="burst, realtime or a factor")
    p.add_argument(
        "--chunk-ms",
        type=_chunk_ms,
        default=40,
        metavar="MS",
        help=f"reply audio chunk duration, 1 to {MAX_AUDIO_CHUNK_MS} ms (default 40)",
    )
    p.add_argument("--input-transcript", help="what user speech is transcribed as")
    p.add_argument("--output-transcript", help="transcript of the echoed speech")
    p.add_argument("--vertex", action="store_true", help="speak the Vertex AI dialect")
    keep = EmulatorConfig.keep_closed_connections  # the dataclass default
    p.add_argument(
        "--keep-closed-connections",
        type=_keep_closed,
        default=keep,
        metavar="N",
        help=f"closed connections kept for inspection, the oldest forgotten first "
        f"(default {keep}; 'all': every one)",
    )
    ended = EmulatorConfig.keep_ended_sessions  # the dataclass default
    p.add_argument(
        "--keep-ended-sessions",
        type=_keep_closed,
        default=ended,
        metavar="N",
        help=f"ended sessions whose resumption handles are kept, those of the first ended "
        f"forgotten first (default {ended}; 'all': every one, for 2 h after it ended)",
    )
    return p


def _load_scenario(path: Path) -> Scenario:
    """The `--scenario` file, or a ValueError that names the flag and the file."""
    try:
        return Scenario.load(path)
    except OSError as exc:
        problem = f"{path}: {exc.strerror or exc}"
    except ValueError as exc:  # malformed JSON, a field of the wrong type (msgspec's errors)
        problem = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    except Exception as exc:  # a .py scenario is user code: it may raise anything
        problem = f"{path} raised {type(exc).__name__}: {exc}"
    except SystemExit as exc:  # ... even sys.exit(), which ended the emulator without a word
        problem = f"{path} called sys.exit({exc.code!r}) while being loaded"
    raise ValueError(f"--scenario {problem}")


def _config(args: argparse.Namespace) -> EmulatorConfig:
    extra: dict[str, object] = {}
    if args.input_transcript is not None:
        extra["input_transcript"] = args.input_transcript
    return EmulatorConfig(
        api_keys=frozenset(args.api_keys) if args.api_keys else None,
        require_auth=not args.no_auth,
        models=DEFAULT_MODELS + tuple(args.models or ()),
        strict=args.strict,
        scenario=_load_scenario(args.scenario) if args.scenario else None,
        faults=tuple(args.fault),
        lifetime=args.lifetime,
        go_away_warning=args.go_away,
        deadline_close_code=args.deadline_code,
        audio_session_limit=args.audio_session_limit,
        video_session_limit=args.video_session_limit,
        session_limit_close_code=args.session_limit_code,
        handle_refused_close_code=args.handle_refused_code,
        first_handle=args.first_handle,
        combine_parts=args.combine_parts,
        voice_activity=args.voice_activity,
        pacing=args.pacing,
        audio_chunk_ms=args.chunk_ms,
        output_transcript=args.output_transcript,
        vertex=args.vertex,
        keep_closed_connections=args.keep_closed_connections,
        keep_ended_sessions=args.keep_ended_sessions,
        send_timeout=args.send_timeout,
    ).replace(**extra)


def describe(emulator: Emulator, cert_file: Path | None, out: TextIO) -> None:
    """Print the URL and how to point clients at it (never a key)."""
    print(f"Gemini Live emulator listening on {emulator.url}", file=out)
    print(f"  endpoint: {emulator.endpoint_url()}", file=out)
    if cert_file is not None:
        print(f"SSL_CERT_FILE={cert_file}", file=out)
        print("Unmodified google-genai:", file=out)
        print(
            f"  GOOGLE_GEMINI_BASE_URL={emulator.http_url} GOOGLE_GENAI_API_VERSION=v1beta "
            f"SSL_CERT_FILE={cert_file} NO_PROXY=127.0.0.1,localhost python your_app.py",
            file=out,
        )
    out.flush()


def _tls(args: argparse.Namespace) -> tuple[ssl.SSLContext | None, Path | None]:
    """The server's SSL context and the certificate clients should trust, if TLS is asked for.

    Raises:
        OSError: the certificate cannot be written or loaded (the message names the files).
        RuntimeError: `--tls-self-signed` without the optional `cryptography` package.
        ValueError: `--tls-self-signed` without a folder (`emulator_main` gives it a
            temporary one, which it removes on exit).
    """
    if args.tls_self_signed is not None:
        if not args.tls_self_signed:
            raise ValueError("--tls-self-signed: no directory for the certificate")
        # Absolute: the printed SSL_CERT_FILE=... must work from any directory.
        cert_file, key_file = write_self_signed_cert(os.path.abspath(args.tls_self_signed))
        return server_ssl_context(cert_file, key_file), cert_file
    if args.tls_cert is not None:
        return server_ssl_context(args.tls_cert, args.tls_key or args.tls_cert), args.tls_cert
    return None, None


async def _serve(
    args: argparse.Namespace,
    config: EmulatorConfig,
    out: TextIO,
    ssl_context: ssl.SSLContext | None,
    cert_file: Path | None,
) -> None:
    # Ctrl-C / SIGTERM end the serving cleanly instead of raising through the nursery. The
    # receiver stays open until the emulator has shut down, and takes every signal till then:
    # a second Ctrl-C raised KeyboardInterrupt inside the shutdown, which left streams open
    # under writes to clients that read nothing (the exit then waited for their deadline).
    # An error (a port in use) comes out as itself, not in the nursery's group.
    errors = BlockErrors()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals, errors.nursery():
        stop = trio.Event()
        async with trio.open_nursery(strict_exception_groups=True) as nursery:
            nursery.start_soon(_take_signals, signals, stop)
            with errors.block():
                async with open_emulator(
                    config, host=args.host, port=args.port, ssl_context=ssl_context
                ) as emu:
                    describe(emu, cert_file, out)
                    await stop.wait()
            nursery.cancel_scope.cancel()


async def _take_signals(signals: AsyncIterator[int], stop: trio.Event) -> None:
    """Set `stop` at the first signal, and take any later one: shutdown is under way."""
    async for _ in signals:
        stop.set()


def emulator_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `gemini-live emulator ARGS`; serves until Ctrl-C.

    Returns:
        The process exit status.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # A usage error never shows a key (`--api_key KEY`, `--ap=KEY`, a URL's): see `_cli_args`.
    parser.hide(args_list)
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        parser.error(f"unrecognized arguments: {unknown_names(unknown)}")
    if args.tls_key is not None and args.tls_cert is None:
        parser.error("--tls-key needs --tls-cert")
    if any(not model.strip() for model in args.models or ()):
        parser.error("--model must name a model")
    if args.go_away is not None and args.go_away > args.lifetime:
        parser.error(f"--go-away {args.go_away:g} is longer than --lifetime {args.lifetime:g}")
    with contextlib.ExitStack() as cleanup:
        if args.tls_self_signed == "":
            # A folder of its own, removed on exit (mkdtemp's stayed behind after every run):
            # the certificate is only good for this emulator's lifetime anyway.
            args.tls_self_signed = cleanup.enter_context(
                tempfile.TemporaryDirectory(prefix="gemini-live-emulator-")
            )
        try:
            config = _config(args)
            # TLS files that cannot be loaded (or written) are bad arguments too: exit 2 like
            # any other, not 1, which `gemini-live` keeps for a run that failed.
            ssl_context, cert_file = _tls(args)
        except (OSError, ValueError, RuntimeError) as exc:
            print(f"gemini-live emulator: {exc}", file=sys.stderr)
            return 2
        try:
            trio.run(_serve, args, config, sys.stdout, ssl_context, cert_file)
        except KeyboardInterrupt:
            return 0
        except (OSError, RuntimeError) as exc:
            print(f"gemini-live emulator: {exc}", file=sys.stderr)
            return 2 if isinstance(exc, OSError) and _bad_host(exc) else 1
    return 0


def _bad_host(exc: OSError) -> bool:
    """Whether listening failed for the `--host` given: a bad argument (exit 2).

    A host that does not resolve, or an address that is none of this machine's, is wrong
    whenever the command runs; it exited 1 like a run that failed. A port in use, or one
    that needs privileges, is the moment's or the machine's: still 1.
    """
    return isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL
