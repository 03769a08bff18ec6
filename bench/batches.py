"""Batches: I/O-bound async samples, CPU-bound samples on processes, and Ray.

Run from the repository root (see bench/README.md):

    python bench/batches.py                 # all three, full sizes
    python bench/batches.py --quick         # smaller sizes
    python bench/batches.py --only io --samples 2000
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import enact
from batch_flows import Burn, ThreeCalls, Trivial


def _timed(
    store: enact.Store, component: object, count: int, **options: object
) -> float:
    with store:
        started = time.perf_counter()
        batch = enact.sample(component, [enact.Int(0)], n=count, **options)
        batch.wait()
        took = time.perf_counter() - started
        counts = batch.info().counts
        assert counts == {"finished": count}, counts
    return took


def io_bound(samples: int, concurrency: int, kind: str = "file") -> None:
    """Async flows of three awaited 20 ms calls, ``concurrency`` at once, on
    a file store or a SQLite one (``kind``)."""
    with tempfile.TemporaryDirectory() as root:
        store: enact.Store
        if kind == "sqlite":
            store = enact.SQLiteStore(os.path.join(root, "store.db"))
        else:
            store = enact.FileStore(os.path.join(root, "store"))
        took = _timed(store, ThreeCalls(20.0), samples, concurrency=concurrency)
        store.close()
    ideal = samples / concurrency * 0.060
    print(
        f"| I/O-bound: {samples} async samples (3 x 20 ms awaits), concurrency "
        f"{concurrency}, {kind} store | {took:.2f} s | ideal {ideal:.2f} s, "
        f"{took / samples * 1e3:.3f} ms per sample |"
    )


def cpu_bound(samples: int) -> None:
    """20 ms of CPU per sample: a pool of 1 worker process vs 2 (started and
    warmed up before the clock starts; ``"processes"`` would start its own)."""
    times = {}
    context = multiprocessing.get_context("spawn")
    for workers in (1, 2):
        with (
            tempfile.TemporaryDirectory() as root,
            concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool,
        ):
            store = enact.FileStore(os.path.join(root, "store"))
            _timed(store, Burn(1.0), 4 * workers, executor=pool, concurrency=workers)
            times[workers] = _timed(
                store, Burn(20.0), samples, executor=pool, concurrency=workers
            )
            store.close()
    print(
        f"| CPU-bound: {samples} samples of 20 ms CPU, process pool | 1 worker "
        f"{times[1]:.2f} s, 2 workers {times[2]:.2f} s | speed-up "
        f"{times[1] / times[2]:.2f}x |"
    )


def ray_overhead(samples: int) -> None:
    """Per-sample cost of a trivial sample on processes and on Ray."""
    try:
        import ray
    except ImportError:
        print("| Ray | not installed | |")
        return
    from enact.ray import RayExecutor

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        results = {}
        for label, executor, workers in [
            ("processes, 2 workers", "processes", 2),
            ("Ray, 1 worker", RayExecutor(num_workers=1), 1),
            ("Ray, 2 workers", RayExecutor(num_workers=2), 2),
        ]:
            with tempfile.TemporaryDirectory() as root:
                store = enact.FileStore(os.path.join(root, "store"))
                _timed(store, Trivial(), 4, executor=executor, concurrency=workers)
                took = _timed(
                    store, Trivial(), samples, executor=executor, concurrency=workers
                )
                store.close()
            results[label] = took / samples * 1e3
        cells = ", ".join(f"{label} {ms:.2f} ms" for label, ms in results.items())
        extra = results["Ray, 2 workers"] - results["processes, 2 workers"]
        print(
            f"| Ray: {samples} trivial samples, per sample | {cells} | Ray over "
            f"processes: {extra:+.2f} ms per sample; 2 Ray workers vs 1: "
            f"{results['Ray, 1 worker'] / results['Ray, 2 workers']:.2f}x |"
        )
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", choices=["io", "cpu", "ray"], action="append")
    parser.add_argument("--samples", type=int, help="I/O-bound samples")
    parser.add_argument(
        "--store",
        choices=["file", "sqlite"],
        action="append",
        help="the I/O-bound benchmark's stores (default: both)",
    )
    args = parser.parse_args(argv)
    only = set(args.only or ["io", "cpu", "ray"])
    load = os.getloadavg()[0]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.platform()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {load:.1f}\n"
    )
    print("| benchmark | time | notes |\n|---|---|---|")
    if "io" in only:
        for kind in args.store or ["file", "sqlite"]:
            io_bound(args.samples or (1000 if args.quick else 10_000), 500, kind)
    if "cpu" in only:
        cpu_bound(20 if args.quick else 100)
    if "ray" in only:
        ray_overhead(50 if args.quick else 300)
    print(f"\nload after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
