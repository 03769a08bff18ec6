"""Durable runs across real processes: SIGKILL at random points, answers from
another process, and several processes sharing one store."""

from __future__ import annotations

import os
import pathlib
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest

import enact
from enact import runs
from enact._runs.recorder import StepLog
from enact.backends import sessions
from enact.runs import RunStatus
from runs.child import STAGES, WIDTH, open_store
from runs.flows import Greet

CHILD = str(pathlib.Path(__file__).with_name("child.py"))

pytestmark = pytest.mark.slow

# The stores that other processes share: the file store, SQLite (whose
# durable runs journal each call beside the database) and PostgreSQL.
STORES = pytest.mark.parametrize("kind", ["file", "sqlite", "postgres"])


@pytest.fixture
def locate(
    kind: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest
) -> Callable[[str], str]:
    """Gives each name a store of the test's kind: a path, or a URL."""
    if kind == "postgres":
        server = request.getfixturevalue("postgres_server")
        tag = uuid.uuid4().hex[:12]
        return lambda name: server.url(schema=f"{name}_{tag}")
    suffix = ".db" if kind == "sqlite" else ""
    return lambda name: str(tmp_path / f"{name}{suffix}")


def spawn(*args: str, side_log: pathlib.Path | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if side_log is not None:
        env["ENACT_SIDE_LOG"] = str(side_log)
    return subprocess.Popen(
        [sys.executable, CHILD, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_after(process: subprocess.Popen[str], seconds: float) -> bool:
    """SIGKILLs the process after ``seconds``; False if it had ended by then."""
    try:
        process.wait(seconds)
        killed = False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        killed = True
    process.communicate()  # reaps it and closes the pipes
    return killed


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    """Waits for the process; returns its exit code and its standard error."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, err + out


def finished_leaves(store_path: str, name: str) -> set[str]:
    """The leaves whose calls are durable as finished in the run's step log."""
    with open_store(str(store_path)) as store:
        run = runs.get_run(name)
        log = StepLog(store.index.read_steps(run.id))
    return {f"leaf-{WIDTH * path[0] + path[1]}" for path in log.done if len(path) == 2}


def side_effects(side_log: pathlib.Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if side_log.exists():
        for line in side_log.read_text().splitlines():
            counts[line] = counts.get(line, 0) + 1
    return counts


@STORES
def test_sigkill_at_random_points_then_resume(
    tmp_path: pathlib.Path, locate: Callable[[str], str]
) -> None:
    rng = random.Random(5)
    kills = 0
    trial = 0
    while kills < 50:
        trial += 1
        store_path = locate(f"store{trial}")
        side_log = tmp_path / f"side{trial}.log"
        name = f"t{trial}"
        # Leaf -> how often it had run when a check found it durable: it must
        # never run again after that.
        durable: dict[str, int] = {}
        started = False
        for attempt in range(5):
            mode = "resume" if started else "start"
            process = spawn(mode, str(store_path), name, side_log=side_log)
            killed = kill_after(process, rng.uniform(0.15, 0.9))
            kills += killed
            if not killed:
                assert process.returncode == 0
            with open_store(str(store_path)) as store:
                assert store.verify() == []
                try:
                    run = runs.get_run(name)
                except runs.RunNotFound:
                    continue  # killed before the run was recorded
                started = True
                status = run.status
            if status is RunStatus.FINISHED:
                break
            assert status is RunStatus.CRASHED, (attempt, status)
            counts = side_effects(side_log)
            for leaf in finished_leaves(store_path, name):
                durable.setdefault(leaf, counts[leaf])
        # Whatever is left, a last resume (not killed) finishes.
        with open_store(str(store_path)) as store:
            if not started:
                continue
            run = runs.get_run(name)
            if run.status is not RunStatus.FINISHED:
                process = spawn("resume", str(store_path), name, side_log=side_log)
                code, err = finish(process)
                assert code == 0, err
            assert run.status is RunStatus.FINISHED
            total = STAGES * WIDTH
            assert run.output() == 2 * sum(range(total))
            assert store.verify() == []
        counts = side_effects(side_log)
        assert set(counts) == {f"leaf-{i}" for i in range(total)}
        # No leaf that had finished before a kill ran again.
        assert {leaf: counts[leaf] for leaf in durable} == durable
    assert trial <= 40


@STORES
def test_an_input_request_answered_from_another_process(
    locate: Callable[[str], str],
) -> None:
    store_path = locate("store")
    # Live: the run's process waits; a second process answers; it finishes.
    live = spawn("greet-live", str(store_path), "live")
    deadline = time.monotonic() + 30
    with open_store(str(store_path)):
        while time.monotonic() < deadline:
            try:
                if runs.get_run("live").pending():
                    break
            except runs.RunNotFound:
                pass
            time.sleep(0.02)
        info = runs.get_run("live").info()
        assert info.status is RunStatus.WAITING and info.is_live
    code, err = finish(spawn("answer", str(store_path), "live", "Grace"))
    assert code == 0, err
    out, err = live.communicate(timeout=30)
    assert live.returncode == 0, err
    assert out.startswith("Grace rolled")
    with open_store(str(store_path)):
        assert runs.get_run("live").status is RunStatus.FINISHED

    # Not live: the run ends waiting; two processes answer at once: one wins.
    assert finish(spawn("greet", str(store_path), "later"))[0] == 0
    racers = [spawn("answer", str(store_path), "later", who) for who in ("A", "B")]
    codes = sorted(finish(racer)[0] for racer in racers)
    assert codes == [0, 3]
    with open_store(str(store_path)):
        run = runs.resume("later")
        assert run.status is RunStatus.FINISHED
        assert str(run.output())[0] in "AB"


@STORES
def test_four_processes_run_fork_and_collect_at_once(
    monkeypatch: pytest.MonkeyPatch, locate: Callable[[str], str]
) -> None:
    store_path = locate("store")
    first = open_store(str(store_path))
    with first:
        old = enact.run(Greet(), name="old")  # waiting: must survive gc
        unreachable = first.commit(enact.Str("garbage")).digest
    first.close()  # its session ends: its objects may now be collected
    processes = [
        spawn("churn", str(store_path), "a", "15"),
        spawn("churn", str(store_path), "b", "15"),
        spawn("churn", str(store_path), "c", "15"),
        spawn("gc", str(store_path), "-", "20"),
    ]
    for process in processes:
        code, err = finish(process, 240)
        assert code == 0, err
    with open_store(str(store_path)) as store:
        assert store.verify() == []
        # A minute later, the garbage is old enough to go.
        monkeypatch.setattr(sessions, "clock", lambda: time.time() + 60)
        store.gc()
        assert not store.has(enact.Ref(unreachable))
        infos = runs.list_runs()
        assert len(infos) == 1 + 3 * 15 * 2
        for info in infos:
            journal = runs.get_run(info.id).journal()
            if info.id == old.id:
                assert info.status is RunStatus.WAITING
                continue
            assert info.status is RunStatus.FINISHED
            rolls = [int(c.get_output()) for c in journal.get_children()]
            assert journal.get_output() == sum(rolls)
