"""`gemini-live talk`: one conversation with the real Live API or an emulator.

Speech from a WAV file (any format, converted to 16 kHz mono) and/or typed text go in;
transcripts are printed as they stream and the spoken reply can be saved as a WAV file.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

import trio

from .._endpoints import Endpoint, gemini_endpoint, url_endpoint
from .._errors import ConfigurationError
from .._groups import BlockErrors
from .._protocol import SessionState
from .._session import LiveSession, SessionStatistics, open_session
from .._setup import live_setup
from .._wav import INPUT_RATE, WavAudio, pcm_duration, pcm_peak_dbfs, read_wav
from .._wire import Setup
from ._conversation import Conversation
from ._defaults import DEFAULT_MODEL
from ._errors import EXIT_USAGE, CliError
from ._input import Progress, send_pcm
from ._metrics import Metrics
from ._output import check_writable, report_stream, write_output
from ._report import Reporter

__all__ = ["add_talk_arguments", "run_talk"]

NO_KEY_MESSAGE = (
    "no API key: set the GEMINI_API_KEY environment variable (export GEMINI_API_KEY=...) "
    "or pass --api-key KEY; or add --emulator to talk to the local emulator instead"
)
_EMULATOR_KEY = "emulator-key"  # any non-empty key opens the emulator by default
_SILENCE_S = 1.0  # trailing silence after the input, so that the server's VAD ends the turn
_PROGRESS_MIN_S = 5.0  # inputs longer than this get a progress line
# Input whose loudest sample is below this is silent for any voice activity detection (a
# quiet microphone still peaks around -35 dBFS on speech; -50 is the noise floor of many).
_SILENT_DBFS = -50.0


def add_talk_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `gemini-live talk`."""
    what = parser.add_argument_group("what to say")
    what.add_argument(
        "-i",
        "--input",
        type=Path,
        metavar="IN.wav",
        help="speech to send: a WAV file of any rate, channel count and sample width",
    )
    what.add_argument(
        "-t",
        "--text",
        action="append",
        default=[],
        metavar="TEXT",
        help="text to send after the audio (repeat for several turns)",
    )
    what.add_argument("--system", metavar="TEXT", help="system instruction for the model")
    where = parser.add_argument_group("where to connect (default: the Gemini API)")
    target = where.add_mutually_exclusive_group()
    target.add_argument(
        "--emulator", action="store_true", help="start the local emulator in-process and use it"
    )
    target.add_argument(
        "--url",
        metavar="WS_URL",
        help="a Live API endpoint, e.g. a running `gemini-live emulator` (ws://127.0.0.1:8765)",
    )
    where.add_argument(
        "--api-key",
        metavar="KEY",
        help=(
            "Gemini API key (default: the GEMINI_API_KEY environment variable; with "
            "--emulator or --url a placeholder key is sent unless this or the URL's "
            "?key= gives one)"
        ),
    )
    where.add_argument(
        "--api-version",
        default=None,
        choices=["v1beta", "v1alpha", "v1"],
        help="Gemini API version (default: v1beta)",
    )
    how = parser.add_argument_group("the session")
    how.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default: {DEFAULT_MODEL})")
    how.add_argument("--voice", help="prebuilt voice name, e.g. Puck, Kore, Charon")
    how.add_argument(
        "-o", "--output", type=Path, metavar="OUT.wav", help="save the model's audio (24 kHz mono)"
    )
    how.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for each answer, and for the server to take the input "
        "(beyond the input's own duration) (default: 60)",
    )
    how.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="send the input at real-time speed (default: on for the real API, off otherwise)",
    )
    how.add_argument(
        "--all-events", action="store_true", help="print every event, including quiet ones"
    )


