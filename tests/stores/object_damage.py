"""Every single-byte flip and every cut of a file store's object files (logs,
packs, loose objects), one at a time, and what each damaged copy cost.

For each damaged copy of one file (the rest left whole), a fresh reader must
never check out a wrong value: each object reads back as committed or raises
an enact error. And ``store.verify()`` must name every object that can no
longer be read, by its digest or, where the damage hides which objects a
file held, by the file; it must name no object that still reads.

The one exception is documented: a log cut short looks exactly like a log
whose writer was killed mid-append, so the records from the cut on are
simply not stored, and verify cannot tell (it says nothing).

Each file type is a :class:`FileType`: how to fill a store with such files
and which of its files to damage. :func:`damage_outcomes` yields one
:class:`~stores.damage.CopyOutcome` per damaged copy; the tests assert
that none has problems and ``bench/damage.py`` counts them.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import random
from collections.abc import Callable, Iterator

import enact
from enact.backends import FileObjects
from enact.errors import EnactError
from enact.references import Damage, Ref, Store

from .damage import EVERY_BYTE, Accounted, CopyOutcome
from .helpers import PACK_MIN, Sample, whole_objects

# Positions tried in a file larger than this are sampled (see positions()).
_EVERY_BYTE_UP_TO = 2048


@dataclasses.dataclass(frozen=True)
class FileType:
    """One kind of file in a store, and how to get a store holding some."""

    name: str
    #: Fills an empty store at the path; returns the committed values by digest.
    fill: Callable[[Store], dict[str, object]]
    #: The files of this type in the store directory.
    files: Callable[[pathlib.Path], list[pathlib.Path]]
    #: Byte ranges (start, end) of the file that must each be tried in full,
    #: even if the file is large (its headers, indexes and footers).
    structure: Callable[[bytes], list[tuple[int, int]]]
    #: Whether cutting the file at ``length`` is a documented torn tail.
    torn_tail: bool = False
    #: The part of the file an offset is in, as counted by the census.
    part: Callable[[bytes, int], str] | None = None

    def part_at(self, data: bytes, at: int) -> str:
        return self.name if self.part is None else self.part(data, at)


def _fill_log(store: Store) -> dict[str, object]:
    values = [enact.Int(i) for i in range(3)] + [enact.Str("last")]
    return {store.commit(value).digest: value for value in values}


def _fill_pack(store: Store) -> dict[str, object]:
    with store.batch():
        refs = {
            store.commit(enact.Int(i)).digest: enact.Int(i) for i in range(PACK_MIN)
        }
    return dict(refs)


def _fill_loose(store: Store) -> dict[str, object]:
    value = Sample(text="large", blob=bytes(range(256)) * 1100)
    with whole_objects():  # a store from before chunking: a loose file
        return {store.commit(value).digest: value}


def _pack_index_at(data: bytes) -> int:
    return int.from_bytes(data[-24:-16], "big")


def _pack_structure(data: bytes) -> list[tuple[int, int]]:
    # The header, the first and last index entries, the footer.
    index_at = _pack_index_at(data)
    return [(0, 8), (index_at, index_at + 48), (len(data) - 72, len(data))]


def _pack_part(data: bytes, at: int) -> str:
    # A cut at an offset in the index loses the index from there on; one in
    # the objects loses the index too, and the objects from there on.
    return "pack index" if at >= _pack_index_at(data) else "pack"


def _listed(folder: str) -> Callable[[pathlib.Path], list[pathlib.Path]]:
    return lambda root: sorted((root / folder).iterdir())


def _loose_files(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in (root / "objects").rglob("*") if p.is_file())


FILE_TYPES = [
    FileType("log", _fill_log, _listed("logs"), lambda data: [], torn_tail=True),
    FileType("pack", _fill_pack, _listed("packs"), _pack_structure, part=_pack_part),
    FileType("loose object", _fill_loose, _loose_files, lambda data: [(0, 64)]),
]


def positions(
    data: bytes, structure: list[tuple[int, int]], seed: int, every_byte: bool
) -> list[int]:
    """Every offset of a small file (of every file, with ``every_byte``); of
    a larger one every offset in its structure, the first and last bytes,
    and a fixed sample of the rest."""
    size = len(data)
    if every_byte or size <= _EVERY_BYTE_UP_TO:
        return list(range(size))
    chosen = {0, size - 1}
    for start, end in structure:
        chosen.update(range(max(start, 0), min(end, size)))
    chosen.update(random.Random(seed).sample(range(size), _EVERY_BYTE_UP_TO // 4))
    return sorted(chosen)


@dataclasses.dataclass
class Outcome:
    """What a reader made of the store: objects lost, and verify's report."""

    lost: set[str]
    damage: list[Damage]
    #: Checkouts that returned a wrong value.
    wrong: list[str] = dataclasses.field(default_factory=list)
    #: Errors that are not enact's, from a checkout or from verify.
    errors: list[str] = dataclasses.field(default_factory=list)


