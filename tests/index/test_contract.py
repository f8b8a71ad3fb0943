"""The search-backend contract, written once and run against every backend (tests/index/conftest.py).

Two levels: the protocol itself (``VectorIndex`` / ``KeywordIndex`` made by the factory), and
the Retriever over a real ChunkStore with that backend (restart, rebuild of a broken or lost
index from the chunk store, catch-up, concurrent readers during an ingestion).
"""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from kb_agent.access import EMPLOYEE, LOCAL_ADMIN, Principal
from kb_agent.chunk import Locator
from kb_agent.config import RetrievalSettings
from kb_agent.index.backend import IndexIdentity, IndexRow, Scope
from kb_agent.index.factory import create_keyword_index, create_vector_index
from kb_agent.index.filters import SearchFilters
from kb_agent.index.retriever import Retriever
from kb_agent.store.chunks import ChunkStore
from tests.index.conftest import CASES, Case
from tests.retrieval.corpus import add_source

TEXTS = ["ESS员工自助服务培训每月两次，在上海总部举行。", "客户经理在CRM系统中创建服务请求。",
         "The Springlake SL-500 prints 40 pages per minute.", "Hotel cap: CNY 600 per night in tier-1 cities.",
         "AIP 2026 booth E3-101 in Shanghai.", "GWS secure release with a badge at the printer.",
         "产品售后流程说明：现场服务工程师上门维修。", "Expense claims are due within 30 days."]
FINANCE = Principal("fin", frozenset({"everyone", "finance"}))


def row(rowid: int, text: str, source: str = "docs/a.md", groups=("everyone",)) -> IndexRow:
    return IndexRow(rowid, text, source, tuple(groups))


class Side:
    """One backend behind the protocol, written to and searched the same way for either side."""

    def __init__(self, case: Case, index_dir, embedder):
        self.case, self.embedder = case, embedder
        settings = RetrievalSettings(**case.retrieval)
        # A store id of its own: the Milvus cases of a class share one milvus-lite file.
        identity = IndexIdentity(embedder.model_id, embedder.dim, f"store-{uuid.uuid4().hex[:8]}")
        make = create_vector_index if case.side == "vector" else create_keyword_index
        self.index = make(settings, index_dir, identity)
        if case.side == "keyword":
            self.index.use_words(["售后流程", "客户经理"])

    def _vecs(self, rows):
        return self.embedder.embed_documents([r.text for r in rows])

    def load(self, rows):
        commit = self.index.rebuild(rows, self._vecs(rows)) if self.case.side == "vector" else self.index.rebuild(rows)
        commit()

    def add(self, rows):
        if self.case.side == "vector":
            self.index.upsert(rows, self._vecs(rows))
        else:
            self.index.apply(rows, [])()

    def remove(self, rowids):
        if self.case.side == "vector":
            self.index.delete(rowids)
        else:
            self.index.apply([], rowids)()

    def search(self, text, k=5, principal=LOCAL_ADMIN, filters=None) -> list[int]:
        q = self.embedder.embed_query(text) if self.case.side == "vector" else text
        ids, scores = self.index.search(q, k, Scope(principal, filters))
        assert len(ids) == len(scores) <= k and np.all(np.diff(scores) <= 1e-5)      # best first
        if self.case.side == "keyword":
            assert np.all(scores > 0)
        return ids.tolist()


