"""A page of runs at a time, at a cost that grows with the page, not the store.

:func:`enact.runs.list_runs` reads every record. :func:`page_runs` asks the
store's index for one page (:meth:`~enact.backends.index.Index.query_runs`),
which the file, SQLite and PostgreSQL stores answer from indexed columns;
the filters mean exactly what they mean for ``list_runs``. :func:`count_runs`
counts the runs every page holds together, from the same columns.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from enact._runs.access import current_store
from enact._runs.damage import DamagedRun, read_runs
from enact._runs.errors import RunError
from enact._runs.listing import SORT_KEYS, matches, passes, query_columns
from enact._runs.records import RunInfo, RunStatus
from enact.backends.base import BackendError
from enact.backends.index import Index, RunQuery, encode_cursor
from enact.references import Store

__all__ = ["RunsCount", "RunsPage", "count_runs", "page_runs"]


class RunsPage(NamedTuple):
    """One page of runs, and the cursor of the next one."""

    runs: list[RunInfo]
    #: Pass as ``cursor=`` for the next page; None on the last page.
    next_cursor: str | None


def page_runs(
    *,
    status: RunStatus | str | None = None,
    component: str | None = None,
    tag: str | None = None,
    since: float | None = None,
    until: float | None = None,
    parent: str | None = None,
    search: str | None = None,
    order_by: str = "started",
    descending: bool = True,
    limit: int | None = 50,
    cursor: str | None = None,
    store: Store | None = None,
) -> RunsPage:
    """One page of the runs in the store's index, filtered and ordered.

    The filters are those of :func:`~enact.runs.list_runs`; ``search`` keeps
    runs where every word occurs (any case) in the id, name, component, tags,
    error or the start of the output (:func:`~enact._runs.listing.matches`).
    Runs that could not be read are left out (``list_runs`` names them).
    Pages never overlap or skip a run that existed throughout, even while
    runs are added.

    Args:
        order_by: One of ``started``, ``ended``, ``took``, ``component``,
            ``status`` and ``name``; ties fall back to the run id. By
            ``status`` a crashed run sorts with the running ones (its record
            says ``running``; only its owner's absence makes it crashed).
        limit: Runs per page (None: all of them).
        cursor: The ``next_cursor`` of the previous page.
        store: The store to read; the current store if None.

    Raises:
        ValueError: for an unknown status or order, a negative limit, or a
            cursor that is not one of these.
    """
    wanted = None if status is None else RunStatus(status)
    if order_by not in SORT_KEYS:
        known = ", ".join(SORT_KEYS)
        raise ValueError(f"Runs cannot be sorted by {order_by!r}; by one of: {known}.")
    if limit is not None and limit < 0:
        raise ValueError(f"A page limit cannot be negative: {limit}")
    store = current_store() if store is None else store
    index = store.index
    query = dataclasses.replace(
        _filters(wanted, component, tag, since, until, parent, search),
        order_by=order_by,
        descending=descending,
        limit=limit,
        cursor=cursor,
    )
    found: list[RunInfo] = []
    while True:
        page = index.query_runs(query, query_columns)
        for number, (run_id, record) in enumerate(page.runs):
            try:
                info = RunInfo.from_bytes(record, index.record_location(run_id), run_id)
            except RunError:
                continue  # damaged: list_runs names it
            if wanted is not None and info.status is not wanted:
                continue
            found.append(info)
            if limit is not None and len(found) == limit:
                more = page.next_cursor is not None or number + 1 < len(page.runs)
                return RunsPage(
                    found, _cursor_after(record, order_by, run_id) if more else None
                )
        if page.next_cursor is None:
            return RunsPage(found, None)
        query = dataclasses.replace(query, cursor=page.next_cursor)


def _cursor_after(record: bytes, order_by: str, run_id: str) -> str:
    cols = query_columns(record)
    return encode_cursor(None if cols is None else cols.get(order_by), run_id)


class RunsCount(NamedTuple):
    """How many runs match, and the run records that could not be read."""

    #: The runs matching the filters.
    total: int
    #: The records that do not read (see :func:`count_runs`).
    damaged: list[DamagedRun]


def count_runs(
    *,
    status: RunStatus | str | None = None,
    component: str | None = None,
    tag: str | None = None,
    since: float | None = None,
    until: float | None = None,
    parent: str | None = None,
    search: str | None = None,
    store: Store | None = None,
) -> RunsCount:
    """How many runs match, as :func:`page_runs` would page through them.

    The filters are those of :func:`page_runs`; the total is
    ``len(search(list_runs(...), search))``. Where the store's index keeps a
    table of the runs' columns (memory, file, SQLite and PostgreSQL stores)
    it is counted there, at a cost that grows with the matching runs, not
    the store, and only the records of the runs it counts by status
    ``running`` or ``crashed`` are read (a crashed run is stored as running:
    which it is, its owner tells). Elsewhere every record is read.

    ``damaged`` names the records that do not read, as ``list_runs`` does:
    those the table left out (that do not parse, or name another run), each
    read once to say what is wrong. A record that the index cannot read at
    all (a file it may not open) is named only where every record is read.

    Args:
        store: The store to count in; the current store if None.

    Raises:
        ValueError: for an unknown status.
    """
    wanted = None if status is None else RunStatus(status)
    store = current_store() if store is None else store
    index = store.index
    query = _filters(wanted, component, tag, since, until, parent, search)
    counted = index.count_runs(query, query_columns)
    if counted is None:
        infos, damaged = read_runs(index)
        total = 0
        for info in infos:
            if passes(
                info,
                status=wanted,
                component=component,
                tag=tag,
                since=since,
                until=until,
                parent=parent,
            ) and (not search or matches(info, search)):
                total += 1
        return RunsCount(total, damaged)
    total = counted.total
    if wanted in (RunStatus.RUNNING, RunStatus.CRASHED):
        # Counted as stored (running): their owners tell which is which.
        page = page_runs(
            status=wanted,
            component=component,
            tag=tag,
            since=since,
            until=until,
            parent=parent,
            search=search,
            limit=None,
            store=store,
        )
        total = len(page.runs)
    return RunsCount(total, _damaged(index, counted.left_out))


def _filters(
    wanted: RunStatus | None,
    component: str | None,
    tag: str | None,
    since: float | None,
    until: float | None,
    parent: str | None,
    search: str | None,
) -> RunQuery:
    """The index query of ``list_runs``'s filters and a search."""
    equal: dict[str, object] = {}
    if wanted is not None:
        # A crashed run is stored as running: which it is, its owner tells.
        live = wanted in (RunStatus.RUNNING, RunStatus.CRASHED)
        equal["status"] = RunStatus.RUNNING.value if live else wanted.value
    if parent is not None:
        equal["parent"] = parent
    return RunQuery(
        equal=equal,
        contains={} if component is None else {"component": component},
        has={} if tag is None else {"tags": tag},
        at_least={} if since is None else {"started": since},
        below={} if until is None else {"started": until},
        words=search,
    )


def _damaged(index: Index, run_ids: list[str]) -> list[DamagedRun]:
    """Why each of these records does not read (those that read now, or
    are gone, have changed since the table caught up: left out)."""
    damaged: list[DamagedRun] = []
    for run_id in run_ids:
        where = index.record_location(run_id)
        try:
            record = index.get_run(run_id)
            if record is not None:
                RunInfo.from_bytes(record, where, run_id)
        except BackendError as error:
            damaged.append(DamagedRun(run_id, where, f"{where}: {error}"))
        except RunError as error:
            damaged.append(DamagedRun(run_id, where, str(error)))
    return damaged
