"""Seeded, fixed inputs: Google-shaped server frames (pretty JSON) and client audio chunks."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

SEED = 20240611
OUT_RATE = 24000  # server audio
IN_RATE = 16000  # client audio
MODEL = "gemini-live-2.5-flash-preview"


def pcm(ms: int, rate: int, seed: int = SEED) -> bytes:
    """Seeded 16-bit mono PCM of `ms` milliseconds (noise, like real speech for base64)."""
    rnd = random.Random(seed + ms + rate)
    return rnd.randbytes(rate * ms // 1000 * 2)


def pretty(message: dict[str, Any]) -> bytes:
    """Serialise like Google's server: 2-space indent, trailing newline, UTF-8 bytes."""
    return (json.dumps(message, indent=2, ensure_ascii=False) + "\n").encode()


def audio_frame(ms: int) -> bytes:
    data = base64.b64encode(pcm(ms, OUT_RATE)).decode()
    part = {"inlineData": {"mimeType": f"audio/pcm;rate={OUT_RATE}", "data": data}}
    return pretty({"serverContent": {"modelTurn": {"parts": [part]}}})


def audio_b64(ms: int) -> str:
    return base64.b64encode(pcm(ms, OUT_RATE)).decode()


USAGE = {
    "promptTokenCount": 1234,
    "responseTokenCount": 567,
    "totalTokenCount": 1801,
    "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 1234}],
    "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 567}],
}


def control_frames() -> dict[str, bytes]:
    return {
        "turn complete + usage": pretty(
            {"serverContent": {"turnComplete": True}, "usageMetadata": USAGE}
        ),
        "transcription": pretty(
            {"serverContent": {"outputTranscription": {"text": " can you hear me"}}}
        ),
        "tool call": pretty(
            {
                "toolCall": {
                    "functionCalls": [
                        {
                            "id": "function-call-1234567890",
                            "name": "get_current_weather",
                            "args": {"location": "Redmond", "unit": "celsius"},
                        }
                    ]
                }
            }
        ),
    }


WARMUP_FRAMES = 20
"""Frames of the warm-up turn every receive run reads before it is measured (`_server.py`)."""
WARMUP_CHUNKS = 5
"""Chunks every send run sends, and whose `turnComplete` it reads, before it is measured.

Why: a client's first use of a kind of message may build its models (google-genai's pydantic
types take about 26 ms the first time): a one-time cost, charged to no frame of a session."""

AUDIO40 = audio_frame(40)
TRANSCRIPT = pretty({"serverContent": {"outputTranscription": {"text": " and so on"}}})
TURN_COMPLETE = control_frames()["turn complete + usage"]


def stream_payloads(n: int, ms: int = 40) -> list[bytes]:
    """`n` frames: audio with 1 control frame in 10; the last is turnComplete + usage."""
    audio = audio_frame(ms)
    out = [TRANSCRIPT if i % 10 == 9 else audio for i in range(n - 1)]
    out.append(TURN_COMPLETE)
    return out


def interrupted_frame(stamp: int) -> bytes:
    # outputTranscription is turned into its event before `interrupted`: the stamp arrives
    # in the same frame, one event ahead.
    return pretty(
        {"serverContent": {"outputTranscription": {"text": f"t{stamp}"}, "interrupted": True}}
    )


def stamp_b64(stamp: int) -> bytes:
    """12 base64 characters carrying a nanosecond timestamp (9 bytes: aligned)."""
    return base64.b64encode(stamp.to_bytes(8, "big") + b"\0")


def read_stamp(pcm_data: bytes | bytearray | memoryview) -> int:
    return int.from_bytes(bytes(pcm_data[:8]), "big")
