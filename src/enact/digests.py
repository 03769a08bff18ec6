"""Content digests: SHA-256 over the canonical encoding
(docs/compatibility.md#digests)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from enact import _codec
from enact.interfaces import ResourceBase, ResourceDict
from enact.resources import type_digest

__all__ = ["digest", "digest_parts", "is_digest", "resource_digest", "type_digest"]

# SHA-256 of a few hundred bytes costs ~1.5 us here, nearly all of it OpenSSL's
# per-call setup, and a journal hashes the same small encodings again and again
# (an unchanged invokable before and after each call, identical requests, the
# re-check of cached refs). A dict lookup on the bytes is ~10x cheaper. Bounded
# in entries and entry size; cleared whole when full.
_memo: dict[bytes, str] = {}
_MEMO_ENTRIES = 16384
# Longer bytes are never remembered, nor looked up in hash_bytes.
_MEMO_ENTRY_BYTES = 2048


_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_digest(text: object) -> bool:
    """Whether ``text`` is a digest as enact writes them: 64 lowercase hex
    digits (refs, file names and URLs take nothing else from the outside)."""
    return type(text) is str and _DIGEST.fullmatch(text) is not None


#: The digest of recently hashed small bytes, or None (no hashing, no call).
known_digest = _memo.get


def digest(resource: ResourceBase | ResourceDict[Any]) -> str:
    """The 64-character hex SHA-256 of a resource's canonical encoding.

    A resource and its :class:`ResourceDict` have the same digest.

    Raises:
        FieldTypeError: if the resource holds a value that cannot be stored.
    """
    # The flat path without _codec.encode's wrapping: a journal asks for the
    # digests of many small records.
    flat = _codec.flat_encoder(type(resource))
    if flat is not None:
        data = flat(resource, None)
        if data is not None:
            return _memo.get(data) or hash_bytes(data)
    return digest_parts(_codec.encode(resource))


def resource_digest(value: Any) -> str:
    """The digest of a resource, or of a plain value's wrapper.

    ``resource_digest(1) == digest(enact.wrap(1))``: the digest a committed
    plain value is stored under.

    Raises:
        FieldTypeError: if the value cannot be stored
            (:class:`~enact.interfaces.MissingWrapperError` if it has no
            wrapper).
    """
    return digest_parts(_codec.encode(value))


def digest_parts(parts: Iterable[bytes]) -> str:
    """The hex SHA-256 of the concatenation of ``parts``."""
    if type(parts) is list and len(parts) == 1:
        return hash_bytes(parts[0])
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part)
    return hasher.hexdigest()


# The digests of a few large bytes objects, by identity: the encoding memo of
# enact._codec hands out the same large object again (a parent's response,
# say). An entry holds its object, so the id cannot be reused meanwhile, and
# bytes do not change. At most 8 objects of at most 2 MiB are held.
_large: dict[int, tuple[bytes, str]] = {}
_LARGE_ENTRIES = 8
_LARGE_ENTRY_BYTES = 1 << 21


def hash_bytes(data: bytes) -> str:
    """The hex SHA-256 of ``data``, remembered for small inputs."""
    if len(data) > _MEMO_ENTRY_BYTES:
        return _large_digest(data)
    known = _memo.get(data)
    if known is not None:
        return known
    result = hashlib.sha256(data).hexdigest()
    if len(_memo) >= _MEMO_ENTRIES:
        _memo.clear()
    _memo[data] = result
    return result


def _large_digest(data: bytes) -> str:
    entry = _large.get(id(data))
    if entry is not None and entry[0] is data:
        return entry[1]
    result = hashlib.sha256(data).hexdigest()
    if type(data) is bytes and len(data) <= _LARGE_ENTRY_BYTES:
        if len(_large) >= _LARGE_ENTRIES:
            _large.clear()
        _large[id(data)] = (data, result)
    return result
