"""`kb-agent eval --answers`: every question answered through the configured LLM, and what the
grounding check (kb_agent/grounding.py) found in the answers.

Retrieval metrics say whether the right passage came back; this says whether the model's text
stayed true to what came back: the share of answers with a failed check, the share withheld
because nothing in them held, the fabricated-citation rate (citation numbers written that name no
evidence of the turn, over all citation numbers written) and the failures by kind. It needs a
model: with ``llm: offline`` there is no model text to check (offline answers quote the stores).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from kb_agent.access import LOCAL_ADMIN, Principal
from kb_agent.errors import KBError
from kb_agent.eval.dataset import EvalItem
from kb_agent.eval.metrics import percentile
from kb_agent.grounding import all_failed

log = logging.getLogger(__name__)


@dataclass
class AnswerResult:
    id: str
    question: str
    checked: bool = False                  # the model wrote text and the check ran
    flags: list[str] = field(default_factory=list)   # failure kinds, one per failure
    withheld: bool = False                 # nothing in the answer held: the reader got "not found"/"unverified"
    citations_written: int = 0
    citations_fabricated: list[int] = field(default_factory=list)
    latency_ms: float = 0.0
    answer: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def answer_item(answerer, item: EvalItem, principal: Principal) -> AnswerResult:
    res = AnswerResult(item.id, item.question)
    start = time.perf_counter()
    try:
        ans = answerer.ask(item.question, principal, surface="eval")
    except KBError as exc:   # an unreachable model or a bad question: reported, the run goes on
        res.error = str(exc).splitlines()[0]
        return res
    res.latency_ms = (time.perf_counter() - start) * 1000
    res.answer = ans.answer[:300]
    g = ans.grounding
    if g is None:
        return res
    evidence = {c.number for e in ans.events for c in e.output.citations if c.number is not None}
    written = [n for s in g.sentences for n in s.cites]
    res.checked = True
    res.flags = [f.kind for f in g.failures]
    res.withheld = all_failed(g)
    res.citations_written = len(written)
    res.citations_fabricated = [n for n in written if n not in evidence]
    return res


def evaluate_answers(answerer, items: Sequence[EvalItem], *, principal: Principal = LOCAL_ADMIN) -> dict[str, Any]:
    """The ``answers`` section of the eval report."""
    results = [answer_item(answerer, item, principal) for item in items]
    return answers_report(results)


def answers_report(results: Sequence[AnswerResult]) -> dict[str, Any]:
    checked = [r for r in results if r.checked]
    written = sum(r.citations_written for r in checked)
    fabricated = sum(len(r.citations_fabricated) for r in checked)

    def share(flags: list[bool]) -> float | None:
        return round(sum(flags) / len(flags), 4) if flags else None

    latencies = [r.latency_ms for r in results if r.error is None]
    return {
        "n": len(results), "errors": sum(1 for r in results if r.error is not None), "checked": len(checked),
        "flagged": share([bool(r.flags) for r in checked]),
        "withheld": share([r.withheld for r in checked]),
        "citations_written": written, "citations_fabricated": fabricated,
        "fabricated_citation_rate": round(fabricated / written, 4) if written else None,
        "failures_by_kind": dict(Counter(k for r in checked for k in r.flags)),
        "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p95": round(percentile(latencies, 95), 1)},
        "results": [r.to_dict() for r in results],
    }


def format_answers(a: dict[str, Any]) -> str:
    """The `kb-agent eval --answers` summary line(s)."""
    def f(x) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    line = (f"answers n={a['n']} (checked {a['checked']})  flagged {f(a['flagged'])}  withheld {f(a['withheld'])}  "
            f"fabricated citations {a['citations_fabricated']}/{a['citations_written']} "
            f"({f(a['fabricated_citation_rate'])})  latency p50 {a['latency_ms']['p50']:.0f} ms "
            f"p95 {a['latency_ms']['p95']:.0f} ms")
    lines = [line]
    if a["failures_by_kind"]:
        lines.append("      failures by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(a["failures_by_kind"].items())))
    if a["errors"]:
        lines.append(f"      {a['errors']} question(s) could not be answered (model unreachable?)")
    return "\n".join(lines)
