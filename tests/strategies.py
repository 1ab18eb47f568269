"""Shared Hypothesis strategies: wire Structs, valid client commands, SDK server messages.

Three families:

- `struct_strategy(cls)`: any value of a wire Struct, derived from its type annotations with
  `msgspec.inspect` (type-correct, not necessarily meaningful): for round-trip properties.
- `setups()`, `client_messages()`, `commands()`: meaningful client input (enum values
  and tool schemas the API defines), for conformance against google-genai's own types;
  `live_setup_options()` draws every option of `live_setup` (and a valid `extra`), and
  `tools_with_credentials()`/`extras_with_credentials()` plant a credential in a setup.
- `sdk_server_messages()`: any `google.genai.types.LiveServerMessage`, derived from the
  SDK's pydantic annotations, and `server_frame()` to serialise one the way Google's
  server does (proto3 JSON: camelCase, standard base64, int64 as string, pretty-printed);
  `with_nulls(tree)` puts proto3 JSON `null`s for some of a server frame's fields.
"""

from __future__ import annotations

import base64
import enum
import json
import types
import typing
from typing import Any

import msgspec
import msgspec.inspect as mi
import pydantic
from google.genai import types as gt
from hypothesis import strategies as st
from pydantic.alias_generators import to_camel

from trio_gemini_live import _wire as w
from trio_gemini_live._wire_checks import empty_part

# --- scalars and JSON values -----------------------------------------------------------------

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
"""Short text of any valid code point (no lone surrogates: JSON cannot carry them)."""

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(text, json_values, max_size=3)

# --- any value of a wire Struct (msgspec.inspect) --------------------------------------------


def strategy_for(info: mi.Type) -> st.SearchStrategy[Any]:
    """A strategy for values of a msgspec type, recursing into Structs."""
    if isinstance(info, mi.StructType):
        return struct_strategy(info.cls)
    if isinstance(info, mi.UnionType):
        return st.one_of([strategy_for(member) for member in info.types])
    if isinstance(info, mi.ListType):
        return st.lists(strategy_for(info.item_type), max_size=3)
    if isinstance(info, mi.DictType):
        return st.dictionaries(
            strategy_for(info.key_type), strategy_for(info.value_type), max_size=3
        )
    simple: dict[type[mi.Type], st.SearchStrategy[Any]] = {
        mi.StrType: text,
        mi.BytesType: st.binary(max_size=24),
        mi.BoolType: st.booleans(),
        mi.IntType: st.integers(-(2**63), 2**63 - 1),
        mi.FloatType: st.floats(allow_nan=False, allow_infinity=False),
        mi.NoneType: st.none(),
        mi.AnyType: json_values,
    }
    for kind, strategy in simple.items():
        if isinstance(info, kind):
            return strategy
    raise NotImplementedError(f"no strategy for {info!r}")


