"""Higher-order flows: invokables that build, take or return invokables.

An invokable is a resource, so a flow can build one, commit it and run it.
The run it starts is journaled and replayable like any other.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

import pytest

import enact
from invocations.flows import AddOne, Loop, SumInputs

Calls = collections.Counter[str]


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class BuildAndCall(enact.Invokable):
    """Builds a loop of ``steps`` steps, commits it and calls it (nested)."""

    def call(self, steps: enact.Int) -> enact.Int:
        loop = enact.commit(Loop(AddOne(), steps=int(steps))).checkout()
        return loop()


@enact.typed_invokable(enact.Int, enact.Invocation)
@dataclasses.dataclass
class BuildAndInvoke(enact.Invokable):
    """Builds a loop, commits it and invokes it as a separate journal."""

    def call(self, steps: enact.Int) -> enact.Invocation:
        ref = enact.commit(Loop(AddOne(), steps=int(steps)))
        return ref.checkout().invoke()


@enact.typed_invokable(enact.Int, enact.InvokableBase)
@dataclasses.dataclass
class MakeLoop(enact.Invokable):
    """Returns a new invokable."""

    def call(self, steps: enact.Int) -> Loop:
        return Loop(steps=int(steps))


@enact.typed_invokable(enact.InvokableBase, enact.Int)
@dataclasses.dataclass
class Apply(enact.Invokable):
    """Takes an invokable as its input and calls it."""

    def call(self, fun: enact.InvokableBase) -> enact.Int:
        return fun()


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class BuildAsker(enact.Invokable):
    """Builds a flow that asks for input and calls it."""

    def call(self, count: enact.Int) -> enact.Int:
        return SumInputs(int(count))()


def int_ref(value: int) -> enact.Ref[enact.Int]:
    return enact.commit(enact.Int(value))


def test_built_invokable_is_journaled(active: enact.Store, calls: Calls) -> None:
    inv = BuildAndCall().invoke(int_ref(4))
    assert inv.get_output() == 4
    (inner,) = inv.get_children()
    assert inner.request().invokable == enact.commit(Loop(AddOne(), steps=4))
    assert [c.get_output() for c in inner.get_children()] == [1, 2, 3, 4]
    assert calls["AddOne"] == 4

    calls.clear()
    assert inv.replay() == inv
    assert inv.rewind(0).replay() == inv  # builds the loop again, replays its call
    assert calls["AddOne"] == 0

    rerun = inner.rewind(2).replay()  # the inner run on its own
    assert rerun == inner
    assert calls["AddOne"] == 2


def test_built_invokable_with_a_changed_journal(active: enact.Store) -> None:
    inv = BuildAndCall().invoke(int_ref(3))
    inner = inv.get_child(0)
    with inner.response.modify() as response:
        second = response.children[1]()
        with second.response.modify() as child:
            child.output = int_ref(50)
        response.children = [response.children[0], enact.commit(second)]
        response.output = None
    patched = inv.rewind(1)
    with patched.response.modify() as response:
        response.children = [enact.commit(inner)]
    replayed = patched.replay()
    assert replayed.get_output() == 51
    assert [c.get_output() for c in replayed.get_child(0).get_children()] == [1, 50, 51]


def test_built_invokable_as_a_separate_journal(
    active: enact.Store, calls: Calls
) -> None:
    inv = BuildAndInvoke().invoke(int_ref(5))
    assert list(inv.get_children()) == []
    inner = inv.get_output()
    assert isinstance(inner, enact.Invocation)
    assert inner.get_output() == 5
    assert inner == Loop(AddOne(), steps=5).invoke()
    calls.clear()
    assert inner.rewind(3).replay() == inner
    assert calls["AddOne"] == 3


def test_returned_invokable_runs_from_a_new_store_object(
    store: enact.Store, reopen_store: Any
) -> None:
    with store:
        ref = enact.commit(MakeLoop().invoke(int_ref(4)))
    with reopen_store():
        made = enact.Ref.from_id(ref.id).checkout().get_output()
        assert made == Loop(steps=4)
        inv = made.invoke()
        assert inv.get_output() == 4
        assert inv.replay() == inv


def test_invokable_as_input(active: enact.Store, calls: Calls) -> None:
    inv = Apply().invoke(enact.commit(Loop(steps=3)))
    assert inv.get_output() == 3
    assert inv.get_child(0).request().invokable() == Loop(steps=3)
    calls.clear()
    assert inv.rewind(0).replay() == inv
    assert calls["AddOne"] == 0
    with pytest.raises(enact.ReplayError):
        Apply().invoke(enact.commit(Loop(steps=4)), replay_from=inv)


def test_built_flow_asks_for_input(active: enact.Store) -> None:
    gen = enact.InvocationGenerator(BuildAsker(), int_ref(2))
    for i, _ in enumerate(gen):
        gen.set_input(enact.Int(i + 10))
    assert gen.invocation.get_output() == 21

    inv = BuildAsker().invoke(int_ref(2))
    for value in (10, 11):
        inv = inv.get_raised().continue_invocation(inv, enact.Int(value))
    assert inv == gen.invocation
    (inner,) = inv.get_children()
    assert inner.request().invokable() == SumInputs(2)
