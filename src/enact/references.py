"""References, stores and storage backends (SPEC A9).

:class:`Ref` names a resource by digest. :class:`Store` commits resources to a
backend and checks them out again, verifying on every read that the bytes still
hash to the digest. Stores are contexts: ``with store:`` makes ``enact.commit``
and ``ref.checkout()`` use it.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, NamedTuple, Self, TypeVar, cast

import orjson

from enact import _codec, contexts
from enact.backends.backend import Backend
from enact.backends.base import BackendError, Parts
from enact.backends.chunked import ChunkedObjects
from enact.backends.files import FileObjects
from enact.backends.gc import GCReport
from enact.backends.index import Index
from enact.backends.journals import Journals
from enact.backends.memory import MemoryObjects
from enact.backends.sqlite import SQLiteObjects
from enact.digests import (
    digest,
    digest_parts,
    hash_bytes,
    is_digest,
    known_digest,
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
from enact.resource_registry import Registry, RegistryError, ResourceNotFound, register
from enact.serialization import DeserializationError, Serializer
from enact.wrappers import TypeWrapperBase, wrap

__all__ = [
    "CorruptObject",
    "Damage",
    "FileBackend",
    "FileStore",
    "GCReport",
    "InMemoryBackend",
    "InMemoryStore",
    "InvalidRefId",
    "NotFound",
    "PackedResource",
    "Ref",
    "RefError",
    "SQLiteBackend",
    "SQLiteStore",
    "StorageBackend",
    "Store",
    "checkout",
    "commit",
    "get",
]

# A resource or a plain value with a type wrapper (SPEC B1).
R = TypeVar("R")

# The "no cached object" mark: None is a value that can be cached.
_NO_CACHE: Any = object()

# Plain values that cannot change in place: a cached one needs no re-check.
_IMMUTABLE_PLAIN = frozenset({type(None), bool, int, float, str, bytes})


class RefError(EnactError):
    """A reference does not match what it refers to."""


class CorruptObject(RefError):
    """Stored bytes do not hash to the digest they are stored under.

    Attributes:
        ref: The reference that was checked out.
        location: The store's location.
        actual: The digest the stored bytes actually have.
    """

    def __init__(self, ref: Ref[Any], location: str, actual: str) -> None:
        self.ref = ref
        self.location = location
        self.actual = actual
        super().__init__(
            f"Object {ref.digest} in store {location} is corrupt: its stored bytes "
            f"hash to {actual[:12]}... (modified or truncated on disk?). "
            "store.verify() lists every damaged object."
        )


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


class NotFound(EnactError):
    """No object is stored under a reference.

    Attributes:
        ref: The missing reference.
        location: The store's location.
    """

    def __init__(self, ref: Ref[Any] | str, location: str = "?") -> None:
        self.ref = ref
        self.location = location
        digest_text = ref.digest if isinstance(ref, Ref) else ref
        super().__init__(
            f"Object {digest_text} is missing from store {location} (was it "
            "committed to another store, or garbage-collected?)."
        )


class Damage(NamedTuple):
    """A problem :meth:`Store.verify` found."""

    #: The digest of the object that cannot be read, or None for damage in a
    #: storage file that costs no object or hides which objects it costs.
    key: str | None
    #: What is wrong.
    problem: str
    #: The damaged storage file, where the store knows it.
    path: str | None = None
    #: Where in ``path`` the damage starts.
    offset: int | None = None


class PackedResource(NamedTuple):
    """What a backend stores for a resource, and the reference to it."""

    data: ResourceDict[Any]
    ref: Ref[Any]


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
        # resource=None means "no cache" (SPEC A9); _cache_value caches None.
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
            if type(self) is Ref:  # _digest_for, inlined: replay checks many
                flat = _codec.flat_encoder(type(cached))
                data = None if flat is None else flat(cached, None)
                if data is not None:
                    current = known_digest(data) or hash_bytes(data)
                else:
                    parts = _codec.encode(cached)
                    current = digest_parts(parts)
            else:
                current = _digest_for(type(self), cached)
            if current == self._digest:
                return cached  # type: ignore[no-any-return]
        resource: R = Store.current().checkout(self)
        self._cache = resource
        return resource

    __call__ = checkout

    def set(self, resource: R) -> None:
        """Points this ref at ``resource`` (which becomes its cache)."""
        self._digest = _digest_for(type(self), resource)
        self._cache = resource

    @contextlib.contextmanager
    def modify(self) -> Iterator[R]:
        """Checks the resource out for in-place change, then commits it.

        On normal exit the changed resource is committed to the current store
        and this ref points at it; on an exception nothing is committed.
        """
        resource = self.checkout()
        yield resource
        new_ref = Store.current().commit(resource)
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

_REF_HEAD = _codec.flat_head(Ref) + b'"digest":'


def flat_ref(ref: Ref[Any], types: dict[str, Any] | None) -> bytes | None:
    """The canonical JSON of a plain :class:`Ref` (its flat encoder)."""
    digest = ref._digest
    if type(digest) is not str:
        return None
    try:
        text = orjson.dumps(digest)
    except orjson.JSONEncodeError:  # a lone surrogate: the tree path says so
        return None
    if types is not None:
        types[_REF_TYPE_ID] = Ref
    return _REF_HEAD + text + b"}"


_codec.set_flat_encoder(Ref, flat_ref)
# Between two digests in a list of Refs: "},{"#res":...,"digest":"
_REF_SEPARATOR = (b'"},' + _REF_HEAD + b'"').decode()


def flat_refs(refs: list[Any], types: dict[str, Any] | None) -> bytes | None:
    """The canonical JSON of a list of plain Refs, or None.

    A journal's child lists run to thousands of refs: the digests are joined
    with the Ref wrappers in between, in C. Falls back (None) on anything but
    plain Refs with str digests that need no JSON escape.
    """
    if not refs:
        return b"[]"
    digests = [ref._digest for ref in refs if type(ref) is Ref]
    if len(digests) != len(refs):
        return None
    try:
        joined = _REF_SEPARATOR.join(digests)  # TypeError unless all are str
        # orjson writes a str as is (UTF-8) unless it escapes a character,
        # so the joined digests are its bytes when no backslash shows.
        if b"\\" in orjson.dumps(digests):
            return None
    except (TypeError, orjson.JSONEncodeError):  # a lone surrogate
        return None
    if types is not None:
        types[_REF_TYPE_ID] = Ref
    return b"".join((b"[", _REF_HEAD, b'"', joined.encode(), b'"}]'))


def _digest_for(ref_type: type[Ref[Any]], resource: Any) -> str:
    if ref_type is Ref or _default_from_resource(ref_type):
        parts = _codec.encode(resource)
        return hash_bytes(parts[0]) if len(parts) == 1 else digest_parts(parts)
    if not isinstance(resource, ResourceBase):
        resource = wrap(resource)
    return ref_type.from_resource(resource).digest


def _default_from_resource(ref_type: type[Ref[Any]]) -> bool:
    method = ref_type.from_resource.__func__  # type: ignore[attr-defined]
    return method is Ref.from_resource.__func__  # type: ignore[attr-defined]


def _uses_default_packing(ref_type: type[Ref[Any]]) -> bool:
    return all(
        getattr(ref_type, name).__func__ is getattr(Ref, name).__func__
        for name in ("pack", "verify", "unpack", "from_resource")
    )


class StorageBackend(abc.ABC):
    """The resource-dict level backend interface of SPEC A9.

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


