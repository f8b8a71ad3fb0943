"""Run evaluation items against a KnowledgeBase and compute the report.

- doc items: ``kb.retrieve`` → recall@1/@5 and MRR (a hit is the right source, and the right
  locator when given); unanswerable items must come back as 'no relevant passage'.
- term items: ``kb.lookup_term`` (exact: the expected answer is one of the entry's names) and
  the offline router's answer (contains).
- fact items: ``kb.query_facts`` (exact / contains on the served answers) and the router's
  answer (contains); without a fact store the report says so instead of failing.
- every item: the offline router's route (term | fact | doc | none) against the expected one.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from kb_agent.access import LOCAL_ADMIN, Principal
from kb_agent.errors import KBError
from kb_agent.eval.dataset import EvalItem, ItemIssue
from kb_agent.eval.metrics import (contains_match, exact_match, first_relevant_rank, mrr, percentile,
                                   recall_at)

log = logging.getLogger(__name__)


@dataclass
class ItemResult:
    id: str
    kind: str
    lang: str
    question: str
    ok: bool | None                     # doc: hit@5 (or refused if unanswerable); term/fact: contains
    latency_ms: float = 0.0
    expected_route: str = "none"
    route: str = "none"
    route_latency_ms: float = 0.0
    rank: int | None = None
    exact: bool | None = None
    contains: bool | None = None
    found: bool | None = None
    answerable: bool = True
    # doc items: (coverage, z, across languages) of each retrieved passage, what `--calibrate`
    # chooses the relevance cut-offs from (kb_agent/index/relevance.py)
    passages: list[tuple[float, float | None, bool]] = field(default_factory=list)
    reason: str = ""
    top: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def eval_doc(kb, item: EvalItem, principal: Principal, top_k: int) -> ItemResult:
    res = ItemResult(item.id, "doc", item.lang, item.question, None, answerable=item.answerable)
    start = time.perf_counter()
    result = kb.retrieve(item.question, principal, top_k=top_k)
    res.latency_ms = _ms(start)
    hits = [(h.chunk.source, h.chunk.locator.to_dict()) for h in result.hits]
    res.top = [{"source": s, "locator": loc.get("label"), "score": round(h.score, 4)}
               for (s, loc), h in zip(hits[:3], result.hits)]
    res.found = result.found
    res.reason = result.reason
    if result.decision is not None:
        res.passages = [(round(j.coverage, 4), None if j.z is None else round(j.z, 3), j.across)
                        for j in result.decision.judged]
    if item.answerable:
        res.rank = first_relevant_rank(hits, item.expected_source, item.expected_locator)
        res.ok = res.rank is not None and res.rank <= top_k
    else:
        res.ok = not result.found
    return res


def eval_term(kb, item: EvalItem) -> ItemResult:
    res = ItemResult(item.id, "term", item.lang, item.question, None)
    start = time.perf_counter()
    lookup = kb.lookup_term(item.question)
    res.latency_ms = _ms(start)
    names = [n for e in lookup.matches for n in (e.term, e.english, e.chinese, *e.aliases, *e.chinese_names()) if n]
    res.found = lookup.found
    res.exact = exact_match(item.expected_answer, names)
    return res


def eval_fact(kb, item: EvalItem, principal: Principal) -> ItemResult:
    res = ItemResult(item.id, "fact", item.lang, item.question, None)
    start = time.perf_counter()
    result = kb.query_facts(item.question, principal)
    res.latency_ms = _ms(start)
    res.found = result.found
    answers = [str(h.fact.answer_for(item.question)) for h in result.facts]
    res.exact = exact_match(item.expected_answer, answers)
    res.contains = any(contains_match(item.expected_answer, a) for a in answers) or \
        contains_match(item.expected_answer, json.dumps(result.to_dict().get("rows", []), ensure_ascii=False,
                                                        default=str))
    return res


def _route(kb, item: EvalItem, principal: Principal, res: ItemResult) -> None:
    from kb_agent.router import route

    start = time.perf_counter()
    answer, _ = route(item.question, kb, principal)
    res.route_latency_ms = _ms(start)
    res.expected_route = item.expected_route
    res.route = answer.route if answer is not None and answer.output.found else "none"
    if item.kind in ("term", "fact"):
        routed_contains = answer is not None and contains_match(item.expected_answer, answer.text)
        res.contains = bool(res.contains) or routed_contains
        res.ok = res.contains


def evaluate(kb, items: Sequence[EvalItem], *, principal: Principal = LOCAL_ADMIN, top_k: int = 5,
             issues: Sequence[ItemIssue] = (), with_route: bool = True) -> dict[str, Any]:
    results: list[ItemResult] = []
    for item in items:
        try:
            if item.kind == "doc":
                res = eval_doc(kb, item, principal, top_k)
            elif item.kind == "term":
                res = eval_term(kb, item)
            else:
                res = eval_fact(kb, item, principal)
            if with_route:
                _route(kb, item, principal, res)
        except KBError as exc:   # one broken item (or store) is reported, the run goes on
            log.warning("%s: %s", item.origin, exc)
            res = ItemResult(item.id, item.kind, item.lang, item.question, False, error=str(exc).splitlines()[0],
                             expected_route=item.expected_route, answerable=item.answerable)
        results.append(res)
    return build_report(results, issues, [], top_k, with_route)


def _latency(values: Sequence[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50), 2), "p95": round(percentile(values, 95), 2)}


def _rate(flags: Sequence[bool | None]) -> float | None:
    flags = [bool(f) for f in flags]
    return round(sum(flags) / len(flags), 4) if flags else None


def build_report(results: Sequence[ItemResult], issues: Sequence[ItemIssue], notes: Sequence[str],
                 top_k: int, with_route: bool = True) -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    for kind in ("doc", "term", "fact"):
        rs = [r for r in results if r.kind == kind and r.error is None]
        errors = sum(1 for r in results if r.kind == kind and r.error is not None)
        if not rs and not errors:
            continue
        entry: dict[str, Any] = {"n": len(rs), "errors": errors, "latency_ms": _latency([r.latency_ms for r in rs])}
        if kind == "doc":
            ans = [r for r in rs if r.answerable]
            ranks = [r.rank for r in ans]
            entry.update({"answerable": len(ans), "recall@1": _round(recall_at(ranks, 1)),
                          f"recall@{top_k}": _round(recall_at(ranks, top_k)), "mrr": _round(mrr(ranks)),
                          "found_when_answerable": _rate([r.found for r in ans]),
                          "refused_when_unanswerable": _rate([not r.found for r in rs if not r.answerable])})
            entry["by_lang"] = {lang: {"n": len(g), "recall@1": _round(recall_at([r.rank for r in g], 1)),
                                       f"recall@{top_k}": _round(recall_at([r.rank for r in g], top_k)),
                                       "mrr": _round(mrr([r.rank for r in g]))}
                                for lang, g in _group(ans).items()}
        else:
            entry.update({"exact": _rate([r.exact for r in rs]), "contains": _rate([r.contains for r in rs])})
            entry["by_lang"] = {lang: {"n": len(g), "exact": _rate([r.exact for r in g]),
                                       "contains": _rate([r.contains for r in g])} for lang, g in _group(rs).items()}
        kinds[kind] = entry
    report: dict[str, Any] = {"items": len(results), "issues": [i.to_dict() for i in issues], "notes": list(notes),
                              "kinds": kinds}
    if with_route:
        routed = [r for r in results if r.error is None]
        confusion = Counter(f"{r.expected_route}->{r.route}" for r in routed if r.route != r.expected_route)
        report["routing"] = {"n": len(routed), "accuracy": _rate([r.route == r.expected_route for r in routed]),
                             "errors": dict(confusion), "latency_ms": _latency([r.route_latency_ms for r in routed])}
    report["results"] = [r.to_dict() for r in results]
    return report


def _group(rs: Sequence[ItemResult]) -> dict[str, list[ItemResult]]:
    out: dict[str, list[ItemResult]] = {}
    for r in rs:
        out.setdefault(r.lang, []).append(r)
    return out


def _round(x: float) -> float | None:
    return None if x != x else round(x, 4)


def format_report(report: dict[str, Any]) -> str:
    """The human-readable summary printed by `kb-agent eval`."""
    lines = [f"{report['items']} items evaluated"]
    for issue in report["issues"]:
        lines.append(f"  skipped: {issue['file']}:{issue['line']}: {issue['field']}: {issue['message']}")
    for note in report["notes"]:
        lines.append(f"  note: {note}")
    for kind, e in report["kinds"].items():
        lat = e["latency_ms"]
        if kind == "doc":
            rk = next(k for k in e if k.startswith("recall@") and k != "recall@1")
            lines.append(f"doc   n={e['n']} (answerable {e['answerable']})  recall@1 {_f(e['recall@1'])}  "
                         f"{rk} {_f(e[rk])}  MRR {_f(e['mrr'])}  found {_f(e['found_when_answerable'])}  "
                         f"refused-unanswerable {_f(e['refused_when_unanswerable'])}  "
                         f"latency p50 {lat['p50']:.1f} ms p95 {lat['p95']:.1f} ms")
            for lang, g in e["by_lang"].items():
                lines.append(f"      {lang}: n={g['n']} recall@1 {_f(g['recall@1'])} {rk} {_f(g[rk])} MRR {_f(g['mrr'])}")
        else:
            lines.append(f"{kind:5} n={e['n']}  exact {_f(e['exact'])}  contains {_f(e['contains'])}  "
                         f"latency p50 {lat['p50']:.1f} ms p95 {lat['p95']:.1f} ms")
        if e["errors"]:
            lines.append(f"      {e['errors']} item(s) failed with an error")
    if "routing" in report:
        r = report["routing"]
        lines.append(f"route n={r['n']}  accuracy {_f(r['accuracy'])}  latency p50 {r['latency_ms']['p50']:.1f} ms "
                     f"p95 {r['latency_ms']['p95']:.1f} ms" + (f"  misroutes {r['errors']}" if r["errors"] else ""))
    return "\n".join(lines)


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def calibration(results: Sequence[ItemResult], *, max_refused: float = 0.05) -> dict[str, Any]:
    """The relevance cut-offs these doc results support (kb_agent/index/calibration.py): the
    chosen policy, its outcome, and the trade-off curve."""
    from kb_agent.index.calibration import calibrate

    docs = [r for r in results if r.kind == "doc" and r.error is None]
    answerable = [r.passages for r in docs if r.answerable]
    unanswerable = [r.passages for r in docs if not r.answerable]
    chosen, curve = calibrate(answerable, unanswerable, max_refused=max_refused)
    return {"answerable": len(answerable), "unanswerable": len(unanswerable), "max_refused": max_refused,
            "chosen": chosen.to_dict(), "curve": [p.to_dict() for p in curve]}


def format_calibration(c: dict[str, Any]) -> str:
    lines = [f"calibration on {c['answerable']} answerable and {c['unanswerable']} unanswerable questions "
             f"(at most {c['max_refused']:.0%} of answerable ones refused):",
             "  refused answerable   refused unanswerable   min_coverage partial_coverage partial_z dense_alone_z"]
    for p in c["curve"]:
        pol = p["policy"]
        lines.append(f"  {p['refused_answerable']:>17.1%}   {p['refused_unanswerable']:>20.1%}   {pol['min_coverage']:>12} "
                     f"{pol['partial_coverage']:>16} {pol['partial_z']:>9} {pol['dense_alone_z']:>13}")
    ch = c["chosen"]
    lines.append(f"chosen: {ch['policy']} refuses {ch['refused_unanswerable']:.1%} of unanswerable and "
                 f"{ch['refused_answerable']:.1%} of answerable questions")
    return "\n".join(lines)
