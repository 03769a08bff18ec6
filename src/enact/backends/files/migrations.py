"""The layout versions of a file store, and its migrations.

The store records its layout version in the file ``layout-version`` at its
root, written from version 2 on: version 1, the first layout, is the
layout without the file, so stores written before versions were recorded
read as they are. Version 2 keeps large objects as shared chunks.
Opening runs the migrations from the recorded version on, in order; each
one is idempotent, so two processes opening a store at once both succeed.
"""

from __future__ import annotations

import os

from enact.backends.base import BackendError
from enact.backends.files.format import write_file
from enact.backends.migrations import Migration, check_version, pending

__all__ = ["LAYOUT_FILE", "MIGRATIONS", "migrate", "version_of"]

#: The file at a store's root that records its layout version.
LAYOUT_FILE = "layout-version"
# The version a store without the file has.
_UNRECORDED = 1


def _layout_1(root: str) -> None:
    """The directories of objects: loose files, packs, logs and tmp."""
    for name in ("objects", "packs", "logs", "tmp"):
        os.makedirs(os.path.join(root, name), exist_ok=True)


def _chunks_2(root: str) -> None:
    """Nothing to move: objects stored before stay as they are. From version
    2 on, large objects may be stored as chunks and a manifest
    (:mod:`enact.backends.chunked`), which an enact of version 1 cannot read:
    the recorded version keeps it from opening the store."""


#: The layout's versions, in order: each step takes the store one further.
MIGRATIONS: list[Migration[str]] = [
    Migration(1, "objects/, packs/, logs/ and tmp/ (no version file)", _layout_1),
    Migration(2, "large objects as shared chunks and a manifest", _chunks_2),
]


def version_of(root: str) -> int:
    """The layout version the store at ``root`` records.

    Raises:
        BackendError: if the version file cannot be read or holds no number.
    """
    path = os.path.join(root, LAYOUT_FILE)
    try:
        with open(path, "rb") as file:
            text = file.read(64)
    except FileNotFoundError:
        return _UNRECORDED
    except OSError as error:
        raise BackendError(f"cannot read {path}: {error}", root) from None
    try:
        return int(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise BackendError(
            f"{path} does not hold a layout version (a number): {text[:20]!r}", root
        ) from None


def migrate(root: str, temp: str) -> None:
    """Brings the store at ``root`` to the newest layout, and records it.

    Args:
        root: The store directory (created if missing).
        temp: A path in the store's ``tmp/`` for writing the version file.

    Raises:
        StoreVersionError: if the store records a newer layout.
        BackendError: if the store cannot be read or written.
    """
    try:
        os.makedirs(root, exist_ok=True)
        found = version_of(root)
        check_version(found, MIGRATIONS, root)
        steps = pending(found - 1 if found == _UNRECORDED else found, MIGRATIONS)
        for step in steps:
            step.apply(root)
        newest = MIGRATIONS[-1].version
        if newest > _UNRECORDED and found < newest:
            path = os.path.join(root, LAYOUT_FILE)
            write_file(path, [b"%d\n" % newest], temp, False)
    except OSError as error:
        raise BackendError(
            f"cannot use {root} as a store directory: {error}", root
        ) from None
