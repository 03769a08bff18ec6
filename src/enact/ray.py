"""Batches on a Ray cluster: :class:`RayExecutor` runs samples as Ray tasks.

``enact.sample(component, inputs, n=1000, executor=RayExecutor())`` runs each
sample as a Ray task in a worker process, which opens the batch's store by
its location (the same path on every node: a shared or local file system,
or a server store by URL) and imports the component by its registered type.
Results and failures come back to the batch; a task whose worker died is
retried by Ray, and the retry resumes the sample from its journal.

Ray is an optional dependency (``pip install 'enact[ray]'``): ``import enact``
never imports it; this module imports it when an executor first runs.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from enact._batches.executors import Dispatcher, Job, Report, SampleExecutor
from enact._batches.samples import run_sample_at
from enact._batches.spec import StoreAddress

__all__ = ["RayExecutor"]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError("RayExecutor needs Ray: pip install 'enact[ray]'") from None
    return ray


class RayExecutor(SampleExecutor):
    """Runs a batch's samples as tasks on a Ray cluster.

    Args:
        address: The cluster to join (``"auto"``, ``"ray://host:10001"``,
            ``"127.0.0.1:6379"``); None starts a local cluster, or uses the
            one ``ray.init`` already joined in this process.
        num_workers: The most samples running at once (default: the
            cluster's CPUs). ``concurrency`` of :func:`enact.sample` wins.
        runtime_env: Ray's runtime environment for the tasks (packages,
            working directory, environment variables). Whatever it says,
            each task also adds the driver's import path entries that exist
            on its node to its own, so on one machine workers import the
            same modules as the driver.
        init_options: More keyword arguments for ``ray.init``.
    """

    remote = True

    def __init__(
        self,
        address: str | None = None,
        num_workers: int | None = None,
        *,
        runtime_env: dict[str, Any] | None = None,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        if num_workers is not None and (
            type(num_workers) is not int or num_workers < 1
        ):
            raise ValueError(f"num_workers must be at least 1, got {num_workers!r}.")
        self.address = address
        self.num_workers = num_workers
        self.runtime_env = runtime_env
        self.init_options = dict(init_options or {})
        self._remote: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"RayExecutor(address={self.address!r}, num_workers={self.num_workers!r})"
        )

    def _task(self) -> Any:
        """The Ray remote function running one sample (Ray joined first)."""
        with self._lock:
            if self._remote is None:
                ray = _ray()
                if not ray.is_initialized():
                    # "local": a cluster of its own, never a stale address.
                    ray.init(address=self.address or "local", **self.init_options)
                options: dict[str, Any] = {"max_retries": 3}
                if self.runtime_env is not None:
                    options["runtime_env"] = self.runtime_env
                self._remote = ray.remote(**options)(_sample_task)
            return self._remote

    def workers(self) -> int:
        """How many samples run at once (joining the cluster if needed)."""
        self._task()
        if self.num_workers is not None:
            return self.num_workers
        return max(1, int(_ray().cluster_resources().get("CPU", 1)))

    def dispatcher(self, job: Job) -> Dispatcher:
        """A dispatcher running ``job``'s samples as Ray tasks."""
        return _RayDispatcher(self, job)


def _sample_task(
    paths: list[str],
    address: StoreAddress,
    spec_digest: str,
    modules: list[str],
    index: int,
) -> str:
    """One sample, in a Ray worker: its status."""
    for path in paths:
        if path not in sys.path and os.path.isdir(path):
            sys.path.append(path)
    return run_sample_at(address, spec_digest, modules, index)[1]


class _RayDispatcher(Dispatcher):
    def __init__(self, executor: RayExecutor, job: Job) -> None:
        self.executor = executor
        self.job = job
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[Any, int] = {}

    def run(self, indices: list[int], report: Report) -> None:
        ray = _ray()
        task = self.executor._task()
        limit = self.job.concurrency or self.executor.workers()
        paths = [path for path in sys.path if path]
        pending = list(reversed(indices))
        running = self._running
        while pending or running:
            with self._lock:
                while pending and len(running) < limit and not self._stopped.is_set():
                    index = pending.pop()
                    arguments = self.job.remote_arguments(index)
                    running[task.remote(paths, *arguments)] = index
                if not running:
                    return
                waiting = list(running)
            done, _ = ray.wait(waiting, num_returns=1)
            for ref in done:
                with self._lock:
                    index = running.pop(ref)
                try:
                    report(index, ray.get(ref))
                except ray.exceptions.TaskCancelledError:
                    report(index, KeyboardInterrupt())
                except ray.exceptions.RayTaskError as error:
                    cause = error.cause
                    report(index, cause if isinstance(cause, BaseException) else error)
                except ray.exceptions.RayError as error:
                    report(index, error)
            if self._stopped.is_set():
                pending.clear()

    def stop(self) -> None:
        ray = _ray()
        with self._lock:
            self._stopped.set()
            refs = list(self._running)
        for ref in refs:
            # Raises KeyboardInterrupt in the task: its run ends crashed.
            ray.cancel(ref, force=False)
