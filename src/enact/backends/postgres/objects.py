"""Objects in PostgreSQL, and the family's bundle (:class:`PostgresObjects`).

One table, ``objects`` (digest, bytes, written): puts are one batched
``INSERT ... ON CONFLICT`` (concurrent writers of one object never
conflict: the second finds the first's row), gets one ``SELECT ... = ANY``
per batch, bytes sent and read in binary. As in the SQLite store, a row
written before this backend's session started is re-stamped when committed
again, so garbage collection sees it as young.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

from enact.backends import gc as garbage
from enact.backends import sessions
from enact.backends.backend import Backend
from enact.backends.base import BackendError, FileDamage, Parts, check_key
from enact.backends.postgres import sessions as table_sessions
from enact.backends.postgres.connections import Connections, mask, one_line, split_url
from enact.backends.postgres.index import PostgresIndex
from enact.backends.postgres.journals import (
    UPSERT,
    UPSERT_ONE,
    PostgresJournals,
    upsert_params,
)
from enact.backends.postgres.migrations import LOCK_CLASS, lock_id, migrate
from enact.backends.postgres.readahead import ReadAhead
from enact.backends.postgres.slots import AdvisorySlots

__all__ = ["PostgresObjects"]

# Keys per SELECT or DELETE. A SELECT's keys (checked digests: no commas)
# are sent as one comma-joined string: psycopg adapts a list of 2,000
# strings to an array about as slowly as the server answers.
_CHUNK = 2000
# Bytes of objects per INSERT.
_CHUNK_BYTES = 32 << 20
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresObjects(Backend):
    """A store in a PostgreSQL database: objects, index and journals.

    Args:
        url: ``postgresql://user:password@host:port/database`` with libpq's
            parameters (``?sslmode=require``, ``?host=/run/postgresql`` for
            a unix socket); a password may also come from ``PGPASSWORD`` or
            ``~/.pgpass``. ``?schema=name`` picks the schema the store's
            tables live in (default ``enact``).
        fsync: Commit with ``synchronous_commit=on``: a finished call
            survives a crash of the server's machine. The default, ``off``,
            survives the death of the run's process and a restart of the
            server; a crash of the server may lose the last fraction of a
            second of commits (never half of one).
        schema: The schema, instead of the URL's ``?schema=``.
        retry_seconds: How long an operation retries a server that went
            away (restarting) before it raises.
        connect_timeout: Seconds to wait for a connection.
        statement_timeout: Milliseconds a statement may take (the server's
            setting if None).

    Raises:
        BackendError: naming the URL (password masked) if the server cannot
            be reached or the schema cannot be created.
        StoreVersionError: if the store was written by a newer enact.
    """

    def __init__(
        self,
        url: str,
        fsync: bool = False,
        *,
        schema: str | None = None,
        retry_seconds: float = 60.0,
        connect_timeout: float = 10.0,
        statement_timeout: int | None = None,
    ) -> None:
        libpq_url, from_url = split_url(url)
        chosen = schema or from_url or "enact"
        self.location = mask(url)
        if _SCHEMA.fullmatch(chosen) is None:
            raise BackendError(
                f"cannot open the store {self.location}: schema {chosen!r} is not "
                "a plain lowercase name (letters, digits, _)",
                self.location,
            )
        self.url = url
        self.schema = chosen
        self.fsync = fsync
        self._db = Connections(
            libpq_url,
            schema=chosen,
            location=self.location,
            fsync=fsync,
            retry_seconds=retry_seconds,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
        )
        psycopg = self._db.psycopg
        try:
            connection = self._db.connect()
        except psycopg.Error as error:
            raise BackendError(
                f"cannot open the store {self.location}: {one_line(error)}",
                self.location,
            ) from None
        try:
            migrate(connection, chosen, self.location)
        except psycopg.Error as error:
            raise BackendError(
                f"cannot create the tables of the store {self.location}: "
                f"{one_line(error)}",
                self.location,
            ) from None
        finally:
            connection.close()
        self._fresh_after = 0.0
        # The process's beat thread runs from the first store on (not from a
        # first write in the middle of a user's work).
        table_sessions.start_beating()
        self._sessions = sessions.Keeper(
            "sessions",
            self.location,
            self._session_renewed,
            register=lambda: table_sessions.TableSession(self._db),
        )
        # Resumes read the objects their step logs name in batches.
        self._readahead = ReadAhead(self._select)
        self._index = PostgresIndex(
            self._db, self._sessions.ensure, noted=self._readahead.note
        )
        self._journals = PostgresJournals(self._db, self._index, self._rows)
        self._slot_sets: list[AdvisorySlots] = []

    def _session_renewed(self, registered: float) -> None:
        self._fresh_after = registered

    def begin_use(self) -> None:
        self._sessions.begin_use()

    def end_use(self) -> bool:
        return self._sessions.end_use()

    def index(self) -> PostgresIndex:
        return self._index

    def journals(self) -> PostgresJournals:
        return self._journals

    def slots(self, key: str) -> AdvisorySlots:
        """Numbered slots of ``key`` that every machine of the store shares
        (advisory locks): a batch's concurrency limits."""
        slots = AdvisorySlots(self._db, key)
        self._slot_sets.append(slots)
        return slots

    def _rows(
        self, items: Sequence[tuple[str, Parts]]
    ) -> list[tuple[str, bytes, float, float]]:
        if time.monotonic() >= self._sessions.next_beat:
            self._sessions.ensure()
        now, fresh_after = sessions.clock(), self._fresh_after
        # In key order: two transactions writing the same objects wait for
        # each other in the same order, never in a circle.
        return sorted(
            (check_key(key, self.location), b"".join(parts), now, fresh_after)
            for key, parts in items
        )

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        if not items:
            return
        rows = self._rows(items)
        chunks: list[list[tuple[str, bytes, float, float]]] = [[]]
        size = 0
        for row in rows:
            if size >= _CHUNK_BYTES or len(chunks[-1]) >= _CHUNK * 5:
                chunks.append([])
                size = 0
            chunks[-1].append(row)
            size += len(row[1])

        def work(db: Any) -> None:
            for chunk in chunks:
                if len(chunk) == 1:
                    db.execute(UPSERT_ONE, chunk[0])
                else:
                    db.execute(UPSERT, upsert_params(chunk))

        # One statement (one round trip) for a batch of up to 32 MiB; several
        # in one transaction for more.
        self._db.run(work, "write objects", transaction=len(chunks) > 1)

    @contextlib.contextmanager
    def atomically(self) -> Iterator[None]:
        """One transaction for every write of the block (see Backend)."""
        self._sessions.ensure()
        # Not retried: the block's work cannot be run again from here. A
        # lost connection fails the block with a BackendError.
        with self._db._connection() as (connection, outermost):
            psycopg = self._db.psycopg
            try:
                if outermost:
                    with connection.transaction():
                        yield
                else:
                    yield
            except psycopg.Error as error:
                raise BackendError(
                    f"cannot write to the PostgreSQL store {self.location}: "
                    f"{one_line(error)}",
                    self.location,
                ) from None

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        found = self._readahead.take(keys)
        if len(found) < len(keys):
            found.update(self._select([key for key in keys if key not in found]))
        return [found.get(key) for key in keys]

    def _select(self, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}

        def work(db: Any) -> None:
            for start in range(0, len(keys), _CHUNK):
                chunk = list(keys[start : start + _CHUNK])
                rows = db.execute(
                    "SELECT digest, data FROM objects "
                    "WHERE digest = ANY(string_to_array(%s, ','))",
                    (",".join(chunk),),
                    binary=True,
                )
                found.update((str(key), bytes(data)) for key, data in rows)

        if keys:
            self._db.run(work, "read objects")
        return found

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        found: set[str] = set()

        def work(db: Any) -> None:
            for start in range(0, len(keys), _CHUNK):
                chunk = list(keys[start : start + _CHUNK])
                rows = db.execute(
                    "SELECT digest FROM objects "
                    "WHERE digest = ANY(string_to_array(%s, ','))",
                    (",".join(chunk),),
                )
                found.update(str(row[0]) for row in rows)

        if keys:
            self._db.run(work, "look up objects")
        return [key in found for key in keys]

    def iter_keys(self) -> Iterator[str]:
        rows = self._db.run(
            lambda db: db.execute("SELECT digest FROM objects").fetchall(),
            "list objects",
        )
        for (key,) in rows:
            yield str(key)

    def scan_damage(self) -> list[FileDamage]:
        """Rows whose digest is no valid key (no read could ask for them)."""
        rows = self._db.run(
            lambda db: db.execute(
                "SELECT digest FROM objects WHERE digest !~ '^[0-9a-f]{64}$'"
            ).fetchall(),
            "check objects",
        )
        return [
            FileDamage(
                f"a row of the objects table of {self.location} has the damaged "
                f"digest {str(key)[:80]!r}",
                self.location,
            )
            for (key,) in rows
        ]

    def gc(
        self, dry_run: bool = False, progress: garbage.Progress | None = None
    ) -> garbage.GCReport:
        started = time.monotonic()
        psycopg = self._db.psycopg
        try:
            holder = self._db.connect()
        except psycopg.Error as error:
            raise BackendError(
                f"cannot collect garbage in {self.location}: {one_line(error)}",
                self.location,
            ) from None
        try:
            # One collection at a time per store, on any machine.
            holder.execute(
                "SELECT pg_advisory_lock(%s, %s)",
                (LOCK_CLASS, lock_id(self.schema, "gc")),
            )
            now = sessions.clock()
            # This backend's session does not hold the cutoff back: from now
            # on, only its copies written from now on count as stored.
            self._fresh_after = now
            others = table_sessions.live_sessions(holder, self._sessions.names())
            cutoff = min([now, *(info.started for info in others)]) - sessions.MARGIN
            return garbage.collect(
                index=self._index,
                heap=_PostgresHeap(self, cutoff),
                cutoff=cutoff,
                held_back_by=others,
                dry_run=dry_run,
                progress=progress,
                started=started,
                location=self.location,
            )
        except psycopg.Error as error:
            raise BackendError(
                f"cannot collect garbage in {self.location}: {one_line(error)}",
                self.location,
            ) from None
        finally:
            holder.close()

    def close(self) -> None:
        self._sessions.close()
        for slots in self._slot_sets:
            slots.close()
        self._db.close()


