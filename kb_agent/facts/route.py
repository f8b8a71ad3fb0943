"""The offline router's fact route: a curated fact above the confidence threshold, or the
table rows that match the question well enough, with their cell citations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kb_agent.access import Principal
from kb_agent.facts.answer import fact_output, offline_body
from kb_agent.glossary.terms import TermUnderstanding

from kb_agent.route_answer import RouteAnswer

if TYPE_CHECKING:
    from kb_agent.kb import KnowledgeBase


def fact_route(question: str, kb: "KnowledgeBase", principal: Principal,
               terms: TermUnderstanding) -> "RouteAnswer | None":

    result = kb.query_facts(question, principal)
    if result.status not in ("fact", "conflict", "rows"):
        return None
    return RouteAnswer("fact", offline_body(result), "fact_query", {"question": question}, fact_output(result))
