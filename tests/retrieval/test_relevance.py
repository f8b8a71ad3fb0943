"""The relevance decision (kb_agent/index/relevance.py) and its calibration, as pure functions:
content terms, IDF-weighted coverage, the dense score against the query's background, the
reason given, and the policy chosen from measured questions."""

from __future__ import annotations

import numpy as np
import pytest

from kb_agent.index.calibration import calibrate, evaluate, would_find
from kb_agent.index.relevance import (Background, Passage, RelevancePolicy, Term, comparable_coverage, content_words,
                                      coverage, decide, question_terms, weighted)
from kb_agent.text import Tokenizer

POLICY = RelevancePolicy(min_coverage=0.7, partial_coverage=0.34, partial_z=2.5, dense_alone_z=5.0)


@pytest.fixture(scope="module")
def words():
    tok = Tokenizer(["客户经理", "售后流程"], bigrams=False)
    return tok.words


def test_question_words_and_stop_words_are_not_content(words):
    assert content_words(words("公司的差旅补贴标准是多少？")) == ["公司", "差旅", "补贴", "标准"]
    assert content_words(words("怎样申请加班调休？")) == ["申请", "加班", "调休"]
    assert content_words(words("What is the melting point of gold?")) == ["melting", "point", "gold"]
    assert content_words(words("What does GWS stand for?")) == ["gws"]


def test_a_company_term_counts_by_any_of_its_names(words):
    terms = question_terms(words("AM在售后流程里负责什么"), [("AM", "Account Manager", "客户经理")])
    assert [t.text for t in terms][:1] == ["am"] and terms[0].forms == ("am", "account manager", "客户经理")
    cov, said = coverage(terms, "客户经理负责售后流程中的回访。")
    assert cov == 1.0 and set(said) == {"am", "售后流程", "负责"}


def test_chinese_terms_match_as_substrings_english_as_words():
    terms = [Term("差旅", ("差旅",)), Term("printer", ("printer",))]
    assert coverage(terms, "国内差旅费用标准")[0] == 0.5                    # segmented differently: still there
    assert coverage(terms, "All printers are on floor 3")[0] == 0.5      # plural strip
    assert coverage(terms, "Our blueprinter service")[0] == 0.0          # not a word of its own


def test_idf_weights_rare_terms_over_common_ones():
    background = Background(["公司 标准 时区"] * 30 + ["公司 报销"] * 30)
    terms = weighted([Term("公司", ("公司",)), Term("差旅", ("差旅",))], background)
    assert terms[1].weight > 5 * terms[0].weight        # in no chunk vs in every chunk
    cov, _ = coverage(terms, "公司的时区标准")                  # mentions only the common word
    assert cov < 0.1


def test_unrelated_passage_with_one_incidental_word_is_refused():
    background = Background(["时区 标准 UTC 偏移"] * 5 + ["水文 数据 模型"] * 5 + ["标准 规范 文档"] * 10)
    terms = weighted([Term(w, (w,)) for w in ("差旅", "补贴", "标准")], background)
    d = decide([Passage(1, "中国标准时间比 UTC 早八小时。", 0.86)], terms, (0.82, 0.02), POLICY, "zh")
    assert not d.found and d.reason.startswith("没有段落提到") and "差旅" in d.reason and "补贴" in d.reason


def test_covering_passage_is_found_and_the_reason_says_why():
    terms = [Term("ess", ("ess",), 2.0), Term("培训", ("培训",), 1.0), Term("每月", ("每月",), 1.0)]
    d = decide([Passage(7, "ESS 培训每月两次。", 0.85)], terms, (0.80, 0.03), POLICY, "zh")
    assert d.found and d.judged[0].coverage == 1.0 and d.reason.startswith("段落提到了")
    assert d.to_dict()["best"]["coverage"] == 1.0


def test_partial_coverage_needs_a_standing_dense_score():
    terms = [Term("a", ("alpha",), 1.0), Term("b", ("beta",), 1.0)]
    passage = "alpha only"
    assert not decide([Passage(1, passage, 0.82)], terms, (0.80, 0.02), POLICY).found          # z = 1
    assert decide([Passage(1, passage, 0.88)], terms, (0.80, 0.02), POLICY).found              # z = 4
    assert not decide([Passage(1, passage, None)], terms, None, POLICY).found                  # no vectors


