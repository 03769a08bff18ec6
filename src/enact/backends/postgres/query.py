"""Run queries in PostgreSQL: a table of every record's columns, on the server.

:meth:`~enact.backends.index.Index.query_runs` by default reads and parses
every record, a second and more over 100,000 runs. When the columns function
declares a :class:`~enact.backends.index.ColumnSchema`, the PostgreSQL index
keeps each record's columns in ``run_columns`` (one text column per scalar,
an array per list, a B-tree index per column and per declared pair) and
answers a page with one indexed ``SELECT``.

The table is a cache, never the source of truth:

- before every query it catches up with ``run_changes``, the feed a trigger
  on ``runs`` writes (see the migrations), under an advisory lock so that
  two queries never catch up at once; a new schema of columns (another
  ``tag``) or no table yet rebuilds it from every record;
- the records of a page are read from ``runs`` and checked against the query
  again, so a record changed since the table caught up never shows in a page
  it does not belong to;
- a query (or a value) with no exact translation is answered by the scan.

A **count** is one ``SELECT count(*)`` with a page's WHERE clause, after the
catch-up; ``run_columns_left_out`` names the records the columns function
left out (those that do not read), so a count can report them.

**Search words.** Where the ``pg_trgm`` extension is installed (the first
build of the table tries ``CREATE EXTENSION``, which the server may refuse
a role without the privilege), the ``text`` column has a trigram GIN index
and a word of three characters or more is matched with ``LIKE``, which the
planner answers from that index when few rows hold the word, and by reading
rows in order when many do. Without the extension every word reads the
table row by row; a table built so gets the index at the first query after
an administrator installs the extension. Either way the server checks the
text itself, so the answer is exactly the scan's.

**Sort keys.** The scan sorts None before numbers before strings, numbers
by value and strings by code point. Each scalar is stored as a text key
that sorts the same way byte by byte (``COLLATE "C"``; UTF-8 keeps code
point order): None is ``''``, a number ``'n'`` and 16 hex digits of its
order-preserving IEEE bits, a string ``'s'`` and the string. Equality, ranges
and the cursor's ``(value, id)`` position then compare keys.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from enact.backends.index import (
    Columns,
    ColumnSchema,
    RunCount,
    RunPage,
    RunQuery,
    decode_cursor,
    encode_cursor,
    keeps,
)

__all__ = ["ColumnTable", "Untranslatable", "sort_key"]

# The extension whose operator class indexes text by trigram.
_EXTENSION = "pg_trgm"

# Largest integer a float holds exactly: beyond it, keys could tie.
_EXACT = 1 << 53


class Untranslatable(Exception):
    """The query, or a value, has no exact translation: scan instead."""


def sort_key(value: Any) -> str:
    """The text key of a column value, ordered as the scan orders values.

    Raises:
        Untranslatable: for a value the scan orders in no way a key can
            (not None, a number or a string; NaN; a string PostgreSQL
            cannot hold).
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        if isinstance(value, int) and not -_EXACT <= value <= _EXACT:
            raise Untranslatable("a large integer")
        number = float(value) + 0.0  # -0.0 is 0.0
        if math.isnan(number):
            raise Untranslatable("NaN")
        bits: int = struct.unpack(">Q", struct.pack(">d", number))[0]
        bits = bits ^ 0xFFFF_FFFF_FFFF_FFFF if bits >> 63 else bits | 1 << 63
        return f"n{bits:016x}"
    if isinstance(value, str):
        return "s" + _text(value)
    raise Untranslatable(type(value).__name__)


