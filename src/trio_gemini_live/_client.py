"""The seed-compatible facade: AG2's `GeminiRealtimeClient` API as a thin layer over a session.

Same names, parameters and types as the seed page; the I/O is one `LiveSession`, the setup is
built with `live_setup`, tool answers go through `LiveSession.respond`. What the facade adds
is the seed's call order (setup deferred until reading or sending starts) and its vocabulary.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol, cast

import msgspec
import trio

from ._endpoints import Endpoint, gemini_endpoint, redact_url, url_endpoint
from ._errors import ConfigurationError, GeminiLiveError, LocalProtocolError
from ._events import (
    InputAudioBufferDelta,
    RealtimeEvent,
    SessionUpdated,
    ToolCallCancellation,
)
from ._options import SessionOptions
from ._session import LiveSession, open_session, resolve_api_key
from ._setup import live_setup
from ._transport import Connector
from ._wire import Content, Part, Setup

__all__ = ["GeminiRealtimeClient", "LLMConfig", "Role"]

_default_logger = logging.getLogger("trio_gemini_live.client")

Role = Literal["user", "assistant", "system"]
"""The seed's message roles; sent to Gemini as `user`, `model` and the system instruction."""

_ROLE_TO_GEMINI: dict[str, str] = {"user": "user", "assistant": "model"}
_TEXT_INPUT_MODES = frozenset({"client_content", "realtime_input"})
# Setup fields a `contextUpdate` can change on an open connection (protocol.md section 2.6).
_IN_SESSION_FIELDS = frozenset({"systemInstruction", "tools"})
_CANCELLED_MEMORY = 256


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


class _EventChannel:
    """One FIFO for session events and `add_event` items (the seed's event queue).

    Bounded twice: the pump waits while `limit` items are buffered (backpressure on the
    session, nothing dropped); `add_event` waits only at `2 * limit`, so a consumer that adds
    events while handling one (`send_audio` echoes `InputAudioBufferDelta`) does not deadlock
    against a channel the pump filled. The session's end marker ignores the bounds and, once
    read, stays: every later `get` returns it at once instead of waiting forever.
    """

    def __init__(self, limit: int) -> None:
        self._items: deque[_Item] = deque()
        self._limit = limit
        self._not_empty = trio.lowlevel.ParkingLot()
        self._not_full = trio.lowlevel.ParkingLot()
        self._ended: _SessionEnd | None = None

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, item: _Item, *, headroom: bool) -> None:
        cap = 2 * self._limit if headroom else self._limit
        await trio.lowlevel.checkpoint()
        while len(self._items) >= cap:
            await self._not_full.park()
        self._items.append(item)
        self._not_empty.unpark()

    def end(self, marker: _SessionEnd) -> None:
        self._items.append(marker)
        self._not_empty.unpark_all()

    def reopen(self) -> None:
        """Forget the previous connection's end marker (a new connection starts)."""
        self._ended = None
        self._items = deque(item for item in self._items if not isinstance(item, _SessionEnd))

    async def get(self) -> _Item:
        await trio.lowlevel.checkpoint()
        while not self._items:
            if self._ended is not None:
                return self._ended
            await self._not_empty.park()
        item = self._items.popleft()
        self._not_full.unpark_all()
        if isinstance(item, _SessionEnd) and not self._items:
            self._ended = item
        return item


# --- reading llm_config ----------------------------------------------------------------------


def _config_entry(llm_config: Any) -> Any:
    """The first entry of `config_list`, from a dict or an object with that attribute."""
    if isinstance(llm_config, Mapping):
        config_list = cast(Mapping[str, Any], llm_config).get("config_list")
    else:
        config_list = getattr(llm_config, "config_list", None)
    if not isinstance(config_list, list | tuple) or not config_list:
        raise ConfigurationError("llm_config needs a non-empty 'config_list'")
    return cast(Sequence[Any], config_list)[0]


def _entry_get(entry: Any, key: str) -> Any:
    """Read one key of a config entry: a dict, an AG2 entry (`.get`) or a plain object."""
    if isinstance(entry, Mapping):
        value = cast(Mapping[str, Any], entry).get(key)
    elif callable(getattr(entry, "get", None)):
        value = entry.get(key)
    else:
        value = getattr(entry, key, None)
    reveal = getattr(value, "get_secret_value", None)  # pydantic SecretStr
    return reveal() if callable(reveal) else value


