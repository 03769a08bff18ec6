"""The backends enact ships: a family's byte objects with the resource-dict
methods of enact 0.4.0.dev1 on top (:class:`StorageBackendMethods`)."""

from __future__ import annotations

import os

from enact._refs.legacy_backend import StorageBackendMethods
from enact.backends.files import FileObjects
from enact.backends.memory import MemoryObjects
from enact.backends.sqlite import SQLiteObjects
from enact.serialization import Serializer

__all__ = ["FileBackend", "InMemoryBackend", "SQLiteBackend"]


class InMemoryBackend(StorageBackendMethods, MemoryObjects):
    """Objects in process memory."""


class FileBackend(StorageBackendMethods, FileObjects):
    """Objects in a directory (see :mod:`enact.backends.files` for the layout).

    Args:
        root_dir: The store directory; created with its parents if missing.
        serializer: Store this serializer's format instead of the canonical
            encoding (slower: reads then verify by re-encoding).
        fsync: Make every write survive power loss, at a cost per write.
    """

    def __init__(
        self,
        root_dir: str | os.PathLike[str],
        serializer: Serializer | None = None,
        fsync: bool = False,
    ) -> None:
        FileObjects.__init__(self, root_dir, fsync=fsync)
        self.serializer = serializer


class SQLiteBackend(StorageBackendMethods, SQLiteObjects):
    """Objects in a SQLite database file (see :mod:`enact.backends.sqlite`)."""
