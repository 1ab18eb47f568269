"""A local Gemini Live API emulator: the real protocol, a deterministic model, and faults.

Start it with `open_emulator()` (an async context manager) or `gemini-live emulator`; see
docs/emulator.md for pointing the project's client or google-genai at it.
"""

from ._cli import emulator_main as emulator_main
from ._config import (
    DEFAULT_MODELS as DEFAULT_MODELS,
    MAX_AUDIO_CHUNK_MS as MAX_AUDIO_CHUNK_MS,
    PREBUILT_VOICES as PREBUILT_VOICES,
    EmulatorConfig as EmulatorConfig,
    FirstHandle as FirstHandle,
    Pacing as Pacing,
)
from ._faults import Fault as Fault, FaultKind as FaultKind
from ._recording import (
    ForgottenConnectionError as ForgottenConnectionError,
    ForgottenFramesError as ForgottenFramesError,
    WaitTimeoutError as WaitTimeoutError,
)
from ._routes import Route as Route
from ._scenario import (
    Scenario as Scenario,
    ScenarioToolCall as ScenarioToolCall,
    ScenarioTurn as ScenarioTurn,
)
from ._server import (
    Emulator as Emulator,
    EmulatorConnection as EmulatorConnection,
    Frame as Frame,
    FramePredicate as FramePredicate,
    encode_server_message as encode_server_message,
    open_emulator as open_emulator,
)
from ._tls import (
    server_ssl_context as server_ssl_context,
    write_self_signed_cert as write_self_signed_cert,
)

__all__ = [
    "DEFAULT_MODELS",
    "MAX_AUDIO_CHUNK_MS",
    "PREBUILT_VOICES",
    "Emulator",
    "EmulatorConfig",
    "EmulatorConnection",
    "Fault",
    "FaultKind",
    "FirstHandle",
    "ForgottenConnectionError",
    "ForgottenFramesError",
    "Frame",
    "FramePredicate",
    "Pacing",
    "Route",
    "Scenario",
    "ScenarioToolCall",
    "ScenarioTurn",
    "WaitTimeoutError",
    "emulator_main",
    "encode_server_message",
    "open_emulator",
    "server_ssl_context",
    "write_self_signed_cert",
]
