"""Admin console, feedback tab: the thumbs up / down employees gave answers, newest first
(filters: down-votes only, tool, dates); one item opens a form prefilled from it, and "Save as
eval case" appends the confirmed case to ``<eval dir>/feedback.jsonl`` (kb_agent/eval/from_feedback.py)
and marks the item converted."""

from __future__ import annotations

import html
import time
from pathlib import Path

import gradio as gr

from kb_agent import audit
from kb_agent.errors import KBError
from kb_agent.eval import from_feedback
from kb_agent.ui.admin_common import require_admin, table_or_empty
from kb_agent.ui.context import WebContext

HEADERS = ["Id", "When", "User", "Vote", "Question", "Answer", "Comment", "Tools", "Evidence", "Eval case"]
WIDTHS = ["4%", "10%", "6%", "5%", "14%", "19%", "11%", "8%", "13%", "10%"]
KIND_CHOICES = [("term · 术语", "term"), ("fact · 事实", "fact"), ("doc · 文档", "doc"),
                ("none: no answer in the KB · 知识库无答案", "none")]
ANSWER_CHARS = 160
SHOWN = 200


def _short(text: str, n: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def feedback_rows(items) -> list[list]:
    return [[i.id, time.strftime("%Y-%m-%d %H:%M", time.localtime(i.ts)), i.user,
             i.vote, i.question, _short(i.answer, ANSWER_CHARS), i.comment or "—",
             ", ".join(i.tools) or "—", audit.evidence_text(i.evidence) or "—",
             Path(i.eval_case).name if i.eval_case else "—"] for i in items]


def _item_id(value) -> int | None:
    try:
        return int(value) if value not in (None, "") and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _notice(text: str, ok: bool = False) -> str:
    return f'<div class="{"kb-ok" if ok else "kb-notice"}" id="kb-fb-status">{html.escape(text)}</div>'


def build_feedback_tab(ctx: WebContext):
    settings = ctx.settings
    target = settings.eval_dir / from_feedback.FILE_NAME
    empty_form = ("", "doc", "", "", "", "")

    def listing(down_only: bool, tool: str, since: str, until: str, request: gr.Request):
        require_admin(ctx, request)
        try:
            start, end = audit.parse_day(since, "From"), audit.parse_day(until, "To")
            items = ctx.kb.feedback.list(vote="down" if down_only else None, tool=tool or None,
                                         since=audit.day_start(start) if start else None,
                                         until=audit.day_start(end) + audit.DAY_S if end else None, limit=SHOWN)
        except KBError as exc:
            return _notice(exc.user_text()), table_or_empty([], len(HEADERS)), gr.update(choices=[], value=None)
        choices = [(f"#{i.id} · {_short(i.question, 50)}", i.id) for i in items]
        stat = (f'<div class="kb-stat" id="kb-fb-stat"><b>{len(items)}</b> item(s) · '
                f'<b>{sum(1 for i in items if i.vote == "down")}</b> down-vote(s)</div>')
        return stat, table_or_empty(feedback_rows(items), len(HEADERS)), gr.update(choices=choices, value=None)

    def pick(item_id, request: gr.Request):
        require_admin(ctx, request)
        item_id = _item_id(item_id)
        item = ctx.kb.feedback.get(item_id) if item_id is not None else None
        if item is None:
            return ("", *empty_form)
        d = from_feedback.draft(item)
        done = (f"<p>Saved as an eval case in <code>{html.escape(item.eval_case)}</code> already.</p>"
                if item.eval_case else "")
        vote = "up-vote · 赞" if item.vote == "up" else "down-vote · 踩"
        comment = f"<br><b>Comment · 评论：</b>{html.escape(item.comment)}" if item.comment else ""
        detail = (f'<div class="kb-fb-item" id="kb-fb-item"><b>#{item.id}</b> · {html.escape(item.user)} · {vote}'
                  f"<br><b>Answer · 回答：</b>{html.escape(_short(item.answer, 600))}{comment}{done}</div>")
        return detail, d.question, d.kind, d.expected_answer, d.expected_source, d.expected_locator, d.id

    def save(item_id, question: str, kind: str, answer: str, source: str, locator: str, case_id: str,
             request: gr.Request):
        require_admin(ctx, request)
        item_id = _item_id(item_id)
        if item_id is None or ctx.kb.feedback.get(item_id) is None:
            return _notice("Pick a feedback item first · 请先选择一条反馈。")
        try:
            line = from_feedback.case(from_feedback.CaseDraft(
                id=str(case_id or "") or from_feedback.case_id(item_id), question=str(question or ""),
                kind=str(kind or ""), expected_answer=str(answer or ""), expected_source=str(source or ""),
                expected_locator=str(locator or ""), feedback_id=item_id))
            from_feedback.append_case(target, line)
            ctx.kb.feedback.mark_converted(item_id, str(target))
        except KBError as exc:
            return _notice(f"Not saved · 未保存: {exc.user_text()}")
        return _notice(f"Saved {line['id']} to {target} · 已保存。 `kb-agent eval {target}` now checks it.", ok=True)

    with gr.Tab("Feedback · 反馈", id="feedback"):
        gr.Markdown("Ratings employees gave answers, newest first. Pick one to turn it into an evaluation case "
                    f"(saved in `{target}`; `kb-agent eval` then checks it). "
                    "员工对回答的评价；选择一条即可转为评测用例。")
        with gr.Row():
            down_only = gr.Checkbox(label="Down-votes only · 仅看差评", value=False, elem_id="kb-fb-down")
            tool = gr.Dropdown(choices=[("All tools · 全部工具", ""), *[(t, t) for t in settings.agent.tools]],
                               value="", label="Tool · 工具", elem_id="kb-fb-tool")
            since = gr.Textbox(label="From · 起始日期", placeholder="YYYY-MM-DD", elem_id="kb-fb-since", max_lines=1)
            until = gr.Textbox(label="To · 截止日期", placeholder="YYYY-MM-DD", elem_id="kb-fb-until", max_lines=1)
        refresh = gr.Button("Refresh · 刷新", size="sm", elem_id="kb-fb-refresh")
        stat = gr.HTML()
        table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, max_height=420, column_widths=WIDTHS,
                             elem_id="kb-fb-table")
        with gr.Group():
            item = gr.Dropdown(label="Item to turn into an eval case · 转为评测用例的反馈", choices=[],
                               elem_id="kb-fb-pick")
            detail = gr.HTML()
            with gr.Row():
                question = gr.Textbox(label="Question · 问题", elem_id="kb-fb-question", max_lines=2)
                kind = gr.Dropdown(choices=KIND_CHOICES, value="doc", label="Kind · 类型", elem_id="kb-fb-kind")
                case_id = gr.Textbox(label="Case id · 用例编号", elem_id="kb-fb-id", max_lines=1)
            with gr.Row():
                answer = gr.Textbox(label="Expected answer (term, fact) · 期望答案", elem_id="kb-fb-answer", max_lines=2)
                source = gr.Textbox(label="Expected source (doc) · 期望来源", elem_id="kb-fb-source", max_lines=1)
                locator = gr.Textbox(label='Expected locator (doc, optional) · 位置，如 {"page": 3}',
                                     elem_id="kb-fb-locator", max_lines=1)
            save_btn = gr.Button("Save as eval case · 保存为评测用例", variant="primary", elem_id="kb-fb-save")
            status = gr.HTML()
    filters = [down_only, tool, since, until]
    list_outputs = [stat, table, item]
    refresh.click(listing, filters, list_outputs, queue=False)
    for box in (down_only, tool):
        box.change(listing, filters, list_outputs, queue=False)
    for box in (since, until):
        box.submit(listing, filters, list_outputs, queue=False)
    item.change(pick, [item], [detail, question, kind, answer, source, locator, case_id], queue=False)
    def relist(down: bool, tool_name: str, start: str, end: str, request: gr.Request):
        return listing(down, tool_name, start, end, request)[:2]   # the picked item stays picked

    save_btn.click(save, [item, question, kind, answer, source, locator, case_id], [status], queue=False).then(
        relist, filters, [stat, table], queue=False)

    def initial(request: gr.Request):
        return listing(False, "", "", "", request)

    return initial, list_outputs
