"""A process that drives a batch (for the kill tests).

Usage: python driver.py STORE EXECUTOR SIZE NAME

Samples :class:`~batches.flows.Noise` once for each of the inputs 0 to
SIZE - 1 on EXECUTOR, two at a time, waits, and prints the counts. STORE is
a SQLite database if it ends in ``.db``, else a file store.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import enact
from batches.flows import Noise


def main(store_path: str, executor: str, size: str, name: str) -> int:
    store = (
        enact.SQLiteStore(store_path)
        if store_path.endswith(".db")
        else enact.FileStore(store_path)
    )
    with store:
        inputs = [enact.Int(i) for i in range(int(size))]
        batch = enact.sample(
            Noise(), inputs, executor=executor, concurrency=2, name=name
        )
        print(batch.wait().info().counts, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
