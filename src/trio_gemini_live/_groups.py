"""Exception groups from trio nurseries, flattened so users see plain exceptions."""

from __future__ import annotations

__all__ = ["leaf_exceptions"]


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    """Every non-group exception inside `exc` (itself, if it is not a group)."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        else:
            leaves.append(item)
    return leaves
