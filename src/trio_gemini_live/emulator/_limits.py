"""Session-duration limits: 15 min audio-only, 2 min once video flows, none with compression.

Google ends a *session*, not just a connection, that has lasted too long without
`contextWindowCompression`. The clock starts at the session's first setup and keeps running
across resumed connections; that is why the 15 min limit matters at all next to the ~10 min
connection lifetime. The close code Google uses is not documented, so it is configurable.
"""

from __future__ import annotations

from .._wire import RealtimeInput, Setup
from ._config import EmulatorConfig
from ._lifetime import SessionState

__all__ = ["carries_video", "session_deadline"]


def carries_video(rt: RealtimeInput) -> bool:
    """Whether a `realtimeInput` carries a video frame (`video`, or an image media chunk).

    The chunk's MIME type in any case (RFC 2045): `IMAGE/JPEG` is an image too.
    """
    if rt.video is not None:
        return True
    chunks = rt.media_chunks or []
    return any(blob.mime_type.lower().startswith(("image/", "video/")) for blob in chunks)


def session_deadline(config: EmulatorConfig, setup: Setup, session: SessionState) -> float | None:
    """The `trio.current_time()` at which the session must end, or None if it may go on.

    The audio limit always applies; the (shorter) video limit applies as well once the
    session has seen video. `contextWindowCompression` in the current setup lifts both.
    """
    if setup.context_window_compression is not None:
        return None
    limits = [config.audio_session_limit]
    if session.video:
        limits.append(config.video_session_limit)
    active = [limit for limit in limits if limit is not None]
    return session.started_at + min(active) if active else None
