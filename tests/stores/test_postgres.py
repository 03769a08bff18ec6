"""What only a PostgreSQL store does: versions in a table, waking on NOTIFY,
surviving a server restart, a dropped connection and a statement timeout,
and clear errors for a server that is not there.

The conformance suites (objects, index, journals, durable runs) run on
PostgreSQL beside the other stores; these tests add the server's own
failures, on a real server (``postgres_server``).
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

import enact
from enact import runs
from enact._runs.recorder import StepLog
from enact.backends import BackendError, StoreVersionError, sessions
from enact.backends.postgres import PostgresObjects
from enact.runs import RunStatus
from runs.flows import CALLS, Greet, Pipeline
from stores.pg_flows import PauseFlow
from stores.postgres_server import PostgresServer


@pytest.fixture
def url(postgres_server: PostgresServer) -> str:
    """A store of the test's own on the session's server."""
    return postgres_server.fresh_url()


@pytest.fixture
def calls() -> Iterator[None]:
    """The shared components' execution counters, from zero."""
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.fixture
def backend(url: str) -> Iterator[PostgresObjects]:
    opened = PostgresObjects(url)
    yield opened
    opened.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_one_line_naming_the_url_without_password() -> None:
    url = f"postgresql://ann:hunter2@127.0.0.1:{_free_port()}/runs"
    with pytest.raises(BackendError) as raised:
        enact.open_store(url, connect_timeout=2)
    message = str(raised.value)
    assert "\n" not in message
    assert "hunter2" not in message
    assert "postgresql://ann:***@127.0.0.1" in message
    assert raised.value.location.startswith("postgresql://ann:***@")


def test_a_bad_schema_name_is_refused(postgres_server: PostgresServer) -> None:
    with pytest.raises(BackendError, match="schema"):
        enact.open_store(postgres_server.url(schema="Robert'); DROP"))


def test_a_store_of_a_newer_version_is_refused(url: str) -> None:
    PostgresObjects(url).close()
    with psycopg.connect(url.split("?")[0], autocommit=True) as db:
        schema = url.split("schema=")[1]
        db.execute(f"UPDATE {schema}.enact_version SET version = 99")
    with pytest.raises(StoreVersionError) as raised:
        PostgresObjects(url)
    assert raised.value.found == 99
    assert raised.value.supported == 2


