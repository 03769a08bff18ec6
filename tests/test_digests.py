"""Content digests: properties, injectivity cases and golden values."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import _codec
from enact.digests import digest, type_digest
from enact.interfaces import FieldTypeError, ResourceDict
from strategies import (
    CHECKED_VALUES,
    DISTINCTNESS_EXAMPLES,
    DISTINCTNESS_VALUES_PER_EXAMPLE,
    Node,
    Pair,
    fixed_values,
    resources,
    small_field_values,
    strict_equal,
)

TESTS_DIR = pathlib.Path(__file__).resolve().parent


def d(value: Any) -> str:
    """The digest of a field value, wrapped in a resource."""
    return digest(Node(value))


# -- properties ----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(resources)
def test_resource_and_its_dict_have_the_same_digest(resource):
    resource_dict = resource.to_resource_dict()
    assert digest(resource) == digest(resource_dict)
    assert (
        digest(resource)
        == hashlib.sha256(b"".join(_codec.encode(resource))).hexdigest()
    )


def test_the_properties_check_at_least_10000_values():
    assert CHECKED_VALUES >= 10_000


@settings(max_examples=DISTINCTNESS_EXAMPLES, deadline=None)
@given(
    st.lists(
        small_field_values,
        min_size=DISTINCTNESS_VALUES_PER_EXAMPLE,
        max_size=DISTINCTNESS_VALUES_PER_EXAMPLE + 2,
    )
)
def test_distinct_values_get_distinct_digests(values):
    """Equal bytes, equal digests and strict equality coincide for every pair."""
    wrapped = [Node(value) for value in values]
    data = [b"".join(_codec.encode(resource)) for resource in wrapped]
    digests = [digest(resource) for resource in wrapped]
    for i in range(len(values)):
        assert strict_equal(_codec.decode(data[i]), wrapped[i])
        for j in range(i + 1, len(values)):
            same_bytes = data[i] == data[j]
            assert (digests[i] == digests[j]) == same_bytes
            assert strict_equal(values[i], values[j]) == same_bytes, (
                values[i],
                values[j],
            )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (True, 1, False),
        (1, 1.0, False),
        (0.0, -0.0, False),
        (math.nan, math.nan, True),
        ((1, [2]), [1, (2,)], True),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),
        ({"a": 1}, {"a": True}, False),
        (Node(1), Node(True), False),
        (Node(1), Pair(1), False),
        (enact.Int(1), 1, False),
        (enact.Ref("0" * 64), enact.Ref("0" * 64), True),
        (Node, Node, True),
        (Node, Pair, False),
        (b"1", "1", False),
    ],
)
def test_strict_equal_oracle(a, b, expected):
    # The properties are only as good as this oracle.
    assert strict_equal(a, b) is expected
    assert strict_equal(b, a) is expected


# -- explicit injectivity cases ------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (True, 1),
        (False, 0),
        (1, 1.0),
        (0.0, -0.0),
        ("1", b"1"),
        (1, "1"),
        (None, ""),
        ("", b""),
        ([], {}),
        ([], None),
        ([b"ab", b"c"], [b"a", b"bc"]),
        (["ab", "c"], ["a", "bc"]),
        ([[1], 2], [1, [2]]),
        ({"a": b"x", "b": b"yz"}, {"a": b"xy", "b": b"z"}),
        ({"#a": 1}, {"##a": 1}),
        ({"#a": 1}, {"a": 1}),
        ({"a": 1}, {"a": 1, "b": None}),
        (1, enact.Int(1)),
        ("a", enact.Str("a")),
        (b"a", enact.Bytes(b"a")),
        (1.5, enact.Float(1.5)),
        (enact.Int(1), enact.Float(1.0)),
        (enact.Int, enact.Int.type_id()),
        (enact.Int, enact.Str),
        (2**64, float(2**64)),
        (2**64, str(2**64)),
        (enact.NoneResource(), None),
        (enact.Ref("0" * 64), "0" * 64),
        ({"value": 1, "children": []}, Node(1)),
    ],
)
def test_different_values_get_different_digests(a, b):
    assert d(a) != d(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ((1, 2), [1, 2]),
        (math.nan, float("nan")),
        (Node([1], [Node()]), Node([1], [Node()])),
        (enact.Ref("ab" * 32), enact.Ref("ab" * 32)),
    ],
)
def test_equal_values_get_equal_digests(a, b):
    assert d(a) == d(b)


def test_digest_is_64_lowercase_hex():
    value = digest(Node("x"))
    assert len(value) == 64
    assert value == value.lower()
    int(value, 16)


def test_digest_depends_on_the_type():
    assert digest(Node(1, [])) != digest(Pair(1, []))
    assert digest(Node(1)) != digest(ResourceDict(Pair, {"value": 1, "children": []}))
    assert digest(Node(1)) == digest(ResourceDict(Node, {"value": 1, "children": []}))


def test_digest_depends_on_field_names():
    assert digest(ResourceDict(Node, {"value": 1})) != digest(
        ResourceDict(Node, {"other": 1})
    )


def test_nested_resources_are_digested_by_content():
    inner_a, inner_b = Node(1), Node(1)
    assert inner_a is not inner_b
    assert digest(Pair(inner_a, 2)) == digest(Pair(inner_b, 2))
    inner_b.value = 2
    assert digest(Pair(inner_a, 2)) != digest(Pair(inner_b, 2))


def test_nested_ref_contributes_only_its_digest():
    target = Node("content")
    ref = enact.Ref.from_resource(target)
    before = digest(Pair(ref))
    target.value = "changed"  # the ref still holds the old digest
    assert digest(Pair(ref)) == before
    assert digest(Pair(ref)) == digest(Pair(enact.Ref(ref.digest)))


def test_a_ref_subclass_with_the_same_digest_changes_the_parent_digest():
    class OtherRef(enact.Ref[Any]):
        pass

    assert digest(Pair(enact.Ref("a" * 64))) != digest(Pair(OtherRef("a" * 64)))


def test_values_changes_change_the_digest():
    base = Pair({"k": [1, True, None, b"x"]}, "s")
    changed = [
        Pair({"k": [1, True, None, b"y"]}, "s"),
        Pair({"k": [1, False, None, b"x"]}, "s"),
        Pair({"k": [1, True, None]}, "s"),
        Pair({"k2": [1, True, None, b"x"]}, "s"),
        Pair({"k": [1, True, None, b"x"]}, "t"),
    ]
    assert len({digest(value) for value in [base, *changed]}) == 6


# -- errors --------------------------------------------------------------------


class Plain:
    pass


@pytest.mark.parametrize(
    "value", [object(), Plain(), Plain, {1: "a"}, [1, {Plain()}], {"a": object()}]
)
def test_unsupported_values_raise_field_type_error(value):
    with pytest.raises(FieldTypeError) as info:
        digest(Pair(first=value))
    assert info.value.path[0] == "first"
    with pytest.raises(FieldTypeError):
        digest(ResourceDict(Pair, {"first": value}))


def test_cycles_raise_field_type_error():
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(FieldTypeError) as info:
        digest(Pair(second=loop))
    assert info.value.path[:2] == ["second", "self"]

    node = Node()
    node.value = node
    with pytest.raises(FieldTypeError, match="cycle"):
        digest(node)


# -- type digests --------------------------------------------------------------


def _class_with_fields(*names: str) -> type[enact.Resource]:
    cls = dataclasses.make_dataclass(
        "Shape", [(name, Any, None) for name in names], bases=(enact.Resource,)
    )
    cls.__module__ = "tests.shapes"
    return cls


def test_type_digest_ignores_field_order():
    assert type_digest(_class_with_fields("a", "b")) == type_digest(
        _class_with_fields("b", "a")
    )


def test_type_digest_delimits_field_names():
    assert type_digest(_class_with_fields("ab")) != type_digest(
        _class_with_fields("a", "b")
    )
    assert type_digest(_class_with_fields("a")) != type_digest(
        _class_with_fields("a", "b")
    )


def test_type_digest_depends_on_the_name():
    a = _class_with_fields("x")
    b = _class_with_fields("x")
    b.__qualname__ = "OtherShape"
    assert type_digest(a) != type_digest(b)
    assert len(type_digest(a)) == 64


# -- stability -----------------------------------------------------------------

_SUBPROCESS_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from strategies import fixed_values
from enact.digests import digest
print(json.dumps([digest(value) for value in fixed_values()]))
"""


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_digests_are_stable_across_processes(hash_seed):
    expected = [digest(value) for value in fixed_values()]
    assert len(set(expected)) > 100
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_SCRIPT, str(TESTS_DIR)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert json.loads(result.stdout) == expected


