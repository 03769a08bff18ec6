"""The canonical encoding (enact._codec): layout, round trips and errors."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import random
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import _codec, digests
from enact.interfaces import FieldTypeError, ResourceDict
from enact.resource_registry import Registry, ResourceNotFound
from strategies import (
    ROUND_TRIP_EXAMPLES,
    Node,
    Pair,
    field_values,
    hex_digests,
    resources,
    small_field_values,
    strict_equal,
)


def encoded(value: Any) -> bytes:
    return b"".join(_codec.encode(value))


def round_trip(value: Any) -> Any:
    return _codec.decode(encoded(value))


# -- properties ----------------------------------------------------------------


@settings(max_examples=ROUND_TRIP_EXAMPLES, deadline=None)
@given(field_values)
def test_decode_inverts_encode_type_strictly(value):
    resource = Node(value)
    decoded = round_trip(resource)
    assert strict_equal(decoded, resource)
    assert decoded is not resource


@settings(max_examples=150, deadline=None)
@given(resources)
def test_decoded_resource_dict_reencodes_to_the_same_bytes(resource):
    data = encoded(resource)
    as_dict = _codec.decode(data, as_resource_dict=True)
    assert isinstance(as_dict, ResourceDict)
    assert as_dict.type is type(resource)
    assert encoded(as_dict) == data
    assert encoded(as_dict.to_resource()) == data


def _reorder(value: Any, rng: random.Random) -> Any:
    """The same value with every dict's insertion order shuffled."""
    if isinstance(value, dict):
        items = [(k, _reorder(v, rng)) for k, v in value.items()]
        rng.shuffle(items)
        return dict(items)
    if isinstance(value, (list, tuple)):
        return type(value)(_reorder(v, rng) for v in value)
    if isinstance(value, (Node, Pair)):
        return type(value)(*(_reorder(v, rng) for v in value.field_values()))
    return value


@settings(max_examples=200, deadline=None)
@given(field_values, st.randoms(use_true_random=False))
def test_dict_key_order_does_not_change_the_encoding(value, rng):
    shuffled = _reorder(value, rng)
    assert encoded(Node(shuffled)) == encoded(Node(value))


# -- layout --------------------------------------------------------------------


@enact.register(name="tests.test_codec.Point")
@dataclasses.dataclass
class Point(enact.Resource):
    x: Any = None
    y: Any = None


