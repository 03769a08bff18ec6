"""Byte stores behind :class:`enact.Store` (STYLE 6).

A backend maps keys (hex digests) to immutable byte strings. It knows nothing of
types, encodings or digests: the :class:`~enact.references.Store` above it
encodes values, checks digests on read and caches. Backends are batch-first.
"""

from enact.backends.base import Backend, BackendError, FileDamage, Parts
from enact.backends.files import FileObjects
from enact.backends.memory import MemoryObjects
from enact.backends.sqlite import SQLiteObjects

__all__ = [
    "Backend",
    "BackendError",
    "FileDamage",
    "FileObjects",
    "MemoryObjects",
    "Parts",
    "SQLiteObjects",
]
