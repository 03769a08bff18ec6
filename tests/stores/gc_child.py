"""Child processes for the garbage-collection tests (run as a script).

``python gc_child.py hold KIND PATH COUNT``
    Works with the old objects ``Sample(text="old i")``, ``i < COUNT``, which
    the parent wrote before and nothing refers to. Opens a store (KIND ``file``
    or ``sqlite``), commits a new object referring to each old one with
    ``i % 4 == 0`` (in no run record yet) and prints ``ready``. Then it
    commits each old object with ``i % 4 == 1`` again, one per line from
    stdin, printing ``committed`` after each, so the parent collects garbage
    while and after each commit. It holds every ref, then records them in a
    run record (``update_run("child", ...)``), prints them as JSON and waits
    for a line before closing.

``python gc_child.py session KIND PATH``
    Opens a store, commits one object, prints ``ready`` and sleeps (to be
    killed: its session file is left behind).

``python gc_child.py stores KIND PATH COUNT LINGER``
    With idle sessions lingering LINGER seconds, makes COUNT store objects,
    each committing ``Sample(text="store i")`` in a ``with`` block, and keeps
    every one (never closed). Prints the digests as JSON. On a line from
    stdin it enters the first store again, commits ``Sample(text="inside")``,
    prints its digest as JSON and waits for a line; then leaves the block,
    prints ``outside`` and waits for a line before exiting.

``python gc_child.py gc KIND PATH``
    With the clock a minute ahead (so every object is old), prints ``start``,
    collects garbage and prints the report as JSON. Imports nothing from the
    tests: the stored types are unknown to it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import enact
from enact.backends import sessions


def open_store(kind: str, path: str) -> enact.Store:
    return enact.FileStore(path) if kind == "file" else enact.SQLiteStore(path)


def hold(kind: str, path: str, count: int) -> None:
    from stores.helpers import Sample

    store = open_store(kind, path)
    held: list[enact.Ref] = []
    for index in range(0, count, 4):
        old = enact.Ref.from_resource(Sample(text=f"old {index}"))
        held.append(store.commit(Sample(number=index, child=old)))
    print("ready", flush=True)
    for index in range(1, count, 4):
        sys.stdin.readline()
        held.append(store.commit(Sample(text=f"old {index}")))
        print("committed", flush=True)
    digests = [ref.digest for ref in held]
    record = json.dumps({"held": digests}).encode()
    store.index.update_run("child", lambda previous: record)
    print(json.dumps(digests), flush=True)
    sys.stdin.readline()
    store.close()


def session(kind: str, path: str) -> None:
    store = open_store(kind, path)
    store.commit(enact.Str("written by a process that will be killed"))
    print("ready", flush=True)
    time.sleep(600)


def many_stores(kind: str, path: str, count: int, linger: float) -> None:
    from stores.helpers import Sample

    sessions.LINGER_SECONDS = linger
    kept = []
    digests = []
    for index in range(count):
        store = open_store(kind, path)
        with store:
            digests.append(enact.commit(Sample(text=f"store {index}")).digest)
        kept.append(store)
    print(json.dumps(digests), flush=True)
    sys.stdin.readline()
    with kept[0]:
        inside = enact.commit(Sample(text="inside"))
        print(json.dumps(inside.digest), flush=True)
        sys.stdin.readline()
    print("outside", flush=True)
    sys.stdin.readline()


def collect(kind: str, path: str) -> None:
    real = sessions.clock
    sessions.clock = lambda: real() + 60
    store = open_store(kind, path)
    print("start", flush=True)
    report = store.gc()
    print(json.dumps(dataclasses.asdict(report)), flush=True)
    assert not any(name.startswith("stores") for name in sys.modules)


if __name__ == "__main__":
    command, kind, path = sys.argv[1:4]
    if command == "hold":
        hold(kind, path, int(sys.argv[4]))
    elif command == "session":
        session(kind, path)
    elif command == "stores":
        many_stores(kind, path, int(sys.argv[4]), float(sys.argv[5]))
    else:
        collect(kind, path)
