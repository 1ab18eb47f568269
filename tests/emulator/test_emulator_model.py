"""Point 4: the deterministic model (VAD, echo, text, tools, barge-in, scenarios)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from emulator.emulator_client import MODEL, NATIVE, audio_of, connect, start, texts_of
from trio_gemini_live._wire import Blob, Part, RealtimeInput, ServerMessage, Setup
from trio_gemini_live.emulator import EmulatorConfig, Scenario, ScenarioToolCall, ScenarioTurn
from trio_gemini_live.emulator._audio import EnergyVad, SpokenText, VadResult, resample
from trio_gemini_live.emulator._lifetime import SessionState
from trio_gemini_live.emulator._model import _CANCELLED_KEPT, PROMPT_OVERHEAD_TOKENS, Model


def tone(ms: int, rate: int = 16000) -> bytes:
    n = rate * ms // 1000
    return b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * k / rate))) for k in range(n)
    )


def audio_frame(pcm: bytes, rate: int = 16000) -> dict[str, Any]:
    return {
        "realtimeInput": {
            "audio": {"data": base64.b64encode(pcm).decode(), "mimeType": f"audio/pcm;rate={rate}"}
        }
    }


async def send_chunks(client: Any, pcm: bytes, rate: int = 16000, ms: int = 40) -> None:
    step = rate * 2 * ms // 1000
    for i in range(0, len(pcm), step):
        await client.send(audio_frame(pcm[i : i + step], rate))


TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}


async def test_vad_silence_duration_ends_the_turn_and_echoes_at_24k() -> None:
    setup = {
        "model": NATIVE,
        "realtimeInputConfig": {"automaticActivityDetection": {"silenceDurationMs": 300}},
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    async with start() as emu, connect(emu) as client:
        await client.setup(**setup)
        # Speech plus 200 ms of silence: shorter than silenceDurationMs, so no turn yet.
        await send_chunks(client, tone(1000) + bytes(6400))
        conn = await emu.wait_for_connection()
        await conn.wait_for_received(lambda f: True, count=1 + 1200 // 40)
        assert [f for f in conn.sent if f.get("serverContent")] == []
        await send_chunks(client, bytes(6400))  # 400 ms in total: the turn ends.
        messages = await client.turn()
    heard = [
        m["serverContent"]["inputTranscription"]
        for m in messages
        if "inputTranscription" in m.get("serverContent", {})
    ]
    assert "".join(h["text"] for h in heard) == "Hello, can you hear me?"
    # The Gemini API never marks the transcript finished (js-genai #1429); Vertex does.
    assert all("finished" not in h for h in heard)
    echo = audio_of(messages)
    assert abs(len(echo) - 48000) <= 48 * 60  # ~1 s at 24 kHz (+ a little prefix)
    chunks = [m for m in messages if "modelTurn" in m.get("serverContent", {})]
    first = chunks[0]["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
    assert first["mimeType"] == "audio/pcm;rate=24000"
    assert len(base64.b64decode(first["data"])) == 24000 * 2 * 40 // 1000
    assert texts_of(messages, "outputTranscription") == "Hello, can you hear me?"
    assert messages[-2] == {"serverContent": {"generationComplete": True}}
    assert messages[-1]["usageMetadata"]["responseTokensDetails"][0]["modality"] == "AUDIO"


@pytest.mark.parametrize(
    ("model", "vertex", "modality"),
    [
        (MODEL, False, "TEXT"),
        (MODEL, True, "TEXT"),
        (NATIVE, False, "AUDIO"),
        ("models/gemini-3.1-flash-live-preview", False, "AUDIO"),
    ],
)
async def test_usage_counts_a_half_cascade_answer_as_text_even_in_audio(
    model: str, vertex: bool, modality: str
) -> None:
    # Half-cascade models write text and speak it with TTS; Google counts TEXT tokens
    # (recording live_ML_Dev_should_send_text_in_async_session: a setup with only the model).
    async with start(EmulatorConfig(vertex=vertex)) as emu, connect(emu) as client:
        await client.setup(model=model)
        await client.send({"realtimeInput": {"text": "hello there"}})
        messages = await client.turn()
    assert audio_of(messages)
    usage = messages[-1]["usageMetadata"]
    details = usage["candidatesTokensDetails" if vertex else "responseTokensDetails"]
    assert details == [
        {
            "modality": modality,
            "tokenCount": usage["candidatesTokenCount" if vertex else "responseTokenCount"],
        }
    ]


async def test_usage_counts_the_speech_being_answered_as_audio_prompt(
    autojump_clock: trio.abc.Clock,
) -> None:
    # The prompt is the context the answer was generated from, the user's speech included,
    # and promptTokensDetails splits it by modality (protocol.md 3.7; audio is billed at
    # about 25 tokens a second, 4.1): one second of speech is no empty TEXT prompt.
    async with start() as emu, connect(emu) as client:
        await client.setup(model=MODEL, **TEXT)
        await send_chunks(client, tone(1000))
        await client.send({"realtimeInput": {"audioStreamEnd": True}})
        spoken = (await client.turn())[-1]["usageMetadata"]
        await client.send({"realtimeInput": {"text": "and now in writing"}})
        written = (await client.turn())[-1]["usageMetadata"]
    # The TEXT entry of the spoken turn is Google's own preamble alone: the speech is AUDIO.
    spoken_by = {d["modality"]: d["tokenCount"] for d in spoken["promptTokensDetails"]}
    assert list(spoken_by) == ["TEXT", "AUDIO"]
    assert spoken_by["TEXT"] == PROMPT_OVERHEAD_TOKENS
    assert spoken_by["AUDIO"] >= 25
    assert sum(spoken_by.values()) == spoken["promptTokenCount"]
    by_modality = {d["modality"]: d["tokenCount"] for d in written["promptTokensDetails"]}
    assert list(by_modality) == ["TEXT", "AUDIO"]
    assert by_modality["AUDIO"] == spoken_by["AUDIO"]
    assert by_modality["TEXT"] > PROMPT_OVERHEAD_TOKENS
    assert sum(by_modality.values()) == written["promptTokenCount"]


async def test_other_input_rates_and_audio_stream_end() -> None:
    async with start(EmulatorConfig(audio_chunk_ms=100)) as emu, connect(emu) as client:
        await client.setup(model=NATIVE)
        await send_chunks(client, tone(500, 48000), rate=48000)
        await client.send({"realtimeInput": {"audioStreamEnd": True}})
        messages = await client.turn()
    echo = audio_of(messages)
    assert abs(len(echo) - 24000) <= 48 * 60  # 0.5 s at 24 kHz
    sizes = {
        len(base64.b64decode(m["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"]))
        for m in messages[:-3]
        if "modelTurn" in m.get("serverContent", {})
    }
    assert sizes == {4800}


async def test_manual_activity_detection_with_text_reply() -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(
            model=MODEL,
            realtimeInputConfig={"automaticActivityDetection": {"disabled": True}},
            **TEXT,
        )
        await client.send({"realtimeInput": {"activityStart": {}}})
        await send_chunks(client, tone(300) + bytes(32000))  # silence does not end a manual turn
        await client.send({"realtimeInput": {"activityEnd": {}}})
        messages = await client.turn()
    assert texts_of(messages) == "You said: Hello, can you hear me?"


async def test_a_manual_activity_holds_at_most_max_utterance_ms_of_its_newest_audio(
    autojump_clock: trio.abc.Clock,
) -> None:
    # An `activityStart` never ended held all the audio after it, for ever (1.9 MB a
    # minute); now the newest `max_utterance_ms` of it, which the turn then echoes.
    config = EmulatorConfig(max_utterance_ms=2000)
    async with start(config) as emu, connect(emu) as client:
        await client.setup(
            model=NATIVE, realtimeInputConfig={"automaticActivityDetection": {"disabled": True}}
        )
        await client.send({"realtimeInput": {"activityStart": {}}})
        await send_chunks(client, bytes(32000) + tone(3000), ms=100)  # 1 s quiet, 3 s loud
        conn = await emu.wait_for_connection()
        await conn.wait_for_received("realtimeInput.audio", count=40)
        await trio.testing.wait_all_tasks_blocked()  # the model has taken them all in
        assert conn.model is not None
        held = conn.model.pending_input().manual_audio
        await client.send({"realtimeInput": {"activityEnd": {}}})
        messages = await client.turn()
    assert held == tone(3000)[-64000:]  # the newest 2 s: all loud
    assert len(audio_of(messages)) == 2 * 48000  # 2 s echoed at 24 kHz


async def test_turn_complete_alone_answers_the_accumulated_turns(
    autojump_clock: trio.abc.Clock,
) -> None:
    # `turnComplete: false` accumulates; a later bare `{"turnComplete": true}` means "respond
    # now" to what was accumulated (protocol.md 2.2), also in the deprecated send()'s spelling.
    weather = {
        "name": "get_weather",
        "parameters": {
            "type": "OBJECT",
            "properties": {"city": {"type": "STRING"}},
            "required": ["city"],
        },
    }
    async with start() as emu, connect(emu) as client:
        await client.setup(model=MODEL, tools=[{"functionDeclarations": [weather]}], **TEXT)
        for text in ("Tell me about Paris", "and what is the weather in Paris"):
            turn = {"role": "user", "parts": [{"text": text}]}
            await client.send({"clientContent": {"turns": [turn], "turnComplete": False}})
        await client.send({"client_content": {"turn_complete": True}})
        messages = await client.recv_until(lambda m: "toolCall" in m)
    [call] = messages[-1]["toolCall"]["functionCalls"]
    assert (call["name"], call["args"]) == ("get_weather", {"city": "Paris"})


async def test_text_turn_text_modality_several_parts() -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await client.send(
            {
                "clientContent": {
                    "turns": [{"role": "user", "parts": [{"text": "Tell me a story about trio"}]}],
                    "turnComplete": True,
                }
            }
        )
        messages = await client.turn()
    parts = [m for m in messages if "modelTurn" in m.get("serverContent", {})]
    assert len(parts) >= 2
    assert texts_of(messages) == "You said: Tell me a story about trio"
    assert messages[-1]["usageMetadata"]["totalTokenCount"] > 0


async def test_an_empty_realtime_text_is_unset_and_starts_no_turn() -> None:
    # "" is the proto3 default (protocol.md 1.6): Google's server reads the field as unset,
    # so the message carries no input, is not refused, and nothing answers it.
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await client.send({"realtimeInput": {"text": ""}})
        await client.send({"realtimeInput": {"text": "hi"}})
        messages = await client.turn()
    assert texts_of(messages) == "You said: hi"


async def test_a_long_word_never_makes_a_frame_past_1_mib(autojump_clock: trio.abc.Clock) -> None:
    """A reply echoing 1.1 MB without a space comes in frames a client accepts: the
    `websockets`/trio-websocket default is 1 MiB, past which it closes with 1009."""
    text = "x" * 1_100_000
    async with start() as emu, connect(emu) as client:
        await client.setup(**TEXT)
        await client.send({"realtimeInput": {"text": text}})
        messages = await client.turn()
        conn = emu.connections[0]
    assert texts_of(messages) == "You said: " + text
    assert max(len(f.raw) for f in conn.sent) < 1024 * 1024


async def test_a_tool_call_on_a_megabyte_of_words_is_a_frame_a_client_accepts(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The argument echoed the user's words whole: the half-cascade model's `executableCode`
    and its `toolCall` came to 1.2 MB each, past the 1 MiB a client takes (1009)."""
    text = "what is the weather in " + "x" * 1_200_000
    async with start() as emu, connect(emu) as client:
        await client.setup(tools=WEATHER, **TEXT)
        await client.send({"realtimeInput": {"text": text}})
        code = await client.recv()
        call = await client.recv()
        conn = emu.connections[0]
    assert "executableCode" in code["serverContent"]["modelTurn"]["parts"][0]
    [function_call] = call["toolCall"]["functionCalls"]
    assert function_call["args"]["location"] == "x" * 1000  # a phrase's worth of the words
    assert max(len(f.raw) for f in conn.sent) < 1024 * 1024


