"""Reciprocal-rank fusion: a pure function over ranked id lists."""

from __future__ import annotations

from typing import Hashable, Sequence, TypeVar

K = TypeVar("K", bound=Hashable)


def rrf(ranked_lists: Sequence[Sequence[K]], k: int = 60,
        weights: Sequence[float] | None = None) -> list[tuple[K, float]]:
    """Fuse ranked lists: ``score(d) = Σ w_i / (k + rank_i(d))`` with 1-based ranks.

    Returns ``(id, score)`` best first; ties keep the order of first appearance (earlier
    lists, higher ranks first), so the result is deterministic. A duplicate id inside one
    list counts once, at its best rank (ranks count distinct ids).
    """
    if k < 0:
        raise ValueError("k must be >= 0")
    if weights is None:
        weights = [1.0] * len(ranked_lists)
    if len(weights) != len(ranked_lists):
        raise ValueError(f"{len(weights)} weights for {len(ranked_lists)} ranked lists")
    scores: dict[K, float] = {}
    for ranked, weight in zip(ranked_lists, weights):
        for rank, item in enumerate(dict.fromkeys(ranked), start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
