"""Opening a store from a URL: ``enact.open_store(url, **options)``.

One table maps a URL scheme to the function that opens its store, so a new
kind of store joins by one :func:`register_scheme` call:

==============================================  ==================================
URL                                             store
==============================================  ==================================
``memory:``                                     a new in-memory store
``./runs``, ``/data/runs``, ``file:///data/runs``  a store directory
``runs.db`` (ends in ``.db``, ``.sqlite``, ``.sqlite3``)  a SQLite file
``sqlite:///runs.db``, ``sqlite:////abs/runs.db``  a SQLite file (relative, absolute)
``postgresql://user@host:5432/db``              a PostgreSQL database
``s3://bucket/prefix?index=sqlite:///runs.db``  objects in S3, runs in the index store
``<any of these>?blobs=s3://bucket/blobs``      large values in S3, the rest there
==============================================  ==================================

PostgreSQL URLs follow libpq's conventions (``?sslmode=``, a unix-socket
directory as ``?host=/run/postgresql``, the password from ``PGPASSWORD`` or
``~/.pgpass``); see :mod:`enact.backends.postgres`. A URL that names no
known scheme, or a store that cannot be opened, is a
:class:`~enact.backends.BackendError` whose one-line message names the URL,
its password masked (:func:`mask_password`).

Another process (a batch's worker, a parallel export's) opens the same store
by its :class:`StoreAddress`: :func:`store_address` gives it, picklable, and
:func:`open_address` opens it once per process.
"""

from __future__ import annotations

import dataclasses
import os
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from enact.backends.base import BackendError
from enact.backends.files import FileObjects
from enact.backends.postgres import PostgresObjects
from enact.backends.sqlite import SQLiteObjects
from enact.backends.urls import mask_password
from enact.references import FileStore, InMemoryStore, SQLiteStore, Store

__all__ = [
    "SQLITE_SUFFIXES",
    "StoreAddress",
    "local_store",
    "mask_password",
    "open_address",
    "open_store",
    "register_scheme",
    "schemes",
    "store_address",
]

#: File name endings that make a plain path a SQLite store.
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")

#: Opens the store of a URL: ``opener(url, options)``.
Opener = Callable[[str, dict[str, Any]], Store]

_SCHEMES: dict[str, Opener] = {}
# A scheme: two characters at least, so a Windows drive (C:) is a path.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")


def register_scheme(scheme: str, opener: Opener) -> None:
    """Makes :func:`open_store` open URLs of ``scheme`` with ``opener``.

    Args:
        scheme: The URL scheme, without the colon (``"s3"``).
        opener: Called with the whole URL and the keyword options given to
            :func:`open_store`; returns the open store, or raises
            :class:`~enact.backends.BackendError`.
    """
    _SCHEMES[scheme.lower()] = opener


def schemes() -> list[str]:
    """The URL schemes :func:`open_store` knows, sorted."""
    return sorted(_SCHEMES)


def scheme_of(url: str) -> str | None:
    """The registered scheme ``url`` starts with, or None for a plain path.

    Raises:
        BackendError: for a URL (``name://...``) of an unknown scheme.
    """
    match = _SCHEME.match(url)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme in _SCHEMES:
        return scheme
    if url[match.end() : match.end() + 2] == "//":
        known = ", ".join(f"{name}:" for name in schemes())
        raise BackendError(
            f"cannot open the store {mask_password(url)}: unknown scheme "
            f"{scheme!r} (known: {known}, or a path)",
            mask_password(url),
        )
    return None


def local_store(url: str) -> tuple[str, str] | None:
    """Which local store ``url`` names: ``("file" | "sqlite", path)``.

    None for a store that lives elsewhere (memory, a server).

    Raises:
        BackendError: for an unknown scheme.
    """
    scheme = scheme_of(url)
    if scheme is None:
        kind = "sqlite" if url.lower().endswith(SQLITE_SUFFIXES) else "file"
        return kind, url
    if scheme == "file":
        return "file", _file_path(url)
    if scheme == "sqlite":
        return "sqlite", _sqlite_path(url)
    return None