async def test_text_turn_audio_modality_synthesizes_speech() -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE, outputAudioTranscription={})
        await client.send({"realtimeInput": {"text": "abc"}})
        short = await client.turn()
        await client.send({"realtimeInput": {"text": "a much longer sentence to say"}})
        long = await client.turn()
    assert len(audio_of(short)) == len("You said: abc") * 60 * 48
    assert len(audio_of(long)) == len("You said: a much longer sentence to say") * 60 * 48
    assert texts_of(long, "outputTranscription") == "You said: a much longer sentence to say"


WEATHER = [
    {
        "functionDeclarations": [
            {
                "name": "get_current_weather",
                "parameters": {
                    "type": "OBJECT",
                    "properties": {"location": {"type": "STRING"}},
                    "required": ["location"],
                },
            }
        ]
    }
]


async def test_blocking_tool_call_waits_for_the_response(autojump_clock: trio.abc.Clock) -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(tools=WEATHER, **TEXT)
        await client.send(
            {
                "clientContent": {
                    "turns": [
                        {
                            "role": "user",
                            "parts": [{"text": "what is the weather in Redmond Washington"}],
                        }
                    ],
                    "turnComplete": True,
                }
            }
        )
        code = await client.recv()
        assert "executableCode" in code["serverContent"]["modelTurn"]["parts"][0]
        call = (await client.recv())["toolCall"]["functionCalls"][0]
        assert call["name"] == "get_current_weather"
        assert call["args"] == {"location": "Redmond Washington"}
        assert call["id"].startswith("function-call-")
        assert call["id"][14:].isdigit()
        with trio.move_on_after(60):
            await client.recv(limit=120)
            raise AssertionError("the model did not wait for the tool response")
        await client.send(
            {
                "toolResponse": {
                    "functionResponses": [
                        {"id": call["id"], "name": call["name"], "response": {"result": "rain"}}
                    ]
                }
            }
        )
        messages = await client.turn()
    assert texts_of(messages) == 'get_current_weather returned {"result": "rain"}.'


@pytest.mark.parametrize("mime_type", ["AUDIO/PCM;RATE=16000", "Audio/L16;rate=16000"])
async def test_audio_is_heard_whatever_the_case_of_its_mime_type(
    mime_type: str, autojump_clock: trio.abc.Clock
) -> None:
    # MIME types ignore case (RFC 2045), as the client reads them: audio whose type was
    # not lower-case was dropped without a word (no answer, no close).
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE, inputAudioTranscription={})
        pcm = tone(1000)
        for i in range(0, len(pcm), 3200):
            data = base64.b64encode(pcm[i : i + 3200]).decode()
            await client.send({"realtimeInput": {"audio": {"data": data, "mimeType": mime_type}}})
        await client.send({"realtimeInput": {"audioStreamEnd": True}})
        messages = await client.turn()
    assert texts_of(messages, "inputTranscription")
    assert audio_of(messages)


