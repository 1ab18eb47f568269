"""The session API against the emulator's Gemini 3.1-era wire shapes.

3.1 frames carry several `modelTurn` parts plus an `outputTranscription` in one
`serverContent`; the client must surface every one of them, in wire order. `voiceActivity`
messages (off by default in the emulator) must come out as `VoiceActivity` events.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import trio
import trio.testing

from trio_gemini_live import (
    AudioDelta,
    GenerationComplete,
    OutputTranscription,
    RealtimeEvent,
    TextDelta,
    TurnComplete,
    VoiceActivity,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live.emulator import Emulator, EmulatorConfig, open_emulator
from turns import until_turn_complete

GEMINI_31 = "gemini-3.1-flash-live-preview"
AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"

Item = tuple[str, Any]


def speech(seconds: float, rate: int = 16000) -> bytes:
    count = int(seconds * rate)
    return struct.pack(
        f"<{count}h", *(int(7000 * math.sin(2 * math.pi * 180 * n / rate)) for n in range(count))
    )


def wire_items(emulator: Emulator) -> list[Item]:
    """What the emulator sent, as the content events it should become, in wire order."""
    items: list[Item] = []
    for frame in emulator.connections[0].sent:
        content: dict[str, Any] = (frame.data or {}).get("serverContent", {})
        for part in content.get("modelTurn", {}).get("parts", []):
            if "inlineData" in part:
                items.append(("audio", base64.b64decode(part["inlineData"]["data"])))
            if "text" in part:
                items.append(("text", part["text"]))
        if "outputTranscription" in content:
            items.append(("transcript", content["outputTranscription"]["text"]))
        if content.get("generationComplete"):
            items.append(("generationComplete", None))
        if content.get("turnComplete"):
            items.append(("turnComplete", None))
    return items


def event_items(events: list[RealtimeEvent]) -> list[Item]:
    items: list[Item] = []
    for event in events:
        if isinstance(event, AudioDelta):
            items.append(("audio", bytes(event.pcm)))
        elif isinstance(event, TextDelta):
            items.append(("text", event.text))
        elif isinstance(event, OutputTranscription):
            items.append(("transcript", event.text))
        elif isinstance(event, GenerationComplete):
            items.append(("generationComplete", None))
        elif isinstance(event, TurnComplete):
            items.append(("turnComplete", None))
    return items


async def test_combined_parts_become_every_event_in_wire_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    setup = live_setup(GEMINI_31, output_transcription=True)
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(
            setup, endpoint=endpoint, connector=emulator.memory_connector()
        ) as session:
            await session.send_text("What is the weather like in Lisbon?")
            events = await until_turn_complete(session)
        expected = wire_items(emulator)
        combined = [
            f
            for f in emulator.connections[0].sent
            if len(f.get("serverContent.modelTurn.parts") or []) > 1
            and f.get("serverContent.outputTranscription") is not None
        ]
    assert combined, "the emulator should have sent 3.1-style combined frames"
    assert event_items(events) == expected
    # One combined frame gives audio, then its text, then its transcription.
    kinds = [kind for kind, _ in event_items(events)]
    assert any(kinds[i : i + 3] == ["audio", "text", "transcript"] for i in range(len(kinds)))
    said = "You said: What is the weather like in Lisbon?"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == said
    assert "".join(e.text for e in events if isinstance(e, OutputTranscription)) == said
    assert len({e.turn_id for e in events if isinstance(e, AudioDelta | TextDelta)}) == 1


async def test_voice_activity_events(autojump_clock: trio.testing.MockClock) -> None:
    setup = live_setup(AUDIO_MODEL)
    async with open_emulator(EmulatorConfig(voice_activity=True)) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(
            setup, endpoint=endpoint, connector=emulator.memory_connector()
        ) as session:
            pcm = memoryview(bytes(3200) + speech(1.0) + bytes(16000 * 2))  # 0.1 s lead-in
            for offset in range(0, len(pcm), 640):
                await session.send_audio(pcm[offset : offset + 640])
                await trio.sleep(0.02)
            events = await until_turn_complete(session)
    activity = [e for e in events if isinstance(e, VoiceActivity)]
    assert [(e.activity, e.audio_offset) for e in activity] == [
        ("ACTIVITY_START", "0.1s"),
        ("ACTIVITY_END", "1.1s"),
    ]
    # Both come before the reply they lead to.
    first_audio = next(i for i, e in enumerate(events) if isinstance(e, AudioDelta))
    assert events.index(activity[1]) < first_audio


async def test_no_voice_activity_events_by_default(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(
            live_setup(AUDIO_MODEL), endpoint=endpoint, connector=emulator.memory_connector()
        ) as session:
            pcm = memoryview(speech(0.5) + bytes(16000 * 2))
            for offset in range(0, len(pcm), 640):
                await session.send_audio(pcm[offset : offset + 640])
                await trio.sleep(0.02)
            events = await until_turn_complete(session)
    assert any(isinstance(e, AudioDelta) for e in events)
    assert not any(isinstance(e, VoiceActivity) for e in events)
