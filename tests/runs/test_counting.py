"""Counting runs: every store's count is exactly the listing's.

``runs.count_runs`` counts in the index's table of columns (memory, file,
SQLite and PostgreSQL stores); its total must equal
``len(search(list_runs(...), words))`` and its damaged records those
``list_runs`` names, for any runs, filters and later changes.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import runs
from enact._runs import paging
from enact._runs.listing import search
from enact._runs.records import Owner, RunInfo, RunStatus
from enact.backends import column_cache
from enact.references import Ref, Store
from stores.postgres_server import PostgresServer

REQUEST = Ref("0" * 64)
ALIVE = Owner("another-host", 1, 1)  # another host's process counts as alive
DEAD = Owner(socket.gethostname(), 2**30, 1)  # no such pid
words = st.sampled_from(["", "ab", "abc", "AB", "b-", "zz", "run-00", "agent"])
Change = RunInfo | str | bytes


@st.composite
def infos(draw: st.DrawFn, number: int) -> RunInfo:
    status = draw(st.sampled_from(list(RunStatus)))
    stored = RunStatus.RUNNING if status is RunStatus.CRASHED else status
    running = stored is RunStatus.RUNNING
    return RunInfo(
        id=f"run-{number:03d}",
        component=draw(st.sampled_from(["m.Agent", "m.Judge", "n.ÄGENT"])),
        stored_status=stored,
        started=float(draw(st.integers(0, 5))),
        ended=None,
        request=REQUEST,
        parent=draw(st.none() | st.sampled_from(["run-000", "run-001"])),
        name=draw(st.none() | st.sampled_from(["abc", "x-ab", "b-zz"])),
        tags=tuple(draw(st.lists(st.sampled_from(["a", "b", "ab"]), max_size=2))),
        error=draw(st.none() | words),
        owner=(DEAD if status is RunStatus.CRASHED else ALIVE) if running else None,
    )


@st.composite
def changes(draw: st.DrawFn) -> tuple[list[Change], list[Change]]:
    """Records first, then later changes: a new or changed run, a deleted
    id (a str) or a damaged record (bytes, kept under the next number): one
    that does not parse, or one naming another run."""

    def change(number: int) -> Change:
        kind = draw(st.integers(0, 6))
        if kind == 0:
            return f"run-{number:03d}"
        if kind == 1:
            return b"{not json" + str(number).encode()
        if kind == 2:
            return draw(infos(number + 50)).to_bytes()
        return draw(infos(number))

    first = [change(n) for n in range(draw(st.integers(0, 10)))]
    later = [change(draw(st.integers(0, 14))) for _ in range(draw(st.integers(0, 5)))]
    return first, later


filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from([s.value for s in RunStatus]),
        "component": st.sampled_from(["Agent", "m.", "ÄGENT", "agent"]),
        "tag": st.sampled_from(["a", "ab", "c"]),
        "since": st.integers(0, 6).map(float),
        "until": st.integers(0, 6).map(float),
        "parent": st.sampled_from(["run-000", "run-001", "run-009"]),
        "search": st.lists(words, max_size=2).map(" ".join),
    },
)


def _put(store: Store, number: int, change: Change) -> None:
    if isinstance(change, str):
        store.index.update_run(change, lambda _old: None)
        return
    data = change if isinstance(change, bytes) else change.to_bytes()
    run_id = f"run-{number:03d}" if isinstance(change, bytes) else change.id
    store.index.update_run(run_id, lambda _old: data)


def _counts_as_listed(store: Store, wanted: dict[str, Any]) -> None:
    given_filters = {k: v for k, v in wanted.items() if k != "search"}
    with store:
        listed = runs.list_runs(**given_filters)
        expected = len(search(listed, wanted.get("search")))
        counted = runs.count_runs(**wanted)
    assert counted.total == expected
    assert sorted(str(d.run_id) for d in counted.damaged) == sorted(
        str(d.run_id) for d in listed.damaged
    )


def _story(store: Store, story: tuple[list[Change], list[Change]], wanted: Any) -> None:
    first, later = story
    for number, change in enumerate(first):
        _put(store, number, change)
    _counts_as_listed(store, wanted)
    # Changes after the table was made: it catches up.
    for number, change in enumerate(later):
        _put(store, 20 + number, change)
    _counts_as_listed(store, wanted)


@settings(max_examples=80, deadline=None)
@given(story=changes(), wanted=filters, trigram=st.booleans())
def test_every_store_counts_what_the_listing_keeps(
    tmp_path_factory: pytest.TempPathFactory,
    story: tuple[list[Change], list[Change]],
    wanted: dict[str, Any],
    trigram: bool,
) -> None:
    root = tmp_path_factory.mktemp("count")
    trigram = trigram and column_cache.has_trigram()
    with mock.patch.object(column_cache, "has_trigram", lambda: trigram):
        for url in ("memory://", str(root / "f"), f"sqlite:///{root}/s.db"):
            store = enact.open_store(url)
            try:
                _story(store, story, wanted)
            finally:
                store.close()


@pytest.fixture(scope="module")
def postgres_store(postgres_server: PostgresServer) -> Iterator[Store]:
    """One PostgreSQL store for the examples of a property (emptied by each)."""
    store = enact.open_store(postgres_server.fresh_url())
    yield store
    store.close()


@settings(max_examples=40, deadline=None)
@given(story=changes(), wanted=filters)
def test_postgres_counts_what_the_listing_keeps(
    postgres_store: Store,
    story: tuple[list[Change], list[Change]],
    wanted: dict[str, Any],
) -> None:
    for run_id, _ in postgres_store.index.scan_runs().records:
        postgres_store.index.update_run(run_id, lambda _old: None)
    _story(postgres_store, story, wanted)


def _fill(store: Store) -> None:
    for number in range(30):
        status = (RunStatus.FAILED, RunStatus.FINISHED)[number % 2]
        info = RunInfo(
            id=f"run-{number:03d}",
            component="m.Agent",
            stored_status=status,
            started=float(number),
            ended=None,
            request=REQUEST,
            error="no luck" if status is RunStatus.FAILED else None,
        )
        _put(store, number, info)
    _put(store, 99, b"{not json")


@pytest.mark.parametrize("url", ["memory://", "file", "sqlite"])
def test_a_count_reads_no_record_but_the_damaged(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = {"file": str(tmp_path / "f"), "sqlite": f"sqlite:///{tmp_path}/s.db"}.get(
        url, url
    )
    store = enact.open_store(url)
    _fill(store)
    assert runs.count_runs(store=store).total == 30  # builds the table
    read: list[str] = []
    get_run = store.index.get_run

    def reading(run_id: str) -> bytes | None:
        read.append(run_id)
        return get_run(run_id)

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("every record read")

    monkeypatch.setattr(paging, "read_runs", refused)
    monkeypatch.setattr(store.index, "get_run", reading)
    monkeypatch.setattr(store.index, "scan_runs", refused)
    monkeypatch.setattr(store.index, "list_runs", refused)
    counted = runs.count_runs(status="failed", search="LUCK", store=store)
    assert counted.total == 15
    assert [d.run_id for d in counted.damaged] == ["run-099"]
    assert read == ["run-099"]  # only the damaged record, to say what is wrong
    store.close()
