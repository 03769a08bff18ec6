"""Checking every object of a store against its digest (``Store.verify``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from enact._refs.errors import Damage
from enact.backends.base import BackendError
from enact.backends.journals import Journals
from enact.backends.objects import Objects

__all__ = ["check_objects"]


def check_objects(
    objects: Objects,
    journals: Journals | None,
    progress: Callable[[int, int], None] | None,
) -> list[Damage]:
    """The damage of ``objects`` (and of the run ``journals``' files): what
    their scan finds in the raw files, then each listed object read and
    checked. Never raises for damage."""
    try:
        found = objects.scan_damage()
        if journals is not None:
            found = [*found, *journals.scan_damage()]
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
        keys.extend(objects.iter_keys())
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
            read, checked = objects.read_checked([key])
        except BackendError as error:
            damage.append(Damage(key, str(error)))
            continue
        data = read[0]
        if data is None:
            damage.append(Damage(key, "listed but not readable"))
        elif key in checked:
            pass  # hashed whole as it was put together
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
    return damage
