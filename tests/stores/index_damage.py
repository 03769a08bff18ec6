"""Every single-byte flip and every truncation of a small store's database,
journal and run index files, and what each damaged copy cost.

For the SQLite store: the database file, and the run journal a crashed run
left unfolded. For the file store: the run index (``runs/*.json``,
``names.json``, ``claims/``) and the step logs (``runs/*.steps``); its
object files are covered by :mod:`stores.object_damage`.

For each damaged copy: no checkout returns a wrong value, listing the runs
never fails as a whole, and ``verify`` names every object and run record
that can no longer be read. Large files are tried at sampled positions
(every one with ``every_byte``). Each copy's :class:`~stores.damage.CopyOutcome`
is yielded: the tests assert it has no problems, ``bench/damage.py`` counts.
"""

from __future__ import annotations

import dataclasses
import pathlib
import random
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import enact
from enact import runs
from enact.backends import SQLiteObjects
from enact.backends.gc import index_roots
from enact.backends.sqlite.journals import SQLiteJournals
from enact.digests import resource_digest
from enact.errors import EnactError
from enact.references import Damage, Ref, Store
from enact.wrappers import wrap
from runs.flows import CALLS, CrashingPipeline, Greet, Interrupt, Pipeline

from .damage import EVERY_BYTE, Accounted, CopyOutcome

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
            CALLS["crashed"] = 0  # it crashes once per process
            try:
                runs.run(CrashingPipeline(at=5), enact.Int(0))
            except Interrupt:
                pass
            else:
                raise AssertionError("the crashing run finished")
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


def positions(size: int, seed: str, every_byte: bool) -> list[int]:
    if every_byte or size <= SAMPLES:
        return list(range(size))
    chosen = random.Random(seed).sample(range(size), SAMPLES)
    return sorted({*range(min(size, 16)), *chosen, size - 1})


def damaged_copies(path: pathlib.Path, every_byte: bool) -> Iterator[tuple[str, str]]:
    """Damages ``path`` in place, one way at a time (restored after each);
    yields ("flip" or "cut", what was done)."""
    original = path.read_bytes()
    try:
        for position in positions(len(original), path.name, every_byte):
            for mask in (0x01, 0xFF):
                flipped = bytearray(original)
                flipped[position] ^= mask
                path.write_bytes(bytes(flipped))
                yield "flip", f"{path.name}: byte {position} ^ {mask:#04x}"
        for length in positions(len(original), path.name + "cut", every_byte):
            path.write_bytes(original[:length])
            yield "cut", f"{path.name}: cut to {length} bytes"
    finally:
        path.write_bytes(original)


def named(damage: list[Damage], *words: str) -> bool:
    return any(
        any(word == each.key or word in each.problem for word in words)
        for each in damage
    )


def check(
    pristine: Pristine,
    open_store: Callable[[], Store],
    copy: CopyOutcome,
    journal: bool = False,
) -> CopyOutcome:
    """Records in ``copy`` what a fresh store made of one damaged copy.

    An object inside a damaged stretch of a journal cannot be named by its
    digest (the digest is in the damaged bytes): the damaged step line or
    journal file is named instead.
    """
    location = str(pristine.location)
    try:
        store = open_store()
    except EnactError as error:  # a database SQLite cannot open at all
        named_file = location in str(error)
        for key in pristine.objects:
            copy.lost[key] = Accounted.FILE if named_file else Accounted.UNNAMED
        if not named_file:
            copy.broken.append(f"opening fails without naming the file: {error}")
        return copy
    try:
        with store:
            _check_open(pristine, store, copy, journal)
    except Exception as error:  # recorded as broken
        copy.broken.append(f"raised {error!r}")
    finally:
        store.close()
    return copy


def _check_open(
    pristine: Pristine, store: Store, copy: CopyOutcome, journal: bool
) -> None:
    location = str(pristine.location)
    try:
        listed: runs.RunList | None = runs.list_runs()  # never fails as a whole
    except Exception:  # counted
        copy.list_runs_failed = True
        listed = None
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
            # A journal cut short is a crash come earlier: the calls after
            # the cut are gone with the lines that named them, and a resume
            # runs them again.
            if named(damage, key):
                copy.lost[key] = Accounted.DIGEST
            elif wholesale:
                copy.lost[key] = Accounted.FILE
            elif journal and copy.damage == "cut" and key not in roots:
                copy.lost[key] = Accounted.CRASH
            else:
                copy.lost[key] = Accounted.UNNAMED
            continue
        # By digest: an exception compares equal only to itself.
        if resource_digest(wrap(read)) != key:
            copy.wrong.append(f"object {key} read back as {read!r}")
    if listed is None:
        return
    for info in listed:
        expected = pristine.outputs.get(info.id)
        if expected is None or info.status is not runs.RunStatus.FINISHED:
            continue
        try:
            output = runs.Run(info.id).output()
        except EnactError:
            continue  # a record pointing elsewhere
        if output != expected:
            copy.wrong.append(f"run {info.id} output {output!r}")
    listed_ids = {info.id for info in listed}
    for each in listed.damaged:
        if not named(damage, each.where, each.run_id or each.where):
            copy.broken.append(f"listing skips {each}, verify does not name it")
    for run_id in pristine.outputs:
        if run_id not in listed_ids and not named(damage, run_id, location):
            copy.broken.append(f"run {run_id} is not listed nor named: {damage}")


