"""Filtered, sorted, paged queries over run records, without knowing their type.

An index holds run records as opaque bytes. The run layer hands a query a
``columns`` function that turns one record into its query columns (status,
component, name, started, ...), and the query filters on those columns,
orders by one of them and returns one page with a cursor for the next.

:func:`scan_query` answers a query by reading every record; it is what
:meth:`enact.backends.index.Index.query_runs` does unless an index answers
natively, so every index, built in or not, answers the same queries.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["Columns", "RunPage", "RunQuery", "scan_query"]

#: Turns one record into its query columns, or None to leave the record out.
Columns = Callable[[bytes], "Mapping[str, Any] | None"]


@dataclass(frozen=True)
class RunQuery:
    """Which runs, in which order, and which page of them.

    ``equal`` keeps runs whose column equals the value (a tuple value means
    any of them); ``at_least``/``below`` bound a column (for time ranges);
    ``words`` keeps runs whose ``text`` column contains every word (any case).
    Runs missing a column used by a filter are left out. Ties in ``order_by``
    fall back to the run id, so pages never overlap.
    """

    equal: Mapping[str, Any] = field(default_factory=dict)
    at_least: Mapping[str, float] = field(default_factory=dict)
    below: Mapping[str, float] = field(default_factory=dict)
    words: str | None = None
    order_by: str = "started"
    descending: bool = True
    limit: int | None = None
    cursor: str | None = None


class RunPage(NamedTuple):
    """One page of a query: (run id, record) pairs, and the next page's cursor."""

    runs: list[tuple[str, bytes]]
    #: None when this is the last page.
    next_cursor: str | None


def _sort_value(value: Any) -> tuple[int, Any]:
    # None sorts before everything; numbers and strings are kept apart.
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, float(value))
    return (2, str(value))


def encode_cursor(value: Any, run_id: str) -> str:
    """An opaque cursor after the run with this sort value and id."""
    raw = json.dumps([value, run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, str]:
    """The sort value and run id of a cursor.

    Raises:
        ValueError: if it is not a cursor made by :func:`encode_cursor`.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, run_id = json.loads(raw)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{cursor!r} is not a runs cursor") from error
    if not isinstance(run_id, str):
        raise ValueError(f"{cursor!r} is not a runs cursor")
    return value, run_id


def _keep(cols: Mapping[str, Any], query: RunQuery) -> bool:
    for name, wanted in query.equal.items():
        if name not in cols:
            return False
        have = cols[name]
        if isinstance(wanted, tuple):
            if have not in wanted:
                return False
        elif have != wanted:
            return False
    for name, low in query.at_least.items():
        have = cols.get(name)
        if not isinstance(have, (int, float)) or have < low:
            return False
    for name, high in query.below.items():
        have = cols.get(name)
        if not isinstance(have, (int, float)) or have >= high:
            return False
    if query.words and query.words.strip():
        text = str(cols.get("text", "")).lower()
        if not all(word in text for word in query.words.lower().split()):
            return False
    return True


def scan_query(
    records: Iterable[tuple[str, bytes]], query: RunQuery, columns: Columns
) -> RunPage:
    """Answers ``query`` by reading every record (the reference answer).

    Raises:
        ValueError: for a bad cursor or a negative limit.
    """
    if query.limit is not None and query.limit < 0:
        raise ValueError(f"A page limit cannot be negative: {query.limit}")
    kept: list[tuple[tuple[tuple[int, Any], str], Any, str, bytes]] = []
    for run_id, record in records:
        cols = columns(record)
        if cols is None or not _keep(cols, query):
            continue
        value = cols.get(query.order_by)
        kept.append(((_sort_value(value), run_id), value, run_id, record))
    kept.sort(key=lambda item: item[0], reverse=query.descending)
    if query.cursor is not None:
        value, after = decode_cursor(query.cursor)
        mark = (_sort_value(value), after)
        if query.descending:
            kept = [item for item in kept if item[0] < mark]
        else:
            kept = [item for item in kept if item[0] > mark]
    if query.limit is None or len(kept) <= query.limit:
        return RunPage([(run_id, record) for _, _, run_id, record in kept], None)
    page = kept[: query.limit]
    last = page[-1]
    return RunPage(
        [(run_id, record) for _, _, run_id, record in page],
        encode_cursor(last[1], last[2]),
    )
