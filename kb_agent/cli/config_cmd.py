"""`kb-agent config show`: the effective settings (secrets masked)."""

from __future__ import annotations

import typer
import yaml

from kb_agent.cli import emit_json, state

config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("show")
def show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON instead of YAML.")) -> None:
    """Print the settings in effect after config file, environment and flags (secrets masked)."""
    from kb_agent.settings_doc import effective

    data = effective(state(ctx).settings())
    if as_json:
        emit_json(data)
    else:
        typer.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False).rstrip())
