"""A storage family's bundle of its three parts: objects, index, journals.

A :class:`Backend` is the objects of one family (memory, files, SQLite) and
hands out the index and the journals that live beside them
(:meth:`Backend.index`, :meth:`Backend.journals`); a
:class:`~enact.references.Store` is built from the three. The bundle also
holds what needs all of them at once: garbage collection (roots in the
index, the heap of objects, the live sessions of writers), the sessions
that a store's ``with`` blocks keep, and transactions spanning objects and
index where the storage has them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from enact.backends.base import BackendError, Parts, StepWriter
from enact.backends.gc import GCReport
from enact.backends.index import Index
from enact.backends.journals import IndexJournals, Journals
from enact.backends.objects import Objects

__all__ = ["Backend"]


class Backend(Objects):
    """Immutable objects by key, with the index and journals beside them.

    Implementations must be safe across threads.
    """

    #: Whether a store over this backend keeps large objects as shared
    #: content-defined chunks (:mod:`enact.backends.chunked`). Backends that
    #: are meant to hold big values whole (objects in S3, a tier of blobs)
    #: say no: thousands of small requests would cost more than they save.
    chunks_large_objects: bool = True

    @property
    def objects(self) -> Objects:
        """The objects part (the bundle is its own objects)."""
        return self

    def index(self) -> Index | None:
        """The store's mutable run index (see :mod:`enact.backends.index`).

        None if this backend keeps none. The same object on every call.
        """
        return None

    def journals(self) -> Journals | None:
        """The store's run journals (see :mod:`enact.backends.journals`).

        By default the index keeps the step logs (:class:`IndexJournals`);
        None if this backend keeps no index. The same object on every call.
        """
        journals: Journals | None = self.__dict__.get("_enact_journals")
        if journals is None:
            index = self.index()
            if index is None:
                return None
            journals = IndexJournals(self.put_many, index)
            self.__dict__["_enact_journals"] = journals
        return journals

    def _journals_or_raise(self) -> Journals:
        journals = self.journals()
        if journals is None:
            raise BackendError(f"{self!r} keeps no run index", self.location)
        return journals

    def atomically(self) -> contextlib.AbstractContextManager[None]:
        """Groups the writes of the block (objects and index) into one
        transaction where the storage has them (SQLite); elsewhere a no-op.

        A durable run writes a finished call's objects and its step line in
        one block: one commit instead of two.
        """
        return contextlib.nullcontext()

    def write_steps(
        self, run_id: str, items: Sequence[tuple[str, Parts]], lines: Sequence[bytes]
    ) -> None:
        """:meth:`Journals.write_steps` of :meth:`journals`.

        Raises:
            BackendError: if the backend keeps no index, or cannot write.
        """
        self._journals_or_raise().write_steps(run_id, items, lines)

    def step_writer(self, run_id: str) -> StepWriter:
        """:meth:`Journals.step_writer` of :meth:`journals`.

        Raises:
            BackendError: if the backend keeps no index or the run id is
                not valid.
        """
        return self._journals_or_raise().step_writer(run_id)

    def settle_steps(self, run_id: str, ended: bool = False) -> None:
        """:meth:`Journals.settle_steps` of :meth:`journals`."""
        journals = self.journals()
        if journals is not None:
            journals.settle_steps(run_id, ended)

    def gc(
        self,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> GCReport:
        """Removes the objects nothing refers to (see :mod:`enact.backends.gc`).

        Args:
            dry_run: Report what would be removed, and remove nothing.
            progress: Called now and then with (objects scanned, objects
                in the store) while live objects are marked.

        Raises:
            BackendError: if this backend cannot collect garbage, or a live
                object cannot be read (then nothing is removed).
        """
        raise BackendError(
            f"{type(self).__name__} cannot collect garbage: it records neither "
            "write times nor sessions",
            self.location,
        )

    def begin_use(self) -> None:
        """A use of this backend begins (a store's ``with`` block enters).

        A backend that registers sessions keeps its session at least until
        the matching :meth:`end_use`. A no-op by default.
        """

    def keep_session(self) -> None:
        """Another tier is about to write objects for this store (the blobs
        of :class:`~enact.backends.tiered.TieredObjects`): register this
        backend's session, or touch it, as a write here would. Garbage
        collection then holds back for what this process writes there.
        A no-op by default."""

    def end_use(self) -> bool:
        """A use ends. Returns whether this backend's session turned idle (it
        was the last use): it holds garbage collection back for a while only
        (see :mod:`enact.backends.sessions`), after which what it wrote is
        collectable and a write registers a new session. False by default."""
        return False
