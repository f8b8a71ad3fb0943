"""The Retriever over a real ChunkStore (SQLite) with real embeddings: hybrid hits with exact
locators, glossary expansion, access groups and filters, incremental sync, persistence,
recovery from a broken index, and consistent snapshots under concurrent ingestion."""

from __future__ import annotations

import threading

import pytest

from kb_agent.access import EMPLOYEE, LOCAL_ADMIN, Principal
from kb_agent.chunk import Locator
from kb_agent.errors import StoreError
from kb_agent.index.filters import SearchFilters
from kb_agent.kb import KnowledgeBase
from kb_agent.router import route
from tests.retrieval.conftest import ONE_THREAD
from tests.retrieval.corpus import add_source

FINANCE = Principal("fiona", frozenset({"finance"}))


def test_chinese_question_with_acronym_finds_the_cited_passage(kb):
    r = kb.retrieve("AM在售后流程里负责什么", EMPLOYEE)
    assert r.found
    assert "Account Manager" in r.expansion and "客户经理" in r.expanded_query
    top = r.hits[0]
    assert top.chunk.source == "processes/after_sales_process.docx"
    assert top.chunk.locator.label() == "产品售后流程 > 客户经理职责"
    assert top.dense_rank is not None and top.keyword_rank is not None      # both searches agree


@pytest.mark.parametrize("question,source,label", [
    ("ESS培训每月几次？", "hr/ess_training_notice.pdf", "p. 1"),
    ("How many pages per minute does the SL-500 print?", "products/springlake_sl500_training.pptx", "slide 2"),
    ("hotel cap per night in tier-1 cities", "policies/expense_policy.md", "Expense policy > Hotels"),
    ("AIP 2026 booth number", "events/aip_2026_plan.xlsx", "Plan!A1:D4"),
])
def test_questions_find_the_right_source_and_locator(kb, question, source, label):
    r = kb.retrieve(question, EMPLOYEE, top_k=3)
    assert r.found and (r.hits[0].chunk.source, r.hits[0].chunk.locator.label()) == (source, label)
    assert len(r.hits) == 3


@pytest.mark.parametrize("question", ["今天天气怎么样", "Who won the football world cup in 1998?",
                                      "量子计算机的原理是什么"])
def test_unrelated_questions_find_nothing_relevant(kb, question):
    r = kb.retrieve(question, EMPLOYEE)
    assert not r.found and r.relevant == ()


def test_an_english_question_finds_a_chinese_passage_by_its_words(make_settings, chunk_store, embedder):
    # The passage shares no word with the question; the dictionary bridge searches for the
    # question's words in Chinese (rent → 租金, staff → 员工) and finds it by them.
    add_source(chunk_store, embedder, "hr/parking.md", [(Locator.for_heading("停车管理"),
                                                         "员工停车位每月租金三百元，向行政部申请。")])
    question = "What is the monthly rent for a staff parking spot?"
    bridged = KnowledgeBase(make_settings(embedder=ONE_THREAD)).retrieve(question, EMPLOYEE)
    hit = next(h for h in bridged.hits if h.chunk.source == "hr/parking.md")
    assert hit.bridged_rank == 1 and hit.keyword_rank is None
    assert bridged.hits[0].chunk.source == "hr/parking.md"
    off = KnowledgeBase(make_settings(embedder=ONE_THREAD, retrieval={"bridge_languages": False}))
    assert all(h.bridged_rank is None for h in off.retrieve(question, EMPLOYEE).hits)


def test_access_groups_are_enforced_inside_the_search(kb):
    q = "SL-500 floor price CFO approval"
    assert all(h.chunk.source != "finance/sl500_floor_price.md" for h in kb.retrieve(q, EMPLOYEE, top_k=20).hits)
    assert kb.retrieve(q, FINANCE).hits[0].chunk.source == "finance/sl500_floor_price.md"
    assert kb.retrieve(q, LOCAL_ADMIN).hits[0].chunk.source == "finance/sl500_floor_price.md"


