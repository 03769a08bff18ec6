"""The enact benchmark suite: stores, journaled calls and human input.

Run ``python bench/run.py`` (1-2 minutes on 2 cores), ``--quick`` for a
smoke run, ``--only stores|journal|inputs|durable`` for one group, ``--write`` to also
rewrite ``bench/RESULTS.md``. Every figure is the best (fastest) of several
repeats, each in a fresh store in a temporary directory: other work on the
machine only ever adds time, so the minimum is the most repeatable estimate of
the code's own cost. Baselines (raw SHA-256, raw file writes, un-journaled
calls) are measured in the same run, so the ratios compare like with like.
See ``bench/README.md`` for what each group measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import gc
import hashlib
import itertools
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

import enact
from enact.backends import SQLiteObjects
from enact.backends.sqlite.journals import SQLiteJournals

RESULTS = Path(__file__).with_name("RESULTS.md")
# Below this line RESULTS.md keeps dated figures of earlier work (written by
# hand, other benchmarks): --write replaces only what is above it.
HISTORY_MARK = "<!-- Dated figures below: kept by `bench/run.py --write`. -->"
MIB = 1024 * 1024


# -- configuration -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes and repeat counts of one run."""

    name: str
    #: Repeats of each measurement; the best (fastest) is reported.
    repeat: int
    #: Small resources per store measurement, batched and single.
    objects: int
    single_objects: int
    #: Size of the large Bytes value, in MiB.
    big_mib: int
    #: Child calls of the journaled parent.
    children: int
    #: Request counts for the InvocationGenerator flow.
    input_sizes: tuple[int, ...]
    #: Request counts for the continue_invocation (replay) flow.
    continue_sizes: tuple[int, ...]


FULL = Config(
    name="full",
    repeat=7,
    objects=2000,
    single_objects=500,
    big_mib=64,
    children=1000,
    input_sizes=(10, 50, 100, 200),
    continue_sizes=(10, 50, 100),
)
QUICK = Config(
    name="quick",
    repeat=3,
    objects=500,
    single_objects=200,
    big_mib=16,
    children=200,
    input_sizes=(10, 50, 100, 200),
    continue_sizes=(10, 50),
)


# -- measuring ----------------------------------------------------------------


class Scratch:
    """Fresh directories under one temporary root, removed at the end."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="enact-bench-"))

    def fresh(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.root))

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


StoreFactory = Callable[[Path], enact.Store]

STORES: dict[str, StoreFactory] = {
    "memory": lambda _: enact.InMemoryStore(),
    "file": lambda path: enact.FileStore(path / "store"),
    "sqlite": lambda path: enact.SQLiteStore(path / "store.db"),
}


@contextlib.contextmanager
def fresh_store(scratch: Scratch, kind: str) -> Iterator[enact.Store]:
    """A new, empty store of ``kind`` in its own directory; closed afterwards."""
    directory = scratch.fresh()
    store = STORES[kind](directory)
    try:
        yield store
    finally:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)


class Clock:
    """Times one block; ``gc.collect()`` first so earlier garbage is not billed."""

    seconds = 0.0

    def __enter__(self) -> Clock:
        gc.collect()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._start


def best(seconds: Sequence[float]) -> float:
    """The fastest of several timings of the same work."""
    return min(seconds)


def rate(count: int, seconds: Sequence[float]) -> float:
    """Operations per second from the best time."""
    return count / best(seconds)


def micros(count: int, seconds: Sequence[float]) -> float:
    """Microseconds per operation from the best time."""
    return best(seconds) / count * 1e6


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


# -- tables -------------------------------------------------------------------


@dataclasses.dataclass
class Table:
    """A Markdown table with a heading and notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([_cell(cell) for cell in cells])

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines.extend("| " + " | ".join(row) + " |" for row in self.rows)
        if self.notes:
            lines.append("")
            lines.extend(self.notes)
        return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


# -- group 1: stores ------------------------------------------------------------


@enact.register
@dataclasses.dataclass
class Sample(enact.Resource):
    """A small resource: one int, one str, one float."""

    number: int
    text: str
    ratio: float


_serial = itertools.count()


def distinct_samples(count: int) -> list[Sample]:
    """``count`` samples never built before in this process (no dedupe)."""
    numbers = [next(_serial) for _ in range(count)]
    return [Sample(n, f"sample-{n}", n * 0.25 + 0.1) for n in numbers]


def fresh_refs(refs: Sequence[enact.Ref[Any]]) -> list[enact.Ref[Any]]:
    """Refs with the same digests but no cache, so checkout really reads."""
    return [enact.Ref(ref.digest) for ref in refs]