async def test_will_continue_for_a_blocking_call_is_refused_at_once() -> None:
    # protocol.md 2.4: `willContinue` is for NON_BLOCKING functions. The emulator settled
    # the blocking call on it, then refused the next response as for an unknown id.
    tools = [{"functionDeclarations": [{"name": "get_weather"}]}]
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE, tools=tools)
        await client.send({"realtimeInput": {"text": "please get weather now"}})
        messages = await client.recv_until(lambda m: "toolCall" in m)
        [call] = messages[-1]["toolCall"]["functionCalls"]
        answer = {"id": call["id"], "name": "get_weather", "response": {}, "willContinue": True}
        await client.send({"toolResponse": {"functionResponses": [answer]}})
        with trio.fail_after(5):
            await emu.connections[0].wait_closed()
    reason = (
        "Request contains an invalid argument. willContinue for BLOCKING function 'get_weather'."
    )
    assert (emu.connections[0].close_code, emu.connections[0].close_reason) == (1007, reason)


async def test_non_blocking_tool_keeps_talking_then_speaks_the_result() -> None:
    tools = [{"functionDeclarations": [{"name": "start_timer", "behavior": "NON_BLOCKING"}]}]
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE, tools=tools, outputAudioTranscription={})
        await client.send({"realtimeInput": {"text": "please start timer"}})
        first = await client.turn()
        call = next(m["toolCall"]["functionCalls"][0] for m in first if "toolCall" in m)
        assert texts_of(first, "outputTranscription") == "OK, I am working on it."
        await client.send(
            {
                "toolResponse": {
                    "functionResponses": [
                        {"id": call["id"], "name": "start_timer", "response": {"ok": True}}
                    ]
                }
            }
        )
        second = await client.turn()
    assert texts_of(second, "outputTranscription") == 'start_timer returned {"ok": true}.'


async def test_a_non_blocking_call_takes_responses_until_one_without_will_continue() -> None:
    # protocol.md 2.4: `willContinue` says more responses for the call follow. The first
    # one forgot the call, and the next was refused as one for an unknown id (1007).
    tools = [{"functionDeclarations": [{"name": "start_timer", "behavior": "NON_BLOCKING"}]}]
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE, tools=tools, outputAudioTranscription={})
        await client.send({"realtimeInput": {"text": "please start timer"}})
        first = await client.turn()
        call = next(m["toolCall"]["functionCalls"][0] for m in first if "toolCall" in m)
        answer = {"id": call["id"], "name": "start_timer"}
        partial = answer | {"response": {"left": 5}, "willContinue": True, "scheduling": "SILENT"}
        await client.send({"toolResponse": {"functionResponses": [partial]}})
        await client.send(
            {"toolResponse": {"functionResponses": [answer | {"response": {"ok": True}}]}}
        )
        second = await client.turn()
        # A third is for a call no longer pending: refused, as the real server does.
        await client.send({"toolResponse": {"functionResponses": [answer | {"response": {}}]}})
        with trio.fail_after(5):
            await emu.connections[0].wait_closed()
    assert texts_of(second, "outputTranscription") == 'start_timer returned {"ok": true}.'
    assert emu.connections[0].close_code == 1007


async def test_a_scenario_after_tool_answers_a_non_blocking_call_too(
    autojump_clock: trio.abc.Clock,
) -> None:
    # It was used for BLOCKING calls only: the result of a NON_BLOCKING one, answered in
    # a turn of its own, got the default sentence.
    scenario = Scenario(
        (
            ScenarioTurn(
                when="book",
                reply="Booking it.",
                tool_calls=(ScenarioToolCall("book", {"day": "friday"}),),
                after_tool="{name}: {response}",
            ),
        )
    )
    tools = [{"functionDeclarations": [{"name": "book", "behavior": "NON_BLOCKING"}]}]
    async with start(EmulatorConfig(scenario=scenario)) as emu, connect(emu) as client:
        await client.setup(tools=tools, **TEXT)
        await client.send({"realtimeInput": {"text": "book it please"}})
        first = await client.turn()
        call = next(m["toolCall"]["functionCalls"][0] for m in first if "toolCall" in m)
        await client.send(
            {
                "toolResponse": {
                    "functionResponses": [
                        {"id": call["id"], "name": "book", "response": {"table": 4}}
                    ]
                }
            }
        )
        second = await client.turn()
    assert texts_of(first) == "Booking it."
    assert texts_of(second) == 'book: {"table": 4}'


@pytest.mark.parametrize(
    ("after_tool", "expected"),
    [
        ("{name}: {response}", 'first: {"n": 1}'),
        (None, 'first returned {"n": 1}. second returned {"n": 2}.'),
    ],
)
async def test_tool_responses_are_rendered_in_the_order_of_the_calls(
    autojump_clock: trio.abc.Clock, after_tool: str | None, expected: str
) -> None:
    # The responses were kept in the order they came: `after_tool`'s placeholders, the
    # first call's, were those of the first call answered.
    scenario = Scenario(
        (
            ScenarioTurn(
                when="go",
                tool_calls=(ScenarioToolCall("first"), ScenarioToolCall("second")),
                after_tool=after_tool,
            ),
        )
    )
    tools = [{"functionDeclarations": [{"name": "first"}, {"name": "second"}]}]
    async with start(EmulatorConfig(scenario=scenario)) as emu, connect(emu) as client:
        await client.setup(tools=tools, **TEXT)
        await client.send({"realtimeInput": {"text": "go"}})
        calls = (await client.recv_until(lambda m: "toolCall" in m))[-1]
        first, second = calls["toolCall"]["functionCalls"]
        assert (first["name"], second["name"]) == ("first", "second")
        for call, n in ((second, 2), (first, 1)):  # the second call is answered first
            response = {"id": call["id"], "name": call["name"], "response": {"n": n}}
            await client.send({"toolResponse": {"functionResponses": [response]}})
        answer = await client.turn()
    assert texts_of(answer) == expected


@pytest.mark.parametrize(
    ("after_tool", "expected"),
    [
        ("Sunny: {response}", 'Let me check. Sunny: {"sky": "clear"}'),
        (None, 'Let me check. get_weather returned {"sky": "clear"}.'),
        ("", "Let me check."),
    ],
)
async def test_a_scenario_reply_is_said_after_a_blocking_calls_responses(
    autojump_clock: trio.abc.Clock, after_tool: str | None, expected: str
) -> None:
    # The reply was dropped: once the responses were in, only the after-tool text was said.
    scenario = Scenario(
        (
            ScenarioTurn(
                when="weather",
                reply="Let me check.",
                tool_calls=(ScenarioToolCall("get_weather", {"city": "Oslo"}),),
                after_tool=after_tool,
            ),
        )
    )
    tools = [{"functionDeclarations": [{"name": "get_weather"}]}]
    async with start(EmulatorConfig(scenario=scenario)) as emu, connect(emu) as client:
        await client.setup(model=NATIVE, tools=tools, outputAudioTranscription={})
        await client.send({"realtimeInput": {"text": "what's the weather"}})
        before = await client.recv_until(lambda m: "toolCall" in m)
        [call] = before[-1]["toolCall"]["functionCalls"]
        response = {"id": call["id"], "name": call["name"], "response": {"sky": "clear"}}
        await client.send({"toolResponse": {"functionResponses": [response]}})
        answer = await client.turn()
    assert texts_of(before, "outputTranscription") == ""  # calls first, then the reply
    assert texts_of(answer, "outputTranscription") == expected
    assert audio_of(answer)
    assert answer[-2] == {"serverContent": {"generationComplete": True}}
    assert answer[-1]["serverContent"] == {"turnComplete": True}


