"""A setup checked and completed before `open_session` connects (and for `update_setup`).

Split from `_session.py`: turns what the caller passed (a model name, a `Setup`, lists of
tools) into the `Setup` sent, refusing what the server is known to refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar, cast
from urllib.parse import urlsplit

import msgspec

from ._arguments import describe
from ._endpoints import Endpoint, model_resource_name
from ._enum_names import with_declared_names
from ._errors import ConfigurationError, LocalProtocolError
from ._proto_fields import gemini_only_paths, vertex_only_paths
from ._protocol import check_setup
from ._schema import (
    SCHEMA_FIELDS,
    camel_schema,
    tool_schema_problems,
    tool_schema_value_problems,
)
from ._setup_extra import merge_extra
from ._wire import Content, FunctionDeclaration, GenerationConfig, Part, Setup, Tool

_T = TypeVar("_T")


def struct_list(value: object, cls: type[_T], name: str, expected: str) -> list[_T]:
    """`value` (a sequence of `cls`) as a list, or an error naming the argument or item."""
    # A str, a buffer or a mapping iterates, but as characters, ints or keys; a single
    # struct is the likely slip for a list of one.
    if not is_sequence_of_structs(value, cls):
        raise LocalProtocolError(f"{name} must be {expected}, not {describe(value)}")
    items: list[object] = list(cast("Iterable[object]", value))
    for index, item in enumerate(items):
        if not isinstance(item, cls):
            raise LocalProtocolError(
                f"{name}[{index}] must be a {cls.__name__}, not {describe(item)}"
            )
    return cast("list[_T]", items)


def is_sequence_of_structs(value: object, cls: type) -> bool:
    """Whether `value` may hold several `cls` (without checking the items)."""
    return isinstance(value, Iterable) and not isinstance(
        value, (str, bytes, bytearray, memoryview, Mapping, cls)
    )


def tool_list(value: object) -> list[Tool]:
    """`update_context`'s `tools` as `Tool`s: `FunctionDeclaration`s go into one, last.

    As `live_setup` puts its `functions` after its `tools`, so that a setup and the
    `contextUpdate` made from the same arguments list the same tools.
    """
    expected = "a sequence of Tool and/or FunctionDeclaration (see function_tool)"
    # A single declaration is the likely slip for a list of one, as a single Tool is.
    if isinstance(value, FunctionDeclaration) or not is_sequence_of_structs(value, Tool):
        raise LocalProtocolError(f"tools must be {expected}, not {describe(value)}")
    tools: list[Tool] = []
    functions: list[FunctionDeclaration] = []
    for index, item in enumerate(cast("Iterable[object]", value)):
        if isinstance(item, Tool):
            declarations = cast("Iterable[object]", item.function_declarations or ())
            for number, declaration in enumerate(declarations):
                # A dict here would meet the schema conversion as an AttributeError.
                if not isinstance(declaration, FunctionDeclaration):
                    raise LocalProtocolError(
                        f"tools[{index}].function_declarations[{number}] must be a "
                        f"FunctionDeclaration (see function_tool), not {describe(declaration)}"
                    )
            tools.append(item)
        elif isinstance(item, FunctionDeclaration):
            functions.append(item)
        else:
            raise LocalProtocolError(
                f"tools[{index}] must be a Tool or a FunctionDeclaration, not {describe(item)}"
            )
    if functions:
        tools.append(Tool(function_declarations=functions))
    return tools


def system_instruction(value: object) -> Content | None:
    """`update_context`'s `system_instruction` as a `Content` (a `str` is one user turn)."""
    if value is None or isinstance(value, Content):
        return value
    if isinstance(value, str):
        return Content(parts=[Part(text=str.__str__(value))], role="user")
    raise LocalProtocolError(
        f"system_instruction must be a str or a Content, not {describe(value)}"
    )


def checked_tool_schemas(tools: list[Tool] | None, path: str) -> list[Tool] | None:
    """`tools` with their function `Schema`s in camelCase, refusing what the server refuses.

    The `Schema`s are each declaration's `parameters` and `response` (`SCHEMA_FIELDS`). A
    schema key in snake_case (`max_items`, as google-genai sends them) is sent by its JSON
    name (`maxItems`); keys `Schema` lacks, and values its fields do not take (`"type":
    "STRIN"`, an `enum` of numbers), would make the server close the session with 1007 and
    no useful reason, so they are refused here.
    """
    if tools is None:
        return None
    converted: list[Tool] = []
    for index, tool in enumerate(tools):
        declarations = tool.function_declarations
        if declarations:
            tool = msgspec.structs.replace(
                tool,
                function_declarations=[
                    _camel_declaration(declaration, f"{path}[{index}].functionDeclarations[{n}]")
                    for n, declaration in enumerate(declarations)
                ],
            )
        converted.append(tool)
    _refuse_both_schema_forms(converted, path)
    problems = tool_schema_problems(converted, path)
    if problems:
        raise ConfigurationError(
            "function schemas use keys the Live API's Schema does not have (the server "
            f"would close the session with 1007): {', '.join(problems)}"
        )
    problems = tool_schema_value_problems(converted, path)
    if problems:
        raise ConfigurationError(
            "function schemas hold values the Live API's Schema does not take (the server "
            f"would close the session with 1007): {'; '.join(problems)}"
        )
    return converted


