"""FAISS + bm25s vs Milvus (milvus-lite) behind the same Retriever: index build, incremental
ingestion, reload and `retrieve` latency on a generated corpus.

    .venv/bin/python bench/search_backends_bench.py --sizes 2000 10000 --queries 100

Chunks are the synthetic sentences of bench/retrieval_corpus.py, 50 per source file, one file
in 100 restricted to `finance`; queries run as an ordinary employee, so the access filter is
always on. Vectors come from a 384-dim character-bigram hashing embedder: cheap and
deterministic, fine for latency and throughput, *not* a measure of answer quality (the
sample evaluation, `kb-agent eval`, is). Latency includes embedding the query (~0.05 ms).
"""

from __future__ import annotations

import argparse
import hashlib
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


def run(name: str, overrides: dict, n: int, qs: list[str], emb: HashEmbedder) -> str:
    from kb_agent.index.milvus.connection import close_clients

    settings = RetrievalSettings(use_gpu=False, **overrides)
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
        for q in qs[:5]:
            r.retrieve(q, EMPLOYEE)
        lat = []
        for q in qs:
            t = time.perf_counter()
            res = r.retrieve(q, EMPLOYEE)
            lat.append((time.perf_counter() - t) * 1000)
            assert all("finance" not in h.chunk.access_groups for h in res.hits)
        r.flush()
        close_clients()
        r2 = Retriever(settings, Path(tmp) / "index", store, emb)
        t = time.perf_counter()
        r2.sync()
        reload_s = time.perf_counter() - t
        close_clients()
        store.close()
    return (f"| {name} | {n} | {build_s:.2f} | {n / build_s:.0f} | {add_ms:.0f} | {reload_s:.2f} "
            f"| {np.percentile(lat, 50):.2f} | {np.percentile(lat, 95):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10_000])
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(args.threads)
    emb = HashEmbedder()
    qs = queries(args.queries, seed=21)
    print("| backends (vector+keyword) | chunks | index build s | chunks/s | +50 chunks, sync ms | reload s "
          "| retrieve p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        for name in args.backends:
            print(run(name, BACKENDS[name], n, qs, emb), flush=True)


if __name__ == "__main__":
    main()
