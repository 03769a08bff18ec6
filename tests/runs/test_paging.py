"""page_runs: a page at a time, the same runs in the same order as list_runs."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import runs
from enact._runs.listing import SORT_KEYS, search
from enact._runs.records import Owner

COMPONENTS = ("m.Agent", "m.Judge", "n.agent")
# Stored statuses; "dead" is a running run whose process is gone (crashed).
STATUSES = ("finished", "failed", "waiting", "running", "dead")
KINDS = ("memory", "file", "sqlite")


@enact.register
def _one(x: int) -> int:
    return x


def _template() -> dict[str, Any]:
    store = enact.open_store("memory://")
    with store:
        run = runs.run(_one, 1)
    record = store.index.get_run(run.id)
    assert record is not None
    value: dict[str, Any] = json.loads(record)
    return value


TEMPLATE = _template()
ALIVE = Owner.this_process()
DEAD = {"host": ALIVE.host, "pid": ALIVE.pid, "start": ALIVE.start + 12345}


def _record(number: int, fields: dict[str, Any]) -> tuple[str, bytes]:
    run_id = f"20260101-000000-{number:08x}"
    status = fields["status"]
    record = {
        **TEMPLATE,
        "id": run_id,
        "component": fields["component"],
        "status": "running" if status == "dead" else status,
        "started": fields["started"],
        "ended": None if status in ("running", "dead") else fields["started"] + 0.5,
        "tags": fields["tags"],
        "name": fields["name"],
        "error": "Boom" if status == "failed" else None,
        "owner": DEAD
        if status == "dead"
        else {"host": ALIVE.host, "pid": ALIVE.pid, "start": ALIVE.start},
    }
    return run_id, json.dumps(record).encode()


def _open(kind: str, root: str) -> enact.Store:
    if kind == "memory":
        return enact.open_store("memory://")
    if kind == "file":
        return enact.open_store(os.path.join(root, "files"))
    return enact.open_store(f"sqlite:///{root}/store.db")


fields = st.fixed_dictionaries(
    {
        "status": st.sampled_from(STATUSES),
        "component": st.sampled_from(COMPONENTS),
        "started": st.integers(0, 5).map(lambda n: 1.7e9 + n),
        "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True),
        "name": st.none() | st.sampled_from(["alpha", "Beta one"]),
    }
)

filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["finished", "failed", "running", "crashed"]),
        "component": st.sampled_from(["Agent", "agent", "m.", "x"]),
        "tag": st.sampled_from(["a", "b"]),
        "since": st.integers(0, 5).map(lambda n: 1.7e9 + n),
        "until": st.integers(0, 5).map(lambda n: 1.7e9 + n),
        "search": st.sampled_from(["alpha", "BETA", "boom", "judge one"]),
    },
)


def _expected(
    store: enact.Store, wanted: dict[str, Any], order_by: str, descending: bool
) -> list[str]:
    listed = {key: value for key, value in wanted.items() if key != "search"}
    with store:
        found = search(runs.list_runs(**listed), wanted.get("search"))
    key = SORT_KEYS[order_by]
    if order_by == "status":
        # A page orders by the recorded status: a crashed run among running.
        key = lambda info: info.stored_status.value  # noqa: E731
    found.sort(key=lambda info: (key(info), info.id), reverse=descending)
    return [info.id for info in found]


def _paged(
    store: enact.Store, wanted: dict[str, Any], limit: int, **order: Any
) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = runs.page_runs(
            **wanted, **order, limit=limit, cursor=cursor, store=store
        )
        assert len(page.runs) <= limit
        assert page.runs or page.next_cursor is None
        seen.extend(info.id for info in page.runs)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("the pages never end")


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(fields, max_size=14),
    later=st.lists(st.tuples(st.integers(0, 16), fields | st.none()), max_size=4),
    wanted=filters,
    order_by=st.sampled_from(sorted(SORT_KEYS)),
    descending=st.booleans(),
    limit=st.integers(1, 5),
)
def test_paging_lists_what_list_runs_lists(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[dict[str, Any]],
    later: list[tuple[int, dict[str, Any] | None]],
    wanted: dict[str, Any],
    order_by: str,
    descending: bool,
    limit: int,
) -> None:
    root = str(tmp_path_factory.mktemp("paging"))
    for kind in KINDS:
        store = _open(kind, root)
        index = store.index
        for number, row in enumerate(rows):
            run_id, data = _record(number, row)
            index.update_run(run_id, lambda _old, d=data: d)
        order = {"order_by": order_by, "descending": descending}
        expected = _expected(store, wanted, order_by, descending)
        assert _paged(store, wanted, limit, **order) == expected, kind
        # Written after the first query: the next ones see them.
        for number, row in later:
            if row is None:
                index.update_run(f"20260101-000000-{number:08x}", lambda _old: None)
            else:
                run_id, data = _record(number, row)
                index.update_run(run_id, lambda _old, d=data: d)
        expected = _expected(store, wanted, order_by, descending)
        assert _paged(store, wanted, limit, **order) == expected, kind
        store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_page_of_none_and_bad_arguments(tmp_path: Any, kind: str) -> None:
    store = _open(kind, str(tmp_path))
    for number in range(3):
        run_id, data = _record(
            number,
            {
                "status": "failed",
                "component": "m.Agent",
                "started": 1.7e9 + number,
                "tags": [],
                "name": None,
            },
        )
        store.index.update_run(run_id, lambda _old, d=data: d)
    assert runs.page_runs(limit=0, store=store) == runs.RunsPage([], None)
    everything = runs.page_runs(limit=None, store=store)
    assert len(everything.runs) == 3
    assert everything.next_cursor is None
    with pytest.raises(ValueError, match="negative"):
        runs.page_runs(limit=-1, store=store)
    with pytest.raises(ValueError, match="sorted by"):
        runs.page_runs(order_by="colour", store=store)
    with pytest.raises(ValueError, match="cursor"):
        runs.page_runs(cursor="not a cursor!", store=store)
    with pytest.raises(ValueError):
        runs.page_runs(status="sleeping", store=store)
    store.close()
