"""Sessions: which backend objects are writing to a store right now.

A live process may hold refs to objects it committed that no run record names
yet; the garbage collector must not remove them. So every backend object that
writes registers a *session* in a directory of the store: a file
``<pid>-<uuid>`` holding the session's start time and host, on which the
backend keeps an exclusive ``flock`` while the session lasts. The kernel
releases the lock when the process dies, however it dies, so a session file
whose lock can be taken belongs to a dead process and is removed.

A session holds collections back while its backend object is in use
(:class:`Keeper`): it is registered on the first write, and when the last
``with store:`` block using the backend exits it turns *idle*. An idle
session holds collections back for :data:`LINGER_SECONDS` more (a process
that re-enters its store soon after, with refs from the block before, is
still protected), then no longer; a write within that time resumes it, a
later write registers a new session. Closing the backend, or dropping it,
ends the session at once. While it is active, a write touches the file now
and then (:data:`HEARTBEAT_SECONDS`), so a collection can tell a writer idle
for long (reported *stale*) from an active one.

The collector keeps every object written after the oldest session that
holds it back started (see :mod:`enact.backends.gc`). All times come from
:func:`clock`.

A session file is fixed fields of text: the start time (bytes 0-63; older
readers read just those, as a float), the host (64-319) and the state
(320-383: blank while active, ``idle <time>`` when idle).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import math
import os
import re
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Collection, Iterator

from enact.backends import forks
from enact.backends.base import BackendError

__all__ = [
    "HEARTBEAT_SECONDS",
    "LINGER_SECONDS",
    "MARGIN",
    "STALE_SECONDS",
    "Keeper",
    "Session",
    "SessionInfo",
    "clock",
    "exclusive",
    "fresh_after",
    "live_sessions",
]

#: Seconds subtracted from a session's start time when it becomes a cutoff:
#: file times come from a coarser clock than :func:`time.time`, and may lag it.
MARGIN = 2.0
#: Seconds an idle session (its store out of every ``with`` block) still
#: holds collections back.
LINGER_SECONDS = 600.0
#: A session's writes touch its file at most this often (seconds).
HEARTBEAT_SECONDS = 60.0
#: An active session whose file was last touched longer ago than this is
#: stale: its store is in use (or was never closed) but has not written for
#: long. It still holds collections back.
STALE_SECONDS = 600.0

_NAME = re.compile(r"[0-9]+-[0-9a-f]{32}")
# A session file being created (it is locked, then renamed into place).
_TEMP = re.compile(r"\.[0-9]+-[0-9a-f]{32}\.tmp")
# A temporary session file this old whose lock is free was left by a crash.
_STALE_TEMP_SECONDS = 60.0
# The fields of a session file: (offset, length).
_START = (0, 64)
_HOST = (64, 256)
_STATE = (320, 64)
_IDLE = b"idle "


def _field(text: str, span: tuple[int, int]) -> bytes:
    data = text.encode("utf-8", "replace")[: span[1] - 1]
    return data.ljust(span[1] - 1) + b"\n"


def clock() -> float:
    """The time (Unix seconds) that sessions, write stamps and cutoffs use.

    One function, so tests can move it (``monkeypatch``) for every backend.
    """
    return time.time()


def fresh_after(start: float) -> float:
    """The modification time from which a file counts as young for a session
    that started at ``start``.

    File times come from the kernel's coarse clock and may lag :func:`clock`
    by a tick: a file written just after ``start`` must not look old. Half
    the margin is safe: no collection's cutoff is later than
    ``start - MARGIN``.
    """
    return start - MARGIN / 2


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
        self._release: weakref.finalize[[int, str, int], Session] | None = None
        #: When the session turned idle (:func:`clock`), or None if active.
        self.idle_since: float | None = None
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
        host = socket.gethostname().replace("\n", " ")
        data = b"".join(
            [
                _field(repr(self.started), _START),
                _field(host, _HOST),
                _field("", _STATE),
            ]
        )
        fd = -1
        try:
            fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, data)
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
        # A session whose object is dropped unclosed ends with it.
        self._release = weakref.finalize(self, _end, fd, self.path, self._pid)
        return True

    @property
    def open(self) -> bool:
        """Whether the session is still registered."""
        return self._fd is not None

    def touch(self) -> None:
        """Marks the session active now (its file's modification time)."""
        fd = self._fd
        if fd is not None:
            with contextlib.suppress(OSError):
                os.utime(fd)

    def go_idle(self) -> None:
        """Marks the session idle from now: it holds collections back for
        :data:`LINGER_SECONDS` more."""
        fd = self._fd
        if fd is None:
            return
        since = clock()
        try:
            os.pwrite(fd, _field(f"idle {since!r}", _STATE), _STATE[0])
        except OSError:
            self.close()  # cannot say it is idle: end it instead
            return
        self.idle_since = since

    def resume(self) -> bool:
        """Makes an idle session active again, if it still holds collections
        back. Returns False if it no longer does (then close it and register
        a new one: a collection may be removing what it wrote)."""
        since = self.idle_since
        fd = self._fd
        if fd is None:
            return False
        if since is None:
            return True
        if not self._lingering(since):
            return False
        try:
            os.pwrite(fd, _field("", _STATE), _STATE[0])
        except OSError:
            return False
        # Checked again once written: a collection that read the file before
        # the write took it as idle, but started later than this, when the
        # session still held it back.
        if not self._lingering(since):
            return False
        self.idle_since = None
        return True

    @staticmethod
    def _lingering(since: float) -> bool:
        return clock() - since < LINGER_SECONDS - MARGIN

    def close(self) -> None:
        """Ends the session (removes its file). Idempotent."""
        self._fd = None
        if self._release is not None:
            self._release()


def _end(fd: int, path: str, pid: int) -> None:
    # A forked child shares the lock but not the session: only the process
    # that registered it removes the file.
    if os.getpid() == pid:
        with contextlib.suppress(OSError):
            os.unlink(path)
    with contextlib.suppress(OSError):
        os.close(fd)


class Keeper:
    """One backend object's session, kept while the backend is in use.

    The session is registered on the first write (:meth:`ensure`). When the
    last use (:meth:`begin_use` ... :meth:`end_use`: a store's ``with``
    block) ends, it turns idle; the next write resumes it, or registers a new
    one if it no longer holds collections back. A write made outside every
    use keeps its session active until the next use ends. :meth:`close`, or
    the backend being garbage, ends it.

    Args:
        directory: The store's sessions directory.
        location: The store's location, for messages.
        renewed: Called with each new session's registration time, before
            the session counts as open: the backend then forgets what it
            knew to be stored young (copies older than the new session must
            be written again).
        register: Makes a new session (default: a :class:`Session` file in
            ``directory``); a store that keeps its sessions elsewhere (a
            database table) passes its own, with the same methods.
    """

    def __init__(
        self,
        directory: str,
        location: str,
        renewed: Callable[[float], None],
        register: Callable[[], Session] | None = None,
    ) -> None:
        self._directory = directory
        self._location = location
        self._renewed = renewed
        self._register = register or (lambda: Session(directory, location))
        self._lock = threading.Lock()
        self._uses = 0
        #: The active session, or None.
        self.session: Session | None = None
        # The session that turned idle when the last use ended, if any.
        self._idle: Session | None = None
        #: :func:`time.monotonic` time from which :meth:`ensure` has work to
        #: do: minus infinity without an active session, else the next
        #: heartbeat. Hot paths compare it and call :meth:`ensure` only then.
        self.next_beat = -math.inf
        forks.on_fork(self)

    def _after_fork(self) -> None:
        # A forked child's sessions are its own: the parent's (still the
        # parent's to end) are forgotten, and the next write registers one.
        self._lock = threading.Lock()
        self.session = self._idle = None
        self.next_beat = -math.inf

    def names(self) -> set[str]:
        """The file names of this backend's sessions (active and idle)."""
        return {
            session.name
            for session in (self.session, self._idle)
            if session is not None and session.open
        }

    def ensure(self) -> None:
        """Makes a session active (resumed or registered); touches it now
        and then."""
        if time.monotonic() < self.next_beat:
            return
        with self._lock:
            session = self.session
            if session is not None and session.open:
                session.touch()
            else:
                # An idle session, or one that ended on its own (a database
                # session that lost its registration), is resumed or replaced.
                if session is None:
                    session, self._idle = self._idle, None
                if session is None or not session.resume():
                    if session is not None:
                        session.close()
                    session = self._register()
                    self._renewed(session.registered)
                self.session = session
            self.next_beat = time.monotonic() + HEARTBEAT_SECONDS

    def begin_use(self) -> None:
        """A use of the backend begins: its session stays active at least
        until the matching :meth:`end_use`."""
        with self._lock:
            self._uses += 1

    def end_use(self) -> bool:
        """A use ends. Returns whether the session turned idle (it was the
        last use, and a session was active)."""
        with self._lock:
            self._uses = max(0, self._uses - 1)
            session = self.session
            if self._uses or session is None:
                return False
            self.session = None
            self.next_beat = -math.inf
            session.go_idle()
            if session.open:
                self._idle = session
        return True

    def close(self) -> None:
        """Ends the sessions, active and idle. Idempotent."""
        with self._lock:
            ending = [self.session, self._idle]
            self.session = self._idle = None
            self.next_beat = -math.inf
        for session in ending:
            if session is not None:
                session.close()


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    """A live session of another backend object, as a collection found it."""

    #: The id of the process that registered it.
    pid: int
    #: The host it runs on, if the session file names one.
    host: str | None
    #: Unix time it started.
    started: float
    #: Unix time it last wrote (its file's heartbeat).
    active: float
    #: Unix time its store left its last ``with`` block, if it is idle (it
    #: holds collections back until :data:`LINGER_SECONDS` after).
    idle_since: float | None
    #: Active, but no write for :data:`STALE_SECONDS`: its store is in use
    #: (a ``with`` block, or never closed) but does nothing.
    stale: bool
    #: Whether the process is running: None if it is on another host. A
    #: session whose process is gone but whose lock is held was inherited by
    #: a child the process forked.
    running: bool | None


def live_sessions(directory: str, own: Collection[str] = ()) -> list[SessionInfo]:
    """The sessions in ``directory`` that hold collections back, oldest
    first, except those named in ``own``.

    Removes the files of dead sessions (and of abandoned registrations).
    Idle sessions past :data:`LINGER_SECONDS` hold nothing back: left out.
    """
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = []
    now = clock()
    for name in names:
        path = os.path.join(directory, name)
        if name in own:
            continue
        if _NAME.fullmatch(name):
            info = _probe(path, int(name.split("-", 1)[0]), now)
            if info is not None and (
                info.idle_since is None or now - info.idle_since < LINGER_SECONDS
            ):
                found.append(info)
        elif _TEMP.fullmatch(name):
            _remove_stale_temp(path)
    return sorted(found, key=lambda info: (info.started, info.pid))


def _probe(path: str, pid: int, now: float) -> SessionInfo | None:
    """A live session's file, read; None (and removed) if dead."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_info(fd, pid, now)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return None
    finally:
        os.close(fd)


def _read_info(fd: int, pid: int, now: float) -> SessionInfo:
    text = os.pread(fd, _STATE[0] + _STATE[1], 0)
    try:
        started = float(_slice(text, _START).decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        # Unreadable start: assume the oldest possible, so nothing a live
        # session may use is ever collected.
        started = 0.0
    host = _slice(text, _HOST).strip().decode("utf-8", "replace") or None
    state = _slice(text, _STATE).strip()
    idle_since = None
    if state.startswith(_IDLE):
        try:
            idle_since = float(state[len(_IDLE) :].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            idle_since = None  # unreadable: taken as active (holds back)
    try:
        active = max(started, os.fstat(fd).st_mtime)
    except OSError:
        active = started
    here = host is None or host == socket.gethostname()
    return SessionInfo(
        pid=pid,
        host=host,
        started=started,
        active=active,
        idle_since=idle_since,
        stale=idle_since is None and now - active > STALE_SECONDS,
        running=_running(pid) if here else None,
    )


def _slice(text: bytes, span: tuple[int, int]) -> bytes:
    return text[span[0] : span[0] + span[1]]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return True


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
