"""A store whose objects are in S3 and whose index and journals are elsewhere.

:class:`S3Backend` bundles :class:`~enact.backends.s3.S3Objects` with the
index (and so the step logs) of another backend: a SQLite file, a store
directory, or any backend with an index. :func:`s3_store` builds the
:class:`~enact.references.Store`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from enact.backends import gc as garbage
from enact.backends import sessions
from enact.backends.backend import Backend
from enact.backends.base import BackendError, FileDamage, Parts
from enact.backends.files import FileObjects
from enact.backends.gc import GCReport
from enact.backends.index import Index
from enact.backends.s3.objects import S3Objects
from enact.backends.sqlite import SQLiteObjects
from enact.backends.tiered import TieredObjects

__all__ = ["S3Backend", "open_index_backend", "s3_store", "tiered_store"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class S3Backend(Backend):
    """Objects in S3, with the index and sessions of ``beside``.

    Args:
        objects: Where the objects live.
        beside: The backend whose index (run records, step logs, names,
            claims) and sessions the store uses; its own objects are unused.
    """

    chunks_large_objects = False  # it holds large values whole

    def __init__(self, objects: S3Objects, beside: Backend) -> None:
        if beside.index() is None:
            raise BackendError(f"{beside!r} keeps no run index", beside.location)
        self.s3 = objects
        self.beside = beside
        self.location = f"{objects.location} (index {beside.location})"

    def index(self) -> Index | None:
        return self.beside.index()

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self.s3.get_many(keys)

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        if items:
            self.beside.keep_session()
        self.s3.put_many(items)

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        return self.s3.has_many(keys)

    def iter_keys(self) -> Iterator[str]:
        return self.s3.iter_keys()

    def scan_damage(self) -> list[FileDamage]:
        return self.s3.scan_damage()

    def atomically(self) -> contextlib.AbstractContextManager[None]:
        return self.beside.atomically()

    def begin_use(self) -> None:
        self.beside.begin_use()

    def keep_session(self) -> None:
        self.beside.keep_session()

    def end_use(self) -> bool:
        return self.beside.end_use()

    def gc(
        self,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> GCReport:
        """Removes the S3 objects nothing in the index refers to (see
        :mod:`enact.backends.gc`).

        The cutoff is the one the index's backend computes from its live
        sessions (every writer registers one there, see
        :meth:`Backend.keep_session`); write times are S3's
        ``LastModified``.
        """
        started = time.monotonic()
        self.s3.begin_collection(sessions.clock())
        # The index's backend holds no objects of this store: a dry run of
        # its collection is only the cutoff of its sessions.
        held = self.beside.gc(dry_run=True)
        heap = _S3Heap(self.s3, held.cutoff)
        return garbage.collect(
            index=self.index(),
            heap=heap,
            cutoff=held.cutoff,
            held_back_by=held.held_back_by,
            dry_run=dry_run,
            progress=progress,
            started=started,
            location=self.location,
        )

    def close(self) -> None:
        self.s3.close()
        self.beside.close()


def open_index_backend(path: str | os.PathLike[str]) -> Backend:
    """The backend at ``path``: SQLite for ``.db``/``.sqlite``/``.sqlite3``,
    else a store directory (created if missing)."""
    text = os.fspath(path)
    if text.lower().endswith(_SQLITE_SUFFIXES):
        return SQLiteObjects(text)
    return FileObjects(text)


def s3_store(url: str, index: Backend | str | os.PathLike[str]) -> object:
    """A :class:`~enact.references.Store` with objects at ``url`` and the
    index of ``index`` (a backend, or the path of a SQLite file or store
    directory).

    Returns:
        The store (an ``enact.Store``).
    """
    from enact.references import Store

    beside = index if isinstance(index, Backend) else open_index_backend(index)
    return Store(S3Backend(S3Objects(url), beside))


def tiered_store(
    primary: Backend | str | os.PathLike[str],
    blobs: str,
    threshold: int = 1024 * 1024,
) -> object:
    """A :class:`~enact.references.Store` keeping small objects (and the
    index) in ``primary`` and values of ``threshold`` bytes or more in S3.

    Args:
        primary: A backend, or the path of a SQLite file or store directory.
        blobs: The ``s3://`` URL of the large values.
        threshold: The size from which a value goes to S3.

    Returns:
        The store (an ``enact.Store``).
    """
    from enact.references import Store

    inner = primary if isinstance(primary, Backend) else open_index_backend(primary)
    return Store(TieredObjects(inner, S3Objects(blobs), threshold))


# LastModified has whole seconds: an object may be up to this much younger.
_TIME_RESOLUTION = 1.0


class _S3Heap(garbage.Heap):
    """The objects in S3 as one collection sees them."""

    def __init__(self, objects: S3Objects, cutoff: float) -> None:
        self._objects = objects
        self._cutoff = cutoff
        self._listed = {each.key: each for each in objects.iter_objects()}

    def keys(self) -> Collection[str]:
        return self._listed.keys()

    def young(self) -> Iterable[str]:
        cutoff = self._cutoff
        return [
            key
            for key, each in self._listed.items()
            if each.written + _TIME_RESOLUTION >= cutoff
        ]

    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        try:
            return garbage.read_intact(self._objects, keys)
        except BackendError:
            if len(keys) == 1:
                return [None]  # damaged: the collection names it
            return [self.read([key])[0] for key in keys]

    def sweep(self, marked: set[str], dry_run: bool) -> tuple[int, int]:
        cutoff = self._cutoff
        doomed = [
            each
            for key, each in self._listed.items()
            if key not in marked and each.written + _TIME_RESOLUTION < cutoff
        ]
        if doomed:
            # Looked at again: a writer may have re-stamped one meanwhile.
            again = self._objects.written_many([each.key for each in doomed])
            doomed = [
                each
                for each, written in zip(doomed, again, strict=True)
                if written is not None and written + _TIME_RESOLUTION < cutoff
            ]
        if doomed and not dry_run:
            self._objects.delete_many([each.key for each in doomed])
        return len(doomed), sum(each.size for each in doomed)