def struct_strategy(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Any instance of a msgspec Struct: each field either omitted or drawn from its type."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    optional = {field.name: strategy_for(field.type) for field in info.fields}
    return st.fixed_dictionaries({}, optional=optional).map(lambda kwargs: cls(**kwargs))


# --- meaningful client input (the values the API defines) ------------------------------------


def _values(enum_cls: type[enum.Enum]) -> st.SearchStrategy[str]:
    return st.sampled_from([str(member.value) for member in enum_cls])


def _opt(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def _build(cls: type[Any], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return _opt(**fields).map(lambda kwargs: cls(**kwargs))


def _one_of(
    cls: type[Any], data: dict[str, st.SearchStrategy[Any]], **rest: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """`cls` with at most one of the `data` fields set (a part's proto `oneof data`)."""
    member = st.sampled_from([{}, *({name: value} for name, value in data.items())])
    chosen = member.flatmap(lambda fields: st.fixed_dictionaries(fields))
    return st.builds(lambda one, others: cls(**one, **others), chosen, _opt(**rest))


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
int32 = st.integers(0, 2**31 - 1)
int64 = st.integers(0, 2**63 - 1)
floats = st.floats(-1e6, 1e6, allow_nan=False)
pcm = st.binary(max_size=64).map(lambda data: data[: len(data) // 2 * 2])
mime_types = st.sampled_from(
    ["audio/pcm;rate=16000", "audio/pcm;rate=24000", "audio/pcm", "image/jpeg", "image/png"]
)

# An OpenAPI-subset schema as users write it (camelCase keys, upper-case type names); the
# SDK's `Schema` model is the judge of what a declaration's `parameters` may hold.
schemas = st.recursive(
    _opt(
        type=_values(gt.Type),
        description=text,
        format=st.sampled_from(["int32", "int64", "float", "enum", "date-time"]),
        enum=st.lists(text, max_size=3),
        nullable=st.booleans(),
        minimum=floats,
        maximum=floats,
        minItems=st.integers(0, 9),
        maxLength=st.integers(0, 99),
        title=text,
        example=json_values,
    ),
    lambda inner: (
        _opt(
            type=st.just("OBJECT"),
            properties=st.dictionaries(names, inner, max_size=3),
            required=st.lists(names, max_size=2),
            propertyOrdering=st.lists(names, max_size=2),
        )
        | _opt(type=st.just("ARRAY"), items=inner)
        | _opt(anyOf=st.lists(inner, min_size=1, max_size=2))
    ),
    max_leaves=6,
)

blobs = _build(w.Blob, data=st.binary(max_size=48), mime_type=mime_types | text)
function_calls = _build(w.FunctionCallPart, name=names, args=json_objects, id=text)

function_response_parts = st.lists(
    _one_of(
        w.FunctionResponsePart,
        dict(
            inline_data=_build(
                w.FunctionResponseBlob,
                mime_type=mime_types,
                data=st.binary(max_size=24),
                display_name=text,
            ),
            file_data=_build(
                w.FunctionResponseFileData, file_uri=text, mime_type=mime_types, display_name=text
            ),
        ),
    ).filter(lambda part: empty_part(part, "$") is None),  # refused with no media, as a Part
    max_size=2,
)
function_responses = _build(
    w.FunctionResponse,
    id=text,
    name=names,
    response=json_objects,
    will_continue=st.booleans(),
    scheduling=_values(gt.FunctionResponseScheduling),
    parts=function_response_parts,
)
parts = _one_of(
    w.Part,
    dict(
        text=text,
        inline_data=blobs,
        file_data=_build(w.FileData, file_uri=text, mime_type=mime_types),
        function_call=function_calls,
        function_response=function_responses,
        executable_code=_build(w.ExecutableCode, language=_values(gt.Language), code=text, id=text),
        code_execution_result=_build(
            w.CodeExecutionResult, outcome=_values(gt.Outcome), output=text, id=text
        ),
    ),
    thought=st.booleans(),
    thought_signature=st.binary(max_size=24),
).filter(lambda part: empty_part(part, "$") is None)
"""A part that carries something: the client refuses one with no data (`empty_part`)."""
contents = _build(
    w.Content, parts=st.lists(parts, max_size=3), role=st.sampled_from(["user", "model"])
)


def _one_schema_form(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` without a JSON Schema twin of a `Schema` it has: the client refuses both."""
    return {
        key: value
        for key, value in fields.items()
        if key.removesuffix("_json_schema") == key or key.removesuffix("_json_schema") not in fields
    }


# A name is required (the client refuses a declaration without one, as the server does).
function_declarations = st.builds(
    lambda name, rest: w.FunctionDeclaration(name=name, **rest),
    names,
    _opt(
        description=text,
        parameters=schemas,
        parameters_json_schema=json_values,
        response=schemas,
        response_json_schema=json_values,
        behavior=_values(gt.Behavior),
    ).map(_one_schema_form),
)
mcp_servers = st.lists(
    _opt(
        name=names,
        streamableHttpTransport=_opt(
            url=text, headers=st.dictionaries(names, text, max_size=2), timeout=text
        ),
    ),
    max_size=2,
)
tools = _build(
    w.Tool,
    function_declarations=st.lists(function_declarations, max_size=3),
    google_search=_opt(excludeDomains=st.lists(text, max_size=2)),
    code_execution=st.just({}),
    url_context=st.just({}),
    google_maps=_opt(enableWidget=st.booleans()),
    computer_use=_opt(environment=_values(gt.Environment)),
    file_search=_opt(fileSearchStoreNames=st.lists(text, max_size=2), topK=int32),
    retrieval=_opt(
        disableAttribution=st.booleans(), vertexAiSearch=_opt(datastore=text, maxResults=int32)
    ),
    enterprise_web_search=_opt(excludeDomains=st.lists(text, max_size=2)),
    google_search_retrieval=_opt(
        dynamicRetrievalConfig=_opt(
            mode=_values(gt.DynamicRetrievalConfigMode), dynamicThreshold=st.floats(0, 1)
        )
    ),
    parallel_ai_search=_opt(apiKey=text, enableDataRetention=st.booleans()),
    mcp_servers=mcp_servers,
    exa_ai_search=_opt(apiKey=text, customConfigs=json_objects),
)
voice_configs = _build(
    w.VoiceConfig,
    replicated_voice_config=_build(
        w.ReplicatedVoiceConfig,
        mime_type=st.just("audio/wav"),
        voice_sample_audio=st.binary(max_size=24),
        consent_audio=st.binary(max_size=24),
        voice_consent_signature=_build(w.VoiceConsentSignature, signature=text),
    ),
    prebuilt_voice_config=_build(
        w.PrebuiltVoiceConfig,
        voice_name=st.sampled_from(["Puck", "Charon", "Kore", "Fenrir", "Aoede"]) | text,
    ),
    voice=text,
)
generation_configs = _build(
    w.GenerationConfig,
    response_modalities=st.lists(_values(gt.Modality), max_size=2),
    speech_config=_build(
        w.SpeechConfig,
        voice_config=voice_configs,
        language_code=st.sampled_from(["en-US", "de-DE", "ja-JP"]),
        multi_speaker_voice_config=_build(
            w.MultiSpeakerVoiceConfig,
            speaker_voice_configs=st.lists(
                _build(w.SpeakerVoiceConfig, speaker=text, voice_config=voice_configs),
                max_size=2,
            ),
        ),
    ),
    thinking_config=_build(
        w.ThinkingConfig,
        thinking_budget=st.integers(-1, 32768),
        include_thoughts=st.booleans(),
        thinking_level=_values(gt.ThinkingLevel),
    ),
    enable_affective_dialog=st.booleans(),
    media_resolution=_values(gt.MediaResolution),
    temperature=st.floats(0, 2),
    top_p=st.floats(0, 1),
    top_k=st.integers(1, 100),
    max_output_tokens=st.integers(1, 2**31 - 1),  # 0 is refused
    seed=st.integers(-(2**31), 2**31 - 1),
    candidate_count=st.integers(1, 8),
    presence_penalty=st.floats(-2, 2),
    frequency_penalty=st.floats(-2, 2),
    translation_config=_build(
        w.TranslationConfig,
        target_language_code=st.sampled_from(["en", "fr", "hi"]),
        echo_target_language=st.booleans(),
    ),
)
transcription_configs = _build(
    w.AudioTranscriptionConfig,
    language_codes=st.lists(st.sampled_from(["en-US", "fr-FR"]), max_size=2),
    language_auto=st.just({}),
    language_hints=_build(
        w.LanguageHints, language_codes=st.lists(st.sampled_from(["en-US", "fr-FR"]), max_size=2)
    ),
    custom_vocabulary=st.lists(text, max_size=2),
    adaptation_phrases=st.lists(text, max_size=2),
    word_timestamp=st.booleans(),
    diarization=st.booleans(),
    mode=st.sampled_from(["VERBATIM", "SMART"]),
    source_text=text,
)
setup_structs = _build(
    w.Setup,
    generation_config=generation_configs,
    system_instruction=contents,
    tools=st.lists(tools, max_size=3),
    realtime_input_config=_build(
        w.RealtimeInputConfig,
        # Tuning only where detection is on: with it disabled, `check_setup` refuses it.
        automatic_activity_detection=_build(
            w.AutomaticActivityDetection,
            disabled=st.just(False),
            start_of_speech_sensitivity=_values(gt.StartSensitivity),
            end_of_speech_sensitivity=_values(gt.EndSensitivity),
            prefix_padding_ms=int32,
            silence_duration_ms=int32,
        )
        | st.just(w.AutomaticActivityDetection(disabled=True)),
        activity_handling=_values(gt.ActivityHandling),
        turn_coverage=_values(gt.TurnCoverage),
        interim_transcript_timestamp_enabled=st.booleans(),
    ),
    session_resumption=_build(w.SessionResumptionConfig, handle=text, transparent=st.booleans()),
    context_window_compression=_build(
        w.ContextWindowCompression,
        trigger_tokens=int64,
        sliding_window=_build(w.SlidingWindow, target_tokens=int64),
    ),
    input_audio_transcription=transcription_configs,
    output_audio_transcription=transcription_configs,
    proactivity=_build(w.Proactivity, proactive_audio=st.booleans(), proactive_video=st.booleans()),
    history_config=_build(w.HistoryConfig, initial_history_in_client_content=st.booleans()),
    safety_settings=st.lists(
        _build(
            w.SafetySetting,
            category=_values(gt.HarmCategory),
            threshold=_values(gt.HarmBlockThreshold),
            method=_values(gt.HarmBlockMethod),
        ),
        max_size=2,
    ),
    explicit_vad_signal=st.booleans(),
    avatar_config=_opt(avatarName=text, audioBitrateBps=int32, videoBitrateBps=int32),
    labels=st.dictionaries(names, text, max_size=2),
)

model_names = st.sampled_from(
    ["gemini-live-2.5-flash-preview", "models/gemini-2.5-flash-native-audio-preview-12-2025"]
)


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _without_gemini_only(tool: w.Tool) -> w.Tool:
    """`tool` as Vertex AI takes it: no `file_search`, MCP servers without `name` or
    `streamableHttpTransport` (`GEMINI_ONLY_FIELDS`, `GEMINI_ONLY_KEYS`)."""
    servers = None if tool.mcp_servers is None else [{} for _ in tool.mcp_servers]
    return msgspec.structs.replace(tool, file_search=None, mcp_servers=servers)


vertex_tools = tools.map(_without_gemini_only)
"""Every tool kind Vertex AI takes."""

# Tool kinds both backends take (the Vertex-only and Gemini-only kinds are refused by
# name by the other backend's parser; the emulator refuses them likewise).
portable_tools = _build(
    w.Tool,
    function_declarations=st.lists(function_declarations, max_size=2),
    google_search=st.just({}),
    code_execution=st.just({}),
    url_context=st.just({}),
    google_maps=_opt(enableWidget=st.booleans()),
    computer_use=_opt(environment=_values(gt.Environment)),
    mcp_servers=st.lists(st.just({}), max_size=2),  # `name` and its transport: Gemini only
)

valid_extras = _opt(
    # Items after the modelled ones: the two lists of the setup `extra` may add to that
    # every server takes without a word (a strict parser refuses an unknown name anywhere).
    tools=st.lists(portable_tools.map(msgspec.to_builtins), max_size=2),
    safetySettings=st.lists(
        _opt(
            category=_values(gt.HarmCategory),
            threshold=_values(gt.HarmBlockThreshold),
        ),
        max_size=2,
    ),
)
"""`Setup.extra` values a strict server accepts: items added to the lists it models."""


def live_setup_options(
    *, tool_kinds: st.SearchStrategy[w.Tool] = tools
) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for `live_setup`: every option, each present or not (valid values)."""
    from trio_gemini_live._setup import function_tool

    declared = st.builds(
        function_tool,
        names,
        text,
        st.none() | schemas,
        non_blocking=st.booleans(),
    )
    return _opt(
        modality=st.sampled_from([None, "AUDIO", "TEXT"]),
        voice=st.none() | st.sampled_from(["Kore", "Puck"]),
        language=st.none() | st.sampled_from(["en-US", "fr-FR"]),
        system_instruction=st.none() | text | contents,
        functions=st.lists(declared, max_size=2),
        tools=st.lists(tool_kinds, max_size=2),
        temperature=st.none() | st.floats(0, 2),
        top_p=st.none() | st.floats(0, 1),
        top_k=st.none() | st.integers(1, INT32_MAX),
        max_output_tokens=st.none() | st.integers(1, INT32_MAX),
        seed=st.none() | st.integers(-(2**31), INT32_MAX),
        media_resolution=st.none() | _values(gt.MediaResolution),
        thinking_budget=st.none() | st.integers(-1, 32768),
        thinking_level=st.none() | _values(gt.ThinkingLevel),
        include_thoughts=st.none() | st.booleans(),
        enable_affective_dialog=st.none() | st.booleans(),
        proactive_audio=st.none() | st.booleans(),
        input_transcription=st.booleans(),
        output_transcription=st.booleans(),
        automatic_vad=st.booleans(),
        silence_duration_ms=st.none() | st.integers(0, INT32_MAX),
        prefix_padding_ms=st.none() | st.integers(0, INT32_MAX),
        start_of_speech_sensitivity=st.none() | _values(gt.StartSensitivity),
        end_of_speech_sensitivity=st.none() | _values(gt.EndSensitivity),
        activity_handling=st.none() | _values(gt.ActivityHandling),
        turn_coverage=st.none() | _values(gt.TurnCoverage),
        resumption=st.booleans(),
        resumption_handle=st.none() | text,
        transparent_resumption=st.none() | st.booleans(),
        compression_trigger_tokens=st.none() | st.integers(1, INT64_MAX),  # 0 is refused
        compression_target_tokens=st.none() | st.integers(1, INT64_MAX),
        extra=st.none() | valid_extras,
    )


# --- credentials a setup carries (for the redaction properties) -------------------------------

credentials = st.from_regex(r"sk-[0-9a-f]{16}", fullmatch=True)
"""A credential's value: nothing else in a drawn setup looks like it."""

credential_keys = st.sampled_from(
    [
        *("apiKey", "api_key", "API-KEY", "x-goog-api-key", "key", "Authorization"),
        *("headers", "token", "accessToken", "refresh_token", "idToken", "bearerToken"),
        *("password", "secret", "clientSecret", "client_secret", "credentials"),
        # A credential's name as services spell it: a prefix, then one of the above.
        *("exaApiKey", "openaiApiKey", "githubToken", "sessionToken", "httpHeaders"),
        *("private_key", "secretAccessKey", "Proxy-Authorization", "dbPassword"),
        # Google's own (`apiKeyConfig.apiKeyString`) and other services' names.
        *("apiKeyString", "auth", "secrets", "clientSecrets", "accessTokens", "passphrase"),
        *("pwd", "Ocp-Apim-Subscription-Key", "serviceAccountKey", "signingKey", "header"),
        *("bearer", "apiKeyValue", "sig"),
    ]
)
"""Names a credential goes by in a tool's or `extra`'s JSON."""

_plain_keys = st.sampled_from(["config", "options", "settings", "server", "x", "items"])


def _nested(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`leaf` at a drawn depth: inside objects (plain names) and lists."""
    return st.recursive(
        leaf,
        lambda inner: (
            st.builds(lambda key, value: {key: value}, _plain_keys, inner)
            | st.lists(inner, min_size=1, max_size=2)
        ),
        max_leaves=4,
    )


@st.composite
def credential_holder(draw: st.DrawFn, secret: str) -> Any:
    """JSON holding `secret` under a credential's name, at some depth (a header's value
    carries it after a scheme, as `Authorization: Bearer ...` does)."""
    value = draw(st.sampled_from([secret, f"Bearer {secret}", {"value": secret}, [secret]]))
    return draw(_nested(st.just({draw(credential_keys): value})))


@st.composite
def tools_with_credentials(draw: st.DrawFn, secret: str) -> w.Tool:
    """A tool of a kind that carries a credential in the setup, `secret` in it."""
    kind = draw(st.sampled_from(["parallel_ai_search", "exa_ai_search", "mcp_servers"]))
    if kind == "mcp_servers":
        transport = {"url": "https://mcp.example", "headers": draw(credential_holder(secret))}
        return w.Tool(mcp_servers=[{"name": "m", "streamableHttpTransport": transport}])
    if draw(st.booleans()):
        return w.Tool(**{kind: {"apiKey": secret, "maxResults": 3}})
    return w.Tool(**{kind: {"customConfigs": draw(credential_holder(secret)), "maxResults": 3}})


@st.composite
def extras_with_credentials(draw: st.DrawFn, secret: str) -> dict[str, Any]:
    """A valid `Setup.extra` holding `secret`: in a field of its own, in a modelled object
    (a field added to it), or in a tool it adds."""
    where = draw(st.sampled_from(["own", "object", "tool"]))
    holder = draw(credential_holder(secret))
    if where == "own":
        return {draw(st.sampled_from(["newTool", "vertexThing"])): holder}
    if where == "object":
        return {"generationConfig": {"newKnob": holder}}
    return {"tools": [{"mcpServers": [{"headers": holder}]}]}  # (`name`: Gemini API only)


@st.composite
def live_setup_kwargs(
    draw: st.DrawFn,
    options: st.SearchStrategy[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `live_setup` that it accepts: every option, each present or not.

    `options` draws them (default: `live_setup_options()`); then what `live_setup` refuses
    by design is taken out: a voice for TEXT answers, two functions of one name, options
    that would have no effect (detection tuning with `automatic_vad=False`, a handle or
    transparency with `resumption=False`, an empty handle), a compression target not below
    its trigger.
    """
    kwargs = draw(options if options is not None else live_setup_options())
    if kwargs.get("modality") == "TEXT":
        kwargs.pop("voice", None)  # live_setup refuses it: the server would close with 1007
    if kwargs.get("automatic_vad") is False:
        for option in (
            "silence_duration_ms",
            "prefix_padding_ms",
            "start_of_speech_sensitivity",
            "end_of_speech_sensitivity",
        ):
            kwargs.pop(option, None)
    if kwargs.get("resumption") is False:
        kwargs.pop("resumption_handle", None)
        kwargs.pop("transparent_resumption", None)
    if kwargs.get("resumption_handle") == "":
        del kwargs["resumption_handle"]
    trigger, target = (
        kwargs.get("compression_trigger_tokens"),
        kwargs.get("compression_target_tokens"),
    )
    if trigger is not None and target is not None and target >= trigger:
        if trigger == 1:
            del kwargs["compression_target_tokens"]
        else:
            kwargs["compression_target_tokens"] = trigger // 2
    # live_setup puts `functions` after `tools`, and `extra`'s tools after both; two
    # functions may not share a name.
    extra_tools = [
        msgspec.convert(tool, w.Tool) for tool in (kwargs.get("extra") or {}).get("tools", ())
    ]
    renamed = _unique_names(
        [
            *kwargs.get("tools", ()),
            w.Tool(function_declarations=kwargs.get("functions", [])),
            *extra_tools,
        ]
    )
    given = len(kwargs.get("tools", ()))
    if "tools" in kwargs:
        kwargs["tools"] = renamed[:given]
    if "functions" in kwargs:
        kwargs["functions"] = renamed[given].function_declarations
    if extra_tools:
        kwargs["extra"] = {
            **kwargs["extra"],
            "tools": [msgspec.to_builtins(tool) for tool in renamed[given + 1 :]],
        }
    return kwargs


def _unique_names(tools: list[w.Tool]) -> list[w.Tool]:
    """`tools` with each function name that is taken already given a numbered suffix."""
    seen: set[str] = set()
    out: list[w.Tool] = []
    for tool in tools:
        declarations: list[w.FunctionDeclaration] = []
        for declaration in tool.function_declarations or ():
            name, number = declaration.name, 1
            while name in seen:
                name, number = f"{declaration.name}_{number}", number + 1
            seen.add(name)
            declarations.append(msgspec.structs.replace(declaration, name=name))
        if tool.function_declarations is not None:
            tool = msgspec.structs.replace(tool, function_declarations=declarations)
        out.append(tool)
    return out


@st.composite
def setups(draw: st.DrawFn) -> w.Setup:
    """A setup: from `live_setup` (every option) or a raw `Setup` with every field."""
    from trio_gemini_live._setup import live_setup

    model = draw(model_names)
    if draw(st.booleans()):
        return live_setup(model, **draw(live_setup_kwargs()))
    setup = draw(setup_structs)
    if setup.tools:
        setup = msgspec.structs.replace(setup, tools=_unique_names(setup.tools))
    return w.Setup(model=model, **msgspec_fields(setup))


def msgspec_fields(struct: Any) -> dict[str, Any]:
    """The fields of a Struct that are set (differ from None), as keyword arguments."""
    return {name: getattr(struct, name) for name in struct.__struct_fields__ if name != "model"}


realtime_inputs = st.one_of(
    _build(w.RealtimeInput, audio=blobs),
    _build(w.RealtimeInput, video=blobs),
    _build(w.RealtimeInput, text=text),
    st.just(w.RealtimeInput(audio_stream_end=True)),
    st.just(w.RealtimeInput(activity_start=w.ActivityStart())),
    st.just(w.RealtimeInput(activity_end=w.ActivityEnd())),
    _build(w.RealtimeInput, media_chunks=st.lists(blobs, max_size=2)),
    # Not a oneof in the proto: several fields in one message are legal.
    _build(
        w.RealtimeInput,
        audio=blobs,
        video=blobs,
        text=text,
        audio_stream_end=st.booleans(),
        activity_start=st.just(w.ActivityStart()),
        activity_end=st.just(w.ActivityEnd()),
        media_chunks=st.lists(blobs, max_size=2),
    ),
)

client_messages = st.one_of(
    realtime_inputs.map(lambda value: w.ClientMessage(realtime_input=value)),
    _build(w.ClientContent, turns=st.lists(contents, max_size=3), turn_complete=st.booleans()).map(
        lambda value: w.ClientMessage(client_content=value)
    ),
    # At least one response: the client refuses a toolResponse that answers no call.
    st.builds(
        w.ToolResponse, function_responses=st.lists(function_responses, min_size=1, max_size=3)
    ).map(lambda value: w.ClientMessage(tool_response=value)),
    _build(
        w.ContextUpdate,
        system_instruction=contents,
        tools=_build(w.ToolsUpdate, tools=st.lists(tools, max_size=2)),
    ).map(lambda value: w.ClientMessage(context_update=value)),
)
"""Every non-setup client message, each top-level kind with all of its fields."""

# --- commands: the LiveSession send API -----------------------------------------------------

_call_ids = st.from_regex(r"function-call-[0-9]{1,12}", fullmatch=True)
_responses = st.builds(
    w.FunctionResponse,
    id=_call_ids,
    name=names,
    response=st.none() | json_objects,
    will_continue=st.none() | st.booleans(),
    scheduling=st.none() | _values(gt.FunctionResponseScheduling),
)
_buffers = st.sampled_from([bytes, bytearray, memoryview])

commands = st.one_of(
    st.tuples(
        st.just("send_audio"),
        # (Empty audio sends nothing: `send_audio` drops it.)
        st.tuples(st.tuples(pcm.filter(bool), _buffers).map(lambda pair: pair[1](pair[0]))),
        _opt(sample_rate=st.sampled_from([8000, 16000, 24000, 48000])),
    ),
    st.tuples(
        st.just("send_video"),
        # (An empty frame sends nothing, as empty audio: `send_video` drops it.)
        st.tuples(st.binary(min_size=1, max_size=48)),
        _opt(mime_type=st.sampled_from(["image/jpeg", "image/png", "image/webp"])),
    ),
    # (Empty text is refused: the server reads it as unset, and nothing would answer.)
    st.tuples(st.just("send_text"), st.tuples(text.filter(bool)), st.just({})),
    st.tuples(
        st.just("send_client_content"),
        # (An empty str is refused: the server refuses a text part without text.)
        st.tuples(st.none() | text.filter(bool) | contents | st.lists(contents, max_size=2)),
        _opt(turn_complete=st.booleans()),
    ),
    st.tuples(st.just("activity_start"), st.just(()), st.just({})),
    st.tuples(st.just("activity_end"), st.just(()), st.just({})),
    st.tuples(st.just("audio_stream_end"), st.just(()), st.just({})),
    st.tuples(
        st.just("send_tool_response"),
        st.lists(_responses, min_size=1, max_size=3).map(tuple),  # none is refused
        st.just({}),
    ),
    st.tuples(
        st.just("respond"),
        st.tuples(_call_ids, json_values),
        st.fixed_dictionaries(
            {"name": names},
            optional={
                "scheduling": _values(gt.FunctionResponseScheduling),
                "will_continue": st.booleans(),
            },
        ),
    ),
    st.tuples(
        st.just("update_context"),
        st.just(()),
        _opt(
            # (An empty str is refused: an instruction whose one part has no text.)
            system_instruction=text.filter(bool) | contents,
            tools=st.lists(tools, max_size=2).map(_unique_names),  # a shared name is refused
        ).filter(bool),
    ),
    st.tuples(st.just("send"), st.tuples(client_messages), st.just({})),
)
"""`(method, args, kwargs)` for every `LiveSession` send method."""

# --- any LiveServerMessage, from the SDK's own annotations -----------------------------------

_SDK_OVERRIDES: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    # A Duration as the server writes it; an invalid one is a protocol error (fuzzed apart).
    ("LiveServerGoAway", "time_left"): st.one_of(
        st.integers(0, 10**6).map(lambda n: f"{n}s"),
        st.decimals(0, 10**4, places=3).map(lambda d: f"{d}s"),
    ),
    # int64 in proto; JSON carries it as a string (see `server_frame`).
    ("LiveServerSessionResumptionUpdate", "last_consumed_client_message_index"): int64,
    ("Blob", "mime_type"): mime_types | text.filter(lambda t: "rate" not in t),
    # A path naming one argument, of few, so that pieces meet on one (a string goes on);
    # a path the client cannot apply is a protocol error (tested in test_call_stream.py).
    ("PartialArg", "json_path"): st.sampled_from(["$.a", "$.b", "$.a_b"]),
}


def _sdk_scalar(annotation: Any) -> st.SearchStrategy[Any] | None:
    if annotation is str:
        return text
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return int32
    if annotation is float:
        return floats
    if annotation is bytes:
        return st.binary(max_size=32)
    if annotation is Any:
        return json_values
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from(list(annotation))
    return None


def sdk_strategy(annotation: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for values of an SDK pydantic annotation (depth-limited)."""
    scalar = _sdk_scalar(annotation)
    if scalar is not None:
        return scalar
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([sdk_strategy(arg, depth) for arg in args if arg is not type(None)])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(sdk_strategy(args[0], depth + 1), max_size=2 if depth < 4 else 0)
    if origin is dict:
        return st.dictionaries(text, sdk_strategy(args[1], depth + 1), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return sdk_model_strategy(annotation, depth)
    raise NotImplementedError(f"no strategy for SDK annotation {annotation!r}")


_model_cache: dict[tuple[type[Any], int], st.SearchStrategy[Any]] = {}


def sdk_model_strategy(cls: type[pydantic.BaseModel], depth: int = 0) -> st.SearchStrategy[Any]:
    """Any instance of an SDK model: every field absent or drawn from its annotation."""
    key = (cls, depth)
    if key not in _model_cache:
        optional: dict[str, st.SearchStrategy[Any]] = {}
        if depth < 6:
            for name, field in cls.model_fields.items():
                override = _SDK_OVERRIDES.get((cls.__name__, name))
                if override is None:
                    override = sdk_strategy(field.annotation, depth + 1)
                optional[name] = override
        _model_cache[key] = st.fixed_dictionaries({}, optional=optional).map(
            lambda kwargs: cls(**kwargs)
        )
    return _model_cache[key]


def sdk_server_messages() -> st.SearchStrategy[gt.LiveServerMessage]:
    """Any `LiveServerMessage` the SDK can express."""
    return sdk_model_strategy(gt.LiveServerMessage)


# The server's int64 fields (JSON strings) and the one key that is not the camelCase name.
_INT64_FIELDS = {("LiveServerSessionResumptionUpdate", "last_consumed_client_message_index")}
_WIRE_KEYS = {("VoiceActivity", "voice_activity_type"): "type"}


def _is_default(value: Any) -> bool:
    return value is False or value == 0 or value == "" or value == [] or value == b""


def to_wire(model: pydantic.BaseModel, *, omit_defaults: bool = False) -> dict[str, Any]:
    """An SDK model as the server's proto3 JSON object (camelCase, standard base64)."""
    out: dict[str, Any] = {}
    cls = type(model)
    for name in cls.model_fields:
        value = getattr(model, name)
        if value is None or (omit_defaults and _is_default(value)):
            continue
        key = _WIRE_KEYS.get((cls.__name__, name), to_camel(name))
        if (cls.__name__, name) in _INT64_FIELDS:
            out[key] = str(value)
        else:
            out[key] = _wire_value(value, omit_defaults)
    return out


def _wire_value(value: Any, omit_defaults: bool) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return to_wire(value, omit_defaults=omit_defaults)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [_wire_value(item, omit_defaults) for item in value]
    return value  # JSON already (free-form `dict[str, Any]` is carried as it is)


def server_frame(message: dict[str, Any]) -> bytes:
    """Serialise like Google's server: 2-space pretty JSON + newline, UTF-8 bytes."""
    return (json.dumps(message, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --- proto3 JSON nulls in server frames ----------------------------------------------------


def _null_slots(cls: type[Any]) -> list[tuple[str, type[Any] | None, bool]]:
    """The fields of a server Struct a `null` may stand for: (wire name, inner Struct, list?).

    Not those whose `null` is a value (`Any`, and `PartialArg.nullValue`, whose `null` is
    the protobuf `NullValue`, not its absence).
    """
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    slots: list[tuple[str, type[Any] | None, bool]] = []
    for field in info.fields:
        types = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
        if any(isinstance(t, mi.AnyType) for t in types):
            continue
        if any(isinstance(t, mi.NoneType) for t in types) and field.default is not None:
            continue
        inner: type[Any] | None = None
        repeated = False
        for member in types:
            if isinstance(member, mi.StructType):
                inner = member.cls
            elif isinstance(member, mi.ListType) and isinstance(member.item_type, mi.StructType):
                inner, repeated = member.item_type.cls, True
        slots.append((field.encode_name, inner, repeated))
    return slots


@st.composite
def with_nulls(
    draw: st.DrawFn, tree: dict[str, Any], cls: type[Any] = w.ServerMessage
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`tree` (the JSON of a `cls`) with `null` for some of its fields, at any depth.

    Returns the tree with the nulls and the same tree without those keys: what the nulls
    must read as (proto3 JSON: a `null` field is a field left out). A null stands for a
    field that was absent or replaces one that was set; free-form JSON is left alone.
    """
    nulled: dict[str, Any] = {}
    stripped: dict[str, Any] = {}
    slots = {name: (inner, repeated) for name, inner, repeated in _null_slots(cls)}
    for key in [*tree, *(name for name in slots if name not in tree)]:
        if key in slots and draw(st.integers(0, 3)) == 0:
            nulled[key] = None
            continue
        if key not in tree:
            continue
        value = tree[key]
        inner, repeated = slots.get(key, (None, False))
        if inner is not None and repeated and isinstance(value, list):
            pairs = [
                draw(with_nulls(item, inner)) if isinstance(item, dict) else (item, item)
                for item in value
            ]
            nulled[key] = [pair[0] for pair in pairs]
            stripped[key] = [pair[1] for pair in pairs]
        elif inner is not None and isinstance(value, dict):
            nulled[key], stripped[key] = draw(with_nulls(value, inner))
        else:
            nulled[key] = stripped[key] = value
    return nulled, stripped


# --- budgets --------------------------------------------------------------------------------


def budget(factor: float) -> Any:
    """Settings with `factor` times the active profile's examples (ci: 50, fuzz: 5000).

    Cheap properties take a bigger share of the fuzz budget, expensive ones a smaller one.
    """
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=max(10, int(settings.default.max_examples * factor)),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
