"""Enum values go on the wire as Google's protos declare them, whatever case they were given.

Proto3 JSON parsers match enum names case-sensitively, and google-genai sends the declared
(upper-case) names (its `CaseInSensitiveEnum`). These frames were sent as given
(`"no_interruption"`), or refused (`scheduling="silent"`).
"""

from __future__ import annotations

import json
from typing import Any

import trio

from trio_gemini_live import (
    FunctionDeclaration,
    FunctionResponse,
    GenerationConfig,
    LiveSession,
    RealtimeInputConfig,
    SafetySetting,
    SessionOptions,
    Setup,
    ThinkingConfig,
    Tool,
    function_tool,
    live_setup,
    url_endpoint,
)
from trio_gemini_live._enum_names import with_declared_names
from trio_gemini_live._protocol import LiveProtocol
from trio_gemini_live._seed_options import UNLOGGED, apply_options
from trio_gemini_live._session import _prepare_setup  # pyright: ignore[reportPrivateUsage]
from trio_gemini_live._wire import ClientMessage, ContextUpdate, ToolResponse, ToolsUpdate

ENDPOINT = url_endpoint("ws://127.0.0.1/ws/x.GenerativeService.BidiGenerateContent", api_key="k")


def _setup_sent(setup: Setup) -> dict[str, Any]:
    """The `setup` object of the frame a session opening with `setup` sends."""
    frame = LiveProtocol().start(_prepare_setup(setup, ENDPOINT))
    return json.loads(frame)["setup"]


def test_live_setup_sends_each_enum_option_as_its_declared_name() -> None:
    sent = _setup_sent(
        live_setup(
            "m",
            modality="audio",  # pyright: ignore[reportArgumentType]
            media_resolution="media_resolution_low",
            thinking_level="low",
            start_of_speech_sensitivity="Start_Sensitivity_Low",
            end_of_speech_sensitivity="end_sensitivity_high",
            activity_handling="no_interruption",
            turn_coverage="turn_includes_all_input",
            functions=[FunctionDeclaration(name="f", behavior="non_blocking")],
        )
    )
    generation = sent["generationConfig"]
    assert generation["responseModalities"] == ["AUDIO"]
    assert generation["mediaResolution"] == "MEDIA_RESOLUTION_LOW"
    assert generation["thinkingConfig"] == {"thinkingLevel": "LOW"}
    realtime = sent["realtimeInputConfig"]
    assert realtime["automaticActivityDetection"] == {
        "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
        "endOfSpeechSensitivity": "END_SENSITIVITY_HIGH",
    }
    assert realtime["activityHandling"] == "NO_INTERRUPTION"
    assert realtime["turnCoverage"] == "TURN_INCLUDES_ALL_INPUT"
    assert sent["tools"] == [{"functionDeclarations": [{"name": "f", "behavior": "NON_BLOCKING"}]}]


