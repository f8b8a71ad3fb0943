"""doc_retrieve through the real Qwen-Agent loop (fake LLM server) in both tool-call modes,
the offline document route, and the `kb-agent search` command."""

from __future__ import annotations

import json
import re

import pytest

from kb_agent.access import EMPLOYEE
from kb_agent.answering import Answerer
from kb_agent.kb import KnowledgeBase
from kb_agent.tooling import TurnRecorder, load_tool_class
from tests.fakellm import Call, Say, last_tool_result

QUESTION = "在产品售后流程里，AM负责哪些事情？"
AFTER_SALES = "processes/after_sales_process.docx"


def llm_env(fake_llm, raw: bool) -> dict[str, str]:
    return {"KB_AGENT_LLM": "openai", "KB_AGENT_OPENAI__MODEL_SERVER": fake_llm.url,
            "KB_AGENT_OPENAI__MODEL": "fake-qwen", "KB_AGENT_OPENAI__USE_RAW_API": str(raw).lower(),
            "KB_AGENT_AGENT__TOOLS": json.dumps(["glossary_lookup", "doc_retrieve"]),
            "KB_AGENT_EMBEDDER__NUM_THREADS": "1"}


def answer_with_citation(request: dict) -> Say:
    result = last_tool_result(request)
    assert f"[1] {AFTER_SALES} — 产品售后流程 > 客户经理职责" in result, result
    assert "AM → Account Manager / 客户经理" in result          # the expansion is shown to the model
    return Say("客户经理（AM）接收维修请求并在CRM中创建服务请求，24小时内联系客户 [1]。")


@pytest.mark.parametrize("raw", [False, True], ids=["prompt-tool-calls", "native-tool-calls"])
def test_doc_retrieve_through_the_agent_loop_cites_passages(fake_llm, cli, chunk_store, raw):
    fake_llm.enqueue(Call("doc_retrieve", {"query": "AM在售后流程里负责什么", "top_k": 3}), answer_with_citation)

    result = cli("ask", "--json", QUESTION, env=llm_env(fake_llm, raw))

    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["mode"] == "llm" and "[1]" in out["answer"]
    assert out["tool_calls"] == [{"name": "doc_retrieve", "arguments": {"query": "AM在售后流程里负责什么", "top_k": 3}}]
    first = out["citations"][0]
    assert first["source"] == AFTER_SALES and first["kind"] == "document"
    assert first["locator"]["heading_path"] == ["产品售后流程", "客户经理职责"]
    assert 0 < first["score"] <= 1 and "CRM" in first["text"]
    assert len(out["citations"]) == 3
    assert "doc_retrieve" in json.dumps(fake_llm.requests[0], ensure_ascii=False)


def test_tool_reports_no_relevant_passage_and_bad_arguments(kb):
    tool = load_tool_class("doc_retrieve", kb.settings.agent.tools_dir)({"kb": kb, "principal": EMPLOYEE,
                                                                        "recorder": (rec := TurnRecorder())})
    text = tool.call(json.dumps({"query": "Who won the football world cup in 1998?"}))
    assert text.startswith("Relevance: NO relevant passage found") and "do not guess" in text
    assert "no passage mentions" in text and "football" in text          # the decision's reason
    assert rec.events[-1].output.found is False and rec.events[-1].output.citations == []
    assert tool.call({"query": "ESS", "top_k": 0}).startswith("Invalid arguments: top_k")
    assert "unknown filter" in tool.call({"query": "ESS", "filters": {"folder": ["hr"]}})
    text = tool.call({"query": "培训", "filters": {"folders": ["hr"], "file_types": ["pdf"]}})
    assert "[1] hr/ess_training_notice.pdf" in text and "products/" not in text


def test_tool_never_shows_an_employee_restricted_passages(kb):
    tool = load_tool_class("doc_retrieve", kb.settings.agent.tools_dir)({"kb": kb, "principal": EMPLOYEE})
    text = tool.call({"query": "SL-500 floor price CFO approval", "top_k": 10})
    assert "finance/" not in text and "82%" not in text


def test_offline_router_answers_with_labelled_excerpts(kb):
    answer = Answerer(kb.settings, kb).ask(QUESTION, EMPLOYEE)
    assert answer.mode == "offline" and answer.route == "doc" and answer.found
    assert "原文摘录" in answer.answer and f"[1] {AFTER_SALES}" in answer.answer
    assert answer.citations[0].source == AFTER_SALES and answer.citations[0].locator["label"] == "产品售后流程 > 客户经理职责"
    assert answer.tool_calls[0]["name"] == "doc_retrieve"
    unknown = Answerer(kb.settings, kb).ask("今天天气怎么样？", EMPLOYEE)
    assert unknown.route is None and not unknown.found and not unknown.citations


