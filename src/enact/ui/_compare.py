"""Two runs side by side: which calls they share, where they diverge.

A fork keeps every call before its branch point (the same objects as the
run it came from: *kept*) and runs the rest afresh (*resampled*: a call that
gave another result, or that the other run does not have). Comparing any
two runs of one flow works the same way, call by call by position
(:func:`enact.diffs.diff_invocations`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from enact import runs
from enact.diffs import Difference, diff_invocations
from enact.ui._tree import exception_short, name_of, short

__all__ = ["Comparison", "Row", "compare"]

#: At most this many calls are listed; the rest are counted.
MAX_ROWS = 2000


@dataclasses.dataclass
class Side:
    """One run's call at a path."""

    digest: str
    name: str
    input: str
    output: str


@dataclasses.dataclass
class Row:
    """How the call at one path compares."""

    path: tuple[int, ...]
    kind: str
    changes: tuple[str, ...]
    left: Side | None
    right: Side | None
    #: Whether this is the first call (depth first) where the runs differ.
    diverges: bool = False

    @property
    def depth(self) -> int:
        """How deep the call is (the top-level call is 0)."""
        return len(self.path)


@dataclasses.dataclass
class Comparison:
    """Two runs' journals, compared call by call."""

    left: runs.RunInfo
    right: runs.RunInfo
    rows: list[Row]
    kept: int
    differing: int
    hidden: int
    #: The first path where they differ, or None if their journals are equal.
    divergence: tuple[int, ...] | None
    #: Whether one run is a fork or replay of the other.
    related: bool


def compare(left: runs.Run, right: runs.Run) -> Comparison:
    """Compares the final journals of two ended runs.

    Raises:
        runs.RunError: if either run has no journal yet (it is running).
    """
    left_info, right_info = left.info(), right.info()
    left_journal = left_info.invocation or _durable(left)
    right_journal = right_info.invocation or _durable(right)
    differences = diff_invocations(left_journal, right_journal)
    rows = [_row(difference) for difference in differences[:MAX_ROWS]]
    divergence = _first_divergence(rows)
    return Comparison(
        left=left_info,
        right=right_info,
        rows=rows,
        kept=sum(1 for row in rows if row.kind == "same"),
        differing=sum(1 for row in rows if row.kind != "same"),
        hidden=max(0, len(differences) - MAX_ROWS),
        divergence=divergence,
        related=left_info.id in (right_info.parent,)
        or right_info.id in (left_info.parent,),
    )


def _first_divergence(rows: list[Row]) -> tuple[int, ...] | None:
    """The first differing call (depth first) with no differing call below it.

    Rows come depth first, so a call's descendants follow it directly. The
    top-level call differs whenever anything below it does; the call where
    the runs first part ways is the first difference that explains itself.
    """
    for index, row in enumerate(rows):
        if row.kind == "same":
            continue
        below = rows[index + 1] if index + 1 < len(rows) else None
        if (
            below is None
            or len(below.path) <= len(row.path)
            or below.path[: len(row.path)] != row.path
            or all(
                other.kind == "same"
                for other in rows[index + 1 :]
                if other.path[: len(row.path)] == row.path
            )
        ):
            row.diverges = True
            return row.path
    return None


def _durable(run: runs.Run) -> Any:
    journal = run.journal()
    if journal is None:
        raise runs.RunError(f"Run {run.id} has no journal yet.", run.id)
    return journal


def _row(difference: Difference) -> Row:
    return Row(
        path=difference.path,
        kind=difference.kind,
        changes=difference.changes,
        left=None if difference.left is None else _side(difference.left),
        right=None if difference.right is None else _side(difference.right),
    )


def _side(ref: Any) -> Side:
    try:
        invocation = ref()
        request = invocation.request()
        response = invocation.response()
        name = name_of(request.invokable)
        given = short(request.input())
        if response.raised is not None:
            result = exception_short(response.raised())
        elif response.output is not None:
            result = short(response.output())
        else:
            result = ""
    except Exception as error:  # shown in its cell: the page still renders
        return Side(ref.digest, "?", "", f"(cannot be read here: {error})")
    return Side(ref.digest, name, given, result)
