"""The deterministic 'model' behind the emulator: turn-taking, replies, tools and barge-in.

No ML: user speech is found with an energy VAD and echoed back at 24 kHz, text gets a scripted
or `You said: ...` reply (text parts, or a synthesized tone voice), declared functions named in
the user's words are called, and new user activity during generation interrupts it (or, with
`NO_INTERRUPTION`, waits its turn: the model answers one turn at a time).
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import trio

from .._wire import (
    Blob,
    ClientContent,
    Content,
    ContextUpdate,
    ExecutableCode,
    FunctionCallPart,
    FunctionDeclaration,
    ModalityTokenCount,
    Part,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    Setup,
    ToolCallCancellationMessage,
    ToolCallMessage,
    ToolResponse,
    Transcription,
    UsageMetadata,
    VoiceActivityMessage,
)
from . import _audio
from ._call_pieces import call_pieces
from ._config import EmulatorConfig
from ._history import add_turn, text_length
from ._lifetime import PendingInput, SessionState, format_duration
from ._scenario import ScenarioCursor, ScenarioToolCall, ScenarioTurn
from ._validate import INVALID_ARGUMENT
from ._window import slide_window

__all__ = ["HEARD_TEXT_CHARS", "PROMPT_OVERHEAD_TOKENS", "Model", "Outlet", "split_text"]

log = logging.getLogger("trio_gemini_live.emulator")

OUTPUT_RATE = 24_000
HEARD_TEXT_CHARS = 64
"""How much of each text `record_heard` keeps."""
PROMPT_OVERHEAD_TOKENS = 507
"""TEXT tokens every prompt counts beyond the context the client gave: Google's own preamble.

