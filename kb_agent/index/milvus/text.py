"""The Milvus :class:`~kb_agent.index.backend.KeywordIndex`: Milvus's own BM25 full-text search.

The ``text`` field has Milvus's jieba analyzer (the one Chinese analyzer milvus-lite offers)
and a BM25 function into a sparse vector field; Milvus tokenises documents and queries alike.

Company terms: plain jieba splits glossary terms it does not know ("售后流程" → "售后" +
"流程", "客户经理" → "客户" + "经理"; measured, docs/retrieval.md). So every Chinese glossary
term and name goes into the analyzer's user dictionary, and in ``search`` mode (the default,
``retrieval.milvus.jieba_mode``) jieba emits the whole term *and* the dictionary words inside
it: an exact term scores highest, a paraphrase still matches — the same idea as the bm25s
tokenizer's words plus bigrams. ASCII acronyms ("ESS", "AM") stay whole anyway. Texts and
queries are NFKC-normalised and lower-cased first, as for bm25s; stop words are filtered.

The dictionary is fixed when a collection is created, so a changed glossary means a new
collection (:meth:`use_words` answers True and the Retriever rebuilds; searches go on
against the old one until the new one is committed).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kb_agent.index.backend import Commit, IndexIdentity, IndexRow, Scope
from kb_agent.index.milvus.collection import MilvusCollection, scalar_indexes, clip_bytes, scalar_fields, scalar_values
from kb_agent.index.milvus.connection import pymilvus
from kb_agent.text import STOP_WORDS, normalise

MAX_TEXT = 65_000
MAX_LIMIT = 16384
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


def dictionary_words(words: Sequence[str]) -> list[str]:
    """The glossary words jieba must keep whole: normalised, holding a Han character (ASCII
    runs are whole words for jieba already), without spaces (not one jieba word)."""
    import re

    han = re.compile(f"[{_HAN}]")
    out = {normalise(w).strip() for w in words if w}
    return sorted(w for w in out if w and han.search(w) and not any(c.isspace() for c in w))


def analyzer(words: Sequence[str], mode: str) -> dict[str, Any]:
    return {"tokenizer": {"type": "jieba", "dict": ["_default_", *words], "mode": mode, "hmm": True},
            "filter": ["lowercase", {"type": "stop", "stop_words": sorted(STOP_WORDS)}]}


class MilvusKeywordIndex:
    def __init__(self, settings, index_dir: Path, identity: IndexIdentity):
        self.settings = settings            # MilvusSettings
        self.index_dir = Path(index_dir)
        self.identity = identity
        self._words: list[str] = []
        self.collection = self._collection()

    def _collection(self) -> MilvusCollection:
        signature = hashlib.sha1("\x00".join(self._words).encode()).hexdigest()[:12]
        return MilvusCollection(self.settings, self.index_dir, "text", {
            "store_id": self.identity.store_id, "words": signature, "jieba_mode": self.settings.jieba_mode})

    def use_words(self, words: Sequence[str]) -> bool:
        wanted = dictionary_words(words)
        if wanted == self._words:
            return False
        self._words = wanted
        fresh = self._collection()
        opened = self.collection.name is not None
        # Keep serving the current collection until the rebuild for the new words commits.
        fresh.name, fresh.count, fresh.generation = self.collection.name, self.collection.count, \
            self.collection.generation
        self.collection = fresh
        return opened

    def _create(self, client, name: str) -> None:
        milvus = pymilvus()
        DataType = milvus.DataType
        schema = client.create_schema(auto_id=False)
        scalar_fields(schema, DataType)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT + 1000, enable_analyzer=True,
                         analyzer_params=analyzer(self._words, self.settings.jieba_mode))
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(milvus.Function(name="bm25", function_type=milvus.FunctionType.BM25,
                                            input_field_names=["text"], output_field_names=["sparse"]))
        index = client.prepare_index_params()
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        scalar_indexes(index)
        client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")

    @staticmethod
    def _records(rows: Sequence[IndexRow]) -> list[dict[str, Any]]:
        return [{**scalar_values(r, r.generation), "text": clip_bytes(normalise(r.text), MAX_TEXT)} for r in rows]

    # -- KeywordIndex --------------------------------------------------------------------
    def open(self) -> int | None:
        return self.collection.open()

    def rebuild(self, rows: Sequence[IndexRow]) -> Commit:
        # Not flushed: milvus-lite scores BM25 with each segment's own statistics, so a small
        # sealed segment next to a big one ranks a one-word match above a five-word one
        # (measured; the contract test catches it). Milvus seals segments itself as they grow.
        return self.collection.rebuild(self._create, self._records(rows), seal=False)

    def apply(self, added: Sequence[IndexRow], removed: Sequence[int]) -> Commit:
        # Written now, visible to searches right away: the rows of a removed chunk are gone
        # from the chunk store already, so the Retriever's fetch drops them, and an added chunk
        # is final. The commit has nothing left to do.
        if removed:
            self.collection.delete(removed)
        if added:
            self.collection.upsert(self._records(added))
        return _nothing

    def search(self, query: str, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
        text = normalise(query).strip()
        k = min(int(k), MAX_LIMIT)
        if not text or k <= 0 or not self.collection.count:
            return empty
        c = self.collection
        expr = c.filter(scope)
        if expr is None:
            return empty
        hits = c.call("BM25 search", lambda name: c.client.search(
            name, data=[clip_bytes(text, MAX_TEXT)], anns_field="sparse", limit=k, filter=expr,
            output_fields=["id"], search_params={"metric_type": "BM25"}))[0]
        # milvus-lite reports BM25 as a negative distance, a Milvus server as a positive score.
        ids = np.fromiter((int(h["id"]) for h in hits), dtype=np.int64, count=len(hits))
        scores = np.fromiter((abs(float(h["distance"])) for h in hits), dtype=np.float32, count=len(hits))
        keep = scores > 0
        ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))
        return ids[order], scores[order]

    def checkpoint(self, generation: int) -> None:
        self.collection.checkpoint(generation)

    def __len__(self) -> int:
        return self.collection.count

    def stats(self) -> dict[str, Any]:
        return {**self.collection.stats(), "kind": f"milvus-bm25-jieba-{self.settings.jieba_mode}",
                "chunks": self.collection.count, "dictionary_words": len(self._words)}


def _nothing() -> None:
    """Milvus writes are visible when done."""
