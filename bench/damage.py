"""Damage census: what every flipped byte and every cut of a store's files
cost, and how hostile inputs end, as Markdown tables.

    python bench/damage.py                # sampled positions in large files
    python bench/damage.py --every-byte   # every byte of every file
    python bench/damage.py --jobs 2       # file types in parallel processes

Each file type is damaged in a freshly made small store (file and SQLite),
one copy at a time, by the checks the damage tests run
(``tests/stores/object_damage.py`` and ``tests/stores/index_damage.py``); the
hostile inputs are the nesting tests' (``tests/hostile.py``), timed here.
Exits with status 1 if any object is lost without verify naming it, any read
returns a wrong value or any other promise is broken.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import datetime
import pathlib
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from stores import index_damage, object_damage  # noqa: E402 - needs the path
from stores.damage import Accounted, CopyOutcome  # noqa: E402 - needs the path

# Rows, in the order printed: (store kind, file type).
ROWS = [
    ("file", "log"),
    ("file", "pack"),
    ("file", "pack index"),
    ("file", "loose object"),
    ("file", "run records"),
    ("file", "names"),
    ("file", "claims"),
    ("file", "step logs"),
    ("sqlite", "database file"),
    ("sqlite", "run journal"),
]
# The problems printed, at most, when some promise is broken.
SHOWN_PROBLEMS = 20


@dataclasses.dataclass
class Tally:
    """The counts of one row of the damage table."""

    flips: int = 0
    cuts: int = 0
    copies_losing: int = 0
    lost: collections.Counter[Accounted] = dataclasses.field(
        default_factory=collections.Counter
    )
    wrong: int = 0
    list_runs_failures: int = 0
    broken: int = 0
    #: Whether list_runs is part of the check (not for object files).
    lists_runs: bool = False

    def add(self, copy: CopyOutcome, lists_runs: bool) -> None:
        if copy.damage == "flip":
            self.flips += 1
        else:
            self.cuts += 1
        self.copies_losing += bool(copy.lost)
        self.lost.update(copy.lost.values())
        self.wrong += len(copy.wrong)
        self.list_runs_failures += copy.list_runs_failed
        self.broken += len(copy.broken)
        self.lists_runs = lists_runs


@dataclasses.dataclass
class TaskResult:
    """What one census task found."""

    name: str
    seconds: float
    tallies: dict[tuple[str, str], Tally]
    problems: list[str]


def _object_task(name: str) -> Callable[[pathlib.Path, bool], Iterator[CopyOutcome]]:
    (file_type,) = [t for t in object_damage.FILE_TYPES if t.name == name]
    return lambda folder, every: object_damage.damage_outcomes(
        folder / "store", file_type, every
    )


def _sqlite_database(folder: pathlib.Path, every: bool) -> Iterator[CopyOutcome]:
    pristine = index_damage.build_sqlite(folder / "pristine")
    return index_damage.sqlite_database_outcomes(pristine, folder / "work", every)


def _sqlite_journal(folder: pathlib.Path, every: bool) -> Iterator[CopyOutcome]:
    pristine = index_damage.build_sqlite(folder / "pristine")
    return index_damage.sqlite_journal_outcomes(pristine, folder / "work", every)


def _file_index(folder: pathlib.Path, every: bool) -> Iterator[CopyOutcome]:
    pristine = index_damage.build_file(folder / "pristine")
    return index_damage.file_index_outcomes(pristine, folder / "work", every)


# name -> (the outcomes, whether list_runs is checked); longest first.
TASKS: dict[str, tuple[Callable[[pathlib.Path, bool], Iterator[CopyOutcome]], bool]] = {
    "sqlite database file": (_sqlite_database, True),
    "file loose objects": (_object_task("loose object"), False),
    "sqlite run journal": (_sqlite_journal, True),
    "file packs": (_object_task("pack"), False),
    "file run index": (_file_index, True),
    "file logs": (_object_task("log"), False),
}


def run_task(name: str, every_byte: bool) -> TaskResult:
    """Runs one census task in a fresh temporary directory."""
    outcomes, lists_runs = TASKS[name]
    tallies: dict[tuple[str, str], Tally] = {}
    problems: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="enact-damage-") as scratch:
        folder = pathlib.Path(scratch)
        for sub in ("pristine", "work"):
            (folder / sub).mkdir()
        for copy in outcomes(folder, every_byte):
            key = (copy.store, copy.file_type)
            tallies.setdefault(key, Tally()).add(copy, lists_runs)
            problems.extend(copy.problems[: SHOWN_PROBLEMS - len(problems)])
    return TaskResult(name, time.perf_counter() - start, tallies, problems)


def run_census(every_byte: bool, jobs: int) -> list[TaskResult]:
    if jobs <= 1:
        return [run_task(name, every_byte) for name in TASKS]
    # A fresh process per task: no state carried from one to the next.
    with concurrent.futures.ProcessPoolExecutor(jobs, max_tasks_per_child=1) as pool:
        futures = [pool.submit(run_task, name, every_byte) for name in TASKS]
        return [future.result() for future in futures]


def damage_table(results: Iterable[TaskResult]) -> list[str]:
    tallies: dict[tuple[str, str], Tally] = {}
    for result in results:
        tallies.update(result.tallies)
    lines = [
        "| store | file type | copies tried (flips + cuts) | copies losing an "
        "object | objects lost | named by verify (by digest + by file) | lost "
        "as by a crash (documented) | lost, nothing names them | wrong values "
        "| list_runs failures | other promises broken |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals = Tally(lists_runs=True)
    for key in ROWS + sorted(set(tallies) - set(ROWS)):
        tally = tallies.get(key)
        if tally is None:
            lines.append(f"| {key[0]} | {key[1]} | not tried |" + " |" * 8)
            continue
        lines.append(_row(key, tally))
        totals.flips += tally.flips
        totals.cuts += tally.cuts
        totals.copies_losing += tally.copies_losing
        totals.lost.update(tally.lost)
        totals.wrong += tally.wrong
        totals.list_runs_failures += tally.list_runs_failures
        totals.broken += tally.broken
    lines.append(_row(("**all**", ""), totals))
    return lines


def _row(key: tuple[str, str], tally: Tally) -> str:
    lost = tally.lost
    digest, by_file = lost[Accounted.DIGEST], lost[Accounted.FILE]
    cells = [
        key[0],
        key[1],
        f"{tally.flips + tally.cuts:,} ({tally.flips:,} + {tally.cuts:,})",
        f"{tally.copies_losing:,}",
        f"{sum(lost.values()):,}",
        f"{digest + by_file:,} ({digest:,} + {by_file:,})",
        f"{lost[Accounted.CRASH]:,}",
        f"{lost[Accounted.UNNAMED]:,}",
        f"{tally.wrong:,}",
        f"{tally.list_runs_failures:,}" if tally.lists_runs else "n/a",
        f"{tally.broken:,}",
    ]
    return "| " + " | ".join(cells) + " |"


def hostile_table() -> tuple[list[str], list[str]]:
    """Tries each hostile input once; the table, and any broken promises."""
    from hostile import HOSTILE_CASES

    lines = [
        "| input | entry point | ended with | message (first 80 characters) "
        "| as promised | time |",
        "|---|---|---|---|---|---:|",
    ]
    problems = []
    with tempfile.TemporaryDirectory(prefix="enact-hostile-") as scratch:
        for number, case in enumerate(HOSTILE_CASES):
            folder = pathlib.Path(scratch) / str(number)
            folder.mkdir()
            value = case.make()
            outcome: BaseException | None = None
            start = time.perf_counter()
            try:
                returned = case.attempt(value, folder)
            except Exception as error:  # reported in the table
                outcome = error
            seconds = time.perf_counter() - start
            if outcome is None:
                ended, message = "returned", type(returned).__name__
            else:
                ended = type(outcome).__name__
                message = " ".join(str(outcome).split())[:80]
            kept = case.ends_as_promised(outcome)
            if not kept:
                problems.append(f"{case.name}: ended with {outcome!r}")
            message = message.replace("|", "\\|")
            lines.append(
                f"| {case.value} | {case.entry} | {ended} | `{message}` | "
                f"{'yes' if kept else '**NO**'} | {_duration(seconds)} |"
            )
    return lines, problems


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--every-byte",
        action="store_true",
        help="damage every byte of every file (large files are sampled otherwise)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="census tasks run in parallel processes"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run_census(args.every_byte, args.jobs)
    damage_seconds = time.perf_counter() - started
    hostile, hostile_problems = hostile_table()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# Damage census ({now})\n")
    print(
        f"Positions: {'every byte' if args.every_byte else 'sampled in large files'}"
        f"; {platform.platform()}, Python {platform.python_version()}; "
        f"damage census {damage_seconds:.0f} s with {args.jobs} job(s) ("
        + ", ".join(f"{r.name} {r.seconds:.0f} s" for r in results)
        + ").\n"
    )
    print("## Damaged copies\n")
    print("\n".join(damage_table(results)))
    print("\n## Hostile inputs\n")
    print("\n".join(hostile))
    problems = [p for r in results for p in r.problems] + hostile_problems
    if problems:
        print("\n## Broken promises (first ones)\n")
        print("\n".join(f"- {p}" for p in problems[:SHOWN_PROBLEMS]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
