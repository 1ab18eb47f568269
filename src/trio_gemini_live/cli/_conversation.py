"""Drive a session from a script: one task reads events, the script waits for turns.

The reader task prints every event, collects the model's audio, answers tool calls with
local functions, and counts completed turns; the script sends input and waits for the
next completed turn. A turn cut off by barge-in is not counted: the one answering the
interruption is.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import trio

from .._errors import ConnectionClosedError
from .._events import AudioDelta, Closed, FunctionCall, Interrupted, RealtimeEvent, TurnComplete
from .._session import LiveSession
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
        self.audio_rate = 24_000
        self.on_audio: Callable[[AudioDelta], None] | None = None
        self._completed = 0
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
        match event:
            case AudioDelta(pcm=pcm, sample_rate=rate):
                self.audio += pcm
                self.audio_rate = rate
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

    async def _answer(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
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
        self.reporter.tool_result(name, result)
        await self.session.respond(call_id, result, name=name)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

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
                if self._ended and not self._failed:
                    closed = self._closed
                    code, reason = (closed.code, closed.reason) if closed else (1000, "")
                    raise ConnectionClosedError(
                        code, reason or "the session ended before the model answered"
                    )
                await self._changed.wait()
        if scope.cancelled_caught:
            message = f"no answer from the model within {self.turn_timeout:g} s"
            raise CliError(f"{message}: {hint}" if hint else message)
