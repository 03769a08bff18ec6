"""``request_input``, ``RequestInput`` and ``InputRequest``
(docs/compatibility.md#input-requests).

Tests that take ``active`` run against every store (memory, file, sqlite).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import enact
from enact import contexts, invocations
from invocations.flows import AddInput, AskTwice, SumInputs, Survey


def answer_all(inv: enact.Invocation, answers: list[Any]) -> enact.Invocation:
    """Continues ``inv`` with each answer in turn."""
    for value in answers:
        request = inv.get_raised()
        assert isinstance(request, enact.InputRequest)
        inv = request.continue_invocation(inv, value)
    return inv


class TestContinueInvocation:
    def test_two_step_chain(self, active: enact.Store) -> None:
        inv = AskTwice().invoke(enact.commit(enact.Str("foo")))
        assert not inv.successful()
        request = inv.get_raised()
        assert isinstance(request, enact.InputRequest)
        assert request.input() == "foo"
        assert request.requested_type is enact.Str
        inv = request.continue_invocation(inv, enact.Str("bar"))
        second = inv.get_raised()
        assert isinstance(second, enact.InputRequest)
        assert second.input() == "bar"
        inv = second.continue_invocation(inv, enact.Str("bish"))
        assert inv.get_output() == "bish"
        assert [child.get_output() for child in inv.get_children()] == ["bar", "bish"]

    def test_request_input_plus_value(self, active: enact.Store) -> None:
        inv = AddInput().invoke(enact.commit(enact.Int(3)))
        assert answer_all(inv, [enact.Int(5)]).get_output() == 8

    def test_journal_structure(self, active: enact.Store) -> None:
        inv = SumInputs().invoke()
        child = inv.get_child(0)
        assert child.get_raised_here()
        assert not inv.get_raised_here()
        assert inv.response().raised == child.response().raised
        asker = child.request().invokable()
        # The request comes from the RequestInput helper (compatibility.md,
        # difference 19).
        assert asker == enact.RequestInput(enact.Int, "number 0")
        request = inv.get_raised()
        assert request.invokable == enact.commit(asker)
        assert isinstance(request.input(), enact.NoneResource)
        assert request.context == "number 0"

        done = answer_all(inv, [enact.Int(0), enact.Int(1), enact.Int(2)])
        assert done.get_output() == 3
        children = list(done.get_children())
        assert len(children) == 3
        for i, child in enumerate(children):
            assert type(child.request().invokable()) is enact.RequestInput
            assert child.get_output() == i
            assert child.request().invokable().context == f"number {i}"

    def test_answered_requests_are_replayed(self, active: enact.Store) -> None:
        inv = answer_all(SumInputs().invoke(), [enact.Int(4), enact.Int(5)])
        assert [c.get_output() for c in list(inv.get_children())[:2]] == [4, 5]
        request = inv.get_raised()
        assert request.context == "number 2"
        assert request.continue_invocation(inv, enact.Int(6)).get_output() == 15

    def test_identical_requests(self, active: enact.Store) -> None:
        inv = Survey().invoke(enact.commit(enact.Int(1)))
        answers = [enact.Int(10), enact.Int(20), enact.Int(30), enact.Int(40)]
        done = answer_all(inv, answers)
        # 1+1=2; 2+(10+1)=13; 13+20+30=63; 63+(40+1)=104
        assert done.get_output() == 104
        requests = [
            child
            for child in done.get_children()
            if type(child.request().invokable()) is enact.RequestInput
        ]
        assert [c.get_output() for c in requests] == [20, 30]

    def test_value_is_not_type_checked(self, active: enact.Store) -> None:
        inv = AskTwice().invoke(enact.commit(enact.Str("foo")))
        request = inv.get_raised()
        inv = request.continue_invocation(inv, enact.Int(7))
        assert inv.get_child(0).get_output() == 7

    def test_continue_non_strict(self, active: enact.Store) -> None:
        inv = AddInput().invoke(enact.commit(enact.Int(3)))
        request = inv.get_raised()
        done = request.continue_invocation(inv, enact.Int(5), strict=False)
        assert done.get_output() == 8

    def test_another_request_is_not_answered(self, active: enact.Store) -> None:
        first = AskTwice().invoke(enact.commit(enact.Str("foo")))
        other = AskTwice().invoke(enact.commit(enact.Str("other")))
        request = other.get_raised()
        still = request.continue_invocation(first, enact.Str("bar"))
        assert not still.successful()
        assert still.response().raised == first.response().raised

    def test_through_a_new_store_object(
        self, store: enact.Store, reopen_store: Any
    ) -> None:
        with store:
            ref = enact.commit(SumInputs().invoke())
        with reopen_store():
            inv = enact.Ref.from_id(ref.id).checkout()
            done = answer_all(inv, [enact.Int(1), enact.Int(2), enact.Int(3)])
            assert done.get_output() == 6


class TestRequestInput:
    def test_invoked_directly(self, active: enact.Store) -> None:
        asker = enact.RequestInput(enact.Str, enact.Str("Context"))
        inv = asker.invoke(enact.commit(enact.Str("subject")))
        request = inv.get_raised()
        assert isinstance(request, enact.InputRequest)
        assert request.context == "Context"
        assert request.requested_type is enact.Str
        assert request.invokable == enact.commit(asker)
        assert request.input == enact.commit(enact.Str("subject"))
        assert request.args == (
            request.invokable,
            request.input,
            enact.Str,
            "Context",
        )
        assert inv.get_raised_here()

    def test_fields(self) -> None:
        assert list(enact.RequestInput.field_names()) == ["requested_type", "context"]
        assert enact.RequestInput(enact.Int).context is None
        assert enact.RequestInput.get_input_type() is None
        assert enact.RequestInput.get_output_type() is None

    def test_outside_an_invocation(self, memory: enact.Store) -> None:
        with pytest.raises(enact.InputRequestOutsideInvocation) as info:
            enact.RequestInput(enact.Str, "ctx")(enact.Str("x"))
        assert info.value.args == ("ctx", enact.Str)
        with pytest.raises(enact.InputRequestOutsideInvocation):
            enact.request_input(enact.Int)
        with pytest.raises(enact.InputRequestOutsideInvocation):
            SumInputs()()

    def test_outside_an_invocation_and_a_store(self) -> None:
        with pytest.raises(enact.InputRequestOutsideInvocation):
            enact.request_input(enact.Int, context="why")

    def test_requested_type_undetermined(self, active: enact.Store) -> None:
        with pytest.raises(enact.RequestedTypeUndetermined):
            enact.RequestInput(None).invoke()  # type: ignore[arg-type]

        @enact.typed_invokable(enact.NoneResource, enact.Int)
        @dataclasses.dataclass
        class AskForNothing(enact.Invokable):
            def call(self) -> Any:
                return enact.request_input(None)  # type: ignore[arg-type]

        with pytest.raises(enact.RequestedTypeUndetermined):
            AskForNothing().invoke()
        inv = AskForNothing().invoke(raise_on_invocation_error=False)
        assert type(inv.get_raised()) is enact.RequestedTypeUndetermined
        assert isinstance(inv.get_raised(), invocations.InvocationError)

    def test_request_input_arguments(self, active: enact.Store) -> None:
        @enact.typed_invokable(enact.Str, enact.Str)
        @dataclasses.dataclass
        class AskFor(enact.Invokable):
            def call(self, value: enact.Str) -> Any:
                return enact.request_input(enact.Str, value, "ctx")

        inv = AskFor().invoke(enact.commit(enact.Str("topic")))
        request = inv.get_raised()
        assert request.input() == "topic"
        assert request.context == "ctx"
        child = inv.get_child(0)
        assert child.request().input() == "topic"
        assert child.request().invokable() == enact.RequestInput(enact.Str, "ctx")


class TestInputRequestResource:
    def test_needs_a_store(self) -> None:
        ref = enact.Ref.from_resource(enact.Int(1))
        with pytest.raises(contexts.NoActiveContext):
            enact.InputRequest(ref, ref, enact.Int, None)
        with enact.InMemoryStore(), enact.Store.top_level():
            with pytest.raises(contexts.NoActiveContext):
                enact.InputRequest(ref, ref, enact.Int, None)

    def test_decoding_needs_a_store(self, store: enact.Store) -> None:
        with store:
            ref = enact.commit(enact.Int(1))
            request = enact.InputRequest(ref, ref, enact.Int, {"why": ["x"]})
            request_ref = enact.commit(request)
            restored = store.checkout(request_ref)
            assert restored.args == request.args
            assert restored.requested_type is enact.Int
            assert restored.context == {"why": ["x"]}
        with pytest.raises(contexts.NoActiveContext):
            store.checkout(request_ref)

    def test_equal_requests_have_equal_refs(self, memory: enact.Store) -> None:
        ref = enact.commit(enact.Int(1))
        first = enact.InputRequest(ref, ref, enact.Int, "c")
        second = enact.InputRequest(ref, ref, enact.Int, "c")
        assert enact.commit(first) == enact.commit(second)
        assert enact.commit(first) != enact.commit(
            enact.InputRequest(ref, ref, enact.Int, "d")
        )

    def test_properties(self, memory: enact.Store) -> None:
        fun = enact.commit(enact.RequestInput(enact.Float))
        subject = enact.commit(enact.Str("s"))
        request = enact.InputRequest(fun, subject, enact.Float, 3)
        assert request.invokable is fun
        assert request.input is subject
        assert request.requested_type is enact.Float
        assert request.context == 3
