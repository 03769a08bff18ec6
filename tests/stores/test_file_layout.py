"""The file backend's on-disk layout, and its safety when the writer is killed.

Layout (see :mod:`enact.backends.files`): ``objects/ab/cdef...`` holds one
object named by its digest; ``packs/*.pack`` holds a batch of small objects;
``tmp/`` holds files being written, renamed into place only when complete.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import signal
import struct
import subprocess
import time
import zlib

import pytest

import enact
from enact import _codec
from enact.backends import FileObjects
from enact.references import Ref

from .helpers import (
    PACK_MIN,
    Sample,
    child_command,
    child_env,
    damaged_files,
    files_under,
    key_of,
    read_pack,
    whole_objects,
)

KiB = 1024


def encoded(value: enact.ResourceBase) -> bytes:
    return b"".join(_codec.encode(value))


def loose_files(root: pathlib.Path) -> set[str]:
    return {p for p in files_under(str(root)) if p.startswith("objects" + os.sep)}


def test_loose_object_path_and_content(tmp_path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    value = Sample(text="on disk", blob=b"\x00raw\n" * 60_000)  # large: loose
    with whole_objects():  # as before chunking
        ref = store.commit(value)
    path = root / "objects" / ref.digest[:2] / ref.digest[2:]
    assert path.read_bytes() == encoded(value)
    assert key_of(path.read_bytes()) == ref.digest
    assert store.backend.path_of(ref.digest) == str(path)  # type: ignore[union-attr]
    # Besides the object, only this writer's session file (removed on close).
    files = {p for p in files_under(str(root)) if not p.startswith("sessions")}
    loose = os.path.join("objects", ref.digest[:2], ref.digest[2:])
    assert files == {loose, "layout-version"}
    assert sorted(os.listdir(root)) == [
        "layout-version",
        "logs",
        "objects",
        "packs",
        "sessions",
        "tmp",
    ]
    store.close()
    assert os.listdir(root / "sessions") == []


def test_single_small_commits_are_appended_to_one_log(tmp_path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    values = [Sample(text="logged", number=i) for i in range(5)]
    refs = [store.commit(value) for value in values]
    assert loose_files(root) == set() and store.backend.pack_files() == []  # type: ignore[union-attr]
    (log,) = os.listdir(root / "logs")
    data = (root / "logs" / log).read_bytes()
    # The documented format: a header, then records of a mark, the digest,
    # the length, a CRC-32 of those 44 bytes, then the bytes.
    assert data[:8] == b"ENACTLG2"
    position, found = 8, []
    while position < len(data):
        mark, raw, length, crc = struct.unpack_from(">4s32sQI", data, position)
        assert mark == b"\xe9\x4c\x52\x9d"
        assert zlib.crc32(data[position : position + 44]) == crc
        body = data[position + 48 : position + 48 + length]
        assert key_of(body) == raw.hex()
        found.append(raw.hex())
        position += 48 + length
    assert found == [r.digest for r in refs]
    # Another process (a fresh store object) finds them.
    fresh = enact.FileStore(root)
    assert [fresh.checkout(Ref(r.digest)) for r in refs] == values


def test_a_cut_last_log_record_is_not_an_object(tmp_path) -> None:
    # A process killed mid-append leaves an incomplete last record: readers
    # ignore it (the object is missing), and every other object still reads.
    root = tmp_path / "store"
    store = enact.FileStore(root)
    first = store.commit(Sample(text="whole"))
    last = store.commit(Sample(text="cut"))
    store.close()
    (log,) = (root / "logs").iterdir()
    log.write_bytes(log.read_bytes()[:-5])
    fresh = enact.FileStore(root)
    assert fresh.checkout(Ref(first.digest)) == Sample(text="whole")
    assert not fresh.has(Ref(last.digest))
    assert {r.digest for r in fresh.iter_refs()} == {first.digest}


def test_a_log_of_unframed_records_is_still_read(tmp_path) -> None:
    # Logs written before records were framed: b"ENACTLG1", then (digest,
    # 8-byte length, bytes) records.
    root = tmp_path / "store"
    enact.FileStore(root).close()
    values = [Sample(text="old log", number=i) for i in range(3)]
    data = b"ENACTLG1"
    for value in values:
        body = encoded(value)
        data += bytes.fromhex(key_of(body)) + struct.pack(">Q", len(body)) + body
    (root / "logs" / "1-old.log").write_bytes(data + b"\x00" * 7)  # a torn tail
    store = enact.FileStore(root)
    refs = [Ref(key_of(encoded(value))) for value in values]
    assert [store.checkout(ref) for ref in refs] == values
    assert store.verify() == []
    store.commit(Sample(text="new"))  # appended to a new log, of framed records
    assert len(os.listdir(root / "logs")) == 2


def test_small_batch_is_appended_to_the_log(tmp_path) -> None:
    # What a durable run flushes after a call: one append, not a new file.
    root = tmp_path / "store"
    store = enact.FileStore(root)
    with store.batch():
        refs = [store.commit(Sample(number=i)) for i in range(PACK_MIN - 1)]
    assert os.listdir(root / "packs") == []
    assert loose_files(root) == set()
    assert len(os.listdir(root / "logs")) == 1
    assert damaged_files(str(root)) == []
    assert {r.digest for r in store.iter_refs()} == {r.digest for r in refs}


def test_batch_pack_follows_the_documented_format(tmp_path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    values = [Sample(number=i, blob=bytes([i]) * i) for i in range(PACK_MIN)]
    with store.batch():
        refs = [store.commit(value) for value in values]
    (pack,) = store.backend.pack_files()  # type: ignore[union-attr]
    assert pathlib.Path(pack).parent == root / "packs"
    entries = read_pack(pack)
    data = pathlib.Path(pack).read_bytes()
    assert [key for key, _, _ in entries] == [r.digest for r in refs]
    for (_, offset, length), value in zip(entries, values, strict=True):
        assert data[offset : offset + length] == encoded(value)
    # The objects sit back to back after the magic, then the index.
    assert entries[0][1] == 8
    for (_, offset, length), (_, following, _) in itertools.pairwise(entries):
        assert offset + length == following
    assert loose_files(root) == set()
    assert os.listdir(root / "tmp") == []


def test_large_objects_in_a_batch_stay_loose(tmp_path) -> None:
    root = tmp_path / "store"
    backend = FileObjects(root)
    small = [b"small %d" % i for i in range(PACK_MIN + 1)]
    large = [os.urandom(256 * KiB), os.urandom(300 * KiB)]
    backend.put_many(
        [(key_of(b), [b]) for b in [small[0], large[0], *small[1:], large[1]]]
    )
    (pack,) = backend.pack_files()
    assert {key for key, _, _ in read_pack(pack)} == {key_of(b) for b in small}
    assert loose_files(root) == {
        os.path.join("objects", key_of(b)[:2], key_of(b)[2:]) for b in large
    }


def test_small_batches_are_written_loose_and_large_ones_packed(tmp_path) -> None:
    root = tmp_path / "store"
    backend = FileObjects(root)
    blobs = [b"object %d" % i for i in range(PACK_MIN + 2)]
    backend.put_many([(key_of(b), [b]) for b in blobs[:6]])
    # Fewer than PACK_MIN objects: appended to the process's log.
    assert loose_files(root) == set()
    assert backend.pack_files() == []
    # Objects already stored are skipped: PACK_MIN - 4 new ones are too few.
    backend.put_many([(key_of(b), [b]) for b in blobs])
    assert backend.pack_files() == []
    # A batch of PACK_MIN or more new small objects is one pack.
    more = [b"more %d" % i for i in range(PACK_MIN)]
    backend.put_many([(key_of(b), [b]) for b in more])
    assert len(backend.pack_files()) == 1
    assert len(read_pack(backend.pack_files()[0])) == PACK_MIN
    blobs += more
    fresh = FileObjects(root)
    assert fresh.get_many([key_of(b) for b in blobs]) == blobs
    assert sorted(fresh.iter_keys()) == sorted(key_of(b) for b in blobs)


@pytest.mark.usefixtures("unchunked")
def test_existing_objects_are_not_rewritten(tmp_path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    ref = store.commit(Sample(text="once", blob=b"large" * 60_000))
    path = store.backend.path_of(ref.digest)  # type: ignore[union-attr]
    before = os.stat(path)
    for again in (store, enact.FileStore(root)):
        again.commit(Sample(text="once", blob=b"large" * 60_000))
        with again.batch():
            for i in range(PACK_MIN + 2):
                again.commit(Sample(text="once", number=i))
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_packed_objects_are_not_rewritten_after_reopening(tmp_path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    values = [Sample(number=i) for i in range(PACK_MIN)]
    with store.batch():
        for value in values:
            store.commit(value)
    store.close()
    again = enact.FileStore(root)
    for value in values:
        again.commit(value)
    with again.batch():
        for value in values:
            again.commit(value)
    assert loose_files(root) == set()
    assert len(again.backend.pack_files()) == 1  # type: ignore[union-attr]


def test_more_packs_than_the_process_may_open_files(tmp_path) -> None:
    # Every invocation's batch can become a pack, so a store may hold more
    # packs than a process may keep open (macOS allows 256 files by default).
    root = tmp_path / "store"
    backend = FileObjects(root)
    for pack in range(300):
        blobs = [b"pack %d object %d" % (pack, i) for i in range(PACK_MIN)]
        backend.put_many([(key_of(b), [b]) for b in blobs])
    backend.close()
    assert len(os.listdir(root / "packs")) == 300
    result = subprocess.run(
        child_command("readall", str(root), "100"),
        capture_output=True,
        env=child_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert int(result.stdout) == 300 * PACK_MIN


def test_stray_files_are_not_objects(tmp_path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    ref = store.commit(Sample(text="real"))
    with store.batch():
        packed = [store.commit(Sample(number=i)) for i in range(PACK_MIN)]
    fan = root / "objects" / ref.digest[:2]
    fan.mkdir(parents=True, exist_ok=True)
    (fan / ".DS_Store").write_bytes(b"junk")
    (fan / "notes.txt~").write_bytes(b"junk")
    (root / "objects" / "README").write_bytes(b"junk")
    (root / "objects" / "zz").mkdir()
    (root / "objects" / "zz" / ("0" * 62)).write_bytes(b"junk")
    (root / "packs" / "notes.txt").write_bytes(b"junk")
    (root / "tmp" / "123-4-abcdef01").write_bytes(b"partial write")
    fresh = enact.FileStore(root)
    assert {r.digest for r in fresh.iter_refs()} == {
        ref.digest,
        *(r.digest for r in packed),
    }
    assert fresh.checkout(Ref(ref.digest)) == Sample(text="real")


def test_fsync_store_round_trip(tmp_path) -> None:
    store = enact.FileStore(tmp_path / "store", fsync=True)
    ref = store.commit(Sample(text="durable"))
    with store.batch():
        refs = [store.commit(Sample(number=i)) for i in range(PACK_MIN)]
    fresh = enact.FileStore(tmp_path / "store")
    for each in [ref, *refs]:
        assert fresh.checkout(Ref(each.digest)) == each.checkout()
    assert damaged_files(str(tmp_path / "store")) == []


def test_store_in_a_new_nested_directory(tmp_path) -> None:
    root = tmp_path / "a" / "b" / "c"
    store = enact.FileStore(root)
    ref = store.commit(Sample())
    assert enact.FileStore(str(root)).checkout(Ref(ref.digest)) == Sample()


# -- crash safety ------------------------------------------------------------------


@pytest.mark.slow
def test_killed_writer_leaves_no_partial_object(tmp_path) -> None:
    root = tmp_path / "store"
    # Kills at a spread of moments, then one once the writer has completed a
    # large object and a pack (None), so that some writes are whole however
    # slow the machine is.
    for delay in (0.0, 0.01, 0.03, 0.07, 0.15, 0.3, 0.5, None):
        child = subprocess.Popen(
            child_command("crash", str(root)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == b"ready\n", child.communicate()[1]
            if delay is None:
                assert child.stdout.readline() == b"wrote\n"
            else:
                time.sleep(delay)  # the moment of the kill, not an ordering
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate()
        assert child.returncode == -signal.SIGKILL
        assert damaged_files(str(root)) == [], f"after a kill at {delay}s"
    # Every object that made it is complete and readable by a fresh backend.
    backend = FileObjects(root)
    keys = list(backend.iter_keys())
    assert keys, "the writer never completed an object"
    for key, data in zip(keys, backend.get_many(keys), strict=True):
        assert data is not None and key_of(data) == key
    assert backend.pack_files(), "the writer never completed a pack"
    # Leftovers of the killed writes are in tmp/ only, and harmless.
    store = enact.FileStore(root)
    ref = store.commit(Sample(text="after the crashes"))
    assert enact.FileStore(root).checkout(Ref(ref.digest)) == Sample(
        text="after the crashes"
    )
