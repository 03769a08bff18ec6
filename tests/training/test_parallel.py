"""Parallel exports: worker processes make the rows, the file is the same.

Workers start both ways an export starts them: forked (copies of this
process) and spawned (fresh interpreters that open the store by its
address). Chunks are made small so that a few runs make many of them, cut
inside runs and across them.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Callable, Iterator

import pytest

import enact
from enact import datasets, feedback
from enact._datasets import chunks, parallel, writers
from enact._datasets.chunks import Chunker
from enact._datasets.records import RecordReader
from enact.resource_registry import ResourceNotFound
from training.flows import Ask, Blob, Many, Solve

METHODS = ["fork", "spawn"]


@pytest.fixture(params=["file", "sqlite"])
def open_store(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Iterator[Callable[[], enact.Store]]:
    """Opens the test's store (a file or SQLite store), filled on first use."""
    path = str(tmp_path / ("calls.db" if request.param == "sqlite" else "calls"))
    opened: list[enact.Store] = []

    def reopen() -> enact.Store:
        kind = enact.SQLiteStore if request.param == "sqlite" else enact.FileStore
        opened.append(kind(path))
        return opened[-1]

    store = reopen()
    with store:
        for count in (3, 11, 0, 25, 1, 9):
            enact.run(Many(), enact.Int(count), tags=["many"])
        asked = [enact.run(Ask(), enact.Str(f"q{n}")) for n in range(3)]
        solved = enact.run(Solve(), enact.Str("2+2"))
        feedback.add(asked[0], (0,), score=4, label=True, comment="ok")
        feedback.add(asked[1], (0,), label=False)
        for step, label in enumerate((True, True, False)):
            feedback.add(solved, (step,), label=label)
    yield reopen
    for each in opened:
        each.close()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 4 units and row groups of 10 rows: many of each."""
    monkeypatch.setattr(chunks, "CHUNK_UNITS", 4)
    monkeypatch.setattr(writers, "_GROUP_ROWS", 10)


@pytest.fixture(params=METHODS)
def method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the workers start (whatever threads this process runs)."""
    monkeypatch.setattr(parallel, "start_method", lambda: request.param)
    return str(request.param)


def _export(store: enact.Store, out: pathlib.Path, **options: object) -> bytes:
    with store:
        datasets.export(str(out), **options)  # type: ignore[arg-type]
    return out.read_bytes()


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_workers_write_the_bytes_of_a_serial_export(
    open_store: Callable[[], enact.Store],
    method: str,
    suffix: str,
    tmp_path: pathlib.Path,
) -> None:
    store = open_store()
    serial = _export(store, tmp_path / f"serial{suffix}")
    assert serial.count(b"Leaf") > 40 or suffix == ".parquet"
    for workers in (2, 3):
        found = _export(store, tmp_path / f"w{workers}{suffix}", workers=workers)
        assert found == serial, f"{workers} {method} workers"
    assert datasets.check_file(str(tmp_path / f"w3{suffix}")) == 65
    # A selection at a path, of one component, of feedback: the same.
    for criteria in ({"at": ()}, {"component": "Leaf"}, {"feedback": "score>=4"}):
        one = _export(store, tmp_path / f"one{suffix}", **criteria)
        two = _export(store, tmp_path / f"two{suffix}", workers=2, **criteria)
        assert one == two, criteria


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("format", ["sft", "kto", "stepwise"])
def test_training_formats_in_parallel(
    open_store: Callable[[], enact.Store], format: str, tmp_path: pathlib.Path
) -> None:
    store = open_store()
    serial = _export(store, tmp_path / "serial.jsonl", format=format)
    assert serial
    found = _export(store, tmp_path / "two.jsonl", format=format, workers=2)
    assert found == serial


