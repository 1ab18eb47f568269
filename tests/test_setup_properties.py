"""Properties of every setup `live_setup` builds, each of its options drawn (and `extra`).

1. It is sent as protocol.md section 2.1 says (camelCase names, each option at its path,
   its value's shape), the client reads its own frame back whole, and the emulator's
   parser of the setup frame reads the same setup (nothing unknown, nothing lost); a
   strict emulator opens the session. What the emulator refuses with 1007, the client
   refuses first, with a `ConfigurationError` naming the problem (nothing is sent).
2. Its repr never shows a credential the setup carries (tools, `extra`).
3. A resumed connection sends the same setup, the handle added.

Left to the server by design, and so not drawn here (`live_setup`'s documentation): enum
names and voices this release does not know, a modality the model does not answer in, and
fields `extra` adds that the library does not model.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec
import pytest
import trio
import trio.testing
from hypothesis import assume, given, strategies as st

import strategies as s
from trio_gemini_live import (
    ConfigurationError,
    Reconnected,
    ReconnectPolicy,
    SessionOptions,
    live_setup,
    url_endpoint,
)
from trio_gemini_live._protocol import LiveProtocol, check_setup
from trio_gemini_live._session import _prepare_setup  # pyright: ignore[reportPrivateUsage]
from trio_gemini_live._setup_extra import merge_extra
from trio_gemini_live._setup_secrets import REDACTED, redact_json
from trio_gemini_live._wire import (
    ClientMessage,
    Content,
    FunctionCallPart,
    FunctionDeclaration,
    GenerationConfig,
    Part,
    PartialArg,
    Setup,
    Tool,
)
from trio_gemini_live.emulator import EmulatorConfig, open_emulator
from trio_gemini_live.emulator._arguments import bad_setup_arguments
from trio_gemini_live.emulator._validate import ClientFrameError, parse_client_frame

GEMINI = url_endpoint(
    "ws://127.0.0.1/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
    api_key="k",
)
VERTEX = url_endpoint(
    "ws://127.0.0.1/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
    api_key="k",
)
PROXY = url_endpoint("ws://127.0.0.1/live", api_key="k")
AUDIO_ONLY = ("native-audio", "gemini-3")
MODEL = "gemini-live-2.5-flash-preview"

# Every option at its protocol.md path: (option, path under `setup`, as given or None).
_PLAIN_OPTIONS = (
    ("temperature", ("generationConfig", "temperature")),
    ("top_p", ("generationConfig", "topP")),
    ("top_k", ("generationConfig", "topK")),
    ("max_output_tokens", ("generationConfig", "maxOutputTokens")),
    ("seed", ("generationConfig", "seed")),
    ("media_resolution", ("generationConfig", "mediaResolution")),
    ("enable_affective_dialog", ("generationConfig", "enableAffectiveDialog")),
    ("thinking_budget", ("generationConfig", "thinkingConfig", "thinkingBudget")),
    ("thinking_level", ("generationConfig", "thinkingConfig", "thinkingLevel")),
    ("include_thoughts", ("generationConfig", "thinkingConfig", "includeThoughts")),
    (
        "silence_duration_ms",
        ("realtimeInputConfig", "automaticActivityDetection", "silenceDurationMs"),
    ),
    ("prefix_padding_ms", ("realtimeInputConfig", "automaticActivityDetection", "prefixPaddingMs")),
    (
        "start_of_speech_sensitivity",
        ("realtimeInputConfig", "automaticActivityDetection", "startOfSpeechSensitivity"),
    ),
    (
        "end_of_speech_sensitivity",
        ("realtimeInputConfig", "automaticActivityDetection", "endOfSpeechSensitivity"),
    ),
    ("activity_handling", ("realtimeInputConfig", "activityHandling")),
    ("turn_coverage", ("realtimeInputConfig", "turnCoverage")),
    ("proactive_audio", ("proactivity", "proactiveAudio")),
    ("compression_trigger_tokens", ("contextWindowCompression", "triggerTokens")),
    ("compression_target_tokens", ("contextWindowCompression", "slidingWindow", "targetTokens")),
)


def _put(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def expected_setup(model: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The `setup` object protocol.md section 2.1 has for `live_setup(model, **kwargs)`.

    Written from the protocol reference, not from the library: each option at its path.
    """
    setup: dict[str, Any] = {"model": model}
    modality = kwargs.get("modality", "AUDIO")
    if modality is None and model.startswith(("projects/", "publishers/")):
        modality = "AUDIO"  # Vertex AI's default, which google-genai sends (section 2.1.1)
    if modality:
        _put(setup, ("generationConfig", "responseModalities"), [modality])
    if kwargs.get("voice"):
        voice = {"prebuiltVoiceConfig": {"voiceName": kwargs["voice"]}}
        _put(setup, ("generationConfig", "speechConfig", "voiceConfig"), voice)
    if kwargs.get("language"):
        _put(setup, ("generationConfig", "speechConfig", "languageCode"), kwargs["language"])
    for option, path in _PLAIN_OPTIONS:
        if kwargs.get(option) is not None:
            _put(setup, path, kwargs[option])
    if "contextWindowCompression" in setup:
        setup["contextWindowCompression"].setdefault("slidingWindow", {})
    if not kwargs.get("automatic_vad", True):
        _put(setup, ("realtimeInputConfig", "automaticActivityDetection", "disabled"), True)
    instruction = kwargs.get("system_instruction")
    if isinstance(instruction, Content):
        setup["systemInstruction"] = msgspec.to_builtins(instruction)
    elif instruction:
        setup["systemInstruction"] = {"parts": [{"text": instruction}], "role": "user"}
    tools = [msgspec.to_builtins(tool) for tool in kwargs.get("tools", ())]
    if kwargs.get("functions"):
        declarations = [msgspec.to_builtins(f) for f in kwargs["functions"]]
        tools.append({"functionDeclarations": declarations})
    if tools:
        setup["tools"] = tools
    if kwargs.get("resumption", True):
        resumption: dict[str, Any] = {}
        if kwargs.get("resumption_handle") is not None:
            resumption["handle"] = kwargs["resumption_handle"]
        if kwargs.get("transparent_resumption"):
            resumption["transparent"] = True
        setup["sessionResumption"] = resumption
    for option, key in (
        ("input_transcription", "inputAudioTranscription"),
        ("output_transcription", "outputAudioTranscription"),
    ):
        if kwargs.get(option):
            setup[key] = {}
    for key, items in (kwargs.get("extra") or {}).items():  # valid extras: lists' items
        setup[key] = [*setup.get(key, []), *items]
    return setup


