"""`kb-agent ingest PATH... [--json]`: parse, chunk and embed documents into the data directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from kb_agent.cli import emit_json, state


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(ctx: typer.Context,
           paths: Optional[List[Path]] = typer.Argument(None, help="Files and folders to ingest (folders recursively)."),
           sample: bool = typer.Option(False, "--sample", help="Also ingest the shipped sample knowledge base "
                                       "(ingest.sample_kb_dir)."),
           as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON document."),
           quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar.")) -> None:
    """Ingest documents: unchanged files are skipped, edited ones replaced, deleted ones removed.

    Exit status 1 only when nothing could be ingested; 2 when the store is unusable.
    """
    kb = state(ctx).kb()
    paths = list(paths or [])
    if sample:
        paths.append(kb.settings.ingest.sample_kb_dir)
    if not paths:
        raise typer.BadParameter("give at least one PATH, or --sample")
    show = not quiet and sys.stderr.isatty()
    if show:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
                       TextColumn("{task.fields[chunks]} chunks"), TimeElapsedColumn(),
                       TextColumn("{task.fields[current]}"), console=Console(stderr=True), transient=True)
        with bar:
            task = bar.add_task("files", total=None, chunks=0, current="")

            def progress(p):
                bar.update(task, total=p.files_total, completed=p.files_done, chunks=p.chunks_done,
                           current=p.current[-50:])

            report = kb.ingest(paths, progress=progress)
    else:
        report = kb.ingest(paths)
    if as_json:
        emit_json(report.to_dict())
    else:
        for f in report.files:
            typer.echo(f.line())
        for r in report.removed:
            typer.echo(f"{'removed':9s} {r}")
        for e in report.errors:
            typer.echo(f"error: {e}", err=True)
        t = report.totals()
        typer.echo(f"{t['files']} file(s): {t['ok']} ok ({t['chunks']} chunks), {t['unchanged']} unchanged, "
                   f"{t['skipped']} skipped, {t['failed']} failed, {t['removed']} removed; "
                   f"{report.embedded} embedded, {report.embed_cached} from cache; "
                   f"store: {report.store_chunks} chunks; {report.seconds:.1f} s")
    if report.exit_code:
        raise typer.Exit(report.exit_code)
