"""Point 3: Google's close codes and reasons for rule violations."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
import trio

from emulator.emulator_client import MODEL, NATIVE, connect, start
from trio_gemini_live.emulator import EmulatorConfig
from trio_gemini_live.emulator._validate import NOT_UTF8, ClientFrameError, parse_client_frame

INVALID = "Request contains an invalid argument."


async def _close_after(
    frames: list[dict[str, Any]], config: EmulatorConfig | None = None
) -> tuple[int, str]:
    async with start(config) as emu, connect(emu) as client:
        for frame in frames:
            await client.send(frame)
        code, reason = await client.closed()
        conn = emu.connections[0]
    assert (conn.close_code, conn.close_reason) == (code, reason)
    return code, reason


SETUP = {"setup": {"model": MODEL}}


async def test_first_message_must_be_setup() -> None:
    reason = "setup must be the first message and only the first"
    assert await _close_after([{"realtimeInput": {"text": "hi"}}]) == (1007, reason)
    assert await _close_after([SETUP, SETUP]) == (1007, reason)


@pytest.mark.parametrize(
    ("frames", "second"),
    [
        ([{"setup": {"model": MODEL}, "clientContent": {"turnComplete": True}}], "clientContent"),
        ([SETUP, {"realtimeInput": {"text": "hi"}, "client_content": {}}], "client_content"),
        ([SETUP, {"toolResponse": {}, "realtimeInput": {"text": "hi"}}], "realtimeInput"),
    ],
)
async def test_one_message_kind_per_frame(
    frames: list[dict[str, Any]], second: str, autojump_clock: trio.abc.Clock
) -> None:
    """The client envelope is a proto `oneof message_type` (protocol.md 2.0): a frame that
    sets two of its members is refused by Google's JSON parser, not read as two messages."""
    reason = (
        "Invalid JSON payload received. Invalid value (oneof), oneof field 'message_type' "
        f"is already set. Cannot set '{second}'"
    )
    # cut at 123 bytes, the most a close frame carries
    assert await _close_after(frames) == (1007, reason.encode()[:123].decode())


async def test_a_null_member_does_not_count(autojump_clock: trio.abc.Clock) -> None:
    async with start() as emu, connect(emu) as client:
        assert await client.setup(model=MODEL) == {"setupComplete": {}}
        await client.send({"clientContent": None, "realtimeInput": {"text": "hi"}})
        messages = await client.turn()
    assert messages[-1]["serverContent"]["turnComplete"]


PNG = {"mimeType": "image/png", "data": "iVBORw=="}


@pytest.mark.parametrize(
    ("frames", "where", "second"),
    [
        (
            [SETUP, {"clientContent": {"turns": [{"parts": [{"text": "a", "inlineData": PNG}]}]}}],
            "client_content.turns[0].parts[0]",
            "inlineData",
        ),
        (
            [
                SETUP,
                {
                    "client_content": {
                        "turns": [
                            {"parts": [{"text": "a"}]},
                            {"parts": [{"file_data": {"fileUri": "gs://b/o"}, "text": ""}]},
                        ]
                    }
                },
            ],
            "client_content.turns[1].parts[0]",
            "text",
        ),
        (
            [
                {
                    "setup": {
                        "model": MODEL,
                        "systemInstruction": {
                            "parts": [{"functionCall": {"name": "f"}, "executableCode": {}}]
                        },
                    }
                }
            ],
            "setup.system_instruction.parts[0]",
            "executableCode",
        ),
        (
            [
                SETUP,
                {
                    "contextUpdate": {
                        "systemInstruction": {
                            "parts": [{"codeExecutionResult": {}, "functionResponse": {}}]
                        }
                    }
                },
            ],
            "context_update.system_instruction.parts[0]",
            "functionResponse",
        ),
        (
            [
                SETUP,
                {
                    "toolResponse": {
                        "functionResponses": [
                            {
                                "id": "c1",
                                "name": "f",
                                "parts": [{"inlineData": PNG, "fileData": {"fileUri": "gs://b/o"}}],
                            }
                        ]
                    }
                },
            ],
            "tool_response.function_responses[0].parts[0]",
            "fileData",
        ),
    ],
)
async def test_a_part_holds_one_member_of_its_data_oneof(
    frames: list[dict[str, Any]], where: str, second: str, autojump_clock: trio.abc.Clock
) -> None:
    """A part's data (text, inlineData, fileData, functionCall, ...) is a proto `oneof
    data`: Google's parser refuses a second member (the emulator took the part)."""
    reason = (
        f"Invalid JSON payload received. Invalid value at '{where}' (oneof), oneof field "
        f"'data' is already set. Cannot set '{second}'"
    )
    assert await _close_after(frames) == (1007, reason.encode()[:123].decode())


