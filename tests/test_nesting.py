"""Hostile values at every entry point: values nested too deeply, values that
contain themselves, and digests that are not digests get enact's own errors,
in time linear in their size (the suite's per-test timeout catches a
quadratic walk: 100,000 levels took minutes with one)."""

from __future__ import annotations

import hashlib
import json
import pathlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import _codec
from enact.digests import digest, is_digest
from enact.interfaces import NESTING_LIMIT, FieldTypeError
from enact.references import InvalidRefId, Ref
from enact.serialization import (
    CanonicalSerializer,
    DeserializationError,
    JsonSerializer,
    load_json,
)
from enact.ui import _forms
from enact.wrappers import DictWrapper, ListWrapper
from hostile import HOSTILE_CASES, HostileCase, cyclic, deep_json, nested, stored
from strategies import Pair

KINDS = ["list", "dict", "tuple", "resource", "dataclass"]


def too_deep(kind: str) -> st.SearchStrategy[Any]:
    """Values just past the limit up to a few thousand levels (tuples and
    wrapped dataclasses are two levels each in the stored form)."""
    return st.integers(NESTING_LIMIT + 1, 3000).map(lambda depth: nested(kind, depth))


def assert_too_deep(error: BaseException) -> None:
    assert isinstance(error, FieldTypeError)
    assert f"nested deeper than {NESTING_LIMIT} levels" in str(error)
    assert error.path, "the error names where"


# -- deep values ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_too_deep_values_are_refused_by_commit_encode_and_digest(kind, data):
    value = data.draw(too_deep(kind))
    with pytest.raises(FieldTypeError) as info:
        _codec.encode(value)
    assert_too_deep(info.value)
    with enact.InMemoryStore():
        with pytest.raises(FieldTypeError) as info:
            enact.commit(value)
    assert_too_deep(info.value)
    with pytest.raises(FieldTypeError) as info:
        enact.deepcopy(value)
    assert_too_deep(info.value)
    with pytest.raises(FieldTypeError) as info:
        digest(enact.wrap(value))
    assert_too_deep(info.value)


