"""Garbage collection (``Store.gc``) on every store, by the rule of docs/storage.md.

Kept: objects whose digest is in the index (run records, step lines, names,
claims), objects written after the cutoff (young), and everything they refer
to. Removed: the rest, if written before the cutoff. The cutoff is the start
of the oldest other live session, or now (minus a margin).

Most tests move :func:`enact.backends.sessions.clock` a minute ahead just for
the collection, so everything written before counts as old; the tests with
another process age the stored files (or rows) instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import enact
from enact.backends import Backend, BackendError, FileObjects, SQLiteObjects, sessions
from enact.backends.gc import GCReport, references
from enact.references import FileBackend, NotFound, Ref, Store
from enact.serialization import JsonSerializer

from .helpers import (
    PACK_MIN,
    Sample,
    StoreKind,
    child_env,
    damaged_files,
    key_of,
    location_in,
    object_damage,
)

GC_CHILD = pathlib.Path(__file__).with_name("gc_child.py")


# -- helpers ---------------------------------------------------------------------------


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Moves the sessions clock ahead by some seconds (for the rest of the test)."""

    def move(seconds: float = 60.0) -> None:
        real = time.time
        monkeypatch.setattr(sessions, "clock", lambda: real() + seconds)

    return move


def collect(store: Store, monkeypatch: pytest.MonkeyPatch, **options: bool) -> GCReport:
    """Runs ``store.gc`` with the clock a minute ahead: everything is old."""
    real = time.time
    with monkeypatch.context() as patch:
        patch.setattr(sessions, "clock", lambda: real() + 60)
        return store.gc(**options)


def stored(store: Store) -> set[str]:
    return {ref.digest for ref in store.iter_refs()}


def age(kind: str, path: str, seconds: float) -> None:
    """Makes everything stored at ``path`` look ``seconds`` older."""
    if kind == "file":
        then = time.time() - seconds
        for folder in ("objects", "packs", "logs"):
            for directory, _, names in os.walk(os.path.join(path, folder)):
                for name in names:
                    os.utime(os.path.join(directory, name), (then, then))
    else:
        db = sqlite3.connect(path)
        try:
            with db:
                db.execute("UPDATE objects SET written = written - ?", (seconds,))
        finally:
            db.close()


def sessions_dir(kind: str, path: str) -> str:
    return os.path.join(path, "sessions") if kind == "file" else path + ".sessions"


def open_store(kind: str, path: str) -> Store:
    return enact.FileStore(path) if kind == "file" else enact.SQLiteStore(path)


@dataclasses.dataclass
class Graph:
    """Objects committed for a test: a chain from a root, and garbage."""

    root: Ref
    chain: list[Ref]
    garbage: list[Ref]

    @property
    def live(self) -> set[str]:
        return {self.root.digest, *(ref.digest for ref in self.chain)}


def commit_graph(store: Store, tag: str = "") -> Graph:
    """root -> middle -> leaf (and a blob with a missing ref), plus garbage."""
    leaf = store.commit(Sample(text=f"leaf {tag}", blob=b"\x00raw\n" * 10))
    missing = Ref("0" * 64)
    middle = store.commit(Sample(text=f"middle {tag}", items=[leaf, missing]))
    root = store.commit(Sample(text=f"root {tag}", mapping={"next": middle}))
    garbage_leaf = store.commit(Sample(text=f"garbage leaf {tag}"))
    garbage = [
        garbage_leaf,
        store.commit(Sample(text=f"garbage {tag}", child=garbage_leaf)),
        store.commit(Sample(text=f"large garbage {tag}", blob=os.urandom(300_000))),
    ]
    with store.batch():  # a pack in a file store
        garbage += [store.commit(Sample(number=n, text=tag)) for n in range(PACK_MIN)]
    return Graph(root, [middle, leaf], garbage)