@pytest.mark.usefixtures("small_chunks")
def test_an_error_in_a_worker_is_the_serial_error(
    open_store: Callable[[], enact.Store], method: str, tmp_path: pathlib.Path
) -> None:
    store = open_store()
    with store:
        run = enact.run(Blob(), enact.Int(4))
    errors = []
    for workers in (1, 2):
        with pytest.raises(datasets.UnencodableValue) as raised:
            _export(store, tmp_path / "x.parquet", workers=workers)
        errors.append(raised.value)
    serial, found = errors
    assert type(found) is type(serial)
    assert str(found) == str(serial)
    assert (found.row, found.run_id, found.path, found.field) == (
        serial.row,
        run.id,
        (),
        "output",
    )
    assert serial.row == 65  # after every call of the runs before it
    assert not (tmp_path / "x.parquet").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".x")] == []


@pytest.mark.usefixtures("small_chunks")
def test_every_kind_of_store(
    store: enact.Store, method: str, tmp_path: pathlib.Path
) -> None:
    """Memory, file, SQLite and PostgreSQL stores (a real server)."""
    with store:
        for count in (5, 0, 9):
            enact.run(Many(), enact.Int(count))
        run = enact.run(Ask(), enact.Str("q"))
        feedback.add(run, (0,), score=3)
    serial = _export(store, tmp_path / "serial.parquet")
    if method == "spawn" and "memory" in store.location:
        with pytest.raises(datasets.DatasetError, match="workers=1"):
            _export(store, tmp_path / "x.parquet", workers=2)
        return
    assert _export(store, tmp_path / "two.parquet", workers=2) == serial
    assert datasets.check_file(str(tmp_path / "two.parquet")) == 19


def test_a_run_that_cannot_be_planned_fails_in_its_turn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setattr(parallel, "start_method", lambda: "fork")
    monkeypatch.setattr(chunks, "CHUNK_UNITS", 3)
    out = tmp_path / "x.jsonl"
    with enact.FileStore(str(tmp_path / "store")):
        enact.run(Many(), enact.Int(3))
        enact.run(Blob(), enact.Int(4))  # its output has no JSON form
        lost = enact.run(Many(), enact.Int(2))
        unread = lost.info().invocation
        assert unread is not None
        children = RecordReader.children

        def failing(reader: RecordReader, digests: list[str]) -> object:
            if unread.digest in digests:
                raise enact.references.NotFound(unread.digest, "here")
            return children(reader, digests)

        monkeypatch.setattr(RecordReader, "children", failing)
        # The row before it fails first, as in a serial export.
        with pytest.raises(datasets.UnencodableValue, match="row 4 "):
            datasets.export(str(out), workers=2)
        # Without it, the run that cannot be read, once the rows before it
        # are made.
        with pytest.raises(enact.references.NotFound, match=unread.digest):
            datasets.export(str(out), workers=2, component="Leaf")
    assert not out.exists()


@pytest.mark.usefixtures("small_chunks")
def test_a_hugging_face_dataset_made_by_workers(
    open_store: Callable[[], enact.Store], tmp_path: pathlib.Path
) -> None:
    store = open_store()
    with store:
        for format in ("generic", "kto"):
            one = datasets.to_dataset(format=format, cache_dir=str(tmp_path / "1"))
            two = datasets.to_dataset(
                format=format, workers=2, cache_dir=str(tmp_path / "2")
            )
            assert two.num_rows == one.num_rows > 0
            assert two.to_list() == one.to_list()


def test_a_type_spawned_workers_cannot_import_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    @enact.typed_invokable(enact.Int, enact.Int)
    @dataclasses.dataclass
    class Local(enact.Invokable[enact.Int, enact.Int]):
        _enact_type_name = "tests.training.parallel.Local"

        def call(self, value: enact.Int) -> enact.Int:
            return value

    monkeypatch.setattr(parallel, "start_method", lambda: "spawn")
    with enact.FileStore(str(tmp_path / "store")):
        enact.run(Many(), enact.Int(2))
        enact.run(Local(), enact.Int(1))
        assert datasets.export(str(tmp_path / "one.jsonl")) == 4
        with pytest.raises(ResourceNotFound, match=r"parallel\.Local"):
            datasets.export(str(tmp_path / "two.jsonl"), workers=2)


def _die(path: str, pieces: object) -> None:
    os._exit(3)  # a worker killed, or out of memory


