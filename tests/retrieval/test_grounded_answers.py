"""The grounding check on LLM answers, through the real Qwen-Agent loop against the scripted
model server in both tool-call modes: a faithful answer passes untouched, and each kind of
fabrication reaches the reader marked or removed under a notice (issue #12)."""

from __future__ import annotations

import json
import re

import pytest

from kb_agent.answering import UNVERIFIED, Answerer
from kb_agent.grounding import LINK_REMOVED, NOTICE, UNSUPPORTED_MARK
from kb_agent.kb import KnowledgeBase
from tests.fakellm import Call, Say, last_tool_result

SL500 = Call("doc_retrieve", {"query": "Springlake SL-500 pages per minute toner yield", "top_k": 3})
ESS = Call("doc_retrieve", {"query": "ESS培训每月几次", "top_k": 3})


def number_of(result: str, source: str, label: str) -> int:
    """The number the tool gave the passage of ``source`` at ``label``, as the model read it."""
    m = re.search(r"^\[(\d+)\] " + re.escape(source) + " — " + re.escape(label), result, re.M)
    assert m, result
    return int(m.group(1))


def say(template: str, source: str, label: str):
    """A scripted answer citing the passage of ``source`` at ``label`` as {n}."""
    def answer(request: dict) -> Say:
        return Say(template.format(n=number_of(last_tool_result(request), source, label)))
    return answer


SLIDE = ("products/springlake_sl500_training.pptx", "slide 2")
PAGE = ("hr/ess_training_notice.pdf", "p. 1")


def ask(fake_llm, make_settings, raw: bool, question: str, *script, tools=("doc_retrieve",)):
    fake_llm.enqueue(*script)
    settings = make_settings(llm="openai", openai={"model_server": fake_llm.url, "use_raw_api": raw},
                             agent={"tools": list(tools)}, embedder={"num_threads": 1})
    return Answerer(settings, KnowledgeBase(settings)).ask(question)


MODES = pytest.mark.parametrize("raw", [False, True], ids=["prompt-tool-calls", "native-tool-calls"])


@MODES
def test_a_faithful_answer_passes_unchanged(fake_llm, make_settings, chunk_store, raw):
    text = "The Springlake SL-500 prints 40 pages per minute, and its toner cartridge yields 6000 pages [{n}]."
    got = ask(fake_llm, make_settings, raw, "How fast is the SL-500?", SL500, say(text, *SLIDE))
    assert got.grounding is not None and got.grounding.ok and got.grounding.checked >= 3
    assert got.answer.startswith("The Springlake SL-500 prints 40") and NOTICE["en"] not in got.answer
    assert got.to_dict()["grounding"]["failures"] == []


FABRICATIONS = [
    ("citation", "The Springlake SL-500 prints 40 pages per minute [9].", "[?]"),
    ("url", "The SL-500 prints 40 pages per minute [{n}]. Details: https://springlake.example.com/sl500-specs",
     LINK_REMOVED),
    ("locator", "The SL-500 prints 40 pages per minute, see slide 7 [{n}].", UNSUPPORTED_MARK),
    ("file", "The SL-500 prints 40 pages per minute; see sl500_brochure_v2.pdf [{n}].", UNSUPPORTED_MARK),
    ("number", "The Springlake SL-500 prints 55 pages per minute [{n}].", UNSUPPORTED_MARK),
    ("unsupported", "Expense claims are submitted through the OA system by the finance team [{n}]. "
                    "The SL-500 prints 40 pages per minute [{n}].", UNSUPPORTED_MARK),
]


