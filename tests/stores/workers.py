"""Functions run in other processes (multiprocessing, spawn) by the store tests.

They open their own backend on the shared location, as another program would.
"""

from __future__ import annotations

import multiprocessing.queues
import multiprocessing.synchronize

from enact.backends import Backend, FileObjects, SQLiteObjects


def open_backend(kind: str, path: str) -> Backend:
    """A new byte backend of ``kind`` (``file`` or ``sqlite``) on ``path``."""
    return FileObjects(path) if kind == "file" else SQLiteObjects(path)


def increment(
    kind: str,
    path: str,
    run_id: str,
    times: int,
    start: multiprocessing.synchronize.Barrier,
) -> None:
    """Adds one to the counter in a run record ``times`` times, via update_run."""
    backend = open_backend(kind, path)
    index = backend.index()
    assert index is not None
    start.wait()
    for _ in range(times):
        index.update_run(run_id, lambda old: str(int(old or b"0") + 1).encode())
    backend.close()


def claim_all(
    kind: str,
    path: str,
    keys: list[str],
    me: int,
    start: multiprocessing.synchronize.Barrier,
    results: multiprocessing.queues.Queue[tuple[int, list[str]]],
) -> None:
    """Claims every key with this process's number; puts the keys it won."""
    backend = open_backend(kind, path)
    index = backend.index()
    assert index is not None
    start.wait()
    won = [key for key in keys if index.claim(key, b"process %d" % me)]
    backend.close()
    results.put((me, won))
