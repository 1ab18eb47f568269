"""Context window compression: with `contextWindowCompression`, the oldest turns go.

Google's server compresses a session's context once it reaches `triggerTokens` (by default
80% of the model's context window), keeping the newest `slidingWindow.targetTokens` (by
default half the trigger), and always cuts at the start of a user turn (protocol.md
section 2.1). The emulator does the same to its history, at the end of a turn: without it a
session that compression lets run for hours kept every turn it ever had, and counted them
all again at each turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._wire import ContextWindowCompression

__all__ = ["CONTEXT_WINDOW_TOKENS", "slide_window"]

CONTEXT_WINDOW_TOKENS = 128_000
"""The context window the default trigger is a share of (the native audio models')."""


def slide_window(
    history: list[dict[str, Any]],
    compression: ContextWindowCompression | None,
    tokens_of: Callable[[dict[str, Any]], int],
) -> None:
    """Drop the oldest turns of `history` once it reaches the trigger, down to the target.

    What is kept begins with a user turn: the model turns left at its start once the
    target is reached go too (they answered a turn that is gone). If no user turn is left
    then, nothing is kept: the target bounds what is kept, and no exchange fits in it.
    """
    if compression is None:
        return
    trigger = compression.trigger_tokens or CONTEXT_WINDOW_TOKENS * 8 // 10
    window = compression.sliding_window
    target = (window.target_tokens if window else None) or trigger // 2
    counts = [tokens_of(turn) for turn in history]
    total = sum(counts)
    if total < trigger:
        return
    drop = 0
    while drop < len(counts) and total > target:
        total -= counts[drop]
        drop += 1
    while drop < len(history) and history[drop]["role"] == "model":
        drop += 1
    del history[:drop]
