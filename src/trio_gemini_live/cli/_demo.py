"""`gemini-live demo`: a scripted voice session against the emulator, started in-process.

Four turns go through the real client over a loopback WebSocket: speech (a generated
speech-like signal), typed text, a tool call answered by a local function, and a barge-in
(the user speaks while the model talks). The model's audio goes to a 24 kHz WAV file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import trio

from .._endpoints import url_endpoint
from .._events import AudioDelta
from .._session import SessionStatistics, open_session
from .._setup import live_setup
from .._wav import INPUT_RATE, pcm_duration, speech_like_pcm
from ._conversation import Conversation
from ._defaults import DEFAULT_MODEL, DEFAULT_VOICE, WEATHER_TOOL, get_weather
from ._errors import CliError
from ._input import send_pcm
from ._metrics import Metrics, Summary
from ._output import check_writable, report_stream, write_output
from ._report import Reporter

if TYPE_CHECKING:
    from ..emulator import EmulatorConfig, Scenario

__all__ = ["add_demo_arguments", "demo_scenario", "run_demo"]

DEMO_TIMEOUT = 60.0
"""Upper bound on the whole demo, in seconds (it normally takes a few)."""

TURN_TIMEOUT = 20.0
"""Upper bound on one turn, in seconds."""


def demo_scenario() -> Scenario:
    """What the emulator's model answers in the demo (audio turns are echoed back)."""
    # The emulator is imported when a command needs it: `gemini-live --version`, `talk`
    # and Ctrl-C during start-up do not wait for it.
    from ..emulator import Scenario, ScenarioTurn

    return Scenario(
        (
            ScenarioTurn(
                when="trio",
                reply="Trio runs every task inside a nursery, so nothing is ever left running.",
            ),
            ScenarioTurn(when="weather", after_tool="The weather service says: {response}"),
            ScenarioTurn(
                when="story",
                reply=(
                    "Once upon a time, a packet left its home socket and travelled across many "
                    "routers, meeting buffers, queues and timeouts, until at last it reached a "
                    "patient little event loop that had been waiting for it all along."
                ),
            ),
        )
    )


DEMO_PACING = 0.25
"""Emulator pacing of the demo: seconds of delay per second of reply audio."""

_HEARD = "Hello, can you hear me?"
_LISTEN_S = 0.8  # seconds of the story the user hears before interrupting
_SILENCE_S = 0.7  # trailing silence: longer than the emulator's 500 ms end-of-speech window


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `gemini-live demo`."""
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("reply.wav"),
        help="where to write the model's audio (default: reply.wav)",
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model name (default: {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="send and receive audio at real-time speed instead of as fast as possible",
    )
    parser.add_argument(
        "--all-events", action="store_true", help="print every event, including quiet ones"
    )


def _emulator_config(realtime: bool) -> EmulatorConfig:
    # Audio streams 4x faster than real time (Google also sends faster than real time), so
    # the demo is quick while each answer still lasts long enough to be talked over.
    from ..emulator import EmulatorConfig

    return EmulatorConfig(
        scenario=demo_scenario(),
        pacing="realtime" if realtime else DEMO_PACING,
        text_ms_per_char=40,
        input_transcript=_HEARD,
    )


async def run_demo(
    *,
    output: Path,
    model: str = DEFAULT_MODEL,
    realtime: bool = False,
    out: TextIO | None = None,
    all_events: bool = False,
) -> Summary:
    """Run the scripted demo conversation and write the model's audio to `output`.

    Returns:
        The session's summary (also printed).
    """
    check_writable(output)
    reporter = Reporter(report_stream(output, out), all_events=all_events)
    metrics = Metrics(audio_in_rate=INPUT_RATE)
    speech = speech_like_pcm(1.6, sample_rate=INPUT_RATE)
    silence = bytes(int(_SILENCE_S * INPUT_RATE) * 2)
    setup = live_setup(
        model,
        voice=DEFAULT_VOICE,
        system_instruction="You are a friendly voice assistant in a demo.",
        functions=[WEATHER_TOOL],
        input_transcription=True,
        output_transcription=True,
    )
    stats: SessionStatistics | None = None
    reply = bytearray()
    reply_rate = 24_000
    with trio.move_on_after(DEMO_TIMEOUT) as overall:
        from ..emulator import open_emulator

        async with open_emulator(_emulator_config(realtime)) as emulator:
            endpoint = url_endpoint(emulator.endpoint_url(), api_key="demo-key")
            reporter.line(
                f"gemini-live demo: Live API emulator running in-process at {emulator.url}"
            )
            reporter.line(f"model {model}, voice {DEFAULT_VOICE}, tool get_weather(city)")
            metrics.start()
            async with (
                open_session(setup, endpoint=endpoint) as session,
                trio.open_nursery() as nursery,
            ):
                conversation = Conversation(
                    session,
                    reporter,
                    metrics,
                    tools={"get_weather": get_weather},
                    turn_timeout=TURN_TIMEOUT,
                )
                nursery.start_soon(conversation.read_events)

                async def speak(label: str) -> None:
                    reporter.line(
                        f"  you: ({label}: {pcm_duration(speech, INPUT_RATE):.1f} s of "
                        "speech-like audio, 16 kHz mono)"
                    )
                    await send_pcm(session, speech, metrics=metrics, realtime=realtime)
                    metrics.user_input_ended()
                    await send_pcm(session, silence, metrics=metrics, realtime=realtime)

                async def turn(action: str, text: str | None = None) -> None:
                    target = conversation.completed_turns + 1
                    if text is None:
                        await speak(action)
                    else:
                        reporter.user_text(text)
                        await session.send_text(text)
                    await conversation.wait_for_turns(target)

                reporter.step("1/4 audio turn: the user speaks, the model answers in audio")
                await turn("speaking")

                reporter.step("2/4 text turn")
                await turn("typed", "Tell me something about trio.")

                reporter.step("3/4 tool call: the model calls get_weather, a local function")
                await turn("typed", "What's the weather in Paris?")

                reporter.step("4/4 barge-in: the user talks over the model")
                target = conversation.completed_turns + 1
                interruptions = metrics.interruptions
                # The user lets the model talk for a moment, then speaks over it.
                listened = trio.Event()
                story_audio = 0.0

                def on_audio(event: AudioDelta) -> None:
                    nonlocal story_audio
                    story_audio += event.duration
                    if story_audio >= _LISTEN_S:
                        listened.set()

                conversation.on_audio = on_audio
                reporter.user_text("Tell me a long story.")
                await session.send_text("Tell me a long story.")
                with trio.fail_after(TURN_TIMEOUT):
                    await listened.wait()
                conversation.on_audio = None
                await speak("interrupting")
                await conversation.wait_for_turns(target)
                if metrics.interruptions == interruptions:
                    reporter.line("[note] the model finished before the barge-in arrived")

                stats = session.statistics()
                reply, reply_rate = conversation.audio, conversation.audio_rate
                nursery.cancel_scope.cancel()
    if overall.cancelled_caught or stats is None:
        raise CliError(f"the demo did not finish within {DEMO_TIMEOUT:g} s")

    reporter.close()
    write_output(output, bytes(reply), reply_rate)
    summary = metrics.summary(stats)
    reporter.line(
        f"\nwrote {output} ({pcm_duration(reply, reply_rate):.2f} s, "
        f"{reply_rate // 1000} kHz mono 16-bit)"
    )
    reporter.line("summary:")
    for text in summary.lines(cpu_note=" (client and in-process emulator together)"):
        reporter.line(f"  {text}")
    return summary
