"""Large values are encoded and hashed once, and their digests stay exact."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import _codec
from enact._identity import large, memo
from enact._invocations.calls import make_call_args
from enact.digests import digest, hash_bytes

BIG = memo.LARGE
_SHA256 = hashlib.sha256  # the real one, while a test counts what is hashed


def tree_digest(value: Any) -> str:
    """The digest of the tree path's bytes: the reference."""
    hasher = _SHA256()
    for part in _codec._encode_tree(value):
        hasher.update(part)
    return hasher.hexdigest()


def committed_digest(value: Any) -> str:
    with enact.InMemoryStore() as store:
        return store.commit(value).digest


class CountingSha256:
    """hashlib.sha256 that counts the bytes it is given."""

    hashed = 0

    def __init__(self, data: bytes = b"") -> None:
        self._hasher = _SHA256(data)
        CountingSha256.hashed += len(data)

    def update(self, data: bytes) -> None:
        CountingSha256.hashed += len(data)
        self._hasher.update(data)

    def copy(self) -> Any:
        copy = CountingSha256.__new__(CountingSha256)
        copy._hasher = self._hasher.copy()
        return copy

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


text_sizes = st.sampled_from([BIG - 3, BIG - 1, BIG, BIG + 1, 3 * BIG, 100_000])
texts = st.builds(
    lambda size, char: (char * size)[:size],
    text_sizes,
    st.sampled_from(["a", 'q"', "é", "\\n", "\U0001f600", "\x00"]),
)


@settings(max_examples=60, deadline=None)
@given(
    payload=texts,
    number=st.integers(-5, 5),
    where=st.sampled_from(["first", "last", "kwarg", "list", "alone"]),
)
def test_large_arguments_have_the_tree_paths_digest(
    payload: str, number: int, where: str
) -> None:
    args: list[Any]
    kwargs: dict[str, Any] = {}
    if where == "first":
        args = [payload, number]
    elif where == "last":
        args = [number, payload]
    elif where == "kwarg":
        args, kwargs = [number], {"document": payload, "a": number}
    elif where == "list":
        args = [[payload, number], payload]
    else:
        args = [payload]
    for _ in range(3):  # encoded anew, then from what is remembered
        call_args = make_call_args(args, kwargs)
        expected = tree_digest(call_args)
        assert digest(call_args) == expected
        assert committed_digest(call_args) == expected
        assert _codec.encode(call_args) == _codec._encode_tree(call_args)
    memo.forget_all()
    assert digest(make_call_args(args, kwargs)) == expected


@settings(max_examples=30, deadline=None)
@given(payload=texts)
def test_large_str_resources_and_plain_values_keep_their_digests(payload: str) -> None:
    for value in (enact.Str(payload), payload, [payload, 1], {"k": payload}):
        for _ in range(2):
            assert enact.Ref.from_resource(value).digest == tree_digest(value)
            assert committed_digest(value) == tree_digest(value)


def test_a_mutated_list_gets_its_new_digest() -> None:
    payload = "x" * 100_000
    items: list[Any] = [payload, 1]
    before = digest(make_call_args([items], {}))
    items.append(2)
    after = digest(make_call_args([items], {}))
    assert before != after
    assert after == tree_digest(make_call_args([items], {}))
    items[0] = "y" * 100_000
    assert digest(make_call_args([items], {})) == tree_digest(
        make_call_args([items], {})
    )


def test_a_large_bytes_value_is_hashed_exactly() -> None:
    payload = bytes(range(256)) * 400
    for number in range(3):
        value = enact.wrap([number, payload])
        assert committed_digest(value) == tree_digest(value)


def test_the_same_payload_in_many_calls_is_hashed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each call's record differs (its own number), but the hash state after
    the shared head and payload is resumed: only the rest is hashed again."""
    monkeypatch.setattr(large.hashlib, "sha256", CountingSha256)
    payload = "lorem ipsum " * 10_000
    # Start empty, so that the bound is not reached (and all forgotten) in
    # the middle, whatever earlier tests left.
    memo.forget_all()
    CountingSha256.hashed = 0
    for number in range(50):
        call_args = make_call_args([payload, number], {})
        assert digest(call_args) == tree_digest(call_args)
    # The reference digests above are computed with the real hashlib; the
    # payload went through the counting one about once.
    assert CountingSha256.hashed < 2 * len(payload)


def test_hash_bytes_of_joined_pieces_matches_sha256() -> None:
    piece = b"z" * (3 * BIG)
    for head in (b"", b"a", b"b" * 10):
        data = large.join([head, piece, b"tail"])
        assert hash_bytes(data) == hashlib.sha256(data).hexdigest()
        assert hash_bytes(data) == hashlib.sha256(data).hexdigest()  # remembered
