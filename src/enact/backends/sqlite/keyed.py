"""The keyed layout of a SQLite store's objects (schema version 4).

Objects live in ``object_rows``, keyed by the raw 32-byte SHA-256 digest (a
blob), not by its 64 hex characters: the key is stored twice (in the table
and in its index), so halving it saves about 64 bytes per object, a tenth
of a small record. A row whose key is no 32-byte blob is damaged (a digest
cell that held no valid key before the migration keeps its value, as text,
so that ``verify`` still names it).

``objects`` stays, as a view of ``object_rows`` with hex digests, so that a
tool reading the database with SQL, or a repair by hand (``UPDATE objects
SET ...``), works as it did on the table; ``INSTEAD OF`` triggers turn its
writes into writes of ``object_rows``. A lookup by digest through the view
cannot use the index (its digest is computed): enact itself reads and
writes ``object_rows``. SQLite before 3.41 has no ``unhex``, so the triggers
turn hex into bytes through ``hex_pairs``, a table of the 256 byte values.

New stores are created with pages of :data:`PAGE_SIZE` bytes (SQLite fixes
the page size when it writes the first page). Chunks of large values are up
to 4,000 bytes: in 4 KiB pages most pages keep a gap that the next chunk
does not fit, in 16 KiB pages the gaps are a quarter as large relative to
the page. Older stores keep their page size.
"""

from __future__ import annotations

import re
import sqlite3

__all__ = [
    "PAGE_SIZE",
    "UPSERT",
    "is_keyed",
    "key_of_cell",
    "migrate_to_keyed",
    "row_key",
]

#: Page size of new SQLite stores, in bytes (a power of two, 512 to 65,536).
PAGE_SIZE = 16 * 1024

#: Stores the object, or re-stamps a copy written before the session started.
UPSERT = """
    INSERT INTO object_rows (digest, data, written) VALUES (?1, ?2, ?3)
    ON CONFLICT (digest) DO UPDATE SET written = excluded.written
    WHERE object_rows.written IS NULL OR object_rows.written < ?4
"""

_HEX = re.compile(r"[0-9a-f]{64}")

_OBJECT_ROWS = """
    CREATE TABLE object_rows (
        digest BLOB PRIMARY KEY NOT NULL,
        data BLOB NOT NULL,
        written REAL
    )"""
_HEX_PAIRS = """
    CREATE TABLE hex_pairs (
        pair TEXT PRIMARY KEY NOT NULL,
        byte BLOB NOT NULL
    ) WITHOUT ROWID"""
# What the view shows as a row's digest: the hex of a valid key, else the
# cell as it is.
_SHOWN = (
    "CASE WHEN typeof(digest) = 'blob' AND length(digest) = 32 "
    "THEN lower(hex(digest)) ELSE digest END"
)
_VIEW = f"""
    CREATE VIEW objects (digest, data, written) AS
    SELECT {_SHOWN}, data, written FROM object_rows"""


def _stored(cell: str) -> str:
    """SQL for the key cell a digest given to the view is stored as.

    Valid hex becomes its 32 bytes; a 32-byte blob (which would pass for a
    valid key) becomes text; anything else is kept as it is (damaged).
    """
    pairs = " || ".join(
        f"(SELECT byte FROM hex_pairs WHERE pair = substr({cell}, {2 * i + 1}, 2))"
        for i in range(32)
    )
    return (
        f"CASE WHEN typeof({cell}) = 'text' AND length({cell}) = 64 "
        f"AND NOT {cell} GLOB '*[^0-9a-f]*' THEN CAST({pairs} AS BLOB) "
        f"WHEN typeof({cell}) = 'blob' AND length({cell}) = 32 "
        f"THEN CAST({cell} AS TEXT) ELSE {cell} END"
    )


_TRIGGERS = [
    f"""
    CREATE TRIGGER objects_insert INSTEAD OF INSERT ON objects BEGIN
        INSERT INTO object_rows (digest, data, written)
        VALUES ({_stored("NEW.digest")}, NEW.data, NEW.written);
    END""",
    f"""
    CREATE TRIGGER objects_update INSTEAD OF UPDATE ON objects BEGIN
        UPDATE object_rows
        SET digest = {_stored("NEW.digest")}, data = NEW.data, written = NEW.written
        WHERE digest = {_stored("OLD.digest")};
    END""",
    f"""
    CREATE TRIGGER objects_delete INSTEAD OF DELETE ON objects BEGIN
        DELETE FROM object_rows WHERE digest = {_stored("OLD.digest")};
    END""",
]


def row_key(key: str) -> bytes:
    """The key cell of an object key (checked by the caller)."""
    return bytes.fromhex(key)


def key_of_cell(raw: object) -> str | None:
    """The object key a key cell holds, or None if it holds no valid key."""
    if isinstance(raw, bytes) and len(raw) == 32:
        return raw.hex()
    return None


def is_keyed(db: sqlite3.Connection) -> bool:
    """Whether the database holds the keyed layout."""
    found = dict(
        db.execute(
            "SELECT name, type FROM sqlite_master WHERE name IN "
            "('object_rows', 'objects', 'hex_pairs')"
        ).fetchall()
    )
    return found == {"object_rows": "table", "objects": "view", "hex_pairs": "table"}


def _old_key(kind: str, raw: bytes) -> bytes | None:
    """The key cell of a row of the old table whose digest is valid hex."""
    if kind == "text" and len(raw) == 64:
        text = raw.decode("ascii", "replace")
        if _HEX.fullmatch(text):
            return bytes.fromhex(text)
    return None


def migrate_to_keyed(db: sqlite3.Connection) -> None:
    """Moves the rows of the ``objects`` table into ``object_rows``, and
    makes ``objects`` the view (in the caller's transaction)."""
    db.execute(_OBJECT_ROWS)
    db.execute(_HEX_PAIRS)
    db.executemany(
        "INSERT INTO hex_pairs VALUES (?, ?)",
        [(f"{value:02x}", bytes([value])) for value in range(256)],
    )
    db.create_function("enact_old_key", 2, _old_key, deterministic=True)
    try:
        # In the table's order: rows written together stay neighbours. OR
        # IGNORE: two damaged digests could only meet if they held the same
        # bytes, one as text and one as a blob; the first is kept.
        db.execute(
            "INSERT OR IGNORE INTO object_rows (digest, data, written) "
            "SELECT coalesce(enact_old_key(typeof(digest), CAST(digest AS BLOB)), "
            "CASE WHEN typeof(digest) = 'blob' AND length(digest) = 32 "
            "THEN CAST(digest AS TEXT) ELSE digest END), data, written "
            "FROM objects ORDER BY rowid"
        )
    finally:
        db.create_function("enact_old_key", 2, None)
    db.execute("DROP TABLE objects")
    db.execute(_VIEW)
    for trigger in _TRIGGERS:
        db.execute(trigger)
