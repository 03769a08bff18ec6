"""The conformance suite every store and every byte backend must pass.

``store`` and ``backend`` are parametrized in ``tests/conftest.py`` over
memory, file and SQLite; a new backend joins by adding a kind there.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

import enact
from enact.backends import Backend, BackendError, FileObjects
from enact.references import NotFound, Ref, Store

from .helpers import PACK_MIN, Sample, files_under, key_of, samples

MiB = 1024 * 1024


def fresh_ref(ref: Ref) -> Ref:
    """The same reference without the cached object, as decoding makes it."""
    return type(ref)(ref.digest)


# -- Store ----------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(samples())))
def test_commit_checkout_round_trip(
    store: Store, reopen_store: Callable[[], Store], index: int
) -> None:
    original = samples()[index]
    ref = store.commit(original)
    assert store.has(ref)
    assert ref.checkout() is original  # the ref caches what was committed
    for reader in (store, reopen_store()):
        copy = reader.checkout(fresh_ref(ref))
        assert copy is not original
        assert type(copy) is type(original)
        assert copy == original
        assert Ref.from_resource(copy) == ref
    # Checking out through the caching ref still gives a new object.
    assert store.checkout(ref) is not original


def test_checkout_returns_independent_objects(store: Store) -> None:
    ref = store.commit(Sample(items=[1, 2], mapping={"a": [3]}))
    first = store.checkout(fresh_ref(ref))
    first.items.append(99)
    first.mapping["a"].append(4)
    second = store.checkout(fresh_ref(ref))
    assert second == Sample(items=[1, 2], mapping={"a": [3]})


def test_identical_content_gives_equal_refs(
    store: Store, reopen_store: Callable[[], Store]
) -> None:
    first = store.commit(Sample(text="same", items=[1, {"x": b"y"}]))
    second = store.commit(Sample(text="same", items=[1, {"x": b"y"}]))
    third = reopen_store().commit(Sample(text="same", items=[1, {"x": b"y"}]))
    assert first == second == third
    assert first is not second
    assert first.digest == second.digest == third.digest
    assert [r.digest for r in store.iter_refs()] == [first.digest]


def test_different_content_gives_different_refs(store: Store) -> None:
    values = [enact.Int(1), enact.Float(1.0), enact.Str("1"), enact.Bytes(b"1")]
    values += [Sample(number=1), Sample(real=1.0), Sample(flag=True)]
    refs = {store.commit(value).digest for value in values}
    assert len(refs) == len(values)


def test_missing_object_raises_not_found(store: Store) -> None:
    missing = Ref("0123456789abcdef" * 4)
    assert not store.has(missing)
    with pytest.raises(NotFound) as caught:
        store.checkout(missing)
    assert missing.digest in str(caught.value)
    assert store.location in str(caught.value)
    assert caught.value.ref == missing
    assert caught.value.location == store.location


def test_object_of_another_store_is_not_found(store: Store) -> None:
    ref = enact.InMemoryStore().commit(Sample(text="elsewhere"))
    assert not store.has(fresh_ref(ref))
    with pytest.raises(NotFound, match=ref.digest):
        store.checkout(fresh_ref(ref))


def test_store_as_current_context(store: Store) -> None:
    with store:
        ref = enact.commit(Sample(number=5))
        assert fresh_ref(ref).checkout() == Sample(number=5)
        assert enact.get(fresh_ref(ref)) == Sample(number=5)
    assert store.checkout(fresh_ref(ref)) == Sample(number=5)


def test_batch_objects_readable_inside_and_written_at_exit(
    store: Store, reopen_store: Callable[[], Store]
) -> None:
    values = [Sample(number=i, text="batched") for i in range(20)]
    with store.batch():
        refs = [store.commit(value) for value in values]
        for ref, value in zip(refs, values, strict=True):
            assert store.has(fresh_ref(ref))
            assert store.checkout(fresh_ref(ref)) == value
        # Buffered: another store on the same location does not see them yet.
        outsider = reopen_store()
        assert not any(outsider.has(fresh_ref(ref)) for ref in refs)
    later = reopen_store()
    for ref, value in zip(refs, values, strict=True):
        assert later.has(fresh_ref(ref))
        assert later.checkout(fresh_ref(ref)) == value


def test_nested_batch_writes_at_outermost_exit(
    store: Store, reopen_store: Callable[[], Store]
) -> None:
    with store.batch():
        with store.batch():
            ref = store.commit(Sample(text="nested"))
        assert not reopen_store().has(fresh_ref(ref))
        assert store.checkout(fresh_ref(ref)) == Sample(text="nested")
    assert reopen_store().checkout(fresh_ref(ref)) == Sample(text="nested")


def test_batch_writes_commits_made_before_an_exception(
    store: Store, reopen_store: Callable[[], Store]
) -> None:
    with pytest.raises(KeyError), store.batch():
        ref = store.commit(Sample(text="before the error"))
        raise KeyError("boom")
    assert reopen_store().checkout(fresh_ref(ref)) == Sample(text="before the error")


def test_file_store_batch_writes_a_pack(tmp_path) -> None:
    root = str(tmp_path / "store")
    store = enact.FileStore(root)
    values = [Sample(number=i) for i in range(PACK_MIN + 4)]
    with store.batch():
        refs = [store.commit(value) for value in values]
        assert os.listdir(os.path.join(root, "packs")) == []
    packs = os.listdir(os.path.join(root, "packs"))
    assert len(packs) == 1
    assert packs[0].endswith(".pack")
    # No loose object was written for the batch.
    assert not [p for p in files_under(root) if p.startswith("objects")]
    store.close()
    fresh = enact.FileStore(root)
    try:
        for ref, value in zip(refs, values, strict=True):
            assert fresh.has(fresh_ref(ref))
            assert fresh.checkout(fresh_ref(ref)) == value
        assert {r.digest for r in fresh.iter_refs()} == {r.digest for r in refs}
    finally:
        fresh.close()


def test_iter_refs_lists_every_object(
    store: Store, reopen_store: Callable[[], Store]
) -> None:
    refs = [store.commit(Sample(number=i)) for i in range(5)]
    with store.batch():
        refs += [store.commit(Sample(number=i, text="packed")) for i in range(20)]
    expected = {r.digest for r in refs}
    for reader in (store, reopen_store()):
        listed = [r.digest for r in reader.iter_refs()]
        assert len(listed) == len(set(listed))
        assert set(listed) == expected
        assert all(type(r) is Ref for r in reader.iter_refs())


@pytest.mark.slow
def test_large_value_round_trip(
    store: Store, reopen_store: Callable[[], Store]
) -> None:
    value = enact.Bytes(os.urandom(MiB) * 20)
    ref = store.commit(value)
    copy = reopen_store().checkout(fresh_ref(ref))
    assert type(copy) is enact.Bytes
    assert copy == value


def test_large_and_small_values_in_one_batch(
    store: Store, reopen_store: Callable[[], Store]
) -> None:
    big = Sample(blob=os.urandom(MiB))
    small = [Sample(number=i) for i in range(10)]
    with store.batch():
        refs = [store.commit(v) for v in [*small[:5], big, *small[5:]]]
    reader = reopen_store()
    for ref, value in zip(refs, [*small[:5], big, *small[5:]], strict=True):
        assert reader.checkout(fresh_ref(ref)) == value


def test_close_then_reopen(store_kind) -> None:
    store = store_kind.open()
    refs = [store.commit(Sample(number=i)) for i in range(3)]
    with store.batch():
        refs += [store.commit(Sample(number=i, text="b")) for i in range(10)]
    store.close()
    store.close()  # idempotent
    reopened = store_kind.open()
    try:
        for ref in refs:
            assert reopened.checkout(fresh_ref(ref)) == ref.checkout()
        assert {r.digest for r in reopened.iter_refs()} == {r.digest for r in refs}
    finally:
        reopened.close()


def test_close_writes_pending_batch(store_kind) -> None:
    store = store_kind.open()
    with store.batch():
        ref = store.commit(Sample(text="pending at close"))
        store.close()
    reopened = store_kind.open()
    try:
        assert reopened.checkout(fresh_ref(ref)) == Sample(text="pending at close")
    finally:
        reopened.close()


# -- Backend ----------------------------------------------------------------------


def put(backend: Backend, *blobs: bytes) -> list[str]:
    backend.put_many([(key_of(blob), [blob]) for blob in blobs])
    return [key_of(blob) for blob in blobs]


def test_backend_round_trip(backend: Backend, reopen_backend) -> None:
    blobs = [b"", b"x", b"\x00" * 1000, os.urandom(300 * 1024)]
    keys = put(backend, *blobs)
    assert backend.get_many(keys) == blobs
    assert backend.has_many(keys) == [True] * len(keys)
    assert reopen_backend().get_many(keys) == blobs


def test_backend_joins_parts(backend: Backend) -> None:
    parts = [b"head", b"", b"\n", b"tail" * 1000]
    key = key_of(b"".join(parts))
    backend.put_many([(key, parts)])
    assert backend.get_many([key]) == [b"".join(parts)]


def test_put_many_is_idempotent(backend: Backend, reopen_backend) -> None:
    blobs = [b"object %d" % i for i in range(10)]
    put(backend, *blobs)
    put(backend, *blobs)
    put(backend, blobs[0], blobs[0], blobs[1])
    backend.put_many([(key_of(b), [b]) for b in blobs * 2])
    for reader in (backend, reopen_backend()):
        keys = list(reader.iter_keys())
        assert sorted(keys) == sorted(key_of(b) for b in blobs)
        assert reader.get_many([key_of(b) for b in blobs]) == blobs


def test_put_many_keeps_existing_objects(backend: Backend) -> None:
    key = put(backend, b"original")[0]
    backend.put_many([(key, [b"impostor"])])
    assert backend.get_many([key]) == [b"original"]


def test_empty_calls(backend: Backend) -> None:
    backend.put_many([])
    assert backend.get_many([]) == []
    assert backend.has_many([]) == []
    assert list(backend.iter_keys()) == []


def test_same_length_contract(backend: Backend) -> None:
    present = put(backend, *(b"p%d" % i for i in range(20)))
    absent = [key_of(b"a%d" % i) for i in range(20)]
    # Interleaved, with duplicates, and more keys than one SQL statement takes.
    keys = [k for pair in zip(present, absent, strict=True) for k in pair]
    keys = (keys + keys[::-1]) * 20
    found = backend.get_many(keys)
    assert len(found) == len(keys)
    for key, data in zip(keys, found, strict=True):
        if key in present:
            assert data is not None and key_of(data) == key
        else:
            assert data is None
    assert backend.has_many(keys) == [key in present for key in keys]


def test_iter_keys_lists_loose_and_packed(backend: Backend, reopen_backend) -> None:
    single = [put(backend, b"single %d" % i)[0] for i in range(5)]
    batched = put(backend, *(b"batched %d" % i for i in range(PACK_MIN + 6)))
    big = put(backend, *(os.urandom(300 * 1024) for _ in range(2)))
    if isinstance(backend, FileObjects):
        assert len(backend.pack_files()) == 1
    for reader in (backend, reopen_backend()):
        keys = list(reader.iter_keys())
        assert len(keys) == len(set(keys))
        assert set(keys) == {*single, *batched, *big}


def test_backend_sees_writes_of_another_backend_object(
    backend_kind, reopen_backend
) -> None:
    if not backend_kind.persistent:
        pytest.skip("a memory backend has no location to share")
    reader = reopen_backend()
    writer = reopen_backend()
    assert reader.has_many([key_of(b"first")]) == [False]
    put(writer, b"first")
    later = put(writer, *(b"packed %d" % i for i in range(10)))
    assert reader.get_many([key_of(b"first")]) == [b"first"]
    assert reader.has_many(later) == [True] * 10
    assert set(reader.iter_keys()) == {key_of(b"first"), *later}


def test_large_backend_value(backend: Backend, reopen_backend) -> None:
    blob = os.urandom(MiB) * 20
    key = key_of(blob)
    backend.put_many([(key, [blob[: 3 * MiB], blob[3 * MiB :]])])
    assert reopen_backend().get_many([key]) == [blob]


@pytest.mark.parametrize(
    "bad_key",
    ["../../etc/passwd", "ab", "A" * 64, "g" * 64, "a" * 65, "", "ab/" + "c" * 61],
)
def test_put_many_refuses_invalid_keys(backend: Backend, bad_key: str) -> None:
    with pytest.raises(BackendError, match="not a valid object key"):
        backend.put_many([(bad_key, [b"data"])])
    assert list(backend.iter_keys()) == []


def test_backend_repr_names_location(backend: Backend) -> None:
    assert backend.location in repr(backend)
    assert type(backend).__name__ in repr(backend)
