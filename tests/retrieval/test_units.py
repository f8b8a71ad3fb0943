"""Pure parts of retrieval: RRF, tokenisation, metadata filters, BM25 masking (the relevance
decision and its calibration: tests/retrieval/test_relevance.py)."""

from __future__ import annotations

import numpy as np
import pytest

from kb_agent.access import EMPLOYEE, LOCAL_ADMIN, Principal
from kb_agent.index.filters import MetaTable, SearchFilters
from kb_agent.index.fusion import keep_leaders, rrf
from kb_agent.index.keyword import BM25Index
from kb_agent.text import Tokenizer


# -- rrf ------------------------------------------------------------------------------------
def test_rrf_sums_reciprocal_ranks():
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)
    assert [i for i, _ in rrf([["a", "b", "c"], ["c", "a"]], k=60)] == ["a", "c", "b"]


def test_rrf_weights_and_ties_are_deterministic():
    assert [i for i, _ in rrf([["x"], ["y"]], k=0)] == ["x", "y"]            # tie: first list first
    assert [i for i, _ in rrf([["x"], ["y"]], k=0, weights=[1, 2])] == ["y", "x"]
    assert rrf([["x"], ["y"]], weights=[0, 1])[1] == ("x", 0.0)
    assert rrf([], k=60) == []


def test_rrf_groups_count_one_kind_of_evidence_once():
    # Two keyword searches (the question's language and the bridged one) are one kind of
    # evidence: "b", found by both, gets the better of the two terms, not their sum.
    fused = dict(rrf([["a"], ["b"], ["b", "a"]], k=0, groups=["dense", "kw", "kw"]))
    assert fused == {"a": 1.0 + 0.5, "b": 1.0}
    assert dict(rrf([["a"], ["b"], ["b", "a"]], k=0)) == {"a": 1.5, "b": 2.0}     # ungrouped: summed
    with pytest.raises(ValueError):
        rrf([["a"], ["b"]], groups=["one"])


def test_keep_leaders_keeps_each_lists_best_hit_in_the_top_k():
    fused = [("a", 0.5), ("b", 0.4), ("c", 0.3), ("d", 0.2), ("e", 0.1)]
    assert keep_leaders(fused, ["e"], 3) == [("a", 0.5), ("b", 0.4), ("e", 0.1), ("c", 0.3), ("d", 0.2)]
    assert keep_leaders(fused, ["b", "a"], 3) == fused                      # already there: unchanged
    assert [i for i, _ in keep_leaders(fused, ["d", "e", "d"], 3)] == ["a", "d", "e", "b", "c"]
    assert keep_leaders(fused, ["x"], 3) == fused                           # not a fused hit: ignored


def test_rrf_counts_a_duplicate_once_and_validates():
    assert dict(rrf([["a", "a", "b"]], k=0)) == {"a": 1.0, "b": 0.5}
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1, 2])
    with pytest.raises(ValueError):
        rrf([["a"]], k=-1)


# -- tokenisation -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tok():
    return Tokenizer(["AM", "三码合一", "客户经理", "R&D", "GWS"])


def test_glossary_terms_are_never_split(tok):
    plain = Tokenizer([])
    assert "三码合一" not in plain.tokenize("三码合一流程")
    assert "三码合一" in tok.tokenize("三码合一流程")
    assert "客户经理" in tok.tokenize("由客户经理负责")
    assert "r&d" in tok.tokenize("the R&D team")


def test_a_short_term_never_cuts_an_english_word(tok):
    # jieba with "AM" as a user word cuts "camera" into c / am / era: keyword search would
    # then match an AM question to every passage about cameras.
    tokens = tok.tokenize("The camera team and the AM process")
    assert tokens.count("am") == 1 and "camera" in tokens and "era" not in tokens
    assert "r&d" not in tok.tokenize("hard&drive") and "gws" not in tok.tokenize("gwsx")


def test_fact_matching_keeps_the_asking_words_keyword_search_drops(tok):
    from kb_agent.text import MATCH_STOP_WORDS

    assert "谁" in tok.words("谁审批报销？", MATCH_STOP_WORDS) and "多少" in tok.words("要多少天", MATCH_STOP_WORDS)
    assert "多少" not in tok.words("要多少天") and "who" not in tok.words("who approves it")


def test_chinese_bigrams_and_stopwords(tok):
    tokens = tok.tokenize("售后流程是什么")
    assert {"售后", "后流", "流程"} <= set(tokens)
    assert "什么" not in tokens and "是" not in tokens and "程是" not in tokens
    assert "后流" not in Tokenizer([], bigrams=False).tokenize("售后流程")