def test_layout_is_compact_sorted_json():
    data = encoded(Point(y=[1, "é"], x={"b": None, "a": True}))
    expected = {"#res": Point.type_id(), "x": {"a": True, "b": None}, "y": [1, "é"]}
    text = json.dumps(
        expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert data == text.encode("utf-8")


def test_bytes_are_stored_after_a_newline_in_document_order():
    data = encoded(Point(x=b"first", y={"b": b"third", "a": b"\nsecond"}))
    text, blobs = data.split(b"\n", 1)
    tree = orjson.loads(text)
    assert tree["x"] == {"#bytes": 5}
    assert tree["y"] == {"a": {"#bytes": 7}, "b": {"#bytes": 5}}
    assert blobs == b"first\nsecondthird"


def test_tags_for_big_ints_nonfinite_floats_and_classes():
    tree = orjson.loads(
        encoded(Point(x=[2**63 - 1, 2**63, -(2**63), -(2**63) - 1], y=[math.inf, Node]))
    )
    assert tree["x"] == [
        2**63 - 1,
        {"#int": str(2**63)},
        -(2**63),
        {"#int": str(-(2**63) - 1)},
    ]
    assert tree["y"] == [{"#float": "inf"}, {"#type": Node.type_id()}]


def test_user_keys_that_look_like_tags_are_escaped():
    value = {"#bytes": 1, "#": 2, "##x": 3, "#res": 4, "plain": 5}
    tree = orjson.loads(encoded(Point(x=value)))
    assert tree["x"] == {"##bytes": 1, "##": 2, "###x": 3, "##res": 4, "plain": 5}
    assert round_trip(Point(x=value)).x == value


def test_single_tag_like_key_round_trips():
    for key in ["#bytes", "#type", "#int", "#float", "#", "##", "#res"]:
        value = {key: "0"}
        assert round_trip(Point(x=value)).x == value


def test_tuples_come_back_as_lists():
    decoded = round_trip(Point(x=(1, (2, b"3")), y=[()]))
    assert decoded == Point(x=[1, [2, b"3"]], y=[[]])
    assert type(decoded.x) is list
    assert type(decoded.x[1]) is list


def test_special_floats_round_trip():
    decoded = round_trip(Point(x=[math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e300]))
    assert math.isnan(decoded.x[0])
    assert decoded.x[1:3] == [math.inf, -math.inf]
    assert math.copysign(1.0, decoded.x[3]) == -1.0
    assert decoded.x[4:] == [5e-324, 1e300]


def test_nested_resources_refs_and_classes_round_trip():
    ref = enact.Ref("ab" * 32)
    value = Point(x=Node(enact.Int(3), [Pair(ref, enact.Str)]), y=enact.NoneResource())
    decoded = round_trip(value)
    assert decoded == value
    assert type(decoded.x.value) is enact.Int
    assert decoded.x.children[0].second is enact.Str
    assert decoded.x.children[0].first.digest == ref.digest
    assert decoded.x.children[0].first is not ref


def test_builtin_subclasses_that_are_not_resources_encode_as_the_builtin():
    class Color(enum.IntEnum):
        RED = 1

    assert encoded(Point(x=Color.RED)) == encoded(Point(x=1))


# -- encoding errors -----------------------------------------------------------


class Plain:
    pass


@pytest.mark.parametrize(
    ("value", "path"),
    [
        # Sets, classes and dataclasses have wrappers since issue 4.
        (object(), ["x"]),
        (Plain(), ["x"]),
        (Plain, ["x"]),
        ([1, Plain()], ["x", "1"]),
        ({"k": [Plain()]}, ["x", "k", "0"]),
        ({1: "a"}, ["x"]),
        (Node(value={"a": object()}), ["x", "value", "a"]),
    ],
)
def test_unsupported_values_raise_field_type_error_naming_the_field(value, path):
    with pytest.raises(FieldTypeError) as info:
        _codec.encode(Point(x=value))
    assert info.value.path == path
    assert "'x" in str(info.value)


def test_cycles_raise_field_type_error():
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(FieldTypeError) as info:
        _codec.encode(Point(y=loop))
    assert info.value.path[0] == "y"
    assert "cycle" in str(info.value)

    node = Node()
    node.children.append(node)
    with pytest.raises(FieldTypeError, match="cycle"):
        _codec.encode(node)


def test_lone_surrogates_raise_field_type_error():
    with pytest.raises(FieldTypeError) as info:
        _codec.encode(Point(x={"k": ["ok", "\ud800"]}))
    assert info.value.path == ["x", "k", "1"]


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_deep_nesting_round_trips():
    resource = Point(x=_nested(200))
    assert round_trip(resource) == resource


@pytest.mark.parametrize("depth", [300, 5000])
def test_too_deep_nesting_raises_field_type_error(depth):
    with pytest.raises(FieldTypeError, match="nested deeper than 254 levels"):
        _codec.encode(Point(x=_nested(depth)))


# -- decoding errors -----------------------------------------------------------


def test_decode_builds_only_registered_classes():
    data = encoded(Point(x=Node(1)))
    fresh = Registry()
    with pytest.raises(ResourceNotFound) as info:
        _codec.decode(data, fresh)
    assert info.value.type_id == Point.type_id()
    fresh.register(Point)
    with pytest.raises(ResourceNotFound):
        _codec.decode(data, fresh)
    fresh.register(Node)
    assert _codec.decode(data, fresh) == Point(x=Node(1))


def test_decode_resolves_class_values_through_the_registry():
    data = encoded(Point(x=Node))
    fresh = Registry()
    fresh.register(Point)
    with pytest.raises(ResourceNotFound):
        _codec.decode(data, fresh)


def _raw(cls: type[enact.ResourceBase], fields: str, blobs: bytes = b"") -> bytes:
    """A hand-written encoding of a ``cls`` resource with the given fields."""
    text = f'{{"#res": {json.dumps(cls.type_id())}, {fields}}}'
    return text.encode() + (b"\n" + blobs if blobs else b"")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"a": 1}',
        b'{"#res": 5}',
        b'{"#res": ""}',
        _raw(enact.Bytes, '"value": {"#bytes": 4}', b"abc"),  # truncated blob
        _raw(enact.Bytes, '"value": {"#bytes": 3}', b"abcd"),  # trailing data
        _raw(enact.Bytes, '"value": {"#bytes": -1}'),
        _raw(enact.Int, '"value": {"#int": "5"}'),  # small ints are not tagged
        _raw(enact.Int, '"value": {"#int": "x"}'),
        _raw(enact.Float, '"value": {"#float": "1.5"}'),
        _raw(enact.Int, '"value": {"#what": 1}'),
        _raw(enact.Int, '"#value": 1'),
        _raw(enact.Int, '"value": "1"'),  # from_fields refuses it
        _raw(enact.Int, '"other": 1'),
        _raw(Point, '"x": {"#type": 5}'),
    ],
)
def test_invalid_data_raises_decode_error(data):
    with pytest.raises(_codec.DecodeError):
        _codec.decode(data)


