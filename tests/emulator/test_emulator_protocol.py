"""Point 2: routes, auth forms, output formatting and input spellings."""

from __future__ import annotations

import base64
import logging
import math
import struct

import msgspec
import pytest
import trio_websocket

from emulator.emulator_client import GEMINI_PATH, MODEL, NATIVE, connect, start
from trio_gemini_live import Content, Part, ServerContent, ServerMessage, Transcription
from trio_gemini_live.emulator import EmulatorConfig, encode_server_message

PATHS = [
    GEMINI_PATH,
    "//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
    "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent",
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained",
    "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
    "//ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent",
]


@pytest.mark.parametrize("path", PATHS)
async def test_every_route_gives_setup_complete(path: str) -> None:
    async with start() as emu, connect(emu, path) as client:
        reply = await client.setup(model="publishers/google/models/gemini-live-2.5-flash-preview")
        conn = await emu.wait_for_connection()
    assert "setupComplete" in reply
    assert client.binary_frames == 1
    assert conn.route is not None
    if "aiplatform" in path:
        assert conn.route.vertex
        assert list(reply["setupComplete"]) == ["sessionId"]
    else:
        assert reply == {"setupComplete": {}}


async def test_unknown_path_is_rejected_at_upgrade() -> None:
    async with start() as emu:
        with pytest.raises(BaseExceptionGroup) as info:
            async with connect(emu, "/ws/nope"):
                pass
        assert info.group_contains(trio_websocket.ConnectionRejected, match="404")
        assert emu.connections == []


# A key with "-" in it: a random Sec-WebSocket-Key (standard base64) can never contain it,
# so finding it in a recorded header is a leak, not a coincidence.
KEY = "canary-k1"
WRONG_KEY = "canary-k2"
AUTH_FORMS = [
    (GEMINI_PATH, [("x-goog-api-key", KEY)], "api-key-header"),
    (GEMINI_PATH + f"?key={KEY}", [], "api-key-query"),
    (GEMINI_PATH, [("Authorization", f"Token {KEY}")], "token"),
    (GEMINI_PATH, [("Authorization", f"Bearer {KEY}")], "bearer"),
    (GEMINI_PATH + f"?access_token={KEY}", [], "access-token-query"),
    # percent-encoded names: read as the credential, they were shown in the path and log
    (GEMINI_PATH + f"?%6Bey={KEY}", [], "api-key-query"),
    (GEMINI_PATH + f"?a=1&access%5Ftoken={KEY}", [], "access-token-query"),
]


