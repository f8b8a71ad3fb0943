"""FAISS + bm25s vs Milvus (milvus-lite) behind the same Retriever: index build, incremental
ingestion, reload, `retrieve` latency and memory on a generated corpus.

    .venv/bin/python bench/search_backends_bench.py --sizes 10000 100000 \\
        --backends faiss+bm25s milvus+milvus --queries 100 --max-seconds 150

Chunks are the synthetic sentences of bench/retrieval_corpus.py, 50 per source file, one file
in 100 restricted to `finance`; queries run as an ordinary employee, so the access filter is
always on. Vectors come from a 384-dim character-bigram hashing embedder: cheap and
deterministic, fine for latency and throughput, *not* a measure of answer quality (the
sample evaluation, `kb-agent eval`, is). Latency includes embedding the query (~0.05 ms).

Every backend and size runs in a fresh subprocess, so memory is its own:
- *peak RSS*: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that process at the end (milvus-lite
  3.x runs inside the process, so its engine is counted);
- *growth*: peak RSS minus the RSS (VmRSS) taken after the imports, before the corpus, the chunk
  store and the indexes were built. So growth holds the backend's libraries (faiss, bm25s + jieba,
  pymilvus + milvus-lite, imported on first use) and its indexes, and, for every backend alike,
  the corpus, its vectors and the SQLite chunk store's page cache.

Query latency: after 2 warm-up queries, up to ``--queries`` timed queries, stopping early once
``--max-seconds`` of timed queries have passed (milvus-lite's BM25 search takes seconds a query at
100k chunks); the table gives the number actually timed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval_corpus import queries, sentences  # noqa: E402

from kb_agent.access import EMPLOYEE  # noqa: E402
from kb_agent.chunk import Chunk, Locator, text_hash  # noqa: E402
from kb_agent.config import RetrievalSettings  # noqa: E402
from kb_agent.index.retriever import Retriever  # noqa: E402
from kb_agent.store.chunks import ChunkStore, SourceRecord  # noqa: E402

BACKENDS = {"faiss+bm25s": {}, "milvus+milvus": {"vector_backend": "milvus", "keyword_backend": "milvus"},
            "faiss+milvus-bm25": {"keyword_backend": "milvus"}}


class HashEmbedder:
    model_id = "bench-hash-384"
    dim = 384

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for a, b in zip(text, text[1:] + " "):
            v[int(hashlib.md5((a + b).encode()).hexdigest()[:8], 16) % self.dim] += 1.0
        return v / (np.linalg.norm(v) or 1.0)

    def embed_documents(self, texts):
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text):
        return self._vec(text)


def fill(store: ChunkStore, emb: HashEmbedder, texts: list[str], prefix: str = "memos", per_file: int = 50) -> None:
    vectors = emb.embed_documents(texts)
    hashes = [text_hash(t) for t in texts]
    store.put_embeddings(emb.model_id, hashes, vectors)
    for f, start in enumerate(range(0, len(texts), per_file)):
        source = f"{prefix}/{f // 100:03d}/memo_{f:05d}.txt"
        groups = ("finance",) if f % 100 == 7 else ("everyone",)
        chunks = [Chunk(text=texts[j], source=source, locator=Locator.for_page(j - start + 1),
                        metadata={"access_groups": list(groups)}) for j in range(start, min(len(texts), start + per_file))]
        store.replace_source(SourceRecord(path=source, content_hash=f"{prefix}{f}", mtime=0.0, chunks=len(chunks),
                                          status="ok", access_groups=groups, file_type="txt"),
                             chunks, hashes[start:start + len(chunks)])


def rss_mb() -> float:
    """Resident set size of this process now (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # KiB on Linux


def timed_queries(r: Retriever, qs: list[str], max_seconds: float) -> list[float]:
    """Latencies (ms) of up to len(qs) queries, stopping once ``max_seconds`` of them have run."""
    for q in qs[:2]:
        r.retrieve(q, EMPLOYEE)
    lat: list[float] = []
    for q in qs:
        t = time.perf_counter()
        res = r.retrieve(q, EMPLOYEE)
        lat.append((time.perf_counter() - t) * 1000)
        assert all("finance" not in h.chunk.access_groups for h in res.hits)
        if sum(lat) / 1000 >= max_seconds:
            break
    return lat


def measure(name: str, n: int, n_queries: int, max_seconds: float, threads: int) -> dict:
    """One backend at one size, in this process (a fresh one: see ``main``)."""
    baseline = rss_mb()
    if "faiss" in name:
        import faiss

        faiss.omp_set_num_threads(threads)
    from kb_agent.index.milvus.connection import close_clients

    emb, qs = HashEmbedder(), queries(n_queries, seed=21)
    settings = RetrievalSettings(use_gpu=False, **BACKENDS[name])
    with tempfile.TemporaryDirectory() as tmp:
        store = ChunkStore(Path(tmp) / "kb.sqlite3")
        fill(store, emb, sentences(n))
        r = Retriever(settings, Path(tmp) / "index", store, emb)
        t = time.perf_counter()
        r.sync()
        r.flush()
        build_s = time.perf_counter() - t
        extra = sentences(n + 50)[n:]
        t = time.perf_counter()
        fill(store, emb, extra, prefix="new")
        r.sync()
        add_ms = (time.perf_counter() - t) * 1000
        lat = timed_queries(r, qs, max_seconds)
        r.flush()
        close_clients()
        r2 = Retriever(settings, Path(tmp) / "index", store, emb)
        t = time.perf_counter()
        r2.sync()
        reload_s = time.perf_counter() - t
        close_clients()
        store.close()
    peak = peak_rss_mb()
    return {"backend": name, "chunks": n, "build_s": build_s, "add_ms": add_ms, "reload_s": reload_s,
            "queries": len(lat), "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)),
            "peak_rss_mb": peak, "rss_growth_mb": peak - baseline}


def in_subprocess(name: str, n: int, args) -> dict:
    cmd = [sys.executable, __file__, "--one", name, str(n), "--queries", str(args.queries),
           "--max-seconds", str(args.max_seconds), "--threads", str(args.threads)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def row(m: dict) -> str:
    return (f"| {m['backend']} | {m['chunks']:,} | {m['build_s']:.2f} | {m['chunks'] / m['build_s']:.0f} "
            f"| {m['add_ms']:.0f} | {m['reload_s']:.2f} | {m['queries']} | {m['p50_ms']:.2f} | {m['p95_ms']:.2f} "
            f"| {m['peak_rss_mb']:.0f} | {m['rss_growth_mb']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10_000])
    ap.add_argument("--queries", type=int, default=100, help="timed queries at most")
    ap.add_argument("--max-seconds", type=float, default=float("inf"),
                    help="stop timing queries once this many seconds of them have run (per backend and size)")
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--one", nargs=2, metavar=("BACKEND", "CHUNKS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.queries, args.max_seconds, args.threads)))
        return
    print("| backends (vector+keyword) | chunks | index build s | chunks/s | +50 chunks, sync ms | reload s "
          "| queries timed | retrieve p50 ms | p95 ms | peak RSS MB | RSS growth MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        for name in args.backends:
            print(row(in_subprocess(name, n, args)), flush=True)


if __name__ == "__main__":
    main()
