"""Decode: server frames into events, ours vs google-genai's receive path.

Floors: base64 decode alone of the same audio with the decoder our fast path calls
(`pybase64.b64decode(b64, None, True)`: SIMD, strict, on a bytes object), and for control
frames msgspec's parse of the frame into Structs alone, without the events. Beside the
audio floor, the stdlib's `binascii.a2b_base64` on the same bytes (what a client without
pybase64 pays; not a floor for ours).
"""

from __future__ import annotations

import asyncio
import binascii
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
        if "floor" in us:
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
        if "parse" in us:
            report.add(
                "decode",
                f"{name}: msgspec parse alone (floor)",
                us["parse"],
                "us/frame",
                us["parse"] / us["genai"],
                "google-genai receive path",
                note="the JSON into Structs, no events",
            )
    loop.close()
