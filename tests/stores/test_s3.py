"""S3 objects on moto's S3 server over HTTP: the conformance suite, and what
only object storage has (conditional writes, multipart, errors).

The conformance tests are those of ``test_conformance`` (imported), run here
with ``backend`` and ``store`` made on the server: each test gets a fresh
prefix in one bucket.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import pathlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import enact
from enact.backends import BackendError, SQLiteObjects, sessions
from enact.backends.s3 import S3Backend, S3Objects, parse_s3_url
from enact.references import Ref, Store
from s3server import S3Server

from .helpers import Sample, key_of
from .test_conformance import (  # noqa: F401 - run here against S3
    test_backend_joins_parts,
    test_backend_repr_names_location,
    test_backend_round_trip,
    test_backend_sees_writes_of_another_backend_object,
    test_batch_objects_readable_inside_and_written_at_exit,
    test_batch_writes_commits_made_before_an_exception,
    test_checkout_returns_independent_objects,
    test_close_then_reopen,
    test_close_writes_pending_batch,
    test_commit_checkout_round_trip,
    test_different_content_gives_different_refs,
    test_empty_calls,
    test_identical_content_gives_equal_refs,
    test_iter_refs_lists_every_object,
    test_large_and_small_values_in_one_batch,
    test_large_backend_value,
    test_large_value_round_trip,
    test_missing_object_raises_not_found,
    test_nested_batch_writes_at_outermost_exit,
    test_object_of_another_store_is_not_found,
    test_put_many_is_idempotent,
    test_put_many_keeps_existing_objects,
    test_put_many_refuses_invalid_keys,
    test_same_length_contract,
    test_store_as_current_context,
)

MiB = 1024 * 1024


@dataclasses.dataclass
class S3Kind:
    """Opens S3 objects (and stores of them) on one fresh prefix."""

    url: str
    index_path: str
    persistent = True
    name = "s3"

    def open(self) -> S3Objects:
        # Small parts, so that a 20 MiB value goes up in several.
        return S3Objects(self.url, part_size=5 * MiB, multipart_threshold=6 * MiB)

    def open_store(self) -> Store:
        return Store(S3Backend(self.open(), SQLiteObjects(self.index_path)))


@pytest.fixture
def s3_kind(s3_server: S3Server, tmp_path: pathlib.Path) -> S3Kind:
    return S3Kind(s3_server.fresh_url(), str(tmp_path / "index.sqlite"))


@pytest.fixture
def backend_kind(s3_kind: S3Kind) -> S3Kind:
    return s3_kind


@pytest.fixture
def reopen_backend(s3_kind: S3Kind) -> Iterator[Callable[[], S3Objects]]:
    opened: list[S3Objects] = []

    def reopen() -> S3Objects:
        opened.append(s3_kind.open())
        return opened[-1]

    yield reopen
    for each in opened:
        each.close()


@pytest.fixture
def backend(reopen_backend: Callable[[], S3Objects]) -> S3Objects:
    return reopen_backend()


class _StoreKind:
    def __init__(self, kind: S3Kind) -> None:
        self._kind = kind

    def open(self) -> Store:
        return self._kind.open_store()


@pytest.fixture
def store_kind(s3_kind: S3Kind) -> _StoreKind:
    return _StoreKind(s3_kind)


@pytest.fixture
def reopen_store(store_kind: _StoreKind) -> Iterator[Callable[[], Store]]:
    opened: list[Store] = []

    def reopen() -> Store:
        opened.append(store_kind.open())
        return opened[-1]

    yield reopen
    for each in opened:
        each.close()


@pytest.fixture
def store(reopen_store: Callable[[], Store]) -> Store:
    return reopen_store()


# -- what only object storage has ---------------------------------------------


def test_objects_are_named_by_digest_under_the_prefix(
    backend: S3Objects, s3_server: S3Server
) -> None:
    key = key_of(b"hello")
    backend.put_many([(key, [b"hel", b"lo"])])
    where = backend.where
    listed = s3_server.client().list_objects_v2(
        Bucket=where.bucket, Prefix=where.prefix
    )
    assert [entry["Key"] for entry in listed["Contents"]] == [where.prefix + key]


def test_conditional_write_never_overwrites(
    backend: S3Objects, s3_server: S3Server
) -> None:
    key = key_of(b"original")
    backend.put_many([(key, [b"original"])])
    other = S3Objects(
        backend.where.url.split(" ")[0] + f"?endpoint={s3_server.endpoint}"
    )
    try:
        other.put_many([(key, [b"impostor"])])  # refused by the service: 412
        assert other.get_many([key]) == [b"original"]
    finally:
        other.close()


def test_write_without_conditional_support_looks_first(
    s3_server: S3Server,
) -> None:
    objects = S3Objects(s3_server.fresh_url(conditional="0"))
    try:
        key = key_of(b"first")
        objects.put_many([(key, [b"first"])])
        objects.put_many([(key, [b"impostor"])])
        assert objects.get_many([key]) == [b"first"]
    finally:
        objects.close()


def test_a_damaged_object_is_refused_on_read(
    backend: S3Objects, s3_server: S3Server
) -> None:
    key = key_of(b"intact")
    where = backend.where
    # Written behind the backend's back, as damage on the service would be.
    s3_server.client().put_object(
        Bucket=where.bucket, Key=where.prefix + key, Body=b"garbled"
    )
    with pytest.raises(BackendError, match=f"object {key} in s3://") as caught:
        backend.get_many([key])
    assert caught.value.key == key
    assert "enact-tests" in str(caught.value)


def test_store_verify_names_a_damaged_object(
    s3_kind: S3Kind, s3_server: S3Server
) -> None:
    store = s3_kind.open_store()
    try:
        ref = store.commit(enact.Str("keep me"))
        where = parse_s3_url(s3_kind.url)
        s3_server.client().put_object(
            Bucket=where.bucket, Key=where.prefix + ref.digest, Body=b"garbled"
        )
        damage = store.verify()
        assert [d.key for d in damage] == [ref.digest]
        assert "damaged" in damage[0].problem
    finally:
        store.close()


def test_many_objects_in_one_batch(backend: S3Objects) -> None:
    blobs = [b"object %d" % i for i in range(600)]
    backend.put_many([(key_of(blob), [blob]) for blob in blobs])
    keys = [key_of(blob) for blob in blobs]
    assert backend.get_many(keys) == blobs
    assert backend.has_many(keys) == [True] * len(keys)
    assert sorted(backend.iter_keys()) == sorted(keys)


def test_multipart_value_from_many_parts(backend: S3Objects) -> None:
    # Parts of odd sizes: upload pieces span several of them.
    parts = [os.urandom(n) for n in (1, 3 * MiB + 7, 4 * MiB, 2 * MiB - 1, 9)]
    key = hashlib.sha256(b"".join(parts)).hexdigest()
    backend.put_many([(key, parts)])
    backend.put_many([(key, parts)])  # idempotent
    assert backend.get_many([key]) == [b"".join(parts)]


def test_delete_many_and_listing_with_times(backend: S3Objects) -> None:
    keys = [key_of(b"d%d" % i) for i in range(5)]
    backend.put_many([(key, [b"d%d" % i]) for i, key in enumerate(keys)])
    listed = {stored.key: stored for stored in backend.iter_objects()}
    assert set(listed) == set(keys)
    assert all(stored.size == 2 and stored.written > 0 for stored in listed.values())
    backend.delete_many(keys[:3])
    assert sorted(backend.iter_keys()) == sorted(keys[3:])


def test_missing_bucket_is_named(s3_server: S3Server) -> None:
    url = f"s3://no-such-bucket/p?endpoint={s3_server.endpoint}"
    with pytest.raises(BackendError, match="no-such-bucket does not exist"):
        S3Objects(url)
    created = S3Objects(url + "&create=1")
    try:
        created.put_many([(key_of(b"x"), [b"x"])])
        assert created.get_many([key_of(b"x")]) == [b"x"]
    finally:
        created.close()


def test_unreachable_endpoint_is_named_with_the_password_masked() -> None:
    with socket_port() as port:
        url = f"s3://bucket-x/p?endpoint=http://user:secret@127.0.0.1:{port}"
        with pytest.raises(BackendError) as caught:
            S3Objects(url)
    message = str(caught.value)
    assert "bucket-x" in message and f"127.0.0.1:{port}" in message
    assert "secret" not in message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("s3://A_Bucket/p", "not a valid bucket name"),
        ("s3://bucket/p?colour=red", "unknown option 'colour'"),
        ("s3://key:secret@bucket/p", "credentials do not belong"),
        ("s3://bucket/p?concurrency=0", "concurrency must be"),
        ("http://bucket/p", "not an s3:// URL"),
    ],
)
def test_bad_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(BackendError, match=problem) as caught:
        parse_s3_url(url)
    assert "secret" not in str(caught.value)


def test_url_options_are_read() -> None:
    where = parse_s3_url(
        "s3://bucket/a/b/?endpoint=http://h:9000&region=eu-west-1&profile=team"
        "&concurrency=200&conditional=0"
    )
    assert (where.bucket, where.prefix, where.endpoint) == (
        "bucket",
        "a/b/",
        "http://h:9000",
    )
    assert (where.region, where.profile, where.concurrency) == (
        "eu-west-1",
        "team",
        200,
    )
    assert where.conditional is False
    assert where.key_of("ab" * 32) == "a/b/" + "ab" * 32


class socket_port:
    """A loopback port nothing listens on (held closed for the block)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        pass


