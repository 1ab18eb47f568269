"""How the validator reads `null`, and that its close reasons are always Google's words.

Proto3 JSON reads `null` on a field as the field's default (as if it were not sent), but
refuses it as an item of a list; a refusal names the field by its snake_case path, never in
msgspec's words (``Expected `str`, got `bool` - at `$.setup.model` ``).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, strategies as st

from emulator.emulator_client import MODEL, connect, start
from trio_gemini_live._wire import ClientMessage
from trio_gemini_live.emulator._json_errors import LONE_SURROGATE, google_wording
from trio_gemini_live.emulator._validate import ClientFrameError, parse_client_frame

_NULL_ITEM = "null is not allowed as an element of a repeated field."


def _reason(frame: dict[str, Any] | str, *, vertex: bool = False) -> str:
    raw = frame if isinstance(frame, str) else json.dumps(frame)
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(raw, strict=True, vertex=vertex)
    assert caught.value.code == 1007
    return caught.value.reason


@pytest.mark.parametrize(
    ("frame", "path"),
    [
        ({"setup": {"model": MODEL, "tools": [None]}}, "setup.tools[0]"),
        (
            {
                "setup": {
                    "model": MODEL,
                    "generationConfig": {"responseModalities": ["AUDIO", None]},
                }
            },
            "setup.generation_config.response_modalities[1]",
        ),
        (
            {"setup": {"model": MODEL, "inputAudioTranscription": {"languageCodes": [None]}}},
            "setup.input_audio_transcription.language_codes[0]",
        ),
        ({"clientContent": {"turns": [{"parts": [None]}]}}, "client_content.turns[0].parts[0]"),
        ({"clientContent": {"turns": [None]}}, "client_content.turns[0]"),
        ({"realtimeInput": {"mediaChunks": [None]}}, "realtime_input.media_chunks[0]"),
        ({"toolResponse": {"functionResponses": [None]}}, "tool_response.function_responses[0]"),
    ],
)
def test_null_in_a_list_is_refused_naming_the_item(frame: dict[str, Any], path: str) -> None:
    assert (
        _reason(frame) == f"Invalid JSON payload received. Invalid value at '{path}': {_NULL_ITEM}"
    )


@pytest.mark.parametrize(
    ("frame", "without_nulls"),
    [
        ({"realtimeInput": {"text": None, "audioStreamEnd": None}}, {"realtimeInput": {}}),
        (
            {"realtimeInput": {"audio": {"data": None, "mimeType": "audio/pcm"}}},
            {"realtimeInput": {"audio": {"mimeType": "audio/pcm"}}},
        ),
        ({"clientContent": {"turns": None, "turnComplete": None}}, {"clientContent": {}}),
        ({"setup": {"model": None}}, {"setup": {}}),
        (
            {"setup": {"model": MODEL, "tools": None, "generationConfig": {"stopSequences": None}}},
            {"setup": {"model": MODEL, "generationConfig": {}}},
        ),
    ],
)
def test_null_on_a_field_is_its_default(
    frame: dict[str, Any], without_nulls: dict[str, Any]
) -> None:
    as_sent, message = parse_client_frame(json.dumps(frame), strict=True)
    assert as_sent == frame
    assert message == msgspec.convert(without_nulls, ClientMessage)


def test_null_is_a_null_values_value() -> None:
    # `google.protobuf.NullValue`: null is its one value, not unset.
    piece = {"jsonPath": "$.a", "nullValue": None}
    call = {"name": "f", "partialArgs": [piece]}
    frame = {"clientContent": {"turns": [{"role": "model", "parts": [{"functionCall": call}]}]}}
    _, message = parse_client_frame(json.dumps(frame), strict=True, vertex=True)
    assert message.client_content is not None
    [turn] = message.client_content.turns or []
    assert turn.parts[0].function_call is not None
    [arg] = turn.parts[0].function_call.partial_args or []
    assert arg.null_value is None


async def test_a_null_model_is_refused_as_an_empty_one_is() -> None:
    closes = []
    for model in (None, ""):
        async with start() as emu, connect(emu) as client:
            await client.send({"setup": {"model": model}})
            closes.append(await client.closed())
    assert closes[0] == closes[1]
    assert closes[0][0] == 1008
    assert closes[0][1].startswith("models/ is not found for API version v1beta")


def test_a_lone_surrogate_escape_is_named_not_called_truncated() -> None:
    for escape in ("\\ud800", "\\udc00", "\\ud800x", "\\ud800\\u0041"):
        raw = '{"realtimeInput": {"text": "' + escape + '"}}'
        assert _reason(raw) == LONE_SURROGATE
        assert parse_client_frame(raw.replace(escape, "\\ud800\\udc00"), strict=True)
    # A syntax error is still msgspec's own reading of it.
    assert _reason('{"realtimeInput": ').startswith("Invalid JSON payload received. Input")


def test_a_refusal_msgspec_makes_is_put_in_google_s_words() -> None:
    # The checks refuse all of these first; msgspec's errors are read as a backstop.
    cases = {
        "Expected `str`, got `bool` - at `$.setup.realtimeInputConfig.activityHandling`": (
            "Invalid value at 'setup.realtime_input_config.activity_handling': expected a string."
        ),
        "Expected `object | null`, got `array` - at `$.clientContent.turns[0].parts[1]`": (
            "Invalid value at 'client_content.turns[0].parts[1]': expected an object."
        ),
        "Expected `str`, got `int`": "Invalid value: expected a string.",
        "Object missing required field `x` - at `$.setup`": "Invalid value at 'setup'.",
    }
    for text, words in cases.items():
        assert google_wording(msgspec.ValidationError(text)) == (
            f"Invalid JSON payload received. {words}"
        )


_TEMPLATE: dict[str, Any] = {
    "setup": {
        "model": MODEL,
        "generationConfig": {
            "responseModalities": ["TEXT"],
            "temperature": 0.5,
            "thinkingConfig": {"thinkingBudget": 10, "thinkingLevel": "LOW"},
            "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}},
        },
        "systemInstruction": {"parts": [{"text": "hi", "inlineData": None}]},
        "tools": [
            {"functionDeclarations": [{"name": "f", "behavior": "BLOCKING", "parameters": {}}]},
            {"googleSearch": {}},
        ],
        "realtimeInputConfig": {
            "automaticActivityDetection": {"disabled": False, "silenceDurationMs": 5},
            "activityHandling": "NO_INTERRUPTION",
        },
        "sessionResumption": {"handle": "h"},
        "contextWindowCompression": {"triggerTokens": 5, "slidingWindow": {"targetTokens": 1}},
        "inputAudioTranscription": {"languageCodes": ["en"]},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}],
        "labels": {"a": "b"},
    }
}
_LEAF_TEMPLATES: list[dict[str, Any]] = [
    _TEMPLATE,
    {
        "clientContent": {
            "turns": [
                {"role": "user", "parts": [{"text": "a"}, {"inlineData": {"data": "AA=="}}]},
            ],
            "turnComplete": True,
        }
    },
    {"realtimeInput": {"audio": {"data": "AAA=", "mimeType": "audio/pcm"}, "mediaChunks": []}},
    {"toolResponse": {"functionResponses": [{"id": "a", "name": "f", "scheduling": "SILENT"}]}},
]


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every value's place in a frame, containers and leaves alike."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _places(value, (*path, index))
    return found


def _replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    copy = json.loads(json.dumps(node))
    copy[head] = _replaced(node[head], tuple(rest), value)
    return copy


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


@given(data=st.data(), value=_JSON, vertex=st.booleans())
def test_no_close_reason_is_in_msgspec_s_words(
    data: st.DataObject, value: Any, vertex: bool
) -> None:
    frame = data.draw(st.sampled_from(_LEAF_TEMPLATES))
    place = data.draw(st.sampled_from(_places(frame)))
    reason = ""
    try:
        parse_client_frame(json.dumps(_replaced(frame, place, value)), strict=True, vertex=vertex)
    except ClientFrameError as err:
        reason = err.reason
    assert "Expected `" not in reason
    assert "`$." not in reason
