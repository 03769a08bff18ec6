"""The type wrappers enact defines: the :class:`TypeWrapper` base, wrappers
for ``None``, ``bool``, numbers, strings, bytes, lists, dicts, tuples, sets and
classes, and the wrappers generated for registered plain dataclasses.

:mod:`enact.wrappers` registers them and is their public home.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Self, TypeVar, get_args, get_origin

from enact._wrapper_registry import class_named, name_of_class, qualified
from enact.interfaces import (
    NESTING_LIMIT,
    FieldValue,
    ImplementationMissing,
    NestingLimitReached,
    ResourceBase,
    ResourceError,
    TypeWrapperBase,
    unsupported,
)
from enact.resource_registry import ResourceNotFound
from enact.resources import Resource, type_digest

__all__ = [
    "BoolWrapper",
    "BytesWrapper",
    "DataclassWrapper",
    "DictWrapper",
    "FloatWrapper",
    "FrozenSetWrapper",
    "IntWrapper",
    "ListWrapper",
    "NoneWrapper",
    "ResourceTypeWrapper",
    "SetWrapper",
    "StrWrapper",
    "TupleWrapper",
    "TypeWrapper",
    "dataclass_wrapper",
    "deep_tuple_path",
    "set_element_key",
    "set_members",
]

T = TypeVar("T")

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
    inside lists, dicts or resource fields become lists, as in 0.4.0.dev1.
    """

    _enact_type_name = "enact.wrappers.TupleWrapper"

    value: list[Any]

    @classmethod
    def wrap(cls, value: tuple[Any, ...]) -> Self:
        return cls([_freeze(item, 1) for item in value])

    def unwrap(self) -> tuple[Any, ...]:
        return tuple(_thaw(item) for item in self.value)


# Set elements are stored in the order of their canonical encodings, so equal
# sets have equal digests: the encoder (enact._codec) orders them itself, in
# whatever order a wrapper lists them. Wrappers list them in that order too,
# so equal sets also give equal wrappers; the encoder, a higher layer,
# installs its key function here when it is imported.
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
    return sorted(set_members(values), key=key)


def set_members(values: Iterable[Any]) -> list[Any]:
    """A set's elements as its wrapper holds them (tuples wrapped, so they
    stay hashable), in no particular order: the encoder orders them."""
    return [_freeze(item, 1) for item in values]


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


def deep_tuple_path(value: Any) -> list[str]:
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

    A resource class is held as itself (stored by type id); any other
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
        name = name_of_class(value)
        if name is None:
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
        found = class_named(wrapped)
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
    # The dataclass's persistent name is this wrapper's type name.
    _enact_names_wrapped_type: ClassVar[bool] = True
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


def dataclass_wrapper(cls: type, name: str | None) -> type[DataclassWrapper]:
    fields = dataclasses.fields(cls)
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}Wrapper",
        "__doc__": f"The generated wrapper of {qualified(cls)}.",
        "_enact_type_name": name if name is not None else qualified(cls),
        "_dataclass": cls,
        "_field_names": tuple(f.name for f in fields),
        "_init_fields": frozenset(f.name for f in fields if f.init),
    }
    return type(f"{cls.__name__}Wrapper", (DataclassWrapper,), namespace)