ROOT_PLACES: dict[str, Callable[[Store, str], None]] = {
    "run record": lambda store, digest: store.index.update_run(
        "run-1", lambda old: json.dumps({"output": {"digest": digest}}).encode()
    ),
    "step line": lambda store, digest: (
        store.index.update_run("run-1", lambda old: b"{}"),
        store.index.append_steps("run-1", [json.dumps({"out": digest}).encode()]),
    ),
    "name": lambda store, digest: store.index.set_name("head", digest),
    "claim": lambda store, digest: store.index.claim(
        "run-1:0", json.dumps({"answer": {"digest": digest}}).encode()
    ),
}


# -- the rule, on every store ----------------------------------------------------------


@pytest.mark.parametrize("place", ROOT_PLACES)
def test_gc_keeps_what_the_index_reaches(
    store: Store, monkeypatch: pytest.MonkeyPatch, place: str
) -> None:
    graph = commit_graph(store)
    ROOT_PLACES[place](store, graph.root.digest)
    before = stored(store)
    report = collect(store, monkeypatch)
    assert stored(store) == graph.live
    assert report.kept == len(graph.live)
    # Counted in stored entries: the large garbage object's chunks count too.
    assert report.removed > len(before) - len(graph.live)
    assert report.roots == 1
    assert report.missing == 1  # the middle object's ref to nothing
    assert report.bytes_freed > 300_000
    assert report.live_sessions == 0 and not report.dry_run
    assert object_damage(store) == []
    for ref in graph.chain:
        assert store.checkout(Ref(ref.digest)) == ref.checkout()
    with pytest.raises(NotFound):
        store.checkout(Ref(graph.garbage[0].digest))


