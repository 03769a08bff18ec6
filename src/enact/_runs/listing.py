"""Searching and ordering listed runs, the same way everywhere they are shown.

The CLI, the web UI and the HTTP API filter runs through
:func:`enact.runs.list_runs`; these are the parts they share on top of it: a
text search and the orders a list can be sorted in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from enact._runs.errors import RunError
from enact._runs.records import RunInfo
from enact.backends.index import ColumnSchema

__all__ = ["SORT_KEYS", "matches", "query_columns", "search", "sorted_runs"]


def _took(info: RunInfo) -> float:
    return -1.0 if info.ended is None else info.ended - info.started


#: The orders a runs list can be sorted in, by name. Ties fall back to the
#: start time and id, so every order is total and pages never overlap.
SORT_KEYS: dict[str, Callable[[RunInfo], Any]] = {
    "started": lambda info: info.started,
    "ended": lambda info: -1.0 if info.ended is None else info.ended,
    "took": _took,
    "component": lambda info: info.component,
    "status": lambda info: info.status.value,
    "name": lambda info: info.name or "",
}


def matches(info: RunInfo, words: str) -> bool:
    """Whether every word of ``words`` occurs (any case) in the run's id,
    name, component, tags or error."""
    haystack = "\n".join(
        [info.id, info.component, info.name or "", info.error or "", *info.tags]
    ).lower()
    return all(word in haystack for word in words.lower().split())


def search(infos: Iterable[RunInfo], words: str | None) -> list[RunInfo]:
    """The runs that match ``words`` (all of them if it is empty)."""
    if not words or not words.strip():
        return list(infos)
    return [info for info in infos if matches(info, words)]


def sorted_runs(
    infos: Iterable[RunInfo], key: str = "started", descending: bool = True
) -> list[RunInfo]:
    """The runs in the order named by ``key`` (see :data:`SORT_KEYS`).

    Raises:
        ValueError: for an unknown key, naming the known ones.
    """
    try:
        by = SORT_KEYS[key]
    except KeyError:
        known = ", ".join(SORT_KEYS)
        raise ValueError(
            f"Runs cannot be sorted by {key!r}; by one of: {known}."
        ) from None
    return sorted(
        infos, key=lambda info: (by(info), info.started, info.id), reverse=descending
    )


def query_columns(record: bytes) -> dict[str, Any] | None:
    """The query columns of one run record, for :meth:`Index.query_runs`.

    None for a record that does not read (it is reported as damaged by the
    listing instead). The status is the stored one: a running run whose
    process died still has status ``running`` here, so callers filtering on
    ``crashed`` ask for ``running`` and check liveness on the page.
    """
    try:
        info = RunInfo.from_bytes(record, "?", None)
    except RunError:
        return None
    return {
        "status": info.stored_status.value,
        "component": info.component,
        "name": info.name or "",
        "started": info.started,
        "ended": -1.0 if info.ended is None else info.ended,
        "took": _took(info),
        "parent": info.parent,
        "batch": info.batch,
        "tags": list(info.tags),
        "pending": len(info.pending),
        "text": "\n".join(
            [info.id, info.component, info.name or "", info.error or "", *info.tags]
        ).lower(),
    }


# Declared so that an index may keep these columns in a table (see
# enact.backends.column_cache); the tag changes whenever they do.
query_columns.schema = ColumnSchema(  # type: ignore[attr-defined]
    tag="runs/2",
    scalars=(
        "status",
        "component",
        "name",
        "started",
        "ended",
        "took",
        "parent",
        "batch",
        "pending",
    ),
    lists=("tags",),
    indexes=(
        ("status", "started"),
        ("component", "started"),
        ("parent", "started"),
        ("batch", "started"),
    ),
    cluster="started",
)
