"""Sessions of a PostgreSQL store: rows of ``sessions``, kept alive by a beat.

Writers on many machines share the store, so a session cannot be a locked
file: it is a row (id, process id, host, start, last write, idle state),
and its backend holds a session-level advisory lock named in the row on a
connection of its own. One thread per process (started when the first store
opens) beats every session every :data:`BEAT_SECONDS` (the row's
``beat``); when a session's connection is lost (a server restart), it
reconnects and takes the lock again.

A collection counts a session as dead, and removes its row, only when its
lock is free *and* its beat is older than :data:`DEAD_AFTER_SECONDS`: a
process that died (its connection closed, so its lock is free) stops
holding collections back within that time, while one whose connection was
merely lost keeps its protection while it reconnects. A session that finds
its row removed (it was away longer) is over: the next write registers a
new one, and everything it writes again is written anew (see
:mod:`enact.backends.sessions`).

Times are the writers' clocks (:func:`enact.backends.sessions.clock`): the
machines sharing a store must keep their clocks in step (NTP), within
:data:`~enact.backends.sessions.MARGIN`.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import uuid
import weakref
from typing import Any

from enact.backends import sessions
from enact.backends.base import BackendError
from enact.backends.postgres.connections import Connections, one_line

__all__ = [
    "BEAT_SECONDS",
    "DEAD_AFTER_SECONDS",
    "TableSession",
    "live_sessions",
    "start_beating",
]

#: Seconds between a session's beats.
BEAT_SECONDS = 5.0
#: A session whose lock is free and whose last beat is older than this is
#: dead.
DEAD_AFTER_SECONDS = 15.0


class TableSession(sessions.Session):
    """One backend object's session as a row of the store's ``sessions``.

    Has the methods of :class:`enact.backends.sessions.Session`, which the
    backend's :class:`~enact.backends.sessions.Keeper` uses.

    Raises:
        BackendError: if the session cannot be registered.
    """

    def __init__(self, connections: Connections) -> None:
        # Not the file session's constructor: nothing of it is a file.
        self._connections = connections
        self.location = connections.location
        self.directory = "sessions"
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.idle_since: float | None = None
        self.name = f"{self._pid}-{uuid.uuid4().hex}"
        self.lock_key = random.getrandbits(62)
        self._connection: Any = None
        self._open = True
        self.started = sessions.clock()
        host = socket.gethostname()
        try:
            self._connection = self._locked_connection()
            self._connection.execute(
                "INSERT INTO sessions (id, pid, host, started, active, beat, lock_key) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    self.name,
                    self._pid,
                    host,
                    self.started,
                    self.started,
                    self.started,
                    self.lock_key,
                ),
            )
        except connections.psycopg.Error as error:
            self._open = False
            if self._connection is not None:
                self._connection.close()
            raise BackendError(
                f"cannot register a session in the PostgreSQL store {self.location}: "
                f"{one_line(error)}",
                self.location,
            ) from None
        #: When registration completed: every object written later is younger.
        self.registered = sessions.clock()
        self._stop = threading.Event()
        start_beating()
        with _BEATING_LOCK:
            _BEATING.add(self)
        self._finalizer = weakref.finalize(
            self, _end, self._stop, self._connection_box()
        )

    def _connection_box(self) -> list[Any]:
        self._box = [self._connection]
        return self._box

    def _locked_connection(self) -> Any:
        connection = self._connections.connect()
        try:
            connection.execute("SELECT pg_advisory_lock(%s)", (self.lock_key,))
        except Exception:
            connection.close()
            raise
        return connection

    @property
    def open(self) -> bool:
        """Whether the session is still registered."""
        return self._open

    def _execute(self, statement: str, params: tuple[Any, ...]) -> bool:
        """Runs an update of this session's row; False if the row is gone.

        A lost connection is made again (with the lock) first.
        """
        psycopg = self._connections.psycopg
        with self._lock:
            if not self._open:
                return False
            for attempt in range(2):
                try:
                    if self._connection is None or self._connection.closed:
                        self._connection = self._locked_connection()
                        self._box[0] = self._connection
                    cursor = self._connection.execute(statement, params)
                    if cursor.rowcount == 0:
                        self._end_locked()  # removed as dead: this session is over
                        return False
                    return True
                except psycopg.Error:
                    with contextlib.suppress(Exception):
                        self._connection.close()
                    self._connection = None
                    if attempt:
                        return True  # the server is away: the beat tries again
        return True

    def beat(self) -> None:
        """Records that the session's process is alive (the beat thread)."""
        self._execute(
            "UPDATE sessions SET beat = %s WHERE id = %s", (sessions.clock(), self.name)
        )

    def touch(self) -> None:
        """Marks the session active now (its last write)."""
        now = sessions.clock()
        self._execute(
            "UPDATE sessions SET active = %s, beat = %s WHERE id = %s",
            (now, now, self.name),
        )

    def go_idle(self) -> None:
        """Marks the session idle from now (it holds collections back for
        :data:`~enact.backends.sessions.LINGER_SECONDS` more)."""
        since = sessions.clock()
        if self._execute(
            "UPDATE sessions SET idle_since = %s WHERE id = %s", (since, self.name)
        ):
            self.idle_since = since

    def resume(self) -> bool:
        """Makes an idle session active again, if it still holds collections
        back (see :meth:`enact.backends.sessions.Session.resume`)."""
        since = self.idle_since
        if not self._open:
            return False
        if since is None:
            return True
        if not self._lingering(since):
            return False
        if not self._execute(
            "UPDATE sessions SET idle_since = NULL WHERE id = %s", (self.name,)
        ):
            return False
        if not self._lingering(since):
            return False
        self.idle_since = None
        return True

    def _end_locked(self) -> None:
        self._open = False
        self._stop.set()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
            self._box[0] = None

    def _disown(self) -> None:
        """Forgets the session without ending it: a forked child's copy."""
        self._lock = threading.Lock()
        self._open = False
        self._connection = None
        finalizer = getattr(self, "_finalizer", None)  # None mid-registration
        if finalizer is not None:
            finalizer.detach()

    def close(self) -> None:
        """Ends the session (removes its row). Idempotent."""
        with self._lock:
            if not self._open:
                return
            connection = self._connection
            try:
                if connection is not None and not connection.closed:
                    connection.execute(
                        "DELETE FROM sessions WHERE id = %s", (self.name,)
                    )
            except self._connections.psycopg.Error:
                pass  # its lock goes with the connection; a collection removes it
            self._end_locked()
        self._finalizer.detach()


