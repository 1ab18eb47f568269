"""The one rule for secret URL parameters, shared by redact_url, url_endpoint and the emulator."""

from __future__ import annotations

import pytest

from trio_gemini_live._endpoints import redact_url
from trio_gemini_live._url_parameters import (
    misplaced_secret,
    path_secret,
    redact_path_parameters,
    redact_query,
)
from trio_gemini_live.emulator._routes import redact_path


@pytest.mark.parametrize(
    ("query", "how"),
    [
        ("key=S1&alt=json", None),
        ("q=a%3Db&key", None),
        ("alt=json;key=S1", ";"),
        ("alt=json?key=S1", "?"),
        ("a=1&b=2?access_token=S1", "?"),
        ("key%3DS1", "%"),
        ("alt=json%26key%3DS1", "%"),
        ("alt=json%253Fkey%253DS1", "%"),  # encoded twice
        ("=key=S1", "="),
        ("a=b&c=access_token=S1", "="),
    ],
)
def test_misplaced_secret_names_how_a_secret_is_hidden(query: str, how: str | None) -> None:
    assert misplaced_secret(query) == how
    # Wherever it is, it is hidden.
    assert "S1" not in redact_query(query)


@pytest.mark.parametrize(
    "query",
    ["alt=json?key=S1", "key%3DS1&a=1", "a=1;%6Bey=S1;b=2&c=3", "key=S1?alt=json", "b=2"],
)
def test_the_client_and_the_emulator_redact_a_query_alike(query: str) -> None:
    # Two parsers let a key after a second '?' show in one and not the other.
    assert redact_url(f"ws://h/ws/x?{query}") == f"ws://h{redact_path(f'/ws/x?{query}')}"


@pytest.mark.parametrize(
    ("path", "how"),
    [
        ("/ws/x", None),
        ("/ws/key=S1/x", None),  # a segment's name as written is a name
        ("/ws;key=S1", ";"),
        ("/ws%3Fkey%3DS1", "%"),  # `url + quote("?key=...")`: was not seen
        ("/a;v=1/ws%253Fkey%253DS1", "%"),
        ("/ws;alt=json%3Bkey%3DS1", "%"),
    ],
)
def test_path_secret_names_how_a_secret_is_in_a_path(path: str, how: str | None) -> None:
    assert path_secret(path) == how
    hidden = redact_path_parameters(path)
    assert "S1" not in hidden if how is not None else hidden == path
    assert redact_url(f"ws://h{path}") == f"ws://h{redact_path(path)}"
