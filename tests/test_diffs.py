"""``enact.diffs``: which calls of two invocation trees differ."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

import enact
from enact.diffs import Difference, diff_invocations

_COUNTER = itertools.count()


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Sample(enact.Invokable):
    """A different number on every real call (as a random component)."""

    def call(self, x: enact.Int) -> enact.Int:
        return enact.Int(x * 1000 + next(_COUNTER))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Nest(enact.Invokable):
    """Two samples inside."""

    sample: enact.Invokable

    def call(self, x: enact.Int) -> enact.Int:
        return enact.Int(self.sample(x) + self.sample(enact.Int(x + 1)))


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Flow(enact.Invokable):
    """``n`` nested calls."""

    nest: enact.Invokable

    def call(self, n: enact.Int) -> enact.Int:
        return enact.Int(sum(self.nest(enact.Int(i)) for i in range(n)))


@pytest.fixture(autouse=True)
def store() -> Iterator[enact.Store]:
    with enact.InMemoryStore() as store:
        yield store


def flow(n: int) -> enact.Invocation[Any, Any]:
    return Flow(Nest(Sample())).invoke(enact.commit(enact.Int(n)))


def kinds(differences: list[Difference]) -> dict[tuple[int, ...], str]:
    return {difference.path: difference.kind for difference in differences}


def test_identical_trees_are_one_same_entry() -> None:
    run = flow(3)
    replayed = run.replay()
    found = diff_invocations(run, replayed)
    assert found == [
        Difference(
            (), "same", enact.Ref.from_resource(run), enact.Ref.from_resource(run)
        )
    ]
    assert diff_invocations(run, replayed, include_same=False) == []


def test_a_resampled_branch_differs_from_its_branch_point_on() -> None:
    run = flow(3)
    branch = run.rewind(1).replay()  # the last nested call runs afresh
    found = diff_invocations(run, branch)
    assert kinds(found) == {
        (): "changed",
        (0,): "same",  # shared subtrees are not descended into
        (1,): "same",
        (2,): "changed",
        (2, 0): "changed",
        (2, 1): "changed",
    }
    root = found[0]
    assert root.changes == ("output", "children")
    leaf = found[-1]
    assert leaf.changes == ("output",)
    assert leaf.left == run.get_child(2).response().children[1]
    assert leaf.right == branch.get_child(2).response().children[1]
    assert [d.path for d in diff_invocations(run, branch, include_same=False)] == [
        (),
        (2,),
        (2, 0),
        (2, 1),
    ]


def test_calls_on_one_side_only_and_changed_inputs() -> None:
    short, long = flow(1), flow(3)
    found = diff_invocations(short, long)
    assert kinds(found) == {
        (): "changed",
        (0,): "changed",  # different samples
        (0, 0): "changed",
        (0, 1): "changed",
        (1,): "only-right",
        (2,): "only-right",
    }
    assert found[0].changes == ("input", "output", "children")
    only = found[-1]
    assert only.left is None and only.right == long.response().children[2]
    assert kinds(diff_invocations(long, short))[(2,)] == "only-left"


def test_depth_limit_and_refs_and_json() -> None:
    run = flow(2)
    branch = run.rewind(1).replay()
    found = diff_invocations(
        enact.commit(run), enact.commit(branch), include_same=False, max_depth=0
    )
    assert [d.path for d in found] == [()]
    as_json = found[0].to_json()
    assert as_json == {
        "path": [],
        "kind": "changed",
        "left": enact.commit(run).digest,
        "right": enact.commit(branch).digest,
        "changes": ["output", "children"],
    }


def test_a_changed_component_state_is_named() -> None:
    first = Flow(Nest(Sample())).invoke(enact.commit(enact.Int(0)))
    other = Flow(Nest(Nest(Sample()))).invoke(enact.commit(enact.Int(0)))
    (difference,) = diff_invocations(first, other)
    assert difference.kind == "changed"
    assert difference.changes == ("invokable", "state")
