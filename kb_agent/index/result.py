"""Typed results of a document retrieval, shared by the tool, the router, the CLI and eval."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb_agent.chunk import Chunk
from kb_agent.index.relevance import Decision


@dataclass(frozen=True)
class Hit:
    """One retrieved passage.

    ``score`` is the cosine similarity of the query to the passage (the relevance shown to
    people and compared with the threshold); ``fused`` the reciprocal-rank-fusion score that
    orders the hits; ``dense_rank`` / ``keyword_rank`` the 1-based ranks in each list (None
    when the passage was not in that list); ``bridged_rank`` its rank in the keyword search for
    the question's words in the other language (kb_agent/bilingual.py).
    """

    rowid: int
    chunk: Chunk
    score: float
    fused: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    keyword_score: float | None = None
    bridged_rank: int | None = None

    def to_dict(self, max_chars: int | None = None) -> dict[str, Any]:
        text = self.chunk.text if max_chars is None else clip(self.chunk.text, max_chars)
        return {"source": self.chunk.source, "locator": self.chunk.locator.to_dict(),
                "score": round(float(self.score), 4), "fused": round(float(self.fused), 5),
                "dense_rank": self.dense_rank, "keyword_rank": self.keyword_rank,
                "bridged_rank": self.bridged_rank, "title": self.chunk.title, "text": text}


@dataclass(frozen=True)
class RetrievalResult:
    query: str
    expanded_query: str
    expansion: str                       # "AM → Account Manager / 客户经理" or ""
    hits: tuple[Hit, ...]                # best first, at most top_k (also when not found)
    found: bool                          # some hit is relevant (kb_agent/index/relevance.py)
    decision: Decision | None = None     # why: the relevance decision and its reason
    latency_ms: float = 0.0
    filters: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())   # e.g. "keyword search only: embedder failed"

    @property
    def reason(self) -> str:
        """Why it was found or not, in the question's language ("no passage mentions 差旅补贴")."""
        return self.decision.reason if self.decision else ""

    @property
    def relevant(self) -> tuple[Hit, ...]:
        """The hits to show: all of them when some passage is relevant, else none."""
        return self.hits if self.found else ()

    def to_dict(self, max_chars: int | None = None) -> dict[str, Any]:
        return {"query": self.query, "expanded_query": self.expanded_query, "expansion": self.expansion,
                "found": self.found, "reason": self.reason,
                "relevance": self.decision.to_dict() if self.decision else None,
                "latency_ms": round(self.latency_ms, 2),
                "filters": self.filters, "notes": list(self.notes),
                "hits": [h.to_dict(max_chars) for h in self.hits]}


def search_json(result: RetrievalResult, max_chars: int | None = None) -> dict[str, Any]:
    """The stable `search --json` object (docs/retrieval.md), also the JSON API's search answer."""
    def hit(h: Hit) -> dict[str, Any]:
        d = h.to_dict(max_chars)
        return {"source": d["source"], "locator": d["locator"], "score": d["score"], "text": d["text"],
                "fused": d["fused"], "dense_rank": d["dense_rank"], "keyword_rank": d["keyword_rank"],
                "bridged_rank": d["bridged_rank"]}

    return {"query": result.query, "expanded_query": result.expanded_query, "expansion": result.expansion,
            "found": result.found, "reason": result.reason, "hits": [hit(h) for h in result.hits],
            "latency_ms": round(result.latency_ms, 2), "filters": result.filters, "notes": list(result.notes)}


def clip(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