@settings(max_examples=15, deadline=None)
@given(depth=st.integers(NESTING_LIMIT // 2 + 1, 3000))
def test_wrap_refuses_tuples_nested_too_deeply(depth):
    value = nested("tuple", depth)
    with pytest.raises(FieldTypeError) as info:
        enact.wrap(value)
    assert_too_deep(info.value)
    with pytest.raises(FieldTypeError) as info:
        enact.wrap({value})
    assert_too_deep(info.value)


@pytest.mark.parametrize(
    ("kind", "depth"),
    # The deepest each kind stores: the wrapper of the top-level value is a
    # level, a tuple is two (its wrapper and its items), a resource one, a
    # dataclass one (its wrapper).
    [
        ("list", NESTING_LIMIT - 2),
        ("dict", NESTING_LIMIT - 2),
        ("tuple", NESTING_LIMIT // 2 - 1),
        ("resource", NESTING_LIMIT - 1),
        ("dataclass", NESTING_LIMIT - 1),
    ],
)
def test_values_at_the_limit_round_trip(kind, depth):
    value = nested(kind, depth)
    with enact.InMemoryStore() as store:
        ref = store.commit(value)
        assert store.checkout(Ref(ref.digest)) == value
    with pytest.raises(FieldTypeError, match="nested deeper than"):
        _codec.encode(nested(kind, depth + 2))


# -- cycles --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "dict", "tuple", "resource", "dataclass"])
@settings(max_examples=10, deadline=None)
@given(depth=st.integers(0, 100))
def test_values_that_contain_themselves_are_cycles(kind, depth):
    value = cyclic(kind, depth)
    with enact.InMemoryStore():
        with pytest.raises(FieldTypeError, match="cycle") as info:
            enact.commit(value)
    assert len(info.value.path) > depth, "the path leads to the cycle"
    with pytest.raises(FieldTypeError, match="cycle"):
        enact.deepcopy(value)
    resource = Pair(first=value)
    with pytest.raises(FieldTypeError, match="cycle") as info:
        resource.to_resource_dict()
    assert info.value.path[0] == "first"


# -- digests and ref ids -------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_from_id_refuses_digests_that_are_not_64_lowercase_hex(text):
    ref_id = json.dumps({"digest": text})
    if is_digest(text):
        assert Ref.from_id(ref_id).digest == text
    else:
        with pytest.raises(InvalidRefId, match="not 64 lowercase hex"):
            Ref.from_id(ref_id)


@pytest.mark.parametrize(
    "digest", ["zz", "../../etc/passwd", "A" * 64, "0" * 63, "0" * 65, "0" * 63 + "g"]
)
def test_from_id_refuses_named_bad_digests(digest):
    with pytest.raises(InvalidRefId):
        Ref.from_id(json.dumps({"digest": digest}))


@pytest.mark.parametrize(
    "ref_id",
    ['{"digest": 1}', '{"digest": "%s", "x": 1}' % ("0" * 64), "[]", "nope", ""],
)
def test_from_id_refuses_other_shapes(ref_id):
    with pytest.raises(InvalidRefId):
        Ref.from_id(ref_id)


@settings(max_examples=15, deadline=None)
@given(depth=st.integers(2, 5000), kind=st.sampled_from(["list", "dict"]))
def test_from_id_refuses_deep_json(depth, kind):
    inner = deep_json(kind, depth)
    with pytest.raises(InvalidRefId):
        Ref.from_id('{"digest": ' + inner + "}")


# -- stored bytes --------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(depth=st.integers(NESTING_LIMIT, 5000), kind=st.sampled_from(["list", "dict"]))
def test_deep_stored_bytes_are_refused(depth, kind):
    wrapper = ListWrapper if kind == "list" else DictWrapper
    data = stored(wrapper, deep_json(kind, depth).encode())
    with pytest.raises(_codec.DecodeError, match=r"nested|depth"):
        _codec.decode(data)
    with pytest.raises(DeserializationError):
        CanonicalSerializer().deserialize(data)
    key = hashlib.sha256(data).hexdigest()
    with enact.InMemoryStore() as store:
        assert store._objects is not None
        store._objects.put_many([(key, [data])])
        with pytest.raises(DeserializationError):
            store.checkout(Ref(key))


@settings(max_examples=15, deadline=None)
@given(depth=st.integers(NESTING_LIMIT + 1, 5000))
def test_json_serializer_refuses_deep_documents(depth):
    document = '{{"#res": {}, "first": {}}}'.format(
        json.dumps(Pair.type_id()),
        deep_json("list", depth),
    )
    with pytest.raises(DeserializationError, match="nested deeper than"):
        JsonSerializer().deserialize(document.encode())


# -- command line and forms ----------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    depth=st.integers(NESTING_LIMIT + 1, 5000), kind=st.sampled_from(["list", "dict"])
)
def test_answers_from_users_refuse_deep_json(depth, kind):
    text = deep_json(kind, depth)
    with pytest.raises(DeserializationError, match="nested deeper than"):
        load_json(text)
    form = _forms.form_for(Pair.type_id(), "a.")
    with pytest.raises(_forms.FormError, match="nested deeper than"):
        _forms.read_form(form, {"a.first": text})


def test_json_within_the_limit_is_read():
    text = json.dumps(nested("list", NESTING_LIMIT - 1))
    assert load_json(text) == nested("list", NESTING_LIMIT - 1)


# -- 100,000 levels, cycles and bad digests, at every entry point -----------


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=lambda case: case.name)
def test_hostile_inputs_end_as_promised(case: HostileCase, tmp_path: pathlib.Path):
    value = case.make()
    outcome: BaseException | None = None
    try:
        case.attempt(value, tmp_path)
    except Exception as error:  # judged below
        outcome = error
    assert case.ends_as_promised(outcome), (case.name, outcome)
