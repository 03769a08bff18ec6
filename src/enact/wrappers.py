"""Plain Python values as resources: type wrappers
(docs/compatibility.md#plain-values).

A *type wrapper* is a resource that stands for a value of a non-resource type:
``IntWrapper(wrapped=1)`` for ``1``, ``SetWrapper(value=[1, 2])`` for
``{1, 2}``. Wrappers make plain values committable and storable in resource
fields, and they are transparent: stored data that holds a wrapper reads back
as the plain value.

Which wrapper a value gets is decided by the *wrapper registry*
(:mod:`enact._wrapper_registry`), keyed by Python type: the wrapper
registered for exactly ``type(value)`` if any, else the one registered for a
unique superclass (several candidates ->
:class:`~enact.resource_registry.RegistryError`). Built in: ``None``,
``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``dict``,
``tuple``, ``set``, ``frozenset`` and classes used as values.
``@enact.register`` on a plain dataclass generates and registers a wrapper
for it; ``@enact.register`` on a :class:`TypeWrapper` subclass registers that
wrapper for its :meth:`~TypeWrapperBase.wrapped_type`.

The field values of enact 0.4.0.dev1 keep their own encoding inside resources: an
``int`` field is stored as an int, a tuple as a list. Wrappers are used in
fields only for what 0.4.0.dev1 could not store (sets, classes that are not
resources, registered dataclasses, types with a user-registered wrapper), and
for the whole value when a plain value is committed on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, overload

from enact import interfaces
from enact._builtin_wrappers import (
    BoolWrapper,
    BytesWrapper,
    DataclassWrapper,
    DictWrapper,
    FloatWrapper,
    FrozenSetWrapper,
    IntWrapper,
    ListWrapper,
    NoneWrapper,
    ResourceTypeWrapper,
    SetWrapper,
    StrWrapper,
    TupleWrapper,
    TypeWrapper,
    dataclass_wrapper,
    deep_tuple_path,
    set_element_key,
)
from enact._wrapper_registry import (
    builtin_wrapper_types,
    field_wrapper_type,
    lookup_wrapper,
    qualified,
    register_builtin_wrapper,
    register_wrapper,
)
from enact.interfaces import (
    ImplementationMissing,
    MissingWrapperError,
    NestingLimitReached,
    ResourceBase,
    TypeWrapperBase,
    too_deep,
    unsupported,
)
from enact.resource_registry import RegistryError
from enact.resource_registry import register as register_resource

__all__ = [
    "BoolWrapper",
    "BytesWrapper",
    "DataclassWrapper",
    "DictWrapper",
    "FloatWrapper",
    "FrozenSetWrapper",
    "ImplementationMissing",
    "IntWrapper",
    "ListWrapper",
    "MissingWrapperError",
    "NoneWrapper",
    "NotRegistrable",
    "ResourceTypeWrapper",
    "SetWrapper",
    "StrWrapper",
    "TupleWrapper",
    "TypeWrapper",
    "TypeWrapperBase",
    "add_register_handler",
    "builtin_wrapper_types",
    "deepcopy",
    "field_wrapper_type",
    "lookup_wrapper",
    "register",
    "register_wrapper",
    "set_element_key",
    "unwrap",
    "wrap",
    "wrap_field",
]

_R = TypeVar("_R")


class NotRegistrable(RegistryError, TypeError):
    """``enact.register`` was given something it cannot register.

    Both a :class:`RegistryError` (0.4.0.dev1) and a ``TypeError`` (later
    versions), so either ``except`` clause catches it
    (docs/compatibility.md#registering).
    """


# -- wrap, unwrap, deepcopy ----------------------------------------------------


def wrap(value: Any) -> ResourceBase:
    """Returns ``value`` as a resource: resources unchanged, others wrapped.

    Raises:
        MissingWrapperError: if no wrapper is registered for the value's type
            (a coroutine object gets a hint to await it).
    """
    if isinstance(value, ResourceBase):
        return value
    wrapper = lookup_wrapper(type(value))
    if wrapper is None:
        raise unsupported(value)
    try:
        return wrapper.wrap(value)
    except NestingLimitReached as error:
        # A tuple's or set's items are wrapped (or encoded) as it is wrapped.
        raise too_deep(value, error.path or deep_tuple_path(value)) from None
    except RecursionError:
        raise too_deep(value) from None


def wrap_field(value: Any) -> ResourceBase | None:
    """The wrapper of a value in a resource field, or None if a field stores
    it as it is, as in 0.4.0.dev1 (or cannot store it)."""
    wrapper = field_wrapper_type(type(value))
    if wrapper is None:
        return None
    try:
        return wrapper.wrap(value)
    except NestingLimitReached as error:
        raise too_deep(value, error.path or deep_tuple_path(value)) from None
    except RecursionError:
        raise too_deep(value) from None


def unwrap(value: Any) -> Any:
    """The plain value of a wrapper; any other value unchanged."""
    if isinstance(value, TypeWrapperBase):
        return value.unwrap()
    return value


def deepcopy(value: _R) -> _R:
    """A fully independent copy of a resource or plain value.

    The copy equals what committing ``value`` and checking it out returns
    (tuples nested in lists or fields come back as lists).

    Raises:
        FieldTypeError: if ``value`` holds something that cannot be stored.
    """
    if isinstance(value, ResourceBase):
        return value.deep_copy_resource()
    return unwrap(wrap(value).deep_copy_resource())  # type: ignore[no-any-return]


# -- enact.register ------------------------------------------------------------

# Consulted first by register(): each gets (object, name) and returns the
# registered object, or NotImplemented to pass. Higher layers add handlers
# (function wrappers, typed invokables) with add_register_handler.
_register_handlers: list[Callable[[Any, str | None], Any]] = []


def add_register_handler(handler: Callable[[Any, str | None], Any]) -> None:
    """Lets ``enact.register`` accept more kinds of objects.

    Args:
        handler: Called with the object and the ``name=`` argument (or None)
            before the built-in dispatch; returns the registered object (what
            the decorator returns) or ``NotImplemented`` to decline.
    """
    _register_handlers.append(handler)


@overload
def register(obj: _R, /) -> _R: ...
@overload
def register(*, name: str) -> Callable[[_R], _R]: ...
def register(obj: Any = None, /, *, name: str | None = None) -> Any:
    """Registers a class with enact; usable as a decorator.

    - a :class:`TypeWrapper` (any :class:`TypeWrapperBase`) subclass: registered
      as a resource and as the wrapper of its wrapped type;
    - any other resource class: registered in the type registry;
    - a plain dataclass: a wrapper is generated and registered, so its
      instances can be committed and stored in fields.

    Args:
        obj: The class.
        name: A persistent name to use instead of ``<module>.<qualname>``, so
            the type keeps its identity when it moves to another module.

    Returns:
        ``obj`` itself.

    Raises:
        NotRegistrable: for anything else (also a ``RegistryError`` and a
            ``TypeError``).
    """

    def apply(target: Any) -> Any:
        for handler in _register_handlers:
            result = handler(target, name)
            if result is not NotImplemented:
                return result
        if isinstance(target, type):
            if issubclass(target, TypeWrapperBase):
                if name is not None:
                    register_resource(name=name)(target)
                register_wrapper(target)
                return target
            if issubclass(target, ResourceBase):
                if name is None:
                    return register_resource(target)
                return register_resource(name=name)(target)
            if dataclasses.is_dataclass(target):
                register_wrapper(dataclass_wrapper(target, name))
                return target
            raise NotRegistrable(
                f"Cannot register {qualified(target)}: it is neither a resource "
                "class nor a dataclass. Derive it from enact.Resource, make it a "
                "dataclass (with @enact.register above @dataclasses.dataclass), "
                "or register an enact.TypeWrapper for it."
            )
        raise NotRegistrable(
            f"Cannot register {target!r}: enact.register takes resource classes, "
            "TypeWrapper classes and dataclasses."
        )

    if obj is None:
        return apply
    return apply(obj)


for _wrapper in (
    NoneWrapper,
    BoolWrapper,
    IntWrapper,
    FloatWrapper,
    StrWrapper,
    BytesWrapper,
    ListWrapper,
    DictWrapper,
    TupleWrapper,
    SetWrapper,
    FrozenSetWrapper,
    ResourceTypeWrapper,
):
    register_builtin_wrapper(_wrapper)
del _wrapper
# Values in resource fields that have a wrapper are stored as their wrapper.
interfaces.set_field_wrapper(wrap_field)
