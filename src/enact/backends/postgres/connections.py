"""Connections to a PostgreSQL store: opened, reused, retried.

:class:`Connections` hands each thread a connection for one operation (the
same one to a call nested inside another, so a run-record update and the
objects its function writes share one transaction), keeps a few idle ones
for reuse, and retries an operation that lost its connection: a server
restart, a dropped network connection, a statement cancelled by
``statement_timeout``. Every write carries a token of its own (see
:mod:`~enact.backends.postgres.index`), so a write retried after its commit
went through but its answer was lost is never applied twice.

An error that retrying cannot cure (a full disk, a refused password, a
server that stays away longer than ``retry_seconds``) is a
:class:`~enact.backends.BackendError` naming the store, its password
masked.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from enact.backends import forks
from enact.backends.base import BackendError
from enact.backends.urls import mask_password

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "Connections",
    "import_psycopg",
    "lost_connection",
    "mask",
    "one_line",
    "split_url",
]

T = TypeVar("T")

# SQLSTATE classes and codes worth retrying: the connection went away
# (08...), the server is shutting down or starting (57P01-57P03), a
# statement timeout (57014), a serialization failure or deadlock (40...).
_RETRY_CODES = ("57P01", "57P02", "57P03", "57014", "40001", "40P01")
# Statement timeouts are retried this many times, then reported.
_TIMEOUT_RETRIES = 3
# Idle connections kept for reuse.
_IDLE_LIMIT = 8


def import_psycopg() -> Any:
    """The ``psycopg`` module, or a polite error naming the extra to install."""
    try:
        import psycopg
    except ImportError:
        raise BackendError(
            "the PostgreSQL store needs psycopg: pip install 'enact[postgres]'",
            "postgresql",
        ) from None
    return psycopg


def mask(url: str) -> str:
    """The URL with its password masked, for messages."""
    return mask_password(url)


def split_url(url: str) -> tuple[str, str | None]:
    """Splits enact's own ``schema=`` parameter off a PostgreSQL URL.

    Returns:
        The URL libpq gets, and the schema named (None if none).
    """
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    schema = None
    kept = []
    for name, value in query:
        if name == "schema":
            schema = value
        else:
            kept.append((name, value))
    rest = urllib.parse.urlencode(kept)
    return urllib.parse.urlunsplit(parts._replace(query=rest)), schema


def lost_connection(error: BaseException, connection: Any = None) -> bool:
    """Whether ``error`` is one that a new connection may cure."""
    psycopg = import_psycopg()
    if connection is not None and getattr(connection, "broken", False):
        return True
    if isinstance(error, psycopg.OperationalError):
        code = getattr(error, "sqlstate", None)
        if code is None or code.startswith("08") or code in _RETRY_CODES:
            return True
    code = getattr(error, "sqlstate", None)
    return code in _RETRY_CODES


class _Held(threading.local):
    connection: Any = None
    depth = 0


class Connections:
    """Connections to one store's database, per thread, retried.

    Args:
        url: The libpq URL (without enact's own parameters).
        schema: The schema the store's tables live in.
        location: The store's URL with its password masked, for messages.
        fsync: ``synchronous_commit=on`` (survives a crash of the server's
            machine) instead of ``off``.
        retry_seconds: How long an operation keeps retrying a lost server.
        connect_timeout: Seconds to wait for one connection.
        statement_timeout: Milliseconds a statement may take (None: the
            server's setting).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str,
        location: str,
        fsync: bool,
        retry_seconds: float,
        connect_timeout: float,
        statement_timeout: int | None,
    ) -> None:
        self.psycopg = import_psycopg()
        self.url = url
        self.schema = schema
        self.location = location
        self.fsync = fsync
        self.retry_seconds = retry_seconds
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._held = _Held()
        self._closed = False
        # Every connection made, so a forked child can cut itself off them.
        self._made: weakref.WeakSet[Any] = weakref.WeakSet()
        forks.on_fork(self)
        # A store dropped unclosed closes its idle connections.
        weakref.finalize(self, _close_all, self._idle)

    def connect(self, *, search_path: bool = True) -> psycopg.Connection[Any]:
        """A new connection, in autocommit mode, set up for the store.

        Raises:
            psycopg.Error: if the server cannot be reached.
        """
        options = {
            "synchronous_commit": "on" if self.fsync else "off",
            "application_name": "enact",
        }
        if self.statement_timeout is not None:
            options["statement_timeout"] = str(int(self.statement_timeout))
        if search_path:
            options["search_path"] = self.schema
        line = " ".join(f"-c {name}={value}" for name, value in options.items())
        connection: psycopg.Connection[Any] = self.psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=max(1, round(self.connect_timeout)),
            options=line,
        )
        self._made.add(connection)
        return connection

    def _after_fork(self) -> None:
        """In a forked child: lets go of the parent's connections, which
        are the parent's sessions on the server (a statement sent from here
        would interleave with the parent's on the same socket). Each one's
        socket is pointed at ``/dev/null`` in this process, so closing it
        (or its finalizer) never reaches the server; the child connects anew."""
        self._lock = threading.Lock()  # the parent's may have been held
        self._held = _Held()
        self._idle.clear()
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            for connection in list(self._made):
                with contextlib.suppress(Exception):
                    os.dup2(devnull, connection.fileno())
        finally:
            os.close(devnull)
        self._made = weakref.WeakSet()

    def _take(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise BackendError(
                f"the PostgreSQL store {self.location} is closed", self.location
            )
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
        return self.connect()

    def _give_back(self, connection: psycopg.Connection[Any]) -> None:
        if connection.closed or connection.broken:
            return
        if connection.info.transaction_status != self.psycopg.pq.TransactionStatus.IDLE:
            connection.close()  # left mid-transaction: never reused
            return
        with self._lock:
            if not self._closed and len(self._idle) < _IDLE_LIMIT:
                self._idle.append(connection)
                return
        connection.close()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[tuple[psycopg.Connection[Any], bool]]:
        """This thread's connection, and whether it is the outermost use."""
        held = self._held
        if held.connection is not None:
            held.depth += 1
            try:
                yield held.connection, False
            finally:
                held.depth -= 1
            return
        connection = self._take()
        held.connection, held.depth = connection, 1
        try:
            yield connection, True
        finally:
            held.connection, held.depth = None, 0
            self._give_back(connection)

    def run(
        self,
        work: Callable[[psycopg.Connection[Any]], T],
        what: str,
        *,
        transaction: bool = False,
        retry: bool = True,
        recheck: Callable[[psycopg.Connection[Any]], bool] | None = None,
        pipeline: bool = False,
    ) -> T:
        """Runs ``work(connection)``, in a transaction if asked, retrying
        after a lost connection.

        Inside another :meth:`run` of the same thread, ``work`` joins its
        connection (and transaction) and is not retried on its own: the
        outermost one is.

        Args:
            work: The operation.
            what: What it does, for messages ("write objects").
            transaction: Run ``work`` in one transaction.
            retry: Retry after a lost connection (False for operations that
                cannot be repeated safely).
            pipeline: Send the transaction's statements in one pipeline
                (one round trip; ``work`` must not read results).
            recheck: Called on a new connection before a retry; True if
                the lost attempt was committed after all (then ``work`` is
                not run again and the result of the lost attempt is
                returned).

        Raises:
            BackendError: naming the store and what failed.
        """
        psycopg = self.psycopg
        deadline = time.monotonic() + self.retry_seconds
        pause = 0.05
        timeouts = 0
        attempted: list[T] = []
        while True:
            try:
                with self._connection() as (connection, outermost):
                    if not outermost:
                        # Joins the outer transaction (no savepoint: the
                        # outer one fails or commits as a whole).
                        idle = psycopg.pq.TransactionStatus.IDLE
                        if transaction and connection.info.transaction_status == idle:
                            with connection.transaction():
                                return work(connection)
                        return work(connection)
                    if attempted and recheck is not None and recheck(connection):
                        return attempted[-1]
                    if transaction:
                        with (
                            connection.pipeline()
                            if pipeline
                            else contextlib.nullcontext(),
                            connection.transaction(),
                        ):
                            result = work(connection)
                            attempted.append(result)
                    else:
                        result = work(connection)
                    return result
            except BackendError:
                raise
            except psycopg.Error as error:
                if self._held.connection is not None:
                    raise  # nested: the outermost run retries or reports
                code = getattr(error, "sqlstate", None)
                if code == "57014":
                    timeouts += 1
                retryable = retry and lost_connection(error) and not self._closed
                if (
                    not retryable
                    or time.monotonic() > deadline
                    or timeouts > _TIMEOUT_RETRIES
                ):
                    raise BackendError(
                        f"cannot {what} in the PostgreSQL store {self.location}: "
                        f"{one_line(error)}",
                        self.location,
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    def close(self) -> None:
        """Closes the idle connections; later operations are refused."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                connection.close()


def _close_all(connections: list[Any]) -> None:
    for connection in connections:
        with contextlib.suppress(Exception):
            connection.close()
    connections.clear()


def one_line(error: BaseException) -> str:
    """An error's message on one line."""
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())
