"""Resources: typed values with named fields (SPEC A3).

A resource is an instance of :class:`ResourceBase`. Its fields hold *field
values*: primitives (``int``, ``float``, ``str``, ``bytes``, ``bool``, ``None``),
other resources, resource classes, sequences and str-keyed mappings of field
values. :meth:`ResourceBase.to_resource_dict` turns a resource into a plain
:class:`ResourceDict` tree; that tree is what gets encoded and digested.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar, Union

from enact._importable import recorded_module
from enact.errors import EnactError

__all__ = [
    "PRIMITIVES",
    "FieldTypeError",
    "FieldValue",
    "ImplementationMissing",
    "Json",
    "JsonLeaf",
    "MissingWrapperError",
    "NoneResource",
    "Primitives",
    "ResourceBase",
    "ResourceDict",
    "ResourceDictValue",
    "ResourceError",
    "TypeWrapperBase",
]

# Union, not `|`: these aliases hold forward references, evaluated at runtime.
JsonLeaf = Union[int, float, str, bool, None]  # noqa: UP007
Json = Union[JsonLeaf, list["Json"], dict[str, "Json"]]  # noqa: UP007
Primitives = Union[int, float, str, bool, bytes, None]  # noqa: UP007
FieldValue = Union[
    Primitives,
    "ResourceBase",
    type["ResourceBase"],
    Sequence["FieldValue"],
    Mapping[str, "FieldValue"],
]
ResourceDictValue = Union[
    Primitives,
    "ResourceDict[Any]",
    type["ResourceBase"],
    Sequence["ResourceDictValue"],
    Mapping[str, "ResourceDictValue"],
]

PRIMITIVES = (int, float, str, bytes, bool, type(None))

C = TypeVar("C", bound="ResourceBase")
T = TypeVar("T")


class ResourceError(EnactError):
    """A resource or resource dict is used in a way its type does not allow."""


class FieldTypeError(EnactError):
    """A value cannot be a field value (a set, a plain object, a cycle, ...).

    Attributes:
        path: Where the value sits, from the outermost field inwards, e.g.
            ``['config', 'layers', '2']``.
        reason: What is wrong with the value.
    """

    def __init__(self, reason: str, path: Sequence[str] = ()) -> None:
        self.reason = reason
        self.path = list(path)
        super().__init__(reason)

    def add_parent(self, name: str) -> None:
        """Records that the bad value sits under field or key ``name``."""
        self.path.insert(0, name)
        self.args = (str(self),)

    def __str__(self) -> str:
        if not self.path:
            return self.reason
        where = self.path[0] + "".join(
            f"[{p}]" if p.isdigit() else f".{p}" for p in self.path[1:]
        )
        return f"field {where!r}: {self.reason}"


class MissingWrapperError(FieldTypeError):
    """A value is neither a field value nor of a type with a registered wrapper.

    Attributes:
        value_type: The type of the value (the class itself for a class value).
    """

    def __init__(self, reason: str, value_type: type, path: Sequence[str] = ()) -> None:
        self.value_type = value_type
        super().__init__(reason, path)


class ImplementationMissing(EnactError, NotImplementedError):
    """An optional method a type wrapper needs for this use is not implemented."""


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def unsupported(value: object) -> MissingWrapperError:
    """The error for a value that is neither a field value nor wrappable."""
    if isinstance(value, Coroutine):
        return MissingWrapperError(
            f"a coroutine object ({getattr(value, '__qualname__', '?')}) cannot be "
            "stored; did you forget to await it?",
            type(value),
        )
    if isinstance(value, type):
        return MissingWrapperError(
            f"the class {_qualified(value)} cannot be stored: it is not a resource "
            "class, a builtin type or a type with a registered wrapper. Decorate it "
            "with @enact.register (a resource class or a dataclass), or register an "
            "enact.TypeWrapper for it",
            value,
        )
    return MissingWrapperError(
        f"a value of type {_qualified(type(value))} cannot be stored: it is not a "
        "resource and no TypeWrapper is registered for its type. Make the class a "
        "dataclass and decorate it with @enact.register, or register an "
        "enact.TypeWrapper subclass for it",
        type(value),
    )


def too_deep(value: object) -> FieldTypeError:
    """The error for a cyclic or overly deep value, naming where the cycle is."""
    cycle = find_cycle(value)
    if cycle is None:
        return FieldTypeError("value is nested too deeply to be stored")
    return FieldTypeError("value contains itself (a cycle)", cycle)


def find_cycle(value: object) -> list[str] | None:
    """Returns the path to the first value that contains itself, or None."""
    # An explicit stack: the recursive walkers already hit the recursion limit.
    on_path: set[int] = set()
    stack: list[tuple[object, list[str], bool]] = [(value, [], False)]
    while stack:
        node, path, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            return path
        children: Iterable[tuple[str, object]]
        if isinstance(node, ResourceBase):
            try:
                children = list(node.field_items())
            except Exception:
                continue
        elif isinstance(node, Mapping):
            children = [(str(k), v) for k, v in node.items()]
        elif isinstance(node, (list, tuple)):
            children = [(str(i), v) for i, v in enumerate(node)]
        else:
            continue
        on_path.add(id(node))
        stack.append((node, path, True))
        for name, child in reversed(list(children)):
            stack.append((child, [*path, name], False))
    return None


def _hash_for(cls: type) -> Any:
    for base in cls.__mro__[1:]:
        found = base.__dict__.get("__hash__", _MISSING)
        if found is not _MISSING:
            return found if found is not None else object.__hash__
    return object.__hash__


_MISSING = object()


class ResourceBase:
    """Base class of all resources.

    No metaclass, no ``__slots__`` and no ``__init__`` requirements: resource
    types also derive from ``int``, ``str``, ``Exception`` and ``Generic``.
    """

    #: True for types whose instances never change (Int, Str, NoneResource):
    #: their cached refs need no re-check and their encodings can be reused.
    _enact_immutable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # @dataclass sets __hash__ = None on eq-dataclasses unless the class body
        # defines one; keeping a hash lets resource instances be dataclass field
        # defaults on Python >= 3.11 (SPEC A14).
        if "__hash__" not in cls.__dict__:
            cls.__hash__ = _hash_for(cls)  # type: ignore[method-assign]

    @classmethod
    def type_name(cls) -> str:
        """The persistent name of this type: ``<module>.<qualname>`` by default.

        ``@enact.register(name=...)`` fixes it so the class can move modules.
        """
        name = cls.__dict__.get("_enact_type_name")
        if name is None:
            return f"{recorded_module(cls.__module__)}.{cls.__qualname__}"
        return str(name)

    @classmethod
    def type_descr(cls) -> Mapping[str, Json]:
        """The type descriptor, from which :meth:`type_id` is computed."""
        return {"name": cls.type_name()}

    @classmethod
    def type_id(cls) -> str:
        """The type's stable identifier: ``type_descr()`` as sorted-key JSON.

        Computed once per class and memoized: a decorator may ask for it before
        ``@dataclass`` has processed the fields, and the id seen then must stay.
        """
        type_id = cls.__dict__.get("_enact_type_id")
        if type_id is None:
            type_id = json.dumps(cls.type_descr(), sort_keys=True)
            setattr(cls, "_enact_type_id", type_id)  # noqa: B010 - a class attribute
        return str(type_id)

    @classmethod
    def field_names(cls) -> Iterable[str]:
        """The names of the fields, in declaration order."""
        raise NotImplementedError()

    def field_values(self) -> Iterable[FieldValue]:
        """The values of the fields, aligned with :meth:`field_names`."""
        raise NotImplementedError()

    def field_items(self) -> Iterable[tuple[str, FieldValue]]:
        """``(name, value)`` pairs in field order."""
        return zip(self.field_names(), self.field_values(), strict=True)

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        """Builds an instance from a mapping of field names to values."""
        raise NotImplementedError()

    def to_resource_dict(self) -> ResourceDict[Self]:
        """Converts this resource into a :class:`ResourceDict` tree.

        Raises:
            FieldTypeError: if a field holds a value outside the field-value
                domain, or the value contains itself. The error names the field.
        """
        try:
            return _to_resource_dict(self)
        except RecursionError:
            raise too_deep(self) from None

    @classmethod
    def from_resource_dict(cls, resource_dict: ResourceDict[Any]) -> Self:
        """Builds a resource of ``cls`` from a :class:`ResourceDict` tree.

        Raises:
            ResourceError: if the dict's type is not ``cls`` or a subclass.
        """
        if not (
            isinstance(resource_dict.type, type) and issubclass(resource_dict.type, cls)
        ):
            raise ResourceError(
                f"Cannot build a {cls.__qualname__} from a resource dict of type "
                f"{getattr(resource_dict.type, '__qualname__', resource_dict.type)!r}."
            )
        fields = {k: _from_dict_value(v) for k, v in resource_dict.items()}
        return cls.from_fields(fields)

    def deep_copy_resource(self) -> Self:
        """Returns a fully independent copy (Refs inside lose their caches)."""
        return type(self).from_resource_dict(self.to_resource_dict())

    def set_from(self, other: Any) -> None:
        """Makes this resource equal to ``other`` in place."""
        raise NotImplementedError(
            f"{type(self).__qualname__} does not implement set_from."
        )


class TypeWrapperBase(ResourceBase, Generic[T]):
    """A resource that stands for a value of a non-resource Python type (SPEC B1).

    Wrappers let plain values (``1``, ``[1, 2]``, ``{1, 2}``, a dataclass) be
    committed and stored in resource fields. They are transparent: a wrapper
    found in stored data is unwrapped when it is read back, so users see the
    plain value. See :class:`enact.wrappers.TypeWrapper` for the dataclass
    base to derive wrappers from.
    """

    @classmethod
    def wrapped_type(cls) -> builtins.type[Any]:
        """The Python type this wrapper stands for."""
        raise ImplementationMissing(f"{cls.__qualname__} must define wrapped_type().")

    @classmethod
    def wrap(cls, value: T) -> Self:
        """Returns a wrapper holding ``value``."""
        raise ImplementationMissing(f"{cls.__qualname__} must define wrap().")

    def unwrap(self) -> T:
        """Returns the plain value this wrapper holds."""
        raise ImplementationMissing(f"{type(self).__qualname__} must define unwrap().")

    @classmethod
    def is_immutable(cls) -> bool:
        """Whether wrapped values never change in place (False by default)."""
        return False

    @classmethod
    def set_wrapped_value(cls, target: T, src: T) -> None:
        """Makes the wrapped value ``target`` equal to ``src``, in place.

        Used where an object's identity must be kept (replays).

        Raises:
            ImplementationMissing: if the type cannot be updated in place (the
                default).
        """
        raise ImplementationMissing(
            f"{cls.__qualname__} cannot update a {cls.wrapped_type().__qualname__} "
            "in place; override set_wrapped_value."
        )


class ResourceDict(dict[str, Any], Generic[C]):
    """A resource as a plain ``dict`` of converted field values, plus its type.

    Equality is plain dict equality: the type is ignored by ``==``.
    """

    type: builtins.type[C]

    def __init__(
        self, resource_type: builtins.type[C], *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.type = resource_type

    def to_resource(self) -> C:
        """Builds the resource this dict describes."""
        return self.type.from_resource_dict(self)

    def __repr__(self) -> str:
        name = getattr(self.type, "__qualname__", repr(self.type))
        return f"ResourceDict[{name}]({dict.__repr__(self)})"


def _to_resource_dict(resource: C) -> ResourceDict[C]:
    result: ResourceDict[C] = ResourceDict(type(resource))
    for name, value in resource.field_items():
        try:
            result[name] = _to_dict_value(value)
        except FieldTypeError as error:
            error.add_parent(name)
            raise
    return result


def _to_dict_value(value: Any) -> Any:
    kind = type(value)
    if kind in _LEAF_TYPES:
        return value
    if isinstance(value, ResourceBase):
        return _to_resource_dict(value)
    if kind is list or kind is tuple:
        return _list_to_dict_values(value)
    if kind is dict:
        return _mapping_to_dict_values(value)
    if isinstance(value, type) and issubclass(value, ResourceBase):
        return value
    # A registered wrapper wins over the generic handling below (SPEC B1).
    wrapper = _field_wrapper(value)
    if wrapper is not None:
        return _to_resource_dict(wrapper)
    if isinstance(value, Mapping):
        return _mapping_to_dict_values(value)
    if isinstance(value, PRIMITIVES):
        return value
    if isinstance(value, Sequence):
        return _list_to_dict_values(value)
    raise unsupported(value)


def _field_wrapper(value: Any) -> ResourceBase | None:
    # enact.wrappers builds on this module, so it is imported when first needed.
    from enact import wrappers

    return wrappers.wrap_field(value)


def _list_to_dict_values(values: Sequence[Any]) -> list[Any]:
    result = []
    for index, item in enumerate(values):
        try:
            result.append(_to_dict_value(item))
        except FieldTypeError as error:
            error.add_parent(str(index))
            raise
    return result


def _mapping_to_dict_values(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    result = {}
    for key, item in mapping.items():
        if type(key) is not str and not isinstance(key, str):
            raise FieldTypeError(
                f"dict keys must be str, got the key {key!r} of type "
                f"{type(key).__qualname__}"
            )
        try:
            result[key] = _to_dict_value(item)
        except FieldTypeError as error:
            error.add_parent(key)
            raise
    return result


_LEAF_TYPES = frozenset({int, float, str, bytes, bool, type(None)})


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


class NoneResource(ResourceBase):
    """The resource that stands for "no value"; the default invokable input.

    Unlike the original, two instances compare equal (SPEC appendix quirk 10).
    """

    _enact_immutable = True

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return ()

    def field_values(self) -> Iterable[FieldValue]:
        return ()

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        if field_dict:
            raise ResourceError(
                f"NoneResource has no fields, got {sorted(field_dict)!r}."
            )
        return cls()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(NoneResource)

    def __repr__(self) -> str:
        return "NoneResource()"
