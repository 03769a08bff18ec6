"""The chunking layer's shortcuts give what the plain rules give.

A long segment that begins like one cut before keeps that one's chunks
(checked by their bytes) and is scanned only from where it differs; the
references of an object are found by a split when that finds what the
pattern finds. Both are checked here against the plain computations, on
segments related the way journal records and edited documents are.
"""

from __future__ import annotations

import hashlib
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import enact
from enact import _codec
from enact._identity import large, memo
from enact.backends import chunk_reuse, chunked
from enact.backends.chunk_format import (
    CHUNK_MAGIC,
    encode_manifest,
    parse_manifest,
)
from enact.backends.chunking import MAX_CHUNK, RUN, cut_segment, has_long_run
from enact.backends.gc import REFERENCE
from enact.references import Ref


def _plain_chunks(segment: bytes) -> list[tuple[int, int, str]]:
    """The chunks of a segment cut from scratch, with their keys."""
    found = []
    start = 0
    for end in cut_segment(segment):
        key = hashlib.sha256(CHUNK_MAGIC + segment[start:end]).hexdigest()
        found.append((start, end, key))
        start = end
    return found


def _text(seed: int, size: int) -> bytes:
    """Journal-like bytes: refs and short strings, many quotes."""
    rng = random.Random(seed)
    parts = [b'{"#res":"x","children":[']
    while sum(map(len, parts)) < size:
        digest = hashlib.sha256(str(rng.random()).encode()).hexdigest()
        parts.append(b'{"#res":"ref","digest":"' + digest.encode() + b'"},')
    return b"".join(parts)[:size]


_EDITS = st.sampled_from(["same", "shorter", "longer", "middle", "start", "other"])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    size=st.integers(MAX_CHUNK + 1, 60_000),
    edit=_EDITS,
    where=st.floats(0.0, 1.0),
    amount=st.integers(1, 9_000),
)
def test_a_segment_like_one_seen_is_cut_as_from_scratch(
    seed: int, size: int, edit: str, where: float, amount: int
) -> None:
    first = _text(seed, size)
    at = int(len(first) * where)
    second = {
        "same": first,
        "shorter": first[: max(MAX_CHUNK + 1, len(first) - amount)],
        "longer": first + _text(seed + 1, amount),
        "middle": first[:at] + b"x" * (amount % 50 + 1) + first[at:],
        "start": first[:200] + b"y" + first[201:],
        "other": _text(seed + 2, size),
    }[edit]
    chunked._SEGMENTS.clear()
    assert chunked._cut_long(first, 0, len(first)) == _plain_chunks(first)
    # The second is cut knowing the first (when they begin alike), and a
    # segment inside a larger object is cut the same way too.
    assert chunked._cut_long(second, 0, len(second)) == _plain_chunks(second)
    wrapped = b"ab" + second + b"cd"
    assert chunked._cut_long(wrapped, 2, 2 + len(second)) == _plain_chunks(second)


_FRAGMENTS = [
    b'{"#res":"r","digest":"%s"}',
    b'"digest" : "%s"',
    b'"digest":"%s',
    b'"digest"digest":"%s"',
    b'"digest":"%s"digest":"%s"',
    b'"digest":"%S"',
    b'["digest"]',
    b'"digest":abc"%s"',
    b'"digest":%s',
    b',"a":"digest"',
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(_FRAGMENTS), st.integers(0, 70)), max_size=30)
)
def test_references_are_what_the_pattern_finds(
    fragments: list[tuple[bytes, int]],
) -> None:
    pieces = []
    for number, (fragment, cut) in enumerate(fragments):
        digest = hashlib.sha256(bytes([number])).hexdigest().encode()
        text = fragment.replace(b"%S", digest.upper()).replace(b"%s", digest)
        if cut > 64:  # some fragments cut short anywhere
            text = text[: cut - 64]
        pieces.append(text)
    data = b"".join(pieces)
    assert chunked._references(data) == set(REFERENCE.findall(data))


def test_a_manifest_takes_references_as_hex_or_raw() -> None:
    key = hashlib.sha256(b"object").hexdigest()
    references = sorted(hashlib.sha256(bytes([n])).hexdigest() for n in range(5))
    raw = b"".join(bytes.fromhex(reference) for reference in references)
    as_hex = encode_manifest(key, 10, [b"abc", key], references)
    assert encode_manifest(key, 10, [b"abc", key], raw) == as_hex
    manifest = parse_manifest(as_hex, key)
    assert manifest is not None
    assert manifest.references == references


