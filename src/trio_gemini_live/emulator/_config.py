"""EmulatorConfig: every knob of the local Live API emulator, with Google-like defaults.

Kept free of I/O so the CLI, tests and benchmarks build the same frozen value; the model
catalogue and prebuilt voice list used for validation live here as well.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from ._lifetime import HANDLES_PER_SESSION

if TYPE_CHECKING:
    from ._faults import Fault
    from ._scenario import Scenario

__all__ = [
    "DEADLINE_EXPIRED",
    "DEFAULT_MODELS",
    "GO_AWAY_WARNING",
    "MAX_AUDIO_CHUNK_MS",
    "PREBUILT_VOICES",
    "EmulatorConfig",
    "FirstHandle",
    "Pacing",
    "check_collection",
    "sendable_close_code",
]

Pacing = Literal["burst", "realtime"] | float
"""How fast reply audio goes out.

`"burst"` sends chunks back to back (faster than real time, like Google), `"realtime"` waits
one chunk duration between chunks, and a float `f` waits `f` chunk durations (so `2.0` is twice
slower than real time, `0.5` twice faster).
"""

FirstHandle = Literal["setup", "turn"]
"""When a connection's first `sessionResumptionUpdate` comes (`EmulatorConfig.first_handle`)."""

DEADLINE_EXPIRED = "Deadline expired before operation could complete."
"""Google's 1011 reason at a deadline (protocol.md sections 3.5 and 4.4)."""

DEFAULT_MODELS: tuple[str, ...] = (
    "gemini-2.5-flash-native-audio-preview-12-2025",
    "gemini-2.5-flash-native-audio-preview-09-2025",
    "gemini-2.5-flash-native-audio-latest",
    "gemini-live-2.5-flash-preview",
    "gemini-live-2.5-flash",
    "gemini-2.0-flash-live-001",
    "gemini-3.1-flash-live-preview",
)
"""The model ids the emulator knows by default (add more with `EmulatorConfig.models`)."""

GO_AWAY_WARNING = 50.0
"""Google's `goAway` warning, in seconds before a connection's deadline."""

MAX_AUDIO_CHUNK_MS = 1000
"""The longest reply audio chunk, in ms: 48 KB of 24 kHz PCM in one frame."""


def sendable_close_code(code: int) -> bool:
    """Whether a close frame may carry `code`: 1000-4999 but the reserved 1005/1006/1015."""
    # RFC 6455 7.4.1: 1005, 1006 and 1015 are only ever reported locally, never sent.
    return 1000 <= code <= 4999 and code not in (1005, 1006, 1015)


# Google's documented prebuilt voices; an unknown name closes the session with 1007.
PREBUILT_VOICES: frozenset[str] = frozenset(
    name.lower()
    for name in [
        "Zephyr",
        "Puck",
        "Charon",
        "Kore",
        "Fenrir",
        "Leda",
        "Orus",
        "Aoede",
        "Callirrhoe",
        "Autonoe",
        "Enceladus",
        "Iapetus",
        "Umbriel",
        "Algieba",
        "Despina",
        "Erinome",
        "Algenib",
        "Rasalgethi",
        "Laomedeia",
        "Achernar",
        "Alnilam",
        "Schedar",
        "Gacrux",
        "Pulcherrima",
        "Achird",
        "Zubenelgenubi",
        "Vindemiatrix",
        "Sadachbia",
        "Sadaltager",
        "Sulafat",
    ]
)
"""Google's prebuilt voice names, lower-cased; an unknown voice is closed with 1007."""


def api_key_problem(key: str) -> str | None:
    """Why no client could send `key` (empty, or white space at either end), or None.

    The emulator strips a credential's header value and takes an empty one as none
    (`extract_credential`), so such a key would refuse every connection. The words never
    show the key: it is a secret.
    """
    if not key.strip():
        return "is empty (no client could send it)"
    if key != key.strip():
        return "starts or ends with white space (a header's value is stripped: none would match)"
    return None


