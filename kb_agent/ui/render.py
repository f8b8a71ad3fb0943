"""Pure functions turning answers into chat messages: tool-call steps, the glossary card,
citations with links to the source file. No Gradio import: the chat adapter sends these
dicts to ``gr.Chatbot`` and the tests check them directly."""

from __future__ import annotations

import html
import json
from pathlib import PurePosixPath
from typing import Any, Iterable
from urllib.parse import quote

from kb_agent.results import Citation, ToolEvent, numbered

TOOL_TITLES = {
    "glossary_lookup": {"zh": "查询术语表", "en": "Glossary lookup"},
    "fact_query": {"zh": "查询事实与表格", "en": "Fact query"},
    "doc_retrieve": {"zh": "检索文档", "en": "Document search"},
}
SOURCES_TITLE = {"zh": "来源", "en": "Sources"}
RESULT_CHARS = 600
PASSAGE_CHARS = 280


def tool_step(event: ToolEvent, lang: str) -> dict[str, Any]:
    """One collapsible chat message for a tool call: name, arguments, short result."""
    names = TOOL_TITLES.get(event.name, {"zh": event.name, "en": event.name})
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in event.arguments.items())
    result = event.error or event.output.text or ""
    if len(result) > RESULT_CHARS:
        result = result[:RESULT_CHARS].rstrip() + " …"
    status = "✓" if event.output.found and not event.error else "— nothing found"
    body = f"`{event.name}({args})`\n\n```text\n{result}\n```" if result else f"`{event.name}({args})`"
    return {"role": "assistant", "content": body,
            "metadata": {"title": f"{names.get(lang, names['en'])} · {event.name} {status}", "status": "done"}}


def glossary_card(payload: dict[str, Any], lang: str) -> str:
    """A compact card (term, English, Chinese, scope) from a glossary LookupResult.to_dict()."""
    matches = payload.get("matches") or []
    if not matches:
        return ""
    head = {"zh": ("缩略语", "英文全称", "中文", "适用范围"), "en": ("Term", "English", "Chinese", "Scope")}[
        "zh" if lang == "zh" else "en"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(m.get(k) or '—'))}</td>"
                         for k in ("term", "english", "chinese", "scope")) + "</tr>"
        for m in matches)
    return ('<table class="kb-card"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head)
            + f"</tr></thead><tbody>{rows}</tbody></table>")


def file_href(source: str, locator: dict[str, Any]) -> str:
    """The download route for a document citation; PDFs open at the cited page."""
    href = "/files?source=" + quote(source, safe="")
    page = locator.get("page")
    if page and PurePosixPath(source).suffix.lower() == ".pdf":
        href += f"#page={int(page)}"
    return href


def _label(locator: dict[str, Any]) -> str:
    return str(locator.get("label") or locator.get("kind") or "")


def citations_block(citations: Iterable[Citation], lang: str, downloadable=lambda c: True,
                    answer_text: str = "") -> str:
    """Markdown list under an answer: number, file, place, passage; a link where allowed.
    A passage the answer already quotes (offline answers do) is not repeated."""
    quoted = " ".join(answer_text.split())
    items = []
    for i, c in numbered(citations):
        name = PurePosixPath(c.source).name or c.source
        place = _label(c.locator)
        title = f"**{html.escape(name)}**" + (f" · {html.escape(place)}" if place else "")
        if c.kind != "glossary" and downloadable(c):  # facts and tables cite files too
            title = f"[{title}]({file_href(c.source, c.locator)})"
        text = " ".join((c.text or "").split())
        if text and text[:80] in quoted:
            text = ""
        if len(text) > PASSAGE_CHARS:
            text = text[:PASSAGE_CHARS].rstrip() + " …"
        kind = "" if c.kind == "document" else f" `{c.kind}`"
        items.append(f"{i}. {title}{kind}\n   > {html.escape(text)}" if text else f"{i}. {title}{kind}")
    if not items:
        return ""
    return f"\n\n**{SOURCES_TITLE.get(lang, 'Sources')}**\n\n" + "\n".join(items)


def answer_messages(text: str, events: list[ToolEvent], lang: str, citations: list[Citation] | None = None,
                    downloadable=lambda c: True) -> list[dict[str, Any]]:
    """The assistant side of one turn: tool steps, then the answer with card and sources."""
    msgs = [tool_step(e, lang) for e in events]
    card = ""
    for e in events:
        if e.name == "glossary_lookup" and e.output.found and e.output.payload:
            card = glossary_card(e.output.payload, lang)
    body = text or ""
    if card:
        body = card + "\n\n" + body
    if card:  # the card already shows the glossary entries; list only the other sources
        citations = [c for c in citations or [] if c.kind != "glossary"]
    if citations:
        body += citations_block(citations, lang, downloadable, answer_text=text or "")
    if body:
        msgs.append({"role": "assistant", "content": body})
    return msgs


def notice_message(text: str) -> dict[str, Any]:
    """A readable notice in the chat (LLM unreachable, bad input): never a traceback."""
    body = "<br>".join(html.escape(line) for line in text.splitlines())
    return {"role": "assistant", "content": f'<div class="kb-notice">{body}</div>'}
