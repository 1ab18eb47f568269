"""The hint a setup refused with 1007 carries: what in the setup the server may have refused.

Google's reason for a refused setup is mostly `Request contains an invalid argument.`,
naming nothing; the error now says what in the setup is suspect. Unknown enum values are
never refused before connecting (Google adds values): they are only named after a refusal.
"""

from __future__ import annotations

import pickle
from typing import Any

import msgspec
import pytest
import trio
import trio.testing

from trio_gemini_live import (
    ConnectionClosedError,
    InvalidArgumentError,
    PolicyViolationError,
    Reconnected,
    live_setup,
)
from trio_gemini_live._errors import close_error_for
from trio_gemini_live._protocol import LiveProtocol, SessionState, check_setup
from trio_gemini_live._setup_hint import setup_hint, setup_problems
from trio_gemini_live._wire import (
    AutomaticActivityDetection,
    FunctionDeclaration,
    GenerationConfig,
    RealtimeInputConfig,
    Setup,
    ThinkingConfig,
    Tool,
)
from trio_gemini_live.emulator import open_emulator
from turns import until_event

NATIVE = "gemini-2.5-flash-native-audio-preview-12-2025"
HALF_CASCADE = "gemini-live-2.5-flash-preview"
GEMINI_3 = "gemini-3.1-flash-live-preview"
REFUSED = "Request contains an invalid argument."
AUIDO = Setup(
    model=f"models/{NATIVE}", generation_config=GenerationConfig(response_modalities=["AUIDO"])
)
AUIDO_HINT = (
    "the setup may be why: generationConfig.responseModalities[0] is 'AUIDO', "
    "not one of AUDIO, IMAGE, TEXT, VIDEO"
)


# --- the hint function ------------------------------------------------------------------------


def test_a_misspelt_modality_is_named_with_the_known_ones() -> None:
    assert setup_hint(AUIDO) == AUIDO_HINT


def test_text_from_a_native_audio_model_is_named() -> None:
    hint = setup_hint(live_setup(NATIVE, modality="TEXT"))
    assert hint.startswith("the setup may be why: ")
    assert f"model '{NATIVE}' answers in AUDIO only" in hint
    assert "responseModalities asks for TEXT" in hint


def test_text_from_a_half_cascade_model_is_not_suspect() -> None:
    assert setup_hint(live_setup(HALF_CASCADE, modality="TEXT")) == ""


def test_two_modalities_are_named() -> None:
    setup = Setup(
        model=f"models/{HALF_CASCADE}",
        generation_config=GenerationConfig(response_modalities=["AUDIO", "TEXT"]),
    )
    assert setup_problems(setup) == [
        "generationConfig.responseModalities asks for 2 modalities (AUDIO, TEXT): "
        "a session answers in one"
    ]


def test_a_usual_setup_has_nothing_suspect() -> None:
    assert setup_hint(live_setup(NATIVE, voice="Kore", output_transcription=True)) == ""
    assert setup_hint(None) == ""


def test_every_enum_field_of_the_setup_is_checked() -> None:
    setup = Setup(
        model=f"models/{HALF_CASCADE}",
        generation_config=GenerationConfig(
            media_resolution="MEDIA_RESOLUTION_ULTRA",
            thinking_config=ThinkingConfig(thinking_level="EXTREME"),
        ),
        realtime_input_config=RealtimeInputConfig(
            automatic_activity_detection=AutomaticActivityDetection(
                start_of_speech_sensitivity="START_SENSITIVITY_MEDIUM",
                end_of_speech_sensitivity="LOW",
            ),
            activity_handling="INTERRUPT",
            turn_coverage="TURN_INCLUDES_EVERYTHING",
        ),
        tools=[
            Tool(google_search={}),
            Tool(
                function_declarations=[
                    FunctionDeclaration(name="a", behavior="BLOCKING"),
                    FunctionDeclaration(name="b", behavior="ASYNC"),
                ]
            ),
        ],
    )
    assert setup_problems(setup) == [
        "generationConfig.mediaResolution is 'MEDIA_RESOLUTION_ULTRA', not one of "
        "MEDIA_RESOLUTION_HIGH, MEDIA_RESOLUTION_LOW, MEDIA_RESOLUTION_MEDIUM",
        "generationConfig.thinkingConfig.thinkingLevel is 'EXTREME', not one of "
        "HIGH, LOW, MEDIUM, MINIMAL, XHIGH",
        "realtimeInputConfig.automaticActivityDetection.startOfSpeechSensitivity is "
        "'START_SENSITIVITY_MEDIUM', not one of START_SENSITIVITY_HIGH, START_SENSITIVITY_LOW",
        "realtimeInputConfig.automaticActivityDetection.endOfSpeechSensitivity is 'LOW', "
        "not one of END_SENSITIVITY_HIGH, END_SENSITIVITY_LOW",
        "realtimeInputConfig.activityHandling is 'INTERRUPT', not one of NO_INTERRUPTION, "
        "START_OF_ACTIVITY_INTERRUPTS",
        "realtimeInputConfig.turnCoverage is 'TURN_INCLUDES_EVERYTHING', not one of "
        "TURN_INCLUDES_ALL_INPUT, TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO, "
        "TURN_INCLUDES_ONLY_ACTIVITY",
        "tools[1].functionDeclarations[1].behavior is 'ASYNC', not one of BLOCKING, NON_BLOCKING",
    ]


