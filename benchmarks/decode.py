"""Decode: server frames into events, ours vs google-genai's receive path.

Floors: the one call each frame's path in ours cannot do without, alone:

- audio: base64 decode of the same audio with the decoder our fast path calls
  (`pybase64.b64decode(b64, None, True)`: SIMD, strict, on a bytes object). Beside it, the
  stdlib's `binascii.a2b_base64` on the same bytes (what a client without pybase64 pays;
  not a floor for ours);
- a turn's end (the turn-end fast path): msgspec's decode of the usage object alone into
  `UsageMetadata`, the bytes already cut out;
- a transcript (the text fast path): the UTF-8 decode of the text's bytes alone, already
  cut out;
- a tool call (no fast path): msgspec's parse of the whole frame into Structs, without the
  events.

For the two frames that take a fast path, msgspec's parse of the whole frame is reported
beside, as a reference (what the fast path skips), not as a floor.
"""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import Callable
from typing import Any

import pybase64

from trio_gemini_live._build_info import COMPILED

from . import _frames
from ._pure import pure_module
from ._report import Report
from ._timing import interleaved


def _our_protocol(*, pure: bool = False) -> Any:
    """Our sans-IO protocol, opened; `pure`: from the pure-Python build (see `_pure`)."""
    if pure:
        protocol = pure_module("_protocol").LiveProtocol()
        protocol.start(pure_module("_setup").live_setup(_frames.MODEL))
    else:
        from trio_gemini_live._protocol import LiveProtocol
        from trio_gemini_live._setup import live_setup  # type: ignore[attr-defined]

        protocol = LiveProtocol()
        protocol.start(live_setup(_frames.MODEL))
    protocol.receive_frame(_frames.pretty({"setupComplete": {}}))
    return protocol


class _FakeWs:
    """Stands in for the websockets connection: `recv` returns the frame at once."""

    def __init__(self) -> None:
        self.frame = b""

    async def recv(self, decode: bool | None = None) -> bytes:
        return self.frame


def _genai_session() -> tuple[Any, _FakeWs]:
    from google import genai
    from google.genai.live import AsyncSession

    client = genai.Client(api_key="x", http_options={"api_version": "v1beta"})
    ws = _FakeWs()
    return AsyncSession(api_client=client._api_client, websocket=ws), ws  # type: ignore[arg-type]


def _control_floor(frame: bytes) -> tuple[str, str, Callable[[int], None], bool]:
    """The floor of the path ours takes for this control frame.

    Returns the row's label, its note, the loop to time and whether ours takes a fast path
    (which skips msgspec's parse of the whole frame).

    Ours must have decoded `frame` once before (its fast paths learn a skeleton from the
    frame the ordinary path decoded).
    """
    from trio_gemini_live import _text_fastpath, _turn_fastpath
    from trio_gemini_live._codec import _decoder  # pyright: ignore[reportPrivateUsage]

    for prefix, suffix, start, end, *_ in _text_fastpath.remembered.skeletons:
        if frame.startswith(prefix) and frame.endswith(suffix):
            text = frame[start:end]

            def utf8(n: int, text: bytes = text) -> None:
                decode = bytes.decode
                for _ in range(n):
                    decode(text)

            note = "the text fast path's one call: bytes.decode of the text, already cut out"
            return "UTF-8 decode of the text alone (floor)", note, utf8, True
    for prefix, suffix, start, end in _turn_fastpath.remembered.skeletons:
        if frame.startswith(prefix) and frame.endswith(suffix):
            usage_json = frame[start:end]

            def usage(
                n: int,
                usage_json: bytes = usage_json,
                decode: Any = _turn_fastpath.usage_decoder.decode,
            ) -> None:
                for _ in range(n):
                    decode(usage_json)

            note = "the turn-end fast path's parse: the usage object into UsageMetadata"
            return "msgspec decode of the usage alone (floor)", note, usage, True

    def parse(n: int, frame: bytes = frame, decode: Any = _decoder.decode) -> None:
        for _ in range(n):
            decode(frame)

    return "msgspec parse alone (floor)", "the JSON into Structs, no events", parse, False


