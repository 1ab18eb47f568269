"""The seed-compatible facade: AG2's `GeminiRealtimeClient` API as a thin layer over a session.

Same names, parameters and types as the seed page; the I/O is one `LiveSession`, the setup is
built with `live_setup`, tool answers go through `LiveSession.respond`. What the facade adds
is the seed's call order (setup deferred until reading or sending starts) and its vocabulary.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import math
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol, cast

import msgspec
import trio

from ._arguments import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_bool,
    check_count,
    check_pcm,
    check_str,
    describe,
)
from ._endpoints import (
    Endpoint,
    check_gemini_arguments,
    check_url_version,
    gemini_endpoint,
    redact_url,
    url_endpoint,
)
from ._errors import ConfigurationError, GeminiLiveError, LocalProtocolError
from ._events import (
    FunctionCallOutput,
    InputAudioBufferDelta,
    RealtimeEvent,
    SessionUpdated,
)
from ._groups import BlockErrors
from ._options import SessionOptions
from ._require_trio import require_trio
from ._seed_options import (
    UNLOGGED,
    apply_options,
    config_entry,
    entry_get,
    optional_str,
    optional_url,
    setup_of,
    with_system_text,
)
from ._session import LiveSession, open_session, resolve_api_key
from ._setup import live_setup
from ._setup_extra import merge_extra
from ._setup_secrets import redact_json
from ._transport import Connector
from ._wire import Content, Part, Setup

__all__ = ["GeminiRealtimeClient", "LLMConfig", "Role"]

_default_logger = logging.getLogger("trio_gemini_live.client")

Role = Literal["user", "assistant", "system"]
"""The seed's message roles; sent to Gemini as `user`, `model` and the system instruction."""

_ROLE_TO_GEMINI: dict[str, str] = {"user": "user", "assistant": "model"}
_TEXT_INPUT_MODES = frozenset({"client_content", "realtime_input"})
# The keys of `speechConfig` that `setup_of` leaves out of a text-only setup.
_VOICE_KEYS = ("voiceConfig", "multiSpeakerVoiceConfig")


class LLMConfig(Protocol):
    """Any object with a `config_list` attribute, such as AG2's `LLMConfig`."""

    @property
    def config_list(self) -> Any:
        """The list of model configurations; the first entry is used."""
        ...


# --- the shared event channel ----------------------------------------------------------------


class _SessionEnd:
    """End-of-stream marker put by the pump; carries the session's failure, if any."""

    __slots__ = ("error",)

    def __init__(self, error: GeminiLiveError | None) -> None:
        self.error = error


_Item = RealtimeEvent | _SessionEnd | None


class _Recheck:
    """What `_EventChannel.get` returns when its `stop_waiting()` turned true."""

    __slots__ = ()


_RECHECK = _Recheck()


_NOT_OPEN = "Gemini Live session is not open: call connect() first"


class _EventChannel:
    """One FIFO for session events and `add_event` items (the seed's event queue).

    Bounded twice: the pump waits while `limit` items are buffered (backpressure on the
    session, nothing dropped); `add_event` waits only at `2 * limit`, so a consumer that adds
    events while handling one (`send_audio` echoes `InputAudioBufferDelta`) does not deadlock
    against a channel the pump filled. The `SessionUpdated` of a `contextUpdate` already sent
    goes past them (`put_now`). The session's end marker ignores the bounds and, once
    read, stays: every later `get` returns it at once instead of waiting forever. The
    bounds hold only within `connect()` (`reopen` sets them), also while its session
    closes: outside it, before the first and once its session has ended (`unbound`), no
    `put` waits, as no `get` would make room (it does not wait outside `connect()`
    either). The pump's last events then join the unread ones at once, bounded by what
    the session held (its buffer and the events it set aside while closing; what came
    past that it dropped, and reported in `Closed`); what is put outside is the
    application's own items (kept for the next stream: see `reopen`).
    """

    def __init__(self, limit: int) -> None:
        self._items: deque[_Item] = deque()
        self._limit = limit
        self._not_empty = trio.lowlevel.ParkingLot()
        self._not_full = trio.lowlevel.ParkingLot()
        self._ended: _SessionEnd | None = None
        # Unbound until the first `connect()`: an `add_event` before it waited at the
        # bound for a reader that would never come (a single task waited forever).
        self._unbound = True

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: _Item, *, headroom: bool) -> None:
        cap = 2 * self._limit if headroom else self._limit
        await trio.lowlevel.checkpoint()
        while len(self._items) >= cap and not self._unbound:
            await self._not_full.park()
        self._items.append(item)
        self._not_empty.unpark()

    def put_now(self, item: RealtimeEvent) -> None:
        """Put `item` at once, past the bounds, without a checkpoint.

        For the event of a change already made (`SessionUpdated` after a `contextUpdate`):
        a cancel at a checkpoint here, or while waiting for room, lost the event, and the
        caller was told the change failed although it was in force.
        """
        self._items.append(item)
        self._not_empty.unpark()

    def unbound(self) -> None:
        """Let every `put` through: no `connect()` is running (see `connect`)."""
        self._unbound = True
        self._not_full.unpark_all()

    def end(self, marker: _SessionEnd) -> None:
        self._items.append(marker)
        self._not_empty.unpark_all()

    def reopen(self) -> None:
        """Start the stream of a new connection, bounded again (see the class).

        What the previous session's stream left unread, up to its end marker, is dropped:
        read first, its events (a `Closed` among them) passed for the new session's. Items
        added after that stream ended stay.
        """
        self._ended = None
        self._unbound = False
        items = self._items
        ends = [index for index, item in enumerate(items) if isinstance(item, _SessionEnd)]
        if ends:
            self._items = deque(itertools.islice(items, ends[-1] + 1, None))
            self._not_full.unpark_all()

    def wake(self) -> None:
        """Have every waiting `get` check again whether it may wait (see `get`)."""
        self._not_empty.unpark_all()

    async def get(
        self, may_wait: Callable[[], bool], stop_waiting: Callable[[], bool]
    ) -> _Item | _Recheck:
        """The next item, or the end (sticky); waits for one only while `may_wait()`.

        Returns `_RECHECK` instead of waiting (on, after a `wake`) once `stop_waiting()`
        is true: the caller has something to do first (see `GeminiRealtimeClient.get_event`).

        Raises:
            RuntimeError: nothing to return, and `may_wait()` is false (no connection):
                outside `connect()` nothing in the client would put an item there.
        """
        await trio.lowlevel.checkpoint()
        while not self._items:
            if self._ended is not None:
                return self._ended
            if not may_wait():
                raise RuntimeError(
                    f"{_NOT_OPEN} (the event channel is empty: get_event waits for "
                    "events only within connect())"
                )
            if stop_waiting():
                return _RECHECK
            await self._not_empty.park()
        item = self._items.popleft()
        self._not_full.unpark_all()
        if isinstance(item, _SessionEnd):
            # Kept even when events were added behind it: once they are read, the stream
            # is still over (without this, the next `get` waited forever).
            self._ended = item
        return item


