"""Grounding check of final answers (kb_agent/grounding.py): false alarms, catch rate, speed.

Runs :func:`kb_agent.grounding.check` over the faithful and fabricated answers of
tests/grounding_cases.py (one turn's evidence: a Chinese PDF passage, a glossary entry, a table
row, English policy passages, a curated fact, a slide) and prints

- false-alarm rate: faithful answers with any failure (should be 0);
- catch rate: fabricated answers whose fabrication is reported with the expected kind, overall
  and per kind;
- ms per answer, p50/p95, after the tokeniser is loaded (its one-off load is printed apart).

    .venv/bin/python bench/grounding_bench.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_agent import grounding  # noqa: E402
from tests.grounding_cases import (EVIDENCE, FABRICATED, FAITHFUL, HELD_OUT_FABRICATED,  # noqa: E402
                                   HELD_OUT_FAITHFUL)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20, help="timing runs per answer")
    args = ap.parse_args()

    t0 = time.perf_counter()
    grounding.check("预热 warm-up [1]。", EVIDENCE)
    load_ms = (time.perf_counter() - t0) * 1000

    def rates(faithful, fabricated):
        alarms = []
        for answer in faithful:
            g = grounding.check(answer, EVIDENCE)
            if not g.ok:
                alarms.append((answer, [(f.kind, f.text) for f in g.failures]))
        caught: Counter[str] = Counter()
        total: Counter[str] = Counter()
        missed = []
        for answer, kind in fabricated:
            total[kind] += 1
            g = grounding.check(answer, EVIDENCE)
            if kind in g.kinds():
                caught[kind] += 1
            else:
                missed.append((kind, answer, [(f.kind, f.text) for f in g.failures]))
        return alarms, caught, total, missed

    times: list[float] = []
    answers = list(FAITHFUL + HELD_OUT_FAITHFUL) + [a for a, _ in FABRICATED + HELD_OUT_FABRICATED]
    for _ in range(args.repeat):
        for answer in answers:
            t = time.perf_counter()
            grounding.check(answer, EVIDENCE)
            times.append((time.perf_counter() - t) * 1000)
    long_answer = "\n".join(FAITHFUL)          # one long multi-paragraph answer
    long_times = []
    for _ in range(max(3, args.repeat // 4)):
        t = time.perf_counter()
        grounding.check(long_answer, EVIDENCE)
        long_times.append((time.perf_counter() - t) * 1000)

    print(f"evidence: {len(EVIDENCE)} items")
    shown = []
    for name, faithful, fabricated in (("tuning set", FAITHFUL, FABRICATED),
                                       ("held-out set", HELD_OUT_FAITHFUL, HELD_OUT_FABRICATED)):
        alarms, caught, total, missed = rates(faithful, fabricated)
        n_fab = sum(total.values())
        print(f"{name}: {len(faithful)} faithful, {n_fab} fabricated")
        print(f"  false-alarm rate: {len(alarms)}/{len(faithful)} = {len(alarms) / len(faithful):.1%}")
        print(f"  catch rate:       {sum(caught.values())}/{n_fab} = {sum(caught.values()) / n_fab:.1%}  ("
              + ", ".join(f"{k} {caught[k]}/{total[k]}" for k in sorted(total)) + ")")
        shown += [("FALSE ALARM", a, f) for a, f in alarms] + [(f"MISSED ({k})", a, f) for k, a, f in missed]
    print(f"ms per answer (warm, {len(times)} runs): p50 {statistics.median(times):.2f}  p95 {pct(times, 0.95):.2f}  "
          f"max {max(times):.2f}")
    print(f"long answer ({len(long_answer)} chars, {len(FAITHFUL)} paragraphs): p50 {statistics.median(long_times):.1f} ms")
    print(f"first call (loads the jieba tokeniser): {load_ms:.0f} ms")
    print(f"threshold: MIN_COVERAGE {grounding.MIN_COVERAGE}, MIN_TOKENS {grounding.MIN_TOKENS}")
    for what, answer, fails in shown:
        print(f"{what}: {answer} {fails}")

if __name__ == "__main__":
    main()
