"""`live_setup` and `function_tool`: the convenience builders refuse what the server would."""

from __future__ import annotations

import pytest

from trio_gemini_live import ConfigurationError, function_tool, live_setup

MODEL = "models/gemini-live-2.5-flash-preview"


def test_a_voice_with_text_answers_is_refused_before_connecting() -> None:
    with pytest.raises(ConfigurationError, match=r"voice='Puck'.*'TEXT'"):
        live_setup(MODEL, modality="TEXT", voice="Puck")


def test_text_answers_may_keep_a_language() -> None:
    setup = live_setup(MODEL, modality="TEXT", language="fr-FR")
    assert setup.generation_config is not None
    assert setup.generation_config.response_modalities == ["TEXT"]
    assert setup.generation_config.speech_config is not None
    assert setup.generation_config.speech_config.language_code == "fr-FR"
    assert setup.generation_config.speech_config.voice_config is None


def test_a_voice_with_audio_answers_or_the_server_default_is_kept() -> None:
    for modality in ("AUDIO", None):
        setup = live_setup(MODEL, modality=modality, voice="Puck")
        assert setup.generation_config is not None
        speech = setup.generation_config.speech_config
        assert speech is not None
        assert speech.voice_config is not None


def test_an_unknown_modality_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="modality"):
        live_setup(MODEL, modality="VIDEO")  # type: ignore[arg-type]


def test_a_function_tool_needs_a_name() -> None:
    with pytest.raises(ConfigurationError, match="name"):
        function_tool("")
