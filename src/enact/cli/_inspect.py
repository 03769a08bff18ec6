"""``enact show`` and ``enact diff``: look at runs and objects."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated, Any

import typer
from rich.text import Text

from enact import diffs, runs
from enact.cli import _tree
from enact.cli._context import open_store
from enact.cli._output import (
    MAX_VALUE,
    err,
    full_values,
    out,
    print_json,
    short,
    short_type,
    timestamp,
    value_json,
)
from enact.cli._run_commands import needs_resume, status_text
from enact.cli._targets import format_path, invocation_of, resolve
from enact.invocations import Invocation
from enact.pretty_print import pformat
from enact.references import Ref

__all__ = ["diff", "show"]

_JSON = typer.Option("--json", help="Print JSON instead of text.")
_DEPTH = typer.Option(
    "--depth",
    "-d",
    min=0,
    metavar="N",
    help="Show calls only N levels below the top (default: all).",
)
_IMPORT_HINT = (
    "note: some types are not registered here; pass --import MODULE to see them"
)


def show(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="RUN_OR_REF",
            help="A run (its id or any unique start of it, its name, or "
            "'last'), or an object's digest (64 hex digits or the ref id "
            '{"digest": ...}).',
        ),
    ],
    depth: Annotated[int | None, _DEPTH] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            "-F",
            help=f"Print every value whole (values longer than {MAX_VALUE} "
            "characters are cut with '...' otherwise).",
        ),
    ] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Show a run's call tree, or any stored object.

    A run (or an invocation's digest) is drawn as a tree of calls with their
    inputs, outputs, exceptions, input requests and durations.
    """
    with open_store(ctx) as store, full_values() if full else nullcontext():
        found = resolve(target, store)
        if found.run is not None:
            _show_run(found.run, depth, as_json)
        else:
            assert found.ref is not None
            _show_ref(found.ref, depth, as_json)


def _show_run(run: runs.Run, depth: int | None, as_json: bool) -> None:
    info = run.info()
    journal = run.journal()
    view = None
    if journal is not None:
        view = _tree.build(journal, depth, run.timings())
    if as_json:
        print_json(
            {"run": info.to_json(), "tree": _tree.to_json(view) if view else None}
        )
        return
    console = out()
    heading = Text()
    heading.append(f"run {info.id}", "bold")
    if info.name:
        heading.append(f" ({info.name})")
    pending = run.pending()
    heading.append("  ")
    heading.append_text(status_text(info, len(pending)))
    heading.append(f"  {info.component}")
    console.print(heading)
    details = [f"started {timestamp(info.started)}"]
    if info.ended is not None:
        details.append(f"ended {timestamp(info.ended)}")
    if info.parent:
        details.append(f"{info.relation or 'from'} of {info.parent}")
    if info.tags:
        details.append("tags " + ", ".join(info.tags))
    console.print(Text("  " + "   ".join(details), "dim"))
    if info.error:
        console.print(Text(f"  error: {info.error}", "red"))
    if view is None:
        console.print(Text("  (no calls journaled yet)", "dim"))
    else:
        console.print(_tree.to_rich(view))
    for request in pending:
        line = Text(f"waiting for input at {format_path(request.path)}: ", "yellow")
        line.append(short_type(request.requested_type))
        if request.context:
            line.append(f" {short(request.context)}")
        console.print(line)
        console.print(
            Text(f"  answer with: enact answer {info.id} VALUE", "dim"), soft_wrap=True
        )
    if needs_resume(info, len(pending)):
        console.print(
            Text(f"answered: resume it with `enact resume {info.id}`", "yellow"),
            soft_wrap=True,
        )
    if view is not None and view.unavailable():
        err().print(Text(_IMPORT_HINT, "yellow"))


def _show_ref(ref: Ref[Any], depth: int | None, as_json: bool) -> None:
    value = ref.checkout()
    if isinstance(value, Invocation):
        view = _tree.build(ref, depth)
        if as_json:
            print_json({"ref": ref.digest, "tree": _tree.to_json(view)})
            return
        out().print(_tree.to_rich(view))
        if view.unavailable():
            err().print(Text(_IMPORT_HINT, "yellow"))
        return
    if as_json:
        print_json({"ref": ref.digest, **value_json(value)})
        return
    out().print(Text(pformat(value, max_ref_depth=depth)))


def diff(
    ctx: typer.Context,
    left: Annotated[
        str,
        typer.Argument(
            metavar="LEFT",
            help="A run (id or unique start of it, name, or 'last'), or the "
            "digest of an invocation.",
        ),
    ],
    right: Annotated[
        str,
        typer.Argument(metavar="RIGHT", help="The run or invocation to compare with."),
    ],
    depth: Annotated[int | None, _DEPTH] = None,
    show_same: Annotated[
        bool,
        typer.Option("--all", "-a", help="Also list the calls both share."),
    ] = False,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code", help="Exit with status 1 if the two differ (as diff does)."
        ),
    ] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Compare two runs or branches call by call.

    Calls are paired by position; each is shared, changed (naming what
    changed) or on one side only.
    """
    with open_store(ctx) as store:
        left_call = invocation_of(resolve(left, store))
        right_call = invocation_of(resolve(right, store))
        found = diffs.diff_invocations(left_call, right_call, max_depth=depth)
        differ = any(difference.kind != "same" for difference in found)
        if as_json:
            print_json(
                {
                    "left": Ref.from_resource(left_call).digest,
                    "right": Ref.from_resource(right_call).digest,
                    "identical": not differ,
                    "differences": [each.to_json() for each in found],
                }
            )
        else:
            _print_diff(found, left, right, show_same)
    if differ and exit_code:
        raise typer.Exit(1)


_MARKS = {"same": " ", "changed": "~", "only-left": "-", "only-right": "+"}


def _print_diff(
    found: list[diffs.Difference], left: str, right: str, show_same: bool
) -> None:
    console = out()
    console.print(Text(f"--- {left}", "red"))
    console.print(Text(f"+++ {right}", "green"))
    if found and found[0].kind == "same":
        assert found[0].left is not None
        console.print(Text(f"identical (both are {found[0].left.digest[:12]})"))
        return
    for difference in found:
        if difference.kind == "same" and not show_same:
            continue
        head = Text(f"{_MARKS[difference.kind]} {format_path(difference.path)}  ")
        head.append(difference.kind, "bold")
        if difference.changes:
            head.append(f" ({', '.join(difference.changes)})")
        console.print(head)
        sides: tuple[tuple[str, Ref[Any] | None, str], ...] = (
            ("-", difference.left, "red"),
            ("+", difference.right, "green"),
        )
        if difference.kind == "same":
            sides = (("=", difference.left, "dim"),)
        for sign, ref, style in sides:
            if ref is not None:
                line = Text(f"    {sign} ", style)
                line.append_text(_tree.call_line(_tree.build(ref, 0), with_path=False))
                console.print(line)
    counts = dict.fromkeys(_MARKS, 0)
    for difference in found:
        counts[difference.kind] += 1
    console.print(
        Text(
            f"{counts['changed']} changed, {counts['only-left']} only left, "
            f"{counts['only-right']} only right, {counts['same']} shared",
            "dim",
        )
    )
