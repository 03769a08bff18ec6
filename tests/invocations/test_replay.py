"""Replay, rewind and branching (docs/compatibility.md#replay,
#rewind-and-replay).

Tests that take ``active`` run against every store (memory, file, sqlite).
Executions are counted (``calls``) to tell replayed calls from executed ones.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

import pytest

import enact
from enact import contexts, invocations
from invocations.flows import (
    AddOne,
    Clock,
    Counter,
    Forward,
    IntToStr,
    Loop,
    Repeat,
    UseTally,
    chain,
    failing_loop,
)

Calls = collections.Counter[str]

#: Which child ``Switch`` calls; tests flip it to make a run nondeterministic.
SWITCH = {"child": "add"}


@enact.typed_invokable(enact.Int, enact.Str)
@dataclasses.dataclass
class Switch(enact.Invokable):
    """Calls AddOne or IntToStr depending on global state (nondeterministic)."""

    def call(self, value: enact.Int) -> enact.Str:
        first = AddOne()(value)
        if SWITCH["child"] == "add":
            return enact.Str(AddOne()(first))
        return IntToStr()(first)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class WorkThenFail(enact.Invokable):
    """Makes two child calls, then fails itself."""

    def call(self, value: enact.Int) -> enact.Int:
        value = AddOne()(AddOne()(value))
        raise ValueError(f"gave up at {value}")


def int_ref(value: int) -> enact.Ref[enact.Int]:
    return enact.commit(enact.Int(value))


def to_100(_: enact.Ref[Any]) -> enact.Int:
    return enact.Int(100)


def child_refs(inv: enact.Invocation) -> list[enact.Ref[Any]]:
    return list(inv.response().children)


class TestOverride:
    """The 10-step loop fails at step 3; an override supplies 100 instead."""

    def test_replay_with_override(self, active: enact.Store, calls: Calls) -> None:
        inv = failing_loop().invoke()
        assert calls["AddOne"] == 4
        seen: list[enact.Ref[Any]] = []

        def override(raised: enact.Ref[Any]) -> enact.Int:
            seen.append(raised)
            return enact.Int(100)

        calls.clear()
        replayed = inv.replay(exception_override=override)
        assert replayed.get_output() == 106
        # Steps 0-2 come from the journal, step 3 from the override; only the
        # six steps after it run.
        assert calls["AddOne"] == 6
        assert calls["Loop"] == 1
        assert seen == [inv.get_child(3).response().raised]
        children = list(replayed.get_children())
        assert [c.request().input() for c in children] == [0, 1, 2, 3, *range(100, 106)]
        assert [c.get_output() for c in children] == [1, 2, 3, *range(100, 107)]
        assert child_refs(replayed)[:3] == child_refs(inv)[:3]
        assert replayed.successful()

    def test_invoke_with_replay_from(self, active: enact.Store, calls: Calls) -> None:
        inv = failing_loop().invoke()
        calls.clear()
        replayed = failing_loop().invoke(
            enact.commit(enact.NoneResource()),
            replay_from=inv,
            exception_override=to_100,
        )
        assert replayed.get_output() == 106
        assert calls["AddOne"] == 6
        assert replayed == inv.replay(exception_override=to_100)

    def test_user_entered_replay_context(
        self, active: enact.Store, calls: Calls
    ) -> None:
        inv = failing_loop().invoke()
        calls.clear()
        with invocations.ReplayContext([inv], exception_override=to_100):
            assert failing_loop()() == 106
        assert calls["AddOne"] == 6

    def test_patched_journal(self, active: enact.Store, calls: Calls) -> None:
        inv = failing_loop().invoke()
        patched = inv.rewind(0)
        with patched.response.modify() as response:
            failed = response.children[-1]()
            with failed.response.modify() as child:
                child.output = int_ref(100)
                child.raised = None
                child.raised_here = False
            response.children = [*response.children[:-1], enact.commit(failed)]
        calls.clear()
        replayed = patched.replay()
        assert replayed.get_output() == 106
        assert calls["AddOne"] == 6
        assert replayed.get_child(3) == failed
        # The original journal is untouched.
        assert not inv.get_child(3).successful()

    def test_overridden_call_keeps_its_children(
        self, active: enact.Store, calls: Calls
    ) -> None:
        inv = Forward(WorkThenFail()).invoke(int_ref(1))
        failed = inv.get_child(0)
        assert failed.get_raised_here()
        assert len(child_refs(failed)) == 2
        calls.clear()
        replayed = inv.replay(exception_override=to_100)
        assert calls["AddOne"] == 0
        assert replayed.get_output() == 100
        patched = replayed.get_child(0)
        assert patched.get_output() == 100
        assert patched.request == failed.request
        # The recorded child calls are carried into the new record.
        assert child_refs(patched) == child_refs(failed)

    def test_override_of_the_wrong_type(self, active: enact.Store) -> None:
        inv = failing_loop().invoke()
        with pytest.raises(invocations.InvokableTypeError):
            inv.replay(exception_override=lambda _: enact.Str("100"))
        # Checked where the override is applied, also where no journaled call
        # would check the output: at the top level and in a plain call.
        leaf = AddOne(fail_on=[3])
        top = leaf.invoke(int_ref(3))
        with pytest.raises(invocations.InvokableTypeError):
            top.replay(exception_override=lambda _: enact.Str("100"))
        with invocations.ReplayContext([top], lambda _: enact.Str("100")):
            with pytest.raises(invocations.InvokableTypeError):
                leaf(enact.Int(3))
        assert top.replay(exception_override=to_100).get_output() == 100

    def test_no_override_reraises_without_running(
        self, active: enact.Store, calls: Calls
    ) -> None:
        inv = failing_loop().invoke()
        calls.clear()
        replayed = inv.replay()
        assert calls["AddOne"] == 0
        assert not replayed.successful()
        assert child_refs(replayed) == child_refs(inv)
        assert "failed on 3" in str(replayed.get_raised())

    def test_override_returning_none_reraises(self, active: enact.Store) -> None:
        inv = failing_loop("resource").invoke()
        with invocations.ReplayContext([inv], exception_override=lambda _: None):
            with pytest.raises(enact.ExceptionResource, match="failed on 3"):
                failing_loop("resource")()


class TestStrictness:
    def test_top_level_input_mismatch(self, active: enact.Store, calls: Calls) -> None:
        fun = AddOne(fail_on=[3, 4])
        inv = fun.invoke(int_ref(3))
        assert not inv.successful()
        with invocations.ReplayContext([inv], to_100, strict=False):
            # No record matches, so it runs for real and no override applies.
            with pytest.raises(ValueError, match="failed on 4"):
                fun(enact.Int(4))
        with invocations.ReplayContext([inv], to_100, strict=True):
            with pytest.raises(enact.ReplayError):
                fun(enact.Int(4))
        with invocations.ReplayContext([inv], to_100):
            assert fun(enact.Int(3)) == 100  # the match

    def test_mismatch_through_invoke(self, active: enact.Store) -> None:
        fun = AddOne(fail_on=[3, 4])
        inv = fun.invoke(int_ref(3))
        loose = fun.invoke(
            int_ref(4), replay_from=inv, exception_override=to_100, strict=False
        )
        assert "failed on 4" in str(loose.get_raised())
        assert loose.get_raised_here()
        with pytest.raises(enact.ReplayError):
            fun.invoke(int_ref(4), replay_from=inv, exception_override=to_100)

    def test_non_strict_skips_and_keeps_records(
        self, active: enact.Store, calls: Calls
    ) -> None:
        fun = AddOne()
        first = fun.invoke(int_ref(1))
        second = fun.invoke(int_ref(2))
        with first.response.modify() as response:
            response.output = int_ref(10)
        with second.response.modify() as response:
            response.output = int_ref(20)
        calls.clear()
        with invocations.ReplayContext([first, second], strict=False):
            assert fun(enact.Int(2)) == 20  # skips the first record
            assert fun(enact.Int(1)) == 10  # which is still available
            assert fun(enact.Int(1)) == 2  # nothing left: runs
        assert calls["AddOne"] == 1
        calls.clear()
        with invocations.ReplayContext([first, second], strict=True):
            with pytest.raises(enact.ReplayError):
                fun(enact.Int(2))
        assert calls["AddOne"] == 0

    def test_records_are_used_once_in_order(
        self, active: enact.Store, calls: Calls
    ) -> None:
        fun = AddOne()
        first = fun.invoke(int_ref(1))
        with first.response.modify() as response:
            response.output = int_ref(10)
        calls.clear()
        with invocations.ReplayContext([first, first]):
            assert [fun(enact.Int(1)) for _ in range(3)] == [10, 10, 2]
        assert calls["AddOne"] == 1

    def test_empty_context_runs(self, active: enact.Store, calls: Calls) -> None:
        with invocations.ReplayContext([]):
            assert Loop(steps=3)() == 3
        assert calls["AddOne"] == 3

    def test_changed_child_call_is_a_replay_error(self, active: enact.Store) -> None:
        SWITCH["child"] = "add"
        try:
            inv = Switch().invoke(int_ref(1))
            assert inv.get_output() == "3"
            SWITCH["child"] = "str"
            with pytest.raises(enact.ReplayError) as info:
                inv.rewind(0).replay()
            message = str(info.value)
            # It names the recorded call and the one the code makes now.
            assert "AddOne" in message
            assert "IntToStr" in message
            assert message.index("AddOne") < message.index("IntToStr")
            assert inv.rewind(0).replay(strict=False).get_output() == "2"
        finally:
            SWITCH["child"] = "add"

    def test_changed_input_is_a_replay_error(self, active: enact.Store) -> None:
        inv = AddOne().invoke(int_ref(1))
        with pytest.raises(enact.ReplayError) as info:
            AddOne().invoke(int_ref(2), replay_from=inv)
        message = str(info.value)
        assert int_ref(1).digest[:8] in message
        assert int_ref(2).digest[:8] in message
        assert message.index(int_ref(1).digest[:8]) < message.index(
            int_ref(2).digest[:8]
        )

    def test_changed_invokable_is_a_replay_error(self, active: enact.Store) -> None:
        inv = IntToStr("a").invoke(int_ref(1))
        with pytest.raises(enact.ReplayError):
            IntToStr("b").invoke(int_ref(1), replay_from=inv)


class TestLeafException:
    def test_user_entered_context_reraises_the_record(
        self, active: enact.Store, calls: Calls
    ) -> None:
        inv = chain().invoke(int_ref(1))
        assert calls["Raise"] == 1
        with invocations.ReplayContext([inv]):
            with pytest.raises(enact.WrappedException) as info:
                chain()(enact.Int(1))
        assert calls["Raise"] == 1  # the leaf did not run again
        assert calls["Forward"] == 4  # the two levels above it did
        assert "ValueError: boom" in str(info.value)

    def test_replay_of_a_failure_raised_here(
        self, active: enact.Store, calls: Calls
    ) -> None:
        inv = AddOne(fail_on=[1]).invoke(int_ref(1))
        calls.clear()
        replayed = inv.rewind().replay()
        assert calls["AddOne"] == 0
        assert replayed == inv
        assert replayed.get_raised_here()

    def test_replayed_invocation_errors_propagate(self, active: enact.Store) -> None:
        @enact.register
        @dataclasses.dataclass
        class ReturnsInt(enact.Invokable):
            def call(self, value: Any) -> Any:
                return 5

        inv = ReturnsInt().invoke(int_ref(1), raise_on_invocation_error=False)
        with pytest.raises(invocations.InvokableTypeError):
            inv.rewind().replay()


class TestRewind:
    def test_rewind_drops_output_and_last_calls(self, active: enact.Store) -> None:
        inv = Loop(start=1).invoke()
        rewound = inv.rewind()
        assert not rewound.successful()
        assert not rewound.response().is_complete()
        assert child_refs(rewound) == child_refs(inv)[:9]
        assert rewound.request == inv.request
        assert child_refs(inv.rewind(3)) == child_refs(inv)[:7]

    def test_rewind_zero_only_clears_the_output(self, active: enact.Store) -> None:
        inv = Loop(start=1).invoke()
        rewound = inv.rewind(0)
        assert child_refs(rewound) == child_refs(inv)
        assert rewound.response().output is None
        assert rewound.response().invokable == inv.response().invokable

    def test_rewind_beyond_the_length(self, active: enact.Store) -> None:
        inv = Loop(steps=3).invoke()
        assert child_refs(inv.rewind(3)) == []
        assert child_refs(inv.rewind(50)) == []
        assert inv.rewind(50).replay().get_output() == 3

    def test_rewind_keeps_the_exception(self, active: enact.Store) -> None:
        inv = failing_loop().invoke()
        rewound = inv.rewind()
        assert rewound.response().raised == inv.response().raised
        assert rewound.response().raised_here == inv.response().raised_here
        assert len(child_refs(rewound)) == 3

    def test_original_is_unchanged(self, active: enact.Store) -> None:
        inv = Loop(start=1).invoke()
        before = enact.commit(inv)
        snapshot = inv.deep_copy_resource()
        inv.rewind(4).replay()
        inv.rewind(0)
        assert enact.commit(inv) == before
        assert inv == snapshot
        assert inv.get_output() == 11
        assert len(child_refs(inv)) == 10

    def test_needs_a_store(self, store: enact.Store) -> None:
        with store:
            inv = Loop(steps=2).invoke()
        with pytest.raises(contexts.NoActiveContext):
            inv.rewind()

    def test_replay_needs_a_store(self, store: enact.Store) -> None:
        with store:
            inv = Loop(steps=2).invoke()
        with pytest.raises(contexts.NoActiveContext):
            inv.replay()


class TestReplay:
    def test_call_counters(self, active: enact.Store, calls: Calls) -> None:
        inv = Repeat(Clock()).invoke()
        assert calls["Clock"] == 3
        assert inv.get_output() == 1 + 2 + 3
        inv.replay()
        assert calls["Clock"] == 3
        branch = inv.rewind(2).replay()
        assert calls["Clock"] == 5
        assert [c.get_output() for c in branch.get_children()] == [1, 4, 5]
        assert branch.get_output() == 10

    def test_complete_replay_is_equal_and_runs_nothing(
        self, active: enact.Store, calls: Calls
    ) -> None:
        for flow in (Loop(start=1), failing_loop("resource"), Repeat(Clock())):
            inv = flow.invoke()
            calls.clear()
            replayed = inv.replay()
            assert replayed == inv
            assert child_refs(replayed) == child_refs(inv)
            assert calls["AddOne"] == calls["Clock"] == 0

    def test_replayed_native_failure(self, active: enact.Store, calls: Calls) -> None:
        inv = chain().invoke(int_ref(1))
        calls.clear()
        replayed = inv.replay()
        # The levels the exception only passed through run again and record
        # the leaf's recorded exception; the leaf itself is not run.
        assert calls["Raise"] == 0
        assert calls["Forward"] == 2
        leaf = replayed.get_child(0).get_child(0)
        assert leaf == inv.get_child(0).get_child(0)
        assert replayed.response().raised == leaf.response().raised
        assert [replayed.get_raised_here(), leaf.get_raised_here()] == [False, True]

    def test_rewound_replay_shares_unchanged_children(
        self, active: enact.Store, calls: Calls
    ) -> None:
        inv = Repeat(Clock(), times=5).invoke()
        for k in range(7):
            branch = inv.rewind(k).replay()
            kept = max(0, 5 - k)
            assert child_refs(branch)[:kept] == child_refs(inv)[:kept]
            if k:
                assert child_refs(branch)[kept:] != child_refs(inv)[kept:]
            else:
                assert branch == inv

    def test_deterministic_rewind_and_replay_is_equal(
        self, active: enact.Store, calls: Calls
    ) -> None:
        inv = Loop(start=1).invoke()
        for k in range(12):
            calls.clear()
            assert inv.rewind(k).replay() == inv
            assert calls["AddOne"] == min(k, 10)

    def test_state_changes_are_reapplied(
        self, active: enact.Store, calls: Calls
    ) -> None:
        flow = UseTally()
        inv = flow.invoke()
        assert inv.get_output() == 1 + 2 + 3 + 4
        assert flow.tally.count == 4
        for k in range(5):
            calls.clear()
            replayed = inv.rewind(k).replay()
            # Replayed calls restore the child's recorded state, so the calls
            # that run again continue from it.
            assert calls["Tally"] == k
            assert replayed == inv
        assert flow.tally.count == 4

    def test_live_invokable_is_not_mutated(
        self, active: enact.Store, calls: Calls
    ) -> None:
        counter = Counter()
        inv = counter.invoke()
        assert counter.count == 10
        assert inv.get_output() == 10
        with inv.response.modify() as response:
            response.output = int_ref(100)
            response.invokable = enact.commit(Counter(count=100))
        calls.clear()
        replayed = inv.replay()
        assert replayed.get_output() == 100
        assert replayed.response().invokable().count == 100
        assert calls["Counter"] == 0
        assert counter.count == 10
        # Re-running (after a rewind) starts from the recorded pre-call state,
        # on a copy.
        rerun = inv.rewind().replay()
        assert calls["Counter"] == 1
        assert rerun.get_output() == 10
        assert counter.count == 10

    def test_live_invokable_in_its_pre_call_state_is_not_mutated(
        self, active: enact.Store, calls: Calls
    ) -> None:
        counter = Counter()
        inv = counter.invoke()
        counter.count = 0  # the live object equals the recorded request again
        with inv.response.modify() as response:
            response.output = int_ref(100)
            response.invokable = enact.commit(Counter(count=100))
        assert inv.replay().get_output() == 100
        assert counter.count == 0
        assert inv.rewind().replay().get_output() == 10
        assert counter.count == 0
        assert calls["Counter"] == 2

    def test_many_branches_from_one_run(
        self, active: enact.Store, calls: Calls
    ) -> None:
        inv = Repeat(Clock()).invoke()
        original = inv.deep_copy_resource()
        branches = [inv.rewind().replay() for _ in range(5)]
        assert calls["Clock"] == 3 + 5
        assert [b.get_output() for b in branches] == [1 + 2 + n for n in range(4, 9)]
        assert len({enact.commit(b).digest for b in branches}) == 5
        for branch in branches:
            assert child_refs(branch)[:2] == child_refs(inv)[:2]
        assert inv == original
        assert inv.get_output() == 6

    def test_replay_through_a_new_store_object(
        self, store: enact.Store, reopen_store: Any, calls: Calls
    ) -> None:
        with store:
            ref = enact.commit(failing_loop().invoke())
        calls.clear()
        with reopen_store():
            inv = enact.Ref.from_id(ref.id).checkout()
            replayed = inv.replay(exception_override=to_100)
            assert replayed.get_output() == 106
            assert calls["AddOne"] == 6
            rerun = inv.rewind().replay()  # step 3 runs, and fails, again
            assert calls["AddOne"] == 7
            assert child_refs(rerun)[:3] == child_refs(inv)[:3]
            assert "failed on 3" in str(rerun.get_child(3).get_raised())

    def test_replay_hides_an_enclosing_replay_context(
        self, active: enact.Store, calls: Calls
    ) -> None:
        unrelated = IntToStr().invoke(int_ref(1))
        inv = Loop(steps=2).invoke()
        with invocations.ReplayContext([unrelated]):
            assert inv.replay() == inv
            assert Loop(steps=2).invoke() == inv


class TestRecordsChangedInMemory:
    """Replay uses a cached record only while it still has its digest."""

    def test_changed_child_records_are_read_back(
        self, active: enact.Store, calls: Calls
    ) -> None:
        invocation = Loop(steps=3).invoke()
        first, second = invocation.get_child(0), invocation.get_child(1)
        # In memory only: the first record now claims the second's response,
        # and the second's response claims another output.
        first.response = enact.Ref(second.response.digest, second.response())
        second.response().output = int_ref(100)
        calls.clear()
        replayed = invocation.rewind(0).replay()
        assert calls["AddOne"] == 0
        assert replayed.get_output() == 3
        assert [child.get_output() for child in replayed.get_children()] == [1, 2, 3]

    def test_a_changed_invokable_snapshot_is_committed_afresh(
        self, active: enact.Store, calls: Calls
    ) -> None:
        loop = Loop(steps=2)
        invocation = loop.invoke()
        loop.steps = 3  # the committed pre-call snapshot must not be reused
        changed = loop.invoke()
        assert changed.request().invokable != invocation.request().invokable
        assert changed.get_output() == 3
        assert invocation.request().invokable().steps == 2
