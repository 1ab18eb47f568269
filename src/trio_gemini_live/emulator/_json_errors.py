"""Close reasons for what msgspec refuses, in the words of Google's parser, never msgspec's.

The validator (`_validate`) reads frames with msgspec; where msgspec's own error would reach a
close reason untrue (a lone surrogate escape called "truncated") or in its own wording
(``Expected `str`, got `bool` - at `$.setup.model` ``), these give Google-style text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

__all__ = ["LONE_SURROGATE", "google_wording", "lone_surrogate"]

_PREFIX = "Invalid JSON payload received."

LONE_SURROGATE = (
    f"{_PREFIX} Encountered a lone UTF-16 surrogate: a \\u escape in "
    "D800-DFFF not in a high-low pair."
)
"""A `\\ud800` with no low surrogate after it (or a low one alone): valid JSON syntax but no
text. Google's wording for it is not documented; msgspec's ("Input data was truncated")
was untrue."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def lone_surrogate(raw: str | bytes) -> bool:
    r"""Whether `raw`, which msgspec refused, is JSON but for a lone surrogate escape.

    Python's parser takes `"\ud800"` (msgspec does not), and such a string is no text: it
    cannot be encoded. (Its `NaN`, which msgspec rightly refuses, is refused here too.)
    """
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):
        return False
    return False


_MSGSPEC_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MSGSPEC_EXPECTED = re.compile(r"^Expected `(?P<types>[^`]+)`")
_MSGSPEC_TYPES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a bool",
    "object": "an object",
    "array": "a list",
    "bytes": "base64 data",
}


def google_wording(exc: msgspec.ValidationError) -> str:
    """A msgspec refusal the validator's checks missed, in Google's words and snake_case path.

    A backstop: the checks are meant to refuse everything msgspec would, but a close reason
    must never read like msgspec's (``Expected `str`, got `bool` - at `$.setup.model` ``).
    """
    text = str(exc)
    located = _MSGSPEC_PATH.search(text)
    path = ""
    if located is not None:
        # Its steps are names and `[index]` (a map's key shows as `[...]`): never a dot.
        keys = located.group("path").split(".")
        path = ".".join(_snake(key) for key in keys if key)
    expected = _MSGSPEC_EXPECTED.match(text)
    where = f" at '{path}'" if path else ""
    if expected is None:
        return f"{_PREFIX} Invalid value{where}."
    kinds = [_MSGSPEC_TYPES[k] for k in expected.group("types").split(" | ") if k in _MSGSPEC_TYPES]
    return f"{_PREFIX} Invalid value{where}: expected {' or '.join(kinds) or 'another value'}."


def _snake(key: str) -> str:
    """A msgspec path step (`realtimeInputConfig`, `turns[0]`) as Google names it."""
    return re.sub(r"[A-Z]", lambda upper: "_" + upper.group().lower(), key)