@pytest.mark.parametrize(("path", "headers", "kind"), AUTH_FORMS)
async def test_auth_forms(
    path: str, headers: list[tuple[str, str]], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_gemini_live")
    config = EmulatorConfig(api_keys=frozenset({KEY}))
    async with start(config) as emu:
        async with connect(emu, path, headers) as client:
            assert await client.setup() == {"setupComplete": {}}
        conn = emu.connections[0]
        assert conn.credential_kind == kind
        # Secrets never reach the recording, its repr or the log.
        assert KEY not in repr(conn.path) + repr(conn.headers) + repr(config) + repr(conn)
        assert KEY not in caplog.text

        wrong = [(n, v.replace(KEY, WRONG_KEY)) for n, v in headers]
        async with connect(emu, path.replace(KEY, WRONG_KEY), wrong) as client:
            assert await client.closed() == (
                1007,
                "API key not valid. Please pass a valid API key.",
            )


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/ws/x?%6Bey=S1&a=b", "/ws/x?%6Bey=REDACTED&a=b"),
        ("/ws/x?access%5Ftoken=S1", "/ws/x?access%5Ftoken=REDACTED"),
        ("/ws/x?KEY=S1&Access_Token=S1", "/ws/x?KEY=REDACTED&Access_Token=REDACTED"),
        ("/ws/x?key=", "/ws/x?key=REDACTED"),
        ("/ws/x?key&a=1", "/ws/x?key&a=1"),
        # `;` separates parameters too, as for the client's redact_url: the key was shown.
        ("/ws/x?alt=json;key=S1", "/ws/x?alt=json;key=REDACTED"),
        ("/ws/x?a=1;%6Bey=S1;b=2&c=3", "/ws/x?a=1;%6Bey=REDACTED&c=3"),
        # From a secret name to the next `&`: a server splitting on `&` reads the key `S1;S2`.
        ("/ws/x?key=S1;S2&a=1", "/ws/x?key=REDACTED&a=1"),
        ("/ws/x?a=1;key&b=2", "/ws/x?a=1;key&b=2"),
        # A second '?' (`url + "?key=..."` on a URL with a query), or a key percent-encoded
        # in another parameter: the client's redact_url hides them, the emulator logged them.
        ("/ws/x?alt=json?key=S1", "/ws/x?alt=json?key=REDACTED"),
        ("/ws/x?a=1&b=2?access_token=S1&c=3", "/ws/x?a=1&b=2?access_token=REDACTED&c=3"),
        ("/ws/x?key%3DS1&a=1", "/ws/x?REDACTED&a=1"),
        ("/ws/x?alt=json%26key%3DS1", "/ws/x?alt=REDACTED"),
        # A `;` parameter of a path segment (a '?' mistyped as ';') was logged whole.
        ("/ws/x;key=S1", "/ws/x;key=REDACTED"),
        ("/ws;v=1;Access_Token=S1/x;a=2?b=3", "/ws;v=1;Access_Token=REDACTED/x;a=2?b=3"),
        # An absolute-form request target is redacted as a URL.
        ("ws://h/ws/x;key=S1", "ws://h/ws/x;key=REDACTED"),
        ("ws://h/ws/x?alt=json?key=S1", "ws://h/ws/x?alt=json?key=REDACTED"),
    ],
)
def test_redact_path_compares_decoded_names(path: str, shown: str) -> None:
    from trio_gemini_live.emulator._routes import extract_credential, redact_path

    assert redact_path(path) == shown
    # Whatever is read as a credential is hidden.
    credential = extract_credential(path, [])
    if credential is not None:
        assert credential.secret not in redact_path(path)


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("X-Goog-Api-Key", "S1", "REDACTED"),
        ("Authorization", "Bearer S1", "Bearer REDACTED"),
        ("authorization", "S1", "REDACTED"),
        # Only `x-goog-api-key` and `Authorization` were hidden: these were kept whole.
        ("Proxy-Authorization", "Basic S1", "Basic REDACTED"),
        ("Cookie", "SID=S1; other=S1", "REDACTED"),
        ("X-API-Key", "S1", "REDACTED"),
        ("X-Auth-Token", "S1", "REDACTED"),
        # No scheme to keep: a first word with `=` is a piece of the credential.
        ("Authorization", "key=S1 S1", "REDACTED"),
        # A first word shaped like a scheme but none (an API key, an OAuth token) was kept.
        ("Authorization", "AIzaS1 Bearer", "REDACTED"),
        ("Authorization", "ya29.S1-token extra", "REDACTED"),
        ("Authorization", "Token auth_tokens/S1", "Token REDACTED"),
        ("x-goog-api-client", "genai-py/1", "genai-py/1"),
        ("user-agent", "S1-agent", "S1-agent"),
    ],
)
def test_redact_headers_hides_every_credential_header(name: str, value: str, shown: str) -> None:
    from trio_gemini_live.emulator._routes import redact_headers

    assert redact_headers([(name.encode(), value.encode())]) == [(name.lower(), shown)]


async def test_recorded_headers_show_no_credential() -> None:
    headers = [
        ("Proxy-Authorization", f"Basic {KEY}"),
        ("Cookie", f"SID={KEY}"),
        ("X-API-Key", KEY),
    ]
    async with start() as emu, connect(emu, f"{GEMINI_PATH}?key={KEY}", headers) as client:
        assert await client.setup() == {"setupComplete": {}}
        conn = emu.connections[0]
    assert KEY not in repr(conn.headers)
    assert ("proxy-authorization", "Basic REDACTED") in conn.headers
    assert ("cookie", "REDACTED") in conn.headers


