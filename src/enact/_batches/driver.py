"""Driving a batch: a thread that hands the samples to a dispatcher and counts
what comes back.

The counts are this process's view of the drive, for progress bars: every
status a sample ended with, the samples that could not run (an error outside
the run, such as a worker that died), and when the drive started. What is
durable is in the run records; the counts are only a fast mirror of them.
"""

from __future__ import annotations

import collections
import threading
import time

from enact._batches.executors import Dispatcher
from enact.contexts import with_new_contexts

__all__ = ["Driver"]


class Driver:
    """Runs samples ``indices`` on a dispatcher in a thread of its own.

    The thread is not a daemon: a program that started a batch and did not
    wait for it still finishes it before it exits.
    """

    def __init__(self, dispatcher: Dispatcher, indices: list[int], total: int) -> None:
        self.dispatcher = dispatcher
        self.indices = indices
        #: How many samples the batch has in all.
        self.total = total
        #: Statuses the samples of this drive ended with (``"error"``: one
        #: that could not run; ``"skipped"``: one another process owns).
        self.counts: collections.Counter[str] = collections.Counter()
        #: Why samples could not run, by index.
        self.errors: dict[int, str] = {}
        self.started = time.monotonic()
        self.ended: float | None = None
        #: The exception that stopped the dispatcher itself, if any.
        self.failure: BaseException | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=with_new_contexts(self._drive), name="enact-batch", daemon=False
        )

    def start(self) -> None:
        """Starts the drive."""
        self._thread.start()

    def _drive(self) -> None:
        try:
            self.dispatcher.run(self.indices, self._report)
        except BaseException as failure:
            self.failure = failure
        finally:
            self.ended = time.monotonic()
            self._done.set()

    def _report(self, index: int, outcome: str | BaseException) -> None:
        with self._lock:
            if isinstance(outcome, BaseException):
                if isinstance(outcome, KeyboardInterrupt):
                    self.counts["crashed"] += 1  # interrupted: resumable
                    return
                self.counts["error"] += 1
                self.errors[index] = f"{type(outcome).__qualname__}: {outcome}"
            else:
                self.counts[outcome] += 1

    @property
    def done(self) -> bool:
        """Whether the drive has ended."""
        return self._done.is_set()

    def ended_count(self) -> int:
        """How many samples of this drive have ended, one way or another."""
        with self._lock:
            return sum(self.counts.values())

    def snapshot(self) -> dict[str, int]:
        """The counts now (a copy)."""
        with self._lock:
            return dict(self.counts)

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the drive to end; False if ``timeout`` passed first."""
        return self._done.wait(timeout)

    def stop(self) -> None:
        """Stops the drive: no new sample starts, running ones end crashed."""
        self.dispatcher.stop()
