"""Where a batch's samples run: asyncio tasks, threads, processes, any
:class:`concurrent.futures.Executor`, or an executor of another system (Ray).

An executor is turned into a :class:`Dispatcher`, which runs a list of
samples, reports each :data:`~enact._batches.samples.Outcome` as it comes, and
can be stopped from another thread: samples not started are dropped, running
ones are interrupted and end crashed (resumable). Workers in other processes
open the store by its address and read the batch's spec by digest, so all a
worker is sent is four small picklable values.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from enact._batches.samples import run_sample, run_sample_async, run_sample_at
from enact._batches.spec import BatchSpec, StoreAddress
from enact.references import Store

__all__ = [
    "DEFAULT_CONCURRENCY",
    "Dispatcher",
    "Job",
    "Report",
    "SampleExecutor",
    "dispatcher_for",
    "needs_address",
]

#: Samples in flight at once on the asyncio executor unless told otherwise.
DEFAULT_CONCURRENCY = 100

#: Reports a sample's outcome, or the exception that kept it from running.
Report = Callable[[int, "str | BaseException"], None]


class Job:
    """What a dispatcher runs: the batch, its store and how workers reach it.

    Attributes:
        store: The batch's store (in this process).
        spec: The batch's spec.
        spec_digest: Its digest (workers read it by digest).
        address: How worker processes open the store (None: they cannot).
        concurrency: The most samples in flight at once (None: the
            executor's own limit).
    """

    def __init__(
        self,
        store: Store,
        spec: BatchSpec,
        spec_digest: str,
        address: StoreAddress | None,
        concurrency: int | None,
    ) -> None:
        self.store = store
        self.spec = spec
        self.spec_digest = spec_digest
        self.address = address
        self.concurrency = concurrency

    def remote_arguments(self, index: int) -> tuple[Any, ...]:
        """The arguments of :func:`run_sample_at` for sample ``index``."""
        return (self.address, self.spec_digest, self.spec.modules, index)


class Dispatcher(abc.ABC):
    """Runs samples of one batch somewhere, reporting each as it ends."""

    @abc.abstractmethod
    def run(self, indices: list[int], report: Report) -> None:
        """Runs the samples ``indices``, calling ``report`` once for each as
        it ends (from any thread), and returns when all have ended or the
        dispatcher was stopped."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Drops the samples not started and interrupts the running ones
        (they end crashed). Safe to call from any thread, more than once."""


class SampleExecutor(abc.ABC):
    """An executor of another system (such as Ray) that can run samples.

    Subclass it to run batches on a cluster scheduler: ``dispatcher`` gets
    the job and returns a :class:`Dispatcher` that runs
    ``enact._batches.samples.run_sample_at(*job.remote_arguments(index))`` in
    the workers.
    """

    #: Whether workers run in other processes (and need the store's address).
    remote: bool = True

    @abc.abstractmethod
    def dispatcher(self, job: Job) -> Dispatcher:
        """A dispatcher running ``job``'s samples on this executor."""


def needs_address(executor: Any) -> bool:
    """Whether an executor runs samples in other processes (which open the
    store by its address)."""
    if executor == "processes":
        return True
    if isinstance(executor, SampleExecutor):
        return executor.remote
    return isinstance(executor, concurrent.futures.Executor) and not isinstance(
        executor, concurrent.futures.ThreadPoolExecutor
    )


def dispatcher_for(executor: Any, job: Job, is_async: bool) -> Dispatcher:
    """The dispatcher for an executor given to :func:`enact.sample`.

    Raises:
        ValueError: for an unknown executor name.
        TypeError: for something that is not an executor.
    """
    if executor is None:
        executor = "asyncio" if is_async else "threads"
    if executor == "asyncio":
        return AsyncioDispatcher(job)
    if executor == "threads":
        return ThreadsDispatcher(job)
    if executor == "processes":
        workers = job.concurrency or os.cpu_count() or 1

        def make_pool() -> concurrent.futures.Executor:
            return concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context(_START_METHOD)
            )

        return FuturesDispatcher(job, make_pool(), owned=True, remake=make_pool)
    if isinstance(executor, str):
        raise ValueError(
            f"Unknown executor {executor!r}: use 'asyncio', 'threads', "
            "'processes', a concurrent.futures.Executor or "
            "enact.ray.RayExecutor()."
        )
    if isinstance(executor, SampleExecutor):
        return executor.dispatcher(job)
    if isinstance(executor, concurrent.futures.ThreadPoolExecutor):
        return FuturesDispatcher(job, executor, owned=False, local=True)
    if isinstance(executor, concurrent.futures.Executor):
        return FuturesDispatcher(job, executor, owned=False)
    raise TypeError(
        f"An executor is 'asyncio', 'threads', 'processes', a "
        f"concurrent.futures.Executor or enact.ray.RayExecutor(), got "
        f"{type(executor).__qualname__}."
    )


# Fork would copy the driver's threads' locks mid-use, and a fork server
# keeps the environment of its first use: fresh interpreters import the
# component by its module, with the environment of now.
_START_METHOD = "spawn"


