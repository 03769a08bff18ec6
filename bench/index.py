"""Run queries over many runs: a page of 50 with each filter, on each store.

``python bench/index.py`` fills a memory, a file and an SQLite store with
100,000 run records (``--runs N`` for another size; ``--postgres`` adds a
PostgreSQL store on a throwaway server, as ``bench/postgres.py`` starts one,
or ``--postgres-url URL`` on an existing one), then times
``enact.runs.page_runs`` for a page of 50 with each filter, the first query
(which builds the stores' table of columns from a scan), the first query
after 1,000 more runs were written (which catches up with them),
``count_runs`` (every page's runs counted at once) and one ``list_runs``
(which reads every record) for comparison. Prints a Markdown
table; figures are the best of 5 repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import enact
from enact import runs

COMPONENTS = ("bench.Agent", "bench.Judge", "bench.Writer", "bench.RareTool")
STATUSES = ("finished", "finished", "finished", "failed", "waiting")


@enact.register
def one(x: int) -> int:
    """A run to copy the record of."""
    return x


def _template(store: enact.Store) -> dict[str, Any]:
    with store:
        run = runs.run(one, 1)
    record = store.index.get_run(run.id)
    assert record is not None
    template: dict[str, Any] = json.loads(record)
    store.index.update_run(run.id, lambda _old: None)
    return template


def _record(template: dict[str, Any], number: int) -> tuple[str, bytes]:
    run_id = f"20260101-000000-{number:08x}"
    record = dict(template)
    record.update(
        id=run_id,
        component=COMPONENTS[3] if number % 1000 == 7 else COMPONENTS[number % 3],
        status=STATUSES[number % len(STATUSES)],
        started=1.7e9 + number,
        ended=1.7e9 + number + 0.5,
        tags=[f"t{number % 10}"] + (["rare"] if number % 5000 == 3 else []),
        name=f"run-{number}" if number % 100 == 0 else None,
    )
    if number % 5000 == 17:
        record["name"] = f"zebra-{number}"
    if record["status"] == "finished":  # what a finished run's record keeps
        record["output_text"] = f"the answer is {number * 7919 % 100_000}"
    return run_id, json.dumps(record, separators=(",", ":")).encode()


def fill(url: str, count: int, memory: enact.Store | None = None) -> float:
    """Writes ``count`` records (into ``memory`` if given, a memory store);
    returns the seconds taken."""
    store = enact.open_store(url) if memory is None else memory
    template = _template(store)
    began = time.perf_counter()
    if memory is not None:
        for number in range(count):
            run_id, data = _record(template, number)
            store.index.update_run(run_id, lambda _old, d=data: d)
    elif url.startswith("postgresql://"):
        # In bulk, with COPY (the trigger on runs feeds run_changes).
        import psycopg

        base, schema = url.split("?schema=")
        store.close()
        with psycopg.connect(base) as db, db.cursor() as cursor:
            statement = f'COPY "{schema}".runs (id, record, updated) FROM STDIN'
            with cursor.copy(statement) as copy:
                for number in range(count):
                    run_id, data = _record(template, number)
                    copy.write_row((run_id, data, "bench"))
    elif url.startswith("sqlite:///"):
        # In bulk, as the index writes them (a record and a change row each).
        path = url.removeprefix("sqlite:///")
        store.close()
        with sqlite3.connect(path) as db:
            rows = [_record(template, number) for number in range(count)]
            db.executemany("INSERT INTO runs (id, record) VALUES (?, ?)", rows)
            db.executemany(
                "INSERT INTO run_changes (id) VALUES (?)", [(r,) for r, _ in rows]
            )
    else:
        for number in range(count):
            run_id, data = _record(template, number)
            store.index.update_run(run_id, lambda _old, d=data: d)
        store.close()
    return time.perf_counter() - began


def _best(call: Callable[[], Any], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - began)
    return best


FILTERS: dict[str, dict[str, Any]] = {
    "none (newest first)": {},
    "status=failed": {"status": "failed"},
    "status=crashed (none are)": {"status": "crashed"},
    "component contains Judge": {"component": "Judge"},
    "component contains RareTool (1 in 1,000)": {"component": "RareTool"},
    "tag=t3": {"tag": "t3"},
    "tag=rare (1 in 5,000)": {"tag": "rare"},
    "since/until (a 10-minute window)": {
        "since": 1.7e9 + 50_000,
        "until": 1.7e9 + 50_600,
    },
    "search 'run-4'": {"search": "run-4"},
    "search 'zebra' (1 in 5,000)": {"search": "zebra"},
    "search 'qqxjz' (matches nothing)": {"search": "qqxjz"},
    "search 'ze' (too short for trigrams)": {"search": "ze"},
    "ordered by name, ascending": {"order_by": "name", "descending": False},
}


def _write_more(store: enact.Store, first: int, count: int) -> None:
    template = _template(store)
    for number in range(first, first + count):
        run_id, data = _record(template, number)
        store.index.update_run(run_id, lambda _old, d=data: d)


def measure(
    url: str, count: int, memory: enact.Store | None = None
) -> dict[str, float]:
    store = enact.open_store(url) if memory is None else memory
    figures: dict[str, float] = {}
    began = time.perf_counter()
    runs.page_runs(limit=50, store=store)
    figures["first query (builds the table)"] = time.perf_counter() - began
    for label, filters in FILTERS.items():
        figures[label] = _best(
            lambda f=filters: runs.page_runs(limit=50, store=store, **f)
        )
    page = runs.page_runs(limit=50, store=store, status="failed")
    figures["next page (cursor), status=failed"] = _best(
        lambda: runs.page_runs(
            limit=50, store=store, status="failed", cursor=page.next_cursor
        )
    )
    figures["count_runs(status=failed), every page"] = _best(
        lambda: runs.count_runs(store=store, status="failed")
    )
    figures["count_runs(status=failed, search=answer)"] = _best(
        lambda: runs.count_runs(store=store, status="failed", search="answer")
    )
    # Written since the table was made (here, or by another process): the
    # next query catches up with them.
    _write_more(store, count, 1000)
    began = time.perf_counter()
    runs.page_runs(limit=50, store=store)
    figures["first query after 1,000 more runs (catches up)"] = (
        time.perf_counter() - began
    )
    with store:
        figures["list_runs(status=failed), every record"] = _best(
            lambda: runs.list_runs(status="failed"), repeat=1
        )
    store.close()
    return figures


def _server() -> tuple[str, Callable[[], None]]:
    """A throwaway PostgreSQL server's database URL, and how to stop it."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
    from stores.postgres_server import PostgresServer, find_binaries

    binaries = find_binaries()
    if binaries is None:
        sys.exit("no PostgreSQL server binaries: apt-get install postgresql")
    server = PostgresServer(binaries)
    server.start()
    return server.url(), server.stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument(
        "--postgres", action="store_true", help="a PostgreSQL store too"
    )
    parser.add_argument("--postgres-url", help="an existing server's database")
    args = parser.parse_args()
    server, stop = (args.postgres_url, lambda: None)
    if args.postgres and server is None:
        server, stop = _server()
    with tempfile.TemporaryDirectory() as scratch:
        urls = {
            "memory": "memory://",
            "file": os.path.join(scratch, "files"),
            "sqlite": f"sqlite:///{scratch}/store.db",
        }
        if server is not None:
            urls["postgres"] = f"{server}?schema=bench_{uuid.uuid4().hex[:12]}"
        results = {}
        for kind, url in urls.items():
            memory = enact.open_store(url) if kind == "memory" else None
            took = fill(url, args.runs, memory)
            print(f"filled {kind} with {args.runs:,} runs in {took:.1f} s")
            results[kind] = measure(url, args.runs, memory)
    stop()
    heads = " | ".join(f"{kind} ms" for kind in urls)
    print(f"\n| query, page of 50, {args.runs:,} runs | {heads} |")
    print("|---|" + "---:|" * len(urls))
    for label in results["file"]:
        cells = [f"{results[kind][label] * 1000:,.1f}" for kind in urls]
        print(f"| {label} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
