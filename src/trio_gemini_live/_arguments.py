"""Checks of the arguments of the send methods, made at the call, before anything is queued.

A value of the wrong type or shape is otherwise encoded as it is and the server closes the
whole session with 1007 (or, for a sample rate of 0, the session may drop and replay the
same message on every reconnect). Each check raises `LocalProtocolError` naming the
argument and the problem.

`send_audio` runs every 20 ms per session, so its checks are split: the common case (an
even-sized `bytes` or `bytearray`, an `int` rate already seen) is decided inline with type
identity tests and a dict look-up; everything else takes the functions here.
"""

from __future__ import annotations

import math
import operator
import reprlib
import sys
from typing import SupportsIndex, TypeVar, cast, overload

from . import _proto_enums
from ._errors import ConfigurationError, LocalProtocolError

__all__ = [
    "AUDIO_MIMES",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SCHEDULING",
    "TOO_DEEP",
    "audio_mime",
    "check_bool",
    "check_switch",
    "check_instance",
    "check_json_object",
    "check_pcm",
    "check_sample_rate",
    "check_scheduling",
    "check_str",
    "describe",
    "media_buffer",
    "non_finite_path",
]

MIN_SAMPLE_RATE = 1_000
"""The lowest audio rate `send_audio` takes (Hz): below it, no speech survives."""
MAX_SAMPLE_RATE = 384_000
"""The highest audio rate `send_audio` takes (Hz): the highest rate audio hardware uses."""

TOO_DEEP = (
    "is nested too deeply to be sent as JSON (past the interpreter's recursion limit), "
    "or holds itself"
)
"""Why a value msgspec could not encode for recursion is refused (after its name)."""

AUDIO_MIMES: dict[int, str] = {16000: "audio/pcm;rate=16000"}
"""Sample rate -> the audio MIME type, for rates that passed `check_sample_rate` (bounded)."""

_MIME_CACHE_LIMIT = 32
_T = TypeVar("_T")

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 40
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 4

# Formats (`memoryview.format`) of views whose bytes are the 16-bit little-endian PCM as it
# goes on the wire: raw bytes of any 1-byte format, or 16-bit integers stored little-endian.
# A native-order 16-bit view is little-endian only on a little-endian host.
_ORDERS = ("", "@", "=", "<", ">", "!")
_NATIVE = ("", "@", "=")
_PCM_FORMATS = frozenset(
    {order + code for order in _ORDERS for code in "Bbc"}
    | {"<h", "<H"}
    | ({order + code for order in _NATIVE for code in "hH"} if sys.byteorder == "little" else set())
)
_FLOAT_CODES = frozenset("efd")


def describe(value: object) -> str:
    """`value` for an error message: its repr cut short, and its type."""
    # Never a repr made in full: the wrong value may be megabytes of audio. reprlib stops
    # early for strings and containers, not for bytes.
    if isinstance(value, bytes | bytearray):
        return f"{type(value).__name__} of {len(value)} bytes"
    return f"{_short.repr(value)} ({type(value).__name__})"


