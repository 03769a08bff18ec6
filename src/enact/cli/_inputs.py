"""``enact inputs`` and ``enact answer``: the input requests runs wait for."""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from enact import runs as durable
from enact.cli._context import open_store
from enact.cli._output import (
    missing_type_line,
    out,
    print_json,
    short,
    short_type,
    spinner,
    type_name,
    value_json,
)
from enact.cli._run_commands import needs_resume, report, resume_command
from enact.cli._stores import CommandError, usage_error
from enact.cli._targets import format_path, parse_path, resolve_run
from enact.references import NotFound
from enact.resource_registry import ResourceNotFound
from enact.serialization import DeserializationError, load_json

__all__ = ["answer", "inputs"]

_JSON = typer.Option("--json", help="Print JSON instead of text.")


def inputs(
    ctx: typer.Context,
    run: Annotated[
        str | None,
        typer.Argument(
            metavar="[RUN]",
            help="Only this run's requests (id or unique start of it, name, "
            "or 'last').",
        ),
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """List the input requests that waiting runs wait for.

    Given a run, also print what each of its requests asks, in full.
    """
    with open_store(ctx):
        run_id = resolve_run(run).id if run else None
        pending = durable.pending_inputs(run_id)
        if as_json:
            print_json([_pending_json(each) for each in pending])
            return
        if not pending:
            out().print(Text("no pending input requests", "dim"))
            for info in _answered_waiting(run_id):
                out().print(
                    Text(
                        f"run {info.id} is answered and waits to be resumed: "
                        f"enact resume {info.id}",
                        "yellow",
                    ),
                    soft_wrap=True,
                )
            return
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column("RUN", no_wrap=True)
        for column in ("PATH", "TYPE", "ASKS", "ABOUT"):
            table.add_column(column, overflow="fold")
        for each in pending:
            table.add_row(
                Text(each.run_id),
                Text(format_path(each.path)),
                Text(short_type(each.requested_type)),
                Text(short(each.context) if each.context is not None else ""),
                Text(_about(each)),
            )
        out().print(table)
        if run_id is not None:
            # One run's requests: what each asks in full (a conversation so
            # far, say), which the table cuts to one line.
            for each in pending:
                if not isinstance(each.context, str) or not each.context.strip():
                    continue
                out().print(Text(f"\nat {format_path(each.path)} it asks:", "bold"))
                out().print(Text(each.context), soft_wrap=True)


def _answered_waiting(run_id: str | None) -> list[durable.RunInfo]:
    """The waiting runs (or the one run) that only a resume moves on."""
    waiting = durable.list_runs(status=durable.RunStatus.WAITING)
    return [
        info
        for info in waiting
        if (run_id is None or info.id == run_id) and needs_resume(info, 0)
    ]


def _pending_json(pending: durable.PendingInput) -> dict[str, Any]:
    data = {"run_id": pending.run_id, "key": pending.key, **pending.to_json()}
    about = _read(pending.for_value)
    data["about"] = None if about is None else value_json(about)
    return data


def _about(pending: durable.PendingInput) -> str:
    value = _read(pending.for_value)
    return "" if value is None else short(value)


def _read(ref: Any) -> Any:
    if ref is None:
        return None
    try:
        return ref.checkout()
    except (NotFound, ResourceNotFound):
        return None


def answer(
    ctx: typer.Context,
    run: Annotated[
        str,
        typer.Argument(
            metavar="RUN",
            help="The waiting run (id or unique start of it, name, or 'last').",
        ),
    ],
    value: Annotated[
        str | None,
        typer.Argument(
            metavar="[VALUE]",
            help="The answer: taken as text if the requested type accepts "
            'text, else parsed as JSON (42, true, {"x": 1}).',
        ),
    ] = None,
    json_file: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--json-file",
            "-f",
            metavar="FILE",
            help="Read the answer as JSON from FILE ('-' for stdin) instead of VALUE.",
        ),
    ] = None,
    path: Annotated[
        str | None,
        typer.Option(
            "--path",
            "-p",
            metavar="PATH",
            help="Which request, if the run waits for several (dotted child "
            "indices, as `enact inputs` shows).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume",
            help="Unless the run's own process waits for the answer, resume the "
            "run here until it ends or asks again (the default). With "
            "--no-resume the answer is only stored, and the command that "
            "resumes the run is printed.",
        ),
    ] = True,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Answer a waiting run's input request, then resume the run.

    The value must be of the requested type; a wrong one is refused and the
    run keeps waiting. If the run's process waits for the answer in place
    (``wait_for_input``), the run goes on there; else it is resumed here.
    """
    if (value is None) == (json_file is None):
        raise usage_error(ctx, "give either VALUE or --json-file FILE")
    where = parse_path(ctx, path) if path is not None else None
    raw = _load(json_file) if json_file is not None else None
    with open_store(ctx):
        run_id = resolve_run(run).id
        pending = _choose(run_id, where)
        if json_file is not None:
            parsed = durable.parse_answer(pending, raw)
        else:
            assert value is not None
            parsed = _parse_text(pending, value)
        with spinner(f"answering {run_id}"):
            answered = durable.answer(run_id, parsed, path=pending.path)
        info = durable.get_run(run_id).info()
        # A run waiting in place may have taken the answer and gone on (or
        # ended) already: only a run still waiting, and not live, stays put.
        elsewhere = info.is_live or info.stored_status is not durable.RunStatus.WAITING
        owner = info.owner.pid if elsewhere and info.owner is not None else None
        goes_on = "elsewhere" if elsewhere else "here" if resume else "stopped"
        if not as_json:
            line = Text(f"answered {run_id} at {format_path(answered.path)}: ")
            line.append(short(parsed))
            out().print(line)
        if goes_on == "here":
            _resume_after_answer(ctx, run_id, as_json)
            return
        next_command = None if goes_on == "elsewhere" else resume_command(ctx, run_id)
        if as_json:
            print_json(
                {
                    "run_id": run_id,
                    "key": answered.key,
                    "path": list(answered.path),
                    "answer": value_json(parsed),
                    "continues_in_pid": owner,
                    "next": next_command,
                }
            )
        elif next_command is None:
            where_ = "" if owner is None else f" (pid {owner})"
            out().print(Text(f"  the run goes on in its own process{where_}", "dim"))
        else:
            hint = Text(f"  resume it with: {next_command}", "dim")
            out().print(hint, soft_wrap=True)


def _resume_after_answer(ctx: typer.Context, run_id: str, as_json: bool) -> None:
    """Resumes a just-answered run here, or says how to if it cannot be."""
    handle = durable.get_run(run_id)
    try:
        with spinner(f"resuming {run_id}"):
            handle.resume()
    except ResourceNotFound as error:
        # The answer is stored: resuming can wait for the user's modules.
        name = type_name(error.type_id)
        if name.startswith("__main__."):
            hint = missing_type_line(name)
        else:
            module = name.rsplit(".", 1)[0]
            command = resume_command(ctx, run_id, extra_import=module)
            hint = (
                f"type {name} is not registered in this process; resume it with "
                f"`{command}` (or import the module's file: --import "
                f"./{module.replace('.', '/')}.py)"
            )
        raise CommandError(
            f"the answer is stored, but the run cannot resume here: {hint}"
        ) from None
    report(handle, "resumed", as_json)


def _load(json_file: pathlib.Path) -> Any:
    try:
        if str(json_file) == "-":
            return load_json(sys.stdin.read())
        with json_file.open(encoding="utf-8") as stream:
            return load_json(stream.read())
    except (json.JSONDecodeError, DeserializationError) as error:
        raise CommandError(f"{json_file} is not valid JSON: {error}") from None
    except OSError as error:
        raise CommandError(f"cannot read {json_file}: {error.strerror}") from None


def _choose(run_id: str, where: tuple[int, ...] | None) -> durable.PendingInput:
    pending = durable.pending_inputs(run_id)
    if where is not None:
        pending = [each for each in pending if each.path == where]
        if not pending:
            raise CommandError(
                f"run {run_id} has no pending input request at {format_path(where)}"
            )
    if not pending:
        info = durable.get_run(run_id).info()
        if info.status is durable.RunStatus.WAITING:
            raise CommandError(
                f"run {run_id} has no unanswered input request: resume it with "
                f"`enact resume {run_id}`"
            )
        raise CommandError(
            f"run {run_id} has no pending input request (it is {info.status})"
        )
    if len(pending) > 1:
        paths = ", ".join(format_path(each.path) for each in pending)
        raise CommandError(
            f"run {run_id} waits for {len(pending)} inputs ({paths}): "
            "choose one with --path"
        )
    return pending[0]


def _parse_text(pending: durable.PendingInput, text: str) -> Any:
    """The answer from command-line text: as text first, then as JSON."""
    try:
        return durable.parse_answer(pending, text)
    except durable.WrongAnswerType as as_text:
        try:
            data = load_json(text)
        except ValueError:
            raise as_text from None
        except DeserializationError as error:
            raise CommandError(f"the answer is not valid JSON: {error}") from None
        if data == text:
            raise as_text from None
        return durable.parse_answer(pending, data)
