"""The `gemini-live` command line: `demo`, `talk` and `emulator`.

`main()` parses the arguments, runs one command under `trio.run`, and turns every failure
into one line on standard error and a non-zero exit status (see `_errors`), never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
from collections.abc import Generator, Sequence
from typing import cast

import trio

from .. import __version__
from .._build_info import build_name
from .._cli_args import (
    KEY_OPTION,
    SanitisingParser,
    is_key_abbreviation,
    is_secret_option,
    unknown_names,
)
from ._demo import add_demo_arguments, run_demo
from ._errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, describe_error, unwrap_group
from ._talk import add_talk_arguments, run_talk

__all__ = ["build_parser", "main"]

log = logging.getLogger("trio_gemini_live.cli")

PROG = "gemini-live"


def _misplaced_key(argv: Sequence[str]) -> str | None:
    """A credential-like option given before the command, by name, or None.

    `gemini-live --api-key KEY talk` took the key for the command ("invalid choice: KEY").
    """
    for arg in argv:
        if arg == "--" or not arg.startswith("-"):
            return None  # the command (or the end of the options) comes first
        name = arg.partition("=")[0]
        if is_secret_option(name):
            return name
    return None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `gemini-live` (`emulator` arguments are parsed by the emulator)."""
    parser = SanitisingParser(
        prog=PROG,
        description="A trio-native client for Google's Gemini Live API, with a local emulator.",
        epilog="Run `gemini-live COMMAND --help` for the options of a command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {__version__}, {build_name()}"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log to standard error (-v: info, -vv: debug)",
    )
    # Not `required=True`: `main` says so itself, after any unrecognized argument.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a scripted voice session against the built-in emulator",
        description=(
            "Start the Live API emulator in-process on a free loopback port and run a "
            "scripted conversation through the client: speech, text, a tool call and a "
            "barge-in. The model's audio is written to reply.wav."
        ),
    )
    add_demo_arguments(demo)
    _add_verbose_after(demo)
    talk = commands.add_parser(
        "talk",
        help="talk to the Gemini Live API (or an emulator) with a WAV file and/or text",
        description=(
            "Send speech from a WAV file and/or text to the Live API, print the transcripts "
            "as they stream and optionally save the spoken reply. The API key comes from "
            "GEMINI_API_KEY or --api-key; --emulator or --url talk to an emulator instead."
        ),
    )
    add_talk_arguments(talk)
    _add_verbose_after(talk)
    commands.add_parser(
        "emulator",
        help="run the local Live API emulator (see `gemini-live emulator --help`)",
        add_help=False,
    )
    return parser


def _add_verbose_after(command: argparse.ArgumentParser) -> None:
    """Accept `-v` after the command too (`gemini-live talk ... -v`), counted with the first."""
    # Its own dest: argparse copies a subparser's values over the top level's, so a shared
    # `verbose` would make `-v talk -v` count 1.
    command.add_argument(
        "-v",
        "--verbose",
        dest="verbose_after",
        action="count",
        default=0,
        help="log to standard error (-v: info, -vv: debug)",
    )


_VERBOSE = re.compile(r"-v+|--verbose")


def _verbosity_of(arguments: list[str]) -> tuple[list[str], int]:
    """`arguments` without their `-v`/`-vv`/`--verbose`, and how many `v`s those held."""
    kept = [arg for arg in arguments if not _VERBOSE.fullmatch(arg)]
    count = sum(1 if arg == "--verbose" else len(arg) - 1 for arg in arguments if arg not in kept)
    return kept, count


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of `parser`'s commands."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # pyright: ignore[reportPrivateUsage]
        if isinstance(action, argparse._SubParsersAction):  # pyright: ignore[reportPrivateUsage]
            choices = cast(
                dict[str, argparse.ArgumentParser],
                action.choices,  # pyright: ignore[reportUnknownMemberType]
            )
            found.extend(choices.values())
    return found


