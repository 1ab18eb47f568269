"""Using the client from an anyio application (on anyio's trio backend).

The library is trio-native, so an anyio program runs it with `backend="trio"`; everything
else can stay anyio: task groups, memory object streams, `fail_after`. Here a task turns
the session's events into one message per answer and hands them to the main task over an
anyio memory object stream.

    pip install anyio                            # not a dependency of trio-gemini-live
    python examples/anyio_app.py                 # against the built-in emulator
    GEMINI_API_KEY=... python examples/anyio_app.py --real
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import ObjectSendStream

from trio_gemini_live import (
    AudioDelta,
    Endpoint,
    LiveSession,
    OutputTranscription,
    TextDelta,
    TurnComplete,
    gemini_endpoint,
    live_setup,
    open_session,
    url_endpoint,
)

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
QUESTIONS = ["Hello, who are you?", "Say something about anyio."]


async def collect_answers(session: LiveSession, answers: ObjectSendStream[str]) -> None:
    """Turn the event stream into one message per model turn (its transcript)."""
    async with answers:
        text: list[str] = []
        audio_seconds = 0.0
        async for event in session:
            match event:
                case OutputTranscription(text=piece) | TextDelta(text=piece, thought=False):
                    text.append(piece)
                case AudioDelta():
                    audio_seconds += event.duration
                case TurnComplete(interrupted=interrupted):
                    if not interrupted:
                        answer = "".join(text).strip()
                        await answers.send(f"{answer}  ({audio_seconds:.1f} s audio)")
                    # Either way the turn is over: an interrupted one's words and audio are
                    # no part of the next answer.
                    text, audio_seconds = [], 0.0
                case _:
                    pass


async def chat(endpoint: Endpoint) -> None:
    """Ask each question and wait for its answer before the next (new input interrupts)."""
    setup = live_setup(MODEL, output_transcription=True)
    send, receive = anyio.create_memory_object_stream[str](max_buffer_size=8)
    async with (
        open_session(setup, endpoint=endpoint) as session,
        anyio.create_task_group() as tg,
        receive,
    ):
        tg.start_soon(collect_answers, session, send)
        for question in QUESTIONS:
            print(f"  you: {question}")
            await session.send_text(question)
            with anyio.fail_after(60):
                print(f"model: {await receive.receive()}")
        tg.cancel_scope.cancel()


@asynccontextmanager
async def live_endpoint(real: bool) -> AsyncGenerator[Endpoint]:
    """The real Gemini API with `--real`, else a local emulator on a free loopback port."""
    if real:
        key = os.environ.get("GEMINI_API_KEY")
        if not key:
            sys.exit("--real needs the GEMINI_API_KEY environment variable")
        yield gemini_endpoint(key)
        return
    from trio_gemini_live.emulator import open_emulator

    async with open_emulator() as emulator:
        yield url_endpoint(emulator.endpoint_url(), api_key="example-key")


async def main() -> None:
    parser = argparse.ArgumentParser(description="Gemini Live from an anyio app")
    parser.add_argument("--real", action="store_true", help="use the real API (GEMINI_API_KEY)")
    args = parser.parse_args()
    async with live_endpoint(args.real) as endpoint:
        await chat(endpoint)
    print("done")


if __name__ == "__main__":
    anyio.run(main, backend="trio")
