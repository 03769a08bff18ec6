"""The run index of a file store: plain files beside the objects.

Layout under the store root::

    runs/<run id>.json    a run's record, replaced whole (written to tmp/ and
                          renamed into place: readers never see a partial one)
    runs/<run id>.steps   the run's step log: one line per step, appended
    names.json            every name and the object key it points at
    claims/<key>          one file per claim, holding its value
    index.lock            flock'ed around every read-modify-write

**Step logs** are appended with one ``write`` of whole lines to a descriptor
opened with ``O_APPEND`` and kept open per run, so an append costs a few
microseconds. Readers return complete lines only: a process killed mid-append
leaves a cut last line, which is ignored, and cut off when the log is next
opened for appending (one process appends to a run at a time). A run deleted
by another process while this one still appends to it loses those appends,
unless this process creates the run again (``update_run`` from no record),
which reopens its log.

**Claims** are first-wins: the value is written to a temporary file, which is
then hard-linked to ``claims/<key>``. ``link`` fails if the name exists, so
exactly one claimer wins, and the name appears only with its whole value. A
key too long for a file name (256 characters) is stored as ``claims/~<sha256
of the key>`` holding the key, a newline and the value.

With ``fsync`` every write is flushed to disk, files and directories.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from enact.backends import forks
from enact.backends.base import BackendError
from enact.backends.files.format import (
    fsync_dir,
    write_all,
    write_file,
    write_into,
    write_new,
)
from enact.backends.files.query import CHANGES, Sidecar
from enact.backends.files.temp_pool import TempPool
from enact.backends.index import (
    Columns,
    Index,
    RunCount,
    RunPage,
    RunQuery,
    RunScan,
    UnreadableRecord,
    check_claim_key,
    check_run_id,
)

__all__ = ["FileIndex"]

T = TypeVar("T")

# Step logs kept open for appending, at most (the least recently used closes).
_MAX_APPENDERS = 64
# Longest file name most file systems allow.
_MAX_NAME = 255


class FileIndex(Index):
    """A store's run index as files under its root.

    Args:
        root: The store directory.
        temp_path: Returns a new path under the store's ``tmp/``.
        fsync: Flush every write (and its directory) to disk.
        on_write: Called before each write (registers the store's session,
            so a garbage collection keeps what this process writes).
    """

    def __init__(
        self,
        root: str,
        temp_path: Callable[[], str],
        fsync: bool,
        on_write: Callable[[], None],
    ) -> None:
        self.location = root
        self._temp_path = temp_path
        # Empty files made ahead: a record replaced or a step log created
        # opens one instead of creating a file (the slow part on many disks).
        self._pool = TempPool(temp_path)
        self._fsync = fsync
        self._on_write = on_write
        self._runs = os.path.join(root, "runs")
        self._claims = os.path.join(root, "claims")
        self._names = os.path.join(root, "names.json")
        self._lock_path = os.path.join(root, "index.lock")
        # Held around every read-modify-write: the thread lock within this
        # process, the flock across processes (it is per open file, so the
        # threads of one process would share it).
        self._thread_lock = threading.RLock()
        self._lock_fd: int | None = None
        self._depth = 0
        # run id -> descriptor of its step log, least recently used first.
        self._appenders: dict[str, int] = {}
        # The last key of _appenders, when known (no reordering needed).
        self._last_appended: str | None = None
        self._appenders_lock = threading.Lock()
        self._changes_path = os.path.join(root, CHANGES)
        self._changes_fd: int | None = None
        self._sidecar = Sidecar(
            root, self._locked, lambda: self.scan_runs().records, self.get_run
        )
        forks.on_fork(self)

    def _after_fork(self) -> None:
        # The lock file's descriptor is shared with the parent after a fork,
        # and flock() locks belong to it: the child's lock would not exclude
        # the parent (and its unlock would free the parent's). The child
        # opens its own.
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # the parent's lock stays its own
        self._lock_fd = None
        self._thread_lock = threading.RLock()  # another thread's, maybe
        self._depth = 0

    # -- locking and files ---------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._lock_fd
            if fd is None:
                fd = self._lock_fd = self._os(
                    self._lock_path,
                    lambda: os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644),
                )
            if self._depth == 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def _os(self, path: str, call: Callable[[], T]) -> T:
        """Runs a file operation on ``path``; an error names the path."""
        try:
            return call()
        except OSError as error:
            raise BackendError(f"cannot use {path}: {error}", self.location) from None

    def _read(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as file:
                return file.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise BackendError(f"cannot read {path}: {error}", self.location) from None

    def _listdir(self, directory: str) -> list[str]:
        try:
            return os.listdir(directory)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise BackendError(
                f"cannot list {directory}: {error}", self.location
            ) from None

    def _replace(self, path: str, data: bytes) -> None:
        """Writes ``path`` whole, through a temporary file and a rename."""
        self._on_write()
        temp = self._pool.take()
        if temp is not None:
            try:
                write_into(path, [data], temp, self._fsync)
                return
            except OSError:
                pass  # the file is gone, or the directory: as below
        try:
            write_file(path, [data], self._temp_path(), self._fsync)
            return
        except FileNotFoundError:
            pass  # its directory is missing (checked only then: a hot path)
        except OSError as error:
            raise BackendError(f"cannot use {path}: {error}", self.location) from None
        directory = os.path.dirname(path)
        self._os(directory, lambda: os.makedirs(directory, exist_ok=True))
        self._os(path, lambda: write_file(path, [data], self._temp_path(), self._fsync))

    def _remove(self, path: str) -> bool:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise BackendError(
                f"cannot remove {path}: {error}", self.location
            ) from None
        return True

    # -- run records ---------------------------------------------------------

    def _record_path(self, run_id: str) -> str:
        return os.path.join(self._runs, check_run_id(run_id, self.location) + ".json")

    def _steps_path(self, run_id: str) -> str:
        return os.path.join(self._runs, check_run_id(run_id, self.location) + ".steps")

    def get_run(self, run_id: str) -> bytes | None:
        return self._read(self._record_path(run_id))

    def record_location(self, run_id: str) -> str:
        try:
            return self._record_path(run_id)
        except BackendError:
            return super().record_location(run_id)

    def list_runs(self) -> list[tuple[str, bytes]]:
        scan = self.scan_runs()
        if scan.unreadable:
            raise BackendError(scan.unreadable[0].problem, self.location)
        return scan.records

    def scan_runs(self) -> RunScan:
        found, unreadable = [], []
        for name in self._listdir(self._runs):
            run_id, dot, suffix = name.rpartition(".")
            if suffix != "json" or not dot:
                continue
            try:
                path = self._record_path(run_id)
            except BackendError:
                continue  # not a record: a stray file
            try:
                record = self._read(path)
            except BackendError as error:
                unreadable.append(UnreadableRecord(run_id, path, str(error)))
                continue
            if record is not None:  # else deleted since the listing
                found.append((run_id, record))
        return RunScan(found, unreadable)

    def update_run(
        self, run_id: str, update: Callable[[bytes | None], bytes | None]
    ) -> bytes | None:
        path = self._record_path(run_id)
        with self._locked():
            old = self._read(path)
            new = update(old)
            if new is not None or old is not None:
                self._note_change(run_id)
            if new is not None:
                if old is None:
                    # A new run (or one deleted by another process, and
                    # created again): its step log may be a new file.
                    self._close_appender(run_id)
                self._replace(path, bytes(new))
                return new
            self._close_appender(run_id)
            removed = self._remove(path)
            removed = self._remove(self._steps_path(run_id)) or removed
            if removed and self._fsync:
                self._os(self._runs, lambda: fsync_dir(self._runs))
            return None

    def _note_change(self, run_id: str) -> None:
        """Appends the run id to the changes log, before its record changes
        (see :mod:`enact.backends.files.query`)."""
        self._on_write()
        line = run_id.encode("ascii") + b"\n"
        fd = self._changes_fd
        if fd is not None and os.fstat(fd).st_nlink == 0:
            # Removed by someone (the log is only a cache's feed): a new one.
            os.close(fd)
            fd = None
        if fd is None:
            fd = self._changes_fd = self._os(
                self._changes_path,
                lambda: os.open(
                    self._changes_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
                ),
            )
        # One short write to an O_APPEND descriptor: never interleaved.
        self._os(self._changes_path, lambda: os.write(fd, line))
        if self._fsync:
            self._os(self._changes_path, lambda: os.fsync(fd))

    def run_changes_mark(self) -> str | None:
        # Every record is written after its id is appended to runs.changes.
        try:
            return self._sidecar.mark()
        except (OSError, BackendError):
            return None  # no lock file (a read-only store): read everything

    def query_runs(self, query: RunQuery, columns: Columns) -> RunPage:
        page = self._sidecar.query(query, columns)
        return super().query_runs(query, columns) if page is None else page

    def count_runs(self, query: RunQuery, columns: Columns) -> RunCount | None:
        return self._sidecar.count(query, columns)

    # -- step logs -----------------------------------------------------------

    def append_steps(self, run_id: str, lines: Sequence[bytes]) -> None:
        # Hot: a durable run appends one line per finished call.
        if len(lines) == 1:
            line = lines[0]
            if line.find(b"\n") >= 0:
                raise BackendError(
                    "a step line may not contain a newline", self.location
                )
            data = line + b"\n"
        else:
            if not lines:
                check_run_id(run_id, self.location)
                return
            data = b"\n".join(lines) + b"\n"
            if data.count(b"\n") != len(lines):
                raise BackendError(
                    "a step line may not contain a newline", self.location
                )
        self.append_data(run_id, data)

    def append_data(self, run_id: str, data: bytes) -> None:
        """Appends ``data``, whole lines, to the run's step log."""
        with self._appenders_lock:
            fd = self._appenders.get(run_id)  # an open log's id was checked
            if fd is not None:
                if self._last_appended != run_id:
                    self._touch(run_id, fd)
                self._append(run_id, fd, data)
                return
        check_run_id(run_id, self.location)
        # Opening a log takes the index lock (before the appenders' lock,
        # like update_run), to cut a torn last line off safely.
        with self._locked(), self._appenders_lock:
            self._append(run_id, self._open_appender(run_id), data)

    def _append(self, run_id: str, fd: int, data: bytes) -> None:
        try:
            written = os.write(fd, data)
            if written < len(data):  # only on a full disk or a signal
                write_all(fd, [data[written:]])
            if self._fsync:
                os.fdatasync(fd)
        except OSError as error:
            path = self._steps_path(run_id)
            raise BackendError(
                f"cannot append to {path}: {error}", self.location
            ) from None

    def _touch(self, run_id: str, fd: int) -> None:
        """Makes ``run_id`` the most recently used log (the last one)."""
        appenders = self._appenders
        del appenders[run_id]
        appenders[run_id] = fd
        self._last_appended = run_id

    def open_step_log(self, run_id: str) -> tuple[int, str]:
        """Opens the run's step log for appending (``O_APPEND``), its torn
        last line cut off; returns the descriptor (the caller closes it) and
        the path. Each ``os.write`` of whole lines to it is one append."""
        check_run_id(run_id, self.location)
        with self._locked():
            return self._open_step_log(run_id), self._steps_path(run_id)

    def _open_step_log(self, run_id: str) -> int:
        self._on_write()
        path = self._steps_path(run_id)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
        temp = self._pool.take()
        if temp is not None:
            # A new log: a made-ahead file linked in place (never over a log
            # that exists, which the open below then opens).
            with contextlib.suppress(OSError):
                os.link(temp, path)
            self._pool.discard(temp)
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:  # runs/ is missing (checked only then)
            self._os(self._runs, lambda: os.makedirs(self._runs, exist_ok=True))
            fd = self._os(path, lambda: os.open(path, flags, 0o644))
        except OSError as error:
            raise BackendError(f"cannot use {path}: {error}", self.location) from None
        try:
            self._os(path, lambda: _cut_torn_line(fd))
            if self._fsync:
                self._os(self._runs, lambda: fsync_dir(self._runs))
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open_appender(self, run_id: str) -> int:
        self._drop_appender(run_id)
        fd = self._open_step_log(run_id)
        if len(self._appenders) >= _MAX_APPENDERS:
            os.close(self._appenders.pop(next(iter(self._appenders))))
        self._appenders[run_id] = fd
        self._last_appended = run_id
        return fd

    def _drop_appender(self, run_id: str) -> None:
        fd = self._appenders.pop(run_id, None)
        self._last_appended = None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _close_appender(self, run_id: str) -> None:
        with self._appenders_lock:
            self._drop_appender(run_id)

    def read_steps(self, run_id: str) -> list[bytes]:
        data = self._read(self._steps_path(run_id))
        if not data:
            return []
        # The piece after the last newline is empty, or a line cut short.
        return data.split(b"\n")[:-1]

    # -- names ---------------------------------------------------------------

    def set_name(self, name: str, key: str | None) -> None:
        with self._locked():
            names = self.names()
            if key is None:
                if names.pop(name, None) is None:
                    return
            else:
                names[name] = key
            data = json.dumps(names, sort_keys=True, ensure_ascii=False)
            self._replace(self._names, data.encode("utf-8", "surrogatepass"))

    def names(self) -> dict[str, str]:
        data = self._read(self._names)
        if data is None:
            return {}
        try:
            names = json.loads(data)
        except ValueError:
            names = None
        if not isinstance(names, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in names.items()
        ):
            raise BackendError(
                f"{self._names} is damaged (not a JSON object of strings)",
                self.location,
            )
        return names

    # -- claims --------------------------------------------------------------

    def _claim_path(self, key: str) -> tuple[str, bytes]:
        """The claim's file, and what precedes the value in it."""
        check_claim_key(key, self.location)
        if len(key) <= _MAX_NAME:
            return os.path.join(self._claims, key), b""
        digest = hashlib.sha256(key.encode("ascii")).hexdigest()
        return os.path.join(self._claims, "~" + digest), key.encode("ascii") + b"\n"

    def claim(self, key: str, value: bytes) -> bool:
        path, prefix = self._claim_path(key)
        self._on_write()
        temp = self._temp_path()
        try:
            write_new(temp, [prefix, value], self._fsync)
            try:
                os.link(temp, path)
            except FileNotFoundError:  # the first claim: no claims/ yet
                os.makedirs(self._claims, exist_ok=True)
                os.link(temp, path)
        except FileExistsError:
            return False
        except OSError as error:
            raise BackendError(
                f"cannot create {path}: {error}", self.location
            ) from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        if self._fsync:
            self._os(self._claims, lambda: fsync_dir(self._claims))
        return True

    def get_claim(self, key: str) -> bytes | None:
        path, prefix = self._claim_path(key)
        data = self._read(path)
        if data is None or not data.startswith(prefix):
            return None
        return data[len(prefix) :]

    def claims(self, prefix: str = "") -> dict[str, bytes]:
        found = {}
        for name in self._listdir(self._claims):
            path = os.path.join(self._claims, name)
            if name.startswith("~"):
                data = self._read(path)
                if data is None or b"\n" not in data:
                    continue
                raw, _, value = data.partition(b"\n")
                key = raw.decode("ascii", "replace")
            elif name.startswith(prefix):
                key, data = name, self._read(path)
                if data is None:
                    continue
                value = data
            else:
                continue
            if key.startswith(prefix):
                found[key] = value
        return found

    def close(self) -> None:
        self._pool.close()
        with self._appenders_lock:
            for fd in self._appenders.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._appenders.clear()
            self._last_appended = None
        self._sidecar.close()
        with self._thread_lock:
            if self._changes_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._changes_fd)
                self._changes_fd = None
            if self._lock_fd is not None and self._depth == 0:
                with contextlib.suppress(OSError):
                    os.close(self._lock_fd)
                self._lock_fd = None


def _cut_torn_line(fd: int) -> None:
    """Cuts off a last line left incomplete by a process killed mid-append."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - 4096)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end != size:
        os.ftruncate(fd, end)
