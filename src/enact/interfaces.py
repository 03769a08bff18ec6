"""Resources: typed values with named fields (docs/compatibility.md#resources).

A resource is an instance of :class:`ResourceBase`. Its fields hold *field
values*: primitives (``int``, ``float``, ``str``, ``bytes``, ``bool``, ``None``),
other resources, resource classes, sequences and str-keyed mappings of field
values. :meth:`ResourceBase.to_resource_dict` turns a resource into a plain
:class:`ResourceDict` tree; that tree is what gets encoded and digested.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
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
    "NESTING_LIMIT",
    "NestingLimitReached",
    "NoneResource",
    "Primitives",
    "ResourceBase",
    "ResourceDict",
    "ResourceDictValue",
    "ResourceError",
    "TypeWrapperBase",
    "set_field_wrapper",
    "set_resource_dicts",
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
        parts = [f"[{p}]" if p.isdigit() else f".{p}" for p in self.path[1:]]
        if len(parts) > _SHOWN_PARTS:  # a path hundreds of levels deep
            half = _SHOWN_PARTS // 2
            skipped = len(parts) - 2 * half
            parts[half:-half] = [f"...({skipped} levels)..."]
        where = self.path[0] + "".join(parts)
        return f"field {where!r}: {self.reason}"


_SHOWN_PARTS = 16


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


#: The most levels of nesting a stored value may have: every list, dict and
#: resource is a level, and so is the wrapper resource of a tuple, set or other
#: wrapped value (a tuple in a tuple is two levels: its wrapper and its items).
#: The canonical JSON writer refuses deeper documents, so every entry point
#: (encoding, wrapping, decoding stored bytes, parsing answers) refuses them.
NESTING_LIMIT = 254


class NestingLimitReached(FieldTypeError):
    """Raised by a walker that reached :data:`NESTING_LIMIT`.

    An internal signal: the entry point catches it and reports a cycle or the
    depth with :func:`too_deep`. Its path is where the walker stopped.
    """

    def __init__(self, path: Sequence[str] = ()) -> None:
        super().__init__(nested_too_deeply(), path)


def nested_too_deeply(limit: int = NESTING_LIMIT) -> str:
    """The reason given for a value nested deeper than ``limit`` levels."""
    return (
        f"value is nested deeper than {limit} levels (each list, dict, tuple, set "
        "and resource is a level)"
    )


def too_deep(value: object, path: Sequence[str] | None = None) -> FieldTypeError:
    """The error for a cyclic or overly deep value, naming where.

    A cycle found in ``value`` is reported as one; else the value is reported
    as nested too deeply, at ``path`` (where a walker stopped) or at the first
    place that is deeper than :data:`NESTING_LIMIT`.
    """
    problem = find_nesting_problem(value)
    if problem is not None and problem[0]:
        return FieldTypeError("value contains itself (a cycle)", problem[1])
    if path is None and problem is not None:
        path = problem[1]
    if path is None:
        return FieldTypeError(
            "value is nested too deeply to be stored from here (the interpreter's "
            f"stack ran out before {NESTING_LIMIT} levels)"
        )
    return FieldTypeError(nested_too_deeply(), path)


def find_cycle(value: object) -> list[str] | None:
    """Returns the path to the first value that contains itself, or None.

    Looks no deeper than :data:`NESTING_LIMIT` levels.
    """
    problem = find_nesting_problem(value)
    return problem[1] if problem is not None and problem[0] else None


_END: Any = object()


def find_nesting_problem(
    value: object, limit: int = NESTING_LIMIT
) -> tuple[bool, list[str]] | None:
    """The first cycle, or the first place deeper than ``limit``, in ``value``.

    Walks lists, tuples, mappings, resources and wrapped values (sets,
    registered dataclasses) depth first, with an explicit stack: the time is
    linear in the size of the part walked, which is never deeper than
    ``limit``.

    Returns:
        ``(True, path)`` for a value that contains itself, ``(False, path)``
        for one nested deeper than ``limit``, or None.
    """
    kids = _children(value)
    if kids is None:
        return None
    # The ids of the values on the current path, and the names leading there:
    # each level adds and removes one of each, so a level costs O(1).
    on_path = {id(value)}
    names: list[str] = []
    stack: list[tuple[int, Iterator[tuple[str, Any]]]] = [(id(value), kids)]
    while stack:
        ident, kids = stack[-1]
        item = next(kids, _END)
        if item is _END:
            stack.pop()
            on_path.discard(ident)
            if stack:
                names.pop()
            continue
        name, child = item
        child_id = id(child)
        if child_id in on_path:
            return True, [*names, name]
        grandchildren = _children(child)
        if grandchildren is None:
            continue
        if len(stack) >= limit:
            return False, [*names, name]
        names.append(name)
        on_path.add(child_id)
        stack.append((child_id, grandchildren))
    return None


def _children(node: Any) -> Iterator[tuple[str, Any]] | None:
    """The named children of a container, or None for a leaf."""
    kind = type(node)
    if kind is list or kind is tuple:
        return ((str(i), v) for i, v in enumerate(node))
    if kind is dict:
        return ((str(k), v) for k, v in node.items())
    if kind in _LEAF_TYPES or isinstance(node, type):
        return None
    if isinstance(node, ResourceBase):
        try:
            return iter(list(node.field_items()))
        except Exception:  # a broken resource: its own error is reported
            return None
    if isinstance(node, Mapping):
        return ((str(k), v) for k, v in node.items())
    if isinstance(node, (list, tuple)):
        return ((str(i), v) for i, v in enumerate(node))
    if isinstance(node, (set, frozenset)):
        return (("<element>", v) for v in node)
    # A registered dataclass (or another wrapped value): its wrapper's fields,
    # under the identity of the value itself, so one that holds itself is
    # found although every wrapper is a new object.
    try:
        wrapper = _field_wrapper(node)
        if wrapper is None:
            return None
        return iter(list(wrapper.field_items()))
    except Exception:  # its own error is reported by the walker that called
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
        # defaults on Python >= 3.11
        # (docs/compatibility.md#easy-to-miss-behaviour).
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
        result: ResourceDict[Self] = _to_resource_dict(self)
        return result

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
        return cls.from_fields(_field_values(resource_dict))

    def deep_copy_resource(self) -> Self:
        """Returns a fully independent copy (Refs inside lose their caches)."""
        return type(self).from_resource_dict(self.to_resource_dict())

    def set_from(self, other: Any) -> None:
        """Makes this resource equal to ``other`` in place."""
        raise NotImplementedError(
            f"{type(self).__qualname__} does not implement set_from."
        )


class TypeWrapperBase(ResourceBase, Generic[T]):
    """A resource that stands for a value of a non-resource Python type.

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