def check_equal(got: Sequence[Any], want: Sequence[Any]) -> None:
    if list(got) != list(want):
        raise AssertionError("a checkout returned something else than was committed")


def small_single(scratch: Scratch, kind: str, count: int) -> tuple[float, float, float]:
    """One commit per object, each written at once; then checkouts; then pairs."""
    with fresh_store(scratch, kind) as store:
        samples = distinct_samples(count)
        with Clock() as commits:
            refs = [store.commit(sample) for sample in samples]
        unread = fresh_refs(refs)
        with Clock() as checkouts:
            got = [store.checkout(ref) for ref in unread]
        check_equal(got, samples)
        samples = distinct_samples(count)
        with Clock() as pairs:
            for sample in samples:
                ref = store.commit(sample)
                store.checkout(enact.Ref(ref.digest))
    return commits.seconds, checkouts.seconds, pairs.seconds


def small_batched(
    scratch: Scratch, kind: str, count: int
) -> tuple[float, float, float, float]:
    """All commits in one ``store.batch()`` (flush included); then checkouts.

    Returns the commit time, the checkout time (objects read back from the
    backend), and two pair times: the sum of both phases, and commit plus
    immediate checkout inside the batch (served from the write buffer).
    """
    with fresh_store(scratch, kind) as store:
        samples = distinct_samples(count)
        with Clock() as commits, store.batch():
            refs = [store.commit(sample) for sample in samples]
        unread = fresh_refs(refs)
        with Clock() as checkouts:
            got = [store.checkout(ref) for ref in unread]
        check_equal(got, samples)
        samples = distinct_samples(count)
        with Clock() as interleaved, store.batch():
            for sample in samples:
                ref = store.commit(sample)
                store.checkout(enact.Ref(ref.digest))
    return (
        commits.seconds,
        checkouts.seconds,
        commits.seconds + checkouts.seconds,
        interleaved.seconds,
    )


def big_value(size: int, serial: int) -> enact.Bytes:
    """A random value of ``size`` bytes, distinct for each ``serial``."""
    data = bytearray(random.randbytes(size))
    data[:8] = serial.to_bytes(8, "little")
    return enact.Bytes(data)


def raw_baselines(scratch: Scratch, data: bytes) -> tuple[float, float]:
    """Seconds of hashlib.sha256 over ``data``, and of writing it to a new file."""
    with Clock() as hashing:
        hashlib.sha256(data).hexdigest()
    directory = scratch.fresh()
    with Clock() as writing, open(directory / "raw.bin", "wb") as file:
        file.write(data)
    shutil.rmtree(directory)
    return hashing.seconds, writing.seconds