def test_gc_of_a_store_with_every_object_in_s3(
    s3_kind: S3Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, other_writer = s3_kind.open_store(), s3_kind.open_store()
    try:
        with store:
            named = store.commit(
                Sample(text="named", child=store.commit(enact.Str("c")))
            )
            enact.runs.name_ref("keep", named)
            loose = store.commit(enact.Str("loose"))
        assert store.gc().removed == 0  # everything is young
        # Another writer, which may hold a ref to what it wrote, unnamed.
        held = other_writer.commit(enact.Str("held by another writer"))
        real = time.time
        monkeypatch.setattr(sessions, "clock", lambda: real() + 60)
        report = store.gc()
        # Its session (registered in the index's backend by its first write)
        # holds the collection back.
        assert report.removed == 0 and len(report.held_back_by) == 1
        other_writer.close()
        dry = store.gc(dry_run=True)
        assert dry.removed == 2 and store.has(loose)
        report = store.gc()
        assert (report.removed, report.missing) == (2, 0)
        assert not store.has(loose) and not store.has(held)
        assert store.checkout(store.checkout(Ref(named.digest)).child) == "c"
        assert store.verify() == []
    finally:
        store.close()
        other_writer.close()


def _commit_in_child(backend: S3Objects, queue: Any) -> None:
    data = b"written by the child"
    key = hashlib.sha256(data).hexdigest()
    backend.put_many([(key, [data])])
    queue.put((id(backend._client), key))


def test_a_forked_child_sends_on_connections_of_its_own(backend: S3Objects) -> None:
    """The client's pool holds the parent's HTTP connections: a child that
    used them could interleave its requests with the parent's."""
    first = b"written by the parent"
    backend.put_many([(hashlib.sha256(first).hexdigest(), [first])])
    parents = id(backend._client)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_commit_in_child, args=(backend, queue))
    child.start()
    childs, key = queue.get(timeout=120)
    child.join(120)
    assert child.exitcode == 0
    assert childs != parents  # the parent's is kept (never reused) there
    assert backend.get_many([key]) == [b"written by the child"]
    assert id(backend._client) == parents
