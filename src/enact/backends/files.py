"""Objects in a directory: loose files plus pack files for batches.

Layout under the root::

    objects/3f/a9...      one object, named by its digest (fan-out by 2 digits)
    packs/<id>.pack       many small objects written in one batch
    tmp/                  files being written; renamed into place when complete

Every file is written under ``tmp/`` and renamed into place, so a crash never
leaves a partial object under a real name. Packs exist because creating and
renaming a file costs ~70-100 us on ext4, far more than encoding an object; a
batch of small objects becomes one file. A pack is::

    b"ENACTPK1" | object bytes ... | index | footer
    index:  per object: 32-byte digest, 8-byte offset, 8-byte length
    footer: 8-byte index offset, 8-byte object count, b"ENACTEND"
"""

from __future__ import annotations

import itertools
import os
import struct
import threading
import uuid
from collections.abc import Iterator, Sequence

from enact.backends.base import _KEY, Backend, BackendError, Parts, check_key

__all__ = ["FileObjects"]

_MAGIC = b"ENACTPK1"
_END = b"ENACTEND"
_ENTRY = struct.Struct(">32sQQ")
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
        self._tmp = os.path.join(self.root, "tmp")
        try:
            for path in (self._objects, self._packs_dir, self._tmp):
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
            return damaged

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
        batch = len(items) >= _PACK_MIN_OBJECTS
        seen: set[str] = set()
        for key, parts in items:
            if key in self._packed or key in seen:
                continue
            seen.add(key)
            if batch and sum(map(len, parts)) < _LOOSE_MIN_BYTES:
                # No stat per object: a copy of an object that is also stored
                # loose costs a few bytes and is harmless (same content).
                check_key(key, self.location)
                small.append((key, parts))
            elif not os.path.exists(self.path_of(key)):
                self._write_loose(key, parts)
        if len(small) >= _PACK_MIN_OBJECTS:
            self._write_pack(small)
        else:
            for key, parts in small:
                if not os.path.exists(self.path_of(key)):
                    self._write_loose(key, parts)

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
            for fd in self._pack_fds.values():
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._pack_fds.clear()
            self._packed.clear()
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
