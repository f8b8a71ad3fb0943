"""The glossary's part of answering: the ``glossary_lookup`` result (shared by the tool and
the offline router) and the offline term route, which answers questions about a term itself
("AM是什么意思？") and leaves questions that merely mention one to facts and documents."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from kb_agent.access import Principal
from kb_agent.glossary.model import GlossaryEntry
from kb_agent.glossary.terms import TermUnderstanding
from kb_agent.i18n import language_of
from kb_agent.route_answer import RouteAnswer
from kb_agent.results import Citation, ToolOutput

if TYPE_CHECKING:
    from kb_agent.glossary.index import Glossary, LookupResult


# Words that make a question about a term itself: "AM是什么意思", "what does AM stand for".
_TERM_CUES = re.compile(
    r"是什么|是啥|什么意思|啥意思|含义|意思|全称|缩写|缩略语|简称|代表|指的是|是指|解释一下|"
    r"\bwhat\s+(is|are|does)\b|\bstand(s)?\s+for\b|\bmean(ing|s)?\b|\bfull\s+name\b|\babbreviation\b|"
    r"\bacronym\b|\bdefine\b|\bdefinition\b",
    re.IGNORECASE)
# Words that make it about something else than the term ("AM负责哪些事情", "ESS培训每月几次").
_NON_TERM_CUES = re.compile(r"负责|流程|几次|多少|哪些|怎么|如何|谁|何时|什么时候|哪里|步骤|规定|"
                            r"\bhow\b|\bwho\b|\bwhen\b|\bwhere\b|\bwhich\b|\bresponsib", re.IGNORECASE)


def format_entry(e: GlossaryEntry, lang: str) -> str:
    names = " / ".join(x for x in (e.english, e.chinese) if x)
    scope = (f"（{e.scope}）" if lang == "zh" else f" ({e.scope})") if e.scope else ""
    line = f"**{e.term}** = {names}{scope}"
    return line + (f"\n  {e.description}" if e.description else "")


def glossary_output(query: str, lookup: "Callable[[str], LookupResult]") -> ToolOutput:
    """The glossary_lookup result shared by the tool and the term route."""
    result = lookup(query)
    if not result.found:
        text = f"'{query}' is not in the company glossary."
        if result.suggestions:
            text += " Similar terms: " + ", ".join(result.suggestions) + "."
        return ToolOutput(text, payload=result.to_dict(), found=False)
    lines = []
    if result.ambiguous:
        lines.append(f"'{query}' has {len(result.matches)} meanings in the glossary (by scope):")
    for e in result.matches:
        lines.append(f"- {e.one_line()}" + (f" — {e.description}" if e.description else "")
                     + f" (source: glossary/{e.source_file}:{e.line})")
    citations = [Citation(source=f"glossary/{e.source_file}", locator={"kind": "glossary", "line": e.line,
                                                                        "label": f"line {e.line}"},
                          text=e.one_line(), kind="glossary") for e in result.matches]
    return ToolOutput("\n".join(lines), citations=citations, payload=result.to_dict())


_FILLER = re.compile(r"\b(a|an|the|our|we|is|are|of|at|in|on|for|to|do|does|this|that|it|company|company's)\b|"
                     r"请问|一下|什么|这个|那个|我们|公司|的|呢|吗|啊|是|个|[\s\W_]+", re.IGNORECASE)


def _little_else(question: str, matches) -> bool:
    """True when the question is about the term itself: once the term, the framing ("是什么",
    "what does … stand for") and filler words are removed, at most a word is left
    ("AIP是什么活动" -> "活动"), not a subject of its own ("our booth number at AIP 2026")."""
    rest = question
    for m in sorted(matches, key=lambda m: m.start, reverse=True):
        rest = rest[:m.start] + " " + rest[m.end:]
    rest = _FILLER.sub(" ", _TERM_CUES.sub(" ", rest))
    words = re.findall(r"[A-Za-z0-9]+", rest)
    cjk = re.findall(r"[\u3400-\u9fff]", rest)
    return len(words) + (len(cjk) + 1) // 2 <= 1 if not cjk else (len(cjk) <= 3 and not words)


def term_route(question: str, principal: Principal, terms: TermUnderstanding, *,
               glossary: "Glossary") -> RouteAnswer | None:
    result = glossary.lookup(question)
    if not result.found:
        return None
    whole_question_is_term = result.how in ("exact", "reverse")
    asks_about_term = (bool(_TERM_CUES.search(question)) and not _NON_TERM_CUES.search(question)
                       and _little_else(question, result.found_in_question))
    if not (whole_question_is_term or (result.how == "in_question" and asks_about_term)):
        return None
    lang = language_of(question)
    distinct_terms = {e.term for e in result.matches}
    term_arg = next(iter(distinct_terms)) if len(distinct_terms) == 1 else question
    output = glossary_output(term_arg, glossary.lookup)
    if not output.found:
        return None
    body = "\n".join(format_entry(e, lang) for e in result.matches)
    return RouteAnswer("term", body, "glossary_lookup", {"term": term_arg}, output)
