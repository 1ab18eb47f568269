"""The entry points check that trio runs them, and say how to fix it when it does not."""

from __future__ import annotations

import trio

from ._errors import ConfigurationError

__all__ = ["require_trio"]


def require_trio(what: str) -> None:
    """Refuse to run outside trio with a message that says so.

    Under asyncio (anyio's default backend) trio's own calls fail with an `AttributeError`
    about its run context, which names neither the cause nor the fix.
    """
    try:
        # Not `trio.lowlevel.in_trio_task()`: it came after trio 0.27, the oldest supported.
        trio.lowlevel.current_task()
    except RuntimeError:
        raise ConfigurationError(
            f"{what} runs on trio: call it from trio.run(...), or with anyio, "
            "anyio.run(main, backend='trio') (from synchronous code, "
            "anyio.from_thread.start_blocking_portal(backend='trio'))"
        ) from None
