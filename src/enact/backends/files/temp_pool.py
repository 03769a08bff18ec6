"""Empty files made ahead of need, so a hot path never waits to create one.

Creating a file can cost hundreds of microseconds where opening an existing
one costs ten (an overlay or network file system, a journal busy with other
writers), and a batch of thousands of short runs creates two files per run:
its record (written to ``tmp/`` and renamed into place) and its step log. A
:class:`TempPool` keeps a few dozen empty files in the store's ``tmp/``, made
by a background thread, and hands one out instead: opening it and renaming
(or linking) it into place is all the hot path does.

The thread starts only once a store has taken :data:`START_AFTER` files, so
a store opened for one run never has one. A forked child never takes its
parent's files (it makes its own). A pooled file older than
:data:`MAX_AGE` seconds is replaced, never handed out: a file's age is what
a garbage collection reads to tell an abandoned temporary file from one
being written. Nothing depends on the pool: a take from an empty pool, or of
a file something removed meanwhile, falls back to creating a file.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable

from enact.backends import forks

__all__ = ["MAX_AGE", "START_AFTER", "TempPool"]

#: Takes before the background thread starts.
START_AFTER = 16
#: Seconds a pooled file may wait to be handed out.
MAX_AGE = 1.0
# The thread refills to HIGH files whenever fewer than LOW are left.
_LOW = 32
_HIGH = 96
# Seconds between the idle thread's looks at whether its pool is still there.
_GONE_CHECK = 5.0


class TempPool:
    """Empty files in a directory, made ahead by a background thread.

    Args:
        new_path: Returns a new unused path in the directory.
    """

    def __init__(self, new_path: Callable[[], str]) -> None:
        self._new_path = new_path
        self._lock = threading.Lock()
        # (path, when it was made): oldest first.
        self._ready: collections.deque[tuple[str, float]] = collections.deque()
        # Files too old to hand out, for the thread to remove.
        self._stale: collections.deque[tuple[str, float]] = collections.deque()
        self._takes = 0
        self._wanted = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        # Removes what is left if the pool is dropped without close().
        self._finalizer = weakref.finalize(self, _remove_all, self._ready, self._stale)
        forks.on_fork(self)

    def take(self) -> str | None:
        """An empty file of the pool (the caller now owns it), or None."""
        now = time.monotonic()
        with self._lock:
            self._takes += 1
            starting = self._thread is None and self._takes >= START_AFTER
            if starting and not self._closed.is_set():
                self._start()
            ready = self._ready
            while ready and now - ready[0][1] > MAX_AGE:
                self._stale.append(ready.popleft())  # the thread removes it
                self._wanted.set()
            if not ready:
                if self._thread is not None:
                    self._wanted.set()
                return None
            path = ready.pop()[0]  # the newest
            if len(ready) < _LOW:
                self._wanted.set()
            return path

    def _after_fork(self) -> None:
        """In a forked child: forgets the parent's files (the parent hands
        them out, and two writers of one file would mix their bytes) and its
        thread (not running here). The child makes its own when it needs."""
        self._lock = threading.Lock()  # the parent's may have been held
        self._ready.clear()
        self._stale.clear()
        self._takes = 0
        self._wanted = threading.Event()
        self._thread = None

    def discard(self, path: str) -> None:
        """Removes a taken file that was not renamed into place (linked, or
        left by a failed write)."""
        with contextlib.suppress(OSError):
            os.unlink(path)

    def close(self) -> None:
        """Stops the thread and removes the files not handed out."""
        self._closed.set()
        self._wanted.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock:
            _remove_all(self._ready, self._stale)

    def _start(self) -> None:
        # The thread holds the pool weakly: a store dropped without close()
        # is collected, its files removed, and the thread ends.
        self._thread = threading.Thread(
            target=_fill_while_used,
            args=(weakref.ref(self), self._wanted, self._closed),
            name="enact-temp-files",
            daemon=True,
        )
        self._thread.start()

    def _fill(self) -> None:
        """Removes stale files and makes new ones, up to the high mark."""
        with self._lock:
            now = time.monotonic()
            ready = self._ready
            while ready and now - ready[0][1] > MAX_AGE:
                self._stale.append(ready.popleft())
            stale = list(self._stale)
            self._stale.clear()
            missing = _HIGH - len(ready)
        for path, _ in stale:
            with contextlib.suppress(OSError):
                os.unlink(path)
        for _ in range(missing):
            path = self._new_path()
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except OSError:
                return  # a full disk or a removed directory: the hot path will say
            with self._lock:
                if self._closed.is_set():
                    self.discard(path)
                    return
                self._ready.append((path, time.monotonic()))


def _fill_while_used(
    pool: weakref.ref[TempPool], wanted: threading.Event, closed: threading.Event
) -> None:
    """The pool's thread: fills it when wanted, until it is closed or gone."""
    while not closed.is_set():
        wanted.wait(_GONE_CHECK)
        held = pool()
        if held is None or closed.is_set():
            return
        if wanted.is_set():
            wanted.clear()
            held._fill()
        del held  # not held while waiting


def _remove_all(*files: collections.deque[tuple[str, float]]) -> None:
    for each in files:
        while each:
            path = each.popleft()[0]
            with contextlib.suppress(OSError):
                os.unlink(path)
