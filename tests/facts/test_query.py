"""Answering questions from curated facts: exact, glossary-expanded, thresholds, validity,
conflicts and access groups — through KnowledgeBase.query_facts on the real store."""

from __future__ import annotations

from datetime import date

import pytest

from kb_agent.access import EMPLOYEE, Principal
from kb_agent.facts.answer import fact_output

FINANCE = Principal("fin", frozenset({"everyone", "finance"}))


def test_exact_question_gets_the_fact_with_source_and_validity(kb):
    result = kb.query_facts("ESS培训每月几次？", EMPLOYEE)
    assert result.status == "fact" and result.found
    assert [h.fact.id for h in result.facts] == ["ess-training-frequency"]
    assert result.confidence >= kb.settings.facts.min_confidence
    out = fact_output(result)
    assert "每月两次" in out.text and "hr/ess_training_notice.pdf (p. 1)" in out.text
    assert "2026-01-05" in out.text
    (cite,) = out.citations
    assert cite.kind == "fact" and cite.source == "hr/ess_training_notice.pdf"
    assert cite.locator["fact_id"] == "ess-training-frequency" and cite.locator["file"] == "facts/company.yaml"


def test_answer_follows_the_question_language(kb):
    out = fact_output(kb.query_facts("How often is ESS training held?", EMPLOYEE))
    assert "twice a month" in out.text and "每月两次" not in out.text


def test_full_name_meets_acronym_through_the_glossary(kb):
    # The phrasings say "ESS"; the question says 员工自助服务 (the glossary's Chinese name).
    result = kb.query_facts("员工自助服务培训多久举办一次？", EMPLOYEE)
    assert result.status == "fact" and result.facts[0].fact.id == "ess-training-frequency"


def test_unrelated_question_is_no_matching_fact(kb):
    result = kb.query_facts("公司年假有几天？", EMPLOYEE)
    assert result.status == "no_match" and not result.found and result.candidates == []
    out = fact_output(result)
    assert out.text.startswith("No matching fact") and not out.found and out.citations == []
    assert "Closest curated facts" not in out.text


def test_near_misses_are_offered_to_the_model_but_not_asserted(kb):
    result = kb.query_facts("What is the hotel cap in big cities?", EMPLOYEE)
    assert result.status == "no_match" and not result.found
    assert [h.fact.id for h in result.candidates] == ["hotel-cap"]
    out = fact_output(result)
    assert out.text.startswith("No matching fact") and "below the threshold" in out.text
    assert "CNY 600" in out.text and out.citations == [] and not out.found
    from kb_agent.router import route

    answer, _ = route("What is the hotel cap in tier-1 cities?", kb, EMPLOYEE)
    assert answer is None or answer.route != "fact"  # the offline router never uses a near miss


def test_expired_fact_is_not_served_as_current(kb):
    result = kb.query_facts("AIP 2024的展位号是多少？", EMPLOYEE)
    assert result.status == "expired" and not result.found
    out = fact_output(result)
    assert "expired on 2024-11-30" in out.text and "No current fact" in out.text and not out.found


def test_renewed_fact_wins_over_its_expired_version(kb):
    # ess-training-frequency-2025 has the same phrasing but ended 2026-01-04.
    result = kb.facts.query("ESS培训每月几次？", EMPLOYEE, today=date(2026, 3, 1))
    assert result.facts[0].fact.id == "ess-training-frequency"
    old = kb.facts.query("ESS培训每月几次？", EMPLOYEE, today=date(2025, 6, 1))
    assert old.status == "fact" and old.facts[0].fact.id == "ess-training-frequency-2025"


def test_future_fact_says_when_it_starts(kb):
    result = kb.facts.query("AIP 2026在哪里举办？", EMPLOYEE, today=date(2025, 6, 1))
    assert result.status == "future"
    assert "only valid from 2026-01-01" in fact_output(result).text


def test_restricted_fact_is_filtered_inside_the_query(kb):
    assert kb.query_facts("SL-500的底价是多少？", EMPLOYEE).status == "no_match"
    result = kb.query_facts("SL-500的底价是多少？", FINANCE)
    assert result.status == "fact" and "82%" in fact_output(result).text


