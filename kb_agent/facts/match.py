"""Hybrid matching of a question to fact phrasings: keyword (bm25s ranking, idf-weighted
overlap as a bounded score) plus, when an embedder is available, cosine similarity.

For keywords, glossary terms are replaced by one concept token on both sides ("ESS",
"员工自助服务" and "Employee Self-Service" are the same word, counted once); for embeddings
the texts are glossary-expanded ("ESS" + its full names).

Confidence = max(keyword, mean(keyword, semantic)) when the keyword score is at least
``embed_min_keyword``, else the keyword score: embeddings can lift a paraphrase, never drag
down an exact keyword match, and never carry a match alone -- short questions on the same
subject ("where is ESS training" / "who teaches ESS training") embed almost identically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from kb_agent.facts.model import Fact
from kb_agent.facts.text import idf_table, overlap_f1, tokens

log = logging.getLogger(__name__)

Expand = Callable[[str], str]


@dataclass(frozen=True)
class FactHit:
    fact: Fact
    phrasing: str
    confidence: float
    keyword: float
    semantic: float | None = None

    def to_dict(self) -> dict:
        return {"id": self.fact.id, "phrasing": self.phrasing, "confidence": round(self.confidence, 4),
                "keyword": round(self.keyword, 4),
                "semantic": None if self.semantic is None else round(self.semantic, 4)}


class FactIndex:
    """An immutable index over one snapshot of facts (rebuilt when the facts change)."""

    def __init__(self, facts: Sequence[Fact], expand: Expand = lambda t: t, canonical: Expand = lambda t: t,
                 user_words: Iterable[str] = (),
                 embedder=None, vector_cache: dict | None = None, embed_low: float = 0.86,
                 embed_high: float = 0.95, embed_min_keyword: float = 0.5):
        self.facts = tuple(facts)
        self.expand, self.canonical = expand, canonical
        self.user_words = tuple(user_words)
        self.embed_low, self.embed_high, self.embed_min_keyword = embed_low, embed_high, embed_min_keyword
        self._rows: list[tuple[int, str]] = [(i, q) for i, f in enumerate(self.facts) for q in f.questions]
        self._expanded = [expand(q) for _, q in self._rows]
        self._tokens = [tokens(canonical(q), self.user_words) for _, q in self._rows]
        self._sets = [set(t) for t in self._tokens]
        self._idf = idf_table(self._sets)
        self._unknown_idf = max(self._idf.values(), default=1.0)
        self._bm25 = None
        if self._rows:
            import bm25s

            logging.getLogger("bm25s").setLevel(logging.WARNING)
            self._bm25 = bm25s.BM25()
            self._bm25.index([t or ["\u2205"] for t in self._tokens], show_progress=False)
        self.embedder = embedder
        self._vectors: np.ndarray | None = None
        if embedder is not None and self._rows:
            self._vectors = self._embed_all(vector_cache if vector_cache is not None else {})

    def _embed_all(self, cache: dict) -> np.ndarray | None:
        model = getattr(self.embedder, "model_id", type(self.embedder).__name__)
        missing = [t for t in dict.fromkeys(self._expanded) if (model, t) not in cache]
        try:
            if missing:
                for text, vec in zip(missing, self.embedder.embed_documents(missing)):
                    cache[(model, text)] = np.asarray(vec, dtype=np.float32)
        except Exception as exc:  # a failing embedder degrades to keyword matching
            log.warning("facts: embedding phrasings failed (%s); keyword matching only", exc)
            self.embedder = None
            return None
        return np.stack([cache[(model, t)] for t in self._expanded])

    def search(self, question: str, allowed: Callable[[Fact], bool] = lambda f: True,
               k: int = 5, *, expanded: str | None = None, canonical: str | None = None) -> list[FactHit]:
        """Best phrasing per fact, highest confidence first; facts not ``allowed`` never score.
        ``expanded`` / ``canonical``: the question's glossary expansion and concept-token form
        when the caller has them already."""
        if not self._rows or not question.strip():
            return []
        expanded = expanded if expanded is not None else self.expand(question)
        canonical = canonical if canonical is not None else self.canonical(question)
        q_tokens = tokens(canonical, self.user_words)
        q_set = set(q_tokens)
        keyword = np.array([overlap_f1(q_set, s, self._idf, self._unknown_idf) for s in self._sets])
        if self._bm25 is not None and q_tokens:
            # bm25s ranks: a phrasing with real BM25 evidence keeps its score, one without gets none.
            bm = self._bm25.get_scores(q_tokens)
            keyword = np.where(bm > 0, keyword, 0.0)
        semantic = None
        if self._vectors is not None:
            try:
                qv = np.asarray(self.embedder.embed_query(expanded), dtype=np.float32)
                cos = self._vectors @ qv
                semantic = np.clip((cos - self.embed_low) / max(self.embed_high - self.embed_low, 1e-6), 0, 1)
            except Exception as exc:
                log.warning("facts: embedding the question failed (%s); keyword matching only", exc)
        conf = keyword
        if semantic is not None:
            lift = np.maximum(keyword, (keyword + semantic) / 2)
            conf = np.where(keyword >= self.embed_min_keyword, lift, keyword)
        best: dict[int, FactHit] = {}
        for row in np.argsort(-conf, kind="stable"):
            fi, phrasing = self._rows[row]
            if fi in best or not allowed(self.facts[fi]):
                continue
            best[fi] = FactHit(self.facts[fi], phrasing, float(conf[row]), float(keyword[row]),
                               None if semantic is None else float(semantic[row]))
            if len(best) >= k:
                break
        return sorted(best.values(), key=lambda h: -h.confidence)
