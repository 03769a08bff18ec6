"""Plain Python values as resources: type wrappers (SPEC B1).

A *type wrapper* is a resource that stands for a value of a non-resource type:
``IntWrapper(wrapped=1)`` for ``1``, ``SetWrapper(value=[1, 2])`` for
``{1, 2}``. Wrappers make plain values committable and storable in resource
fields, and they are transparent: stored data that holds a wrapper reads back
as the plain value.

Which wrapper a value gets is decided by the *wrapper registry*, keyed by
Python type: the wrapper registered for exactly ``type(value)`` if any, else
the one registered for a unique superclass (several candidates ->
:class:`~enact.resource_registry.RegistryError`). Built in: ``None``,
``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``dict``,
``tuple``, ``set``, ``frozenset`` and classes used as values.
``@enact.register`` on a plain dataclass generates and registers a wrapper
for it; ``@enact.register`` on a :class:`TypeWrapper` subclass registers that
wrapper for its :meth:`~TypeWrapperBase.wrapped_type`.

Part A's field values (SPEC A3) keep their own encoding inside resources: an
``int`` field is stored as an int, a tuple as a list. Wrappers are used in
fields only for what Part A cannot store (sets, classes that are not
resources, registered dataclasses, types with a user-registered wrapper), and
for the whole value when a plain value is committed on its own.
"""

from __future__ import annotations

import builtins
import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Self, TypeVar, get_args, get_origin, overload

from enact.interfaces import (
    NESTING_LIMIT,
    FieldValue,
    ImplementationMissing,
    MissingWrapperError,
    NestingLimitReached,
    ResourceBase,
    ResourceError,
    TypeWrapperBase,
    too_deep,
    unsupported,
)
from enact.resource_registry import Registry, RegistryError, ResourceNotFound
from enact.resource_registry import register as register_resource
from enact.resources import Resource, type_digest

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

T = TypeVar("T")
_R = TypeVar("_R")


class NotRegistrable(RegistryError, TypeError):
    """``enact.register`` was given something it cannot register.

    Both a :class:`RegistryError` (SPEC A6) and a ``TypeError`` (later
    versions), so either ``except`` clause catches it (SPEC B16).
    """


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# -- the TypeWrapper base ------------------------------------------------------


@dataclasses.dataclass
class TypeWrapper(Resource, TypeWrapperBase[T]):
    """Base class for wrappers declared as dataclasses.

    The wrapped type is taken from the generic parameter, and a wrapper with
    exactly one field wraps and unwraps through it, so a minimal wrapper is::

        @enact.register
        @dataclasses.dataclass
        class PathWrapper(enact.TypeWrapper[pathlib.PurePosixPath]):
            path: str

            @classmethod
            def wrap(cls, value):
                return cls(str(value))

            def unwrap(self):
                return pathlib.PurePosixPath(self.path)
    """

    @classmethod
    def wrapped_type(cls) -> builtins.type[Any]:
        """The type in ``TypeWrapper[...]`` among the class's bases."""
        for klass in cls.__mro__:
            for base in klass.__dict__.get("__orig_bases__", ()):
                origin = get_origin(base)
                if isinstance(origin, type) and issubclass(origin, TypeWrapper):
                    args = get_args(base)
                    if len(args) == 1:
                        found = args[0]
                        if isinstance(get_origin(found), type):
                            found = get_origin(found)  # list[int] -> list
                        if isinstance(found, type):
                            return found
        raise ImplementationMissing(
            f"{cls.__qualname__} must derive from TypeWrapper[SomeClass] or define "
            "the classmethod wrapped_type()."
        )

    @classmethod
    def wrap(cls, value: T) -> Self:
        """Wraps ``value``; by default passes it to the one field."""
        cls._single_field()
        return cls(value)  # type: ignore[call-arg]

    def unwrap(self) -> T:
        """The wrapped value; by default the one field's value."""
        return getattr(self, self._single_field())  # type: ignore[no-any-return]

    @classmethod
    def _single_field(cls) -> str:
        names = tuple(cls.field_names())
        if len(names) != 1:
            raise ImplementationMissing(
                f"{cls.__qualname__} has {len(names)} fields; define wrap() and "
                "unwrap() (the defaults need exactly one field)."
            )
        return names[0]


