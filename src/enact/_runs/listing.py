"""Searching and ordering listed runs, the same way everywhere they are shown.

The CLI, the web UI and the HTTP API filter runs through
:func:`enact.runs.list_runs`; these are the parts they share on top of it: a
text search and the orders a list can be sorted in.

A search looks at a run's id, component, name, error, tags and the start of
its output as text (:func:`output_text`, kept in the record when the run
finishes, so that no output is read to list runs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from enact._runs.errors import RunError
from enact._runs.records import OUTPUT_TEXT, RunInfo, RunStatus
from enact.backends.index import ColumnSchema
from enact.interfaces import ResourceBase, TypeWrapperBase
from enact.references import Ref

__all__ = [
    "SORT_KEYS",
    "matches",
    "output_text",
    "passes",
    "query_columns",
    "search",
    "sorted_runs",
]

# The most values of an output its text form looks at, and how deep.
_PARTS = 1000
_DEPTH = 20


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


def _haystack(info: RunInfo) -> str:
    """What a search looks in, in lower case."""
    return "\n".join(
        [
            info.id,
            info.component,
            info.name or "",
            info.error or "",
            *info.tags,
            info.output_text or "",
        ]
    ).lower()


def matches(info: RunInfo, words: str) -> bool:
    """Whether every word of ``words`` occurs (any case) in the run's id,
    name, component, tags, error or output text."""
    haystack = _haystack(info)
    return all(word in haystack for word in words.lower().split())


def passes(
    info: RunInfo,
    *,
    status: RunStatus | None = None,
    component: str | None = None,
    tag: str | None = None,
    since: float | None = None,
    until: float | None = None,
    parent: str | None = None,
) -> bool:
    """Whether the run passes the filters of :func:`~enact.runs.list_runs`
    (None: any)."""
    return (
        (status is None or info.status is status)
        and (component is None or component in info.component)
        and (tag is None or tag in info.tags)
        and (since is None or info.started >= since)
        and (until is None or info.started < until)
        and (parent is None or info.parent == parent)
    )


def output_text(value: Any) -> str:
    """The start of a value as text, for searching: its strings and numbers
    in order, one space apart, at most :data:`OUTPUT_TEXT` characters.

    Fields of resources, wrapped values, and the items (and keys) of lists
    and dicts are looked into; bytes, refs and other objects are left out,
    so nothing is read from a store and no user code runs.
    """
    parts: list[str] = []
    size = 0
    for part in _texts(value, _DEPTH, iter(range(_PARTS))):
        parts.append(part)
        size += len(part) + 1
        if size > OUTPUT_TEXT:
            break
    return " ".join(parts)[:OUTPUT_TEXT]


def _texts(value: Any, depth: int, budget: Iterator[int]) -> Iterator[str]:
    if next(budget, None) is None or depth < 0:
        return
    if isinstance(value, str):
        yield str(value)
    elif isinstance(value, (int, float)):  # bool too
        yield repr(value) if isinstance(value, bool) else str(value)
    elif isinstance(value, (bytes, Ref)):
        return
    elif isinstance(value, TypeWrapperBase):
        yield from _texts(value.unwrap(), depth - 1, budget)
    elif isinstance(value, ResourceBase):
        for field in value.field_values():
            yield from _texts(field, depth - 1, budget)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key, depth - 1, budget)
            yield from _texts(item, depth - 1, budget)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item, depth - 1, budget)


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
        # The id it names: a record kept under another is left out.
        "id": info.id,
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
        "text": _haystack(info),
    }


# Declared so that an index may keep these columns in a table (see
# enact.backends.column_cache); the tag changes whenever they do. 3: the
# search text holds the output text.
query_columns.schema = ColumnSchema(  # type: ignore[attr-defined]
    tag="runs/3",
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