def _no_field_wrapper(value: Any) -> ResourceBase | None:
    return None


# Values in fields that have a type wrapper (a set, a registered dataclass) are
# stored as their wrapper. Wrappers build on this module, so enact.wrappers
# installs its look-up here when it is imported (which `import enact` does).
_field_wrapper: Callable[[Any], ResourceBase | None] = _no_field_wrapper


def set_field_wrapper(lookup: Callable[[Any], ResourceBase | None]) -> None:
    """Installs the function that wraps plain values found in fields.

    Args:
        lookup: Returns the wrapper resource of a value in a field, or None
            if the value is stored as it is (or cannot be stored).
    """
    global _field_wrapper
    _field_wrapper = lookup


_LEAF_TYPES = frozenset({int, float, str, bytes, bool, type(None)})


def _not_installed(value: Any) -> Any:  # pragma: no cover - `import enact` installs
    raise RuntimeError("import enact before converting resources to resource dicts")


# How resources become ResourceDict trees and back: the conversion lives with
# the encoding (enact._identity.resource_dicts), a higher layer, which
# installs itself here when it is imported (`import enact` does).
_to_resource_dict: Callable[[Any], Any] = _not_installed
_field_values: Callable[[ResourceDict[Any]], dict[str, Any]] = _not_installed


def set_resource_dicts(
    to_resource_dict: Callable[[Any], Any],
    field_values: Callable[[ResourceDict[Any]], dict[str, Any]],
) -> None:
    """Installs the conversion of resources to resource dicts and back.

    Args:
        to_resource_dict: A resource's :class:`ResourceDict` tree (raising
            :class:`FieldTypeError` for a value outside the field-value
            domain).
        field_values: The field values a resource dict's items stand for.
    """
    global _to_resource_dict, _field_values
    _to_resource_dict, _field_values = to_resource_dict, field_values


class NoneResource(ResourceBase):
    """The resource that stands for "no value"; the default invokable input.

    Unlike the original, two instances compare equal (compatibility.md,
    difference 10).
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