# -- built-in wrappers ---------------------------------------------------------


@dataclasses.dataclass
class NoneWrapper(TypeWrapper[None]):
    """``None`` as a resource (no fields)."""

    _enact_type_name = "enact.wrappers.NoneWrapper"

    @classmethod
    def wrap(cls, value: None) -> Self:
        if value is not None:
            raise TypeError(f"NoneWrapper wraps None, got {value!r}.")
        return cls()

    def unwrap(self) -> None:
        return None

    @classmethod
    def is_immutable(cls) -> bool:
        return True


@dataclasses.dataclass
class BoolWrapper(TypeWrapper[bool]):
    """A ``bool`` as a resource."""

    _enact_type_name = "enact.wrappers.BoolWrapper"

    wrapped: bool

    def unwrap(self) -> bool:
        return self.wrapped  # the default's look-up of the one field, skipped

    @classmethod
    def is_immutable(cls) -> bool:
        return True


@dataclasses.dataclass
class IntWrapper(TypeWrapper[int]):
    """An ``int`` as a resource (subclasses such as an ``IntEnum`` become ints)."""

    _enact_type_name = "enact.wrappers.IntWrapper"

    wrapped: int

    def unwrap(self) -> int:
        return self.wrapped  # the default's look-up of the one field, skipped

    @classmethod
    def wrap(cls, value: int) -> Self:
        return cls(value if type(value) is int else int(value))

    @classmethod
    def is_immutable(cls) -> bool:
        return True


@dataclasses.dataclass
class FloatWrapper(TypeWrapper[float]):
    """A ``float`` as a resource."""

    _enact_type_name = "enact.wrappers.FloatWrapper"

    wrapped: float

    def unwrap(self) -> float:
        return self.wrapped  # the default's look-up of the one field, skipped

    @classmethod
    def wrap(cls, value: float) -> Self:
        return cls(value if type(value) is float else float(value))

    @classmethod
    def is_immutable(cls) -> bool:
        return True


@dataclasses.dataclass
class StrWrapper(TypeWrapper[str]):
    """A ``str`` as a resource."""

    _enact_type_name = "enact.wrappers.StrWrapper"

    wrapped: str

    def unwrap(self) -> str:
        return self.wrapped  # the default's look-up of the one field, skipped

    @classmethod
    def wrap(cls, value: str) -> Self:
        return cls(value if type(value) is str else str(value))

    @classmethod
    def is_immutable(cls) -> bool:
        return True


@dataclasses.dataclass
class BytesWrapper(TypeWrapper[bytes]):
    """A ``bytes`` value as a resource."""

    _enact_type_name = "enact.wrappers.BytesWrapper"

    wrapped: bytes

    def unwrap(self) -> bytes:
        return self.wrapped  # the default's look-up of the one field, skipped

    @classmethod
    def wrap(cls, value: bytes) -> Self:
        return cls(value if type(value) is bytes else bytes(value))

    @classmethod
    def is_immutable(cls) -> bool:
        return True


@dataclasses.dataclass
class ListWrapper(TypeWrapper[list[Any]]):
    """A ``list`` as a resource; its items are field values (tuples become lists)."""

    _enact_type_name = "enact.wrappers.ListWrapper"

    wrapped: list[Any]

    @classmethod
    def wrap(cls, value: list[Any]) -> Self:
        return cls(value if type(value) is list else list(value))

    @classmethod
    def set_wrapped_value(cls, target: list[Any], src: list[Any]) -> None:
        target[:] = src


