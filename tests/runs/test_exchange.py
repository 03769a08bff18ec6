"""Push and pull: runs and the objects they reach, copied between stores by
digest, across every pair of store kinds."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

import enact
from enact.backends import SQLiteObjects
from enact.exchange import DamagedSource, PushConflict, PushProgress, push
from enact.references import Store
from runs.flows import Greet, Pipeline

KINDS = ("memory", "file", "sqlite", "postgres", "s3", "tiered")

Opener = Callable[[str], Store]


@pytest.fixture
def open_kind(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Iterator[Opener]:
    """Opens a new, empty store of a kind (an S3 one on moto's server, a
    PostgreSQL one on a throwaway server)."""
    opened: list[Store] = []

    def open_kind(kind: str) -> Store:
        where = tmp_path / f"{kind}-{len(opened)}"
        if kind == "memory":
            store = enact.InMemoryStore()
        elif kind == "file":
            store = enact.FileStore(where)
        elif kind == "sqlite":
            store = enact.SQLiteStore(f"{where}.sqlite")
        elif kind == "postgres":
            server = request.getfixturevalue("postgres_server")
            store = enact.open_store(server.fresh_url())
        else:
            from enact.backends.s3 import S3Backend, S3Objects
            from enact.backends.tiered import TieredObjects

            server = request.getfixturevalue("s3_server")
            objects = S3Objects(server.fresh_url())
            index = SQLiteObjects(f"{where}.sqlite")
            if kind == "s3":
                store = Store(S3Backend(objects, index))
            else:  # small objects beside the index, values of 64 bytes up in S3
                store = Store(TieredObjects(index, objects, threshold=64))
        opened.append(store)
        return store

    yield open_kind
    for store in opened:
        store.close()


def ran_pipeline(store: Store, **options: object) -> enact.runs.Run:
    with store:
        return enact.run(Pipeline(stages=2, width=3), enact.Int(1), **options)


def journal_digest(run: enact.runs.Run) -> str:
    return enact.Ref.from_resource(run.journal()).digest


@pytest.mark.parametrize("source_kind", KINDS)
@pytest.mark.parametrize("destination_kind", KINDS)
def test_push_copies_a_run_between_every_pair_of_kinds(
    open_kind: Opener, source_kind: str, destination_kind: str
) -> None:
    source, destination = open_kind(source_kind), open_kind(destination_kind)
    run = ran_pipeline(source, name="nightly", tags=["t"])
    report = source.push([run.id], to=destination)
    assert report.runs_written == (run.id,)
    assert report.objects_sent > 0 and report.bytes_sent > 0
    with destination:
        copy = enact.runs.get_run("nightly")
        assert copy.id == run.id
        assert copy.info() == run.info()
        assert copy.output() == run.output() == 42
        assert journal_digest(copy) == journal_digest(run)
    assert destination.verify() == []
    # Everything is there: a second push sends nothing and reads nothing.
    again = push(source, destination, [run.id])
    assert (again.objects_sent, again.runs_written) == (0, ())
    assert again.runs_unchanged == (run.id,)


def test_push_of_everything_copies_names_and_answers(open_kind: Opener) -> None:
    source, destination = open_kind("file"), open_kind("sqlite")
    with source:
        waiting = enact.run(Greet())
        enact.runs.answer(waiting.id, "Ada")
        finished = ran_pipeline(source)
        enact.runs.name_ref("best", enact.commit(enact.Str("kept by name")))
    report = push(source, destination)
    assert set(report.runs_written) == {waiting.id, finished.id}
    assert report.claims_written == 1 and report.names_written == 1
    with destination:
        assert enact.runs.named_refs()["best"].checkout() == "kept by name"
        resumed = enact.runs.get_run(waiting.id).resume()
        assert resumed.output().startswith("Ada rolled")


def test_fork_pulled_then_pushed_back(open_kind: Opener) -> None:
    laptop, team, colleague = open_kind("file"), open_kind("sqlite"), open_kind("file")
    run = ran_pipeline(laptop)
    push(laptop, team, [run.id])
    enact.exchange.pull(colleague, team, [run.id])
    with colleague:
        fork = enact.runs.get_run(run.id).fork(1)
    report = push(colleague, team, [fork.id])
    # The fork comes with its parent, which the team has already.
    assert report.runs_written == (fork.id,)
    assert report.runs_unchanged == (run.id,)
    with team:
        assert enact.runs.get_run(fork.id).output() == run.output()
        assert enact.runs.get_run(fork.id).info().parent == run.id
    assert team.verify() == []


def test_a_run_that_progressed_is_brought_up_to_date(open_kind: Opener) -> None:
    source, destination = open_kind("file"), open_kind("file")
    with source:
        waiting = enact.run(Greet())
    push(source, destination, [waiting.id])
    with source:
        enact.runs.answer(waiting.id, "Bo", resume=True)
    report = push(source, destination, [waiting.id])
    assert report.runs_written == (waiting.id,)
    assert report.steps_written > 0
    with destination:
        assert enact.runs.get_run(waiting.id).output().startswith("Bo rolled")


def test_another_run_of_the_same_id_is_a_conflict(open_kind: Opener) -> None:
    source, destination = open_kind("sqlite"), open_kind("file")
    run = ran_pipeline(source)
    push(source, destination, [run.id])
    with destination:
        resumed = enact.runs.get_run(run.id).fork(1)
    # The destination's run of that id gets steps the source lacks.
    destination.index.update_run(run.id, lambda old: None)
    destination.index.update_run(
        run.id, lambda old: destination.index.get_run(resumed.id)
    )
    with pytest.raises(PushConflict, match=f"run {run.id} .* another run") as caught:
        push(source, destination, [run.id])
    assert caught.value.what == "run"
    report = push(source, destination, [run.id], force=True)
    assert report.runs_written == (run.id,)
    with destination:
        assert enact.runs.get_run(run.id).info() == run.info()


def test_a_run_name_taken_at_the_destination_is_a_conflict(
    open_kind: Opener,
) -> None:
    source, destination = open_kind("file"), open_kind("file")
    pushed = ran_pipeline(source, name="daily")
    other = ran_pipeline(destination, name="daily")
    with pytest.raises(PushConflict, match="'daily'") as caught:
        push(source, destination, ["daily"])
    assert caught.value.what == "run name"
    assert destination.index.get_run(pushed.id) is None  # nothing written
    push(source, destination, ["daily"], force=True)
    with destination:
        assert enact.runs.get_run("daily").id == pushed.id
        assert enact.runs.get_run(other.id).info().name is None


def test_a_name_pointing_elsewhere_is_a_conflict(open_kind: Opener) -> None:
    source, destination = open_kind("memory"), open_kind("memory")
    with source:
        enact.runs.name_ref("model", enact.commit(enact.Str("v2")))
    with destination:
        enact.runs.name_ref("model", enact.commit(enact.Str("v1")))
    with pytest.raises(PushConflict, match="'model'"):
        push(source, destination, ["model"])
    push(source, destination, ["model"], force=True)
    with destination:
        assert enact.runs.named_refs()["model"].checkout() == "v2"


def test_a_damaged_source_object_is_refused_and_named(open_kind: Opener) -> None:
    source, destination = open_kind("sqlite"), open_kind("file")
    run = ran_pipeline(source)
    request = run.info().request.digest
    with SQLiteObjects_connection(source) as db:
        db.execute(
            "UPDATE objects SET data = ? WHERE digest = ?", (b"garbled", request)
        )
    with pytest.raises(DamagedSource, match=request) as caught:
        push(source, destination, [run.id])
    assert caught.value.key == request
    assert destination.index.get_run(run.id) is None
    assert destination.has(enact.Ref(request)) is False


def test_progress_reports_objects_and_bytes(open_kind: Opener) -> None:
    source, destination = open_kind("file"), open_kind("memory")
    run = ran_pipeline(source)
    seen: list[tuple[int, int]] = []

    def progress(state: PushProgress) -> None:
        seen.append((state.objects_sent, state.bytes_sent))

    report = push(source, destination, [run.id], progress=progress)
    assert seen and seen[-1] == (report.objects_sent, report.bytes_sent)
    assert seen == sorted(seen)


@pytest.mark.slow
def test_a_push_killed_halfway_completes_when_pushed_again(
    tmp_path: pathlib.Path,
) -> None:
    source_path, destination_path = str(tmp_path / "src"), str(tmp_path / "dst.sqlite")
    source = enact.FileStore(source_path)
    with source:
        run = enact.run(Pipeline(stages=30, width=40), enact.Int(0))
    child = subprocess.Popen(
        [
            sys.executable,
            str(pathlib.Path(__file__).with_name("exchange_child.py")),
            source_path,
            destination_path,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.stdout is not None
    arrived = int(child.stdout.readline())  # the first batch has arrived
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    child.stdout.close()
    child.stdin.close()  # type: ignore[union-attr]
    assert arrived > 0
    destination = enact.SQLiteStore(destination_path)
    try:
        assert destination.index.get_run(run.id) is None  # records come last
        report = push(source, destination)
        total = len(set(source.backend.iter_keys()))  # type: ignore[union-attr]
        # Nothing that had arrived is sent again; everything else is.
        assert report.objects_sent + arrived == total
        assert report.runs_written == (run.id,)
        assert destination.verify() == []
        with destination:
            assert enact.runs.get_run(run.id).output() == run.output()
        assert push(source, destination).objects_sent == 0
    finally:
        destination.close()
        source.close()


class SQLiteObjects_connection:
    """A raw connection to a SQLite store's database file."""

    def __init__(self, store: Store) -> None:
        backend = store.backend
        assert isinstance(backend, SQLiteObjects)
        self._path = backend.path

    def __enter__(self):  # type: ignore[no-untyped-def]
        import sqlite3

        self._db = sqlite3.connect(self._path)
        return self._db

    def __exit__(self, *exc: object) -> None:
        self._db.commit()
        self._db.close()