def test_unknown_type_id_raises_resource_not_found():
    with pytest.raises(ResourceNotFound):
        _codec.decode(b'{"#res": "{\\"name\\": \\"no.such.Type\\"}"}')


def test_hand_written_ref_encoder_matches_the_generic_one() -> None:
    from enact import _codec
    from enact.references import Ref

    for ref in (Ref("ab" * 32), Ref("ab" * 32, enact.Int(1))):
        for types in (None, {}):
            fast = _codec._Sink(types)
            slow = _codec._Sink({} if types is not None else None)
            assert _codec._encoders[Ref](ref, fast) == _codec.generic_encoder(Ref)(
                ref, slow
            )
            assert fast.types == slow.types


def test_hand_written_bytes_encoder_matches_the_generic_one() -> None:
    from enact import _codec

    for value in (
        enact.Bytes(b""),
        enact.Bytes(b"\x00\n#res"),
        enact.Bytes(b"x" * 9000),
    ):
        fast, slow = _codec._Sink({}), _codec._Sink({})
        generic = _codec.generic_encoder(enact.Bytes)
        assert _codec._encoders[enact.Bytes](value, fast) == generic(value, slow)
        assert fast.blobs == slow.blobs and fast.types == slow.types


# -- the flat path -------------------------------------------------------------
# encode() writes small resources (journal records, invokables with scalar
# fields, Int, Str, Ref) directly as JSON pieces and remembers small encodings
# by content; _encode_tree is the reference it must agree with, byte for byte
# and in the classes it records.


def assert_flat_matches_tree(value: Any) -> None:
    tree_types: dict[str, Any] = {}
    try:
        tree = _codec._encode_tree(value, tree_types)
    except FieldTypeError as error:
        with pytest.raises(FieldTypeError) as raised:
            _codec.encode(value)
        assert str(raised.value) == str(error)
        return
    for _ in range(2):  # the second time from the memo, if remembered
        flat_types: dict[str, Any] = {}
        assert _codec.encode(value, flat_types) == tree
        assert flat_types == tree_types


@dataclasses.dataclass
class Scalars(enact.Resource):
    """An unregistered resource with scalar fields (flat, memoized)."""

    number: Any = 0
    text: Any = ""
    flag: Any = False


@settings(max_examples=400, deadline=None)
@given(small_field_values, field_values)
def test_flat_path_writes_the_tree_paths_bytes(small, value):
    for resource in (
        Node(small),
        Node(value),
        Pair(small, value),
        Scalars(small, value, small),
        Scalars(1, "a", small),
    ):
        assert_flat_matches_tree(resource)
    for resource in (enact.Int(3), enact.Str('a"\n\\é'), enact.Ref("ab" * 32)):
        assert_flat_matches_tree(resource)


def test_flat_dicts_sort_and_escape_keys_like_the_tree_path():
    keys = ["b", "a", "Z", "é", "\U0001d11e", "\uffff", "#res", "##", "#", "\n", 'a"']
    assert_flat_matches_tree(Scalars({key: index for index, key in enumerate(keys)}))
    assert_flat_matches_tree(Scalars({}, [], {"x": [1]}))  # a list in a dict
    assert_flat_matches_tree(Scalars({"\ud800": 1}))
    assert_flat_matches_tree(Scalars({1: 1}))  # the tree path's error


def test_flat_path_refuses_what_only_the_tree_path_can_write():
    for value in (
        Scalars(2**64),  # a tagged big int
        Scalars(math.nan),
        Scalars(b"blob"),
        Scalars("\ud800"),  # the tree path's error
        Scalars([[1]]),  # lists in lists
        Scalars(Plain()),
        enact.Int(2**70),
        enact.Str("\ud800"),
        enact.Ref("\ud800"),
        enact.Ref(5),  # type: ignore[arg-type]
    ):
        assert_flat_matches_tree(value)


