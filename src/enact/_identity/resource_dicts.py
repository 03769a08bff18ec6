"""Resources as :class:`~enact.interfaces.ResourceDict` trees, and back.

The tree is what a resource-dict backend (a user's ``StorageBackend``) is
given, and it encodes to exactly a resource's bytes: ``digest(r) ==
digest(r.to_resource_dict())``. Field values convert as the encoder sees
them: resources become their own trees, values with a type wrapper (a set, a
registered dataclass) their wrapper's, tuples and other sequences lists.
:class:`~enact.interfaces.ResourceBase`, a lower layer, calls this module
through the functions it installs there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from enact import interfaces
from enact.interfaces import (
    NESTING_LIMIT,
    PRIMITIVES,
    FieldTypeError,
    NestingLimitReached,
    ResourceBase,
    ResourceDict,
    TypeWrapperBase,
    too_deep,
    unsupported,
)
from enact.wrappers import wrap_field

__all__ = ["field_values", "to_resource_dict"]

C = TypeVar("C", bound=ResourceBase)

_LEAF_TYPES = frozenset({int, float, str, bytes, bool, type(None)})


# ``depth`` counts the levels of the stored form down to the value converted,
# which must stay within NESTING_LIMIT (as the encoder's).


def to_resource_dict(resource: C) -> ResourceDict[C]:
    """The :class:`ResourceDict` tree of ``resource``
    (:meth:`ResourceBase.to_resource_dict`).

    Raises:
        FieldTypeError: if a field holds a value outside the field-value
            domain, or the value contains itself. The error names the field.
    """
    try:
        return _to_resource_dict(resource, 1)
    except NestingLimitReached as error:
        raise too_deep(resource, error.path) from None
    except RecursionError:
        raise too_deep(resource) from None


def field_values(resource_dict: ResourceDict[Any]) -> dict[str, Any]:
    """The field values a resource dict's items stand for (nested resource
    dicts built into resources, wrapped values unwrapped), for
    :meth:`ResourceBase.from_resource_dict`."""
    return {key: _from_dict_value(value) for key, value in resource_dict.items()}


def _to_resource_dict(resource: C, depth: int) -> ResourceDict[C]:
    if depth > NESTING_LIMIT:
        raise NestingLimitReached()
    result: ResourceDict[C] = ResourceDict(type(resource))
    for name, value in resource.field_items():
        try:
            result[name] = _to_dict_value(value, depth + 1)
        except FieldTypeError as error:
            error.add_parent(name)
            raise
    return result


def _to_dict_value(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind in _LEAF_TYPES:
        return value
    if isinstance(value, ResourceBase):
        return _to_resource_dict(value, depth)
    if kind is list or kind is tuple:
        return _list_to_dict_values(value, depth)
    if kind is dict:
        return _mapping_to_dict_values(value, depth)
    if isinstance(value, type) and issubclass(value, ResourceBase):
        return value
    # A registered wrapper wins over the generic handling below.
    wrapper = wrap_field(value)
    if wrapper is not None:
        return _to_resource_dict(wrapper, depth)
    if isinstance(value, Mapping):
        return _mapping_to_dict_values(value, depth)
    if isinstance(value, PRIMITIVES):
        return value
    if isinstance(value, Sequence):
        return _list_to_dict_values(value, depth)
    raise unsupported(value)


def _list_to_dict_values(values: Sequence[Any], depth: int) -> list[Any]:
    if depth > NESTING_LIMIT:
        raise NestingLimitReached()
    result = []
    for index, item in enumerate(values):
        try:
            result.append(_to_dict_value(item, depth + 1))
        except FieldTypeError as error:
            error.add_parent(str(index))
            raise
    return result


def _mapping_to_dict_values(mapping: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    if depth > NESTING_LIMIT:
        raise NestingLimitReached()
    result = {}
    for key, item in mapping.items():
        if type(key) is not str and not isinstance(key, str):
            raise FieldTypeError(
                f"dict keys must be str, got the key {key!r} of type "
                f"{type(key).__qualname__}"
            )
        try:
            result[key] = _to_dict_value(item, depth + 1)
        except FieldTypeError as error:
            error.add_parent(key)
            raise
    return result


def _from_dict_value(value: Any) -> Any:
    kind = type(value)
    if kind in _LEAF_TYPES:
        return value
    if isinstance(value, ResourceDict):
        resource = value.type.from_resource_dict(value)
        if isinstance(resource, TypeWrapperBase):
            return resource.unwrap()
        return resource
    if kind is list or kind is tuple:
        return [_from_dict_value(v) for v in value]
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FieldTypeError(f"dict keys must be str, got {key!r}")
            result[key] = _from_dict_value(item)
        return result
    if isinstance(value, (*PRIMITIVES, type)):
        return value
    if isinstance(value, Sequence):
        return [_from_dict_value(v) for v in value]
    raise unsupported(value)


interfaces.set_resource_dicts(to_resource_dict, field_values)
