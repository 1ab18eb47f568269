"""The codec: server frames (text or binary) to Structs, leniently, with typed errors."""

from __future__ import annotations

import base64
import json

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from trio_gemini_live._codec import (
    decode_ordinary,
    decode_server,
    encode_client,
    known_server_keys,
    lenient_b64decode,
)
from trio_gemini_live._errors import GeminiLiveError, RemoteProtocolError
from trio_gemini_live._wire import (
    Blob,
    ClientMessage,
    FunctionResponse,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    ToolResponse,
    UsageMetadata,
)

EXAMPLES = max(10, settings.default.max_examples)

SETUP_COMPLETE = b'{\n  "setupComplete": {}\n}\n'


def audio_frame(data: str, mime: str = "audio/pcm;rate=24000") -> bytes:
    part = {"inlineData": {"mimeType": mime, "data": data}}
    return json.dumps({"serverContent": {"modelTurn": {"parts": [part]}}}).encode()


def first_blob(message: ServerMessage) -> Blob:
    assert message.server_content is not None
    assert message.server_content.model_turn is not None
    blob = message.server_content.model_turn.parts[0].inline_data
    assert blob is not None
    return blob


# --- frame types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [SETUP_COMPLETE, SETUP_COMPLETE.decode(), b'{"setupComplete":{}}', '{"setupComplete":{}}'],
    ids=["binary-pretty", "text-pretty", "binary-compact", "text-compact"],
)
def test_text_and_binary_frames(frame: bytes | str) -> None:
    message = decode_server(frame)
    assert message.setup_complete is not None
    assert message.setup_complete.session_id is None
    assert message.server_content is None


def test_setup_complete_is_present_even_when_empty() -> None:
    assert decode_server(b"{}").setup_complete is None
    assert decode_server(b'{"setupComplete": {}}').setup_complete is not None


def test_encode_client_is_compact_bytes() -> None:
    frame = encode_client(ClientMessage(realtime_input=RealtimeInput(text="hi")))
    assert isinstance(frame, bytes)
    assert frame == b'{"realtimeInput":{"text":"hi"}}'


# --- UTF-8 anywhere -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        '{"toolCall": {"functionCalls": [{"id": "1", "name": "w", '
        '"args": {"city": "Zürich 😀"}}]}}'.encode(),
        b'{"toolCall": {"functionCalls": [{"id": "1", "name": "w", '
        b'"args": {"city": "Z\\u00fcrich \\ud83d\\ude00"}}]}}',
        '{"toolCall": {"functionCalls": [{"id": "1", "name": "w", '
        '"args": {"city": "Zürich 😀"}}]}}',
    ],
    ids=["raw-utf8-bytes", "u-escapes", "text-frame"],
)
def test_utf8_tool_args(frame: bytes | str) -> None:
    message = decode_server(frame)
    assert message.tool_call is not None
    assert message.tool_call.function_calls[0].args == {"city": "Zürich 😀"}


@pytest.mark.parametrize(
    "frame",
    [
        '{"serverContent": {"outputTranscription": {"text": "Grüße 🎉👍🏽"}}}'.encode(),
        b'{"serverContent": {"outputTranscription": {"text": '
        b'"Gr\\u00fc\\u00dfe \\ud83c\\udf89\\ud83d\\udc4d\\ud83c\\udffd"}}}',
    ],
    ids=["raw-utf8", "u-escapes"],
)
def test_utf8_transcripts(frame: bytes) -> None:
    content = decode_server(frame).server_content
    assert content is not None
    assert content.output_transcription is not None
    assert content.output_transcription.text == "Grüße 🎉👍🏽"


def test_utf8_in_keys_of_free_form_objects_and_input_transcription() -> None:
    frame = '{"serverContent": {"inputTranscription": {"text": "日本語", "finished": true}}}'
    content = decode_server(frame.encode()).server_content
    assert content is not None
    assert content.input_transcription is not None
    assert (content.input_transcription.text, content.input_transcription.finished) == (
        "日本語",
        True,
    )


# --- leniency -----------------------------------------------------------------------------------


def test_unknown_fields_are_ignored_at_every_depth() -> None:
    frame = json.dumps(
        {
            "futureTopLevel": {"x": 1},
            "serverContent": {
                "futureFlag": True,
                "modelTurn": {
                    "futureRole": "x",
                    "parts": [{"text": "hi", "futurePart": [1, 2]}],
                },
                "outputTranscription": {"text": "a", "futureConfidence": 0.5},
            },
            "usageMetadata": {"totalTokenCount": 3, "futureCount": 9},
        }
    ).encode()
    message = decode_server(frame)
    assert message.server_content is not None
    assert message.server_content.model_turn is not None
    assert message.server_content.model_turn.parts[0].text == "hi"
    assert message.usage_metadata is not None
    assert message.usage_metadata.total_token_count == 3


