"""Writes a golden SQLite store: ``python tests/golden/make_sqlite_golden.py
NAME`` writes ``NAME/store.db`` and its manifest, with the runs of
:mod:`make_golden`, in the layout this enact writes.

Run it once per SQLite layout version (``PRAGMA user_version``), and keep
the result; name it after the layout (``sqlite-layout4``).
"""

from __future__ import annotations

import importlib.metadata
import json
import pathlib
import sqlite3
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from make_golden import write_runs

import enact


def main(name: str) -> None:
    root = pathlib.Path(__file__).parent / name
    root.mkdir(parents=True)
    path = root / "store.db"
    store = enact.SQLiteStore(path)
    facts = write_runs(store)
    store.close()
    # One file, no write-ahead log beside it, no sessions directory.
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=DELETE")
        layout = int(db.execute("PRAGMA user_version").fetchone()[0])
    db.close()
    for leftover in root.iterdir():
        if leftover.name != "store.db" and leftover.is_dir():
            for inner in sorted(leftover.rglob("*"), reverse=True):
                inner.rmdir() if inner.is_dir() else inner.unlink()
            leftover.rmdir()
    manifest = {
        "enact": importlib.metadata.version("enact"),
        "store": "sqlite",
        "layout": layout,
        **facts,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
