"""Streamed function calls: the pieces of a call (`willContinue`, `partialArgs`) made one call.

Vertex AI can stream a call's arguments (`FunctionCallingConfig.streamFunctionCallArguments`;
the Gemini API has no such option). As observed on `generateContent` (vercel/ai #13929):
the first piece names the call (`name`, and `id` where the server gives ids) with
`willContinue: true`; later pieces carry `partialArgs`, each a JSON path and one value, a
string split over several pieces marked by the piece's own `willContinue`; the last piece
has no `willContinue` (often it is `{}`).

Which open call a piece continues (docs/events.md, "Streamed function calls"):

- with an id: the open call of that id, else it opens a call of its own;
- a whole call (a name, no `willContinue`, no `partialArgs`) continues none: it is a call;
- with a name but no id: the call of that name opened last, unless it has the shape of a
  first piece (`willContinue`, no `partialArgs`, no `args`), which opens a call beside it;
- with neither: the call opened last.

A piece that continues no open call and has no name (the rest of a cancelled or
incomplete call, a piece naming an unknown id) is dropped: a call without a name is never
made, since nothing could answer it.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterable
from typing import Any, cast

import msgspec

from . import _events as ev  # pyright: ignore[reportPrivateUsage]
from ._errors import RemoteProtocolError, excerpt
from ._wire import FunctionCallPart, PartialArg

__all__ = ["CallStreams", "parse_json_path"]

_MAX_INDEX = 4096
"""The largest array index a piece may name: a path such as `$.a[1000000000]` from a broken
server would otherwise make the client build a list of a billion items."""
_MAX_DEPTH = 64
"""The most steps a `partialArgs` path may have: deeper arguments would be nested past what
a JSON encoder or a `repr` walks without overflowing the stack."""
_MAX_ITEMS = 65_536
"""The most array items the indexes of one call's pieces may create in all: each index may
pad its array up to `_MAX_INDEX`, so a few KB of paths could otherwise take gigabytes."""
_MAX_PADDING = 65_536
"""The most array items that the indexes of all the calls of a connection may create with
no piece setting them (`$.a[4095]` first makes 4095 such): bounded per call only, a few KB
of frames made as many calls of `_MAX_ITEMS` items, held by the events the application has
yet to read. A server streaming an array in order pads none, and one out of order gets each
item back when a later piece sets it."""
_MAX_OPEN = 128
"""The most calls that may be streaming at once on a connection."""
_ENDED_KEPT = 256
"""How many ids of calls ended before their last piece a `CallStreams` remembers."""

_Path = tuple[str | int, ...]

_log = logging.getLogger("trio_gemini_live.session")


class _NoId:
    """The key of one open call that came without an id: each such call is a key of its own."""

    __slots__ = ()


class _Padding:
    """An array item an index created that no piece has set yet (`None` once its call ends).

    Not `None`: a piece may set an item to null, and only padding counts to `_MAX_PADDING`.
    """

    __slots__ = ()


_PAD = _Padding()


class _OpenCall:
    """A call whose last piece has not come yet."""

    __slots__ = (
        "arguments",
        "call_id",
        "continuing",
        "items",
        "name",
        "padded",
        "signature",
        "streams",
    )

    def __init__(
        self, call_id: str, name: str, signature: bytes | None, streams: CallStreams
    ) -> None:
        self.streams = streams  # whose `padding` counts this call's too
        self.call_id = call_id
        self.name = name
        self.arguments: dict[str, Any] = {}
        self.signature = signature
        # Paths whose string goes on in a later piece, with its parts so far: joined once
        # when it ends, since adding each part to the string would cost n^2 in its length.
        self.continuing: dict[_Path, list[str]] = {}
        self.items = 0  # array items its pieces' indexes created (bounded by `_MAX_ITEMS`)
        self.padded = 0  # of them, those no piece has set yet (`_PAD`)


class CallStreams:
    """The calls of a connection whose arguments are still streaming, oldest first.

    `feed` takes every function call the server sends (a `toolCall` entry or a
    `functionCall` part): a plain call, the common case, becomes its `FunctionCall` at
    once; the pieces of a streamed call become `FunctionCallDelta`s, and its last piece
    the `FunctionCall` with the assembled arguments.
    """

    def __init__(self) -> None:
        # Read by `LiveProtocol` before each call: empty (nearly always), a plain call
        # takes its own path without calling `feed`. Keyed by id, or by a `_NoId` for each
        # call that came without one (two of them may stream at once).
        self.open: dict[str | _NoId, _OpenCall] = {}
        # Ids of calls cancelled or abandoned before their last piece, newest last: the
        # rest of their pieces is dropped, not taken for a new call.
        self._ended: dict[str, None] = {}
        # Array items the indexes of this connection's calls created with no piece setting
        # them (bounded by `_MAX_PADDING`).
        self.padding = 0
        # Whether a dropped piece was warned of on this connection: the rest are logged at
        # DEBUG level, or a server could make a warning of every piece it sends.
        self._warned_drop = False

    @property
    def open_ids(self) -> tuple[str, ...]:
        """The ids of the calls still streaming ("" for one without an id), oldest first."""
        return tuple(target.call_id for target in self.open.values())

    def feed(
        self, call: FunctionCallPart, signature: bytes | None = None
    ) -> tuple[ev.FunctionCallDelta | None, ev.FunctionCall | None]:
        """The events of one function call piece: a delta, the finished call, both or neither.

        Neither for a piece dropped because it continues no open call and has no name
        (see the module's rules), or continues a call that ended before its last piece.

        Raises:
            RemoteProtocolError: a `partialArgs` path this client cannot apply (not a
                plain RFC 9535 path of names and indexes, no argument named, an index
                past 4096, more than 64 steps), indexes that would create more than
                65536 array items in one call or more than 65536 that no piece has set on
                the connection, pieces that conflict (a path through a value
                an earlier piece made of another kind, a value replacing an object or
                array, a value other than a string for a string said to go on, a piece
                with two values), or more than 128 calls streaming at once.
        """
        whole = not call.will_continue and call.partial_args is None
        target = self._find(call, whole) if self.open else None
        fresh = target is None
        if target is None:
            if not call.name or (call.id and call.id in self._ended and not whole):
                self._dropped(call)
                return None, None
            if whole:
                return None, ev.FunctionCall(
                    call_id=call.id or "",
                    name=call.name,
                    arguments=call.args or {},
                    thought_signature=signature,
                )
            if len(self.open) >= _MAX_OPEN:
                raise RemoteProtocolError(
                    f"function call {_named(call.id or '', call.name)}: more than {_MAX_OPEN} "
                    "calls streaming their arguments at once"
                )
            target = _OpenCall(call.id or "", call.name, signature, self)
            self.open[call.id or _NoId()] = target
        elif target.signature is None:
            target.signature = signature
        args = call.args
        if args:
            # Copied: the delta carries `args`, and later pieces write into the arguments.
            target.arguments.update(_copied(args))
        pieces = call.partial_args
        if pieces:
            _apply(target, pieces)
        delta = None
        if fresh or pieces or args:
            # Only this piece: a copy of every argument so far would make a call streamed
            # in n pieces cost n^2 (the `FunctionCall` carries them all).
            delta = ev.FunctionCallDelta(
                call_id=target.call_id,
                name=target.name,
                partial_args=tuple(pieces) if pieces else (),
                args=args or {},
            )
        if call.will_continue:
            return delta, None
        _end_strings(target)
        if target.padded:
            _unpad(target.arguments)
        self._close(target)
        done = ev.FunctionCall(
            call_id=target.call_id,
            name=target.name,
            arguments=target.arguments,
            thought_signature=target.signature,
        )
        return delta, done

    def _dropped(self, call: FunctionCallPart) -> None:
        """Log a piece `feed` drops: the first of a connection as a warning."""
        level = logging.DEBUG if self._warned_drop else logging.WARNING
        self._warned_drop = True
        _log.log(
            level,
            "dropped a function call piece that continues no open call%s (id %s)%s",
            "" if call.name else " and has no name",
            excerpt(call.id or ""),
            "" if level == logging.DEBUG else "; more on this connection are logged at DEBUG",
        )

    def _find(self, call: FunctionCallPart, whole: bool) -> _OpenCall | None:
        """The open call this piece continues, if any (the module's rules)."""
        if call.id:
            return self.open.get(call.id)
        if not call.name:
            return self.open[next(reversed(self.open))]  # the call opened last
        if whole or (call.partial_args is None and not call.args):
            return None  # a call of its own, or the first piece of one
        for target in reversed(self.open.values()):
            if target.name == call.name:
                return target
        return None

    def _close(self, target: _OpenCall) -> None:
        for key, open_call in self.open.items():
            if open_call is target:
                del self.open[key]
                return

    def cancel(self, ids: tuple[str, ...]) -> list[str]:
        """Forget the open calls among `ids` (the server cancelled them); return theirs.

        `""` cancels the oldest open call without an id, as it does a pending one.
        """
        cancelled: list[str] = []
        for call_id in ids:
            key = call_id or next((k for k in self.open if type(k) is _NoId), None)
            if key is not None and self.open.pop(key, None) is not None:
                cancelled.append(call_id)
                if call_id:
                    self._end(call_id)
        return cancelled

    def new_connection(self) -> tuple[str, ...]:
        """Forget every open call (`abandon`) for the session's next connection.

        Its budget of array items that no piece has set (`_MAX_PADDING`) starts again, and
        the first piece it drops is warned of again.
        """
        self.padding = 0
        self._warned_drop = False
        return self.abandon()

    def abandon(self) -> tuple[str, ...]:
        """Forget every open call (its turn ended, or the connection); return their ids."""
        ids = self.open_ids
        self.open.clear()
        for call_id in ids:
            if call_id:
                self._end(call_id)
        return ids

    def _end(self, call_id: str) -> None:
        ended = self._ended
        ended.pop(call_id, None)  # newest last
        ended[call_id] = None
        if len(ended) > _ENDED_KEPT:
            del ended[next(iter(ended))]


def _apply(target: _OpenCall, pieces: list[PartialArg]) -> None:
    continuing = target.continuing
    for piece in pieces:
        text = piece.json_path
        path = parse_json_path(text, target.call_id)
        present, value = _value(piece, target)
        parts = continuing.get(path)
        if parts is None:
            if present:
                _put(target, path, value, text)
            if piece.will_continue and (not present or isinstance(value, str)):
                continuing[path] = [value] if present else []
            continue
        if present:
            if not isinstance(value, str):
                raise _path_error(target, text, f"{_kind(value)} comes for a string said to go on")
            if not parts:
                _put(target, path, value, text)  # the path holds a string from now on
            parts.append(value)
        if not piece.will_continue:
            del continuing[path]
            if len(parts) > 1:
                _put(target, path, "".join(parts), text)


def _end_strings(target: _OpenCall) -> None:
    """Join the strings still said to go on when their call ends: they end there."""
    for path, parts in target.continuing.items():
        if len(parts) > 1:
            _put(target, path, "".join(parts), _path_text(path))
    target.continuing.clear()


def _value(piece: PartialArg, target: _OpenCall) -> tuple[bool, Any]:
    """Whether a piece carries a value, and which (the protobuf oneof `delta`).

    Raises:
        RemoteProtocolError: the piece sets more than one of them (a oneof holds one):
            taking any one would drop the others without a word.
    """
    given: dict[str, Any] = {}
    if piece.string_value is not None:
        given["stringValue"] = piece.string_value
    if piece.number_value is not None:
        given["numberValue"] = piece.number_value
    if piece.bool_value is not None:
        given["boolValue"] = piece.bool_value
    if piece.null_value is not msgspec.UNSET:
        given["nullValue"] = None
    if len(given) > 1:
        raise _path_error(
            target, piece.json_path, f"the piece sets {', '.join(given)}: one value at most"
        )
    for value in given.values():
        return True, value
    return False, None


def _put(target: _OpenCall, path: _Path, value: Any, text: str) -> None:
    """Set `value` at `path` in the call's arguments, making the objects and arrays on the way.

    A loop over the (bounded) steps, not a recursion.

    Raises:
        RemoteProtocolError: an earlier piece made a step of the path a value of another
            kind (a string where this path needs an object, an array where it needs an
            object...), or the value would replace an object or array: one of them would
            be lost.
    """
    node: Any = target.arguments
    for depth, (step, after) in enumerate(itertools.pairwise(path), 1):
        child = _get(node, step)
        kind: type[Any] = dict if isinstance(after, str) else list
        if child is None:
            child = kind()
            _set(node, step, child, target, text)
        elif not isinstance(child, kind):
            raise _path_error(
                target,
                text,
                f"an earlier piece made {excerpt(_path_text(path[:depth]))} {_kind(child)}, "
                f"not {_kind(kind())}",
            )
        node = child
    last = path[-1]
    before = _get(node, last)
    if isinstance(before, dict | list):
        raise _path_error(
            target, text, f"{_kind(value)} would replace {_kind(before)} an earlier piece made"
        )
    _set(node, last, value, target, text)


def _kind(value: Any) -> str:
    """What a JSON value is, for a message (its content may be large, or private)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object" if isinstance(value, dict) else "an array"


def _path_text(steps: _Path) -> str:
    """The JSON path of `steps`, for a message."""
    return "$" + "".join(
        f"[{step}]"
        if isinstance(step, int)
        else f".{step}"
        if step.isidentifier()
        else f"[{json.dumps(step)}]"
        for step in steps
    )


def _entries(node: Any) -> Iterable[tuple[Any, Any]]:
    """The (key, value) pairs of an object, the (index, item) pairs of an array."""
    if isinstance(node, dict):
        return cast("dict[str, Any]", node).items()
    return enumerate(cast("list[Any]", node))


def _copied(args: dict[str, Any]) -> dict[str, Any]:
    """`args` with each of its objects and arrays copied (its other values are shared).

    A loop, not a recursion: `args` nests as deep as the decoder allows.
    """
    top = args.copy()
    todo: list[Any] = [top]
    while todo:
        node: Any = todo.pop()
        for key, child in _entries(node):
            if isinstance(child, dict | list):
                inner: Any = cast("Any", child).copy()
                node[key] = inner  # a value replaced, not a key added: the loop goes on
                todo.append(inner)
    return top


def _get(node: Any, step: str | int) -> Any:
    """The value at `step` of `node`; None if there is none (or no piece set it yet)."""
    if isinstance(step, str):
        return node.get(step)
    item = node[step] if step < len(node) else None
    return None if item is _PAD else item


def _set(node: Any, step: str | int, value: Any, target: _OpenCall, text: str) -> None:
    if isinstance(step, str):
        node[step] = value
        return
    if step > _MAX_INDEX:
        raise _path_error(target, text, f"the index {step} is past {_MAX_INDEX}")
    grow = step + 1 - len(node)
    if grow > 0:
        # Counted before the list grows: the bound is on what a broken server makes us hold.
        target.items += grow
        if target.items > _MAX_ITEMS:
            raise _path_error(
                target, text, f"its indexes would make more than {_MAX_ITEMS} array items"
            )
        streams = target.streams
        streams.padding += grow - 1  # the one at `step` is set
        target.padded += grow - 1
        if streams.padding > _MAX_PADDING:
            raise _path_error(
                target,
                text,
                f"the indexes of this connection's calls would make more than {_MAX_PADDING} "
                "array items that no piece sets",
            )
        node.extend([_PAD] * grow)
    elif node[step] is _PAD:
        target.streams.padding -= 1  # set at last: padding no more
        target.padded -= 1
    node[step] = value


def _unpad(args: dict[str, Any]) -> None:
    """Make each `_PAD` in `args` (items no piece set) `None`: JSON's null, as documented.

    A loop, not a recursion: `args` nests as deep as the decoder allows.
    """
    todo: list[Any] = [args]
    while todo:
        node: Any = todo.pop()
        for key, child in _entries(node):
            if child is _PAD:
                node[key] = None  # a value replaced, not a key added: the loop goes on
            elif isinstance(child, dict | list):
                todo.append(child)


def _path_error(target: _OpenCall, text: str, problem: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"function call {_named(target.call_id, target.name)}: cannot apply partialArgs "
        f"jsonPath {excerpt(text)}: {problem}"
    )


def _named(call_id: str, name: str) -> str:
    """A call for a message: its id and name, each cut short (the server's to choose)."""
    return f"{excerpt(call_id)} ({excerpt(name)})"


def parse_json_path(text: str, call_id: str = "") -> _Path:
    """The steps of an RFC 9535 path of names and indexes: `$.a['b c'][0]` is ("a", "b c", 0).

    Only what names one argument: `.name`, `['name']`, `["name"]` and `[index]`; the
    first step must be a name (the arguments are an object); at most 64 steps.

    Raises:
        RemoteProtocolError: anything else (wildcards, filters, slices, negative indexes,
            a deeper path), naming the path and the call.
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
            if len(steps) > _MAX_DEPTH:
                raise ValueError(f"it has more than {_MAX_DEPTH} steps")
        if not steps or not isinstance(steps[0], str):
            raise ValueError("it names no argument")
    except ValueError as exc:
        raise RemoteProtocolError(
            f"function call {excerpt(call_id)}: cannot apply partialArgs jsonPath "
            f"{excerpt(text)}: {exc}"
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
