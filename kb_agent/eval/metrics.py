"""Pure metric functions of the evaluation harness."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

from kb_agent.text import normalise


def normalise_answer(text: str) -> str:
    """NFKC, lower-case, no spaces or punctuation: '第 3 培训室' == '第3培训室'."""
    return re.sub(r"[\s\W_]+", "", normalise(text))


def exact_match(expected: str, candidates: Sequence[str]) -> bool:
    want = normalise_answer(expected)
    return bool(want) and any(normalise_answer(c) == want for c in candidates)


def contains_match(expected: str, text: str) -> bool:
    want = normalise_answer(expected)
    return bool(want) and want in normalise_answer(text)


def locator_matches(expected: Mapping[str, Any], locator: Mapping[str, Any]) -> bool:
    """Every given key must agree; ``heading`` is a prefix of the heading path (by text)."""
    for key, value in expected.items():
        if key == "heading":
            path = " > ".join(locator.get("heading_path") or [])
            want = " > ".join(value) if isinstance(value, list) else str(value)
            if not path.startswith(want):
                return False
        elif key in ("page", "slide"):
            if locator.get(key) != int(value):
                return False
        elif str(locator.get(key)) != str(value):
            return False
    return True


def first_relevant_rank(hits: Sequence[tuple[str, Mapping[str, Any]]], source: str | Sequence[str],
                        locator: Mapping[str, Any] | None) -> int | None:
    """1-based rank of the first hit with the right source (one of them, when several are
    acceptable) and the right locator when given."""
    sources = {source} if isinstance(source, str) else set(source)
    for rank, (hit_source, hit_locator) in enumerate(hits, 1):
        if hit_source in sources and (not locator or locator_matches(locator, hit_locator)):
            return rank
    return None


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else float("nan")


def mrr(ranks: Sequence[int | None]) -> float:
    return sum(1.0 / r for r in ranks if r) / len(ranks) if ranks else float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
