"""`Emulator.open_session`: this package's client on the emulator, over in-memory streams."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_gemini_live import (
    AbnormalClosureError,
    FileReference,
    FunctionCall,
    FunctionCallDelta,
    FunctionCallOutput,
    InvalidArgumentError,
    LiveSession,
    OutputTranscription,
    ReconnectPolicy,
    ResumptionUpdate,
    SessionCreated,
    SessionOptions,
    SessionUpdated,
    TextDelta,
    ThoughtSignature,
    TurnComplete,
    live_setup,
)
from trio_gemini_live.emulator import EmulatorConfig, Fault, Scenario, open_emulator

SETUP = live_setup("gemini-2.5-flash-native-audio-preview-12-2025", output_transcription=True)
NOT_OUTPUT = (SessionCreated, SessionUpdated, ResumptionUpdate)


async def turn(session: LiveSession, text: str) -> str:
    await session.send_text(text)
    heard = ""
    async for event in session:
        if isinstance(event, OutputTranscription):
            heard += event.text
        elif isinstance(event, TurnComplete):
            break
    return heard


async def test_a_session_over_memory_streams(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator() as emu:
        async with emu.open_session(SETUP) as session:
            assert await turn(session, "Hello") == "You said: Hello"
        conn = await emu.wait_for_connection(1)
        await conn.wait_closed()
    assert conn.close_code == 1000
    assert conn.route is not None
    assert not conn.route.vertex
    assert dict(conn.headers)["x-goog-api-key"] == "REDACTED"  # a key was sent


@pytest.mark.parametrize("keys", [frozenset({"only-key"}), frozenset({"b-key", "a-key"})])
async def test_the_default_key_is_one_the_emulator_accepts(
    keys: frozenset[str], autojump_clock: trio.testing.MockClock
) -> None:
    config = EmulatorConfig(api_keys=keys)
    async with open_emulator(config) as emu, emu.open_session(SETUP) as session:
        assert await turn(session, "Hi") == "You said: Hi"


async def test_an_explicit_key_is_sent_as_given(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator(EmulatorConfig(api_keys=frozenset({"right"}))) as emu:
        async with emu.open_session(SETUP, api_key="right"):
            pass
        with pytest.raises(InvalidArgumentError, match="API key not valid"):
            async with emu.open_session(SETUP, api_key="wrong"):
                pass  # pragma: no cover


async def test_a_vertex_emulator_gets_a_vertex_session(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator(EmulatorConfig(vertex=True)) as emu:
        async with emu.open_session(SETUP) as session:
            assert session.session_id is not None  # Vertex's setupComplete.sessionId
            assert await turn(session, "Hello") == "You said: Hello"
        conn = await emu.wait_for_connection(1)
    assert conn.route is not None
    assert conn.route.vertex


async def test_latency_delays_every_message(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator() as emu:
        started = trio.current_time()
        async with emu.open_session(SETUP, latency=0.25):
            # Upgrade request and response, setup and setupComplete: four crossings.
            assert trio.current_time() - started >= 4 * 0.25


async def test_the_connector_arguments_are_checked(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_emulator() as emu:
        with pytest.raises(ValueError, match="buffer must be >= 1 byte"):
            async with emu.open_session(SETUP, buffer=0):
                pass  # pragma: no cover
        with pytest.raises(ValueError, match="latency must be >= 0"):
            async with emu.open_session(SETUP, latency=-1):
                pass  # pragma: no cover


async def test_start_false_sends_the_setup_later(autojump_clock: trio.testing.MockClock) -> None:
    async with open_emulator() as emu, emu.open_session(SETUP, start=False) as session:
        conn = await emu.wait_for_connection(1)
        assert conn.received == []
        await session.start(SETUP)
        assert conn.received[0].get("setup.model") == f"models/{SETUP.model.split('/')[-1]}"


async def test_the_options_are_the_session_s(autojump_clock: trio.testing.MockClock) -> None:
    # Without reconnection a dropped connection ends the session instead of resuming it.
    drop = EmulatorConfig(faults=(Fault(kind="reset", after_received=2),))
    options = SessionOptions(reconnect=ReconnectPolicy(enabled=False))
    async with open_emulator(drop) as emu:
        with pytest.raises(AbnormalClosureError):
            async with emu.open_session(SETUP, options=options) as session:
                await turn(session, "Hello")
        assert len(emu.connections) == 1


@pytest.mark.parametrize("vertex", [True, False])
async def test_file_data_function_responses_signatures_and_streamed_calls_arrive_as_events(
    autojump_clock: trio.testing.MockClock, vertex: bool
) -> None:
    # Model-turn parts the client dropped (fileData, functionResponse, a bare
    # thoughtSignature) and a call whose arguments are streamed in pieces, through the
    # emulator's real frames; the scenario in its JSON form, as a file would give it.
    # On the Gemini API, which has no `partialArgs` nor `willContinue`, the call comes
    # whole (the emulator used to send the Vertex-only pieces there too).
    scenario = Scenario.from_dict(
        {
            "turns": [
                {
                    "when": "plan",
                    "parts": [
                        {"text": "Planning", "thought": True, "thoughtSignature": "c2lnMQ=="},
                        {"thoughtSignature": "c2lnMg=="},
                        {"fileData": {"fileUri": "gs://b/route.png", "mimeType": "image/png"}},
                        {"functionResponse": {"id": "s1", "name": "lookup", "response": {"n": 3}}},
                    ],
                    "tool_calls": [
                        {
                            "name": "book",
                            "stream": True,
                            "args": {"city": "Zürich Hauptbahnhof", "seats": 2, "stops": [{}]},
                        }
                    ],
                    "after_tool": "Booked: {response}",
                }
            ]
        }
    )
    setup = live_setup("gemini-live-2.5-flash-preview", modality="TEXT")
    events: list[object] = []
    async with (
        open_emulator(EmulatorConfig(scenario=scenario, vertex=vertex)) as emu,
        emu.open_session(setup) as session,
    ):
        await session.send_text("plan my trip")
        async for event in session:
            events.append(event)
            if isinstance(event, FunctionCall):
                await session.respond(event.call_id, {"ok": True})
            elif isinstance(event, TurnComplete):
                break
        sent = [frame.raw for frame in emu.connections[-1].sent]
    output = [event for event in events if not isinstance(event, NOT_OUTPUT)]
    assert output[:4] == [
        TextDelta(text="Planning", turn_id=1, thought=True, thought_signature=b"sig1"),
        ThoughtSignature(signature=b"sig2", turn_id=1),
        FileReference(file_uri="gs://b/route.png", mime_type="image/png", turn_id=1),
        FunctionCallOutput(call_id="s1", name="lookup", response={"n": 3}, turn_id=1),
    ]
    deltas = [event for event in events if isinstance(event, FunctionCallDelta)]
    (call,) = [event for event in events if isinstance(event, FunctionCall)]
    if vertex:
        # The string came in pieces of 8 characters, each piece its own toolCall frame.
        city = [p.string_value for d in deltas for p in d.partial_args if p.json_path == "$.city"]
        assert city == ["Zürich H", "auptbahn", "hof"]
        assert {d.call_id for d in deltas} == {call.call_id}
    else:
        assert deltas == []
        assert not [raw for raw in sent if b"partialArgs" in raw or b"willContinue" in raw]
    assert call.name == "book"
    assert call.arguments == {"city": "Zürich Hauptbahnhof", "seats": 2, "stops": [{}]}
    text = "".join(e.text for e in events if isinstance(e, TextDelta) and not e.thought)
    assert text == 'Booked: {"ok": true}'