def check_sample_rate(sample_rate: object) -> int:
    """The rate as an `int` (Hz); any integer type but `bool`, from 1 kHz to 384 kHz.

    A rate outside that range is a slip (kHz given as Hz, a byte count given as a rate);
    the server would be asked to resample by it, or close the session.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, SupportsIndex):
        raise LocalProtocolError(
            f"sample_rate must be a positive int (samples per second), not {describe(sample_rate)}"
        )
    rate = operator.index(sample_rate)
    if rate <= 0:
        raise LocalProtocolError(f"sample_rate must be a positive number of Hz, not {rate}")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise LocalProtocolError(
            f"sample_rate must be {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz (16000 is what "
            f"the Live API takes natively), not {rate}"
        )
    return rate


def audio_mime(sample_rate: object) -> str:
    """The MIME type of 16-bit PCM at `sample_rate`, checked (kept for the next call)."""
    rate = check_sample_rate(sample_rate)
    mime = f"audio/pcm;rate={rate}"
    if len(AUDIO_MIMES) < _MIME_CACHE_LIMIT:
        AUDIO_MIMES[rate] = mime
    return mime


def check_pcm(pcm: object, name: str = "pcm") -> bytes | bytearray | memoryview:
    """`pcm` as a buffer `send_audio` can encode without a copy, or a clear error.

    Bytes and bytearrays are taken as they are. A memoryview (or another object with the
    buffer protocol, such as `array('h')` or a NumPy `int16` array, taken as one) must be
    C-contiguous, hold raw bytes or 16-bit little-endian integers, and span an even number
    of bytes; `nbytes` counts it, not `len()`, which counts items. Integers laid out in more
    than one row and column (a NumPy array of shape `(n, 2)`) are frames of several
    channels: refused (one row or one column is mono). Errors name the argument `name`.
    """
    if type(pcm) is memoryview:
        view: memoryview = pcm  # a memoryview taken as it is (the common case here)
    elif type(pcm) is bytes or type(pcm) is bytearray:
        size = len(pcm)
        if size % 2:
            raise _odd_pcm(size)
        return pcm
    else:
        view = _as_view(pcm, name, "16-bit PCM")
    try:
        if view.format in _PCM_FORMATS and view.c_contiguous and not view.nbytes % 2:
            if view.ndim < 2 or view.itemsize == 1:
                return view
            shape = view.shape or ()  # (typeshed: None for a released view, which raised)
            if sum(size > 1 for size in shape) <= 1:  # one row or one column: mono all the same
                return view
            raise _channels_problem(shape, name)
    except ValueError:  # any attribute of a released view
        raise LocalProtocolError(f"{name} is a released memoryview") from None
    raise _pcm_view_problem(view, name)


def _channels_problem(shape: tuple[int, ...], name: str) -> LocalProtocolError:
    """16-bit samples in rows: a frame of several channels, which the Live API does not take.

    Sent as they are, a stereo frame's two samples would be heard one after the other, at
    twice the length and an octave down. (Bytes in rows are raw bytes: their grouping says
    nothing about channels.)
    """
    return LocalProtocolError(
        f"{name} has shape {shape}: samples of more than one channel, but the Live API takes "
        "mono 16-bit PCM; mix the channels down or pick one first (NumPy, a frame a row: "
        "samples.mean(axis=1).astype('<i2') or samples[:, 0].copy())"
    )


def _pcm_view_problem(view: memoryview, name: str) -> LocalProtocolError:
    """Why a (live) view cannot be sent as PCM."""
    fmt = view.format
    if fmt not in _PCM_FORMATS:
        if fmt[-1:] in _FLOAT_CODES:
            return LocalProtocolError(
                f"{name} holds floating-point samples (memoryview format {fmt!r}): the Live API "
                "takes 16-bit integer PCM; convert the samples first (NumPy: "
                "(samples * 32767).astype('<i2'))"
            )
        return LocalProtocolError(
            f"{name} must hold raw bytes or 16-bit little-endian integer samples, not items of "
            f"memoryview format {fmt!r} ({view.itemsize} bytes each)"
        )
    if not view.c_contiguous:
        return LocalProtocolError(
            f"{name} is a non-contiguous memoryview (a strided slice): it cannot be encoded "
            "without a copy; pass a contiguous buffer (bytes(view) makes one)"
        )
    return _odd_pcm(view.nbytes)


def media_buffer(data: object, name: str) -> bytes | bytearray | memoryview:
    """`data` (an image frame) as a buffer to encode without a copy, or a clear error."""
    if type(data) is bytes or type(data) is bytearray:
        return data
    view = data if type(data) is memoryview else _as_view(data, name, "image data")
    try:
        contiguous = view.c_contiguous
    except ValueError:
        raise LocalProtocolError(f"{name} is a released memoryview") from None
    if not contiguous:
        raise LocalProtocolError(
            f"{name} is a non-contiguous memoryview: pass a contiguous buffer (bytes(view))"
        )
    return view


def _as_view(data: object, name: str, what: str) -> memoryview:
    if isinstance(data, str):
        # Checked before the buffer protocol: a str has none, and this is the likely slip.
        raise LocalProtocolError(
            f"{name} must be bytes, bytearray or memoryview ({what}), not str; base64 text "
            "must be decoded first (base64.b64decode)"
        )
    try:
        return memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise LocalProtocolError(
            f"{name} must be bytes, bytearray or memoryview ({what}), not {describe(data)}"
        ) from None
    except (ValueError, BufferError) as error:  # a closed mmap, an export refused
        raise LocalProtocolError(
            f"{name} ({type(data).__name__}) has a buffer that cannot be read: {error}"
        ) from None


def _odd_pcm(size: int) -> LocalProtocolError:
    return LocalProtocolError(f"16-bit PCM must have an even number of bytes, not {size}")


def check_instance(value: object, cls: type[_T], name: str) -> _T:
    """`value` if it is a `cls`, else a clear error naming the argument."""
    if not isinstance(value, cls):
        raise LocalProtocolError(f"{name} must be a {cls.__name__}, not {describe(value)}")
    return value


def is_count(value: object, least: int = 0) -> bool:
    """Whether `value` is an `int` (not a `bool`) of at least `least`."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def check_count(value: object, name: str) -> int:
    """`value` as a plain `int` of at least 0 (not a `bool`), or a clear error naming it."""
    if not is_count(value):
        raise LocalProtocolError(f"{name} must be an int >= 0, not {describe(value)}")
    return operator.index(cast(int, value))


