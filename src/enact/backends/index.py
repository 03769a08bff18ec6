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
- **Run queries**: :meth:`Index.query_runs` returns one page of run records
  filtered and ordered by columns the run layer extracts from each record
  (:class:`RunQuery`); the base class answers by scanning every record.
  :meth:`Index.count_runs` counts every page's runs at once where the index
  keeps a table of the columns (None where it does not).
"""

from __future__ import annotations

import abc
import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from enact.backends.base import BackendError

__all__ = [
    "ColumnSchema",
    "Columns",
    "Index",
    "RunCount",
    "RunPage",
    "RunQuery",
    "RunScan",
    "UnreadableRecord",
    "check_claim_key",
    "check_run_id",
    "decode_cursor",
    "encode_cursor",
    "keeps",
    "sort_value",
    "scan_query",
    "schema_of",
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


# -- queries over run records: filters, an order and a page --------------------

#: Turns one record into its query columns, or None to leave the record out.
Columns = Callable[[bytes], "Mapping[str, Any] | None"]


@dataclass(frozen=True)
class ColumnSchema:
    """What a :data:`Columns` function returns, declared so that an index
    may keep the columns of every record in a table and answer queries from
    it instead of reading every record.

    ``tag`` names the function's version: an index rebuilds what it kept
    when the tag changes. ``scalars`` are the columns holding None, a
    number or a string; ``lists`` those holding a list of strings (for
    ``has``); ``indexes`` lists extra compound indexes worth keeping (an
    equality column, then an order column); rows are kept in the order of
    ``cluster`` (the usual order column), so that reading them in that order
    reads the table in order. The function must return all of them for
    every record it keeps (and may return a ``text`` column, and an ``id``
    column: the run id the record names, so that a table leaves out a
    record kept under another id, as it leaves out one the function does).
    """

    tag: str
    scalars: tuple[str, ...]
    lists: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    cluster: str | None = None


def schema_of(columns: Columns) -> ColumnSchema | None:
    """The schema a columns function declares (its ``schema`` attribute)."""
    schema = getattr(columns, "schema", None)
    return schema if isinstance(schema, ColumnSchema) else None


@dataclass(frozen=True)
class RunQuery:
    """Which runs, in which order, and which page of them.

    ``equal`` keeps runs whose column equals the value (a tuple value means
    any of them); ``at_least``/``below`` bound a column (for time ranges);
    ``contains`` keeps runs whose (text) column contains the string (case
    matters); ``has`` keeps runs whose (list) column holds the value;
    ``words`` keeps runs whose ``text`` column contains every word (any case).
    Runs missing a column used by a filter are left out. Ties in ``order_by``
    fall back to the run id, so pages never overlap.
    """

    equal: Mapping[str, Any] = field(default_factory=dict)
    contains: Mapping[str, str] = field(default_factory=dict)
    has: Mapping[str, Any] = field(default_factory=dict)
    at_least: Mapping[str, float] = field(default_factory=dict)
    below: Mapping[str, float] = field(default_factory=dict)
    words: str | None = None
    order_by: str = "started"
    descending: bool = True
    limit: int | None = None
    cursor: str | None = None


class RunPage(NamedTuple):
    """One page of a query: (run id, record) pairs, and the next page's cursor."""

    runs: list[tuple[str, bytes]]
    #: None when this is the last page.
    next_cursor: str | None


class RunCount(NamedTuple):
    """How many runs match a query's filters (see :meth:`Index.count_runs`)."""

    #: The runs every page of the query holds together.
    total: int
    #: The ids of the records (in the whole index) that the columns function
    #: left out (returned None for, or that name another ``id``): the
    #: records that do not read.
    left_out: list[str]


def sort_value(value: Any) -> tuple[int, Any]:
    # None sorts before everything; numbers and strings are kept apart.
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, float(value))
    return (2, str(value))


