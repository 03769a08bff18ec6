"""Every single-byte flip and every cut of a store's files, one at a time.

For each damaged copy of one file (the rest left whole), a fresh reader must
never check out a wrong value: each object reads back as committed or raises
an enact error. And ``store.verify()`` must name every object that can no
longer be read, by its digest or, where the damage hides which objects a
file held, by the file; it must name no object that still reads.

The one exception is documented: a log cut short looks exactly like a log
whose writer was killed mid-append, so the records from the cut on are
simply not stored, and verify cannot tell (it says nothing).

Each file type is a :class:`FileType`: how to fill a store with such files
and which of its files to damage. Other file types (a SQLite database, run
index records) can be checked the same way with :func:`check_damage` by
describing them likewise.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import random
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact.backends import BackendError, FileObjects, sessions
from enact.backends.files.format import (
    LOG_MAGIC,
    RECORD_HEADER,
    log_record_header,
    parse_log,
)
from enact.backends.gc import GCReport
from enact.errors import EnactError
from enact.references import Damage, Ref, RefError, Store

from .helpers import PACK_MIN, Sample, key_of

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
    return {store.commit(value).digest: value}


def _pack_structure(data: bytes) -> list[tuple[int, int]]:
    # The header, the first and last index entries, the footer.
    index_at = int.from_bytes(data[-24:-16], "big")
    return [(0, 8), (index_at, index_at + 48), (len(data) - 72, len(data))]


def _listed(folder: str) -> Callable[[pathlib.Path], list[pathlib.Path]]:
    return lambda root: sorted((root / folder).iterdir())


def _loose_files(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in (root / "objects").rglob("*") if p.is_file())


FILE_TYPES = [
    FileType("log", _fill_log, _listed("logs"), lambda data: [], torn_tail=True),
    FileType("pack", _fill_pack, _listed("packs"), _pack_structure),
    FileType("loose", _fill_loose, _loose_files, lambda data: [(0, 64)]),
]


def positions(data: bytes, structure: list[tuple[int, int]], seed: int) -> list[int]:
    """Every offset of a small file; of a larger one every offset in its
    structure, the first and last bytes, and a fixed sample of the rest."""
    size = len(data)
    if size <= _EVERY_BYTE_UP_TO:
        return list(range(size))
    chosen = {0, size - 1}
    for start, end in structure:
        chosen.update(range(max(start, 0), min(end, size)))
    chosen.update(random.Random(seed).sample(range(size), _EVERY_BYTE_UP_TO // 4))
    return sorted(chosen)


@dataclasses.dataclass
class Outcome:
    """What a reader made of one damaged copy."""

    lost: set[str]
    damage: list[Damage]


def read_back(root: pathlib.Path, committed: dict[str, object]) -> Outcome:
    """Checks out every committed object through a fresh reader, then verifies.

    Raises:
        AssertionError: if a checkout returns a wrong value, or raises
            anything but an enact error.
    """
    store = enact.FileStore(root)
    lost = set()
    try:
        for digest, value in committed.items():
            try:
                got = store.checkout(Ref(digest))
            except EnactError:
                lost.add(digest)
                continue
            assert got == value, f"{digest} read back as {got!r}"
        damage = store.verify()
    finally:
        store.close()
    return Outcome(lost, damage)


def check_named(outcome: Outcome, path: str, committed: dict[str, object]) -> None:
    """Every lost object is named by ``verify``; no readable one is."""
    named = {d.key for d in outcome.damage if d.key is not None}
    unknown = {d.path for d in outcome.damage if d.key is None and d.path}
    hidden = {
        d.path for d in outcome.damage if "which they are is unknown" in d.problem
    }
    for digest in outcome.lost:
        assert digest in named or (path in unknown and path in hidden), (
            f"{digest} cannot be read, but verify says {outcome.damage}"
        )
    readable = set(committed) - outcome.lost
    assert not named & readable, f"verify names readable objects: {outcome.damage}"
    for each in outcome.damage:
        assert each.path is None or os.path.isabs(each.path)


def damaged_copies(data: bytes, file_type: FileType) -> Iterator[tuple[str, bytes]]:
    """(what was done, the damaged bytes) for each flip and cut tried."""
    tried = positions(data, file_type.structure(data), seed=len(data))
    for at in tried:
        yield f"flip at {at}", data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    for at in tried:
        yield f"cut at {at}", data[:at]


def check_damage(root: pathlib.Path, file_type: FileType) -> int:
    """Damages each file of the type in turn, every way; returns the copies tried."""
    store = enact.FileStore(root)
    committed = file_type.fill(store)
    store.close()
    files = file_type.files(root)
    assert files, f"no {file_type.name} file was written"
    ends = record_ends(root, committed)
    tried = 0
    for path in files:
        pristine = path.read_bytes()
        try:
            for how, damaged in damaged_copies(pristine, file_type):
                path.write_bytes(damaged)
                outcome = read_back(root, committed)
                tried += 1
                context = f"{file_type.name} {path.name}, {how}"
                if how.startswith("cut") and file_type.torn_tail:
                    # Looks like a crash mid-append: the records before the
                    # cut are all there, and nothing is reported.
                    assert outcome.damage == [], context
                    cut = {key for key in committed if ends[key] > len(damaged)}
                    assert outcome.lost == cut, context
                    continue
                assert outcome.damage, f"{context}: verify found nothing"
                if how.startswith("flip"):
                    # One damaged byte costs at most the one object it is in,
                    # and verify names it.
                    assert len(outcome.lost) <= 1, f"{context}: lost {outcome.lost}"
                    named = {d.key for d in outcome.damage}
                    assert outcome.lost <= named, f"{context}: {outcome.damage}"
                try:
                    check_named(outcome, str(path), committed)
                except AssertionError as error:
                    raise AssertionError(f"{context}: {error}") from None
        finally:
            path.write_bytes(pristine)
    assert read_back(root, committed) == Outcome(set(), [])
    return tried


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


@pytest.mark.parametrize("file_type", FILE_TYPES, ids=lambda t: t.name)
def test_every_flip_and_cut_of_a_file(
    tmp_path: pathlib.Path, file_type: FileType
) -> None:
    tried = check_damage(tmp_path / "store", file_type)
    assert tried > 100


# -- garbage collection never takes damage for "nothing there" ----------------


def collect_all(store: Store, monkeypatch: pytest.MonkeyPatch) -> GCReport:
    """Runs ``store.gc`` with the clock a minute ahead: every file is old."""
    real = time.time
    with monkeypatch.context() as patch:
        patch.setattr(sessions, "clock", lambda: real() + 60)
        return store.gc()


def contents(root: pathlib.Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.parts[len(root.parts)] in ("objects", "packs", "logs")
    }


def logged_store(root: pathlib.Path) -> tuple[Store, list[Ref], pathlib.Path]:
    """A store whose log holds three named objects and one unreferenced one."""
    store = enact.FileStore(root)
    refs = [store.commit(enact.Str(f"live {i}")) for i in range(3)]
    store.commit(enact.Str("garbage"))
    for number, ref in enumerate(refs):
        store.index.set_name(f"live-{number}", ref.digest)
    (log,) = (root / "logs").iterdir()
    store.close()  # its session would keep its log young
    return store, refs, log


def record_at(root: pathlib.Path, ref: Ref) -> tuple[int, int]:
    """(where the record's header starts, where its body starts) in its log."""
    ends = record_ends(root, {ref.digest: None})
    body = ends[ref.digest] - len(b"".join(enact._codec.encode(ref.checkout())))
    return body - RECORD_HEADER, body


def test_gc_refuses_a_log_whose_records_are_lost(tmp_path, monkeypatch) -> None:
    root = tmp_path / "store"
    store, refs, log = logged_store(root)
    header, body = record_at(root, refs[1])
    data = bytearray(log.read_bytes())
    data[header + 40] ^= 0xFF  # the length, and the body: nothing to recover
    data[body] ^= 0xFF
    log.write_bytes(bytes(data))
    before = contents(root)
    with pytest.raises(BackendError, match="removed nothing") as caught:
        collect_all(enact.FileStore(root), monkeypatch)
    assert str(log) in str(caught.value)
    assert contents(root) == before
    found = enact.FileStore(root).verify()
    in_files = [(d.path, d.offset) for d in found if d.path is not None]
    assert in_files == [(str(log), header)]
    # The index check also names the lost object, through the name naming it.
    assert [d.key for d in found if d.path is None] == [refs[1].digest]
    store.close()


def test_gc_refuses_to_drop_a_pack_hiding_a_live_object(tmp_path, monkeypatch) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    with store.batch():
        refs = [store.commit(enact.Int(i)) for i in range(PACK_MIN)]
    victim = refs[5]
    store.index.set_name("victim", victim.digest)
    store.close()  # its session would keep its pack young
    (pack,) = (root / "packs").iterdir()
    data = pack.read_bytes()
    # A damaged digest in the index: the live object looks unreferenced.
    at = data.rindex(bytes.fromhex(victim.digest))
    pack.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
    before = contents(root)
    reader = enact.FileStore(root)
    with pytest.raises(BackendError, match="removed nothing") as caught:
        collect_all(reader, monkeypatch)
    assert str(pack) in str(caught.value)
    assert contents(root) == before
    named = {(d.key, d.path, d.offset) for d in reader.verify()}
    assert (victim.digest, str(pack), at) in named
    store.close()


def test_gc_moves_a_recovered_record_into_a_pack(tmp_path, monkeypatch) -> None:
    # A damaged header whose object is still whole costs nothing, and a
    # collection that removes the log writes the object anew.
    root = tmp_path / "store"
    store, refs, log = logged_store(root)
    header, _ = record_at(root, refs[1])
    data = bytearray(log.read_bytes())
    data[header + 40] ^= 0xFF
    log.write_bytes(bytes(data))
    reader = enact.FileStore(root)
    (damage,) = reader.verify()
    assert damage.key is None and damage.offset == header
    assert refs[1].digest in damage.problem and "still read" in damage.problem
    report = collect_all(reader, monkeypatch)
    assert report.removed == 1
    assert not log.exists()
    fresh = enact.FileStore(root)
    assert [fresh.checkout(Ref(r.digest)) for r in refs] == [r.checkout() for r in refs]
    assert fresh.verify() == []
    store.close()


def test_committing_again_repairs_an_object_behind_a_damaged_entry(tmp_path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    with store.batch():
        refs = [store.commit(enact.Int(i)) for i in range(PACK_MIN)]
    (pack,) = (root / "packs").iterdir()
    data = bytearray(pack.read_bytes())
    at = bytes(data).rindex(bytes.fromhex(refs[0].digest)) + 32
    data[at] ^= 0xFF  # the entry's offset: it points past the objects
    pack.write_bytes(bytes(data))
    reader = enact.FileStore(root)
    with pytest.raises(RefError, match=str(pack)):
        reader.checkout(Ref(refs[0].digest))
    reader.commit(enact.Int(0))  # the pack is young, but this copy is no copy
    assert enact.FileStore(root).checkout(Ref(refs[0].digest)) == enact.Int(0)
    store.close()


def test_bytes_lost_inside_a_log_cost_two_records_both_named(tmp_path) -> None:
    # Bytes gone from the middle of a record: its length now reaches into the
    # next record, whose header is hidden inside it. Reads find the records
    # after them; verify names both objects.
    root = tmp_path / "store"
    store = enact.FileStore(root)
    refs = [store.commit(enact.Str(f"record {i} " * 5)) for i in range(4)]
    store.close()
    (log,) = (root / "logs").iterdir()
    _, body = record_at(root, refs[1])
    data = log.read_bytes()
    log.write_bytes(data[: body + 5] + data[body + 15 :])
    reader = enact.FileStore(root)
    for ref in (refs[0], refs[3]):
        assert reader.checkout(Ref(ref.digest)) == ref.checkout()
    for ref in refs[1:3]:
        with pytest.raises(EnactError):
            reader.checkout(Ref(ref.digest))
    named = {d.key for d in reader.verify()}
    assert {refs[1].digest, refs[2].digest} <= named
    assert not named & {refs[0].digest, refs[3].digest}


@settings(max_examples=60)
@given(
    bodies=st.lists(st.binary(max_size=40), min_size=1, max_size=6),
    where=st.integers(min_value=0),
    change=st.integers(min_value=1, max_value=255),
)
def test_a_flipped_byte_costs_at_most_one_record(
    bodies: list[bytes], where: int, change: int
) -> None:
    records = [
        log_record_header(bytes.fromhex(key_of(body)), len(body)) + body
        for body in bodies
    ]
    data = bytearray(LOG_MAGIC + b"".join(records))
    at = where % len(data)
    data[at] ^= change
    found = parse_log(bytes(data), 0, "test.log", "test")
    whole = {
        key
        for key, offset, length in found.entries
        if key_of(bytes(data[offset : offset + length])) == key
    }
    expected = {key_of(body) for body in bodies}
    # Every record but the damaged one reads whole (that one too, if its
    # header was damaged and its bytes were not), and nothing else is found.
    assert len(expected - whole) <= 1
    assert whole <= expected
    assert found.end == len(data)


@pytest.mark.parametrize("magic", [b"ENACTLG1", b"ENACTLG\x00", b"XNACTLG2"])
def test_a_damaged_log_header_costs_no_object(tmp_path, magic: bytes) -> None:
    # Even one that now reads as the old format's header.
    root = tmp_path / "store"
    _, refs, log = logged_store(root)
    log.write_bytes(magic + log.read_bytes()[8:])
    reader = enact.FileStore(root)
    assert [reader.checkout(Ref(r.digest)) for r in refs] == [
        r.checkout() for r in refs
    ]
    (damage,) = reader.verify()
    assert (damage.key, damage.path, damage.offset) == (None, str(log), 0)
