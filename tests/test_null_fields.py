"""A proto3 JSON `null` in a server frame reads as the field's default: as if it were absent.

Before, a `null` in a field typed without `None` (`Transcription.finished`, `Content.parts`,
a usage count, ...) made the frame a `RemoteProtocolError` and ended the session with 1007,
where google-genai (and the proto3 JSON mapping) reads it as the field left out.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from protocols import forgotten, opened_protocol
from trio_gemini_live import _audio_fastpath, _text_fastpath, _turn_fastpath, _wire as w
from trio_gemini_live._codec import decode_ordinary, decode_server
from trio_gemini_live._errors import RemoteProtocolError
from trio_gemini_live._events import LiveEvent
from trio_gemini_live._null_fields import drop_null_fields

# (frame with nulls, the same frame without those keys)
PAIRS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"serverContent": {"turnComplete": None}}, {"serverContent": {}}),
    (
        {"serverContent": {"interrupted": None, "turnComplete": True}},
        {"serverContent": {"turnComplete": True}},
    ),
    (
        {"serverContent": {"outputTranscription": {"text": None}}},
        {"serverContent": {"outputTranscription": {}}},
    ),
    (
        {"serverContent": {"outputTranscription": {"text": "hello", "finished": None}}},
        {"serverContent": {"outputTranscription": {"text": "hello"}}},
    ),
    (
        {"serverContent": {"inputTranscription": {"text": "hi", "finished": None}}},
        {"serverContent": {"inputTranscription": {"text": "hi"}}},
    ),
    ({"serverContent": {"modelTurn": {"parts": None}}}, {"serverContent": {"modelTurn": {}}}),
    (
        {
            "serverContent": {
                "modelTurn": {"parts": [{"inlineData": {"data": "AAAA", "mimeType": None}}]}
            }
        },
        {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "AAAA"}}]}}},
    ),
    (
        {"sessionResumptionUpdate": {"resumable": None, "newHandle": None}},
        {"sessionResumptionUpdate": {}},
    ),
    ({"toolCall": {"functionCalls": None}}, {"toolCall": {}}),
    ({"toolCallCancellation": {"ids": None}}, {"toolCallCancellation": {}}),
    (
        {"usageMetadata": {"promptTokenCount": None, "totalTokenCount": 3}},
        {"usageMetadata": {"totalTokenCount": 3}},
    ),
    (
        {"usageMetadata": {"promptTokensDetails": [{"modality": None, "tokenCount": None}]}},
        {"usageMetadata": {"promptTokensDetails": [{}]}},
    ),
    (
        {
            "serverContent": {"turnComplete": True},
            "usageMetadata": {"totalTokenCount": 3, "thoughtsTokenCount": None},
        },
        {"serverContent": {"turnComplete": True}, "usageMetadata": {"totalTokenCount": 3}},
    ),
    (
        {"toolCall": {"functionCalls": [{"name": None, "id": "1", "args": {}}]}},
        {"toolCall": {"functionCalls": [{"id": "1", "args": {}}]}},
    ),
    # Beside a top-level key this library does not know (the slow path sets it aside).
    (
        {"serverContent": {"generationComplete": None, "turnComplete": True}, "future": None},
        {"serverContent": {"turnComplete": True}, "future": None},
    ),
]


def events(frame: bytes) -> list[LiveEvent]:
    return opened_protocol().receive_frame(frame)


@pytest.mark.parametrize(("nulled", "stripped"), PAIRS, ids=lambda pair: json.dumps(pair)[:60])
def test_a_null_field_is_the_field_left_out(
    nulled: dict[str, Any], stripped: dict[str, Any]
) -> None:
    frame, plain = json.dumps(nulled).encode(), json.dumps(stripped).encode()
    assert decode_ordinary(frame) == decode_ordinary(plain)
    assert events(frame) == events(plain)


def test_the_reviewers_transcript_frame_keeps_the_session() -> None:
    frame = b'{"serverContent":{"outputTranscription":{"text":"hello","finished":null}}}'
    (event,) = events(frame)
    assert event.type == "response.audio_transcript.delta"
    assert (getattr(event, "text", None), getattr(event, "finished", None)) == ("hello", False)


def test_nulls_in_free_form_json_are_kept() -> None:
    # A dropped null (`turnComplete`) sends the frame down the slow path, which must not
    # touch the nulls the server's JSON data holds.
    frame = {
        "serverContent": {
            "turnComplete": None,
            "groundingMetadata": {"webSearchQueries": None, "x": [None]},
            "modelTurn": {
                "parts": [
                    {
                        "functionResponse": {
                            "id": "1",
                            "name": "f",
                            "response": {"result": None, "nested": {"a": None}},
                        }
                    }
                ]
            },
        },
        "toolCall": {"functionCalls": [{"name": "g", "id": "2", "args": {"x": None}}]},
    }
    message, _ = decode_ordinary(json.dumps(frame).encode())
    content = message.server_content
    assert content is not None
    assert content.model_turn is not None
    assert content.grounding_metadata == {"webSearchQueries": None, "x": [None]}
    response = content.model_turn.parts[0].function_response
    assert response is not None
    assert response.response == {"result": None, "nested": {"a": None}}
    assert message.tool_call is not None
    assert message.tool_call.function_calls[0].args == {"x": None}


def test_a_null_that_is_a_value_keeps_its_meaning() -> None:
    # `PartialArg.nullValue: null` is the protobuf NullValue (the argument is null), not
    # the field left out: the slow path (taken for `interrupted: null`) keeps it.
    piece = {"jsonPath": "$.x", "nullValue": None}
    frame = json.dumps(
        {
            "serverContent": {"interrupted": None},
            "toolCall": {"functionCalls": [{"id": "1", "name": "f", "partialArgs": [piece]}]},
        }
    ).encode()
    message, _ = decode_ordinary(frame)
    assert message.tool_call is not None
    (arg,) = message.tool_call.function_calls[0].partial_args or []
    assert arg.null_value is None  # (absent, it would be UNSET)
    call = events(frame)[-1]
    assert getattr(call, "arguments", None) == {"x": None}


@pytest.mark.parametrize(
    ("frame", "path"),
    [
        (b'{"serverContent":{"modelTurn":{"parts":[null]}}}', "$.serverContent.modelTurn.parts[0]"),
        (b'{"toolCall":{"functionCalls":[null]}}', "$.toolCall.functionCalls[0]"),
        (b'{"toolCallCancellation":{"ids":["a",null]}}', "$.toolCallCancellation.ids[1]"),
        (
            b'{"usageMetadata":{"promptTokensDetails":[null]}}',
            "$.usageMetadata.promptTokensDetails[0]",
        ),
    ],
)
def test_a_null_item_of_a_list_is_refused_with_its_path(frame: bytes, path: str) -> None:
    # No field's default (google-genai refuses it too): a protocol error naming the item.
    with pytest.raises(RemoteProtocolError, match=re.escape(f"got `null` - at `{path}`")):
        decode_server(frame)


def test_drop_null_fields_only_where_the_struct_refuses_null() -> None:
    raw: dict[str, Any] = {
        "serverContent": {"turnComplete": None, "turnCompleteReason": None, "future": None},
        "goAway": None,
    }
    assert drop_null_fields(raw, w.ServerMessage)
    # `turnCompleteReason` and `goAway` take null (their default); unknown keys are ignored.
    assert raw == {"serverContent": {"turnCompleteReason": None, "future": None}, "goAway": None}
    assert not drop_null_fields(raw, w.ServerMessage)  # nothing left to drop


AUDIO = b"A" * 2048
AUDIO_FRAME = (
    b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":'
    b'{"mimeType":"audio/pcm;rate=24000","data":"' + AUDIO + b'"}}]}}}'
)
TEXT_FRAME = b'{"serverContent":{"outputTranscription":{"text":"hello"}}}'
TURN_END = b'{"serverContent":{"turnComplete":true},"usageMetadata":{"totalTokenCount":3}}'


def test_a_frame_with_nulls_teaches_no_skeleton() -> None:
    fast_paths = (_audio_fastpath.remembered, _text_fastpath.remembered, _turn_fastpath.remembered)
    with forgotten(fast_paths[0]), forgotten(fast_paths[1]), forgotten(fast_paths[2]):
        for frame in (
            AUDIO_FRAME.replace(b'"audio/pcm;rate=24000"', b"null"),
            AUDIO_FRAME.replace(b'"modelTurn"', b'"interrupted":null,"modelTurn"'),
            TEXT_FRAME.replace(b'"hello"', b'"hello","finished":null'),
            TURN_END.replace(b'"totalTokenCount"', b'"promptTokenCount":null,"totalTokenCount"'),
        ):
            decode_server(frame)
        assert all(remembered.skeletons == () for remembered in fast_paths)


@pytest.mark.parametrize(
    ("learned", "nulled", "stripped"),
    [
        (
            AUDIO_FRAME,
            AUDIO_FRAME.replace(b'"audio/pcm;rate=24000"', b"null"),
            AUDIO_FRAME.replace(b'"mimeType":"audio/pcm;rate=24000",', b""),
        ),
        (
            TEXT_FRAME,
            TEXT_FRAME.replace(b'"hello"', b'"hello","finished":null'),
            TEXT_FRAME,
        ),
        (
            TURN_END,
            TURN_END.replace(b"3}", b'3,"promptTokenCount":null}'),
            TURN_END,
        ),
    ],
    ids=["audio", "text", "turn-end"],
)
def test_the_fast_paths_give_a_frame_with_nulls_the_events_of_the_frame_without(
    learned: bytes, nulled: bytes, stripped: bytes
) -> None:
    fast_paths = (_audio_fastpath.remembered, _text_fastpath.remembered, _turn_fastpath.remembered)
    with forgotten(fast_paths[0]), forgotten(fast_paths[1]), forgotten(fast_paths[2]):
        events(learned)  # the fast paths know its skeleton now
        assert any(remembered.skeletons for remembered in fast_paths)
        assert events(nulled) == events(stripped)
        assert events(nulled) == events(stripped)
