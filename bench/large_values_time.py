"""Time per step of a short flow whose steps all get the same payload.

A flow (an invokable) calls a registered plain function 50 times, each call
given the same payload and its own step number: ``step(payload, i)``. The
payload is 10 bytes or 100 KB of text; the flow runs as ``enact.invoke`` on
the memory, file and SQLite stores, and as a durable ``enact.run`` on the file
and SQLite stores. Printed: microseconds per step (the whole run, divided by
the steps) and the 100 KB / 10 bytes ratio.

Run ``python bench/large_values_time.py`` (``--repeat 9``, ``--steps 50``).
Every figure is the best of several repeats, each in a fresh store, each with
a payload not seen before in the process (a run pays for its payload's first
encoding and hash, as a new process would). Each store is opened and used by
one short run of its own before the timed run, so the figure is a run's cost
in an open store, not the store's opening (sessions, directories, files).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import enact

SIZES = {"10 B": 10, "100 KB": 100_000}
STORES: dict[str, Callable[[Path], enact.Store]] = {
    "memory": lambda _: enact.InMemoryStore(),
    "file": lambda path: enact.FileStore(path / "store"),
    "sqlite": lambda path: enact.SQLiteStore(path / "store.db"),
}
# (label, store kind, durable)
MODES = [
    ("invoke, memory", "memory", False),
    ("invoke, file", "file", False),
    ("invoke, sqlite", "sqlite", False),
    ("enact.run, file", "file", True),
    ("enact.run, sqlite", "sqlite", True),
]


@enact.register
def step(payload: str, number: int) -> int:
    """A trivial step: it only looks at its arguments."""
    return number + len(payload)


@enact.typed_invokable(input_type=enact.Str, output_type=enact.Int)
@dataclasses.dataclass
class Flow(enact.Invokable):  # type: ignore[type-arg]
    """Calls ``step`` ``steps`` times with the same payload."""

    steps: int

    def call(self, payload: enact.Str) -> enact.Int:
        text = str(payload)
        return enact.Int(sum(step(text, number) for number in range(self.steps)))


_serial = itertools.count()


def fresh_payload(size: int) -> str:
    """Text of ``size`` characters never built before in this process."""
    head = f"{next(_serial):08d}|{os.getpid()}|"
    body = "lorem ipsum dolor sit amet " * (size // 27 + 1)
    return (head + body)[:size]


def one_run(
    root: Path, kind: str, durable: bool, size: int, steps: int
) -> tuple[float, float]:
    """Seconds of one run (flush included) in a fresh store, opened and used
    by one short run first: the time is a run's, not the store's opening.

    Returns:
        The wall-clock time and the process's CPU time (user and system):
        on a machine shared with other work, CPU time is the steadier one.
    """
    directory = Path(tempfile.mkdtemp(dir=root))
    store = STORES[kind](directory)
    payload = enact.Str(fresh_payload(size))
    flow = Flow(steps)
    try:
        with store:
            if durable:
                enact.run(Flow(1), enact.Str(fresh_payload(size)))
            else:
                enact.invoke(Flow(1), (enact.Str(fresh_payload(size)),))
                store.flush()
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            if durable:
                run = enact.run(flow, payload)
                assert run.status == "finished", run.status
            else:
                enact.invoke(flow, (payload,))
                store.flush()
            return time.perf_counter() - start, time.process_time() - cpu
    finally:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="enact-large-"))
    try:
        for _, kind, durable in MODES:  # warm up every path once
            one_run(root, kind, durable, 10, 5)
        # Interleaved: each repeat measures every row once, so load that comes
        # and goes touches all rows alike.
        timings: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.repeat):
            for label, kind, durable in MODES:
                for size_label, size in SIZES.items():
                    seconds = one_run(root, kind, durable, size, args.steps)
                    timings.setdefault((label, size_label), []).append(seconds)
        wall = {k: min(t[0] for t in v) / args.steps * 1e6 for k, v in timings.items()}
        cpu = {k: min(t[1] for t in v) / args.steps * 1e6 for k, v in timings.items()}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"### {args.steps}-step flow of registered function calls, same payload "
        f"(best of {args.repeat})\n"
    )
    print(
        "| mode | 10 B us/step | 100 KB us/step | 100 KB / 10 B "
        "| 10 B CPU us/step | 100 KB CPU us/step | CPU 100 KB / 10 B |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, _, _ in MODES:
        small, large = wall[(label, "10 B")], wall[(label, "100 KB")]
        small_cpu, large_cpu = cpu[(label, "10 B")], cpu[(label, "100 KB")]
        print(
            f"| {label} | {small:,.1f} | {large:,.1f} | {large / small:.1f}x "
            f"| {small_cpu:,.1f} | {large_cpu:,.1f} | {large_cpu / small_cpu:.1f}x |"
        )
    print(f"\nload average: {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
