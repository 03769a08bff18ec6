"""The web UI's pages under a few concurrent clients, on loopback.

Run from the repository root (see bench/README.md):

    python bench/ui_pages.py                  # 4 clients, 300 requests per page
    python bench/ui_pages.py --quick          # 2 clients, 60 requests per page

It fills a file store with finished runs (``--runs``) and one waiting run,
serves it with :func:`enact.ui.make_server` in this process (the server's
threads or event loop, and the clients' threads, share the interpreter, as
they do in the UI's tests), and asks each page in turn from ``--clients``
threads, one new connection per request (as the UI's tests and a browser's
first visit do). It prints requests/s and the latency p50 and p99 of each
page. To compare two versions of the UI, run it twice in one sitting with
each tree first on ``PYTHONPATH`` and compare the ratios: the machine is
shared, so absolute figures move with its load.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import enact
import enact.ui
from enact import runs
from load_flows import LoadAsk, LoadEcho


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _drive(port: int, path: str, clients: int, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    each = max(1, requests // clients)

    def client() -> None:
        start.wait()
        mine = []
        for _ in range(each):
            began = time.perf_counter()
            status = _get(port, path)
            mine.append(time.perf_counter() - began)
            if status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "per_s": len(latencies) / took,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300, help="per page")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.requests, args.runs = 2, 60, 50
    with tempfile.TemporaryDirectory() as folder:
        store = enact.FileStore(os.path.join(folder, "store"))
        with store:
            for number in range(args.runs):
                done = runs.run(LoadEcho(), enact.Str(f"t{number}"))
            runs.run(LoadAsk(), enact.Str("q"))
        server = enact.ui.make_server(store, port=0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            pages = ["/", f"/runs/{done.id}", "/inbox", "/static/style.css"]
            print(f"enact.ui from {os.path.dirname(enact.ui.__file__)}")
            print(f"{args.clients} clients, {args.requests} requests a page, ")
            print(f"{args.runs} finished runs and 1 waiting\n")
            print("| page | requests/s | p50 ms | p99 ms | errors |")
            print("|---|---|---|---|---|")
            _drive(server.port, "/", args.clients, args.clients * 5)  # warm up
            for path in pages:
                shown = path if not path.startswith("/runs/") else "/runs/<id>"
                got = _drive(server.port, path, args.clients, args.requests)
                print(
                    f"| {shown} | {got['per_s']:,.0f} | {got['p50']:.1f} | "
                    f"{got['p99']:.1f} | {got['errors']} |"
                )
        finally:
            server.shutdown()
            server.server_close()
        store.close()


if __name__ == "__main__":
    main()
