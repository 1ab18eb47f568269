"""The audio path's allocations (tracemalloc) and the no-copy checks of issue item 7.

- Decode: one 40 ms 24 kHz frame through `LiveProtocol.receive_frame`, one at a time; the
  blocks still alive while the user holds the events, how many of them are PCM-sized (1 =
  decoded once, never copied), and the transient peak above that (a hidden copy of the PCM
  would show as at least its size).
- Session: the same frames through the real session (websockets transport over an in-memory
  stream to the benchmark server); `AudioDelta.pcm` must be the very `bytes` object msgspec
  decoded (identity, not equality), and the blocks kept per frame.
- Send: 1 MiB of PCM from bytes, bytearray and memoryview through the encode path; the peak
  above the JSON produced (a copy before encoding would add the input's size).
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import trio

from . import _frames
from ._report import Report


def _decode(report: Report, quick: bool) -> None:
    from .decode import _our_protocol

    protocol = _our_protocol()
    frame = _frames.audio_frame(40)
    pcm_len = len(_frames.pcm(40, _frames.OUT_RATE))
    n = 50 if quick else 200
    for _ in range(20):
        protocol.receive_frame(frame)  # warm caches (MIME rate, interned keys)
    kept: list[Any] = []
    blocks = sized = retained = transient = 0
    gc.collect()
    tracemalloc.start()
    for _ in range(n):
        tracemalloc.clear_traces()
        tracemalloc.reset_peak()
        events = protocol.receive_frame(frame)
        current, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        traces = snapshot.traces
        blocks += len(traces)
        sized += sum(1 for t in traces if pcm_len <= t.size <= pcm_len + 64)
        retained += current
        transient += peak - current
        kept.append(events)
    tracemalloc.stop()
    report.add(
        "alloc", "decode 40 ms frame: live blocks per frame (events held)", blocks / n, "blocks"
    )
    report.add(
        "alloc",
        "decode 40 ms frame: PCM-sized blocks per frame (1 = no copy)",
        sized / n,
        "blocks",
        note=f"PCM {pcm_len} B",
    )
    report.add("alloc", "decode 40 ms frame: bytes kept per frame", retained / n, "B")
    report.add(
        "alloc",
        "decode 40 ms frame: transient peak above kept",
        transient / n,
        "B",
        note="a PCM copy would be >= its size",
    )


async def _session_path(frames: int) -> dict[str, Any]:
    import trio_gemini_live._protocol as protocol_module
    from trio_gemini_live import url_endpoint
    from trio_gemini_live._events import AudioDelta, TurnComplete
    from trio_gemini_live._session import open_session

    from ._server import serve
    from .e2e import PATH

    # The PCM `bytes` each decode produced, in order: from the ordinary path (msgspec) or
    # from the audio fast path (pybase64), whichever took the frame.
    wire: list[bytes] = []
    original = protocol_module.decode_ordinary
    # The fast path is written out in `receive_frame`: its one decoder call is recorded.
    original_b64decode = protocol_module._b64decode  # pyright: ignore[reportPrivateUsage]

    def recording(frame: bytes | str) -> Any:
        message, unknown = original(frame)
        content = message.server_content
        if content is not None and content.model_turn is not None:
            wire.extend(p.inline_data.data for p in content.model_turn.parts if p.inline_data)
        return message, unknown

    def recording_b64decode(text: Any, altchars: Any, validate: bool) -> bytes:
        pcm = original_b64decode(text, altchars, validate)
        wire.append(pcm)
        return pcm

    async def connector() -> trio.abc.Stream:
        client, server = trio.testing.memory_stream_pair()
        nursery.start_soon(serve, server)
        return client

    result: dict[str, Any] = {}
    protocol_module.decode_ordinary = recording
    protocol_module._b64decode = recording_b64decode  # pyright: ignore[reportPrivateUsage]
    try:
        async with trio.open_nursery() as nursery:
            url = f"ws://bench.invalid/recv/{frames}/0{PATH}"
            endpoint = url_endpoint(url, api_key="x")
            async with open_session(_frames.MODEL, endpoint=endpoint, connector=connector) as s:
                await s.send_text("warm")  # the server's warm-up turn (`_server.py`)
                async for event in s:
                    if type(event) is TurnComplete:
                        break
                wire.clear()
                audio: list[AudioDelta] = []
                gc.collect()
                tracemalloc.start(32)  # deep: the in-process server's blocks are left out
                await s.send_text("go")
                async for event in s:
                    if type(event) is AudioDelta:
                        audio.append(event)
                    elif type(event) is TurnComplete:
                        break
                server_side = [
                    tracemalloc.Filter(False, f"*benchmarks/{name}", all_frames=True)
                    for name in ("_server.py", "_frames.py")
                ]
                traces = tracemalloc.take_snapshot().filter_traces(server_side).traces
                tracemalloc.stop()
                current = sum(t.size for t in traces)
                pcm_len = len(audio[0].pcm)
                result.update(
                    audio=len(audio),
                    identical=sum(a.pcm is w for a, w in zip(audio, wire, strict=True)),
                    kept=current,
                    sized=sum(1 for t in traces if pcm_len <= t.size <= pcm_len + 64),
                    blocks=len(traces),
                )
            nursery.cancel_scope.cancel()
    finally:
        protocol_module.decode_ordinary = original
        protocol_module._b64decode = original_b64decode  # pyright: ignore[reportPrivateUsage]
    return result


def _session(report: Report, quick: bool) -> None:
    import trio.testing

    got = trio.run(_session_path, 200 if quick else 1000)
    n = got["audio"]
    report.add(
        "alloc",
        "session: AudioDelta.pcm is the bytes the decoder made (identity)",
        got["identical"] / n,
        "fraction",
        note=f"{got['identical']}/{n} frames",
    )
    report.add(
        "alloc",
        "session: PCM-sized live blocks per audio frame (1 = no copy)",
        got["sized"] / n,
        "blocks",
    )
    report.add(
        "alloc",
        "session: live blocks per received frame (events held)",
        got["blocks"] / n,
        "blocks",
    )
    report.add("alloc", "session: bytes kept per audio frame (events held)", got["kept"] / n, "B")


def _send(report: Report) -> None:
    from trio_gemini_live._wire import Blob, ClientMessage, RealtimeInput

    from .decode import _our_protocol

    protocol = _our_protocol()
    # 33 s of 16 kHz PCM is 1,056,000 bytes: cut to 1 MiB exactly.
    raw = _frames.pcm(33_000, _frames.IN_RATE)[: 1 << 20]
    assert len(raw) == 1 << 20
    mime = f"audio/pcm;rate={_frames.IN_RATE}"
    for label, buffer in (
        ("bytes", raw),
        ("bytearray", bytearray(raw)),
        ("memoryview", memoryview(bytearray(raw))),
    ):
        gc.collect()
        tracemalloc.start()
        blob = Blob(data=buffer, mime_type=mime)  # type: ignore[arg-type]
        frame = protocol.send(ClientMessage(realtime_input=RealtimeInput(audio=blob)))
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        kept_as_is = blob.data is buffer
        report.add(
            "alloc",
            f"send 1 MiB from {label}: peak above the JSON frame",
            (peak - len(frame)) / 1024,
            "KiB",
            note=("buffer kept as is" if kept_as_is else "BUFFER COPIED")
            + f", a copy would add {len(raw) // 1024} KiB",
        )
        del frame


def run(report: Report, quick: bool) -> None:
    _decode(report, quick)
    _session(report, quick)
    _send(report)
