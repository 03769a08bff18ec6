"""``enact.open_store``: every store by URL, and clear errors for bad ones."""

from __future__ import annotations

import pathlib

import pytest

import enact
from enact import _store_urls
from enact.backends import BackendError, FileObjects, MemoryObjects, SQLiteObjects


def _round_trip(store: enact.Store) -> None:
    with store:
        ref = enact.commit(enact.Str("by url"))
        assert ref.checkout() == enact.Str("by url")


def test_memory_url_opens_a_new_memory_store() -> None:
    store = enact.open_store("memory:")
    assert isinstance(store.backend, MemoryObjects)
    _round_trip(store)
    assert enact.open_store("memory:").backend is not store.backend


def test_plain_paths_open_directories_and_sqlite_files(tmp_path: pathlib.Path) -> None:
    directory = enact.open_store(tmp_path / "runs")
    assert isinstance(directory.backend, FileObjects)
    database = enact.open_store(str(tmp_path / "runs.db"))
    assert isinstance(database.backend, SQLiteObjects)
    for store in (directory, database):
        _round_trip(store)
        store.close()


def test_file_and_sqlite_urls(tmp_path: pathlib.Path, monkeypatch) -> None:
    directory = enact.open_store(f"file://{tmp_path}/a%20dir", fsync=True)
    assert isinstance(directory.backend, FileObjects)
    assert directory.location == str(tmp_path / "a dir")
    absolute = enact.open_store(f"sqlite:///{tmp_path}/abs.db")
    assert absolute.location == str(tmp_path / "abs.db")
    monkeypatch.chdir(tmp_path)
    relative = enact.open_store("sqlite:///rel.sqlite")
    assert relative.location == str(tmp_path / "rel.sqlite")
    for store in (directory, absolute, relative):
        _round_trip(store)
        store.close()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://ann:hunter2@cache/0", "unknown scheme 'redis'"),
        ("sqlite://no-slashes.db", "sqlite:///relative.db"),
        ("file://otherhost/x", "not a host"),
        ("memory:something", "write just memory:"),
    ],
)
def test_bad_urls_are_one_line_errors_with_the_password_masked(
    url: str, problem: str
) -> None:
    with pytest.raises(BackendError) as raised:
        enact.open_store(url)
    message = str(raised.value)
    assert problem in message
    assert "\n" not in message
    assert "hunter2" not in message


def test_mask_password() -> None:
    mask = _store_urls.mask_password
    assert mask("postgresql://ann:s3cr%40t@db:5432/runs") == (
        "postgresql://ann:***@db:5432/runs"
    )
    assert mask("postgresql://ann@db/runs") == "postgresql://ann@db/runs"
    assert mask("postgresql:///runs?host=/tmp&password=pw") == (
        "postgresql:///runs?host=/tmp&password=***"
    )
    assert mask("/plain/path") == "/plain/path"


def test_a_registered_scheme_opens_its_urls() -> None:
    seen = []

    def opener(url: str, options: dict) -> enact.Store:
        seen.append((url, options))
        return enact.InMemoryStore()

    _store_urls.register_scheme("testscheme", opener)
    try:
        store = enact.open_store("testscheme://bucket/prefix", region="x")
    finally:
        del _store_urls._SCHEMES["testscheme"]
    assert seen == [("testscheme://bucket/prefix", {"region": "x"})]
    _round_trip(store)


def test_a_windows_drive_is_a_path_not_a_scheme() -> None:
    assert _store_urls.scheme_of("C:/runs") is None
    assert _store_urls.local_store("C:/runs.db") == ("sqlite", "C:/runs.db")
