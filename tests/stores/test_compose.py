"""A store built from parts (Store.compose): objects and index may come from
different backends, and a resource-dict backend is wrapped once, at the edge."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import pytest

import enact
from enact import runs
from enact._refs.legacy_backend import StorageBackendObjects
from enact.backends import BackendError, ChunkedObjects
from enact.backends.journals import IndexJournals
from enact.backends.memory import MemoryIndex, MemoryObjects
from enact.references import FileBackend, Ref, StorageBackend, Store
from enact.runs import RunStatus
from runs.flows import Leaf, Stage


@enact.register
@dataclasses.dataclass
class Note(enact.Resource):
    text: str = ""


def test_objects_and_index_of_different_backends(tmp_path: pathlib.Path) -> None:
    objects = FileBackend(tmp_path / "objects")
    index = MemoryIndex()
    store = Store.compose(objects, index)
    assert store.objects.inner is objects  # large objects kept as chunks
    assert store.backend is objects
    assert store.index is index
    ref = store.commit(Note("kept"))
    assert store.checkout(Ref(ref.digest)) == Note("kept")
    with store:
        run = enact.run(Stage(Leaf(), width=3), enact.Int(1))
    assert run.status is RunStatus.FINISHED
    assert run.output() == enact.Int(2 * (1 + 2 + 3))
    # The run's record is in the index given, its objects in the file store.
    with store:
        assert [info.id for info in runs.list_runs()] == [run.id]
    assert index.get_run(run.id) is not None
    assert objects.index().get_run(run.id) is None
    assert store.verify() == []
    fresh = Store.compose(FileBackend(tmp_path / "objects"), index)
    assert runs.get_run(run.id, store=fresh).output() == run.output()
    store.close()
    fresh.close()


def test_a_store_of_two_backends_refuses_gc(tmp_path: pathlib.Path) -> None:
    store = Store.compose(FileBackend(tmp_path / "objects"), MemoryIndex())
    store.commit(Note("x"))
    with pytest.raises(BackendError, match="not parts of one backend"):
        store.gc()
    store.close()


def test_default_journals_keep_steps_in_the_index() -> None:
    index = MemoryIndex()
    store = Store.compose(MemoryObjects(), index)
    write = store.step_writer("run-1")
    key = store.commit(Note("step")).digest
    write(f'"{key}"\n'.encode(), b"")
    assert index.read_steps("run-1") == [f'"{key}"'.encode()]
    journals = store._journals
    assert isinstance(journals, IndexJournals)


def test_a_backend_with_its_own_index_is_one_store(tmp_path: pathlib.Path) -> None:
    backend = enact.SQLiteBackend(tmp_path / "db.sqlite")
    store = Store.compose(backend, backend.index())
    plain = Store(backend)
    # Both keep large objects as chunks over the backend, with its journals.
    assert type(store.objects) is type(plain.objects) is ChunkedObjects
    assert store.objects.inner is plain.objects.inner is backend
    assert type(store._journals) is type(plain._journals)
    with store:
        run = enact.run(Stage(Leaf(), width=2), enact.Int(3))
    assert runs.get_run(run.id, store=plain).output() == enact.Int(2 * 7)
    report = store.gc(dry_run=True)
    assert report.removed == 0
    store.close()


def test_objects_alone_keep_no_run_index() -> None:
    store = Store.compose(MemoryObjects())
    ref = store.commit(Note("only objects"))
    assert store.checkout(Ref(ref.digest)) == Note("only objects")
    with pytest.raises(BackendError, match="keeps no run index"):
        _ = store.index
    with pytest.raises(BackendError, match="keeps no run index"):
        store.step_writer("run-1")


class Dicts(StorageBackend):
    """A resource-dict backend of the user's own."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.closed = False

    def commit(self, packed_resource: Any) -> None:
        packed_resource.ref.verify(packed_resource)
        self.data[packed_resource.ref.digest] = packed_resource.data

    def has(self, ref: Any) -> bool:
        return ref.digest in self.data

    def checkout(self, ref: Any) -> Any:
        return self.data.get(ref.digest)

    def close(self) -> None:
        self.closed = True


def test_a_resource_dict_backend_is_wrapped_once() -> None:
    backend = Dicts()
    store = Store(backend)
    assert store.backend is backend
    assert isinstance(store.objects, StorageBackendObjects)
    with store.batch():
        ref = store.commit(Note("dict"))
        assert store.has(ref)
        assert not backend.data  # buffered, like any store's commits
    assert backend.data[ref.digest] == Note("dict").to_resource_dict()
    assert store.checkout(Ref(ref.digest)) == Note("dict")
    with pytest.raises(NotImplementedError, match="cannot list"):
        store.verify()
    with pytest.raises(NotImplementedError, match="canonical"):
        store.gc()
    store.close()
    assert backend.closed
