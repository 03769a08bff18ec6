"""The conformance suite of the run index (``Backend.index()``), for every backend.

``backend`` is parametrized in ``tests/conftest.py`` over memory, file and
SQLite. Tests that need a second process run on the persistent kinds only.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from enact.backends import Backend, BackendError, FileObjects, SQLiteObjects
from enact.backends.index import ColumnSchema, Index, RunQuery

from . import workers

PROCESSES = 4
INCREMENTS = 200

BAD_RUN_IDS = ["", "../x", "a/b", ".hidden", "-x", "x" * 129, "a b", "a\nb", "ü"]
BAD_CLAIM_KEYS = ["", "../x", "a/b", "/abs", "x" * 257, "a b", ".x"]


def index_of(backend: Backend) -> Index:
    index = backend.index()
    assert index is not None
    return index


@pytest.fixture
def index(backend: Backend) -> Index:
    """The run index of a new backend of each kind."""
    return index_of(backend)


# -- run records -------------------------------------------------------------------


def test_index_is_the_same_object_each_call(backend: Backend) -> None:
    assert backend.index() is backend.index()


def test_update_run_creates_replaces_and_lists(index: Index) -> None:
    assert index.get_run("r1") is None
    assert index.list_runs() == []
    seen: list[bytes | None] = []

    def create(old: bytes | None) -> bytes:
        seen.append(old)
        return b'{"n": 1}'

    assert index.update_run("r1", create) == b'{"n": 1}'
    assert index.update_run("r2", lambda old: b"two") == b"two"
    assert index.update_run("r1", lambda old: (old or b"") + b"!") == b'{"n": 1}!'
    assert seen == [None]
    assert index.get_run("r1") == b'{"n": 1}!'
    assert sorted(index.list_runs()) == [("r1", b'{"n": 1}!'), ("r2", b"two")]


def test_a_raising_update_changes_nothing(index: Index) -> None:
    index.update_run("r", lambda old: b"before")

    def fail(old: bytes | None) -> bytes:
        raise KeyError("abort")

    with pytest.raises(KeyError):
        index.update_run("r", fail)
    assert index.get_run("r") == b"before"
    with pytest.raises(KeyError):
        index.update_run("new", fail)
    assert index.get_run("new") is None
    assert [run_id for run_id, _ in index.list_runs()] == ["r"]


def test_deleting_a_run_removes_its_steps(index: Index) -> None:
    index.update_run("gone", lambda old: b"record")
    index.append_steps("gone", [b"one", b"two"])
    index.update_run("kept", lambda old: b"record")
    index.append_steps("kept", [b"three"])
    assert index.update_run("gone", lambda old: None) is None
    assert index.get_run("gone") is None
    assert index.read_steps("gone") == []
    assert index.read_steps("kept") == [b"three"]
    assert [run_id for run_id, _ in index.list_runs()] == ["kept"]
    # A new run under the same id starts with an empty log.
    index.update_run("gone", lambda old: b"again")
    index.append_steps("gone", [b"fresh"])
    assert index.read_steps("gone") == [b"fresh"]
    # Deleting a run that does not exist is fine.
    assert index.update_run("never", lambda old: None) is None


def test_records_are_opaque_bytes(index: Index) -> None:
    odd = bytes(range(256)) + b"\n\r\x00" * 10
    index.update_run("bin", lambda old: odd)
    assert index.get_run("bin") == odd
    assert index.list_runs() == [("bin", odd)]


def test_update_runs_atomically_across_threads(index: Index) -> None:
    def work() -> None:
        for _ in range(INCREMENTS):
            index.update_run("count", lambda old: str(int(old or b"0") + 1).encode())

    threads = [threading.Thread(target=work) for _ in range(PROCESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert index.get_run("count") == str(PROCESSES * INCREMENTS).encode()


def test_a_reader_never_sees_a_partial_record(index: Index) -> None:
    size = 200_000
    done = threading.Event()
    problems: list[bytes] = []

    def read() -> None:
        while not done.is_set():
            record = index.get_run("big")
            if record is not None and (len(record) != size or len(set(record)) != 1):
                problems.append(record[:20])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for fill in range(60):
            index.update_run("big", lambda old, fill=fill: bytes([fill]) * size)
    finally:
        done.set()
        reader.join()
    assert problems == []


def test_the_changes_mark_moves_with_every_record_write(index: Index) -> None:
    # Queries trim the feeds behind the marks: one runs between the writes.
    query = RunQuery(order_by="n", limit=10)

    def columns(record: bytes) -> dict[str, Any]:
        return {"n": len(record)}

    columns.schema = ColumnSchema(tag="mark-test", scalars=("n",))  # type: ignore[attr-defined]
    seen = [index.run_changes_mark()]
    assert seen[0] is not None  # every backend keeps a mark
    assert index.run_changes_mark() == seen[0]  # nothing written: no move
    index.append_steps("r1", [b"a step"])
    index.set_name("a-name", "0" * 64)
    assert index.claim("r1:0", b"a claim")
    assert index.run_changes_mark() == seen[0]  # none of them is a record
    for update in (lambda old: b"one", lambda old: b"two", lambda old: None):
        index.update_run("r1", update)
        seen.append(index.run_changes_mark())
        index.query_runs(query, columns)
        assert index.run_changes_mark() == seen[-1]  # a query moves nothing
        index.update_run("r2", lambda old: b"x" * len(seen))
        seen.append(index.run_changes_mark())
    assert len(set(seen)) == len(seen), seen


# -- step logs ---------------------------------------------------------------------


def test_steps_are_appended_in_order(index: Index) -> None:
    assert index.read_steps("r") == []
    index.append_steps("r", [b"one"])
    index.append_steps("r", [b"two", b"three"])
    index.append_steps("r", [])
    index.append_steps("r", [b""])
    assert index.read_steps("r") == [b"one", b"two", b"three", b""]


def test_steps_of_different_runs_are_independent(index: Index) -> None:
    for step in range(20):
        for run in ("a", "b", "c"):
            index.append_steps(run, [f"{run}{step}".encode()])
    for run in ("a", "b", "c"):
        assert index.read_steps(run) == [f"{run}{step}".encode() for step in range(20)]


def test_steps_of_many_runs(index: Index) -> None:
    # More runs than a file index keeps open for appending.
    for round_ in range(2):
        for run in range(150):
            index.append_steps(f"run-{run}", [b"%d" % round_])
    for run in range(150):
        assert index.read_steps(f"run-{run}") == [b"0", b"1"]


def test_steps_from_threads_are_all_kept(index: Index) -> None:
    def work(thread: int) -> None:
        for step in range(100):
            index.append_steps("shared", [b"%d-%d" % (thread, step)])

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = index.read_steps("shared")
    assert sorted(lines) == sorted(
        b"%d-%d" % (t, s) for t in range(4) for s in range(100)
    )
    for thread in range(4):  # each thread's own lines keep their order
        mine = [line for line in lines if line.startswith(b"%d-" % thread)]
        assert mine == [b"%d-%d" % (thread, step) for step in range(100)]


def test_a_step_line_with_a_newline_is_refused(backend: Backend) -> None:
    index = index_of(backend)
    with pytest.raises(BackendError, match="newline"):
        index.append_steps("r", [b"ok", b"two\nlines"])
    assert index.read_steps("r") == []


# -- names and claims --------------------------------------------------------------


def test_names_set_replace_and_remove(index: Index) -> None:
    first, second = "a" * 64, "b" * 64
    assert index.names() == {}
    index.set_name("main", first)
    index.set_name("other name/with ünicode", second)
    index.set_name("main", second)
    assert index.names() == {"main": second, "other name/with ünicode": second}
    index.set_name("main", None)
    index.set_name("absent", None)
    assert index.names() == {"other name/with ünicode": second}


def test_the_first_claim_wins(index: Index) -> None:
    assert index.get_claim("run-1:0.2") is None
    assert index.claim("run-1:0.2", b"first") is True
    assert index.claim("run-1:0.2", b"second") is False
    assert index.get_claim("run-1:0.2") == b"first"
    assert index.claim("run-1:1", b"") is True
    assert index.get_claim("run-1:1") == b""
    index.claim("run-2:0", b"other")
    assert index.claims("run-1:") == {"run-1:0.2": b"first", "run-1:1": b""}
    assert index.claims() == {
        "run-1:0.2": b"first",
        "run-1:1": b"",
        "run-2:0": b"other",
    }
    assert index.claims("run-3") == {}


def test_the_longest_claim_key(index: Index) -> None:
    longest = "k" + "x" * 255
    assert index.claim(longest, b"value\nwith a newline") is True
    assert index.claim(longest, b"other") is False
    assert index.get_claim(longest) == b"value\nwith a newline"
    assert index.claims("kx") == {longest: b"value\nwith a newline"}
    assert index.get_claim(longest[:-1]) is None


def test_claims_across_threads_have_one_winner(index: Index) -> None:
    wins: list[tuple[int, str]] = []
    start = threading.Barrier(4)

    def work(me: int) -> None:
        start.wait()
        for key in range(50):
            if index.claim(f"k:{key}", b"%d" % me):
                wins.append((me, f"k:{key}"))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(key for _, key in wins) == sorted(f"k:{key}" for key in range(50))
    for me, key in wins:
        assert index.get_claim(key) == b"%d" % me


# -- ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("run_id", BAD_RUN_IDS)
def test_bad_run_ids_are_refused(index: Index, run_id: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: index.get_run(run_id),
        lambda: index.update_run(run_id, lambda old: b"x"),
        lambda: index.append_steps(run_id, [b"x"]),
        lambda: index.read_steps(run_id),
    ]
    for call in calls:
        with pytest.raises(BackendError, match="not a valid run id"):
            call()
    assert index.list_runs() == []


@pytest.mark.parametrize("key", BAD_CLAIM_KEYS)
def test_bad_claim_keys_are_refused(index: Index, key: str) -> None:
    with pytest.raises(BackendError, match="not a valid claim key"):
        index.claim(key, b"x")
    with pytest.raises(BackendError, match="not a valid claim key"):
        index.get_claim(key)
    assert index.claims() == {}


def test_bad_ids_touch_nothing_outside_the_store(backend: Backend, tmp_path) -> None:
    index = index_of(backend)
    for run_id in BAD_RUN_IDS:
        with pytest.raises(BackendError):
            index.update_run(run_id, lambda old: b"x")
    for key in BAD_CLAIM_KEYS:
        with pytest.raises(BackendError):
            index.claim(key, b"x")
    outside = {p.name for p in tmp_path.iterdir()}
    assert outside <= {
        "store",
        "store.sqlite",
        "store.sqlite-wal",
        "store.sqlite-shm",
    } | {"store.sqlite.sessions"}


# -- persistence and processes -------------------------------------------------------


def fill(index: Index) -> None:
    index.update_run("r", lambda old: b"record")
    index.append_steps("r", [b"s1", b"s2"])
    index.set_name("head", "c" * 64)
    index.claim("r:1", b"answer")


def test_a_reopened_backend_sees_the_index(backend_kind, reopen_backend) -> None:
    if not backend_kind.persistent:
        pytest.skip("a memory backend has no location to share")
    writer = reopen_backend()
    fill(index_of(writer))
    reader = index_of(reopen_backend())
    writer.close()
    assert reader.get_run("r") == b"record"
    assert reader.read_steps("r") == [b"s1", b"s2"]
    assert reader.names() == {"head": "c" * 64}
    assert reader.claim("r:1", b"late") is False
    assert reader.get_claim("r:1") == b"answer"


def test_an_fsync_index_round_trip(tmp_path) -> None:
    for backend in (
        FileObjects(tmp_path / "store", fsync=True),
        SQLiteObjects(tmp_path / "store.sqlite", fsync=True),
    ):
        fill(index_of(backend))
        backend.close()
        again = FileObjects if isinstance(backend, FileObjects) else SQLiteObjects
        reader = index_of(again(backend.location))
        assert reader.get_run("r") == b"record"
        assert reader.read_steps("r") == [b"s1", b"s2"]
        assert reader.get_claim("r:1") == b"answer"


def spawn() -> multiprocessing.context.SpawnContext:
    return multiprocessing.get_context("spawn")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_update_run_is_atomic_across_processes(tmp_path, kind: str) -> None:
    path = str(tmp_path / ("store" if kind == "file" else "store.sqlite"))
    context = spawn()
    start = context.Barrier(PROCESSES)
    processes = [
        context.Process(
            target=workers.increment, args=(kind, path, "counter", INCREMENTS, start)
        )
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    reader = workers.open_backend(kind, path)
    try:
        assert (
            index_of(reader).get_run("counter") == str(PROCESSES * INCREMENTS).encode()
        )
    finally:
        reader.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_a_claim_race_between_processes_has_one_winner(tmp_path, kind: str) -> None:
    path = str(tmp_path / ("store" if kind == "file" else "store.sqlite"))
    keys = [f"race:{n}" for n in range(100)]
    context = spawn()
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(
            target=workers.claim_all, args=(kind, path, keys, me, start, results)
        )
        for me in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    won = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    winners = sorted(key for keys_won in won.values() for key in keys_won)
    assert winners == sorted(keys), "every key has exactly one winner"
    reader = workers.open_backend(kind, path)
    try:
        index = index_of(reader)
        for me, keys_won in won.items():
            for key in keys_won:
                assert index.get_claim(key) == b"process %d" % me
    finally:
        reader.close()


# -- the file layout -------------------------------------------------------------------


def test_file_index_layout(tmp_path) -> None:
    root = tmp_path / "store"
    backend = FileObjects(root)
    fill(index_of(backend))
    assert (root / "runs" / "r.json").read_bytes() == b"record"
    assert (root / "runs" / "r.steps").read_bytes() == b"s1\ns2\n"
    assert (root / "claims" / "r:1").read_bytes() == b"answer"
    assert (root / "names.json").exists() and (root / "index.lock").exists()
    assert os.listdir(root / "tmp") == []


def test_a_torn_last_step_line_is_ignored_then_cut(tmp_path) -> None:
    root = tmp_path / "store"
    writer = FileObjects(root)
    index_of(writer).append_steps("r", [b"one", b"two"])
    writer.close()
    # A process killed in the middle of an append leaves part of a line.
    with open(root / "runs" / "r.steps", "ab") as file:
        file.write(b'{"partial": ')
    reader = FileObjects(root)
    assert index_of(reader).read_steps("r") == [b"one", b"two"]
    # The next appender cuts it off rather than gluing a line onto it.
    index_of(reader).append_steps("r", [b"three"])
    assert index_of(reader).read_steps("r") == [b"one", b"two", b"three"]
    assert (root / "runs" / "r.steps").read_bytes() == b"one\ntwo\nthree\n"


def test_a_whole_torn_log_is_empty(tmp_path) -> None:
    root = tmp_path / "store"
    index = index_of(FileObjects(root))
    os.makedirs(root / "runs")
    (root / "runs" / "r.steps").write_bytes(b"no newline yet")
    assert index.read_steps("r") == []
    index.append_steps("r", [b"first"])
    assert index.read_steps("r") == [b"first"]


def test_another_process_deleting_a_run_does_not_swallow_later_steps(tmp_path) -> None:
    root = tmp_path / "store"
    appender, deleter = index_of(FileObjects(root)), index_of(FileObjects(root))
    appender.update_run("r", lambda old: b"record")
    appender.append_steps("r", [b"old"])
    deleter.update_run("r", lambda old: None)
    appender.update_run("r", lambda old: b"again")
    appender.append_steps("r", [b"new"])
    assert deleter.read_steps("r") == [b"new"]


def test_unreadable_index_files_name_their_path(tmp_path) -> None:
    root = tmp_path / "store"
    index = index_of(FileObjects(root))
    os.makedirs(root / "runs" / "bad.json")  # a directory where a file should be
    with pytest.raises(BackendError, match=r"bad\.json"):
        index.get_run("bad")
    with pytest.raises(BackendError, match=r"bad\.json"):
        index.list_runs()
    (root / "names.json").write_bytes(b"[1, 2")
    with pytest.raises(BackendError, match=r"names\.json"):
        index.names()
    os.makedirs(root / "claims" / "k:1")
    with pytest.raises(BackendError, match="k:1"):
        index.get_claim("k:1")


def test_sqlite_index_tables(tmp_path) -> None:
    import sqlite3

    backend = SQLiteObjects(tmp_path / "store.sqlite")
    fill(index_of(backend))
    backend.close()
    db = sqlite3.connect(tmp_path / "store.sqlite")
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert {"objects", "runs", "steps", "names", "claims"} <= tables
        assert db.execute("SELECT line FROM steps ORDER BY seq").fetchall() == [
            (b"s1",),
            (b"s2",),
        ]
    finally:
        db.close()
