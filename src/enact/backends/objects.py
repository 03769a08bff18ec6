"""The objects interface: immutable bytes by key, in batches.

Objects know nothing of runs, types or encodings: a key is a hex digest and a
value is bytes. The :class:`~enact.references.Store` above encodes values,
checks every read against its digest and caches. Anything that changes lives
in the index (:mod:`enact.backends.index`), and a durable run's steps in the
journals (:mod:`enact.backends.journals`), so objects can live in one system
(a directory, a database, an object store) and the rest in another.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence, Set

from enact.backends.base import FileDamage, Parts

__all__ = ["NOTHING_CHECKED", "Objects"]

#: What :meth:`Objects.read_checked` says it checked when it checked nothing.
NOTHING_CHECKED: frozenset[str] = frozenset()


class Objects(abc.ABC):
    """Immutable objects by key. Implementations must be safe across threads."""

    #: Where the objects live, for messages: a path, or ``"memory"``.
    location: str = "?"

    @abc.abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Returns the stored bytes for each key, or None where absent."""

    def read_checked(self, keys: Sequence[str]) -> tuple[list[bytes | None], Set[str]]:
        """:meth:`get_many`, and the keys whose bytes this read has already
        checked against them (so the reader need not hash them again).

        None by default; a layer that must hash what it returns anyway (the
        chunks of a large object, put together) names what it checked.
        """
        return self.get_many(keys), NOTHING_CHECKED

    @abc.abstractmethod
    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        """Stores each ``(key, parts)``; existing keys are left as they are.

        A key whose stored copy predates this object's session is written
        again or re-stamped, not skipped, so that garbage collection sees it
        as young (see :mod:`enact.backends.gc`); the bytes of a key never
        change. When it returns, the objects are visible to every reader of
        the store.

        Raises:
            BackendError: if a key is not a valid digest (see
                :func:`~enact.backends.base.check_key`).
        """

    @abc.abstractmethod
    def has_many(self, keys: Sequence[str]) -> list[bool]:
        """Returns for each key whether it is stored."""

    @abc.abstractmethod
    def iter_keys(self) -> Iterator[str]:
        """Yields every stored key (for maintenance: verify, gc)."""

    def scan_damage(self) -> list[FileDamage]:
        """Reads the objects' raw storage and reports the damage in it.

        For what a read through the normal paths cannot see: damage that
        hides objects (a damaged record header, a damaged index entry) or
        that costs none (a repaired footer). :meth:`enact.references.Store.verify`
        calls it, then reads every listed object. None by default.
        """
        return []

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Releases files and connections. Idempotent."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"
