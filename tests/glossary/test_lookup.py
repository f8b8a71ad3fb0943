import pytest

from kb_agent.glossary.index import Glossary
from kb_agent.glossary.model import GlossaryEntry as E
from kb_agent.text import normalise_key

ENTRIES = [
    E("AM", "Account Manager", "客户经理", aliases=("A.M.",), scope="销售部"),
    E("AAP", "Actual Achieved Price", "实际成交价"),
    E("Act.", "Actual", "实际的"),
    E("AIP", "All in Print", "中国国际印刷技术及设备器械展 (全印展)"),
    E("PM", "Project Manager", "项目经理", scope="项目部"),
    E("PM", "Product Manager", "产品经理", scope="产品部"),
    E("IT", "Information Technology", "信息技术部"),
]


@pytest.fixture
def g():
    return Glossary(ENTRIES)


def terms(result):
    return [e.term for e in result.matches]


@pytest.mark.parametrize("text,key", [("A.M.", "am"), ("Act.", "act"), ("ＡＭ", "am"), (" a-m ", "am")])
def test_normalise_key(text, key):
    assert normalise_key(text) == key


@pytest.mark.parametrize("query", ["AM", "am", "A.M.", "a.m", " AM "])
def test_exact_case_and_punctuation_tolerant(g, query):
    r = g.lookup(query)
    assert terms(r) == ["AM"] and r.how == "exact"


@pytest.mark.parametrize("query", ["Act", "act.", "ACT"])
def test_trailing_dot_terms(g, query):
    assert terms(g.lookup(query)) == ["Act."]


@pytest.mark.parametrize("query,term", [
    ("Actual Achieved Price", "AAP"),
    ("actual achieved price", "AAP"),
    ("Actual Achieved Price的缩略语", "AAP"),
    ("Actual Achieved Price的缩略语是什么？", "AAP"),
    ("客户经理的缩写", "AM"),
    ("客户经理", "AM"),
    ("全印展", "AIP"),
    ("What does AM stand for?", "AM"),
])
def test_reverse_and_framed_lookup(g, query, term):
    assert terms(g.lookup(query)) == [term]


@pytest.mark.parametrize("question,term", [
    ("AM代表什么职位？", "AM"),
    ("什么是AAP？", "AAP"),
    ("AIP是什么活动？", "AIP"),
    ("am是什么意思", "AM"),
])
def test_mixed_chinese_english_questions(g, question, term):
    assert terms(g.lookup(question)) == [term]


def test_ambiguous_term_returns_every_meaning_with_scope(g):
    r = g.lookup("PM")
    assert r.ambiguous
    assert {(e.english, e.scope) for e in r.matches} == {("Project Manager", "项目部"), ("Product Manager", "产品部")}


def test_common_english_words_are_not_acronyms_in_english_sentences(g):
    assert not g.lookup("what is it").found
    assert terms(g.lookup("what is IT?")) == ["IT"]


def test_unknown_term_is_explicit_with_fuzzy_suggestions(g):
    r = g.lookup("AMM")
    assert not r.found and r.how == "none"
    assert "AM" in r.suggestions
    assert g.lookup("Acount Manager").suggestions[:1] == ("AM",)
    assert not g.lookup("ZZZZQ").suggestions


def test_find_terms_locates_spans_without_overlap(g):
    q = "在产品售后流程里，AM和客户经理负责哪些事情？Actual Achieved Price呢"
    found = g.find_terms(q)
    assert [(m.text, m.kind) for m in found] == [("AM", "term"), ("客户经理", "chinese"),
                                                   ("Actual Achieved Price", "english")]
    assert all(q[m.start:m.end] == m.text for m in found)
