"""The module name recorded for classes and functions of a script run directly.

A class defined in a script run as ``python flow.py`` has the module
``__main__``, a name no other process can import: a type id of
``__main__.Flow`` could never be resolved by the command line, the web UI or
a later script. When the script's file lies on the import path (as it does
for ``python flow.py``: Python puts the script's directory first on
``sys.path``), the name it is importable under (``flow``) is recorded
instead, so ``enact --import flow`` (or ``--import flow.py``) finds the type.

Only names of ``__main__`` are ever changed, so the type ids (and digests) of
classes in imported modules stay what they were.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MAIN", "importable_name", "recorded_module"]

#: The module name of the script Python runs.
MAIN = "__main__"

# The main module's importable name, once found (it never changes in a process).
_found: list[str] = []


def recorded_module(module: str) -> str:
    """The module name to record for a class or function defined in ``module``.

    Args:
        module: The ``__module__`` of the class or function.

    Returns:
        ``module`` itself, unless it is ``__main__`` and the script is
        importable under another name; then that name.
    """
    if module != MAIN:
        return module
    if not _found:
        main = sys.modules.get(MAIN)
        name = None if main is None else importable_name(main, sys.path)
        _found.append(name or MAIN)
    return _found[0]


def importable_name(main: ModuleType, path: Sequence[str]) -> str | None:
    """The name another process can import the script ``main`` under.

    ``python -m package.flow`` gives it in the module's spec. For
    ``python flow.py`` it is the file's path, relative to the first entry of
    ``path`` it lies under, as a dotted name.

    Args:
        main: The ``__main__`` module.
        path: The import path (``sys.path``; ``""`` is the current directory).

    Returns:
        The dotted name, or None if there is none: code from ``python -c``,
        standard input or an interactive session, a file name that is no
        identifier (``my-flow.py``), a file outside ``path``, or a name that
        already belongs to another module.
    """
    spec = getattr(main, "__spec__", None)
    spec_name = getattr(spec, "name", None)
    if isinstance(spec_name, str) and spec_name and spec_name != MAIN:
        return spec_name
    file = getattr(main, "__file__", None)
    if not isinstance(file, str) or not file.endswith(".py"):
        return None
    script = os.path.realpath(file)
    for entry in path:
        if not isinstance(entry, str):
            continue
        root = os.path.realpath(entry or os.curdir)
        relative = os.path.relpath(script, root)
        if relative.startswith(os.pardir + os.sep) or os.path.isabs(relative):
            continue
        parts = relative[: -len(".py")].split(os.sep)
        if not all(part.isidentifier() for part in parts):
            continue
        name = ".".join(parts)
        other = sys.modules.get(name)
        other_file = getattr(other, "__file__", None)
        if other is not None and (
            not isinstance(other_file, str) or os.path.realpath(other_file) != script
        ):
            return None  # importing the name would give another module
        return name
    return None
