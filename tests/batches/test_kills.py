"""Batches across real processes: SIGKILL of a worker, and of the whole batch,
then resume; no finished sample ever runs again (counted in a side log)."""

from __future__ import annotations

import collections
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import enact
from batches.conftest import side_lines
from enact import batches

DRIVER = os.path.join(os.path.dirname(__file__), "driver.py")
STORES = pytest.mark.parametrize("suffix", ["", ".db"], ids=["file", "sqlite"])
SIZE = 10


def open_store(path: pathlib.Path) -> enact.Store:
    if path.suffix == ".db":
        return enact.SQLiteStore(path)
    return enact.FileStore(path)


def start_driver(
    tmp_path: pathlib.Path, store_path: pathlib.Path, name: str
) -> tuple[subprocess.Popen[str], pathlib.Path]:
    side_log = tmp_path / "side.log"
    env = {
        **os.environ,
        "ENACT_SIDE_LOG": str(side_log),
        "ENACT_HANG_AT": "3",
        "ENACT_HANG_ONCE": str(tmp_path / "hung"),
    }
    process = subprocess.Popen(
        [sys.executable, DRIVER, str(store_path), "processes", str(SIZE), name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, workers included
    )
    return process, side_log


def wait_for_hang(side_log: pathlib.Path, process: subprocess.Popen[str]) -> int:
    """Waits until sample 3 hangs in a worker; returns the worker's pid."""
    for _ in range(12000):
        for line in side_lines(side_log):
            if line[0] == "hang":
                return int(line[1])
        if process.poll() is not None:
            pytest.fail(f"the driver ended early: {process.communicate()}")
        try:
            process.wait(0.01)
        except subprocess.TimeoutExpired:
            pass
    pytest.fail("sample 3 never hung")


def finished_samples(store_path: pathlib.Path, name: str) -> set[int]:
    with open_store(store_path):
        batch = batches.get_batch(name)
        return {
            run.sample_index
            for run in batch.runs()
            if run.status is enact.RunStatus.FINISHED and run.sample_index is not None
        }


def draws(side_log: pathlib.Path) -> collections.Counter[int]:
    return collections.Counter(
        int(line[0].split("-")[1])
        for line in side_lines(side_log)
        if line[0].startswith("draw-")
    )


def wait_until_group_dead(group: int, timeout: float = 120.0) -> None:
    """Waits until every process of a process group is gone or a zombie.

    SIGKILL is delivered asynchronously: a worker can still be running for a
    moment after ``killpg`` returns, and would then count as a live owner.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
                alive.append(int(entry))
        if not alive:
            return
        time.sleep(0.01)  # polling a condition, not ordering threads
    raise AssertionError(f"process group {group} still runs after {timeout} s")


@STORES
def test_sigkill_of_a_worker_mid_batch(tmp_path: pathlib.Path, suffix: str) -> None:
    store_path = tmp_path / f"store{suffix}"
    process, side_log = start_driver(tmp_path, store_path, "killed-worker")
    try:
        worker = wait_for_hang(side_log, process)
        done_before = finished_samples(store_path, "killed-worker")
        os.kill(worker, signal.SIGKILL)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 0, err
    # The pool was made again and the batch finished by itself.
    assert "{'finished': 10}" in out
    counts = draws(side_log)
    assert set(counts) == set(range(SIZE))
    assert all(counts[i] == 1 for i in done_before)
    with open_store(store_path):
        batch = batches.get_batch("killed-worker")
        assert batch.info().counts == {"finished": SIZE}
        assert batch.run(3).info().resumed >= 1


@STORES
def test_sigkill_of_the_whole_batch_then_resume(
    tmp_path: pathlib.Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_path = tmp_path / f"store{suffix}"
    process, side_log = start_driver(tmp_path, store_path, "killed-all")
    try:
        wait_for_hang(side_log, process)
        done_before = finished_samples(store_path, "killed-all")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the driver and its workers
        process.communicate()
        wait_until_group_dead(process.pid)
    monkeypatch.setenv("ENACT_SIDE_LOG", str(side_log))
    with open_store(store_path):
        batch = batches.get_batch("killed-all")
        info = batch.info()
        assert info.status is batches.BatchStatus.INCOMPLETE
        assert info.counts.get("crashed", 0) >= 1
        batch.resume(executor="processes").wait(timeout=300)
        assert batch.info().counts == {"finished": SIZE}
        assert batch.info().status is batches.BatchStatus.FINISHED
    counts = draws(side_log)
    assert set(counts) == set(range(SIZE))
    assert all(counts[i] == 1 for i in done_before)
    assert all(count <= 2 for count in counts.values())
