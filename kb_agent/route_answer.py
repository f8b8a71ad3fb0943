"""What an offline route returns; shared by the router and the routes of each store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from kb_agent.access import Principal
from kb_agent.glossary.terms import TermUnderstanding
from kb_agent.results import ToolOutput


@dataclass(frozen=True)
class RouteAnswer:
    route: str                      # term | fact | doc
    text: str                       # the answer body shown to the user
    tool: str                       # the tool this route stands for
    arguments: dict = field(default_factory=dict)
    output: ToolOutput = field(default_factory=lambda: ToolOutput(""))
    found: bool = True              # False: a near miss, shown apart from the answer ("not an answer")


#: An offline route bound to the store it reads: (question, principal, terms) -> answer or None.
RouteFn = Callable[[str, Principal, TermUnderstanding], "RouteAnswer | None"]