def test_a_worker_that_dies_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setattr(parallel, "start_method", lambda: "fork")
    monkeypatch.setattr(parallel, "_export_chunk", _die)
    out = tmp_path / "x.parquet"
    with enact.FileStore(str(tmp_path / "store")):
        enact.run(Many(), enact.Int(3))
        with pytest.raises(datasets.DatasetError, match="ended abruptly"):
            datasets.export(str(out), workers=2)
    assert not out.exists()


def test_workers_are_checked(tmp_path: pathlib.Path) -> None:
    out = str(tmp_path / "x.jsonl")
    with enact.InMemoryStore():
        enact.run(Many(), enact.Int(3))
        for bad in (0, -1, True, 1.5, "2"):
            with pytest.raises(datasets.DatasetError, match="1 or more"):
                datasets.export(out, workers=bad)  # type: ignore[arg-type]
        with pytest.raises(datasets.DatasetError, match="made by one process"):
            datasets.export(out, format="dpo", workers=2)


def test_a_memory_store_exports_with_forked_workers_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    serial, forked = tmp_path / "serial.jsonl", tmp_path / "forked.jsonl"
    with enact.InMemoryStore():
        for count in (5, 7):
            enact.run(Many(), enact.Int(count))
        datasets.export(str(serial))
        monkeypatch.setattr(parallel, "start_method", lambda: "fork")
        datasets.export(str(forked), workers=2)
        monkeypatch.setattr(parallel, "start_method", lambda: "spawn")
        with pytest.raises(datasets.DatasetError, match="cannot be opened by other"):
            datasets.export(str(tmp_path / "x.jsonl"), workers=2)
    assert forked.read_bytes() == serial.read_bytes()


def test_forks_only_a_process_of_one_thread() -> None:
    assert parallel.start_method() in METHODS
    import threading

    started, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=lambda: (started.set(), stop.wait(60)))
    thread.start()
    try:
        assert started.wait(60)
        assert parallel.start_method() == "spawn"
    finally:
        stop.set()
        thread.join(60)


@pytest.mark.usefixtures("small_chunks")
def test_a_few_chunks_at_a_time(
    open_store: Callable[[], enact.Store], tmp_path: pathlib.Path
) -> None:
    store = open_store()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with store:
        selection = datasets.select()
        workers = parallel.check_workers(2, store, "generic")
        assert workers is not None
        held, rows = [], 0
        for chunk in parallel.chunk_files(
            selection,
            store,
            "generic",
            workers=workers,
            scratch=str(scratch),
            by_reference=False,
            lineage=True,
        ):
            held.append(len(list(scratch.iterdir())))
            rows += chunk.rows
            pathlib.Path(chunk.path).unlink()
    assert rows == 65 and len(held) > 10
    assert max(held) <= 2 * parallel._AHEAD


@pytest.mark.parametrize("size", [1, 3, 4, 100])
def test_chunks_cover_every_unit_in_order(
    open_store: Callable[[], enact.Store], size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "CHUNK_UNITS", size)
    store = open_store()
    with store:
        selection = datasets.select()
        planned = list(chunks.plan(selection, store, RecordReader(store)))
        runs = [info.id for info, _ in chunks.runs_of(store, selection)]
    units = [
        (piece.run, unit)
        for pieces in planned
        for piece in pieces
        for unit in range(piece.first, piece.stop)
    ]
    per_run = [4, 12, 1, 26, 2, 10, 2, 2, 2, 4]  # 1 + the calls each top made
    every = zip(runs, per_run, strict=True)
    assert units == [(run, n) for run, count in every for n in range(count)]
    sizes = [sum(p.stop - p.first for p in pieces) for pieces in planned]
    assert all(each == size for each in sizes[:-1]) and 0 < sizes[-1] <= size


def test_a_chunker_starts_chunks_every_size_units() -> None:
    chunker = Chunker(4)
    assert [chunker.starts(units) for units in (1, 3, 1, 10, 2, 2)] == [
        [], [], [0], [3, 7], [1], [],
    ]  # fmt: skip
