"""The :class:`Batch` handle: one batch of one store, its samples and their
outcomes, read from the run index; waiting for, stopping and resuming it."""

from __future__ import annotations

import collections
import dataclasses
import enum
import time
from typing import Any

from enact._batches.driver import Driver
from enact._batches.executors import Job, dispatcher_for, needs_address
from enact._batches.progress import ProgressBar
from enact._batches.samples import import_modules
from enact._batches.shipping import NotShippable
from enact._batches.spec import NAME_PREFIX, BatchSpec, store_address
from enact._batches.summary import Report, report
from enact._runs.access import current_store, within
from enact._runs.damage import read_runs
from enact._runs.errors import RunError, RunNotFound
from enact._runs.execution import is_async_component
from enact._runs.handle import Run
from enact._runs.records import RunInfo, RunStatus
from enact.references import Ref, Store

__all__ = ["Batch", "BatchInfo", "BatchNotFound", "BatchStatus"]

#: The count of samples no run has been started for yet.
NOT_STARTED = "not started"
# The order counts are given in.
_ORDER = (*(status.value for status in RunStatus), NOT_STARTED)


class BatchNotFound(RunError):
    """No batch has this id or name in the store.

    Attributes:
        run_id: The id or name that was asked for.
    """


class BatchStatus(enum.StrEnum):
    """Where a batch is, from the statuses of its samples."""

    #: A sample is running (or this process is still driving the batch).
    RUNNING = "running"
    #: Nothing runs, and a sample waits for input.
    WAITING = "waiting"
    #: Every sample finished.
    FINISHED = "finished"
    #: Every sample ended, and at least one failed.
    FAILED = "failed"
    #: Nothing runs, and samples are crashed or not started: resume it.
    INCOMPLETE = "incomplete"


@dataclasses.dataclass(frozen=True)
class BatchInfo:
    """What the index knows about a batch, read now.

    Attributes:
        id: The batch id.
        name: Its name, if any.
        component: The component's qualified name.
        size: How many samples it has.
        counts: How many samples are in each run status, plus
            ``"not started"``.
        status: The batch's status.
        started: When the batch was made (epoch seconds).
        ended: When its last sample ended, once all have; else None.
        tags: Its tags.
        parent: For a fork batch, the run its samples branch from.
    """

    id: str
    name: str | None
    component: str
    size: int
    counts: dict[str, int]
    status: BatchStatus
    started: float
    ended: float | None
    tags: tuple[str, ...]
    parent: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (for command-line and web output)."""
        return {
            "id": self.id,
            "name": self.name,
            "component": self.component,
            "size": self.size,
            "counts": dict(self.counts),
            "status": self.status.value,
            "started": self.started,
            "ended": self.ended,
            "tags": list(self.tags),
            "parent": self.parent,
        }


def summarize(
    spec: BatchSpec, samples: dict[int, RunInfo], driving: bool = False
) -> BatchInfo:
    """The :class:`BatchInfo` of a batch from its samples' records."""
    counts: collections.Counter[str] = collections.Counter(
        info.status.value for info in samples.values()
    )
    counts[NOT_STARTED] = spec.size - len(samples)
    ended: float | None = None
    if counts[RunStatus.FINISHED] + counts[RunStatus.FAILED] == spec.size:
        status = (
            BatchStatus.FAILED if counts[RunStatus.FAILED] else BatchStatus.FINISHED
        )
        ended = max((info.ended or 0.0 for info in samples.values()), default=None)
    elif driving or counts[RunStatus.RUNNING]:
        status = BatchStatus.RUNNING
    elif counts[RunStatus.CRASHED] or counts[NOT_STARTED]:
        status = BatchStatus.INCOMPLETE
    else:
        status = BatchStatus.WAITING
    return BatchInfo(
        id=spec.id,
        name=spec.name,
        component=spec.component_name,
        size=spec.size,
        counts={key: counts[key] for key in _ORDER if counts[key]},
        status=status,
        started=spec.created,
        ended=ended,
        tags=tuple(spec.tags),
        parent=spec.parent,
    )


def batch_specs(store: Store) -> dict[str, tuple[str, BatchSpec]]:
    """Every batch of ``store``: id -> (spec digest, spec)."""
    found: dict[str, tuple[str, BatchSpec]] = {}
    for name, digest in store.index.names().items():
        if name.startswith(NAME_PREFIX):
            spec: Any = within(store, Ref(digest).checkout)
            if isinstance(spec, BatchSpec):
                found[spec.id] = (digest, spec)
    return found


