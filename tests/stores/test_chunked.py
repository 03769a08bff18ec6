"""Large values stored once: the chunking layer (``enact.backends.chunked``)
that every store puts over its family's objects.

Checked here: chunked and whole storage read back the same bytes under the
same digests (properties, at sizes around every threshold); the same payload
in many objects, and a value that grew or was edited, cost what differs;
listing names objects, not chunks; a damaged chunk is reported naming every
object that uses it and is never read back as data; garbage collection keeps
a chunk while any live object uses it; a writer killed between its chunks
and its manifest leaves no object behind.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact.backends import MemoryObjects, chunked, sessions
from enact.backends.chunk_format import (
    CHUNK_MAGIC,
    MANIFEST_MAGIC,
    NODE_MAGIC,
    encode_manifest,
    node_parts,
    parse_manifest,
)
from enact.backends.chunking import MAX_CHUNK, MIN_CHUNK, RUN, cut_points
from enact.backends.gc import GCReport
from enact.references import NotFound, Ref, RefError, Store

from .helpers import (
    Sample,
    StoreKind,
    child_env,
    large_text,
    location_in,
    whole_objects,
)

CHILD = pathlib.Path(__file__).with_name("chunked_child.py")
THRESHOLDS = (
    RUN,
    MIN_CHUNK,
    MAX_CHUNK,
    chunked.LONG_VALUE_THRESHOLD,
    chunked.THRESHOLD,
    2 * MAX_CHUNK,
)
SIZES = sorted({size + delta for size in THRESHOLDS for delta in (-2, -1, 0, 1, 2)})


# -- helpers ---------------------------------------------------------------------


def raw_entries(store: Store) -> dict[str, bytes]:
    """What the family's objects hold: whole objects, chunks, nodes, manifests."""
    backend = store.backend
    keys = list(backend.iter_keys())  # type: ignore[union-attr]
    found = backend.get_many(keys)  # type: ignore[union-attr]
    return {
        key: data for key, data in zip(keys, found, strict=True) if data is not None
    }


def stored_bytes(store: Store) -> int:
    return sum(map(len, raw_entries(store).values()))


def chunks_of(store: Store, key: str) -> set[str]:
    """The chunk keys the object ``key`` is made of."""
    entries = raw_entries(store)
    manifest = parse_manifest(entries[key], key)
    assert manifest is not None, "not stored as chunks"
    found: set[str] = set()
    for part in manifest.keys():
        data = entries[part]
        if data.startswith(NODE_MAGIC):
            found.update(node_parts(data))
        else:
            assert data.startswith(CHUNK_MAGIC)
            found.add(part)
    return found


def collect(store: Store, monkeypatch: pytest.MonkeyPatch) -> GCReport:
    """``store.gc()`` with the clock a minute ahead: everything is old."""
    real = time.time
    with monkeypatch.context() as patch:
        patch.setattr(sessions, "clock", lambda: real() + 60)
        return store.gc()


@st.composite
def contents(draw: st.DrawFn) -> bytes:
    """Bytes of a size near a threshold, made of what large values hold:
    long runs of text, quotes, JSON-ish glue and random bytes."""
    size = draw(st.sampled_from(SIZES) | st.integers(0, 3 * chunked.THRESHOLD))
    seed = draw(st.integers(0, 2**32))
    rng = __import__("random").Random(seed)
    pieces: list[bytes] = []
    length = 0
    while length < size:
        kind = rng.randrange(4)
        if kind == 0:
            piece = large_text(seed + length, rng.randint(1, 3 * RUN)).encode()
        elif kind == 1:
            piece = b'"'
        elif kind == 2:
            piece = b'","digest":"' + os.urandom(32).hex().encode() + b'"},{"'
        else:
            piece = rng.randbytes(rng.randint(1, 2 * RUN))
        pieces.append(piece)
        length += len(piece)
    return b"".join(pieces)[:size]


# -- the same bytes and digests, chunked or whole ----------------------------------


@settings(max_examples=150)
@given(data=contents(), splits=st.lists(st.integers(0, 3 * chunked.THRESHOLD)))
def test_chunked_objects_read_back_the_bytes_stored(
    data: bytes, splits: list[int]
) -> None:
    whole, layer = MemoryObjects(), chunked.ChunkedObjects(MemoryObjects())
    key = hashlib.sha256(data).hexdigest()
    cuts = sorted({min(at, len(data)) for at in splits})
    parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    for objects in (whole, layer):
        objects.put_many([(key, parts or [b""])])
        assert objects.get_many([key]) == [data]
        assert objects.has_many([key]) == [True]
        assert list(objects.iter_keys()) == [key]
    stored = layer.inner.get_many([key])[0]
    assert stored is not None
    large = len(data) >= chunked.THRESHOLD
    assert stored.startswith(MANIFEST_MAGIC) == (large or stored != data)


