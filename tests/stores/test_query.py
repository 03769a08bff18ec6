"""Index.query_runs: a page of runs with filters, an order and a cursor."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact.backends import column_cache
from enact.backends.index import (
    ColumnSchema,
    Index,
    RunQuery,
    decode_cursor,
    scan_query,
)
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


# -- indexes that keep the columns in a table --------------------------------
# The memory, file and SQLite stores answer a query whose columns function declares a
# schema from a table of columns; every page must be the scan's page.

SCALARS = ("status", "started", "name", "component", "parent")


def table_columns(record: bytes) -> Mapping[str, Any] | None:
    value: dict[str, Any] = json.loads(record)
    if value.get("skip"):
        return None
    return {
        **{name: value.get(name) for name in SCALARS},
        "tags": value.get("tags", []),
        "text": f"{value.get('name')}\n{value.get('component')}",
    }


table_columns.schema = ColumnSchema(  # type: ignore[attr-defined]
    tag="test/1", scalars=SCALARS, lists=("tags",), indexes=(("status", "started"),)
)


records = st.fixed_dictionaries(
    {
        "status": st.sampled_from(STATUSES),
        "started": st.one_of(
            st.integers(0, 4), st.integers(0, 4).map(float), st.none(), st.just("x")
        ),
        "name": st.sampled_from(["alpha", "Beta", "alpha beta", "ünï", ""]),
        "component": st.sampled_from(["m:Agent", "m:Judge", "n:agent"]),
        "parent": st.none() | st.sampled_from(["p1", "p2"]),
        "tags": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
        "skip": st.sampled_from([False, False, False, True]),
    }
)

queries = st.builds(
    RunQuery,
    equal=st.dictionaries(
        st.sampled_from(["status", "parent"]),
        st.sampled_from(STATUSES)
        | st.none()
        | st.tuples(st.sampled_from(STATUSES), st.none()),
        max_size=2,
    ),
    contains=st.dictionaries(
        st.just("component"), st.sampled_from(["Agent", "agent", ":", "x"]), max_size=1
    ),
    has=st.dictionaries(st.just("tags"), st.sampled_from(["a", "c"]), max_size=1),
    at_least=st.dictionaries(
        st.just("started"), st.integers(0, 4).map(float), max_size=1
    ),
    below=st.dictionaries(st.just("started"), st.integers(0, 4).map(float), max_size=1),
    words=st.none() | st.sampled_from(["alpha", "BETA", "ünï", "agent alpha"]),
    order_by=st.sampled_from(["started", "name", "parent", "component"]),
    descending=st.booleans(),
    limit=st.none() | st.integers(0, 4),
)


def _kept_rows(url: str, index: Index) -> int:
    if url == "memory://":
        table = index._table  # type: ignore[attr-defined]
        return int(table.execute("SELECT count(*) FROM run_columns").fetchone()[0])
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite") else url
    if not url.startswith("sqlite"):
        path = os.path.join(url, "query.sqlite3")
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM run_columns").fetchone()[0])


def _all_pages(index: Index, query: RunQuery, columns: Any) -> list[str]:
    seen: list[str] = []
    for _ in range(100):
        page = index.query_runs(query, columns)
        seen.extend(run_id for run_id, _ in page.runs)
        if page.next_cursor is None:
            return seen
        query = dataclasses.replace(query, cursor=page.next_cursor)
    raise AssertionError("the pages never end")


def _scan_pages(index: Index, query: RunQuery) -> list[str]:
    whole = dataclasses.replace(query, limit=None)
    page = scan_query(index.scan_runs().records, whole, table_columns)
    return [run_id for run_id, _ in page.runs]


@settings(max_examples=60, deadline=None)
@given(
    first=st.lists(records, max_size=12),
    later=st.lists(st.tuples(st.integers(0, 15), records | st.none()), max_size=6),
    query=queries,
    mode=st.sampled_from(["rare", "common", "many"]),
)
def test_a_kept_table_answers_every_query_as_the_scan_does(
    tmp_path_factory: pytest.TempPathFactory,
    first: list[dict[str, Any]],
    later: list[tuple[int, dict[str, Any] | None]],
    query: RunQuery,
    mode: str,
) -> None:
    # Common tags and components are checked row by row, rare ones looked up;
    # a column of many distinct texts is searched row by row.
    common = 0 if mode == "common" else 10**9
    distinct = 0 if mode == "many" else 256
    with (
        mock.patch.object(column_cache, "_COMMON_MEMBERS", common),
        mock.patch.object(column_cache, "_DISTINCT_TEXTS", distinct),
    ):
        _kept_table_answers(tmp_path_factory, first, later, query)


def _kept_table_answers(
    tmp_path_factory: pytest.TempPathFactory,
    first: list[dict[str, Any]],
    later: list[tuple[int, dict[str, Any] | None]],
    query: RunQuery,
) -> None:
    root = tmp_path_factory.mktemp("q")
    for url in ("memory://", str(root / "f"), f"sqlite:///{root}/s.db"):
        store = enact.open_store(url)
        index = store.index
        for number, record in enumerate(first):
            index.update_run(
                f"r{number}", lambda _old, r=record: json.dumps(r).encode()
            )
        if query.limit != 0:
            assert _all_pages(index, query, table_columns) == _scan_pages(index, query)
            # ... answered from the table, not by a scan.
            assert _kept_rows(url, index) == sum(not r["skip"] for r in first)
        # Changes after the table was made: it catches up (deletes too).
        for number, record in later:
            data = None if record is None else json.dumps(record).encode()
            index.update_run(f"r{number}", lambda _old, d=data: d)
        if query.limit == 0:
            assert index.query_runs(query, table_columns).runs == []
        else:
            assert _all_pages(index, query, table_columns) == _scan_pages(index, query)
        store.close()


def _fill(index: Index, count: int) -> None:
    for number in range(count):
        record = {"status": STATUSES[number % 3], "started": float(number), "name": "n"}
        index.update_run(f"r{number}", lambda _old, r=record: json.dumps(r).encode())


def test_a_damaged_sidecar_is_rebuilt(tmp_path: Path) -> None:
    store = enact.open_store(str(tmp_path / "s"))
    _fill(store.index, 10)
    query = RunQuery(equal={"status": "failed"}, limit=2)
    expected = _all_pages(store.index, query, table_columns)
    store.close()
    (tmp_path / "s" / "query.sqlite3").write_bytes(b"not a database" * 100)
    store = enact.open_store(str(tmp_path / "s"))
    assert _all_pages(store.index, query, table_columns) == expected
    assert (tmp_path / "s" / "query.sqlite3").read_bytes()[:6] == b"SQLite"
    store.close()


def test_queries_from_other_threads_use_the_same_sidecar(tmp_path: Path) -> None:
    import threading

    store = enact.open_store(str(tmp_path / "s"))
    _fill(store.index, 10)
    query = RunQuery(equal={"status": "failed"}, limit=2)
    expected = _all_pages(store.index, query, table_columns)
    sidecar = tmp_path / "s" / "query.sqlite3"
    made = sidecar.stat().st_ino
    scans = []
    scan = store.index.scan_runs

    def counted() -> Any:
        scans.append(threading.get_ident())
        return scan()

    found = []
    with mock.patch.object(store.index, "scan_runs", counted):
        # A web server answers each request in whichever thread is free.
        for _ in range(3):
            thread = threading.Thread(
                target=lambda: found.append(
                    _all_pages(store.index, query, table_columns)
                )
            )
            thread.start()
            thread.join(60)
    assert found == [expected] * 3
    assert scans == []  # answered from the table, never rebuilt by a scan
    assert sidecar.stat().st_ino == made
    store.close()


@pytest.mark.parametrize("how", ["removed", "replaced", "cut"])
def test_a_lost_changes_log_makes_the_sidecar_rebuild(tmp_path: Path, how: str) -> None:
    store = enact.open_store(str(tmp_path / "s"))
    _fill(store.index, 6)
    query = RunQuery(equal={"status": "running"})
    assert len(_all_pages(store.index, query, table_columns)) == 2
    store.close()
    log = tmp_path / "s" / "runs.changes"
    if how == "removed":
        log.unlink()
    elif how == "replaced":
        log.unlink()
        log.write_bytes(b"r0\n")
    else:
        log.write_bytes(b"")
    store = enact.open_store(str(tmp_path / "s"))
    record = {"status": "running", "started": 99.0, "name": "n"}
    store.index.update_run("r1", lambda _old: json.dumps(record).encode())
    assert _all_pages(store.index, query, table_columns) == ["r1", "r3", "r0"]
    store.close()


WRITER = """
import json, sys
import enact
store = enact.open_store(sys.argv[1])
record = json.dumps({"status": "failed", "started": 100.0, "name": "other"}).encode()
store.index.update_run("from-there", lambda _old: record)
store.close()
"""


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_writes_from_another_process_show_in_the_next_page(
    tmp_path: Path, kind: str
) -> None:
    url = str(tmp_path / "s") if kind == "file" else f"sqlite:///{tmp_path}/s.db"
    store = enact.open_store(url)
    _fill(store.index, 6)
    query = RunQuery(equal={"status": "failed"}, limit=1)
    assert store.index.query_runs(query, table_columns).runs[0][0] == "r5"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", WRITER, url], check=True, env=env)
    assert store.index.query_runs(query, table_columns).runs[0][0] == "from-there"
    store.close()


def test_a_query_with_no_exact_translation_is_answered_by_the_scan(
    tmp_path: Path,
) -> None:
    store = enact.open_store(f"sqlite:///{tmp_path}/s.db")
    _fill(store.index, 6)
    odd = RunQuery(equal={"unknown": None}, order_by="name")
    assert _all_pages(store.index, odd, table_columns) == _scan_pages(store.index, odd)
    store.close()


@pytest.mark.parametrize("common", [True, False])
@pytest.mark.parametrize("kind", ["memory", "file", "sqlite"])
def test_a_tag_is_found_whether_common_or_rare(
    tmp_path: Path, kind: str, common: bool
) -> None:
    url = {"memory": "memory://", "file": str(tmp_path / "f")}.get(
        kind, f"sqlite:///{tmp_path}/s.db"
    )
    store = enact.open_store(url)
    for number in range(12):
        tags = [["a"], ["b"], ["a", "c"], []][number % 4]
        record = {"status": "failed", "started": float(number), "tags": tags}
        store.index.update_run(
            f"r{number}", lambda _old, r=record: json.dumps(r).encode()
        )
    query = RunQuery(has={"tags": "a"}, limit=2)
    with mock.patch.object(column_cache, "_COMMON_MEMBERS", 0 if common else 10**9):
        found = _all_pages(store.index, query, table_columns)
    assert found == ["r10", "r8", "r6", "r4", "r2", "r0"]
    store.close()


@pytest.mark.parametrize("mode", ["rare", "common", "many"])
@pytest.mark.parametrize("kind", ["memory", "file", "sqlite"])
def test_a_component_part_is_found_in_every_spelling(
    tmp_path: Path, kind: str, mode: str
) -> None:
    url = {"memory": "memory://", "file": str(tmp_path / "f")}.get(
        kind, f"sqlite:///{tmp_path}/s.db"
    )
    store = enact.open_store(url)
    names = ["m:Agent", "m:Judge", "n:agent", "m:Agent2", None]
    for number in range(15):
        record = {"started": float(number), "component": names[number % 5]}
        store.index.update_run(
            f"r{number:02}", lambda _old, r=record: json.dumps(r).encode()
        )
    common = 0 if mode == "common" else 10**9
    distinct = 0 if mode == "many" else 256
    with (
        mock.patch.object(column_cache, "_COMMON_MEMBERS", common),
        mock.patch.object(column_cache, "_DISTINCT_TEXTS", distinct),
    ):
        for part, spellings in [("Agent", 2), (":", 4), ("agent", 1), ("zz", 0)]:
            query = RunQuery(contains={"component": part}, limit=2)
            found = _all_pages(store.index, query, table_columns)
            assert found == _scan_pages(store.index, query)
            assert len(found) == 3 * spellings
    store.close()
