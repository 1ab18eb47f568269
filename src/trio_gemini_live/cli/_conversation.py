"""Drive a session from a script: one task reads events, the script waits for turns.

The reader task prints every event, collects the model's audio, answers tool calls with
local functions, and counts completed turns; the script sends input and waits for the
next completed turn. A turn cut off by barge-in is not counted: the one answering the
interruption is. After streamed audio, which may hold several utterances (several answers),
the script waits until the model is idle instead (`wait_until_idle`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

import trio

from .._errors import ConnectionClosedError
from .._events import (
    AudioDelta,
    Closed,
    FileReference,
    FunctionCall,
    FunctionCallDelta,
    FunctionCallOutput,
    InputTranscription,
    Interrupted,
    RealtimeEvent,
    TextDelta,
    TurnComplete,
)
from .._session import LiveSession
from .._wav import WavError, resample_pcm
from ._errors import CliError
from ._metrics import Metrics
from ._report import Reporter

__all__ = ["Conversation", "ToolFunction"]

ToolFunction = Callable[..., Any] | Callable[..., Awaitable[Any]]
"""A local function the model may call: keyword arguments in, a JSON-able result out."""


class Conversation:
    """A scripted conversation over an open `LiveSession`.

    Args:
        session: the open session.
        reporter: prints events as they happen.
        metrics: counts audio, turns and latency.
        tools: local functions by name, called when the model asks for them.
        turn_timeout: seconds `wait_for_turns` waits for a turn to complete.
    """

    def __init__(
        self,
        session: LiveSession,
        reporter: Reporter,
        metrics: Metrics,
        *,
        tools: Mapping[str, ToolFunction] | None = None,
        turn_timeout: float = 60.0,
    ) -> None:
        self.session = session
        self.reporter = reporter
        self.metrics = metrics
        self.tools = dict(tools or {})
        self.turn_timeout = turn_timeout
        self.audio = bytearray()
        self.audio_rate = 24_000  # that of the first audio received: a WAV file has one rate
        self._other_rates: set[int] = set()
        self.on_audio: Callable[[AudioDelta], None] | None = None
        self._completed = 0
        # What is under way since the last completed turn: None (idle), "heard" (the
        # server transcribed speech it has not answered yet) or "answering".
        self._under_way: str | None = None
        self._changed = trio.Event()
        self._closed: Closed | None = None
        self._ended = False
        self._failed = False

    @property
    def completed_turns(self) -> int:
        """Model turns completed so far (interrupted ones excluded)."""
        return self._completed

    async def read_events(self) -> None:
        """Read and handle every event until the session ends (run this as a task)."""
        try:
            async for event in self.session:
                await self._handle(event)
        except BaseException:
            # The reader's own error (the session's, a closed stdout) reaches the nursery as
            # it is; `wait_for_turns` must not report it as "the session ended" in its place.
            self._failed = True
            raise
        finally:
            self._ended = True
            self._notify()

    async def _handle(self, event: RealtimeEvent) -> None:
        self.reporter.event(event)
        self._track(event)
        match event:
            case AudioDelta(pcm=pcm, sample_rate=rate):
                self._keep_audio(pcm, rate)
                self.metrics.audio_received(len(pcm), rate)
                if self.on_audio is not None:
                    self.on_audio(event)
            case FunctionCall(call_id=call_id, name=name, arguments=arguments):
                self.metrics.tool_calls += 1
                await self._answer(call_id, name, arguments)
            case Interrupted():
                self.metrics.interruptions += 1
            case TurnComplete(interrupted=False):
                self.metrics.turns += 1
                self._completed += 1
                self._notify()
            case Closed():
                self._closed = event
            case _:
                pass

    def _keep_audio(self, pcm: bytes, rate: int) -> None:
        """Add `pcm` to `audio`, converted to `audio_rate` if it comes at another rate.

        The reply is written as one WAV file, of one rate: audio of another rate added as it
        came would play at the wrong speed. Each other rate is warned about once.
        """
        if not self.audio:
            self.audio_rate = rate
        elif rate != self.audio_rate:
            try:
                pcm = resample_pcm(pcm, rate, self.audio_rate)
            except WavError:  # a rate out of the range it converts
                pcm = b""
                what = f"left out of the reply: it cannot be converted to {self.audio_rate} Hz"
            else:
                what = f"converted to {self.audio_rate} Hz, the rate of the reply's first audio"
            if rate not in self._other_rates:
                self._other_rates.add(rate)
                self.reporter.line(f"warning: audio at {rate} Hz {what}")
        self.audio += pcm

    def _track(self, event: RealtimeEvent) -> None:
        """Follow whether a turn is under way, for `wait_until_idle`."""
        match event:
            case (
                AudioDelta()
                | TextDelta()
                | FunctionCall()
                | FunctionCallDelta()
                | FunctionCallOutput()
                | FileReference()
                | Interrupted()
            ):
                self._under_way = "answering"
            case InputTranscription() if self._under_way is None:
                self._under_way = "heard"
            case TurnComplete(interrupted=False):
                self._under_way = None
            case TurnComplete():
                # Cut off by the user's speech: that speech gets an answer of its own.
                self._under_way = "heard"
            case _:
                # Output transcriptions are not counted: they come with the model's audio,
                # and one arriving after its turn's turnComplete must not open a new turn.
                pass

    async def _answer(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        if not self._pending(call_id, name):
            return
        function = self.tools.get(name)
        if function is None:
            result: Any = {"error": f"no local function named {name!r}"}
        else:
            try:
                result = function(**arguments)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:  # the model hears about a failing tool; we go on
                result = {"error": f"{type(exc).__name__}: {exc}"}
        if not self._pending(call_id, name):
            return
        self.reporter.tool_result(name, result)
        await self.session.respond(call_id, result, name=name)

    def _pending(self, call_id: str, name: str) -> bool:
        """Whether the call still waits for an answer; says so when it does not.

        A call can be settled before its event is read (a frame's later part, a
        `FunctionCallOutput`, is the server's own answer to it) or while its function
        runs (the server cancelled it): a second answer would be refused
        (`LocalProtocolError`), ending the whole conversation. A call without an id (`""`)
        cannot be told apart from the others without one, so it is answered.
        """
        if not call_id or call_id in self.session.pending_tool_calls:
            return True
        self.reporter.line(f"[tool call not answered] {name}: the call is no longer pending")
        return False

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until_idle(self, count: int, *, hint: str | None = None) -> None:
        """Wait until `count` turns have completed in total and none is under way.

        For streamed audio, whose utterances each get an answer: waiting for one turn
        stopped in the middle of the answer to the second. A turn is under way once the
        server transcribes speech or the model sends output, until its `turnComplete`.
        Each completed turn gives the next one `turn_timeout` seconds again.

        Raises:
            CliError: fewer than `count` turns, or an answer still coming, at the timeout.
            ConnectionClosedError: the session ended first.
        """
        with trio.CancelScope(deadline=trio.current_time() + self.turn_timeout) as scope:
            seen = self._completed
            while self._completed < count or self._under_way is not None:
                self._raise_if_ended()
                await self._changed.wait()
                if self._completed != seen:
                    seen = self._completed
                    scope.deadline = trio.current_time() + self.turn_timeout
        if not scope.cancelled_caught:
            return
        if self._completed >= count and self._under_way == "heard":
            # Transcribed speech that no answer followed (a transcription may also come
            # late, after its answer): what was answered is kept, with a word about it.
            self.reporter.line(
                f"warning: the server heard more speech but gave no answer to it within "
                f"{self.turn_timeout:g} s"
            )
            return
        self._raise_timeout(hint)

    async def wait_for_turns(self, count: int, *, hint: str | None = None) -> None:
        """Wait until `count` turns have completed in total.

        `hint`, if given, is added to the error when no answer comes: a likely reason the
        caller knows of (silent input audio, say).

        Raises:
            CliError: no such turn within `turn_timeout` seconds.
            ConnectionClosedError: the session ended first.
        """
        with trio.move_on_after(self.turn_timeout) as scope:
            while self._completed < count:
                self._raise_if_ended()
                await self._changed.wait()
        if scope.cancelled_caught:
            self._raise_timeout(hint)

    def _raise_if_ended(self) -> None:
        if self._ended and not self._failed:
            closed = self._closed
            code, reason = (closed.code, closed.reason) if closed else (1000, "")
            raise ConnectionClosedError(
                code, reason or "the session ended before the model answered"
            )

    def _raise_timeout(self, hint: str | None) -> NoReturn:
        if self._under_way == "answering":
            message = f"the model's answer did not end within {self.turn_timeout:g} s"
        else:
            message = f"no answer from the model within {self.turn_timeout:g} s"
        raise CliError(f"{message}: {hint}" if hint else message)