@pytest.mark.parametrize(
    ("frame", "where"),
    [
        (
            {"clientContent": {"turns": [{"parts": [{"text": ""}], "role": "user"}]}},
            "clientContent.turns[0].parts[0]",
        ),
        (
            {"clientContent": {"turns": [{"parts": [{"text": "a"}, {"thought": True}]}]}},
            "clientContent.turns[0].parts[1]",
        ),
        (
            {"contextUpdate": {"systemInstruction": {"parts": [{}], "role": "user"}}},
            "contextUpdate.systemInstruction.parts[0]",
        ),
    ],
)
async def test_a_part_without_data_is_refused(
    frame: dict[str, Any], where: str, autojump_clock: trio.abc.Clock
) -> None:
    """A part that carries nothing (`{}`, or only an empty text) closes with 1007.

    The client refuses to send one; the emulator took them and answered.
    """
    reason = f"Request contains an invalid argument. The part at '{where}' has no data."
    assert await _close_after([SETUP, frame]) == (1007, reason)


async def test_a_setup_instruction_part_without_data_is_refused(
    autojump_clock: trio.abc.Clock,
) -> None:
    setup = {"setup": {"model": MODEL, "systemInstruction": {"parts": [{"text": ""}]}}}
    reason = "Request contains an invalid argument. The part at "
    code, said = await _close_after([setup])
    assert (code, said.startswith(reason)) == (1007, True)
    assert "'setup.systemInstruction.parts[0]' has no data." in said


@pytest.mark.parametrize("role", ["system", "assistant", "USER"])
async def test_a_turn_role_other_than_user_or_model_is_refused(
    role: str, autojump_clock: trio.abc.Clock
) -> None:
    # Google's `Content.role` is "user" or "model": the emulator took OpenAI's roles.
    turn = {"turns": [{"parts": [{"text": "hi"}], "role": role}], "turnComplete": True}
    reason = (
        "Request contains an invalid argument. clientContent.turns[0].role must be 'user' "
        f"or 'model', not {role!r}."
    )
    assert await _close_after([SETUP, {"clientContent": turn}]) == (1007, reason)


async def test_a_part_may_add_a_thought_to_its_data(autojump_clock: trio.abc.Clock) -> None:
    """`thought` and `thoughtSignature` lie outside the oneof; a `null` member is not set."""
    part = {"text": "hi", "thought": False, "thoughtSignature": "c2ln", "inlineData": None}
    async with start() as emu, connect(emu) as client:
        assert await client.setup(model=MODEL) == {"setupComplete": {}}
        await client.send({"clientContent": {"turns": [{"parts": [part]}], "turnComplete": True}})
        messages = await client.turn()
    assert messages[-1]["serverContent"]["turnComplete"]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            {"setup": {"model": MODEL, "responseModalities": ["TEXT"]}},
            "Unknown name \"responseModalities\" at 'setup': Cannot find field.",
        ),
        (
            {"setup": {"model": MODEL, "generationConfig": {"inputAudioTranscription": {}}}},
            "Unknown name \"inputAudioTranscription\" at 'setup.generation_config': "
            "Cannot find field.",
        ),
        (
            {
                "setup": {
                    "model": MODEL,
                    "tools": [{"functionDeclarations": [{"name": "f", "oops": 1}]}],
                }
            },
            "Unknown name \"oops\" at 'setup.tools[0].function_declarations[0]': "
            "Cannot find field.",
        ),
    ],
)
async def test_unknown_fields(frame: dict[str, Any], message: str) -> None:
    assert await _close_after([frame]) == (1007, "Invalid JSON payload received. " + message)


@pytest.mark.parametrize("name", ["stopSequences", "stop_sequences", "responseMimeType"])
async def test_a_generation_field_the_live_api_lacks_is_an_invalid_argument(name: str) -> None:
    # protocol.md 2.1: the proto's GenerationConfig has them, but not for the Live API.
    # They were "Unknown name ... Cannot find field", which Google's parser, knowing
    # them, cannot say.
    frame = {"setup": {"model": MODEL, "generationConfig": {name: ["x"]}}}
    assert await _close_after([frame]) == (1007, "Request contains an invalid argument.")


