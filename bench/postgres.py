"""The PostgreSQL store against the file store, in one run (issue 14).

Usage::

    python bench/postgres.py                 # starts a throwaway server
    python bench/postgres.py --url postgresql://user@host/db   # an existing one
    python bench/postgres.py --quick         # smaller sizes

Without ``--url`` it starts Debian's PostgreSQL (``initdb`` and ``pg_ctl``
in a temporary directory, as the tests do; as root, run as the ``postgres``
user) on a free loopback port, and stops it at the end. Every figure is the
best of a few repeats, each on a store of its own (a new schema, a new
directory); other work on the machine only ever adds time.

Figures (Markdown on standard output):

- durable journaled child call, µs per finished call: a 50-step flow with a
  10-byte payload per step (and a 1,000-step one), on the file store and on
  PostgreSQL at the default level (``synchronous_commit=off``) and the
  power-loss level (``fsync=True``: ``synchronous_commit=on``);
- small objects: commit+checkout pairs/s, batched (10,000 objects);
- a 64 MiB blob: commit and checkout MB/s;
- ``list_runs(status=...)`` over 100,000 runs (the records are copied in
  with one ``INSERT ... SELECT``, from one real run of each status);
- resume of a crashed 10,000-child run;
- 8 writer processes, each a durable 500-step run: aggregate calls/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import enact  # noqa: E402
from enact import runs  # noqa: E402
from enact._runs.listing import query_columns  # noqa: E402
from enact.backends.index import Index, RunQuery  # noqa: E402
from enact.runs import RunStatus  # noqa: E402


@enact.typed_invokable(enact.Bytes, enact.Bytes)
@dataclasses.dataclass
class Step(enact.Invokable[enact.Bytes, enact.Bytes]):
    """Returns its 10-byte payload with one byte changed: every output new."""

    n: int = 0
    crash: bool = False

    def call(self, payload: enact.Bytes) -> enact.Bytes:
        if self.crash and CRASH[0]:
            raise Crash()
        return enact.Bytes(bytes(payload)[:-4] + self.n.to_bytes(4, "big"))


class Crash(BaseException):
    """Stands in for the process dying in the middle of a run."""


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Flow(enact.Invokable[enact.Int, enact.Int]):
    """``steps`` Step calls; step ``crash_at`` raises :class:`Crash`."""

    steps: int = 50
    crash_at: int = -1

    def call(self, seed: enact.Int) -> enact.Int:
        payload = enact.Bytes(b"payload-" + int(seed).to_bytes(2, "big"))
        for n in range(self.steps):
            payload = Step(n, crash=n == self.crash_at)(payload)
        return enact.Int(len(payload))


CRASH = [True]


def best(repeat: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(repeat))


class Stores:
    """Fresh stores of each kind: a directory, or a schema on the server."""

    def __init__(self, url: str, root: str) -> None:
        self.url = url
        self.root = root

    def location(self, kind: str) -> str:
        tag = uuid.uuid4().hex[:12]
        if kind == "file":
            return os.path.join(self.root, f"store-{tag}")
        separator = "&" if "?" in self.url else "?"
        return f"{self.url}{separator}schema=bench_{tag}"

    @contextmanager
    def fresh(self, kind: str, **options: Any) -> Iterator[enact.Store]:
        store = enact.open_store(self.location(kind), **options)
        try:
            with store:
                yield store
        finally:
            store.close()


KINDS = [
    ("file store", "file", {}),
    ("PostgreSQL, default (synchronous_commit=off)", "postgres", {}),
    ("PostgreSQL, fsync=True (synchronous_commit=on)", "postgres", {"fsync": True}),
]


def durable_calls(stores: Stores, repeat: int, steps: int) -> list[tuple[str, float]]:
    rows = []
    for label, kind, options in KINDS:

        def once(kind: str = kind, options: dict[str, Any] = options) -> float:
            with stores.fresh(kind, **options):
                enact.run(Flow(steps=2), enact.Int(0))  # warm: types, caches
                started = time.perf_counter()
                run = enact.run(Flow(steps=steps), enact.Int(1))
                assert run.status is RunStatus.FINISHED, run.info().error
                return (time.perf_counter() - started) / steps * 1e6

        rows.append((label, best(repeat, once)))
    return rows


@enact.register
@dataclasses.dataclass
class Sample(enact.Resource):
    number: int
    text: str
    ratio: float


def small_objects(
    stores: Stores, repeat: int, count: int
) -> list[tuple[str, float, float]]:
    """Pairs/s with one checkout per ref, and with one ``checkout_many``."""
    rows = []
    for label, kind, options in KINDS[:2]:

        def once(
            many: bool, kind: str = kind, options: dict[str, Any] = options
        ) -> float:
            with stores.fresh(kind, **options) as store:
                values = [
                    Sample(i, f"text {i} {uuid.uuid4().hex}", i / 7)
                    for i in range(count)
                ]
                started = time.perf_counter()
                with store.batch():
                    refs = [store.commit(value) for value in values]
                fresh = [enact.Ref(ref.digest) for ref in refs]
                if many:
                    store.checkout_many(fresh)
                else:
                    for ref in fresh:
                        store.checkout(ref)
                return count / (time.perf_counter() - started)

        # Interleaved: the machine's load falls on both alike.
        one, many = [], []
        for _ in range(repeat):
            one.append(once(False))
            many.append(once(True))
        rows.append((label, max(one), max(many)))
    return rows


def large_blob(
    stores: Stores, repeat: int, size: int
) -> list[tuple[str, float, float]]:
    rows = []
    for label, kind, options in KINDS[:2]:
        commits, checkouts = [], []
        for _ in range(repeat):
            with stores.fresh(kind, **options) as store:
                blob = enact.Bytes(os.urandom(size))
                started = time.perf_counter()
                ref = store.commit(blob)
                committed = time.perf_counter()
                store.checkout(enact.Ref(ref.digest))
                done = time.perf_counter()
                commits.append(size / (committed - started) / 1e6)
                checkouts.append(size / (done - committed) / 1e6)
        rows.append((label, max(commits), max(checkouts)))
    return rows


def list_runs(stores: Stores, repeat: int, count: int) -> ListFigures:
    """Listing the waiting runs of ``count``: a page of 50 from the server's
    table (the first one builds it), the same page by the scan, and
    ``list_runs``, which reads every record."""
    import psycopg

    location = stores.location("postgres")
    with enact.open_store(location) as store:
        enact.run(Flow(steps=3), enact.Int(0), name="template-finished")
        backend = store.backend
        schema = backend.schema  # type: ignore[union-attr]
    with psycopg.connect(stores.url, autocommit=True) as db:
        ((template_id, record),) = db.execute(f"SELECT id, record FROM {schema}.runs")
        text = bytes(record).decode()
        text = text.replace('"name":"template-finished"', '"name":null')
        # Copies of the finished run's record under new ids, one in ten
        # made waiting (the record is JSON with a status field).
        with db.cursor().copy(
            f"COPY {schema}.runs (id, record, updated) FROM STDIN"
        ) as copy:
            for n in range(1, count):
                run_id = f"copy-{n:06d}"
                copied = text.replace(template_id, run_id)
                if n % 10 == 0:
                    copied = copied.replace('"status":"finished"', '"status":"waiting"')
                copy.write_row((run_id, copied.encode(), "bench"))
    with enact.open_store(location) as store:
        started = time.perf_counter()
        first = runs.page_runs(status=RunStatus.WAITING, limit=50)
        build = time.perf_counter() - started
        assert len(first.runs) == 50
        found = len(runs.list_runs(status=RunStatus.WAITING))
        index = store.index

        def timed(call: Callable[[], object]) -> Callable[[], float]:
            def once() -> float:
                started = time.perf_counter()
                call()
                return time.perf_counter() - started

            return once

        def scan_page() -> None:
            # What every page cost before: the index's default, a scan.
            query = RunQuery(equal={"status": "waiting"}, limit=50)
            Index.query_runs(index, query, query_columns)

        return ListFigures(
            found=found,
            build=build,
            page=best(repeat, timed(lambda: runs.page_runs(status="waiting"))),
            second_page=best(
                repeat,
                timed(
                    lambda: runs.page_runs(status="waiting", cursor=first.next_cursor)
                ),
            ),
            all_waiting=best(
                repeat, timed(lambda: runs.page_runs(status="waiting", limit=None))
            ),
            scan_page=best(repeat, timed(scan_page)),
            list_all=best(repeat, timed(lambda: runs.list_runs(status="waiting"))),
        )


@dataclasses.dataclass
class ListFigures:
    """Seconds for each way of listing the waiting runs."""

    found: int
    build: float
    page: float
    second_page: float
    all_waiting: float
    scan_page: float
    list_all: float


def resume_crashed(stores: Stores, repeat: int, steps: int) -> list[tuple[str, float]]:
    rows = []
    for label, kind, options in KINDS[:2]:

        def once(kind: str = kind, options: dict[str, Any] = options) -> float:
            with stores.fresh(kind, **options):
                CRASH[0] = True
                try:
                    enact.run(
                        Flow(steps=steps, crash_at=steps - 1), enact.Int(0), name="c"
                    )
                except Crash:
                    pass
                CRASH[0] = False
                run = runs.get_run("c")
                started = time.perf_counter()
                run.resume()
                took = time.perf_counter() - started
                assert run.status is RunStatus.FINISHED
                return took

        rows.append((label, best(repeat, once)))
    return rows


_WRITER = """
import sys, time
sys.path.insert(0, sys.argv[3])
import enact
import postgres as bench
with enact.open_store(sys.argv[1]):
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()
    enact.run(bench.Flow(steps=int(sys.argv[2])), enact.Int(0))
