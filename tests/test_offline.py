"""The offline router answers term questions from the glossary and never invents."""

import json

import pytest

from kb_agent.answering import Answerer
from kb_agent.kb import KnowledgeBase


@pytest.fixture
def answerer(make_settings):
    settings = make_settings()
    return Answerer(settings, KnowledgeBase(settings))


@pytest.mark.parametrize("question,expected", [
    ("AM是什么意思？", ["客户经理", "Account Manager"]),
    ("什么是AAP？", ["Actual Achieved Price", "实际成交价"]),
    ("AAP的英文全称是什么？", ["Actual Achieved Price"]),
    ("Actual Achieved Price的缩略语是什么？", ["AAP"]),
    ("AM代表什么职位？", ["客户经理"]),
    ("AIP是什么活动？", ["All in Print", "全印展"]),
    ("What does MPS stand for?", ["Managed Print Services"]),
    ("客户经理的缩写是什么", ["AM"]),
])
def test_term_questions_are_answered_from_the_glossary(answerer, question, expected):
    answer = answerer.ask(question)
    assert answer.mode == "offline" and answer.found and answer.route == "term"
    for text in expected:
        assert text in answer.answer
    assert answer.tool_calls[0]["name"] == "glossary_lookup"
    assert answer.citations and answer.citations[0].source.startswith("glossary/")


def test_offline_mode_says_so(answerer):
    assert "离线模式" in answerer.ask("AM是什么意思？").answer
    assert "Offline mode" in answerer.ask("What does AM stand for?").answer


def test_ambiguous_term_lists_each_meaning_with_scope(answerer):
    answer = answerer.ask("PM是什么意思")
    assert "Project Manager" in answer.answer and "Product Manager" in answer.answer
    assert "项目部" in answer.answer and "产品部" in answer.answer


def test_unknown_term_is_not_found_and_logged_for_admins(answerer):
    answer = answerer.ask("QBR是什么意思？")
    assert not answer.found and answer.citations == []
    assert "没有找到" in answer.answer and "术语表中没有「QBR」" in answer.answer
    assert "did you mean AM?" in answerer.ask("What does AMM mean?").answer
    assert sorted(t.term for t in answerer.kb.usage.unknown_terms()) == ["AMM", "QBR"]
    assert answerer.kb.usage.no_answer_rate() == (2, 1.0)


def test_ask_json_contract(cli):
    result = cli("ask", "--json", "AM是什么意思？")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert set(out) >= {"answer", "mode", "tool_calls", "citations"}
    assert out["mode"] == "offline"
    assert out["tool_calls"] == [{"name": "glossary_lookup", "arguments": {"term": "AM"}}]
    assert {"source", "locator", "text"} <= set(out["citations"][0])


def test_ask_batch_prints_one_line_per_question_with_ids(cli, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "AM是什么意思？"}\n\nnot json\n{"id": "b", "question": "ESS是什么"}\n',
                     encoding="utf-8")
    result = cli("ask", "--batch", str(batch))
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", None, "b"]
    assert "客户经理" in lines[0]["answer"]
    assert "q.jsonl:3" in lines[1]["error"]
    assert "Employee Self-Service" in lines[2]["answer"]


@pytest.mark.parametrize("question", ["What is our booth number at AIP 2026?", "在产品售后流程里，AM负责哪些事情？",
                                      "GWS的安全打印功能是什么？"])
def test_questions_about_something_else_than_the_term_are_not_term_answers(answerer, question):
    """A term inside a question with its own subject goes to facts/documents, not the glossary."""
    assert answerer.ask(question).route != "term"


def test_a_corrupt_tables_database_does_not_take_the_rest_down(make_settings, data_dir):
    """Glossary answers keep working when the facts' SQLite file is garbage."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "tables.sqlite3").write_bytes(b"this is not a database" * 100)
    settings = make_settings()
    answerer = Answerer(settings, KnowledgeBase(settings))
    answer = answerer.ask("AM是什么意思？")
    assert answer.found and "客户经理" in answer.answer
    answerer.ask("上海办公室电话是多少？")     # the fact route is unavailable: no crash, other routes answer


def test_a_question_is_understood_once_for_every_route(answerer, monkeypatch):
    # The follow-up resolution, the fact route (facts and table rows) and the document route
    # all read the one term understanding the router hands them.
    kb, asked = answerer.kb, []
    real = kb.understand
    monkeypatch.setattr(kb, "understand", lambda text: asked.append(text) or real(text))
    kb.facts.warm_up()    # the fact index understands each phrasing once per fact-file version
    asked.clear()
    answer = answerer.ask("ESS培训的讲师住在哪个城市？")
    assert not answer.found and answer.terms["terms"][0]["text"] == "ESS"
    assert asked == ["ESS培训的讲师住在哪个城市？"]