@pytest.mark.parametrize("name", ["enableEnhancedCivicAnswers", "imageConfig"])
async def test_a_generation_field_the_emulator_does_not_model_is_taken(name: str) -> None:
    # The proto's own fields, and not among those the Live API lacks: refused as unknown.
    value: object = True if name == "enableEnhancedCivicAnswers" else {"aspectRatio": "1:1"}
    async with start() as emu, connect(emu) as client:
        reply = await client.setup(generationConfig={name: value})
    assert reply == {"setupComplete": {}}


@pytest.mark.parametrize(
    ("name", "value"), [("enableEnhancedCivicAnswers", "yes"), ("imageConfig", 5)]
)
async def test_a_generation_field_taken_unmodelled_still_has_its_json_type(
    name: str, value: object
) -> None:
    # Taken with no check: a wrong JSON type, which Google's parser refuses, went through.
    frame = {"setup": {"model": MODEL, "generationConfig": {name: value}}}
    code, _ = await _close_after([frame])
    assert code == 1007


async def test_a_parameters_schema_is_a_schema_message_too() -> None:
    """MCP and pydantic schemas carry keys `Schema` lacks: the session closes with 1007."""
    properties = {"readOnly": {"type": "STRING"}, "id": {"type": "STRING", "readOnly": True}}
    declaration = {"name": "f", "parameters": {"type": "OBJECT", "properties": properties}}
    frame = {"setup": {"model": MODEL, "tools": [{"functionDeclarations": [declaration]}]}}
    code, reason = await _close_after([frame])
    assert code == 1007
    # a property may be named like a keyword; the reason is cut at 123 bytes, like Google's
    assert reason.startswith(
        'Invalid JSON payload received. Unknown name "readOnly" at '
        "'setup.tools[0].function_declarations[0].parameters"
    )
    allowed = EmulatorConfig(strict=False)
    async with start(allowed) as emu, connect(emu) as client:
        assert await client.setup(tools=frame["setup"]["tools"]) == {"setupComplete": {}}


def _schema_frame(properties: dict[str, Any]) -> str:
    parameters = {"type": "OBJECT", "properties": properties}
    tools = [{"functionDeclarations": [{"name": "f", "parameters": parameters}]}]
    return json.dumps({"setup": {"model": MODEL, "tools": tools}})


_AT = "Invalid JSON payload received. Invalid value at 'setup.tools[0].function_declarations[0]"


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        (
            {"a": {"type": "STRIN"}},
            ".parameters.properties.a.type' "
            '(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "STRIN"',
        ),
        ({"a": {"enum": [1, 2]}}, ".parameters.properties.a.enum[0]' (TYPE_STRING), 1"),
        ({"a": {"minLength": "x"}}, '.parameters.properties.a.minLength\' (TYPE_INT64), "x"'),
        ({"a": {"max_items": 2**63}}, f".parameters.properties.a.max_items' (TYPE_INT64), {2**63}"),
        ({"a": {"minimum": True}}, ".parameters.properties.a.minimum' (TYPE_DOUBLE), true"),
        ({"a": {"nullable": "yes"}}, '.parameters.properties.a.nullable\' (TYPE_BOOL), "yes"'),
        ({"a": {"required": "b"}}, ".parameters.properties.a.required': expected a list."),
        ({"a": 5}, ".parameters.properties.a': expected an object."),
        (
            {"a": {"items": [{"type": "STRING"}]}},
            ".parameters.properties.a.items': expected an object.",
        ),
        (
            {"a": {"additionalProperties": 3}},
            ".parameters.properties.a.additionalProperties': expected a bool or an object.",
        ),
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_a_parameters_schema_value_of_the_wrong_type_is_refused(
    properties: dict[str, Any], reason: str, strict: bool
) -> None:
    # Only key names were checked: `"type": "STRIN"`, an enum of numbers, a property that
    # is not a schema were all taken. A value's type is checked in lax mode too, as any is.
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(_schema_frame(properties), strict=strict)
    assert (caught.value.code, caught.value.reason) == (1007, _AT + reason)


