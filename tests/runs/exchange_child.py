"""A push in its own process, stopped after its first batch of objects.

``python exchange_child.py SRC DST``: pushes every run of the store at SRC
to DST; after the first batch has arrived it prints the objects sent so far
and waits on stdin, so that the test can kill it with SIGKILL right there.
"""

from __future__ import annotations

import sys

import enact
from enact.exchange import PushProgress, push


def main() -> None:
    source_path, destination_path = sys.argv[1], sys.argv[2]
    source = open_store(source_path)
    destination = open_store(destination_path)

    def progress(state: PushProgress) -> None:
        print(state.objects_sent, flush=True)
        sys.stdin.readline()  # killed while waiting here

    push(source, destination, progress=progress)


def open_store(path: str) -> enact.Store:
    if path.endswith(".sqlite"):
        return enact.SQLiteStore(path)
    return enact.FileStore(path)


if __name__ == "__main__":
    main()
