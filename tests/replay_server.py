"""A replay server: plays a recorded real session back to the client, checking its frames.

The recording (js-genai `*.websocket.log`, see test_recordings.py) is followed in order:
each recorded server frame is sent as a binary frame, exactly as recorded; each recorded
client frame is awaited and compared with what the client sent, message for message and
field for field, after normalising key casing (snake_case = camelCase) and base64 (standard =
URL-safe, padded or not). A mismatch closes with 1007, as the real server would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import trio
import trio_websocket

from trio_gemini_live._codec import lenient_b64decode

# The wire's `bytes` fields: base64 in JSON, compared as bytes.
_BYTES_KEYS = {"data", "thoughtSignature"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def normalise(value: Any, key: str | None = None) -> Any:
    """A client message with camelCase keys and base64 fields decoded to bytes."""
    if isinstance(value, dict):
        return {camel(k): normalise(v, camel(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(item, key) for item in value]
    if isinstance(value, str) and key in _BYTES_KEYS:
        try:
            return lenient_b64decode(value)
        except ValueError:
            return value
    return value


@dataclass
class ReplayServer:
    """Serve one recorded session (a list of `(direction, frame)` from `parse_recording`)."""

    frames: list[tuple[str, bytes]]
    step_timeout: float = 5.0
    checked: int = 0
    mismatches: list[str] = field(default_factory=list[str])
    close_code: int = 1000

    async def script(self, ws: trio_websocket.WebSocketConnection) -> None:
        for index, (direction, frame) in enumerate(self.frames):
            if direction == "<":
                await ws.send_message(frame)  # bytes: a binary frame, as Google sends
                continue
            with trio.fail_after(self.step_timeout):
                got = await ws.get_message()
            want = normalise(json.loads(frame))
            have = normalise(json.loads(got))
            if have != want:
                self.mismatches.append(f"client frame #{index}: sent {got!r}, recorded {frame!r}")
                self.close_code = 1007
                await ws.aclose(1007, "Request contains an invalid argument.")
                return
            self.checked += 1
        await ws.aclose(self.close_code)
