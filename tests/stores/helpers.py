"""Helpers shared by the store tests (resource types, on-disk checks)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pathlib
import random
import struct
import sys
from collections.abc import Iterator
from typing import Any

import enact
from enact.backends import Backend, FileObjects, MemoryObjects, SQLiteObjects, chunked
from enact.references import Damage, InMemoryBackend, Store

# The pack format, as documented in enact.backends.files. Parsed here
# independently so the tests pin the documented format, not the code.
PACK_MAGIC = b"ENACTPK1"
PACK_END = b"ENACTEND"
PACK_ENTRY = struct.Struct(">32sQQ")
PACK_FOOTER = struct.Struct(">QQ8s")


STORE_KINDS = ("memory", "file", "sqlite", "postgres")
# Byte backends: each family's, and each under the chunking layer that every
# store puts over it (enact.backends.chunked).
BACKEND_KINDS = (*STORE_KINDS, *(f"{kind}, chunked" for kind in STORE_KINDS))

# The smallest batch of small objects a file store writes as a pack file (as
# documented in enact.backends.files); smaller ones are appended to its log.
PACK_MIN = 64


@dataclasses.dataclass
class StoreKind:
    """How to open (and reopen) one kind of store in a test directory.

    Memory stores cannot outlive their backend object, so "reopening" one wraps
    the same backend in a new :class:`Store`.
    """

    name: str
    path: str

    def __post_init__(self) -> None:
        self._memory: InMemoryBackend | None = None

    @property
    def persistent(self) -> bool:
        return self.name != "memory"

    def open(self) -> Store:
        if self.name == "memory":
            if self._memory is None:
                self._memory = InMemoryBackend()
            return Store(self._memory)
        if self.name == "file":
            return enact.FileStore(self.path)
        if self.name == "postgres":
            return enact.open_store(self.path)
        return enact.SQLiteStore(self.path)


@dataclasses.dataclass
class BackendKind:
    """How to open (and reopen) one byte backend in a test directory."""

    name: str
    path: str

    def __post_init__(self) -> None:
        self._memory: MemoryObjects | None = None

    @property
    def persistent(self) -> bool:
        return self.family != "memory"

    @property
    def family(self) -> str:
        """memory, file or sqlite."""
        return self.name.split(",")[0]

    def open(self) -> Backend:
        backend = self._open_family()
        return chunked.ChunkedObjects(backend) if "chunked" in self.name else backend

    def _open_family(self) -> Backend:
        if self.family == "memory":
            if self._memory is None:
                self._memory = MemoryObjects()
            return self._memory
        if self.family == "file":
            return FileObjects(self.path)
        if self.family == "postgres":
            from enact.backends.postgres import PostgresObjects

            return PostgresObjects(self.path)
        return SQLiteObjects(self.path)


def location_in(name: str, directory: str) -> str:
    """Where a store of kind ``name`` lives inside ``directory``."""
    if name.split(",")[0] == "file":
        return os.path.join(directory, "store")
    return os.path.join(directory, "store.sqlite")


@enact.register(name="tests.stores.Sample")
@dataclasses.dataclass
class Sample(enact.Resource):
    """A resource with one field of every kind a store must keep apart."""

    number: int = 0
    real: float = 0.0
    flag: bool = False
    text: str = ""
    blob: bytes = b""
    nothing: None = None
    items: list[Any] = dataclasses.field(default_factory=list)
    mapping: dict[str, Any] = dataclasses.field(default_factory=dict)
    child: Any = None


@contextlib.contextmanager
def whole_objects() -> Iterator[None]:
    """Stores large objects whole inside the block, as stores written before
    chunking hold them (a file store: a large one as a loose file)."""
    saved = chunked.THRESHOLD
    saved_floor = chunked.LONG_VALUE_THRESHOLD
    chunked.THRESHOLD = chunked.LONG_VALUE_THRESHOLD = sys.maxsize
    try:
        yield
    finally:
        chunked.THRESHOLD, chunked.LONG_VALUE_THRESHOLD = saved, saved_floor


def large_text(seed: int, size: int = 100_000) -> str:
    """Prose-like text of ``size`` characters, the same for the same seed."""
    rng = random.Random(seed)
    words = ["the", "of", "and", "a", "to", "in", "is", "payload", "chunk"]
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(words) if rng.random() < 0.5 else str(rng.random())[2:9]
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def key_of(data: bytes) -> str:
    """The key a backend stores ``data`` under: its SHA-256 in hex."""
    return hashlib.sha256(data).hexdigest()


def samples() -> list[enact.ResourceBase]:
    """Resources covering every field-value kind, including edge cases."""
    return [
        Sample(),
        Sample(
            number=-(2**70),
            real=float("inf"),
            flag=True,
            text="héllo\n\x00#res",
            blob=b"\x00\n" * 50,
            items=[1, 1.0, "1", b"1", True, None, [], {}],
            mapping={"#res": "not a type", "##": b"", "a": {"b": [Sample(number=3)]}},
            child=Sample(text="inner", child=enact.Int(7)),
        ),
        Sample(items=[Sample, enact.Int], child=enact.Ref("ab" * 32)),
        enact.Int(12),
        enact.Str("text"),
        enact.Bytes(b"\x00\x01\xff"),
        enact.Float(-0.0),
        enact.NoneResource(),
    ]


def read_pack(path: str) -> list[tuple[str, int, int]]:
    """Parses a pack file's index: ``(key, offset, length)`` per object.

    Raises:
        AssertionError: if the file does not follow the documented format.
    """
    with open(path, "rb") as file:
        data = file.read()
    assert data[: len(PACK_MAGIC)] == PACK_MAGIC, f"{path}: bad magic"
    index_at, count, end = PACK_FOOTER.unpack(data[-PACK_FOOTER.size :])
    assert end == PACK_END, f"{path}: bad footer"
    assert index_at + count * PACK_ENTRY.size == len(data) - PACK_FOOTER.size
    entries = []
    for raw, offset, length in PACK_ENTRY.iter_unpack(
        data[index_at : index_at + count * PACK_ENTRY.size]
    ):
        assert len(PACK_MAGIC) <= offset and offset + length <= index_at
        entries.append((raw.hex(), offset, length))
    return entries


def damaged_files(root: str) -> list[str]:
    """Every file under ``objects/`` and ``packs/`` whose content is wrong.

    A loose object must hash to its path's name; every object in a pack must
    hash to its index entry's key. Files under ``tmp/`` are not checked.
    """
    problems = []
    objects = os.path.join(root, "objects")
    for fan in sorted(os.listdir(objects)):
        for rest in sorted(os.listdir(os.path.join(objects, fan))):
            path = os.path.join(objects, fan, rest)
            with open(path, "rb") as file:
                if key_of(file.read()) != fan + rest:
                    problems.append(path)
    packs = os.path.join(root, "packs")
    for name in sorted(os.listdir(packs)):
        path = os.path.join(packs, name)
        try:
            entries = read_pack(path)
        except (AssertionError, struct.error):
            problems.append(path)
            continue
        with open(path, "rb") as file:
            data = file.read()
        for key, offset, length in entries:
            if key_of(data[offset : offset + length]) != key:
                problems.append(f"{path}:{key}")
    return problems


def files_under(root: str) -> set[str]:
    """Paths of all files under ``root``, relative to it."""
    found = set()
    for directory, _, names in os.walk(root):
        for name in names:
            found.add(os.path.relpath(os.path.join(directory, name), root))
    return found


CHILD = pathlib.Path(__file__).with_name("child.py")


def child_command(*args: str) -> list[str]:
    """The command line running ``child.py`` with ``args``."""
    return [sys.executable, str(CHILD), *args]


def child_env() -> dict[str, str]:
    """The environment for ``child.py``: ``tests/`` importable, as here."""
    paths = [str(CHILD.parent.parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def object_damage(store: Store) -> list[Damage]:
    """What ``store.verify()`` finds wrong with objects (not with the index:
    tests of the store layer put entries there that are no run records)."""
    return [each for each in store.verify() if each.key is not None]
