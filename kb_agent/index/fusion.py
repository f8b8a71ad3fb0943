"""Reciprocal-rank fusion: a pure function over ranked id lists."""

from __future__ import annotations

from typing import Hashable, Sequence, TypeVar

K = TypeVar("K", bound=Hashable)


def rrf(ranked_lists: Sequence[Sequence[K]], k: int = 60,
        weights: Sequence[float] | None = None, groups: Sequence[Hashable] | None = None) -> list[tuple[K, float]]:
    """Fuse ranked lists: ``score(d) = Σ w_i / (k + rank_i(d))`` with 1-based ranks.

    ``groups``: a label per list; lists with the same label are one kind of evidence and give
    an id only their best term, not the sum (keyword search in the question's language and in
    the other one: a passage is found in its own language, it must not count twice).

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
    if groups is None:
        groups = list(range(len(ranked_lists)))
    if len(groups) != len(ranked_lists):
        raise ValueError(f"{len(groups)} groups for {len(ranked_lists)} ranked lists")
    best: dict[K, dict[Hashable, float]] = {}
    for ranked, weight, group in zip(ranked_lists, weights, groups):
        for rank, item in enumerate(dict.fromkeys(ranked), start=1):
            terms = best.setdefault(item, {})
            terms[group] = max(terms.get(group, 0.0), weight / (k + rank))
    scores = {item: sum(terms.values()) for item, terms in best.items()}
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def keep_leaders(fused: Sequence[tuple[K, float]], leaders: Sequence[K], k: int) -> list[tuple[K, float]]:
    """``fused`` reordered so that every id of ``leaders`` (e.g. the best hit of dense search)
    is among the first ``k``: fusion may outvote a list's best hit by hits that two lists found
    weakly (a passage in another language than the question is never found by keyword search,
    so it has one vote where same-language passages with any shared word have two). A leader
    that is missing takes the place of the last ones; the rest keep their order."""
    top, present = {item for item, _ in fused[:k]}, {item for item, _ in fused}
    moved = set(list(dict.fromkeys(i for i in leaders if i in present and i not in top))[:k])
    if not moved:
        return list(fused)
    others = [entry for entry in fused if entry[0] not in moved]
    cut = k - len(moved)
    return others[:cut] + [entry for entry in fused if entry[0] in moved] + others[cut:]