def test_a_different_answer_at_the_destination_is_a_conflict(
    open_kind: Opener,
) -> None:
    source, destination = open_kind("file"), open_kind("sqlite")
    with source:
        waiting = enact.run(Greet())
    push(source, destination, [waiting.id])
    with source:
        enact.runs.answer(waiting.id, "Ada")
    with destination:
        enact.runs.answer(waiting.id, "Bob")
    for force in (False, True):
        with pytest.raises(PushConflict, match="never replaced") as caught:
            push(source, destination, [waiting.id], force=force)
        assert caught.value.what == "answer"


@enact.typed_invokable(enact.Str, enact.Int)
@dataclasses.dataclass
class _Measure(enact.Invokable[enact.Str, enact.Int]):
    """The length of a long text (the text goes into every record)."""

    def call(self, text: enact.Str) -> enact.Int:
        return enact.Int(len(str(text)))


@enact.typed_invokable(enact.Str, enact.Int)
@dataclasses.dataclass
class _MeasureFiveTimes(enact.Invokable[enact.Str, enact.Int]):
    def call(self, text: enact.Str) -> enact.Int:
        return enact.Int(sum(int(_Measure()(text)) for _ in range(5)))


@pytest.mark.parametrize(
    ("source_kind", "destination_kind"), [("file", "sqlite"), ("sqlite", "memory")]
)
def test_push_of_large_values_kept_as_chunks(
    open_kind: Opener, source_kind: str, destination_kind: str
) -> None:
    source, destination = open_kind(source_kind), open_kind(destination_kind)
    text = " ".join(f"word{n}" for n in range(20_000))  # ~130 KB, chunked
    with source:
        run = enact.run(_MeasureFiveTimes(), enact.Str(text))
    assert run.output() == 5 * len(text)
    report = source.push([run.id], to=destination)
    assert report.runs_written == (run.id,)
    with destination:
        copy = enact.runs.get_run(run.id)
        assert copy.output() == run.output()
        assert journal_digest(copy) == journal_digest(run)
        assert copy.info().request.checkout().input() == text
    assert destination.verify() == []
