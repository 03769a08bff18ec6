"""Shared Hypothesis strategies and helpers for the data-layer tests.

Field values are generated recursively: None, bools, ints (including
ones beyond 64 bits), floats (including nan, infinities and -0.0), text, bytes,
lists, tuples, str-keyed dicts (including keys that start with ``#``), nested
registered dataclass resources, the builtin wrappers (``Int``, ``Str``, ...),
Refs and resource classes.

:func:`strict_equal` is the type-strict equality the properties compare with:
``True``, ``1`` and ``1.0`` differ, tuples equal lists, nan equals nan.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

import enact

__all__ = [
    "DISTINCTNESS_EXAMPLES",
    "DISTINCTNESS_VALUES_PER_EXAMPLE",
    "ROUND_TRIP_EXAMPLES",
    "Node",
    "Pair",
    "CHECKED_VALUES",
    "RESOURCE_CLASSES",
    "field_values",
    "fixed_values",
    "hex_digests",
    "json_field_values",
    "resources",
    "small_field_values",
    "strict_equal",
]


# How many generated nested values the two central properties check: the
# round trip (test_codec) one per example, distinctness (test_digests) at least
# DISTINCTNESS_VALUES_PER_EXAMPLE per example, each also round-tripped. The
# project requires at least 10,000 in all; more would slow the suite down.
ROUND_TRIP_EXAMPLES = 2500
DISTINCTNESS_EXAMPLES = 1250
DISTINCTNESS_VALUES_PER_EXAMPLE = 6
CHECKED_VALUES = (
    ROUND_TRIP_EXAMPLES + DISTINCTNESS_EXAMPLES * DISTINCTNESS_VALUES_PER_EXAMPLE
)


# The persistent names keep the type ids (and so the digests) independent of
# how pytest names this module.
@enact.register(name="tests.strategies.Node")
@dataclasses.dataclass
class Node(enact.Resource):
    """A resource with one value and a list of children."""

    value: Any = None
    children: Any = dataclasses.field(default_factory=list)


@enact.register(name="tests.strategies.Pair")
@dataclasses.dataclass
class Pair(enact.Resource):
    """A resource with two fields."""

    first: Any = None
    second: Any = None


RESOURCE_CLASSES: list[type[enact.ResourceBase]] = [
    Node,
    Pair,
    enact.NoneResource,
    enact.Ref,
    enact.Int,
    enact.Float,
    enact.Str,
    enact.Bytes,
]

# A user key may look like a tag; the encoding must keep it apart from one.
TAG_LIKE_KEYS = ["#", "##", "#res", "#bytes", "#type", "#int", "#float", "##x", "#b85"]

hex_digests = st.binary(min_size=32, max_size=32).map(bytes.hex)

_keys = st.one_of(st.text(max_size=4), st.sampled_from(TAG_LIKE_KEYS))
# JsonSerializer refuses keys that start with its escape character.
_json_keys = st.text(max_size=4).filter(lambda key: not key.startswith("#"))

# One flat one_of: every level of nesting in a strategy costs Hypothesis draws.
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    st.text(max_size=6),
    st.binary(max_size=8),
    st.sampled_from(
        [
            # Edges of the 64-bit range, where ints change representation.
            2**63 - 1,
            2**63,
            -(2**63),
            -(2**63) - 1,
            2**64,
            0.0,
            -0.0,
            math.nan,
            math.inf,
            -math.inf,
            5e-324,
            1e16,
            "#",
            "\n",
            b"\n",
            *RESOURCE_CLASSES,
        ]
    ),
    hex_digests.map(enact.Ref),
    st.builds(enact.NoneResource),
    st.integers().map(enact.Int),
    st.floats().map(enact.Float),
    st.text(max_size=4).map(enact.Str),
    st.binary(max_size=4).map(enact.Bytes),
)


def _containers(keys: st.SearchStrategy[str]) -> Any:
    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.lists(children, max_size=3),
            st.lists(children, max_size=3).map(tuple),
            st.dictionaries(keys, children, max_size=3),
            st.builds(Node, children, st.lists(children, max_size=2)),
            st.builds(Pair, children, children),
        )

    return extend


#: Any field value, nested up to a few levels.
field_values: st.SearchStrategy[Any] = st.recursive(
    _leaves, _containers(_keys), max_leaves=10
)

#: Field values whose dict keys do not start with ``#`` (for JsonSerializer).
json_field_values: st.SearchStrategy[Any] = st.recursive(
    _leaves, _containers(_json_keys), max_leaves=10
)

#: Resources whose fields hold arbitrary field values.
resources: st.SearchStrategy[enact.ResourceBase] = st.one_of(
    st.builds(Node, field_values, st.lists(field_values, max_size=3)),
    st.builds(Pair, field_values, field_values),
)

# A small domain, so that equal and nearly equal values are drawn often.
_SMALL_DIGESTS = ["0" * 64, "f" * 64]
_small_leaves = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            0,
            1,
            -1,
            2**64,
            0.0,
            -0.0,
            1.0,
            math.nan,
            math.inf,
            "",
            "1",
            "a",
            "ab",
            b"",
            b"1",
            b"a",
            b"ab",
            b"bc",
            b"c",
        ]
    ),
    st.sampled_from(RESOURCE_CLASSES[:3]),
    st.sampled_from(_SMALL_DIGESTS).map(enact.Ref),
    st.builds(enact.NoneResource),
    st.sampled_from([0, 1]).map(enact.Int),
    st.sampled_from([1.0, -0.0]).map(enact.Float),
    st.sampled_from(["", "1"]).map(enact.Str),
    st.sampled_from([b"1"]).map(enact.Bytes),
)


def _small_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=2),
        st.lists(children, max_size=2).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b", "#a", "##a"]), children, max_size=2),
        st.builds(Node, children, st.lists(children, max_size=1)),
        st.builds(Pair, children, children),
    )


#: Field values from a small domain (many collisions and near collisions).
small_field_values: st.SearchStrategy[Any] = st.recursive(
    _small_leaves, _small_containers, max_leaves=6
)


def strict_equal(a: Any, b: Any) -> bool:
    """Type-strict structural equality of field values.

    ``True``, ``1`` and ``1.0`` differ, as do ``0.0`` and ``-0.0``; nan equals
    nan; a tuple equals a list with the same items; resources are equal when
    they have the same class and strictly equal fields; classes by identity.
    """
    if isinstance(a, enact.ResourceBase) or isinstance(b, enact.ResourceBase):
        if type(a) is not type(b):
            return False
        items_a = list(a.field_items())
        items_b = list(b.field_items())
        return [n for n, _ in items_a] == [n for n, _ in items_b] and all(
            strict_equal(x, y) for (_, x), (_, y) in zip(items_a, items_b, strict=True)
        )
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (
            isinstance(a, (list, tuple))
            and isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (
            isinstance(a, Mapping)
            and isinstance(b, Mapping)
            and set(a) == set(b)
            and all(strict_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, type) or isinstance(b, type):
        return a is b
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def fixed_values(seed: int = 20240601, count: int = 150) -> list[enact.ResourceBase]:
    """A deterministic list of nested resources, the same in every process.

    Used to check that digests do not depend on the process (hash seed, dict
    insertion order, ...).
    """
    rng = random.Random(seed)

    def leaf() -> Any:
        choice = rng.randrange(12)
        if choice == 0:
            return None
        if choice == 1:
            return rng.random() < 0.5
        if choice == 2:
            return rng.randint(-(2**70), 2**70)
        if choice == 3:
            return rng.choice([rng.uniform(-1e9, 1e9), math.nan, -0.0, math.inf])
        if choice == 4:
            return "".join(
                rng.choice("ab#é\U0001f600\n") for _ in range(rng.randrange(5))
            )
        if choice == 5:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(6)))
        if choice == 6:
            return enact.Ref(rng.getrandbits(256).to_bytes(32, "big").hex())
        if choice == 7:
            return rng.choice(RESOURCE_CLASSES)
        if choice == 8:
            return enact.Int(rng.randint(-5, 5))
        if choice == 9:
            return enact.Str(rng.choice(["", "x", "#y"]))
        if choice == 10:
            return enact.NoneResource()
        return enact.Bytes(b"\x00\n")

    def value(depth: int) -> Any:
        if depth == 0 or rng.random() < 0.3:
            return leaf()
        kind = rng.randrange(4)
        size = rng.randrange(4)
        if kind == 0:
            return [value(depth - 1) for _ in range(size)]
        if kind == 1:
            keys = ["a", "b", "#c", "", "zz", "ä"]
            rng.shuffle(keys)
            return {key: value(depth - 1) for key in keys[:size]}
        if kind == 2:
            return Pair(value(depth - 1), value(depth - 1))
        return tuple(value(depth - 1) for _ in range(size))

    return [Node(value(4), [value(2)]) for _ in range(count)]
