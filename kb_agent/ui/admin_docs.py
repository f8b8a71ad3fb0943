"""Admin console, documents tab: upload files or point at a folder, ingest with a progress
bar, show the per-file report (with seconds per stage), list and remove documents."""

from __future__ import annotations

import html
import logging
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr

from kb_agent.ui.admin_common import require_admin, table_or_empty
from kb_agent.ui.context import WebContext
from kb_agent.ui.uploads import check_upload, store_upload

log = logging.getLogger(__name__)
REPORT_HEADERS = ["File", "Status", "Chunks", "Reason", "Seconds"]
_STAGE_NAMES = {"parse": "parse", "ocr": "OCR", "asr": "ASR", "embed": "embed", "write": "write"}


def uploads_dir(ctx: WebContext) -> Path:
    return ctx.settings.data_dir / "uploads"


def report_rows(report: Any) -> list[list]:
    """Rows from an IngestReport (its ``to_dict()`` contract: files with path/status/chunks/reason,
    and per-stage seconds for the files that were parsed)."""
    data = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    return [[f.get("path"), f.get("status"), f.get("chunks", 0), f.get("reason") or "", stage_text(f.get("stages"))]
            for f in data.get("files", [])]


def stage_text(stages: dict | None, digits: int = 2) -> str:
    """"parse 0.12 · OCR 3.40 · embed 0.51": the stages that took time, in pipeline order."""
    shown = [(k, v) for k, v in (stages or {}).items() if v >= 0.5 * 10 ** -digits]
    return " · ".join(f"{_STAGE_NAMES.get(k, k)} {v:.{digits}f}" for k, v in shown)


def _progress_adapter(progress: gr.Progress):
    """Accepts the pipeline's progress callbacks in the common shapes: (done, total[, text])
    numbers or one object with done/total (or files_done/files_total) attributes."""

    def call(*args, **kwargs):
        try:
            done = total = None
            desc = kwargs.get("desc") or kwargs.get("path") or ""
            if len(args) >= 2 and all(isinstance(a, (int, float)) for a in args[:2]):
                done, total = args[0], args[1]
                desc = desc or (str(args[2]) if len(args) > 2 else "")
            elif args:
                ev = args[0]
                for d, t in (("done", "total"), ("files_done", "files_total"), ("completed", "total")):
                    if hasattr(ev, d) and hasattr(ev, t):
                        done, total = getattr(ev, d), getattr(ev, t)
                        break
                desc = desc or str(getattr(ev, "current", "") or getattr(ev, "path", "") or "")
            if total:
                progress((done or 0, total), desc=f"Ingesting {desc}".strip(), unit="files")
        except Exception:  # a progress display problem never stops ingestion
            log.debug("progress callback failed", exc_info=True)

    return call


_INGEST_LOCK = threading.Lock()  # one ingestion at a time per process (two admins, two tabs)


def run_ingest(ctx: WebContext, paths: list[Path], progress: gr.Progress) -> tuple[str, list[list]]:
    if not _INGEST_LOCK.acquire(blocking=False):
        return ('<div class="kb-notice">Another ingestion is running; try again when it has finished.</div>',
                table_or_empty([], 5))
    try:
        return _run_ingest(ctx.kb.ingest, paths, progress)
    finally:
        _INGEST_LOCK.release()


