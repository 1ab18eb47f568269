"""One answer at a time: `activityHandling: NO_INTERRUPTION` queues new turns, barge-in cuts."""

from __future__ import annotations

import base64
import logging
import math
import struct
from typing import Any

import pytest
import trio

from emulator.emulator_client import NATIVE, RawClient, audio_of, connect, start, texts_of
from trio_gemini_live.emulator import EmulatorConfig

FIRST = "You said: first question"
HEARD = "Hello, can you hear me?"
GENERATION_COMPLETE = {"serverContent": {"generationComplete": True}}
INTERRUPTED = {"serverContent": {"interrupted": True}}


def _tone(ms: int) -> bytes:
    return b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * k / 16000)))
        for k in range(16 * ms)
    )


async def _send_audio(client: RawClient, pcm: bytes) -> None:
    for i in range(0, len(pcm), 1280):  # 40 ms frames
        data = base64.b64encode(pcm[i : i + 1280]).decode()
        await client.send({"realtimeInput": {"audio": {"data": data, "mimeType": "audio/pcm"}}})


def _setup(handling: str | int | None, second: str, **extra: Any) -> dict[str, Any]:
    aad: dict[str, Any] = {"disabled": True} if second == "activity" else {"silenceDurationMs": 200}
    config: dict[str, Any] = {"automaticActivityDetection": aad}
    if handling is not None:
        config["activityHandling"] = handling
    return {
        "model": NATIVE,
        "realtimeInputConfig": config,
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
        **extra,
    }


async def _send_second_turn(client: RawClient, second: str) -> str:
    """Send a user turn of the given kind; return the reply it should get."""
    if second == "text":
        await client.send({"realtimeInput": {"text": "second"}})
        return "You said: second"
    if second == "speech":
        # 300 ms of speech, then 400 ms of silence: the server VAD ends the turn (200 ms).
        await _send_audio(client, _tone(300) + bytes(12800))
        return HEARD
    await client.send({"realtimeInput": {"activityStart": {}}})
    await _send_audio(client, _tone(300))
    await client.send({"realtimeInput": {"activityEnd": {}}})
    return HEARD


async def _answers(client: RawClient, count: int) -> list[list[dict[str, Any]]]:
    """The next `count` turns, each ending with its turnComplete."""
    return [await client.turn() for _ in range(count)]


async def _start_long_answer(client: RawClient) -> None:
    await client.send({"realtimeInput": {"text": "first question"}})
    # With realtime pacing the answer lasts 1.44 s (virtual): the next input arrives mid-answer.
    await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))


@pytest.mark.parametrize("second", ["text", "speech", "activity"])
@pytest.mark.parametrize("handling", ["NO_INTERRUPTION", 2])
async def test_no_interruption_answers_the_next_turn_after_turn_complete(
    handling: str | int, second: str, autojump_clock: trio.abc.Clock
) -> None:
    async with start(EmulatorConfig(pacing="realtime")) as emu, connect(emu) as client:
        await client.setup(**_setup(handling, second))
        await _start_long_answer(client)
        expected = await _send_second_turn(client, second)
        first, answer = await _answers(client, 2)
        conn = emu.connections[0]
    # The first answer is whole and alone: no interruption, nothing of the second turn.
    assert INTERRUPTED not in first + answer
    assert texts_of(first, "outputTranscription") == FIRST
    assert first[-2] == GENERATION_COMPLETE
    assert [m for m in first if "inputTranscription" in m.get("serverContent", {})] == []
    # Only then the second turn, whole.
    assert texts_of(answer, "outputTranscription") == expected
    assert answer[-2] == GENERATION_COMPLETE
    if second != "text":
        assert texts_of(answer, "inputTranscription") == HEARD
        assert audio_of(answer)
    turn_completes = [i for i, f in enumerate(conn.sent) if f.get("serverContent.turnComplete")]
    assert len(turn_completes) == 2


@pytest.mark.parametrize("second", ["text", "speech", "activity"])
@pytest.mark.parametrize("handling", [None, "START_OF_ACTIVITY_INTERRUPTS", 1])
async def test_by_default_the_next_turn_barges_in(
    handling: str | int | None, second: str, autojump_clock: trio.abc.Clock
) -> None:
    async with start(EmulatorConfig(pacing="realtime")) as emu, connect(emu) as client:
        await client.setup(**_setup(handling, second))
        await _start_long_answer(client)
        expected = await _send_second_turn(client, second)
        cut, answer = await _answers(client, 2)
    assert cut[-2:] == [INTERRUPTED, {"serverContent": {"turnComplete": True}}]
    assert GENERATION_COMPLETE not in cut
    assert texts_of(answer, "outputTranscription") == expected
    assert answer[-2] == GENERATION_COMPLETE


