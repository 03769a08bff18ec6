"""Running one sample of a batch, in this process or in a worker.

A sample is known by its batch and index alone. :func:`run_sample` looks its
run up by id (``<batch>-<index>``): a sample never started is started; a
crashed one is resumed from its journal; a finished, failed or waiting one,
or one live in another process, is left as it is. So running a sample twice,
or from two processes at once, never runs a finished call again: the run id
is claimed when its record is created, and only one creator wins.

Workers (processes, Ray tasks) call :func:`run_sample_at` with the store's
address: they open the store themselves, import the modules the batch names
and read the spec, once per process.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from enact._batches.limits import Limits
from enact._batches.spec import BatchSpec, StoreAddress, open_address
from enact._invocations.gates import call_gate
from enact._runs.access import read_run, within
from enact._runs.branches import take_run
from enact._runs.errors import RunError, RunNotFound, RunNotResumable
from enact._runs.execution import create_run, execute, execute_async
from enact._runs.records import RunInfo, RunStatus
from enact.references import Ref, Store

__all__ = [
    "Outcome",
    "import_modules",
    "run_sample",
    "run_sample_async",
    "run_sample_at",
]

#: What running a sample came to: its index and its run's status (a string,
#: so it crosses process boundaries as it is), or ``"skipped"`` when another
#: process owns it.
Outcome = tuple[int, str]

_SKIPPED = "skipped"


def _prepared(store: Store, spec: BatchSpec, index: int) -> tuple[Any, ...] | str:
    """What :func:`~enact._runs.execution.execute` takes (after the store) to
    run sample ``index``, started or resumed; or, if there is nothing to run,
    its status. Reads refs: call it with ``store`` current."""
    run_id = spec.run_id(index)
    try:
        info: RunInfo | None = read_run(store.index, run_id)
    except RunNotFound:
        info = None
    if info is None:
        try:
            created = create_run(
                store,
                spec.component(),
                spec.input_of(index),
                name=None,
                tags=spec.tags,
                parent=spec.parent,
                relation=None if spec.parent is None else "fork",
                run_id=run_id,
                batch=spec.id,
                sample=index,
                check_types=False,
            )
        except RunError:  # another process created it first
            return _SKIPPED
        journal = None if spec.replay_from is None else spec.replay_from()
        return (*created, journal, None)
    if info.status is not RunStatus.CRASHED:
        return _SKIPPED if info.is_live else info.status.value
    try:
        return take_run(store, run_id)
    except RunNotResumable:  # taken over meanwhile
        return _SKIPPED


def run_sample(store: Store, spec: BatchSpec, index: int) -> Outcome:
    """Runs sample ``index`` of ``spec``'s batch to its end, in this thread.

    Returns:
        The sample's index and its run's status.
    """
    plan = within(store, lambda: _prepared(store, spec, index))
    if isinstance(plan, str):
        return index, plan
    token = call_gate.set(_gate(store, spec))
    try:
        info = execute(store, *plan, wait_for_input=False, strict=True)
    finally:
        call_gate.reset(token)
    return index, info.stored_status.value


async def run_sample_async(store: Store, spec: BatchSpec, index: int) -> Outcome:
    """The async :func:`run_sample`: an async component runs on the caller's
    event loop."""
    plan = within(store, lambda: _prepared(store, spec, index))
    if isinstance(plan, str):
        return index, plan
    token = call_gate.set(_gate(store, spec))
    try:
        info = await execute_async(store, *plan, wait_for_input=False, strict=True)
    finally:
        call_gate.reset(token)
    return index, info.stored_status.value


# The gates of the batches run in this process, by (store location, batch id).
_gates: dict[tuple[str, str], Limits] = {}


def _gate(store: Store, spec: BatchSpec) -> Limits | None:
    """The concurrency limits of ``spec``'s calls, or None if it has none."""
    if not spec.limits:
        return None
    key = (store.location, spec.id)
    gate = _gates.get(key)
    if gate is None:
        gate = _gates[key] = Limits(store, spec.limits)
    return gate


_imported: set[str] = set()
_import_lock = threading.Lock()


def import_modules(modules: list[str]) -> None:
    """Imports the modules a batch's component and inputs are defined in."""
    with _import_lock:
        for module in modules:
            if module not in _imported:
                importlib.import_module(module)
                _imported.add(module)


# The specs read in this process, by (store location, digest).
_specs: dict[tuple[str, str], BatchSpec] = {}


def spec_in(store: Store, spec_digest: str, modules: list[str]) -> BatchSpec:
    """The batch spec ``spec_digest`` of ``store``, read once per process."""
    key = (store.location, spec_digest)
    spec = _specs.get(key)
    if spec is None:
        import_modules(modules)
        found: Any = within(store, Ref(spec_digest).checkout)
        if not isinstance(found, BatchSpec):
            raise TypeError(f"Object {spec_digest} is not a batch spec.")
        spec = _specs[key] = found
    return spec


def run_sample_at(
    address: StoreAddress, spec_digest: str, modules: list[str], index: int
) -> Outcome:
    """Runs sample ``index`` in a worker: opens the store at ``address`` (once
    per process), imports ``modules`` and reads the spec.

    A module-level function, so that process pools and Ray can ship it by
    name.
    """
    store = open_address(address)
    return run_sample(store, spec_in(store, spec_digest, modules), index)
