"""Several processes and threads writing to one store at the same time.

Four processes each commit 1,000 distinct objects to one file-store directory
(and to one SQLite file) at the same moment; afterwards a fresh store checks
out and verifies every object. Threads share one :class:`Store` object.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable

import pytest

import enact
from enact.references import Ref, Store

from .child import BATCH, expected
from .helpers import Sample, child_command, child_env, damaged_files

WRITERS = 4
OBJECTS = 1000


def run_writers(kind: str, path: str, mode: str) -> list[list[str]]:
    """Starts the writers, releases them together, returns their digests."""
    children = [
        subprocess.Popen(
            child_command("commit", kind, path, str(writer), str(OBJECTS), mode),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
            text=True,
        )
        for writer in range(WRITERS)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line == "ready\n", child.communicate()[1]
        for child in children:  # all four start writing at once
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def verify(store: Store, digests: list[list[str]]) -> None:
    assert [len(d) for d in digests] == [OBJECTS] * WRITERS
    for writer, writer_digests in enumerate(digests):
        for index, digest in enumerate(writer_digests):
            assert store.checkout(Ref(digest)) == expected(writer, index)
    listed = {ref.digest for ref in store.iter_refs()}
    assert listed == {d for each in digests for d in each}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["single", "batch"])
@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_processes_commit_to_one_store(tmp_path, kind: str, mode: str) -> None:
    path = str(tmp_path / ("store" if kind == "file" else "store.sqlite"))
    digests = run_writers(kind, path, mode)
    fresh = enact.FileStore(path) if kind == "file" else enact.SQLiteStore(path)
    try:
        verify(fresh, digests)
    finally:
        fresh.close()
    if kind == "file":
        assert damaged_files(path) == []
        assert os.listdir(os.path.join(path, "tmp")) == []
        packs = os.listdir(os.path.join(path, "packs"))
        # Full batches become packs; the last, shorter one goes to the log.
        assert len(packs) == (0 if mode == "single" else WRITERS * (OBJECTS // BATCH))


def run_threads(target: Callable[[int], None], count: int) -> None:
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            target(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@pytest.mark.slow
def test_threads_share_one_store(store: Store, reopen_store) -> None:
    refs: dict[int, list[Ref]] = {}
    values = {
        t: [Sample(number=i, text=f"thread {t}") for i in range(150)] for t in range(8)
    }

    def work(thread: int) -> None:
        mine = refs[thread] = []
        for index, value in enumerate(values[thread]):
            if thread % 2 and index % 30 == 0:
                with store.batch():
                    mine.append(store.commit(value))
            else:
                mine.append(store.commit(value))
            # Read back an earlier object of this thread and probe the others.
            assert (
                store.checkout(Ref(mine[index // 2].digest))
                == values[thread][index // 2]
            )
            for other in list(refs.values()):
                if other:
                    assert store.has(Ref(other[0].digest))

    run_threads(work, 8)
    fresh = reopen_store()
    for thread, thread_refs in refs.items():
        for ref, value in zip(thread_refs, values[thread], strict=True):
            assert fresh.checkout(Ref(ref.digest)) == value


def test_thread_contexts_share_one_store(store: Store) -> None:
    results: dict[int, Ref] = {}

    def work(index: int) -> None:
        results[index] = enact.commit(Sample(number=index))
        assert Ref(results[index].digest).checkout() == Sample(number=index)

    with store:
        # Snapshots the current store for the threads.
        run_threads(enact.contexts.with_current_contexts(work), 6)
    assert {store.checkout(Ref(r.digest)).number for r in results.values()} == set(
        range(6)
    )


def test_commit_in_one_thread_is_not_held_by_a_batch_in_another(
    store: Store, reopen_store
) -> None:
    # A batch buffers the commits of the code inside it. Another thread that
    # commits outside any batch must find its object written when commit returns.
    entered, done = threading.Event(), threading.Event()

    def batching() -> None:
        with store.batch():
            store.commit(Sample(text="batched"))
            entered.set()
            assert done.wait(10)

    thread = threading.Thread(target=batching)
    thread.start()
    try:
        assert entered.wait(10)
        ref = store.commit(Sample(text="not batched"))
        assert reopen_store().has(Ref(ref.digest))
    finally:
        done.set()
        thread.join()
