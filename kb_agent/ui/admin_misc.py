"""Admin console, facts and usage tabs."""

from __future__ import annotations

import html
import time
from datetime import date

import gradio as gr

from kb_agent.ui.admin_common import require_admin, table_or_empty
from kb_agent.ui.context import WebContext


def build_facts_tab(ctx: WebContext):
    def reload(request: gr.Request):
        require_admin(ctx, request)
        store = ctx.kb.facts.store
        issues = store.reload()
        today = date.today()
        rows = [[f.id, f.status(today), (f.questions[0] if f.questions else ""),
                 f.valid_to.isoformat() if f.valid_to else "", ", ".join(f.access_groups), f.where]
                for f in store.facts]
        conflicts = [i for i in issues if getattr(i, "kind", "") == "conflict"]
        errors = [i for i in issues if getattr(i, "kind", "") != "conflict"]
        expired = sum(1 for r in rows if r[1] == "expired")
        head = (f'<div class="{"kb-notice" if issues else "kb-ok"}" id="kb-facts-status">'
                f"{len(rows)} fact(s) · {expired} expired · {len(conflicts)} conflict(s) · "
                f"{len(errors)} error(s)</div>")
        items = "".join(f"<li>{html.escape(str(i))}</li>" for i in issues)
        return head + (f"<ul>{items}</ul>" if items else ""), table_or_empty(rows, 6)

    with gr.Tab("Facts · 事实", id="facts"):
        gr.Markdown(f"Curated facts are YAML files in `{ctx.settings.facts.dir}`. "
                    "Validate and reload them here; conflicts and expired facts are listed.")
        btn = gr.Button("Validate and reload · 校验并重新加载", variant="primary", elem_id="kb-facts-reload")
        status = gr.HTML()
        table = gr.Dataframe(headers=["Id", "Status", "Question", "Valid to", "Access groups", "File:line"],
                             interactive=False, wrap=True, max_height=420)
    btn.click(reload, None, [status, table])
    return reload, status, table


def build_usage_tab(ctx: WebContext):
    def usage(request: gr.Request):
        require_admin(ctx, request)
        total, rate = ctx.kb.usage.no_answer_rate()
        flagged, kinds = ctx.kb.usage.flagged_answers()
        rows = [[time.strftime("%Y-%m-%d %H:%M", time.localtime(q.ts)), q.user, q.question, q.mode,
                 q.tools or "—", "yes" if q.answered else "no", q.flags.replace(",", ", ") or "—"]
                for q in ctx.kb.usage.recent_questions(100)]
        why = ", ".join(f"{html.escape(k)} {n}" for k, n in kinds.most_common())
        flags = (f' · <span id="kb-usage-flagged"><b>{flagged}</b> answer(s) flagged by the source check '
                 f'({why})</span>' if flagged else "")
        stat = (f'<div class="kb-stat" id="kb-usage-stat"><b>{total}</b> question(s) asked · '
                f'<b>{rate:.0%}</b> with no answer found{flags}</div>')
        return stat, table_or_empty(rows, 7)

    with gr.Tab("Usage · 使用情况", id="usage"):
        stat = gr.HTML()
        btn = gr.Button("Refresh", size="sm")
        table = gr.Dataframe(headers=["When", "User", "Question", "Mode", "Tools", "Answered", "Flagged"],
                             interactive=False, wrap=True, max_height=480, elem_id="kb-usage-table")
    btn.click(usage, None, [stat, table], queue=False)
    return usage, stat, table