def run(report: Report, quick: bool) -> None:
    protocol = _our_protocol()
    # Compiled, the pure-Python build is measured beside it: what compiling buys.
    pure = _our_protocol(pure=True) if COMPILED else None
    session, ws = _genai_session()
    loop = asyncio.new_event_loop()
    rounds = 5 if quick else 11
    cases: list[tuple[str, bytes, str | None]] = [
        (f"audio {ms} ms", _frames.audio_frame(ms), _frames.audio_b64(ms))
        for ms in (20, 40, 100, 500)
    ]
    cases += [(name, frame, None) for name, frame in _frames.control_frames().items()]
    for name, frame, b64 in cases:
        number = 2000 if quick else 5000
        if "500" in name:
            number //= 5

        def ours(n: int, frame: bytes = frame) -> None:
            receive = protocol.receive_frame
            for _ in range(n):
                receive(frame)

        async def _genai(n: int, frame: bytes = frame) -> None:
            ws.frame = frame
            receive = session._receive
            for _ in range(n):
                await receive()

        def genai(n: int, _genai: Any = _genai) -> None:
            loop.run_until_complete(_genai(n))

        candidates: dict[str, tuple[Any, int]] = {
            "ours": (ours, number),
            "genai": (genai, max(1, number // 20)),  # google-genai is slow: fewer calls
        }
        if pure is not None:

            def ours_pure(n: int, frame: bytes = frame, receive: Any = pure.receive_frame) -> None:
                for _ in range(n):
                    receive(frame)

            candidates["pure"] = (ours_pure, number)
        if b64 is not None:

            def floor(n: int, b64: bytes = b64.encode()) -> None:
                # The call our audio fast path makes (`_audio_fastpath.py`): pybase64's
                # SIMD decoder, `validate=True` by position, no wrapper.
                decode = pybase64.b64decode
                for _ in range(n):
                    decode(b64, None, True)

            def stdlib(n: int, b64: bytes = b64.encode()) -> None:
                decode = binascii.a2b_base64  # the stdlib's C decoder, no wrapper
                for _ in range(n):
                    decode(b64)

            candidates["floor"] = (floor, number)
            candidates["stdlib"] = (stdlib, number)
        else:
            from trio_gemini_live._codec import _decoder  # pyright: ignore[reportPrivateUsage]

            protocol.receive_frame(frame)  # its fast paths learn the frame's skeleton
            floor_label, floor_note, control_floor, fast = _control_floor(frame)
            candidates["floor"] = (control_floor, number)
            if fast:

                def parse(n: int, frame: bytes = frame, decode: Any = _decoder.decode) -> None:
                    for _ in range(n):
                        decode(frame)

                candidates["parse"] = (parse, number)
        times = interleaved(candidates, rounds)
        us = {k: v * 1e6 for k, v in times.items()}
        report.add(
            "decode",
            f"{name}: ours",
            us["ours"],
            "us/frame",
            us["ours"] / us["genai"],
            "google-genai receive path",
        )
        if "pure" in us:
            report.add(
                "decode",
                f"{name}: ours, pure Python",
                us["pure"],
                "us/frame",
                us["pure"] / us["genai"],
                "google-genai receive path",
                note=f"the same code, not compiled: {us['pure'] / us['ours']:.2f}x the compiled",
            )
        report.add("decode", f"{name}: google-genai", us["genai"], "us/frame")
        if b64 is not None:
            report.add(
                "decode",
                f"{name}: base64 decode only, pybase64 (floor)",
                us["floor"],
                "us/frame",
                note="pybase64.b64decode(b64, None, True): the decoder ours calls",
            )
            report.add(
                "decode",
                f"{name}: base64 decode only, stdlib binascii",
                us["stdlib"],
                "us/frame",
                note="binascii.a2b_base64: not a floor for ours (pybase64 is faster)",
            )
            report.add(
                "decode",
                f"{name}: ours / floor",
                us["ours"] / us["floor"],
                "x",
                note="ours ÷ pybase64 floor; 1 = nothing but the base64 decode",
            )
            if "pure" in us:
                report.add(
                    "decode",
                    f"{name}: ours, pure Python / floor",
                    us["pure"] / us["floor"],
                    "x",
                )
        else:
            report.add(
                "decode",
                f"{name}: {floor_label}",
                us["floor"],
                "us/frame",
                us["floor"] / us["genai"],
                "google-genai receive path",
                note=floor_note,
            )
        if "parse" in us:
            report.add(
                "decode",
                f"{name}: msgspec parse of the whole frame (reference)",
                us["parse"],
                "us/frame",
                us["parse"] / us["genai"],
                "google-genai receive path",
                note="the JSON into Structs, no events; not a floor: ours takes a fast path",
            )
    loop.close()