"""


def writers(stores: Stores, processes: int, steps: int) -> list[tuple[str, float]]:
    rows = []
    for label, kind, _ in KINDS[:2]:
        location = stores.location(kind)
        enact.open_store(location).close()  # created once, not by 8 at once
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _WRITER, location, str(steps), str(HERE)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(processes)
        ]
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        started = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            child.communicate(timeout=600)
            assert child.returncode == 0
        took = time.perf_counter() - started
        rows.append((label, processes * steps / took))
    return rows


def _server() -> tuple[str, Callable[[], None]]:
    from stores.postgres_server import PostgresServer, find_binaries

    binaries = find_binaries()
    if binaries is None:
        sys.exit(
            "no PostgreSQL server binaries: apt-get install postgresql, or pass --url"
        )
    server = PostgresServer(binaries)
    server.start()
    return server.url(), server.stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", help="an existing server's database (default: start one)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, fewer repeats"
    )
    args = parser.parse_args()
    repeat = 2 if args.quick else 5
    url, stop = (args.url, lambda: None) if args.url else _server()
    root = tempfile.mkdtemp(prefix="enact-bench-")
    stores = Stores(url, root)
    try:
        load = os.getloadavg()[0]
        print(f"# PostgreSQL store benchmarks\n\nload average before: {load:.2f}\n")
        for steps in (50, 1000 if not args.quick else 200):
            print(
                f"## Durable journaled child call, {steps}-step flow, 10-byte payload\n"
            )
            print("| store | µs per finished call |\n|---|---:|")
            for label, micros in durable_calls(stores, repeat, steps):
                print(f"| {label} | {micros:,.0f} |")
            print()
        count = 2000 if args.quick else 10_000
        print(f"## Small objects, batched: {count:,} commit+checkout pairs\n")
        print("| store | one checkout each | checkout_many |\n|---|---:|---:|")
        for label, one, many in small_objects(stores, repeat, count):
            print(f"| {label} | {one:,.0f} | {many:,.0f} |")
        size = (16 if args.quick else 64) << 20
        print(f"\n## A {size >> 20} MiB blob\n")
        print("| store | commit MB/s | checkout MB/s |\n|---|---:|---:|")
        for label, commit, checkout in large_blob(stores, min(repeat, 3), size):
            print(f"| {label} | {commit:,.0f} | {checkout:,.0f} |")
        count = 10_000 if args.quick else 100_000
        listed = list_runs(stores, repeat, count)
        print(f"\n## Waiting runs of {count:,} ({listed.found:,} waiting)\n")
        print("| how | ms |\n|---|---:|")
        for how, seconds in (
            ("page_runs(status='waiting'), a page of 50", listed.page),
            ("the next page (by its cursor)", listed.second_page),
            ("the same page by the scan (the index's default)", listed.scan_page),
            ("page_runs(status='waiting', limit=None): every one", listed.all_waiting),
            ("list_runs(status='waiting'): reads every record", listed.list_all),
            ("the first query, which builds the table", listed.build),
        ):
            print(f"| {how} | {seconds * 1000:,.1f} |")
        print()
        steps = 2000 if args.quick else 10_000
        print(f"## Resume of a crashed {steps:,}-child run\n")
        print("| store | seconds |\n|---|---:|")
        for label, seconds in resume_crashed(stores, min(repeat, 3), steps):
            print(f"| {label} | {seconds:.2f} |")
        steps = 100 if args.quick else 500
        print(f"\n## 8 writer processes, a {steps}-step durable run each\n")
        print("| store | aggregate calls/s |\n|---|---:|")
        for label, rate in writers(stores, 8, steps):
            print(f"| {label} | {rate:,.0f} |")
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        stop()


if __name__ == "__main__":
    main()