async def test_a_key_after_a_semicolon_is_neither_recorded_nor_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The client's redact_url takes `;` for a separator; the emulator split on `&` only, so
    # `EmulatorConnection.path` and its INFO log line showed `?alt=json;key=...` whole.
    caplog.set_level(logging.DEBUG, logger="trio_gemini_live")
    async with start() as emu:
        async with connect(emu, f"{GEMINI_PATH}?alt=json;key={KEY}") as client:
            assert await client.setup() == {"setupComplete": {}}
        conn = emu.connections[0]
    assert conn.path == f"{GEMINI_PATH}?alt=json;key=REDACTED"
    assert f"connection 1: {conn.path}" in caplog.text
    assert KEY not in caplog.text + repr(conn)


async def test_missing_credential_is_refused_unless_allowed() -> None:
    async with start() as emu, connect(emu, headers=[]) as client:
        code, reason = await client.closed()
    assert code == 1008
    assert reason.startswith("Method doesn't allow unregistered callers")
    async with start(EmulatorConfig(require_auth=False)) as emu, connect(emu, headers=[]) as client:
        assert await client.setup() == {"setupComplete": {}}


async def test_replies_are_pretty_printed_binary_camel_case() -> None:
    async with start() as emu, connect(emu) as client:
        await client.setup(generationConfig={"responseModalities": ["TEXT"]})
        await client.send({"realtimeInput": {"text": "Are you there?"}})
        messages = await client.turn()
        conn = emu.connections[0]
        sent = list(conn.sent)
    assert client.binary_frames == len(messages) + 1
    assert sent[0].raw == b'{\n  "setupComplete": {}\n}\n'
    for frame in sent:
        assert frame.binary
        assert frame.raw == msgspec.json.format(msgspec.json.encode(frame.data), indent=2) + b"\n"
        # false / empty values are omitted: no `false`, `""` or `[]` anywhere.
        assert b"false" not in frame.raw
        assert b'""' not in frame.raw
        assert b"[]" not in frame.raw
        assert b"_" not in b"".join(k.encode() for k in frame.data or {})
    assert messages[-2] == {"serverContent": {"generationComplete": True}}


def _tone(ms: int, rate: int = 16000) -> bytes:
    n = rate * ms // 1000
    return b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * k / rate))) for k in range(n)
    )


async def test_snake_case_at_every_depth_and_urlsafe_base64() -> None:
    async with start() as emu, connect(emu) as client:
        reply = await client.setup(
            model=NATIVE,
            generation_config={
                "response_modalities": ["AUDIO"],
                "speech_config": {
                    "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}
                },
            },
            realtime_input_config={"automatic_activity_detection": {"silence_duration_ms": 200}},
            context_window_compression={
                "trigger_tokens": "25600",
                "sliding_window": {"targetTokens": 12800},
            },
            input_audio_transcription={},
        )
        assert reply == {"setupComplete": {}}
        pcm = _tone(400) + bytes(16000)
        data = base64.urlsafe_b64encode(pcm).decode().rstrip("=")
        await client.send(
            {"realtime_input": {"audio": {"data": data, "mime_type": "audio/pcm;rate=16000"}}}
        )
        messages = await client.turn()
        setup = emu.connections[0].setup
    assert setup is not None
    assert setup.context_window_compression is not None
    assert setup.context_window_compression.trigger_tokens == 25600
    assert any("inputTranscription" in m.get("serverContent", {}) for m in messages)


async def test_int64_is_a_string_and_transparent_index() -> None:
    async with start(EmulatorConfig(vertex=True)) as emu, connect(emu) as client:
        await client.setup(
            model="projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-preview",
            generationConfig={"responseModalities": ["TEXT"]},
            sessionResumption={"transparent": True},
        )
        first = await client.recv()
        await client.send({"realtimeInput": {"text": "hi"}})
        messages = await client.turn()
        messages += [await client.recv()]
    update = first["sessionResumptionUpdate"]
    assert update["lastConsumedClientMessageIndex"] == "0"
    assert update["resumable"] is True
    assert messages[-1]["sessionResumptionUpdate"]["lastConsumedClientMessageIndex"] == "1"
    # Vertex dialect: role on model turns, candidates* usage names.
    # While generating the update is not resumable: only the index is left.
    assert messages[0] == {"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": "1"}}
    assert messages[1]["serverContent"]["modelTurn"]["role"] == "model"
    usage = next(m["usageMetadata"] for m in messages if "usageMetadata" in m)
    assert "candidatesTokenCount" in usage


