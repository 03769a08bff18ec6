"""Damage in a file store's packs and logs, found by reading the raw files.

A read through the store's index cannot see everything: a log record with a
damaged header is skipped, so its object looks absent rather than damaged;
a damaged digest in a pack's index hides the object it points at behind a
digest nobody asked for. :func:`scan_files` reads every pack and log as
bytes, parses them as readers do (:mod:`enact.backends.files.format`), hashes
every object, and says for each piece of damage the file, the offset and
the object lost (when it can be known). Loose objects need no scan: each is
named by its digest, and :meth:`enact.references.Store.verify` reads them.

An incomplete last record of a log is not damage: it is what a writer
killed mid-append leaves (and looks the same as a log cut short there).
"""

from __future__ import annotations

import hashlib
import io
import os

from enact.backends.base import BackendError, FileDamage
from enact.backends.chunk_format import MANIFEST_MAGIC, parse_manifest
from enact.backends.files.format import (
    ENTRY,
    FOOTER,
    MAGIC,
    hidden_records,
    near_digest,
    parse_log,
    read_pack_index,
)

__all__ = ["scan_files"]


def scan_files(root: str, location: str) -> list[FileDamage]:
    """The damage in the packs and logs under the store directory ``root``."""
    found: list[FileDamage] = []
    for folder, suffix in (("packs", ".pack"), ("logs", ".log")):
        directory = os.path.join(root, folder)
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            continue
        except OSError as error:
            message = f"cannot list {directory}: {error}"
            found.append(FileDamage(message, directory))
            continue
        for name in names:
            if not name.endswith(suffix):
                continue
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as file:
                    data = file.read()
            except FileNotFoundError:
                continue  # removed by a garbage collection since it was listed
            except OSError as error:
                found.append(FileDamage(f"cannot read {path}: {error}", path))
                continue
            scan = _scan_pack if suffix == ".pack" else _scan_log
            found.extend(scan(path, data, location))
    return found


def _scan_pack(path: str, data: bytes, location: str) -> list[FileDamage]:
    try:
        index = read_pack_index(io.BytesIO(data), path, location)
    except BackendError:
        return [
            FileDamage(
                f"pack file {path} is damaged: its index cannot be found, so none "
                "of its objects can be read (which they are is unknown)",
                path,
                max(len(data) - FOOTER.size, 0),
            )
        ]
    found: list[FileDamage] = []
    if data[: len(MAGIC)] != MAGIC:
        found.append(
            FileDamage(
                f"the header of pack file {path} is damaged; no object is lost", path, 0
            )
        )
    if index.footer_damaged:
        found.append(
            FileDamage(
                f"the footer of pack file {path} is damaged; its index was found "
                "from the rest of it, and no object is lost",
                path,
                len(data) - FOOTER.size,
            )
        )
    bad = dict(index.bad)
    raw_index = data[index.index_at : len(data) - FOOTER.size]
    for number, (raw, offset, length) in enumerate(ENTRY.iter_unpack(raw_index)):
        at = index.index_at + number * ENTRY.size
        key = raw.hex()
        if at in bad:
            found.append(
                FileDamage(
                    f"the index entry at offset {at} of pack file {path} is damaged "
                    f"(it points outside the objects): object {key} cannot be read",
                    path,
                    at,
                    key,
                )
            )
            continue
        digest = hashlib.sha256(memoryview(data)[offset : offset + length]).digest()
        if digest == raw or _is_manifest(data, offset, length, key):
            continue
        if near_digest(digest, raw):
            # The entry's digest is damaged, not the object: the object is
            # there, but filed under a digest nobody asks for.
            real = digest.hex()
            found.append(
                FileDamage(
                    f"the index entry at offset {at} of pack file {path} names "
                    f"{key}, a damaged copy of the digest of the object at offset "
                    f"{offset}: object {real} cannot be read",
                    path,
                    at,
                    real,
                )
            )
            found.append(
                FileDamage(
                    f"the index entry at offset {at} of pack file {path} names "
                    f"{key}, which is not stored: its digest is damaged",
                    path,
                    at,
                    key,
                )
            )
        else:
            found.append(
                FileDamage(
                    f"object {key} in pack file {path} (offset {offset}) does not "
                    "match its digest",
                    path,
                    offset,
                    key,
                )
            )
    return found


def _scan_log(path: str, data: bytes, location: str) -> list[FileDamage]:
    try:
        log = parse_log(data, 0, path, location)
    except BackendError:
        return [
            FileDamage(
                f"the header of log file {path} is damaged and its records cannot "
                "be found: none of its objects can be read (which they are is "
                "unknown)",
                path,
                0,
            )
        ]
    found: list[FileDamage] = []
    for gap in log.gaps:
        where = f"bytes {gap.start} to {gap.end} of log file {path}"
        if gap.start == 0 and not gap.lost:
            problem = f"the header of log file {path} is damaged; no object is lost"
        elif gap.recovered is not None:
            problem = (
                f"{where} hold a record with a damaged header; its object "
                f"{gap.recovered[0]} is intact and still read"
            )
        else:
            problem = (
                f"{where} are damaged: the objects recorded there cannot be read "
                "(which they are is unknown)"
            )
        found.append(FileDamage(problem, path, gap.start))
    for key, offset, length in log.entries:
        digest = hashlib.sha256(memoryview(data)[offset : offset + length]).hexdigest()
        if digest == key or _is_manifest(data, offset, length, key):
            continue
        found.append(
            FileDamage(
                f"object {key} in log file {path} (offset {offset}) does not "
                "match its digest",
                path,
                offset,
                key,
            )
        )
        if log.old:
            continue
        for at, hidden in hidden_records(data, offset, offset + length):
            found.append(
                FileDamage(
                    f"the record of object {hidden} at offset {at} of log file "
                    f"{path} is hidden inside the damaged record before it "
                    "(bytes before it are lost): the object cannot be read",
                    path,
                    at,
                    hidden,
                )
            )
    return found


def _is_manifest(data: bytes, offset: int, length: int, key: str) -> bool:
    """Whether the bytes are the intact manifest of the chunked object ``key``
    (the one stored entry that does not hash to its key)."""
    if data[offset : offset + 1] != MANIFEST_MAGIC[:1]:
        return False
    return parse_manifest(data[offset : offset + length], key) is not None
