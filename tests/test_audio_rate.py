"""The process-wide cache of MIME types' sample rates holds only short MIME types."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from trio_gemini_live._audio_rate import audio_rate, audio_rates


@pytest.fixture
def empty_cache() -> Iterator[None]:
    saved = dict(audio_rates)
    audio_rates.clear()
    try:
        yield
    finally:
        audio_rates.clear()
        audio_rates.update(saved)


@pytest.mark.usefixtures("empty_cache")
def test_a_real_mime_type_is_cached() -> None:
    assert audio_rate("audio/pcm;rate=24000") == 24000
    assert audio_rates == {"audio/pcm;rate=24000": 24000}


@pytest.mark.usefixtures("empty_cache")
def test_a_long_mime_type_is_read_but_not_cached() -> None:
    # The cache lives as long as the process: 64 MIME types of a megabyte from a broken
    # server kept 64 MB after its session ended.
    padded = "audio/pcm;rate=16000;p=" + "a" * 1_000_000
    assert audio_rate(padded) == 16000
    assert audio_rate("image/x;p=" + "a" * 1_000_000) == 0
    assert audio_rates == {}
    assert audio_rate("image/png") == 0
    assert audio_rates == {"image/png": 0}
    assert audio_rate("audio/pcm;rate=24000;channels=1") == 24000
    assert "audio/pcm;rate=24000;channels=1" in audio_rates


@pytest.mark.usefixtures("empty_cache")
def test_audio_of_an_unreadable_rate_is_no_audio_and_is_warned_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # It was audio at 24 kHz: a server's `rate=16k` made 16 kHz audio play at 1.5x speed.
    caplog.set_level(logging.DEBUG, logger="trio_gemini_live.session")
    for _ in range(3):
        assert audio_rate("audio/pcm;rate=16k") == 0
    assert audio_rates == {"audio/pcm;rate=16k": 0}
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warned] == [
        "audio of MIME type 'audio/pcm;rate=16k' states no readable sample rate: "
        "given as InlineData"
    ]
    caplog.clear()
    # Not cached, so read on every frame: no warning per frame.
    assert audio_rate("audio/pcm;rate=16k;p=" + "a" * 200) == 0
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert audio_rate("audio/mpeg;rate=x") == 0  # no audio of ours: nothing to say
    assert len(caplog.records) == 1
