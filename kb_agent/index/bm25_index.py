"""The bm25s :class:`~kb_agent.index.backend.KeywordIndex`: the embedded default.

In memory only: it is rebuilt from the chunk store's texts on every start (``open`` says
None), which takes seconds even at 100k chunks. Each change builds a new immutable
:class:`~kb_agent.index.keyword.BM25Index` and :class:`~kb_agent.index.filters.MetaTable`
(re-using the cached tokens of unchanged chunks) while searches go on; the commit swaps them
in together. The scope is a mask over the BM25 scores, applied before the top k is taken.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from kb_agent.index.backend import Commit, IndexRow, Scope
from kb_agent.index.filters import MetaTable
from kb_agent.index.keyword import BM25Index
from kb_agent.text import Tokenizer, tokenizer_for


class BM25KeywordIndex:
    def __init__(self, settings):
        self.settings = settings            # RetrievalSettings
        self._tokenizer: Tokenizer | None = None
        self._index: tuple[BM25Index, MetaTable] | None = None

    def use_words(self, words: Sequence[str]) -> bool:
        tok = tokenizer_for(words, bigrams=self.settings.chinese_bigrams)
        if self._tokenizer is not None and tok.signature == self._tokenizer.signature:
            return False
        self._tokenizer = tok
        return self._index is not None

    def _tok(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = tokenizer_for((), bigrams=self.settings.chinese_bigrams)
        return self._tokenizer

    def open(self) -> int | None:
        return None

    def rebuild(self, rows: Sequence[IndexRow]) -> Commit:
        tok = self._tok()
        built = (BM25Index.build(tok, [r.rowid for r in rows], [r.text for r in rows]),
                 MetaTable.build((r.rowid, r.source, r.access_groups) for r in rows))

        def commit() -> None:
            self._index = built
        return commit

    def apply(self, added: Sequence[IndexRow], removed: Sequence[int]) -> Commit:
        if self._index is None:
            raise RuntimeError("BM25KeywordIndex.apply before rebuild")
        keyword, meta = self._index
        ids = [r.rowid for r in added]
        built = (keyword.updated(ids, [r.text for r in added], removed, tokenizer=self._tok()),
                 meta.updated(((r.rowid, r.source, r.access_groups) for r in added), [*removed, *ids]))

        def commit() -> None:
            self._index = built
        return commit

    def search(self, query: str, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        if self._index is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        keyword, meta = self._index          # one read: the index and its table belong together
        return keyword.search(query, k, meta.allowed(scope.principal, scope.filters))

    def checkpoint(self, generation: int) -> None:
        """Nothing to persist: the index is rebuilt from the chunk store on start."""

    def __len__(self) -> int:
        return len(self._index[0]) if self._index is not None else 0

    def stats(self) -> dict[str, Any]:
        return {"backend": "bm25s", "kind": "bm25", "chunks": len(self)}
