"""A trio voice loop: microphone in, speaker out, with a playback buffer that honours barge-in.

Three tasks share one Live session: the *microphone* streams 20 ms chunks in real time, the
*receiver* puts the model's audio into a playback buffer, and the *speaker* plays that
buffer at 24 kHz. When the user talks over the model, the server sends `Interrupted` and the
buffer is flushed at once, so the model stops talking mid-sentence, as it should.

No sound card is needed: the microphone plays a WAV file (or a generated speech-like
signal) and the speaker writes what was actually heard to `heard.wav`.

    python examples/voice_loop.py                    # against the built-in emulator
    GEMINI_API_KEY=... python examples/voice_loop.py --real --input question.wav
"""

from __future__ import annotations

import argparse
import array
import math
import os
import sys
import wave
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from trio_gemini_live import (
    AudioDelta,
    Endpoint,
    InputTranscription,
    Interrupted,
    LiveSession,
    OutputTranscription,
    TurnComplete,
    gemini_endpoint,
    live_setup,
    open_pacer,
    open_session,
    url_endpoint,
)
from trio_gemini_live.emulator import EmulatorConfig, open_emulator

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
MIC_RATE = 16_000  # what the Live API takes
SPEAKER_RATE = 24_000  # what it answers with
FRAME_MS = 20


def speech_like(seconds: float, rate: int = MIC_RATE, f0: float = 140.0) -> bytes:
    """A voiced, syllable-like test signal (harmonics under a 4 Hz envelope)."""
    samples = array.array("h")
    for n in range(int(seconds * rate)):
        t = n / rate
        envelope = max(0.0, math.sin(2 * math.pi * 2.0 * t)) ** 0.5  # 4 syllables a second
        voice = sum(math.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 8))
        samples.append(int(5000 * envelope * voice))
    return samples.tobytes()


def read_mono16k(path: Path) -> bytes:
    """Read a 16 kHz mono 16-bit WAV (`gemini-live talk` converts any other format)."""
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (MIC_RATE, 1, 2):
            sys.exit(f"{path}: need 16 kHz mono 16-bit PCM")
        return wav.readframes(wav.getnframes())


class PlaybackBuffer:
    """Model audio waiting for the speaker; `flush()` drops all of it (barge-in)."""

    def __init__(self, rate: int = SPEAKER_RATE) -> None:
        self.rate = rate
        self._pending = bytearray()
        self._more = trio.Event()
        self._drained = trio.Event()
        self.started = trio.Event()  # the speaker has begun playing something
        self.flushed_seconds = 0.0

    def feed(self, pcm: bytes) -> None:
        """Queue audio for playback."""
        self._pending += pcm
        self._more.set()

    def flush(self) -> float:
        """Drop everything not yet played; return how many seconds were dropped."""
        dropped = len(self._pending) / (2 * self.rate)
        self._pending.clear()
        self.flushed_seconds += dropped
        return dropped

    async def wait_drained(self) -> None:
        """Wait until everything queued so far has been played."""
        if self._pending:
            self._drained = trio.Event()
            await self._drained.wait()

    async def next_frame(self) -> bytes:
        """Wait for audio, then take one frame of it."""
        while not self._pending:
            self._drained.set()
            self._more = trio.Event()
            await self._more.wait()
        size = self.rate * 2 * FRAME_MS // 1000
        frame = bytes(self._pending[:size])
        del self._pending[:size]
        return frame


async def speaker(buffer: PlaybackBuffer, sink: wave.Wave_write) -> None:
    """Play the buffer in real time (here: append each frame to a WAV file)."""
    with open_pacer() as pacer:  # cheaper wake-ups than trio.sleep_until, same meaning
        next_due = trio.current_time()
        while True:
            frame = await buffer.next_frame()
            now = trio.current_time()
            next_due = max(next_due, now)  # after a gap, restart the clock
            buffer.started.set()
            sink.writeframes(frame)  # a real app writes to its audio device here
            next_due += len(frame) / (2 * buffer.rate)
            await pacer.sleep_until(next_due)


