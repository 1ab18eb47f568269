"""What reading a frame back cannot see: a str in a bytes field, a part's oneof set twice or not."""

from __future__ import annotations

from typing import Any

from trio_gemini_live import (
    Blob,
    ClientMessage,
    Content,
    FileData,
    FunctionResponse,
    FunctionResponseBlob,
    FunctionResponsePart,
    Part,
    ToolCallPart,
    ToolResponse,
    ToolResponsePart,
)
from trio_gemini_live._wire import ClientContent
from trio_gemini_live._wire_checks import (
    buffer_problem,
    empty_part,
    empty_part_problem,
    oneof_problem,
)


def A(value: object) -> Any:
    """A value of the wrong type, on purpose (for the type checkers)."""
    return value


def _turns(*parts: Part) -> ClientMessage:
    return ClientMessage(client_content=ClientContent(turns=[Content(parts=list(parts))]))


def test_every_buffer_and_none_are_bytes() -> None:
    parts = [Part(inline_data=Blob(data=kind(b"x"))) for kind in (bytes, bytearray, memoryview)]
    assert buffer_problem(_turns(*parts, Part(text="x", thought_signature=None)), "$") is None


def test_a_str_is_named_by_its_path_in_a_tuple_too() -> None:
    part = FunctionResponsePart(inline_data=FunctionResponseBlob(data=A("abcd")))
    response = FunctionResponse(id="c1", name="f", parts=A((FunctionResponsePart(), part)))
    message = ClientMessage(tool_response=ToolResponse(function_responses=A((response,))))
    assert buffer_problem(message, "$") == (
        "$.toolResponse.functionResponses[0].parts[1].inlineData.data must be bytes, "
        "bytearray or memoryview, not str"
    )


def test_json_the_caller_gives_is_not_walked() -> None:
    # A `response` is the caller's JSON: a Struct in it is encoded as the caller's value.
    response = FunctionResponse(id="c1", name="f", response={"blob": Blob(data=A("abcd"))})
    message = ClientMessage(tool_response=ToolResponse(function_responses=[response]))
    assert buffer_problem(message, "$") is None


def test_the_first_two_members_set_are_named_in_proto_order() -> None:
    part = Part(file_data=FileData(file_uri="gs://b/o"), text="", inline_data=Blob())
    problem = oneof_problem(_turns(Part(text="a"), part), "$")
    assert problem is not None
    assert problem.startswith("$.clientContent.turns[0].parts[1] sets both text and inlineData")


def test_a_thought_goes_with_any_member() -> None:
    part = Part(inline_data=Blob(data=b"x"), thought=True, thought_signature=b"s")
    assert oneof_problem(_turns(part), "$") is None


def test_a_part_with_no_data_or_only_an_empty_text_is_named() -> None:
    for empty in (Part(), Part(text=""), Part(thought=True), Part(text="", thought=False)):
        message = _turns(Part(text="a"), empty)
        assert empty_part(message, "$") == "$.clientContent.turns[0].parts[1]"
        problem = empty_part_problem(message, "$")
        assert problem is not None
        assert problem.startswith("$.clientContent.turns[0].parts[1] carries no data")


def test_a_part_with_data_or_a_bare_signature_carries_something() -> None:
    parts = (
        Part(text=" "),
        Part(inline_data=Blob()),
        Part(thought_signature=b"s"),
        Part(text="", thought_signature=b"s"),
    )
    assert empty_part(_turns(*parts), "$") is None


def test_a_server_side_tool_part_passed_back_carries_something() -> None:
    # google-genai has the client pass a server-side tool's `toolCall` and `toolResponse`
    # parts back in later turns: each is a part of its own, which is not empty.
    parts = (
        Part(tool_call=ToolCallPart(id="t1", tool_type="GOOGLE_SEARCH_WEB", args={})),
        Part(tool_response=ToolResponsePart(id="t1", response={"results": []})),
    )
    assert empty_part(_turns(*parts), "$") is None
    both = Part(text="a", tool_call=ToolCallPart(id="t1"))
    problem = oneof_problem(_turns(both), "$")
    assert problem is not None
    assert problem.startswith("$.clientContent.turns[0].parts[0] sets both text and toolCall")


def test_a_part_with_only_an_empty_signature_carries_nothing() -> None:
    # Sent as `{"thoughtSignature": ""}`: the proto3 default, read as unset.
    problem = empty_part_problem(_turns(Part(text="a"), Part(thought_signature=b"")), "$")
    assert problem is not None
    assert problem.startswith("$.clientContent.turns[0].parts[1] carries no data")


def test_a_function_response_part_without_media_carries_nothing() -> None:
    # It went out as `"parts": [{}]` (the docstring asks for one of the two).
    blob = FunctionResponseBlob(mime_type="image/png", data=b"x")
    response = FunctionResponse(
        id="c1", name="f", parts=[FunctionResponsePart(inline_data=blob), FunctionResponsePart()]
    )
    message = ClientMessage(tool_response=ToolResponse(function_responses=[response]))
    assert empty_part(message, "$") == "$.toolResponse.functionResponses[0].parts[1]"
