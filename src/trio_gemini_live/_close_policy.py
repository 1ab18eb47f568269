"""The close-code policy, as one table: what a WebSocket close means for the session.

END: a normal close, the event stream simply ends. RESUME: worth reconnecting with the
resumption handle. FAIL: a configuration, auth or quota problem that a retry cannot fix.
"""

from __future__ import annotations

import enum

from ._errors import is_quota_reason

__all__ = ["CloseAction", "classify_close"]


class CloseAction(enum.Enum):
    """What the session does after the connection closed."""

    END = "end"
    RESUME = "resume"
    FAIL = "fail"


# Codes not listed here fail: an unknown close is not blindly retried.
_BY_CODE: dict[int, CloseAction] = {
    1000: CloseAction.END,
    1001: CloseAction.RESUME,
    1006: CloseAction.RESUME,
    1007: CloseAction.FAIL,
    1008: CloseAction.FAIL,
    1011: CloseAction.RESUME,
    1012: CloseAction.RESUME,
    1013: CloseAction.RESUME,
}


def classify_close(code: int, reason: str, *, after_go_away: bool = False) -> CloseAction:
    """Classify a close: the routine close after `goAway` resumes; quota closes fail."""
    if is_quota_reason(reason):
        return CloseAction.FAIL
    if after_go_away and code in (1008, 1011):
        return CloseAction.RESUME  # the routine close at the goAway deadline
    return _BY_CODE.get(code, CloseAction.FAIL)