def check_collection(
    config: object,
    name: str,
    kind: type,
    make: Callable[[Iterable[Any]], Any],
    item_problem: Callable[[Any], str | None] | None = None,
) -> None:
    """Check a collection field of `config` and store it as `make` builds it (a list is fine).

    Why: a single value where a collection belongs was taken as one. `api_keys="test-key"`
    or `models=("my-model")` (the comma forgotten) is a `str`, so `key in config.api_keys`
    accepted every substring of it ("t", "-") as a key, or as a model; a lone `Fault`
    failed inside each connection's handler instead (so did a lone `ScenarioTurn`).
    `item_problem` says what is wrong with an item of the right type, if anything: the
    item is then named by its position as given.
    """
    value = getattr(config, name)
    secret = name == "api_keys"  # its values are never shown, as in the repr
    if value is None and secret:
        return
    if isinstance(value, str | bytes | kind) or not isinstance(value, Iterable):
        shown = type(value).__name__ if secret else repr(value)
        hint = "; give a single one as a one-item tuple" if isinstance(value, str | kind) else ""
        raise ValueError(f"{name} must be a collection of {kind.__name__}, not {shown}{hint}")
    items = tuple(cast("Iterable[object]", value))
    for item in items:
        if not isinstance(item, kind):
            shown = type(item).__name__ if secret else repr(item)
            raise ValueError(f"{name} must hold {kind.__name__} items, not {shown}")
    for position, item in enumerate(items):
        if item_problem is not None and (problem := item_problem(item)):
            raise ValueError(f"{name}[{position}] {problem}")
    object.__setattr__(config, name, make(items))


_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "bool": ((bool,), "a bool"),
    "int": ((int,), "a whole number"),
    "number": ((int, float), "a number"),
    "str": ((str,), "a str"),
}


def _check_type(value: object, name: str, kind: str, *, none: str | None = None) -> None:
    """Refuse a field value that is not of `kind` (`_KINDS`), naming the field.

    `none`, if given, says what None means (None is then allowed). Why: a value of the
    wrong type (`lifetime="10"`) failed later with a bare TypeError from a comparison deep
    inside, naming neither the field nor the value; `True` passed for a count of 1, and
    NaN for a number made every comparison false.
    """
    if value is None and none is not None:
        return
    types, what = _KINDS[kind]
    wrong = not isinstance(value, types) or (isinstance(value, bool) and kind != "bool")
    if wrong or (isinstance(value, float) and math.isnan(value)):
        alternative = f" (or None {none})" if none is not None else ""
        raise ValueError(
            f"{name} must be {what}{alternative}, not {type(value).__name__} {value!r}"
        )


def check_seconds(value: object, name: str) -> float:
    """`value` as seconds, refused with a `ValueError` naming `name` unless finite and >= 0.

    Why: NaN passed `< 0` checks and failed later inside trio ("deadline must not be NaN"),
    infinity never came, `True` was taken for 1 s, and `"10"` failed with a bare TypeError.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(
            f"{name} must be a finite number of seconds, not {type(value).__name__} {value!r}"
        )
    if value < 0:
        raise ValueError(f"{name} must be >= 0 seconds, got {value}")
    return float(value)


def _check_bound(value: object, name: str, none_keeps: str, least: int = 0) -> None:
    """Refuse a bound on what is kept that is not a whole number >= `least` or None.

    Why the type too: `True` passed for a bound of 1 and `2.5` was used as if whole;
    neither says what the caller meant.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"{name} must be a whole number >= {least} (or None to keep {none_keeps}), "
            f"not {type(value).__name__} {value!r}"
        )
    if value < least:
        raise ValueError(f"{name} must be >= {least} (or None to keep {none_keeps}), got {value}")


