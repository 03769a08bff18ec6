"""Which sessions hold garbage collection back, and for how long.

A store's session holds collections back while the store object is in a
``with`` block (or writes outside one); when its last block exits the session
turns idle and holds them back for ``sessions.LINGER_SECONDS`` more, then no
longer. Closing or dropping the store ends it. Collections report the
sessions that held them back.

Collections run with the sessions clock a minute ahead (everything written
before counts as old), as in ``test_gc.py``. A test that needs idle sessions
to lapse sets the linger to 0, in every process involved.
"""

from __future__ import annotations

import dataclasses
import gc as python_gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

import enact
from enact.backends import sessions
from enact.backends.gc import GCReport, describe_session
from enact.references import Store

from .helpers import Sample, child_env, location_in
from .test_gc import GC_CHILD, collect, open_store, read_line, sessions_dir, stop

KINDS = ["file", "sqlite"]


def session_files(kind: str, path: str) -> list[str]:
    try:
        names = os.listdir(sessions_dir(kind, path))
    except FileNotFoundError:
        return []
    return sorted(name for name in names if name != "gc.lock")


def stored(store: Store) -> set[str]:
    return {ref.digest for ref in store.iter_refs()}


def send(child: subprocess.Popen[str], line: str = "go") -> None:
    assert child.stdin is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_stores_out_of_every_block_do_not_hold_gc_back(
    tmp_path, kind: str, monkeypatch
) -> None:
    """A process keeps 47 store objects, never closed, out of their blocks."""
    monkeypatch.setattr(sessions, "LINGER_SECONDS", 0.0)
    path = location_in(kind, str(tmp_path))
    before = time.time()
    child = subprocess.Popen(
        [sys.executable, str(GC_CHILD), "stores", kind, path, "47", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        text=True,
    )
    try:
        assert child.stdout is not None
        written = set(json.loads(read_line(child.stdout)))
        assert len(written) == 47
        assert len(session_files(kind, path)) == 47  # idle, still locked
        collector = open_store(kind, path)
        report = collect(collector, monkeypatch)
        assert report.live_sessions == 0 and report.held_back_by == ()
        assert report.removed == 47  # nothing refers to what they wrote
        assert not written & stored(collector)

        # The same store object in a block again: it holds collections back.
        send(child)
        inside = json.loads(read_line(child.stdout))
        report = collect(collector, monkeypatch)
        (holder,) = report.held_back_by
        assert holder.pid == child.pid and holder.running is True
        assert holder.idle_since is None and not holder.stale
        assert before - 1 <= holder.started <= time.time() + 1
        assert report.cutoff == holder.started - sessions.MARGIN
        assert inside in stored(collector) and report.removed == 0
        text = describe_session(holder)
        assert text.startswith(f"pid {child.pid} since ") and text.endswith("(running)")
        assert report.describe_holders() == f"held back by 1 session: {text}"

        send(child)
        assert read_line(child.stdout) == "outside\n"
        report = collect(collector, monkeypatch)
        assert report.held_back_by == () and inside not in stored(collector)
        send(child)
        assert child.wait(timeout=60) == 0, child.stderr.read()  # type: ignore[union-attr]
        collector.close()
    finally:
        stop(child)


@pytest.mark.parametrize("kind", KINDS)
def test_an_idle_session_holds_gc_back_for_a_while(
    tmp_path, kind: str, monkeypatch
) -> None:
    path = location_in(kind, str(tmp_path))
    store = open_store(kind, path)
    with store:
        first = enact.commit(Sample(text="committed in the first block"))
    (name,) = session_files(kind, path)
    collector = open_store(kind, path)
    report = collect(collector, monkeypatch)
    (holder,) = report.held_back_by
    assert holder.pid == os.getpid() and holder.idle_since is not None
    assert "(idle since " in describe_session(holder)
    assert first.digest in stored(collector)

    # Re-entered within the linger: the same session, resumed.
    with store:
        second = enact.commit(Sample(text="committed in the second block"))
        assert session_files(kind, path) == [name]
        assert collect(collector, monkeypatch).held_back_by[0].idle_since is None

    # Once the linger is over, it holds nothing back.
    monkeypatch.setattr(sessions, "LINGER_SECONDS", 0.0)
    report = collect(collector, monkeypatch)
    assert report.held_back_by == ()
    assert not {first.digest, second.digest} & stored(collector)

    # Then a new session, and what it commits again is stored again.
    with store:
        again = enact.commit(Sample(text="committed in the first block"))
        assert again == first
        (renewed,) = session_files(kind, path)
        assert renewed != name
    assert first.digest in stored(collector)
    assert open_store(kind, path).checkout(first) == first.checkout()
    store.close()
    assert session_files(kind, path) == []
    collector.close()


@pytest.mark.parametrize("kind", KINDS)
def test_writes_outside_every_block_hold_gc_back_until_closed(
    tmp_path, kind: str, monkeypatch
) -> None:
    monkeypatch.setattr(sessions, "LINGER_SECONDS", 0.0)
    path = location_in(kind, str(tmp_path))
    store = open_store(kind, path)
    ref = store.commit(Sample(text="no block"))
    collector = open_store(kind, path)
    (holder,) = collect(collector, monkeypatch).held_back_by
    assert holder.idle_since is None
    assert ref.digest in stored(collector)
    store.close()
    assert session_files(kind, path) == []
    assert collect(collector, monkeypatch).removed == 1
    collector.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_dropped_store_ends_its_session(tmp_path, kind: str, monkeypatch) -> None:
    path = location_in(kind, str(tmp_path))
    store = open_store(kind, path)
    with store:
        enact.commit(Sample(text="dropped"))
        assert len(session_files(kind, path)) == 1
    del store
    python_gc.collect()  # the backend's reference cycles
    assert session_files(kind, path) == []
    collector = open_store(kind, path)
    report = collect(collector, monkeypatch)
    assert report.held_back_by == () and report.removed == 1
    collector.close()


@dataclasses.dataclass
class Gate:
    started: threading.Event = dataclasses.field(default_factory=threading.Event)
    proceed: threading.Event = dataclasses.field(default_factory=threading.Event)


GATES: dict[str, Gate] = {}


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class WaitAtGate(enact.Invokable):
    """Commits an object nothing records yet, then waits for the test."""

    gate: str

    def call(self, text: enact.Str) -> enact.Str:
        enact.commit(Sample(text=f"held in memory: {text}"))
        GATES[self.gate].started.set()
        assert GATES[self.gate].proceed.wait(timeout=60)
        return enact.Str(f"done: {text}")


@pytest.mark.parametrize("kind", KINDS)
def test_a_running_durable_run_keeps_its_session(
    tmp_path, kind: str, monkeypatch
) -> None:
    """The block that started the run's thread exits; the run still holds."""
    monkeypatch.setattr(sessions, "LINGER_SECONDS", 0.0)
    path = location_in(kind, str(tmp_path))
    store = open_store(kind, path)
    gate = GATES[f"{kind}-{tmp_path}"] = Gate()
    result: list[Any] = []
    with store:
        worker = threading.Thread(
            target=enact.contexts.with_current_contexts(
                lambda: result.append(
                    enact.run(WaitAtGate(gate=f"{kind}-{tmp_path}"), enact.Str("x"))
                )
            )
        )
        worker.start()
        assert gate.started.wait(timeout=60)
    collector = open_store(kind, path)
    try:
        report: GCReport = collect(collector, monkeypatch)
        (holder,) = report.held_back_by
        assert holder.pid == os.getpid() and holder.idle_since is None
        assert report.removed == 0
    finally:
        gate.proceed.set()
        worker.join(timeout=60)
    (run,) = result
    with store:
        assert run.info().status.value == "finished"
    collect(collector, monkeypatch)  # the run's record keeps its objects
    with collector:
        assert collector.verify() == []
        assert run.info().invocation is not None
        assert run.info().invocation.checkout().get_output() == "done: x"
    store.close()
    collector.close()


def test_the_seed_examples_pattern_reenters_a_store(tmp_path, monkeypatch) -> None:
    """Commit, exit, re-enter, commit, an InvocationGenerator; gc in between."""

    @enact.typed_invokable(enact.NoneResource, enact.Int)
    class AskDie(enact.Invokable):
        def call(self) -> enact.Int:
            return enact.request_input(enact.Int, context="roll a die")

    @enact.typed_invokable(enact.Int, enact.Int)
    @dataclasses.dataclass
    class Dice(enact.Invokable):
        roll: enact.Invokable

        def call(self, count: enact.Int) -> enact.Int:
            return enact.Int(sum(self.roll() for _ in range(count)))

    root = tmp_path / "store"
    with enact.FileStore(root) as store:
        count = enact.commit(enact.Int(3))
    collector = enact.FileStore(root)
    assert collect(collector, monkeypatch).removed == 0  # the idle session holds
    with store:
        assert enact.commit(enact.Int(3)) == count
        generator = enact.InvocationGenerator(Dice(AskDie()), count)
        for _ in generator:
            generator.set_input(enact.Int(6))
    assert generator.invocation.get_output() == 18
    assert len(session_files("file", str(root))) == 1
    with enact.FileStore(root) as reader:
        assert reader.verify() == []
        assert enact.Ref(count.digest).checkout() == 3
    store.close()
    collector.close()


# -- the lifecycle as a property -------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    lingers=st.booleans(),
    steps=st.lists(st.sampled_from(["enter", "exit", "commit"]), max_size=14),
)
def test_a_session_is_active_in_use_idle_after_and_gone_when_closed(
    kind: str, lingers: bool, steps: list[str]
) -> None:
    """Against a model: nested blocks, writes in and out of them, any order."""
    with tempfile.TemporaryDirectory() as directory:
        path = location_in(kind, directory)
        original = sessions.LINGER_SECONDS
        sessions.LINGER_SECONDS = original if lingers else 0.0
        store = open_store(kind, path)
        try:
            depth, state, serial = 0, "none", 0
            name: str | None = None
            lapsed: str | None = None
            for step in steps:
                if step == "enter":
                    store.__enter__()
                    depth += 1
                elif step == "exit":
                    if not depth:
                        continue
                    store.__exit__(None, None, None)
                    depth -= 1
                    if not depth and state == "active":
                        state = "idle"
                else:
                    serial += 1
                    store.commit(Sample(number=serial, text=kind))
                    if state == "none" or (state == "idle" and not lingers):
                        lapsed, name = name, None  # a new session
                    state = "active"
                files = session_files(kind, path)
                holders = sessions.live_sessions(sessions_dir(kind, path))
                if state == "none":
                    assert files == [] and holders == []
                    continue
                (current,) = files
                if name is not None:
                    assert current == name  # the same session, resumed
                else:
                    assert current != lapsed
                name = current
                if state == "active" or lingers:
                    (holder,) = holders
                    assert (holder.idle_since is None) == (state == "active")
                else:
                    assert holders == []  # idle, and the linger is over
            for _ in range(depth):
                store.__exit__(None, None, None)
        finally:
            store.close()
            sessions.LINGER_SECONDS = original
        assert session_files(kind, path) == []