@dataclasses.dataclass
class DictWrapper(TypeWrapper[dict[str, Any]]):
    """A ``dict`` with ``str`` keys as a resource."""

    _enact_type_name = "enact.wrappers.DictWrapper"

    wrapped: dict[str, Any]

    @classmethod
    def wrap(cls, value: dict[str, Any]) -> Self:
        return cls(value if type(value) is dict else dict(value))

    @classmethod
    def set_wrapped_value(cls, target: dict[str, Any], src: dict[str, Any]) -> None:
        target.clear()
        target.update(src)


@dataclasses.dataclass
class TupleWrapper(TypeWrapper[tuple[Any, ...]]):
    """A ``tuple`` as a resource: its items as a list.

    Tuples directly in the items stay tuples (they are wrapped too); tuples
    inside lists, dicts or resource fields become lists, as in Part A (SPEC
    A7).
    """

    _enact_type_name = "enact.wrappers.TupleWrapper"

    value: list[Any]

    @classmethod
    def wrap(cls, value: tuple[Any, ...]) -> Self:
        return cls([_freeze(item, 1) for item in value])

    def unwrap(self) -> tuple[Any, ...]:
        return tuple(_thaw(item) for item in self.value)


# Set elements are stored in the order of their canonical encodings, so equal
# sets have equal digests. The canonical encoding lives in a higher layer
# (enact._codec), which installs the key function when it is imported.
_element_key: Callable[[Any], bytes] | None = None


def set_element_key(key: Callable[[Any], bytes]) -> None:
    """Installs the function that orders set elements (the canonical encoder's).

    Args:
        key: Returns the canonical bytes of a value in field position.
    """
    global _element_key
    _element_key = key


def _canonical_order(values: Iterable[Any]) -> list[Any]:
    key = _element_key
    if key is None:  # pragma: no cover - `import enact` installs it
        raise RuntimeError("enact._codec must be imported before sets are wrapped.")
    return sorted((_freeze(item, 1) for item in values), key=key)


def _freeze(value: Any, depth: int = 0) -> Any:
    """Wraps a tuple (and tuples directly in it) so it comes back a tuple.

    Used where a tuple must not turn into a list: set elements (which must
    stay hashable), the items of a wrapped tuple and dataclass fields.

    Raises:
        NestingLimitReached: for tuples nested deeper than the stored form
            allows (each is two levels there: its wrapper and its items).
    """
    if type(value) is tuple:
        if depth >= _TUPLE_LIMIT:
            raise NestingLimitReached()
        return TupleWrapper([_freeze(item, depth + 1) for item in value])
    return value


_TUPLE_LIMIT = NESTING_LIMIT // 2