def test_conflicting_facts_are_both_shown(kb, facts_dir):
    (facts_dir / "extra.yaml").write_text("""\
facts:
  - id: hotel-cap-2
    questions: [出差住宿标准是多少？]
    answer: 一线城市每晚 700 元。
    source: {person: Someone in Admin}
    valid_from: 2025-06-01
""", encoding="utf-8")
    kb.facts.store.reload()
    assert any(i.kind == "conflict" for i in kb.facts.store.issues)
    result = kb.query_facts("出差住宿标准是多少？", EMPLOYEE)
    assert result.status == "conflict" and {h.fact.id for h in result.facts} == {"hotel-cap", "hotel-cap-2"}
    out = fact_output(result)
    assert "disagree" in out.text and "600" in out.text and "700" in out.text


def test_threshold_comes_from_settings(make_kb):
    question = "ESS培训一个月有几次？"  # a paraphrase: partial keyword overlap
    loose = make_kb(min_confidence=0.3).query_facts(question, EMPLOYEE)
    assert loose.status == "fact" and 0.3 <= loose.confidence < 0.99
    strict = make_kb(min_confidence=0.99).query_facts(question, EMPLOYEE)
    assert strict.status == "no_match" and strict.confidence == pytest.approx(loose.confidence)


def test_edits_are_picked_up_without_restart(kb, facts_dir):
    path = facts_dir / "company.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("每月两次，分别", "每月三次，分别"), encoding="utf-8")
    kb.facts.store.reload()
    assert "每月三次" in fact_output(kb.query_facts("ESS培训每月几次？", EMPLOYEE)).text


@pytest.mark.slow
def test_hybrid_matching_with_the_real_embedder(make_kb):
    question = "报销申请必须在费用发生后多少天内提交？"  # a paraphrase with half the keywords
    assert make_kb().query_facts(question, EMPLOYEE).status == "no_match"
    kb = make_kb(embeddings=True)
    result = kb.query_facts(question, EMPLOYEE)
    assert result.status == "fact" and result.facts[0].fact.id == "expense-claim-deadline"
    assert result.facts[0].semantic is not None and result.confidence > result.facts[0].keyword
    # Same subject, different question: the embedding alone (near 1.0) never carries a match.
    trap = kb.query_facts("ESS培训的讲师是谁？", EMPLOYEE)
    assert trap.status == "no_match"
    assert kb.query_facts("食堂几点开饭？", EMPLOYEE).status == "no_match"
    # Phrasing vectors persist in the data directory: a restart embeds nothing again.
    again = make_kb(embeddings=True)
    calls = []
    original = again.embedder.embed_documents
    again.embedder.embed_documents = lambda texts: calls.append(len(texts)) or original(texts)
    again.facts.warm_up()
    assert calls == [] and again.query_facts(question, EMPLOYEE).status == "fact"


def test_vector_cache_roundtrip(tmp_path):
    import numpy as np

    from kb_agent.facts.vectors import VectorCache

    cache = VectorCache(tmp_path / "v.sqlite3")
    cache[("m1", "ESS培训每月几次？")] = np.array([0.6, 0.8], dtype=np.float32)
    cache.close()
    reopened = VectorCache(tmp_path / "v.sqlite3")
    assert ("m1", "ESS培训每月几次？") in reopened and ("m2", "ESS培训每月几次？") not in reopened
    assert reopened[("m1", "ESS培训每月几次？")].tolist() == pytest.approx([0.6, 0.8])
    with pytest.raises(KeyError):
        reopened[("m1", "other")]


def test_two_facts_fitting_equally_are_ambiguous_not_asserted(kb, facts_dir):
    (facts_dir / "rooms.yaml").write_text("""\
facts:
  - id: room-a-floor
    questions: [Alpha会议室在几楼？]
    answer: Alpha会议室在8楼。
    source: {person: Admin}
  - id: room-b-floor
    questions: [Beta会议室在几楼？]
    answer: Beta会议室在12楼。
    source: {person: Admin}
""", encoding="utf-8")
    kb.facts.store.reload()
    assert kb.query_facts("Alpha会议室在几楼？", EMPLOYEE).facts[0].fact.id == "room-a-floor"
    result = kb.query_facts("会议室在几楼？", EMPLOYEE)
    assert result.status == "ambiguous" and not result.found
    assert {h.fact.id for h in result.facts} == {"room-a-floor", "room-b-floor"}
    out = fact_output(result)
    assert not out.found and "No single curated fact" in out.text and "8楼" in out.text and "12楼" in out.text
    from kb_agent.router import route

    answer, _ = route("会议室在几楼？", kb, EMPLOYEE)
    assert answer is None or answer.route != "fact"
