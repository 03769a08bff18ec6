"""Serializers (docs/compatibility.md#serializers)."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings

import enact
from enact.interfaces import FieldTypeError, ResourceDict
from enact.resource_registry import Registry, ResourceNotFound
from enact.serialization import (
    CanonicalSerializer,
    DeserializationError,
    JsonSerializer,
    SerializationError,
    Serializer,
)
from strategies import Node, Pair, field_values, json_field_values, strict_equal


@dataclasses.dataclass
class Everything(enact.Resource):
    """A resource with one field of each kind a field value can be."""

    i: Any = 0
    f: Any = 0.0
    b: Any = False
    by: Any = b""
    s: Any = ""
    n: Any = None
    ref: Any = None
    d: Any = None
    lst: Any = None
    cls: Any = None


def everything() -> Everything:
    return Everything(
        i=-(2**70),
        f=-1.5e-300,
        b=True,
        by=bytes(range(256)),
        s='héllo "quoted" \n \U0001f600',
        n=None,
        ref=enact.Ref("ab" * 32),
        d={"x": [1, {"y": b""}], "": None},
        lst=[1, 1.0, "1", b"1", True, None, [], {}],
        cls=Everything,
    )


# -- the interface -------------------------------------------------------------


def test_serializer_is_abstract():
    with pytest.raises(TypeError):
        Serializer()  # type: ignore[abstract]


# -- JsonSerializer round trips ------------------------------------------------


def test_round_trip_with_a_fresh_registry():
    registry = Registry()
    registry.register(enact.Ref)
    registry.register(Everything)
    serializer = JsonSerializer(registry)
    original = everything()
    data = serializer.serialize(original.to_resource_dict())
    assert isinstance(data, bytes)
    result = serializer.deserialize(data)
    assert isinstance(result, ResourceDict)
    assert result.type is Everything
    rebuilt = result.to_resource()
    assert rebuilt == original
    assert strict_equal(rebuilt, original)
    assert rebuilt.cls is Everything
    assert type(rebuilt.ref) is enact.Ref


def test_fresh_registry_without_the_class_cannot_deserialize():
    data = JsonSerializer().serialize(everything().to_resource_dict())
    registry = Registry()
    registry.register(enact.Ref)
    with pytest.raises(ResourceNotFound):
        JsonSerializer(registry).deserialize(data)


def test_registry_is_captured_at_construction():
    registry = Registry()
    serializer = JsonSerializer(registry)
    registry.register(Everything)
    registry.register(enact.Ref)
    data = serializer.serialize(everything().to_resource_dict())
    assert serializer.deserialize(data).type is Everything


def test_default_registry_is_the_global_one():
    data = JsonSerializer().serialize(Node(enact.Int(1)).to_resource_dict())
    assert JsonSerializer().deserialize(data).to_resource() == Node(enact.Int(1))


@settings(max_examples=200, deadline=None)
@given(json_field_values)
def test_json_round_trip_is_lossless(value):
    serializer = JsonSerializer()
    original = Pair(value, [value])
    rebuilt = serializer.deserialize(serializer.serialize(original.to_resource_dict()))
    assert strict_equal(rebuilt.to_resource(), original)


@settings(max_examples=100, deadline=None)
@given(field_values)
def test_canonical_serializer_round_trip(value):
    serializer = CanonicalSerializer()
    original = Node(value)
    rebuilt = serializer.deserialize(serializer.serialize(original.to_resource_dict()))
    assert rebuilt.type is Node
    assert strict_equal(rebuilt.to_resource(), original)


def test_tuples_come_back_as_lists():
    serializer = JsonSerializer()
    data = serializer.serialize(Node((1, (2,))).to_resource_dict())
    assert serializer.deserialize(data) == {"value": [1, [2]], "children": []}


def test_special_floats_round_trip():
    serializer = JsonSerializer()
    data = serializer.serialize(
        Node([math.nan, math.inf, -math.inf, -0.0]).to_resource_dict()
    )
    value = serializer.deserialize(data)["value"]
    assert math.isnan(value[0])
    assert value[1:3] == [math.inf, -math.inf]
    assert math.copysign(1.0, value[3]) == -1.0


# -- the JSON layout -----------------------------------------------------------


def test_layout():
    serializer = JsonSerializer()
    data = serializer.serialize(
        Pair({"z": b"\x00\x01", "a": Node}, enact.Ref("0" * 64)).to_resource_dict()
    )
    text = data.decode("utf-8")
    assert json.loads(text) == {
        "#res": Pair.type_id(),
        "first": {
            "a": {"#type": Node.type_id()},
            "z": {"#b85": base64.b85encode(b"\x00\x01").decode("ascii")},
        },
        "second": {"#res": enact.Ref.type_id(), "digest": "0" * 64},
    }
    # Sorted keys at every level.
    assert text == json.dumps(json.loads(text), sort_keys=True)


def test_to_json_and_from_json():
    serializer = JsonSerializer()
    assert serializer.to_json(b"ab") == {"#b85": base64.b85encode(b"ab").decode()}
    assert serializer.to_json((1, [None])) == [1, [None]]
    assert serializer.to_json(Node) == {"#type": Node.type_id()}
    assert serializer.from_json({"#b85": base64.b85encode(b"ab").decode()}) == b"ab"
    assert serializer.from_json({"#type": Node.type_id()}) is Node
    assert serializer.from_json({"k": [1.5, "s"]}) == {"k": [1.5, "s"]}
    rd = serializer.from_json({"#res": Node.type_id(), "value": 1, "children": []})
    assert isinstance(rd, ResourceDict) and rd.type is Node


def test_encoding_parameter():
    serializer = JsonSerializer(encoding="utf-16")
    data = serializer.serialize(Node("é").to_resource_dict())
    assert json.loads(data.decode("utf-16"))["value"] == "é"
    assert serializer.deserialize(data)["value"] == "é"


# -- serialization errors ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [{"#key": 1}, {"ok": {"#nested": 1}}, [{"#": 1}]],
)
def test_keys_starting_with_the_escape_character_are_refused(value):
    with pytest.raises(SerializationError):
        JsonSerializer().serialize(ResourceDict(Node, {"value": value, "children": []}))


def test_field_names_starting_with_the_escape_character_are_refused():
    with pytest.raises(SerializationError):
        JsonSerializer().serialize(ResourceDict(Node, {"#value": 1}))


def test_non_str_keys_raise_field_type_error():
    with pytest.raises(FieldTypeError):
        JsonSerializer().serialize(ResourceDict(Node, {"value": {1: 2}}))


class Plain:
    pass


@pytest.mark.parametrize("value", [int, Plain, Plain(), {1, 2}, object()])
def test_unserializable_values_raise_serialization_error(value):
    with pytest.raises(SerializationError):
        JsonSerializer().to_json(value)


# -- deserialization errors ----------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"[1, 2]",
        b"1",
        b'"text"',
        b"{}",
        b'{"value": 1}',
        b'{"#res": ""}',
        b'{"#res": null}',
        b'{"#res": 5}',
        b'{"#res": ["a"]}',
        b"not json",
        b"\xff\xfe",
        b"",
    ],
)
def test_invalid_data_raises_deserialization_error(data):
    with pytest.raises(DeserializationError):
        JsonSerializer().deserialize(data)


def test_unknown_type_id_raises_resource_not_found():
    with pytest.raises(ResourceNotFound):
        JsonSerializer().deserialize(b'{"#res": "{\\"name\\": \\"no.such.Type\\"}"}')


def test_from_json_rejects_non_json_values():
    with pytest.raises(DeserializationError):
        JsonSerializer().from_json({1, 2})  # type: ignore[arg-type]


def test_invalid_base85_raises_deserialization_error():
    data = json.dumps(
        {"#res": Node.type_id(), "value": {"#b85": "~~~~~"}, "children": []}
    )
    with pytest.raises(DeserializationError):
        JsonSerializer().deserialize(data.encode())


def test_canonical_serializer_errors():
    with pytest.raises(DeserializationError):
        CanonicalSerializer().deserialize(b"not json")
    with pytest.raises(ResourceNotFound):
        CanonicalSerializer(Registry()).deserialize(
            CanonicalSerializer().serialize(Node(1).to_resource_dict())
        )


def test_exports():
    assert enact.JsonSerializer is JsonSerializer
    assert enact.Serializer is Serializer
    assert enact.SerializationError is SerializationError
    assert enact.DeserializationError is DeserializationError
