"""The real Qwen-Agent loop, against the scripted OpenAI-compatible server, calling
fact_query with table filters (native tool calls) and answering from its result."""

from __future__ import annotations

from kb_agent.access import EMPLOYEE
from kb_agent.answering import Answerer
from kb_agent.kb import KnowledgeBase
from tests.facts.conftest import load_sample_tables
from tests.fakellm import Call, Say, last_tool_result

QUESTION = "3月份的ESS培训是哪几天，在哪里？"
ARGS = {"question": QUESTION, "table": "training_calendar",
        "filters": [{"column": "课程", "op": "contains", "value": "ESS"},
                    {"column": "日期", "op": "between", "value": ["2026-03-01", "2026-03-31"]}],
        "columns": ["日期", "地点"]}


def answer_from_rows(request: dict) -> Say:
    result = last_tool_result(request)
    assert "2026-03-04 [A14]" in result and "2026-03-18 [A16]" in result, result
    return Say("3月的ESS培训在3月4日和3月18日，地点：上海总部8F第3培训室。"
               "来源：training_calendar.xlsx!2026上半年!A14、A16。")


def test_agent_calls_fact_query_with_table_filters(fake_llm, make_settings, facts_dir):
    settings = make_settings(llm="openai", openai={"model_server": fake_llm.url, "use_raw_api": True},
                             agent={"tools": ["glossary_lookup", "fact_query"]},
                             facts={"dir": facts_dir, "use_embeddings": False})
    kb = KnowledgeBase(settings)
    load_sample_tables(kb)
    fake_llm.enqueue(Call("fact_query", ARGS), answer_from_rows)

    answer = Answerer(settings, kb).ask(QUESTION, EMPLOYEE)

    assert answer.mode == "llm" and "3月4日" in answer.answer
    assert answer.tool_calls == [{"name": "fact_query", "arguments": ARGS}]
    labels = {c.locator["ref"] for c in answer.citations}
    assert {"training_calendar.xlsx!2026上半年!A14", "training_calendar.xlsx!2026上半年!E16"} <= labels
    # The model was told which tables and columns exist, in the tool's schema.
    tools = fake_llm.requests[0]["tools"]
    schema = next(t["function"] for t in tools if t["function"]["name"] == "fact_query")
    assert "tables/training_calendar.xlsx!2026上半年" in schema["description"]
    ops = schema["parameters"]["properties"]["filters"]["items"]["properties"]["op"]["enum"]
    assert "between" in ops and "contains" in ops