@settings(max_examples=300, deadline=None)
@given(
    size=st.sampled_from([0, 1, RUN // 2, RUN - 1, RUN, RUN + 1, 2 * RUN, 5_000]),
    slack=st.integers(-3, 3),
    quotes=st.sampled_from([0.0, 0.0004, 0.001, 0.002, 0.01, 0.2]),
    seed=st.integers(0, 10**6),
)
def test_a_long_run_is_found_by_probing_as_by_every_quote(
    size: int, slack: int, quotes: float, seed: int
) -> None:
    rng = random.Random(seed)
    data = bytes(
        ord('"') if rng.random() < quotes else ord("a")
        for _ in range(max(0, size + slack))
    )
    # The plain rule: some gap between quotes (or the ends) of RUN bytes.
    gaps = [len(piece) for piece in data.split(b'"')]
    assert has_long_run(data) == (max(gaps) >= RUN)


# -- a large string cut once per process ------------------------------------------


def _fresh_copy(data: bytes) -> bytes:
    """Equal bytes in a new object: not known as joined from pieces."""
    return b"".join([data[:1], data[1:]])


_HEADS = [
    b'{"#res":"args","args":[',
    b'{"a":1,"long":',
    b'{"digest":',
    b"[",
    b'{"#res":"x","k":"' + b"q" * 1500 + b'","v":',
    b'{"t":',  # a byte before the string that could end a reference
    b'{"x":"digest"  :',
    # Bytes a reference could run on from into the string (no canonical
    # encoding writes them; they are cut the plain way).
    b'["digest":"' + hashlib.sha256(b"h").hexdigest().encode(),
    b'["digest',
]
_TAILS = [
    b",7]}",
    b"]}",
    b',"digest":"' + hashlib.sha256(b"x").hexdigest().encode() + b'"}',
    b':"' + hashlib.sha256(b"y").hexdigest().encode() + b'"}',  # a key
    b',"z":"' + b"w" * 2000 + b'"}',
    b"a}",
    b'digest":"' + hashlib.sha256(b"t").hexdigest().encode() + b'"]',
    hashlib.sha256(b"u").hexdigest().encode() + b'"]',
]
_BODIES = st.sampled_from(
    [
        "lorem ipsum dolor sit amet ",
        'say "digest" and ',
        '"digest":"' + hashlib.sha256(b"z").hexdigest() + '" ',
        "\\ back\\\\slash ",
        'quote" here ',
        "\n\t plain text, more of it ",
        "x" * 1100,
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    head=st.sampled_from(_HEADS),
    tail=st.sampled_from(_TAILS),
    bodies=st.lists(_BODIES, min_size=1, max_size=6),
    size=st.integers(4_096, 70_000),
    end=st.sampled_from(["", '"digest', " : ", "\\"]),
    second=st.booleans(),
    forged=st.booleans(),
)
def test_remembered_chunks_give_the_plain_manifest(
    head: bytes,
    tail: bytes,
    bodies: list[str],
    size: int,
    end: str,
    second: bool,
    forged: bool,
) -> None:
    """An object joined from a large string's encoding is stored as the same
    chunks, nodes and manifest as the same bytes cut from scratch."""
    text = "".join(bodies) * (size // max(1, len("".join(bodies))) + 1)
    payload = large.str_json(text[:size] + end)
    if forged:  # a large piece between quotes that is no JSON string
        inner = b'","digest":"' + hashlib.sha256(b"f").hexdigest().encode() + b'","'
        payload = payload[:-1] + inner + payload[1:]
    pieces: list[bytes] = [head, payload, tail]
    if second:  # two large strings in one object
        pieces += [b',"w":', large.str_json(text[: size // 2 + 4_096]), b"}"]
    data = large.join(pieces)
    assert large.pieces_of(data) is not None
    plain = _fresh_copy(data)
    assert large.pieces_of(plain) is None
    key = hashlib.sha256(data).hexdigest()
    for _ in range(2):  # the second time from what the first remembered
        reused = chunked.split_large([(key, [data])])
        chunk_reuse.forget()
        chunked._GROUPINGS.clear()
        from_scratch = chunked.split_large([(key, [plain])])
        assert reused == from_scratch


def test_a_string_remembered_is_cut_again_only_when_it_is_no_longer_held() -> None:
    chunk_reuse.forget()
    payload = large.str_json("lorem ipsum " * 2_000)
    data = large.join([b"[", payload, b"]"])
    found = chunk_reuse.spans(data)
    assert found is not None
    ((offset, cut),) = found
    assert offset == 1 and cut.size == len(payload)
    assert chunk_reuse.spans(large.join([b"[", payload, b",1]"]))[0][1] is cut
    # Equal bytes in another object: cut again (identity, not equality, is
    # what the entry holds).
    other = _fresh_copy(payload)
    again = chunk_reuse.spans(large.join([b"[", other, b"]"]))
    assert again is not None and again[0][1] is not cut
    assert again[0][1] == cut


def test_the_memos_stay_within_their_bounds() -> None:
    chunk_reuse.forget()
    strings = [
        large.str_json(f"{number} " + "lorem ipsum " * 9_000)
        for number in range(chunk_reuse.ENTRIES + 40)
    ]
    for payload in strings:
        assert chunk_reuse.spans(large.join([b"[", payload, b"]"])) is not None
        assert len(chunk_reuse._cuts) <= chunk_reuse.ENTRIES
        assert chunk_reuse._held[0] <= chunk_reuse.HELD_BYTES
        assert len(large._joined) <= large._JOINED_ENTRIES
        assert large._joined_held[0] <= large._JOINED_BYTES
    # The bound was reached (the strings hold far more than it): entries went.
    assert sum(map(len, strings)) * 2 > chunk_reuse.HELD_BYTES
    assert len(chunk_reuse._cuts) < len(strings)
    for _ in range(chunked._GROUPINGS_LIMIT + 10):
        chunked._grouped([hashlib.sha256(os.urandom(8)).hexdigest()] * 12, [])
        assert len(chunked._GROUPINGS) <= chunked._GROUPINGS_LIMIT


@enact.register(name="tests.chunked_reuse.step")
def _step(payload: object, number: int) -> int:
    return number


@enact.register(name="tests.chunked_reuse.flow")
def _flow(document: str, steps: int) -> int:
    history = ["start"]
    total = 0
    for number in range(steps):
        total += _step(document, number)
        total += _step(history, number)
        history.append(document[number * 7 : number * 7 + 3000])  # mutated
    return total


def _raw(store: enact.Store) -> dict[str, bytes]:
    """Everything the store's objects hold: chunks, nodes, manifests."""
    layer = store.backend
    inner = getattr(layer, "inner", layer)
    keys = sorted(inner.iter_keys())
    return dict(zip(keys, inner.get_many(keys), strict=True))


def _run_flow(document: str, steps: int) -> tuple[str, dict[str, bytes]]:
    store = enact.InMemoryStore()
    with store:
        invocation = enact.invoke(_flow, (document, steps))
        digest = store.commit(invocation).digest
        store.flush()
    return digest, _raw(store)


def test_a_run_stores_the_bytes_and_digests_of_a_run_that_remembers_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same flow, with a large document in every call and a history
    mutated between calls, stores the same objects under the same digests
    whether or not the encodings and chunks are remembered."""
    document = "".join(f"line {n}: lorem ipsum dolor sit amet\n" for n in range(3000))
    remembered = _run_flow(document, 12)
    again = _run_flow(document, 12)  # everything remembered from the first
    assert again == remembered

    memo.forget_all()
    chunk_reuse.forget()
    monkeypatch.setattr(large, "pieces_of", lambda data: None)
    monkeypatch.setattr(chunked, "_GROUPINGS_LIMIT", 0)
    monkeypatch.setattr(memo, "LARGE_BYTES", 0)  # every large memo forgotten
    plain = _run_flow(_fresh_copy(document.encode()).decode(), 12)
    assert plain == remembered


def test_a_mutated_value_gets_its_new_digest() -> None:
    history = ["x" * 50_000]
    store = enact.InMemoryStore()
    with store:
        first = store.commit(enact.wrap(history))
        history.append("y" * 5_000)
        second = store.commit(enact.wrap(history))
        history[0] = "z" + history[0][1:]
        third = store.commit(enact.wrap(history))
    digests = [first.digest, second.digest, third.digest]
    assert len(set(digests)) == 3
    memo.forget_all()
    chunk_reuse.forget()
    canonical = b"".join(_codec.encode(enact.wrap(history)))
    assert hashlib.sha256(canonical).hexdigest() == third.digest
    with store:
        assert store.checkout(Ref(third.digest)) == history
