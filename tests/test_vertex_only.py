"""Vertex AI only fields are refused before sending to the Gemini API, wherever they come.

And the reverse: the fields only the Gemini API has (google-genai's `_X_to_vertex`
converters refuse them) are refused before sending to Vertex AI.

The server closes the whole session with 1007 'Unknown name' for any of them: in `extra`,
in a `contextUpdate` or in a `clientContent` turn they used to be sent.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from trio_gemini_live import (
    ConfigurationError,
    Content,
    LocalProtocolError,
    Part,
    SafetySetting,
    Setup,
    Tool,
    TurnComplete,
    live_setup,
    url_endpoint,
)
from trio_gemini_live._proto_fields import vertex_only_paths
from trio_gemini_live._session import _prepare_setup  # pyright: ignore[reportPrivateUsage]
from trio_gemini_live._setup_extra import EXTRA_HINT
from trio_gemini_live._wire import (
    FileData,
    GenerationConfig,
    ReplicatedVoiceConfig,
    SpeechConfig,
    VoiceConfig,
    VoiceConsentSignature,
)
from trio_gemini_live.emulator import EmulatorConfig, open_emulator

MODEL = "gemini-live-2.5-flash-preview"
SERVICE = "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
GEMINI = url_endpoint(f"ws://127.0.0.1/ws/{SERVICE}", api_key="k")
VERTEX = url_endpoint(f"ws://127.0.0.1/ws/{SERVICE}", api_key="k", vertex=True)
# Vertex AI's service path, `vertex` not set: known to be Vertex AI's all the same.
VERTEX_SERVICE = url_endpoint(
    "ws://127.0.0.1/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
    api_key="k",
)
FILE = {"fileUri": "gs://b/f.pdf", "mimeType": "application/pdf"}


def _named_file() -> Content:
    named = FileData(file_uri="gs://b/f.pdf", mime_type="application/pdf", display_name="f")
    return Content(role="user", parts=[Part(text="x"), Part(file_data=named)])


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        # EXTRA_HINT's own example: the session died with 1007.
        ({"tools": [{"retrieval": {}}]}, "setup.tools[0].retrieval"),
        ({"tools": [{"exa_ai_search": {}}]}, "setup.tools[0].exaAiSearch"),
        (
            {"systemInstruction": {"parts": [{"fileData": {**FILE, "displayName": "d"}}]}},
            "setup.systemInstruction.parts[0].fileData.displayName",
        ),
        (
            {"system_instruction": {"parts": [{"file_data": {**FILE, "display_name": "d"}}]}},
            "setup.systemInstruction.parts[0].fileData.displayName",
        ),
    ],
)
def test_a_vertex_only_field_in_extra_is_refused_for_the_gemini_api(
    extra: dict[str, Any], path: str
) -> None:
    setup = live_setup(MODEL, resumption=True, extra=extra)
    with pytest.raises(ConfigurationError, match="Vertex AI only") as caught:
        _prepare_setup(setup, GEMINI)
    assert path in str(caught.value)
    _prepare_setup(setup, VERTEX)


def test_a_safety_setting_method_is_refused_for_the_gemini_api() -> None:
    # It was sent; google-genai's `_SafetySetting_to_mldev` refuses it, and the Gemini
    # API's parser would close the session with 1007 'Unknown name "method"'.
    kept = SafetySetting(category="HARM_CATEGORY_HARASSMENT", threshold="BLOCK_NONE")
    setup = Setup(model=MODEL, safety_settings=[kept, SafetySetting(method="SEVERITY")])
    with pytest.raises(ConfigurationError, match="Vertex AI only") as caught:
        _prepare_setup(setup, GEMINI)
    assert "setup.safetySettings[1].method" in str(caught.value)
    sent = _prepare_setup(setup, VERTEX).safety_settings
    assert sent is not None
    assert sent[1].method == "SEVERITY"
    _prepare_setup(Setup(model=MODEL, safety_settings=[kept]), GEMINI)


def test_a_field_both_backends_have_in_extra_is_not_refused() -> None:
    extra = {"tools": [{"googleSearch": {}}], "systemInstruction": {"parts": [{"fileData": FILE}]}}
    _prepare_setup(live_setup(MODEL, extra=extra), GEMINI)


def test_the_extra_hint_says_its_example_is_vertex_only() -> None:
    assert "retrieval" not in EXTRA_HINT or "Vertex AI only" in EXTRA_HINT


def test_vertex_only_paths_reads_structs_and_dicts_alike() -> None:
    as_struct = Setup(model="m", tools=[Tool(retrieval={})])
    as_dict = {"model": "m", "tools": [{"retrieval": {}}, {"googleSearch": {}}]}
    expected = ["setup.tools[0].retrieval"]
    assert vertex_only_paths(as_struct, "setup") == expected
    assert vertex_only_paths(as_dict, "setup", Setup) == expected


async def _refused_and_session_goes_on(action: str) -> None:
    async with open_emulator() as emulator, emulator.open_session(live_setup(MODEL)) as session:
        connection = await emulator.wait_for_connection(1)
        if action == "tools":
            with pytest.raises(ConfigurationError, match=r"contextUpdate\.tools\.tools\[0\]"):
                await session.update_context(tools=[Tool(retrieval={"vertexRagStore": {}})])
        elif action == "instruction":
            with pytest.raises(ConfigurationError, match=r"systemInstruction\.parts\[1\]"):
                await session.update_context(system_instruction=_named_file())
        else:
            with pytest.raises(
                LocalProtocolError,
                match=r"clientContent\.turns\[0\]\.parts\[1\]\.fileData\.displayName",
            ):
                await session.send_client_content(turns=[_named_file()], turn_complete=False)
        await session.send_text("hi")
        async for event in session:
            if isinstance(event, TurnComplete):
                break
        kinds = [next(iter(frame.data)) for frame in connection.received]
        assert "contextUpdate" not in kinds
        assert "clientContent" not in kinds


@pytest.mark.parametrize("action", ["tools", "instruction", "turns"])
async def test_a_vertex_only_field_in_a_message_is_refused_before_sending(
    autojump_clock: trio.testing.MockClock, action: str
) -> None:
    # It was sent; the server closed the session with 1007 'Unknown name'.
    await _refused_and_session_goes_on(action)


def _voice(**fields: Any) -> GenerationConfig:
    voice = VoiceConfig(replicated_voice_config=ReplicatedVoiceConfig(**fields))
    return GenerationConfig(speech_config=SpeechConfig(voice_config=voice))


_VOICE = "setup.generationConfig.speechConfig.voiceConfig.replicatedVoiceConfig"


@pytest.mark.parametrize(
    ("setup", "paths"),
    [
        (Setup(model=MODEL, tools=[Tool(file_search={})]), ["setup.tools[0].fileSearch"]),
        (
            Setup(
                model=MODEL,
                tools=[
                    Tool(google_search={}),
                    Tool(mcp_servers=[{}, {"name": "m", "streamableHttpTransport": {}}]),
                ],
            ),
            [
                "setup.tools[1].mcpServers[1].name",
                "setup.tools[1].mcpServers[1].streamableHttpTransport",
            ],
        ),
        (
            live_setup(
                MODEL, extra={"tools": [{"mcp_servers": [{"streamable_http_transport": {}}]}]}
            ),
            ["setup.tools[0].mcpServers[0].streamable_http_transport"],
        ),
        (live_setup(MODEL, extra={"tools": [{"fileSearch": {}}]}), ["setup.tools[0].fileSearch"]),
        (
            Setup(model=MODEL, generation_config=_voice(consent_audio=b"RIFF")),
            [f"{_VOICE}.consentAudio"],
        ),
        (
            Setup(
                model=MODEL,
                generation_config=_voice(
                    voice_consent_signature=VoiceConsentSignature(signature="s")
                ),
            ),
            [f"{_VOICE}.voiceConsentSignature"],
        ),
    ],
)
def test_a_gemini_only_setup_field_is_refused_for_vertex_ai(setup: Setup, paths: list[str]) -> None:
    # They were sent; google-genai refuses each for Vertex AI ("only supported in Gemini
    # Developer API"), whose parser would close the session with 1007.
    for vertex in (VERTEX, VERTEX_SERVICE):
        with pytest.raises(ConfigurationError, match="Gemini API only") as caught:
            _prepare_setup(setup, vertex)
        assert ", ".join(paths) in str(caught.value)
    _prepare_setup(setup, GEMINI)


def test_what_both_backends_have_is_not_refused_for_vertex_ai() -> None:
    voice = _voice(mime_type="audio/wav", voice_sample_audio=b"RIFF")
    tools = [Tool(mcp_servers=[{}]), Tool(google_search={})]
    _prepare_setup(Setup(model=MODEL, tools=tools, generation_config=voice), VERTEX)


async def test_a_gemini_only_tool_in_update_context_is_refused_for_vertex_ai(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = EmulatorConfig(vertex=True)
    async with (
        open_emulator(config) as emulator,
        emulator.open_session(live_setup(MODEL)) as session,
    ):
        connection = await emulator.wait_for_connection(1)
        with pytest.raises(
            ConfigurationError, match=r"contextUpdate\.tools\.tools\[0\]\.fileSearch"
        ):
            await session.update_context(tools=[Tool(file_search={})])
        await session.send_text("hi")
        async for event in session:
            if isinstance(event, TurnComplete):
                break
        assert "contextUpdate" not in [next(iter(frame.data)) for frame in connection.received]