def read_back(root: pathlib.Path, committed: dict[str, object]) -> Outcome:
    """Checks out every committed object through a fresh reader, then verifies."""
    store = enact.FileStore(root)
    outcome = Outcome(set(), [])
    try:
        for digest, value in committed.items():
            try:
                got = store.checkout(Ref(digest))
            except EnactError:
                outcome.lost.add(digest)
                continue
            except Exception as error:  # recorded as broken
                outcome.lost.add(digest)
                outcome.errors.append(f"checkout of {digest} raised {error!r}")
                continue
            if got != value:
                outcome.wrong.append(f"{digest} read back as {got!r}")
        try:
            outcome.damage = store.verify()
        except Exception as error:  # recorded as broken
            outcome.errors.append(f"verify raised {error!r}")
    finally:
        store.close()
    return outcome


def account(
    outcome: Outcome, path: str, committed: dict[str, object], copy: CopyOutcome
) -> None:
    """How verify accounts for each lost object: by digest, or by naming the
    file whose damage hides which objects it held. It names no readable one."""
    named = {d.key for d in outcome.damage if d.key is not None}
    unknown = {d.path for d in outcome.damage if d.key is None and d.path}
    hidden = {
        d.path for d in outcome.damage if "which they are is unknown" in d.problem
    }
    for digest in outcome.lost:
        if digest in named:
            copy.lost[digest] = Accounted.DIGEST
        elif path in unknown and path in hidden:
            copy.lost[digest] = Accounted.FILE
        else:
            copy.lost[digest] = Accounted.UNNAMED
    readable = set(committed) - outcome.lost
    if named & readable:
        copy.broken.append(f"verify names readable objects: {outcome.damage}")
    for each in outcome.damage:
        if each.path is not None and not os.path.isabs(each.path):
            copy.broken.append(f"verify names a relative path: {each}")


def damaged_copies(
    data: bytes, file_type: FileType, every_byte: bool
) -> Iterator[tuple[str, int, bytes]]:
    """("flip" or "cut", where, the damaged bytes) for each copy tried."""
    tried = positions(data, file_type.structure(data), len(data), every_byte)
    for at in tried:
        yield "flip", at, data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    for at in tried:
        yield "cut", at, data[:at]


def damage_outcomes(
    root: pathlib.Path, file_type: FileType, every_byte: bool = EVERY_BYTE
) -> Iterator[CopyOutcome]:
    """Fills a store at ``root``, then damages each file of the type in turn,
    every way, and yields what each damaged copy cost."""
    store = enact.FileStore(root)
    committed = file_type.fill(store)
    store.close()
    files = file_type.files(root)
    assert files, f"no {file_type.name} file was written"
    ends = record_ends(root, committed)
    for path in files:
        pristine = path.read_bytes()
        try:
            for damage, at, damaged in damaged_copies(pristine, file_type, every_byte):
                path.write_bytes(damaged)
                outcome = read_back(root, committed)
                copy = CopyOutcome(
                    store="file",
                    file_type=file_type.part_at(pristine, at),
                    damage=damage,
                    how=f"{file_type.name} {path.name}, {damage} at {at}",
                    wrong=outcome.wrong,
                    broken=outcome.errors,
                )
                judge(copy, outcome, str(path), committed, ends, file_type, at)
                yield copy
        finally:
            path.write_bytes(pristine)
    whole = read_back(root, committed)
    assert (whole.lost, whole.damage, whole.errors) == (set(), [], []), whole


def judge(
    copy: CopyOutcome,
    outcome: Outcome,
    path: str,
    committed: dict[str, object],
    ends: dict[str, int],
    file_type: FileType,
    at: int,
) -> None:
    """Records in ``copy`` how the reader's outcome kept the promises."""
    if copy.damage == "cut" and file_type.torn_tail:
        # Looks like a crash mid-append: the records before the cut are all
        # there, and nothing is reported.
        cut = {key for key in committed if ends[key] > at}
        for key in outcome.lost:
            copy.lost[key] = Accounted.CRASH if key in cut else Accounted.UNNAMED
        if outcome.damage:
            copy.broken.append(f"verify reports a torn tail: {outcome.damage}")
        if cut - outcome.lost:
            copy.broken.append(f"records past the cut still read: {cut}")
        return
    account(outcome, path, committed, copy)
    if not outcome.damage:
        copy.broken.append("verify found nothing")
    if copy.damage == "flip":
        # One damaged byte costs at most the one object it is in, and verify
        # names it by its digest.
        if len(outcome.lost) > 1:
            copy.broken.append(f"one flipped byte lost {sorted(outcome.lost)}")
        if any(how is not Accounted.DIGEST for how in copy.lost.values()):
            copy.broken.append(f"verify does not name the digest: {outcome.damage}")


def record_ends(root: pathlib.Path, committed: dict[str, object]) -> dict[str, int]:
    """Where each object's record ends in its pack or log (of a whole store)."""
    backend = enact.FileStore(root).backend
    assert isinstance(backend, FileObjects)
    try:
        backend.has_many(list(committed))  # indexes every pack and log
        return {
            key: offset + length for key, (_, offset, length) in backend._packed.items()
        }
    finally:
        backend.close()
