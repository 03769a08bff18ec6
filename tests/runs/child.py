"""A process that starts, resumes or answers a durable run (for the tests).

Usage: python child.py MODE STORE NAME [VALUE]

STORE is any store URL ``enact.open_store`` takes (a directory, a SQLite
file ending in ``.db``, ``postgresql://...``).

MODE is ``start`` (a Pipeline), ``resume``, ``greet`` (a Greet run that ends
waiting), ``greet-live`` (a Greet run waiting in place), ``answer`` (answer
NAME's request with VALUE; exit 3 if another answer won), ``churn`` (runs and
forks in a loop) or ``gc`` (garbage collection in a loop).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import enact
from enact import runs
from runs.flows import Dice, Greet, Pipeline

STAGES, WIDTH = 4, 10


def pipeline() -> Pipeline:
    # About 0.5 s: 40 leaves of 10 ms, and an 8 MiB blob every 10th leaf.
    return Pipeline(stages=STAGES, width=WIDTH, delay=0.01, blob_every=10)


def open_store(path: str) -> enact.Store:
    """The store of a URL: a directory, a SQLite file ending in ``.db``, or a
    server's."""
    return enact.open_store(path)


def main(mode: str, store_path: str, name: str, value: str = "") -> int:
    with open_store(store_path) as store:
        if mode == "start":
            enact.run(pipeline(), enact.Int(0), name=name)
        elif mode == "resume":
            runs.get_run(name).resume()
        elif mode == "greet":
            enact.run(Greet(), name=name)
        elif mode == "greet-live":
            run = enact.run(Greet(), name=name, wait_for_input=True, poll_interval=0.01)
            print(run.output(), flush=True)
        elif mode == "answer":
            try:
                runs.answer(name, value)
            except runs.AlreadyAnswered:
                return 3
        elif mode == "churn":
            for i in range(int(value)):
                run = enact.run(Dice(count=20), name=f"{name}-{i}")
                run.fork(5, name=f"{name}-{i}-fork")
        elif mode == "gc":
            for _ in range(int(value)):
                store.gc()
        else:
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