def test_folder_and_type_filters_keep_k_results(kb):
    r = kb.retrieve("客户经理负责什么", EMPLOYEE, top_k=2, filters={"folders": ["hr"]})
    assert [h.chunk.source for h in r.hits] == ["hr/ess_training_notice.pdf"] * 2   # not lost after truncation
    r = kb.retrieve("training", EMPLOYEE, top_k=5, filters=SearchFilters(file_types=("pptx",)))
    assert r.hits and {h.chunk.source for h in r.hits} == {"products/springlake_sl500_training.pptx"}
    assert kb.retrieve("price", EMPLOYEE, filters={"folders": ["finance"]}).hits == ()


def test_incremental_add_and_remove_follow_the_chunk_store(kb, chunk_store, embedder):
    retriever = kb.retriever
    before = retriever.stats()
    add_source(chunk_store, embedder, "services/mps_sla.md",
               [(Locator.for_heading("MPS SLA"), "MPS客户在一线城市（北京、上海、广州、深圳）4小时内上门响应，其他城市次个工作日。")])
    r = kb.retrieve("MPS一线城市多久上门响应", EMPLOYEE)
    assert r.hits[0].chunk.source == "services/mps_sla.md"
    after = retriever.stats()
    assert after["vectors"] == before["vectors"] + 1 and after["generation"] > before["generation"]
    chunk_store.remove_source("services/mps_sla.md")
    assert all(h.chunk.source != "services/mps_sla.md" for h in kb.retrieve("MPS一线城市多久上门响应", EMPLOYEE).hits)
    assert retriever.stats()["vectors"] == before["vectors"]


def test_index_is_persisted_and_loaded_without_rebuilding(kb, docs_settings, chunk_store, monkeypatch):
    kb.retrieve("ESS培训", EMPLOYEE)
    path = kb.retriever.vector_path
    assert path.is_file()
    fresh = KnowledgeBase(docs_settings)
    calls = []
    original = type(chunk_store).vectors
    monkeypatch.setattr(type(chunk_store), "vectors", lambda self, m: calls.append(m) or original(self, m))
    assert fresh.retrieve("ESS培训每月几次", EMPLOYEE).hits[0].chunk.source == "hr/ess_training_notice.pdf"
    assert calls == []                                                     # loaded from the file


def test_broken_index_file_is_rebuilt_from_the_chunk_store(kb, docs_settings):
    kb.retrieve("ESS培训", EMPLOYEE)
    path = kb.retriever.vector_path
    path.write_bytes(b"garbage")
    fresh = KnowledgeBase(docs_settings)
    assert fresh.retrieve("ESS培训每月几次", EMPLOYEE).hits[0].chunk.source == "hr/ess_training_notice.pdf"


def test_unusable_chunk_store_is_a_clear_error_and_glossary_keeps_working(make_settings):
    settings = make_settings(embedder={"num_threads": 1})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "kb.sqlite3").write_bytes(b"this is not a database" * 100)
    kb = KnowledgeBase(settings)
    with pytest.raises(StoreError):
        kb.retrieve("ESS培训每月几次", EMPLOYEE)
    assert kb.lookup_term("AM").found
    answer, _ = route("AM是什么意思", kb, EMPLOYEE)
    assert answer.route == "term"
    answer, _ = route("售后流程里谁联系客户", kb, EMPLOYEE)                    # the doc route reports it
    assert answer.route == "doc" and not answer.output.found and "不可用" in answer.text and "ingest" in answer.text


