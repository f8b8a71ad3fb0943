"""`kb-agent search "QUERY" [--top-k N] [--json]` and `search --batch FILE.jsonl`: the same
hybrid retrieval the doc_retrieve tool and the offline router use, for people and scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from kb_agent.cli import emit_json, state
from kb_agent.errors import KBError
from kb_agent.index.result import search_json


def register(app: typer.Typer) -> None:
    app.command("search")(search)


def search(ctx: typer.Context,
           query: Optional[str] = typer.Argument(None, help="The question or keywords (omit with --batch)."),
           top_k: Optional[int] = typer.Option(None, "--top-k", "-k", min=1, max=100, help="Passages to return."),
           folder: Optional[List[str]] = typer.Option(None, "--folder", help="Only sources under this folder (repeatable)."),
           file_type: Optional[List[str]] = typer.Option(None, "--type", help="Only this file type, e.g. pdf (repeatable)."),
           as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
           batch: Optional[Path] = typer.Option(None, "--batch", exists=True, dir_okay=False,
                                                help="JSONL of {\"id\", \"query\" or \"question\"}; one JSON result a line.")) -> None:
    """Search the ingested documents (hybrid vector + keyword, glossary-expanded) and print cited passages."""
    if (query is None) == (batch is None):
        raise typer.BadParameter("give either a QUERY or --batch FILE")
    kb = state(ctx).kb()
    filters = {"folders": folder or [], "file_types": file_type or []}
    try:
        from kb_agent.index.filters import SearchFilters

        parsed = SearchFilters.from_dict(filters)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if batch is not None:
        _run_batch(kb, batch, top_k, parsed)
        return
    result = kb.retrieve(query, top_k=top_k, filters=parsed)
    if as_json:
        emit_json(search_json(result))
        return
    _print(result, kb.settings.retrieval.max_passage_chars)
    if not result.found:
        raise typer.Exit(1)


def _run_batch(kb, path: Path, top_k, filters) -> None:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = str(item.get("query") or item.get("question") or "").strip() if isinstance(item, dict) else ""
            if not text:
                raise ValueError("expected an object with a non-empty \"query\" or \"question\"")
        except ValueError as exc:
            emit_json({"id": None, "line": n, "error": f"{path}:{n}: {exc}"})
            continue
        try:
            emit_json({"id": item.get("id"), **search_json(kb.retrieve(text, top_k=top_k, filters=filters))})
        except KBError as exc:
            emit_json({"id": item.get("id"), "line": n, "error": str(exc)})


def _print(result, max_chars: int) -> None:
    from kb_agent.index.present import passage_header
    from kb_agent.index.result import clip

    if result.expansion:
        typer.echo(f"Term expansion: {result.expansion}")
    for note in result.notes:
        typer.echo(f"Note: {note}", err=True)
    if not result.found:
        typer.echo("No relevant passage found" + (f": {result.reason}." if result.reason else "."))
        if result.hits:
            typer.echo("Closest passages (not an answer):")
            for hit in result.hits:
                typer.echo(f"  - {hit.chunk.source} — {hit.chunk.locator.label()}: {clip(hit.chunk.text, 120)}")
        return
    for n, hit in enumerate(result.relevant, 1):
        typer.echo(passage_header(n, hit))
        typer.echo("    " + clip(hit.chunk.text, max_chars))
    typer.echo(f"({len(result.hits)} passages, {result.latency_ms:.0f} ms)")
