"""Invokables: input normalization, types and plain calls
(docs/compatibility.md#invokables)."""

from __future__ import annotations

import dataclasses
import random
import typing
from typing import Any

import pytest

import enact
from enact import invocations
from invocations.flows import AddOne, IntToStr, Loop


@enact.typed_invokable(
    input_type=enact.NoneResource,
    output_type=enact.Int,
)
@dataclasses.dataclass
class RollDie(enact.Invokable):
    sides: int = 6

    def call(self) -> enact.Int:
        return enact.Int(random.randint(1, self.sides))


@enact.register
@dataclasses.dataclass
class Point(enact.Resource):
    x: int
    y: int = 0


@enact.typed_invokable(Point, enact.Int)
@dataclasses.dataclass
class Manhattan(enact.Invokable):
    def call(self, point: Point) -> enact.Int:
        return enact.Int(abs(point.x) + abs(point.y))


@enact.register
@dataclasses.dataclass
class Untyped(enact.Invokable):
    def call(self, value: Any) -> Any:
        return value


class TestInputNormalization:
    def test_a_single_resource_is_the_argument(self) -> None:
        assert IntToStr()(enact.Int(1)) == "1"

    def test_arguments_construct_the_input_type(self) -> None:
        seen: list[Any] = []

        @enact.typed_invokable(enact.Int, enact.Str)
        @dataclasses.dataclass
        class Spy(enact.Invokable):
            def call(self, value: Any) -> enact.Str:
                seen.append(value)
                return enact.Str(value)

        assert Spy()(1) == "1"
        assert type(seen[0]) is enact.Int
        assert seen[0] == 1

    def test_keyword_arguments_construct_the_input_type(self) -> None:
        assert Manhattan()(3, y=-4) == 7
        assert Manhattan()(x=-2) == 2

    def test_no_arguments_construct_a_none_resource(self) -> None:
        seen: list[Any] = []

        @enact.typed_invokable(enact.NoneResource, enact.Int)
        @dataclasses.dataclass
        class Spy(enact.Invokable):
            def call(self, value: Any) -> enact.Int:
                seen.append(value)
                return enact.Int(1)

        assert Spy()() == 1
        assert isinstance(seen[0], enact.NoneResource)

    def test_readme_die_rolls_without_arguments(self) -> None:
        rolls = {RollDie(6)() for _ in range(50)}
        assert rolls <= set(range(1, 7))
        assert all(type(roll) is enact.Int for roll in rolls)

    def test_constructor_errors_propagate(self) -> None:
        with pytest.raises(TypeError) as info:
            Manhattan()(1, 2, 3)  # Point takes at most two arguments.
        assert not isinstance(info.value, invocations.InvokableTypeError)
        with pytest.raises(ValueError):
            IntToStr()("not a number")


class TestInvokableTypeError:
    def test_untyped_invokable_needs_one_resource(self) -> None:
        with pytest.raises(invocations.InvokableTypeError) as info:
            Untyped()(1)
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, invocations.InvocationError)
        with pytest.raises(TypeError):
            Untyped()(enact.Int(1), enact.Int(2))
        with pytest.raises(TypeError):
            Untyped()()
        with pytest.raises(TypeError):
            Untyped()(value=enact.Int(1))

    def test_input_of_the_wrong_type(self) -> None:
        with pytest.raises(invocations.InvokableTypeError) as info:
            IntToStr()(enact.Str("1"))
        assert isinstance(info.value, TypeError)

    def test_input_is_checked_when_journaled_too(self, memory: enact.Store) -> None:
        @enact.typed_invokable(enact.NoneResource, enact.Str)
        @dataclasses.dataclass
        class Misuse(enact.Invokable):
            def call(self) -> enact.Str:
                return IntToStr()(enact.Float(1.5))

        with pytest.raises(invocations.InvokableTypeError):
            Misuse().invoke()

    def test_an_untyped_invokable_takes_any_resource(self) -> None:
        value = enact.Str("x")
        assert Untyped()(value) is value


class TestPlainCalls:
    def test_output_is_returned_as_is(self) -> None:
        @enact.typed_invokable(enact.Int, enact.Int)
        @dataclasses.dataclass
        class Liar(enact.Invokable):
            def call(self, value: enact.Int) -> Any:
                return "not an Int"

        @enact.typed_invokable(enact.Int, enact.Int)
        @dataclasses.dataclass
        class Silent(enact.Invokable):
            def call(self, value: enact.Int) -> None:
                return None

        assert Liar()(enact.Int(1)) == "not an Int"
        assert Silent()(enact.Int(1)) is None

    def test_plain_calls_need_no_store(self) -> None:
        assert Loop()() == 10
        assert Loop(start=1)() == 11

    def test_a_zero_parameter_call_gets_an_explicit_none_resource_too(self) -> None:
        assert RollDie(1)(enact.NoneResource()) == 1

    def test_a_one_parameter_call_receives_the_none_resource(self) -> None:
        assert isinstance(Untyped()(enact.NoneResource()), enact.NoneResource)

    def test_zero_parameter_untyped_call(self) -> None:
        @dataclasses.dataclass
        class NoArgs(enact.Invokable):
            def call(self) -> enact.Str:
                return enact.Str("called")

        assert NoArgs()(enact.NoneResource()) == "called"

    def test_calling_the_base_class_without_call_fails(self) -> None:
        @dataclasses.dataclass
        class Empty(enact.Invokable):
            pass

        with pytest.raises(NotImplementedError):
            Empty()(enact.NoneResource())


