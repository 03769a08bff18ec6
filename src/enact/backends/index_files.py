"""The run index of a file store: small files beside the objects.

    runs/<run id>.json    the run's record, replaced whole (temp file + rename)
    runs/<run id>.steps   the run's step log: lines appended with O_APPEND
    claims/<key>          write-once values (hard-linked into place: first wins)
    names.json            name -> object key
    index.lock            flock'ed around every read-modify-write

Readers never lock: records and claims appear whole (rename and link are
atomic), and a reader of a step log drops an incomplete last line.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence

import orjson

from enact.backends.base import BackendError
from enact.backends.index import Index, check_claim_key, check_run_id

__all__ = ["FileIndex"]


class FileIndex(Index):
    """An :class:`~enact.backends.index.Index` in files under ``root``.

    Args:
        root: The store directory.
        fsync: Flush every write to disk (survives power loss).
    """

    def __init__(self, root: str, fsync: bool = False) -> None:
        self.root = root
        self.location = root
        self.fsync = fsync
        self._runs = os.path.join(root, "runs")
        self._claims = os.path.join(root, "claims")
        self._tmp = os.path.join(root, "tmp")
        self._names = os.path.join(root, "names.json")
        self._lock_path = os.path.join(root, "index.lock")
        try:
            for path in (self._runs, self._claims, self._tmp):
                os.makedirs(path, exist_ok=True)
        except OSError as error:
            raise BackendError(
                f"cannot create the run index in {root}: {error}", root
            ) from None
        self._thread_lock = threading.RLock()
        # Open step logs, by run id: appending is one write on a kept fd.
        self._step_fds: dict[str, int] = {}

    # -- helpers -------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Excludes every other read-modify-write, in any thread or process."""
        with self._thread_lock:
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise BackendError(
                    f"cannot open {self._lock_path}: {error}", self.location
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the lock

    def _read(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as file:
                return file.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise BackendError(f"cannot read {path}: {error}", self.location) from None

    def _temp(self, data: bytes) -> str:
        """Writes ``data`` to a new temporary file; returns its path."""
        temp = os.path.join(self._tmp, f"index-{os.getpid()}-{uuid.uuid4().hex}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        return temp

    def _replace(self, path: str, data: bytes) -> None:
        try:
            os.replace(self._temp(data), path)
            if self.fsync:
                _fsync_dir(os.path.dirname(path))
        except OSError as error:
            raise BackendError(f"cannot write {path}: {error}", self.location) from None

    def _run_path(self, run_id: str, suffix: str) -> str:
        return os.path.join(self._runs, check_run_id(run_id, self.location) + suffix)

    # -- run records -----------------------------------------------------------

    def get_run(self, run_id: str) -> bytes | None:
        return self._read(self._run_path(run_id, ".json"))

    def list_runs(self) -> list[tuple[str, bytes]]:
        try:
            names = os.listdir(self._runs)
        except OSError as error:
            raise BackendError(
                f"cannot list {self._runs}: {error}", self.location
            ) from None
        found = []
        for name in names:
            if name.endswith(".json"):
                data = self._read(os.path.join(self._runs, name))
                if data is not None:  # deleted meanwhile
                    found.append((name[: -len(".json")], data))
        return found

    def update_run(
        self, run_id: str, update: Callable[[bytes | None], bytes | None]
    ) -> bytes | None:
        path = self._run_path(run_id, ".json")
        with self._locked():
            new = update(self._read(path))
            if new is not None:
                self._replace(path, bytes(new))
                return new
            for stale in (path, self._run_path(run_id, ".steps")):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(stale)
            with self._thread_lock:
                fd = self._step_fds.pop(run_id, None)
            if fd is not None:
                os.close(fd)
            return None

    # -- step logs -------------------------------------------------------------

    def append_steps(self, run_id: str, lines: Sequence[bytes]) -> None:
        data = b"".join(bytes(line) + b"\n" for line in lines)
        with self._thread_lock:
            fd = self._step_fds.get(run_id)
            try:
                if fd is None:
                    path = self._run_path(run_id, ".steps")
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    self._step_fds[run_id] = fd
                # One write: O_APPEND puts it whole at the end, after any
                # other process's lines.
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.fsync:
                    os.fsync(fd)
            except OSError as error:
                raise BackendError(
                    f"cannot append to the step log of run {run_id}: {error}",
                    self.location,
                ) from None

    def read_steps(self, run_id: str) -> list[bytes]:
        data = self._read(self._run_path(run_id, ".steps")) or b""
        lines = data.split(b"\n")
        return [line for line in lines[:-1] if line]  # the last is incomplete

    # -- names -----------------------------------------------------------------

    def set_name(self, name: str, key: str | None) -> None:
        with self._locked():
            names = self.names()
            if key is None:
                names.pop(name, None)
            else:
                names[name] = key
            self._replace(self._names, orjson.dumps(names))

    def names(self) -> dict[str, str]:
        data = self._read(self._names)
        if not data:
            return {}
        try:
            names = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise BackendError(
                f"{self._names} is damaged: {error}", self.location
            ) from None
        if not isinstance(names, dict):
            raise BackendError(f"{self._names} is damaged", self.location)
        return {str(k): str(v) for k, v in names.items()}

    # -- claims ----------------------------------------------------------------

    def claim(self, key: str, value: bytes) -> bool:
        path = os.path.join(self._claims, check_claim_key(key, self.location))
        try:
            temp = self._temp(bytes(value))
            try:
                # link() fails if the name exists: exactly one process wins,
                # and the value is complete before the name appears.
                os.link(temp, path)
            except FileExistsError:
                return False
            finally:
                os.unlink(temp)
            if self.fsync:
                _fsync_dir(self._claims)
            return True
        except OSError as error:
            raise BackendError(
                f"cannot write claim {path}: {error}", self.location
            ) from None

    def get_claim(self, key: str) -> bytes | None:
        return self._read(
            os.path.join(self._claims, check_claim_key(key, self.location))
        )

    def claims(self, prefix: str = "") -> dict[str, bytes]:
        found = {}
        for name in os.listdir(self._claims):
            if name.startswith(prefix):
                data = self._read(os.path.join(self._claims, name))
                if data is not None:
                    found[name] = data
        return found

    def close(self) -> None:
        with self._thread_lock:
            for fd in self._step_fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._step_fds.clear()


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
