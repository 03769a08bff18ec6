"""Work the UI starts in the background: new runs, forks, resumed runs.

A run can take long, so a request never waits for one to end: it starts a
job in a thread (in the server's store) and redirects to the run page, which
shows the run as running until the job is done.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from enact.contexts import with_new_contexts
from enact.references import Store

__all__ = ["Job", "Jobs"]


@dataclasses.dataclass
class Job:
    """One piece of background work.

    Attributes:
        label: What it does, for the page (``resuming after an answer``).
        run_id: The run it works on, if known when it starts.
        thread: The thread running it.
        result: What the work returned, once done.
        error: The exception's message, if it failed.
    """

    label: str
    run_id: str | None
    thread: threading.Thread | None = None
    result: Any = None
    error: str | None = None
    done: threading.Event = dataclasses.field(default_factory=threading.Event)


class Jobs:
    """The background jobs of one server, by run id."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._jobs: list[Job] = []

    def start(self, label: str, run_id: str | None, work: Callable[[], Any]) -> Job:
        """Starts ``work`` in a thread, in the server's store."""
        job = Job(label, run_id)
        store = self._store

        @with_new_contexts
        def target() -> None:
            try:
                with store:
                    job.result = work()
            except BaseException as error:  # shown on the run page
                job.error = f"{type(error).__name__}: {error}"
            finally:
                job.done.set()

        job.thread = threading.Thread(
            target=target, name=f"enact-ui: {label}", daemon=True
        )
        with self._lock:
            self._jobs = [
                old
                for old in self._jobs
                if not old.done.is_set() or old.error is not None
            ][-100:]
            self._jobs.append(job)
        job.thread.start()
        return job

    def for_run(self, run_id: str) -> list[Job]:
        """The jobs started for a run, oldest first (running and failed ones)."""
        with self._lock:
            return [job for job in self._jobs if job.run_id == run_id]

    def running(self, run_id: str) -> Job | None:
        """The job working on a run now, if any."""
        for job in self.for_run(run_id):
            if not job.done.is_set():
                return job
        return None

    def join(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for every job; whether all ended."""
        deadline = time.monotonic() + timeout
        with self._lock:
            jobs = list(self._jobs)
        return all(job.done.wait(max(0.0, deadline - time.monotonic())) for job in jobs)


def wait_for_new_run(
    job: Job,
    known: Callable[[], set[str]],
    before: set[str],
    timeout: float = 10.0,
) -> str | None:
    """The id of the run a job started: its result's, or a new one in the index.

    Args:
        job: The job (its result, once done, is a :class:`enact.runs.Run`).
        known: Lists the run ids the job's run would be among.
        before: What ``known`` listed before the job started.
        timeout: How long to wait for either.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.done.wait(0.05):
            run_id = getattr(job.result, "id", None)
            return run_id if isinstance(run_id, str) else None
        try:
            new = known() - before
        except Exception:
            new = set()
        if len(new) == 1:
            return new.pop()
    return None
