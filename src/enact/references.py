"""References, stores and storage backends: the public names.

:class:`Ref` names a resource by digest. :class:`Store` commits resources to
its objects and checks them out again, verifying on every read that the bytes
still hash to the digest. Stores are contexts: ``with store:`` makes
``enact.commit`` and ``ref.checkout()`` use it.

Each concept lives in its own module of :mod:`enact._refs` (see
docs/architecture.md): ``ref`` (:class:`Ref` and its flat encoders),
``errors`` (what reads report), ``store`` (:class:`Store`, the store
factories and the functions on the current store), ``legacy_backend``
(the resource-dict :class:`StorageBackend` and its adapter) and ``families``
(the backends enact ships).
"""

from __future__ import annotations

from enact._refs.errors import CorruptObject, Damage, NotFound
from enact._refs.families import FileBackend, InMemoryBackend, SQLiteBackend
from enact._refs.hooks import add_index_check as add_index_check  # for the run layer
from enact._refs.hooks import set_exchange as set_exchange  # for enact.exchange
from enact._refs.legacy_backend import StorageBackend
from enact._refs.ref import (
    InvalidRefId,
    PackedResource,
    Ref,
    RefError,
)
from enact._refs.ref import flat_ref as flat_ref  # the journal records use them
from enact._refs.ref import flat_refs as flat_refs
from enact._refs.store import (
    FileStore,
    InMemoryStore,
    SQLiteStore,
    Store,
    checkout,
    commit,
    get,
)
from enact.backends.gc import GCReport

__all__ = [
    "CorruptObject",
    "Damage",
    "FileBackend",
    "FileStore",
    "GCReport",
    "InMemoryBackend",
    "InMemoryStore",
    "InvalidRefId",
    "NotFound",
    "PackedResource",
    "Ref",
    "RefError",
    "SQLiteBackend",
    "SQLiteStore",
    "StorageBackend",
    "Store",
    "checkout",
    "commit",
    "get",
]
