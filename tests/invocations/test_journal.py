"""Journaled calls: records, ``Builder`` and ``invoke``
(docs/compatibility.md#invocations).

Tests that take ``active`` run against every store (memory, file, sqlite).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

import enact
from enact import contexts, invocations
from invocations.flows import (
    AddOne,
    Forward,
    IntToStr,
    Loop,
    Raise,
    chain,
    failing_loop,
)


@enact.register
@dataclasses.dataclass
class Box(enact.Resource):
    items: list[int]


@enact.typed_invokable(Box, enact.Int)
@dataclasses.dataclass
class Grab(enact.Invokable):
    """Changes its input: not allowed."""

    def call(self, box: Box) -> enact.Int:
        box.items.append(1)
        return enact.Int(len(box.items))


@enact.typed_invokable(enact.NoneResource, enact.Int)
@dataclasses.dataclass
class Catch(enact.Invokable):
    """Calls a child that raises ValueError, catches it and returns normally."""

    def call(self) -> enact.Int:
        try:
            Raise("nested")(enact.Int(1))
        except ValueError as error:
            assert str(error) == "nested"
            return enact.Int(-1)
        raise AssertionError("unreachable")


@enact.typed_invokable(enact.NoneResource, enact.Invocation)
@dataclasses.dataclass
class Meta(enact.Invokable):
    """Invokes another invokable and returns the resulting invocation."""

    def call(self) -> enact.Invocation:
        return Loop(start=1).invoke()


class Abort(BaseException):
    """Like KeyboardInterrupt: not an Exception."""


@enact.register
@dataclasses.dataclass
class Interrupt(enact.Invokable):
    def call(self, value: Any) -> Any:
        raise Abort()


def int_ref(value: int) -> enact.Ref[enact.Int]:
    return enact.commit(enact.Int(value))


class TestExceptionResources:
    def test_hierarchy(self) -> None:
        assert issubclass(invocations.ExceptionResource, enact.ResourceBase)
        assert issubclass(invocations.ExceptionResource, Exception)
        for cls in (
            enact.WrappedException,
            enact.InputRequest,
            enact.InputRequestOutsideInvocation,
            invocations.InvocationError,
        ):
            assert issubclass(cls, enact.ExceptionResource)
        for cls in (
            invocations.InvokableTypeError,
            enact.InputChanged,
            enact.RequestedTypeUndetermined,
            enact.ReplayError,
        ):
            assert issubclass(cls, invocations.InvocationError)
        assert issubclass(invocations.InvokableTypeError, TypeError)

    @pytest.mark.parametrize(
        "cls",
        [
            enact.ExceptionResource,
            enact.WrappedException,
            enact.InputRequest,
            enact.InputRequestOutsideInvocation,
            invocations.InvocationError,
            invocations.InvokableTypeError,
            enact.InputChanged,
            enact.RequestedTypeUndetermined,
            enact.ReplayError,
            enact.Request,
            enact.Response,
            enact.Invocation,
            enact.RequestInput,
        ],
    )
    def test_registered(self, cls: type[enact.ResourceBase]) -> None:
        assert enact.Registry.get().lookup(cls.type_id()) is cls

    def test_args_are_the_one_field(self) -> None:
        error = enact.ExceptionResource("message", 3, [1, "a"])
        assert list(error.field_names()) == ["args"]
        assert list(error.field_values()) == [["message", 3, [1, "a"]]]
        assert str(enact.ExceptionResource("message")) == "message"
        copy = error.deep_copy_resource()
        assert type(copy) is enact.ExceptionResource
        assert copy.args == error.args
        assert copy is not error
        assert copy != error  # No value equality: exceptions compare by identity.

    def test_round_trip_through_a_new_store_object(
        self, store: enact.Store, reopen_store: Any
    ) -> None:
        with store:
            ref = enact.commit(invocations.ReplayError("recorded", 2))
        with reopen_store() as again:
            restored = again.checkout(ref)
        assert type(restored) is invocations.ReplayError
        assert restored.args == ("recorded", 2)

    def test_raise_and_catch(self) -> None:
        with pytest.raises(enact.ExceptionResource, match="oops"):
            raise invocations.InvokableTypeError("oops")


class TestRecords:
    def test_field_order(self) -> None:
        assert list(enact.Request.field_names()) == ["invokable", "input"]
        assert list(enact.Response.field_names()) == [
            "invokable",
            "output",
            "raised",
            "raised_here",
            "children",
        ]
        assert list(enact.Invocation.field_names()) == ["request", "response"]

    def test_generic_subscripts(self) -> None:
        for cls in (enact.Request, enact.Response, enact.Invocation):
            alias = cls[enact.Int, enact.Str]
            assert typing.get_origin(alias) is cls
            assert typing.get_args(alias) == (enact.Int, enact.Str)

    def test_is_complete(self, memory: enact.Store) -> None:
        fun = enact.commit(IntToStr())
        done = enact.Response(fun, int_ref(1), None, False, [])
        failed = enact.Response(
            fun, None, enact.commit(enact.ExceptionResource()), True, []
        )
        pending = enact.Response(fun, None, None, False, [])
        assert done.is_complete()
        assert failed.is_complete()
        assert not pending.is_complete()

    def test_navigation(self, active: enact.Store) -> None:
        inv = Loop(start=1).invoke()
        assert inv.successful()
        assert inv.get_output() == 11
        children = list(inv.get_children())
        assert len(children) == 10
        assert inv.get_child(0) == children[0]
        assert inv.get_child(-1) == children[-1]
        assert inv.get_child(-1).get_output() == 11
        with pytest.raises(IndexError):
            inv.get_child(10)
        with pytest.raises(IndexError):
            inv.get_child(-11)
        with pytest.raises(AssertionError):
            inv.get_raised()
        with pytest.raises(AssertionError):
            inv.get_raised_here()

    def test_navigation_of_a_failure(self, active: enact.Store) -> None:
        inv = Raise().invoke(int_ref(1))
        assert not inv.successful()
        with pytest.raises(AssertionError):
            inv.get_output()
        assert isinstance(inv.get_raised(), enact.WrappedException)
        assert inv.get_raised_here() is True
        assert list(inv.get_children()) == []

    def test_children_are_checked_out_lazily(self, store: enact.Store) -> None:
        with store:
            inv = Loop(start=1).invoke().deep_copy_resource()  # refs without caches
        children = inv.get_children()  # nothing is read yet
        with pytest.raises(contexts.NoActiveContext):
            next(children)
        with store:
            assert [child.get_output() for child in inv.get_children()] == list(
                range(2, 12)
            )

    def test_value_equality(self, memory: enact.Store) -> None:
        first = IntToStr().invoke(int_ref(5))
        second = IntToStr().invoke(int_ref(5))
        assert first == second
        assert first is not second
        assert first != IntToStr().invoke(int_ref(6))
        assert first != IntToStr("x").invoke(int_ref(5))


class TestInvoke:
    def test_matches_a_hand_built_invocation(self, active: enact.Store) -> None:
        fun = IntToStr("salt")
        inv = fun.invoke(enact.commit(enact.Int(1)))
        expected = enact.Invocation(
            enact.commit(enact.Request(enact.commit(fun), enact.commit(enact.Int(1)))),
            enact.commit(
                enact.Response(
                    invokable=enact.commit(fun),
                    output=enact.commit(enact.Str("1salt")),
                    raised=None,
                    raised_here=False,
                    children=[],
                )
            ),
        )
        assert inv == expected
        assert inv.get_output() == "1salt"
        assert type(inv.get_output()) is enact.Str

    def test_nested_loop_records_ten_children(self, active: enact.Store) -> None:
        inv = Loop(start=1).invoke()
        children = list(inv.get_children())
        assert [child.request().input() for child in children] == list(range(1, 11))
        assert [child.get_output() for child in children] == list(range(2, 12))
        for child in children:
            assert child.request().invokable() == AddOne()
            assert child.successful()
            assert list(child.get_children()) == []
        assert inv.get_output() == 11
        assert isinstance(inv.request().input(), enact.NoneResource)

    @pytest.mark.parametrize("failure", ["value", "resource"])
    def test_failure_at_iteration_three(
        self, active: enact.Store, failure: str
    ) -> None:
        inv = failing_loop(failure).invoke()
        children = list(inv.get_children())
        assert len(children) == 4
        assert all(child.successful() for child in children[:3])
        last = children[3]
        assert not last.successful()
        assert last.request().input() == 3
        assert isinstance(last.get_raised(), enact.ExceptionResource)
        assert last.get_raised_here()
        assert not inv.successful()
        assert not inv.get_raised_here()
        assert "failed on 3" in str(inv.get_raised())
        if failure == "resource":
            # Raised resources are recorded as themselves, at every level.
            assert type(last.get_raised()) is enact.ExceptionResource
            assert inv.response().raised == last.response().raised
        else:
            assert type(last.get_raised()) is enact.WrappedException

    def test_raised_here_chain(self, active: enact.Store) -> None:
        a = chain().invoke(int_ref(1))
        b = a.get_child(0)
        c = b.get_child(0)
        assert [a.get_raised_here(), b.get_raised_here(), c.get_raised_here()] == [
            False,
            False,
            True,
        ]
        assert c.request().invokable() == Raise()
        assert list(c.get_children()) == []
        for level in (a, b, c):
            assert not level.successful()
            raised = level.get_raised()
            assert isinstance(raised, enact.WrappedException)
            assert "ValueError: boom" in str(raised)

    def test_native_error_at_top_level_is_wrapped(self, active: enact.Store) -> None:
        inv = Raise("top").invoke(int_ref(1))
        raised = inv.get_raised()
        assert type(raised) is enact.WrappedException
        assert str(raised).startswith("Traceback (most recent call last):")
        assert "ValueError: top" in str(raised)
        assert "in call" in str(raised)  # the frame that raised
        assert inv.get_raised_here()

    def test_non_resource_output(self, active: enact.Store) -> None:
        @enact.register
        @dataclasses.dataclass
        class ReturnsInt(enact.Invokable):
            def call(self, value: Any) -> Any:
                return 5

        with pytest.raises(invocations.InvokableTypeError) as info:
            ReturnsInt().invoke(int_ref(1))
        assert isinstance(info.value, TypeError)
        inv = ReturnsInt().invoke(int_ref(1), raise_on_invocation_error=False)
        assert type(inv.get_raised()) is invocations.InvokableTypeError
        assert inv.get_raised_here()

    def test_none_output_becomes_none_resource(self, active: enact.Store) -> None:
        @enact.register
        @dataclasses.dataclass
        class Nothing(enact.Invokable):
            def call(self, value: Any) -> None:
                return None

        inv = Nothing().invoke(int_ref(1))
        assert inv.successful()
        assert isinstance(inv.get_output(), enact.NoneResource)

    def test_nested_output_type_is_checked(self, active: enact.Store) -> None:
        @enact.typed_invokable(enact.Int, enact.Str)
        @dataclasses.dataclass
        class WrongOutput(enact.Invokable):
            def call(self, value: enact.Int) -> enact.Int:
                return value

        # The top level of invoke does not check (compatibility.md, difference
        # 13).
        assert WrongOutput().invoke(int_ref(2)).get_output() == 2
        # A nested journaled call does.
        with pytest.raises(invocations.InvokableTypeError):
            Forward(WrongOutput()).invoke(int_ref(2))
        inv = Forward(WrongOutput()).invoke(int_ref(2), raise_on_invocation_error=False)
        # The child returned; its caller raised the type error.
        assert inv.get_child(0).successful()
        assert type(inv.get_raised()) is invocations.InvokableTypeError
        assert inv.get_raised_here()

    def test_changing_the_input(self, active: enact.Store) -> None:
        with pytest.raises(enact.InputChanged):
            Grab().invoke(enact.commit(Box([])))
        inv = Grab().invoke(enact.commit(Box([])), raise_on_invocation_error=False)
        assert type(inv.get_raised()) is enact.InputChanged
        assert isinstance(inv.get_raised(), invocations.InvocationError)

    def test_changing_the_input_of_a_nested_call(self, active: enact.Store) -> None:
        with pytest.raises(enact.InputChanged):
            Forward(Grab()).invoke(enact.commit(Box([])))

    def test_raise_on_invocation_error_false_swallows(
        self, active: enact.Store
    ) -> None:
        inv = Forward(Grab()).invoke(
            enact.commit(Box([])), raise_on_invocation_error=False
        )
        assert not inv.successful()
        assert not inv.get_raised_here()
        assert inv.get_child(0).get_raised_here()
        assert type(inv.get_child(0).get_raised()) is enact.InputChanged

    def test_inside_a_manually_entered_builder(self, active: enact.Store) -> None:
        outside = Loop(start=1).invoke()
        builder = invocations.Builder(IntToStr(), int_ref(0))
        with builder:
            inside = Loop(start=1).invoke()
        assert builder.children == []
        assert inside == outside

    def test_meta_invocation(self, active: enact.Store) -> None:
        inv = Meta().invoke()
        assert list(inv.get_children()) == []
        inner = inv.get_output()
        assert isinstance(inner, enact.Invocation)
        assert len(list(inner.get_children())) == 10
        assert inner.get_output() == 11
        assert inner == Loop(start=1).invoke()

    def test_nested_value_error_can_be_caught(self, active: enact.Store) -> None:
        inv = Catch().invoke()
        assert inv.successful()
        assert inv.get_output() == -1
        child = inv.get_child(0)
        assert not child.successful()
        assert child.get_raised_here()
        assert "ValueError: nested" in str(child.get_raised())

    def test_base_exceptions_are_not_recorded(self, active: enact.Store) -> None:
        with pytest.raises(Abort):
            Interrupt().invoke(int_ref(1))
        builder = invocations.Builder(Forward(Interrupt()), int_ref(1))
        with pytest.raises(Abort):
            builder.call()
        response = builder.invocation.response()
        assert not response.is_complete()
        assert response.raised is None
        (child,) = builder.invocation.get_children()
        assert not child.response().is_complete()

    def test_invoke_outside_a_store(self) -> None:
        with pytest.raises(contexts.NoActiveContext) as info:
            IntToStr().invoke()
        message = str(info.value)
        assert "store" in message.lower()
        assert "with" in message

    def test_input_must_be_a_ref(self, memory: enact.Store) -> None:
        with pytest.raises(invocations.InvokableTypeError, match="reference"):
            IntToStr().invoke(enact.Int(1))  # type: ignore[arg-type]

    def test_no_type_checks_on_the_input(self, memory: enact.Store) -> None:
        inv = IntToStr("!").invoke(enact.commit(enact.Str("text")))
        assert inv.get_output() == "text!"

    def test_default_input_is_a_none_resource(self, memory: enact.Store) -> None:
        inv = Loop().invoke()
        assert inv.request().input == enact.commit(enact.NoneResource())

    def test_commit_flag(self, active: enact.Store) -> None:
        committed = IntToStr().invoke(int_ref(7))
        assert active.has(enact.Ref.from_resource(committed))
        uncommitted = IntToStr("new").invoke(int_ref(7), commit=False)
        assert uncommitted.get_output() == "7new"
        assert active.has(uncommitted.response)

    def test_pre_and_post_call_snapshots(self, active: enact.Store) -> None:
        @enact.typed_invokable(enact.NoneResource, enact.Int)
        @dataclasses.dataclass
        class Stateful(enact.Invokable):
            count: int = 0

            def call(self) -> enact.Int:
                self.count += 5
                return enact.Int(self.count)

        fun = Stateful()
        inv = fun.invoke()
        assert inv.request().invokable().count == 0
        assert inv.response().invokable().count == 5
        assert fun.count == 5

    def test_readable_after_the_store_exits(self, store: enact.Store) -> None:
        with store:
            inv = Loop(start=1).invoke()
            failed = chain().invoke(int_ref(1))
        assert inv.get_output() == 11
        assert inv.get_child(4).get_output() == 6
        assert inv.get_child(4).request().input() == 5
        assert "ValueError" in str(failed.get_child(0).get_child(0).get_raised())

    def test_readable_through_a_new_store_object(
        self, store: enact.Store, reopen_store: Any
    ) -> None:
        with store:
            ref = enact.commit(Loop(start=1).invoke())
        with reopen_store():
            inv = enact.Ref.from_id(ref.id).checkout()
            assert inv.get_output() == 11
            assert [c.get_output() for c in inv.get_children()] == list(range(2, 12))
            assert inv.request().invokable() == Loop(start=1)


class TestBuilder:
    def test_attributes(self, active: enact.Store) -> None:
        fun = IntToStr("b")
        builder = invocations.Builder(fun, int_ref(4))
        assert builder.invokable is fun
        assert builder.input_ref == int_ref(4)
        assert builder.children == []
        with pytest.raises(AssertionError):
            builder.invocation  # noqa: B018
        assert builder.call() == "4b"
        assert builder.invocation == fun.invoke(int_ref(4))

    def test_needs_a_store(self) -> None:
        with pytest.raises(contexts.NoActiveContext):
            invocations.Builder(IntToStr(), enact.Ref.from_resource(enact.Int(1)))

    def test_nested_builders_collect_children(self, active: enact.Store) -> None:
        builder = invocations.Builder(Loop(steps=3), enact.commit(enact.NoneResource()))
        assert builder.call() == 3
        assert len(builder.children) == 3
        assert builder.invocation == Loop(steps=3).invoke()

    def test_exceptions_reach_the_caller_unchanged(self, active: enact.Store) -> None:
        builder = invocations.Builder(chain(), int_ref(1))
        with pytest.raises(ValueError, match="boom"):
            builder.call()
        assert not builder.invocation.get_raised_here()