class AsyncioDispatcher(Dispatcher):
    """Samples as tasks of one event loop (in the dispatching thread):
    thousands of async samples at once. A sync component runs in the loop's
    worker threads."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    def run(self, indices: list[int], report: Report) -> None:
        asyncio.run(self._main(indices, report))

    async def _main(self, indices: list[int], report: Report) -> None:
        job = self.job
        pending = iter(indices)

        async def worker() -> None:
            for index in pending:  # one shared iterator: the next sample
                if self._stopped.is_set():
                    return
                try:
                    _, status = await run_sample_async(job.store, job.spec, index)
                except Exception as error:
                    report(index, error)
                else:
                    report(index, status)

        limit = job.concurrency or DEFAULT_CONCURRENCY
        with self._lock:
            self._loop = asyncio.get_running_loop()
            if self._stopped.is_set():
                return
            self._tasks = [
                asyncio.create_task(worker()) for _ in range(min(limit, len(indices)))
            ]
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            loop, tasks = self._loop, list(self._tasks)
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(lambda: [task.cancel() for task in tasks])
            except RuntimeError:  # the loop closed meanwhile
                pass


class ThreadsDispatcher(Dispatcher):
    """Samples on a pool of threads (sync components; an async one gets an
    event loop per sample)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._running: set[int] = set()  # thread ids running a sample
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def _one(self, index: int) -> str:
        ident = threading.get_ident()
        with self._lock:
            if self._stopped.is_set():
                return "skipped"
            self._running.add(ident)
        try:
            return run_sample(self.job.store, self.job.spec, index)[1]
        finally:
            with self._lock:
                self._running.discard(ident)

    def run(self, indices: list[int], report: Report) -> None:
        workers = self.job.concurrency or min(32, (os.cpu_count() or 1) + 4)
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            _window(
                lambda index: pool.submit(self._one, index),
                collections.deque(indices),
                workers,
                report,
                self._stopped,
            )

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            for ident in self._running:
                # A running sample stops at its next line of Python, as the
                # main thread does at Ctrl-C, and its run ends crashed.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt)
                )


class FuturesDispatcher(Dispatcher):
    """Samples submitted to a :class:`concurrent.futures.Executor`: a process
    pool (workers open the store by its address) or a thread pool.

    A process pool this dispatcher made itself is made again when a worker
    dies (killed, out of memory), and the samples it had are run again: a
    crashed one resumes from its journal, so no finished call is lost or
    repeated. After :data:`MAX_RESTARTS` such deaths the rest are reported
    as errors.
    """

    def __init__(
        self,
        job: Job,
        executor: concurrent.futures.Executor,
        *,
        owned: bool,
        local: bool = False,
        remake: Callable[[], concurrent.futures.Executor] | None = None,
    ) -> None:
        self.job = job
        self.executor = executor
        self.owned = owned
        self.local = local
        self.remake = remake
        self._stopped = threading.Event()

    def _submit(self, index: int) -> concurrent.futures.Future[Any]:
        if self.local:  # threads of this process share the store object
            job = self.job
            return self.executor.submit(
                lambda: run_sample(job.store, job.spec, index)[1]
            )
        return self.executor.submit(_remote_status, *self.job.remote_arguments(index))

    def run(self, indices: list[int], report: Report) -> None:
        limit = self.job.concurrency or getattr(self.executor, "_max_workers", 0) or 8
        pending = collections.deque(indices)
        restarts = 0
        try:
            while pending and not self._stopped.is_set():
                lost: list[int] = []
                can_restart = self.remake is not None and restarts < MAX_RESTARTS

                def noted(
                    index: int,
                    outcome: str | BaseException,
                    lost: list[int] = lost,
                    can_restart: bool = can_restart,
                ) -> None:
                    broken = isinstance(outcome, concurrent.futures.BrokenExecutor)
                    if broken and can_restart:
                        lost.append(index)
                    else:
                        report(index, outcome)

                broken = _window(self._submit, pending, limit, noted, self._stopped)
                if not (broken or lost):
                    continue
                pending.extendleft(reversed(lost))
                if not can_restart or self.remake is None:
                    while pending:
                        report(pending.popleft(), _broken(self.executor))
                    return
                self.executor.shutdown(wait=True, cancel_futures=True)
                self.executor = self.remake()
                restarts += 1
        finally:
            if self.owned:
                self.executor.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        self._stopped.set()
        if not self.owned:
            return
        processes = getattr(self.executor, "_processes", None) or {}
        for process in list(processes.values()):
            # As Ctrl-C would: each worker's running sample ends crashed.
            if process.pid is not None:
                try:
                    os.kill(process.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass


#: How many times a drive makes its process pool again after a worker died.
MAX_RESTARTS = 3


def _broken(executor: Any) -> BaseException:
    return concurrent.futures.BrokenExecutor(
        f"the workers of {type(executor).__name__} died"
    )


def _remote_status(
    address: StoreAddress, spec_digest: str, modules: list[str], index: int
) -> str:
    """Runs a sample in a worker process, returning its status."""
    return run_sample_at(address, spec_digest, modules, index)[1]


def _window(
    submit: Callable[[int], concurrent.futures.Future[Any]],
    pending: collections.deque[int],
    limit: int,
    report: Report,
    stopped: threading.Event,
) -> bool:
    """Keeps at most ``limit`` samples of ``pending`` submitted at once,
    reporting each as its future ends, until all have ended or ``stopped`` is
    set.

    Returns:
        True if the executor broke (a submit was refused): the samples not
        submitted are left in ``pending``.
    """
    running: dict[concurrent.futures.Future[Any], int] = {}
    broken = False

    def top_up() -> None:
        nonlocal broken
        while len(running) < limit and pending and not (broken or stopped.is_set()):
            index = pending.popleft()
            try:
                running[submit(index)] = index
            except concurrent.futures.BrokenExecutor:
                pending.appendleft(index)
                broken = True

    top_up()
    while running:
        done, _ = concurrent.futures.wait(
            running, return_when=concurrent.futures.FIRST_COMPLETED
        )
        for future in done:
            index = running.pop(future)
            if future.cancelled():
                continue
            error = future.exception()
            report(index, future.result() if error is None else error)
        if stopped.is_set():
            for future in running:
                future.cancel()
        top_up()
    return broken
