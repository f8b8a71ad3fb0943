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
    if not quiet and not as_json and sys.stdout.isatty():
        report = _with_progress_bar(kb, paths)
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
        typer.echo(stage_line(report))
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def stage_line(report) -> str:
    """Where the time went: seconds per stage (parse, OCR and ASR summed over the workers)."""
    names = {"parse": "parse", "ocr": "OCR", "asr": "ASR", "embed": "embed", "write": "write"}
    spent = ", ".join(f"{names[k]} {v:.1f} s" for k, v in report.stages.items())
    return f"stages: {spent}; waited for parsing {report.parse_wait_s:.1f} s"


def _with_progress_bar(kb, paths):
    """Ingest with a bar on the terminal: files, chunks, chunks/s, ETA (by files), current file.
    The bar and the file name give way on a narrow terminal; the figures never do."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Column

    bar = Progress(TextColumn("[bold]ingest"), BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=8)),
                   MofNCompleteColumn(), TextColumn("files"), TextColumn("{task.fields[chunks]} chunks"),
                   TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(),
                   TextColumn("{task.fields[current]}",
                              table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis", min_width=0)),
                   console=Console(file=sys.stdout), transient=True, expand=True)
    started = time.monotonic()
    with bar:
        task = bar.add_task("files", total=None, chunks=0, rate="", current="")

        def progress(p):
            elapsed = time.monotonic() - started
            rate = f"{p.chunks_done / elapsed:.1f} chunks/s" if p.chunks_done and elapsed > 0 else ""
            bar.update(task, total=p.files_total, completed=p.files_done, chunks=p.chunks_done, rate=rate,
                       current=p.current)

        return kb.ingest(paths, progress=progress)
