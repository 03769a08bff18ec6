"""``enact runs``, ``replay``, ``rewind``, ``fork`` and ``resume``."""

from __future__ import annotations

import collections
import datetime
import re
import shlex
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from enact import runs as durable
from enact.cli._context import open_store, session
from enact.cli._output import (
    duration,
    err,
    out,
    print_json,
    short,
    short_type,
    spinner,
    status_style,
    timestamp,
    value_json,
)
from enact.cli._stores import StoreChoice, usage_error
from enact.cli._targets import format_path, parse_path, resolve_run

__all__ = [
    "fork",
    "needs_resume",
    "parse_time",
    "replay",
    "report",
    "resume",
    "resume_command",
    "rewind",
    "runs",
    "status_text",
    "unanswered_counts",
]

_JSON = typer.Option("--json", help="Print JSON instead of text.")
_RUN = typer.Argument(
    metavar="RUN",
    help="The run: its id (or any unique start of it), its name, or 'last'.",
)
_NAME = typer.Option("--name", metavar="NAME", help="A name for the new run.")
_TAGS = typer.Option(
    "--tag", "-t", metavar="TAG", help="A tag for the new run (repeatable)."
)
_LENIENT = typer.Option(
    "--lenient",
    help="Skip recorded calls that no longer match instead of failing "
    "(replay with strict=False).",
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGO = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_time(text: str) -> float:
    """A point in time from the command line, as epoch seconds.

    Accepts an age (``30s``, ``10m``, ``2h``, ``3d``, ``1w``: that long ago),
    an ISO date or date and time (``2024-05-01``, ``2024-05-01T12:30``; local
    time unless it names a zone), or epoch seconds.

    Raises:
        ValueError: if ``text`` is none of these.
    """
    text = text.strip()
    match = _AGO.fullmatch(text)
    if match:
        return time.time() - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use an age (10m, 2h, 3d), an ISO date "
            "(2024-05-01 or 2024-05-01T12:30) or epoch seconds"
        ) from None


_TIME_HELP = "an age (10m, 2h, 3d), an ISO date or time, or epoch seconds"


