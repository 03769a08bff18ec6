"""``enact serve``: the HTTP API for programs (the 'ui' extra)."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from enact.cli._context import open_store
from enact.cli._stores import CommandError, import_modules

__all__ = ["serve"]


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="The port to listen on."),
    ] = 8766,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            envvar="ENACT_API_TOKEN",
            help="The access token clients must send (16+ characters; also "
            "$ENACT_API_TOKEN). Required to listen on any address but loopback.",
        ),
    ] = None,
    imports: Annotated[
        list[str] | None,
        typer.Option(
            "--import",
            "-i",
            metavar="MODULE",
            help="Import MODULE (a module name or a Python file) first, so the "
            "API can answer, fork and resume runs of its types (repeatable).",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API for the store (OpenAPI at /docs; the 'ui' extra)."""
    if imports:
        import_modules(imports)
    try:
        api = importlib.import_module("enact.api")
    except ImportError as error:
        raise CommandError(
            "the HTTP API needs the 'ui' extra: pip install 'enact[ui]' "
            f"({error.name or error} is missing)"
        ) from None
    from enact.ui import UIError

    def ready(url: str) -> None:
        typer.echo(f"enact API on {url} (docs: {url}/docs); Ctrl-C stops it.")

    with open_store(ctx) as store:
        try:
            api.serve(store, host=host, port=port, token=token, ready=ready)
        except UIError as error:
            raise CommandError(str(error)) from None
