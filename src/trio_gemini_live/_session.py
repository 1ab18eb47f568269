"""The trio layer: one connection run by a sender, a receiver and a heartbeat task.

The three tasks share only bounded memory channels and the sans-IO protocol object. The
receiver decodes every frame as it arrives and waits only when the user's event channel is
full (backpressure; nothing is dropped); the heartbeat pauses while it waits, so a slow
reader is never mistaken for a dead peer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import msgspec
import trio

from . import _events as ev
from ._close_policy import CloseAction
from ._endpoints import Endpoint, gemini_endpoint, model_resource_name
from ._errors import (
    ConfigurationError,
    GeminiLiveError,
    HeartbeatTimeoutError,
    LocalProtocolError,
    RemoteProtocolError,
    SessionClosedError,
    SetupTimeoutError,
    TransportError,
)
from ._options import SessionOptions
from ._protocol import LiveProtocol, SessionState
from ._transport import Connector, Transport, TransportClosedError, open_trio_websocket
from ._wire import (
    ActivityEnd,
    ActivityStart,
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    ContextUpdate,
    FunctionResponse,
    Part,
    RealtimeInput,
    Setup,
    Tool,
    ToolResponse,
    ToolsUpdate,
)

__all__ = ["LiveSession", "SessionStatistics", "open_session", "resolve_api_key"]

log = logging.getLogger("trio_gemini_live.session")

AudioBuffer = bytes | bytearray | memoryview


@dataclass(frozen=True)
class SessionStatistics:
    """A snapshot of a session's counters (see `LiveSession.statistics`)."""

    state: str
    frames_sent: int
    bytes_sent: int
    frames_received: int
    bytes_received: int
    events_buffered: int
    sends_queued: int
    messages_sent: int
    resumption_handle: str | None
    pending_tool_calls: int


def resolve_api_key(api_key: str | None) -> str:
    """Return the given key, or `GEMINI_API_KEY` / `GOOGLE_API_KEY` from the environment."""
    key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
    if not key:
        raise ConfigurationError(
            "no API key: pass api_key=..., set GEMINI_API_KEY, or point the client at the "
            "local emulator"
        )
    return key


