"""Two tiers of objects: small ones beside the index, large values elsewhere.

:class:`TieredObjects` keeps every object in its *primary* backend (a SQLite
file, a store directory, ...) except values of ``threshold`` bytes or more
that refer to no other object (images, audio, long documents, arrays): those
go to the *blobs* tier, typically object storage
(:class:`~enact.backends.s3.S3Objects`). Reads look in the primary first,
then in the blobs. The user sees one store.

Only leaves are tiered out, so what a blob refers to never needs looking
up: garbage collection runs the primary's own collection unchanged (a blob
it meets is just a reference it does not hold), then sweeps the blobs that
nothing in the index or the primary refers to, written before the primary
collection's cutoff. A blob re-written since (the blobs tier re-stamps keys
written before a collection starts) is young, and kept. ``verify`` reads
both tiers.

The blobs tier's clock is the object service's (``LastModified``): it must
agree with this machine's within :data:`~enact.backends.sessions.MARGIN`
seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from enact.backends import sessions
from enact.backends.backend import Backend
from enact.backends.base import BackendError, FileDamage, Parts, StepWriter
from enact.backends.gc import GCReport, index_roots, references
from enact.backends.index import Index
from enact.backends.journals import Journals
from enact.backends.objects import Objects

__all__ = ["Sweepable", "TieredObjects", "WrittenObject"]

MiB = 1024 * 1024
# Objects read per batch while scanning the primary for references.
_READ_BATCH = 512
# Bytes around each joint of a value's parts that are scanned for a
# reference split between two parts.
_JOINT = 128
# LastModified has whole seconds: a blob counts as written up to this much
# later than listed.
_TIME_RESOLUTION = 1.0


class WrittenObject(Protocol):
    """One listed object of a sweepable tier."""

    key: str
    size: int
    written: float


@runtime_checkable
class Sweepable(Protocol):
    """What garbage collection needs of a blobs tier (S3 objects have it)."""

    def iter_objects(self) -> Iterator[WrittenObject]:
        """Every object with its size and last write (Unix seconds)."""

    def written_many(self, keys: Sequence[str]) -> list[float | None]:
        """Each key's last write, None if absent (looked up now)."""

    def delete_many(self, keys: Sequence[str]) -> None:
        """Removes the objects."""

    def begin_collection(self, now: float) -> None:
        """From now on, a write of a key stored before ``now`` re-stamps it."""