def _refuse_both_schema_forms(tools: list[Tool], path: str) -> None:
    """Refuse a declaration giving a `Schema` and its JSON Schema twin together.

    google-genai documents `parameters` and `parametersJsonSchema` (and `response` and
    `responseJsonSchema`) as mutually exclusive: which one the server would go by is not
    said.
    """
    both: list[str] = []
    for index, tool in enumerate(tools):
        for number, declaration in enumerate(tool.function_declarations or ()):
            where = f"{path}[{index}].functionDeclarations[{number}]"
            for field in SCHEMA_FIELDS:
                if getattr(declaration, field) is not None and (
                    getattr(declaration, f"{field}_json_schema") is not None
                ):
                    both.append(f"{where}.{field} and {where}.{field}JsonSchema")
    if both:
        raise ConfigurationError(
            f"{'; '.join(both)} are given together, and are mutually exclusive (one as a "
            "Schema, one as a JSON Schema): give one"
        )


def _camel_declaration(declaration: FunctionDeclaration, path: str) -> FunctionDeclaration:
    """`declaration` with its `Schema`s (`SCHEMA_FIELDS`) spelled in camelCase."""
    camel = {
        field: camel_schema(schema, f"{path}.{field}")
        for field in SCHEMA_FIELDS
        if (schema := getattr(declaration, field)) is not None
    }
    return msgspec.structs.replace(declaration, **camel) if camel else declaration


def gemini_api(endpoint: Endpoint) -> bool:
    """Whether `endpoint` is known to be the Gemini API's (not Vertex AI's, nor unknown).

    `gemini_endpoint`'s, and a `url_endpoint` to the Gemini API's service path (as the
    emulator's); a URL to another path may lead anywhere (a proxy to Vertex AI, say).
    """
    path = urlsplit(endpoint.url).path
    return not endpoint.vertex and ".GenerativeService." in path


def vertex_ai(endpoint: Endpoint) -> bool:
    """Whether `endpoint` is known to be Vertex AI's: `vertex` set, or its service path."""
    return endpoint.vertex or ".LlmBidiService/" in urlsplit(endpoint.url).path


def refuse_vertex_only(
    paths: list[str], error: type[ConfigurationError] | type[LocalProtocolError]
) -> None:
    """Raise `error` naming `paths`, the Vertex-only fields of a message for the Gemini API.

    Said here rather than by the server, which closes the session with 1007 'Unknown name'
    once the message arrives (google-genai refuses them before sending too).
    """
    if paths:
        it, verb = ("it", "is") if len(paths) == 1 else ("them", "are")
        raise error(
            f"{', '.join(paths)} {verb} Vertex AI only: the Gemini API refuses {it} by "
            f"name, whatever the value (1007 'Unknown name'). Leave {it} out, or connect to "
            "Vertex AI (vertex_endpoint, or url_endpoint(..., vertex=True))"
        )


def refuse_gemini_only(
    paths: list[str], error: type[ConfigurationError] | type[LocalProtocolError]
) -> None:
    """Raise `error` naming `paths`, the Gemini API-only fields of a message for Vertex AI.

    google-genai says Vertex AI does not support them (`GEMINI_ONLY_FIELDS`); its parser
    would refuse them by name once the message arrives.
    """
    if paths:
        it, verb = ("it", "is") if len(paths) == 1 else ("them", "are")
        raise error(
            f"{', '.join(paths)} {verb} Gemini API only: Vertex AI does not support {it} "
            f"(google-genai: 'only supported in Gemini Developer API'). Leave {it} out, or "
            "connect to the Gemini API (gemini_endpoint)"
        )


def prepare_setup(setup: Setup | str, endpoint: Endpoint) -> Setup:
    """`setup` (or a model name) checked for `endpoint`, its model as the endpoint names it."""
    if isinstance(setup, str):
        setup = Setup(model=setup)
    # First: the checks below read its fields (an enum value as it is sent, too).
    setup = with_declared_names(check_setup(setup))
    setup = msgspec.structs.replace(setup, tools=checked_tool_schemas(setup.tools, "setup.tools"))
    resumption = setup.session_resumption
    if resumption is not None and resumption.transparent and gemini_api(endpoint):
        # Said here rather than by the server, which closes with 1007 'Unknown name
        # "transparent"' once the connection is made.
        raise ConfigurationError(
            "transparent session resumption (live_setup(..., transparent_resumption=True), "
            "sessionResumption.transparent) is Vertex AI only: the Gemini API refuses the "
            "field. Leave it off, or connect to Vertex AI (vertex_endpoint, or "
            "url_endpoint(..., vertex=True))"
        )
    if gemini_api(endpoint):
        # The setup as sent: a Vertex-only field may come with `extra` (a tool it adds).
        sent = setup if setup.extra is None else merge_extra(setup)
        refuse_vertex_only(vertex_only_paths(sent, "setup", Setup), ConfigurationError)
    elif vertex_ai(endpoint):
        sent = setup if setup.extra is None else merge_extra(setup)
        refuse_gemini_only(gemini_only_paths(sent, "setup", Setup), ConfigurationError)
    model = model_resource_name(
        setup.model,
        vertex=endpoint.vertex,
        project=endpoint.project,
        location=endpoint.location,
    )
    setup = msgspec.structs.replace(setup, model=model)
    return with_vertex_modality(setup) if endpoint.vertex else setup


def with_vertex_modality(setup: Setup) -> Setup:
    """`setup` asking for `["AUDIO"]` answers if it names no response modality (Vertex AI).

    As google-genai's Vertex AI path does (protocol.md sections 2.1.1 and 5.1): it sets
    `generationConfig.responseModalities` when the setup it sends has none. One given in
    `extra` counts (adding another would send both).
    """
    generation = setup.generation_config or GenerationConfig()
    if generation.response_modalities is not None:
        return setup
    if setup.extra is not None:
        sent = merge_extra(setup).get("generationConfig")
        if isinstance(sent, dict) and any(
            key in sent for key in ("responseModalities", "response_modalities")
        ):
            return setup
    return msgspec.structs.replace(
        setup,
        generation_config=msgspec.structs.replace(generation, response_modalities=["AUDIO"]),
    )
