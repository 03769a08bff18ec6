"""The mutable side of a store: run records, step logs, names and claims.

Objects are immutable and content-addressed; everything that changes lives
here, in a small interface apart from them. Values are opaque bytes
(the run layer above encodes them as JSON), so an index knows nothing of
types, like the objects (:mod:`enact.backends.objects`).

- **Run records**: one small value per run id, replaced whole. Updates go
  through :meth:`Index.update_run`, which is atomic across the processes
  sharing the store.
- **Step logs**: per run, an append-only sequence of short lines. A run
  appends one line per finished call, so appending must cost microseconds; a
  crash mid-append may lose only the incomplete last line.
- **Names**: a mutable name -> object key map (named refs, GC roots).
- **Claims**: write-once keys: the first :meth:`Index.claim` of a key wins and
  every later one is refused. Answers to input requests are claims, so two
  processes answering the same request cannot both succeed.
"""

from __future__ import annotations

import abc
import re
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from enact.backends.base import BackendError
from enact.backends.query import Columns, RunPage, RunQuery, scan_query

__all__ = [
    "Index",
    "RunScan",
    "UnreadableRecord",
    "check_claim_key",
    "check_run_id",
]

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_CLAIM_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}")


def check_run_id(run_id: str, location: str) -> str:
    """Returns ``run_id`` if it is usable as a file name (letters, digits, ``_.-``).

    Raises:
        BackendError: naming the bad id.
    """
    if type(run_id) is not str or _RUN_ID.fullmatch(run_id) is None:
        raise BackendError(
            f"{run_id!r} is not a valid run id (letters, digits, '_', '.', '-'; "
            "at most 128 characters)",
            location,
        )
    return run_id


def check_claim_key(key: str, location: str) -> str:
    """Returns ``key`` if it is a valid claim key (run id, ``:`` and a path).

    Raises:
        BackendError: naming the bad key.
    """
    if type(key) is not str or _CLAIM_KEY.fullmatch(key) is None:
        raise BackendError(f"{key!r} is not a valid claim key", location)
    return key


class UnreadableRecord(NamedTuple):
    """A run record the index holds but cannot read (see :meth:`Index.scan_runs`)."""

    #: The run id, if it could be read.
    run_id: str | None
    #: Where the record is: a file path, or a row of a database.
    where: str
    #: What is wrong.
    problem: str


class RunScan(NamedTuple):
    """Every run record an index could read, and those it could not."""

    #: (run id, record) of each readable record.
    records: list[tuple[str, bytes]]
    #: The records that could not be read.
    unreadable: list[UnreadableRecord]


class Index(abc.ABC):
    """Mutable records beside a store's objects. Safe across threads and processes."""

    #: Where the index lives, for messages.
    location: str = "?"

    # -- run records ---------------------------------------------------------

    @abc.abstractmethod
    def get_run(self, run_id: str) -> bytes | None:
        """The run's record, or None if there is no such run."""

    @abc.abstractmethod
    def list_runs(self) -> list[tuple[str, bytes]]:
        """Every run id with its record (in no particular order).

        Raises:
            BackendError: if a record cannot be read (see :meth:`scan_runs`).
        """

    def record_location(self, run_id: str) -> str:
        """Where the run's record is kept (a path, or a table), for messages."""
        return self.location

    def scan_runs(self) -> RunScan:
        """Every run record that can be read, and each one that cannot.

        Like :meth:`list_runs`, but a record that cannot be read (a damaged
        file or row) is reported beside the others instead of failing the
        whole listing. Nothing is repaired or removed.

        Raises:
            BackendError: only if no record at all can be listed.
        """
        return RunScan(self.list_runs(), [])

    def query_runs(self, query: RunQuery, columns: Columns) -> RunPage:
        """One page of the runs matching ``query`` (see :mod:`enact.backends.query`).

        ``columns`` turns a record into its query columns; the index itself
        stays ignorant of what records hold. This default reads every
        readable record; an index may answer natively as long as it returns
        the same page. Unreadable records are left out (see :meth:`scan_runs`).

        Raises:
            ValueError: for a bad cursor or a negative limit.
        """
        return scan_query(self.scan_runs().records, query, columns)

    @abc.abstractmethod
    def update_run(
        self, run_id: str, update: Callable[[bytes | None], bytes | None]
    ) -> bytes | None:
        """Atomically replaces a run's record with ``update(old record)``.

        ``update`` gets None for a new run id; returning None deletes the run
        (and its step log). No other update of any run runs at the same time,
        in any process, so ``update`` may read, check and then write (it may
        raise to abort, leaving the record unchanged).

        Returns:
            The new record.
        """

    # -- step logs -----------------------------------------------------------

    @abc.abstractmethod
    def append_steps(self, run_id: str, lines: Sequence[bytes]) -> None:
        """Appends lines (without newlines) to the run's step log.

        When it returns, the lines survive the death of this process (and,
        with ``sync=True`` on the backend, a power loss).
        """

    @abc.abstractmethod
    def read_steps(self, run_id: str) -> list[bytes]:
        """The run's complete step lines, in the order they were appended.

        Lines starting with ``[`` (*recovery lines*) may be missing once the
        run has ended (see :meth:`~enact.backends.Backend.settle_steps`).
        """

    # -- names ---------------------------------------------------------------

    @abc.abstractmethod
    def set_name(self, name: str, key: str | None) -> None:
        """Points ``name`` at the object ``key`` (None removes the name)."""

    @abc.abstractmethod
    def names(self) -> dict[str, str]:
        """Every name with the object key it points at."""

    # -- claims --------------------------------------------------------------

    @abc.abstractmethod
    def claim(self, key: str, value: bytes) -> bool:
        """Stores ``value`` under ``key`` if nothing is stored there yet.

        Returns:
            True if this call won the key, False if it was already claimed.
        """

    @abc.abstractmethod
    def get_claim(self, key: str) -> bytes | None:
        """The value a claim stored, or None."""

    @abc.abstractmethod
    def claims(self, prefix: str = "") -> dict[str, bytes]:
        """Every claim whose key starts with ``prefix``."""

    def wait_for_claim(self, key: str, timeout: float) -> bytes | None:
        """Waits a while for ``key`` to be claimed; returns the claim or None.

        A waiting run calls it in a loop. By default it sleeps ``timeout``
        seconds and reads the claim (polling); an index that hears of claims
        as they are made (PostgreSQL's ``LISTEN``) returns as soon as one
        is, and may wait longer than ``timeout`` before it returns None.
        """
        time.sleep(timeout)
        return self.get_claim(key)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases files and connections. Idempotent."""
