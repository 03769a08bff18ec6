"""``enact sample``, ``enact batches`` and ``enact batch``."""

from __future__ import annotations

import importlib
import json
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

import enact
from enact import batches as batch_api
from enact.cli._context import open_store
from enact.cli._output import duration, err, out, print_json, status_style, timestamp
from enact.cli._stores import CommandError, usage_error

__all__ = ["batch", "batches", "load_component", "sample"]

_JSON = typer.Option("--json", help="Print JSON instead of text.")
_BAR = 40


def load_component(target: str) -> Any:
    """The component ``MODULE:NAME`` names: an invokable, a class of one
    (made with no arguments), or a registered function.

    Raises:
        CommandError: if it cannot be imported or is not a component.
    """
    module_name, colon, attribute = target.partition(":")
    if not colon or not module_name or not attribute:
        raise CommandError(f"{target!r} is not MODULE:COMPONENT", 2)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise CommandError(f"cannot import {module_name}: {error}") from None
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise CommandError(f"{module_name} has no {attribute}")
        found = getattr(found, part)
    if isinstance(found, type) and issubclass(found, enact.InvokableBase):
        try:
            found = found()
        except TypeError as error:
            raise CommandError(
                f"{target} needs arguments to be made ({error}); name an "
                "instance of it instead"
            ) from None
    return found


def _input(component: Any, text: str) -> Any:
    """The input JSON ``text`` gives ``component``: a value of its input type
    for an invokable, the arguments (a JSON array: several) of a function."""
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise CommandError(f"--input {text!r} is not JSON: {error}", 2) from None
    if not isinstance(component, enact.InvokableBase):
        return tuple(raw) if isinstance(raw, list) else raw
    wanted: Any = component.get_input_type()
    if wanted is None or raw is None:
        return None if raw is None else enact.wrap(raw)
    if isinstance(raw, dict):
        try:
            return wanted(**raw)
        except TypeError as error:
            raise CommandError(f"--input {text}: {error}", 2) from None
    try:
        return wanted(raw)
    except (TypeError, ValueError) as error:
        raise CommandError(
            f"--input {text} is not a {wanted.__qualname__}: {error}", 2
        ) from None


def _executor(name: str, workers: int | None) -> Any:
    if name == "ray":
        from enact.ray import RayExecutor

        return RayExecutor(num_workers=workers)
    if name not in ("asyncio", "threads", "processes"):
        raise CommandError(
            f"unknown executor {name!r}: use asyncio, threads, processes or ray", 2
        )
    return name


