"""Resource versions of common values (docs/compatibility.md#resource-types)."""

from __future__ import annotations

import io

import numpy as np
import PIL.Image
import pytest

import enact
from enact import digests
from enact.interfaces import ResourceError
from enact.resource_registry import Registry

WRAPPERS = [
    (enact.Int, int, 3),
    (enact.Float, float, 2.5),
    (enact.Str, str, "text"),
    (enact.Bytes, bytes, b"data"),
]


def make_array() -> np.ndarray:
    return np.arange(12, dtype=np.float32).reshape(3, 4) / 7


def make_image() -> PIL.Image.Image:
    image = PIL.Image.new("RGB", (4, 3))
    image.putpixel((1, 2), (255, 10, 20))
    return image


# -- Int, Float, Str, Bytes behave like their builtins -------------------------


@pytest.mark.parametrize(("cls", "builtin", "value"), WRAPPERS)
def test_wrappers_behave_like_builtins(cls, builtin, value):
    wrapped = cls(value)
    assert isinstance(wrapped, builtin)
    assert isinstance(wrapped, enact.ResourceBase)
    assert wrapped == value
    assert value == wrapped
    assert hash(wrapped) == hash(value)
    assert repr(wrapped) == repr(value)
    assert str(wrapped) == str(value)
    assert {wrapped: 1}[value] == 1


@pytest.mark.parametrize(("cls", "builtin", "value"), WRAPPERS)
def test_wrapper_fields(cls, builtin, value):
    wrapped = cls(value)
    assert list(cls.field_names()) == ["value"]
    (field_value,) = wrapped.field_values()
    assert type(field_value) is builtin
    assert field_value == value
    assert list(wrapped.field_items()) == [("value", value)]
    rebuilt = cls.from_fields({"value": value})
    assert type(rebuilt) is cls
    assert rebuilt == wrapped
    assert wrapped.to_resource_dict() == {"value": value}
    assert type(wrapped.to_resource_dict()["value"]) is builtin


def test_arithmetic_returns_plain_builtins():
    assert enact.Int(2) + 1 == 3
    assert type(enact.Int(2) + 1) is int
    assert type(enact.Int(2) * enact.Int(3)) is int
    assert type(enact.Float(1.5) + 1) is float
    assert type(enact.Str("a") + "b") is str
    assert type(enact.Bytes(b"a") + b"b") is bytes
    assert enact.Str("1salt") == "1salt"


def test_construction_like_the_builtin():
    assert enact.Int("12") == 12
    assert enact.Float("1.5") == 1.5
    assert enact.Str(3) == "3"
    assert enact.Bytes(3) == b"\x00\x00\x00"
    assert repr(enact.Str("a")) == "'a'"
    with pytest.raises(TypeError):
        enact.Int(1, 2)
    with pytest.raises(ValueError):
        enact.Int("x")


@pytest.mark.parametrize("cls", [enact.Int, enact.Float, enact.Str, enact.Bytes])
def test_from_fields_checks_the_field(cls):
    with pytest.raises(ResourceError):
        cls.from_fields({})
    with pytest.raises(ResourceError):
        cls.from_fields({"value": None})
    with pytest.raises(ResourceError):
        cls.from_fields({"value": cls._builtin(), "extra": 1})


@pytest.mark.parametrize(
    "resource",
    [enact.Int(1), enact.Float(1.0), enact.Str("a"), enact.Bytes(b"a")],
)
def test_set_from_is_not_implemented(resource):
    with pytest.raises(NotImplementedError):
        resource.set_from(resource)


def test_wrappers_differ_from_each_other_and_from_plain_values():
    values = [enact.Int(1), enact.Float(1.0), enact.Str("1"), enact.Bytes(b"1")]
    assert len({digests.digest(value) for value in values}) == 4


# -- NPArray and Image ---------------------------------------------------------


def test_nparray_value_and_str():
    array = make_array()
    resource = enact.NPArray(array)
    assert resource.value is array
    assert str(resource) == str(array)
    (data,) = resource.field_values()
    assert isinstance(data, bytes)
    assert np.array_equal(np.load(io.BytesIO(data)), array)


def test_image_value_and_png_data():
    image = make_image()
    resource = enact.Image(image)
    assert resource.value is image
    assert list(enact.Image.field_names()) == ["data"]
    assert resource.data.startswith(b"\x89PNG")
    assert resource.data == resource.data
    assert list(resource.field_values()) == [resource.data]


def test_nparray_and_image_have_identity_equality():
    array = make_array()
    assert enact.NPArray(array) != enact.NPArray(array)
    image = make_image()
    assert enact.Image(image) != enact.Image(image)


def test_nparray_and_image_set_from_is_not_implemented():
    with pytest.raises(NotImplementedError):
        enact.NPArray(make_array()).set_from(enact.NPArray(make_array()))
    with pytest.raises(NotImplementedError):
        enact.Image(make_image()).set_from(enact.Image(make_image()))


def test_nparray_refuses_object_arrays():
    resource = enact.NPArray(np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        resource.to_resource_dict()


def test_nparray_and_image_from_fields_check_the_data():
    with pytest.raises(ResourceError):
        enact.NPArray.from_fields({"value": "not bytes"})
    with pytest.raises(ResourceError):
        enact.Image.from_fields({"data": None})


# -- all six: commit -> checkout -> recommit -----------------------------------
# ``store`` (tests/conftest.py) runs each test against every store kind.


def _examples():
    return [
        enact.Int(7),
        enact.Float(-0.25),
        enact.Str("héllo"),
        enact.Bytes(b"\x00\xff"),
        enact.NPArray(make_array()),
        enact.Image(make_image()),
    ]


@pytest.mark.parametrize(
    "index", range(6), ids=["Int", "Float", "Str", "Bytes", "NPArray", "Image"]
)
def test_commit_checkout_recommit_gives_an_equal_ref(store, index):
    original = _examples()[index]
    with store:
        ref = enact.commit(original)
        copy = store.checkout(ref)
        assert copy is not original
        assert type(copy) is type(original)
        assert store.commit(copy) == ref
        assert list(copy.field_values()) == list(original.field_values())


def test_checked_out_nparray_equals_the_original():
    array = make_array()
    store = enact.InMemoryStore()
    copy = store.checkout(store.commit(enact.NPArray(array)))
    assert copy.value.dtype == array.dtype
    assert np.array_equal(copy.value, array)


def test_checked_out_image_equals_the_original():
    image = make_image()
    store = enact.InMemoryStore()
    copy = store.checkout(store.commit(enact.Image(image)))
    assert copy.value.size == image.size
    assert copy.value.mode == image.mode
    assert copy.value.tobytes() == image.tobytes()


def test_all_six_are_registered():
    for resource in _examples():
        assert Registry.get().lookup(type(resource).type_id()) is type(resource)
