"""Store layout versions: recorded on opening, and newer ones refused."""

from __future__ import annotations

import os
import pathlib
import sqlite3

import pytest

import enact
from enact.backends import BackendError, FileObjects, SQLiteObjects, StoreVersionError
from enact.backends.files import migrations as file_migrations
from enact.backends.sqlite import migrations as sqlite_migrations


def user_version(path: pathlib.Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_a_new_sqlite_store_records_the_newest_schema(tmp_path: pathlib.Path) -> None:
    SQLiteObjects(tmp_path / "s.db").close()
    assert user_version(tmp_path / "s.db") == sqlite_migrations.MIGRATIONS[-1].version


def test_an_unversioned_sqlite_store_is_migrated_and_keeps_its_objects(
    tmp_path: pathlib.Path,
) -> None:
    store = enact.SQLiteStore(tmp_path / "source.db")
    ref = store.commit(enact.Str("kept"))
    store.close()
    with sqlite3.connect(tmp_path / "source.db") as source:
        rows = source.execute("SELECT digest, data FROM objects").fetchall()
    source.close()
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as db:  # as a store from before versions
        db.execute("CREATE TABLE objects (digest TEXT PRIMARY KEY, data BLOB NOT NULL)")
        db.executemany("INSERT INTO objects VALUES (?, ?)", rows)
    db.close()
    again = enact.SQLiteStore(path)
    assert again.checkout(ref) == enact.Str("kept")
    again.close()
    assert user_version(path) == sqlite_migrations.MIGRATIONS[-1].version


def test_a_newer_sqlite_store_is_refused_naming_both_versions(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "s.db"
    SQLiteObjects(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreVersionError) as caught:
        SQLiteObjects(path)
    error = caught.value
    newest = sqlite_migrations.MIGRATIONS[-1].version
    assert (error.found, error.supported, error.location) == (99, newest, str(path))
    assert str(path) in str(error) and "99" in str(error)
    assert f"version {newest}" in str(error)
    assert user_version(path) == 99  # left as it was


def test_a_file_store_records_the_chunked_layout(tmp_path: pathlib.Path) -> None:
    FileObjects(tmp_path / "f").close()
    assert file_migrations.version_of(str(tmp_path / "f")) == 2
    assert (tmp_path / "f" / file_migrations.LAYOUT_FILE).read_text() == "2\n"


def test_a_file_store_without_a_version_file_is_version_1_and_migrates(
    tmp_path: pathlib.Path,
) -> None:
    root = tmp_path / "f"
    store = enact.FileStore(root)
    ref = store.commit(enact.Str("kept"))
    store.close()
    (root / file_migrations.LAYOUT_FILE).unlink()  # as a store from before
    assert file_migrations.version_of(str(root)) == 1
    again = enact.FileStore(root)
    assert again.checkout(ref) == enact.Str("kept")
    again.close()
    assert file_migrations.version_of(str(root)) == 2


def test_a_newer_file_store_is_refused_naming_both_versions(
    tmp_path: pathlib.Path,
) -> None:
    root = tmp_path / "f"
    FileObjects(root).close()
    (root / file_migrations.LAYOUT_FILE).write_text("7\n")
    with pytest.raises(StoreVersionError) as caught:
        enact.FileStore(root)
    assert (caught.value.found, caught.value.supported) == (7, 2)
    assert str(root) in str(caught.value)


def test_an_unreadable_version_file_is_named(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "f"
    os.makedirs(root)
    (root / file_migrations.LAYOUT_FILE).write_bytes(b"seven")
    with pytest.raises(BackendError, match="layout-version does not hold"):
        FileObjects(root)


def test_migrations_are_in_order_from_one() -> None:
    for steps in (file_migrations.MIGRATIONS, sqlite_migrations.MIGRATIONS):
        assert [step.version for step in steps] == list(range(1, len(steps) + 1))
