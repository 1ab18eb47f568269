"""Function parameter schemas: refused before sending, converted by the seed facade."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
from hypothesis import given, strategies as st

from trio_gemini_live import (
    ConfigurationError,
    GeminiRealtimeClient,
    Tool,
    function_tool,
    live_setup,
    open_session,
    url_endpoint,
)
from trio_gemini_live._schema import from_json_schema, unsupported_schema_keys
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


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["type", "items", "properties", "anyOf", "readOnly", "$schema", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), _json, max_size=5))
def test_a_converted_schema_never_has_unsupported_keys(schema: dict[str, Any]) -> None:
    assert unsupported_schema_keys(from_json_schema(schema, logging.getLogger("t"))) == []


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
