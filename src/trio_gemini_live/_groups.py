"""Exception groups from trio nurseries, flattened so users see plain exceptions."""

from __future__ import annotations

from types import TracebackType
from typing import Literal, NoReturn, TypeVar, cast

import trio

__all__ = ["BlockErrors", "leaf_exceptions", "only_cancelled", "sole_leaf"]

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


def only_cancelled(exc: BaseException) -> bool:
    """Whether `exc` is `Cancelled`, or a group of nothing else (nested groups included)."""
    return all(isinstance(leaf, trio.Cancelled) for leaf in leaf_exceptions(exc))


def sole_leaf(group: BaseExceptionGroup[BaseException], kind: type[_E]) -> _E | None:
    """The one exception inside `group` if it is the only one and a `kind`, else None.

    For a nursery whose body raised one exception of its own: trio wraps even that one
    in a group.
    """
    leaves = leaf_exceptions(group)
    if len(leaves) == 1 and isinstance(leaves[0], kind):
        return leaves[0]
    return None


class BlockErrors:
    """What leaves a context manager that runs its caller's block inside its own nursery.

    A strict trio nursery (`strict_exception_groups=True`, so that it wraps the same way
    whatever the run's setting) puts whatever leaves it in a group of its own, the caller's
    exception included. With `with errors.nursery():` around that nursery,
    `with errors.block():` around the `yield` inside it and `with errors.cleanup():`
    around each wait after the `yield`, what comes out is:

    - the caller's own exception, alone in the nursery's group: that exception, unchanged
      (the same object, its `__cause__`, `__context__`, `__suppress_context__` and
      traceback), a group the caller raised (its own task group's) included, unless the
      nursery's cancellation took `Cancelled` out of that group: then the rest of it;
    - the caller's exception next to the library's: the nursery's group, as it is;
    - the library's exceptions alone (the nursery's and its tasks' inner nurseries'
      groups): the exception, if there is one, else the group.

    `Cancelled` does not count as anyone's exception here: under an outer cancellation the
    nursery's tasks (and the caller's block, if it was waiting) end with it, and the
    cancelled scope outside takes it out of whatever passes through. So the caller's
    exception next to mere `Cancelled`s comes out as itself, as plain trio would leave it
    once that scope took them out; a group the caller raised is not put in another.
    """

    __slots__ = ("_raised",)

    def __init__(self) -> None:
        self._raised: BaseException | None = None

    def block(self) -> _Block:
        """Around the caller's block (the `yield`): notes what it raised."""
        return _Block(self)

    def nursery(self) -> _Nursery:
        """Around the nursery: turns its group into what the caller should see."""
        return _Nursery(self)

    def cleanup(self) -> _Cleanup:
        """Around a wait after the block (a close): its `Cancelled` replaces nothing.

        Under an outer cancellation such a wait raises `Cancelled` at once; raised while
        the block's exception is in flight, it took that exception's place, and the
        cancelled scope outside then swallowed it, so the block's error was lost. When
        the block raised, an exception made only of `Cancelled` is dropped here: the
        block's own goes on, and the cancellation, still in force, ends the rest at once.
        """
        return _Cleanup(self)

    def surfaced(self, group: BaseExceptionGroup[BaseException]) -> BaseException:
        """What the caller sees for `group`, the nursery's: see the class docstring."""
        raised, self._raised = self._raised, None  # no cycle through this object
        if raised is not None and not only_cancelled(raised):
            mine = [exc for exc in group.exceptions if _raised_as(exc, raised)]
            if mine:
                # The `Cancelled` of an outer cancellation (the tasks', a cleanup's) is no
                # exception of the library's: that scope takes it out on the way.
                others = [
                    exc
                    for exc in group.exceptions
                    if exc is not mine[0] and not only_cancelled(exc)
                ]
                if others:
                    return group
                # A group comes back as a copy: the cancelled nursery's scope splits its
                # group, `Cancelled` from the rest, and the split copies every group in it.
                # The caller's own object, unless `Cancelled` were taken out of it.
                copy = mine[0]
                return raised if _same_leaves(copy, raised) else copy
        errors = [leaf for leaf in leaf_exceptions(group) if not isinstance(leaf, trio.Cancelled)]
        # Only `Cancelled`: the group as it is, for the cancelled scope outside to take.
        return errors[0] if len(errors) == 1 else group


def _raised_as(exc: BaseException, raised: BaseException) -> bool:
    """Whether `exc`, in the nursery's group, is `raised` or a copy the split made of it."""
    if exc is raised:
        return True
    if not _is_group(exc) or not _is_group(raised):
        return False
    # A split copies groups, never the exceptions at their leaves.
    ids = {id(leaf) for leaf in leaf_exceptions(raised)}
    return all(id(leaf) in ids for leaf in leaf_exceptions(exc))


def _is_group(exc: BaseException) -> bool:
    return isinstance(exc, BaseExceptionGroup)


def _same_leaves(copy: BaseException, raised: BaseException) -> bool:
    ours = leaf_exceptions(copy)
    theirs = leaf_exceptions(raised)
    return len(ours) == len(theirs) and all(a is b for a, b in zip(ours, theirs, strict=True))


class _Step:
    """A context manager of `BlockErrors` (one of its steps), reading and noting its state."""

    __slots__ = ("_errors",)

    def __init__(self, errors: BlockErrors) -> None:
        self._errors = errors

    def __enter__(self) -> None:
        return None


class _Block(_Step):
    __slots__ = ()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        self._errors._raised = exc  # pyright: ignore[reportPrivateUsage]
        return False


class _Cleanup(_Step):
    __slots__ = ()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        raised = self._errors._raised  # pyright: ignore[reportPrivateUsage]
        return raised is not None and exc is not None and only_cancelled(exc)


class _Nursery(_Step):
    __slots__ = ()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if not isinstance(exc, BaseExceptionGroup):
            self._errors._raised = None  # pyright: ignore[reportPrivateUsage]
            return False
        error = self._errors.surfaced(cast("BaseExceptionGroup[BaseException]", exc))
        if error is exc:
            return False
        _raise_unchanged(error)


def _raise_unchanged(error: BaseException) -> NoReturn:
    """Raise `error` as it is: `raise` inside a handler would set its `__context__`.

    Python sets the context of an exception raised while another is handled (here the
    nursery's group, or whatever the caller's `async with` handles) to that one, replacing
    the context it had; trio's cancel scopes restore it the same way.
    """
    context = error.__context__
    try:
        raise error
    finally:
        error.__context__ = context
        del error, context  # the frame is in the traceback: no cycle through its locals
