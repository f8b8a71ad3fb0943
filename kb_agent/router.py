"""The offline router: answers without a language model, straight from the tools' stores.

Routes are tried in order (term → fact → document); the first that answers wins. Each route
is a function ``(question, principal, terms, *, store) -> RouteAnswer | None`` living beside
its store (glossary/route.py, facts/route.py, index/route.py), bound here to that store only,
and reports which tool it stands for, so offline answers carry the same tool calls and
citations as LLM answers. The question's term understanding is computed once and handed to
every route. It never invents: when no route answers, it says nothing was found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Callable

from kb_agent.access import Principal
from kb_agent.errors import KBError
from kb_agent.facts.route import fact_route
from kb_agent.glossary.route import term_route
from kb_agent.glossary.terms import TermUnderstanding
from kb_agent.index.route import doc_route
from kb_agent.route_answer import RouteAnswer, RouteFn

if TYPE_CHECKING:
    from kb_agent.kb import KnowledgeBase

log = logging.getLogger(__name__)

#: Tried in order: a question about a term, then a curated fact or table rows, then passages;
#: each with the tool it stands for and how it is bound to its store. A route runs only when
#: its tool is configured (``agent.tools``): removing doc_retrieve from the assistant removes
#: the document route too.
ROUTES: list[tuple[str, Callable[["KnowledgeBase"], RouteFn]]] = [
    ("glossary_lookup", lambda kb: partial(term_route, glossary=kb.glossary)),
    ("fact_query", lambda kb: partial(fact_route, facts=kb.facts)),
    ("doc_retrieve", lambda kb: partial(doc_route, retriever=lambda: kb.retriever,
                                        max_chars=kb.settings.retrieval.max_passage_chars)),
]

NOTICE = {
    "zh": "（离线模式：未配置语言模型，以下内容直接摘自公司知识库。）",
    "en": "(Offline mode: no language model is configured; this is taken directly from the company knowledge base.)",
}
NOT_FOUND = {
    "zh": "知识库中没有找到与这个问题相关的内容。我不会猜测答案——请换个说法，或联系知识库管理员补充。",
    "en": "Nothing in the knowledge base answers this question. I won't guess — try rephrasing, "
          "or ask a knowledge-base admin to add it.",
}


@dataclass(frozen=True)
class Routing:
    """The offline router's outcome: the answer (None: nothing answers), the term understanding
    used, and the nearest miss a route reported (shown apart: "closest passages, not an answer")."""

    answer: RouteAnswer | None
    terms: TermUnderstanding
    miss: RouteAnswer | None = None


def route_all(question: str, kb: "KnowledgeBase", principal: Principal,
              terms: TermUnderstanding | None = None) -> Routing:
    """First route that answers, else the near miss a route reported. ``terms``: the
    question's term understanding when the caller has it already."""
    terms = terms if terms is not None else kb.understand(question)
    tools = set(kb.settings.agent.tools)
    miss = None
    for tool, bind in ROUTES:
        if tool not in tools:
            continue
        try:
            answer = bind(kb)(question, principal, terms)
        except KBError as exc:   # one unusable store must not silence the others
            log.warning("offline route for %s unavailable: %s", tool, exc)
            continue
        if answer is not None and answer.found:
            return Routing(answer, terms)
        miss = miss or answer
    return Routing(None, terms, miss)


def route(question: str, kb: "KnowledgeBase", principal: Principal) -> tuple[RouteAnswer | None, TermUnderstanding]:
    """First route that answers (None: nothing does), plus the term understanding used."""
    routing = route_all(question, kb, principal)
    return routing.answer, routing.terms