def runs(
    ctx: typer.Context,
    status: Annotated[
        durable.RunStatus | None,
        typer.Option("--status", help="Only runs with this status."),
    ] = None,
    component: Annotated[
        str | None,
        typer.Option(
            "--component",
            "-c",
            metavar="TEXT",
            help="Only runs whose component's qualified name contains TEXT.",
        ),
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", help="Only runs with this tag.")
    ] = None,
    since: Annotated[
        float | None,
        typer.Option(
            parser=parse_time,
            metavar="TIME",
            help=f"Only runs started at or after TIME: {_TIME_HELP}.",
        ),
    ] = None,
    until: Annotated[
        float | None,
        typer.Option(
            parser=parse_time, metavar="TIME", help="Only runs started before TIME."
        ),
    ] = None,
    parent: Annotated[
        str | None,
        typer.Option(
            "--parent", metavar="RUN", help="Only runs forked or replayed from RUN."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            metavar="N",
            help="Show at most N runs: one page, read from the store's query "
            "index (the next page's cursor is printed on stderr).",
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        typer.Option(
            "--cursor",
            metavar="CURSOR",
            help="Continue after a page (the cursor printed with --limit).",
        ),
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """List the runs in the store, newest first."""
    with open_store(ctx) as store:
        parent_id = resolve_run(parent).id if parent else None
        filters: dict[str, Any] = {
            "status": status,
            "component": component,
            "tag": tag,
            "since": since,
            "until": until,
            "parent": parent_id,
        }
        shown: Sequence[durable.RunInfo]
        if limit is None and cursor is None:
            found = durable.list_runs(**filters)
            _note_damaged(found.damaged)
            shown = found
        else:
            try:
                page = durable.page_runs(
                    **filters, limit=limit or 50, cursor=cursor, store=store
                )
            except ValueError as error:
                raise typer.BadParameter(str(error), param_hint="--cursor") from None
            shown = page.runs
            if page.next_cursor is not None:
                options = {**filters, "parent": parent, "limit": limit}
                command = _next_page(session(ctx).store, options, page.next_cursor)
                err().print(Text(f"more: {command}", "dim"), soft_wrap=True)
        unanswered = unanswered_counts()
        if as_json:
            print_json([_run_json(info, unanswered) for info in shown])
            return
        if not shown:
            out().print(Text("no runs", "dim"))
            return
        out().print(_table(shown, unanswered))


def _next_page(store: StoreChoice, options: dict[str, Any], cursor: str) -> str:
    """The `enact runs` command line of the next page: the same store,
    filters and limit (a cursor is only a position), then the cursor."""
    words = ["enact"]
    if store.source == "--store":
        words += ["--store", shlex.quote(store.shown)]
    words.append("runs")
    for name, value in options.items():
        if value is None:
            continue
        if isinstance(value, durable.RunStatus):
            value = value.value
        elif isinstance(value, float):
            value = f"{value:.6f}".rstrip("0").rstrip(".")  # epoch seconds
        words += [f"--{name}", shlex.quote(str(value))]
    return " ".join([*words, "--cursor", shlex.quote(cursor)])


# Damaged run records named one by one before `runs` sums up the rest.
_DAMAGED_SHOWN = 5


def _note_damaged(damaged: Sequence[durable.DamagedRun]) -> None:
    """One line on stderr per run record left out (it cannot be read)."""
    for each in damaged[:_DAMAGED_SHOWN]:
        err().print(Text(f"note: not listed: {each.problem}", "yellow"), soft_wrap=True)
    if len(damaged) > _DAMAGED_SHOWN:
        err().print(
            Text(
                f"note: {len(damaged) - _DAMAGED_SHOWN} more damaged run records "
                "not listed (enact verify names them all)",
                "yellow",
            )
        )


def unanswered_counts() -> collections.Counter[str]:
    """How many unanswered input requests each waiting run has."""
    return collections.Counter(each.run_id for each in durable.pending_inputs())


def needs_resume(info: durable.RunInfo, unanswered: int) -> bool:
    """Whether a run is waiting with every request answered, and no process
    waits to go on with it: it goes on only when resumed."""
    return info.status is durable.RunStatus.WAITING and not (unanswered or info.is_live)


def status_text(info: durable.RunInfo, unanswered: int) -> Text:
    """A run's status as ``runs`` and ``show`` print it.

    A waiting run shows how many requests are unanswered, or that it is
    answered and must be resumed (or goes on in its own process).
    """
    status = Text(str(info.status), status_style(info.status))
    if info.status is not durable.RunStatus.WAITING:
        return status
    if unanswered:
        status.append(f" ({unanswered})")
    elif info.is_live:
        status = Text("answered, going on", status_style(durable.RunStatus.RUNNING))
    else:
        status = Text("answered, needs resume", "yellow")
    return status


def _run_json(info: durable.RunInfo, unanswered: collections.Counter[str]) -> Any:
    data = info.to_json()
    data["unanswered"] = unanswered[info.id]
    data["needs_resume"] = needs_resume(info, unanswered[info.id])
    return data


def _table(
    found: Sequence[durable.RunInfo], unanswered: collections.Counter[str]
) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("ID", no_wrap=True)
    table.add_column("NAME", overflow="fold")
    table.add_column("STATUS", no_wrap=True)
    table.add_column("COMPONENT", no_wrap=True)
    table.add_column("STARTED", no_wrap=True)
    table.add_column("TOOK", no_wrap=True)
    table.add_column("FROM", overflow="ellipsis", no_wrap=True)
    table.add_column("TAGS", overflow="fold")
    for info in found:
        status = status_text(info, unanswered[info.id])
        took = "-" if info.ended is None else duration(info.ended - info.started)
        parent = info.parent or ""
        table.add_row(
            Text(info.id),
            Text(info.name or ""),
            status,
            Text(info.component.rsplit(".", 1)[-1]),
            Text(timestamp(info.started)[:16]),
            Text(took),
            Text(parent),
            Text(", ".join(info.tags)),
        )
    return table


def replay(
    ctx: typer.Context,
    run: Annotated[str, _RUN],
    name: Annotated[str | None, _NAME] = None,
    tags: Annotated[list[str] | None, _TAGS] = None,
    lenient: Annotated[bool, _LENIENT] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Replay a run in full, as a new run.

    Every recorded call returns its recorded result.
    """
    with open_store(ctx):
        original = resolve_run(run)
        with spinner(f"replaying {original.id}"):
            new = original.replay(strict=not lenient, name=name, tags=tuple(tags or ()))
        report(new, f"replayed {original.id} as", as_json)


def rewind(
    ctx: typer.Context,
    run: Annotated[str, _RUN],
    calls: Annotated[
        int,
        typer.Option(
            "--calls",
            "-n",
            min=0,
            metavar="N",
            help="How many of the last top-level calls to drop and run afresh.",
        ),
    ] = 1,
    name: Annotated[str | None, _NAME] = None,
    tags: Annotated[list[str] | None, _TAGS] = None,
    lenient: Annotated[bool, _LENIENT] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Drop a run's last N top-level calls and run them afresh.

    The result is a new run; random components resample.
    """
    with open_store(ctx):
        original = resolve_run(run)
        with spinner(f"rewinding {original.id} by {calls} calls"):
            new = original.fork(
                calls, strict=not lenient, name=name, tags=tuple(tags or ())
            )
        report(new, f"rewound {original.id} by {calls} calls as", as_json)


def fork(
    ctx: typer.Context,
    run: Annotated[str, _RUN],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="PATH",
            help="The first call to run afresh, as dotted child indices from "
            "the top (2.0 is the first child of the third call); every call "
            "before it keeps its recorded result.",
        ),
    ] = None,
    calls: Annotated[
        int | None,
        typer.Option(
            "--calls",
            min=0,
            metavar="N",
            help="Instead of --at: drop the last N top-level calls (as rewind).",
        ),
    ] = None,
    name: Annotated[str | None, _NAME] = None,
    tags: Annotated[list[str] | None, _TAGS] = None,
    lenient: Annotated[bool, _LENIENT] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Branch a run at a call, as a new run.

    Every call before the branch point keeps its recorded result; the rest
    runs afresh, so random components resample.
    """
    if (at is None) == (calls is None):
        raise usage_error(ctx, "give either --at PATH or --calls N")
    path = parse_path(ctx, at) if at is not None else None
    with open_store(ctx):
        original = resolve_run(run)
        where = f"at {format_path(path)}" if path is not None else f"by {calls} calls"
        with spinner(f"forking {original.id} {where}"):
            new = original.fork(
                calls or 0,
                at=path,
                strict=not lenient,
                name=name,
                tags=tuple(tags or ()),
            )
        report(new, f"forked {original.id} {where} as", as_json)


def resume(
    ctx: typer.Context,
    run: Annotated[str, _RUN],
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="At an input request, wait here for an answer from any process "
            "instead of stopping the run as waiting.",
        ),
    ] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Resume a crashed or waiting run in this process.

    The run keeps its id; finished calls and given answers are reused, the
    rest runs.
    """
    with open_store(ctx):
        original = resolve_run(run)
        with spinner(f"resuming {original.id}"):
            resumed = original.resume(wait_for_input=wait)
        report(resumed, "resumed", as_json)


def resume_command(
    ctx: typer.Context, run_id: str, *, extra_import: str | None = None
) -> str:
    """The command line that resumes ``run_id`` with this command's options.

    Args:
        ctx: The command's context (its ``--store`` and ``--import``).
        run_id: The run.
        extra_import: A module to import besides.
    """
    own = session(ctx)
    words = ["enact"]
    if own.store.source == "--store":
        words += ["--store", own.store.path]
    for module in (*own.import_options, *filter(None, [extra_import])):
        words += ["--import", module]
    words += ["resume", run_id]
    return " ".join(shlex.quote(word) for word in words)


def report(run: durable.Run, verb: str, as_json: bool) -> None:
    """Prints a run that just ended; exits with status 1 if it failed."""
    info = run.info()
    output: Any = None
    if info.status is durable.RunStatus.FINISHED:
        output = run.output()
    if as_json:
        data = info.to_json()
        data["output"] = value_json(output) if info.status == "finished" else None
        print_json(data)
    else:
        console = out()
        line = Text(f"{verb} run ")
        line.append(info.id, "bold")
        if info.name:
            line.append(f" ({info.name})")
        line.append(": ")
        line.append(str(info.status), status_style(info.status))
        console.print(line)
        if info.status is durable.RunStatus.FINISHED:
            console.print(Text(f"  output: {short(output)}"))
        if info.error:
            console.print(Text(f"  error: {info.error}", "red"))
        for pending in info.pending:
            console.print(
                Text(
                    f"  waiting for input at {format_path(pending.path)}: "
                    f"{short_type(pending.requested_type)} "
                    f"{short(pending.context) if pending.context else ''}".rstrip(),
                    "yellow",
                )
            )
    if info.status is durable.RunStatus.FAILED:
        raise typer.Exit(1)
