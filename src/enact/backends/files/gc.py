"""Garbage collection of a file store: what is stored where, and the sweep.

The rule itself is in :mod:`enact.backends.gc`. Here a file's modification
time is its objects' write time: a loose file or pack is written once, and a
log's last append is at least as late as any record in it.

The sweep never loses a marked object, even if it is killed half-way:

1. Marked objects held only by files about to go are copied into new pack
   files, written and flushed to disk (file and directory) first.
2. Then the old packs and logs (modified before the cutoff, and holding an
   unmarked object) are removed.
3. Unmarked loose files are renamed to ``tmp/trash-<key>-...`` and removed
   only if their modification time is still before the cutoff: a writer
   re-stamps an old loose object (``os.utime``) when it commits it again, and
   one re-stamped between the scan and the removal is put back. (If the
   collector dies in between, the next one puts back a trash file that is
   young.)
4. Files in ``tmp/`` left by writers that are gone (older than the cutoff).

Files modified at or after the cutoff are never touched. Readers in other
processes that indexed a removed pack or log find the object again (see
:meth:`enact.backends.files.FileObjects.get_many`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence

from enact.backends import gc as garbage
from enact.backends.base import _KEY, BackendError, Parts
from enact.backends.files.format import (
    ENTRY,
    FOOTER,
    MAGIC,
    Entry,
    fsync_dir,
    pack_chunks,
    parse_log,
    read_pack_index,
    write_file,
)
from enact.backends.files.places import remove_stale_places

__all__ = ["FileHeap"]

# A pack written by the sweep holds at most this many bytes of objects.
_PACK_BYTES = 64 * 1024 * 1024
# Pack and log files kept open for reading while marking, at most.
_MAX_OPEN = 64
# Names of loose objects being removed, in tmp/ (followed by the key).
_TRASH = "trash-"


@dataclasses.dataclass
class _Container:
    """A pack or log file and the objects in it."""

    path: str
    size: int
    mtime: float
    entries: list[Entry]


@dataclasses.dataclass
class _Loose:
    path: str
    size: int
    mtime: float


class FileHeap(garbage.Heap):
    """The objects of a file store, scanned once for one collection.

    Args:
        root: The store directory.
        cutoff: Files modified before it are old.
        location: The store's location, for messages.
        temp_path: Returns a new path under the store's ``tmp/``.

    Raises:
        BackendError: if a pack or log is damaged: what its objects refer to
            is unknown, so nothing may be removed until it is repaired.
    """

    def __init__(
        self, root: str, cutoff: float, location: str, temp_path: Callable[[], str]
    ) -> None:
        self._root = root
        self._cutoff = cutoff
        self._location = location
        self._temp_path = temp_path
        self._loose: dict[str, _Loose] = {}
        self._containers: list[_Container] = []
        # key -> [(container number, offset, length)]
        self._copies: dict[str, list[tuple[int, int, int]]] = {}
        self._fds: dict[int, int] = {}
        damaged: list[str] = []
        self._scan_loose()
        self._scan_containers("packs", ".pack", damaged)
        self._scan_containers("logs", ".log", damaged)
        if damaged:
            raise BackendError(
                "garbage collection removed nothing: what the objects in "
                f"{', '.join(damaged)} refer to is unknown until the damage is "
                "repaired (store.verify() lists it)",
                location,
            )
        self._keys = self._loose.keys() | self._copies.keys()

    # -- scanning ------------------------------------------------------------

    def _scan_loose(self) -> None:
        objects = os.path.join(self._root, "objects")
        for fan in _listdir(objects, self._location):
            directory = os.path.join(objects, fan)
            if len(fan) != 2 or not os.path.isdir(directory):
                continue
            try:
                entries = list(os.scandir(directory))
            except OSError as error:
                raise BackendError(
                    f"cannot list {directory}: {error}", self._location
                ) from None
            for entry in entries:
                key = fan + entry.name
                if _KEY.fullmatch(key) is None:
                    continue  # not an object: a stray file
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                self._loose[key] = _Loose(entry.path, stat.st_size, stat.st_mtime)

    def _scan_containers(self, folder: str, suffix: str, damaged: list[str]) -> None:
        directory = os.path.join(self._root, folder)
        for name in sorted(_listdir(directory, self._location)):
            if not name.endswith(suffix):
                continue
            path = os.path.join(directory, name)
            try:
                container = self._read_container(path, suffix == ".pack")
            except FileNotFoundError:
                continue
            except BackendError:
                damaged.append(path)
                continue
            number = len(self._containers)
            self._containers.append(container)
            for key, offset, length in container.entries:
                self._copies.setdefault(key, []).append((number, offset, length))

    def _read_container(self, path: str, pack: bool) -> _Container:
        try:
            with open(path, "rb") as file:
                # The time first: a log appended while it is read only looks
                # older than it is, which keeps more.
                mtime = os.fstat(file.fileno()).st_mtime
                if pack:
                    index = read_pack_index(file, path, self._location)
                    entries = index.entries
                    size = file.seek(0, os.SEEK_END)
                    if index.bad:
                        raise BackendError(
                            f"pack file {path} has a damaged index entry at "
                            f"offset {index.bad[0][0]}",
                            self._location,
                        )
                else:
                    data = file.read()
                    found = parse_log(data, 0, path, self._location)
                    entries = found.entries
                    size = len(data)
                    lost = [gap for gap in found.gaps if gap.lost]
                    if lost:
                        raise BackendError(
                            f"log file {path} is damaged at offset {lost[0].start}",
                            self._location,
                        )
        except FileNotFoundError:
            raise
        except OSError as error:
            raise BackendError(f"cannot read {path}: {error}", self._location) from None
        return _Container(path, size, mtime, entries)

    # -- the Heap interface --------------------------------------------------

    def keys(self) -> Collection[str]:
        return self._keys

    def young(self) -> Iterable[str]:
        cutoff = self._cutoff
        young = {key for key, loose in self._loose.items() if loose.mtime >= cutoff}
        for container in self._containers:
            if container.mtime >= cutoff:
                young.update(key for key, _, _ in container.entries)
        return young

    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._read_one(key) for key in keys]

    def _read_one(self, key: str) -> bytes | None:
        loose = self._loose.get(key)
        if loose is not None:
            try:
                with open(loose.path, "rb") as file:
                    data = file.read()
            except OSError:
                data = None
            if garbage.intact(key, data):
                return data
        for number, offset, length in self._copies.get(key, ()):
            data = self._pread(number, offset, length)
            if garbage.intact(key, data):
                return data
        return None

    def _pread(self, number: int, offset: int, length: int) -> bytes | None:
        fds = self._fds
        try:
            fd = fds.pop(number, None)
            if fd is None:
                if len(fds) >= _MAX_OPEN:
                    os.close(fds.pop(next(iter(fds))))
                fd = os.open(self._containers[number].path, os.O_RDONLY)
            fds[number] = fd
            return os.pread(fd, length, offset)
        except OSError:
            return None

    def close(self) -> None:
        """Closes the files opened for reading."""
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    # -- sweeping ------------------------------------------------------------

    def sweep(self, marked: set[str], dry_run: bool) -> tuple[int, int]:
        cutoff = self._cutoff
        doomed = [
            number
            for number, container in enumerate(self._containers)
            if container.mtime < cutoff
            and any(key not in marked for key, _, _ in container.entries)
        ]
        self._check_doomed(doomed, marked)
        moving = self._to_move(marked, set(doomed))
        loose = [
            (key, each)
            for key, each in self._loose.items()
            if key not in marked and each.mtime < cutoff
        ]
        unmarked = [key for key in self._keys if key not in marked]
        temps = self._old_temps()
        if dry_run:
            freed = sum(self._containers[n].size for n in doomed)
            freed += sum(each.size for _, each in loose)
            freed += sum(size for _, size in temps)
            freed -= _packs_size([length for _, _, length in moving.values()])
            return len(unmarked), freed
        self._restore_young_trash()
        freed = -self._write_packs(moving)
        kept: set[str] = set()
        for number in doomed:
            freed += self._remove_container(self._containers[number], marked, kept)
        for key, each in loose:
            freed += self._remove_loose(key, each, kept)
        for path, size in temps:
            with contextlib.suppress(OSError):
                os.unlink(path)
                freed += size
        remove_stale_places(self._root, os.path.exists)
        return len(unmarked) - len(kept), freed

    def _check_doomed(self, doomed: list[int], marked: set[str]) -> None:
        """Refuses to remove a file holding bytes that do not match their key.

        Such bytes may be a live object whose index entry has a damaged digest
        (so it looks unreferenced): removing the file would lose it for good.
        The marked objects are checked when they are read.

        Raises:
            BackendError: naming the file and the key; nothing is removed.
        """
        for number in doomed:
            container = self._containers[number]
            for key, offset, length in container.entries:
                if key in marked:
                    continue
                if not garbage.intact(key, self._pread(number, offset, length)):
                    raise BackendError(
                        f"{container.path} holds bytes at offset {offset} that do "
                        f"not match their digest {key} (a damaged object or index "
                        "entry): garbage collection removed nothing until it is "
                        "repaired (store.verify() lists damage)",
                        self._location,
                        key,
                    )

    def _to_move(self, marked: set[str], doomed: set[int]) -> dict[str, Entry]:
        """The marked objects whose every copy is in a file about to go."""
        moving: dict[str, Entry] = {}
        for number in sorted(doomed):
            for key, offset, length in self._containers[number].entries:
                if key not in marked or key in moving or key in self._loose:
                    continue
                if all(copy[0] in doomed for copy in self._copies[key]):
                    moving[key] = (key, offset, length)
        return moving

    def _write_packs(self, moving: dict[str, Entry]) -> int:
        """Writes the moving objects into new packs; returns their total size."""
        written = 0
        batch: list[tuple[str, Parts]] = []
        batch_bytes = 0
        for key in moving:
            data = self._read_one(key)
            if data is None:
                raise BackendError(
                    f"object {key} in {self._location} cannot be read intact, so "
                    "garbage collection cannot keep it: it removed nothing more "
                    "(store.verify() lists damage)",
                    self._location,
                    key,
                )
            batch.append((key, [data]))
            batch_bytes += len(data)
            if batch_bytes >= _PACK_BYTES:
                written += self._write_pack(batch)
                batch, batch_bytes = [], 0
        if batch:
            written += self._write_pack(batch)
        return written

    def _write_pack(self, items: list[tuple[str, Parts]]) -> int:
        chunks = pack_chunks(items)
        path = os.path.join(self._root, "packs", f"{uuid.uuid4().hex}.pack")
        try:
            # Always flushed: it replaces files that may have been on disk
            # for a long time, and must be there before they are removed.
            write_file(path, chunks, self._temp_path(), fsync=True)
        except OSError as error:
            raise BackendError(
                f"cannot write {path}: {error}; nothing was removed", self._location
            ) from None
        return sum(map(len, chunks))

    def _remove_container(
        self, container: _Container, marked: set[str], kept: set[str]
    ) -> int:
        try:
            # A file modified after the scan is in use after all: leave it.
            if os.stat(container.path).st_mtime >= self._cutoff:
                kept.update(k for k, _, _ in container.entries if k not in marked)
                return 0
            os.unlink(container.path)
        except FileNotFoundError:
            return 0
        except OSError as error:
            raise BackendError(
                f"cannot remove {container.path}: {error}", self._location
            ) from None
        return container.size

    def _remove_loose(self, key: str, loose: _Loose, kept: set[str]) -> int:
        trash = os.path.join(self._root, "tmp", f"{_TRASH}{key}-{uuid.uuid4().hex[:8]}")
        try:
            if os.stat(loose.path).st_mtime >= self._cutoff:
                kept.add(key)  # re-stamped since the scan
                return 0
            os.rename(loose.path, trash)
        except FileNotFoundError:
            return 0
        except OSError as error:
            raise BackendError(
                f"cannot remove {loose.path}: {error}", self._location
            ) from None
        if self._restore_if_young(trash, loose.path):
            # Re-stamped by a writer between the check and the rename.
            kept.add(key)
            return 0
        return loose.size

    def _restore_young_trash(self) -> None:
        """Puts back re-stamped objects that a collector that died left in tmp/."""
        directory = os.path.join(self._root, "tmp")
        for name in _listdir(directory, self._location):
            key = name[len(_TRASH) : len(_TRASH) + 64]
            if name.startswith(_TRASH) and _KEY.fullmatch(key):
                target = os.path.join(self._root, "objects", key[:2], key[2:])
                self._restore_if_young(os.path.join(directory, name), target)

    def _restore_if_young(self, trash: str, path: str) -> bool:
        """Links a trash file back to ``path`` if it was modified since the cutoff.

        Returns:
            Whether it was put back. Either way the trash file is removed.
        """
        try:
            young = os.stat(trash).st_mtime >= self._cutoff
            if young:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with contextlib.suppress(FileExistsError):  # a writer wrote it anew
                    os.link(trash, path)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise BackendError(
                f"cannot put back {path}: {error}", self._location
            ) from None
        with contextlib.suppress(OSError):
            os.unlink(trash)
        return young

    def _old_temps(self) -> list[tuple[str, int]]:
        """Files in ``tmp/`` older than the cutoff: left by writers now gone."""
        directory = os.path.join(self._root, "tmp")
        found = []
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return []
        for entry in entries:
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.st_mtime < self._cutoff:
                found.append((entry.path, stat.st_size))
        return found


def sync_removals(root: str) -> None:
    """Flushes the directories the sweep removed files from."""
    for folder in ("packs", "logs", "tmp"):
        with contextlib.suppress(OSError):
            fsync_dir(os.path.join(root, folder))


def _packs_size(lengths: list[int]) -> int:
    """The size of the packs :meth:`FileHeap._write_packs` writes for ``lengths``."""
    packs = in_batch = batch_bytes = 0
    for length in lengths:
        in_batch += 1
        batch_bytes += length
        if batch_bytes >= _PACK_BYTES:
            packs += 1
            in_batch = batch_bytes = 0
    packs += in_batch > 0
    overhead = len(MAGIC) + FOOTER.size
    return sum(lengths) + len(lengths) * ENTRY.size + packs * overhead


def _listdir(directory: str, location: str) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise BackendError(f"cannot list {directory}: {error}", location) from None
