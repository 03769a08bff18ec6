"""``enact demo`` and ``enact ui``: the tour, and the web UI."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from enact.cli._context import open_store, session
from enact.cli._stores import CommandError, import_modules

__all__ = ["demo", "ui"]


def demo(
    ctx: typer.Context,
    seed: Annotated[
        int | None,
        typer.Option("--seed", metavar="N", help="Seed the random components."),
    ] = None,
) -> None:
    """Run the tour of enact on the store (creating it if needed)."""
    from enact import demo as tour

    choice = session(ctx).store
    argv = ["--store", choice.path]
    if seed is not None:
        argv += ["--seed", str(seed)]
    tour.main(argv)


def ui(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="The port to listen on."),
    ] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            help="The access token visitors must present (16+ characters). "
            "Required to listen on any address but loopback.",
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the UI in a web browser.")
    ] = False,
    imports: Annotated[
        list[str] | None,
        typer.Option(
            "--import",
            "-i",
            metavar="MODULE",
            help="Import MODULE (a module name or a Python file) first, so the "
            "UI can invoke its components and answer, fork and resume runs of "
            "its types (as the global --import; repeatable).",
        ),
    ] = None,
) -> None:
    """Serve the web UI, and the HTTP API at /api/, for the store (the 'ui' extra)."""
    if imports:
        import_modules(imports)
    try:
        web = importlib.import_module("enact.ui")
    except ImportError as error:
        if error.name and error.name.startswith("enact"):
            raise CommandError("this version of enact has no web UI") from None
        raise CommandError(
            "the web UI needs the 'ui' extra: pip install 'enact[ui]' "
            f"({error.name or error} is missing)"
        ) from None
    with open_store(ctx) as store:
        try:
            web.serve(
                store, host=host, port=port, token=token, open_browser=open_browser
            )
        except web.UIError as error:
            raise CommandError(str(error)) from None
