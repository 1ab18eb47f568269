"""Serving: trio-websocket connections, the per-connection loop, recording and fault control.

Every transport (TCP, TLS, in-memory streams) goes through `Emulator._serve_stream`, which
wraps the stream for fault injection, runs the WebSocket handshake with trio-websocket, checks
route, credential and setup like Google does, then feeds client messages to the `Model`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import ssl
import struct
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import msgspec
import trio
from trio_websocket import CloseReason, ConnectionClosed, WebSocketRequest

from .._groups import BlockErrors, leaf_exceptions
from .._require_trio import require_trio
from .._wire import (
    Blob,
    ClientMessage,
    GoAwayMessage,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdateMessage,
    Setup,
    SetupCompleteMessage,
    Transcription,
    WireStruct,
)
from ._arguments import bad_function_name, bad_setup_arguments
from ._config import PREBUILT_VOICES, EmulatorConfig, check_seconds, sendable_close_code
from ._faults import Fault
from ._latency import check_latency, delayed_stream_pair
from ._lifetime import PendingInput, ResumptionStore, SessionState, format_duration
from ._limits import carries_video, session_deadline
from ._model import Model
from ._recording import (
    ForgottenConnectionError,
    ForgottenFramesError,
    FrameWait,
    PathCounts,
    WaitTimeoutError,
    find_connection,
    forget_closed,
    present,
    track,
    trim_recordings,
    untrack,
)
from ._routes import Credential, Route, extract_credential, parse_route, redact_headers, redact_path
from ._validate import INVALID_ARGUMENT, NOT_UTF8, ClientFrameError, parse_client_frame
from ._websocket import NotUtf8Text, ServerWebSocket

if TYPE_CHECKING:
    from .._options import SessionOptions
    from .._session import LiveSession

__all__ = [
    "Emulator",
    "EmulatorConnection",
    "Frame",
    "FramePredicate",
    "encode_server_message",
    "open_emulator",
]

log = logging.getLogger("trio_gemini_live.emulator")

SETUP_FIRST = "setup must be the first message and only the first"
BAD_KEY = "API key not valid. Please pass a valid API key."
NO_CREDENTIAL = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
SESSION_IN_USE = "The session is already in use by another connection."
_VERTEX_PREFIX = "publishers/google/models/"

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class _ProtoBlob(WireStruct):
    """`Blob` in proto field-number order (`mime_type` 1, `data` 2), as Google writes it.

    The shared `Blob` lists `data` first: the order clients send it in (the recorded
    js-genai frames and google-genai's, protocol.md section 5.2), which this package's
    client keeps. The server's `inlineData` reads `mimeType` first (protocol.md 3.2).
    """

    mime_type: str = ""
    data: bytes = b""


def _blobs_in_proto_order(message: ServerMessage) -> ServerMessage:
    """`message` with each `modelTurn` part's `inlineData` as a `_ProtoBlob` (for encoding)."""
    content = message.server_content
    turn = content.model_turn if content is not None else None
    if content is None or turn is None or not any(p.inline_data for p in turn.parts):
        return message
    parts = [
        part
        if part.inline_data is None
        else msgspec.structs.replace(
            part,
            # Only encoded, never read back: msgspec writes any Struct it is given.
            inline_data=cast(
                Blob, _ProtoBlob(mime_type=part.inline_data.mime_type, data=part.inline_data.data)
            ),
        )
        for part in turn.parts
    ]
    turn = msgspec.structs.replace(turn, parts=parts)
    content = msgspec.structs.replace(content, model_turn=turn)
    return msgspec.structs.replace(message, server_content=content)


def encode_server_message(message: ServerMessage, *, vertex: bool = False) -> bytes:
    """Google's server formatting: camelCase, defaults omitted, 2-space indent, trailing newline.

    Fields come in proto field-number order, as Google writes them (`inlineData`:
    `mimeType`, then `data`). With `vertex`, a
    `modelTurn` lists `role` before `parts`: Vertex's `Content` numbers them the other way
    round from the Gemini API's (which never sends a role on Live model turns), as
    Vertex's recorded frames show. The shared `Content` Struct keeps the Gemini order.
    """
    raw = _encoder.encode(_blobs_in_proto_order(message))
    content = message.server_content
    if vertex and content is not None and content.model_turn and content.model_turn.role:
        data = _decoder.decode(raw)
        turn = data["serverContent"]["modelTurn"]
        data["serverContent"]["modelTurn"] = {"role": turn.pop("role"), **turn}
        raw = _encoder.encode(data)
    return msgspec.json.format(raw, indent=2) + b"\n"


def check_close(code: int, reason: str) -> None:
    """Refuse a close `EmulatorConnection.close` could not send as given.

    Why: wsproto sent 1006 as 1000, and took 999 or 5000, which the client then saw as
    something else, while `close_code` recorded what was asked for: a test asserting it
    passed on a close the client never received.
    """
    given = cast(object, code)  # the annotations promise what is checked here
    if isinstance(given, bool) or not isinstance(given, int):
        raise TypeError(f"the close code must be an int, not {type(given).__name__} {code!r}")
    if not isinstance(cast(object, reason), str):
        raise TypeError(f"the close reason must be a str, not {type(reason).__name__}")
    if code == 1006:
        raise ValueError(
            "close code 1006 is never sent: a client reports it when the connection drops "
            "without a close frame; conn.reset() drops it so"
        )
    if not sendable_close_code(code):
        raise ValueError(
            f"close code {code} cannot be sent in a close frame: a server may send 1000-4999 "
            "but 1005, 1006 and 1015 (RFC 6455)"
        )


def _truncate_reason(reason: str) -> str:
    # A close frame's reason is capped at 123 bytes; Google cuts mid-sentence.
    raw = reason.encode()
    return raw[:123].decode(errors="ignore") if len(raw) > 123 else reason


def bare_model_id(model: str) -> str:
    """The model id without `models/` or Vertex `.../publishers/google/models/` prefixes."""
    if _VERTEX_PREFIX in model:
        return model.split(_VERTEX_PREFIX, 1)[1]
    return model.removeprefix("models/")


@dataclass(frozen=True)
class Frame:
    """One recorded WebSocket message.

    Attributes:
        raw: The payload bytes exactly as sent or received (text frames UTF-8 encoded).
        data: The decoded JSON object, or None if the payload was not a JSON object. A
            client frame the emulator refused (and closed the connection for) keeps its
            object too when only its validation failed (an unknown field, a wrong type).
        binary: Whether it travelled in a binary frame.
        time: `trio.current_time()` when it was recorded.
    """

    raw: bytes
    data: dict[str, Any] | None
    binary: bool
    time: float

    def get(self, path: str) -> Any:
        """Value at a dotted path such as `serverContent.turnComplete`, or None."""
        node: Any = self.data
        for name in path.split("."):
            if not isinstance(node, dict):
                return None
            node = cast("dict[str, Any]", node).get(name)
        return node


FramePredicate = Callable[[Frame], bool] | str
"""What `wait_for_sent`/`wait_for_received` wait for: a test of a `Frame`, or a dotted path
(`"serverContent.turnComplete"`, not empty) whose value must be present and not false."""


def _wait_deadline(config: EmulatorConfig) -> tuple[float, float]:
    """When a wait begun now gives up (`EmulatorConfig.wait_timeout`), and its seconds.

    A bound in the configuration, not a `timeout` argument: trio bounds a wait with a
    cancel scope around it (`trio.fail_after`), which composes with this one (the
    tighter wins); this one only makes sure no wait of a test hangs for ever.
    """
    seconds = math.inf if config.wait_timeout is None else float(config.wait_timeout)
    return trio.current_time() + seconds, seconds


def _describe_wait(direction: str, match: FramePredicate, count: int) -> str:
    """The wait as it was called: `wait_for_sent('serverContent.turnComplete', count=2)`."""
    shown = repr(match) if isinstance(match, str) else getattr(match, "__qualname__", repr(match))
    return f"wait_for_{direction}({shown}, count={count})"


def _counts_frames(fault: Fault) -> bool:
    """Whether `fault` fires at a count of frames sent or received."""
    return fault.triggered and (fault.after_frames is not None or fault.after_received is not None)


def _matcher(match: FramePredicate) -> Callable[[Frame], bool]:
    """The test of a frame `match` stands for, or a clear error if it stands for none.

    Why: anything else failed later with `'int' object is not callable`, naming neither the
    argument nor what it must be; `""` was a wait that never matched.
    """
    given = cast(object, match)  # the annotation promises what is checked here
    if isinstance(given, str):
        if not given:
            raise ValueError(
                "match is an empty dotted path: name the field to wait for, such as "
                "'serverContent.turnComplete'"
            )
        return lambda frame: present(frame.get(given))
    if not callable(given):
        raise TypeError(
            "match must be a dotted path (a str such as 'serverContent.turnComplete') or a "
            f"callable taking a Frame, not {type(given).__name__} {given!r}"
        )
    return cast("Callable[[Frame], bool]", given)


def _matches(check: Callable[[Frame], bool], frame: Frame) -> bool:
    return frame.data is not None and check(frame)


class _FaultStream(trio.abc.Stream):
    """Sits under trio-websocket: slow reads, blackholed writes, abrupt resets."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.read_delay = 0.0
        self.read_bytes: int | None = None
        self.blackholed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.blackholed:
            await trio.lowlevel.checkpoint()
            return
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self.read_delay:
            await trio.sleep(self.read_delay)
        if self.read_bytes is not None:
            max_bytes = min(max_bytes or self.read_bytes, self.read_bytes)
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def reset(self) -> None:
        """Close the TCP connection with RST (SO_LINGER 0) and no close frame."""
        transport: trio.abc.Stream = self.inner
        if isinstance(transport, trio.SSLStream):
            transport = cast("trio.SSLStream[trio.abc.Stream]", transport).transport_stream
        if isinstance(transport, trio.SocketStream):
            with contextlib.suppress(OSError):
                transport.socket.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            await trio.aclose_forcefully(transport)
        await trio.aclose_forcefully(self.inner)


# Seconds a stream may take to send its complete upgrade request before it is closed.
_HANDSHAKE_TIMEOUT = 10.0


class EmulatorConnection:
    """One client connection: what was sent and received, how it ended, and fault control.

    Credentials never appear here: `path` and `headers` are redacted. `number` is its place
    in the order connections were upgraded, from 1 (what `Emulator.wait_for_connection`
    and `Fault(connection=N)` take, and what the log and the repr show); it stays the same
    when older connections are forgotten. `index` counts every stream accepted, upgraded
    or not (a 404 or a plain HTTP probe too): it names a stream that never got a number.

    `model` is the session's model while the connection is open, None before `setup` and
    once closed: a closed connection keeps its record (frames, close, `setup`, `session`,
    `handle_coverage`), not the model's audio buffers and waiting turns. `handle_coverage`
    maps each of the newest `EmulatorConfig.handles_per_session` handles it issued (those
    that may still resume the session) to how many client messages after `setup` it covers.
    """

    def __init__(self, emulator: Emulator, index: int, stream: _FaultStream) -> None:
        self.emulator = emulator
        self.index = index
        self.number = 0  # set on the upgrade: unnumbered connections are never listed
        self.path = ""
        self.headers: list[tuple[str, str]] = []
        self.route: Route | None = None
        self.credential_kind: str | None = None
        self.setup: Setup | None = None
        self.model_id: str | None = None
        self.session: SessionState | None = None
        self.opened = False  # `setupComplete` was sent: the client's session is open
        self.model: Model | None = None
        self.received: list[Frame] = []
        self.sent: list[Frame] = []
        # Frames forgotten from the front of `sent`/`received` (`EmulatorConfig.record_frames`):
        # `received[i - received_dropped]` is the i-th frame received.
        self.sent_dropped = 0
        self.received_dropped = 0
        # The dotted paths those forgotten frames held, counted as they are forgotten
        # (`trim_recordings`): what a dotted-path wait counts of frames it can no longer see.
        self._forgotten_paths: dict[Literal["sent", "received"], PathCounts] = {
            "sent": PathCounts(),
            "received": PathCounts(),
        }
        # Handle -> how many client messages after `setup` its state includes: the truth
        # a test checks replay against, which the wire tells only in transparent mode. Only
        # the newest `handles_per_session` handles it issued: older ones resume nothing.
        self.handle_coverage: dict[str, int] = {}
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_by: Literal["server", "client", "reset"] | None = None
        # Chosen on the upgrade (`Emulator._handle`), by `number`: `conn=N` means the N-th
        # connection `wait_for_connection` counts, not the N-th stream accepted (a 404
        # probe or a failed handshake is one of those).
        self.faults: list[Fault] = []
        # Those of `faults` that fire at a frame count, until they have fired.
        self._armed: list[Fault] = []
        self._stream = stream
        self._ws: ServerWebSocket | None = None
        self._nursery: trio.Nursery | None = None
        self._send_lock = trio.Lock()
        self._changed = trio.Event()
        self._waits: set[FrameWait] = set()  # `wait_for_sent`/`_received` in progress
        self._closed = trio.Event()
        self._halted = False
        self._muted = False
        self._video_seen = trio.Event()
        self._resumption = False
        self._transparent = False
        # `EmulatorConfig.first_handle="turn"`: no update until a turn has completed.
        self._handles_held = False
        # A client message is being handed to the model; a resumable handle asked for
        # meanwhile waits until it has been (see `resumption_update`).
        self._processing = False
        self._handle_deferred = False
        # The input in progress a resumed handle kept (see `PendingInput`).
        self._restored_input: PendingInput | None = None
        self._start_time = trio.current_time()  # set again at the upgrade (`_handle`)

    def __repr__(self) -> str:
        # `number`, as users count connections; a stream never upgraded has none.
        label = f"#{self.number}" if self.number else f"(not upgraded, stream {self.index})"
        return (
            f"<EmulatorConnection {label} {self.path!r} sent={self.frames_sent} "
            f"received={self.frames_received} close={self.close_code}>"
        )

    # --- inspection -----------------------------------------------------------------------------

    @property
    def frames_sent(self) -> int:
        """How many frames were sent, recorded or since forgotten (`record_frames`)."""
        return self.sent_dropped + len(self.sent)

    @property
    def frames_received(self) -> int:
        """How many frames were received, recorded or since forgotten (`record_frames`)."""
        return self.received_dropped + len(self.received)

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self._closed.is_set()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _ending(self) -> str:
        """How the connection ended, for an error: code, reason and who ended it."""
        code, reason = self.close_code, self.close_reason or ""
        if self.closed_by == "reset":
            return "reset by the emulator (1006: no close frame)"
        if self.closed_by == "client" and code == 1006:
            return "dropped by the client (1006: no close frame)"
        if self.closed_by == "client":
            return f"closed by the client with {code} {reason!r}"
        if self.closed_by == "server":
            end = "dropped" if code == 1006 else "closed"
            return f"{end} by the emulator with {code} {reason!r}"
        # Nothing recorded: `open_emulator` closed it, or its handler failed (logged).
        return "ended, no close recorded: the emulator shut it down, or see its log"

    async def _wait(
        self, direction: Literal["sent", "received"], match: FramePredicate, count: int
    ) -> list[Frame]:
        given = cast(object, count)  # the annotation promises what is checked here
        if isinstance(given, bool) or not isinstance(given, int):
            # 1.5 waited for 2 frames; "2" or None failed with a bare TypeError.
            raise TypeError(f"count is how many frames must match, an int, not {count!r}")
        if count < 1:
            # 0 or a negative count returned [] at once, as if something had matched.
            raise ValueError(f"count must be at least 1, got {count}")
        deadline, seconds = _wait_deadline(self.emulator.config)
        check = _matcher(match)
        frames, dropped = (
            (self.sent, self.sent_dropped)
            if direction == "sent"
            else (self.received, self.received_dropped)
        )
        found = [f for f in frames if _matches(check, f)]
        # A dotted path's matches among the forgotten frames are known; a predicate's not.
        forgotten = self._forgotten_paths[direction].count(match) if isinstance(match, str) else 0
        wait = FrameWait(direction, check, count, found, forgotten)
        if not wait.done and dropped and not isinstance(match, str):
            # The count could have been reached among frames no longer there to ask.
            config = self.emulator.config
            raise ForgottenFramesError(
                self.number,
                direction,
                count,
                len(wait.found),
                dropped,
                config.record_frames,
                config.record_bytes,
            )
        # From here on each frame is offered as it is recorded (`_record`), before
        # `record_frames` can forget it: no checkpoint since the scan and count above.
        self._waits.add(wait)
        what = f"{_describe_wait(direction, match, count)} on connection {self.number}"
        try:
            with trio.move_on_at(deadline):
                while not wait.done and not self.closed:
                    await self._changed.wait()
        finally:
            self._waits.discard(wait)
        if wait.done:
            return wait.result()
        if self.closed:
            raise ConnectionError(
                f"{what}: the connection ended ({self._ending()}) with {wait.matched} of the "
                f"{count} matching frames"
            )
        raise WaitTimeoutError(
            what, seconds, f"{wait.matched} of the {count} matching frames, and it is open"
        )

    async def wait_for_sent(self, match: FramePredicate, count: int = 1) -> list[Frame]:
        """Wait until `count` sent frames match; `match` is a dotted path or a predicate.

        Frames are counted from the connection's first, those already sent included; a
        frame sent while the wait is in progress counts even if `record_frames` has
        forgotten it since.

        Frames forgotten before the wait began (`EmulatorConfig.record_frames`) count for a
        dotted path: the emulator counts the paths each frame held as it forgets it. A
        predicate can only be asked of frames still recorded, so a predicate wait raises
        `ForgottenFramesError` at once if, and only if, fewer than `count` of those match
        and frames of this direction were forgotten before it began (whether the count
        was already reached among them is unknowable). Otherwise it waits as a dotted-path
        wait does.

        It waits at most `EmulatorConfig.wait_timeout` (900 s of trio time by default), so
        that under an autojump clock a frame that never comes fails at once instead of
        hanging the test; bound it tighter with a cancel scope (`trio.fail_after`).

        Returns:
            The matching frames still recorded when the wait began and those recorded
            while it was in progress, oldest first: at least `count`, less the matches
            forgotten before it began, which are counted but cannot be returned (so a
            dotted-path wait may return fewer than `count` frames, even none).

        Raises:
            TypeError: `count` is not an int, or `match` neither a str nor a callable.
            ValueError: `count` is below 1, or `match` is the empty path `""`.
            ConnectionError: the connection ends first; the message names the wait, the
                connection, how many frames matched, and how the connection ended (close
                code, reason, and who closed it).
            WaitTimeoutError: `EmulatorConfig.wait_timeout` passed first (the message says
                the same, and how many frames matched).
            ForgottenFramesError: `match` is a predicate, fewer than `count` frames still
                recorded match, and frames forgotten before the wait began might have.
            Exception: what `match` raised, if it did.
        """
        return await self._wait("sent", match, count)

    async def wait_for_received(self, match: FramePredicate, count: int = 1) -> list[Frame]:
        """Like `wait_for_sent`, for frames the client sent."""
        return await self._wait("received", match, count)

    async def wait_closed(self) -> None:
        """Wait until the connection has ended (either side).

        At most `EmulatorConfig.wait_timeout` (the connection's own deadline, `lifetime`,
        ends it before that by default).

        Raises:
            WaitTimeoutError: it is still open once `wait_timeout` has passed.
        """
        deadline, seconds = _wait_deadline(self.emulator.config)
        with trio.move_on_at(deadline):
            await self._closed.wait()
        if not self.closed:
            raise WaitTimeoutError(
                f"wait_closed() on connection {self.number}", seconds, "the connection is open"
            )

    # --- fault control --------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Apply a fault to this connection from now on (triggers count from the start).

        A trigger already met (`after_frames` frames sent, `after_received` received,
        `after_seconds` passed since the upgrade) fires at once.

        Raises:
            ValueError: `fault.connection` names another connection than this one.
        """
        if fault.connection is not None and fault.connection != self.number:
            # It fired here all the same: a test meaning another connection saw this one fail.
            raise ValueError(
                f"Fault(connection={fault.connection}) cannot be injected on connection "
                f"{self.number}: inject it on connection {fault.connection} "
                "(emu.wait_for_connection(n)), or leave connection None"
            )
        self.faults.append(fault)
        self._apply_static_faults()
        if fault.triggered and self._nursery is not None:
            if fault.after_seconds is not None:
                self._start_soon(self._timed_fault, fault)
            if _counts_frames(fault):
                self._armed.append(fault)
                self._check_triggers()
            elif fault.after_seconds is None:
                self._start_soon(self._fire, fault)

    def _start_soon(self, task: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run `task` in the connection's nursery; nothing once the connection is ending.

        The nursery takes no new task once its connection has begun to end, before `closed`
        says so: `inject` and `go_away` raised trio's bare `RuntimeError` then.
        """
        nursery = self._nursery
        if nursery is None:
            return
        # "Nursery is closed to new arrivals": the connection ends anyway.
        with suppress(RuntimeError):
            nursery.start_soon(task, *args)

    def _has(self, kind: str) -> Fault | None:
        return next((f for f in self.faults if f.kind == kind), None)

    def _apply_static_faults(self) -> None:
        if slow := self._has("slow-read"):
            self._stream.read_delay = slow.seconds
            self._stream.read_bytes = slow.read_bytes
        if (pong := self._has("pong-delay")) and self._ws is not None:
            self._ws.pong_delay = pong.seconds

    def stalled(self) -> bool:
        """Whether the `stall` fault is active."""
        return self._has("stall") is not None

    def blackhole(self) -> None:
        """From now on send nothing, not even pongs; keep reading."""
        self._halted = True
        self._stream.blackholed = True

    async def close(self, code: int, reason: str = "") -> None:
        """Close with a close frame (reason truncated to 123 bytes like Google), then drop.

        If the client's close frame has been read already (the emulator is still handling
        the messages sent before it), none goes out: the client's close is recorded, once
        the reply to it is written. A close frame that does not go out (in
        `close_timeout`) is not recorded: the client's close if one came, else 1006.

        Raises:
            TypeError: `code` is not an int or `reason` not a str.
            ValueError: `code` cannot be sent in a close frame: a server may send 1000 to
                4999 but 1005, 1006 and 1015 (RFC 6455), the rule `Fault(kind="close")`
                follows. For 1006 (a connection dropped without a close frame) use
                `reset()`.
        """
        check_close(code, reason)
        if self.closed_by is not None:
            return
        self._halted = True
        ws = self._ws
        timeout = self.emulator.config.close_timeout
        if ws is not None and ws.closed is not None:
            # The client's close came first (the emulator is still handling the messages
            # it sent before it), or the WebSocket's own (1009). That close ended the
            # connection; none can follow it. The reader may still be writing its reply
            # (or our 1009): dropping the stream under it left the client without one.
            with trio.move_on_after(timeout):
                await ws.wait_for_writes()
            self._record_ws_close(ws.closed)
            await self._shutdown()
            return
        reason = _truncate_reason(reason)
        # Recorded now, so that nothing else records an end meanwhile; put right below if
        # the close frame did not go out.
        self.close_code, self.close_reason, self.closed_by = code, reason, "server"
        log.info("connection %d: closing %d %s", self.number, code, reason)
        if ws is not None and not self._stream.blackholed:
            with trio.move_on_after(timeout) as waited:
                await ws.aclose(code, reason)
            if not ws.close_written:
                self._record_unwritten_close(ws, timed_out=waited.cancelled_caught)
        await self._shutdown()

    def _record_unwritten_close(self, ws: ServerWebSocket, *, timed_out: bool) -> None:
        """Record what ended the connection when our close frame did not go out.

        The client's close if it was read; else 1006, the client's if it went away during
        the write, ours if it read nothing for `close_timeout` (the stream is dropped).
        Not while the emulator shuts down: it closes its streams under every write.
        """
        if self.emulator._stopping:  # pyright: ignore[reportPrivateUsage]
            return
        log.info("connection %d: its close frame could not be written", self.number)
        if ws.client_close is None and timed_out:
            self.close_code, self.close_reason = 1006, ""
            return
        self.closed_by = None
        self._record_ws_close(ws.client_close)

    async def reset(self) -> None:
        """Drop TCP abruptly: no close frame (the client sees 1006)."""
        if self.closed_by is not None:
            return
        self._halted = True
        self.close_code, self.close_reason, self.closed_by = 1006, "", "reset"
        await self._stream.reset()
        await self._shutdown()

    async def _shutdown(self) -> None:
        with trio.CancelScope(shield=True):
            await trio.aclose_forcefully(self._stream)
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def _release(self) -> None:
        """Let go of what only an open connection needs, once it has ended.

        `Emulator.connections` keeps closed connections for inspection: each keeps its
        record, not its WebSocket machinery and buffers (~10 kB a connection), nor its
        model, whose VAD held the utterance in progress (~34 kB a second of speech, up to
        `max_utterance_ms`), turns waiting, pending calls and the connection's nursery.
        """
        self._ws = self._nursery = None
        self.model = None
        self._restored_input = None

    async def _fire(self, fault: Fault) -> None:
        if fault.kind == "close":
            await self.close(fault.code, fault.reason)
        elif fault.kind == "reset":
            await self.reset()
        elif fault.kind == "blackhole":
            self.blackhole()

    def _check_triggers(self) -> None:
        """Fire each armed fault whose frame count is reached (`>=`: once, not only at ==)."""
        if self._nursery is None or not self._armed:
            return
        for fault in [f for f in self._armed if self._reached(f)]:
            self._armed.remove(fault)
            # Halt at once so no frame slips out between the trigger and the task running.
            if fault.kind == "blackhole":
                self.blackhole()
            else:
                self._halted = True
                self._nursery.start_soon(self._fire, fault)

    def _reached(self, fault: Fault) -> bool:
        sent, received = fault.after_frames, fault.after_received
        return (sent is not None and self.frames_sent >= sent) or (
            received is not None and self.frames_received >= received
        )

    async def _timed_fault(self, fault: Fault) -> None:
        assert fault.after_seconds is not None
        await trio.sleep_until(self._start_time + fault.after_seconds)
        await self._fire(fault)

    # --- sending --------------------------------------------------------------------------------

    async def send(self, message: ServerMessage) -> None:
        """Send one server message, applying the message-shaping faults."""
        if self._muted and message.go_away is None:
            # `stall-after-interrupt`: the backend hangs; the frontend's goAway still comes.
            await trio.lowlevel.checkpoint()
            return
        content = message.server_content
        if content is not None and content.turn_complete:
            # `first_handle="turn"`: from the first turn's end on, updates come as usual.
            self._handles_held = False
            if self._has("empty-frames"):
                # Both shapes of "nothing" Google sends: a bare `serverContent` [F] and a
                # transcription without text [R] (protocol.md section 1.6, item 3).
                empty = (ServerContent(), ServerContent(output_transcription=Transcription()))
                for nothing in empty:
                    await self._send_raw(self._encode(ServerMessage(server_content=nothing)))
        late = self._has("late-usage")
        if late and message.usage_metadata is not None and content is not None:
            usage = message.usage_metadata
            await self._send_raw(self._encode(ServerMessage(server_content=content)))
            if self._nursery is not None:
                self._nursery.start_soon(self._late_usage, usage, late.seconds)
            return
        await self._send_raw(self._encode(message))
        if content is None:
            return
        transcriptions = content.input_transcription, content.output_transcription
        if transcriptions != (None, None) and self._has("duplicate-transcriptions"):
            # Only the transcription repeats: a 3.1-style frame also carries audio parts.
            again = ServerContent(
                input_transcription=transcriptions[0], output_transcription=transcriptions[1]
            )
            await self._send_raw(self._encode(ServerMessage(server_content=again)))
        if content.interrupted and self._has("stall-after-interrupt"):
            self._muted = True

    def _encode(self, message: ServerMessage) -> bytes:
        vertex = self.emulator.config.vertex or (self.route is not None and self.route.vertex)
        return encode_server_message(message, vertex=vertex)

    async def _late_usage(self, usage: Any, delay: float) -> None:
        await trio.sleep(delay)
        if not self._muted:
            await self._send_raw(self._encode(ServerMessage(usage_metadata=usage)))

    async def _send_raw(self, raw: bytes | Callable[[], bytes]) -> None:
        """Write one frame, or the one `raw()` encodes once the frame's turn to go has come.

        `raw` is not called if the frame does not go (the connection halted first).
        """
        if self._halted or self._ws is None:
            await trio.lowlevel.checkpoint()
            return
        async with self._send_lock:
            if self._halted:
                return
            if callable(raw):
                raw = raw()
            timeout = self.emulator.config.send_timeout
            try:
                # Shielded: a frame cut by a cancellation (a barge-in ending the turn that
                # sends it) would corrupt the stream. So a client that reads nothing holds
                # the write until `send_timeout`, if set, or `_past_deadline` drops it.
                with trio.CancelScope(shield=True) as scope:
                    if timeout is not None:
                        scope.deadline = trio.current_time() + timeout
                    await self._ws.send_message(raw)
            except ConnectionClosed:
                # The client closed (or dropped) the connection: nothing more goes out. The
                # connection ends once `_receive` has taken every message the client sent
                # before its close, and recorded the close; ending it here lost them.
                self._halted = True
                return
            if scope.cancelled_caught:
                await self._drop(f"a frame could not be written in {timeout} s (send_timeout)")
                return
            self._record("sent", Frame(raw, _decoder.decode(raw), True, trio.current_time()))
            self._check_triggers()
            self._notify()

    def _record_ws_close(self, reason: CloseReason | None) -> None:
        """Record the close that ended the WebSocket (`ConnectionClosed.reason`).

        The WebSocket's own close if it sent one (`ServerWebSocket.sent_close`: 1009 for a
        message too big, say): trio-websocket gives it as the connection's close reason
        like the client's. The client's otherwise: its code, or 1006 without a close frame
        (`None`). Unless the end is recorded already (the emulator's own close, reset or
        drop came first), or the emulator is shutting down: closing its streams is no act
        of the client's.
        """
        if self.closed_by is not None:
            return
        sent = self._ws.sent_close if self._ws is not None else None
        if sent is not None:
            self.close_code, self.close_reason = sent.code, _truncate_reason(sent.reason or "")
            self.closed_by = "server"
            log.info("connection %d: closed %d %s", self.number, sent.code, self.close_reason)
            return
        if self.emulator._stopping:  # pyright: ignore[reportPrivateUsage]
            return
        self.close_code = reason.code if reason else 1006
        self.close_reason = (reason.reason or "") if reason else ""
        self.closed_by = "client"
        log.info(
            "connection %d: the client closed %d %s",
            self.number,
            self.close_code,
            self.close_reason,
        )

    async def _drop(self, why: str) -> None:
        """Drop a client that reads nothing, without a close frame: one is stuck or cut."""
        self._halted = True
        if self.closed_by is None:
            self.close_code, self.close_reason, self.closed_by = 1006, "", "server"
        log.warning("connection %d: dropped, the client reads nothing: %s", self.number, why)
        await self._shutdown()

    async def _past_deadline(self) -> None:
        """Drop the connection if it is still there `close_timeout` after its deadline.

        It is closed at the deadline (`_close_at`); but to a client that reads nothing the
        goAway before it waits for ever, and the close with it (or `setupComplete`, with
        buffers that small). Writes are not bounded otherwise unless `send_timeout` is set.
        """
        config = self.emulator.config
        await trio.sleep_until(self._start_time + config.lifetime + config.close_timeout)
        if self.closed_by is None:  # else its close is under way, bounded by close_timeout
            await self._drop("its deadline passed with a frame still unwritten")

    def _record(self, direction: Literal["sent", "received"], frame: Frame) -> None:
        if not self.sent and not self.received:  # an open one is listed while it holds frames
            track(self.emulator._trimmable, self)  # pyright: ignore[reportPrivateUsage]
        (self.sent if direction == "sent" else self.received).append(frame)
        for wait in self._waits:
            if wait.direction == direction:
                wait.offer(frame)
        # Last: this may forget frames, this one included with a tiny `record_frames`.
        self.emulator._recorded(len(frame.raw))  # pyright: ignore[reportPrivateUsage]

    async def resumption_update(self, resumable: bool) -> None:
        """Send `sessionResumptionUpdate` (only if the setup asked for resumption).

        A resumable update's handle snapshots the state now, but is made (and counted toward
        `EmulatorConfig.handles_per_session`) only once the update is being written: one
        made for an update never written pushed out the handle the client holds.
        """
        # `stall-after-interrupt` (`send`): no update goes out, so no handle is made.
        if not self._resumption or self.session is None or self._handles_held or self._muted:
            return
        if resumable and self._processing:
            # A handle covers every message received (its index says so): not before the
            # one being processed is in the state. Issued once it is (`_serve_session`).
            self._handle_deferred = True
            return
        model = self.model
        index = str(self.frames_received - 1) if self._transparent else None
        if resumable and model is not None and not model.generating and not model.pending_calls:
            store = self.emulator.resumption
            snapshot = store.snapshot(self.session, model.pending_input())
            covered = self.frames_received - 1

            def encode() -> bytes:
                # Called only as the write begins (`_send_raw`): a connection halted before
                # then makes no handle. One whose write then fails still counts: part of it
                # may have reached the client.
                handle = store.keep(snapshot)
                self._cover(handle, covered)
                update = SessionResumptionUpdateMessage(
                    new_handle=handle, resumable=True, last_consumed_client_message_index=index
                )
                return self._encode(ServerMessage(session_resumption_update=update))

            await self._send_raw(encode)  # no other message-shaping fault applies to it
            return
        update = SessionResumptionUpdateMessage(last_consumed_client_message_index=index)
        await self.send(ServerMessage(session_resumption_update=update))

    def _cover(self, handle: str, covered: int) -> None:
        """Note in `handle_coverage` what `handle` covers; keep only the newest entries.

        The store keeps a session's `EmulatorConfig.handles_per_session` newest handles, so
        none of those this connection issued before its newest that many resumes anything:
        an open connection, issued a handle nearly every turn, kept an entry for each.
        """
        coverage = self.handle_coverage
        coverage[handle] = covered
        keep = self.emulator.config.handles_per_session
        if keep is not None and len(coverage) > keep:
            del coverage[next(iter(coverage))]  # the oldest: a dict keeps insertion order

    # --- the connection loop --------------------------------------------------------------------

    async def _receive(
        self, deadline: float = math.inf
    ) -> tuple[dict[str, Any], ClientMessage] | None:
        """The next client message; None once the connection has ended.

        At `deadline` with no message the connection is closed as at the end of its
        lifetime.
        """
        assert self._ws is not None
        message: str | bytes | None = None
        try:
            with trio.move_on_at(deadline):
                message = await self._ws.get_message()
        except ConnectionClosed as exc:
            self._record_ws_close(exc.reason)
            return None
        if message is None:
            config = self.emulator.config
            await self.close(config.deadline_close_code, config.deadline_reason())
            return None
        if isinstance(message, NotUtf8Text):
            # Closed in its turn, as an invalid binary frame is; not recorded: wsproto has
            # thrown its payload away.
            await self.close(1007, NOT_UTF8)
            return None
        raw = message.encode() if isinstance(message, str) else message
        config = self.emulator.config
        # The dialect decides how enum numbers read: Vertex numbers some enums differently.
        vertex = config.vertex or (self.route is not None and self.route.vertex)
        try:
            data, parsed = parse_client_frame(raw, strict=config.strict, vertex=vertex)
        except ClientFrameError as err:
            frame = Frame(raw, err.data, isinstance(message, bytes), trio.current_time())
            self._record("received", frame)
            self._notify()
            await self.close(err.code, err.reason)
            return None
        frame = Frame(raw, data, isinstance(message, bytes), trio.current_time())
        self._record("received", frame)
        self._check_triggers()
        self._notify()
        return data, parsed

    async def _run(self, credential: Credential | None) -> None:
        config = self.emulator.config
        route = self.route
        assert route is not None
        assert self._nursery is not None
        self._nursery.start_soon(self._past_deadline)
        for fault in self.faults:
            if fault.triggered and fault.after_seconds is not None:
                self._nursery.start_soon(self._timed_fault, fault)
        if credential is None:
            if config.require_auth:
                await self.close(1008, NO_CREDENTIAL)
                return
        elif config.api_keys is not None and credential.secret not in config.api_keys:
            await self.close(1007, BAD_KEY)
            return
        # The lifetime's deadline bounds the wait for `setup` too: the lifetime timer (and
        # its goAway, which never comes before setupComplete) only starts after it, so a
        # client that upgrades and sends nothing was otherwise kept for ever.
        first = await self._receive(self._start_time + config.lifetime)
        if first is None:
            return
        setup = first[1].setup
        if setup is None:
            await self.close(1007, SETUP_FIRST)
            return
        vertex = config.vertex or route.vertex
        if not await self._check_setup(setup, route, vertex):
            return
        session = await self._open_session(setup)
        if session is None:
            return
        try:
            await self._serve_session(setup, session, vertex)
        finally:
            # The model's tasks stop before the session is let go: a resume waiting on
            # `released` takes the session at once, and a turn the old model went on
            # with must not reach its history (or issue a handle) after that.
            self._nursery.cancel_scope.cancel()
            self.emulator.resumption.ended(session)

    async def _check_setup(self, setup: Setup, route: Route, vertex: bool) -> bool:
        config = self.emulator.config
        self.setup = setup
        model_id = bare_model_id(setup.model)
        self.model_id = model_id
        if not setup.model or model_id not in config.models:
            if vertex:
                reason = (
                    f"Publisher Model `{setup.model}` was not found or your project does not "
                    "have access to it."
                )
            else:
                reason = (
                    f"models/{model_id} is not found for API version {route.api_version}, or is "
                    "not supported for bidiGenerateContent. Call ListModels to see the list of "
                    "available models and their supported methods."
                )
            await self.close(1008, reason)
            return False
        gen = setup.generation_config
        modalities = [m.upper() for m in (gen.response_modalities or [])] if gen else []
        audio_only = "native-audio" in model_id or model_id.startswith("gemini-3")
        speech = gen.speech_config if gen else None
        voice = speech.voice_config if speech else None
        prebuilt = voice.prebuilt_voice_config if voice else None
        reason = INVALID_ARGUMENT
        problem: str | None
        if len(modalities) > 1 or any(m not in ("AUDIO", "TEXT") for m in modalities):
            problem = f"responseModalities must be one of AUDIO or TEXT, got {modalities}"
        elif audio_only and modalities == ["TEXT"]:
            problem = f"{model_id} answers in AUDIO only, not TEXT"
        elif prebuilt is not None and modalities == ["TEXT"]:
            problem = "a prebuilt voice for a TEXT answer"
            reason = "Cannot extract voices from a non-audio request."
        elif prebuilt is not None and prebuilt.voice_name.lower() not in PREBUILT_VOICES:
            problem = f"unknown prebuilt voice {prebuilt.voice_name!r}"
        else:
            problem = bad_setup_arguments(setup)
        if problem is not None:
            log.info("connection %d: setup refused: %s", self.number, problem)
            await self.close(1007, reason)
            return False
        return True

    async def _open_session(self, setup: Setup) -> SessionState | None:
        store = self.emulator.resumption
        resumption = setup.session_resumption
        config = self.emulator.config
        session = SessionState(
            started_at=trio.current_time(),
            heard=[] if config.record_heard else None,
            model_id=self.model_id,
        )
        if resumption is not None and resumption.handle:
            found = store.resolve(resumption.handle)
            if found is not None and found.session.live:
                await self._wait_for_release(found.session)
            if found is None or self._past_limit(setup, found.session):
                # A session past its duration limit is over, like one with an unknown handle.
                await self.close(
                    config.handle_refused_close_code, config.handle_refused_close_reason
                )
                return None
            session, self._restored_input = found.session, found.pending
            if session.live:
                await self.close(1011, SESSION_IN_USE)
                return None
            if session.model_id != self.model_id:
                # protocol.md section 1.5: a resume may change the setup "except the model".
                # Google's code for it is not documented: its generic one for a setup.
                log.info(
                    "connection %d: resume refused: the session began on %s, not %s",
                    self.number,
                    session.model_id,
                    self.model_id,
                )
                await self.close(1007, INVALID_ARGUMENT)
                return None
            session.history = found.history
            session.heard = found.heard
            session.scenario_used = set(found.scenario_used)
        store.opened(session)
        self.session = session
        self._resumption = resumption is not None
        self._transparent = bool(resumption and resumption.transparent)
        self._handles_held = config.first_handle == "turn"
        return session

    async def _wait_for_release(self, session: SessionState) -> None:
        """Wait, up to `close_timeout`, for a closing connection to let go of `session`.

        The reader answers the client's close at once, while the messages sent before it
        are still being handled; the session is live until the last of them is. A client
        that closed, then resumed at once (protocol.md section 7.10), was refused 1011
        meanwhile. A connection whose WebSocket is still open keeps its session: no wait.
        """
        carriers = (c for c in self.emulator.connections if c.session is session)
        if not any(c._closing() for c in carriers if not c.closed):
            return
        with trio.move_on_after(self.emulator.config.close_timeout):
            await session.released.wait()

    def _closing(self) -> bool:
        """Whether the WebSocket has closed (the client's close read, say), draining."""
        return self._ws is not None and self._ws.closed is not None

    def _past_limit(self, setup: Setup, session: SessionState) -> bool:
        deadline = session_deadline(self.emulator.config, setup, session)
        return session.expired or (deadline is not None and deadline <= trio.current_time())

    async def _serve_session(self, setup: Setup, session: SessionState, vertex: bool) -> None:
        assert self._nursery is not None
        assert self.model_id is not None
        self.model = model = Model(
            config=self.emulator.config,
            setup=setup,
            model_id=self.model_id,
            vertex=vertex,
            session=session,
            outlet=self,
            nursery=self._nursery,
        )
        if self._restored_input is not None:
            model.restore_input(self._restored_input)
            self._restored_input = None  # in the model's VAD now: not kept twice
        complete = SetupCompleteMessage(session_id=session.session_id if vertex else None)
        await self.send(ServerMessage(setup_complete=complete))
        self.opened = True
        await self.resumption_update(True)
        self._nursery.start_soon(self._lifetime)
        self._nursery.start_soon(self._session_limit, setup, session)
        for fault in self.faults:
            untimed = (fault.after_frames, fault.after_received, fault.after_seconds)
            if fault.triggered and untimed == (None, None, None):
                await self._fire(fault)
        while (item := await self._receive()) is not None:
            message = item[1]
            if message.setup is not None:
                await self.close(1007, SETUP_FIRST)
                return
            self._processing = True
            try:
                await self._process(model, session, message)
            finally:
                self._processing = False
            if self._handle_deferred:
                self._handle_deferred = False
                # Unless the message started a turn, which says "not resumable" itself.
                if not model.generating and not model.pending_calls:
                    await self.resumption_update(True)

    async def _process(self, model: Model, session: SessionState, message: ClientMessage) -> None:
        """Hand one client message (not `setup`) to the model."""
        if message.client_content is not None:
            await model.on_client_content(message.client_content)
        if message.realtime_input is not None:
            if not session.video and carries_video(message.realtime_input):
                session.video = True
                self._video_seen.set()
            await model.on_realtime_input(message.realtime_input)
        if message.tool_response is not None:
            await model.on_tool_response(message.tool_response)
        if message.context_update is not None:
            update = message.context_update
            # New tools are declared like the setup's: the same names are refused.
            if update.tools is not None and bad_function_name(update.tools.tools) is not None:
                await self.close(1007, INVALID_ARGUMENT)
                return
            model.on_context_update(update)

    async def _lifetime(self) -> None:
        config = self.emulator.config
        deadline = self._start_time + config.lifetime
        await trio.sleep_until(deadline - config.go_away_seconds())
        # A setup that came late opens the session past the warning's moment: its goAway
        # promised the whole warning, and the close came after the lifetime.
        await self.go_away(max(0.0, deadline - trio.current_time()))

    async def _session_limit(self, setup: Setup, session: SessionState) -> None:
        config = self.emulator.config
        while True:
            deadline = session_deadline(config, setup, session)
            if session.video:
                if deadline is None:
                    return
                await trio.sleep_until(deadline)
                break
            # The audio limit runs until video arrives and brings the deadline forward.
            with trio.move_on_at(math.inf if deadline is None else deadline):
                await self._video_seen.wait()
                continue
            break
        session.expired = True
        await self.close(config.session_limit_close_code, config.session_limit_close_reason)

    async def go_away(self, time_left: float) -> None:
        """Send `goAway` now and close at the deadline, `time_left` seconds later.

        The frame's `timeLeft` is the time left when it is written: a frame still being
        written before it (to a client that reads slowly) delays it, not the deadline.

        Raises:
            ValueError: `time_left` is not a finite number of seconds >= 0 (a `bool`, a
                `str`, NaN, infinity, a negative number).
            RuntimeError: `setupComplete` has not been sent: the server's first message is
                always `setupComplete` (clients take the first message for it).
        """
        # Checked before anything is sent: NaN and infinity went out as `"nans"`/`"infs"`
        # (the client refused the frame) and NaN then crashed the close timer.
        seconds = check_seconds(time_left, "time_left")
        if not self.opened:
            raise RuntimeError("goAway before setupComplete: the server never sends that")
        deadline = trio.current_time() + seconds

        def encode() -> bytes:
            # Dated when written: behind a slow write the goAway claimed the whole of
            # `seconds` while part of it had gone by.
            left = max(0.0, deadline - trio.current_time())
            return self._encode(
                ServerMessage(go_away=GoAwayMessage(time_left=format_duration(left)))
            )

        await self._send_raw(encode)  # no message-shaping fault applies to a goAway
        self._start_soon(self._close_at, deadline)

    async def _close_at(self, deadline: float) -> None:
        config = self.emulator.config
        await trio.sleep_until(deadline)
        await self.close(config.deadline_close_code, config.deadline_reason())


class Emulator:
    """A running emulator: its URL, its connections, and ways to connect in memory.

    `connections` lists the upgraded connections, oldest first: every open one and the
    newest `EmulatorConfig.keep_closed_connections` closed ones; `connections_dropped`
    counts the closed ones forgotten since. A connection's position in the list is its
    `number` less one only until the first is forgotten: look one up by number with
    `wait_for_connection`.
    """

    def __init__(self, config: EmulatorConfig, nursery: trio.Nursery, *, tls: bool) -> None:
        self.config = config
        self.tls = tls
        self.host = "127.0.0.1"
        self.port = 0
        self.connections: list[EmulatorConnection] = []
        self.connections_dropped = 0
        self._closed_kept = 0  # closed connections still in `connections`
        self.resumption = ResumptionStore(
            config.handle_ttl, config.keep_ended_sessions, config.handles_per_session
        )
        self._nursery = nursery
        self._changed = trio.Event()
        self._attempts = 0
        self._frames_held = 0  # recorded frames not yet forgotten, all connections
        self._bytes_held = 0  # their payload bytes (`Frame.raw`)
        # Those of `connections` a trim has work on, in number order (`trim_recordings`).
        self._trimmable: list[EmulatorConnection] = []
        self._streams: set[_FaultStream] = set()  # those being served, upgraded or not
        self._stopping = False  # `open_emulator` is closing every stream

    @property
    def url(self) -> str:
        """Base URL without path, e.g. `ws://127.0.0.1:8765` (`wss://` with TLS)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'wss' if self.tls else 'ws'}://{host}:{self.port}"

    @property
    def http_url(self) -> str:
        """The base URL with an `http(s)://` scheme, for SDK `base_url` settings."""
        return "https" + self.url[3:] if self.tls else "http" + self.url[2:]

    def endpoint_url(self, api_version: str = "v1beta", method: str = "BidiGenerateContent") -> str:
        """Full Gemini API endpoint URL, e.g. `.../ws/google.ai...v1beta...BidiGenerateContent`."""
        return (
            f"{self.url}/ws/google.ai.generativelanguage.{api_version}.GenerativeService.{method}"
        )

    def vertex_endpoint_url(self, api_version: str = "v1beta1") -> str:
        """Full Vertex AI endpoint URL (`LlmBidiService/BidiGenerateContent`)."""
        service = f"google.cloud.aiplatform.{api_version}.LlmBidiService"
        return f"{self.url}/ws/{service}/BidiGenerateContent"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _recorded(self, size: int) -> None:
        """Count a frame of `size` payload bytes recorded; past a budget, forget the oldest.

        The budgets are `record_frames` and `record_bytes`, each plus a slack.
        The slack (a quarter of the budget) makes trimming a batch now and then rather than
        one list shift per frame.
        """
        budget, byte_budget = self.config.record_frames, self.config.record_bytes
        self._frames_held += 1
        self._bytes_held += size
        over = budget is not None and self._frames_held > budget + budget // 4
        over_bytes = byte_budget is not None and self._bytes_held > byte_budget + byte_budget // 4
        if over or over_bytes:
            frames, size = trim_recordings(
                self._trimmable,
                0 if budget is None else self._frames_held - budget,
                0 if byte_budget is None else self._bytes_held - byte_budget,
            )
            self._frames_held -= frames
            self._bytes_held -= size

    def _forget_closed(self) -> None:
        """Past `keep_closed_connections` closed connections, forget the oldest closed ones."""
        keep = self.config.keep_closed_connections
        if keep is None or self._closed_kept <= keep:
            return
        for conn in forget_closed(self.connections, self._closed_kept - keep):
            untrack(self._trimmable, conn)
            self._closed_kept -= 1
            self.connections_dropped += 1
            # Its frames no longer count against `record_frames` and `record_bytes`: nothing
            # would trim them.
            self._frames_held -= len(conn.sent) + len(conn.received)
            self._bytes_held -= sum(len(frame.raw) for frame in (*conn.sent, *conn.received))

    async def wait_for_connection(self, n: int = 1) -> EmulatorConnection:
        """Wait until the `n`-th (1-based) connection has been upgraded; return it.

        Connections are numbered in the order they were upgraded
        (`EmulatorConnection.number`), and keep their number when older ones are forgotten.
        It waits at most `EmulatorConfig.wait_timeout` (900 s of trio time by default): under
        an autojump clock, a connection the app never makes fails the test at once instead
        of hanging it; bound it tighter with a cancel scope (`trio.fail_after`).

        Raises:
            TypeError: `n` is not an int.
            ValueError: `n` is below 1.
            ForgottenConnectionError: connection `n` was closed and has since been forgotten
                (`EmulatorConfig.keep_closed_connections`).
            WaitTimeoutError: connection `n` did not come within `wait_timeout`; the
                message says how many there were, and how the newest is doing.
        """
        given = cast(object, n)  # the annotation promises what is checked here
        if isinstance(given, bool) or not isinstance(given, int):
            # 1.0 waited for ever: no count of connections ever equals it.
            raise TypeError(f"n is the 1-based number of a connection, an int, not {n!r}")
        if n < 1:
            # 0 or a negative `n` (a 0-based habit) returned the last connection, or with
            # none yet raised IndexError instead of waiting.
            raise ValueError(f"connections are numbered from 1 (1-based), got {n}")
        deadline, seconds = _wait_deadline(self.config)
        with trio.move_on_at(deadline):
            while self.connections_dropped + len(self.connections) < n:
                await self._changed.wait()
        if self.connections_dropped + len(self.connections) < n:
            raise WaitTimeoutError(f"wait_for_connection({n})", seconds, self._so_far())
        conn = find_connection(self.connections, n)
        if conn is None:
            assert self.config.keep_closed_connections is not None  # else none is forgotten
            raise ForgottenConnectionError(n, self.config.keep_closed_connections)
        return conn

    def _so_far(self) -> str:
        """The connections upgraded so far, and the newest's state, for an error."""
        total = self.connections_dropped + len(self.connections)
        if not total:
            return "no connection was upgraded yet"
        plural = "s" if total > 1 else ""
        newest = self.connections[-1] if self.connections else None
        if newest is None:
            return f"{total} connection{plural} were upgraded"
        state = newest._ending() if newest.closed else "open"  # pyright: ignore[reportPrivateUsage]
        return f"{total} connection{plural} upgraded; the newest, #{newest.number}, {state}"

    def memory_connector(
        self, latency: float = 0.0, *, buffer: int | None = None
    ) -> Callable[[], Awaitable[trio.abc.Stream]]:
        """An async factory of in-memory client streams served by this emulator.

        Each call makes a `trio.testing.memory_stream_pair()`, serves one half in the
        emulator's nursery and returns the other; run a WebSocket client handshake over it.
        With `latency` (seconds, each way) bytes arrive that long after they are sent, so
        messages cross on the wire as over a real network. With `buffer` (bytes, each way)
        a write waits while that many bytes sent are unread, as over TCP once the socket
        buffers are full (a `slow-read` fault then slows the client's writes down).

        Raises:
            ValueError: `latency` is not a finite number >= 0 (a `bool` is not taken for
                one), or `buffer` not a whole number >= 1.
        """
        check_latency(latency, buffer)

        async def connect() -> trio.abc.Stream:
            if latency or buffer is not None:
                client, server = delayed_stream_pair(latency, buffer)
            else:
                # Imported here: trio.testing imports pytest (half a second), which neither
                # `gemini-live emulator` nor a served socket needs.
                from trio.testing import memory_stream_pair

                client, server = memory_stream_pair()
            self._nursery.start_soon(self._serve_stream, server)
            await trio.lowlevel.checkpoint()
            return client

        return connect

    @contextlib.asynccontextmanager
    async def open_session(
        self,
        setup: Setup | str,
        *,
        api_key: str | None = None,
        options: SessionOptions | None = None,
        start: bool = True,
        latency: float = 0.0,
        buffer: int | None = None,
    ) -> AsyncGenerator[LiveSession]:
        """Open this package's client on this emulator, over in-memory streams.

        `async with emu.open_session(setup) as session:` is `trio_gemini_live.open_session`
        with the endpoint of this emulator (its Vertex one when `EmulatorConfig.vertex`) and
        `connector=emu.memory_connector(latency, buffer=buffer)`: no socket, and under
        `trio.testing.MockClock(autojump_threshold=0)` no real time spent waiting.

        Args:
            setup: The session's `Setup` (see `live_setup`), or just a model name.
            api_key: The credential to send; by default one of `EmulatorConfig.api_keys`
                (the smallest) when it names some, else a placeholder any emulator accepts.
            options: Passed to `open_session` (timeouts, heartbeat, reconnection).
            start: Passed to `open_session`: False opens the socket without the setup.
            latency: One-way delay of the in-memory streams, in seconds (`memory_connector`).
            buffer: Bytes each direction holds unread before a write waits
                (`memory_connector`).

        Yields:
            The open `LiveSession`; it is closed when the block exits.
        """
        # Imported here, not at the top: the emulator serves any client (google-genai, a raw
        # WebSocket) and needs nothing of this one to run; only this shortcut does.
        from .._endpoints import url_endpoint
        from .._session import open_session

        if api_key is None:
            keys = self.config.api_keys
            api_key = min(keys) if keys else "emulator-key"
        vertex = self.config.vertex
        url = self.vertex_endpoint_url() if vertex else self.endpoint_url()
        endpoint = url_endpoint(url, api_key=api_key, vertex=vertex)
        connector = self.memory_connector(latency, buffer=buffer)
        async with open_session(
            setup, endpoint=endpoint, options=options, connector=connector, start=start
        ) as session:
            yield session

    async def _abort_streams(self) -> None:
        """Close every stream being served, at once: the emulator is shutting down.

        A frame being written is shielded from cancellation (`EmulatorConnection.send`):
        to a client that reads nothing, cancelling the emulator alone would wait for that
        connection's deadline (or `send_timeout`). Closing the stream under the write ends
        it now.

        Every stream is closed even when closing one is interrupted (a KeyboardInterrupt:
        Ctrl-C pressed again): a stream left open kept the exit waiting on its write. The
        first such exception is raised once all are closed.
        """
        interrupted: BaseException | None = None
        for stream in list(self._streams):
            try:
                await trio.aclose_forcefully(stream)
            except BaseException as exc:  # raised below, once all are closed
                interrupted = interrupted or exc
        if interrupted is not None:
            raise interrupted

    async def _serve_stream(self, stream: trio.abc.Stream) -> None:
        wrapped = _FaultStream(stream)
        self._streams.add(wrapped)
        self._attempts += 1
        conn = EmulatorConnection(self, self._attempts, wrapped)
        try:
            async with trio.open_nursery() as nursery:
                conn._nursery = nursery  # pyright: ignore[reportPrivateUsage]
                ws = ServerWebSocket(wrapped, max_message_size=self.config.max_message_size)
                ws.start_reader(nursery)
                request: WebSocketRequest | None = None
                # Ends at once when the stream ends without a request (a probe); the bound
                # is for a peer that never finishes its request (or never sends one).
                with trio.move_on_after(_HANDSHAKE_TIMEOUT):
                    request = await ws.get_request()
                if request is not None:
                    await self._handle(conn, ws, request)
                await conn._shutdown()  # pyright: ignore[reportPrivateUsage]
        except Exception as exc:
            if not conn.number and _peer_left(exc):
                # A probe (a plain GET, a health check, a port scan) that hangs up before
                # reading the HTTP reply (400, 404, or the 101 of an upgrade): routine.
                log.debug(
                    "stream %d: the peer left during the HTTP exchange (%r)",
                    conn.index,
                    leaf_exceptions(exc)[0],
                )
            elif conn.number:
                # One broken client must never take the server down.
                log.exception("emulator connection %d failed", conn.number)
            else:
                log.exception("emulator stream %d (not upgraded) failed", conn.index)
        finally:
            self._streams.discard(wrapped)
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(wrapped)
            conn._release()  # pyright: ignore[reportPrivateUsage]
            conn._closed.set()  # pyright: ignore[reportPrivateUsage]
            conn._notify()  # pyright: ignore[reportPrivateUsage]
            if conn.number:  # listed: upgraded
                if not conn.sent and not conn.received and conn.handle_coverage:
                    track(self._trimmable, conn)  # the next trim forgets its coverage
                self._closed_kept += 1
                self._forget_closed()
            self._notify()

    async def _handle(
        self, conn: EmulatorConnection, ws: ServerWebSocket, request: WebSocketRequest
    ) -> None:
        conn.path = redact_path(request.path)
        conn.headers = redact_headers(request.headers)
        route = parse_route(request.path, self.config.extra_paths)
        if route is None:
            log.info("stream %d: 404, no Live API endpoint at %s", conn.index, conn.path)
            await request.reject(404, body=b"Not Found")
            return
        credential = extract_credential(request.path, request.headers)
        conn.route = route
        conn.credential_kind = credential.kind if credential else None
        await request.accept()
        # The connection's clock (lifetime, goAway, `after_seconds` faults) starts here,
        # at the upgrade, not when the stream was accepted: a slow handshake (latency, a
        # client that takes its time) is no part of the connection's life.
        conn._start_time = trio.current_time()  # pyright: ignore[reportPrivateUsage]
        conn._ws = ws  # pyright: ignore[reportPrivateUsage]
        conn.number = number = self.connections_dropped + len(self.connections) + 1
        conn.faults = [f for f in self.config.faults if f.connection in (None, number)]
        conn._armed = [f for f in conn.faults if _counts_frames(f)]  # pyright: ignore[reportPrivateUsage]
        conn._apply_static_faults()  # pyright: ignore[reportPrivateUsage]
        self.connections.append(conn)
        self._notify()
        log.info("connection %d: %s", conn.number, conn.path)
        await conn._run(credential)  # pyright: ignore[reportPrivateUsage]


# What a stream raises when its peer is gone: trio-websocket's close (1006) or trio's.
_PEER_GONE = (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError)


def _peer_left(exc: BaseException) -> bool:
    """Whether `exc` (a nursery's group, say) says only that the peer went away."""
    return all(isinstance(leaf, _PEER_GONE) for leaf in leaf_exceptions(exc))


def _listen_error(exc: OSError, host: str, port: int) -> OSError:
    """`exc` as one clean line naming the address, with its `errno` and kind kept.

    Made from the message alone, then given the errno: `OSError(errno, text)` prints as
    "[Errno -2] cannot listen on ...", the number before the words it belongs to. A
    `socket.gaierror` (a host that does not resolve) stays one.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    reason = exc.strerror or str(exc) or type(exc).__name__
    kind = socket.gaierror if isinstance(exc, socket.gaierror) else OSError
    error = kind(f"cannot listen on {where}: {reason}")
    error.errno = exc.errno
    return error


@contextlib.asynccontextmanager
async def open_emulator(
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncGenerator[Emulator]:
    """Run an emulator in a nursery of its own for the duration of the `async with` block.

    Args:
        config: Behaviour; defaults to `EmulatorConfig()`.
        host: Interface to bind (loopback by default).
        port: TCP port; 0 picks a free one (see `Emulator.port`).
        ssl_context: Serve `wss://` with this server context.

    Yields:
        The running `Emulator`; `emulator.url` is its base URL.

    Raises:
        OSError: it cannot listen there (an unknown host, a port in use); the message is
            `cannot listen on HOST:PORT: <reason>`, and `errno` is the original one.

    An exception raised in the block comes out of it as raised, not in an exception group:
    the same object, with its `__cause__`, `__context__` and traceback (a group the block
    raised stays that group), as from `open_session`.
    """
    require_trio("open_emulator")
    given = cast(object, config)  # the annotation promises what is checked here
    if given is not None and not isinstance(given, EmulatorConfig):
        # Else an AttributeError from inside the emulator's nursery, in an exception group.
        raise TypeError(f"config must be an EmulatorConfig or None, not {type(given).__name__}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0 to 65535, got {port}")
    # Bound before the nursery opens, so that "address in use" or an unknown host name
    # comes out as itself, not wrapped in an exception group.
    listeners: list[trio.SocketListener] | list[trio.SSLListener[trio.SocketStream]]
    try:
        if ssl_context is None:
            listeners = await trio.open_tcp_listeners(port, host=host)
            sock = listeners[0].socket
        else:
            listeners = await trio.open_ssl_over_tcp_listeners(
                port, ssl_context, host=host, https_compatible=True
            )
            inner = listeners[0].transport_listener
            assert isinstance(inner, trio.SocketListener)
            sock = inner.socket
    except OSError as exc:
        raise _listen_error(exc, host, port) from None
    # The body's own exception comes out as itself, as from `open_session`, not in the
    # group the emulator's nursery wraps it in: `except InvalidArgumentError` around the
    # block must catch it (`BlockErrors`).
    errors = BlockErrors()
    with errors.nursery():
        async with trio.open_nursery(strict_exception_groups=True) as nursery:
            try:
                emulator = Emulator(
                    config or EmulatorConfig(), nursery, tls=ssl_context is not None
                )
                address = sock.getsockname()
                emulator.host, emulator.port = str(address[0]), int(address[1])
                await nursery.start(trio.serve_listeners, emulator._serve_stream, listeners)  # pyright: ignore[reportPrivateUsage]
            except BaseException:
                with trio.CancelScope(shield=True):  # serve_listeners closes them once started
                    for listener in listeners:
                        await listener.aclose()
                raise
            try:
                with errors.block():
                    yield emulator
            finally:
                emulator._stopping = True  # pyright: ignore[reportPrivateUsage]
                nursery.cancel_scope.cancel()
                with trio.CancelScope(shield=True):
                    await emulator._abort_streams()  # pyright: ignore[reportPrivateUsage]
