"""The schema of a PostgreSQL store, and its migrations.

A store is the tables of one schema (``enact`` unless the URL says
``?schema=``). The schema's ``enact_version`` table holds one row, the
layout version; opening a store runs the pending migrations in one
transaction under an advisory lock (two processes opening a new store at
once migrate it once), and a store recorded with a newer version than this
code knows is refused (:class:`~enact.backends.StoreVersionError`).
"""

from __future__ import annotations

import zlib
from typing import Any

from enact.backends.migrations import Migration, check_version, pending

__all__ = ["LOCK_CLASS", "MIGRATIONS", "lock_id", "migrate", "version_of"]

#: The first key of every advisory lock a store takes (``'enac'``): the
#: second is :func:`lock_id` of the schema and the purpose.
LOCK_CLASS = 0x656E6163

_TABLES = [
    """CREATE TABLE IF NOT EXISTS objects (
        digest text PRIMARY KEY,
        data bytea NOT NULL,
        written double precision NOT NULL
    )""",
    # Objects are hashed already, rarely compress, and may be large:
    # stored out of line without compression.
    "ALTER TABLE objects ALTER COLUMN data SET STORAGE EXTERNAL",
    # updated: the token of the last update, so a retried update whose
    # commit went through is recognised.
    """CREATE TABLE IF NOT EXISTS runs (
        id text PRIMARY KEY,
        record bytea NOT NULL,
        updated text NOT NULL
    )""",
    # One row per write of a run's steps: its lines, each ending in a
    # newline. (writer, n) makes a retried write land once.
    """CREATE TABLE IF NOT EXISTS steps (
        seq bigserial PRIMARY KEY,
        run_id text NOT NULL,
        writer text NOT NULL,
        n bigint NOT NULL,
        lines bytea NOT NULL,
        UNIQUE (writer, n)
    )""",
    "CREATE INDEX IF NOT EXISTS steps_by_run ON steps (run_id, seq)",
    """CREATE TABLE IF NOT EXISTS names (
        name text PRIMARY KEY,
        key text NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS claims (
        key text PRIMARY KEY,
        value bytea NOT NULL,
        claimer text NOT NULL
    )""",
    # The live writers (see enact.backends.postgres.sessions).
    """CREATE TABLE IF NOT EXISTS sessions (
        id text PRIMARY KEY,
        pid integer NOT NULL,
        host text NOT NULL,
        started double precision NOT NULL,
        active double precision NOT NULL,
        beat double precision NOT NULL,
        idle_since double precision,
        lock_key bigint NOT NULL
    )""",
]


def _schema_1(db: Any) -> None:
    for statement in _TABLES:
        db.execute(statement)


# Every write of a run record (insert, update, delete, by any client) adds
# the run's id to ``run_changes``, so that the table of query columns
# (enact.backends.postgres.query) catches up with what changed instead of
# reading every record. Run updates hold the store's lock for runs, so the
# feed's numbers are in commit order. The function keeps the schema it was
# made in: a client with another search_path still feeds this store's table.
_FEED = [
    """CREATE TABLE IF NOT EXISTS run_changes (
        seq bigserial PRIMARY KEY,
        id text NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS run_columns_state (
        key text PRIMARY KEY,
        value text NOT NULL
    )""",
    """CREATE OR REPLACE FUNCTION run_changed() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        INSERT INTO run_changes (id)
        VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS runs_changed ON runs",
    """CREATE TRIGGER runs_changed AFTER INSERT OR DELETE OR UPDATE OF record
        ON runs FOR EACH ROW EXECUTE FUNCTION run_changed()""",
]


def _changes_2(db: Any) -> None:
    for statement in _FEED:
        db.execute(statement)


#: The schema's versions, in order.
MIGRATIONS: list[Migration[Any]] = [
    Migration(
        1, "the objects, runs, steps, names, claims and sessions tables", _schema_1
    ),
    Migration(2, "a feed of changed run records, for queries", _changes_2),
]


def lock_id(schema: str, purpose: str) -> int:
    """The second key of a store's advisory lock for ``purpose``."""
    value = zlib.crc32(f"{schema}:{purpose}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def _quoted(schema: str) -> str:
    return '"' + schema.replace('"', '""') + '"'


def version_of(db: Any) -> int:
    """The version the store's schema records (0: none yet)."""
    row = db.execute("SELECT to_regclass('enact_version') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    found = db.execute("SELECT version FROM enact_version").fetchone()
    return int(found[0]) if found else 0


def migrate(db: Any, schema: str, location: str) -> None:
    """Creates the schema and brings it to the newest version.

    ``db`` is an autocommit connection whose ``search_path`` is the schema.

    Raises:
        StoreVersionError: if the store records a newer version.
        psycopg.Error: if the database cannot be read or written.
    """
    found = version_of(db)
    check_version(found, MIGRATIONS, location)
    if not pending(found, MIGRATIONS):
        return
    with db.transaction():
        db.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            (LOCK_CLASS, lock_id(schema, "migrate")),
        )
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {_quoted(schema)}")
        db.execute(
            """CREATE TABLE IF NOT EXISTS enact_version (
                one boolean PRIMARY KEY DEFAULT true CHECK (one),
                version integer NOT NULL
            )"""
        )
        # Looked at again under the lock: another process may have migrated.
        found = version_of(db)
        check_version(found, MIGRATIONS, location)
        steps = pending(found, MIGRATIONS)
        for step in steps:
            step.apply(db)
        if steps:
            db.execute(
                "INSERT INTO enact_version (one, version) VALUES (true, %s) "
                "ON CONFLICT (one) DO UPDATE SET version = excluded.version",
                (steps[-1].version,),
            )
