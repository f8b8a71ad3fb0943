"""The employees' chat (a Gradio Blocks mounted at /chat): streaming answers, tool steps,
glossary cards, citations, a chart under a grouped calculation, example questions, a
new-conversation button; a sidebar of the user's stored conversations (open, continue,
rename, delete) and thumbs up / down with an optional comment on every answer.

The conversation lives on the server, in one ``gr.State`` per browser session (Gradio keeps
State values server-side and never reads them from the client), so two people — or two tabs —
never share messages, and nothing the browser sends is echoed back as a message: the Chatbot
is an output only. (A Chatbot *input* would take the client's message list, in which a
``FileData`` naming a server path makes Gradio copy that file into its cache and serve it.)
Each turn is answered for the principal of the signed-in user of *that* request, and saved to
that user's stored conversations (kb_agent/conversations.py). The browser names a stored
conversation only by its id (the sidebar's choice) and an answer only by its message index (a
thumb click); each call looks them up among the signed-in user's own conversations and the
answers of this session's state (kb_agent/ui/chat_state.py), so nothing else can be reached.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any, Iterator

import gradio as gr

from kb_agent.errors import AuthError, InputError, KBError
from kb_agent.i18n import language_of
from kb_agent.ui import chat_state
from kb_agent.ui.charts import ChartData, turn_chart
from kb_agent.ui.chat_state import is_state, new_conversation, save_turn
from kb_agent.ui.context import WebContext
from kb_agent.ui.render import answer_messages, notice_message

log = logging.getLogger(__name__)

STREAM_INTERVAL_S = 0.05  # at most ~20 screen updates a second while an answer streams
EXAMPLES = [
    "什么是AAP？",
    "AM代表什么职位？",
    "在产品售后流程里，AM负责哪些事情？",
    "ESS培训每月几次？",
    "What does GWS stand for?",
]
OFFLINE_BANNER = ('<div class="kb-banner"><b>离线模式 · Offline mode</b> — 未配置语言模型，回答直接摘自知识库。'
                  ' No language model is configured: answers are taken directly from the knowledge base.</div>')
NO_CONVERSATIONS = ('<div class="kb-side-empty">还没有保存的对话：回答后自动保存。 · '
                    'No saved conversations yet: each answered question is saved.</div>')
_OFFLINE_PREFIXES: tuple[str, ...] = ()


def _strip_offline_notice(text: str) -> str:
    global _OFFLINE_PREFIXES
    if not _OFFLINE_PREFIXES:
        from kb_agent.router import NOTICE

        _OFFLINE_PREFIXES = tuple(NOTICE.values())
    for prefix in _OFFLINE_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix):].lstrip()
    return text


def header_html(ctx: WebContext, username: str | None, page: str) -> str:
    from html import escape

    user = ctx.auth.users.get(username) if ctx.auth and username else None
    is_admin = ctx.single_user or bool(user and user.is_admin)
    links = []
    if page == "admin":
        links.append('<a href="/chat/">Chat · 对话</a>')
    elif is_admin:
        links.append('<a href="/admin/" id="kb-admin-link">Admin console · 管理</a>')
    who = "single-user mode" if ctx.single_user else escape(username or "")
    if user is not None:
        role = "admin" if user.is_admin else "employee"
        groups = ", ".join(user.groups)
        who += f' <span class="kb-role">{role}{" · " + escape(groups) if groups else ""}</span>'
    if not ctx.single_user:
        links.append('<a href="/keys" id="kb-keys-link">My keys · 我的密钥</a>')
        links.append('<form method="post" action="/logout" class="kb-signout">'
                     '<button type="submit" id="kb-signout">Sign out · 退出</button></form>')
    subtitle = "Admin console · 管理控制台" if page == "admin" else "公司知识助手 · Company knowledge assistant"
    return (f'<div class="kb-header"><div class="kb-brand"><span class="kb-logo">kb</span>'
            f'<div><div class="kb-title">{escape(ctx.settings.web.title)}</div><div class="kb-sub">{subtitle}</div>'
            f'</div></div><div class="kb-user"><span id="kb-username">{who}</span>{"".join(links)}</div></div>')


def owner_of(ctx: WebContext, request: gr.Request) -> str:
    """The signed-in user of this call (the local user in single-user mode); AuthError if none."""
    return ctx.principal(getattr(request, "username", None)).name


def respond(ctx: WebContext, question: str, conv: dict | None,
            request: gr.Request) -> Iterator[tuple[Any, list, dict]]:
    """One turn: yields (textbox, chat messages, conversation) as the answer streams in; an
    answered turn is saved to the user's stored conversation (created on its first answer)."""
    conv = conv if is_state(conv) else new_conversation()
    question = question if isinstance(question, str) else ""
    try:
        user = owner_of(ctx, request)
    except AuthError:
        user = None  # _turn tells the user; nothing is saved
    if conv.get("owner") not in (None, user):  # never continue someone else's conversation
        conv = new_conversation()
    start = len(conv["chat"])
    for box, chat, history, chart, record in _turn(ctx, question, conv["chat"], conv["history"],
                                                   conv.get("chart"), request):
        updated = {**conv, "owner": user, "chat": chat, "history": history, "chart": chart, "comment_for": None}
        if record is not None and user is not None:
            updated = save_turn(ctx.kb, user, updated, start, question, record)
        yield box, chat, updated


