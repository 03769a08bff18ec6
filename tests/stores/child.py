"""Child processes for the concurrency and crash tests (run as a script).

``python child.py commit KIND PATH WRITER COUNT MODE``
    Opens a store (KIND ``file`` or ``sqlite``) at PATH, prints ``ready``, waits
    for a line on stdin, then commits COUNT distinct :class:`Sample` objects,
    each in its own commit (MODE ``single``) or in batches of 64 (``batch``:
    each a pack file),
    and prints their digests as one JSON list.

``python child.py readall ROOT FILES``
    Lowers this process's limit of open files to FILES, then reads every
    object of the file store at ROOT and prints how many hash correctly.

``python child.py crash ROOT``
    Prints ``ready``, then writes to a file store at ROOT until killed: large
    loose objects, interleaved with batches that become pack files. Prints
    ``wrote`` after each such pair.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import enact
from enact.backends import FileObjects
from stores.helpers import Sample

# The smallest batch a file store writes as a pack (files._PACK_MIN_OBJECTS).
BATCH = 64


def expected(writer: int, index: int) -> Sample:
    """The object writer ``writer`` commits as its ``index``-th."""
    return Sample(
        number=index,
        text=f"writer {writer} object {index}",
        blob=index.to_bytes(4, "big") * (writer + 1),
        mapping={"writer": writer},
    )


def commit(kind: str, path: str, writer: int, count: int, mode: str) -> None:
    store = enact.FileStore(path) if kind == "file" else enact.SQLiteStore(path)
    print("ready", flush=True)
    sys.stdin.readline()
    digests = []
    if mode == "single":
        for index in range(count):
            digests.append(store.commit(expected(writer, index)).digest)
    else:
        for start in range(0, count, BATCH):
            with store.batch():
                for index in range(start, min(count, start + BATCH)):
                    digests.append(store.commit(expected(writer, index)).digest)
    store.close()
    print(json.dumps(digests), flush=True)


def read_all(root: str, files: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
    backend = FileObjects(root)
    keys = list(backend.iter_keys())
    good = 0
    for _ in range(2):  # twice: once loading, once from what was loaded
        for key, data in zip(keys, backend.get_many(keys), strict=True):
            good += data is not None and hashlib.sha256(data).hexdigest() == key
    print(good // 2, flush=True)


def crash(root: str) -> None:
    backend = FileObjects(root)
    big = os.urandom(1024 * 1024) * 48
    hasher = hashlib.sha256(big)
    print("ready", flush=True)
    counter = 0
    while True:
        counter += 1
        # A fresh large object: the big block plus a counter. Its key comes
        # from a copy of the block's hash state, so writing dominates the loop.
        tail = counter.to_bytes(8, "big")
        key_hasher = hasher.copy()
        key_hasher.update(tail)
        backend.put_many([(key_hasher.hexdigest(), [big, tail])])
        small = [os.urandom(64) + tail for _ in range(200)]
        backend.put_many([(hashlib.sha256(s).hexdigest(), [s]) for s in small])
        print("wrote", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "commit":
        kind, path, writer, count, mode = sys.argv[2:7]
        commit(kind, path, int(writer), int(count), mode)
    elif sys.argv[1] == "readall":
        read_all(sys.argv[2], int(sys.argv[3]))
    else:
        crash(sys.argv[2])
