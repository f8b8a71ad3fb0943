"""The grounding check of final answers (kb_agent/grounding.py): faithful answers pass, each
kind of fabrication is caught, and mark()/all_failed() present the result."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from kb_agent.grounding import (EMAIL_REMOVED, LINK_REMOVED, NOTICE, NOTICE_BILINGUAL, UNSUPPORTED_MARK, Evidence,
                                Grounding, all_failed, check, cn_number, evidence_of, mark, split_sentences)
from tests.grounding_cases import (EVIDENCE, FABRICATED, FAITHFUL, HELD_OUT_FABRICATED, HELD_OUT_FAITHFUL,
                                   KNOWN_MISSES)

EV = {e.number: e for e in EVIDENCE}


def failures(answer, evidence=EVIDENCE):
    return [(f.kind, f.text) for f in check(answer, evidence).failures]


# -- the shared cases ------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", FAITHFUL)
def test_faithful_answers_pass(answer):
    g = check(answer, EVIDENCE)
    assert g.ok, [(f.kind, f.text, f.detail) for f in g.failures]
    assert g.checked > 0
    assert mark(answer, g) == answer


@pytest.mark.parametrize("answer,kind", FABRICATED)
def test_fabrications_are_caught(answer, kind):
    g = check(answer, EVIDENCE)
    assert kind in g.kinds(), [(f.kind, f.text, f.detail) for f in g.failures]
    assert not g.ok
    assert mark(answer, g) != answer


def _known(answer, *rest):
    """The case as a parameter; a known miss is a strict xfail naming the limitation (fixing it
    turns the xfail into a failure, so the list stays true)."""
    if answer in KNOWN_MISSES:
        return pytest.param(answer, *rest, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[answer]))
    return pytest.param(answer, *rest)


@pytest.mark.parametrize("answer", [_known(a) for a in HELD_OUT_FAITHFUL])
def test_held_out_faithful_answers_pass(answer):
    g = check(answer, EVIDENCE)
    assert g.ok, [(f.kind, f.text, f.detail) for f in g.failures]


@pytest.mark.parametrize("answer,kind", [_known(a, k) for a, k in HELD_OUT_FABRICATED])
def test_held_out_fabrications_are_caught(answer, kind):
    assert kind in check(answer, EVIDENCE).kinds()


def test_odd_input_never_raises():
    import random

    rng = random.Random(12)
    pieces = [a for a in FAITHFUL] + [a for a, _ in FABRICATED] + ["", "\n\n", "[", "【", "!", "第", "p.", "@",
                                                                    "http://", "Sheet1!", "１２", "$A$1", "v", "。[1]"]
    assert check("", EVIDENCE).ok and check("", []).checked == 0
    for _ in range(200):
        answer = "".join(rng.choice(pieces)[: rng.randint(0, 40)] for _ in range(rng.randint(1, 6)))
        g = check(answer, EVIDENCE)
        mark(answer, g)
        all_failed(g)
        for f in g.failures:
            assert 0 <= f.span[0] <= f.span[1] <= len(answer)


# -- a. citation markers ---------------------------------------------------------------------------
def test_marker_forms_and_ranges():
    g = check("AM 是客户经理 [2]。培训每月两次【1】。时间 14:00 [1][4]。ESS 培训每月两次 [1, 2]。", EVIDENCE)
    assert g.ok
    assert [s.cites for s in g.sentences] == [(2,), (1,), (1, 4), (1, 2)]
    assert check("见 [1-3]。", EVIDENCE).sentences[0].cites == (1, 2, 3)
    bad = check("AM 是客户经理 [2,12]。", EVIDENCE)
    assert [(f.kind, f.text) for f in bad.failures] == [("citation", "[2,12]")]
    assert "12" in bad.failures[0].detail


def test_any_marker_fails_without_evidence():
    g = check("ESS 培训每月两次 [1]。", [])
    assert "citation" in g.kinds()
    assert g.failures[0].span == (11, 14)


def test_markers_and_list_ordinals_are_not_figures():
    only_glossary = [EV[2]]
    answer = "1. AM 是客户经理 [2]\n2. 属于销售部 [2]\n3. 英文为 Account Manager [2]"
    assert check(answer, only_glossary).ok
    assert check("AM means Account Manager [2].", [Evidence(7, "term", "glossary/company.yaml", "line 31",
                                                            EV[2].text), EV[2]]).ok


# -- b. links and references -----------------------------------------------------------------------
def test_url_matches_without_scheme_or_trailing_slash():
    assert check("报名入口：ess.huayin-imaging.com/training [1]", EVIDENCE).ok
    assert check("Portal: https://www.expense.huayin-imaging.com/ [4].", EVIDENCE).ok
    assert failures("Sign up at https://ess.huayin-imaging.com/training/register [1].") == [
        ("url", "https://ess.huayin-imaging.com/training/register")]


def test_page_must_be_the_cited_evidence_page():
    # p. 3 exists (evidence 5) but the sentence cites [1], which is p. 1
    g = check("培训安排见第3页 [1]。", EVIDENCE)
    assert [(f.kind, f.text) for f in g.failures] == [("locator", "第3页")]
    assert "p. 1" in g.failures[0].detail
    assert check("培训安排见第一页 [1]。", EVIDENCE).ok
    assert check("The datasheet has it on page 3 [5].", EVIDENCE).ok
    # without a citation any evidence's page will do, an unknown page never
    assert check("详见产品资料第3页。", EVIDENCE).ok
    assert failures("详见产品资料第9页。") == [("locator", "第9页")]


def test_cells_within_the_cited_range():
    assert check("电话在 办公室!C4 [3]。", EVIDENCE).ok
    assert check("见 office_directory.xlsx!办公室!A4:F4 [3]。", EVIDENCE).ok
    assert failures("见 office_directory.xlsx!办公室!A1:F9 [3]。") == [("locator", "办公室!A1:F9")]
    assert failures("见单元格 B7 [3]。") == [("locator", "B7")]
    assert [k for k, _ in failures("见 Sheet2!C4 [3]。")] == ["locator"]


def test_file_names_with_chinese_prefix_and_paths():
    assert check("请见员工须知ess_training_notice.pdf [1]。", EVIDENCE).ok
    assert check("来源：hr/ess_training_notice.pdf [1]", EVIDENCE).ok
    assert failures("来源：hr/ess_training_notice_v2.pdf [1]") == [("file", "hr/ess_training_notice_v2.pdf")]
    assert failures("附件 报名表.docx [1]。") == [("file", "报名表.docx")]


def test_email_case_insensitive():
    assert check("邮箱 Training@Huayin-Imaging.com [1]", EVIDENCE).ok
    assert failures("邮箱 hr@huayin-imaging.com [1]") == [("email", "hr@huayin-imaging.com")]


# -- c. figures --------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    "地址是张江路1200号 [3]。", "地址是张江路 1,200 号 [3]。", "地址是张江路１２００号 [3]。",
    "截止日期 2026-01-05 [7]。", "截止日期 2026/1/5 [7]。", "截止日期 2026年1月5日 [7]。", "截止日期 2026.01.05 [7]。",
    "Due 5 January 2026 [7].", "Due Jan 5, 2026 [7].", "截止 1月5日 [7]。", "截止 2026年1月 [7]。",
    "每月 2 次 [1]。", "每月两次 [1]。", "twice a month [1].", "14:00 to 16:00 [1].", "2 pm to 4 pm [1].",
    "下午两点到四点 [1]。", "MD5: 3f2a9c1b7e4d5a6f8091b2c3d4e5f607 [5].", "型号 SL500 [5]。", "固件 2.4.1 [5]。",
    "电话 (021) 5080-1234 [3]。", "电话 02150801234 [3]。",
    "max width 1600mm [5].", "每晚 2000 元 [4]。",
])
def test_figures_written_differently_pass(answer):
    g = check(answer, EVIDENCE)
    assert g.ok, [(f.kind, f.text, f.detail) for f in g.failures]


@pytest.mark.parametrize("answer,figure", [
    ("每月 3 次 [1]。", "3"), ("每月三次 [1]。", "三"), ("截止 2026-01-06 [7]。", "2026-01-06"),
    ("截止 2026年2月5日 [7]。", "2026年2月5日"), ("固件 2.4.2 [5]。", "2.4.2"), ("型号 SL-600 [5]。", "SL-600"),
    ("MD5: 3f2a9c1b7e4d5a6f8091b2c3d4e5f608 [5].", "3f2a9c1b7e4d5a6f8091b2c3d4e5f608"),
    ("每晚 20,000 元 [4]。", "20,000"), ("每晚 2万 元 [4]。", "2万"), ("上午9点开始 [1]。", "上午9点"),
])
def test_wrong_figures_fail(answer, figure):
    assert ("number", figure) in failures(answer)


def test_figures_must_come_from_the_cited_evidence():
    # 2,000 is in [4], but this sentence cites only [1]
    assert ("number", "2000") in failures("ESS 培训每月两次，酒店每晚 2000 元 [1]。")
    assert check("ESS 培训每月两次 [1]，酒店每晚 2000 元 [4]。", EVIDENCE).ok
    # an uncited sentence may use any evidence
    assert check("酒店每晚 2000 元。", EVIDENCE).ok


def test_chinese_numerals():
    assert [cn_number(s) for s in ("两", "十", "十二", "二十五", "三百零五", "一万二千", "x")] == [2, 10, 12, 25, 305, 12000, None]
    assert check("新员工第一周需完成三门必修课 [6]。", EVIDENCE).ok
    assert ("number", "四") in failures("新员工第一周需完成四门必修课 [6]。")
    assert check("这是一个流程 [6]。", EVIDENCE).sentences[0].claims <= 2   # "一个": not a figure


# -- d. unsupported --------------------------------------------------------------------------------
def test_cited_sentence_about_something_else():
    g = check("ESS 培训每月两次 [1]。员工食堂提供免费午餐 [1]。", EVIDENCE)
    assert [(f.kind, f.sentence) for f in g.failures] == [("unsupported", 1)]
    assert g.failures[0].text == "员工食堂提供免费午餐 [1]。"


def test_short_and_cross_language_sentences_are_not_judged():
    assert check("是的 [1]。", EVIDENCE).ok
    # an English sentence citing a Chinese passage cannot be compared word by word
    assert check("Training is held in the training room on the third floor of headquarters [1].", EVIDENCE).ok


def test_custom_tokenizer():
    from kb_agent.text import Tokenizer

    tok = Tokenizer(["客户经理", "ESS"]).tokenize
    assert check("AM 是客户经理 [2]。", EVIDENCE, tokenize=tok).ok
    assert "unsupported" in check("公司食堂提供免费午餐和晚餐 [2]。", EVIDENCE, tokenize=tok).kinds()


# -- sentences -------------------------------------------------------------------------------------
def test_sentence_splitting():
    def texts(a):
        return [a[s:e] for s, e in split_sentences(a)]

    assert texts("培训每月两次。[1]地点在总部；时间 14:00！对吗？") == ["培训每月两次。[1]", "地点在总部；", "时间 14:00！", "对吗？"]
    assert texts("See p. 3 of the notice, e.g. the schedule. It is held twice a month [1]. Version 2.4.1 is current [5].") == [
        "See p. 3 of the notice, e.g. the schedule.", "It is held twice a month [1].", "Version 2.4.1 is current [5]."]
    assert texts("## 安排\n- **频次**：每月两次 [1]\n1. First. Second [2].\n（3）第三\n[4]") == [
        "安排", "**频次**：每月两次 [1]", "First.", "Second [2].", "第三\n[4]"]   # a lone marker line: the previous sentence's
    assert texts("见 office_directory.xlsx!办公室!F4 [3]") == ["见 office_directory.xlsx!办公室!F4 [3]"]


# -- presenting ------------------------------------------------------------------------------------
def test_mark_replaces_links_and_flags_sentences():
    answer = ("ESS 培训每月三次 [1]。报名：https://ess.huayin-imaging.com/signup [1]。"
              "Claims go through the [expense portal](https://expenses.huayin.cn) [4]. "
              "Write to travel@huayin-imaging.com [4]. AM 是客户经理 [9]。")
    g = check(answer, EVIDENCE)
    out = mark(answer, g)
    assert "ESS 培训每月三次 [1] " + UNSUPPORTED_MARK + "。" in out
    assert "https://ess.huayin-imaging.com/signup" not in out and LINK_REMOVED in out
    assert "expense portal " + LINK_REMOVED in out and "](" not in out
    assert EMAIL_REMOVED in out and "travel@" not in out
    assert "AM 是客户经理 [?]。" in out


def test_all_failed():
    assert all_failed(check("ESS 培训每月三次 [1]。见 https://x.example.com [1]。", EVIDENCE))
    assert not all_failed(check("ESS 培训每月三次 [1]。AM 是客户经理 [2]。", EVIDENCE))
    assert not all_failed(check("ESS 培训每月两次 [1]。", EVIDENCE))
    assert not all_failed(check("好的。", EVIDENCE))          # no claims at all
    assert not all_failed(Grounding(0))


def test_notice_is_bilingual():
    assert set(NOTICE) == {"zh", "en"}
    assert NOTICE["zh"] in NOTICE_BILINGUAL and NOTICE["en"] in NOTICE_BILINGUAL
    assert "来源" in UNSUPPORTED_MARK and "sources" in UNSUPPORTED_MARK


def test_to_dict():
    d = check("ESS 培训每月三次 [1]。", EVIDENCE).to_dict()
    assert d["ok"] is False and d["failures"][0]["kind"] == "number" and d["failures"][0]["text"] == "三"


# -- evidence from the turn's citations --------------------------------------------------------------
def test_evidence_from_citations():
    from kb_agent.tooling import Citation

    cites = [
        Citation("hr/ess_training_notice.pdf", {"kind": "page", "page": 1, "label": "p. 1"}, EV[1].text, 0.8),
        Citation("glossary/company.yaml", {"kind": "glossary", "line": 31, "label": "line 31"}, EV[2].text,
                 kind="glossary"),
        Citation("tables/office_directory.xlsx", {"kind": "sheet", "sheet": "办公室", "cell_range": "A4:F4",
                                                  "label": "办公室!A4:F4", "ref": "office_directory.xlsx!办公室!A4:F4"},
                 EV[3].text, kind="table", number=7),
    ]
    ev = evidence_of(cites)
    assert [(e.number, e.kind, e.locator.split()[0]) for e in ev] == [(1, "passage", "p. 1".split()[0]),
                                                                     (2, "term", "line"), (7, "row", "办公室!A4:F4")]
    assert ev[0].locator == "p. 1"
    assert check("培训每月两次，第1页 [1]。AM 是客户经理 [2]。电话 021-5080-1234（办公室!D4）[7]。", ev).ok
    assert "citation" in check("电话 021-5080-1234 [3]。", ev).kinds()


def test_module_is_pure():
    tree = ast.parse(Path(sys.modules["kb_agent.grounding"].__file__).read_text(encoding="utf-8"))
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    project = {m for m in mods if m and m.split(".")[0] in ("kb_agent", "tools", "qwen_agent")}
    assert project <= {"kb_agent.text"}
    assert all(m == "__future__" or m.split(".")[0] in sys.stdlib_module_names for m in mods - project)


def test_row_references():
    assert check("见“办公室”工作表第4行 [3]。", EVIDENCE).ok
    assert check("See row 4 of the office directory [3].", EVIDENCE).ok
    assert failures("见“办公室”工作表第9行 [3]。") == [("locator", "第9行")]
