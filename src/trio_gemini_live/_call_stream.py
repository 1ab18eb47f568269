"""Streamed function calls: the pieces of a call (`willContinue`, `partialArgs`) made one call.

Vertex AI can stream a call's arguments (`FunctionCallingConfig.streamFunctionCallArguments`;
the Gemini API has no such option). As observed on `generateContent` (vercel/ai #13929):
the first piece names the call (`name`, and `id` where the server gives ids) with
`willContinue: true`; later pieces carry `partialArgs`, each a JSON path and one value, a
string split over several pieces marked by the piece's own `willContinue`; the last piece
has no `willContinue` (often it is `{}`). Later pieces may carry neither name nor id, so
such a piece continues the call opened last.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import msgspec

from . import _events as ev  # pyright: ignore[reportPrivateUsage]
from ._errors import RemoteProtocolError
from ._wire import FunctionCallPart, PartialArg

__all__ = ["CallStreams", "parse_json_path"]

_MAX_INDEX = 4096
"""The largest array index a piece may name: a path such as `$.a[1000000000]` from a broken
server would otherwise make the client build a list of a billion items."""

_Path = tuple[str | int, ...]


class _OpenCall:
    """A call whose last piece has not come yet."""

    __slots__ = ("arguments", "call_id", "continuing", "name", "signature")

    def __init__(self, call_id: str, name: str, signature: bytes | None) -> None:
        self.call_id = call_id
        self.name = name
        self.arguments: dict[str, Any] = {}
        self.signature = signature
        self.continuing: set[_Path] = set()  # paths whose string goes on in the next piece


class CallStreams:
    """The calls of a connection whose arguments are still streaming, by call id.

    `feed` takes every function call the server sends (a `toolCall` entry or a
    `functionCall` part): a plain call, the common case, becomes its `FunctionCall` at
    once; the pieces of a streamed call become `FunctionCallDelta`s, and its last piece
    the `FunctionCall` with the assembled arguments.
    """

    def __init__(self) -> None:
        # Read by `LiveProtocol` before each call: empty (nearly always), a plain call
        # takes its own path without calling `feed`.
        self.open: dict[str, _OpenCall] = {}

    @property
    def open_ids(self) -> tuple[str, ...]:
        """The ids of the calls still streaming ("" for one without an id), oldest first."""
        return tuple(self.open)

    def feed(
        self, call: FunctionCallPart, signature: bytes | None = None
    ) -> tuple[ev.FunctionCallDelta | None, ev.FunctionCall | None]:
        """The events of one function call piece: a delta, the finished call, or both.

        Raises:
            RemoteProtocolError: a `partialArgs` path this client cannot apply (not a
                plain RFC 9535 path of names and indexes, no argument named, an index
                past 4096).
        """
        target = self._find(call) if self.open else None
        if target is None:
            if not call.will_continue and call.partial_args is None:
                return None, ev.FunctionCall(
                    call_id=call.id or "",
                    name=call.name,
                    arguments=call.args or {},
                    thought_signature=signature,
                )
            target = _OpenCall(call.id or "", call.name, signature)
            fresh = True
        else:
            fresh = False
            target.name = target.name or call.name
            if target.signature is None:
                target.signature = signature
        if call.args:
            target.arguments.update(call.args)
        pieces = call.partial_args
        if pieces:
            _apply(target, pieces)
        delta = None
        if fresh or pieces or call.args:
            delta = ev.FunctionCallDelta(
                call_id=target.call_id,
                name=target.name,
                partial_args=tuple(pieces or ()),
                arguments=copy.deepcopy(target.arguments),
            )
        if call.will_continue:
            self.open[target.call_id] = target
            return delta, None
        if self.open.get(target.call_id) is target:
            del self.open[target.call_id]
        done = ev.FunctionCall(
            call_id=target.call_id,
            name=target.name,
            arguments=target.arguments,
            thought_signature=target.signature,
        )
        return delta, done

    def _find(self, call: FunctionCallPart) -> _OpenCall | None:
        """The open call this piece continues, if any."""
        if call.id:
            return self.open.get(call.id)
        if not call.name:
            return self.open[next(reversed(self.open))]  # the call opened last
        same = self.open.get("")
        return same if same is not None and same.name == call.name else None

    def cancel(self, ids: tuple[str, ...]) -> None:
        """Forget the open calls among `ids` (the server cancelled them)."""
        for call_id in ids:
            self.open.pop(call_id, None)

    def abandon(self) -> tuple[str, ...]:
        """Forget every open call (its turn ended, or the connection); return their ids."""
        ids = tuple(self.open)
        self.open.clear()
        return ids


def _apply(target: _OpenCall, pieces: list[PartialArg]) -> None:
    for piece in pieces:
        path = parse_json_path(piece.json_path, target.call_id)
        present, value = _value(piece)
        if present:
            append = isinstance(value, str) and path in target.continuing
            _put(target.arguments, path, value, append=append, call_id=target.call_id)
        if piece.will_continue:
            target.continuing.add(path)
        else:
            target.continuing.discard(path)


def _value(piece: PartialArg) -> tuple[bool, Any]:
    """Whether a piece carries a value, and which (the protobuf oneof `delta`)."""
    if piece.string_value is not None:
        return True, piece.string_value
    if piece.number_value is not None:
        return True, piece.number_value
    if piece.bool_value is not None:
        return True, piece.bool_value
    if piece.null_value is not msgspec.UNSET:
        return True, None
    return False, None


def _put(root: dict[str, Any], path: _Path, value: Any, *, append: bool, call_id: str) -> None:
    """Set `value` at `path` in `root`, making the objects and arrays on the way."""
    node: Any = root
    for step, after in itertools.pairwise(path):
        child = _get(node, step)
        kind: type[Any] = dict if isinstance(after, str) else list
        if not isinstance(child, kind):
            child = kind()
            _set(node, step, child, call_id)
        node = child
    last = path[-1]
    if append:
        before = _get(node, last)
        if isinstance(before, str):
            value = before + value
    _set(node, last, value, call_id)


def _get(node: Any, step: str | int) -> Any:
    if isinstance(step, str):
        return node.get(step)
    return node[step] if step < len(node) else None


def _set(node: Any, step: str | int, value: Any, call_id: str) -> None:
    if isinstance(step, str):
        node[step] = value
        return
    if step > _MAX_INDEX:
        raise RemoteProtocolError(
            f"function call {call_id!r}: a partialArgs index {step} is past {_MAX_INDEX}"
        )
    if step >= len(node):
        node.extend([None] * (step + 1 - len(node)))
    node[step] = value


def parse_json_path(text: str, call_id: str = "") -> _Path:
    """The steps of an RFC 9535 path of names and indexes: `$.a['b c'][0]` is ("a", "b c", 0).

    Only what names one argument: `.name`, `['name']`, `["name"]` and `[index]`; the
    first step must be a name (the arguments are an object).

    Raises:
        RemoteProtocolError: anything else (wildcards, filters, slices, negative indexes),
            naming the path and the call.
    """
    steps: list[str | int] = []
    i, end = 1, len(text)
    try:
        if not text.startswith("$"):
            raise ValueError("it does not start with `$`")
        while i < end:
            char = text[i]
            if char == ".":
                start = i = i + 1
                while i < end and (text[i].isalnum() or text[i] == "_" or ord(text[i]) > 127):
                    i += 1
                if i == start or text[start].isdigit():
                    raise ValueError(f"no member name after `.` at {start}")
                steps.append(text[start:i])
            elif char == "[" and i + 1 < end and text[i + 1] in "'\"":
                name, i = _quoted(text, i + 1)
                if text[i : i + 1] != "]":
                    raise ValueError(f"no `]` at {i}")
                steps.append(name)
                i += 1
            elif char == "[":
                close = text.find("]", i)
                digits = text[i + 1 : close] if close > 0 else ""
                if not digits.isdigit() or not digits.isascii() or digits != str(int(digits)):
                    raise ValueError(f"not a member name or an index at {i}")
                steps.append(int(digits))
                i = close + 1
            else:
                raise ValueError(f"unexpected {char!r} at {i}")
        if not steps or not isinstance(steps[0], str):
            raise ValueError("it names no argument")
    except ValueError as exc:
        shown = repr(text) if len(text) <= 60 else f"{text[:60]!r}... ({len(text)} characters)"
        raise RemoteProtocolError(
            f"function call {call_id!r}: cannot apply partialArgs jsonPath {shown}: {exc}"
        ) from None
    return tuple(steps)


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The name of a quoted selector starting at `start` (its quote) and the index after it."""
    quote = text[start]
    i = start + 1
    while i < len(text) and text[i] != quote:
        i += 2 if text[i] == "\\" else 1
    if i >= len(text):
        raise ValueError(f"unterminated name at {start}")
    body = text[start + 1 : i]
    if quote == "'":
        # JSON has no `\'` and needs `"` escaped: rewrite as a JSON string, then decode.
        body = body.replace("\\'", "'").replace('"', '\\"')
    try:
        name = json.loads(f'"{body}"')
    except json.JSONDecodeError as exc:
        raise ValueError(f"bad escape in the name at {start}: {exc.msg}") from None
    return str(name), i + 1
