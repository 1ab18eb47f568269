"""One encoder and one decoder, reused: client messages to JSON bytes, server frames to Structs.

Server frames may be text or binary. Any decode failure becomes `RemoteProtocolError` carrying
msgspec's JSON path. msgspec decodes base64 audio straight into `bytes`. A binary frame
(`bytes`) whose skeleton has been seen before takes a fast path: audio `_audio_fastpath`
(SIMD base64, no JSON scanned), a small transcript or text frame `_text_fastpath` (its one
string sliced out), a turn's end `_turn_fastpath` (its usage object parsed alone).
URL-safe or unpadded base64 (legal in proto3 JSON) takes a slower fallback that normalises
it first; so does a `null` the Structs refuse, which it drops (the field's default).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, cast

import msgspec

from ._audio_fastpath import MIN_FRAME, decode_audio_frame, learn as learn_audio
from ._errors import RemoteProtocolError
from ._null_fields import drop_null_fields
from ._text_fastpath import decode_text, learn as learn_text, text_message
from ._turn_fastpath import decode_turn_end, learn as learn_turn_end, turn_end_message
from ._wire import ClientMessage, ServerMessage

__all__ = [
    "decode_client",
    "decode_ordinary",
    "decode_server",
    "encode_client",
    "known_server_keys",
    "lenient_b64decode",
]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ServerMessage)
_generic_decoder = msgspec.json.Decoder()
_client_decoder = msgspec.json.Decoder(ClientMessage)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def known_server_keys() -> frozenset[str]:
    """The camelCase top-level keys `ServerMessage` understands."""
    return frozenset(_camel(field) for field in ServerMessage.__struct_fields__)


_KNOWN_TOP_LEVEL = known_server_keys()


def encode_client(message: ClientMessage) -> bytes:
    """Encode a client message as canonical compact camelCase JSON."""
    return _encoder.encode(message)


def decode_client(frame: bytes) -> ClientMessage:
    """Read back a client frame this library encoded, as the server would read it.

    Raises msgspec's errors as they come: a wrong type anywhere fails with its JSON path.
    """
    return _client_decoder.decode(frame)


def lenient_b64decode(text: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not; raise `ValueError` if invalid."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64 ({exc})") from None


def _standard_b64(value: Any, path: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64encode(lenient_b64decode(value)).decode("ascii")
    except ValueError as exc:
        raise ValueError(f"{exc} - at `{path}`") from None


def _child(node: Any, key: str) -> Any:
    return cast("dict[str, Any]", node).get(key) if isinstance(node, dict) else None


def _normalise_b64(raw: Any) -> Any:
    """Rewrite the server message's `bytes` fields (and only those) as standard base64.

    Only `serverContent.modelTurn.parts[].inlineData.data`, `.thoughtSignature` and
    `.functionResponse.parts[].inlineData.data` are bytes; free-form objects such as
    `functionCall.args` may hold a `"data"` key that must be left exactly as sent.
    """
    parts: Any = _child(_child(_child(raw, "serverContent"), "modelTurn"), "parts")
    if not isinstance(parts, list):
        return raw
    items: list[Any] = parts  # pyright: ignore[reportUnknownVariableType]
    prefix = "$.serverContent.modelTurn.parts"
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        part = cast("dict[str, Any]", item)
        blob: Any = part.get("inlineData")
        if isinstance(blob, dict) and "data" in blob:
            fields = cast("dict[str, Any]", blob)
            fields["data"] = _standard_b64(fields["data"], f"{prefix}[{index}].inlineData.data")
        if "thoughtSignature" in part:
            part["thoughtSignature"] = _standard_b64(
                part["thoughtSignature"], f"{prefix}[{index}].thoughtSignature"
            )
        media: Any = _child(part.get("functionResponse"), "parts")
        if isinstance(media, list):
            where = f"{prefix}[{index}].functionResponse.parts"
            pieces: list[Any] = media  # pyright: ignore[reportUnknownVariableType]
            for inner, piece in enumerate(pieces):
                blob = _child(piece, "inlineData")
                if isinstance(blob, dict) and "data" in blob:
                    fields = cast("dict[str, Any]", blob)
                    path = f"{where}[{inner}].inlineData.data"
                    fields["data"] = _standard_b64(fields["data"], path)
    return raw


def decode_server(frame: bytes | bytearray | memoryview | str) -> ServerMessage:
    """Decode one server frame (text, or binary in any buffer) into a `ServerMessage`.

    Top-level keys `ServerMessage` does not know are left out (`decode_ordinary` returns
    them).

    Raises:
        RemoteProtocolError: the frame is not valid JSON or has the wrong shape; the message
            names the JSON path of the problem.
    """
    # Audio: one long base64 string in a skeleton seen before (see _audio_fastpath).
    if len(frame) >= MIN_FRAME and isinstance(frame, bytes):
        message = decode_audio_frame(frame)
        if message is not None:
            return message
    elif isinstance(frame, bytes):
        # A transcript or text: one short string in a skeleton seen before (_text_fastpath).
        text = decode_text(frame)
        if text is not None:
            return text_message(*text)
    if isinstance(frame, bytes):
        # A turn's end: its usage object in a skeleton seen before (_turn_fastpath).
        usage = decode_turn_end(frame)
        if usage is not None:
            return turn_end_message(usage)
    return decode_ordinary(frame)[0]


def decode_ordinary(
    frame: bytes | bytearray | memoryview | str,
) -> tuple[ServerMessage, dict[str, Any] | None]:
    """`decode_server` without trying the fast paths first; it teaches them skeletons.

    For a caller that has tried them already (`LiveProtocol.receive_frame`). Returns the
    message and the top-level entries it does not know, as sent (None: there are none).
    """
    try:
        message = _decoder.decode(frame)
    except msgspec.ValidationError:
        # A top-level key ServerMessage does not know (it forbids them to make them show),
        # base64 msgspec does not read (URL-safe, unpadded), a `null` for a field typed
        # without None, or a real error: the slow path sorts them out and words the error.
        return _decode_slowly(frame)
    except msgspec.DecodeError as exc:
        raise RemoteProtocolError(f"server frame is not valid JSON: {exc}") from None
    except (RecursionError, UnicodeError) as exc:
        raise _undecodable(exc) from None
    if type(frame) is bytes and (content := message.server_content) is not None:
        if content.turn_complete:
            learn_turn_end(frame, message)
        elif len(frame) >= MIN_FRAME:
            learn_audio(frame, message)
        elif (
            content.output_transcription is not None
            or content.input_transcription is not None
            or content.model_turn is not None
        ):
            learn_text(frame, message)
    return message, None


def _decode_slowly(
    frame: bytes | bytearray | memoryview | str,
) -> tuple[ServerMessage, dict[str, Any] | None]:
    """Parse into builtins, set unknown top-level keys aside, normalise base64, convert.

    A `null` the Structs refuse is the field's default (proto3 JSON): refused, the frame is
    converted again without such nulls (`drop_null_fields`). Such a frame teaches no fast
    path its skeleton: only `decode_ordinary`'s own decode does.
    """
    try:
        raw = _generic_decoder.decode(frame)
        unknown: dict[str, Any] | None = None
        if isinstance(raw, dict):
            entries = cast("dict[str, Any]", raw)
            if not entries.keys() <= _KNOWN_TOP_LEVEL:
                unknown = {k: v for k, v in entries.items() if k not in _KNOWN_TOP_LEVEL}
                raw = {k: v for k, v in entries.items() if k in _KNOWN_TOP_LEVEL}
        raw = _normalise_b64(raw)
        try:
            return msgspec.convert(raw, ServerMessage), unknown
        except msgspec.ValidationError:
            # Walked only now: a frame with an unknown key, the likelier visitor, pays nothing.
            if not drop_null_fields(raw, ServerMessage):
                raise
        return msgspec.convert(raw, ServerMessage), unknown
    except msgspec.ValidationError as exc:  # a subclass of DecodeError
        raise RemoteProtocolError(f"malformed server message: {exc}") from None
    except msgspec.DecodeError as exc:  # the strict decode met an unknown key first
        raise RemoteProtocolError(f"server frame is not valid JSON: {exc}") from None
    except ValueError as exc:  # from msgspec.convert only from msgspec 0.21 on
        raise RemoteProtocolError(f"malformed server message: {exc}") from None
    except (RecursionError, UnicodeError) as exc:
        raise _undecodable(exc) from None


def _undecodable(exc: RecursionError | UnicodeError) -> RemoteProtocolError:
    """Msgspec raises these outside its own hierarchy: nesting too deep, bad UTF-8."""
    if isinstance(exc, RecursionError):
        return RemoteProtocolError(f"server frame is nested too deeply: {exc}")
    return RemoteProtocolError(f"server frame is not valid UTF-8: {exc}")
