"""`kb-agent users ...`: add, passwd, list, set (role, groups, disabled)."""

from __future__ import annotations

from typing import Optional

import typer

from kb_agent.cli import emit_json, state

users_app = typer.Typer(help="Web users: roles (employee/admin) and groups.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _auth(ctx: typer.Context):
    from kb_agent.auth import AuthService

    return AuthService(state(ctx).settings())


def _groups(value: Optional[str]) -> list[str]:
    return [g for g in (value or "").split(",") if g.strip()]


def _password(given: Optional[str]) -> str:
    if given:
        return given
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(ctx: typer.Context, username: str = typer.Argument(...),
        role: str = typer.Option("employee", "--role", help="employee or admin"),
        groups: Optional[str] = typer.Option(None, "--groups", help="Comma-separated access groups, e.g. finance,hr"),
        password: Optional[str] = typer.Option(None, "--password", envvar="KB_AGENT_NEW_PASSWORD",
                                               help="Default: asked interactively.")) -> None:
    """Add a user."""
    user = _auth(ctx).users.add(username, _password(password), role=role, groups=_groups(groups))  # type: ignore[arg-type]
    typer.echo(f"Added {user.username} ({user.role}" + (f"; groups {', '.join(user.groups)}" if user.groups else "") + ").")


@users_app.command("passwd")
def passwd(ctx: typer.Context, username: str = typer.Argument(...),
           password: Optional[str] = typer.Option(None, "--password", envvar="KB_AGENT_NEW_PASSWORD")) -> None:
    """Set a user's password (their open sessions end)."""
    auth = _auth(ctx)
    auth.users.set_password(username, _password(password))
    auth.sessions.revoke_user(username)
    typer.echo(f"Password of {username} changed.")


@users_app.command("set")
def set_(ctx: typer.Context, username: str = typer.Argument(...),
         role: Optional[str] = typer.Option(None, "--role"),
         groups: Optional[str] = typer.Option(None, "--groups", help="Replaces the groups; '' clears them."),
         disabled: Optional[bool] = typer.Option(None, "--disabled/--enabled")) -> None:
    """Change a user's role, groups or enabled state."""
    auth = _auth(ctx)
    user = auth.users.update(username, role=role, groups=_groups(groups) if groups is not None else None,  # type: ignore[arg-type]
                             disabled=disabled)
    if disabled:
        auth.sessions.revoke_user(username)
    typer.echo(f"{user.username}: {user.role}; groups {', '.join(user.groups) or '(none)'}"
               + ("; disabled" if user.disabled else ""))


@users_app.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List users with role and groups."""
    users = _auth(ctx).users.list()
    if as_json:
        emit_json([u.to_dict() for u in users])
        return
    if not users:
        typer.echo("No users yet (the first admin is created when `kb-agent serve` starts).")
    for u in users:
        typer.echo(f"{u.username:<20} {u.role:<9} {', '.join(u.groups) or '-'}" + ("  (disabled)" if u.disabled else ""))
