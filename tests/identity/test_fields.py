"""Flat encoders generated from declared fields write the tree path's bytes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import _codec
from enact._identity import fields


@enact.register
@dataclasses.dataclass
class Mixed(enact.Resource):
    """A record of every field kind, in an order unlike the JSON's."""

    _enact_type_name = "tests.identity.Mixed"

    zeta: Any
    alpha: Any
    flag: Any
    children: Any
    maybe: Any
    count: Any


# The general closure: no written-out shape has these kinds.
encoder = fields.declare(
    Mixed,
    zeta=fields.REF,
    alpha=fields.VALUE,
    flag=fields.BOOL,
    children=fields.REFS,
    maybe=fields.OPTIONAL_REF,
    count=fields.VALUE,
)

digests = st.text("0123456789abcdef", min_size=64, max_size=64)
refs = st.builds(enact.Ref, digests)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        | st.tuples(inner)
    ),
    max_leaves=6,
)
anything = values | refs | st.just(enact.Int(3))


@settings(max_examples=200, deadline=None)
@given(
    zeta=refs | anything,
    alpha=values,
    flag=st.booleans() | anything,
    children=st.lists(refs, max_size=4) | anything,
    maybe=st.none() | refs | anything,
    count=values,
)
def test_the_general_encoder_writes_the_tree_paths_bytes(
    zeta: Any, alpha: Any, flag: Any, children: Any, maybe: Any, count: Any
) -> None:
    record = Mixed(zeta, alpha, flag, children, maybe, count)
    try:
        tree_types: dict[str, Any] = {}
        tree = _codec._encode_tree(record, tree_types)
    except enact.FieldTypeError:
        assert encoder(record, None) is None
        return
    for _ in range(2):  # the second time from the memo, where remembered
        flat_types: dict[str, Any] = {}
        data = encoder(record, flat_types)
        if data is None:
            break
        assert [data] == tree
        assert flat_types == tree_types


def test_declaring_unknown_kinds_or_two_ref_lists_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown field kinds"):
        fields.record_encoder(
            Mixed,
            Mixed.type_id(),
            {"zeta": "set"},
            ref_type=enact.Ref,
            ref_type_id=enact.Ref.type_id(),
            flat_ref=_codec.flat_encoder(enact.Ref),  # type: ignore[arg-type]
            flat_refs=lambda refs, types: None,
            field_pieces=_codec.flat_field_pieces,
        )
    with pytest.raises(ValueError, match="tree path"):
        fields.declare(Mixed, zeta=fields.REFS, children=fields.REFS)
