"""``enact rate``, ``feedback``, ``eval`` and ``export``: executions as data."""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from enact import datasets, evaluations
from enact import feedback as feedback_api
from enact._datasets.calls import call_at
from enact.cli._context import open_store
from enact.cli._output import out, print_json, timestamp
from enact.cli._stores import CommandError, usage_error
from enact.cli._targets import format_path, parse_path, resolve_run
from enact.references import Ref
from enact.runs import PendingInput, parse_answer
from enact.wrappers import wrap

__all__ = ["evaluate", "export", "feedback", "rate"]

_JSON = typer.Option("--json", help="Print JSON instead of text.")
_RUN = typer.Argument(
    metavar="RUN",
    help="The run: its id (or any unique start of it), its name, or 'last'.",
)
_AT = typer.Option(
    "--at",
    metavar="PATH",
    help="The call: dotted child indices (2.0); root by default.",
)
_LABELS = {"up": True, "down": False, "true": True, "false": False}


def _label(text: str | None) -> bool | str | None:
    if text is None:
        return None
    return _LABELS.get(text.lower(), text)


def rate(
    ctx: typer.Context,
    run: Annotated[str, _RUN],
    at: Annotated[str, _AT] = "",
    score: Annotated[
        float | None, typer.Option("--score", help="A score (higher is better).")
    ] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", help="'up' or 'down' (thumbs), or a short word."),
    ] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="Free text.")] = None,
    correction: Annotated[
        str | None,
        typer.Option(
            "--correction",
            metavar="VALUE",
            help="The output the call should have returned (text, a number, "
            "or a JSON object of fields of its output type).",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Who rates (default: person:<your login>)."),
    ] = None,
    edit: Annotated[
        str | None,
        typer.Option("--edit", metavar="ID", help="Change this feedback instead."),
    ] = None,
    delete: Annotated[
        str | None, typer.Option("--delete", metavar="ID", help="Delete this feedback.")
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Give feedback on a call of a run: a score, thumbs, a comment, a correction."""
    with open_store(ctx):
        handle = resolve_run(run)
        path = parse_path(ctx, at)
        if delete is not None:
            note = feedback_api.delete(handle, delete, source=source)
        else:
            fixed = None
            if correction is not None:
                fixed = _parse_correction(handle, path, correction)
            if edit is not None:
                changes: dict[str, Any] = {}
                if score is not None:
                    changes["score"] = score
                if label is not None:
                    changes["label"] = _label(label)
                if comment is not None:
                    changes["comment"] = comment
                if fixed is not None:
                    changes["correction"] = fixed
                if not changes:
                    raise usage_error(ctx, "--edit needs something to change")
                note = feedback_api.edit(handle, edit, source=source, **changes)
            else:
                if score is None and label is None and not comment and fixed is None:
                    raise usage_error(
                        ctx, "give --score, --label, --comment or --correction"
                    )
                note = feedback_api.add(
                    handle,
                    path,
                    score=score,
                    label=_label(label),
                    comment=comment,
                    correction=fixed,
                    source=source,
                )
        if as_json:
            print_json(note.to_json())
            return
        verb = "deleted" if note.deleted else ("changed" if note.revision else "added")
        out().print(
            f"{verb} feedback {note.id} on run {note.run_id} at "
            f"{format_path(note.path)}"
        )


def _parse_correction(handle: Any, path: tuple[int, ...], text: str) -> Any:
    call = call_at(handle, path)
    if call.output is None:
        raise CommandError(
            f"the call at {format_path(path)} of run {handle.id} raised: "
            "it has no output type to correct"
        )
    wanted = type(wrap(call.output))
    request = PendingInput(
        handle.id, path, Ref(call.request), wanted.type_id(), None, None
    )
    return parse_answer(request, text)


def feedback(
    ctx: typer.Context,
    run: Annotated[str, _RUN],
    at: Annotated[
        str | None, typer.Option("--at", metavar="PATH", help="Only this call's.")
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """List the feedback on a run's calls."""
    with open_store(ctx):
        handle = resolve_run(run)
        path = None if at is None else parse_path(ctx, at)
        notes = feedback_api.list_feedback(handle, path)
        if as_json:
            print_json([note.to_json() for note in notes])
            return
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("id", "at", "score", "label", "comment", "source", "when"):
            table.add_column(column)
        for note in notes:
            table.add_row(
                note.id[:12],
                format_path(note.path),
                "" if note.score is None else f"{note.score:g}",
                "" if note.label is None else str(note.label),
                (note.comment or "")
                + (" (corrected)" if note.correction is not None else ""),
                note.source,
                timestamp(note.updated),
            )
        out().print(table)


def _scorer(text: str) -> Any:
    module_name, _, attribute = text.partition(":")
    if not module_name or not attribute:
        raise CommandError(
            f"--scorer {text!r}: name it MODULE:NAME (e.g. myscorers:exact)"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise CommandError(
            f"--scorer {text!r}: cannot import {module_name}: {error}"
        ) from None
    try:
        found = getattr(module, attribute)
    except AttributeError:
        raise CommandError(
            f"--scorer {text!r}: {module_name} has no {attribute}"
        ) from None
    return found() if isinstance(found, type) else found


def evaluate(
    ctx: typer.Context,
    run: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="RUN...", help="The runs to score (default: every run)."
        ),
    ] = None,
    scorer: Annotated[
        list[str] | None,
        typer.Option(
            "--scorer",
            metavar="MODULE:NAME",
            help="A scorer: a registered function or an invokable (a class is "
            "instantiated with no arguments). Repeatable.",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", metavar="COMPONENT|PATH", help="Which call of each run to score."
        ),
    ] = None,
    batch: Annotated[
        str | None, typer.Option("--batch", help="Score the runs of this batch.")
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Score calls of runs with scorers; each scoring is a run, each score feedback."""
    if not scorer:
        raise usage_error(ctx, "name at least one --scorer MODULE:NAME")
    with open_store(ctx):
        scorers = [_scorer(each) for each in scorer]
        where: Any = None
        if at is not None:
            where = at if not at.replace(".", "").isdigit() else parse_path(ctx, at)
        runs: Any = batch
        if run:
            runs = [resolve_run(each) for each in run]
        result = evaluations.evaluate(runs, scorers, at=where)
        if as_json:
            print_json(
                {
                    "id": result.id,
                    "summary": [vars(each) for each in result.summary()],
                    "samples": [
                        {**row, "path": list(row["path"])} for row in result.samples()
                    ],
                }
            )
            return
        table = Table(box=box.SIMPLE_HEAD, title=f"evaluation {result.id}")
        for column in ("scorer", "n", "mean", "95% CI", "missing"):
            table.add_column(column, justify="left" if column == "scorer" else "right")
        for each in result.summary():
            table.add_row(
                each.scorer,
                str(each.count),
                "-" if each.mean is None else f"{each.mean:.3f}",
                "-" if each.low is None else f"[{each.low:.3f}, {each.high:.3f}]",
                str(each.missing),
            )
        out().print(table)
        for title, rows in (("best", result.best()), ("worst", result.worst())):
            listed = ", ".join(
                f"{row['run']} {format_path(row['path'])} ({row['mean']:.3f})"
                for row in rows
            )
            out().print(f"{title}: {listed or '-'}")


def export(
    ctx: typer.Context,
    out_file: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="The file to write: .parquet for Parquet, else JSON lines.",
        ),
    ],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help=f"The rows' format: {', '.join(datasets.FORMATS)}.",
        ),
    ] = "generic",
    component: Annotated[
        str | None, typer.Option("--component", "-c", help="Only calls of this.")
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option("--run", "-r", metavar="RUN", help="Only this run (repeatable)."),
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Only runs tagged so.")
    ] = None,
    feedback_filter: Annotated[
        str | None,
        typer.Option(
            "--feedback",
            metavar="CONDITION",
            help="Only calls whose feedback meets it: score>=4, thumbs=up, ...",
        ),
    ] = None,
    batch: Annotated[
        str | None, typer.Option("--batch", help="Only this batch.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="PATH", help="Only calls at this path."),
    ] = None,
    by_reference: Annotated[
        bool,
        typer.Option(
            "--by-reference",
            help="Write binary and unencodable values as their digest.",
        ),
    ] = False,
    lineage: Annotated[
        bool,
        typer.Option(
            "--lineage/--no-lineage",
            help="Add the 'enact' lineage column to training rows.",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Processes that make the rows (the same file whatever the number).",
        ),
    ] = 1,
) -> None:
    """Write selected calls as a dataset (JSON lines or Parquet)."""
    if format not in datasets.FORMATS:
        raise usage_error(
            ctx, f"unknown format {format!r}: one of {', '.join(datasets.FORMATS)}"
        )
    with open_store(ctx):
        runs = None if not run else [resolve_run(each).id for each in run]
        count = datasets.export(
            out_file,
            format=format,
            by_reference=by_reference,
            lineage=lineage,
            component=component,
            runs=runs,
            tag=tag,
            feedback=feedback_filter,
            batch=batch,
            at=None if at is None else parse_path(ctx, at),
            workers=workers,
        )
        out().print(f"wrote {count} {format} rows to {out_file}")