class TestTypedInvokable:
    def test_default_types_are_none(self) -> None:
        assert enact.Invokable.get_input_type() is None
        assert enact.InvokableBase.get_output_type() is None
        assert Untyped.get_input_type() is None
        assert Untyped.get_output_type() is None

    @pytest.mark.parametrize("order", ["above_dataclass", "below_dataclass"])
    def test_either_order_of_decorators(self, order: str) -> None:
        decorate = enact.typed_invokable(enact.Int, enact.Str)
        if order == "above_dataclass":

            @decorate
            @dataclasses.dataclass
            class Fun(enact.Invokable):
                salt: str = "!"

                def call(self, value: enact.Int) -> enact.Str:
                    return enact.Str(f"{value}{self.salt}")

        else:

            @dataclasses.dataclass
            @decorate
            class Fun(enact.Invokable):  # type: ignore[no-redef]
                salt: str = "!"

                def call(self, value: enact.Int) -> enact.Str:
                    return enact.Str(f"{value}{self.salt}")

        assert Fun.get_input_type() is enact.Int
        assert Fun.get_output_type() is enact.Str
        assert list(Fun.field_names()) == ["salt"]
        assert list(Fun("?").field_items()) == [("salt", "?")]
        assert Fun()(2) == "2!"
        assert enact.Registry.get().lookup(Fun.type_id()) is Fun
        with enact.InMemoryStore():
            fun = Fun("?")
            ref = enact.commit(fun)
            inv = fun.invoke(enact.commit(enact.Int(3)))
            assert inv.get_output() == "3?"
            assert inv.request().invokable == ref

    def test_type_attributes_are_not_fields(self) -> None:
        for cls in (IntToStr, AddOne, Loop, RollDie):
            names = list(cls.field_names())
            assert "_input_type" not in names
            assert "_output_type" not in names
        assert dict(IntToStr("s").field_items()) == {"salt": "s"}

    def test_returns_the_class_and_registers(self) -> None:
        @dataclasses.dataclass
        class Fun(enact.Invokable):
            def call(self, value: Any) -> Any:
                return value

        assert enact.typed_invokable(enact.Int, enact.Int)(Fun) is Fun
        assert enact.Registry.get().lookup(Fun.type_id()) is Fun

    def test_register_false_does_not_register(self) -> None:
        @dataclasses.dataclass
        class Unlisted(enact.Invokable):
            def call(self, value: Any) -> Any:
                return value

        enact.typed_invokable(enact.Int, enact.Int, register=False)(Unlisted)
        assert Unlisted.get_input_type() is enact.Int
        assert Unlisted.type_id() not in enact.Registry.get()

    @pytest.mark.parametrize(
        "target",
        [int, enact.Resource, enact.Int, dataclasses.dataclass(type("Plain", (), {}))],
    )
    def test_non_invokables_are_rejected(self, target: type) -> None:
        with pytest.raises(TypeError):
            enact.typed_invokable(enact.Int, enact.Int)(target)

    def test_a_function_is_rejected(self) -> None:
        with pytest.raises(TypeError):
            enact.typed_invokable(enact.Int, enact.Int)(lambda x: x)  # type: ignore[type-var]

    def test_subscripted_invokable_is_a_field_annotation(self) -> None:
        @dataclasses.dataclass
        class Holder(enact.Resource):
            fun: enact.Invokable[enact.Int, enact.Str]

        holder = Holder(IntToStr("x"))
        assert holder.fun(1) == "1x"
        alias = enact.Invokable[enact.Int, enact.Str]
        assert typing.get_origin(alias) is enact.Invokable
        assert typing.get_args(alias) == (enact.Int, enact.Str)


class TestHashableInstances:
    """Invokable instances can be dataclass defaults on Python 3.11+."""

    def test_an_invokable_instance_as_a_dataclass_default(self) -> None:
        @enact.typed_invokable(enact.NoneResource, enact.Int)
        @dataclasses.dataclass
        class Wrapper(enact.Invokable):
            fun: enact.InvokableBase = AddOne()  # noqa: RUF009 - allowed on 3.11+

            def call(self) -> enact.Int:
                return self.fun(enact.Int(41))

        assert Wrapper()() == 42
        assert isinstance(hash(AddOne()), int)
        assert isinstance(hash(Loop()), int)

    def test_loop_default_is_an_invokable(self) -> None:
        assert isinstance(Loop().fun, AddOne)
