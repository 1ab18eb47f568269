"""The seed's configuration, read and translated: `llm_config` entries and session options.

AG2's `GeminiRealtimeClient` takes an `llm_config` whose first `config_list` entry names the
model and key, and `session_update` options in the OpenAI Realtime vocabulary (`instructions`,
`voice`, `turn_detection`, ...). This module reads the one and turns the other into a Live
`Setup`: each seed option has a handler; any other key must name a `Setup` field.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import msgspec

from ._arguments import check_switch, describe
from ._endpoints import model_resource_name
from ._enum_names import declared_name
from ._errors import ConfigurationError
from ._proto_enums import MODALITY
from ._schema import from_json_schema
from ._session_setup import checked_tool_schemas
from ._setup_checks import (
    check_activity_detection,
    check_function_names,
    check_generation_config,
)
from ._wire import Setup

__all__ = [
    "apply_options",
    "config_entry",
    "entry_get",
    "optional_str",
    "optional_url",
    "setup_of",
    "UNLOGGED",
    "with_system_text",
]

UNLOGGED = logging.Logger("trio_gemini_live.client.unlogged")
"""For `setup_of` on a draft not sent yet or sent before: what it would say is said when the
setup is sent (`GeminiRealtimeClient` logs it then, once)."""
UNLOGGED.disabled = True

# --- reading llm_config ----------------------------------------------------------------------


def config_entry(llm_config: Any) -> Any:
    """The first entry of `config_list`, from a dict or an object with that attribute."""
    if isinstance(llm_config, Mapping):
        config_list = cast(Mapping[str, Any], llm_config).get("config_list")
    else:
        config_list = getattr(llm_config, "config_list", None)
    if not isinstance(config_list, list | tuple) or not config_list:
        raise ConfigurationError("llm_config needs a non-empty 'config_list'")
    return cast(Sequence[Any], config_list)[0]


def entry_get(entry: Any, key: str) -> Any:
    """Read one key of a config entry: a dict, an AG2 entry (`.get`) or a plain object."""
    if isinstance(entry, Mapping):
        value = cast(Mapping[str, Any], entry).get(key)
    elif callable(getattr(entry, "get", None)):
        value = entry.get(key)
    else:
        value = getattr(entry, key, None)
    reveal = getattr(value, "get_secret_value", None)  # pydantic SecretStr
    return reveal() if callable(reveal) else value


def optional_str(entry: Any, key: str) -> str | None:
    """Read a key that must be a string when present; `ConfigurationError` otherwise."""
    value = entry_get(entry, key)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"config_list[0][{key!r}] must be a string")
    return value


def optional_url(entry: Any, key: str) -> str | None:
    """Read a URL key: a string, or a URL object such as pydantic's `HttpUrl`/`AnyUrl`.

    AG2's config entries hold `base_url` as a pydantic URL, not a `str`; any object with a
    string `scheme` (pydantic, yarl) is taken by its text form.
    """
    value = entry_get(entry, key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(getattr(value, "scheme", None), str):
        return str(value)
    raise ConfigurationError(
        f"config_list[0][{key!r}] must be a URL string, got {type(value).__name__}"
    )


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


def with_system_text(draft: Mapping[str, Any], text: str) -> dict[str, Any]:
    """The draft's system instruction (camelCase) with `text` appended; a new one if none.

    `text` goes after a blank line into the last part when that part is plain text (it has
    nothing but a `text`), else into a part of its own: the instruction's other parts
    (inline data, a file, a thought) and its role stay as they were.
    """
    instruction = draft.get("systemInstruction")
    if not isinstance(instruction, Mapping):
        return {"parts": [{"text": text}], "role": "user"}
    updated = copy.deepcopy(dict(cast(Mapping[str, Any], instruction)))
    given: Any = updated.get("parts")
    parts: list[Any] = list(cast(Sequence[Any], given)) if isinstance(given, list) else []
    last: Any = parts[-1] if parts else None
    if isinstance(last, Mapping) and set(cast(Mapping[str, Any], last)) == {"text"}:
        earlier = cast(Mapping[str, Any], last)["text"]
        if isinstance(earlier, str):
            parts[-1] = {"text": f"{earlier}\n\n{text}" if earlier else text}
            updated["parts"] = parts
            return updated
    parts.append({"text": text})
    updated["parts"] = parts
    return updated


def _opt_instructions(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value is None or value == "":
        draft.pop("systemInstruction", None)
    elif isinstance(value, str):
        draft["systemInstruction"] = {"parts": [{"text": value}], "role": "user"}
    else:
        info = _SETUP_FIELDS["systemInstruction"].type
        draft["systemInstruction"] = _wire_value(value, info, "setup.systemInstruction")


def _function_declaration(item: Mapping[str, Any], log: logging.Logger) -> dict[str, Any]:
    """An OpenAI-style function schema (flat or chat-completions nested) as a declaration.

    Its JSON Schema `parameters` (and `response`, if given) are converted to the Live API's
    `Schema`: keys the server would refuse with 1007 (`$schema`, `readOnly`, ...) are left
    out and logged. `parameters` that take no arguments are left out, and said so in the
    log if they held more than an empty object (a title, a description).
    """
    function = item.get("function", item) if item.get("type") == "function" else item
    if not isinstance(function, Mapping) or not isinstance(
        cast(Mapping[str, Any], function).get("name"), str
    ):
        # Named by its keys, not shown: a tool may carry a credential (headers, a key).
        keys = ", ".join(repr(key) for key in item)
        raise ConfigurationError(f"a function tool needs a 'name' (a str); this one has {keys}")
    function = cast(Mapping[str, Any], function)
    declaration: dict[str, Any] = {"name": function["name"]}
    if function.get("description"):
        declaration["description"] = function["description"]
    parameters = _json_schema(function, "parameters", log)
    if parameters is not None and not _takes_no_arguments(parameters):
        declaration["parameters"] = parameters
    elif parameters is not None and parameters.keys() & {"title", "description"}:
        log.info(
            "tool %r takes no arguments: its parameters schema is left out, title and "
            "description with it, as a function without arguments must omit it",
            function["name"],
        )
    if function.get("behavior") is not None:
        declaration["behavior"] = copy.deepcopy(function["behavior"])
    response = _json_schema(function, "response", log)
    if response is not None:
        declaration["response"] = response
    return declaration


def _json_schema(function: Mapping[str, Any], key: str, log: logging.Logger) -> Any:
    """`function[key]`, a JSON Schema, as a Live API `Schema` (None if not given)."""
    schema = function.get(key)
    if schema is None:
        return None
    where = f"tool {function['name']!r} {key}"
    if not isinstance(schema, Mapping):
        raise ConfigurationError(
            f"{where} must be a JSON Schema (a dict), not a {type(schema).__name__}"
        )
    return copy.deepcopy(from_json_schema(cast(Mapping[str, Any], schema), log, where))


# The keys of a schema of an object with no arguments, which says nothing more when left out.
_NO_ARGUMENTS_KEYS = frozenset(
    {"type", "properties", "required", "additionalProperties", "title", "description"}
)


def _takes_no_arguments(schema: Mapping[str, Any]) -> bool:
    """Whether `schema` (converted) is an object's with no properties, and no others allowed.

    Gemini rejects an OBJECT schema with no properties: a function without arguments must
    omit `parameters` altogether. One that takes a map (`additionalProperties`), or is
    given by a `$ref` or an `anyOf`, does take arguments, and is sent.
    """
    return (
        schema.keys() <= _NO_ARGUMENTS_KEYS
        and schema.get("type") in (None, "OBJECT")
        and not schema.get("properties")
        and not schema.get("required")
        and schema.get("additionalProperties") in (None, False)
    )


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
            functions.append(_function_declaration(cast(Mapping[str, Any], item), log))
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
    elif isinstance(value, str) and value:
        speech = _section(draft, "generationConfig", "speechConfig")
        speech["voiceConfig"] = {"prebuiltVoiceConfig": {"voiceName": value}}
    else:
        # An empty name was taken, and the server closed with 1007 once the setup went.
        raise ConfigurationError(
            f"session option 'voice' must be a voice name (None for none), not {describe(value)}"
        )


def _check_model(draft: Mapping[str, Any], value: Any) -> None:
    """Refuse a `model` option naming another model than the draft's (the config's).

    The client opens its connections for the config's model: a setup for another one went
    out under it before the setup (the client still naming the config's), and was refused
    only when sent after it. The same model, maybe spelled with `models/` (or Vertex AI's
    prefix), changes nothing.
    """
    current = draft.get("model")
    if isinstance(value, str) and isinstance(current, str) and value.strip():
        for vertex in (False, True):
            if model_resource_name(value, vertex=vertex) == model_resource_name(
                current, vertex=vertex
            ):
                return
    raise ConfigurationError(
        f"the model cannot change ({current!r} -> {describe(value)}): create a client "
        "with another config_list model instead"
    )


def _opt_temperature(draft: dict[str, Any], value: Any, log: logging.Logger) -> None:
    if value is None:
        _section(draft, "generationConfig").pop("temperature", None)
        _prune(draft, "generationConfig")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int past a float's range
            number = math.inf
        if not math.isfinite(number):
            # NaN passed the range check later made, and failed every later call instead.
            shown = "an int too large for a float" if isinstance(value, int) else value
            raise ConfigurationError(f"session option 'temperature' must be finite, not {shown}")
        _section(draft, "generationConfig")["temperature"] = number
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
            if language is not None and not isinstance(language, str):
                # Was ignored: the transcription went on in whatever language it heard.
                raise ConfigurationError(
                    f"transcription 'language' must be a language code (a str), not "
                    f"{describe(language)}"
                )
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


_INT32_MAX = 2**31 - 1  # `silenceDurationMs` and `prefixPaddingMs` are int32 fields


def _milliseconds(value: object, key: str) -> int:
    """A `turn_detection` duration as the int the wire takes, or a `ConfigurationError`.

    Taken as `int()` takes it, as it always was (`500`, `500.7`, `"500"`); but `int()` of
    it raised bare ValueError ("abc", NaN), TypeError ([1]) or OverflowError (inf), and a
    value past int32 was refused only by a later call.
    """
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigurationError(
            f"turn_detection {key} must be a number of milliseconds, not {describe(value)}"
        ) from None
    if not 0 <= number <= _INT32_MAX:
        shown = number if abs(number) < 10**12 else "a larger number"
        raise ConfigurationError(
            f"turn_detection {key} must be from 0 to {_INT32_MAX} ms, not {shown}"
        )
    return number


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
    for key, field in (
        ("silence_duration_ms", "silenceDurationMs"),
        ("prefix_padding_ms", "prefixPaddingMs"),
    ):
        if options.get(key) is not None:
            detection[field] = _milliseconds(options[key], key)
    config["automaticActivityDetection"] = detection
    interrupt = options.get("interrupt_response")
    if interrupt is not None:
        # Not taken by truth: "no" (from a config file, say) meant interrupting.
        check_switch(interrupt, "turn_detection interrupt_response")
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


def _text_only(modalities: object) -> bool:
    """Whether a draft's `responseModalities` asks for text answers only, in any case.

    (`["text"]` given as a Setup field is sent as `["TEXT"]`: see `with_declared_names`.)
    """
    if not isinstance(modalities, list):
        return False
    items = cast("list[object]", modalities)
    return [declared_name(item, MODALITY) for item in items] == ["TEXT"]


def setup_of(draft: Mapping[str, Any], log: logging.Logger) -> Setup:
    """The `Setup` to send for a draft; `ConfigurationError` if the draft is invalid.

    A text-only setup goes without the draft's voice: OpenAI sessions keep a voice whatever
    the modalities, but the Live server closes with 1007 ("Cannot extract voices from a
    non-audio request") when both are asked for. The draft keeps the voice, so it is sent
    again if the modality returns to audio.
    """
    sendable = draft
    generation = draft.get("generationConfig")
    if isinstance(generation, Mapping):
        fields = cast(Mapping[str, Any], generation)
        speech = fields.get("speechConfig")
        if _text_only(fields.get("responseModalities")) and isinstance(speech, Mapping):
            voice_free = {
                key: value
                for key, value in cast(Mapping[str, Any], speech).items()
                if key not in ("voiceConfig", "multiSpeakerVoiceConfig")
            }
            if voice_free != speech:
                log.info("text responses have no voice: the setup is sent without one")
                trimmed = {k: v for k, v in fields.items() if k != "speechConfig"}
                if voice_free:
                    trimmed["speechConfig"] = voice_free
                sendable = {**draft, "generationConfig": trimmed}
    try:
        setup = msgspec.convert(sendable, Setup)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"invalid session options: {exc}") from None
    # Said at `session_update`, where the value was given, rather than when the setup goes.
    check_generation_config(setup.generation_config, "setup.generationConfig")
    check_activity_detection(setup.realtime_input_config, "setup.realtimeInputConfig")
    check_function_names(setup.tools, "setup.tools")
    # Live tools given as they are (`functionDeclarations`) were checked only when the
    # setup went: a bad schema was refused after the update had been taken.
    checked_tool_schemas(setup.tools, "setup.tools")
    return setup


def apply_options(
    draft: Mapping[str, Any], options: Mapping[str, Any], log: logging.Logger
) -> tuple[dict[str, Any], Setup]:
    """Return the new draft (camelCase setup dict) and its validated `Setup`."""
    updated = copy.deepcopy(dict(draft))
    for key, value in options.items():
        if key == "model":
            _check_model(updated, value)
            continue
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
    if "sessionResumption" in draft and "sessionResumption" not in updated:
        # Taken before the setup went, it went without resumption, and every later setup
        # change was refused for want of it.
        raise ConfigurationError(
            "session_update cannot turn session resumption off (session_resumption: None): "
            "the client applies setup changes, and survives goAway, by resuming the session"
        )
    return updated, setup_of(updated, UNLOGGED)