@settings(max_examples=60)
@given(data=contents())
def test_cuts_cover_the_bytes_in_bounded_chunks(data: bytes) -> None:
    cuts = cut_points(data)
    assert cuts[-1] == len(data)
    if not data:
        assert cuts == [0]
        return
    sizes = [end - start for start, end in zip([0, *cuts[:-1]], cuts, strict=True)]
    assert all(0 < size <= MAX_CHUNK for size in sizes)


@settings(max_examples=40)
@given(
    text=st.text(min_size=0, max_size=5).map(lambda t: t * 3000)
    | st.integers(0, 2**16).map(lambda seed: large_text(seed, 40_000)),
    blob=st.binary(max_size=300),
)
def test_a_store_gives_the_same_digest_and_value_chunked_or_whole(
    text: str, blob: bytes
) -> None:
    value = Sample(text=text, blob=blob * 100, items=[text[:500]])
    chunked_store = enact.InMemoryStore()
    ref = chunked_store.commit(value)
    with whole_objects():
        whole_store = enact.InMemoryStore()
        whole_ref = whole_store.commit(value)
    assert ref.digest == whole_ref.digest == enact.resource_digest(value)
    for store in (chunked_store, whole_store):
        assert store.checkout(Ref(ref.digest)) == value
        assert store.verify() == []


