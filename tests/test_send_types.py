"""Whatever a caller puts in a client message's fields, `send` refuses it with the library's
own error or sends it: never a bare `TypeError` or `AttributeError` from deep inside.

The compiled build (hatch_build.py) checks annotations at run time, where pure Python let
a wrong value through to the checks that name its JSON path: every check of a caller's
value must read it untyped. Each field of each message kind, nested Structs and the first
item of lists included, gets a value of each of a few wrong types in turn.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from test_send_checks import (
    _unopened_session,  # pyright: ignore[reportPrivateUsage]
)
from trio_gemini_live import GeminiLiveError
from trio_gemini_live._wire import (
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    ContextUpdate,
    FunctionResponse,
    Part,
    RealtimeInput,
    ToolResponse,
)

WRONG: list[Any] = [None, 0, 1.5, True, "x", b"x", (), [], {}, object()]

BASES: dict[str, msgspec.Struct] = {
    "realtime_input audio": RealtimeInput(audio=Blob(data=b"\0\0", mime_type="audio/pcm")),
    "realtime_input text": RealtimeInput(text="hi"),
    "realtime_input chunks": RealtimeInput(
        media_chunks=[Blob(data=b"\0\0", mime_type="audio/pcm;rate=16000")]
    ),
    "client_content": ClientContent(
        turns=[Content(parts=[Part(text="hello")], role="user")], turn_complete=True
    ),
    "tool_response": ToolResponse(
        function_responses=[FunctionResponse(id="c1", name="get_weather", response={"t": 1})]
    ),
    "context_update": ContextUpdate(system_instruction=Content(parts=[Part(text="be brief")])),
}


def variants(value: msgspec.Struct, path: str) -> Iterator[tuple[str, msgspec.Struct]]:
    """`value` with one field (at any depth) replaced by each wrong value in turn."""
    for field in msgspec.structs.fields(value):
        name = field.name
        here = f"{path}.{name}"
        for wrong in WRONG:
            yield f"{here}={type(wrong).__name__}", msgspec.structs.replace(value, **{name: wrong})
        current = getattr(value, name)
        if isinstance(current, msgspec.Struct):
            for where, changed in variants(current, here):
                yield where, msgspec.structs.replace(value, **{name: changed})
        elif isinstance(current, list) and current and isinstance(current[0], msgspec.Struct):
            items: list[Any] = current
            for where, changed in variants(items[0], f"{here}[0]"):
                yield where, msgspec.structs.replace(value, **{name: [changed, *items[1:]]})


CASES = [
    (where, kind.split()[0], changed)
    for kind, base in BASES.items()
    for where, changed in variants(base, kind.split()[0])
]


@pytest.mark.parametrize(("where", "kind", "content"), CASES, ids=[c[0] for c in CASES])
async def test_a_wrong_value_anywhere_is_refused_by_the_library_or_sent(
    where: str, kind: str, content: msgspec.Struct
) -> None:
    session = _unopened_session()
    with contextlib.suppress(GeminiLiveError):  # refused by the library's own check: fine
        await session.send(ClientMessage(**{kind: content}))