def _deep_tuple_path(value: Any) -> list[str]:
    """Where tuples in ``value`` (a tuple or set) nest deeper than
    :func:`_freeze` takes them; found with an explicit stack, for the error."""
    names: list[str] = []
    stack: list[Iterator[tuple[str, Any]]] = [_tuple_items(value)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            if stack:
                names.pop()
            continue
        name, child = item
        if type(child) is tuple:
            if len(stack) >= _TUPLE_LIMIT:
                return [*names, name]
            names.append(name)
            stack.append(_tuple_items(child))
    return names


def _tuple_items(value: Any) -> Iterator[tuple[str, Any]]:
    if type(value) is tuple:
        return ((str(index), item) for index, item in enumerate(value))
    return (("<element>", item) for item in value)


def _thaw(value: Any) -> Any:
    if isinstance(value, TypeWrapperBase):
        return value.unwrap()
    return value


@dataclasses.dataclass
class SetWrapper(TypeWrapper[set[Any]]):
    """A ``set`` as a resource: its elements as a list in canonical order."""

    _enact_type_name = "enact.wrappers.SetWrapper"

    value: list[Any]

    @classmethod
    def wrap(cls, value: set[Any]) -> Self:
        return cls(_canonical_order(value))

    def unwrap(self) -> set[Any]:
        return {_thaw(item) for item in self.value}

    @classmethod
    def set_wrapped_value(cls, target: set[Any], src: set[Any]) -> None:
        target.clear()
        target.update(src)


@dataclasses.dataclass
class FrozenSetWrapper(TypeWrapper[frozenset[Any]]):
    """A ``frozenset`` as a resource: its elements as a list in canonical order."""

    _enact_type_name = "enact.wrappers.FrozenSetWrapper"

    value: list[Any]

    @classmethod
    def wrap(cls, value: frozenset[Any]) -> Self:
        return cls(_canonical_order(value))

    def unwrap(self) -> frozenset[Any]:
        return frozenset(_thaw(item) for item in self.value)


@dataclasses.dataclass
class ResourceTypeWrapper(TypeWrapper[type]):
    """A class used as a value.

    A resource class is held as itself (stored by type id, SPEC A5); any other
    class by its persistent name, which must be known when it is read back:
    builtin types and types with a registered wrapper (registered dataclasses
    included). Names are looked up, never imported or evaluated.
    """

    _enact_type_name = "enact.wrappers.ResourceTypeWrapper"

    wrapped: Any

    @classmethod
    def wrap(cls, value: type) -> Self:
        if not isinstance(value, type):
            raise unsupported(value)
        if issubclass(value, ResourceBase):
            return cls(value)
        name = _type_names.get(value)
        if name is None or _types_by_name.get(name) is not value:
            raise unsupported(value)
        return cls(name)

    def unwrap(self) -> type:
        wrapped = self.wrapped
        if isinstance(wrapped, type):
            return wrapped
        if type(wrapped) is not str:
            raise ResourceError(
                f"ResourceTypeWrapper holds a class or a class name, got {wrapped!r}."
            )
        found = _types_by_name.get(wrapped)
        if found is None:
            raise ResourceNotFound(wrapped, "class value")
        return found

    @classmethod
    def is_immutable(cls) -> bool:
        return True


# -- wrappers generated for plain dataclasses ---------------------------------


class DataclassWrapper(TypeWrapperBase[Any]):
    """Base of the wrappers ``@enact.register`` generates for plain dataclasses.

    Its fields are the dataclass's fields; its type id is computed from the
    dataclass's persistent name and field names, as a :class:`Resource`'s is.
    A generated wrapper wraps instances of exactly its dataclass (not of
    subclasses, which need registering themselves). A tuple held directly in
    a field stays a tuple (so frozen dataclasses stay hashable); tuples
    nested in lists or dicts become lists, as in resources.
    """

    _enact_wraps_subclasses: ClassVar[bool] = False
    _dataclass: ClassVar[type]
    _field_names: ClassVar[tuple[str, ...]]
    _init_fields: ClassVar[frozenset[str]]

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    @classmethod
    def type_descr(cls) -> Mapping[str, Any]:
        return {"name": cls.type_name(), "digest": type_digest(cls)}

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return cls._field_names

    def field_values(self) -> Iterable[FieldValue]:
        wrapped = self.wrapped
        return [_freeze(getattr(wrapped, name)) for name in self._field_names]

    def field_items(self) -> Iterable[tuple[str, FieldValue]]:
        wrapped = self.wrapped
        return [(name, _freeze(getattr(wrapped, name))) for name in self._field_names]

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        if set(field_dict) != set(cls._field_names):
            raise ResourceError(
                f"{cls._dataclass.__qualname__} has the fields "
                f"{sorted(cls._field_names)}, got {sorted(field_dict)}."
            )
        init = cls._init_fields
        value = cls._dataclass(**{k: v for k, v in field_dict.items() if k in init})
        for name, item in field_dict.items():
            if name not in init:
                object.__setattr__(value, name, item)
        return cls(value)

    @classmethod
    def wrapped_type(cls) -> type:
        return cls._dataclass

    @classmethod
    def wrap(cls, value: Any) -> Self:
        if type(value) is not cls._dataclass:
            raise TypeError(
                f"{cls.__qualname__} wraps {cls._dataclass.__qualname__} objects, "
                f"got a {type(value).__qualname__}."
            )
        return cls(value)

    def unwrap(self) -> Any:
        return self.wrapped

    @classmethod
    def set_wrapped_value(cls, target: Any, src: Any) -> None:
        """Assigns every field of ``target`` from ``src`` (frozen ones too)."""
        for name in cls._field_names:
            object.__setattr__(target, name, getattr(src, name))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and bool(other.wrapped == self.wrapped)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({self.wrapped!r})"


def _dataclass_wrapper(cls: type, name: str | None) -> type[DataclassWrapper]:
    fields = dataclasses.fields(cls)
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}Wrapper",
        "__doc__": f"The generated wrapper of {_qualified(cls)}.",
        "_enact_type_name": name if name is not None else _qualified(cls),
        "_dataclass": cls,
        "_field_names": tuple(f.name for f in fields),
        "_init_fields": frozenset(f.name for f in fields if f.init),
    }
    return type(f"{cls.__name__}Wrapper", (DataclassWrapper,), namespace)


