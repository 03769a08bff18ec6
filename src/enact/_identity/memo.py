"""What identity remembers: recent encodings and digests, under one bound.

One policy for every memo of a value's identity. An entry is remembered under
a key that determines it entirely: a class and the field types and values of a
resource (for its encoding), the encoding itself (for its digest), or, for the
few large objects, the object by identity while the entry holds it (bytes and
str never change). All the memos share one bound: at most :data:`ENTRIES`
small entries in each, and :data:`LARGE_BYTES` held by the large ones
together. When it is reached everything is forgotten at once: a journal
refills what it uses within a call or two, and a hit costs nothing extra.

The dicts and their ``get`` methods are exported as they are (a call in C):
the journal looks things up here several times per call, and the digest of
small bytes is remembered inline (:func:`enact.digests.hash_bytes`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ENTRIES",
    "ENTRY_BYTES",
    "LARGE",
    "LARGE_BYTES",
    "SMALL",
    "digests",
    "encoding",
    "forget_all",
    "known_digest",
    "large_digest",
    "register",
    "remember_encoding",
    "remember_large_digest",
    "spend",
]

#: Encodings up to this size are small: remembered by their bytes for their
#: digest (a bytes object caches its hash, so the memo's look-up is cheap);
#: larger ones by identity, as the hash of a large bytes object is not free.
SMALL = 2048
#: From this size a str or bytes leaf counts as large: its JSON and the hash
#: states after it are remembered (:mod:`enact._identity.large`).
LARGE = 4096
#: No single entry holds more than this.
ENTRY_BYTES = 4 << 20
#: At most this many small entries per memo.
ENTRIES = 16384
#: At most this many bytes held by large entries, in all memos together.
LARGE_BYTES = 32 << 20

# Encodings by content key.
_encodings: dict[Any, bytes] = {}
#: Digests of small encodings, by the encoding (filled by hash_bytes).
digests: dict[bytes, str] = {}
# Digests of large encodings, by identity: (the encoding, its digest).
_large_digests: dict[int, tuple[bytes, str]] = {}
# Every memo of the package, cleared together.
_all: list[dict[Any, Any]] = [_encodings, digests, _large_digests]
_large_held = [0]

#: The remembered encoding for a content key, or None.
encoding = _encodings.get
#: The digest of recently hashed small bytes, or None (no hashing, no call).
known_digest = digests.get


def large_digest(data: bytes) -> str | None:
    """The remembered digest of a large bytes object (this very object)."""
    entry = _large_digests.get(id(data))
    if entry is not None and entry[0] is data:
        return entry[1]
    return None


def register(memo: dict[Any, Any]) -> None:
    """Puts ``memo`` under the shared bound: cleared with the others."""
    _all.append(memo)


def spend(size: int) -> None:
    """Counts a new large entry holding ``size`` bytes against the bound."""
    held = _large_held
    held[0] += size
    if held[0] > LARGE_BYTES:
        forget_all()


def forget_all() -> None:
    """Forgets every remembered entry."""
    for memo in _all:
        memo.clear()
    _large_held[0] = 0


def remember_encoding(key: tuple[Any, ...], data: bytes) -> None:
    """Remembers the encoding of a value whose content ``key`` describes.

    ``key`` must start with the value's class and determine its encoding
    entirely: equal keys, equal bytes.
    """
    size = len(data)
    if size <= SMALL:
        if len(_encodings) >= ENTRIES:
            forget_all()
    elif size <= ENTRY_BYTES:
        spend(size)
    else:
        return
    _encodings[key] = data


def remember_large_digest(data: bytes, digest: str) -> None:
    """Remembers the digest of a large bytes object, by identity (the entry
    holds the object, so its id is not reused meanwhile)."""
    size = len(data)
    if size <= ENTRY_BYTES and type(data) is bytes:
        spend(size)
        _large_digests[id(data)] = (data, digest)
