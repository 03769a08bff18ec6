"""The run journals of a file store: each run's step log, a descriptor each.

A durable run's writer appends its finished calls' lines to the run's step
log (``runs/<run id>.steps``, kept by the index: :mod:`enact.backends.files.index`)
through a descriptor of its own, opened once: one ``write`` per call. The
call's objects go first, through the objects' ``put_many`` (appended to the
process's log).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence

from enact.backends.base import BackendError, Parts, StepWriter
from enact.backends.files.format import write_all
from enact.backends.files.index import FileIndex
from enact.backends.journals import IndexJournals, PutMany

__all__ = ["FileJournals"]


class FileJournals(IndexJournals):
    """Step logs in the index's files, written through open descriptors.

    Args:
        put_many: The objects' ``put_many``.
        index: The file index whose step logs hold the lines.
        fsync: Flush every append to disk.
    """

    def __init__(self, put_many: PutMany, index: FileIndex, fsync: bool) -> None:
        super().__init__(put_many, index)
        self._file_index = index
        self.fsync = fsync
        self._lock = threading.Lock()
        # The states of step_writer's writers, by run: [descriptor], -1 once
        # settle_steps has closed it.
        self._step_logs: dict[str, list[list[int]]] = {}

    def step_writer(self, run_id: str) -> StepWriter:
        """Writes to the run's step log through a descriptor of its own
        (closed by :meth:`settle_steps`): one ``write`` per call."""
        fd, path = self._file_index.open_step_log(run_id)
        # [descriptor]: -1 once settled (descriptor numbers are reused).
        state = [fd]
        with self._lock:
            self._step_logs.setdefault(run_id, []).append(state)
        put_many, fsync, location = self._put_many, self.fsync, self.location

        def write(
            items: Sequence[tuple[str, Parts]], lines: bytes, recovery: bytes
        ) -> None:
            if items:
                put_many(items)  # appended to this process's log
            data = lines + recovery if recovery else lines
            try:
                fd = state[0]
                if fd < 0:  # settled, and writing again
                    fd = self._reopen_step_log(run_id, state)
                written = os.write(fd, data)
                if written < len(data):  # only on a full disk or a signal
                    write_all(fd, [data[written:]])
                if fsync:
                    os.fdatasync(fd)
            except OSError as error:
                raise BackendError(
                    f"cannot append to {path}: {error}", location
                ) from None

        return write

    def _reopen_step_log(self, run_id: str, state: list[int]) -> int:
        fd, _ = self._file_index.open_step_log(run_id)
        with self._lock:
            state[0] = fd
            self._step_logs.setdefault(run_id, []).append(state)
        return fd

    def settle_steps(self, run_id: str, ended: bool = False) -> None:
        """Closes the run's step-log descriptors opened by :meth:`step_writer`."""
        with self._lock:
            states = self._step_logs.pop(run_id, [])
            fds = [state[0] for state in states if state[0] >= 0]
            for state in states:
                state[0] = -1
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        for run_id in list(self._step_logs):
            self.settle_steps(run_id)
