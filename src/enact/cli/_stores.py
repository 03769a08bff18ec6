"""Which store a command works on, and the modules to import first.

The store is ``--store URL``, else ``$ENACT_STORE``, else the demo's embedded
default ``./.enact``. It is any URL :func:`enact.open_store` takes: a path (one
ending in ``.db``, ``.sqlite`` or ``.sqlite3`` is a SQLite store, anything else
a store directory), ``file:///...``, ``sqlite:///...``, ``memory:`` or
``postgresql://...``. Only ``enact demo`` creates a local store; every other
command refuses a path where none exists, so a typo never litters the disk
with empty stores. (A server's store is created by the first process that
opens it.)

This module imports neither typer nor rich.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pathlib
import sys
from collections.abc import Iterable
from typing import Any

from enact._store_urls import SQLITE_SUFFIXES, local_store, mask_password, open_store
from enact.backends.base import BackendError
from enact.demo import DEFAULT_STORE
from enact.references import Store

__all__ = [
    "IMPORT_VARIABLE",
    "SQLITE_SUFFIXES",
    "STORE_VARIABLE",
    "CommandError",
    "StoreChoice",
    "choose_store",
    "import_modules",
    "usage_error",
]

#: The environment variable naming the store when ``--store`` is not given.
STORE_VARIABLE = "ENACT_STORE"
#: The environment variable listing modules to import (comma-separated).
IMPORT_VARIABLE = "ENACT_IMPORT"


def usage_error(ctx: Any, message: str) -> CommandError:
    """A usage error (exit status 2) pointing at the command's help.

    Args:
        ctx: The command's click context (for its name).
        message: What is wrong with the arguments.
    """
    where = getattr(ctx, "command_path", "enact")
    return CommandError(f"{message} (see '{where} --help')", 2)


class CommandError(Exception):
    """A command cannot do what was asked; its message is shown as one line.

    Attributes:
        exit_code: The process exit status (1 unless told otherwise).
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        self.exit_code = exit_code
        super().__init__(message)


@dataclasses.dataclass(frozen=True)
class StoreChoice:
    """A store URL (or path) and where the choice came from."""

    #: The URL or path as given (relative paths stay relative, for messages).
    path: str
    #: ``"--store"``, ``"$ENACT_STORE"`` or ``"default"``.
    source: str

    @property
    def is_sqlite(self) -> bool:
        """Whether the URL names a SQLite store."""
        local = self._local()
        return local is not None and local[0] == "sqlite"

    @property
    def shown(self) -> str:
        """The URL for messages: its password masked."""
        return mask_password(self.path)

    def _local(self) -> tuple[str, str] | None:
        try:
            return local_store(self.path)
        except BackendError as error:
            raise CommandError(str(error)) from None

    def exists(self) -> bool:
        """Whether a store is there: a SQLite file, or a store directory (a
        store on a server or in memory always counts as there)."""
        local = self._local()
        if local is None:
            return True
        kind, path = local
        if kind == "sqlite":
            return os.path.isfile(path)
        return os.path.isdir(os.path.join(path, "objects"))

    def open(self, *, create: bool = False) -> Store:
        """Opens the store.

        Args:
            create: Create the store if there is none at the path.

        Raises:
            CommandError: if there is no store and ``create`` is false, or
                it cannot be opened (an unknown scheme, an unreachable
                server).
        """
        if not create and not self.exists():
            raise CommandError(
                f"no enact store at {self.shown} (run `enact demo` or pass --store)"
            )
        try:
            return open_store(self.path)
        except BackendError as error:
            # One line naming the store (the message masks its password).
            raise CommandError(str(error)) from None


def choose_store(option: str | None) -> StoreChoice:
    """The store of a command: ``--store``, else ``$ENACT_STORE``, else ``.enact``.

    Args:
        option: The ``--store`` value, if given.
    """
    if option:
        return StoreChoice(option, "--store")
    variable = os.environ.get(STORE_VARIABLE)
    if variable:
        return StoreChoice(variable, f"${STORE_VARIABLE}")
    return StoreChoice(DEFAULT_STORE, "default")


def import_modules(options: Iterable[str]) -> list[str]:
    """Imports the ``--import`` modules and those in ``$ENACT_IMPORT``.

    Importing them registers the user's component and resource classes, so
    their runs can be resumed, forked and answered. The current directory is
    put first on ``sys.path``, as ``python -m`` does, so a module beside the
    user is found. A value that ends with ``.py`` or holds a path separator
    is a script file: its directory goes first on ``sys.path`` and it is
    imported under its file name (``flow.py`` as ``flow``), the name a run
    started with ``python flow.py`` records for its types.

    Args:
        options: The ``--import`` values, in order.

    Returns:
        The module names imported, ``$ENACT_IMPORT``'s first.

    Raises:
        CommandError: naming a module or file that cannot be imported.
    """
    names = [
        name.strip()
        for name in os.environ.get(IMPORT_VARIABLE, "").split(",")
        if name.strip()
    ]
    names += [name.strip() for name in options if name.strip()]
    if names and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    imported = []
    for name in names:
        module = _module_of_file(name) if _is_file_name(name) else name
        try:
            importlib.import_module(module)
        except Exception as error:
            # A user module may fail in any way on import: report it, once.
            raise CommandError(
                f"cannot import {name!r} (--import): {type(error).__name__}: {error}"
            ) from None
        imported.append(module)
    return imported


def _is_file_name(text: str) -> bool:
    return text.endswith(".py") or os.sep in text or "/" in text


def _module_of_file(text: str) -> str:
    """The module name of a script file, with its directory put on the path.

    Raises:
        CommandError: if there is no such file, or it has no module name.
    """
    path = pathlib.Path(text).expanduser()
    if not path.is_file():
        raise CommandError(
            f"no file {text} (--import takes a module name, e.g. flows, or a "
            "Python file, e.g. ./flows.py)"
        )
    path = path.resolve()
    module = path.stem
    if path.suffix != ".py" or not module.isidentifier():
        raise CommandError(
            f"cannot import {text} (--import): a Python file's name must be an "
            f"identifier ending in .py, e.g. {_identifier(module)}.py"
        )
    known = sys.modules.get(module)
    known_file = getattr(known, "__file__", None)
    if known is not None and (
        not isinstance(known_file, str) or pathlib.Path(known_file).resolve() != path
    ):
        raise CommandError(
            f"cannot import {text} (--import): the module name {module!r} is "
            "taken by another module; rename the file"
        )
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return module


def _identifier(stem: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in stem)
    return cleaned if cleaned.isidentifier() else f"m_{cleaned}"
