"""Content digests: SHA-256 over the canonical encoding
(docs/compatibility.md#digests)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from enact import _codec
from enact._identity import large, memo
from enact.interfaces import ResourceBase, ResourceDict
from enact.resources import type_digest

__all__ = ["digest", "digest_parts", "is_digest", "resource_digest", "type_digest"]

# SHA-256 of a few hundred bytes costs ~1.5 us here, nearly all of it OpenSSL's
# per-call setup, and a journal hashes the same small encodings again and again
# (an unchanged invokable before and after each call, identical requests, the
# re-check of cached refs). A dict lookup on the bytes is ~10x cheaper. Large
# encodings are remembered by identity, and hashed resuming the state after a
# prefix hashed before (enact._identity: the memo policy and large values).
_SMALL = memo.SMALL
_ENTRIES = memo.ENTRIES
_digests = memo.digests
_known = memo.known_digest


_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_digest(text: object) -> bool:
    """Whether ``text`` is a digest as enact writes them: 64 lowercase hex
    digits (refs, file names and URLs take nothing else from the outside)."""
    return type(text) is str and _DIGEST.fullmatch(text) is not None


#: The digest of recently hashed small bytes, or None (no hashing, no call).
known_digest = memo.known_digest


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
            if len(data) <= _SMALL:
                known = _known(data)
                if known is not None:
                    return known
            return hash_bytes(data)
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
    if type(parts) is list:
        if len(parts) == 1:
            return hash_bytes(parts[0])
        if sum(map(len, parts)) >= memo.LARGE:
            return large.digest_pieces(parts)
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part)
    return hasher.hexdigest()


def hash_bytes(data: bytes) -> str:
    """The hex SHA-256 of ``data``, remembered."""
    if len(data) > _SMALL:
        known = memo.large_digest(data)
        if known is None:
            known, resumed = large.digest_large_resumed(data)
            # A digest resumed after a large prefix costs little to compute
            # again; holding it would hold the whole encoding (a record
            # carrying a payload, one per call) and crowd the memos out.
            if not resumed:
                memo.remember_large_digest(data, known)
        return known
    known = _known(data)
    if known is not None:
        return known
    result = hashlib.sha256(data).hexdigest()
    # memo's policy for small entries, inlined: this runs for every new object.
    if len(_digests) >= _ENTRIES:
        memo.forget_all()
    _digests[data] = result
    return result
