"""The employees' chat (a Gradio Blocks mounted at /chat): streaming answers, tool steps,
glossary cards, citations, a chart under a grouped calculation, example questions, a
new-conversation button.

The conversation lives on the server, in one ``gr.State`` per browser session (Gradio keeps
State values server-side and never reads them from the client), so two people — or two tabs —
never share messages, and nothing the browser sends is echoed back as a message: the Chatbot
is an output only. (A Chatbot *input* would take the client's message list, in which a
``FileData`` naming a server path makes Gradio copy that file into its cache and serve it.)
Each turn is answered for the principal of the signed-in user of *that* request.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterator

import gradio as gr

from kb_agent.errors import AuthError, InputError, KBError
from kb_agent.i18n import language_of
from kb_agent.ui.charts import ChartData, turn_chart
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


def new_conversation() -> dict[str, Any]:
    """The server-side state of one chat: what the Chatbot shows, the plain-text history and
    the chart of the latest answer (None when it has no grouped calculation)."""
    return {"chat": [], "history": [], "chart": None}


def respond(ctx: WebContext, question: str, conv: dict | None,
            request: gr.Request) -> Iterator[tuple[Any, list, dict]]:
    """One turn: yields (textbox, chat messages, conversation) as the answer streams in."""
    conv = conv if isinstance(conv, dict) else new_conversation()
    question = question if isinstance(question, str) else ""
    for box, chat, history, chart in _turn(ctx, question, conv["chat"], conv["history"], conv.get("chart"),
                                           request):
        yield box, chat, {"chat": chat, "history": history, "chart": chart}


def _turn(ctx: WebContext, question: str, chat: list, history: list, chart: ChartData | None,
          request: gr.Request) -> Iterator[tuple[Any, list, list, ChartData | None]]:
    """(textbox, chat, history, chart): the chart goes while a new answer is written and comes
    back only with a final answer that has a grouped calculation."""
    question = question.strip()
    if not question:
        yield gr.update(), chat, history, chart
        return
    chat = list(chat) + [{"role": "user", "content": question}]
    yield "", chat + [{"role": "assistant", "content": "…"}], history, None
    lang = language_of(question, ctx.settings.agent.language)
    try:
        principal = ctx.principal(request.username)
        final = None
        last_sent = 0.0
        for update in ctx.answerer.stream(question, principal, history):
            final = update
            now = time.monotonic()
            if not update.done and now - last_sent < STREAM_INTERVAL_S:
                continue  # coalesce token bursts: each update re-sends the turn to the browser
            last_sent = now
            text = _strip_offline_notice(update.text) or ("" if update.done else "…")  # LLM text comes checked, at the end
            citations = update.answer.citations if update.done and update.answer else None
            yield "", chat + answer_messages(text, update.events, lang, citations), history, None
        answer_text = _strip_offline_notice(final.text) if final else ""
        history = list(history) + [{"role": "user", "content": question},
                                   {"role": "assistant", "content": answer_text}]
        if final is not None:
            cites = final.answer.citations if final.answer else None
            chat = chat + answer_messages(answer_text, final.events, lang, cites)
            yield "", chat, history, turn_chart(final.events)
    except (AuthError, InputError) as exc:   # the user's session or question: told, nothing failed
        yield "", chat + [notice_message(exc.user_text())], history, None
    except KBError as exc:  # LLMUnavailableError and friends: a readable notice, no traceback
        log.warning("answer failed: %s", exc, exc_info=True)
        yield "", chat + [notice_message(exc.user_text())], history, None
    except Exception:
        log.exception("answer crashed")
        msg = {"zh": "回答时出现内部错误，已记录日志。请稍后再试。",
               "en": "Something went wrong while answering; it has been logged. Please try again."}[lang]
        yield "", chat + [notice_message(msg)], history, None


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


def build_chat(ctx: WebContext) -> gr.Blocks:
    with gr.Blocks(title=f"{ctx.settings.web.title} · Chat", analytics_enabled=False) as demo:
        header = gr.HTML(header_html(ctx, None, "chat"))
        if ctx.answerer.mode == "offline":
            gr.HTML(OFFLINE_BANNER, elem_id="kb-offline-banner")
        chatbot = gr.Chatbot(
            elem_id="kb-chat", height="62vh", show_label=False, feedback_options=None,
            placeholder="<div class='kb-empty'><h3>有什么可以帮您？ · How can I help?</h3>"
                        "<p>Ask about company terms, policies, processes and products. "
                        "可以询问公司术语、制度、流程和产品。</p></div>",
            examples=[{"text": q} for q in EXAMPLES], buttons=["copy"],
            latex_delimiters=[])  # text is shown as written: $$…$$ from documents is not KaTeX input
        # Under the answers: the latest answer's grouped calculation as a chart (Gradio's own
        # Vega plots: drawn in the page, nothing loaded from elsewhere, within the page policy).
        bar = gr.BarPlot(x="label", y="value", visible=False, height=260, elem_id="kb-chart-bar",
                         elem_classes=["kb-chart"], show_label=False)
        line = gr.LinePlot(x="label", y="value", visible=False, height=260, elem_id="kb-chart-line",
                           elem_classes=["kb-chart"], show_label=False)
        conversation = gr.State(new_conversation())
        with gr.Row(elem_id="kb-input-row"):
            box = gr.Textbox(elem_id="kb-question", show_label=False, scale=9, autofocus=True, lines=1,
                             max_lines=6, placeholder="输入问题，回车发送 · Type a question and press Enter")
            send = gr.Button("发送 Send", variant="primary", scale=1, elem_id="kb-send", min_width=120)
        with gr.Row():
            new = gr.Button("+ 新对话 · New conversation", size="sm", elem_id="kb-new", variant="secondary", scale=0,
                            min_width=220)
        gr.HTML('<div class="kb-foot">Answers come only from the company knowledge base; '
                'sources are listed under each answer. 答案仅来自公司知识库，并附来源。</div>')

        def _respond(question, conv, request: gr.Request):
            sent: object = ...  # the chart last sent: unchanged while an answer streams, so not re-sent
            for box_value, chat, new_conv in respond(ctx, question, conv, request):
                chart = new_conv["chart"]
                plots = (gr.update(), gr.update()) if chart is sent else chart_updates(chart)
                sent = chart
                yield box_value, chat, new_conv, *plots

        def _header(request: gr.Request):
            return header_html(ctx, request.username, "chat")

        def _example(evt: gr.SelectData):
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value)

        for trigger in (box.submit, send.click):
            trigger(_respond, [box, conversation], [box, chatbot, conversation, bar, line], concurrency_limit=None)
        chatbot.example_select(_example, None, box).then(
            _respond, [box, conversation], [box, chatbot, conversation, bar, line], concurrency_limit=None)
        new.click(lambda: ([], new_conversation(), "", *chart_updates(None)), None,
                  [chatbot, conversation, box, bar, line], queue=False)
        demo.load(_header, None, header, queue=False)
    return demo