def test_memoized_encodings_follow_every_field_change():
    resource = Scalars(1, "a", False)
    original = encoded(resource)
    # Equal but differently encoded values must not hit the memo.
    for number in (True, 1.0, 2, "1", None):
        resource.number = number
        assert encoded(resource) == _codec._encode_tree(resource)[0]
        assert encoded(resource) != original
    resource.number = 1
    assert encoded(resource) == original
    object.__setattr__(resource, "text", "b")  # no __setattr__ to hook
    assert encoded(resource) == encoded(Scalars(1, "b", False))
    resource.__dict__["flag"] = True
    assert encoded(resource) == encoded(Scalars(1, "b", True))


def test_floats_are_not_memoized_by_equality():
    assert encoded(Scalars(0.0)) != encoded(Scalars(-0.0))
    assert encoded(Scalars(-0.0)) == _codec._encode_tree(Scalars(-0.0))[0]


def test_mutable_fields_are_never_memoized():
    items = [1, 2]
    inner = Pair(1, 2)
    resource = Pair(items, inner)
    before = encoded(resource)
    items.append(3)
    assert encoded(resource) == encoded(Pair([1, 2, 3], Pair(1, 2)))
    inner.second = 3
    assert encoded(resource) == encoded(Pair([1, 2, 3], Pair(1, 3)))
    assert encoded(resource) != before
    ref = enact.Ref("a" * 64)
    holder = Pair(ref)
    first = encoded(holder)
    ref.set(enact.Int(1))  # a Ref changes in place
    assert encoded(holder) != first
    assert encoded(holder) == _codec._encode_tree(holder)[0]


def test_a_mutated_resource_is_committed_afresh():
    with enact.InMemoryStore() as store:
        resource = Scalars(6, "die")
        ref = store.commit(resource)
        resource.number = 8
        changed = store.commit(resource)
        assert changed != ref
        assert changed == store.commit(Scalars(8, "die"))
        # The first ref's cache (the same object) no longer matches: it reads
        # the committed state back from the store.
        assert ref.checkout() == Scalars(6, "die")
        assert ref.checkout() is not resource


class OtherRef(enact.Ref):  # type: ignore[type-arg]
    """A Ref subclass: records holding one take the tree path."""


_refs = st.one_of(
    hex_digests.map(enact.Ref),
    st.sampled_from(["", 'a"b', "\n", "é", "\\", "\ud800", "0" * 64]).map(enact.Ref),
    hex_digests.map(OtherRef),
    st.integers().map(enact.Ref),
)
_optional_refs = st.one_of(st.none(), _refs)


@settings(max_examples=400, deadline=None)
@given(
    _refs,
    _optional_refs,
    _optional_refs,
    st.one_of(st.booleans(), st.sampled_from([0, 1, None])),
    st.one_of(
        st.lists(_refs, max_size=12),
        st.lists(hex_digests.map(enact.Ref), max_size=40),
        st.lists(_refs, max_size=3).map(tuple),
        st.lists(st.one_of(_refs, st.none(), st.integers()), max_size=3),
    ),
)
def test_flat_records_write_the_tree_paths_bytes(
    invokable, output, raised, raised_here, children
):
    from enact.invocations import Invocation, Request, Response

    for record in (
        Request(invokable, output),
        Request(invokable, invokable),
        Invocation(invokable, output),
        Response(invokable, output, raised, raised_here, children),
        Response(output, invokable, None, True, []),
    ):
        assert_flat_matches_tree(record)


def test_flat_records_follow_changes_to_their_refs():
    from enact.invocations import Invocation, Response

    child = enact.Ref("1" * 64)
    children = [child]
    response = Response(enact.Ref("2" * 64), enact.Ref("3" * 64), None, False, children)
    invocation = Invocation(enact.Ref("4" * 64), enact.Ref("5" * 64))
    for record, change in (
        (response, lambda: children.append(enact.Ref("6" * 64))),
        (response, lambda: child.set(enact.Int(1))),
        (response, lambda: response.output.set(enact.Int(2))),
        (response, lambda: setattr(response, "raised_here", True)),
        (invocation, lambda: invocation.response.set(enact.Int(3))),
        (invocation, lambda: setattr(invocation, "request", enact.Ref("7" * 64))),
    ):
        before = encoded(record)
        change()
        assert encoded(record) != before
        assert encoded(record) == _codec._encode_tree(record)[0]


