"""`kb-agent eval FILE.jsonl... [--json] [--answers]`: retrieval, glossary, fact and routing
metrics; with --answers also how the configured LLM's answers fared in the grounding check."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from kb_agent.cli import emit_json, state


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)


def eval_(ctx: typer.Context,
          files: List[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Evaluation JSONL file(s)."),
          top_k: int = typer.Option(5, "--top-k", min=1, max=100, help="Passages retrieved per doc item."),
          as_json: bool = typer.Option(False, "--json", help="Print the full report (with per-item results) as JSON."),
          no_route: bool = typer.Option(False, "--no-route", help="Skip the offline-router pass."),
          kind: Optional[List[str]] = typer.Option(None, "--kind", help="Only these kinds (term, fact, doc)."),
          answers: bool = typer.Option(False, "--answers", help="Also answer every question through the configured "
                                       "LLM and report the share of answers the grounding check flagged or withheld "
                                       "and the fabricated-citation rate (needs llm: openai or dashscope).")) -> None:
    """Evaluate the knowledge base on question files (see docs/eval.md for the format)."""
    from kb_agent.eval.dataset import load_items
    from kb_agent.eval.runner import evaluate, format_report

    settings = state(ctx).settings()
    if answers and settings.llm == "offline":
        raise typer.BadParameter("--answers checks what a language model writes; configure one first "
                                 "(llm: openai or dashscope; see docs/configuration.md)", param_hint="--answers")

    items, issues = load_items(files)
    if kind:
        items = [i for i in items if i.kind in kind]
    if not items:
        for issue in issues:
            typer.echo(str(issue), err=True)
        raise typer.BadParameter("no valid evaluation items in the given file(s)")
    kb = state(ctx).kb()
    report = evaluate(kb, items, top_k=top_k, issues=issues, with_route=not no_route)
    if answers:
        from kb_agent.answering import Answerer
        from kb_agent.eval.answers import evaluate_answers, format_answers

        report["answers"] = evaluate_answers(Answerer(settings, kb), items)
    if as_json:
        emit_json(report)
    else:
        typer.echo(format_report(report))
        if answers:
            typer.echo(format_answers(report["answers"]))
