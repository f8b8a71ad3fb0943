"""First start: ingest the shipped sample knowledge base when the chunk store is empty."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def ingest_sample_if_empty(kb, progress=None):
    """Ingest ``settings.ingest.sample_kb_dir`` if the store has no sources yet.

    Returns the :class:`~kb_agent.ingest.report.IngestReport`, or None when the store already
    has content or the sample folder is absent. Never raises for a bad sample file (those
    are report lines); a broken store raises StoreError as everywhere else.
    """
    folder = kb.settings.ingest.sample_kb_dir
    if kb.chunk_store.sources() or not folder.is_dir():
        return None
    log.info("empty knowledge base: ingesting the sample knowledge base from %s", folder)
    return kb.ingest([folder], progress=progress)