def _turn(ctx: WebContext, question: str, chat: list, history: list, chart: ChartData | None,
          request: gr.Request) -> Iterator[tuple[Any, list, list, ChartData | None, dict | None]]:
    """(textbox, chat, history, chart, record): the chart goes while a new answer is written
    and comes back only with a final answer that has a grouped calculation; ``record`` (the
    question, answer text, tool calls and cited evidence) comes with the final answer only."""
    question = question.strip()
    if not question:
        yield gr.update(), chat, history, chart, None
        return
    chat = list(chat) + [{"role": "user", "content": question}]
    yield "", chat + [{"role": "assistant", "content": "…"}], history, None, None
    lang = language_of(question, ctx.settings.agent.language)
    try:
        principal = ctx.principal(request.username)
        final = None
        last_sent = 0.0
        for update in ctx.answerer.stream(question, principal, history, surface="web"):
            final = update
            now = time.monotonic()
            if not update.done and now - last_sent < STREAM_INTERVAL_S:
                continue  # coalesce token bursts: each update re-sends the turn to the browser
            last_sent = now
            text = _strip_offline_notice(update.text) or ("" if update.done else "…")  # LLM text comes checked, at the end
            citations = update.answer.citations if update.done and update.answer else None
            yield "", chat + answer_messages(text, update.events, lang, citations), history, None, None
        answer_text = _strip_offline_notice(final.text) if final else ""
        history = list(history) + [{"role": "user", "content": question},
                                   {"role": "assistant", "content": answer_text}]
        if final is not None:
            cites = final.answer.citations if final.answer else None
            chat = chat + answer_messages(answer_text, final.events, lang, cites)
            record = {"question": question, "answer": answer_text,
                      "tool_calls": final.answer.tool_calls if final.answer else [],
                      "evidence": [c.to_dict() for c in cites or []]}
            yield "", chat, history, turn_chart(final.events), record
    except (AuthError, InputError) as exc:   # the user's session or question: told, nothing failed
        yield "", chat + [notice_message(exc.user_text())], history, None, None
    except KBError as exc:  # LLMUnavailableError and friends: a readable notice, no traceback
        log.warning("answer failed: %s", exc, exc_info=True)
        yield "", chat + [notice_message(exc.user_text())], history, None, None
    except Exception:
        log.exception("answer crashed")
        msg = {"zh": "回答时出现内部错误，已记录日志。请稍后再试。",
               "en": "Something went wrong while answering; it has been logged. Please try again."}[lang]
        yield "", chat + [notice_message(msg)], history, None, None


