"""The command as a whole: help, version, exit statuses, one-line errors,
store selection, ``--import``, and failing politely without the extra."""

from __future__ import annotations

import pathlib
import sys

import pytest

from .conftest import Filled
from .helpers import enact

COMMANDS = [
    "runs",
    "show",
    "diff",
    "replay",
    "rewind",
    "fork",
    "resume",
    "inputs",
    "answer",
    "gc",
    "verify",
    "demo",
    "ui",
]


def test_help_and_version() -> None:
    result = enact("--help")
    assert result.code == 0
    for command in COMMANDS:
        assert f" {command} " in result.out
    assert "--store" in result.out and "ENACT_STORE" in result.out

    bare = enact()  # no command: the help, not an error
    assert bare.code == 0 and "Usage" in bare.out

    version = enact("--version")
    assert version.code == 0 and version.out.startswith("enact ")


def test_every_command_and_option_has_help() -> None:
    typer = pytest.importorskip("typer")
    from enact.cli._app import app

    group = typer.main.get_command(app)
    for name in COMMANDS:
        command = group.commands[name]  # type: ignore[attr-defined]
        assert command.help, name
        for param in command.params:
            if param.name not in ("ctx",):
                assert getattr(param, "help", None), (name, param.name)
    for param in group.params:
        assert getattr(param, "help", None), param.name


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "--bogus"],
        ["show"],
        ["runs", "--since", "yesterday-ish"],
        ["show", "x", "--depth", "deep"],
        ["fork", "some-run"],
        ["fork", "some-run", "--at", "2.x"],
        ["answer", "some-run"],
    ],
    ids=lambda args: " ".join(args),
)
def test_usage_errors_are_one_line_with_status_2(
    args: list[str], filled: Filled
) -> None:
    result = enact("--store", filled.path, *args)
    assert result.code == 2, result
    line = result.one_line_error()
    assert line.startswith("enact: error: ")
    assert "--help" in line  # where to read more
    assert result.out == ""


def test_no_store_is_an_error_and_nothing_is_created(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nowhere"
    result = enact("--store", missing, "runs")
    assert result.code == 1
    assert result.one_line_error() == (
        f"enact: error: no enact store at {missing} (run `enact demo` or pass --store)"
    )
    assert not missing.exists()

    # $ENACT_STORE, then the embedded default ./.enact
    from_env = enact("inputs", ENACT_STORE=str(tmp_path / "env.db"))
    assert "no enact store at " + str(tmp_path / "env.db") in from_env.one_line_error()
    assert not (tmp_path / "env.db").exists()
    default = enact("verify", cwd=tmp_path)
    assert "no enact store at .enact " in default.one_line_error()
    assert not (tmp_path / ".enact").exists()


def test_store_from_environment(filled: Filled) -> None:
    result = enact("runs", "--json", ENACT_STORE=str(filled.path))
    assert result.code == 0
    names = {run["name"] for run in result.json()}
    assert {"greeting", "title", "point", "failing"} <= names


def test_import_errors_and_environment_imports(filled: Filled) -> None:
    bad = enact("--import", "no_such_module_here", "--store", filled.path, "runs")
    assert bad.code == 1
    assert "cannot import 'no_such_module_here'" in bad.one_line_error()

    # ENACT_IMPORT makes the user's types known, like --import.
    shown = enact("--store", filled.path, "show", "greeting", ENACT_IMPORT="cliflows")
    assert shown.code == 0
    assert "Chain('world')" in shown.out and shown.err == ""


def test_errors_of_the_library_are_one_line(filled: Filled) -> None:
    digest = "0" * 64
    result = enact("--store", filled.path, "show", digest)
    assert result.code == 1
    assert f"no object {digest}" in result.one_line_error()

    result = enact("--store", filled.path, "show", '{"digest": 3}')
    assert result.code == 1
    assert "Invalid ref id" in result.one_line_error()


def test_python_dash_m(filled: Filled) -> None:
    result = enact(
        "--store",
        filled.path,
        "runs",
        "--limit",
        "1",
        command=[sys.executable, "-m", "enact.cli"],
    )
    assert result.code == 0 and "ID" in result.out


_BLOCK = (
    "import sys; sys.modules[{name!r}] = None; "
    "from enact.cli import main; sys.exit(main({argv!r}))"
)


def test_without_the_cli_extra_the_command_fails_politely(
    filled: Filled,
) -> None:
    for name in ("typer", "rich"):
        script = _BLOCK.format(name=name, argv=["--store", str(filled.path), "runs"])
        result = enact("-c", script, command=[sys.executable])
        assert result.code == 1
        line = result.one_line_error()
        assert "pip install 'enact[cli]'" in line and name in line


def test_without_the_ui_extra_the_ui_fails_politely(filled: Filled) -> None:
    script = _BLOCK.format(name="jinja2", argv=["--store", str(filled.path), "ui"])
    result = enact("-c", script, command=[sys.executable])
    assert result.code == 1
    assert "pip install 'enact[ui]'" in result.one_line_error()


def test_the_package_imports_neither_typer_nor_rich() -> None:
    script = (
        "import sys, enact, enact.cli, enact.cli._stores, enact.diffs; "
        "print(sorted(m for m in ('typer', 'rich') if m in sys.modules))"
    )
    result = enact("-c", script, command=[sys.executable])
    assert result.code == 0, result.err
    assert result.out.strip() == "[]"