def test_a_passage_in_the_other_language_is_judged_by_its_dense_score():
    terms = [Term("expense", ("expense",), 1.0), Term("approve", ("approve",), 1.0)]
    zh = Passage(1, "报销申请由直属经理审批后，财务部审核付款。", 0.86, chinese=True)
    assert decide([zh], terms, (0.80, 0.02), POLICY, question_chinese=False).found          # z = 3
    assert not decide([zh], terms, (0.85, 0.02), POLICY, question_chinese=False).found      # z = 0.5
    assert not decide([zh], terms, (0.80, 0.02), POLICY).found       # language unknown: words decide
    judged = decide([zh], terms, (0.80, 0.02), POLICY, question_chinese=False).judged[0]
    assert judged.across and judged.coverage == 0.0 and judged.features == (0.0, judged.z, True)


def test_a_paraphrase_with_no_shared_word_needs_a_very_clear_dense_score():
    terms = [Term("x", ("xylophone",), 1.0)]
    assert decide([Passage(1, "nothing in common", 0.95)], terms, (0.80, 0.02), POLICY).found  # z = 7.5
    assert not decide([Passage(1, "nothing in common", 0.86)], terms, (0.80, 0.02), POLICY).found


def test_background_cosine_stats_come_from_the_sample():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    bg = Background(["t"] * 200, x)
    mean, std = bg.cosine_stats(x[0])
    assert abs(mean) < 0.1 and 0.1 < std < 0.5
    assert Background(["t"] * 3, x[:3]).cosine_stats(x[0]) is None          # too few to say
    assert bg.cosine_stats(None) is None


def test_terms_carry_their_translations_except_everyday_words():
    translate = {"差旅": ("travel",), "公司": ("company",), "补贴": ("subsidy", "allowance")}.get
    prior = {"公司": 0.25}.get
    terms = question_terms(["公司", "差旅", "补贴"], [("GWS", "Guardia Workflow Suite")],
                           prior=lambda w: prior(w, 1.0), translate=lambda w: translate(w, ()))
    assert {t.text: t.translations for t in terms} == {"gws": (), "公司": (), "差旅": ("travel",),
                                                      "补贴": ("subsidy", "allowance")}  # glossary names are bilingual


def test_a_passage_in_the_other_language_is_judged_on_the_terms_it_could_mention():
    # A Chinese question naming "inotify": an English passage cannot say 监视 or 事件, but it can
    # say inotify — coverage counts the terms writable in its language.
    terms = [Term("监视", ("监视",), 4.2), Term("文件", ("文件",), 0.6), Term("事件", ("事件",), 2.3),
             Term("inotify", ("inotify",), 4.7)]
    english = Passage(1, "The inotify API provides a mechanism for monitoring filesystem events", 0.80, chinese=False)
    assert comparable_coverage(terms, english.text, False, ("inotify",)) == 1.0
    judged = decide([english], terms, (0.78, 0.02), POLICY, question_chinese=True)
    assert judged.found and judged.judged[0].across and judged.judged[0].coverage == 1.0
    # The same passage for a same-language reader: plain coverage (inotify's share only).
    assert decide([english], terms, (0.78, 0.02), POLICY, question_chinese=False).judged[0].coverage < 0.5
    # One everyday English word in a Chinese question carries too little of it to judge on.
    linux = [Term("公司", ("公司",), 1.7), Term("服务器", ("服务器",), 2.2), Term("密码", ("密码",), 2.9),
             Term("linux", ("linux",), 0.8)]
    assert comparable_coverage(linux, "Linux is a kernel", False, ("linux",)) == 0.0
    assert not decide([Passage(1, "Linux is a kernel", 0.80, chinese=False)], linux, (0.78, 0.02), POLICY,
                      question_chinese=True).found


def test_no_passage_no_terms():
    assert decide([], [], None, POLICY, "en").reason == "no passage was retrieved"
    assert not decide([Passage(1, "text", None)], [], None, POLICY).found


def test_calibration_finds_the_policy_that_separates_and_keeps_answering():
    answerable = [[(1.0, 3.0, False)], [(0.8, 1.0, False)], [(0.5, 3.0, False)], [(0.4, 2.8, False)],
                  [(0.0, 3.0, True)]]                                   # another language, standing out
    unanswerable = [[(0.3, 1.0, False)], [(0.5, 0.5, False)], [(0.2, 2.0, False)], [(0.0, 3.0, False)]]
    chosen, curve = calibrate(answerable, unanswerable, max_refused=0.0)
    assert chosen.refused_answerable == 0.0 and chosen.refused_unanswerable == 1.0
    assert all(would_find(f, chosen.policy) for f in answerable)
    assert curve == sorted(curve, key=lambda p: p.refused_answerable)
    assert evaluate(RelevancePolicy(0.0, 0.0, 0.0, 0.0), answerable, unanswerable).refused_unanswerable == 0.0
    with pytest.raises(ValueError):
        calibrate([], unanswerable)
