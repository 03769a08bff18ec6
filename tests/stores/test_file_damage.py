"""Damage to a file store's object files: every single-byte flip and every
cut of each kind of file (the checks are in :mod:`stores.object_damage`,
shared with the census in ``bench/damage.py``), and what garbage collection,
repair and verify make of particular damage."""

from __future__ import annotations

import pathlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact.backends import BackendError, sessions
from enact.backends.files.format import (
    LOG_MAGIC,
    RECORD_HEADER,
    log_record_header,
    parse_log,
)
from enact.backends.gc import GCReport
from enact.errors import EnactError
from enact.references import Ref, RefError, Store

from .helpers import PACK_MIN, key_of
from .object_damage import FILE_TYPES, FileType, damage_outcomes, record_ends


@pytest.mark.parametrize("file_type", FILE_TYPES, ids=lambda t: t.name)
def test_every_flip_and_cut_of_a_file(
    tmp_path: pathlib.Path, file_type: FileType
) -> None:
    tried = 0
    for copy in damage_outcomes(tmp_path / "store", file_type):
        assert not copy.problems, copy.problems
        tried += 1
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