async def test_resampling_a_long_audio_lets_other_tasks_run() -> None:
    # Pure Python, ~1 us a sample: 16x more samples out than in from 1 kHz, all computed
    # without a schedule point, held every connection of the emulator.
    from trio_gemini_live.emulator._audio import resample_in_steps

    pcm = tone(10_000, 1000)  # 10 s at 1 kHz: 160,000 samples at 16 kHz
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(tick)
        await trio.lowlevel.checkpoint()
        before = ticks
        resampled = await resample_in_steps(pcm, 1000, 16000)
        during = ticks - before
        nursery.cancel_scope.cancel()
    assert resampled == resample(pcm, 1000, 16000)
    assert len(resampled) == 2 * 160_000
    assert during >= 5  # a pause every 16,000 samples out: 9 of them
    # A realtime chunk (a second or less) takes none: the order of events stays as it was.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tick)
        await trio.lowlevel.checkpoint()
        before = ticks
        await resample_in_steps(tone(40, 48000), 48000, 16000)
        assert ticks == before
        nursery.cancel_scope.cancel()


def test_a_stream_resampled_in_pieces_is_the_stream_resampled_whole() -> None:
    # Each piece resampled on its own lost the fraction of a sample its length rounded down
    # to (0.14 % of 44.1 kHz audio in 1024-sample pieces) and held its last sample at the
    # join; the pieces of any length, flushed at the end, now give the whole's samples.
    from trio_gemini_live.emulator._audio import Resampler

    for rate, sizes, ms in [
        (44100, [1024], 1000),
        (44100, [1024], 1001),  # the stream computes a sample past the whole's length
        (48000, [1024, 1, 0, 333], 1000),
        (8000, [7, 160], 999),
    ]:
        pcm = tone(ms, rate)
        resampler = Resampler(rate, 16000)
        pieces, offset = [], 0
        while offset < len(pcm):
            size = 2 * sizes[len(pieces) % len(sizes)]
            pieces.append(resampler.feed_now(pcm[offset : offset + size]))
            offset += size
        whole = resample(pcm, rate, 16000)
        assert len(whole) == 2 * (len(pcm) // 2 * 16000 // rate)
        streamed = b"".join(pieces)
        assert streamed[: len(whole)] == whole[: len(streamed)]
        assert abs(len(whole) - len(streamed)) <= 2 * 2  # the samples past the last one
        assert (streamed + resampler.flush())[: len(whole)] == whole
    # A piece alone is the stream of it: cut to its own length.
    assert len(resample(tone(1000, 44100)[:2048], 44100, 16000)) == 2 * 371


async def test_the_emulator_resamples_the_audio_messages_as_one_stream(
    autojump_clock: trio.abc.Clock,
) -> None:
    pcm = tone(1000, 44100)
    async with start() as emu, connect(emu) as client:
        await client.setup(
            model=NATIVE, realtimeInputConfig={"automaticActivityDetection": {"disabled": True}}
        )
        await client.send({"realtimeInput": {"activityStart": {}}})
        for offset in range(0, len(pcm), 2048):  # 1024 samples a message, as sound cards do
            await client.send(audio_frame(pcm[offset : offset + 2048], 44100))
        conn = await emu.wait_for_connection()
        await conn.wait_for_received("realtimeInput.audio", count=len(range(0, len(pcm), 2048)))
        await trio.testing.wait_all_tasks_blocked()  # the model has taken them all in
        assert conn.model is not None
        held = conn.model.pending_input().manual_audio
    whole = resample(pcm, 44100, 16000)
    # Message by message, 23 samples (1.4 ms) short, with a step at each of the 43 joins.
    assert abs(len(whole) - len(held)) <= 2  # but the sample past the last one
    assert held[: len(whole)] == whole[: len(held)]


async def test_vertex_call_ids_are_uuids() -> None:
    async with start(EmulatorConfig(vertex=True)) as emu, connect(emu) as client:
        await client.setup(tools=WEATHER, **TEXT)
        await client.send({"realtimeInput": {"text": "weather in Paris"}})
        messages = await client.recv_until(lambda m: "toolCall" in m)
    call_id = messages[-1]["toolCall"]["functionCalls"][0]["id"]
    assert len(call_id) == 36
    assert call_id.count("-") == 4


async def test_barge_in_with_client_content(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(pacing="realtime")) as emu, connect(emu) as client:
        await client.setup(model=NATIVE)
        await client.send({"realtimeInput": {"text": "say something rather long please"}})
        await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))
        await client.send(
            {
                "clientContent": {
                    "turns": [{"role": "user", "parts": [{"text": "stop"}]}],
                    "turnComplete": True,
                }
            }
        )
        cut = await client.turn()
        again = await client.turn()
    assert {"serverContent": {"interrupted": True}} in cut
    assert {"serverContent": {"generationComplete": True}} not in cut
    assert cut[-1] == {"serverContent": {"turnComplete": True}}
    assert {"serverContent": {"generationComplete": True}} in again


async def test_barge_in_by_speech_and_activity_start(autojump_clock: trio.abc.Clock) -> None:
    async with start(EmulatorConfig(pacing="realtime")) as emu, connect(emu) as client:
        await client.setup(model=NATIVE)
        await client.send({"realtimeInput": {"text": "talk to me for a while"}})
        await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))
        await send_chunks(client, tone(200))
        cut = await client.turn()
    assert {"serverContent": {"interrupted": True}} in cut

    async with start(EmulatorConfig(pacing="realtime")) as emu, connect(emu) as client:
        await client.setup(
            model=NATIVE, realtimeInputConfig={"automaticActivityDetection": {"disabled": True}}
        )
        await client.send({"realtimeInput": {"text": "talk to me for a while"}})
        await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))
        await client.send({"realtimeInput": {"activityStart": {}}})
        cut = await client.turn()
    assert {"serverContent": {"interrupted": True}} in cut


async def test_barge_in_cancels_pending_tool_calls() -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(tools=WEATHER, **TEXT)
        await client.send({"realtimeInput": {"text": "weather in Oslo"}})
        messages = await client.recv_until(lambda m: "toolCall" in m)
        call_id = messages[-1]["toolCall"]["functionCalls"][0]["id"]
        await client.send(
            {
                "clientContent": {
                    "turns": [{"role": "user", "parts": [{"text": "never mind"}]}],
                    "turnComplete": True,
                }
            }
        )
        cut = await client.turn()
    assert cut == [
        {"serverContent": {"interrupted": True}},
        {"toolCallCancellation": {"ids": [call_id]}},
        {"serverContent": {"turnComplete": True}},
    ]


async def test_a_response_crossing_its_cancellation_is_ignored() -> None:
    # It closed the session with 1007 as a response to an unknown call: the client had sent
    # it before the toolCallCancellation reached it (the long-session harness met this
    # after a resume, when the replayed speech interrupted the call).
    async with start() as emu, connect(emu) as client:
        await client.setup(tools=WEATHER, **TEXT)
        await client.send({"realtimeInput": {"text": "weather in Oslo"}})
        messages = await client.recv_until(lambda m: "toolCall" in m)
        call = messages[-1]["toolCall"]["functionCalls"][0]
        await client.send({"realtimeInput": {"text": "never mind, what is 2 + 2?"}})
        await client.recv_until(lambda m: "toolCallCancellation" in m)
        response = {"id": call["id"], "name": call["name"], "response": {"temp_c": 3}}
        await client.send({"toolResponse": {"functionResponses": [response]}})
        await client.turn()  # the rest of the cut turn
        answer = await client.turn()  # to the new question: the session lives
    assert any("modelTurn" in m.get("serverContent", {}) for m in answer)


