"""The ``enact`` command: see, rewind, fork and answer runs from a shell.

The command line is an optional extra (``pip install 'enact[cli]'``: typer
and rich). Nothing here is imported by ``import enact``, and typer and rich
are imported only when :func:`main` runs, so a missing extra is reported in
one line instead of a traceback. The commands only present what the library
offers (:mod:`enact.runs`, :class:`enact.Store`, :mod:`enact.diffs`); see
``docs/cli.md``.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["main"]

#: The packages the command line needs, all in the ``cli`` extra.
_NEEDS = ("typer", "rich")


def main(argv: list[str] | None = None) -> int:
    """Runs the ``enact`` command.

    Args:
        argv: The arguments after the program name (``sys.argv[1:]`` if None).

    Returns:
        The exit status: 0 on success, 1 when the command failed (an error,
        damage found, a failed run), 2 for a usage error.
    """
    for name in _NEEDS:
        try:
            importlib.import_module(name)
        except ImportError:
            print(
                "enact: the command line needs the 'cli' extra: "
                f"pip install 'enact[cli]' ({name} is missing)",
                file=sys.stderr,
            )
            return 1
    from enact.cli._app import run

    return run(sys.argv[1:] if argv is None else argv)
