"""`Setup.extra`: setup fields this library does not model, merged into the setup frame.

Google adds setup fields faster than a client follows (a tool kind, a Vertex-only option):
`extra` sends them without waiting for a release. It is kept on the `Setup` itself, so the
one mechanism follows the setup wherever it goes: every connection's setup frame (a resume
sends the setup again), `update_setup`, the seed facade's setups.

The rules keep the modelled part of a setup the one truth about it, which the library
reads (the resumption handle, automatic activity detection, the function names): `extra`
only adds to it, and never replaces a modelled value.

- A key naming a field whose value is an object this library models (`generationConfig`,
  `sessionResumption`, ...): `extra`'s object is merged into it, by these same rules. An
  object whose presence alone is a setting (`sessionResumption`, `contextWindowCompression`,
  the transcription configs) must be on the Struct first: `extra` cannot turn it on.
- A key naming a list field (`tools`, `safetySettings`, ...): `extra`'s items are sent
  after the modelled ones (`{"tools": [{"retrieval": {...}}]}` adds a tool: Vertex AI's, which
  `open_session` refuses for a Gemini API endpoint, as it refuses every Vertex AI only field
  the setup sends, in `extra` or not).
- A key naming any other modelled field (`model`, `generationConfig.temperature`, ...):
  refused; set it on the Struct.
- Any other key is added as given.

A modelled field is matched under either spelling (`generationConfig` or
`generation_config`); the merged object uses the camelCase one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, cast

import msgspec
from msgspec import inspect as mi

from ._arguments import describe
from ._codec import encode_client
from ._errors import ConfigurationError
from ._setup_secrets import redact_json
from ._wire import ClientMessage, Setup

__all__ = ["EXTRA_HINT", "check_extra", "dropped_paths", "merge_extra", "setup_frame"]

EXTRA_HINT = (
    "fields this library does not model go in Setup.extra (live_setup(..., extra=...)) by "
    "their camelCase wire names, e.g. extra={'tools': [{'retrieval': {...}}]} for Vertex AI's "
    "retrieval tool (Vertex AI only: refused on the Gemini API)"
)
"""Where to point the user whose setup holds a field the wire Structs would drop."""

_encoder = msgspec.json.Encoder()

# How `extra` may touch a modelled field: merged into (a Struct), appended to (a list), or
# not at all (anything else: a scalar, a map such as `labels`).
_LIST = "list"
_Kind = type[msgspec.Struct] | str | None


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> dict[str, tuple[str, _Kind]]:
    """Both spellings of each field of `cls` -> (its wire name, how `extra` may touch it)."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    table: dict[str, tuple[str, _Kind]] = {}
    for field in info.fields:
        kind: _Kind = None
        field_type = field.type
        if isinstance(field_type, mi.UnionType):
            rest = [t for t in field_type.types if not isinstance(t, mi.NoneType)]
            field_type = rest[0] if len(rest) == 1 else field_type
        if isinstance(field_type, mi.StructType):
            kind = field_type.cls
        elif isinstance(field_type, mi.ListType):
            kind = _LIST
        table[field.encode_name] = table[field.name] = (field.encode_name, kind)
    return table


_PRESENCE_IS_THE_SETTING = frozenset(
    {
        "setup.sessionResumption",
        "setup.contextWindowCompression",
        "setup.inputAudioTranscription",
        "setup.outputAudioTranscription",
    }
)
"""Objects whose mere presence (even `{}`) is a setting the library reads from the Struct."""


def _shown(value: object) -> str:
    """`value` for an error message, a credential in it `REDACTED` (see `_setup_secrets`)."""
    return describe(redact_json(value))


