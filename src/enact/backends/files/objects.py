"""Objects in a directory: loose files, pack files and append-only logs.

Layout under the root::

    objects/3f/a9...      one large object, named by its digest (fan-out by 2)
    packs/<id>.pack       many small objects written in one batch
    logs/<id>.log         small objects committed a few at a time, by one process
    tmp/                  files being written; renamed into place when complete
    sessions/<pid>-<id>   one per backend object writing now (enact.backends.sessions)
    gc.lock               held by a running garbage collection

and the run index beside them (:mod:`enact.backends.files.index`).

Creating and renaming a file costs ~70-100 us on ext4, far more than encoding
an object, so small objects avoid it: a batch of 64 or more becomes one pack
file, and fewer (a single commit, or the handful a durable run flushes after
each call) are one ``write`` appended to the process's own log. Large objects
(256 KiB and up) are written as loose files.

Loose files and packs are written under ``tmp/`` and renamed into place, so a
crash never leaves a partial file under a real name. A log only grows; a
process killed mid-append leaves at most an incomplete last record, which
readers ignore (it is not indexed), and the object is simply not stored.
Every read is verified against the digest by the store above. The pack and
log formats are in :mod:`enact.backends.files.format`: a log record with a
damaged header costs only that record, and a damaged pack index entry only
its object; a miss while such damage is known raises ``BackendError`` naming
the file. :meth:`FileObjects.scan_damage` (:mod:`enact.backends.files.scan`)
reports it all for ``store.verify()``.

Readers index other processes' packs and logs when a key is missing. A
garbage collection may replace a pack or log by a new pack; a reader whose
index points into a removed file indexes the store again and retries.

A file's modification time is when its objects were written, for garbage
collection (:mod:`enact.backends.gc`). A key stored only in files older than
this backend's session is written again (small objects) or re-stamped (large
loose ones) rather than skipped.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence

from enact.backends import gc as garbage
from enact.backends import sessions
from enact.backends.backend import Backend
from enact.backends.base import (
    _KEY,
    BackendError,
    FileDamage,
    Parts,
    check_key,
)
from enact.backends.files import places
from enact.backends.files.format import (
    Entry,
    pack_chunks,
    parse_log,
    read_pack_index,
    write_file,
)
from enact.backends.files.gc import FileHeap, sync_removals
from enact.backends.files.index import FileIndex
from enact.backends.files.journals import FileJournals
from enact.backends.files.migrations import migrate
from enact.backends.files.own_log import OwnLog
from enact.backends.files.scan import scan_files
from enact.backends.files.spans import read_many

__all__ = ["FileObjects"]

# A batch with at least this many small objects is written as a pack. Durable
# runs flush a handful of objects after every call: those must stay one append
# to the log, not a file create and rename each.
_PACK_MIN_OBJECTS = 64
# Objects at least this large are always written as loose files.
_LOOSE_MIN_BYTES = 256 * 1024
# Pack files kept open for reading, at most (the least recently read closes).
# A store can hold thousands of packs; a process may open only so many files.
_MAX_OPEN_PACKS = 64
# A log is indexed this many bytes at a time (more for a larger record).
_LOG_PIECE = 16 << 20
# Seconds the exit hook waits for a thread writing to a log.
_EXIT_WAIT = 1.0


class FileObjects(Backend):
    """Objects stored as files under ``root``.

    Args:
        root: The store directory; created if missing.
        fsync: Flush every written file (and its directory) to disk before it
            becomes visible, so objects survive power loss. Off by default:
            written objects survive the death of the process either way.
    """

    def __init__(self, root: str | os.PathLike[str], fsync: bool = False) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.location = self.root
        self.fsync = fsync
        self._objects = os.path.join(self.root, "objects")
        self._packs_dir = os.path.join(self.root, "packs")
        self._logs_dir = os.path.join(self.root, "logs")
        self._tmp = os.path.join(self.root, "tmp")
        self._sessions_dir = os.path.join(self.root, "sessions")
        self._counter = itertools.count()
        # The layout's migrations (today's: its directories), then the checks.
        migrate(self.root, self._temp_path())
        self._made_dirs: set[str] = set()
        self._lock = threading.Lock()
        # key -> (pack or log path, offset, length), for every file indexed.
        self._packed: dict[str, tuple[str, int, int]] = {}
        self._loaded_packs: set[str] = set()
        # Modification time of each pack and log indexed, to tell whether a
        # copy is young enough to count as stored (see _fresh).
        self._mtimes: dict[str, float] = {}
        # Keys this backend wrote to a pack or log since _fresh_after.
        self._young: set[str] = set()
        # Open pack files, least recently read first.
        self._pack_fds: dict[str, int] = {}
        # Whether the packs present have been listed since opening.
        self._packs_listed = False
        # This backend's log of small objects (opened on the first append).
        self._own_log = OwnLog(self._logs_dir, fsync, self.location, self._temp_path)
        places.save_at_exit(self)
        # How far each log has been indexed: path -> offset after the last
        # complete record seen.
        self._logs_read: dict[str, int] = {}
        # The logs with old, unframed records.
        self._old_logs: set[str] = set()
        # Why an object may be missing: damage in an indexed file that may
        # have held it (a log's damaged records, a pack's bad index entry).
        self._damage: dict[str, BackendError] = {}
        # Registered on the first write (readers need none); ends when the
        # last use ends (see sessions.Keeper).
        self._sessions = sessions.Keeper(
            self._sessions_dir, self.location, self._session_renewed
        )
        # A stored copy in a file modified before this is written again.
        self._fresh_after = math.inf
        self._index: FileIndex | None = None
        self._journals: FileJournals | None = None
        # Whether a loose copy of a small object may exist: None until the
        # first small write looks (loose objects in the store then, or one
        # written through this object since). Without any, a durable run's
        # few new objects per call are appended without a stat each.
        self._loose_possible: bool | None = None

    # -- paths -------------------------------------------------------------

    def path_of(self, key: str) -> str:
        """The loose-file path of an object (whether or not it exists)."""
        check_key(key, self.location)
        return os.path.join(self._objects, key[:2], key[2:])

    def _temp_path(self) -> str:
        return os.path.join(
            self._tmp, f"{os.getpid()}-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        )

    # -- sessions and the index --------------------------------------------

    def _session_renewed(self, registered: float) -> None:
        """A new session: copies written before it no longer count as stored.

        The log stays only if appended to since just before the session
        started (and not removed): no collection can then remove it, as every
        cutoff is at least a margin earlier. An older one may be being
        removed right now.
        """
        with self._lock:
            self._fresh_after = sessions.fresh_after(registered)
            self._young = set()
            if not self._own_log.is_young(self._fresh_after):
                self._own_log.close()

    def begin_use(self) -> None:
        self._sessions.begin_use()

    def keep_session(self) -> None:
        if time.monotonic() >= self._sessions.next_beat:
            self._sessions.ensure()

    def end_use(self) -> bool:
        return self._sessions.end_use()

    def index(self) -> FileIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = FileIndex(
                        self.root, self._temp_path, self.fsync, self._sessions.ensure
                    )
        return self._index

    def journals(self) -> FileJournals:
        """Step logs, one descriptor per run (:mod:`enact.backends.files.journals`)."""
        if self._journals is None:
            index = self.index()
            with self._lock:
                if self._journals is None:
                    self._journals = FileJournals(self.put_many, index, self.fsync)
        return self._journals

    # -- reading -----------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        # A stretch of a file holding several of the keys is one read.
        return read_many(keys, self._packed, self._read_packed, self._get)

    def _get(self, key: str) -> bytes | None:
        location = self._packed.get(key)
        if location is not None:  # most objects of a journal are packed
            data = self._read_packed(key, *location)
            if data is not None:
                return data
            # A garbage collection replaced the file: index everything again.
            self._reindex()
        data = self._read_loose(self.path_of(key), key)
        if data is not None:
            return data
        location = self._packed.get(key)
        if location is None:
            damaged = self._load_new_packs()
            location = self._packed.get(key)
            if location is None:
                if damaged is not None:
                    # The object may be in the damaged pack.
                    raise damaged
                return None
        return self._read_packed(key, *location)

    def _read_loose(self, path: str, key: str) -> bytes | None:
        try:
            with open(path, "rb") as file:
                return file.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise BackendError(
                f"cannot read {path}: {error}", self.location, key
            ) from None

    def _read_packed(
        self, key: str, pack: str, offset: int, length: int
    ) -> bytes | None:
        """The object's bytes; None if its file is gone (garbage-collected).

        Raises:
            BackendError: if the pack's index entry for the key is damaged
                (its offset is then negative).
        """
        if offset < 0:
            raise BackendError(
                f"pack file {pack} has a damaged index entry for {key} (at offset "
                f"{-offset - 1}): the object cannot be read; store.verify() lists "
                "damage",
                self.location,
                key,
            )
        # Under the lock: another thread may close the least recently used fd.
        with self._lock:
            fds = self._pack_fds
            try:
                fd = fds.pop(pack, None)
                if fd is None:
                    if len(fds) >= _MAX_OPEN_PACKS:
                        os.close(fds.pop(next(iter(fds))))
                    fd = os.open(pack, os.O_RDONLY)
                fds[pack] = fd
                data = os.pread(fd, length, offset)
            except FileNotFoundError:
                return None
            except OSError as error:
                raise BackendError(
                    f"cannot read {pack}: {error}", self.location, key
                ) from None
        if len(data) < length and not os.path.exists(pack):
            return None
        # A short read of a file still there means it was truncated; the
        # digest check above us reports it as a corrupt object naming this key.
        return data

    def _reindex(self) -> None:
        """Forgets every indexed location and indexes the store again."""
        with self._lock:
            self._forget()
        self._load_new_packs()

    def _forget(self) -> None:
        """Drops every indexed location (under the lock)."""
        for fd in self._pack_fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._pack_fds.clear()
        self._packed.clear()
        self._loaded_packs.clear()
        self._logs_read.clear()
        self._old_logs.clear()
        self._damage.clear()
        self._mtimes.clear()
        self._packs_listed = False

    def _load_new_packs(self) -> BackendError | None:
        """Loads the packs and log records not loaded yet.

        Returns:
            The error of a damaged pack or log, if one is (the others load).
        """
        with self._lock:
            try:
                packs = {
                    os.path.join(self._packs_dir, name)
                    for name in os.listdir(self._packs_dir)
                    if name.endswith(".pack")
                }
                logs = {
                    os.path.join(self._logs_dir, name)
                    for name in os.listdir(self._logs_dir)
                    if name.endswith(".log")
                }
            except FileNotFoundError:
                return None
            if not (self._loaded_packs <= packs and self._logs_read.keys() <= logs):
                # A garbage collection removed files indexed here: an object
                # may now be in a new pack, or in a log read past already.
                self._forget()
            self._packs_listed = True
            # Load every healthy file even if one is damaged, so one damaged
            # pack does not hide the objects of the others.
            damaged: BackendError | None = None
            for path in packs - self._loaded_packs:
                try:
                    self._load_pack(path)
                except BackendError as error:
                    damaged = damaged or error
            for path in logs:
                try:
                    self._read_log(path)
                except BackendError as error:
                    damaged = damaged or error
            return damaged or next(iter(self._damage.values()), None)

    def _read_log(self, path: str) -> None:
        """Indexes the records of a log added since it was last read (from
        its saved places first: :mod:`enact.backends.files.places`), a piece
        at a time (so a large log is never all in memory at once)."""
        start = self._logs_read.get(path, 0)
        try:
            with open(path, "rb") as file:
                # The time before the data: a record appended meanwhile only
                # looks older than it is (and is written again if committed).
                status = os.fstat(file.fileno())
                mtime = status.st_mtime
                saved = None if start else places.load_places(path, status.st_size)
                if saved is not None:  # the first copy of a key still wins
                    locations = saved.locations(path)
                    self._packed = places.merge(self._packed, locations)
                    start = self._logs_read[path] = saved.end
                # Read from the start (or from the places saved): kept to save.
                found = None if start and saved is None else places.Places(saved)
                piece = _LOG_PIECE
                while True:
                    file.seek(start)
                    data = file.read(piece)
                    last = len(data) < piece  # the end of the file
                    end, entries = self._index_log_piece(path, data, start, last)
                    if found is not None:
                        found.extend(entries)
                    if last:
                        break
                    if end == start:  # a record larger than the piece
                        piece *= 2
                    start = end
        except FileNotFoundError:
            return  # removed by a garbage collection since it was listed
        except OSError as error:
            message = f"cannot read log file {path}: {error}"
            raise BackendError(message, self.location) from None
        self._mtimes[path] = max(self._mtimes.get(path, mtime), mtime)
        # Not for damaged logs, nor old ones (read on, taken for new ones).
        if found is not None and path not in self._damage.keys() | self._old_logs:
            places.save_places(path, found, self._logs_read[path], self._temp_path())

    def _index_log_piece(
        self, path: str, data: bytes, start: int, last: bool
    ) -> tuple[int, list[Entry]]:
        """Indexes ``data`` (the log from ``start``); returns where to read on
        and the records found.

        Damage running to the end of a piece not the last is read again with
        the next piece (it may end there)."""
        found = parse_log(data, start, path, self.location, path in self._old_logs)
        self._file_entries(path, found.entries)
        if found.old:
            self._old_logs.add(path)
        for gap in found.gaps:
            if not last and gap.end >= start + len(data):
                continue
            if gap.lost:
                self._damage.setdefault(
                    path,
                    BackendError(
                        f"log file {path} is damaged at offset {gap.start}: the "
                        "objects recorded there cannot be read; store.verify() "
                        "lists damage",
                        self.location,
                    ),
                )
        self._logs_read[path] = found.end
        return found.end, found.entries

    def _file_entries(self, path: str, entries: list[Entry]) -> None:
        """Indexes where the objects of a pack or log are (the first copy
        found wins, over a damaged index entry's place too)."""
        packed = self._packed
        for key, offset, length in entries:
            found = packed.get(key)
            if found is None or found[1] < 0:
                packed[key] = (path, offset, length)

    def _load_pack(self, path: str) -> None:
        try:
            with open(path, "rb") as file:
                mtime = os.fstat(file.fileno()).st_mtime
                index = read_pack_index(file, path, self.location)
        except FileNotFoundError:
            return  # removed by a garbage collection since it was listed
        except OSError as error:
            message = f"cannot read pack file {path}: {error}"
            raise BackendError(message, self.location) from None
        packed = self._packed
        self._file_entries(path, index.entries)
        for at, key in index.bad:
            # Found, but unreadable: a read says why (see _read_packed).
            packed.setdefault(key, (path, -at - 1, 0))
        if index.bad:
            self._damage.setdefault(
                path,
                BackendError(
                    f"pack file {path} has a damaged index entry at offset "
                    f"{index.bad[0][0]}; store.verify() lists damage",
                    self.location,
                ),
            )
        self._loaded_packs.add(path)
        self._mtimes.setdefault(path, mtime)

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        return [self._has(key) for key in keys]

    def _has(self, key: str) -> bool:
        location = self._packed.get(key)
        if location is not None:
            if self._fresh(location[0]) or os.path.exists(location[0]):
                return True
            self._reindex()  # its file was garbage-collected
        if key in self._packed or os.path.exists(self.path_of(key)):
            return True
        damaged = self._load_new_packs()
        if key not in self._packed and damaged is not None:
            raise damaged
        return key in self._packed

    def iter_keys(self) -> Iterator[str]:
        seen = set()
        for fan in sorted(os.listdir(self._objects)):
            directory = os.path.join(self._objects, fan)
            if len(fan) != 2 or not os.path.isdir(directory):
                continue
            for rest in sorted(os.listdir(directory)):
                key = fan + rest
                if _KEY.fullmatch(key) is None:
                    continue  # not an object: a stray file someone left here
                seen.add(key)
                yield key
        damaged = self._load_new_packs()
        for key in list(self._packed):
            if key not in seen:
                yield key
        if damaged is not None:
            # After the keys that could be listed, so a verify sees them.
            raise damaged

    def scan_damage(self) -> list[FileDamage]:
        """Reads every pack and log as bytes and reports their damage
        (see :mod:`enact.backends.files.scan`)."""
        return scan_files(self.root, self.location)

    def pack_files(self) -> list[str]:
        """Paths of the pack files present now."""
        return sorted(
            os.path.join(self._packs_dir, name)
            for name in os.listdir(self._packs_dir)
            if name.endswith(".pack")
        )

    # -- writing -----------------------------------------------------------

    def _fresh(self, path: str) -> bool:
        """Whether a copy in the pack or log ``path`` is young enough to skip.

        Young enough: modified since this session started, so no collection
        removes it while this backend is open (the collector keeps files
        modified after the oldest live session started).
        """
        mtime = self._mtimes.get(path)
        if mtime is None:
            return False
        if mtime >= self._fresh_after:
            return True
        if not path.endswith(".log"):
            return False
        try:  # a log grows: it may have been appended to since it was read
            mtime = os.stat(path).st_mtime
        except OSError:
            return False
        self._mtimes[path] = mtime
        return mtime >= self._fresh_after

    def _any_loose(self) -> bool:
        """Whether the store holds any loose object (a fan-out directory)."""
        try:
            with os.scandir(self._objects) as entries:
                return any(len(e.name) == 2 and e.is_dir() for e in entries)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise BackendError(
                f"cannot list {self._objects}: {error}", self.location
            ) from None

    def _fresh_loose(self, key: str) -> bool:
        """Whether a loose copy exists, written since this session started."""
        try:
            return os.stat(self.path_of(key)).st_mtime >= self._fresh_after
        except FileNotFoundError:
            return False
        except OSError as error:
            raise BackendError(
                f"cannot stat {self.path_of(key)}: {error}", self.location, key
            ) from None

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        if not items:
            return
        if time.monotonic() >= self._sessions.next_beat:  # no session, or a beat due
            self._sessions.ensure()
        if not self._packs_listed:
            # Know the packed objects, so they are not written again as loose
            # files (a damaged pack is reported by reads, not here).
            self._load_new_packs()
        small: list[tuple[str, Parts]] = []
        seen: set[str] = set()
        young = self._young
        for key, parts in items:
            if key in seen or key in young:
                continue
            seen.add(key)
            location = self._packed.get(key)
            # A copy behind a damaged index entry (offset < 0) is no copy.
            if location is not None and location[1] >= 0 and self._fresh(location[0]):
                continue
            if sum(map(len, parts)) < _LOOSE_MIN_BYTES:
                # No stat per object: a copy of an object that is also stored
                # loose costs a few bytes and is harmless (same content).
                check_key(key, self.location)
                small.append((key, parts))
            else:
                self._put_loose(key, parts)
        if len(small) >= _PACK_MIN_OBJECTS:
            self._write_pack(small, young)
        elif small:
            if self._loose_possible is None:
                self._loose_possible = self._any_loose()
            if not self._loose_possible:
                # No loose copy can exist: a put with the right bytes is
                # loose only from 256 KiB, and there were none when we looked.
                self._append_to_log(small, young)
                return
            # A few objects: a stat each is cheap next to the write saved.
            fresh = [item for item in small if not self._fresh_loose(item[0])]
            if fresh:
                self._append_to_log(fresh, young)

    def _put_loose(self, key: str, parts: Parts) -> None:
        path = self.path_of(key)
        try:
            if os.stat(path).st_mtime < self._fresh_after:
                # Stored before this session: re-stamp it, so a collection
                # sees it as young (see enact.backends.files.gc for the race).
                os.utime(path)
            return
        except OSError:
            pass  # missing (or not ours to re-stamp): write it
        self._write_loose(key, parts)

    def _append_to_log(
        self, items: Sequence[tuple[str, Parts]], young: set[str]
    ) -> None:
        """Appends to this backend's log; the keys join ``young``, the set of
        the session current when the write began (a set replaced since, by a
        new session, is dropped with them)."""
        raw_keys = [bytes.fromhex(key) for key, _ in items]
        with self._lock:
            path, entries, end = self._own_log.append(raw_keys, items)
            young.update(key for key, _ in items)
            self._file_entries(path, entries)
            self._logs_read[path] = end

    def _save_places_at_exit(self) -> None:
        """Saves the open log's places (a store never closed) at exit."""
        if self._lock.acquire(timeout=_EXIT_WAIT):  # else a thread is stuck
            try:
                self._own_log.save_places()
            finally:
                self._lock.release()

    def _write_loose(self, key: str, parts: Parts) -> None:
        self._loose_possible = True
        path = self.path_of(key)
        directory = os.path.dirname(path)
        if directory not in self._made_dirs:
            os.makedirs(directory, exist_ok=True)
            self._made_dirs.add(directory)
        self._write_file(path, parts, key)

    def _write_file(self, path: str, parts: Parts, key: str | None) -> None:
        try:
            write_file(path, parts, self._temp_path(), self.fsync)
        except OSError as error:
            raise BackendError(
                f"cannot write {path}: {error}", self.location, key
            ) from None

    def _write_pack(self, items: Sequence[tuple[str, Parts]], young: set[str]) -> None:
        path = os.path.join(self._packs_dir, f"{uuid.uuid4().hex}.pack")
        self._write_file(path, pack_chunks(items), None)
        with self._lock:
            self._load_pack(path)
            young.update(key for key, _ in items)

    # -- garbage collection --------------------------------------------------

    def gc(
        self, dry_run: bool = False, progress: garbage.Progress | None = None
    ) -> garbage.GCReport:
        started = time.monotonic()
        lock = os.path.join(self.root, "gc.lock")
        with sessions.exclusive(lock, self.location):
            now = sessions.clock()
            self._begin_collection(now)
            try:
                others = sessions.live_sessions(
                    self._sessions_dir, self._sessions.names()
                )
                cutoff = min([now, *(info.started for info in others)])
                cutoff -= sessions.MARGIN
                heap = FileHeap(self.root, cutoff, self.location, self._temp_path)
                try:
                    report = garbage.collect(
                        index=self.index(),
                        heap=heap,
                        cutoff=cutoff,
                        held_back_by=others,
                        dry_run=dry_run,
                        progress=progress,
                        started=started,
                        location=self.location,
                    )
                finally:
                    heap.close()
                if self.fsync and not dry_run:
                    sync_removals(self.root)
            finally:
                self._reindex()
        return report

    def _begin_collection(self, now: float) -> None:
        """Makes this backend's own writes from now on young, and only those.

        Its session does not hold the cutoff back, so its log may be removed:
        later appends go to a new one, and copies written before ``now`` no
        longer count as stored.
        """
        with self._lock:
            self._fresh_after = sessions.fresh_after(now)
            self._young = set()
            self._own_log.close()
        self._reindex()

    def close(self) -> None:
        if self._journals is not None:
            self._journals.close()
        with self._lock:
            self._own_log.close()
            self._forget()
            self._young.clear()
        # Outside the lock: an index update holds the index's locks and then
        # takes this one (to register the session).
        if self._index is not None:
            self._index.close()
        self._sessions.close()