def _full_url(url: str, api_version: str) -> str:
    """A bare `ws://host:port` means the Gemini API path of an emulator."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # url_endpoint says what is wrong with it
    if parts.path in ("", "/"):
        # Into the path, not onto the end of the string: after a `?key=...` query it was
        # appended to the query, and the request went to `/` (HTTP 404).
        service = f"google.ai.generativelanguage.{api_version}.GenerativeService"
        path = f"/ws/{service}.BidiGenerateContent"
        return urlunsplit(parts._replace(path=path))
    return url


@asynccontextmanager
async def _target(args: argparse.Namespace, reporter: Reporter) -> AsyncGenerator[Endpoint]:
    """The endpoint to talk to, running the emulator for the duration if asked."""
    # --api-version applies to an emulator's path too (it was always v1beta there).
    version = args.api_version or "v1beta"
    if args.emulator:
        from ..emulator import open_emulator

        async with open_emulator() as emulator:
            reporter.line(f"Live API emulator running in-process at {emulator.url}")
            url = emulator.endpoint_url(version)
            yield url_endpoint(url, api_key=args.api_key or _EMULATOR_KEY)
        return
    if args.url is not None:
        url = _full_url(args.url, version)
        endpoint = url_endpoint(url, api_key=args.api_key)
        if not endpoint.secrets:
            # The placeholder only when the URL has no `?key=` either: given as the api_key
            # it took the place of the URL's key, and the server refused the placeholder.
            endpoint = url_endpoint(url, api_key=_EMULATOR_KEY)
        yield endpoint
        return
    key = args.api_key
    source = "--api-key"
    for variable in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        if not key:
            key, source = os.environ.get(variable), variable
    if not key:
        raise CliError(NO_KEY_MESSAGE, EXIT_USAGE)
    try:
        endpoint = gemini_endpoint(key, api_version=args.api_version)
    except ConfigurationError as exc:
        # It names `api_key`, the parameter; say where this one came from.
        raise CliError(f"{source}: {exc}", EXIT_USAGE) from None
    yield endpoint


def _load_input(path: Path | None, reporter: Reporter) -> WavAudio | None:
    if path is None:
        return None
    audio = read_wav(path, sample_rate=INPUT_RATE)
    if not audio.pcm:
        raise CliError(f"{path} contains no audio", EXIT_USAGE)
    reporter.line(f"input: {path} ({audio.source.describe()}) -> 16 kHz mono 16-bit")
    return audio


def _silence_hint(audio: WavAudio | None, name: str) -> str | None:
    """Why the model may not answer `audio`, if it is silent (said before and after)."""
    if audio is None:
        return None
    peak = pcm_peak_dbfs(audio.pcm)
    if peak >= _SILENT_DBFS:
        return None
    level = "all samples are 0" if peak == -math.inf else f"its peak is {peak:.0f} dBFS"
    return (
        f"{name} is silent ({level}): the server's voice activity detection hears no "
        "speech in it, so no turn starts; check the recording or the microphone level"
    )


async def run_talk(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run `gemini-live talk` with parsed arguments; return the exit code."""
    if any(not text.strip() for text in args.text):
        # The model answers nothing to an empty turn: the wait would only run out.
        raise CliError("--text must not be empty", EXIT_USAGE)
    if args.url is not None and not args.url.strip():
        # `--url "$EMULATOR_URL"` with the variable unset: taken as no --url, it went to
        # the real API with GEMINI_API_KEY.
        raise CliError("--url must not be empty (give a ws:// or wss:// URL)", EXIT_USAGE)
    if args.input is None and not args.text:
        raise CliError("nothing to say: give --input FILE.wav and/or --text TEXT", EXIT_USAGE)
    if not 0 < args.timeout < math.inf:  # NaN too; inf would wait forever
        raise CliError(
            f"--timeout must be a positive, finite number of seconds, got {args.timeout}",
            EXIT_USAGE,
        )
    if args.output is not None:
        check_writable(args.output)
    reporter = Reporter(report_stream(args.output, out), all_events=args.all_events)
    audio = _load_input(args.input, reporter)
    metrics = Metrics(audio_in_rate=INPUT_RATE)
    setup = live_setup(
        args.model,
        voice=args.voice,
        system_instruction=args.system,
        input_transcription=audio is not None,
        output_transcription=True,
    )
    silent = _silence_hint(audio, args.input.name if args.input is not None else "")
    if silent is not None:
        reporter.line(f"warning: {silent}")
    local = args.emulator or args.url is not None
    realtime = args.realtime if args.realtime is not None else not local
    try:
        # All that `_converse` raises is the command's own: its nursery's group is undone
        # (a single CliError comes out as itself), as the library's entry points do theirs.
        with BlockErrors().nursery():
            reply, reply_rate, stats = await _converse(
                args, reporter, metrics, setup, audio, realtime
            )
    except BaseException:
        # Ends a transcript or progress line in progress, so that the error is not printed
        # onto its end. The error in flight is the one to report, not one from this.
        with contextlib.suppress(Exception):
            reporter.close()
        raise
    reporter.close()
    seconds = pcm_duration(reply, reply_rate)
    if args.output is not None:
        write_output(args.output, bytes(reply), reply_rate)
        reporter.line(f"wrote {args.output} ({seconds:.2f} s, {reply_rate // 1000} kHz mono)")
    elif reply:
        reporter.line(f"received {seconds:.2f} s of audio (use --output FILE.wav to keep it)")
    for text in metrics.summary(stats).lines()[:4]:
        reporter.line(f"  {text}")
    return 0


