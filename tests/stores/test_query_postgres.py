"""Run queries on PostgreSQL: answered from ``run_columns`` on a real server,
page for page what the scan answers."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import runs
from enact.backends.index import ColumnSchema, Index, RunQuery, scan_query
from enact.backends.postgres import PostgresObjects
from enact.backends.postgres.query import sort_key
from enact.runs import RunStatus
from runs.flows import Fails, Leaf
from stores.postgres_server import PostgresServer

STATUSES = ("running", "finished", "failed")
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
    tag="pg-test/1",
    scalars=SCALARS,
    lists=("tags",),
    indexes=(("status", "started"),),
)

records = st.fixed_dictionaries(
    {
        "status": st.sampled_from(STATUSES),
        # Mixed kinds in one column: None < numbers < strings, as the scan.
        "started": st.one_of(
            st.integers(-3, 4),
            st.floats(-4, 4, allow_nan=False),
            st.none(),
            st.just("x"),
            st.just(True),
        ),
        # Case, accents and characters past the BMP: code point order.
        "name": st.sampled_from(
            ["alpha", "Beta", "alpha beta", "ünï", "", "\U0001d537", "Z"]
        ),
        "component": st.sampled_from(["m:Agent", "m:Judge", "n:agent"]),
        "parent": st.none() | st.sampled_from(["p1", "p2"]),
        "tags": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
        "skip": st.sampled_from([False, False, False, True]),
    }
)

queries = st.builds(
    RunQuery,
    equal=st.dictionaries(
        st.sampled_from(["status", "parent", "started"]),
        st.sampled_from(STATUSES)
        | st.none()
        | st.just(1)
        | st.tuples(st.sampled_from(STATUSES), st.none()),
        max_size=2,
    ),
    contains=st.dictionaries(
        st.just("component"), st.sampled_from(["Agent", "agent", ":", "x"]), max_size=1
    ),
    has=st.dictionaries(st.just("tags"), st.sampled_from(["a", "c"]), max_size=1),
    at_least=st.dictionaries(
        st.just("started"), st.integers(-2, 4).map(float), max_size=1
    ),
    below=st.dictionaries(st.just("started"), st.floats(-2, 4), max_size=1),
    words=st.none() | st.sampled_from(["alpha", "BETA", "ünï", "agent alpha"]),
    order_by=st.sampled_from(["started", "name", "parent", "component", "status"]),
    descending=st.booleans(),
    limit=st.none() | st.integers(1, 4),
)


@pytest.fixture(scope="module")
def shared(postgres_server: PostgresServer) -> Iterator[PostgresObjects]:
    """One store for the examples of a property (emptied by each)."""
    backend = PostgresObjects(postgres_server.fresh_url())
    yield backend
    backend.close()


@pytest.fixture
def backend(postgres_server: PostgresServer) -> Iterator[PostgresObjects]:
    opened = PostgresObjects(postgres_server.fresh_url())
    yield opened
    opened.close()


def _sql(backend: PostgresObjects, statement: str, *params: Any) -> list[Any]:
    with psycopg.connect(backend.url.split("?")[0], autocommit=True) as db:
        cursor = db.execute(
            statement.replace("{schema}", backend.schema), params or None
        )
        return cursor.fetchall() if cursor.description else []


def _kept_rows(backend: PostgresObjects) -> int:
    return int(_sql(backend, "SELECT count(*) FROM {schema}.run_columns")[0][0])


def _all_pages(
    index: Index, query: RunQuery, columns: Any = table_columns
) -> list[str]:
    seen: list[str] = []
    for _ in range(200):
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


def _put(index: Index, run_id: str, record: dict[str, Any] | None) -> None:
    data = None if record is None else json.dumps(record).encode()
    index.update_run(run_id, lambda _old: data)


def test_sort_keys_order_as_the_scan_orders() -> None:
    values = [None, -1e300, -2, -0.5, 0, 0.0, 1e-300, 1, True, 2.5, 1e300, "", "A"]
    values += ["B", "a", "ä", "\U0001d537"]
    keys = [sort_key(value) for value in values]
    assert keys == sorted(keys, key=lambda key: key.encode())
    assert sort_key(0) == sort_key(-0.0) == sort_key(0.0)
    assert sort_key(1) == sort_key(True) == sort_key(1.0)


@settings(max_examples=40, deadline=None)
@given(
    first=st.lists(records, max_size=12),
    later=st.lists(st.tuples(st.integers(0, 15), records | st.none()), max_size=6),
    query=queries,
)
def test_the_table_answers_every_query_as_the_scan_does(
    shared: PostgresObjects,
    first: list[dict[str, Any]],
    later: list[tuple[int, dict[str, Any] | None]],
    query: RunQuery,
) -> None:
    index = shared.index()
    for run_id, _ in index.list_runs():
        _put(index, run_id, None)
    for number, record in enumerate(first):
        _put(index, f"r{number}", record)
    assert _all_pages(index, query) == _scan_pages(index, query)
    # ... answered from the table, not by a scan.
    assert _kept_rows(shared) == sum(not r["skip"] for r in first)
    # Changes after the table was made: it catches up (deletes too).
    for number, record in later:
        _put(index, f"r{number}", record)
    assert _all_pages(index, query) == _scan_pages(index, query)
    assert _kept_rows(shared) == sum(
        table_columns(record) is not None for _, record in index.list_runs()
    )


def test_writes_by_any_client_reach_the_table(backend: PostgresObjects) -> None:
    index = backend.index()
    for number in range(6):
        _put(index, f"r{number}", {"status": STATUSES[number % 3], "started": number})
    query = RunQuery(equal={"status": "failed"}, limit=1)
    assert index.query_runs(query, table_columns).runs[0][0] == "r5"
    # Another client writes the table directly: the trigger feeds the change.
    record = json.dumps({"status": "failed", "started": 99}).encode()
    _sql(
        backend,
        "INSERT INTO {schema}.runs (id, record, updated) VALUES (%s, %s, 'x')",
        "from-there",
        record,
    )
    assert index.query_runs(query, table_columns).runs[0][0] == "from-there"
    _sql(backend, "DELETE FROM {schema}.runs WHERE id = 'from-there'")
    assert index.query_runs(query, table_columns).runs[0][0] == "r5"
    # The feed is emptied as the table catches up.
    assert _sql(backend, "SELECT count(*) FROM {schema}.run_changes")[0][0] == 0


def test_another_schema_of_columns_rebuilds_the_table(
    backend: PostgresObjects,
) -> None:
    index = backend.index()
    for number in range(4):
        _put(index, f"r{number}", {"status": "running", "started": number, "n": 1})
    query = RunQuery(equal={"status": "running"}, order_by="started")
    assert _all_pages(index, query) == ["r3", "r2", "r1", "r0"]

    def by_n(record: bytes) -> Mapping[str, Any]:
        value = json.loads(record)
        return {"status": value["status"], "started": -value["started"]}

    by_n.schema = ColumnSchema(  # type: ignore[attr-defined]
        tag="other/1", scalars=("status", "started")
    )
    assert _all_pages(index, query, by_n) == ["r0", "r1", "r2", "r3"]
    names = {row[0] for row in _sql(backend, _COLUMNS_OF, backend.schema)}
    assert names == {"id", "text", "c_status", "c_started"}
    assert _all_pages(index, query) == ["r3", "r2", "r1", "r0"]


_COLUMNS_OF = (
    "SELECT column_name FROM information_schema.columns "
    "WHERE table_schema = %s AND table_name = 'run_columns'"
)


def test_a_value_with_no_key_is_answered_by_the_scan_and_rolled_back(
    backend: PostgresObjects,
) -> None:
    index = backend.index()
    for number in range(3):
        _put(index, f"r{number}", {"status": "running", "started": number})
    query = RunQuery(equal={"status": "running"}, limit=2)
    assert _all_pages(index, query) == ["r2", "r1", "r0"]
    # PostgreSQL text holds no NUL: this record's name has no key.
    _put(index, "r1", {"status": "running", "started": 1, "name": "a\0b"})
    assert _all_pages(index, query) == _scan_pages(index, query) == ["r2", "r1", "r0"]
    # The catch-up that failed left the table as it was, to be caught up later.
    assert _kept_rows(backend) == 3
    _put(index, "r1", {"status": "failed", "started": 1})
    assert _all_pages(index, query) == ["r2", "r0"]
    assert _kept_rows(backend) == 3


def test_a_store_of_version_1_is_migrated_and_queried(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.fresh_url()
    backend = PostgresObjects(url)
    for number in range(5):
        _put(backend.index(), f"r{number}", {"status": "running", "started": number})
    backend.close()
    # Back to the layout of version 1: no feed, no trigger.
    _sql(
        backend,
        "DROP TRIGGER runs_changed ON {schema}.runs; "
        "DROP TABLE {schema}.run_changes, {schema}.run_columns_state; "
        "DROP FUNCTION {schema}.run_changed(); "
        "UPDATE {schema}.enact_version SET version = 1",
    )
    backend = PostgresObjects(url)
    try:
        assert _sql(backend, "SELECT version FROM {schema}.enact_version") == [(2,)]
        index = backend.index()
        query = RunQuery(equal={"status": "running"}, limit=2)
        assert _all_pages(index, query) == ["r4", "r3", "r2", "r1", "r0"]
        _put(index, "r9", {"status": "running", "started": 9})
        assert index.query_runs(query, table_columns).runs[0][0] == "r9"
    finally:
        backend.close()


def test_queries_from_many_threads_at_once_agree(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.fresh_url()
    backends = [PostgresObjects(url) for _ in range(4)]
    try:
        for number in range(40):
            status = STATUSES[number % 3]
            _put(
                backends[0].index(), f"r{number:02d}", {"status": status, "started": 0}
            )
        query = RunQuery(equal={"status": "failed"}, order_by="started", limit=3)
        expected = _scan_pages(backends[0].index(), query)
        start = threading.Barrier(len(backends))
        found: list[list[str]] = []
        failures: list[BaseException] = []

        def work(backend: PostgresObjects) -> None:
            try:
                start.wait(timeout=60)
                found.append(_all_pages(backend.index(), query))
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=work, args=(b,)) for b in backends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures
        assert found == [expected] * len(backends)
    finally:
        for backend in backends:
            backend.close()


def test_a_page_is_an_indexed_select(backend: PostgresObjects) -> None:
    index = backend.index()
    for number in range(200):
        _put(index, f"r{number:03d}", {"status": STATUSES[number % 3], "started": 0})
    query = RunQuery(equal={"status": "failed"}, limit=2)
    assert len(index.query_runs(query, table_columns).runs) == 2
    plan = _sql(
        backend,
        "EXPLAIN SELECT id FROM {schema}.run_columns WHERE c_status = ANY(%s) "
        "ORDER BY c_started DESC, id DESC LIMIT 3",
        [sort_key("failed")],
    )
    text = "\n".join(row[0] for row in plan)
    assert "Index" in text and "Seq Scan" not in text, text


def test_page_runs_on_postgres_pages_through_real_runs(
    postgres_server: PostgresServer,
) -> None:
    with enact.open_store(postgres_server.fresh_url()):
        for number in range(7):
            enact.run(Leaf(), enact.Int(number), tags=["odd"] * (number % 2))
            if number % 3 == 0:
                enact.run(Fails())
        everything = runs.list_runs(status=RunStatus.FINISHED)
        assert len(everything) == 7
        seen: list[str] = []
        cursor = None
        while True:
            page = runs.page_runs(status="finished", limit=3, cursor=cursor)
            seen.extend(info.id for info in page.runs)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [info.id for info in everything]
        odd = runs.page_runs(tag="odd", limit=None).runs
        assert [info.id for info in odd] == [
            info.id for info in everything if "odd" in info.tags
        ]
