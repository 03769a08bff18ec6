"""Errors users run into, and what they are told."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import enact
from enact import invocations
from enact.resource_registry import ResourceNotFound
from invocations.flows import AddInput, AddOne, Loop, SumInputs


@dataclasses.dataclass
class LocalStep(enact.Invokable):
    """Not registered: like an invokable a user defines in a notebook."""

    amount: int = 2

    def call(self, value: enact.Int) -> enact.Int:
        return enact.Int(value + self.amount)


@dataclasses.dataclass
class LocalFlow(enact.Invokable):
    """Not registered either; calls ``LocalStep`` three times."""

    step: LocalStep = dataclasses.field(default_factory=LocalStep)

    def call(self, value: enact.Int) -> enact.Int:
        for _ in range(3):
            value = self.step(value)
        return value


def int_ref(value: int) -> enact.Ref[enact.Int]:
    return enact.commit(enact.Int(value))


def test_unregistered_invokables_can_be_navigated(store: enact.Store) -> None:
    assert LocalFlow.type_id() not in enact.Registry.get()
    with store:
        inv = LocalFlow().invoke(int_ref(1))
        assert inv.get_output() == 7
        assert [c.get_output() for c in inv.get_children()] == [3, 5, 7]
        assert inv.get_child(1).request().invokable() == LocalStep()
    assert inv.get_child(2).get_output() == 7


def test_unregistered_invokables_replay_in_memory() -> None:
    with enact.InMemoryStore():
        inv = LocalFlow().invoke(int_ref(1))
        assert inv.rewind(2).replay() == inv


def test_unregistered_class_in_a_new_store_object(
    store: enact.Store, reopen_store: Any
) -> None:
    with store:
        ref = enact.commit(LocalFlow().invoke(int_ref(1)))
    with reopen_store():
        inv = enact.Ref.from_id(ref.id).checkout()
        assert inv.get_output() == 7  # built-in types are registered
        with pytest.raises(ResourceNotFound) as info:
            inv.request().invokable()
    assert info.value.type_id == LocalFlow.type_id()
    assert LocalFlow.type_id() in str(info.value)


def test_unregistered_class_in_a_fresh_process(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    store = enact.FileStore(store_dir)
    with store:
        ref = enact.commit(LocalFlow().invoke(int_ref(1)))
    store.close()
    reader = textwrap.dedent(
        """
        import sys

        import enact
        from enact.resource_registry import ResourceNotFound

        with enact.FileStore(sys.argv[1]):
            inv = enact.Ref.from_id(sys.argv[2]).checkout()
            print(inv.get_output())
            try:
                inv.request().invokable()
            except ResourceNotFound as error:
                print(error.type_id)
                print(error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", reader, str(store_dir), ref.id],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    output, type_id, message = result.stdout.splitlines()
    assert output == "7"
    assert type_id == LocalFlow.type_id()
    assert LocalFlow.type_id() in message
    assert "register" in message


def test_replaying_against_a_changed_input(active: enact.Store) -> None:
    inv = Loop(AddOne(), start=1).invoke()
    with pytest.raises(enact.ReplayError) as info:
        Loop(AddOne(), start=2).invoke(replay_from=inv)
    assert "Loop" in str(info.value)
    assert isinstance(info.value, invocations.InvocationError)
    loose = Loop(AddOne(), start=2).invoke(replay_from=inv, strict=False)
    assert loose.get_output() == 12


def test_answering_with_the_wrong_type(active: enact.Store) -> None:
    gen = enact.InvocationGenerator(SumInputs(1))
    request = next(gen)
    with pytest.raises(invocations.InvokableTypeError) as info:
        gen.send(enact.Str("3"))
    assert isinstance(info.value, TypeError)
    assert "Int" in str(info.value)
    assert gen.input_request is request
    gen.set_input(enact.Float(3.0))
    with pytest.raises(invocations.InvokableTypeError):
        next(gen)
    with pytest.raises(StopIteration):
        gen.send(enact.Int(3))
    assert gen.invocation.get_output() == 3


def test_continuing_with_the_wrong_type_is_caught_downstream(
    active: enact.Store,
) -> None:
    # continue_invocation does not check the answer (RequestInput is untyped);
    # the asking call's own output type check catches it.
    @enact.typed_invokable(enact.NoneResource, enact.Int)
    @dataclasses.dataclass
    class Ask(enact.Invokable):
        def call(self) -> enact.Int:
            return enact.request_input(enact.Int)

    @enact.typed_invokable(enact.NoneResource, enact.Int)
    @dataclasses.dataclass
    class Outer(enact.Invokable):
        def call(self) -> enact.Int:
            return Ask()()

    inv = Outer().invoke()
    with pytest.raises(invocations.InvokableTypeError):
        inv.get_raised().continue_invocation(inv, enact.Str("x"))
    inv = AddInput().invoke(int_ref(1))
    assert inv.get_raised().continue_invocation(inv, enact.Int(1)).get_output() == 2