def test_a_response_schema_is_a_schema_message_too() -> None:
    # `FunctionDeclaration.response` is a `Schema` like `parameters`: it was not checked.
    response = {"type": "OBJECT", "properties": {"t": {"type": "STRING", "readOnly": True}}}
    tools = [{"functionDeclarations": [{"name": "f", "response": response}]}]
    frame = json.dumps({"setup": {"model": MODEL, "tools": tools}})
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(frame, strict=True)
    assert (caught.value.code, caught.value.reason) == (
        1007,
        'Invalid JSON payload received. Unknown name "readOnly" at '
        "'setup.tools[0].function_declarations[0].response.properties.t': Cannot find field.",
    )
    tools[0]["functionDeclarations"][0]["response"] = {"type": "STRIN"}
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(json.dumps({"setup": {"model": MODEL, "tools": tools}}), strict=False)
    assert caught.value.reason == (
        _AT + ".response.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "
        '"STRIN"'
    )


def test_a_map_s_value_schema_is_checked_for_unknown_keys() -> None:
    properties = {"m": {"type": "OBJECT", "additionalProperties": {"$schema": "x"}}}
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(_schema_frame(properties), strict=True)
    assert caught.value.reason.startswith('Invalid JSON payload received. Unknown name "$schema"')


@pytest.mark.parametrize("strict", [True, False])
def test_parameters_null_is_unset_not_a_bad_schema(strict: bool) -> None:
    # proto3 JSON's `null` for an unset field: refused as "expected an object".
    tools = [{"functionDeclarations": [{"name": "f", "parameters": None}]}]
    parse_client_frame(json.dumps({"setup": {"model": MODEL, "tools": tools}}), strict=strict)


def test_a_bad_schema_type_on_vertex_names_vertex_s_enum() -> None:
    with pytest.raises(ClientFrameError, match=r"google\.cloud\.aiplatform\.v1beta1\.Type"):
        parse_client_frame(_schema_frame({"a": {"type": 9}}), strict=True, vertex=True)


def test_every_proto3_json_spelling_of_a_schema_value_is_taken() -> None:
    properties = {
        "a": {"type": "string", "enum": ["x"], "minLength": "3", "maxLength": 4.0},
        "b": {"type": 3, "minimum": "NaN", "maximum": "1e3", "nullable": None},
        "c": {"type": "Array", "items": {"type": "INTEGER"}, "default": [1, {"x": None}]},
        "d": {"type": "OBJECT", "additionalProperties": {"type": "STRING"}, "example": 5},
        "e": {"anyOf": [{"type": "NULL"}], "additional_properties": False, "title": "E"},
    }
    parse_client_frame(_schema_frame(properties), strict=True)


async def test_a_bad_schema_value_closes_the_session_with_1007() -> None:
    properties = {"a": {"type": "STRING", "enum": [1, 2]}}
    frame = {"setup": json.loads(_schema_frame(properties))["setup"]}
    code, reason = await _close_after([frame])
    assert code == 1007
    assert reason.startswith(_AT)  # the rest is cut at 123 bytes, as Google cuts it


async def test_unknown_fields_can_be_allowed() -> None:
    config = EmulatorConfig(strict=False)
    async with start(config) as emu, connect(emu) as client:
        assert await client.setup(responseModalities=["TEXT"], whatever={"x": 1}) == {
            "setupComplete": {}
        }


async def test_unknown_model() -> None:
    code, reason = await _close_after([{"setup": {"model": "models/gemini-nope"}}])
    assert code == 1008
    assert reason.startswith(
        "models/gemini-nope is not found for API version v1beta, "
        "or is not supported for bidiGenerateContent."
    )
    assert len(reason.encode()) <= 123


@pytest.mark.parametrize(
    "setup",
    [
        {"model": NATIVE, "generationConfig": {"responseModalities": ["TEXT"]}},
        {"model": MODEL, "generationConfig": {"responseModalities": ["AUDIO", "TEXT"]}},
        # Modalities the Live API does not answer in: one the proto declares, and one only
        # google-genai does (the parser takes it, the setup is refused all the same). A name
        # neither declares is refused by the parser (test_emulator_enums).
        {"model": MODEL, "generationConfig": {"responseModalities": ["IMAGE"]}},
        {"model": MODEL, "generationConfig": {"responseModalities": ["VIDEO"]}},
        {
            "model": MODEL,
            "generationConfig": {
                "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Nobody"}}}
            },
        },
    ],
)
async def test_bad_modality_or_voice(setup: dict[str, Any]) -> None:
    assert await _close_after([{"setup": setup}]) == (1007, INVALID)