# --- the client ------------------------------------------------------------------------------


def _has_buffer(value: object) -> bool:
    """Whether `value` has the buffer protocol (bytes, an `array`, a NumPy array...)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return True  # the usual case, without making a view
    try:
        memoryview(value)  # type: ignore[arg-type]
    except TypeError:
        return False
    except (ValueError, BufferError):  # a buffer that cannot be read: the session says so
        return True
    return True


def _never() -> bool:
    return False


def _decode_base64_audio(audio: str) -> bytes:
    """Decode the seed's base64 audio (standard or URL-safe alphabet, padding optional)."""
    padded = audio + "=" * (-len(audio) % 4)
    for text in (padded, padded.translate(str.maketrans("-_", "+/"))):
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:  # binascii.Error, or a plain ValueError for a non-ASCII str
            continue
    raise LocalProtocolError("send_audio: the audio string is not valid base64")


def _refuse_constant(name: str) -> Any:
    """`json.loads` hook: `NaN` and `Infinity` are not JSON (they would be sent as `null`)."""
    raise ValueError(f"{name} is not JSON")


def _fixed_part(setup: Setup) -> Setup:
    """`setup` without what a `contextUpdate` changes on an open connection.

    That is the system instruction and the tools (protocol.md section 2.6); the rest only
    a new connection changes.
    """
    return msgspec.structs.replace(setup, system_instruction=None, tools=None)


