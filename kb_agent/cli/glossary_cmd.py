"""`kb-agent glossary ...`: lookup, import, validate."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from kb_agent.cli import emit_json, state

glossary_app = typer.Typer(help="Company terms and acronyms: look up, import, validate.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(glossary_app, name="glossary")


@glossary_app.command("lookup")
def lookup(ctx: typer.Context, term: str = typer.Argument(..., help="A term, full name or question."),
           as_json: bool = typer.Option(False, "--json", help="Print the stable JSON result.")) -> None:
    """Look a term up: exact, reverse (by English or Chinese name), in a question, fuzzy."""
    kb = state(ctx).kb()
    result = kb.lookup_term(term)
    if as_json:
        emit_json(result.to_dict())
        return
    if not result.found:
        typer.echo(f"'{term}' is not in the glossary.")
        if result.suggestions:
            typer.echo("Did you mean: " + ", ".join(result.suggestions) + "?")
        raise typer.Exit(1)
    if result.ambiguous:
        typer.echo(f"'{term}' has {len(result.matches)} meanings:")
    for e in result.matches:
        typer.echo(e.one_line())
        if e.description:
            typer.echo(f"    {e.description}")


@glossary_app.command("validate")
def validate(ctx: typer.Context,
             as_json: bool = typer.Option(False, "--json", help="Print issues as JSON.")) -> None:
    """Check every glossary file; exit 1 if any file or entry is invalid."""
    kb = state(ctx).kb()
    issues = kb.glossary_store.reload()
    entries = len(kb.glossary)
    if as_json:
        emit_json({"entries": entries, "issues": [i.to_dict() for i in issues]})
    else:
        for issue in issues:
            typer.echo(str(issue), err=True)
        typer.echo(f"{entries} entries loaded from {kb.settings.glossary.dir}; {len(issues)} issue(s).")
    if issues:
        raise typer.Exit(1)


@glossary_app.command("import")
def import_(ctx: typer.Context,
            spreadsheet: Path = typer.Argument(..., exists=True, dir_okay=False, help="Abbreviation sheet (.xlsx/.xls)."),
            output: Optional[Path] = typer.Option(None, "--output", "-o",
                                                  help="YAML file to write (default: <glossary dir>/<sheet name>.yaml)."),
            sheet: Optional[str] = typer.Option(None, "--sheet", help="Sheet name (default: the first)."),
            as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON.")) -> None:
    """Convert the abbreviation spreadsheet (序号/缩略语/英文全称/中文解释) to glossary YAML."""
    from kb_agent.glossary.importer import import_spreadsheet

    settings = state(ctx).settings()
    result = import_spreadsheet(spreadsheet, sheet)
    target = output or settings.glossary.dir / f"{spreadsheet.stem}.yaml"
    if target.resolve().parent == settings.glossary.dir.resolve():  # into the live glossary: add, do not copy
        result.drop_known(state(ctx).kb().glossary_store.entries_except(target.name))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(result.to_yaml(), encoding="utf-8")
    tmp.replace(target)
    if as_json:
        emit_json({**result.to_dict(), "output": str(target)})
        return
    typer.echo(f"Imported {len(result.entries)} entries from {spreadsheet} (header on row {result.header_row}) "
               f"into {target}.")
    if result.skipped:
        typer.echo(f"Skipped {len(result.skipped)} row(s):")
        for s in result.skipped:
            typer.echo(f"  {s}")
