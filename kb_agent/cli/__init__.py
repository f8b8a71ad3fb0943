"""The `kb-agent` command line. Thin: every command calls the same KnowledgeBase / agent
functions the web UI uses. Each command group lives in its own module with a
``register(app)`` function, listed in ``COMMAND_MODULES``.

Errors: a :class:`~kb_agent.errors.KBError` prints one clean message on stderr and exits
with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import click
import typer
from typer.core import TyperGroup

from kb_agent.errors import KBError

COMMAND_MODULES = ["ask_cmd", "glossary_cmd", "facts_cmd", "serve_cmd", "users_cmd", "keys_cmd", "mcp_cmd", "ingest_cmd", "search_cmd", "eval_cmd", "audit_cmd", "config_cmd"]

class _KBGroup(TyperGroup):
    """Turns a KBError from any command into one clean line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KBError as exc:
            logging.getLogger("kb_agent").debug("command failed", exc_info=True)
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc


app = typer.Typer(
    cls=_KBGroup,
    name="kb-agent",
    help="kb-agent: ask the company knowledge base (glossary, facts, documents) from the terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass
class CLIState:
    """Per-invocation state: settings and the knowledge base are built once, on first use."""

    config: Optional[Path] = None
    data_dir: Optional[Path] = None
    _settings: Any = field(default=None, repr=False)
    _kb: Any = field(default=None, repr=False)

    def settings(self):
        if self._settings is None:
            from kb_agent.config import load_settings

            self._settings = load_settings(self.config, data_dir=self.data_dir)
        return self._settings

    def kb(self):
        if self._kb is None:
            from kb_agent.kb import KnowledgeBase

            self._kb = KnowledgeBase(self.settings())
        return self._kb


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", envvar="KB_AGENT_DATA_DIR",
        help="Data directory (indexes, databases). Default: ./data in a project checkout, "
             "else ~/.local/share/kb-agent."),
    config: Optional[Path] = typer.Option(
        None, "--config", envvar="KB_AGENT_CONFIG", help="Config file (default: ./kb_agent.yaml if present)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress and warnings to stderr."),
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = CLIState(config=config, data_dir=data_dir)


def state(ctx: typer.Context) -> CLIState:
    return ctx.find_root().obj


def emit_json(obj: Any) -> None:
    """One JSON document (or JSON line) on stdout, UTF-8, no ASCII escaping."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str))


for _name in COMMAND_MODULES:
    importlib.import_module(f"kb_agent.cli.{_name}").register(app)


def main() -> None:
    # Qwen-Agent logs at INFO to stderr by default; keep the terminal for answers.
    logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)
    app()
