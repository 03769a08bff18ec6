"""Content digests (SPEC A5): SHA-256 over the canonical encoding."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from enact import _codec
from enact.interfaces import ResourceBase, ResourceDict
from enact.resources import type_digest

__all__ = ["digest", "digest_parts", "type_digest"]


def digest(resource: ResourceBase | ResourceDict[Any]) -> str:
    """The 64-character hex SHA-256 of a resource's canonical encoding.

    A resource and its :class:`ResourceDict` have the same digest.

    Raises:
        FieldTypeError: if the resource holds a value that cannot be stored.
    """
    return digest_parts(_codec.encode(resource))


def digest_parts(parts: Iterable[bytes]) -> str:
    """The hex SHA-256 of the concatenation of ``parts``."""
    if type(parts) is list and len(parts) == 1:
        return hashlib.sha256(parts[0]).hexdigest()
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part)
    return hasher.hexdigest()
