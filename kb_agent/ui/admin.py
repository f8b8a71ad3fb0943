"""The admin console (a Gradio Blocks mounted at /admin, admins only): glossary, documents,
facts, usage, feedback and audit tabs. Each tab is its own module; this one assembles them."""

from __future__ import annotations

import gradio as gr

from kb_agent.ui.admin_audit import build_audit_tab
from kb_agent.ui.admin_docs import build_docs_tab
from kb_agent.ui.admin_feedback import build_feedback_tab
from kb_agent.ui.admin_glossary import build_glossary_tab
from kb_agent.ui.admin_misc import build_facts_tab, build_usage_tab
from kb_agent.ui.chat import header_html
from kb_agent.ui.context import WebContext


def build_admin(ctx: WebContext) -> gr.Blocks:
    with gr.Blocks(title=f"{ctx.settings.web.title} · Admin", analytics_enabled=False) as demo:
        header = gr.HTML(header_html(ctx, None, "admin"))
        with gr.Tabs():
            (entries_rows, load_file, unknown, search, entries, fname, editor, status,
             unknown_df) = build_glossary_tab(ctx)
            documents, docs, pick = build_docs_tab(ctx)
            build_facts_tab(ctx)
            usage, stat, usage_table = build_usage_tab(ctx)
            feedback, feedback_outputs = build_feedback_tab(ctx)
            audit, audit_stat, audit_table = build_audit_tab(ctx)

        def _on_load(request: gr.Request):
            text, msg = load_file(fname.value, request) if fname.value else ("", "")
            return (header_html(ctx, request.username, "admin"), entries_rows("", request), text, msg,
                    unknown(request), *documents(request), *usage(request), *feedback(request), *audit(request))

        demo.load(_on_load, None, [header, entries, editor, status, unknown_df, docs, pick, stat, usage_table,
                                   *feedback_outputs, audit_stat, audit_table], queue=False)
    return demo