def chart_updates(chart: ChartData | None) -> tuple[dict, dict]:
    """Updates for the (bar, line) plots: the one that fits ``chart`` shown with its data, the
    other hidden; both hidden without a chart."""
    hidden = gr.update(visible=False, value=None)
    if chart is None:
        return hidden, hidden
    shown = gr.update(visible=True, value=chart.frame(), title=chart.title, x_title=chart.x_title,
                      y_title=chart.y_title, color="series" if chart.series_title else None,
                      color_title=chart.series_title,
                      sort=chart.labels if chart.kind == "bar" else None)  # the table's order, not A-Z
    return (shown, hidden) if chart.kind == "bar" else (hidden, shown)


class LikeEvent(gr.EventData):
    """``gr.LikeData`` (the message index and the thumb), read without trusting its shape: a
    client may send no event data or any JSON instead."""

    def __init__(self, target: Any, data: Any):
        super().__init__(target, data)
        data = data if isinstance(data, dict) else {}
        self.index = data.get("index")
        self.liked = data.get("liked", True)


def _note(text: str, kind: str = "ok") -> str:
    """A short notice in the sidebar or the feedback row (its text escaped)."""
    body = "<br>".join(html.escape(line) for line in text.splitlines())
    return f'<div class="kb-note kb-{kind}">{body}</div>'


