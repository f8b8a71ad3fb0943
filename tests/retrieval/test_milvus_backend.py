"""The whole retrieval path with ``vector_backend`` and ``keyword_backend: milvus`` (milvus-lite on a
file in the test's data directory), real embeddings and the sample corpus: the same answers,
citations, access control and filters as the default FAISS + bm25s (tests/retrieval/test_retriever.py)."""

from __future__ import annotations

import shutil

import pytest

from kb_agent.access import EMPLOYEE, LOCAL_ADMIN, Principal
from kb_agent.config import PROJECT_ROOT as REPO
from kb_agent.config import load_settings
from kb_agent.kb import KnowledgeBase
from kb_agent.router import route
from kb_agent.store.chunks import ChunkStore
from tests.retrieval.conftest import ONE_THREAD
from tests.retrieval.corpus import fill

MILVUS = {"vector_backend": "milvus", "keyword_backend": "milvus", "use_gpu": False}
FINANCE = Principal("fiona", frozenset({"finance"}))


@pytest.fixture(scope="module")
def milvus_kb(tmp_path_factory, embedder):
    """One knowledge base for the module's read-only tests: milvus-lite starts once, not per test."""
    root = tmp_path_factory.mktemp("milvus-kb")
    glossary = root / "glossary"
    shutil.copytree(REPO / "glossary", glossary)
    settings = load_settings(data_dir=root / "data", glossary={"dir": glossary, "reload_check_s": 0},
                             embedder=ONE_THREAD, retrieval=MILVUS)
    store = ChunkStore(settings.data_dir / "kb.sqlite3")
    fill(store, embedder)
    store.close()
    kb = KnowledgeBase(settings)
    yield kb
    from kb_agent.index.milvus.connection import close_clients

    close_clients()


def test_the_backends_are_milvus(milvus_kb):
    stats = milvus_kb.retriever.stats()
    assert (stats["vector_backend"], stats["keyword_backend"]) == ("milvus", "milvus")
    assert stats["vectors"] == stats["chunks"] == 12 and stats["index_file"].startswith(
        str(milvus_kb.settings.data_dir / "index"))


def test_chinese_question_with_acronym_finds_the_cited_passage(milvus_kb):
    r = milvus_kb.retrieve("AM在售后流程里负责什么", EMPLOYEE)
    assert r.found and r.hits[0].chunk.locator.label() == "产品售后流程 > 客户经理职责"
    assert r.hits[0].dense_rank is not None and r.hits[0].keyword_rank is not None


@pytest.mark.parametrize("question,source,label", [
    ("ESS培训每月几次？", "hr/ess_training_notice.pdf", "p. 1"),
    ("How many pages per minute does the SL-500 print?", "products/springlake_sl500_training.pptx", "slide 2"),
    ("hotel cap per night in tier-1 cities", "policies/expense_policy.md", "Expense policy > Hotels"),
    ("AIP 2026 booth number", "events/aip_2026_plan.xlsx", "Plan!A1:D4"),
])
def test_questions_find_the_right_source_and_locator(milvus_kb, question, source, label):
    r = milvus_kb.retrieve(question, EMPLOYEE, top_k=3)
    assert r.found and (r.hits[0].chunk.source, r.hits[0].chunk.locator.label()) == (source, label)


def test_unrelated_question_finds_nothing(milvus_kb):
    assert not milvus_kb.retrieve("今天天气怎么样", EMPLOYEE).found


def test_access_groups_and_filters(milvus_kb):
    q = "SL-500 floor price CFO approval"
    assert all(h.chunk.source != "finance/sl500_floor_price.md" for h in milvus_kb.retrieve(q, EMPLOYEE, top_k=20).hits)
    assert milvus_kb.retrieve(q, FINANCE).hits[0].chunk.source == "finance/sl500_floor_price.md"
    assert milvus_kb.retrieve(q, LOCAL_ADMIN).hits[0].chunk.source == "finance/sl500_floor_price.md"
    r = milvus_kb.retrieve("客户经理负责什么", EMPLOYEE, top_k=2, filters={"folders": ["hr"]})
    assert [h.chunk.source for h in r.hits] == ["hr/ess_training_notice.pdf"] * 2


def test_offline_route_answers_from_milvus(milvus_kb):
    answer, _ = route("在产品售后流程里，AM负责哪些事情？", milvus_kb, EMPLOYEE)
    assert answer.route == "doc" and "processes/after_sales_process.docx" in str(answer.output.citations or answer.text)



def test_a_new_process_reuses_the_collections_instead_of_rebuilding(make_settings, chunk_store):
    """Collections written by one process start 'released' in the next; opening them must load
    them, not fall back to a rebuild from the chunk store on every start (and print no
    tracebacks from milvus-lite's gRPC server). Two real processes, one after the other."""
    import json
    import subprocess
    import sys

    settings = make_settings(embedder=ONE_THREAD, retrieval=MILVUS)
    code = ("import json, logging, sys; from kb_agent.config import load_settings; from kb_agent.kb import KnowledgeBase; "
            "from kb_agent.access import EMPLOYEE; logging.basicConfig(level=logging.INFO); "
            "kb = KnowledgeBase(load_settings(**json.loads(sys.argv[1]))); "
            "r = kb.retrieve('ESS培训每月几次？', EMPLOYEE); kb.retriever.flush(); "
            "print(r.hits[0].chunk.source if r.found else 'none')")
    args = json.dumps({"data_dir": str(settings.data_dir), "glossary": {"dir": str(settings.glossary.dir)},
                       "embedder": ONE_THREAD, "retrieval": MILVUS})
    runs = [subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, timeout=300)
            for _ in range(2)]
    for out in runs:
        assert out.returncode == 0 and out.stdout.strip() == "hr/ess_training_notice.pdf", out.stderr[-3000:]
        assert "Traceback" not in out.stderr, out.stderr[-3000:]
    assert "rebuil" not in runs[1].stderr.lower(), runs[1].stderr[-3000:]
