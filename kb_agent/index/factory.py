"""``create_vector_index`` / ``create_keyword_index``: the one way to get a search backend.

As with the embedder factory, backends are imported lazily: the default FAISS + bm25s never
imports pymilvus, and choosing milvus without the ``milvus`` extra installed is a clear
:class:`~kb_agent.errors.StoreError` naming the extra, raised when the index is first used.
"""

from __future__ import annotations

from pathlib import Path

from kb_agent.errors import ConfigError
from kb_agent.index.backend import IndexIdentity, KeywordIndex, VectorIndex


def create_vector_index(settings, index_dir: Path, identity: IndexIdentity) -> VectorIndex:
    """``settings``: RetrievalSettings; ``index_dir``: data_dir/index (FAISS files, milvus-lite)."""
    backend = settings.vector_backend
    if backend == "faiss":
        from kb_agent.index.faiss_index import FaissVectorIndex

        return FaissVectorIndex(settings, index_dir, identity)
    if backend == "milvus":
        from kb_agent.index.milvus.dense import MilvusVectorIndex

        return MilvusVectorIndex(settings.milvus, index_dir, identity)
    raise ConfigError(f"unknown retrieval.vector_backend {backend!r}", hint="use faiss or milvus")


def create_keyword_index(settings, index_dir: Path, identity: IndexIdentity) -> KeywordIndex:
    backend = settings.keyword_backend
    if backend == "bm25s":
        from kb_agent.index.bm25_index import BM25KeywordIndex

        return BM25KeywordIndex(settings)
    if backend == "milvus":
        from kb_agent.index.milvus.text import MilvusKeywordIndex

        return MilvusKeywordIndex(settings.milvus, index_dir, identity)
    raise ConfigError(f"unknown retrieval.keyword_backend {backend!r}", hint="use bm25s or milvus")
