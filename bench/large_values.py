"""Storage of large values: what a run stores when big values pass through it.

Two flows, run as durable runs (``enact.run``) on the file and SQLite stores:

- **linear**: 50 steps, each a registered function given the same 100 KB
  payload (a string). Reported: KB the store grows by in the first run, and
  in a second run with the same payload. Targets: at most 250 KB for the
  first run, at most 50 KB more for the second.
- **chat**: a history that grows by one 2 KB message per step over 50 steps;
  each step is given the whole history. Reported: KB stored per run against
  the final history's size. Target: at most 3x.

If LangGraph (with its SQLite checkpointer) and DBOS are installed (``pip
install 'enact[bench]'``), the same flows run on them as peers, in the same
process, for comparison. Run ``python bench/large_values.py`` (``--quick``
for 20 steps, ``--markdown`` for tables only).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import enact
from enact.invocations import CallArgs, FunctionWrapper

PAYLOAD_SIZE = 100 * 1024
MESSAGE_SIZE = 2 * 1024
WORDS = ["the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with"]


def text(size: int, seed: int) -> str:
    """Random prose of ``size`` characters (distinct for each seed)."""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS) if rng.random() < 0.6 else _word(rng)
        parts.append(word)
        length += len(word) + 1
    return " ".join(parts)[:size]


def _word(rng: random.Random) -> str:
    return "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))
    )


# -- the enact flows -----------------------------------------------------------


@enact.register(name="bench.large.step")
def step(index: int, payload: str) -> int:
    return index + len(payload)


@enact.register(name="bench.large.linear")
def linear(payload: str, steps: int) -> int:
    return sum(step(index, payload) for index in range(steps))


@enact.register(name="bench.large.reply")
def reply(history: list[dict[str, str]]) -> dict[str, str]:
    return {"role": "assistant", "content": text(MESSAGE_SIZE, len(history))}


@enact.register(name="bench.large.chat")
def chat(steps: int) -> int:
    history: list[dict[str, str]] = []
    for _ in range(steps):
        history = [*history, reply(history)]
    return len(history)


def final_history(steps: int) -> list[dict[str, str]]:
    return [
        {"role": "assistant", "content": text(MESSAGE_SIZE, index)}
        for index in range(steps)
    ]


# -- measuring -------------------------------------------------------------------


def size_of(path: Path) -> int:
    """Bytes in the files under ``path`` (or of the file ``path`` and its
    SQLite companions)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    total = 0
    for companion in (path, *path.parent.glob(path.name + "-*")):
        if companion.is_file():
            total += companion.stat().st_size
    journal = path.parent / (path.name + ".journal")
    if journal.is_dir():
        total += size_of(journal)
    return total


STORES: dict[str, Callable[[Path], tuple[enact.Store, Path]]] = {
    "file": lambda d: (enact.FileStore(d / "store"), d / "store"),
    "sqlite": lambda d: (enact.SQLiteStore(d / "store.db"), d / "store.db"),
}


def enact_runs(
    kind: str, directory: Path, flow: Any, arg: Any, runs: int
) -> tuple[list[int], float]:
    """KB stored by each of ``runs`` runs of ``flow``, and µs per run."""
    added: list[int] = []
    seconds = 0.0
    store, path = STORES[kind](directory)
    store.close()
    before = size_of(path)
    for _ in range(runs):
        store, _ = STORES[kind](directory)
        with store:
            started = time.perf_counter()
            run = enact.run(FunctionWrapper(flow), CallArgs(list(arg), {}))
            seconds += time.perf_counter() - started
            if run.status is not enact.RunStatus.FINISHED:
                raise AssertionError(f"the run {run.status}")
        store.close()
        after = size_of(path)
        added.append(after - before)
        before = after
    return added, seconds / runs


# -- peers -----------------------------------------------------------------------


def langgraph_runs(
    directory: Path, flow: str, payload: str, steps: int, runs: int
) -> tuple[list[int], float] | None:
    """The same flow as a LangGraph graph with the SQLite checkpointer."""
    try:
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.graph import END, START, StateGraph
        from typing_extensions import TypedDict
    except ImportError:
        return None

    class State(TypedDict):
        payload: str
        total: int
        history: list[dict[str, str]]

    graph = StateGraph(State)
    names = [f"s{index}" for index in range(steps)]
    for index, name in enumerate(names):
        if flow == "linear":

            def node(state: State, index: int = index) -> dict[str, Any]:
                return {"total": state["total"] + index + len(state["payload"])}
        else:

            def node(state: State, index: int = index) -> dict[str, Any]:
                history = state["history"]
                message = {
                    "role": "assistant",
                    "content": text(MESSAGE_SIZE, len(history)),
                }
                return {"history": [*history, message]}

        graph.add_node(name, node)
    graph.add_edge(START, names[0])
    for one, two in itertools.pairwise(names):
        graph.add_edge(one, two)
    graph.add_edge(names[-1], END)
    path = directory / "langgraph.db"
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    saver = SqliteSaver(connection)
    app = graph.compile(checkpointer=saver)
    added: list[int] = []
    seconds = 0.0
    before = 0
    for number in range(runs):
        config = {
            "configurable": {"thread_id": f"run-{number}"},
            "recursion_limit": steps + 10,
        }
        started = time.perf_counter()
        app.invoke({"payload": payload, "total": 0, "history": []}, config)
        seconds += time.perf_counter() - started
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = size_of(path)
        added.append(after - before)
        before = after
    connection.close()
    return added, seconds / runs


