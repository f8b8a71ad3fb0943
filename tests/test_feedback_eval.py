"""Feedback items turned into evaluation cases: the prefilled draft, validation by the
dataset's own parser (a bad case is never written), the append with its duplicate check, and
a case made from a real answer's feedback that `kb-agent eval` then runs and passes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from kb_agent.errors import InputError
from kb_agent.eval import from_feedback as ff
from kb_agent.eval.dataset import load_items
from kb_agent.feedback import FeedbackStore

DOC_EVIDENCE = {"source": "processes/after_sales_process.docx", "kind": "document", "text": "…",
                "locator": {"kind": "heading", "heading_path": ["产品售后流程", "客户经理（AM）职责"],
                            "label": "产品售后流程 > 客户经理（AM）职责"}}
TERM_EVIDENCE = {"source": "glossary/company.yaml", "kind": "glossary", "text": "AM = Account Manager",
                 "locator": {"kind": "glossary", "line": 27, "label": "line 27"}}


@pytest.fixture
def store(tmp_path):
    return FeedbackStore(tmp_path / "feedback.sqlite")


def test_the_draft_comes_from_the_tool_and_the_first_document_cited(store):
    doc = store.get(store.add("alice", "在产品售后流程里，AM负责哪些事情？", "…", "down",
                              [{"name": "glossary_lookup", "arguments": {}}, {"name": "doc_retrieve", "arguments": {}}],
                              [TERM_EVIDENCE, DOC_EVIDENCE], comment="wrong section"))
    d = ff.draft(doc)
    assert (d.id, d.kind, d.feedback_id) == (f"feedback-{doc.id}", "term", doc.id)   # the first tool's kind
    assert d.expected_source == "processes/after_sales_process.docx"
    assert json.loads(d.expected_locator) == {"heading": "产品售后流程 > 客户经理（AM）职责"}
    assert d.expected_answer == ""                      # the admin types what the answer should have been
    nothing = store.get(store.add("bob", "XYZQ是什么？", "没有找到", "down", [], []))
    assert ff.draft(nothing).kind == "doc" and ff.draft(nothing).expected_source == ""
    assert ff.expected_locator({"kind": "page", "page": 3, "label": "p. 3"}) == {"page": 3}
    assert ff.expected_locator({"kind": "sheet", "sheet": "S", "cell_range": "A1:B2"}) == {"sheet": "S", "cell_range": "A1:B2"}
    assert ff.expected_locator({"kind": "time", "start_s": 1.0, "end_s": 2.0}) == {}


def test_cases_are_validated_with_the_field_named():
    base = ff.CaseDraft(id="feedback-1", question="在产品售后流程里，AM负责哪些事情？", kind="doc",
                        expected_source="processes/after_sales_process.docx",
                        expected_locator='{"heading": "产品售后流程 > 客户经理（AM）职责"}', feedback_id=1)
    assert ff.case(base) == {"id": "feedback-1", "question": base.question, "kind": "doc",
                             "expected_source": "processes/after_sales_process.docx",
                             "expected_locator": {"heading": "产品售后流程 > 客户经理（AM）职责"}, "feedback_id": 1}
    assert ff.case(replace(base, kind="none")) == {"id": "feedback-1", "question": base.question, "kind": "doc",
                                                    "expected_source": None, "feedback_id": 1}
    term = ff.case(replace(base, kind="term", expected_answer=" Account Manager "))
    assert term["expected_answer"] == "Account Manager" and "expected_source" not in term
    bad = [(replace(base, kind="term"), "^expected answer: required for term items"),
           (replace(base, question="  "), "^question: required"),
           (replace(base, expected_source=""), "^expected source: required for a doc case"),
           (replace(base, expected_locator="{heading"), "^expected locator: not valid JSON"),
           (replace(base, expected_locator='{"row": 3}'), "^expected locator: an object with keys among"),
           (replace(base, kind="poem"), "^kind: must be one of term, fact, doc, none")]
    for draft, message in bad:
        with pytest.raises(InputError, match=message):
            ff.case(draft)


def test_append_writes_one_loadable_line_and_refuses_a_second_with_the_same_id(tmp_path):
    path = tmp_path / "eval" / "feedback.jsonl"
    line = ff.case(ff.CaseDraft(id="feedback-7", question="AM是什么意思？", kind="term", expected_answer="客户经理"))
    item = ff.append_case(path, line)
    assert item.id == "feedback-7" and item.kind == "term" and item.expected_route == "term"
    with pytest.raises(InputError, match="'feedback-7' is in .* already"):
        ff.append_case(path, line)
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")   # an edited file
    ff.append_case(path, {**line, "id": "feedback-8"})
    items, issues = load_items([path])
    assert [i.id for i in items] == ["feedback-7", "feedback-8"] and issues == []


def test_a_case_made_from_feedback_on_a_cli_answer_is_run_by_kb_agent_eval(cli, make_settings, tmp_path):
    asked = cli("ask", "AM是什么意思？", "--json")
    assert asked.exit_code == 0
    answer = json.loads(asked.stdout)
    settings = make_settings()
    store = FeedbackStore(settings.feedback_db)
    item = store.get(store.add("local", answer["question"], answer["answer"], "up", answer["tool_calls"],
                               answer["citations"]))
    draft = ff.draft(item)
    assert draft.kind == "term"
    path = settings.eval_dir / ff.FILE_NAME
    ff.append_case(path, ff.case(replace(draft, expected_answer="Account Manager")))
    store.mark_converted(item.id, str(path))
    assert store.get(item.id).eval_case == str(path)

    result = cli("eval", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kinds"]["term"]["n"] == 1 and report["kinds"]["term"]["exact"] == 1.0
    (res,) = report["results"]
    assert res["id"] == f"feedback-{item.id}" and res["route"] == "term"
