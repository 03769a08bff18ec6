"""Large values hashed and encoded once per process, not once per call.

The same document, prompt or payload is often passed to many calls: each
call's record holds it, so each record's canonical bytes contain it, and its
digest is a SHA-256 over all of them. Two things are remembered so that this
costs its size once rather than once per record:

- the JSON of a large str, by the str (a str never changes, and equal strs
  have equal JSON);
- the SHA-256 state after a prefix of an encoding that ends in a large piece:
  the bytes of an encoding are joined from pieces (:func:`join` notes which
  pieces a large encoding was joined from), and a record whose bytes start
  with the same pieces (the same head, then the same large str, say) resumes
  the hash after them. The state is looked up by the small pieces' bytes and
  the large pieces' identity (the entry holds them, and they never change),
  so a hit hashes only what follows.

A digest computed this way is the SHA-256 of exactly the stored bytes: only
the work of hashing a prefix already hashed is saved. Mutable values (lists,
dicts) are never remembered by identity: their encodings are rebuilt from
their contents at every call, and only their large str leaves are found
again here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from enact._identity import memo

__all__ = [
    "digest_large",
    "digest_large_resumed",
    "digest_pieces",
    "join",
    "note_joined",
    "pieces_of",
    "str_json",
]

LARGE = memo.LARGE

# Large strs' JSON, by the str.
_str_json: dict[str, bytes] = {}
# How recent large encodings were joined: id -> (the encoding, its pieces,
# large pieces already expanded into theirs). Encodings committed since the
# last flush need them (for their digests, then for their chunks): a run's
# records, bounded by count and by the bytes the entries hold.
_joined: dict[int, tuple[bytes, tuple[bytes, ...]]] = {}
_JOINED_ENTRIES = 256
_JOINED_BYTES = 16 << 20
_joined_held = [0]
# SHA-256 states after a prefix of pieces: key -> (state, the large pieces
# of the prefix, held so that their ids stay theirs).
_states: dict[tuple[Any, ...], tuple[Any, tuple[bytes, ...]]] = {}
# The small pieces before a large one are part of the key: bounded, so that
# a key stays cheap to build and compare.
_PREFIX_BYTES = 4096

memo.register(_str_json)
memo.register(_states)
# _joined keeps its own bound, and is not cleared with the others: a record
# committed but not yet written would lose what its chunks are cut from
# (:mod:`enact.backends.chunk_reuse`), and cost its payload's size again.


def str_json(text: str) -> bytes:
    """The JSON of a large str (remembered).

    Raises:
        orjson.JSONEncodeError: for a lone surrogate.
    """
    data = _str_json.get(text)
    if data is None:
        data = orjson.dumps(text)
        if len(data) <= memo.ENTRY_BYTES:
            memo.spend(len(data))
            _str_json[text] = data
    return data


def join(pieces: Sequence[bytes]) -> bytes:
    """``b"".join(pieces)``, noting how a large result was joined."""
    data = b"".join(pieces)
    if LARGE <= len(data) <= memo.ENTRY_BYTES:
        note_joined(data, pieces)
    return data


def note_joined(data: bytes, pieces: Sequence[bytes]) -> None:
    """Notes that ``data`` is the concatenation of ``pieces``."""
    flat: list[bytes] = []
    for piece in pieces:
        if len(piece) >= LARGE:
            entry = _joined.get(id(piece))
            if entry is not None and entry[0] is piece:
                flat.extend(entry[1])
                continue
        flat.append(piece)
    held = _joined_held
    if len(_joined) >= _JOINED_ENTRIES or held[0] + len(data) > _JOINED_BYTES:
        _joined.clear()
        held[0] = 0
    held[0] += len(data)
    _joined[id(data)] = (data, tuple(flat))


def pieces_of(data: bytes) -> tuple[bytes, ...] | None:
    """The pieces a large encoding was joined from (:func:`join`), large
    pieces expanded into theirs; None if that is no longer remembered."""
    entry = _joined.get(id(data))
    if entry is None or entry[0] is not data:
        return None
    return entry[1]


def digest_large(data: bytes) -> str:
    """The SHA-256 of large ``data``, resuming a remembered prefix's state
    when ``data`` was joined (:func:`join`) from pieces that start with a
    large one."""
    return digest_large_resumed(data)[0]


def digest_large_resumed(data: bytes) -> tuple[str, bool]:
    """:func:`digest_large`, and whether it resumed a remembered state (then
    hashing ``data`` again costs little: its digest is not worth holding)."""
    entry = _joined.get(id(data))
    if entry is None or entry[0] is not data:
        return hashlib.sha256(data).hexdigest(), False
    return _digest_pieces(entry[1])


def digest_pieces(pieces: Sequence[bytes]) -> str:
    """The SHA-256 of the concatenation of ``pieces``, resuming the state
    remembered after the same pieces up to the last large one."""
    return _digest_pieces(pieces)[0]


def _digest_pieces(pieces: Sequence[bytes]) -> tuple[str, bool]:
    last = -1
    for index, piece in enumerate(pieces):
        if len(piece) >= LARGE:
            last = index
    if last < 0:
        return _plain_digest(pieces), False
    key: list[Any] = []
    held: list[bytes] = []
    small = large = 0
    for piece in pieces[: last + 1]:
        if len(piece) >= LARGE:
            key.append(id(piece))
            held.append(piece)
            large += len(piece)
        else:
            small += len(piece)
            key.append(piece)
    if small > _PREFIX_BYTES or large > memo.ENTRY_BYTES:
        return _plain_digest(pieces), False
    prefix_key = tuple(key)
    found = _states.get(prefix_key)
    resumed = False
    if found is not None and all(a is b for a, b in zip(found[1], held, strict=True)):
        hasher = found[0].copy()
        resumed = True
    else:
        hasher = hashlib.sha256()
        for piece in pieces[: last + 1]:
            hasher.update(piece)
        memo.spend(small + large)
        _states[prefix_key] = (hasher.copy(), tuple(held))
    for piece in pieces[last + 1 :]:
        hasher.update(piece)
    result: str = hasher.hexdigest()
    return result, resumed


def _plain_digest(pieces: Sequence[bytes]) -> str:
    hasher = hashlib.sha256()
    for piece in pieces:
        hasher.update(piece)
    return hasher.hexdigest()