class TieredObjects(Backend):
    """Small objects in ``primary``, large leaf values in ``blobs``.

    Args:
        primary: The backend holding small objects, the index and the
            journals (its ``gc`` and sessions are used).
        blobs: Where values of ``threshold`` bytes or more go.
        threshold: The size (bytes) from which a value that refers to no
            other object is tiered out.
    """

    chunks_large_objects = False  # it holds large values whole

    def __init__(
        self, primary: Backend, blobs: Objects, threshold: int = 1 * MiB
    ) -> None:
        if threshold < 1:
            raise BackendError(
                f"the tiering threshold must be 1 byte at least, got {threshold}",
                primary.location,
            )
        self.primary = primary
        self.blobs = blobs
        self.threshold = threshold
        self.location = (
            f"{primary.location} (values of {threshold} bytes or more in "
            f"{blobs.location})"
        )
        self._journals: _TieredJournals | None = None

    # -- the three parts -----------------------------------------------------

    def index(self) -> Index | None:
        return self.primary.index()

    def journals(self) -> Journals | None:
        if self._journals is None:
            inner = self.primary.journals()
            if inner is None:
                return None
            self._journals = _TieredJournals(inner, self)
        return self._journals

    # -- objects ---------------------------------------------------------------

    def split(
        self, items: Sequence[tuple[str, Parts]]
    ) -> tuple[list[tuple[str, Parts]], list[tuple[str, Parts]]]:
        """``items`` as (small ones, blobs)."""
        small: list[tuple[str, Parts]] = []
        large: list[tuple[str, Parts]] = []
        threshold = self.threshold
        for item in items:
            parts = item[1]
            if sum(len(part) for part in parts) >= threshold and not _refers(parts):
                large.append(item)
            else:
                small.append(item)
        return small, large

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        small, large = self.split(items)
        if large:
            self.primary.keep_session()  # collections hold back for the blobs
            self.blobs.put_many(large)
        if small:
            self.primary.put_many(small)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found = self.primary.get_many(keys)
        absent = [i for i, data in enumerate(found) if data is None]
        if absent:
            more = self.blobs.get_many([keys[i] for i in absent])
            for i, data in zip(absent, more, strict=True):
                found[i] = data
        return found

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        found = self.primary.has_many(keys)
        absent = [i for i, there in enumerate(found) if not there]
        if absent:
            more = self.blobs.has_many([keys[i] for i in absent])
            for i, there in zip(absent, more, strict=True):
                found[i] = there
        return found

    def iter_keys(self) -> Iterator[str]:
        seen: set[str] = set()
        for key in self.primary.iter_keys():
            seen.add(key)
            yield key
        for key in self.blobs.iter_keys():
            if key not in seen:
                yield key

    def scan_damage(self) -> list[FileDamage]:
        return [*self.primary.scan_damage(), *self.blobs.scan_damage()]

    # -- what the primary provides ---------------------------------------------

    def atomically(self) -> contextlib.AbstractContextManager[None]:
        return self.primary.atomically()

    def begin_use(self) -> None:
        self.primary.begin_use()

    def keep_session(self) -> None:
        self.primary.keep_session()

    def end_use(self) -> bool:
        return self.primary.end_use()

    def close(self) -> None:
        self.primary.close()
        self.blobs.close()

    # -- garbage collection ----------------------------------------------------

    def gc(
        self,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> GCReport:
        """The primary's collection, then a sweep of the blobs nothing refers to.

        Raises:
            BackendError: if the blobs tier cannot list write times, or a
                live object cannot be read (then the blobs are kept).
        """
        blobs = self.blobs
        if not isinstance(blobs, Sweepable):
            raise BackendError(
                f"{blobs!r} lists no write times, so its objects cannot be collected",
                self.location,
            )
        started = time.monotonic()
        blobs.begin_collection(sessions.clock())
        report = self.primary.gc(dry_run=dry_run, progress=progress)
        cutoff = report.cutoff
        primary_keys, referred = self._primary_references()
        listed = list(blobs.iter_objects())
        blob_keys = {each.key for each in listed}
        live = referred | index_roots(self.index())
        doomed = [
            each
            for each in listed
            if each.key not in live
            and each.key not in primary_keys
            and each.written + _TIME_RESOLUTION < cutoff
        ]
        if doomed:
            # Looked at again: a writer may have re-stamped one meanwhile.
            again = blobs.written_many([each.key for each in doomed])
            doomed = [
                each
                for each, written in zip(doomed, again, strict=True)
                if written is not None and written + _TIME_RESOLUTION < cutoff
            ]
        if doomed and not dry_run:
            blobs.delete_many([each.key for each in doomed])
        missing = referred - primary_keys - blob_keys
        young = sum(each.written + _TIME_RESOLUTION >= cutoff for each in listed)
        return dataclasses.replace(
            report,
            kept=report.kept + len(listed) - len(doomed),
            removed=report.removed + len(doomed),
            bytes_freed=report.bytes_freed + sum(each.size for each in doomed),
            roots=report.roots + len(blob_keys & live),
            young=report.young + young,
            missing=len(missing),
            duration=time.monotonic() - started,
        )

    def _primary_references(self) -> tuple[set[str], set[str]]:
        """The primary's keys, and every digest its objects refer to."""
        keys = list(self.primary.iter_keys())
        referred: set[str] = set()
        for start in range(0, len(keys), _READ_BATCH):
            batch = keys[start : start + _READ_BATCH]
            for key, data in zip(batch, self.primary.get_many(batch), strict=True):
                if data is None:
                    raise BackendError(
                        f"object {key} in {self.primary.location} cannot be "
                        "read, so which blobs it refers to is unknown: no blob "
                        "was removed (store.verify() lists damage)",
                        self.location,
                        key,
                    )
                referred.update(references(data))
        return set(keys), referred


def _refers(parts: Parts) -> bool:
    """Whether a value's bytes may hold a reference (over-approximated)."""
    for part in parts:
        if next(references(part), None) is not None:
            return True
    for before, after in itertools.pairwise(parts):
        if next(references(before[-_JOINT:] + after[:_JOINT]), None) is not None:
            return True
    return False


class _TieredJournals(Journals):
    """The primary's journals, with a run's large values sent to the blobs."""

    def __init__(self, inner: Journals, objects: TieredObjects) -> None:
        self.location = inner.location
        self._inner = inner
        self._objects = objects

    def step_writer(self, run_id: str) -> StepWriter:
        inner = self._inner.step_writer(run_id)
        split, blobs = self._objects.split, self._objects.blobs
        keep_session = self._objects.primary.keep_session

        def write(
            items: Sequence[tuple[str, Parts]], lines: bytes, recovery: bytes
        ) -> None:
            if items:
                small, large = split(items)
                if large:
                    keep_session()
                    blobs.put_many(large)  # before the lines that name them
                items = small
            inner(items, lines, recovery)

        return write

    def write_steps(
        self, run_id: str, items: Sequence[tuple[str, Parts]], lines: Sequence[bytes]
    ) -> None:
        small, large = self._objects.split(items)
        if large:
            self._objects.primary.keep_session()
            self._objects.blobs.put_many(large)
        self._inner.write_steps(run_id, small, lines)

    def read_steps(self, run_id: str) -> list[bytes]:
        return self._inner.read_steps(run_id)

    def settle_steps(self, run_id: str, ended: bool = False) -> None:
        self._inner.settle_steps(run_id, ended)

    def scan_damage(self) -> list[FileDamage]:
        return self._inner.scan_damage()

    def close(self) -> None:
        self._inner.close()
