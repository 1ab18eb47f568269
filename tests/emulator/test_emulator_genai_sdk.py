"""The unmodified google-genai SDK against the emulator: text, audio and a tool round trip.

Mode A (protocol.md section 5.4 A) runs the SDK in a subprocess over TLS configured by
environment variables only; mode B points a client instance at plain ws:// (section 5.4 B).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import google.genai  # noqa: F401  (the `test` extra installs it: missing, these fail, not skip)
import trio

from trio_gemini_live.emulator import (
    EmulatorConfig,
    open_emulator,
    server_ssl_context,
    write_self_signed_cert,
)

SCRIPT = r"""
import asyncio, json, math, struct, sys
from google import genai
from google.genai import types

MODE = sys.argv[1]


def make_client():
    if MODE == "tls":
        return genai.Client(api_key="test-key")  # everything else comes from the environment
    client = genai.Client(api_key="test-key", http_options={"api_version": "v1beta"})
    client._api_client._websocket_base_url = lambda http_options=None: sys.argv[2]
    client._api_client._websocket_ssl_ctx = {}
    return client


def speech():
    tone = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 300 * k / 16000)))
                    for k in range(16000))
    return tone + bytes(32000)


async def main():
    client = make_client()
    out = {}
    async with client.aio.live.connect(
        model="gemini-live-2.5-flash-preview", config={"response_modalities": ["TEXT"]}
    ) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Hello emulator"}]}, turn_complete=True)
        text = ""
        async for message in session.receive():
            if message.text:
                text += message.text
        out["text"] = text

    async with client.aio.live.connect(
        model="gemini-2.5-flash-native-audio-preview-12-2025",
        config={"response_modalities": ["AUDIO"], "input_audio_transcription": {},
                "output_audio_transcription": {}},
    ) as session:
        pcm = speech()
        for i in range(0, len(pcm), 1280):
            await session.send_realtime_input(
                audio=types.Blob(data=pcm[i:i + 1280], mime_type="audio/pcm;rate=16000"))
        audio, said, heard = b"", "", ""
        async for message in session.receive():
            sc = message.server_content
            if sc and sc.model_turn:
                for part in sc.model_turn.parts or []:
                    if part.inline_data:
                        audio += part.inline_data.data
            if sc and sc.output_transcription and sc.output_transcription.text:
                said += sc.output_transcription.text
            if sc and sc.input_transcription and sc.input_transcription.text:
                heard += sc.input_transcription.text
        out["audio_bytes"] = len(audio)
        out["said"] = said
        out["heard"] = heard

    weather = {"function_declarations": [{
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                       "required": ["city"]}}]}
    async with client.aio.live.connect(
        model="gemini-live-2.5-flash-preview",
        config={"response_modalities": ["TEXT"], "tools": [weather]},
    ) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "What is the weather in Paris?"}]})
        calls, text = [], ""
        async for message in session.receive():
            if message.tool_call:
                for fc in message.tool_call.function_calls:
                    calls.append({"id": fc.id, "name": fc.name, "args": fc.args})
                    await session.send_tool_response(function_responses=[types.FunctionResponse(
                        id=fc.id, name=fc.name, response={"result": "sunny, 21C"})])
            sc = message.server_content
            if sc and sc.model_turn:
                text += "".join(p.text or "" for p in sc.model_turn.parts or [])
        out["calls"] = calls
        out["after_tool"] = text
    print("RESULT " + json.dumps(out))


asyncio.run(asyncio.wait_for(main(), 60))
"""


async def _run_sdk(tmp_path: Path, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    script = tmp_path / "sdk_client.py"
    script.write_text(SCRIPT)
    with trio.fail_after(90):
        proc = await trio.run_process(
            [sys.executable, str(script), *args],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    stdout = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    line = next(x for x in stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _check(result: dict[str, Any]) -> None:
    assert result["text"] == "You said: Hello emulator"
    # 1 s of tone at 16 kHz comes back as about 1 s at 24 kHz (48 000 bytes).
    assert 40_000 <= result["audio_bytes"] <= 56_000
    assert result["heard"] == "Hello, can you hear me?"
    assert result["said"] == "Hello, can you hear me?"
    [call] = result["calls"]
    assert call["name"] == "get_weather"
    assert call["args"] == {"city": "Paris"}
    assert call["id"].startswith("function-call-")
    assert result["after_tool"] == 'get_weather returned {"result": "sunny, 21C"}.'


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "GEMINI_"))}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


async def test_genai_over_tls_with_env_vars_only(tmp_path: Path) -> None:
    cert, key = write_self_signed_cert(tmp_path / "tls")
    async with open_emulator(EmulatorConfig(), ssl_context=server_ssl_context(cert, key)) as emu:
        env = _base_env() | {
            "GOOGLE_GEMINI_BASE_URL": emu.http_url,
            "GOOGLE_GENAI_API_VERSION": "v1beta",
            "SSL_CERT_FILE": str(cert),
        }
        result = await _run_sdk(tmp_path, ["tls"], env)
        conns = list(emu.connections)
    _check(result)
    assert len(conns) == 3
    assert all(c.path.startswith("/ws/google.ai.generativelanguage.v1beta.") for c in conns)
    assert all(c.credential_kind == "api-key-header" for c in conns)
    assert all(c.close_code == 1000 for c in conns)


async def test_genai_over_plain_ws(tmp_path: Path) -> None:
    async with open_emulator(EmulatorConfig()) as emu:
        result = await _run_sdk(tmp_path, ["plain", emu.url], _base_env())
        conns = list(emu.connections)
    _check(result)
    # The SDK mixes snake_case and camelCase and sends URL-safe base64; all were accepted.
    received = [f.data for c in conns for f in c.received if f.data]
    assert any("realtime_input" in d for d in received)
    assert any("tool_response" in d for d in received)
    assert all(c.close_code == 1000 for c in conns)
