"""Searching runs: every store's answer is exactly ``listing.matches``.

The file, SQLite and memory stores look words up in a trigram index of the
search text (``column_cache``), PostgreSQL in a ``pg_trgm`` GIN index; each
must page through exactly the runs the plain filter keeps, in order, before
and after runs are added, changed and deleted.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import runs
from enact._runs.listing import matches, output_text, search
from enact._runs.records import OUTPUT_TEXT, RunInfo, RunStatus
from enact.backends import column_cache
from enact.backends.postgres import query as pg_query
from enact.references import Ref, Store
from runs.flows import Leaf
from stores.postgres_server import PostgresServer

# Few letters, so that words recur across runs; quotes, LIKE's wildcards
# and its escape, letters whose lower case is longer (İ), and a NUL.
LETTERS = "abcAB-_%\\\"' éİß\0"
texts = st.text(alphabet=LETTERS, max_size=12)
REQUEST = Ref("0" * 64)


@st.composite
def infos(draw: st.DrawFn, number: int) -> RunInfo:
    finished = draw(st.booleans())
    return RunInfo(
        id=f"run-{number:03d}",
        component=draw(st.sampled_from(["m.Agent", "m.Judge", "n.ÄGENT"])),
        stored_status=RunStatus.FINISHED if finished else RunStatus.FAILED,
        started=float(draw(st.integers(0, 5))),
        ended=None,
        request=REQUEST,
        name=draw(st.none() | texts),
        tags=tuple(draw(st.lists(texts, max_size=2))),
        error=None if finished else draw(texts),
        output_text=draw(texts) if finished else None,
    )


@st.composite
def stories(draw: st.DrawFn) -> tuple[list[RunInfo], list[RunInfo | str], str]:
    """Runs, later changes (a new or changed run, or a deleted id) and words
    (often parts of the runs' own texts, so that they match)."""
    first = [draw(infos(number)) for number in range(draw(st.integers(0, 10)))]
    later: list[RunInfo | str] = []
    for _ in range(draw(st.integers(0, 5))):
        number = draw(st.integers(0, 14))
        if draw(st.integers(0, 3)) == 0:
            later.append(f"run-{number:03d}")
        else:
            later.append(draw(infos(number)))
    seen = [
        text
        for info in first + [i for i in later if isinstance(i, RunInfo)]
        for text in (info.name, info.error, info.output_text, *info.tags)
        if text
    ]
    part = st.just("")
    if seen:
        part = st.sampled_from(seen).flatmap(
            lambda text: st.tuples(
                st.integers(0, len(text)), st.integers(0, len(text))
            ).map(lambda ends: text[min(ends) : max(ends)])
        )
    words = draw(st.lists(part | texts | st.just("run-00"), min_size=1, max_size=2))
    return first, later, " ".join(words)


def _put(store: Store, change: RunInfo | str) -> None:
    if isinstance(change, str):
        store.index.update_run(change, lambda _old: None)
    else:
        data = change.to_bytes()
        store.index.update_run(change.id, lambda _old: data)


def _paged(store: Store, words: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = runs.page_runs(search=words, limit=limit, cursor=cursor, store=store)
        seen.extend(info.id for info in page.runs)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("the pages never end")


def _expected(store: Store, words: str) -> list[str]:
    found = [RunInfo.from_bytes(record) for _, record in store.index.list_runs()]
    kept = [info for info in found if matches(info, words)]
    return [info.id for info in sorted(kept, key=lambda i: (i.started, i.id))][::-1]


def _answers_as_matches(
    store: Store, story: tuple[list[RunInfo], list[RunInfo | str], str], limit: int
) -> None:
    first, later, words = story
    for info in first:
        _put(store, info)
    assert _paged(store, words, limit) == _expected(store, words)
    # Changes after the table was made: it catches up.
    for change in later:
        _put(store, change)
    assert _paged(store, words, limit) == _expected(store, words)


@settings(max_examples=80, deadline=None)
@given(
    story=stories(),
    limit=st.integers(1, 4),
    mode=st.sampled_from(["rare", "common", "no trigram"]),
)
def test_every_store_finds_what_matches_finds(
    tmp_path_factory: pytest.TempPathFactory,
    story: tuple[list[RunInfo], list[RunInfo | str], str],
    limit: int,
    mode: str,
) -> None:
    # A rare word is looked up in the index, a common one checked row by
    # row; an SQLite without the trigram tokenizer checks every word so.
    root = tmp_path_factory.mktemp("search")
    trigram = mode != "no trigram" and column_cache.has_trigram()
    with (
        mock.patch.object(
            column_cache, "_COMMON_MEMBERS", 0 if mode == "common" else 10**9
        ),
        mock.patch.object(column_cache, "has_trigram", lambda: trigram),
        mock.patch.object(column_cache, "_CHUNK", 2),  # runs forgotten in parts
    ):
        for url in ("memory://", str(root / "f"), f"sqlite:///{root}/s.db"):
            store = enact.open_store(url)
            try:
                _answers_as_matches(store, story, limit)
            finally:
                store.close()
        if trigram:  # the index was made and is kept up to date
            with sqlite3.connect(root / "s.db") as db:
                kept = db.execute("SELECT count(*) FROM run_columns").fetchone()[0]
                indexed = db.execute(
                    "SELECT count(*) FROM run_words WHERE run_words MATCH '\"run\"'"
                ).fetchone()[0]
            assert indexed == kept


@pytest.fixture(scope="module")
def postgres_store(postgres_server: PostgresServer) -> Iterator[Store]:
    """One PostgreSQL store for the examples of a property (emptied by each)."""
    store = enact.open_store(postgres_server.fresh_url())
    yield store
    store.close()


@settings(max_examples=40, deadline=None)
@given(story=stories(), limit=st.integers(1, 4))
def test_postgres_finds_what_matches_finds(
    postgres_store: Store,
    story: tuple[list[RunInfo], list[RunInfo | str], str],
    limit: int,
) -> None:
    for run_id, _ in postgres_store.index.list_runs():
        _put(postgres_store, run_id)
    _answers_as_matches(postgres_store, story, limit)


# -- what it costs -----------------------------------------------------------


def _steps(db: sqlite3.Connection, work: Any) -> int:
    """How many SQLite virtual machine steps ``work`` takes (counted in
    hundreds): a measure of rows read that no other work on the machine
    changes."""
    count = [0]

    def step() -> int:
        count[0] += 1
        return 0

    db.set_progress_handler(step, 100)
    try:
        work()
    finally:
        db.set_progress_handler(None, 100)
    return count[0]


def _search_steps(runs_count: int, words: str, trigram: bool) -> int:
    store = enact.open_store("memory://")
    index = store.index
    for number in range(runs_count):
        info = RunInfo(
            id=f"run-{number:06d}",
            component="m.Agent",
            stored_status=RunStatus.FINISHED,
            started=float(number),
            ended=None,
            request=REQUEST,
            output_text="zebra" if number % 1000 == 7 else f"answer {number}",
        )
        _put(store, info)
    with mock.patch.object(column_cache, "has_trigram", lambda: trigram):
        page = runs.page_runs(search=words, limit=50, store=store)  # builds it
        steps = _steps(
            index._table,  # type: ignore[attr-defined]
            lambda: runs.page_runs(search=words, limit=50, store=store),
        )
    assert [info.output_text for info in page.runs] == ["zebra"] * (runs_count // 1000)
    store.close()
    return steps


@pytest.mark.skipif(not column_cache.has_trigram(), reason="no FTS5 trigram")
def test_a_rare_word_costs_its_rows_not_the_table() -> None:
    small, large = (_search_steps(n, "zebra", True) for n in (2000, 20000))
    assert large < 4 * small + 50, (small, large)
    # Without the index the same search reads every row: ten times as many.
    small, large = (_search_steps(n, "zebra", False) for n in (2000, 20000))
    assert large > 5 * small, (small, large)


# -- outputs -----------------------------------------------------------------


def test_a_finished_runs_output_is_searched(store: Store) -> None:
    with store:
        found = runs.run(Leaf(), enact.Int(20613))
        other = runs.run(Leaf(), enact.Int(7))  # 14: no "41226" in it
        assert found.info().output_text == str(found.output())
        word = str(found.output())
        assert [i.id for i in runs.page_runs(search=word).runs] == [found.id]
        assert [i.id for i in search(runs.list_runs(), word)] == [found.id]
        assert other.info().output_text == "14"


@enact.register
@dataclasses.dataclass
class Report(enact.Resource):
    """An output with fields of several kinds."""

    title: str
    scores: list[int]
    blob: bytes


def test_the_output_text_is_bounded_and_reads_no_store() -> None:
    value = Report("Zebra", [1, 2], b"hidden")
    assert output_text(value) == "Zebra 1 2"
    assert output_text(enact.Str("x" * 1000)) == "x" * OUTPUT_TEXT
    assert output_text({"k": [True, 1.5, None]}) == "k True 1.5"
    assert output_text(Ref("0" * 64)) == ""
    nested: list[Any] = []
    for _ in range(100):
        nested = [nested, "deep"]
    assert "deep" in output_text(nested)


def test_old_records_without_output_text_still_read() -> None:
    info = RunInfo(
        id="run-1",
        component="m.Agent",
        stored_status=RunStatus.FINISHED,
        started=1.0,
        ended=2.0,
        request=REQUEST,
    )
    assert b"output_text" not in info.to_bytes()  # byte for byte as before
    said = info.replace(output_text="the answer")
    assert RunInfo.from_bytes(said.to_bytes()).output_text == "the answer"
    assert RunInfo.from_bytes(info.to_bytes()) == info


# -- PostgreSQL without pg_trgm ---------------------------------------------


def _plan(url: str, schema: str, word: str) -> str:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f'SET search_path = "{schema}"')
        db.execute("SET enable_seqscan = off")  # an index, wherever there is one
        rows = db.execute(
            "EXPLAIN SELECT id FROM run_columns WHERE text LIKE %s "
            "ORDER BY c_started DESC, id DESC LIMIT 51",
            (f"%{word}%",),
        ).fetchall()
    return "\n".join(row[0] for row in rows)


def test_postgres_without_pg_trgm_reads_rows_then_indexes_once_installed(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    # A database of its own, where the extension is not installed yet; the
    # name of a missing extension stands for a refused CREATE EXTENSION.
    postgres_server.create_database("no_trgm")
    base = postgres_server.url("no_trgm")
    schema = "s_" + tmp_path.name.replace("-", "_")[-20:]
    with psycopg.connect(base, autocommit=True) as db:
        db.execute("DROP EXTENSION IF EXISTS pg_trgm CASCADE")
    store = enact.open_store(f"{base}?schema={schema}")
    try:
        for number in range(300):
            info = RunInfo(
                id=f"run-{number:04d}",
                component="m.Agent",
                stored_status=RunStatus.FINISHED,
                started=float(number),
                ended=None,
                request=REQUEST,
                output_text="zebra" if number == 7 else f"answer {number}",
            )
            _put(store, info)
        with mock.patch.object(pg_query, "_EXTENSION", "pg_trgm_not_here"):
            page = runs.page_runs(search="zebra", store=store)
        assert [info.id for info in page.runs] == ["run-0007"]
        assert "run_columns_words" not in _plan(base, schema, "zebra")
        with psycopg.connect(base, autocommit=True) as db:
            db.execute("CREATE EXTENSION pg_trgm SCHEMA public")
        page = runs.page_runs(search="zebra", store=store)
        assert [info.id for info in page.runs] == ["run-0007"]
        assert "run_columns_words" in _plan(base, schema, "zebra")
    finally:
        store.close()
