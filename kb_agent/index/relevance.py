"""Does any retrieved passage answer the question? A decision that does not hang on one corpus.

An absolute cosine cannot say: e5 puts unrelated text at 0.75–0.88, and where on that scale a
relevant passage lands depends on the corpus. Two signals that travel better, combined by
:func:`decide`:

- **coverage**: the share of the question's content terms the passage mentions, each term
  weighted by its IDF in the corpus (a word every chunk has counts for little; a term no chunk
  has counts for a lot, so a question about 差旅补贴 in a corpus without that word is refused)
  times how specific the word is in the language at large (jieba's dictionary frequencies:
  负责 and 事情 are common words, 调休 is not).
  Stop words and question words (如何 / 什么 / how / what …) are not content; a company term
  counts as mentioned when any of its glossary names is there (AM: 客户经理, Account Manager).
  Chinese terms are found as substrings (segmentation of question and passage may differ),
  English ones as whole words with the same Snowball stem (approves ~ approval).
- **dense standing** (z): how far the passage's cosine stands above what *this* query scores
  against the corpus in general — the mean and spread over a fixed random sample of chunks
  (:class:`Background`) — instead of the cosine itself.

A passage is relevant when its coverage is high, or when it is partial and the dense score
stands out, or when the dense score alone stands out very clearly (a paraphrase sharing no
words). The three cut-offs are :class:`RelevancePolicy` (``retrieval.relevance`` settings);
``kb-agent eval --calibrate`` measures them on the admin's own questions.

Pure: the Retriever gathers the inputs (kb_agent/index/retriever.py); no I/O here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

import numpy as np

from kb_agent.text import EVERYDAY, FUNCTION_WORDS, QUESTION_WORDS, STOP_WORDS, match_stem, normalise

#: The least spread a background is taken to have: a corpus of near-copies (MAD ≈ 0) must not
#: make every small cosine difference look like many standard deviations.
MIN_SPREAD = 0.02

#: The share of a question's term weight that must be writable in the other language before a
#: passage in that language is judged on those terms (:func:`comparable_coverage`).
MIN_COMPARABLE = 0.3

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_ASCII_WORD = re.compile(r"[0-9a-z]+")


@dataclass(frozen=True)
class RelevancePolicy:
    """The cut-offs of :func:`decide` (defaults: docs/retrieval.md, measured on the development
    corpus of bench/devcorpus, checked on the sample and the held-out corpus)."""

    min_coverage: float = 0.5           # relevant on coverage alone
    partial_coverage: float = 0.3       # relevant with this coverage when the dense score stands out …
    partial_z: float = 2.0              # … by this many spreads above the query's background
    dense_alone_z: float = 4.0          # relevant on the dense score alone (no shared words needed)


@dataclass(frozen=True)
class Term:
    """One content term of the question: how it is written (normalised), every form that counts
    as mentioning it (glossary names included), and its weight (IDF)."""

    text: str
    forms: tuple[str, ...]
    weight: float = 1.0
    prior: float = 1.0    # how specific the word is in the language at large (1: a rare word)
    pieces: tuple[str, ...] = ()   # a Chinese compound's words: each mentioned one earns a share
    translations: tuple[str, ...] = ()   # the word in the other language, for searching (bilingual.py)


@dataclass(frozen=True)
class Passage:
    """What the decision needs of one retrieved chunk."""

    rowid: int
    text: str                        # as stored; normalised here
    cosine: float | None = None      # None: no vector (keyword-only fallback)
    chinese: bool | None = None      # the passage's language (None: unknown)

    @classmethod
    def of(cls, rowid: int, chunk, cosine: float | None = None) -> "Passage":
        """A chunk with its title and heading path: a heading says what its text is about."""
        text = passage_text(chunk)
        return cls(rowid, text, cosine, is_chinese(text))


def is_chinese(text: str) -> bool:
    """Mostly Chinese: Han characters make up at least a fifth of the letters."""
    han = len(_HAN.findall(text))
    letters = sum(1 for c in text if c.isalpha())
    return letters > 0 and han >= 0.2 * letters


def passage_text(chunk) -> str:
    """What a chunk says, for the decision: its title and heading path, then its text."""
    heads = " ".join(getattr(chunk.locator, "heading_path", ()) or ())
    return " ".join(x for x in (chunk.title or "", heads, chunk.text) if x)


@dataclass(frozen=True)
class Judged:
    rowid: int
    coverage: float                  # as measured (a passage in the other language: what it shares)
    z: float | None
    relevant: bool
    mentioned: tuple[str, ...]
    across: bool = False             # in the other language than the question

    @property
    def features(self) -> tuple[float, float | None, bool]:
        """What calibration needs to re-decide it under other cut-offs (calibration.py)."""
        return self.coverage, self.z, self.across


@dataclass(frozen=True)
class Decision:
    """The verdict on a retrieval: ``found``, a short reason people and the model can read, the
    per-passage judgements, and what the question's content terms were."""

    found: bool
    reason: str
    terms: tuple[Term, ...] = ()
    judged: tuple[Judged, ...] = field(default=())
    background: tuple[float, float] | None = None     # (median, spread) cosine of the query vs the corpus

    def to_dict(self) -> dict:
        best = max(self.judged, key=lambda j: (j.relevant, j.coverage, j.z or 0.0), default=None)
        return {"found": self.found, "reason": self.reason,
                "terms": [t.text for t in self.terms],
                "best": None if best is None else {"coverage": round(best.coverage, 3),
                                                   "z": None if best.z is None else round(best.z, 2)}}


