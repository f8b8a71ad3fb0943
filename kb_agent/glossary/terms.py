"""Term understanding: find company terms in a question and expand them for retrieval.

"AM在售后流程里负责什么" -> terms [AM], expansions ["Account Manager", "客户经理"], so keyword
and vector search also look for the full names. When a term has several meanings, a meaning
whose scope is named in the question wins; otherwise every meaning is searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb_agent.glossary.index import Glossary, TermMatch
from kb_agent.glossary.model import GlossaryEntry
from kb_agent.text import normalise_key

# Acronym-like tokens (two or more capitals: ERP, GWS2, R&D) for the unknown-terms log.
_ACRONYM = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Z0-9&]{1,9}(?![A-Za-z0-9])")


@dataclass(frozen=True)
class TermUnderstanding:
    question: str
    terms: tuple[TermMatch, ...]
    chosen: tuple[tuple[TermMatch, tuple[GlossaryEntry, ...]], ...]
    expansions: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def expanded_query(self) -> str:
        """The question followed by the expansions, for keyword and dense search."""
        return " ".join((self.question, *self.expansions)) if self.expansions else self.question

    def describe(self) -> str:
        """One line for tool results: 'AM → Account Manager / 客户经理'."""
        parts = []
        for match, entries in self.chosen:
            meanings = "; ".join(" / ".join(x for x in (e.english, e.chinese) if x) for e in entries)
            parts.append(f"{match.text} → {meanings}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {
            "terms": [{"text": m.text, "meanings": [e.to_dict() for e in es]} for m, es in self.chosen],
            "expansions": list(self.expansions),
            "expanded_query": self.expanded_query,
            "unknown_terms": list(self.unknown),
        }


def _scope_words(scope: str) -> list[str]:
    return [w for w in re.split(r"[\s/,，、;；()（）]+", scope) if len(w) >= 2]


def choose_meanings(match: TermMatch, question: str) -> tuple[GlossaryEntry, ...]:
    """Meanings whose scope the question names; all meanings when none (or all) do."""
    if len(match.entries) < 2:
        return match.entries
    q = question.casefold()
    scoped = tuple(e for e in match.entries if any(w.casefold() in q for w in _scope_words(e.scope)))
    return scoped or match.entries


def understand(question: str, glossary: Glossary) -> TermUnderstanding:
    """Pure function: terms in ``question``, chosen meanings, expansions and unknown acronyms."""
    matches = glossary.find_terms(question)
    chosen = tuple((m, choose_meanings(m, question)) for m in matches)
    expansions: list[str] = []
    present = question.casefold()
    for match, entries in chosen:
        for e in entries:
            for text in (e.term, e.english, e.chinese):
                if text and text.casefold() not in present and text not in expansions:
                    expansions.append(text)
    known_spans = [(m.start, m.end) for m in matches]
    unknown = []
    for m in _ACRONYM.finditer(question):
        inside_known = any(s <= m.start() < e for s, e in known_spans)
        if not inside_known and not glossary.lookup(m.group(0)).found and m.group(0) not in unknown:
            unknown.append(m.group(0))
    return TermUnderstanding(question, tuple(matches), chosen, tuple(expansions), tuple(unknown))


def is_known(term: str, glossary: Glossary) -> bool:
    return normalise_key(term) in {normalise_key(t) for t in glossary.terms()}
