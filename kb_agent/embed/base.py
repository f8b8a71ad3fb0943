"""The Embedder protocol every embedding backend implements."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    #: Identifies model and settings; part of the embedding-cache key.
    model_id: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised, for passages (adds e.g. the e5 'passage: ' prefix)."""

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised, for a search query (adds e.g. 'query: ')."""