async def test_pacing_realtime_and_slower(autojump_clock: trio.abc.Clock) -> None:
    durations = {}
    for pacing in ("burst", "realtime", 2.0):
        async with start(EmulatorConfig(pacing=pacing)) as emu, connect(emu) as client:
            await client.setup(model=NATIVE)
            await client.send({"realtimeInput": {"text": "x" * 40}})  # 50 chars: 3 s of audio
            t0 = trio.current_time()
            await client.turn()
            durations[pacing] = trio.current_time() - t0
    assert durations["burst"] < 0.1
    assert 2.9 <= durations["realtime"] <= 3.0
    assert 5.8 <= durations[2.0] <= 6.0


def test_a_scenario_refuses_a_single_turn_or_call_where_a_tuple_belongs() -> None:
    # `Scenario((ScenarioTurn(...)))` (a one-item tuple without its comma) or
    # `tool_calls=ScenarioToolCall(...)` was taken, and the first user turn then crashed
    # the emulator ("'ScenarioTurn' object is not iterable").
    with pytest.raises(ValueError, match="turns must be a collection of ScenarioTurn"):
        Scenario(ScenarioTurn(reply="Which day?"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tool_calls must be a collection of ScenarioToolCall"):
        ScenarioTurn(tool_calls=ScenarioToolCall("book"))  # type: ignore[arg-type]
    turn = ScenarioTurn(tool_calls=[ScenarioToolCall("book")])  # type: ignore[arg-type]
    assert Scenario([turn]).turns == (turn,)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (
            {"name": "f", "stream": "false"},
            "Expected `bool`, got `str` - at `$.turns[0].tool_calls[0].stream`",
        ),
        ({"name": "f", "stream": 0.0}, "Expected `bool`, got `float`"),
        ({"args": {}}, "missing required field `name` - at `$.turns[0].tool_calls[0]`"),
        ({"name": "f", "args": [1, 2]}, "got `array` - at `$.turns[0].tool_calls[0].args`"),
        ({"name": "f", "args": "xy"}, "got `str` - at `$.turns[0].tool_calls[0].args`"),
        ({"name": "f", "argz": {}}, "unknown field `argz` - at `$.turns[0].tool_calls[0]`"),
        ({"name": ""}, "ScenarioToolCall name must be a non-empty str, not str ''"),
    ],
)
def test_a_scenario_tool_call_of_the_wrong_shape_is_refused_naming_the_field(
    call: dict[str, Any], where: str
) -> None:
    # `"stream": "false"` streamed the call (`bool("false")`); no name was a bare
    # KeyError, a list of args a bare ValueError, a string a bare TypeError.
    with pytest.raises(ValueError, match=re.escape(where)):
        Scenario.from_dict({"turns": [{"tool_calls": [call]}]})


def test_a_bad_scenario_is_a_plain_value_error_on_every_msgspec(tmp_path: Path) -> None:
    # Before msgspec 0.20 its errors were no ValueErrors: the lowest supported version
    # let a bad scenario escape as a bare msgspec error.
    with pytest.raises(ValueError, match=r"^invalid scenario: Expected `bool`") as caught:
        Scenario.from_dict({"turns": [{"tool_calls": [{"name": "f", "stream": "no"}]}]})
    assert type(caught.value) is ValueError
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"s\.json is not JSON") as caught:
        Scenario.from_json(path)
    assert type(caught.value) is ValueError


@pytest.mark.parametrize(
    ("part", "where"),
    [
        ({"txt": "hello"}, "Unknown name \"txt\" at '$.turns[0].parts[1]': Cannot find field."),
        (
            {"inlineData": {"mimeType": "image/png", "dta": "AAAA"}},
            "Unknown name \"dta\" at '$.turns[0].parts[1].inline_data'",
        ),
        ({"text": 1}, "Invalid value at '$.turns[0].parts[1].text' (TYPE_STRING), 1"),
        ({"text": "a", "fileData": {"fileUri": "gs://b/o"}}, "oneof field 'data' is already set"),
        ({}, "$.turns[0].parts[1] carries no data"),
        ({"text": ""}, "$.turns[0].parts[1] carries no data"),
        ("hello", "Expected `object`, got `str` - at `$.turns[0].parts[1]`"),
    ],
)
def test_a_scenario_part_is_read_strictly_naming_where(part: object, where: str) -> None:
    # An unknown or misspelt key was dropped silently, and the emulator then sent `{}`, a
    # part it refuses from a client ("has no data").
    with pytest.raises(ValueError, match=r"^invalid scenario: ") as caught:
        Scenario.from_dict({"turns": [{"parts": [{"text": "ok"}, part]}]})
    assert type(caught.value) is ValueError
    assert where in str(caught.value)


def test_a_scenario_part_takes_both_spellings_as_google_does() -> None:
    snake = {"inline_data": {"mime_type": "image/png", "data": "AAAA"}}
    camel = {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}
    bare_signature = {"thoughtSignature": "c2lnMg=="}
    scenario = Scenario.from_dict({"turns": [{"parts": [snake, camel, bare_signature]}]})
    image = Part(inline_data=Blob(data=b"\0\0\0", mime_type="image/png"))
    assert scenario.turns[0].parts == (image, image, Part(thought_signature=b"sig2"))


def test_a_scenario_turn_refuses_a_part_with_no_data() -> None:
    with pytest.raises(ValueError, match=re.escape("ScenarioTurn parts[1] carries no data")):
        ScenarioTurn(parts=(Part(text="a"), Part(text="")))
    with pytest.raises(ValueError, match=re.escape("ScenarioTurn parts[0] carries no data")):
        ScenarioTurn(parts=(Part(),))


def test_null_args_of_a_scenario_tool_call_are_no_arguments() -> None:
    scenario = Scenario.from_dict({"turns": [{"tool_calls": [{"name": "f", "args": None}]}]})
    assert scenario.turns[0].tool_calls == (ScenarioToolCall("f"),)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"name": "f", "stream": "no"}, "stream must be a bool, not str 'no'"),
        ({"name": "f", "stream": 1}, "stream must be a bool, not int 1"),
        ({"name": "f", "args": [("a", 1)]}, "args must be a dict, not list"),
        ({"name": None}, "name must be a non-empty str, not NoneType None"),
    ],
)
def test_a_scenario_tool_call_checks_its_fields(kwargs: dict[str, Any], problem: str) -> None:
    # `stream="no"` was taken, and streamed the call.
    with pytest.raises(ValueError, match=re.escape(problem)):
        ScenarioToolCall(**kwargs)


def test_scenario_from_json(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                "turns": [
                    {
                        "when": "weather",
                        "tool_calls": [{"name": "f", "args": {"a": 1}}],
                        "after_tool": "Done: {response}",
                    }
                ]
            }
        )
    )
    scenario = Scenario.from_json(path)
    assert scenario.turns[0].tool_calls == (ScenarioToolCall("f", {"a": 1}),)
    py = tmp_path / "s.py"
    py.write_text(
        "from trio_gemini_live.emulator import Scenario, ScenarioTurn\n"
        "SCENARIO = Scenario((ScenarioTurn(reply='hi'),))\n"
    )
    assert Scenario.load(py).turns[0].reply == "hi"


