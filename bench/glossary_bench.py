"""Glossary lookup, term understanding and offline answers: per-call latency.

    .venv/bin/python bench/glossary_bench.py [--entries 250] [--repeat 2000] [--data-dir DIR]

Builds a glossary of N entries (the sample glossary plus synthetic acronyms, like the
company's ~250-row abbreviation sheet) and times lookup, find_terms/understand and a full
offline `Answerer.ask` (term, fact and document routes + usage log write) on the sample
questions, against the knowledge base in --data-dir (e.g. one where `kb-agent ingest
sample_kb` ran; default: an empty temporary one, so only the glossary answers).
"""

from __future__ import annotations

import argparse
import random
import string
import statistics
import tempfile
import time
from pathlib import Path

from kb_agent.answering import Answerer
from kb_agent.config import PROJECT_ROOT, load_settings
from kb_agent.glossary.index import Glossary
from kb_agent.glossary.model import GlossaryEntry
from kb_agent.glossary.store import GlossaryStore
from kb_agent.glossary.terms import understand
from kb_agent.kb import KnowledgeBase

QUESTIONS = ["AM是什么意思？", "什么是AAP？", "Actual Achieved Price的缩略语是什么？", "AIP是什么活动？",
             "在产品售后流程里，AM负责哪些事情？", "ESS培训每月几次？", "What does MPS stand for?", "QBR是什么"]


def synthetic(n: int, seed: int = 7) -> list[GlossaryEntry]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        term = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(2, 5)))
        words = [rng.choice(["Global", "Service", "Print", "Account", "Quality", "Review", "Order", "Plan"])
                 for _ in range(3)]
        out.append(GlossaryEntry(term, " ".join(words), f"术语{i}号"))
    return out


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=250)
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()

    sample = GlossaryStore(PROJECT_ROOT / "glossary").current().entries
    t0 = time.perf_counter()
    g = Glossary(list(sample) + synthetic(max(0, args.entries - len(sample))))
    build_ms = (time.perf_counter() - t0) * 1000
    print(f"glossary entries: {len(g)}  build: {build_ms:.1f} ms")
    for name, fn in [
        ("lookup (term / reverse / question)", lambda i: g.lookup(QUESTIONS[i % len(QUESTIONS)])),
        ("understand (find + expand)", lambda i: understand(QUESTIONS[i % len(QUESTIONS)], g)),
    ]:
        p50, p95 = timed(fn, args.repeat)
        print(f"{name:38s} p50 {p50:8.1f} µs   p95 {p95:8.1f} µs")
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=args.data_dir or Path(tmp), llm="offline")
        kb = KnowledgeBase(settings)
        kb.warm_up()
        answerer = Answerer(settings, kb)
        p50, p95 = timed(lambda i: answerer.ask(QUESTIONS[i % len(QUESTIONS)]), min(args.repeat, 400))
        print(f"{'offline ask (router + usage log)':38s} p50 {p50 / 1000:8.2f} ms   p95 {p95 / 1000:8.2f} ms")


if __name__ == "__main__":
    main()
