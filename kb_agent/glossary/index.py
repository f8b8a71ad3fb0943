"""An immutable glossary snapshot with lookup and term finding.

Lookup of a term an employee types (``lookup``): exact, case-insensitive and
punctuation-tolerant on terms and aliases, reverse by English full name or Chinese meaning,
then terms found inside a whole question, then fuzzy suggestions. Term finding
(``find_terms``) locates every known term inside a question; query expansion builds on it
(terms.py).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Literal

from kb_agent.glossary.model import GlossaryEntry
from kb_agent.text import normalise_key

MatchKind = Literal["term", "alias", "english", "chinese"]

# Latin tokens such as AM, A.M., Act., R&D, e-Sign, GWS2.
_LATIN_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[.&/\-][A-Za-z0-9]+)*\.?")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Lower-case English words that are also company acronyms ("am", "it"): only taken as the
# acronym when they are the only Latin word in the question ("am是什么意思").
_COMMON_WORDS = frozenset(
    "a am an as at be by do go he if in is it me my no of oh ok on or so to up us we".split())
# Question framing removed before reverse lookup: "Actual Achieved Price的缩略语是什么？".
_FRAMING = re.compile(
    r"(的)?(英文)?(全称|缩略语|缩写|简称|意思|含义|解释|中文)|是什么|是啥|什么是|代表什么\S*|指什么|"
    r"请问|查一下|\bwhat\s+(is|does|are)\b|\bstand(s)?\s+for\b|\bmeans?\b|\bthe\b|\babbreviation\b|"
    r"\bacronym\b|\bof\b|\bfor\b|[?？。!！]",
    re.IGNORECASE)


@dataclass(frozen=True)
class TermMatch:
    """A known term found in a text: the span as written and every meaning it may have."""

    text: str
    start: int
    end: int
    kind: MatchKind
    entries: tuple[GlossaryEntry, ...]


@dataclass(frozen=True)
class LookupResult:
    query: str
    matches: tuple[GlossaryEntry, ...] = ()
    how: str = "none"  # exact | reverse | in_question | none
    suggestions: tuple[str, ...] = ()
    found_in_question: tuple[TermMatch, ...] = field(default=(), repr=False)

    @property
    def found(self) -> bool:
        return bool(self.matches)

    @property
    def ambiguous(self) -> bool:
        return len({(e.english, e.chinese) for e in self.matches}) > 1

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "matches": [e.to_dict() for e in self.matches],
            "how": self.how,
            "suggestions": list(self.suggestions),
        }


def _dedupe(entries: Iterable[GlossaryEntry]) -> tuple[GlossaryEntry, ...]:
    seen, out = set(), []
    for e in entries:
        key = (e.term, e.english, e.chinese, e.scope)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return tuple(out)


class Glossary:
    """Read-only view over a list of entries; build once per glossary version."""

    def __init__(self, entries: Iterable[GlossaryEntry], fuzzy_cutoff: float = 0.75):
        self.entries: tuple[GlossaryEntry, ...] = tuple(entries)
        self.fuzzy_cutoff = fuzzy_cutoff
        self._by_key: dict[str, list[GlossaryEntry]] = defaultdict(list)   # terms and aliases
        self._alias_keys: set[str] = set()
        self._by_english: dict[str, list[GlossaryEntry]] = defaultdict(list)
        self._by_chinese: dict[str, list[GlossaryEntry]] = defaultdict(list)
        self._display: dict[str, str] = {}
        for e in self.entries:
            self._add(self._by_key, e.term, e)
            for alias in e.aliases:
                self._add(self._by_key, alias, e)
                self._alias_keys.add(normalise_key(alias))
            if e.english:
                self._add(self._by_english, e.english, e)
            for name in e.chinese_names():
                self._add(self._by_chinese, name, e)
        # Multi-word names are found in questions by regex; longest first wins overlaps. The word
        # boundaries stay outside the alternation: the same matches, but compiled about 10x and
        # matched about 80x faster for 26k names than with one boundary pair per name.
        phrases = {e.english for e in self.entries if len(e.english) >= 4}
        phrases |= {a for e in self.entries for a in (e.term, *e.aliases) if " " in a}
        self._phrase_re = (re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(
            re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + r")(?![A-Za-z0-9])",
            re.IGNORECASE) if phrases else None)
        self._chinese_names = sorted(self._by_chinese, key=len, reverse=True)

    def _add(self, table: dict[str, list[GlossaryEntry]], text: str, entry: GlossaryEntry) -> None:
        key = normalise_key(text)
        if key:
            table[key].append(entry)
            self._display.setdefault(key, text)

    def __len__(self) -> int:
        return len(self.entries)

    def terms(self) -> list[str]:
        """Every term and alias as written (for tokenisers: jieba user words)."""
        return sorted({t for e in self.entries for t in (e.term, *e.aliases)})

    # -- lookup ---------------------------------------------------------------------------
    def lookup(self, query: str) -> LookupResult:
        query = query.strip()
        key = normalise_key(query)
        if not key:
            return LookupResult(query)
        if key in self._by_key:
            return LookupResult(query, _dedupe(self._by_key[key]), "exact")
        reverse = self._by_english.get(key, []) + self._by_chinese.get(key, [])
        if reverse:
            return LookupResult(query, _dedupe(reverse), "reverse")
        core_text = _FRAMING.sub(" ", query).strip()
        core = normalise_key(core_text)
        common_word = core_text.islower() and core in _COMMON_WORDS
        if core and core != key and not common_word:
            hit = self._by_key.get(core) or (self._by_english.get(core, []) + self._by_chinese.get(core, []))
            if hit:
                return LookupResult(query, _dedupe(hit), "exact" if core in self._by_key else "reverse")
        found = self.find_terms(query)
        if found:
            return LookupResult(query, _dedupe(e for m in found for e in m.entries), "in_question",
                                found_in_question=tuple(found))
        return LookupResult(query, suggestions=tuple(self.suggest(core or key)))

    def suggest(self, text: str, limit: int = 5) -> list[str]:
        """Near misses by edit similarity on terms, aliases and English names."""
        key = normalise_key(text)
        if not key:
            return []
        pool = list(self._by_key) + list(self._by_english)
        close = difflib.get_close_matches(key, pool, n=limit * 2, cutoff=self.fuzzy_cutoff)
        out: list[str] = []
        for k in close:
            entries = self._by_key.get(k) or self._by_english.get(k) or []
            for e in entries:
                if e.term not in out:
                    out.append(e.term)
        return out[:limit]

    # -- term finding ---------------------------------------------------------------------
    def find_terms(self, text: str) -> list[TermMatch]:
        """Every known term in ``text``, left to right, without overlaps (longest wins)."""
        candidates: list[TermMatch] = []
        latin_tokens = list(_LATIN_TOKEN.finditer(text))
        only_latin_word = len(latin_tokens) == 1
        for m in latin_tokens:
            token = m.group(0)
            for variant in (token, token.rstrip(".")):
                key = normalise_key(variant)
                entries = self._by_key.get(key)
                if not entries:
                    continue
                if variant.islower() and key in _COMMON_WORDS and not only_latin_word:
                    break
                kind: MatchKind = "alias" if key in self._alias_keys and all(
                    normalise_key(e.term) != key for e in entries) else "term"
                candidates.append(TermMatch(token, m.start(), m.start() + len(token), kind, _dedupe(entries)))
                break
        if self._phrase_re is not None:
            for m in self._phrase_re.finditer(text):
                key = normalise_key(m.group(0))
                entries = self._by_english.get(key) or self._by_key.get(key)
                if entries:
                    kind = "english" if key in self._by_english else "alias"
                    candidates.append(TermMatch(m.group(0), m.start(), m.end(), kind, _dedupe(entries)))
        if _CJK.search(text):
            for name in self._chinese_names:
                start = text.find(name)
                while start != -1:
                    candidates.append(TermMatch(name, start, start + len(name), "chinese",
                                                _dedupe(self._by_chinese[name])))
                    start = text.find(name, start + len(name))
        return _without_overlaps(candidates)


def _without_overlaps(matches: list[TermMatch]) -> list[TermMatch]:
    chosen: list[TermMatch] = []
    for m in sorted(matches, key=lambda m: (-(m.end - m.start), m.start)):
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(m)
    return sorted(chosen, key=lambda m: m.start)