async def test_scenario_scripts_replies_transcripts_and_tools() -> None:
    scenario = Scenario(
        (
            ScenarioTurn(input_transcript="Book a table", when=None, reply="Which day?"),
            ScenarioTurn(
                when="friday",
                tool_calls=(ScenarioToolCall("book", {"day": "friday"}),),
                after_tool="Booked: {response}",
            ),
        )
    )
    tools = [{"functionDeclarations": [{"name": "book"}]}]
    async with start(EmulatorConfig(scenario=scenario)) as emu, connect(emu) as client:
        await client.setup(inputAudioTranscription={}, tools=tools, **TEXT)
        await send_chunks(client, tone(400) + bytes(32000))
        first = await client.turn()
        await client.send({"realtimeInput": {"text": "friday please"}})
        calls = await client.recv_until(lambda m: "toolCall" in m)
        call = calls[-1]["toolCall"]["functionCalls"][0]
        await client.send(
            {
                "toolResponse": {
                    "functionResponses": [
                        {"id": call["id"], "name": "book", "response": {"table": 4}}
                    ]
                }
            }
        )
        second = await client.turn()
    assert texts_of(first, "inputTranscription") == "Book a table"
    assert texts_of(first) == "Which day?"
    assert call["args"] == {"day": "friday"}
    assert texts_of(second) == 'Booked: {"table": 4}'


async def test_a_spoken_turn_matches_when_against_its_transcript(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Speech looked for a scenario turn with `next_turn(None)`, which only a turn without
    # `when` matched: "when" never matched a spoken turn, though documented to match the
    # speech transcript. It matches the transcript the turn would be heard as.
    scenario = Scenario(
        (
            ScenarioTurn(when="friday", reply="Friday it is."),  # not in what is heard
            ScenarioTurn(when="weather", reply="Sunny in Paris."),  # the configured one
            ScenarioTurn(when="table", input_transcript="Book a table", reply="Which day?"),
        )
    )
    config = EmulatorConfig(scenario=scenario, input_transcript="What's the weather in Paris?")
    async with start(config) as emu, connect(emu) as client:
        await client.setup(inputAudioTranscription={}, **TEXT)
        await send_chunks(client, tone(400) + bytes(32000))
        first = await client.turn()
        await send_chunks(client, tone(400) + bytes(32000))
        second = await client.turn()
    assert texts_of(first, "inputTranscription") == "What's the weather in Paris?"
    assert texts_of(first) == "Sunny in Paris."
    assert texts_of(second, "inputTranscription") == "Book a table"
    assert texts_of(second) == "Which day?"


def voice_activity(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [m["voiceActivity"] for m in messages if "voiceActivity" in m]


async def test_voice_activity_marks_vad_start_and_end() -> None:
    config = EmulatorConfig(voice_activity=True)
    async with start(config) as emu, connect(emu) as client:
        await client.setup(model=NATIVE, inputAudioTranscription={})
        # 200 ms of silence, 1 s of speech, then silence past silenceDurationMs (700 ms).
        await send_chunks(client, bytes(6400) + tone(1000) + bytes(32000))
        messages = await client.turn()
    assert voice_activity(messages) == [
        {"type": "ACTIVITY_START", "audioOffset": "0.2s"},
        {"type": "ACTIVITY_END", "audioOffset": "1.2s"},
    ]
    # Each rides alone in its frame, the start before the end before the reply.
    assert messages[0].keys() == messages[1].keys() == {"voiceActivity"}
    assert "inputTranscription" in messages[2]["serverContent"]


async def test_voice_activity_end_on_audio_stream_end_and_barge_in(
    autojump_clock: trio.abc.Clock,
) -> None:
    config = EmulatorConfig(voice_activity=True, pacing="realtime")
    async with start(config) as emu, connect(emu) as client:
        await client.setup(model=NATIVE)
        await client.send({"realtimeInput": {"text": "talk to me for a while"}})
        await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))
        await send_chunks(client, tone(400))
        cut = await client.turn()
        await client.send({"realtimeInput": {"audioStreamEnd": True}})
        answer = await client.turn()
    # Speech that barges in is announced before the interruption it causes.
    start_at = next(i for i, m in enumerate(cut) if "voiceActivity" in m)
    assert cut[start_at] == {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "0s"}}
    assert cut.index({"serverContent": {"interrupted": True}}) > start_at
    assert voice_activity(answer)[0] == {"type": "ACTIVITY_END", "audioOffset": "0.4s"}


async def test_continuous_loud_audio_is_cut_at_30_s_and_answered(
    autojump_clock: trio.abc.Clock,
) -> None:
    # Speech with no pause (a tone: noise, music, an open microphone) was held for ever,
    # growing without bound, and never answered. It is cut at 30 s by default.
    second = tone(1000)
    async with start(EmulatorConfig(voice_activity=True)) as emu, connect(emu) as client:
        await client.setup(model=NATIVE, inputAudioTranscription={})
        for _ in range(32):
            await send_chunks(client, second, ms=100)
        cut = await client.turn()
        # What stays loud past the cut is the same speech going on: not heard as a new
        # utterance (no ACTIVITY_START, no barge-in), so the text's answer comes next.
        await client.send({"realtimeInput": {"text": "and now?"}})
        after = await client.turn()
        conn = await emu.wait_for_connection()
        assert conn.model is not None
        assert conn.model.vad.pending_audio() == b""
        # After a pause, speech is a new utterance again.
        await send_chunks(client, bytes(640) + tone(400) + bytes(32000), ms=100)
        again = await client.turn()
    assert voice_activity(cut) == [
        {"type": "ACTIVITY_START", "audioOffset": "0s"},
        {"type": "ACTIVITY_END", "audioOffset": "30s"},
    ]
    assert texts_of(cut, "inputTranscription") == "Hello, can you hear me?"
    assert len(audio_of(cut)) == 30 * 48000  # the first 30 s, echoed at 24 kHz
    assert {"serverContent": {"interrupted": True}} not in cut
    assert cut[-2] == {"serverContent": {"generationComplete": True}}
    assert voice_activity(after) == []
    assert {"serverContent": {"interrupted": True}} not in after
    assert voice_activity(again) == [
        {"type": "ACTIVITY_START", "audioOffset": "32.02s"},
        {"type": "ACTIVITY_END", "audioOffset": "32.42s"},
    ]


def test_the_vad_holds_at_most_max_utterance_ms_of_continuous_speech() -> None:
    # The default cap: 95 s of a loud tone is one 30 s utterance, and the detector never
    # holds more than that (it held all of it, 1.9 MB a minute, for ever).
    cap_ms = EmulatorConfig().max_utterance_ms
    assert cap_ms == 30_000
    vad = EnergyVad(threshold=300, silence_ms=700, prefix_ms=20, max_utterance_ms=cap_ms)
    second = tone(1000)
    results: list[VadResult] = []
    for _ in range(95):
        results += vad.feed(second)
        assert len(vad.pending_audio()) <= 32 * cap_ms
    assert [(r.started, r.offset_s) for r in results] == [(True, 0.0), (False, 30.0)]
    assert results[1].speech is not None
    assert len(results[1].speech) == 32 * cap_ms
    # A quiet frame ends the speech going on; loud audio after it is a new utterance.
    assert vad.feed(bytes(640) + tone(100)) == [VadResult(started=True, offset_s=95.02)]


def test_an_utterance_cut_on_a_pause_leaves_the_next_speech_heard() -> None:
    # Cut within a pause shorter than the silence that ends a turn: nothing is held off.
    vad = EnergyVad(threshold=300, silence_ms=700, prefix_ms=20, max_utterance_ms=1000)
    results = vad.feed(tone(900) + bytes(3200) + tone(100))
    assert [(r.started, r.offset_s) for r in results] == [(True, 0.0), (False, 0.9), (True, 1.0)]