@MODES
@pytest.mark.parametrize("kind,template,shown", FABRICATIONS, ids=[f[0] for f in FABRICATIONS])
def test_each_fabrication_is_marked_under_a_notice(fake_llm, make_settings, chunk_store, raw, kind, template, shown):
    template += " Its toner cartridge yields 6,000 pages [{n}]."  # a true sentence: the answer is marked, not withheld
    got = ask(fake_llm, make_settings, raw, "How fast is the SL-500?", SL500, say(template, *SLIDE))
    assert kind in got.grounding.kinds(), got.grounding.to_dict()
    assert got.answer.startswith(NOTICE["en"]) and shown in got.answer
    if kind == "url":
        assert "springlake.example.com" not in got.answer
    assert kind in [f["kind"] for f in got.to_dict()["grounding"]["failures"]]
    assert "6,000 pages" in got.answer and got.found
    flagged, kinds = got_usage(make_settings)
    assert flagged == 1 and kind in kinds


def got_usage(make_settings):
    return KnowledgeBase(make_settings()).usage.flagged_answers()


@MODES
def test_chinese_faithful_multi_tool_answer_has_no_flags(fake_llm, make_settings, chunk_store, raw):
    def answer(request: dict) -> Say:
        n = number_of(last_tool_result(request), *PAGE)
        return Say(f"AM 是客户经理（Account Manager），属于销售部。ESS 培训每月 2 次，在每月第一个和第三个星期三"
                   f"下午两点到四点举行，地点是上海总部 8 楼培训室 3 [{n}]。")
    got = ask(fake_llm, make_settings, raw, "AM是什么？ESS培训每月几次？", Call("glossary_lookup", {"term": "AM"}),
              ESS, answer, tools=("glossary_lookup", "doc_retrieve"))
    assert got.grounding.ok, got.grounding.to_dict()
    assert [c.number for c in got.citations][:1] == [1] and got.answer.startswith("AM 是客户经理")



@MODES
def test_glossary_fact_and_passage_answer_citing_each_by_number_has_no_flags(fake_llm, make_settings, chunk_store, raw):
    """Three tools, one numbering: the glossary entry, the curated fact and the passage are each
    cited by the number their tool text gave them, and the check finds nothing to flag."""
    def cite_as(result: str) -> int:
        return int(re.search(r"Cite as: \[(\d+)\]", result).group(1))

    seen: dict[str, int] = {}

    def after_glossary(request: dict) -> Call:
        seen["term"] = cite_as(last_tool_result(request))
        return Call("fact_query", {"question": "ESS培训每月几次？"})

    def after_fact(request: dict) -> Call:
        seen["fact"] = cite_as(last_tool_result(request))
        return ESS

    def answer(request: dict) -> Say:
        n = number_of(last_tool_result(request), *PAGE)
        return Say(f"ESS 是员工自助服务 [{seen['term']}]。ESS 培训每月两次，在每月第一个和第三个星期三 "
                   f"14:00–16:00 举行 [{seen['fact']}]。地点是上海总部 8 楼培训室 3 [{n}]。")
    got = ask(fake_llm, make_settings, raw, "ESS是什么？培训每月几次，在哪里？", Call("glossary_lookup", {"term": "ESS"}),
              after_glossary, after_fact, answer, tools=("glossary_lookup", "fact_query", "doc_retrieve"))
    assert seen["term"] == 1 and seen["fact"] > 1, seen
    assert got.grounding.ok, got.grounding.to_dict()
    kinds = {c.number: c.kind for e in got.events for c in e.output.citations}
    assert kinds[seen["term"]] == "glossary" and kinds[seen["fact"]] == "fact"

@MODES
def test_chinese_wrong_figure_is_marked_and_an_answer_with_nothing_true_is_withheld(fake_llm, make_settings,
                                                                                   chunk_store, raw):
    got = ask(fake_llm, make_settings, raw, "ESS培训每月几次？", ESS,
              say("ESS 培训每月三次 [{n}]。培训在每月第一个星期三 14:00–16:00 举行，地点是上海总部 8 楼 [{n}]。", *PAGE))
    assert "number" in got.grounding.kinds() and got.answer.startswith(NOTICE["zh"])
    assert "每月三次" in got.answer and UNSUPPORTED_MARK in got.answer and got.found

    got = ask(fake_llm, make_settings, raw, "ESS培训每月几次？", ESS,
              say("ESS 培训每月五次 [{n}]。详见 https://hr.example.com/ess [{n}]。", *PAGE))
    assert got.answer == UNVERIFIED["zh"] and not got.found
    assert got.citations and got.citations[0].source.startswith("hr/")   # the sources are still listed