@pytest.mark.parametrize("size", [chunked.THRESHOLD - 1, chunked.THRESHOLD, 250_000])
def test_every_store_reads_chunked_values_back(
    store: Store, reopen_store: Callable[[], Store], size: int
) -> None:
    value = Sample(text=large_text(size, size), blob=os.urandom(size // 3))
    ref = store.commit(value)
    manifest = raw_entries(store)[ref.digest]
    assert manifest.startswith(MANIFEST_MAGIC)
    for reader in (store, reopen_store()):
        assert reader.checkout(Ref(ref.digest)) == value
        assert reader.has(Ref(ref.digest))
        assert reader.verify() == []


def test_a_store_from_before_chunking_reads_as_it_is(
    store_kind: StoreKind,
) -> None:
    value = Sample(text=large_text(3, 80_000))
    with whole_objects():
        old = store_kind.open()
        ref = old.commit(value)
        whole = raw_entries(old)[ref.digest]
        assert hashlib.sha256(whole).hexdigest() == ref.digest  # stored whole
        old.close()
    reader = store_kind.open()
    assert reader.checkout(Ref(ref.digest)) == value
    assert reader.verify() == []
    assert {r.digest for r in reader.iter_refs()} == {ref.digest}
    reader.close()


# -- stored once ---------------------------------------------------------------------


def test_the_same_payload_in_many_objects_is_stored_once(store: Store) -> None:
    payload = large_text(1)
    refs = [store.commit(Sample(number=n, text=payload)) for n in range(50)]
    total = stored_bytes(store)
    assert total < len(payload) + 50 * 1000, total  # not 50 copies
    shared = set.intersection(*(chunks_of(store, ref.digest) for ref in refs))
    assert sum(len(raw_entries(store)[chunk]) for chunk in shared) > 0.9 * len(payload)
    for n, ref in enumerate(refs):
        assert store.checkout(Ref(ref.digest)) == Sample(number=n, text=payload)


def test_a_growing_history_costs_what_it_gained(store: Store) -> None:
    history: list[dict[str, str]] = []
    for step in range(40):
        history = [*history, {"role": "user", "content": large_text(step, 2048)}]
        store.commit(Sample(number=step, items=history))
    with whole_objects():
        alone = enact.InMemoryStore()
        final = stored_bytes(alone) if alone.commit(Sample(items=history)) else 0
    assert stored_bytes(store) < 2.5 * final  # not the 20x of whole copies


def test_an_edit_in_the_middle_costs_the_chunks_around_it(store: Store) -> None:
    document = large_text(5, 300_000)
    store.commit(Sample(text=document))
    before = stored_bytes(store)
    edited = document[:150_000] + " an inserted sentence " + document[150_000:]
    ref = store.commit(Sample(text=edited))
    added = stored_bytes(store) - before
    assert added < 6 * MAX_CHUNK, added
    assert store.checkout(Ref(ref.digest)).text == edited


def test_cuts_depend_on_the_bytes_not_their_place() -> None:
    payload = large_text(9, 60_000).encode()
    pieces = []
    for prefix in (b'{"a":"', b'{"something longer":[1,2,3],"text":"'):
        data = prefix + payload + b'"}'
        cuts = cut_points(data)
        pieces.append({data[a:b] for a, b in zip([0, *cuts[:-1]], cuts, strict=True)})
    shared = pieces[0] & pieces[1]
    assert sum(map(len, shared)) > len(payload) - 2 * MAX_CHUNK


# -- listing, verify and damage ---------------------------------------------------


def test_listing_names_objects_not_chunks(store: Store) -> None:
    large = store.commit(Sample(text=large_text(2)))
    small = store.commit(Sample(text="small"))
    assert {ref.digest for ref in store.iter_refs()} == {large.digest, small.digest}
    assert len(raw_entries(store)) > 3  # the chunks are there, unlisted


def damage_entry(kind: StoreKind, store: Store, key: str) -> None:
    """Flips a byte in the middle of the stored entry ``key``."""
    data = raw_entries(store)[key]
    middle = len(data) // 2
    damaged = data[:middle] + bytes([data[middle] ^ 0x55]) + data[middle + 1 :]
    if kind.name == "memory":
        store.backend._objects[key] = damaged  # type: ignore[union-attr]
        return
    if kind.name == "sqlite":
        store.close()
        with sqlite3.connect(kind.path) as db:
            db.execute("UPDATE objects SET data = ? WHERE digest = ?", (damaged, key))
        return
    if kind.name == "postgres":
        import urllib.parse

        import psycopg

        store.close()
        base, _, query = kind.path.partition("?")
        schema = urllib.parse.parse_qs(query)["schema"][0]
        with psycopg.connect(base, autocommit=True) as db:
            db.execute(
                f'UPDATE "{schema}".objects SET data = %s WHERE digest = %s',
                (damaged, key),
            )
        return
    store.close()
    for path in pathlib.Path(kind.path).rglob("*"):
        if path.is_file() and path.suffix in (".log", ".pack"):
            content = path.read_bytes()
            at = content.find(data)
            if at >= 0:
                path.write_bytes(
                    content[: at + middle]
                    + damaged[middle : middle + 1]
                    + content[at + middle + 1 :]
                )
                return
    raise AssertionError(f"entry {key} not found in the files")


def test_a_damaged_chunk_is_named_with_every_object_using_it(
    store_kind: StoreKind,
) -> None:
    store = store_kind.open()
    payload = large_text(4)
    first = store.commit(Sample(number=1, text=payload))
    second = store.commit(Sample(number=2, text=payload))
    other = store.commit(Sample(number=3, text=large_text(40)))
    shared = chunks_of(store, first.digest) & chunks_of(store, second.digest)
    chunk = max(shared, key=lambda key: len(raw_entries(store)[key]))
    assert chunk not in chunks_of(store, other.digest)
    damage_entry(store_kind, store, chunk)
    reader = store_kind.open() if store_kind.name != "memory" else store
    damage = reader.verify()
    by_key = {each.key: each.problem for each in damage}
    for ref in (first, second):
        assert ref.digest in by_key, damage
        assert chunk in by_key[ref.digest]
        with pytest.raises(RefError, match=chunk):
            reader.checkout(Ref(ref.digest))  # never wrong data
    assert other.digest not in by_key
    assert reader.checkout(Ref(other.digest)).number == 3
    reader.close()


def test_a_missing_chunk_is_named_not_read_as_absent(store: Store) -> None:
    ref = store.commit(Sample(text=large_text(6)))
    chunk = sorted(chunks_of(store, ref.digest))[0]
    backend = store.backend
    real = backend.get_many  # type: ignore[union-attr]
    backend.get_many = lambda keys: [  # type: ignore[union-attr, method-assign]
        None if key == chunk else data
        for key, data in zip(keys, real(keys), strict=True)
    ]
    with pytest.raises(RefError, match=f"{chunk} is missing"):
        store.checkout(Ref(ref.digest))
    assert ref.digest in {each.key for each in store.verify()}


def test_a_manifest_of_intact_chunks_in_another_order_is_never_read(
    store: Store,
) -> None:
    """A manifest whose own check passes (written so by a faulty or hostile
    writer) but whose chunks make other bytes: the whole object's digest
    still catches it."""
    ref = store.commit(Sample(text=large_text(6)))
    manifest = parse_manifest(raw_entries(store)[ref.digest], ref.digest)
    assert manifest is not None
    keys = [part for part in manifest.parts if isinstance(part, str)]
    assert len(set(keys)) > 1
    parts = list(manifest.parts)
    first, last = parts.index(keys[0]), parts.index(keys[-1])
    parts[first], parts[last] = parts[last], parts[first]
    forged = encode_manifest(ref.digest, manifest.size, parts, manifest.references)
    assert parse_manifest(forged, ref.digest) is not None  # it checks out itself
    backend = store.backend
    real = backend.get_many  # type: ignore[union-attr]
    backend.get_many = lambda keys: [  # type: ignore[union-attr, method-assign]
        forged if key == ref.digest else data
        for key, data in zip(keys, real(keys), strict=True)
    ]
    with pytest.raises(RefError, match="damaged manifest"):
        store.checkout(Ref(ref.digest))
    with pytest.raises(RefError, match="damaged manifest"):
        store.checkout_many([Ref(ref.digest)])
    damage = {each.key: each.problem for each in store.verify()}
    assert "damaged manifest" in damage[ref.digest]


# -- garbage collection -------------------------------------------------------------


def test_gc_keeps_a_chunk_while_any_live_object_uses_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = large_text(7)
    first = store.commit(Sample(number=1, text=payload))
    second = store.commit(Sample(number=2, text=payload))
    garbage = store.commit(Sample(number=3, text=large_text(70)))
    garbage_only = chunks_of(store, garbage.digest) - chunks_of(store, first.digest)
    store.index.set_name("first", first.digest)
    store.index.set_name("second", second.digest)
    collect(store, monkeypatch)
    entries = raw_entries(store)
    assert garbage.digest not in entries
    assert not garbage_only & entries.keys()
    assert store.checkout(Ref(first.digest)).text == payload
    store.index.set_name("first", None)
    collect(store, monkeypatch)
    assert first.digest not in raw_entries(store)
    assert store.checkout(Ref(second.digest)).text == payload  # its chunks stayed
    assert store.verify() == []
    store.index.set_name("second", None)
    collect(store, monkeypatch)
    assert raw_entries(store) == {}  # no chunk outlives its objects


def test_gc_keeps_what_a_chunked_object_refers_to(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many refs inside one large object: some straddle two chunks.
    leaves = [store.commit(Sample(number=n, text="leaf")) for n in range(300)]
    root = store.commit(
        Sample(items=[[leaf, large_text(n, 300)] for n, leaf in enumerate(leaves)])
    )
    assert parse_manifest(raw_entries(store)[root.digest], root.digest) is not None
    store.index.set_name("root", root.digest)
    report = collect(store, monkeypatch)
    assert report.missing == 0
    for leaf in leaves:
        assert store.has(Ref(leaf.digest))
    assert len(store.checkout(Ref(root.digest)).items) == 300


def test_committing_again_after_gc_restores_the_chunks(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = large_text(8)
    store.commit(Sample(text=payload))
    collect(store, monkeypatch)  # nothing names it: all removed
    assert raw_entries(store) == {}
    ref = store.commit(Sample(text=payload))  # the layer must write chunks again
    assert store.checkout(Ref(ref.digest)).text == payload
    assert store.verify() == []


# -- a writer killed between chunks and manifest -----------------------------


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_a_writer_killed_before_its_manifest_leaves_no_object(
    tmp_path: pathlib.Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = location_in(kind, str(tmp_path))
    with subprocess.Popen(
        [sys.executable, str(CHILD), kind, path, "11"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_env(),
    ) as child:
        assert child.stdout is not None
        try:
            assert child.stdout.readline() == b"chunks written\n"
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    store = enact.FileStore(path) if kind == "file" else enact.SQLiteStore(path)
    key = enact.resource_digest(large_text(11))
    assert not store.has(Ref(key))
    with pytest.raises(NotFound):
        store.checkout(Ref(key))
    assert list(store.iter_refs()) == []  # the chunks are no objects
    assert len(raw_entries(store)) > 10  # but they are there, until collected
    assert store.verify() == []
    collect(store, monkeypatch)
    assert raw_entries(store) == {}
    ref = store.commit(large_text(11))  # and the write can be done again
    assert ref.digest == key and store.checkout(Ref(key)) == large_text(11)
    store.close()


def test_a_torn_manifest_record_is_no_object(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    ref = store.commit(Sample(text=large_text(12)))
    store.close()
    (log,) = (root / "logs").iterdir()
    content = log.read_bytes()
    manifest_at = content.rfind(MANIFEST_MAGIC)
    assert manifest_at > 0
    for cut in (manifest_at - 10, manifest_at + 20, len(content) - 1):
        log.write_bytes(content[:cut])
        reader = enact.FileStore(root)
        assert not reader.has(Ref(ref.digest))
        assert list(reader.iter_refs()) == []
        assert reader.verify() == []
        reader.close()
