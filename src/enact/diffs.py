"""Which calls of two journaled invocations differ.

Two runs of one flow, or two branches forked from one run, share every call
they have in common: the same refs in the store. :func:`diff_invocations`
walks both trees side by side, by child position, and reports each call as
the same in both, changed, or present on one side only. A subtree whose refs
are equal is reported once, as ``same``, without descending into it, so
comparing two large journals costs only their differing parts::

    >>> for difference in diff_invocations(run, branch):   # doctest: +SKIP
    ...     print(difference.path, difference.kind, difference.changes)
    () changed ('output', 'children')
    (0,) same ()
    (1,) changed ('output',)
    (2,) only-left ()
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from enact.invocations import Invocation
from enact.references import Ref

__all__ = ["Difference", "DifferenceKind", "diff_invocations"]

DifferenceKind = Literal["same", "changed", "only-left", "only-right"]
"""How a call compares: equal refs, different refs, or on one side only."""

#: The parts of a call :attr:`Difference.changes` names, in this order.
PARTS = ("invokable", "input", "output", "raised", "state", "children")


@dataclasses.dataclass(frozen=True)
class Difference:
    """How the call at one path compares in two invocation trees."""

    #: Child indices from the top-level call; ``()`` is the top-level call.
    path: tuple[int, ...]
    #: ``same``, ``changed``, ``only-left`` or ``only-right``.
    kind: DifferenceKind
    #: The call on the left, if it has one there.
    left: Ref[Invocation[Any, Any]] | None
    #: The call on the right, if it has one there.
    right: Ref[Invocation[Any, Any]] | None
    #: For ``changed``: which parts differ, among ``invokable`` (its state
    #: before the call), ``input``, ``output``, ``raised`` (the exception, or
    #: where it started), ``state`` (the invokable after the call) and
    #: ``children`` (the child calls).
    changes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (refs as digests)."""
        return {
            "path": list(self.path),
            "kind": self.kind,
            "left": None if self.left is None else self.left.digest,
            "right": None if self.right is None else self.right.digest,
            "changes": list(self.changes),
        }


def diff_invocations(
    left: Invocation[Any, Any] | Ref[Invocation[Any, Any]],
    right: Invocation[Any, Any] | Ref[Invocation[Any, Any]],
    *,
    include_same: bool = True,
    max_depth: int | None = None,
) -> list[Difference]:
    """Compares two invocation trees call by call.

    Calls are paired by their position among their parent's children. A pair
    with equal refs is ``same`` (and not descended into); a pair that differs
    is ``changed`` and its children are compared in turn; a call with no
    partner is ``only-left`` or ``only-right`` (and not descended into).

    Args:
        left: An invocation, or a ref to one.
        right: The other.
        include_same: Also list the ``same`` calls (the roots of shared
            subtrees).
        max_depth: Compare children only this many levels deep (None: all).

    Returns:
        The differences in depth-first order, parents before their children.

    Raises:
        NoActiveContext, NotFound: if a call must be read and no store holding
            it is active.
    """
    differences: list[Difference] = []
    _compare((), _ref(left), _ref(right), include_same, max_depth, differences)
    return differences


def _ref(value: Invocation[Any, Any] | Ref[Invocation[Any, Any]]) -> Ref[Any]:
    if isinstance(value, Ref):
        return value
    return Ref.from_resource(value)


def _compare(
    path: tuple[int, ...],
    left: Ref[Invocation[Any, Any]],
    right: Ref[Invocation[Any, Any]],
    include_same: bool,
    depth_left: int | None,
    differences: list[Difference],
) -> None:
    if left.digest == right.digest:
        if include_same:
            differences.append(Difference(path, "same", left, right))
        return
    left_call, right_call = left.checkout(), right.checkout()
    changes = _changed_parts(left_call, right_call)
    differences.append(Difference(path, "changed", left, right, changes))
    if depth_left is not None and depth_left <= 0:
        return
    left_children = left_call.response().children
    right_children = right_call.response().children
    deeper = None if depth_left is None else depth_left - 1
    for index in range(max(len(left_children), len(right_children))):
        child_path = (*path, index)
        if index >= len(right_children):
            differences.append(
                Difference(child_path, "only-left", left_children[index], None)
            )
        elif index >= len(left_children):
            differences.append(
                Difference(child_path, "only-right", None, right_children[index])
            )
        else:
            _compare(
                child_path,
                left_children[index],
                right_children[index],
                include_same,
                deeper,
                differences,
            )


def _changed_parts(
    left: Invocation[Any, Any], right: Invocation[Any, Any]
) -> tuple[str, ...]:
    changed: set[str] = set()
    if left.request.digest != right.request.digest:
        left_request, right_request = left.request(), right.request()
        if left_request.invokable.digest != right_request.invokable.digest:
            changed.add("invokable")
        if left_request.input.digest != right_request.input.digest:
            changed.add("input")
    if left.response.digest != right.response.digest:
        left_response, right_response = left.response(), right.response()
        if _digest(left_response.output) != _digest(right_response.output):
            changed.add("output")
        if (
            _digest(left_response.raised) != _digest(right_response.raised)
            or left_response.raised_here != right_response.raised_here
        ):
            changed.add("raised")
        if left_response.invokable.digest != right_response.invokable.digest:
            changed.add("state")
        if [child.digest for child in left_response.children] != [
            child.digest for child in right_response.children
        ]:
            changed.add("children")
    return tuple(part for part in PARTS if part in changed)


def _digest(ref: Ref[Any] | None) -> str | None:
    return None if ref is None else ref.digest
