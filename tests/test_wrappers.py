"""Plain Python values: type wrappers, plain commits, both styles.

0.4.0.dev1 values keep their encoding (test_digests pins it); these tests
cover what wrappers add: committing plain values, plain values the 0.4.0.dev1
encoding rejects inside resources (sets, classes, dataclasses), and the wrapper API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import fractions
import math
import os
import pathlib
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import _codec, wrappers
from enact.digests import digest, resource_digest
from enact.interfaces import FieldTypeError, MissingWrapperError
from enact.references import StorageBackend, Store
from enact.resource_registry import Registry, RegistryError
from enact.serialization import JsonSerializer
from enact.wrappers import (
    DictWrapper,
    FrozenSetWrapper,
    IntWrapper,
    ListWrapper,
    NoneWrapper,
    NotRegistrable,
    ResourceTypeWrapper,
    SetWrapper,
    TupleWrapper,
)

# -- types used by the tests ---------------------------------------------------


@enact.register(name="tests.wrappers.Point")
@dataclasses.dataclass
class Point:
    """A plain (non-resource) dataclass."""

    x: Any
    y: Any = None


@enact.register(name="tests.wrappers.Frozen")
@dataclasses.dataclass(frozen=True)
class Frozen:
    """A hashable plain dataclass, usable in sets."""

    a: Any
    b: Any = None


@enact.register(name="tests.wrappers.Holder")
@dataclasses.dataclass
class Holder(enact.Resource):
    """A resource whose fields hold anything."""

    first: Any = None
    second: Any = None


class Color(enum.IntEnum):
    RED = 1


class Plain:
    """A class with no wrapper."""


def strict_equal(a: Any, b: Any) -> bool:
    """Type-strict equality of plain values.

    Types must match exactly (a tuple is not a list, a set not a frozenset,
    ``True`` not ``1``); nan equals nan; ``0.0`` and ``-0.0`` differ;
    dataclasses and resources compare field by field; classes by identity.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, type):
        return a is b
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(map(strict_equal, a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if type(a) in (set, frozenset):
        return len(a) == len(b) and all(any(strict_equal(x, y) for y in b) for x in a)
    if type(a) is float:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if dataclasses.is_dataclass(a):
        return all(
            strict_equal(getattr(a, f.name), getattr(b, f.name))
            for f in dataclasses.fields(a)
        )
    if isinstance(a, enact.ResourceBase):
        items_a, items_b = list(a.field_items()), list(b.field_items())
        return [n for n, _ in items_a] == [n for n, _ in items_b] and all(
            strict_equal(x, y) for (_, x), (_, y) in zip(items_a, items_b, strict=True)
        )
    return bool(a == b)


def stored(value: Any, *, top: bool = True) -> Any:
    """What committing ``value`` and reading it back returns.

    A tuple stays a tuple at the top level, directly in a dataclass field, in
    a set and directly in such a tuple; inside lists, dicts and resource
    fields it becomes a list (as in 0.4.0.dev1). Everything else keeps its type.
    """
    kind = type(value)
    if kind is tuple:
        if top:
            return tuple(stored(item, top=True) for item in value)
        return [stored(item, top=False) for item in value]
    if kind is list:
        return [stored(item, top=False) for item in value]
    if kind is dict:
        return {k: stored(v, top=False) for k, v in value.items()}
    if kind in (set, frozenset):
        return kind(stored(item, top=True) for item in value)
    if kind in (Point, Frozen):
        fields = {
            f.name: stored(getattr(value, f.name), top=True)
            for f in dataclasses.fields(value)
        }
        return kind(**fields)
    if kind is Holder:
        return Holder(stored(value.first, top=False), stored(value.second, top=False))
    return value


def round_trip(store: Store, value: Any) -> Any:
    """Commits ``value`` and reads it back through a ref without a cache."""
    ref = store.commit(value)
    return store.checkout(enact.Ref(ref.digest))


# -- round trips on every store ------------------------------------------------

PLAIN_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.5,
    -0.0,
    math.inf,
    "",
    "text",
    "#res",
    b"",
    b"\x00\nbytes",
    [],
    [1, "a", None, b"x", [2.5]],
    {},
    {"a": [1, {"b": 2}], "#tag": None},
    (),
    (1, "a"),
    (1, (2, 3), [(4,)]),
    set(),
    {1, 2, "a", b"b", None, 1.5},
    {(1, (2, 3)), frozenset({"x"})},
    frozenset(),
    frozenset({1, (2, "x")}),
    [{1, 2}, frozenset({3})],
    {"set": {1}, "type": int},
    int,
    str,
    type(None),
    set,
    object,
    Point,
    Frozen,
    enact.Int,
    Holder,
    Point(1, [2, (3, 4)]),
    Point((1, 2), Point({3}, int)),
    Frozen(1, (2, 3)),
    {Frozen(1, (2, 3)), Frozen("a")},
    [Point(1), Point(2)],
    Color.RED,
]


@pytest.mark.parametrize("value", PLAIN_VALUES, ids=repr)
def test_plain_values_round_trip(store: Store, value: Any) -> None:
    ref = store.commit(value)
    expected = int(value) if isinstance(value, enum.Enum) else stored(value)
    assert ref.is_cached()
    assert ref.checkout() is value
    assert strict_equal(store.checkout(enact.Ref(ref.digest)), expected)
    assert store.has(enact.Ref(ref.digest))


@pytest.mark.parametrize("value", PLAIN_VALUES, ids=repr)
def test_plain_values_read_back_by_a_new_store_object(
    reopen_store: Callable[[], Store], value: Any
) -> None:
    ref = reopen_store().commit(value)
    expected = int(value) if isinstance(value, enum.Enum) else stored(value)
    with reopen_store():
        assert strict_equal(enact.Ref(ref.digest).checkout(), expected)
        assert strict_equal(enact.checkout(enact.Ref(ref.digest)), expected)


def test_a_committed_resource_comes_back_as_the_resource(store: Store) -> None:
    resource = Holder({1, 2}, Point(1))
    assert strict_equal(round_trip(store, resource), resource)
    assert type(round_trip(store, enact.Int(3))) is enact.Int
    assert type(round_trip(store, enact.NoneResource())) is enact.NoneResource


def test_plain_values_in_resource_fields_round_trip(store: Store) -> None:
    value = Holder(
        first={"set": {1, 2}, "frozen": frozenset({(1, 2)}), "type": int},
        second=[Point((1, 2), {3}), Color.RED, (4, 5), Plain.__name__],
    )
    back = round_trip(store, value)
    assert strict_equal(
        back,
        Holder(
            first={"set": {1, 2}, "frozen": frozenset({(1, 2)}), "type": int},
            second=[Point((1, 2), {3}), 1, [4, 5], "Plain"],
        ),
    )


# -- Hypothesis: nested plain values -------------------------------------------

_hashable_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.binary(max_size=4),
)
_hashables = st.recursive(
    _hashable_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(tuple),
        st.frozensets(children, max_size=3),
        st.builds(Frozen, children, children),
    ),
    max_leaves=6,
)
_leaves = st.one_of(
    _hashable_leaves,
    st.floats(),
    st.sampled_from([int, str, set, Point, enact.Int, Holder, type(None)]),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=3), children, max_size=3),
        st.sets(_hashables, max_size=3),
        st.frozensets(_hashables, max_size=3),
        st.builds(Point, children, children),
        st.builds(Holder, children, children),
    )


