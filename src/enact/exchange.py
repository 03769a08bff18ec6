"""Moving runs between stores by digest: push and pull.

:func:`push` copies runs from one store to another, the way git moves
commits: each run's record, its step log, its answers (claims), the names
asked for, and every object they reach, sending only what the destination
lacks. Any two kinds of store work (memory, directory, SQLite, and any
other backend with an index); the copy goes through the byte interfaces
(objects, index, journals), so no stored type needs to be importable.

How it stays correct when interrupted, and cheap when repeated:

- **Children first.** An object is sent only after every object it refers
  to has arrived (leaves first; the objects of one batch go together). So an
  object present at the destination has everything below it there too, and
  the walk stops at objects the destination holds: a second push of the same
  runs reads no object of the source.
- **Records last.** A run's step lines, answers and record are written only
  after all its objects, and the record after the steps: a push killed
  halfway leaves objects (kept as young by garbage collection for a while,
  then collected if no push completes) and perhaps part of a step log, never
  a record naming what is missing. Pushing again sends the rest.
- **Verified on arrival.** Every object read from the source is hashed
  before it is sent; a damaged one stops the push, named
  (:class:`DamagedSource`), and no record of the runs is written.
- **No silent replacement.** A run id that is another run at the
  destination (another start, component or request), a run whose log at the
  destination has steps the source lacks, a run name another run has there,
  or a named object pointing elsewhere there, is refused before anything is
  sent (:class:`PushConflict`) unless ``force=True``.

Recovery lines (step lines that only spare a resume some reads) are not
copied: a resume at the destination reads the objects instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from enact._runs.access import read_run
from enact._runs.damage import read_runs
from enact._runs.errors import RunError, RunNotFound
from enact._runs.handle import Run
from enact._runs.records import RunInfo
from enact.backends.backend import Backend
from enact.backends.base import BackendError
from enact.backends.gc import references
from enact.backends.index import Index
from enact.backends.journals import Journals
from enact.errors import EnactError
from enact.references import Ref, Store, set_exchange

__all__ = [
    "DamagedSource",
    "ExchangeError",
    "PushConflict",
    "PushProgress",
    "PushReport",
    "pull",
    "push",
]

# Digests in index entries: runs of 64 or more hex digits (each window of a
# longer run is a candidate; only those the source holds count).
_HEX_RUN = re.compile(rb"[0-9a-f]{64,}")
# Objects looked up or read per request.
_LOOKUP_BATCH = 512
# A batch of objects is sent when it holds this many, or this many bytes.
_SEND_OBJECTS = 256
_SEND_BYTES = 32 * 1024 * 1024


class ExchangeError(EnactError):
    """A push or pull cannot be done."""


class PushConflict(ExchangeError):
    """A run id, run name or object name already means something else at the
    destination.

    Attributes:
        what: ``"run"``, ``"run name"``, ``"name"`` or ``"answer"``.
        name: The run id or name concerned.
    """

    def __init__(self, message: str, what: str, name: str) -> None:
        self.what = what
        self.name = name
        super().__init__(message)


class DamagedSource(ExchangeError):
    """An object at the source does not match its digest: it is not sent.

    Attributes:
        key: The object's digest.
        location: The source store.
    """

    def __init__(self, message: str, key: str, location: str) -> None:
        self.key = key
        self.location = location
        super().__init__(message)


@dataclasses.dataclass
class PushProgress:
    """How far a push is (handed to the ``progress`` callback as it goes)."""

    #: Objects sent so far.
    objects_sent: int = 0
    #: Bytes of the objects sent so far.
    bytes_sent: int = 0
    #: Objects found so far that the runs reach (sent, present or pending).
    objects_found: int = 0
    #: Of those, objects the destination held already.
    objects_present: int = 0


@dataclasses.dataclass(frozen=True)
class PushReport:
    """What one push did."""

    #: Run ids copied or brought up to date at the destination.
    runs_written: tuple[str, ...]
    #: Run ids the destination held already, unchanged.
    runs_unchanged: tuple[str, ...]
    #: Objects sent, and their bytes.
    objects_sent: int
    bytes_sent: int
    #: Objects the runs reach that the destination held already (the walk
    #: stops at them: what they refer to is not counted).
    objects_present: int
    #: Objects referred to that the source does not hold either.
    objects_missing: int
    #: Step lines appended at the destination.
    steps_written: int
    #: Answers (claims) written at the destination.
    claims_written: int
    #: Names set at the destination.
    names_written: int
    #: Seconds the push took.
    duration: float


@dataclasses.dataclass
class _RunCopy:
    """One run as the source holds it, and what the destination needs."""

    run_id: str
    record: bytes
    info: RunInfo
    steps: list[bytes]
    claims: dict[str, bytes]
    #: Step lines the destination holds already (a prefix of ``steps``).
    steps_present: int = 0
    #: Whether the destination's record is this one already.
    unchanged: bool = False
    #: Another run at the destination whose name this run takes (force).
    displaced: str | None = None


Selection = Iterable["str | Run | RunInfo | Ref[Any]"]


def push(
    source: Store,
    destination: Store,
    runs: Selection | None = None,
    *,
    force: bool = False,
    progress: Callable[[PushProgress], None] | None = None,
) -> PushReport:
    """Copies runs, and every object they reach, from ``source`` to
    ``destination``, sending only what it lacks.

    Args:
        source: The store to copy from.
        destination: The store to copy to.
        runs: What to copy: run ids, run names, :class:`~enact.runs.Run`
            handles, names of named objects (:func:`enact.runs.name_ref`)
            and refs (an object and all it reaches). None copies every run
            and every name. A run comes with the runs it was forked or
            replayed from.
        force: Replace what means something else at the destination (a run
            of the same id, a run name, a name) instead of refusing.
        progress: Called after each batch of objects sent.

    Returns:
        What was copied.

    Raises:
        PushConflict: if something already means something else at the
            destination (nothing is sent).
        DamagedSource: naming an object that does not match its digest at
            the source (no record is written).
        RunNotFound: if a run id or name is not in the source.
        BackendError: if either store keeps no run index, or fails.
    """
    started = time.monotonic()
    if source is destination:
        raise ExchangeError("source and destination are the same store")
    source.flush()
    src_index, dst_index = source.index, destination.index
    src_backend, dst_backend = _backend_of(source), _backend_of(destination)
    src_journals = _journals_of(src_backend)
    dst_journals = _journals_of(dst_backend)
    run_ids, names, refs = _select(src_index, runs)
    copies = [_read_run(src_index, src_journals, run_id) for run_id in run_ids]
    _plan(copies, names, dst_index, dst_journals, force)
    roots = _roots(src_backend, copies, names, refs)
    state = PushProgress()
    walk = _Walk(source, src_backend, dst_backend, state, progress)
    with destination:  # the destination's session keeps what arrives young
        walk.run(roots)
        report_steps = report_claims = 0
        written: list[str] = []
        for copy in copies:
            if copy.unchanged:
                continue
            steps, claims = _write_run(copy, dst_index, dst_journals, force)
            report_steps += steps
            report_claims += claims
            written.append(copy.run_id)
        for name, key in names.items():
            dst_index.set_name(name, key)
    return PushReport(
        runs_written=tuple(written),
        runs_unchanged=tuple(c.run_id for c in copies if c.unchanged),
        objects_sent=state.objects_sent,
        bytes_sent=state.bytes_sent,
        objects_present=state.objects_present,
        objects_missing=walk.missing,
        steps_written=report_steps,
        claims_written=report_claims,
        names_written=len(names),
        duration=time.monotonic() - started,
    )


def pull(
    destination: Store,
    source: Store,
    runs: Selection | None = None,
    *,
    force: bool = False,
    progress: Callable[[PushProgress], None] | None = None,
) -> PushReport:
    """Copies runs from ``source`` into ``destination``: :func:`push`, seen
    from the receiving side."""
    return push(source, destination, runs, force=force, progress=progress)


# -- choosing what to copy -----------------------------------------------------


def _select(
    index: Index, runs: Selection | None
) -> tuple[list[str], dict[str, str], list[str]]:
    """The run ids (ancestors first), names and refs to copy."""
    if runs is None:
        infos, damaged = read_runs(index)
        if damaged:
            raise ExchangeError(
                f"{len(damaged)} run records of {index.location} cannot be read "
                f"(e.g. {damaged[0].problem}): push named runs instead"
            )
        return _with_ancestors(index, [i.id for i in infos]), index.names(), []
    wanted: list[str] = []
    names: dict[str, str] = {}
    refs: list[str] = []
    all_names: dict[str, str] | None = None
    for item in runs:
        if isinstance(item, Run | RunInfo):
            wanted.append(item.id)
        elif isinstance(item, Ref):
            refs.append(item.digest)
        elif isinstance(item, str):
            found = _run_id_or_none(index, item)
            if found is not None:
                wanted.append(found)
                continue
            if all_names is None:
                all_names = index.names()
            if item in all_names:
                names[item] = all_names[item]
                continue
            raise RunNotFound(
                f"No run with id or name {item!r}, and no named object "
                f"{item!r}, in {index.location}.",
                item,
            )
        else:
            raise TypeError(
                f"push takes run ids, run names, names, Run handles and refs, "
                f"got {type(item).__name__}"
            )
    return _with_ancestors(index, wanted), names, refs


def _run_id_or_none(index: Index, text: str) -> str | None:
    try:
        if index.get_run(text) is not None:
            return text
    except BackendError:
        pass  # not a valid run id: perhaps a name
    for info in read_runs(index)[0]:
        if info.name == text:
            return info.id
    return None


def _with_ancestors(index: Index, run_ids: Sequence[str]) -> list[str]:
    """``run_ids`` and the runs they were forked or replayed from, each
    once, every run after its parent."""
    ordered: list[str] = []
    seen: set[str] = set()
    for run_id in run_ids:
        chain: list[str] = []
        current: str | None = run_id
        while current is not None and current not in seen:
            seen.add(current)
            chain.append(current)
            current = read_run(index, current).parent
            if current is not None and index.get_run(current) is None:
                current = None  # the parent is not in this store
        ordered.extend(reversed(chain))
    return ordered


def _read_run(index: Index, journals: Journals, run_id: str) -> _RunCopy:
    record = index.get_run(run_id)
    if record is None:
        raise RunNotFound(f"No run {run_id!r} in {index.location}.", run_id)
    info = RunInfo.from_bytes(record, index.record_location(run_id), run_id)
    steps = [line for line in journals.read_steps(run_id) if line[:1] != b"["]
    claims = index.claims(f"{run_id}:")
    return _RunCopy(run_id, record, info, steps, claims)


# -- what the destination holds ------------------------------------------------


def _plan(
    copies: list[_RunCopy],
    names: dict[str, str],
    index: Index,
    journals: Journals,
    force: bool,
) -> None:
    """Finds what each run needs at the destination; refuses conflicts."""
    by_name = {info.name: info.id for info in read_runs(index)[0] if info.name}
    for copy in copies:
        _plan_run(copy, index, journals, force)
        for key, value in copy.claims.items():
            there = index.get_claim(key)
            if there is not None and there != value:
                raise PushConflict(
                    f"the answer {key} at {index.location} differs from the "
                    "pushed one (answers are written once and never replaced, "
                    "even with --force)",
                    "answer",
                    key,
                )
        name = copy.info.name
        holder = by_name.get(name) if name else None
        if holder is not None and holder != copy.run_id:
            if not force:
                raise PushConflict(
                    f"run {copy.run_id} is named {name!r}, but at "
                    f"{index.location} that name is run {holder}'s (--force "
                    "moves the name to the pushed run)",
                    "run name",
                    str(name),
                )
            copy.displaced = holder
    present = index.names()
    for name, key in names.items():
        if present.get(name, key) != key and not force:
            raise PushConflict(
                f"the name {name!r} points at {key} here, but at "
                f"{index.location} at {present[name]} (--force repoints it)",
                "name",
                name,
            )


def _plan_run(copy: _RunCopy, index: Index, journals: Journals, force: bool) -> None:
    there = index.get_run(copy.run_id)
    steps = [line for line in journals.read_steps(copy.run_id) if line[:1] != b"["]
    if force:
        copy.steps_present = _common_prefix(steps, copy.steps)
        copy.unchanged = there == copy.record and steps == copy.steps
        return
    if there is not None:
        other = RunInfo.from_bytes(there, index.record_location(copy.run_id))
        if not _same_run(other, copy.info):
            raise PushConflict(
                f"run {copy.run_id} at {index.location} is another run (started "
                f"{_when(other.started)}, {other.component}) than the one pushed "
                f"(started {_when(copy.info.started)}, {copy.info.component}); "
                "--force replaces it",
                "run",
                copy.run_id,
            )
    if steps != copy.steps[: len(steps)]:
        raise PushConflict(
            f"run {copy.run_id} at {index.location} has steps the pushed run "
            f"lacks ({len(steps)} steps there, {len(copy.steps)} here: was it "
            "resumed or forked there?); --force replaces it",
            "run",
            copy.run_id,
        )
    copy.steps_present = len(steps)
    copy.unchanged = there == copy.record and len(steps) == len(copy.steps)


def _same_run(first: RunInfo, second: RunInfo) -> bool:
    return (
        first.started == second.started
        and first.component == second.component
        and first.request.digest == second.request.digest
        and first.parent == second.parent
    )


def _common_prefix(first: list[bytes], second: list[bytes]) -> int:
    count = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        count += 1
    return count


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


# -- the objects ---------------------------------------------------------------


def _roots(
    backend: Backend,
    copies: list[_RunCopy],
    names: dict[str, str],
    refs: list[str],
) -> list[str]:
    """The objects the runs, names and refs name directly (held at the source)."""
    found: dict[str, None] = {}
    for copy in copies:
        _scan_hex(copy.record, found)
        for line in copy.steps:
            _scan_hex(line, found)
        for value in copy.claims.values():
            _scan_hex(value, found)
    for key in [*names.values(), *refs]:
        found[key] = None
    candidates = list(found)
    held: list[str] = []
    for start in range(0, len(candidates), _LOOKUP_BATCH):
        batch = candidates[start : start + _LOOKUP_BATCH]
        held.extend(
            k for k, ok in zip(batch, backend.has_many(batch), strict=True) if ok
        )
    return held


def _scan_hex(data: bytes, found: dict[str, None]) -> None:
    for match in _HEX_RUN.finditer(data):
        run = match.group()
        for start in range(len(run) - 63):
            found[run[start : start + 64].decode("ascii")] = None


class _Walk:
    """Sends what the destination lacks of the objects below some roots,
    every object after all it refers to."""

    def __init__(
        self,
        source: Store,
        src: Backend,
        dst: Backend,
        state: PushProgress,
        progress: Callable[[PushProgress], None] | None,
    ) -> None:
        self._location = source.location
        self._src = src
        self._dst = dst
        self._state = state
        self._progress = progress
        self.missing = 0
        self._seen: set[str] = set()
        # Objects whose every child is at the destination (or missing at
        # the source): the next batch to send.
        self._ready: list[tuple[str, bytes]] = []
        self._ready_bytes = 0
        # Objects read but waiting for children, with those children.
        self._waiting: dict[str, tuple[bytes, set[str]]] = {}
        self._parents: dict[str, list[str]] = {}
        self._settled: set[str] = set()

    def run(self, roots: list[str]) -> None:
        frontier = list(dict.fromkeys(roots))
        while frontier or self._ready or self._waiting:
            if frontier:
                batch = frontier[-_LOOKUP_BATCH:]
                del frontier[-_LOOKUP_BATCH:]
                frontier.extend(self._visit(batch))
            if self._ready and (
                not frontier
                or len(self._ready) >= _SEND_OBJECTS
                or self._ready_bytes >= _SEND_BYTES
            ):
                self._send()
            elif not frontier and not self._ready and self._waiting:
                # Only a cycle can leave objects waiting with nothing to
                # send, and digests make cycles impossible; a false match of
                # a digest in blob bytes could. Send them as they are.
                for key, (data, _) in self._waiting.items():
                    self._ready.append((key, data))
                self._waiting.clear()
                self._parents.clear()

    def _visit(self, batch: list[str]) -> list[str]:
        """Looks the keys up at the destination, reads the others at the
        source; returns the children to visit."""
        keys = [key for key in dict.fromkeys(batch) if key not in self._seen]
        self._seen.update(keys)
        if not keys:
            return []
        self._state.objects_found += len(keys)
        present = self._dst.has_many(keys)
        absent = [key for key, there in zip(keys, present, strict=True) if not there]
        for key, there in zip(keys, present, strict=True):
            if there:
                self._state.objects_present += 1
                self._settle(key)
        if not absent:
            return []
        try:
            found = self._src.get_many(absent)
        except BackendError as error:
            if error.key is not None:
                raise DamagedSource(
                    f"object {error.key} at {self._location} cannot be read "
                    f"intact, so it is not sent: {error}",
                    error.key,
                    self._location,
                ) from None
            raise
        children: list[str] = []
        for key, data in zip(absent, found, strict=True):
            if data is None:
                self.missing += 1
                self._settle(key)
                continue
            actual = hashlib.sha256(data).hexdigest()
            if actual != key:
                raise DamagedSource(
                    f"object {key} at {self._location} is damaged (its bytes "
                    f"hash to {actual}), so it is not sent; store.verify() "
                    "lists damage",
                    key,
                    self._location,
                )
            below = {ref for ref in references(data) if ref != key}
            pending = {ref for ref in below if ref not in self._settled}
            if not pending:
                self._add_ready(key, data)
                continue
            self._waiting[key] = (data, pending)
            for ref in pending:
                self._parents.setdefault(ref, []).append(key)
                if ref not in self._seen:
                    children.append(ref)
        return children

    def _add_ready(self, key: str, data: bytes) -> None:
        self._ready.append((key, data))
        self._ready_bytes += len(data)

    def _settle(self, key: str) -> None:
        """``key`` is at the destination (or missing at the source too)."""
        self._settled.add(key)
        for parent in self._parents.pop(key, ()):
            entry = self._waiting.get(parent)
            if entry is None:
                continue
            entry[1].discard(key)
            if not entry[1]:
                del self._waiting[parent]
                self._add_ready(parent, entry[0])

    def _send(self) -> None:
        batch, self._ready, self._ready_bytes = self._ready, [], 0
        self._dst.put_many([(key, [data]) for key, data in batch])
        state = self._state
        state.objects_sent += len(batch)
        state.bytes_sent += sum(len(data) for _, data in batch)
        for key, _ in batch:
            self._settle(key)
        if self._progress is not None:
            self._progress(state)


# -- writing the runs ----------------------------------------------------------


def _write_run(
    copy: _RunCopy, index: Index, journals: Journals, force: bool
) -> tuple[int, int]:
    """Writes a run's steps, answers and then its record. Returns the step
    lines and claims written."""
    there = [line for line in journals.read_steps(copy.run_id) if line[:1] != b"["]
    present = _common_prefix(there, copy.steps)
    if present < len(there):
        if not force:  # it changed since the plan
            raise PushConflict(
                f"run {copy.run_id} at {index.location} changed during the push",
                "run",
                copy.run_id,
            )
        # Replacing a run: its record goes first (and with it its step log).
        index.update_run(copy.run_id, lambda old: None)
        present = 0
    missing = copy.steps[present:]
    if missing:
        journals.write_steps(copy.run_id, [], missing)
    claims = 0
    for key, value in copy.claims.items():
        if index.claim(key, value):
            claims += 1
        elif index.get_claim(key) != value:
            raise PushConflict(
                f"the answer {key} at {index.location} differs from the pushed "
                "one (answers are written once and never replaced)",
                "run",
                copy.run_id,
            )
    if copy.displaced is not None:
        _drop_name(index, copy.displaced)
    record = copy.record

    def update(old: bytes | None) -> bytes:
        if old is not None and old != record and not force:
            other = RunInfo.from_bytes(old, index.record_location(copy.run_id))
            if not _same_run(other, copy.info):
                raise PushConflict(
                    f"run {copy.run_id} at {index.location} was replaced by "
                    "another run during the push",
                    "run",
                    copy.run_id,
                )
        return record

    index.update_run(copy.run_id, update)
    journals.settle_steps(copy.run_id, ended=copy.info.ended is not None)
    return len(missing), claims


def _drop_name(index: Index, run_id: str) -> None:
    def update(old: bytes | None) -> bytes | None:
        if old is None:
            return None
        info = RunInfo.from_bytes(old, index.record_location(run_id), run_id)
        return dataclasses.replace(info, name=None).to_bytes()

    try:
        index.update_run(run_id, update)
    except RunError:
        pass  # gone meanwhile


def _backend_of(store: Store) -> Backend:
    # The store's objects as its reads see them: whole objects, however the
    # backend keeps them (large ones as chunks), so each is verified by its
    # digest on the way and kept the destination's way on arrival.
    backend = store.objects
    if not isinstance(backend, Backend) or getattr(store.backend, "serializer", None):
        raise BackendError(
            f"the store {store.location} keeps no canonical objects to exchange",
            store.location,
        )
    return backend


def _journals_of(backend: Backend) -> Journals:
    journals = backend.journals()
    if journals is None:
        raise BackendError(f"{backend!r} keeps no run index", backend.location)
    return journals


set_exchange(push)