def test_absent_booleans_read_as_false() -> None:
    content = decode_server(b'{"serverContent": {}}').server_content
    assert content is not None
    assert (content.turn_complete, content.generation_complete, content.interrupted) == (
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [('"42"', "42"), ("42", 42), ('"9223372036854775807"', "9223372036854775807")],
)
def test_int64_accepted_as_string_or_number(raw: str, expected: int | str) -> None:
    frame = f'{{"sessionResumptionUpdate": {{"lastConsumedClientMessageIndex": {raw}}}}}'
    update = decode_server(frame.encode()).session_resumption_update
    assert update is not None
    assert update.last_consumed_client_message_index == expected


def test_vertex_usage_names_are_accepted() -> None:
    frame = b'{"usageMetadata": {"candidatesTokenCount": 5, "trafficType": "ON_DEMAND"}}'
    usage = decode_server(frame).usage_metadata
    assert usage is not None
    assert (usage.candidates_token_count, usage.traffic_type) == (5, "ON_DEMAND")


# --- base64 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("/9g=", b"\xff\xd8"),  # standard, padded
        ("_9g=", b"\xff\xd8"),  # URL-safe, padded (what the Python SDK sends)
        ("_9g", b"\xff\xd8"),  # URL-safe, unpadded
        ("/9g", b"\xff\xd8"),  # standard, unpadded
        ("-_8=", b"\xfb\xff"),  # URL-safe both special characters
        ("AAECAw", b"\x00\x01\x02\x03"),
        ("", b""),
    ],
)
def test_base64_alphabets_and_padding(data: str, expected: bytes) -> None:
    assert first_blob(decode_server(audio_frame(data))).data == expected


def test_url_safe_audio_in_a_multi_part_turn() -> None:
    frame = json.dumps(
        {
            "serverContent": {
                "modelTurn": {
                    "parts": [
                        {"inlineData": {"mimeType": "audio/pcm", "data": "AAE="}},
                        {"text": "hi", "thoughtSignature": "_-8"},
                        {"inlineData": {"mimeType": "audio/pcm", "data": "-_8"}},
                    ]
                }
            }
        }
    ).encode()
    content = decode_server(frame).server_content
    assert content is not None
    assert content.model_turn is not None
    parts = content.model_turn.parts
    assert parts[0].inline_data is not None
    assert parts[0].inline_data.data == b"\x00\x01"
    assert parts[1].thought_signature == b"\xff\xef"
    assert parts[2].inline_data is not None
    assert parts[2].inline_data.data == b"\xfb\xff"


def test_url_safe_media_of_a_function_response_part() -> None:
    # Only the model turn's own parts were rewritten: this failed the whole frame.
    response = {
        "id": "c1",
        "name": "f",
        "response": {"data": "a-b_"},  # free-form: left as sent
        "parts": [{"inlineData": {"mimeType": "image/jpeg", "data": "_9g"}}],
    }
    frame = json.dumps(
        {"serverContent": {"modelTurn": {"parts": [{"functionResponse": response}]}}}
    ).encode()
    content = decode_server(frame).server_content
    assert content is not None
    assert content.model_turn is not None
    answer = content.model_turn.parts[0].function_response
    assert answer is not None
    assert answer.response == {"data": "a-b_"}
    assert answer.parts is not None
    media = answer.parts[0].inline_data
    assert media is not None
    assert media.data == b"\xff\xd8"


def test_base64_fallback_leaves_free_form_data_keys_alone() -> None:
    # Regression: the URL-safe fallback used to rewrite (or reject) every "data" key,
    # including ones inside functionCall.args and groundingMetadata.
    frame = json.dumps(
        {
            "serverContent": {
                "modelTurn": {
                    "parts": [
                        {"inlineData": {"mimeType": "audio/pcm", "data": "_9g"}},
                        {"functionCall": {"name": "f", "args": {"data": "a-b_"}}},
                        {"functionCall": {"name": "g", "args": {"data": "hello world!"}}},
                    ]
                },
                "groundingMetadata": {"data": "ab"},
            }
        }
    ).encode()
    content = decode_server(frame).server_content
    assert content is not None
    assert content.model_turn is not None
    parts = content.model_turn.parts
    assert parts[0].inline_data is not None
    assert parts[0].inline_data.data == b"\xff\xd8"
    assert parts[1].function_call is not None
    assert parts[1].function_call.args == {"data": "a-b_"}
    assert parts[2].function_call is not None
    assert parts[2].function_call.args == {"data": "hello world!"}
    assert content.grounding_metadata == {"data": "ab"}


@settings(max_examples=EXAMPLES, deadline=None)
@given(payload=st.binary(max_size=64))
def test_every_base64_spelling_decodes_to_the_same_bytes(payload: bytes) -> None:
    standard = base64.b64encode(payload).decode()
    spellings = {
        standard,
        standard.rstrip("="),
        base64.urlsafe_b64encode(payload).decode(),
        base64.urlsafe_b64encode(payload).decode().rstrip("="),
    }
    for spelling in spellings:
        assert first_blob(decode_server(audio_frame(spelling))).data == payload
        assert lenient_b64decode(spelling) == payload


@pytest.mark.parametrize("text", ["!!!!", "A", "AAAAA", "AA=A", "Zm9v YmFy"])
def test_lenient_b64decode_rejects_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="invalid base64"):
        lenient_b64decode(text)


