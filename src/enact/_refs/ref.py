"""References: :class:`Ref` names a resource by the digest of its encoding.

A ref created by committing caches the committed object; a ref read back
from storage has no cache and reads through the current store. The store
lives above refs (:mod:`enact._refs.store` is built on them), so a ref finds
the current store through :func:`set_current_store`, which the store's module
calls once when it is imported.

The flat encoders of refs (:func:`flat_ref`, :func:`flat_refs`) are here
too: a journal writes thousands of refs, and these join their bytes without
the generic plan.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, NamedTuple, Protocol, Self, TypeVar

import orjson

from enact import _codec
from enact._identity import fields
from enact.contexts import NoActiveContext
from enact.digests import (
    digest,
    digest_parts,
    hash_bytes,
    is_digest,
    resource_digest,
)
from enact.errors import EnactError
from enact.interfaces import (
    NESTING_LIMIT,
    FieldValue,
    NestingLimitReached,
    ResourceBase,
    ResourceDict,
)
from enact.resource_registry import RegistryError, register
from enact.serialization import DeserializationError
from enact.wrappers import wrap

__all__ = [
    "InvalidRefId",
    "PackedResource",
    "Ref",
    "RefError",
    "digest_for",
    "flat_ref",
    "flat_refs",
    "set_current_store",
    "uses_default_packing",
]

# A resource or a plain value with a type wrapper.
R = TypeVar("R")

# The "no cached object" mark: None is a value that can be cached.
_NO_CACHE: Any = object()

# Plain values that cannot change in place: a cached one needs no re-check.
_IMMUTABLE_PLAIN = frozenset({type(None), bool, int, float, str, bytes})


class RefError(EnactError):
    """A reference does not match what it refers to."""


class InvalidRefId(RefError, json.JSONDecodeError):
    """A ref id is not the JSON text ``{"digest": "<hex>"}``."""

    def __init__(self, ref_id: object, reason: str) -> None:
        shown = repr(ref_id)
        if len(shown) > _SHOWN_ID_CHARS:  # hostile input can be megabytes
            shown = f"{shown[:_SHOWN_ID_CHARS]}... ({len(shown)} characters)"
        json.JSONDecodeError.__init__(
            self, f"Invalid ref id {shown}: {reason}", str(ref_id), 0
        )


_SHOWN_ID_CHARS = 100


class PackedResource(NamedTuple):
    """What a backend stores for a resource, and the reference to it."""

    data: ResourceDict[Any]
    ref: Ref[Any]


class _CurrentStore(Protocol):
    """What a ref asks of the current store."""

    def checkout(self, ref: Ref[R]) -> R: ...

    def commit(self, resource: R) -> Ref[R]: ...


def _no_store_yet() -> _CurrentStore:
    raise NoActiveContext("No active Store; use `with <Store>:`.")


# The current store's lookup (Store.current), set by the store's module.
_current_store: list[Callable[[], _CurrentStore]] = [_no_store_yet]


def set_current_store(current: Callable[[], _CurrentStore]) -> None:
    """Has refs find the current store through ``current`` (``Store.current``)."""
    _current_store[0] = current


@register
class Ref(Generic[R], ResourceBase):
    """A reference to a resource (or plain value) by its digest.

    A ref created by committing keeps the committed object as a cache and
    returns it from :meth:`checkout` for as long as its digest still matches,
    so reading works without a store. Refs created by decoding have no cache.
    A plain value's digest is that of its wrapper (:func:`enact.wrap`), and a
    ref to one checks out the plain value.
    """

    _enact_type_name = "enact.references.Ref"
    _enact_field_attributes = (("digest", "_digest"),)

    def __init__(self, digest: str, resource: R | None = None) -> None:
        self._digest = digest
        # resource=None means "no cache" (as in 0.4.0.dev1); _cache_value
        # caches None.
        self._cache: Any = _NO_CACHE if resource is None else resource

    def _cache_value(self, value: Any) -> Self:
        self._cache = value
        return self

    @classmethod
    def field_names(cls) -> Iterable[str]:
        return ("digest",)

    def field_values(self) -> Iterable[FieldValue]:
        return (self._digest,)

    def field_items(self) -> Iterable[tuple[str, FieldValue]]:
        return (("digest", self._digest),)

    @classmethod
    def from_fields(cls, field_dict: Mapping[str, FieldValue]) -> Self:
        """Builds a ref from its one field, ``digest`` (a str).

        Raises:
            RefError: if the fields are not exactly a str ``digest``, e.g. in
                damaged or hostile stored data.
        """
        if set(field_dict) != {"digest"} or type(field_dict["digest"]) is not str:
            raise RefError(
                f"A {cls.__name__} has one field, a str 'digest'; got "
                f"{dict(field_dict)!r}."
            )
        return cls(**field_dict)  # type: ignore[arg-type]

    @property
    def digest(self) -> str:
        """The hex digest of the referenced resource."""
        return self._digest

    @property
    def id(self) -> str:
        """The ref as JSON text: ``{"digest": "<hex>"}``."""
        return json.dumps({"digest": self._digest}, sort_keys=True)

    @classmethod
    def from_id(cls, ref_id: str) -> Self:
        """Parses the text produced by :attr:`id`.

        Raises:
            InvalidRefId: if ``ref_id`` is not such a text with a digest of 64
                lowercase hex digits (also a ``json.JSONDecodeError``).
        """
        if not isinstance(ref_id, str):
            raise InvalidRefId(ref_id, f"expected a str, got a {type(ref_id).__name__}")
        try:
            # orjson refuses nesting past its limit in linear time (the json
            # module recurses until the interpreter's stack runs out).
            fields = orjson.loads(ref_id)
        except orjson.JSONDecodeError as error:
            raise InvalidRefId(ref_id, str(error)) from None
        if type(fields) is not dict or set(fields) != {"digest"}:
            raise InvalidRefId(ref_id, 'expected {"digest": "<hex>"}')
        digest = fields["digest"]
        if not is_digest(digest):
            shown = repr(digest)[:_SHOWN_ID_CHARS]
            raise InvalidRefId(
                ref_id, f"the digest {shown} is not 64 lowercase hex digits"
            )
        return cls.from_fields(fields)

    def __hash__(self) -> int:
        return hash(self._digest)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._digest}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ref):
            return False
        if type(other) is type(self):
            return other._digest == self._digest
        return type(self).from_resource(other.checkout()).digest == self._digest

    def is_cached(self) -> bool:
        """Whether the ref holds the object it refers to (a cached None too)."""
        return self._cache is not _NO_CACHE

    def checkout(self) -> R:
        """Returns the referenced resource, or plain value.

        The cached object is returned while its digest still matches; otherwise
        the resource is read from the current store.

        Raises:
            NoActiveContext: if a read is needed and no store is active.
            NotFound: if the current store does not hold the object.
        """
        cached = self._cache
        if cached is not _NO_CACHE:
            try:
                immutable = cached._enact_immutable
            except AttributeError:  # a plain value
                immutable = type(cached) in _IMMUTABLE_PLAIN
            if immutable:
                return cached  # type: ignore[no-any-return]
            if type(self) is Ref:  # digest_for, inlined: replay checks many
                flat = _codec.flat_encoder(type(cached))
                data = None if flat is None else flat(cached, None)
                if data is not None:
                    current = hash_bytes(data)
                else:
                    parts = _codec.encode(cached)
                    current = digest_parts(parts)
            else:
                current = digest_for(type(self), cached)
            if current == self._digest:
                return cached  # type: ignore[no-any-return]
        resource: R = _current_store[0]().checkout(self)
        self._cache = resource
        return resource

    __call__ = checkout

    def set(self, resource: R) -> None:
        """Points this ref at ``resource`` (which becomes its cache)."""
        self._digest = digest_for(type(self), resource)
        self._cache = resource

    @contextlib.contextmanager
    def modify(self) -> Iterator[R]:
        """Checks the resource out for in-place change, then commits it.

        On normal exit the changed resource is committed to the current store
        and this ref points at it; on an exception nothing is committed.
        """
        resource = self.checkout()
        yield resource
        new_ref = _current_store[0]().commit(resource)
        self._digest = new_ref.digest
        self._cache = resource

    @classmethod
    def from_resource(cls, resource: R) -> Ref[R]:
        """A ref to ``resource`` whose cache is the very same object.

        ``resource`` may be a plain value: the digest is its wrapper's.
        """
        return cls(resource_digest(resource))._cache_value(resource)

    @classmethod
    def pack(cls, resource: R) -> PackedResource:
        """Returns what to store for ``resource`` and the ref to it."""
        return PackedResource(
            wrap(resource).to_resource_dict(), cls.from_resource(resource)
        )

    @classmethod
    def verify(cls, packed: PackedResource) -> None:
        """Checks that ``packed.data`` has the digest of ``packed.ref``.

        Raises:
            RefError: if it does not.
        """
        actual = digest(packed.data)
        if actual != packed.ref.digest:
            raise RefError(
                f"Data has digest {actual}, but its ref says {packed.ref.digest}."
            )

    @classmethod
    def unpack(cls, packed: PackedResource) -> R:
        """Builds a fresh resource from packed data, after verifying it.

        Raises:
            RefError: if the data does not match the ref.
            DeserializationError: if the data's fields do not fit its type
                (damaged or hostile stored data).
        """
        if not isinstance(packed.ref, cls):
            raise RefError(
                f"Cannot unpack a {type(packed.ref).__name__} with {cls.__name__}."
            )
        cls.verify(packed)
        try:
            return packed.data.to_resource()  # type: ignore[no-any-return]
        except RegistryError:
            raise
        except Exception as error:
            # As the canonical decoder does for its own path (_decode._build).
            raise DeserializationError(
                f"Object {packed.ref.digest} cannot be built: "
                f"{type(error).__name__}: {error}"
            ) from error


_REF_TYPE_ID = Ref.type_id()


def _encode_ref(ref: Ref[Any], sink: Any) -> dict[str, Any]:
    # Refs are encoded several times per journaled call: skip the generic plan.
    if sink.depth >= NESTING_LIMIT:
        raise NestingLimitReached()
    if sink.types is not None:
        sink.types[_REF_TYPE_ID] = Ref
    return {"#res": _REF_TYPE_ID, "digest": ref._digest}


_codec.set_encoder(Ref, _encode_ref)

# Its flat encoders, generated from its field (enact._identity): of one ref,
# and of a list of refs (a journal's child lists).
flat_ref, flat_refs = fields.set_ref_type(Ref)
_codec.set_flat_encoder(Ref, flat_ref)


def digest_for(ref_type: type[Ref[Any]], resource: Any) -> str:
    """The digest a ref of ``ref_type`` to ``resource`` has."""
    if ref_type is Ref or _default_from_resource(ref_type):
        parts = _codec.encode(resource)
        return hash_bytes(parts[0]) if len(parts) == 1 else digest_parts(parts)
    if not isinstance(resource, ResourceBase):
        resource = wrap(resource)
    return ref_type.from_resource(resource).digest


def _default_from_resource(ref_type: type[Ref[Any]]) -> bool:
    method = ref_type.from_resource.__func__  # type: ignore[attr-defined]
    return method is Ref.from_resource.__func__  # type: ignore[attr-defined]


def uses_default_packing(ref_type: type[Ref[Any]]) -> bool:
    """Whether ``ref_type`` packs, verifies and unpacks as :class:`Ref` does
    (then a store takes its fast path of canonical bytes)."""
    return all(
        getattr(ref_type, name).__func__ is getattr(Ref, name).__func__
        for name in ("pack", "verify", "unpack", "from_resource")
    )