def _unwrap_group(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The single leaf of an exception group, if it has exactly one."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        else:
            leaves.append(item)
    return leaves[0] if len(leaves) == 1 else None


class LiveSession:
    """An open Live API session: send messages, iterate over events.

    Create it with `open_session`. Every `send_*` method queues one client message (it waits
    only when `SessionOptions.send_buffer` messages are already queued); messages sent
    before `setupComplete` are held and written after it, in order. Iterate with
    `async for event in session` or call `receive()`.
    """

    def __init__(self, transport: Transport, options: SessionOptions, endpoint: Endpoint) -> None:
        self._transport = transport
        self._options = options
        self._endpoint = endpoint
        self._protocol = LiveProtocol()
        # Bounded: when full, `send_*` waits for the sender (backpressure on the caller).
        self._outgoing_send, self._outgoing_receive = trio.open_memory_channel[bytes](
            options.send_buffer
        )
        # Bounded: when full, the receiver waits for the user (nothing is dropped).
        self._events_send, self._events_receive = trio.open_memory_channel[ev.RealtimeEvent](
            options.event_buffer
        )
        self._opened = trio.Event()
        self._settled = trio.Event()
        self._finished = trio.Event()
        self._failure: GeminiLiveError | None = None
        self._closing = False
        self._consumer_blocked = False
        self._last_inbound = trio.current_time()
        self._ping_in_flight = False
        self._frames_sent = 0
        self._bytes_sent = 0
        self._frames_received = 0
        self._bytes_received = 0

    # --- public state ------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The connection state (see `SessionState`)."""
        return self._protocol.state

    @property
    def setup(self) -> Setup | None:
        """The setup sent for this session."""
        return self._protocol.setup

    @property
    def session_id(self) -> str | None:
        """The server's session id (Vertex AI only)."""
        return self._protocol.session_id

    @property
    def resumption_handle(self) -> str | None:
        """The latest handle the server marked resumable."""
        return self._protocol.resumption_handle

    @property
    def pending_tool_calls(self) -> dict[str, str]:
        """Tool calls awaiting a response: call id -> function name."""
        return dict(self._protocol.pending_calls)

    @property
    def endpoint(self) -> Endpoint:
        """Where this session is connected (its repr never shows secrets)."""
        return self._endpoint

    def statistics(self) -> SessionStatistics:
        """Counters and queue depths of this session."""
        return SessionStatistics(
            state=self._protocol.state.value,
            frames_sent=self._frames_sent,
            bytes_sent=self._bytes_sent,
            frames_received=self._frames_received,
            bytes_received=self._bytes_received,
            events_buffered=self._events_send.statistics().current_buffer_used,
            sends_queued=self._outgoing_send.statistics().current_buffer_used,
            messages_sent=self._protocol.messages_sent,
            resumption_handle=self._protocol.resumption_handle,
            pending_tool_calls=len(self._protocol.pending_calls),
        )

    def __repr__(self) -> str:
        return f"<LiveSession {self._endpoint.display_url} state={self._protocol.state.value}>"

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self) -> ev.RealtimeEvent:
        """Return the next event.

        Raises:
            trio.EndOfChannel: the session ended normally (close 1000) and every event
                was read.
            ConnectionClosedError: the server closed the connection with an error code (a
                subclass names the kind); raised after the `Closed` event was delivered.
            HeartbeatTimeoutError, RemoteProtocolError: the connection failed.
        """
        try:
            return await self._events_receive.receive()
        except trio.EndOfChannel:
            if self._failure is not None:
                raise self._failure from None
            raise

    def __aiter__(self) -> AsyncIterator[ev.RealtimeEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ev.RealtimeEvent]:
        while True:
            try:
                event = await self.receive()
            except trio.EndOfChannel:
                return
            yield event

    # --- sending -----------------------------------------------------------------------------

    async def send(self, message: ClientMessage) -> None:
        """Queue any client message except `setup` (validated and encoded here)."""
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise SessionClosedError("the session is closed")
        frame = self._protocol.send(message)
        try:
            await self._outgoing_send.send(frame)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise self._failure or SessionClosedError("the session is closed") from None

    async def send_audio(self, pcm: AudioBuffer, *, sample_rate: int = 16000) -> None:
        """Send 16-bit little-endian mono PCM (`realtimeInput.audio`).

        `pcm` may be bytes, bytearray or memoryview; it is base64-encoded straight from the
        buffer, without an intermediate copy.
        """
        if len(pcm) % 2:
            raise LocalProtocolError("16-bit PCM must have an even number of bytes")
        blob = Blob(data=pcm, mime_type=f"audio/pcm;rate={sample_rate}")  # type: ignore[arg-type]
        await self.send(ClientMessage(realtime_input=RealtimeInput(audio=blob)))

    async def send_video(self, frame: AudioBuffer, *, mime_type: str = "image/jpeg") -> None:
        """Send one image frame (`realtimeInput.video`), normally JPEG at about 1 fps."""
        if not mime_type.startswith("image/"):
            raise LocalProtocolError(f"video frames need an image/* MIME type, got {mime_type!r}")
        blob = Blob(data=frame, mime_type=mime_type)  # type: ignore[arg-type]
        await self.send(ClientMessage(realtime_input=RealtimeInput(video=blob)))

    async def send_text(self, text: str) -> None:
        """Send realtime text (`realtimeInput.text`): counts as user input under VAD."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(text=text)))

    async def send_client_content(
        self,
        turns: str | Content | Sequence[Content] | None = None,
        *,
        turn_complete: bool = True,
    ) -> None:
        """Append turns to the history (`clientContent`); a `str` is one user text turn."""
        if isinstance(turns, str):
            turn_list: list[Content] | None = [Content(parts=[Part(text=turns)], role="user")]
        elif isinstance(turns, Content):
            turn_list = [turns]
        elif turns is None:
            turn_list = None
        else:
            turn_list = list(turns)
        await self.send(
            ClientMessage(
                client_content=ClientContent(turns=turn_list, turn_complete=turn_complete)
            )
        )

    async def activity_start(self) -> None:
        """Mark the start of user activity (automatic activity detection must be off)."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(activity_start=ActivityStart())))

    async def activity_end(self) -> None:
        """Mark the end of user activity: the model answers."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(activity_end=ActivityEnd())))

    async def audio_stream_end(self) -> None:
        """Tell the server the microphone paused (flushes its cached audio)."""
        await self.send(ClientMessage(realtime_input=RealtimeInput(audio_stream_end=True)))

    async def send_tool_response(self, *responses: FunctionResponse) -> None:
        """Answer tool calls (`toolResponse`). Each response needs the call's id and name."""
        for response in responses:
            if not response.id:
                raise LocalProtocolError("a function response needs the id of its call")
            if not response.name:
                raise LocalProtocolError(
                    f"function response {response.id!r} needs the function name"
                )
        await self.send(
            ClientMessage(tool_response=ToolResponse(function_responses=list(responses)))
        )

    async def respond(
        self,
        call_id: str,
        result: Any,
        *,
        name: str | None = None,
        scheduling: str | None = None,
        will_continue: bool | None = None,
    ) -> None:
        """Answer one tool call; the name is looked up from the pending call if not given.

        A `dict` result is sent as the response object; anything else as `{"result": ...}`.
        """
        function_name = name or self._protocol.pending_calls.get(call_id)
        if not function_name:
            raise LocalProtocolError(
                f"unknown tool call id {call_id!r}: pass name=... or answer a pending call"
            )
        response: dict[str, Any] = result if isinstance(result, dict) else {"result": result}  # pyright: ignore[reportUnknownVariableType]
        await self.send_tool_response(
            FunctionResponse(
                id=call_id,
                name=function_name,
                response=response,
                scheduling=scheduling,
                will_continue=will_continue,
            )
        )

    async def update_context(
        self,
        *,
        system_instruction: str | Content | None = None,
        tools: Sequence[Tool] | None = None,
    ) -> None:
        """Replace the system instruction and/or tools mid-session (`contextUpdate`).

        Only some newer models support it (protocol.md section 2.6).
        """
        if system_instruction is None and tools is None:
            raise LocalProtocolError("update_context needs system_instruction and/or tools")
        instruction = (
            Content(parts=[Part(text=system_instruction)], role="user")
            if isinstance(system_instruction, str)
            else system_instruction
        )
        update = ContextUpdate(
            system_instruction=instruction,
            tools=ToolsUpdate(tools=list(tools)) if tools is not None else None,
        )
        await self.send(ClientMessage(context_update=update))

    async def aclose(self) -> None:
        """Close the connection (code 1000); bounded by `SessionOptions.close_timeout`."""
        if self._closing:
            return
        self._closing = True
        await self._close_transport(1000, "")
        self._outgoing_send.close()

    async def _close_transport(self, code: int, reason: str) -> None:
        # Shielded but bounded: the close handshake must run even while cancelled, and a
        # dead peer must not hold it up past close_timeout.
        with (
            trio.CancelScope(shield=True),
            trio.move_on_after(self._options.close_timeout),
            suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError),
        ):
            await self._transport.aclose(code, reason)

    # --- the three tasks ---------------------------------------------------------------------

    async def start(self, setup: Setup) -> None:
        """Send `setup` and wait, bounded by `setup_timeout`, for `setupComplete`."""
        frame = self._protocol.start(_prepare_setup(setup, self._endpoint))
        try:
            await self._transport.send(frame)
        except TransportClosedError as exc:
            await self._connection_lost(exc.code, exc.reason)
        with trio.move_on_after(self._options.setup_timeout):
            await self._settled.wait()
        if self._failure is not None:
            raise self._failure
        if not self._opened.is_set():
            raise SetupTimeoutError(
                f"no setupComplete from {self._endpoint.display_url} within "
                f"{self._options.setup_timeout:g} s"
            )

    def _spawn_tasks(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._receiver)
        nursery.start_soon(self._sender)
        nursery.start_soon(self._heartbeat)

    async def _deliver(self, event: ev.RealtimeEvent) -> None:
        try:
            self._events_send.send_nowait(event)
        except trio.WouldBlock:
            self._consumer_blocked = True
            try:
                await self._events_send.send(event)
            finally:
                self._consumer_blocked = False
                self._last_inbound = trio.current_time()

    async def _receiver(self) -> None:
        try:
            while True:
                batch = await self._transport.receive_batch()
                self._last_inbound = trio.current_time()
                for frame in batch:
                    self._frames_received += 1
                    self._bytes_received += len(frame)
                    for event in self._protocol.receive_frame(frame):
                        if type(event) is ev.SessionCreated:
                            self._opened.set()
                            self._settled.set()
                        await self._deliver(event)
        except TransportClosedError as exc:
            await self._connection_lost(exc.code, exc.reason)
        except RemoteProtocolError as exc:
            log.warning("closing the session: %s", exc)
            await self._fail(exc, 1007, str(exc)[:120])

    async def _sender(self) -> None:
        await self._opened.wait()
        try:
            async for frame in self._outgoing_receive:
                await self._transport.send(frame)
                self._protocol.frame_sent()
                self._frames_sent += 1
                self._bytes_sent += len(frame)
        except TransportClosedError:
            pass  # the receiver sees the same close and reports it

    async def _heartbeat(self) -> None:
        interval = self._options.ping_interval
        async with trio.open_nursery() as pings:
            while True:
                await trio.sleep(interval)
                now = trio.current_time()
                if self._consumer_blocked:
                    # The receiver is waiting for the user, not for the peer.
                    self._last_inbound = now
                    continue
                silence = now - self._last_inbound
                if silence >= self._options.silence_limit:
                    await self._fail(
                        HeartbeatTimeoutError(
                            f"no frame or pong from the server for {silence:.0f} s "
                            f"(limit {self._options.silence_limit:g} s)"
                        ),
                        1011,
                        "keepalive timeout",
                    )
                    return
                if silence >= interval and not self._ping_in_flight:
                    pings.start_soon(self._ping_once)

    async def _ping_once(self) -> None:
        self._ping_in_flight = True
        try:
            await self._transport.ping()
            self._last_inbound = trio.current_time()
        except (TransportClosedError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the receiver reports the close
        finally:
            self._ping_in_flight = False

    async def _connection_lost(self, code: int, reason: str) -> None:
        if self._finished.is_set():
            return
        self._finished.set()
        action, error = self._protocol.close_received(code, reason)
        if action is not CloseAction.END and self._failure is None and not self._closing:
            self._failure = error
        log.debug("connection closed: %s %s (%s)", code, reason, action.value)
        await self._emit_closed(ev.Closed(code=code, reason=reason))

    async def _fail(self, error: GeminiLiveError, code: int, reason: str) -> None:
        if self._finished.is_set():
            return
        self._finished.set()
        self._failure = error
        await self._close_transport(code, reason)
        self._protocol.state = SessionState.CLOSED
        await self._emit_closed(ev.Closed(code=code, reason=reason))

    async def _emit_closed(self, closed: ev.Closed) -> None:
        self._settled.set()
        self._outgoing_send.close()
        # Bounded: a reader that never reads must not keep the receiver alive forever.
        with trio.move_on_after(self._options.close_timeout):
            await self._deliver(closed)
        self._events_send.close()


def _prepare_setup(setup: Setup | str, endpoint: Endpoint) -> Setup:
    if isinstance(setup, str):
        setup = Setup(model=setup)
    model = model_resource_name(
        setup.model,
        vertex=endpoint.vertex,
        project=endpoint.project,
        location=endpoint.location,
    )
    return msgspec.structs.replace(setup, model=model)


@asynccontextmanager
async def open_session(
    setup: Setup | str,
    *,
    api_key: str | None = None,
    endpoint: Endpoint | None = None,
    options: SessionOptions | None = None,
    connector: Connector | None = None,
    start: bool = True,
) -> AsyncGenerator[LiveSession]:
    """Open a Live API session: connect, send `setup`, wait for `setupComplete`.

    Args:
        setup: the session's `Setup` (see `live_setup`), or just a model name.
        api_key: the Gemini API key (default: `GEMINI_API_KEY`, then `GOOGLE_API_KEY`);
            sent in the `x-goog-api-key` header, never in the URL.
        endpoint: where to connect (default: the Gemini API, `v1beta`); see
            `gemini_endpoint`, `vertex_endpoint` and `url_endpoint`.
        options: timeouts, heartbeat and buffer bounds (`SessionOptions`).
        connector: an async callable returning a connected stream, instead of TCP/TLS
            (the emulator's in-memory connector for tests).
        start: send `setup` now (default). With False, call `session.start(setup)` later.

    Raises:
        TransportError: the connection could not be opened within `connect_timeout`.
        SetupTimeoutError: no `setupComplete` within `setup_timeout`.
        ConnectionClosedError: the server refused the setup (a subclass says why).
    """
    options = options or SessionOptions()
    if endpoint is None:
        endpoint = gemini_endpoint(resolve_api_key(api_key))
    prepared = _prepare_setup(setup, endpoint)  # fail fast on a bad model name
    try:
        async with trio.open_nursery() as nursery:
            transport: Transport | None = None
            with trio.move_on_after(options.connect_timeout):
                transport = await open_trio_websocket(
                    nursery,
                    endpoint,
                    ssl_context=options.tls_context(),
                    connector=connector,
                    max_message_size=options.max_message_size,
                    receive_buffer_size=options.receive_buffer_size,
                )
            if transport is None:
                raise TransportError(
                    f"connecting to {endpoint.display_url} took longer than "
                    f"{options.connect_timeout:g} s"
                )
            session = LiveSession(transport, options, endpoint)
            session._spawn_tasks(nursery)  # pyright: ignore[reportPrivateUsage]
            try:
                if start:
                    await session.start(prepared)
                yield session
            finally:
                await session.aclose()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        leaf = _unwrap_group(group)
        if leaf is None:
            raise
        raise leaf from None