async def test_model_names_accepted_in_every_form() -> None:
    names = [
        MODEL,
        "gemini-live-2.5-flash-preview",
        "publishers/google/models/gemini-3.1-flash-live-preview",
        "projects/x/locations/global/publishers/google/models/gemini-2.0-flash-live-001",
    ]
    async with start() as emu:
        for name in names:
            async with connect(emu) as client:
                assert await client.setup(model=name) == {"setupComplete": {}}


@pytest.mark.parametrize("vertex", [False, True])
async def test_usage_keys_come_in_proto_field_number_order(vertex: bool) -> None:
    """Google writes a message's fields in field-number order, not declaration order: the
    recorded `toolCall` has `name` (1), `args` (2), `id` (3) where the proto declares `id`
    first. Vertex's UsageMetadata numbers `candidatesTokenCount` 2 and its details 11."""
    response = "candidates" if vertex else "response"
    async with start(EmulatorConfig(vertex=vertex)) as emu, connect(emu) as client:
        await client.setup(generationConfig={"responseModalities": ["TEXT"]})
        await client.send({"realtimeInput": {"text": "hi"}})
        messages = await client.turn()
    assert list(messages[-1]) == ["serverContent", "usageMetadata"]
    assert list(messages[-1]["usageMetadata"]) == [
        "promptTokenCount",
        f"{response}TokenCount",
        "totalTokenCount",
        "promptTokensDetails",
        f"{response}TokensDetails",
    ]


def test_server_content_keys_come_in_proto_field_number_order() -> None:
    """BidiGenerateContentServerContent numbers `turnComplete` 2, `interrupted` 3,
    `groundingMetadata` 4 and `generationComplete` 5: frames sent by hand (`conn.send`)
    carrying several of them list them in that order, as Google would."""
    content = ServerContent(
        model_turn=Content(parts=[Part(text="a")]),
        generation_complete=True,
        turn_complete=True,
        interrupted=True,
        grounding_metadata={"webSearchQueries": ["q"]},
        input_transcription=Transcription(text="i"),
        output_transcription=Transcription(text="o"),
        url_context_metadata={"urlMetadata": []},
        waiting_for_input=True,
    )
    raw = encode_server_message(ServerMessage(server_content=content))
    assert list(msgspec.json.decode(raw)["serverContent"]) == [
        "modelTurn",
        "turnComplete",
        "interrupted",
        "groundingMetadata",
        "generationComplete",
        "inputTranscription",
        "outputTranscription",
        "urlContextMetadata",
        "waitingForInput",
    ]


async def test_vertex_model_turns_put_role_before_parts() -> None:
    """Vertex's `Content` numbers `role` 1 and `parts` 2 (the Gemini API's the reverse), and
    its recorded frames read `"modelTurn": {"role": "model", "parts": [...]}`."""
    async with start(EmulatorConfig(vertex=True)) as emu, connect(emu) as client:
        await client.setup(generationConfig={"responseModalities": ["TEXT"]})
        await client.send({"realtimeInput": {"text": "hi"}})
        messages = await client.turn()
        conn = emu.connections[0]
    turns = [
        m["serverContent"]["modelTurn"]
        for m in messages
        if "modelTurn" in m.get("serverContent", {})
    ]
    assert turns
    assert all(list(turn) == ["role", "parts"] for turn in turns)
    raw = next(f.raw for f in conn.sent if f.get("serverContent.modelTurn"))
    assert raw.startswith(b'{\n  "serverContent": {\n    "modelTurn": {\n      "role": "model",\n')
    assert raw == msgspec.json.format(raw, indent=2) + b"\n"
