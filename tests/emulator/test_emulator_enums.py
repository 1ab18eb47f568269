"""Enum values sent as numbers (protocol.md 1.6 item 7), numbered as in Google's protos."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from emulator.emulator_client import MODEL, NATIVE, connect, start, texts_of
from trio_gemini_live._wire import (
    GenerationConfig,
    RealtimeInputConfig,
    SafetySetting,
    ThinkingConfig,
)
from trio_gemini_live.emulator import EmulatorConfig
from trio_gemini_live.emulator._enums import enum_fields
from trio_gemini_live.emulator._validate import parse_client_frame

VERTEX_MODEL = "publishers/google/models/gemini-live-2.5-flash-preview"
VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"


async def _setup_of(setup: dict[str, Any], *, vertex: bool = False) -> Any:
    async with start(EmulatorConfig(vertex=vertex)) as emu, connect(emu) as client:
        assert "setupComplete" in await client.setup(**setup)
        conn = emu.connections[0]
    assert conn.setup is not None
    return conn.setup


async def test_every_setup_enum_by_number() -> None:
    setup = await _setup_of(
        {
            "model": MODEL,
            "generationConfig": {"responseModalities": [1], "mediaResolution": 2},
            "realtimeInputConfig": {
                "automaticActivityDetection": {
                    "startOfSpeechSensitivity": 2,
                    "end_of_speech_sensitivity": 1,
                },
                "activityHandling": 2,
                "turnCoverage": 2,
            },
            "tools": [{"functionDeclarations": [{"name": "f", "behavior": 2}]}],
            "safetySettings": [{"category": 10, "threshold": 4}, {"category": 0, "threshold": 5}],
        }
    )
    gen, rt = setup.generation_config, setup.realtime_input_config
    assert gen.response_modalities == ["TEXT"]
    assert gen.media_resolution == "MEDIA_RESOLUTION_MEDIUM"
    aad = rt.automatic_activity_detection
    assert aad.start_of_speech_sensitivity == "START_SENSITIVITY_LOW"
    assert aad.end_of_speech_sensitivity == "END_SENSITIVITY_HIGH"
    assert rt.activity_handling == "NO_INTERRUPTION"
    assert rt.turn_coverage == "TURN_INCLUDES_ALL_INPUT"
    assert setup.tools[0].function_declarations[0].behavior == "NON_BLOCKING"
    assert [(s.category, s.threshold) for s in setup.safety_settings] == [
        ("HARM_CATEGORY_DANGEROUS_CONTENT", "BLOCK_NONE"),
        ("HARM_CATEGORY_UNSPECIFIED", "OFF"),
    ]


async def test_names_and_numbers_mix_and_the_model_sees_names() -> None:
    # AUDIO is 3: the session answers in audio, the numbers never reach the model.
    async with start() as emu, connect(emu) as client:
        await client.setup(model=NATIVE, generationConfig={"responseModalities": [3]})
        await client.send({"realtimeInput": {"text": "hi"}})
        messages = await client.turn()
        conn = emu.connections[0]
    assert any("inlineData" in str(m) for m in messages)
    assert conn.received[0].data == {
        "setup": {"model": NATIVE, "generationConfig": {"responseModalities": [3]}}
    }


async def test_client_content_and_tool_response_enums_by_number(
    autojump_clock: trio.abc.Clock,
) -> None:
    # NON_BLOCKING is 2: the model keeps talking instead of waiting for the result.
    tools = [{"functionDeclarations": [{"name": "start_timer", "behavior": 2}]}]
    async with start() as emu, connect(emu) as client:
        await client.setup(model=MODEL, tools=tools, generationConfig={"responseModalities": [1]})
        await client.send({"realtimeInput": {"text": "please start timer"}})
        first = await client.turn()
        assert texts_of(first).endswith("OK, I am working on it.")
        call = next(m["toolCall"]["functionCalls"][0] for m in first if "toolCall" in m)
        response = {"id": call["id"], "name": "start_timer", "response": {"ok": True}}
        # SILENT is 1: the result is added to the context and never spoken.
        await client.send({"toolResponse": {"functionResponses": [{**response, "scheduling": 1}]}})
        await client.send(
            {
                "clientContent": {
                    "turns": [
                        {
                            "role": "model",
                            "parts": [
                                {"executableCode": {"language": 1, "code": "print(1)"}},
                                {"codeExecutionResult": {"outcome": 3, "output": ""}},
                            ],
                        },
                        {"role": "user", "parts": [{"text": "and now"}]},
                    ],
                    "turnComplete": True,
                }
            }
        )
        second = await client.turn()
    # Had the result been spoken (WHEN_IDLE), this turn would have cut it off first.
    assert texts_of(second) == "You said: and now"


def test_part_enums_by_number_become_names() -> None:
    # Two parts: each is one member of a part's `data` oneof (the parser refuses a second).
    code = {"executableCode": {"language": 1, "code": "print(1)"}}
    result = {"code_execution_result": {"outcome": 3}}
    frame = {"clientContent": {"turns": [{"role": "model", "parts": [code, result]}]}}
    for vertex in (False, True):
        as_sent, message = parse_client_frame(json.dumps(frame), strict=True, vertex=vertex)
        assert as_sent == frame
        assert message.client_content is not None
        [turn] = message.client_content.turns or []
        first, second = turn.parts
        assert first.executable_code is not None
        assert first.executable_code.language == "PYTHON"
        assert second.code_execution_result is not None
        assert second.code_execution_result.outcome == "OUTCOME_DEADLINE_EXCEEDED"


def test_tables_match_the_published_protos() -> None:
    # Spot checks against googleapis' .proto files, where the two dialects differ most.
    gemini, vertex = enum_fields(vertex=False), enum_fields(vertex=True)
    assert gemini[(GenerationConfig, "response_modalities")].names[3] == "AUDIO"
    assert gemini[(RealtimeInputConfig, "activity_handling")].names[2] == "NO_INTERRUPTION"
    assert gemini[(SafetySetting, "category")].names[10] == "HARM_CATEGORY_DANGEROUS_CONTENT"
    assert gemini[(SafetySetting, "category")].names[11] == "HARM_CATEGORY_CIVIC_INTEGRITY"
    assert vertex[(SafetySetting, "category")].names[2] == "HARM_CATEGORY_DANGEROUS_CONTENT"
    assert (ThinkingConfig, "thinking_level") not in gemini
    assert vertex[(ThinkingConfig, "thinking_level")].names[4] == "MINIMAL"


@pytest.mark.parametrize(
    ("setup", "path", "enum", "value"),
    [
        (
            {"generationConfig": {"responseModalities": [7]}},
            "setup.generation_config.response_modalities[0]",
            "google.ai.generativelanguage.v1beta.GenerationConfig.Modality",
            7,
        ),
        (
            {"generationConfig": {"responseModalities": ["AUDIO", -1]}},
            "setup.generation_config.response_modalities[1]",
            "google.ai.generativelanguage.v1beta.GenerationConfig.Modality",
            -1,
        ),
        (
            {"realtimeInputConfig": {"activityHandling": 3}},
            "setup.realtime_input_config.activity_handling",
            "google.ai.generativelanguage.v1beta.RealtimeInputConfig.ActivityHandling",
            3,
        ),
        (
            {"safety_settings": [{"category": 12, "threshold": 1}]},
            "setup.safety_settings[0].category",
            "google.ai.generativelanguage.v1beta.HarmCategory",
            12,
        ),
    ],
)
async def test_a_number_outside_the_enum_is_refused_naming_the_field(
    setup: dict[str, Any], path: str, enum: str, value: int
) -> None:
    async with start() as emu, connect(emu) as client:
        await client.send({"setup": {"model": MODEL, **setup}})
        code, reason = await client.closed()
    full = (
        f"Invalid JSON payload received. Invalid value at '{path}' "
        f"(type.googleapis.com/{enum}), {value}"
    )
    # Close reasons are cut at 123 bytes, like Google's; the field comes first.
    assert (code, reason) == (1007, full.encode()[:123].decode())
    assert path in reason
    assert emu.connections[0].close_code == 1007


async def test_a_number_in_a_later_message_is_refused_too() -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(model=MODEL)
        frame = {"toolResponse": {"functionResponses": [{"id": "x", "scheduling": 4}]}}
        await client.send(frame)
        code, reason = await client.closed()
    assert code == 1007
    assert reason.startswith(
        "Invalid JSON payload received. Invalid value at "
        "'tool_response.function_responses[0].scheduling' (type.googleapis.com/"
    )


async def test_vertex_numbers_its_enums_as_vertex_does() -> None:
    safety = [{"category": 3, "threshold": 2, "method": 2}]
    thinking = {"thinkingLevel": 4}
    setup = {
        "model": VERTEX_MODEL,
        "safetySettings": safety,
        "generationConfig": {"thinkingConfig": thinking},
    }
    vertex = await _setup_of(setup, vertex=True)
    [rule] = vertex.safety_settings
    assert (rule.category, rule.threshold, rule.method) == (
        "HARM_CATEGORY_HARASSMENT",
        "BLOCK_MEDIUM_AND_ABOVE",
        "PROBABILITY",
    )
    assert vertex.generation_config.thinking_config.thinking_level == "MINIMAL"
    # The same category number is another harm on the Gemini API.
    gemini = await _setup_of({"model": MODEL, "safetySettings": [{"category": 3}]})
    assert gemini.safety_settings[0].category == "HARM_CATEGORY_VIOLENCE"


async def test_vertex_routes_use_vertex_numbering() -> None:
    async with start() as emu, connect(emu, path=VERTEX_PATH) as client:
        await client.setup(model=VERTEX_MODEL, safetySettings=[{"category": 6}])
        conn = emu.connections[0]
    assert conn.setup is not None
    assert conn.setup.safety_settings is not None
    assert conn.setup.safety_settings[0].category == "HARM_CATEGORY_JAILBREAK"


@pytest.mark.parametrize(
    "setup",
    [
        # Google publishes no number for these on the Gemini API: only names are accepted.
        {"generationConfig": {"thinkingConfig": {"thinkingLevel": 1}}},
        {"inputAudioTranscription": {"mode": 1}},
        # A JSON boolean is not an enum number.
        {"generationConfig": {"responseModalities": [True]}},
    ],
)
async def test_unpublished_numbers_and_booleans_are_refused(setup: dict[str, Any]) -> None:
    async with start() as emu, connect(emu) as client:
        await client.send({"setup": {"model": MODEL, **setup}})
        code, _reason = await client.closed()
    assert code == 1007
