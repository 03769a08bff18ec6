"""Objects in a directory: loose files, pack files and append-only logs.

Layout under the root::

    objects/3f/a9...      one large object, named by its digest (fan-out by 2)
    packs/<id>.pack       many small objects written in one batch
    logs/<id>.log         small objects committed one at a time, by one process
    tmp/                  files being written; renamed into place when complete

Creating and renaming a file costs ~70-100 us on ext4, far more than encoding
an object, so small objects avoid it: a batch becomes one pack file, and a
single commit is one ``write`` appended to the process's own log. Large objects
(256 KiB and up) are written as loose files.

Loose files and packs are written under ``tmp/`` and renamed into place, so a
crash never leaves a partial file under a real name. A log only grows; a
process killed mid-append leaves at most an incomplete last record, which
readers ignore (it is not indexed), and the object is simply not stored.
Every read is verified against the digest by the store above.

A pack is::

    b"ENACTPK1" | object bytes ... | index | footer
    index:  per object: 32-byte digest, 8-byte offset, 8-byte length
    footer: 8-byte index offset, 8-byte object count, b"ENACTEND"

A log is ``b"ENACTLG1"`` followed by records: a 32-byte digest, an 8-byte
length, then the object's bytes. Readers index other processes' logs when a
key is missing, from where they stopped the last time.
"""

from __future__ import annotations

import itertools
import os
import struct
import threading
import uuid
from collections.abc import Iterator, Sequence

from enact.backends.base import _KEY, Backend, BackendError, Parts, check_key
from enact.backends.index import Index
from enact.backends.index_files import FileIndex

__all__ = ["FileObjects"]

