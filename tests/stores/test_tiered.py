"""Tiered objects: small ones beside the index (SQLite), large values in S3
(moto's server over HTTP); gc and verify cover both tiers."""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Callable, Iterator

import pytest

import enact
from enact.backends import BackendError, MemoryObjects, SQLiteObjects, sessions
from enact.backends.s3 import S3Objects, tiered_store
from enact.backends.tiered import TieredObjects
from enact.references import Ref, Store
from runs.flows import Pipeline
from s3server import S3Server

from .helpers import Sample
from .test_conformance import (  # noqa: F401 - run here against both tiers
    test_backend_joins_parts,
    test_backend_round_trip,
    test_commit_checkout_round_trip,
    test_empty_calls,
    test_identical_content_gives_equal_refs,
    test_iter_refs_lists_every_object,
    test_large_and_small_values_in_one_batch,
    test_large_backend_value,
    test_missing_object_raises_not_found,
    test_put_many_is_idempotent,
    test_put_many_keeps_existing_objects,
    test_same_length_contract,
)

KiB = 1024
THRESHOLD = 4 * KiB


@pytest.fixture
def paths(s3_server: S3Server, tmp_path: pathlib.Path) -> tuple[str, str]:
    return str(tmp_path / "index.sqlite"), s3_server.fresh_url()


def open_tiered(paths: tuple[str, str]) -> TieredObjects:
    primary, blobs = paths
    return TieredObjects(SQLiteObjects(primary), S3Objects(blobs), THRESHOLD)


@pytest.fixture
def reopen_backend(paths: tuple[str, str]) -> Iterator[Callable[[], TieredObjects]]:
    opened: list[TieredObjects] = []

    def reopen() -> TieredObjects:
        opened.append(open_tiered(paths))
        return opened[-1]

    yield reopen
    for each in opened:
        each.close()


@pytest.fixture
def backend(reopen_backend: Callable[[], TieredObjects]) -> TieredObjects:
    return reopen_backend()


@pytest.fixture
def reopen_store(paths: tuple[str, str]) -> Iterator[Callable[[], Store]]:
    opened: list[Store] = []

    def reopen() -> Store:
        opened.append(Store(open_tiered(paths)))
        return opened[-1]

    yield reopen
    for each in opened:
        each.close()


@pytest.fixture
def store(reopen_store: Callable[[], Store]) -> Store:
    return reopen_store()


def tiers(store: Store) -> tuple[set[str], set[str]]:
    backend = store.backend
    assert isinstance(backend, TieredObjects)
    return set(backend.primary.iter_keys()), set(backend.blobs.iter_keys())


def test_large_leaves_go_to_the_blobs_and_the_rest_stays(store: Store) -> None:
    big = store.commit(enact.Bytes(os.urandom(THRESHOLD)))
    small = store.commit(enact.Bytes(b"small"))
    # Large, but it refers to another object: it stays beside the index.
    holder = store.commit(Sample(blob=os.urandom(THRESHOLD), child=big))
    primary, blobs = tiers(store)
    assert blobs == {big.digest}
    assert {small.digest, holder.digest} <= primary
    assert big.digest not in primary
    fresh = Store(store.backend)
    assert fresh.checkout(Ref(big.digest)) == big.checkout()
    assert fresh.checkout(Ref(holder.digest)).child == big


def test_a_durable_runs_large_values_go_to_the_blobs(store: Store) -> None:
    with store:
        run = enact.run(Pipeline(stages=1, width=2, blob_every=1), enact.Int(0))
    assert run.output() == 2
    primary, blobs = tiers(store)
    assert len(blobs) == 2  # the two 8 MiB values the leaves committed
    assert not blobs & primary
    assert store.verify() == []


def test_verify_names_a_damaged_blob(store: Store, s3_server: S3Server) -> None:
    big = store.commit(enact.Bytes(os.urandom(THRESHOLD)))
    backend = store.backend
    assert isinstance(backend, TieredObjects)
    where = backend.blobs.where  # type: ignore[attr-defined]
    s3_server.client().put_object(
        Bucket=where.bucket, Key=where.prefix + big.digest, Body=b"garbled"
    )
    (damage,) = store.verify()
    assert damage.key == big.digest
    assert "damaged" in damage.problem


def test_gc_covers_both_tiers(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with store:
        named = store.commit(enact.Bytes(os.urandom(THRESHOLD)))
        enact.runs.name_ref("named", named)
        below = store.commit(enact.Bytes(os.urandom(THRESHOLD)))
        enact.runs.name_ref("holder", store.commit(Sample(child=below)))
        loose = store.commit(enact.Bytes(os.urandom(THRESHOLD)))
        loose_small = store.commit(enact.Str("loose"))
    young = store.gc()
    assert young.removed == 0  # everything is young
    real = time.time
    monkeypatch.setattr(sessions, "clock", lambda: real() + 60)
    dry = store.gc(dry_run=True)
    assert dry.removed == 2 and store.has(loose)
    report = store.gc()
    assert report.removed == 2
    assert report.missing == 0  # the blobs are not missing: they are in S3
    primary, blobs = tiers(store)
    assert blobs == {named.digest, below.digest}
    assert loose_small.digest not in primary
    assert not store.has(loose)
    assert store.verify() == []


def test_a_blob_stored_before_a_collection_began_is_re_stamped(
    store: Store,
) -> None:
    ref = store.commit(enact.Bytes(os.urandom(THRESHOLD)))
    backend = store.backend
    assert isinstance(backend, TieredObjects)
    blobs = backend.blobs
    assert isinstance(blobs, S3Objects)
    data = backend.get_many([ref.digest])[0]
    assert data is not None
    copies: list[str] = []
    blobs._client.meta.events.register(
        "before-call.s3.CopyObject", lambda **event: copies.append("copy")
    )
    backend.put_many([(ref.digest, [data])])  # stored in this session: as is
    assert copies == []
    # A collection begins: writing a blob stored before it re-stamps it (a
    # copy onto itself), so the collection sees it as young.
    blobs.begin_collection(time.time() + 5)
    backend.put_many([(ref.digest, [data])])
    assert copies == ["copy"]
    assert backend.get_many([ref.digest]) == [data]


def test_tiering_needs_a_sweepable_blobs_tier_for_gc(tmp_path: pathlib.Path) -> None:
    tiered = TieredObjects(SQLiteObjects(str(tmp_path / "x.sqlite")), MemoryObjects())
    with pytest.raises(BackendError, match="lists no write times"):
        tiered.gc()
    tiered.close()


def test_tiered_store_builder(paths: tuple[str, str]) -> None:
    store = tiered_store(paths[0], paths[1], threshold=THRESHOLD)
    assert isinstance(store, Store)
    try:
        ref = store.commit(enact.Bytes(os.urandom(THRESHOLD)))
        assert tiers(store)[1] == {ref.digest}
        assert "values of 4096 bytes or more in s3://" in store.location
    finally:
        store.close()


def test_a_writer_of_blobs_only_holds_collections_back(
    paths: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, collector = Store(open_tiered(paths)), Store(open_tiered(paths))
    try:
        # Only a blob, outside any with block: the writer's session in the
        # primary is registered all the same ...
        held = writer.commit(enact.Bytes(os.urandom(THRESHOLD)))
        real = time.time
        monkeypatch.setattr(sessions, "clock", lambda: real() + 60)
        report = collector.gc()
        # ... so a collection elsewhere keeps what it wrote (it may still
        # hold the ref, to name it later).
        assert len(report.held_back_by) == 1
        assert report.removed == 0
        assert collector.has(held)
    finally:
        writer.close()
        collector.close()
