"""Saved places of a log's objects: the same index as parsing the log, and
a missing, damaged or stale places file is only ignored."""

from __future__ import annotations

import hashlib
import os
import pathlib
import struct
import subprocess
import sys
import time
from typing import Any

import pytest

import enact
from enact.backends import sessions
from enact.backends.files import objects, places
from enact.backends.files.objects import FileObjects

# More records than a log needs for its places to be saved.
_COUNT = places.MIN_RECORDS + 100


def _objects(start: int, count: int) -> list[tuple[str, bytes]]:
    found = []
    for number in range(start, start + count):
        data = f'{{"object": {number}, "pad": "{"x" * (number % 50)}"}}'.encode()
        found.append((hashlib.sha256(data).hexdigest(), data))
    return found


def _write(root: pathlib.Path, items: list[tuple[str, bytes]]) -> None:
    backend = FileObjects(root)
    try:
        # Batches below a pack's size: every one is appended to the log.
        for first in range(0, len(items), 32):
            backend.put_many([(k, [d]) for k, d in items[first : first + 32]])
    finally:
        backend.close()


def _log(root: pathlib.Path) -> str:
    (name,) = os.listdir(root / "logs")
    return str(root / "logs" / name)


def _parsed(root: pathlib.Path) -> dict[str, tuple[str, int, int]]:
    """The index a reader builds by parsing the logs (no places saved)."""
    saved = places.places_path(_log(root))
    kept = pathlib.Path(saved).read_bytes() if os.path.exists(saved) else None
    if kept is not None:
        os.unlink(saved)
    reader = FileObjects(root)
    try:
        reader._load_new_packs()
        return _index(reader)
    finally:
        reader.close()
        if kept is not None:
            pathlib.Path(saved).write_bytes(kept)


def _index(reader: FileObjects) -> dict[str, tuple[str, int, int] | None]:
    """Where a reader finds each object it has indexed."""
    return dict(reader._packed)


def _indexed(
    root: pathlib.Path,
) -> tuple[FileObjects, dict[str, tuple[str, int, int] | None]]:
    reader = FileObjects(root)
    reader._load_new_packs()
    return reader, _index(reader)


