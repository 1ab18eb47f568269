"""Exception groups from trio nurseries, flattened so users see plain exceptions."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["leaf_exceptions", "sole_leaf"]

_E = TypeVar("_E", bound=BaseException)


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


def sole_leaf(group: BaseExceptionGroup[BaseException], kind: type[_E]) -> _E | None:
    """The one exception inside `group` if it is the only one and a `kind`, else None.

    For a nursery whose body raised one exception of its own: trio wraps even that one
    in a group.
    """
    leaves = leaf_exceptions(group)
    if len(leaves) == 1 and isinstance(leaves[0], kind):
        return leaves[0]
    return None
