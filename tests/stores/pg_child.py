"""Runs a PauseFlow on a store (for the PostgreSQL failure tests).

Usage: python pg_child.py URL NAME AT [RETRY_SECONDS]

Exits 0 when the run finishes, 4 with the error on standard error when the
store stops it (a BackendError).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import enact
from enact.backends import BackendError
from stores.pg_flows import PauseFlow


def main(url: str, name: str, at: str, retry: str = "60") -> int:
    try:
        with enact.open_store(url, retry_seconds=float(retry)):
            enact.run(PauseFlow(at=int(at)), enact.Int(0), name=name)
    except BackendError as error:
        print(f"BackendError: {error}", file=sys.stderr, flush=True)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
