"""Numbered slots every machine of a PostgreSQL store shares: advisory locks.

A batch's concurrency limit of ``n`` calls of a component is ``n`` slots
(see ``enact._batches.limits``). On a PostgreSQL store a slot is a
session-level advisory lock, ``pg_try_advisory_lock(class, id)`` with the
store's lock class and an id derived from the store's schema, the limit's key
and the slot number, so the limit holds across processes on every machine
that opens the store. The locks are held on one connection of their own per
key and process (an advisory lock belongs to the connection that took it);
a process that dies, even by SIGKILL, loses its connection and with it its
slots, which the server frees at once.

If that connection breaks while slots are held (the server restarted), the
server has already freed them: the limit may be exceeded until those calls
end. The next take opens a new connection.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from enact.backends.base import BackendError
from enact.backends.postgres.connections import Connections, one_line
from enact.backends.postgres.migrations import LOCK_CLASS, lock_id

if TYPE_CHECKING:
    import psycopg

__all__ = ["AdvisorySlots"]


class AdvisorySlots:
    """The slots of one key in one store, as advisory locks.

    Args:
        connections: The store's connections (their URL and settings).
        key: What the slots limit (a component's type id).
    """

    def __init__(self, connections: Connections, key: str) -> None:
        self._db = connections
        self._key = key
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[Any] | None = None

    def _lock_id(self, slot: int) -> int:
        return lock_id(self._db.schema, f"limit:{self._key}:{slot}")

    def _connected(self) -> psycopg.Connection[Any]:
        connection = self._connection
        if connection is None or connection.closed or connection.broken:
            connection = self._connection = self._db.connect(search_path=False)
        return connection

    def try_lock(self, slot: int) -> bool:
        """Takes slot ``slot`` if no process (on any machine) holds it.

        Raises:
            BackendError: naming the store if the server cannot be reached.
        """
        psycopg = self._db.psycopg
        with self._lock:
            try:
                row = (
                    self._connected()
                    .execute(
                        "SELECT pg_try_advisory_lock(%s, %s)",
                        (LOCK_CLASS, self._lock_id(slot)),
                    )
                    .fetchone()
                )
            except psycopg.Error as error:
                self._drop()
                raise BackendError(
                    f"cannot take a slot of the limit of {self._key} in the "
                    f"PostgreSQL store {self._db.location}: {one_line(error)}",
                    self._db.location,
                ) from None
            return bool(row and row[0])

    def unlock(self, slot: int) -> None:
        """Gives slot ``slot`` back (a lost connection gave it back already)."""
        psycopg = self._db.psycopg
        with self._lock:
            connection = self._connection
            if connection is None or connection.closed or connection.broken:
                return
            try:
                connection.execute(
                    "SELECT pg_advisory_unlock(%s, %s)",
                    (LOCK_CLASS, self._lock_id(slot)),
                )
            except psycopg.Error:
                # Its connection is gone, and the server freed its locks.
                self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        """Closes the connection, giving back every slot it holds."""
        with self._lock:
            self._drop()
