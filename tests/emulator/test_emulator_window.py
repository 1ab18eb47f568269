"""Context window compression: the sliding window cuts at the start of a user turn."""

from __future__ import annotations

from typing import Any

import trio

from emulator.emulator_client import connect, start
from trio_gemini_live._wire import ContextWindowCompression, SlidingWindow
from trio_gemini_live.emulator._window import slide_window

TEXT = {"generationConfig": {"responseModalities": ["TEXT"]}}


def _turns(*spec: tuple[str, int]) -> list[dict[str, Any]]:
    """Turns of the given roles, each `tokens` characters long: as many tokens for `_slide`."""
    return [{"role": role, "text": "x" * tokens} for role, tokens in spec]


def _slide(history: list[dict[str, Any]], trigger: int, target: int) -> list[str]:
    window = ContextWindowCompression(
        trigger_tokens=trigger, sliding_window=SlidingWindow(target_tokens=target)
    )
    slide_window(history, window, lambda turn: len(turn["text"]))
    return [f"{turn['role']} {len(turn['text'])}" for turn in history]


def test_the_window_cuts_at_the_start_of_a_user_turn() -> None:
    # protocol.md 2.1. Turns went one at a time down to the target, whatever their role:
    # the history then began with the model's answer to a turn that was gone.
    history = _turns(("user", 10), ("model", 10), ("user", 10), ("model", 10), ("user", 5))
    # Down to 35, the history began with `model 10`: its turn is gone, so it goes too.
    assert _slide(history, trigger=40, target=35) == ["user 10", "model 10", "user 5"]
    history = _turns(("user", 10), ("model", 10), ("user", 10), ("model", 10), ("user", 5))
    assert _slide(history, trigger=40, target=24) == ["user 5"]


def test_the_window_keeps_nothing_when_no_user_turn_fits() -> None:
    history = _turns(("user", 10), ("model", 4), ("model", 4))
    assert _slide(history, trigger=10, target=9) == []


def test_below_the_trigger_nothing_is_dropped() -> None:
    history = _turns(("model", 10), ("user", 10))
    assert _slide(history, trigger=21, target=5) == ["model 10", "user 10"]


async def test_a_compressed_session_s_history_begins_with_a_user_turn(
    autojump_clock: trio.abc.Clock,
) -> None:
    compression = {"triggerTokens": 200, "slidingWindow": {"targetTokens": 216}}
    async with start() as emu, connect(emu) as client:
        await client.setup(contextWindowCompression=compression, **TEXT)
        for text in ("a" * 40, "b" * 400):
            turn = {"role": "user", "parts": [{"text": text}]}
            await client.send({"clientContent": {"turns": [turn], "turnComplete": True}})
            await client.turn()
        conn = await emu.wait_for_connection(1)
    assert conn.session is not None
    history = conn.session.history
    assert [turn["role"] for turn in history] == ["user", "model"]
    assert history[0]["text"] == "b" * 400