def test_search_cli_json_and_batch(cli, chunk_store, tmp_path):
    env = {"KB_AGENT_EMBEDDER__NUM_THREADS": "1"}
    result = cli("search", "AM在售后流程里负责什么", "--top-k", "2", "--json", env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert "Account Manager" in out["expanded_query"] and out["found"] is True
    assert len(out["hits"]) == 2
    hit = out["hits"][0]
    assert set(hit) >= {"source", "locator", "score", "text"}
    assert hit["source"] == AFTER_SALES and hit["locator"]["label"] == "产品售后流程 > 客户经理职责"

    text = cli("search", "How many pages per minute does the SL-500 print?", env=env)
    assert text.exit_code == 0 and "slide 2" in text.stdout
    weather = cli("search", "今天天气怎么样", env=env)
    assert weather.exit_code == 1 and "No relevant passage found: 没有段落提到今天天气" in weather.stdout
    assert "Closest passages (not an answer):" in weather.stdout
    out = json.loads(cli("search", "今天天气怎么样", "--json", env=env).stdout)
    assert out["found"] is False and out["reason"].startswith("没有段落提到")
    assert out["hits"]                                   # the hits stay, for inspection

    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "query": "ESS培训每月几次"}\nnot json\n{"id": "b", "question": "hotel cap"}\n',
                     encoding="utf-8")
    lines = [json.loads(x) for x in cli("search", "--batch", str(batch), env=env).stdout.splitlines()]
    assert [x.get("id") for x in lines] == ["a", None, "b"]
    assert lines[0]["hits"][0]["source"] == "hr/ess_training_notice.pdf"
    assert "q.jsonl:2" in lines[1]["error"]
    assert cli("search", "--json", env=env).exit_code != 0               # neither QUERY nor --batch


def test_two_searches_in_one_turn_continue_the_evidence_numbering(fake_llm, make_settings, chunk_store):
    """The second doc_retrieve call of a turn numbers its passages after the first call's, so
    every [n] the model writes names one passage; the citations carry the same numbers."""
    def second_search(request: dict) -> Call:
        assert "[1] " in last_tool_result(request) and "[2] " in last_tool_result(request)
        return Call("doc_retrieve", {"query": "ESS培训频次", "top_k": 2})

    def answer(request: dict) -> Say:
        result = last_tool_result(request)
        assert "\n[3] hr/ess_training_notice.pdf" in result and "\n[1] " not in result, result
        assert "cite them as [3]…[4]" in result
        return Say("AM 在 CRM 中创建服务请求 [1]；ESS 培训每月两次 [3]。")

    fake_llm.enqueue(Call("doc_retrieve", {"query": "AM在售后流程里负责什么", "top_k": 2}), second_search, answer)
    settings = make_settings(llm="openai", openai={"model_server": fake_llm.url},
                             agent={"tools": ["doc_retrieve"]}, embedder={"num_threads": 1})

    got = Answerer(settings, KnowledgeBase(settings)).ask("AM负责什么，ESS培训每月几次？")
    numbers = [c.number for c in got.citations]
    assert numbers == [1, 2, 3, 4], numbers
    assert got.citations[2].source == "hr/ess_training_notice.pdf"
    assert [c["number"] for c in got.to_dict()["citations"]] == [1, 2, 3, 4]


def test_glossary_and_fact_evidence_is_numbered_in_the_text_the_model_reads(fake_llm, make_settings, chunk_store):
    """A glossary entry and a curated fact get the turn's next numbers too, and their tool texts
    say which number cites which source, so an answer citing them can be checked."""
    def fact_call(request: dict) -> Call:
        assert re.search(r"Cite as: \[1\] glossary/\S+ line \d+", last_tool_result(request)), last_tool_result(request)
        return Call("fact_query", {"question": "ESS培训每月几次"})

    def answer(request: dict) -> Say:
        result = last_tool_result(request)
        m = re.search(r"Cite as: \[(\d+)\] ", result)
        assert m and int(m.group(1)) >= 2, result
        return Say(f"ESS 培训每月两次 [{m.group(1)}]。")

    fake_llm.enqueue(Call("glossary_lookup", {"term": "ESS"}), fact_call, answer)
    settings = make_settings(llm="openai", openai={"model_server": fake_llm.url},
                             agent={"tools": ["glossary_lookup", "fact_query"]}, embedder={"num_threads": 1})

    got = Answerer(settings, KnowledgeBase(settings)).ask("ESS培训每月几次？")
    kinds = {c.number: c.kind for c in got.citations}
    assert kinds[1] == "glossary" and "fact" in [kinds[n] for n in kinds if n >= 2], kinds
    assert got.grounding is not None and got.grounding.ok, got.grounding.to_dict()
    cited = int(re.search(r"\[(\d+)\]", got.answer).group(1))
    assert kinds[cited] == "fact" and "两次" in next(c.text for c in got.citations if c.number == cited)


def test_offline_routes_follow_the_configured_tools(make_settings, chunk_store):
    """Removing doc_retrieve from agent.tools removes the offline document route too: a question
    only the documents answer is then 'not found', while the glossary still answers."""
    question = "现场服务工程师上门后需要在系统里做什么？"
    full = make_settings()
    assert Answerer(full, KnowledgeBase(full)).ask(question).route == "doc"
    settings = make_settings(agent={"tools": ["glossary_lookup", "fact_query"]})
    answerer = Answerer(settings, KnowledgeBase(settings))
    got = answerer.ask(question)
    assert not got.found and got.route is None and got.events == []
    assert answerer.ask("AM是什么意思？").route == "term"


def test_offline_not_found_says_why_and_sets_the_closest_passages_apart(kb):
    from kb_agent.answering import Answerer
    from kb_agent.router import NOT_FOUND

    answer = Answerer(kb.settings, kb).ask("公司的差旅补贴标准是多少？", EMPLOYEE)
    assert not answer.found and answer.citations == [] and NOT_FOUND["zh"] in answer.answer
    why, closest = answer.answer.index("原因：没有段落提到"), answer.answer.index("最接近的段落（不是答案")
    assert why < closest and "差旅" in answer.answer[why:closest]
    english = Answerer(kb.settings, kb).ask("What is the melting point of gold?", EMPLOYEE)
    assert not english.found and "Why: no passage mentions" in english.answer
    assert "Closest passages (not an answer):" in english.answer