def test_a_writer_saves_its_logs_places_and_a_reader_uses_them(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _objects(0, _COUNT)
    _write(tmp_path, items)
    assert os.path.exists(places.places_path(_log(tmp_path)))
    expected = _parsed(tmp_path)

    parse = objects.parse_log

    def no_parsing(data: bytes, *args: Any) -> Any:
        assert not data, "records the places hold were parsed"
        return parse(data, *args)

    monkeypatch.setattr(objects, "parse_log", no_parsing)
    reader, found = _indexed(tmp_path)
    try:
        assert found == expected and len(found) == _COUNT
        keys = [key for key, _ in items]
        assert reader.get_many(keys) == [data for _, data in items]
    finally:
        reader.close()


_LEFT_OPEN = """
import hashlib
import sys
from enact.backends.files.objects import FileObjects
from enact.backends.files.places import MIN_RECORDS
backend = FileObjects(sys.argv[1])  # never closed
for number in range(MIN_RECORDS + 100):
    data = b"%d" % number
    backend.put_many([(hashlib.sha256(data).hexdigest(), [data])])
"""


def test_a_writer_never_closed_saves_its_logs_places_at_exit(
    tmp_path: pathlib.Path,
) -> None:
    subprocess.run([sys.executable, "-c", _LEFT_OPEN, str(tmp_path)], check=True)
    saved = pathlib.Path(places.places_path(_log(tmp_path)))
    assert saved.exists()
    with_places = _indexed(tmp_path)
    with_places[0].close()
    assert with_places[1] == _parsed(tmp_path)
    assert len(with_places[1]) == _COUNT


def test_records_appended_after_the_places_are_parsed(tmp_path: pathlib.Path) -> None:
    first, more = _objects(0, _COUNT), _objects(_COUNT, 10)
    _write(tmp_path, first)
    saved = pathlib.Path(places.places_path(_log(tmp_path))).read_bytes()
    # Another session appends to its own log; the first log's places stay.
    _write(tmp_path / "other", more)
    log = _log(tmp_path)
    with open(log, "ab") as file, open(_log(tmp_path / "other"), "rb") as other:
        file.write(other.read()[len(b"ENACTLG2") :])
    reader, found = _indexed(tmp_path)
    try:
        assert found == _parsed(tmp_path) and len(found) == _COUNT + 10
        assert reader.get_many([k for k, _ in more]) == [d for _, d in more]
    finally:
        reader.close()
    # Ten new records are not worth saving again.
    assert pathlib.Path(places.places_path(log)).read_bytes() == saved


def _damage_crc(data: bytes) -> bytes:
    return data[:100] + bytes([data[100] ^ 1]) + data[101:]


def _beyond_the_log(data: bytes) -> bytes:
    magic, end, count = struct.unpack_from(">8sQQ", data)
    return struct.pack(">8sQQ", magic, end + 10**6, count) + data[24:]


@pytest.mark.parametrize(
    "damage",
    [
        _damage_crc,
        lambda data: data[: len(data) // 2],
        lambda data: b"ENACTXX1" + data[8:],
        lambda data: b"",
        _beyond_the_log,
    ],
    ids=[
        "flipped byte",
        "truncated",
        "other format",
        "empty",
        "beyond the log",
    ],
)
def test_damaged_places_are_ignored_and_the_log_parsed(
    tmp_path: pathlib.Path, damage
) -> None:
    items = _objects(0, _COUNT)
    _write(tmp_path, items)
    path = pathlib.Path(places.places_path(_log(tmp_path)))
    expected = _parsed(tmp_path)
    good = path.read_bytes()
    path.write_bytes(damage(good))
    reader, found = _indexed(tmp_path)
    try:
        assert found == expected and not reader._damage
        assert reader.get_many([k for k, _ in items[-5:]]) == [d for _, d in items[-5:]]
    finally:
        reader.close()
    # The reader that parsed the log saved its places again.
    assert path.read_bytes() == good


def test_missing_places_are_saved_by_a_reader_that_parses(
    tmp_path: pathlib.Path,
) -> None:
    _write(tmp_path, _objects(0, _COUNT))
    path = pathlib.Path(places.places_path(_log(tmp_path)))
    good = path.read_bytes()
    path.unlink()
    reader, _ = _indexed(tmp_path)
    reader.close()
    assert path.read_bytes() == good


def test_a_small_log_has_no_places(tmp_path: pathlib.Path) -> None:
    _write(tmp_path, _objects(0, 100))
    assert not os.path.exists(places.places_path(_log(tmp_path)))
    reader, found = _indexed(tmp_path)
    reader.close()
    assert len(found) == 100
    assert not os.path.exists(places.places_path(_log(tmp_path)))


def test_a_damaged_log_gets_no_places(tmp_path: pathlib.Path) -> None:
    _write(tmp_path, _objects(0, _COUNT))
    path = pathlib.Path(places.places_path(_log(tmp_path)))
    path.unlink()
    log = pathlib.Path(_log(tmp_path))
    data = bytearray(log.read_bytes())
    data[20] ^= 0xFF  # the first record's digest, so its header's CRC fails
    data[60] ^= 0xFF  # and its body, so it is not recovered either
    log.write_bytes(bytes(data))
    reader = FileObjects(tmp_path)
    try:
        reader._load_new_packs()
        assert reader._damage and len(reader._packed) == _COUNT - 1
    finally:
        reader.close()
    assert not path.exists()


def test_an_object_recorded_twice_keeps_its_first_place(tmp_path: pathlib.Path) -> None:
    items = _objects(0, _COUNT)
    root = tmp_path
    backend = FileObjects(root)
    try:
        for first in range(0, len(items), 32):
            backend.put_many([(k, [d]) for k, d in items[first : first + 32]])
        backend._young.clear()  # as if written in an earlier session
        backend._fresh_after = float("inf")
        backend.put_many([(items[0][0], [items[0][1]])])
    finally:
        backend.close()
    expected = _parsed(root)
    reader, found = _indexed(root)
    try:
        assert found == expected
        assert reader.get_many([items[0][0]]) == [items[0][1]]
    finally:
        reader.close()


def test_a_collection_removes_the_places_of_logs_it_removed(
    tmp_path: pathlib.Path,
) -> None:
    _write(tmp_path, _objects(0, _COUNT))
    stale = tmp_path / "places" / "0-0.log"
    stale.write_bytes(b"places of a log that is gone")
    places.remove_stale_places(str(tmp_path), os.path.exists)
    assert not stale.exists()
    assert os.path.exists(places.places_path(_log(tmp_path)))


def test_a_collection_that_removes_a_log_removes_its_places(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, _objects(0, _COUNT))  # none reachable from a run
    log = _log(tmp_path)
    assert os.path.exists(places.places_path(log))
    real = time.time
    monkeypatch.setattr(sessions, "clock", lambda: real() + 60)  # all old
    store = enact.FileStore(str(tmp_path))
    try:
        store.gc()
    finally:
        store.close()
    assert not os.path.exists(log)
    assert not os.path.exists(places.places_path(log))
