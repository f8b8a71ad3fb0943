"""DashScope text embeddings over HTTP (``text-embedding-v3`` by default), as used before.

Native endpoint: ``POST {base_url}`` with ``{"model", "input": {"texts": [...]},
"parameters": {"text_type": "document"|"query", "dimension"?}}``; the answer carries
``output.embeddings[i] = {"text_index", "embedding"}``. Batches are capped per model (10 for
v3/v4). Tests run it against a local fake server on 127.0.0.1.
"""

from __future__ import annotations

import time
from typing import Sequence

import httpx
import numpy as np

from kb_agent.errors import EmbeddingError

_DIMS = {"text-embedding-v1": 1536, "text-embedding-v2": 1536, "text-embedding-v3": 1024,
         "text-embedding-v4": 1024}
_BATCH = {"text-embedding-v1": 25, "text-embedding-v2": 25}


class DashScopeEmbedder:
    def __init__(self, api_key: str, *, model: str = "text-embedding-v3", base_url: str,
                 dimension: int | None = None, timeout_s: float = 60.0, retries: int = 2):
        if not api_key:
            raise EmbeddingError("DashScope embeddings need an API key",
                                 hint="set embedder.api_key, dashscope.api_key or DASHSCOPE_API_KEY")
        self.model = model
        self.base_url = base_url
        self.dimension = dimension
        self.dim = dimension or _DIMS.get(model, 1024)
        self.model_id = f"dashscope:{model}:{self.dim}"
        self.batch = _BATCH.get(model, 10)
        self.retries = retries
        self._client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {api_key}"})

    @classmethod
    def from_settings(cls, settings) -> "DashScopeEmbedder":
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        return cls(key, model=settings.model or "text-embedding-v3", base_url=settings.base_url,
                   dimension=settings.dimension, timeout_s=settings.request_timeout_s)

    def _post(self, texts: list[str], text_type: str) -> np.ndarray:
        body: dict = {"model": self.model, "input": {"texts": texts}, "parameters": {"text_type": text_type}}
        if self.dimension:
            body["parameters"]["dimension"] = self.dimension
        last = ""
        for attempt in range(self.retries + 1):
            try:
                resp = self._client.post(self.base_url, json=body)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    return self._parse(resp.json(), len(texts))
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in (429, 500, 502, 503, 504):
                    break
            time.sleep(min(2.0, 0.2 * 2 ** attempt))
        raise EmbeddingError(f"DashScope embedding request failed ({last})", hint=f"endpoint {self.base_url}")

    def _parse(self, data: dict, n: int) -> np.ndarray:
        try:
            items = data["output"]["embeddings"]
            out = np.zeros((n, self.dim), np.float32)
            seen = set()
            for item in items:
                i = int(item["text_index"])
                out[i] = np.asarray(item["embedding"], np.float32)
                seen.add(i)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise EmbeddingError(f"DashScope answered an unexpected body: {str(data)[:200]}") from exc
        if len(seen) != n:
            raise EmbeddingError(f"DashScope returned {len(seen)} embeddings for {n} texts")
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(out / norms, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.vstack([self._post(texts[i:i + self.batch], "document") for i in range(0, len(texts), self.batch)])

    def embed_query(self, text: str) -> np.ndarray:
        return self._post([text], "query")[0]
