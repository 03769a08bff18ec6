"""The keyed layout of SQLite stores: objects keyed by their digest's bytes,
``objects`` a view of them; old stores migrated on opening."""

from __future__ import annotations

import json
import pathlib
import shutil
import sqlite3
import threading

import pytest

import enact
from enact.backends import SQLiteObjects, StoreVersionError
from enact.backends.sqlite import keyed
from enact.backends.sqlite import migrations as sqlite_migrations

GOLDEN = pathlib.Path(__file__).parent.parent / "golden"
KEYED = 4


def query(path: pathlib.Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(path) as db:
        rows = db.execute(sql, args).fetchall()
    db.close()
    return rows


def golden_copy(tmp_path: pathlib.Path, name: str) -> tuple[pathlib.Path, dict]:
    path = tmp_path / name / "store.db"
    path.parent.mkdir()
    shutil.copy(GOLDEN / name / "store.db", path)
    return path, json.loads((GOLDEN / name / "manifest.json").read_text())


def old_store(path: pathlib.Path, rows: list[tuple[object, bytes]]) -> None:
    """A database in the layout before version 4 (text digests)."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE objects (digest TEXT PRIMARY KEY, data BLOB NOT NULL, "
            "written REAL)"
        )
        db.executemany("INSERT INTO objects VALUES (?, ?, NULL)", rows)
    db.close()


def objects_of(*values: enact.Resource) -> list[tuple[str, bytes]]:
    """(digest, bytes) of each value, as a store writes them."""
    backend = enact.InMemoryBackend()
    store = enact.Store(backend)
    refs = [store.commit(value) for value in values]
    return [(ref.digest, backend.get_many([ref.digest])[0]) for ref in refs]


def test_the_newest_layout_is_keyed() -> None:
    assert sqlite_migrations.MIGRATIONS[KEYED - 1].version == KEYED


def test_a_layout_3_store_is_migrated_and_keeps_every_object(
    tmp_path: pathlib.Path,
) -> None:
    path, manifest = golden_copy(tmp_path, "sqlite-layout3")
    assert query(path, "PRAGMA user_version") == [(3,)]
    before = {
        (digest, bytes(data))
        for digest, data in query(path, "SELECT digest, data FROM objects")
    }
    store = enact.SQLiteStore(path)
    assert query(path, "PRAGMA user_version") == [(KEYED,)]
    assert {ref.digest for ref in store.iter_refs()} == {d for d, _ in before}
    assert store.verify() == []
    with store:
        assert int(enact.Ref(manifest["refs"]["dice_run"])().get_output()) == 16
    store.close()
    # The rows moved: keyed by 32 bytes, the view shows them as before.
    assert query(path, "SELECT count(*) FROM object_rows") == [(len(before),)]
    assert query(
        path, "SELECT count(*) FROM object_rows WHERE typeof(digest) != 'blob'"
    ) == [(0,)]
    assert {
        (digest, bytes(data))
        for digest, data in query(path, "SELECT digest, data FROM objects")
    } == before
    # An old store keeps its page size; a new one gets the knob's.
    assert query(path, "PRAGMA page_size") == [(4096,)]
    SQLiteObjects(tmp_path / "new.db").close()
    assert query(tmp_path / "new.db", "PRAGMA page_size") == [(keyed.PAGE_SIZE,)]


def test_the_layout_4_golden_store_reads_as_it_is(tmp_path: pathlib.Path) -> None:
    path, manifest = golden_copy(tmp_path, "sqlite-layout4")
    assert manifest["layout"] == KEYED
    store = enact.SQLiteStore(path)
    assert store.verify() == []
    with store:
        failed = enact.Ref(manifest["refs"]["failed"])()
        assert "ValueError: always" in str(failed.get_raised())
    store.close()


def test_a_store_of_a_newer_layout_is_refused_and_left_alone(
    tmp_path: pathlib.Path,
) -> None:
    path, _ = golden_copy(tmp_path, "sqlite-layout4")
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {KEYED + 1}")
    db.close()
    with pytest.raises(StoreVersionError) as caught:
        enact.SQLiteStore(path)
    assert (caught.value.found, caught.value.supported) == (KEYED + 1, KEYED)
    assert str(path) in str(caught.value) and "upgrade enact" in str(caught.value)
    assert query(path, "PRAGMA user_version") == [(KEYED + 1,)]


def test_the_migration_keeps_a_damaged_digest_and_verify_names_it(
    tmp_path: pathlib.Path,
) -> None:
    (key, data), (other, other_data) = objects_of(enact.Str("a"), enact.Str("b"))
    path = tmp_path / "old.db"
    # A digest that is no hex, and one that is 32 bytes (no text, never a key).
    old_store(path, [(key, data), ("not-a-digest", b"x"), (b"\x01" * 32, other_data)])
    store = enact.SQLiteStore(path)
    assert [ref.digest for ref in store.iter_refs()] == [key]
    damage = store.verify()
    assert sorted(d.key is None for d in damage) == [True, True]
    problems = " ".join(d.problem for d in damage)
    assert "not-a-digest" in problems and "damaged digest" in problems
    assert str(path) in problems
    assert store.checkout(enact.Ref(key)) == "a"
    assert not store.has(enact.Ref(other))
    # A collection removes the unreferenced object, and leaves the rows that
    # are no objects (a repair may need them).
    store.gc()
    assert not store.has(enact.Ref(key))
    assert query(path, "SELECT count(*) FROM object_rows") == [(2,)]
    store.close()


def test_writes_through_the_view_reach_the_store(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.db"
    store = enact.SQLiteStore(path)
    kept = store.commit(enact.Str("kept"))
    (key, data), (gone, _) = objects_of(enact.Str("by hand"), enact.Str("gone"))
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO objects (digest, data) VALUES (?, ?)", (key, data))
    db.close()
    assert store.checkout(enact.Ref(key)) == "by hand"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE objects SET data = ? WHERE digest = ?", (b"{}", key))
    db.close()
    damage = store.verify()
    assert [d.key for d in damage] == [key]
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM objects WHERE digest = ?", (key,))
    db.close()
    assert store.verify() == []
    assert {ref.digest for ref in store.iter_refs()} == {kept.digest}
    assert not store.has(enact.Ref(gone))
    store.close()


def test_a_key_cell_of_the_wrong_length_is_reported(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.db"
    store = enact.SQLiteStore(path)
    ref = store.commit(enact.Str("kept"))
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO object_rows (digest, data) VALUES (?, ?)",
            (bytes.fromhex(ref.digest)[:31], b"x"),
        )
    db.close()
    damage = store.verify()
    assert [d.key for d in damage] == [None]
    assert "damaged digest" in damage[0].problem
    assert list(store.iter_refs()) == [enact.Ref(ref.digest)]
    store.close()


def test_concurrent_writers_each_keep_every_object(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "s.db"
    SQLiteObjects(path).close()
    writers = 4
    start = threading.Barrier(writers, timeout=60)
    refs: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            store = enact.SQLiteStore(path)
            start.wait()
            # Some values shared by all writers: the same row, written by each.
            values = [enact.Str(f"{number}-{i}") for i in range(100)]
            values += [enact.Str(f"shared-{i}") for i in range(20)]
            refs[number] = [store.commit(value).digest for value in values]
            store.close()
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    written = {digest for digests in refs.values() for digest in digests}
    assert len(written) == writers * 100 + 20
    store = enact.SQLiteStore(path)
    assert {ref.digest for ref in store.iter_refs()} == written
    assert store.verify() == []
    store.close()


def test_two_openers_of_an_old_store_migrate_it_once(tmp_path: pathlib.Path) -> None:
    path, _ = golden_copy(tmp_path, "sqlite-layout3")
    rows = query(path, "SELECT count(*) FROM objects")
    start = threading.Barrier(2, timeout=60)
    opened: list[SQLiteObjects] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait()
            opened.append(SQLiteObjects(path))
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for backend in opened:
        backend.close()
    assert query(path, "PRAGMA user_version") == [(KEYED,)]
    assert query(path, "SELECT count(*) FROM object_rows") == rows


def test_the_page_size_knob_sets_new_stores_only(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    monkeypatch.setattr(keyed, "PAGE_SIZE", 8192)
    store = enact.SQLiteStore(path)
    ref = store.commit(enact.Str("kept"))
    store.close()
    assert query(path, "PRAGMA page_size") == [(8192,)]
    monkeypatch.setattr(keyed, "PAGE_SIZE", 65536)
    again = enact.SQLiteStore(path)
    assert again.checkout(ref) == "kept"
    again.close()
    assert query(path, "PRAGMA page_size") == [(8192,)]


def test_an_old_store_that_cannot_be_migrated_says_why(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = golden_copy(tmp_path, "sqlite-layout3")

    def read_only(db: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    # As a process without write access (root may write any file: the
    # failure SQLite would raise is raised in the migration's place).
    steps = [
        step._replace(apply=read_only) if step.version == KEYED else step
        for step in sqlite_migrations.MIGRATIONS
    ]
    monkeypatch.setattr(sqlite_migrations, "MIGRATIONS", steps)
    with pytest.raises(enact.backends.BackendError) as caught:
        SQLiteObjects(path)
    message = str(caught.value)
    assert str(path) in message and "readonly" in message
    assert "layout version 3" in message and "write access" in message
    assert query(path, "PRAGMA user_version") == [(3,)]
