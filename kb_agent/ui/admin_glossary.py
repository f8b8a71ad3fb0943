"""Admin console, glossary tab: search entries, edit a YAML file with validation before save,
import the abbreviation spreadsheet, see unknown terms employees asked about."""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from kb_agent.yamlsource import yaml_files
from kb_agent.ui.admin_common import require_admin, table_or_empty
from kb_agent.ui.context import WebContext


def issues_markdown(issues, ok_text: str) -> str:
    if not issues:
        return f'<div class="kb-ok">{html.escape(ok_text)}</div>'
    items = "".join(
        f"<li><b>line {i.line if i.line else '—'}</b>"
        + (f", field <code>{html.escape(i.field)}</code>" if i.field else "")
        + f": {html.escape(i.message)}</li>" for i in issues)
    return (f'<div class="kb-notice" id="kb-glossary-issues">{len(issues)} problem(s) — nothing was saved; '
            f'the live glossary is unchanged.<ul>{items}</ul></div>')


def build_glossary_tab(ctx: WebContext) -> None:
    store = ctx.kb.glossary_store

    def file_names() -> list[str]:
        return [p.name for p in yaml_files(store.directory)]

    def entries_rows(query: str, request: gr.Request):
        require_admin(ctx, request)
        q = (query or "").strip().lower()
        rows = [[e.term, e.english, e.chinese, e.scope, f"{e.source_file}:{e.line}"]
                for e in ctx.kb.glossary.entries
                if not q or q in " ".join((e.term, e.english, e.chinese, e.scope, *e.aliases)).lower()]
        return table_or_empty(rows, 5)

    def load_file(name: str, request: gr.Request):
        require_admin(ctx, request)
        if not name:
            return "", ""
        text, issues = store.read_for_edit(name)      # a file over the size limit is never read
        return text, (issues_markdown(issues, "") if issues else "")

    def validate(name: str, text: str, request: gr.Request):
        require_admin(ctx, request)
        return issues_markdown(store.validate_text(text or "", name or "glossary.yaml"), "Valid — ready to save.")

    def save(name: str, text: str, query: str, request: gr.Request):
        require_admin(ctx, request)
        if not name:
            return '<div class="kb-notice">Choose a file first.</div>', entries_rows(query, request)
        issues = store.save_file(name, text or "")
        msg = issues_markdown(issues, f"Saved {name}; the glossary now has {len(ctx.kb.glossary)} entries "
                                      "and answers use it immediately.")
        return msg, entries_rows(query, request)

    def import_sheet(file, request: gr.Request):
        require_admin(ctx, request)
        from kb_agent.glossary.importer import import_spreadsheet
        from kb_agent.ui.uploads import check_upload, safe_name

        if file is None:
            return '<div class="kb-notice">Choose a spreadsheet (.xlsx or .xls).</div>', gr.update()
        path = Path(file if isinstance(file, str) else file.name)
        check = check_upload(path, path.name, [".xlsx", ".xls"], ctx.settings.web.max_upload_mb)
        if not check.ok:
            return f'<div class="kb-notice">{html.escape(check.name)}: {html.escape(check.reason or "")}</div>', gr.update()
        try:
            result = import_spreadsheet(path)
        except Exception as exc:  # a broken sheet is reported, never a crash of the console
            return f'<div class="kb-notice">Could not read {html.escape(check.name)}: {html.escape(str(exc))}</div>', gr.update()
        target = Path(safe_name(Path(check.name).stem + ".yaml")).name
        result.drop_known(store.entries_except(target))
        issues = store.save_file(target, result.to_yaml())
        if issues:
            return issues_markdown(issues, ""), gr.update()
        skipped = "".join(f"<li>{html.escape(str(s))}</li>" for s in result.skipped[:50])
        more = f"<li>… {len(result.skipped) - 50} more</li>" if len(result.skipped) > 50 else ""
        report = (f'<div class="kb-ok">Imported {len(result.entries)} entries (header on row {result.header_row}) '
                  f"into <code>{html.escape(target)}</code>; skipped {len(result.skipped)} row(s).</div>"
                  + (f"<ul>{skipped}{more}</ul>" if skipped else ""))
        return report, gr.update(choices=file_names(), value=target)

    def unknown(request: gr.Request):
        require_admin(ctx, request)
        rows = [[u.term, u.count, u.example] for u in ctx.kb.usage.unknown_terms(200)]
        return table_or_empty(rows, 3)

    with gr.Tab("Glossary · 术语表", id="glossary"):
        with gr.Row():
            with gr.Column(scale=5):
                gr.Markdown("#### Entries")
                search = gr.Textbox(placeholder="Search term, English or Chinese…", show_label=False,
                                    elem_id="kb-gloss-search")
                entries = gr.Dataframe(headers=["Term", "English", "Chinese", "Scope", "File:line"],
                                       interactive=False, wrap=True, max_height=420, elem_id="kb-gloss-entries")
            with gr.Column(scale=6):
                gr.Markdown("#### Edit a glossary file")
                files = file_names()
                fname = gr.Dropdown(choices=files, value=files[0] if files else None, label="File",
                                    elem_id="kb-gloss-file", allow_custom_value=False)
                editor = gr.Code(language="yaml", lines=18, max_lines=24, label="YAML", elem_id="kb-gloss-editor",
                                 interactive=True)
                with gr.Row():
                    check_btn = gr.Button("Validate · 校验", elem_id="kb-gloss-validate")
                    save_btn = gr.Button("Save · 保存", variant="primary", elem_id="kb-gloss-save")
                status = gr.HTML(elem_id="kb-gloss-status")
        with gr.Row():
            with gr.Column():
                gr.Markdown("#### Import the abbreviation spreadsheet (序号 / 缩略语 / 英文全称 / 中文解释)")
                sheet = gr.File(file_types=[".xlsx", ".xls"], label="Spreadsheet", elem_id="kb-gloss-import-file")
                import_btn = gr.Button("Import · 导入", elem_id="kb-gloss-import")
                import_status = gr.HTML()
            with gr.Column():
                gr.Markdown("#### Unknown terms employees asked about")
                unknown_df = gr.Dataframe(headers=["Term", "Times asked", "Example question"], interactive=False,
                                          wrap=True, max_height=300, elem_id="kb-unknown-terms")
                refresh = gr.Button("Refresh", size="sm")

    search.change(entries_rows, search, entries, queue=False)
    fname.change(load_file, fname, [editor, status], queue=False)
    check_btn.click(validate, [fname, editor], status)
    save_btn.click(save, [fname, editor, search], [status, entries])
    import_btn.click(import_sheet, sheet, [import_status, fname]).then(entries_rows, search, entries)
    refresh.click(unknown, None, unknown_df, queue=False)
    return entries_rows, load_file, unknown, search, entries, fname, editor, status, unknown_df
