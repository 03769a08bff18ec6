"""Run queries answered from a table of every record's columns.

:meth:`Index.query_runs` by default reads and parses every record, which
costs seconds over 100,000 runs. An index whose columns function declares a
:class:`~enact.backends.index.ColumnSchema` can keep each record's columns
in an SQLite table instead (in its own database, or a sidecar file), with an
index per column, and answer a page of a query with one indexed ``SELECT``.

The table is a cache, never the source of truth:

- it is brought up to date before every query from a **change feed** the
  index keeps (every record written or deleted since a mark), and rebuilt
  from a full scan when the feed cannot say (a new cache, a replaced feed,
  another schema);
- the records of a page are read from the index itself and checked against
  the query again, so a record changed since it was cached never shows in a
  page it does not belong to;
- a query it cannot translate exactly (a filter on an undeclared column, a
  value of an unusual type) is answered by the scan.

A **count** (:meth:`ColumnCache.count`) is one ``SELECT count(*)`` with the
WHERE clause of a page, over tables that have just caught up; it names the
records the columns function left out (``run_columns_left_out``), so that
the few that do not read can be reported without reading the others.

**Search words.** Where this SQLite has FTS5 and its ``trigram`` tokenizer,
the ``text`` column is indexed by trigram in ``run_words`` (an FTS5 table
over ``run_columns``): a word of three characters or more that few rows
hold is looked up there and only its rows are sorted; one that many rows
hold is checked as rows are read in order (the page fills early). Shorter
words, and every word where the tokenizer is missing, are checked row by
row. Every row is checked with ``instr`` too: the index only narrows the
rows down, so the answer is exactly the scan's.

The translation keeps the scan's order exactly: SQLite sorts NULL before
numbers before text, numbers by value and text by code point, as the scan
sorts None, numbers and strings; ties fall back to the run id both ways.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from enact.backends.index import (
    Columns,
    ColumnSchema,
    RunCount,
    RunPage,
    RunQuery,
    decode_cursor,
    encode_cursor,
    keeps,
    sort_value,
)

__all__ = ["ChangeFeed", "ColumnCache"]

_SCALAR_TYPES = (str, int, float, type(None))
# The tables' own layout: a table of another layout is rebuilt. 2: an index
# of list members by run id (forgetting 1,000 changed runs of 100,000 read
# the whole list table once per run without it). 3: a row number, and the
# trigram index of the search text over it. 4: the ids of the records the
# columns function leaves out, for counts that name them.
_LAYOUT = 4

# Case is folded by the columns function (str.lower), so the index keeps
# text as it is: a folding of its own could disagree with Python's.
_TRIGRAM = "tokenize='trigram case_sensitive 1'"


@functools.cache
def has_trigram() -> bool:
    """Whether this SQLite has FTS5 and its trigram tokenizer (3.34+)."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute(f"CREATE VIRTUAL TABLE t USING fts5(text, {_TRIGRAM})")
    except sqlite3.Error:
        return False
    finally:
        db.close()
    return True


class ChangeFeed(NamedTuple):
    """How a cache learns what changed in its index.

    ``mark()`` names the feed's end now; ``since(mark)`` returns the new end
    and the ids of every record written or deleted after ``mark``, or None
    if the feed cannot tell (the mark is from another feed, the feed was cut
    or replaced): the cache is then rebuilt. ``scan()`` reads every readable
    record; ``read(ids)`` the current record of each id (None if gone or
    unreadable).
    """

    mark: Callable[[], str]
    since: Callable[[str], tuple[str, Sequence[str]] | None]
    scan: Callable[[], Iterable[tuple[str, bytes]]]
    read: Callable[[Sequence[str]], Mapping[str, bytes | None]]


class _Untranslatable(Exception):
    """The query (or a value) has no exact translation: scan instead."""


def _column(name: str) -> str:
    if not name.isidentifier():
        raise _Untranslatable(name)
    return f'"c_{name}"'


def _scalar(value: Any) -> Any:
    if isinstance(value, _SCALAR_TYPES):
        return value
    raise _Untranslatable(type(value).__name__)


def _searched(text: Any) -> str:
    """The search text as the table keeps it: lower case, and a NUL as a
    space (the trigram tokenizer stops at a NUL). A word holds neither a
    space nor a NUL, so it occurs in this text exactly where it occurs in
    the record's."""
    return str(text).lower().replace("\0", " ")


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Untranslatable("a lone surrogate") from None
    return value


