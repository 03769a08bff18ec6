"""Runs started by a script run as ``python flow.py``, continued by the command.

A class defined in such a script has the module ``__main__``; its runs record
the name the script is importable under (``flow``) instead, so the command
can import it (``--import flow`` or ``--import ./flow.py``) and fork, resume
and answer the runs. Code no other process can import gets a warning.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import types

import pytest

from enact._importable import importable_name

from .helpers import enact, environment

FLOW = """
import dataclasses
import json
import random
import sys

import enact


@enact.register
@dataclasses.dataclass
class Point(enact.Resource):
    x: int
    y: int


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Roll(enact.Invokable[enact.Str, enact.Str]):
    def call(self, label: enact.Str) -> enact.Str:
        return enact.Str(f"{label}:{random.randrange(10**9)}")


@enact.typed_invokable(enact.Str, enact.Str)
@dataclasses.dataclass
class Flow(enact.Invokable[enact.Str, enact.Str]):
    roll: Roll = dataclasses.field(default_factory=Roll)

    def call(self, label: enact.Str) -> enact.Str:
        rolled = [str(self.roll(label)) for _ in range(3)]
        point = enact.request_input(Point, label, context="Where?")
        return enact.Str(f"{' '.join(rolled)} at {point.x},{point.y}")


if __name__ == "__main__":
    with enact.FileStore(sys.argv[1]):
        made = [enact.run(Flow(), enact.Str(label)) for label in sys.argv[2:]]
        print(json.dumps([[run.id, run.info().component] for run in made]))
"""


def _script(
    directory: pathlib.Path, name: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, name, *args],
        capture_output=True,
        text=True,
        cwd=directory,
        env=environment(),
        timeout=60,
    )


def test_a_script_run_directly_is_continued_by_the_command(
    tmp_path: pathlib.Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "flow.py").write_text(FLOW)
    store = tmp_path / "store"
    started = _script(project, "flow.py", str(store), "home", "work")
    assert started.returncode == 0, started.stderr
    assert started.stderr == ""  # the types are importable: no warning
    (home, component), (work, _) = json.loads(started.stdout)
    assert component == "flow.Flow"

    # From elsewhere, by the script's path: answer (and resume), then fork.
    answered = enact(
        "--store",
        store,
        "--import",
        project / "flow.py",
        "answer",
        home,
        '{"x": 1, "y": 2}',
        cwd=tmp_path,
    )
    assert answered.code == 0, answered.err
    assert answered.out.splitlines()[1] == f"resumed run {home}: finished"
    assert answered.out.splitlines()[2].endswith(" at 1,2'")
    forked = enact(
        "--store",
        store,
        "-i",
        project / "flow.py",
        "fork",
        home,
        "--at",
        "2",
        "--json",
        cwd=tmp_path,
    ).json()
    assert forked["status"] == "waiting" and forked["component"] == "flow.Flow"

    # Beside the script, by its module name or ./flow.py.
    stored = enact(
        "--store",
        store,
        "-i",
        "./flow.py",
        "answer",
        work,
        '{"x": 3, "y": 4}',
        "--no-resume",
        cwd=project,
    )
    assert stored.code == 0, stored.err
    resumed = enact("--store", store, "-i", "flow", "resume", work, cwd=project)
    assert resumed.code == 0, resumed.err
    assert f"resumed run {work}: finished" in resumed.out
    rewound = enact(
        "--store",
        store,
        "-i",
        "flow",
        "rewind",
        work,
        "--calls",
        "1",
        "--json",
        cwd=project,
    ).json()
    assert rewound["status"] == "waiting"


def test_code_no_other_process_can_import_is_warned_about(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "my-flow.py").write_text(FLOW)  # no identifier: not importable
    store = tmp_path / "store"
    started = _script(tmp_path, "my-flow.py", str(store), "a", "b")
    assert started.returncode == 0, started.stderr
    (first, component), _ = json.loads(started.stdout)
    assert component == "__main__.Flow"
    warnings = [
        line
        for line in started.stderr.splitlines()
        if "UnimportableTypeWarning" in line
    ]
    # Once per type, for two runs: the component, its part and the answer type.
    assert sorted(
        line.split("records the type ")[1].split(",")[0] for line in warnings
    ) == [
        "__main__.Flow",
        "__main__.Point",
        "__main__.Roll",
    ]
    # Each points at the line of the user's code that records the type.
    assert all("my-flow.py:" in line.split(": ")[0] for line in warnings)

    refused = enact("--store", store, "fork", first, "--calls", "1")
    assert refused.code == 1
    line = refused.one_line_error()
    assert "type __main__.Flow was defined in code run as __main__" in line
    assert "no other process can import" in line


def test_import_of_a_file_that_cannot_be_imported(tmp_path: pathlib.Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "my-flow.py").write_text(FLOW)
    enact("--store", store, "demo")
    missing = enact("--store", store, "-i", "./nowhere.py", "runs", cwd=tmp_path)
    assert missing.code == 1
    assert "no file ./nowhere.py" in missing.one_line_error()
    bad_name = enact("--store", store, "-i", "./my-flow.py", "runs", cwd=tmp_path)
    assert bad_name.code == 1
    assert "e.g. my_flow.py" in bad_name.one_line_error()


def _main(**attributes: object) -> types.ModuleType:
    module = types.ModuleType("__main__")
    for name, value in attributes.items():
        setattr(module, name, value)
    return module


@pytest.mark.parametrize(
    ("file", "path", "expected"),
    [
        ("/p/flow.py", ["/p", "/usr/lib"], "flow"),
        ("/p/pkg/flow.py", ["/x", "/p"], "pkg.flow"),
        ("/p/flow.py", ["/q"], None),  # not on the import path
        ("/p/my-flow.py", ["/p"], None),  # no identifier
        ("/p/flow.txt", ["/p"], None),
        (None, ["/p"], None),  # python -c, stdin, an interactive session
    ],
)
def test_importable_name_of_a_script(
    file: str | None, path: list[str], expected: str | None
) -> None:
    main = _main(__file__=file, __spec__=None) if file else _main(__spec__=None)
    assert importable_name(main, path) == expected


def test_importable_name_prefers_the_spec_of_python_dash_m() -> None:
    spec = types.SimpleNamespace(name="package.flow")
    assert (
        importable_name(_main(__spec__=spec, __file__="/p/x.py"), []) == "package.flow"
    )


def test_importable_name_refuses_a_name_taken_by_another_module() -> None:
    # "json" is imported already, from elsewhere: importing it would not give
    # the script.
    assert importable_name(_main(__file__="/p/json.py", __spec__=None), ["/p"]) is None
