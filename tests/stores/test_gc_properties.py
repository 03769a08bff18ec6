"""Garbage collection as a property: random object graphs, roots and ages.

After a collection exactly the objects reachable from the roots and the young
objects remain. Objects are raw bytes (JSON with ``{"digest": ...}``
references, sometimes followed by a blob), written straight to a byte backend,
so no type is involved.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterator

import hypothesis.strategies as st
from hypothesis import given, settings

from enact.backends import Backend, FileObjects, MemoryObjects, SQLiteObjects, sessions

from .helpers import location_in

# Fake clock times: old objects are written at OLD, young ones at YOUNG, and
# the collection runs at YOUNG + MARGIN, so its cutoff is YOUNG.
OLD, YOUNG = 1_000_000.0, 2_000_000.0


@dataclasses.dataclass
class World:
    """A random store: objects, their references, roots and ages."""

    objects: list[bytes]
    refs: list[list[int]]
    roots: dict[str, list[int]]
    young: set[int]
    missing: int

    @property
    def keys(self) -> list[str]:
        return [hashlib.sha256(data).hexdigest() for data in self.objects]

    def reachable(self) -> set[str]:
        keys = self.keys
        frontier = [i for places in self.roots.values() for i in places]
        frontier += sorted(self.young)
        seen: set[int] = set()
        while frontier:
            node = frontier.pop()
            if node not in seen:
                seen.add(node)
                frontier.extend(self.refs[node])
        return {keys[i] for i in seen}


@st.composite
def worlds(draw: st.DrawFn, ages: bool = True) -> World:
    count = draw(st.integers(1, 24))
    objects: list[bytes] = []
    refs: list[list[int]] = []
    keys: list[str] = []
    missing = draw(st.integers(0, 2))
    absent = [hashlib.sha256(b"absent %d" % n).hexdigest() for n in range(missing)]
    for node in range(count):
        # References only to earlier objects: digests are of the content.
        targets = draw(st.lists(st.integers(0, node - 1), max_size=4)) if node else []
        refs.append(targets)
        document = {
            "node": node,
            "refs": [{"#res": "ref", "digest": keys[t]} for t in targets],
            "missing": [{"digest": d} for d in absent if draw(st.booleans())],
        }
        data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        blob = draw(st.binary(max_size=40))
        if blob:
            data += b"\n" + blob
        objects.append(data)
        keys.append(hashlib.sha256(data).hexdigest())
    nodes = st.lists(st.integers(0, count - 1), max_size=3)
    roots = {place: draw(nodes) for place in ("record", "step", "name", "claim")}
    young = set(draw(nodes)) if ages else set()
    return World(objects, refs, roots, young, missing)


@contextlib.contextmanager
def clock_at(when: float) -> Iterator[None]:
    saved = sessions.clock
    sessions.clock = lambda: when
    try:
        yield
    finally:
        sessions.clock = saved


def store_world(backend: Backend, world: World) -> None:
    keys = world.keys
    for node, data in enumerate(world.objects):
        with clock_at(YOUNG if node in world.young else OLD):
            backend.put_many([(keys[node], [data])])
    index = backend.index()
    assert index is not None
    for node in world.roots["record"]:
        index.update_run(
            f"run-{node}", lambda old, n=node: json.dumps(keys[n]).encode()
        )
    for node in world.roots["step"]:
        index.update_run("steps", lambda old: b"{}")
        index.append_steps("steps", [b'{"out":"%s"}' % keys[node].encode()])
    for node in world.roots["name"]:
        index.set_name(f"name {node}", keys[node])
    for node in world.roots["claim"]:
        index.claim(f"run:{node}", keys[node].encode())


@settings(max_examples=150)
@given(world=worlds())
def test_memory_gc_keeps_exactly_the_reachable_and_the_young(world: World) -> None:
    backend = MemoryObjects()
    store_world(backend, world)
    with clock_at(YOUNG + sessions.MARGIN):
        report = backend.gc()
    expected = world.reachable()
    assert set(backend.iter_keys()) == expected
    assert report.kept == len(expected)
    assert report.removed == len(set(world.keys)) - len(expected)
    assert report.young == len({world.keys[i] for i in world.young})


@settings(max_examples=25)
@given(world=worlds(ages=False), kind=st.sampled_from(["file", "sqlite"]))
def test_persistent_gc_keeps_exactly_the_reachable(world: World, kind: str) -> None:
    directory = tempfile.mkdtemp(prefix="enact-gc-")
    try:
        path = location_in(kind, directory)
        backend: Backend = FileObjects(path) if kind == "file" else SQLiteObjects(path)
        store_world(backend, world)
        backend.close()
        collector = FileObjects(path) if kind == "file" else SQLiteObjects(path)
        with clock_at(time.time() + 60):
            dry = collector.gc(dry_run=True)
            report = collector.gc()
        expected = world.reachable()
        assert set(collector.iter_keys()) == expected
        assert (dry.kept, dry.removed) == (report.kept, report.removed)
        assert report.kept == len(expected)
        reader = FileObjects(path) if kind == "file" else SQLiteObjects(path)
        keys = sorted(expected)
        found = reader.get_many(keys)
        assert [hashlib.sha256(d or b"").hexdigest() for d in found] == keys
        reader.close()
        collector.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
