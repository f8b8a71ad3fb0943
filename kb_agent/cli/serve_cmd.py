"""`kb-agent serve`: the web chat and admin console."""

from __future__ import annotations

from typing import Optional

import typer

from kb_agent.cli import state


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(ctx: typer.Context,
          host: Optional[str] = typer.Option(None, "--host", help="Interface (default web.host: 127.0.0.1)."),
          port: Optional[int] = typer.Option(None, "--port", help="Port (default web.port: 7860)."),
          single_user: Optional[bool] = typer.Option(None, "--single-user/--sign-in",
                                                     help="Laptop mode without sign-in (default: sign-in).")) -> None:
    """Start the web chat (/chat) and the admin console (/admin)."""
    from kb_agent.ui.server import serve as run

    settings = state(ctx).settings()
    web = {k: v for k, v in (("host", host), ("port", port), ("single_user", single_user)) if v is not None}
    if web:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update=web)})
    run(settings, typer.echo)