def dbos_runs(
    directory: Path, flow: str, payload: str, steps: int, runs: int
) -> tuple[list[int], float] | None:
    """The same flow as a DBOS workflow of steps, on a SQLite system database."""
    try:
        from dbos import DBOS, DBOSConfig
    except ImportError:
        return None
    path = directory / "dbos.sqlite"
    config: DBOSConfig = {
        "name": "enact-bench",
        "system_database_url": f"sqlite:///{path}",
    }
    DBOS(config=config)

    @DBOS.step()
    def dbos_step(index: int, payload: str) -> int:
        return index + len(payload)

    @DBOS.step()
    def dbos_reply(history: list[dict[str, str]]) -> dict[str, str]:
        return {"role": "assistant", "content": text(MESSAGE_SIZE, len(history))}

    @DBOS.workflow()
    def dbos_linear(payload: str, steps: int) -> int:
        return sum(dbos_step(index, payload) for index in range(steps))

    @DBOS.workflow()
    def dbos_chat(steps: int) -> int:
        history: list[dict[str, str]] = []
        for _ in range(steps):
            history = [*history, dbos_reply(history)]
        return len(history)

    DBOS.launch()
    added: list[int] = []
    seconds = 0.0
    before = size_of(path)
    try:
        for _ in range(runs):
            started = time.perf_counter()
            if flow == "linear":
                dbos_linear(payload, steps)
            else:
                dbos_chat(steps)
            seconds += time.perf_counter() - started
            after = size_of(path)
            added.append(after - before)
            before = after
    finally:
        DBOS.destroy()
    return added, seconds / runs


# -- the report ------------------------------------------------------------------


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="enact-large-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def kb(count: int) -> str:
    return f"{count / 1024:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 steps, not 50")
    parser.add_argument("--no-peers", action="store_true", help="enact only")
    args = parser.parse_args(argv)
    steps = 20 if args.quick else 50
    payload = text(PAYLOAD_SIZE, 7)
    history_size = len(json.dumps(final_history(steps)).encode())
    linear_first = 250 * 1024 * steps // 50
    linear_second = 50 * 1024 * steps // 50
    rows: list[str] = [
        f"## Large values ({steps} steps; load average {os.getloadavg()[0]:.2f})",
        "",
        f"Linear: {steps} steps given the same {PAYLOAD_SIZE // 1024} KB payload, "
        "two runs in one store. Chat: a history of "
        f"{MESSAGE_SIZE // 1024} KB messages growing by one per step; final "
        f"history {kb(history_size)} KB.",
        "",
        "| system | linear: KB run 1 | linear: KB run 2 | linear ms/run "
        "| chat: KB per run | chat / final history | chat ms/run |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts: list[bool] = []
    systems: list[tuple[str, Callable[[Path, str], tuple[list[int], float] | None]]] = [
        (
            f"enact {kind}",
            lambda d, flow, kind=kind: enact_runs(
                kind,
                d,
                "bench.large.linear" if flow == "linear" else "bench.large.chat",
                (payload, steps) if flow == "linear" else (steps,),
                2 if flow == "linear" else 1,
            ),
        )
        for kind in STORES
    ]
    if not args.no_peers:
        systems.append(
            (
                "LangGraph SqliteSaver",
                lambda d, flow: langgraph_runs(
                    d, flow, payload, steps, 2 if flow == "linear" else 1
                ),
            )
        )
        systems.append(
            (
                "DBOS, SQLite",
                lambda d, flow: dbos_runs(
                    d, flow, payload, steps, 2 if flow == "linear" else 1
                ),
            )
        )
    for name, measure in systems:
        with scratch() as directory:
            linear_result = (
                measure(directory / "l", "linear") if _mkdir(directory / "l") else None
            )
        if linear_result is None:
            rows.append(f"| {name} | not installed | | | | | |")
            continue
        with scratch() as directory:
            _mkdir(directory / "c")
            chat_result = measure(directory / "c", "chat")
        assert chat_result is not None
        (first, second), linear_seconds = linear_result
        (chat_bytes,), chat_seconds = chat_result
        ratio = chat_bytes / history_size
        rows.append(
            f"| {name} | {kb(first)} | {kb(second)} | {linear_seconds * 1e3:,.0f} "
            f"| {kb(chat_bytes)} | {ratio:.1f}x | {chat_seconds * 1e3:,.0f} |"
        )
        if name.startswith("enact"):
            verdicts += [first <= linear_first, second <= linear_second, ratio <= 3]
    rows += [
        "",
        f"Targets (enact): linear run 1 <= {kb(linear_first)} KB, run 2 <= "
        f"{kb(linear_second)} KB more, chat <= 3x the final history: "
        + ("all met" if all(verdicts) else "NOT all met"),
    ]
    print("\n".join(rows))
    return 0


def _mkdir(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return True


if __name__ == "__main__":
    sys.exit(main())
