"""Follow-up questions in offline mode (kb_agent/followup.py, issue #16 item 1): a question that
leans on the previous turn gets that turn's company terms carried in; one that does not lean on
it comes back unchanged. The terms come from the real glossary (tests' copy of glossary/)."""

from __future__ import annotations

import pytest

from kb_agent.answering import UNDERSTOOD_AS, Answerer
from kb_agent.followup import resolve
from kb_agent.kb import KnowledgeBase


@pytest.fixture(scope="module")
def terms_of(tmp_path_factory):
    from pathlib import Path
    import shutil

    from kb_agent.config import load_settings

    root = tmp_path_factory.mktemp("followup")
    shutil.copytree(Path(__file__).resolve().parents[1] / "glossary", root / "glossary")
    kb = KnowledgeBase(load_settings(data_dir=root / "data", glossary={"dir": root / "glossary"}))
    return lambda q: [m.text for m, _ in kb.understand(q).chosen]


@pytest.mark.parametrize("earlier, question, expected", [
    (["AM是什么意思？"], "它的英文全称是什么？", "AM的英文全称是什么？"),
    (["AM是什么意思？"], "那中文呢？", "AM中文？"),
    (["ESS培训每月几次？"], "在哪里举行？", "ESS在哪里举行？"),
    (["ESS培训每月几次？"], "每月几次？", "ESS每月几次？"),
    (["What does AM stand for?"], "What about its Chinese name?", "What about AM's Chinese name?"),
    (["What does AM stand for?"], "and in Chinese?", "AM in Chinese?"),
    (["AM是什么意思？", "它的英文全称是什么？"], "那中文呢？", "AM中文？"),   # the subject of two turns back
    (["AM是什么意思？"], "它和ESS有什么关系？", "AM和ESS有什么关系？"),
])
def test_a_question_that_leans_on_the_previous_turn_carries_its_subject(terms_of, earlier, question, expected):
    got = resolve(question, earlier, terms_of)
    assert got.question == expected and got.changed and got.subject


@pytest.mark.parametrize("earlier, question", [
    (["AM是什么意思？"], "ESS培训每月几次？"),                 # names its own subject
    (["AM是什么意思？"], "公司的差旅补贴标准是多少？"),
    (["AM是什么意思？"], "怎样申请加班调休？"),
    (["AM是什么意思？"], "应该找谁报销？"),
    (["AM是什么意思？"], "谢谢"),
    (["AM是什么意思？"], "ESS培训的其他安排是什么？"),         # 其他 is not a pronoun
    (["AM是什么意思？"], "Is it true that ESS training is held twice a month?"),
    (["AM是什么意思？"], "What is the melting point of gold?"),
    (["How many days do customers have to return a printer?"], "And for the SL-500?"),  # no company term to carry
    ([], "它的英文全称是什么？"),                               # nothing earlier
])
def test_a_question_that_does_not_lean_on_the_history_is_unchanged(terms_of, earlier, question):
    got = resolve(question, earlier, terms_of)
    assert got.question == question and not got.changed


def test_offline_answer_to_a_follow_up_says_how_it_was_read(make_settings):
    settings = make_settings()
    answerer = Answerer(settings, KnowledgeBase(settings))
    first = answerer.ask("AM是什么意思？")
    alone = answerer.ask("它的英文全称是什么？")
    assert not alone.found and alone.followup is None
    history = [{"role": "user", "content": "AM是什么意思？"}, {"role": "assistant", "content": first.answer}]
    got = answerer.ask("它的英文全称是什么？", history=history)
    assert got.found and got.route == "term" and "Account Manager" in got.answer
    assert UNDERSTOOD_AS["zh"].format(q="AM的英文全称是什么？") in got.answer
    assert got.to_dict()["followup"] == {"question": "AM的英文全称是什么？", "subject": ["AM"], "reason": "pronoun"}
    assert got.events[0].name == "glossary_lookup" and got.events[0].arguments == {"term": "AM"}
    located = answerer.ask("在哪里举行？", history=[{"role": "user", "content": "ESS培训每月几次？"}])
    assert located.found and "8 楼" in located.answer                      # the fact route, with ESS carried
    assert located.events[0].arguments == {"question": "ESS在哪里举行？"}   # what was looked up is shown
    unchanged = answerer.ask("ESS培训每月几次？", history=history)
    assert unchanged.followup is None and "两次" in unchanged.answer