class _PostgresHeap(garbage.Heap):
    def __init__(self, backend: PostgresObjects, cutoff: float) -> None:
        self._backend = backend
        self._cutoff = cutoff
        rows = backend._db.run(
            lambda db: db.execute(
                "SELECT digest, written, length(data) FROM objects"
            ).fetchall(),
            "scan objects",
        )
        self._sizes = {str(key): int(size) for key, _, size in rows}
        self._young = [str(key) for key, written, _ in rows if written >= cutoff]

    def keys(self) -> Collection[str]:
        return self._sizes.keys()

    def young(self) -> Iterable[str]:
        return self._young

    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        return garbage.read_intact(self._backend, keys)

    def sweep(self, marked: set[str], dry_run: bool) -> tuple[int, int]:
        doomed = sorted(key for key in self._sizes if key not in marked)
        if dry_run:
            return len(doomed), sum(self._sizes[key] for key in doomed)
        removed = freed = 0
        for start in range(0, len(doomed), _CHUNK):
            chunk = doomed[start : start + _CHUNK]
            # The write time is checked again: a writer may have re-stamped
            # a row since the scan.
            rows = self._backend._db.run(
                self._deleter(chunk), "remove objects", transaction=True
            )
            removed += len(rows)
            freed += sum(int(size) for (size,) in rows)
        return removed, freed

    def _deleter(self, chunk: list[str]) -> Callable[[Any], list[Any]]:
        def delete(db: Any) -> list[Any]:
            rows: list[Any] = db.execute(
                "DELETE FROM objects WHERE digest = ANY(%s) AND written < %s "
                "RETURNING length(data)",
                (chunk, self._cutoff),
            ).fetchall()
            return rows

        return delete