def _run_ingest(ingest, paths: list[Path], progress: gr.Progress) -> tuple[str, list[list]]:
    started = time.monotonic()
    progress(0, desc="Starting ingestion…")
    try:
        report = ingest(paths, progress=_progress_adapter(progress))
    except Exception as exc:  # the store is unusable etc.: a readable notice for the admin
        log.exception("ingestion failed")
        text = exc.user_text() if hasattr(exc, "user_text") else f"{type(exc).__name__}: {exc}"
        return f'<div class="kb-notice">Ingestion failed: {html.escape(text)}</div>', table_or_empty([], 5)
    data = report.to_dict()
    rows = report_rows(data)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[1]] = counts.get(r[1], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no files"
    spent = stage_text(data.get("stages"), digits=1)
    spent = f" Seconds per stage (summed over files): {spent}." if spent else ""
    return (f'<div class="kb-ok" id="kb-ingest-summary">Ingestion finished in {time.monotonic() - started:.1f} s: '
            f"{html.escape(summary)}.{html.escape(spent)}</div>", table_or_empty(rows, 5))


def build_docs_tab(ctx: WebContext):
    settings = ctx.settings

    def documents(request: gr.Request):
        require_admin(ctx, request)
        records = ctx.kb.chunk_store.sources()
        rows = [[r.path, r.status, r.chunks, ", ".join(r.access_groups), r.reason or ""] for r in records]
        return table_or_empty(rows, 5), gr.update(choices=[r.path for r in records], value=None)

    def upload_and_ingest(files, request: gr.Request, progress=gr.Progress()):
        require_admin(ctx, request)
        files = files or []
        if not files:
            return '<div class="kb-notice">Choose one or more files first.</div>', table_or_empty([], 5)
        accepted, refused = [], []
        for f in files:
            path = Path(f if isinstance(f, str) else f.name)
            original = Path(getattr(f, "orig_name", None) or path.name).name
            check = check_upload(path, original, settings.web.upload_types, settings.web.max_upload_mb)
            if check.ok:
                accepted.append(store_upload(path, check, uploads_dir(ctx)))
            else:
                refused.append([check.name, "refused", 0, check.reason, ""])
        if not accepted:
            return '<div class="kb-notice">No file was accepted.</div>', refused
        summary, rows = run_ingest(ctx, accepted, progress)
        rows = [r for r in rows if any(r)]
        if refused:
            summary = summary.replace("</div>", f" {len(refused)} file(s) refused before ingestion.</div>", 1)
        return summary, refused + rows if (refused or rows) else table_or_empty([], 5)

    def ingest_folder(folder: str, request: gr.Request, progress=gr.Progress()):
        require_admin(ctx, request)
        path = Path((folder or "").strip()).expanduser()
        if not folder or not path.is_absolute() or not path.is_dir():
            return ('<div class="kb-notice">Give the absolute path of a folder on the server.</div>',
                    table_or_empty([], 5))
        return run_ingest(ctx, [path.resolve()], progress)

    def remove(source: str, request: gr.Request):
        require_admin(ctx, request)
        if not source or ctx.kb.chunk_store.source(source) is None:
            return '<div class="kb-notice">Choose a document to remove.</div>'
        ctx.kb.remove_document(source)
        return f'<div class="kb-ok">Removed {html.escape(source)} from the knowledge base.</div>'

    with gr.Tab("Documents · 文档", id="documents"):
        with gr.Row():
            with gr.Column():
                gr.Markdown(f"#### Upload files (max {settings.web.max_upload_mb:g} MB each)")
                upload = gr.File(file_count="multiple", file_types=settings.web.upload_types, label="Files",
                                 elem_id="kb-doc-upload")
                up_btn = gr.Button("Upload and ingest · 上传并导入", variant="primary", elem_id="kb-doc-ingest")
            with gr.Column():
                gr.Markdown("#### Or ingest a folder on the server")
                folder = gr.Textbox(placeholder="/srv/company-docs", show_label=False, elem_id="kb-doc-folder")
                folder_btn = gr.Button("Ingest folder · 导入文件夹", elem_id="kb-doc-folder-btn")
        summary = gr.HTML(elem_id="kb-ingest-status")
        report = gr.Dataframe(headers=REPORT_HEADERS, interactive=False, wrap=True, label="Ingestion report",
                              elem_id="kb-ingest-report")
        gr.Markdown("#### Documents in the knowledge base")
        docs = gr.Dataframe(headers=["File", "Status", "Chunks", "Access groups", "Reason"], interactive=False,
                            wrap=True, max_height=360, elem_id="kb-doc-list")
        with gr.Row():
            pick = gr.Dropdown(choices=[], label="Document", scale=4, elem_id="kb-doc-pick")
            rm_btn = gr.Button("Remove · 删除", variant="stop", scale=1, elem_id="kb-doc-remove")
        rm_status = gr.HTML()

    up_btn.click(upload_and_ingest, upload, [summary, report]).then(documents, None, [docs, pick])
    folder_btn.click(ingest_folder, folder, [summary, report]).then(documents, None, [docs, pick])
    rm_btn.click(remove, pick, rm_status).then(documents, None, [docs, pick])
    return documents, docs, pick