# -- the corpus's background ------------------------------------------------------------------
class Background:
    """A fixed sample of the corpus (texts and vectors): document frequencies for the IDF of a
    question's terms, and the cosine distribution a query has against chunks in general."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray | None = None):
        self.texts = [normalise(t) for t in texts]
        self._words = [set(map(match_stem, _ASCII_WORD.findall(t))) for t in self.texts]
        self.vectors = None if vectors is None or not len(vectors) else np.asarray(vectors, dtype=np.float32)
        self._df: dict[tuple[str, ...], int] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def document_frequency(self, term: Term) -> int:
        """Sampled chunks that mention the term (counted once per term: the sample is fixed)."""
        df = self._df.get(term.forms)
        if df is None:
            if len(self._df) >= 50_000:      # a long-running server's distinct question terms
                self._df.clear()
            df = self._df[term.forms] = sum(1 for text, words in zip(self.texts, self._words)
                                            if _mentions(term.forms, text, words))
        return df

    def idf(self, term: Term) -> float:
        n = len(self.texts)
        df = self.document_frequency(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def cosine_stats(self, query_vector: np.ndarray | None) -> tuple[float, float] | None:
        """(centre, spread) of the query's cosine against the sample — median and scaled MAD —
        or None without vectors."""
        if query_vector is None or self.vectors is None or len(self.vectors) < 8:
            return None
        scores = self.vectors @ np.asarray(query_vector, dtype=np.float32)
        # Robust: median and MAD, so that the few chunks that do answer the query (all of a
        # small corpus's relevant ones are in its sample) do not widen the background.
        median = float(np.median(scores))
        mad = float(np.median(np.abs(scores - median))) * 1.4826
        return median, max(mad, MIN_SPREAD)


# -- the question's terms ---------------------------------------------------------------------
def content_words(words: Iterable[str]) -> list[str]:
    """Words of a question (the tokenizer's jieba words) that carry its topic: no stop words,
    question words or function words, no single Chinese characters or single letters, each once."""
    out: list[str] = []
    for w in words:
        w = normalise(w).strip()
        if not w or w in STOP_WORDS or w in QUESTION_WORDS or w in FUNCTION_WORDS or not any(map(str.isalnum, w)):
            continue
        if len(w) == 1 and not w.isdigit():
            continue
        if w not in out:
            out.append(w)
    return out


def question_terms(words: Sequence[str], glossary_names: Sequence[Sequence[str]] = (),
                   prior: Callable[[str], float] | None = None,
                   pieces: Callable[[str], Sequence[str]] | None = None,
                   translate: Callable[[str], Sequence[str]] | None = None) -> list[Term]:
    """The question's content terms, unweighted. ``glossary_names``: for each company term found
    in the question, all its names (the term as written first); a question word that is one of
    them — or part of one — is that term, mentioned by any of its names. ``prior``: how specific
    a word is in the language at large (:meth:`Tokenizer.specificity`), so that 负责 or 事情
    weigh less than 差旅 even where the corpus is too small for its IDF to tell. ``translate``: the
    word in the other language, for words more specific than everyday ones (a company term's
    glossary names are bilingual already)."""
    groups = [tuple(dict.fromkeys(normalise(n) for n in names if n and n.strip())) for names in glossary_names]
    terms: list[Term] = []
    covered: set[str] = set()
    for group in groups:
        if group and group[0] not in covered:
            terms.append(Term(group[0], group))
            covered.update(group)
    for w in content_words(words):
        if w in covered or any(w in name for g in groups for name in g):
            continue      # the term itself, or a piece of it (jieba split "account manager")
        p = prior(w) if prior else 1.0
        # An everyday word's translations (公司 → company) find passages by chance, not by topic.
        translations = tuple(normalise(t) for t in translate(w)) if translate and p > EVERYDAY else ()
        terms.append(Term(w, (w,), prior=p, pieces=tuple(pieces(w)) if pieces else (), translations=translations))
        covered.add(w)
    return terms


def weighted(terms: Sequence[Term], background: Background) -> list[Term]:
    if not len(background):
        return list(terms)
    return [replace(t, weight=t.prior * background.idf(t)) for t in terms]


def mentioned_in(terms: Sequence[Term], background: Background, min_prior: float = 0.5) -> bool:
    """Does the corpus sample mention any of the question's specific words (not everyday ones)?"""
    return any(background.document_frequency(t) > 0 for t in terms if t.prior >= min_prior)


# -- the decision -----------------------------------------------------------------------------
def _mentions(forms: Sequence[str], text: str, words: set[str]) -> bool:
    for form in forms:
        if _HAN.search(form) or " " in form or not form.isalnum():
            if form in text:
                return True
        elif match_stem(form) in words:
            return True
    return False


def coverage(terms: Sequence[Term], text: str) -> tuple[float, tuple[str, ...]]:
    """(IDF-weighted share of ``terms`` that ``text`` mentions, the terms it mentions)."""
    if not terms:
        return 0.0, ()
    text = normalise(text)
    words = set(map(match_stem, _ASCII_WORD.findall(text)))
    mentioned = tuple(t.text for t in terms if _mentions(t.forms, text, words))
    total = sum(t.weight for t in terms)
    got = sum(t.weight * _share(t, text, words, mentioned) for t in terms)
    return (got / total if total > 0 else 0.0), mentioned


def _share(term: Term, text: str, words: set[str], mentioned: Sequence[str]) -> float:
    """1 for a mentioned term; for a compound that is not, the share of its pieces that are."""
    if term.text in mentioned:
        return 1.0
    if term.pieces:
        return sum(1 for p in term.pieces if p in text) / len(term.pieces)
    return 0.0


def judge(passage: Passage, terms: Sequence[Term], stats: tuple[float, float] | None,
          policy: RelevancePolicy, question_chinese: bool | None = None) -> Judged:
    cov, mentioned = coverage(terms, passage.text)
    across = question_chinese is not None and passage.chinese is not None and passage.chinese != question_chinese
    if across:
        cov = max(cov, comparable_coverage(terms, passage.text, passage.chinese, mentioned))
    z = None
    if stats is not None and passage.cosine is not None:
        z = (passage.cosine - stats[0]) / stats[1]
    return Judged(passage.rowid, cov, z, passes(cov, z, across, policy), mentioned, across)


def comparable_coverage(terms: Sequence[Term], text: str, chinese: bool, mentioned: Sequence[str]) -> float:
    """Coverage of a passage in the other language than the question, over the terms it could
    mention at all: a Chinese word cannot be in an English passage, but a name written in Latin
    letters (inotify, SIGKILL, a company term's English name) can be in either. Only when those
    terms carry :data:`MIN_COMPARABLE` of the question's weight — one everyday English word
    ("Linux") in a Chinese question says little about an English passage. 0 otherwise."""
    def writable(term: Term) -> bool:
        return term.text in mentioned or any(bool(_HAN.search(f)) == chinese for f in term.forms)

    comparable = [t for t in terms if writable(t)]
    total = sum(t.weight for t in terms)
    if not comparable or total <= 0 or sum(t.weight for t in comparable) < MIN_COMPARABLE * total:
        return 0.0
    return coverage(comparable, text)[0]


def passes(cov: float, z: float | None, across: bool, policy: RelevancePolicy) -> bool:
    """The rule itself. Words can hardly be compared across languages: a passage in the other
    language counts as partly covering (or as :func:`comparable_coverage` says), so its dense
    score decides (``partial_z``)."""
    if across:
        cov = max(cov, policy.partial_coverage)
    return (cov >= policy.min_coverage
            or (z is not None and cov >= policy.partial_coverage and z >= policy.partial_z)
            or (z is not None and z >= policy.dense_alone_z))


def decide(passages: Sequence[Passage], terms: Sequence[Term], stats: tuple[float, float] | None,
           policy: RelevancePolicy, lang: str = "en", question_chinese: bool | None = None) -> Decision:
    """Found when some passage is relevant (:func:`judge`); the reason names what is missing.
    ``question_chinese``: the question's language, where passages in the other one are judged
    by their dense score."""
    judged = tuple(judge(p, terms, stats, policy, question_chinese) for p in passages)
    found = any(j.relevant for j in judged)
    return Decision(found, _reason(found, judged, terms, lang), tuple(terms), judged, stats)


def _reason(found: bool, judged: Sequence[Judged], terms: Sequence[Term], lang: str) -> str:
    zh = lang == "zh"
    if not judged:
        return "没有检索到任何段落" if zh else "no passage was retrieved"
    if found:
        best = max((j for j in judged if j.relevant), key=lambda j: j.coverage)
        said = "、".join(best.mentioned) if zh else ", ".join(best.mentioned)
        if said:
            return f"段落提到了{said}" if zh else f"a passage mentions {said}"
        return "段落与问题语义高度相近" if zh else "a passage is very close in meaning"
    mentioned_anywhere = {m for j in judged for m in j.mentioned}
    missing = [t for t in sorted(terms, key=lambda t: -t.weight) if t.text not in mentioned_anywhere]
    if missing:
        names = [t.text for t in missing[:3]]
        return (f"没有段落提到{'、'.join(names)}" if zh else f"no passage mentions {', '.join(names)}")
    return ("检索到的段落只是零散地提到问题中的词语" if zh
            else "the passages share only scattered words with the question")