def encode_cursor(value: Any, run_id: str) -> str:
    """An opaque cursor after the run with this sort value and id."""
    raw = json.dumps([value, run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, str]:
    """The sort value and run id of a cursor.

    Raises:
        ValueError: if it is not a cursor made by :func:`encode_cursor`.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, run_id = json.loads(raw)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{cursor!r} is not a runs cursor") from error
    if not isinstance(run_id, str):
        raise ValueError(f"{cursor!r} is not a runs cursor")
    return value, run_id


def keeps(cols: Mapping[str, Any], query: RunQuery) -> bool:
    """Whether a record with these columns passes the query's filters."""
    for name, wanted in query.equal.items():
        if name not in cols:
            return False
        have = cols[name]
        if isinstance(wanted, tuple):
            if have not in wanted:
                return False
        elif have != wanted:
            return False
    for name, part in query.contains.items():
        have = cols.get(name)
        if not isinstance(have, str) or part not in have:
            return False
    for name, member in query.has.items():
        have = cols.get(name)
        if not isinstance(have, (list, tuple)) or member not in have:
            return False
    for name, low in query.at_least.items():
        have = cols.get(name)
        if not isinstance(have, (int, float)) or have < low:
            return False
    for name, high in query.below.items():
        have = cols.get(name)
        if not isinstance(have, (int, float)) or have >= high:
            return False
    if query.words and query.words.strip():
        text = str(cols.get("text", "")).lower()
        if not all(word in text for word in query.words.lower().split()):
            return False
    return True


def scan_query(
    records: Iterable[tuple[str, bytes]], query: RunQuery, columns: Columns
) -> RunPage:
    """Answers ``query`` by reading every record (the reference answer).

    Raises:
        ValueError: for a bad cursor or a negative limit.
    """
    if query.limit is not None and query.limit < 0:
        raise ValueError(f"A page limit cannot be negative: {query.limit}")
    kept: list[tuple[tuple[tuple[int, Any], str], Any, str, bytes]] = []
    for run_id, record in records:
        cols = columns(record)
        if cols is None or not keeps(cols, query):
            continue
        value = cols.get(query.order_by)
        kept.append(((sort_value(value), run_id), value, run_id, record))
    kept.sort(key=lambda item: item[0], reverse=query.descending)
    if query.cursor is not None:
        value, after = decode_cursor(query.cursor)
        mark = (sort_value(value), after)
        if query.descending:
            kept = [item for item in kept if item[0] < mark]
        else:
            kept = [item for item in kept if item[0] > mark]
    if query.limit == 0:
        return RunPage([], None)
    if query.limit is None or len(kept) <= query.limit:
        return RunPage([(run_id, record) for _, _, run_id, record in kept], None)
    page = kept[: query.limit]
    last = page[-1]
    return RunPage(
        [(run_id, record) for _, _, run_id, record in page],
        encode_cursor(last[1], last[2]),
    )


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
        """One page of the runs matching ``query`` (see :class:`RunQuery`).

        ``columns`` turns a record into its query columns; the index itself
        stays ignorant of what records hold. This default reads every
        readable record; an index may answer natively as long as it returns
        the same page. Unreadable records are left out (see :meth:`scan_runs`).

        Raises:
            ValueError: for a bad cursor or a negative limit.
        """
        return scan_query(self.scan_runs().records, query, columns)

    def count_runs(self, query: RunQuery, columns: Columns) -> RunCount | None:
        """How many runs match ``query``'s filters, from a table of columns.

        The count is that of every page of ``query_runs`` together (its
        order, cursor and limit are ignored), as of one moment. An index that
        keeps the columns of every record in a table (see
        :class:`ColumnSchema`) answers at a cost that grows with the matching
        rows, not the records; this default, and any index for a query with
        no exact translation, returns None: the caller reads the records.
        """
        return None

    def run_changes_mark(self) -> str | None:
        """A mark of the run records now: it differs once any is written.

        Two equal marks (of one index) mean no run record was written or
        deleted between the two calls, so a reader of run records can skip
        reading them again (live updates do, once per tick). Reading a mark
        costs one small read. Step logs and claims have no part in it.

        Returns:
            The mark, or None if this index cannot tell (the default): read
            what is watched every time.
        """
        return None

    def listen_for_changes(
        self, heard: Callable[[], None], stop: threading.Event
    ) -> bool:
        """Calls ``heard`` soon after any run record is written or claim
        made, until ``stop`` is set, for readers that should not wait for
        their next read (live updates). ``heard`` may also be called when
        nothing changed (after a lost connection, say).

        Returns:
            False at once if this index cannot hear of changes (the
            default: read every so often instead); else True, once ``stop``
            is set (an index that hears of writes as they commit, such as
            PostgreSQL's ``LISTEN``, blocks until then).
        """
        return False

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