async def test_tool_response_for_unknown_id() -> None:
    frame = {
        "toolResponse": {
            "functionResponses": [
                {"id": "function-call-1", "name": "getStatus", "response": {"mood": "happy"}}
            ]
        }
    }
    assert await _close_after([SETUP, frame]) == (1007, INVALID)


async def test_tool_response_that_is_not_an_object() -> None:
    frame = {"toolResponse": {"functionResponses": [{"id": "x", "name": "f", "response": ["no"]}]}}
    assert await _close_after([SETUP, frame]) == (1007, INVALID)


async def test_activity_signals_need_manual_detection() -> None:
    assert await _close_after([SETUP, {"realtimeInput": {"activityStart": {}}}]) == (1007, INVALID)


def _audio(rate: str) -> dict[str, Any]:
    data = base64.b64encode(bytes(4)).decode()
    return {"realtimeInput": {"audio": {"data": data, "mimeType": f"audio/pcm;rate={rate}"}}}


@pytest.mark.parametrize("rate", ["0", "1", "999", "384001", "16k"])
async def test_an_implausible_audio_rate_is_refused(
    rate: str, autojump_clock: trio.abc.Clock
) -> None:
    # The client's own range (`send_audio`: 1000 to 384000 Hz). At `rate=1` four bytes
    # were 32,000 samples to compute, and a few kilobytes froze every connection.
    assert await _close_after([SETUP, _audio(rate)]) == (1007, INVALID)


@pytest.mark.parametrize("rate", ["1000", "384000"])
async def test_the_audio_rates_the_client_sends_are_taken(
    rate: str, autojump_clock: trio.abc.Clock
) -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(generationConfig={"responseModalities": ["TEXT"]})
        await client.send(_audio(rate))
        await client.send({"realtimeInput": {"text": "still there?"}})
        await client.turn()
    assert emu.connections[0].close_code == 1000


DEEP = 100_000
RESPONSE = b'{"toolResponse": {"functionResponses": [{"id": "x", "name": "f", "response": '


@pytest.mark.parametrize(
    "frame",
    [
        b"[" * DEEP + b"]" * DEEP,
        b'{"a":' * DEEP + b"0" + b"}" * DEEP,
        RESPONSE + b'{"a":' * DEEP + b"0" + b"}" * DEEP + b"}]}}",
    ],
    ids=["arrays", "objects", "in-a-message"],
)
async def test_a_frame_nested_too_deeply_is_refused(
    frame: bytes, caplog: pytest.LogCaptureFixture, autojump_clock: trio.abc.Clock
) -> None:
    # The JSON decoder raised RecursionError, not its DecodeError: the handler crashed
    # with a logged traceback and the client saw 1006.
    async with start() as emu, connect(emu) as client:
        await client.setup()
        await client.ws.send_message(frame)
        code, reason = await client.closed()
    assert (code, reason) == (1007, "Invalid JSON payload received. Too many levels of nesting.")
    assert emu.connections[0].close_code == 1007
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "frames",
    [
        [b'{"setup": {"model": "\xff"}}'],
        [b'{"setup": {"model": "%s"}}' % MODEL.encode(), b'{"realtimeInput": {"text": "\xff"}}'],
    ],
    ids=["in-the-setup", "after-the-setup"],
)
async def test_a_binary_frame_that_is_not_utf8_is_refused(
    frames: list[bytes], caplog: pytest.LogCaptureFixture, autojump_clock: trio.abc.Clock
) -> None:
    # The JSON decoder raised UnicodeDecodeError, not its DecodeError: the handler crashed
    # with a logged traceback and the client saw 1006 (a text frame got 1007).
    async with start() as emu, connect(emu) as client:
        for frame in frames:
            await client.ws.send_message(frame)
        if len(frames) > 1:
            assert await client.recv() == {"setupComplete": {}}
        code, reason = await client.closed()
    assert (code, reason) == (1007, NOT_UTF8)
    conn = emu.connections[0]
    assert (conn.close_code, conn.closed_by, conn.received[-1].raw) == (1007, "server", frames[-1])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_gemini_31_rejects_mid_session_client_content() -> None:
    turn = {
        "clientContent": {
            "turns": [{"role": "user", "parts": [{"text": "hi"}]}],
            "turnComplete": True,
        }
    }
    setup = {"setup": {"model": "models/gemini-3.1-flash-live-preview"}}
    assert await _close_after([setup, turn]) == (1007, INVALID)
    # ... but accepts initial history when historyConfig asks for it.
    async with start() as emu, connect(emu) as client:
        await client.setup(
            model="models/gemini-3.1-flash-live-preview",
            historyConfig={"initialHistoryInClientContent": True},
        )
        await client.send(turn)
        await client.send({"realtimeInput": {"text": "and now?"}})
        messages = await client.turn()
    assert messages[-1]["serverContent"]["turnComplete"]