def bench_stores(config: Config, scratch: Scratch) -> list[Table]:
    count = config.objects
    single_count = config.single_objects
    small = Table(
        "Small resource (distinct `Sample(int, str, float)` objects)",
        [
            "store",
            "mode",
            "objects",
            "commit/s",
            "checkout/s",
            "commit+checkout/s",
            "target >= 20,000 pairs/s (file)",
        ],
    )
    for kind in STORES:
        single: list[tuple[float, float, float]] = []
        batched: list[tuple[float, float, float, float]] = []
        for _ in range(config.repeat):
            single.append(small_single(scratch, kind, single_count))
            batched.append(small_batched(scratch, kind, count))

        def target(pairs_per_s: float, kind: str = kind) -> str:
            return verdict(pairs_per_s >= 20_000) if kind == "file" else ""

        commit_s, checkout_s, pair_s = zip(*single, strict=True)
        small.add(
            kind,
            "single",
            single_count,
            rate(single_count, commit_s),
            rate(single_count, checkout_s),
            rate(single_count, pair_s),
            target(rate(single_count, pair_s)),
        )
        commit_b, checkout_b, phases_b, interleaved_b = zip(*batched, strict=True)
        small.add(
            kind,
            "batch",
            count,
            rate(count, commit_b),
            rate(count, checkout_b),
            rate(count, phases_b),
            target(rate(count, phases_b)),
        )
        small.add(
            kind,
            "batch, interleaved",
            count,
            "",
            "",
            rate(count, interleaved_b),
            target(rate(count, interleaved_b)),
        )
    small.notes = [
        "- **single**: `store.commit(x)` outside any batch, so every commit is "
        "written to the backend at once; then a checkout of each object through a "
        "fresh `Ref(digest)` (no cache: read, SHA-256 verify, decode); pairs are "
        "commit then checkout, one object at a time.",
        "- **batch**: all commits inside one `with store.batch():`, the flush at "
        "block exit included (the file store writes one pack); checkouts read the "
        "flushed objects back from the backend; pairs/s = objects / (commit time + "
        "checkout time).",
        "- **batch, interleaved**: commit then checkout of each object inside one "
        "batch; the checkout is verified and decoded but served from the write "
        "buffer, not the backend (the journal's pattern).",
        f"- Best of {config.repeat} repeats, a fresh store each; every object "
        "has distinct field values, so nothing is deduplicated.",
    ]

    size = config.big_mib * MIB
    big = Table(
        f"Large value (`enact.Bytes` of {config.big_mib} MiB)",
        [
            "store",
            "commit MB/s",
            "checkout MB/s",
            "raw sha256 MB/s",
            "raw file write MB/s",
            "commit / sha256",
            "target file commit >= 35% of sha256",
        ],
    )
    mb = size / 1e6
    for kind in STORES:
        commits: list[float] = []
        checkouts: list[float] = []
        hashes: list[float] = []
        writes: list[float] = []
        for _ in range(config.repeat):
            value = big_value(size, next(_serial))
            # Baselines next to each commit, so a noisy neighbour slows both.
            sha_s, write_s = raw_baselines(scratch, value)
            hashes.append(sha_s)
            writes.append(write_s)
            with fresh_store(scratch, kind) as store:
                with Clock() as clock:
                    ref = store.commit(value)
                commits.append(clock.seconds)
                with Clock() as clock:
                    got: Any = store.checkout(enact.Ref(ref.digest))
                checkouts.append(clock.seconds)
                if got != value:
                    raise AssertionError("large checkout differs from the commit")
                del got, value
        ratio = best(hashes) / best(commits)
        big.add(
            kind,
            mb / best(commits),
            mb / best(checkouts),
            mb / best(hashes),
            mb / best(writes),
            f"{ratio:.0%}",
            verdict(ratio >= 0.35) if kind == "file" else "",
        )
    big.notes = [
        "- MB = 10^6 bytes. Commit: encode, hash and write (loose file, SQLite row "
        "or dict entry); checkout: read, verify and decode through a fresh "
        "`Ref(digest)`. Each repeat commits a distinct value to a fresh store.",
        "- Baselines measured right before each commit, on the same value and in "
        "the same temporary directory: `hashlib.sha256` over the bytes, and "
        "`open(path, 'wb').write(data)` including open and close (page cache, no "
        "fsync). commit / sha256 is the commit throughput as a share of raw "
        "hashing throughput (best times of both).",
    ]
    return [small, big]


# -- group 2: journaled calls ---------------------------------------------------


@enact.typed_invokable(input_type=enact.NoneResource, output_type=enact.Int)
@dataclasses.dataclass
class RollDie(enact.Invokable):  # type: ignore[type-arg]
    """Rolls a die (the original README's example): outputs repeat, so their
    objects dedupe."""

    sides: int

    # The original example's shape: no parameter when the input is a
    # NoneResource.
    def call(self) -> enact.Int:  # type: ignore[override]
        return enact.Int(random.randint(1, self.sides))


_counter = itertools.count(1_000_000)


@enact.typed_invokable(input_type=enact.NoneResource, output_type=enact.Int)
@dataclasses.dataclass
class CountUp(enact.Invokable):  # type: ignore[type-arg]
    """Returns a number never returned before: every output is a new object."""

    # The original example's shape: no parameter when the input is a
    # NoneResource.
    def call(self) -> enact.Int:  # type: ignore[override]
        return enact.Int(next(_counter))


@enact.typed_invokable(input_type=enact.Int, output_type=enact.Int)
@dataclasses.dataclass
class RollDice(enact.Invokable):  # type: ignore[type-arg]
    """Calls ``roll`` ``num_dice`` times and sums the results (the original
    README's example)."""

    roll: enact.Invokable  # type: ignore[type-arg]

    def call(self, num_dice: enact.Int) -> enact.Int:
        return enact.Int(sum(self.roll() for _ in range(num_dice)))


@enact.register
def roll_die(sides: int = 6) -> int:
    """``RollDie`` as a plain registered function."""
    return random.randint(1, sides)


@enact.register
def roll_dice(num_dice: int) -> int:
    """``RollDice(RollDie(6))`` as a plain registered function."""
    return sum(roll_die() for _ in range(num_dice))


