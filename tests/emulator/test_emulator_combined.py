"""Checklist 8.7: 3.1-style frames, where one event carries several parts and a transcription."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from emulator.emulator_client import MODEL, NATIVE, audio_of, connect, start, texts_of
from trio_gemini_live.emulator import EmulatorConfig, Fault

GEMINI_31 = "models/gemini-3.1-flash-live-preview"
ONEOF = {
    "setupComplete",
    "serverContent",
    "toolCall",
    "toolCallCancellation",
    "goAway",
    "sessionResumptionUpdate",
}


def parts_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return message.get("serverContent", {}).get("modelTurn", {}).get("parts", [])


async def reply_turn(config: EmulatorConfig | None, **setup: Any) -> list[dict[str, Any]]:
    async with start(config) as emu, connect(emu) as client:
        await client.setup(**setup)
        await client.send({"realtimeInput": {"text": "tell me about the weather today"}})
        return await client.turn()


async def test_gemini_31_combines_audio_text_and_transcription_by_default() -> None:
    turn = await reply_turn(None, model=GEMINI_31, outputAudioTranscription={})
    combined = [m for m in turn if len(parts_of(m)) > 1]
    assert combined
    for message in combined:
        audio, text = parts_of(message)
        assert audio["inlineData"]["mimeType"] == "audio/pcm;rate=24000"
        assert base64.b64decode(audio["inlineData"]["data"])
        # The transcription of what this chunk says rides in the same frame.
        assert message["serverContent"]["outputTranscription"] == {"text": text["text"]}
    said = "You said: tell me about the weather today"
    assert texts_of(turn) == texts_of(turn, "outputTranscription") == said
    # No transcription-only frames are left: all of it went into the combined ones.
    assert all(parts_of(m) for m in turn if "outputTranscription" in m.get("serverContent", {}))
    # Oneof discipline still holds: serverContent is the only oneof member of each frame.
    assert all(len(ONEOF & m.keys()) == 1 for m in turn)
    assert turn[-2] == {"serverContent": {"generationComplete": True}}


async def test_same_audio_whether_combined_or_not() -> None:
    setup = {"model": NATIVE, "outputAudioTranscription": {}}
    split = await reply_turn(None, **setup)
    combined = await reply_turn(EmulatorConfig(combine_parts=True), **setup)
    assert all(len(parts_of(m)) <= 1 for m in split)
    assert any(len(parts_of(m)) == 2 for m in combined)
    assert audio_of(split) == audio_of(combined)
    assert texts_of(split, "outputTranscription") == texts_of(combined, "outputTranscription")
    assert texts_of(split) == ""  # 2.5 native audio sends no text parts


async def test_combine_parts_false_keeps_one_part_per_event_on_31() -> None:
    turn = await reply_turn(
        EmulatorConfig(combine_parts=False), model=GEMINI_31, outputAudioTranscription={}
    )
    assert all(len(parts_of(m)) <= 1 for m in turn)
    assert not any(parts_of(m) and "outputTranscription" in m["serverContent"] for m in turn)


async def test_combined_without_output_transcription_still_carries_text() -> None:
    turn = await reply_turn(None, model=GEMINI_31)
    assert any(len(parts_of(m)) == 2 for m in turn)
    assert not any("outputTranscription" in m.get("serverContent", {}) for m in turn)
    assert texts_of(turn) == "You said: tell me about the weather today"


async def test_text_modality_combines_text_parts() -> None:
    config = EmulatorConfig(combine_parts=True)
    turn = await reply_turn(config, model=MODEL, generationConfig={"responseModalities": ["TEXT"]})
    counts = [len(parts_of(m)) for m in turn if parts_of(m)]
    assert counts[0] == 2
    assert all(part.keys() == {"text"} for m in turn for part in parts_of(m))
    assert texts_of(turn) == "You said: tell me about the weather today"


async def test_duplicate_transcriptions_repeat_only_the_transcription() -> None:
    config = EmulatorConfig(faults=(Fault(kind="duplicate-transcriptions"),))
    turn = await reply_turn(config, model=GEMINI_31, outputAudioTranscription={})
    combined = [i for i, m in enumerate(turn) if len(parts_of(m)) == 2]
    assert combined  # else the loop below checks nothing
    for i in combined:
        transcription = turn[i]["serverContent"]["outputTranscription"]
        assert turn[i + 1] == {"serverContent": {"outputTranscription": transcription}}


@pytest.mark.parametrize(
    ("combine", "model", "expected"),
    [(None, "gemini-3.1-flash-live-preview", True), (None, NATIVE[7:], False), (True, "x", True)],
)
def test_combines_parts_choice(combine: bool | None, model: str, expected: bool) -> None:
    assert EmulatorConfig(combine_parts=combine).combines_parts(model) is expected
