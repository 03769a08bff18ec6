"""Index.query_runs: a page of runs with filters, an order and a cursor."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enact.backends.index import RunQuery, decode_cursor
from enact.backends.memory import MemoryIndex

STATUSES = ("running", "finished", "failed")


def columns(record: bytes) -> Mapping[str, Any]:
    value: dict[str, Any] = json.loads(record)
    value["text"] = value["name"]
    return value


def fill(rows: list[tuple[str, float, str]]) -> MemoryIndex:
    index = MemoryIndex()
    for number, (status, started, name) in enumerate(rows):
        record = {"status": status, "started": started, "name": name}
        index.update_run(f"r{number}", lambda _old, r=record: json.dumps(r).encode())
    return index


rows = st.lists(
    st.tuples(
        st.sampled_from(STATUSES),
        st.integers(0, 5).map(float),
        st.sampled_from(["alpha", "beta", "alpha beta"]),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=rows,
    status=st.none() | st.sampled_from(STATUSES),
    words=st.none() | st.sampled_from(["alpha", "BETA", "alpha beta"]),
    since=st.none() | st.integers(0, 5).map(float),
    order_by=st.sampled_from(["started", "name"]),
    descending=st.booleans(),
    limit=st.integers(1, 7),
)
def test_paging_through_a_query_equals_filtering_and_sorting_everything(
    rows: list[tuple[str, float, str]],
    status: str | None,
    words: str | None,
    since: float | None,
    order_by: str,
    descending: bool,
    limit: int,
) -> None:
    index = fill(rows)
    expected = []
    for run_id, record in index.list_runs():
        cols = columns(record)
        if status is not None and cols["status"] != status:
            continue
        if since is not None and cols["started"] < since:
            continue
        if words and not all(w in cols["text"] for w in words.lower().split()):
            continue
        expected.append((cols[order_by], run_id))
    expected.sort(reverse=descending)
    query = RunQuery(
        equal={} if status is None else {"status": status},
        at_least={} if since is None else {"started": since},
        words=words,
        order_by=order_by,
        descending=descending,
        limit=limit,
    )
    seen: list[str] = []
    while True:
        page = index.query_runs(query, columns)
        assert len(page.runs) <= limit
        seen.extend(run_id for run_id, _ in page.runs)
        if page.next_cursor is None:
            break
        query = RunQuery(**{**query.__dict__, "cursor": page.next_cursor})
    assert seen == [run_id for _, run_id in expected]


def test_no_limit_returns_every_match_and_no_cursor() -> None:
    index = fill([("failed", 1.0, "a"), ("finished", 2.0, "b"), ("failed", 3.0, "c")])
    page = index.query_runs(RunQuery(equal={"status": ("failed",)}), columns)
    assert [run_id for run_id, _ in page.runs] == ["r2", "r0"]
    assert page.next_cursor is None


def test_a_bad_cursor_or_limit_is_refused() -> None:
    index = fill([("failed", 1.0, "a")])
    with pytest.raises(ValueError, match="cursor"):
        index.query_runs(RunQuery(cursor="not a cursor!"), columns)
    with pytest.raises(ValueError, match="negative"):
        index.query_runs(RunQuery(limit=-1), columns)
    with pytest.raises(ValueError):
        decode_cursor("e30")