def test_every_known_name_passes_including_the_unnumbered_turn_coverage() -> None:
    setup = Setup(
        model=f"models/{HALF_CASCADE}",
        generation_config=GenerationConfig(
            response_modalities=["MODALITY_UNSPECIFIED"],
            media_resolution="MEDIA_RESOLUTION_LOW",
            thinking_config=ThinkingConfig(thinking_level="MINIMAL"),
        ),
        realtime_input_config=RealtimeInputConfig(
            automatic_activity_detection=AutomaticActivityDetection(
                start_of_speech_sensitivity="START_SENSITIVITY_LOW",
                end_of_speech_sensitivity="END_SENSITIVITY_UNSPECIFIED",
            ),
            activity_handling="NO_INTERRUPTION",
            turn_coverage="TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
        ),
        tools=[
            Tool(function_declarations=[FunctionDeclaration(name="a", behavior="NON_BLOCKING")])
        ],
    )
    assert setup_problems(setup) == []


def test_names_newer_than_the_published_protos_are_not_suspect() -> None:
    # google-genai 3.6.1 declares and sends these; Google's servers take them.
    setup = Setup(
        model=f"models/{HALF_CASCADE}",
        generation_config=GenerationConfig(
            response_modalities=["VIDEO"], thinking_config=ThinkingConfig(thinking_level="XHIGH")
        ),
    )
    assert setup_problems(setup) == []


def test_a_huge_value_is_cut_short() -> None:
    setup = Setup(model="m", generation_config=GenerationConfig(media_resolution="X" * 10_000))
    assert "... (10000 characters)" in setup_hint(setup)
    assert len(setup_hint(setup)) < 300


def test_an_unknown_enum_value_is_still_sent() -> None:
    # Google adds enum values: refusing one this release does not know would block users.
    setup = Setup(model="m", generation_config=GenerationConfig(media_resolution="NEW_VALUE"))
    assert check_setup(setup).generation_config == setup.generation_config
    protocol = LiveProtocol()
    assert b"NEW_VALUE" in protocol.start(setup)


# --- the protocol core ------------------------------------------------------------------------


def awaiting(setup: Setup) -> LiveProtocol:
    protocol = LiveProtocol()
    protocol.start(setup)
    assert protocol.state is SessionState.AWAITING_SETUP_COMPLETE
    return protocol


def test_a_1007_refusing_the_setup_carries_the_hint() -> None:
    _, error = awaiting(AUIDO).close_received(1007, REFUSED)
    assert type(error) is InvalidArgumentError
    assert (error.code, error.reason, error.hint) == (1007, REFUSED, AUIDO_HINT)
    assert str(error) == f"connection closed by the server: 1007 {REFUSED} ({AUIDO_HINT})"


def test_a_1007_refusing_a_resumed_setup_carries_the_hint() -> None:
    protocol = awaiting(live_setup(NATIVE))
    protocol.receive_frame(b'{"setupComplete": {}}')
    protocol.close_received(1011, "Internal error encountered.")
    protocol.reset_for_resume()
    protocol.start(live_setup(NATIVE, modality="TEXT"))  # an update_setup's new setup
    _, error = protocol.close_received(1007, REFUSED)
    assert "answers in AUDIO only" in error.hint


