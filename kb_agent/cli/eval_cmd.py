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
                                       "and the fabricated-citation rate (needs llm: openai or dashscope)."),
          calibrate: bool = typer.Option(False, "--calibrate", help="Choose the relevance decision's cut-offs "
                                         "(retrieval.relevance) from these questions plus generated off-domain "
                                         "ones, and print the trade-off curve."),
          max_refused: float = typer.Option(0.05, "--max-refused", min=0.0, max=1.0, help="With --calibrate: the "
                                            "largest share of answerable questions the chosen cut-offs may refuse."),
          no_generated: bool = typer.Option(False, "--no-generated", help="With --calibrate: only your own "
                                            "unanswerable questions, no generated ones."),
          write: Optional[Path] = typer.Option(None, "--write", dir_okay=False, help="With --calibrate: write the "
                                               "chosen cut-offs into this YAML settings file (e.g. kb_agent.yaml; "
                                               "other keys are kept, comments are not).")) -> None:
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
    if (write or no_generated) and not calibrate:
        raise typer.BadParameter("only with --calibrate", param_hint="--write / --no-generated")
    kb = state(ctx).kb()
    if calibrate:
        _calibrate(settings, kb, items, top_k, max_refused, not no_generated, write, as_json)
        return
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


def _calibrate(settings, kb, items, top_k: int, max_refused: float, generated: bool, write: Optional[Path],
               as_json: bool) -> None:
    from kb_agent.eval.negatives import negatives
    from kb_agent.eval.runner import calibration, eval_doc, format_calibration
    from kb_agent.access import LOCAL_ADMIN

    docs = [i for i in items if i.kind == "doc"]
    if generated:
        docs += negatives(kb.retriever.mentions, exclude=[i.question for i in docs])
    if not any(i.answerable for i in docs) or all(i.answerable for i in docs):
        raise typer.BadParameter("--calibrate needs answerable and unanswerable doc questions "
                                 "(\"expected_source\": null marks an unanswerable one; docs/eval.md)")
    results = [eval_doc(kb, item, LOCAL_ADMIN, top_k) for item in docs]
    report = calibration(results, max_refused=max_refused)
    if write is not None:
        _write_policy(write, report["chosen"]["policy"])
        report["written"] = str(write)
    if as_json:
        emit_json(report)
        return
    typer.echo(format_calibration(report))
    if write is not None:
        typer.echo(f"written: retrieval.relevance in {write}")


def _write_policy(path: Path, policy: dict) -> None:
    import yaml

    from kb_agent.errors import ConfigError

    data = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the settings file must be a mapping at the top level")
    retrieval = data.setdefault("retrieval", {}) or {}
    data["retrieval"] = retrieval
    relevance = retrieval.get("relevance") or {}
    relevance.update(policy)
    retrieval["relevance"] = relevance
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
