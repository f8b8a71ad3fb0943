"""Keyword matching of questions to fact phrasings and table rows.

Tokens come from the project's one tokenizer (kb_agent/text.py) with its matching stop list:
only empty function words are dropped; question words (几次, 哪里, when, where) are kept
because they tell facts about the same subject apart. Glossary terms are user words, so
"ESS培训" is not split into letters, and a term's concept token makes an acronym and its full
name one word.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable

from kb_agent.text import MATCH_STOP_WORDS, tokenizer_for


def concept_token(term: str) -> str:
    """One keyword token for a glossary term however it is written (AIP, 全印展, All in Print)."""
    import hashlib

    return "zzterm" + hashlib.blake2s(term.casefold().encode("utf-8"), digest_size=5).hexdigest()


def canonical_text(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end, term) span replaced by the term's concept token, so an
    acronym and its full name count as the same single word for keyword matching."""
    out, pos = [], 0
    for start, end, term in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(f" {concept_token(term)} ")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def tokens(text: str, user_words: Iterable[str] = ()) -> list[str]:
    """Keyword tokens of ``text`` (with repeats): words and Chinese bigrams."""
    return tokenizer_for(user_words).tokenize(text, MATCH_STOP_WORDS)


def idf_table(docs: Iterable[Iterable[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency over token sets."""
    df: Counter[str] = Counter()
    n = 0
    for doc in docs:
        n += 1
        df.update(set(doc))
    return {t: math.log(1 + (n + 1) / (c + 0.5)) for t, c in df.items()}


def overlap_f1(query: set[str], doc: set[str], idf: dict[str, float], unknown_idf: float) -> float:
    """idf-weighted F1 of two token sets: 1.0 = same content words, 0 = nothing shared."""
    if not query or not doc:
        return 0.0
    w = lambda t: idf.get(t, unknown_idf)  # noqa: E731
    shared = sum(w(t) for t in query & doc)
    if shared <= 0:
        return 0.0
    recall = shared / sum(w(t) for t in query)
    precision = shared / sum(w(t) for t in doc)
    return 2 * precision * recall / (precision + recall)


def words(text: str, user_words: Iterable[str] = ()) -> list[str]:
    """Content words only (no bigrams), for coverage checks."""
    return tokenizer_for(user_words).words(text, MATCH_STOP_WORDS)
