"""The schema of a SQLite store, and its migrations.

The database records its schema version in ``PRAGMA user_version``. A
database without one (0) is new, or was written before versions were
recorded: migration 1 makes today's schema of either (creating what is
missing, and the ``written`` column of older object tables), so every
database written so far opens as before. Opening runs the pending
migrations in one transaction, then records the version. From version 4
on, objects are keyed by their digest's bytes
(:mod:`enact.backends.sqlite.keyed`).
"""

from __future__ import annotations

import sqlite3

from enact.backends.migrations import Migration, check_version, pending
from enact.backends.sqlite.index import transaction
from enact.backends.sqlite.keyed import is_keyed, migrate_to_keyed

__all__ = ["CHUNK", "MIGRATIONS", "READ_ERRORS", "migrate", "version_of"]

# What a read of a damaged database raises: SQLite's errors, and the
# decoding error of a text cell that is no UTF-8.
READ_ERRORS = (sqlite3.Error, UnicodeDecodeError)
TABLES = {
    "objects": """
        CREATE TABLE objects (
            digest TEXT PRIMARY KEY NOT NULL,
            data BLOB NOT NULL,
            written REAL
        )""",
    "runs": """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY NOT NULL,
            record BLOB NOT NULL
        )""",
    "steps": """
        CREATE TABLE steps (
            seq INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            line BLOB NOT NULL
        )""",
    "names": """
        CREATE TABLE names (
            name TEXT PRIMARY KEY NOT NULL,
            key TEXT NOT NULL
        )""",
    "claims": """
        CREATE TABLE claims (
            key TEXT PRIMARY KEY NOT NULL,
            value BLOB NOT NULL
        )""",
    # Journal files folded into the tables but not yet removed: a file is
    # never folded twice, even if its folder dies before removing it.
    "journal_folds": """
        CREATE TABLE journal_folds (
            name TEXT PRIMARY KEY NOT NULL,
            upto INTEGER NOT NULL
        )""",
}
_RUN_CHANGES = """
    CREATE TABLE IF NOT EXISTS run_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL
    )"""
_STEPS_INDEX = "CREATE INDEX IF NOT EXISTS steps_by_run ON steps (run_id, seq)"
# SQLite limits the number of host parameters in one statement (999 before
# version 3.32): a delete names each row twice.
CHUNK = 400


def _schema_1(db: sqlite3.Connection) -> None:
    """Creates missing tables, and the ``written`` column of older databases."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    for name, statement in TABLES.items():
        if name not in tables:
            db.execute(statement)
    columns = {row[1] for row in db.execute("PRAGMA table_info(objects)")}
    if "written" not in columns:
        db.execute("ALTER TABLE objects ADD COLUMN written REAL")
    db.execute(_STEPS_INDEX)


def _chunks_2(db: sqlite3.Connection) -> None:
    """Nothing to change: rows stored before stay as they are. From version
    2 on, large objects may be stored as chunks and a manifest
    (:mod:`enact.backends.chunked`), which an enact of version 1 cannot read:
    the recorded version keeps it from opening the database."""


def _changes_3(db: sqlite3.Connection) -> None:
    """Adds ``run_changes``: the id of every run record written or deleted,
    in order, so that the table of query columns (:mod:`enact.backends.
    column_cache`) catches up with what changed instead of reading every
    record. AUTOINCREMENT: a sequence number is never reused, even after the
    rows before it are removed."""
    db.execute(_RUN_CHANGES)


def _keyed_4(db: sqlite3.Connection) -> None:
    """Moves the objects into ``object_rows``, keyed by the digest's 32
    bytes, and keeps ``objects`` as a view of it (:mod:`enact.backends.
    sqlite.keyed`). Copies every row once: a large store takes a while to
    open the first time, and needs room for a second copy meanwhile."""
    migrate_to_keyed(db)


#: The schema's versions, in order: each step takes the database one further.
MIGRATIONS: list[Migration[sqlite3.Connection]] = [
    Migration(
        1, "the objects, runs, steps, names, claims and journal_folds tables", _schema_1
    ),
    Migration(2, "large objects as shared chunks and a manifest", _chunks_2),
    Migration(3, "a feed of changed run records, for queries", _changes_3),
    Migration(4, "objects keyed by the digest's bytes, objects as a view", _keyed_4),
]


def version_of(db: sqlite3.Connection) -> int:
    """The schema version the database records."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, location: str) -> None:
    """Brings the database to the newest schema, and records its version.

    Raises:
        StoreVersionError: if the database records a newer version.
        sqlite3.Error: if the database cannot be read or written.
    """
    found = version_of(db)
    check_version(found, MIGRATIONS, location)
    if not pending(found, MIGRATIONS):
        return
    try:
        _run(db, location)
    except sqlite3.OperationalError as error:
        if not _complete(db):
            # Say why a read needs a write: the rows must move first.
            newest = MIGRATIONS[-1].version
            raise sqlite3.OperationalError(
                f"{error} (the database has layout version {found}; opening "
                f"it moves it to version {newest}, which needs write access)"
            ) from None
        # Today's schema, in a database this process cannot write (read
        # only): it opens as it is; a process that can write records it.


def _complete(db: sqlite3.Connection) -> bool:
    """Whether the database holds the newest schema (whatever it records)."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    if not set(TABLES) <= tables or "steps_by_run" not in tables:
        return False
    return "run_changes" in tables and is_keyed(db)


def _run(db: sqlite3.Connection, location: str) -> None:
    with transaction(db):
        # Looked at again inside the transaction: another process may have
        # migrated it meanwhile.
        found = version_of(db)
        check_version(found, MIGRATIONS, location)
        steps = pending(found, MIGRATIONS)
        for step in steps:
            step.apply(db)
        if steps:
            db.execute(f"PRAGMA user_version = {int(steps[-1].version)}")