def check_bool(value: object, name: str, *, optional: bool = False) -> None:
    """Refuse anything but a `bool` (or None if `optional`): JSON would carry it as sent."""
    if not (isinstance(value, bool) or (optional and value is None)):
        expected = "a bool or None" if optional else "a bool"
        raise LocalProtocolError(f"{name} must be {expected}, not {describe(value)}")


def check_switch(value: object, name: str) -> None:
    """Refuse a configuration switch that is not a `bool` (`ConfigurationError`).

    A switch decides by its truth, so `"no"` or None would otherwise pass for a choice.
    """
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be a bool, not {describe(value)}")


def check_json_object(value: object, name: str) -> None:
    """Refuse anything but a dict or None where the wire wants a JSON object (a Struct)."""
    if value is not None and not isinstance(value, dict):
        raise LocalProtocolError(f"{name} must be a dict (a JSON object), not {describe(value)}")


@overload
def check_str(value: object, name: str) -> str: ...
@overload
def check_str(value: object, name: str, *, optional: bool) -> str | None: ...
def check_str(value: object, name: str, *, optional: bool = False) -> str | None:
    """`value` as an exact `str` (or None if `optional`), or a clear error naming the argument.

    A subclass (a `StrEnum` member, say) comes back as a plain `str`: msgspec encodes
    only exact strings.
    """
    if optional and value is None:
        return None
    if not isinstance(value, str):
        expected = "a str or None" if optional else "a str"
        raise LocalProtocolError(f"{name} must be {expected}, not {describe(value)}")
    return str.__str__(value)


SCHEDULING = frozenset(_proto_enums.SCHEDULING)
"""The values of `FunctionResponse.scheduling` (the proto enum's names, as JSON spells them)."""


def check_scheduling(value: object, where: str) -> None:
    """Refuse a `scheduling` that is not one of `SCHEDULING` (the server closes with 1007).

    In any case: it is sent as the declared (upper-case) name (`with_declared_names`).
    """
    if value is not None and not (isinstance(value, str) and value.upper() in SCHEDULING):
        raise LocalProtocolError(
            f"{where}: scheduling must be one of {', '.join(sorted(SCHEDULING))} or None, "
            f"not {describe(value)}"
        )


def non_finite_path(value: object, path: str) -> str | None:
    """The JSON path of the first NaN or infinity in `value` (built-in types), if any.

    JSON has neither, and msgspec writes them as `null`: a value would silently go missing.
    """
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        for key, item in cast("dict[str, object]", value).items():
            found = non_finite_path(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(cast("list[object]", value)):
            found = non_finite_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
