"""Running the installed ``enact`` command against real stores, as a user would.

Every test runs the command in a subprocess. ``make_store`` fills a store
(a directory, or a SQLite file) with runs of the components in
``userapp/cliflows.py``, in a subprocess too, so the types are registered
under the user's module name and the command needs ``--import cliflows`` to
know them, exactly as in a user's shell.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Any

USERAPP = pathlib.Path(__file__).resolve().parent / "userapp"


def enact_command() -> list[str]:
    """The installed ``enact`` script, else ``python -m enact.cli``.

    The script beside this interpreter comes first: a version manager's shim
    found on ``PATH`` would add its own start-up time to every call.
    """
    beside = pathlib.Path(sys.executable).parent / "enact"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("enact")
    if found:
        return [found]
    return [sys.executable, "-m", "enact.cli"]


def environment(**extra: str) -> dict[str, str]:
    """The environment of a command: the user's module on the path, no
    store or imports from the test runner's own environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ENACT_STORE", "ENACT_IMPORT", "ENACT_DEBUG", "COLUMNS")
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(USERAPP), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env.update(extra)
    return env


@dataclasses.dataclass
class Result:
    """What a command did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Stdout parsed as JSON."""
        return json.loads(self.out)

    def one_line_error(self) -> str:
        """The error message, checked to be one line without a traceback."""
        assert "Traceback" not in self.err, self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("enact: "), self.err
        return lines[0]


def enact(
    *args: str | os.PathLike[str],
    cwd: os.PathLike[str] | str | None = None,
    stdin: str | None = None,
    command: list[str] | None = None,
    **env: str,
) -> Result:
    """Runs ``enact ARGS...`` and returns its exit status and output."""
    completed = subprocess.run(
        [*(command or enact_command()), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        env=environment(**env),
        timeout=60,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def make_store(path: pathlib.Path) -> dict[str, str]:
    """Fills a store with the runs of ``cliflows.build``; returns their ids.

    The keys are the run names (``greeting``: finished; ``title`` and
    ``point``: waiting for a ``Str`` and a ``cliflows.Point``; ``failing``)
    and ``invocation`` (the greeting's journal) and ``markup`` (a ``Str``
    full of markup), two digests.
    """
    script = (
        "import cliflows, json, sys; print(json.dumps(cliflows.build(sys.argv[1])))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=60,
        check=True,
    )
    made: dict[str, str] = json.loads(completed.stdout)
    return made


def start_run(
    path: pathlib.Path, component: str, text: str, name: str | None = None
) -> str:
    """Starts a run of the ``cliflows`` component ``component`` (a class
    that takes no arguments) on the text ``text`` in the store at ``path``, in
    a subprocess as a user's script would; returns its id."""
    script = (
        "import cliflows, enact, sys\n"
        "with enact.FileStore(sys.argv[1]):\n"
        "    component = getattr(cliflows, sys.argv[2])()\n"
        "    run = enact.run(component, enact.Str(sys.argv[3]), "
        "name=sys.argv[4] or None)\n"
        "print(run.id)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(path), component, text, name or ""],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=60,
        check=True,
    )
    return completed.stdout.strip()
