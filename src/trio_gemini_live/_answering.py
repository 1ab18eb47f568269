"""Answering tool calls: `respond`, `send_tool_response`, and the checks every answer passes.

A base class of `LiveSession` (`_session.py`), which holds the state and the send path. An
answer is the one message tied to the connection that asked for it: it must answer a call
that is pending on this connection, once, and no other answer may be on its way to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from . import _proto_enums as proto
from ._answer_errors import (
    answer_on_its_way as _answer_on_its_way,
    cancelled_call as _cancelled_call,
    first_named as _first_named,
    no_call_without_id as _no_call_without_id,
    not_pending as _not_pending,
    take_call_without_id as _take_call_without_id,
)
from ._answers import TOOL_RESPONSE
from ._arguments import (
    TOO_DEEP,
    check_bool,
    check_instance,
    check_json_object,
    check_scheduling,
    check_str,
    non_finite_path,
)
from ._codec import encode_client
from ._connection import SessionCore
from ._endpoints import Endpoint
from ._enum_names import declared_name
from ._errors import LocalProtocolError
from ._pending_calls import NO_ID, CallReservation
from ._proto_fields import gemini_only_paths
from ._session_setup import refuse_gemini_only, struct_list as _struct_list
from ._wire import ClientMessage, FunctionResponse, FunctionResponsePart, Setup, ToolResponse

__all__ = ["SessionAnswers", "check_finite"]


class SessionAnswers:
    """The tool-call answers of a `LiveSession` (a base class of it).

    The state below is `LiveSession`'s, made in its `__init__`, and so are `_send` and
    `_send_frame`, the send path every message takes.
    """

    _core: SessionCore
    _endpoint: Endpoint

    if TYPE_CHECKING:

        async def _send(self, message: ClientMessage, kind: str) -> None: ...

        async def _send_frame(
            self,
            frame: bytes,
            kind: str,
            effects: ClientMessage | None,
            reservation: CallReservation | None = None,
        ) -> None: ...

    async def _send_answer(self, frame: bytes, message: ClientMessage) -> None:
        """`_send_frame` for a tool response, its calls reserved while it waits.

        Reserved (`LiveProtocol.reserve_answers`) before the wait for room in the queue: no
        other response takes them meanwhile, so two answers waiting together are not both
        sent. Once queued it answers exactly them, and none if a resume forgot them while
        it waited (not the new connection's calls of the same id or, without an id, name).
        """
        assert message.tool_response is not None
        protocol = self._core.protocol
        reservation = protocol.reserve_answers(message.tool_response)
        try:
            await self._send_frame(frame, TOOL_RESPONSE, message, reservation)
        finally:
            # Not queued (cancelled or refused): its calls can be answered again. Once
            # queued, the commit took the calls, and this frees none.
            protocol.release_answers(reservation)

    def _check_answers(self, responses: Sequence[FunctionResponse]) -> None:
        """Refuse a tool response that would answer a call twice, or one it may not answer.

        Every way to send one (`respond`, `send_tool_response`, a raw `send`) comes here:
        an id twice in the message, a call the client knows was answered, or one whose
        answer waits for room in the queue would reach the server twice, which closes
        the session with 1007. Without an id, a response with no free call of its name
        while an answer waits for each such call would be the second answer to one of
        them. An id the client never saw (or forgot) is left to the server.
        """
        protocol = self._core.protocol
        pending = protocol.pending_calls
        seen: set[str] = set()
        free_without_id: list[str] | None = None  # looked up only if a response has no id
        for index, response in enumerate(responses):
            _check_response_keys(response, index)
            if response.will_continue is True:  # another type: the encoding check names it
                _check_continuable(protocol.setup, response.name, response.id or "")
            call_id = response.id or ""
            self._check_call_of_this_connection(call_id)
            if call_id:
                if call_id in seen:
                    raise LocalProtocolError(
                        f"tool call {call_id!r} is answered twice in one message: the "
                        "server would close the session (1007); send one response per call"
                    )
                seen.add(call_id)
                if pending.reserved(call_id):
                    raise _answer_on_its_way(call_id)
                if call_id not in pending and protocol.settled_calls.get(call_id) == "answered":
                    raise _not_pending(call_id, "answered")
                continue
            if free_without_id is None:
                free_without_id = pending.without_id()
            taken = _first_named(free_without_id, response.name)
            if taken is not None:
                del free_without_id[taken]
            elif _first_named(pending.without_id(reserved=True), response.name) is not None:
                raise LocalProtocolError(
                    "a response without an id answers the oldest pending call without an id "
                    f"named {response.name!r}, and an answer is already on its way to each "
                    "such call (another respond or send_tool_response waits for room in "
                    "the queue)"
                )

    def _check_call_of_this_connection(self, call_id: str) -> None:
        """Refuse to answer a call that an earlier connection issued (the server has no such id).

        A call pending now is this connection's, even under an id an earlier one used ("",
        for calls without an id). Nor a call still streaming its arguments, or whose turn
        ended before they were whole (`"incomplete"`): the server waits for no result.
        """
        if self._cancelled_by_resume(call_id):
            raise _cancelled_call(call_id, answered=self._core.cancelled_calls[call_id])
        why = self._core.protocol.unanswerable(call_id)
        if why is not None:
            raise _not_pending(call_id, why)

    def _cancelled_by_resume(self, call_id: str) -> bool:
        """Whether `call_id` is a call of an earlier connection, cancelled by a resume.

        Also read by the seed facade, which drops such a result rather than raise.
        """
        core = self._core
        return call_id in core.cancelled_calls and call_id not in core.protocol.pending_calls

    def _call_cancelled(self, call_id: str) -> bool:
        """Whether a call was cancelled, by the server or a reconnect, or is incomplete (lately).

        For the seed facade, which drops the result of such a call: it hears of the
        cancellation only once its own queue has taken the event, maybe long after. Not a
        call the application answered whose response a move voided (still queued then):
        another answer to it is a second answer, refused as one, not dropped.
        """
        if self._cancelled_by_resume(call_id):
            return not self._core.cancelled_calls[call_id]
        return self._core.protocol.settled_calls.get(call_id) in ("cancelled", "incomplete")

    async def send_tool_response(self, *responses: FunctionResponse) -> None:
        """Answer tool calls (`toolResponse`). Each response needs the call's id and name.

        Once the message is queued its calls leave `pending_tool_calls`; a send cancelled
        before that leaves them pending. While it waits for room in the queue its calls
        are taken: another response to one of them is refused (not sent twice) until the
        send is queued or cancelled. A response still queued (or waiting for room in
        the queue) when the connection that issued its calls ends is never written: the
        resumed server would close the session with 1007 on an id it does not know. It is
        reported in `Reconnected.not_replayed` ("answers a call of the old connection"),
        its calls still pending then in a `ToolCallCancellation` (reason "reconnect"),
        and the server re-issues, with new ids, the calls it still needs. A send that was
        waiting then returns once its message is queued, and answers none of the new
        connection's calls (not one without an id of the same name either).

        A call that came without an id (Vertex AI may send such calls) is answered by a
        response without one, which answers the oldest pending call without an id that
        has its function name: two such calls need two responses.

        Raises:
            CallCancelledError: a response answers a call that a move to a new connection
                cancelled, or that its turn left incomplete (a `ToolCallCancellation`
                event reports it). A response to a call the server cancelled is not
                refused here: it is sent as given.
            LocalProtocolError: no response is given (a `toolResponse` that answers no
                call), a response is not a `FunctionResponse`, lacks its id (with no call
                without an id pending) or name, has no id and no pending call without an
                id is left for it (none has its name, or the message holds more such
                responses for that name than calls are pending), has a
                `response` that is not a dict (or holds NaN or an infinity anywhere, in a
                dataclass, a Struct or a set too: JSON has neither), an unknown
                `scheduling` or a value of the wrong type, or `will_continue=True` for a
                function the setup in force declares BLOCKING or while the endpoint is
                Vertex AI's (see `respond`); it
                answers a call of an
                earlier connection answered by a response the move kept from the new
                connection; a call still streaming its arguments; it answers a call the
                session knows was answered already (`LiveProtocol.settled_calls`: the
                server would close the session with 1007; an id the session never saw is
                sent as given), or
                two responses in the message have the same id; or it answers a call with
                an id whose answer is already on its way (another `respond` or `send_tool_response`
                waits for room in the queue), or has no id and an answer is already on its
                way to each pending call without an id of its name.
        """
        if not responses:
            raise LocalProtocolError(
                "send_tool_response() needs at least one FunctionResponse: a toolResponse "
                "with none answers no call"
            )
        if len(responses) == 1 and isinstance(responses[0], list | tuple):
            raise LocalProtocolError(
                "send_tool_response takes the responses as separate arguments, not one "
                f"{type(responses[0]).__name__}: unpack it, send_tool_response(*responses)"
            )
        pending = self._core.protocol.pending_calls
        # The names of the calls without an id that the responses so far leave unanswered
        # (not those a response waiting to be queued answers already).
        unanswered = pending.without_id()
        for index, response in enumerate(responses):
            check_instance(response, FunctionResponse, f"responses[{index}]")
            if not response.id and NO_ID not in pending:
                # (A call that came without an id, as Vertex may send, is answered without.)
                # Said as for an id: when a resume cancelled such calls, it says so.
                self._check_call_of_this_connection(NO_ID)
                raise _no_call_without_id(f"responses[{index}]", response.name)
            if not response.name:
                raise LocalProtocolError(
                    f"function response {response.id!r} needs the function name"
                )
            if not response.id:
                _take_call_without_id(
                    unanswered,
                    response.name,
                    f"responses[{index}]",
                    pending.without_id(reserved=True),
                )
            elif pending.reserved(response.id):
                raise _answer_on_its_way(response.id)
            check_json_object(response.response, f"function response {response.id!r}: response")
            check_finite(response.response, f"function response {response.id!r}: response")
            check_scheduling(response.scheduling, f"function response {response.id!r}")
        message = ClientMessage(tool_response=ToolResponse(function_responses=list(responses)))
        self._refuse_gemini_only(message)
        await self._send(message, "toolResponse")

    async def respond(
        self,
        call_id: str,
        result: Any,
        *,
        name: str | None = None,
        scheduling: str | None = None,
        will_continue: bool | None = None,
        parts: Sequence[FunctionResponsePart] = (),
    ) -> None:
        """Answer one tool call; the name is looked up from the pending call if not given.

        A `dict` result is sent as the response object; anything else as `{"result": ...}`.
        `parts` adds media to it (a multimodal function response: an image the function
        rendered, as `FunctionResponsePart(inline_data=FunctionResponseBlob(...))`).
        The call stays pending until the response is queued: a `respond` cancelled while
        it waits for room in the queue can be retried. Meanwhile no other response may
        answer the call (it would be sent twice). A response still queued, or waiting for
        room, when the connection drops or moves is not written on the next one, and is
        reported (see `send_tool_response`): a `respond` that was waiting returns once
        queued, having answered none of the new connection's calls.

        A NON_BLOCKING call may be answered in several responses: each but the last with
        `will_continue=True`, which leaves the call pending for the next (protocol.md 2.4).
        A BLOCKING call (its function declared in the setup in force without
        `behavior="NON_BLOCKING"`) takes one response: the server settles it on the first
        and closes the session (1007) on the next, so `will_continue=True` is refused.
        `will_continue=False` is the default, and is left out of the message.

        A call that came without an id (`FunctionCall.call_id` is `""`; Vertex AI may send
        such calls) is answered with `call_id=""`: each such call is pending until
        answered, and a response answers the oldest of them or, with `name`, the oldest
        of them that has that function name.

        Raises:
            CallCancelledError: the call was cancelled (a `ToolCallCancellation` event
                reports it, maybe not read yet): by the server, when no `name` is given;
                by the session's move to a new connection (even with `name`: the new
                connection's server knows no such call); or its turn ended before its
                arguments were whole (even with `name`). A `LocalProtocolError`: a tool
                that finishes after a barge-in catches this one to drop its result.
            LocalProtocolError: the call was answered by a response still queued when the
                session moved to a new connection, which the move kept from it (even with
                `name`); the call is still streaming its arguments (even with `name`);
                `call_id` is not a pending call and no `name` is given (the message says
                if the call was answered already); the call was answered already (the session
                knows it: `LiveProtocol.settled_calls`), even with `name`, as the server
                closes the session (1007) on a second answer (a `name` for an id the
                session never saw, or no longer remembers, is still sent as given); an
                answer to `call_id` is already on its way
                (another `respond` or `send_tool_response` waits for room in the queue);
                `call_id` is empty and no call without an id is pending, or none of them
                has `name` (or an answer is already on its way to each that has it);
                `result` cannot be encoded as JSON
                (NaN and infinities included, anywhere in it: in a dataclass, a Struct or
                a set too); `scheduling` (one of `SILENT`, `WHEN_IDLE`, `INTERRUPT`, in
                any case: sent upper-case) or
                `will_continue` (a `bool`) is wrong, or `will_continue` is True for a
                function the setup in force declares BLOCKING or while the endpoint is
                Vertex AI's (which does not support it); or `parts` is not a sequence of
                `FunctionResponsePart` whose fields have the right types (bytes, not a
                `str`, in `data`), none with both `inline_data` and `file_data`.
        """
        call_id = check_str(call_id, "call_id")
        protocol = self._core.protocol
        # Before the look-up, which would only say unknown (or, with `name`, send it).
        self._check_call_of_this_connection(call_id)
        if name is not None:
            name = check_str(name, "name")
        if not call_id and NO_ID not in protocol.pending_calls:
            # A call that came without an id (Vertex allows it) has "" and is answered so.
            raise _no_call_without_id("call_id ''", name)
        pending = protocol.pending_calls
        function_name = name or pending.name_of(call_id)
        if not function_name:
            raise _not_pending(call_id, protocol.settled_calls.get(call_id))
        if not call_id:
            # Sent without an id, it answers the oldest call without one of its name.
            _take_call_without_id(
                pending.without_id(), function_name, "name", pending.without_id(reserved=True)
            )
        elif pending.reserved(call_id):
            raise _answer_on_its_way(call_id)
        elif call_id not in pending and protocol.settled_calls.get(call_id) == "answered":
            # Even with `name`: the server knows this call answered, and closes on another.
            raise _not_pending(call_id, "answered")
        check_scheduling(scheduling, f"tool call {call_id!r}")
        check_bool(will_continue, "will_continue", optional=True)
        if will_continue:
            _check_continuable(protocol.setup, function_name, call_id)
        response: dict[str, Any] = result if isinstance(result, dict) else {"result": result}  # pyright: ignore[reportUnknownVariableType]
        check_finite(response, f"the result of tool call {call_id!r}")
        media = _struct_list(
            parts, FunctionResponsePart, "parts", "a sequence of FunctionResponsePart"
        )
        message = ClientMessage(
            tool_response=ToolResponse(
                function_responses=[
                    FunctionResponse(
                        id=call_id or None,
                        name=function_name,
                        response=response,
                        scheduling=declared_name(scheduling, proto.SCHEDULING),
                        # False is the default: omitted, as proto3 JSON writes it.
                        will_continue=will_continue or None,
                        parts=media or None,
                    )
                ]
            )
        )
        self._refuse_gemini_only(message)
        if media:
            # The parts' fields are the caller's: checked as `send` checks a message, by
            # reading the frame back (a wrong type is named by its JSON path).
            frame = self._core.protocol.frame_for(message)
        else:
            try:
                # Built here from checked arguments: only the result may not encode.
                frame = encode_client(message)
            except (TypeError, ValueError, msgspec.EncodeError, RecursionError) as exc:
                raise LocalProtocolError(
                    f"the result of tool call {call_id!r} cannot be sent as JSON: {exc}"
                ) from None
        await self._send_answer(frame, message)

    def _refuse_gemini_only(self, message: ClientMessage) -> None:
        """Refuse `willContinue` for Vertex AI, which does not support it (protocol.md 2.4)."""
        if self._endpoint.vertex:
            paths = gemini_only_paths(message.tool_response, "toolResponse")
            refuse_gemini_only(paths, LocalProtocolError)


def check_finite(value: object, what: str) -> None:
    """Refuse NaN and infinities: JSON has neither, and msgspec would send them as null.

    Looked for in what msgspec encodes: the value as JSON-like builtins, so that one inside
    a dataclass, a Struct or a set is found too (and named by the path it would have).
    """
    try:
        plain = msgspec.to_builtins(value, str_keys=True)
        where = non_finite_path(plain, "$")
    except (TypeError, ValueError, msgspec.EncodeError):
        return  # it cannot be encoded at all: the encoder refuses it, saying why
    except RecursionError:
        raise LocalProtocolError(f"{what} {TOO_DEEP}") from None
    if where is not None:
        raise LocalProtocolError(
            f"{what} holds NaN or an infinity at `{where}`: JSON has neither (it would be "
            "sent as null)"
        )


def _check_continuable(setup: Setup | None, name: str | None, call_id: str) -> None:
    """Refuse `willContinue` for a function the setup in force declares BLOCKING.

    `willContinue` is for NON_BLOCKING functions (protocol.md 2.4): the server settles a
    blocking call on its first response, and closes the session (1007) on the next, while
    the client would keep the call pending for it. A function the modelled tools do not
    declare (one `Setup.extra` adds, say) is left to the server.
    """
    if setup is None or not name:
        return
    for tool in setup.tools or ():
        for declaration in getattr(tool, "function_declarations", None) or ():
            if getattr(declaration, "name", None) != name:
                continue
            # In any case: a setup given to the protocol core directly is not spelled as
            # declared (`with_declared_names`), and the emulator reads it in any case.
            if str(getattr(declaration, "behavior", None) or "").upper() == "NON_BLOCKING":
                return
            raise LocalProtocolError(
                f"tool call {call_id!r}: will_continue=True is for NON_BLOCKING functions, and "
                f"the setup in force declares {name!r} BLOCKING (no behavior NON_BLOCKING): "
                "the server settles a blocking call on its first response and closes the "
                "session (1007) on the next; send the whole result in one response"
            )


def _check_response_keys(response: FunctionResponse, index: int) -> None:
    """Refuse a response whose id or name is not a str: nothing could match it to a call.

    (bytes would even pass the JSON checks, encoded as base64 text.)
    """
    for name in ("id", "name"):
        check_str(getattr(response, name), f"function response [{index}]: {name}", optional=True)
