"""A process that starts an async durable run (for the kill tests).

Usage: python async_child.py STORE NAME START

STORE is a SQLite database if it ends in ``.db``, else a file store. With
``ENACT_HANG_AT`` set, the run hangs at that leaf until it is killed.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import enact
from runs.async_flows import AsyncFlow


def main(store_path: str, name: str, start: str) -> int:
    store = enact.SQLiteStore(store_path) if store_path.endswith(".db") else None
    with store or enact.FileStore(store_path):
        enact.run(AsyncFlow(more=3), enact.Int(int(start)), name=name)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