def _declaring(*names: str) -> list[dict[str, Any]]:
    return [{"functionDeclarations": [{"name": name} for name in names]}]


@pytest.mark.parametrize(
    "name",
    [
        "get weather",  # a space
        "get_weather!",  # punctuation the rule leaves out
        "wetter/abfragen",
        "9lives",  # must start with a letter or an underscore
        "-dash",
        ".dot",
        "",  # the name is required
        "f" * 65,  # at most 64 characters
        "météo",  # a-z only, no accents
    ],
)
async def test_function_names_the_api_refuses(name: str, autojump_clock: trio.abc.Clock) -> None:
    setup = {"setup": {"model": MODEL, "tools": _declaring("ok_name", name)}}
    assert await _close_after([setup]) == (1007, INVALID)


@pytest.mark.parametrize(
    "tools",
    [
        _declaring("get_weather", "get_weather"),  # twice in one tool
        _declaring("get_weather") + _declaring("get_weather"),  # in two tools
    ],
)
async def test_a_function_declared_twice_is_refused(
    tools: list[dict[str, Any]], autojump_clock: trio.abc.Clock
) -> None:
    # The client refuses it before connecting (`check_function_names`); so does the server.
    assert await _close_after([{"setup": {"model": MODEL, "tools": tools}}]) == (1007, INVALID)
    update = {"contextUpdate": {"tools": {"tools": tools}}}
    assert await _close_after([SETUP, update]) == (1007, INVALID)


async def test_function_names_the_api_accepts(autojump_clock: trio.abc.Clock) -> None:
    names = ("get_weather", "_private", "ns.tool:v1-beta", "A" + "b" * 63, "x")
    async with start() as emu, connect(emu) as client:
        assert await client.setup(tools=_declaring(*names)) == {"setupComplete": {}}
        # The same rule for tools declared anew mid-session, and the good ones are taken.
        await client.send({"contextUpdate": {"tools": {"tools": _declaring("later.tool")}}})
        await client.send({"realtimeInput": {"text": "hi"}})
        assert (await client.turn())[-1]["serverContent"]["turnComplete"]


async def test_a_context_update_declaring_a_bad_name_is_refused(
    autojump_clock: trio.abc.Clock,
) -> None:
    update = {"contextUpdate": {"tools": {"tools": _declaring("look up")}}}
    assert await _close_after([SETUP, update]) == (1007, INVALID)


@pytest.mark.parametrize(
    "config",
    [
        {"temperature": -0.1},
        {"temperature": 2.5},
        {"topP": -0.5},
        {"top_p": 1.5},
        {"topK": -1},
        {"maxOutputTokens": -5},
        {"candidate_count": -1},
    ],
)
async def test_generation_config_out_of_range(
    config: dict[str, Any], autojump_clock: trio.abc.Clock
) -> None:
    setup = {"setup": {"model": MODEL, "generationConfig": config}}
    assert await _close_after([setup]) == (1007, INVALID)


async def test_generation_config_in_range(autojump_clock: trio.abc.Clock) -> None:
    edges = [
        {"temperature": 0, "topP": 0, "topK": 0, "maxOutputTokens": 0},
        {"temperature": 2.0, "topP": 1.0, "topK": 64, "maxOutputTokens": 8192, "seed": -7},
        {"presencePenalty": -1.5, "frequencyPenalty": 1.5, "candidateCount": 1},
        {"thinkingConfig": {"thinkingBudget": -1}},
    ]
    for config in edges:
        async with start() as emu, connect(emu) as client:
            reply = await client.setup(generationConfig=config)
            assert reply == {"setupComplete": {}}, config


def test_vertex_ai_knows_no_will_continue_in_a_function_response() -> None:
    # google-genai: will_continue is "only supported in Gemini Developer API".
    response = {"id": "c1", "name": "f", "response": {}, "willContinue": True}
    frame = json.dumps({"toolResponse": {"functionResponses": [response]}})
    parse_client_frame(frame, strict=True)
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(frame, strict=True, vertex=True)
    assert caught.value.reason.startswith(
        'Invalid JSON payload received. Unknown name "willContinue"'
    )