plain_values = st.recursive(_leaves, _containers, max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(plain_values)
def test_nested_plain_values_round_trip_exactly(value: Any) -> None:
    data = b"".join(_codec.encode(value))
    assert strict_equal(_codec.decode(data), stored(value))


@settings(max_examples=200, deadline=None)
@given(plain_values)
def test_nested_plain_values_round_trip_through_a_store(value: Any) -> None:
    store = enact.InMemoryStore()
    ref = store.commit(value)
    back = store.checkout(enact.Ref(ref.digest))
    assert strict_equal(back, stored(value))
    # What is read back is stored under the same digest.
    assert resource_digest(back) == ref.digest
    assert strict_equal(enact.deepcopy(value), stored(value))


@settings(max_examples=300, deadline=None)
@given(st.lists(_hashables, max_size=6), st.randoms(use_true_random=False))
def test_set_digests_do_not_depend_on_insertion_order(items: Any, rng: Any) -> None:
    # Shuffle the members themselves: 0 and False (say) are one member of a
    # set, but which of them it holds matters.
    members = list(set(items))
    shuffled = list(members)
    rng.shuffle(shuffled)
    assert resource_digest(set(members)) == resource_digest(set(shuffled))
    assert resource_digest(frozenset(members)) == resource_digest(frozenset(shuffled))
    assert resource_digest(Holder(set(members))) == resource_digest(
        Holder(set(shuffled))
    )


@settings(max_examples=300, deadline=None)
@given(plain_values, plain_values)
def test_digests_are_equal_exactly_when_stored_values_are(a: Any, b: Any) -> None:
    same = strict_equal(stored(a), stored(b))
    if same:
        assert resource_digest(a) == resource_digest(b)
    elif not _has_float_zero_or_nan(a) and not _has_float_zero_or_nan(b):
        # Sets may merge 0.0 and -0.0; otherwise distinct values never collide.
        assert resource_digest(a) != resource_digest(b)


def _has_float_zero_or_nan(value: Any) -> bool:
    text = repr(value)
    return "0.0" in text or "nan" in text


# -- digests -------------------------------------------------------------------

# Pinned: a plain value's digest is its wrapper's, and must never change.
GOLDEN = {
    "None": (
        None,
        "73b96ddfd184855d7446d8825016892d82eabaa619f708f43372a6196deb0dbd",
    ),
    "1": (
        1,
        "70bf2d6d3bcf554231479304b422b1367265a4e6f927cbda267f18ae849108b5",
    ),
    "True": (
        True,
        "b098fd09cd82f111bf4b4b3ab0382e1f6cf74dcf4a4e6a1ec3dcb333d21f25f8",
    ),
    "str": (
        "a",
        "6d5a434485c07d8e42987f5e6b38428b8e693527491db1dfbc6205c87536106d",
    ),
    "bytes": (
        b"a",
        "28daa7daebb4f70c51a8916203f0df879c99c2165428aa7087e184618e60d8fb",
    ),
    "float": (
        1.5,
        "bdcdb163dc8bb4c8f8cd310253367163238e473a8fbe1e3278e302a6a39b6aa8",
    ),
    "list": (
        [1, "a"],
        "662cff11fff4b43706ec3d0da1db37e9a93925de3ab98e90549cc43de737d28c",
    ),
    "dict": (
        {"a": 1},
        "c0fbe0a9cd5e18ecd582ef88aa67f966fd84e273c18122b35d770ceec4ba6d2c",
    ),
    "tuple": (
        (1, "a"),
        "30427d190782befbf06e2db81c21bef0062943ae75264591dedf8d61bb1ee718",
    ),
    "set": (
        {"b", "a", 1},
        "5caa03479b5fd735b84b2d505da555ba9cd1cea89c35f65d45049bdcf3f7264a",
    ),
    "frozenset": (
        frozenset({(1, 2)}),
        "ba9a35cf658d6857ae0244e3d0687638d71e418142be8d305a03865e5771337d",
    ),
    "type": (
        int,
        "3dc43b6bbd859ec6e89be71f8e047978c5042db068ba5b080ef0c0148525a1c4",
    ),
    "dataclass": (
        Point(1, {2}),
        "b5538392e3193d03ab9a76ade4c96b5e7fdfb044c3b408284465b24b9eb86509",
    ),
    "resource with a set": (
        Holder({1, 2}),
        "d0749f781e1c3d0ec245f762995529b3ae9d4aa6ddef87566a30e731f5f6f4e5",
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_digests_of_plain_values(name: str) -> None:
    value, expected = GOLDEN[name]
    assert resource_digest(value) == expected


def test_a_plain_value_has_its_wrappers_digest() -> None:
    for value in [1, None, [1, 2], {"a": 1}, (1, 2), {1, 2}, int, Point(1)]:
        assert resource_digest(value) == digest(enact.wrap(value))
        assert enact.InMemoryStore().commit(value).digest == resource_digest(value)
    resource = Holder(1)
    assert resource_digest(resource) == digest(resource)


def test_plain_values_and_their_resource_versions_differ() -> None:
    assert resource_digest(1) != resource_digest(enact.Int(1))
    assert resource_digest(None) != resource_digest(enact.NoneResource())
    assert resource_digest(1) != resource_digest(True)
    assert resource_digest(1) != resource_digest(1.0)
    assert resource_digest((1, 2)) != resource_digest([1, 2])
    assert resource_digest({1, 2}) != resource_digest(frozenset({1, 2}))
    assert resource_digest({1, 2}) != resource_digest([1, 2])


def test_part_a_fields_keep_their_encoding() -> None:
    # A tuple or an IntEnum in a resource field is stored as 0.4.0.dev1 stored it.
    assert digest(Holder((1, 2))) == digest(Holder([1, 2]))
    assert digest(Holder(Color.RED)) == digest(Holder(1))


_SET_SCRIPT = """
import enact
print(enact.resource_digest({"alpha", "beta", "gamma", "delta", b"x", (1, "y")}))
"""


def test_set_digests_are_stable_across_hash_seeds() -> None:
    results = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        output = subprocess.run(
            [sys.executable, "-c", _SET_SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            timeout=120,
        ).stdout
        results.add(output.strip())
    assert len(results) == 1


def test_set_elements_are_kept_in_canonical_order() -> None:
    wrapper = enact.wrap({"b", "a", "c"})
    assert isinstance(wrapper, SetWrapper)
    assert wrapper.value == sorted(wrapper.value, key=_codec._element_key)
    assert wrapper == enact.wrap({"c", "a", "b"})


# -- wrap, unwrap, deepcopy ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wrapper_type"),
    [
        (None, NoneWrapper),
        (1, IntWrapper),
        ([1], ListWrapper),
        ({"a": 1}, DictWrapper),
        ((1,), TupleWrapper),
        ({1}, SetWrapper),
        (frozenset(), FrozenSetWrapper),
        (int, ResourceTypeWrapper),
        (enact.Int, ResourceTypeWrapper),
        (Color.RED, IntWrapper),
    ],
)
def test_wrap_picks_the_registered_wrapper(value: Any, wrapper_type: type) -> None:
    wrapper = enact.wrap(value)
    assert type(wrapper) is wrapper_type
    assert isinstance(wrapper, enact.TypeWrapperBase)
    assert isinstance(wrapper, enact.ResourceBase)
    assert wrapper_type.wrapped_type() in type(value).__mro__


@pytest.mark.parametrize("value", PLAIN_VALUES, ids=repr)
def test_unwrap_inverts_wrap(value: Any) -> None:
    back = enact.unwrap(enact.wrap(value))
    if isinstance(value, enum.Enum):
        assert strict_equal(back, int(value))
    else:
        assert strict_equal(back, value)


def test_wrap_keeps_resources_and_unwrap_keeps_non_wrappers() -> None:
    resource = Holder(1)
    assert enact.wrap(resource) is resource
    assert enact.unwrap(resource) is resource
    assert enact.unwrap(5) == 5
    items = [1, 2]
    assert enact.unwrap(enact.wrap(items)) is items


def test_generated_dataclass_wrapper() -> None:
    point = Point(1, 2)
    wrapper = enact.wrap(point)
    assert isinstance(wrapper, wrappers.DataclassWrapper)
    assert wrapper.unwrap() is point
    assert list(wrapper.field_items()) == [("x", 1), ("y", 2)]
    assert wrapper.type_name() == "tests.wrappers.Point"
    assert wrappers.lookup_wrapper(Point) is type(wrapper)
    assert wrapper == enact.wrap(Point(1, 2))
    assert wrapper != enact.wrap(Point(1, 3))


def test_deepcopy_of_plain_values_is_independent() -> None:
    original = {"a": [1, {"b": [2]}], "s": {1, 2}, "p": Point([3])}
    copy = enact.deepcopy(original)
    assert copy == original
    assert copy is not original
    assert copy["a"] is not original["a"]
    assert copy["a"][1] is not original["a"][1]  # type: ignore[index]
    assert copy["p"] is not original["p"]
    assert copy["p"].x is not original["p"].x  # type: ignore[union-attr]
    assert strict_equal(enact.deepcopy((1, (2,), [(3,)])), (1, (2,), [[3]]))
    assert enact.deepcopy(None) is None


def test_deepcopy_of_resources() -> None:
    resource = Holder([1], {2})
    copy = enact.deepcopy(resource)
    assert copy == resource
    assert copy is not resource
    assert copy.first is not resource.first


def test_set_wrapped_value_updates_in_place() -> None:
    items = [1, 2]
    ListWrapper.set_wrapped_value(items, [3])
    assert items == [3]
    mapping = {"a": 1}
    DictWrapper.set_wrapped_value(mapping, {"b": 2})
    assert mapping == {"b": 2}
    members = {1}
    SetWrapper.set_wrapped_value(members, {2, 3})
    assert members == {2, 3}
    point = Point(1)
    wrappers.lookup_wrapper(Point).set_wrapped_value(point, Point(5, 6))  # type: ignore[union-attr]
    assert point == Point(5, 6)
    with pytest.raises(wrappers.ImplementationMissing):
        IntWrapper.set_wrapped_value(1, 2)
    with pytest.raises(NotImplementedError):
        TupleWrapper.set_wrapped_value((1,), (2,))


def test_immutability_flags() -> None:
    for wrapper_type in (NoneWrapper, IntWrapper, ResourceTypeWrapper):
        assert wrapper_type.is_immutable()
    for wrapper_type in (ListWrapper, DictWrapper, SetWrapper):
        assert not wrapper_type.is_immutable()


# -- errors --------------------------------------------------------------------


def test_values_without_a_wrapper_raise_missing_wrapper_error() -> None:
    with pytest.raises(MissingWrapperError) as info:
        enact.wrap(Plain())
    error = info.value
    assert isinstance(error, FieldTypeError)
    assert error.value_type is Plain
    assert "test_wrappers.Plain" in str(error)
    assert "@enact.register" in str(error)
    assert "TypeWrapper" in str(error)
    with pytest.raises(MissingWrapperError):
        enact.InMemoryStore().commit(Plain())
    with pytest.raises(MissingWrapperError):
        resource_digest(Plain())


def test_classes_without_a_wrapper_cannot_be_values() -> None:
    with pytest.raises(MissingWrapperError) as info:
        enact.wrap(Plain)
    assert "the class" in str(info.value)
    with pytest.raises(MissingWrapperError) as info:
        enact.InMemoryStore().commit(Holder(second=[Plain]))
    assert info.value.path == ["second", "0"]


def test_a_coroutine_asks_whether_you_forgot_to_await() -> None:
    async def answer() -> int:
        return 42

    coroutine = answer()
    try:
        with pytest.raises(MissingWrapperError, match="did you forget to await"):
            enact.wrap(coroutine)
        with pytest.raises(FieldTypeError, match="did you forget to await") as info:
            enact.InMemoryStore().commit(Holder(first=coroutine))
        assert info.value.path == ["first"]
    finally:
        coroutine.close()
    assert asyncio.iscoroutinefunction(answer)


def test_unsupported_values_in_plain_containers_name_where_they_are() -> None:
    with pytest.raises(MissingWrapperError) as info:
        enact.InMemoryStore().commit([1, {"a": Plain()}])
    assert info.value.path[-2:] == ["1", "a"]
    with pytest.raises(MissingWrapperError):
        enact.InMemoryStore().commit({1, Plain()})


def test_dict_keys_must_still_be_str() -> None:
    with pytest.raises(FieldTypeError, match="keys must be str"):
        enact.InMemoryStore().commit({1: "a"})


# -- registration --------------------------------------------------------------


def test_register_returns_the_dataclass_unchanged() -> None:
    @dataclasses.dataclass
    class Local:
        a: int

    assert enact.register(Local) is Local
    assert not isinstance(Local(1), enact.ResourceBase)
    ref = enact.InMemoryStore().commit(Local(1))
    assert ref.checkout() == Local(1)


def test_dataclass_type_ids_depend_on_name_and_fields() -> None:
    def make(with_b: bool) -> type:
        if with_b:

            @dataclasses.dataclass
            class Shape:
                a: int
                b: int = 0

        else:

            @dataclasses.dataclass  # type: ignore[no-redef]
            class Shape:
                a: int

        enact.register(Shape)
        return Shape

    first, second, third = make(False), make(False), make(True)
    ids = [
        wrappers.lookup_wrapper(cls).type_id()  # type: ignore[union-attr]
        for cls in (first, second, third)
    ]
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]
    assert "test_dataclass_type_ids_depend_on_name_and_fields" in ids[0]


def test_register_a_dataclass_with_a_persistent_name() -> None:
    wrapper = wrappers.lookup_wrapper(Point)
    assert wrapper is not None
    assert wrapper.type_name() == "tests.wrappers.Point"
    assert Registry.get().lookup(wrapper.type_id()) is wrapper
    # Point used as a value is stored by that name too.
    assert enact.wrap(Point).wrapped == "tests.wrappers.Point"  # type: ignore[attr-defined]


def test_dataclass_fields_that_are_not_init_arguments() -> None:
    @enact.register
    @dataclasses.dataclass
    class Counted:
        name: str
        count: int = dataclasses.field(init=False, default=0)

    value = Counted("x")
    value.count = 3
    back = round_trip(enact.InMemoryStore(), value)
    assert back == value
    assert back.count == 3


def test_subclasses_of_a_registered_dataclass_need_registering() -> None:
    @dataclasses.dataclass
    class Child(Point):
        z: int = 0

    with pytest.raises(MissingWrapperError):
        enact.wrap(Child(1))
    enact.register(Child)
    assert strict_equal(
        round_trip(enact.InMemoryStore(), Child(1, 2, 3)), Child(1, 2, 3)
    )


@pytest.mark.parametrize("value", [int, Plain, 5, "name", len])
def test_register_rejects_what_it_cannot_register(value: Any) -> None:
    with pytest.raises(NotRegistrable) as info:
        enact.register(value)
    assert isinstance(info.value, RegistryError)
    assert isinstance(info.value, TypeError)


def test_register_explains_the_decorator_order() -> None:
    with pytest.raises(NotRegistrable, match=r"above @dataclasses\.dataclass"):

        @dataclasses.dataclass
        @enact.register
        class Wrong:
            a: int


def test_register_still_registers_resources() -> None:
    @enact.register(name="tests.wrappers.Named")
    @dataclasses.dataclass
    class Named(enact.Resource):
        a: int = 0

    assert Registry.get().lookup(Named.type_id()) is Named
    assert Named.type_name() == "tests.wrappers.Named"
    assert wrappers.lookup_wrapper(Named) is None


def test_register_handlers_extend_register() -> None:
    seen: list[Any] = []

    def handler(obj: Any, name: str | None) -> Any:
        if callable(obj) and getattr(obj, "__name__", "") == "special":
            seen.append((obj, name))
            return "registered"
        return NotImplemented

    wrappers.add_register_handler(handler)
    try:
        # Not a `def`: enact's own handler takes plain functions first.
        class Special:
            __name__ = "special"

            def __call__(self) -> None:
                pass

        special = Special()
        assert enact.register(special) == "registered"
        assert seen == [(special, None)]
        assert enact.register(Holder) is Holder
    finally:
        wrappers._register_handlers.remove(handler)


# -- custom wrappers -----------------------------------------------------------


@enact.register
@dataclasses.dataclass
class FractionWrapper(enact.TypeWrapper[fractions.Fraction]):
    """A user-defined wrapper with two fields."""

    _enact_type_name = "tests.wrappers.FractionWrapper"

    numerator: int
    denominator: int

    @classmethod
    def wrap(cls, value: fractions.Fraction) -> FractionWrapper:
        return cls(value.numerator, value.denominator)

    def unwrap(self) -> fractions.Fraction:
        return fractions.Fraction(self.numerator, self.denominator)


@enact.register
@dataclasses.dataclass
class PathWrapper(enact.TypeWrapper[pathlib.PurePosixPath]):
    """A user-defined one-field wrapper that relies on the defaults."""

    _enact_type_name = "tests.wrappers.PathWrapper"

    path: str

    @classmethod
    def wrap(cls, value: pathlib.PurePosixPath) -> PathWrapper:
        return cls(str(value))

    def unwrap(self) -> pathlib.PurePosixPath:
        return pathlib.PurePosixPath(self.path)


def test_custom_wrappers_round_trip(store: Store) -> None:
    half = fractions.Fraction(1, 2)
    assert FractionWrapper.wrapped_type() is fractions.Fraction
    assert round_trip(store, half) == half
    assert type(round_trip(store, half)) is fractions.Fraction
    value = Holder([half, pathlib.PurePosixPath("/a/b")], {"t": fractions.Fraction})
    assert round_trip(store, value) == value


def test_default_wrap_and_unwrap_use_the_single_field() -> None:
    @dataclasses.dataclass
    class Box:
        content: Any

    @dataclasses.dataclass
    class BoxWrapper(enact.TypeWrapper[Box]):
        box: Any

    assert BoxWrapper.wrapped_type() is Box
    wrapper = BoxWrapper.wrap(Box(1))
    assert wrapper.unwrap() == Box(1)

    @dataclasses.dataclass
    class TwoFields(enact.TypeWrapper[Box]):
        a: int
        b: int

    with pytest.raises(wrappers.ImplementationMissing):
        TwoFields.wrap(Box(1))


def test_a_user_wrapper_for_a_builtin_subclass_wins_in_fields() -> None:
    class Level(enum.IntEnum):
        LOW = 1

    @dataclasses.dataclass
    class LevelWrapper(enact.TypeWrapper[Level]):
        name: str

        @classmethod
        def wrap(cls, value: Level) -> LevelWrapper:
            return cls(value.name)

        def unwrap(self) -> Level:
            return Level[self.name]

    enact.register(LevelWrapper)
    back = round_trip(enact.InMemoryStore(), Holder(Level.LOW))
    assert back.first is Level.LOW
    assert round_trip(enact.InMemoryStore(), Level.LOW) is Level.LOW


def test_several_wrapped_superclasses_are_ambiguous() -> None:
    class A:
        pass

    class B:
        pass

    class C(A, B):
        pass

    def wrapper_of(base: type) -> type[enact.TypeWrapper[Any]]:
        @dataclasses.dataclass
        class Wrapper(enact.TypeWrapper[Any]):
            held: Any = None

            @classmethod
            def wrapped_type(cls) -> type:
                return base

        Wrapper.__qualname__ = f"Wrapper{base.__name__}"
        return Wrapper

    for base in (A, B):
        wrappers.register_wrapper(wrapper_of(base))
    with pytest.raises(RegistryError, match="Several wrappers"):
        enact.wrap(C())
    assert type(enact.wrap(A())).__qualname__ == "WrapperA"


def test_a_wrapper_for_a_resource_class_is_refused() -> None:
    @dataclasses.dataclass
    class Bad(enact.TypeWrapper[Holder]):
        a: int

    with pytest.raises(RegistryError, match="need no wrapper"):
        enact.register(Bad)


# -- refs and stores -----------------------------------------------------------


def test_refs_cache_none_and_say_so() -> None:
    store = enact.InMemoryStore()
    ref = store.commit(None)
    assert ref.is_cached()
    assert ref.checkout() is None
    assert not enact.Ref(ref.digest).is_cached()
    assert not enact.Ref(ref.digest, None).is_cached()
    with store:
        fresh = enact.Ref(ref.digest)
        assert fresh.checkout() is None
        assert fresh.is_cached()


def test_mutating_a_cached_plain_value_invalidates_the_cache() -> None:
    store = enact.InMemoryStore()
    items = [1, 2]
    ref = store.commit(items)
    items.append(3)
    with store:
        back = ref.checkout()
    assert back == [1, 2]
    assert back is not items


def test_module_functions_and_ref_methods_take_plain_values() -> None:
    with enact.InMemoryStore() as store:
        ref = enact.commit({"a": {1}})
        assert enact.get(ref) == {"a": {1}}
        assert enact.checkout(enact.Ref(ref.digest)) == {"a": {1}}
        other = enact.Ref.from_resource([1])
        assert other.checkout() == [1]
        other.set((1, 2))
        assert other.digest == resource_digest((1, 2))
        with other.modify() as value:
            assert value == (1, 2)
        listed = enact.commit([1])
        with listed.modify() as value:
            value.append(2)
        assert store.checkout(enact.Ref(listed.digest)) == [1, 2]
        assert enact.Ref(resource_digest([1])) == store.commit([1])


def test_plain_values_through_a_json_serializer_file_backend(
    tmp_path: pathlib.Path,
) -> None:
    store = Store(enact.FileBackend(str(tmp_path), serializer=JsonSerializer()))
    for value in [1, None, (1, 2), {1, 2}, Point({3}), Holder({4}, int)]:
        assert strict_equal(round_trip(store, value), stored(value))


class DictStorage(StorageBackend):
    """A resource-dict backend (the 0.4.0.dev1 interface)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def commit(self, packed_resource: Any) -> None:
        packed_resource.ref.verify(packed_resource)
        self.data[packed_resource.ref.id] = packed_resource.data

    def has(self, ref: Any) -> bool:
        return ref.id in self.data

    def checkout(self, ref: Any) -> Any:
        return self.data.get(ref.id)


def test_plain_values_through_a_resource_dict_backend() -> None:
    store = Store(DictStorage())
    for value in [1, None, (1, 2), {1, (2, 3)}, Point({3}), Holder({4}, int)]:
        ref = store.commit(value)
        assert ref.checkout() is value
        assert strict_equal(store.checkout(enact.Ref(ref.digest)), stored(value))


def test_custom_registries_can_read_builtin_wrappers() -> None:
    writer = enact.InMemoryStore()
    ref = writer.commit(Holder({1, 2}, (3,)))
    reader = Store(writer.backend, registry=Registry())
    reader._registry.register(Holder)
    assert reader.checkout(enact.Ref(ref.digest)) == Holder({1, 2}, [3])


# -- both styles in one journal --------------------------------------------------


@enact.typed_invokable(Holder, Holder)
@dataclasses.dataclass
class Collect(enact.Invokable):
    """Gathers the items of its input's first field into a set."""

    seen: Any = dataclasses.field(default_factory=set)

    def call(self, value: Holder) -> Holder:
        self.seen |= set(value.first)
        return Holder(frozenset(self.seen), Point(len(self.seen), int))


def test_plain_values_in_a_journal(store: Store) -> None:
    with store:
        collect = Collect()
        invocation = collect.invoke(enact.commit(Holder([1, 2, 2])))
        output = invocation.get_output()
        assert output == Holder(frozenset({1, 2}), Point(2, int))
        assert collect.seen == {1, 2}
        replayed = invocation.replay()
        assert replayed.get_output() == output
        fresh = enact.Ref(enact.commit(invocation).digest).checkout()
        assert fresh.get_output() == output
        assert fresh.request().invokable().seen == set()
        assert "Collect" in enact.invocation_summary(fresh)