def open_store(url: str | os.PathLike[str], **options: Any) -> Store:
    """Opens the store a URL names (see the module's table).

    Args:
        url: ``memory:``, a path, ``file:///...``, ``sqlite:///...`` or
            ``postgresql://...`` (or any registered scheme).
        **options: Passed to the store: ``fsync=True`` for file and SQLite
            stores; for PostgreSQL see
            :class:`~enact.backends.postgres.PostgresObjects`.

    Raises:
        BackendError: naming the URL (password masked) if the scheme is
            unknown or the store cannot be opened.
    """
    text, given = _take_query(os.fspath(url), ("blobs", "blob_threshold", "index"))
    options = {**given, **options}
    blobs = options.pop("blobs", None)
    threshold = options.pop("blob_threshold", None)
    if blobs is not None:
        return _tiered(text, str(blobs), threshold, options)
    if threshold is not None:
        raise BackendError(
            f"cannot open the store {mask_password(text)}: blob_threshold "
            "needs blobs=s3://...",
            mask_password(text),
        )
    scheme = scheme_of(text)
    if scheme is None:
        return _open_path(text, options)
    return _SCHEMES[scheme](text, options)


def _take_query(url: str, names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Splits the store options ``names`` off a URL's query.

    So ``sqlite:///runs.db?blobs=s3://bucket/blobs`` works where only a URL
    can be given (``--store``, ``$ENACT_STORE``). The rest of the query is
    left for the store (libpq's ``sslmode``, S3's ``endpoint``).
    """
    if "?" not in url or _SCHEME.match(url) is None:
        return url, {}
    base, _, query = url.partition("?")
    kept: list[tuple[str, str]] = []
    taken: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if key in names:
            taken[key] = value
        else:
            kept.append((key, value))
    if not taken:
        return url, {}
    rest = urllib.parse.urlencode(kept, safe=":/")
    return (f"{base}?{rest}" if rest else base), taken


def _backend_of(url: str, options: dict[str, Any]) -> Any:
    """The byte backend (objects, index, journals) of the store at ``url``."""
    from enact.backends.backend import Backend

    backend = open_store(url, **options).backend
    if not isinstance(backend, Backend):
        raise BackendError(
            f"cannot use {mask_password(url)} here: it is not a store of runs",
            mask_password(url),
        )
    return backend


def _tiered(url: str, blobs: str, threshold: Any, options: dict[str, Any]) -> Store:
    """Small objects and the index at ``url``, large values at ``blobs``."""
    from enact.backends.s3 import tiered_store

    size = 1024 * 1024 if threshold is None else _size(url, threshold)
    store = tiered_store(_backend_of(url, options), blobs, size)
    assert isinstance(store, Store)
    return store


def _size(url: str, value: Any) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if size < 1:
        raise BackendError(
            f"cannot open the store {mask_password(url)}: blob_threshold must be "
            f"a positive number of bytes, not {value!r}",
            mask_password(url),
        )
    return size


def _open_s3(url: str, options: dict[str, Any]) -> Store:
    # Imported here: boto3 is an optional extra.
    from enact.backends.s3 import s3_store

    index = options.pop("index", None)
    if index is None:
        raise BackendError(
            f"cannot open the store {mask_password(url)}: objects in S3 need a "
            "store for the runs beside them: index=sqlite:///runs.db or "
            "index=postgresql://... (in the URL's query, or as an option)",
            mask_password(url),
        )
    if options:
        raise BackendError(
            f"an s3:// store takes no options but index (got "
            f"{', '.join(sorted(options))})",
            mask_password(url),
        )
    store = s3_store(url, _backend_of(str(index), {}))
    assert isinstance(store, Store)
    return store


def _open_path(path: str, options: dict[str, Any]) -> Store:
    if path.lower().endswith(SQLITE_SUFFIXES):
        return SQLiteStore(path, **options)
    return FileStore(path, **options)


def _file_path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise BackendError(
            f"cannot open the store {url}: a file URL names a local path "
            "(file:///path), not a host",
            url,
        )
    return urllib.parse.unquote(parts.path)


def _sqlite_path(url: str) -> str:
    # As SQLAlchemy writes them: sqlite:///relative.db, sqlite:////abs.db.
    rest = url.split(":", 1)[1]
    if not rest.startswith("///"):
        raise BackendError(
            f"cannot open the store {url}: write sqlite:///relative.db or "
            "sqlite:////absolute/path.db",
            url,
        )
    path = urllib.parse.unquote(rest[3:].split("?", 1)[0])
    if not path:
        raise BackendError(f"cannot open the store {url}: no file named", url)
    return path


def _open_memory(url: str, options: dict[str, Any]) -> Store:
    if url.split(":", 1)[1].strip("/"):
        raise BackendError(f"cannot open the store {url}: write just memory:", url)
    if options:
        raise BackendError(
            f"a memory store takes no options (got {', '.join(sorted(options))})",
            url,
        )
    return InMemoryStore()


def _open_file(url: str, options: dict[str, Any]) -> Store:
    return FileStore(_file_path(url), **options)


def _open_sqlite(url: str, options: dict[str, Any]) -> Store:
    return SQLiteStore(_sqlite_path(url), **options)


def _open_postgres(url: str, options: dict[str, Any]) -> Store:
    # Imported here: psycopg is an optional extra, and `import enact` must
    # not import it.
    from enact.backends.postgres import PostgresObjects

    return Store(PostgresObjects(url, **options))


register_scheme("memory", _open_memory)
register_scheme("file", _open_file)
register_scheme("sqlite", _open_sqlite)
register_scheme("postgresql", _open_postgres)
register_scheme("postgres", _open_postgres)
register_scheme("s3", _open_s3)


@dataclasses.dataclass(frozen=True)
class StoreAddress:
    """How another process opens a store: its kind and location (picklable)."""

    #: ``"file"``, ``"sqlite"`` or ``"postgresql"``.
    kind: str
    #: The directory or database file (absolute), or the server's URL (with
    #: its password, if it has one: the address is only ever handed to the
    #: batch's own workers).
    location: str
    #: Whether the store was opened with ``fsync=True``.
    fsync: bool
    #: A PostgreSQL store's schema.
    schema: str | None = None

    def open(self) -> Store:
        """Opens the store (a new store object)."""
        if self.kind == "sqlite":
            return SQLiteStore(self.location, fsync=self.fsync)
        if self.kind == "postgresql":
            return Store(
                PostgresObjects(self.location, fsync=self.fsync, schema=self.schema)
            )
        return FileStore(self.location, fsync=self.fsync)

    def __repr__(self) -> str:  # never shows a password
        return f"StoreAddress({self.kind!r}, {mask_password(self.location)!r})"


def store_address(store: Store) -> StoreAddress | None:
    """The address of a store other processes can open, or None (a memory
    store, a store composed of parts, or a custom backend)."""
    backend = store.backend
    if isinstance(backend, FileObjects):
        return StoreAddress("file", backend.root, backend.fsync)
    if isinstance(backend, SQLiteObjects):
        return StoreAddress("sqlite", backend.path, bool(backend.fsync))
    if isinstance(backend, PostgresObjects):
        return StoreAddress("postgresql", backend.url, backend.fsync, backend.schema)
    return None


# One store object per address in each worker process, opened on first use.
_opened: dict[StoreAddress, tuple[int, Store]] = {}


def open_address(address: StoreAddress) -> Store:
    """The store at ``address``, opened once per process (and again after a
    fork, whose child must not share the parent's files)."""
    pid = os.getpid()
    found = _opened.get(address)
    if found is None or found[0] != pid:
        found = (pid, address.open())
        _opened[address] = found
    return found[1]
