"""`kb-agent audit ...`: export the audit log (CSV or JSON lines) and purge old entries (docs/web.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from kb_agent.cli import emit_json, state

audit_app = typer.Typer(help="The audit log: every answer, who asked, through which surface, with the "
                             "evidence shown (docs/web.md).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


def _log(ctx: typer.Context):
    from kb_agent.usage import UsageLog

    return UsageLog(state(ctx).settings().usage_db)


@audit_app.command("export")
def export(ctx: typer.Context,
           fmt: str = typer.Option("jsonl", "--format", help="csv or jsonl (one JSON object a line)."),
           output: Optional[Path] = typer.Option(None, "--output", "-o", dir_okay=False,
                                                 help="Write to FILE (default: stdout)."),
           user: Optional[str] = typer.Option(None, "--user", help="Only this user's answers."),
           surface: Optional[str] = typer.Option(None, "--surface", help="Only this surface: web, cli, api, mcp, eval."),
           text: Optional[str] = typer.Option(None, "--text", help="Only questions containing this text."),
           since: Optional[str] = typer.Option(None, "--since", metavar="YYYY-MM-DD", help="From this day on."),
           until: Optional[str] = typer.Option(None, "--until", metavar="YYYY-MM-DD", help="Up to this day, inclusive."),
           limit: int = typer.Option(100_000, "--limit", min=1, help="At most this many answers, newest first.")) -> None:
    """Export answers, newest first: time (UTC), user, surface, question, tools, found, flags, evidence."""
    from kb_agent import audit

    if fmt not in audit.FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(audit.FORMATS)}", param_hint="--format")
    records = audit.search(_log(ctx), user=user, text=text, surface=surface,
                           since=audit.parse_day(since, "--since"), until=audit.parse_day(until, "--until"),
                           limit=limit)
    if output is None:
        audit.write(records, sys.stdout, fmt)
        return
    with output.open("w", encoding="utf-8", newline="") as fp:
        n = audit.write(records, fp, fmt)
    typer.echo(f"Wrote {n} answer(s) to {output}.", err=True)


@audit_app.command("purge")
def purge(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Remove answers (and API key uses) older than audit.retention_days (the web server also does
    this on start and daily)."""
    from kb_agent import audit

    days = state(ctx).settings().audit.retention_days
    removed = audit.purge(_log(ctx), days)
    if as_json:
        emit_json({"removed": removed, "retention_days": days})
    elif days <= 0:
        typer.echo("audit.retention_days is 0: entries are kept forever; nothing removed.")
    else:
        typer.echo(f"Removed {removed} record(s) older than {days} day(s).")