class IndexContract:
    """Every backend passes these. Subclasses set ``case``."""

    case: Case

    @pytest.fixture(scope="class")
    @classmethod
    def shared_index_dir(cls, tmp_path_factory):
        return tmp_path_factory.mktemp("index")

    @pytest.fixture
    def side(self, tmp_path, shared_index_dir, embedder):
        """Milvus cases share one milvus-lite file per class (it takes seconds to start),
        each test in collections of its own; the others get a directory per test."""
        milvus = "milvus" in (self.case.retrieval.get("vector_backend"), self.case.retrieval.get("keyword_backend"))
        return Side(self.case, shared_index_dir if milvus else tmp_path / "index", embedder)

    # -- the protocol --------------------------------------------------------------------
    def test_each_text_finds_its_row_first(self, side):
        side.load([row(100 + i, t) for i, t in enumerate(TEXTS)])
        assert len(side.index) == len(TEXTS)
        for i in (0, 2, 5, 6):
            assert side.search(TEXTS[i])[0] == 100 + i

    def test_add_remove_and_update(self, side):
        side.load([row(100 + i, t) for i, t in enumerate(TEXTS)])
        side.add([row(500, "MPS customers in tier-1 cities get an engineer within 4 hours.")])
        assert side.search("MPS engineer within 4 hours")[0] == 500 and len(side.index) == len(TEXTS) + 1
        side.remove([500, 101, 99999])                                   # an unknown id is ignored
        assert 500 not in side.search("MPS engineer within 4 hours", k=20) and len(side.index) == len(TEXTS) - 1
        assert 101 not in side.search(TEXTS[1], k=20)
        side.add([row(102, "Parking permits are renewed at the security desk.")])   # replaces rowid 102
        assert side.search("Parking permits renewed security desk")[0] == 102 and len(side.index) == len(TEXTS) - 1
        if self.case.side == "keyword":
            assert 102 not in side.search("Springlake SL-500 pages per minute", k=20)
        else:
            q = side.embedder.embed_query(TEXTS[2])
            assert side.index.scores_for(q, np.array([102]))[0] < 0.9
            assert np.isnan(side.index.scores_for(q, np.array([101]))[0])

    def test_access_groups_apply_inside_the_search(self, side):
        """200 restricted chunks rank above the one visible chunk: k=5 still returns it."""
        query = "GWS secure release badge printer floor price"
        restricted = [row(1000 + i, query, "finance/p.md", ("finance",)) for i in range(200)]
        visible = row(7, "GWS secure release badge", "products/gws.pdf")
        side.load([*restricted, visible, row(8, "no groups at all GWS", "x/y.md", ())])
        assert side.search(query, k=5, principal=EMPLOYEE) == [7]
        assert set(side.search(query, k=5, principal=FINANCE)) <= {r.rowid for r in restricted}
        only_x = SearchFilters(folders=("x",))
        assert side.search("no groups at all GWS", principal=LOCAL_ADMIN, filters=only_x) == [8]  # admins see all
        assert side.search("no groups at all GWS", principal=FINANCE, filters=only_x) == []   # no groups: admins only

    def test_folder_and_type_filters_apply_inside_the_search(self, side):
        query = "ESS training schedule on Wednesdays"
        noise = [row(2000 + i, query, f"other/n{i}.pdf") for i in range(100)]
        rows = [row(1, "ESS training on Wednesdays", "hr/notice.pdf"), row(2, "ESS training schedule", "hr/p/plan.docx"),
                row(3, "ESS training Wednesdays", "hr_old/old.pdf"), row(4, "ESS training 培训", "产品/培训.pptx"),
                row(5, "ESS training notes", 'we"ird/a\\b.md')]
        side.load([*noise, *rows])
        assert set(side.search(query, k=3, filters=SearchFilters(folders=("hr",)))) == {1, 2}   # not hr_old
        assert side.search(query, k=3, filters=SearchFilters(folders=("产品",))) == [4]
        assert side.search(query, k=3, filters=SearchFilters(folders=("hr/notice.pdf",))) == [1]  # a file path
        assert side.search(query, k=3, filters=SearchFilters(folders=('we"ird',))) == [5]
        got = side.search(query, k=3, filters=SearchFilters(folders=("hr", "hr_old"), file_types=("pdf",)))
        assert set(got) == {1, 3}
        assert side.search(query, k=3, filters=SearchFilters(folders=("nowhere",))) == []

    def test_a_quote_in_a_group_cannot_widen_the_scope(self, side):
        side.load([row(1, "secret plan GWS", groups=('x") or true or ("',)), row(2, "public plan GWS")])
        assert side.search("plan GWS", k=5, principal=EMPLOYEE) == [2]
        assert side.search("plan GWS", k=5, principal=Principal("q", frozenset({'x") or true or ("'}))) == [1, 2] \
            or set(side.search("plan GWS", k=5, principal=Principal("q", frozenset({'x") or true or ("'})))) == {1, 2}

    def test_empty_index(self, side):
        side.load([])
        assert len(side.index) == 0 and side.search("anything") == []
        side.add([row(1, "GWS secure release")])
        assert side.search("GWS secure release") == [1]

    # -- with the Retriever over a real chunk store ------------------------------------------
    @pytest.fixture
    def settings(self, make_settings):
        return make_settings(retrieval=dict(self.case.retrieval))

    @pytest.fixture
    def store(self, settings, embedder):
        s = ChunkStore(settings.data_dir / "kb.sqlite3")
        add_source(s, embedder, "hr/ess.pdf", [(Locator.for_page(1), TEXTS[0]), (Locator.for_page(2), TEXTS[1])])
        add_source(s, embedder, "products/sl500.pptx", [(Locator.for_slide(1), TEXTS[2])])
        add_source(s, embedder, "finance/price.md", [(Locator.for_heading("x"), "SL-500 floor price 82% of list.")],
                   ("finance",))
        yield s
        s.close()
        from kb_agent.index.milvus.connection import close_clients

        close_clients()      # this test's milvus-lite file

    def retriever(self, settings, store, embedder) -> Retriever:
        return Retriever(settings.retrieval, settings.data_dir / "index", store, embedder)

    def side_search(self, r: Retriever, text: str, principal=EMPLOYEE, k=5) -> list[int]:
        q = r.embedder.embed_query(text) if self.case.side == "vector" else text
        index = r.vectors if self.case.side == "vector" else r.keywords
        return index.search(q, k, Scope(principal))[0].tolist()

    def restart(self, r: Retriever) -> None:
        r.flush()
        from kb_agent.index.milvus.connection import close_clients

        close_clients()

    def sources(self, r: Retriever, text: str, principal=EMPLOYEE) -> list[str]:
        rowids = self.side_search(r, text, principal)
        return [c.source for c in r.chunks.get_by_rowids(rowids)]

    def test_persistence_across_a_restart(self, settings, store, embedder):
        r = self.retriever(settings, store, embedder)
        generation = r.sync()
        before = self.sources(r, "SL-500 pages per minute")
        assert before[0] == "products/sl500.pptx" and "finance/price.md" not in before
        self.restart(r)
        fresh = self.retriever(settings, store, embedder)
        index = fresh.vectors if self.case.side == "vector" else fresh.keywords
        if self.case.side == "keyword":
            index.use_words([])
        opened = index.open(lambda: []) if self.case.side == "vector" else index.open()
        assert opened == (generation if self.case.persists else None)
        fresh.sync()
        assert self.sources(fresh, "SL-500 pages per minute") == before

    def test_changes_while_stopped_are_caught_up(self, settings, store, embedder):
        r = self.retriever(settings, store, embedder)
        r.sync()
        self.restart(r)
        store.remove_source("products/sl500.pptx")
        add_source(store, embedder, "services/mps.md", [(Locator.for_heading("SLA"), "MPS engineer within 4 hours.")])
        fresh = self.retriever(settings, store, embedder)
        fresh.sync()
        assert "products/sl500.pptx" not in self.sources(fresh, "SL-500 pages per minute")
        assert self.sources(fresh, "MPS engineer within 4 hours")[0] == "services/mps.md"
        assert fresh.stats()["generation"] == store.generation()

    def test_a_broken_or_lost_index_is_rebuilt_from_the_chunk_store(self, settings, store, embedder):
        r = self.retriever(settings, store, embedder)
        r.sync()
        index = r.vectors if self.case.side == "vector" else r.keywords
        stats = index.stats()
        self.restart(r)
        if stats["backend"] == "faiss":
            (settings.data_dir / "index").joinpath(stats["index_file"]).write_bytes(b"garbage")
        elif stats["backend"] == "milvus":
            from kb_agent.index.milvus.connection import client_for

            client_for(settings.retrieval.milvus, settings.data_dir / "index").drop_collection(stats["collection"])
        fresh = self.retriever(settings, store, embedder)
        fresh.sync()
        assert self.sources(fresh, "SL-500 pages per minute")[0] == "products/sl500.pptx"
        assert "finance/price.md" in self.sources(fresh, "SL-500 floor price", principal=LOCAL_ADMIN)

    def test_concurrent_readers_during_an_ingestion(self, settings, store, embedder):
        versions = {v: [(Locator.for_page(p), f"版本{v} 第{p}页：GWS安全打印徽章释放说明 {v}") for p in (1, 2, 3)]
                    for v in ("alpha", "beta")}
        add_source(store, embedder, "products/gws.pdf", versions["alpha"])
        r = self.retriever(settings, store, embedder)
        r.sync()
        errors, mixed, seen = [], [], set()
        reads = threading.Semaphore(0)
        stop = threading.Event()

        def reader():
            try:
                while not stop.is_set():
                    res = r.retrieve("GWS安全打印徽章释放说明", EMPLOYEE, top_k=3,
                                     filters=SearchFilters(folders=("products",)))
                    tags = {"alpha" in h.chunk.text for h in res.hits if h.chunk.source == "products/gws.pdf"}
                    seen.update(tags)
                    if len(tags) > 1:
                        mixed.append(tags)
                    reads.release()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
                reads.release()

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for i in range(4):
            # Each write waits for a read to finish, so reads and writes interleave
            # even when a loaded machine schedules the writer first.
            assert reads.acquire(timeout=30)
            add_source(store, embedder, "products/gws.pdf", versions["beta" if i % 2 == 0 else "alpha"])
            r.sync()
        assert reads.acquire(timeout=30)
        stop.set()
        for t in threads:
            t.join(30)
        assert not errors and not mixed and seen
        assert len(r.vectors) == 7 and len(r.keywords) == 7


