"""Registered plain functions and methods as journaled components
(docs/compatibility.md#functions).

Tests that take ``active`` run against every store (memory, file, sqlite).
``CALLS`` counts real executions, to tell replayed calls from executed ones;
``NEXT`` hands out fresh numbers, so a re-executed call gives a new result.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import inspect
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

import enact
from enact import invocations
from invocations.flows import AddOne

CALLS: collections.Counter[str] = collections.Counter()
NEXT = itertools.count()


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    global NEXT
    CALLS.clear()
    NEXT = itertools.count()
    yield
    CALLS.clear()


@enact.register
def sample(scale: int = 1) -> int:
    """Returns a number never returned before (a stand-in for a model)."""
    CALLS["sample"] += 1
    return next(NEXT) * scale


@enact.register
def pair(scale: int) -> list[int]:
    CALLS["pair"] += 1
    return [sample(scale), sample(scale=scale)]


@enact.register
def total(n: int, *, scale: int = 1) -> int:
    """Sums ``n`` pairs of samples."""
    CALLS["total"] += 1
    return sum(sum(pair(scale)) for _ in range(n))


@enact.register(name="tests.renamed")
def renamed(text: str) -> str:
    return text.upper()


@enact.register
def fails(n: int) -> int:
    raise ValueError(f"bad {n}")


@enact.register
def catches(n: int) -> str:
    try:
        fails(n)
    except ValueError as error:
        return f"caught {error}"
    return "no error"


@enact.register
def first(point: tuple[int, int], labels: set[str]) -> Any:
    return (type(point).__name__, sorted(labels))


@enact.register
def nothing() -> None:
    CALLS["nothing"] += 1


@enact.register
def calls_invokable(n: int) -> int:
    """A function calling an invokable."""
    return int(AddOne()(enact.Int(n))) + sample()


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class CallsFunction(enact.Invokable):  # type: ignore[type-arg]
    """An invokable calling a registered function."""

    def call(self, n: enact.Int) -> enact.Int:  # type: ignore[override]
        return enact.Int(calls_invokable(int(n)) + total(1))


@enact.register
@dataclasses.dataclass
class Tally:
    """A plain registered dataclass with registered methods."""

    count: int = 0
    seen: list[int] = dataclasses.field(default_factory=list)

    @enact.register
    def add(self, amount: int) -> int:
        CALLS["add"] += 1
        self.count += amount
        self.seen.append(sample())
        return self.count

    @enact.register
    def add_many(self, n: int) -> int:
        for _ in range(n):
            self.add(1)
        return self.count


@enact.register
@dataclasses.dataclass
class Counter(enact.Resource):
    """A resource with a registered method."""

    count: int = 0

    @enact.register
    def bump(self) -> int:
        CALLS["bump"] += 1
        self.count += 1
        return self.count


class Unregistered:
    @enact.register
    def method(self) -> int:
        return 1


# -- outside a journaled run -------------------------------------------------


def test_outside_a_run_it_is_the_function() -> None:
    assert total(2) == 0 + 1 + 2 + 3
    assert renamed("a") == "A"
    assert total.__name__ == "total"
    assert total.__doc__ == "Sums ``n`` pairs of samples."
    assert total.__wrapped__.__name__ == "total"  # type: ignore[attr-defined]
    assert str(inspect.signature(total)) == "(n: 'int', *, scale: 'int' = 1) -> 'int'"
    assert str(inspect.signature(Tally().add)) == "(amount: 'int') -> 'int'"
    tally = Tally()
    assert tally.add_many(2) == 2
    assert tally.seen == [4, 5]
    assert Unregistered().method() == 1  # only journaled calls need a wrapper


def test_names() -> None:
    assert total.enact_name == f"{__name__}.total"  # type: ignore[attr-defined]
    assert renamed.enact_name == "tests.renamed"  # type: ignore[attr-defined]
    assert Tally.add.enact_name == f"{__name__}.Tally.add"  # type: ignore[attr-defined]


# -- journaling ------------------------------------------------------------------


def test_every_depth_is_journaled(active: enact.Store) -> None:
    run = enact.invoke(total, (2,), {"scale": 10})
    assert run.get_output() == (0 + 1 + 2 + 3) * 10
    request = run.request()
    assert request.invokable() == invocations.FunctionWrapper(f"{__name__}.total")
    assert request.input() == invocations.CallArgs([2], {"scale": 10})
    pairs = list(run.get_children())
    assert len(pairs) == 2
    assert [p.get_output() for p in pairs] == [[0, 10], [20, 30]]
    samples = list(pairs[1].get_children())
    assert [s.get_output() for s in samples] == [20, 30]
    assert samples[0].request().input() == invocations.CallArgs([10], {})
    assert samples[1].request().input() == invocations.CallArgs([], {"scale": 10})
    assert not list(samples[0].get_children())


def test_outputs_read_back_plain_from_a_reopened_store(
    store: enact.Store, reopen_store: Any
) -> None:
    with store:
        run = enact.invoke(pair, (1,))
        store.flush()
    with reopen_store() as again:
        stored = enact.Ref(run.response.digest)
        assert stored().output() == [0, 1]
        assert again.checkout(enact.Ref(run.request.digest)).input() == (
            invocations.CallArgs([1], {})
        )


def test_none_output_and_registered_function_of_no_argument(
    active: enact.Store,
) -> None:
    run = enact.invoke(nothing)
    assert run.successful()
    assert run.get_output() is None
    assert run.replay().get_output() is None
    assert CALLS["nothing"] == 1


def test_tuples_and_sets_survive_as_arguments(active: enact.Store) -> None:
    run = enact.invoke(first, ((1, 2), {"b", "a"}))
    assert run.get_output() == ("tuple", ["a", "b"])
    replayed = run.rewind(0).replay()
    assert replayed.get_output() == ("tuple", ["a", "b"])


def test_exceptions_are_recorded_and_can_be_caught(active: enact.Store) -> None:
    run = enact.invoke(catches, (3,))
    assert run.get_output() == "caught bad 3"
    child = run.get_child(0)
    assert not child.successful()
    assert "ValueError: bad 3" in str(child.get_raised())
    assert child.get_raised_here()
    failed = enact.invoke(fails, (1,))
    assert not failed.successful()


# -- replay, rewind, fork -------------------------------------------------------


def test_replay_of_a_complete_run_executes_nothing(active: enact.Store) -> None:
    run = enact.invoke(total, (2,))
    assert CALLS == {"total": 1, "pair": 2, "sample": 4}
    replayed = run.replay()
    assert replayed == run
    assert replayed.get_output() == run.get_output()
    assert CALLS == {"total": 1, "pair": 2, "sample": 4}


def test_rewind_and_replay_resamples_only_the_last_calls(active: enact.Store) -> None:
    run = enact.invoke(total, (2,))  # samples 0, 1, 2, 3
    branch = run.rewind(1).replay()  # the second pair runs again
    assert [p.get_output() for p in branch.get_children()] == [[0, 1], [4, 5]]
    assert branch.get_output() == 10
    assert CALLS == {"total": 2, "pair": 3, "sample": 6}
    # The original run is unchanged, and another branch grows beside it.
    assert run.get_output() == 6
    other = run.rewind(2).replay()
    assert [p.get_output() for p in other.get_children()] == [[6, 7], [8, 9]]


def test_nested_rewind_replays_grandchildren(active: enact.Store) -> None:
    run = enact.invoke(pair, (1,))  # 0, 1
    replayed = run.rewind(1).replay()  # keeps the first sample
    assert replayed.get_output() == [0, 2]
    assert CALLS["sample"] == 3


def test_replay_through_enact_invoke(active: enact.Store) -> None:
    run = enact.invoke(total, (1,))
    again = enact.invoke(total, (1,), replay_from=run.rewind(1))
    assert again.get_output() == 2 + 3
    with pytest.raises(enact.ReplayError):
        enact.invoke(total, (2,), replay_from=run)
    loose = enact.invoke(total, (2,), replay_from=run, strict=False)
    assert loose.get_output() == 4 + 5 + 6 + 7


def test_recorded_exception_is_reraised_on_replay(active: enact.Store) -> None:
    run = enact.invoke(catches, (1,))
    replayed = run.rewind(0).replay()
    # The recorded exception is raised again (docs/compatibility.md#replay),
    # not a ValueError,
    # so the caller's except clause no longer matches.
    assert not replayed.successful()
    assert isinstance(replayed.get_raised(), enact.WrappedException)


def test_exception_override_replaces_a_recorded_exception(
    active: enact.Store,
) -> None:
    run = enact.invoke(catches, (1,))
    # Overrides are resources (docs/compatibility.md#replay): a plain value goes
    # in wrapped.
    replayed = run.rewind(0).replay(exception_override=lambda _: enact.wrap(7))
    assert replayed.get_output() == "no error"
    assert replayed.get_child(0).get_output() == 7


# -- methods -------------------------------------------------------------------


def test_method_calls_journal_the_instance(active: enact.Store) -> None:
    tally = Tally()
    run = enact.invoke(tally.add_many, (2,))
    assert run.get_output() == 2
    assert tally == Tally(2, [0, 1])
    request = run.request()
    method = request.invokable()
    assert isinstance(method, invocations.MethodWrapper)
    assert method.name == f"{__name__}.Tally.add_many"
    assert method.instance == Tally()  # the state before the call
    assert run.response().invokable().instance == Tally(2, [0, 1])
    adds = list(run.get_children())
    assert [a.get_output() for a in adds] == [1, 2]
    assert [a.request().invokable().instance.count for a in adds] == [0, 1]


def test_replay_restores_the_instance_state(active: enact.Store) -> None:
    run = enact.invoke(Tally().add_many, (3,))
    assert CALLS["add"] == 3
    replayed = run.rewind(1).replay()
    assert CALLS["add"] == 4  # two adds replayed, one run again
    final = replayed.response().invokable().instance
    assert final == Tally(3, [0, 1, 3])


def test_replay_context_restores_a_live_instance(active: enact.Store) -> None:
    tally = Tally()
    run = enact.invoke(tally.add_many, (2,))
    live = Tally()
    with enact.ReplayContext(list(run.get_children())):
        assert live.add(1) == 1
        assert live.add(1) == 2
    assert live == Tally(2, [0, 1])
    assert CALLS["add"] == 2  # only the original run executed


def test_methods_of_resources(active: enact.Store) -> None:
    counter = Counter()
    run = enact.invoke(counter.bump)
    assert run.get_output() == 1
    assert counter.count == 1
    replayed = run.replay()  # complete: answered from the journal
    assert replayed.get_output() == 1
    assert CALLS["bump"] == 1
    assert replayed.response().invokable().instance == Counter(1)
    rerun = run.rewind(0).replay()  # no output: the method runs again
    assert rerun.get_output() == 1  # on a copy of the recorded instance
    assert CALLS["bump"] == 2
    assert counter.count == 1


def test_instance_without_a_wrapper(active: enact.Store) -> None:
    with pytest.raises(enact.FieldTypeError, match="Please register a TypeWrapper"):
        enact.invoke(Unregistered().method)


def test_registering_bound_methods_and_classmethods_fails() -> None:
    with pytest.raises(ValueError, match="bound method"):
        enact.register(Tally().add_many.__func__.__get__(Tally()))  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="bound method"):
        enact.register(Tally.__eq__.__get__(Tally()))

    with pytest.raises(TypeError, match="classmethod"):

        class Bad:
            @enact.register
            @classmethod
            def make(cls) -> None:
                pass


# -- mixing invokables and functions --------------------------------------------


def test_invokables_and_functions_share_one_journal(active: enact.Store) -> None:
    run = CallsFunction().invoke(enact.commit(enact.Int(5)))
    assert run.get_output() == enact.Int(6 + 0 + 1 + 2)
    inner, summed = run.get_children()
    assert isinstance(inner.request().invokable(), invocations.FunctionWrapper)
    add_one, sampled = inner.get_children()
    assert isinstance(add_one.request().invokable(), AddOne)
    assert add_one.get_output() == enact.Int(6)
    assert sampled.get_output() == 0
    assert summed.get_output() == 3
    replayed = run.rewind(1).replay()
    assert replayed.get_output() == enact.Int(6 + 0 + 3 + 4)


def test_invoke_takes_invokables_too(active: enact.Store) -> None:
    run = enact.invoke(AddOne(), (enact.Int(1),))
    assert run.get_output() == enact.Int(2)
    with pytest.raises(ValueError, match="at most one"):
        enact.invoke(AddOne(), (enact.Int(1), enact.Int(2)))
    with pytest.raises(ValueError, match="at most one"):
        enact.invoke(AddOne(), kwargs={"x": 1})


def test_invoke_rejects_unregistered_callables(active: enact.Store) -> None:
    with pytest.raises(TypeError, match="@enact\\.register"):
        enact.invoke(len, ([],))


def test_invoke_needs_a_store() -> None:
    with pytest.raises(enact.contexts.NoActiveContext):
        enact.invoke(total, (1,))


# -- errors ----------------------------------------------------------------------


def test_unencodable_arguments_are_named(active: enact.Store) -> None:
    @enact.register
    def takes(a: Any, b: Any = None) -> None:
        pass

    @enact.register
    def outer() -> None:
        takes(1, b=object())

    # A native error inside the run is recorded (docs/compatibility.md#invoke).
    raised = str(enact.invoke(outer).get_raised())
    assert "keyword argument 'b', a builtins.object, cannot be stored" in raised
    with pytest.raises(enact.FieldTypeError, match=r"argument 1, a builtins\.object"):
        enact.invoke(takes, (1, object()))


def test_unencodable_output_is_named(active: enact.Store) -> None:
    @enact.register
    def makes() -> object:
        return object()

    run = enact.invoke(makes)
    assert "makes returned a object" in str(run.get_raised())


def test_replay_mismatch_names_both_calls(active: enact.Store) -> None:
    @enact.register
    def left(n: int) -> int:
        return n

    @enact.register
    def right(n: int) -> int:
        return n

    choice = {"f": left}

    @enact.register
    def chooser(n: int) -> int:
        return choice["f"](n)

    run = enact.invoke(chooser, (1,))
    choice["f"] = right
    with pytest.raises(enact.ReplayError) as raised:
        run.rewind(0).replay()
    message = str(raised.value)
    assert "recorded a call of " in message
    assert "left(1)" in message
    assert "now calls " in message
    assert "right(1)" in message


@enact.register
def append_one(items: list[int]) -> int:
    items.append(1)  # changes the journaled input
    return len(items)


def test_errors_about_a_call_name_the_function(active: enact.Store) -> None:
    with pytest.raises(enact.InputChanged) as raised:
        enact.invoke(append_one, ([0],))
    assert str(raised.value).startswith("append_one changed its input")
    assert "Wrapper" not in str(raised.value)


@enact.register
async def leaf_async(n: int) -> int:
    return n


@enact.register
async def forgets_to_await(n: int) -> int:
    leaf_async(n)  # never awaited
    return n


def test_an_unawaited_function_call_is_named(active: enact.Store) -> None:
    with pytest.raises(enact.IncompleteSubinvocationError) as raised:
        asyncio.run(enact.invoke_async(forgets_to_await, (1,)))
    message = raised.value.args[0]
    assert message.startswith(
        "Subinvocation 0 (leaf_async) of forgets_to_await was not awaited"
    )
    assert "write `await leaf_async(...)`" in message
    assert "Wrapper" not in message
