"""Large objects stored once: content-defined chunks over any objects.

:class:`ChunkedObjects` sits on any :class:`~enact.backends.Objects` (a
family's backend bundle, or objects of any other kind) and keeps every
object of at least :data:`THRESHOLD` bytes as chunks, each named by its
content and shared by every object that holds it, plus a manifest under the
object's own key (:mod:`enact.backends.chunk_format`). So the same payload
in 50 call records, two runs or two branches is stored once, and a value
that shares most of its bytes with an earlier one (a grown chat history, an
edited document) costs only the chunks that differ. The cuts are content
defined (:mod:`enact.backends.chunking`): the same bytes are cut the same
way inside different records.

Nothing changes for whoever reads and writes: a key is still the SHA-256 of
the object's whole bytes, :meth:`ChunkedObjects.get_many` returns the whole
bytes (hashed whole on the way, and each chunk hashed only when that fails:
a damaged chunk raises :class:`~enact.backends.BackendError` naming the
object and the chunk, it is never read back as wrong data;
:meth:`ChunkedObjects.read_checked` tells the reader which objects need no
second hash), :meth:`ChunkedObjects.iter_keys`
lists objects, not chunks, and smaller objects are stored as before, so
stores written before chunking read as they are. A large write stores its
chunks first and its manifest after them: a writer killed in between leaves
unreferenced chunks (collected later), never a half-visible object.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence, Set

from enact.backends import chunk_reuse
from enact.backends import gc as garbage
from enact.backends.backend import Backend
from enact.backends.base import BackendError, FileDamage, Parts, StepWriter
from enact.backends.chunk_format import (
    CHUNK_MAGIC,
    MANIFEST_MAGIC,
    NODE_MAGIC,
    encode_manifest,
    encode_node,
    is_internal,
    node_parts,
    parse_manifest,
)
from enact.backends.chunking import MAX_CHUNK, cut_segment, has_long_run, segments
from enact.backends.index import Index
from enact.backends.journals import Journals
from enact.backends.objects import Objects

__all__ = [
    "LONG_VALUE_THRESHOLD",
    "THRESHOLD",
    "ChunkedJournals",
    "ChunkedObjects",
    "split_large",
]

#: Objects of at least this many bytes are stored as chunks.
THRESHOLD = 16 * 1024
#: Smaller objects of at least this many bytes are stored as chunks too if
#: they hold a long string (see :data:`enact.backends.chunking.RUN`): a
#: model's reply, stored as a call's output, is then the same chunk as the
#: reply inside every later call's history.
LONG_VALUE_THRESHOLD = 2 * 1024
# A manifest with more parts than this groups the middle ones into nodes.
_FLAT_PARTS = 8
# About one part in this many ends a node (by its digest), and no node is
# longer than _NODE_MAX parts.
_NODE_FANOUT = 16
_NODE_MAX = 64
#: A ``bytes`` value of at least this size is a chunk of its own.
BLOB_CHUNK = 64 * 1024
# A first or last piece shorter than this is kept in the manifest: its bytes
# cost no more than a reference to a chunk would.
_INLINE = 64
# Internal keys remembered as written in this session, at most.
_KNOWN_LIMIT = 200_000
# Objects read per batch while listing.
_LIST_BATCH = 256

Items = list[tuple[str, Parts]]


def split_large(items: Sequence[tuple[str, Parts]]) -> tuple[Items, Items] | None:
    """The chunk and node entries of the large items, and what to store after
    them (the other items and the manifests), in order; None if no item is
    large (the common case: store ``items`` as they are)."""
    floor = LONG_VALUE_THRESHOLD
    for _, parts in items:
        if (len(parts[0]) if len(parts) == 1 else sum(map(len, parts))) >= floor:
            break
    else:
        return None
    internal: Items = []
    rest: Items = []
    for key, parts in items:
        size = len(parts[0]) if len(parts) == 1 else sum(map(len, parts))
        if size < floor:
            rest.append((key, parts))
            continue
        if size < THRESHOLD and not has_long_run(b"".join(parts)):
            rest.append((key, parts))
            continue
        rest.append((key, [_manifest(key, parts, size, internal)]))
    if not internal:
        return None
    return internal, rest


def _manifest(key: str, parts: Parts, size: int, internal: Items) -> bytes:
    """The manifest of the object ``parts`` make up (``size`` bytes); its
    chunks and nodes go to ``internal``."""
    pieces: list[tuple[bytes, str]] = []  # each piece's bytes and chunk key
    references: set[bytes] = set()
    for text, blob in _regions(parts):
        if blob is not None:
            pieces.append((blob, _chunk(blob, internal)))
            continue
        known = chunk_reuse.spans(text)
        if known is not None:
            references |= _reuse(text, known, pieces, internal)
            continue
        references |= _references(text)
        cut: list[tuple[int, int, str | None]] = []
        _cut_text(text, 0, len(text), cut)
        for start, end, chunk in cut:
            piece = text[start:end]
            if chunk is None:
                pieces.append((piece, _chunk(piece, internal)))
            else:  # known from a segment seen before: no hashing
                internal.append((chunk, [CHUNK_MAGIC, piece]))
                pieces.append((piece, chunk))
    chunks = [chunk for _, chunk in pieces]
    # The first and last pieces hold what is this object's own (a record's
    # fields before and after its long values): kept in the manifest if short.
    head, tail = pieces[0][0], pieces[-1][0]
    first: str | bytes = head if len(head) < _INLINE else chunks[0]
    if len(pieces) == 1:
        listed = [first]
    else:
        last: str | bytes = tail if len(tail) < _INLINE else chunks[-1]
        listed = [first, *_grouped(chunks[1:-1], internal), last]
    # The references, sorted (hex order is byte order) and as raw digests.
    raw = binascii.unhexlify(b"".join(sorted(references)))
    return encode_manifest(key, size, listed, raw)


def _reuse(
    text: bytes,
    known: list[tuple[int, chunk_reuse.Cut]],
    pieces: list[tuple[bytes, str]],
    internal: Items,
) -> set[bytes]:
    """Appends the chunks of ``text`` to ``pieces`` (and ``internal``): the
    remembered chunks of its large strings (:mod:`enact.backends.chunk_reuse`),
    the bytes around them cut here. Returns the references, all of them in
    the bytes around the strings."""
    references: set[bytes] = set()
    position = 0  # where the bytes still to cut start
    after = 0  # where the bytes after the last string start
    for offset, cut in known:
        references |= _references(text[after:offset])
        after = offset + cut.size
        _cut_into(text, position, offset + cut.first, pieces, internal)
        internal += cut.entries
        pieces += cut.chunks
        position = offset + cut.last
    _cut_into(text, position, len(text), pieces, internal)
    return references | _references(text[after:])


def _cut_into(
    text: bytes,
    start: int,
    end: int,
    pieces: list[tuple[bytes, str]],
    internal: Items,
) -> None:
    cut: list[tuple[int, int, str | None]] = []
    _cut_text(text, start, end, cut)
    for begin, stop, chunk in cut:
        piece = text[begin:stop]
        if chunk is None:
            pieces.append((piece, _chunk(piece, internal)))
        else:
            internal.append((chunk, [CHUNK_MAGIC, piece]))
            pieces.append((piece, chunk))


def _chunk(piece: bytes, internal: Items) -> str:
    hasher = _CHUNK_HASH.copy()
    hasher.update(piece)
    digest = hasher.hexdigest()
    internal.append((digest, [CHUNK_MAGIC, piece]))
    return digest


_CHUNK_HASH = hashlib.sha256(CHUNK_MAGIC)


def _regions(parts: Parts) -> list[tuple[bytes, bytes | None]]:
    """The object's bytes as text regions ``(text, None)`` and large
    ``bytes`` values ``(b"", blob)``, in order.

    A large ``bytes`` value (a part of its own after the JSON) is one chunk:
    opaque bytes are shared whole, at the speed of hashing (a picture in
    many records is stored once), and hold no references (the canonical
    encoding writes refs in its JSON). The text is cut by the rules of
    :mod:`enact.backends.chunking`.
    """
    regions: list[tuple[bytes, bytes | None]] = []
    text: list[bytes] = []
    for number, part in enumerate(parts):
        if number and len(part) >= BLOB_CHUNK:
            if text:
                regions.append((b"".join(text), None))
                text = []
            regions.append((b"", part))
        elif part:
            text.append(part)
    if text:
        regions.append((text[0] if len(text) == 1 else b"".join(text), None))
    return regions


def _cut_text(
    data: bytes, start: int, end: int, pieces: list[tuple[int, int, str | None]]
) -> None:
    if start >= end:
        return
    view = data[start:end] if start or end != len(data) else data
    begin = 0
    for stop in segments(view):
        if stop - begin <= MAX_CHUNK:
            pieces.append((start + begin, start + stop, None))
        else:
            pieces += [
                (start + begin + a, start + begin + b, chunk)
                for a, b, chunk in _cut_long(view, begin, stop)
            ]
        begin = stop


# Long segments seen lately, by their first bytes: where the last one that
# began so was cut, and its chunks' keys. A segment that begins the same
# way (the same payload in the next record; a journal record written again
# with one child more or less) keeps every chunk of that one it still holds
# (checked by hashing the bytes, not scanned for cuts again), and is scanned
# only from the first chunk that differs.
_SEGMENTS: dict[bytes, list[tuple[int, int, str]]] = {}
_SEGMENTS_LIMIT = 256
_SEGMENTS_LOCK = threading.Lock()
# How many first bytes name a segment in _SEGMENTS.
_SEGMENT_PREFIX = 256


def _cut_long(view: bytes, begin: int, stop: int) -> list[tuple[int, int, str | None]]:
    """The chunks of one long segment, relative to it.

    The cuts are those of :func:`enact.backends.chunking.cut_segment`: a cut
    depends only on the bytes since the previous cut (the window searched
    lies inside the chunk it ends), so a chunk of an earlier segment that
    starts where this segment's previous chunk ended, holds the same bytes
    and is not this segment's last, is cut the same way here.
    """
    segment = view[begin:stop] if begin or stop != len(view) else view
    size = len(segment)
    data = memoryview(segment)
    prefix = segment[:_SEGMENT_PREFIX]
    known = _SEGMENTS.get(prefix)
    found: list[tuple[int, int, str]] = []
    position = 0
    if known is not None:
        last = len(known) - 1
        for number, (start, end, chunk) in enumerate(known):
            if start != position or end > size:
                break
            # Only the last chunk of a segment ends at its end, not at a cut.
            if (number == last) != (end == size) or (
                number < last and size - start <= MAX_CHUNK
            ):
                break
            hasher = _CHUNK_HASH.copy()
            hasher.update(data[start:end])
            if hasher.hexdigest() != chunk:
                break
            found.append((start, end, chunk))
            position = end
    if position < size:
        # The rest is cut as the whole would be from this chunk on.
        rest = segment[position:] if position else segment
        start = position
        for cut in cut_segment(rest):
            end = position + cut
            hasher = _CHUNK_HASH.copy()
            hasher.update(data[start:end])
            found.append((start, end, hasher.hexdigest()))
            start = end
    with _SEGMENTS_LOCK:
        if len(_SEGMENTS) >= _SEGMENTS_LIMIT:
            _SEGMENTS.clear()
        _SEGMENTS[prefix] = found
    return list(found)


def _references(data: bytes) -> set[bytes]:
    """The digests (hex, as bytes) that :func:`enact.backends.gc.references`
    finds in ``data``.

    A canonical encoding writes each ref as ``"digest":"<64 hex digits>"``,
    so one ``split`` at ``"digest"`` finds them all, in C: a journal record
    of 1,000 children is read in a fraction of what the regular expression
    costs. The split is used only when it finds what the pattern finds:
    every ``"digest"`` in ``data`` is followed by ``:"``, 64 hex digits and
    a quote (which then starts no other ``"digest"``). Anything else (spaces
    around the colon, a field called ``digest`` holding something else)
    takes the pattern.
    """
    pieces = data.split(b'"digest"')
    found = len(pieces) - 1
    if not found:
        return set()
    # What follows each '"digest"': ':"', the digest, '"' (67 bytes).
    heads = b"".join([piece[:67] for piece in pieces[1:]])
    if (
        len(heads) == 67 * found
        and heads[66::67] == b'"' * found
        and heads.translate(None, _HEX_DIGITS) == b':""' * found
        and heads[0::67] == b":" * found
        and heads[1::67] == b'"' * found
    ):
        # ':', digest, ':', digest, ..., '' (the quotes split them apart).
        return set(heads.split(b'"')[1::2])
    return set(garbage.REFERENCE.findall(data))


_HEX_DIGITS = b"0123456789abcdef"


# Recent groupings, by the chunks grouped: the records holding one payload
# group the same chunks between their own first and last.
_GROUPINGS: dict[tuple[str, ...], tuple[list[str], Items]] = {}
_GROUPINGS_LIMIT = 256


def _grouped(chunks: list[str], internal: Items) -> list[str]:
    """The chunks, with runs of them in nodes whose ends are content defined
    (by the digests of the two chunks at the end), so objects sharing a run
    of chunks share its nodes."""
    if len(chunks) <= _FLAT_PARTS:
        return chunks
    key = tuple(chunks)
    known = _GROUPINGS.get(key)
    if known is None:
        nodes: Items = []
        known = (_group(chunks, nodes), nodes)
        if len(_GROUPINGS) >= _GROUPINGS_LIMIT:
            _GROUPINGS.clear()
        _GROUPINGS[key] = known
    internal += known[1]
    return known[0]


def _group(chunks: list[str], internal: Items) -> list[str]:
    parts: list[str] = []
    group: list[str] = []
    for number, chunk in enumerate(chunks):
        group.append(chunk)
        ends = number + 1 == len(chunks) or len(group) >= _NODE_MAX
        if not ends and number:
            mixed = int(chunks[number - 1][:8], 16) + int(chunk[8:16], 16)
            ends = mixed % _NODE_FANOUT == 0
        if ends:
            if len(group) == 1:
                parts.append(group[0])
            else:
                stored = encode_node(group)
                node = hashlib.sha256(stored).hexdigest()
                internal.append((node, [stored]))
                parts.append(node)
            group = []
    return parts


class ChunkedObjects(Backend):
    """Objects that keep large values as shared chunks, over any objects.

    A family's bundle handed in keeps its index, journals, sessions and
    garbage collection: this layer hands them on (the run journals with a
    writer that splits large objects too), so a store built on it works as
    one built on the bundle, with large values stored once.

    Args:
        inner: Where the chunks, nodes, manifests and small objects live.
    """

    chunks_large_objects = False  # it is the chunking layer

    def __init__(self, inner: Objects) -> None:
        self.inner = inner
        self.location = inner.location
        # Chunks and nodes written through this layer since its session (or
        # the last collection) began: not handed to the objects again.
        self._known: set[str] = set()
        self._lock = threading.Lock()
        self._journals: ChunkedJournals | None = None

    # -- writing -----------------------------------------------------------

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        split = split_large(items)
        if split is None:
            self.inner.put_many(items)
            return
        internal, rest = split
        fresh = self._fresh(internal)
        if fresh:
            # First the chunks and nodes, then the manifests: a reader never
            # finds a manifest whose chunks are not stored yet.
            self.inner.put_many(fresh)
        self.inner.put_many(rest)
        self._remember(fresh)

    def _fresh(self, internal: Items) -> Items:
        known = self._known
        seen: set[str] = set()
        fresh: Items = []
        for key, parts in internal:
            if key not in known and key not in seen:
                seen.add(key)
                fresh.append((key, parts))
        return fresh

    def _remember(self, written: Items) -> None:
        with self._lock:
            if len(self._known) + len(written) > _KNOWN_LIMIT:
                self._known.clear()
            self._known.update(key for key, _ in written)

    def _forget_written(self) -> None:
        """Stored copies may now be old or gone: hand chunks on again."""
        with self._lock:
            self._known.clear()

    # -- reading -----------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self.read_checked(keys)[0]

    def read_checked(self, keys: Sequence[str]) -> tuple[list[bytes | None], Set[str]]:
        """The objects, and the keys of those put together from chunks: each
        of them was hashed whole on the way (a reader need not again)."""
        found = self.inner.get_many(keys)
        checked: set[str] = set()
        for number, data in enumerate(found):
            if (
                data is not None
                and data[:1] == b"\x00"
                and data.startswith(MANIFEST_MAGIC)
            ):
                whole = self._assemble(keys[number], data)
                if whole is not data:
                    checked.add(keys[number])
                found[number] = whole
        return found, checked

    def _assemble(self, key: str, data: bytes) -> bytes:
        """The whole bytes a manifest names, checked against ``key``: one
        hash of the whole, and of each chunk only to name a damaged one."""
        manifest = parse_manifest(data, key)
        if manifest is None:
            # A damaged manifest, or an object that only looks like one: the
            # digest check above says which.
            return data
        whole = b"".join(self._read_parts(key, manifest.parts, check=False))
        if len(whole) == manifest.size and hashlib.sha256(whole).hexdigest() == key:
            return whole
        # Which part is damaged: a chunk (named by the check), or else the
        # manifest itself.
        checked = b"".join(self._read_parts(key, manifest.parts, check=True))
        raise BackendError(
            f"object {key} in {self.location} has a damaged manifest (its "
            f"chunks hold {len(checked)} bytes, not {manifest.size}); "
            "store.verify() lists damage"
            if len(checked) != manifest.size
            else f"object {key} in {self.location} has a damaged manifest (its "
            "intact chunks do not make up the object); store.verify() lists damage",
            self.location,
            key,
        )

    def _read_parts(
        self, key: str, parts: list[str | bytes], check: bool
    ) -> list[bytes | memoryview]:
        """The stretches of the object's bytes, in order: views into the
        stored chunks (the one copy made is the join).

        Args:
            check: Hash each chunk and node against its key (to name the one
                that is damaged); a missing one is named either way.
        """
        keys = [part for part in parts if isinstance(part, str)]
        stored = iter(self._stored(key, keys, check))
        pieces: list[bytes | memoryview] = []
        skip = len(CHUNK_MAGIC)
        for part in parts:
            if isinstance(part, bytes):
                pieces.append(part)
                continue
            data = next(stored)
            if data.startswith(CHUNK_MAGIC):
                pieces.append(memoryview(data)[skip:])
            elif data.startswith(NODE_MAGIC) and is_internal(data):
                chunks = node_parts(data)
                inner_chunks = self._stored(key, chunks, check)
                for chunk, inner in zip(chunks, inner_chunks, strict=True):
                    if not inner.startswith(CHUNK_MAGIC):
                        raise self._damaged(key, chunk, "is no chunk")
                    pieces.append(memoryview(inner)[skip:])
            else:
                raise self._damaged(key, part, "is no chunk or node")
        return pieces

    def _stored(self, key: str, parts: list[str], check: bool) -> list[bytes]:
        """The stored bytes of ``parts`` (with ``check``, each checked
        against its digest)."""
        stored = self.inner.get_many(parts)
        result: list[bytes] = []
        for part, data in zip(parts, stored, strict=True):
            if data is None:
                raise self._damaged(key, part, "is missing (was it removed by hand?)")
            if check and hashlib.sha256(data).hexdigest() != part:
                raise self._damaged(key, part, "is damaged (its bytes do not match it)")
            result.append(data)
        return result

    def _damaged(self, key: str, part: str, problem: str) -> BackendError:
        return BackendError(
            f"object {key} in {self.location} cannot be read: its chunk {part} "
            f"{problem}; store.verify() lists damage",
            self.location,
            key,
        )

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        return self.inner.has_many(keys)

    def iter_keys(self) -> Iterator[str]:
        """Yields every object's key; the chunks and nodes are not listed."""
        batch: list[str] = []
        for key in self.inner.iter_keys():
            batch.append(key)
            if len(batch) >= _LIST_BATCH:
                yield from self._objects_in(batch)
                batch = []
        yield from self._objects_in(batch)

    def _objects_in(self, keys: list[str]) -> Iterator[str]:
        try:
            found = self.inner.get_many(keys)
        except BackendError:
            found = []
            for key in keys:
                try:
                    found.extend(self.inner.get_many([key]))
                except BackendError:
                    found.append(None)  # listed: a read reports the damage
        for key, data in zip(keys, found, strict=True):
            if data is None or not is_internal(data):
                yield key
            elif hashlib.sha256(data).hexdigest() != key:
                yield key  # looks internal but damaged: a read reports it

    def scan_damage(self) -> list[FileDamage]:
        return self.inner.scan_damage()

    # -- the rest of the bundle ----------------------------------------------

    def _bundle(self) -> Backend | None:
        inner = self.inner
        return inner if isinstance(inner, Backend) else None

    def index(self) -> Index | None:
        bundle = self._bundle()
        return bundle.index() if bundle is not None else None

    def journals(self) -> Journals | None:
        if self._journals is None:
            bundle = self._bundle()
            inner = bundle.journals() if bundle is not None else None
            if inner is None:
                return None
            self._journals = ChunkedJournals(inner, self._fresh, self._remember)
        return self._journals

    def atomically(self) -> contextlib.AbstractContextManager[None]:
        bundle = self._bundle()
        return bundle.atomically() if bundle is not None else contextlib.nullcontext()

    def gc(
        self,
        dry_run: bool = False,
        progress: garbage.Progress | None = None,
    ) -> garbage.GCReport:
        self._forget_written()
        bundle = self._bundle()
        if bundle is None:
            return super().gc(dry_run, progress)
        return bundle.gc(dry_run=dry_run, progress=progress)

    def begin_use(self) -> None:
        bundle = self._bundle()
        if bundle is not None:
            bundle.begin_use()

    def end_use(self) -> bool:
        bundle = self._bundle()
        idle = bundle.end_use() if bundle is not None else False
        if idle:
            self._forget_written()
        return idle

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"ChunkedObjects({self.inner!r})"