def build_chat(ctx: WebContext) -> gr.Blocks:
    kb = ctx.kb
    with gr.Blocks(title=f"{ctx.settings.web.title} · Chat", analytics_enabled=False) as demo:
        conversation = gr.State(new_conversation())
        # The sidebar: the signed-in user's own stored conversations, newest first. The list's
        # values are conversation ids; each call looks the id up among this user's only.
        with gr.Sidebar(label="对话 · Conversations", elem_id="kb-sidebar", width=290, open=True):
            gr.HTML('<div class="kb-side-title">我的对话 · My conversations</div>')
            listing = gr.Radio(choices=[], value=None, show_label=False, container=False,
                               elem_id="kb-conversations", elem_classes=["kb-conv-list"])
            empty = gr.HTML(NO_CONVERSATIONS, elem_id="kb-conv-empty")
            with gr.Group(visible=False, elem_id="kb-conv-manage") as manage:
                title = gr.Textbox(label="标题 · Title", elem_id="kb-conv-title", lines=1, max_lines=1)
                with gr.Row():
                    rename = gr.Button("重命名 · Rename", size="sm", elem_id="kb-rename")
                    delete = gr.Button("删除 · Delete", size="sm", variant="stop", elem_id="kb-delete")
                with gr.Row(visible=False, elem_id="kb-delete-confirm-row") as confirm_row:
                    confirm = gr.Button("确认删除 · Delete for good", size="sm", variant="stop",
                                        elem_id="kb-delete-confirm")
                    cancel = gr.Button("取消 · Cancel", size="sm", elem_id="kb-delete-cancel")
            side_note = gr.HTML("", elem_id="kb-conv-note")
        header = gr.HTML(header_html(ctx, None, "chat"))
        if ctx.answerer.mode == "offline":
            gr.HTML(OFFLINE_BANNER, elem_id="kb-offline-banner")
        chatbot = gr.Chatbot(
            elem_id="kb-chat", height="62vh", show_label=False, feedback_options=chat_state.THUMBS,
            placeholder="<div class='kb-empty'><h3>有什么可以帮您？ · How can I help?</h3>"
                        "<p>Ask about company terms, policies, processes and products. "
                        "可以询问公司术语、制度、流程和产品。</p></div>",
            examples=[{"text": q} for q in EXAMPLES], buttons=["copy"],
            latex_delimiters=[])  # text is shown as written: $$…$$ from documents is not KaTeX input
        # After a thumb: what was recorded, and an optional comment on that rating (one row).
        with gr.Row(visible=False, elem_id="kb-feedback-row", equal_height=True) as fb_row:
            fb_status = gr.HTML("", elem_id="kb-feedback-status", padding=False)  # sized in theme.py
            fb_box = gr.Textbox(elem_id="kb-feedback-comment", show_label=False, scale=5, lines=1, max_lines=3,
                                container=False, placeholder="哪里不对？（可选） · What was wrong? (optional)")
            fb_send = gr.Button("提交说明 · Send comment", scale=2, size="sm", elem_id="kb-feedback-send",
                                min_width=150)
        # Under the answers: the latest answer's grouped calculation as a chart (Gradio's own
        # Vega plots: drawn in the page, nothing loaded from elsewhere, within the page policy).
        bar = gr.BarPlot(x="label", y="value", visible=False, height=260, elem_id="kb-chart-bar",
                         elem_classes=["kb-chart"], show_label=False)
        line = gr.LinePlot(x="label", y="value", visible=False, height=260, elem_id="kb-chart-line",
                           elem_classes=["kb-chart"], show_label=False)
        with gr.Row(elem_id="kb-input-row"):
            box = gr.Textbox(elem_id="kb-question", show_label=False, scale=9, autofocus=True, lines=1,
                             max_lines=6, placeholder="输入问题，回车发送 · Type a question and press Enter")
            send = gr.Button("发送 Send", variant="primary", scale=1, elem_id="kb-send", min_width=120)
        with gr.Row():
            new = gr.Button("+ 新对话 · New conversation", size="sm", elem_id="kb-new", variant="secondary", scale=0,
                            min_width=220)
        gr.HTML('<div class="kb-foot">Answers come only from the company knowledge base; '
                'sources are listed under each answer. 答案仅来自公司知识库，并附来源。</div>')

        side_out = [listing, empty, manage, title, confirm_row, side_note]
        fb_out = [fb_row, fb_status, fb_box, fb_send]
        hide_fb = {fb_row: gr.update(visible=False), fb_status: "", fb_box: ""}
        chat_out = [box, chatbot, conversation, bar, line, *fb_out]

        def _side(user: str | None, conv: dict, note: str = "") -> dict:
            """The sidebar for ``user``, ``conv`` selected when it is one of theirs."""
            items = chat_state.choices(kb, user)
            titles = {cid: t for t, cid in items}
            current = conv.get("id") if conv.get("id") in titles else None
            return {listing: gr.update(choices=items, value=current), empty: gr.update(visible=not items),
                    manage: gr.update(visible=current is not None), title: titles.get(current, ""),
                    confirm_row: gr.update(visible=False), side_note: note}

        def _fresh(conv: dict) -> dict:
            """The chat area showing ``conv`` (fresh or reopened): its messages and thumbs."""
            return {chatbot: gr.update(value=conv["chat"], feedback_value=chat_state.feedback_values(conv)),
                    conversation: conv, box: "", bar: gr.update(visible=False, value=None),
                    line: gr.update(visible=False, value=None), **hide_fb}

        def _respond(question, conv, request: gr.Request):
            sent: object = ...  # the chart last sent: unchanged while an answer streams, so not re-sent
            for box_value, chat, new_conv in respond(ctx, question, conv, request):
                # The question box is cleared once, when the question is taken: clearing it again
                # in later updates would wipe a next question typed while this answer finishes.
                out = {chatbot: chat, conversation: new_conv, **({box: box_value} if sent is ... else {})}
                if sent is ...:  # the comment box of an earlier rating goes with the new question
                    out.update(hide_fb)
                chart = new_conv["chart"]
                if chart is not sent:
                    out[bar], out[line] = chart_updates(chart)
                sent = chart
                if new_conv.get("id") and len(chat) - 1 in new_conv["answers"]:
                    # the answer on screen is saved: the list shows it, first. In this same
                    # update: the front end drops a question sent while this event still runs.
                    out.update(_side(new_conv["owner"], new_conv))
                yield out

        def _load(request: gr.Request):
            try:
                user = owner_of(ctx, request)
            except AuthError:
                user = None
            return {header: header_html(ctx, request.username, "chat"), **_side(user, new_conversation())}

        def _example(evt: gr.SelectData):
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value)

        def _new():
            return {**_fresh(new_conversation()), listing: gr.update(value=None), manage: gr.update(visible=False),
                    confirm_row: gr.update(visible=False), side_note: ""}

        def _open(conv_id, conv, request: gr.Request):
            user = None
            try:
                user = owner_of(ctx, request)
                opened = chat_state.open_conversation(kb, user, conv_id)
            except (AuthError, InputError) as exc:
                return _side(user, conv if is_state(conv) else new_conversation(), _note(exc.user_text(), "notice"))
            return {**_fresh(opened), **_side(user, opened)}

        def _rename(text, conv, request: gr.Request):
            user = None
            conv = conv if is_state(conv) else new_conversation()
            try:
                user = owner_of(ctx, request)
                chat_state.rename(kb, user, conv, text)
            except (AuthError, InputError) as exc:
                return _side(user, conv, _note(exc.user_text(), "notice"))
            return _side(user, conv, _note("已重命名 · Renamed."))

        def _delete(conv, request: gr.Request):
            user = None
            conv = conv if is_state(conv) else new_conversation()
            try:
                user = owner_of(ctx, request)
                chat_state.delete(kb, user, conv)
            except (AuthError, InputError) as exc:
                return _side(user, conv, _note(exc.user_text(), "notice"))
            fresh = new_conversation()
            return {**_fresh(fresh), **_side(user, fresh, _note("已删除 · Conversation deleted."))}

        def _feedback(note: str, comment_box: bool) -> dict:
            """The feedback row showing ``note``, with the comment box or without it."""
            return {fb_row: gr.update(visible=True), fb_status: note,
                    fb_box: gr.update(value="", visible=comment_box), fb_send: gr.update(visible=comment_box)}

        def _like(conv, evt: LikeEvent, request: gr.Request):
            try:
                user = owner_of(ctx, request)
                if not is_state(conv) or conv.get("owner") not in (None, user):
                    raise InputError("Only answers can be rated.")
                vote = chat_state.rate(kb, user, conv, evt.index, evt.liked)
            except (AuthError, InputError) as exc:
                return _feedback(_note(exc.user_text(), "notice"), False)
            if vote is None:
                return {conversation: conv, **_feedback(_note("已撤销评价 · Rating withdrawn."), False)}
            thanks = {"up": "已记录：有帮助 · Saved: helpful. 谢谢！",
                      "down": "已记录：没有帮助 · Saved: not helpful. 谢谢！"}[vote]
            return {conversation: conv, **_feedback(_note(thanks), True)}

        def _comment(text, conv, request: gr.Request):
            try:
                user = owner_of(ctx, request)
                if not is_state(conv) or conv.get("owner") not in (None, user):
                    raise InputError("Rate an answer first (thumbs up or down), then add a comment.")
                chat_state.comment(kb, user, conv, text)
            except (AuthError, InputError) as exc:
                return {fb_status: _note(exc.user_text(), "notice")}
            return _feedback(_note("说明已保存，谢谢！ · Comment saved, thank you."), False)

        respond_out = chat_out + side_out
        for trigger in (box.submit, send.click):  # a question sent while the last answer finishes
            trigger(_respond, [box, conversation], respond_out, concurrency_limit=None,  # runs next,
                    trigger_mode="always_last")                                          # not dropped
        chatbot.example_select(_example, None, box).then(
            _respond, [box, conversation], respond_out, concurrency_limit=None)
        new.click(_new, None, chat_out + side_out, queue=False)
        listing.input(_open, [listing, conversation], chat_out + side_out, queue=False)
        for trigger in (rename.click, title.submit):
            trigger(_rename, [title, conversation], side_out, queue=False)
        delete.click(lambda: gr.update(visible=True), None, confirm_row, queue=False)
        cancel.click(lambda: gr.update(visible=False), None, confirm_row, queue=False)
        confirm.click(_delete, [conversation], chat_out + side_out, queue=False)
        chatbot.like(_like, [conversation], [conversation, *fb_out], queue=False)
        for trigger in (fb_box.submit, fb_send.click):
            trigger(_comment, [fb_box, conversation], fb_out, queue=False)
        demo.load(_load, None, [header, *side_out], queue=False)
    return demo
