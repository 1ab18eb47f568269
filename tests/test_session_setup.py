"""The setup a session sends, as `prepare_setup` completes it for its endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trio_gemini_live import (
    Endpoint,
    GenerationConfig,
    Setup,
    live_setup,
    url_endpoint,
    vertex_endpoint,
)
from trio_gemini_live._protocol import LiveProtocol
from trio_gemini_live._session import _prepare_setup  # pyright: ignore[reportPrivateUsage]

SERVICE = "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
GEMINI = url_endpoint(f"ws://127.0.0.1/ws/{SERVICE}", api_key="k")
VERTEX = vertex_endpoint(location="us-central1", project="p", access_token="t")


def _sent(setup: Setup | str, endpoint: Endpoint) -> dict[str, Any]:
    """The `setup` object of the frame a session opening with `setup` sends."""
    return json.loads(LiveProtocol().start(_prepare_setup(setup, endpoint)))["setup"]


@pytest.mark.parametrize(
    "setup",
    [
        "gemini-live-2.5-flash",
        Setup(model="gemini-live-2.5-flash"),
        Setup(model="gemini-live-2.5-flash", generation_config=GenerationConfig(temperature=0.5)),
        live_setup("gemini-live-2.5-flash", modality=None),
    ],
)
def test_vertex_asks_for_audio_answers_when_the_setup_names_no_modality(
    setup: Setup | str,
) -> None:
    # protocol.md 2.1.1 and 5.1: google-genai's Vertex AI path inserts ["AUDIO"] when missing.
    assert _sent(setup, VERTEX)["generationConfig"]["responseModalities"] == ["AUDIO"]


def test_the_gemini_api_is_sent_no_modality_the_setup_does_not_name() -> None:
    assert "generationConfig" not in _sent("gemini-live-2.5-flash", GEMINI)
    assert "generationConfig" not in _sent(live_setup("m", modality=None), GEMINI)


def test_vertex_keeps_a_modality_the_setup_names() -> None:
    sent = _sent(live_setup("gemini-live-2.5-flash", modality="TEXT"), VERTEX)
    assert sent["generationConfig"]["responseModalities"] == ["TEXT"]
    # Named in `extra` counts too: adding AUDIO would send both.
    extra = Setup(
        model="gemini-live-2.5-flash",
        extra={"generationConfig": {"responseModalities": ["TEXT"]}},
    )
    assert _sent(extra, VERTEX)["generationConfig"]["responseModalities"] == ["TEXT"]
