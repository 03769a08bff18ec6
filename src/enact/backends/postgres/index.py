"""The run index in PostgreSQL: run records, step rows, names, claims.

- **Run records** are rows of ``runs``. :meth:`PostgresIndex.update_run`
  reads, calls and writes in one transaction holding the store's advisory
  lock for run updates (``pg_advisory_xact_lock``), so no two updates of
  any run, from any machine, run at once.
- **Step logs** are rows of ``steps``, one per write, in ``seq`` order.
- **Claims** are rows of ``claims``: ``INSERT ... ON CONFLICT DO NOTHING``,
  so the first claim of a key wins on every machine; each claim notifies
  the store's channel (``NOTIFY``), which waiting runs listen on
  (:meth:`PostgresIndex.wait_for_claim`).
- **Notifications**: besides the claims channel, each run record written
  notifies the runs channel with its id; :meth:`PostgresIndex.
  listen_for_changes` hears both (the server's live updates).

Every write carries a token (this index object's id and a counter): a
write retried after a lost connection whose commit went through finds its
token and is not applied again (see
:class:`~enact.backends.postgres.connections.Connections`).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from enact.backends.base import BackendError
from enact.backends.index import (
    Columns,
    ColumnSchema,
    Index,
    RunCount,
    RunPage,
    RunQuery,
    check_claim_key,
    check_run_id,
    schema_of,
)
from enact.backends.postgres.connections import (
    Connections,
    lost_connection,
    one_line,
)
from enact.backends.postgres.migrations import LOCK_CLASS, lock_id
from enact.backends.postgres.query import ColumnTable, Untranslatable

__all__ = ["PostgresIndex", "join_lines", "split_lines"]

T = TypeVar("T")

# The longest a waiting run waits for one notification before it reads
# the claim again (a notification can be missed only across a reconnect).
_LISTEN_SECONDS = 5.0
# How often a listener for changes looks whether it should stop.
_HEAR_SECONDS = 0.5


def join_lines(lines: Sequence[bytes]) -> bytes:
    """Step lines as one row: each followed by a newline."""
    return b"".join(line + b"\n" for line in lines)


def split_lines(rows: Sequence[Any]) -> list[bytes]:
    """The step lines of ``steps`` rows, in order."""
    found: list[bytes] = []
    for (data,) in rows:
        found.extend(bytes(data).split(b"\n")[:-1])
    return found


class PostgresIndex(Index):
    """Run records, step logs, names and claims in a store's tables.

    Args:
        connections: The store's connections.
        ensure_session: Registers (or renews) the backend's session; called
            before a write that may name objects.
        noted: Told the lines of every step log read (the objects'
            read-ahead).
    """

    def __init__(
        self,
        connections: Connections,
        ensure_session: Callable[[], None],
        noted: Callable[[Sequence[bytes]], None] | None = None,
    ) -> None:
        self._db = connections
        self.location = connections.location
        self._ensure_session = ensure_session
        self._noted = noted
        self._writer = uuid.uuid4().hex
        self._counter = itertools.count()
        self._counter_lock = threading.Lock()
        self._runs_lock = lock_id(connections.schema, "runs")
        self._columns_lock = lock_id(connections.schema, "columns")
        self.channel = (
            f"enact_claims_{lock_id(connections.schema, 'claims') & 0xFFFFFFFF:08x}"
        )
        #: Notified with the id of each run record written (at its commit).
        self.runs_channel = (
            f"enact_runs_{lock_id(connections.schema, 'runs') & 0xFFFFFFFF:08x}"
        )

    def token(self) -> tuple[str, int]:
        """A new write token: (this index's id, a number)."""
        with self._counter_lock:
            return self._writer, next(self._counter)

    # -- run records -----------------------------------------------------------

    def record_location(self, run_id: str) -> str:
        return f"{self.location} (runs row {run_id!r})"

    def get_run(self, run_id: str) -> bytes | None:
        check_run_id(run_id, self.location)
        row = self._db.run(
            lambda db: db.execute(
                "SELECT record FROM runs WHERE id = %s", (run_id,), binary=True
            ).fetchone(),
            "read a run",
        )
        return None if row is None else bytes(row[0])

    def list_runs(self) -> list[tuple[str, bytes]]:
        rows = self._db.run(
            lambda db: db.execute(
                "SELECT id, record FROM runs", binary=True
            ).fetchall(),
            "list runs",
        )
        return [(str(run_id), bytes(record)) for run_id, record in rows]

    def read_runs(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The records of these runs (those that exist), by id."""
        if not ids:
            return {}
        rows = self._db.run(
            lambda db: db.execute(
                "SELECT id, record FROM runs WHERE id = ANY(%s)",
                (list(ids),),
                binary=True,
            ).fetchall(),
            "read runs",
        )
        return {str(run_id): bytes(record) for run_id, record in rows}

    def run_changes_mark(self) -> str | None:
        # The highest committed number of the change feed: the feed's last
        # row, or where the query table caught up (which removes the rows
        # before it). Writes hold the runs lock, so numbers commit in order
        # and every write raises the mark. (The sequence itself would not
        # do: it moves before its transaction commits.)
        row = self._db.run(
            lambda db: db.execute(
                "SELECT (SELECT max(seq) FROM run_changes), "
                "(SELECT value FROM run_columns_state WHERE key = 'mark')"
            ).fetchone(),
            "read the run changes mark",
        )
        last, caught_up = row if row is not None else (None, None)
        marks = [int(last or 0)]
        if isinstance(caught_up, str) and caught_up.isdigit():
            marks.append(int(caught_up))
        return str(max(marks))

    def query_runs(self, query: RunQuery, columns: Columns) -> RunPage:
        """One page, from ``run_columns`` when ``columns`` declares a schema
        (see :mod:`enact.backends.postgres.query`), else by the scan."""
        if query.limit is not None and query.limit < 0:
            raise ValueError(f"A page limit cannot be negative: {query.limit}")
        if query.limit == 0 and schema_of(columns) is not None:
            return RunPage([], None)
        page = self._ask(
            columns, lambda table, s: table.query(query, columns, s, self.read_runs)
        )
        return super().query_runs(query, columns) if page is None else page

    def count_runs(self, query: RunQuery, columns: Columns) -> RunCount | None:
        return self._ask(columns, lambda table, schema: table.count(query, schema))

    def _ask(
        self, columns: Columns, ask: Callable[[ColumnTable, ColumnSchema], T]
    ) -> T | None:
        """``ask``'s answer from ``run_columns``, caught up (None: no
        schema, or no exact translation)."""
        schema = schema_of(columns)
        if schema is None:
            return None

        def answer(db: Any) -> T:
            # One catch-up at a time, on any machine.
            db.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                (LOCK_CLASS, self._columns_lock),
            )
            table = ColumnTable(db)
            table.catch_up(columns, schema)
            return ask(table, schema)

        try:
            return self._db.run(answer, "query runs", transaction=True)
        except Untranslatable:
            # Raised out of the transaction: a half-made table is rolled back.
            return None

    def update_run(
        self, run_id: str, update: Callable[[bytes | None], bytes | None]
    ) -> bytes | None:
        check_run_id(run_id, self.location)
        writer, n = self.token()
        token = f"{writer}.{n}"
        outcome: list[bytes | None] = []

        def work(db: Any) -> bytes | None:
            db.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, self._runs_lock)
            )
            row = db.execute(
                "SELECT record FROM runs WHERE id = %s", (run_id,), binary=True
            ).fetchone()
            new = update(None if row is None else bytes(row[0]))
            if new is None:
                if row is not None:
                    db.execute("DELETE FROM steps WHERE run_id = %s", (run_id,))
                    db.execute("DELETE FROM runs WHERE id = %s", (run_id,))
            else:
                self._ensure_session()
                db.execute(
                    "INSERT INTO runs (id, record, updated) VALUES (%s, %b, %s) "
                    "ON CONFLICT (id) DO UPDATE SET record = excluded.record, "
                    "updated = excluded.updated",
                    (run_id, bytes(new), token),
                )
            if new is not None or row is not None:  # heard once it commits
                db.execute("SELECT pg_notify(%s, %s)", (self.runs_channel, run_id))
            outcome[:] = [new]
            return new

        def committed(db: Any) -> bool:
            # The lost attempt's commit went through if the row carries its
            # token (or, for a deletion, the row is gone).
            row = db.execute(
                "SELECT updated FROM runs WHERE id = %s", (run_id,)
            ).fetchone()
            if not outcome:
                return False
            if outcome[0] is None:
                return row is None
            return row is not None and row[0] == token

        return self._db.run(work, "update a run", transaction=True, recheck=committed)

    def listen_for_changes(
        self, heard: Callable[[], None], stop: threading.Event
    ) -> bool:
        """Hears the runs and claims channels (``LISTEN``) on a connection of
        its own until ``stop`` is set; a lost connection is made again (and
        ``heard`` called, as a change may have been missed meanwhile)."""
        while not stop.is_set():
            try:
                listener = self._db.connect()
            except self._db.psycopg.Error:
                stop.wait(1.0)  # the server is away: try again soon
                continue
            try:
                listener.execute(f'LISTEN "{self.runs_channel}"')
                listener.execute(f'LISTEN "{self.channel}"')
                heard()  # what was written before LISTEN is read now
                while not stop.is_set():
                    for _ in listener.notifies(timeout=_HEAR_SECONDS, stop_after=1):
                        heard()
            except self._db.psycopg.Error as error:
                if not lost_connection(error, listener):
                    raise BackendError(
                        "cannot listen for changes in the PostgreSQL store "
                        f"{self.location}: {one_line(error)}",
                        self.location,
                    ) from None
            finally:
                listener.close()
        return True

    # -- step logs ------------------------------------------------------------

    def append_steps(self, run_id: str, lines: Sequence[bytes]) -> None:
        check_run_id(run_id, self.location)
        if not lines:
            return
        for line in lines:
            if b"\n" in line:
                raise BackendError(
                    f"a step line of run {run_id} holds a newline", self.location
                )
        self._ensure_session()
        writer, n = self.token()
        data = join_lines(lines)
        self._db.run(
            lambda db: db.execute(
                "INSERT INTO steps (run_id, writer, n, lines) VALUES (%s, %s, %s, %b) "
                "ON CONFLICT (writer, n) DO NOTHING",
                (run_id, writer, n, data),
            ),
            "append steps",
        )

    def read_steps(self, run_id: str) -> list[bytes]:
        check_run_id(run_id, self.location)
        rows = self._db.run(
            lambda db: db.execute(
                "SELECT lines FROM steps WHERE run_id = %s ORDER BY seq",
                (run_id,),
                binary=True,
            ).fetchall(),
            "read steps",
        )
        lines = split_lines(rows)
        if self._noted is not None:
            self._noted(lines)
        return lines

    # -- names ------------------------------------------------------------------

    def set_name(self, name: str, key: str | None) -> None:
        if key is None:
            self._db.run(
                lambda db: db.execute("DELETE FROM names WHERE name = %s", (name,)),
                "remove a name",
            )
            return
        self._ensure_session()
        self._db.run(
            lambda db: db.execute(
                "INSERT INTO names (name, key) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET key = excluded.key",
                (name, key),
            ),
            "set a name",
        )

    def names(self) -> dict[str, str]:
        rows = self._db.run(
            lambda db: db.execute("SELECT name, key FROM names").fetchall(),
            "list names",
        )
        return {str(name): str(key) for name, key in rows}

    # -- claims -----------------------------------------------------------------

    def claim(self, key: str, value: bytes) -> bool:
        check_claim_key(key, self.location)
        self._ensure_session()
        writer, n = self.token()
        token = f"{writer}.{n}"

        def work(db: Any) -> bool:
            row = db.execute(
                "INSERT INTO claims (key, value, claimer) VALUES (%s, %b, %s) "
                "ON CONFLICT (key) DO NOTHING RETURNING key",
                (key, bytes(value), token),
            ).fetchone()
            if row is not None:
                db.execute("SELECT pg_notify(%s, %s)", (self.channel, key))
            return row is not None

        def committed(db: Any) -> bool:
            row = db.execute(
                "SELECT claimer FROM claims WHERE key = %s", (key,)
            ).fetchone()
            return row is not None and row[0] == token

        return self._db.run(work, "claim", transaction=True, recheck=committed)

    def get_claim(self, key: str) -> bytes | None:
        check_claim_key(key, self.location)
        row = self._db.run(
            lambda db: db.execute(
                "SELECT value FROM claims WHERE key = %s", (key,), binary=True
            ).fetchone(),
            "read a claim",
        )
        return None if row is None else bytes(row[0])

    def claims(self, prefix: str = "") -> dict[str, bytes]:
        rows = self._db.run(
            lambda db: db.execute(
                "SELECT key, value FROM claims WHERE starts_with(key, %s)",
                (prefix,),
                binary=True,
            ).fetchall(),
            "list claims",
        )
        return {str(key): bytes(value) for key, value in rows}

    def wait_for_claim(self, key: str, timeout: float) -> bytes | None:
        """Waits for ``key`` to be claimed, woken at once by the claim's
        ``NOTIFY``; reads the claim again at least every few seconds.

        A listening connection lost meanwhile (a server restart) is made
        again, and the claim read after it listens, so no claim is missed.
        """
        check_claim_key(key, self.location)
        deadline = time.monotonic() + max(timeout, _LISTEN_SECONDS)
        try:
            listener = self._db.connect()
        except self._db.psycopg.Error:
            time.sleep(min(timeout, 1.0))  # the server is away: ask again soon
            return None
        try:
            listener.execute(f'LISTEN "{self.channel}"')
            value = self.get_claim(key)  # after LISTEN: a claim now is heard
            if value is not None:
                return value
            while (left := deadline - time.monotonic()) > 0:
                for note in listener.notifies(timeout=left, stop_after=1):
                    if note.payload == key:
                        return self.get_claim(key)
        except self._db.psycopg.Error as error:
            if not lost_connection(error, listener):
                raise BackendError(
                    "cannot wait for an answer in the PostgreSQL store "
                    f"{self.location}: "
                    f"{one_line(error)}",
                    self.location,
                ) from None
        finally:
            listener.close()
        return self.get_claim(key)