async def test_no_voice_activity_by_default_or_with_manual_activity() -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE)
        await send_chunks(client, tone(600) + bytes(32000))
        assert voice_activity(await client.turn()) == []
    async with start(EmulatorConfig(voice_activity=True)) as emu, connect(emu) as client:
        await client.setup(
            model=NATIVE, realtimeInputConfig={"automaticActivityDetection": {"disabled": True}}
        )
        await client.send({"realtimeInput": {"activityStart": {}}})
        await send_chunks(client, tone(600))
        await client.send({"realtimeInput": {"activityEnd": {}}})
        assert voice_activity(await client.turn()) == []


@pytest.mark.parametrize("scheduling", ["INTERRUPT", "WHEN_IDLE"])
async def test_an_interrupt_scheduled_tool_result_cuts_the_turn_in_progress(
    scheduling: str, autojump_clock: trio.abc.Clock
) -> None:
    # docs/emulator.md: NON_BLOCKING results are spoken later per `scheduling`; INTERRUPT
    # cuts the answer in progress (`interrupted`, no generationComplete), WHEN_IDLE waits.
    tools = [{"functionDeclarations": [{"name": "start_timer", "behavior": "NON_BLOCKING"}]}]
    async with start(EmulatorConfig(pacing="realtime")) as emu, connect(emu) as client:
        await client.setup(model=NATIVE, tools=tools, outputAudioTranscription={})
        await client.send({"realtimeInput": {"text": "please start timer"}})
        first = await client.turn()
        call = next(m["toolCall"]["functionCalls"][0] for m in first if "toolCall" in m)
        await client.send({"realtimeInput": {"text": "now say something rather long please"}})
        await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))
        response = {"id": call["id"], "name": "start_timer", "response": {"ok": True}}
        await client.send(
            {"toolResponse": {"functionResponses": [{**response, "scheduling": scheduling}]}}
        )
        current = await client.turn()
        result = await client.turn()
    interrupted = {"serverContent": {"interrupted": True}} in current
    completed = {"serverContent": {"generationComplete": True}} in current
    assert (interrupted, completed) == (scheduling == "INTERRUPT", scheduling != "INTERRUPT")
    # Either way the result is spoken, in a turn of its own.
    assert texts_of(result, "outputTranscription") == 'start_timer returned {"ok": true}.'


async def test_a_context_update_s_tools_replace_the_setup_s_for_the_model(
    autojump_clock: trio.abc.Clock,
) -> None:
    # A declared function is called when the user's words name it (docs/emulator.md,
    # "Tools"): after a tools-only `contextUpdate` that is the new function, not the old.
    old = [{"functionDeclarations": [{"name": "start_timer"}]}]
    async with start() as emu, connect(emu) as client:
        await client.setup(tools=old, **TEXT)
        await client.send({"contextUpdate": {"tools": {"tools": WEATHER}}})
        await client.send({"realtimeInput": {"text": "what is the weather in Oslo"}})
        messages = await client.recv_until(lambda m: "toolCall" in m)
        (call,) = messages[-1]["toolCall"]["functionCalls"]
        assert (call["name"], call["args"]) == ("get_current_weather", {"location": "Oslo"})
        response = {"id": call["id"], "name": call["name"], "response": {"temp_c": 3}}
        await client.send({"toolResponse": {"functionResponses": [response]}})
        await client.turn()
        # The setup's function is no longer declared: naming it calls nothing.
        await client.send({"realtimeInput": {"text": "please start timer"}})
        answer = await client.turn()
    assert not any("toolCall" in m for m in answer)
    assert texts_of(answer) == "You said: please start timer"


async def test_a_resumable_handle_follows_the_turn_complete_of_a_barge_in(
    autojump_clock: trio.abc.Clock,
) -> None:
    # The cut turn is over and nothing is pending: the state can be resumed from there.
    async with start(EmulatorConfig(pacing="realtime")) as emu, connect(emu) as client:
        await client.setup(
            model=NATIVE,
            sessionResumption={},
            realtimeInputConfig={"automaticActivityDetection": {"disabled": True}},
        )
        first = (await client.recv())["sessionResumptionUpdate"]
        await client.send({"realtimeInput": {"text": "talk to me for a while"}})
        await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))
        await client.send({"realtimeInput": {"activityStart": {}}})  # starts no turn itself
        cut = await client.turn()
        update = (await client.recv(limit=5))["sessionResumptionUpdate"]
    assert {"serverContent": {"interrupted": True}} in cut
    assert update["resumable"] is True
    assert update["newHandle"] not in ("", first["newHandle"])


@pytest.mark.parametrize(("padding_ms", "start_s"), [(None, "0.2s"), (20, "0.2s"), (300, "1.4s")])
async def test_the_vad_starts_speech_after_prefix_padding_ms_of_it(
    padding_ms: int | None, start_s: str, autojump_clock: trio.abc.Clock
) -> None:
    # `prefixPaddingMs`: the speech needed before its start is committed (in the emulator,
    # that many ms of loud 20 ms frames; 20 ms by default). A 200 ms blip is no speech
    # under 300 ms; the 1 s of speech after it is, dated from its first loud frame.
    detection: dict[str, Any] = {"silenceDurationMs": 300}
    if padding_ms is not None:
        detection["prefixPaddingMs"] = padding_ms
    async with start(EmulatorConfig(voice_activity=True)) as emu, connect(emu) as client:
        await client.setup(
            model=NATIVE, realtimeInputConfig={"automaticActivityDetection": detection}
        )
        silence = bytes(6400)  # 200 ms
        audio = silence + tone(200) + silence * 5 + tone(1000) + silence * 3
        await send_chunks(client, audio)
        messages = await client.turn()
    assert voice_activity(messages)[0] == {"type": "ACTIVITY_START", "audioOffset": start_s}


async def test_the_cancelled_call_ids_remembered_are_bounded(
    autojump_clock: trio.abc.Clock,
) -> None:
    # A response crossing its `toolCallCancellation` is ignored, which needs the cancelled
    # ids: the newest `_CANCELLED_KEPT` of them, so that barge-ins cannot grow memory.
    names = [f"fn_{i:03}" for i in range(_CANCELLED_KEPT + 6)]
    tools = [{"functionDeclarations": [{"name": name} for name in names]}]
    async with start() as emu, connect(emu) as client:
        await client.setup(tools=tools, **TEXT)
        await client.send({"realtimeInput": {"text": "call " + " ".join(names)}})
        messages = await client.recv_until(lambda m: "toolCall" in m)
        calls = messages[-1]["toolCall"]["functionCalls"]
        assert len(calls) == len(names)
        never_mind = {"role": "user", "parts": [{"text": "never mind"}]}
        await client.send({"clientContent": {"turns": [never_mind], "turnComplete": False}})
        cut = await client.turn()
        assert cut[1] == {"toolCallCancellation": {"ids": [c["id"] for c in calls]}}
        conn = await emu.wait_for_connection()
        model = conn.model
        assert model is not None
        assert len(model._cancelled) == _CANCELLED_KEPT  # pyright: ignore[reportPrivateUsage]
        # The newest is still known (its response is ignored, the session goes on) ...
        newest = {"id": calls[-1]["id"], "name": calls[-1]["name"], "response": {}}
        await client.send({"toolResponse": {"functionResponses": [newest]}})
        await client.send({"realtimeInput": {"text": "hello"}})
        assert texts_of(await client.turn()) == "You said: hello"
        # ... the oldest was forgotten: an unknown id, refused like any other.
        oldest = {"id": calls[0]["id"], "name": calls[0]["name"], "response": {}}
        await client.send({"toolResponse": {"functionResponses": [oldest]}})
        assert await client.closed() == (1007, "Request contains an invalid argument.")