def _optional_str(entry: Any, key: str) -> str | None:
    value = _entry_get(entry, key)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"config_list[0][{key!r}] must be a string")
    return value


# --- session options (the seed's OpenAI-style vocabulary) -> Live setup ----------------------


def _wire_value(value: Any, info: msgspec.inspect.Type, path: str) -> Any:
    """Convert a user value to the wire (camelCase) shape of `info`, checking field names.

    Struct fields are accepted by snake_case or camelCase name at any depth; free-form
    dicts (schemas, labels) are left as they are.
    """
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    if isinstance(info, msgspec.inspect.UnionType):
        for member in info.types:
            if isinstance(member, msgspec.inspect.StructType) and isinstance(value, Mapping):
                return _wire_value(value, member, path)
            if isinstance(member, msgspec.inspect.ListType) and isinstance(value, list | tuple):
                return _wire_value(value, member, path)
        return copy.deepcopy(value)
    if isinstance(info, msgspec.inspect.StructType) and isinstance(value, Mapping):
        fields: dict[str, msgspec.inspect.Field] = {}
        for field in info.fields:
            fields[field.name] = field
            fields[field.encode_name] = field
        out: dict[str, Any] = {}
        for key, item in cast(Mapping[str, Any], value).items():
            found = fields.get(key)
            if found is None:
                raise ConfigurationError(f"unknown Live setup field {path}.{key}")
            out[found.encode_name] = _wire_value(item, found.type, f"{path}.{found.encode_name}")
        return out
    if isinstance(info, msgspec.inspect.ListType) and isinstance(value, list | tuple):
        items = cast(Sequence[Any], value)
        return [_wire_value(item, info.item_type, path) for item in items]
    return copy.deepcopy(value)


_SETUP_INFO = cast(msgspec.inspect.StructType, msgspec.inspect.type_info(Setup))


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """Deep-merge `patch` into `base`; a `None` value removes the key."""
    for key, value in patch.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(cast(dict[str, Any], base[key]), cast(Mapping[str, Any], value))
        else:
            base[key] = value


def _section(draft: dict[str, Any], *path: str) -> dict[str, Any]:
    """The nested dict at `path`, created as needed."""
    node = draft
    for key in path:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = cast(dict[str, Any], child)
    return node


def _prune(draft: dict[str, Any], *path: str) -> None:
    """Remove empty dicts left along `path` (the wire omits empty config objects)."""
    nodes = [draft]
    for key in path:
        child = nodes[-1].get(key)
        if not isinstance(child, dict):
            return
        nodes.append(cast(dict[str, Any], child))
    for parent, key in zip(reversed(nodes[:-1]), reversed(path), strict=True):
        if not parent[key]:
            del parent[key]


def _instruction_text(draft: Mapping[str, Any]) -> str:
    instruction = draft.get("systemInstruction")
    if not isinstance(instruction, Mapping):
        return ""
    parts: Any = cast(Mapping[str, Any], instruction).get("parts")
    if not isinstance(parts, list):
        return ""
    texts: list[str] = []
    for part in cast(Sequence[Any], parts):
        if isinstance(part, Mapping):
            texts.append(str(cast(Mapping[str, Any], part).get("text") or ""))
    return "".join(texts)


