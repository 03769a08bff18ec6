"""Dataset export: rows per second to Parquet, and peak memory while exporting.

    python bench/export.py                      # 100,000 calls, 1 GiB of values
    python bench/export.py --calls 20000 --values-mb 200
    python bench/export.py --stores file sqlite --baseline /path/to/old/tree
    python bench/export.py --stores file sqlite --workers 1 2 --values-mb 0

Two measurements, each export in a fresh process (so its peak resident
memory is the export's own):

1. ``--calls`` journaled calls (10 runs of a component making small leaf
   calls) exported to Parquet: rows per second (target: 50,000).
   With ``--baseline`` (another checkout's root), each export is also run
   with that tree's enact on the same store, old and new interleaved,
   ``--repeats`` times each (the minimum is reported). ``--workers 1 2``
   exports with each number of worker processes in the same run, in turn
   (CPU seconds are the exporting process's and its workers' together).
2. Runs whose outputs add up to ``--values-mb`` MiB of stored text (1 MiB
   each), exported to Parquet: the exporting process's peak resident memory
   (target: at most 200 MB), which stays near one row batch whatever the
   size of the store.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

_SOURCE = os.environ.get("ENACT_BENCH_SOURCE") or str(
    pathlib.Path(__file__).resolve().parents[1] / "src"
)
sys.path.insert(0, _SOURCE)

import enact  # noqa: E402 (after the source tree is on the path)
from enact import datasets  # noqa: E402


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Leaf(enact.Invokable[enact.Int, enact.Int]):
    _enact_type_name = "bench.export.Leaf"

    def call(self, value: enact.Int) -> enact.Int:
        return enact.Int(int(value) + 1)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Many(enact.Invokable[enact.Int, enact.Int]):
    """Calls ``Leaf`` ``count`` times, on ``start``, ``start + 1``, ..."""

    _enact_type_name = "bench.export.Many"
    count: int = 0

    def call(self, start: enact.Int) -> enact.Int:
        first = int(start)
        return enact.Int(
            sum(int(Leaf()(enact.Int(n))) for n in range(first, first + self.count))
        )


@enact.typed_invokable(enact.Int, enact.Str)
@dataclasses.dataclass
class Big(enact.Invokable[enact.Int, enact.Str]):
    _enact_type_name = "bench.export.Big"

    def call(self, seed: enact.Int) -> enact.Str:
        block = f"{int(seed):08d}".encode().hex()
        return enact.Str((block * (1 << 20))[: 1 << 20])


def _open(path: str) -> enact.Store:
    return enact.SQLiteStore(path) if path.endswith(".db") else enact.FileStore(path)


def _fill_calls(path: str, calls: int) -> None:
    # Every run's calls are distinct (inputs, outputs, records): an export
    # reads each call's own objects, none shared with another run.
    per_run = max(1, calls // 10)
    store = _open(path)
    with store:
        for number in range(calls // per_run):
            enact.run(Many(per_run), enact.Int(number * per_run))
    store.close()  # as the writing program would, closing or ending


def _fill_values(path: str, megabytes: int) -> None:
    store = enact.FileStore(path)
    with store:
        for seed in range(megabytes):
            enact.run(Big(), enact.Int(seed))
    store.close()


def _export(path: str, out: str, component: str, workers: str = "1") -> None:
    """In the child: export, then print rows, seconds, CPU seconds (its own
    and its workers'), its peak RSS and its workers' (KiB)."""
    with _open(path):
        start = time.perf_counter()
        cpu = time.process_time()
        spread = {} if workers == "1" else {"workers": int(workers)}
        rows = datasets.export(out, component=component, **spread)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        rows,
        seconds,
        cpu,
        children.ru_utime + children.ru_stime,
        _peak_kib(),
        children.ru_maxrss,
    )


def _peak_kib() -> int:
    """This process's peak resident memory in KiB.

    Linux's ``VmHWM`` is the peak of this program alone: ``ru_maxrss`` of a
    child also counts what its parent held when it forked (the parent here
    has just written the store), which is not the export's.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Found(NamedTuple):
    rows: int
    seconds: float
    cpu: float  # the exporting process's
    workers_cpu: float  # its workers'
    peak: int  # KiB
    workers_peak: int  # KiB, the largest of its workers'


def _measure(
    path: str,
    out: str,
    component: str,
    source: str | None = None,
    workers: int = 1,
) -> Found:
    env = dict(os.environ)
    if source is not None:
        env["ENACT_BENCH_SOURCE"] = source
    command = [sys.executable, __file__, "--child", path, out, component]
    if workers != 1:
        command.append(str(workers))
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        raise SystemExit(f"the export failed:\n{result.stderr}")
    rows, seconds, cpu, workers_cpu, peak, workers_peak = result.stdout.split()
    return Found(
        int(rows),
        float(seconds),
        float(cpu),
        float(workers_cpu),
        int(peak),
        int(workers_peak),
    )


def _export_rates(args: argparse.Namespace, scratch: str) -> None:
    sources: list[tuple[str, str | None, int]] = [
        ("new" if workers == 1 else f"new, {workers} workers", None, workers)
        for workers in args.workers
    ]
    if args.baseline:
        sources.insert(0, ("old", os.path.join(args.baseline, "src"), 1))
    for kind in args.stores:
        calls = os.path.join(scratch, "calls.db" if kind == "sqlite" else "calls")
        start = time.perf_counter()
        _fill_calls(calls, args.calls)
        took = time.perf_counter() - start
        print(f"{kind}: journaled {args.calls} calls in {took:.1f} s")
        best: dict[str, Found] = {}
        for _ in range(args.repeats):
            for name, source, workers in sources:
                out = os.path.join(scratch, "c.parquet")
                found = _measure(calls, out, "Leaf", source, workers)
                if name not in best or found.seconds < best[name].seconds:
                    best[name] = found
        for name, _, workers in sources:
            found = best[name]
            rows, seconds = found.rows, found.seconds
            cpu = found.cpu + found.workers_cpu
            split = (
                f" ({found.cpu:.2f} s exporting, {found.workers_cpu:.2f} s in "
                f"workers of peak RSS {found.workers_peak / 1024:.0f} MiB)"
                if workers != 1
                else ""
            )
            print(
                f"{kind}, {name}: exported {rows} calls to Parquet in "
                f"{seconds:.2f} s: {rows / seconds:,.0f} rows/s; {cpu:.2f} s of "
                f"CPU{split}: {rows / cpu:,.0f} rows per CPU second "
                f"(peak RSS {found.peak / 1024:.0f} MiB)"
            )
        print(f"load average: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--values-mb", type=int, default=1024)
    parser.add_argument(
        "--stores", nargs="+", choices=("file", "sqlite"), default=["file"]
    )
    parser.add_argument("--baseline", help="another checkout to compare with")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="worker processes of each export (several: each in turn)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _export(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="enact-bench-export-") as scratch:
        _export_rates(args, scratch)
        if args.values_mb:
            values = os.path.join(scratch, "values")
            _fill_values(values, args.values_mb)
            out = os.path.join(scratch, "v.parquet")
            sources = [
                ("new" if workers == 1 else f"new, {workers} workers", None, workers)
                for workers in args.workers
            ]
            if args.baseline:
                sources.insert(0, ("old", os.path.join(args.baseline, "src"), 1))
            for name, source, workers in sources:
                found = _measure(values, out, "Big", source, workers)
                rows, seconds, peak = found.rows, found.seconds, found.peak
                split = (
                    f"; its workers' largest {found.workers_peak / 1024:.0f} MiB"
                    if workers != 1
                    else ""
                )
                print(
                    f"{name}: exported {rows} calls holding {args.values_mb} MiB "
                    f"of values in {seconds:.1f} s: peak RSS {peak / 1024:.0f} MiB "
                    f"({peak * 1024 / 1e6:.0f} MB){split} "
                    f"(Parquet file {os.path.getsize(out) / 2**20:.0f} MiB)"
                )


if __name__ == "__main__":
    main()
