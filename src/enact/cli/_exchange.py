"""``enact push`` and ``enact pull``: copy runs between stores by digest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.text import Text

from enact.cli._output import err, out, print_json
from enact.cli._stores import CommandError, StoreChoice
from enact.exchange import ExchangeError, PushProgress, PushReport, push
from enact.references import Store

__all__ = ["pull", "push_command"]

_SOURCE = typer.Argument(
    metavar="SRC", help="The store to copy from (a directory or a .db file)."
)
_DESTINATION = typer.Argument(
    metavar="DST",
    help="The store to copy to (created if missing: a directory, or a .db file).",
)
_RUNS = typer.Argument(
    metavar="[RUN]...",
    help="Run ids, run names or names of named objects; every run and name "
    "if none is given. A run comes with the runs it was forked from.",
    show_default=False,
)
_FORCE = typer.Option(
    "--force",
    help="Replace a run, run name or name that means something else at DST "
    "instead of refusing.",
)
_JSON = typer.Option("--json", help="Print JSON instead of text.")


def push_command(
    source: Annotated[str, _SOURCE],
    destination: Annotated[str, _DESTINATION],
    runs: Annotated[list[str] | None, _RUNS] = None,
    force: Annotated[bool, _FORCE] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Copy runs from SRC to DST, with every object they reach; send only
    what DST lacks.

    Idempotent and resumable: pushing again after an interruption sends the
    rest. Exits with status 1 on a conflict (a run id or name that means
    something else at DST) or a damaged object at SRC, sending no record.
    """
    _copy(source, destination, runs, force, as_json)


def pull(
    source: Annotated[str, _SOURCE],
    destination: Annotated[str, _DESTINATION],
    runs: Annotated[list[str] | None, _RUNS] = None,
    force: Annotated[bool, _FORCE] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Copy runs from SRC into DST (a push, from the receiving side): e.g.
    `enact pull team.db .enact RUN` fetches a colleague's run."""
    _copy(source, destination, runs, force, as_json)


def _copy(
    source: str, destination: str, runs: list[str] | None, force: bool, as_json: bool
) -> None:
    choice = StoreChoice(source, "SRC")
    if not choice.exists():
        raise CommandError(f"no enact store at {source} (SRC)")
    src = choice.open()
    try:
        dst = StoreChoice(destination, "DST").open(create=True)
        try:
            with _progress() as update:
                try:
                    report = push(src, dst, runs or None, force=force, progress=update)
                except ExchangeError as error:
                    raise CommandError(str(error)) from None
        finally:
            dst.close()
    finally:
        src.close()
    _show(report, src, dst, as_json)


def _show(report: PushReport, src: Store, dst: Store, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "source": src.location,
                "destination": dst.location,
                "runs_written": list(report.runs_written),
                "runs_unchanged": list(report.runs_unchanged),
                "objects_sent": report.objects_sent,
                "bytes_sent": report.bytes_sent,
                "objects_present": report.objects_present,
                "objects_missing": report.objects_missing,
                "steps_written": report.steps_written,
                "claims_written": report.claims_written,
                "names_written": report.names_written,
                "duration": round(report.duration, 3),
            }
        )
        return
    runs = len(report.runs_written)
    line = (
        f"{src.location} -> {dst.location}: {runs} runs written, "
        f"{len(report.runs_unchanged)} up to date; {report.objects_sent} objects "
        f"sent ({_size(report.bytes_sent)}), {report.objects_present} there already"
    )
    if report.objects_missing:
        line += f"; {report.objects_missing} referred to but missing at the source"
    out().print(Text(line))


@contextmanager
def _progress() -> Iterator[Callable[[PushProgress], None]]:
    """A bar on stderr (terminals only): objects sent, of those found so
    far that DST lacks, and the bytes sent."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = err()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("objects, {task.fields[volume]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("sending", total=None, volume="0 B")

        def update(state: PushProgress) -> None:
            wanted = max(state.objects_found - state.objects_present, 1)
            bar.update(
                task,
                completed=state.objects_sent,
                total=wanted,
                volume=_size(state.bytes_sent),
            )

        yield update


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"