class ColumnCache:
    """The columns of every run record, in tables of ``db``.

    Args:
        db: An open connection (autocommit mode: ``isolation_level=None``)
            that only this cache and its index use, under their lock.
        feed: The index's change feed.
    """

    def __init__(self, db: sqlite3.Connection, feed: ChangeFeed) -> None:
        self._db = db
        self._feed = feed

    # -- keeping up ----------------------------------------------------------

    def _state(self, key: str) -> str | None:
        try:
            row = self._db.execute(
                "SELECT value FROM run_columns_state WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.OperationalError:
            return None  # no cache yet
        return None if row is None else str(row[0])

    def _set_state(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO run_columns_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def is_current(self, schema: ColumnSchema) -> bool:
        """Whether the tables hold every change of the feed already, so that
        a query needs only a read (no write transaction, no lock held
        against other readers)."""
        mark = self._state("mark")
        if mark is None or self._state("schema") != _described(schema):
            return False
        changed = self._feed.since(mark)
        return changed is not None and not changed[1]

    def catch_up(self, columns: Columns, schema: ColumnSchema) -> bool:
        """Brings the tables up to date with the index (inside a transaction
        the caller holds, so that no change slips between feed and tables).
        Returns whether the tables were rebuilt from a scan.
        """
        described = _described(schema)
        mark = self._state("mark")
        if self._state("schema") != described or mark is None:
            self._rebuild(columns, schema, described)
            return True
        changed = self._feed.since(mark)
        if changed is None:
            self._rebuild(columns, schema, described)
            return True
        new_mark, ids = changed
        unique = list(dict.fromkeys(ids))
        if unique:
            records = self._feed.read(unique)
            self._forget(unique)
            self._insert(
                ((run_id, records.get(run_id)) for run_id in unique), columns, schema
            )
        if new_mark != mark:
            self._set_state("mark", new_mark)
        return False

    def _rebuild(self, columns: Columns, schema: ColumnSchema, described: str) -> None:
        db = self._db
        tables = (
            "run_words",
            "run_columns",
            "run_column_lists",
            "run_columns_left_out",
            "run_columns_state",
        )
        for table in tables:
            db.execute(f"DROP TABLE IF EXISTS {table}")
        names = ", ".join(_column(name) for name in schema.scalars)
        # n: the row's number, which the trigram index names rows by (a
        # rowid that is no column may change in a VACUUM).
        db.execute(
            "CREATE TABLE run_columns (n INTEGER PRIMARY KEY, "
            f"id TEXT UNIQUE NOT NULL, text, {names})"
        )
        db.execute(
            "CREATE TABLE run_column_lists (name TEXT NOT NULL, value, "
            "id TEXT NOT NULL, PRIMARY KEY (name, value, id)) WITHOUT ROWID"
        )
        # Catching up forgets a changed run's members by its id alone.
        db.execute("CREATE INDEX run_column_lists_id ON run_column_lists (id)")
        db.execute(
            "CREATE TABLE run_columns_left_out (id TEXT PRIMARY KEY NOT NULL) "
            "WITHOUT ROWID"
        )
        db.execute(
            "CREATE TABLE run_columns_state (key TEXT PRIMARY KEY NOT NULL, value)"
        )
        for name in schema.scalars:
            db.execute(
                f"CREATE INDEX run_columns_{name} ON run_columns ({_column(name)}, id)"
            )
        for index in schema.indexes:
            parts = ", ".join(_column(name) for name in index)
            db.execute(
                f"CREATE INDEX run_columns_{'_'.join(index)} ON run_columns "
                f"({parts}, id)"
            )
        # The mark before the scan: what is written during it comes again.
        mark = self._feed.mark()
        self._insert(self._feed.scan(), columns, schema, cluster=True)
        if has_trigram():
            db.execute(
                "CREATE VIRTUAL TABLE run_words USING fts5(text, "
                f"content='run_columns', content_rowid='n', {_TRIGRAM})"
            )
            # Built from the rows at once (faster than row by row).
            db.execute("INSERT INTO run_words (run_words) VALUES ('rebuild')")
        self._set_state("schema", described)
        self._set_state("mark", mark)

    def _forget(self, ids: Sequence[str]) -> None:
        rows = [(run_id,) for run_id in ids]
        if has_trigram():
            # An index over another table forgets a row given its text. In
            # few statements: the index writes what it holds at each one.
            for at in range(0, len(ids), _CHUNK):
                chunk = ids[at : at + _CHUNK]
                self._db.execute(
                    "INSERT INTO run_words (run_words, rowid, text) SELECT "
                    "'delete', n, text FROM run_columns WHERE id IN "
                    f"({', '.join('?' * len(chunk))})",
                    chunk,
                )
        self._db.executemany("DELETE FROM run_columns WHERE id = ?", rows)
        self._db.executemany("DELETE FROM run_column_lists WHERE id = ?", rows)
        self._db.executemany("DELETE FROM run_columns_left_out WHERE id = ?", rows)

    def _insert(
        self,
        records: Iterable[tuple[str, bytes | None]],
        columns: Columns,
        schema: ColumnSchema,
        *,
        cluster: bool = False,
    ) -> None:
        names = ", ".join(["id", "text", *map(_column, schema.scalars)])
        marks = ", ".join("?" * (len(schema.scalars) + 2))
        rows: list[tuple[Any, ...]] = []
        members: list[tuple[str, Any, str]] = []
        left_out: list[tuple[str]] = []
        for run_id, record in records:
            cols = None if record is None else columns(record)
            if cols is None or cols.get("id", run_id) != run_id:
                if record is not None:
                    left_out.append((run_id,))
                continue
            text = _searched(cols.get("text", ""))
            rows.append(
                (run_id, text, *(_scalar(cols.get(name)) for name in schema.scalars))
            )
            for name in schema.lists:
                for value in dict.fromkeys(cols.get(name) or ()):
                    members.append((name, _scalar(value), run_id))
        if cluster and schema.cluster in schema.scalars:
            # Sorted once parsed: each record is parsed once.
            at = 2 + schema.scalars.index(schema.cluster)
            rows.sort(key=lambda row: (sort_value(row[at]), row[0]))
        (last,) = self._db.execute("SELECT max(n) FROM run_columns").fetchone()
        self._db.executemany(
            f"INSERT INTO run_columns ({names}) VALUES ({marks})", rows
        )
        self._db.executemany("INSERT INTO run_column_lists VALUES (?, ?, ?)", members)
        self._db.executemany("INSERT INTO run_columns_left_out VALUES (?)", left_out)
        if not cluster and has_trigram():
            # The new rows, numbered past the last one, in one statement (a
            # rebuild indexes every row at its end instead).
            self._db.execute(
                "INSERT INTO run_words (rowid, text) SELECT n, text FROM "
                "run_columns WHERE n > ?",
                (-1 if last is None else last,),
            )

    # -- answering -----------------------------------------------------------

    def _members(self, name: str, value: Any) -> int:
        """How many runs hold ``value`` in list column ``name`` (counted in
        its primary key: a cost that grows with the count, not the table)."""
        row = self._db.execute(
            "SELECT count(*) FROM run_column_lists WHERE name = ? AND value = ?",
            (name, value),
        ).fetchone()
        return int(row[0])

    def _spelled(self, name: str, part: str) -> tuple[list[str], int] | None:
        """The distinct text values of column ``name`` containing ``part``
        and how many rows hold them, or None if the column holds too many
        distinct values to list. Each distinct value costs one seek in the
        column's index (text sorts after numbers: ``>= ''`` starts there).
        """
        column = _column(name)
        rows = self._db.execute(
            f"WITH RECURSIVE d(v) AS (SELECT min({column}) FROM run_columns "
            f"WHERE {column} >= '' UNION ALL SELECT (SELECT min({column}) "
            f"FROM run_columns WHERE {column} > d.v) FROM d WHERE d.v IS NOT "
            f"NULL LIMIT {_DISTINCT_TEXTS + 2}) SELECT v FROM d WHERE v IS NOT NULL"
        ).fetchall()
        if len(rows) > _DISTINCT_TEXTS:
            return None
        spellings = [v for (v,) in rows if isinstance(v, str) and part in v]
        if not spellings:
            return [], 0
        marks = ", ".join("?" * len(spellings))
        (count,) = self._db.execute(
            f"SELECT count(*) FROM run_columns WHERE {column} IN ({marks})",
            spellings,
        ).fetchone()
        return spellings, int(count)

    def _holding(self, word: str) -> int | None:
        """How many rows the trigram index finds for ``word``, counted up to
        just past :data:`_COMMON_MEMBERS` (a cost that grows with that, not
        the table); None if the index cannot look it up (no index here, a
        word of fewer than three characters)."""
        if len(word) < 3 or not has_trigram():
            return None
        row = self._db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM run_words WHERE run_words "
            f"MATCH ? LIMIT {_COMMON_MEMBERS + 1})",
            (_phrase(word),),
        ).fetchone()
        return int(row[0])

    def query(
        self, query: RunQuery, columns: Columns, schema: ColumnSchema
    ) -> RunPage | None:
        """One page of the query, or None if it has no exact translation.

        The caller has just called :meth:`catch_up` in the same transaction.

        Raises:
            ValueError: for a bad cursor or a negative limit.
        """
        if query.limit is not None and query.limit < 0:
            raise ValueError(f"A page limit cannot be negative: {query.limit}")
        try:
            sql, params = _translate(
                query, schema, self._members, self._spelled, self._holding
            )
        except _Untranslatable:
            return None
        if query.limit == 0:
            return RunPage([], None)
        limit = -1 if query.limit is None else query.limit + 1
        rows = self._db.execute(f"{sql} LIMIT {int(limit)}", params).fetchall()
        more = query.limit is not None and len(rows) > query.limit
        rows = rows[: query.limit] if more else rows
        records = self._feed.read([row[0] for row in rows])
        page: list[tuple[str, bytes]] = []
        for run_id, _ in rows:
            record = records.get(run_id)
            # Checked again: it may have changed since the tables caught up.
            cols = None if record is None else columns(record)
            if record is not None and cols is not None and keeps(cols, query):
                page.append((run_id, record))
        cursor = encode_cursor(rows[-1][1], rows[-1][0]) if more else None
        return RunPage(page, cursor)

    def count(self, query: RunQuery, schema: ColumnSchema) -> RunCount | None:
        """How many rows pass the query's filters (its order, cursor and
        limit aside), or None if it has no exact translation.

        The caller has just called :meth:`catch_up` in the same transaction,
        so the rows are the records as they are (no record is read again).
        """
        # Every page at once: no order, and every value looked up.
        query = dataclasses.replace(query, limit=None, cursor=None)
        try:
            where, params = _filters(
                query, schema, self._members, self._spelled, self._holding
            )
        except _Untranslatable:
            return None
        sql = "SELECT count(*) FROM run_columns"
        if where:
            sql += " WHERE " + " AND ".join(where)
        (count,) = self._db.execute(sql, params).fetchone()
        left_out = self._db.execute("SELECT id FROM run_columns_left_out ORDER BY id")
        return RunCount(int(count), [str(run_id) for (run_id,) in left_out])


# A list value held by more runs than this is checked run by run while the
# rows are read in order (the page fills long before the table ends);
# rarer ones are looked up first and their runs sorted (fewer than a scan).
_COMMON_MEMBERS = 2000


# Run ids per statement that forgets rows of the trigram index (SQLite
# before 3.32 takes at most 999 parameters).
_CHUNK = 500

# A text column with more distinct values than this is searched row by row.
_DISTINCT_TEXTS = 256


def _described(schema: ColumnSchema) -> str:
    """What the tables were built for (a rebuild when it changes)."""
    # With the index or without: a process whose SQLite lacks the tokenizer
    # rebuilds without it (and one that has it, with it).
    return json.dumps(
        [_LAYOUT, has_trigram(), schema.tag, schema.scalars, schema.lists]
    )


def _translate(
    query: RunQuery,
    schema: ColumnSchema,
    members: Callable[[str, Any], int],
    spelled: Callable[[str, str], tuple[list[str], int] | None],
    holding: Callable[[str], int | None],
) -> tuple[str, list[Any]]:
    """The SELECT of (id, order value) answering ``query``, in order."""
    where, params = _filters(query, schema, members, spelled, holding)
    if query.order_by not in schema.scalars:
        raise _Untranslatable(query.order_by)
    order = _column(query.order_by)
    if query.cursor is not None:
        value, after = decode_cursor(query.cursor)
        _scalar(value)
        where.append(_after(order, value, query.descending))
        params.extend([after] if value is None else [value, value, after])
    direction = "DESC" if query.descending else "ASC"
    sql = f"SELECT id, {order} FROM run_columns"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return f"{sql} ORDER BY {order} {direction}, id {direction}", params


def _filters(
    query: RunQuery,
    schema: ColumnSchema,
    members: Callable[[str, Any], int],
    spelled: Callable[[str, str], tuple[list[str], int] | None],
    holding: Callable[[str], int | None],
) -> tuple[list[str], list[Any]]:
    """The terms of the WHERE clause keeping the rows that pass the query's
    filters, and their parameters. A page (``query.limit`` set) checks
    common values as rows are read in order; a count looks every value up.
    """
    where: list[str] = []
    params: list[Any] = []
    scalars = set(schema.scalars)

    def scalar_column(name: str) -> str:
        if name not in scalars:
            raise _Untranslatable(name)
        return _column(name)

    for name, wanted in query.equal.items():
        column = scalar_column(name)
        choices = wanted if isinstance(wanted, tuple) else (wanted,)
        values = [_scalar(value) for value in choices if value is not None]
        options = []
        if values:
            options.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        if len(values) < len(choices):
            options.append(f"{column} IS NULL")
        where.append(f"({' OR '.join(options)})" if options else "0")
    for name, part in query.contains.items():
        column = scalar_column(name)
        if not isinstance(part, str):
            raise _Untranslatable(name)
        found = spelled(name, part)
        if found is None:
            where.append(f"(typeof({column}) = 'text' AND instr({column}, ?) > 0)")
            params.append(part)
            continue
        spellings, count = found
        if not spellings:
            where.append("0")
            continue
        # The text values that contain the part, by equality: a rare one is
        # looked up in the column's index, a common one (the unary plus
        # keeps the index out) checked as rows are read in order.
        common = query.limit is not None and count > _COMMON_MEMBERS
        marks = ", ".join("?" * len(spellings))
        where.append(f"{'+' if common else ''}{column} IN ({marks})")
        params.extend(spellings)
    for name, member in query.has.items():
        if name not in schema.lists:
            raise _Untranslatable(name)
        value = _scalar(member)
        if query.limit is not None and members(name, value) > _COMMON_MEMBERS:
            where.append(
                "EXISTS (SELECT 1 FROM run_column_lists AS m WHERE m.name = ? "
                "AND m.value = ? AND m.id = run_columns.id)"
            )
        else:
            where.append(
                "id IN (SELECT id FROM run_column_lists WHERE name = ? AND value = ?)"
            )
        params.extend([name, value])
    for bounds, operator in ((query.at_least, ">="), (query.below, "<")):
        for name, bound in bounds.items():
            column = scalar_column(name)
            if not isinstance(bound, (int, float)):
                raise _Untranslatable(name)
            where.append(
                f"(typeof({column}) IN ('integer', 'real') AND {column} {operator} ?)"
            )
            params.append(bound)
    if query.words and query.words.strip():
        for word in dict.fromkeys(query.words.lower().split()):
            if "\0" in word:
                raise _Untranslatable("a NUL character")  # see _searched
            _text(word)
            held = holding(word)
            common = query.limit is not None and (held or 0) > _COMMON_MEMBERS
            if held == 0:
                where.append("0")  # the index holds every row holding it
            elif held is None or common:
                # Checked as rows are read in order: the page fills early.
                where.append("instr(text, ?) > 0")
                params.append(word)
            else:
                # Few rows: looked up, then sorted (and checked exactly).
                where.append(
                    "n IN (SELECT rowid FROM run_words WHERE run_words MATCH ?) "
                    "AND instr(text, ?) > 0"
                )
                params.extend([_phrase(word), word])
    return where, params


def _phrase(word: str) -> str:
    """An FTS5 query for the text ``word`` as it is (a quoted string)."""
    return '"' + word.replace('"', '""') + '"'


def _after(column: str, value: Any, descending: bool) -> str:
    """Rows strictly past the cursor's (value, id) in the order."""
    if descending:
        if value is None:
            return f"({column} IS NULL AND id < ?)"
        return f"({column} IS NULL OR {column} < ? OR ({column} = ? AND id < ?))"
    if value is None:
        return f"({column} IS NOT NULL OR id > ?)"
    return f"({column} > ? OR ({column} = ? AND id > ?))"