def test_english_normalisation(tok):
    assert tok.tokenize("The Printers PRINT ４０ Pages") == ["printer", "print", "40", "page"]
    assert "am" in tok.tokenize("ＡＭ")          # full-width folded
    assert tok.signature != Tokenizer(["AM"]).signature


# -- filters ------------------------------------------------------------------------------
def test_filters_from_dict_validates():
    f = SearchFilters.from_dict({"folders": ["/products/", "hr"], "file_types": [".PDF", "pptx"]})
    assert f == SearchFilters(("products", "hr"), ("pdf", "pptx"))
    assert SearchFilters.from_dict({}) is None and SearchFilters.from_dict(None) is None
    assert SearchFilters.from_dict({"folders": "hr"}).folders == ("hr",)
    with pytest.raises(ValueError, match="unknown filter"):
        SearchFilters.from_dict({"folder": ["hr"]})
    with pytest.raises(ValueError, match="file_types"):
        SearchFilters.from_dict({"file_types": [3]})
    assert f.matches("products/a.pdf") and f.matches("hr/x/y.pptx")
    assert not f.matches("products/a.docx") and not f.matches("productsX/a.pdf")


def ids_of(f, universe=(1, 2, 3, 4, 5)):
    """The rowids an IdFilter lets through, out of ``universe``."""
    u = np.asarray(universe, dtype=np.int64)
    return sorted(u[f.allows(u)].tolist())


def test_meta_table_allowed_by_group_folder_and_type():
    t = MetaTable.build([(1, "hr/a.pdf", ("everyone",)), (2, "hr/a.pdf", ("everyone",)),
                         (3, "finance/p.md", ("finance",)), (4, "products/s.pptx", ("everyone",))])
    fin = Principal("f", frozenset({"finance"}))
    assert t.allowed(LOCAL_ADMIN, None) is None                       # nothing to exclude
    emp = t.allowed(EMPLOYEE, None)
    assert emp.exclude and emp.ids.tolist() == [3]                    # the smaller side: hide one file
    assert ids_of(emp, (1, 2, 3, 4)) == [1, 2, 4]
    assert t.allowed(EMPLOYEE, None) is emp                           # cached per snapshot
    assert t.allowed(fin, None) is None
    only_fin = t.allowed(fin, SearchFilters(folders=("finance",)))
    assert not only_fin.exclude and only_fin.ids.tolist() == [3]
    assert ids_of(t.allowed(LOCAL_ADMIN, SearchFilters(file_types=("pptx",)))) == [4]
    nothing = t.allowed(EMPLOYEE, SearchFilters(folders=("finance",)))
    assert not nothing.exclude and len(nothing.ids) == 0
    t2 = t.updated([(5, "finance/p.md", ("finance",))], [3, 4])
    assert len(t2) == 3 and len(t) == 4                               # immutable
    assert ids_of(t2.allowed(EMPLOYEE, None), (1, 2, 5)) == [1, 2]            # over the live rowids
    assert ids_of(t2.allowed(fin, SearchFilters(folders=("finance",)))) == [5]


# -- BM25 ---------------------------------------------------------------------------------
def test_bm25_mask_applies_before_top_k(tok):
    texts = ["客户经理负责售后"] * 5 + ["售后流程由客户经理协调，另见附录"]
    idx = BM25Index.build(tok, range(10, 16), texts)
    ids, scores = idx.search("客户经理 售后", 2)
    assert len(ids) == 2 and 15 not in ids
    ids, _ = idx.search("客户经理 售后", 2, allowed=np.array([15, 99]))
    assert ids.tolist() == [15]                                       # not lost behind the top 2
    assert idx.search("客户经理", 3, allowed=np.zeros(0, np.int64))[0].size == 0


def test_bm25_updated_is_a_new_index(tok):
    idx = BM25Index.build(tok, [1, 2], ["GWS secure release", "ESS training"])
    new = idx.updated([3], ["GWS scan to archive"], [1])
    assert idx.search("GWS", 5)[0].tolist() == [1]
    assert new.search("GWS", 5)[0].tolist() == [3]
    assert len(new) == 2 and new.search("nothing-here", 5)[0].size == 0
    assert len(BM25Index.build(tok, [], [])) == 0 and BM25Index.build(tok, [], []).search("GWS", 5)[0].size == 0
