"""The run index of a memory store: dicts under one lock.

Queries are answered from a table of columns in an in-memory SQLite
database (:mod:`enact.backends.column_cache`), made at the first query and
kept up to date from a list of the run ids written since, so a page costs
what it costs on the SQLite store rather than a parse of every record.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from enact.backends.base import BackendError
from enact.backends.column_cache import ChangeFeed, ColumnCache
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

__all__ = ["MemoryIndex"]

_T = TypeVar("_T")


class MemoryIndex(Index):
    """An index in process memory (for memory stores and tests)."""

    location = "memory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._runs: dict[str, bytes] = {}
        self._steps: dict[str, list[bytes]] = {}
        self._names: dict[str, str] = {}
        self._claims: dict[str, bytes] = {}
        # The query table, made by the first query that declares a schema;
        # until then no change is noted (the first query scans anyway).
        self._table: sqlite3.Connection | None = None
        # Run ids written since the table last caught up; ``_seen`` counts
        # those consumed before them (the feed's marks are counts).
        self._changed: list[str] = []
        self._seen = 0
        # How many times a record was written or deleted (the changes mark).
        self._writes = 0
        self._feed = ChangeFeed(self._mark, self._since, self.list_runs, self._read)

    def get_run(self, run_id: str) -> bytes | None:
        return self._runs.get(check_run_id(run_id, self.location))

    def list_runs(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self._runs.items())

    def update_run(
        self, run_id: str, update: Callable[[bytes | None], bytes | None]
    ) -> bytes | None:
        check_run_id(run_id, self.location)
        with self._lock:
            old = self._runs.get(run_id)
            new = update(old)
            if self._table is not None and (old is not None or new is not None):
                self._changed.append(run_id)
            if new is None:
                self._runs.pop(run_id, None)
                self._steps.pop(run_id, None)
            else:
                self._runs[run_id] = bytes(new)
            self._writes += 1
            return new

    def run_changes_mark(self) -> str | None:
        with self._lock:
            return str(self._writes)

    # -- queries -------------------------------------------------------------

    def _mark(self) -> str:
        return str(self._seen + len(self._changed))

    def _since(self, mark: str) -> tuple[str, list[str]] | None:
        if not mark.isdigit() or int(mark) < self._seen:
            return None
        return self._mark(), self._changed[int(mark) - self._seen :]

    def _read(self, ids: Sequence[str]) -> Mapping[str, bytes | None]:
        return {run_id: self._runs.get(run_id) for run_id in ids}

    def _ask(
        self, columns: Columns, ask: Callable[[ColumnCache, ColumnSchema], _T | None]
    ) -> _T | None:
        """``ask``'s answer from the table, caught up (None: no schema, or
        no exact translation)."""
        schema = schema_of(columns)
        if schema is None:
            return None
        # Under the lock throughout: no write slips between feed and table.
        with self._lock:
            if self._table is None:
                self._table = sqlite3.connect(
                    ":memory:", isolation_level=None, check_same_thread=False
                )
            cache = ColumnCache(self._table, self._feed)
            cache.catch_up(columns, schema)
            self._seen += len(self._changed)
            self._changed.clear()
            return ask(cache, schema)

    def query_runs(self, query: RunQuery, columns: Columns) -> RunPage:
        page = self._ask(columns, lambda cache, s: cache.query(query, columns, s))
        return super().query_runs(query, columns) if page is None else page

    def count_runs(self, query: RunQuery, columns: Columns) -> RunCount | None:
        return self._ask(columns, lambda cache, schema: cache.count(query, schema))

    def append_steps(self, run_id: str, lines: Sequence[bytes]) -> None:
        check_run_id(run_id, self.location)
        if any(b"\n" in line for line in lines):
            raise BackendError("a step line may not contain a newline", self.location)
        with self._lock:
            self._steps.setdefault(run_id, []).extend(bytes(line) for line in lines)

    def read_steps(self, run_id: str) -> list[bytes]:
        check_run_id(run_id, self.location)
        with self._lock:
            return list(self._steps.get(run_id, ()))

    def set_name(self, name: str, key: str | None) -> None:
        with self._lock:
            if key is None:
                self._names.pop(name, None)
            else:
                self._names[name] = key

    def names(self) -> dict[str, str]:
        with self._lock:
            return dict(self._names)

    def claim(self, key: str, value: bytes) -> bool:
        check_claim_key(key, self.location)
        with self._lock:
            if key in self._claims:
                return False
            self._claims[key] = bytes(value)
            return True

    def get_claim(self, key: str) -> bytes | None:
        return self._claims.get(check_claim_key(key, self.location))

    def claims(self, prefix: str = "") -> dict[str, bytes]:
        with self._lock:
            return {k: v for k, v in self._claims.items() if k.startswith(prefix)}
