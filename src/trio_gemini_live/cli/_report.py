"""Live printing of a session: transcripts as they stream, and one line per notable event.

Transcript fragments of the same speaker are written on one line as they arrive; any other
event first ends that line. Audio chunks are not printed one by one (there are dozens a
second); each completed turn reports how much audio it carried.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from trio.lowlevel import enable_ki_protection

from .._events import (
    AudioDelta,
    Closed,
    FileReference,
    FunctionCall,
    FunctionCallOutput,
    GoAway,
    InputTranscription,
    Interrupted,
    OutputTranscription,
    RealtimeEvent,
    Reconnected,
    TextDelta,
    ToolCallCancellation,
    TurnComplete,
)

__all__ = ["Reporter"]

_LABELS = {"user": "  you", "model": "model"}


def _compact(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Reporter:
    """Prints a conversation to a text stream as it happens.

    Progress goes to `err` (on a terminal, one status line rewritten in place); on a
    terminal both streams show on one screen, so every line first ends the other stream's
    line in progress: nothing is ever written onto the end of another line.

    Args:
        out: where to print (default: standard output).
        all_events: also print a line for every event that is normally silent
            (resumption updates, usage, generation complete, ...).
        err: where progress goes (default: standard error).
    """

    def __init__(
        self, out: TextIO | None = None, *, all_events: bool = False, err: TextIO | None = None
    ) -> None:
        self._out = out if out is not None else sys.stdout
        self._err = err if err is not None else sys.stderr
        self._all = all_events
        self._speaker: str | None = None
        self._status_open = False  # a status line without its newline yet, on `err`
        self._turn_audio = 0.0

    @property
    def err_is_terminal(self) -> bool:
        """Whether progress goes to a terminal (where a line can be rewritten in place)."""
        return self._err.isatty()

    # --- the script's own lines -----------------------------------------------------------

    def line(self, text: str) -> None:
        """Print a line of our own (ends any transcript or status line in progress)."""
        self._end_line()
        self._out.write(text + "\n")
        self._out.flush()

    @enable_ki_protection  # see _end_line
    def status(self, text: str, *, done: bool = False) -> None:
        """Show `text` as the status line on the error stream, rewriting the last one.

        For terminals (`err_is_terminal`); `done` ends the line.
        """
        self._end_transcript()
        self._err.write("\r" + text + ("\n" if done else ""))
        self._status_open = not done
        self._err.flush()

    def note(self, text: str) -> None:
        """Print a line of progress on the error stream."""
        self._end_line()
        self._err.write(text + "\n")
        self._err.flush()

    def step(self, text: str) -> None:
        """Announce a step of a scripted conversation."""
        self.line(f"\n== {text}")

    def user_text(self, text: str) -> None:
        """Show text the user typed."""
        self.line(f"{_LABELS['user']}: {text}  [typed]")

    # --- events ----------------------------------------------------------------------------

    def event(self, event: RealtimeEvent) -> None:
        """Print one event (or nothing, for the quiet ones)."""
        match event:
            case InputTranscription(text=text):
                self._fragment("user", text)
            case OutputTranscription(text=text):
                self._fragment("model", text)
            case TextDelta(thought=False) if self._turn_audio:
                # Text beside audio (Gemini 3.1 puts each spoken fragment there too) says
                # what the output transcript, which the commands turn on, says: shown once.
                pass
            case TextDelta(text=text, thought=False):
                self._fragment("model", text)
            case AudioDelta():
                self._turn_audio += event.duration
            case FunctionCall(name=name, arguments=arguments):
                self.line(f"[tool call] {name}({_compact(arguments)})")
            case FunctionCallOutput(name=name, response=response):
                # The server ran the function itself: its result is part of the answer.
                self.line(f"[tool output] {name} -> {_compact(response)}")
            case FileReference(file_uri=uri, mime_type=mime_type):
                self.line(f"[file] {uri}{f' ({mime_type})' if mime_type else ''}")
            case ToolCallCancellation(ids=ids, reason=reason):
                # A call without an id is "" in `ids`: shown as such, not as nothing.
                shown = ", ".join(i or repr(i) for i in ids)
                if reason == "incomplete":
                    self.line(f"[tool calls incomplete: the turn ended mid-arguments] {shown}")
                elif reason == "reconnect":
                    self.line(f"[tool calls cancelled by the reconnection] {shown}")
                else:
                    self.line(f"[tool calls cancelled] {shown}")
            case Interrupted():
                self.line(
                    f"[barge-in] the model was interrupted after {self._turn_audio:.2f} s of "
                    "audio; playback flushed"
                )
                self._turn_audio = 0.0
            case TurnComplete(interrupted=True):
                self._turn_audio = 0.0
            case TurnComplete(usage=usage):
                tokens = (
                    f", {usage.total_token_count} tokens"
                    if usage and usage.total_token_count
                    else ""
                )
                audio = f"{self._turn_audio:.2f} s of audio" if self._turn_audio else "no audio"
                self.line(f"[turn complete: {audio}{tokens}]")
                self._turn_audio = 0.0
            case GoAway(time_left=time_left):
                self.line(f"[go away: the server will close in {time_left:g} s]")
            case Reconnected(reason=reason, duration=duration, replayed=replayed):
                # `reason` is "goAway", "reconfigure", or the close reason of a drop (often
                # empty: a drop without a close frame).
                if reason in ("goAway", "reconfigure"):
                    cause = reason
                else:
                    cause = f"a dropped connection ({reason})" if reason else "a dropped connection"
                self.line(
                    f"[reconnected after {cause} in {duration * 1000:.0f} ms; "
                    f"{replayed} message(s) replayed]"
                )
                for lost in event.not_replayed:
                    self.line(f"[not replayed] {lost}")
            case Closed(code=code, reason=reason):
                if code != 1000 or self._all:
                    self.line(f"[closed {code}{f': {reason}' if reason else ''}]")
            case _:
                if self._all:
                    self.line(f"[{event.type}] {_compact(event.raw_message)}")

    def tool_result(self, name: str, result: Any) -> None:
        """Show what a local function returned to the model."""
        self.line(f"[tool result] {name} -> {_compact(result)}")

    def close(self) -> None:
        """End any transcript or status line in progress (before an error is printed, too)."""
        self._end_line()

    # --- helpers ---------------------------------------------------------------------------

    @enable_ki_protection  # see _end_line
    def _fragment(self, speaker: str, text: str) -> None:
        if self._speaker != speaker:
            self._end_line()
            self._out.write(f"{_LABELS[speaker]}: ")
            self._speaker = speaker
            text = text.lstrip()
        self._out.write(text)
        self._out.flush()

    # Ctrl-C can raise KeyboardInterrupt between a write and the bookkeeping of what is
    # open: the error line was then printed after a duplicate line end. Protected, these
    # finish first (trio delivers the interrupt at the next checkpoint instead).
    @enable_ki_protection
    def _end_line(self) -> None:
        self._end_transcript()
        if self._status_open:
            self._err.write("\n")
            self._err.flush()
            self._status_open = False

    def _end_transcript(self) -> None:
        if self._speaker is not None:
            self._out.write("\n")
            self._out.flush()
            self._speaker = None