def test_long_child_lists_are_written_like_the_tree_path():
    from enact.invocations import Response

    children = [enact.Ref(f"{i:064x}") for i in range(3000)]
    response = Response(enact.Ref("a" * 64), None, None, False, children)
    assert_flat_matches_tree(response)
    children[1500] = enact.Ref('x","y')  # would break a naive join
    assert_flat_matches_tree(response)


def test_large_responses_follow_changes_to_their_children():
    from enact.invocations import Response

    children = [enact.Ref(f"{i:064x}") for i in range(100)]
    response = Response(enact.Ref("a" * 64), enact.Ref("b" * 64), None, False, children)
    for change in (
        lambda: None,
        lambda: children[50].set(enact.Int(1)),
        lambda: children.append(enact.Ref("c" * 64)),
        lambda: children.pop(0),
        lambda: setattr(response, "children", list(children)),
        lambda: response.output.set(enact.Int(2)),
    ):
        change()
        assert_flat_matches_tree(response)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(small_field_values, field_values), max_size=3),
    st.dictionaries(st.text(max_size=3), small_field_values, max_size=2),
)
def test_flat_call_args_write_the_tree_paths_bytes(args, kwargs):
    from enact.invocations import CallArgs

    assert_flat_matches_tree(CallArgs(args, {}))
    assert_flat_matches_tree(CallArgs(args, kwargs))
    assert_flat_matches_tree(CallArgs([1, True, 1.0, "1", None], {}))
    assert_flat_matches_tree(CallArgs([True, 1, -0.0, "1", None], {}))


def test_flat_call_args_follow_changes():
    from enact.invocations import CallArgs

    call_args = CallArgs([1, "a"], {})
    before = encoded(call_args)
    call_args.args.append(2)
    assert encoded(call_args) == _codec._encode_tree(call_args)[0] != before
    call_args.args[:] = [True, "a"]
    assert encoded(call_args) == _codec._encode_tree(call_args)[0]
    call_args.kwargs["k"] = 1
    assert encoded(call_args) == _codec._encode_tree(call_args)[0]


# -- sets: the encoder orders their elements -----------------------------------

_hashable = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=4),
        st.binary(max_size=4),
    ),
    lambda children: st.tuples(children, children),
    max_leaves=6,
)


def _generic_set_bytes(value: set[Any] | frozenset[Any]) -> bytes:
    """The bytes of a wrapped set by the generic encoder, which keeps the
    order the wrapper lists (canonical, as wrap makes it)."""
    wrapper = enact.wrap(value)
    sink = _codec._Sink(None)
    tree = _codec.generic_encoder(type(wrapper))(wrapper, sink)
    text = orjson.dumps(tree, option=orjson.OPT_SORT_KEYS)
    return b"\n".join([text, b"".join(sink.blobs)]) if sink.blobs else text


@settings(max_examples=200, deadline=None)
@given(members=st.frozensets(_hashable, max_size=8), seed=st.integers(0, 10**6))
def test_the_encoder_orders_set_elements_however_a_wrapper_lists_them(
    members: frozenset[Any], seed: int
) -> None:
    from enact._builtin_wrappers import set_members
    from enact.wrappers import DictWrapper, FrozenSetWrapper, SetWrapper

    expected = _generic_set_bytes(set(members))
    listed = set_members(members)
    random.Random(seed).shuffle(listed)
    assert encoded(SetWrapper(listed)) == expected
    assert encoded(set(members)) == expected
    as_dict = SetWrapper(listed).to_resource_dict()
    assert encoded(as_dict) == expected
    assert digests.digest(as_dict) == digests.digest(enact.wrap(set(members)))
    frozen = _generic_set_bytes(frozenset(members))
    assert encoded(FrozenSetWrapper(list(reversed(listed)))) == frozen
    # In a field (a dict's value, a list's item): as the wrapped set there.
    json, *blobs = frozen.split(b"\n", 1)
    whole, *whole_blobs = encoded({"s": members, "t": [members]}).split(b"\n", 1)
    head = _codec.flat_head(DictWrapper)
    assert whole == head + b'"wrapped":{"s":' + json + b',"t":[' + json + b"]}}"
    assert whole_blobs == [blob * 2 for blob in blobs]