def test_two_processes_opening_a_new_store_at_once_both_work(url: str) -> None:
    barrier = threading.Barrier(4)
    opened: list[PostgresObjects] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        barrier.wait()
        try:
            opened.append(PostgresObjects(url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    for each in opened:
        each.close()


def test_a_waiting_claim_wakes_on_notify(backend: PostgresObjects, url: str) -> None:
    index = backend.index()
    other = PostgresObjects(url)
    got: list[bytes | None] = []
    # With no timeout a polling index would read once and give up: this one
    # waits for the claim's notification.
    waiter = threading.Thread(target=lambda: got.append(index.wait_for_claim("r:1", 0)))
    waiter.start()
    assert other.index().claim("r:1", b"answer")
    waiter.join(30)
    other.close()
    assert got == [b"answer"]


def _kill_connections(postgres_server: PostgresServer) -> int:
    with psycopg.connect(postgres_server.url("postgres"), autocommit=True) as db:
        rows = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = 'enact' AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_a_dropped_connection_is_made_again(
    backend: PostgresObjects, postgres_server: PostgresServer
) -> None:
    store = enact.Store(backend)
    with store:
        ref = store.commit(enact.Str("before"))
        assert _kill_connections(postgres_server) >= 1
        after = store.commit(enact.Str("after"))
        assert backend.get_many([ref.digest, after.digest])[0] is not None
        assert store.checkout(after) == enact.Str("after")
        assert store.verify() == []


def test_a_statement_timeout_is_retried_then_reported(url: str) -> None:
    PostgresObjects(url).close()  # created without a timeout
    backend = PostgresObjects(url, statement_timeout=100, retry_seconds=5)
    try:
        with pytest.raises(BackendError) as raised:
            backend._db.run(lambda db: db.execute("SELECT pg_sleep(1)"), "sleep")
        assert "statement timeout" in str(raised.value)
        assert backend.location in str(raised.value)
    finally:
        backend.close()


def test_a_full_disk_or_other_server_error_is_a_backend_error(
    backend: PostgresObjects,
) -> None:
    with pytest.raises(BackendError, match="cannot fail here"):
        backend._db.run(
            lambda db: db.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'cannot fail here' "
                "USING ERRCODE = 'disk_full'; END $$"
            ),
            "write",
        )


def test_a_run_survives_the_server_restarting_in_the_middle(
    url: str, postgres_server: PostgresServer, calls: None
) -> None:
    flow = Pipeline(stages=2, width=5, delay=0.0, blob_every=0)
    with enact.open_store(url) as store:
        run = enact.run(flow, enact.Int(0), name="before")
        assert run.status is RunStatus.FINISHED
        postgres_server.restart()
        # The store's pooled connections all died: the next calls reconnect.
        again = enact.run(flow, enact.Int(1), name="after")
        assert again.status is RunStatus.FINISHED
        assert int(again.output()) == int(run.output()) + 2 * 10
        assert store.verify() == []


CHILD = str(pathlib.Path(__file__).with_name("pg_child.py"))
# The child's flow, registered here too: this process resumes its runs.
assert PauseFlow.__name__ == "PauseFlow"


def _paused_child(url: str, name: str, retry: float) -> subprocess.Popen[str]:
    """A process running a PauseFlow, once it has paused at call 4."""
    child = subprocess.Popen(
        [sys.executable, CHILD, url, name, "4", str(retry)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ENACT_TEST_PAUSE": "1"},
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "paused\n"
    return child


def _calls(stderr: str) -> list[int]:
    return [
        int(line.split()[1]) for line in stderr.splitlines() if line.startswith("call ")
    ]


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_run_whose_server_stays_away_stops_with_a_backend_error_and_resumes(
    url: str,
    postgres_server: PostgresServer,
    mode: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The server goes down mid-run (cleanly, or like a crash) for longer
    than the retries: the run's process stops with a BackendError naming the
    store. Once the server is back, resume finishes the run without running
    a call that had finished again."""
    child = _paused_child(url, "stopped", retry=1)
    postgres_server.stop_server(mode)
    try:
        _, err = child.communicate("go\n", timeout=120)
    finally:
        postgres_server.start_again()
    assert child.returncode == 4, err
    assert "BackendError" in err and "enact?schema=" in err
    first = _calls(err)
    with enact.open_store(url) as store:
        run = runs.get_run("stopped")
        assert run.status is RunStatus.CRASHED
        done = {
            path[0]
            for path in StepLog(store.index.read_steps(run.id)).done
            if len(path) == 1
        }
        run.resume()
        assert run.status is RunStatus.FINISHED
        assert int(run.output()) == 2 * sum(range(8))
        assert store.verify() == []
    assert first == [0, 1, 2, 3, 4]
    again = _calls(capsys.readouterr().err)
    # No call recorded as finished ran again; the rest ran once more.
    assert sorted(again) == sorted(set(range(8)) - done)
    if mode == "fast":
        # A clean stop flushes every commit: the four calls before the pause
        # are durable even at the default level.
        assert done == {0, 1, 2, 3}


def test_a_run_rides_out_a_server_restart(
    url: str, postgres_server: PostgresServer
) -> None:
    """A restart shorter than the retries: the run's process reconnects and
    finishes as if nothing happened."""
    child = _paused_child(url, "restarted", retry=60)
    postgres_server.restart()
    _, err = child.communicate("go\n", timeout=120)
    assert child.returncode == 0, err
    assert _calls(err) == list(range(8))
    with enact.open_store(url) as store:
        run = runs.get_run("restarted")
        assert run.status is RunStatus.FINISHED
        assert int(run.output()) == 2 * sum(range(8))
        assert store.verify() == []


RUN_CHILD = str(pathlib.Path(__file__).parents[1] / "runs" / "child.py")


def test_a_waiting_run_keeps_waiting_across_a_restart(
    url: str, postgres_server: PostgresServer
) -> None:
    """A run waiting in place for an answer loses its listening connection
    to a server restart, listens again, and wakes on the answer."""
    waiter = subprocess.Popen(
        [sys.executable, RUN_CHILD, "greet-live", url, "waiter"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    with enact.open_store(url):
        while time.monotonic() < deadline and waiter.poll() is None:
            try:
                if runs.get_run("waiter").pending():
                    break
            except runs.RunNotFound:
                pass
            time.sleep(0.02)
        assert waiter.poll() is None, waiter.communicate()
    postgres_server.restart()
    with enact.open_store(url):
        runs.answer("waiter", "Ada")
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    assert out.startswith("Ada rolled")


def _spawn_run_child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, RUN_CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_six_processes_answer_one_request_at_once_and_one_wins(url: str) -> None:
    greet = _spawn_run_child("greet", url, "asked")
    _, err = greet.communicate(timeout=120)
    assert greet.returncode == 0, err
    racers = [_spawn_run_child("answer", url, "asked", f"P{i}") for i in range(6)]
    codes = []
    for racer in racers:
        _, err = racer.communicate(timeout=120)
        codes.append(racer.returncode)
        assert racer.returncode in (0, 3), err
    assert sorted(codes) == [0] + [3] * 5
    winner = f"P{codes.index(0)}"
    with enact.open_store(url):
        run = runs.resume("asked")
        assert run.status is RunStatus.FINISHED
        assert str(run.output()).startswith(winner + " rolled")


@pytest.mark.slow
def test_eight_processes_run_fork_and_collect_on_one_store(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with enact.open_store(url) as store:
        waiting = enact.run(Greet(), name="old")  # waiting: survives every gc
        garbage = store.commit(enact.Str("garbage")).digest
    store.close()
    writers = [_spawn_run_child("churn", url, f"w{i}", "4") for i in range(7)]
    collector = _spawn_run_child("gc", url, "-", "10")
    for process in [*writers, collector]:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    with enact.open_store(url) as store:
        assert store.verify() == []
        monkeypatch.setattr(sessions, "clock", lambda: time.time() + 60)
        store.gc()
        assert not store.has(enact.Ref(garbage))
        infos = runs.list_runs()
        assert len(infos) == 1 + 7 * 4 * 2
        for info in infos:
            if info.id == waiting.id:
                assert info.status is RunStatus.WAITING
                continue
            assert info.status is RunStatus.FINISHED
            journal = runs.get_run(info.id).journal()
            rolls = [int(c.get_output()) for c in journal.get_children()]
            assert journal.get_output() == sum(rolls)
        assert store.verify() == []