def journal_runs(
    scratch: Scratch,
    kind: str,
    start: Callable[[], enact.Invocation[Any, Any]],
    n: int,
    repeat: int,
) -> tuple[list[float], list[float], list[float]]:
    """Times ``start()`` (an invoke, with flush), rewind(0).replay() and
    rewind(1).replay()."""
    runs: list[float] = []
    full: list[float] = []
    rewound: list[float] = []
    for _ in range(repeat):
        with fresh_store(scratch, kind) as store, store:
            with Clock() as clock:
                invocation = start()
                store.flush()
            runs.append(clock.seconds)
            if len(invocation.response().children) != n:
                raise AssertionError("the journal lacks child calls")
            with Clock() as clock:
                invocation.rewind(0).replay()
                store.flush()
            full.append(clock.seconds)
            with Clock() as clock:
                replayed = invocation.rewind(1).replay()
                store.flush()
            rewound.append(clock.seconds)
            if not replayed.successful():
                raise AssertionError("the replay did not finish")
    return runs, full, rewound


def bench_journal(config: Config, scratch: Scratch) -> list[Table]:
    n = config.children
    table = Table(
        f"Journaled calls (a parent calling its child {n:,} times)",
        [
            "children",
            "store",
            "journaled us/child",
            "plain us/child",
            "journaled / plain",
            "replay rewind(0) us/child",
            "replay rewind(1) us/child",
            "target journaled",
            "target replay <= 10 us",
        ],
    )
    limits = {"memory": 20.0, "file": 60.0}
    variants: dict[str, RollDice] = {
        "dice (repeating outputs)": RollDice(RollDie(6)),
        "distinct outputs": RollDice(CountUp()),
    }
    dice_us: dict[str, float] = {}
    for label, parent in variants.items():
        # Warm up: first calls fill per-class caches (type ids, field names).
        with enact.InMemoryStore():
            parent.invoke(enact.commit(enact.Int(10)))
        plain: list[float] = []
        for _ in range(config.repeat):
            with Clock() as clock:
                parent(enact.Int(n))
            plain.append(clock.seconds)
        plain_us = micros(n, plain)
        for kind in STORES:
            runs, full, rewound = journal_runs(
                scratch,
                kind,
                lambda parent=parent: parent.invoke(enact.commit(enact.Int(n))),
                n,
                config.repeat,
            )
            journaled_us = micros(n, runs)
            if parent is variants["dice (repeating outputs)"]:
                dice_us[kind] = journaled_us
            replay_us = micros(n, full)
            # rewind(1) replays n - 1 children and runs one again.
            rewind_us = micros(n - 1, rewound)
            limit = limits.get(kind)
            target = ""
            if limit is not None:
                target = f"{verdict(journaled_us <= limit)} (<= {limit:g})"
            table.add(
                label,
                kind,
                journaled_us,
                plain_us,
                f"{journaled_us / plain_us:.0f}x",
                replay_us,
                rewind_us,
                target,
                verdict(max(replay_us, rewind_us) <= 10.0),
            )
    table.notes = [
        "- journaled: `with store: parent.invoke(enact.commit(enact.Int(N)))` plus "
        "the final `store.flush()`, divided by N; plain: `parent(enact.Int(N))` "
        "with no store, measured in the same run.",
        "- dice: `RollDie(6)` returns `Int(1..6)`, so after a few calls its "
        "outputs and invocation records are already stored and deduplicate; "
        "distinct: `CountUp()` returns a new `Int` each call, so every child "
        "writes new output, response and invocation objects.",
        "- replay: `invocation.rewind(k).replay()` plus flush on the same store; "
        "rewind(0) replays all N children from the journal, rewind(1) replays "
        "N - 1 and runs the last again (divided by N - 1). Time includes the "
        "rewind (deep copy and commit of the response).",
        f"- Best of {config.repeat} repeats, a fresh store each.",
    ]
    return [
        table,
        bench_functions(config, scratch, dice_us),
        bench_async(config, scratch),
    ]


