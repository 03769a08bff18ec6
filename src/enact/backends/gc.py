"""Garbage collection: removing objects that nothing can reach any more.

The rule, the same for every backend:

- **Roots** are every 64-hex digest found anywhere in the store's index (run
  records, step lines, name targets, claim values; the bytes are scanned, so
  the store layer needs no knowledge of the run layer's JSON), plus every
  *young* object: one written at or after the **cutoff**.
- **Mark**: from the roots, follow the references inside objects. A reference
  is any JSON object with a 64-hex ``"digest"`` value (how a ``Ref`` is
  encoded); objects are scanned as bytes, never decoded, so collection needs
  none of the user's classes. Over-marking is safe; a referenced object that
  is absent is counted, not fatal.
- **Sweep**: delete the unmarked objects written before the cutoff.

The cutoff is the start of the oldest *other* live session on the store
(:mod:`enact.backends.sessions`) minus :data:`~enact.backends.sessions.MARGIN`,
or now minus the margin if there is none; the report names those sessions
(:attr:`GCReport.held_back_by`). A live process may hold refs to
objects it committed that no index entry names yet: it committed them after
its session started, so they are young and kept, with everything they refer
to. A backend re-writes (or re-stamps) a key whose stored copy predates its
session instead of skipping it, so "already stored" always means "stored
young enough to be kept".
"""

from __future__ import annotations

import abc
import dataclasses
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from enact.backends.base import BackendError
from enact.backends.chunk_format import stored_intact, stored_references
from enact.backends.index import Index
from enact.backends.objects import Objects
from enact.backends.sessions import LINGER_SECONDS, SessionInfo

__all__ = [
    "GCReport",
    "Heap",
    "Progress",
    "collect",
    "describe_session",
    "index_roots",
    "references",
]

# Digests in the index: runs of 64 or more hex digits (each 64-digit window of
# a longer run is a candidate; only those that are stored count).
_HEX_RUN = re.compile(rb"[0-9a-f]{64,}")
# A reference inside an object: a JSON member "digest": "<64 hex>". In the
# canonical (compact) encoding there is no space; other serializers may add one.
REFERENCE = re.compile(rb'"digest"\s*:\s*"([0-9a-f]{64})"')
# Objects read per batch while marking.
_READ_BATCH = 512


@dataclasses.dataclass(frozen=True)
class GCReport:
    """What one garbage collection did (or, in a dry run, would do)."""

    #: Objects left in the store.
    kept: int
    #: Objects removed (would be removed, in a dry run).
    removed: int
    #: Bytes of storage released (would be): removed files and rows, minus
    #: any pack files written to keep live objects of removed ones.
    bytes_freed: int
    #: Stored objects that the index names directly.
    roots: int
    #: Stored objects written at or after the cutoff (kept, and marked from).
    young: int
    #: Digests that marked objects refer to but the store does not hold.
    missing: int
    #: Other live sessions that held the cutoff back.
    live_sessions: int
    #: Unix time: objects written before it, and unreachable, are removed.
    cutoff: float
    #: Seconds the collection took.
    duration: float
    #: Whether this was a dry run (nothing changed).
    dry_run: bool
    #: The other sessions that held the collection back, oldest first: the
    #: oldest one's start (minus the margin) is the cutoff. Each names its
    #: process, host and start time, and whether it is idle (its store out
    #: of every ``with`` block, for a while yet) or stale (active, but
    #: without a write for long).
    held_back_by: tuple[SessionInfo, ...] = ()

    def describe_holders(self) -> str:
        """The sessions that held the collection back, in one line.

        For example ``held back by 2 sessions: pid 1234 since 2026-12-02
        07:10 (running), pid 99 since 2026-12-01 18:02 (stale: no write
        since 2026-12-01 18:30)``, or ``held back by no session``.
        """
        if not self.held_back_by:
            return "held back by no session"
        count = len(self.held_back_by)
        noun = "session" if count == 1 else "sessions"
        return f"held back by {count} {noun}: " + ", ".join(
            describe_session(info) for info in self.held_back_by
        )


def describe_session(info: SessionInfo) -> str:
    """``pid 1234 since 2026-12-02 07:10 (running)``, and so on."""
    where = f" on host {info.host}" if info.host and info.running is None else ""
    text = f"pid {info.pid}{where} since {_minute(info.started)}"
    if info.running is False:
        return text + " (process gone; a child it forked holds the session)"
    if info.idle_since is not None:
        until = _minute(info.idle_since + LINGER_SECONDS)
        return text + f" (idle since {_minute(info.idle_since)}, holds until {until})"
    if info.stale:
        return text + f" (stale: no write since {_minute(info.active)})"
    return text + (" (running)" if info.running else " (active)")