def _configure_logging(verbosity: int) -> None:
    if verbosity <= 0:
        return
    logging.basicConfig(
        level=logging.DEBUG if verbosity > 1 else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@contextlib.contextmanager
def _library_logs_quiet(quiet: bool) -> Generator[None]:
    """Without `-v`, keep the library's log records off standard error while a command runs.

    With no handler configured, logging's last resort printed its warnings raw (`the
    session ended with 64 message(s) sent but not written: ...`, on a plain Ctrl-C too)
    beside the command's one line, which says what went wrong. Only for the duration: the
    library itself never configures logging.
    """
    if not quiet:
        yield
        return
    library = logging.getLogger("trio_gemini_live")
    handler = logging.NullHandler()
    library.addHandler(handler)
    try:
        yield
    finally:
        library.removeHandler(handler)


def _split_emulator(argv: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """If the command is `emulator`, split argv into (global options, emulator arguments)."""
    for index, arg in enumerate(argv):
        if arg == "emulator":
            return list(argv[:index]), list(argv[index + 1 :])
        if not arg.startswith("-"):
            return None
    return None


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.stderr.flush()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `gemini-live` command line; return the process exit status.

    Args:
        argv: the arguments after the program name (default: `sys.argv[1:]`).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    split = _split_emulator(args_list)
    try:
        for each in (parser, *_subparsers(parser)):
            if isinstance(each, SanitisingParser):
                each.hide(args_list)
        try:
            misplaced = _misplaced_key(args_list)
            if misplaced is not None:
                if is_key_abbreviation(misplaced):
                    command = "emulator" if "emulator" in args_list else "talk"
                    parser.error(
                        f"{misplaced} goes after the command: {PROG} {command} {KEY_OPTION} ..."
                    )
                parser.error(f"unrecognized arguments: {misplaced}")
            if split is not None:
                global_args, emulator_args = split
                options, unknown = parser.parse_known_args([*global_args, "emulator"])
                if unknown:
                    parser.error(f"unrecognized arguments: {unknown_names(unknown)}")
                # `-v` after the command as before it (the emulator's parser has none).
                emulator_args, verbose_after = _verbosity_of(emulator_args)
                _configure_logging(options.verbose + verbose_after)
                from ..emulator import emulator_main

                return emulator_main(emulator_args)
            options, unknown = parser.parse_known_args(args_list)
            if unknown:
                # Said before a missing COMMAND: `gemini-live --bogus` was told only that
                # COMMAND is required (argparse checks that first).
                parser.error(f"unrecognized arguments: {unknown_names(unknown)}")
            if options.command is None:
                parser.error("the following arguments are required: COMMAND")
        except SystemExit as exc:  # --help, --version and usage errors
            return exc.code if isinstance(exc.code, int) else 2
        verbosity = options.verbose + options.verbose_after
        _configure_logging(verbosity)
        with _library_logs_quiet(verbosity <= 0):
            if options.command == "demo":
                trio.run(
                    lambda: run_demo(
                        output=options.output,
                        model=options.model,
                        realtime=options.realtime,
                        all_events=options.all_events,
                    )
                )
                return EXIT_OK
            return trio.run(run_talk, options)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BaseException as raw:
        error = unwrap_group(raw)
        if isinstance(error, KeyboardInterrupt):
            return _fail("interrupted", EXIT_INTERRUPTED)
        if isinstance(error, SystemExit):
            return error.code if isinstance(error.code, int) else 1
        if not isinstance(error, Exception):
            raise
        if isinstance(error, BrokenPipeError):  # e.g. `gemini-live demo | head`
            _silence_stdout()
            return EXIT_FAILURE
        message, code = describe_error(error)
        # The traceback is for debugging (-vv): -v asks for the session's progress, and the
        # problem is the one line below.
        log.debug("%s failed", _command_name(args_list), exc_info=error)
        return _fail(message, code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the final flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _command_name(argv: Sequence[str]) -> str:
    return next((arg for arg in argv if not arg.startswith("-")), PROG)
