"""Every single-byte flip and every truncation of a small store's files.

For the SQLite store: the database file, and the run journal a crashed run
left unfolded. For the file store: the run index (``runs/*.json``,
``names.json``, ``claims/``) and the step logs (``runs/*.steps``); its
object files are covered by the object-file tests.

For each damaged copy: no checkout returns a wrong value, listing the runs
never fails as a whole, and ``verify`` names every object and run record
that can no longer be read. Large files are tested at sampled positions
(``ENACT_DAMAGE_EVERY_BYTE=1`` tests every one).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import random
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import enact
from enact import runs
from enact.backends import SQLiteObjects
from enact.backends.gc import index_roots
from enact.backends.sqlite.journals import SQLiteJournals
from enact.digests import resource_digest
from enact.errors import EnactError
from enact.references import Damage, Ref, Store
from enact.wrappers import wrap
from runs.flows import CrashingPipeline, Greet, Interrupt, Pipeline

EVERY_BYTE = os.environ.get("ENACT_DAMAGE_EVERY_BYTE") == "1"
# Positions tried per file (flips, and as many truncations), when sampling.
SAMPLES = 120


@dataclasses.dataclass
class Pristine:
    """A small store, and what reads from it must return."""

    location: pathlib.Path
    #: Every object's digest.
    objects: set[str]
    #: Every run id -> the output of the finished ones (None otherwise).
    outputs: dict[str, Any]


def build(
    location: pathlib.Path, open_store: Callable[[], Store], journal: bool
) -> Pristine:
    """A finished run, one waiting for an answer (answered), a name, and
    (``journal``) a crashed run whose journal is left unfolded."""
    store = open_store()
    with store:
        finished = runs.run(Pipeline(stages=1, width=2), enact.Int(1), tags=["t"])
        waiting = runs.run(Greet(), name="greet")
        runs.answer(waiting.id, "Ann")
        runs.name_ref("head", finished.info().invocation)
        if journal:
            backend = store.backend
            assert isinstance(backend, SQLiteObjects)
            settle = SQLiteJournals.settle_steps
            SQLiteJournals.settle_steps = lambda self, run_id, ended=False: None  # type: ignore[method-assign]
            try:
                with pytest.raises(Interrupt):
                    runs.run(CrashingPipeline(at=5), enact.Int(0))
            finally:
                SQLiteJournals.settle_steps = settle  # type: ignore[method-assign]
            with backend.journals()._journal_lock:  # as a killed process leaves it
                for writer in backend.journals()._writers.values():
                    writer.close(unlink=False)
                backend.journals()._writers.clear()
        objects = {ref.digest for ref in store.iter_refs()}
        outputs = {info.id: None for info in runs.list_runs()}
        outputs[finished.id] = finished.output()
        assert store.verify() == []
    store.close()
    return Pristine(location, objects, outputs)


def positions(size: int, seed: str) -> list[int]:
    if EVERY_BYTE or size <= SAMPLES:
        return list(range(size))
    chosen = random.Random(seed).sample(range(size), SAMPLES)
    return sorted({*range(min(size, 16)), *chosen, size - 1})


def damaged_copies(path: pathlib.Path) -> Iterator[str]:
    """Damages ``path`` in place, one way at a time (restored after each)."""
    original = path.read_bytes()
    try:
        for position in positions(len(original), path.name):
            for mask in (0x01, 0xFF):
                flipped = bytearray(original)
                flipped[position] ^= mask
                path.write_bytes(bytes(flipped))
                yield f"{path.name}: byte {position} ^ {mask:#04x}"
        for length in positions(len(original), path.name + "cut"):
            path.write_bytes(original[:length])
            yield f"{path.name}: cut to {length} bytes"
    finally:
        path.write_bytes(original)


def named(damage: list[Damage], *words: str) -> bool:
    return any(
        any(word == each.key or word in each.problem for word in words)
        for each in damage
    )


def check(
    pristine: Pristine, open_store: Callable[[], Store], how: str, journal: bool = False
) -> None:
    """The promises, for one damaged copy.

    An object inside a damaged stretch of a journal cannot be named by its
    digest (the digest is in the damaged bytes): the damaged step line or
    journal file is named instead.
    """
    location = str(pristine.location)
    try:
        store = open_store()
    except EnactError as error:  # a database SQLite cannot open at all
        assert location in str(error), how
        return
    try:
        with store:
            listed = runs.list_runs()  # never fails as a whole
            damage = store.verify()  # never raises for damage
            # Damage SQLite finds in its file cannot always be put on a key.
            wholesale = location.endswith(".db") and any(
                d.key is None
                and location in d.problem
                and (not journal or "step log" in d.problem or "journal" in d.problem)
                for d in damage
            )
            roots = index_roots(store.index) if journal else set()
            for key in pristine.objects:
                try:
                    read = store.checkout(Ref(key))
                except EnactError:
                    # A journal cut short is a crash come earlier: the calls
                    # after the cut are gone with the lines that named them,
                    # and a resume runs them again.
                    earlier_crash = journal and "cut" in how and key not in roots
                    assert named(damage, key) or wholesale or earlier_crash, (
                        how,
                        key,
                        damage,
                    )
                    continue
                # By digest: an exception compares equal only to itself.
                assert resource_digest(wrap(read)) == key, (how, key)
            for info in listed:
                expected = pristine.outputs.get(info.id)
                if expected is None or info.status is not runs.RunStatus.FINISHED:
                    continue
                try:
                    output = runs.Run(info.id).output()
                except EnactError:
                    continue  # a record pointing elsewhere: named below
                assert output == expected, (how, info.id)
            listed_ids = {info.id for info in listed}
            for each in listed.damaged:
                assert named(damage, each.where, each.run_id or each.where), how
            for run_id in pristine.outputs:
                if run_id not in listed_ids:
                    assert named(damage, run_id, location), (how, run_id, damage)
    finally:
        store.close()


# -- SQLite ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    path = tmp_path_factory.mktemp("sqlite") / "store.db"
    return build(path, lambda: enact.SQLiteStore(path), journal=True)


def work_copy(pristine: Pristine, tmp_path: pathlib.Path) -> pathlib.Path:
    copy = tmp_path / pristine.location.name
    shutil.copy(pristine.location, copy)
    for beside in (".journal", ".sessions"):
        shutil.copytree(str(pristine.location) + beside, str(copy) + beside)
    return copy


def test_every_flip_and_cut_of_the_sqlite_database(
    sqlite_store: Pristine, tmp_path: pathlib.Path
) -> None:
    copy = work_copy(sqlite_store, tmp_path)
    pristine = dataclasses.replace(sqlite_store, location=copy)
    journal = pathlib.Path(str(copy) + ".journal")
    saved = tmp_path / "journal"
    shutil.copytree(journal, saved)
    count = 0
    for how in damaged_copies(copy):
        check(pristine, lambda: enact.SQLiteStore(copy), how)
        # Opening folds the dead journal (or leaves it): start afresh.
        shutil.rmtree(journal)
        shutil.copytree(saved, journal)
        for extra in ("-wal", "-shm"):
            pathlib.Path(str(copy) + extra).unlink(missing_ok=True)
        count += 1
    assert count > SAMPLES


def test_every_flip_and_cut_of_an_unfolded_sqlite_journal(
    sqlite_store: Pristine, tmp_path: pathlib.Path
) -> None:
    copy = work_copy(sqlite_store, tmp_path)
    pristine = dataclasses.replace(sqlite_store, location=copy)
    (journal,) = pathlib.Path(str(copy) + ".journal").iterdir()
    database = copy.read_bytes()
    count = 0
    for how in damaged_copies(journal):
        check(pristine, lambda: enact.SQLiteStore(copy), how, journal=True)
        copy.write_bytes(database)  # a fold on opening changed it
        for extra in ("-wal", "-shm"):
            pathlib.Path(str(copy) + extra).unlink(missing_ok=True)
        count += 1
    assert count > 0


# -- the file store's run index and step logs -------------------------------------


@pytest.fixture(scope="module")
def file_store(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    path = tmp_path_factory.mktemp("files") / "store"
    return build(path, lambda: enact.FileStore(path), journal=False)


def index_files(root: pathlib.Path) -> list[pathlib.Path]:
    found = sorted((root / "runs").iterdir()) + sorted((root / "claims").iterdir())
    return [*found, root / "names.json"]


def test_every_flip_and_cut_of_the_file_stores_run_index(
    file_store: Pristine, tmp_path: pathlib.Path
) -> None:
    copy = tmp_path / "store"
    shutil.copytree(file_store.location, copy)
    pristine = dataclasses.replace(file_store, location=copy)
    files = index_files(copy)
    assert {f.suffix for f in files} >= {".json", ".steps", ""}
    for path in files:
        for how in damaged_copies(path):
            check(pristine, lambda: enact.FileStore(copy), how)
