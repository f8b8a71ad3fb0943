"""Choosing the relevance decision's cut-offs from measured questions (`kb-agent eval --calibrate`).

Each evaluated question contributes the (coverage, z, across) of its retrieved passages
(kb_agent/index/relevance.py). For every policy on a grid, the questions it would answer
and refuse are counted: the trade-off curve is refused-answerable against
accepted-unanswerable. The chosen policy refuses the most unanswerable questions while
refusing at most ``max_refused`` of the answerable ones; among equals, the one that refuses
fewer answerable questions, then the most lenient (the lowest cut-offs: it leaves the widest
margin to answerable questions not measured, as ties went to answering before).

Pure: no I/O; the eval runner gathers the features, the CLI writes the choice.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Sequence

from kb_agent.index.relevance import RelevancePolicy, passes

#: (coverage, z, in the other language) of each retrieved passage of one question (z: None
#: without vectors): :attr:`~kb_agent.index.relevance.Judged.features`.
Features = Sequence[tuple]

GRID = {
    "min_coverage": (0.5, 0.6, 0.67, 0.7, 0.75, 0.8, 0.9, 1.0),
    "partial_coverage": (0.2, 0.25, 0.3, 0.34, 0.4, 0.5),
    "partial_z": (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0),
    "dense_alone_z": (4.0, 5.0, 6.0, 7.0, 99.0),
}


def would_find(passages: Features, p: RelevancePolicy) -> bool:
    return any(passes(f[0], f[1], bool(f[2]) if len(f) > 2 else False, p) for f in passages)


@dataclass(frozen=True)
class Point:
    """One policy's outcome on the measured questions."""

    policy: RelevancePolicy
    refused_answerable: float      # share of answerable questions it refuses (lower is better)
    refused_unanswerable: float    # share of unanswerable questions it refuses (higher is better)

    def to_dict(self) -> dict:
        return {"policy": asdict(self.policy), "refused_answerable": round(self.refused_answerable, 4),
                "refused_unanswerable": round(self.refused_unanswerable, 4)}


def evaluate(policy: RelevancePolicy, answerable: Sequence[Features], unanswerable: Sequence[Features]) -> Point:
    ra = sum(not would_find(f, policy) for f in answerable) / len(answerable) if answerable else 0.0
    ru = sum(not would_find(f, policy) for f in unanswerable) / len(unanswerable) if unanswerable else 0.0
    return Point(policy, ra, ru)


def _strictness(p: RelevancePolicy) -> float:
    return p.min_coverage + p.partial_coverage + p.partial_z / 5 + min(p.dense_alone_z, 10) / 5


def calibrate(answerable: Sequence[Features], unanswerable: Sequence[Features], *,
              max_refused: float = 0.05) -> tuple[Point, list[Point]]:
    """(the chosen point, the trade-off curve: for each share of refused answerable questions
    on the grid, the policy that refuses the most unanswerable ones)."""
    if not answerable or not unanswerable:
        raise ValueError("calibration needs answerable and unanswerable questions")
    points = [evaluate(RelevancePolicy(*values), answerable, unanswerable)
              for values in itertools.product(*GRID.values()) if values[1] <= values[0]]
    best_by_ra: dict[float, Point] = {}
    for pt in points:
        key = round(pt.refused_answerable, 4)
        cur = best_by_ra.get(key)
        if cur is None or (pt.refused_unanswerable, -_strictness(pt.policy)) > \
                (cur.refused_unanswerable, -_strictness(cur.policy)):
            best_by_ra[key] = pt
    curve = sorted(best_by_ra.values(), key=lambda pt: pt.refused_answerable)
    allowed = [pt for pt in points if pt.refused_answerable <= max_refused + 1e-9] or \
        [min(points, key=lambda pt: pt.refused_answerable)]
    chosen = max(allowed, key=lambda pt: (pt.refused_unanswerable, -pt.refused_answerable,
                                          -_strictness(pt.policy)))
    return chosen, curve
