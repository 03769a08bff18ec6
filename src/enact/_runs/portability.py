"""Warning about runs that record types no other process can import.

A run is for other processes too: the command line, the web UI and later
scripts resume, fork and answer it by importing the modules its types name.
A type named ``__main__.<qualname>`` (see :mod:`enact._importable`) resolves
in no other process, so a run that records one gets an
:class:`UnimportableTypeWarning` (once per type and process) when it starts
and when it asks for an answer of such a type.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Mapping
from typing import Any

from enact._importable import MAIN
from enact._runs.errors import UnimportableTypeWarning
from enact.interfaces import ResourceBase

__all__ = ["warn_unimportable", "warn_unimportable_type"]

_PREFIX = f"{MAIN}."
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_warned: set[str] = set()
_lock = threading.Lock()

# How deep the walk of a component's fields goes (component trees are shallow).
_MAX_DEPTH = 16


def warn_unimportable_type(cls: type) -> None:
    """Warns if ``cls`` is a resource class recorded under ``__main__``."""
    if not (isinstance(cls, type) and issubclass(cls, ResourceBase)):
        return
    name = cls.type_name()
    if not name.startswith(_PREFIX):
        return
    with _lock:
        if name in _warned:
            return
        _warned.add(name)
    warnings.warn(UnimportableTypeWarning(name), stacklevel=_user_level())


def _user_level() -> int:
    """The stack level of the first frame outside enact (the user's call)."""
    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn_unimportable(*values: Any) -> None:
    """Warns for each ``__main__`` type among ``values`` and their fields.

    Resources are walked through their fields (nested components, lists,
    dicts) so that a component built of script-defined parts is caught too.
    """
    seen: set[int] = set()
    for value in values:
        _walk(value, seen, 0)


def _walk(value: Any, seen: set[int], depth: int) -> None:
    if depth > _MAX_DEPTH or id(value) in seen:
        return
    if isinstance(value, type):
        warn_unimportable_type(value)
        return
    if isinstance(value, ResourceBase):
        seen.add(id(value))
        warn_unimportable_type(type(value))
        try:
            fields = list(value.field_values())
        except NotImplementedError:
            return  # a resource without declared fields
        for field in fields:
            _walk(field, seen, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, seen, depth + 1)
    elif isinstance(value, Mapping):
        for item in value.values():
            _walk(item, seen, depth + 1)