class ChunkedJournals(Journals):
    """Run journals whose writers split large objects like :class:`ChunkedObjects`.

    The chunks and nodes go before the other objects and the manifests, in
    the same write (one append or transaction), before the step lines.
    """

    def __init__(
        self,
        inner: Journals,
        fresh: Callable[[Items], Items],
        remember: Callable[[Items], None],
    ) -> None:
        self.inner = inner
        self.location = inner.location
        self._fresh = fresh
        self._remember = remember

    def _items(self, items: Sequence[tuple[str, Parts]]) -> tuple[Items, Items]:
        split = split_large(items)
        if split is None:
            return [], list(items)
        internal, rest = split
        fresh = self._fresh(internal)
        return fresh, [*fresh, *rest]

    def step_writer(self, run_id: str) -> StepWriter:
        sink = self.inner.step_writer(run_id)

        def write(
            items: Sequence[tuple[str, Parts]], lines: bytes, recovery: bytes
        ) -> None:
            if not items:
                sink(items, lines, recovery)
                return
            fresh, ordered = self._items(items)
            sink(ordered, lines, recovery)
            if fresh:
                self._remember(fresh)

        return write

    def write_steps(
        self, run_id: str, items: Sequence[tuple[str, Parts]], lines: Sequence[bytes]
    ) -> None:
        fresh, ordered = self._items(items)
        self.inner.write_steps(run_id, ordered, lines)
        if fresh:
            self._remember(fresh)

    def read_steps(self, run_id: str) -> list[bytes]:
        return self.inner.read_steps(run_id)

    def settle_steps(self, run_id: str, ended: bool = False) -> None:
        self.inner.settle_steps(run_id, ended)

    def scan_damage(self) -> list[FileDamage]:
        return self.inner.scan_damage()

    def close(self) -> None:
        self.inner.close()