def _text(value: str) -> str:
    if "\0" in value:
        raise Untranslatable("a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Untranslatable("a lone surrogate") from None
    return value


def _column(name: str, prefix: str = "c") -> str:
    if not name.isidentifier():
        raise Untranslatable(name)
    return f'"{prefix}_{name}"'


# The tables' own layout: tables of another are rebuilt. 2: the ids of the
# records the columns function leaves out.
_LAYOUT = 2


def _described(schema: ColumnSchema) -> str:
    return json.dumps(
        [_LAYOUT, schema.tag, schema.scalars, schema.lists, schema.indexes]
    )


class ColumnTable:
    """The columns of every run record, in ``run_columns``.

    Args:
        db: A connection inside a transaction that holds the store's lock
            for queries, whose ``search_path`` is the store's schema.
    """

    def __init__(self, db: Any) -> None:
        self._db = db

    # -- keeping up ----------------------------------------------------------

    def catch_up(self, columns: Columns, schema: ColumnSchema) -> None:
        """Brings the table up to date with ``runs`` (rebuilt if it was
        made for another schema, or never made)."""
        db = self._db
        state = dict(db.execute("SELECT key, value FROM run_columns_state").fetchall())
        mark = state.get("mark")
        if state.get("schema") != _described(schema) or mark is None:
            self._rebuild(columns, schema)
            return
        if state.get("words") != "trigram":
            self._index_words(create=False)
        rows = db.execute(
            "SELECT seq, id FROM run_changes WHERE seq > %s ORDER BY seq", (int(mark),)
        ).fetchall()
        if not rows:
            return
        ids = list(dict.fromkeys(str(run_id) for _, run_id in rows))
        found = db.execute(
            "SELECT id, record FROM runs WHERE id = ANY(%s)", (ids,), binary=True
        ).fetchall()
        db.execute("DELETE FROM run_columns WHERE id = ANY(%s)", (ids,))
        db.execute("DELETE FROM run_columns_left_out WHERE id = ANY(%s)", (ids,))
        self._insert(((str(i), bytes(r)) for i, r in found), columns, schema)
        new_mark = int(rows[-1][0])
        # What the table holds now needs no feed rows before it.
        db.execute("DELETE FROM run_changes WHERE seq <= %s", (new_mark,))
        self._set("mark", str(new_mark))

    def _set(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO run_columns_state (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _rebuild(self, columns: Columns, schema: ColumnSchema) -> None:
        db = self._db
        db.execute("DROP TABLE IF EXISTS run_columns")
        db.execute("DROP TABLE IF EXISTS run_columns_left_out")
        db.execute(
            'CREATE TABLE run_columns_left_out (id text COLLATE "C" PRIMARY KEY)'
        )
        parts = [
            f'{_column(name)} text COLLATE "C" NOT NULL' for name in schema.scalars
        ]
        parts += [
            f'{_column(name, "l")} text[] COLLATE "C" NOT NULL' for name in schema.lists
        ]
        db.execute(
            'CREATE TABLE run_columns (id text COLLATE "C" PRIMARY KEY, '
            f"text text NOT NULL, {', '.join(parts)})"
        )
        # The mark before the scan: what is written during it comes again.
        row = db.execute("SELECT coalesce(max(seq), 0) FROM run_changes").fetchone()
        mark = int(row[0])
        records = db.execute("SELECT id, record FROM runs", binary=True).fetchall()
        self._insert(((str(i), bytes(r)) for i, r in records), columns, schema)
        # Indexes after the rows: one sort each instead of a tree grown row
        # by row.
        for name in schema.scalars:
            db.execute(f"CREATE INDEX ON run_columns ({_column(name)}, id)")
        for index in schema.indexes:
            names = ", ".join(_column(name) for name in index)
            db.execute(f"CREATE INDEX ON run_columns ({names}, id)")
        for name in schema.lists:
            db.execute(f"CREATE INDEX ON run_columns USING gin ({_column(name, 'l')})")
        self._index_words(create=True)
        db.execute("ANALYZE run_columns")
        db.execute("DELETE FROM run_changes WHERE seq <= %s", (mark,))
        self._set("schema", _described(schema))
        self._set("mark", str(mark))

    def _index_words(self, *, create: bool) -> None:
        """Indexes the search text by trigram if ``pg_trgm`` is installed
        (after trying to install it, with ``create``); notes it in the
        state, so that a table with the index never asks again."""
        import psycopg

        db = self._db
        if create:
            for statement in (
                # In public where it may: it outlives any one store's schema.
                f"CREATE EXTENSION IF NOT EXISTS {_EXTENSION} SCHEMA public",
                f"CREATE EXTENSION IF NOT EXISTS {_EXTENSION}",
            ):
                try:
                    with db.transaction():  # a savepoint: a refusal is undone
                        db.execute(statement)
                    break
                except psycopg.Error:
                    continue
        row = db.execute(
            "SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n "
            "ON n.oid = e.extnamespace WHERE e.extname = %s",
            (_EXTENSION,),
        ).fetchone()
        if row is None:
            return
        where = '"' + str(row[0]).replace('"', '""') + '"'
        db.execute(
            "CREATE INDEX IF NOT EXISTS run_columns_words ON run_columns "
            f"USING gin (text {where}.gin_trgm_ops)"
        )
        self._set("words", "trigram")

    def _insert(
        self,
        records: Iterable[tuple[str, bytes]],
        columns: Columns,
        schema: ColumnSchema,
    ) -> None:
        names = [
            "id",
            "text",
            *(_column(name) for name in schema.scalars),
            *(_column(name, "l") for name in schema.lists),
        ]
        rows: list[tuple[Any, ...]] = []
        left_out: list[str] = []
        for run_id, record in records:
            cols = columns(record)
            if cols is None or cols.get("id", run_id) != run_id:
                left_out.append(run_id)
                continue
            rows.append(
                (
                    run_id,
                    # A NUL as a space: no word holds either.
                    _text(str(cols.get("text", "")).lower().replace("\0", " ")),
                    *(sort_key(cols.get(name)) for name in schema.scalars),
                    *(
                        sorted({sort_key(v) for v in cols.get(name) or ()})
                        for name in schema.lists
                    ),
                )
            )
        if left_out:
            self._db.execute(
                "INSERT INTO run_columns_left_out SELECT unnest(%s::text[])",
                (left_out,),
            )
        if not rows:
            return
        statement = f"COPY run_columns ({', '.join(names)}) FROM STDIN"
        with self._db.cursor().copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    # -- answering -----------------------------------------------------------

    def query(
        self,
        query: RunQuery,
        columns: Columns,
        schema: ColumnSchema,
        read: Callable[[Sequence[str]], dict[str, bytes]],
    ) -> RunPage:
        """One page of the query; ``read`` reads records by id.

        The caller has just called :meth:`catch_up` in the same transaction.

        Raises:
            Untranslatable: if the query has no exact translation.
            ValueError: for a bad cursor.
        """
        sql, params = translate(query, schema)
        if query.limit is not None:
            sql += f" LIMIT {int(query.limit) + 1}"
        rows = self._db.execute(sql, params).fetchall()
        more = query.limit is not None and len(rows) > query.limit
        rows = rows[: query.limit] if more else rows
        records = read([str(row[0]) for row in rows])
        page: list[tuple[str, bytes]] = []
        for run_id, _ in rows:
            record = records.get(run_id)
            # Checked again: it may have changed since the table caught up.
            cols = None if record is None else columns(record)
            if record is not None and cols is not None and keeps(cols, query):
                page.append((run_id, record))
        if not more:
            return RunPage(page, None)
        # The position the table sorted the last row at (not its record's
        # value now, which may have moved it).
        return RunPage(page, encode_cursor(_value(str(rows[-1][1])), str(rows[-1][0])))

    def count(self, query: RunQuery, schema: ColumnSchema) -> RunCount:
        """How many rows pass the query's filters (its order, cursor and
        limit aside), and the ids of the records left out.

        The caller has just called :meth:`catch_up` in the same transaction.

        Raises:
            Untranslatable: if the query has no exact translation.
        """
        where, params = _filters(query, schema)
        sql = "SELECT count(*) FROM run_columns"
        if where:
            sql += " WHERE " + " AND ".join(where)
        (count,) = self._db.execute(sql, params).fetchone()
        left_out = self._db.execute(
            "SELECT id FROM run_columns_left_out ORDER BY id"
        ).fetchall()
        return RunCount(int(count), [str(run_id) for (run_id,) in left_out])


def _like(text: str) -> str:
    """``text`` in a LIKE pattern, matching itself only."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _value(key: str) -> Any:
    """The value a sort key stands for (for a cursor)."""
    if key == "":
        return None
    if key[0] == "s":
        return key[1:]
    bits = int(key[1:], 16)
    bits = bits ^ 1 << 63 if bits >> 63 else bits ^ 0xFFFF_FFFF_FFFF_FFFF
    number: float = struct.unpack(">d", struct.pack(">Q", bits))[0]
    return number


def translate(query: RunQuery, schema: ColumnSchema) -> tuple[str, list[Any]]:
    """The SELECT of (id, order key) answering ``query``, in order.

    Raises:
        Untranslatable: for a column the schema does not declare, or a value
            with no key.
        ValueError: for a bad cursor.
    """
    where, params = _filters(query, schema)
    if query.order_by not in schema.scalars:
        raise Untranslatable(query.order_by)
    order = _column(query.order_by)
    if query.cursor is not None:
        value, after = decode_cursor(query.cursor)
        where.append(f"({order}, id) {'<' if query.descending else '>'} (%s, %s)")
        params.extend([sort_key(value), after])
    direction = "DESC" if query.descending else "ASC"
    sql = f"SELECT id, {order} FROM run_columns"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return f"{sql} ORDER BY {order} {direction}, id {direction}", params


def _filters(query: RunQuery, schema: ColumnSchema) -> tuple[list[str], list[Any]]:
    """The terms of the WHERE clause keeping the rows that pass the query's
    filters, and their parameters.

    Raises:
        Untranslatable: as :func:`translate` does.
    """
    where: list[str] = []
    params: list[Any] = []
    scalars = set(schema.scalars)

    def scalar(name: str) -> str:
        if name not in scalars:
            raise Untranslatable(name)
        return _column(name)

    for name, wanted in query.equal.items():
        choices = wanted if isinstance(wanted, tuple) else (wanted,)
        where.append(f"{scalar(name)} = ANY(%s)")
        params.append([sort_key(value) for value in choices])
    for name, part in query.contains.items():
        column = scalar(name)
        if not isinstance(part, str):
            raise Untranslatable(name)
        where.append(
            f"(left({column}, 1) = 's' AND strpos(substr({column}, 2), %s) > 0)"
        )
        params.append(_text(part))
    for name, member in query.has.items():
        if name not in schema.lists:
            raise Untranslatable(name)
        where.append(f"{_column(name, 'l')} @> ARRAY[%s]::text[]")
        params.append(sort_key(member))
    for bounds, operator in ((query.at_least, ">="), (query.below, "<")):
        for name, bound in bounds.items():
            column = scalar(name)
            if not isinstance(bound, (int, float)):
                raise Untranslatable(name)
            # Numbers only: their keys lie between 'n' and 'o'.
            where.append(
                f"({column} {operator} %s AND {column} >= 'n' AND {column} < 'o')"
            )
            params.append(sort_key(bound))
    if query.words and query.words.strip():
        for word in dict.fromkeys(query.words.lower().split()):
            if len(word) < 3:  # no trigram: read row by row
                where.append("strpos(text, %s) > 0")
                params.append(_text(word))
            else:  # LIKE, which a trigram index can answer
                where.append("text LIKE %s")
                params.append(f"%{_like(_text(word))}%")
    return where, params