def _opt_instructions(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value is None or value == "":
        draft.pop("systemInstruction", None)
    elif isinstance(value, str):
        draft["systemInstruction"] = {"parts": [{"text": value}], "role": "user"}
    else:
        info = _SETUP_FIELDS["systemInstruction"].type
        draft["systemInstruction"] = _wire_value(value, info, "setup.systemInstruction")


def _function_declaration(item: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI-style function schema (flat or chat-completions nested) as a declaration."""
    function = item.get("function", item) if item.get("type") == "function" else item
    if not isinstance(function, Mapping) or not isinstance(
        cast(Mapping[str, Any], function).get("name"), str
    ):
        raise ConfigurationError(f"a function tool needs a 'name': {dict(item)!r}")
    function = cast(Mapping[str, Any], function)
    declaration: dict[str, Any] = {"name": function["name"]}
    if function.get("description"):
        declaration["description"] = function["description"]
    parameters = function.get("parameters")
    # Gemini rejects an OBJECT schema with no properties: a function without arguments
    # must omit `parameters` altogether.
    if isinstance(parameters, Mapping) and cast(Mapping[str, Any], parameters).get("properties"):
        declaration["parameters"] = copy.deepcopy(dict(cast(Mapping[str, Any], parameters)))
    for key in ("behavior", "response"):
        if function.get(key) is not None:
            declaration[key] = copy.deepcopy(function[key])
    return declaration


def _opt_tools(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value is None:
        draft.pop("tools", None)
        return
    if not isinstance(value, list | tuple):
        raise ConfigurationError("session option 'tools' must be a list")
    tool_info = _SETUP_FIELDS["tools"].type
    live_tools: list[Any] = []
    functions: list[dict[str, Any]] = []
    for item in cast(Sequence[Any], value):
        if isinstance(item, msgspec.Struct):
            built = msgspec.to_builtins(item)
            if "functionDeclarations" in built or not isinstance(built.get("name"), str):
                live_tools.append(built)
            else:
                functions.append(built)
        elif not isinstance(item, Mapping):
            raise ConfigurationError(f"a tool must be a dict, got {type(item).__name__}")
        elif "name" in item or cast(Mapping[str, Any], item).get("type") == "function":
            functions.append(_function_declaration(cast(Mapping[str, Any], item)))
        else:
            live_tools.extend(_wire_value([item], tool_info, "setup.tools"))
    if functions:
        live_tools.append({"functionDeclarations": functions})
    if live_tools:
        draft["tools"] = live_tools
    else:
        draft.pop("tools", None)


def _opt_voice(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value is None:
        _section(draft, "generationConfig", "speechConfig").pop("voiceConfig", None)
        _prune(draft, "generationConfig", "speechConfig")
    elif isinstance(value, str):
        speech = _section(draft, "generationConfig", "speechConfig")
        speech["voiceConfig"] = {"prebuiltVoiceConfig": {"voiceName": value}}
    else:
        raise ConfigurationError("session option 'voice' must be a voice name")


def _opt_temperature(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value is None:
        _section(draft, "generationConfig").pop("temperature", None)
        _prune(draft, "generationConfig")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _section(draft, "generationConfig")["temperature"] = float(value)
    else:
        raise ConfigurationError("session option 'temperature' must be a number")


def _opt_modalities(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ConfigurationError("session option 'modalities' must be a non-empty list")
    wanted = {str(item).upper() for item in cast(Sequence[Any], items)}
    if not wanted <= {"AUDIO", "TEXT"}:
        raise ConfigurationError(f"modalities must be 'audio' and/or 'text', got {value!r}")
    # Gemini answers in one modality; OpenAI's ["text", "audio"] means speech plus its
    # transcript, which is AUDIO with output transcription.
    modality = "AUDIO" if "AUDIO" in wanted else "TEXT"
    _section(draft, "generationConfig")["responseModalities"] = [modality]
    if wanted == {"AUDIO", "TEXT"}:
        draft.setdefault("outputAudioTranscription", {})


def _transcription(field: str) -> _OptionHandler:
    def handler(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
        if value is None or value is False:
            draft.pop(field, None)
            return
        config: dict[str, Any] = {}
        if isinstance(value, Mapping):
            options = dict(cast(Mapping[str, Any], value))
            language = options.pop("language", None)  # OpenAI's single language
            for ignored in ("model", "prompt"):  # OpenAI-only, no Live equivalent
                options.pop(ignored, None)
            info = _SETUP_FIELDS[field].type
            config = _wire_value(options, info, f"setup.{field}")
            if isinstance(language, str) and language:
                config.setdefault("languageCodes", [language])
        elif value is not True:
            config = _wire_value(value, _SETUP_FIELDS[field].type, f"setup.{field}")
        draft[field] = config

    return handler


def _opt_turn_detection(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    config = _section(draft, "realtimeInputConfig")
    if value is None:
        # OpenAI's "no turn detection": the client marks turns (activityStart/activityEnd).
        config["automaticActivityDetection"] = {"disabled": True}
        return
    if not isinstance(value, Mapping):
        raise ConfigurationError("session option 'turn_detection' must be a dict or None")
    options = cast(Mapping[str, Any], value)
    kind = options.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise ConfigurationError(f"unsupported turn_detection type {kind!r}")
    detection: dict[str, Any] = {}
    if options.get("silence_duration_ms") is not None:
        detection["silenceDurationMs"] = int(options["silence_duration_ms"])
    if options.get("prefix_padding_ms") is not None:
        detection["prefixPaddingMs"] = int(options["prefix_padding_ms"])
    config["automaticActivityDetection"] = detection
    interrupt = options.get("interrupt_response")
    if interrupt is not None:
        config["activityHandling"] = (
            "START_OF_ACTIVITY_INTERRUPTS" if interrupt else "NO_INTERRUPTION"
        )
    ignored = set(options) - {"type", "silence_duration_ms", "prefix_padding_ms"}
    ignored -= {"interrupt_response"}
    if ignored:
        log.debug("turn_detection keys without a Live equivalent ignored: %s", sorted(ignored))
    if not detection:
        del config["automaticActivityDetection"]
    _prune(draft, "realtimeInputConfig")


def _opt_max_tokens(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value is None or value == "inf":
        _section(draft, "generationConfig").pop("maxOutputTokens", None)
        _prune(draft, "generationConfig")
    elif isinstance(value, int) and not isinstance(value, bool):
        _section(draft, "generationConfig")["maxOutputTokens"] = value
    else:
        raise ConfigurationError("max_response_output_tokens must be an int or 'inf'")


def _opt_tool_choice(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value not in (None, "auto"):
        log.warning("tool_choice=%r has no Live API equivalent; the model decides", value)


def _opt_audio_format(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value not in (None, "pcm16"):
        log.warning(
            "audio format %r is not supported by the Live API: it takes 16-bit PCM "
            "(input_sample_rate, default 16 kHz) and answers with 24 kHz 16-bit PCM",
            value,
        )


_OptionHandler = Callable[[dict[str, Any], Any, logging.Logger], None]

_SETUP_FIELDS: dict[str, msgspec.inspect.Field] = {
    field.encode_name: field for field in _SETUP_INFO.fields
}
_SETUP_FIELD_BY_NAME: dict[str, msgspec.inspect.Field] = {
    name: field for field in _SETUP_INFO.fields for name in (field.name, field.encode_name)
}

# The one mapping table: seed (OpenAI Realtime) session option -> how it changes the setup.
# Any other key must name a Live `Setup` field (snake_case or camelCase); it is merged in.
_SEED_OPTIONS: dict[str, _OptionHandler] = {
    "instructions": _opt_instructions,
    "system_instruction": _opt_instructions,
    "systemInstruction": _opt_instructions,
    "tools": _opt_tools,
    "voice": _opt_voice,
    "temperature": _opt_temperature,
    "modalities": _opt_modalities,
    "response_modalities": _opt_modalities,
    "input_audio_transcription": _transcription("inputAudioTranscription"),
    "inputAudioTranscription": _transcription("inputAudioTranscription"),
    "output_audio_transcription": _transcription("outputAudioTranscription"),
    "outputAudioTranscription": _transcription("outputAudioTranscription"),
    "turn_detection": _opt_turn_detection,
    "max_response_output_tokens": _opt_max_tokens,
    "tool_choice": _opt_tool_choice,
    "input_audio_format": _opt_audio_format,
    "output_audio_format": _opt_audio_format,
}


def _apply_options(
    draft: Mapping[str, Any], options: Mapping[str, Any], log: logging.Logger
) -> tuple[dict[str, Any], Setup]:
    """Return the new draft (camelCase setup dict) and its validated `Setup`."""
    updated = copy.deepcopy(dict(draft))
    for key, value in options.items():
        handler = _SEED_OPTIONS.get(key)
        if handler is not None:
            handler(updated, value, log)
            continue
        field = _SETUP_FIELD_BY_NAME.get(key)
        if field is None:
            raise ConfigurationError(
                f"unknown session option {key!r}: not a seed option ({', '.join(_SEED_OPTIONS)}) "
                "nor a Live setup field"
            )
        _merge(
            updated,
            {field.encode_name: _wire_value(value, field.type, f"setup.{field.encode_name}")},
        )
    try:
        setup = msgspec.convert(updated, Setup)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"invalid session options: {exc}") from None
    return updated, setup


# --- the client ------------------------------------------------------------------------------


def _decode_base64_audio(audio: str) -> bytes:
    """Decode the seed's base64 audio (standard or URL-safe alphabet, padding optional)."""
    padded = audio + "=" * (-len(audio) % 4)
    for text in (padded, padded.translate(str.maketrans("-_", "+/"))):
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            continue
    raise LocalProtocolError("send_audio: the audio string is not valid base64")


def _unwrap_single(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(cast(BaseExceptionGroup[BaseException], item).exceptions)
        else:
            leaves.append(item)
    return leaves[0] if len(leaves) == 1 else None


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
    `base_url` (a full `ws://`/`wss://` endpoint URL used as given, or an `http(s)://` base
    to which the standard path is appended), `api_version`, `voice`, `temperature`; and the
    extensions `input_sample_rate` (of `send_audio` PCM, default 16000), `text_input`
    (`"client_content"`, the default, or `"realtime_input"` for models that take text only
    as realtime input), `echo_input_audio` (default True: `send_audio` also queues the seed's
    `InputAudioBufferDelta`), `session_options` (a `SessionOptions` or a dict of its
    fields) and `connector` (an async callable returning a stream, e.g. the emulator's
    in-memory connector).

    Events are read from one bounded event channel shared by the session and `add_event`;
    see `get_event` for its bounds. A failure of the session (a close with an error code,
    a dead peer) is raised by `read_events`/`get_event` after the `Closed` event.
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
                `base_url`, an option of the wrong type).
        """
        self._llm_config = llm_config
        self._logger = logger
        entry = _config_entry(llm_config)
        model = _entry_get(entry, "model")
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError("config_list[0] needs a 'model'")
        self._model = model
        self._api_key = _optional_str(entry, "api_key")
        self._api_version = _optional_str(entry, "api_version")
        self._base_url = _optional_str(entry, "base_url")
        if self._base_url is not None:
            scheme = self._base_url.partition("://")[0].lower()
            if scheme not in ("ws", "wss", "http", "https"):
                raise ConfigurationError(
                    f"base_url must be ws(s):// or http(s)://, got {redact_url(self._base_url)!r}"
                )
        rate = _entry_get(entry, "input_sample_rate")
        if rate is None:
            rate = 16000
        if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
            raise ConfigurationError("config_list[0]['input_sample_rate'] must be a positive int")
        self._input_rate: int = rate
        text_input = _optional_str(entry, "text_input") or "client_content"
        if text_input not in _TEXT_INPUT_MODES:
            raise ConfigurationError(
                f"config_list[0]['text_input'] must be one of {sorted(_TEXT_INPUT_MODES)}"
            )
        self._text_input = text_input
        echo = _entry_get(entry, "echo_input_audio")
        self._echo_input_audio = True if echo is None else bool(echo)
        options = _entry_get(entry, "session_options")
        if options is None:
            options = SessionOptions()
        elif isinstance(options, Mapping):
            options = SessionOptions(**cast(Mapping[str, Any], options))
        elif not isinstance(options, SessionOptions):
            raise ConfigurationError("config_list[0]['session_options'] must be SessionOptions")
        self._options: SessionOptions = options
        connector = _entry_get(entry, "connector")
        if connector is not None and not callable(connector):
            raise ConfigurationError("config_list[0]['connector'] must be an async callable")
        self._connector = cast(Connector | None, connector)

        initial = msgspec.to_builtins(live_setup(model, modality="AUDIO"))
        seeded = {key: _entry_get(entry, key) for key in ("voice", "temperature")}
        self._draft, _ = _apply_options(
            initial, {key: value for key, value in seeded.items() if value is not None}, self.logger
        )

        self._session: LiveSession | None = None
        self._started = False
        self._start_lock = trio.Lock()
        self._events = _EventChannel(self._options.event_buffer)
        self._cancelled_calls: dict[str, None] = {}
        self._truncations: deque[tuple[int, int, str]] = deque(maxlen=32)

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
            raise RuntimeError("Gemini Live session is not open: call connect() first")
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
            RuntimeError: already connected.
            ConfigurationError: no API key or a bad endpoint.
            TransportError: the connection could not be opened.
        """
        if self._session is not None:
            raise RuntimeError("already connected: leave the current connect() block first")
        endpoint = self._endpoint()
        self._events.reopen()
        self._started = False
        try:
            async with (
                open_session(
                    self._model,
                    endpoint=endpoint,
                    options=self._options,
                    connector=self._connector,
                    start=False,
                ) as session,
                trio.open_nursery() as nursery,
            ):
                self._session = session
                nursery.start_soon(self._pump, session)
                try:
                    yield
                finally:
                    self._session = None
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            leaf = _unwrap_single(group)
            if leaf is None:
                raise
            raise leaf from None
        finally:
            self._session = None
            self._started = False

    async def _pump(self, session: LiveSession) -> None:
        """Move session events into the shared channel; end it when the session ends."""
        error: GeminiLiveError | None = None
        try:
            async for event in session:
                if isinstance(event, ToolCallCancellation):
                    for call_id in event.ids:
                        self._cancelled_calls[call_id] = None
                    while len(self._cancelled_calls) > _CANCELLED_MEMORY:
                        del self._cancelled_calls[next(iter(self._cancelled_calls))]
                await self._events.put(event, headroom=False)
        except GeminiLiveError as exc:
            error = exc
        finally:
            self._events.end(_SessionEnd(error))

    async def _ensure_started(self) -> LiveSession:
        """Send `setup` (with every pending session update) if it was not sent yet."""
        session = self.connection
        if self._started:
            return session
        async with self._start_lock:
            if not self._started:
                self._started = True
                setup = msgspec.convert(self._draft, Setup)
                self.logger.debug("sending setup for %s", setup.model)
                await session.start(setup)
        return session

    # --- session updates ---------------------------------------------------------------------

    async def session_update(self, session_options: dict[str, Any]) -> None:
        """Record session updates to be applied when the connection is established.

        Before the setup is sent the options are merged into it. After that, changes of the
        instructions or tools alone are sent as `contextUpdate` (model-dependent: a model
        without it closes the connection with 1007) and a `SessionUpdated` event is queued;
        any other change (voice, modality, transcription, VAD, ...) is applied by resuming
        the session on a new connection with the new setup (a Live connection's setup is
        fixed), marked by `Reconnected(setup_changed=True)` then `SessionUpdated`. The
        model itself cannot change.

        Keys: the seed's `instructions`, `tools`, `voice`, `temperature`, `modalities`
        (`response_modalities`), `input_audio_transcription`, `turn_detection`,
        `max_response_output_tokens`, `tool_choice` and `input_audio_format` /
        `output_audio_format` (only `"auto"` and `"pcm16"` have Live equivalents; others
        are logged and ignored), or any Live `Setup` field by its snake_case or camelCase
        name (merged into the setup).

        Args:
            session_options: The session options to update.

        Raises:
            ConfigurationError: an unknown key or an invalid value (nothing is applied), or
                a change of model after setup.
        """
        await trio.lowlevel.checkpoint()
        updated, setup = _apply_options(self._draft, session_options, self.logger)
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
        if changed - _IN_SESSION_FIELDS:
            # A connection's setup is fixed: resume on a new connection with the new setup.
            # The session's stream then carries `Reconnected(setup_changed=True)` and
            # `SessionUpdated`.
            await session.update_setup(setup)
            self._draft = updated
            return
        instruction = tools = None
        if "systemInstruction" in changed:
            instruction = setup.system_instruction or Content(parts=[Part(text="")], role="user")
        if "tools" in changed:
            tools = setup.tools or []
        await session.update_context(system_instruction=instruction, tools=tools)
        self._draft = updated
        current = session.setup
        if current is not None:
            current = msgspec.structs.replace(
                current, system_instruction=setup.system_instruction, tools=setup.tools
            )
            await self._events.put(
                SessionUpdated(setup=msgspec.to_builtins(current)), headroom=True
            )

    # --- sending -----------------------------------------------------------------------------

    async def send_text(self, *, role: Role, text: str, turn_complete: bool = True) -> None:
        """Send a text message to the Gemini Realtime API.

        `user` and `assistant` text is sent as a `clientContent` turn with role `user` /
        `model` (or, for `user` with `text_input="realtime_input"`, as `realtimeInput.text`,
        where the server's activity detection ends the turn). `system` text is appended to
        the system instruction: merged into the setup before it is sent, afterwards sent as
        a `contextUpdate` of the system instruction.

        Args:
            role: The role of the message.
            text: The text of the message.
            turn_complete: A flag indicating if the turn is complete.

        Raises:
            RuntimeError: not connected (except for `system` text before setup).
            ValueError: an unknown role.
        """
        if role == "system":
            current = _instruction_text(self._draft)
            combined = f"{current}\n\n{text}" if current else text
            await self.session_update({"instructions": combined})
            return
        gemini_role = _ROLE_TO_GEMINI.get(role)
        if gemini_role is None:
            raise ValueError(f"role must be 'user', 'assistant' or 'system', got {role!r}")
        session = await self._ensure_started()
        if gemini_role == "user" and self._text_input == "realtime_input":
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

        Args:
            audio: The audio to send.

        Raises:
            RuntimeError: not connected.
            LocalProtocolError: the string is not base64, or the PCM has an odd length.
        """
        pcm = _decode_base64_audio(audio) if isinstance(audio, str) else audio
        session = await self._ensure_started()
        await session.send_audio(pcm, sample_rate=self._input_rate)
        if self._echo_input_audio:
            encoded = audio if isinstance(audio, str) else base64.b64encode(pcm).decode("ascii")
            await self.queue_input_audio_buffer_delta(encoded)

    async def send_function_result(self, call_id: str, result: str) -> None:
        """Send the result of a function call to the Gemini Realtime API.

        Sent as `toolResponse` with the call's `id` and function `name` (looked up from the
        pending call) and `response` `{"result": ...}`, where a JSON `result` is parsed
        first. A result for a call the server cancelled is dropped (and logged).

        Args:
            call_id: The ID of the function call.
            result: The result of the function call.

        Raises:
            RuntimeError: not connected.
            LocalProtocolError: `call_id` is not a pending call.
        """
        session = await self._ensure_started()
        if call_id in self._cancelled_calls and call_id not in session.pending_tool_calls:
            self.logger.info("dropping the result of cancelled tool call %s", call_id)
            await trio.lowlevel.checkpoint()
            return
        value: Any = result
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
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
        """
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

        Waits only when `2 * SessionOptions.event_buffer` items are buffered unread.

        Args:
            event: The event, or `None` to end the stream.
        """
        await self._events.put(event, headroom=True)

    async def get_event(self) -> RealtimeEvent | None:
        """Return the next event, or `None` at the end of the stream.

        When connected, this sends `setup` first if it was not sent yet. The stream ends
        with an `add_event(None)` or when the session ends (after its `Closed` event); the
        session's end is sticky, so later calls return at once. The channel holds at most
        `SessionOptions.event_buffer` session events (the session then waits for the
        reader; nothing is dropped).

        Raises:
            ConnectionClosedError: the session ended with an error close (a subclass says
                which); HeartbeatTimeoutError or RemoteProtocolError when it failed.
        """
        if self._session is not None and not self._started:
            await self._ensure_started()
        item = await self._events.get()
        if isinstance(item, _SessionEnd):
            if item.error is not None:
                raise item.error
            return None
        return item

    async def queue_input_audio_buffer_delta(self, audio: str) -> None:
        """Queue the seed's InputAudioBufferDelta (an echo of input audio) on the event channel.

        Args:
            audio: The audio (base64).
        """
        await self.add_event(InputAudioBufferDelta(delta=audio, item_id=None))

    async def read_events(self) -> AsyncGenerator[RealtimeEvent, None]:
        """Read Events from the Gemini Realtime Client.

        Sends `setup` if it was not sent yet, then yields events from the event channel
        (session events and `add_event` items, in order) until the stream ends.

        Raises:
            RuntimeError: not connected.
            ConnectionClosedError: the session ended with an error close (after `Closed`).
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
            api_type = _entry_get(_config_entry(llm_config), "api_type")
        except ConfigurationError:
            return None
        if api_type == "google" and not kwargs:
            return lambda: cls(llm_config=llm_config, logger=logger)
        return None
