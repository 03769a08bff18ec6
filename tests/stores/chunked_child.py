"""A child process for the chunked layer's crash test (run as a script).

``python chunked_child.py KIND PATH SEED``
    Opens a store (KIND ``file`` or ``sqlite``) at PATH and commits one large
    value (made from SEED). The family's ``put_many`` is wrapped so that once
    the chunks are written, before the manifest is, the child prints
    ``chunks written`` and waits for a line on stdin: the parent kills it
    there with SIGKILL.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import enact
from enact.backends.base import Parts
from stores.helpers import large_text


def main(kind: str, path: str, seed: int) -> None:
    store = enact.FileStore(path) if kind == "file" else enact.SQLiteStore(path)
    backend = store.backend
    put_many = backend.put_many  # type: ignore[union-attr]
    calls = 0

    def put_and_stop(items: Sequence[tuple[str, Parts]]) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the manifests: the chunks are stored
            print("chunks written", flush=True)
            sys.stdin.readline()  # killed here
        put_many(items)

    backend.put_many = put_and_stop  # type: ignore[union-attr, method-assign]
    store.commit(large_text(seed))
    print("committed", flush=True)  # not reached when killed


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
