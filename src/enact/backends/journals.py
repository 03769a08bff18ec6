"""The run journals interface: a durable run's steps, written and read.

A durable run writes one finished call at a time: the call's new objects,
then its step lines. :meth:`Journals.step_writer` hands out one writer per
run for that hot path; :meth:`Journals.settle_steps` tells the journals the
run stopped writing here, so anything kept aside (the SQLite store's journal
files) goes to its final place. Journals know nothing of object bytes: they
write objects through the objects' ``put_many`` they were given, and the
lines beside the run's record in the index.

:class:`IndexJournals` is the plain implementation: ``put_many``, then the
index's ``append_steps``. A family whose writes are costly (SQLite: a
transaction each) or that can keep a descriptor open per run (files)
provides its own.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

from enact.backends.base import FileDamage, Parts, StepWriter
from enact.backends.index import Index

__all__ = ["IndexJournals", "Journals", "PutMany"]

#: The objects' ``put_many``, which journals write a call's objects through.
PutMany = Callable[[Sequence[tuple[str, Parts]]], None]


class Journals(abc.ABC):
    """Durable runs' step logs. Safe across threads and processes."""

    #: Where the journals live, for messages.
    location: str = "?"

    @abc.abstractmethod
    def step_writer(self, run_id: str) -> StepWriter:
        """A writer of one run's finished calls, for a durable run's hot path.

        ``writer(items, lines, recovery)`` writes the objects, then appends
        ``lines`` and then ``recovery`` (both whole step lines, each ending
        in a newline, that the caller has formed: none holds another newline
        or starts with a NUL byte; the recovery lines start with ``[``). When
        it returns, the objects and the lines survive the death of the
        process, and the lines never name an object that is not stored. The
        writer stays usable after :meth:`settle_steps`.

        Raises:
            BackendError: if the run id is not valid (the writer raises it
                if it cannot write).
        """

    @abc.abstractmethod
    def write_steps(
        self, run_id: str, items: Sequence[tuple[str, Parts]], lines: Sequence[bytes]
    ) -> None:
        """Writes ``items``, then appends ``lines`` to the run's step log.

        Lines may contain no newline and may not start with a NUL byte.
        """

    @abc.abstractmethod
    def read_steps(self, run_id: str) -> list[bytes]:
        """The run's complete step lines, in the order they were written.

        Lines starting with ``[`` (*recovery lines*) may be missing once the
        run has ended (see :meth:`settle_steps`).
        """

    def settle_steps(self, run_id: str, ended: bool = False) -> None:  # noqa: B027 - optional hook
        """The run stopped writing steps here: anything kept aside goes to
        its final place. A no-op by default.

        Args:
            ended: The run has ended (its record names its journal): its
                *recovery lines* (step lines starting with ``[``, which only
                spare a resume some reads) may be dropped.
        """

    def scan_damage(self) -> list[FileDamage]:
        """Damage in the journals' own files that a read cannot see (for
        ``store.verify()``). None by default."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Settles what can be settled and releases files. Idempotent."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


class IndexJournals(Journals):
    """Step logs kept by the index: the objects, then ``append_steps``.

    Args:
        put_many: The objects' ``put_many``.
        index: The index whose step logs hold the lines.
    """

    def __init__(self, put_many: PutMany, index: Index) -> None:
        self.location = index.location
        self._put_many = put_many
        self._index = index

    def write_steps(
        self, run_id: str, items: Sequence[tuple[str, Parts]], lines: Sequence[bytes]
    ) -> None:
        if items:
            self._put_many(items)
        self._index.append_steps(run_id, lines)

    def step_writer(self, run_id: str) -> StepWriter:
        put_many, append = self._put_many, self._index.append_steps
        append(run_id, [])  # checks the run id

        def write(
            items: Sequence[tuple[str, Parts]], lines: bytes, recovery: bytes
        ) -> None:
            if items:
                put_many(items)
            append(run_id, (lines + recovery)[:-1].split(b"\n"))

        return write

    def read_steps(self, run_id: str) -> list[bytes]:
        return self._index.read_steps(run_id)