def test_a_value_no_proto_declares_is_sent_as_given() -> None:
    # Google adds values: one this release does not know reaches the server (and a refused
    # setup's hint names it), in the case it was given.
    sent = _setup_sent(live_setup("m", activity_handling="maybe_later", thinking_level="Ultra"))
    assert sent["realtimeInputConfig"]["activityHandling"] == "maybe_later"
    assert sent["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "Ultra"}


def test_a_hand_built_setup_is_sent_with_declared_names_and_left_as_it_was() -> None:
    setup = Setup(
        model="m",
        generation_config=GenerationConfig(
            response_modalities=["text"], thinking_config=ThinkingConfig(thinking_level="high")
        ),
        realtime_input_config=RealtimeInputConfig(turn_coverage="turn_includes_only_activity"),
        safety_settings=[
            SafetySetting(category="harm_category_harassment", threshold="block_none")
        ],
    )
    sent = _setup_sent(setup)
    assert sent["generationConfig"] == {
        "responseModalities": ["TEXT"],
        "thinkingConfig": {"thinkingLevel": "HIGH"},
    }
    assert sent["realtimeInputConfig"] == {"turnCoverage": "TURN_INCLUDES_ONLY_ACTIVITY"}
    assert sent["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}
    ]
    assert setup.generation_config is not None
    assert setup.generation_config.response_modalities == ["text"]  # the caller's, untouched


def test_names_newer_than_the_published_protos_are_sent_as_declared() -> None:
    # google-genai 3.6.1 declares these (and Google's servers take them), the protos do not.
    setup = Setup(
        model="m",
        generation_config=GenerationConfig(
            response_modalities=["video"], thinking_config=ThinkingConfig(thinking_level="xhigh")
        ),
        safety_settings=[
            SafetySetting(category="harm_category_image_hate", threshold="off"),
            SafetySetting(category="Harm_Category_Jailbreak", threshold="off"),
        ],
    )
    sent = _setup_sent(setup)
    assert sent["generationConfig"] == {
        "responseModalities": ["VIDEO"],
        "thinkingConfig": {"thinkingLevel": "XHIGH"},
    }
    assert [rule["category"] for rule in sent["safetySettings"]] == [
        "HARM_CATEGORY_IMAGE_HATE",
        "HARM_CATEGORY_JAILBREAK",
    ]
    from_options = _setup_sent(live_setup("m", thinking_level="xhigh"))["generationConfig"]
    assert from_options["thinkingConfig"] == {"thinkingLevel": "XHIGH"}


def test_a_setup_already_in_declared_names_is_the_same_object() -> None:
    setup = live_setup("m", activity_handling="NO_INTERRUPTION", functions=[function_tool("f")])
    assert with_declared_names(setup) is setup


async def _frames(*calls: tuple[str, tuple[Any, ...], dict[str, Any]]) -> list[dict[str, Any]]:
    """What a session queues for `calls` (method, args, kwargs), as JSON."""
    session = LiveSession(ENDPOINT, SessionOptions(send_buffer=len(calls) + 1))
    session._core.protocol.setup = Setup(model="models/m")  # pyright: ignore[reportPrivateUsage]
    for name, args, kwargs in calls:
        await getattr(session, name)(*args, **kwargs)
    receive = session._core.outgoing_receive  # pyright: ignore[reportPrivateUsage]
    return [json.loads(receive.receive_nowait().frame) for _ in calls]


def test_tool_responses_and_context_updates_send_declared_names() -> None:
    response = FunctionResponse(id="c2", name="f", response={}, scheduling="when_idle")
    raw = FunctionResponse(id="c3", name="f", response={}, scheduling="Interrupt")
    tools = [Tool(function_declarations=[FunctionDeclaration(name="g", behavior="Blocking")])]
    frames = trio.run(
        lambda: _frames(
            ("respond", ("c1", 1), {"name": "f", "scheduling": "silent"}),
            ("send_tool_response", (response,), {}),
            ("send", (ClientMessage(tool_response=ToolResponse(function_responses=[raw])),), {}),
            ("update_context", (), {"tools": tools}),
        )
    )
    schedulings = [
        frame["toolResponse"]["functionResponses"][0]["scheduling"] for frame in frames[:3]
    ]
    assert schedulings == ["SILENT", "WHEN_IDLE", "INTERRUPT"]
    (declaration,) = frames[3]["contextUpdate"]["tools"]["tools"][0]["functionDeclarations"]
    assert declaration["behavior"] == "BLOCKING"
    assert response.scheduling == "when_idle"  # the caller's Struct, untouched


def test_enum_names_in_tuples_are_sent_as_declared_as_in_lists() -> None:
    # The checks take any sequence: only lists were spelled, a tuple's names went as given.
    answer = FunctionResponse(id="c1", name="f", response={}, scheduling="interrupt")
    declarations = (FunctionDeclaration(name="g", behavior="non_blocking"),)
    frames = trio.run(
        lambda: _frames(
            (
                "send",
                (ClientMessage(tool_response=ToolResponse(function_responses=(answer,))),),
                {},
            ),
            (
                "send",
                (
                    ClientMessage(
                        context_update=ContextUpdate(
                            tools=ToolsUpdate(tools=(Tool(function_declarations=declarations),))
                        )
                    ),
                ),
                {},
            ),
        )
    )
    assert frames[0]["toolResponse"]["functionResponses"][0]["scheduling"] == "INTERRUPT"
    (declaration,) = frames[1]["contextUpdate"]["tools"]["tools"][0]["functionDeclarations"]
    assert declaration["behavior"] == "NON_BLOCKING"
    config = GenerationConfig(response_modalities=("audio",))
    spelled = with_declared_names(config)
    assert spelled.response_modalities == ("AUDIO",)  # a tuple still, like the one given
    assert config.response_modalities == ("audio",)


def test_the_seed_facade_sends_declared_names_and_reads_text_in_any_case() -> None:
    draft = {"model": "models/m", "generationConfig": {"responseModalities": ["AUDIO"]}}
    _, setup = apply_options(
        draft,
        {
            "voice": "Kore",
            "tools": [{"name": "f", "behavior": "non_blocking"}],
            "generationConfig": {"responseModalities": ["text"]},
            "realtimeInputConfig": {"activityHandling": "no_interruption"},
        },
        UNLOGGED,
    )
    sent = _setup_sent(setup)
    # Text answers have no voice: the server refuses both (1007), "text" or "TEXT".
    assert sent["generationConfig"] == {"responseModalities": ["TEXT"]}
    assert sent["tools"] == [{"functionDeclarations": [{"name": "f", "behavior": "NON_BLOCKING"}]}]
    assert sent["realtimeInputConfig"] == {"activityHandling": "NO_INTERRUPTION"}


def test_a_transcription_mode_is_sent_as_its_declared_name() -> None:
    # "smart" went out as given; google-genai sends "SMART".
    from trio_gemini_live import AudioTranscriptionConfig

    sent = _setup_sent(
        Setup(
            model="m",
            input_audio_transcription=AudioTranscriptionConfig(mode="smart"),
            output_audio_transcription=AudioTranscriptionConfig(mode="Verbatim"),
        )
    )
    assert sent["inputAudioTranscription"]["mode"] == "SMART"
    assert sent["outputAudioTranscription"]["mode"] == "VERBATIM"


def test_every_enum_field_google_genai_types_is_spelled_as_declared() -> None:
    # Each field google-genai types as an enum, in a wire Struct of the same name, is in
    # `_ENUM_FIELDS` (AudioTranscriptionConfig.mode was missed); names as the enum's values.
    import enum

    from google.genai import types as gt

    from trio_gemini_live import _wire
    from trio_gemini_live._enum_names import (
        _ENUM_FIELDS,  # pyright: ignore[reportPrivateUsage]
    )

    checked = 0
    for cls in _client_structs(_wire.ClientMessage):
        theirs = getattr(gt, cls.__name__, None)
        fields = getattr(theirs, "model_fields", {})
        for name in cls.__struct_fields__:
            field = fields.get(name)
            if field is None:
                continue
            kinds = [
                kind
                for kind in (field.annotation, *getattr(field.annotation, "__args__", ()))
                for kind in (kind, *getattr(kind, "__args__", ()))
                if isinstance(kind, type) and issubclass(kind, enum.Enum)
            ]
            if not kinds:
                continue
            checked += 1
            names = _ENUM_FIELDS.get(cls, {}).get(name)
            assert names is not None, f"{cls.__name__}.{name} is not in _ENUM_FIELDS"
            declared = {str(member.value) for member in kinds[0]}
            assert set(names.values()) & declared, f"{cls.__name__}.{name}: another enum"
    assert checked >= 10


def _client_structs(root: type[Any]) -> set[type[Any]]:
    """The Struct classes a client message may hold, at any depth."""
    from msgspec import inspect as mi

    found: set[type[Any]] = set()
    stack: list[Any] = [mi.type_info(root)]
    while stack:
        info = stack.pop()
        if isinstance(info, mi.StructType):
            if info.cls in found:
                continue
            found.add(info.cls)
            stack.extend(field.type for field in info.fields)
        elif isinstance(info, mi.UnionType):
            stack.extend(info.types)
        elif isinstance(info, mi.ListType | mi.DictType):
            stack.append(info.item_type if isinstance(info, mi.ListType) else info.value_type)
    return found
