"""End-to-end `Retriever.retrieve` at 10k / 100k chunks: the real product path (chunk store in
SQLite, FAISS + BM25 + RRF + filters + fetching the passages), start-up cost included.

    .venv/bin/python bench/retrieval_hybrid.py --sizes 10000 100000

Chunks are the synthetic sentences of bench/retrieval_corpus.py, 50 per source file, embedded
with the static MiniLM embedder (see retrieval_scale.py for why); one source in 100 is
restricted to the `finance` group and queries are made as an ordinary employee, so the access
filter is always on. Query latency includes embedding the query (static: ~0.05 ms; add the full
model's cost printed by retrieval_scale.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval_corpus import queries, sentences  # noqa: E402
from retrieval_static_embedder import StaticMiniLM  # noqa: E402

from kb_agent.access import EMPLOYEE  # noqa: E402
from kb_agent.chunk import Chunk, Locator, text_hash  # noqa: E402
from kb_agent.config import RetrievalSettings  # noqa: E402
from kb_agent.index.retriever import Retriever  # noqa: E402
from kb_agent.store.chunks import ChunkStore, SourceRecord  # noqa: E402


class Embedder:
    """The static embedder behind the kb-agent Embedder protocol."""

    def __init__(self, static: StaticMiniLM):
        self.static = static
        self.model_id = static.model_id
        self.dim = static.dim

    def embed_documents(self, texts):
        return self.static.embed(list(texts))

    def embed_query(self, text):
        return self.static.embed_query(text)


def fill(store: ChunkStore, emb: Embedder, n: int, per_file: int = 50) -> float:
    started = time.perf_counter()
    texts = sentences(n)
    vectors = emb.embed_documents(texts)
    hashes = [text_hash(t) for t in texts]
    for i in range(0, n, 5000):
        store.put_embeddings(emb.model_id, hashes[i:i + 5000], vectors[i:i + 5000])
    for f, start in enumerate(range(0, n, per_file)):
        source = f"memos/{f // 100:03d}/memo_{f:05d}.txt"
        groups = ("finance",) if f % 100 == 7 else ("everyone",)
        chunks = [Chunk(text=texts[j], source=source, locator=Locator.for_page(j - start + 1),
                        metadata={"access_groups": list(groups)}) for j in range(start, min(n, start + per_file))]
        store.replace_source(SourceRecord(path=source, content_hash=str(f), mtime=0.0, chunks=len(chunks),
                                          status="ok", access_groups=groups, file_type="txt"),
                             chunks, hashes[start:start + len(chunks)])
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/kb-agent-bench/static_minilm.npy"))
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(args.threads)
    emb = Embedder(StaticMiniLM(cache=args.cache))
    settings = RetrievalSettings(use_gpu=False)
    qs = queries(args.queries, seed=21)
    print(f"# {args.threads} FAISS thread(s); hnsw_threshold {settings.hnsw_threshold}, efConstruction "
          f"{settings.hnsw_ef_construction}, efSearch {settings.hnsw_ef_search}; top_k 5, candidates {settings.candidates}")
    print("| chunks | vector index | fill store s | first load (build FAISS + BM25) s | reload from disk s "
          "| retrieve p50 ms | p95 ms | incremental add of 1 file, next query ms |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = ChunkStore(Path(tmp) / "kb.sqlite3")
            fill_s = fill(store, emb, n)
            r = Retriever(settings, Path(tmp) / "index", store, emb)
            t = time.perf_counter()
            r.sync()
            build_s = time.perf_counter() - t
            r.flush()                                     # large indexes are saved in the background
            r2 = Retriever(settings, Path(tmp) / "index", store, emb)
            t = time.perf_counter()
            r2.sync()
            reload_s = time.perf_counter() - t
            for q in qs[:5]:
                r.retrieve(q, EMPLOYEE)
            lat = []
            for q in qs:
                t = time.perf_counter()
                res = r.retrieve(q, EMPLOYEE)
                lat.append((time.perf_counter() - t) * 1000)
                assert all("finance" not in h.chunk.access_groups for h in res.hits)
            extra = [Chunk(text=s, source="memos/new.txt", locator=Locator.for_page(i + 1))
                     for i, s in enumerate(sentences(50, seed=99))]
            hashes = [text_hash(c.text) for c in extra]
            store.put_embeddings(emb.model_id, hashes, emb.embed_documents([c.text for c in extra]))
            store.replace_source(SourceRecord(path="memos/new.txt", content_hash="new", mtime=0.0, chunks=50,
                                              status="ok", file_type="txt"), extra, hashes)
            t = time.perf_counter()
            r.retrieve(qs[0], EMPLOYEE)
            inc_ms = (time.perf_counter() - t) * 1000
            r.flush()
            kind = r.stats()["vector_index"]
            print(f"| {n:,} | {kind} | {fill_s:.1f} | {build_s:.1f} | {reload_s:.1f} | {np.percentile(lat, 50):.2f} | "
                  f"{np.percentile(lat, 95):.2f} | {inc_ms:.0f} |", flush=True)
            store.close()


if __name__ == "__main__":
    main()
