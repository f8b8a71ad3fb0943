"""What an offline route returns; shared by the router and the routes of each store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from kb_agent.access import Principal
from kb_agent.glossary.terms import TermUnderstanding
from kb_agent.results import ToolOutput

if TYPE_CHECKING:
    from kb_agent.kb import KnowledgeBase


@dataclass(frozen=True)
class RouteAnswer:
    route: str                      # term | fact | doc
    text: str                       # the answer body shown to the user
    tool: str                       # the tool this route stands for
    arguments: dict = field(default_factory=dict)
    output: ToolOutput = field(default_factory=lambda: ToolOutput(""))
    found: bool = True              # False: a near miss, shown apart from the answer ("not an answer")


RouteFn = Callable[[str, "KnowledgeBase", Principal, TermUnderstanding], "RouteAnswer | None"]