# -- the wrapper registry ------------------------------------------------------

# Types whose values Part A stores as they are inside resources (SPEC A3). In
# field position their wrappers are never used, not even for subclasses (an
# IntEnum stays an int there), so Part A encodings and digests do not change.
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
    if issubclass(wrapper, DataclassWrapper):
        name = wrapper.type_name()
    else:
        name = _qualified(wrapped)
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

    Like :func:`lookup_wrapper`, but never a built-in wrapper of a type Part A
    stores natively (``int``, ``list``, ...): those values keep their Part A
    encoding.
    """
    try:
        return _field_cache[cls]
    except KeyError:
        found = _find(cls, in_fields=True)
        if found is None and _load_integration(cls):
            found = _find(cls, in_fields=True)
        _field_cache[cls] = found
        return found


def _load_integration(cls: type) -> bool:
    # Wrappers for optional packages (numpy, Pillow) register on first use.
    from enact import integrations

    return integrations.load_for_type(cls)


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
        names = ", ".join(_qualified(base) for base in candidates)
        raise RegistryError(
            f"Several wrappers could wrap {_qualified(cls)}: those of {names}. "
            f"Register a TypeWrapper for {cls.__qualname__} itself."
        )
    return _wrappers[candidates[0]] if candidates else None


def builtin_wrapper_types() -> Mapping[str, type[ResourceBase]]:
    """The built-in wrapper classes by type id (readable with any registry)."""
    return _builtin_ids


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
        raise too_deep(value, error.path or _deep_tuple_path(value)) from None
    except RecursionError:
        raise too_deep(value) from None


def wrap_field(value: Any) -> ResourceBase | None:
    """The wrapper of a value in a resource field, or None if Part A stores it
    as it is (or cannot store it)."""
    wrapper = field_wrapper_type(type(value))
    if wrapper is None:
        return None
    try:
        return wrapper.wrap(value)
    except NestingLimitReached as error:
        raise too_deep(value, error.path or _deep_tuple_path(value)) from None
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
    - any other resource class: registered in the type registry (SPEC A6);
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
                register_wrapper(_dataclass_wrapper(target, name))
                return target
            raise NotRegistrable(
                f"Cannot register {_qualified(target)}: it is neither a resource "
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
    register_wrapper(_wrapper)
    _builtin_ids[_wrapper.type_id()] = _wrapper
# Builtin classes that may be values without a wrapper of their own.
for _builtin in (object, type, complex, bytearray, range, slice):
    _types_by_name.setdefault(_qualified(_builtin), _builtin)
    _type_names.setdefault(_builtin, _qualified(_builtin))
del _wrapper, _builtin
