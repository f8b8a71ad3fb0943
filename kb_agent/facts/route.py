"""The offline router's fact route: a curated fact above the confidence threshold; else a
calculation question about a loaded table ("各城市的座位数合计？"), answered with the same
fact_query call (table, filters, aggregate) an LLM would make; else the table rows that match
the question well enough, with their cell citations."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kb_agent.access import Principal
from kb_agent.errors import FactError
from kb_agent.facts.answer import fact_output, offline_body
from kb_agent.glossary.terms import TermUnderstanding
from kb_agent.route_answer import RouteAnswer

if TYPE_CHECKING:
    from kb_agent.facts.service import FactService

log = logging.getLogger(__name__)


def fact_route(question: str, principal: Principal, terms: TermUnderstanding, *,
               facts: "FactService") -> "RouteAnswer | None":
    result = facts.query(question, principal, terms=terms)
    if result.status in ("fact", "conflict"):  # a curated fact wins over any calculation
        return RouteAnswer("fact", offline_body(result), "fact_query", {"question": question}, fact_output(result))
    if result.status in ("no_match", "rows"):
        answer = calculation_route(question, principal, facts)
        if answer is not None:
            return answer
    if result.status != "rows":
        return None
    return RouteAnswer("fact", offline_body(result), "fact_query", {"question": question}, fact_output(result))


def calculation_route(question: str, principal: Principal, facts: "FactService") -> "RouteAnswer | None":
    """The aggregate the question asks for, computed through fact_query's own arguments."""
    calc = facts.calculation(question, principal)
    if calc is None:
        return None
    args = calc.arguments(question)
    try:
        result = facts.query(question, principal, table=args["table"], filters=args.get("filters"),
                             aggregate=args["aggregate"])
    except FactError as exc:  # a parse the table cannot compute: the other routes still may answer
        log.warning("offline calculation %s not computed: %s", args, exc)
        return None
    output = fact_output(result)
    return RouteAnswer("fact", offline_body(result, output), "fact_query", args, output)