def test_an_answer_with_nothing_true_and_no_source_is_the_not_found_answer(fake_llm, make_settings, chunk_store):
    """No passage came back, yet the model states a figure: the reader gets "not found", not a
    pointer to sources below that do not exist."""
    from kb_agent.router import NOT_FOUND

    nothing = Call("doc_retrieve", {"query": "zeppelin hangar mooring mast", "filters": {"folders": ["no-such-folder"]}})
    got = ask(fake_llm, make_settings, True, "How tall is the mooring mast?", nothing,
              Say("The mooring mast is 62 metres tall."))
    assert not got.citations and got.answer == NOT_FOUND["en"] and not got.found
    assert [f.kind for f in got.grounding.failures] == ["number"]


def test_the_grounding_object_in_ask_json(fake_llm, cli, chunk_store):
    fake_llm.enqueue(SL500, say("The SL-500 prints 55 pages per minute [{n}]. Its toner yields 6,000 pages [{n}].", *SLIDE))
    env = {"KB_AGENT_LLM": "openai", "KB_AGENT_OPENAI__MODEL_SERVER": fake_llm.url,
           "KB_AGENT_AGENT__TOOLS": json.dumps(["doc_retrieve"]), "KB_AGENT_EMBEDDER__NUM_THREADS": "1"}
    result = cli("ask", "--json", "How fast is the SL-500?", env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    failures = out["grounding"]["failures"]
    assert [f["kind"] for f in failures] == ["number"] and failures[0]["text"] == "55"
    assert out["answer"].startswith(NOTICE["en"]) and UNSUPPORTED_MARK in out["answer"]


def test_eval_answers_reports_flagged_answers_and_fabricated_citations(fake_llm, cli, chunk_store, tmp_path):
    """`kb-agent eval --answers` answers each question through the (scripted) model and counts
    what the check found: one faithful answer, one citing evidence [9] that no tool returned."""
    items = tmp_path / "answers.jsonl"
    items.write_text('{"id": "sl500", "question": "How fast is the SL-500?", "kind": "doc", '
                     '"expected_source": "products/springlake_sl500_training.pptx"}\n'
                     '{"id": "ess", "question": "ESS培训每月几次？", "kind": "doc", '
                     '"expected_source": "hr/ess_training_notice.pdf"}\n', encoding="utf-8")
    fake_llm.enqueue(SL500, say("The SL-500 prints 40 pages per minute [{n}].", *SLIDE),
                     ESS, say("ESS 培训每月两次 [{n}]。报名方式见 [9]。", *PAGE))
    env = {"KB_AGENT_LLM": "openai", "KB_AGENT_OPENAI__MODEL_SERVER": fake_llm.url,
           "KB_AGENT_AGENT__TOOLS": json.dumps(["doc_retrieve"]), "KB_AGENT_EMBEDDER__NUM_THREADS": "1"}
    result = cli("eval", "--answers", "--no-route", "--json", str(items), env=env)
    assert result.exit_code == 0, result.output
    a = json.loads(result.stdout)["answers"]
    assert (a["n"], a["checked"], a["errors"]) == (2, 2, 0)
    assert a["flagged"] == 0.5 and a["withheld"] == 0.0
    assert a["citations_written"] == 3 and a["citations_fabricated"] == 1
    assert a["fabricated_citation_rate"] == round(1 / 3, 4) and a["failures_by_kind"].get("citation") == 1
    by_id = {r["id"]: r for r in a["results"]}
    assert by_id["sl500"]["flags"] == [] and by_id["ess"]["citations_fabricated"] == [9]

    offline = cli("eval", "--answers", str(items))
    assert offline.exit_code != 0 and "configure one first" in offline.output
