"""What identity remembers: recent encodings and digests, under one bound.

One policy for every memo of a value's identity. An entry is remembered under
a key that determines it entirely: a class and the field types and values of a
resource (for its encoding), the encoding itself (for its digest), or, for the
few large objects, the object by identity while the entry holds it (bytes and
str never change). All the memos share one bound, on the entries and on the
bytes they hold; when it is reached everything is forgotten at once: a journal
refills what it uses within a call or two, and a hit costs nothing extra.

The dicts' ``get`` methods are exported as they are (a call in C): the
journal looks things up here several times per call.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ENTRY_BYTES",
    "LARGE",
    "SMALL",
    "encoding",
    "forget_all",
    "known_digest",
    "large_digest",
    "remember_digest",
    "remember_encoding",
    "register",
    "remember_large_digest",
    "spend",
]

#: Encodings up to this size are remembered by their bytes for their digest
#: (a bytes object caches its hash, so the memo's look-up is cheap); larger
#: ones by identity, as the hash of a large bytes object is not free.
SMALL = 2048
#: From this size a str or bytes leaf counts as large: its JSON and the hash
#: states after it are remembered (:mod:`enact._identity.large`).
LARGE = 4096
#: No single entry holds more than this.
ENTRY_BYTES = 4 << 20

# The one bound: the bytes the entries hold, each counted with what its key
# and slot cost besides.
_MAX_BYTES = 32 << 20
_OVERHEAD = 200

# Encodings by content key.
_encodings: dict[Any, bytes] = {}
# Digests of small encodings, by the encoding.
_digests: dict[bytes, str] = {}
# Digests of large encodings, by identity: (the encoding, its digest).
_large_digests: dict[int, tuple[bytes, str]] = {}
# The other memos of the package register their dicts here, to be cleared
# with these.
_all: list[dict[Any, Any]] = [_encodings, _digests, _large_digests]
_held = [0]  # bytes

#: The remembered encoding for a content key, or None.
encoding = _encodings.get
#: The digest of recently hashed small bytes, or None (no hashing, no call).
known_digest = _digests.get


def large_digest(data: bytes) -> str | None:
    """The remembered digest of a large bytes object (this very object)."""
    entry = _large_digests.get(id(data))
    if entry is not None and entry[0] is data:
        return entry[1]
    return None


def register(memo: dict[Any, Any]) -> None:
    """Puts ``memo`` under the shared bound: cleared when the bound is met."""
    _all.append(memo)


def spend(size: int) -> None:
    """Counts one new entry holding ``size`` bytes against the bound (the
    remember functions below do the same, inlined)."""
    held = _held
    held[0] += size + _OVERHEAD
    if held[0] > _MAX_BYTES:
        forget_all()


def forget_all() -> None:
    """Forgets every remembered entry."""
    for memo in _all:
        memo.clear()
    _held[0] = 0


def remember_encoding(key: tuple[Any, ...], data: bytes) -> None:
    """Remembers the encoding of a value whose content ``key`` describes.

    ``key`` must start with the value's class and determine its encoding
    entirely: equal keys, equal bytes.
    """
    size = len(data)
    if size <= ENTRY_BYTES:
        held = _held
        held[0] += size + _OVERHEAD
        if held[0] > _MAX_BYTES:
            forget_all()
        _encodings[key] = data


def remember_digest(data: bytes, digest: str) -> None:
    """Remembers the digest of small bytes."""
    held = _held
    held[0] += len(data) + _OVERHEAD
    if held[0] > _MAX_BYTES:
        forget_all()
    _digests[data] = digest


def remember_large_digest(data: bytes, digest: str) -> None:
    """Remembers the digest of a large bytes object, by identity (the entry
    holds the object, so its id is not reused meanwhile)."""
    size = len(data)
    if size <= ENTRY_BYTES and type(data) is bytes:
        spend(size)
        _large_digests[id(data)] = (data, digest)
