"""Run journals in PostgreSQL: a finished call's objects and steps, one commit.

A durable run's step writer sends a finished call's new objects and its
step row in one transaction, pipelined (one round trip to the server): when
it returns, the call is committed on the server, and the step row never
names an object that is not stored. How durable a commit is depends on the
store's level (``synchronous_commit``; see
:class:`~enact.backends.postgres.objects.PostgresObjects`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from enact.backends.base import BackendError, Parts, StepWriter
from enact.backends.index import check_run_id
from enact.backends.journals import Journals
from enact.backends.postgres.connections import Connections
from enact.backends.postgres.index import PostgresIndex, join_lines

__all__ = ["PostgresJournals"]

#: Object rows for ``put_many``: (key, bytes, written, fresh after).
ObjectRows = Callable[
    [Sequence[tuple[str, Parts]]], list[tuple[str, bytes, float, float]]
]

#: Stores objects (arrays of keys, bytes, write times), or re-stamps copies
#: written before the session started (the fourth parameter): one statement,
#: so one round trip, atomic on its own.
UPSERT = (
    "INSERT INTO objects (digest, data, written) "
    "SELECT * FROM unnest(%s::text[], %b::bytea[], %s::float8[]) "
    "ON CONFLICT (digest) DO UPDATE SET written = excluded.written "
    "WHERE objects.written < %s"
)
#: A finished call: its objects and its step row in one statement (a
#: data-modifying WITH runs whether or not the rest reads it).
_CALL = (
    "WITH stored AS (" + UPSERT + " RETURNING 1) "
    "INSERT INTO steps (run_id, writer, n, lines) VALUES (%s, %s, %s, %b) "
    "ON CONFLICT (writer, n) DO NOTHING"
)
# Up to this many objects, a finished call's objects are sent as rows of a
# VALUES list instead of arrays: no arrays to build on either side, and about
# half the server's time. One statement text per count, so each is prepared
# once per connection (psycopg prepares a statement it sees repeatedly).
_VALUES_ROWS = 8
_OBJECT_CONFLICT = (
    " ON CONFLICT (digest) DO UPDATE SET written = excluded.written "
    "WHERE objects.written < %s"
)


def _call_statement(count: int) -> str:
    """A finished call with ``count`` objects as one statement."""
    rows = ", ".join(["(%s, %b, %s)"] * count)
    return (
        f"WITH stored AS (INSERT INTO objects (digest, data, written) VALUES {rows}"
        f"{_OBJECT_CONFLICT} RETURNING 1) "
        "INSERT INTO steps (run_id, writer, n, lines) VALUES (%s, %s, %s, %b) "
        "ON CONFLICT (writer, n) DO NOTHING"
    )


_CALLS = {count: _call_statement(count) for count in range(1, _VALUES_ROWS + 1)}

#: One object (a large one: no array to build on the server).
UPSERT_ONE = (
    "INSERT INTO objects (digest, data, written) VALUES (%s, %b, %s) "
    "ON CONFLICT (digest) DO UPDATE SET written = excluded.written "
    "WHERE objects.written < %s"
)
_STEPS = (
    "INSERT INTO steps (run_id, writer, n, lines) VALUES (%s, %s, %s, %b) "
    "ON CONFLICT (writer, n) DO NOTHING"
)


def upsert_params(
    rows: Sequence[tuple[str, bytes, float, float]],
) -> tuple[list[str], list[bytes], list[float], float]:
    """The parameters of :data:`UPSERT` for object rows (one per key)."""
    unique = {row[0]: row for row in rows}
    keys = sorted(unique)
    return (
        keys,
        [unique[key][1] for key in keys],
        [unique[key][2] for key in keys],
        rows[0][3] if rows else 0.0,
    )


class PostgresJournals(Journals):
    """Durable runs' steps as rows of ``steps``, each with its call's objects.

    Args:
        connections: The store's connections.
        index: The store's index (its step rows, its write tokens).
        object_rows: Makes the rows of objects to write (and registers the
            session).
    """

    def __init__(
        self, connections: Connections, index: PostgresIndex, object_rows: ObjectRows
    ) -> None:
        self._db = connections
        self.location = connections.location
        self._index = index
        self._object_rows = object_rows

    def write_steps(
        self, run_id: str, items: Sequence[tuple[str, Parts]], lines: Sequence[bytes]
    ) -> None:
        check_run_id(run_id, self.location)
        for line in lines:
            if b"\n" in line or line.startswith(b"\0"):
                raise BackendError(
                    f"a step line of run {run_id} holds a newline or starts with NUL",
                    self.location,
                )
        self._write(run_id, items, join_lines(lines))

    def step_writer(self, run_id: str) -> StepWriter:
        check_run_id(run_id, self.location)

        def write(
            items: Sequence[tuple[str, Parts]], lines: bytes, recovery: bytes
        ) -> None:
            self._write(run_id, items, lines + recovery)

        return write

    def _write(
        self, run_id: str, items: Sequence[tuple[str, Parts]], data: bytes
    ) -> None:
        rows = self._object_rows(items) if items else []
        writer, n = self._index.token()

        step = (run_id, writer, n, data)
        params: tuple[object, ...]
        if data and len(rows) <= _VALUES_ROWS:
            # Rows in key order, one per key (see upsert_params).
            unique = sorted({row[0]: row for row in rows}.values())
            statement = _CALLS[len(unique)] if unique else _STEPS
            params = (
                *(value for row in unique for value in row[:3]),
                *((unique[0][3],) if unique else ()),
                *step,
            )
        elif rows and data:
            statement, params = _CALL, (*upsert_params(rows), *step)
        elif rows:
            statement, params = UPSERT, upsert_params(rows)
        elif data:
            statement, params = _STEPS, step
        else:
            return

        # One statement: one round trip, and atomic (objects, then the step
        # row that names them). Retried whole after a lost connection:
        # objects are stored once by key, the step row once by its token.
        self._db.run(lambda db: db.execute(statement, params), "write a finished call")

    def read_steps(self, run_id: str) -> list[bytes]:
        return self._index.read_steps(run_id)
