"""`live_setup` and `function_tool`: the convenience builders refuse what the server would."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
import trio

from trio_gemini_live import (
    AutomaticActivityDetection,
    Blob,
    ConfigurationError,
    Content,
    FileData,
    FunctionDeclaration,
    GenerationConfig,
    LiveSession,
    LocalProtocolError,
    Part,
    RealtimeInputConfig,
    ReplicatedVoiceConfig,
    SessionOptions,
    SessionResumptionConfig,
    Setup,
    SpeechConfig,
    Tool,
    TurnComplete,
    VoiceConfig,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._protocol import check_setup
from trio_gemini_live.emulator import open_emulator
from turns import until_event

MODEL = "models/gemini-live-2.5-flash-preview"


def test_a_voice_with_text_answers_is_refused_before_connecting() -> None:
    with pytest.raises(ConfigurationError, match=r"voice='Puck'.*'TEXT'"):
        live_setup(MODEL, modality="TEXT", voice="Puck")


def test_text_answers_may_keep_a_language() -> None:
    setup = live_setup(MODEL, modality="TEXT", language="fr-FR")
    assert setup.generation_config is not None
    assert setup.generation_config.response_modalities == ["TEXT"]
    assert setup.generation_config.speech_config is not None
    assert setup.generation_config.speech_config.language_code == "fr-FR"
    assert setup.generation_config.speech_config.voice_config is None


def test_a_voice_with_audio_answers_or_the_server_default_is_kept() -> None:
    for modality in ("AUDIO", None):
        setup = live_setup(MODEL, modality=modality, voice="Puck")
        assert setup.generation_config is not None
        speech = setup.generation_config.speech_config
        assert speech is not None
        assert speech.voice_config is not None


def test_an_unknown_modality_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="modality"):
        live_setup(MODEL, modality="VIDEO")  # type: ignore[arg-type]


def test_a_function_tool_needs_a_name() -> None:
    with pytest.raises(ConfigurationError, match="name"):
        function_tool("")


# A setup holding a value of the wrong type is refused before connecting, naming its JSON
# path: otherwise the server closes the session with 1007 (Google's reason is often just
# "Request contains an invalid argument."), or a raw AttributeError came from inside.
WRONG_SETUPS: dict[str, Callable[[], object]] = {
    "temperature": lambda: live_setup(MODEL, temperature="hot"),  # type: ignore[arg-type]
    "voice": lambda: live_setup(MODEL, voice=3),  # type: ignore[arg-type]
    "system_instruction": lambda: live_setup(MODEL, system_instruction=5),  # type: ignore[arg-type]
    "functions": lambda: live_setup(MODEL, functions=[{"name": "f", "behavior": 1}]),  # type: ignore[list-item]
    "parameters": lambda: live_setup(MODEL, functions=[function_tool("f", "d", "x")]),  # type: ignore[arg-type]
    "name": lambda: live_setup(MODEL, functions=[FunctionDeclaration(name=1)]),  # type: ignore[arg-type]
    "model": lambda: Setup(model=5),  # type: ignore[arg-type]
    "dict": lambda: {"model": MODEL},
}


@pytest.mark.parametrize("case", WRONG_SETUPS)
async def test_a_setup_with_a_wrong_type_is_refused_before_connecting(case: str) -> None:
    setup = WRONG_SETUPS[case]()
    # Nothing listens there: reaching the network would raise TransportError instead.
    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")
    with pytest.raises(ConfigurationError, match=r"setup") as caught:
        async with open_session(setup, endpoint=endpoint):  # type: ignore[arg-type]
            pass
    assert "Traceback" not in str(caught.value)


async def test_update_setup_refuses_a_wrong_type_and_keeps_the_session() -> None:
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(live_setup(MODEL), endpoint=endpoint) as session:
            with pytest.raises(ConfigurationError, match=r"temperature"):
                await session.update_setup(live_setup(MODEL, temperature="hot"))  # type: ignore[arg-type]
            await session.send_text("still open")
            await until_event(session, TurnComplete)


async def test_a_declaration_given_as_its_json_object_is_read_as_the_server_reads_it() -> None:
    # Before: AttributeError ('dict' object has no attribute 'parameters') from the check of
    # the tool schemas, deep inside open_session.
    setup = live_setup(MODEL, functions=[{"name": "f", "parameters": {"$schema": "x"}}])  # type: ignore[list-item]
    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")
    with pytest.raises(ConfigurationError, match=r"\$schema"):
        async with open_session(setup, endpoint=endpoint):
            pass


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"functions": function_tool("f")}, r"functions must be a list .* wrap"),
        ({"tools": Tool()}, r"tools must be a list .* wrap"),
        ({"tools": "search"}, r"tools must be a list of Tool, not str"),
        ({"functions": 3}, r"functions must be a list of FunctionDeclaration, not int"),
    ],
)
def test_live_setup_wants_sequences_of_tools(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        live_setup(MODEL, **arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"compression_trigger_tokens": 0}, r"compression_trigger_tokens must be a positive int"),
        ({"compression_trigger_tokens": -5}, r"positive int .* not -5 \(int\)"),
        ({"compression_trigger_tokens": "9"}, r"not '9' \(str\)"),
        ({"silence_duration_ms": -1}, r"silence_duration_ms must be an int >= 0, not -1"),
        ({"silence_duration_ms": True}, r"silence_duration_ms must be an int"),
    ],
)
def test_live_setup_refuses_a_count_out_of_range(arguments: dict[str, Any], message: str) -> None:
    # compression_trigger_tokens=0 left compression off without a word (the value was
    # tested for truth); a negative silence went to the server.
    with pytest.raises(ConfigurationError, match=message):
        live_setup(MODEL, **arguments)


def test_live_setup_turns_compression_on_for_any_positive_trigger() -> None:
    setup = live_setup(MODEL, compression_trigger_tokens=1, silence_duration_ms=0)
    assert setup.context_window_compression is not None
    assert setup.context_window_compression.trigger_tokens == 1
    assert live_setup(MODEL).context_window_compression is None
    vad = setup.realtime_input_config
    assert vad is not None
    assert vad.automatic_activity_detection is not None
    assert vad.automatic_activity_detection.silence_duration_ms == 0


@pytest.mark.parametrize(
    ("setup", "path"),
    [
        (live_setup(MODEL, temperature=float("nan")), "$.generationConfig.temperature"),
        (
            live_setup(
                MODEL, functions=[function_tool("f", "d", {"type": "NUMBER", "maximum": math.inf})]
            ),
            "$.tools[0].functionDeclarations[0].parameters.maximum",
        ),
    ],
    ids=["nan", "inf"],
)
def test_a_setup_with_nan_or_infinity_is_refused(setup: Setup, path: str) -> None:
    """JSON has neither: msgspec wrote them as null, so the setup went without the value."""
    with pytest.raises(ConfigurationError, match=re.escape(path)):
        check_setup(setup)


# --- function names and sampling ranges the server refuses -----------------------------------

NAME_RULE = r"must start with a letter or an underscore, hold only a-z, A-Z, 0-9, underscores"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("my func!", r"'my func!' .*\(it holds ' ', '!'\)"),
        ("", r"'' .*\(it is empty\)"),
        ("1st", r"'1st' .*\(it starts with '1'\)"),
        ("-x", r"\(it starts with '-'\)"),
        ("a" * 65, r"\(it is 65 characters long\)"),
        ("météo", r"\(it holds 'é'\)"),
    ],
)
def test_a_function_name_the_api_refuses_is_refused_with_the_rule(name: str, problem: str) -> None:
    # Before: accepted, and the server closed the session with 1007 once connected.
    with pytest.raises(ConfigurationError, match=problem) as caught:
        function_tool(name)
    assert re.search(NAME_RULE, str(caught.value))
    assert "at most 64 characters" in str(caught.value)


@pytest.mark.parametrize("name", ["get_weather", "_private", "ns.tool:v2-beta", "a" * 64, "Z"])
def test_a_function_name_within_the_rule_is_kept(name: str) -> None:
    assert function_tool(name).name == name


def test_function_tool_refuses_a_name_that_is_not_a_str() -> None:
    with pytest.raises(ConfigurationError, match=r"function name must be a str, not int"):
        function_tool(1)  # type: ignore[arg-type]


def test_two_functions_of_one_name_are_refused_by_live_setup() -> None:
    tool = Tool(function_declarations=[function_tool("lookup"), function_tool("get_weather")])
    with pytest.raises(
        ConfigurationError,
        match=r"'get_weather' is declared twice \(setup\.tools\[0\]\.functionDeclarations\[1\] "
        r"and setup\.tools\[1\]\.functionDeclarations\[0\]\)",
    ):
        live_setup(MODEL, tools=[tool], functions=[function_tool("get_weather")])


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (
            Setup(
                model=MODEL,
                tools=[Tool(function_declarations=[FunctionDeclaration(name="my func")])],
            ),
            r"setup\.tools\[0\]\.functionDeclarations\[0\]: function name 'my func' .*" + NAME_RULE,
        ),
        (
            Setup(
                model=MODEL,
                tools=[
                    Tool(function_declarations=[FunctionDeclaration(name="f")]),
                    Tool(function_declarations=[FunctionDeclaration(name="f")]),
                ],
            ),
            r"'f' is declared twice",
        ),
        (
            live_setup(MODEL, functions=[{"name": "bad name"}]),  # type: ignore[list-item]
            r"'bad name'",
        ),
    ],
    ids=["bad name", "twice", "json object"],
)
async def test_a_setup_with_a_bad_function_name_is_refused_before_connecting(
    setup: Setup, message: str
) -> None:
    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")  # nothing listens there
    with pytest.raises(ConfigurationError, match=message):
        async with open_session(setup, endpoint=endpoint):
            pass


@pytest.mark.parametrize(("temperature", "shown"), [(-1, "-1"), (2.5, "2.5"), (-0.01, "-0.01")])
def test_live_setup_refuses_a_temperature_out_of_range(temperature: float, shown: str) -> None:
    with pytest.raises(
        ConfigurationError, match=rf"temperature must be between 0\.0 and 2\.0, not {shown}$"
    ):
        live_setup(MODEL, temperature=temperature)


def test_live_setup_keeps_a_temperature_at_either_end() -> None:
    for temperature in (0, 0.0, 2.0):
        setup = live_setup(MODEL, temperature=temperature)
        assert setup.generation_config is not None
        assert setup.generation_config.temperature == temperature


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            GenerationConfig(temperature=-1.0),
            r"generationConfig\.temperature must be between 0\.0 and 2\.0, not -1\.0",
        ),
        (
            GenerationConfig(top_p=1.5),
            r"generationConfig\.topP must be between 0\.0 and 1\.0, not 1\.5",
        ),
        (GenerationConfig(top_p=-0.1), r"topP must be between 0\.0 and 1\.0"),
        (GenerationConfig(top_k=0), r"generationConfig\.topK must be at least 1, not 0"),
        (GenerationConfig(max_output_tokens=0), r"maxOutputTokens must be at least 1, not 0"),
        (GenerationConfig(max_output_tokens=-5), r"maxOutputTokens must be at least 1, not -5"),
        (GenerationConfig(candidate_count=0), r"candidateCount must be at least 1, not 0"),
    ],
)
def test_a_sampling_setting_out_of_its_range_is_refused(
    config: GenerationConfig, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_setup(Setup(model=MODEL, generation_config=config))


def test_sampling_settings_within_their_ranges_are_kept() -> None:
    config = GenerationConfig(
        temperature=0.0, top_p=1.0, top_k=1, max_output_tokens=1, candidate_count=1, seed=-3
    )
    assert check_setup(Setup(model=MODEL, generation_config=config)).generation_config == config


@pytest.mark.parametrize(
    "extra_tools",
    [
        [{"functionDeclarations": [{"name": "f"}]}],  # f in `functions` too
        [{"functionDeclarations": [{"name": "g"}, {"name": "g"}]}],  # g twice in extra
    ],
)
def test_a_name_extra_declares_again_is_refused_as_the_server_refuses_it(
    extra_tools: list[dict[str, object]],
) -> None:
    """`extra`'s tools are sent after the modelled ones: their names were not checked,
    and the server (the emulator too) closed the session with 1007."""
    setup = live_setup(
        MODEL, functions=[FunctionDeclaration(name="f")], extra={"tools": extra_tools}
    )
    with pytest.raises(ConfigurationError, match=r"is declared twice \(setup\.tools\[[01]\]"):
        check_setup(setup)


async def test_update_context_refuses_a_bad_or_shared_function_name() -> None:
    session = LiveSession(url_endpoint("ws://127.0.0.1:9/ws", api_key="k"), SessionOptions())
    session._core.protocol.setup = live_setup(MODEL)  # pyright: ignore[reportPrivateUsage]
    twice = Tool(function_declarations=[FunctionDeclaration(name="f")])
    with pytest.raises(ConfigurationError, match=r"'f' is declared twice"):
        await session.update_context(tools=[twice, twice])
    bad = Tool(function_declarations=[FunctionDeclaration(name="f f")])
    with pytest.raises(
        ConfigurationError, match=r"contextUpdate\.tools\.tools\[0\]\.functionDeclarations\[0\]"
    ):
        await session.update_context(tools=[bad])
    assert session.statistics().sends_queued == 0


async def test_update_context_takes_the_declarations_function_tool_makes() -> None:
    """`update_context(tools=...)` takes what `live_setup(functions=...)` takes.

    It refused a `FunctionDeclaration` ("tools[0] must be a Tool"): a function declared
    with `function_tool` had to be wrapped in a `Tool` by hand for a context update only.
    The declarations go into one `Tool` after the `Tool`s given, as in `live_setup`.
    """
    weather = function_tool("get_weather", "The weather", {"type": "OBJECT"})
    clock = function_tool("get_time", "The time")
    search = Tool(google_search={})
    async with (
        open_emulator() as emulator,
        emulator.open_session(
            live_setup(MODEL, modality="TEXT", functions=[weather]), api_key="k"
        ) as session,
    ):
        await session.update_context(tools=[weather, search, clock])
        expected = live_setup(MODEL, tools=[search], functions=[weather, clock]).tools
        assert session.setup is not None
        assert session.setup.tools == expected
        # The server took it (a bad tool closes with 1007) and the model still answers.
        await session.send_client_content("hi")
        with trio.fail_after(10):
            await until_event(session, TurnComplete)
        sent = [f.data for f in emulator.connections[0].received if "contextUpdate" in f.data]
        assert sent == [{"contextUpdate": {"tools": {"tools": msgspec.to_builtins(expected)}}}]
        with pytest.raises(LocalProtocolError, match=r"tools\[1\] must be a Tool or a"):
            await session.update_context(tools=[weather, "get_time"])  # type: ignore[list-item]


def _cyclic() -> dict[str, object]:
    value: dict[str, object] = {}
    value["self"] = value
    return value


def _deep(depth: int = 100_000) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize("make", [_cyclic, _deep], ids=["cycle", "deep"])
def test_a_value_json_cannot_nest_is_a_configuration_error(
    make: Callable[[], dict[str, object]],
) -> None:
    # Both raised a bare RecursionError: live_setup's extra, and check_setup (open_session)
    # for a function's parameters or Setup.extra.
    with pytest.raises(ConfigurationError, match=r"extra is nested too deeply.*holds itself"):
        live_setup("m", extra={"x": make()})
    tool = FunctionDeclaration(name="f", parameters={"type": "OBJECT", "properties": make()})
    for setup in (
        live_setup("m", functions=[tool]),
        Setup(model="models/m", extra={"x": make()}),
    ):
        with pytest.raises(ConfigurationError, match="the setup is nested too deeply"):
            check_setup(setup)


@pytest.mark.parametrize(
    "switch", ["input_transcription", "output_transcription", "automatic_vad", "resumption"]
)
@pytest.mark.parametrize("value", ["no", "False", None, 0, 1])
def test_a_switch_that_is_not_a_bool_is_refused(switch: str, value: object) -> None:
    # Taken by its truth before: input_transcription="no" turned transcription on,
    # automatic_vad=None turned detection off (audio then got no answer).
    with pytest.raises(ConfigurationError, match=f"{switch} must be a bool"):
        live_setup("m", **{switch: value})


@pytest.mark.parametrize("value", ["no", 0, 1])
def test_a_transparent_resumption_that_is_not_a_bool_or_none_is_refused(value: object) -> None:
    with pytest.raises(ConfigurationError, match="transparent_resumption must be a bool"):
        live_setup("m", transparent_resumption=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"resumption_handle": "H"}, r"resumption_handle needs resumption=True"),
        ({"transparent_resumption": True}, r"transparent_resumption=True needs resumption=True"),
    ],
)
def test_resumption_settings_with_resumption_off_are_refused(
    arguments: dict[str, Any], message: str
) -> None:
    # Dropped without a word before: the handle's session was not resumed, and the new
    # session started afresh, its conversation lost.
    with pytest.raises(ConfigurationError, match=message):
        live_setup(MODEL, resumption=False, **arguments)
    assert (
        live_setup(MODEL, resumption=False, transparent_resumption=False).session_resumption is None
    )


def test_an_empty_resumption_handle_is_refused() -> None:
    # Sent as `"handle": ""`, which names no session (an empty handle is no handle).
    with pytest.raises(ConfigurationError, match=r"resumption_handle is empty"):
        live_setup(MODEL, resumption_handle="")


DETECTION_TUNING = {
    "silence_duration_ms": 500,
    "prefix_padding_ms": 100,
    "start_of_speech_sensitivity": "START_SENSITIVITY_LOW",
    "end_of_speech_sensitivity": "END_SENSITIVITY_LOW",
}


@pytest.mark.parametrize("option", DETECTION_TUNING)
def test_detection_tuning_with_automatic_vad_off_is_refused(option: str) -> None:
    # Sent under `disabled: true` before, where it cannot take effect.
    with pytest.raises(ConfigurationError, match=rf"^{option} needs automatic_vad=True"):
        live_setup(MODEL, automatic_vad=False, **{option: DETECTION_TUNING[option]})
    tuned = live_setup(MODEL, **{option: DETECTION_TUNING[option]}).realtime_input_config
    assert tuned is not None
    assert tuned.automatic_activity_detection is not None


def test_a_setup_tuning_disabled_detection_is_refused_naming_the_fields() -> None:
    detection = AutomaticActivityDetection(
        disabled=True, silence_duration_ms=500, end_of_speech_sensitivity="END_SENSITIVITY_LOW"
    )
    setup = Setup(
        model=MODEL,
        realtime_input_config=RealtimeInputConfig(automatic_activity_detection=detection),
    )
    with pytest.raises(
        ConfigurationError,
        match=r"setup\.realtimeInputConfig\.automaticActivityDetection is disabled, so "
        r"silenceDurationMs, endOfSpeechSensitivity cannot take effect",
    ):
        check_setup(setup)


async def test_update_setup_refuses_tuning_of_disabled_detection_and_keeps_the_session() -> None:
    detection = AutomaticActivityDetection(disabled=True, prefix_padding_ms=20)
    tuned_off = Setup(
        model=MODEL,
        realtime_input_config=RealtimeInputConfig(automatic_activity_detection=detection),
        session_resumption=SessionResumptionConfig(),
    )
    async with open_emulator() as emulator:
        endpoint = url_endpoint(emulator.endpoint_url(), api_key="k")
        async with open_session(live_setup(MODEL), endpoint=endpoint) as session:
            with pytest.raises(ConfigurationError, match=r"prefixPaddingMs cannot take effect"):
                await session.update_setup(tuned_off)
            await session.send_text("still open")
            await until_event(session, TurnComplete)


@pytest.mark.parametrize(("target", "trigger"), [(1000, 1000), (2000, 1000)])
def test_a_compression_target_not_below_its_trigger_is_refused(target: int, trigger: int) -> None:
    # Google: `targetTokens` "should be < trigger_tokens" (default trigger / 2).
    with pytest.raises(
        ConfigurationError,
        match=rf"compression_target_tokens \({target}\) must be below "
        rf"compression_trigger_tokens \({trigger}\)",
    ):
        live_setup(MODEL, compression_trigger_tokens=trigger, compression_target_tokens=target)
    kept = live_setup(MODEL, compression_trigger_tokens=trigger, compression_target_tokens=999)
    assert kept.context_window_compression is not None


@pytest.mark.parametrize("budget", [-2, -1000])
def test_a_thinking_budget_below_minus_one_is_refused(budget: int) -> None:
    with pytest.raises(ConfigurationError, match=rf"thinking_budget must be -1 .*, not {budget}"):
        live_setup(MODEL, thinking_budget=budget)
    for meaningful in (-1, 0, 1024):
        generation = live_setup(MODEL, thinking_budget=meaningful).generation_config
        assert generation is not None
        assert generation.thinking_config is not None
        assert generation.thinking_config.thinking_budget == meaningful


@pytest.mark.parametrize("value", ["no", None, 1])
def test_function_tool_refuses_a_non_blocking_that_is_not_a_bool(value: object) -> None:
    with pytest.raises(ConfigurationError, match="non_blocking must be a bool"):
        function_tool("f", non_blocking=value)  # type: ignore[arg-type]


def test_bytes_where_the_setup_has_a_string_are_refused() -> None:
    # JSON hid it: the bytes went out as base64 text, a voice named "S29yZQ==", which the
    # server refused with 1007 once connected.
    with pytest.raises(ConfigurationError, match=r"got `bytes`.*voiceName"):
        check_setup(live_setup("m", voice=b"Kore"))  # type: ignore[arg-type]


def test_a_str_in_a_bytes_field_of_the_setup_is_refused() -> None:
    # The other way round: msgspec sent the str as it was, and the server read it as
    # base64, other bytes (or refused a str that is no base64 with 1007).
    sample = ReplicatedVoiceConfig(voice_sample_audio="AAAA")  # type: ignore[arg-type]
    voice = VoiceConfig(replicated_voice_config=sample)
    config = GenerationConfig(speech_config=SpeechConfig(voice_config=voice))
    setup = Setup(model=MODEL, generation_config=config)
    path = "setup.generationConfig.speechConfig.voiceConfig.replicatedVoiceConfig.voiceSampleAudio"
    with pytest.raises(ConfigurationError, match=re.escape(path) + " must be bytes, bytearray"):
        check_setup(setup)
    instruction = Content(parts=[Part(inline_data=Blob(data="not base64!"))])  # type: ignore[arg-type]
    with pytest.raises(
        ConfigurationError, match=r"systemInstruction\.parts\[0\]\.inlineData\.data"
    ):
        check_setup(live_setup(MODEL, system_instruction=instruction))


def test_a_system_instruction_part_with_two_kinds_of_data_is_refused() -> None:
    # Google's parser refuses the second member of a part's `data` oneof with 1007.
    part = Part(text="see", file_data=FileData(file_uri="gs://b/o", mime_type="image/png"))
    setup = live_setup(MODEL, system_instruction=Content(parts=[Part(text="hi"), part]))
    with pytest.raises(
        ConfigurationError,
        match=r"^setup\.systemInstruction\.parts\[1\] sets both text and fileData",
    ):
        check_setup(setup)
    # `thought` and `thoughtSignature` lie outside the oneof.
    signed = Part(text="hi", thought=True, thought_signature=b"sig")
    check_setup(live_setup(MODEL, system_instruction=Content(parts=[signed])))
