"""ResourceBase, ResourceDict and NoneResource (docs/compatibility.md#resources)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

import enact
from enact import interfaces
from enact.interfaces import (
    PRIMITIVES,
    FieldTypeError,
    NoneResource,
    ResourceBase,
    ResourceDict,
    ResourceError,
)


class Bare(ResourceBase):
    """A resource type that implements nothing."""


class Manual(ResourceBase):
    """A hand-written (non-dataclass) resource with two fields."""

    def __init__(self, first: Any, second: Any = None) -> None:
        self.first = first
        self.second = second

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return ("first", "second")

    def field_values(self) -> Iterable[Any]:
        return (self.first, self.second)

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, Any]) -> Manual:
        return cls(**field_dict)


class ManualChild(Manual):
    pass


@dataclasses.dataclass
class Leaf(enact.Resource):
    value: Any = None


@dataclasses.dataclass
class Tree(enact.Resource):
    name: Any = ""
    items: Any = dataclasses.field(default_factory=list)
    extra: Any = dataclasses.field(default_factory=dict)


# -- module constants and plain base -------------------------------------------


def test_primitives():
    assert PRIMITIVES == (int, float, str, bytes, bool, type(None))


def test_resource_base_is_plain():
    assert type(ResourceBase) is type
    assert not hasattr(ResourceBase, "__slots__")
    ResourceBase()  # no __init__ requirements


def test_resource_base_can_be_mixed_with_builtins_and_exception():
    class IntResource(int, ResourceBase):
        pass

    class BoomError(Exception, ResourceBase):
        pass

    assert IntResource(3) + 1 == 4
    with pytest.raises(BoomError):
        raise BoomError("boom")


def test_abstract_methods_raise_not_implemented():
    with pytest.raises(NotImplementedError):
        Bare.field_names()
    with pytest.raises(NotImplementedError):
        Bare().field_values()
    with pytest.raises(NotImplementedError):
        Bare.from_fields({})
    with pytest.raises(NotImplementedError):
        list(Bare().field_items())
    with pytest.raises(NotImplementedError):
        Bare().set_from(Bare())


def test_default_type_descr_and_type_id():
    assert Bare.type_descr() == {"name": f"{__name__}.Bare"}
    assert Bare.type_id() == json.dumps({"name": f"{__name__}.Bare"})
    assert enact.Ref.type_id() == '{"name": "enact.references.Ref"}'


def test_type_id_is_per_class():
    assert Manual.type_id() != ManualChild.type_id()
    assert ManualChild.type_id() == json.dumps({"name": f"{__name__}.ManualChild"})


def test_type_id_is_memoized_before_dataclass_processing():
    seen = []

    def capture(cls):
        seen.append(cls.type_id())  # like a registering decorator
        return cls

    @capture
    @dataclasses.dataclass
    class Early(enact.Resource):
        a: int = 0

    @dataclasses.dataclass
    @capture
    class Late(enact.Resource):
        a: int = 0

    assert Early.type_id() == seen[0]
    # Asked before @dataclass saw the field: the id without it is kept.
    assert Late.type_id() == seen[1]
    assert list(Late.field_names()) == ["a"]


def test_type_id_memoization_returns_the_first_value():
    class Changing(Manual):
        names = ["one"]

        @classmethod
        def type_descr(cls):
            return {"name": cls.names[-1]}

    first = Changing.type_id()
    Changing.names.append("two")
    assert Changing.type_id() == first == '{"name": "one"}'


# -- field access --------------------------------------------------------------


def test_hand_written_resources_compare_by_identity():
    resource = Manual(1)
    assert resource == resource
    assert Manual(1) != Manual(1)


def test_field_items_pairs_names_and_values_in_order():
    resource = Manual(1, "b")
    assert list(resource.field_items()) == [("first", 1), ("second", "b")]


# -- to_resource_dict ----------------------------------------------------------


def test_to_resource_dict_converts_recursively():
    ref = enact.Ref("ab" * 32)
    resource = Tree(
        name="t",
        items=[Leaf(1), (2, b"x"), Leaf, None, True, 1.5],
        extra={"ref": ref, "nested": {"leaf": Leaf([])}},
    )
    result = resource.to_resource_dict()
    assert isinstance(result, ResourceDict)
    assert isinstance(result, dict)
    assert result.type is Tree
    assert result == {
        "name": "t",
        "items": [{"value": 1}, [2, b"x"], Leaf, None, True, 1.5],
        "extra": {"ref": {"digest": "ab" * 32}, "nested": {"leaf": {"value": []}}},
    }
    assert result["items"][0].type is Leaf
    assert type(result["items"][1]) is list
    assert result["items"][2] is Leaf
    assert result["extra"]["ref"].type is enact.Ref
    assert result["extra"]["nested"]["leaf"].type is Leaf
    assert type(result["extra"]["nested"]) is dict


def test_to_resource_dict_shares_no_containers():
    items = [[1], {"a": [2]}]
    resource = Tree(items=items, extra={"k": items[0]})
    result = resource.to_resource_dict()
    result["items"][0].append(99)
    result["items"][1]["a"].append(99)
    result["extra"]["k"].append(99)
    assert resource == Tree(items=[[1], {"a": [2]}], extra={"k": [1]})


def test_to_resource_dict_of_hand_written_resource():
    result = Manual(Leaf(2), {"x": (1,)}).to_resource_dict()
    assert result.type is Manual
    assert result == {"first": {"value": 2}, "second": {"x": [1]}}


class Plain:
    pass


@pytest.mark.parametrize(
    ("value", "path"),
    [
        # Sets, builtin classes and dataclasses have wrappers.
        (object(), ["items"]),
        (Plain(), ["items"]),
        (Plain, ["items"]),
        ({1: "x"}, ["items"]),
        ([0, [1, Plain()]], ["items", "1", "1"]),
        ({"a": {"b": Plain()}}, ["items", "a", "b"]),
        (Leaf({"k": Plain()}), ["items", "value", "k"]),
    ],
)
def test_unsupported_values_raise_field_type_error_naming_the_field(value, path):
    with pytest.raises(FieldTypeError) as info:
        Tree(items=value).to_resource_dict()
    assert info.value.path == path
    assert str(info.value).startswith(f"field '{path[0]}")


@pytest.mark.parametrize("kind", ["list", "dict", "resource"])
def test_cycles_raise_field_type_error_not_recursion_error(kind):
    limit = sys.getrecursionlimit()
    tree = Tree()
    if kind == "list":
        tree.items.append(tree.items)
    elif kind == "dict":
        tree.extra["self"] = tree.extra
    else:
        tree.items.append(Leaf(tree))
    with pytest.raises(FieldTypeError) as info:
        tree.to_resource_dict()
    assert "cycle" in str(info.value)
    assert info.value.path
    assert sys.getrecursionlimit() == limit


def test_field_type_error_is_not_a_type_error():
    # Callers catch FieldTypeError; a bare TypeError would mean a missing check.
    assert not issubclass(FieldTypeError, TypeError)
    with pytest.raises(FieldTypeError):
        enact.InMemoryStore().commit(Tree(items=Plain()))


# -- from_resource_dict --------------------------------------------------------


def test_from_resource_dict_rebuilds_nested_resources():
    original = Tree("t", [Leaf(1), (Leaf(2),)], {"a": Leaf(Leaf)})
    rebuilt = Tree.from_resource_dict(original.to_resource_dict())
    assert rebuilt == Tree("t", [Leaf(1), [Leaf(2)]], {"a": Leaf(Leaf)})
    assert rebuilt.items[0] is not original.items[0]


def test_from_resource_dict_uses_the_nested_dicts_own_type():
    data = ResourceDict(
        Manual, {"first": ResourceDict(Leaf, {"value": 1}), "second": None}
    )
    assert Manual.from_resource_dict(data).first == Leaf(1)


def test_from_resource_dict_rejects_other_types():
    with pytest.raises(ResourceError):
        Leaf.from_resource_dict(ResourceDict(Tree, {}))
    with pytest.raises(ResourceError):
        ManualChild.from_resource_dict(ResourceDict(Manual, {"first": 1, "second": 2}))


def test_from_resource_dict_builds_the_called_class_for_a_subclass_dict():
    # compatibility.md, difference 11: the called class's from_fields is used.
    data = ManualChild(1, 2).to_resource_dict()
    assert data.type is ManualChild
    rebuilt = Manual.from_resource_dict(data)
    assert type(rebuilt) is Manual
    assert (rebuilt.first, rebuilt.second) == (1, 2)


def test_from_resource_dict_rejects_non_str_keys():
    with pytest.raises(FieldTypeError):
        Leaf.from_resource_dict(ResourceDict(Leaf, {"value": {1: 2}}))


# -- deep copy -----------------------------------------------------------------


def test_deep_copy_resource_is_independent():
    ref = enact.Ref.from_resource(Leaf(0))
    original = Tree(
        "t", [Leaf([1, 2]), {"k": [3]}], {"ref": ref, "leaf": Leaf({"a": 1})}
    )
    copy = original.deep_copy_resource()
    assert copy == original
    assert enact.Ref.from_resource(copy) == enact.Ref.from_resource(original)
    assert copy is not original
    assert copy.items is not original.items
    assert copy.items[0] is not original.items[0]
    assert copy.items[0].value is not original.items[0].value
    assert copy.items[1] is not original.items[1]
    assert copy.extra["leaf"].value is not original.extra["leaf"].value
    copy.items[0].value.append(3)
    copy.extra["leaf"].value["b"] = 2
    assert original.items[0].value == [1, 2]
    assert original.extra["leaf"].value == {"a": 1}


def test_deep_copy_copies_refs_without_cache():
    ref = enact.Ref.from_resource(Leaf(0))
    copy = Tree(extra={"ref": ref}).deep_copy_resource()
    copied_ref = copy.extra["ref"]
    assert copied_ref is not ref
    assert copied_ref.digest == ref.digest
    assert copied_ref == ref
    with pytest.raises(enact.contexts.NoActiveContext):
        copied_ref.checkout()


def test_deep_copy_of_hand_written_resource():
    original = Manual([1], {"a": Leaf(2)})
    copy = original.deep_copy_resource()
    assert type(copy) is Manual
    assert copy.first == [1] and copy.first is not original.first
    assert copy.second["a"] == Leaf(2) and copy.second["a"] is not original.second["a"]


# -- hashing (docs/compatibility.md#easy-to-miss-behaviour) --------------------


def test_dataclass_resource_instance_can_be_a_dataclass_default():
    @dataclasses.dataclass
    class AddOne(enact.Resource):
        amount: int = 1

        def call(self, value: int) -> int:
            return value + self.amount

    @dataclasses.dataclass
    class Pipeline(enact.Resource):
        fun: enact.Resource = AddOne()  # noqa: RUF009 - the point of the test
        label: str = "p"

    pipeline = Pipeline()
    assert pipeline.fun == AddOne()
    assert pipeline.fun.call(2) == 3
    assert isinstance(hash(AddOne()), int)
    assert AddOne.__hash__ is not None
    assert "__hash__" in AddOne.__dict__


def test_classes_with_their_own_hash_keep_it():
    class Hashed(Manual):
        def __hash__(self) -> int:
            return 7

    assert hash(Hashed(1)) == 7
    assert hash(enact.Int(5)) == hash(5)
    assert hash(enact.Str("a")) == hash("a")


# -- ResourceDict --------------------------------------------------------------


def test_resource_dict_is_a_dict_with_a_type():
    data = ResourceDict(Leaf, {"value": 1})
    assert isinstance(data, dict)
    assert data.type is Leaf
    assert json.dumps(data) == '{"value": 1}'
    assert ResourceDict(Leaf, value=2) == {"value": 2}


def test_resource_dict_equality_ignores_the_type():
    assert ResourceDict(Leaf, {"value": 1}) == ResourceDict(Manual, {"value": 1})
    assert ResourceDict(Leaf, {"value": 1}) == {"value": 1}
    assert ResourceDict(Leaf, {"value": 1}) != ResourceDict(Leaf, {"value": 2})


def test_resource_dict_to_resource():
    resource = ResourceDict(Tree, {"name": "n", "items": [], "extra": {}}).to_resource()
    assert resource == Tree("n")


# -- NoneResource --------------------------------------------------------------


def test_none_resource_has_no_fields():
    none = NoneResource()
    assert list(NoneResource.field_names()) == []
    assert list(none.field_values()) == []
    assert none.to_resource_dict() == {}
    assert none.to_resource_dict().type is NoneResource
    assert isinstance(NoneResource.from_fields({}), NoneResource)
    assert isinstance(none.deep_copy_resource(), NoneResource)


def test_none_resource_from_fields_requires_an_empty_mapping():
    with pytest.raises(ResourceError):
        NoneResource.from_fields({"x": 1})


def test_none_resource_set_from_is_not_implemented():
    with pytest.raises(NotImplementedError):
        NoneResource().set_from(NoneResource())


def test_none_resources_are_equal():
    # compatibility.md, difference 10: value equality is allowed.
    assert NoneResource() == NoneResource()
    assert hash(NoneResource()) == hash(NoneResource())
    assert NoneResource() != Bare()


def test_none_resource_is_exported():
    assert enact.NoneResource is NoneResource
    assert enact.ResourceBase is interfaces.ResourceBase
    assert enact.FieldTypeError is FieldTypeError
