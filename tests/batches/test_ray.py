"""Batches on real Ray clusters: ``ray.init`` with 2 CPUs, and a head plus a
second worker node started with ``ray start`` on loopback, both sampling into
one store.

Without Ray these tests skip, unless ``ENACT_REQUIRE_RAY=1`` (set by
``.ci/setup.d/40-ray.sh``) makes them fail.
"""

from __future__ import annotations

import collections
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

import enact
from batches.conftest import side_lines
from batches.flows import Noise, Picky
from enact import batches


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        if os.environ.get("ENACT_REQUIRE_RAY") == "1":
            raise
        pytest.skip(
            "ray is not installed (pip install -e '.[dev]' or 'enact[ray]')",
            allow_module_level=True,
        )
    return ray


ray = require_ray()
from enact.ray import RayExecutor  # noqa: E402 - after the skip


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray cluster of 2 CPUs for this module's tests."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def executor_logging_to(side_log: pathlib.Path, **options: Any) -> RayExecutor:
    return RayExecutor(
        runtime_env={"env_vars": {"ENACT_SIDE_LOG": str(side_log)}}, **options
    )


def test_samples_run_as_ray_tasks(
    local_ray: None, shared_store: enact.Store, tmp_path: pathlib.Path
) -> None:
    side_log = tmp_path / "ray-side.log"
    with shared_store:
        batch = enact.sample(
            Noise(),
            [enact.Int(i) for i in range(5)],
            n=4,
            executor=executor_logging_to(side_log, num_workers=2),
        )
        batch.wait(timeout=300)
        assert batch.errors() == {}
        assert batch.info().counts == {"finished": 20}
        outputs = [float(value) for value in batch.outputs()]
        assert [int(value) for value in outputs] == [i // 4 for i in range(20)]
        assert len(set(outputs)) == 20
        owners = {run.info().owner.pid for run in batch.runs()}  # type: ignore[union-attr]
        assert os.getpid() not in owners  # they ran in Ray's workers
    draws = collections.Counter(line[0] for line in side_lines(side_log))
    assert sum(draws.values()) == 20


def test_failures_come_back_to_the_batch(
    local_ray: None, shared_store: enact.Store
) -> None:
    with shared_store:
        batch = enact.sample(
            Picky(), [enact.Int(i) for i in range(4)], executor=RayExecutor()
        )
        info = batch.wait(timeout=300).info()
        assert info.counts == {"finished": 2, "failed": 2}
        assert batch.run(1).info().error == "ValueError: 1 is odd"


def test_an_unshippable_component_fails_before_any_task(
    local_ray: None, shared_store: enact.Store
) -> None:
    import dataclasses

    @enact.typed_invokable(enact.Int, enact.Int)
    @dataclasses.dataclass
    class Local(enact.Invokable[enact.Int, enact.Int]):
        def call(self, value: enact.Int) -> enact.Int:
            return value

    with shared_store:
        with pytest.raises(batches.NotShippable):
            enact.sample(Local(), [enact.Int(1)], executor=RayExecutor())
        assert batches.list_batches() == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A cluster of the test's own: no token from another cluster on this machine.
RAY_ENV = {**os.environ, "RAY_AUTH_MODE": "disabled"}


def ray_start(*args: str, tmp_path: pathlib.Path, log: str) -> subprocess.Popen[str]:
    """``ray start --block ...`` in a process group of its own, so that
    :func:`stop_node` stops the node's processes and nothing else."""
    with open(tmp_path / log, "w") as output:  # the child keeps its own copy
        return subprocess.Popen(
            ["ray", "start", "--block", "--disable-usage-stats", *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env=RAY_ENV,
        )


def stop_node(node: subprocess.Popen[str]) -> None:
    """Stops a node started by :func:`ray_start`: its process group."""
    try:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:  # what outlived the `ray start` process
        os.killpg(node.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    node.wait()


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import enact
from enact.ray import RayExecutor
from batches.flows import WhereAmI

if __name__ == "__main__":
    store = enact.FileStore({store!r})
    executor = RayExecutor(
        address={address!r},
        runtime_env={{"env_vars": {{"ENACT_SIDE_LOG": {log!r}}}}},
    )
    with store:
        batch = enact.sample(WhereAmI(meet=2), [enact.Int(i) for i in range(8)],
                             executor=executor, name="two nodes")
        print(batch.wait(timeout=600).info().counts, batch.errors(), flush=True)
"""


def test_a_head_and_a_worker_node_sample_into_one_store(
    tmp_path: pathlib.Path,
) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    loopback = ["--node-ip-address=127.0.0.1", "--num-cpus=1"]
    # Short: Ray's socket paths under it must fit in 107 characters.
    temp_dir = tempfile.mkdtemp(prefix="enact-ray-", dir="/tmp")
    head = ray_start(
        "--head",
        f"--port={port}",
        "--include-dashboard=false",
        f"--temp-dir={temp_dir}",
        *loopback,
        tmp_path=tmp_path,
        log="head.log",
    )
    worker = None
    try:
        worker = ray_start(
            f"--address={address}", *loopback, tmp_path=tmp_path, log="worker.log"
        )
        store_path = tmp_path / "store"
        side_log = tmp_path / "side.log"
        script = tmp_path / "drive.py"
        tests = str(pathlib.Path(__file__).resolve().parents[1])
        script.write_text(
            DRIVER.format(
                tests=tests, store=str(store_path), address=address, log=str(side_log)
            )
        )
        # The driver joins the cluster once both nodes are up: it waits for
        # two nodes before sampling (ray.init blocks until the head answers).
        wait_for_nodes(address, 2)
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=600,
            env=RAY_ENV,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "{'finished': 8} {}" in done.stdout
        nodes = {
            line[0] for line in side_lines(side_log) if line[0].startswith("node-")
        }
        assert len(nodes) == 2  # both nodes ran samples
        with enact.FileStore(store_path):
            batch = batches.get_batch("two nodes")
            assert batch.info().counts == {"finished": 8}
            assert {str(value) for value in batch.outputs()} == {
                node[len("node-") :] for node in nodes
            }
    finally:
        if worker is not None:
            stop_node(worker)
        stop_node(head)
        shutil.rmtree(temp_dir, ignore_errors=True)


def wait_for_nodes(address: str, count: int) -> None:
    """Waits (up to 5 minutes) until the cluster at ``address`` has ``count``
    live nodes, asking it from a fresh process."""
    probe = (
        "import ray, sys, time\n"
        f"ray.init(address={address!r}, log_to_driver=False)\n"
        "deadline = time.monotonic() + 300\n"
        f"while sum(n['Alive'] for n in ray.nodes()) < {count}:\n"
        "    if time.monotonic() > deadline: sys.exit(1)\n"
        "    time.sleep(0.2)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=360,
        env=RAY_ENV,
    )
    assert done.returncode == 0, done.stderr[-3000:]