def bench_functions(
    config: Config, scratch: Scratch, invokable_us: dict[str, float]
) -> Table:
    """The dice workload written as registered plain functions."""
    n = config.children
    table = Table(
        f"Plain functions vs invokables (dice, {n:,} child calls)",
        [
            "store",
            "functions us/child",
            "invokables us/child",
            "functions / invokables",
            "plain functions us/child",
            "replay rewind(0) us/child",
            "replay rewind(1) us/child",
            "target <= 1.5x invokables",
        ],
    )
    with enact.InMemoryStore():
        enact.invoke(roll_dice, (10,))  # warm up
    plain: list[float] = []
    for _ in range(config.repeat):
        with Clock() as clock:
            roll_dice(n)
        plain.append(clock.seconds)
    plain_us = micros(n, plain)
    for kind in STORES:
        runs, full, rewound = journal_runs(
            scratch, kind, lambda: enact.invoke(roll_dice, (n,)), n, config.repeat
        )
        functions_us = micros(n, runs)
        ratio = functions_us / invokable_us[kind]
        table.add(
            kind,
            functions_us,
            invokable_us[kind],
            f"{ratio:.2f}x",
            plain_us,
            micros(n, full),
            micros(n - 1, rewound),
            verdict(ratio <= 1.5),
        )
    table.notes = [
        "- functions: `enact.invoke(roll_dice, (N,))` where `roll_dice` and "
        "`roll_die` are `@enact.register`ed plain functions returning ints; "
        "invokables: the dice row of the table above, measured in the same run.",
        "- plain functions: `roll_dice(N)` outside any journaled run (the "
        "registered function only checks two context variables).",
        f"- Best of {config.repeat} repeats, a fresh store each.",
    ]
    return table


# Async invokables: the same workload with an async parent and child.


@enact.typed_invokable(input_type=enact.NoneResource, output_type=enact.Int)
@dataclasses.dataclass
class AsyncCountUp(enact.AsyncInvokable):  # type: ignore[type-arg]
    """``CountUp`` as an async invokable."""

    # The original example's shape: no parameter when the input is a
    # NoneResource.
    async def call(self) -> enact.Int:  # type: ignore[override]
        return enact.Int(next(_counter))


@enact.typed_invokable(input_type=enact.Int, output_type=enact.Int)
@dataclasses.dataclass
class AsyncRollDice(enact.AsyncInvokable):  # type: ignore[type-arg]
    """An async parent awaiting its async child ``num_dice`` times."""

    roll: enact.AsyncInvokable  # type: ignore[type-arg]

    async def call(self, num_dice: enact.Int) -> enact.Int:
        total = 0
        for _ in range(num_dice):
            total += await self.roll()
        return enact.Int(total)


def bench_async(config: Config, scratch: Scratch) -> Table:
    """An async parent awaiting N async children, journaled vs plain."""
    n = config.children
    parent = AsyncRollDice(AsyncCountUp())
    table = Table(
        f"Async invokables (an async parent awaiting its child {n:,} times)",
        [
            "store",
            "journaled us/child",
            "plain us/child",
            "journaled / plain",
            "replay rewind(0) us/child",
            "replay rewind(1) us/child",
        ],
    )
    with enact.InMemoryStore():
        asyncio.run(parent.ainvoke(enact.commit(enact.Int(10))))  # warm up
    plain: list[float] = []
    for _ in range(config.repeat):
        with Clock() as clock:
            asyncio.run(parent(enact.Int(n)))
        plain.append(clock.seconds)
    plain_us = micros(n, plain)
    for kind in STORES:
        runs: list[float] = []
        full: list[float] = []
        rewound: list[float] = []
        for _ in range(config.repeat):
            with fresh_store(scratch, kind) as store, store:
                with Clock() as clock:
                    invocation = asyncio.run(parent.ainvoke(enact.commit(enact.Int(n))))
                    store.flush()
                runs.append(clock.seconds)
                if len(invocation.response().children) != n:
                    raise AssertionError("the journal lacks child calls")
                with Clock() as clock:
                    asyncio.run(invocation.rewind(0).replay_async())
                    store.flush()
                full.append(clock.seconds)
                with Clock() as clock:
                    replayed = asyncio.run(invocation.rewind(1).replay_async())
                    store.flush()
                rewound.append(clock.seconds)
                if not replayed.successful():
                    raise AssertionError("the replay did not finish")
        journaled_us = micros(n, runs)
        table.add(
            kind,
            journaled_us,
            plain_us,
            f"{journaled_us / plain_us:.0f}x",
            micros(n, full),
            micros(n - 1, rewound),
        )
    table.notes = [
        "- journaled: `asyncio.run(parent.ainvoke(enact.commit(enact.Int(N))))` "
        "plus flush, divided by N, where `parent = AsyncRollDice(AsyncCountUp())` "
        "awaits its child N times (every output distinct, like the sync "
        "'distinct outputs' row); plain: `asyncio.run(parent(enact.Int(N)))` with "
        "no store, in the same run. Both include starting one event loop.",
        "- replay: `asyncio.run(invocation.rewind(k).replay_async())` plus flush.",
        f"- Best of {config.repeat} repeats, a fresh store each.",
    ]
    return table


