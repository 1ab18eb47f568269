"""`SessionOptions` and `ReconnectPolicy` refuse a wrong value at construction, naming it.

Before, a value of the wrong type raised a bare TypeError from a comparison inside
`__post_init__` (`'<=' not supported between instances of 'str' and 'int'`), or was taken
and failed later inside trio (a float buffer size, a NaN timeout, a negative close timeout).
"""

from __future__ import annotations

import math
import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from trio_gemini_live import ConfigurationError, ReconnectPolicy, SessionOptions
from trio_gemini_live._options import TRANSPORTS

WRONG_OPTIONS: list[tuple[str, Any]] = [
    ("connect_timeout", "10"),
    ("setup_timeout", None),
    ("ping_interval", math.nan),
    ("silence_limit", True),
    ("close_timeout", -1),
    ("close_timeout", "1"),
    ("event_buffer", 1.5),
    ("event_buffer", None),
    ("send_buffer", "64"),
    ("max_message_size", 0),
    ("receive_buffer_size", 1024.0),
    ("reconnect", {"max_attempts": 3}),
    ("ssl_context", "verify"),
    ("ca_file", 1),
    ("transport", None),
]


@pytest.mark.parametrize(("name", "value"), WRONG_OPTIONS)
def test_a_wrong_session_option_is_named(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=rf"SessionOptions\.{name}"):
        SessionOptions(**{name: value})


WRONG_POLICIES: list[tuple[str, Any]] = [
    ("enabled", "yes"),
    ("max_attempts", "3"),
    ("max_attempts", 2.5),
    ("max_elapsed", math.nan),
    ("initial_delay", None),
    ("multiplier", 0),
    ("multiplier", math.inf),  # a NaN delay (0 * inf) of an initial_delay of 0
    ("jitter", "0.5"),
    ("replay_limit_bytes", 1e6),
    ("go_away_margin", -1),
    ("stable_after", -1),
    ("handle_window", math.nan),
]


@pytest.mark.parametrize(("name", "value"), WRONG_POLICIES)
def test_a_wrong_reconnect_policy_value_is_named(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=rf"ReconnectPolicy\.{name}"):
        ReconnectPolicy(**{name: value})


def test_usual_values_are_taken(tmp_path: Path) -> None:
    options = SessionOptions(
        connect_timeout=5,  # an int where a float is declared
        close_timeout=0,
        ca_file=str(tmp_path / "ca.pem"),
        reconnect=ReconnectPolicy(enabled=False, max_elapsed=math.inf, jitter=0),
    )
    assert options.connect_timeout == 5
    assert options.reconnect.max_elapsed == math.inf


def test_an_unknown_transport_is_refused_at_construction() -> None:
    # For untyped callers (a config file, say): a type checker refuses the call itself.
    with pytest.raises(ConfigurationError, match=r"transport.*'bogus'.*websockets"):
        SessionOptions(transport="bogus")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_the_transport_is_typed_as_the_values_it_takes() -> None:
    # It was a `str`: a type checker let `transport="websocket"` through to run time.
    hint = typing.get_type_hints(SessionOptions)["transport"]
    assert typing.get_origin(hint) is Literal
    assert sorted(typing.get_args(hint)) == sorted(TRANSPORTS)


@pytest.mark.parametrize("content", [None, b"not a certificate\n"])
def test_an_unusable_ca_file_is_named_when_the_context_is_made(
    tmp_path: Path, content: bytes | None
) -> None:
    # Read at connect (not at construction, so the file may appear later). Before, the
    # OSError itself reached the caller: "[Errno 2] No such file or directory", no name.
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    options = SessionOptions(ca_file=path)
    with pytest.raises(ConfigurationError, match=r"SessionOptions\.ca_file: .*ca\.pem"):
        options.tls_context()


@pytest.mark.parametrize("path", ["a\x00b", "\ud800.pem"])
def test_a_ca_file_no_file_can_have_is_named_too(path: str) -> None:
    # A NUL or a lone surrogate raised a bare ValueError / UnicodeEncodeError at connect.
    with pytest.raises(ConfigurationError, match=r"SessionOptions\.ca_file: cannot load"):
        SessionOptions(ca_file=path).tls_context()


@pytest.mark.parametrize("size", [16 * 1024 * 1024 + 1, 2**63, 10**30])
def test_a_read_size_past_16_mib_is_refused_at_construction(size: int) -> None:
    # Each read allocates it: 2**63 raised a bare OverflowError at connect.
    with pytest.raises(ConfigurationError, match="receive_buffer_size must be at most"):
        SessionOptions(receive_buffer_size=size)
    assert SessionOptions(receive_buffer_size=16 * 1024 * 1024).receive_buffer_size == 2**24