def test_gc_keeps_young_objects_and_what_they_refer_to(
    store_kind: StoreKind, reopen_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = reopen_store()
    old = commit_graph(first, "old")
    first.close()
    time.sleep(0.1)
    boundary = time.time()
    time.sleep(0.1)
    second = reopen_store()
    young = second.commit(Sample(text="young", child=old.garbage[1]))
    monkeypatch.setattr(sessions, "clock", lambda: boundary + sessions.MARGIN)
    report = second.gc()
    # The young object, and the old garbage it refers to (and its child).
    assert stored(second) == {
        young.digest,
        old.garbage[1].digest,
        old.garbage[0].digest,
    }
    assert report.young == 1 and report.roots == 0
    assert report.cutoff == pytest.approx(boundary)


def test_a_dry_run_changes_nothing(
    store: Store, store_kind: StoreKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = commit_graph(store)
    store.index.set_name("head", graph.root.digest)
    before = stored(store)
    files = snapshot(store_kind)
    dry = collect(store, monkeypatch, dry_run=True)
    assert dry.dry_run and stored(store) == before and snapshot(store_kind) == files
    real = collect(store, monkeypatch)
    assert (dry.kept, dry.removed, dry.roots) == (real.kept, real.removed, real.roots)
    assert dry.bytes_freed == real.bytes_freed
    assert stored(store) == graph.live


def snapshot(kind: StoreKind) -> dict[str, bytes]:
    """Every file of a persistent store, but for its sessions and locks."""
    if not kind.persistent:
        return {}
    if kind.name == "sqlite":
        db = sqlite3.connect(kind.path)
        try:
            rows = db.execute("SELECT digest, data FROM objects ORDER BY digest")
            return {digest: bytes(data) for digest, data in rows}
        finally:
            db.close()
    found = {}
    for directory, _, names in os.walk(kind.path):
        for name in names:
            path = os.path.join(directory, name)
            if "sessions" not in path and not name.endswith(".lock"):
                found[path] = pathlib.Path(path).read_bytes()
    return found


def test_a_second_gc_removes_nothing(store: Store, monkeypatch) -> None:
    graph = commit_graph(store)
    store.index.set_name("head", graph.root.digest)
    collect(store, monkeypatch)
    again = collect(store, monkeypatch)
    assert again.removed == 0 and again.bytes_freed <= 0
    assert stored(store) == graph.live


def test_committing_after_gc_writes_again(store: Store, monkeypatch) -> None:
    # The store forgot what it knew was stored: a removed object comes back.
    ref = store.commit(Sample(text="committed, dropped, committed again"))
    collect(store, monkeypatch)
    assert stored(store) == set()
    assert store.commit(Sample(text="committed, dropped, committed again")) == ref
    assert store.checkout(Ref(ref.digest)) == ref.checkout()


def test_the_index_keeps_unknown_hex_and_ignores_the_rest(
    store: Store, monkeypatch
) -> None:
    kept = store.commit(Sample(text="named in an odd way"))
    # A digest inside a longer run of hex digits is still found.
    store.index.update_run("r", lambda old: b"prefix" + b"ab" + kept.digest.encode())
    store.index.set_name("not a digest", "xyz")
    store.index.claim("r:1", b"0" * 64)  # absent: not a root
    report = collect(store, monkeypatch)
    assert stored(store) == {kept.digest}
    assert report.roots == 1


def test_verify_reads_the_index_as_run_records_and_ignores_sessions(
    store: Store,
) -> None:
    ref = store.commit(Sample(text="x"))
    store.index.update_run("r", lambda old: ref.digest.encode())
    store.index.append_steps("r", [b"step"])
    store.index.set_name("n", ref.digest)
    store.index.claim("r:0", b"v")
    store.index.claim("other-use", b"anything")  # no answer: not checked
    damage = store.verify()
    # The record is no run record, the answer no digest; the objects are fine.
    assert [each.key for each in damage] == [None, None]
    assert "record of run r" in damage[0].problem
    assert "the answer r:0" in damage[1].problem
    assert stored(store) == {ref.digest}


def test_has_does_not_make_a_commit_skip_the_write(store: Store) -> None:
    # A copy found by has() may be old: committing must still reach the backend.
    ref = store.commit(Sample(text="checked"))
    other = open_same(store)
    assert other.has(Ref(ref.digest))
    calls: list[int] = []
    backend = other.backend
    assert isinstance(backend, Backend)
    put_many = backend.put_many
    backend.put_many = lambda items: (calls.append(len(items)), put_many(items))[1]  # type: ignore[method-assign]
    other.commit(Sample(text="checked"))
    assert calls == [1]
    if other.backend is not store.backend:
        other.close()


def open_same(store: Store) -> Store:
    backend = store.backend
    if isinstance(backend, FileObjects):
        return enact.FileStore(backend.location)
    if isinstance(backend, SQLiteObjects):
        return enact.SQLiteStore(backend.location)
    return Store(backend)


def test_a_backend_without_gc_says_so() -> None:
    class Plain(Backend):
        location = "plain"

        def get_many(self, keys):  # type: ignore[no-untyped-def]
            return [None for _ in keys]

        def put_many(self, items):  # type: ignore[no-untyped-def]
            pass

        def has_many(self, keys):  # type: ignore[no-untyped-def]
            return [False for _ in keys]

        def iter_keys(self) -> Iterator[str]:
            return iter(())

    with pytest.raises(BackendError, match="cannot collect garbage"):
        Store(Plain()).gc()


def test_a_store_of_a_serializer_format_cannot_collect(tmp_path) -> None:
    store = Store(FileBackend(tmp_path / "store", serializer=JsonSerializer()))
    store.commit(Sample(text="json"))
    with pytest.raises(NotImplementedError, match="canonical"):
        store.gc()


def test_references_over_approximate() -> None:
    digest = "ab" * 32
    assert list(references(b'{"#res":"x","digest":"' + digest.encode() + b'"}')) == [
        digest
    ]
    assert list(references(b'{"digest": "' + digest.encode() + b'"}')) == [digest]
    # Escaped inside a string (a type id): not a reference.
    assert (
        list(references(b'{"#res":"{\\"digest\\": \\"' + digest.encode() + b'\\"}"}'))
        == []
    )
    assert list(references(b'{"digest":"' + digest[:-1].encode() + b'"}')) == []


# -- sessions: other processes ---------------------------------------------------------


def read_line(stream, timeout: float = 60.0) -> str:  # type: ignore[no-untyped-def]
    """Reads one line from a child's stdout, failing after ``timeout`` seconds."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()))
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    assert result, "the child process did not answer"
    return result[0]


def stop(child: subprocess.Popen[str]) -> None:
    """Kills a child process (if it still runs) and closes its pipes."""
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.wait()
    for stream in (child.stdin, child.stdout, child.stderr):
        if stream is not None:
            stream.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_gc_honours_another_live_session(tmp_path, kind: str, later) -> None:
    path = location_in(kind, str(tmp_path))
    count = 80
    writer = open_store(kind, path)
    old = [writer.commit(Sample(text=f"old {index}")) for index in range(count)]
    writer.close()
    age(kind, path, 600)
    child = subprocess.Popen(
        [sys.executable, str(GC_CHILD), "hold", kind, path, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert read_line(child.stdout) == "ready\n", child.stderr
        collector = open_store(kind, path)
        later(30)  # without the child's session, the cutoff would be ahead of all
        reports = []
        commits = range(1, count, 4)
        for _ in commits:
            child.stdin.write("next\n")
            child.stdin.flush()
            reports.append(collector.gc())  # while the child commits
            assert read_line(child.stdout) == "committed\n"
            reports.append(collector.gc())  # before the child records the ref
        held = json.loads(read_line(child.stdout))
        assert len(reports) == 2 * len(commits)
        assert all(report.live_sessions == 1 for report in reports)
        assert sum(report.removed for report in reports) >= count // 4
        fresh = open_store(kind, path)
        present = stored(fresh)
        referenced = {old[index].digest for index in range(0, count, 4)}
        assert set(held) <= present and referenced <= present
        assert object_damage(fresh) == []
        for digest in held:
            fresh.checkout(Ref(digest))  # every object it holds reads back
        # Old objects nobody held are gone.
        assert not {old[index].digest for index in range(3, count, 4)} & present
        child.stdin.write("done\n")
        child.stdin.flush()
        assert child.wait(timeout=60) == 0, child.stderr.read()  # type: ignore[union-attr]
        # The child is gone; its run record keeps what it held.
        final = collector.gc()
        assert final.live_sessions == 0
        assert set(held) | referenced <= stored(fresh)
        assert object_damage(fresh) == []
        fresh.close()
        collector.close()
    finally:
        stop(child)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_dead_sessions_are_cleaned(tmp_path, kind: str, monkeypatch) -> None:
    path = location_in(kind, str(tmp_path))
    child = subprocess.Popen(
        [sys.executable, str(GC_CHILD), "session", kind, path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        text=True,
    )
    try:
        assert child.stdout is not None
        assert read_line(child.stdout) == "ready\n"
        assert len(os.listdir(sessions_dir(kind, path))) == 1
        store = open_store(kind, path)
        assert collect(store, monkeypatch).live_sessions == 1
    finally:
        stop(child)
    report = collect(store, monkeypatch)
    assert report.live_sessions == 0
    assert report.removed == 1  # the dead process's object was not held back
    assert [n for n in os.listdir(sessions_dir(kind, path)) if n != "gc.lock"] == []
    store.close()


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_a_session_is_registered_on_the_first_write(tmp_path, kind: str) -> None:
    path = location_in(kind, str(tmp_path))
    store = open_store(kind, path)
    assert not store.has(Ref("0" * 64))  # reading needs no session
    assert not os.path.exists(sessions_dir(kind, path)) or not os.listdir(
        sessions_dir(kind, path)
    )
    store.commit(Sample(text="first write"))
    (name,) = os.listdir(sessions_dir(kind, path))
    pid, _ = name.split("-")
    assert int(pid) == os.getpid()
    start, host = pathlib.Path(sessions_dir(kind, path), name).read_text().split()
    assert abs(float(start) - time.time()) < 60
    assert host == socket.gethostname()
    store.close()
    assert os.listdir(sessions_dir(kind, path)) == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_gc_needs_none_of_the_stored_types(tmp_path, kind: str) -> None:
    path = location_in(kind, str(tmp_path))
    store = open_store(kind, path)
    graph = commit_graph(store)
    store.index.set_name("head", graph.root.digest)
    store.close()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, str(GC_CHILD), "gc", kind, path],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[1])
    assert report["kept"] == len(graph.live)
    reader = open_store(kind, path)
    assert stored(reader) == graph.live
    assert reader.verify() == []
    reader.close()


# -- file stores -----------------------------------------------------------------------


def test_a_reader_that_indexed_a_removed_pack_finds_its_objects(
    tmp_path, monkeypatch
) -> None:
    root = tmp_path / "store"
    writer = enact.FileStore(root)
    with writer.batch():
        refs = [
            writer.commit(Sample(number=n, text="packed")) for n in range(PACK_MIN * 2)
        ]
    live = refs[::2]
    writer.index.update_run(
        "r", lambda old: json.dumps([r.digest for r in live]).encode()
    )
    writer.close()
    (old_pack,) = FileObjects(root).pack_files()
    reader = FileObjects(root)
    assert reader.has_many([r.digest for r in refs]) == [True] * len(refs)  # indexed
    collector = enact.FileStore(root)
    report = collect(collector, monkeypatch)
    assert report.removed == len(refs) - len(live)
    (new_pack,) = FileObjects(root).pack_files()
    assert new_pack != old_pack and not os.path.exists(old_pack)
    found = reader.get_many([r.digest for r in live])
    assert [key_of(data) if data else None for data in found] == [
        r.digest for r in live
    ]
    assert reader.get_many([refs[1].digest]) == [None]
    assert reader.has_many([refs[1].digest, refs[0].digest]) == [False, True]


@pytest.mark.usefixtures("unchunked")  # large objects as loose files, as before
def test_old_copies_are_written_again_by_a_new_session(tmp_path, monkeypatch) -> None:
    root = tmp_path / "store"
    first = enact.FileStore(root)
    small = first.commit(Sample(text="small"))
    large = first.commit(Sample(text="large", blob=b"L" * 300_000))
    with first.batch():
        packed = [first.commit(Sample(number=n)) for n in range(PACK_MIN)]
    first.close()
    age("file", str(root), 600)
    loose = FileObjects(root).path_of(large.digest)
    aged = os.stat(loose).st_mtime
    second = enact.FileStore(root)
    for value in (Sample(text="small"), Sample(text="large", blob=b"L" * 300_000)):
        second.commit(value)
    second.commit(Sample(number=0))  # from the old pack
    assert os.stat(loose).st_mtime > aged + 300  # re-stamped, not rewritten
    fresh = [p for p in (root / "logs").iterdir() if os.stat(p).st_mtime > aged + 300]
    (log,) = fresh
    data = log.read_bytes()  # the new session's log holds the small ones
    assert bytes.fromhex(packed[0].digest) in data
    assert bytes.fromhex(small.digest) in data
    # While the second store is open, a collection keeps all three; the rest goes.
    report = enact.FileStore(root).gc()
    assert report.live_sessions == 1
    assert stored(second) == {small.digest, large.digest, packed[0].digest}
    second.close()


@pytest.mark.usefixtures("unchunked")  # one pack, as before chunking
def test_gc_refuses_a_store_with_a_damaged_pack(tmp_path, monkeypatch) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    graph = commit_graph(store)
    (pack,) = store.backend.pack_files()  # type: ignore[union-attr]
    with open(pack, "r+b") as file:
        file.truncate(20)
    store.index.set_name("head", graph.root.digest)
    kind = StoreKind("file", str(root))
    before = snapshot(kind)
    with pytest.raises(BackendError, match="removed nothing") as caught:
        collect(store, monkeypatch)
    assert pack in str(caught.value)
    assert snapshot(kind) == before


@pytest.mark.parametrize("kind", ["memory", "file", "sqlite"])
def test_gc_refuses_when_a_live_object_is_corrupt(
    tmp_path, kind: str, monkeypatch
) -> None:
    store_kind = StoreKind(kind, location_in(kind, str(tmp_path)))
    store = store_kind.open()
    graph = commit_graph(store)
    store.index.set_name("head", graph.root.digest)
    victim = graph.chain[0].digest
    corrupt(store, victim)
    before = stored(store)
    with pytest.raises(BackendError, match=victim):
        collect(store, monkeypatch)
    assert stored(store) == before


def corrupt(store: Store, key: str) -> None:
    backend = store.backend
    if isinstance(backend, SQLiteObjects):
        db = sqlite3.connect(backend.location)
        with db:
            db.execute("UPDATE objects SET data = ? WHERE digest = ?", (b"{}", key))
        db.close()
    elif isinstance(backend, FileObjects):
        backend.has_many([key])
        path, offset, _ = backend._packed[key]
        with open(path, "r+b") as file:
            file.seek(offset)
            file.write(b"X")
    else:
        backend._objects[key] = b"{}"  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_killed_gc_loses_no_live_object(tmp_path) -> None:
    root = tmp_path / "store"
    backend = FileObjects(root)
    keys: list[str] = []
    for pack in range(40):
        blobs = [
            b'{"pack":%d,"n":%d,"pad":"%s"}' % (pack, n, b"p" * 40) for n in range(500)
        ]
        backend.put_many([(key_of(b), [b]) for b in blobs])
        keys += [key_of(b) for b in blobs]
    live = keys[::2]
    head = json.dumps({"refs": [{"digest": key} for key in live]}).encode()
    backend.put_many([(key_of(head), [head])])
    backend.index().set_name("head", key_of(head))
    backend.close()
    for delay in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8):
        child = subprocess.Popen(
            [sys.executable, str(GC_CHILD), "gc", "file", str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert read_line(child.stdout) == "start\n"
            time.sleep(delay)
        finally:
            stop(child)
        reader = FileObjects(root)
        found = reader.get_many(live)
        assert all(
            data is not None and key_of(data) == key
            for key, data in zip(live, found, strict=True)
        ), f"after a kill at {delay}s"
        assert damaged_files(str(root)) == []
        reader.close()
    store = enact.FileStore(root)
    real = time.time
    sessions.clock, saved = (lambda: real() + 60), sessions.clock
    try:
        store.gc()
    finally:
        sessions.clock = saved
    assert stored(store) == {*live, key_of(head)}
    assert store.verify() == []
    assert os.listdir(root / "tmp") == []


# -- SQLite ----------------------------------------------------------------------------


def test_a_database_from_before_write_stamps(tmp_path, monkeypatch) -> None:
    path = tmp_path / "old.sqlite"
    old, kept = b'{"old":1}', b'{"old":2}'
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE objects (digest TEXT PRIMARY KEY, data BLOB NOT NULL)")
        db.executemany(
            "INSERT INTO objects VALUES (?, ?)",
            [(key_of(old), old), (key_of(kept), kept)],
        )
    db.close()
    backend = SQLiteObjects(path)
    assert sorted(backend.iter_keys()) == sorted([key_of(old), key_of(kept)])
    backend.put_many([(key_of(kept), [kept])])  # a NULL stamp is old: re-stamped
    db = sqlite3.connect(path)
    stamps = dict(db.execute("SELECT digest, written FROM objects"))
    db.close()
    assert stamps[key_of(old)] is None and stamps[key_of(kept)] is not None
    report = Store(backend).gc()  # the re-stamped one is young
    assert report.removed == 1 and list(backend.iter_keys()) == [key_of(kept)]
    backend.close()


def test_gc_reports_progress(store: Store) -> None:
    with store:
        keep = store.commit(enact.Str("kept"))
        store.index.set_name("keep", keep.digest)
        seen: list[tuple[int, int]] = []
        store.gc(progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert all(0 <= done <= total for done, total in seen)
