"""How a large object is kept as chunks: the stored forms and their checks.

A large object is stored (by :mod:`enact.backends.chunked`) as three kinds
of entries in the objects underneath, beside the whole objects stored as
they are:

- a **chunk**: ``CHUNK_MAGIC`` then a stretch of the object's bytes, under
  the SHA-256 of those stored bytes (magic included), so it is shared by
  every object that holds the same stretch;
- a **node**: ``NODE_MAGIC`` then the 32-byte digests of a run of chunks,
  under the SHA-256 of the stored bytes: a run of chunks that many objects
  share (the middle of a payload, the old messages of a chat history) is
  named once, by one node;
- a **manifest**: ``MANIFEST_MAGIC``, the object's own digest, its size,
  its parts in order (the digests of chunks and nodes, and a short first or
  last stretch of its bytes in place), the digests of the objects it refers
  to, and a SHA-256 of all that, under the object's own digest (the SHA-256
  of its whole bytes, as for every object).

Chunks and nodes hash to their keys like any stored object; a manifest is
the one entry that does not, so every check that an entry is intact asks
:func:`stored_intact`, and every scan for references asks
:func:`stored_references` (a manifest lists the objects its whole bytes
refer to, since a reference may straddle two chunks). A whole object never
starts with a NUL byte when it is a canonical encoding (JSON: ``{``), and a
stored entry that hashes to its key is a whole object whatever it starts
with, so the forms cannot be mistaken for one another.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Sequence
from typing import NamedTuple

__all__ = [
    "CHUNK_MAGIC",
    "INLINE_MAX",
    "MANIFEST_MAGIC",
    "NODE_MAGIC",
    "Manifest",
    "encode_manifest",
    "encode_node",
    "is_internal",
    "node_parts",
    "parse_manifest",
    "stored_intact",
    "stored_references",
]

CHUNK_MAGIC = b"\x00enact-chunk\n"
NODE_MAGIC = b"\x00enact-node\n"
MANIFEST_MAGIC = b"\x00enact-manifest-1\n"
# After the magic: the object's digest, its size, the number of parts and
# of references.
_HEADER = struct.Struct(">32sQII")
_DIGEST = 32


class Manifest(NamedTuple):
    """A large object's manifest, parsed."""

    #: The object's key (the SHA-256 of its whole bytes), as hex.
    key: str
    #: The object's size in bytes.
    size: int
    #: Its parts in order: the keys of chunks and nodes (hex), and bytes
    #: kept in the manifest itself (a short first or last piece, which only
    #: this object holds: a stored entry of its own would cost more).
    parts: list[str | bytes]
    #: The keys of the objects its bytes refer to, as hex.
    references: list[str]

    def keys(self) -> list[str]:
        """The keys of the stored parts (chunks and nodes), in order."""
        return [part for part in self.parts if isinstance(part, str)]


# Each part: a tag, then a 32-byte key or a 2-byte length and the bytes.
_KEY_PART = b"\x00"
_INLINE_PART = b"\x01"
#: Bytes kept in a manifest, at most, per inline part.
INLINE_MAX = 0xFFFF


def encode_manifest(
    key: str,
    size: int,
    parts: Sequence[str | bytes],
    references: Sequence[str] | bytes,
) -> bytes:
    """The stored bytes of a manifest (see the module docstring).

    ``references`` are hex digests, or the raw 32-byte digests one after
    another (a journal record's thousand refs, converted in one call).
    """
    if isinstance(references, bytes):
        raw_references = references
        count = len(references) // _DIGEST
    else:
        raw_references = b"".join([bytes.fromhex(ref) for ref in references])
        count = len(references)
    pieces = [
        MANIFEST_MAGIC,
        _HEADER.pack(bytes.fromhex(key), size, len(parts), count),
    ]
    for part in parts:
        if isinstance(part, bytes):
            pieces += [_INLINE_PART, len(part).to_bytes(2, "big"), part]
        else:
            pieces += [_KEY_PART, bytes.fromhex(part)]
    pieces.append(raw_references)
    body = b"".join(pieces)
    return body + hashlib.sha256(body).digest()


def parse_manifest(data: bytes, key: str | None = None) -> Manifest | None:
    """The manifest ``data`` holds; None if it is none, or damaged.

    Args:
        data: Stored bytes.
        key: If given, the manifest must be that object's.
    """
    if not data.startswith(MANIFEST_MAGIC):
        return None
    at = len(MANIFEST_MAGIC)
    end = len(data) - _DIGEST
    if end < at + _HEADER.size:
        return None
    if hashlib.sha256(memoryview(data)[:end]).digest() != data[end:]:
        return None
    raw_key, size, count, refs = _HEADER.unpack_from(data, at)
    hex_key = raw_key.hex()
    if key is not None and hex_key != key:
        return None
    at += _HEADER.size
    parts: list[str | bytes] = []
    for _ in range(count):
        tag = data[at : at + 1]
        if tag == _KEY_PART:
            parts.append(data[at + 1 : at + 1 + _DIGEST].hex())
            at += 1 + _DIGEST
        elif tag == _INLINE_PART:
            length = int.from_bytes(data[at + 1 : at + 3], "big")
            parts.append(data[at + 3 : at + 3 + length])
            at += 3 + length
        else:
            return None
    if at + refs * _DIGEST != end:
        return None
    references = [
        data[place : place + _DIGEST].hex() for place in range(at, end, _DIGEST)
    ]
    return Manifest(hex_key, size, parts, references)


def encode_node(parts: Sequence[str]) -> bytes:
    """The stored bytes of a node naming ``parts`` (chunk keys, hex)."""
    return NODE_MAGIC + b"".join(bytes.fromhex(part) for part in parts)


def node_parts(data: bytes) -> list[str]:
    """The chunk keys a node's stored bytes name."""
    start = len(NODE_MAGIC)
    return [data[at : at + _DIGEST].hex() for at in range(start, len(data), _DIGEST)]


def is_internal(data: bytes) -> bool:
    """Whether stored bytes are a chunk or a node (not an object of their own)."""
    return data.startswith(CHUNK_MAGIC) or (
        data.startswith(NODE_MAGIC) and not (len(data) - len(NODE_MAGIC)) % _DIGEST
    )


def stored_intact(key: str, data: bytes | None) -> bool:
    """Whether ``data``, stored under ``key``, is undamaged.

    It is if it hashes to the key (a whole object, a chunk, a node), or if it
    is the undamaged manifest of the object ``key``.
    """
    if data is None:
        return False
    if hashlib.sha256(data).hexdigest() == key:
        return True
    return parse_manifest(data, key) is not None


def stored_references(data: bytes) -> Iterator[str] | None:
    """The keys a chunked entry refers to, or None if ``data`` is no manifest
    or node (then its bytes are scanned as an object's).

    A manifest refers to its parts and to what its object's bytes refer to;
    a node to its chunks. Chunks refer to nothing themselves (their
    object's manifest lists its references).
    """
    if data.startswith(MANIFEST_MAGIC):
        manifest = parse_manifest(data)
        if manifest is None:
            return iter(())
        return iter([*manifest.keys(), *manifest.references])
    if data.startswith(NODE_MAGIC) and is_internal(data):
        return iter(node_parts(data))
    if data.startswith(CHUNK_MAGIC):
        return iter(())
    return None
