"""Forks with an edited input: ``run.fork_with_input(value)`` reruns the
component on the new input and replays every call that did not change."""

from __future__ import annotations

import collections
import dataclasses
import random

import pytest

import enact
from enact import runs

COUNTS: collections.Counter[str] = collections.Counter()


@enact.register
@dataclasses.dataclass
class Pair(enact.Resource):
    first: str
    second: str


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Sample(enact.Invokable[enact.Str, enact.Str]):
    """A random word about a topic; counts its executions."""

    def call(self, topic: enact.Str) -> enact.Str:
        COUNTS[str(topic)] += 1
        return enact.Str(f"{topic}-{random.randint(0, 10**9)}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Twice(enact.Invokable[enact.Str, enact.Str]):
    """Samples a topic twice (a subtree)."""

    sample: enact.Invokable[enact.Str, enact.Str]

    def call(self, topic: enact.Str) -> enact.Str:
        return enact.Str(f"{self.sample(topic)}+{self.sample(topic)}")


@enact.typed_invokable(Pair, enact.Str)
@dataclasses.dataclass
class Both(enact.Invokable[Pair, enact.Str]):
    """Samples each half of a pair, then the pair joined."""

    step: enact.Invokable[enact.Str, enact.Str]

    def call(self, pair: Pair) -> enact.Str:
        one = self.step(enact.Str(pair.first))
        two = self.step(enact.Str(pair.second))
        return enact.Str(
            f"{one} {two} {self.step(enact.Str(pair.first + pair.second))}"
        )


@pytest.fixture(autouse=True)
def _counts() -> None:
    COUNTS.clear()


def test_unchanged_calls_keep_their_results_and_changed_ones_rerun(
    active: enact.Store,
) -> None:
    run = runs.run(Both(Twice(Sample())), Pair("a", "b"))
    one, two, _ = str(run.output()).split(" ")
    assert COUNTS == {"a": 2, "b": 2, "ab": 2}
    fork = run.fork_with_input(Pair("a", "c"))
    new_one, new_two, _ = str(fork.output()).split(" ")
    assert new_one == one  # the call on "a", and its subtree, replayed
    assert new_two != two
    assert COUNTS == {"a": 2, "b": 2, "ab": 2, "c": 2, "ac": 2}  # "a" not again
    info = fork.info()
    assert info.parent == run.id and info.relation == "fork"
    assert fork.journal().request().input() == Pair("a", "c")
    # The replayed call is the recorded object itself.
    old = run.invocation().response().children[0].digest
    assert fork.invocation().response().children[0].digest == old


def test_a_call_that_moved_among_its_siblings_is_still_replayed(
    active: enact.Store,
) -> None:
    run = runs.run(Both(Sample()), Pair("x", "y"))
    x, y, _ = str(run.output()).split(" ")
    fork = run.fork_with_input(Pair("y", "x"))
    assert str(fork.output()).split(" ")[:2] == [y, x]
    assert COUNTS == {"x": 1, "y": 1, "xy": 1, "yx": 1}


def test_the_same_input_replays_every_call(active: enact.Store) -> None:
    run = runs.run(Both(Sample()), Pair("p", "q"))
    fork = run.fork_with_input(Pair("p", "q"), name="again", tags=["edited"])
    assert fork.output() == run.output()
    assert COUNTS == {"p": 1, "q": 1, "pq": 1}
    assert fork.info().name == "again" and fork.info().tags == ("edited",)


def test_an_input_of_another_type_is_refused_before_a_run(
    active: enact.Store,
) -> None:
    run = runs.run(Both(Sample()), Pair("p", "q"))
    before = len(runs.list_runs())
    with pytest.raises(TypeError, match="takes a Pair, not a Str"):
        run.fork_with_input(enact.Str("p"))
    assert len(runs.list_runs()) == before


def test_a_new_input_with_a_replaced_component(active: enact.Store) -> None:
    run = runs.run(Both(Sample()), Pair("m", "n"))
    fork = run.fork_with_input(Pair("m", "o"), replace={Sample(): Twice(Sample())})
    # Every call's component changed, so nothing matches: all run afresh.
    assert fork.journal().request().invokable() == Both(Twice(Sample()))
    assert COUNTS == {"m": 3, "n": 1, "mn": 1, "o": 2, "mo": 2}
