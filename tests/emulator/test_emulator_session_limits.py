"""Checklist 8.11: session-duration limits (15 min audio, 2 min with video, none compressed)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import trio

from emulator.emulator_client import connect, start
from trio_gemini_live.emulator import EmulatorConfig
from trio_gemini_live.emulator._cli import _config, build_parser

LIMIT_CLOSE = (1011, "Deadline expired before operation could complete.")
LONG_LIVED = EmulatorConfig(lifetime=3600)  # so that the connection deadline stays out of the way
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0fake-jpeg").decode()
VIDEO_FRAMES: list[dict[str, Any]] = [
    {"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": JPEG}}},
    {"realtimeInput": {"mediaChunks": [{"mimeType": "image/png", "data": JPEG}]}},
    # MIME types ignore case (RFC 2045): an upper-case image chunk was not counted as video
    {"realtimeInput": {"mediaChunks": [{"mimeType": "IMAGE/PNG", "data": JPEG}]}},
]


async def test_audio_only_session_ends_after_15_minutes(autojump_clock: trio.abc.Clock) -> None:
    async with start(LONG_LIVED) as emu, connect(emu) as client:
        t0 = trio.current_time()
        await client.setup()
        assert await client.closed(limit=1000) == LIMIT_CLOSE
        elapsed = trio.current_time() - t0
        conn = emu.connections[0]
    assert 899 <= elapsed <= 901
    assert (conn.close_code, conn.closed_by) == (1011, "server")
    assert conn.session is not None
    assert conn.session.expired


async def test_the_limit_spans_resumed_connections(autojump_clock: trio.abc.Clock) -> None:
    async with start() as emu:
        t0 = trio.current_time()
        async with connect(emu) as client:
            await client.setup(sessionResumption={})
            handle = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
            assert await client.recv(limit=700) == {"goAway": {"timeLeft": "50s"}}
        async with connect(emu) as client:
            await client.setup(sessionResumption={"handle": handle})
            # The second connection would live until 550 + 600 s; the session ends at 900 s.
            assert await client.closed(limit=1000) == LIMIT_CLOSE
            assert 899 <= trio.current_time() - t0 <= 901
        # The session is over: its handles resume nothing.
        async with connect(emu) as client:
            await client.send(
                {
                    "setup": {
                        "model": "models/gemini-live-2.5-flash-preview",
                        "sessionResumption": {"handle": handle},
                    }
                }
            )
            assert await client.closed() == (1008, "Requested entity was not found.")


async def test_resuming_after_the_limit_passed_offline_is_refused(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with start(EmulatorConfig(audio_session_limit=60)) as emu:
        async with connect(emu) as client:
            await client.setup(sessionResumption={})
            handle = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
        await trio.sleep(61)  # no connection was open when the limit passed
        async with connect(emu) as client:
            await client.send(
                {
                    "setup": {
                        "model": "models/gemini-live-2.5-flash-preview",
                        "sessionResumption": {"handle": handle},
                    }
                }
            )
            assert await client.closed() == (1008, "Requested entity was not found.")


async def test_a_limit_passed_offline_lets_a_compressed_resume_in_but_not_one_it_closed(
    autojump_clock: trio.abc.Clock,
) -> None:
    # emulator.md said both that such a session is over and that compression in the
    # current setup lifts the limits; this is the one rule it states now.
    compressed = {"contextWindowCompression": {}}
    async with start(EmulatorConfig(audio_session_limit=60)) as emu:
        async with connect(emu) as client:
            await client.setup(sessionResumption={})
            offline = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
        async with connect(emu) as client:
            await client.setup(sessionResumption={})
            closed = (await client.recv())["sessionResumptionUpdate"]["newHandle"]
            assert await client.closed(limit=100) == LIMIT_CLOSE
        await trio.sleep(61)  # no connection of the first was open when its limit passed
        async with connect(emu) as client:
            reply = await client.setup(sessionResumption={"handle": offline}, **compressed)
            assert "setupComplete" in reply
        async with connect(emu) as client:
            await client.send(
                {
                    "setup": {
                        "model": "models/gemini-live-2.5-flash-preview",
                        "sessionResumption": {"handle": closed},
                        **compressed,
                    }
                }
            )
            assert await client.closed() == (1008, "Requested entity was not found.")


@pytest.mark.parametrize("frame", VIDEO_FRAMES)
async def test_video_brings_the_limit_to_2_minutes(
    frame: dict[str, Any], autojump_clock: trio.abc.Clock
) -> None:
    async with start(LONG_LIVED) as emu, connect(emu) as client:
        t0 = trio.current_time()
        await client.setup()
        await trio.sleep(10)
        await client.send(frame)
        assert await client.closed(limit=1000) == LIMIT_CLOSE
        assert 119 <= trio.current_time() - t0 <= 121


async def test_video_after_2_minutes_ends_the_session_at_once(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with start(LONG_LIVED) as emu, connect(emu) as client:
        await client.setup()
        await trio.sleep(300)
        t_video = trio.current_time()
        await client.send(VIDEO_FRAMES[0])
        assert await client.closed(limit=1000) == LIMIT_CLOSE
        assert trio.current_time() - t_video < 1


@pytest.mark.parametrize(
    ("config", "setup"),
    [
        (LONG_LIVED, {"contextWindowCompression": {"slidingWindow": {}}}),
        (LONG_LIVED.replace(audio_session_limit=None, video_session_limit=None), {}),
    ],
    ids=["compression", "disabled"],
)
async def test_compression_or_config_lifts_the_limits(
    config: EmulatorConfig, setup: dict[str, Any], autojump_clock: trio.abc.Clock
) -> None:
    async with start(config) as emu, connect(emu) as client:
        t0 = trio.current_time()
        await client.setup(**setup)
        await client.send(VIDEO_FRAMES[0])
        # Only the connection lifetime ends it: goAway at 3550 s, then 1008 at 3600 s.
        assert await client.recv(limit=4000) == {"goAway": {"timeLeft": "50s"}}
        assert 3549 <= trio.current_time() - t0 <= 3551
        assert (await client.closed(limit=100))[0] == 1008


async def test_video_limit_alone_can_be_disabled(autojump_clock: trio.abc.Clock) -> None:
    config = LONG_LIVED.replace(video_session_limit=None)
    async with start(config) as emu, connect(emu) as client:
        t0 = trio.current_time()
        await client.setup()
        await client.send(VIDEO_FRAMES[0])
        assert await client.closed(limit=1000) == LIMIT_CLOSE
        assert 899 <= trio.current_time() - t0 <= 901


async def test_limit_close_is_configurable(autojump_clock: trio.abc.Clock) -> None:
    config = EmulatorConfig(
        audio_session_limit=30,
        session_limit_close_code=1008,
        session_limit_close_reason="Session duration limit reached.",
    )
    async with start(config) as emu, connect(emu) as client:
        await client.setup()
        assert await client.closed(limit=60) == (1008, "Session duration limit reached.")


def test_bad_limit_settings_are_rejected() -> None:
    for changes in (
        {"audio_session_limit": 0},
        {"video_session_limit": -1},
        {"session_limit_close_code": 1006},
        {"session_limit_close_code": 999},
    ):
        with pytest.raises(ValueError, match="session"):
            EmulatorConfig(**changes)  # type: ignore[arg-type]


def test_cli_flags() -> None:
    parser = build_parser()
    default = _config(parser.parse_args([]))
    assert (default.audio_session_limit, default.video_session_limit) == (900.0, 120.0)
    assert default.session_limit_close_code == 1011
    assert default.handle_refused_close_code == 1008
    assert default.combine_parts is None
    assert default.voice_activity is False
    config = _config(
        parser.parse_args(
            [
                "--audio-session-limit",
                "0",
                "--video-session-limit",
                "60",
                "--session-limit-code",
                "1008",
                "--handle-refused-code",
                "1007",
                "--no-combine-parts",
                "--voice-activity",
                "--fault",
                "stall-after-interrupt@conn=2",
            ]
        )
    )
    assert (config.audio_session_limit, config.video_session_limit) == (None, 60.0)
    assert config.session_limit_close_code == 1008
    assert config.handle_refused_close_code == 1007
    assert config.combine_parts is False
    assert config.voice_activity is True
    assert [(f.kind, f.connection) for f in config.faults] == [("stall-after-interrupt", 2)]
    assert _config(parser.parse_args(["--combine-parts"])).combine_parts is True
    with pytest.raises(SystemExit):
        parser.parse_args(["--audio-session-limit", "-5"])
