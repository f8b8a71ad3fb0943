"""Fact matching quality and speed on the sample facts and tables (eval/facts.jsonl).

Builds a KnowledgeBase on a temporary data directory, loads sample_kb/tables/ through the
spreadsheet ingest hook, then asks every eval question through the offline fact route
(``kb.query_facts``) and checks that the expected answer is in the answer. Out-of-scope
questions check the other side: they must get "no matching fact".

Usage: .venv/bin/python bench/facts_eval.py [--no-embeddings] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb_agent.access import EMPLOYEE  # noqa: E402
from kb_agent.config import load_settings  # noqa: E402
from kb_agent.facts.answer import fact_output  # noqa: E402
from kb_agent.kb import KnowledgeBase  # noqa: E402

OUT_OF_SCOPE = [
    "公司年假有几天？", "食堂几点开饭？", "How do I reset my VPN password?", "ESS系统的登录网址是什么？",
    "SL-500的保修期是多久？", "Who is the CEO?", "北京办事处有停车位吗？", "GWS支持哪些操作系统？",
    "AIP展会有多少参观者？", "报销需要哪些发票？",
]
# Same subject as a fact, different question: no fact may be served (table rows may answer).
TRAPS = [
    "全印展2026的展位搭建由哪个部门负责？", "Which department is responsible for the booth setup at AIP 2026?",
    "Which department organises the ESS training?", "ESS培训的讲师是谁？", "SL-500的保修期是多久？",
    "报销超标部分由谁审批？", "MPS按什么收费？", "AIP 2026有哪些新品发布？",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-embeddings", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    items = [json.loads(line) for line in (ROOT / "eval" / "facts.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=tmp)
        settings.facts.use_embeddings = not args.no_embeddings
        kb = KnowledgeBase(settings)
        hook = kb.facts.ingest_hook()
        t0 = time.perf_counter()
        for path in sorted((ROOT / "sample_kb" / "tables").glob("*.xlsx")):
            hook.on_file(f"tables/{path.name}", path, {"access_groups": ["everyone"]})
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        kb.facts.index()
        index_s = time.perf_counter() - t0
        correct, times = 0, []
        for item in items:
            t0 = time.perf_counter()
            result = kb.query_facts(item["question"], EMPLOYEE)
            times.append(time.perf_counter() - t0)
            text = fact_output(result).text if result.found else ""
            ok = item["expected_answer"] in text
            correct += ok
            if args.verbose or not ok:
                print(f"{'OK ' if ok else 'MISS'} {item['id']}: {result.status} {result.confidence:.2f} "
                      f"{[h.fact.id for h in result.facts]}")
        false_pos = 0
        for q in OUT_OF_SCOPE:
            result = kb.query_facts(q, EMPLOYEE)
            false_pos += result.found
            if args.verbose or result.found:
                print(f"{'FP ' if result.found else 'ok '} {q}: {result.status} {result.confidence:.2f} "
                      f"{[h.fact.id for h in result.facts]}")
        wrong_fact = 0
        for q in TRAPS:
            result = kb.query_facts(q, EMPLOYEE)
            served = result.status in ("fact", "conflict")
            wrong_fact += served
            if args.verbose or served:
                print(f"{'WRONG' if served else 'ok '} {q}: {result.status} {result.confidence:.2f} "
                      f"{[h.fact.id for h in result.facts]}")
        mode = "keyword only" if args.no_embeddings else f"hybrid ({settings.embedder.backend})"
        print(f"mode: {mode}")
        print(f"answered correctly: {correct}/{len(items)} ({correct / len(items):.0%})")
        print(f"out-of-scope answered (false positives): {false_pos}/{len(OUT_OF_SCOPE)}")
        print(f"same-subject traps answered with a fact (wrong facts): {wrong_fact}/{len(TRAPS)}")
        print(f"tables loaded in {load_s * 1000:.0f} ms; fact index built in {index_s * 1000:.0f} ms")
        print(f"query latency: median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