# The type of every field that is not a collection (those are `check_collection`'s): None
# allowed where the entry has a meaning for it.
_FIELD_TYPES: dict[str, tuple[str, str | None]] = {
    "require_auth": ("bool", None),
    "strict": ("bool", None),
    "reject_unknown_tool_responses": ("bool", None),
    "audio_chunk_ms": ("int", None),
    "combine_parts": ("bool", "for the model's default"),
    "wait_for_playback": ("bool", None),
    "text_ms_per_char": ("int", None),
    "input_transcript": ("str", None),
    "output_transcript": ("str", "to repeat the input transcript"),
    "silence_duration_ms": ("int", None),
    "vad_threshold": ("number", None),
    "max_utterance_ms": ("int", None),
    "lifetime": ("number", None),
    "go_away_warning": ("number", f"for {GO_AWAY_WARNING:g} s, or the lifetime if shorter"),
    "deadline_close_code": ("int", None),
    "deadline_close_reason": ("str", "for the reason observed with the code"),
    "audio_session_limit": ("number", "for no limit"),
    "video_session_limit": ("number", "for no limit"),
    "session_limit_close_code": ("int", None),
    "session_limit_close_reason": ("str", None),
    "voice_activity": ("bool", None),
    "handle_ttl": ("number", None),
    "handle_refused_close_code": ("int", None),
    "handle_refused_close_reason": ("str", None),
    "vertex": ("bool", None),
    "max_message_size": ("int", None),
    "close_timeout": ("number", None),
    "send_timeout": ("number", "for no limit but the connection's deadline"),
    "wait_timeout": ("number", "to wait without bound"),
    "max_queued_turns": ("int", None),
    "record_heard": ("bool", None),
}
# Fields that must not be negative (their type checked first).
_NOT_NEGATIVE = (
    "text_ms_per_char",
    "silence_duration_ms",
    "vad_threshold",
    "handle_ttl",
)


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """How the emulator behaves. Every field has a default that mimics the real service.

    The collections (`api_keys`, `models`, `extra_paths`, `faults`) may be given as any
    iterable, a list say; a single value (a `str`, one `Fault`) is refused. Every other
    field is checked for its type (a `bool` is not taken for a number, nor NaN) and, where
    it has one, its range: a wrong value raises `ValueError` naming the field.

    Attributes:
        api_keys: Accepted keys or tokens. `None` accepts any non-empty credential. An
            empty key, or one with white space at either end, is a `ValueError`: no
            client could send it.
        require_auth: Close with 1008 when no credential at all is sent.
        models: Known model ids (bare ids; `models/` and Vertex prefixes are accepted).
        strict: Reject unknown JSON fields with 1007, like Google.
        reject_unknown_tool_responses: Close 1007 on a `toolResponse` for an unknown id.
        audio_chunk_ms: Duration of each reply audio chunk (24 kHz PCM), 1 to
            `MAX_AUDIO_CHUNK_MS`.
        pacing: Reply audio pacing, see `Pacing`.
        combine_parts: 3.1-style frames: one `serverContent` carries several `modelTurn` parts
            (an audio chunk plus the text it speaks) and the matching `outputTranscription`.
            `None` (default) turns it on for `gemini-3*` models only, like Google; `False`
            always sends one part per event (2.5 style), `True` combines for every model.
        wait_for_playback: Delay `turnComplete` by the audio duration not yet "played" (the
            real server waits for expected playback time after `generationComplete`).
        text_ms_per_char: Length of synthesized speech per character of reply text.
        input_transcript: Default transcript of user speech (when no scenario says otherwise).
        output_transcript: Default transcript of echoed speech; `None` repeats the input one.
        silence_duration_ms: VAD silence that ends a turn when the setup does not say.
        vad_threshold: RMS level (of 16-bit samples) above which a 20 ms frame is speech.
        max_utterance_ms: Longest utterance the VAD holds: continuous speech is cut there
            and answered as a turn, and what stays loud across the cut is not heard until a
            quiet frame (so continuous noise cannot grow memory without end). With manual
            activity detection, a turn holds the newest `max_utterance_ms` of its audio.
        lifetime: Seconds a connection lives before the server closes it (Google: ~600).
        go_away_warning: Seconds before the deadline that `goAway` is sent, 0 to `lifetime`.
            `None` (default): Google's 50 s (`GO_AWAY_WARNING`), or the whole lifetime if
            that is shorter, so that a short `lifetime` alone is a working config
            (`go_away_seconds`).
        deadline_close_code: Close code at the deadline: 1008 (default) or 1011.
        deadline_close_reason: Close reason at the deadline. `None` (default): the one
            observed with the code (protocol.md section 3.5): none with 1008, `Deadline
            expired before operation could complete.` with 1011 (`deadline_reason`).
        audio_session_limit: Seconds an audio-only session may last, counted from its first
            setup across resumed connections, unless the setup enables
            `contextWindowCompression` (Google: 15 min). `None` disables the limit.
        video_session_limit: The same once the client has sent video (Google: 2 min).
        session_limit_close_code: Close code when a session limit is reached. Google's code
            is not documented anywhere we know of; 1011 is a guess, so it is configurable.
        session_limit_close_reason: Close reason when a session limit is reached (a guess too).
        voice_activity: Send `voiceActivity` `ACTIVITY_START`/`ACTIVITY_END` messages when the
            server VAD detects the start and end of user speech. Off by default: the Gemini
            API is reported never to send them.
        handle_ttl: Seconds a resumption handle stays valid after its session ends.
        handle_refused_close_code: Close code for a resumption handle that is unknown,
            expired or of a session past its limit. Google's is not documented (protocol.md
            section 4.4: probably 1007 or 1008); 1008 is a guess, so it is configurable.
        handle_refused_close_reason: Close reason for a refused handle (a guess too).
        first_handle: When the first `sessionResumptionUpdate` of a connection comes:
            `"setup"` (default) right after `setupComplete`, as emulators do; `"turn"` only
            once the first turn completes, as the real service does (protocol.md section
            3.6), so that a client can be tested against a drop before any handle came.
        vertex: Speak the Vertex dialect on every route (`sessionId`, UUID call ids, ...).
        extra_paths: Additional request paths accepted verbatim (Vertex proxy mode).
        scenario: Scripted replies, see `Scenario`.
        faults: Faults applied to new connections, see `Fault`.
        max_message_size: Largest client message accepted, in bytes.
        close_timeout: Seconds a close may take, more than 0: writing the emulator's close
            frame (behind a frame still being written to a client that reads slowly) and
            waiting for the client's, before dropping TCP.
        send_timeout: Seconds writing one frame may take before the client is taken for
            gone (it reads nothing, its socket buffers are full) and the connection is
            dropped without a close frame (`close_code` 1006, `closed_by` "server"): a
            frame is written whole or not at all, so a write is never cut short otherwise.
            `None` (default): no limit but the connection's own deadline (`lifetime`),
            past which, `close_timeout` later, such a connection is dropped the same way.
            Leaving `open_emulator` drops every connection at once either way.
        wait_timeout: Seconds (trio time) the waits of a test (`Emulator.wait_for_connection`,
            `EmulatorConnection.wait_for_sent`, `wait_for_received`, `wait_closed`) wait at
            most; then they raise `WaitTimeoutError` naming what they waited for. 900 s,
            longer than a default connection lives (600 s), and no real time under an
            autojump clock: a connection or frame that never comes fails the test instead
            of hanging it. A wait that spans more than one connection's life (the third
            connection of a resumed session, from the start) needs more, or `None`: no
            bound. A tighter bound for one
            wait is a cancel scope around it (`trio.fail_after`).
        max_queued_turns: Most turns that may wait for the model while it answers (user turns
            under `activityHandling: NO_INTERRUPTION`, `WHEN_IDLE` tool results); one more
            drops the oldest waiting turn unanswered.
        record_heard: Keep, per session, the first 4 bytes of every realtime audio message
            its model takes in, and the text of each text input (the first 64 characters
            of `realtimeInput.text` and of each `clientContent` turn), in order
            (`EmulatorConnection.session.heard`), snapshotted by each
            resumption handle and restored on resume like the history: what the session's
            model heard, for tests of replay across drops. Off by default (it grows with
            the session).
        record_frames: Most frames (sent and received, all connections together) kept in
            `EmulatorConnection.sent`/`.received`; past it the oldest are forgotten
            (counted in `sent_dropped`/`received_dropped`), so that a session of hours
            does not keep every audio chunk. `None` keeps them all.
        record_bytes: Most payload bytes (`len(Frame.raw)`) of the frames kept, sent and
            received, all connections together: past it the oldest frames are forgotten
            whole, as past `record_frames` (counted in `sent_dropped`/`received_dropped`;
            a frame is never cut short). 32 MiB: two messages of the largest size a client
            may send (`max_message_size`). Each frame's decoded `.data` is held as well,
            about as large again, so the frames hold about twice this at most (and a
            quarter more between trims). `None`: no bound but `record_frames`.
        keep_closed_connections: Most closed connections kept in `Emulator.connections`;
            past it the oldest closed ones are forgotten (counted in
            `Emulator.connections_dropped`), so that an emulator serving resuming clients
            for days does not list every connection it ever had. Open connections are
            always kept. `None` keeps them all.
        keep_ended_sessions: Most ended sessions whose resumption handles are kept (each
            until `handle_ttl` after it ended); past it the handles of the session that
            ended first are forgotten (counted in `Emulator.resumption.sessions_dropped`),
            as if expired. A live session's are always kept. `None` keeps them all.
        handles_per_session: How many of a session's newest handles stay resumable, at
            least 1 (default 8); an older one is refused at once, as an unknown one is
            (`handle_refused_close_code`), however young. Only handles whose update was
            written (even in part) count: none is made for one never written. `None` keeps
            every one (each holds a snapshot of the history: a session of hours gets
            thousands). Whether Google's service honours a handle older than the newest is
            not documented.
    """

    api_keys: frozenset[str] | None = field(default=None, repr=False)
    require_auth: bool = True
    models: tuple[str, ...] = DEFAULT_MODELS
    strict: bool = True
    reject_unknown_tool_responses: bool = True
    audio_chunk_ms: int = 40
    pacing: Pacing = "burst"
    combine_parts: bool | None = None
    wait_for_playback: bool = False
    text_ms_per_char: int = 60
    input_transcript: str = "Hello, can you hear me?"
    output_transcript: str | None = None
    silence_duration_ms: int = 700
    vad_threshold: float = 300.0
    # Long for a spoken turn, short enough that continuous noise holds ~1 MB at most.
    max_utterance_ms: int = 30_000
    lifetime: float = 600.0
    # None, not the number it stands for: a copy with a shorter lifetime
    # (`replace(lifetime=5)`) derives it again, where a stored 50 would be refused.
    go_away_warning: float | None = None
    deadline_close_code: int = 1008
    deadline_close_reason: str | None = None
    audio_session_limit: float | None = 900.0
    video_session_limit: float | None = 120.0
    session_limit_close_code: int = 1011
    session_limit_close_reason: str = DEADLINE_EXPIRED
    voice_activity: bool = False
    handle_ttl: float = 7200.0
    handle_refused_close_code: int = 1008
    handle_refused_close_reason: str = "Requested entity was not found."
    first_handle: FirstHandle = "setup"
    vertex: bool = False
    extra_paths: tuple[str, ...] = ()
    scenario: Scenario | None = None
    faults: tuple[Fault, ...] = ()
    max_message_size: int = 16 * 1024 * 1024
    close_timeout: float = 5.0
    send_timeout: float | None = None
    # Longer than anything a default emulator does by itself (a connection lives 600 s,
    # an audio session 900 s): under an autojump clock a wait that fails costs no time.
    wait_timeout: float | None = 900.0
    max_queued_turns: int = 8
    record_heard: bool = False
    # Every test's whole recording, and ~30 MB at most for 100 ms chunks up and 40 ms ones
    # down (a frame is held raw and decoded: ~6 kB for 40 ms of 24 kHz audio).
    record_frames: int | None = 5_000
    # A count of frames says nothing of their size: a client's may be 16 MiB each.
    record_bytes: int | None = 32 * 1024 * 1024
    # ~15 kB each once closed after a short conversation, ~110 kB at most after a long one
    # (frames aside, which record_frames and record_bytes bound; the session's history keeps
    # 64 Ki characters of text at most, `_history`), however much speech it held: ~15-110 MB
    # at most, and more connections than a test inspects. Measured with tracemalloc over
    # memory streams.
    keep_closed_connections: int | None = 1_000
    # ~6.5 kB each after a short conversation (8 handles, each a snapshot of the history):
    # many short resumable sessions held theirs for the whole `handle_ttl`.
    keep_ended_sessions: int | None = 1_000
    handles_per_session: int | None = HANDLES_PER_SESSION

    def __post_init__(self) -> None:
        from ._faults import Fault  # here: these modules import this one
        from ._scenario import Scenario

        check_collection(self, "api_keys", str, frozenset, api_key_problem)
        check_collection(self, "models", str, tuple)
        check_collection(self, "extra_paths", str, tuple)
        check_collection(self, "faults", Fault, tuple)
        for name, (kind, none) in _FIELD_TYPES.items():
            _check_type(getattr(self, name), name, kind, none=none)
        if not isinstance(self.pacing, str):
            _check_type(self.pacing, "pacing", "number")
        scenario = cast(object, self.scenario)  # the annotation promises what is checked
        if scenario is not None and not isinstance(scenario, Scenario):
            raise ValueError(f"scenario must be a Scenario or None, not {type(scenario).__name__}")
        for name in _NOT_NEGATIVE:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.send_timeout is not None and not self.send_timeout > 0:
            raise ValueError(f"send_timeout must be > 0 seconds, got {self.send_timeout}")
        if not self.close_timeout > 0:
            # It bounds the whole close, writing the close frame too: within 0 s none went
            # out, and every close reached the client as 1006 (what `reset` is for).
            raise ValueError(f"close_timeout must be > 0 seconds, got {self.close_timeout}")
        if self.wait_timeout is not None and not self.wait_timeout > 0:
            raise ValueError(f"wait_timeout must be > 0 seconds, got {self.wait_timeout}")
        if not self.lifetime > 0:
            raise ValueError(f"lifetime must be > 0 seconds, got {self.lifetime}")
        if self.max_message_size < 1:
            raise ValueError(f"max_message_size must be at least 1, got {self.max_message_size}")
        if self.deadline_close_code not in (1008, 1011):
            raise ValueError("deadline_close_code must be 1008 or 1011")
        if self.first_handle not in get_args(FirstHandle):
            raise ValueError(f"first_handle must be 'setup' or 'turn', not {self.first_handle!r}")
        if not 0 < self.audio_chunk_ms <= MAX_AUDIO_CHUNK_MS:
            raise ValueError(f"audio_chunk_ms must be 1 to {MAX_AUDIO_CHUNK_MS} ms")
        _check_bound(self.record_frames, "record_frames", "every frame")
        _check_bound(self.record_bytes, "record_bytes", "frames of any size")
        _check_bound(self.keep_closed_connections, "keep_closed_connections", "all of them")
        _check_bound(self.keep_ended_sessions, "keep_ended_sessions", "all of them")
        # At least 1: a handle would be forgotten as it went out, and no resume succeed.
        _check_bound(self.handles_per_session, "handles_per_session", "every one", least=1)
        if self.max_queued_turns < 1:
            raise ValueError("max_queued_turns must be at least 1")
        if self.max_utterance_ms < 1:
            raise ValueError(f"max_utterance_ms must be at least 1, got {self.max_utterance_ms}")
        if isinstance(self.pacing, str):
            if self.pacing not in ("burst", "realtime"):
                raise ValueError("pacing must be 'burst', 'realtime' or a factor")
        elif not (math.isfinite(self.pacing) and self.pacing >= 0):
            # NaN or infinity would reach trio.sleep and crash each connection's first reply.
            raise ValueError("pacing factor must be a finite number >= 0")
        if self.go_away_warning is not None and not 0 <= self.go_away_warning <= self.lifetime:
            raise ValueError(
                f"go_away_warning must be between 0 and lifetime ({self.lifetime:g} s), "
                f"got {self.go_away_warning:g} (leave it None for {GO_AWAY_WARNING:g} s, or the "
                f"lifetime if shorter)"
            )
        for limit in (self.audio_session_limit, self.video_session_limit):
            if limit is not None and not limit > 0:  # NaN too: it crashed every connection
                raise ValueError("session limits must be a positive number (or None to disable)")
        for name in ("session_limit_close_code", "handle_refused_close_code"):
            if not sendable_close_code(getattr(self, name)):
                raise ValueError(f"{name} must be a sendable close code")

    def replace(self, **changes: object) -> EmulatorConfig:
        """Return a copy with some fields changed (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def go_away_seconds(self) -> float:
        """Seconds before the deadline that `goAway` is sent: `go_away_warning`, or its default."""
        if self.go_away_warning is not None:
            return self.go_away_warning
        return min(GO_AWAY_WARNING, self.lifetime)

    def deadline_reason(self) -> str:
        """The close reason at the deadline: `deadline_close_reason`, or the code's own."""
        if self.deadline_close_reason is not None:
            return self.deadline_close_reason
        # Only 1011 has been seen with a reason (protocol.md section 3.5); the 1008 close
        # after a goAway is reported without one.
        return DEADLINE_EXPIRED if self.deadline_close_code == 1011 else ""

    def combines_parts(self, model_id: str) -> bool:
        """Whether sessions of `model_id` get 3.1-style combined frames (`combine_parts`)."""
        if self.combine_parts is None:
            return model_id.startswith("gemini-3")
        return self.combine_parts

    def pacing_factor(self) -> float:
        """Seconds of delay per second of audio between reply chunks (0 for burst)."""
        if self.pacing == "burst":
            return 0.0
        if self.pacing == "realtime":
            return 1.0
        return float(self.pacing)