def _finite_float(text: str) -> float:
    """A JSON number as a float, refusing one past its range ("1e999"): sent as a string."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of a float's range")
    return value


def _draft_of(in_force: Setup, draft: Mapping[str, Any]) -> dict[str, Any]:
    """The draft (camelCase setup dict) of the setup in force, `draft` being the old one.

    The model and the resumption settings stay the draft's: the session has put the
    model's resource name and its latest handle into the setup it sent. So does the voice
    of a text-only setup, which `setup_of` leaves out of what it sends but the draft keeps.
    """
    rebuilt: dict[str, Any] = msgspec.to_builtins(in_force)
    for key in ("model", "sessionResumption"):
        if key in draft:
            rebuilt[key] = draft[key]
        else:
            rebuilt.pop(key, None)
    generation = rebuilt.get("generationConfig")
    old_generation = draft.get("generationConfig")
    if isinstance(generation, dict) and isinstance(old_generation, Mapping):
        fields = cast(dict[str, Any], generation)
        old_speech = cast(Mapping[str, Any], old_generation).get("speechConfig")
        if fields.get("responseModalities") == ["TEXT"] and isinstance(old_speech, Mapping):
            voices = {
                key: value
                for key, value in cast(Mapping[str, Any], old_speech).items()
                if key in _VOICE_KEYS
            }
            if voices:
                speech = cast(dict[str, Any], fields.get("speechConfig") or {})
                fields["speechConfig"] = {**speech, **voices}
    return rebuilt


class GeminiRealtimeClient:
    """(Experimental) Client for Gemini Realtime API.

    The seed API (AG2's `GeminiRealtimeClient`) over one `LiveSession`. Use it as the
    original: `async with client.connect():`, any number of `session_update(...)`, then
    `async for event in client.read_events():`. The `setup` message is sent when reading
    starts or at the first send, whichever comes first, with every earlier
    `session_update` merged in; later updates of the instructions or tools are sent as
    `contextUpdate`.

    `llm_config` is a dict or an object with a `config_list` attribute (AG2's `LLMConfig`);
    the first entry is used. Its keys: `model` (required), `api_key` (else `GEMINI_API_KEY`
    / `GOOGLE_API_KEY`; always sent in the `x-goog-api-key` header), `api_type` (`"google"`),
    `base_url` (a full `ws://`/`wss://` endpoint URL used as given, with `api_key` or the
    URL's `key=` only: the environment's keys are for Google, and are not sent to another
    server; or an `http(s)://` base to which the standard path is appended), `api_version`
    (with a `ws(s)://` `base_url` the URL's version is used: a different one is refused),
    `voice`, `temperature`; and the
    extensions `input_sample_rate` (of `send_audio` PCM, 1000 to 384000 Hz, default
    16000), `text_input` (`"client_content"`, the default, or `"realtime_input"` for models
    that take text only as realtime input), `echo_input_audio` (default True: `send_audio`
    also queues the seed's `InputAudioBufferDelta`), `session_options` (a `SessionOptions`
    or a dict of its fields) and `connector` (an async callable returning a stream, e.g.
    the emulator's in-memory connector).

    Events are read from one bounded event channel shared by the session and `add_event`;
    see `get_event` for its bounds. A failure of the session (a close with an error code,
    a dead peer, resuming that kept failing: see `get_event`) is raised by
    `read_events`/`get_event` after the `Closed` event.
    """

    def __init__(
        self,
        *,
        llm_config: LLMConfig | dict[str, Any],
        logger: logging.Logger | None = None,
    ) -> None:
        """(Experimental) Client for Gemini Realtime API.

        Args:
            llm_config: The config for the client (see the class docstring for its keys).
            logger: The logger for the client (default: `trio_gemini_live.client`).

        Raises:
            ConfigurationError: the config is malformed (no `config_list`, no model, a bad
                `base_url`, `api_version` or `api_key`, an `api_version` other than the
                version in a `ws(s)://` `base_url`, an option of the wrong type).
        """
        self._llm_config = llm_config
        given = cast(object, logger)  # the annotation promises what is checked here
        if given is not None and not isinstance(given, logging.Logger | logging.LoggerAdapter):
            # Checked here: otherwise the first log call failed with an AttributeError.
            raise ConfigurationError(
                f"logger must be a logging.Logger or None, not {type(given).__name__}"
            )
        self._logger = logger
        entry = config_entry(llm_config)
        model = entry_get(entry, "model")
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError("config_list[0] needs a 'model'")
        self._model = model
        self._api_key = optional_str(entry, "api_key")
        self._api_version = optional_str(entry, "api_version")
        self._base_url = base = optional_url(entry, "base_url")
        scheme = base.partition("://")[0].lower() if base is not None else None
        if base is not None and scheme not in ("ws", "wss", "http", "https"):
            raise ConfigurationError(
                f"base_url must be ws(s):// or http(s)://, got {redact_url(base)!r}"
            )
        # Said now rather than at `connect` (a bad URL, a key= in it that differs from
        # `api_key`, a bad `api_version`); a key from the environment is read, and
        # checked, then.
        if base is not None and scheme in ("ws", "wss"):
            url_endpoint(base, api_key=self._api_key)
            check_url_version(base, self._api_version)
        else:
            check_gemini_arguments(self._api_key, api_version=self._api_version, base_url=base)
        rate = entry_get(entry, "input_sample_rate")
        if rate is None:
            rate = 16000
        if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
            raise ConfigurationError("config_list[0]['input_sample_rate'] must be a positive int")
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            # Said here rather than by every `send_audio` (which refuses such a rate).
            raise ConfigurationError(
                f"config_list[0]['input_sample_rate'] must be {MIN_SAMPLE_RATE} to "
                f"{MAX_SAMPLE_RATE} Hz, not {rate}"
            )
        self._input_rate: int = rate
        text_input = optional_str(entry, "text_input") or "client_content"
        if text_input not in _TEXT_INPUT_MODES:
            raise ConfigurationError(
                f"config_list[0]['text_input'] must be one of {sorted(_TEXT_INPUT_MODES)}"
            )
        self._text_input = text_input
        echo = entry_get(entry, "echo_input_audio")
        if echo is not None and not isinstance(echo, bool):
            # Not `bool(echo)`: the string "false" (from a config file, say) is true.
            raise ConfigurationError(
                f"config_list[0]['echo_input_audio'] must be a bool, not {type(echo).__name__}"
            )
        self._echo_input_audio = True if echo is None else echo
        options = entry_get(entry, "session_options")
        if options is None:
            options = SessionOptions()
        elif isinstance(options, Mapping):
            fields = cast(Mapping[str, Any], options)
            unknown = sorted(set(fields) - set(SessionOptions.__dataclass_fields__))
            if unknown:  # else a bare TypeError from the dataclass's __init__
                raise ConfigurationError(
                    f"config_list[0]['session_options'] has unknown keys: {', '.join(unknown)}"
                )
            options = SessionOptions(**fields)
        elif not isinstance(options, SessionOptions):
            raise ConfigurationError("config_list[0]['session_options'] must be SessionOptions")
        self._options: SessionOptions = options
        connector = entry_get(entry, "connector")
        if connector is not None and not callable(connector):
            raise ConfigurationError("config_list[0]['connector'] must be an async callable")
        self._connector = cast(Connector | None, connector)

        initial = msgspec.to_builtins(live_setup(model, modality="AUDIO"))
        seeded = {key: entry_get(entry, key) for key in ("voice", "temperature")}
        self._draft, _ = apply_options(
            initial, {key: value for key, value in seeded.items() if value is not None}, self.logger
        )

        self._session: LiveSession | None = None
        # `connect()` calls under way (opening, open or closing): while one is, an empty
        # event channel is waited on, the session's pump or its end marker will come.
        self._connecting = 0
        self._started = False
        self._start_lock = trio.Lock()
        # What `session.start` raised (the session never opened): an update waiting for the
        # start raises it too, as every later call does, rather than vanish with the session.
        self._start_failure: GeminiLiveError | None = None
        # Held by each session update from reading the draft to storing the new one: an
        # update that waits (a resume applying a voice, say) would otherwise be overwritten
        # by, or overwrite, one made meanwhile from the same old draft.
        self._update_lock = trio.Lock()
        # Setup refusals of the session (`Reconnected.setup_refused`) the draft reflects.
        self._refusals_seen = 0
        self._events = _EventChannel(self._options.event_buffer)
        self._truncations: deque[tuple[int, int, str]] = deque(maxlen=32)
        # Ids of calls the server answered itself (`FunctionCallOutput`), the latest as many
        # as the session remembers settled calls: a seed app answers every `FunctionCall`.
        self._server_answered: deque[str] = deque(maxlen=256)

    # --- seed properties ---------------------------------------------------------------------

    @property
    def logger(self) -> logging.Logger:
        """Get the logger for the Gemini Realtime API."""
        return self._logger or _default_logger

    @property
    def connection(self) -> LiveSession:
        """Get the Gemini WebSocket connection (the open `LiveSession`).

        Raises:
            RuntimeError: not connected.
        """
        if self._session is None:
            raise RuntimeError(_NOT_OPEN)
        return self._session

    @property
    def truncations(self) -> tuple[tuple[int, int, str], ...]:
        """The latest `truncate_audio` calls (`audio_end_ms, content_index, item_id`).

        The Live API has no truncate message, so these are only recorded (at most 32).
        """
        return tuple(self._truncations)

    def __repr__(self) -> str:
        where = redact_url(self._base_url) if self._base_url else "gemini-api"
        state = "connected" if self._session is not None else "not connected"
        return f"<GeminiRealtimeClient model={self._model!r} endpoint={where!r} {state}>"

    def _require_trio(self, method: str) -> None:
        """Refuse a call made outside trio, before `connect()` (which checks it itself).

        These methods work without a connection, and under asyncio (where the seed ran)
        their first trio call failed with "Task got bad yield", naming neither cause nor fix.
        A connected client runs on trio already.
        """
        if self._session is None:
            require_trio(f"GeminiRealtimeClient.{method}")

    # --- connecting --------------------------------------------------------------------------

    def _endpoint(self) -> Endpoint:
        base = self._base_url
        if base is not None and base.lower().startswith(("ws://", "wss://")):
            return url_endpoint(base, api_key=self._api_key)
        return gemini_endpoint(
            resolve_api_key(self._api_key), api_version=self._api_version, base_url=base
        )

    @asynccontextmanager
    async def connect(self) -> AsyncGenerator[None, None]:
        """Connect to the Gemini Realtime API.

        Opens the WebSocket; the `setup` message follows when reading starts or at the first
        send. Leaving the block closes the session.

        Raises:
            RuntimeError: already connected, or a `connect()` of another task is under way
                (opening or closing).
            ConfigurationError: no API key or a bad endpoint, or not run by trio (e.g.
                anyio on its default asyncio backend).
            TransportError: the connection could not be opened.

        An exception raised in the block comes out of it as itself (see `open_session`).
        """
        # Checked here, not left to `open_session`: its message would name that call, not
        # the one the application made.
        require_trio("GeminiRealtimeClient.connect")
        if self._session is not None or self._connecting:
            # Also while another task's connect() is still opening (or closing): both got
            # in, and shared one session slot and one event channel, which each reopened.
            raise RuntimeError(
                "already connected (or connecting, in another task): leave the current "
                "connect() block first"
            )
        endpoint = self._endpoint()
        self._events.reopen()
        self._started = False
        self._start_failure = None
        self._refusals_seen = 0
        errors = BlockErrors()
        self._connecting += 1
        try:
            with errors.nursery():
                async with (
                    open_session(
                        self._model,
                        endpoint=endpoint,
                        options=self._options,
                        connector=self._connector,
                        start=False,
                    ) as session,
                    trio.open_nursery(strict_exception_groups=True) as nursery,
                ):
                    self._session = session
                    # A `get_event` that began waiting while the connection opened sends
                    # the setup now (see `get_event`).
                    self._events.wake()
                    pumped = trio.Event()
                    nursery.start_soon(self._pump, session, pumped)
                    try:
                        with errors.block():
                            yield
                    finally:
                        self._session = None
                        await self._close_and_pump(session, pumped)
                        # Else a change the server refused stayed in the draft until an
                        # update in this block came, and the next `connect()` sent it as
                        # its setup, to be refused outright.
                        self._forget_refused(session)
                        nursery.cancel_scope.cancel()
        finally:
            self._session = None
            self._started = False
            self._connecting -= 1
            # Also when the connection failed to open (the block never ran): else an
            # `add_event` outside `connect()` waited at the bound `reopen` set, forever.
            self._events.unbound()
            # A `get_event` waiting on an empty channel while no session can feed it any
            # more (the connection failed to open) is told so rather than left waiting.
            self._events.wake()

    async def _close_and_pump(self, session: LiveSession, pumped: trio.Event) -> None:
        """Close `session`, then let the pump pass its last events on, `Closed` last.

        The seed's stream ends with the session's `Closed`. While the session closes, the
        pump still waits for room in the channel: what a server sends meanwhile stays with
        the session, which keeps a bounded number aside and drops (and reports in
        `Closed`) the rest. Unbound from the start, the pump moved everything a server
        flooding on sent in the close into this channel (763 MB in five seconds), and
        nothing was reported. Once the session has ended, what it holds is bounded and
        final: the pump no longer waits for room (nobody may read before the block's
        end: it waited out the whole bound, and the stream lost its `Closed`).
        """
        with trio.CancelScope(shield=True):
            # Bounded by `aclose` itself (its steps and the session's end); a bound of
            # its own here, shorter, cancelled the pump with `Closed` not yet passed on.
            await session.aclose()
            self._events.unbound()
            if session._ended:  # pyright: ignore[reportPrivateUsage]
                # Nothing left to wait for: the pump only moves what the session holds.
                await pumped.wait()

    async def _pump(self, session: LiveSession, pumped: trio.Event) -> None:
        """Move session events into the shared channel; end it when the session ends."""
        error: GeminiLiveError | None = None
        try:
            async for event in session:
                if type(event) is FunctionCallOutput and event.call_id:
                    self._server_answered.append(event.call_id)
                await self._events.put(event, headroom=False)
        except GeminiLiveError as exc:
            error = exc
        finally:
            self._events.end(_SessionEnd(error))
            pumped.set()

    async def _ensure_started(self) -> LiveSession:
        """Send `setup` (with every pending session update) if it was not sent yet."""
        session = self.connection
        if self._started:
            return session
        async with self._start_lock:
            if not self._started:
                # Set before the wait for `setupComplete`: an update made meanwhile must not
                # be merged into a draft that is already on its way.
                self._started = True
                try:
                    setup = setup_of(self._draft, self.logger)
                    self.logger.debug("sending setup for %s", setup.model)
                    await session.start(setup)
                except ConfigurationError:
                    # Refused before anything was sent (`session.start` checks first): the
                    # draft can still be fixed with `session_update` and the setup sent.
                    # Left marked as sent, every later send was queued behind a setup that
                    # never went out, and reading waited forever.
                    self._started = False
                    raise
                except GeminiLiveError as exc:
                    self._start_failure = exc
                    raise
        return session

    # --- session updates ---------------------------------------------------------------------

    async def session_update(self, session_options: dict[str, Any]) -> None:
        """Record session updates to be applied when the connection is established.

        Before the setup is sent the options are merged into it. After that, changes of the
        instructions or tools alone are sent as `contextUpdate` (model-dependent: a model
        without it closes the connection with 1007) and a `SessionUpdated` event is queued;
        any other change (voice, modality, transcription, VAD, ...) is applied by resuming
        the session on a new connection with the new setup (a Live connection's setup is
        fixed), marked by `Reconnected(setup_changed=True)` then `SessionUpdated`; so is
        clearing the instructions (`"instructions": ""`), which no `contextUpdate` can do
        (one without an instruction keeps the one in force, and the server refuses an
        instruction whose only part is an empty text with 1007). The
        model itself cannot change. Updates made at the same time (from several tasks) are
        applied one at a time, each on top of the one before. One made while the setup is on
        its way (another task began reading) waits for the session to open, then applies
        as above (or, if it never opens, raises that start's error). A setup change the
        server refuses (`Reconnected.setup_refused`) is dropped: later updates build on the
        setup in force. Updates made while a setup change waits to be applied are merged
        into it, and refused with it. An update that raises `trio.Cancelled` changed
        nothing: once its change is sent (or queued to be), it returns.

        Keys: the seed's `instructions`, `tools`, `voice`, `temperature`, `modalities`
        (`response_modalities`), `input_audio_transcription`, `turn_detection`,
        `max_response_output_tokens`, `tool_choice` and `input_audio_format` /
        `output_audio_format` (only `"auto"` and `"pcm16"` have Live equivalents; others
        are logged and ignored), or any Live `Setup` field by its snake_case or camelCase
        name (merged into the setup).

        Args:
            session_options: The session options to update.

        Raises:
            ConfigurationError: `session_options` is not a dict, an unknown key or an
                invalid value (nothing is applied: a tool schema value the Live API's
                `Schema` does not take, an empty `voice`, say), a `model` other than the
                config's or `session_resumption: None` (before the setup as after: the
                client needs resumption), or not run by trio (asyncio, say).
            SetupTimeoutError: the setup was sent and no `setupComplete` came (nothing is
                applied: the session never opened); ConnectionClosedError when the server
                refused that setup.
        """
        self._require_trio("session_update")
        given = cast(object, session_options)  # the annotation promises what is checked here
        if not isinstance(given, Mapping):
            # Else a bare AttributeError ("'str' object has no attribute 'items'").
            raise ConfigurationError(
                f"session_update takes a dict of session options, not {describe(given)}"
            )
        async with self._update_lock:
            await self._apply_update(session_options)

    async def _settle_draft(self) -> None:
        """Make the draft what the next update builds on, with `_update_lock` held.

        The setup may still be on its way (another task's read or send began it): the
        session has no setup in force to change until `setupComplete`. Wait for that start
        to end (`session.start` bounds it), rather than fail with "the session is not
        open". A start that failed before sending clears `_started`; one that failed after
        (no `setupComplete`, a refused setup) is raised: the session never opened, and a
        change made now would be lost with it. Then a change the server refused leaves the
        draft.
        """
        if self._started:
            async with self._start_lock:
                pass
            if self._start_failure is not None:
                raise self._start_failure
            if self._started:
                self._forget_refused(self.connection)

    async def _apply_update(self, session_options: Mapping[str, Any]) -> None:
        """`session_update`'s work, with `_update_lock` held."""
        await self._settle_draft()
        updated, setup = apply_options(self._draft, session_options, self.logger)
        if not self._started:
            self._draft = updated
            return
        changed = {
            key
            for key in self._draft.keys() | updated.keys()
            if self._draft.get(key) != updated.get(key)
        }
        if not changed:
            return
        session = self.connection
        # Judged on the setups as sent: a change the setup sent leaves out (a voice while
        # responses are text) moved the session to a new connection for nothing, and the
        # move replayed input, answered twice.
        before = setup_of(self._draft, UNLOGGED)
        # A `contextUpdate` cannot clear the instruction: left out, it keeps the one in
        # force; a Content needs a part, and a part without text carries no data (1007).
        cleared = setup.system_instruction is None and before.system_instruction is not None
        if cleared or _fixed_part(setup) != _fixed_part(before):
            # A connection's setup is fixed: resume on a new connection with the new setup.
            # The session's stream then carries `Reconnected(setup_changed=True)` and
            # `SessionUpdated`.
            await session.update_setup(setup)
            self._draft = updated
            return
        instruction = tools = None
        if setup.system_instruction != before.system_instruction:
            instruction = setup.system_instruction
        if setup.tools != before.tools:
            tools = setup.tools or []
        if instruction is None and tools is None:
            self._draft = updated  # kept for a later setup (the voice, when audio returns)
            return
        await session.update_context(system_instruction=instruction, tools=tools)
        self._draft = updated
        current = session.setup
        if current is not None:
            current = msgspec.structs.replace(
                current, system_instruction=setup.system_instruction, tools=setup.tools
            )
            # As `LiveProtocol` shows it: `extra` merged in, credentials REDACTED.
            shown = redact_json(merge_extra(current))
            self._events.put_now(SessionUpdated(setup=shown))

    def _forget_refused(self, session: LiveSession) -> None:
        """After the server refused a setup change, make the draft the setup in force again.

        The draft took the change when it was asked for; left there, every later update
        was built on it and sent it again, to be refused again (each `Reconnected` saying
        so, and the update itself lost). Not while a later setup change is undecided:
        that one, built on the refused draft, may yet come into force.
        """
        refusals = session._settled_refusals()  # pyright: ignore[reportPrivateUsage]
        if refusals is None or refusals == self._refusals_seen:
            return
        self._refusals_seen = refusals
        in_force = session.setup
        if in_force is not None:
            self._draft = _draft_of(in_force, self._draft)

    # --- sending -----------------------------------------------------------------------------

    async def send_text(self, *, role: Role, text: str, turn_complete: bool = True) -> None:
        """Send a text message to the Gemini Realtime API.

        `user` and `assistant` text is sent as a `clientContent` turn with role `user` /
        `model` (or, for `user` with `text_input="realtime_input"`, as `realtimeInput.text`,
        where the server's activity detection ends the turn). `system` text is appended to
        the system instruction, after a blank line in its last part when that is text, else
        as a part of its own (its other parts, such as inline data, are kept): merged into
        the setup before it is sent, afterwards sent as a `contextUpdate` of the system
        instruction.

        Args:
            role: The role of the message.
            text: The text of the message.
            turn_complete: A flag indicating if the turn is complete.

        Raises:
            RuntimeError: not connected (except for `system` text before setup).
            ValueError: an unknown role.
            LocalProtocolError: `text` is not a `str`, or is empty (for every role: as
                `realtimeInput.text` the server reads it as unset and nothing answers, a
                `clientContent` turn without text it refuses with 1007, and `system` text
                adds nothing to the instruction); `turn_complete` is not a `bool`, or is
                False for `user` text sent as `realtimeInput.text` (the server answers
                each as a whole turn: nothing there holds the turn open). For `system`
                text, which is no turn, `turn_complete` is not used.
        """
        # Checked first: None went out as a turn with an empty part, and as `system` text
        # it was appended to the instruction as the word "None" (or replaced it).
        text = check_str(text, "text")
        check_bool(turn_complete, "turn_complete")
        if not text:
            raise LocalProtocolError(
                "text is an empty str: a message needs text (empty realtime text "
                "is read as unset and gets no answer, a clientContent turn without text is "
                "refused with 1007, and empty system text adds nothing)"
            )
        if role == "system":
            self._require_trio("send_text")
            async with self._update_lock:  # the instruction read is part of the update
                await self._settle_draft()  # not a refused instruction: the one in force
                instruction = with_system_text(self._draft, text)
                await self._apply_update({"systemInstruction": instruction})
            return
        given = cast(object, role)  # the annotation promises what is checked here
        # A list or a dict as the role raised a bare "unhashable type" from the lookup.
        gemini_role = _ROLE_TO_GEMINI.get(given) if isinstance(given, str) else None
        if gemini_role is None:
            raise ValueError(f"role must be 'user', 'assistant' or 'system', got {role!r}")
        session = await self._ensure_started()
        if gemini_role == "user" and self._text_input == "realtime_input":
            if not turn_complete:
                raise LocalProtocolError(
                    'turn_complete=False cannot be honoured with text_input="realtime_input": '
                    "the server answers realtimeInput.text as a whole turn; send the text "
                    "whole, or use the default text_input (a clientContent turn)"
                )
            await session.send_text(text)
            return
        await session.send_client_content(
            Content(parts=[Part(text=text)], role=gemini_role), turn_complete=turn_complete
        )

    async def send_audio(self, audio: str | bytes | bytearray | memoryview) -> None:
        """Send audio to the Gemini Realtime API.

        `audio` is 16-bit little-endian mono PCM at `input_sample_rate` (default 16 kHz):
        the seed's base64 `str`, or the PCM itself as bytes, bytearray or memoryview. It is
        sent as `realtimeInput.audio` with `audio/pcm;rate=<rate>` and, unless
        `echo_input_audio` is off, also queued as `InputAudioBufferDelta` like the seed did.
        Empty audio (`""`, `b""`) sends and queues nothing.

        Args:
            audio: The audio to send.

        Raises:
            RuntimeError: not connected.
            LocalProtocolError: `audio` is neither a str nor bytes-like, the string is not
                base64, or the PCM has an odd length.
        """
        given = cast(object, audio)  # the annotation promises what is checked here
        if isinstance(given, str):
            pcm: bytes | bytearray | memoryview = _decode_base64_audio(given)
        elif _has_buffer(given):
            pcm = check_pcm(given, "audio")  # else the session's errors named its `pcm`
        else:
            raise LocalProtocolError(
                "audio must be base64 text (a str) or 16-bit PCM as bytes, bytearray or "
                f"memoryview, not {describe(given)}"
            )
        session = await self._ensure_started()
        echo: str | None = None
        if self._echo_input_audio and memoryview(pcm).nbytes:
            # Made before the send, with no checkpoint between it and the session's own
            # encoding: made after it, another task could change a bytearray meanwhile, and
            # the echo differed from what went out.
            echo = given if isinstance(given, str) else base64.b64encode(pcm).decode("ascii")
        await session.send_audio(pcm, sample_rate=self._input_rate)
        if echo is not None:
            await self.queue_input_audio_buffer_delta(echo)

    async def send_function_result(self, call_id: str, result: str) -> None:
        """Send the result of a function call to the Gemini Realtime API.

        Sent as `toolResponse` with the call's `id` and function `name` (looked up from the
        pending call) and `response` `{"result": ...}`, where a JSON `result` is parsed
        first. A result for a call the server cancelled, or that a move to a new connection
        cancelled (unanswered then), or whose turn ended before its streamed arguments were
        whole (`reason="incomplete"`), is dropped (and logged), also before its
        `ToolCallCancellation` event has been read; so is one for a call the server
        answered itself (its `FunctionCallOutput` read from the session). A result still
        queued when a move to a new connection came is not sent (see
        `Reconnected.not_replayed`); the call was answered all the same, and another result
        for it raises, as any second answer does. A `call_id` of
        `""` answers the oldest pending call that came without an id (Vertex AI may send
        such calls), as `LiveSession.respond` does.

        Args:
            call_id: The ID of the function call.
            result: The result of the function call.

        Raises:
            RuntimeError: not connected.
            LocalProtocolError: `call_id` is not a pending call (answered already, also
                by a result a move then left unsent, or never issued), or an answer to it
                is already on its way (another `send_function_result` or `respond` for it
                waits for room in the queue).
        """
        session = await self._ensure_started()
        # Asked of the session, not of the events this facade has passed on: with the app's
        # channel full, the pump may still hold the cancellation (or an event before it).
        # (An id that is not a str is left to `respond`, which says what is wrong with it.)
        given = cast(object, call_id)  # the annotation promises what is checked here
        cancelled = isinstance(given, str) and session._call_cancelled(given)  # pyright: ignore[reportPrivateUsage]
        if cancelled and call_id not in session.pending_tool_calls:
            self.logger.info("dropping the result of cancelled tool call %s", call_id)
            await trio.lowlevel.checkpoint()
            return
        if call_id in self._server_answered and call_id not in session.pending_tool_calls:
            # The server ran the function itself and reported its result: a second answer
            # would be refused (and the server closes on one it receives).
            self.logger.info("dropping the result of tool call %s: the server answered it", call_id)
            await trio.lowlevel.checkpoint()
            return
        value: Any = result
        if isinstance(value, str):
            try:
                value = json.loads(
                    value, parse_constant=_refuse_constant, parse_float=_finite_float
                )
            except (ValueError, RecursionError):  # not JSON, or nested past the limit
                value = result
        await session.respond(call_id, {"result": value})

    async def truncate_audio(self, audio_end_ms: int, content_index: int, item_id: str) -> None:
        """Record that playback of a model answer was cut at `audio_end_ms`; sends nothing.

        The Live API has no truncate message: when the user barges in, the server stops
        generating (`interrupted`) and keeps its own notion of what was said. The call is
        logged and kept in `truncations`.

        Args:
            audio_end_ms: Milliseconds of the item's audio that were played.
            content_index: The index of the content part (seed API).
            item_id: The ID of the item (the seed's `AudioDelta.item_id`).

        Raises:
            LocalProtocolError: `audio_end_ms` or `content_index` is not an int >= 0, or
                `item_id` is not a str (nothing is recorded).
        """
        self._require_trio("truncate_audio")
        # Checked: `truncations` promises these types, and kept whatever came.
        audio_end_ms = check_count(audio_end_ms, "audio_end_ms")
        content_index = check_count(content_index, "content_index")
        item_id = check_str(item_id, "item_id")
        self._truncations.append((audio_end_ms, content_index, item_id))
        self.logger.debug(
            "truncate_audio(%s ms, %s, %s): no Live API equivalent, nothing sent",
            audio_end_ms,
            content_index,
            item_id,
        )
        await trio.lowlevel.checkpoint()

    # --- the event channel -------------------------------------------------------------------

    async def add_event(self, event: RealtimeEvent | None) -> None:
        """Put an event on the event channel; `None` ends `read_events`.

        Within `connect()` it waits only when `2 * SessionOptions.event_buffer` items are
        buffered unread (a reader makes room). Outside it, it never waits: nothing would
        read meanwhile (`get_event` does not wait there either), and what it holds is the
        application's own events.

        Args:
            event: The event, or `None` to end the stream.

        Raises:
            LocalProtocolError: `event` is neither a `RealtimeEvent` nor None.
        """
        self._require_trio("add_event")
        given = cast(object, event)  # the annotation promises what is checked here
        if given is not None and not isinstance(given, RealtimeEvent):
            # Else `get_event`/`read_events` later handed it on, typed as an event.
            raise LocalProtocolError(
                f"event must be a RealtimeEvent or None, not {describe(given)}"
            )
        await self._events.put(event, headroom=True)

    async def get_event(self) -> RealtimeEvent | None:
        """Return the next event, or `None` at the end of the stream.

        When connected, this sends `setup` first if it was not sent yet (one waiting since
        before the connection was open sends it once it is). The stream ends
        with an `add_event(None)` or when the session ends (after its `Closed` event); the
        session's end is sticky, so later calls return at once, until the next `connect()`,
        which starts a new stream (what the ended one left unread is dropped, events added
        after its end are kept). The channel holds at most
        `SessionOptions.event_buffer` session events (the session then waits for the
        reader; nothing is dropped). Leaving `connect()` closes the session as
        `LiveSession.aclose` does: what comes meanwhile and finds the channel full is kept
        aside by the session, up to its bound, and joins the channel once the session has
        ended, `Closed` last; what came past that bound is dropped, and counted in
        `Closed.not_delivered`.

        Outside `connect()` it returns what the channel holds (`add_event` items, what a
        session left unread, then its sticky end), but does not wait: with the channel
        empty and no stream ended, nothing would end the wait. Within `connect()` (from its
        start, while the connection opens, to its end, in any task) it waits as the seed's
        queue did, for the session's events and for `add_event` from another task.

        Raises:
            RuntimeError: not connected (no `connect()` under way), and the channel holds
                nothing to return; also raised in a task waiting here when a `connect()`
                fails to open the connection.
            ConnectionClosedError: the session ended with an error close a retry cannot fix
                (a subclass says which: 1007, 1008, a quota); HeartbeatTimeoutError or
                RemoteProtocolError when it failed.
            ReconnectFailedError: the session ended because resuming it kept failing (a
                server that closes each connection with 1011, say) past the reconnect
                budget; no `code`: its `last_error` is the last attempt's error, the
                `ConnectionClosedError` with `code` and `reason` when that was a close.
        """
        self._require_trio("get_event")
        while True:
            session = self._session
            if session is not None:
                session._reads_for()  # pyright: ignore[reportPrivateUsage]
                if not self._started:
                    await self._ensure_started()
            # Begun while `connect()` opened the connection: once it is open, the setup
            # must go (else nothing came, and this waited to the block's end).
            item = await self._events.get(
                self._is_connecting, self._is_open if session is None else _never
            )
            if not isinstance(item, _Recheck):
                break
        if isinstance(item, _SessionEnd):
            if item.error is not None:
                raise item.error
            return None
        return item

    def _is_connecting(self) -> bool:
        return self._connecting > 0

    def _is_open(self) -> bool:
        return self._session is not None

    async def queue_input_audio_buffer_delta(self, audio: str) -> None:
        """Queue the seed's InputAudioBufferDelta (an echo of input audio) on the event channel.

        Args:
            audio: The audio (base64).

        Raises:
            LocalProtocolError: `audio` is not a str.
        """
        # Else the event carried whatever came as its base64 `delta`.
        audio = check_str(audio, "audio")
        await self.add_event(InputAudioBufferDelta(delta=audio, item_id=None))

    async def read_events(self) -> AsyncGenerator[RealtimeEvent, None]:
        """Read Events from the Gemini Realtime Client.

        Sends `setup` if it was not sent yet, then yields events from the event channel
        (session events and `add_event` items, in order) until the stream ends.

        An async generator, as the seed's is. A loop left early (`break`, a cancel scope)
        leaves it unfinished for the garbage collector, and trio warns (`ResourceWarning`);
        nothing is lost (the next read goes on where it stopped). To leave early cleanly,
        read within `async with contextlib.aclosing(client.read_events()) as events:`.

        Raises:
            RuntimeError: not connected.
            ConnectionClosedError: the session ended with an error close a retry cannot fix
                (after `Closed`); the other errors as `get_event` says.
            ReconnectFailedError: resuming the session kept failing (after `Closed`); its
                `last_error` carries the `code` and `reason` of the last close, if the last
                attempt ended in one.
        """
        await self._ensure_started()
        while True:
            event = await self.get_event()
            if event is None:
                return
            yield event

    # --- factory -----------------------------------------------------------------------------

    @classmethod
    def get_factory(
        cls, llm_config: LLMConfig | dict[str, Any], logger: logging.Logger, **kwargs: Any
    ) -> Callable[[], GeminiRealtimeClient] | None:
        """Create a Realtime API client.

        Args:
            llm_config: The LLM config for the client.
            logger: The logger for the client.
            **kwargs: Additional arguments.

        Returns:
            A factory of clients when the first config's `api_type` is `"google"` and no
            additional arguments are given, else None.
        """
        try:
            api_type = entry_get(config_entry(llm_config), "api_type")
        except ConfigurationError:
            return None
        if api_type == "google" and not kwargs:
            return lambda: cls(llm_config=llm_config, logger=logger)
        return None
