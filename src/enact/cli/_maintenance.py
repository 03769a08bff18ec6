"""``enact gc`` and ``enact verify``: look after the store itself."""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from enact.cli._context import open_store
from enact.cli._output import duration, out, print_json, progress_bar, timestamp
from enact.cli._stores import CommandError
from enact.references import Store

__all__ = ["gc", "verify"]

_JSON = typer.Option("--json", help="Print JSON instead of text.")


def _with_progress(method: Callable[..., Any], description: str, **kwargs: Any) -> Any:
    """Calls a store method, with a progress bar if it reports progress."""
    try:
        accepts = "progress" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        accepts = False
    if not accepts:
        return method(**kwargs)
    with progress_bar(description) as update:
        return method(progress=update, **kwargs)


def verify(
    ctx: typer.Context,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Check every object in the store against its digest.

    Exits with status 1 if anything is missing, unreadable or corrupt.
    """
    with open_store(ctx) as store:
        damage = _with_progress(store.verify, "verifying")
        if as_json:
            print_json(
                {
                    "store": store.location,
                    "ok": not damage,
                    "damage": [
                        {
                            "key": each.key,
                            "problem": each.problem,
                            "path": getattr(each, "path", None),
                            "offset": getattr(each, "offset", None),
                        }
                        for each in damage
                    ],
                }
            )
        elif not damage:
            out().print(Text(f"{store.location}: every object is intact", "green"))
        else:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
            table.add_column("OBJECT", overflow="fold")
            table.add_column("FILE", overflow="fold")
            table.add_column("PROBLEM", overflow="fold")
            for each in damage:
                table.add_row(
                    Text(each.key or "(storage file)"),
                    Text(_where(store.location, each)),
                    Text(each.problem),
                )
            out().print(table)
            objects = sum(each.key is not None for each in damage)
            summary = f"{objects} damaged objects"
            if objects < len(damage):
                summary = f"{len(damage)} problems, {summary}"
            out().print(Text(f"{store.location}: {summary}", "red"))
    if damage:
        raise typer.Exit(1)


def _where(location: str, damage: Any) -> str:
    """The damaged file (relative to the store) and the offset in it, if known."""
    path = getattr(damage, "path", None)
    if path is None:
        return ""
    relative = os.path.relpath(path, location)
    if not relative.startswith(".."):
        path = relative
    offset = getattr(damage, "offset", None)
    return path if offset is None else f"{path} @ {offset}"


def gc(
    ctx: typer.Context,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", "-n", help="Only count what would be removed; remove nothing."
        ),
    ] = False,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Remove the objects no run, named object or pending answer still needs."""
    with open_store(ctx) as store:
        collect = _gc_method(store)
        report = _with_progress(
            collect, "collecting" if not dry_run else "counting", dry_run=dry_run
        )
        fields = _fields(report)
        if as_json:
            print_json({"store": store.location, "dry_run": dry_run, **fields})
            return
        heading = "dry run, nothing removed" if dry_run else "done"
        out().print(Text(f"{store.location}: gc ({heading})", "bold"))
        for name, value in fields.items():
            if name in ("dry_run", "held_back_by"):
                continue
            label = name.replace("_", " ")
            if dry_run:
                label = _DRY_LABELS.get(name, label)
            out().print(Text(f"  {label}: {_human(name, value)}"))
        describe = getattr(report, "describe_holders", None)
        if callable(describe):
            # Which processes keep objects young: the cutoff is the oldest's start.
            out().print(Text(f"  {describe()}"))


_DRY_LABELS = {
    "removed": "would remove",
    "bytes_freed": "would free",
    "kept": "would keep",
}


def _gc_method(store: Store) -> Callable[..., Any]:
    method = getattr(store, "gc", None)
    if method is None:
        raise CommandError("this version of enact has no garbage collector")
    assert callable(method)
    return method  # type: ignore[no-any-return]


def _fields(report: Any) -> dict[str, Any]:
    """The report's fields, JSON-ready (a dataclass, a mapping, or an object)."""
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        raw = dataclasses.asdict(report)
    elif isinstance(report, dict):
        raw = dict(report)
    else:
        raw = {"result": report}
    return {key: _plain(value) for key, value in raw.items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    return str(value)


def _human(name: str, value: Any) -> str:
    if name == "cutoff" and isinstance(value, (int, float)):
        return timestamp(value)
    if name == "duration" and isinstance(value, (int, float)):
        return duration(value)
    if name.startswith("bytes") and isinstance(value, int):
        size = float(value)
        for unit in ("B", "KiB", "MiB", "GiB"):
            if size < 1024 or unit == "GiB":
                return f"{value}" if unit == "B" else f"{value} ({size:.1f} {unit})"
            size /= 1024
    if isinstance(value, list) and len(value) > 5:
        return f"{len(value)} items"
    return str(value)
