"""Follow-up questions in offline mode, measured on eval/followups.jsonl (issue #16, item 1).

Each item is an earlier question (or two) and a new one, marked ``leans`` (it depends on the
earlier turn) or not. The sample knowledge base is ingested into a temporary data directory;
every item is answered by the offline Answerer with its history. Printed: how many leaning
questions were resolved and then answered with the expected text, and how many standalone
questions were left unchanged (the resolver must not touch them) and, where an answer is
expected, still answered.

Usage: .venv/bin/python bench/followup_eval.py [--verbose]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb_agent.answering import Answerer  # noqa: E402
from kb_agent.config import load_settings  # noqa: E402
from kb_agent.kb import KnowledgeBase  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=ROOT / "eval" / "followups.jsonl")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    items = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data")
        kb = KnowledgeBase(settings)
        kb.ingest([ROOT / "sample_kb"])
        answerer = Answerer(settings, kb)
        rows, ms = [], []
        for item in items:
            history = []
            for q in item["history"]:
                history += [{"role": "user", "content": q}, {"role": "assistant", "content": answerer.ask(q, history=history).answer}]
            start = time.perf_counter()
            got = answerer.ask(item["question"], history=history)
            ms.append((time.perf_counter() - start) * 1000)
            changed = got.followup is not None
            expected = item.get("expected_answer")
            answered = expected is None or (got.found and expected.lower() in got.answer.lower())
            rows.append((item, changed, answered, got))
            if args.verbose:
                print(f"{item['id']:22} leans={item['leans']!s:5} changed={changed!s:5} answered={answered!s:5} "
                      f"-> {got.followup.question if changed else item['question']}")
    leaning = [r for r in rows if r[0]["leans"]]
    alone = [r for r in rows if not r[0]["leans"]]
    resolved = sum(1 for r in leaning if r[1])
    answered = sum(1 for r in leaning if r[1] and r[2])
    untouched = sum(1 for r in alone if not r[1])
    alone_expect = [r for r in alone if r[0].get("expected_answer")]
    print(f"follow-ups: {len(leaning)} leaning, {resolved} resolved, {answered} answered with the expected text")
    print(f"standalone: {len(alone)}, {untouched} left unchanged; "
          f"{sum(1 for r in alone_expect if r[2])}/{len(alone_expect)} with an expected answer still answered")
    ms.sort()
    print(f"offline answer with history: p50 {ms[len(ms) // 2]:.0f} ms, max {ms[-1]:.0f} ms")


if __name__ == "__main__":
    main()
