"""The offline document route: without an LLM, an analytical question gets the best
passages with their citations, clearly labelled as excerpts (never a made-up summary)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from kb_agent.access import Principal
from kb_agent.errors import KBError
from kb_agent.glossary.terms import TermUnderstanding
from kb_agent.i18n import language_of
from kb_agent.index.present import doc_output, passage_header
from kb_agent.index.result import clip
from kb_agent.results import ToolOutput

from kb_agent.route_answer import RouteAnswer

if TYPE_CHECKING:
    from kb_agent.index.retriever import Retriever

log = logging.getLogger(__name__)

HEADING = {
    "zh": "以下是知识库文档中与问题最相关的原文摘录（未经总结，请以原文为准）：",
    "en": "These are the most relevant excerpts from the knowledge-base documents (quoted, not summarised):",
}
EXPANSION = {"zh": "术语展开：", "en": "Term expansion: "}
UNAVAILABLE = {"zh": "文档检索暂不可用：", "en": "Document search is unavailable: "}

WHY = {"zh": "原因：{reason}。", "en": "Why: {reason}."}
CLOSEST = {"zh": "最接近的段落（不是答案，仅供参考）：", "en": "Closest passages (not an answer):"}
NEAR_MISS_CHARS = 120

#: Excerpts shown by the offline route (fewer than the tool's top_k: people read them).
ROUTE_TOP_K = 3


def doc_route(question: str, principal: Principal, terms: TermUnderstanding, *,
              retriever: "Callable[[], Retriever]", max_chars: int) -> "RouteAnswer | None":
    """``retriever`` opens the indexes on first use; an unusable chunk store or index is
    reported as this route's answer ("document search is unavailable: …")."""
    lang = language_of(question)
    args = {"query": question, "top_k": ROUTE_TOP_K}
    try:
        result = retriever().retrieve_understood(question, principal, terms, top_k=ROUTE_TOP_K)
    except KBError as exc:  # a broken index must not take glossary and facts down with it
        log.warning("doc route: %s", exc)
        return RouteAnswer("doc", UNAVAILABLE[lang] + exc.user_text(), "doc_retrieve", args,
                           ToolOutput(exc.for_llm(), found=False))
    if not result.found:
        return RouteAnswer("doc", near_miss_text(result, lang), "doc_retrieve", args,
                           doc_output(result, max_chars), found=False)
    lines = [HEADING[lang]]
    if result.expansion:
        lines.append(EXPANSION[lang] + result.expansion)
    for n, hit in enumerate(result.relevant, 1):
        lines.append("")
        lines.append(passage_header(n, hit))
        lines.append("> " + clip(hit.chunk.text, max_chars))
    return RouteAnswer("doc", "\n".join(lines), "doc_retrieve", args, doc_output(result, max_chars))


def near_miss_text(result, lang: str) -> str:
    """Why nothing was found, and the closest passages, set apart as not being an answer."""
    lines = [WHY[lang].format(reason=result.reason)] if result.reason else []
    if result.hits:
        lines += ["", CLOSEST[lang]]
        lines += [f"- {h.chunk.source} — {h.chunk.locator.label()}: {clip(h.chunk.text, NEAR_MISS_CHARS)}"
                  for h in result.hits]
    return "\n".join(lines)
