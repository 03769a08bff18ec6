"""Forks with components replaced: ``run.fork(replace={old: new})``."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import enact
from enact import runs
from runs.flows import Die, Pipeline


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Fixed(enact.Invokable[enact.NoneResource, enact.Int]):
    """Always the same number."""

    value: int

    def call(self) -> enact.Int:
        return enact.Int(self.value)


@enact.typed_invokable(enact.NoneResource, enact.Str)
@dataclasses.dataclass
class Panel(enact.Invokable[enact.NoneResource, enact.Str]):
    """Calls each of its members, then its judge by name."""

    members: list[Any]
    judges: dict[str, Any]

    def call(self) -> enact.Str:
        values = [int(member()) for member in self.members]
        values.append(int(self.judges["head"]()))
        return enact.Str(",".join(map(str, values)))


def test_a_component_in_a_list_or_dict_field_is_replaced_from_the_branch_point(
    active: enact.Store,
) -> None:
    one, two, judge = Fixed(1), Fixed(2), Fixed(9)
    run = enact.run(Panel([one, two, one], {"head": judge}))
    assert run.output() == enact.Str("1,2,1,9")
    fork = run.fork(at=(1,), replace={one: Fixed(5), judge: Fixed(7)})
    # The first call keeps its recorded result; the rest run with the new ones.
    assert fork.output() == enact.Str("1,2,5,7")
    component = fork.journal().request().invokable()
    assert component == Panel([Fixed(5), two, Fixed(5)], {"head": Fixed(7)})
    # The fork's journal is its own: forking it again needs no replacement.
    again = fork.fork(at=(3,))
    assert again.output() == enact.Str("1,2,5,7")
    # The original is unchanged.
    assert run.journal().request().invokable() == Panel(
        [one, two, one], {"head": judge}
    )


def test_a_rewind_with_a_replacement_resamples_with_the_new_component(
    active: enact.Store,
) -> None:
    run = enact.run(Panel([Die()], {"head": Fixed(3)}))
    fork = run.fork(1, replace={Fixed(3): Fixed(4)})
    assert fork.output().split(",")[0] == run.output().split(",")[0]
    assert fork.output().endswith(",4")


def test_a_component_the_code_makes_as_it_runs_cannot_be_replaced(
    active: enact.Store,
) -> None:
    from runs.flows import Leaf

    run = enact.run(Pipeline(stages=1, width=2), enact.Int(0))
    with pytest.raises(
        runs.RunError, match="holds no Leaf equal to the one to replace"
    ):
        run.fork(at=(0,), replace={Leaf(): Leaf(delay=0.0, blob_every=99)})
    assert len(runs.list_runs()) == 1
