"""A session's history within a bound: what its model counts and answers from, not every word.

Each turn kept its whole text for as long as its session was kept (a closed connection's
too, up to `keep_closed_connections` of them): ten 4 MB `clientContent` turns held 40 MB
after the close. The model needs less: the length of every turn's text (its token count,
for `usageMetadata` and the context window), and the text of the newest turns, the one it
answers from (`Model._last_user_text`, a scenario's `when`). So a turn keeps the first
`TURN_TEXT_CHARS` characters of its text, and only the newest `TEXT_TURNS` turns keep any:
an older turn's text is emptied as a newer one comes. A turn whose text was cut says how
long it was in `"chars"`: its tokens are counted from that, so nothing is counted short,
and a test can tell a cut text from one that was short. The turns themselves (their role,
`audio_s`, `chars`: ~0.3 kB each) are bounded by the session's limits and its context
window compression, as Google's context is.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TEXT_TURNS", "TURN_TEXT_CHARS", "add_turn", "text_length"]

TURN_TEXT_CHARS = 2048
"""The most characters of one turn's text a history keeps (~500 tokens)."""

TEXT_TURNS = 32
"""How many of the newest turns keep their text: 64 Ki characters at most a session."""


def add_turn(history: list[dict[str, Any]], role: str, text: str, **extra: Any) -> None:
    """Append a turn of `role` saying `text`, cut to its bound; empty the one it pushes out.

    The one pushed out of the newest `TEXT_TURNS` is replaced, not changed in place: a
    resumption handle's snapshot shares the turns of the history it was taken from, and
    keeps them as they were.
    """
    turn: dict[str, Any] = {"role": role, "text": text[:TURN_TEXT_CHARS], **extra}
    if len(text) > TURN_TEXT_CHARS:
        turn["chars"] = len(text)
    history.append(turn)
    # Every turn before it was emptied as it got here: only this one can hold text.
    if len(history) > TEXT_TURNS and (old := history[-TEXT_TURNS - 1])["text"]:
        history[-TEXT_TURNS - 1] = {**old, "text": "", "chars": text_length(old)}


def text_length(turn: dict[str, Any]) -> int:
    """How many characters the turn's text had as said, before any was cut."""
    return int(turn.get("chars", len(str(turn.get("text", "")))))