@pytest.mark.parametrize("data", ["!!!!", "A", "ab$d"])
def test_invalid_base64_audio_is_a_remote_protocol_error_with_path(data: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_server(audio_frame(data))
    assert "$.serverContent.modelTurn.parts[0].inlineData.data" in str(info.value)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "path"),
    [
        (b'{"serverContent": {"turnComplete": "yes"}}', "$.serverContent.turnComplete"),
        (
            b'{"serverContent": {"modelTurn": {"parts": [{"text": 5}]}}}',
            "$.serverContent.modelTurn.parts[0].text",
        ),
        (
            b'{"toolCall": {"functionCalls": [{"name": "f", "args": [1, 2]}]}}',
            "$.toolCall.functionCalls[0].args",
        ),
        (b'{"toolCall": {"functionCalls": {}}}', "$.toolCall.functionCalls"),
        (b'{"toolCallCancellation": {"ids": [1]}}', "$.toolCallCancellation.ids[0]"),
        (b'{"goAway": {"timeLeft": 50}}', "$.goAway.timeLeft"),
        (b'{"setupComplete": []}', "$.setupComplete"),
        (b'{"usageMetadata": {"totalTokenCount": "many"}}', "$.usageMetadata.totalTokenCount"),
        (
            b'{"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": 1.5}}',
            "$.sessionResumptionUpdate.lastConsumedClientMessageIndex",
        ),
    ],
)
def test_wrong_types_name_the_json_path(frame: bytes, path: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_server(frame)
    assert f"`{path}`" in str(info.value)
    assert isinstance(info.value, GeminiLiveError)


@pytest.mark.parametrize(
    "frame",
    [b"", b"{", b'{"serverContent": }', b"{'a': 1}", b"\xff\xfe{}", b'{"a": 1} trailing', "{"],
)
def test_invalid_json_is_a_remote_protocol_error(frame: bytes | str) -> None:
    with pytest.raises(RemoteProtocolError, match="not valid JSON"):
        decode_server(frame)


@pytest.mark.parametrize("frame", [b"[]", b'"setupComplete"', b"1", b"null", b"true"])
def test_non_object_is_a_remote_protocol_error(frame: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="Expected `object`"):
        decode_server(frame)


def test_decode_errors_are_not_chained_to_msgspec() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_server(b"[]")
    assert info.value.__cause__ is None
    assert not isinstance(info.value, msgspec.MsgspecError)


# --- unknown top-level keys -------------------------------------------------------------------


def test_known_server_keys() -> None:
    assert known_server_keys() == {
        "setupComplete",
        "serverContent",
        "toolCall",
        "toolCallCancellation",
        "goAway",
        "sessionResumptionUpdate",
        "usageMetadata",
        "voiceActivity",
        "voiceActivityDetectionSignal",
    }


def test_decode_ordinary_sets_unknown_top_level_entries_aside() -> None:
    frame = b'{"serverContent": {}, "brandNew": {"a": [1]}, "other": 2, "usageMetadata": {}}'
    message, unknown = decode_ordinary(frame)
    assert unknown == {"brandNew": {"a": [1]}, "other": 2}
    assert message == ServerMessage(server_content=ServerContent(), usage_metadata=UsageMetadata())
    assert decode_ordinary(SETUP_COMPLETE)[1] is None
    assert decode_ordinary('{"x": "ü"}') == (ServerMessage(), {"x": "ü"})
    # Compact or pretty, audio-sized or not: the key is found wherever it stands.
    big = {"serverContent": {"turnComplete": True}, "pad": "x" * 5000, "z": 1}
    assert decode_ordinary(json.dumps(big).encode())[1] == {"pad": "x" * 5000, "z": 1}
    assert decode_ordinary(json.dumps(big, indent=4).encode())[1] == {"pad": "x" * 5000, "z": 1}


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (b"[1]", "Expected `object`, got `array`"),
        (b"{", "not valid JSON"),
        # A real error beside an unknown key is still reported, with its path.
        (b'{"x": 1, "serverContent": {"turnComplete": "yes"}}', r"\$\.serverContent\.turnComplete"),
        (b'{"serverContent": {"turnComplete": "yes"}, "x": 1}', r"\$\.serverContent\.turnComplete"),
    ],
)
def test_decode_ordinary_errors(frame: bytes, match: str) -> None:
    with pytest.raises(RemoteProtocolError, match=match):
        decode_ordinary(frame)


def test_snake_case_top_level_is_unknown_not_decoded() -> None:
    # The server emits camelCase only; a snake_case key is a different (unknown) message.
    frame = b'{"server_content": {"turnComplete": true}}'
    assert decode_server(frame) == ServerMessage()
    assert decode_ordinary(frame)[1] == {"server_content": {"turnComplete": True}}


def test_encode_then_decode_tool_response_keeps_non_ascii() -> None:
    message = ClientMessage(
        tool_response=ToolResponse(
            function_responses=[FunctionResponse(id="1", name="w", response={"r": "Zürich"})]
        )
    )
    decoded = msgspec.json.decode(encode_client(message), type=ClientMessage)
    assert decoded == message