def test_readers_see_one_generation_while_ingestion_replaces_a_file(kb, chunk_store, embedder):
    versions = {
        "A": [(Locator.for_page(p), f"版本甲 第{p}页：GWS安全打印徽章释放说明 alpha") for p in (1, 2, 3)],
        "B": [(Locator.for_page(p), f"版本乙 第{p}页：GWS安全打印徽章释放说明 beta") for p in (1, 2, 3)],
    }
    add_source(chunk_store, embedder, "products/gws.pdf", versions["A"])
    kb.retrieve("GWS", EMPLOYEE)
    errors, mixed, seen = [], [], set()
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                r = kb.retrieve("GWS安全打印徽章释放", EMPLOYEE, top_k=3, filters={"folders": ["products"]})
                tags = {("alpha" in h.chunk.text, "beta" in h.chunk.text) for h in r.hits
                        if h.chunk.source == "products/gws.pdf"}
                seen.update(tags)
                if len(tags) > 1:
                    mixed.append(tags)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(6):
        add_source(chunk_store, embedder, "products/gws.pdf", versions["B" if i % 2 == 0 else "A"])
        kb.retriever.sync()
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors and not mixed
    assert seen                                                            # the readers did search


def test_embedder_failure_falls_back_to_keyword_search(kb, monkeypatch):
    from kb_agent.errors import EmbeddingError

    kb.retrieve("warm up", EMPLOYEE)
    embedder = kb.retriever.embedder

    def broken(text):
        raise EmbeddingError("model file unreadable")

    monkeypatch.setattr(embedder, "embed_query", broken)              # fault injection at query time
    r = kb.retrieve("ESS培训每月几次", EMPLOYEE)
    assert r.found and r.hits[0].chunk.source == "hr/ess_training_notice.pdf"
    assert r.notes and "keyword search only" in r.notes[0]
    assert not kb.retrieve("zzzz qqqq", EMPLOYEE).found


def test_past_the_threshold_the_index_is_hnsw_with_tombstones(make_settings, embedder):
    from kb_agent.store.chunks import ChunkStore
    from tests.retrieval.corpus import fill

    settings = make_settings(embedder={"num_threads": 1}, retrieval={"hnsw_threshold": 5, "compact_share": 0.5})
    store = ChunkStore(settings.data_dir / "kb.sqlite3")
    fill(store, embedder)
    kb = KnowledgeBase(settings)
    assert kb.retrieve("ESS培训每月几次", EMPLOYEE).hits[0].chunk.source == "hr/ess_training_notice.pdf"
    stats = kb.retriever.stats()
    assert stats["vector_index"] == "hnsw" and stats["vectors"] == 12
    store.remove_source("hr/ess_training_notice.pdf")                    # 2 chunks: tombstoned
    r = kb.retrieve("ESS培训每月几次", EMPLOYEE, top_k=10)
    assert all(h.chunk.source != "hr/ess_training_notice.pdf" for h in r.hits)
    stats = kb.retriever.stats()
    assert stats["vectors"] == 10 and stats["tombstones"] == 2
    store.remove_source("processes/after_sales_process.docx")            # 3 more: past compact_share
    kb.retrieve("售后", EMPLOYEE)
    assert kb.retriever.stats()["tombstones"] == 0 and kb.retriever.stats()["vectors"] == 7
    store.close()


def test_index_of_a_deleted_chunk_store_is_not_reused(kb, docs_settings, chunk_store, embedder):
    """An admin moves kb.sqlite3 away and re-ingests: rowids and generations restart, so the saved
    index must not map the new store's rowids to the old store's vectors."""
    old = kb.retrieve("ESS培训每月几次", EMPLOYEE)
    assert old.found and kb.retriever.vector_path.is_file()
    old_generation = chunk_store.generation()
    chunk_store.close()
    (docs_settings.data_dir / "kb.sqlite3").unlink()
    from kb_agent.store.chunks import ChunkStore

    fresh_store = ChunkStore(docs_settings.data_dir / "kb.sqlite3")
    for i in range(old_generation + 2):     # past the old generation: only "later changes" would be applied
        add_source(fresh_store, embedder, f"notes/parking_{i}.md",
                   [(Locator.for_heading("Parking"), f"Parking permit number {i} is renewed at the security desk.")])
    fresh = KnowledgeBase(docs_settings)
    r = fresh.retrieve("ESS培训每月几次", EMPLOYEE)
    assert not r.found                       # parking notes do not answer it; stale ESS vectors would
    assert max(h.score for h in r.hits) < max(h.score for h in old.hits) - 0.05
    fresh_store.close()
