"""Admin console, audit tab: search every answer (who, when, surface, tools, evidence shown)
and export the result as CSV or JSONL (links to /audit/export, kb_agent/ui/audit_export.py)."""

from __future__ import annotations

import html
import time

import gradio as gr

from kb_agent import audit
from kb_agent.errors import KBError
from kb_agent.ui.admin_common import require_admin, table_or_empty
from kb_agent.ui.audit_export import export_url
from kb_agent.ui.context import WebContext

SURFACES = [("All · 全部", ""), ("web", "web"), ("cli", "cli"), ("api", "api"), ("mcp", "mcp"), ("eval", "eval")]
HEADERS = ["When", "User", "Surface", "Question", "Evidence", "Tools", "Found"]
WIDTHS = ["14%", "8%", "7%", "30%", "25%", "10%", "6%"]
SHOWN = 200


def audit_rows(records) -> list[list]:
    return [[time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.ts)), r.user, r.surface or "—", r.question,
             audit.evidence_text(r.evidence) or "—", ", ".join(r.tool_names) or "—", "yes" if r.answered else "no"]
            for r in records]


def build_audit_tab(ctx: WebContext):
    days = ctx.settings.audit.retention_days

    def search(user: str, text: str, surface: str, since: str, until: str, request: gr.Request):
        require_admin(ctx, request)
        try:
            records = audit.search(ctx.kb.usage, user=user, text=text, surface=surface,
                                   since=audit.parse_day(since, "From"), until=audit.parse_day(until, "To"),
                                   limit=SHOWN + 1)
        except KBError as exc:
            return f'<div class="kb-notice" id="kb-audit-stat">{html.escape(exc.user_text())}</div>', table_or_empty([], 7)
        filters = dict(user=user, text=text, surface=surface, since=since, until=until)
        links = " · ".join(f'<a id="kb-audit-{fmt}" href="{html.escape(export_url(fmt, **filters))}" download>'
                           f"Export {fmt.upper()} · 导出 {fmt.upper()}</a>" for fmt in audit.FORMATS)
        count = f"the newest {SHOWN} shown" if len(records) > SHOWN else f"<b>{len(records)}</b> answer(s)"
        stat = f'<div class="kb-stat" id="kb-audit-stat">{count} · {links}</div>'
        return stat, table_or_empty(audit_rows(records[:SHOWN]), 7)

    with gr.Tab("Audit · 审计", id="audit"):
        kept = f"kept {days} day(s)" if days > 0 else "kept forever"
        gr.Markdown(f"Every answer, from every surface (web, CLI, API, MCP, eval): who asked, when, which tools "
                    f"ran and which evidence was shown. Entries are {kept} (`audit.retention_days`). "
                    "每一次回答的记录：谁、何时、通过哪个渠道、调用了哪些工具、展示了哪些证据。")
        with gr.Row():
            user = gr.Textbox(label="User · 用户", elem_id="kb-audit-user", max_lines=1)
            text = gr.Textbox(label="Question contains · 问题包含", elem_id="kb-audit-text", max_lines=1)
            surface = gr.Dropdown(choices=SURFACES, value="", label="Surface · 渠道", elem_id="kb-audit-surface")
            since = gr.Textbox(label="From · 起始日期", placeholder="YYYY-MM-DD", elem_id="kb-audit-since", max_lines=1)
            until = gr.Textbox(label="To · 截止日期", placeholder="YYYY-MM-DD", elem_id="kb-audit-until", max_lines=1)
        btn = gr.Button("Search · 搜索", variant="primary", size="sm", elem_id="kb-audit-search")
        stat = gr.HTML()
        table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, max_height=520, column_widths=WIDTHS,
                             elem_id="kb-audit-table")
    inputs = [user, text, surface, since, until]
    btn.click(search, inputs, [stat, table], queue=False)
    for box in (user, text, since, until):
        box.submit(search, inputs, [stat, table], queue=False)

    def initial(request: gr.Request):
        return search("", "", "", "", "", request)

    return initial, stat, table