def _frame(setup: Setup, vertex: bool) -> tuple[Setup, bytes]:
    prepared = _prepare_setup(setup, VERTEX if vertex else GEMINI)
    return prepared, LiveProtocol().start(prepared)


def _valid_options(vertex: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Options `live_setup` takes and the backend accepts: every tool kind Vertex AI has on
    Vertex AI, those both backends have on the Gemini API (the client refuses the others)."""
    kinds = s.vertex_tools if vertex else s.portable_tools
    return s.live_setup_kwargs(s.live_setup_options(tool_kinds=kinds))


# --- 1. sent as protocol.md says, read back whole, by the client and the emulator ---------------


@s.budget(1.0)
@given(data=st.data(), model=s.model_names, vertex=st.booleans())
def test_every_live_setup_is_sent_as_the_protocol_says_and_read_back_whole(
    data: st.DataObject, model: str, vertex: bool
) -> None:
    kwargs = data.draw(_valid_options(vertex))
    if not vertex:
        kwargs.pop("transparent_resumption", None)  # Vertex AI only: refused, see below
    prepared, frame = _frame(live_setup(model, **kwargs), vertex)
    sent = json.loads(frame)
    assert sent == {"setup": expected_setup(prepared.model, kwargs)}
    # The client reads its own frame back without losing a key.
    read_back = msgspec.json.decode(frame, type=ClientMessage).setup
    assert msgspec.to_builtins(read_back) == sent["setup"]
    # And so does the emulator's parser, strict like Google's, and its argument rules pass.
    _, parsed = parse_client_frame(frame, strict=True, vertex=vertex)
    assert parsed.setup == read_back
    assert parsed.setup is not None
    assert bad_setup_arguments(parsed.setup) is None


async def _open_and_resume(setup: Setup, vertex: bool) -> list[dict[str, Any]]:
    """The setup frames of a session on the strict emulator that moves on after a goAway."""
    config = EmulatorConfig(vertex=vertex)
    options = SessionOptions(reconnect=ReconnectPolicy(handle_window=0))
    async with open_emulator(config) as emulator:
        async with emulator.open_session(setup, options=options) as session:
            first = await emulator.wait_for_connection()
            await first.wait_for_sent("sessionResumptionUpdate.newHandle")
            await first.go_away(50)
            with trio.fail_after(100):
                async for event in session:
                    if isinstance(event, Reconnected):
                        break
        path = "sessionResumptionUpdate.newHandle"
        handle = [frame.get(path) for frame in first.sent if frame.get(path)][-1]
        frames = [conn.received[0].data for conn in emulator.connections]
    assert len(frames) == 2
    assert all(frame is not None for frame in frames)
    first_setup, second_setup = (frame["setup"] for frame in frames if frame is not None)
    assert second_setup["sessionResumption"].pop("handle") == handle
    assert first_setup == second_setup
    return [frame for frame in frames if frame is not None]


@s.budget(0.3)
@given(data=st.data(), model=s.model_names, vertex=st.booleans())
def test_every_live_setup_opens_a_session_on_the_strict_emulator_and_resumes_with_it(
    data: st.DataObject, model: str, vertex: bool
) -> None:
    """The emulator takes every setup the client sends; a resume sends it again + handle."""
    kwargs = data.draw(_valid_options(vertex))
    assume(not (kwargs.get("modality") == "TEXT" and any(m in model for m in AUDIO_ONLY)))
    kwargs.update(resumption=True, resumption_handle=None)  # a handle of no session: 1008
    if not vertex:
        kwargs.pop("transparent_resumption", None)
    setup = live_setup(model, **kwargs)
    frames = trio.run(_open_and_resume, setup, vertex, clock=trio.testing.MockClock(0))
    sent = frames[0]["setup"]
    assert sent == expected_setup(sent["model"], kwargs)


# --- 1b. what the emulator refuses, the client refuses first ------------------------------------

_BIG = st.integers(-(2**70), 2**70)


_WRONG: dict[str, st.SearchStrategy[Any]] = {
    "temperature": st.floats(-1, 3) | st.sampled_from([math.nan, math.inf]),
    "top_p": st.floats(-1, 2),
    "top_k": _BIG,
    "max_output_tokens": _BIG,
    "seed": _BIG,
    "thinking_budget": _BIG,
    "silence_duration_ms": _BIG,
    "prefix_padding_ms": _BIG,
    "compression_trigger_tokens": _BIG,
    "compression_target_tokens": _BIG,
    "functions": st.lists(
        st.builds(lambda name: FunctionDeclaration(name=name), s.text | s.names),
        max_size=3,
    ),
}
"""Values of the options that the server may refuse (out of range, a bad function name)."""


@st.composite
def _any_options(draw: st.DrawFn) -> dict[str, Any]:
    """`live_setup` options, one or two of them drawn from values the server may refuse.

    Few at a time: with many, the first refused hides whether the others would have been.
    """
    kwargs = draw(s.live_setup_options())  # every tool kind: Vertex AI only ones too
    for option in draw(st.lists(st.sampled_from(sorted(_WRONG)), max_size=2, unique=True)):
        kwargs[option] = draw(_WRONG[option])
    return kwargs


@s.budget(1.0)
@given(model=s.model_names, kwargs=_any_options(), vertex=st.booleans())
def test_a_setup_the_emulator_would_refuse_is_refused_before_it_is_sent(
    model: str, kwargs: dict[str, Any], vertex: bool
) -> None:
    try:
        _, frame = _frame(live_setup(model, **kwargs), vertex)
    except ConfigurationError:
        return  # refused here, with the problem named: nothing sent
    try:
        _, parsed = parse_client_frame(frame, strict=True, vertex=vertex)
    except ClientFrameError as exc:
        pytest.fail(f"sent, then refused by the emulator with {exc.code}: {exc.reason}")
    assert parsed.setup is not None
    assert bad_setup_arguments(parsed.setup) is None


@pytest.mark.parametrize(
    ("kwargs", "path", "kind"),
    [
        ({"top_k": 2**31}, "setup.generationConfig.topK", "int32"),
        ({"max_output_tokens": 2**40}, "setup.generationConfig.maxOutputTokens", "int32"),
        ({"seed": -(2**31) - 1}, "setup.generationConfig.seed", "int32"),
        ({"thinking_budget": 2**31}, "thinkingConfig.thinkingBudget", "int32"),
        (
            {"silence_duration_ms": 2**31},
            "automaticActivityDetection.silenceDurationMs",
            "int32",
        ),
        ({"prefix_padding_ms": 2**32}, "automaticActivityDetection.prefixPaddingMs", "int32"),
        ({"compression_trigger_tokens": 2**63}, "contextWindowCompression.triggerTokens", "int64"),
        ({"compression_target_tokens": 2**64}, "slidingWindow.targetTokens", "int64"),
    ],
)
def test_an_integer_its_proto_field_cannot_hold_is_refused_by_live_setup(
    kwargs: dict[str, Any], path: str, kind: str
) -> None:
    # It was sent (JSON carries any integer) and Google's parser closed with 1007.
    with pytest.raises(ConfigurationError, match=rf"{re.escape(path)} is -?\d+, .*\({kind}:"):
        live_setup(MODEL, **kwargs)


def test_an_integer_too_large_in_a_setup_struct_is_refused_before_it_is_sent() -> None:
    setup = Setup(model=MODEL, generation_config=GenerationConfig(candidate_count=2**31))
    with pytest.raises(ConfigurationError, match=r"setup\.generationConfig\.candidateCount"):
        _frame(setup, vertex=False)
    at_the_ends = live_setup(
        MODEL,
        seed=-(2**31),
        top_k=2**31 - 1,
        compression_trigger_tokens=2**63 - 1,
    )
    _frame(at_the_ends, vertex=False)  # the largest each type holds: sent


@pytest.mark.parametrize("number", [10**10, -(10**12), 2**63, 1e300])
def test_a_number_in_a_double_field_that_may_be_an_int_is_not_range_checked(
    number: float,
) -> None:
    # `PartialArg.number_value` (`int | float`) is a proto double: 10**10 was refused as
    # outside the int32 range.
    call = FunctionCallPart(
        name="f", partial_args=[PartialArg(json_path="$.a", number_value=number)]
    )
    turn = Content(role="model", parts=[Part(function_call=call)])
    check_setup(Setup(model=MODEL, system_instruction=turn))


_DETECTION = '{"realtimeInputConfig":{"automaticActivityDetection":'


@pytest.mark.parametrize(
    ("setup", "path", "proto_type", "shown"),
    [
        (
            '{"generationConfig":{"topK":3000000000}}',
            "generation_config.top_k",
            "INT32",
            "3000000000",
        ),
        (
            _DETECTION + '{"silenceDurationMs":"-2147483649"}}}',
            "realtime_input_config.automatic_activity_detection.silence_duration_ms",
            "INT32",
            '"-2147483649"',
        ),
        (
            '{"contextWindowCompression":{"triggerTokens":"9223372036854775808"}}',
            "context_window_compression.trigger_tokens",
            "INT64",
            '"9223372036854775808"',
        ),
    ],
)
def test_the_emulator_refuses_an_integer_its_field_cannot_hold_as_google_does(
    setup: str, path: str, proto_type: str, shown: str
) -> None:
    frame = f'{{"setup":{{"model":"models/{MODEL}",{setup[1:]}}}'.encode()
    with pytest.raises(ClientFrameError) as caught:
        parse_client_frame(frame, strict=True)
    assert caught.value.code == 1007
    assert caught.value.reason == (
        f"Invalid JSON payload received. Invalid value at 'setup.{path}' (TYPE_{proto_type}), "
        f"{shown}"
    )
    compression = '{"triggerTokens":"9223372036854775807"}'
    largest = f'{{"setup":{{"model":"m","contextWindowCompression":{compression}}}}}'
    parse_client_frame(largest.encode(), strict=True)  # the largest int64: taken


# --- 2. no repr shows a credential the setup carries --------------------------------------------


def _shown(setup: Setup) -> list[str]:
    """Every text that shows `setup`: its reprs, and `SessionUpdated.setup` (as sent)."""
    return [
        repr(setup),
        str(setup),
        repr([setup]),
        repr(setup.tools),
        repr(check_setup(setup)),
        json.dumps(redact_json(merge_extra(setup))),
    ]


@s.budget(1.0)
@given(data=st.data(), model=s.model_names)
def test_no_repr_of_a_setup_shows_a_credential_it_carries(data: st.DataObject, model: str) -> None:
    kwargs = data.draw(_valid_options(vertex=True))
    secrets = data.draw(st.lists(s.credentials, min_size=2, max_size=2, unique=True))
    tool = data.draw(s.tools_with_credentials(secrets[0]))
    added = data.draw(s.extras_with_credentials(secrets[1]))
    extra = {**(kwargs.get("extra") or {}), **added}
    if "tools" in added and "tools" in (kwargs.get("extra") or {}):
        # Both: the drawn extra's tools after the options' (not the options' twice, which
        # declares their functions twice: refused).
        extra["tools"] = [*kwargs["extra"]["tools"], *added["tools"]]
    kwargs = {**kwargs, "tools": [*kwargs.get("tools", ()), tool], "extra": extra}
    setup = live_setup(model, **kwargs)
    # To a proxy (no backend known): Vertex AI's tools and an MCP server's Gemini API only
    # transport, each refused by the other backend, go out together.
    sent = LiveProtocol().start(_prepare_setup(setup, PROXY)).decode()
    for secret in secrets:
        assert secret in sent  # the server gets it
        for shown in _shown(setup):
            assert secret not in shown
    assert REDACTED in repr(setup)


@s.budget(0.5)
@given(data=st.data(), secret=s.credentials)
def test_no_refusal_of_an_extra_shows_a_credential_it_carries(
    data: st.DataObject, secret: str
) -> None:
    # An extra that gives a modelled field a value (refused) names the field and the
    # value's type; the value may be a credential's object.
    holder = {"config": data.draw(s.credential_holder(secret))}
    path, value = data.draw(
        st.sampled_from(
            [
                (("model",), holder),
                (("tools",), holder),
                (("generationConfig",), [holder]),
                (("generationConfig", "temperature"), holder),
                (("realtimeInputConfig", "activityHandling"), holder),
            ]
        )
    )
    extra: dict[str, Any] = {path[-1]: value}
    for key in reversed(path[:-1]):
        extra = {key: extra}
    with pytest.raises(ConfigurationError) as caught:
        live_setup(MODEL, extra=extra)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.args)


SECRET = "sk-0123456789abcdef"


@pytest.mark.parametrize(
    "name",
    ["exaApiKey", "githubToken", "private_key", "httpHeaders", "Proxy-Authorization", "dbPassword"],
)
def test_a_credential_named_as_its_service_names_it_is_redacted(name: str) -> None:
    # Only the bare names were (`apiKey`, `token`, ...): `{"exaApiKey": ...}` in a tool's
    # config or in `extra` was shown in full in the setup's repr and `SessionUpdated`.
    tool = Tool(exa_ai_search={"customConfigs": {name: SECRET}})
    setup = live_setup(MODEL, tools=[tool], extra={"newTool": {name: SECRET}})
    for shown in _shown(setup):
        assert SECRET not in shown


@pytest.mark.parametrize(
    "name", ["maxOutputTokens", "triggerTokens", "sortKey", "keyword", "tokenizer", "headerText"]
)
def test_a_name_that_only_looks_like_a_credential_is_shown(name: str) -> None:
    assert redact_json({name: 5}) == {name: 5}


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": {"apiKey": SECRET}},
        {"generationConfig": [{"token": SECRET}]},
        {"model": {"apiKey": SECRET}},
    ],
)
def test_an_extra_refused_never_shows_the_credential_it_holds(extra: dict[str, Any]) -> None:
    # "not replace with {'apiKey': 'sk-...'} (dict)": the value was shown as given.
    with pytest.raises(ConfigurationError, match=r"extra: setup\.\w+") as caught:
        live_setup(MODEL, extra=extra)
    assert SECRET not in str(caught.value)


def test_an_extra_that_is_no_mapping_is_named_by_its_type_only() -> None:
    with pytest.raises(ConfigurationError, match="not a list") as caught:
        live_setup(MODEL, extra=[("apiKey", SECRET)])  # type: ignore[arg-type]
    assert SECRET not in str(caught.value)
    with pytest.raises(ConfigurationError, match="extra") as caught:
        check_setup(Setup(model=MODEL, extra=[("apiKey", SECRET)]))  # type: ignore[arg-type]
    assert SECRET not in str(caught.value)


def test_a_large_number_in_a_json_value_of_the_setup_is_no_proto_integer() -> None:
    # Only the fields typed as integers are int32/int64: a JSON schema's `maximum`, or an
    # extra's number, is a JSON value (`google.protobuf.Value`), any number goes.
    schema = {"type": "integer", "maximum": 2**40}
    declaration = FunctionDeclaration(name="f", parameters_json_schema=schema)
    setup = live_setup(MODEL, functions=[declaration], extra={"newKnob": 2**70})
    _, frame = _frame(setup, vertex=False)
    assert json.loads(frame)["setup"]["newKnob"] == 2**70


@pytest.mark.parametrize(
    ("setup", "path"),
    [
        (Setup(model=MODEL, explicit_vad_signal=False), "setup.explicitVadSignal"),
        (live_setup(MODEL, tools=[Tool(retrieval={})]), "setup.tools[0].retrieval"),
        (
            live_setup(MODEL, tools=[Tool(google_search={}), Tool(exa_ai_search={})]),
            "setup.tools[1].exaAiSearch",
        ),
        (
            live_setup(MODEL, tools=[Tool(enterprise_web_search={}, parallel_ai_search={})]),
            "setup.tools[0].enterpriseWebSearch, setup.tools[0].parallelAiSearch are",
        ),
    ],
)
def test_a_vertex_only_field_is_refused_before_it_reaches_the_gemini_api(
    setup: Setup, path: str
) -> None:
    # It was sent, and the Gemini API (the strict emulator too) closed with 1007 'Unknown
    # name "retrieval"'; only a hint then said why.
    with pytest.raises(ConfigurationError, match=re.escape(path)) as caught:
        _frame(setup, vertex=False)
    assert "Vertex AI only" in str(caught.value)
    _, frame = _frame(setup, vertex=True)  # Vertex AI has them
    parse_client_frame(frame, strict=True, vertex=True)
