"""Damage in the run index: listing around it, naming it, never building on it.

A store can be damaged (a disk error, a bad copy, a hand edit). Then:

- :func:`read_runs` lists every run record that still reads and reports the
  others beside them, so one damaged record never hides the rest;
- :func:`index_damage`, run by :meth:`~enact.Store.verify`, names every
  record and step line that no longer reads, and every object a record,
  step line, name or answer names that the store does not hold;
- :func:`check_journal` refuses, before anything is written, to fork, replay
  or resume a run whose journal needs an object that is missing or damaged.

Nothing here repairs or removes anything: what is damaged stays as it is,
for a person (or a backup) to deal with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Iterator, Set
from typing import Any, NoReturn

from enact._refs.legacy_backend import StorageBackendObjects
from enact._runs.errors import RunDamaged, RunError
from enact._runs.recorder import StepLog
from enact._runs.records import RunInfo
from enact.backends.base import BackendError
from enact.backends.gc import references
from enact.backends.index import Index
from enact.backends.objects import Objects
from enact.references import Damage, Store, add_index_check

__all__ = [
    "DamagedRun",
    "RunList",
    "check_journal",
    "index_damage",
    "journal_roots",
    "read_runs",
]

_DIGEST = re.compile(r"[0-9a-f]{64}")
# The claim key of an answer: "<run id>:<path>" (see records.answer_key).
_ANSWER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*:(root|[0-9]+(\.[0-9]+)*)")
# Objects read (or looked up) per batch.
_BATCH = 512
#: The most bytes :func:`check_journal` keeps for the caller to read next.
KEPT_BYTES = 32 << 20


@dataclasses.dataclass(frozen=True)
class DamagedRun:
    """A run record the index holds but that cannot be read.

    Attributes:
        run_id: The run it is kept under, or None if even that is damaged.
        where: Where the record is: a file path, or a row of a database.
        problem: What is wrong, naming the record.
    """

    run_id: str | None
    where: str
    problem: str

    def __str__(self) -> str:
        return self.problem


class RunList(list[RunInfo]):
    """The runs :func:`~enact.runs.list_runs` found, newest first.

    A plain list of :class:`~enact.runs.RunInfo`, plus the records it had
    to leave out.

    Attributes:
        damaged: The run records that could not be read (empty if none).
            They stay in the store as they are; ``store.verify()`` names
            them too.
    """

    def __init__(
        self, runs: Iterable[RunInfo] = (), damaged: Iterable[DamagedRun] = ()
    ) -> None:
        super().__init__(runs)
        self.damaged: list[DamagedRun] = list(damaged)


def read_runs(index: Index) -> tuple[list[RunInfo], list[DamagedRun]]:
    """Every run record that reads, and each one that does not.

    Never raises for damage: an index that cannot be listed at all is one
    :class:`DamagedRun` naming the index.
    """
    try:
        scan = index.scan_runs()
    except BackendError as error:
        return [], [DamagedRun(None, index.location, f"cannot list runs: {error}")]
    damaged = [
        DamagedRun(each.run_id, each.where, f"{each.where}: {each.problem}")
        for each in scan.unreadable
    ]
    found: list[RunInfo] = []
    for run_id, data in scan.records:
        where = index.record_location(run_id)
        try:
            found.append(RunInfo.from_bytes(data, where, run_id))
        except RunError as error:
            damaged.append(DamagedRun(run_id, where, str(error)))
    return found, damaged


def record_digests(info: RunInfo) -> Iterator[str]:
    """The objects a run record names."""
    yield info.request.digest
    if info.invocation is not None:
        yield info.invocation.digest
    for pending in info.pending:
        yield pending.request.digest
        if pending.for_value is not None:
            yield pending.for_value.digest


def step_digests(log: StepLog) -> Iterator[Any]:
    """The objects a step log names (not checked to be digests)."""
    yield from log.done.values()
    yield from log.begun.values()
    for leaf in log.leaves.values():
        for field in ("r", "p", "k", "o", "x"):
            value = leaf.get(field)
            if value is not None:
                yield value


def journal_roots(info: RunInfo, log: StepLog | None) -> list[Any]:
    """The objects a run's journal starts from: its record's, and (for a run
    resumed or branched from its step log) its step lines'."""
    roots: list[Any] = list(record_digests(info))
    if log is not None:
        roots.extend(step_digests(log))
    return roots


