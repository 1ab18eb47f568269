"""What in a refused setup may be why: the hint a 1007 close during setup carries.

Google refuses a bad setup with 1007, mostly `Request contains an invalid argument.`,
naming nothing (its parser's refusal of an enum name it lacks names the field, not the names
it takes). After such a refusal, the setup is searched for what this library knows the server
refuses: an enum value Google does not declare (`_proto_enums`: its protos' names and the newer
ones google-genai sends), more than one response modality, TEXT asked of a native-audio model
(protocol.md section 2.1.1; Gemini 3 models are native audio too), a field only the other
backend has (`sessionResumption.transparent` on the Gemini API, `labels` on Vertex AI, ...;
the setup's `extra` included) and a field the Live API lacks on both
(`multiSpeakerVoiceConfig`). Nothing here stops a setup before it is sent: Google adds enum
values, and a value unknown to this release must reach the server, which may well take it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import cast

from . import _proto_enums as proto
from ._errors import ConfigurationError, excerpt
from ._setup_extra import merge_extra
from ._wire import Setup

__all__ = ["setup_hint", "setup_problems"]


def _audio_only(model: str) -> bool:
    """Whether `model` (a resource name) answers in AUDIO only: 2.5 native audio, Gemini 3."""
    name = model.rpartition("/")[2]
    return "native-audio" in name or name.startswith("gemini-3")


_PREFIX = "the setup may be why: "


def _known(*tables: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name for table in tables for name in table)


_MODALITIES = _known(proto.MODALITY, proto.MODALITY_UNNUMBERED)
_MEDIA_RESOLUTIONS = _known(proto.MEDIA_RESOLUTION)
_THINKING_LEVELS = _known(proto.THINKING_LEVEL, proto.THINKING_LEVEL_UNNUMBERED)
_START_SENSITIVITIES = _known(proto.START_SENSITIVITY)
_END_SENSITIVITIES = _known(proto.END_SENSITIVITY)
_ACTIVITY_HANDLINGS = _known(proto.ACTIVITY_HANDLING)
_TURN_COVERAGES = _known(proto.TURN_COVERAGE, proto.TURN_COVERAGE_UNNUMBERED)
_BEHAVIORS = _known(proto.BEHAVIOR)


def setup_hint(setup: Setup | None) -> str:
    """The hint for a setup the server refused with 1007, or "" when nothing in it is suspect.

    Example: `the setup may be why: generationConfig.responseModalities[0] is 'AUIDO', not
    one of AUDIO, IMAGE, TEXT, VIDEO`.
    """
    problems = setup_problems(setup) if setup is not None else []
    return _PREFIX + "; ".join(problems) if problems else ""


def setup_problems(setup: Setup) -> list[str]:
    """What in `setup` the server may have refused, each naming its JSON path (camelCase)."""
    return [
        *_generation_problems(setup),
        *_realtime_problems(setup),
        *_tool_problems(setup),
        *_backend_problems(setup),
    ]


# Setup fields one backend has and the other refuses by name (google-genai refuses them
# before sending; the server closes with 1007 'Unknown name'), by JSON path.
_VERTEX_ONLY = ("sessionResumption.transparent", "explicitVadSignal")
_GEMINI_ONLY = ("labels",)
# Tool kinds, by key of a `tools[]` entry.
_VERTEX_ONLY_TOOLS = ("retrieval", "enterpriseWebSearch", "parallelAiSearch", "exaAiSearch")
_GEMINI_ONLY_TOOLS = ("fileSearch",)
# Fields neither backend's Live API takes (google-genai refuses them before sending).
_NOWHERE = {
    "generationConfig.speechConfig.multiSpeakerVoiceConfig": "is not supported in the Live API",
}


def _backend(model: object) -> str | None:
    """The backend a model resource name belongs to (`_prepare_setup` makes one), if known."""
    if not isinstance(model, str):
        return None
    if model.startswith("projects/"):
        return "Vertex AI"
    if model.startswith("models/"):
        return "the Gemini API"
    return None


def _lookup(sent: object, path: str) -> object:
    """The value at `path` (dotted camelCase keys) in the setup's JSON, either spelling."""
    node = sent
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        fields = cast("dict[str, object]", node)
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
        node = fields.get(key, fields.get(snake))
    return node


