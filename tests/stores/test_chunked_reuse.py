"""The chunking layer's shortcuts give what the plain rules give.

A long segment that begins like one cut before keeps that one's chunks
(checked by their bytes) and is scanned only from where it differs; the
references of an object are found by a split when that finds what the
pattern finds. Both are checked here against the plain computations, on
segments related the way journal records and edited documents are.
"""

from __future__ import annotations

import hashlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from enact.backends import chunked
from enact.backends.chunk_format import (
    CHUNK_MAGIC,
    encode_manifest,
    parse_manifest,
)
from enact.backends.chunking import MAX_CHUNK, RUN, cut_segment, has_long_run
from enact.backends.gc import REFERENCE


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
