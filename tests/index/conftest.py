"""The backends under contract test, as Haystack's document-store mixins do: every test of
tests/index/test_contract.py runs once per :class:`Case` (FAISS flat, FAISS HNSW, bm25s,
Milvus dense, Milvus BM25). A case is the retrieval settings that select the backend and
the side (vector or keyword) the backend plays; the other side keeps its default.

Vectors come from the deterministic hashing embedder of the ingestion tests (the model is
not under test here); Milvus runs as milvus-lite on a file in the test's data directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.ingest.helpers import HashEmbedder


@dataclass(frozen=True)
class Case:
    name: str
    side: str                                  # "vector" or "keyword"
    retrieval: dict[str, Any] = field(default_factory=dict)
    persists: bool = True                      # keeps its contents across a restart


CASES = [
    Case("faiss-flat", "vector", {"vector_backend": "faiss", "use_gpu": False}),
    Case("faiss-hnsw", "vector", {"vector_backend": "faiss", "use_gpu": False, "hnsw_threshold": 1, "hnsw_m": 16,
                                  "hnsw_ef_construction": 64, "hnsw_ef_search": 64}),
    Case("bm25s", "keyword", {"keyword_backend": "bm25s"}, persists=False),
    Case("milvus-dense", "vector", {"vector_backend": "milvus", "use_gpu": False}),
    Case("milvus-bm25", "keyword", {"keyword_backend": "milvus", "use_gpu": False}),
]


@pytest.fixture
def embedder():
    return HashEmbedder()


@pytest.fixture(scope="module", autouse=True)
def _close_milvus():
    """The module's milvus-lite files are let go at its end (tests that restart close earlier)."""
    yield
    from kb_agent.index.milvus.connection import close_clients

    close_clients()