def _minute(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


class Heap(abc.ABC):
    """A backend's stored objects, as one collection sees them."""

    @abc.abstractmethod
    def keys(self) -> Collection[str]:
        """Every stored key (at the time the heap was scanned)."""

    @abc.abstractmethod
    def young(self) -> Iterable[str]:
        """The keys with a copy written at or after the cutoff."""

    @abc.abstractmethod
    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        """Each key's bytes, checked against the key; None if no copy is intact."""

    @abc.abstractmethod
    def sweep(self, marked: set[str], dry_run: bool) -> tuple[int, int]:
        """Removes unmarked objects written before the cutoff.

        Returns:
            Objects removed and bytes freed (what would be, if ``dry_run``).
        """


def intact(key: str, data: bytes | None) -> bool:
    """Whether ``data`` is present and undamaged: it hashes to ``key``, or it
    is the intact manifest of the chunked object ``key``
    (:mod:`enact.backends.chunk_format`)."""
    return stored_intact(key, data)


def read_intact(backend: Objects, keys: Sequence[str]) -> list[bytes | None]:
    """A :meth:`Heap.read` for backends that keep one copy per key."""
    return [
        data if intact(key, data) else None
        for key, data in zip(keys, backend.get_many(keys), strict=True)
    ]


def index_roots(index: Index | None) -> set[str]:
    """Every 64-hex string in the index's records, steps, name targets and claims."""
    found: set[str] = set()
    if index is None:
        return found
    for run_id, record in index.list_runs():
        _scan_hex(record, found)
        for line in index.read_steps(run_id):
            _scan_hex(line, found)
    for target in index.names().values():
        _scan_hex(target.encode("utf-8", "surrogateescape"), found)
    for value in index.claims().values():
        _scan_hex(value, found)
    return found


def _scan_hex(data: bytes, found: set[str]) -> None:
    for match in _HEX_RUN.finditer(data):
        run = match.group()
        for start in range(len(run) - 63):
            found.add(run[start : start + 64].decode("ascii"))


def references(data: bytes) -> Iterator[str]:
    """The digests an object's bytes refer to (an over-approximation).

    The whole object is scanned, blob bytes included: a serializer other than
    the canonical one may put newlines inside its JSON, and a false match only
    keeps an object longer. A chunked object's manifest refers to its chunks
    and nodes and to what its whole bytes refer to; a node to its chunks.
    """
    chunked = stored_references(data)
    if chunked is not None:
        yield from chunked
        return
    for match in REFERENCE.finditer(data):
        yield match.group(1).decode("ascii")


#: Reports how far marking got: (objects scanned, objects in the store).
Progress = Callable[[int, int], None]


def collect(
    *,
    index: Index | None,
    heap: Heap,
    cutoff: float,
    held_back_by: Sequence[SessionInfo],
    dry_run: bool,
    started: float,
    location: str,
    progress: Progress | None = None,
) -> GCReport:
    """Marks from the index's digests and the heap's young objects, then sweeps.

    The caller has computed the cutoff from the other live sessions
    (``held_back_by``) *before* calling, so every process that writes after
    this point is young.

    Raises:
        BackendError: if a marked object cannot be read intact (then what it
            refers to is unknown, so nothing is removed).
    """
    keys = heap.keys()
    roots = {key for key in index_roots(index) if key in keys}
    young = set(heap.young())
    marked, missing = _mark(heap, keys, roots | young, location, progress)
    removed, freed = heap.sweep(marked, dry_run)
    if progress is not None:
        progress(len(keys), len(keys))
    return GCReport(
        kept=len(keys) - removed,
        removed=removed,
        bytes_freed=freed,
        roots=len(roots),
        young=len(young),
        missing=missing,
        live_sessions=len(held_back_by),
        cutoff=cutoff,
        duration=time.monotonic() - started,
        dry_run=dry_run,
        held_back_by=tuple(held_back_by),
    )


def _mark(
    heap: Heap,
    keys: Collection[str],
    roots: set[str],
    location: str,
    progress: Progress | None,
) -> tuple[set[str], int]:
    marked = set(roots)
    missing: set[str] = set()
    frontier = list(roots)
    scanned = 0
    while frontier:
        if progress is not None:
            # Unmarked objects are never read: the total is an upper bound.
            progress(scanned, len(keys))
        batch = frontier[-_READ_BATCH:]
        del frontier[-_READ_BATCH:]
        scanned += len(batch)
        for key, data in zip(batch, heap.read(batch), strict=True):
            if data is None:
                raise BackendError(
                    f"object {key} in {location} cannot be read intact, so what "
                    "it refers to is unknown: garbage collection removed nothing "
                    "(store.verify() lists damage)",
                    location,
                    key,
                )
            for found in references(data):
                if found in marked or found in missing:
                    continue
                if found in keys:
                    marked.add(found)
                    frontier.append(found)
                else:
                    missing.add(found)
    return marked, len(missing)
