"""The ``enact`` typer application: global options, commands, exit statuses.

Exit statuses follow the usual conventions: 0 on success, 1 when the command
failed (an error, damage found, a failed run), 2 for a usage error. Errors
are one line on stderr, ``enact: error: ...``, never a traceback (set
``ENACT_DEBUG=1`` to see one for an unexpected error).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from enact.cli import (
    _batches,
    _data_commands,
    _exchange,
    _extras,
    _inputs,
    _inspect,
    _maintenance,
    _run_commands,
    _serve,
)
from enact.cli._context import Session
from enact.cli._output import error_line
from enact.cli._stores import (
    IMPORT_VARIABLE,
    STORE_VARIABLE,
    CommandError,
    choose_store,
    import_modules,
)
from enact.errors import EnactError

__all__ = ["app", "run"]

app = typer.Typer(
    name="enact",
    help=("See, rewind, replay, fork and answer the runs journaled in an enact store."),
    epilog=(
        f"The store is --store PATH, else ${STORE_VARIABLE}, else ./.enact. "
        "Run `enact demo` to make one."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        import importlib.metadata

        try:
            version = importlib.metadata.version("enact")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        typer.echo(f"enact {version}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            "-s",
            metavar="PATH",
            help=(
                "The store: a directory, or a SQLite file (.db, .sqlite, "
                f".sqlite3). Default: ${STORE_VARIABLE}, else ./.enact."
            ),
        ),
    ] = None,
    imports: Annotated[
        list[str] | None,
        typer.Option(
            "--import",
            "-i",
            metavar="MODULE",
            help=(
                "Import MODULE first, so its component and resource types are "
                "known (needed to resume, fork, replay and answer runs of your "
                "own types). MODULE is a module name (flows) or a Python file "
                "(./flows.py, imported as flows). Repeatable; also "
                f"${IMPORT_VARIABLE}, comma-separated."
            ),
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version of enact and exit.",
        ),
    ] = False,
) -> None:
    """See, rewind, replay, fork and answer the runs journaled in an enact store."""
    del version  # handled by its callback
    imported = import_modules(imports or ())
    ctx.obj = Session(choose_store(store), tuple(imported), tuple(imports or ()))


app.command("runs")(_run_commands.runs)
app.command("show")(_inspect.show)
app.command("diff")(_inspect.diff)
app.command("replay")(_run_commands.replay)
app.command("rewind")(_run_commands.rewind)
app.command("fork")(_run_commands.fork)
app.command("resume")(_run_commands.resume)
app.command("sample")(_batches.sample)
app.command("batches")(_batches.batches)
app.command("batch")(_batches.batch)
app.command("inputs")(_inputs.inputs)
app.command("answer")(_inputs.answer)
app.command("rate")(_data_commands.rate)
app.command("feedback")(_data_commands.feedback)
app.command("eval")(_data_commands.evaluate)
app.command("export")(_data_commands.export)
app.command("gc")(_maintenance.gc)
app.command("verify")(_maintenance.verify)
app.command("push")(_exchange.push_command)
app.command("pull")(_exchange.pull)
app.command("demo")(_extras.demo)
app.command("ui")(_extras.ui)
app.command("serve")(_serve.serve)


def run(argv: list[str]) -> int:
    """Runs the command line on ``argv`` and returns the exit status."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="enact", standalone_mode=False)
    except CommandError as error:
        _say(error_line(error))
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (`enact runs | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (EnactError, OSError, ValueError, TypeError) as error:
        # enact's own errors, and the library's refusals of bad values.
        if os.environ.get("ENACT_DEBUG"):
            raise
        _say(error_line(error))
        return 1
    except NotImplementedError as error:
        _say(f"not available in this version of enact: {error or 'not implemented'}")
        return 1
    except Exception as error:
        status = _parser_error(error)
        if status is not None:
            return status
        if os.environ.get("ENACT_DEBUG"):
            raise
        _say(
            f"unexpected error: {error_line(error)} "
            "(set ENACT_DEBUG=1 to see the traceback)"
        )
        return 1
    return result if isinstance(result, int) else 0


def _parser_error(error: Exception) -> int | None:
    """Reports an argument-parsing error of click (or typer's copy of it).

    Returns:
        The exit status, or None if ``error`` is not such an error. Recent
        typer releases carry their own copy of click, so the classes are
        recognized by name.
    """
    kinds = {cls.__name__ for cls in type(error).__mro__}
    context = getattr(error, "ctx", None)
    if "NoArgsIsHelpError" in kinds and context is not None:
        typer.echo(context.get_help())
        return 0
    if "UsageError" in kinds:
        where = context.command_path if context is not None else "enact"
        message = error.format_message().replace("Value error, ", "")  # type: ignore[attr-defined]
        _say(f"{message} (see '{where} --help')")
        return 2
    if "ClickException" in kinds:
        _say(error.format_message())  # type: ignore[attr-defined]
        return int(getattr(error, "exit_code", 1))
    if "Abort" in kinds:
        _say("aborted")
        return 1
    return None


def _say(message: str) -> None:
    print(f"enact: error: {message}", file=sys.stderr)
