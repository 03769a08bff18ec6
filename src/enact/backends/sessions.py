"""Sessions: which backend objects are writing to a store right now.

A live process may hold refs to objects it committed that no run record names
yet; the garbage collector must not remove them. So every backend object that
writes registers a *session* in a directory of the store: a file
``<pid>-<uuid>`` holding the session's start time, on which the backend keeps
an exclusive ``flock`` for as long as it is open. The kernel releases the lock
when the process dies, however it dies, so a session file whose lock can be
taken belongs to a dead process and is removed.

The collector keeps every object written after the oldest live session
started (see :mod:`enact.backends.gc`). All times come from :func:`clock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
import uuid
from collections.abc import Iterator

from enact.backends.base import BackendError

__all__ = ["MARGIN", "Session", "clock", "exclusive", "live_session_starts"]

#: Seconds subtracted from a session's start time when it becomes a cutoff:
#: file times come from a coarser clock than :func:`time.time`, and may lag it.
MARGIN = 2.0

_NAME = re.compile(r"[0-9]+-[0-9a-f]{32}")
# A session file being created (it is locked, then renamed into place).
_TEMP = re.compile(r"\.[0-9]+-[0-9a-f]{32}\.tmp")
# A temporary session file this old whose lock is free was left by a crash.
_STALE_TEMP_SECONDS = 60.0


def clock() -> float:
    """The time (Unix seconds) that sessions, write stamps and cutoffs use.

    One function, so tests can move it (``monkeypatch``) for every backend.
    """
    return time.time()


class Session:
    """One backend object's registration as a live writer of a store.

    Args:
        directory: The store's sessions directory (created if missing).
        location: The store's location, for messages.

    Raises:
        BackendError: if the session file cannot be created.
    """

    def __init__(self, directory: str, location: str) -> None:
        self.directory = directory
        self._pid = os.getpid()
        self._fd: int | None = None
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as error:
            raise BackendError(
                f"cannot create the sessions directory {directory}: {error}", location
            ) from None
        for _ in range(3):
            if self._register(location):
                break
        else:
            raise BackendError(
                f"cannot register a session in {directory}: its file kept vanishing",
                location,
            )
        #: When registration completed: every file written later is younger.
        self.registered = clock()

    def _register(self, location: str) -> bool:
        # Start time first, then lock, then rename: a collector never sees an
        # unlocked session file of a live process, and the recorded start is
        # no later than any write of this session.
        self.started = clock()
        self.name = f"{self._pid}-{uuid.uuid4().hex}"
        self.path = os.path.join(self.directory, self.name)
        temp = os.path.join(self.directory, f".{self.name}.tmp")
        fd = -1
        try:
            fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, repr(self.started).encode("ascii"))
            os.rename(temp, self.path)
        except FileNotFoundError:
            # A collector removed the temporary file as stale; try again.
            if fd >= 0:
                os.close(fd)
            return False
        except OSError as error:
            if fd >= 0:
                os.close(fd)
            raise BackendError(
                f"cannot register a session in {self.directory}: {error}", location
            ) from None
        self._fd = fd
        return True

    @property
    def open(self) -> bool:
        """Whether the session is still registered."""
        return self._fd is not None

    def close(self) -> None:
        """Ends the session (removes its file). Idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        # A forked child shares the lock but not the session: only the
        # process that registered it removes the file.
        if os.getpid() == self._pid:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(fd)


def live_session_starts(directory: str, own: Session | None) -> list[float]:
    """The start times of the live sessions in ``directory``, except ``own``.

    Removes the files of dead sessions (and of abandoned registrations).
    """
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    starts = []
    for name in names:
        path = os.path.join(directory, name)
        if own is not None and own.open and name == own.name:
            continue
        if _NAME.fullmatch(name):
            start = _probe(path)
            if start is not None:
                starts.append(start)
        elif _TEMP.fullmatch(name):
            _remove_stale_temp(path)
    return starts


def _probe(path: str) -> float | None:
    """The start time of a live session's file; None (and removed) if dead."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 64, 0)
            try:
                return float(text.decode("ascii"))
            except ValueError:
                # Unreadable start: assume the oldest possible, so nothing a
                # live session may use is ever collected.
                return 0.0
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return None
    finally:
        os.close(fd)


def _remove_stale_temp(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        if clock() - os.fstat(fd).st_mtime < _STALE_TEMP_SECONDS:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive(path: str, location: str) -> Iterator[None]:
    """Holds an exclusive ``flock`` on the file ``path`` (created if missing).

    Raises:
        BackendError: if the lock file cannot be opened.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise BackendError(f"cannot open lock file {path}: {error}", location) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