def sample_records(store: Store) -> dict[str, dict[int, RunInfo]]:
    """The run records of every sample in ``store``, by batch and index."""
    found: dict[str, dict[int, RunInfo]] = collections.defaultdict(dict)
    for info in read_runs(store.index)[0]:
        if info.batch is not None and info.sample is not None:
            found[info.batch][info.sample] = info
    return found


class Batch:
    """A handle on one batch of samples in a store.

    Like a :class:`~enact.runs.Run`, it keeps its store, and every method
    reads the index afresh (other processes may be running its samples).
    The handle :func:`~enact.sample` returns also drives the batch in a
    thread of this process until :meth:`wait` sees it end.

    Args:
        batch_id: The batch's id.
        store: Its store; the current store if None.

    Raises:
        NoActiveContext: if ``store`` is None and no store is current.
        BatchNotFound: if the store has no such batch.
    """

    def __init__(self, batch_id: str, store: Store | None = None) -> None:
        self.id = batch_id
        self._store = current_store() if store is None else store
        digest = self._store.index.names().get(NAME_PREFIX + batch_id)
        if digest is None:
            raise BatchNotFound(
                f"No batch {batch_id!r} in {self._store.location}.", batch_id
            )
        spec: Any = within(self._store, Ref(digest).checkout)
        if not isinstance(spec, BatchSpec):
            raise BatchNotFound(
                f"{NAME_PREFIX}{batch_id} in {self._store.location} names no batch.",
                batch_id,
            )
        self._spec: BatchSpec = spec
        self._digest = digest
        self._driver: Driver | None = None
        # What resume() uses by default: the last drive's executor and limit.
        self._executor: Any = None
        self._concurrency: int | None = None

    @property
    def store(self) -> Store:
        """The store the batch is in."""
        return self._store

    @property
    def spec(self) -> BatchSpec:
        """The batch's immutable spec (component, inputs, sizes)."""
        return self._spec

    @property
    def name(self) -> str | None:
        """The batch's name, if any."""
        return self._spec.name

    @property
    def size(self) -> int:
        """How many samples the batch has."""
        return self._spec.size

    def __repr__(self) -> str:
        return f"Batch({self.id!r}, store={self._store.location!r})"

    def __len__(self) -> int:
        return self._spec.size

    def _samples(self) -> dict[int, RunInfo]:
        found: dict[int, RunInfo] = {}
        index = self._store.index
        if self._spec.size <= 64:  # a few: read them one by one
            for i in range(self._spec.size):
                data = index.get_run(self._spec.run_id(i))
                if data is not None:
                    found[i] = RunInfo.from_bytes(data, index.location)
            return found
        return sample_records(self._store).get(self.id, {})

    @property
    def driving(self) -> bool:
        """Whether this handle is driving the batch in this process now."""
        return self._driver is not None and not self._driver.done

    def info(self) -> BatchInfo:
        """What the index knows about the batch now."""
        return summarize(self._spec, self._samples(), self.driving)

    @property
    def status(self) -> BatchStatus:
        """The batch's status now."""
        return self.info().status

    def counts(self) -> dict[str, int]:
        """How many samples are in each status now (plus ``"not started"``)."""
        return self.info().counts

    def runs(self) -> list[Run]:
        """The runs of the samples started so far, in sample order."""
        samples = self._samples()
        return [Run(samples[i].id, self._store) for i in sorted(samples)]

    def run(self, index: int) -> Run:
        """The run of sample ``index``.

        Raises:
            RunNotFound: if that sample has not started.
        """
        run_id = self._spec.run_id(index)
        if self._store.index.get_run(run_id) is None:
            raise RunNotFound(
                f"Sample {index} of batch {self.id} has not started.", run_id
            )
        return Run(run_id, self._store)

    def outputs(self) -> list[Any]:
        """The outputs of the finished samples, in sample order."""
        samples = self._samples()
        store = self._store
        import_modules(self._spec.modules)

        def read() -> list[Any]:
            outputs = []
            for i in sorted(samples):
                info = samples[i]
                if info.stored_status is RunStatus.FINISHED and info.invocation:
                    outputs.append(info.invocation.checkout().get_output())
            return outputs

        return within(store, read)

    def wait(self, timeout: float | None = None, *, progress: bool = False) -> Batch:
        """Waits until the batch's drive in this process ends (or, for a batch
        driven elsewhere, until no sample runs).

        Ctrl-C (KeyboardInterrupt) while waiting stops the batch cleanly: no
        new sample starts, running ones end crashed, and :meth:`resume`
        continues it later. The KeyboardInterrupt is raised again.

        Args:
            timeout: Seconds to wait at most (None: until it ends).
            progress: Show a progress bar on the terminal meanwhile.

        Returns:
            This handle.

        Raises:
            TimeoutError: if ``timeout`` passed first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = None
        if progress:
            bar = ProgressBar(self.size, self._progress_counts)
        try:
            self._wait(deadline, bar)
        except KeyboardInterrupt:
            self.stop()
            raise
        finally:
            if bar is not None:
                bar.close()
        return self

    def _wait(self, deadline: float | None, bar: Any) -> None:
        driver = self._driver
        step = 0.1 if bar is not None else None
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"Batch {self.id} is still running.")
            if driver is not None:
                wait_for = left if step is None else min(step, left or step)
                if driver.wait(wait_for):
                    break
            else:
                if self.status is not BatchStatus.RUNNING:
                    break
                time.sleep(0.2 if left is None else min(0.2, left))
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.update()
        if driver is not None and driver.failure is not None:
            raise driver.failure

    def stop(self) -> None:
        """Stops this process's drive of the batch: no new sample starts,
        running ones end crashed (resumable); waits until they have."""
        driver = self._driver
        if driver is not None:
            driver.stop()
            driver.wait()

    def report(self, slowest: int = 5) -> Report:
        """What the samples came to: the distribution of the finished ones'
        outputs (a histogram for numbers, else counts per distinct output),
        the failures with their errors, and the ``slowest`` slowest samples."""
        return report(self, slowest)

    def errors(self) -> dict[int, str]:
        """Why samples could not run in this process's last drive (an error
        outside the run itself, such as a worker process that died), by
        index. A sample whose component raised is a failed run instead."""
        return {} if self._driver is None else dict(self._driver.errors)

    def resume(
        self,
        *,
        executor: Any = None,
        concurrency: int | None = None,
    ) -> Batch:
        """Runs the samples that have not finished, in this process's drive:
        crashed ones resume from their journals, those never started start,
        and finished, failed or waiting ones are left as they are. Returns at
        once; :meth:`wait` waits for the drive.

        Args:
            executor: Where to run them (see :func:`~enact.sample`); by
                default, the executor the batch was made with in this
                process, else ``"asyncio"`` or ``"threads"``.
            concurrency: The most samples at once.

        Raises:
            RunError: if this handle is driving the batch already.
        """
        if self.driving:
            raise RunError(f"Batch {self.id} is running in this process.", self.id)
        if executor is not None:
            self._executor = executor
        if concurrency is not None:
            self._concurrency = concurrency
        self.start(self.unfinished())
        return self

    def start(self, indices: list[int]) -> None:
        """Starts a drive of the samples ``indices`` in this process (what
        :func:`~enact.sample` and :meth:`resume` do)."""
        spec = self._spec
        executor = self._executor
        address = store_address(self._store)
        remote = needs_address(executor)
        if remote and address is None:
            raise NotShippable(
                f"store {self._store.location}",
                "worker processes cannot open it (use a file or SQLite store)",
            )
        job = Job(self._store, spec, self._digest, address, self._concurrency)
        dispatcher = dispatcher_for(executor, job, self._is_async())
        self._done_before = self._counts_before(indices)
        driver = Driver(dispatcher, indices, spec.size)
        self._driver = driver
        driver.start()

    def _load_modules(self) -> None:
        """Imports the modules of the component and inputs (to read them)."""
        import_modules(self._spec.modules)

    def _is_async(self) -> bool:
        self._load_modules()
        component = within(self._store, self._spec.component)
        return is_async_component(component)

    def _counts_before(self, indices: list[int]) -> dict[str, int]:
        """The statuses of the samples this drive leaves alone."""
        if len(indices) == self._spec.size:
            return {}
        return {
            key: value
            for key, value in self.counts().items()
            if key not in (NOT_STARTED, RunStatus.CRASHED.value)
        }

    def _progress_counts(self) -> dict[str, int]:
        """Counts for the progress bar: this drive's, over what was done
        before it; from the index for a batch driven elsewhere."""
        driver = self._driver
        if driver is None:
            return self.counts()
        counts = collections.Counter(self._done_before)
        counts.update(driver.snapshot())
        counts.pop("skipped", None)
        running = self._spec.size - sum(counts.values())
        if running and not driver.done:
            counts["running"] = running
        return dict(counts)

    def unfinished(self) -> list[int]:
        """The indices of samples to run on :meth:`resume`: never started,
        or crashed."""
        samples = self._samples()
        return [
            i
            for i in range(self._spec.size)
            if i not in samples or samples[i].status is RunStatus.CRASHED
        ]
