"""Dataclass resources (docs/compatibility.md#resources)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Self

from enact.interfaces import FieldValue, ResourceBase

__all__ = ["Resource", "type_digest"]


def type_digest(cls: type[ResourceBase]) -> str:
    """A digest of a class's persistent name and its sorted field names.

    Part of a dataclass resource's type id, so a change of fields is a new type.
    """
    text = json.dumps([cls.type_name(), sorted(cls.field_names())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() is slow; cache per class, keyed by the fields mapping
    # so a class decorated after its first use is seen afresh.
    fields = getattr(cls, "__dataclass_fields__", None)
    cached = cls.__dict__.get("_enact_field_cache")
    if cached is not None and cached[0] is fields:
        return cached[1]  # type: ignore[no-any-return]
    names = tuple(f.name for f in dataclasses.fields(cls)) if fields is not None else ()
    cls._enact_field_cache = (fields, names)  # type: ignore[attr-defined]
    return names


@dataclasses.dataclass
class Resource(ResourceBase):
    """Base class for resources declared as dataclasses.

    Example::

        @enact.register
        @dataclasses.dataclass
        class Prompt(enact.Resource):
            text: str
            temperature: float = 0.7
    """

    # Fields are plain attributes: lets the encoder read them directly.
    @staticmethod
    def _enact_field_attributes(cls: type) -> Iterable[tuple[str, str]]:
        return [(name, name) for name in _field_names(cls)]

    @classmethod
    def type_descr(cls) -> Mapping[str, Any]:
        return {"name": cls.type_name(), "digest": type_digest(cls)}

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return _field_names(cls)

    def field_values(self) -> Iterable[FieldValue]:
        return [getattr(self, name) for name in _field_names(type(self))]

    def field_items(self) -> Iterable[tuple[str, FieldValue]]:
        return [(name, getattr(self, name)) for name in _field_names(type(self))]

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        return cls(**field_dict)

    def set_from(self, other: Any) -> None:
        """Makes this resource a deep copy of ``other``, field by field.

        Raises:
            TypeError: if ``other`` is not of exactly this resource's type.
        """
        if type(other) is not type(self):
            raise TypeError(
                f"set_from needs a {type(self).__qualname__}, got "
                f"{type(other).__qualname__}."
            )
        copy = other.deep_copy_resource()
        for name in _field_names(type(self)):
            object.__setattr__(self, name, getattr(copy, name))