def _merge(
    modelled: Mapping[str, Any], extra: Mapping[Any, Any], cls: type[msgspec.Struct], path: str
) -> dict[str, Any]:
    merged = dict(modelled)
    table = _fields(cls)
    for key, value in extra.items():
        if not isinstance(key, str):
            raise ConfigurationError(f"extra: a key of {path} is {describe(key)}, not a str")
        field = table.get(key)
        if field is None:
            merged[key] = value
            continue
        name, kind = field
        where = f"{path}.{name}"
        if isinstance(kind, type):
            if not isinstance(value, Mapping):
                raise ConfigurationError(
                    f"extra: {where} is an object ({kind.__name__}) that extra can only add "
                    f"fields to, not replace with {_shown(value)}"
                )
            inner = cast("Mapping[str, Any]", merged.get(name) or {})
            inner_merged = _merge(inner, cast("Mapping[str, Any]", value), kind, where)
            if where in _PRESENCE_IS_THE_SETTING and name not in merged:
                # Sent even as `{}`, it turns the feature on at the server while the
                # library, reading the Struct, believes it off (no handles kept, no resume).
                raise ConfigurationError(
                    f"extra: {where} is off in this setup, and its presence turns it on: "
                    f"set it on the Setup ({kind.__name__}) instead; extra can only add "
                    "fields to it once it is there"
                )
            merged[name] = inner_merged
        elif kind == _LIST:
            if not isinstance(value, Sequence) or isinstance(value, str | bytes | bytearray):
                raise ConfigurationError(
                    f"extra: {where} is a list that extra can only add items to, not "
                    f"replace with {_shown(value)}"
                )
            modelled_items = cast("list[Any]", merged.get(name) or [])
            merged[name] = [*modelled_items, *cast("Sequence[object]", value)]
        else:
            raise ConfigurationError(
                f"extra: {where} is a field this library models: set it on the "
                f"{cls.__name__} instead (extra only adds fields it does not model)"
            )
    return merged


def merge_extra(setup: Setup) -> dict[str, Any]:
    """The JSON object of `setup` as sent: its modelled fields, then `extra` merged in.

    Raises:
        ConfigurationError: `extra` names a modelled field other than an object or a list
            (`model`, `generationConfig.temperature`), gives an object or a list field a
            value of another type, or holds a value JSON cannot carry. The path is named.
    """
    modelled = msgspec.to_builtins(msgspec.structs.replace(setup, extra=None))
    if setup.extra is None:
        return cast("dict[str, Any]", modelled)
    extra = cast(object, setup.extra)
    if not isinstance(extra, Mapping):
        # Its type only: a list of pairs, say, may hold a credential under any name.
        raise ConfigurationError(f"setup.extra must be a dict, not a {type(extra).__name__}")
    merged = _merge(modelled, cast("Mapping[str, Any]", extra), Setup, "setup")
    try:
        return cast("dict[str, Any]", msgspec.to_builtins(merged))
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        raise ConfigurationError(f"extra: a value JSON cannot carry: {exc}") from None


def check_extra(setup: Setup) -> None:
    """Refuse a `Setup.extra` that could not be merged (see `merge_extra`)."""
    if setup.extra is not None:
        merge_extra(setup)


def setup_frame(setup: Setup) -> bytes:
    """The `setup` frame for `setup`, its `extra` merged in (checked by `check_setup`)."""
    if setup.extra is None:
        return encode_client(ClientMessage(setup=setup))
    return _encoder.encode({"setup": merge_extra(setup)})


def dropped_paths(sent: object, kept: object, path: str) -> list[str]:
    """The JSON paths of object keys in `sent` that `kept` lacks (at any depth).

    `sent` is a setup encoded as given, `kept` the same setup read back into the wire
    Structs: a key only `sent` has is a field a Struct lacks (a subclass's own field, or a
    key of a dict given for a Struct), which the Structs would drop without a word.
    """
    found: list[str] = []
    stack: list[tuple[object, object, str]] = [(sent, kept, path)]
    while stack:
        a, b, where = stack.pop()
        if isinstance(a, dict) and isinstance(b, dict):
            a_map = cast("dict[str, object]", a)
            b_map = cast("dict[str, object]", b)
            for key, value in a_map.items():
                if key in b_map:
                    stack.append((value, b_map[key], f"{where}.{key}"))
                else:
                    found.append(f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list):
            b_list = cast("list[object]", b)
            for index, value in enumerate(cast("list[object]", a)):
                if index < len(b_list):
                    stack.append((value, b_list[index], f"{where}[{index}]"))
    return sorted(found)
