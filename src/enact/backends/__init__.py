"""Storage behind :class:`enact.Store`, as three narrow interfaces.

- **objects** (:class:`Objects`): immutable bytes by key (hex digests), in
  batches; nothing of types, encodings or runs;
- **the index** (:class:`Index`): run records, step logs, names and
  write-once claims, as opaque bytes;
- **run journals** (:class:`Journals`): a durable run's step writer and
  reader.

Each family keeps its three in a subpackage (:mod:`~enact.backends.memory`,
:mod:`~enact.backends.files`, :mod:`~enact.backends.sqlite`); its
:class:`Backend` is the bundle of them. The
:class:`~enact.references.Store` above encodes values, checks digests on
read and caches.
"""

from enact.backends import chunked
from enact.backends.backend import Backend
from enact.backends.base import BackendError, FileDamage, Parts
from enact.backends.chunked import ChunkedObjects
from enact.backends.files import FileObjects
from enact.backends.index import Index
from enact.backends.journals import Journals
from enact.backends.memory import MemoryObjects
from enact.backends.migrations import StoreVersionError
from enact.backends.objects import Objects
from enact.backends.sqlite import SQLiteObjects

__all__ = [
    "Backend",
    "BackendError",
    "ChunkedObjects",
    "FileDamage",
    "FileObjects",
    "Index",
    "Journals",
    "MemoryObjects",
    "Objects",
    "Parts",
    "SQLiteObjects",
    "StoreVersionError",
    "chunked",
]