def _backend_problems(setup: Setup) -> Iterator[str]:
    """Fields the backend lacks: Vertex-only ones sent to the Gemini API, and the reverse.

    Read from the setup as sent, its `extra` merged in: that is where a tool kind or a
    field this library does not model comes from.
    """
    try:
        sent: object = merge_extra(setup)
    except ConfigurationError:
        return  # a setup that could not have been sent (built by hand): nothing to read
    for path, why in _NOWHERE.items():
        if _lookup(sent, path) is not None:
            yield f"{path} {why}"
    backend = _backend(cast(object, setup.model))
    if backend is None:
        return
    vertex = backend == "Vertex AI"
    other = "the Gemini API" if vertex else "Vertex AI"
    for path in _GEMINI_ONLY if vertex else _VERTEX_ONLY:
        if _lookup(sent, path) is not None:
            yield f"{path} is for {other} only: {backend} refuses it"
    tools = _lookup(sent, "tools")
    if isinstance(tools, list):
        kinds = _GEMINI_ONLY_TOOLS if vertex else _VERTEX_ONLY_TOOLS
        for index, tool in enumerate(cast("list[object]", tools)):
            for kind in kinds:
                if _lookup(tool, kind) is not None:
                    yield f"tools[{index}].{kind} is a tool for {other} only: {backend} refuses it"


def _generation_problems(setup: Setup) -> Iterator[str]:
    gen = setup.generation_config
    if gen is None:
        return
    where = "generationConfig"
    # A setup is checked for types before it is sent, but one built by hand and given to
    # the protocol core directly is not: anything that is not a list of strings is skipped.
    modalities = cast(object, gen.response_modalities)
    if isinstance(modalities, list):
        items = cast("list[object]", modalities)
        for index, value in enumerate(items):
            yield from _unknown(f"{where}.responseModalities[{index}]", value, _MODALITIES)
        asked = [value for value in items if isinstance(value, str)]
        if len(asked) > 1:
            yield (
                f"{where}.responseModalities asks for {len(asked)} modalities "
                f"({', '.join(asked)}): a session answers in one"
            )
        model = cast(object, setup.model)
        text = any(value.upper() == "TEXT" for value in asked)
        if text and isinstance(model, str) and _audio_only(model):
            yield (
                f"model {excerpt(model)} answers in AUDIO only (a native-audio model), "
                f"but {where}.responseModalities asks for TEXT"
            )
    yield from _unknown(f"{where}.mediaResolution", gen.media_resolution, _MEDIA_RESOLUTIONS)
    thinking = gen.thinking_config
    if thinking is not None:
        yield from _unknown(
            f"{where}.thinkingConfig.thinkingLevel", thinking.thinking_level, _THINKING_LEVELS
        )


def _realtime_problems(setup: Setup) -> Iterator[str]:
    config = setup.realtime_input_config
    if config is None:
        return
    where = "realtimeInputConfig"
    detection = config.automatic_activity_detection
    if detection is not None:
        yield from _unknown(
            f"{where}.automaticActivityDetection.startOfSpeechSensitivity",
            detection.start_of_speech_sensitivity,
            _START_SENSITIVITIES,
        )
        yield from _unknown(
            f"{where}.automaticActivityDetection.endOfSpeechSensitivity",
            detection.end_of_speech_sensitivity,
            _END_SENSITIVITIES,
        )
    yield from _unknown(f"{where}.activityHandling", config.activity_handling, _ACTIVITY_HANDLINGS)
    yield from _unknown(f"{where}.turnCoverage", config.turn_coverage, _TURN_COVERAGES)


def _tool_problems(setup: Setup) -> Iterator[str]:
    tools = cast(object, setup.tools)
    if not isinstance(tools, list):
        return
    for index, tool in enumerate(cast("list[object]", tools)):
        declarations = getattr(tool, "function_declarations", None)
        if not isinstance(declarations, list):
            continue
        for number, declaration in enumerate(cast("list[object]", declarations)):
            yield from _unknown(
                f"tools[{index}].functionDeclarations[{number}].behavior",
                getattr(declaration, "behavior", None),
                _BEHAVIORS,
            )


def _unknown(path: str, value: object, known: frozenset[str]) -> Iterator[str]:
    """A problem if `value` is a string that is not one of the `known` names."""
    if isinstance(value, str) and value not in known:
        yield f"{path} is {excerpt(value)}, not one of {_listing(known)}"


def _listing(known: Iterable[str]) -> str:
    # The *_UNSPECIFIED names are known but never what anyone means to ask for.
    return ", ".join(sorted(name for name in known if not name.endswith("UNSPECIFIED")))
