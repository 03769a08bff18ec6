"""The store: commits resources as bytes by digest and checks them out again.

A :class:`Store` is built from three parts (:meth:`Store.compose`): objects
(:class:`~enact.backends.Objects`), the run index
(:class:`~enact.backends.Index`) and the run journals
(:class:`~enact.backends.Journals`). ``Store(backend)`` takes the three from
one backend. It encodes values, computes digests, verifies every read
against its digest and keeps the in-process caches; it holds its parts
directly, so a commit or a checkout costs no layer between the store and the
objects. A resource-dict backend is wrapped once, when the store is built
(:mod:`enact._refs.legacy_backend`).

Stores are contexts: ``with store:`` makes ``enact.commit`` and
``ref.checkout()`` use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from typing import Any, Self, TypeVar, cast

from enact import _codec, contexts
from enact._refs.errors import CorruptObject, Damage, NotFound
from enact._refs.families import FileBackend, InMemoryBackend, SQLiteBackend
from enact._refs.hooks import exchange, index_checks
from enact._refs.legacy_backend import StorageBackend, StorageBackendObjects
from enact._refs.ref import (
    PackedResource,
    Ref,
    RefError,
    set_current_store,
    uses_default_packing,
)
from enact._refs.verify import check_objects
from enact.backends.backend import Backend
from enact.backends.base import BackendError, Parts
from enact.backends.chunked import ChunkedObjects
from enact.backends.gc import GCReport
from enact.backends.index import Index
from enact.backends.journals import IndexJournals, Journals
from enact.backends.objects import NOTHING_CHECKED, Objects
from enact.digests import digest_parts, hash_bytes
from enact.interfaces import ResourceBase
from enact.resource_registry import Registry, ResourceNotFound
from enact.serialization import DeserializationError
from enact.wrappers import TypeWrapperBase, wrap

__all__ = [
    "FileStore",
    "InMemoryStore",
    "SQLiteStore",
    "Store",
    "checkout",
    "commit",
    "get",
]

# A resource or a plain value with a type wrapper.
R = TypeVar("R")


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
            or a resource-dict :class:`StorageBackend` (the 0.4.0.dev1
            interface, wrapped once here). A new in-memory one if None.
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
        backend = backend if backend is not None else InMemoryBackend()
        registry = registry or Registry.get()
        close = getattr(backend, "close", None)
        closers = () if close is None else (close,)
        if (
            isinstance(backend, Backend)
            and getattr(backend, "serializer", None) is None
        ):
            # Large objects are kept as shared chunks (enact.backends.chunked):
            # the layer hands on the backend's index, sessions and gc.
            parts: Backend = (
                ChunkedObjects(backend) if backend.chunks_large_objects else backend
            )
            self._assemble(
                backend,
                parts,
                parts.index(),
                parts.journals(),
                registry,
                ref_type,
                {},
                whole=parts,
                user=parts,
                closers=closers,
            )
            return
        # Resource dicts (a backend of the user's own, or a serializer's
        # format): wrapped once, here, so that every method reads and writes
        # bytes by digest. Such a store keeps no run index.
        local_types: dict[str, type[ResourceBase]] = {}
        objects = StorageBackendObjects(
            cast("StorageBackend", backend), ref_type, registry, local_types
        )
        self._assemble(
            backend,
            objects,
            None,
            None,
            registry,
            ref_type,
            local_types,
            whole=None,
            # A file backend storing a serializer's format keeps sessions.
            user=backend if isinstance(backend, Backend) else None,
            closers=closers,
            collect=objects.gc,
        )

    @classmethod
    def compose(
        cls,
        objects: Objects,
        index: Index | None = None,
        journals: Journals | None = None,
        *,
        registry: Registry | None = None,
        ref_type: type[Ref[Any]] = Ref,
    ) -> Self:
        """A store built from its three parts, which may live in different
        systems (objects in an object store, the index in a database).

        ``Store(backend)`` is ``Store.compose(backend, backend.index(),
        backend.journals())`` for a byte-level backend.

        Args:
            objects: Where the objects' bytes live, by digest.
            index: The run index (runs, step logs, names, claims); None for a
                store that keeps no runs.
            journals: The durable runs' step writers and readers. By default
                the backend's own when ``objects`` is a
                :class:`~enact.backends.Backend` and ``index`` its index,
                else the index keeps the step logs (the objects a step names
                are written through ``objects``).
            registry: The registry decoding looks types up in (the global
                one by default).
            ref_type: The class of the refs :meth:`commit` returns.

        Garbage collection and transactions need objects and index of one
        backend (the roots of a collection are in the index, the writers'
        sessions beside the objects): a store whose index comes from
        elsewhere refuses :meth:`gc` and writes without transactions.
        :meth:`close` closes the three parts.
        """
        whole = None
        own_index = isinstance(objects, Backend) and (
            index is None or index is objects.index()
        )
        given = objects
        if getattr(objects, "chunks_large_objects", True):
            # As every store keeps them: large objects as shared chunks, so
            # stores composed and built over the same objects read each
            # other's writes.
            objects = ChunkedObjects(objects)
        if own_index:
            whole = cast("Backend", objects)
        if journals is None and index is not None:
            if whole is not None:
                journals = whole.journals()
            else:
                journals = IndexJournals(objects.put_many, index)
        store = cls.__new__(cls)
        store._assemble(
            given,
            objects,
            index,
            journals,
            registry or Registry.get(),
            ref_type,
            {},
            whole=whole,
            user=objects if isinstance(objects, Backend) else None,
            # Journals write through the objects and the index: first.
            closers=tuple(
                part.close
                for part in dict.fromkeys((journals, index, objects))
                if part is not None
            ),
        )
        return store

    def _assemble(
        self,
        backend: StorageBackend | Objects,
        objects: Objects,
        index: Index | None,
        journals: Journals | None,
        registry: Registry,
        ref_type: type[Ref[Any]],
        local_types: dict[str, type[ResourceBase]],
        *,
        whole: Backend | None,
        user: Backend | None,
        closers: tuple[Callable[[], None], ...],
        collect: Callable[..., GCReport] | None = None,
    ) -> None:
        """Sets the store up over its parts, choosing once what each method
        calls, so that none asks what kind of parts the store has.

        Args:
            whole: The backend holding both objects and index, if one does:
                it collects garbage and groups writes into transactions.
            user: The backend whose session lasts while the store is
                entered.
            closers: What :meth:`close` calls, in order.
            collect: What :meth:`gc` calls when there is no ``whole``.
        """
        self._backend = backend
        self._objects = objects
        self._index = index
        self._journals = journals
        self._registry = registry
        self._ref_type = ref_type
        self._default_packing = uses_default_packing(ref_type)
        # Classes this store object has encoded, by type id: lets it read back
        # unregistered classes within this process. Other processes need the
        # class registered.
        self._local_types = local_types
        self._known: set[str] = set()
        self._pending: dict[str, Parts] = {}
        # Objects just read and checked, each served once (serve_checked).
        self._checked: dict[str, bytes] = {}
        # Batch nesting depth, per thread: a batch buffers only the commits of
        # the thread that opened it.
        self._batching = _Batching()
        self._lock = threading.RLock()
        self._user = user
        self._closers = closers
        self._collect = whole.gc if whole is not None else collect
        self._atomically: Callable[[], contextlib.AbstractContextManager[None]] = (
            whole.atomically if whole is not None else contextlib.nullcontext
        )

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
    def backend(self) -> StorageBackend | Objects:
        """The backend this store writes to (for a composed store, its
        objects)."""
        return self._backend

    @property
    def objects(self) -> Objects:
        """The store's objects: bytes by digest (what :meth:`commit` writes
        and :meth:`checkout` reads)."""
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
            BackendError: if the backend keeps no index (a resource-dict
                ``StorageBackend`` of the user's own, say).
        """
        index = self._index
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
        registered dataclass, ...): its wrapper is stored (:func:`enact.wrap`), and
        checking the ref out returns the plain value.

        Raises:
            FieldTypeError: if the resource holds a value that cannot be stored
                (:class:`~enact.interfaces.MissingWrapperError` for a value
                without a wrapper).
        """
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
                    key = hash_bytes(data)
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
        # Stores the value's wrapper (custom Ref types and resource-dict backends
        # see a resource); the ref caches the plain value itself.
        ref = cast("Ref[R]", self.commit(wrap(value)))
        return ref._cache_value(value)

    def _put(self, key: str, parts: Parts) -> None:
        if self._batching.depth:
            self._pending[key] = parts
            return
        self._objects.put_many([(key, parts)])
        self._remember(key)

    def _remember(self, key: str) -> None:
        known = self._known
        if len(known) >= _KNOWN_LIMIT:
            known.clear()
        known.add(key)

    def _written(self, items: list[tuple[str, Parts]]) -> None:
        """Moves the buffered ``items``, just written, from the buffer to the
        keys known written (a flush writes a run's objects at once: hot)."""
        pop = self._pending.pop
        keys = [key for key, _ in items]
        for key in keys:  # only these: other threads may have buffered more
            pop(key, None)
        known = self._known
        if len(known) + len(keys) > _KNOWN_LIMIT:
            known.clear()
        known.update(keys)

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
        return self._atomically()

    def flush(self) -> None:
        """Writes every buffered object to the backend."""
        with self._lock:
            if not self._pending:
                return
            items = list(self._pending.items())
            self._objects.put_many(items)
            self._written(items)

    def step_writer(self, run_id: str) -> Callable[[bytes, bytes], None]:
        """A durable run's writer of finished calls (:meth:`Backend.step_writer`).

        ``write(lines, recovery)`` writes every buffered object, then appends
        ``lines`` and ``recovery`` (whole step lines, each ending in a
        newline; recovery lines are JSON arrays, starting with ``[``) to the
        run's step log: all survive the death of the process when it returns.

        Raises:
            BackendError: if the backend keeps no run index.
        """
        journals = self._journals
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
                self._written(items)

        return write

    def settle_steps(self, run_id: str, ended: bool = False) -> None:
        """The run stopped writing steps (see :meth:`Backend.settle_steps`)."""
        journals = self._journals
        if journals is not None:
            journals.settle_steps(run_id, ended)

    # -- reading -----------------------------------------------------------

    def has(self, ref: Ref[Any]) -> bool:
        """Whether the store holds the object ``ref`` refers to."""
        key = ref.digest
        if key in self._known or key in self._pending:
            return True
        objects = self._objects
        # Not remembered as known: the copy found may predate this store's
        # session, and a commit must then write it again (see Store.gc).
        found: bool = self._read_guard(ref, lambda: objects.has_many([key])[0])
        return found

    def serve_checked(self, objects: dict[str, bytes]) -> None:
        """Hands over objects just read and checked against their keys, to
        serve the next checkout of each key once without reading it again:
        a resume's replay reads the call records its journal check has just
        read. Replaces what an earlier call handed over (``{}`` lets go).
        """
        self._checked = objects

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
        key = ref.digest
        pending = self._pending.get(key)
        checked: Set[str] = NOTHING_CHECKED  # commits not yet written
        if pending is not None:
            raw = b"".join(pending)
        elif self._checked and (served := self._checked.pop(key, None)) is not None:
            raw, checked = served, frozenset((key,))
        else:
            read, checked = self._read_guard(ref, lambda: objects.read_checked([key]))
            found = read[0]
            if found is None:
                raise NotFound(ref, self.location)
            raw = found
        if self._default_packing and type(ref).unpack.__func__ is Ref.unpack.__func__:  # type: ignore[attr-defined]
            if key not in checked:  # else hashed whole as it was put together
                actual = hashlib.sha256(raw).hexdigest()
                if actual != key:
                    raise CorruptObject(ref, self.location, actual)
            return self._decode(ref, raw, as_resource_dict=False)  # type: ignore[no-any-return]
        data = self._decode(ref, raw, as_resource_dict=True)
        value: R = _unwrapped(type(ref).unpack(PackedResource(data, ref)))
        return value

    def checkout_many(self, refs: Sequence[Ref[Any]]) -> list[Any]:
        """:meth:`checkout` of several refs, read from the objects in one call.

        Each object is verified and decoded exactly as :meth:`checkout` does;
        the results are in the order of ``refs``.

        Raises:
            NotFound: for the first ref the store does not hold.
            CorruptObject: if stored bytes do not match their digest.
        """
        objects = self._objects
        default = Ref.unpack.__func__  # type: ignore[attr-defined]
        if not self._default_packing or not refs:
            return [self.checkout(ref) for ref in refs]
        if any(type(ref).unpack.__func__ is not default for ref in refs):  # type: ignore[attr-defined]
            return [self.checkout(ref) for ref in refs]
        held: dict[str, Parts] = {}  # commits not yet written, taken once
        keys = []
        for ref in refs:
            parts = self._pending.get(ref.digest)
            if parts is None:
                keys.append(ref.digest)
            else:
                held[ref.digest] = parts
        found, checked = self._read_guard(refs[0], lambda: objects.read_checked(keys))
        read = iter(found)
        values = []
        for ref in refs:
            key = ref.digest
            parts = held.get(key)
            raw = b"".join(parts) if parts is not None else next(read)
            if raw is None:
                raise NotFound(ref, self.location)
            if parts is not None or key not in checked:
                actual = hashlib.sha256(raw).hexdigest()
                if actual != key:
                    raise CorruptObject(ref, self.location, actual)
            values.append(self._decode(ref, raw, as_resource_dict=False))
        return values

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
        self.flush()
        damage = check_objects(self._objects, self._journals, progress)
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
                nothing is removed), or if the store was composed of objects
                and an index of different backends.
            NotImplementedError: for a backend that stores no canonical
                bytes (a resource-dict ``StorageBackend``, or a serializer's
                format).
        """
        collect = self._collect
        if collect is None:
            raise BackendError(
                f"The store {self.location} cannot collect garbage: its objects "
                "and its index are not parts of one backend",
                self.location,
            )
        self.flush()
        # Known keys may be removed now: commits must look again.
        self._known.clear()
        return collect(dry_run=dry_run, progress=progress)

    def push(
        self,
        runs: Iterable[Any] | None = None,
        *,
        to: Store,
        force: bool = False,
        progress: Callable[[Any], None] | None = None,
    ) -> Any:
        """Copies runs, and every object they reach, to the store ``to``,
        sending only what it lacks (see :func:`enact.exchange.push`).

        Args:
            runs: Run ids, run names, ``Run`` handles, names and refs; None
                for every run and name.
            to: The destination store.
            force: Replace what means something else at the destination.
            progress: Called after each batch sent, with an
                :class:`enact.exchange.PushProgress`.

        Returns:
            An :class:`enact.exchange.PushReport`.
        """
        push = exchange()
        return push(self, to, runs, force=force, progress=progress)

    def iter_refs(self) -> Iterator[Ref[Any]]:
        """Yields a ref for every object in the store (for maintenance)."""
        for key in self._objects.iter_keys():
            yield self._ref_type(key)

    def close(self) -> None:
        """Writes buffered objects and releases the backend's files."""
        self.flush()
        self._checked = {}
        for close in self._closers:
            close()


# Refs read through the current store (they sit below it: see _refs.ref).
set_current_store(Store.current)


def _index_damage(store: Store) -> list[Damage]:
    """What the index checks find."""
    found: list[Damage] = []
    if store._index is not None:
        for check in index_checks():
            found.extend(check(store))
    return found


def _unwrapped(value: Any) -> Any:
    if isinstance(value, TypeWrapperBase):
        return value.unwrap()
    return value


def InMemoryStore() -> Store:  # noqa: N802 - the 0.4.0.dev1 API names this factory like a class
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
    """Checks ``ref`` out (the 0.4.0.dev1 name; see :func:`checkout`)."""
    assert ref, "get() needs a ref, got None."
    return ref.checkout()


def checkout(ref: Ref[R]) -> R:
    """Returns what ``ref`` refers to, from its cache or the store.

    A resource comes back as the resource, a plain value unwrapped.
    """
    return get(ref)