async def microphone(session: LiveSession, speech: bytes, buffer: PlaybackBuffer) -> None:
    """Stream speech, then silence; talk again while the model is answering (barge-in)."""
    frame_bytes = MIC_RATE * 2 * FRAME_MS // 1000
    silence = bytes(frame_bytes)

    def frames(pcm: bytes) -> list[bytes]:
        return [pcm[offset : offset + frame_bytes] for offset in range(0, len(pcm), frame_bytes)]

    async def capture() -> AsyncIterator[bytes]:
        # A WAV file played as a microphone: `stream_audio` sends each frame when the ones
        # before it would have played, as a real microphone would deliver them.
        print("mic: speaking")
        for frame in frames(speech):
            yield frame
        while not buffer.started.is_set():  # silence until the model starts answering
            yield silence
        for _ in range(25):  # let the user listen for half a second...
            yield silence
        print("mic: talking over the model")
        for frame in frames(speech):  # ...then interrupt
            yield frame
        while True:  # an open microphone keeps sending silence
            yield silence

    await session.stream_audio(capture(), sample_rate=MIC_RATE)


async def receiver(session: LiveSession, buffer: PlaybackBuffer, turns_wanted: int) -> None:
    """Route events: audio to the buffer, barge-in flushes it, transcripts to the screen."""
    turns = 0
    async for event in session:
        match event:
            case AudioDelta(pcm=pcm):
                buffer.feed(pcm)
            case Interrupted():
                dropped = buffer.flush()
                print(f"\n[barge-in] playback flushed: {dropped:.2f} s of audio dropped")
            case InputTranscription(text=text):
                print(f"[you] {text}")
            case OutputTranscription(text=text):
                print(f"[model] {text}")
            case TurnComplete(interrupted=False):
                turns += 1
                if turns == turns_wanted:
                    return
            case _:
                pass


async def voice_loop(endpoint: Endpoint, speech: bytes, heard: Path) -> float:
    """Run the loop until the model has answered twice; return the seconds flushed."""
    setup = live_setup(MODEL, input_transcription=True, output_transcription=True)
    buffer = PlaybackBuffer()
    with wave.open(str(heard), "wb") as sink:
        sink.setnchannels(1)
        sink.setsampwidth(2)
        sink.setframerate(SPEAKER_RATE)
        async with (
            open_session(setup, endpoint=endpoint) as session,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(speaker, buffer, sink)
            nursery.start_soon(microphone, session, speech, buffer)
            # The first answer is interrupted (not counted); wait for the reply to the
            # interruption, then let it finish playing.
            await receiver(session, buffer, turns_wanted=1)
            await buffer.wait_drained()
            nursery.cancel_scope.cancel()
    return buffer.flushed_seconds


@asynccontextmanager
async def live_endpoint(real: bool) -> AsyncGenerator[Endpoint]:
    """The real Gemini API with `--real`, else a local emulator on a free loopback port."""
    if real:
        key = os.environ.get("GEMINI_API_KEY")
        if not key:
            sys.exit("--real needs the GEMINI_API_KEY environment variable")
        yield gemini_endpoint(key)
        return
    # Like Google, the emulator ends a turn only once its audio would have been played, so
    # there is time to barge in even though the audio itself arrives in a burst.
    async with open_emulator(EmulatorConfig(wait_for_playback=True)) as emulator:
        yield url_endpoint(emulator.endpoint_url(), api_key="example-key")


async def main() -> None:
    parser = argparse.ArgumentParser(description="A trio voice loop with barge-in")
    parser.add_argument("--real", action="store_true", help="use the real API (GEMINI_API_KEY)")
    parser.add_argument("--input", type=Path, help="16 kHz mono 16-bit WAV to 'say'")
    parser.add_argument("--heard", type=Path, default=Path("heard.wav"), help="speaker output")
    args = parser.parse_args()
    speech = read_mono16k(args.input) if args.input else speech_like(1.5)
    async with live_endpoint(args.real) as endpoint:
        with trio.fail_after(60):
            flushed = await voice_loop(endpoint, speech, args.heard)
    print(f"done: wrote {args.heard}; barge-in dropped {flushed:.2f} s of unplayed audio")


if __name__ == "__main__":
    trio.run(main)