async def test_waiting_turns_are_bounded_and_the_oldest_is_dropped(
    autojump_clock: trio.abc.Clock,
) -> None:
    config = EmulatorConfig(pacing="realtime", max_queued_turns=2)
    async with start(config) as emu, connect(emu) as client:
        await client.setup(**_setup("NO_INTERRUPTION", "text"))
        await _start_long_answer(client)
        for text in ("a", "b", "c"):
            await client.send({"realtimeInput": {"text": text}})
        answers = await _answers(client, 3)
        with trio.move_on_after(30):
            extra = await client.recv()
            raise AssertionError(f"a dropped turn was answered: {extra}")
    said = [texts_of(a, "outputTranscription") for a in answers]
    assert said == [FIRST, "You said: b", "You said: c"]


def test_max_queued_turns_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_queued_turns"):
        EmulatorConfig(max_queued_turns=0)


async def test_no_resumable_handle_while_turns_wait(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(pacing="realtime")) as emu, connect(emu) as client:
        await client.setup(**_setup("NO_INTERRUPTION", "text", sessionResumption={}))
        assert (await client.recv())["sessionResumptionUpdate"]["resumable"] is True
        await _start_long_answer(client)
        await client.send({"realtimeInput": {"text": "second"}})
        # clientContent still cuts the model off; the waiting turn then comes first.
        await client.send(
            {
                "clientContent": {
                    "turns": [{"role": "user", "parts": [{"text": "third"}]}],
                    "turnComplete": True,
                }
            }
        )
        cut, second, third = await _answers(client, 3)
        final = await client.recv()
        conn = emu.connections[0]
    assert cut[-2:] == [INTERRUPTED, {"serverContent": {"turnComplete": True}}]
    assert texts_of(second, "outputTranscription") == "You said: second"
    assert texts_of(third, "outputTranscription") == "You said: third"
    # Every update until the last waiting turn is answered is `{}`: not resumable.
    updates = [
        m["sessionResumptionUpdate"]
        for m in cut + second + third
        if len(m) == 1 and "sessionResumptionUpdate" in m
    ]
    assert updates
    assert all(u == {} for u in updates)
    handle = final["sessionResumptionUpdate"]["newHandle"]
    assert conn.handle_coverage[handle] == 3


async def test_closing_with_a_turn_waiting_never_answers_it(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="trio_gemini_live.emulator")
    async with start(EmulatorConfig(pacing="realtime")) as emu:
        async with connect(emu) as client:
            await client.setup(**_setup("NO_INTERRUPTION", "text"))
            await _start_long_answer(client)
            await client.send({"realtimeInput": {"text": "second"}})
            # Halfway through the first answer: the second turn has long been taken in.
            await client.recv_until(
                lambda m: (
                    m.get("serverContent", {}).get("outputTranscription")
                    == {"text": "said: first question"}
                )
            )
            conn = await emu.wait_for_connection()
        await conn.wait_closed()
        await trio.sleep(30)  # long past both answers, had they gone on
    assert conn.closed
    said = "".join(str(f.get("serverContent.outputTranscription.text") or "") for f in conn.sent)
    assert said
    assert FIRST.startswith(said)
    assert not any(f.get("serverContent.turnComplete") for f in conn.sent)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_an_activity_with_no_audio_is_a_turn_in_which_nothing_was_heard(
    autojump_clock: trio.abc.Clock,
) -> None:
    """`activityStart` then `activityEnd`, nothing between: nothing was said.

    The emulator "heard" its configured transcript and answered with an audio part
    holding no data (`inlineData` without `data`).
    """
    async with start() as emu, connect(emu) as client:
        await client.setup(**_setup(None, "activity"))
        await client.send({"realtimeInput": {"activityStart": {}}})
        await client.send({"realtimeInput": {"activityEnd": {}}})
        [answer] = await _answers(client, 1)
    assert [m for m in answer if "inputTranscription" in m.get("serverContent", {})] == []
    blobs = [
        part["inlineData"]
        for m in answer
        for part in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
        if "inlineData" in part
    ]
    assert blobs
    assert all(blob.get("data") for blob in blobs)
    assert texts_of(answer, "outputTranscription") == "You said: "
