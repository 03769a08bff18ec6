"""Dataclass resources (docs/compatibility.md#resources)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import enact
from enact import digests
from enact.interfaces import FieldTypeError


@dataclasses.dataclass
class Base(enact.Resource):
    a: Any = None
    b: Any = None


@dataclasses.dataclass
class Derived(Base):
    c: Any = None


@dataclasses.dataclass
class Holder(enact.Resource):
    inner: Any = None
    items: Any = dataclasses.field(default_factory=list)


class Undecorated(enact.Resource):
    pass


def _make(*field_names: str, name: str = "Shape") -> type[enact.Resource]:
    """A fresh dataclass resource class with the given qualname and fields."""
    cls = dataclasses.make_dataclass(
        name, [(f, Any, None) for f in field_names], bases=(enact.Resource,)
    )
    cls.__module__ = __name__
    return cls


# -- fields --------------------------------------------------------------------


def test_field_names_values_and_items_keep_declaration_order():
    resource = Derived(c=3, b=2, a=1)
    assert list(Derived.field_names()) == ["a", "b", "c"]
    assert list(resource.field_values()) == [1, 2, 3]
    assert list(resource.field_items()) == [("a", 1), ("b", 2), ("c", 3)]


def test_from_fields_calls_the_constructor():
    assert Derived.from_fields({"c": 3, "a": 1}) == Derived(a=1, c=3)
    with pytest.raises(TypeError):
        Derived.from_fields({"nope": 1})


def test_undecorated_subclass_is_a_field_less_resource():
    resource = Undecorated()
    assert list(Undecorated.field_names()) == []
    assert list(resource.field_values()) == []
    assert resource == Undecorated()
    assert repr(resource) == "Undecorated()"
    assert Undecorated.type_id() != enact.Resource.type_id()


def test_equality_and_repr_come_from_dataclasses():
    assert Base(1, [2]) == Base(1, [2])
    assert Base(1, 2) != Base(1, 3)
    assert Base(1, 2) != Derived(1, 2)
    assert repr(Base(1, "x")) == "Base(a=1, b='x')"


# -- type descriptor and type id -----------------------------------------------


def test_type_descr_holds_name_and_type_digest():
    descr = Base.type_descr()
    assert descr == {"name": f"{__name__}.Base", "digest": digests.type_digest(Base)}
    assert Base.type_id() == json.dumps(descr, sort_keys=True)
    assert json.loads(Base.type_id()) == descr


def test_same_qualname_and_fields_give_the_same_type_id():
    first, second = _make("x", "y"), _make("x", "y")
    assert first is not second
    assert first.type_id() == second.type_id()


def test_field_order_does_not_change_the_type_id():
    assert _make("x", "y").type_id() == _make("y", "x").type_id()


def test_field_names_change_the_type_id():
    assert _make("x", "y").type_id() != _make("x", "z").type_id()
    assert _make("x").type_id() != _make("x", "y").type_id()


def test_qualname_changes_the_type_id():
    assert _make("x").type_id() != _make("x", name="Other").type_id()


def test_inherited_fields_are_part_of_the_type_id():
    assert Derived.type_id() != Base.type_id()
    assert "c" in Derived.field_names()


# -- digests -------------------------------------------------------------------


def test_equal_content_gives_equal_digests():
    ref = enact.Ref("ab" * 32)
    make = lambda: Holder(  # noqa: E731
        Base([1, None, True], {"k": {"n": None}}), [ref, Base, b"x", 1.5, "s"]
    )
    assert digests.digest(make()) == digests.digest(make())


@pytest.mark.parametrize(
    "other",
    [
        Holder(Base(1, 3)),
        Holder(Base(1.0, 2)),
        Holder(Base(True, 2)),
        Holder(Base(1, 2), [None]),
        Holder(Derived(1, 2)),
        Holder(Base(enact.Int(1), 2)),
    ],
)
def test_digest_changes_with_type_and_values(other):
    assert digests.digest(Holder(Base(1, 2))) != digests.digest(other)


def test_wrapped_int_differs_from_plain_int():
    assert digests.digest(Base(a=enact.Int(1))) != digests.digest(Base(a=1))


def test_unsupported_field_value_raises_field_type_error_on_pack():
    class Plain:
        pass

    with pytest.raises(FieldTypeError) as info:
        enact.Ref.pack(Holder(items=[1, Plain()]))
    assert info.value.path == ["items", "1"]
    with pytest.raises(FieldTypeError):
        enact.InMemoryStore().commit(Holder(inner={"s": object()}))


# -- set_from ------------------------------------------------------------------


def test_set_from_copies_deeply():
    target = Holder(Base(0), [0])
    source = Holder(Base([1, 2], {"k": [3]}), [Base(4)])
    target.set_from(source)
    assert target == source
    assert target.inner is not source.inner
    assert target.inner.a is not source.inner.a
    assert target.items[0] is not source.items[0]
    source.inner.a.append(99)
    source.inner.b["k"].append(99)
    source.items[0].a = 99
    assert target == Holder(Base([1, 2], {"k": [3]}), [Base(4)])


def test_set_from_keeps_the_target_object():
    target = Base(1, 2)
    before = id(target)
    target.set_from(Base(3, 4))
    assert id(target) == before
    assert target == Base(3, 4)


@pytest.mark.parametrize("other", [Derived(1, 2, 3), Holder(), None, {"a": 1, "b": 2}])
def test_set_from_requires_exactly_the_same_type(other):
    target = Base(1, 2)
    with pytest.raises(TypeError):
        target.set_from(other)
    assert target == Base(1, 2)


def test_set_from_a_subclass_instance_into_a_base_fails_too():
    with pytest.raises(TypeError):
        Derived().set_from(Base())


def test_set_from_copies_refs_without_their_cache():
    leaf = Base(1)
    target, source = Holder(), Holder(enact.Ref.from_resource(leaf))
    target.set_from(source)
    assert target.inner == source.inner
    assert target.inner is not source.inner
    with pytest.raises(enact.contexts.NoActiveContext):
        target.inner.checkout()