class TestFaissFlat(IndexContract):
    case = CASES[0]


class TestFaissHnsw(IndexContract):
    case = CASES[1]


class TestBM25s(IndexContract):
    case = CASES[2]


class TestMilvusDense(IndexContract):
    case = CASES[3]


class TestMilvusBM25(IndexContract):
    case = CASES[4]


@pytest.mark.parametrize("case", [c for c in CASES if c.side == "keyword"], ids=lambda c: c.name)
def test_glossary_terms_stay_whole_in_keyword_search(case, tmp_path, embedder):
    side = Side(case, tmp_path / "index", embedder)
    side.load([row(1, "产品售后流程说明"), row(2, "售后服务"), row(3, "流程图"), row(4, "客户经理负责回访")])
    assert side.search("售后流程")[0] == 1                  # the whole term outranks its halves
    assert side.search("客户经理")[0] == 4
    assert side.index.use_words(["售后流程", "客户经理", "三码"]) is True   # new words: rebuild needed
    side.load([row(1, "三码合一"), row(2, "三个码")])
    assert side.search("三码")[0] == 1


def test_milvus_without_the_extra_is_an_error_naming_it(tmp_path, embedder, monkeypatch):
    import sys

    from kb_agent.errors import StoreError

    monkeypatch.setitem(sys.modules, "pymilvus", None)                 # as if not installed
    index = create_vector_index(RetrievalSettings(vector_backend="milvus"), tmp_path,
                                IndexIdentity(embedder.model_id, embedder.dim, "s"))
    with pytest.raises(StoreError, match="pymilvus") as err:
        index.open(lambda: [])
    assert "kb-agent[milvus]" in str(err.value)


def test_milvus_scope_expression():
    from kb_agent.index.milvus.connection import access_key, scope_filter

    keys = {access_key(["everyone"]): ("everyone",), access_key(["finance"]): ("finance",)}
    assert scope_filter(Scope(LOCAL_ADMIN), keys) == ""
    assert scope_filter(Scope(EMPLOYEE), keys) == f'access_key in ["{access_key(["everyone"])}"]'
    assert scope_filter(Scope(Principal("x", frozenset())), {access_key(["finance"]): ("finance",)}) is None
    expr = scope_filter(Scope(LOCAL_ADMIN, SearchFilters(folders=('a"b',), file_types=("pdf",))), keys)
    assert expr == '(array_contains_any(folders, ["a\\"b"]) or source in ["a\\"b"]) and file_type in ["pdf"]'
