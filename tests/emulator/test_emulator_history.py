"""A session's history within a bound (`_history`): what the model counts and answers from.

Each turn kept its whole text as long as its session was kept, closed connections' too:
three closed connections of ten 4 MB `clientContent` turns held 120 MiB of history.
"""

from __future__ import annotations

from typing import Any

import trio

from emulator.emulator_client import MODEL, connect, start
from trio_gemini_live.emulator._history import TEXT_TURNS, TURN_TEXT_CHARS, add_turn

TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}


def _turn(text: str, *, complete: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"turns": [{"role": "user", "parts": [{"text": text}]}]}
    if complete:
        content["turnComplete"] = True
    return {"clientContent": content}


def _said(messages: list[dict[str, Any]]) -> str:
    parts = [
        part.get("text", "")
        for message in messages
        for part in message.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    ]
    return "".join(parts)


async def test_a_long_turn_is_kept_cut_but_answered_and_counted_whole(
    autojump_clock: trio.abc.Clock,
) -> None:
    long = "y" * (3 * TURN_TEXT_CHARS)
    async with start() as emu:
        async with connect(emu) as client:
            await client.setup(model=MODEL, **TEXT)
            await client.send(_turn(long, complete=True))
            messages = await client.turn(limit=600)
            conn = await emu.wait_for_connection(1)
        await conn.wait_closed()
    assert conn.session is not None
    user, model = conn.session.history
    assert (user["text"], user["chars"]) == (long[:TURN_TEXT_CHARS], len(long))
    assert model["chars"] == len("You said: ") + len(long)
    assert _said(messages) == f"You said: {long}"  # answered whole
    # Counted whole: ~4 characters a token, and the prompt holds the long turn.
    usage = messages[-1]["usageMetadata"]
    assert usage["promptTokenCount"] >= len(long) // 4


async def test_only_the_newest_turns_keep_their_text(autojump_clock: trio.abc.Clock) -> None:
    count = TEXT_TURNS + 8
    async with start() as emu:
        async with connect(emu) as client:
            await client.setup(model=MODEL, **TEXT)
            for i in range(count):
                await client.send(_turn(f"turn {i}"))
            await client.send({"clientContent": {"turnComplete": True}})
            messages = await client.turn(limit=600)
            conn = await emu.wait_for_connection(1)
        await conn.wait_closed()
    assert conn.session is not None
    history = conn.session.history
    assert len(history) == count + 1  # and the reply
    texts = [turn["text"] for turn in history]
    assert texts[: count + 1 - TEXT_TURNS] == [""] * (count + 1 - TEXT_TURNS)
    assert texts[-2:] == [f"turn {count - 1}", f"You said: turn {count - 1}"]
    # An emptied turn says how long it was: it is still counted.
    assert history[0]["chars"] == len("turn 0")
    assert _said(messages) == f"You said: turn {count - 1}"
    assert sum(len(text) for text in texts) <= TEXT_TURNS * TURN_TEXT_CHARS


def test_a_turn_pushed_out_is_replaced_not_changed() -> None:
    # A resumption handle's snapshot shares the turns: it keeps them as they were.
    history: list[dict[str, Any]] = []
    add_turn(history, "user", "first")
    snapshot = list(history)
    for _ in range(TEXT_TURNS):
        add_turn(history, "model", "more")
    assert history[0] == {"role": "user", "text": "", "chars": 5}
    assert snapshot[0] == {"role": "user", "text": "first"}