class _ObjectsAsStorageBackend(StorageBackend, Backend):
    """SPEC A9's methods on top of a byte-level backend."""

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


class InMemoryBackend(_ObjectsAsStorageBackend, MemoryObjects):
    """Objects in process memory."""


class FileBackend(_ObjectsAsStorageBackend, FileObjects):
    """Objects in a directory (see :mod:`enact.backends.files` for the layout).

    Args:
        root_dir: The store directory; created with its parents if missing.
        serializer: Store this serializer's format instead of the canonical
            encoding (slower: reads then verify by re-encoding).
        fsync: Make every write survive power loss, at a cost per write.
    """

    def __init__(
        self,
        root_dir: str | os.PathLike[str],
        serializer: Serializer | None = None,
        fsync: bool = False,
    ) -> None:
        FileObjects.__init__(self, root_dir, fsync=fsync)
        self.serializer = serializer


class SQLiteBackend(_ObjectsAsStorageBackend, SQLiteObjects):
    """Objects in a SQLite database file (see :mod:`enact.backends.sqlite`)."""


class _Batching(threading.local):
    """A store's batch nesting depth in this thread (0: not batching)."""

    depth = 0


# Known-present digests are remembered up to this many, then forgotten.
_KNOWN_LIMIT = 1_000_000


