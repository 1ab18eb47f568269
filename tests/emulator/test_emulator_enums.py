"""Enum values sent as numbers (protocol.md 1.6 item 7), numbered as in Google's protos,
and as names, which must be names the enum declares, spelled exactly."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
import trio
from google.genai import types as gt
from hypothesis import given, strategies as st

from emulator.emulator_client import MODEL, NATIVE, connect, start, texts_of
from trio_gemini_live import _proto_enums as proto
from trio_gemini_live._setup_hint import setup_problems
from trio_gemini_live._wire import (
    AutomaticActivityDetection,
    CodeExecutionResult,
    ExecutableCode,
    FunctionDeclaration,
    FunctionResponse,
    GenerationConfig,
    RealtimeInputConfig,
    SafetySetting,
    Setup,
    ThinkingConfig,
)
from trio_gemini_live.emulator import EmulatorConfig
from trio_gemini_live.emulator._enums import enum_fields
from trio_gemini_live.emulator._validate import ClientFrameError, parse_client_frame

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
    # The Gemini API publishes ThinkingLevel's names, not its numbers.
    assert not gemini[(ThinkingConfig, "thinking_level")].names
    assert "MINIMAL" in gemini[(ThinkingConfig, "thinking_level")].declared
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


# --- names ------------------------------------------------------------------------------------

_AAD = "automaticActivityDetection"
# Every enum field of the client messages: where a value goes in a frame, and its path in
# Google's errors. (`method` is Vertex AI's only: the Gemini API has no such field.)
_ENUM_PLACES: dict[tuple[type[msgspec.Struct], str], tuple[Any, str]] = {
    (GenerationConfig, "response_modalities"): (
        lambda v: {"setup": {"model": MODEL, "generationConfig": {"responseModalities": [v]}}},
        "setup.generation_config.response_modalities[0]",
    ),
    (GenerationConfig, "media_resolution"): (
        lambda v: {"setup": {"model": MODEL, "generationConfig": {"mediaResolution": v}}},
        "setup.generation_config.media_resolution",
    ),
    (ThinkingConfig, "thinking_level"): (
        lambda v: {
            "setup": {"model": MODEL, "generationConfig": {"thinkingConfig": {"thinkingLevel": v}}}
        },
        "setup.generation_config.thinking_config.thinking_level",
    ),
    (AutomaticActivityDetection, "start_of_speech_sensitivity"): (
        lambda v: {
            "setup": {
                "model": MODEL,
                "realtimeInputConfig": {_AAD: {"startOfSpeechSensitivity": v}},
            }
        },
        "setup.realtime_input_config.automatic_activity_detection.start_of_speech_sensitivity",
    ),
    (AutomaticActivityDetection, "end_of_speech_sensitivity"): (
        lambda v: {
            "setup": {"model": MODEL, "realtimeInputConfig": {_AAD: {"endOfSpeechSensitivity": v}}}
        },
        "setup.realtime_input_config.automatic_activity_detection.end_of_speech_sensitivity",
    ),
    (RealtimeInputConfig, "activity_handling"): (
        lambda v: {"setup": {"model": MODEL, "realtimeInputConfig": {"activityHandling": v}}},
        "setup.realtime_input_config.activity_handling",
    ),
    (RealtimeInputConfig, "turn_coverage"): (
        lambda v: {"setup": {"model": MODEL, "realtimeInputConfig": {"turnCoverage": v}}},
        "setup.realtime_input_config.turn_coverage",
    ),
    (FunctionDeclaration, "behavior"): (
        lambda v: {
            "setup": {
                "model": MODEL,
                "tools": [{"functionDeclarations": [{"name": "f", "behavior": v}]}],
            }
        },
        "setup.tools[0].function_declarations[0].behavior",
    ),
    (FunctionResponse, "scheduling"): (
        lambda v: {"toolResponse": {"functionResponses": [{"id": "a", "scheduling": v}]}},
        "tool_response.function_responses[0].scheduling",
    ),
    (SafetySetting, "category"): (
        lambda v: {"setup": {"model": MODEL, "safetySettings": [{"category": v}]}},
        "setup.safety_settings[0].category",
    ),
    (SafetySetting, "threshold"): (
        lambda v: {"setup": {"model": MODEL, "safetySettings": [{"threshold": v}]}},
        "setup.safety_settings[0].threshold",
    ),
    (SafetySetting, "method"): (
        lambda v: {"setup": {"model": MODEL, "safetySettings": [{"method": v}]}},
        "setup.safety_settings[0].method",
    ),
    (ExecutableCode, "language"): (
        lambda v: {
            "clientContent": {
                "turns": [{"role": "model", "parts": [{"executableCode": {"language": v}}]}]
            }
        },
        "client_content.turns[0].parts[0].executable_code.language",
    ),
    (CodeExecutionResult, "outcome"): (
        lambda v: {
            "clientContent": {
                "turns": [{"role": "model", "parts": [{"codeExecutionResult": {"outcome": v}}]}]
            }
        },
        "client_content.turns[0].parts[0].code_execution_result.outcome",
    ),
}
_DIALECTS = [
    (vertex, key)
    for vertex in (False, True)
    for key in _ENUM_PLACES
    if key in enum_fields(vertex=vertex)
]


def test_every_enum_field_of_either_backend_is_checked() -> None:
    # A field with no table here would take any string unchecked.
    assert set(enum_fields(vertex=True)) == set(_ENUM_PLACES)
    assert set(enum_fields(vertex=False)) == set(_ENUM_PLACES) - {(SafetySetting, "method")}


def _refusal(frame: dict[str, Any], *, vertex: bool) -> str | None:
    try:
        parse_client_frame(json.dumps(frame), strict=True, vertex=vertex)
    except ClientFrameError as err:
        return f"{err.code} {err.reason}".removeprefix("1007 ")
    return None


@pytest.mark.parametrize(("vertex", "key"), _DIALECTS)
@pytest.mark.parametrize(
    "value",
    # A typo; a declared name in another case (names match exactly); a name of another
    # enum; the empty string; values of other JSON types.
    ["NO_INTERUPTION", "lowercase", "TEXT_", "", False, True, 1.5, {}, ["x"]],
)
def test_a_value_the_enum_does_not_declare_is_refused_naming_the_field(
    vertex: bool, key: tuple[type[msgspec.Struct], str], value: Any
) -> None:
    place, path = _ENUM_PLACES[key]
    enum = enum_fields(vertex=vertex)[key]
    if value == "lowercase":
        value = sorted(enum.declared)[-1].lower()
    shown = json.dumps(value, separators=(",", ":"))
    assert _refusal(place(value), vertex=vertex) == (
        f"Invalid JSON payload received. Invalid value at '{path}' ({enum.type_url()}), {shown}"
    )


@pytest.mark.parametrize(("vertex", "key"), _DIALECTS)
def test_every_declared_name_is_taken_as_sent(
    vertex: bool, key: tuple[type[msgspec.Struct], str]
) -> None:
    place, _ = _ENUM_PLACES[key]
    for name in enum_fields(vertex=vertex)[key].declared:
        assert _refusal(place(name), vertex=vertex) is None, name


def test_names_by_name_only_are_taken_and_their_numbers_are_not() -> None:
    # TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO has no published number; Vertex publishes
    # no number for its Live-only enums, the Gemini API none for ThinkingLevel.
    place, _ = _ENUM_PLACES[(RealtimeInputConfig, "turn_coverage")]
    assert _refusal(place(proto.TURN_COVERAGE_UNNUMBERED[0]), vertex=False) is None
    assert _refusal(place(2), vertex=False) is None
    refused = _refusal(place(2), vertex=True)
    assert refused is not None
    assert refused.endswith("RealtimeInputConfig.TurnCoverage), 2")
    thinking, _ = _ENUM_PLACES[(ThinkingConfig, "thinking_level")]
    assert _refusal(thinking(4), vertex=True) is None
    assert _refusal(thinking(4), vertex=False) == (
        "Invalid JSON payload received. Invalid value at 'setup.generation_config."
        "thinking_config.thinking_level' (type.googleapis.com/"
        "google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), 4"
    )


# google-genai's enum for each enum field: every name it declares is one it may send.
_GENAI_ENUMS: dict[tuple[type[msgspec.Struct], str], type[gt.CaseInSensitiveEnum]] = {
    (GenerationConfig, "response_modalities"): gt.Modality,
    (GenerationConfig, "media_resolution"): gt.MediaResolution,
    (ThinkingConfig, "thinking_level"): gt.ThinkingLevel,
    (AutomaticActivityDetection, "start_of_speech_sensitivity"): gt.StartSensitivity,
    (AutomaticActivityDetection, "end_of_speech_sensitivity"): gt.EndSensitivity,
    (RealtimeInputConfig, "activity_handling"): gt.ActivityHandling,
    (RealtimeInputConfig, "turn_coverage"): gt.TurnCoverage,
    (FunctionDeclaration, "behavior"): gt.Behavior,
    (FunctionResponse, "scheduling"): gt.FunctionResponseScheduling,
    (SafetySetting, "category"): gt.HarmCategory,
    (SafetySetting, "threshold"): gt.HarmBlockThreshold,
    (SafetySetting, "method"): gt.HarmBlockMethod,
    (ExecutableCode, "language"): gt.Language,
    (CodeExecutionResult, "outcome"): gt.Outcome,
}


@pytest.mark.parametrize(("vertex", "key"), _DIALECTS)
def test_every_name_google_genai_declares_is_taken(
    vertex: bool, key: tuple[type[msgspec.Struct], str]
) -> None:
    # google-genai knows names newer than the published protos (XHIGH, VIDEO,
    # HARM_CATEGORY_IMAGE_HATE, ...) and sends them as they are: Google's servers take them.
    place, _ = _ENUM_PLACES[key]
    for member in _GENAI_ENUMS[key]:
        assert _refusal(place(member.value), vertex=vertex) is None, member.value


def test_every_enum_field_has_its_google_genai_enum() -> None:
    assert set(_GENAI_ENUMS) == set(_ENUM_PLACES)


def test_names_newer_than_the_protos_have_no_number() -> None:
    # Their numbers are unpublished: a number is never read as one of them.
    for vertex in (False, True):
        for key, enum in enum_fields(vertex=vertex).items():
            numbered = set(enum.names.values())
            assert not numbered & {"XHIGH", "VIDEO", "HARM_CATEGORY_IMAGE_HATE"}, key
    thinking, _ = _ENUM_PLACES[(ThinkingConfig, "thinking_level")]
    modality, _ = _ENUM_PLACES[(GenerationConfig, "response_modalities")]
    category, _ = _ENUM_PLACES[(SafetySetting, "category")]
    # One past each published numbering: XHIGH, VIDEO and an image category come after it.
    assert _refusal(thinking(len(proto.THINKING_LEVEL)), vertex=True) is not None
    assert _refusal(modality(len(proto.MODALITY)), vertex=False) is not None
    assert _refusal(category(len(proto.VERTEX_HARM_CATEGORY)), vertex=True) is not None


@pytest.mark.parametrize(
    ("vertex", "model"), [(False, MODEL), (True, VERTEX_MODEL)], ids=["gemini", "vertex"]
)
async def test_a_setup_with_names_newer_than_the_protos_opens_and_answers(
    vertex: bool, model: str
) -> None:
    safety = [
        {"category": "HARM_CATEGORY_IMAGE_HATE", "threshold": "BLOCK_NONE"},
        {"category": "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT", "threshold": "OFF"},
        {"category": "HARM_CATEGORY_JAILBREAK", "threshold": "BLOCK_ONLY_HIGH"},
    ]
    generation = {"responseModalities": ["TEXT"], "thinkingConfig": {"thinkingLevel": "XHIGH"}}
    async with start(EmulatorConfig(vertex=vertex)) as emu, connect(emu) as client:
        complete = await client.setup(
            model=model, generationConfig=generation, safetySettings=safety
        )
        assert "setupComplete" in complete
        await client.send({"realtimeInput": {"text": "hi"}})
        assert texts_of(await client.turn()) == "You said: hi"
        conn = emu.connections[0]
    assert conn.setup is not None
    assert conn.setup.generation_config.thinking_config.thinking_level == "XHIGH"
    assert [rule.category for rule in conn.setup.safety_settings] == [
        rule["category"] for rule in safety
    ]


async def test_a_misspelled_name_closes_the_session_like_a_bad_number() -> None:
    async with start() as emu, connect(emu) as client:
        await client.send(
            {
                "setup": {
                    "model": MODEL,
                    "realtimeInputConfig": {"activityHandling": "NO_INTERUPTION"},
                }
            }
        )
        code, reason = await client.closed()
    full = (
        "Invalid JSON payload received. Invalid value at "
        "'setup.realtime_input_config.activity_handling' (type.googleapis.com/"
        "google.ai.generativelanguage.v1beta.RealtimeInputConfig.ActivityHandling), "
        '"NO_INTERUPTION"'
    )
    assert (code, reason) == (1007, full.encode()[:123].decode())


# The enum fields the client's setup hint checks, by the JSON path the hint names.
_HINTED = {
    "generationConfig.responseModalities[0]": (GenerationConfig, "response_modalities"),
    "generationConfig.mediaResolution": (GenerationConfig, "media_resolution"),
    "generationConfig.thinkingConfig.thinkingLevel": (ThinkingConfig, "thinking_level"),
    f"realtimeInputConfig.{_AAD}.startOfSpeechSensitivity": (
        AutomaticActivityDetection,
        "start_of_speech_sensitivity",
    ),
    f"realtimeInputConfig.{_AAD}.endOfSpeechSensitivity": (
        AutomaticActivityDetection,
        "end_of_speech_sensitivity",
    ),
    "realtimeInputConfig.activityHandling": (RealtimeInputConfig, "activity_handling"),
    "realtimeInputConfig.turnCoverage": (RealtimeInputConfig, "turn_coverage"),
    "tools[0].functionDeclarations[0].behavior": (FunctionDeclaration, "behavior"),
}
_SOME_NAMES = sorted({name for enum in enum_fields(vertex=True).values() for name in enum.declared})


@given(
    where=st.sampled_from(sorted(_HINTED)),
    name=st.one_of(st.sampled_from(_SOME_NAMES), st.text(max_size=20)),
    vertex=st.booleans(),
)
def test_the_emulator_refuses_exactly_the_names_the_setup_hint_flags(
    where: str, name: str, vertex: bool
) -> None:
    place, _ = _ENUM_PLACES[_HINTED[where]]
    frame = place(name)
    flagged = any(
        problem.startswith(f"{where} is ")
        for problem in setup_problems(msgspec.convert(frame["setup"], Setup))
    )
    assert (_refusal(frame, vertex=vertex) is not None) == flagged
