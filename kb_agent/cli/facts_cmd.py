"""`kb-agent facts ...`: query, validate, tables, load-tables."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from kb_agent.cli import emit_json, state

facts_app = typer.Typer(help="Curated facts and spreadsheet tables: query, validate, list, load.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(facts_app, name="facts")


def _parse_filter(text: str) -> dict:
    for op in (">=", "<=", "!=", "~", "=", ">", "<"):
        if op in text:
            col, value = text.split(op, 1)
            return {"column": col.strip(), "op": "contains" if op == "~" else op, "value": value.strip()}
    raise typer.BadParameter(f"filter '{text}' must look like COLUMN=VALUE (or >=, <=, !=, >, <, ~ for contains)")


@facts_app.command("query")
def query(ctx: typer.Context, question: str = typer.Argument(..., help="The question."),
          table: Optional[str] = typer.Option(None, "--table", help="Query this table (see `facts tables`)."),
          filters: List[str] = typer.Option([], "--filter", "-f", help="COLUMN=VALUE (also >= <= != > < ~)."),
          columns: List[str] = typer.Option([], "--column", "-c", help="Only these columns."),
          aggregate: Optional[str] = typer.Option(None, "--aggregate", "-a", metavar="FUNC[:COLUMN]",
                                                  help="count, count_distinct, sum, avg, min or max of a column "
                                                       "over the filtered rows, e.g. sum:Amount."),
          group_by: List[str] = typer.Option([], "--group-by", "-g", help="Group the aggregate by this column "
                                                                         "(at most twice)."),
          order_by: Optional[str] = typer.Option(None, "--order-by", help="value, rows or a --group-by column."),
          order: Optional[str] = typer.Option(None, "--order", help="asc or desc."),
          limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Groups to show."),
          as_json: bool = typer.Option(False, "--json", help="Print the stable JSON result.")) -> None:
    """Answer from curated facts (or a table, or an aggregate over it); exit 1 when nothing matches."""
    from kb_agent.facts.answer import fact_json, fact_output

    kb = state(ctx).kb()
    parsed = [_parse_filter(f) for f in filters]
    agg = None
    if aggregate:
        function, _, column = aggregate.partition(":")
        agg = {"function": function.strip(), "column": column.strip() or None, "group_by": list(group_by) or None,
               "order_by": order_by, "order": order, "limit": limit}
        agg = {k: v for k, v in agg.items() if v is not None}
    elif group_by or order_by or order or limit:
        raise typer.BadParameter("--group-by, --order-by, --order and --limit go with --aggregate")
    result = kb.query_facts(question, table=table, filters=parsed or None, columns=list(columns) or None,
                            aggregate=agg)
    output = fact_output(result)
    if as_json:
        emit_json(fact_json(result))
    else:
        typer.echo(output.text)
    if not output.found:
        raise typer.Exit(1)


@facts_app.command("validate")
def validate(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print issues as JSON.")) -> None:
    """Check every fact file (errors and conflicts); exit 1 if any."""
    kb = state(ctx).kb()
    issues = kb.facts.store.reload()
    count = len(kb.facts.store.facts)
    if as_json:
        emit_json({"facts": count, "issues": [i.to_dict() for i in issues]})
    else:
        for issue in issues:
            typer.echo(str(issue), err=True)
        typer.echo(f"{count} facts loaded from {kb.settings.facts.dir}; {len(issues)} issue(s).")
    if issues:
        raise typer.Exit(1)


@facts_app.command("tables")
def tables(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List the spreadsheet tables loaded into the table store."""
    kb = state(ctx).kb()
    from kb_agent.access import LOCAL_ADMIN

    infos = kb.facts.tables.tables(LOCAL_ADMIN)
    if as_json:
        emit_json({"tables": [t.to_dict() for t in infos], "sources": kb.facts.tables.sources()})
        return
    for t in infos:
        typer.echo(t.describe())
    typer.echo(f"{len(infos)} table(s).")


@facts_app.command("load-tables")
def load_tables(ctx: typer.Context,
                root: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder of spreadsheets."),
                as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Load every spreadsheet under ROOT into the table store (what ingestion does for them)."""
    from kb_agent.facts.tables.read import SUFFIXES

    from kb_agent.ingest.walk import discover

    kb = state(ctx).kb()
    hook = kb.facts.ingest_hook()
    # The same walk as ingestion: _access.yaml groups, links resolved to their target's groups,
    # links out of the folder refused; the store's known roots do not apply (a folder of its own).
    tasks, _scopes, refused = discover([root], [])
    report, errors = {}, {}
    for item in refused:
        if Path(item.path).suffix.lower() in SUFFIXES:
            errors[item.path] = item.reason
    for task in sorted(tasks, key=lambda t: t.source):
        if task.path.suffix.lower() not in SUFFIXES and Path(task.source).suffix.lower() not in SUFFIXES:
            continue
        if task.access_error:     # fail closed, as ingestion does
            errors[task.source] = task.access_error
            continue
        try:
            hook.on_file(task.source, task.path, {"access_groups": list(task.access_groups)})
            report[task.source] = hook.report.get(task.source, [])
        except Exception as exc:  # one bad file never stops the run
            errors[task.source] = str(exc)
    if as_json:
        emit_json({"loaded": report, "errors": errors})
        return
    for source, notes in report.items():
        typer.echo(f"{source}: " + "; ".join(notes))
    for source, err in errors.items():
        typer.echo(f"{source}: error: {err}", err=True)
    if errors:
        raise typer.Exit(1)