def test_a_1007_once_the_session_is_open_has_no_hint() -> None:
    protocol = awaiting(AUIDO)
    protocol.receive_frame(b'{"setupComplete": {}}')
    _, error = protocol.close_received(1007, REFUSED)
    assert error.hint == ""
    assert str(error) == f"connection closed by the server: 1007 {REFUSED}"


def test_other_codes_during_setup_have_no_hint() -> None:
    _, error = awaiting(AUIDO).close_received(1008, "models/x is not found")
    assert type(error) is PolicyViolationError
    assert error.hint == ""


def test_a_1007_for_a_setup_with_nothing_suspect_has_no_hint() -> None:
    _, error = awaiting(live_setup(NATIVE)).close_received(1007, "API key not valid.")
    assert error.hint == ""
    assert "(" not in str(error)


# --- the error --------------------------------------------------------------------------------


def test_the_hint_survives_pickling() -> None:
    error = close_error_for(1007, REFUSED, hint=AUIDO_HINT)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is InvalidArgumentError
    assert (copy.code, copy.reason, copy.hint) == (1007, REFUSED, AUIDO_HINT)
    assert str(copy) == str(error)


def test_an_error_without_a_hint_keeps_its_args() -> None:
    # Programs and logs that read `args` see what they always saw.
    assert ConnectionClosedError(1000, "bye").args == (1000, "bye")
    assert ConnectionClosedError(1007, "x", hint="h").args == (1007, "x", "h")


# --- end to end, on the emulator --------------------------------------------------------------


# The parser's refusal of a name the enum lacks, cut at 123 bytes as close reasons are.
AUIDO_REFUSED = (
    "Invalid JSON payload received. Invalid value at 'setup.generation_config."
    "response_modalities[0]' (type.googleapis.com/googl"
)


@pytest.mark.parametrize(
    ("setup", "reason", "expected"),
    [
        (AUIDO, AUIDO_REFUSED, AUIDO_HINT),
        (
            live_setup(NATIVE, modality="TEXT"),
            REFUSED,
            f"model 'models/{NATIVE}' answers in AUDIO only (a native-audio model), "
            "but generationConfig.responseModalities asks for TEXT",
        ),
        (
            live_setup(GEMINI_3, modality="TEXT"),
            REFUSED,
            f"model 'models/{GEMINI_3}' answers in AUDIO only (a native-audio model), "
            "but generationConfig.responseModalities asks for TEXT",
        ),
    ],
    ids=["AUIDO", "native-audio TEXT", "gemini-3 TEXT"],
)
async def test_the_raised_error_names_what_the_server_refused(
    setup: Setup, reason: str, expected: str, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_emulator() as emulator:
        with pytest.raises(InvalidArgumentError) as info:
            async with emulator.open_session(setup):
                pass  # pragma: no cover
    error = info.value
    assert (error.code, error.reason) == (1007, reason)
    assert expected in error.hint
    assert expected in str(error)


async def test_a_refused_update_setup_says_why(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator() as emulator, emulator.open_session(live_setup(NATIVE)) as session:
        new = msgspec.structs.replace(
            live_setup(NATIVE),
            generation_config=GenerationConfig(response_modalities=["AUIDO"]),
        )
        await session.update_setup(new)
        with trio.fail_after(30):
            event = await until_event(session, Reconnected)
        assert event.setup_refused is not None
        assert AUIDO_HINT in event.setup_refused


@pytest.mark.parametrize(
    "field",
    [
        {"generation_config": {"responseModalities": ["AUIDO"]}},
        {"generation_config": GenerationConfig(thinking_config={"thinkingLevel": "X"})},  # type: ignore[arg-type]
        {"realtime_input_config": {"automaticActivityDetection": {}}},
    ],
)
def test_a_hand_built_setup_the_hint_cannot_read_still_gives_the_close_error(
    field: dict[str, Any],
) -> None:
    # A dict where a Struct belongs (the protocol core does not check types): working out
    # the hint raised AttributeError in place of the server's 1007.
    protocol = LiveProtocol()
    protocol.start(Setup(model="models/m", **field))
    _, error = protocol.close_received(1007, "Request contains an invalid argument.")
    assert isinstance(error, InvalidArgumentError)
    assert error.reason == "Request contains an invalid argument."