# -- group 3: human input ----------------------------------------------------------


@enact.typed_invokable(input_type=enact.Int, output_type=enact.Int)
@dataclasses.dataclass
class AskMany(enact.Invokable):  # type: ignore[type-arg]
    """Asks for ``count`` numbers, one request each, and sums the answers."""

    def call(self, count: enact.Int) -> enact.Int:
        return enact.Int(
            sum(
                enact.request_input(enact.Int, context=f"question {i}")
                for i in range(count)
            )
        )


def answer_with_generator(store: enact.Store, n: int) -> int:
    """Answers all ``n`` requests through InvocationGenerator; returns the output."""
    with store:
        generator = enact.InvocationGenerator(AskMany(), enact.commit(enact.Int(n)))
        for answered, _ in enumerate(generator):
            generator.set_input(enact.Int(answered))
        store.flush()
    return int(generator.invocation.get_output())


def answer_by_replay(store: enact.Store, n: int) -> int:
    """Answers all ``n`` requests by InputRequest.continue_invocation."""
    with store:
        invocation = AskMany().invoke(enact.commit(enact.Int(n)))
        answered = 0
        while not invocation.successful():
            request = invocation.get_raised()
            assert isinstance(request, enact.InputRequest)
            invocation = request.continue_invocation(invocation, enact.Int(answered))
            answered += 1
        store.flush()
        return int(invocation.get_output())


def input_rows(
    scratch: Scratch,
    config: Config,
    kind: str,
    sizes: Sequence[int],
    answer: Callable[[enact.Store, int], int],
) -> dict[int, float]:
    totals: dict[int, float] = {}
    for n in sizes:
        seconds = []
        for _ in range(config.repeat):
            with fresh_store(scratch, kind) as store, Clock() as clock:
                output = answer(store, n)
            if output != n * (n - 1) // 2:
                raise AssertionError(f"the flow returned {output} for N={n}")
            seconds.append(clock.seconds)
        totals[n] = best(seconds)
    return totals


def bench_inputs(config: Config, scratch: Scratch) -> list[Table]:
    designs: list[tuple[str, Sequence[int], Callable[[enact.Store, int], int]]] = [
        ("InvocationGenerator", config.input_sizes, answer_with_generator),
        ("continue_invocation", config.continue_sizes, answer_by_replay),
    ]
    table = Table(
        "Human input (a flow making N `request_input` calls, answered one by one)",
        [
            "design",
            "store",
            "N",
            "total ms",
            "us per answer",
            "growth vs previous N (linear)",
            "O(N): t(200)/t(100) <= 3",
        ],
    )
    for design, sizes, answer in designs:
        for kind in ("memory", "file"):
            totals = input_rows(scratch, config, kind, sizes, answer)
            previous: tuple[int, float] | None = None
            for n, seconds in totals.items():
                growth = check = ""
                if previous is not None:
                    last_n, last_s = previous
                    ratio = seconds / last_s
                    growth = f"t({n})/t({last_n}) = {ratio:.2f} ({n / last_n:g})"
                    if (last_n, n) == (100, 200):
                        check = verdict(ratio <= 3.0)
                table.add(
                    design, kind, n, seconds * 1e3, seconds / n * 1e6, growth, check
                )
                previous = (n, seconds)
    table.notes = [
        "- InvocationGenerator: `for req in gen: gen.set_input(enact.Int(i))`; the "
        "run waits for each answer in a worker thread. continue_invocation: "
        "`invoke`, then `request.continue_invocation(invocation, answer)` per "
        "request, i.e. a replay from the start for every answer (the replay "
        "design, for comparison).",
        "- Total includes the first `invoke`/`next` and the final flush. growth "
        "compares with the previous N, with the linear ratio in parentheses: for "
        "t(200)/t(100), ~2 means O(N) in all, ~4 means O(N^2); the check "
        "takes 3, between the two (a fixed start-up cost pulls small-N ratios "
        "below linear).",
        f"- Best of {config.repeat} repeats, a fresh store each.",
    ]
    return [table]


# -- group 4: durable runs -------------------------------------------------------


class Crash(BaseException):
    """Stands in for the death of the process at the end of a long run."""


