"""The type registry: the allow-list of classes that decoding may build
(docs/compatibility.md#type-registry).

Stored data names its types by :meth:`ResourceBase.type_id`; decoding looks the
id up here and builds only registered classes, never anything else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, overload

from enact.errors import EnactError
from enact.interfaces import NoneResource, ResourceBase

__all__ = ["Registry", "RegistryError", "ResourceNotFound", "register"]

R = TypeVar("R", bound=type[ResourceBase])


class RegistryError(EnactError):
    """A class cannot be registered, or a type id cannot be resolved."""


class ResourceNotFound(RegistryError):
    """No class is registered under a type id.

    Attributes:
        type_id: The id that was looked up.
    """

    def __init__(self, type_id: str, where: str = "") -> None:
        self.type_id = type_id
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}no resource class is registered for type id {type_id!r}. "
            "Import the module that defines it and decorate the class with "
            "@enact.register."
        )


class Registry:
    """Maps type ids to resource classes."""

    allow_reregistration: bool = True
    _singleton: ClassVar[Registry | None] = None
    _singleton_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._types: dict[str, type[ResourceBase]] = {}
        self.register(NoneResource)

    def register(self, resource: type[ResourceBase]) -> None:
        """Registers a resource class under its type id.

        Raises:
            RegistryError: if ``resource`` is not a resource class, or another
                class holds its id and re-registration is disabled.
        """
        if not (isinstance(resource, type) and issubclass(resource, ResourceBase)):
            raise RegistryError(
                f"Only resource classes can be registered, got {resource!r}. Derive "
                "it from enact.Resource (and make it a dataclass)."
            )
        type_id = resource.type_id()
        known = self._types.get(type_id)
        if (
            known is not None
            and known is not resource
            and not self.allow_reregistration
        ):
            raise RegistryError(
                f"Type id {type_id!r} is already registered to "
                f"{known.__module__}.{known.__qualname__}."
            )
        self._types[type_id] = resource

    def lookup(self, type_id: str) -> type[ResourceBase]:
        """Returns the class registered under ``type_id``.

        Raises:
            ResourceNotFound: if none is.
        """
        try:
            return self._types[type_id]
        except (KeyError, TypeError):
            raise ResourceNotFound(type_id) from None

    def classes(self) -> list[type[ResourceBase]]:
        """The registered classes, in the order they were registered."""
        return list(self._types.values())

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types

    @classmethod
    def get(cls) -> Registry:
        """The process-wide registry that ``@enact.register`` fills."""
        if cls._singleton is None:
            with cls._singleton_lock:
                if cls._singleton is None:
                    cls._singleton = Registry()
        return cls._singleton


@overload
def register(resource: R, /) -> R: ...
@overload
def register(*, name: str) -> Callable[[R], R]: ...
def register(resource: Any = None, /, *, name: str | None = None) -> Any:
    """Registers a resource class in the global registry; usable as decorator.

    Args:
        resource: The class.
        name: A persistent name to use instead of ``<module>.<qualname>``, so
            the class keeps its identity when it moves to another module.
    """

    def apply(cls: R) -> R:
        if name is not None:
            if "_enact_type_id" in cls.__dict__:
                raise RegistryError(
                    f"{cls.__qualname__}'s type id was already computed; pass "
                    "name= before anything uses the class."
                )
            cls._enact_type_name = name  # type: ignore[attr-defined]
        Registry.get().register(cls)
        return cls

    if resource is None:
        return apply
    return apply(resource)
