"""The session API end to end against the emulator: every kind of turn and native extra.

Text, audio (server VAD, manual activity, audioStreamEnd), tools (BLOCKING and NON_BLOCKING),
barge-in, non-ASCII text, video frames, compression and transcription settings, statistics.
"""

from __future__ import annotations

import math
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio.testing

from trio_gemini_live import (
    AudioDelta,
    FunctionCall,
    GenerationComplete,
    InputTranscription,
    Interrupted,
    LiveSession,
    OutputTranscription,
    RealtimeEvent,
    Setup,
    SpeechStarted,
    TextDelta,
    TurnComplete,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live.emulator import (
    EmulatorConfig,
    Scenario,
    ScenarioToolCall,
    ScenarioTurn,
    open_emulator,
)
from turns import until_turn_complete

AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
TEXT_MODEL = "gemini-live-2.5-flash-preview"


def speech(seconds: float, rate: int = 16000) -> bytes:
    count = int(seconds * rate)
    return struct.pack(
        f"<{count}h", *(int(7000 * math.sin(2 * math.pi * 180 * n / rate)) for n in range(count))
    )


@asynccontextmanager
async def session_for(
    setup: Setup, config: EmulatorConfig | None = None
) -> AsyncIterator[tuple[LiveSession, list[dict[str, object]]]]:
    async with open_emulator(config) as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(
            setup, endpoint=endpoint, connector=emulator.memory_connector()
        ) as session:
            received: list[dict[str, object]] = []
            yield session, received
            received.extend(frame.data for frame in emulator.connections[0].received)


async def send_speech(session: LiveSession, seconds: float, *, silence: float = 1.0) -> None:
    pcm = memoryview(speech(seconds) + bytes(int(silence * 16000) * 2))
    for offset in range(0, len(pcm), 640):  # 20 ms chunks, without copying the buffer
        await session.send_audio(pcm[offset : offset + 640])
        await trio.sleep(0.02)


async def test_text_turn_with_non_ascii(autojump_clock: trio.testing.MockClock) -> None:
    async with session_for(live_setup(TEXT_MODEL, modality="TEXT")) as (session, _received):
        await session.send_client_content("Wie ist das Wetter in Zürich? ☀")
        events = await until_turn_complete(session)
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert "Zürich? ☀" in text
        assert sum(isinstance(e, TextDelta) for e in events) >= 2  # split over several parts
        assert any(isinstance(e, GenerationComplete) for e in events)
        turn = events[-1]
        assert isinstance(turn, TurnComplete)
        assert turn.usage is not None
        assert turn.usage.total_token_count > 0
        stats = session.statistics()
        assert stats.frames_sent == 1
        assert stats.frames_received >= 5
        assert stats.bytes_received > 0


async def test_realtime_text_turn(autojump_clock: trio.testing.MockClock) -> None:
    async with session_for(live_setup(TEXT_MODEL, modality="TEXT")) as (session, received):
        await session.send_text("Are you there?")
        events = await until_turn_complete(session)
        assert "Are you there?" in "".join(e.text for e in events if isinstance(e, TextDelta))
    assert received[1] == {"realtimeInput": {"text": "Are you there?"}}


async def test_audio_turn_with_server_vad_and_transcriptions(
    autojump_clock: trio.testing.MockClock,
) -> None:
    setup = live_setup(AUDIO_MODEL, input_transcription=True, output_transcription=True)
    config = EmulatorConfig(input_transcript="Hello from the microphone")
    async with session_for(setup, config) as (session, received):
        await send_speech(session, 1.5)
        events = await until_turn_complete(session)
        audio = [e for e in events if isinstance(e, AudioDelta)]
        assert audio
        assert {e.sample_rate for e in audio} == {24000}
        # The echo of 1.5 s of speech comes back as about 1.5 s of 24 kHz audio.
        assert 1.2 < sum(e.duration for e in audio) < 2.0
        heard = "".join(e.text for e in events if isinstance(e, InputTranscription))
        assert heard.strip() == "Hello from the microphone"
        assert any(isinstance(e, OutputTranscription) for e in events)
    audio_frames = [m for m in received if "realtimeInput" in m]
    assert audio_frames[0] == {
        "realtimeInput": {
            "audio": {
                "data": audio_frames[0]["realtimeInput"]["audio"]["data"],  # type: ignore[index]
                "mimeType": "audio/pcm;rate=16000",
            }
        }
    }


async def test_manual_activity_and_audio_stream_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    manual = live_setup(AUDIO_MODEL, automatic_vad=False)
    async with session_for(manual) as (session, received):
        await session.activity_start()
        pcm = speech(0.5)
        for offset in range(0, len(pcm), 640):
            await session.send_audio(pcm[offset : offset + 640])
        await session.activity_end()
        events = await until_turn_complete(session)
        assert any(isinstance(e, AudioDelta) for e in events)
    kinds = [next(iter(m["realtimeInput"])) for m in received if "realtimeInput" in m]  # type: ignore[call-overload]
    assert kinds[0] == "activityStart"
    assert kinds[-1] == "activityEnd"

    async with session_for(live_setup(AUDIO_MODEL)) as (session, received):
        pcm = speech(0.5)
        for offset in range(0, len(pcm), 640):
            await session.send_audio(pcm[offset : offset + 640])
        await session.audio_stream_end()  # the mic paused: the server ends the turn now
        events = await until_turn_complete(session)
        assert any(isinstance(e, AudioDelta) for e in events)
    assert {"realtimeInput": {"audioStreamEnd": True}} in received


async def test_tool_call_round_trip(autojump_clock: trio.testing.MockClock) -> None:
    weather = function_tool(
        "get_weather",
        "Current weather for a city",
        {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
    )
    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[weather])
    async with session_for(setup) as (session, received):
        await session.send_client_content("What is the weather in Paris?")
        with trio.fail_after(30):
            async for event in session:
                if isinstance(event, FunctionCall):
                    call = event
                    break
        assert call.name == "get_weather"
        assert call.call_id.startswith("function-call-")
        assert session.pending_tool_calls == {call.call_id: "get_weather"}
        await session.respond(call.call_id, {"temperature_c": 21, "sky": "sunny"})
        events = await until_turn_complete(session)
        answer = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert "21" in answer
        assert session.pending_tool_calls == {}
    response = next(m for m in received if "toolResponse" in m)
    assert response == {
        "toolResponse": {
            "functionResponses": [
                {
                    "id": call.call_id,
                    "name": "get_weather",
                    "response": {"temperature_c": 21, "sky": "sunny"},
                }
            ]
        }
    }


async def test_non_blocking_tool_keeps_talking_and_takes_scheduling(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lookup = function_tool("lookup_order", "Order status", non_blocking=True)
    scenario = Scenario(
        turns=(
            ScenarioTurn(
                when="order",
                reply="Let me check that while we talk.",
                tool_calls=(ScenarioToolCall("lookup_order", {"order": "A-17"}),),
            ),
        )
    )
    setup = live_setup(TEXT_MODEL, modality="TEXT", functions=[lookup])
    async with session_for(setup, EmulatorConfig(scenario=scenario)) as (session, received):
        await session.send_client_content("Where is my order?")
        events = await until_turn_complete(session)
        calls = [e for e in events if isinstance(e, FunctionCall)]
        assert [c.arguments for c in calls] == [{"order": "A-17"}]
        # NON_BLOCKING: the model finished its turn without waiting for the result.
        assert "while we talk" in "".join(e.text for e in events if isinstance(e, TextDelta))
        await session.respond(
            calls[0].call_id, {"status": "shipped"}, scheduling="WHEN_IDLE", will_continue=False
        )
        later = await until_turn_complete(session)
        assert "shipped" in "".join(e.text for e in later if isinstance(e, TextDelta))
    entry = next(m for m in received if "toolResponse" in m)["toolResponse"]["functionResponses"][0]  # type: ignore[index]
    assert entry["scheduling"] == "WHEN_IDLE"
    assert "willContinue" not in entry  # False is the default: left out (protocol.md 1.6.3)


async def test_barge_in_interrupts_and_reaches_seed_consumers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    setup = live_setup(AUDIO_MODEL)
    config = EmulatorConfig(pacing="realtime")
    async with session_for(setup, config) as (session, _received):
        await session.send_client_content("Tell me a long story about the sea and the sky.")
        seen: list[RealtimeEvent] = []
        barged = False
        with trio.fail_after(60):
            async for event in session:
                seen.append(event)
                if not barged and sum(isinstance(e, AudioDelta) for e in seen) == 3:
                    barged = True
                    await session.send_client_content("Stop, a question!")
                if isinstance(event, TurnComplete):
                    break
        interrupted = [e for e in seen if isinstance(e, Interrupted)]
        assert len(interrupted) == 1
        assert isinstance(interrupted[0], SpeechStarted)
        assert seen[-1].interrupted  # type: ignore[attr-defined]
        assert not any(isinstance(e, GenerationComplete) for e in seen)
        # The new question is answered in the next turn.
        after = await until_turn_complete(session)
        assert any(isinstance(e, AudioDelta) for e in after)


async def test_a_barge_in_during_the_wait_for_playback_ends_the_same_turn(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The answer is all sent, `generationComplete` too; the server waits for it to play
    # before `turnComplete`, and the user speaks meanwhile: `interrupted` follows the
    # `generationComplete` of the same turn, and the next answer is the next turn.
    async with (
        open_emulator(EmulatorConfig(wait_for_playback=True)) as emulator,
        emulator.open_session(live_setup(AUDIO_MODEL), api_key="k") as session,
    ):
        await session.send_client_content("Tell me a story about the sea.")
        await emulator.connections[0].wait_for_sent("serverContent.generationComplete")
        await session.send_client_content("Stop, a question!")
        cut = await until_turn_complete(session)
        after = await until_turn_complete(session)
    ends = [
        (type(e).__name__, e.turn_id)
        for e in cut
        if isinstance(e, GenerationComplete | Interrupted | TurnComplete)
    ]
    assert ends == [("GenerationComplete", 1), ("Interrupted", 1), ("TurnComplete", 1)]
    cut_end, next_end = cut[-1], after[-1]
    assert isinstance(cut_end, TurnComplete)
    assert cut_end.interrupted
    assert {e.turn_id for e in after if isinstance(e, AudioDelta | TurnComplete)} == {2}
    assert isinstance(next_end, TurnComplete)
    assert not next_end.interrupted


async def test_video_frames_and_setup_options_on_the_wire(
    autojump_clock: trio.testing.MockClock,
) -> None:
    setup = live_setup(
        AUDIO_MODEL,
        voice="Kore",
        language="en-US",
        system_instruction="You are terse.",
        compression_trigger_tokens=25600,
        input_transcription=True,
        output_transcription=True,
        silence_duration_ms=300,
    )
    async with session_for(setup) as (session, received):
        jpeg = b"\xff\xd8\xff\xe0" + bytes(64) + b"\xff\xd9"
        await session.send_video(jpeg)
        await session.send_video(bytearray(b"\x89PNG\r\n\x1a\n"), mime_type="image/png")
        await trio.testing.wait_all_tasks_blocked()
        assert session.statistics().frames_sent == 2
    first = received[0]["setup"]  # type: ignore[index]
    assert first["generationConfig"]["speechConfig"] == {  # type: ignore[index]
        "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}},
        "languageCode": "en-US",
    }
    assert first["contextWindowCompression"] == {"triggerTokens": 25600, "slidingWindow": {}}  # type: ignore[index]
    assert first["inputAudioTranscription"] == {}  # type: ignore[index]
    assert first["realtimeInputConfig"] == {  # type: ignore[index]
        "automaticActivityDetection": {"silenceDurationMs": 300}
    }
    assert first["sessionResumption"] == {}  # type: ignore[index]
    videos = [m["realtimeInput"]["video"] for m in received if "realtimeInput" in m]  # type: ignore[index]
    assert videos[0]["mimeType"] == "image/jpeg"
    assert videos[1]["mimeType"] == "image/png"


async def test_a_handle_read_after_the_block_resumes_in_a_new_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The recipe of concepts.md ("Resuming in a later session"): the handle that covers a
    # turn comes after its turnComplete, and leaving the block reads it.
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        with trio.fail_after(30):
            async with open_session(live_setup(AUDIO_MODEL), endpoint=endpoint) as session:
                await session.send_client_content("my name is Ada")
                await until_turn_complete(session)
            handle = session.resumption_handle
            assert handle is not None
            setup = live_setup(AUDIO_MODEL, resumption_handle=handle)
            async with open_session(setup, endpoint=endpoint):
                resumed = await emulator.wait_for_connection(2)
                assert resumed.session.history[0]["text"] == "my name is Ada"
