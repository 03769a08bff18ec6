"""The byte-store protocol every backend implements."""

from __future__ import annotations

import abc
import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from enact.errors import EnactError

if TYPE_CHECKING:
    from enact.backends.gc import GCReport
    from enact.backends.index import Index

__all__ = [
    "Backend",
    "BackendError",
    "FileDamage",
    "Parts",
    "StepWriter",
    "check_key",
]

# A stored value arrives as parts to concatenate, so large values are hashed and
# written without first being joined into one more copy.
Parts = Sequence[bytes]

_KEY = re.compile(r"[0-9a-f]{64}")

#: Writes one durable run's finished calls (see :meth:`Backend.step_writer`):
#: ``writer(items, lines, recovery)`` writes the objects, then appends the
#: lines and the recovery lines.
StepWriter = Callable[[Sequence[tuple[str, "Parts"]], bytes, bytes], None]


class BackendError(EnactError):
    """A backend cannot read or write its storage.

    Attributes:
        location: The store's location (a path or ``memory``).
        key: The object key concerned, if any.
    """

    def __init__(self, message: str, location: str, key: str | None = None) -> None:
        self.location = location
        self.key = key
        super().__init__(message)


class FileDamage(NamedTuple):
    """Damage a backend found in its own files (see :meth:`Backend.scan_damage`)."""

    #: What is wrong, and what it costs.
    problem: str
    #: The damaged file.
    path: str
    #: Where in the file the damage starts.
    offset: int | None = None
    #: The object that can no longer be read because of it; None if none
    #: is lost, or if which is unknown (then every object the file held
    #: from ``offset`` on may be).
    key: str | None = None


def check_key(key: str, location: str) -> str:
    """Returns ``key`` if it is a 64-digit lowercase hex digest.

    Keys become file names, so anything else (``../x``) is refused.
    """
    if type(key) is not str or _KEY.fullmatch(key) is None:
        raise BackendError(
            f"{key!r} is not a valid object key (64 lowercase hex digits)",
            location,
            None,
        )
    return key


class Backend(abc.ABC):
    """Immutable objects by key. Implementations must be safe across threads."""

    #: Where the objects live, for messages: a path, or ``"memory"``.
    location: str = "?"

    @abc.abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Returns the stored bytes for each key, or None where absent."""

    @abc.abstractmethod
    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        """Stores each ``(key, parts)``; existing keys are left as they are.

        A key whose stored copy predates this backend object's session is
        written again or re-stamped, not skipped, so that garbage collection
        sees it as young (see :mod:`enact.backends.gc`); the bytes of a key
        never change. When it returns, the objects are visible to every
        reader of the store.

        Raises:
            BackendError: if a key is not a valid digest (see :func:`check_key`).
        """

    @abc.abstractmethod
    def has_many(self, keys: Sequence[str]) -> list[bool]:
        """Returns for each key whether it is stored."""

    @abc.abstractmethod
    def iter_keys(self) -> Iterator[str]:
        """Yields every stored key (for maintenance: verify, gc)."""

    def scan_damage(self) -> list[FileDamage]:
        """Reads the backend's raw files and reports the damage in them.

        For what a read through the normal paths cannot see: damage that
        hides objects (a damaged record header, a damaged index entry) or
        that costs none (a repaired footer). :meth:`enact.references.Store.verify`
        calls it, then reads every listed object. None by default.
        """
        return []

    def index(self) -> Index | None:
        """The store's mutable run index (see :mod:`enact.backends.index`).

        None if this backend keeps none. The same object on every call.
        """
        return None

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
        """Writes ``items``, then appends ``lines`` to the run's step log.

        A durable run calls this as each call ends: when it returns, the
        objects and the lines survive the death of the process, and the
        lines never name an object that is not stored. Lines may contain no
        newline and may not start with a NUL byte. By default,
        :meth:`put_many` then the index's ``append_steps``; a backend whose
        writes are costly transactions (SQLite) journals them instead, until
        :meth:`settle_steps`.

        Raises:
            BackendError: if the backend keeps no index, or cannot write.
        """
        if items:
            self.put_many(items)
        index = self.index()
        if index is None:
            raise BackendError(f"{self!r} keeps no run index", self.location)
        index.append_steps(run_id, lines)

    def step_writer(self, run_id: str) -> StepWriter:
        """:meth:`write_steps` for one run, for a durable run's hot path.

        ``writer(items, lines, recovery)`` writes the objects, then appends
        ``lines`` and then ``recovery`` (both whole step lines, each ending
        in a newline, that the caller has formed: none holds another newline
        or starts with a NUL byte; the recovery lines start with ``[``). The
        writer stays usable after :meth:`settle_steps`.

        Raises:
            BackendError: if the backend keeps no index or the run id is
                not valid (the writer raises it if it cannot write).
        """
        index = self.index()
        if index is None:
            raise BackendError(f"{self!r} keeps no run index", self.location)
        index.append_steps(run_id, [])  # checks the run id

        def write(
            items: Sequence[tuple[str, Parts]], lines: bytes, recovery: bytes
        ) -> None:
            if items:
                self.put_many(items)
            index.append_steps(run_id, (lines + recovery)[:-1].split(b"\n"))

        return write

    def settle_steps(self, run_id: str, ended: bool = False) -> None:  # noqa: B027 - optional hook
        """The run stopped writing steps here: anything :meth:`write_steps`
        kept aside goes to its final place. A no-op by default.

        Args:
            ended: The run has ended (its record names its journal): its
                *recovery lines* (step lines starting with ``[``, which only
                spare a resume some reads) may be dropped.
        """

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

    def begin_use(self) -> None:  # noqa: B027 - optional hook
        """A use of this backend begins (a store's ``with`` block enters).

        A backend that registers sessions keeps its session at least until
        the matching :meth:`end_use`. A no-op by default.
        """

    def end_use(self) -> bool:
        """A use ends. Returns whether this backend's session turned idle (it
        was the last use): it holds garbage collection back for a while only
        (see :mod:`enact.backends.sessions`), after which what it wrote is
        collectable and a write registers a new session. False by default."""
        return False

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Releases files and connections. Idempotent."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"
