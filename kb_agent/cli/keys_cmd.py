"""`kb-agent keys ...`: create, list and revoke API keys (docs/api.md)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import typer

from kb_agent.cli import emit_json, state

keys_app = typer.Typer(help="API keys for the OpenAI-compatible API and MCP (docs/api.md).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


def _auth(ctx: typer.Context):
    from kb_agent.auth import AuthService

    return AuthService(state(ctx).settings())


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


@keys_app.command("create")
def create(ctx: typer.Context, username: str = typer.Argument(..., help="The user the key acts for."),
           name: str = typer.Option("", "--name", help="What the key is for, e.g. open-webui."),
           expires_days: Optional[float] = typer.Option(None, "--expires-days", help="Default: never expires."),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Create a key for USER; it is shown only this once."""
    key, token = _auth(ctx).keys.create(username, name, expires_days)
    if as_json:
        emit_json({**key.to_dict(), "key": token})
        return
    typer.echo(f"API key {key.id} for {key.username}" + (f" ({key.name})" if key.name else "")
               + (f", expires {_when(key.expires_at)}" if key.expires_at else "") + ". Shown only this once:")
    typer.echo(token)


@keys_app.command("list")
def list_(ctx: typer.Context, username: Optional[str] = typer.Argument(None, help="Only this user's keys."),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """List keys (never the keys themselves): id, user, name, status, expiry, last use."""
    keys = _auth(ctx).keys.list(username)
    if as_json:
        emit_json([k.to_dict() for k in keys])
        return
    if not keys:
        typer.echo("No API keys.")
    for k in keys:
        typer.echo(f"{k.id:>4}  {k.username:<20} {k.name or '-':<20} {k.status():<8} "
                   f"expires {_when(k.expires_at):<16} last used {_when(k.last_used_at)}")


@keys_app.command("revoke")
def revoke(ctx: typer.Context, key_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Revoke a key: it stops working at once."""
    key = _auth(ctx).keys.revoke(key_id)
    typer.echo(f"API key {key.id} of {key.username} revoked.")