@enact.typed_invokable(input_type=enact.Int, output_type=enact.Int)
@dataclasses.dataclass
class RollThenCrash(enact.Invokable):  # type: ignore[type-arg]
    """Rolls ``num_dice`` dice, then dies before returning while ``CRASH`` is set."""

    roll: enact.Invokable  # type: ignore[type-arg]

    def call(self, num_dice: enact.Int) -> enact.Int:
        total = sum(self.roll() for _ in range(num_dice))
        if CRASH:
            raise Crash()
        return enact.Int(total)


CRASH = True


DURABLE_STORES: dict[str, StoreFactory] = {
    "file": STORES["file"],
    "file, fsync": lambda path: enact.FileStore(path / "store", fsync=True),
    "sqlite": STORES["sqlite"],
    "sqlite, FULL": lambda path: enact.SQLiteStore(path / "store.db", fsync=True),
}


def bench_durable(config: Config, scratch: Scratch) -> list[Table]:
    n = config.children
    table = Table(
        f"Durable runs: journaled child call, `enact.run` vs `invoke` ({n:,} dice)",
        [
            "store",
            "invoke us/child",
            "enact.run us/child",
            "durable / invoke",
            "target <= 1.5x (default level)",
        ],
    )
    parent = RollDice(RollDie(6))
    with enact.InMemoryStore():
        enact.run(parent, enact.Int(10))  # warm up per-class caches
    for kind, factory in DURABLE_STORES.items():
        # The fsync levels are slow per call: fewer children, same ratio.
        count = n if "," not in kind else max(50, n // 10)
        plain: list[float] = []
        durable: list[float] = []
        for _ in range(config.repeat):
            directory = scratch.fresh()
            store = factory(directory)
            try:
                with store:
                    with Clock() as clock:
                        parent.invoke(enact.commit(enact.Int(count)))
                        store.flush()
                    plain.append(clock.seconds)
                    with Clock() as clock:
                        run = enact.run(parent, enact.Int(count))
                    durable.append(clock.seconds)
                    if run.status is not enact.RunStatus.FINISHED:
                        raise AssertionError(f"the run {run.status}")
            finally:
                store.close()
                shutil.rmtree(directory, ignore_errors=True)
        plain_us, durable_us = micros(count, plain), micros(count, durable)
        ratio = durable_us / plain_us
        target = verdict(ratio <= 1.5) if "," not in kind else "(power-loss level)"
        table.add(kind, plain_us, durable_us, f"{ratio:.2f}x", target)
    table.notes = [
        "- invoke: `parent.invoke(...)` plus `store.flush()` (the journal is "
        "written when the run ends); enact.run: every finished child is durable "
        "when it ends (file: its new objects appended to the process's log, then "
        "one step line; SQLite: one frame in the run's journal file, folded into "
        "the database per MiB and when the run ends), plus the run "
        "record at start and end. Same store, same process, best of each.",
        "- `file, fsync` and `sqlite, FULL` survive power loss: an fsync per "
        f"finished call; measured on {max(50, n // 10)} children.",
    ]
    resume = Table(
        "Resuming a crashed run",
        ["store", "finished children", "resume seconds", "target < 1 s"],
    )
    big = 10_000 if config.name == "full" else 2_000
    for kind in ("file", "sqlite", "sqlite, journal left"):
        seconds: list[float] = []
        for _ in range(max(1, config.repeat // 2)):
            directory = scratch.fresh()
            store = STORES[kind.split(",")[0]](directory)
            try:
                with store:
                    global CRASH
                    CRASH = True
                    try:
                        with _journal_left(store, kind.endswith("left")):
                            enact.run(RollThenCrash(RollDie(6)), enact.Int(big))
                    except Crash:
                        pass
                    CRASH = False
                    (info,) = enact.runs.list_runs()
                    if info.stored_status is not enact.RunStatus.CRASHED:
                        raise AssertionError(f"the run {info.stored_status}")
                store.close()
                store = STORES[kind.split(",")[0]](
                    directory
                )  # a new process would reopen
                with store:
                    run = enact.runs.get_run(info.id)
                    with Clock() as clock:
                        # The resumed component no longer crashes.
                        run.resume()
                    seconds.append(clock.seconds)
            finally:
                store.close()
                shutil.rmtree(directory, ignore_errors=True)
        resume.add(kind, big, best(seconds), verdict(best(seconds) < 1.0))
    resume.notes = [
        "- A run of N dice dies (an exception that is not an `Exception`) after "
        "the last die; the store is reopened and `run.resume()` replays the N "
        "finished children from the step log and finishes.",
        "- `sqlite, journal left`: the dying run leaves its journal file unfolded, "
        "as a killed process does; the resume folds it into the database first.",
    ]
    return [table, resume]


@contextlib.contextmanager
def _journal_left(store: enact.Store, leave: bool) -> Iterator[None]:
    """Makes a SQLite store's run end as a killed process would: its journal
    not folded (reaches into the backend: no public API kills a process)."""
    backend = store.backend
    if not leave or not isinstance(backend, SQLiteObjects):
        yield
        return
    settle = SQLiteJournals.settle_steps
    SQLiteJournals.settle_steps = lambda self, run_id, ended=False: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQLiteJournals.settle_steps = settle  # type: ignore[method-assign]
        for writer in backend.journals()._writers.values():
            writer.close(unlink=False)
        backend.journals()._writers.clear()


# -- driver ---------------------------------------------------------------------

GROUPS: dict[str, Callable[[Config, Scratch], list[Table]]] = {
    "stores": bench_stores,
    "journal": bench_journal,
    "inputs": bench_inputs,
    "durable": bench_durable,
}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def source_version() -> str:
    """The checked-out commit, and whether the working tree differs from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (src/ has uncommitted changes)" if changes else head


def environment() -> list[str]:
    return [
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- Source: {source_version()}",
        f"- Platform: {platform.platform()}",
        f"- CPU: {cpu_model()} ({os.cpu_count()} logical CPUs)",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        f"- orjson: {orjson.__version__}",
    ]


def measure_group(name: str, config: Config) -> str:
    """Runs one group here; returns its section of RESULTS.md."""
    random.seed(1234)
    scratch = Scratch()
    started = time.perf_counter()
    try:
        tables = GROUPS[name](config, scratch)
    finally:
        scratch.cleanup()
    elapsed = time.perf_counter() - started
    section = f"## {name}\n\n" + "\n".join(t.markdown() for t in tables)
    return section + f"\n_{name}: {elapsed:.1f} s_\n"


def measure_in_child(name: str, args: argparse.Namespace) -> str:
    """One group measured in a fresh process (as ``--only`` would).

    What earlier groups leave behind in a process (a larger heap, filled
    caches) slowed the later ones by up to 10% on this machine, and not
    evenly: each group starts from the same state instead.
    """
    with tempfile.TemporaryDirectory(prefix="enact-bench-") as directory:
        out = Path(directory) / "section.md"
        command = [sys.executable, __file__, "--only", name, "--section-out", str(out)]
        if args.quick:
            command.append("--quick")
        if args.repeat:
            command += ["--repeat", str(args.repeat)]
        subprocess.run(command, check=True)
        return out.read_text("utf-8")


def _kept_history() -> list[str]:
    """The lines of RESULTS.md from :data:`HISTORY_MARK` on (the mark first)."""
    try:
        text = RESULTS.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    at = text.find(HISTORY_MARK)
    return [HISTORY_MARK] if at < 0 else text[at:].splitlines()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~10-20 s smoke run")
    parser.add_argument("--only", choices=sorted(GROUPS), help="run one group")
    parser.add_argument("--write", action="store_true", help="rewrite RESULTS.md")
    parser.add_argument("--repeat", type=int, help="repeats per measurement")
    # Internal: measure one group and write its section to this file.
    parser.add_argument("--section-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    if args.repeat:
        config = dataclasses.replace(config, repeat=args.repeat)
    if args.section_out:
        Path(args.section_out).write_text(measure_group(args.only, config), "utf-8")
        return 0
    load_before = os.getloadavg()[0]
    names = [args.only] if args.only else list(GROUPS)

    print("# enact benchmarks\n\n" + "\n".join(environment()) + "\n", flush=True)
    started = time.perf_counter()
    sections: list[str] = []
    for name in names:
        if len(names) == 1:
            section = measure_group(name, config)
        else:
            section = measure_in_child(name, args)
        print(section, flush=True)
        sections.append(section)
    total = time.perf_counter() - started
    print(f"_Total: {total:.1f} s ({config.name} run)_")

    if args.write:
        lines = [
            "# Benchmark results",
            "",
            "Written by `python bench/run.py --write"
            + (" --quick" if args.quick else "")
            + (f" --only {args.only}" if args.only else "")
            + "`; see `bench/README.md` for what each group measures.",
            "",
            *environment(),
            f"- Run: {config.name}, best of {config.repeat} repeats, total "
            f"{total:.0f} s; 1-minute load average {load_before:.2f} before, "
            f"{os.getloadavg()[0]:.2f} after (2 or more on this 2-core machine means "
            "other work competed for the CPUs)",
            "",
            *sections,
        ]
        lines += ["", *_kept_history()]
        RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"Wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
