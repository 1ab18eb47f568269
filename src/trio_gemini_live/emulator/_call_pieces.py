"""A function call's arguments as streamed pieces (`partialArgs`), for `ScenarioToolCall.stream`.

Vertex AI streams a call's arguments with `FunctionCallingConfig.streamFunctionCallArguments`
(seen on `generateContent`: vercel/ai #13929): an opening piece with the name, id and
`willContinue`, pieces of `partialArgs` (a JSON path and one value; a long string split,
each part but its last with the piece's own `willContinue`), and `{}` to end. Where the
Live API would send them is not documented: the emulator sends each piece as a `toolCall`
of its own, where Live sends every other call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, cast

from .._wire import FunctionCallPart, PartialArg

__all__ = ["call_pieces"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_PIECE = 8
"""Characters of a string per piece: short, so that a test sees strings split."""


def call_pieces(call_id: str, name: str, args: dict[str, Any]) -> list[FunctionCallPart]:
    """The pieces of one call: opening, one per value (or part of a string), closing.

    Empty objects and arrays hold no value to stream: the opening piece's `args` carries
    them, in place (an array there holds None for each element with values, which its
    pieces then replace), so that the assembled arguments are `args` exactly.
    """
    skeleton = _skeleton(args)
    pieces = [FunctionCallPart(name=name, id=call_id, args=skeleton or None, will_continue=True)]
    for path, value in _leaves(args, "$"):
        for piece in _values(path, value):
            pieces.append(FunctionCallPart(partial_args=[piece], will_continue=True))
    pieces.append(FunctionCallPart())
    return pieces


def _values(path: str, value: Any) -> list[PartialArg]:
    if isinstance(value, str):
        chunks = [value[i : i + _STRING_PIECE] for i in range(0, len(value), _STRING_PIECE)]
        chunks = chunks or [""]
        return [
            PartialArg(
                json_path=path, string_value=chunk, will_continue=i < len(chunks) - 1 or None
            )
            for i, chunk in enumerate(chunks)
        ]
    if isinstance(value, bool):
        return [PartialArg(json_path=path, bool_value=value)]
    if isinstance(value, int | float):
        return [PartialArg(json_path=path, number_value=value)]
    return [PartialArg(json_path=path, null_value="NULL_VALUE")]


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    """Every (JSON path, scalar) in `value`, in order; empty containers have none."""
    if isinstance(value, dict):
        items = cast("dict[str, Any]", value).items()
        return [pair for key, item in items for pair in _leaves(item, path + _member(key))]
    if isinstance(value, list):
        elements = cast("Iterable[Any]", value)
        return [pair for i, item in enumerate(elements) for pair in _leaves(item, f"{path}[{i}]")]
    return [(path, value)]


def _member(key: str) -> str:
    if _NAME.fullmatch(key):
        return "." + key
    return f"[{json.dumps(key)}]"  # a double-quoted name selector escapes as JSON does


def _skeleton(value: Any) -> Any:
    """`value` with only its empty objects and arrays kept (None when it has none)."""
    if isinstance(value, dict):
        if not value:
            return {}
        kept = {
            key: inner
            for key, item in cast("dict[str, Any]", value).items()
            if (inner := _skeleton(item)) is not None
        }
        return kept or None
    if isinstance(value, list):
        if not value:
            return []
        # None holds the place of an element with values: its pieces replace it.
        places = [_skeleton(item) for item in cast("Iterable[Any]", value)]
        return places if any(item is not None for item in places) else None
    return None
