"""Content digests (SPEC A5): SHA-256 over the canonical encoding."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from enact import _codec
from enact.interfaces import ResourceBase, ResourceDict

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
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part)
    return hasher.hexdigest()


def type_digest(cls: type[ResourceBase]) -> str:
    """A digest of a class's persistent name and its sorted field names."""
    text = json.dumps([cls.type_name(), sorted(cls.field_names())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
