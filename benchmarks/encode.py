"""Encode/send: a 20 ms 16 kHz chunk, our send path vs google-genai's `send_realtime_input`.

Both produce the JSON text handed to the WebSocket (framing and the socket are in e2e).
Ours: the sans-IO core's `LiveProtocol.send` (Blob, message, its field-by-field checks, the
encoding), what another I/O layer calls. `LiveSession.send_audio` does less (`check_pcm`,
then the encoding alone), so this is an upper bound of its cost.
"""

from __future__ import annotations

import asyncio
from typing import Any

from . import _frames
from ._report import Report
from ._timing import interleaved


class _SinkWs:
    async def send(self, data: Any) -> None:
        self.last = data


def run(report: Report, quick: bool) -> None:
    from google import genai
    from google.genai import types
    from google.genai.live import AsyncSession

    from trio_gemini_live._wire import Blob, ClientMessage, RealtimeInput

    from .decode import _our_protocol

    chunk = _frames.pcm(20, _frames.IN_RATE)
    mime = f"audio/pcm;rate={_frames.IN_RATE}"
    protocol = _our_protocol()
    client = genai.Client(api_key="x", http_options={"api_version": "v1beta"})
    session = AsyncSession(api_client=client._api_client, websocket=_SinkWs())  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()

    def ours(n: int, pcm: Any = chunk) -> None:
        send = protocol.send
        for _ in range(n):
            blob = Blob(data=pcm, mime_type=mime)
            send(ClientMessage(realtime_input=RealtimeInput(audio=blob)))

    async def _genai(n: int) -> None:
        for _ in range(n):
            await session.send_realtime_input(audio=types.Blob(data=chunk, mime_type=mime))

    def genai(n: int) -> None:
        loop.run_until_complete(_genai(n))

    view = memoryview(bytearray(chunk))

    def ours_view(n: int) -> None:
        ours(n, view)

    number = 5000 if quick else 20000
    times = interleaved(
        {
            "ours": (ours, number),
            "ours (memoryview)": (ours_view, number),
            "genai": (genai, number // 20),
        },
        5 if quick else 11,
    )
    us = {k: v * 1e6 for k, v in times.items()}
    report.add(
        "encode",
        "20 ms 16 kHz chunk: ours",
        us["ours"],
        "us/chunk",
        us["ours"] / us["genai"],
        "google-genai send_realtime_input",
    )
    report.add(
        "encode",
        "20 ms 16 kHz chunk: ours, from a memoryview",
        us["ours (memoryview)"],
        "us/chunk",
        us["ours (memoryview)"] / us["genai"],
        "google-genai",
    )
    report.add("encode", "20 ms 16 kHz chunk: google-genai", us["genai"], "us/chunk")
    loop.close()
