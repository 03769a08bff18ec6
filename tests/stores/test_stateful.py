"""Each byte backend against a dict, under random sequences of calls.

The machine writes random bytes under their SHA-256 keys, singly and in
batches (which the file backend turns into packs), reads them back through
the writing object and through a second object open on the same location,
reopens the backend, and compares ``iter_keys`` with the model.
"""

from __future__ import annotations

import shutil
import tempfile

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
)

from enact.backends import Backend

from .helpers import BackendKind, key_of, location_in

# Mostly small values; now and then one above the file backend's 256 KiB
# threshold for loose objects, so batches mix packed and loose writes.
small_blobs = st.binary(max_size=48)
large_blobs = st.builds(
    lambda seed, count: seed * count,
    st.binary(min_size=1, max_size=4),
    st.integers(min_value=70_000, max_value=100_000),
)
blobs = st.one_of(small_blobs, small_blobs, small_blobs, large_blobs)


class BackendMachine(RuleBasedStateMachine):
    """Compares one backend kind with a ``dict[key, bytes]``."""

    kind_name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="enact-stateful-")
        self.kind = BackendKind(
            self.kind_name, location_in(self.kind_name, self.directory)
        )
        self.model: dict[str, bytes] = {}
        self.backend: Backend | None = None
        self.other: Backend | None = None

    @initialize()
    def open(self) -> None:
        self.backend = self.kind.open()
        # A second object on the same location, opened before any write.
        self.other = self.kind.open()

    def teardown(self) -> None:
        for each in (self.backend, self.other):
            if each is not None:
                each.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def readers(self) -> list[Backend]:
        assert self.backend is not None and self.other is not None
        return [self.backend, self.other]

    # -- writes ---------------------------------------------------------------

    @rule(data=blobs)
    def put(self, data: bytes) -> None:
        assert self.backend is not None
        self.backend.put_many([(key_of(data), [data])])
        self.model.setdefault(key_of(data), data)

    @rule(batch=st.lists(blobs, max_size=24), split=st.integers(0, 3))
    def put_batch(self, batch: list[bytes], split: int) -> None:
        assert self.backend is not None
        # Parts of a value are concatenated; split some values into pieces.
        items = [
            (key_of(data), [data[:split], data[split:]] if split else [data])
            for data in batch
        ]
        self.backend.put_many(items)
        for data in batch:
            self.model.setdefault(key_of(data), data)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), replacement=small_blobs)
    def put_existing_key_again(self, data: st.DataObject, replacement: bytes) -> None:
        # Existing keys are left as they are, even given other bytes.
        assert self.backend is not None
        key = data.draw(st.sampled_from(sorted(self.model)))
        self.backend.put_many([(key, [replacement])])

    @rule()
    def reopen(self) -> None:
        assert self.backend is not None and self.other is not None
        self.backend.close()
        self.backend = self.kind.open()

    # -- reads ----------------------------------------------------------------

    def keys(self, data: st.DataObject) -> list[str]:
        absent = st.binary(max_size=8).map(key_of)
        choices = st.sampled_from(sorted(self.model)) if self.model else absent
        return data.draw(st.lists(st.one_of(choices, absent), max_size=12))

    @rule(data=st.data(), reader=st.sampled_from([0, 1]))
    def get(self, data: st.DataObject, reader: int) -> None:
        keys = self.keys(data)
        found = self.readers()[reader].get_many(keys)
        assert found == [self.model.get(key) for key in keys]

    @rule(data=st.data(), reader=st.sampled_from([0, 1]))
    def has(self, data: st.DataObject, reader: int) -> None:
        keys = self.keys(data)
        found = self.readers()[reader].has_many(keys)
        assert found == [key in self.model for key in keys]

    # A rule, not an invariant: listing loads new pack files, and running it
    # after every step would hide a reader that misses packs written since.
    @rule(reader=st.sampled_from([0, 1]))
    def iter_keys(self, reader: int) -> None:
        keys = list(self.readers()[reader].iter_keys())
        assert len(keys) == len(set(keys)), "a key is listed twice"
        assert set(keys) == set(self.model)


class MemoryMachine(BackendMachine):
    kind_name = "memory"


class FileMachine(BackendMachine):
    kind_name = "file"


class SQLiteMachine(BackendMachine):
    kind_name = "sqlite"


_settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
TestMemoryBackend = MemoryMachine.TestCase
TestMemoryBackend.settings = _settings
TestFileBackend = FileMachine.TestCase
TestFileBackend.settings = _settings
TestSQLiteBackend = SQLiteMachine.TestCase
TestSQLiteBackend.settings = _settings