def check_journal(
    store: Store,
    run_id: str,
    roots: Iterable[Any],
    action: str,
    keep: Set[str] = frozenset(),
) -> dict[str, bytes]:
    """Checks that every object reachable from ``roots`` is stored intact.

    Objects are read as bytes and checked against their digests; the refs
    inside them are followed (as garbage collection follows them). Run
    before anything is written, so a damaged run is refused cleanly.

    Args:
        store: The run's store.
        run_id: The run, for messages.
        roots: The digests to start from.
        action: What was asked (``"fork"``, ``"replay"``, ``"resume"``).
        keep: Objects the caller reads next (a replay's call records).

    Returns:
        The checked bytes of the objects of ``keep``, up to
        :data:`KEPT_BYTES` in all, for :meth:`~enact.Store.serve_checked`.

    Raises:
        RunDamaged: naming the run and the first object that is missing,
            damaged or not a digest.
    """
    backend = store.objects
    kept: dict[str, bytes] = {}
    if _not_canonical(store):
        return kept  # its bytes are no canonical encoding: reads check them
    store.flush()
    room = KEPT_BYTES if keep else 0
    frontier: list[str] = []
    seen: set[str] = set()
    for root in roots:
        if not isinstance(root, str) or _DIGEST.fullmatch(root) is None:
            _refuse(
                store, run_id, action, None, f"its step log names {root!r}, no digest"
            )
        if root not in seen:
            seen.add(root)
            frontier.append(root)
    while frontier:
        batch = frontier[-_BATCH:]
        del frontier[-_BATCH:]
        try:
            found = backend.get_many(batch)
        except BackendError as error:
            _refuse(store, run_id, action, None, str(error))
        for key, data in zip(batch, found, strict=True):
            if data is None:
                _refuse(store, run_id, action, key, f"object {key} is missing")
            if hashlib.sha256(data).hexdigest() != key:
                _refuse(store, run_id, action, key, f"object {key} is damaged")
            if room > len(data) and key in keep:
                kept[key] = data
                room -= len(data)
            for inner in references(data):
                if inner not in seen:
                    seen.add(inner)
                    frontier.append(inner)
    return kept


def _refuse(
    store: Store, run_id: str, action: str, key: str | None, problem: str
) -> NoReturn:
    raise RunDamaged(
        f"Cannot {action} run {run_id}: {problem} in store {store.location}. "
        "Nothing was written; `enact verify` lists all damage.",
        run_id,
        key,
        problem,
    )


def index_damage(store: Store) -> list[Damage]:
    """What :meth:`~enact.Store.verify` reports about the run index.

    Each run record that does not read; each step line that does not; each
    name or answer that is no digest; and each object that a record, step
    line, name or answer names but the store lacks (naming who names it).
    """
    index = store.index
    infos, damaged = read_runs(index)
    found = [Damage(None, each.problem) for each in damaged]
    named: dict[str, str] = {}  # digest -> who names it (the first one)

    def name(digest: Any, by: str) -> None:
        if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
            found.append(Damage(None, f"{by} names {digest!r}, which is no digest"))
        else:
            named.setdefault(digest, by)

    for info in infos:
        for digest in record_digests(info):
            named.setdefault(digest, f"run {info.id}")
        where = f"the step log of run {info.id} in {index.location}"
        try:
            log = StepLog(index.read_steps(info.id))
        except BackendError as error:
            found.append(Damage(None, f"cannot read {where}: {error}"))
            continue
        found.extend(
            Damage(None, f"line {number + 1} of {where} is damaged")
            for number in log.damaged
        )
        for digest in step_digests(log):
            name(digest, f"{where}")
    try:
        names = index.names()
    except BackendError as error:
        found.append(Damage(None, str(error)))
        names = {}
    for each, target in names.items():
        name(target, f"the name {each!r}")
    try:
        claims = index.claims()
    except BackendError as error:
        found.append(Damage(None, str(error)))
        claims = {}
    for key, value in claims.items():
        if _ANSWER_KEY.fullmatch(key):
            name(value.decode("ascii", "replace"), f"the answer {key}")
    found.extend(_missing(store, named))
    return found


def _not_canonical(store: Store) -> bool:
    """Whether the store's objects are not canonical bytes by digest: a
    resource-dict backend behind its adapter, or a file store writing
    another serializer's format."""
    return isinstance(store.objects, StorageBackendObjects) or bool(
        getattr(store.backend, "serializer", None)
    )


def _missing(store: Store, named: dict[str, str]) -> Iterator[Damage]:
    backend = store.objects
    if isinstance(store.objects, StorageBackendObjects):
        return
    digests = list(named)
    for start in range(0, len(digests), _BATCH):
        yield from _missing_in(backend, digests[start : start + _BATCH], named)


def _missing_in(
    backend: Objects, digests: list[str], named: dict[str, str]
) -> Iterator[Damage]:
    try:
        present = backend.has_many(digests)
    except BackendError as error:
        if len(digests) == 1:
            digest = digests[0]
            yield Damage(
                digest,
                f"{named[digest]} names object {digest}, which cannot be read: {error}",
            )
            return
        # Damage in the store's files: ask one by one, so that each object
        # that cannot be read is named.
        for digest in digests:
            yield from _missing_in(backend, [digest], named)
        return
    for digest, there in zip(digests, present, strict=True):
        if not there:
            yield Damage(
                digest,
                f"{named[digest]} names object {digest}, which is missing from "
                "the store",
            )


add_index_check(index_damage)