@contexts.register
class Store(contexts.Context):
    """Commits resources to a backend and checks them out again.

    Args:
        backend: Where objects live: a byte-level :class:`enact.backends.Backend`
            or a SPEC A9 :class:`StorageBackend`. A new in-memory one if None.
        registry: The registry decoding looks types up in (the global one by
            default).
        ref_type: The class of the refs :meth:`commit` returns.
    """

    def __init__(
        self,
        backend: StorageBackend | Backend | None = None,
        registry: Registry | None = None,
        ref_type: type[Ref[Any]] = Ref,
    ) -> None:
        self._backend = backend if backend is not None else InMemoryBackend()
        self._registry = registry or Registry.get()
        self._ref_type = ref_type
        objects = self._backend
        # The three parts: objects, the index and the run journals.
        self._index: Index | None = None
        self._journals: Journals | None = None
        if isinstance(objects, Backend):
            self._index = objects.index()
            self._journals = objects.journals()
        if (
            isinstance(objects, Backend)
            and getattr(objects, "serializer", None) is None
        ):
            # Large objects are kept as shared chunks (enact.backends.chunked).
            objects = ChunkedObjects(objects)
            self._journals = objects.journals()
            self._objects: Backend | None = objects
        else:
            self._objects = None
        self._default_packing = _uses_default_packing(ref_type)
        # Classes this store object has encoded, by type id: lets it read back
        # unregistered classes within this process (SPEC A4). Other processes
        # need the class registered.
        self._local_types: dict[str, type[ResourceBase]] = {}
        self._known: set[str] = set()
        self._pending: dict[str, Parts] = {}
        # Batch nesting depth, per thread: a batch buffers only the commits of
        # the thread that opened it.
        self._batching = _Batching()
        self._lock = threading.RLock()
        # The backend whose session lasts while this store is entered.
        self._user: Backend | None = objects if isinstance(objects, Backend) else None

    def enter(self) -> None:
        """Keeps the backend's session while the ``with`` block runs."""
        user = self._user
        if user is not None:
            user.begin_use()

    def exit(self) -> None:
        """Lets the backend's session turn idle when the store's last
        ``with`` block (in any thread) exits: a long-lived process that keeps
        a store object around, out of use, holds garbage collection back for
        a while only (see :mod:`enact.backends.sessions`)."""
        user = self._user
        if user is not None and user.end_use():
            # What the session wrote may be collected once it stops holding
            # collections back: commits must reach the backend again (which
            # writes anew what is stored only in copies older than its
            # session).
            self._known.clear()

    @property
    def backend(self) -> StorageBackend | Backend:
        """The backend this store writes to."""
        return self._backend

    @property
    def objects(self) -> Backend | None:
        """The objects this store reads and writes: the backend's, with large
        values kept as shared chunks (:mod:`enact.backends.chunked`); None
        for a backend storing no canonical bytes (a resource-dict level one)."""
        return self._objects

    @property
    def ref_type(self) -> type[Ref[Any]]:
        """The class of the refs this store returns."""
        return self._ref_type

    @property
    def location(self) -> str:
        """Where the store keeps its objects (a path, or ``memory``)."""
        return str(getattr(self._backend, "location", type(self._backend).__name__))

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    @property
    def index(self) -> Index:
        """The store's mutable run index (runs, step logs, names, claims).

        Raises:
            BackendError: if the backend keeps no index (a SPEC A9
                ``StorageBackend`` of the user's own, say).
        """
        index = self._index if self._objects is not None else None
        if index is None:
            raise BackendError(
                f"The store {self.location} keeps no run index: use a memory, "
                "file or SQLite store.",
                self.location,
            )
        return index

    # -- writing -----------------------------------------------------------

    def commit(self, resource: R) -> Ref[R]:
        """Stores ``resource`` and returns a ref to it (caching ``resource``).

        ``resource`` may also be a plain value (``1``, ``[1, 2]``, ``None``, a
        registered dataclass, ...): its wrapper is stored (SPEC B1), and
        checking the ref out returns the plain value.

        Raises:
            FieldTypeError: if the resource holds a value that cannot be stored
                (:class:`~enact.interfaces.MissingWrapperError` for a value
                without a wrapper).
        """
        objects = self._objects
        if objects is None:
            if not isinstance(resource, ResourceBase):
                return self._commit_plain(resource)
            packed = self._ref_type.pack(resource)
            self._backend.commit(packed)  # type: ignore[union-attr]
            return packed.ref
        if self._default_packing:
            try:
                # On the type: a class committed as a value is no resource.
                immutable = type(resource)._enact_immutable  # type: ignore[attr-defined]
            except AttributeError:  # not a resource: a plain value
                return self._commit_plain(resource)
            # Small immutable values are encoded once, however often they are
            # committed (the shared NoneResource input, say).
            memo = resource.__dict__.get("_enact_encoded") if immutable else None
            if memo is not None:
                key, parts = memo
            else:
                # _codec.encode and hash_bytes, inlined for the flat path: a
                # journaled call commits six or seven small objects.
                flat = _codec.flat_encoder(type(resource))
                data = None if flat is None else flat(resource, self._local_types)
                if data is not None:
                    parts = [data]
                    key = known_digest(data) or hash_bytes(data)
                else:
                    parts = _codec.encode(resource, self._local_types)
                    key = digest_parts(parts)
                if immutable and len(parts) == 1:
                    resource.__dict__["_enact_encoded"] = (key, parts)
            ref: Ref[R] = self._ref_type(key, resource)
        elif not isinstance(resource, ResourceBase):
            return self._commit_plain(resource)
        else:
            packed = self._ref_type.pack(resource)
            packed.ref.verify(packed)
            parts = _codec.encode(packed.data, self._local_types)
            ref = packed.ref
            key = ref.digest
        if key not in self._known:
            if self._batching.depth:  # _put, inlined: hot
                self._pending[key] = parts
            else:
                self._put(key, parts)
        return ref

    def _commit_plain(self, value: R) -> Ref[R]:
        # Stores the value's wrapper (custom Ref types and SPEC A9 backends
        # see a resource); the ref caches the plain value itself.
        ref = cast("Ref[R]", self.commit(wrap(value)))
        return ref._cache_value(value)

    def _put(self, key: str, parts: Parts) -> None:
        if self._batching.depth:
            self._pending[key] = parts
            return
        assert self._objects is not None
        self._objects.put_many([(key, parts)])
        self._remember(key)

    def _remember(self, key: str) -> None:
        known = self._known
        if len(known) >= _KNOWN_LIMIT:
            known.clear()
        known.add(key)

    @contextlib.contextmanager
    def batch(self) -> Iterator[Self]:
        """Buffers commits and writes them together when the block ends.

        Objects committed inside the block are readable from this store at
        once; other processes see them when the outermost block exits. Only
        this thread's commits are buffered: other threads sharing the store
        keep writing at once. Used by :meth:`Invokable.invoke` so a journal
        costs a few file writes in all.
        """
        state = self._batching
        state.depth += 1
        try:
            yield self
        finally:
            state.depth -= 1
            if not state.depth:
                self.flush()

    def atomically(self) -> contextlib.AbstractContextManager[None]:
        """Groups the block's writes (objects and index) into one backend
        transaction where there are transactions (SQLite)."""
        objects = self._objects
        return objects.atomically() if objects is not None else contextlib.nullcontext()

    def flush(self) -> None:
        """Writes every buffered object to the backend."""
        with self._lock:
            if not self._pending or self._objects is None:
                return
            items = list(self._pending.items())
            self._objects.put_many(items)
            for key, _ in items:
                self._pending.pop(key, None)
                self._remember(key)

    def step_writer(self, run_id: str) -> Callable[[bytes, bytes], None]:
        """A durable run's writer of finished calls (:meth:`Backend.step_writer`).

        ``write(lines, recovery)`` writes every buffered object, then appends
        ``lines`` and ``recovery`` (whole step lines, each ending in a
        newline; recovery lines are JSON arrays, starting with ``[``) to the
        run's step log: all survive the death of the process when it returns.

        Raises:
            BackendError: if the backend keeps no run index.
        """
        journals = self._journals if self._objects is not None else None
        if journals is None:
            raise BackendError(
                f"The store {self.location} keeps no run index", self.location
            )
        sink = journals.step_writer(run_id)

        def write(lines: bytes, recovery: bytes) -> None:
            if not self._pending:
                # Nothing buffered: whatever the lines name is written
                # already (a flush empties the buffer only after writing).
                sink((), lines, recovery)
                return
            with self._lock:
                items = list(self._pending.items())
                sink(items, lines, recovery)
                for key, _ in items:
                    self._pending.pop(key, None)
                    self._remember(key)

        return write

    def settle_steps(self, run_id: str, ended: bool = False) -> None:
        """The run stopped writing steps (see :meth:`Backend.settle_steps`)."""
        journals = self._journals
        if self._objects is not None and journals is not None:
            journals.settle_steps(run_id, ended)

    # -- reading -----------------------------------------------------------

    def has(self, ref: Ref[Any]) -> bool:
        """Whether the store holds the object ``ref`` refers to."""
        key = ref.digest
        if key in self._known or key in self._pending:
            return True
        objects = self._objects
        if objects is None:
            return self._backend.has(ref)  # type: ignore[union-attr]
        # Not remembered as known: the copy found may predate this store's
        # session, and a commit must then write it again (see Store.gc).
        found: bool = self._read_guard(ref, lambda: objects.has_many([key])[0])
        return found

    def checkout(self, ref: Ref[R]) -> R:
        """Reads, verifies and decodes the object ``ref`` refers to.

        Always returns a new object. A stored plain value (a type wrapper) is
        returned unwrapped.

        Raises:
            NotFound: if the store does not hold it.
            CorruptObject: if the stored bytes do not match the digest.
            ResourceNotFound: if its type is not registered in this process.
        """
        objects = self._objects
        if objects is None:
            data = self._backend.checkout(ref)  # type: ignore[union-attr]
            if data is None:
                raise NotFound(ref, self.location)
            result: R = _unwrapped(type(ref).unpack(PackedResource(data, ref)))
            return result
        key = ref.digest
        pending = self._pending.get(key)
        if pending is not None:
            raw = b"".join(pending)
        else:
            found = self._read_guard(ref, lambda: objects.get_many([key])[0])
            if found is None:
                raise NotFound(ref, self.location)
            raw = found
        if self._default_packing and type(ref).unpack.__func__ is Ref.unpack.__func__:  # type: ignore[attr-defined]
            actual = hashlib.sha256(raw).hexdigest()
            if actual != key:
                raise CorruptObject(ref, self.location, actual)
            return self._decode(ref, raw, as_resource_dict=False)  # type: ignore[no-any-return]
        data = self._decode(ref, raw, as_resource_dict=True)
        value: R = _unwrapped(type(ref).unpack(PackedResource(data, ref)))
        return value

    def _decode(self, ref: Ref[Any], raw: bytes, as_resource_dict: bool) -> Any:
        try:
            return _codec.decode(
                raw,
                self._registry,
                as_resource_dict=as_resource_dict,
                local_types=self._local_types,
            )
        except _codec.DecodeError as error:
            raise DeserializationError(
                f"Object {ref.digest} in store {self.location} cannot be decoded: "
                f"{error}"
            ) from None
        except ResourceNotFound as error:
            raise ResourceNotFound(
                error.type_id,
                f"object {ref.digest} in store {self.location} has a type that is "
                "not registered in this process",
            ) from None

    def _read_guard(self, ref: Ref[Any], read: Any) -> Any:
        try:
            return read()
        except BackendError as error:
            raise RefError(f"Cannot read {ref.digest}: {error}") from None

    def verify(
        self, progress: Callable[[int, int], None] | None = None
    ) -> list[Damage]:
        """Reads every object and checks it against its digest.

        First the backend reads its raw files for damage a read cannot see
        (:meth:`~enact.backends.Backend.scan_damage`: a file store's log
        records with damaged headers, damaged pack index entries and
        footers), then every listed object is read. Never raises for damage:
        each problem is reported instead.

        Args:
            progress: Called now and then with (objects checked, total).

        Returns:
            One :class:`Damage` per object (or storage file) that is missing,
            unreadable or corrupt, naming the file and the byte offset where
            the backend knows them; empty if the store is intact.
        """
        if self._objects is None:
            raise NotImplementedError("This backend cannot list its objects.")
        self.flush()
        try:
            found = self._objects.scan_damage()
            if self._journals is not None:
                found = [*found, *self._journals.scan_damage()]
        except BackendError as error:
            found = []
            damage = [Damage(None, str(error))]
        else:
            damage = [Damage(d.key, d.problem, d.path, d.offset) for d in found]
        named = {d.key for d in damage}
        keys: list[str] = []
        try:
            # Listing stops at damage it cannot get past; what it listed
            # before still gets checked.
            keys.extend(self._objects.iter_keys())
        except BackendError as error:
            if not found:  # the scan said nothing more precise
                damage.append(Damage(None, str(error)))
        total = len(keys)
        for done, key in enumerate(keys):
            if progress is not None and not done % 256:
                progress(done, total)
            if key in named:
                continue
            try:
                data = self._objects.get_many([key])[0]
            except BackendError as error:
                damage.append(Damage(key, str(error)))
                continue
            if data is None:
                damage.append(Damage(key, "listed but not readable"))
            elif (actual := hashlib.sha256(data).hexdigest()) != key:
                damage.append(
                    Damage(
                        key,
                        "content does not match its digest (it hashes to "
                        f"{actual}: a damaged copy of that object, or of another)",
                    )
                )
        if progress is not None:
            progress(total, total)
        damage.extend(_index_damage(self))
        return damage

    def gc(
        self,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> GCReport:
        """Removes the objects that nothing in the store refers to any more.

        Kept: every object whose digest appears in the run index (run records,
        step lines, names, claims), every object written since the oldest
        other live session on the store started (another process may still
        hold refs to it), and everything those objects refer to. See
        docs/storage.md for the rule. Needs none of the stored types.

        Objects this store object committed count as unreferenced once they
        are old: run it from a store object no other thread is committing
        through. Other store objects, in this process or others, are safe.

        Args:
            dry_run: Only report what would be removed.
            progress: Called now and then with (objects scanned, objects in
                the store) while live objects are marked.

        Returns:
            What was kept and removed.

        Raises:
            BackendError: if a live object or a pack is unreadable (then
                nothing is removed).
            NotImplementedError: for a backend that stores no canonical
                bytes (a SPEC A9 ``StorageBackend``, or a serializer's format).
        """
        if self._objects is None:
            # A SPEC A9 backend, or one storing a serializer's format: its
            # bytes do not hash to their keys, so reads cannot be checked.
            raise NotImplementedError(
                "Garbage collection needs a byte backend storing the canonical "
                "encoding (memory, file or SQLite store)."
            )
        self.flush()
        # Known keys may be removed now: commits must look again.
        self._known.clear()
        return self._objects.gc(dry_run=dry_run, progress=progress)

    def iter_refs(self) -> Iterator[Ref[Any]]:
        """Yields a ref for every object in the store (for maintenance)."""
        if self._objects is None:
            raise NotImplementedError("This backend cannot list its objects.")
        for key in self._objects.iter_keys():
            yield self._ref_type(key)

    def close(self) -> None:
        """Writes buffered objects and releases the backend's files."""
        self.flush()
        close = getattr(self._backend, "close", None)
        if close is not None:
            close()


#: Checks of what the run index holds, run by :meth:`Store.verify` after the
#: objects (the run layer adds the check of its records: this layer cannot
#: read them). Each returns the damage it finds and never raises for it.
_INDEX_CHECKS: list[Callable[[Store], Iterable[Damage]]] = []


def add_index_check(check: Callable[[Store], Iterable[Damage]]) -> None:
    """Has every :meth:`Store.verify` run ``check`` too (once per check)."""
    if check not in _INDEX_CHECKS:
        _INDEX_CHECKS.append(check)


def _index_damage(store: Store) -> list[Damage]:
    """What the index checks find."""
    found: list[Damage] = []
    if store._objects is not None and store._index is not None:
        for check in _INDEX_CHECKS:
            found.extend(check(store))
    return found


def _unwrapped(value: Any) -> Any:
    if isinstance(value, TypeWrapperBase):
        return value.unwrap()
    return value


def InMemoryStore() -> Store:  # noqa: N802 - SPEC A9 names this factory like a class
    """A store whose objects live in process memory."""
    return Store(InMemoryBackend())


def FileStore(root_dir: str | os.PathLike[str], fsync: bool = False) -> Store:  # noqa: N802
    """A store in the directory ``root_dir`` (created if missing).

    Args:
        root_dir: The directory.
        fsync: Make every write survive power loss (slower).
    """
    return Store(FileBackend(root_dir, fsync=fsync))


def SQLiteStore(path: str | os.PathLike[str], fsync: bool = False) -> Store:  # noqa: N802
    """A store in the SQLite database file ``path`` (created if missing).

    Args:
        path: The database file.
        fsync: Make every write survive power loss (slower).
    """
    return Store(SQLiteBackend(path, fsync=fsync))


def commit(resource: R) -> Ref[R]:
    """Commits ``resource`` (or a plain value) to the current store.

    Raises:
        NoActiveContext: if no store is active.
    """
    return Store.current().commit(resource)


def get(ref: Ref[R] | None) -> R:
    """Checks ``ref`` out (SPEC A9's name; see :func:`checkout`)."""
    assert ref, "get() needs a ref, got None."
    return ref.checkout()


def checkout(ref: Ref[R]) -> R:
    """Returns what ``ref`` refers to, from its cache or the store.

    A resource comes back as the resource, a plain value unwrapped.
    """
    return get(ref)