async def _converse(
    args: argparse.Namespace,
    reporter: Reporter,
    metrics: Metrics,
    setup: Setup,
    audio: WavAudio | None,
    realtime: bool,
) -> tuple[bytes, int, SessionStatistics]:
    """Say the input, wait for the answers; the model's audio, its rate and the statistics."""
    async with _target(args, reporter) as endpoint:
        reporter.line(f"connecting to {endpoint.display_url} (model {args.model})")
        metrics.start()
        async with (
            open_session(setup, endpoint=endpoint) as session,
            trio.open_nursery() as nursery,
        ):
            conversation = Conversation(session, reporter, metrics, turn_timeout=args.timeout)
            nursery.start_soon(conversation.read_events)
            if audio is not None:
                name = args.input.name
                # Counted from before the input: an answer may be complete before its end.
                target = conversation.completed_turns + 1
                await _say_audio(conversation, audio, name, realtime=realtime)
                await conversation.wait_until_idle(target, hint=_silence_hint(audio, name))
            for text in args.text:
                target = conversation.completed_turns + 1
                reporter.user_text(text)
                # A small message, but behind a server that stopped reading it waits too.
                with trio.move_on_after(args.timeout) as sending:
                    await session.send_text(text)
                if sending.cancelled_caught:
                    raise CliError(_not_sent(session, "the text", args.timeout))
                metrics.user_input_ended()
                await conversation.wait_for_turns(target)
            stats = session.statistics()
            nursery.cancel_scope.cancel()
            return bytes(conversation.audio), conversation.audio_rate, stats
    raise AssertionError("unreachable: _target yields once")  # pragma: no cover


async def _say_audio(
    conversation: Conversation, audio: WavAudio, name: str, *, realtime: bool
) -> None:
    """Stream the input, then trailing silence and the end of the audio stream.

    Bounded by the audio's duration and the turn timeout: against a server that stops
    reading, each send waits for room, and the session reconnects, replays and waits again,
    so the sending never ended (the timeout applied only to waiting for answers).
    """
    session, reporter, metrics = conversation.session, conversation.reporter, conversation.metrics
    progress = (
        Progress(name, audio.duration, reporter).update
        if audio.duration > _PROGRESS_MIN_S
        else None
    )
    reporter.line(f"  you: (speaking {audio.duration:.1f} s from {name})")
    limit = audio.duration + _SILENCE_S + conversation.turn_timeout
    with trio.move_on_after(limit) as sending:
        await send_pcm(session, audio.pcm, metrics=metrics, realtime=realtime, progress=progress)
        metrics.user_input_ended()
        silence = bytes(int(_SILENCE_S * INPUT_RATE) * 2)
        await send_pcm(session, silence, metrics=metrics, realtime=realtime)
        await session.audio_stream_end()
    if sending.cancelled_caught:
        raise CliError(_not_sent(session, name, limit))


def _not_sent(session: LiveSession, what: str, seconds: float) -> str:
    """Why the sending ran out of time, as far as the session knows.

    A connection that is not open means a resume under way: the server went away (or the
    network did) and does not take the connection back; "it stopped reading" blamed a server
    that may be gone. On an open connection the input was not taken in time: a server that
    stopped reading, or a `--timeout` too short. After a `goAway` the connection stays open
    (GOING_AWAY) until the move: that is an open connection too.
    """
    if session.state not in (SessionState.OPEN, SessionState.GOING_AWAY):
        return (
            f"could not send {what} within {seconds:.1f} s: the connection was lost, and "
            "reconnecting had not succeeded by then"
        )
    return (
        f"could not send {what} within {seconds:.1f} s: the server did not take it all in "
        "time (it may have stopped reading, or --timeout is too short)"
    )