def sample(
    ctx: typer.Context,
    component: Annotated[
        str,
        typer.Argument(
            metavar="MODULE:COMPONENT",
            help="The component: an invokable, its class (made with no "
            "arguments) or a registered function.",
        ),
    ],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            metavar="JSON",
            help="An input, as JSON (repeatable; none: one input of nothing). "
            "A function takes a JSON array as its arguments.",
        ),
    ] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="Samples of each input.")] = 1,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            "-e",
            metavar="NAME",
            help="asyncio, threads, processes or ray (default: asyncio for "
            "async components, threads otherwise).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-j", min=1, help="The most samples at once."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="A name for the batch.")
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="A tag (repeatable).")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Sample a component N times for each input, as one batch of runs.

    Ctrl-C stops the batch cleanly; `enact batch ID --resume` continues it.
    """
    found = load_component(component)
    given = [_input(found, text) for text in inputs or ["null"]]
    chosen = None if executor is None else _executor(executor, concurrency)
    with open_store(ctx):
        try:
            started = enact.sample(
                found,
                given,
                n=n,
                executor=chosen,
                concurrency=concurrency,
                name=name,
                tags=tags or (),
            )
        except (TypeError, ValueError, enact.runs.RunError) as error:
            raise CommandError(str(error)) from None
        err().print(Text(f"batch {started.id}: {started.size} samples", "bold"))
        try:
            started.wait(progress=progress and err().is_terminal)
        except KeyboardInterrupt:
            err().print(
                Text(
                    f"stopped: resume it with `enact batch {started.id} --resume`",
                    "yellow",
                )
            )
            raise typer.Exit(130) from None
        _show(started, as_json)


def batches(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, metavar="N", help="Show at most N batches."),
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """List the batches in the store, newest first."""
    with open_store(ctx):
        found = batch_api.list_batches()
        shown = found if limit is None else found[:limit]
        if as_json:
            print_json([info.to_json() for info in shown])
            return
        if not shown:
            out().print(Text("no batches", "dim"))
            return
        table = Table(box=box.SIMPLE_HEAD)
        for column in (
            "id",
            "name",
            "component",
            "size",
            "status",
            "counts",
            "started",
        ):
            table.add_column(column)
        for info in shown:
            table.add_row(
                info.id,
                info.name or "",
                info.component,
                str(info.size),
                Text(info.status.value, status_style(info.status.value)),
                _counts(info.counts),
                timestamp(info.started),
            )
        out().print(table)


def batch(
    ctx: typer.Context,
    batch_id: Annotated[
        str, typer.Argument(metavar="BATCH", help="The batch's id or name.")
    ],
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Run its unfinished samples first (crashed, not started)."
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option("--executor", "-e", metavar="NAME", help="With --resume."),
    ] = None,
    slowest: Annotated[
        int, typer.Option("--slowest", min=0, help="How many slowest samples to list.")
    ] = 5,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Show a batch: its counts, the distribution of its outputs, its failures
    and its slowest samples."""
    with open_store(ctx):
        try:
            found = batch_api.get_batch(batch_id)
        except batch_api.BatchNotFound as error:
            raise usage_error(ctx, str(error)) from None
        if resume:
            chosen = None if executor is None else _executor(executor, None)
            found.resume(executor=chosen)
            try:
                found.wait(progress=err().is_terminal)
            except KeyboardInterrupt:
                raise typer.Exit(130) from None
        _show(found, as_json, slowest)


def _counts(counts: dict[str, int]) -> Text:
    text = Text()
    for key, value in counts.items():
        if text:
            text.append(", ")
        text.append(f"{value} {key}", status_style(key))
    return text


def _show(found: batch_api.Batch, as_json: bool, slowest: int = 5) -> None:
    info = found.info()
    outcome = found.report(slowest)
    if as_json:
        print_json({**info.to_json(), **outcome.to_json()})
        return
    console = out()
    title = f"batch {info.id}" + (f" ({info.name})" if info.name else "")
    console.print(Text(title, "bold"))
    console.print(f"component  {info.component}")
    console.print(
        Text("status     ").append(info.status.value, status_style(info.status.value))
    )
    console.print(
        Text("samples    ").append(f"{info.size}: ").append(_counts(info.counts))
    )
    if info.ended is not None:
        console.print(f"took       {duration(info.ended - info.started)}")
    shown = outcome.distribution
    if shown.rows:
        heading = "outputs (histogram)" if shown.kind == "numbers" else "outputs"
        console.print(Text(f"\n{heading}", "bold"))
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(justify="right" if shown.kind == "numbers" else "left")
        table.add_column(justify="right")
        table.add_column()
        largest = max(count for _, count in shown.rows) or 1
        for label, count in shown.rows:
            bar = "█" * max(1 if count else 0, round(_BAR * count / largest))
            table.add_row(label, str(count), Text(bar, "cyan"))
        console.print(table)
        if shown.stats:
            stats = shown.stats
            console.print(
                f"mean {stats['mean']:.4g}, stdev {stats['stdev']:.4g}, "
                f"min {stats['min']:.4g}, max {stats['max']:.4g}"
            )
    if outcome.failures:
        console.print(Text("\nfailures", "bold red"))
        for error, count, first in outcome.failures:
            console.print(
                Text(f"{count:>5}  ")
                .append(error, "red")
                .append(f"  (first: sample {first})", "dim")
            )
    if outcome.slowest:
        console.print(Text("\nslowest samples", "bold"))
        for index, run_id, seconds in outcome.slowest:
            console.print(f"{duration(seconds):>8}  sample {index}  run {run_id}")
