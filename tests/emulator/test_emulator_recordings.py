"""Replaying the client frames of ../shared/recordings: same message shapes and formatting.

The recordings leave out audio frames and stop early, so the emulator's replies (without
audio chunks) must start with the recorded replies' shapes, frame for frame.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
import trio_websocket

from emulator.emulator_client import connect, start

# Copies of ../shared/recordings (real frames from Google's servers), kept with the tests.
RECORDINGS = Path(
    os.environ.get("TRIO_GEMINI_LIVE_RECORDINGS", Path(__file__).parents[1] / "data" / "recordings")
)
LOGS = sorted(RECORDINGS.glob("*.websocket.log"))
assert LOGS, f"no recordings in {RECORDINGS}"


def parse_log(path: Path) -> list[tuple[str, bytes]]:
    """`>N payload` / `<N payload` records; N counts the payload plus the log's newline."""
    data = path.read_bytes()
    frames: list[tuple[str, bytes]] = []
    pos = 0
    while pos < len(data):
        if data[pos : pos + 1] == b"\n":
            pos += 1
            continue
        match = re.compile(rb"([<>])(\d+) ").match(data, pos)
        assert match, f"bad record at {pos} in {path.name}"
        start_, size = match.end(), int(match.group(2))
        frames.append((match.group(1).decode(), data[start_ : start_ + size - 1]))
        pos = start_ + size
    return frames


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def is_audio(msg: dict[str, Any]) -> bool:
    parts = msg.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
    return any("inlineData" in p for p in parts)


def modalities(msg: dict[str, Any]) -> dict[str, list[str]]:
    """The modality of each `*TokensDetails` entry of a message's `usageMetadata`."""
    usage = msg.get("usageMetadata", {})
    return {k: [d["modality"] for d in v] for k, v in usage.items() if k.endswith("TokensDetails")}


def pretty(raw: bytes) -> bytes:
    return msgspec.json.format(raw, indent=2) + b"\n"


@pytest.mark.parametrize(
    "log", LOGS, ids=lambda p: p.name.removeprefix("live_ML_Dev_").split(".")[0]
)
async def test_replies_match_recordings(log: Path, autojump_clock: trio.abc.Clock) -> None:
    records = parse_log(log)
    groups: list[tuple[bytes, list[bytes]]] = []
    for direction, payload in records:
        if direction == ">":
            groups.append((payload, []))
        else:
            groups[-1][1].append(payload)
    async with start() as emu, connect(emu) as client:
        for client_frame, recorded in groups:
            await client.ws.send_message(client_frame.decode())
            replies: list[bytes] = []
            closed = None
            with trio.move_on_after(5):
                try:
                    while True:
                        raw = await client.ws.get_message()
                        assert isinstance(raw, bytes)
                        replies.append(raw)
                except trio_websocket.ConnectionClosed as exc:
                    closed = exc.reason
            if closed is not None:
                # Only the reply to a response for a call never made: our 1007 rule.
                assert closed.code == 1007
                assert b"toolResponse" in client_frame
                assert not recorded
            kept = [r for r in replies if not is_audio(json.loads(r))]
            assert len(kept) >= len(recorded), (log.name, kept, recorded)
            for mine, theirs in zip(kept, recorded, strict=False):
                assert shape(json.loads(mine)) == shape(json.loads(theirs))
                # What the tokens are counted as: TEXT for a half-cascade model, even in audio.
                assert modalities(json.loads(mine)) == modalities(json.loads(theirs))
                assert theirs == pretty(theirs)
                assert mine == pretty(mine)
                if b"setupComplete" in theirs:
                    assert mine == theirs == b'{\n  "setupComplete": {}\n}\n'