# -- golden values -------------------------------------------------------------
# A change here means every stored object changes its identity: existing stores
# could no longer be read. Change these only together with a format migration.


@enact.register(name="tests.golden.Point")
@dataclasses.dataclass
class GoldenPoint(enact.Resource):
    x: Any = None
    y: Any = None
    label: Any = ""


GOLDEN = [
    (
        enact.NoneResource(),
        "f023d387fe5b11392d75ec3ea6f359336cfe4745917262089c1f19ebbd66289d",
    ),
    (enact.Int(42), "84a2c17a9d22f3f8d659494596ead8eb2199f2c2132894116a6c4fa37f84ffe2"),
    (
        enact.Str("héllo\n"),
        "70ab456ec6f3d053a4bb28a9542edb03a40c092c28953ac3956898b58965434f",
    ),
    (
        enact.Ref("ab" * 32),
        "fd9e74d13031c596bc928168f96700061561223e8ceedbae9f990184b1fd0746",
    ),
    (
        GoldenPoint(1, 2.5, "p"),
        "6525690b6128f641c272261fc0b42daf186373323841a20a69adc439b9576714",
    ),
    (
        GoldenPoint(
            x=[True, None, -0.0, 2**70, math.inf, math.nan],
            y={"#tag": b"\x00\xff", "k": (1, "1", b"1")},
            label=GoldenPoint(enact.Int, enact.Ref("0" * 64), enact.Bytes(b"raw")),
        ),
        "332ce21741d9f4c203aa7d9e54d7f878438f7d4b8404d875e393dc73d545bcde",
    ),
]


@pytest.mark.parametrize(("value", "expected"), GOLDEN)
def test_golden_digests(value, expected):
    assert digest(value) == expected


def test_golden_encoding():
    type_id = (
        '{"digest": '
        '"7ca7c8552fa3f6601ed059f225f7e58569ce0d173ce1a851aa38afd2376c6360", '
        '"name": "tests.golden.Point"}'
    )
    assert GoldenPoint.type_id() == type_id
    expected = '{"#res":' + json.dumps(type_id) + ',"label":"p","x":1,"y":2.5}'
    assert b"".join(_codec.encode(GoldenPoint(1, 2.5, "p"))) == expected.encode()


def test_large_digests_are_remembered_only_for_the_same_object():
    from enact.digests import hash_bytes

    data = b"x" * 5000
    for _ in range(2):
        assert hash_bytes(data) == hashlib.sha256(data).hexdigest()
    equal = bytes(bytearray(data))
    assert hash_bytes(equal) == hash_bytes(data)
    changed = bytearray(data)
    assert hash_bytes(changed) == hash_bytes(data)  # type: ignore[arg-type]
    changed[0] = 0
    assert hash_bytes(changed) == hashlib.sha256(changed).hexdigest()  # type: ignore[arg-type]