_MAGIC = b"ENACTPK1"
_END = b"ENACTEND"
_ENTRY = struct.Struct(">32sQQ")
_LOG_MAGIC = b"ENACTLG1"
_LOG_RECORD = struct.Struct(">32sQ")
_FOOTER = struct.Struct(">QQ8s")
# A batch with at least this many small objects is written as a pack.
_PACK_MIN_OBJECTS = 8
# Objects at least this large are always written as loose files.
_LOOSE_MIN_BYTES = 256 * 1024
# writev takes at most IOV_MAX (1024 on Linux) buffers per call.
_IOV_MAX = 1024
# Pack files kept open for reading, at most (the least recently read closes).
# A store can hold thousands of packs; a process may open only so many files.
_MAX_OPEN_PACKS = 64


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
        try:
            for path in (self._objects, self._packs_dir, self._logs_dir, self._tmp):
                os.makedirs(path, exist_ok=True)
        except OSError as error:
            raise BackendError(
                f"cannot use {self.root} as a store directory: {error}", self.root
            ) from None
        self._made_dirs: set[str] = set()
        self._lock = threading.Lock()
        # key -> (pack path, offset, length), for every pack loaded so far.
        self._packed: dict[str, tuple[str, int, int]] = {}
        self._loaded_packs: set[str] = set()
        # Open pack files, least recently read first.
        self._pack_fds: dict[str, int] = {}
        # Whether the packs present have been listed since opening.
        self._packs_listed = False
        self._counter = itertools.count()
        # This process's log (opened on the first single commit): its path,
        # descriptor and length.
        self._log: tuple[str, int] | None = None
        self._log_end = 0
        # How far each log has been indexed: path -> offset after the last
        # complete record seen.
        self._logs_read: dict[str, int] = {}
        self._index: FileIndex | None = None

    def index(self) -> Index:
        """The run index, in files beside the objects (opened on first use)."""
        with self._lock:
            if self._index is None:
                self._index = FileIndex(self.root, fsync=self.fsync)
            return self._index

    # -- paths -------------------------------------------------------------

    def path_of(self, key: str) -> str:
        """The loose-file path of an object (whether or not it exists)."""
        check_key(key, self.location)
        return os.path.join(self._objects, key[:2], key[2:])

    def _temp_path(self) -> str:
        return os.path.join(
            self._tmp, f"{os.getpid()}-{next(self._counter)}-{uuid.uuid4().hex[:8]}"
        )

    # -- reading -----------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._get(key) for key in keys]

    def _get(self, key: str) -> bytes | None:
        path = self.path_of(key)
        location = self._packed.get(key)
        if location is not None:  # most objects of a journal are packed
            return self._read_packed(key, *location)
        try:
            with open(path, "rb") as file:
                return file.read()
        except FileNotFoundError:
            pass
        except OSError as error:
            raise BackendError(
                f"cannot read {path}: {error}", self.location, key
            ) from None
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

    def _read_packed(self, key: str, pack: str, offset: int, length: int) -> bytes:
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
            except OSError as error:
                raise BackendError(
                    f"cannot read {pack}: {error}", self.location, key
                ) from None
        # A short read means the pack was truncated; the digest check above us
        # reports it as a corrupt object naming this key.
        return data

    def _load_new_packs(self) -> BackendError | None:
        """Loads the packs not loaded yet; returns the error of a damaged one."""
        with self._lock:
            try:
                names = os.listdir(self._packs_dir)
            except FileNotFoundError:
                return None
            self._packs_listed = True
            loaded = self._loaded_packs
            # Load every healthy pack even if one is damaged, so one damaged
            # pack does not hide the objects of the others.
            damaged: BackendError | None = None
            for name in names:
                path = os.path.join(self._packs_dir, name)
                if name.endswith(".pack") and path not in loaded:
                    try:
                        self._load_pack(path)
                    except BackendError as error:
                        damaged = damaged or error
            try:
                logs = os.listdir(self._logs_dir)
            except FileNotFoundError:
                logs = []
            for name in logs:
                if name.endswith(".log"):
                    try:
                        self._read_log(os.path.join(self._logs_dir, name))
                    except BackendError as error:
                        damaged = damaged or error
            return damaged

    def _read_log(self, path: str) -> None:
        """Indexes the records of a log added since it was last read."""
        start = self._logs_read.get(path, 0)
        try:
            with open(path, "rb") as file:
                file.seek(start)
                data = file.read()
        except OSError as error:
            message = f"cannot read log file {path}: {error}"
            raise BackendError(message, self.location) from None
        position = 0
        if start == 0:
            if len(data) < len(_LOG_MAGIC):
                return  # being created
            if data[: len(_LOG_MAGIC)] != _LOG_MAGIC:
                raise BackendError(
                    f"log file {path} is damaged (bad header); store.verify() "
                    "lists damage",
                    self.location,
                )
            position = len(_LOG_MAGIC)
        record = _LOG_RECORD.size
        while position + record <= len(data):
            raw, length = _LOG_RECORD.unpack_from(data, position)
            end = position + record + length
            if end > len(data):
                break  # the last record is still being written, or was cut
            self._packed.setdefault(
                raw.hex(), (path, start + position + record, length)
            )
            position = end
        self._logs_read[path] = start + position

    def _load_pack(self, path: str) -> None:
        try:
            with open(path, "rb") as file:
                size = file.seek(0, os.SEEK_END)
                if size < len(_MAGIC) + _FOOTER.size:
                    raise ValueError("too short")
                file.seek(size - _FOOTER.size)
                index_at, count, end = _FOOTER.unpack(file.read(_FOOTER.size))
                if end != _END or index_at + count * _ENTRY.size != size - _FOOTER.size:
                    raise ValueError("bad footer")
                file.seek(index_at)
                index = file.read(count * _ENTRY.size)
        except OSError as error:
            message = f"cannot read pack file {path}: {error}"
            raise BackendError(message, self.location) from None
        except (ValueError, struct.error) as error:
            raise BackendError(
                f"pack file {path} is damaged ({error}); store.verify() lists damage",
                self.location,
            ) from None
        entries = list(_ENTRY.iter_unpack(index))
        for _, offset, length in entries:
            if offset + length > index_at:
                raise BackendError(
                    f"pack file {path} has a bad index entry", self.location
                )
        for raw, offset, length in entries:
            self._packed.setdefault(raw.hex(), (path, offset, length))
        self._loaded_packs.add(path)

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        return [self._has(key) for key in keys]

    def _has(self, key: str) -> bool:
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
        if damaged is not None:
            raise damaged
        for key in list(self._packed):
            if key not in seen:
                yield key

    def pack_files(self) -> list[str]:
        """Paths of the pack files present now."""
        return sorted(
            os.path.join(self._packs_dir, name)
            for name in os.listdir(self._packs_dir)
            if name.endswith(".pack")
        )

    # -- writing -----------------------------------------------------------

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        if not self._packs_listed:
            # Know the packed objects, so they are not written again as loose
            # files (a damaged pack is reported by reads, not here).
            self._load_new_packs()
        small: list[tuple[str, Parts]] = []
        seen: set[str] = set()
        for key, parts in items:
            if key in self._packed or key in seen:
                continue
            seen.add(key)
            if sum(map(len, parts)) < _LOOSE_MIN_BYTES:
                # No stat per object: a copy of an object that is also stored
                # loose costs a few bytes and is harmless (same content).
                check_key(key, self.location)
                small.append((key, parts))
            elif not os.path.exists(self.path_of(key)):
                self._write_loose(key, parts)
        if len(small) >= _PACK_MIN_OBJECTS:
            self._write_pack(small)
        elif small:
            # A few objects: a stat each is cheap next to the write saved.
            fresh = [
                item for item in small if not os.path.exists(self.path_of(item[0]))
            ]
            if fresh:
                self._append_to_log(fresh)

    def _append_to_log(self, items: Sequence[tuple[str, Parts]]) -> None:
        chunks: list[bytes] = []
        for key, parts in items:
            chunks.append(_LOG_RECORD.pack(bytes.fromhex(key), sum(map(len, parts))))
            chunks.extend(parts)
        with self._lock:
            if self._log is None:
                self._log = self._open_log()
            path, fd = self._log
            try:
                # One writev, appended: other readers see whole records or
                # (while it is being written) an incomplete last one.
                _write_all(fd, chunks)
                if self.fsync:
                    os.fsync(fd)
            except OSError as error:
                raise BackendError(
                    f"cannot append to {path}: {error}", self.location
                ) from None
            position = self._log_end
            for key, parts in items:
                length = sum(map(len, parts))
                position += _LOG_RECORD.size
                self._packed.setdefault(key, (path, position, length))
                position += length
            self._log_end = position
            self._logs_read[path] = position

    def _open_log(self) -> tuple[str, int]:
        path = os.path.join(self._logs_dir, f"{os.getpid()}-{uuid.uuid4().hex}.log")
        try:
            fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644
            )
            _write_all(fd, [_LOG_MAGIC])
            if self.fsync:
                os.fsync(fd)
                _fsync_dir(self._logs_dir)
        except OSError as error:
            raise BackendError(
                f"cannot create {path}: {error}", self.location
            ) from None
        self._log_end = len(_LOG_MAGIC)
        return path, fd

    def _write_loose(self, key: str, parts: Parts) -> None:
        path = self.path_of(key)
        directory = os.path.dirname(path)
        if directory not in self._made_dirs:
            os.makedirs(directory, exist_ok=True)
            self._made_dirs.add(directory)
        self._write_file(path, parts, key)

    def _write_file(self, path: str, parts: Parts, key: str | None) -> None:
        temp = self._temp_path()
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                _write_all(fd, parts)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
            if self.fsync:
                _fsync_dir(os.path.dirname(path))
        except OSError as error:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise BackendError(
                f"cannot write {path}: {error}", self.location, key
            ) from None

    def _write_pack(self, items: Sequence[tuple[str, Parts]]) -> None:
        chunks: list[bytes] = [_MAGIC]
        index: list[bytes] = []
        offset = len(_MAGIC)
        for key, parts in items:
            length = sum(map(len, parts))
            index.append(_ENTRY.pack(bytes.fromhex(key), offset, length))
            chunks.extend(parts)
            offset += length
        chunks.extend(index)
        chunks.append(_FOOTER.pack(offset, len(items), _END))
        path = os.path.join(self._packs_dir, f"{uuid.uuid4().hex}.pack")
        self._write_file(path, chunks, None)
        with self._lock:
            self._load_pack(path)

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
            if self._log is not None:
                try:
                    os.close(self._log[1])
                except OSError:
                    pass
                self._log = None
            for fd in self._pack_fds.values():
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._pack_fds.clear()
            self._packed.clear()
            self._logs_read.clear()
            self._loaded_packs.clear()
            self._packs_listed = False


def _write_all(fd: int, parts: Parts) -> None:
    pending = [memoryview(p) for p in parts if len(p)]
    first = 0
    while first < len(pending):
        written = os.writev(fd, pending[first : first + _IOV_MAX])
        while written:
            size = len(pending[first])
            if written >= size:
                written -= size
                first += 1
            else:
                pending[first] = pending[first][written:]
                written = 0


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
