"""The resource-dict backend interface of enact 0.4.0.dev1, kept at the edge.

A :class:`StorageBackend` stores :class:`~enact._refs.ref.PackedResource`
values (a resource dict under a ref) instead of bytes. enact's own backends
offer its three methods on top of their bytes (:class:`StorageBackendMethods`),
and a :class:`~enact._refs.store.Store` given a backend of the user's own
wraps it once, when the store is built, in :class:`StorageBackendObjects`, so
the store itself knows one kind of objects: bytes by digest
(docs/compatibility.md#refs-and-stores).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

from enact import _codec
from enact._refs.ref import PackedResource, Ref
from enact.backends.backend import Backend
from enact.backends.base import FileDamage, Parts
from enact.backends.objects import Objects
from enact.interfaces import ResourceBase, ResourceDict
from enact.resource_registry import Registry
from enact.serialization import DeserializationError, Serializer

__all__ = ["StorageBackend", "StorageBackendMethods", "StorageBackendObjects"]


class StorageBackend(abc.ABC):
    """The resource-dict level backend interface of enact 0.4.0.dev1.

    New backends should implement the byte-level
    :class:`enact.backends.Backend` instead; :class:`Store` accepts both.
    """

    @abc.abstractmethod
    def commit(self, packed_resource: PackedResource) -> None:
        """Stores ``packed_resource.data`` under its ref."""

    @abc.abstractmethod
    def has(self, ref: Ref[Any]) -> bool:
        """Whether something is stored under ``ref``."""

    @abc.abstractmethod
    def checkout(self, ref: Ref[Any]) -> ResourceDict[Any] | None:
        """The data stored under ``ref``, or None."""


class StorageBackendMethods(StorageBackend, Backend):
    """The :class:`StorageBackend` methods on top of a byte-level backend."""

    serializer: Serializer | None = None

    def _encode(self, data: ResourceDict[Any]) -> Parts:
        if self.serializer is None:
            return _codec.encode(data)
        return [self.serializer.serialize(data)]

    def commit(self, packed_resource: PackedResource) -> None:
        packed_resource.ref.verify(packed_resource)
        self.put_many(
            [(packed_resource.ref.digest, self._encode(packed_resource.data))]
        )

    def has(self, ref: Ref[Any]) -> bool:
        return self.has_many([ref.digest])[0]

    def checkout(self, ref: Ref[Any]) -> ResourceDict[Any] | None:
        data = self.get_many([ref.digest])[0]
        if data is None:
            return None
        if self.serializer is not None:
            return self.serializer.deserialize(data)
        try:
            result: ResourceDict[Any] = _codec.decode(data, as_resource_dict=True)
        except _codec.DecodeError as error:
            raise DeserializationError(f"Object {ref.digest}: {error}") from None
        return result


_CANNOT_LIST = "This backend cannot list its objects."


class StorageBackendObjects(Objects):
    """A :class:`StorageBackend` seen as objects: bytes by digest.

    What a store holds for a backend that stores resource dicts (one of the
    user's own, or a file backend storing a serializer's format). A write
    decodes the canonical bytes back to the resource dict the backend
    stores; a read encodes what it returns, which the store then checks
    against the digest and decodes as it does any bytes. Such a backend can
    neither list its objects nor tell which are live, so the store cannot
    verify it or collect its garbage.

    Args:
        backend: The backend.
        ref_type: The class of the refs the backend is handed (its
            ``verify`` is what the backend checks a commit with).
        registry: Where the resource dicts' types are looked up.
        local_types: The store's classes encoded in this process but not
            registered (read, not copied: the store adds to it).
    """

    def __init__(
        self,
        backend: StorageBackend,
        ref_type: type[Ref[Any]],
        registry: Registry,
        local_types: Mapping[str, type[ResourceBase]],
    ) -> None:
        self.backend = backend
        self.location = str(getattr(backend, "location", type(backend).__name__))
        self._ref_type = ref_type
        self._registry = registry
        self._local_types = local_types

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found: list[bytes | None] = []
        for key in keys:
            data = self.backend.checkout(self._ref_type(key))
            found.append(None if data is None else b"".join(_codec.encode(data)))
        return found

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        for key, parts in items:
            data: ResourceDict[Any] = _codec.decode(
                b"".join(parts),
                self._registry,
                as_resource_dict=True,
                local_types=self._local_types,
            )
            self.backend.commit(PackedResource(data, self._ref_type(key)))

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        return [self.backend.has(self._ref_type(key)) for key in keys]

    def iter_keys(self) -> Iterator[str]:
        raise NotImplementedError(_CANNOT_LIST)

    def scan_damage(self) -> list[FileDamage]:
        raise NotImplementedError(_CANNOT_LIST)

    def gc(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refuses: nothing says which of the backend's objects are live."""
        # Its bytes do not hash to their keys either (a serializer's format),
        # so what the index names could not be checked.
        raise NotImplementedError(
            "Garbage collection needs a byte backend storing the canonical "
            "encoding (memory, file or SQLite store)."
        )

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()
