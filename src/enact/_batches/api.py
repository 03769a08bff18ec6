"""Making batches and finding them again: :func:`sample`, forks into a
batch, :func:`list_batches` and :func:`get_batch`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from enact._batches.batch import (
    Batch,
    BatchInfo,
    BatchNotFound,
    batch_specs,
    sample_records,
    summarize,
)
from enact._batches.executors import needs_address
from enact._batches.limits import normalize_limits
from enact._batches.shipping import modules_of
from enact._batches.spec import NAME_PREFIX, BatchSpec, new_batch_id
from enact._runs import handle
from enact._runs.access import current_store, within
from enact._runs.branches import branch_point
from enact._runs.errors import RunError
from enact._runs.execution import as_invokable, component_name
from enact._runs.portability import warn_unimportable
from enact.references import Ref, Store

__all__ = ["fork_batch", "get_batch", "list_batches", "sample"]


def sample(
    component: Any,
    inputs: Iterable[Any],
    *,
    n: int = 1,
    executor: Any = None,
    concurrency: int | None = None,
    name: str | None = None,
    tags: Iterable[str] = (),
    limits: Mapping[Any, int] | None = None,
) -> Batch:
    """Starts ``n`` durable runs of ``component`` for each input, as a batch.

    Each sample is a run of its own, known by the batch and its index (never
    by its input): two samples of one input are two runs with two journals,
    and nothing is shared or cached between them. The batch runs in a thread
    of this process; the call returns at once. :meth:`Batch.wait` waits for
    it (Ctrl-C there stops it cleanly), and :meth:`Batch.resume` continues a
    batch that was stopped or whose process died, running only the samples
    that have not finished.

    Args:
        component: An invokable or registered function (sync or async).
        inputs: The inputs, each as :func:`enact.run` takes it. Sample ``i``
            takes input ``i // n``.
        n: How many samples each input gets.
        executor: Where samples run: ``"asyncio"`` (the default for async
            components: tasks on one event loop), ``"threads"`` (the default
            for sync ones), ``"processes"`` (a pool of worker processes, one
            per core unless ``concurrency`` says otherwise), any
            :class:`concurrent.futures.Executor`, or
            :class:`enact.ray.RayExecutor`. Workers in other processes open
            the same store by its location.
        concurrency: The most samples running at once (the executor's own
            limit if None; 100 tasks on asyncio).
        name: A unique name for the batch.
        tags: Tags for the batch and each of its samples.
        limits: The most calls at once of a component the samples call, by
            its class (or type id): ``{Chat: 4}`` lets four ``Chat`` calls
            run at a time across the whole batch, on every executor and in
            every process, and across the store's other batches that limit
            ``Chat`` too (see docs/batches.md).

    Returns:
        The batch, running.

    Raises:
        NoActiveContext: if no store is current.
        TypeError: if ``component`` is not an invokable or registered.
        NotShippable: if workers in other processes could not import the
            component or an input (before any sample starts).
        RunError: if the name is taken.
        ValueError: if ``n`` is less than 1, there are no inputs, or a limit
            is less than 1.
    """
    store = current_store()
    limited = normalize_limits(limits)
    tags = tuple(dict.fromkeys(tags))
    invokable: Any = None
    refs: list[Ref[Any]] = []
    values: list[Any] = []

    def commit_inputs() -> None:
        nonlocal invokable
        for each in inputs:
            own, arg = as_invokable(component, each)
            if invokable is None:
                invokable = own
            elif store.commit(own) != store.commit(invokable):
                raise ValueError(
                    "Every input of a batch must call the same component (a "
                    "method's instance is part of its component)."
                )
            values.append(arg)
            refs.append(arg if isinstance(arg, Ref) else store.commit(_none(arg)))

    within(store, commit_inputs)
    if invokable is None:
        raise ValueError("A batch needs at least one input.")
    return _make(
        store,
        invokable,
        refs,
        values,
        n,
        executor,
        concurrency,
        name,
        tags,
        limits=limited,
    )


def _none(arg: Any) -> Any:
    if arg is None:
        from enact.interfaces import NoneResource

        return NoneResource()
    return arg


def fork_batch(
    store: Store,
    run_id: str,
    num_calls: int,
    at: tuple[int, ...] | None,
    n: int,
    *,
    name: str | None,
    tags: Iterable[str],
    executor: Any = None,
    concurrency: int | None = None,
    replace: Mapping[Any, Any] | None = None,
    limits: Mapping[Any, int] | None = None,
) -> Batch:
    """``n`` branches of run ``run_id`` from one point, as a batch: each
    replays the journal up to the branch point and runs the rest afresh,
    with the components of ``replace`` in place of the recorded ones.

    Raises:
        RunError: for a branch point the run does not have, or a replaced
            component the run does not hold.
        TypeError: if ``replace`` maps something that is not an invokable.
        RunDamaged: if an object its journal reaches is missing or damaged.
    """
    limited = normalize_limits(limits)
    component, input_ref, journal = within(
        store, lambda: branch_point(store, run_id, num_calls, at, replace)
    )
    journal_ref = store.commit(journal)
    return _make(
        store,
        component,
        [input_ref],
        [],
        n,
        executor,
        concurrency,
        name,
        tuple(dict.fromkeys(tags)),
        parent=run_id,
        replay_from=journal_ref,
        limits=limited,
    )


def _make(
    store: Store,
    invokable: Any,
    refs: list[Ref[Any]],
    values: list[Any],
    n: int,
    executor: Any,
    concurrency: int | None,
    name: str | None,
    tags: tuple[str, ...],
    *,
    parent: str | None = None,
    replay_from: Ref[Any] | None = None,
    limits: dict[str, int] | None = None,
) -> Batch:
    if type(n) is not int or n < 1:
        raise ValueError(f"n must be a whole number of at least 1, got {n!r}.")
    if concurrency is not None and (type(concurrency) is not int or concurrency < 1):
        raise ValueError(f"concurrency must be at least 1, got {concurrency!r}.")
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise RunError(f"A batch name must be a non-empty string, got {name!r}.")
        for other in batch_specs(store).values():
            if other[1].name == name:
                raise RunError(f"The name {name!r} is taken by batch {other[1].id}.")
    # Before any sample starts: what workers must import, and whether they can.
    modules = modules_of([invokable, *values], check=needs_address(executor))
    warn_unimportable(invokable, *values)
    spec = BatchSpec(
        id=new_batch_id(),
        name=name,
        tags=list(tags),
        component_name=component_name(invokable),
        component=store.commit(invokable),
        inputs=refs,
        per_input=n,
        created=_now(),
        modules=modules,
        parent=parent,
        replay_from=replay_from,
        limits=limits or None,
    )
    spec_ref = store.commit(spec)
    store.flush()
    store.index.set_name(NAME_PREFIX + spec.id, spec_ref.digest)
    batch = Batch(spec.id, store)
    batch._executor = executor
    batch._concurrency = concurrency
    batch.start(list(range(spec.size)))
    return batch


def _now() -> float:
    import time

    return time.time()


def list_batches(*, store: Store | None = None) -> list[BatchInfo]:
    """Every batch in the store (the current one if None), newest first.

    Raises:
        NoActiveContext: if ``store`` is None and no store is current.
    """
    store = current_store() if store is None else store
    specs = batch_specs(store)
    samples = sample_records(store) if specs else {}
    found = [
        summarize(spec, samples.get(batch_id, {}))
        for batch_id, (_, spec) in specs.items()
    ]
    found.sort(key=lambda info: (info.started, info.id), reverse=True)
    return found


def get_batch(batch_id_or_name: str, *, store: Store | None = None) -> Batch:
    """The batch with this id or name.

    Raises:
        NoActiveContext: if ``store`` is None and no store is current.
        BatchNotFound: if there is none.
    """
    store = current_store() if store is None else store
    if NAME_PREFIX + batch_id_or_name in store.index.names():
        return Batch(batch_id_or_name, store)
    for batch_id, (_, spec) in batch_specs(store).items():
        if spec.name == batch_id_or_name:
            return Batch(batch_id, store)
    raise BatchNotFound(
        f"No batch with id or name {batch_id_or_name!r} in {store.location}.",
        batch_id_or_name,
    )


def _fork_into_batch(run: Any, num_calls: int, at: Any, n: int, **options: Any) -> Any:
    return fork_batch(run.store, run.id, num_calls, at, n, **options)


# Run.fork(n=k) hands over to this layer (runs sit below batches).
handle.fork_batch_starter = _fork_into_batch