class _Outlet:
    """A connection for a `Model` of its own: keeps the reply's audio, and its memory peak."""

    def __init__(self) -> None:
        self.audio = hashlib.sha256()
        self.audio_bytes = 0
        self.turn_complete = trio.Event()

    async def send(self, message: ServerMessage) -> None:
        content = message.server_content
        for part in content.model_turn.parts if content and content.model_turn else []:
            if part.inline_data is not None:
                self.audio.update(part.inline_data.data)
                self.audio_bytes += len(part.inline_data.data)
        if content is not None and content.turn_complete:
            self.turn_complete.set()

    async def close(self, code: int, reason: str) -> None:
        raise AssertionError(f"closed: {code} {reason}")

    async def resumption_update(self, resumable: bool) -> None:
        pass

    def stalled(self) -> bool:
        return False


class _SlowReaderOutlet(_Outlet):
    """A connection whose client reads slowly: a barge-in may come while a frame is written.

    Each send passes a checkpoint first, where a cancellation stops it (the connection's
    send lock); `generationComplete` is then written, under a cancel shield as every frame
    is, only once `release` is set.
    """

    def __init__(self) -> None:
        super().__init__()
        self.flags: list[str] = []
        self.writing = trio.Event()
        self.release = trio.Event()
        self.two_turns_ended = trio.Event()

    async def send(self, message: ServerMessage) -> None:
        await trio.lowlevel.checkpoint()
        content = message.server_content
        if content is None:
            return
        if content.generation_complete and not self.release.is_set():
            self.writing.set()
            with trio.CancelScope(shield=True):
                await self.release.wait()
        for flag in ("generation_complete", "interrupted", "turn_complete"):
            if getattr(content, flag):
                self.flags.append(flag)
        if self.flags.count("turn_complete") == 2:
            self.two_turns_ended.set()
        await super().send(message)


@asynccontextmanager
async def open_model(
    config: EmulatorConfig, outlet: _Outlet | None = None
) -> AsyncIterator[tuple[Model, _Outlet]]:
    outlet = outlet or _Outlet()
    async with trio.open_nursery() as nursery:
        model = Model(
            config=config,
            setup=Setup(model=NATIVE),
            model_id=NATIVE.removeprefix("models/"),
            vertex=False,
            session=SessionState(),
            outlet=outlet,
            nursery=nursery,
        )
        yield model, outlet
        nursery.cancel_scope.cancel()


async def test_a_barge_in_while_generation_complete_is_written_still_ends_the_turn(
    autojump_clock: trio.abc.Clock,
) -> None:
    # The turn counted itself complete before its `turnComplete` went out: the barge-in,
    # cancelling that send, found it complete and sent nothing. The turn never ended, on
    # the wire: neither `interrupted` nor `turnComplete`.
    outlet = _SlowReaderOutlet()
    async with open_model(EmulatorConfig(), outlet) as (model, _), trio.open_nursery() as nursery:
        await model.on_realtime_input(RealtimeInput(text="hello"))
        await outlet.writing.wait()
        nursery.start_soon(model.on_realtime_input, RealtimeInput(text="stop"))
        await trio.sleep(1)  # the barge-in waits for the write to end
        outlet.release.set()
        with trio.fail_after(30):
            await outlet.two_turns_ended.wait()
        await trio.sleep(1)
    assert outlet.flags == [
        "generation_complete",
        "interrupted",
        "turn_complete",
        "generation_complete",
        "turn_complete",
    ]
    # A cut turn is not in the history: only what was answered in full.
    assert [turn["role"] for turn in model.session.history] == ["user", "user", "model"]


SAID_HELLO_SHA256 = "5dc224c6ad5055a7f599113743aabc001dfc5f4c0da10edc45cb8241da4be8b0"
"""The tone voice of "You said: Hello, world!" (24 kHz, 60 ms a character), as it was made
whole before it was made a chunk at a time: the reply audio is the same bytes."""


async def test_a_long_text_reply_is_made_a_chunk_at_a_time(autojump_clock: trio.abc.Clock) -> None:
    # Made whole, then copied into chunks, the reply to 20,000 characters took 115 MB at
    # once (2,880 bytes of audio a character, twice); to a megabyte, a MemoryError.
    config = EmulatorConfig(audio_chunk_ms=1000)
    async with open_model(config) as (model, outlet):
        tracemalloc.start()
        try:
            await model.on_realtime_input(RealtimeInput(text="a" * 20_000))
            await outlet.turn_complete.wait()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert outlet.audio_bytes == len("You said: ") * 2880 + 20_000 * 2880
    assert peak < 1_000_000  # a few 48 kB chunks
    async with open_model(EmulatorConfig()) as (model, outlet):
        await model.on_realtime_input(RealtimeInput(text="Hello, world!"))
        await outlet.turn_complete.wait()
    assert outlet.audio.hexdigest() == SAID_HELLO_SHA256


def test_spoken_text_is_its_whole_audio_a_slice_at_a_time() -> None:
    spoken = SpokenText("You said: Hello, world!", rate=24_000)
    whole = spoken[:]
    assert len(whole) == len(spoken) == 23 * 2880
    assert hashlib.sha256(whole).hexdigest() == SAID_HELLO_SHA256
    for size in (1, 2, 1920, 2880, 4001, 48_000, 10**6):
        pieces = [spoken[i : i + size] for i in range(0, len(spoken), size)]
        assert b"".join(pieces) == whole
    assert spoken[-3:] == whole[-3:]
    assert spoken[len(spoken) :] == b""
    # 112 samples a character at 16 kHz and 7 ms; a character past the BMP is one.
    odd = SpokenText("H\u00e9llo w\u00f6rld \U0001d11e!", ms_per_char=7, rate=16_000)
    assert len(odd[:]) == len(odd) == 14 * 224
    assert hashlib.sha256(odd[:]).hexdigest() == (
        "8c783a173bc32a86c262ae4caa2bb18dd0057f8289886a961d557a7c22cf3cbc"
    )
    assert SpokenText("abc", ms_per_char=0)[:] == b""


async def test_a_large_audio_message_is_weighed_by_the_vad_in_steps() -> None:
    # The energy of each 20 ms frame is pure Python: 20 s of 16 kHz audio in one message
    # (no resampling, so no schedule point there) was weighed in one step; a large message
    # at a low rate held every connection of the emulator for seconds.
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    speech = (tone(600) + bytes(32_000)) * 10  # ten utterances, each ended by 1 s of quiet
    async with open_model(EmulatorConfig()) as (model, _), trio.open_nursery() as nursery:
        nursery.start_soon(tick)
        await trio.lowlevel.checkpoint()
        before = ticks
        await model.on_realtime_input(
            RealtimeInput(audio=Blob(data=bytes(640_000), mime_type="audio/pcm;rate=16000"))
        )
        during = ticks - before
        nursery.cancel_scope.cancel()
    assert during >= 10  # a pause every second of audio: 19 of them
    # The same results as weighed at once, in order; a realtime chunk takes no pause.
    settings = {"threshold": 300, "silence_ms": 700, "prefix_ms": 20, "max_utterance_ms": 30_000}
    at_once = EnergyVad(**settings).feed(speech)
    assert len(at_once) == 20
    async with trio.open_nursery() as nursery:
        nursery.start_soon(tick)
        await trio.lowlevel.checkpoint()
        before = ticks
        assert await EnergyVad(**settings).feed_in_steps(speech) == at_once
        assert ticks > before
        before = ticks
        await EnergyVad(**settings).feed_in_steps(tone(1000))
        assert ticks == before
        nursery.cancel_scope.cancel()