# The sessions of this process that the beat thread keeps alive. One thread
# for all (started when the first store opens), not one per session.
_BEATING: weakref.WeakSet[TableSession] = weakref.WeakSet()
_BEATING_LOCK = threading.Lock()
_BEATER: list[tuple[int, threading.Thread]] = []


def _after_fork_in_child() -> None:
    """A forked child never beats, touches or ends its parent's sessions
    (its store registers sessions of its own); their connections are cut
    off by :mod:`~enact.backends.postgres.connections`."""
    global _BEATING_LOCK
    _BEATING_LOCK = threading.Lock()  # the parent's may have been held
    for session in list(_BEATING):
        session._disown()
    _BEATING.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def start_beating() -> None:
    """Starts this process's beat thread, if it does not run yet (a forked
    child starts its own)."""
    with _BEATING_LOCK:
        if _BEATER and _BEATER[0][0] == os.getpid() and _BEATER[0][1].is_alive():
            return
        thread = threading.Thread(
            target=_beat, daemon=True, name="enact-postgres-sessions"
        )
        _BEATER[:] = [(os.getpid(), thread)]
        thread.start()


def _beat() -> None:
    while True:
        threading.Event().wait(BEAT_SECONDS)
        with _BEATING_LOCK:
            beating = [session for session in _BEATING if session.open]
        for session in beating:
            with contextlib.suppress(Exception):  # never end the thread
                session.beat()
        del beating


def _end(stop: threading.Event, box: list[Any]) -> None:
    # A session dropped unclosed: its connection (and lock) ends; a
    # collection removes the row once its beat is old.
    stop.set()
    connection = box[0]
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()


def live_sessions(db: Any, own: set[str]) -> list[sessions.SessionInfo]:
    """The sessions that hold collections back, oldest first, except ``own``.

    Removes the rows of dead sessions (lock free, beat old).
    """
    now = sessions.clock()
    rows = db.execute(
        "SELECT id, pid, host, started, active, beat, idle_since, lock_key "
        "FROM sessions"
    ).fetchall()
    found = []
    here = socket.gethostname()
    for name, pid, host, started, active, beat, idle_since, lock_key in rows:
        if name in own:
            continue
        if now - beat > DEAD_AFTER_SECONDS and _lock_free(db, lock_key):
            db.execute("DELETE FROM sessions WHERE id = %s", (name,))
            continue
        if idle_since is not None and now - idle_since >= sessions.LINGER_SECONDS:
            continue
        found.append(
            sessions.SessionInfo(
                pid=int(pid),
                host=str(host),
                started=float(started),
                active=float(active),
                idle_since=None if idle_since is None else float(idle_since),
                stale=idle_since is None and now - active > sessions.STALE_SECONDS,
                running=_running(int(pid)) if host == here else None,
            )
        )
    return sorted(found, key=lambda info: (info.started, info.pid))


def _lock_free(db: Any, lock_key: int) -> bool:
    row = db.execute("SELECT pg_try_advisory_lock(%s)", (lock_key,)).fetchone()
    if row[0]:
        db.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
        return True
    return False


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
