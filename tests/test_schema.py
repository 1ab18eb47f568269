"""Function parameter schemas: refused before sending, converted by the seed facade."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
from hypothesis import given, strategies as st

from trio_gemini_live import (
    ConfigurationError,
    FunctionDeclaration,
    GeminiRealtimeClient,
    Tool,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._schema import (
    camel_schema,
    from_json_schema,
    schema_value_problems,
    unsupported_schema_keys,
)
from trio_gemini_live._seed_options import _function_declaration
from trio_gemini_live._session_setup import checked_tool_schemas
from trio_gemini_live.emulator import open_emulator

# An input schema as Google's Gmail MCP server publishes it (livekit/agents #7349), plus the
# `$schema` that zod-generated MCP schemas carry (livekit/agents #4334).
MCP_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "readOnly": {"type": "string", "description": "a property may have any name"},
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "string", "readOnly": True}},
            },
        },
        "label": {
            "type": ["string", "null"],
            "enum": ["INBOX", "SPAM"],
            "x-google-enum-descriptions": ["the inbox", "spam"],
        },
    },
    "required": ["attachments"],
    "additionalProperties": False,
}
MCP_PROBLEMS = [
    "parameters.$schema",
    "parameters.properties.attachments.items.properties.id.readOnly",
    "parameters.properties.label.x-google-enum-descriptions",
]


def test_unsupported_keys_are_found_at_any_depth_and_property_names_are_not_keys() -> None:
    assert unsupported_schema_keys(MCP_SCHEMA) == MCP_PROBLEMS
    assert unsupported_schema_keys({"anyOf": [{"type": "string", "const": "x"}]}) == [
        "parameters.anyOf[0].const"
    ]
    assert unsupported_schema_keys({"$defs": {"Item": {"examples": [1]}}}) == [
        "parameters.$defs.Item.examples"
    ]


def test_json_schema_conversion_leaves_out_what_the_server_refuses_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        converted = from_json_schema(MCP_SCHEMA, logging.getLogger("test"))
    assert unsupported_schema_keys(converted) == []
    assert converted["properties"]["readOnly"] == {
        "type": "STRING",  # JSON Schema's type names as the enum's: upper-case
        "description": "a property may have any name",
    }
    assert converted["properties"]["label"] == {
        "type": "STRING",
        "nullable": True,
        "enum": ["INBOX", "SPAM"],
    }
    assert converted["required"] == ["attachments"]
    assert converted["additionalProperties"] is False
    assert "readOnly" in caplog.text
    assert "x-google-enum-descriptions" in caplog.text


def test_several_json_schema_types_become_any_of() -> None:
    converted = from_json_schema({"type": ["string", "integer", "null"]}, logging.getLogger())
    assert converted == {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}], "nullable": True}


def test_a_map_s_value_schema_is_converted_and_checked_like_a_property_s() -> None:
    # zod's z.record(z.string().nullable()): `additionalProperties` was left as given, so
    # its type list was refused, and its unknown keys were neither left out nor named.
    nullable_map = {
        "type": "object",
        "properties": {
            "m": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}
        },
    }
    converted = from_json_schema(nullable_map, logging.getLogger("t"))
    assert converted["properties"]["m"] == {
        "type": "OBJECT",
        "additionalProperties": {"type": "STRING", "nullable": True},
    }
    extra = {"additionalProperties": {"type": "string", "$schema": "x", "readOnly": True}}
    assert unsupported_schema_keys(extra) == [
        "parameters.additionalProperties.$schema",
        "parameters.additionalProperties.readOnly",
    ]
    assert unsupported_schema_keys({"additional_properties": {"x": 1}}) == [
        "parameters.additional_properties.x"
    ]
    assert from_json_schema(extra, logging.getLogger("t")) == {
        "additionalProperties": {"type": "STRING"}
    }
    assert from_json_schema({"additionalProperties": True}, logging.getLogger("t")) == {
        "additionalProperties": True
    }
    assert camel_schema({"additional_properties": {"max_items": 2}}) == {
        "additionalProperties": {"maxItems": 2}
    }


def test_schema_values_are_checked_by_each_field_s_proto_type() -> None:
    # Only key names were checked: each of these was sent, and closed the session (1007).
    schema = {
        "type": "OBJECT",
        "properties": {
            "kind": {"type": "STRIN", "enum": ["a", 1]},
            "count": {"type": "INTEGER", "minimum": "low", "max_items": "x"},
            "flag": {"type": "BOOLEAN", "nullable": 1, "description": 5},
            "tags": {"type": "ARRAY", "items": [{"type": "STRING"}]},
            "five": 5,
        },
        "required": "kind",
        "additionalProperties": "no",
        "$defs": [],
    }
    assert [str(problem) for problem in schema_value_problems(schema)] == [
        "parameters.$defs must be a dict of Schemas by name, not [] (list)",
        "parameters.additionalProperties must be a bool or a Schema (a dict), not 'no' (str)",
        "parameters.properties.count.max_items must be an int64 (an int, or one as a decimal "
        "str), not 'x' (str)",
        "parameters.properties.count.minimum must be a number, not 'low' (str)",
        "parameters.properties.five must be a Schema (a dict), not 5 (int)",
        "parameters.properties.flag.description must be a str, not 5 (int)",
        "parameters.properties.flag.nullable must be a bool, not 1 (int)",
        "parameters.properties.kind.enum[1] must be a str, not 1 (int)",
        "parameters.properties.kind.type must be a Schema type, one of TYPE_UNSPECIFIED, "
        "STRING, NUMBER, INTEGER, BOOLEAN, ARRAY, OBJECT, NULL (in any case), not 'STRIN' (str)",
        "parameters.properties.tags.items must be a Schema (a dict), not [{'type': 'STRING'}] "
        "(list)",
        "parameters.required must be a list, not 'kind' (str)",
    ]


def test_every_proto3_json_spelling_of_a_schema_value_passes() -> None:
    schema = {
        "type": "object",  # enum names in any case, or by number
        "properties": {
            "a": {"type": 1, "minLength": "3", "maxLength": 4.0, "pattern": "^a"},
            "b": {"type": "Number", "minimum": "-Infinity", "maximum": "1.5e3", "nullable": None},
            "c": {"type": "ARRAY", "items": {"type": "STRING"}, "default": {"any": [1, None]}},
            "d": {"additionalProperties": {"type": "STRING"}, "example": 5, "any_of": []},
        },
        "propertyOrdering": ["a", "b"],
        "additional_properties": False,
    }
    assert schema_value_problems(schema) == []


def test_a_json_schema_value_no_conversion_mends_is_refused_by_its_path() -> None:
    log = logging.getLogger("t")
    with pytest.raises(ConfigurationError, match=r"'f' parameters\.properties\.a\.items must"):
        from_json_schema({"properties": {"a": {"items": [{}]}}}, log, "tool 'f' parameters")
    with pytest.raises(ConfigurationError, match=r"parameters\.properties\.n\.enum\[0\] must"):
        from_json_schema({"properties": {"n": {"type": "integer", "enum": [1, 2]}}}, log)


async def test_open_session_refuses_a_bad_schema_value_before_connecting() -> None:
    async def connector(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("must not connect")

    parameters = {"type": "OBJECT", "properties": {"a": {"type": "STRIN"}}}
    setup = live_setup(
        "gemini-live-2.5-flash-preview", functions=[function_tool("f", parameters=parameters)]
    )
    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")
    with trio.fail_after(5), pytest.raises(ConfigurationError) as info:
        async with open_session(setup, endpoint=endpoint, connector=connector):
            pass
    assert "setup.tools[0].functionDeclarations[0].parameters.properties.a.type must be" in str(
        info.value
    )


async def test_open_session_checks_and_camel_cases_a_response_schema() -> None:
    # `FunctionDeclaration.response` is a `Schema` too: it was sent unchecked, as given.
    async def connector(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("must not connect")

    bad = FunctionDeclaration(name="f", response={"type": "OBJECT", "readOnly": True})
    setup = live_setup("gemini-live-2.5-flash-preview", functions=[bad])
    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")
    with trio.fail_after(5), pytest.raises(ConfigurationError) as info:
        async with open_session(setup, endpoint=endpoint, connector=connector):
            pass
    assert "setup.tools[0].functionDeclarations[0].response.readOnly" in str(info.value)
    tools = [
        Tool(function_declarations=[FunctionDeclaration(name="f", response={"type": "STRIN"})])
    ]
    with pytest.raises(ConfigurationError, match=r"\[0\]\.response\.type must be a Schema type"):
        checked_tool_schemas(tools, "setup.tools")
    snake = FunctionDeclaration(name="f", response={"type": "ARRAY", "max_items": 2})
    checked = checked_tool_schemas([Tool(function_declarations=[snake])], "setup.tools")
    assert checked is not None
    assert checked[0].function_declarations is not None
    assert checked[0].function_declarations[0].response == {"type": "ARRAY", "maxItems": 2}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "items",
                    "properties",
                    "anyOf",
                    "additionalProperties",
                    "readOnly",
                    "$schema",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), _json, max_size=5))
def test_a_converted_schema_never_has_unsupported_keys_nor_bad_values(
    schema: dict[str, Any],
) -> None:
    try:
        converted = from_json_schema(schema, logging.getLogger("t"))
    except ConfigurationError as error:
        refusal = str(error)
    else:
        assert unsupported_schema_keys(converted) == []
        assert schema_value_problems(converted) == []
        return
    # A value no conversion mends (or a key spelled twice) is refused, by its path: never
    # sent for a 1007.
    assert "does not take these values" in refusal or "two spellings" in refusal
    assert "parameters" in refusal


async def test_open_session_refuses_such_a_schema_before_connecting() -> None:
    connected = False

    async def connector(*args: Any, **kwargs: Any) -> Any:
        nonlocal connected
        connected = True
        raise AssertionError("must not connect")

    setup = live_setup(
        "gemini-live-2.5-flash-preview", functions=[function_tool("mail", parameters=MCP_SCHEMA)]
    )
    endpoint = url_endpoint("ws://127.0.0.1:9/ws", api_key="k")
    with trio.fail_after(5), pytest.raises(ConfigurationError) as info:
        async with open_session(setup, endpoint=endpoint, connector=connector):
            pass
    assert not connected
    where = "setup.tools[0].functionDeclarations[0].parameters"
    for problem in MCP_PROBLEMS:
        assert problem.replace("parameters", where, 1) in str(info.value)


async def test_a_context_update_with_such_a_schema_is_refused(autojump_clock: Any) -> None:
    tools = [Tool(function_declarations=[function_tool("mail", parameters=MCP_SCHEMA)])]
    async with open_emulator() as emulator:
        with trio.fail_after(30):
            async with emulator.open_session(
                "gemini-3.1-flash-live-preview", api_key="k"
            ) as session:
                with pytest.raises(ConfigurationError, match=r"contextUpdate\.tools\.tools\[0\]"):
                    await session.update_context(tools=tools)
                await session.send_text("still open")


async def test_seed_tools_from_mcp_reach_the_emulator_converted(autojump_clock: Any) -> None:
    tool = {"type": "function", "name": "mail", "description": "Mail", "parameters": MCP_SCHEMA}
    async with open_emulator() as emulator:
        config = {
            "model": "gemini-live-2.5-flash-preview",
            "api_key": "k",
            "base_url": emulator.endpoint_url(),
            "connector": emulator.memory_connector(),
        }
        client = GeminiRealtimeClient(llm_config={"config_list": [config]})
        with trio.fail_after(30):
            async with client.connect():
                await client.session_update({"tools": [tool]})
                await client.send_text(role="user", text="hi")
                async for _ in client.read_events():
                    break
    setup = emulator.connections[0].received[0].data["setup"]
    declaration = setup["tools"][0]["functionDeclarations"][0]
    assert unsupported_schema_keys(declaration["parameters"]) == []
    assert declaration["parameters"]["properties"]["attachments"]["items"]["properties"] == {
        "id": {"type": "STRING"}
    }


def test_the_seed_facade_converts_a_response_schema_like_parameters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # It was copied as given: a JSON Schema `response` reached the server unconverted.
    tool = {
        "name": "f",
        "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
        "response": {"type": "object", "$schema": "x", "properties": {"t": {"type": "string"}}},
    }
    with caplog.at_level(logging.WARNING):
        declaration = _function_declaration(tool, logging.getLogger("t"))
    assert declaration["response"] == {"type": "OBJECT", "properties": {"t": {"type": "STRING"}}}
    assert "tool 'f' response.$schema" in caplog.text


@pytest.mark.parametrize(
    "parameters",
    [
        {"type": "object", "additionalProperties": {"type": "string"}},  # a map of strings
        {"$ref": "#/$defs/A", "$defs": {"A": {"type": "object", "properties": {"x": {}}}}},
        {"anyOf": [{"type": "object", "properties": {"x": {}}}]},
    ],
)
def test_the_seed_facade_keeps_parameters_given_without_properties(
    parameters: dict[str, Any],
) -> None:
    # Only a schema with `properties` was kept: these were left out, silently.
    declaration = _function_declaration(
        {"name": "f", "parameters": parameters}, logging.getLogger()
    )
    assert declaration["parameters"] == from_json_schema(parameters, logging.getLogger())


def test_the_seed_facade_leaves_out_parameters_of_no_arguments_and_says_what_it_drops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("t")
    with caplog.at_level(logging.INFO):
        for empty in ({"type": "object", "properties": {}}, {"additionalProperties": False}):
            assert "parameters" not in _function_declaration(
                {"name": "f", "parameters": empty}, log
            )
        assert not caplog.text
        titled = {"name": "g", "parameters": {"type": "object", "title": "G", "properties": {}}}
        assert "parameters" not in _function_declaration(titled, log)
    assert "tool 'g' takes no arguments" in caplog.text
    with pytest.raises(ConfigurationError, match=r"tool 'f' parameters must be a JSON Schema"):
        _function_declaration({"name": "f", "parameters": "{}"}, log)


def test_a_string_const_becomes_a_one_value_enum_as_google_genai_has_it() -> None:
    # pydantic's `Literal["action"]`; `const` was left out, so any string was allowed.
    literal = {"type": "object", "properties": {"g": {"type": "string", "const": "action"}}}
    converted = from_json_schema(literal, logging.getLogger())
    assert converted["properties"]["g"] == {"type": "STRING", "enum": ["action"]}
    nullable = from_json_schema({"type": ["string", "null"], "const": "a"}, logging.getLogger())
    assert nullable == {"type": "STRING", "nullable": True, "enum": ["a"]}
    # google-genai refuses the rest ("Literal values must be strings"): no Schema form.
    for schema in ({"type": "integer", "const": 3}, {"const": "a"}):
        with pytest.raises(ConfigurationError, match=r"parameters\.const is "):
            from_json_schema(schema, logging.getLogger())


@pytest.mark.parametrize("field", ["parameters", "response"])
def test_a_schema_and_its_json_schema_twin_together_are_refused(field: str) -> None:
    # google-genai: "This field is mutually exclusive with `parameters`" (and `response`).
    schema = {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}
    twins = {field: schema, f"{field}_json_schema": {"type": "object"}}
    tools = [Tool(function_declarations=[FunctionDeclaration(name="f", **twins)])]
    where = "setup.tools[0].functionDeclarations[0]"
    with pytest.raises(ConfigurationError) as info:
        checked_tool_schemas(tools, "setup.tools")
    assert f"{where}.{field} and {where}.{field}JsonSchema" in str(info.value)
    assert "mutually exclusive" in str(info.value)
    del twins[field]
    alone = [Tool(function_declarations=[FunctionDeclaration(name="f", **twins)])]
    assert checked_tool_schemas(alone, "setup.tools") == alone
