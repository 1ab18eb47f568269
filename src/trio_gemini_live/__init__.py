"""trio-gemini-live: a trio-native client for Google's Gemini Live API.

Open a session with `open_session`, send audio/text/tool responses with its `send_*`
methods and iterate over its events; or use the seed-compatible `GeminiRealtimeClient`.
The local Live API emulator lives in `trio_gemini_live.emulator`.
"""

from ._client import GeminiRealtimeClient as GeminiRealtimeClient
from ._endpoints import (
    Endpoint as Endpoint,
    gemini_endpoint as gemini_endpoint,
    model_resource_name as model_resource_name,
    redact_url as redact_url,
    url_endpoint as url_endpoint,
    vertex_endpoint as vertex_endpoint,
)
from ._errors import (
    AbnormalClosureError as AbnormalClosureError,
    ConfigurationError as ConfigurationError,
    ConnectionClosedError as ConnectionClosedError,
    GeminiLiveError as GeminiLiveError,
    HeartbeatTimeoutError as HeartbeatTimeoutError,
    InternalServerError as InternalServerError,
    InvalidArgumentError as InvalidArgumentError,
    LocalProtocolError as LocalProtocolError,
    PolicyViolationError as PolicyViolationError,
    QuotaExceededError as QuotaExceededError,
    ReconnectFailedError as ReconnectFailedError,
    RemoteProtocolError as RemoteProtocolError,
    SessionClosedError as SessionClosedError,
    SetupTimeoutError as SetupTimeoutError,
    TransportError as TransportError,
)
from ._events import (
    AudioDelta as AudioDelta,
    Closed as Closed,
    CodeExecutionResult as CodeExecutionResult,
    ExecutableCode as ExecutableCode,
    FunctionCall as FunctionCall,
    GenerationComplete as GenerationComplete,
    GoAway as GoAway,
    GroundingMetadata as GroundingMetadata,
    InlineData as InlineData,
    InputAudioBufferDelta as InputAudioBufferDelta,
    InputTranscription as InputTranscription,
    InterimInputTranscription as InterimInputTranscription,
    Interrupted as Interrupted,
    LiveEvent as LiveEvent,
    OutputTranscription as OutputTranscription,
    RealtimeEvent as RealtimeEvent,
    Reconnected as Reconnected,
    ResumptionUpdate as ResumptionUpdate,
    SessionCreated as SessionCreated,
    SessionUpdated as SessionUpdated,
    SpeechStarted as SpeechStarted,
    TextDelta as TextDelta,
    ToolCallCancellation as ToolCallCancellation,
    TurnComplete as TurnComplete,
    UnknownMessage as UnknownMessage,
    UrlContextMetadata as UrlContextMetadata,
    Usage as Usage,
    VoiceActivity as VoiceActivity,
    WaitingForInput as WaitingForInput,
)
from ._options import SessionOptions as SessionOptions
from ._pacer import Pacer as Pacer, open_pacer as open_pacer
from ._protocol import LiveProtocol as LiveProtocol, SessionState as SessionState
from ._resume import ReconnectPolicy as ReconnectPolicy
from ._session import (
    LiveSession as LiveSession,
    SessionStatistics as SessionStatistics,
    open_session as open_session,
)
from ._setup import function_tool as function_tool, live_setup as live_setup
from ._stream import Connector as Connector
from ._wire import (
    Blob as Blob,
    Content as Content,
    FunctionDeclaration as FunctionDeclaration,
    FunctionResponse as FunctionResponse,
    GenerationConfig as GenerationConfig,
    Part as Part,
    Setup as Setup,
    Tool as Tool,
    UsageMetadata as UsageMetadata,
)

__version__ = "0.1.0"
"""The package version."""

__all__ = [
    # sessions
    "open_session",
    "GeminiRealtimeClient",
    "LiveSession",
    "SessionOptions",
    "Connector",
    "ReconnectPolicy",
    "SessionStatistics",
    "SessionState",
    "LiveProtocol",
    "open_pacer",
    "Pacer",
    # setup
    "live_setup",
    "function_tool",
    "Setup",
    "GenerationConfig",
    "Tool",
    "FunctionDeclaration",
    "FunctionResponse",
    "Content",
    "Part",
    "Blob",
    "UsageMetadata",
    # endpoints
    "Endpoint",
    "gemini_endpoint",
    "vertex_endpoint",
    "url_endpoint",
    "model_resource_name",
    "redact_url",
    # events
    "LiveEvent",
    "RealtimeEvent",
    "SessionCreated",
    "SessionUpdated",
    "AudioDelta",
    "TextDelta",
    "InlineData",
    "InputAudioBufferDelta",
    "SpeechStarted",
    "Interrupted",
    "FunctionCall",
    "ToolCallCancellation",
    "InputTranscription",
    "InterimInputTranscription",
    "OutputTranscription",
    "ExecutableCode",
    "CodeExecutionResult",
    "GroundingMetadata",
    "UrlContextMetadata",
    "WaitingForInput",
    "GenerationComplete",
    "TurnComplete",
    "Usage",
    "GoAway",
    "ResumptionUpdate",
    "VoiceActivity",
    "Reconnected",
    "Closed",
    "UnknownMessage",
    # errors
    "GeminiLiveError",
    "ConfigurationError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "TransportError",
    "SetupTimeoutError",
    "HeartbeatTimeoutError",
    "SessionClosedError",
    "ConnectionClosedError",
    "InvalidArgumentError",
    "PolicyViolationError",
    "InternalServerError",
    "QuotaExceededError",
    "AbnormalClosureError",
    "ReconnectFailedError",
    "__version__",
]