Recorded: `promptTokenCount` 515 for the one-line prompt "Hello what should we talk about?"
(8 tokens as the emulator counts text) with no system instruction (two recordings,
live_ML_Dev_should_send_text_in_async_session and ..._send_content_dict_...).
"""
_STOPWORDS = frozenset(
    [
        "get",
        "set",
        "fetch",
        "current",
        "list",
        "do",
        "call",
        "run",
        "make",
        "find",
        "lookup",
        "look",
        "up",
        "the",
        "a",
        "an",
        "of",
        "for",
        "to",
        "by",
        "and",
        "or",
        "is",
        "in",
        "on",
    ]
)


class Outlet(Protocol):
    """What the model needs from its connection."""

    async def send(self, message: ServerMessage) -> None:
        """Send one server message (faults and recording are the connection's business)."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close the connection with a code and reason."""
        ...

    async def resumption_update(self, resumable: bool) -> None:
        """Send a `sessionResumptionUpdate` if the client asked for them."""
        ...

    def stalled(self) -> bool:
        """Whether the `stall` fault is active."""
        ...


def split_text(text: str, limit: int = 60) -> list[str]:
    """Split text into stream fragments: the first word alone, then chunks up to `limit`.

    A word longer than `limit` is cut into `limit`-character pieces, as a tokenizer would:
    whole, a megabyte without a space made one frame past the 1 MiB a client accepts
    (protocol.md section 8.5; google-genai's `websockets` default closes with 1009).
    """
    words = [
        piece[i : i + limit]
        for piece in re.findall(r"\s*\S+\s*", text)
        for i in range(0, len(piece), limit)
    ]
    if not words:
        return [text] if text else []
    parts = [words[0]]
    current = ""
    for word in words[1:]:
        if current and len(current) + len(word) > limit:
            parts.append(current)
            current = ""
        current += word
    if current:
        parts.append(current)
    return parts


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return [w for w in spaced.lower().split() if w not in _STOPWORDS]


_ARGUMENT_LIMIT = 1000
"""Characters of the user's words a call's argument takes at most: a model's argument is a
phrase, and the whole of a megabyte of input made a `toolCall` (and the half-cascade's
`executableCode`) frame past the 1 MiB a client accepts (protocol.md section 8.5)."""


def _subject(text: str) -> str:
    """What the user asked about: the words after "in", "for", ... (or all), cut short."""
    match = re.search(r"\b(?:in|for|of|about|at)\s+(.+)$", text.strip(), re.IGNORECASE)
    return (match.group(1) if match else text).strip().rstrip("?.!")[:_ARGUMENT_LIMIT]


@dataclass
class _Call:
    name: str
    blocking: bool
    generation: _Generation | None
    # The scenario turn that made the call: its `after_tool` is the reply to the response,
    # also when that comes later, as a turn of its own (a NON_BLOCKING call).
    scripted: ScenarioTurn | None = None


@dataclass
class _Generation:
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    done: trio.Event = field(default_factory=trio.Event)
    tools_answered: trio.Event = field(default_factory=trio.Event)
    waiting_ids: set[str] = field(default_factory=set[str])
    # By call id, as they come: the reply renders them in the order of the calls (the
    # placeholders of `after_tool` are the first call's), whatever order they came in.
    responses: dict[str, tuple[str, dict[str, Any]]] = field(
        default_factory=dict[str, tuple[str, dict[str, Any]]]
    )
    completed: bool = False


@dataclass
class _UserTurn:
    text: str | None = None
    speech16k: bytes | None = None
    tool_results: list[tuple[str, dict[str, Any]]] | None = None
    scripted: ScenarioTurn | None = None  # with `tool_results`: the turn that made the call


_CANCELLED_KEPT = 64
"""How many call ids cancelled by barge-ins a session's model remembers (responses to them
are ignored rather than refused)."""


class Model:
    """One session's model. The connection feeds it client messages in order."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        setup: Setup,
        model_id: str,
        vertex: bool,
        session: SessionState,
        outlet: Outlet,
        nursery: trio.Nursery,
    ) -> None:
        self.config = config
        self.model_id = model_id
        self.vertex = vertex
        self.session = session
        self._out = outlet
        self._nursery = nursery
        gen_config = setup.generation_config
        modalities = (gen_config.response_modalities if gen_config else None) or ["AUDIO"]
        self.modality = modalities[0].upper()
        rt = setup.realtime_input_config
        aad = rt.automatic_activity_detection if rt else None
        self.aad_enabled = not (aad and aad.disabled)
        self.interrupts = not (rt and rt.activity_handling == "NO_INTERRUPTION")
        silence = aad.silence_duration_ms if aad and aad.silence_duration_ms else None
        self.vad = _audio.EnergyVad(
            threshold=config.vad_threshold,
            silence_ms=silence or config.silence_duration_ms,
            prefix_ms=(aad.prefix_padding_ms or 20) if aad else 20,
            max_utterance_ms=config.max_utterance_ms,
        )
        self.input_transcription = setup.input_audio_transcription is not None
        self.output_transcription = setup.output_audio_transcription is not None
        self.system_instruction = setup.system_instruction
        self._compression = setup.context_window_compression
        self.functions: dict[str, FunctionDeclaration] = {}
        self._set_tools(setup)
        self.combine_parts = config.combines_parts(model_id)
        self.half_cascade = "native-audio" not in model_id and not model_id.startswith("gemini-3")
        # Vertex half-cascade models label their 24 kHz reply audio plain `audio/pcm`
        # (recorded, protocol.md sections 3.2 and 4.1); the others state the rate.
        plain = vertex and self.half_cascade
        self._audio_mime = "audio/pcm" if plain else f"audio/pcm;rate={OUTPUT_RATE}"
        self.rejects_mid_session_content = model_id.startswith("gemini-3")
        history_config = setup.history_config
        self._history_phase = bool(
            history_config and history_config.initial_history_in_client_content
        )
        # The used turns are the session's: a turn used before a reconnection stays used.
        self._cursor = ScenarioCursor(config.scenario, session.scenario_used)
        self._manual_active = False
        # 32 bytes a ms: 16 kHz 16-bit mono, what `_on_audio` is given.
        self._manual_audio = _audio.HeldAudio(config.max_utterance_ms * _audio.VAD_RATE // 500)
        # The incoming audio is one stream, each message a piece of it: resampled message by
        # message it lost a fraction of a sample at each (`Resampler`).
        self._resampler = _audio.Resampler(_audio.VAD_RATE, _audio.VAD_RATE)
        self._gen: _Generation | None = None
        self._pending: dict[str, _Call] = {}
        # Calls a barge-in cancelled, newest last: a response to one may cross the
        # `toolCallCancellation` on the wire, which is no error of the client's.
        self._cancelled: dict[str, None] = {}
        # Turns that arrived while the model was answering and did not interrupt it (user
        # turns under NO_INTERRUPTION, WHEN_IDLE tool results): answered in arrival order,
        # each after the previous turn's turnComplete, so that two answers never interleave.
        self._queue: deque[_UserTurn] = deque()
        # With `record_heard`: the 16 kHz length of each audio message recorded in
        # `session.heard` on this connection, to tell which of them are still pending input.
        self._heard_sizes: list[int] | None = [] if session.heard is not None else None

    # --- state ------------------------------------------------------------------------------

    def pending_input(self) -> PendingInput:
        """The user input consumed but not yet part of a turn (kept with a handle)."""
        vad_audio = self.vad.pending_audio()
        manual_audio = self._manual_audio.peek()
        return PendingInput(
            vad_audio=vad_audio,
            manual_active=self._manual_active,
            manual_audio=manual_audio,
            heard=self._pending_heard(len(vad_audio) + len(manual_audio)),
        )

    def _pending_heard(self, pending_bytes: int) -> tuple[tuple[bytes | str, int], ...]:
        """The entries of `session.heard` from the first whose audio is pending on."""
        sizes, heard = self._heard_sizes, self.session.heard
        if sizes is None or heard is None:
            return ()
        # The pending input is always the newest audio taken in (the VAD's buffers and an
        # open activity only ever hold a suffix of it), so its messages are the last ones.
        count = covered = 0
        while covered < pending_bytes and count < len(sizes):
            count += 1
            covered += sizes[-count]
        if not count:
            return ()
        return tuple(zip(heard[-count:], sizes[-count:], strict=True))

    def restore_input(self, pending: PendingInput) -> None:
        """Take back the input a handle kept: the utterance continues on this connection."""
        # Its start was reported on the old connection: what the detector finds again is
        # not reported twice.
        self.vad.feed(pending.vad_audio)
        self._manual_active = pending.manual_active
        self._manual_audio.clear()
        self._manual_audio.append(pending.manual_audio)
        if self._heard_sizes is not None and self.session.heard is not None:
            for fingerprint, size in pending.heard:
                self.session.heard.append(fingerprint)
                self._heard_sizes.append(size)

    @property
    def generating(self) -> bool:
        """Whether a model turn is in progress or waiting (handles are not resumable then)."""
        # A handle issued with a turn still waiting would promise state whose answer is lost.
        return self._gen is not None or bool(self._queue)

    @property
    def pending_calls(self) -> bool:
        """Whether a function call awaits its response."""
        return bool(self._pending)

    def _set_tools(self, setup: Setup | None, tools: list[Any] | None = None) -> None:
        declared = tools if tools is not None else (setup.tools if setup and setup.tools else [])
        self.functions = {
            d.name: d for tool in declared for d in (tool.function_declarations or []) if d.name
        }

    # --- input ------------------------------------------------------------------------------

    async def on_client_content(self, content: ClientContent) -> None:
        """`clientContent`: history, a text turn, or (any of it) a barge-in."""
        if self._history_phase:
            self._append_history(content)
            if content.turn_complete:
                self._history_phase = False
            return
        if self.rejects_mid_session_content:
            await self._out.close(1007, INVALID_ARGUMENT)
            return
        await self.interrupt()
        said = self._append_history(content)
        if content.turn_complete:
            # "Generate now from the accumulated context" (protocol.md 2.2): the turns may
            # have come in earlier messages with `turnComplete: false`, this one bare. The
            # text of this message's is answered whole; the history keeps only part of it.
            text = said if said is not None else self._last_user_text()
            self._start(_UserTurn(text=text), record=False)

    def _last_user_text(self) -> str:
        return next(
            (
                str(t["text"])
                for t in reversed(self.session.history)
                if t["role"] != "model" and t.get("text")
            ),
            "",
        )

    def _append_history(self, content: ClientContent) -> str | None:
        """Add the turns to the history; return the text of the last that is the user's.

        Whole, as `_last_user_text` would find it in them; None if none of them has one.
        """
        said: str | None = None
        for turn in content.turns or []:
            text = "".join(p.text or "" for p in turn.parts)
            role = turn.role or "user"
            add_turn(self.session.history, role, text)
            self._hear_text(text)
            if role != "model" and text:
                said = text
        return said

    def _hear_text(self, text: str) -> None:
        """Record text taken into the state (with `record_heard`), as it goes in."""
        if self._heard_sizes is not None and self.session.heard is not None:
            self.session.heard.append(text[:HEARD_TEXT_CHARS])
            # No audio: counted in no pending input, though after pending audio its entry
            # travels with that audio's (the record's order is kept).
            self._heard_sizes.append(0)

    async def on_realtime_input(self, rt: RealtimeInput) -> None:
        """`realtimeInput`: audio, text, activity signals; several may share one message."""
        signals = rt.activity_start is not None or rt.activity_end is not None
        if signals and self.aad_enabled:
            await self._out.close(1007, INVALID_ARGUMENT)
            return
        blobs = [b for b in (rt.audio, *(rt.media_chunks or [])[:1]) if b is not None]
        audio: list[tuple[bytes, int]] = []
        for blob in blobs:
            # MIME types ignore case (RFC 2045): `AUDIO/PCM;RATE=16000` is audio too.
            if blob.mime_type.lower().startswith("audio/") or not blob.mime_type:
                rate = _audio.rate_from_mime(blob.mime_type)
                if rate is None:
                    # Google's answer to an unusable rate is not documented: refuse the
                    # request as it refuses other bad arguments (and never divide by 0,
                    # nor make minutes of audio of a few bytes at `rate=1`).
                    await self._out.close(1007, INVALID_ARGUMENT)
                    return
                audio.append((blob.data, rate))
        if rt.activity_start is not None:
            if self.interrupts:
                await self.interrupt()
            self._manual_active = True
            self._manual_audio.clear()
        for data, rate in audio:
            if rate != self._resampler.src_rate:
                self._resampler = _audio.Resampler(rate, _audio.VAD_RATE)  # another stream
            pcm16k = await self._resampler.feed(data)
            if self._heard_sizes is not None and self.session.heard is not None:
                # Recorded in the same step as `_on_audio` feeds it (no checkpoint between),
                # so a handle never sees the one without the other.
                self.session.heard.append(bytes(data[:4]))
                self._heard_sizes.append(len(pcm16k))
            await self._on_audio(pcm16k)
        if rt.text:
            if self.interrupts:
                await self.interrupt()
            # Recorded as the turn (and its history entry) is made, not before: a handle
            # issued during the interruption above has not heard it.
            self._hear_text(rt.text)
            self._start(_UserTurn(text=rt.text))
        if rt.audio_stream_end:
            # The audio after it is another stream, not to be interpolated into this one.
            # What `flush` would give is the last sample held, no audio the client sent.
            self._resampler.flush()
        if rt.audio_stream_end and self.aad_enabled and self.vad.in_speech:
            await self._voice_activity("ACTIVITY_END", self.vad.speech_end_s)
            self._start(_UserTurn(speech16k=self.vad.flush()))
        if rt.activity_end is not None and self._manual_active:
            self._manual_active = False
            self._start(_UserTurn(speech16k=self._manual_audio.take()))

    async def _on_audio(self, pcm16k: bytes) -> None:
        if not self.aad_enabled:
            if self._manual_active:
                self._manual_audio.append(pcm16k)
            return
        # In steps, so a large message does not hold the other connections: no handle is
        # issued while a message is processed, so none sees it weighed in part.
        for result in await self.vad.feed_in_steps(pcm16k):
            if result.started:
                await self._voice_activity("ACTIVITY_START", result.offset_s)
                if self.interrupts:
                    await self.interrupt()
            if result.speech is not None:
                await self._voice_activity("ACTIVITY_END", result.offset_s)
                self._start(_UserTurn(speech16k=result.speech))

    async def _voice_activity(self, kind: str, offset_s: float) -> None:
        # Only on request: the Gemini API is reported never to send these (protocol.md 3.8).
        if self.config.voice_activity:
            activity = VoiceActivityMessage(
                voice_activity_type=kind, audio_offset=format_duration(offset_s)
            )
            await self._out.send(ServerMessage(voice_activity=activity))

    async def on_tool_response(self, response: ToolResponse) -> None:
        """`toolResponse`: resume BLOCKING turns; speak NON_BLOCKING results."""
        for fr in response.function_responses:
            call_id = fr.id
            if call_id is None and self.vertex:
                call_id = next((k for k, c in self._pending.items() if c.name == fr.name), None)
            call = self._pending.get(call_id) if call_id else None
            if call is not None and call.blocking and fr.will_continue:
                # `willContinue` is for NON_BLOCKING calls (protocol.md 2.4): refused at
                # once, rather than settling the call and refusing the next response.
                reason = f"{INVALID_ARGUMENT} willContinue for BLOCKING function {call.name!r}."
                await self._out.close(1007, reason)
                return
            if call is not None and call_id and (call.blocking or not fr.will_continue):
                # A NON_BLOCKING call answered with `willContinue` gets more responses: it
                # stays pending (the next one was refused as for an unknown id, 1007).
                del self._pending[call_id]
            if call is None or call_id is None:
                if call_id in self._cancelled:
                    continue  # answered as it was cancelled: nothing waits for it now
                if self.config.reject_unknown_tool_responses:
                    await self._out.close(1007, INVALID_ARGUMENT)
                    return
                continue
            gen = call.generation
            if call.blocking and gen is not None:
                gen.responses[call_id] = (call.name, fr.response or {})
                gen.waiting_ids.discard(call_id)
                if not gen.waiting_ids:
                    gen.tools_answered.set()
                continue
            add_turn(self.session.history, "user", json.dumps(fr.response))
            scheduling = (fr.scheduling or "WHEN_IDLE").upper()
            if scheduling == "SILENT":
                continue
            if scheduling == "INTERRUPT":
                await self.interrupt()
            results = [(call.name, fr.response or {})]
            self._start(_UserTurn(tool_results=results, scripted=call.scripted), record=False)

    def on_context_update(self, update: ContextUpdate) -> None:
        """`contextUpdate`: replace the system instruction and/or tools."""
        if update.system_instruction is not None:
            self.system_instruction = update.system_instruction
        if update.tools is not None:
            self._set_tools(None, update.tools.tools)

    # --- barge-in -----------------------------------------------------------------------------

    async def interrupt(self) -> None:
        """Cut the current turn: `interrupted`, cancel pending calls, `turnComplete`.

        Then the first waiting turn, if any, starts.
        """
        gen = self._gen
        if gen is None:
            return
        gen.scope.cancel()
        await gen.done.wait()
        if gen.completed:
            return
        await self._send(ServerContent(interrupted=True))
        cancelled = [k for k, c in self._pending.items() if c.generation is gen]
        for k in cancelled:
            del self._pending[k]
            self._cancelled[k] = None
        while len(self._cancelled) > _CANCELLED_KEPT:
            del self._cancelled[next(iter(self._cancelled))]
        if cancelled:
            await self._out.send(
                ServerMessage(tool_call_cancellation=ToolCallCancellationMessage(ids=cancelled))
            )
        await self._send(ServerContent(turn_complete=True))
        await self._out.resumption_update(not self._pending)
        self._next()

    # --- generation -------------------------------------------------------------------------

    def _start(self, turn: _UserTurn, *, record: bool = True) -> None:
        """Answer `turn` now if the model is free, else after the turns already waiting."""
        if record and turn.text is not None:
            add_turn(self.session.history, "user", turn.text)
        if len(self._queue) >= self.config.max_queued_turns:
            # Bounded, so a client flooding turns during one answer cannot grow memory without
            # end; the newest input wins, as its answer is the one the user waits for.
            self._queue.popleft()
            log.warning(
                "more than %d turns waiting for the model: the oldest is dropped unanswered",
                self.config.max_queued_turns,
            )
        self._queue.append(turn)
        self._next()

    def _next(self) -> bool:
        """Start the first waiting turn if no turn is running; return whether one started."""
        if self._gen is not None or not self._queue:
            return False
        gen = _Generation()
        self._gen = gen
        self._nursery.start_soon(self._run, gen, self._queue.popleft())
        return True

    async def _run(self, gen: _Generation, turn: _UserTurn) -> None:
        try:
            with gen.scope:
                await self._turn(gen, turn)
        finally:
            if self._gen is gen:
                self._gen = None
            gen.done.set()
        # No checkpoint since `_gen` was cleared, so no other turn can have started meanwhile.
        # A waiting turn starts at once (its own update says "not resumable"); otherwise the
        # model is idle and a handle can be issued.
        if gen.completed and not self._next():
            await self._out.resumption_update(not self._pending)

    async def _send(self, content: ServerContent, usage: UsageMetadata | None = None) -> None:
        await self._out.send(ServerMessage(server_content=content, usage_metadata=usage))

    async def _turn(self, gen: _Generation, turn: _UserTurn) -> None:
        await self._out.resumption_update(False)
        scripted: ScenarioTurn | None
        echo: bytes | None = None
        if turn.speech16k == b"":
            # An activity with no audio in it (`activityStart` then `activityEnd`): the
            # user's turn ended, saying nothing. Nothing is heard, so nothing is
            # transcribed or echoed (an echo of it was an audio part holding no data).
            scripted = self._cursor.next_turn("")
            user_text = ""
        elif turn.speech16k is not None:
            # `when` is matched against the transcript this turn is heard as, as in a text
            # turn against its text: a scripted turn's own, else the configured one.
            scripted = self._cursor.next_spoken_turn(self.config.input_transcript)
            heard = (
                scripted.input_transcript if scripted else None
            ) or self.config.input_transcript
            add_turn(
                self.session.history,
                "user",
                heard,
                audio_s=_audio.duration_s(len(turn.speech16k), 16000),
            )
            if self.input_transcription:
                fragments = split_text(heard)
                for i, fragment in enumerate(fragments):
                    await self._send_transcription(
                        fragment, last=i == len(fragments) - 1, user=True
                    )
            if scripted is None or scripted.reply is None:
                echo = await _audio.resample_in_steps(turn.speech16k, _audio.VAD_RATE, OUTPUT_RATE)
            user_text = heard
        elif turn.tool_results is not None:
            scripted = None
            user_text = ""
        else:
            user_text = turn.text or ""
            scripted = self._cursor.next_turn(user_text)
        # Counted once this turn's input is in the history: the prompt is what the answer is
        # generated from, the speech being answered included.
        prompt_tokens = self._prompt_tokens()
        if self._out.stalled():
            await trio.sleep_forever()
        for part in scripted.parts if scripted is not None else ():
            await self._send(ServerContent(model_turn=self._content([part])))

        reply: str | None = None
        if turn.tool_results is not None:
            reply = self._after_tool_text(turn.scripted, turn.tool_results)
        else:
            calls = self._choose_calls(user_text, scripted)
            if calls:
                results = await self._call_tools(gen, calls, scripted)
                if results is not None:
                    # The calls come first, then the reply (`ScenarioTurn.tool_calls`): a
                    # scripted reply is said once the responses are in, before what the
                    # model says of them, so that neither is lost.
                    said = scripted.reply if scripted is not None else None
                    after = self._after_tool_text(scripted, results)
                    reply = " ".join(text for text in (said, after) if text)
                    echo = None
                elif scripted is None or scripted.reply is None:
                    reply = "OK, I am working on it."
                    echo = None
            if reply is None:
                if scripted is not None and scripted.reply is not None:
                    reply = scripted.reply
                elif echo is not None and self.modality == "AUDIO":
                    reply = self.config.output_transcript or user_text
                else:
                    reply = f"You said: {user_text}"
        assert reply is not None
        response_tokens, audio_s = await self._speak(reply, echo)
        await self._send(ServerContent(generation_complete=True))
        if self.config.wait_for_playback and audio_s > 0:
            await trio.sleep(max(0.0, self._playback_end - trio.current_time()))
        usage = self._usage(prompt_tokens, response_tokens)
        await self._send(ServerContent(turn_complete=True), usage)
        # Complete only once `turnComplete` is out: a barge-in that cancels its send (which
        # waits for the connection's send lock, or writes the `empty-frames` before it) is
        # answered by `interrupt` with `interrupted` and a `turnComplete` of its own. No
        # checkpoint between the write and here, so the turn never ends twice.
        gen.completed = True
        add_turn(self.session.history, "model", reply, audio_s=audio_s)
        slide_window(
            self.session.history,
            self._compression,
            lambda turn: self._history_tokens(turn)[1],
        )

    def _choose_calls(self, text: str, scripted: ScenarioTurn | None) -> list[ScenarioToolCall]:
        if scripted is not None and scripted.tool_calls:
            return list(scripted.tool_calls)
        if scripted is not None and scripted.reply is not None:
            return []
        lowered = text.lower()
        words = set(re.findall(r"[a-z0-9]+", lowered))
        calls: list[ScenarioToolCall] = []
        for name, decl in self.functions.items():
            keys = _name_words(name)
            if name.lower() in lowered or (keys and all(k in words for k in keys)):
                calls.append(ScenarioToolCall(name, self._default_args(decl, text)))
        return calls

    @staticmethod
    def _default_args(decl: FunctionDeclaration, text: str) -> dict[str, Any]:
        schema = _as_dict(decl.parameters or decl.parameters_json_schema)
        props = _as_dict(schema.get("properties"))
        required: Any = schema.get("required")
        names = (
            [str(n) for n in cast("Iterable[Any]", required)] if isinstance(required, list) else []
        )
        defaults: dict[str, Any] = {"INTEGER": 0, "NUMBER": 0, "BOOLEAN": False}
        args: dict[str, Any] = {}
        for pname in names:
            kind = str(_as_dict(props.get(pname)).get("type", "STRING")).upper()
            args[pname] = defaults.get(kind, {} if kind == "OBJECT" else _subject(text))
        return args

    def _new_call_id(self) -> str:
        if self.vertex:
            return str(uuid.uuid4())
        return f"function-call-{secrets.randbits(63)}"

    async def _call_tools(
        self,
        gen: _Generation,
        calls: list[ScenarioToolCall],
        scripted: ScenarioTurn | None,
    ) -> list[tuple[str, dict[str, Any]]] | None:
        """Emit `toolCall`; return the responses of BLOCKING calls (None if none block).

        In the order of the calls, not of the responses: `after_tool`'s placeholders are
        the first call's, and a client may answer the calls in any order.
        """
        if self.half_cascade:
            code = "\n".join(
                f"print(default_api.{c.name}({', '.join(f'{k}={v!r}' for k, v in c.args.items())}))"
                for c in calls
            )
            part = Part(executable_code=ExecutableCode(language="PYTHON", code=code))
            await self._send(ServerContent(model_turn=self._content([part])))
        parts: list[FunctionCallPart] = []
        streamed: list[FunctionCallPart] = []  # each piece a toolCall of its own
        blocking_ids: list[str] = []  # in the order of the calls
        for call in calls:
            call_id = self._new_call_id()
            decl = self.functions.get(call.name)
            blocking = not (decl and (decl.behavior or "").upper() == "NON_BLOCKING")
            self._pending[call_id] = _Call(call.name, blocking, gen if blocking else None, scripted)
            if blocking:
                gen.waiting_ids.add(call_id)
                blocking_ids.append(call_id)
            if call.stream and self.vertex:
                # Vertex only: the Gemini API has no `partialArgs` nor `willContinue`
                # (`VERTEX_ONLY_FIELDS`), so there the call comes whole.
                streamed += call_pieces(call_id, call.name, dict(call.args))
            else:
                parts.append(FunctionCallPart(name=call.name, args=dict(call.args), id=call_id))
        if parts:
            await self._out.send(ServerMessage(tool_call=ToolCallMessage(function_calls=parts)))
        for piece in streamed:
            await self._out.send(ServerMessage(tool_call=ToolCallMessage(function_calls=[piece])))
        if not gen.waiting_ids:
            return None
        if self.vertex:
            # Vertex recordings show `generationComplete` right after a `toolCall`
            # (protocol.md section 3.3): generation stops there until the responses come.
            await self._send(ServerContent(generation_complete=True))
        await self._out.resumption_update(False)
        await gen.tools_answered.wait()
        return [gen.responses[call_id] for call_id in blocking_ids]

    @staticmethod
    def _after_tool_text(
        scripted: ScenarioTurn | None, results: list[tuple[str, dict[str, Any]]]
    ) -> str:
        name, response = results[0] if results else ("", {})
        rendered = json.dumps(response, sort_keys=True)
        if scripted is not None and scripted.after_tool is not None:
            return scripted.after_tool.replace("{name}", name).replace("{response}", rendered)
        return " ".join(f"{n} returned {json.dumps(r, sort_keys=True)}." for n, r in results)

    def _content(self, parts: list[Part]) -> Content:
        return Content(parts=parts, role="model" if self.vertex else None)

    async def _send_transcription(self, text: str, *, last: bool, user: bool) -> None:
        # `finished` marks the end of the user's transcript on Vertex only: the Gemini API
        # is reported never to send it (js-genai #1429), so a client must not wait for it.
        tr = Transcription(text=text, finished=last and user and self.vertex)
        content = (
            ServerContent(input_transcription=tr)
            if user
            else ServerContent(output_transcription=tr)
        )
        await self._send(content)

    async def _speak(self, text: str, echo24k: bytes | None) -> tuple[int, float]:
        """Stream the reply; return (response tokens, seconds of audio)."""
        if self.modality == "TEXT":
            fragments = split_text(text)
            # 3.1 style puts several parts in one event; two per event shows it is a list.
            step = 2 if self.combine_parts else 1
            for start in range(0, len(fragments), step):
                parts = [Part(text=f) for f in fragments[start : start + step]]
                await self._send(ServerContent(model_turn=self._content(parts)))
            return _audio.text_tokens(text), 0.0
        # Each chunk is cut (or, for a text, made) as it is sent: a long reply is never
        # held whole, nor copied into chunks all at once (`SpokenText`).
        audio: bytes | _audio.SpokenText = (
            echo24k
            if echo24k is not None
            else _audio.SpokenText(text, ms_per_char=self.config.text_ms_per_char, rate=OUTPUT_RATE)
        )
        chunk_bytes = OUTPUT_RATE * 2 * self.config.audio_chunk_ms // 1000
        count = max(1, -(-len(audio) // chunk_bytes))  # one empty chunk for no audio
        fragments = split_text(text, 24) if self.output_transcription or self.combine_parts else []
        chunk_s = self.config.audio_chunk_ms / 1000
        factor = self.config.pacing_factor()
        self._playback_end = trio.current_time() + _audio.duration_s(len(audio), OUTPUT_RATE)
        sent_fragments = 0
        for i in range(count):
            if i:
                if factor:
                    await trio.sleep(chunk_s * factor)
                else:
                    # Whatever the outlet does, a reply of hours of audio lets the other
                    # connections run between its chunks.
                    await trio.lowlevel.checkpoint()
            chunk = audio[i * chunk_bytes : (i + 1) * chunk_bytes]
            blob_part = Part(inline_data=Blob(data=chunk, mime_type=self._audio_mime))
            due = math.ceil((i + 1) * len(fragments) / count)
            spoken = fragments[sent_fragments:due]
            sent_fragments = due
            if self.combine_parts:
                await self._send(self._combined(blob_part, "".join(spoken)))
                continue
            await self._send(ServerContent(model_turn=self._content([blob_part])))
            for fragment in spoken:
                await self._send_transcription(fragment, last=False, user=False)
        seconds = _audio.duration_s(len(audio), OUTPUT_RATE)
        return _audio.audio_tokens(seconds), seconds

    _playback_end: float = 0.0

    def _combined(self, blob_part: Part, said: str) -> ServerContent:
        """A 3.1-style event: the audio chunk, the text it speaks and its transcription."""
        if not said:
            return ServerContent(model_turn=self._content([blob_part]))
        transcription = Transcription(text=said) if self.output_transcription else None
        return ServerContent(
            model_turn=self._content([blob_part, Part(text=said)]),
            output_transcription=transcription,
        )

    def _prompt_tokens(self) -> dict[str, int]:
        """The context's tokens by modality, TEXT first (`promptTokensDetails` order)."""
        counts = {"TEXT": PROMPT_OVERHEAD_TOKENS, "AUDIO": 0}
        if self.system_instruction is not None:
            counts["TEXT"] += _audio.text_tokens(
                "".join(p.text or "" for p in self.system_instruction.parts)
            )
        for turn in self.session.history:
            modality, tokens = self._history_tokens(turn)
            counts[modality] += tokens
        return counts

    def _history_tokens(self, turn: dict[str, Any]) -> tuple[str, int]:
        """What one history turn adds to the prompt, counted like its response once was."""
        audio_s = float(turn.get("audio_s", 0.0))
        # Speech is audio in the context (its transcript is a side output, not the prompt);
        # a half-cascade model's own answers are text it spoke with TTS.
        spoken = audio_s > 0 and not (turn.get("role") == "model" and self.half_cascade)
        if spoken:
            return "AUDIO", _audio.audio_tokens(audio_s)
        # Counted from the text as said: the history may keep only part of it.
        return "TEXT", _audio.text_tokens_of_length(text_length(turn))

    def _usage(self, prompt_counts: dict[str, int], response: int) -> UsageMetadata:
        prompt = sum(prompt_counts.values())
        # A half-cascade model writes text and speaks it with TTS: Google counts its response
        # tokens as TEXT even when it answers in audio (recording
        # live_ML_Dev_should_send_text_in_async_session). Native audio models count AUDIO.
        audio = self.modality == "AUDIO" and not self.half_cascade
        modality = "AUDIO" if audio else "TEXT"
        # One entry per modality the context holds, like Google's (protocol.md 3.7).
        prompt_details = [
            ModalityTokenCount(modality=m, token_count=n) for m, n in prompt_counts.items() if n
        ] or [ModalityTokenCount(modality="TEXT")]
        response_details = [ModalityTokenCount(modality=modality, token_count=response)]
        if self.vertex:
            return UsageMetadata(
                prompt_token_count=prompt,
                candidates_token_count=response,
                total_token_count=prompt + response,
                prompt_tokens_details=prompt_details,
                candidates_tokens_details=response_details,
            )
        return UsageMetadata(
            prompt_token_count=prompt,
            response_token_count=response,
            total_token_count=prompt + response,
            prompt_tokens_details=prompt_details,
            response_tokens_details=response_details,
        )


def _as_dict(value: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}
