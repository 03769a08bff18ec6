"""open_store with objects in S3: ``s3://...?index=...`` and ``?blobs=s3://...``
(moto's S3 server over HTTP)."""

from __future__ import annotations

import os
import pathlib

import pytest

import enact
from enact.backends import BackendError
from enact.backends.tiered import TieredObjects
from runs.flows import Pipeline
from s3server import S3Server


def test_objects_in_s3_and_runs_in_sqlite(
    s3_server: S3Server, tmp_path: pathlib.Path
) -> None:
    index = f"sqlite:///{tmp_path / 'runs.db'}"
    url = s3_server.fresh_url() + f"&index={index}"
    with enact.open_store(url):
        run = enact.run(Pipeline(stages=1, width=2), enact.Int(0))
        assert run.output() == 2
        digest = run.info().request.digest
    again = enact.open_store(url)
    with again:
        (listed,) = enact.runs.list_runs()
        assert listed.id == run.id
        assert again.objects.has_many([digest]) == [True]
    again.close()
    # The SQLite file holds the runs, not the objects.
    local = enact.open_store(index)
    assert local.objects.has_many([digest]) == [False]
    local.close()


def test_an_s3_store_needs_an_index(s3_server: S3Server) -> None:
    with pytest.raises(BackendError, match="need a store for the runs"):
        enact.open_store(s3_server.fresh_url())


def test_large_values_tiered_out_by_url(
    s3_server: S3Server, tmp_path: pathlib.Path
) -> None:
    blobs = s3_server.fresh_url()
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    with enact.open_store(url, blobs=blobs, blob_threshold=4096) as store:
        assert isinstance(store.backend, TieredObjects)
        big = enact.commit(enact.Bytes(os.urandom(8192)))
        small = enact.commit(enact.Bytes(b"small"))
        store.flush()
        assert set(store.backend.blobs.iter_keys()) == {big.digest}
        assert small.digest in set(store.backend.primary.iter_keys())
    with pytest.raises(BackendError, match="blob_threshold"):
        enact.open_store(url, blobs=blobs, blob_threshold="lots")
    with pytest.raises(BackendError, match="needs blobs"):
        enact.open_store(url, blob_threshold=10)