# -- SQLite ---------------------------------------------------------------------


def build_sqlite(folder: pathlib.Path) -> Pristine:
    """A small SQLite store in ``folder``, with an unfolded run journal."""
    path = folder / "store.db"
    return build(path, lambda: enact.SQLiteStore(path), journal=True)


def work_copy(pristine: Pristine, folder: pathlib.Path) -> Pristine:
    """A copy of a SQLite store (database, journal, sessions) in ``folder``."""
    copy = folder / pristine.location.name
    shutil.copy(pristine.location, copy)
    for beside in (".journal", ".sessions"):
        shutil.copytree(str(pristine.location) + beside, str(copy) + beside)
    return dataclasses.replace(pristine, location=copy)


def _drop_wal(database: pathlib.Path) -> None:
    for extra in ("-wal", "-shm"):
        pathlib.Path(str(database) + extra).unlink(missing_ok=True)


def sqlite_database_outcomes(
    pristine: Pristine, folder: pathlib.Path, every_byte: bool = EVERY_BYTE
) -> Iterator[CopyOutcome]:
    """Each flip and cut of the database file of a copy made in ``folder``."""
    work = work_copy(pristine, folder)
    copy = work.location
    journal = pathlib.Path(str(copy) + ".journal")
    saved = folder / "journal"
    shutil.copytree(journal, saved)
    for damage, how in damaged_copies(copy, every_byte):
        outcome = CopyOutcome("sqlite", "database file", damage, how)
        yield check(work, lambda: enact.SQLiteStore(copy), outcome)
        # Opening folds the dead journal (or leaves it): start afresh.
        shutil.rmtree(journal)
        shutil.copytree(saved, journal)
        _drop_wal(copy)


def sqlite_journal_outcomes(
    pristine: Pristine, folder: pathlib.Path, every_byte: bool = EVERY_BYTE
) -> Iterator[CopyOutcome]:
    """Each flip and cut of the unfolded run journal of a copy in ``folder``."""
    work = work_copy(pristine, folder)
    copy = work.location
    (journal,) = pathlib.Path(str(copy) + ".journal").iterdir()
    database = copy.read_bytes()
    for damage, how in damaged_copies(journal, every_byte):
        outcome = CopyOutcome("sqlite", "run journal", damage, how)
        yield check(work, lambda: enact.SQLiteStore(copy), outcome, journal=True)
        copy.write_bytes(database)  # a fold on opening changed it
        _drop_wal(copy)


# -- the file store's run index and step logs -------------------------------------


def build_file(folder: pathlib.Path) -> Pristine:
    """A small file store in ``folder``."""
    path = folder / "store"
    return build(path, lambda: enact.FileStore(path), journal=False)


def index_files(root: pathlib.Path) -> list[pathlib.Path]:
    found = sorted((root / "runs").iterdir()) + sorted((root / "claims").iterdir())
    return [*found, root / "names.json"]


def index_file_type(path: pathlib.Path) -> str:
    """The kind of run index file ``path`` is, as the census counts it."""
    if path.name == "names.json":
        return "names"
    if path.parent.name == "claims":
        return "claims"
    return "step logs" if path.suffix == ".steps" else "run records"


def file_index_outcomes(
    pristine: Pristine, folder: pathlib.Path, every_byte: bool = EVERY_BYTE
) -> Iterator[CopyOutcome]:
    """Each flip and cut of each run index file of a copy in ``folder``."""
    copy = folder / "store"
    shutil.copytree(pristine.location, copy)
    work = dataclasses.replace(pristine, location=copy)
    files = index_files(copy)
    assert {index_file_type(f) for f in files} == {
        "names",
        "claims",
        "step logs",
        "run records",
    }
    for path in files:
        for damage, how in damaged_copies(path, every_byte):
            outcome = CopyOutcome("file", index_file_type(path), damage, how)
            yield check(work, lambda: enact.FileStore(copy), outcome)
