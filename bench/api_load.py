"""The HTTP API under load: 50 concurrent clients listing runs and answering
input requests on loopback, against `enact serve` in its own process.

Run from the repository root (see bench/README.md):

    python bench/api_load.py                       # 50 clients, file store
    python bench/api_load.py --store sqlite --clients 50 --rounds 8
    python bench/api_load.py --quick               # 10 clients, fewer runs

Each client, after all are connected (a barrier), does ``--rounds`` rounds
of: list a page of 50 runs, list the waiting runs, list the open input
requests, answer one waiting run (its own: no two clients answer the same
run; ``resume`` on, so the server also resumes and finishes the run). Every
request's latency is kept; p50, p99 and the largest are printed per kind,
with the count of errors (any status other than the expected one). The
server is checked afterwards: every answered run finished with twice its
answer. Timing is wall-clock per request, on a machine that may be shared.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import httpx

import enact
from enact import runs
from load_flows import LoadAsk, LoadEcho

_HERE = os.path.dirname(os.path.abspath(__file__))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _make_store(kind: str, folder: str) -> enact.Store:
    if kind == "sqlite":
        return enact.SQLiteStore(os.path.join(folder, "runs.db"))
    return enact.FileStore(os.path.join(folder, "store"))


def _store_arg(kind: str, folder: str) -> str:
    return os.path.join(folder, "runs.db" if kind == "sqlite" else "store")


def _fill(store: enact.Store, finished: int, waiting: int) -> list[str]:
    with store:
        for number in range(finished):
            runs.run(LoadEcho(), enact.Str(f"t{number}"), tags=[f"n{number % 7}"])
        return [
            runs.run(LoadAsk(), enact.Str(f"q{number}")).id for number in range(waiting)
        ]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _serve(store_path: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([_HERE, *sys.path])}
    command = [
        sys.executable,
        "-c",
        "from enact.cli import main; main()",
        "--store",
        store_path,
        "serve",
        "--port",
        str(port),
        "--import",
        "load_flows",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def _wait_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/api/runs?limit=1", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # polling for start-up only, not timing anything
    raise SystemExit("the server did not start in 60 s")


def load(kind: str, clients: int, rounds: int, finished: int) -> dict[str, Any]:
    """Runs the load once; returns latencies by kind and the errors."""
    waiting = clients * rounds
    with tempfile.TemporaryDirectory() as folder:
        store = _make_store(kind, folder)
        asked = _fill(store, finished, waiting)
        store.close()
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = _serve(_store_arg(kind, folder), port)
        try:
            _wait_up(url, server)
            result = _drive(url, clients, rounds, asked)
            result["checked"] = _check(url, asked)
        finally:
            server.terminate()
            server.wait(60)
    result.update(kind=kind, clients=clients, rounds=rounds, finished=finished)
    return result


def _drive(url: str, clients: int, rounds: int, asked: list[str]) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {
        "list": [],
        "list waiting": [],
        "requests": [],
        "answer": [],
    }
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)
    calls = [
        ("list", "GET", "/api/runs?limit=50", 200),
        ("list waiting", "GET", "/api/runs?status=waiting&limit=50", 200),
        ("requests", "GET", "/api/requests", 200),
    ]

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            http.get("/api/runs?limit=1")  # connected before the barrier
            start.wait(timeout=300)
            for round_ in range(rounds):
                mine = asked[round_ * clients + number]
                plan = [
                    *calls,
                    ("answer", "POST", f"/api/runs/{mine}/answer", 201),
                ]
                for label, method, path, expected in plan:
                    body = {"value": number} if method == "POST" else None
                    began = time.perf_counter()
                    try:
                        response = http.request(method, path, json=body)
                        status = response.status_code
                    except httpx.HTTPError as error:
                        status, response = -1, None
                        detail = type(error).__name__
                    took = time.perf_counter() - began
                    with lock:
                        latencies[label].append(took)
                        if status != expected:
                            text = response.text[:200] if response else detail
                            errors.append(f"{label} {status} {text}")

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    wall = time.perf_counter() - began
    return {"latencies": latencies, "errors": errors, "wall": wall}


def _check(url: str, asked: list[str]) -> str:
    """Waits for the resumed runs to finish; says how many finished right."""
    deadline = time.monotonic() + 300
    with httpx.Client(base_url=url, timeout=120) as http:
        while time.monotonic() < deadline:
            page = http.get("/api/runs?status=waiting&limit=1&count=true").json()
            running = http.get("/api/runs?status=running&limit=1&count=true").json()
            if page["total"] == 0 and running["total"] == 0:
                break
            time.sleep(0.5)  # waiting for background resumes, not timing
        done = http.get("/api/runs?status=finished&limit=1&count=true").json()["total"]
    return f"{done} runs finished"


def _table(result: dict[str, Any]) -> str:
    rows = [
        "| request | count | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    everything: list[float] = []
    for label, values in result["latencies"].items():
        everything.extend(values)
        rows.append(
            f"| {label} | {len(values)} | {statistics.median(values) * 1000:.0f} | "
            f"{_percentile(values, 0.99) * 1000:.0f} | {max(values) * 1000:.0f} |"
        )
    rows.append(
        f"| all | {len(everything)} | {statistics.median(everything) * 1000:.0f} | "
        f"{_percentile(everything, 0.99) * 1000:.0f} | {max(everything) * 1000:.0f} |"
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["file", "sqlite", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--finished", type=int, default=1000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.rounds, args.finished = 10, 2, 100
    kinds = ["file", "sqlite"] if args.store == "both" else [args.store]
    load_before = os.getloadavg()[0]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.platform()}, {os.cpu_count()} CPUs, "
        f"load {load_before:.2f} before"
    )
    for kind in kinds:
        result = load(kind, args.clients, args.rounds, args.finished)
        total = sum(len(v) for v in result["latencies"].values())
        print(
            f"\n### {kind} store: {args.clients} clients x {args.rounds} rounds, "
            f"{args.finished} finished runs + {args.clients * args.rounds} waiting\n"
        )
        print(_table(result))
        print(
            f"\n{total} requests in {result['wall']:.1f} s "
            f"({total / result['wall']:.0f}/s); errors: {len(result['errors'])}; "
            f"afterwards {result['checked']} "
            f"(of {args.finished + args.clients * args.rounds})"
        )
        for error in result["errors"][:10]:
            print(f"  error: {error}")
    print(f"\nload {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
