"""Is 'not found' said when it should be? The relevance decision against the absolute-cosine
thresholds it replaced, on the same retrievals, in one run (issue #11).

    python bench/relevance_bench.py --dev-data /tmp/kb-dev/data [--sample-data DIR] [--heldout-data DIR]

- dev: the development corpus of bench/devcorpus (Debian documentation in Chinese and English,
  ``python bench/devcorpus/build.py`` then ``kb-agent ingest``), with the questions of
  bench/devcorpus/questions.jsonl;
- sample: the shipped sample knowledge base with eval/sample.jsonl (ingested into a temporary
  directory unless ``--sample-data`` names one);
- heldout (optional): the held-out corpus of bench/devcorpus/heldout.py (documents of the same
  packages that the dev corpus does not hold) with bench/devcorpus/heldout_questions.jsonl.

Each question is retrieved once; "before" is the old rule on those hits (cosine ≥ 0.80 for a
passage keyword search also found, ≥ 0.88 for one found by vectors alone: the e5 defaults of
kb_agent/index/calibration.py until this change), "after" is the decision the retriever now
makes. Both corpora also get the generated off-domain negatives of kb_agent/eval/negatives.py.
Then the cut-offs are calibrated on one corpus and applied to the other, which they were not
tuned on.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb_agent.access import LOCAL_ADMIN  # noqa: E402
from kb_agent.config import load_settings  # noqa: E402
from kb_agent.eval.dataset import load_items  # noqa: E402
from kb_agent.eval.metrics import first_relevant_rank, mrr, recall_at  # noqa: E402
from kb_agent.eval.negatives import negatives  # noqa: E402
from kb_agent.index.calibration import calibrate, evaluate  # noqa: E402
from kb_agent.index.relevance import RelevancePolicy  # noqa: E402
from kb_agent.kb import KnowledgeBase  # noqa: E402

OLD_KEYWORD, OLD_DENSE_ONLY = 0.80, 0.88


def old_found(result) -> bool:
    return any(h.score >= (OLD_KEYWORD if h.keyword_rank is not None else OLD_DENSE_ONLY) for h in result.hits)


def measure(kb: KnowledgeBase, items, top_k: int = 5):
    rows = []
    for item in items:
        r = kb.retrieve(item.question, LOCAL_ADMIN, top_k=top_k)
        hits = [(h.chunk.source, h.chunk.locator.to_dict()) for h in r.hits]
        rank = first_relevant_rank(hits, item.expected_source, item.expected_locator) if item.answerable else None
        feats = [j.features for j in r.decision.judged] if r.decision else []
        rows.append({"item": item, "old": old_found(r), "new": r.found, "rank": rank, "features": feats,
                     "reason": r.reason, "ms": r.latency_ms})
    return rows


def share(flags) -> str:
    flags = list(flags)
    return f"{sum(flags)}/{len(flags)} ({sum(flags) / len(flags):.0%})" if flags else "n/a"


def report(name: str, rows, top_k: int = 5) -> None:
    ans = [r for r in rows if r["item"].answerable]
    own_neg = [r for r in rows if not r["item"].answerable and r["item"].origin != "generated"]
    gen_neg = [r for r in rows if r["item"].origin == "generated"]
    ranks = [r["rank"] for r in ans]
    print(f"\n{name}: {len(ans)} answerable, {len(own_neg)} unanswerable written for it, "
          f"{len(gen_neg)} generated off-domain")
    ms = sorted(r["ms"] for r in rows[1:])       # the first retrieval loads the indexes
    print(f"  recall@1 {recall_at(ranks, 1):.3f}  recall@{top_k} {recall_at(ranks, top_k):.3f}  MRR {mrr(ranks):.3f}"
          f"  retrieve p50 {ms[len(ms) // 2]:.1f} ms, p95 {ms[int(0.95 * len(ms))]:.1f} ms")
    print(f"  {'':28} {'before (cosine)':>18} {'after (decision)':>18}")
    for label, group, refuse in (("answerable wrongly refused", ans, True),
                                 ("unanswerable refused", own_neg, True),
                                 ("generated negatives refused", gen_neg, True)):
        print(f"  {label:28} {share(not r['old'] for r in group):>18} {share(not r['new'] for r in group):>18}")
    # What the decision itself gets wrong: refusals where the right passage was retrieved.
    retrieved = [r for r in ans if r["rank"] is not None and r["rank"] <= top_k]
    print(f"  {'... right passage in top ' + str(top_k):28} {share(not r['old'] for r in retrieved):>18} "
          f"{share(not r['new'] for r in retrieved):>18}")


def failures(rows) -> None:
    for r in rows:
        item = r["item"]
        if item.answerable != r["new"]:
            cov = max(r["features"], key=lambda f: f[0], default=None)
            z = max(r["features"], key=lambda f: f[1] or 0, default=None)
            print(f"    {'refused' if item.answerable else 'accepted'}: {item.question}  "
                  f"best coverage {_f(cov)}  best z {_f(z)}  ({r['reason']})")


def _f(feature) -> str:
    return "-" if feature is None else f"({feature[0]:.2f}, {'-' if feature[1] is None else f'{feature[1]:.1f}'})"


def kb_for(data_dir: Path, glossary: Path) -> KnowledgeBase:
    return KnowledgeBase(load_settings(data_dir=data_dir, glossary={"dir": glossary, "reload_check_s": 0}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev-data", type=Path, required=True, help="data dir with the development corpus ingested")
    ap.add_argument("--dev-glossary", type=Path, default=None, help="its glossary dir (default: an empty one)")
    ap.add_argument("--sample-data", type=Path, default=None, help="data dir with sample_kb ingested")
    ap.add_argument("--heldout-data", type=Path, default=None, help="data dir with the held-out corpus of "
                    "bench/devcorpus/heldout.py ingested (its questions: bench/devcorpus/heldout_questions.jsonl)")
    ap.add_argument("--verbose", action="store_true", help="list the questions decided wrongly")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="relevance-bench-"))
    empty_glossary = tmp / "glossary"
    empty_glossary.mkdir()
    dev = kb_for(args.dev_data, args.dev_glossary or empty_glossary)
    fresh = args.sample_data is None or not (args.sample_data / "kb.sqlite3").exists()
    sample = kb_for(args.sample_data or tmp / "sample-data", REPO / "glossary")
    if fresh:
        sample.ingest([REPO / "sample_kb"])

    runs = [("dev", dev, [REPO / "bench/devcorpus/questions.jsonl"]),
            ("sample", sample, [REPO / "eval/sample.jsonl"])]
    if args.heldout_data is not None:
        runs.append(("heldout", kb_for(args.heldout_data, empty_glossary),
                     [REPO / "bench/devcorpus/heldout_questions.jsonl"]))
    corpora = {}
    for name, kb, files in runs:
        items, _ = load_items(files)
        items = [i for i in items if i.kind == "doc"]
        items += negatives(kb.retriever.mentions, exclude=[i.question for i in items])
        kb.retriever.settings = kb.retriever.settings.model_copy(update={"demote_navigation": True})
        demoted = [r["rank"] for r in measure(kb, [i for i in items if i.answerable])]
        kb.retriever.settings = kb.retriever.settings.model_copy(update={"demote_navigation": False})
        rows = measure(kb, items)
        corpora[name] = rows
        report(name, rows)
        print(f"  with navigation chunks ranked last: recall@1 {recall_at(demoted, 1):.3f}  "
              f"recall@5 {recall_at(demoted, 5):.3f}  MRR {mrr(demoted):.3f}")
        if args.verbose:
            failures(rows)

    print("\ncut-offs calibrated on one corpus (its own and generated negatives), applied to the other:")
    pairs = [("dev", "sample"), ("sample", "dev")] + ([("dev", "heldout")] if "heldout" in corpora else [])
    for tuned, other in pairs:
        feats = lambda rows, answerable: [r["features"] for r in rows if r["item"].answerable == answerable]  # noqa: E731
        chosen, _ = calibrate(feats(corpora[tuned], True), feats(corpora[tuned], False))
        on_other = evaluate(chosen.policy, feats(corpora[other], True), feats(corpora[other], False))
        print(f"  tuned on {tuned:6}: {chosen.policy}")
        print(f"    on {tuned:6} refused answerable {chosen.refused_answerable:.1%}, "
              f"unanswerable {chosen.refused_unanswerable:.1%}")
        print(f"    on {other:6} refused answerable {on_other.refused_answerable:.1%}, "
              f"unanswerable {on_other.refused_unanswerable:.1%}")
    default = RelevancePolicy()
    for name, rows in corpora.items():
        pt = evaluate(default, [r["features"] for r in rows if r["item"].answerable],
                      [r["features"] for r in rows if not r["item"].answerable])
        print(f"  shipped defaults on {name:6}: refused answerable {pt.refused_answerable:.1%}, "
              f"unanswerable {pt.refused_unanswerable:.1%}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
