"""Keyword search with bm25s: the immutable index behind :class:`~kb_agent.index.bm25_index.BM25KeywordIndex`.

The index is immutable: :meth:`BM25Index.updated` returns a new index (re-using the cached
tokens of unchanged chunks), so readers holding the old one keep a consistent view while an
ingestion applies its changes. Filters are a mask over the BM25 scores of every document,
applied before the top-k is taken.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping, Sequence

import numpy as np

from kb_agent.index.filters import IdFilter
from kb_agent.text import Tokenizer

log = logging.getLogger(__name__)


class BM25Index:
    def __init__(self, tokenizer: Tokenizer, tokens: Mapping[int, list[str]], *, k1: float = 1.5, b: float = 0.75):
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
        self.tokenizer = tokenizer
        self.k1, self.b = k1, b
        self._tokens = dict(tokens)
        self._ids = np.fromiter(self._tokens.keys(), dtype=np.int64, count=len(self._tokens))
        self._bm25 = None
        self._masks: dict[int, tuple] = {}
        if len(self._ids):
            self._bm25 = bm25s.BM25(k1=k1, b=b)
            # An empty document still needs a row; the "" token keeps positions aligned.
            self._bm25.index([t or [""] for t in self._tokens.values()], show_progress=False)
            self._vocab = self._bm25.vocab_dict

    @classmethod
    def build(cls, tokenizer: Tokenizer, ids: Iterable[int], texts: Iterable[str], **kw) -> "BM25Index":
        return cls(tokenizer, {int(i): tokenizer.tokenize(t) for i, t in zip(ids, texts)}, **kw)

    def updated(self, added_ids: Sequence[int], added_texts: Sequence[str], removed_ids: Iterable[int],
                tokenizer: Tokenizer | None = None) -> "BM25Index":
        """A new index with ``removed_ids`` dropped and ``added_ids`` (re)tokenised.

        With a different ``tokenizer`` (the glossary changed) every text must be re-tokenised,
        so the caller rebuilds with :meth:`build` instead.
        """
        tokens = dict(self._tokens)
        for i in removed_ids:
            tokens.pop(int(i), None)
        tok = tokenizer or self.tokenizer
        for i, text in zip(added_ids, added_texts):
            tokens[int(i)] = tok.tokenize(text)
        return BM25Index(tok, tokens, k1=self.k1, b=self.b)

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> np.ndarray:
        return np.sort(self._ids)

    def query_tokens(self, query: str) -> list[str]:
        return [t for t in self.tokenizer.tokenize(query) if self._bm25 is not None and t in self._vocab and t]

    def _mask(self, allowed: IdFilter | np.ndarray) -> np.ndarray:
        """Which documents ``allowed`` lets through, cached by the filter's identity."""
        if isinstance(allowed, np.ndarray):
            return np.isin(self._ids, allowed)
        hit = self._masks.get(id(allowed))
        if hit is not None and hit[0] is allowed:
            return hit[1]
        mask = allowed.allows(self._ids)
        if len(self._masks) >= 32:
            self._masks.clear()
        self._masks[id(allowed)] = (allowed, mask)
        return mask

    def search(self, query: str, k: int, allowed: IdFilter | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
        tokens = self.query_tokens(query)
        if not tokens or k <= 0:
            return empty
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        if allowed is not None:
            scores = np.where(self._mask(allowed), scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if not len(positive):
            return empty
        if len(positive) > k:
            positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        order = positive[np.lexsort((self._ids[positive], -scores[positive]))]
        return self._ids[order], scores[order]
