"""The wrapper registry: which type wrapper a plain value gets.

Keyed by Python type: the wrapper registered for exactly ``type(value)`` if
any, else the one registered for a unique superclass (several candidates ->
:class:`~enact.resource_registry.RegistryError`). Also the persistent names of
classes that are values themselves (see ``ResourceTypeWrapper``).

Wrappers for optional packages (numpy, Pillow) are registered on first use:
:mod:`enact.integrations` adds a *type loader* here when it is imported, and a
look-up that misses asks the loaders before giving up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from enact.interfaces import ResourceBase, TypeWrapperBase
from enact.resource_registry import Registry, RegistryError

__all__ = [
    "add_type_loader",
    "builtin_wrapper_types",
    "class_named",
    "field_wrapper_type",
    "lookup_wrapper",
    "name_of_class",
    "qualified",
    "register_builtin_wrapper",
    "register_wrapper",
]


def qualified(cls: type) -> str:
    """``<module>.<qualname>`` of a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


# Types whose values 0.4.0.dev1 stores as they are inside resources. In field
# position their wrappers are never used, not even for subclasses (an IntEnum
# stays an int there), so those encodings and digests do not change.
_FIELD_NATIVE: frozenset[type] = frozenset(
    {type(None), bool, int, float, str, bytes, list, tuple, dict}
)

_lock = threading.Lock()
_wrappers: dict[type, type[TypeWrapperBase[Any]]] = {}
_types_by_name: dict[str, type] = {}
_type_names: dict[type, str] = {}
_builtin_ids: dict[str, type[ResourceBase]] = {}
# Look-up results per value type, for values committed on their own and for
# values in fields. Cleared whenever a wrapper is registered.
_top_cache: dict[type, type[TypeWrapperBase[Any]] | None] = {}
_field_cache: dict[type, type[TypeWrapperBase[Any]] | None] = {}
# Each registers the wrapper for a class if it can; returns whether it did.
_type_loaders: list[Callable[[type], bool]] = []


def register_wrapper(wrapper: type[TypeWrapperBase[Any]]) -> None:
    """Makes ``wrapper`` the wrapper of its :meth:`~TypeWrapperBase.wrapped_type`.

    Also registers it as a resource class. Another wrapper registered for the
    same type is replaced.

    Raises:
        RegistryError: if ``wrapper`` is not a type wrapper class, or its
            wrapped type is not a class or is a resource class.
    """
    if not (isinstance(wrapper, type) and issubclass(wrapper, TypeWrapperBase)):
        raise RegistryError(f"{wrapper!r} is not a TypeWrapper class.")
    wrapped = wrapper.wrapped_type()
    if not isinstance(wrapped, type):
        raise RegistryError(
            f"{wrapper.__qualname__}.wrapped_type() must return a class, "
            f"got {wrapped!r}."
        )
    if issubclass(wrapped, ResourceBase):
        raise RegistryError(
            f"{wrapper.__qualname__} wraps the resource class "
            f"{wrapped.__qualname__}; resources need no wrapper."
        )
    Registry.get().register(wrapper)
    if getattr(wrapper, "_enact_names_wrapped_type", False):
        name = wrapper.type_name()  # a generated dataclass wrapper
    else:
        name = qualified(wrapped)
    with _lock:
        _wrappers[wrapped] = wrapper
        old_name = _type_names.pop(wrapped, None)
        if old_name is not None and _types_by_name.get(old_name) is wrapped:
            del _types_by_name[old_name]
        _types_by_name[name] = wrapped
        _type_names[wrapped] = name
        _top_cache.clear()
        _field_cache.clear()


def lookup_wrapper(cls: type) -> type[TypeWrapperBase[Any]] | None:
    """The wrapper for values of type ``cls``, or None if there is none.

    The wrapper registered for ``cls`` itself if any, else the one registered
    for a unique superclass. A user-registered wrapper wins over the built-in
    ones for ``int``, ``list``, ... (an ``IntEnum`` with its own wrapper).

    Raises:
        RegistryError: if several superclasses have wrappers.
    """
    try:
        return _top_cache[cls]
    except KeyError:
        found = _find(cls, in_fields=False)
        if found is None and _load_integration(cls):
            found = _find(cls, in_fields=False)
        _top_cache[cls] = found
        return found


def field_wrapper_type(cls: type) -> type[TypeWrapperBase[Any]] | None:
    """The wrapper for values of type ``cls`` inside resource fields, or None.

    Like :func:`lookup_wrapper`, but never a built-in wrapper of a type that
    resource fields store natively (``int``, ``list``, ...): those values keep
    their own encoding.
    """
    try:
        return _field_cache[cls]
    except KeyError:
        found = _find(cls, in_fields=True)
        if found is None and _load_integration(cls):
            found = _find(cls, in_fields=True)
        _field_cache[cls] = found
        return found


def add_type_loader(loader: Callable[[type], bool]) -> None:
    """Lets look-ups that miss register a wrapper on demand.

    Args:
        loader: Called with the class of a value that has no wrapper; returns
            whether it registered one (then the look-up is retried).
    """
    _type_loaders.append(loader)


def _load_integration(cls: type) -> bool:
    return any(load(cls) for load in _type_loaders)


def _find(cls: type, in_fields: bool) -> type[TypeWrapperBase[Any]] | None:
    exact = _wrappers.get(cls)
    if exact is not None and not (in_fields and cls in _FIELD_NATIVE):
        return exact
    own: list[type] = []
    native: list[type] = []
    for base in cls.__mro__[1:]:
        wrapper = _wrappers.get(base)
        if wrapper is None or not getattr(wrapper, "_enact_wraps_subclasses", True):
            continue
        (native if base in _FIELD_NATIVE else own).append(base)
    candidates = own or ([] if in_fields else native)
    if len(candidates) > 1:
        names = ", ".join(qualified(base) for base in candidates)
        raise RegistryError(
            f"Several wrappers could wrap {qualified(cls)}: those of {names}. "
            f"Register a TypeWrapper for {cls.__qualname__} itself."
        )
    return _wrappers[candidates[0]] if candidates else None


def builtin_wrapper_types() -> Mapping[str, type[ResourceBase]]:
    """The built-in wrapper classes by type id (readable with any registry)."""
    return _builtin_ids


def register_builtin_wrapper(wrapper: type[TypeWrapperBase[Any]]) -> None:
    """Registers one of enact's own wrappers (readable with any registry)."""
    register_wrapper(wrapper)
    _builtin_ids[wrapper.type_id()] = wrapper


def class_named(name: str) -> type | None:
    """The class a persistent class name stands for, or None."""
    return _types_by_name.get(name)


def name_of_class(cls: type) -> str | None:
    """The persistent name of a class that may be a value, or None."""
    name = _type_names.get(cls)
    if name is None or _types_by_name.get(name) is not cls:
        return None
    return name


# Builtin classes that may be values without a wrapper of their own.
for _builtin in (object, type, complex, bytearray, range, slice):
    _types_by_name.setdefault(qualified(_builtin), _builtin)
    _type_names.setdefault(_builtin, qualified(_builtin))
del _builtin
